//! The tenant's configuration on this device: the configuration documents
//! (`ruta_model::config_doc`: the tenant's, and on staff devices the staff
//! one) kept in the store, merged from the server by the sync client, changed
//! by admins here, and applied to what the device does — the tariff and
//! service levels to every price, the profile to every document (company,
//! address, VAT id, logo, colours, invoice prefix and footer, the tenant's
//! time zone), zones to filing, vehicles and courier profiles to planning.

use std::collections::BTreeMap;

use app_api::config::{ConfigChange, ConfigScope, TenantConfig, TenantConfigView};
use ruta_model::config_doc::{self, ConfigDoc, ConfigEvent};

use super::*;

/// Meta key: the id of the document of `scope` in force.
fn meta_key(scope: ConfigScope) -> &'static str {
    match scope {
        ConfigScope::Tenant => "config_doc",
        ConfigScope::Staff => "staff_config_doc",
    }
}

/// The id of the document of `scope` a device working without a server keeps.
fn local_id(scope: ConfigScope) -> &'static str {
    match scope {
        ConfigScope::Tenant => "local-config",
        ConfigScope::Staff => "local-staff-config",
    }
}

const SCOPES: [ConfigScope; 2] = [ConfigScope::Tenant, ConfigScope::Staff];

type ConfigHook = Box<dyn Fn() + Send + Sync>;

/// The configuration in force on this device, and its history.
#[derive(Default)]
pub(crate) struct ConfigState {
    /// Each document's events.
    pub(crate) events: BTreeMap<ConfigScope, Vec<ConfigEvent>>,
    /// The documents that came from the server.
    pub(crate) synced: std::collections::BTreeSet<ConfigScope>,
    hooks: Vec<ConfigHook>,
}

impl ConfigState {
    fn all(&self) -> Vec<ConfigEvent> {
        self.events.values().flatten().cloned().collect()
    }
}

/// The UTC offset of `time_zone` at `ms`, in minutes (0 for an unknown zone).
pub(crate) fn utc_offset_min(time_zone: &str, ms: i64) -> i32 {
    let Ok(tz) = jiff::tz::TimeZone::get(time_zone) else {
        return 0;
    };
    let Ok(at) = jiff::Timestamp::from_millisecond(ms) else {
        return 0;
    };
    tz.to_offset(at).seconds() / 60
}

impl Core {
    fn config_doc_id(&self, scope: ConfigScope) -> Result<Option<String>, ApiError> {
        self.lock().store.meta(meta_key(scope)).map_err(storage)
    }

    fn stored_config(&self, id: &str) -> Result<Option<ConfigDoc>, ApiError> {
        let inner = self.lock();
        let device = inner.store.device_id().clone();
        let saved = inner.store.load_doc(id).map_err(storage)?;
        saved.map(|s| from_saved(s, &device)).transpose()
    }

    /// Loads the stored configuration and applies it (at open).
    pub(super) fn load_config(&self) -> Result<(), ApiError> {
        let mut any = false;
        for scope in SCOPES {
            if let Some(id) = self.config_doc_id(scope)?
                && let Some(doc) = self.stored_config(&id)?
            {
                let mut state = self.config.lock().unwrap_or_else(|p| p.into_inner());
                state.events.insert(scope, doc.events());
                if id != local_id(scope) {
                    state.synced.insert(scope);
                }
                any = true;
            }
        }
        if any {
            self.apply_config();
        }
        Ok(())
    }

    /// Back to the defaults (after the local data is forgotten).
    pub(super) fn reset_config(&self) {
        {
            let mut s = self.config.lock().unwrap_or_else(|p| p.into_inner());
            s.events.clear();
            s.synced.clear();
        }
        self.apply_config();
    }

    /// Puts the configuration the stored events add up to in force.
    pub(super) fn apply_config(&self) {
        let events = self.config.lock().unwrap_or_else(|p| p.into_inner()).all();
        let (config, _) = config_doc::derive(&events);
        {
            let mut inner = self.lock();
            inner.rates = crate::domain::pricing::Rates {
                tariff: config.tariff.clone(),
                services: config.services.clone(),
            };
        }
        self.set_document_settings(DocumentSettings::from_config(&config));
        // The POD policy: how photos taken from now on are stored.
        let policy = crate::pod::photo::PhotoPolicy {
            max_edge_px: config.pod_policy.photo_max_px,
            jpeg_quality: config.pod_policy.photo_quality,
            ..self.photo_policy()
        };
        if policy != self.photo_policy()
            && let Err(e) = self.set_photo_policy(&policy)
        {
            tracing::warn!(error = %e, "the tenant's photo policy was not applied");
        }
        // The tenant's zones, once an admin configured any: orders are filed again
        // when they change (a device keeps its own zones until then).
        if config.zones_configured {
            let zones: Vec<_> = config.zones.iter().map(config_doc::zone_of).collect();
            if let Err(e) = self.set_zones(&zones) {
                tracing::warn!(error = %e, "the tenant's zones were not applied");
            }
        }
    }

    /// Merges a configuration document (the tenant's or the staff one) as the
    /// server holds it (the sync client calls this whenever it changes). True
    /// when something new arrived; nothing is written when nothing did.
    pub fn merge_config(&self, doc_id: &str, bytes: &[u8]) -> Result<bool, ApiError> {
        let incoming = {
            let device = self.lock().store.device_id().clone();
            ConfigDoc::load(bytes, &device).map_err(config_error)?
        };
        let scope = incoming.scope();
        // Load, merge and save in one transaction: a change made here at the
        // same moment is never overwritten.
        let events = {
            let mut inner = self.lock();
            let device = inner.store.device_id().clone();
            let me = inner.session.clone();
            let tx = inner.store.write().map_err(storage)?;
            let held = tx.meta(meta_key(scope)).map_err(storage)?;
            let (mut doc, fresh) = match load_in(&tx, doc_id, &device)? {
                Some(mut doc) => {
                    let before = doc.heads();
                    doc.merge_bytes(bytes).map_err(config_error)?;
                    let after = doc.heads();
                    (doc, before != after)
                }
                None => (incoming, true),
            };
            if doc.scope() != scope {
                return Err(ApiError::Malformed {
                    message: format!("configuration document {doc_id} changed its kind"),
                });
            }
            let moved = held.as_deref() != Some(doc_id);
            // Changes made here before the server's document arrived (kept
            // in the local one meanwhile) move into it, to be pushed: the
            // signed-in user's own, that they may make (a change by another
            // identity, e.g. from before this device was enrolled, stays
            // behind: the server would refuse it).
            let mut carried = 0;
            if held.as_deref() == Some(local_id(scope))
                && doc_id != local_id(scope)
                && let Some(local) = load_in(&tx, local_id(scope), &device)?
            {
                let have: std::collections::BTreeSet<String> =
                    doc.events().iter().map(|e| e.id()).collect();
                for e in local.events() {
                    if e.actor.user == me.user
                        && e.actor.role == me.role
                        && config_doc::may_change(me.role, &e.change)
                        && !have.contains(&e.id())
                    {
                        doc.append(&e).map_err(config_error)?;
                        carried += 1;
                    }
                }
            }
            let fresh = fresh || carried > 0;
            if fresh || moved {
                tx.put_snapshot(doc_id, config_doc::kind_of(scope), &doc.save())
                    .map_err(storage)?;
                tx.set_meta(meta_key(scope), doc_id).map_err(storage)?;
                tx.commit().map_err(storage)?;
            }
            (doc.events(), carried)
        };
        let (events, carried) = events;
        let changed = {
            let mut s = self.config.lock().unwrap_or_else(|p| p.into_inner());
            let first = s.synced.insert(scope);
            let same = s.events.get(&scope) == Some(&events);
            s.events.insert(scope, events);
            first || !same
        };
        if changed {
            self.apply_config();
            self.revision
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if carried > 0 {
            tracing::info!(
                doc = doc_id,
                carried,
                "local configuration changes carried over"
            );
            self.config_written();
        }
        Ok(changed)
    }

    fn config_written(&self) {
        for hook in self
            .config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .hooks
            .iter()
        {
            hook();
        }
    }

    /// The configuration document of `scope` as this device holds it (its id
    /// and bytes), for the sync client to merge into its copy.
    pub fn config_document(
        &self,
        scope: ConfigScope,
    ) -> Result<Option<(String, Vec<u8>)>, ApiError> {
        let Some(id) = self.config_doc_id(scope)? else {
            return Ok(None);
        };
        Ok(self.stored_config(&id)?.map(|mut d| (id, d.save())))
    }

    /// Registers `hook`, called after every configuration change made here.
    pub fn on_config_write(&self, hook: impl Fn() + Send + Sync + 'static) {
        self.config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .hooks
            .push(Box::new(hook));
    }

    /// The configuration in force.
    pub fn tenant_config(&self) -> TenantConfig {
        let s = self.config.lock().unwrap_or_else(|p| p.into_inner());
        config_doc::derive(&s.all()).0
    }

    pub(super) fn tenant_config_view(&self) -> Result<TenantConfigView, ApiError> {
        let role = self.lock().session.role;
        let s = self.config.lock().unwrap_or_else(|p| p.into_inner());
        let (config, history) = config_doc::derive(&s.all());
        Ok(TenantConfigView {
            config,
            history,
            editable: config_doc::permitted(role),
            routes_editable: config_doc::may_write(ConfigScope::Staff, role),
            // Staff need the staff document too, or an admin's vehicle
            // would go into a document of this device's own.
            synced: s.synced.contains(&ConfigScope::Tenant)
                && (role == app_api::Role::Client || s.synced.contains(&ConfigScope::Staff)),
        })
    }

    /// An admin's change: validated, recorded in the configuration document
    /// (works offline; syncs like any write) and applied at once.
    pub(super) fn change_config(&self, change: ConfigChange) -> Result<TenantConfigView, ApiError> {
        self.change_config_many(vec![change])
    }

    /// Several changes, all validated before any is recorded, in one write.
    fn change_config_many(&self, changes: Vec<ConfigChange>) -> Result<TenantConfigView, ApiError> {
        let actor = self.lock().session.clone();
        if let Some(change) = changes
            .iter()
            .find(|c| !config_doc::may_change(actor.role, c))
        {
            return Err(ApiError::Refused {
                code: "admins_only".into(),
                message: format!(
                    "only admins make a {} change to the tenant's configuration",
                    change.name()
                ),
            });
        }
        for change in &changes {
            config_doc::validate(change).map_err(|e| ApiError::Invalid {
                field: e.field,
                message: e.message,
            })?;
            if let ConfigChange::SetProfile(p) = change
                && jiff::tz::TimeZone::get(&p.time_zone).is_err()
            {
                return Err(ApiError::Invalid {
                    field: "profile.time_zone".into(),
                    message: format!("{:?} is not in the time-zone database", p.time_zone),
                });
            }
        }
        let now = self.clock.now_ms();
        let written = {
            let mut inner = self.lock();
            let device = inner.store.device_id().clone();
            let tx = inner.store.write().map_err(storage)?;
            let mut clock = resume_clock(&tx, &device)?;
            let mut written = Vec::new();
            for scope in SCOPES {
                let mine: Vec<&ConfigChange> =
                    changes.iter().filter(|c| c.scope() == scope).collect();
                if mine.is_empty() {
                    continue;
                }
                let id = tx
                    .meta(meta_key(scope))
                    .map_err(storage)?
                    .unwrap_or_else(|| local_id(scope).to_owned());
                let mut doc = match load_in(&tx, &id, &device)? {
                    Some(doc) => doc,
                    None => ConfigDoc::create(&device, scope).map_err(config_error)?,
                };
                for change in mine {
                    let at = clock.tick(now);
                    doc.append(&ConfigEvent {
                        at,
                        actor: actor.clone(),
                        change: change.clone(),
                    })
                    .map_err(config_error)?;
                }
                tx.put_snapshot(&id, config_doc::kind_of(scope), &doc.save())
                    .map_err(storage)?;
                tx.set_meta(meta_key(scope), &id).map_err(storage)?;
                written.push((scope, doc.events()));
            }
            tx.set_meta("hlc", &clock.last().to_string())
                .map_err(storage)?;
            tx.commit().map_err(storage)?;
            written
        };
        {
            let mut s = self.config.lock().unwrap_or_else(|p| p.into_inner());
            for (scope, events) in written {
                s.events.insert(scope, events);
            }
        }
        self.apply_config();
        self.revision
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.config_written();
        self.tenant_config_view()
    }

    /// Admins: the zones of a GeoJSON FeatureCollection, all or none.
    pub(super) fn import_zones_geojson(&self, text: &str) -> Result<TenantConfigView, ApiError> {
        let zones = zones_from_geojson(text)?;
        self.change_config_many(zones.into_iter().map(ConfigChange::PutZone).collect())
    }
}

/// The zones a GeoJSON FeatureCollection describes: each Polygon feature (its
/// outer ring), and each part of a MultiPolygon (`<id>-2`, …). A zone's id is
/// the feature's `id` property (or its id, or its name made into an id); its
/// name the `name` property. Errors name the feature.
pub(crate) fn zones_from_geojson(text: &str) -> Result<Vec<app_api::ZoneView>, ApiError> {
    use geojson::{GeoJson, GeometryValue};
    let bad = |field: String, message: String| ApiError::Invalid { field, message };
    let parsed: GeoJson = text
        .parse()
        .map_err(|e| bad("geojson".into(), format!("not GeoJSON: {e}")))?;
    let features = match parsed {
        GeoJson::FeatureCollection(fc) => fc.features,
        GeoJson::Feature(f) => vec![f],
        GeoJson::Geometry(_) => {
            return Err(bad(
                "geojson".into(),
                "a bare geometry: zones come from Features with a name".into(),
            ));
        }
    };
    if features.is_empty() {
        return Err(bad("geojson.features".into(), "no features".into()));
    }
    let mut out = Vec::new();
    for (i, f) in features.iter().enumerate() {
        let at = |what: &str| format!("features[{i}]{what}");
        let text_prop = |k: &str| {
            f.property(k).and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.trim().to_owned()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        let name = text_prop("name").filter(|n| !n.is_empty());
        let id = text_prop("id")
            .or_else(|| {
                f.id.as_ref().map(|id| match id {
                    geojson::feature::Id::String(s) => s.clone(),
                    geojson::feature::Id::Number(n) => n.to_string(),
                })
            })
            .or_else(|| name.clone())
            .map(|s| slug(&s))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad(at(".properties"), "needs an id or a name".into()))?;
        let polygons = match f.geometry.as_ref().map(|g| &g.value) {
            Some(GeometryValue::Polygon { coordinates }) => vec![coordinates.clone()],
            Some(GeometryValue::MultiPolygon { coordinates }) => coordinates.clone(),
            Some(_) => return Err(bad(at(".geometry"), "not a Polygon or MultiPolygon".into())),
            None => return Err(bad(at(".geometry"), "missing".into())),
        };
        for (k, rings) in polygons.iter().enumerate() {
            let outer = rings
                .first()
                .ok_or_else(|| bad(at(".geometry"), "a polygon without rings".into()))?;
            let ring = outer
                .iter()
                .map(|p| match p.as_slice() {
                    [lon, lat, ..] => Ok(app_api::Point {
                        lat: *lat,
                        lon: *lon,
                    }),
                    _ => Err(bad(
                        at(".geometry"),
                        "a position needs longitude and latitude".into(),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut ring = ring;
            if ring.len() > 1 && ring.first() == ring.last() {
                ring.pop();
            }
            let zone = app_api::ZoneView {
                id: if k == 0 {
                    id.clone()
                } else {
                    format!("{id}-{}", k + 1)
                },
                name: name.clone().unwrap_or_else(|| id.clone()),
                ring,
            };
            config_doc::validate(&ConfigChange::PutZone(zone.clone()))
                .map_err(|e| bad(at(&format!(" ({})", e.field)), e.message))?;
            out.push(zone);
        }
    }
    Ok(out)
}

/// A zone id made from a name: lower case, a-z and 0-9, dashes between words.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'ä' | 'å' | 'á' | 'à' => 'a',
            'ö' | 'ó' | 'ò' => 'o',
            'ü' | 'ú' => 'u',
            'é' | 'è' => 'e',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    out.chars()
        .take(40)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// The configuration document `id` as stored, read inside a transaction.
fn load_in(
    tx: &crate::store::Tx<'_>,
    id: &str,
    device: &crate::domain::DeviceId,
) -> Result<Option<ConfigDoc>, ApiError> {
    let saved = tx.load_doc(id).map_err(storage)?;
    saved.map(|s| from_saved(s, device)).transpose()
}

fn from_saved(
    (snapshot, changes): (Vec<u8>, Vec<Vec<u8>>),
    device: &crate::domain::DeviceId,
) -> Result<ConfigDoc, ApiError> {
    let mut doc = ConfigDoc::load(&snapshot, device).map_err(config_error)?;
    for c in changes {
        doc.merge_bytes(&c).map_err(config_error)?;
    }
    Ok(doc)
}

fn config_error(e: config_doc::ConfigDocError) -> ApiError {
    ApiError::Malformed {
        message: format!("configuration document: {e}"),
    }
}

#[cfg(test)]
mod tests;

//! The tenant's configuration on this device: the configuration document
//! (`ruta_model::config_doc`) kept in the store, merged from the server by the
//! sync client, changed by admins here, and applied to what the device does —
//! the tariff to every price, the profile to every document (company, address,
//! VAT id, logo, colours, invoice prefix and footer, the tenant's time zone).

use app_api::config::{ConfigChange, TenantConfig, TenantConfigView};
use ruta_model::config_doc::{self, ConfigDoc, ConfigEvent};

use super::*;

/// The store's `docs.kind` of the configuration document.
const CONFIG_KIND: &str = "config";
/// Meta key: the id of the configuration document in force.
const META_CONFIG_DOC: &str = "config_doc";
/// The id of the document a device working without a server keeps.
const LOCAL_CONFIG_ID: &str = "local-config";

type ConfigHook = Box<dyn Fn() + Send + Sync>;

/// The configuration in force on this device, and its history.
#[derive(Default)]
pub(crate) struct ConfigState {
    pub(crate) events: Vec<ConfigEvent>,
    pub(crate) synced: bool,
    hooks: Vec<ConfigHook>,
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
    fn config_doc_id(&self) -> Result<Option<String>, ApiError> {
        self.lock().store.meta(META_CONFIG_DOC).map_err(storage)
    }

    fn stored_config(&self, id: &str) -> Result<Option<ConfigDoc>, ApiError> {
        let inner = self.lock();
        let device = inner.store.device_id().clone();
        let saved = inner.store.load_doc(id).map_err(storage)?;
        saved.map(|s| from_saved(s, &device)).transpose()
    }

    /// Loads the stored configuration and applies it (at open).
    pub(super) fn load_config(&self) -> Result<(), ApiError> {
        if let Some(id) = self.config_doc_id()?
            && let Some(doc) = self.stored_config(&id)?
        {
            self.apply_config(doc.events(), id != LOCAL_CONFIG_ID);
        }
        Ok(())
    }

    pub(super) fn apply_config(&self, events: Vec<ConfigEvent>, synced: bool) {
        let (config, _) = config_doc::derive(&events);
        {
            let mut inner = self.lock();
            inner.tariff = config.tariff.clone();
        }
        self.set_document_settings(DocumentSettings::from_config(&config));
        // The tenant's zones, once an admin configured any: orders are filed again
        // when they change (a device keeps its own zones until then).
        if config.zones_configured {
            let zones: Vec<_> = config.zones.iter().map(config_doc::zone_of).collect();
            if let Err(e) = self.set_zones(&zones) {
                tracing::warn!(error = %e, "the tenant's zones were not applied");
            }
        }
        let mut state = self.config.lock().unwrap_or_else(|p| p.into_inner());
        state.events = events;
        state.synced = synced;
    }

    /// Merges the tenant's configuration document as the server holds it
    /// (the sync client calls this whenever it changes). True when something
    /// new arrived.
    pub fn merge_config(&self, doc_id: &str, bytes: &[u8]) -> Result<bool, ApiError> {
        // Load, merge and save in one transaction: a change made here at the
        // same moment is never overwritten.
        let events = {
            let mut inner = self.lock();
            let device = inner.store.device_id().clone();
            let tx = inner.store.write().map_err(storage)?;
            let mut doc = match load_in(&tx, doc_id, &device)? {
                Some(mut doc) => {
                    doc.merge_bytes(bytes).map_err(config_error)?;
                    doc
                }
                None => ConfigDoc::load(bytes, &device).map_err(config_error)?,
            };
            tx.put_snapshot(doc_id, CONFIG_KIND, &doc.save())
                .map_err(storage)?;
            tx.set_meta(META_CONFIG_DOC, doc_id).map_err(storage)?;
            tx.commit().map_err(storage)?;
            doc.events()
        };
        let (before_events, before_synced) = {
            let s = self.config.lock().unwrap_or_else(|p| p.into_inner());
            (s.events.len(), s.synced)
        };
        let changed = events.len() != before_events || !before_synced;
        self.apply_config(events, true);
        if changed {
            self.revision
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(changed)
    }

    /// The configuration document as this device holds it (its id and bytes),
    /// for the sync client to merge into its copy.
    pub fn config_document(&self) -> Result<Option<(String, Vec<u8>)>, ApiError> {
        let Some(id) = self.config_doc_id()? else {
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
        config_doc::derive(&s.events).0
    }

    pub(super) fn tenant_config_view(&self) -> Result<TenantConfigView, ApiError> {
        let role = self.lock().session.role;
        let s = self.config.lock().unwrap_or_else(|p| p.into_inner());
        let (config, history) = config_doc::derive(&s.events);
        Ok(TenantConfigView {
            config,
            history,
            editable: config_doc::permitted(role),
            synced: s.synced,
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
        if !config_doc::permitted(actor.role) {
            return Err(ApiError::Refused {
                code: "admins_only".into(),
                message: "only admins change the tenant's configuration".into(),
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
        let events = {
            let mut inner = self.lock();
            let device = inner.store.device_id().clone();
            let tx = inner.store.write().map_err(storage)?;
            let id = tx
                .meta(META_CONFIG_DOC)
                .map_err(storage)?
                .unwrap_or_else(|| LOCAL_CONFIG_ID.to_owned());
            let mut doc = match load_in(&tx, &id, &device)? {
                Some(doc) => doc,
                None => ConfigDoc::create(&device).map_err(config_error)?,
            };
            let mut clock = resume_clock(&tx, &device)?;
            for change in changes {
                let at = clock.tick(now);
                doc.append(&ConfigEvent {
                    at,
                    actor: actor.clone(),
                    change,
                })
                .map_err(config_error)?;
            }
            tx.put_snapshot(&id, CONFIG_KIND, &doc.save())
                .map_err(storage)?;
            tx.set_meta(META_CONFIG_DOC, &id).map_err(storage)?;
            tx.set_meta("hlc", &clock.last().to_string())
                .map_err(storage)?;
            tx.commit().map_err(storage)?;
            doc.events()
        };
        let synced = self.config.lock().unwrap_or_else(|p| p.into_inner()).synced;
        self.apply_config(events, synced);
        self.revision
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for hook in self
            .config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .hooks
            .iter()
        {
            hook();
        }
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

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
        let actor = self.lock().session.clone();
        if !config_doc::permitted(actor.role) {
            return Err(ApiError::Refused {
                code: "admins_only".into(),
                message: "only admins change the tenant's configuration".into(),
            });
        }
        config_doc::validate(&change).map_err(|e| ApiError::Invalid {
            field: e.field,
            message: e.message,
        })?;
        if let ConfigChange::SetProfile(p) = &change
            && jiff::tz::TimeZone::get(&p.time_zone).is_err()
        {
            return Err(ApiError::Invalid {
                field: "profile.time_zone".into(),
                message: format!("{:?} is not in the time-zone database", p.time_zone),
            });
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
            let at = clock.tick(now);
            doc.append(&ConfigEvent { at, actor, change })
                .map_err(config_error)?;
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

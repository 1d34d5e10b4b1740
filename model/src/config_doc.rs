//! The tenant's configuration document: one Automerge document per tenant, a
//! map of admin changes (events), append-only like an order's history, so
//! every change keeps its author and time.
//!
//! What is in force is [`derive`]d: the changes in stamp (HLC) order, each
//! replacing its part (profile or tariff) — the last writer wins per part,
//! deterministically on every device, and concurrent edits of different parts
//! both hold. Undo is a change that puts the earlier value back.
//!
//! Rules, shared by the device (before it writes) and the server's guard
//! (before it accepts): only admins change the configuration ([`permitted`]);
//! every value is [`validate`]d with the field at fault named.

use std::collections::BTreeMap;

use app_api::Role;
use app_api::config::{ConfigChange, ConfigHistoryEntry, Tariff, TenantConfig, TenantProfile};
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value, transaction::Transactable};
use ruta_domain::hlc::{Hlc, node_of};
use ruta_domain::{Actor, DeviceId};
use serde::{Deserialize, Serialize};

use crate::Principal;
use crate::order_doc::actor_of;

/// The document's `schema` field.
pub const CONFIG_SCHEMA: i64 = 1;
/// The `kind` of a configuration document in a user's index.
pub const INDEX_KIND: &str = "config";
/// Largest logo accepted, decoded.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;

/// One admin change, as the document stores it (JSON under its id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigEvent {
    /// Capture time; also the event's identity.
    pub at: Hlc,
    pub actor: Actor,
    pub change: ConfigChange,
}

impl ConfigEvent {
    pub fn id(&self) -> String {
        self.at.to_string()
    }
}

/// A value that is not acceptable: the field and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

fn invalid(field: &str, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Who may change the configuration.
pub fn permitted(role: Role) -> bool {
    role == Role::Admin
}

/// Checks a change's values.
pub fn validate(change: &ConfigChange) -> Result<(), Invalid> {
    match change {
        ConfigChange::SetProfile(p) => validate_profile(p),
        ConfigChange::SetTariff(t) => validate_tariff(t),
        ConfigChange::PutZone(z) => validate_zone(z),
        ConfigChange::RemoveZone { id } if valid_zone_id(id) => Ok(()),
        ConfigChange::RemoveZone { .. } => Err(invalid("zone.id", "not a zone id")),
    }
}

fn valid_zone_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 40
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The most corners a zone may have.
pub const MAX_ZONE_POINTS: usize = 5_000;

fn validate_zone(z: &app_api::ZoneView) -> Result<(), Invalid> {
    if !valid_zone_id(&z.id) {
        return Err(invalid(
            "zone.id",
            format!("{:?}: 1 to 40 of a-z, 0-9 and '-'", z.id),
        ));
    }
    let name = z.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(invalid("zone.name", "1 to 80 characters"));
    }
    if z.ring.len() < 3 || z.ring.len() > MAX_ZONE_POINTS {
        return Err(invalid(
            "zone.ring",
            format!("3 to {MAX_ZONE_POINTS} corners, not {}", z.ring.len()),
        ));
    }
    if let Some((i, _)) = z.ring.iter().enumerate().find(|(_, p)| {
        // (Ranges hold no NaN, and no infinity either.)
        !((-90.0..=90.0).contains(&p.lat) && (-180.0..=180.0).contains(&p.lon))
    }) {
        return Err(invalid(
            &format!("zone.ring[{i}]"),
            "not a position (latitude -90..90, longitude -180..180)",
        ));
    }
    ruta_domain::geo::ZoneIndex::new(&[zone_of(z)]).map_err(|e| invalid("zone.ring", e.message))?;
    Ok(())
}

/// A configured zone as the domain's zone (for the point-in-zone index).
pub fn zone_of(z: &app_api::ZoneView) -> ruta_domain::geo::Zone {
    ruta_domain::geo::Zone {
        id: ruta_domain::ZoneId::new(z.id.clone()),
        name: z.name.clone(),
        ring: z.ring.iter().map(|p| [p.lon, p.lat]).collect(),
    }
}

fn validate_profile(p: &TenantProfile) -> Result<(), Invalid> {
    let name = p.company_name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(invalid("profile.company_name", "1 to 120 characters"));
    }
    if p.address_lines.len() > 6 || p.address_lines.iter().any(|l| l.chars().count() > 120) {
        return Err(invalid(
            "profile.address_lines",
            "at most 6 lines of 120 characters",
        ));
    }
    if p.vat_id.as_ref().is_some_and(|v| v.chars().count() > 32) {
        return Err(invalid("profile.vat_id", "at most 32 characters"));
    }
    if !valid_time_zone(&p.time_zone) {
        return Err(invalid(
            "profile.time_zone",
            format!(
                "{:?} is not a time zone name like Europe/Helsinki",
                p.time_zone
            ),
        ));
    }
    let prefix = &p.invoice_prefix;
    if prefix.chars().count() > 12
        || !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '_'))
    {
        return Err(invalid(
            "profile.invoice_prefix",
            "at most 12 of A-Z, a-z, 0-9, '-', '/' and '_'",
        ));
    }
    if p.invoice_footer.chars().count() > 500 {
        return Err(invalid("profile.invoice_footer", "at most 500 characters"));
    }
    if let Some(logo) = &p.logo_base64 {
        // base64 is 4/3 of the bytes.
        if logo.len() > MAX_LOGO_BYTES * 4 / 3 + 4 {
            return Err(invalid("profile.logo_base64", "at most 256 KiB"));
        }
    }
    Ok(())
}

/// An IANA zone name's shape (`Area/Location`, or `UTC`); the device checks
/// it exists in its time-zone database when it uses it.
fn valid_time_zone(tz: &str) -> bool {
    tz == "UTC"
        || (tz.contains('/')
            && tz.len() <= 64
            && tz.split('/').all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
            }))
}

fn validate_tariff(t: &Tariff) -> Result<(), Invalid> {
    if t.currency.len() != 3 || !t.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(invalid(
            "tariff.currency",
            "a 3-letter ISO 4217 code, e.g. EUR",
        ));
    }
    let cents = [
        ("tariff.base_cents", t.base_cents),
        ("tariff.per_km_cents", t.per_km_cents),
        ("tariff.express_cents", t.express_cents),
        ("tariff.signature_cents", t.signature_cents),
        ("tariff.age_check_cents", t.age_check_cents),
        ("tariff.time_window_cents", t.time_window_cents),
        ("tariff.urgent_cents", t.urgent_cents),
        ("tariff.per_kg_cents", t.per_kg_cents),
    ];
    for (field, v) in cents {
        if !(0..=10_000_000).contains(&v) {
            return Err(invalid(field, "0 to 100,000.00"));
        }
    }
    if t.included_km > 10_000 {
        return Err(invalid("tariff.included_km", "0 to 10,000"));
    }
    if t.included_kg > 10_000 {
        return Err(invalid("tariff.included_kg", "0 to 10,000"));
    }
    if t.vat_bp > 10_000 {
        return Err(invalid("tariff.vat_bp", "0 to 10,000 (100 %)"));
    }
    Ok(())
}

/// What the changes add up to, and the history (newest first).
pub fn derive(events: &[ConfigEvent]) -> (TenantConfig, Vec<ConfigHistoryEntry>) {
    let mut sorted: Vec<&ConfigEvent> = events.iter().collect();
    sorted.sort_by(|a, b| {
        a.at.cmp(&b.at)
            .then_with(|| a.actor.user.cmp(&b.actor.user))
    });
    let mut config = TenantConfig::default();
    let mut zones: BTreeMap<String, app_api::ZoneView> = BTreeMap::new();
    let mut history = Vec::with_capacity(sorted.len());
    for e in sorted {
        // A change that does not validate (only a forged one) is skipped.
        if validate(&e.change).is_err() || !permitted(e.actor.role) {
            continue;
        }
        let (name, subject) = match &e.change {
            ConfigChange::SetProfile(p) => {
                config.profile = p.clone();
                ("set_profile", None)
            }
            ConfigChange::SetTariff(t) => {
                config.tariff = t.clone();
                ("set_tariff", None)
            }
            ConfigChange::PutZone(z) => {
                config.zones_configured = true;
                zones.insert(z.id.clone(), z.clone());
                ("put_zone", Some(z.id.clone()))
            }
            ConfigChange::RemoveZone { id } => {
                config.zones_configured = true;
                zones.remove(id);
                ("remove_zone", Some(id.clone()))
            }
        };
        history.push(ConfigHistoryEntry {
            at_ms: e.at.wall_ms,
            by: e.actor.user.to_string(),
            change: name.into(),
            subject,
        });
    }
    config.zones = zones.into_values().collect();
    history.reverse();
    (config, history)
}

/// Why a document is not a configuration document.
#[derive(Debug, thiserror::Error)]
pub enum ConfigDocError {
    #[error("not a configuration document: {0}")]
    NotConfig(String),
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("corrupt document: {0}")]
    Corrupt(String),
}

/// A configuration document.
#[derive(Debug)]
pub struct ConfigDoc {
    doc: AutoCommit,
    events: ObjId,
}

impl ConfigDoc {
    /// A new, empty configuration document (the server makes one per tenant;
    /// a device working without a server makes its own).
    pub fn create(device: &DeviceId) -> Result<Self, ConfigDocError> {
        let mut doc = AutoCommit::new().with_actor(actor_of(device));
        doc.put(ROOT, "schema", CONFIG_SCHEMA)?;
        doc.put(ROOT, "kind", "config")?;
        let events = doc.put_object(ROOT, "events", ObjType::Map)?;
        Ok(Self { doc, events })
    }

    /// Loads a saved document.
    pub fn load(bytes: &[u8], device: &DeviceId) -> Result<Self, ConfigDocError> {
        let mut doc =
            AutoCommit::load(bytes).map_err(|e| ConfigDocError::Corrupt(e.to_string()))?;
        doc.set_actor(actor_of(device));
        let events = events_of(&doc)?;
        Ok(Self { doc, events })
    }

    pub fn append(&mut self, event: &ConfigEvent) -> Result<(), ConfigDocError> {
        let json = serde_json::to_string(event).expect("events serialise");
        self.doc.put(&self.events, event.id(), json)?;
        Ok(())
    }

    /// Merges another copy's changes (bytes of a saved document or changes).
    pub fn merge_bytes(&mut self, bytes: &[u8]) -> Result<(), ConfigDocError> {
        self.doc
            .load_incremental(bytes)
            .map_err(|e| ConfigDocError::Corrupt(e.to_string()))?;
        Ok(())
    }

    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// Every well-formed event (an entry that is not one is ignored).
    pub fn events(&self) -> Vec<ConfigEvent> {
        parse_events(&self.doc, &self.events)
            .into_values()
            .flatten()
            .collect()
    }

    pub fn automerge(&self) -> &AutoCommit {
        &self.doc
    }
}

fn events_of(doc: &impl ReadDoc) -> Result<ObjId, ConfigDocError> {
    match doc.get(ROOT, "schema") {
        Ok(Some((Value::Scalar(s), _))) if s.as_i64() == Some(CONFIG_SCHEMA) => {}
        _ => return Err(ConfigDocError::NotConfig("no schema 1".into())),
    }
    match doc.get(ROOT, "kind") {
        Ok(Some((Value::Scalar(s), _))) if s.as_str() == Some("config") => {}
        _ => return Err(ConfigDocError::NotConfig("kind is not config".into())),
    }
    match doc.get(ROOT, "events") {
        Ok(Some((Value::Object(ObjType::Map), id))) => Ok(id),
        _ => Err(ConfigDocError::NotConfig("no events map".into())),
    }
}

/// Every entry of the events map: key -> each value (raw JSON) it holds.
fn raw_entries(doc: &impl ReadDoc, events: &ObjId) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for key in doc.keys(events) {
        let values = doc.get_all(events, key.as_str()).unwrap_or_default();
        let raw = values
            .iter()
            .map(|(v, id)| match v {
                Value::Scalar(s) => match s.as_str() {
                    Some(t) => format!("s:{t}"),
                    None => format!("v:{s:?}"),
                },
                Value::Object(t) => format!("o:{t:?}:{id}"),
            })
            .collect();
        out.insert(key, raw);
    }
    out
}

fn parse_events(doc: &impl ReadDoc, events: &ObjId) -> BTreeMap<String, Vec<ConfigEvent>> {
    raw_entries(doc, events)
        .into_iter()
        .map(|(k, vs)| {
            let parsed = vs
                .iter()
                .filter_map(|v| v.strip_prefix("s:"))
                .filter_map(|j| serde_json::from_str::<ConfigEvent>(j).ok())
                .filter(|e| e.id() == k)
                .collect();
            (k, parsed)
        })
        .collect()
}

/// Why the server refuses a write to a configuration document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigRefusal {
    #[error("only admins change the tenant's configuration")]
    NotAdmin,
    #[error("a new configuration document comes only from the server")]
    NotCreatedByServer,
    #[error("root field {0:?} may not be changed")]
    RootChanged(String),
    #[error("change {0} was changed or removed; history is append-only")]
    HistoryRewritten(String),
    #[error("change {key} is not a valid change: {problem}")]
    Bad { key: String, problem: String },
    #[error("change {key} claims to be by {claimed} but the connection is {actual}")]
    Impersonation {
        key: String,
        claimed: String,
        actual: String,
    },
    #[error("change {key} is stamped with node {node:016x}, not that of the device it names")]
    ForeignKey { key: String, node: u64 },
}

/// The server's judgment of a peer's change to the configuration document:
/// only an admin, only new events, each by them, keyed under the device it
/// names and valid. Returns the added events (whose devices the caller checks
/// belong to `who`).
pub fn check_write(
    before: &impl ReadDoc,
    after: &impl ReadDoc,
    who: &Principal,
) -> Result<Vec<ConfigEvent>, ConfigRefusal> {
    let before_events = events_of(before).map_err(|_| ConfigRefusal::NotCreatedByServer)?;
    let after_events = events_of(after).map_err(|e| ConfigRefusal::RootChanged(e.to_string()))?;
    for key in ["schema", "kind", "events"] {
        let b = before.get_all(ROOT, key).unwrap_or_default();
        let a = after.get_all(ROOT, key).unwrap_or_default();
        if a.len() != b.len() || a.iter().zip(&b).any(|(x, y)| x.1 != y.1 || x.0 != y.0) {
            return Err(ConfigRefusal::RootChanged(key.into()));
        }
    }
    if let Some(extra) = after
        .keys(ROOT)
        .find(|k| !["schema", "kind", "events"].contains(&k.as_str()))
    {
        return Err(ConfigRefusal::RootChanged(extra));
    }
    let b = raw_entries(before, &before_events);
    let a = raw_entries(after, &after_events);
    for (key, values) in &b {
        if a.get(key) != Some(values) {
            return Err(ConfigRefusal::HistoryRewritten(key.clone()));
        }
    }
    let added: Vec<_> = a.iter().filter(|(k, _)| !b.contains_key(*k)).collect();
    if added.is_empty() {
        return Ok(Vec::new());
    }
    if !permitted(who.role) {
        return Err(ConfigRefusal::NotAdmin);
    }
    let mut out = Vec::with_capacity(added.len());
    for (key, values) in added {
        let bad = |problem: String| ConfigRefusal::Bad {
            key: key.clone(),
            problem,
        };
        let [raw] = values.as_slice() else {
            return Err(bad("written twice concurrently".into()));
        };
        let json = raw
            .strip_prefix("s:")
            .ok_or_else(|| bad("not a string".into()))?;
        let event: ConfigEvent = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        if event.id() != *key {
            return Err(bad(format!(
                "stored under {key} but its id is {}",
                event.id()
            )));
        }
        if event.actor.user != who.user || event.actor.role != who.role {
            return Err(ConfigRefusal::Impersonation {
                key: key.clone(),
                claimed: format!("{} ({:?})", event.actor.user, event.actor.role),
                actual: format!("{} ({:?})", who.user, who.role),
            });
        }
        if event.at.node != node_of(event.actor.device.as_str()) {
            return Err(ConfigRefusal::ForeignKey {
                key: key.clone(),
                node: event.at.node,
            });
        }
        validate(&event.change).map_err(|e| bad(e.to_string()))?;
        out.push(event);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

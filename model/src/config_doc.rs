//! The tenant's configuration documents: two Automerge documents per tenant,
//! each a map of admin changes (events), append-only like an order's history,
//! so every change keeps its author and time. The tenant's document
//! ([`ConfigScope::Tenant`]: profile, tariff, services, zones, POD policy) is
//! read by every user of the tenant; the staff document
//! ([`ConfigScope::Staff`]: warehouses, vehicles, courier profiles) by staff
//! only — clients never receive it.
//!
//! What is in force is [`derive`]d from both: the changes in stamp (HLC)
//! order, each replacing its part (profile, tariff, POD policy) or its item
//! (a zone, service, warehouse, vehicle or courier by id) — the last writer
//! wins per part or item, deterministically on every device, and concurrent
//! edits of different parts both hold. Undo is a change that puts the earlier
//! value back.
//!
//! Rules, shared by the device (before it writes) and the server's guard
//! (before it accepts): only admins change the configuration ([`permitted`]);
//! every value is [`validate`]d with the field at fault named.

use std::collections::BTreeMap;

use app_api::Role;
use app_api::config::{
    ConfigChange, ConfigHistoryEntry, ConfigScope, CourierProfile, PodPolicy, ServiceLevel, Tariff,
    TenantConfig, TenantProfile, Vehicle, Warehouse,
};
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value, transaction::Transactable};
use ruta_domain::hlc::{Hlc, node_of};
use ruta_domain::{Actor, DeviceId};
use serde::{Deserialize, Serialize};

use crate::Principal;
use crate::order_doc::actor_of;

/// The document's `schema` field.
pub const CONFIG_SCHEMA: i64 = 1;
/// The `kind` of the tenant's configuration document (in the document and
/// in a user's index).
pub const INDEX_KIND: &str = "config";
/// The `kind` of the staff configuration document.
pub const STAFF_INDEX_KIND: &str = "staff_config";

/// The `kind` a document of `scope` carries.
pub fn kind_of(scope: ConfigScope) -> &'static str {
    match scope {
        ConfigScope::Tenant => INDEX_KIND,
        ConfigScope::Staff => STAFF_INDEX_KIND,
    }
}

/// The scope of a document `kind` (None: not a configuration document).
pub fn scope_of_kind(kind: &str) -> Option<ConfigScope> {
    match kind {
        INDEX_KIND => Some(ConfigScope::Tenant),
        STAFF_INDEX_KIND => Some(ConfigScope::Staff),
        _ => None,
    }
}

/// Who reads a document of `scope`: everyone for the tenant's, staff (not
/// clients) for the staff document.
pub fn readable(scope: ConfigScope, role: Role) -> bool {
    scope == ConfigScope::Tenant || role != Role::Client
}
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

/// Who may change all of the configuration: admins.
pub fn permitted(role: Role) -> bool {
    role == Role::Admin
}

/// Whether `role` may make `change`: admins any; dispatchers the routes
/// (a route is operations' daily work, not the tenant's set-up).
pub fn may_change(role: Role, change: &ConfigChange) -> bool {
    permitted(role)
        || (role == Role::Dispatcher
            && matches!(
                change,
                ConfigChange::PutRoute(_) | ConfigChange::RemoveRoute { .. }
            ))
}

/// Whether `role` may write the document of `scope` at all (each change is
/// then judged by [`may_change`]).
pub fn may_write(scope: ConfigScope, role: Role) -> bool {
    permitted(role) || (scope == ConfigScope::Staff && role == Role::Dispatcher)
}

/// Checks a change's values.
pub fn validate(change: &ConfigChange) -> Result<(), Invalid> {
    match change {
        ConfigChange::SetProfile(p) => validate_profile(p),
        ConfigChange::SetTariff(t) => validate_tariff(t),
        ConfigChange::PutZone(z) => validate_zone(z),
        ConfigChange::RemoveZone { id } => removed_id("zone.id", id),
        ConfigChange::PutService(v) => validate_service(v),
        ConfigChange::RemoveService { id } => removed_id("service.id", id),
        ConfigChange::SetPodPolicy(p) => validate_pod_policy(p),
        ConfigChange::PutWarehouse(w) => validate_warehouse(w),
        ConfigChange::RemoveWarehouse { id } => removed_id("warehouse.id", id),
        ConfigChange::PutVehicle(v) => validate_vehicle(v),
        ConfigChange::RemoveVehicle { id } => removed_id("vehicle.id", id),
        ConfigChange::PutCourier(c) => validate_courier(c),
        ConfigChange::RemoveCourier { user } if crate::ids::valid_user_id(user) => Ok(()),
        ConfigChange::RemoveCourier { .. } => Err(invalid("courier.user", "not a user id")),
        ConfigChange::PutRoute(r) => validate_route(r),
        ConfigChange::RemoveRoute { id } => removed_id("route.id", id),
    }
}

fn removed_id(field: &str, id: &str) -> Result<(), Invalid> {
    if valid_zone_id(id) {
        Ok(())
    } else {
        Err(invalid(field, format!("{id:?} is not an id")))
    }
}

fn id_of(field: &str, id: &str) -> Result<(), Invalid> {
    if valid_zone_id(id) {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{id:?}: 1 to 40 of a-z, 0-9 and '-'"),
        ))
    }
}

fn name_of(field: &str, name: &str, max: usize) -> Result<(), Invalid> {
    let n = name.trim().chars().count();
    if n == 0 || n > max {
        return Err(invalid(field, format!("1 to {max} characters")));
    }
    Ok(())
}

fn position_ok(p: &app_api::Point) -> bool {
    (-90.0..=90.0).contains(&p.lat) && (-180.0..=180.0).contains(&p.lon)
}

fn validate_service(v: &ServiceLevel) -> Result<(), Invalid> {
    id_of("service.id", &v.id)?;
    name_of("service.name", &v.name, 60)?;
    if !(0..=10_000_000).contains(&v.price_cents) {
        return Err(invalid("service.price_cents", "0 to 100,000.00"));
    }
    if v.window_minutes > 14 * 24 * 60 {
        return Err(invalid("service.window_minutes", "0 to 20,160 (14 days)"));
    }
    Ok(())
}

fn validate_pod_policy(p: &PodPolicy) -> Result<(), Invalid> {
    if !(320..=4096).contains(&p.photo_max_px) {
        return Err(invalid("pod_policy.photo_max_px", "320 to 4096 pixels"));
    }
    if !(30..=95).contains(&p.photo_quality) {
        return Err(invalid("pod_policy.photo_quality", "30 to 95"));
    }
    Ok(())
}

fn validate_warehouse(w: &Warehouse) -> Result<(), Invalid> {
    id_of("warehouse.id", &w.id)?;
    name_of("warehouse.name", &w.name, 80)?;
    name_of("warehouse.address", &w.address, 200)?;
    if !position_ok(&w.position) {
        return Err(invalid(
            "warehouse.position",
            "not a position (latitude -90..90, longitude -180..180)",
        ));
    }
    if w.opening_hours.chars().count() > 120 {
        return Err(invalid("warehouse.opening_hours", "at most 120 characters"));
    }
    Ok(())
}

fn validate_vehicle(v: &Vehicle) -> Result<(), Invalid> {
    id_of("vehicle.id", &v.id)?;
    name_of("vehicle.name", &v.name, 60)?;
    if v.capacity_items > 10_000 {
        return Err(invalid(
            "vehicle.capacity_items",
            "0 to 10,000 (0: no limit)",
        ));
    }
    if v.capacity_kg > 50_000 {
        return Err(invalid("vehicle.capacity_kg", "0 to 50,000 (0: no limit)"));
    }
    if v.plate.chars().count() > 20 {
        return Err(invalid("vehicle.plate", "at most 20 characters"));
    }
    Ok(())
}

fn validate_courier(c: &CourierProfile) -> Result<(), Invalid> {
    if !crate::ids::valid_user_id(&c.user) {
        return Err(invalid(
            "courier.user",
            format!("{:?} is not a user id", c.user),
        ));
    }
    let phone = c.phone.trim();
    if phone.chars().count() > 24
        || !phone
            .chars()
            .all(|ch| ch.is_ascii_digit() || matches!(ch, '+' | ' ' | '-' | '(' | ')'))
    {
        return Err(invalid(
            "courier.phone",
            "at most 24 of digits, '+', ' ', '-', '(' and ')'",
        ));
    }
    if let Some(v) = &c.vehicle {
        id_of("courier.vehicle", v)?;
    }
    if let Some(w) = &c.shift_start {
        id_of("courier.shift_start", w)?;
    }
    if c.home_zones.len() > 50 {
        return Err(invalid("courier.home_zones", "at most 50 zones"));
    }
    for (i, z) in c.home_zones.iter().enumerate() {
        id_of(&format!("courier.home_zones[{i}]"), z)?;
    }
    Ok(())
}

/// Most points on one route.
pub const MAX_ROUTE_POINTS: usize = 50;
/// Most drivers on one route.
pub const MAX_ROUTE_DRIVERS: usize = 20;

/// Whether `t` is a time of day `HH:MM` (00:00 to 23:59).
pub fn valid_time_of_day(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 5
        && b[2] == b':'
        && b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit)
        && t[..2].parse::<u8>().is_ok_and(|h| h < 24)
        && t[3..].parse::<u8>().is_ok_and(|m| m < 60)
}

fn validate_route(r: &app_api::config::Route) -> Result<(), Invalid> {
    id_of("route.id", &r.id)?;
    name_of("route.name", &r.name, 80)?;
    if r.points.is_empty() || r.points.len() > MAX_ROUTE_POINTS {
        return Err(invalid(
            "route.points",
            format!("1 to {MAX_ROUTE_POINTS} points"),
        ));
    }
    for (i, p) in r.points.iter().enumerate() {
        name_of(&format!("route.points[{i}].name"), &p.name, 80)?;
        if p.address.chars().count() > 200 {
            return Err(invalid(
                &format!("route.points[{i}].address"),
                "at most 200 characters",
            ));
        }
        if let Some(w) = &p.warehouse {
            id_of(&format!("route.points[{i}].warehouse"), w)?;
        }
        if !position_ok(&p.position) {
            return Err(invalid(
                &format!("route.points[{i}].position"),
                "not a position (latitude -90..90, longitude -180..180)",
            ));
        }
    }
    if r.drivers.len() > MAX_ROUTE_DRIVERS {
        return Err(invalid(
            "route.drivers",
            format!("at most {MAX_ROUTE_DRIVERS} drivers"),
        ));
    }
    for (i, d) in r.drivers.iter().enumerate() {
        if !crate::ids::valid_user_id(d) {
            return Err(invalid(
                &format!("route.drivers[{i}]"),
                format!("{d:?} is not a user id"),
            ));
        }
        if r.drivers[..i].contains(d) {
            return Err(invalid(
                &format!("route.drivers[{i}]"),
                format!("{d} is listed twice"),
            ));
        }
    }
    if let Some(v) = &r.vehicle {
        id_of("route.vehicle", v)?;
    }
    for (i, d) in r.weekdays.iter().enumerate() {
        if !(1..=7).contains(d) || r.weekdays[..i].contains(d) {
            return Err(invalid(
                "route.weekdays",
                "distinct ISO weekdays, 1 (Monday) to 7 (Sunday)",
            ));
        }
    }
    if !valid_time_of_day(&r.start) {
        return Err(invalid("route.start", "a time of day, HH:MM"));
    }
    if !(25..=5_000).contains(&r.attach_radius_m) {
        return Err(invalid("route.attach_radius_m", "25 to 5,000 metres"));
    }
    Ok(())
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
    if t.cash_limit_cents
        .is_some_and(|c| !(0..=crate::cash_doc::MAX_CENTS).contains(&c))
    {
        return Err(invalid(
            "tariff.cash_limit_cents",
            "0 to 10,000,000.00, or none",
        ));
    }
    Ok(())
}

/// What the changes add up to, and the history (newest first). `events` are
/// those of both documents (each document's [`ConfigDoc::events`] holds only
/// changes of its own scope).
pub fn derive(events: &[ConfigEvent]) -> (TenantConfig, Vec<ConfigHistoryEntry>) {
    let mut sorted: Vec<&ConfigEvent> = events.iter().collect();
    sorted.sort_by(|a, b| {
        a.at.cmp(&b.at)
            .then_with(|| a.actor.user.cmp(&b.actor.user))
    });
    let mut config = TenantConfig::default();
    let mut zones: BTreeMap<String, app_api::ZoneView> = BTreeMap::new();
    let mut services: BTreeMap<String, ServiceLevel> = BTreeMap::new();
    let mut warehouses: BTreeMap<String, Warehouse> = BTreeMap::new();
    let mut vehicles: BTreeMap<String, Vehicle> = BTreeMap::new();
    let mut couriers: BTreeMap<String, CourierProfile> = BTreeMap::new();
    let mut routes: BTreeMap<String, app_api::config::Route> = BTreeMap::new();
    let mut history = Vec::with_capacity(sorted.len());
    for e in sorted {
        // A change that does not validate (only a forged one) is skipped.
        if validate(&e.change).is_err() || !may_change(e.actor.role, &e.change) {
            continue;
        }
        match &e.change {
            ConfigChange::SetProfile(p) => config.profile = p.clone(),
            ConfigChange::SetTariff(t) => config.tariff = t.clone(),
            ConfigChange::SetPodPolicy(p) => config.pod_policy = p.clone(),
            ConfigChange::PutZone(z) => {
                config.zones_configured = true;
                zones.insert(z.id.clone(), z.clone());
            }
            ConfigChange::RemoveZone { id } => {
                config.zones_configured = true;
                zones.remove(id);
            }
            ConfigChange::PutService(v) => {
                services.insert(v.id.clone(), v.clone());
            }
            ConfigChange::RemoveService { id } => {
                services.remove(id);
            }
            ConfigChange::PutWarehouse(w) => {
                warehouses.insert(w.id.clone(), w.clone());
            }
            ConfigChange::RemoveWarehouse { id } => {
                warehouses.remove(id);
            }
            ConfigChange::PutVehicle(v) => {
                vehicles.insert(v.id.clone(), v.clone());
            }
            ConfigChange::RemoveVehicle { id } => {
                vehicles.remove(id);
            }
            ConfigChange::PutCourier(c) => {
                couriers.insert(c.user.clone(), c.clone());
            }
            ConfigChange::RemoveCourier { user } => {
                couriers.remove(user);
            }
            ConfigChange::PutRoute(r) => {
                routes.insert(r.id.clone(), r.clone());
            }
            ConfigChange::RemoveRoute { id } => {
                routes.remove(id);
            }
        }
        history.push(ConfigHistoryEntry {
            at_ms: e.at.wall_ms,
            by: e.actor.user.to_string(),
            change: e.change.name().into(),
            subject: e.change.subject().map(str::to_owned),
        });
    }
    config.zones = zones.into_values().collect();
    config.services = services.into_values().collect();
    config.warehouses = warehouses.into_values().collect();
    config.vehicles = vehicles.into_values().collect();
    config.couriers = couriers.into_values().collect();
    config.routes = routes.into_values().collect();
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
    scope: ConfigScope,
}

impl ConfigDoc {
    /// A new, empty configuration document of `scope` (the server makes one
    /// of each per tenant; a device working without a server makes its own).
    pub fn create(device: &DeviceId, scope: ConfigScope) -> Result<Self, ConfigDocError> {
        let mut doc = AutoCommit::new().with_actor(actor_of(device));
        doc.put(ROOT, "schema", CONFIG_SCHEMA)?;
        doc.put(ROOT, "kind", kind_of(scope))?;
        let events = doc.put_object(ROOT, "events", ObjType::Map)?;
        Ok(Self { doc, events, scope })
    }

    /// Loads a saved document.
    pub fn load(bytes: &[u8], device: &DeviceId) -> Result<Self, ConfigDocError> {
        let mut doc =
            AutoCommit::load(bytes).map_err(|e| ConfigDocError::Corrupt(e.to_string()))?;
        doc.set_actor(actor_of(device));
        let (events, scope) = events_of(&doc)?;
        Ok(Self { doc, events, scope })
    }

    /// Which document this is.
    pub fn scope(&self) -> ConfigScope {
        self.scope
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

    /// Every well-formed event of this document's scope (an entry that is
    /// not one is ignored).
    pub fn events(&self) -> Vec<ConfigEvent> {
        parse_events(&self.doc, &self.events)
            .into_values()
            .flatten()
            .filter(|e| e.change.scope() == self.scope)
            .collect()
    }

    pub fn automerge(&self) -> &AutoCommit {
        &self.doc
    }

    /// The document's heads (what it holds so far).
    pub fn heads(&mut self) -> Vec<automerge::ChangeHash> {
        self.doc.get_heads()
    }
}

fn events_of(doc: &impl ReadDoc) -> Result<(ObjId, ConfigScope), ConfigDocError> {
    match doc.get(ROOT, "schema") {
        Ok(Some((Value::Scalar(s), _))) if s.as_i64() == Some(CONFIG_SCHEMA) => {}
        _ => return Err(ConfigDocError::NotConfig("no schema 1".into())),
    }
    let scope = match doc.get(ROOT, "kind") {
        Ok(Some((Value::Scalar(s), _))) => s.as_str().and_then(scope_of_kind),
        _ => None,
    }
    .ok_or_else(|| ConfigDocError::NotConfig("kind is not config or staff_config".into()))?;
    match doc.get(ROOT, "events") {
        Ok(Some((Value::Object(ObjType::Map), id))) => Ok((id, scope)),
        _ => Err(ConfigDocError::NotConfig("no events map".into())),
    }
}

/// Every entry of the events map: key -> each value (raw JSON) it holds.
fn raw_entries(doc: &impl ReadDoc, events: &ObjId) -> BTreeMap<String, Vec<String>> {
    crate::event_doc::raw_entries(doc, events)
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
    #[error("change {key}: only admins make a {change} change")]
    NotPermitted { key: String, change: String },
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
    #[error("change {key} ({change}) belongs in the other configuration document")]
    WrongDocument { key: String, change: String },
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
    let (before_events, scope) =
        events_of(before).map_err(|_| ConfigRefusal::NotCreatedByServer)?;
    let (after_events, _) =
        events_of(after).map_err(|e| ConfigRefusal::RootChanged(e.to_string()))?;
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
    if !may_write(scope, who.role) {
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
        if !may_change(who.role, &event.change) {
            return Err(ConfigRefusal::NotPermitted {
                key: key.clone(),
                change: event.change.name().into(),
            });
        }
        if event.change.scope() != scope {
            return Err(ConfigRefusal::WrongDocument {
                key: key.clone(),
                change: event.change.name().into(),
            });
        }
        out.push(event);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

//! The tenant's configuration as every device holds it: the tenant's profile
//! (company, address, VAT id, logo, colours, time zone, invoice numbering and
//! footer) and the tariff. It lives in a CRDT document owned by the tenant
//! (`ruta_model::config_doc`), written only by admins — the server's write
//! guard refuses anyone else — and read by every signed-in user, so it works
//! offline and a change takes effect on every device as it syncs.
//!
//! Plain data: the rules (validation, who may change what) are in
//! `ruta_model::config_doc`; prices are computed by `ruta_domain::pricing`.

use serde::{Deserialize, Serialize};

/// Prices: base + distance + weight + options, VAT included. Integers in
/// minor units (cents), never floats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tariff {
    /// ISO 4217 code, e.g. "EUR".
    pub currency: String,
    pub base_cents: i64,
    /// Per started kilometre.
    pub per_km_cents: i64,
    /// Kilometres included in the base price.
    pub included_km: u32,
    pub express_cents: i64,
    pub signature_cents: i64,
    pub age_check_cents: i64,
    pub time_window_cents: i64,
    pub urgent_cents: i64,
    /// Per kilogram above `included_kg`.
    pub per_kg_cents: i64,
    pub included_kg: u32,
    /// VAT in basis points (2550 = 25.5 %), included in the total.
    pub vat_bp: u32,
}

impl Default for Tariff {
    fn default() -> Self {
        Tariff {
            currency: "EUR".into(),
            base_cents: 690,
            per_km_cents: 95,
            included_km: 2,
            express_cents: 500,
            signature_cents: 100,
            age_check_cents: 150,
            time_window_cents: 200,
            urgent_cents: 800,
            per_kg_cents: 40,
            included_kg: 5,
            vat_bp: 2550,
        }
    }
}

/// Who the tenant is on paper, and in which time zone it works.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantProfile {
    pub company_name: String,
    /// Postal address, one printed line each.
    #[serde(default)]
    pub address_lines: Vec<String>,
    #[serde(default)]
    pub vat_id: Option<String>,
    /// An IANA time zone (`Europe/Helsinki`): invoices, statements and
    /// "today" in the driver monitor use it.
    pub time_zone: String,
    /// Printed before every invoice number (`INV-` gives `INV-000042`).
    pub invoice_prefix: String,
    /// Payment terms and the like, printed at the foot of every invoice.
    #[serde(default)]
    pub invoice_footer: String,
    /// PNG or JPEG, base64; at most 256 KiB decoded.
    #[serde(default)]
    pub logo_base64: Option<String>,
    pub primary_colour: [u8; 3],
    pub accent_colour: [u8; 3],
}

impl Default for TenantProfile {
    fn default() -> Self {
        Self {
            company_name: "Ruta Demo Oy".into(),
            address_lines: vec!["Mannerheimintie 1".into(), "00100 Helsinki".into()],
            vat_id: None,
            time_zone: "Europe/Helsinki".into(),
            invoice_prefix: "INV-".into(),
            invoice_footer: "Payment within 14 days.".into(),
            logo_base64: None,
            primary_colour: [0x1d, 0x3f, 0x6e],
            accent_colour: [0x0b, 0x7a, 0x75],
        }
    }
}

/// The configuration in force: what every change so far adds up to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantConfig {
    pub profile: TenantProfile,
    pub tariff: Tariff,
    /// The tenant's zones, by id. Orders are filed in the zone their drop-off is in.
    #[serde(default)]
    pub zones: Vec<crate::ZoneView>,
    /// Whether any change so far concerned zones (else a device keeps its own).
    #[serde(default)]
    pub zones_configured: bool,
}

/// One admin change to the configuration (an event in the config document).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ConfigChange {
    SetProfile(TenantProfile),
    SetTariff(Tariff),
    /// Adds a zone or replaces the one with its id.
    PutZone(crate::ZoneView),
    RemoveZone {
        id: String,
    },
}

/// One entry of the configuration's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigHistoryEntry {
    pub at_ms: i64,
    pub by: String,
    /// `set_profile`, `set_tariff`, `put_zone`, `remove_zone`.
    pub change: String,
    /// What it concerned, when that is one thing (a zone's id).
    #[serde(default)]
    pub subject: Option<String>,
}

/// What `Request::TenantConfig` answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantConfigView {
    pub config: TenantConfig,
    /// Newest first.
    pub history: Vec<ConfigHistoryEntry>,
    /// Whether the signed-in user may change it (admins).
    pub editable: bool,
    /// Whether the device holds the tenant's own configuration yet (false: the
    /// defaults, until the configuration document arrives from the server).
    pub synced: bool,
}

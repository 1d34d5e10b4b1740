//! CSV DTOs: bulk order import with a report per row, its progress, and exports.

use serde::{Deserialize, Serialize};

use super::OrderQuery;

/// The columns an order import reads (named by the header, any order,
/// case-insensitive) and what each takes: the parser's list, which the Import
/// screen shows as its help.
pub const ORDER_CSV_COLUMNS: [(&str, &str); 31] = [
    ("customer_name", "required; text"),
    (
        "pickup_address",
        "required; text (placed on the map by the address search when no coordinates are given)",
    ),
    (
        "dropoff_address",
        "required; text (placed on the map like the pickup)",
    ),
    ("pickup_lat", "decimal degrees, with pickup_lon"),
    ("pickup_lon", "decimal degrees, with pickup_lat"),
    ("dropoff_lat", "decimal degrees, with dropoff_lon"),
    ("dropoff_lon", "decimal degrees, with dropoff_lat"),
    (
        "order_type",
        "on_demand, pickup, delivery or pickup_and_delivery",
    ),
    ("priority", "low, normal, high or urgent"),
    ("carrier", "internal, prime, external or hybrid"),
    ("parcels", "whole number"),
    ("weight_g", "whole number of grams"),
    ("cod", "cash to collect, 12.50 or 12,50"),
    (
        "window_start",
        "RFC 3339 (2026-11-22T14:00:00+02:00) or epoch ms, with window_end",
    ),
    ("window_end", "RFC 3339 or epoch ms, with window_start"),
    ("notes", "text"),
    ("instructions", "text for the courier"),
    ("client", "the client user the order is for"),
    ("pod_photo", "yes/no, true/false or 1/0"),
    ("pod_signature", "yes/no, true/false or 1/0"),
    ("pod_qr", "yes/no, true/false or 1/0"),
    ("pod_pin", "yes/no, true/false or 1/0"),
    ("service", "a service level's id from the tenant's settings"),
    ("pickup_contact", "who hands the parcel over"),
    ("pickup_phone", "their phone"),
    ("dropoff_contact", "the recipient"),
    ("dropoff_phone", "the recipient's phone"),
    (
        "pickup_warehouse",
        "a warehouse's id: picked up there (its address and position)",
    ),
    ("dropoff_warehouse", "a warehouse's id: delivered there"),
    (
        "package_reference",
        "the reference or barcode on the parcels",
    ),
    ("express", "yes/no, true/false or 1/0"),
];

/// The columns an orders export has beside [`ORDER_CSV_COLUMNS`] (the order's
/// identity and state). An import skips them, so an exported file imports as
/// new orders with the same content.
pub const ORDER_CSV_EXPORT_ONLY: [&str; 11] = [
    "id",
    "reference",
    "status",
    "assignee",
    "zone",
    "price_cents",
    "distance_m",
    "created_at_ms",
    "updated_at_ms",
    "created_on",
    "open_conflicts",
];

/// One problem found in an import file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportProblem {
    /// 1-based line (the header is line 1); 0 = the file as a whole.
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Data rows in the file.
    pub rows: u64,
    pub imported: u64,
    /// Rows with a problem (not imported).
    pub rejected: u64,
    /// The first 1,000 problems; `rejected` counts them all.
    pub problems: Vec<ImportProblem>,
    /// References given to the imported orders (first and last).
    pub first_reference: Option<String>,
    pub last_reference: Option<String>,
    /// False when nothing was imported because some rows were bad and
    /// `partial` was not asked for.
    pub committed: bool,
    pub ms: f64,
    /// Addresses given without coordinates and placed by the device's address
    /// index (the first 1,000); ambiguous and unknown ones are `problems`.
    #[serde(default)]
    pub geocoded: Vec<GeocodedAddress>,
}

/// An import row's address placed on the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeocodedAddress {
    pub line: u64,
    /// `pickup_address` or `dropoff_address`.
    pub column: String,
    /// What the row said.
    pub typed: String,
    /// The address the position is of.
    pub matched: String,
    pub point: super::Point,
    /// Placed between neighbouring house numbers, not at a tagged address.
    pub interpolated: bool,
}

/// How far the running import is (poll while an import call is in flight).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ImportProgress {
    /// `idle`, `checking` (reading and validating rows) or `writing`.
    pub phase: String,
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    /// One row per order.
    Orders,
    /// One row per timeline entry of each order.
    Timelines,
    /// One row per proof of delivery.
    Pods,
}

/// Export of the orders matching a query (all pages).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRequest {
    pub what: ExportKind,
    #[serde(default)]
    pub query: OrderQuery,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvFile {
    pub filename: String,
    pub rows: u64,
    pub text: String,
}

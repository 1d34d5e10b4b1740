//! CSV DTOs: bulk order import with a report per row, its progress, and exports.

use serde::{Deserialize, Serialize};

use super::OrderQuery;

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

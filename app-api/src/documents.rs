//! Document DTOs: labels, receipts, invoices and statements as files.

use serde::{Deserialize, Serialize};

/// Which document to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "document", rename_all = "snake_case")]
pub enum DocumentRequest {
    /// 4×6 in shipping labels, one page per order (or per parcel), in one PDF.
    Labels {
        order_ids: Vec<String>,
        #[serde(default)]
        per_parcel: bool,
    },
    /// The receipt handed over at delivery (delivered orders only).
    Receipt { order_id: String },
    /// The order's invoice (delivered orders only); the number is provisional
    /// until the tenant's server has numbered it.
    Invoice { order_id: String },
    /// A sample invoice with the tenant's branding, tariff and footer as
    /// configured now (the settings' live preview); nothing is numbered.
    InvoicePreview,
    /// A client's deliveries created in `[from_ms, to_ms)`, as PDF or CSV.
    Statement {
        /// Whose name the statement carries; with no `client`, the orders of
        /// this customer name.
        customer_name: String,
        /// The orders of this client user (a client's own device always asks
        /// for its user's orders, whatever is sent here).
        #[serde(default)]
        client: Option<String>,
        from_ms: i64,
        to_ms: i64,
        #[serde(default)]
        csv: bool,
    },
    /// A trip's run sheet: its stops in sequence with contacts, windows,
    /// packages, cash to collect and a QR code per stop (the courier scans it
    /// to open the stop).
    RunSheet { trip_id: String },
    /// A waybill: barcode of its number, origin and destination, carrier,
    /// seal, the manifest of its orders and signature blocks.
    Waybill { waybill_id: String },
    /// A courier's cash remittance statement for one day (the tenant's time
    /// zone): collections, hand-overs, differences and how they were settled,
    /// opening and closing cash in hand; PDF or CSV.
    Remittance {
        courier: String,
        /// YYYY-MM-DD.
        day: String,
        #[serde(default)]
        csv: bool,
    },
}

/// A made document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentFile {
    pub filename: String,
    /// `application/pdf` or `text/csv`.
    pub mime: String,
    /// The file, base64 (standard alphabet, padded).
    pub data_base64: String,
    pub bytes: u64,
}

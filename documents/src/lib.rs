//! Documents: shipping labels, delivery receipts, invoices, client statements,
//! courier run sheets, waybills and courier cash remittance statements, as PDF (and
//! the statement and the remittance statement also as CSV).
//!
//! Every function here is pure: plain data in ([`LabelData`], [`ReceiptData`],
//! [`InvoiceData`], [`StatementData`], [`RunSheetData`], [`WaybillData`],
//! [`RemittanceData`]), bytes out. No clock (dates arrive as strings;
//! [`format_timestamp`] formats epoch milliseconds for callers), no disk, no global
//! state beyond the bundled fonts, parsed once.
//!
//! # Pieces
//! - [`label`]: 4×6 in shipping labels, one page per label, many in one PDF.
//! - [`receipt`]: the A5 receipt handed over at delivery.
//! - [`invoice`]: the A4 invoice, with per-line VAT and totals per rate.
//! - [`statement`]: a client's deliveries over a period, paginated, plus CSV.
//! - [`run_sheet`]: the courier's A4 list of a trip's stops in order, a QR code per
//!   stop, paginated, with the stop count and cash to collect.
//! - [`waybill`]: the A4 consignment note for a batch of orders handed over: Code 128
//!   of its number, origin and destination, a paginated manifest, totals, signatures.
//! - [`remittance`]: a courier's cash for one day: opening cash, collections at doors,
//!   hand-overs at the depot (with discrepancies), closing cash; paginated, plus CSV.
//! - [`layout`]: fonts, text measuring and wrapping, money, QR and Code 128, and the
//!   small display list every document is drawn into before krilla writes the PDF.
//!
//! # Fonts
//! From the `typst-assets` crate (no system fonts, so output is identical everywhere):
//! Libertinus Serif Regular/Bold (SIL OFL 1.1) for running text and DejaVu Sans Mono
//! Book/Bold (Bitstream Vera licence, DejaVu changes public domain) for labels,
//! references and figures. Both cover Latin-1, Latin Extended-A/B, Greek and
//! Cyrillic, so "Björn Öhman", "Łukasz Żółć" and "Çağrı" print as written; a
//! character missing from one family is taken from the other, and one missing from
//! both prints as `?`. Text is laid out one glyph per character with the fonts'
//! advance widths (no kerning or ligatures; combining marks are not positioned, so
//! callers should pass NFC text, which is what keyboards produce).
//!
//! # Money
//! Amounts are integers in minor units (cents) and all arithmetic is on `i64`
//! (`i128` inside products); see [`invoice`] for the VAT rounding rule.
//!
//! # Robustness
//! Free text is cleaned (control characters become spaces) and cut to
//! [`layout::MAX_FIELD_CHARS`] characters before layout, then wrapped or cut with
//! "…" to the space it has, so a 1 MB address produces a normal page rather than an
//! error. Images (logo, signature, photo) are checked up front and a bad one fails
//! with [`DocError::InvalidImage`] naming the field.

use serde::{Deserialize, Serialize};

pub mod invoice;
pub mod label;
pub mod layout;
pub mod receipt;
pub mod remittance;
pub mod run_sheet;
pub mod statement;
pub mod waybill;

#[cfg(test)]
mod tests;

pub use invoice::{InvoiceData, InvoiceLine, InvoiceOrder, invoice_pdf};
pub use label::{LabelData, labels_pdf, per_parcel};
pub use layout::{format_date, format_money, format_timestamp};
pub use receipt::{ReceiptData, ReceiptItem, receipt_pdf};
pub use remittance::{
    RemittanceCollection, RemittanceData, RemittanceHandover, remittance_csv, remittance_pdf,
};
pub use run_sheet::{RunSheetData, RunSheetStop, RunSheetStopKind, run_sheet_pdf};
pub use statement::{StatementData, StatementRow, statement_csv, statement_pdf};
pub use waybill::{WaybillData, WaybillLine, WaybillTotals, waybill_pdf, waybill_totals};

use ruta_domain::order::Stop;

/// Why a document could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// An image input (logo, signature, photo) is not a PNG or JPEG we can read.
    #[error("{field}: not a usable PNG or JPEG image ({reason})")]
    InvalidImage { field: String, reason: String },
    /// Some other input cannot be printed (e.g. a reference Code 128 cannot encode).
    #[error("{field}: {reason}")]
    InvalidField { field: String, reason: String },
    /// The fonts bundled through `typst-assets` could not be read (a build problem).
    #[error("bundled fonts unavailable: {0}")]
    Fonts(String),
    /// krilla refused to write the PDF.
    #[error("PDF could not be written: {0}")]
    Pdf(String),
}

impl DocError {
    pub(crate) fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        DocError::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The tenant's look and identity on invoices, receipts and statements.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    pub company_name: String,
    /// Postal address, one printed line each.
    #[serde(default)]
    pub address_lines: Vec<String>,
    #[serde(default)]
    pub vat_id: Option<String>,
    /// Logo as PNG or JPEG bytes (the name is historical); drawn at most 48 pt high.
    #[serde(default)]
    pub logo_png: Option<Vec<u8>>,
    /// Header bands. Text on it is white or black, whichever contrasts more.
    pub primary_colour: [u8; 3],
    /// Table header rows and highlights.
    pub accent_colour: [u8; 3],
    /// ISO 4217 code printed after every amount, e.g. "EUR".
    pub currency: String,
}

impl Default for Branding {
    fn default() -> Self {
        Branding {
            company_name: "Ruta".into(),
            address_lines: Vec::new(),
            vat_id: None,
            logo_png: None,
            primary_colour: [0x1d, 0x3f, 0x6e],
            accent_colour: [0xd9, 0xe4, 0xf2],
            currency: "EUR".into(),
        }
    }
}

/// A named party with a postal address: sender, recipient, customer, client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Party {
    pub name: String,
    /// Printed in order, e.g. `["Mannerheimintie 1 A 2", "00100 Helsinki", "Finland"]`.
    #[serde(default)]
    pub address_lines: Vec<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

impl Party {
    /// The contact and address of an order stop: street lines, "postcode city",
    /// country, each only when not empty.
    pub fn from_stop(stop: &Stop) -> Party {
        let a = &stop.address;
        let city = [a.postcode.trim(), a.city.trim()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let address_lines = [
            a.line1.trim(),
            a.line2.trim(),
            city.as_str(),
            a.country.trim(),
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.to_string())
        .collect();
        let phone = stop.contact.phone.trim();
        Party {
            name: stop.contact.name.trim().to_string(),
            address_lines,
            phone: (!phone.is_empty()).then(|| phone.to_string()),
        }
    }
}

//! Cash on delivery and its remittance: each courier's cash position (what
//! they collected at doors, handed over at the depot, still hold), their
//! hand-overs and the discrepancies an operator settles. The rules are
//! `ruta_model::cash_doc`'s.

use serde::{Deserialize, Serialize};

/// Where a hand-over stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoverStatus {
    /// Declared by the courier; nobody has received it yet.
    Declared,
    /// Received as declared (or nothing was declared).
    Received,
    /// What was received is not what was declared (or two desks recorded
    /// it): open until an operator settles it.
    Discrepancy,
    /// Its discrepancy was settled.
    Settled,
    /// The courier took the declaration back.
    Withdrawn,
}

impl HandoverStatus {
    pub fn label(self) -> &'static str {
        match self {
            HandoverStatus::Declared => "Awaiting receipt",
            HandoverStatus::Received => "Received",
            HandoverStatus::Discrepancy => "Discrepancy",
            HandoverStatus::Settled => "Settled",
            HandoverStatus::Withdrawn => "Withdrawn",
        }
    }
}

/// How an operator settles a discrepancy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CashResolution {
    /// Counted again: `cents` is what was received.
    Recounted { cents: i64 },
    /// The courier owes the shortfall (it stays outstanding).
    ChargedToCourier,
    /// The tenant absorbs the difference.
    WrittenOff,
}

impl CashResolution {
    pub fn label(&self) -> &'static str {
        match self {
            CashResolution::Recounted { .. } => "Recounted",
            CashResolution::ChargedToCourier => "Charged to courier",
            CashResolution::WrittenOff => "Written off",
        }
    }
}

/// What a user does with cash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CashAction {
    /// The courier hands `cents` over; the answer carries the code to show.
    Declare {
        cents: i64,
        #[serde(default)]
        note: String,
    },
    /// The courier takes back a declaration nobody has received.
    Withdraw { handover: String },
    /// An operator records what they counted: from the courier's scanned
    /// `code`, or for `courier` with the figure they said (`declared_cents`).
    Receive {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        courier: Option<String>,
        cents: i64,
        #[serde(default)]
        declared_cents: Option<i64>,
        #[serde(default)]
        note: String,
    },
    /// An operator settles a hand-over's discrepancy.
    Resolve {
        courier: String,
        handover: String,
        resolution: CashResolution,
        #[serde(default)]
        note: String,
    },
}

/// One hand-over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoverView {
    pub id: String,
    pub status: HandoverStatus,
    pub declared_cents: Option<i64>,
    pub declared_at_ms: Option<i64>,
    pub received_cents: Option<i64>,
    pub received_at_ms: Option<i64>,
    pub received_by: Option<String>,
    /// Received less declared (negative: a shortfall).
    pub difference_cents: Option<i64>,
    /// Recorded without the courier's code and paired with their declaration
    /// on merge: the receipt's own id.
    pub paired_receipt: Option<String>,
    /// Further receipts of this hand-over (user, amount), counted once.
    pub duplicate_receipts: Vec<(String, i64)>,
    pub resolution: Option<CashResolution>,
    pub resolved_by: Option<String>,
    pub notes: Vec<String>,
    /// The code the courier shows (while it waits for a receipt).
    pub qr_payload: Option<String>,
    /// That code as a QR image (PNG, base64).
    #[serde(default)]
    pub qr_png_base64: Option<String>,
}

/// Cash a courier took at a door.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionView {
    pub order_id: String,
    pub reference: String,
    pub cents: i64,
    pub at_ms: i64,
}

/// A courier's cash position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CashPositionView {
    pub courier: String,
    pub courier_name: String,
    /// ISO 4217, the tenant's.
    pub currency: String,
    pub collected_cents: i64,
    pub received_cents: i64,
    pub written_off_cents: i64,
    /// Declared and not received yet.
    pub pending_cents: i64,
    /// Still to hand over: collected less received and written off.
    pub outstanding_cents: i64,
    pub open_discrepancies: u32,
    /// The tenant's limit of cash in hand (None: no limit).
    pub limit_cents: Option<i64>,
    /// Over the limit: the assignment proposal gives them no cash orders.
    pub over_limit: bool,
    pub last_handover_ms: Option<i64>,
}

/// A courier's cash ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CashLedgerView {
    pub position: CashPositionView,
    /// Newest first.
    pub handovers: Vec<HandoverView>,
    /// Newest first.
    pub collections: Vec<CollectionView>,
    /// Whether the server has every hand-over written on this device.
    pub pending_sync: bool,
}

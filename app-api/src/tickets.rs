//! Support tickets: opened by a client in the portal (perhaps about one of
//! their orders) or by the tenant's web shop through the public intake
//! endpoint, worked by operators (assign, answer, change status, link an
//! order) and timed against the tenant's targets. A ticket's conversation is
//! its chat (`ChatLink::Ticket`); a storefront requester, who has no account,
//! reads and answers it through the reply link. The rules are
//! `ruta_model::ticket_doc`'s.

use serde::{Deserialize, Serialize};

use crate::Priority;
use crate::chat::ChatView;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Waiting for an operator.
    Open,
    /// Waiting for the requester.
    Pending,
    /// An operator answered it; the requester may reopen it.
    Solved,
    /// Done; nothing more happens.
    Closed,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 4] = [
        TicketStatus::Open,
        TicketStatus::Pending,
        TicketStatus::Solved,
        TicketStatus::Closed,
    ];
    pub fn label(self) -> &'static str {
        match self {
            TicketStatus::Open => "Open",
            TicketStatus::Pending => "Pending",
            TicketStatus::Solved => "Solved",
            TicketStatus::Closed => "Closed",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum TicketCategory {
    /// Where is my parcel, late, wrong address …
    Delivery,
    /// Damaged or missing contents.
    Damage,
    /// Invoices, prices, cash on delivery.
    Billing,
    /// Sign-in, users, settings.
    Account,
    #[default]
    Other,
}

impl TicketCategory {
    pub const ALL: [TicketCategory; 5] = [
        TicketCategory::Delivery,
        TicketCategory::Damage,
        TicketCategory::Billing,
        TicketCategory::Account,
        TicketCategory::Other,
    ];
    pub fn label(self) -> &'static str {
        match self {
            TicketCategory::Delivery => "Delivery",
            TicketCategory::Damage => "Damage",
            TicketCategory::Billing => "Billing",
            TicketCategory::Account => "Account",
            TicketCategory::Other => "Other",
        }
    }
}

/// Who asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Requester {
    /// A signed-in user of the tenant (a client, from the portal).
    User { user: String },
    /// Someone from the tenant's web shop, without an account.
    Guest { name: String, email: String },
}

/// A ticket to open (portal or console).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTicket {
    pub subject: String,
    /// The first message: what the requester wrote.
    pub message: String,
    pub category: TicketCategory,
    #[serde(default)]
    pub priority: Priority,
    /// The order it is about (a client: one of theirs).
    #[serde(default)]
    pub order: Option<String>,
    /// An operator opening a ticket on a client's behalf names them; a client
    /// never does (the ticket is theirs).
    #[serde(default)]
    pub on_behalf_of: Option<String>,
}

/// What an operator (or, for its own ticket, a requester) does to a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TicketAction {
    /// To an operator (None: unassigned). Operators only.
    Assign { to: Option<String> },
    /// Operators: any status. A requester: close their ticket, or reopen a
    /// solved one.
    SetStatus { status: TicketStatus },
    /// Operators only.
    SetPriority { priority: Priority },
    /// Operators only.
    SetCategory { category: TicketCategory },
    /// The order it is about (None: unlink). Operators only.
    LinkOrder { order: Option<String> },
}

/// Which tickets to list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TicketQuery {
    /// Empty: every status.
    #[serde(default)]
    pub statuses: Vec<TicketStatus>,
    /// `Some("-")`: unassigned; `Some(user)`: theirs.
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub category: Option<TicketCategory>,
    #[serde(default)]
    pub min_priority: Option<Priority>,
    /// Words in the subject, reference or requester.
    #[serde(default)]
    pub search: Option<String>,
}

/// How a ticket stands against the tenant's targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerState {
    /// Not met yet, still within the target (milliseconds left).
    Running { left_ms: i64 },
    /// Not met, and the target has passed (milliseconds over).
    Breached { over_ms: i64 },
    /// Met after this long (milliseconds since opening), within the target.
    Met { after_ms: i64 },
    /// Met, but after the target.
    MetLate { after_ms: i64 },
}

impl TimerState {
    pub fn breached(self) -> bool {
        matches!(
            self,
            TimerState::Breached { .. } | TimerState::MetLate { .. }
        )
    }
}

/// A ticket in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketSummary {
    pub id: String,
    /// `T-` and eight letters of its id.
    pub reference: String,
    pub subject: String,
    pub category: TicketCategory,
    pub priority: Priority,
    pub status: TicketStatus,
    pub requester: Requester,
    /// Who asked, as people read it (a user's name, a guest's name and e-mail).
    pub requester_name: String,
    pub assignee: Option<String>,
    pub assignee_name: Option<String>,
    pub order: Option<String>,
    pub order_reference: Option<String>,
    pub opened_at_ms: i64,
    pub updated_at_ms: i64,
    pub first_response: TimerState,
    pub resolution: TimerState,
    /// From the storefront (no account: answered through the reply link).
    pub storefront: bool,
    /// Unread messages in its conversation for this user.
    pub unread: u32,
    /// Written here and not yet confirmed by the server.
    pub pending: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketList {
    pub tickets: Vec<TicketSummary>,
    /// Open or pending tickets assigned to nobody.
    pub unassigned: u32,
    /// Open or pending tickets assigned to this user.
    pub mine: u32,
}

/// One change in a ticket's history, as people read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketEntry {
    pub at_ms: i64,
    pub who: String,
    pub what: String,
}

/// One ticket: its fields, what the requester wrote, its history and its
/// conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketView {
    pub ticket: TicketSummary,
    pub message: String,
    pub history: Vec<TicketEntry>,
    pub chat: ChatView,
    /// Operators one may assign it to: (user, name).
    pub assignable: Vec<(String, String)>,
    /// The tenant's targets, minutes.
    pub first_response_target_min: u32,
    pub resolution_target_min: u32,
    /// What this user may do.
    pub may_manage: bool,
}

/// The storefront's ticket, as it posts it to the intake endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeTicket {
    pub name: String,
    pub email: String,
    pub subject: String,
    pub message: String,
    #[serde(default)]
    pub category: Option<TicketCategory>,
    /// An order reference the requester quotes (`R-3F2A-0001`).
    #[serde(default)]
    pub order_reference: Option<String>,
}

/// What the intake endpoint answers: where the requester follows the ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntakeReceipt {
    pub ticket: String,
    pub reference: String,
    /// Path (on the sync server) of the reply link, with its secret.
    pub reply_path: String,
}

/// One message in a storefront requester's view of their ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuestMessage {
    pub at_ms: i64,
    /// "You", or the operator's name.
    pub from: String,
    pub mine: bool,
    pub text: String,
}

/// A storefront requester's view through the reply link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuestTicket {
    pub reference: String,
    pub subject: String,
    pub status: TicketStatus,
    pub messages: Vec<GuestMessage>,
}

/// A storefront requester's answer through the reply link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestReply {
    pub message: String,
}

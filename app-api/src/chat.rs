//! Conversations that work offline: each is linked to what it is about (an
//! order, a courier, a customer, a team, a ticket) or is direct between two
//! users, and the link decides who takes part. Messages are written at once
//! on the device (pending until the server has them), ordered by capture
//! time for everyone; edits and deletions are new events, so history stays.
//! The rules are `ruta_model::chat_doc`'s.

use serde::{Deserialize, Serialize};

use crate::Role;

/// What a conversation is about; it decides who takes part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatLink {
    /// An order's chat: its operators, its courier while assigned and, when
    /// the tenant allows it, its client.
    Order { order: String },
    /// Operators and one courier.
    Driver { courier: String },
    /// Operators and one client.
    Customer { client: String },
    /// Operators and every courier (`couriers`), or operators only (`staff`).
    Team { team: Team },
    /// Operators and the couriers who work one zone (a zone's id; couriers
    /// without home zones work them all).
    Zone { zone: String },
    /// A support ticket's conversation: operators and its requester.
    Ticket { ticket: String },
    /// Two users (in either order: the same conversation).
    Direct { a: String, b: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Team {
    Couriers,
    Staff,
}

/// A message to post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NewMessage {
    #[serde(default)]
    pub text: String,
    /// A photo already in the device's blob store (its SHA-256).
    #[serde(default)]
    pub photo: Option<String>,
    /// A photo just taken or picked (JPEG or PNG, base64): the core shrinks
    /// it as it does a proof's, stores it and sends it with the message.
    #[serde(default)]
    pub photo_base64: Option<String>,
    /// Share where I am: (latitude, longitude).
    #[serde(default)]
    pub location: Option<(f64, f64)>,
    /// Quote an order (its id).
    #[serde(default)]
    pub order: Option<String>,
}

/// What a user does in a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatAction {
    Post(NewMessage),
    /// Change the text of one's own message (the earlier text is kept).
    Edit {
        message: String,
        text: String,
    },
    /// Withdraw one's own message (shown as deleted; history is kept).
    Delete {
        message: String,
    },
    /// Everything in the conversation up to now has been read.
    MarkRead,
}

/// One message as a device shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Its capture stamp (also its identity).
    pub id: String,
    /// Capture time, milliseconds since the epoch.
    pub at_ms: i64,
    pub author: String,
    pub author_name: String,
    pub author_role: Role,
    pub mine: bool,
    /// Empty when deleted.
    pub text: String,
    pub photo: Option<String>,
    pub location: Option<(f64, f64)>,
    pub order: Option<String>,
    /// The quoted order's reference, when this device knows it.
    pub order_reference: Option<String>,
    pub edited: bool,
    pub deleted: bool,
    /// Written here and not yet confirmed by the server.
    pub pending: bool,
    /// Participants (other than the author) whose devices have it.
    pub delivered_to: Vec<String>,
    /// Participants (other than the author) who have read it.
    pub read_by: Vec<String>,
}

/// A conversation in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatSummary {
    pub id: String,
    pub link: ChatLink,
    pub title: String,
    pub last_text: String,
    pub last_at_ms: Option<i64>,
    pub unread: u32,
    pub pending: bool,
}

/// Every conversation on this device, most recent first, with the unread total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatList {
    pub chats: Vec<ChatSummary>,
    pub unread_total: u32,
    /// Conversations this user may always start, titled: a courier's with
    /// dispatch, the teams, the zones they take part in; a client's with support.
    #[serde(default)]
    pub starters: Vec<(String, ChatLink)>,
}

/// One conversation, its messages in capture order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatView {
    pub id: String,
    pub link: ChatLink,
    pub title: String,
    pub messages: Vec<ChatMessage>,
    pub unread: u32,
    /// Replies offered with one tap for this user's role.
    pub quick_replies: Vec<String>,
    /// Whether this user may write here (false once a courier's order is reassigned).
    pub can_post: bool,
}

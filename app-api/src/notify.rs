//! Notifications: derived on each device from what it holds (order events,
//! conflicts, cash discrepancies, messages), never a second source of truth;
//! what each user gets is their role's and their subscriptions' (per kind:
//! in the app, also as an OS notification, or off). Read state is the user's
//! own small document, so marking read on one device marks it on the others.
//! The rules are `ruta_model::notify`'s.

use serde::{Deserialize, Serialize};

use crate::chat::ChatLink;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// An order's status changed (picked up, delivered, failed, cancelled …).
    Status,
    /// An order's courier changed (assigned to me, taken off me).
    Courier,
    /// A stop's address or instructions changed on an order I carry.
    Address,
    /// A conflict opened on an order.
    Conflict,
    /// A cash hand-over came out short or over.
    Cash,
    /// A message in one of my conversations.
    Message,
    /// A message that names me (`@user`).
    Mention,
    /// A support ticket was assigned to me, or (as its requester) answered.
    Ticket,
    /// An order's planned arrival is after its delivery window.
    Late,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 9] = [
        NoticeKind::Status,
        NoticeKind::Courier,
        NoticeKind::Address,
        NoticeKind::Conflict,
        NoticeKind::Cash,
        NoticeKind::Message,
        NoticeKind::Mention,
        NoticeKind::Ticket,
        NoticeKind::Late,
    ];

    pub fn label(self) -> &'static str {
        match self {
            NoticeKind::Status => "Order status changes",
            NoticeKind::Courier => "Courier changes",
            NoticeKind::Address => "Address changes",
            NoticeKind::Conflict => "Conflicts",
            NoticeKind::Cash => "Cash discrepancies",
            NoticeKind::Message => "Messages",
            NoticeKind::Mention => "Mentions",
            NoticeKind::Ticket => "Support tickets",
            NoticeKind::Late => "Late risk",
        }
    }
}

/// How a user is told of one kind of notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// In the notification centre only.
    InApp,
    /// Also as an OS (desktop, browser) notification.
    Os,
    Off,
}

/// What a notification opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NoticeTarget {
    Order { order: String },
    Chat { link: ChatLink },
    Cash { courier: String },
    Ticket { ticket: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The same on every device (derived from the event it is about).
    pub id: String,
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
    pub at_ms: i64,
    pub read: bool,
    /// Worth interrupting for (an address change on a courier's stop, a conflict …).
    pub critical: bool,
    pub channel: Channel,
    pub target: NoticeTarget,
}

/// The notification centre: newest first, the unread count, and this user's
/// channel per kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationList {
    pub items: Vec<Notification>,
    pub unread: u32,
    pub channels: Vec<(NoticeKind, Channel)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NotificationAction {
    MarkRead {
        ids: Vec<String>,
    },
    /// Everything up to now.
    MarkAllRead,
    Subscribe {
        kind: NoticeKind,
        channel: Channel,
    },
}

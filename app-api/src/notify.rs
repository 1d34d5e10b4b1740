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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// In the notification centre only.
    #[default]
    InApp,
    /// Also as an OS (desktop, browser) notification.
    Os,
    /// In the centre; critical ones at once as an OS notification, the rest
    /// summed up in one OS notification at most every [`DIGEST_EVERY_MS`].
    Digest,
    Off,
}

/// How often, at most, a digest of non-critical notifications is announced.
pub const DIGEST_EVERY_MS: i64 = 15 * 60_000;

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Os, Channel::Digest, Channel::InApp, Channel::Off];

    pub fn label(self) -> &'static str {
        match self {
            Channel::Os => "Notify me",
            Channel::Digest => "Digest (critical at once)",
            Channel::InApp => "In the app only",
            Channel::Off => "Off",
        }
    }
}

/// What a device does with a notification it has not announced yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announce {
    /// An OS notification now.
    Now,
    /// Into the next digest.
    Digest,
    /// Nothing beyond the centre.
    No,
}

impl Notification {
    pub fn announce(&self) -> Announce {
        match self.channel {
            _ if self.read => Announce::No,
            Channel::Os => Announce::Now,
            Channel::Digest if self.critical => Announce::Now,
            Channel::Digest => Announce::Digest,
            Channel::InApp | Channel::Off => Announce::No,
        }
    }
}

/// One OS notification summing up `items` (title, body): how many, by kind.
pub fn digest(items: &[Notification]) -> Option<(String, String)> {
    if items.is_empty() {
        return None;
    }
    let mut counts = std::collections::BTreeMap::<NoticeKind, usize>::new();
    for n in items {
        *counts.entry(n.kind).or_default() += 1;
    }
    let title = match items.len() {
        1 => items[0].title.clone(),
        n => format!("{n} updates"),
    };
    let body = match items.len() {
        1 => items[0].body.clone(),
        _ => counts
            .iter()
            .map(|(k, n)| format!("{}: {n}", k.label()))
            .collect::<Vec<_>>()
            .join(" · "),
    };
    Some((title, body))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(kind: NoticeKind, channel: Channel, critical: bool) -> Notification {
        Notification {
            id: format!("{kind:?}-{critical}"),
            kind,
            title: "R-1 delivered".into(),
            body: "Aino · Bulevardi 14".into(),
            at_ms: 0,
            read: false,
            critical,
            channel,
            target: NoticeTarget::Order { order: "o".into() },
        }
    }

    #[test]
    fn a_digest_interrupts_only_for_what_is_critical() {
        assert_eq!(
            notice(NoticeKind::Status, Channel::Digest, false).announce(),
            Announce::Digest
        );
        assert_eq!(
            notice(NoticeKind::Address, Channel::Digest, true).announce(),
            Announce::Now
        );
        assert_eq!(
            notice(NoticeKind::Status, Channel::Os, false).announce(),
            Announce::Now
        );
        assert_eq!(
            notice(NoticeKind::Conflict, Channel::InApp, true).announce(),
            Announce::No
        );
        let mut read = notice(NoticeKind::Status, Channel::Os, false);
        read.read = true;
        assert_eq!(read.announce(), Announce::No, "read elsewhere already");
    }

    #[test]
    fn a_digest_counts_by_kind() {
        assert_eq!(digest(&[]), None);
        let one = [notice(NoticeKind::Status, Channel::Digest, false)];
        assert_eq!(
            digest(&one),
            Some(("R-1 delivered".into(), "Aino · Bulevardi 14".into()))
        );
        let many = [
            notice(NoticeKind::Status, Channel::Digest, false),
            notice(NoticeKind::Message, Channel::Digest, false),
            notice(NoticeKind::Status, Channel::Digest, false),
        ];
        assert_eq!(
            digest(&many),
            Some((
                "3 updates".into(),
                "Order status changes: 2 · Messages: 1".into()
            ))
        );
    }
}

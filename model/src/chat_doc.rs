//! Conversations: one Automerge document per conversation (`kind: "chat"`),
//! its rules, and who takes part — shared by every device and the server.
//!
//! # Identity
//! A conversation is its link (`app_api::chat::ChatLink`: an order, a
//! courier, a customer, a team, a ticket, or two users): the document id and
//! its first change come from the link alone ([`chat_id`], created with
//! `event_doc::create_shared`), so a courier who writes in an order's chat in
//! a basement and a dispatcher who opens it at the desk make one
//! conversation, not two.
//!
//! # Messages
//! Each event is a user's own: a message posted (text, a photo by its blob
//! hash, a location, a quoted order), an edit or a deletion of one of their
//! own messages (new events: the history stays, the message shows as edited
//! or deleted), and receipts — "delivered up to" and "read up to" a stamp.
//! Messages are ordered by capture stamp, the same for everyone; a message
//! is never lost or doubled because it *is* its stamp. Who takes part is
//! decided by the link ([`facts_of`], `access::DocFacts::Chat`): the server
//! shares the document only with them, and [`check_write`] refuses an edit
//! of someone else's message.

use std::collections::BTreeMap;

use app_api::chat::{ChatLink, Team};
use automerge::ReadDoc;
use ruta_domain::hlc::Hlc;
use ruta_domain::{Actor, DeviceId, Role, UserId};
use serde::{Deserialize, Serialize};

use crate::Principal;
use crate::access::DocFacts;
use crate::event_doc::{self, AppendRefusal, EventDoc, EventDocError, LedgerEvent, Shape};

/// The document's `schema` field.
pub const CHAT_SCHEMA: i64 = 1;
/// The `kind` of a conversation document (in the document and in a user's index).
pub const INDEX_KIND: &str = "chat";
pub const SHAPE: Shape = Shape {
    kind: INDEX_KIND,
    schema: CHAT_SCHEMA,
    fixed: &["link"],
};
/// Longest message text, in characters.
pub const MAX_TEXT: usize = 4000;

pub type ChatDoc = EventDoc<ChatEvent>;

/// A link as one line of text (the document's `link` field): `order:<id>`,
/// `driver:<user>`, `customer:<user>`, `team:couriers`, `team:staff`,
/// `ticket:<id>`, `direct:<a> <b>` with the two users sorted.
pub fn link_key(link: &ChatLink) -> String {
    match link {
        ChatLink::Order { order } => format!("order:{order}"),
        ChatLink::Driver { courier } => format!("driver:{courier}"),
        ChatLink::Customer { client } => format!("customer:{client}"),
        ChatLink::Team {
            team: Team::Couriers,
        } => "team:couriers".into(),
        ChatLink::Team { team: Team::Staff } => "team:staff".into(),
        ChatLink::Zone { zone } => format!("zone:{zone}"),
        ChatLink::Ticket { ticket } => format!("ticket:{ticket}"),
        ChatLink::Direct { a, b } => {
            let (x, y) = if a <= b { (a, b) } else { (b, a) };
            format!("direct:{x} {y}")
        }
    }
}

/// The link a `link` field names (None when it names none).
pub fn parse_link(key: &str) -> Option<ChatLink> {
    let (kind, rest) = key.split_once(':')?;
    let id = |s: &str| (!s.is_empty() && s.len() <= 64 && !s.contains(' ')).then(|| s.to_owned());
    let link = match kind {
        "order" => ChatLink::Order { order: id(rest)? },
        "driver" => ChatLink::Driver { courier: id(rest)? },
        "customer" => ChatLink::Customer { client: id(rest)? },
        "ticket" => ChatLink::Ticket { ticket: id(rest)? },
        "zone" => ChatLink::Zone { zone: id(rest)? },
        "team" if rest == "couriers" => ChatLink::Team {
            team: Team::Couriers,
        },
        "team" if rest == "staff" => ChatLink::Team { team: Team::Staff },
        "direct" => {
            let (a, b) = rest.split_once(' ')?;
            let (a, b) = (id(a)?, id(b)?);
            if a >= b {
                return None;
            }
            ChatLink::Direct { a, b }
        }
        _ => return None,
    };
    (link_key(&link) == key).then_some(link)
}

/// The document id (a UUID) of the conversation about `link`.
pub fn chat_id(link: &ChatLink) -> String {
    crate::ids::derived_uuid(&format!("ruta-chat:{}", link_key(link)))
}

/// A new conversation document as every device makes it (the same first change).
pub fn create(link: &ChatLink, device: &DeviceId) -> Result<ChatDoc, EventDocError> {
    let key = link_key(link);
    EventDoc::create_shared(SHAPE, &key, device, &[("link", &key)])
}

pub fn load(bytes: &[u8], device: &DeviceId) -> Result<ChatDoc, EventDocError> {
    EventDoc::load(SHAPE, bytes, device)
}

pub fn is_chat_doc(doc: &impl ReadDoc) -> bool {
    event_doc::is_kind(doc, INDEX_KIND)
}

/// The link a stored conversation is about.
pub fn link_of(doc: &impl ReadDoc) -> Option<ChatLink> {
    parse_link(&event_doc::root_str(doc, "link")?)
}

/// Who takes part in the conversation about `link`: `order` is the linked
/// document's own facts when the server (or device) knows it (an order's, a
/// ticket's: its requester takes part), `clients_in_order_chat`
/// the tenant's setting. An order's courier takes part only while assigned.
pub fn facts_of(
    link: &ChatLink,
    order: Option<&DocFacts>,
    clients_in_order_chat: bool,
) -> DocFacts {
    let user = |u: &str| vec![UserId::new(u)];
    let (members, staff, couriers) = match link {
        ChatLink::Order { .. } => {
            let mut members = Vec::new();
            if let Some(DocFacts::Order {
                client, assignee, ..
            }) = order
            {
                members.extend(assignee.clone());
                if clients_in_order_chat {
                    members.extend(client.clone());
                }
            }
            (members, true, false)
        }
        ChatLink::Driver { courier } => (user(courier), true, false),
        ChatLink::Customer { client } => (user(client), true, false),
        ChatLink::Ticket { .. } => match order {
            Some(DocFacts::Ticket { requester: Some(r) }) => (vec![r.clone()], true, false),
            _ => (Vec::new(), true, false),
        },
        ChatLink::Team {
            team: Team::Couriers,
        } => (Vec::new(), true, true),
        ChatLink::Team { team: Team::Staff } => (Vec::new(), true, false),
        // Its couriers come from the tenant's courier profiles: `zone_facts`.
        ChatLink::Zone { .. } => (Vec::new(), true, false),
        ChatLink::Direct { a, b } => (vec![UserId::new(a), UserId::new(b)], false, false),
    };
    DocFacts::Chat {
        members,
        staff,
        couriers,
    }
}

/// The couriers who work `zone` by the tenant's courier profiles (those
/// without home zones work every zone), sorted.
pub fn zone_couriers(profiles: &[app_api::config::CourierProfile], zone: &str) -> Vec<UserId> {
    let mut out: Vec<UserId> = profiles
        .iter()
        .filter(|p| p.home_zones.is_empty() || p.home_zones.iter().any(|z| z == zone))
        .map(|p| UserId::new(&p.user))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Who takes part in a zone's team chat: operators and `couriers`.
pub fn zone_facts(couriers: Vec<UserId>) -> DocFacts {
    DocFacts::Chat {
        members: couriers,
        staff: true,
        couriers: false,
    }
}

/// What one event says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatChange {
    Posted {
        #[serde(default)]
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        photo: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<(f64, f64)>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order: Option<String>,
    },
    /// The author's new text for their message (its id).
    Edited { message: String, text: String },
    /// The author withdrew their message.
    Deleted { message: String },
    /// This participant's device holds every message up to this stamp.
    Delivered { up_to: Hlc },
    /// This participant has read every message up to this stamp.
    Read { up_to: Hlc },
}

impl ChatChange {
    pub fn name(&self) -> &'static str {
        match self {
            ChatChange::Posted { .. } => "posted",
            ChatChange::Edited { .. } => "edited",
            ChatChange::Deleted { .. } => "deleted",
            ChatChange::Delivered { .. } => "delivered",
            ChatChange::Read { .. } => "read",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatEvent {
    pub at: Hlc,
    pub actor: Actor,
    #[serde(flatten)]
    pub change: ChatChange,
}

impl ChatEvent {
    pub fn id(&self) -> String {
        self.at.to_string()
    }
}

impl LedgerEvent for ChatEvent {
    fn at(&self) -> &Hlc {
        &self.at
    }
    fn actor(&self) -> &Actor {
        &self.actor
    }
}

pub use crate::event_doc::Invalid;
use crate::event_doc::invalid;

fn message_id(field: &str, id: &str) -> Result<(), Invalid> {
    if id.parse::<Hlc>().is_err() {
        return Err(invalid(field, "not a message id"));
    }
    Ok(())
}

fn body_text(field: &str, t: &str) -> Result<(), Invalid> {
    if t.chars().count() > MAX_TEXT {
        return Err(invalid(field, format!("at most {MAX_TEXT} characters")));
    }
    Ok(())
}

/// The checks of one change that need no history.
pub fn validate(change: &ChatChange) -> Result<(), Invalid> {
    match change {
        ChatChange::Posted {
            text,
            photo,
            location,
            order,
        } => {
            body_text("text", text)?;
            if text.trim().is_empty() && photo.is_none() && location.is_none() && order.is_none() {
                return Err(invalid(
                    "text",
                    "a message needs text, a photo, a location or an order",
                ));
            }
            if let Some(p) = photo
                && (p.len() != 64 || !p.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return Err(invalid("photo", "not a blob hash (64 hex digits)"));
            }
            if let Some((lat, lon)) = location
                && !(lat.is_finite()
                    && lon.is_finite()
                    && (-90.0..=90.0).contains(lat)
                    && (-180.0..=180.0).contains(lon))
            {
                return Err(invalid("location", "not a latitude and longitude"));
            }
            if let Some(o) = order
                && (o.is_empty() || o.len() > 64)
            {
                return Err(invalid("order", "not an order id"));
            }
            Ok(())
        }
        ChatChange::Edited { message, text } => {
            message_id("message", message)?;
            body_text("text", text)?;
            if text.trim().is_empty() {
                return Err(invalid("text", "is required (delete the message instead)"));
            }
            Ok(())
        }
        ChatChange::Deleted { message } => message_id("message", message),
        ChatChange::Delivered { .. } | ChatChange::Read { .. } => Ok(()),
    }
}

/// Replies a courier, an operator or a client sends with one tap, for what
/// the conversation is about: a support ticket's are the desk's and the
/// requester's, the rest are about the delivery at hand.
pub fn quick_replies(role: Role, link: &ChatLink) -> &'static [&'static str] {
    match (role, link) {
        (Role::Dispatcher | Role::Admin, ChatLink::Ticket { .. }) => {
            return &[
                "Thanks for telling us — we are looking into it",
                "Could you send a photo?",
                "Sorted — tell us if anything is still wrong",
            ];
        }
        (_, ChatLink::Ticket { .. }) => {
            return &["Thank you", "Here is a photo", "It is still not solved"];
        }
        _ => {}
    }
    match role {
        Role::Courier => &[
            "Arriving in 5 min",
            "Customer not home",
            "Address not found — please call",
            "Running late",
            "Delivered",
        ],
        Role::Dispatcher | Role::Admin => &[
            "Thanks!",
            "Please call the customer",
            "Leave it at the door",
            "Bring it back to the hub",
            "On it",
        ],
        Role::Client => &["Thank you", "Please call me", "Leave it at the door"],
    }
}

/// One message as its events make it.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: String,
    pub at: Hlc,
    pub author: Actor,
    /// The latest text (empty once deleted).
    pub text: String,
    pub photo: Option<String>,
    pub location: Option<(f64, f64)>,
    pub order: Option<String>,
    /// Earlier texts, oldest first, with when they were replaced.
    pub history: Vec<(Hlc, String)>,
    pub deleted: bool,
}

impl Message {
    pub fn edited(&self) -> bool {
        !self.history.is_empty()
    }
}

/// A conversation as its events make it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChatState {
    /// In capture order.
    pub messages: Vec<Message>,
    /// Per participant, the latest "delivered up to" stamp.
    pub delivered: BTreeMap<UserId, Hlc>,
    /// Per participant, the latest "read up to" stamp.
    pub read: BTreeMap<UserId, Hlc>,
    /// Events a rule set aside: id, why.
    pub ignored: Vec<(String, String)>,
}

impl ChatState {
    /// Messages by others that `user` has not read (deleted ones do not count).
    pub fn unread_for(&self, user: &UserId) -> usize {
        let read = self.read.get(user);
        self.messages
            .iter()
            .filter(|m| m.author.user != *user && !m.deleted)
            .filter(|m| read.is_none_or(|r| m.at > *r))
            .count()
    }

    /// The latest message by someone other than `user`.
    pub fn latest_from_others(&self, user: &UserId) -> Option<Hlc> {
        self.messages
            .iter()
            .filter(|m| m.author.user != *user)
            .map(|m| m.at)
            .max()
    }

    /// Who (besides its author) has `m` on a device, and who has read it;
    /// reading implies having it.
    pub fn receipts(&self, m: &Message) -> (Vec<UserId>, Vec<UserId>) {
        let read: Vec<UserId> = self
            .read
            .iter()
            .filter(|(u, at)| **u != m.author.user && **at >= m.at)
            .map(|(u, _)| u.clone())
            .collect();
        let mut delivered: Vec<UserId> = self
            .delivered
            .iter()
            .filter(|(u, at)| **u != m.author.user && **at >= m.at)
            .map(|(u, _)| u.clone())
            .collect();
        for u in &read {
            if !delivered.contains(u) {
                delivered.push(u.clone());
            }
        }
        delivered.sort();
        (delivered, read)
    }
}

/// Folds the events in stamp order: the same state on every device that has
/// seen them. An edit or deletion of a message that is not the editor's own
/// (or not there) is set aside; a later edit's text wins.
/// The photos a conversation's messages show (a deleted message's no longer).
/// Each with the user who sent it: the server shows a photo through a
/// conversation only when its sender is the one who uploaded it (naming a
/// hash one has learned elsewhere shares nothing).
pub fn photos(st: &ChatState) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = st
        .messages
        .iter()
        .filter(|m| !m.deleted)
        .filter_map(|m| Some((m.photo.clone()?, m.author.user.as_str().to_owned())))
        .collect();
    out.sort();
    out.dedup();
    out
}

pub fn derive(events: &[ChatEvent]) -> ChatState {
    let mut sorted: Vec<&ChatEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.at);
    let mut st = ChatState::default();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for e in sorted {
        let id = e.at.to_string();
        match &e.change {
            ChatChange::Posted {
                text,
                photo,
                location,
                order,
            } => {
                index.insert(id.clone(), st.messages.len());
                st.messages.push(Message {
                    id,
                    at: e.at,
                    author: e.actor.clone(),
                    text: text.clone(),
                    photo: photo.clone(),
                    location: *location,
                    order: order.clone(),
                    history: Vec::new(),
                    deleted: false,
                });
            }
            ChatChange::Edited { message, .. } | ChatChange::Deleted { message }
                if !own_message(&st, &index, message, &e.actor.user) =>
            {
                st.ignored
                    .push((id, format!("message {message} is not this user's")));
            }
            ChatChange::Edited { message, text } => {
                let m = &mut st.messages[index[message]];
                if m.deleted {
                    st.ignored.push((id, "the message was deleted".into()));
                    continue;
                }
                let old = std::mem::replace(&mut m.text, text.clone());
                m.history.push((e.at, old));
            }
            ChatChange::Deleted { message } => {
                let m = &mut st.messages[index[message]];
                if !m.deleted {
                    let old = std::mem::take(&mut m.text);
                    m.history.push((e.at, old));
                    m.deleted = true;
                }
            }
            ChatChange::Delivered { up_to } => {
                let slot = st.delivered.entry(e.actor.user.clone()).or_insert(*up_to);
                *slot = (*slot).max(*up_to);
            }
            ChatChange::Read { up_to } => {
                let slot = st.read.entry(e.actor.user.clone()).or_insert(*up_to);
                *slot = (*slot).max(*up_to);
            }
        }
    }
    st
}

fn own_message(
    st: &ChatState,
    index: &BTreeMap<String, usize>,
    message: &str,
    user: &UserId,
) -> bool {
    index
        .get(message)
        .is_some_and(|i| st.messages[*i].author.user == *user)
}

/// Why the server refuses a write to a conversation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChatRefusal {
    #[error(transparent)]
    Append(#[from] AppendRefusal),
    #[error("not the conversation its id names: {0}")]
    WrongChat(String),
    #[error("event {key}: {problem}")]
    Bad { key: String, problem: String },
    #[error("event {key}: {user} may not {change} message {message}: it is not theirs")]
    NotTheirs {
        key: String,
        user: String,
        change: String,
        message: String,
    },
}

/// The server's judgment of a participant's write (the share policy has
/// already decided that they take part): append-only, each event the
/// connected user's own, valid, an edit or deletion only of their own
/// message, and a root whose link makes the document's id.
pub fn check_write(
    doc: &samod_core::DocumentId,
    before: &impl ReadDoc,
    after: &impl ReadDoc,
    who: &Principal,
) -> Result<Vec<ChatEvent>, ChatRefusal> {
    let (added, _) = event_doc::check_append::<ChatEvent>(before, after, SHAPE, who)?;
    let link = link_of(after).ok_or_else(|| ChatRefusal::WrongChat("no valid link".into()))?;
    if crate::ids::doc_id_of_uuid(&chat_id(&link)).as_ref() != Some(doc) {
        return Err(ChatRefusal::WrongChat(link_key(&link)));
    }
    let all: Vec<ChatEvent> = event_doc::events_in(after, SHAPE);
    for event in &added {
        validate(&event.change).map_err(|e| ChatRefusal::Bad {
            key: event.id(),
            problem: e.to_string(),
        })?;
        if let ChatChange::Edited { message, .. } | ChatChange::Deleted { message } = &event.change
        {
            let theirs = all.iter().any(|m| {
                m.id() == *message
                    && matches!(m.change, ChatChange::Posted { .. })
                    && m.actor.user == who.user
            });
            if !theirs {
                return Err(ChatRefusal::NotTheirs {
                    key: event.id(),
                    user: who.user.to_string(),
                    change: event.change.name().into(),
                    message: message.clone(),
                });
            }
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests;

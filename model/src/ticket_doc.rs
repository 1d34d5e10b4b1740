//! Support tickets: one Automerge document per ticket (`kind: "ticket"`), its
//! rules and who sees it — shared by every device and the server.
//!
//! # Identity
//! A ticket is a UUID (its document id, `ids::doc_id_of_uuid`); its reference
//! (`T-` and eight letters of the id) needs no counter, so a client's phone
//! opens a ticket offline and the reference it shows is the one the desk sees.
//! The root's `requester` (`user:<id>` or `guest`) is written once at
//! creation and decides who besides the operators sees it
//! (`access::DocFacts::Ticket`).
//!
//! # Events
//! `Opened` (the first and only one: subject, the requester's message,
//! category, priority, requester, linked order) and then operators'
//! changes: assignee, status, priority, category, linked order. A requester
//! may close their ticket or reopen a solved one ([`permitted`], the same rule
//! in [`derive`] and [`check_write`]). A storefront requester's answers
//! (`GuestReplied`) are written by the server alone, from the reply link.
//! The conversation itself is the ticket's chat (`ChatLink::Ticket`).

use app_api::Priority;
use app_api::tickets::{Requester, TicketCategory, TicketStatus, TimerState};
use automerge::ReadDoc;
use ruta_domain::hlc::Hlc;
use ruta_domain::{Actor, DeviceId, Role, UserId};
use serde::{Deserialize, Serialize};

use crate::Principal;
use crate::access::DocFacts;
use crate::event_doc::{self, AppendRefusal, EventDoc, EventDocError, LedgerEvent, Shape};

pub const TICKET_SCHEMA: i64 = 1;
/// The `kind` of a ticket document (in the document and in a user's index).
pub const INDEX_KIND: &str = "ticket";
pub const SHAPE: Shape = Shape {
    kind: INDEX_KIND,
    schema: TICKET_SCHEMA,
    fixed: &["requester"],
};
pub const MAX_SUBJECT: usize = 200;
pub const MAX_MESSAGE: usize = 8000;
pub const MAX_NAME: usize = 120;
pub const MAX_EMAIL: usize = 254;
/// The user id a storefront requester's events are written under (by the server).
pub const STOREFRONT_USER: &str = "storefront";

pub type TicketDoc = EventDoc<TicketEvent>;

/// The ticket's reference: `T-` and the first eight hex digits of its id, upper-cased.
pub fn reference_of(ticket: &str) -> String {
    let hex: String = ticket
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(8)
        .collect();
    format!("T-{}", hex.to_uppercase())
}

/// Hex digits of a reply link's secret.
const REPLY_MAC_HEX: usize = 32;

/// A storefront requester's reply secret for `ticket`: whoever holds it reads
/// and answers that ticket through the reply link; without the tenant's key
/// it cannot be made for another.
pub fn reply_token(secret: &[u8], ticket: &str) -> String {
    let m = ruta_domain::codes::hmac_sha256(secret, &[b"ruta-ticket-reply\0", ticket.as_bytes()]);
    m.iter().map(|b| format!("{b:02x}")).collect::<String>()[..REPLY_MAC_HEX].to_owned()
}

/// Whether `token` is `ticket`'s reply secret (compared in constant time).
pub fn reply_token_ok(secret: &[u8], ticket: &str, token: &str) -> bool {
    let want = reply_token(secret, ticket);
    token.len() == want.len()
        && want
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b.to_ascii_lowercase()))
            == 0
}

fn requester_key(r: &Requester) -> String {
    match r {
        Requester::User { user } => format!("user:{user}"),
        Requester::Guest { .. } => "guest".into(),
    }
}

/// A new ticket document (its root names who asked).
pub fn create(requester: &Requester, device: &DeviceId) -> Result<TicketDoc, EventDocError> {
    EventDoc::create(SHAPE, device, &[("requester", &requester_key(requester))])
}

pub fn load(bytes: &[u8], device: &DeviceId) -> Result<TicketDoc, EventDocError> {
    EventDoc::load(SHAPE, bytes, device)
}

pub fn is_ticket_doc(doc: &impl ReadDoc) -> bool {
    event_doc::is_kind(doc, INDEX_KIND)
}

/// Who sees a stored ticket besides operators (None: not a ticket's root).
pub fn facts_of(doc: &impl ReadDoc) -> Option<DocFacts> {
    let key = event_doc::root_str(doc, "requester")?;
    let requester = match key.strip_prefix("user:") {
        Some(u) if crate::ids::valid_user_id(u) => Some(UserId::new(u)),
        Some(_) => return None,
        None if key == "guest" => None,
        None => return None,
    };
    Some(DocFacts::Ticket { requester })
}

/// What one event says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TicketChange {
    Opened {
        subject: String,
        message: String,
        category: TicketCategory,
        priority: Priority,
        requester: Requester,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order: Option<String>,
    },
    Assigned {
        to: Option<UserId>,
    },
    StatusSet {
        status: TicketStatus,
    },
    PrioritySet {
        priority: Priority,
    },
    CategorySet {
        category: TicketCategory,
    },
    OrderLinked {
        order: Option<String>,
    },
    /// A storefront requester's answer (written by the server from the reply link).
    GuestReplied {
        text: String,
    },
}

impl TicketChange {
    pub fn name(&self) -> &'static str {
        match self {
            TicketChange::Opened { .. } => "opened",
            TicketChange::Assigned { .. } => "assigned",
            TicketChange::StatusSet { .. } => "status_set",
            TicketChange::PrioritySet { .. } => "priority_set",
            TicketChange::CategorySet { .. } => "category_set",
            TicketChange::OrderLinked { .. } => "order_linked",
            TicketChange::GuestReplied { .. } => "guest_replied",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketEvent {
    pub at: Hlc,
    pub actor: Actor,
    #[serde(flatten)]
    pub change: TicketChange,
}

impl LedgerEvent for TicketEvent {
    fn at(&self) -> &Hlc {
        &self.at
    }
    fn actor(&self) -> &Actor {
        &self.actor
    }
}

pub use crate::event_doc::Invalid;
use crate::event_doc::invalid;

fn text(field: &str, t: &str, max: usize, required: bool) -> Result<(), Invalid> {
    if required && t.trim().is_empty() {
        return Err(invalid(field, "is required"));
    }
    if t.chars().count() > max {
        return Err(invalid(field, format!("at most {max} characters")));
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(())
}

fn order_id(field: &str, o: &Option<String>) -> Result<(), Invalid> {
    if let Some(o) = o
        && (o.is_empty() || o.len() > 64 || o.contains(char::is_whitespace))
    {
        return Err(invalid(field, "not an order id"));
    }
    Ok(())
}

/// Whether `email` looks like an address (something@domain.tld, no spaces).
pub fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
        && !domain.contains('@')
        && email.len() <= MAX_EMAIL
}

/// The checks of one change that need no history.
pub fn validate(change: &TicketChange) -> Result<(), Invalid> {
    match change {
        TicketChange::Opened {
            subject,
            message,
            requester,
            order,
            ..
        } => {
            text("subject", subject, MAX_SUBJECT, true)?;
            text("message", message, MAX_MESSAGE, true)?;
            order_id("order", order)?;
            match requester {
                Requester::User { user } if !crate::ids::valid_user_id(user) => {
                    Err(invalid("requester", "not a user id"))
                }
                Requester::Guest { name, email } => {
                    text("name", name, MAX_NAME, true)?;
                    if !plausible_email(email) {
                        return Err(invalid("email", "not an e-mail address"));
                    }
                    Ok(())
                }
                Requester::User { .. } => Ok(()),
            }
        }
        TicketChange::OrderLinked { order } => order_id("order", order),
        TicketChange::GuestReplied { text: t } => text("message", t, MAX_MESSAGE, true),
        TicketChange::Assigned { to } => match to {
            Some(u) if !crate::ids::valid_user_id(u.as_str()) => {
                Err(invalid("to", "not a user id"))
            }
            _ => Ok(()),
        },
        TicketChange::StatusSet { .. }
        | TicketChange::PrioritySet { .. }
        | TicketChange::CategorySet { .. } => Ok(()),
    }
}

/// A ticket as its events make it.
#[derive(Clone, Debug, PartialEq)]
pub struct TicketState {
    pub opened_at: Hlc,
    pub opened_by: Actor,
    pub subject: String,
    pub message: String,
    pub category: TicketCategory,
    pub priority: Priority,
    pub requester: Requester,
    pub order: Option<String>,
    pub status: TicketStatus,
    pub assignee: Option<UserId>,
    /// When it last became solved or closed, while it is (None when open or pending).
    pub resolved_at: Option<Hlc>,
    /// The latest change of any kind.
    pub updated_at: Hlc,
    /// Every accepted change after opening: (when, who, which change).
    pub history: Vec<(Hlc, Actor, TicketChange)>,
    /// A storefront requester's answers, in order.
    pub guest_replies: Vec<(Hlc, String)>,
    /// Events a rule set aside: id, why.
    pub ignored: Vec<(String, String)>,
}

impl TicketState {
    pub fn requester_user(&self) -> Option<&str> {
        match &self.requester {
            Requester::User { user } => Some(user),
            Requester::Guest { .. } => None,
        }
    }
}

/// Whether `actor` may make `change` on a ticket standing as `state` (None:
/// not opened yet). Operators do anything but open twice or speak for a
/// guest; the requester closes their ticket or reopens a solved one.
pub fn permitted(
    state: Option<&TicketState>,
    actor: &Actor,
    change: &TicketChange,
) -> Result<(), String> {
    let operator = actor.role.is_operator();
    match (state, change) {
        (None, TicketChange::Opened { .. }) if actor.role == Role::Courier => {
            Err("couriers reach the desk through chat, not tickets".into())
        }
        (None, TicketChange::Opened { requester, .. }) => match requester {
            Requester::User { user } if operator || actor.user.as_str() == user => Ok(()),
            Requester::User { .. } => Err("a client opens tickets only for themselves".into()),
            Requester::Guest { .. } if actor.user.as_str() == STOREFRONT_USER => Ok(()),
            Requester::Guest { .. } => {
                Err("only the storefront intake opens a guest's ticket".into())
            }
        },
        (None, _) => Err("the ticket is not opened yet".into()),
        (Some(_), TicketChange::Opened { .. }) => Err("the ticket is already open".into()),
        (Some(_), TicketChange::GuestReplied { .. }) => {
            if actor.user.as_str() == STOREFRONT_USER {
                Ok(())
            } else {
                Err("only the reply link answers for a guest".into())
            }
        }
        (Some(_), _) if operator => Ok(()),
        (Some(st), TicketChange::StatusSet { status })
            if st.requester_user() == Some(actor.user.as_str()) =>
        {
            match (st.status, status) {
                (s, TicketStatus::Closed) if s != TicketStatus::Closed => Ok(()),
                (TicketStatus::Solved, TicketStatus::Open) => Ok(()),
                _ => Err(format!(
                    "a requester may close their ticket or reopen a solved one, not set it {} when {}",
                    status.label().to_lowercase(),
                    st.status.label().to_lowercase()
                )),
            }
        }
        (Some(_), c) => Err(format!("only operators may make a {} change", c.name())),
    }
}

/// Folds the events in stamp order: the same state on every device that has
/// seen them. None until the ticket's opening is there.
pub fn derive(events: &[TicketEvent]) -> Option<TicketState> {
    let mut sorted: Vec<&TicketEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.at);
    let mut st: Option<TicketState> = None;
    let mut ignored = Vec::new();
    for e in sorted {
        if let Err(why) = validate(&e.change)
            .map_err(|e| e.to_string())
            .and_then(|()| permitted(st.as_ref(), &e.actor, &e.change))
        {
            ignored.push((e.at.to_string(), why));
            continue;
        }
        match (&mut st, &e.change) {
            (
                None,
                TicketChange::Opened {
                    subject,
                    message,
                    category,
                    priority,
                    requester,
                    order,
                },
            ) => {
                st = Some(TicketState {
                    opened_at: e.at,
                    opened_by: e.actor.clone(),
                    subject: subject.clone(),
                    message: message.clone(),
                    category: *category,
                    priority: *priority,
                    requester: requester.clone(),
                    order: order.clone(),
                    status: TicketStatus::Open,
                    assignee: None,
                    resolved_at: None,
                    updated_at: e.at,
                    history: Vec::new(),
                    guest_replies: Vec::new(),
                    ignored: Vec::new(),
                });
            }
            (Some(s), change) => {
                match change {
                    TicketChange::Assigned { to } => s.assignee = to.clone(),
                    TicketChange::StatusSet { status } => {
                        let done = |x: TicketStatus| {
                            matches!(x, TicketStatus::Solved | TicketStatus::Closed)
                        };
                        if done(*status) && !done(s.status) {
                            s.resolved_at = Some(e.at);
                        } else if !done(*status) {
                            s.resolved_at = None;
                        }
                        s.status = *status;
                    }
                    TicketChange::PrioritySet { priority } => s.priority = *priority,
                    TicketChange::CategorySet { category } => s.category = *category,
                    TicketChange::OrderLinked { order } => s.order = order.clone(),
                    TicketChange::GuestReplied { text } => {
                        s.guest_replies.push((e.at, text.clone()));
                        // A guest's answer puts a waiting ticket back on the desk.
                        if s.status == TicketStatus::Pending || s.status == TicketStatus::Solved {
                            s.status = TicketStatus::Open;
                            s.resolved_at = None;
                        }
                    }
                    TicketChange::Opened { .. } => unreachable!("refused by permitted"),
                }
                s.updated_at = e.at;
                s.history.push((e.at, e.actor.clone(), change.clone()));
            }
            (None, _) => unreachable!("refused by permitted"),
        }
    }
    if let Some(s) = &mut st {
        s.ignored = ignored;
    }
    st
}

/// A timer against its target: started at `start_ms`, met at `met_ms` (if),
/// `target_ms` long, read at `now_ms`.
pub fn timer(start_ms: i64, met_ms: Option<i64>, target_ms: i64, now_ms: i64) -> TimerState {
    match met_ms {
        Some(m) if m - start_ms <= target_ms => TimerState::Met {
            after_ms: m - start_ms,
        },
        Some(m) => TimerState::MetLate {
            after_ms: m - start_ms,
        },
        None if now_ms - start_ms <= target_ms => TimerState::Running {
            left_ms: target_ms - (now_ms - start_ms),
        },
        None => TimerState::Breached {
            over_ms: now_ms - start_ms - target_ms,
        },
    }
}

/// Why the server refuses a write to a ticket.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TicketRefusal {
    #[error(transparent)]
    Append(#[from] AppendRefusal),
    #[error("event {key}: {problem}")]
    Bad { key: String, problem: String },
    #[error("event {key}: {problem}")]
    NotPermitted { key: String, problem: String },
    #[error("the ticket's root names {root} but its opening names another requester")]
    WrongRequester { root: String },
    #[error("event {key}: order {order} is not this client's")]
    NotTheirOrder { key: String, order: String },
}

/// Whether `actor` may ever make `change` on a ticket `requester` asked
/// (whatever the ticket's state): the part of [`permitted`] the server
/// judges. What depends on the state (a requester reopening only a solved
/// ticket) is [`derive`]'s: two devices writing apart may each be right
/// about the state they saw, and neither write is lost.
pub fn permitted_ever(
    requester: Option<&UserId>,
    actor: &Actor,
    change: &TicketChange,
) -> Result<(), String> {
    match change {
        TicketChange::Opened { .. } => Err("the ticket is already open".into()),
        TicketChange::GuestReplied { .. } => Err("only the reply link answers for a guest".into()),
        _ if actor.role.is_operator() => Ok(()),
        TicketChange::StatusSet {
            status: TicketStatus::Closed | TicketStatus::Open,
        } if requester == Some(&actor.user) => Ok(()),
        TicketChange::StatusSet { .. } if requester == Some(&actor.user) => {
            Err("a requester may only close or reopen their ticket".into())
        }
        c => Err(format!("only operators may make a {} change", c.name())),
    }
}

/// The server's judgment of a device's write (the share policy has already
/// decided that the writer sees the ticket): append-only, each event the
/// connected user's own, valid and [`permitted_ever`]; a new ticket has its
/// opening (and only one) in its first write, with the root naming the
/// requester the opening names; a client links only an order of theirs
/// (`their_order`).
pub fn check_write(
    before: &impl ReadDoc,
    after: &impl ReadDoc,
    who: &Principal,
    their_order: &dyn Fn(&str) -> bool,
) -> Result<Vec<TicketEvent>, TicketRefusal> {
    let (added, new_doc) = event_doc::check_append::<TicketEvent>(before, after, SHAPE, who)?;
    let root = event_doc::root_str(after, "requester").unwrap_or_default();
    let requester = root.strip_prefix("user:").map(UserId::new);
    let openings = added
        .iter()
        .filter(|e| matches!(e.change, TicketChange::Opened { .. }))
        .count();
    if new_doc && openings != 1 {
        return Err(TicketRefusal::NotPermitted {
            key: "events".into(),
            problem: "a new ticket is written with its opening, once".into(),
        });
    }
    for event in &added {
        let key = event.at.to_string();
        validate(&event.change).map_err(|e| TicketRefusal::Bad {
            key: key.clone(),
            problem: e.to_string(),
        })?;
        let not = |problem: String| TicketRefusal::NotPermitted {
            key: key.clone(),
            problem,
        };
        match &event.change {
            TicketChange::Opened {
                requester: r,
                order,
                ..
            } if new_doc => {
                if matches!(r, Requester::Guest { .. }) {
                    return Err(not(
                        "only the storefront intake opens a guest's ticket".into()
                    ));
                }
                permitted(None, &event.actor, &event.change).map_err(not)?;
                if root != requester_key(r) {
                    return Err(TicketRefusal::WrongRequester { root });
                }
                if who.role == Role::Client
                    && let Some(o) = order
                    && !their_order(o)
                {
                    return Err(TicketRefusal::NotTheirOrder {
                        key,
                        order: o.clone(),
                    });
                }
            }
            change => permitted_ever(requester.as_ref(), &event.actor, change).map_err(not)?,
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests;

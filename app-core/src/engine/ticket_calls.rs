//! Support tickets on a device ([`ruta_model::ticket_doc`]): `ListTickets`,
//! `OpenTicket`, `NewTicket`, `TicketAct`, and the sync doors
//! (`merge_ticket`, `ticket_document`, `ticket_synced`, `pending_tickets`).
//!
//! A client opens and follows their own tickets (offline too: the ticket is
//! theirs at once, pending until the server has it); operators see and work
//! every ticket. A ticket's conversation is its chat (`ChatLink::Ticket`):
//! the first operator message there stops the first-response timer. A
//! storefront guest's answers arrive in the ticket itself and show in the
//! conversation among the chat's messages.

use app_api::chat::{ChatLink, ChatMessage};
use app_api::tickets::{
    NewTicket, Requester, TicketAction, TicketCategory, TicketEntry, TicketList, TicketQuery,
    TicketStatus, TicketSummary, TicketView,
};
use app_api::{ApiError, Priority};
use ruta_model::policy::Call;
use ruta_model::ticket_doc::{self, TicketChange, TicketDoc, TicketEvent, TicketState};
use serde::{Deserialize, Serialize};

use super::*;
use crate::store::{TicketFilter, TicketRow};

/// Tickets a list shows at most.
const LIST_LIMIT: u32 = 500;

fn doc_error(e: ruta_model::event_doc::EventDocError) -> ApiError {
    ApiError::Malformed {
        message: format!("ticket document: {e}"),
    }
}

fn load_ticket(
    saved: Option<crate::store::SavedDoc>,
    device: &crate::domain::DeviceId,
) -> Result<Option<TicketDoc>, ApiError> {
    super::ledgers::load_event_doc(ticket_doc::SHAPE, saved, device)
}

fn priority_rank(p: Priority) -> i64 {
    match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Urgent => 3,
    }
}

/// What a row keeps besides the columns the desk filters on.
#[derive(Serialize, Deserialize)]
struct Body {
    subject: String,
    priority: Priority,
    category: TicketCategory,
    status: TicketStatus,
    requester: Requester,
    order: Option<String>,
    resolved_ms: Option<i64>,
}

fn snake<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn requester_name(r: &Requester, name: impl Fn(&str) -> String) -> String {
    match r {
        Requester::User { user } => name(user),
        Requester::Guest { name, email } => format!("{name} <{email}>"),
    }
}

fn row_of(id: &str, st: &TicketState) -> TicketRow {
    let body = Body {
        subject: st.subject.clone(),
        priority: st.priority,
        category: st.category,
        status: st.status,
        requester: st.requester.clone(),
        order: st.order.clone(),
        resolved_ms: st.resolved_at.map(|h| h.wall_ms),
    };
    let who = match &st.requester {
        Requester::User { user } => user.clone(),
        Requester::Guest { name, email } => format!("{name} {email}"),
    };
    TicketRow {
        id: id.to_owned(),
        status: snake(&st.status),
        assignee: st.assignee.as_ref().map(|u| u.to_string()),
        category: snake(&st.category),
        priority: priority_rank(st.priority),
        opened_ms: st.opened_at.wall_ms,
        updated_ms: st.updated_at.wall_ms,
        search: format!("{} {} {}", ticket_doc::reference_of(id), st.subject, who).to_lowercase(),
        body: serde_json::to_string(&body).expect("plain data"),
        first_answer_ms: None,
        pending: false,
    }
}

/// The first operator message of a ticket's conversation.
pub(super) fn first_answer(st: &ruta_model::chat_doc::ChatState) -> Option<i64> {
    st.messages
        .iter()
        .filter(|m| m.author.role.is_operator())
        .map(|m| m.at.wall_ms)
        .min()
}

impl Core {
    fn ticket_doc(&self, id: &str) -> Result<Option<TicketDoc>, ApiError> {
        let inner = self.lock();
        let device = inner.store.device_id().clone();
        load_ticket(inner.store.read_doc(id).map_err(storage)?, &device)
    }

    fn ticket_state(&self, id: &str) -> Result<TicketState, ApiError> {
        self.ticket_doc(id)?
            .and_then(|d| ticket_doc::derive(&d.events()))
            .ok_or_else(|| ApiError::NotFound {
                what: format!("ticket {id}"),
            })
    }

    /// Who sees ticket `id` besides operators, as this device holds it.
    pub(super) fn ticket_facts(&self, id: &str) -> Option<ruta_model::access::DocFacts> {
        ticket_doc::facts_of(self.ticket_doc(id).ok()??.automerge())
    }

    /// Whether this user sees the ticket (operators: all; its requester).
    fn sees_ticket(&self, st: &TicketState) -> bool {
        let (_, who) = self.principal();
        who.role.is_operator() || st.requester_user() == Some(who.user.as_str())
    }

    /// Display names this device knows: couriers and staff, by user.
    fn user_names(&self) -> std::collections::HashMap<String, String> {
        let names: std::collections::HashMap<String, String> = self
            .courier_directory()
            .into_iter()
            .chain(self.staff_directory())
            .filter(|c| !c.name.trim().is_empty())
            .map(|c| (c.user, c.name))
            .collect();
        names
    }

    /// Appends `change` to ticket `id` (a new ticket: `create` with its
    /// requester) in one transaction, and projects it.
    fn write_ticket(
        &self,
        id: &str,
        create: Option<&Requester>,
        change: TicketChange,
    ) -> Result<TicketState, ApiError> {
        ticket_doc::validate(&change).map_err(|e| ApiError::Invalid {
            field: e.field,
            message: e.message,
        })?;
        let (actor, _) = self.principal();
        let now = self.clock.now_ms();
        let st = {
            let mut inner = self.lock();
            let device = inner.store.device_id().clone();
            let tx = inner.store.write().map_err(storage)?;
            let mut doc = match (
                load_ticket(tx.load_doc(id).map_err(storage)?, &device)?,
                create,
            ) {
                (Some(d), None) => d,
                (None, Some(r)) => ticket_doc::create(r, &device).map_err(doc_error)?,
                (Some(_), Some(_)) => {
                    return Err(ApiError::Invalid {
                        field: "ticket".into(),
                        message: format!("ticket {id} exists"),
                    });
                }
                (None, None) => {
                    return Err(ApiError::NotFound {
                        what: format!("ticket {id}"),
                    });
                }
            };
            let before = ticket_doc::derive(&doc.events());
            ticket_doc::permitted(before.as_ref(), &actor, &change).map_err(|message| {
                ApiError::Refused {
                    code: "ticket_refused".into(),
                    message,
                }
            })?;
            let mut clock = resume_clock(&tx, &device)?;
            if let Some(latest) = doc.events().iter().map(|e| e.at).max() {
                clock.observe(latest, now);
            }
            let e = TicketEvent {
                at: clock.tick(now),
                actor: actor.clone(),
                change,
            };
            doc.append(&e).map_err(doc_error)?;
            let st = ticket_doc::derive(&doc.events()).expect("opened");
            tx.put_snapshot(id, ticket_doc::INDEX_KIND, &doc.save())
                .map_err(storage)?;
            tx.put_ticket(&row_of(id, &st), true).map_err(storage)?;
            tx.set_meta("hlc", &clock.last().to_string())
                .map_err(storage)?;
            tx.commit().map_err(storage)?;
            inner.store.after_commit().map_err(storage)?;
            st
        };
        self.revision
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.ledger_written(LedgerKind::Ticket, id);
        Ok(st)
    }

    pub(super) fn new_ticket(&self, new: NewTicket) -> Result<TicketView, ApiError> {
        let (actor, who) = self.principal();
        super::allow(&actor, Call::Tickets { manage: false })?;
        let user = match (&new.on_behalf_of, who.role.is_operator()) {
            (Some(_), false) => {
                return Err(ApiError::Invalid {
                    field: "on_behalf_of".into(),
                    message: "a client opens tickets for themselves".into(),
                });
            }
            (Some(u), true) if ruta_model::ids::valid_user_id(u) => u.clone(),
            (Some(_), true) => {
                return Err(ApiError::Invalid {
                    field: "on_behalf_of".into(),
                    message: "not a user id".into(),
                });
            }
            (None, true) => {
                return Err(ApiError::Invalid {
                    field: "on_behalf_of".into(),
                    message: "name the client this ticket is for".into(),
                });
            }
            (None, false) => who.user.to_string(),
        };
        if let Some(order) = &new.order {
            let state = self.order_state(&OrderId::new(order.clone())).ok();
            let client = state
                .as_ref()
                .and_then(|s| s.spec.as_ref())
                .map(|s| s.client.as_ref().map(|c| c.to_string()));
            let fine = match client {
                None => false,
                Some(c) => who.role.is_operator() || c.as_deref() == Some(who.user.as_str()),
            };
            if !fine {
                return Err(ApiError::Invalid {
                    field: "order".into(),
                    message: format!("no order {order} of yours on this device"),
                });
            }
        }
        let requester = Requester::User { user };
        let id = uuid::Uuid::new_v4().to_string();
        self.write_ticket(
            &id,
            Some(&requester),
            TicketChange::Opened {
                subject: new.subject.trim().to_owned(),
                message: new.message.trim().to_owned(),
                category: new.category,
                priority: new.priority,
                requester: requester.clone(),
                order: new.order,
            },
        )?;
        self.ticket_view(&id)
    }

    pub(super) fn ticket_act(
        &self,
        id: &str,
        action: TicketAction,
    ) -> Result<TicketView, ApiError> {
        let (actor, _) = self.principal();
        let manage = !matches!(action, TicketAction::SetStatus { .. });
        super::allow(&actor, Call::Tickets { manage })?;
        let st = self.ticket_state(id)?;
        if !self.sees_ticket(&st) {
            return Err(not_yours(id));
        }
        let change = match action {
            TicketAction::Assign { to } => {
                if let Some(u) = &to
                    && !self.assignable().iter().any(|(a, _)| a == u)
                {
                    return Err(ApiError::Invalid {
                        field: "to".into(),
                        message: format!("{u} is not an operator of this tenant"),
                    });
                }
                TicketChange::Assigned {
                    to: to.map(UserId::new),
                }
            }
            TicketAction::SetStatus { status } => TicketChange::StatusSet { status },
            TicketAction::SetPriority { priority } => TicketChange::PrioritySet { priority },
            TicketAction::SetCategory { category } => TicketChange::CategorySet { category },
            TicketAction::LinkOrder { order } => {
                if let Some(o) = &order
                    && self.order_state(&OrderId::new(o.clone())).is_err()
                {
                    return Err(ApiError::Invalid {
                        field: "order".into(),
                        message: format!("no order {o} on this device"),
                    });
                }
                TicketChange::OrderLinked { order }
            }
        };
        self.write_ticket(id, None, change)?;
        self.ticket_view(id)
    }

    /// Operators a ticket may be assigned to: the staff directory and this user.
    fn assignable(&self) -> Vec<(String, String)> {
        let (_, who) = self.principal();
        let mut out: Vec<(String, String)> = self
            .staff_directory()
            .into_iter()
            .map(|c| {
                let name = if c.name.trim().is_empty() {
                    c.user.clone()
                } else {
                    c.name
                };
                (c.user, name)
            })
            .collect();
        if who.role.is_operator() && !out.iter().any(|(u, _)| u == who.user.as_str()) {
            out.push((who.user.to_string(), who.user.to_string()));
        }
        out.sort_by(|a, b| a.1.cmp(&b.1));
        out
    }

    fn summary_of(
        &self,
        row: &TicketRow,
        names: &std::collections::HashMap<String, String>,
    ) -> Option<TicketSummary> {
        let body: Body = serde_json::from_str(&row.body).ok()?;
        let name = |u: &str| names.get(u).cloned().unwrap_or_else(|| u.to_owned());
        let profile = self.tenant_config().profile;
        let now = self.clock.now_ms();
        let minutes = |m: u32| i64::from(m) * 60_000;
        let link = ChatLink::Ticket {
            ticket: row.id.clone(),
        };
        let unread = self
            .lock()
            .store
            .chat(&ruta_model::chat_doc::chat_id(&link))
            .ok()
            .flatten()
            .map_or(0, |c| c.unread);
        Some(TicketSummary {
            id: row.id.clone(),
            reference: ticket_doc::reference_of(&row.id),
            subject: body.subject,
            category: body.category,
            priority: body.priority,
            status: body.status,
            requester_name: requester_name(&body.requester, name),
            storefront: matches!(body.requester, Requester::Guest { .. }),
            requester: body.requester,
            assignee_name: row.assignee.as_deref().map(name),
            assignee: row.assignee.clone(),
            order_reference: body.order.as_deref().and_then(|o| self.order_reference(o)),
            order: body.order,
            opened_at_ms: row.opened_ms,
            updated_at_ms: row.updated_ms,
            first_response: ticket_doc::timer(
                row.opened_ms,
                row.first_answer_ms,
                minutes(profile.ticket_first_response_min),
                now,
            ),
            resolution: ticket_doc::timer(
                row.opened_ms,
                body.resolved_ms,
                minutes(profile.ticket_resolution_min),
                now,
            ),
            unread,
            pending: row.pending,
        })
    }

    fn order_reference(&self, order: &str) -> Option<String> {
        self.order_state(&OrderId::new(order))
            .ok()?
            .spec
            .map(|s| s.reference)
    }

    pub(super) fn list_tickets(&self, q: TicketQuery) -> Result<TicketList, ApiError> {
        let (actor, who) = self.principal();
        super::allow(&actor, Call::Tickets { manage: false })?;
        let filter = TicketFilter {
            statuses: q.statuses.iter().map(snake).collect(),
            assignee: q.assignee.map(|a| if a == "-" { String::new() } else { a }),
            category: q.category.as_ref().map(snake),
            min_priority: q.min_priority.map(priority_rank),
            words: q
                .search
                .unwrap_or_default()
                .to_lowercase()
                .split_whitespace()
                .take(8)
                .map(str::to_owned)
                .collect(),
            limit: LIST_LIMIT,
        };
        let (rows, (unassigned, mine)) = {
            let inner = self.lock();
            let rows = inner.store.tickets(&filter).map_err(storage)?;
            let counts = inner
                .store
                .ticket_counts(who.user.as_str())
                .map_err(storage)?;
            (rows, counts)
        };
        let names = self.user_names();
        let tickets = rows
            .iter()
            .filter_map(|r| self.summary_of(r, &names))
            // A client's device holds only their tickets; a stale one (an
            // operator's test account) is still not listed for anyone else.
            .filter(|t| {
                who.role.is_operator()
                    || matches!(&t.requester, Requester::User { user } if user == who.user.as_str())
            })
            .collect();
        Ok(TicketList {
            tickets,
            unassigned: if who.role.is_operator() {
                unassigned
            } else {
                0
            },
            mine: if who.role.is_operator() { mine } else { 0 },
        })
    }

    pub(super) fn ticket_view(&self, id: &str) -> Result<TicketView, ApiError> {
        let (actor, who) = self.principal();
        super::allow(&actor, Call::Tickets { manage: false })?;
        let st = self.ticket_state(id)?;
        if !self.sees_ticket(&st) {
            return Err(not_yours(id));
        }
        let row = self
            .lock()
            .store
            .ticket(id)
            .map_err(storage)?
            .ok_or_else(|| ApiError::NotFound {
                what: format!("ticket {id}"),
            })?;
        let names = self.user_names();
        let name = |u: &str| names.get(u).cloned().unwrap_or_else(|| u.to_owned());
        let ticket = self
            .summary_of(&row, &names)
            .ok_or_else(|| ApiError::Malformed {
                message: format!("ticket {id}: unreadable projection"),
            })?;
        let link = ChatLink::Ticket {
            ticket: id.to_owned(),
        };
        let mut chat = self.chat_view(link)?;
        // A storefront guest's answers, among the conversation's messages.
        if let Requester::Guest { name: guest, .. } = &st.requester {
            for (at, text) in &st.guest_replies {
                chat.messages.push(ChatMessage {
                    id: at.to_string(),
                    at_ms: at.wall_ms,
                    author: ticket_doc::STOREFRONT_USER.into(),
                    author_name: guest.clone(),
                    author_role: crate::domain::Role::Client,
                    mine: false,
                    text: text.clone(),
                    photo: None,
                    location: None,
                    order: None,
                    order_reference: None,
                    edited: false,
                    deleted: false,
                    pending: false,
                    delivered_to: Vec::new(),
                    read_by: Vec::new(),
                });
            }
            chat.messages
                .sort_by(|a, b| a.at_ms.cmp(&b.at_ms).then(a.id.cmp(&b.id)));
        }
        let history = st
            .history
            .iter()
            .map(|(at, by, change)| TicketEntry {
                at_ms: at.wall_ms,
                who: if by.user.as_str() == ticket_doc::STOREFRONT_USER {
                    requester_name(&st.requester, name)
                } else {
                    name(by.user.as_str())
                },
                what: describe(change, name),
            })
            .collect();
        let profile = self.tenant_config().profile;
        Ok(TicketView {
            ticket,
            message: st.message.clone(),
            history,
            chat,
            assignable: if who.role.is_operator() {
                self.assignable()
            } else {
                Vec::new()
            },
            first_response_target_min: profile.ticket_first_response_min,
            resolution_target_min: profile.ticket_resolution_min,
            may_manage: who.role.is_operator(),
        })
    }

    /// Ticket notifications since `since_ms` (id `ticket:<ticket>:<what>`,
    /// title, body, when): for operators, a new ticket and one assigned to
    /// them by someone else. Answers arrive as the conversation's messages.
    pub(super) fn ticket_notices(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(String, String, String, i64)>, ApiError> {
        let (_, who) = self.principal();
        if !who.role.is_operator() {
            return Ok(Vec::new());
        }
        let rows = self
            .lock()
            .store
            .tickets(&TicketFilter {
                limit: LIST_LIMIT,
                ..Default::default()
            })
            .map_err(storage)?;
        let names = self.user_names();
        let name = |u: &str| names.get(u).cloned().unwrap_or_else(|| u.to_owned());
        let mut out = Vec::new();
        for row in rows.iter().filter(|r| r.updated_ms >= since_ms) {
            let Ok(st) = self.ticket_state(&row.id) else {
                continue;
            };
            let reference = ticket_doc::reference_of(&row.id);
            if st.opened_at.wall_ms >= since_ms && st.opened_by.user != who.user {
                out.push((
                    format!("ticket:{}:opened", row.id),
                    format!("New ticket {reference}: {}", st.subject),
                    format!("from {}", requester_name(&st.requester, name)),
                    st.opened_at.wall_ms,
                ));
            }
            for (at, by, change) in &st.history {
                if let TicketChange::Assigned { to: Some(to) } = change
                    && *to == who.user
                    && by.user != who.user
                    && at.wall_ms >= since_ms
                {
                    out.push((
                        format!("ticket:{}:{at}", row.id),
                        format!("{reference} assigned to you"),
                        format!("{} · by {}", st.subject, name(by.user.as_str())),
                        at.wall_ms,
                    ));
                }
            }
        }
        Ok(out)
    }

    pub fn merge_ticket(&self, id: &str, bytes: &[u8]) -> Result<bool, ApiError> {
        self.merge_event_doc::<TicketEvent>(id, bytes, ticket_doc::SHAPE, |tx, doc| {
            match ticket_doc::derive(&doc.events()) {
                Some(st) => tx.put_ticket(&row_of(id, &st), false).map_err(storage),
                // Not opened yet as far as this device knows: nothing to list.
                None => Ok(()),
            }
        })
    }

    pub fn ticket_document(&self, id: &str) -> Result<Option<(Vec<u8>, i64)>, ApiError> {
        self.event_doc_bytes::<TicketEvent>(id, ticket_doc::SHAPE, |tx| tx.ticket_writes(id))
    }

    pub fn ticket_synced(&self, id: &str, writes: i64) -> Result<bool, ApiError> {
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        let done = tx.ticket_synced(id, writes).map_err(storage)?;
        tx.commit().map_err(storage)?;
        drop(inner);
        if done {
            self.revision
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(done)
    }

    pub fn pending_tickets(&self) -> Result<Vec<String>, ApiError> {
        self.lock().store.pending_tickets().map_err(storage)
    }
}

fn not_yours(id: &str) -> ApiError {
    ApiError::Refused {
        code: "not_your_ticket".into(),
        message: format!("ticket {id} is not yours"),
    }
}

/// One change as a line of the ticket's history.
fn describe(change: &TicketChange, name: impl Fn(&str) -> String) -> String {
    match change {
        TicketChange::Opened { .. } => "opened the ticket".into(),
        TicketChange::Assigned { to: Some(u) } => format!("assigned it to {}", name(u.as_str())),
        TicketChange::Assigned { to: None } => "unassigned it".into(),
        TicketChange::StatusSet { status } => {
            format!("set it {}", status.label().to_lowercase())
        }
        TicketChange::PrioritySet { priority } => {
            format!("set priority {priority:?}").to_lowercase()
        }
        TicketChange::CategorySet { category } => {
            format!("moved it to {}", category.label().to_lowercase())
        }
        TicketChange::OrderLinked { order: Some(o) } => format!("linked order {o}"),
        TicketChange::OrderLinked { order: None } => "unlinked the order".into(),
        TicketChange::GuestReplied { .. } => "answered from the reply link".into(),
    }
}

#[cfg(test)]
mod tests;

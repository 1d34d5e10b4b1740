//! Notifications on a device: `Notifications` derives this user's from what
//! the device holds — order events of the last 7 days (`timeline`), open
//! conflicts, cash discrepancies, unread messages — by `ruta_model::notify`'s
//! rules, so every device of the user derives the same ones with the same
//! ids; `NotificationAct` writes only to the user's inbox document (read,
//! all read, a kind's channel), which syncs to their other devices. Sync
//! doors: `merge_inbox`, `inbox_document`, `inbox_synced`, `pending_inboxes`.

use app_api::ApiError;
use app_api::chat::ChatLink;
use app_api::notify::{
    Channel, NoticeKind, NoticeTarget, Notification, NotificationAction, NotificationList,
};
use ruta_model::inbox_doc::{self, InboxChange, InboxDoc, InboxEvent, InboxState};
use ruta_model::lifecycle::EventBody;
use ruta_model::notify;

use super::*;

/// How far back notifications go.
const WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;
/// Order events considered at most (the newest).
const MAX_EVENTS: u32 = 500;
/// Notifications listed at most.
const MAX_ITEMS: usize = 200;

fn inbox_error(e: ruta_model::event_doc::EventDocError) -> ApiError {
    ApiError::Malformed {
        message: format!("inbox document: {e}"),
    }
}

fn load_inbox(
    saved: Option<crate::store::SavedDoc>,
    device: &crate::domain::DeviceId,
) -> Result<Option<InboxDoc>, ApiError> {
    super::ledgers::load_event_doc(inbox_doc::SHAPE, saved, device)
}

fn status_words(body: &EventBody) -> String {
    match body {
        EventBody::Created { .. } => "new order".into(),
        EventBody::PickedUp => "picked up".into(),
        EventBody::InTransit => "on its way".into(),
        EventBody::Delivered { .. } => "delivered".into(),
        EventBody::AttemptFailed { reason } => format!("delivery failed: {reason}"),
        EventBody::Returned { reason } => format!("returned: {reason}"),
        EventBody::Cancelled { reason } => format!("cancelled: {reason}"),
        EventBody::Declined { reason } => format!("declined by the courier: {reason}"),
        EventBody::ReceivedAtHub { .. } => "arrived at the hub".into(),
        other => ruta_domain::enum_str(&other.kind()).replace('_', " "),
    }
}

fn courier_of(body: &EventBody, author: &str) -> Option<Option<UserId>> {
    match body {
        EventBody::Assigned { courier } => Some(Some(courier.clone())),
        EventBody::Unassigned => Some(None),
        EventBody::Claimed => Some(Some(UserId::new(author))),
        _ => None,
    }
}

impl Core {
    fn inbox_state(&self) -> Result<InboxState, ApiError> {
        let (_, who) = self.principal();
        let id = inbox_doc::inbox_id(&who.user);
        let inner = self.lock();
        let device = inner.store.device_id().clone();
        let doc = load_inbox(inner.store.read_doc(&id).map_err(storage)?, &device)?;
        Ok(doc
            .map(|d| inbox_doc::derive(&d.events()))
            .unwrap_or_default())
    }

    fn channel(&self, st: &InboxState, kind: NoticeKind) -> Channel {
        let (_, who) = self.principal();
        st.channels
            .get(&kind)
            .copied()
            .unwrap_or_else(|| notify::default_channel(who.role, kind))
    }

    pub(super) fn notifications(&self) -> Result<NotificationList, ApiError> {
        let (_, who) = self.principal();
        let now = self.clock.now_ms();
        let since = now - WINDOW_MS;
        let inbox = self.inbox_state()?;
        let mut items = Vec::new();
        let push = |items: &mut Vec<Notification>,
                    id: String,
                    kind: NoticeKind,
                    critical: bool,
                    title: String,
                    body: String,
                    at_ms: i64,
                    target: NoticeTarget| {
            let channel = self.channel(&inbox, kind);
            if channel == Channel::Off {
                return;
            }
            items.push(Notification {
                read: inbox.is_read(&id, at_ms),
                id,
                kind,
                title,
                body,
                at_ms,
                critical,
                channel,
                target,
            });
        };
        let events = self
            .lock()
            .store
            .recent_events(since, MAX_EVENTS)
            .map_err(storage)?;
        for e in &events {
            let Ok(body) = serde_json::from_str::<EventBody>(&e.details) else {
                continue;
            };
            let Some(actor) = self.event_actor(e) else {
                continue;
            };
            let before = self
                .lock()
                .store
                .courier_before(&e.order_id, e.at_ms)
                .map_err(storage)?
                .and_then(|(d, u)| {
                    serde_json::from_str::<EventBody>(&d)
                        .ok()
                        .and_then(|b| courier_of(&b, &u))
                })
                .flatten();
            let after = courier_of(&body, &e.user).unwrap_or_else(|| before.clone());
            let client = e.client.as_deref().map(UserId::new);
            let Some(kind) = notify::of_order_event(
                &who,
                notify::OrderEvent {
                    body: &body,
                    actor: &actor,
                    client: client.as_ref(),
                    courier_before: before.as_ref(),
                    courier_after: after.as_ref(),
                },
            ) else {
                continue;
            };
            let title = match kind {
                NoticeKind::Courier if after.as_ref() == Some(&who.user) => {
                    format!("{} assigned to you", e.reference)
                }
                NoticeKind::Courier => format!("{} was taken off you", e.reference),
                NoticeKind::Address => format!("{}: a stop changed", e.reference),
                _ => format!("{} {}", e.reference, status_words(&body)),
            };
            push(
                &mut items,
                notify::order_notice_id(&e.order_id, &e.event_id),
                kind,
                notify::critical(kind, Some(&body)),
                title,
                format!("by {}", e.user),
                e.at_ms,
                NoticeTarget::Order {
                    order: e.order_id.clone(),
                },
            );
        }
        if who.role.is_operator() {
            let conflicts = self
                .lock()
                .store
                .open_conflicts_since(since)
                .map_err(storage)?;
            for (order, id, kind, at, reference) in conflicts {
                push(
                    &mut items,
                    format!("conflict:{order}:{id}"),
                    NoticeKind::Conflict,
                    true,
                    format!("{reference}: a conflict to resolve"),
                    kind.replace('_', " "),
                    at,
                    NoticeTarget::Order { order },
                );
            }
            let short = self.lock().store.cash_discrepancies().map_err(storage)?;
            for (courier, at) in short {
                push(
                    &mut items,
                    format!("cash:{courier}:{at}"),
                    NoticeKind::Cash,
                    true,
                    format!("Cash hand-over by {courier} does not match"),
                    "count, write off or charge it".into(),
                    at,
                    NoticeTarget::Cash { courier },
                );
            }
        }
        let chats = self.lock().store.unread_chats().map_err(storage)?;
        for row in chats {
            let Some(link) = ruta_model::chat_doc::parse_link(&row.link) else {
                continue;
            };
            let Ok(view) = self.chat_view(link.clone()) else {
                continue;
            };
            let unread = view.messages.iter().filter(|m| !m.mine && !m.deleted);
            let unread: Vec<_> = unread.rev().take(view.unread as usize).collect();
            // A ticket's conversation: the requester hears it was answered,
            // the desk that the requester wrote; both open the ticket.
            let target = match &link {
                ChatLink::Ticket { ticket } => NoticeTarget::Ticket {
                    ticket: ticket.clone(),
                },
                _ => NoticeTarget::Chat { link: link.clone() },
            };
            for m in unread {
                let kind = if notify::mentions(&m.text, &who.user) {
                    NoticeKind::Mention
                } else if matches!(link, ChatLink::Ticket { .. }) {
                    NoticeKind::Ticket
                } else {
                    NoticeKind::Message
                };
                push(
                    &mut items,
                    format!("chat:{}:{}", view.id, m.id),
                    kind,
                    notify::critical(kind, None),
                    format!("{} · {}", m.author_name, view.title),
                    m.text.chars().take(140).collect(),
                    m.at_ms,
                    target.clone(),
                );
            }
        }
        // Orders whose latest plan arrives after their window: the desk's,
        // and a courier's own.
        if who.role.is_operator() || who.role == crate::domain::Role::Courier {
            let query = app_api::OrderQuery {
                late_risk: true,
                statuses: crate::lifecycle::Work::open_statuses(),
                assignee: (!who.role.is_operator()).then(|| who.user.to_string()),
                limit: 200,
                ..Default::default()
            };
            let (late, _) = self.lock().store.query_orders(&query).map_err(storage)?;
            for o in late {
                let (Some(eta), Some(end)) = (o.eta_ms, o.window_end_ms) else {
                    continue;
                };
                let minutes = (eta - end + 59_999) / 60_000;
                push(
                    &mut items,
                    format!("late:{}:{end}", o.id),
                    NoticeKind::Late,
                    notify::critical(NoticeKind::Late, None),
                    format!("{} may be late", o.reference),
                    format!(
                        "planned arrival {minutes} min after its window{}",
                        o.assignee
                            .as_deref()
                            .map(|c| format!(" · {c}"))
                            .unwrap_or_default()
                    ),
                    now.min(end),
                    NoticeTarget::Order {
                        order: o.id.clone(),
                    },
                );
            }
        }
        for (id, title, body, at) in self.ticket_notices(since)? {
            push(
                &mut items,
                id.clone(),
                NoticeKind::Ticket,
                notify::critical(NoticeKind::Ticket, None),
                title,
                body,
                at,
                NoticeTarget::Ticket {
                    ticket: id.split(':').nth(1).unwrap_or_default().to_owned(),
                },
            );
        }
        items.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then(b.id.cmp(&a.id)));
        items.truncate(MAX_ITEMS);
        let unread = items.iter().filter(|n| !n.read).count() as u32;
        Ok(NotificationList {
            items,
            unread,
            channels: NoticeKind::ALL
                .iter()
                .map(|k| (*k, self.channel(&inbox, *k)))
                .collect(),
        })
    }

    fn event_actor(&self, e: &crate::store::RecentEvent) -> Option<Actor> {
        let role = serde_json::from_value(serde_json::Value::String(e.role.clone())).ok()?;
        // The timeline keeps the author's user and role; the device is not needed here.
        Some(Actor {
            user: UserId::new(&e.user),
            role,
            device: crate::domain::DeviceId::new(""),
        })
    }

    pub(super) fn notification_act(
        &self,
        action: NotificationAction,
    ) -> Result<NotificationList, ApiError> {
        let change = match action {
            NotificationAction::MarkRead { ids } => InboxChange::Read { ids },
            NotificationAction::MarkAllRead => InboxChange::ReadAll {
                up_to_ms: self.clock.now_ms(),
            },
            NotificationAction::Subscribe { kind, channel } => {
                InboxChange::Subscribe { kind, channel }
            }
        };
        inbox_doc::validate(&change).map_err(|e| ApiError::Invalid {
            field: e.field,
            message: e.message,
        })?;
        let (actor, who) = self.principal();
        let id = inbox_doc::inbox_id(&who.user);
        let now = self.clock.now_ms();
        {
            let mut inner = self.lock();
            let device = inner.store.device_id().clone();
            let tx = inner.store.write().map_err(storage)?;
            let mut doc = match load_inbox(tx.load_doc(&id).map_err(storage)?, &device)? {
                Some(d) => d,
                None => inbox_doc::create(&who.user, &device).map_err(inbox_error)?,
            };
            let mut clock = resume_clock(&tx, &device)?;
            if let Some(latest) = doc.events().iter().map(|e| e.at).max() {
                clock.observe(latest, now);
            }
            doc.append(&InboxEvent {
                at: clock.tick(now),
                actor,
                change,
            })
            .map_err(inbox_error)?;
            tx.put_snapshot(&id, inbox_doc::INDEX_KIND, &doc.save())
                .map_err(storage)?;
            tx.inbox_written(&id).map_err(storage)?;
            tx.set_meta("hlc", &clock.last().to_string())
                .map_err(storage)?;
            tx.commit().map_err(storage)?;
            inner.store.after_commit().map_err(storage)?;
        }
        self.revision
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.ledger_written(LedgerKind::Inbox, &id);
        self.notifications()
    }

    pub fn merge_inbox(&self, id: &str, bytes: &[u8]) -> Result<bool, ApiError> {
        self.merge_event_doc::<InboxEvent>(id, bytes, inbox_doc::SHAPE, |_, _| Ok(()))
    }

    pub fn inbox_document(&self, id: &str) -> Result<Option<(Vec<u8>, i64)>, ApiError> {
        self.event_doc_bytes::<InboxEvent>(id, inbox_doc::SHAPE, |tx| tx.inbox_writes(id))
    }

    pub fn inbox_synced(&self, id: &str, writes: i64) -> Result<bool, ApiError> {
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        let done = tx.inbox_synced(id, writes).map_err(storage)?;
        tx.commit().map_err(storage)?;
        Ok(done)
    }

    pub fn pending_inboxes(&self) -> Result<Vec<String>, ApiError> {
        self.lock().store.pending_inboxes().map_err(storage)
    }
}

#[cfg(test)]
mod tests;

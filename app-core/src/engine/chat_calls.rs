//! Conversations on a device ([`ruta_model::chat_doc`]): `ListChats`,
//! `OpenChat`, `ChatAct` (post, edit, delete, mark read), the delivery
//! receipt a device writes when others' messages arrive, and the sync doors
//! (`merge_chat`, `chat_document`, `chat_synced`, `pending_chats`).
//!
//! Who takes part is the link's (`chat_doc::facts_of` judged by
//! `access::decide`, as on the server): an order's chat is decided with the
//! order as this device knows it, so a courier whose order was reassigned
//! can no longer open it. A message is in the conversation at once, pending
//! until the server confirms the write.

use app_api::ApiError;
use app_api::chat::{
    ChatAction, ChatLink, ChatList, ChatMessage, ChatSummary, ChatView, NewMessage, Team,
};
use ruta_model::access::{self, Access};
use ruta_model::chat_doc::{self, ChatChange, ChatDoc, ChatEvent, ChatState};

use super::*;
use crate::store::ChatRow;

/// Conversations a list shows at most (the unread total counts them all).
const LIST_LIMIT: u32 = 200;

fn chat_error(e: ruta_model::event_doc::EventDocError) -> ApiError {
    ApiError::Malformed {
        message: format!("chat document: {e}"),
    }
}

fn invalid(e: chat_doc::Invalid) -> ApiError {
    ApiError::Invalid {
        field: e.field,
        message: e.message,
    }
}

fn not_participant(link: &ChatLink) -> ApiError {
    ApiError::Refused {
        code: "not_participant".into(),
        message: format!(
            "you do not take part in this conversation ({})",
            chat_doc::link_key(link)
        ),
    }
}

fn load_chat(
    saved: Option<crate::store::SavedDoc>,
    device: &crate::domain::DeviceId,
) -> Result<Option<ChatDoc>, ApiError> {
    super::ledgers::load_event_doc(chat_doc::SHAPE, saved, device)
}

/// The row a conversation's state gives for `user`; `confirmed` as stored.
fn row_of(id: &str, link: &ChatLink, st: &ChatState, user: &UserId) -> ChatRow {
    let last = st.messages.last();
    ChatRow {
        id: id.to_owned(),
        link: chat_doc::link_key(link),
        last_ms: last.map(|m| m.at.wall_ms),
        last_text: last.map(preview).unwrap_or_default(),
        unread: st.unread_for(user) as u32,
        pending: false,
        confirmed: None,
    }
}

fn preview(m: &chat_doc::Message) -> String {
    if m.deleted {
        return "Message deleted".into();
    }
    let mut t: String = m.text.chars().take(120).collect();
    if t.trim().is_empty() {
        t = match (&m.photo, &m.location, &m.order) {
            (Some(_), _, _) => "Photo".into(),
            (_, Some(_), _) => "Location".into(),
            (_, _, Some(_)) => "Order".into(),
            _ => String::new(),
        };
    }
    format!("{}: {t}", m.author.user)
}

impl Core {
    /// Whether this device's user takes part in the conversation about `link`.
    fn takes_part(&self, link: &ChatLink) -> bool {
        let (_, who) = self.principal();
        let order = match link {
            ChatLink::Order { order } => self
                .order_state(&OrderId::new(order.clone()))
                .ok()
                .map(|s| access::facts_of_order(&s)),
            ChatLink::Ticket { ticket } => self.ticket_facts(ticket),
            _ => None,
        };
        let config = self.tenant_config();
        let facts = match link {
            ChatLink::Zone { zone } => {
                chat_doc::zone_facts(chat_doc::zone_couriers(&config.couriers, zone))
            }
            _ => chat_doc::facts_of(link, order.as_ref(), config.profile.clients_in_order_chat),
        };
        access::decide(&who, Some(&facts)) == Access::ReadWrite
    }

    fn chat_state(&self, id: &str) -> Result<Option<ChatState>, ApiError> {
        let inner = self.lock();
        let device = inner.store.device_id().clone();
        let doc = load_chat(inner.store.read_doc(id).map_err(storage)?, &device)?;
        Ok(doc.map(|d| chat_doc::derive(&d.events())))
    }

    /// Appends `changes` to the conversation about `link` (created here if
    /// new) in one transaction, and projects it.
    fn write_chat(&self, link: &ChatLink, changes: Vec<ChatChange>) -> Result<(), ApiError> {
        if changes.is_empty() {
            return Ok(());
        }
        let id = chat_doc::chat_id(link);
        let (actor, who) = self.principal();
        let now = self.clock.now_ms();
        {
            let mut inner = self.lock();
            let device = inner.store.device_id().clone();
            let tx = inner.store.write().map_err(storage)?;
            let mut doc = match load_chat(tx.load_doc(&id).map_err(storage)?, &device)? {
                Some(d) => d,
                None => chat_doc::create(link, &device).map_err(chat_error)?,
            };
            let mut clock = resume_clock(&tx, &device)?;
            if let Some(latest) = doc.events().iter().map(|e| e.at).max() {
                clock.observe(latest, now);
            }
            let mut last = None;
            for change in changes {
                chat_doc::validate(&change).map_err(invalid)?;
                let e = ChatEvent {
                    at: clock.tick(now),
                    actor: actor.clone(),
                    change,
                };
                last = Some(e.id());
                doc.append(&e).map_err(chat_error)?;
            }
            let st = chat_doc::derive(&doc.events());
            if let Some((_, why)) = st.ignored.iter().find(|(k, _)| Some(k) == last.as_ref()) {
                return Err(ApiError::Refused {
                    code: "chat_refused".into(),
                    message: why.clone(),
                });
            }
            tx.put_snapshot(&id, chat_doc::INDEX_KIND, &doc.save())
                .map_err(storage)?;
            tx.put_chat(&row_of(&id, link, &st, &who.user), last.as_deref())
                .map_err(storage)?;
            note_answer(&tx, link, &st)?;
            tx.set_meta("hlc", &clock.last().to_string())
                .map_err(storage)?;
            tx.commit().map_err(storage)?;
            inner.store.after_commit().map_err(storage)?;
        }
        self.revision
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.ledger_written(LedgerKind::Chat, &id);
        Ok(())
    }

    pub(super) fn chat_act(
        &self,
        link: ChatLink,
        action: ChatAction,
    ) -> Result<ChatView, ApiError> {
        let link = canonical(link);
        if !self.takes_part(&link) {
            return Err(not_participant(&link));
        }
        let (_, who) = self.principal();
        let id = chat_doc::chat_id(&link);
        // The server learns whose a new direct conversation is only from
        // what its first writer sends, and shares nothing with a courier
        // before that: couriers reach dispatch in their own chat.
        if who.role == crate::domain::Role::Courier
            && matches!(link, ChatLink::Direct { .. })
            && self.chat_state(&id)?.is_none()
        {
            return Err(ApiError::Refused {
                code: "not_participant".into(),
                message: "couriers write to dispatch in their driver chat; a direct conversation is started by the other side".into(),
            });
        }
        let change = match action {
            ChatAction::Post(NewMessage {
                text,
                photo,
                photo_base64,
                location,
                order,
            }) => {
                // A new photo: shrunk and stored first (a crash after this
                // leaves only an unreferenced blob); it travels by hash.
                let photo = match (photo, photo_base64) {
                    (Some(_), Some(_)) => {
                        return Err(ApiError::Invalid {
                            field: "photo".into(),
                            message: "give a stored photo or a new one, not both".into(),
                        });
                    }
                    (None, Some(b64)) => {
                        let bytes = super::pod_calls::decode_b64("photo_base64", &b64)?;
                        let p = crate::pod::photo::process(&bytes, &self.photo_policy()).map_err(
                            |e| ApiError::Invalid {
                                field: "photo".into(),
                                message: e.to_string(),
                            },
                        )?;
                        Some(self.blobs.put(&p.jpeg).map_err(|e| ApiError::Storage {
                            message: format!("cannot store the photo: {e}"),
                        })?)
                    }
                    (p, None) => p,
                };
                if let Some(p) = &photo
                    && !self.has_blob(p)
                {
                    return Err(ApiError::Invalid {
                        field: "photo".into(),
                        message: format!("no photo {p} on this device"),
                    });
                }
                Some(ChatChange::Posted {
                    text: text.trim().to_owned(),
                    photo,
                    location,
                    order,
                })
            }
            ChatAction::Edit { message, text } => Some(ChatChange::Edited {
                message,
                text: text.trim().to_owned(),
            }),
            ChatAction::Delete { message } => Some(ChatChange::Deleted { message }),
            ChatAction::MarkRead => self.chat_state(&id)?.and_then(|st| {
                let latest = st.latest_from_others(&who.user)?;
                (st.read.get(&who.user) < Some(&latest))
                    .then_some(ChatChange::Read { up_to: latest })
            }),
        };
        self.write_chat(&link, change.into_iter().collect())?;
        self.chat_view(link)
    }

    fn has_blob(&self, hash: &str) -> bool {
        crate::blobs::is_blob_name(hash) && self.blobs.has(hash)
    }

    pub(super) fn chat_view(&self, link: ChatLink) -> Result<ChatView, ApiError> {
        let link = canonical(link);
        let can_post = self.takes_part(&link);
        let id = chat_doc::chat_id(&link);
        // A chat this user no longer takes part in (a courier's reassigned
        // order) is closed to them, even though this device still holds it.
        if !can_post {
            return Err(not_participant(&link));
        }
        let (_, who) = self.principal();
        let st = self.chat_state(&id)?.unwrap_or_default();
        let confirmed = self
            .lock()
            .store
            .chat(&id)
            .map_err(storage)?
            .and_then(|r| r.confirmed)
            .and_then(|c| c.parse::<crate::hlc::Hlc>().ok());
        let node = node_of(self.lock().store.device_id().as_str());
        let names = self.names();
        let name = |u: &str| names.get(u).cloned().unwrap_or_else(|| u.to_owned());
        let messages = st
            .messages
            .iter()
            .map(|m| {
                let (delivered, read) = st.receipts(m);
                ChatMessage {
                    id: m.id.clone(),
                    at_ms: m.at.wall_ms,
                    author: m.author.user.to_string(),
                    author_name: name(m.author.user.as_str()),
                    author_role: m.author.role,
                    mine: m.author.user == who.user,
                    text: m.text.clone(),
                    photo: m.photo.clone(),
                    location: m.location,
                    order_reference: m.order.as_ref().and_then(|o| self.reference_of(o)),
                    order: m.order.clone(),
                    edited: m.edited() && !m.deleted,
                    deleted: m.deleted,
                    pending: m.at.node == node && confirmed.is_none_or(|c| m.at > c),
                    delivered_to: delivered.iter().map(|u| name(u.as_str())).collect(),
                    read_by: read.iter().map(|u| name(u.as_str())).collect(),
                }
            })
            .collect();
        Ok(ChatView {
            id,
            title: self.chat_title(&link, &names),
            unread: st.unread_for(&who.user) as u32,
            quick_replies: chat_doc::quick_replies(who.role, &link)
                .iter()
                .map(|s| s.to_string())
                .collect(),
            can_post,
            link,
            messages,
        })
    }

    pub(super) fn list_chats(&self) -> Result<ChatList, ApiError> {
        let rows = self
            .lock()
            .store
            .recent_chats(LIST_LIMIT)
            .map_err(storage)?;
        let (_, who) = self.principal();
        let names = self.names();
        let mut chats = Vec::new();
        let mut closed = Vec::new();
        for r in rows {
            let Some(link) = chat_doc::parse_link(&r.link) else {
                continue;
            };
            // Couriers and clients hold few chats; an order's may have closed to them.
            if !who.role.is_operator() && !self.takes_part(&link) {
                closed.push(r.id);
                continue;
            }
            chats.push(ChatSummary {
                id: r.id,
                title: self.chat_title(&link, &names),
                link,
                last_text: r.last_text,
                last_at_ms: r.last_ms,
                unread: r.unread,
                pending: r.pending,
            });
        }
        let unread_total = self.lock().store.unread_total(&closed).map_err(storage)?;
        Ok(ChatList {
            chats,
            unread_total,
            starters: self.chat_starters(&names),
        })
    }

    /// The conversations this user may always start, as the access rules
    /// decide them: a courier's with dispatch, the teams, each zone's team
    /// this user takes part in; a client's with support.
    fn chat_starters(
        &self,
        names: &std::collections::HashMap<String, String>,
    ) -> Vec<(String, ChatLink)> {
        let (_, who) = self.principal();
        let me = who.user.as_str().to_owned();
        let links = match who.role {
            Role::Courier => vec![
                ChatLink::Driver { courier: me },
                ChatLink::Team {
                    team: Team::Couriers,
                },
            ],
            Role::Dispatcher | Role::Admin => vec![
                ChatLink::Team {
                    team: Team::Couriers,
                },
                ChatLink::Team { team: Team::Staff },
            ],
            Role::Client => vec![ChatLink::Customer { client: me }],
        };
        let mut out: Vec<(String, ChatLink)> = links
            .into_iter()
            .filter(|l| self.takes_part(l))
            .map(|l| (self.chat_starter_title(&l, names), l))
            .collect();
        // The zones' teams, decided as `takes_part` does, with the
        // configuration derived once (this runs on every list refresh).
        if who.role != Role::Client {
            let config = self.tenant_config();
            for z in &config.zones {
                let facts = chat_doc::zone_facts(chat_doc::zone_couriers(&config.couriers, &z.id));
                if access::decide(&who, Some(&facts)) == Access::ReadWrite {
                    out.push((zone_title(&z.name), ChatLink::Zone { zone: z.id.clone() }));
                }
            }
        }
        out
    }

    fn chat_starter_title(
        &self,
        link: &ChatLink,
        names: &std::collections::HashMap<String, String>,
    ) -> String {
        match link {
            ChatLink::Driver { .. } => "Dispatch".into(),
            ChatLink::Customer { .. } => "Support".into(),
            _ => self.chat_title(link, names),
        }
    }

    /// Display names this device knows (the courier directory), by user.
    fn names(&self) -> std::collections::HashMap<String, String> {
        self.courier_directory()
            .into_iter()
            .filter(|c| !c.name.trim().is_empty())
            .map(|c| (c.user, c.name))
            .collect()
    }

    fn reference_of(&self, order: &str) -> Option<String> {
        self.order_state(&OrderId::new(order))
            .ok()?
            .spec
            .map(|s| s.reference)
    }

    /// A conversation's title; `names` is the directory's (read once per call:
    /// parsing it for each of 200 conversations cost ~100 ms with 2,000 couriers).
    fn chat_title(
        &self,
        link: &ChatLink,
        names: &std::collections::HashMap<String, String>,
    ) -> String {
        let name = |u: &str| names.get(u).cloned().unwrap_or_else(|| u.to_owned());
        match link {
            ChatLink::Order { order } => match self.reference_of(order) {
                Some(r) => format!("Order {r}"),
                None => "Order".into(),
            },
            ChatLink::Driver { courier } => {
                if self.principal().1.user.as_str() == courier {
                    "Dispatch".into()
                } else {
                    name(courier)
                }
            }
            ChatLink::Customer { client } => format!("Customer {}", name(client)),
            ChatLink::Team {
                team: Team::Couriers,
            } => "All couriers".into(),
            ChatLink::Team { team: Team::Staff } => "Dispatch team".into(),
            ChatLink::Zone { zone } => {
                let config = self.tenant_config();
                let name = config
                    .zones
                    .iter()
                    .find(|z| z.id == *zone)
                    .map_or_else(|| zone.clone(), |z| z.name.clone());
                zone_title(&name)
            }
            ChatLink::Ticket { ticket } => {
                format!("Ticket {}", ruta_model::ticket_doc::reference_of(ticket))
            }
            ChatLink::Direct { a, b } => {
                let me = self.principal().1.user;
                name(if me.as_str() == a { b } else { a })
            }
        }
    }

    /// After others' messages arrived: "delivered up to" the latest of them,
    /// once per new arrival (nothing when this user takes no part).
    fn acknowledge_delivery(&self, id: &str) -> Result<(), ApiError> {
        let (_, who) = self.principal();
        let inner = self.lock();
        let device = inner.store.device_id().clone();
        let Some(doc) = load_chat(inner.store.read_doc(id).map_err(storage)?, &device)? else {
            return Ok(());
        };
        drop(inner);
        let Some(link) = chat_doc::link_of(doc.automerge()) else {
            return Ok(());
        };
        let st = chat_doc::derive(&doc.events());
        let Some(latest) = st.latest_from_others(&who.user) else {
            return Ok(());
        };
        let done = |m: &std::collections::BTreeMap<UserId, crate::hlc::Hlc>| {
            m.get(&who.user).is_some_and(|d| *d >= latest)
        };
        if done(&st.delivered) || done(&st.read) || !self.takes_part(&link) {
            return Ok(());
        }
        self.write_chat(&link, vec![ChatChange::Delivered { up_to: latest }])
    }

    pub fn merge_chat(&self, id: &str, bytes: &[u8]) -> Result<bool, ApiError> {
        let (_, who) = self.principal();
        let changed =
            self.merge_event_doc::<ChatEvent>(id, bytes, chat_doc::SHAPE, |tx, doc| {
                let Some(link) = chat_doc::link_of(doc.automerge()) else {
                    return Err(ApiError::Malformed {
                        message: format!("chat document {id}: no valid link"),
                    });
                };
                let st = chat_doc::derive(&doc.events());
                tx.put_chat(&row_of(id, &link, &st, &who.user), None)
                    .map_err(storage)?;
                note_answer(tx, &link, &st)
            })?;
        if changed {
            self.acknowledge_delivery(id)?;
        }
        Ok(changed)
    }

    /// The photos of conversation `id`'s messages (not deleted) this device lacks.
    pub(super) fn chat_missing_photos(&self, id: &str) -> Vec<String> {
        let Ok(Some(st)) = self.chat_state(id) else {
            return Vec::new();
        };
        let mut out: Vec<String> = st
            .messages
            .iter()
            .filter(|m| !m.deleted)
            .filter_map(|m| m.photo.clone())
            .filter(|h| !self.has_blob(h))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    pub fn chat_document(&self, id: &str) -> Result<Option<(Vec<u8>, i64)>, ApiError> {
        self.event_doc_bytes::<ChatEvent>(id, chat_doc::SHAPE, |tx| tx.chat_writes(id))
    }

    pub fn chat_synced(&self, id: &str, writes: i64) -> Result<bool, ApiError> {
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        let done = tx.chat_synced(id, writes).map_err(storage)?;
        tx.commit().map_err(storage)?;
        drop(inner);
        if done {
            self.revision
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(done)
    }

    pub fn pending_chats(&self) -> Result<Vec<String>, ApiError> {
        self.lock().store.pending_chats().map_err(storage)
    }
}

/// A ticket's conversation: its first operator message stops the ticket's
/// first-response timer.
fn note_answer(tx: &crate::store::Tx<'_>, link: &ChatLink, st: &ChatState) -> Result<(), ApiError> {
    if let ChatLink::Ticket { ticket } = link {
        tx.ticket_answered(ticket, super::ticket_calls::first_answer(st))
            .map_err(storage)?;
    }
    Ok(())
}

/// A direct link's users in order (the same conversation either way).
fn canonical(link: ChatLink) -> ChatLink {
    match link {
        ChatLink::Direct { a, b } if a > b => ChatLink::Direct { a: b, b: a },
        l => l,
    }
}

#[cfg(test)]
mod tests;

/// A zone team's conversation, as its list and header name it.
fn zone_title(zone_name: &str) -> String {
    format!("Couriers in {zone_name}")
}

//! Storefront tickets, the one kind of document the server writes for a
//! person: the tenant's web shop has no device, so the intake endpoint's
//! ticket (and each answer through its reply link) is written here, as the
//! `storefront` user, under `ticket_doc`'s rules. Operators get it in their
//! index like any ticket; the requester reads the operators' answers from
//! the ticket's conversation.

use app_api::chat::ChatLink;
use app_api::tickets::{GuestMessage, GuestTicket, IntakeTicket, Requester, TicketCategory};
use automerge::Automerge;
use ruta_domain::hlc::{Hlc, node_of};
use ruta_domain::{Actor, DeviceId, Role, UserId};
use ruta_model::access::DocFacts;
use ruta_model::chat_doc;
use ruta_model::ticket_doc::{self, TicketChange, TicketEvent};

use super::Tenant;

/// Why a storefront write is refused.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("no such ticket")]
    NotFound,
    #[error("the ticket is closed")]
    Closed,
    #[error("{0}")]
    Internal(String),
}

fn server_device() -> DeviceId {
    DeviceId::new("server")
}

fn storefront() -> Actor {
    Actor {
        user: UserId::new(ticket_doc::STOREFRONT_USER),
        role: Role::Client,
        device: server_device(),
    }
}

/// A stamp after every event in `events` and not before `now_ms`.
fn next_stamp(events: &[TicketEvent], now_ms: i64) -> Hlc {
    let mut clock = ruta_domain::hlc::HlcClock::new(node_of(server_device().as_str()));
    if let Some(latest) = events.iter().map(|e| e.at).max() {
        clock.observe(latest, now_ms);
    }
    clock.tick(now_ms)
}

fn internal(e: impl std::fmt::Display) -> GuestError {
    GuestError::Internal(e.to_string())
}

impl Tenant {
    /// Opens the storefront's ticket and lists it for every operator;
    /// answers its id.
    pub async fn open_guest_ticket(
        &self,
        intake: &IntakeTicket,
        now_ms: i64,
    ) -> Result<String, GuestError> {
        let requester = Requester::Guest {
            name: intake.name.trim().to_owned(),
            email: intake.email.trim().to_owned(),
        };
        let mut message = intake.message.trim().to_owned();
        if let Some(r) = intake
            .order_reference
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            if r.len() > 40 || r.contains(char::is_control) {
                return Err(GuestError::Invalid {
                    field: "order_reference".into(),
                    message: "not an order reference".into(),
                });
            }
            message.push_str(&format!("\n\nOrder reference given: {r}"));
        }
        let change = TicketChange::Opened {
            subject: intake.subject.trim().to_owned(),
            message,
            category: intake.category.unwrap_or(TicketCategory::Other),
            priority: app_api::Priority::Normal,
            requester: requester.clone(),
            order: None,
        };
        ticket_doc::validate(&change).map_err(|e| GuestError::Invalid {
            field: e.field,
            message: e.message,
        })?;
        let mut doc = ticket_doc::create(&requester, &server_device()).map_err(internal)?;
        doc.append(&TicketEvent {
            at: next_stamp(&[], now_ms),
            actor: storefront(),
            change,
        })
        .map_err(internal)?;
        let am = Automerge::load(&doc.save()).map_err(internal)?;
        let handle = self
            .repo
            .create(am)
            .await
            .map_err(|_| internal("repo stopped"))?;
        let doc_id = handle.document_id().clone();
        let ticket = ruta_model::order_of(&doc_id)
            .ok_or_else(|| internal("a document id that is not a UUID"))?
            .to_string();
        self.apply_facts(
            &doc_id.to_string(),
            None,
            DocFacts::Ticket { requester: None },
            false,
        )
        .await;
        tracing::info!(tenant = %self.name, %ticket, "storefront ticket opened");
        Ok(ticket)
    }

    /// The ticket's document, as the engine holds it now.
    async fn guest_ticket_doc(&self, ticket: &str) -> Result<samod::DocHandle, GuestError> {
        let doc = ruta_model::ids::doc_id_of_uuid(ticket).ok_or(GuestError::NotFound)?;
        // Only a storefront ticket is answered through a reply link.
        if self.shared.facts(&doc.to_string()) != Some(DocFacts::Ticket { requester: None }) {
            return Err(GuestError::NotFound);
        }
        self.repo
            .find(doc)
            .await
            .map_err(|_| internal("repo stopped"))?
            .ok_or(GuestError::NotFound)
    }

    /// What the storefront requester sees: their words and the operators' answers.
    pub async fn guest_ticket(&self, ticket: &str) -> Result<GuestTicket, GuestError> {
        let handle = self.guest_ticket_doc(ticket).await?;
        let bytes = handle.with_document(|d| d.save());
        let doc = ticket_doc::load(&bytes, &server_device()).map_err(internal)?;
        let st = ticket_doc::derive(&doc.events()).ok_or(GuestError::NotFound)?;
        let mut messages = vec![GuestMessage {
            at_ms: st.opened_at.wall_ms,
            from: "You".into(),
            mine: true,
            text: st.message.clone(),
        }];
        messages.extend(st.guest_replies.iter().map(|(at, text)| GuestMessage {
            at_ms: at.wall_ms,
            from: "You".into(),
            mine: true,
            text: text.clone(),
        }));
        let link = ChatLink::Ticket {
            ticket: ticket.to_owned(),
        };
        if let Some(chat) = ruta_model::ids::doc_id_of_uuid(&chat_doc::chat_id(&link))
            && let Ok(Some(h)) = self.repo.find(chat).await
        {
            let bytes = h.with_document(|d| d.save());
            if let Ok(c) = chat_doc::load(&bytes, &server_device()) {
                // The directory is SQLite: read off the async workers.
                let dir = self.dir.clone();
                let names: std::collections::HashMap<String, String> =
                    tokio::task::spawn_blocking(move || dir.users().unwrap_or_default())
                        .await
                        .unwrap_or_default()
                        .into_iter()
                        .map(|u| (u.id.to_string(), u.name))
                        .collect();
                let chat = chat_doc::derive(&c.events());
                messages.extend(
                    chat.messages
                        .iter()
                        .filter(|m| !m.deleted && m.author.role.is_operator())
                        .map(|m| GuestMessage {
                            at_ms: m.at.wall_ms,
                            from: names
                                .get(m.author.user.as_str())
                                .filter(|n| !n.trim().is_empty())
                                .cloned()
                                .unwrap_or_else(|| "Support".into()),
                            mine: false,
                            // A guest has no way to fetch files: a photo is named.
                            text: match (&m.photo, m.text.trim().is_empty()) {
                                (Some(_), true) => "(a photo, shown in the app only)".into(),
                                (Some(_), false) => {
                                    format!("{}\n(with a photo, shown in the app only)", m.text)
                                }
                                (None, _) => m.text.clone(),
                            },
                        }),
                );
            }
        }
        messages.sort_by_key(|m| m.at_ms);
        Ok(GuestTicket {
            reference: ticket_doc::reference_of(ticket),
            subject: st.subject,
            status: st.status,
            messages,
        })
    }

    /// The storefront requester's answer, appended to their ticket.
    pub async fn guest_reply(
        &self,
        ticket: &str,
        text: &str,
        now_ms: i64,
    ) -> Result<(), GuestError> {
        let change = TicketChange::GuestReplied {
            text: text.trim().to_owned(),
        };
        ticket_doc::validate(&change).map_err(|e| GuestError::Invalid {
            field: e.field,
            message: e.message,
        })?;
        let handle = self.guest_ticket_doc(ticket).await?;
        handle.with_document(|d| {
            let mut doc = ticket_doc::load(&d.save(), &server_device()).map_err(internal)?;
            let events = doc.events();
            let st = ticket_doc::derive(&events).ok_or(GuestError::NotFound)?;
            if st.status == app_api::tickets::TicketStatus::Closed {
                return Err(GuestError::Closed);
            }
            doc.append(&TicketEvent {
                at: next_stamp(&events, now_ms),
                actor: storefront(),
                change,
            })
            .map_err(internal)?;
            d.load_incremental(&doc.save()).map_err(internal)?;
            Ok(())
        })
    }
}

//! One sync connection: authenticate, then sit between the WebSocket and the
//! sync engine so that every inbound message is checked before samod sees it.
//!
//! Checks. A malformed frame is answered with an automerge-repo `error` naming
//! the problem and a close frame; a refused write with `doc-unavailable` for
//! that document, carrying the reason, and the session goes on (up to
//! [`MAX_REFUSALS`]); each is logged and recorded (the server keeps serving others):
//! - frames: binary only, at most [`MAX_MESSAGE_BYTES`], CBOR maps with a
//!   `type` the protocol has;
//! - writes: only to documents the user may write (the access rules, before
//!   anything is applied), with every added event keyed under a device of the
//!   connected user;
//! - sync messages carrying changes: applied to a per-connection shadow copy of
//!   the document and judged by [`ruta_model::guard::check_write`]; changes
//!   to index and courier documents are refused outright; changes that build
//!   on history the server lacks never reach the engine: the guard asks the
//!   peer for that history instead (see `Guard::ask`), so the engine applies
//!   only judged changes;
//! - the session ends when its token expires, and within [`crate::tenant::TOKEN_RECHECK`] of its
//!   revocation (the tenant watches the tokens table; sessions re-check on a change).
//!
//! Reads are guarded by the share policy (see [`crate::tenant`]): a document the
//! user may not see is answered like a missing one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use automerge::{Automerge, ReadDoc};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt};
use ruta_model::access::{self, Access, DocFacts};
use ruta_model::guard::check_write;
use ruta_model::{DocumentId, decode_position, order_of};
use ruta_model::{
    cash_doc, chat_doc, config_doc, inbox_doc, session_doc, ticket_doc, trip_doc, waybill_doc,
};
use samod::PeerId;
use sync_storage::load_doc_bytes;

use crate::directory::{Authenticated, now_ms};
use crate::tenant::Tenant;
use crate::wire::{encode, field, text};

/// Largest protocol message accepted (a whole-document sync of a large order
/// with many proofs is far below this; blobs travel over HTTP).
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;

/// The peer id a session must use in the protocol handshake: the token's user
/// and id, plus the device's own id when it sends one (`?device=`), so two
/// devices sharing a token are two peers (sync state is kept per peer).
pub fn peer_id_for(auth: &Authenticated, device: Option<&str>) -> PeerId {
    match device {
        Some(d) => PeerId::from(format!(
            "ruta:{}:{}:{d}",
            auth.principal.user, auth.token_id
        )),
        None => PeerId::from(format!("ruta:{}:{}", auth.principal.user, auth.token_id)),
    }
}

/// A device id as sent in `?device=`: 1-64 of `[A-Za-z0-9-]`, else ignored.
pub fn valid_device(d: &str) -> bool {
    ruta_model::valid_device_id(d)
}

/// Why an inbound message was refused.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("{0}")]
    Protocol(String),
    #[error("write refused on {doc}: {reason}")]
    Write { doc: String, reason: String },
}

fn cbor_error(message: &str) -> Vec<u8> {
    encode(vec![("type", text("error")), ("message", text(message))])
}

struct Inbound<'a> {
    kind: String,
    sender: Option<String>,
    document: Option<String>,
    data: Option<&'a [u8]>,
}

fn parse(value: &ciborium::Value) -> Result<Inbound<'_>, Refused> {
    let map = value
        .as_map()
        .ok_or_else(|| Refused::Protocol("message is not a CBOR map".into()))?;
    let kind = field(map, "type")
        .and_then(|v| v.as_text())
        .ok_or_else(|| Refused::Protocol("message has no \"type\"".into()))?
        .to_owned();
    let sender = field(map, "senderId")
        .and_then(|v| v.as_text())
        .map(str::to_owned);
    let document = field(map, "documentId")
        .and_then(|v| v.as_text())
        .map(str::to_owned);
    let data = field(map, "data")
        .and_then(|v| v.as_bytes())
        .map(Vec::as_slice);
    Ok(Inbound {
        kind,
        sender,
        document,
        data,
    })
}

/// What becomes of one inbound message.
#[derive(Debug)]
enum Verdict {
    /// On to the sync engine.
    Forward,
    /// Dropped quietly (ephemera nobody may send).
    Drop,
    /// Not for the engine; this goes back to the peer instead.
    Answer(Vec<u8>),
}

/// The automerge-repo message types (besides `sync`, `request` and
/// `ephemeral`, which the guard reads) that go on to the engine as they are.
const KNOWN_TYPES: &[&str] = &[
    "join",
    "peer",
    "leave",
    "doc-unavailable",
    "remote-heads-changed",
    "remote-subscription-change",
    "error",
];

/// Refused writes one session may make before it is closed: a device with a
/// stale document or two is refused per document and keeps syncing the rest;
/// one that keeps sending refused writes is not a device of ours.
pub const MAX_REFUSALS: u32 = 32;

/// How often the guard reloads a document (storage and the engine's copy,
/// 25 ms apart) before it asks the peer for the history its changes build on.
const RELOADS: u32 = 3;
/// How often one session is asked for the same change before it is refused.
const MAX_ASKS: u32 = 16;
/// How many distinct unknown changes one session may be asked for.
const MAX_ASKED_HASHES: usize = 4096;

fn short(hash: &automerge::ChangeHash) -> String {
    hash.to_string()[..12].to_owned()
}

/// Per-connection state of the guard.
struct Guard {
    tenant: Arc<Tenant>,
    auth: Authenticated,
    peer: PeerId,
    /// Changes this session was asked for, and how often.
    asked: HashMap<automerge::ChangeHash, u32>,
}

impl Guard {
    /// The document as this server has it: storage, plus (with `live`) what the
    /// engine holds in memory.
    async fn base(&self, doc: &str, live: bool) -> Automerge {
        let storage = self.tenant.storage.clone();
        let id = doc.to_owned();
        let load = move || {
            let bytes = load_doc_bytes(storage.as_ref(), &id).unwrap_or_default();
            Automerge::load(&bytes).unwrap_or_else(|_| Automerge::new())
        };
        // In place (a few ms of SQLite and decoding): this session's messages
        // wait for it in order anyway, and a round trip through the blocking
        // pool costs a reschedule of this task on a busy runtime — ~12 ms per
        // document when a courier reconnected with 200 changed orders (2.4 s of
        // its 3.4 s in the guard; `cargo bench -p sync-server --bench reconnect`).
        let mut base = match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(load),
            _ => tokio::task::spawn_blocking(load)
                .await
                .unwrap_or_else(|_| Automerge::new()),
        };
        // The engine may have applied changes it has not stored yet (or a store
        // was lost when a connection dropped), and its sync messages tell peers
        // it has them, so peers will never send them again. Judging against
        // storage alone refused every later change of such a document forever
        // ("changes depend on history this server does not have", a livelock
        // seen under load). Only asked when storage is not enough: `find` of a
        // document the engine does not hold asks the connected peers, this one
        // included, whose messages wait behind this check until the timeout
        // (300 ms per new document, every document a device created stalled).
        if live && let Ok(doc_id) = doc.parse::<DocumentId>() {
            let found =
                tokio::time::timeout(Duration::from_millis(300), self.tenant.repo.find(doc_id))
                    .await;
            if let Ok(Ok(Some(handle))) = found {
                let live = handle.with_document(|d| d.clone());
                let _ = base.merge(&mut live.clone());
            }
        }
        base
    }

    /// Judges one inbound message.
    async fn check(&mut self, bytes: &[u8]) -> Result<Verdict, Refused> {
        let value: ciborium::Value = ciborium::from_reader(bytes)
            .map_err(|e| Refused::Protocol(format!("not a CBOR message: {e}")))?;
        let msg = parse(&value)?;
        match msg.kind.as_str() {
            "sync" | "request" => {}
            "ephemeral" => {
                let relay =
                    self.ephemeral(msg.sender.as_deref(), msg.document.as_deref(), msg.data);
                return Ok(if relay {
                    Verdict::Forward
                } else {
                    Verdict::Drop
                });
            }
            k if KNOWN_TYPES.contains(&k) => return Ok(Verdict::Forward),
            other => {
                return Err(Refused::Protocol(format!(
                    "unknown message type {other:?} (expected one of {})",
                    KNOWN_TYPES.join(", ")
                )));
            }
        }
        let doc = msg
            .document
            .ok_or_else(|| Refused::Protocol(format!("{} message without documentId", msg.kind)))?;
        let doc_id: DocumentId = doc
            .parse()
            .map_err(|_| Refused::Protocol(format!("documentId {doc:?} is not a document id")))?;
        let data = msg
            .data
            .ok_or_else(|| Refused::Protocol(format!("{} message without data", msg.kind)))?;
        let sync = automerge::sync::Message::decode(data)
            .map_err(|e| Refused::Protocol(format!("sync data for {doc} does not decode: {e}")))?;
        if sync.changes.is_empty() {
            return Ok(Verdict::Forward);
        }
        let write = |reason: String| Refused::Write {
            doc: doc.clone(),
            reason,
        };
        // A courier's own cash ledger may be new to the server (their phone
        // made it offline): its id says whose it is.
        let mut facts = access::facts_for(
            &self.auth.principal,
            &doc,
            self.tenant.shared.facts_or_provisional(&doc),
        );
        // A conversation new to the server (a courier's phone may start an
        // order's chat offline): its first change names its link, which
        // decides who takes part; its id must be the link's.
        let mut new_chat = false;
        if facts.is_none()
            && let Some(link) = new_chat_link(&doc_id, &sync)
        {
            facts = Some(self.tenant.chat_facts(&link).await);
            new_chat = true;
        }
        if matches!(
            facts,
            Some(DocFacts::Index { .. } | DocFacts::Courier { .. })
        ) {
            return Err(write("this document is written by the server only".into()));
        }
        // Whether this peer may write the document at all, before anything of
        // it is applied anywhere: a write the engine would drop for want of
        // access must not leave its changes in the tenant's shadow cache,
        // where they would be judged as history for everyone else.
        if access::decide(&self.auth.principal, facts.as_ref()) != Access::ReadWrite {
            return Err(write("this user may not write this document".into()));
        }
        let config = matches!(facts, Some(DocFacts::Config | DocFacts::StaffConfig));
        let known_trip = matches!(facts, Some(DocFacts::Trip { .. }));
        let known_cash = matches!(facts, Some(DocFacts::Cash { .. }));
        let known_waybill = matches!(facts, Some(DocFacts::Waybill));
        let known_session = matches!(facts, Some(DocFacts::Session { .. }));
        let known_chat = matches!(facts, Some(DocFacts::Chat { .. }));
        let known_inbox = matches!(facts, Some(DocFacts::Inbox { .. }));
        let known_ticket = matches!(facts, Some(DocFacts::Ticket { .. }));
        let order = if config
            || known_trip
            || known_cash
            || known_waybill
            || known_session
            || known_chat
            || known_ticket
        {
            None
        } else {
            Some(order_of(&doc_id).ok_or_else(|| write("not an order document id".into()))?)
        };
        // Apply to the shadow; if the peer's changes build on history the
        // shadow lacks (the engine has not stored it yet), reload and retry.
        // Shadows are the tenant's (every accepted write leaves its result
        // there), so a reconnecting device's first write to a document costs
        // no storage load; one missing history is simply reloaded.
        let mut attempt = 0;
        loop {
            let cached = if attempt == 0 {
                self.tenant.shadows.take(&doc)
            } else {
                None
            };
            let shadow = match cached {
                Some(shadow) => shadow,
                // Storage first; the engine's copy only when storage lacks history.
                None => self.base(&doc, attempt > 0).await,
            };
            let mut trial = shadow.clone();
            for chunk in sync.changes.iter() {
                if let Err(e) = trial.load_incremental(chunk) {
                    self.tenant.shadows.put(&doc, shadow);
                    return Err(write(format!("changes do not decode: {e}")));
                }
            }
            let missing = trial.get_missing_deps(&[]);
            if !missing.is_empty() {
                attempt += 1;
                if attempt <= RELOADS {
                    if attempt > 1 {
                        tokio::time::sleep(Duration::from_millis(25)).await;
                    }
                    continue;
                }
                // Neither storage nor the engine has what these changes build
                // on. The normal cause is the sync protocol's Bloom filter: a
                // peer sends what the server's filter says it lacks, and a
                // false positive (~1%, the same every time for the same
                // history) on a parent leaves only its child sent. Automerge's
                // own recovery is to queue the child and ask for the parent,
                // but a queued child would later be applied by the engine
                // without having been judged here. So nothing of this message
                // reaches the engine; the guard asks the peer for the parents
                // itself, and the child comes again with them or after them.
                let heads = shadow.get_heads();
                self.tenant.shadows.put(&doc, shadow);
                return self.ask(&doc, heads, &sync, missing).map_err(write);
            }
            // A document the server does not know yet is a trip's when its
            // content says so (the trip guard then requires its creation).
            let trip = known_trip || (facts.is_none() && trip_doc::is_trip_doc(&trial));
            let cash = known_cash || (facts.is_none() && cash_doc::is_cash_doc(&trial));
            let waybill = known_waybill || (facts.is_none() && waybill_doc::is_waybill_doc(&trial));
            let session = known_session || (facts.is_none() && session_doc::is_session_doc(&trial));
            let chat = known_chat || (facts.is_none() && chat_doc::is_chat_doc(&trial));
            let inbox = known_inbox || (facts.is_none() && inbox_doc::is_inbox_doc(&trial));
            let ticket = known_ticket || (facts.is_none() && ticket_doc::is_ticket_doc(&trial));
            let judged = match &order {
                _ if ticket => {
                    let shared = &self.tenant.shared;
                    let me = &self.auth.principal.user;
                    let their_order = |o: &str| {
                        ruta_model::ids::doc_id_of_uuid(o)
                            .and_then(|d| shared.facts(&d.to_string()))
                            .is_some_and(|f| {
                                matches!(f, DocFacts::Order { client: Some(c), .. } if c == *me)
                            })
                    };
                    ticket_doc::check_write(&shadow, &trial, &self.auth.principal, &their_order)
                        .map(|added| added_ids(&added))
                        .map_err(|e| e.to_string())
                }
                _ if inbox => {
                    inbox_doc::check_write(&doc_id, &shadow, &trial, &self.auth.principal)
                        .map(|added| added_ids(&added))
                        .map_err(|e| e.to_string())
                }
                _ if chat => chat_doc::check_write(&doc_id, &shadow, &trial, &self.auth.principal)
                    .map(|added| added_ids(&added))
                    .map_err(|e| e.to_string()),
                _ if session => {
                    session_doc::check_write(&doc_id, &shadow, &trial, &self.auth.principal)
                        .map(|added| added_ids(&added))
                        .map_err(|e| e.to_string())
                }
                _ if waybill => waybill_doc::check_write(&shadow, &trial, &self.auth.principal)
                    .map(|added| added_ids(&added))
                    .map_err(|e| e.to_string()),
                _ if cash => cash_doc::check_write(&doc_id, &shadow, &trial, &self.auth.principal)
                    .map(|added| added_ids(&added))
                    .map_err(|e| e.to_string()),
                _ if trip => trip_doc::check_write(&shadow, &trial, &self.auth.principal)
                    .map(|added| added_ids(&added))
                    .map_err(|e| e.to_string()),
                Some(order) => check_write(&shadow, &trial, order, &self.auth.principal)
                    .map(|added| {
                        added
                            .iter()
                            .map(|e| (e.id(), e.actor.device.to_string()))
                            .collect()
                    })
                    .map_err(|e| e.to_string()),
                None => config_doc::check_write(&shadow, &trial, &self.auth.principal)
                    .map(|added| {
                        added
                            .iter()
                            .map(|e| (e.id(), e.actor.device.to_string()))
                            .collect()
                    })
                    .map_err(|e| e.to_string()),
            };
            let added = match judged {
                Ok(added) => added,
                Err(e) => {
                    self.tenant.shadows.put(&doc, shadow);
                    return Err(write(e));
                }
            };
            if let Err(e) = self.devices_are_theirs(&added) {
                self.tenant.shadows.put(&doc, shadow);
                return Err(write(e));
            }
            // A new document's facts, from the content just judged, hold
            // until the projector records them: in between, the share
            // policy must not take it for a document nobody owns yet
            // (anyone may name an inbox's id).
            let fresh = if facts.is_none() && inbox {
                inbox_doc::owner_of(&trial).map(|owner| DocFacts::Inbox { owner })
            } else if facts.is_none() && ticket {
                ticket_doc::facts_of(&trial)
            } else {
                None
            };
            self.tenant.shadows.put(&doc, trial);
            if new_chat && let Some(f) = facts {
                self.tenant.shared.set_provisional(&doc, f);
            } else if let Some(f) = fresh {
                self.tenant.shared.set_provisional(&doc, f);
            }
            return Ok(Verdict::Forward);
        }
    }

    /// Every added event names a device of the connected user (its key space,
    /// see [`ruta_model::guard`]): a device belongs to the first user whose
    /// write or connection named it.
    fn devices_are_theirs(&self, added: &[(String, String)]) -> Result<(), String> {
        let user = &self.auth.principal.user;
        let mut checked: Vec<&str> = Vec::new();
        for (event, device) in added {
            let device = device.as_str();
            if checked.contains(&device) {
                continue;
            }
            let owner = block_on_store(|| self.tenant.device_owner(device, user))
                .map_err(|e| format!("device directory: {e}"))?;
            if owner != *user {
                return Err(format!(
                    "event {event} names device {device}, which belongs to another user"
                ));
            }
            checked.push(device);
        }
        Ok(())
    }

    /// The answer to a message whose changes build on history this server
    /// does not have: a sync message, as if from the engine, that needs the
    /// missing changes and resets what the peer believes it has sent (with
    /// automerge's `SYNC_RESET` flag when the peer advertises it, else by
    /// announcing no heads, which every version reads as "start over"). The
    /// peer answers with the parents (by hash, whatever any filter says); the
    /// dropped children follow when the engine asks for the peer's heads.
    /// A peer that is asked for the same change [`MAX_ASKS`] times without
    /// sending it is refused: it is not speaking the protocol.
    fn ask(
        &mut self,
        doc: &str,
        our_heads: Vec<automerge::ChangeHash>,
        theirs: &automerge::sync::Message,
        missing: Vec<automerge::ChangeHash>,
    ) -> Result<Verdict, String> {
        use automerge::sync::{ChunkList, Message, MessageFlags, MessageVersion};
        if self.asked.len() >= MAX_ASKED_HASHES {
            return Err(format!(
                "changes depend on history this server does not have ({} missing, e.g. {}); \
                 the session asked for {MAX_ASKED_HASHES} unknown changes already",
                missing.len(),
                short(&missing[0])
            ));
        }
        for hash in &missing {
            let n = self.asked.entry(*hash).or_insert(0);
            *n += 1;
            if *n > MAX_ASKS {
                return Err(format!(
                    "changes depend on history this server does not have ({} missing, e.g. {}; \
                     {} changes sent); the device was asked for {} {MAX_ASKS} times and never sent it",
                    missing.len(),
                    short(&missing[0]),
                    theirs.changes.len(),
                    short(hash),
                ));
            }
        }
        let resets = theirs
            .flags
            .is_some_and(|f| f.contains(MessageFlags::SUPPORTS_SYNC_RESET));
        let mut flags = MessageFlags::new();
        flags.set(MessageFlags::SUPPORTS_SYNC_RESET);
        if resets {
            flags.set(MessageFlags::SYNC_RESET);
        }
        tracing::info!(
            user = %self.auth.principal.user,
            doc,
            missing = missing.len(),
            first = %short(&missing[0]),
            "asking the peer for history its changes build on"
        );
        let data = Message {
            heads: if resets { our_heads } else { Vec::new() },
            need: missing,
            have: Vec::new(),
            changes: ChunkList::empty(),
            flags: Some(flags),
            version: MessageVersion::V1,
        }
        .encode();
        let out = encode(vec![
            ("type", text("sync")),
            ("documentId", text(doc)),
            ("senderId", text(self.tenant.repo.peer_id().as_str())),
            ("targetId", text(self.peer.as_str())),
            ("data", ciborium::Value::Bytes(data)),
        ]);
        Ok(Verdict::Answer(out))
    }

    /// Ephemeral messages: the only ones relayed are live positions a courier
    /// sends, as itself, on its own courier document (samod relays them to the
    /// peers that opened that document, which the share policy limits to the
    /// courier and the tenant's operators). Anything else — ephemera on orders
    /// or indexes, an operator writing on a courier's document, another sender
    /// id, data that is not a position — is dropped, so no position can be
    /// forged and no other peer is reached. Positions are also kept as a
    /// downsampled breadcrumb; they are never stored in document history.
    fn ephemeral(&self, sender: Option<&str>, doc: Option<&str>, data: Option<&[u8]>) -> bool {
        let who = &self.auth.principal;
        if sender != Some(self.peer.as_str()) {
            return false;
        }
        let (Some(doc), Some(data)) = (doc, data) else {
            return false;
        };
        let own = match self.tenant.shared.facts(doc) {
            Some(DocFacts::Courier { owner }) => owner == who.user,
            _ => return false,
        };
        if ruta_model::policy::allow(
            &who.user,
            who.role,
            ruta_model::policy::Call::SendPosition { own },
        )
        .is_err()
        {
            return false;
        }
        let Some((at, lat, lon)) = decode_position(data) else {
            return false;
        };
        self.tenant.breadcrumb(&who.user, at, lat, lon);
        true
    }
}

/// Runs a short store call in place on a multi-threaded runtime (see
/// `Guard::base` for why not through the blocking pool).
fn block_on_store<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::current().runtime_flavor() {
        tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// `doc-unavailable` for `doc`, sent in place of a refused write, with the
/// reason in an extra `message` field: the peer's engine ignores the message
/// for a document it holds (and the field, which is not the protocol's) and
/// keeps the session, so one refused document does not stop the others; a
/// client that looks can read why. (An `error` would end the peer's session.)
fn unavailable(doc: &str, server: &PeerId, peer: &PeerId, reason: &str) -> Vec<u8> {
    encode(vec![
        ("type", text("doc-unavailable")),
        ("documentId", text(doc)),
        ("senderId", text(server.as_str())),
        ("targetId", text(peer.as_str())),
        ("message", text(reason)),
    ])
}

/// Runs one authenticated WebSocket session until either side ends it.
pub async fn session(
    socket: WebSocket,
    tenant: Arc<Tenant>,
    auth: Authenticated,
    device: Option<String>,
) {
    let peer = peer_id_for(&auth, device.as_deref());
    tenant.register_peer(peer.clone(), auth.principal.clone());
    let user = auth.principal.user.clone();
    let token_id = auth.token_id.clone();
    let who_role = auth.principal.role;
    let (mut ws_tx, mut ws_rx) = socket.split();
    // The engine's messages to the peer, and the guard's own answers (`Verdict::Answer`).
    let (mut out_tx, mut out_rx) = futures::channel::mpsc::channel::<Vec<u8>>(64);
    let (in_tx, in_rx) = futures::channel::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(64);
    let (close_tx, mut close_rx) = tokio::sync::oneshot::channel::<String>();
    let transport =
        samod::Transport::new(in_rx, out_tx.clone()).with_expected_peer_id(peer.clone());
    if tenant.acceptor.accept(transport).is_err() {
        return;
    }
    // Writer: engine -> socket, then a close frame with the reason, if any.
    let writer = tokio::spawn(async move {
        // The engine may close its side first (when the reader ends the
        // stream); the reason, if any, still goes out before the close frame.
        let mut engine_open = true;
        loop {
            tokio::select! {
                msg = out_rx.next(), if engine_open => match msg {
                    Some(bytes) => {
                        if ws_tx.send(Message::Binary(bytes.into())).await.is_err() {
                            return;
                        }
                    }
                    None => engine_open = false,
                },
                reason = &mut close_rx => {
                    if let Ok(reason) = reason {
                        let _ = ws_tx.send(Message::Binary(cbor_error(&reason).into())).await;
                        let _ = ws_tx
                            .send(Message::Close(Some(CloseFrame {
                                code: 1008,
                                reason: reason.chars().take(120).collect::<String>().into(),
                            })))
                            .await;
                    }
                    break;
                }
            }
        }
        let _ = ws_tx.close().await;
    });
    let mut guard = Guard {
        tenant: tenant.clone(),
        auth,
        peer: peer.clone(),
        asked: HashMap::new(),
    };
    let mut in_tx = in_tx;
    let mut refusals = 0u32;
    // The device this session names is its user's from now on (the key space
    // of its events; see `Guard::devices_are_theirs`).
    if let Some(d) = &device
        && let Err(e) = block_on_store(|| tenant.device_owner(d, &user))
    {
        tracing::warn!(user = %user, device = %d, error = %e, "device not recorded");
    }
    let mut tokens_changed = tenant.tokens_changed.subscribe();
    // The token's expiry is known; a revocation shows as a change of the
    // tokens table (one watcher per tenant), after which this token is re-read.
    let expires_ms = guard.auth.expires_ms;
    let expiry = async move {
        match expires_ms {
            Some(at) => {
                let left = u64::try_from(at - now_ms()).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(left)).await
            }
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expiry);
    let reason: Option<String> = loop {
        tokio::select! {
            _ = &mut expiry => break Some("token expired".into()),
            changed = tokens_changed.changed() => {
                if changed.is_err() {
                    break Some("server shutting down".into());
                }
                let dir = tenant.dir.clone();
                let id = token_id.clone();
                let role = who_role;
                let live = tokio::task::spawn_blocking(move || dir.session_live(&id, role, now_ms())).await;
                if !matches!(live, Ok(Ok(true))) {
                    break Some("token revoked or expired, or the user disabled or given another role".into());
                }
            }
            msg = ws_rx.next() => {
                let bytes = match msg {
                    None | Some(Ok(Message::Close(_))) => break None,
                    Some(Err(e)) => break Some(format!("transport error: {e}")),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Text(_))) => break Some("text frames are not part of the sync protocol; send binary CBOR".into()),
                    Some(Ok(Message::Binary(b))) => b,
                };
                if bytes.len() > MAX_MESSAGE_BYTES {
                    break Some(format!("message of {} bytes exceeds the limit of {MAX_MESSAGE_BYTES}", bytes.len()));
                }
                match guard.check(&bytes).await {
                    Ok(Verdict::Drop) => {}
                    Ok(Verdict::Forward) => {
                        if in_tx.send(Ok(bytes.to_vec())).await.is_err() {
                            break None;
                        }
                    }
                    Ok(Verdict::Answer(reply)) => {
                        if out_tx.send(reply).await.is_err() {
                            break None;
                        }
                    }
                    Err(refused) => {
                        let text = refused.to_string();
                        let doc = match &refused { Refused::Write { doc, .. } => Some(doc.clone()), _ => None };
                        tracing::warn!(user = %user, doc = ?doc, reason = %text, "refused");
                        let dir = tenant.dir.clone();
                        let u = user.clone();
                        let t = text.clone();
                        let d = doc.clone();
                        let _ = tokio::task::spawn_blocking(move || dir.log_refusal(now_ms(), &u, d.as_deref(), &t)).await;
                        // A refused write costs that document only; a malformed
                        // frame, or too many refusals, ends the session.
                        refusals += 1;
                        match doc {
                            Some(doc) if refusals <= MAX_REFUSALS => {
                                let reply = unavailable(&doc, &tenant.repo.peer_id(), &peer, &text);
                                if out_tx.send(reply).await.is_err() {
                                    break None;
                                }
                            }
                            Some(_) => break Some(format!("{text} ({MAX_REFUSALS} refused writes in this session)")),
                            None => break Some(text),
                        }
                    }
                }
            }
        }
    };
    drop(in_tx);
    if let Some(reason) = reason {
        tracing::info!(user = %user, reason = %reason, "session closed by server");
        let _ = close_tx.send(reason);
    } else {
        drop(close_tx);
    }
    drop(out_tx);
    let _ = writer.await;
}

/// The link of a conversation whose first change is among `changes` and
/// whose id is that link's (None for anything else).
fn new_chat_link(
    doc: &DocumentId,
    sync: &automerge::sync::Message,
) -> Option<app_api::chat::ChatLink> {
    let mut d = automerge::Automerge::new();
    for c in sync.changes.iter() {
        d.load_incremental(c).ok()?;
    }
    let link = chat_doc::link_of(&d)?;
    (ruta_model::ids::doc_id_of_uuid(&chat_doc::chat_id(&link)).as_ref() == Some(doc))
        .then_some(link)
}

/// (event id, device) of each event a write adds.
fn added_ids<E: ruta_model::event_doc::LedgerEvent>(added: &[E]) -> Vec<(String, String)> {
    added
        .iter()
        .map(|e| (e.id(), e.actor().device.to_string()))
        .collect()
}

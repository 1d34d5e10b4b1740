//! A courier session that speaks just enough of the automerge-repo WebSocket
//! protocol for the fleet benchmarks (location, chat), so the load generator
//! is not the bottleneck: `GET /v1/me`, `join`/`peer`, a `request` for the
//! user's index and courier documents (answered with real Automerge sync
//! until in step, as a device would), then `ephemeral` position messages
//! ([`RawCourier::send_position`]) or writes of documents of its own
//! ([`RawCourier::write`]: Automerge sync of changes the caller made).
//! Thousands of them share the bench's runtime.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::sync::SyncDoc;
use ciborium::Value;
use futures::{SinkExt, StreamExt};
use sync_server::wire::{encode, field, text};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// The documents a session keeps in step with the server: id -> (its copy,
/// the sync state with the server).
type Docs = Arc<Mutex<HashMap<String, (automerge::Automerge, automerge::sync::State)>>>;

/// A connected raw courier: send positions with [`RawCourier::send_position`],
/// write documents with [`RawCourier::write`].
pub struct RawCourier {
    out: mpsc::UnboundedSender<Vec<u8>>,
    peer: String,
    server: String,
    courier_doc: String,
    session: String,
    count: u64,
    docs: Docs,
    refusals: Arc<Mutex<Vec<String>>>,
}

/// An automerge-repo sync (or request) message from `peer` to `server`.
fn sync_message(kind: &str, peer: &str, server: &str, doc: &str, data: Vec<u8>) -> Vec<u8> {
    encode(vec![
        ("type", text(kind)),
        ("senderId", text(peer)),
        ("targetId", text(server)),
        ("documentId", text(doc)),
        ("data", Value::Bytes(data)),
    ])
}

impl RawCourier {
    /// Signs in and completes the handshake; the session's reader runs as a task.
    pub async fn connect(
        http: &reqwest::Client,
        base: &url::Url,
        token: &str,
        device: &str,
    ) -> Result<Self, String> {
        let mut me_url = base.join("v1/me").expect("path");
        me_url.query_pairs_mut().append_pair("device", device);
        let me: serde_json::Value = http
            .get(me_url)
            .bearer_auth(token)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .map_err(|e| format!("/v1/me: {e}"))?
            .json()
            .await
            .map_err(|e| format!("/v1/me body: {e}"))?;
        let peer = me["peer_id"].as_str().ok_or("no peer_id")?.to_owned();
        let doc_of = |k: &str| {
            me[k]
                .as_str()
                .and_then(|u| u.strip_prefix("automerge:"))
                .map(str::to_owned)
        };
        let index_doc = doc_of("index_url").ok_or("no index")?;
        let courier_doc = doc_of("courier_url").ok_or("not a courier")?;
        let mut ws = base.clone();
        ws.set_scheme("ws").expect("ws");
        ws.set_path("/v1/sync");
        ws.query_pairs_mut()
            .append_pair("token", token)
            .append_pair("device", device);
        let (socket, _) = tokio_tungstenite::connect_async(ws.as_str())
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut sink, mut stream) = socket.split();
        let join = encode(vec![
            ("type", text("join")),
            ("senderId", text(&peer)),
            ("supportedProtocolVersions", Value::Array(vec![text("1")])),
            (
                "peerMetadata",
                Value::Map(vec![(text("isEphemeral"), Value::Bool(false))]),
            ),
        ]);
        sink.send(Message::Binary(join.into()))
            .await
            .map_err(|e| format!("join: {e}"))?;
        let server = loop {
            let Some(Ok(msg)) = stream.next().await else {
                return Err("closed before peer".into());
            };
            let Message::Binary(bytes) = msg else {
                continue;
            };
            let v: Value = ciborium::from_reader(&bytes[..]).map_err(|e| e.to_string())?;
            let map = v.as_map().ok_or("not a map")?;
            if field(map, "type").and_then(Value::as_text) == Some("peer") {
                break field(map, "senderId")
                    .and_then(Value::as_text)
                    .ok_or("peer without senderId")?
                    .to_owned();
            }
        };
        let (out, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        // Writer.
        tokio::spawn(async move {
            while let Some(bytes) = out_rx.recv().await {
                if sink.send(Message::Binary(bytes.into())).await.is_err() {
                    return;
                }
            }
        });
        // Ask for both documents like a device does, then keep them in step.
        let docs: Docs = Arc::default();
        for doc in [&index_doc, &courier_doc] {
            let d = automerge::Automerge::new();
            let mut state = automerge::sync::State::new();
            let first = d
                .generate_sync_message(&mut state)
                .expect("first message")
                .encode();
            let _ = out.send(sync_message("request", &peer, &server, doc, first));
            docs.lock().unwrap().insert(doc.clone(), (d, state));
        }
        let refusals: Arc<Mutex<Vec<String>>> = Arc::default();
        let (reader_out, reader_peer, reader_server) = (out.clone(), peer.clone(), server.clone());
        let (reader_docs, reader_refusals) = (docs.clone(), refusals.clone());
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Binary(bytes) = msg else {
                    continue;
                };
                let Ok(v) = ciborium::from_reader::<Value, _>(&bytes[..]) else {
                    continue;
                };
                let Some(map) = v.as_map() else { continue };
                let doc = field(map, "documentId").and_then(Value::as_text);
                match field(map, "type").and_then(Value::as_text) {
                    Some("sync") => {}
                    // A refused write (or the session refused): the server's reason.
                    Some(kind @ ("doc-unavailable" | "error")) => {
                        let why = field(map, "message").and_then(Value::as_text);
                        reader_refusals.lock().unwrap().push(format!(
                            "{kind} {}: {}",
                            doc.unwrap_or("-"),
                            why.unwrap_or("no reason given")
                        ));
                        continue;
                    }
                    _ => continue,
                }
                let (Some(doc), Some(data)) = (doc, field(map, "data").and_then(Value::as_bytes))
                else {
                    continue;
                };
                let Ok(m) = automerge::sync::Message::decode(data) else {
                    continue;
                };
                let mut docs = reader_docs.lock().unwrap();
                let Some((d, state)) = docs.get_mut(doc) else {
                    continue;
                };
                if d.receive_sync_message(state, m).is_err() {
                    continue;
                }
                if let Some(reply) = d.generate_sync_message(state) {
                    let reply = reply.encode();
                    let _ = reader_out.send(sync_message(
                        "sync",
                        &reader_peer,
                        &reader_server,
                        doc,
                        reply,
                    ));
                }
            }
        });
        Ok(Self {
            out,
            peer,
            server,
            courier_doc,
            session: format!("{device}-s"),
            count: 0,
            docs,
            refusals,
        })
    }

    /// Merges `changes` (a saved document or changes of it, written by the
    /// caller) into this session's copy of `doc`, opening it if new, and
    /// sends the server what it lacks as Automerge sync; false when the
    /// bytes do not load or the session has ended.
    #[allow(dead_code)] // not every bench writes documents
    pub fn write(&self, doc: &str, changes: &[u8]) -> bool {
        let mut docs = self.docs.lock().unwrap();
        let (d, state) = docs.entry(doc.to_owned()).or_default();
        if d.load_incremental(changes).is_err() {
            return false;
        }
        match d.generate_sync_message(state) {
            Some(m) => self
                .out
                .send(sync_message(
                    "sync",
                    &self.peer,
                    &self.server,
                    doc,
                    m.encode(),
                ))
                .is_ok(),
            // A message is in flight: the changes go with the reply to it.
            None => !self.out.is_closed(),
        }
    }

    /// What the server refused this session so far (`doc-unavailable` with
    /// its reason, or `error`).
    #[allow(dead_code)] // not every bench writes documents
    pub fn refusals(&self) -> Vec<String> {
        self.refusals.lock().unwrap().clone()
    }

    /// One position as an automerge-repo ephemeral message on the courier's document.
    #[allow(dead_code)] // not every bench sends positions
    pub fn send_position(&mut self, data: Vec<u8>) -> bool {
        self.count += 1;
        self.out
            .send(encode(vec![
                ("type", text("ephemeral")),
                ("senderId", text(&self.peer)),
                ("targetId", text(&self.server)),
                ("count", Value::Integer(self.count.into())),
                ("sessionId", text(&self.session)),
                ("documentId", text(&self.courier_doc)),
                ("data", Value::Bytes(data)),
            ]))
            .is_ok()
    }
}

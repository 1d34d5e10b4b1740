//! A courier session that speaks just enough of the automerge-repo WebSocket
//! protocol for the location benchmark, so the load generator is not the
//! bottleneck: `GET /v1/me`, `join`/`peer`, a `request` for the user's index
//! and courier documents (answered with real Automerge sync until in step,
//! as a device would), then `ephemeral` position messages. Thousands of them
//! share the bench's runtime.

use std::collections::HashMap;
use std::time::Duration;

use automerge::sync::SyncDoc;
use ciborium::Value;
use futures::{SinkExt, StreamExt};
use sync_server::wire::{encode, field, text};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// A connected raw courier: send positions with [`RawCourier::send_position`].
pub struct RawCourier {
    out: mpsc::UnboundedSender<Vec<u8>>,
    peer: String,
    server: String,
    courier_doc: String,
    session: String,
    count: u64,
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
        let mut docs: HashMap<String, (automerge::Automerge, automerge::sync::State)> =
            HashMap::new();
        for doc in [&index_doc, &courier_doc] {
            let d = automerge::Automerge::new();
            let mut state = automerge::sync::State::new();
            let first = d
                .generate_sync_message(&mut state)
                .expect("first message")
                .encode();
            let _ = out.send(encode(vec![
                ("type", text("request")),
                ("senderId", text(&peer)),
                ("targetId", text(&server)),
                ("documentId", text(doc)),
                ("data", Value::Bytes(first)),
            ]));
            docs.insert(doc.clone(), (d, state));
        }
        let (reader_out, reader_peer, reader_server) = (out.clone(), peer.clone(), server.clone());
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Binary(bytes) = msg else {
                    continue;
                };
                let Ok(v) = ciborium::from_reader::<Value, _>(&bytes[..]) else {
                    continue;
                };
                let Some(map) = v.as_map() else { continue };
                if field(map, "type").and_then(Value::as_text) != Some("sync") {
                    continue;
                }
                let (Some(doc), Some(data)) = (
                    field(map, "documentId").and_then(Value::as_text),
                    field(map, "data").and_then(Value::as_bytes),
                ) else {
                    continue;
                };
                let Some((d, state)) = docs.get_mut(doc) else {
                    continue;
                };
                let Ok(m) = automerge::sync::Message::decode(data) else {
                    continue;
                };
                if d.receive_sync_message(state, m).is_err() {
                    continue;
                }
                if let Some(reply) = d.generate_sync_message(state) {
                    let _ = reader_out.send(encode(vec![
                        ("type", text("sync")),
                        ("senderId", text(&reader_peer)),
                        ("targetId", text(&reader_server)),
                        ("documentId", text(doc)),
                        ("data", Value::Bytes(reply.encode())),
                    ]));
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
        })
    }

    /// One position as an automerge-repo ephemeral message on the courier's document.
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

//! `sync-loadgen`: a lean automerge-repo client for load tests of any sync
//! server that speaks the automerge-repo network protocol (v1, CBOR over
//! WebSocket): ours, or the stock JS server.
//!
//! It reads one job as JSON on stdin — clients (WebSocket URL, peer id, the
//! documents it fetches), how many fetches each keeps in flight, a per-fetch
//! time limit — and for each client joins, then per document sends a
//! `request` and answers every `sync` until the document has arrived (its root
//! has `schema`), exactly as `connectRaw` in `scripts/bench/sync-side-by-side.mjs`
//! does with `@automerge/automerge`. It writes one JSON line to stdout: the
//! time from all clients joined to all documents fetched, each fetch's
//! latency, the documents that arrived without events, the sync messages
//! received and sent, and its own CPU time.
//! Errors (a server `error` message, `doc-unavailable`, a closed socket, a
//! fetch over the time limit) end the run with the reason on stderr and exit 1.
//!
//! Why a Rust client: with node clients, the clients' CPU per document was
//! larger than either server's, on one 2-core machine, so documents per second
//! measured the load generator (BENCHMARKS.md, "side by side").

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::time::{Duration, Instant};

use automerge::sync::{Message as SyncMessage, State, SyncDoc};
use automerge::{Automerge, ROOT, ReadDoc};
use ciborium::Value;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use sync_server::wire::{encode, get, get_text, text};
use tokio_tungstenite::tungstenite::Message;

#[derive(Deserialize)]
struct Job {
    clients: Vec<Client>,
    in_flight: usize,
    step_ms: u64,
}

#[derive(Deserialize)]
struct Client {
    url: String,
    peer_id: String,
    docs: Vec<String>,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A joined session: the socket and the server's peer id.
struct Session {
    ws: Socket,
    me: String,
    server: String,
}

impl Session {
    async fn join(url: &str, me: &str, within: Duration) -> Result<Self, Error> {
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
        ws.send(Message::Binary(
            encode(vec![
                ("type", text("join")),
                ("senderId", text(me)),
                ("supportedProtocolVersions", Value::Array(vec![text("1")])),
                (
                    "peerMetadata",
                    Value::Map(vec![(text("isEphemeral"), Value::Bool(true))]),
                ),
            ])
            .into(),
        ))
        .await?;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let msg = tokio::time::timeout_at(deadline, ws.next())
                .await
                .map_err(|_| format!("{me}: no peer message within {within:?}"))?;
            let Some(msg) = msg else {
                return Err(format!("{me}: socket closed before the peer message").into());
            };
            if let Message::Binary(b) = msg? {
                let v: Value = ciborium::from_reader(&b[..])?;
                match get_text(&v, "type") {
                    Some("peer") => {
                        let server = get_text(&v, "senderId").unwrap_or_default().to_owned();
                        return Ok(Self {
                            ws,
                            me: me.into(),
                            server,
                        });
                    }
                    Some("error") => {
                        return Err(format!(
                            "{me}: server error: {}",
                            get_text(&v, "message").unwrap_or_default()
                        )
                        .into());
                    }
                    _ => {}
                }
            }
        }
    }

    async fn send(&mut self, kind: &str, doc: &str, msg: SyncMessage) -> Result<(), Error> {
        let bytes = encode(vec![
            ("type", text(kind)),
            ("senderId", text(&self.me)),
            ("targetId", text(&self.server)),
            ("documentId", text(doc)),
            ("data", Value::Bytes(msg.encode())),
        ]);
        self.ws.send(Message::Binary(bytes.into())).await?;
        Ok(())
    }
}

/// One document being fetched.
struct Fetch {
    doc: Automerge,
    state: State,
    started: Instant,
}

#[derive(Default)]
struct Outcome {
    latencies_ms: Vec<f64>,
    without_events: usize,
    /// Sync messages received and sent (requests included), all fetches.
    received: usize,
    sent: usize,
}

/// Fetches `docs` on `session`, `in_flight` at a time.
async fn fetch_all(
    mut session: Session,
    docs: Vec<String>,
    in_flight: usize,
    step: Duration,
) -> Result<Outcome, Error> {
    let mut queue: VecDeque<String> = docs.into();
    let mut open: HashMap<String, Fetch> = HashMap::new();
    let mut out = Outcome::default();
    loop {
        while open.len() < in_flight.max(1)
            && let Some(id) = queue.pop_front()
        {
            let mut f = Fetch {
                doc: Automerge::new(),
                state: State::new(),
                started: Instant::now(),
            };
            let first = f
                .doc
                .generate_sync_message(&mut f.state)
                .expect("a first message");
            session.send("request", &id, first).await?;
            out.sent += 1;
            open.insert(id, f);
        }
        if open.is_empty() {
            break;
        }
        let oldest = open.values().map(|f| f.started).min().expect("open");
        let deadline = tokio::time::Instant::from_std(oldest + step);
        let msg = tokio::time::timeout_at(deadline, session.ws.next())
            .await
            .map_err(|_| format!("{}: a fetch took over {step:?}", session.me))?
            .ok_or_else(|| format!("{}: socket closed", session.me))??;
        let bytes = match msg {
            Message::Binary(b) => b,
            Message::Close(c) => return Err(format!("{}: closed: {c:?}", session.me).into()),
            _ => continue,
        };
        let v: Value = ciborium::from_reader(&bytes[..])?;
        let doc_id = get_text(&v, "documentId").unwrap_or_default().to_owned();
        match get_text(&v, "type") {
            Some("error") => {
                return Err(format!(
                    "{}: server error: {}",
                    session.me,
                    get_text(&v, "message").unwrap_or_default()
                )
                .into());
            }
            Some("doc-unavailable") => {
                return Err(format!("{}: {doc_id} unavailable", session.me).into());
            }
            Some("sync") => {}
            _ => continue,
        }
        let Some(f) = open.get_mut(&doc_id) else {
            continue;
        };
        out.received += 1;
        let data = get(&v, "data")
            .and_then(Value::as_bytes)
            .ok_or_else(|| format!("{}: sync without data", session.me))?;
        f.doc
            .receive_sync_message(&mut f.state, SyncMessage::decode(data)?)?;
        if let Some(reply) = f.doc.generate_sync_message(&mut f.state) {
            session.send("sync", &doc_id, reply).await?;
            out.sent += 1;
        }
        if f.doc.get(ROOT, "schema")?.is_some() {
            let f = open.remove(&doc_id).expect("open");
            out.latencies_ms
                .push(f.started.elapsed().as_secs_f64() * 1000.0);
            let events = match f.doc.get(ROOT, "events")? {
                Some((_, id)) => f.doc.length(&id),
                None => 0,
            };
            if events == 0 {
                out.without_events += 1;
            }
        }
    }
    let _ = session.ws.close(None).await;
    Ok(out)
}

/// This process's CPU time (user + system) in milliseconds, from /proc.
fn own_cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start after ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 (1-based); `rest` starts at field 3.
    (ticks(11) + ticks(12)) * 10
}

async fn run(job: Job) -> Result<serde_json::Value, Error> {
    let step = Duration::from_millis(job.step_ms);
    let mut sessions = Vec::new();
    for c in &job.clients {
        sessions.push(Session::join(&c.url, &c.peer_id, step).await?);
    }
    let started = Instant::now();
    let tasks: Vec<_> = sessions
        .into_iter()
        .zip(job.clients)
        .map(|(s, c)| tokio::spawn(fetch_all(s, c.docs, job.in_flight, step)))
        .collect();
    let mut all = Outcome::default();
    for t in tasks {
        let o = t.await??;
        all.latencies_ms.extend(o.latencies_ms);
        all.without_events += o.without_events;
        all.received += o.received;
        all.sent += o.sent;
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(serde_json::json!({
        "ms": ms,
        "latencies_ms": all.latencies_ms,
        "without_events": all.without_events,
        "received": all.received,
        "sent": all.sent,
        "cpu_ms": own_cpu_ms(),
    }))
}

fn main() -> std::process::ExitCode {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("sync-loadgen: reading the job from stdin: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let job: Job = match serde_json::from_str(&input) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("sync-loadgen: the job on stdin is not valid: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(run(job)) {
        Ok(report) => {
            println!("{report}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sync-loadgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! Chat at fleet scale (issue 22): N couriers (default 2,000) connected to a
//! real `sync-server` process each write to dispatch in their own driver chat
//! (`ChatLink::Driver`, operators and that courier: a conversation a courier
//! may start itself, whose participants the server settles from its id); one
//! dispatcher device (a real `sync-client`
//! with its own Core and SQLite store) receives them. Reports the courier →
//! dispatcher latency (p50/p99/max) of a conversation's first message (the
//! document is new: the server lists it in the dispatcher's index and the
//! device opens it) and of later messages, messages sent / delivered / lost,
//! writes the server refused, the dispatcher's unread total against the
//! messages it received, and the CPU time and peak memory of the server
//! process and of this (load) process, the dispatcher's device apart (it runs
//! on a runtime of its own, threads `dispatcher`).
//!
//! Run: `cargo bench -p sync-server --bench chat` (`RUTA_BENCH_COURIERS`,
//! default 2,000; `RUTA_BENCH_PERIOD`, seconds between two messages of one
//! courier, default 20; `RUTA_BENCH_SECONDS`, the measured window, default
//! 60: couriers × seconds / period messages, 6,000 by default, after one
//! first message per courier).
//!
//! Couriers are raw protocol sessions (`common/raw.rs`, signed in as their
//! own user on device `bench-<i>`) writing real conversation documents with
//! `ruta_model::chat_doc`: created with `chat_doc::create`, each message a
//! `Posted` event by the courier stamped by its device's clock
//! (`HlcClock::tick` at the send instant) and appended with
//! `EventDoc::append`, then sent as Automerge sync; the server's write guard
//! judges each as it would a phone's. Messages are spread evenly: one
//! courier every period / N seconds, round robin.
//!
//! What is measured, exactly: from the message's stamp (the courier's wall
//! clock when it wrote the message, immediately before sending it) to the
//! moment this bench, on a thread of its own (`watcher`), reads the message
//! back from the dispatcher's Core — woken by the Core's ledger write hook,
//! which fires once the device has merged a conversation's new messages into
//! its store and written its "delivered up to" receipt (as every device does
//! on arrival). It reads with `Core::chat_document` (the stored document,
//! derived with `chat_doc::derive`), or with `Request::OpenChat`, as the
//! desk's screen does, when `RUTA_BENCH_READ=open`. So a latency includes the
//! server's guard, storage and relay, the dispatcher's sync client and its
//! store write, the receipt write and the read: an upper bound of when the
//! desk could show the message. A sweep every second reads each conversation
//! that has had a message outstanding for over a second, so a message whose
//! arrival woke no hook is still found (counted apart). At the end every
//! conversation is opened with `OpenChat` and its messages counted; the bench
//! fails unless every message sent is there once, no write was refused and
//! the dispatcher's unread total (`ListChats`) is the messages it received.
//! Same machine, same clock on both ends.

#[path = "common/mod.rs"]
mod common;
#[path = "common/fleet.rs"]
mod fleet;
#[path = "common/raw.rs"]
mod raw;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use app_api::chat::ChatLink;
use app_api::{Request, Response};
use app_core::{Core, LedgerKind};
use fleet::{Fleet, Mark, env_or, now_ms};
use ruta_domain::hlc::{HlcClock, node_of};
use ruta_domain::{Actor, DeviceId, Role, UserId};
use ruta_model::chat_doc::{self, ChatChange, ChatDoc, ChatEvent};

/// Courier `i`'s conversation with dispatch.
fn link_of(i: usize) -> ChatLink {
    ChatLink::Driver {
        courier: format!("c{i}"),
    }
}

/// A courier's side of its driver chat: the document as `chat_doc` writes
/// it, sent over the courier's raw session.
struct ChatCourier {
    raw: raw::RawCourier,
    chat: ChatDoc,
    /// The automerge-repo document id.
    doc: String,
    actor: Actor,
    clock: HlcClock,
}

impl ChatCourier {
    fn new(i: usize, raw: raw::RawCourier) -> Self {
        let link = link_of(i);
        let device = DeviceId::new(fleet::device_of(i));
        Self {
            raw,
            chat: chat_doc::create(&link, &device).expect("a conversation"),
            doc: ruta_model::ids::doc_id_of_uuid(&chat_doc::chat_id(&link))
                .expect("a UUID")
                .to_string(),
            clock: HlcClock::new(node_of(device.as_str())),
            actor: Actor {
                user: UserId::new(format!("c{i}")),
                role: Role::Courier,
                device,
            },
        }
    }

    /// Writes message number `seq` (`m<seq>`) stamped now and sends it.
    fn post(&mut self, seq: u32) -> bool {
        let change = ChatChange::Posted {
            text: format!("m{seq}"),
            photo: None,
            location: None,
            order: None,
        };
        chat_doc::validate(&change).expect("a valid message");
        let event = ChatEvent {
            at: self.clock.tick(now_ms()),
            actor: self.actor.clone(),
            change,
        };
        self.chat.append(&event).expect("appended");
        self.raw.write(&self.doc, &self.chat.save())
    }
}

/// `total` messages, one courier after another (from where the last call
/// stopped), `period` apart for each courier; counted in `sent`.
async fn send(couriers: &mut [ChatCourier], sent: &[AtomicU32], period: Duration, total: usize) {
    let n = couriers.len();
    let mut tick = tokio::time::interval(period / n as u32);
    let first = sent
        .iter()
        .map(|s| s.load(Ordering::Relaxed) as usize)
        .sum::<usize>();
    for k in first..first + total {
        tick.tick().await;
        let i = k % n;
        let seq = sent[i].load(Ordering::Relaxed);
        if couriers[i].post(seq) {
            sent[i].fetch_add(1, Ordering::Relaxed);
        } else {
            eprintln!("courier {i}: message {seq} not sent (session ended)");
        }
    }
}

/// How the watcher reads a conversation back from the dispatcher's Core.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Read {
    /// `Core::chat_document` (the stored document, as the sync client reads
    /// it), derived with `chat_doc::derive`: cheap.
    Store,
    /// `Request::OpenChat`, as the desk's screen does.
    Open,
}

/// What the dispatcher's Core showed, as the watcher found it.
#[derive(Default)]
struct Seen {
    /// Per courier, the ids of its messages seen.
    ids: Vec<HashSet<String>>,
    /// Latency (ms) of each conversation's first message, and of later ones.
    first: Vec<f64>,
    later: Vec<f64>,
    /// Found by the once-a-second sweep, more than a second after the
    /// conversation had a message outstanding, with no write hook for it.
    by_sweep: u64,
    /// Found only by the final check, after the grace period.
    late: u64,
    /// Messages with a text seen twice in one conversation.
    doubled: u64,
    /// Reads and the time they took (ms).
    reads: u64,
    read_ms: f64,
    errors: Vec<String>,
}

/// Courier `i`'s messages in the dispatcher's Core: (id, text, stamp's wall ms).
fn messages_of(core: &Core, i: usize, read: Read) -> Result<Vec<(String, String, i64)>, String> {
    let courier = format!("c{i}");
    match read {
        Read::Open => match core.execute(Request::OpenChat { link: link_of(i) }) {
            Ok(Response::Chat(view)) => Ok(view
                .messages
                .into_iter()
                .filter(|m| m.author == courier)
                .map(|m| (m.id, m.text, m.at_ms))
                .collect()),
            other => Err(format!("OpenChat c{i}: {other:?}")),
        },
        Read::Store => {
            let id = chat_doc::chat_id(&link_of(i));
            let Some((bytes, _)) = core.chat_document(&id).map_err(|e| e.to_string())? else {
                return Ok(Vec::new());
            };
            let doc =
                chat_doc::load(&bytes, &DeviceId::new("watcher")).map_err(|e| e.to_string())?;
            Ok(chat_doc::derive(&doc.events())
                .messages
                .into_iter()
                .filter(|m| m.author.user.as_str() == courier)
                .map(|m| (m.id, m.text, m.at.wall_ms))
                .collect())
        }
    }
}

/// Watches the dispatcher's Core on a thread of its own (`watcher`; see the
/// module comment); `delivered` counts the messages seen so far. Returns what
/// it saw once `stop` is set (after a last look at every conversation, with
/// `OpenChat`).
fn watch(
    core: Core,
    read: Read,
    sent: Arc<Vec<AtomicU32>>,
    delivered: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Seen> {
    let n = sent.len();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    core.on_ledger_write(move |kind, id| {
        if kind == LedgerKind::Chat {
            let _ = tx.send(id.to_owned());
        }
    });
    let index: HashMap<String, usize> = (0..n)
        .map(|i| (chat_doc::chat_id(&link_of(i)), i))
        .collect();
    let body = move || {
        let mut seen = Seen {
            ids: vec![HashSet::new(); n],
            ..Seen::default()
        };
        let mut texts: Vec<HashSet<String>> = vec![HashSet::new(); n];
        // Reads courier i's conversation; how many of its messages are new.
        let mut look = |i: usize, read: Read, seen: &mut Seen| -> u64 {
            let t = Instant::now();
            let messages = match messages_of(&core, i, read) {
                Ok(m) => m,
                Err(e) => {
                    seen.errors.push(e);
                    return 0;
                }
            };
            let at = now_ms();
            seen.reads += 1;
            seen.read_ms += t.elapsed().as_secs_f64() * 1000.0;
            let mut new = 0;
            for (id, text, stamp) in messages {
                if !seen.ids[i].insert(id) {
                    continue;
                }
                new += 1;
                if !texts[i].insert(text.clone()) {
                    seen.doubled += 1;
                }
                let ms = (at - stamp) as f64;
                if text == "m0" {
                    seen.first.push(ms);
                } else {
                    seen.later.push(ms);
                }
            }
            delivered.fetch_add(new, Ordering::Relaxed);
            new
        };
        let outstanding =
            |i: usize, seen: &Seen| sent[i].load(Ordering::Relaxed) as usize > seen.ids[i].len();
        let mut swept = Instant::now();
        // Conversations with a message outstanding at the last sweep.
        let mut waiting: HashSet<usize> = HashSet::new();
        while !stop.load(Ordering::Relaxed) {
            let mut woken = HashSet::new();
            if let Ok(id) = rx.recv_timeout(Duration::from_millis(200)) {
                woken.insert(id);
                woken.extend(rx.try_iter());
            }
            for i in woken.iter().filter_map(|id| index.get(id)) {
                look(*i, read, &mut seen);
            }
            if swept.elapsed() >= Duration::from_secs(1) {
                for i in std::mem::take(&mut waiting) {
                    if outstanding(i, &seen) {
                        seen.by_sweep += look(i, read, &mut seen);
                    }
                }
                waiting = (0..n).filter(|&i| outstanding(i, &seen)).collect();
                swept = Instant::now();
            }
        }
        // The final check, as the desk shows it.
        let (reads, read_ms) = (seen.reads, seen.read_ms);
        for i in 0..n {
            seen.late += look(i, Read::Open, &mut seen);
        }
        println!(
            "  final check: OpenChat of all {n} conversations, {:.2} ms each on average",
            (seen.read_ms - read_ms) / (seen.reads - reads).max(1) as f64
        );
        (seen.reads, seen.read_ms) = (reads, read_ms);
        seen
    };
    std::thread::Builder::new()
        .name("watcher".into())
        .spawn(body)
        .unwrap()
}

/// CPU seconds of the dispatcher's runtime, the couriers' and the watcher's threads.
fn parts() -> [f64; 3] {
    ["dispatcher", "couriers", "watcher"].map(|p| common::thread_ticks(p) as f64 / 100.0)
}

fn main() {
    let period = Duration::from_secs(env_or("RUTA_BENCH_PERIOD", 20));
    let seconds: u64 = env_or("RUTA_BENCH_SECONDS", 60);
    let read = match std::env::var("RUTA_BENCH_READ").as_deref() {
        Ok("open") => Read::Open,
        _ => Read::Store,
    };
    let fleet = Fleet::start();
    // The dispatcher's device on a runtime of its own, as on a desk.
    let drt = common::runtime("dispatcher");
    let ddir = tempfile::tempdir().unwrap();
    let (client, core) = drt.block_on(async {
        fleet.serving().await;
        fleet.dispatcher(ddir.path()).await
    });
    let rt = common::runtime("couriers");
    rt.block_on(async move { tokio::spawn(run(fleet, core, read, period, seconds)).await })
        .unwrap();
    drop(client);
}

async fn run(fleet: Fleet, core: Core, read: Read, period: Duration, seconds: u64) {
    let couriers = fleet.couriers;
    let server_pid = fleet.server_pid();
    let sessions = Mark::now(server_pid);
    let raws = fleet.raw_couriers().await;
    let mut chats: Vec<ChatCourier> = raws
        .into_iter()
        .enumerate()
        .map(|(i, raw)| ChatCourier::new(i, raw))
        .collect();
    println!(
        "{couriers} courier sessions (raw protocol) started in {:.1} s; server CPU meanwhile {:.1} s",
        sessions.secs(),
        sessions.server_cpu(&Mark::now(server_pid))
    );
    let sent: Arc<Vec<AtomicU32>> = Arc::new((0..couriers).map(|_| AtomicU32::new(0)).collect());
    let delivered = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch(
        core.clone(),
        read,
        sent.clone(),
        delivered.clone(),
        stop.clone(),
    );
    let total_sent = || {
        sent.iter()
            .map(|s| s.load(Ordering::Relaxed) as u64)
            .sum::<u64>()
    };
    // Waits until every message sent was seen, at most `limit`; the seconds waited.
    let settle = |limit: Duration| {
        let t = Instant::now();
        let (delivered, total_sent) = (delivered.clone(), &total_sent);
        async move {
            while delivered.load(Ordering::Relaxed) < total_sent() && t.elapsed() < limit {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            t.elapsed().as_secs_f64()
        }
    };

    // Each courier's first message: its conversation is new.
    let opening = Mark::now(server_pid);
    send(&mut chats, &sent, period, couriers).await;
    let sending = opening.secs();
    let waited = settle(Duration::from_secs(120)).await;
    println!(
        "first messages: {} sent in {sending:.1} s, {} seen by the dispatcher {waited:.1} s after the last; server CPU {:.1} s",
        total_sent(),
        delivered.load(Ordering::Relaxed),
        opening.server_cpu(&Mark::now(server_pid))
    );

    // Measured window: each courier one message per period, staggered.
    let window = Mark::now(server_pid);
    let parts0 = parts();
    let later = couriers * seconds as usize / period.as_secs().max(1) as usize;
    send(&mut chats, &sent, period, later).await;
    let sending = window.secs();
    let waited = settle(Duration::from_secs(60)).await;
    let window_secs = window.secs();
    let parts1 = parts();
    println!(
        "chat: {couriers} couriers, one message each per {} s, {sending:.1} s of sending, all seen {waited:.1} s after the last (watcher reads: {read:?})",
        period.as_secs()
    );
    fleet::print_usage(
        server_pid,
        "couriers + dispatcher",
        &sessions,
        &window,
        window_secs,
    );
    let [d, c, w] = [0, 1, 2].map(|k| parts1[k] - parts0[k]);
    println!(
        "    of which the dispatcher's device {d:.1} s, the courier sessions {c:.1} s, the watcher {w:.1} s"
    );
    stop.store(true, Ordering::Relaxed);
    let mut seen = tokio::task::spawn_blocking(move || watcher.join().expect("the watcher"))
        .await
        .unwrap();

    let t = Instant::now();
    let unread = match core.execute(Request::ListChats) {
        Ok(Response::Chats(list)) => list.unread_total as u64,
        other => panic!("ListChats: {other:?}"),
    };
    let list_ms = t.elapsed().as_secs_f64() * 1000.0;
    let refused: Vec<String> = chats.iter().flat_map(|c| c.raw.refusals()).collect();
    let sent_n = total_sent();
    let seen_n: u64 = seen.ids.iter().map(|s| s.len() as u64).sum();
    let short: Vec<String> = (0..couriers)
        .filter(|&i| seen.ids[i].len() < sent[i].load(Ordering::Relaxed) as usize)
        .map(|i| format!("c{i}"))
        .collect();
    println!(
        "  messages sent {sent_n} ({couriers} first + {later} later), seen by the dispatcher {seen_n}, lost {}",
        sent_n.saturating_sub(seen_n)
    );
    println!(
        "  found by the 1 s sweep {}, only in the final check {}, doubled {}, writes refused {}",
        seen.by_sweep,
        seen.late,
        seen.doubled,
        refused.len()
    );
    println!(
        "  first message (new conversation) -> dispatcher: {}",
        fleet::percentiles(&mut seen.first)
    );
    println!(
        "  later messages -> dispatcher: {}",
        fleet::percentiles(&mut seen.later)
    );
    println!(
        "  dispatcher: unread total {unread} (messages received {seen_n}); ListChats {list_ms:.1} ms; watcher reads {:.2} ms on average over {}",
        seen.read_ms / seen.reads.max(1) as f64,
        seen.reads
    );
    for r in refused.iter().take(5) {
        eprintln!("  refused: {r}");
    }
    for e in seen.errors.iter().take(5) {
        eprintln!("  error: {e}");
    }
    assert!(
        short.is_empty(),
        "messages lost: {} couriers short, e.g. {:?}",
        short.len(),
        &short[..short.len().min(5)]
    );
    assert_eq!(seen_n, sent_n, "messages seen != sent");
    assert_eq!(seen.doubled, 0, "messages doubled");
    assert!(
        refused.is_empty(),
        "the server refused {} writes",
        refused.len()
    );
    assert!(seen.errors.is_empty(), "{} read errors", seen.errors.len());
    assert_eq!(
        unread, seen_n,
        "the dispatcher's unread total is not the messages it received"
    );
}

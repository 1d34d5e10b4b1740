//! Sync benchmarks on loopback with the real server binary (its own process,
//! real SQLite files) and real device clients, each device on its own runtime:
//!
//! 1. A courier reconnecting after an offline shift: 200 orders, 2,000 local
//!    changes (pick-up, transit, notes, a proof, delivery). Reports the time from
//!    reconnect until every record is confirmed by the server (goal ≤ 1 s),
//!    until the dispatcher's device has all of it, and the bytes on the wire
//!    against the raw bytes of the changes (goal ≤ 2×).
//!
//! Run: `cargo bench -p sync-server --bench reconnect` (RUTA_BENCH_ORDERS to scale).

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use app_api::{Action, DeliveryStatus, NewOrder, Request, Response, Role};
use app_core::Core;
use app_core::domain::OrderId;
use sync_client::{SyncClient, SyncConfig};
use sync_server::directory::Directory;

fn status(core: &Core, id: &str) -> Option<DeliveryStatus> {
    match core.execute(Request::GetOrder {
        order_id: id.into(),
    }) {
        Ok(Response::OrderDetail(d)) => Some(d.summary.status),
        _ => None,
    }
}

async fn wait(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Profiling only the reconnect: with `RUTA_BENCH_PERF_CTL=FIFO`, writes
/// `enable`/`disable` to perf's control FIFO around it. Run e.g.
/// `mkfifo /tmp/perf.ctl; perf record -a -g -D -1 --control fifo:/tmp/perf.ctl -- env
/// RUTA_BENCH_PERF_CTL=/tmp/perf.ctl cargo bench -p sync-server --bench reconnect`.
fn perf_control(cmd: &str) {
    if let Some(path) = std::env::var_os("RUTA_BENCH_PERF_CTL") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        writeln!(f, "{cmd}").unwrap();
    }
}

fn main() {
    let orders: usize = std::env::var("RUTA_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let data = tempfile::tempdir().unwrap();
    let dir = Directory::create(data.path(), "bench").unwrap();
    dir.add_user("d1", Role::Dispatcher, "D", 0).unwrap();
    dir.add_user("c1", Role::Courier, "C", 0).unwrap();
    let (_, td) = dir.issue_token("bench", "d1", None, 0).unwrap();
    let (_, tc) = dir.issue_token("bench", "c1", None, 0).unwrap();
    drop(dir);
    // Three parties, as deployed: the real server binary in its own process,
    // and the dispatcher's and the courier's devices each on their own runtime.
    let (server, url) = common::Server::start(data.path());
    let url = url::Url::parse(&url).unwrap();
    let drt = common::runtime("dispatcher");
    let ddir = tempfile::tempdir().unwrap();
    let disp = Core::open(ddir.path()).unwrap();
    let dclient = drt.block_on(async {
        while reqwest::get(url.join("healthz").unwrap()).await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        SyncClient::start(disp.clone(), ddir.path(), SyncConfig::new(url.clone(), &td))
            .await
            .unwrap()
    });
    let mut ids = Vec::new();
    for i in 0..orders {
        let Response::Order(o) = disp
            .execute(Request::CreateOrder(NewOrder::simple(
                &format!("Customer {i}"),
                "Mannerheimintie 20",
                "Bulevardi 14",
            )))
            .unwrap()
        else {
            panic!()
        };
        disp.act(
            &OrderId::new(o.id.clone()),
            Action::Assign {
                courier: "c1".into(),
            },
        )
        .unwrap();
        ids.push(o.id);
    }
    assert!(drt.block_on(dclient.wait_synced(Duration::from_secs(120))));
    common::runtime("courier").block_on(reconnect(url, tc, disp, ids, server.pid()));
    drop(dclient);
}

async fn reconnect(url: url::Url, tc: String, disp: Core, ids: Vec<String>, server: u32) {
    let orders = ids.len();
    let cdir = tempfile::tempdir().unwrap();
    let courier = Core::open(cdir.path()).unwrap();
    let cfg = SyncConfig::new(url.clone(), &tc);
    let cclient = SyncClient::start(courier.clone(), cdir.path(), cfg.clone())
        .await
        .unwrap();
    wait("the courier's orders", Duration::from_secs(120), || {
        ids.iter()
            .all(|id| status(&courier, id) == Some(DeliveryStatus::Assigned))
    })
    .await;
    assert!(cclient.wait_synced(Duration::from_secs(60)).await);
    cclient.stop().await;

    // The offline shift: 10 changes per order.
    let before: Vec<_> = ids
        .iter()
        .map(|id| courier.heads(&OrderId::new(id.clone())).unwrap())
        .collect();
    let t = Instant::now();
    for id in &ids {
        let oid = OrderId::new(id.clone());
        courier.act(&oid, Action::PickUp).unwrap();
        courier.act(&oid, Action::StartTransit).unwrap();
        // Seven notes (a proof needs `CapturePod` and its blob upload, which
        // is not what this bench measures; the orders require none).
        for n in 0..7 {
            courier
                .act(
                    &oid,
                    Action::AddNote {
                        text: format!("call {n}: no answer, trying again"),
                    },
                )
                .unwrap();
        }
        courier.act(&oid, Action::Deliver { pods: vec![] }).unwrap();
    }
    let shift_ms = t.elapsed().as_secs_f64() * 1e3;
    let changes = ids.len() * 10;
    let raw: usize = ids
        .iter()
        .zip(&before)
        .map(|(id, heads)| {
            let mut doc =
                automerge::AutoCommit::load(&courier.doc_bytes(&OrderId::new(id.clone())).unwrap())
                    .unwrap();
            doc.save_after(heads).len()
        })
        .sum();

    // Reconnect.
    let (server_cpu0, _) = common::usage(server);
    let (courier0, disp0) = (
        common::thread_ticks("courier"),
        common::thread_ticks("dispatcher"),
    );
    perf_control("enable");
    let t = Instant::now();
    let cclient = SyncClient::start(courier.clone(), cdir.path(), cfg)
        .await
        .unwrap();
    if std::env::var_os("RUTA_BENCH_TRACE").is_some() {
        let c = courier.clone();
        tokio::spawn(async move {
            loop {
                let ms = t.elapsed().as_secs_f64() * 1e3;
                eprintln!("{ms:>6.0} ms: {} pending", c.pending().unwrap().len());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    assert!(
        cclient.wait_synced(Duration::from_secs(120)).await,
        "courier synced"
    );
    let synced = t.elapsed();
    perf_control("disable");
    let (server_cpu1, _) = common::usage(server);
    let (courier1, disp1) = (
        common::thread_ticks("courier"),
        common::thread_ticks("dispatcher"),
    );
    wait(
        "the dispatcher to see every delivery",
        Duration::from_secs(120),
        || {
            ids.iter()
                .all(|id| status(&disp, id) == Some(DeliveryStatus::Delivered))
        },
    )
    .await;
    let seen = t.elapsed();
    let (sent, received) = cclient.wire();
    println!(
        "reconnect after offline shift: {orders} orders, {changes} local changes (recorded in {shift_ms:.0} ms)"
    );
    println!(
        "  courier fully synced (server confirmed every record): {:.0} ms",
        synced.as_secs_f64() * 1e3
    );
    println!(
        "  dispatcher device has every change:                  {:.0} ms",
        seen.as_secs_f64() * 1e3
    );
    println!(
        "  CPU until synced: server {:.2} s, courier device {:.2} s, dispatcher device {:.2} s (wall {:.2} s, 2 cores)",
        (server_cpu1 - server_cpu0) as f64 / 100.0,
        (courier1 - courier0) as f64 / 100.0,
        (disp1 - disp0) as f64 / 100.0,
        synced.as_secs_f64()
    );
    println!(
        "  raw change bytes: {raw}; on the wire: sent {sent}, received {received}, total {} ({:.2}x raw)",
        sent + received,
        (sent + received) as f64 / raw as f64
    );
}

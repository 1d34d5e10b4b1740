//! Live location at fleet scale: N courier sessions (default 2,000) send a
//! position every 5 s through a real `sync-server` process; one dispatcher
//! device (a real `sync-client` with its own store) receives them. Reports the
//! courier → dispatcher latency (p50/p99), positions delivered, and the CPU
//! time and peak memory of the server process and of this (load) process.
//!
//! Run: `cargo bench -p sync-server --bench location`
//! (`RUTA_BENCH_COURIERS`, `RUTA_BENCH_SECONDS` to change the load; default
//! 2,000 × 30 s). Couriers are raw protocol sessions ([`raw`]) sharing this
//! process's runtime; `RUTA_BENCH_COURIER_CLIENT=full` makes each a real sync
//! client device instead (its own Core and stores: heavy on the load side).

#[path = "common/mod.rs"]
mod common;
#[path = "location/raw.rs"]
mod raw;

use std::time::{Duration, Instant};

use app_api::Role;
use app_core::Core;
use futures::StreamExt;
use sync_client::{SyncClient, SyncConfig};
use sync_server::directory::Directory;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One courier session of the load.
enum Courier {
    Full(SyncClient),
    Raw(raw::RawCourier),
}

impl Courier {
    async fn send(&mut self, lat: f64, lon: f64, at: i64) -> bool {
        match self {
            Courier::Full(c) => c.send_location(lat, lon, at).await.is_ok(),
            Courier::Raw(c) => c.send_position(app_core::ids::encode_position(lat, lon, at)),
        }
    }
}

fn main() {
    let couriers: usize = std::env::var("RUTA_BENCH_COURIERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let seconds: u64 = std::env::var("RUTA_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let data = tempfile::tempdir().unwrap();
    let dir = Directory::create(data.path(), "fleet").unwrap();
    dir.add_user("d1", Role::Dispatcher, "D", 0).unwrap();
    let (_, td) = dir.issue_token("fleet", "d1", None, 0).unwrap();
    let mut tokens = Vec::new();
    for i in 0..couriers {
        let id = format!("c{i}");
        dir.add_user(&id, Role::Courier, "C", 0).unwrap();
        tokens.push(dir.issue_token("fleet", &id, None, 0).unwrap().1);
    }
    drop(dir);
    let t = Instant::now();
    let (server, url) = common::Server::start(data.path());
    println!(
        "server up with {couriers} couriers in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let server_pid = server.pid();
    let full = std::env::var("RUTA_BENCH_COURIER_CLIENT").as_deref() == Ok("full");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let base = url::Url::parse(&url).unwrap();
        // The server opens the tenant (and each user's documents) before it serves.
        let health = format!("{url}/healthz");
        while reqwest::get(&health).await.is_err() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        println!("server serving after {:.1} s", t.elapsed().as_secs_f64());
        let mut dirs = Vec::new();
        let ddir = tempfile::tempdir().unwrap();
        let disp = SyncClient::start(Core::open(ddir.path()).unwrap(), ddir.path(), SyncConfig::new(base.clone(), &td))
            .await
            .unwrap();
        let mut positions = disp.positions();
        let t = Instant::now();
        let (cpu_start, _) = common::usage(server_pid);
        let (self_start, _) = common::usage(std::process::id());
        let mut couriers_v: Vec<Courier> = Vec::new();
        if full {
            for token in &tokens {
                let d = tempfile::tempdir().unwrap();
                let c = SyncClient::start(Core::open(d.path()).unwrap(), d.path(), SyncConfig::new(base.clone(), token))
                    .await
                    .unwrap();
                couriers_v.push(Courier::Full(c));
                dirs.push(d);
            }
        } else {
            let http = reqwest::Client::new();
            let started: Vec<_> = futures::stream::iter(tokens.iter().enumerate())
                .map(|(i, token)| {
                    let (http, base) = (http.clone(), base.clone());
                    async move { raw::RawCourier::connect(&http, &base, token, &format!("bench-{i}")).await }
                })
                .buffer_unordered(32)
                .collect()
                .await;
            for c in started {
                couriers_v.push(Courier::Raw(c.expect("raw courier session")));
            }
        }
        let (cpu_started, _) = common::usage(server_pid);
        println!(
            "{couriers} courier sessions ({}) started in {:.1} s; server CPU meanwhile {:.1} s",
            if full { "full sync clients" } else { "raw protocol" },
            t.elapsed().as_secs_f64(),
            (cpu_started - cpu_start) as f64 / 100.0
        );
        // Warm-up: until the dispatcher hears from (almost) every courier.
        let mut heard = std::collections::HashSet::new();
        let warm = Instant::now();
        while heard.len() < couriers * 99 / 100 && warm.elapsed() < Duration::from_secs(120) {
            for c in couriers_v.iter_mut() {
                c.send(60.17, 24.94, now_ms()).await;
            }
            let until = Instant::now() + Duration::from_secs(2);
            while Instant::now() < until {
                if let Ok(Ok(p)) =
                    tokio::time::timeout(Duration::from_millis(100), positions.recv()).await
                {
                    heard.insert(p.courier);
                }
            }
        }
        println!("dispatcher hears {} of {couriers} couriers after {:.1} s warm-up", heard.len(), warm.elapsed().as_secs_f64());
        // Drain what the warm-up left in flight.
        while let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(500), positions.recv()).await {}

        // Measured window: each courier sends every 5 s, staggered.
        let (cpu0, _) = common::usage(server_pid);
        let (self0, _) = common::usage(std::process::id());
        let started = Instant::now();
        let sender = tokio::spawn(async move {
            let period = Duration::from_secs(5);
            let step = period / couriers_v.len() as u32;
            let mut tick = tokio::time::interval(step);
            let mut i = 0usize;
            let mut sent = 0u64;
            while started.elapsed() < Duration::from_secs(seconds) {
                tick.tick().await;
                let lat = 60.15 + (i % 100) as f64 * 0.0005;
                let n = couriers_v.len();
                if couriers_v[i % n].send(lat, 24.94, now_ms()).await {
                    sent += 1;
                }
                i += 1;
            }
            (sent, couriers_v)
        });
        let mut lat = Vec::new();
        let end = started + Duration::from_secs(seconds) + Duration::from_secs(2);
        while Instant::now() < end {
            match tokio::time::timeout(Duration::from_millis(200), positions.recv()).await {
                Ok(Ok(p)) => lat.push((now_ms() - p.at_ms) as f64),
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(n))) => eprintln!("dispatcher lagged {n}"),
                _ => {}
            }
        }
        let (sent, _couriers) = sender.await.unwrap();
        let (cpu1, hwm) = common::usage(server_pid);
        let (self1, self_hwm) = common::usage(std::process::id());
        let tick = 100.0; // USER_HZ
        lat.sort_by(f64::total_cmp);
        let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(f64::NAN);
        println!("location: {couriers} couriers, one position each per 5 s, {seconds} s window");
        println!("  positions sent {sent}, received by the dispatcher {}", lat.len());
        println!("  courier -> dispatcher latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms", pct(0.5), pct(0.99), lat.last().copied().unwrap_or(f64::NAN));
        println!(
            "  server process: CPU {:.1} s over {seconds} s ({:.0}% of one core), peak RSS {:.0} MiB",
            (cpu1 - cpu0) as f64 / tick,
            (cpu1 - cpu0) as f64 / tick / seconds as f64 * 100.0,
            hwm as f64 / 1024.0
        );
        println!(
            "  load process (couriers + dispatcher): CPU {:.1} s over {seconds} s ({:.0}% of one core; {:.1} s since sessions began), peak RSS {:.0} MiB",
            (self1 - self0) as f64 / tick,
            (self1 - self0) as f64 / tick / seconds as f64 * 100.0,
            (self1 - self_start) as f64 / tick,
            self_hwm as f64 / 1024.0
        );
        drop(dirs);
    });
    drop(server);
}

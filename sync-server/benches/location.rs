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
#[path = "common/fleet.rs"]
mod fleet;
#[path = "common/raw.rs"]
mod raw;

use std::time::{Duration, Instant};

use app_core::Core;
use fleet::{Fleet, Mark, env_or, now_ms};
use sync_client::{SyncClient, SyncConfig};

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
    let seconds: u64 = env_or("RUTA_BENCH_SECONDS", 30);
    let fleet = Fleet::start();
    let couriers = fleet.couriers;
    let server_pid = fleet.server_pid();
    let full = std::env::var("RUTA_BENCH_COURIER_CLIENT").as_deref() == Ok("full");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        fleet.serving().await;
        let mut dirs = Vec::new();
        let ddir = tempfile::tempdir().unwrap();
        let (disp, _) = fleet.dispatcher(ddir.path()).await;
        let mut positions = disp.positions();
        let sessions = Mark::now(server_pid);
        let mut couriers_v: Vec<Courier> = Vec::new();
        if full {
            for token in &fleet.courier_tokens {
                let d = tempfile::tempdir().unwrap();
                let c = SyncClient::start(
                    Core::open(d.path()).unwrap(),
                    d.path(),
                    SyncConfig::new(fleet.base.clone(), token),
                )
                .await
                .unwrap();
                couriers_v.push(Courier::Full(c));
                dirs.push(d);
            }
        } else {
            couriers_v.extend(fleet.raw_couriers().await.into_iter().map(Courier::Raw));
        }
        println!(
            "{couriers} courier sessions ({}) started in {:.1} s; server CPU meanwhile {:.1} s",
            if full {
                "full sync clients"
            } else {
                "raw protocol"
            },
            sessions.secs(),
            sessions.server_cpu(&Mark::now(server_pid))
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
        println!(
            "dispatcher hears {} of {couriers} couriers after {:.1} s warm-up",
            heard.len(),
            warm.elapsed().as_secs_f64()
        );
        // Drain what the warm-up left in flight.
        while let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(500), positions.recv()).await
        {}

        // Measured window: each courier sends every 5 s, staggered.
        let window = Mark::now(server_pid);
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
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(n))) => {
                    eprintln!("dispatcher lagged {n}")
                }
                _ => {}
            }
        }
        let (sent, _couriers) = sender.await.unwrap();
        println!("location: {couriers} couriers, one position each per 5 s, {seconds} s window");
        println!(
            "  positions sent {sent}, received by the dispatcher {}",
            lat.len()
        );
        println!(
            "  courier -> dispatcher latency: {}",
            fleet::percentiles(&mut lat)
        );
        fleet::print_usage(
            server_pid,
            "couriers + dispatcher",
            &sessions,
            &window,
            seconds as f64,
        );
        drop(dirs);
    });
}

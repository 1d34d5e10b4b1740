//! What the fleet-scale benches (location, chat) share: a tenant of one
//! dispatcher and N couriers (`RUTA_BENCH_COURIERS`, default 2,000), the real
//! server process over it, the dispatcher's device (a real sync client with
//! its own Core and stores), one raw protocol session per courier
//! ([`crate::raw`]), and the figures their reports print (latency
//! percentiles; CPU time and peak memory of the server and of this process).

use std::path::Path;
use std::time::{Duration, Instant};

use app_api::Role;
use app_core::Core;
use futures::StreamExt;
use sync_client::{SyncClient, SyncConfig};
use sync_server::directory::Directory;

use crate::{common, raw};

/// Clock ticks per second in `/proc/<pid>/stat` (USER_HZ).
const TICK: f64 = 100.0;

/// A value from the environment, else `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Wall-clock milliseconds (the same clock on both ends of a latency: one machine).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The tenant `fleet` (dispatcher `d1`, couriers `c0`, `c1`, …) and the
/// server process serving it over a temporary directory.
pub struct Fleet {
    pub couriers: usize,
    pub base: url::Url,
    pub dispatcher_token: String,
    pub courier_tokens: Vec<String>,
    /// When the server was launched.
    pub launched: Instant,
    server: common::Server,
    // After `server`: the process is killed before its data is removed.
    _data: tempfile::TempDir,
}

impl Fleet {
    /// Makes the tenant with `RUTA_BENCH_COURIERS` couriers (default 2,000)
    /// and launches the server over it.
    pub fn start() -> Self {
        let couriers = env_or("RUTA_BENCH_COURIERS", 2000usize);
        let data = tempfile::tempdir().unwrap();
        let dir = Directory::create(data.path(), "fleet").unwrap();
        dir.add_user("d1", Role::Dispatcher, "D", 0).unwrap();
        let (_, dispatcher_token) = dir.issue_token("fleet", "d1", None, 0).unwrap();
        let mut courier_tokens = Vec::new();
        for i in 0..couriers {
            let id = format!("c{i}");
            dir.add_user(&id, Role::Courier, "C", 0).unwrap();
            courier_tokens.push(dir.issue_token("fleet", &id, None, 0).unwrap().1);
        }
        drop(dir);
        let launched = Instant::now();
        let (server, url) = common::Server::start(data.path());
        println!(
            "server up with {couriers} couriers in {:.1} s",
            launched.elapsed().as_secs_f64()
        );
        Self {
            couriers,
            base: url::Url::parse(&url).unwrap(),
            dispatcher_token,
            courier_tokens,
            launched,
            server,
            _data: data,
        }
    }

    pub fn server_pid(&self) -> u32 {
        self.server.pid()
    }

    /// Returns once the server serves (it opens the tenant, and each user's
    /// documents, first).
    pub async fn serving(&self) {
        let health = self.base.join("healthz").unwrap();
        while reqwest::get(health.clone()).await.is_err() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        println!(
            "server serving after {:.1} s",
            self.launched.elapsed().as_secs_f64()
        );
    }

    /// The dispatcher's device over `dir`: its sync client, and the Core that
    /// client runs (a handle to the same one).
    pub async fn dispatcher(&self, dir: &Path) -> (SyncClient, Core) {
        let core = Core::open(dir).unwrap();
        let cfg = SyncConfig::new(self.base.clone(), &self.dispatcher_token);
        let client = SyncClient::start(core.clone(), dir, cfg).await.unwrap();
        (client, core)
    }

    /// One raw protocol session per courier (courier `c<i>` on device
    /// `bench-<i>`), 32 connecting at a time.
    pub async fn raw_couriers(&self) -> Vec<raw::RawCourier> {
        let http = reqwest::Client::new();
        // Owned values: the stream is sent to another task (no borrow of `self`).
        let tokens = self.courier_tokens.clone().into_iter().enumerate();
        let started: Vec<_> = futures::stream::iter(tokens)
            .map(|(i, token)| {
                let (http, base) = (http.clone(), self.base.clone());
                async move { raw::RawCourier::connect(&http, &base, &token, &device_of(i)).await }
            })
            .buffered(32)
            .collect()
            .await;
        started
            .into_iter()
            .map(|c| c.expect("raw courier session"))
            .collect()
    }
}

/// The device id of courier `i`'s raw session.
pub fn device_of(i: usize) -> String {
    format!("bench-{i}")
}

/// Wall time and CPU ticks of the server and of this process at one moment.
pub struct Mark {
    at: Instant,
    server: u64,
    load: u64,
}

impl Mark {
    pub fn now(server_pid: u32) -> Self {
        Self {
            at: Instant::now(),
            server: common::usage(server_pid).0,
            load: common::usage(std::process::id()).0,
        }
    }

    pub fn secs(&self) -> f64 {
        self.at.elapsed().as_secs_f64()
    }

    /// Server CPU seconds from this mark to `later`.
    pub fn server_cpu(&self, later: &Mark) -> f64 {
        later.server.saturating_sub(self.server) as f64 / TICK
    }

    /// This process's CPU seconds from this mark to `later`.
    pub fn load_cpu(&self, later: &Mark) -> f64 {
        later.load.saturating_sub(self.load) as f64 / TICK
    }
}

/// Prints the CPU time over a window of `seconds` (`window` to now) and the
/// peak memory of the server and of this process (`what` it runs);
/// `sessions`: when the sessions began.
pub fn print_usage(server_pid: u32, what: &str, sessions: &Mark, window: &Mark, seconds: f64) {
    let end = Mark::now(server_pid);
    let (_, server_hwm) = common::usage(server_pid);
    let (_, load_hwm) = common::usage(std::process::id());
    let server = window.server_cpu(&end);
    let load = window.load_cpu(&end);
    println!(
        "  server process: CPU {server:.1} s over {seconds:.0} s ({:.0}% of one core), peak RSS {:.0} MiB",
        server / seconds * 100.0,
        server_hwm as f64 / 1024.0
    );
    println!(
        "  load process ({what}): CPU {load:.1} s over {seconds:.0} s ({:.0}% of one core; {:.1} s since sessions began), peak RSS {:.0} MiB",
        load / seconds * 100.0,
        sessions.load_cpu(&end),
        load_hwm as f64 / 1024.0
    );
}

/// Latencies in ms (sorted here) as `p50 …, p99 …, max …`.
pub fn percentiles(lat: &mut [f64]) -> String {
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    format!(
        "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.5),
        pct(0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    )
}

//! What the sync benches share: the real server binary as its own process,
//! a device's runtime with named threads, and a process's (or a runtime's)
//! CPU time and peak memory from `/proc`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The server process, killed however the bench ends (a panic included).
pub struct Server(Child);

impl Server {
    /// Starts `sync-server serve` on an ephemeral loopback port over `data`;
    /// returns it with its base URL (as printed on its first line).
    pub fn start(data: &Path) -> (Self, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sync-server"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split(" listening on ")
            .nth(1)
            .unwrap_or_else(|| panic!("server said {line:?}"))
            .trim()
            .to_owned();
        (Self(child), url)
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (utime + stime in clock ticks, VmHWM kB) of a process.
pub fn usage(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = fields
        .get(11)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (ticks, hwm)
}

/// A device's runtime; its threads (workers and blocking pool) are named
/// `name` so that its CPU time can be told apart ([`thread_ticks`]).
#[allow(dead_code)] // not every bench runs devices apart
pub fn runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .unwrap()
}

/// CPU ticks (utime + stime) of this process's threads whose name starts with
/// `prefix` (name a runtime's threads with `thread_name` to account per device).
#[allow(dead_code)] // not every bench accounts per runtime
pub fn thread_ticks(prefix: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("stat")).ok())
        .filter_map(|stat| {
            let name = stat.split_once('(')?.1.rsplit_once(')')?.0.to_owned();
            let rest: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
            let ticks = rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?;
            name.starts_with(prefix).then_some(ticks)
        })
        .sum()
}

//! The end-to-end harness: starts Ruta's real binaries as separate processes on
//! loopback, each with its own data directory, and tears them down.
//!
//! Binaries are taken from the target directory these tests were built into;
//! `cargo xtask test` builds them first. Every process is started on port 0 and
//! tells us its address on its first stdout line (see `host-runtime`), so tests
//! can run in parallel without port races. Logs of every process go to
//! `artifacts/logs/`, screenshots to `artifacts/`; CI keeps that folder.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root. The test runner sets `CARGO_MANIFEST_DIR` at run time;
/// it wins over the compile-time one, which may name another clone that shares
/// the target dir.
pub fn workspace_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Where screenshots and logs go (created on demand).
pub fn artifacts_dir() -> PathBuf {
    let dir = workspace_root().join("artifacts");
    std::fs::create_dir_all(dir.join("logs")).expect("create artifacts dir");
    dir
}

/// The built web UI.
pub fn ui_dist() -> PathBuf {
    let dist = workspace_root().join("app-ui/dist");
    assert!(
        dist.join("index.html").is_file(),
        "{} is missing: run `cargo xtask ui` (or `cargo xtask test`)",
        dist.display()
    );
    dist
}

/// Path of a binary of this workspace, built in the same profile as the tests.
pub fn binary(name: &str) -> PathBuf {
    // current_exe is <target>/<profile>/deps/e2e-<hash>
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in deps/");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo xtask test`, or `cargo build --bins -p sync-server \
         -p device-host -p ruta-app` before the tests",
        path.display()
    );
    path
}

/// A child process that is stopped (SIGTERM, then SIGKILL) when dropped.
/// A process started with [`Proc::spawn_group`] leads its own process group and
/// is stopped together with everything it started (e.g. a WebDriver and the app).
#[derive(Debug)]
pub struct Proc {
    pub name: String,
    child: Child,
    group: bool,
}

impl Proc {
    /// Starts `cmd` with stdout/stderr going to `artifacts/logs/<name>.log`.
    pub fn spawn(name: &str, cmd: &mut Command) -> Self {
        let log = log_file(name);
        let child = cmd
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            name: name.to_owned(),
            child,
            group: false,
        }
    }

    /// Like [`Proc::spawn`], but the child leads a new process group that is
    /// signalled as a whole.
    pub fn spawn_group(name: &str, cmd: &mut Command) -> Self {
        use std::os::unix::process::CommandExt;
        let mut proc = Self::spawn(name, cmd.process_group(0));
        proc.group = true;
        proc
    }

    /// Starts a host process and waits (up to 30 s) for its announce line;
    /// returns the process and its base URL (`http://127.0.0.1:PORT`).
    pub fn spawn_announced(name: &str, cmd: &mut Command) -> (Self, String) {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(log_file(name))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            for _ in lines {} // keep draining so the child never blocks on a full pipe
        });
        let first = rx.recv_timeout(Duration::from_secs(30));
        let mut proc = Proc {
            name: name.to_owned(),
            child,
            group: false,
        };
        let line = match first {
            Ok(Some(Ok(line))) => line,
            other => {
                let status = proc.child.try_wait();
                panic!(
                    "{name} did not announce its address ({other:?}, exit {status:?}); see artifacts/logs/{name}.log"
                )
            }
        };
        let url = line
            .split_once(" listening on ")
            .map(|(_, url)| url.trim().to_owned())
            .unwrap_or_else(|| panic!("{name}: unexpected first line {line:?}"));
        (proc, url)
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.signal("TERM");
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// SIGKILL: no shutdown code runs. Waits for the exit.
    pub fn kill(&mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
    }

    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Proc {
    fn signal(&self, sig: &str) {
        // A negative pid addresses the whole process group.
        let target = if self.group {
            format!("-{}", self.child.id())
        } else {
            self.child.id().to_string()
        };
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg("--")
            .arg(target)
            .status();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let running = self.try_wait().is_none();
        if (running || self.group) && self.terminate(Duration::from_secs(5)).is_none() {
            self.signal("KILL");
            let _ = self.child.wait();
        }
    }
}

fn log_file(name: &str) -> std::fs::File {
    let path = artifacts_dir().join("logs").join(format!("{name}.log"));
    std::fs::File::create(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()))
}

/// A running sync server with its own data directory.
#[derive(Debug)]
pub struct SyncServer {
    pub proc: Proc,
    pub url: String,
    pub data: tempfile::TempDir,
}

impl SyncServer {
    pub fn start(name: &str) -> Self {
        Self::start_in(name, tempfile::tempdir().expect("tempdir"))
    }

    /// Starts on an existing data directory (a provisioned tenant, or a restart).
    pub fn start_in(name: &str, data: tempfile::TempDir) -> Self {
        Self::start_at(name, data, "127.0.0.1:0")
    }

    /// Starts listening on `addr` (a restart on the address devices know).
    pub fn start_at(name: &str, data: tempfile::TempDir, addr: &str) -> Self {
        let (proc, url) = Proc::spawn_announced(
            name,
            Command::new(binary("sync-server"))
                .args(["serve", "--listen", addr, "--data"])
                .arg(data.path()),
        );
        SyncServer { proc, url, data }
    }
}

/// A running headless device host with its own local store, serving the UI.
#[derive(Debug)]
pub struct DeviceHost {
    pub proc: Proc,
    pub url: String,
    pub data: tempfile::TempDir,
}

impl DeviceHost {
    pub fn start(name: &str) -> Self {
        Self::start_in(name, tempfile::tempdir().expect("tempdir"))
    }

    /// Starts a host on an existing data directory (e.g. to test a restart).
    pub fn start_in(name: &str, data: tempfile::TempDir) -> Self {
        Self::start_with_env(name, data, &[])
    }

    /// Starts a host in a fresh data directory, signed in to the sync server
    /// at `server` with `token`.
    pub fn linked(name: &str, server: &str, token: &str) -> Self {
        Self::start_with_env(
            name,
            tempfile::tempdir().unwrap(),
            &[
                ("RUTA_SYNC_URL", server.as_ref()),
                ("RUTA_SYNC_TOKEN", token.as_ref()),
            ],
        )
    }

    /// Starts a host with extra environment (e.g. `RUTA_OSM_PBF`).
    pub fn start_with_env(
        name: &str,
        data: tempfile::TempDir,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Self {
        Self::start_with(name, data, env, &[])
    }

    /// Starts a host with extra environment and extra `serve` arguments
    /// (e.g. `--simulate 40`).
    pub fn start_with(
        name: &str,
        data: tempfile::TempDir,
        env: &[(&str, &std::ffi::OsStr)],
        args: &[&str],
    ) -> Self {
        let mut cmd = Command::new(binary("ruta-device"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data.path())
            .arg("--ui")
            .arg(ui_dist())
            .args(args);
        // A device with no server works alone as a dispatcher (the choice the
        // sign-in screen offers), unless the test signs it in (or sets
        // `RUTA_WORK_WITHOUT_SERVER` empty: a signed-out device).
        if !env
            .iter()
            .any(|(k, _)| matches!(*k, "RUTA_SYNC_URL" | "RUTA_WORK_WITHOUT_SERVER"))
        {
            cmd.env("RUTA_WORK_WITHOUT_SERVER", "local-dispatcher");
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let (proc, url) = Proc::spawn_announced(name, &mut cmd);
        DeviceHost { proc, url, data }
    }

    /// Sends one request to this device's command API and returns the HTTP
    /// status and the JSON body.
    pub async fn call(&self, request: &serde_json::Value) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{}", self.url, app_api::HTTP_PATH))
            .json(request)
            .send()
            .await
            .expect("device host reachable");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON answer"))
    }
}

/// A private X server for window tests: `Xvfb :N` on a free display number.
#[derive(Debug)]
pub struct Xvfb {
    _proc: Proc,
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Self {
        for n in 90..140 {
            let lock = PathBuf::from(format!("/tmp/.X{n}-lock"));
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
            if lock.exists() || socket.exists() {
                continue;
            }
            let mut proc = Proc::spawn(
                &format!("xvfb-{n}"),
                Command::new("Xvfb").arg(format!(":{n}")).args([
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                ]),
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if socket.exists() {
                    return Xvfb {
                        _proc: proc,
                        display: format!(":{n}"),
                    };
                }
                if proc.try_wait().is_some() {
                    break; // lost a race for this display number: try the next
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("could not start Xvfb on any display :90..:139 (is the xvfb package installed?)")
    }
}

/// A free TCP port on loopback (for tools that cannot announce a port 0 bind).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Polls `url` until it answers 200 or `timeout` passes.
pub async fn wait_http_ok(url: &str, timeout: Duration) -> bool {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// A tenant set up through the admin CLI: `sync-server tenant create`, `user
/// add` and `token issue`, run as real processes against `data`. Returns the
/// tokens by user id.
pub fn provision_tenant(
    data: &Path,
    tenant: &str,
    users: &[(&str, &str)],
) -> std::collections::HashMap<String, String> {
    let run = |args: &[&str]| -> String {
        let out = Command::new(binary("sync-server"))
            .arg("--data")
            .arg(data)
            .args(args)
            .output()
            .expect("run sync-server admin command");
        assert!(
            out.status.success(),
            "sync-server {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    run(&["tenant", "create", tenant]);
    let mut tokens = std::collections::HashMap::new();
    for (id, role) in users {
        run(&[
            "user", "add", "--tenant", tenant, "--id", id, "--role", role,
        ]);
        let token = run(&["token", "issue", "--tenant", tenant, "--user", id]);
        tokens.insert((*id).to_owned(), token);
    }
    tokens
}

/// A one-time enrolment code for `user` (`sync-server enrol`), valid `ttl_minutes`.
pub fn enrolment_code(data: &Path, tenant: &str, user: &str, ttl_minutes: u32) -> String {
    let out = Command::new(binary("sync-server"))
        .arg("--data")
        .arg(data)
        .args(["enrol", "--tenant", tenant, "--user", user, "--ttl-minutes"])
        .arg(ttl_minutes.to_string())
        .output()
        .expect("run sync-server enrol");
    assert!(
        out.status.success(),
        "sync-server enrol failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A loopback TCP relay between devices and a server that a test can cut and
/// restore: a real network partition (connections drop, new ones are refused).
#[derive(Debug, Clone)]
pub struct Link {
    pub url: String,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Link {
    /// Relays `127.0.0.1:<new port>` to `target` (host:port).
    pub async fn start(target: &str) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> =
            Default::default();
        let target = target.to_owned();
        let (up2, conns2) = (up.clone(), conns.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                conns2.lock().unwrap().push(task.abort_handle());
            }
        });
        Link { url, up, conns }
    }

    /// Drops every relayed connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `GET url` with a bearer token, answered as JSON (panics otherwise: test helper).
pub async fn get_json(url: &str, token: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("server reachable")
        .json()
        .await
        .expect("JSON answer")
}

/// Polls `check` every 50 ms until it returns true or `timeout` passes.
pub async fn eventually(timeout: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs one phase of a Chromium script in `tests/browser/` (`node <script>
/// <phase> <url> <artifacts> <json args>`) and returns the JSON of its last
/// output line; panics with the script's output when it fails.
pub fn browser_phase(
    script: &str,
    name: &str,
    url: &str,
    args: serde_json::Value,
) -> serde_json::Value {
    let out = Command::new("node")
        .arg(workspace_root().join("tests/browser").join(script))
        .arg(name)
        .arg(url)
        .arg(artifacts_dir())
        .arg(args.to_string())
        .current_dir(workspace_root())
        .output()
        .expect("node runs (installed by scripts/setup.sh)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser phase {name} of {script} failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("JSON result line")
}

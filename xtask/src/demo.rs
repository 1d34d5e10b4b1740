//! `cargo xtask demo`: a demo tenant on this machine.
//!
//! Creates the demo tenant on first run (`.demo/sync`: a dispatcher and two
//! couriers, tokens in `.demo/tokens.txt`), seeds the dispatcher's device store
//! (`.demo/device`) with orders at real Helsinki addresses, starts the sync
//! server (embedded SQLite) and opens the app signed in as the dispatcher, so the
//! seeded orders sync to the server: the real Tauri window when a display exists, otherwise the
//! headless device host serving the same UI to a browser, with its URL printed.
//! Ctrl-C (or closing the window) stops everything; data stays in `.demo/` for
//! the next run (delete it to start over).
//!
//! Options: `--browser` serves the UI to a browser even when a display exists;
//! `--port N` picks the browser port (default 8080); `--sync-port N` the sync
//! server's (default 3030).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::util::{Result, cargo, root, run, target_dir};

pub fn run_demo(args: &[String]) -> Result {
    let browser = args.iter().any(|a| a == "--browser");
    let port = flag_value(args, "--port").unwrap_or("8080").to_owned();
    let sync_port = flag_value(args, "--sync-port").unwrap_or("3030").to_owned();

    crate::setup()?;
    crate::ui::build()?;
    run(cargo().args(["build", "--bins"]).args(crate::HOST_PACKAGES))?;
    let bin = target_dir()?.join("debug");
    let data = root().join(".demo");
    let device_dir = data.join("device");

    let token = provision(&bin.join("sync-server"), &data)?;
    run(Command::new(bin.join("ruta-device"))
        .args(["seed-demo", "--dispatcher", "dispatcher", "--data"])
        .arg(&device_dir))?;

    let (mut sync, sync_url) = spawn_announced(
        Command::new(bin.join("sync-server"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{sync_port}"),
                "--data",
            ])
            .arg(data.join("sync")),
    )?;
    println!("sync server: {sync_url} (health: {sync_url}/healthz)");

    let display = std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty());
    let outcome = if display && !browser {
        println!("opening the Ruta window (close it to stop the demo)");
        Command::new(bin.join("ruta-app"))
            .env("RUTA_DATA_DIR", &device_dir)
            .env("RUTA_OSM_PBF", root().join("data/osm/Helsinki.osm.pbf"))
            .env("RUTA_SYNC_URL", &sync_url)
            .env("RUTA_SYNC_TOKEN", &token)
            .status()
            .map(|_| ())
            .map_err(Into::into)
    } else {
        let (mut host, url) = spawn_announced(
            Command::new(bin.join("ruta-device"))
                .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
                .arg(&device_dir)
                .arg("--ui")
                .arg(root().join("app-ui/dist"))
                .env("RUTA_OSM_PBF", root().join("data/osm/Helsinki.osm.pbf"))
                .env("RUTA_SYNC_URL", &sync_url)
                .env("RUTA_SYNC_TOKEN", &token),
        )?;
        if !display {
            println!("no display found, so the app is served to a browser instead of a window");
        }
        println!("\n  Ruta demo tenant is running. Open {url} in a browser.  (Ctrl-C stops it)\n");
        let status = host.wait();
        status.map(|_| ()).map_err(Into::into)
    };
    terminate(&mut sync);
    outcome
}

/// Creates the demo tenant on first run (a dispatcher and two couriers, with
/// device tokens kept in `.demo/tokens.txt`); returns the dispatcher's token.
fn provision(server: &std::path::Path, data: &std::path::Path) -> Result<String> {
    let tokens = data.join("tokens.txt");
    if let Ok(text) = std::fs::read_to_string(&tokens)
        && let Some(line) = text.lines().find(|l| l.starts_with("dispatcher "))
    {
        return Ok(line["dispatcher ".len()..].trim().to_owned());
    }
    let sync = data.join("sync");
    let admin = |args: &[&str]| -> Result<String> {
        let out = Command::new(server)
            .arg("--data")
            .arg(&sync)
            .args(args)
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "sync-server {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    admin(&["tenant", "create", "demo"])?;
    let mut lines = String::new();
    for (user, role) in [
        ("dispatcher", "dispatcher"),
        ("courier-1", "courier"),
        ("courier-2", "courier"),
    ] {
        admin(&[
            "user", "add", "--tenant", "demo", "--id", user, "--role", role,
        ])?;
        let token = admin(&["token", "issue", "--tenant", "demo", "--user", user])?;
        lines.push_str(&format!("{user} {token}\n"));
    }
    std::fs::write(&tokens, &lines)?;
    println!("demo tenant created; device tokens in {}", tokens.display());
    Ok(lines
        .lines()
        .next()
        .and_then(|l| l.split_once(' '))
        .map(|(_, t)| t.to_owned())
        .expect("written above"))
}

fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// Starts a host process and waits for its `… listening on http://ADDR` line.
/// The rest of its stdout is passed through.
fn spawn_announced(cmd: &mut Command) -> Result<(Child, String)> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", crate::util::show(cmd)))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let url = match lines.next() {
        Some(Ok(line)) => match line.split_once(" listening on ") {
            Some((_, url)) => url.trim().to_owned(),
            None => return Err(format!("unexpected first line: {line}").into()),
        },
        _ => {
            let status = child.wait()?;
            return Err(format!(
                "{} exited ({status}) before listening",
                crate::util::show(cmd)
            )
            .into());
        }
    };
    std::thread::spawn(move || {
        for line in lines.map_while(std::result::Result::ok) {
            println!("{line}");
        }
    });
    Ok((child, url))
}

/// SIGTERM, so the child shuts down gracefully; SIGKILL if it is still there after 10 s.
fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    for _ in 0..100 {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

//! `cargo xtask demo`: a demo tenant on this machine.
//!
//! Creates the demo tenant on first run (`.demo/sync`: an admin, a dispatcher,
//! two couriers and a client), starts the sync server (embedded SQLite), signs
//! a device in for each person through the same enrolment path a real tenant
//! uses (`sync-server enrol` + `ruta-device sign-in`; stores in
//! `.demo/devices/<user>`), seeds the dispatcher's device with orders at real
//! Helsinki addresses and opens the dispatcher's app — the real Tauri window
//! when a display exists, otherwise the device host serving the UI to a
//! browser — plus the admin's, a courier's and the client's devices in a
//! browser, printing every URL.
//! Ctrl-C (or closing the window) stops everything; data stays in `.demo/` for
//! the next run (delete it to start over).
//!
//! The demo lives: the admin's device applies the demo configuration (zones,
//! a hub, vehicles, courier profiles, tariff, services); a simulated shift
//! runs in the couriers' and the client's devices and in a second,
//! headless dispatcher device (`autodispatch`, signed in as the dispatcher)
//! that assigns work by the auto-assignment proposal — couriers accept,
//! drive the road graph with live positions, pick up, deliver with a
//! signature, sometimes fail an attempt or lose their connection for a while;
//! the client orders now and then (`device_host::sim`).
//!
//! Options: `--browser` serves the UI to a browser even when a display exists;
//! `--port N` picks the browser port (default 8080); `--sync-port N` the sync
//! server's (default 3030); `--speed N` runs the shift N times faster than
//! real life (default 3); `--no-sim` keeps everything still.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::util::{Result, cargo, root, run, target_dir};

pub fn run_demo(args: &[String]) -> Result {
    let browser = args.iter().any(|a| a == "--browser");
    let port: u16 = flag_value(args, "--port")
        .unwrap_or("8080")
        .parse()
        .map_err(|e| format!("--port: {e}"))?;
    let sync_port = flag_value(args, "--sync-port").unwrap_or("3030").to_owned();
    let speed: f64 = flag_value(args, "--speed")
        .unwrap_or("3")
        .parse()
        .map_err(|e| format!("--speed: {e}"))?;
    let simulate = !args.iter().any(|a| a == "--no-sim");

    crate::setup()?;
    crate::ui::build()?;
    run(cargo().args(["build", "--bins"]).args(crate::HOST_PACKAGES))?;
    let bin = target_dir()?.join("debug");
    let data = root().join(".demo");
    if data.join("tokens.txt").exists() {
        // An older demo (tokens instead of enrolment): keep it aside.
        let aside = root().join(".demo-old");
        let _ = std::fs::remove_dir_all(&aside);
        std::fs::rename(&data, &aside)?;
        println!("an older demo was moved to {}", aside.display());
    }
    let server = bin.join("sync-server");
    provision(&server, &data)?;

    let (mut sync, sync_url) = spawn_announced(
        Command::new(&server)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{sync_port}"),
                "--data",
            ])
            .arg(data.join("sync")),
    )?;
    println!("sync server: {sync_url} (health: {sync_url}/healthz)");
    // The web shop's door for support tickets (`sync-server intake-key`), made once.
    let key_file = data.join("intake-key.txt");
    if !key_file.exists() {
        let key = admin(&server, &data, &["intake-key", "--tenant", "demo"])?;
        std::fs::write(&key_file, &key)?;
    }
    let key = std::fs::read_to_string(&key_file)?;
    println!(
        "storefront tickets: curl -H 'X-Intake-Key: {}' -d '{{\"name\":\"Greta\",\"email\":\"greta@example.com\",\"subject\":\"Late parcel\",\"message\":\"Where is it?\"}}' {sync_url}/v1/intake/demo/tickets",
        key.trim()
    );

    // Every device signs in the way a real tenant's do: a one-time enrolment
    // code from the admin, exchanged for a device-bound token.
    for (device, user) in DEMO_DEVICES {
        let dir = data.join("devices").join(device);
        if dir.join("sync-credentials.json").exists() {
            continue;
        }
        let code = admin(
            &server,
            &data,
            &["enrol", "--tenant", "demo", "--user", user],
        )?;
        run(Command::new(bin.join("ruta-device"))
            .arg("sign-in")
            .arg("--data")
            .arg(&dir)
            .args(["--server", &sync_url, "--code", &code]))?;
    }
    let dispatcher_dir = data.join("devices").join("dispatcher");
    run(Command::new(bin.join("ruta-device"))
        .args([
            "seed-demo",
            "--orders",
            "200",
            "--dispatcher",
            "dispatcher",
            "--data",
        ])
        .arg(&dispatcher_dir))?;

    // The other workspaces, each its own device in a browser; the simulated
    // ones act as their users would.
    let pbf = root().join("data/osm/Helsinki.osm.pbf");
    let mut hosts = Vec::new();
    for (i, device) in [
        "admin",
        "courier-1",
        "client-1",
        "courier-2",
        "autodispatch",
    ]
    .iter()
    .enumerate()
    {
        let mut cmd = Command::new(bin.join("ruta-device"));
        cmd.args(["serve", "--demo", "--listen"])
            .arg(format!("127.0.0.1:{}", port + 1 + i as u16))
            .arg("--data")
            .arg(data.join("devices").join(device))
            .arg("--ui")
            .arg(root().join("app-ui/dist"))
            .env("RUTA_OSM_PBF", &pbf);
        if simulate && *device != "admin" {
            cmd.arg("--simulate").arg(speed.to_string());
        } else if !simulate && *device == "autodispatch" {
            continue;
        }
        let (host, url) = spawn_announced(&mut cmd)?;
        hosts.push((host, format!("{device:<12} {url}")));
    }
    if simulate {
        println!("simulated shift running at {speed}x (--no-sim keeps it still)");
    }

    let display = std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty());
    let others = hosts
        .iter()
        .map(|(_, line)| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n");
    let outcome = if display && !browser {
        println!("opening the dispatcher's Ruta window (close it to stop the demo)");
        println!("other workspaces, each its own device, in a browser:\n{others}");
        Command::new(bin.join("ruta-app"))
            .env("RUTA_DATA_DIR", &dispatcher_dir)
            .env("RUTA_OSM_PBF", &pbf)
            .status()
            .map(|_| ())
            .map_err(Into::into)
    } else {
        let (mut host, url) = spawn_announced(
            Command::new(bin.join("ruta-device"))
                .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
                .arg(&dispatcher_dir)
                .arg("--ui")
                .arg(root().join("app-ui/dist"))
                .env("RUTA_OSM_PBF", &pbf),
        )?;
        if !display {
            println!("no display found, so the app is served to a browser instead of a window");
        }
        println!(
            "\n  Ruta demo tenant is running (Ctrl-C stops it). Open in a browser:\n    dispatcher {url}\n{others}\n"
        );
        let status = host.wait();
        status.map(|_| ()).map_err(Into::into)
    };
    for (mut host, _) in hosts {
        terminate(&mut host);
    }
    terminate(&mut sync);
    outcome
}

/// The demo tenant's people: (user, role).
const DEMO_USERS: [(&str, &str); 5] = [
    ("admin", "admin"),
    ("dispatcher", "dispatcher"),
    ("courier-1", "courier"),
    ("courier-2", "courier"),
    ("client-1", "client"),
];

/// The demo's devices: (device directory, user signed in on it). The
/// dispatcher has two: the one people use, and `autodispatch`, headless,
/// which assigns work during the simulated shift.
const DEMO_DEVICES: [(&str, &str); 6] = [
    ("admin", "admin"),
    ("dispatcher", "dispatcher"),
    ("courier-1", "courier-1"),
    ("courier-2", "courier-2"),
    ("client-1", "client-1"),
    ("autodispatch", "dispatcher"),
];

/// Runs a `sync-server` admin command on the demo's data; its stdout.
fn admin(server: &std::path::Path, data: &std::path::Path, args: &[&str]) -> Result<String> {
    let out = Command::new(server)
        .arg("--data")
        .arg(data.join("sync"))
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
}

/// Creates the demo tenant and its people on first run.
fn provision(server: &std::path::Path, data: &std::path::Path) -> Result {
    if data.join("sync/tenants/demo").exists() {
        return Ok(());
    }
    admin(server, data, &["tenant", "create", "demo"])?;
    for (user, role) in DEMO_USERS {
        admin(
            server,
            data,
            &[
                "user", "add", "--tenant", "demo", "--id", user, "--role", role,
            ],
        )?;
    }
    println!("demo tenant created in {}", data.join("sync").display());
    Ok(())
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

//! Ruta's task runner. Tooling is code: every step CI and a newcomer run lives
//! here, so `.ci/run`, the README and a developer's shell do the same thing.
//!
//! - `cargo xtask demo`  — set up, build, start a demo tenant (sync server with its
//!   embedded store, a seeded device) and the app: the Tauri window when a display
//!   exists, otherwise the same UI served to a browser (URL printed).
//! - `cargo xtask test`  — set up, build the UI, check formatting and lints, build
//!   the binaries the end-to-end tests start, and run every test.
//! - `cargo xtask ui`    — build the web UI into `app-ui/dist` (wasm32, wasm-bindgen, wasm-opt).
//! - `cargo xtask setup` — install system packages and tools (idempotent).
//! - `cargo xtask sizes` — print the sizes CI reports (wasm, release binaries).
//! - `cargo xtask bench` — the data-core benchmarks (figures go to BENCHMARKS.md).
//! - `cargo xtask bench-sync-peers` — our sync server side by side with the stock
//!   automerge-repo sync server on node (`scripts/bench/sync-side-by-side.mjs`).

mod demo;
mod ui;
mod util;

use std::process::ExitCode;

use util::{Result, cargo, root, run};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let rest = &args[args.len().min(1)..];
    let result = match task {
        "setup" => setup(),
        "ui" => setup().and_then(|()| ui::build()),
        "demo" => demo::run_demo(rest),
        "test" => test(rest),
        "sizes" => sizes(),
        "bench" => run(cargo().args(["bench", "-p", "app-core", "--bench", "scale"]))
            .and_then(|()| run(cargo().args(["bench", "-p", "app-core", "--bench", "core_calls"]))),
        "bench-routing" => setup().and_then(|()| bench_routing()),
        "bench-sync-peers" => setup().and_then(|()| bench_sync_peers(rest)),
        "help" | "--help" | "-h" => {
            println!("{}", HELP.trim());
            Ok(())
        }
        other => Err(format!("unknown task {other:?}\n\n{}", HELP.trim()).into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {task}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The packages whose binaries the demo and the end-to-end tests start.
pub const HOST_PACKAGES: [&str; 6] = ["-p", "sync-server", "-p", "device-host", "-p", "ruta-app"];

const HELP: &str = "
usage: cargo xtask <task>

  demo    start a demo tenant and the app (installs what is missing)
  test    run every check and test (installs what is missing); CI runs this
  ui      build the web UI into app-ui/dist
  setup   install system packages and tools
  sizes   print wasm and release binary sizes
  bench   run the data-core benchmarks (see BENCHMARKS.md)
  bench-routing
          routing side by side with VROOM, OR-Tools, vrp-core, LKH, PyVRP (see BENCHMARKS.md)
  bench-sync-peers [ARGS]
          sync-server side by side with the stock automerge-repo sync server on node;
          ARGS go to scripts/bench/sync-side-by-side.mjs (see BENCHMARKS.md)
";

/// The routing bench binary, then (unless `RUTA_BENCH_PEERS=0`) the release
/// `ruta` next to LKH on random uniform TSPs and next to PyVRP and VROOM on
/// Solomon-shaped VRPTW instances; reports land in `target/bench-routing/`.
fn bench_routing() -> Result {
    run(cargo().args(["bench", "-p", "ruta-routing", "--bench", "routing"]))?;
    if std::env::var("RUTA_BENCH_PEERS").is_ok_and(|v| v == "0") {
        return Ok(());
    }
    run(cargo().args(["build", "--release", "-p", "ruta-cli"]))?;
    let ruta = util::target_dir()?.join("release/ruta");
    let venv = std::process::Command::new("bash")
        .arg(root().join("scripts/bench/peers-venv.sh"))
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !venv.status.success() {
        return Err("scripts/bench/peers-venv.sh failed".into());
    }
    let py = String::from_utf8_lossy(&venv.stdout)
        .lines()
        .last()
        .unwrap_or("python3")
        .to_owned();
    let out = root().join("target/bench-routing");
    let tsp_dir = out.join("tsp");
    run(std::process::Command::new(&py)
        .arg(root().join("scripts/bench/tsp_instances.py"))
        .arg(&tsp_dir))?;
    let mut files: Vec<_> = std::fs::read_dir(&tsp_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tsp"))
        .collect();
    // By size, then seed: rand120s1 before rand1000s1.
    files.sort_by_key(|p| {
        let name = p
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let digits: String = name
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == 's')
            .collect();
        let mut parts = digits.split('s').map(|x| x.parse::<u64>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    });
    let report = |name: &str, cmd: &mut std::process::Command| -> Result {
        eprintln!("\x1b[1;34m$\x1b[0m {} > {name}", util::show(cmd));
        let o = cmd.stderr(std::process::Stdio::inherit()).output()?;
        std::fs::write(out.join(name), &o.stdout)?;
        print!("{}", String::from_utf8_lossy(&o.stdout));
        if o.status.success() {
            Ok(())
        } else {
            Err(format!("`{}` failed", util::show(cmd)).into())
        }
    };
    report(
        "tsp-vs-lkh.md",
        std::process::Command::new(&py)
            .arg(root().join("scripts/bench/tsp_vs_lkh.py"))
            .arg("--ruta")
            .arg(&ruta)
            .args(&files),
    )?;
    report(
        "vrptw-side-by-side.md",
        std::process::Command::new(&py)
            .arg(root().join("scripts/bench/vrptw_side_by_side.py"))
            .arg("--ruta")
            .arg(&ruta),
    )
}

/// Builds the release `sync-server` and `sync-loadgen` and runs the side-by-side driver.
fn bench_sync_peers(extra: &[String]) -> Result {
    run(cargo().args(["build", "--release", "-p", "sync-server", "--bins"]))?;
    let release = util::target_dir()?.join("release");
    run(std::process::Command::new("node")
        .current_dir(root())
        .arg(root().join("scripts/bench/sync-side-by-side.mjs"))
        .arg("--sync-server")
        .arg(release.join("sync-server"))
        .arg("--loadgen")
        .arg(release.join("sync-loadgen"))
        .args(extra))
}

fn setup() -> Result {
    if std::env::var_os("RUTA_SKIP_SETUP").is_some() {
        return Ok(());
    }
    run(std::process::Command::new("bash").arg(root().join("scripts/setup.sh")))
}

/// Everything CI checks, in the order that fails fastest. Extra arguments go to
/// the test runner (e.g. a test name filter).
fn test(extra: &[String]) -> Result {
    setup()?;
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    ui::build()?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The end-to-end tests start these binaries as separate processes.
    run(cargo().args(["build", "--bins"]).args(HOST_PACKAGES))?;
    if util::has_nextest() {
        run(cargo()
            .args([
                "nextest",
                "run",
                "--workspace",
                "--no-fail-fast",
                "--failure-output",
                "final",
            ])
            .args(extra))
    } else {
        run(cargo()
            .args(["test", "--workspace", "--no-fail-fast"])
            .args(extra))
    }
}

fn sizes() -> Result {
    ui::build()?;
    run(cargo()
        .args(["build", "--release", "--bins"])
        .args(HOST_PACKAGES))?;
    let target = util::target_dir()?;
    let dist = root().join("app-ui/dist");
    for (label, path) in [
        ("wasm (after wasm-opt)", dist.join("app_ui_bg.wasm")),
        ("sync-server (release)", target.join("release/sync-server")),
        ("ruta-device (release)", target.join("release/ruta-device")),
        ("ruta-app (release)", target.join("release/ruta-app")),
    ] {
        let bytes = std::fs::metadata(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .len();
        println!(
            "{label:<24} {:>10} bytes  {:>8.1} KiB",
            bytes,
            bytes as f64 / 1024.0
        );
    }
    Ok(())
}

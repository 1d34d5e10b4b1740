//! Builds the web UI: `app-ui` for wasm32 (profile `wasm-release`), then
//! wasm-bindgen (`--target web`), then wasm-opt, into `app-ui/dist` together
//! with the static files. Three commands instead of trunk, which takes 15+
//! minutes to install.

use std::path::Path;
use std::process::Command;

use crate::util::{Result, cargo, root, run, target_dir};

pub fn build() -> Result {
    let dist = root().join("app-ui/dist");
    let target = target_dir()?;
    let (mut build, build_std) = wasm_cargo();
    build.args([
        "build",
        "-p",
        "app-ui",
        "--bin",
        "app_ui",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-release",
    ]);
    if build_std {
        build.args(["-Zbuild-std=std,panic_abort"]);
    }
    run(&mut build)?;
    let wasm = target.join("wasm32-unknown-unknown/wasm-release/app_ui.wasm");

    let staging = root().join("app-ui/dist.new");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    run(Command::new("wasm-bindgen")
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&staging)
        .arg(&wasm))?;
    let bg = staging.join("app_ui_bg.wasm");
    let wasm_opt = root().join("node_modules/.bin/wasm-opt");
    run(Command::new(&wasm_opt)
        // The features rustc enables by default for wasm32-unknown-unknown.
        .args([
            "-Oz",
            "--strip-debug",
            "--strip-producers",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
            "--enable-sign-ext",
            "--enable-mutable-globals",
            "--enable-reference-types",
            "--enable-multivalue",
        ])
        .arg(&bg)
        .arg("-o")
        .arg(&bg))?;
    for file in [
        "index.html",
        "boot.js",
        "style.css",
        "map.js",
        "map-check.html",
    ] {
        std::fs::copy(root().join("app-ui").join(file), staging.join(file))?;
    }
    // MapLibre GL JS (npm `maplibre-gl`, BSD-3-Clause) for map.js, with its licence notice.
    let maplibre = root().join("node_modules/maplibre-gl");
    for file in [
        "maplibre-gl.mjs",
        "maplibre-gl-worker.mjs",
        "maplibre-gl.css",
    ] {
        let from = maplibre.join("dist").join(file);
        std::fs::copy(&from, staging.join(file)).map_err(|e| {
            format!(
                "{}: {e} (run scripts/setup.sh to install the npm tools)",
                from.display()
            )
        })?;
    }
    std::fs::copy(
        maplibre.join("LICENSE.txt"),
        staging.join("maplibre-gl-LICENSE.txt"),
    )?;
    // Swap in atomically enough that a running device host never serves half a build.
    let _ = std::fs::remove_dir_all(&dist);
    std::fs::rename(&staging, &dist)?;
    eprintln!(
        "ui: {} ({} KiB wasm)",
        dist.display(),
        size_kib(&dist.join("app_ui_bg.wasm"))
    );
    Ok(())
}

/// cargo for the wasm build: rustup's by default, or Debian's `cargo-web` with
/// build-std when setup recorded that fallback (rustup could not fetch the target).
/// Returns the command and whether build-std is needed.
fn wasm_cargo() -> (Command, bool) {
    let env_file = root().join("target-wasm-toolchain.env");
    let Ok(text) = std::fs::read_to_string(&env_file) else {
        return (cargo(), false);
    };
    let mut cmd = cargo();
    let mut envs = Vec::new();
    let mut build_std = false;
    for (key, value) in text.lines().filter_map(|l| l.split_once('=')) {
        match key {
            "RUTA_WASM_CARGO" => {
                cmd = Command::new(value);
                cmd.current_dir(root());
            }
            "RUTA_WASM_BUILD_STD" => build_std = true,
            _ => envs.push((key.to_owned(), value.to_owned())),
        }
    }
    cmd.envs(envs);
    (cmd, build_std)
}

fn size_kib(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len() / 1024).unwrap_or(0)
}

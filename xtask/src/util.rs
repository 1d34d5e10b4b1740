//! Small helpers: where things are, and running commands loudly.

use std::path::{Path, PathBuf};
use std::process::Command;

pub type Result<T = (), E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// The workspace root (xtask lives one level below it). `cargo run` sets
/// `CARGO_MANIFEST_DIR` at run time too; that one wins, because a target dir
/// shared by several clones may hold a binary compiled in another clone.
pub fn root() -> &'static Path {
    static ROOT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
        manifest
            .parent()
            .expect("xtask has a parent directory")
            .to_path_buf()
    })
}

/// `cargo` as the one running us (respects rustup overrides), in the workspace root.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs a command to completion, echoing it first; a non-zero exit is an error.
pub fn run(cmd: &mut Command) -> Result {
    eprintln!("\x1b[1;34m$\x1b[0m {}", show(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {}: {e}", show(cmd)))?;
    if !status.success() {
        return Err(format!("`{}` failed ({status})", show(cmd)).into());
    }
    Ok(())
}

pub fn show(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The cargo target directory (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return Ok(if dir.is_absolute() {
            dir
        } else {
            root().join(dir)
        });
    }
    Ok(root().join("target"))
}

pub fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

//! What every native Ruta host process (the sync server, the headless device
//! host) does the same way: structured logs, a listener whose real address is
//! announced on stdout, and a clean stop on SIGTERM or Ctrl-C.
//!
//! The announce line is a contract with the end-to-end harness and the demo
//! runner: `<name> listening on http://<addr>` is the first line on stdout, so a
//! process started with port 0 tells its parent where it is.
//!
//! [`tiles`] reads the offline basemap (an MBTiles file) for both shells' map view;
//! [`maps`] says where a device finds its map files.

use std::io::Write;
use std::net::SocketAddr;

use tokio::net::TcpListener;

pub mod maps;
pub mod tiles;

/// Sets up `tracing` on stderr. `RUST_LOG` overrides `default_filter`;
/// `RUTA_LOG_FORMAT=json` switches to one JSON object per line.
pub fn init_tracing(default_filter: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let json = std::env::var("RUTA_LOG_FORMAT").is_ok_and(|v| v == "json");
    // A second init (tests in one process) is harmless: keep the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Binds `addr` and prints `<name> listening on http://<actual addr>` to stdout.
pub async fn bind_and_announce(name: &str, addr: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{name} listening on http://{local}")?;
    out.flush()?;
    tracing::info!(%local, "{name} listening");
    Ok(listener)
}

/// Resolves when the process is asked to stop (SIGTERM, or SIGINT/Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("interrupt received, shutting down"),
        () = term => tracing::info!("SIGTERM received, shutting down"),
    }
}

//! `sync-server`: the tenant's sync server binary. It parses the command line,
//! sets up logging and hands over to [`sync_server::serve`].

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(version, about = "Ruta's tenant sync server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve sync and health on ADDR, with the embedded store in DIR.
    Serve {
        /// Address to listen on; port 0 picks a free port (announced on stdout).
        #[arg(long, env = "RUTA_SYNC_LISTEN", default_value = "127.0.0.1:3030")]
        listen: SocketAddr,
        /// Data directory holding the embedded SQLite store (created if missing).
        #[arg(long, env = "RUTA_SYNC_DATA")]
        data: PathBuf,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    host_runtime::init_tracing("info");
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { listen, data } => serve(listen, data).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sync-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(listen: SocketAddr, data: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let listener = host_runtime::bind_and_announce("sync-server", listen).await?;
    tracing::info!(data = %data.display(), "embedded store");
    sync_server::serve(listener, &data, host_runtime::shutdown_signal()).await?;
    tracing::info!("sync-server stopped cleanly");
    Ok(())
}

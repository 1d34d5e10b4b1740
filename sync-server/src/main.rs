//! `sync-server`: the tenant's sync server binary — `serve`, and the admin
//! commands a tenant runs by hand (tenants, users, device tokens).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sync_server::directory::{Directory, now_ms, parse_role};

#[derive(Debug, Parser)]
#[command(version, about = "Ruta's tenant sync server")]
struct Cli {
    /// TOML file with `listen` and `data` (command line and environment win).
    #[arg(long, global = true, env = "RUTA_SYNC_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (tenants live in DATA/tenants/<name>/).
    #[arg(long, global = true, env = "RUTA_SYNC_DATA")]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve sync, blobs and health on ADDR.
    Serve {
        /// Address to listen on; port 0 picks a free port (announced on stdout).
        #[arg(long, env = "RUTA_SYNC_LISTEN")]
        listen: Option<SocketAddr>,
    },
    /// Tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCmd,
    },
    /// Users of a tenant.
    User {
        #[command(subcommand)]
        command: UserCmd,
    },
    /// Device tokens (shown once when issued; stored hashed).
    Token {
        #[command(subcommand)]
        command: TokenCmd,
    },
}

#[derive(Debug, Subcommand)]
enum TenantCmd {
    /// Create a tenant (name: a-z, 0-9, '-').
    Create { name: String },
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// Add a user with a role: client, dispatcher, courier or admin.
    Add {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        id: String,
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List users.
    List {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCmd {
    /// Issue a device token for a user; prints it once.
    Issue {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        user: String,
        /// Expire after this many days (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Revoke a token by its id (see `token list`); live sessions end within seconds.
    Revoke {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        id: String,
    },
    /// List tokens (ids, users, state; never the secrets).
    List {
        #[arg(long)]
        tenant: String,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    host_runtime::init_tracing("info,samod=warn,samod_core=warn");
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sync-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let listen = match &cli.command {
        Command::Serve { listen } => *listen,
        _ => None,
    };
    let (listen, data) = sync_server::config::resolve(listen, cli.data, cli.config.as_deref())?;
    match cli.command {
        Command::Serve { .. } => {
            let listener = host_runtime::bind_and_announce("sync-server", listen).await?;
            tracing::info!(data = %data.display(), "data directory");
            sync_server::serve(listener, &data, host_runtime::shutdown_signal()).await?;
            tracing::info!("sync-server stopped cleanly");
        }
        Command::Tenant {
            command: TenantCmd::Create { name },
        } => {
            Directory::create(&data, &name)?;
            println!("tenant {name} created in {}", data.display());
        }
        Command::User { command } => match command {
            UserCmd::Add {
                tenant,
                id,
                role,
                name,
            } => {
                let role = parse_role(&role)?;
                Directory::open(&data, &tenant)?.add_user(&id, role, &name, now_ms())?;
                println!("user {id} ({role:?}) added to {tenant}");
            }
            UserCmd::List { tenant } => {
                for u in Directory::open(&data, &tenant)?.users()? {
                    println!("{}\t{:?}\t{}", u.id, u.role, u.name);
                }
            }
        },
        Command::Token { command } => match command {
            TokenCmd::Issue {
                tenant,
                user,
                expires_in_days,
            } => {
                let now = now_ms();
                let expires = expires_in_days.map(|d| now + i64::from(d) * 86_400_000);
                let (id, token) =
                    Directory::open(&data, &tenant)?.issue_token(&tenant, &user, expires, now)?;
                eprintln!("token {id} for {user}; shown once, store it on the device:");
                println!("{token}");
            }
            TokenCmd::Revoke { tenant, id } => {
                Directory::open(&data, &tenant)?.revoke_token(&id, now_ms())?;
                println!("token {id} revoked");
            }
            TokenCmd::List { tenant } => {
                for (id, user, created, expires, revoked) in
                    Directory::open(&data, &tenant)?.tokens()?
                {
                    let state = match (revoked, expires) {
                        (Some(_), _) => "revoked",
                        (None, Some(e)) if e <= now_ms() => "expired",
                        _ => "active",
                    };
                    println!("{id}\t{user}\t{state}\tcreated {created}");
                }
            }
        },
    }
    Ok(())
}

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
    /// One-time enrolment codes: how a new device signs in (typed or as a QR code).
    Enrol {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        user: String,
        /// Minutes until the code expires.
        #[arg(long, default_value_t = sync_server::admin::DEFAULT_TTL_MINUTES)]
        ttl_minutes: u32,
        /// Seconds instead of minutes (tests of expiry).
        #[arg(long, hide = true)]
        ttl_seconds: Option<u32>,
        /// The server address devices use: also print the QR code's payload
        /// (the admin workspace shows the QR code itself).
        #[arg(long)]
        server: Option<String>,
    },
    /// Devices that signed in.
    Device {
        #[command(subcommand)]
        command: DeviceCmd,
    },
    /// A new intake key for the tenant's web shop (support tickets from
    /// people without an account, `POST /v1/intake/{tenant}/tickets`);
    /// shown once, stored hashed; the old key stops working.
    IntakeKey {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Debug, Subcommand)]
enum DeviceCmd {
    /// List devices, their users and whether they may still sync.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Revoke every token of a device; its sessions end within seconds.
    Revoke {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        device: String,
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
        Command::Enrol {
            tenant,
            user,
            ttl_minutes,
            ttl_seconds,
            server,
        } => {
            if ttl_minutes == 0 || ttl_minutes > sync_server::admin::MAX_TTL_MINUTES {
                return Err(format!(
                    "--ttl-minutes: 1 to {}",
                    sync_server::admin::MAX_TTL_MINUTES
                )
                .into());
            }
            let (code, expires) = Directory::open(&data, &tenant)?.issue_enrolment(
                &tenant,
                &user,
                ttl_seconds.map_or(i64::from(ttl_minutes) * 60_000, |s| i64::from(s) * 1000),
                now_ms(),
            )?;
            eprintln!(
                "enrolment code for {user}, works once, expires in {ttl_minutes} min (at {expires} ms):"
            );
            println!("{code}");
            if let Some(server) = server {
                println!("{}", ruta_model::enrolment::qr_payload(&server, &code));
            }
        }
        Command::IntakeKey { tenant } => {
            let key = Directory::open(&data, &tenant)?.rotate_intake_key()?;
            eprintln!("intake key for {tenant} (the previous one no longer works):");
            println!("{key}");
        }
        Command::Device { command } => match command {
            DeviceCmd::List { tenant } => {
                for (device, user, first, active) in
                    Directory::open(&data, &tenant)?.devices(now_ms())?
                {
                    let state = if active { "active" } else { "revoked" };
                    println!("{device}\t{user}\t{state}\tfirst {first}");
                }
            }
            DeviceCmd::Revoke { tenant, device } => {
                let n = Directory::open(&data, &tenant)?.revoke_device(&device, now_ms())?;
                if n == 0 {
                    return Err(format!("device {device:?} has no live token").into());
                }
                println!("device {device} revoked ({n} token(s)); its sessions end within seconds");
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

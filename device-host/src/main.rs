//! `ruta-device`: run one headless Ruta device. See the crate docs.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// A headless Ruta device: its own local store, the command API over HTTP, and the web UI.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the command API (and the UI) for the device whose store is in DIR.
    Serve {
        /// Address to listen on; port 0 picks a free port (announced on stdout).
        #[arg(long, env = "RUTA_DEVICE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Directory of this device's local store (created if missing).
        #[arg(long, env = "RUTA_DEVICE_DATA")]
        data: PathBuf,
        /// Directory of the built web UI to serve at `/`.
        #[arg(long, env = "RUTA_DEVICE_UI")]
        ui: Option<PathBuf>,
        /// The demo: on an admin's device, apply the demo configuration once
        /// the tenant's documents arrive, if the tenant has none.
        #[arg(long)]
        demo: bool,
        /// The demo's simulated shift: this device acts as its user would
        /// (see `device_host::sim`), N times faster than real life.
        #[arg(long, value_name = "N")]
        simulate: Option<f64>,
    },
    /// Sign the device whose store is in DIR in with a one-time enrolment code
    /// (the sign-in screen's path, for headless devices and the demo).
    SignIn {
        #[arg(long, env = "RUTA_DEVICE_DATA")]
        data: PathBuf,
        /// The tenant's server, e.g. `https://ruta.example.com`.
        #[arg(long)]
        server: String,
        /// The enrolment code an admin issued (`sync-server enrol`, or the People tab).
        #[arg(long)]
        code: String,
    },
    /// Put demo orders (real Helsinki addresses) into the store in DIR if it has none.
    SeedDemo {
        #[arg(long, env = "RUTA_DEVICE_DATA")]
        data: PathBuf,
        /// Sign in as this dispatcher first, so the orders are theirs when they
        /// sync (the server refuses events by anyone but the connection's user).
        #[arg(long)]
        dispatcher: Option<String>,
        /// How many orders (default: the listed few; more pair their addresses).
        #[arg(long)]
        orders: Option<usize>,
    },
    /// Write orders and edits as fast as possible, printing `committed <order> <events>`
    /// after each commit, until killed or COUNT writes are done (crash tests, load).
    #[command(hide = true)]
    WriteLoad {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value_t = u64::MAX)]
        count: u64,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    host_runtime::init_tracing("info,samod=warn,samod_core=warn");
    let result = match Cli::parse().command {
        Command::Serve {
            listen,
            data,
            ui,
            demo,
            simulate,
        } => serve(listen, data, ui, demo, simulate).await,
        Command::SignIn { data, server, code } => sign_in(data, server, code).await,
        Command::SeedDemo {
            data,
            dispatcher,
            orders,
        } => seed(data, dispatcher, orders),
        Command::WriteLoad { data, count } => write_load(data, count),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ruta-device: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(
    listen: SocketAddr,
    data: PathBuf,
    ui: Option<PathBuf>,
    demo: bool,
    simulate: Option<f64>,
) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(ui) = &ui
        && !ui.join("index.html").is_file()
    {
        return Err(format!("no index.html in {}: build the UI first", ui.display()).into());
    }
    let core = app_core::Core::open(&data)?;
    tracing::info!(device_id = %core.device_id(), data = %data.display(), "device store open");
    // Real road distances when a road extract is found; else straight lines.
    let dirs = device_host::map_dirs(&data);
    match host_runtime::maps::locate(host_runtime::maps::MapFile::Roads, &dirs) {
        Some(path) => match core.load_road_graph(&path) {
            Ok(graph) => tracing::info!(%graph, path = %path.display(), "road graph loaded"),
            Err(e) => tracing::warn!("road graph not loaded, routing uses straight lines: {e}"),
        },
        None => tracing::info!(
            "no road extract (RUTA_OSM_PBF, maps/roads.osm.pbf): routing uses straight lines"
        ),
    }
    // Signed in from the environment (RUTA_SYNC_URL and RUTA_SYNC_TOKEN), from
    // stored credentials, or not yet: the UI shows the sign-in screen.
    let account = sync_client::Account::start(core.clone(), &data).await?;
    if let Some(speed) = simulate {
        tokio::spawn(device_host::sim::run(core.clone(), account.clone(), speed));
    } else if demo {
        tokio::spawn(device_host::sim::configure_if_admin(core.clone()));
    }
    let app = device_host::router(core, ui, device_host::tiles_for(&data), Some(account));
    let listener = host_runtime::bind_and_announce("ruta-device", listen).await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(host_runtime::shutdown_signal())
        .await?;
    tracing::info!("ruta-device stopped cleanly");
    Ok(())
}

async fn sign_in(
    data: PathBuf,
    server: String,
    code: String,
) -> Result<(), Box<dyn std::error::Error>> {
    use app_core::api::account::{AccountRequest, AccountResponse};
    let core = app_core::Core::open(&data)?;
    let account = sync_client::Account::start(core, &data).await?;
    match account
        .handle(AccountRequest::SignIn { server, code })
        .await?
    {
        AccountResponse::Status(s) => {
            println!(
                "signed in as {} ({}) on {}",
                s.user.unwrap_or_default(),
                s.role.map(|r| format!("{r:?}")).unwrap_or_default(),
                s.server.unwrap_or_default()
            );
            Ok(())
        }
        other => Err(format!("unexpected answer: {other:?}").into()),
    }
}

fn seed(
    data: PathBuf,
    dispatcher: Option<String>,
    orders: Option<usize>,
) -> Result<(), Box<dyn std::error::Error>> {
    let core = app_core::Core::open(&data)?;
    if let Some(user) = dispatcher {
        core.set_session(&user, app_core::api::Role::Dispatcher)?;
    }
    let created = match orders {
        Some(n) => app_core::demo::seed_many(&core, n)?,
        None => app_core::demo::seed(&core)?,
    };
    println!("seeded {created} demo orders into {}", data.display());
    Ok(())
}

fn write_load(data: PathBuf, count: u64) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write;

    use app_core::api::{Action, NewOrder, Request, Response};
    let core = app_core::Core::open(&data)?;
    if core.session().is_none() {
        core.set_session("load-test", app_core::api::Role::Dispatcher)?;
    }
    let mut out = std::io::stdout().lock();
    let mut order = String::new();
    for i in 0..count {
        let response = if i % 8 == 0 {
            let new = NewOrder::simple(&format!("Load {i}"), "Kauppatori 1", "Bulevardi 14");
            core.execute(Request::CreateOrder(new))?
        } else {
            let action = match i % 8 {
                1 => Action::Assign {
                    courier: "aki".into(),
                },
                7 => Action::SetPrice {
                    cents: i64::try_from(i).unwrap_or(0),
                },
                _ => Action::EditNotes {
                    text: format!("edit {i}"),
                },
            };
            core.execute(Request::Act {
                order_id: order.clone(),
                action,
            })?
        };
        let Response::Order(summary) = response else {
            return Err("unexpected answer".into());
        };
        order = summary.id;
        let events = core
            .order_state(&app_core::domain::OrderId::new(order.clone()))?
            .timeline
            .len();
        writeln!(out, "committed {order} {events}")?;
        out.flush()?;
    }
    Ok(())
}

//! `ruta`: the command line over the shared core.
//!
//! ```text
//! ruta route solve --tsplib FILE [--time-limit-ms N] [--iterations N] [--seed S]
//! ```
//!
//! Output is one JSON object on stdout; errors go to stderr with exit code 2
//! and name the file and line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ruta_routing::{Budget, roads, tsp, tsplib};

#[derive(Parser)]
#[command(name = "ruta", version, about = "Ruta's command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Routing: solve instances offline.
    #[command(subcommand)]
    Route(Route),
    /// OpenStreetMap extracts: what the road graph and geocoding see.
    #[command(subcommand)]
    Osm(Osm),
}

#[derive(Subcommand)]
enum Osm {
    /// Address-tagged nodes as JSON lines ({street, housenumber, postcode, point}).
    Addresses {
        #[arg(long)]
        pbf: PathBuf,
        /// Only addresses whose "street housenumber" contains this (case-insensitive).
        #[arg(long)]
        search: Option<String>,
    },
    /// Road graph statistics for a profile (car, bicycle, foot).
    Graph {
        #[arg(long)]
        pbf: PathBuf,
        #[arg(long, default_value = "car")]
        profile: String,
    },
}

#[derive(Subcommand)]
enum Route {
    /// Solve a symmetric TSP; prints {name, n, length, tour, ms, iterations, seed}.
    /// `tour` lists TSPLIB node ids (1-based), starting at node 1.
    Solve {
        /// A TSPLIB file (EUC_2D, CEIL_2D, GEO, ATT, or EXPLICIT FULL_MATRIX /
        /// LOWER_DIAG_ROW / UPPER_ROW / UPPER_DIAG_ROW / LOWER_ROW).
        #[arg(long)]
        tsplib: PathBuf,
        /// Wall-clock budget in milliseconds.
        #[arg(long, default_value_t = 1000)]
        time_limit_ms: u64,
        /// Iteration budget; with it, results are identical on every machine.
        #[arg(long)]
        iterations: Option<u64>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(json) => {
            use std::io::Write;
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = writeln!(std::io::stdout().lock(), "{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ruta: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<String, String> {
    match cli.command {
        Command::Osm(Osm::Addresses { pbf, search }) => {
            let bytes = std::fs::read(&pbf).map_err(|e| format!("{}: {e}", pbf.display()))?;
            let all = roads::addresses(&bytes).map_err(|e| format!("{}: {e}", pbf.display()))?;
            let needle = search.map(|s| s.to_lowercase());
            let lines: Vec<String> = all
                .iter()
                .filter(|a| {
                    needle.as_ref().is_none_or(|n| {
                        format!("{} {}", a.street, a.housenumber)
                            .to_lowercase()
                            .contains(n)
                    })
                })
                .map(|a| serde_json::to_string(a).expect("addresses serialise"))
                .collect();
            Ok(lines.join("\n"))
        }
        Command::Osm(Osm::Graph { pbf, profile }) => {
            let bytes = std::fs::read(&pbf).map_err(|e| format!("{}: {e}", pbf.display()))?;
            let profile: roads::Profile =
                serde_json::from_value(serde_json::Value::String(profile.clone()))
                    .map_err(|_| format!("--profile {profile:?}: use car, bicycle or foot"))?;
            let t = std::time::Instant::now();
            let g = roads::RoadGraph::from_pbf(&bytes, profile)
                .map_err(|e| format!("{}: {e}", pbf.display()))?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            Ok(
                serde_json::json!({"profile": profile, "stats": g.stats(), "build_ms": ms})
                    .to_string(),
            )
        }
        Command::Route(Route::Solve {
            tsplib: path,
            time_limit_ms,
            iterations,
            seed,
        }) => {
            let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let text = String::from_utf8(text)
                .map_err(|e| format!("{}: not UTF-8 text ({e})", path.display()))?;
            let inst = tsplib::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let budget = Budget {
                time_limit_ms,
                max_iterations: iterations.unwrap_or(u64::MAX),
            };
            let sol = tsp::solve(&inst.weights, inst.dimension, seed, budget);
            let out = serde_json::json!({
                "name": inst.name,
                "n": inst.dimension,
                "length": sol.length,
                "tour": sol.tour.iter().map(|c| c + 1).collect::<Vec<_>>(),
                "ms": (sol.ms * 1000.0).round() / 1000.0,
                "iterations": sol.iterations,
                "best_ms": (sol.best_ms * 1000.0).round() / 1000.0,
                "best_iteration": sol.best_iteration,
                "seed": seed,
            });
            Ok(out.to_string())
        }
    }
}

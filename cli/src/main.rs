//! `ruta`: the command line over the shared core.
//!
//! ```text
//! ruta route solve --tsplib FILE [--time-limit-ms N] [--iterations N] [--seed S]
//! ruta route solve --vroom FILE|- [--time-limit-ms N] [--iterations N] [--seed S]
//! ```
//!
//! Output is one JSON object on stdout; errors go to stderr with exit code 2
//! and name the file and line (TSPLIB) or the field's JSON pointer (VROOM,
//! which also gets VROOM's `{"code": 2, "error": ...}` on stdout).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ruta_routing::{Budget, roads, tsp, tsplib, vroom};

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
    /// Solve a symmetric TSP (`--tsplib`; prints {name, n, length, tour, ms,
    /// iterations, seed}, `tour` in TSPLIB node ids starting at node 1) or a
    /// VROOM problem (`--vroom`; prints VROOM's solution JSON).
    #[command(group(clap::ArgGroup::new("input").required(true).args(["tsplib", "vroom"])))]
    Solve {
        /// A TSPLIB file (EUC_2D, CEIL_2D, GEO, ATT, or EXPLICIT FULL_MATRIX /
        /// LOWER_DIAG_ROW / UPPER_ROW / UPPER_DIAG_ROW / LOWER_ROW).
        #[arg(long)]
        tsplib: Option<PathBuf>,
        /// A VROOM problem (JSON: jobs, shipments, vehicles, matrices or
        /// coordinates); `-` reads standard input.
        #[arg(long)]
        vroom: Option<PathBuf>,
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

/// An error whose VROOM-format body goes to stdout as well.
struct Failure {
    message: String,
    stdout: Option<String>,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self {
            message,
            stdout: None,
        }
    }
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
            if let Some(out) = e.stdout {
                use std::io::Write;
                let _ = writeln!(std::io::stdout().lock(), "{out}");
            }
            eprintln!("ruta: {}", e.message);
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<String, Failure> {
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
            vroom: Some(path),
            time_limit_ms,
            iterations,
            seed,
            ..
        }) => {
            let t = std::time::Instant::now();
            let name = path.display().to_string();
            let text = if name == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                    .map_err(|e| format!("stdin: {e}"))?;
                s
            } else {
                std::fs::read_to_string(&path).map_err(|e| format!("{name}: {e}"))?
            };
            let problem = vroom::parse(&text).map_err(|e| Failure {
                message: format!("{name}: {e}"),
                stdout: Some(vroom::error_output(&e).to_string()),
            })?;
            let loading_ms = t.elapsed().as_millis() as u64;
            let budget = Budget {
                time_limit_ms,
                max_iterations: iterations.unwrap_or(u64::MAX),
            };
            let out = problem.solve(seed, budget, loading_ms);
            Ok(serde_json::to_string(&out).expect("solutions serialise"))
        }
        Command::Route(Route::Solve {
            tsplib: Some(path),
            time_limit_ms,
            iterations,
            seed,
            ..
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
        Command::Route(Route::Solve { .. }) => unreachable!("clap requires --tsplib or --vroom"),
    }
}

//! Routing benchmarks, side by side with peers in one run.
//!
//! ```text
//! cargo bench -p ruta-routing --bench routing
//!   RUTA_BENCH_PEERS=0        skip VROOM / OR-Tools / LKH (scripts/bench/peers-venv.sh installs them)
//!   RUTA_BENCH_TIME_MS=1000   our solver's budget on the PDPTW instances (OR-Tools gets the same)
//!   RUTA_BENCH_SEEDS=3        seeds per instance for our solver
//! ```
//!
//! 1. TSPLIB instances with proven optima (Debian `glpk-utils`): optimum hits,
//!    time to the final tour, against LKH (elkai).
//! 2. Pickup-and-delivery with time windows, 50 / 100 / 200 stops at real
//!    Helsinki addresses over the OSM road matrix (car profile): cost and time
//!    against VROOM and OR-Tools on the same matrix.
//! 3. Auto-assignment of 500 orders across 30 couriers: time and workload spread.
//!
//! Writes instances and a Markdown report under `target/bench-routing/`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use app_api::{CarrierType, Priority};
use ruta_domain::fleet::{Vehicle as DomainVehicle, VehicleKind};
use ruta_domain::order::TimeWindow;
use ruta_domain::{GeoPoint, OrderId, UserId, ZoneId};
use ruta_routing::plan::{self, AssignRequest, CourierInput, OrderLoad, StopInput, Travel};
use ruta_routing::rng::Rng;
use ruta_routing::roads::{self, Profile, RoadGraph};
use ruta_routing::vrp::{self, Job, JobKind, Problem, Task, Vehicle};
use ruta_routing::{Budget, Matrix, tsp, tsplib};
use serde_json::{Value, json};

const TSPLIB_DIR: &str = "/usr/share/doc/glpk-utils/examples/tsp";
const TSPLIB: [(&str, u64); 4] = [
    ("dantzig42", 699),
    ("gr120", 6942),
    ("ulysses16", 6859),
    ("ulysses22", 7013),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing useful.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let out_dir = root().join("target/bench-routing");
    std::fs::create_dir_all(&out_dir).expect("create target/bench-routing");
    let peers = peers_python();
    let mut report = String::new();
    let _ = writeln!(
        report,
        "# Routing benchmark ({})\n",
        if peers.is_some() {
            "with peers"
        } else {
            "no peers"
        }
    );

    tsplib_section(&mut report, &out_dir, peers.as_deref());
    let bytes = std::fs::read(root().join("data/osm/Helsinki.osm.pbf"))
        .expect("data/osm/Helsinki.osm.pbf: run `bash scripts/fetch-osm.sh`");
    let t = Instant::now();
    let graph = Arc::new(RoadGraph::from_pbf(&bytes, Profile::Car).expect("road graph"));
    let graph_ms = t.elapsed().as_secs_f64() * 1e3;
    let addrs = roads::addresses(&bytes).expect("addresses");
    let _ = writeln!(
        report,
        "Road graph (car): {} nodes, {} edges, built in {graph_ms:.0} ms; {} addresses.\n",
        graph.node_count(),
        graph.edge_count(),
        addrs.len()
    );
    let points: Vec<GeoPoint> = dedup_points(addrs.iter().map(|a| a.point).collect());
    pdptw_section(&mut report, &out_dir, peers.as_deref(), &graph, &points);
    assign_section(&mut report, &graph, &points);
    std::fs::write(out_dir.join("report.md"), &report).expect("write report");
    println!("{report}");
}

fn dedup_points(mut pts: Vec<GeoPoint>) -> Vec<GeoPoint> {
    pts.sort_by(|a, b| (a.lat, a.lon).partial_cmp(&(b.lat, b.lon)).unwrap());
    pts.dedup_by(|a, b| (a.lat - b.lat).abs() < 1e-5 && (a.lon - b.lon).abs() < 1e-5);
    pts
}

fn peers_python() -> Option<String> {
    if std::env::var("RUTA_BENCH_PEERS").as_deref() == Ok("0") {
        return None;
    }
    let out = Command::new("bash")
        .arg(root().join("scripts/bench/peers-venv.sh"))
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "peers unavailable: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    // vrp-core as a peer: a standalone cargo project outside the workspace
    // (CI never builds it); a no-op once built.
    let peer_target = std::env::var("HOME").map_or_else(
        |_| root().join("target/peer-target"),
        |h| PathBuf::from(h).join(".cache/ruta/peer-target"),
    );
    let built = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(root().join("scripts/bench/vrp-core-peer/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &peer_target)
        .status();
    if !built.is_ok_and(|s| s.success()) {
        eprintln!("vrp-core peer did not build; its column will show an error");
    }
    String::from_utf8(out.stdout)
        .ok()?
        .lines()
        .last()
        .map(str::to_owned)
}

fn run_peers(py: &str, instance: &Path, extra: &[&str]) -> Vec<Value> {
    let out = Command::new(py)
        .arg(root().join("scripts/bench/peers.py"))
        .arg(instance)
        .args(extra)
        .output()
        .expect("run peers.py");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

// ---------------------------------------------------------------------------

fn tsplib_section(report: &mut String, out_dir: &Path, peers: Option<&str>) {
    let seeds = env_u64("RUTA_BENCH_SEEDS", 5).max(1);
    let _ = writeln!(
        report,
        "## TSPLIB (budget 50 ms per run, {seeds} seeds each)\n"
    );
    let _ = writeln!(
        report,
        "| instance | optimum | ours: optimum hits | ours: worst length | ours: time to final tour, median / max | LKH (elkai): length | LKH ms | time ratio ours/LKH |"
    );
    let _ = writeln!(report, "|---|---|---|---|---|---|---|---|");
    for (name, opt) in TSPLIB {
        let path = Path::new(TSPLIB_DIR).join(format!("{name}.tsp"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            let _ = writeln!(
                report,
                "| {name} | {opt} | missing {} (apt install glpk-utils) | | | | | |",
                path.display()
            );
            continue;
        };
        let inst = tsplib::parse(&text).expect("parse");
        let mut hits = 0;
        let mut worst = 0;
        let mut best_ms = Vec::new();
        for seed in 1..=seeds {
            let sol = tsp::solve(&inst.weights, inst.dimension, seed, Budget::millis(50));
            hits += u32::from(sol.length == opt);
            worst = worst.max(sol.length);
            best_ms.push(sol.best_ms);
        }
        let med = median(&mut best_ms);
        let max = best_ms.iter().cloned().fold(0.0, f64::max);
        let (mut lkh_len, mut lkh_ms, mut ratio) =
            ("-".to_string(), "-".to_string(), "-".to_string());
        if let Some(py) = peers {
            let n = inst.dimension;
            let rows: Vec<Vec<u32>> = (0..n)
                .map(|i| inst.weights[i * n..(i + 1) * n].to_vec())
                .collect();
            let file = out_dir.join(format!("{name}.tsp.json"));
            std::fs::write(
                &file,
                json!({"name": name, "kind": "tsp", "durations": rows}).to_string(),
            )
            .unwrap();
            for line in run_peers(py, &file, &["--solvers", "elkai"]) {
                if let (Some(c), Some(ms)) = (line["cost"].as_u64(), line["ms"].as_f64()) {
                    lkh_len = c.to_string();
                    lkh_ms = format!("{ms:.1}");
                    ratio = format!("{:.2}", med / ms);
                }
            }
        }
        let _ = writeln!(
            report,
            "| {name} | {opt} | {hits}/{seeds} | {worst} | {med:.1} / {max:.1} ms | {lkh_len} | {lkh_ms} | {ratio} |"
        );
    }
    let _ = writeln!(report);
}

// ---------------------------------------------------------------------------

/// A PDPTW instance at real addresses: `shipments` pickup/delivery pairs, one depot.
fn helsinki_pdptw(
    graph: &RoadGraph,
    points: &[GeoPoint],
    shipments: usize,
    seed: u64,
) -> (Problem, Vec<GeoPoint>) {
    let mut rng = Rng::new(seed);
    let mut pool: Vec<GeoPoint> = points.to_vec();
    rng.shuffle(&mut pool);
    let pts: Vec<GeoPoint> = pool.into_iter().take(1 + 2 * shipments).collect();
    let matrix = graph.matrix(&pts).expect("road matrix");
    let horizon = 3 * 3600;
    let jobs = (0..shipments)
        .map(|s| {
            let a = (rng.unit() * (horizon - 3600) as f64) as i64;
            Job {
                kind: JobKind::Shipment {
                    pickup: Task {
                        location: 1 + 2 * s,
                        service: 120,
                        window: (a, a + 1800),
                    },
                    delivery: Task {
                        location: 2 + 2 * s,
                        service: 180,
                        window: (a + 600, a + 600 + 2400),
                    },
                },
                amount: [1 + rng.below(2) as i64, 0],
                skills: 0,
                priority: 0,
                pinned: None,
            }
        })
        .collect();
    let vehicles = (0..(shipments / 6).max(2))
        .map(|_| Vehicle {
            start: 0,
            end: Some(0),
            shift: (0, horizon + 3600),
            capacity: [4, i64::MAX / 8],
            skills: 0,
            fixed: vec![],
        })
        .collect();
    (
        Problem {
            matrix,
            vehicles,
            jobs,
            balance_weight: 0,
            warm_start: None,
        },
        pts,
    )
}

fn instance_json(name: &str, p: &Problem) -> Value {
    let m: &Matrix = &p.matrix;
    let n = m.len();
    let rows = |f: &dyn Fn(usize, usize) -> u32| -> Vec<Vec<u32>> {
        (0..n).map(|i| (0..n).map(|j| f(i, j)).collect()).collect()
    };
    let task = |t: &Task| json!({"location": t.location, "service": t.service, "time_window": [t.window.0, t.window.1]});
    json!({
        "name": name,
        "kind": "pdptw",
        "durations": rows(&|i, j| m.time(i, j)),
        "distances": rows(&|i, j| m.dist(i, j)),
        "vehicles": p.vehicles.iter().enumerate().map(|(i, v)| json!({
            "id": i, "start": v.start, "end": v.end, "capacity": [v.capacity[0]], "time_window": [v.shift.0, v.shift.1],
        })).collect::<Vec<_>>(),
        "shipments": p.jobs.iter().enumerate().map(|(i, j)| match &j.kind {
            JobKind::Shipment { pickup, delivery } => json!({"id": i, "amount": [j.amount[0]], "pickup": task(pickup), "delivery": task(delivery)}),
            _ => unreachable!("benchmark instances are shipments only"),
        }).collect::<Vec<_>>(),
    })
}

fn pdptw_section(
    report: &mut String,
    out_dir: &Path,
    peers: Option<&str>,
    graph: &RoadGraph,
    points: &[GeoPoint],
) {
    let budget_ms = env_u64("RUTA_BENCH_TIME_MS", 1000);
    let seeds = env_u64("RUTA_BENCH_SEEDS", 3).max(1);
    let solvers = std::env::var("RUTA_BENCH_PEER_SOLVERS")
        .unwrap_or_else(|_| "vroom,ortools,vrp-core".into());
    let _ = writeln!(
        report,
        "## Pickup and delivery with time windows, Helsinki road matrix\n\n\
         Ours: {seeds} seeds, median (best) cost, (a) with VROOM's own run time as budget \
         (capped at {budget_ms} ms) and (b) with {budget_ms} ms. VROOM: to completion, 1 thread, \
         exploration 5. OR-Tools (GLS) and vrp-core: {budget_ms} ms. Cost = travel seconds, \
         recomputed from the matrix for every solver; every plan is checked against the rules.\n"
    );
    let _ = writeln!(
        report,
        "| stops | vehicles | VROOM cost | VROOM ms | ours @ VROOM's time | ours @ {budget_ms} ms | ours: found at (median) | OR-Tools | vrp-core | cost ratio ours/VROOM (a) | time ratio (a) |"
    );
    let _ = writeln!(report, "|---|---|---|---|---|---|---|---|---|---|---|");
    for shipments in [25usize, 50, 100] {
        let (problem, _) = helsinki_pdptw(graph, points, shipments, 42 + shipments as u64);
        let name = format!("hel-pdptw-{}", 2 * shipments);
        let file = out_dir.join(format!("{name}.json"));
        std::fs::write(&file, instance_json(&name, &problem).to_string()).unwrap();
        let mut peer_cost: std::collections::HashMap<String, String> = Default::default();
        let (mut vroom_cost, mut vroom_ms) = (None, None);
        if let Some(py) = peers {
            let limit = budget_ms.to_string();
            for line in run_peers(
                py,
                &file,
                &["--time-limit-ms", &limit, "--solvers", &solvers],
            ) {
                let solver = line["solver"].as_str().unwrap_or("?").to_string();
                let text = match (line["cost"].as_f64(), line["error"].as_str()) {
                    (_, Some(e)) => format!("error: {}", e.chars().take(60).collect::<String>()),
                    (Some(c), None) => {
                        let un = line["unassigned"].as_u64().unwrap_or(0);
                        let mut t = format!("{c:.0}");
                        if un > 0 {
                            t += &format!(" ({un} unassigned)");
                        }
                        if line["valid"].as_bool() != Some(true) {
                            t += " INVALID";
                        }
                        if solver == "vroom" {
                            vroom_cost = Some(c);
                            vroom_ms = line["ms"].as_f64();
                        }
                        t
                    }
                    _ => "-".into(),
                };
                peer_cost.insert(solver, text);
            }
        }
        let at_vroom = vroom_ms.map_or(budget_ms, |v| (v.round() as u64).clamp(1, budget_ms));
        let ours = |budget: u64| {
            let mut costs = Vec::new();
            let mut found = Vec::new();
            let mut unassigned = 0;
            for seed in 1..=seeds {
                let sol = vrp::solve(&problem, seed, Budget::millis(budget)).expect("solve");
                let broken = vrp::check(&problem, &sol);
                assert!(
                    broken.is_empty(),
                    "{name}: our plan breaks rules: {broken:?}"
                );
                unassigned = unassigned.max(sol.unassigned.len());
                costs.push(sol.travel_s as f64);
                found.push(sol.best_ms);
            }
            let best = costs.iter().cloned().fold(f64::MAX, f64::min);
            (median(&mut costs), best, unassigned, median(&mut found))
        };
        let fmt = |(med, best, un, _): (f64, f64, usize, f64)| {
            let mut t = format!("{med:.0} ({best:.0})");
            if un > 0 {
                t += &format!(" ({un} unassigned)");
            }
            t
        };
        let a = ours(at_vroom);
        let b = ours(budget_ms);
        let cost_ratio = vroom_cost.map_or("-".into(), |c| format!("{:.3}", a.0 / c));
        let time_ratio = vroom_ms.map_or("-".into(), |v| format!("{:.2}", at_vroom as f64 / v));
        let peer = |k: &str| peer_cost.get(k).cloned().unwrap_or_else(|| "-".into());
        let _ = writeln!(
            report,
            "| {} | {} | {} | {} | {} | {} | {:.0} ms | {} | {} | {cost_ratio} | {time_ratio} |",
            2 * shipments,
            problem.vehicles.len(),
            peer("vroom"),
            vroom_ms.map_or("-".into(), |v| format!("{v:.0}")),
            fmt(a),
            fmt(b),
            b.3,
            peer("ortools"),
            peer("vrp-core"),
        );
    }
    let _ = writeln!(
        report,
        "\n(a) ours runs with VROOM's measured time as its budget (capped at {budget_ms} ms), so \
         time ratio (a) <= 1 by construction; the cost ratio says what that time buys. \
         \"Found at\" is when the {budget_ms} ms run found its final answer.\n"
    );
}

// ---------------------------------------------------------------------------

fn assign_section(report: &mut String, graph: &Arc<RoadGraph>, points: &[GeoPoint]) {
    let budget_ms = env_u64("RUTA_BENCH_ASSIGN_MS", 2000);
    let mut rng = Rng::new(7);
    let now = 1_780_000_000_000i64;
    let pick = |rng: &mut Rng| points[rng.below(points.len())];
    let lon_mid = {
        let mut lons: Vec<f64> = points.iter().map(|p| p.lon).collect();
        median(&mut lons)
    };
    let stop = |p: GeoPoint, w: Option<TimeWindow>| StopInput {
        point: p,
        window: w,
        service_s: 180,
    };
    let orders: Vec<OrderLoad> = (0..500)
        .map(|k| {
            let drop = pick(&mut rng);
            let window = (rng.below(10) == 0).then(|| {
                let a = now + (rng.unit() * 4.0 * 3600e3) as i64;
                TimeWindow {
                    start_ms: a,
                    end_ms: a + 3_600_000,
                }
            });
            OrderLoad {
                order: OrderId::new(format!("o{k}")),
                pickup: Some(stop(pick(&mut rng), None)),
                dropoff: stop(drop, window),
                items: 1 + rng.below(2) as u32,
                grams: 1000,
                priority: if rng.below(20) == 0 {
                    Priority::Urgent
                } else {
                    Priority::Normal
                },
                zone: Some(ZoneId::new(if drop.lon < lon_mid {
                    "west"
                } else {
                    "east"
                })),
                carrier: CarrierType::Internal,
                cod: rng.below(10) == 0,
            }
        })
        .collect();
    let couriers: Vec<CourierInput> = (0..30)
        .map(|c| CourierInput {
            user: UserId::new(format!("c{c}")),
            position: pick(&mut rng),
            vehicle: DomainVehicle {
                kind: VehicleKind::Car,
                capacity_items: 8,
                capacity_g: 0,
            },
            home_zones: match c % 3 {
                0 => vec![ZoneId::new("west")],
                1 => vec![ZoneId::new("east")],
                _ => vec![],
            },
            carrier: if c % 10 == 9 {
                CarrierType::Prime
            } else {
                CarrierType::Internal
            },
            shift_end_ms: Some(now + 8 * 3_600_000),
            no_cash: false,
        })
        .collect();
    let req = AssignRequest {
        now_ms: now,
        couriers,
        orders,
        assigned: vec![],
        balance_weight: plan::DEFAULT_BALANCE_WEIGHT,
    };
    let t = Instant::now();
    let prop = plan::propose_assignment(
        &req,
        &Travel::Roads(graph.clone()),
        1,
        Budget::millis(budget_ms),
    )
    .expect("assign");
    let total_ms = t.elapsed().as_secs_f64() * 1e3;
    let counts: Vec<usize> = prop.workload.iter().map(|w| w.orders).collect();
    let _ = writeln!(
        report,
        "## Auto-assignment: 500 orders, 30 couriers (zones west/east/any, 3 prime couriers without cash, 10% windows, 5% urgent), road matrix\n"
    );
    let _ = writeln!(
        report,
        "| budget | total wall ms (matrix + solve) | solve ms | placed | unplaced | orders per courier min / max | travel h |"
    );
    let _ = writeln!(report, "|---|---|---|---|---|---|---|");
    let _ = writeln!(
        report,
        "| {budget_ms} ms | {total_ms:.0} | {:.0} | {} | {} | {} / {} | {:.1} |\n",
        prop.ms,
        prop.assignments.len(),
        prop.unplaced.len(),
        counts.iter().min().unwrap_or(&0),
        counts.iter().max().unwrap_or(&0),
        prop.travel_s as f64 / 3600.0
    );
}

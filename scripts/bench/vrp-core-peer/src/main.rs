//! Benchmark peer: solves one Ruta routing-bench instance (JSON, see scripts/bench/README.md)
//! with reinterpretcat/vrp's `vrp-core` and prints ONE JSON line on stdout.
//!
//!     vrp-core-peer INSTANCE.json [--time-limit-ms 1000] [--threads 1] [--minimize-tours] [--verbose]
//!
//! Only `"kind": "pdptw"` is supported; anything else gives an error line.
//!
//! Model (vrp-core's own builder API, no pragmatic JSON):
//! - every shipment is a `Multi` job of two `Single`s (pickup, delivery) with PUDO (dynamic)
//!   demand, so both are served by the same vehicle, pickup first;
//! - job places carry the service duration and one time window; vehicles leave their start at
//!   the start of their window (no departure-time optimisation) and must be at their end by
//!   the end of it;
//! - the routing matrix is `SimpleTransportCost(durations, distances = durations)`, vehicle
//!   costs are vrp-core's defaults (per_distance 1, everything else 0) and the transport
//!   feature minimises total "distance": the objective is exactly the travel time in seconds,
//!   with no waiting or service cost and no fixed vehicle cost;
//! - goal (lexicographic): minimise unassigned jobs, then that travel time. No tour-count
//!   objective, to match VROOM and OR-Tools as peers.py drives them;
//! - a missing start or end (open route) is a dummy location appended to the matrix with
//!   travel time 0 to and from everything, so an open route "ends" when its last service is
//!   done and that moment must fit the vehicle's window (the same rule as peers.py's check).
//!
//! The search uses vrp-core's default heuristic (`VrpConfigBuilder::prebuild`), stopped by a
//! time limit only: a `MaxTime` termination plus an environment `TimeQuota`, both with the
//! fractional limit. `--threads N` sizes rayon's global pool and vrp-core's CPU count (which
//! also sets the selection size: offspring per generation = min(N, 8)); 0 = library defaults.

use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

use vrp_core::construction::heuristics::InsertionContext;
use vrp_core::models::common::{Demand, LoadOps, MultiDimLoad, SingleDimLoad, TimeWindow};
use vrp_core::models::problem::{JobIdDimension, VehicleIdDimension};
use vrp_core::prelude::*;
use vrp_core::rosomaxa::evolution::TelemetryMode;
use vrp_core::rosomaxa::termination::MaxTime;
use vrp_core::rosomaxa::utils::{Parallelism, TimeQuota};
use vrp_core::solver::RefinementContext;

const SOLVER: &str = "vrp-core";
const VRP_CORE_VERSION: &str = "1.25.0";

// ----------------------------------------------------------------------------- instance

struct Step {
    loc: usize,
    service: i64,
    tw: (i64, i64),
}

struct Shipment {
    id: Value,
    amount: Vec<i64>,
    pickup: Step,
    delivery: Step,
}

struct Vehicle {
    id: Value,
    start: Option<usize>,
    end: Option<usize>,
    capacity: Vec<i64>,
    tw: (i64, i64),
}

/// The instance with peers.py's defaults filled in (see `Instance` there).
struct Instance {
    name: String,
    n: usize,
    durations: Vec<Vec<i64>>,
    dims: usize,
    vehicles: Vec<Vehicle>,
    shipments: Vec<Shipment>,
}

type Res<T> = Result<T, String>;

fn as_i64(v: &Value, what: &str) -> Res<i64> {
    v.as_f64()
        .map(|x| x.round_ties_even() as i64)
        .ok_or_else(|| format!("{what}: not a number: {v}"))
}

fn int_list(v: Option<&Value>, what: &str) -> Res<Vec<i64>> {
    match v {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(a)) => a.iter().map(|x| as_i64(x, what)).collect(),
        Some(other) => Err(format!("{what}: not a list: {other}")),
    }
}

impl Instance {
    fn parse(raw: &Value, fallback_name: &str) -> Res<Self> {
        let name = raw
            .get("name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(fallback_name);
        let kind = raw.get("kind").and_then(Value::as_str).unwrap_or("pdptw");
        if kind != "pdptw" {
            return Err(format!(
                "vrp-core-peer supports only kind \"pdptw\", not {kind:?}"
            ));
        }
        let rows = raw
            .get("durations")
            .and_then(Value::as_array)
            .ok_or("missing durations")?;
        let n = rows.len();
        let durations = rows
            .iter()
            .map(|r| {
                let r = r.as_array().ok_or("durations row is not a list")?;
                if r.len() != n {
                    return Err("durations is not square".to_string());
                }
                r.iter()
                    .map(|x| as_i64(x, "durations"))
                    .collect::<Res<Vec<_>>>()
            })
            .collect::<Res<Vec<_>>>()?;
        if durations.iter().flatten().any(|&x| x < 0) {
            return Err("negative duration".into());
        }
        let empty = vec![];
        let raw_vehicles = raw
            .get("vehicles")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let raw_shipments = raw
            .get("shipments")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        if raw_vehicles.is_empty() {
            return Err("pdptw instance without vehicles".into());
        }
        let dims = raw_vehicles
            .iter()
            .map(|v| int_list(v.get("capacity"), "capacity").map(|c| c.len()))
            .chain(
                raw_shipments
                    .iter()
                    .map(|s| int_list(s.get("amount"), "amount").map(|a| a.len())),
            )
            .try_fold(0, |acc, x| x.map(|x| acc.max(x)))?;
        let max_d = durations.iter().flatten().copied().max().unwrap_or(0);

        let loc = |v: Option<&Value>| -> Res<Option<usize>> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(x) => {
                    let i = as_i64(x, "location")?;
                    if i < 0 || i as usize >= n {
                        return Err(format!("location {i} outside the {n}x{n} matrix"));
                    }
                    Ok(Some(i as usize))
                }
            }
        };
        let pad = |mut a: Vec<i64>| {
            a.resize(dims, 0);
            a
        };
        let raw_tw = |v: Option<&Value>| -> Res<Option<(i64, i64)>> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(x) => {
                    let l = int_list(Some(x), "time_window")?;
                    if l.is_empty() {
                        return Ok(None); // [] = no window, as in peers.py
                    }
                    if l.len() < 2 {
                        return Err(format!("time window {x} is not [start, end]"));
                    }
                    if l[0] > l[1] {
                        return Err(format!("time window {x} has start > end"));
                    }
                    Ok(Some((l[0], l[1])))
                }
            }
        };

        // Horizon for missing windows, as in peers.py.
        let mut tw_ends = vec![0];
        let mut services = 0;
        for v in raw_vehicles {
            if let Some((_, b)) = raw_tw(v.get("time_window"))? {
                tw_ends.push(b);
            }
        }
        for s in raw_shipments {
            for k in ["pickup", "delivery"] {
                let st = s.get(k).ok_or(format!("shipment without {k}"))?;
                if let Some((_, b)) = raw_tw(st.get("time_window"))? {
                    tw_ends.push(b);
                }
                services += st.get("service").map_or(Ok(0), |x| {
                    if x.is_null() {
                        Ok(0)
                    } else {
                        as_i64(x, "service")
                    }
                })?;
            }
        }
        let horizon = tw_ends.iter().copied().max().unwrap_or(0)
            + services
            + (2 * raw_shipments.len() as i64 + 2) * max_d;
        let tw = |v: Option<&Value>| raw_tw(v).map(|t| t.unwrap_or((0, horizon)));

        let mut total_amount = vec![0; dims];
        for s in raw_shipments {
            for (k, a) in pad(int_list(s.get("amount"), "amount")?).iter().enumerate() {
                total_amount[k] += a;
            }
        }

        let mut vehicles = vec![];
        for (i, v) in raw_vehicles.iter().enumerate() {
            let mut cap = int_list(v.get("capacity"), "capacity")?;
            // a missing dimension means unbounded in it
            let missing = total_amount
                .iter()
                .skip(cap.len())
                .map(|&t| t.max(1))
                .collect::<Vec<_>>();
            cap.extend(missing);
            let veh = Vehicle {
                id: v.get("id").cloned().unwrap_or(json!(i)),
                start: loc(v.get("start"))?,
                end: loc(v.get("end"))?,
                capacity: cap,
                tw: tw(v.get("time_window"))?,
            };
            if veh.start.is_none() && veh.end.is_none() {
                return Err(format!("vehicle {} has neither start nor end", veh.id));
            }
            vehicles.push(veh);
        }
        let mut shipments = vec![];
        for (i, s) in raw_shipments.iter().enumerate() {
            let step = |st: &Value| -> Res<Step> {
                Ok(Step {
                    loc: loc(st.get("location"))?.ok_or("step without location")?,
                    service: match st.get("service") {
                        None | Some(Value::Null) => 0,
                        Some(x) => as_i64(x, "service")?,
                    },
                    tw: tw(st.get("time_window"))?,
                })
            };
            shipments.push(Shipment {
                id: s.get("id").cloned().unwrap_or(json!(i)),
                amount: pad(int_list(s.get("amount"), "amount")?),
                pickup: step(&s["pickup"])?,
                delivery: step(&s["delivery"])?,
            });
        }
        if shipments.is_empty() {
            return Err(
                "pdptw instance without shipments (vrp-core needs at least one job)".into(),
            );
        }
        Ok(Self {
            name: name.to_string(),
            n,
            durations,
            dims,
            vehicles,
            shipments,
        })
    }
}

// ------------------------------------------------------------------------------- model

/// Load type glue: one dimension uses `SingleDimLoad`, more use `MultiDimLoad` (as
/// vrp-pragmatic does).
trait Amount: LoadOps {
    fn from_amount(a: &[i64]) -> Self;
    fn empty() -> Self;
}

impl Amount for SingleDimLoad {
    fn from_amount(a: &[i64]) -> Self {
        SingleDimLoad::new(a.first().copied().unwrap_or(0) as i32)
    }
    fn empty() -> Self {
        SingleDimLoad::default()
    }
}

impl Amount for MultiDimLoad {
    fn from_amount(a: &[i64]) -> Self {
        MultiDimLoad::new(a.iter().map(|&x| x as i32).collect())
    }
    fn empty() -> Self {
        MultiDimLoad::default()
    }
}

/// Builds the vrp-core problem. Location `inst.n` is the dummy for open starts/ends.
fn build_problem<T: Amount>(
    inst: &Instance,
    minimize_tours: bool,
    logger: InfoLogger,
) -> GenericResult<Problem> {
    let needs_dummy = inst
        .vehicles
        .iter()
        .any(|v| v.start.is_none() || v.end.is_none());
    let size = inst.n + usize::from(needs_dummy);
    let mut matrix = vec![0.0; size * size];
    for (i, row) in inst.durations.iter().enumerate() {
        for (j, &d) in row.iter().enumerate() {
            matrix[i * size + j] = d as Float;
        }
    }
    // distances = durations: "minimise distance" is then minimise travel time.
    let transport: Arc<dyn TransportCost> =
        Arc::new(SimpleTransportCost::new(matrix.clone(), matrix)?);
    let dummy = inst.n;

    let mut features = vec![MinimizeUnassignedBuilder::new("min-unassigned").build()?];
    if minimize_tours {
        features
            .push(vrp_core::construction::features::create_minimize_tours_feature("min-tours")?);
    }
    features.push(
        TransportFeatureBuilder::new("min-travel-time")
            .set_transport_cost(transport.clone())
            .set_time_constrained(true)
            .build_minimize_distance()?,
    );
    features.push(CapacityFeatureBuilder::<T>::new("capacity").build()?);
    // objectives in lexicographic order of the features that have one
    let goal = GoalContextBuilder::with_features(&features)?.build()?;

    let tw = |(a, b): (i64, i64)| TimeWindow::new(a as Float, b as Float);
    let jobs = inst
        .shipments
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let amount = T::from_amount(&s.amount);
            let single = |kind: &str, step: &Step, demand: Demand<T>| {
                SingleBuilder::default()
                    .id(&format!("{kind}{si}"))
                    .demand(demand)
                    .location(step.loc)?
                    .duration(step.service as Float)?
                    .times(vec![tw(step.tw)])?
                    .build()
            };
            let (e, e2) = (T::empty(), T::empty());
            MultiBuilder::default()
                .id(&format!("s{si}"))
                .add_job(single(
                    "p",
                    &s.pickup,
                    Demand {
                        pickup: (e, amount),
                        delivery: (e, e2),
                    },
                )?)
                .add_job(single(
                    "d",
                    &s.delivery,
                    Demand {
                        pickup: (e, e2),
                        delivery: (e, amount),
                    },
                )?)
                .build_as_job()
        })
        .collect::<GenericResult<Vec<_>>>()?;

    let vehicles = inst
        .vehicles
        .iter()
        .enumerate()
        .map(|(vi, v)| {
            let detail = VehicleDetailBuilder::default()
                .set_start_location(v.start.unwrap_or(dummy))
                .set_start_time(v.tw.0 as Float) // leaves at window start (latest = earliest)
                .set_end_location(v.end.unwrap_or(dummy))
                .set_end_time(v.tw.1 as Float)
                .build()?;
            // default costs: per_distance 1, per time 0, fixed 0
            VehicleBuilder::default()
                .id(&vi.to_string())
                .add_detail(detail)
                .capacity(T::from_amount(&v.capacity))
                .build()
        })
        .collect::<GenericResult<Vec<_>>>()?;

    ProblemBuilder::default()
        .add_jobs(jobs.into_iter())
        .add_vehicles(vehicles.into_iter())
        .with_goal(goal)
        .with_transport_cost(transport)
        .with_logger(logger) // the default logger prints to stdout
        .build()
}

// ---------------------------------------------------------------------------- checking

type Stop = (char, usize); // ('p' | 'd', shipment index)

/// Same checks as peers.py's `evaluate_pdptw`: returns (cost, unassigned, locs, problems).
fn evaluate(
    inst: &Instance,
    routes: &[(usize, Vec<Stop>)],
) -> (i64, usize, Vec<Vec<usize>>, Vec<String>) {
    let d = &inst.durations;
    let mut problems = vec![];
    let mut picked = vec![None; inst.shipments.len()];
    let mut delivered = vec![None; inst.shipments.len()];
    let mut seen = vec![false; inst.vehicles.len()];
    let mut cost = 0;
    let mut loc_routes = vec![];
    for (rn, (vi, stops)) in routes.iter().enumerate() {
        let veh = &inst.vehicles[*vi];
        if seen[*vi] {
            problems.push(format!("vehicle {}: used by more than one route", veh.id));
        }
        seen[*vi] = true;
        let mut locs: Vec<usize> = veh.start.into_iter().collect();
        let mut prev = veh.start;
        let mut t = veh.tw.0;
        let mut load = vec![0; inst.dims];
        for &(kind, si) in stops {
            let sh = &inst.shipments[si];
            let step = if kind == 'p' {
                &sh.pickup
            } else {
                &sh.delivery
            };
            let what = format!(
                "shipment {} {}",
                sh.id,
                if kind == 'p' { "pickup" } else { "delivery" }
            );
            let travel = prev.map_or(0, |p| d[p][step.loc]);
            cost += travel;
            let arrival = step.tw.0.max(t + travel);
            if arrival > step.tw.1 {
                problems.push(format!(
                    "vehicle {}: {what} arrives at {arrival}, after its window end {}",
                    veh.id, step.tw.1
                ));
            }
            t = arrival + step.service;
            if kind == 'p' {
                if picked[si].is_some() {
                    problems.push(format!("{what} served twice"));
                }
                picked[si] = Some(rn);
                load.iter_mut().zip(&sh.amount).for_each(|(l, a)| *l += a);
            } else {
                if delivered[si].is_some() {
                    problems.push(format!("{what} served twice"));
                }
                delivered[si] = Some(rn);
                if picked[si] != Some(rn) {
                    problems.push(format!(
                        "vehicle {}: {what} without an earlier pickup in the same route",
                        veh.id
                    ));
                }
                load.iter_mut().zip(&sh.amount).for_each(|(l, a)| *l -= a);
            }
            for (k, (l, c)) in load.iter().zip(&veh.capacity).enumerate() {
                if l > c || *l < 0 {
                    problems.push(format!(
                        "vehicle {}: load {l} in dimension {k} after {what} (capacity {c})",
                        veh.id
                    ));
                }
            }
            locs.push(step.loc);
            prev = Some(step.loc);
        }
        if let Some(end) = veh.end {
            let travel = prev.map_or(0, |p| d[p][end]);
            cost += travel;
            t += travel;
            locs.push(end);
        }
        if t > veh.tw.1 {
            problems.push(format!(
                "vehicle {}: route ends at {t}, after the vehicle's window end {}",
                veh.id, veh.tw.1
            ));
        }
        loc_routes.push(locs);
    }
    let mut unassigned = 0;
    for (si, sh) in inst.shipments.iter().enumerate() {
        match (picked[si].is_some(), delivered[si].is_some()) {
            (false, false) => unassigned += 1,
            (true, false) => problems.push(format!(
                "shipment {}: pickup served without its delivery",
                sh.id
            )),
            (false, true) => problems.push(format!(
                "shipment {}: delivery served without its pickup",
                sh.id
            )),
            _ => {}
        }
    }
    (cost, unassigned, loc_routes, problems)
}

// ------------------------------------------------------------------------------- driver

struct Args {
    instance: String,
    time_limit_ms: u64,
    threads: usize,
    verbose: bool,
    minimize_tours: bool,
}

fn parse_args() -> Res<Args> {
    let mut args = Args {
        instance: String::new(),
        time_limit_ms: 1000,
        threads: 1,
        verbose: false,
        minimize_tours: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--time-limit-ms" => {
                args.time_limit_ms = value(&a)?
                    .parse()
                    .map_err(|e| format!("--time-limit-ms: {e}"))?
            }
            "--threads" => {
                args.threads = value(&a)?.parse().map_err(|e| format!("--threads: {e}"))?
            }
            "--verbose" => args.verbose = true,
            "--minimize-tours" => args.minimize_tours = true,
            "-h" | "--help" => {
                eprintln!("usage: vrp-core-peer INSTANCE.json [--time-limit-ms 1000] [--threads 1] [--minimize-tours] [--verbose]");
                std::process::exit(0);
            }
            _ if a.starts_with("--") => return Err(format!("unknown option {a}")),
            _ if args.instance.is_empty() => args.instance = a,
            _ => return Err(format!("unexpected argument {a}")),
        }
    }
    if args.instance.is_empty() {
        return Err("usage: vrp-core-peer INSTANCE.json [--time-limit-ms 1000] [--threads 1] [--minimize-tours] [--verbose]".into());
    }
    if args.time_limit_ms == 0 {
        return Err("--time-limit-ms must be > 0".into());
    }
    Ok(args)
}

fn run(args: &Args, inst: &Instance) -> Res<Value> {
    let e = |err: GenericError| err.to_string();
    let logger: InfoLogger = if args.verbose {
        Arc::new(|msg: &str| eprintln!("{msg}"))
    } else {
        Arc::new(|_: &str| {})
    };
    let build_t0 = Instant::now();
    let problem = Arc::new(if inst.dims <= 1 {
        build_problem::<SingleDimLoad>(inst, args.minimize_tours, logger.clone()).map_err(e)?
    } else if inst.dims <= 8 {
        build_problem::<MultiDimLoad>(inst, args.minimize_tours, logger.clone()).map_err(e)?
    } else {
        return Err(format!(
            "{} capacity dimensions; vrp-core supports at most 8",
            inst.dims
        ));
    });
    let build_ms = build_t0.elapsed().as_secs_f64() * 1000.0;
    let limit_s = args.time_limit_ms as Float / 1000.0;

    // The timed part: solver configuration (default heuristic, population, initial
    // operators) plus the search, i.e. everything after the problem model exists.
    let t0 = Instant::now();
    let mut environment = Environment {
        quota: Some(Arc::new(TimeQuota::new(limit_s))),
        logger: logger.clone(),
        ..Environment::default()
    };
    if args.threads > 0 {
        environment.parallelism = Parallelism::new_with_cpus(args.threads);
    }
    let telemetry = if args.verbose {
        TelemetryMode::All {
            logger,
            log_best: 100,
            log_population: 1000,
            track_population: usize::MAX,
        }
    } else {
        // metrics only, for the generation count; population snapshots effectively never
        TelemetryMode::OnlyMetrics {
            track_population: usize::MAX,
        }
    };
    let mut config = VrpConfigBuilder::new(problem.clone())
        .set_environment(Arc::new(environment))
        .set_telemetry_mode(telemetry)
        .prebuild()
        .map_err(e)?
        // max_time is whole seconds here; it only selects "time limit, no generation limit" and
        // is replaced below by the exact fractional limit.
        .with_max_time(Some(args.time_limit_ms.div_ceil(1000) as usize))
        .build()
        .map_err(e)?;
    let elapsed = t0.elapsed().as_secs_f64();
    config.termination = Box::new(
        MaxTime::<RefinementContext, GoalContext, InsertionContext>::new(
            (limit_s - elapsed).max(0.0),
        ),
    );
    let setup_ms = elapsed * 1000.0;
    let solution = Solver::new(problem, config).solve().map_err(e)?;
    let ms = t0.elapsed().as_secs_f64() * 1000.0;

    // Map the solution back to shipments and vehicles.
    let mut routes: Vec<(usize, Vec<Stop>)> = vec![];
    for route in &solution.routes {
        let vi: usize = route
            .actor
            .vehicle
            .dimens
            .get_vehicle_id()
            .and_then(|id| id.parse().ok())
            .ok_or("route with an unknown vehicle id")?;
        let mut stops = vec![];
        for act in route.tour.all_activities() {
            if let Some(single) = &act.job {
                let id = single
                    .dimens
                    .get_job_id()
                    .ok_or("activity without job id")?;
                let (kind, si) = id.split_at(1);
                let si: usize = si.parse().map_err(|_| format!("bad job id {id}"))?;
                stops.push((kind.chars().next().unwrap(), si));
            }
        }
        if !stops.is_empty() {
            routes.push((vi, stops));
        }
    }
    routes.sort_by_key(|r| r.0);
    let (cost, unassigned, loc_routes, problems) = evaluate(inst, &routes);
    let generations = solution.telemetry.as_ref().map(|t| t.generations);

    Ok(json!({
        "solver": SOLVER,
        "instance": inst.name,
        "cost": cost,
        "solver_cost": solution.cost,
        "unassigned": unassigned,
        "ms": (ms * 1000.0).round() / 1000.0,
        "routes": loc_routes,
        "valid": problems.is_empty(),
        "problems": problems,
        "route_vehicles": routes.iter().map(|(vi, _)| inst.vehicles[*vi].id.clone()).collect::<Vec<_>>(),
        "cost_matches_solver": (solution.cost - cost as Float).abs() < 1e-6,
        // for peers.py: the same routes as vehicle index + (kind, shipment index) stops
        "vehicle_routes": routes.iter().map(|(vi, stops)| json!({
            "vehicle": vi,
            "stops": stops.iter().map(|(k, si)| json!([k.to_string(), si])).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "solver_unassigned": solution.unassigned.len(),
        "threads": if args.threads > 0 { json!(args.threads) } else { json!("default") },
        "time_limit_ms": args.time_limit_ms,
        "goal": if args.minimize_tours { "unassigned,tours,travel_time" } else { "unassigned,travel_time" },
        "generations": generations,
        "setup_ms": (setup_ms * 1000.0).round() / 1000.0,
        "model_build_ms": (build_ms * 1000.0).round() / 1000.0,
        "vrp_core_version": VRP_CORE_VERSION,
    }))
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("vrp-core-peer: {msg}");
            std::process::exit(2);
        }
    };
    let stem = std::path::Path::new(&args.instance)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let error_line = |name: &str, msg: String| {
        println!(
            "{}",
            json!({"solver": SOLVER, "instance": name, "error": msg})
        );
    };
    let raw: Value = match std::fs::read_to_string(&args.instance)
        .map_err(|e| e.to_string())
        .and_then(|s| serde_json::from_str(&s).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(msg) => {
            eprintln!(
                "vrp-core-peer: cannot read instance {}: {msg}",
                args.instance
            );
            std::process::exit(2);
        }
    };
    let name = raw
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(&stem)
        .to_string();
    let inst = match Instance::parse(&raw, &stem) {
        Ok(i) => i,
        Err(msg) => {
            error_line(&name, msg);
            std::process::exit(1);
        }
    };
    if args.threads > 0 {
        if let Err(err) = rayon::ThreadPoolBuilder::new()
            .num_threads(args.threads)
            .build_global()
        {
            eprintln!("vrp-core-peer: cannot size rayon's global pool: {err}");
        }
    }
    match run(&args, &inst) {
        Ok(line) => println!("{line}"),
        Err(msg) => {
            error_line(&inst.name, msg);
            std::process::exit(1);
        }
    }
}

//! The vehicle-routing solver: pickup-and-delivery with time windows, capacity,
//! skills, pinned jobs and fixed (already started) stops, over any [`Matrix`].
//!
//! Model (close to VROOM's, so instances compare one to one):
//! - a [`Job`] is a *shipment* (pickup then delivery, same vehicle), a *delivery*
//!   (goods loaded at the vehicle's start: already on board) or a *pickup*
//!   (collected and carried to the route's end);
//! - a [`Vehicle`] starts somewhere at a time, may end somewhere (or anywhere),
//!   has a capacity per dimension, skills, and a list of fixed waypoints it
//!   visits first (the stop a courier is already doing);
//! - hard constraints: time windows (waiting allowed), the vehicle's shift,
//!   capacity at every point, pickup before delivery, skills, pins;
//! - objective, in this order: serve as many jobs as possible (weighted by
//!   priority), then minimise travel time plus an optional workload-balance
//!   term (`balance_weight * jobs_in_route²`).
//!
//! Search: ruin and recreate (related, random and string removals; greedy best
//! insertion with blinks, jobs ordered by a random criterion; with more than a
//! dozen routes in use a job is priced against its neighbours' routes and one
//! empty route per kind of vehicle first) under simulated
//! annealing, from the warm start if one is given; the best plan is finally
//! improved route by route (Or-opt and 2-opt, feasibility kept). Insertions of a shipment into
//! a route are checked in O(len²) with forward times and backward latest-arrival
//! slacks, so no insertion re-simulates a route.
//!
//! Deterministic for a seed: only the [`Budget`] decides where the trajectory stops.

// Loads are small fixed arrays indexed by dimension; index loops read best here.
#![allow(clippy::needless_range_loop)]

use serde::{Deserialize, Serialize};

use super::Matrix;
use super::rng::{Budget, Clock, Rng};

/// Capacity dimensions: items and grams.
pub const DIMS: usize = 2;
pub type Amount = [i64; DIMS];

/// Far enough in the future to mean "no limit", with room to add durations.
pub const OPEN: i64 = i64::MAX / 4;

/// A place to be, for how long, and when service may start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub location: usize,
    /// Seconds spent at the stop.
    pub service: i64,
    /// Service may start in `[window.0, window.1]` (seconds on the instance's clock).
    pub window: (i64, i64),
}

impl Task {
    pub fn at(location: usize) -> Self {
        Self {
            location,
            service: 0,
            window: (0, OPEN),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum JobKind {
    Shipment {
        pickup: Task,
        delivery: Task,
    },
    /// Goods already on board (loaded at the start), handed over at `task`.
    Delivery {
        task: Task,
    },
    /// Goods collected at `task` and carried to the end of the route.
    Pickup {
        task: Task,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub kind: JobKind,
    pub amount: Amount,
    /// Bits the vehicle must have (zones, carrier types, ...).
    #[serde(default)]
    pub skills: u64,
    /// Higher is more important to serve when not all can be (0..=100).
    #[serde(default)]
    pub priority: u32,
    /// Only this vehicle may serve the job (a dispatcher's manual assignment,
    /// goods already on a courier's bike).
    #[serde(default)]
    pub pinned: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vehicle {
    pub start: usize,
    /// `None`: the route ends at its last stop.
    pub end: Option<usize>,
    /// Earliest departure and latest arrival at the end (or last departure).
    pub shift: (i64, i64),
    pub capacity: Amount,
    #[serde(default)]
    pub skills: u64,
    /// Waypoints visited first, in this order, and never moved (a stop in progress).
    #[serde(default)]
    pub fixed: Vec<Task>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub matrix: Matrix,
    pub vehicles: Vec<Vehicle>,
    pub jobs: Vec<Job>,
    /// Cost per (jobs in a route)², added to travel seconds; 0 = no balancing.
    #[serde(default)]
    pub balance_weight: i64,
    /// Routes to start from: per vehicle, the visits in order.
    #[serde(default)]
    pub warm_start: Option<Vec<Vec<Visit>>>,
}

/// One visit of a route: which job, and which end of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Visit {
    pub job: usize,
    /// For shipments: the delivery end (the pickup is `false`).
    pub delivery: bool,
}

/// What went wrong with a problem before solving.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ProblemError {
    pub field: String,
    pub message: String,
}

impl Problem {
    /// Checks indices and windows so the solver never panics on bad input.
    pub fn validate(&self) -> Result<(), ProblemError> {
        let n = self.matrix.len();
        let bad = |field: String, message: String| Err(ProblemError { field, message });
        let task_ok = |field: String, t: &Task| -> Result<(), ProblemError> {
            if t.location >= n {
                return bad(
                    field,
                    format!("location {} outside the {n}-point matrix", t.location),
                );
            }
            if t.window.0 > t.window.1 {
                return bad(field, "window ends before it starts".into());
            }
            if t.service < 0 {
                return bad(field, "negative service time".into());
            }
            Ok(())
        };
        for (i, v) in self.vehicles.iter().enumerate() {
            if v.start >= n || v.end.is_some_and(|e| e >= n) {
                return bad(
                    format!("vehicles[{i}]"),
                    format!("start/end outside the {n}-point matrix"),
                );
            }
            if v.shift.0 > v.shift.1 {
                return bad(
                    format!("vehicles[{i}].shift"),
                    "shift ends before it starts".into(),
                );
            }
            for (k, t) in v.fixed.iter().enumerate() {
                task_ok(format!("vehicles[{i}].fixed[{k}]"), t)?;
            }
        }
        for (j, job) in self.jobs.iter().enumerate() {
            match &job.kind {
                JobKind::Shipment { pickup, delivery } => {
                    task_ok(format!("jobs[{j}].pickup"), pickup)?;
                    task_ok(format!("jobs[{j}].delivery"), delivery)?;
                }
                JobKind::Delivery { task } | JobKind::Pickup { task } => {
                    task_ok(format!("jobs[{j}]"), task)?;
                }
            }
            if job.amount.iter().any(|a| *a < 0) {
                return bad(format!("jobs[{j}].amount"), "negative amount".into());
            }
            if job.pinned.is_some_and(|v| v >= self.vehicles.len()) {
                return bad(format!("jobs[{j}].pinned"), "no such vehicle".into());
            }
        }
        if let Some(ws) = &self.warm_start {
            if ws.len() != self.vehicles.len() {
                return bad("warm_start".into(), "one list of visits per vehicle".into());
            }
            for (r, visits) in ws.iter().enumerate() {
                for v in visits {
                    if v.job >= self.jobs.len() {
                        return bad(format!("warm_start[{r}]"), format!("no job {}", v.job));
                    }
                }
            }
        }
        Ok(())
    }

    fn task(&self, v: Visit) -> &Task {
        match &self.jobs[v.job].kind {
            JobKind::Shipment { pickup, delivery } => {
                if v.delivery {
                    delivery
                } else {
                    pickup
                }
            }
            JobKind::Delivery { task } | JobKind::Pickup { task } => task,
        }
    }

    fn allowed(&self, job: usize, vehicle: usize) -> bool {
        let j = &self.jobs[job];
        let v = &self.vehicles[vehicle];
        j.skills & !v.skills == 0
            && j.pinned.is_none_or(|p| p == vehicle)
            && j.amount.iter().zip(v.capacity.iter()).all(|(a, c)| a <= c)
    }
}

/// A visit with its schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedStop {
    /// `None` for a fixed waypoint.
    pub job: Option<usize>,
    pub delivery: bool,
    pub location: usize,
    pub arrival: i64,
    /// Service start (after waiting for the window).
    pub start: i64,
    pub departure: i64,
    /// Load after the stop.
    pub load: Amount,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoutePlan {
    pub vehicle: usize,
    pub stops: Vec<PlannedStop>,
    /// Arrival at the end (or departure from the last stop of an open route).
    pub end_time: i64,
    pub travel_s: i64,
    pub distance_m: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    pub routes: Vec<RoutePlan>,
    pub unassigned: Vec<usize>,
    /// Total travel seconds (the objective VROOM and OR-Tools report).
    pub travel_s: i64,
    pub distance_m: i64,
    pub iterations: u64,
    pub ms: f64,
    /// When the returned solution was found.
    pub best_ms: f64,
}

// ---------------------------------------------------------------------------
// Internal representation.

const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Node {
    job: u32, // NONE for fixed waypoints
    delivery: bool,
    loc: u32,
    service: i64,
    tw0: i64,
    tw1: i64,
    delta: Amount,
}

#[derive(Clone, Debug)]
struct Route {
    vehicle: usize,
    fixed: usize,
    nodes: Vec<Node>,
    // Cached by `update`:
    dep: Vec<i64>,           // departure from node k
    latest: Vec<i64>,        // latest feasible arrival at node k; [len] = at the end
    load: Vec<Amount>,       // load after node k
    initial: Amount,         // load at the start (deliveries on board)
    prefix_max: Vec<Amount>, // max(initial, load[0..k]) for k in 0..=len
    suffix_max: Vec<Amount>, // max(load[k-1 or initial], load[k..]) : max load from arc before node k to the end
    travel: i64,
    jobs: i64,
}

struct Ctx<'a> {
    p: &'a Problem,
    m: &'a Matrix,
    penalty: Vec<i64>,
    neighbours: Vec<Vec<u32>>,
}

impl Ctx<'_> {
    #[inline]
    fn t(&self, a: u32, b: u32) -> i64 {
        i64::from(self.m.time(a as usize, b as usize))
    }

    fn node(&self, v: Visit) -> Node {
        let job = &self.p.jobs[v.job];
        let task = self.p.task(v);
        let delta = match (&job.kind, v.delivery) {
            (JobKind::Shipment { .. }, false) | (JobKind::Pickup { .. }, _) => job.amount,
            (JobKind::Shipment { .. }, true) | (JobKind::Delivery { .. }, _) => {
                job.amount.map(|a| -a)
            }
        };
        Node {
            job: v.job as u32,
            delivery: v.delivery,
            loc: task.location as u32,
            service: task.service,
            tw0: task.window.0,
            tw1: task.window.1,
            delta,
        }
    }

    fn new_route(&self, vehicle: usize) -> Route {
        let v = &self.p.vehicles[vehicle];
        let nodes: Vec<Node> = v
            .fixed
            .iter()
            .map(|t| Node {
                job: NONE,
                delivery: false,
                loc: t.location as u32,
                service: t.service,
                tw0: t.window.0,
                tw1: t.window.1,
                delta: [0; DIMS],
            })
            .collect();
        let mut r = Route {
            vehicle,
            fixed: nodes.len(),
            nodes,
            dep: vec![],
            latest: vec![],
            load: vec![],
            initial: [0; DIMS],
            prefix_max: vec![],
            suffix_max: vec![],
            travel: 0,
            jobs: 0,
        };
        self.update(&mut r);
        r
    }

    /// Travel from `a` to the route's end (0 for open routes).
    #[inline]
    fn t_end(&self, a: u32, end: Option<u32>) -> i64 {
        end.map_or(0, |e| self.t(a, e))
    }

    /// Location and departure time before position `i`.
    #[inline]
    fn before(&self, r: &Route, i: usize) -> (u32, i64) {
        if i == 0 {
            let v = &self.p.vehicles[r.vehicle];
            (v.start as u32, v.shift.0)
        } else {
            (r.nodes[i - 1].loc, r.dep[i - 1])
        }
    }

    fn update(&self, r: &mut Route) {
        let v = &self.p.vehicles[r.vehicle];
        let n = r.nodes.len();
        r.initial = [0; DIMS];
        for node in &r.nodes {
            if node.job != NONE
                && matches!(
                    self.p.jobs[node.job as usize].kind,
                    JobKind::Delivery { .. }
                )
            {
                for d in 0..DIMS {
                    r.initial[d] -= node.delta[d];
                }
            }
        }
        r.dep.resize(n, 0);
        r.load.resize(n, [0; DIMS]);
        let (mut loc, mut t) = (v.start as u32, v.shift.0);
        let mut load = r.initial;
        let mut travel = 0;
        let mut jobs = 0;
        for k in 0..n {
            let node = r.nodes[k];
            let leg = self.t(loc, node.loc);
            travel += leg;
            let start = (t + leg).max(node.tw0);
            t = start + node.service;
            r.dep[k] = t;
            loc = node.loc;
            for d in 0..DIMS {
                load[d] += node.delta[d];
            }
            r.load[k] = load;
            // Each job has exactly one non-delivery-flagged visit.
            if node.job != NONE && !node.delivery {
                jobs += 1;
            }
        }
        let end = v.end.map(|e| e as u32);
        travel += self.t_end(loc, end);
        r.travel = travel;
        r.jobs = jobs;
        r.latest.resize(n + 1, 0);
        r.latest[n] = v.shift.1;
        for k in (0..n).rev() {
            let node = r.nodes[k];
            let next_leg = if k + 1 < n {
                self.t(node.loc, r.nodes[k + 1].loc)
            } else {
                self.t_end(node.loc, end)
            };
            r.latest[k] = node.tw1.min(r.latest[k + 1] - next_leg - node.service);
        }
        r.prefix_max.resize(n + 1, [0; DIMS]);
        let mut mx = r.initial;
        r.prefix_max[0] = mx;
        for k in 0..n {
            for d in 0..DIMS {
                mx[d] = mx[d].max(r.load[k][d]);
            }
            r.prefix_max[k + 1] = mx;
        }
        r.suffix_max.resize(n + 1, [0; DIMS]);
        // suffix_max[k] = max load on arcs from "before node k" to the end.
        let mut mx = if n == 0 { r.initial } else { r.load[n - 1] };
        r.suffix_max[n] = mx;
        for k in (0..n).rev() {
            let before = if k == 0 { r.initial } else { r.load[k - 1] };
            for d in 0..DIMS {
                mx[d] = mx[d].max(before[d]);
            }
            r.suffix_max[k] = mx;
        }
    }

    fn route_cost(&self, r: &Route) -> i64 {
        r.travel + self.p.balance_weight * r.jobs * r.jobs
    }

    /// The cheapest feasible way to put `job` into `r`: (added cost, pickup pos, delivery pos).
    /// Positions index the route before insertion; for single-task jobs only the first is used.
    fn best_insertion(
        &self,
        r: &Route,
        job: usize,
        rng: &mut Rng,
        blink: f64,
    ) -> Option<(i64, usize, usize)> {
        let v = &self.p.vehicles[r.vehicle];
        let cap = v.capacity;
        let end = v.end.map(|e| e as u32);
        let n = r.nodes.len();
        let jd = &self.p.jobs[job];
        let amt = jd.amount;
        let balance = self.p.balance_weight * (2 * r.jobs + 1);
        let fits = |load: &Amount| (0..DIMS).all(|d| load[d] + amt[d] <= cap[d]);
        let next_loc = |i: usize| if i < n { Some(r.nodes[i].loc) } else { end };
        let t_opt = |a: u32, b: Option<u32>| b.map_or(0, |b| self.t(a, b));
        let mut best: Option<(i64, usize, usize)> = None;
        match jd.kind {
            JobKind::Shipment { .. } => {
                let p = self.node(Visit {
                    job,
                    delivery: false,
                });
                let d = self.node(Visit {
                    job,
                    delivery: true,
                });
                for i in r.fixed..=n {
                    let (prev, prev_dep) = self.before(r, i);
                    if prev_dep > p.tw1 {
                        // Later positions depart later still: none can make the window.
                        break;
                    }
                    let arr_p = prev_dep + self.t(prev, p.loc);
                    if arr_p > p.tw1 {
                        continue;
                    }
                    let load_before = if i == 0 { r.initial } else { r.load[i - 1] };
                    if !fits(&load_before) {
                        continue;
                    }
                    let dep_p = arr_p.max(p.tw0) + p.service;
                    let nxt = next_loc(i);
                    let add_p = self.t(prev, p.loc) + t_opt(p.loc, nxt) - t_opt(prev, nxt);
                    // Delivery right after the pickup.
                    {
                        let arr_d = dep_p + self.t(p.loc, d.loc);
                        if arr_d <= d.tw1 {
                            let dep_d = arr_d.max(d.tw0) + d.service;
                            let arr_next = dep_d + t_opt(d.loc, nxt);
                            if arr_next <= r.latest[i] {
                                let add =
                                    self.t(prev, p.loc) + self.t(p.loc, d.loc) + t_opt(d.loc, nxt)
                                        - t_opt(prev, nxt);
                                let c = add + balance;
                                if best.is_none_or(|b| c < b.0)
                                    && !(blink > 0.0 && rng.chance(blink))
                                {
                                    best = Some((c, i, i));
                                }
                            }
                        }
                    }
                    // Delivery later: walk the pushed schedule.
                    let (mut loc, mut dep) = (p.loc, dep_p);
                    for j in i + 1..=n {
                        let k = j - 1; // node k gets visited between p and d
                        let node = r.nodes[k];
                        let arr = dep + self.t(loc, node.loc);
                        if arr > r.latest[k] || !fits(&r.load[k]) {
                            break;
                        }
                        dep = arr.max(node.tw0) + node.service;
                        loc = node.loc;
                        let arr_d = dep + self.t(loc, d.loc);
                        if arr_d > d.tw1 {
                            break;
                        }
                        let nxt_d = next_loc(j);
                        let dep_d = arr_d.max(d.tw0) + d.service;
                        if dep_d + t_opt(d.loc, nxt_d) > r.latest[j] {
                            continue;
                        }
                        let add_d = self.t(loc, d.loc) + t_opt(d.loc, nxt_d) - t_opt(loc, nxt_d);
                        let c = add_p + add_d + balance;
                        if best.is_none_or(|b| c < b.0) && !(blink > 0.0 && rng.chance(blink)) {
                            best = Some((c, i, j));
                        }
                    }
                }
            }
            JobKind::Delivery { .. } | JobKind::Pickup { .. } => {
                let x = self.node(Visit {
                    job,
                    delivery: false,
                });
                let is_delivery = matches!(jd.kind, JobKind::Delivery { .. });
                for i in r.fixed..=n {
                    let ok_load = if is_delivery {
                        fits(&r.prefix_max[i])
                    } else {
                        fits(&r.suffix_max[i])
                    };
                    let (prev, prev_dep) = self.before(r, i);
                    if prev_dep > x.tw1 {
                        break;
                    }
                    let arr = prev_dep + self.t(prev, x.loc);
                    if arr > x.tw1 {
                        continue;
                    }
                    if !ok_load {
                        continue;
                    }
                    let dep = arr.max(x.tw0) + x.service;
                    let nxt = next_loc(i);
                    if dep + t_opt(x.loc, nxt) > r.latest[i] {
                        continue;
                    }
                    let c = self.t(prev, x.loc) + t_opt(x.loc, nxt) - t_opt(prev, nxt) + balance;
                    if best.is_none_or(|b| c < b.0) && !(blink > 0.0 && rng.chance(blink)) {
                        best = Some((c, i, i));
                    }
                }
            }
        }
        best
    }

    fn insert(&self, r: &mut Route, job: usize, i: usize, j: usize) {
        match self.p.jobs[job].kind {
            JobKind::Shipment { .. } => {
                r.nodes.insert(
                    j,
                    self.node(Visit {
                        job,
                        delivery: true,
                    }),
                );
                r.nodes.insert(
                    i,
                    self.node(Visit {
                        job,
                        delivery: false,
                    }),
                );
            }
            _ => r.nodes.insert(
                i,
                self.node(Visit {
                    job,
                    delivery: false,
                }),
            ),
        }
        self.update(r);
    }
}

#[derive(Clone, Debug)]
struct State {
    routes: Vec<Route>,
    unassigned: Vec<usize>,
    cost: i64,
}

impl State {
    fn compute_cost(&mut self, ctx: &Ctx<'_>) {
        self.cost = self.routes.iter().map(|r| ctx.route_cost(r)).sum::<i64>()
            + self.unassigned.iter().map(|&j| ctx.penalty[j]).sum::<i64>();
    }
}

/// Solves a problem. Invalid problems are refused before any search.
pub fn solve(problem: &Problem, seed: u64, budget: Budget) -> Result<Solution, ProblemError> {
    problem.validate()?;
    let mut clock = Clock::start(budget);
    let mut rng = Rng::new(seed);
    let m = &problem.matrix;
    // Unserved jobs cost more than any route could.
    let max_leg = m.durations().iter().copied().max().unwrap_or(0) as i64;
    let big = (max_leg + 1) * 4 * (problem.jobs.len() as i64 + 2)
        + problem.balance_weight * (problem.jobs.len() as i64 + 1).pow(2) * 2
        + 1_000_000;
    let penalty = problem
        .jobs
        .iter()
        .map(|j| big * (1 + i64::from(j.priority.min(100))))
        .collect();
    let neighbours = job_neighbours(problem, 24);
    let ctx = Ctx {
        p: problem,
        m,
        penalty,
        neighbours,
    };

    let mut state = State {
        routes: (0..problem.vehicles.len())
            .map(|v| ctx.new_route(v))
            .collect(),
        unassigned: vec![],
        cost: 0,
    };
    let mut placed = vec![false; problem.jobs.len()];
    if let Some(ws) = &problem.warm_start {
        warm_start(&ctx, &mut state, ws, &mut placed);
    }
    let mut todo: Vec<usize> = (0..problem.jobs.len()).filter(|&j| !placed[j]).collect();
    // Most important and most constrained first.
    todo.sort_by_key(|&j| {
        (
            std::cmp::Reverse(problem.jobs[j].priority),
            window_width(problem, j),
            j,
        )
    });
    recreate(&ctx, &mut state, todo, &mut rng, 0.0);
    let mut scratch = Vec::new();
    for r in &mut state.routes {
        improve_route(&ctx, r, &mut scratch);
    }
    state.compute_cost(&ctx);

    let mut best = state.clone();
    let mut best_ms = clock.elapsed_ms();
    let n_jobs = problem.jobs.len();
    if n_jobs > 0 && !problem.vehicles.is_empty() {
        let avg_leg = (m.durations().iter().map(|&d| d as f64).sum::<f64>()
            / (m.len() * m.len()).max(1) as f64)
            .max(1.0);
        let t0 = 0.1 * avg_leg;
        let t1 = 0.002 * avg_leg;
        while clock.tick() {
            let progress = clock.progress();
            let temp = t0 * (t1 / t0).powf(progress);
            let mut cand = state.clone();
            let removed = ruin(&ctx, &mut cand, &mut rng);
            let mut todo = removed;
            todo.append(&mut cand.unassigned);
            sort_for_recreate(&ctx, &mut todo, &mut rng);
            recreate(&ctx, &mut cand, todo, &mut rng, 0.01);
            cand.compute_cost(&ctx);
            let threshold = state.cost as f64 - temp * rng.unit().max(1e-12).ln();
            if (cand.cost as f64) < threshold {
                state = cand;
                if state.cost < best.cost {
                    best = state.clone();
                    best_ms = clock.elapsed_ms();
                }
            }
        }
    }
    // A last polish of the best plan: intra-route moves only shorten it. (Run on
    // every candidate inside the loop it cost more time than it gained: measured
    // on the Solomon-shaped VRPTW set at 1 s, see BENCHMARKS.md.)
    for r in &mut best.routes {
        improve_route(&ctx, r, &mut scratch);
    }
    best.compute_cost(&ctx);
    let mut sol = finish(
        &ctx,
        best,
        clock.iterations.saturating_sub(1),
        clock.elapsed_ms(),
    );
    sol.best_ms = best_ms;
    Ok(sol)
}

fn window_width(p: &Problem, j: usize) -> i64 {
    match &p.jobs[j].kind {
        JobKind::Shipment { pickup, delivery } => {
            (pickup.window.1 - pickup.window.0).min(delivery.window.1 - delivery.window.0)
        }
        JobKind::Delivery { task } | JobKind::Pickup { task } => task.window.1 - task.window.0,
    }
}

fn job_locations(p: &Problem, j: usize) -> [usize; 2] {
    match &p.jobs[j].kind {
        JobKind::Shipment { pickup, delivery } => [pickup.location, delivery.location],
        JobKind::Delivery { task } | JobKind::Pickup { task } => [task.location, task.location],
    }
}

fn job_neighbours(p: &Problem, k: usize) -> Vec<Vec<u32>> {
    let n = p.jobs.len();
    let locs: Vec<[usize; 2]> = (0..n).map(|j| job_locations(p, j)).collect();
    (0..n)
        .map(|a| {
            let mut v: Vec<(u32, u32)> = (0..n)
                .filter(|&b| b != a)
                .map(|b| {
                    let mut d = u32::MAX;
                    for x in locs[a] {
                        for y in locs[b] {
                            d = d.min(p.matrix.time(x, y).saturating_add(p.matrix.time(y, x)));
                        }
                    }
                    (d, b as u32)
                })
                .collect();
            let kk = k.min(v.len());
            if kk > 0 && v.len() > kk {
                v.select_nth_unstable(kk - 1);
                v.truncate(kk);
            }
            v.sort_unstable();
            v.into_iter().map(|(_, b)| b).collect()
        })
        .collect()
}

fn warm_start(ctx: &Ctx<'_>, state: &mut State, ws: &[Vec<Visit>], placed: &mut [bool]) {
    for (r, visits) in ws.iter().enumerate() {
        // Keep the given order as long as it stays feasible; a job whose visits
        // don't fit (or are incomplete) is left for insertion.
        let mut seen_pickup = std::collections::HashSet::new();
        for v in visits {
            let job = &ctx.p.jobs[v.job];
            if placed[v.job] || !ctx.p.allowed(v.job, r) {
                continue;
            }
            match job.kind {
                JobKind::Shipment { .. } if !v.delivery => {
                    seen_pickup.insert(v.job);
                }
                JobKind::Shipment { .. } => {
                    if seen_pickup.remove(&v.job) {
                        // Append pickup and delivery where the sequence puts them:
                        // re-derive both positions from the warm list.
                        let route = &mut state.routes[r];
                        route.nodes.push(ctx.node(Visit {
                            job: v.job,
                            delivery: false,
                        }));
                        route.nodes.push(ctx.node(*v));
                        placed[v.job] = true;
                    }
                }
                _ => {
                    state.routes[r].nodes.push(ctx.node(*v));
                    placed[v.job] = true;
                }
            }
        }
        // Restore the exact order of the warm list among the jobs kept.
        let order: std::collections::HashMap<(usize, bool), usize> = visits
            .iter()
            .enumerate()
            .map(|(i, v)| ((v.job, v.delivery), i))
            .collect();
        let route = &mut state.routes[r];
        let fixed = route.fixed;
        route.nodes[fixed..].sort_by_key(|n| order[&(n.job as usize, n.delivery)]);
        ctx.update(route);
        if !feasible(ctx, route) {
            // Drop the warm start for this route rather than keep a broken plan.
            for n in &route.nodes[fixed..] {
                placed[n.job as usize] = false;
            }
            route.nodes.truncate(fixed);
            ctx.update(route);
        }
    }
}

fn feasible(ctx: &Ctx<'_>, r: &Route) -> bool {
    let v = &ctx.p.vehicles[r.vehicle];
    let (mut loc, mut t) = (v.start as u32, v.shift.0);
    let mut load = r.initial;
    if (0..DIMS).any(|d| load[d] > v.capacity[d]) {
        return false;
    }
    for node in &r.nodes {
        let arr = t + ctx.t(loc, node.loc);
        if arr > node.tw1 {
            return false;
        }
        t = arr.max(node.tw0) + node.service;
        loc = node.loc;
        for d in 0..DIMS {
            load[d] += node.delta[d];
            if load[d] > v.capacity[d] || load[d] < 0 {
                return false;
            }
        }
    }
    t + ctx.t_end(loc, v.end.map(|e| e as u32)) <= v.shift.1
}

/// Intra-route local search on the stops after the fixed waypoints: Or-opt
/// (a stretch of 1–3 stops moved elsewhere in the route) and 2-opt (a stretch
/// reversed), first improvement, until neither shortens the route. A move is
/// priced from the changed arcs in O(1) and taken only if the reordered route
/// still keeps every window, the shift, capacity and pickup-before-delivery.
fn improve_route(ctx: &Ctx<'_>, r: &mut Route, scratch: &mut Vec<Node>) {
    let v = &ctx.p.vehicles[r.vehicle];
    let (start, end) = (v.start as u32, v.end.map(|e| e as u32));
    // Extended positions: 0 = the start, 1..=n the nodes, n + 1 = the end.
    let mut fwd: Vec<i64> = Vec::new();
    let mut bwd: Vec<i64> = Vec::new();
    for _round in 0..1000 {
        let n = r.nodes.len();
        let f = r.fixed;
        if n - f < 2 {
            return;
        }
        let loc = |k: usize| if k == 0 { start } else { r.nodes[k - 1].loc };
        let c = |a: usize, b: usize| {
            if b == n + 1 {
                ctx.t_end(loc(a), end)
            } else {
                ctx.t(loc(a), loc(b))
            }
        };
        // fwd[k] = travel over arcs (m, m + 1) for 1 <= m < k; bwd the same reversed.
        fwd.clear();
        bwd.clear();
        fwd.extend([0, 0]);
        bwd.extend([0, 0]);
        for k in 2..=n {
            fwd.push(fwd[k - 1] + c(k - 1, k));
            bwd.push(bwd[k - 1] + c(k, k - 1));
        }
        let mut found: Option<(usize, usize, usize)> = None; // (i, len or 0 for 2-opt, j)
        'search: for i in f + 1..=n {
            for len in 1..=3usize {
                let e = i + len - 1;
                if e > n {
                    break;
                }
                let removed = c(i - 1, i) + c(e, e + 1) - c(i - 1, e + 1);
                for j in f..=n {
                    if j + 1 >= i && j <= e {
                        continue;
                    }
                    let delta = c(j, i) + c(e, j + 1) - c(j, j + 1) - removed;
                    if delta < 0 && try_order(ctx, r, scratch, |out| or_opt(&r.nodes, i, e, j, out))
                    {
                        found = Some((i, len, j));
                        break 'search;
                    }
                }
            }
            for j in i + 1..=n {
                let delta = c(i - 1, j) + c(i, j + 1) - c(i - 1, i) - c(j, j + 1)
                    + (bwd[j] - bwd[i])
                    - (fwd[j] - fwd[i]);
                if delta < 0 && try_order(ctx, r, scratch, |out| two_opt(&r.nodes, i, j, out)) {
                    found = Some((i, 0, j));
                    break 'search;
                }
            }
        }
        if found.is_none() {
            return;
        }
        std::mem::swap(&mut r.nodes, scratch);
        ctx.update(r);
    }
}

/// Nodes with the stretch at extended positions `i..=e` moved after position `j`.
fn or_opt(nodes: &[Node], i: usize, e: usize, j: usize, out: &mut Vec<Node>) {
    out.clear();
    let seg = &nodes[i - 1..e];
    if j == 0 {
        out.extend_from_slice(seg);
    }
    for (k, node) in nodes.iter().enumerate() {
        let pos = k + 1;
        if (i..=e).contains(&pos) {
            continue;
        }
        out.push(*node);
        if pos == j {
            out.extend_from_slice(seg);
        }
    }
}

/// Nodes with extended positions `i..=j` reversed.
fn two_opt(nodes: &[Node], i: usize, j: usize, out: &mut Vec<Node>) {
    out.clear();
    out.extend_from_slice(&nodes[..i - 1]);
    out.extend(nodes[i - 1..j].iter().rev());
    out.extend_from_slice(&nodes[j..]);
}

/// Builds an order into `scratch` and says whether it is feasible for `r`'s vehicle.
fn try_order(
    ctx: &Ctx<'_>,
    r: &Route,
    scratch: &mut Vec<Node>,
    build: impl FnOnce(&mut Vec<Node>),
) -> bool {
    build(scratch);
    let v = &ctx.p.vehicles[r.vehicle];
    let (mut loc, mut t) = (v.start as u32, v.shift.0);
    let mut load = r.initial;
    for (k, node) in scratch.iter().enumerate() {
        let arr = t + ctx.t(loc, node.loc);
        if arr > node.tw1 {
            return false;
        }
        t = arr.max(node.tw0) + node.service;
        loc = node.loc;
        for d in 0..DIMS {
            load[d] += node.delta[d];
            if load[d] > v.capacity[d] || load[d] < 0 {
                return false;
            }
        }
        if node.delivery
            && node.job != NONE
            && matches!(ctx.p.jobs[node.job as usize].kind, JobKind::Shipment { .. })
            && !scratch[..k]
                .iter()
                .any(|m| m.job == node.job && !m.delivery)
        {
            return false;
        }
    }
    t + ctx.t_end(loc, v.end.map(|e| e as u32)) <= v.shift.1
}

/// Routes in use above which a job is priced only against the routes serving
/// one of its nearest neighbours (and the empty ones), falling back to every
/// route when none of those can take it.
const GRANULAR_ROUTES: usize = 12;

fn recreate(ctx: &Ctx<'_>, state: &mut State, todo: Vec<usize>, rng: &mut Rng, blink: f64) {
    let mut empty_seen: Vec<usize> = Vec::new();
    let busy = state
        .routes
        .iter()
        .filter(|r| r.nodes.len() > r.fixed)
        .count();
    let granular = busy > GRANULAR_ROUTES;
    let mut route_of = Vec::new();
    let mut near = Vec::new();
    if granular {
        route_of = vec![usize::MAX; ctx.p.jobs.len()];
        for (ri, r) in state.routes.iter().enumerate() {
            for node in &r.nodes[r.fixed..] {
                route_of[node.job as usize] = ri;
            }
        }
        near = vec![false; state.routes.len()];
    }
    for job in todo {
        let mut best: Option<(i64, usize, usize, usize)> = None;
        let pinned = ctx.p.jobs[job].pinned;
        if granular {
            near.fill(false);
            for &nb in &ctx.neighbours[job] {
                if let Some(r) = route_of.get(nb as usize).filter(|&&r| r != usize::MAX) {
                    near[*r] = true;
                }
            }
        }
        for only_near in [granular, false] {
            empty_seen.clear();
            for (ri, r) in state.routes.iter().enumerate() {
                if pinned.is_some_and(|p| p != r.vehicle) || !ctx.p.allowed(job, r.vehicle) {
                    continue;
                }
                if only_near && r.nodes.len() > r.fixed && !near[ri] {
                    continue;
                }
                // Empty routes of identical vehicles offer identical insertions:
                // price one of them (a large fleet is mostly unused vehicles).
                if r.nodes.is_empty() {
                    let v = &ctx.p.vehicles[r.vehicle];
                    if empty_seen.iter().any(|&o| ctx.p.vehicles[o] == *v) {
                        continue;
                    }
                    empty_seen.push(r.vehicle);
                }
                if let Some((c, i, j)) = ctx.best_insertion(r, job, rng, blink)
                    && best.is_none_or(|b| c < b.0)
                {
                    best = Some((c, ri, i, j));
                }
            }
            if best.is_some() || !granular {
                break;
            }
        }
        match best {
            Some((_, ri, i, j)) => {
                ctx.insert(&mut state.routes[ri], job, i, j);
                if granular {
                    route_of[job] = ri;
                }
            }
            None => state.unassigned.push(job),
        }
    }
}

fn sort_for_recreate(ctx: &Ctx<'_>, todo: &mut [usize], rng: &mut Rng) {
    let p = ctx.p;
    match rng.below(10) {
        0..=3 => rng.shuffle(todo),
        4..=5 => todo.sort_by_key(|&j| std::cmp::Reverse(p.jobs[j].amount[0])),
        6..=7 => todo.sort_by_key(|&j| window_width(p, j)),
        _ => {
            // Far from the first vehicle's start first.
            let start = p.vehicles.first().map_or(0, |v| v.start);
            todo.sort_by_key(|&j| std::cmp::Reverse(p.matrix.time(start, job_locations(p, j)[0])));
        }
    }
    // Priority always dominates.
    todo.sort_by_key(|&j| std::cmp::Reverse(p.jobs[j].priority));
}

/// Removes some jobs; returns them.
fn ruin(ctx: &Ctx<'_>, s: &mut State, rng: &mut Rng) -> Vec<usize> {
    let assigned: usize = s.routes.iter().map(|r| r.nodes.len() - r.fixed).sum();
    if assigned == 0 {
        return vec![];
    }
    let n_jobs = ctx.p.jobs.len();
    let max_remove = (n_jobs / 5).clamp(2, 30).min(n_jobs);
    let k = 1 + rng.below(max_remove);
    // Where each job sits.
    let mut route_of = vec![usize::MAX; n_jobs];
    for (ri, r) in s.routes.iter().enumerate() {
        for node in &r.nodes[r.fixed..] {
            route_of[node.job as usize] = ri;
        }
    }
    let mut remove = vec![false; n_jobs];
    let mut chosen = Vec::with_capacity(k);
    let pick = |j: usize, remove: &mut Vec<bool>, chosen: &mut Vec<usize>| {
        if route_of[j] != usize::MAX && !remove[j] {
            remove[j] = true;
            chosen.push(j);
        }
    };
    let assigned_jobs: Vec<usize> = (0..n_jobs).filter(|&j| route_of[j] != usize::MAX).collect();
    let seed_job = assigned_jobs[rng.below(assigned_jobs.len())];
    match rng.below(10) {
        0..=5 => {
            // Related: the seed and its nearest jobs.
            pick(seed_job, &mut remove, &mut chosen);
            for &nb in &ctx.neighbours[seed_job] {
                if chosen.len() >= k {
                    break;
                }
                pick(nb as usize, &mut remove, &mut chosen);
            }
        }
        6..=7 => {
            // A string of consecutive stops around the seed, in its route and
            // in the routes of its neighbours.
            let mut routes = vec![route_of[seed_job]];
            for &nb in &ctx.neighbours[seed_job] {
                let r = route_of[nb as usize];
                if r != usize::MAX && !routes.contains(&r) {
                    routes.push(r);
                }
                if routes.len() >= 3 {
                    break;
                }
            }
            let per = k.div_ceil(routes.len()).max(1);
            for r in routes {
                let route = &s.routes[r];
                let free = route.nodes.len() - route.fixed;
                if free == 0 {
                    continue;
                }
                let len = per.min(free);
                let start = route.fixed + rng.below(free - len + 1);
                for node in &route.nodes[start..start + len] {
                    pick(node.job as usize, &mut remove, &mut chosen);
                }
            }
        }
        _ => {
            for _ in 0..k {
                let j = assigned_jobs[rng.below(assigned_jobs.len())];
                pick(j, &mut remove, &mut chosen);
            }
        }
    }
    for r in &mut s.routes {
        let fixed = r.fixed;
        let before = r.nodes.len();
        let mut k = 0;
        r.nodes.retain(|n| {
            k += 1;
            k <= fixed || !remove[n.job as usize]
        });
        if r.nodes.len() != before {
            ctx.update(r);
        }
    }
    chosen
}

fn finish(ctx: &Ctx<'_>, s: State, iterations: u64, ms: f64) -> Solution {
    let mut routes = Vec::new();
    let (mut travel, mut distance) = (0, 0);
    for r in &s.routes {
        let v = &ctx.p.vehicles[r.vehicle];
        let (mut loc, mut t) = (v.start as u32, v.shift.0);
        let mut stops = Vec::with_capacity(r.nodes.len());
        let mut dist = 0i64;
        for (k, node) in r.nodes.iter().enumerate() {
            let arrival = t + ctx.t(loc, node.loc);
            dist += i64::from(ctx.m.dist(loc as usize, node.loc as usize));
            let start = arrival.max(node.tw0);
            t = start + node.service;
            loc = node.loc;
            stops.push(PlannedStop {
                job: (node.job != NONE).then_some(node.job as usize),
                delivery: node.delivery,
                location: node.loc as usize,
                arrival,
                start,
                departure: t,
                load: r.load[k],
            });
        }
        let end = v.end.map(|e| e as u32);
        if let Some(e) = end {
            dist += i64::from(ctx.m.dist(loc as usize, e as usize));
        }
        let end_time = t + ctx.t_end(loc, end);
        travel += r.travel;
        distance += dist;
        routes.push(RoutePlan {
            vehicle: r.vehicle,
            stops,
            end_time,
            travel_s: r.travel,
            distance_m: dist,
        });
    }
    let mut unassigned = s.unassigned;
    unassigned.sort_unstable();
    Solution {
        routes,
        unassigned,
        travel_s: travel,
        distance_m: distance,
        iterations,
        ms,
        best_ms: ms,
    }
}

/// Travel seconds of `visits` on `vehicle`, after its fixed waypoints (what a
/// courier's own order of stops costs); `None` if a delivery precedes its pickup.
pub fn route_travel(p: &Problem, vehicle: usize, visits: &[Visit]) -> Option<i64> {
    let v = p.vehicles.get(vehicle)?;
    let mut picked = std::collections::HashSet::new();
    let mut loc = v.start;
    let mut total = 0i64;
    let mut go = |to: usize, total: &mut i64| {
        *total += i64::from(p.matrix.time(loc, to));
        loc = to;
    };
    for t in &v.fixed {
        go(t.location, &mut total);
    }
    for visit in visits {
        let job = p.jobs.get(visit.job)?;
        if matches!(job.kind, JobKind::Shipment { .. }) {
            if visit.delivery && !picked.contains(&visit.job) {
                return None;
            }
            picked.insert(visit.job);
        }
        go(p.task(*visit).location, &mut total);
    }
    if let Some(e) = v.end {
        go(e, &mut total);
    }
    Some(total)
}

/// Checks a solution against every hard rule of its problem; returns what is broken.
/// Used by tests and benchmarks (also on peers' answers).
pub fn check(p: &Problem, s: &Solution) -> Vec<String> {
    let mut problems = Vec::new();
    let mut served = vec![0u8; p.jobs.len()];
    for route in &s.routes {
        let v = &p.vehicles[route.vehicle];
        let (mut loc, mut t) = (v.start, v.shift.0);
        let mut load: Amount = [0; DIMS];
        for st in &route.stops {
            if let Some(j) = st.job
                && matches!(p.jobs[j].kind, JobKind::Delivery { .. })
            {
                for d in 0..DIMS {
                    load[d] += p.jobs[j].amount[d];
                }
            }
        }
        let mut picked = std::collections::HashSet::new();
        let mut fixed_seen = 0;
        for (k, st) in route.stops.iter().enumerate() {
            let (task, delta) = match st.job {
                None => {
                    if k != fixed_seen || k >= v.fixed.len() {
                        problems.push(format!(
                            "vehicle {}: waypoint at stop {k} is not a fixed one",
                            route.vehicle
                        ));
                        continue;
                    }
                    fixed_seen += 1;
                    (v.fixed[k], [0; DIMS])
                }
                Some(j) => {
                    let job = &p.jobs[j];
                    if !p.allowed(j, route.vehicle) {
                        problems.push(format!(
                            "job {j} on vehicle {} it may not use",
                            route.vehicle
                        ));
                    }
                    served[j] += 1;
                    match job.kind {
                        JobKind::Shipment { pickup, delivery } => {
                            if st.delivery {
                                if !picked.contains(&j) {
                                    problems.push(format!("job {j} delivered before its pickup"));
                                }
                                (delivery, job.amount.map(|a| -a))
                            } else {
                                picked.insert(j);
                                (pickup, job.amount)
                            }
                        }
                        JobKind::Delivery { task } => (task, job.amount.map(|a| -a)),
                        JobKind::Pickup { task } => (task, job.amount),
                    }
                }
            };
            let arr = t + i64::from(p.matrix.time(loc, task.location));
            if arr > task.window.1 {
                problems.push(format!(
                    "vehicle {} stop {k}: arrives {arr} after its window closes {}",
                    route.vehicle, task.window.1
                ));
            }
            t = arr.max(task.window.0) + task.service;
            loc = task.location;
            for d in 0..DIMS {
                load[d] += delta[d];
                if load[d] > v.capacity[d] {
                    problems.push(format!(
                        "vehicle {} stop {k}: load {} over capacity {}",
                        route.vehicle, load[d], v.capacity[d]
                    ));
                }
            }
        }
        if fixed_seen != v.fixed.len() {
            problems.push(format!(
                "vehicle {}: fixed stops not kept first",
                route.vehicle
            ));
        }
        let end = t + v.end.map_or(0, |e| i64::from(p.matrix.time(loc, e)));
        if end > v.shift.1 {
            problems.push(format!(
                "vehicle {}: ends at {end} after its shift {}",
                route.vehicle, v.shift.1
            ));
        }
    }
    for (j, job) in p.jobs.iter().enumerate() {
        let want = if matches!(job.kind, JobKind::Shipment { .. }) {
            2
        } else {
            1
        };
        let unassigned = s.unassigned.contains(&j);
        match (served[j], unassigned) {
            (0, true) => {}
            (k, false) if k == want => {}
            (k, _) => problems.push(format!(
                "job {j} visited {k} times (unassigned: {unassigned})"
            )),
        }
    }
    problems
}

#[cfg(test)]
mod tests;

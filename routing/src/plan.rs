//! Routing in the delivery domain: a courier's optimised sequence, ETAs, and
//! the dispatcher's auto-assignment proposal. Pure functions of their inputs
//! (orders, couriers, positions, `now`); travel comes from a [`Travel`] source.
//!
//! Time on the solver's clock is seconds after `now_ms`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::rng::Budget;
use super::roads::{RoadError, RoadGraph};
use super::vrp::{self, Job, JobKind, OPEN, Problem, Task, Visit};
use super::{Matrix, StraightLine};
use app_api::{CarrierType, Priority};
use ruta_domain::fleet::{StopKind, TripStop, Vehicle};
use ruta_domain::geo::ZoneIndex;
use ruta_domain::order::{OrderSpec, SpecError, Stop, TimeWindow};
use ruta_domain::{GeoPoint, OrderId, UserId, ZoneId};

/// Where travel times come from.
#[derive(Clone, Debug)]
pub enum Travel {
    /// Great-circle distance times a detour factor (the default).
    Straight(StraightLine),
    /// Shortest paths on the OSM road graph.
    Roads(Arc<RoadGraph>),
}

impl Travel {
    pub fn matrix(&self, points: &[GeoPoint]) -> Result<Matrix, RoutingError> {
        match self {
            Travel::Straight(s) => Ok(s.matrix(points)),
            Travel::Roads(g) => Ok(g.matrix(points)?),
        }
    }
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RoutingError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Roads(#[from] RoadError),
    #[error(transparent)]
    Problem(#[from] vrp::ProblemError),
}

/// One end of an order as routing sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StopInput {
    pub point: GeoPoint,
    pub window: Option<TimeWindow>,
    pub service_s: u32,
}

/// An order's routing-relevant facts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderLoad {
    pub order: OrderId,
    /// `None` once the parcel is on board (picked up).
    pub pickup: Option<StopInput>,
    pub dropoff: StopInput,
    pub items: u32,
    pub grams: u32,
    pub priority: Priority,
    pub zone: Option<ZoneId>,
    pub carrier: CarrierType,
    /// Cash to collect: prime (contracted) couriers do not handle cash.
    pub cod: bool,
}

/// Default minutes at a stop when the order does not say.
pub const DEFAULT_SERVICE_MIN: u32 = 3;

fn stop_input(name: &str, stop: &Stop) -> Result<StopInput, SpecError> {
    let point = stop.address.point.ok_or_else(|| {
        SpecError::new(
            format!("{name}.address.point"),
            format!(
                "{:?} has no map position: geocode it before routing",
                stop.address.one_line()
            ),
        )
    })?;
    let minutes = if stop.service_minutes == 0 {
        DEFAULT_SERVICE_MIN
    } else {
        stop.service_minutes
    };
    Ok(StopInput {
        point,
        window: stop.window,
        service_s: minutes * 60,
    })
}

impl OrderLoad {
    /// Routing facts from an order's spec; `picked_up` drops the pickup stop.
    pub fn from_spec(
        order: OrderId,
        spec: &OrderSpec,
        picked_up: bool,
        zones: Option<&ZoneIndex>,
    ) -> Result<Self, SpecError> {
        let dropoff = stop_input("dropoff", &spec.dropoff)?;
        let pickup = if picked_up {
            None
        } else {
            Some(stop_input("pickup", &spec.pickup)?)
        };
        let zone = zones.and_then(|z| z.zone_of(dropoff.point)).cloned();
        let items = spec.packages.iter().map(|p| p.count).sum::<u32>().max(1);
        let grams = spec
            .packages
            .iter()
            .map(|p| p.weight_g.saturating_mul(p.count))
            .sum();
        Ok(Self {
            order,
            pickup,
            dropoff,
            items,
            grams,
            priority: spec.urgency(),
            zone,
            carrier: spec.carrier,
            cod: spec.cod_cents > 0,
        })
    }
}

fn priority_weight(p: Priority) -> u32 {
    match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 3,
        Priority::Urgent => 10,
    }
}

/// Converts epoch milliseconds to the solver's clock (seconds after `now`).
fn secs(now_ms: i64, ms: i64) -> i64 {
    (ms - now_ms).div_euclid(1000)
}

/// Builds the solver's task for a stop at matrix index `loc`.
fn task(now_ms: i64, loc: usize, s: &StopInput) -> Task {
    let window = match s.window {
        // A window already closed stays a (failed) constraint: the solver reports it.
        Some(w) => (secs(now_ms, w.start_ms), secs(now_ms, w.end_ms)),
        None => (i64::MIN / 4, OPEN),
    };
    Task {
        location: loc,
        service: i64::from(s.service_s),
        window,
    }
}

/// Collects the distinct points of a request; index 0.. are the starts.
#[derive(Default)]
struct Points {
    points: Vec<GeoPoint>,
}

impl Points {
    fn add(&mut self, p: GeoPoint) -> usize {
        self.points.push(p);
        self.points.len() - 1
    }
}

fn job_for(now_ms: i64, pts: &mut Points, o: &OrderLoad) -> Job {
    let drop = pts.add(o.dropoff.point);
    let kind = match &o.pickup {
        Some(p) => {
            let pick = pts.add(p.point);
            JobKind::Shipment {
                pickup: task(now_ms, pick, p),
                delivery: task(now_ms, drop, &o.dropoff),
            }
        }
        None => JobKind::Delivery {
            task: task(now_ms, drop, &o.dropoff),
        },
    };
    Job {
        kind,
        amount: [i64::from(o.items), i64::from(o.grams)],
        skills: 0,
        priority: priority_weight(o.priority),
        pinned: None,
    }
}

fn capacity(v: &Vehicle) -> vrp::Amount {
    let items = if v.capacity_items == 0 {
        i64::MAX / 8
    } else {
        i64::from(v.capacity_items)
    };
    let grams = if v.capacity_g == 0 {
        i64::MAX / 8
    } else {
        i64::from(v.capacity_g)
    };
    [items, grams]
}

// ---------------------------------------------------------------------------
// The courier's sequence.

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SequenceRequest {
    pub now_ms: i64,
    pub position: GeoPoint,
    pub vehicle: Vehicle,
    /// The courier's open orders (picked-up ones without a pickup stop).
    pub orders: Vec<OrderLoad>,
    /// The stop the courier is doing right now: kept first, never moved.
    pub started: Option<TripStop>,
    /// The courier's current sequence (self-managed order or the last plan), to
    /// start from and to measure the gain against.
    #[serde(default)]
    pub current: Vec<TripStop>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedTripStop {
    pub order: OrderId,
    pub kind: StopKind,
    pub point: GeoPoint,
    pub eta_ms: i64,
    /// When service starts (after waiting for the window to open).
    pub start_ms: i64,
    /// Seconds past the window's end; 0 when on time.
    pub late_s: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SequencePlan {
    pub stops: Vec<PlannedTripStop>,
    pub travel_s: i64,
    pub distance_m: i64,
    pub finish_ms: i64,
    /// Orders that cannot make their window whatever the order of stops.
    pub late: Vec<OrderId>,
    /// Orders that do not fit the vehicle together with the rest.
    pub over_capacity: Vec<OrderId>,
    /// Travel of the `current` sequence, when it was a valid order of these stops.
    pub current_travel_s: Option<i64>,
    /// Seconds of travel saved against `current` (what "suggest" shows).
    pub gain_s: Option<i64>,
}

/// Orders a courier's open stops to minimise travel time, honouring
/// pickup-before-drop-off, time windows, service times and capacity, with the
/// started stop kept first. Orders that cannot be served on time are still
/// sequenced (as early as the others allow) and listed in `late`.
pub fn sequence(
    req: &SequenceRequest,
    travel: &Travel,
    seed: u64,
    budget: Budget,
) -> Result<SequencePlan, RoutingError> {
    let mut pts = Points::default();
    let start = pts.add(req.position);
    // The started stop becomes a fixed waypoint. A started pickup leaves that
    // order's drop-off as goods on board; a started drop-off leaves nothing.
    let mut fixed = Vec::new();
    let mut fixed_stop: Option<(usize, StopKind)> = None;
    let mut jobs = Vec::new();
    let mut job_src = Vec::new(); // job index -> order index
    for (i, o) in req.orders.iter().enumerate() {
        let mut job = job_for(req.now_ms, &mut pts, o);
        if let Some(st) = req.started.as_ref().filter(|st| st.order == o.order) {
            match (st.kind, job.kind) {
                (StopKind::Pickup, JobKind::Shipment { pickup, delivery }) => {
                    fixed.push(pickup);
                    job.kind = JobKind::Delivery { task: delivery };
                    fixed_stop = Some((i, StopKind::Pickup));
                }
                (
                    StopKind::Dropoff,
                    JobKind::Delivery { task } | JobKind::Shipment { delivery: task, .. },
                ) => {
                    fixed.push(task);
                    fixed_stop = Some((i, StopKind::Dropoff));
                    continue;
                }
                _ => {}
            }
        }
        jobs.push(job);
        job_src.push(i);
    }
    let job_of: HashMap<&OrderId, usize> = job_src
        .iter()
        .enumerate()
        .map(|(j, &i)| (&req.orders[i].order, j))
        .collect();
    let matrix = travel.matrix(&pts.points)?;
    let mut problem = Problem {
        matrix,
        vehicles: vec![vrp::Vehicle {
            start,
            end: None,
            shift: (0, OPEN),
            capacity: capacity(&req.vehicle),
            skills: 0,
            fixed,
        }],
        jobs,
        balance_weight: 0,
        warm_start: None,
    };
    let warm = warm_visits(&req.current, &job_of, &problem);
    problem.warm_start = Some(vec![warm.clone()]);

    let mut late = Vec::new();
    let mut over_capacity = Vec::new();
    let mut sol = vrp::solve(&problem, seed, budget)?;
    if !sol.unassigned.is_empty() {
        // Relax the windows of what could not be served on time, then capacity.
        for &j in &sol.unassigned {
            relax_windows(&mut problem.jobs[j]);
            late.push(req.orders[job_src[j]].order.clone());
        }
        sol = vrp::solve(&problem, seed, budget)?;
        if !sol.unassigned.is_empty() {
            for &j in &sol.unassigned {
                let id = &req.orders[job_src[j]].order;
                over_capacity.push(id.clone());
                late.retain(|o| o != id);
            }
            problem.vehicles[0].capacity = [i64::MAX / 8; vrp::DIMS];
            sol = vrp::solve(&problem, seed, budget)?;
        }
    }
    let route = &sol.routes[0];
    let current_travel_s = if warm_is_complete(&warm, &problem) && !req.current.is_empty() {
        vrp::route_travel(&problem, 0, &warm)
    } else {
        None
    };
    let mut stops = Vec::with_capacity(route.stops.len());
    for st in &route.stops {
        let (i, kind) = match st.job {
            Some(j) => (job_src[j], stop_kind(&problem.jobs[j].kind, st.delivery)),
            None => fixed_stop.expect("the only waypoint is the started stop"),
        };
        let o = &req.orders[i];
        let input = match (kind, &o.pickup) {
            (StopKind::Pickup, Some(p)) => p,
            _ => &o.dropoff,
        };
        let start_ms = req.now_ms + st.start * 1000;
        let late_s = input
            .window
            .map_or(0, |w| (start_ms - w.end_ms).max(0) / 1000);
        stops.push(PlannedTripStop {
            order: o.order.clone(),
            kind,
            point: input.point,
            eta_ms: req.now_ms + st.arrival * 1000,
            start_ms,
            late_s,
        });
    }
    // A late order is one that really is late in the plan.
    late.retain(|id| stops.iter().any(|s| &s.order == id && s.late_s > 0));
    Ok(SequencePlan {
        travel_s: route.travel_s,
        distance_m: route.distance_m,
        finish_ms: req.now_ms + route.end_time * 1000,
        gain_s: current_travel_s.map(|c| c - route.travel_s),
        current_travel_s,
        stops,
        late,
        over_capacity,
    })
}

fn stop_kind(kind: &JobKind, delivery: bool) -> StopKind {
    match kind {
        JobKind::Shipment { .. } if !delivery => StopKind::Pickup,
        JobKind::Pickup { .. } => StopKind::Pickup,
        _ => StopKind::Dropoff,
    }
}

fn relax_windows(job: &mut Job) {
    let open = |t: &mut Task| t.window.1 = OPEN;
    match &mut job.kind {
        JobKind::Shipment { pickup, delivery } => {
            open(pickup);
            open(delivery);
        }
        JobKind::Delivery { task } | JobKind::Pickup { task } => open(task),
    }
}

fn warm_visits(
    current: &[TripStop],
    job_of: &HashMap<&OrderId, usize>,
    problem: &Problem,
) -> Vec<Visit> {
    let mut out = Vec::new();
    for st in current {
        let Some(&j) = job_of.get(&st.order) else {
            continue;
        };
        let delivery = match (&problem.jobs[j].kind, st.kind) {
            (JobKind::Shipment { .. }, StopKind::Pickup) => false,
            (JobKind::Shipment { .. }, StopKind::Dropoff) => true,
            (JobKind::Delivery { .. }, StopKind::Dropoff) => false,
            _ => continue,
        };
        let v = Visit { job: j, delivery };
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn warm_is_complete(warm: &[Visit], p: &Problem) -> bool {
    p.jobs.iter().enumerate().all(|(j, job)| match job.kind {
        JobKind::Shipment { .. } => {
            warm.contains(&Visit {
                job: j,
                delivery: false,
            }) && warm.contains(&Visit {
                job: j,
                delivery: true,
            })
        }
        JobKind::Delivery { .. } | JobKind::Pickup { .. } => warm.contains(&Visit {
            job: j,
            delivery: false,
        }),
    })
}

// ---------------------------------------------------------------------------
// ETAs.

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Eta {
    pub eta_ms: i64,
    pub start_ms: i64,
    pub late_s: i64,
}

/// ETAs for stops in the given order from where the courier is now: called
/// again on every position update, so they follow the courier.
pub fn etas(
    now_ms: i64,
    position: GeoPoint,
    stops: &[StopInput],
    travel: &Travel,
) -> Result<Vec<Eta>, RoutingError> {
    let mut points = Vec::with_capacity(stops.len() + 1);
    points.push(position);
    points.extend(stops.iter().map(|s| s.point));
    // Only consecutive legs are needed.
    let mut out = Vec::with_capacity(stops.len());
    let mut t = now_ms;
    for (k, s) in stops.iter().enumerate() {
        let leg = travel.matrix(&[points[k], points[k + 1]])?;
        let arrival = t + i64::from(leg.time(0, 1)) * 1000;
        let start = s.window.map_or(arrival, |w| arrival.max(w.start_ms));
        let late_s = s.window.map_or(0, |w| (start - w.end_ms).max(0) / 1000);
        t = start + i64::from(s.service_s) * 1000;
        out.push(Eta {
            eta_ms: arrival,
            start_ms: start,
            late_s,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Auto-assignment.

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CourierInput {
    pub user: UserId,
    pub position: GeoPoint,
    pub vehicle: Vehicle,
    /// Zones the courier works; empty = everywhere.
    pub home_zones: Vec<ZoneId>,
    pub carrier: CarrierType,
    /// When the courier's shift ends (epoch ms); `None` = open.
    pub shift_end_ms: Option<i64>,
    /// Takes no cash orders now (over the tenant's cash limit until they
    /// hand over), whatever their carrier type.
    #[serde(default)]
    pub no_cash: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssignRequest {
    pub now_ms: i64,
    pub couriers: Vec<CourierInput>,
    /// Orders to place.
    pub orders: Vec<OrderLoad>,
    /// Orders already assigned (by a dispatcher or earlier): they stay with their
    /// courier and count towards the workload.
    pub assigned: Vec<(OrderLoad, UserId)>,
    /// Weight of workload balance against travel seconds (see [`vrp::Problem`]).
    pub balance_weight: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProposedAssignment {
    pub order: OrderId,
    pub courier: UserId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unplaced {
    pub order: OrderId,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    pub courier: UserId,
    /// Orders after the proposal (kept + proposed).
    pub orders: usize,
    pub kept: usize,
    pub stops: usize,
    pub travel_s: i64,
    pub finish_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub assignments: Vec<ProposedAssignment>,
    pub unplaced: Vec<Unplaced>,
    pub workload: Vec<Workload>,
    pub travel_s: i64,
    pub ms: f64,
}

/// Default weight of balance: the route cost grows by `w * orders²`, so moving
/// one order from a courier with `a` orders to one with `b < a` saves
/// `2w(a - b - 1)` seconds: with 300, one order of imbalance is worth 10 minutes
/// of extra travel for the fleet.
pub const DEFAULT_BALANCE_WEIGHT: i64 = 300;

/// Proposes who takes which unassigned order. Nothing is assigned: the
/// dispatcher approves or edits the proposal, then assigns.
pub fn propose_assignment(
    req: &AssignRequest,
    travel: &Travel,
    seed: u64,
    budget: Budget,
) -> Result<Proposal, RoutingError> {
    let mut pts = Points::default();
    let starts: Vec<usize> = req.couriers.iter().map(|c| pts.add(c.position)).collect();
    // Zones as skill bits (up to 62 distinct zones; beyond that, zones are not enforced).
    let mut zone_bits: BTreeMap<&ZoneId, u64> = BTreeMap::new();
    for z in req
        .orders
        .iter()
        .chain(req.assigned.iter().map(|(o, _)| o))
        .filter_map(|o| o.zone.as_ref())
    {
        let next = zone_bits.len();
        if next < 62 {
            zone_bits.entry(z).or_insert(1 << next);
        }
    }
    const CASH: u64 = 1 << 63;
    let all_zones: u64 = zone_bits.values().fold(0, |a, b| a | b);
    let courier_skills: Vec<u64> = req
        .couriers
        .iter()
        .map(|c| {
            let zones = if c.home_zones.is_empty() {
                all_zones
            } else {
                c.home_zones
                    .iter()
                    .filter_map(|z| zone_bits.get(z))
                    .fold(0, |a, b| a | b)
            };
            zones
                | if c.carrier == CarrierType::Prime || c.no_cash {
                    0
                } else {
                    CASH
                }
        })
        .collect();
    let mut unplaced = Vec::new();
    let mut jobs = Vec::new();
    let mut job_order: Vec<(OrderId, bool)> = Vec::new(); // (order, kept)
    for o in &req.orders {
        if o.carrier == CarrierType::External {
            unplaced.push(Unplaced {
                order: o.order.clone(),
                reason: "carried by an external carrier: not assigned to couriers".into(),
            });
            continue;
        }
        let mut job = job_for(req.now_ms, &mut pts, o);
        job.skills = o
            .zone
            .as_ref()
            .and_then(|z| zone_bits.get(z))
            .copied()
            .unwrap_or(0)
            | if o.cod { CASH } else { 0 };
        jobs.push(job);
        job_order.push((o.order.clone(), false));
    }
    let courier_index: HashMap<&UserId, usize> = req
        .couriers
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.user, i))
        .collect();
    for (o, who) in &req.assigned {
        let Some(&v) = courier_index.get(who) else {
            continue;
        };
        let mut job = job_for(req.now_ms, &mut pts, o);
        job.pinned = Some(v);
        // A kept assignment is the dispatcher's decision: no skill checks.
        job.skills = 0;
        // Kept jobs must stay served even when late: open their windows.
        relax_windows(&mut job);
        job.priority = 100;
        jobs.push(job);
        job_order.push((o.order.clone(), true));
    }
    let matrix = travel.matrix(&pts.points)?;
    let vehicles = req
        .couriers
        .iter()
        .enumerate()
        .map(|(i, c)| vrp::Vehicle {
            start: starts[i],
            end: None,
            shift: (0, c.shift_end_ms.map_or(OPEN, |e| secs(req.now_ms, e))),
            capacity: capacity(&c.vehicle),
            skills: courier_skills[i],
            fixed: vec![],
        })
        .collect();
    let problem = Problem {
        matrix,
        vehicles,
        jobs,
        balance_weight: req.balance_weight,
        warm_start: None,
    };
    let sol = vrp::solve(&problem, seed, budget)?;
    let mut assignments = Vec::new();
    let mut workload = Vec::new();
    for r in &sol.routes {
        let c = &req.couriers[r.vehicle];
        let mut orders = 0;
        let mut kept = 0;
        for st in &r.stops {
            let Some(j) = st.job else { continue };
            let first_visit = !st.delivery;
            if !first_visit {
                continue;
            }
            orders += 1;
            let (id, was_kept) = &job_order[j];
            if *was_kept {
                kept += 1;
            } else {
                assignments.push(ProposedAssignment {
                    order: id.clone(),
                    courier: c.user.clone(),
                });
            }
        }
        workload.push(Workload {
            courier: c.user.clone(),
            orders,
            kept,
            stops: r.stops.len(),
            travel_s: r.travel_s,
            finish_ms: req.now_ms + r.end_time * 1000,
        });
    }
    for &j in &sol.unassigned {
        let (id, _) = &job_order[j];
        let reason = explain_unplaced(&problem, j);
        unplaced.push(Unplaced {
            order: id.clone(),
            reason,
        });
    }
    Ok(Proposal {
        assignments,
        unplaced,
        workload,
        travel_s: sol.travel_s,
        ms: sol.ms,
    })
}

fn explain_unplaced(p: &Problem, j: usize) -> String {
    let job = &p.jobs[j];
    let fits: Vec<_> = p
        .vehicles
        .iter()
        .filter(|v| {
            job.amount
                .iter()
                .zip(v.capacity.iter())
                .all(|(a, c)| a <= c)
        })
        .collect();
    if fits.is_empty() {
        return "too large for every available vehicle".into();
    }
    if !fits.iter().any(|v| job.skills & !v.skills == 0) {
        return "no available courier works this zone (or handles cash)".into();
    }
    "no courier can make its time window with their other work".into()
}

#[cfg(test)]
mod tests;

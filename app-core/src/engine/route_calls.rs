//! The routing requests: [`Request::PlanRoute`], [`Request::ProposeAssignment`]
//! and [`Request::RoutePath`]. Data is gathered under the store lock; solving
//! runs without it, so a long proposal never blocks other calls.
//!
//! [`Request::PlanRoute`]: app_api::Request::PlanRoute
//! [`Request::ProposeAssignment`]: app_api::Request::ProposeAssignment
//! [`Request::RoutePath`]: app_api::Request::RoutePath

use std::sync::Arc;

use app_api::{
    ApiError, AssignmentProposal, AssignmentWarning, AssignmentWarningKind, CourierWorkload,
    OrderQuery, OrderSummary, PlanRouteRequest, PlannedStop, Point, ProposeAssignmentRequest,
    ProposedAssignment, RoutePath, RoutePlan, StopRef, Unplanned,
};

use super::{Core, storage};
use crate::domain::fleet::{StopKind, TripStop, Vehicle, VehicleKind};
use crate::domain::{GeoPoint, OrderId, UserId, ZoneId};
use crate::routing::plan::{
    self, AssignRequest, CourierInput, OrderLoad, SequenceRequest, StopInput, Travel,
};
use crate::routing::roads::RoadGraph;
use crate::routing::{Budget, StraightLine};
use ruta_model::policy::Call;

/// A courier's sequence: a phone must answer at once (a few dozen stops).
pub(super) const SEQUENCE_BUDGET: Budget = Budget {
    time_limit_ms: 300,
    max_iterations: 3_000,
};
/// A fleet proposal: the dispatcher waits a moment for it.
const ASSIGN_BUDGET: Budget = Budget {
    time_limit_ms: 2_000,
    max_iterations: 20_000,
};

fn gp(p: Point) -> GeoPoint {
    GeoPoint {
        lat: p.lat,
        lon: p.lon,
    }
}

fn pt(p: GeoPoint) -> Point {
    Point {
        lat: p.lat,
        lon: p.lon,
    }
}

fn kind_in(k: app_api::StopKind) -> StopKind {
    match k {
        app_api::StopKind::Pickup => StopKind::Pickup,
        app_api::StopKind::Dropoff => StopKind::Dropoff,
    }
}

fn kind_out(k: StopKind) -> app_api::StopKind {
    match k {
        StopKind::Pickup => app_api::StopKind::Pickup,
        StopKind::Dropoff => app_api::StopKind::Dropoff,
    }
}

fn trip_stop(s: &StopRef) -> TripStop {
    TripStop {
        order: OrderId::new(&s.order_id),
        kind: kind_in(s.kind),
    }
}

pub(super) fn vehicle_kind(t: app_api::config::VehicleType) -> VehicleKind {
    use app_api::config::VehicleType as T;
    match t {
        T::OnFoot => VehicleKind::OnFoot,
        T::Bicycle => VehicleKind::Bicycle,
        T::CargoBike => VehicleKind::CargoBike,
        T::Scooter => VehicleKind::Scooter,
        T::Car => VehicleKind::Car,
        T::Van => VehicleKind::Van,
    }
}

fn routing_error(e: plan::RoutingError) -> ApiError {
    match e {
        plan::RoutingError::Spec(s) => ApiError::Invalid {
            field: s.field,
            message: s.message,
        },
        other => ApiError::Invalid {
            field: "route".into(),
            message: other.to_string(),
        },
    }
}

/// An order as routing sees it, with what the UI shows.
pub(super) struct Loaded {
    pub(super) load: OrderLoad,
    reference: String,
    pickup_address: String,
    dropoff_address: String,
}

impl Core {
    /// Uses this road graph for travel times (else straight lines with a detour factor).
    pub fn set_road_graph(&self, graph: Option<Arc<RoadGraph>>) {
        *self.roads.lock().unwrap_or_else(|p| p.into_inner()) = graph;
    }

    /// Loads the road graph named by `RUTA_OSM_PBF` (an `.osm.pbf` extract;
    /// profile from `RUTA_ROUTING_PROFILE`: car, bicycle or foot, default car).
    /// Shells call this at start; without the variable routing uses straight lines.
    pub fn load_road_graph_from_env(&self) -> Result<Option<String>, String> {
        let Some(path) = std::env::var_os("RUTA_OSM_PBF") else {
            return Ok(None);
        };
        self.load_road_graph(std::path::Path::new(&path)).map(Some)
    }

    /// Loads the road network from an OSM PBF extract (profile from
    /// `RUTA_ROUTING_PROFILE`, car by default); a summary of the graph.
    pub fn load_road_graph(&self, path: &std::path::Path) -> Result<String, String> {
        let profile = match std::env::var("RUTA_ROUTING_PROFILE").as_deref() {
            Ok("bicycle") => crate::routing::roads::Profile::Bicycle,
            Ok("foot") => crate::routing::roads::Profile::Foot,
            Ok("car") | Err(_) => crate::routing::roads::Profile::Car,
            Ok(other) => {
                return Err(format!(
                    "RUTA_ROUTING_PROFILE={other:?}: use car, bicycle or foot"
                ));
            }
        };
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let graph =
            RoadGraph::from_pbf(&bytes, profile).map_err(|e| format!("{}: {e}", path.display()))?;
        // Addresses come from the same extract: searched offline as people type.
        let index = crate::geocode::AddressIndex::from_pbf(&bytes)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let summary = format!(
            "{} nodes, {} edges ({profile:?}); {} addresses on {} streets, {} places",
            graph.node_count(),
            graph.edge_count(),
            index.stats().addresses,
            index.stats().streets,
            index.stats().places
        );
        self.set_road_graph(Some(Arc::new(graph)));
        self.set_address_index(Some(Arc::new(index)));
        Ok(summary)
    }

    /// How travel is timed: the road graph where one is loaded (its own
    /// profile), else the straight line at `kind`'s speed.
    pub(super) fn travel(&self, kind: VehicleKind) -> (Travel, String) {
        match self.roads.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            Some(g) => {
                let model = format!("roads:{}", crate::store::enum_str(&g.profile()));
                (Travel::Roads(g), model)
            }
            None => (
                Travel::Straight(StraightLine::for_vehicle(kind)),
                "straight_line".into(),
            ),
        }
    }

    /// The vehicle a courier is planned with: the one their profile names in
    /// the tenant's configuration (its type and capacity), else a bicycle
    /// carrying `fallback_items` parcels (0: no limit).
    pub(super) fn vehicle_for(&self, courier: &str, fallback_items: u32) -> Vehicle {
        match self.tenant_config().vehicle_of(courier) {
            Some(v) => Vehicle {
                kind: vehicle_kind(v.kind),
                capacity_items: v.capacity_items,
                capacity_g: v.capacity_kg.saturating_mul(1000),
            },
            None => Vehicle {
                kind: VehicleKind::Bicycle,
                capacity_items: fallback_items,
                capacity_g: 0,
            },
        }
    }

    /// Every order matching `q`, across pages.
    pub(super) fn all_orders(&self, mut q: OrderQuery) -> Result<Vec<OrderSummary>, ApiError> {
        q.limit = 1000;
        q.offset = 0;
        let mut out = Vec::new();
        loop {
            let (page, _) = self.lock().store.query_orders(&q).map_err(storage)?;
            let n = page.len() as u64;
            out.extend(page);
            if n < q.limit {
                return Ok(out);
            }
            q.offset += n;
        }
    }

    /// Loads routing facts; orders that cannot be routed go to `unplanned`.
    pub(super) fn load_orders(
        &self,
        orders: &[OrderSummary],
        unplanned: &mut Vec<Unplanned>,
    ) -> Result<Vec<Loaded>, ApiError> {
        let zones = self.lock().zones.clone();
        let mut out = Vec::with_capacity(orders.len());
        for o in orders {
            let id = OrderId::new(&o.id);
            let state = self.order_state(&id)?;
            // The current leg: staged at a hub, the last leg starts there.
            let Some(spec) = state.leg_spec() else {
                unplanned.push(Unplanned {
                    order_id: o.id.clone(),
                    reason: "the order's details have not arrived yet".into(),
                });
                continue;
            };
            let picked_up =
                crate::lifecycle::Work::of(state.status) == crate::lifecycle::Work::OnBoard;
            match OrderLoad::from_spec(id, &spec, picked_up, Some(&zones)) {
                Ok(load) => out.push(Loaded {
                    load,
                    reference: o.reference.clone(),
                    pickup_address: o.pickup_address.clone(),
                    dropoff_address: o.dropoff_address.clone(),
                }),
                Err(e) => unplanned.push(Unplanned {
                    order_id: o.id.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        Ok(out)
    }

    pub(super) fn plan_route(&self, req: PlanRouteRequest) -> Result<RoutePlan, ApiError> {
        let session = self.lock().session.clone();
        super::allow(
            &session,
            Call::PlanRoute {
                courier: &req.courier,
            },
        )?;
        if req.courier.trim().is_empty() {
            return Err(ApiError::Invalid {
                field: "courier".into(),
                message: "name the courier whose stops to plan".into(),
            });
        }
        let orders = self.all_orders(OrderQuery {
            statuses: crate::lifecycle::Work::open_statuses(),
            assignee: Some(req.courier.clone()),
            ..Default::default()
        })?;
        let mut unplanned = Vec::new();
        let loaded = self.load_orders(&orders, &mut unplanned)?;
        let vehicle = self.vehicle_for(&req.courier, req.capacity_items);
        let (travel, travel_model) = self.travel(vehicle.kind);
        let now_ms = self.clock.now_ms();
        let by_id = |id: &OrderId| loaded.iter().find(|l| &l.load.order == id);
        let position = gp(req.position);
        if !(position.lat.is_finite()
            && position.lon.is_finite()
            && position.lat.abs() <= 90.0
            && position.lon.abs() <= 180.0)
        {
            return Err(ApiError::Invalid {
                field: "position".into(),
                message: "not a WGS84 position".into(),
            });
        }

        let plan = if req.optimise {
            let seq = SequenceRequest {
                now_ms,
                position,
                vehicle,
                orders: loaded.iter().map(|l| l.load.clone()).collect(),
                started: req.started.as_ref().map(trip_stop),
                current: req.current.iter().map(trip_stop).collect(),
            };
            plan::sequence(&seq, &travel, 1, SEQUENCE_BUDGET).map_err(routing_error)?
        } else {
            // Keep the courier's order; stops they did not list go at the end.
            let mut order: Vec<TripStop> = req.current.iter().map(trip_stop).collect();
            for l in &loaded {
                for kind in [StopKind::Pickup, StopKind::Dropoff] {
                    let needed = kind == StopKind::Dropoff || l.load.pickup.is_some();
                    let ts = TripStop {
                        order: l.load.order.clone(),
                        kind,
                    };
                    if needed && !order.contains(&ts) {
                        order.push(ts);
                    }
                }
            }
            order.retain(|ts| {
                by_id(&ts.order)
                    .is_some_and(|l| ts.kind == StopKind::Dropoff || l.load.pickup.is_some())
            });
            let inputs: Vec<StopInput> = order
                .iter()
                .map(|ts| {
                    let l = by_id(&ts.order).expect("kept above");
                    match (ts.kind, &l.load.pickup) {
                        (StopKind::Pickup, Some(p)) => p.clone(),
                        _ => l.load.dropoff.clone(),
                    }
                })
                .collect();
            let etas = plan::etas(now_ms, position, &inputs, &travel).map_err(routing_error)?;
            let stops: Vec<plan::PlannedTripStop> = order
                .iter()
                .zip(inputs.iter().zip(etas.iter()))
                .map(|(ts, (input, eta))| plan::PlannedTripStop {
                    order: ts.order.clone(),
                    kind: ts.kind,
                    point: input.point,
                    eta_ms: eta.eta_ms,
                    start_ms: eta.start_ms,
                    late_s: eta.late_s,
                })
                .collect();
            let finish_ms = etas.last().map_or(now_ms, |e| e.start_ms)
                + inputs.last().map_or(0, |s| i64::from(s.service_s) * 1000);
            let late = stops
                .iter()
                .filter(|s| s.late_s > 0)
                .map(|s| s.order.clone())
                .collect();
            plan::SequencePlan {
                travel_s: 0,
                distance_m: 0,
                finish_ms,
                late,
                over_capacity: vec![],
                current_travel_s: None,
                gain_s: None,
                stops,
            }
        };
        // The drop-off ETAs are what the table judges late risk by.
        let etas: Vec<(String, i64)> = plan
            .stops
            .iter()
            .filter(|s| s.kind == StopKind::Dropoff)
            .map(|s| (s.order.to_string(), s.eta_ms))
            .collect();
        {
            let mut inner = self.lock();
            let tx = inner.store.write().map_err(storage)?;
            tx.set_plan_etas(&req.courier, &etas, now_ms)
                .map_err(storage)?;
            tx.commit().map_err(storage)?;
        }
        let stops = plan
            .stops
            .iter()
            .map(|s| {
                let l = by_id(&s.order);
                PlannedStop {
                    order_id: s.order.to_string(),
                    reference: l.map(|l| l.reference.clone()).unwrap_or_default(),
                    kind: kind_out(s.kind),
                    address: l
                        .map(|l| {
                            if s.kind == StopKind::Pickup {
                                l.pickup_address.clone()
                            } else {
                                l.dropoff_address.clone()
                            }
                        })
                        .unwrap_or_default(),
                    point: pt(s.point),
                    eta_ms: s.eta_ms,
                    start_ms: s.start_ms,
                    late_s: s.late_s,
                }
            })
            .collect();
        Ok(RoutePlan {
            stops,
            travel_s: plan.travel_s,
            distance_m: plan.distance_m,
            finish_ms: plan.finish_ms,
            late: plan.late.iter().map(|o| o.to_string()).collect(),
            over_capacity: plan.over_capacity.iter().map(|o| o.to_string()).collect(),
            unplanned,
            current_travel_s: plan.current_travel_s,
            gain_s: plan.gain_s,
            travel_model,
        })
    }

    pub(super) fn propose_assignment(
        &self,
        req: ProposeAssignmentRequest,
    ) -> Result<AssignmentProposal, ApiError> {
        super::allow(&self.lock().session, Call::ProposeAssignment)?;
        if req.couriers.is_empty() {
            return Err(ApiError::Invalid {
                field: "couriers".into(),
                message: "no courier is available: nobody to assign to".into(),
            });
        }
        let open = self.all_orders(OrderQuery {
            statuses: crate::lifecycle::Work::unassigned_statuses(),
            assignee: Some("-".into()),
            ..Default::default()
        })?;
        let mut unplaced = Vec::new();
        let todo = self.load_orders(&open, &mut unplaced)?;
        let mut kept = Vec::new();
        for c in &req.couriers {
            let theirs = self.all_orders(OrderQuery {
                statuses: crate::lifecycle::Work::open_statuses(),
                assignee: Some(c.user.clone()),
                ..Default::default()
            })?;
            let mut ignore = Vec::new();
            for l in self.load_orders(&theirs, &mut ignore)? {
                kept.push((l, UserId::new(&c.user)));
            }
        }
        let (travel, travel_model) = self.travel(VehicleKind::Bicycle);
        let config = self.tenant_config();
        let over_cash_limit = self.couriers_over_cash_limit();
        let request = AssignRequest {
            now_ms: self.clock.now_ms(),
            couriers: req
                .couriers
                .iter()
                .map(|c| {
                    // The courier's profile, where the tenant keeps one, says
                    // what they drive, where they work and what they carry.
                    let profile = config.courier(&c.user);
                    let home_zones = match profile {
                        Some(p) if !p.home_zones.is_empty() => p.home_zones.clone(),
                        _ => c.home_zones.clone(),
                    };
                    CourierInput {
                        user: UserId::new(&c.user),
                        position: gp(c.position),
                        vehicle: self.vehicle_for(&c.user, c.capacity_items),
                        home_zones: home_zones.iter().map(ZoneId::new).collect(),
                        carrier: profile.map_or(c.carrier, |p| p.carrier),
                        shift_end_ms: c.shift_end_ms,
                        no_cash: over_cash_limit.contains(&c.user),
                    }
                })
                .collect(),
            orders: todo.iter().map(|l| l.load.clone()).collect(),
            assigned: kept
                .iter()
                .map(|(l, u)| (l.load.clone(), u.clone()))
                .collect(),
            balance_weight: req.balance_weight.unwrap_or(plan::DEFAULT_BALANCE_WEIGHT),
        };
        let p =
            plan::propose_assignment(&request, &travel, 1, ASSIGN_BUDGET).map_err(routing_error)?;
        let reference = |id: &OrderId| {
            todo.iter()
                .find(|l| &l.load.order == id)
                .map(|l| l.reference.clone())
                .unwrap_or_default()
        };
        Ok(AssignmentProposal {
            assignments: p
                .assignments
                .iter()
                .map(|a| ProposedAssignment {
                    order_id: a.order.to_string(),
                    reference: reference(&a.order),
                    courier: a.courier.to_string(),
                })
                .collect(),
            unplaced: unplaced
                .into_iter()
                .chain(p.unplaced.iter().map(|u| Unplanned {
                    order_id: u.order.to_string(),
                    reason: u.reason.clone(),
                }))
                .collect(),
            workload: p
                .workload
                .iter()
                .map(|w| CourierWorkload {
                    courier: w.courier.to_string(),
                    orders: w.orders,
                    kept: w.kept,
                    stops: w.stops,
                    travel_s: w.travel_s,
                    finish_ms: w.finish_ms,
                })
                .collect(),
            travel_s: p.travel_s,
            ms: p.ms,
            travel_model,
        })
    }

    /// What speaks against giving `order_ids` to `courier`, from the
    /// courier's profile in the tenant's configuration (a courier without one
    /// gets no warnings: nothing is known against them).
    pub(super) fn assignment_warnings(
        &self,
        order_ids: &[String],
        courier: &str,
    ) -> Result<Vec<AssignmentWarning>, ApiError> {
        super::allow(&self.lock().session, Call::ProposeAssignment)?;
        let config = self.tenant_config();
        let Some(profile) = config.courier(courier) else {
            return Ok(Vec::new());
        };
        let who = self
            .courier_directory()
            .into_iter()
            .find(|c| c.user == courier)
            .map(|c| c.name)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| courier.to_owned());
        let zone_name = |id: &str| {
            config
                .zones
                .iter()
                .find(|z| z.id == id)
                .map_or_else(|| id.to_owned(), |z| z.name.clone())
        };
        let mut out = Vec::new();
        let mut selected = Vec::with_capacity(order_ids.len());
        for id in order_ids {
            let summary = self.summary(&OrderId::new(id))?;
            let state = self.order_state(&OrderId::new(id))?;
            selected.push((summary, state));
        }
        let cash = self
            .cash_ledger(Some(courier.to_owned()))
            .ok()
            .map(|l| l.position)
            .filter(|p| p.over_limit);
        for (o, _) in &selected {
            if o.cod_cents > 0
                && let Some(p) = &cash
            {
                let money = |c: i64| crate::documents::format_money(c, &config.tariff.currency);
                out.push(AssignmentWarning {
                    order_id: o.id.clone(),
                    reference: o.reference.clone(),
                    kind: AssignmentWarningKind::Cash,
                    message: format!(
                        "{} collects {} cash on delivery; {who} already holds {}, over the limit of {}: a hand-over first",
                        o.reference,
                        money(o.cod_cents),
                        money(p.outstanding_cents),
                        money(p.limit_cents.unwrap_or(0))
                    ),
                });
            }
            if !profile.home_zones.is_empty()
                && !o
                    .zone
                    .as_ref()
                    .is_some_and(|z| profile.home_zones.contains(z))
            {
                let homes: Vec<String> = profile.home_zones.iter().map(|z| zone_name(z)).collect();
                out.push(AssignmentWarning {
                    order_id: o.id.clone(),
                    reference: o.reference.clone(),
                    kind: AssignmentWarningKind::OutOfZone,
                    message: format!(
                        "{} is {}; {who} works {}",
                        o.reference,
                        o.zone.as_deref().map_or_else(
                            || "in no zone".to_owned(),
                            |z| format!("in {}", zone_name(z))
                        ),
                        homes.join(", ")
                    ),
                });
            }
            if o.cod_cents > 0 && !profile.handles_cash {
                out.push(AssignmentWarning {
                    order_id: o.id.clone(),
                    reference: o.reference.clone(),
                    kind: AssignmentWarningKind::Cash,
                    message: format!(
                        "{} collects {} cash on delivery; {who} does not handle cash",
                        o.reference,
                        crate::documents::format_money(o.cod_cents, &config.tariff.currency)
                    ),
                });
            }
        }
        if let Some(v) = config.vehicle_of(courier) {
            let theirs = self.all_orders(OrderQuery {
                statuses: crate::lifecycle::Work::open_statuses(),
                assignee: Some(courier.to_owned()),
                ..Default::default()
            })?;
            let mut items = 0u64;
            let mut grams = 0u64;
            let mut add = |state: &crate::lifecycle::OrderState| {
                if let Some(spec) = &state.spec {
                    let (i, g) = spec.load();
                    items += u64::from(i);
                    grams += u64::from(g);
                }
            };
            for o in theirs.iter().filter(|o| !order_ids.contains(&o.id)) {
                add(&self.order_state(&OrderId::new(&o.id))?);
            }
            for (_, state) in &selected {
                add(state);
            }
            let over_items = v.capacity_items > 0 && items > u64::from(v.capacity_items);
            let over_kg = v.capacity_kg > 0 && grams > u64::from(v.capacity_kg) * 1000;
            if over_items || over_kg {
                out.push(AssignmentWarning {
                    order_id: String::new(),
                    reference: String::new(),
                    kind: AssignmentWarningKind::OverCapacity,
                    message: if over_items {
                        format!(
                            "{who} would carry {items} parcels; {} takes {}",
                            v.name, v.capacity_items
                        )
                    } else {
                        format!(
                            "{who} would carry {} kg; {} takes {} kg",
                            grams.div_ceil(1000),
                            v.name,
                            v.capacity_kg
                        )
                    },
                });
            }
        }
        Ok(out)
    }

    pub(super) fn route_path(&self, points: Vec<Point>) -> Result<RoutePath, ApiError> {
        if points.len() < 2 {
            return Err(ApiError::Invalid {
                field: "points".into(),
                message: "a path needs at least two points".into(),
            });
        }
        let (travel, travel_model) = self.travel(VehicleKind::Bicycle);
        let mut out = vec![points[0]];
        let (mut distance_m, mut duration_s) = (0i64, 0i64);
        for w in points.windows(2) {
            match &travel {
                Travel::Roads(g) => {
                    let path = g
                        .path(gp(w[0]), gp(w[1]))
                        .map_err(|e| routing_error(e.into()))?;
                    out.extend(path.points.iter().map(|p| pt(*p)));
                    distance_m += i64::from(path.distance_m);
                    duration_s += i64::from(path.duration_s);
                }
                Travel::Straight(s) => {
                    let (m, sec) = s.leg(gp(w[0]), gp(w[1]));
                    out.push(w[1]);
                    distance_m += i64::from(m);
                    duration_s += i64::from(sec);
                }
            }
        }
        Ok(RoutePath {
            points: out,
            distance_m,
            duration_s,
            travel_model,
        })
    }
}

#[cfg(test)]
mod tests;

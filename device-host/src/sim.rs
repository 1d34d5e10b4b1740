//! The demo's simulated shift, run inside a served device (`ruta-device
//! serve --simulate N`): the device acts as its signed-in user would, through
//! the same command API the UI calls, so everything it does syncs through the
//! server and shows live on every other device.
//!
//! - an **admin** device applies the demo configuration once (zones, a hub,
//!   vehicles, courier profiles, tariff, services) when the tenant has none;
//! - a **dispatcher** device assigns unassigned orders by the auto-assignment
//!   proposal, keeping each courier's queue short;
//! - a **courier** device accepts, sequences its stops, drives to each along
//!   the road graph (straight lines without one) at its vehicle's speed times
//!   N, streaming its position, picks up, and delivers with a signature —
//!   sometimes failing an attempt, sometimes losing its connection for a
//!   while;
//! - a **client** device creates an order now and then.
//!
//! Randomness is a fixed-seed generator per device, so a run is repeatable.

use std::time::Duration;

use app_core::Core;
use app_core::api::config::ConfigChange;
use app_core::api::{
    Action, Availability, Beacon, CapturePodRequest, CourierAvailability, DeliveryStatus, NewOrder,
    OrderQuery, OrderSummary, PlanRouteRequest, Point, ProposeAssignmentRequest, Request, Response,
    Role, SignatureInput, StopKind, StrokePoint, WorkMode,
};

/// How often the simulation moves, in real time.
const TICK: Duration = Duration::from_millis(1000);
/// Orders a dispatcher keeps in one courier's queue.
const QUEUE: usize = 6;

/// A small, fast, repeatable generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: &str) -> Self {
        let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
        for b in seed.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        Self(h | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// True one time in `n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
}

fn call(core: &Core, request: Request) -> Option<Response> {
    match core.execute(request) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::debug!(error = %e, "simulation: request refused");
            None
        }
    }
}

/// Runs the simulation for the signed-in user until the process ends.
/// `speed` multiplies how fast couriers move and how often things happen.
pub async fn run(core: Core, account: sync_client::Account, speed: f64) {
    let speed = speed.clamp(0.1, 1000.0);
    // Wait for someone to be signed in (the demo signs devices in first).
    let (user, role) = loop {
        if let Some(s) = core.session() {
            break s;
        }
        tokio::time::sleep(TICK).await;
    };
    tracing::info!(%user, ?role, speed, "simulated shift starts");
    let mut rng = Rng::new(&format!("{user}{}", core.device_id()));
    match role {
        Role::Admin => configure(&core).await,
        Role::Dispatcher => dispatch(&core, speed).await,
        Role::Courier => drive(&core, &account, user, speed, &mut rng).await,
        Role::Client => order_now_and_then(&core, speed, &mut rng).await,
    }
}

/// Once someone signs in: if an admin, [`configure`].
pub async fn configure_if_admin(core: Core) {
    loop {
        match core.session() {
            Some((_, Role::Admin)) => return configure(&core).await,
            Some(_) => return,
            None => tokio::time::sleep(TICK).await,
        }
    }
}

/// Applies the demo configuration once the tenant's documents have arrived,
/// if nobody configured the tenant yet.
pub async fn configure(core: &Core) {
    loop {
        if let Some(Response::TenantConfig(v)) = call(core, Request::TenantConfig)
            && v.synced
        {
            if v.history.is_empty() {
                let changes: Vec<ConfigChange> = app_core::demo::configuration();
                let n = changes.len();
                for change in changes {
                    call(core, Request::ChangeConfig(change));
                }
                tracing::info!(changes = n, "demo configuration applied");
            }
            return;
        }
        tokio::time::sleep(TICK).await;
    }
}

fn orders(core: &Core, query: OrderQuery) -> Vec<OrderSummary> {
    match call(
        core,
        Request::ListOrders(OrderQuery {
            limit: 1000,
            ..query
        }),
    ) {
        Some(Response::Orders { orders, .. }) => orders,
        _ => Vec::new(),
    }
}

/// Where a courier without a position yet is taken to be: the hub their
/// profile names, else central Helsinki.
fn start_of(core: &Core, courier: &str) -> Point {
    let config = core.tenant_config();
    config
        .courier(courier)
        .and_then(|c| c.shift_start.as_deref())
        .and_then(|w| config.warehouse(w))
        .map(|w| w.position)
        .unwrap_or(Point {
            lat: 60.1699,
            lon: 24.9384,
        })
}

async fn dispatch(core: &Core, speed: f64) {
    let every = Duration::from_secs_f64((20.0 / speed).clamp(1.0, 20.0));
    loop {
        tokio::time::sleep(every).await;
        let Some(Response::Fleet(board)) = call(core, Request::Fleet) else {
            continue;
        };
        let couriers: Vec<CourierAvailability> = board
            .couriers
            .iter()
            .filter(|c| c.known && c.availability != Availability::OnBreak)
            .filter(|c| ((c.assigned + c.on_board) as usize) < QUEUE)
            .map(|c| CourierAvailability {
                user: c.user.clone(),
                position: c.position.unwrap_or_else(|| start_of(core, &c.user)),
                capacity_items: 0,
                home_zones: vec![],
                carrier: Default::default(),
                shift_end_ms: None,
            })
            .collect();
        if couriers.is_empty() || board.unassigned == 0 {
            continue;
        }
        let room: std::collections::HashMap<String, usize> = board
            .couriers
            .iter()
            .map(|c| {
                (
                    c.user.clone(),
                    QUEUE.saturating_sub((c.assigned + c.on_board) as usize),
                )
            })
            .collect();
        let Some(Response::AssignmentProposal(p)) = call(
            core,
            Request::ProposeAssignment(ProposeAssignmentRequest {
                couriers,
                balance_weight: None,
            }),
        ) else {
            continue;
        };
        let mut given: std::collections::HashMap<String, usize> = Default::default();
        for a in p.assignments {
            let n = given.entry(a.courier.clone()).or_default();
            if *n >= room.get(&a.courier).copied().unwrap_or(0) {
                continue;
            }
            *n += 1;
            call(
                core,
                Request::Act {
                    order_id: a.order_id,
                    action: Action::Assign { courier: a.courier },
                },
            );
        }
    }
}

fn beacon(core: &Core, at: Point, availability: Availability) {
    call(
        core,
        Request::ReportBeacon(Beacon {
            point: Some(at),
            at_ms: app_core::clock::Clock::now_ms(&app_core::clock::SystemClock),
            accuracy_m: Some(8.0),
            availability: Some(availability),
            work_mode: Some(WorkMode::SystemOptimised),
        }),
    );
}

/// A recipient's scribble.
fn signature(rng: &mut Rng) -> SignatureInput {
    let wobble = (rng.next() % 20) as f32;
    let stroke = |y0: f32, t0: u32| {
        (0..30)
            .map(|i| StrokePoint {
                x: 20.0 + i as f32 * 12.0,
                y: y0 + (i as f32 * 0.5 + wobble).sin() * 25.0,
                t_ms: t0 + i * 15,
            })
            .collect()
    };
    SignatureInput {
        width: 400.0,
        height: 200.0,
        strokes: vec![stroke(80.0, 0), stroke(130.0, 600)],
    }
}

fn distance_m(a: Point, b: Point) -> f64 {
    app_core::domain::geo::haversine_m(a.lat, a.lon, b.lat, b.lon)
}

/// `a` moved `d` metres towards `b`.
fn towards(a: Point, b: Point, d: f64) -> Point {
    let full = distance_m(a, b);
    if full <= d || full == 0.0 {
        return b;
    }
    let f = d / full;
    Point {
        lat: a.lat + (b.lat - a.lat) * f,
        lon: a.lon + (b.lon - a.lon) * f,
    }
}

async fn drive(core: &Core, account: &sync_client::Account, me: String, speed: f64, rng: &mut Rng) {
    let vehicle = core.tenant_config().vehicle_of(&me).map(|v| v.kind);
    let mps = match vehicle {
        Some(app_core::api::config::VehicleType::OnFoot) => 1.3,
        Some(app_core::api::config::VehicleType::Car | app_core::api::config::VehicleType::Van) => {
            7.0
        }
        Some(app_core::api::config::VehicleType::Scooter) => 6.0,
        _ => 4.2,
    } * speed;
    let mut at = start_of(core, &me);
    let mut path: Vec<Point> = Vec::new();
    let mut stop: Option<(String, StopKind, i64)> = None;
    let mut stops_done = 0u64;
    loop {
        tokio::time::sleep(TICK).await;
        if stop.is_none() {
            let mine = orders(
                core,
                OrderQuery {
                    assignee: Some(me.clone()),
                    statuses: app_core::lifecycle::Work::open_statuses(),
                    ..Default::default()
                },
            );
            for o in mine.iter().filter(|o| o.status == DeliveryStatus::Assigned) {
                call(
                    core,
                    Request::Act {
                        order_id: o.id.clone(),
                        action: Action::Accept,
                    },
                );
            }
            if let Some(Response::RoutePlan(plan)) = call(
                core,
                Request::PlanRoute(PlanRouteRequest {
                    courier: me.clone(),
                    position: at,
                    capacity_items: 0,
                    started: None,
                    current: vec![],
                    optimise: true,
                }),
            ) && let Some(next) = plan.stops.first()
            {
                let cod = mine
                    .iter()
                    .find(|o| o.id == next.order_id)
                    .map_or(0, |o| o.cod_cents);
                stop = Some((next.order_id.clone(), next.kind, cod));
                path = match call(
                    core,
                    Request::RoutePath {
                        points: vec![at, next.point],
                    },
                ) {
                    Some(Response::RoutePath(p)) if !p.points.is_empty() => p.points,
                    _ => vec![next.point],
                };
            }
        }
        let Some((order_id, kind, cod)) = stop.clone() else {
            beacon(core, at, Availability::Available);
            continue;
        };
        // Drive one tick's distance along the path.
        let mut left = mps * TICK.as_secs_f64();
        while left > 0.0 && !path.is_empty() {
            let next = path[0];
            let d = distance_m(at, next);
            if d <= left {
                at = next;
                left -= d;
                path.remove(0);
            } else {
                at = towards(at, next, left);
                left = 0.0;
            }
        }
        beacon(core, at, Availability::Available);
        if !path.is_empty() {
            continue;
        }
        // At the door.
        match kind {
            StopKind::Pickup => {
                call(
                    core,
                    Request::Act {
                        order_id: order_id.clone(),
                        action: Action::PickUp,
                    },
                );
            }
            StopKind::Dropoff if rng.one_in(12) => {
                call(
                    core,
                    Request::Act {
                        order_id: order_id.clone(),
                        action: Action::FailAttempt {
                            reason: "Customer not home".into(),
                        },
                    },
                );
            }
            StopKind::Dropoff => {
                call(
                    core,
                    Request::CapturePod(CapturePodRequest {
                        order_id: order_id.clone(),
                        signature: Some(signature(rng)),
                        gps: Some(app_core::api::GpsInput {
                            lat: at.lat,
                            lon: at.lon,
                            accuracy_m: 8.0,
                        }),
                        deliver: true,
                        collect_cod_cents: (cod > 0).then_some(cod),
                        ..Default::default()
                    }),
                );
            }
        }
        stop = None;
        stops_done += 1;
        // Now and then a dead spot: the courier keeps working offline.
        if stops_done.is_multiple_of(9) && rng.one_in(2) {
            let account = account.clone();
            let dark = Duration::from_secs_f64((60.0 / speed).clamp(3.0, 60.0));
            tokio::spawn(async move { account.offline_for(dark).await });
        }
    }
}

async fn order_now_and_then(core: &Core, speed: f64, rng: &mut Rng) {
    const PLACES: [(&str, f64, f64); 6] = [
        ("Aleksanterinkatu 52", 60.168_672, 24.941_935),
        ("Fredrikinkatu 32", 60.165_392, 24.935_274),
        ("Mannerheimintie 20", 60.169_349, 24.938_171),
        ("Bulevardi 14", 60.165_155, 24.939_891),
        ("Annankatu 25", 60.167_325, 24.936_521),
        ("Uudenmaankatu 16", 60.164_166, 24.940_368),
    ];
    let every = Duration::from_secs_f64((90.0 / speed).clamp(2.0, 90.0));
    loop {
        tokio::time::sleep(every).await;
        let from = PLACES[(rng.next() % 6) as usize];
        let mut to = PLACES[(rng.next() % 6) as usize];
        if to.0 == from.0 {
            to = PLACES[(PLACES.iter().position(|p| p.0 == from.0).unwrap_or(0) + 1) % 6];
        }
        let me = core.session().map(|s| s.0).unwrap_or_default();
        let mut new = NewOrder::simple(&me, from.0, to.0);
        new.pickup_point = Some(Point {
            lat: from.1,
            lon: from.2,
        });
        new.dropoff_point = Some(Point {
            lat: to.1,
            lon: to.2,
        });
        if call(core, Request::CreateOrder(new)).is_some() {
            tracing::info!("simulated client order created");
        }
    }
}

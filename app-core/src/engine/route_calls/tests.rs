//! The routing requests through `Core::execute`, on a real local store.

use std::sync::Arc;

use app_api::{
    Action, CourierAvailability, NewOrder, OrderQuery, PlanRouteRequest, Point,
    ProposeAssignmentRequest, Request, Response, Role, StopKind, StopRef,
};

use crate::Core;
use crate::engine::test_support::{act, open_at, session};
use crate::routing::roads::{Profile, RoadGraph};

const NOW: i64 = 1_780_000_000_000;

fn core() -> (tempfile::TempDir, Core) {
    let (dir, core, _) = open_at(NOW);
    (dir, core)
}

fn p(lat: f64, lon: f64) -> Point {
    Point { lat, lon }
}

/// An order from near the station to a point `k` steps east along Bulevardi.
fn create(core: &Core, k: usize, with_points: bool) -> String {
    let mut new = NewOrder::simple(
        &format!("Customer {k}"),
        "Kaivokatu 1",
        &format!("Bulevardi {}", 2 * k + 1),
    );
    if with_points {
        new.pickup_point = Some(p(60.1708 + 0.0002 * k as f64, 24.9410));
        new.dropoff_point = Some(p(60.1640, 24.9330 + 0.0025 * k as f64));
    }
    match core.execute(Request::CreateOrder(new)).unwrap() {
        Response::Order(o) => o.id,
        other => panic!("{other:?}"),
    }
}

fn plan(core: &Core, req: PlanRouteRequest) -> app_api::RoutePlan {
    match core.execute(Request::PlanRoute(req)).unwrap() {
        Response::RoutePlan(p) => p,
        other => panic!("{other:?}"),
    }
}

fn request(courier: &str) -> PlanRouteRequest {
    PlanRouteRequest {
        courier: courier.into(),
        position: p(60.1699, 24.9384),
        capacity_items: 0,
        started: None,
        current: vec![],
        optimise: true,
    }
}

#[test]
fn a_couriers_open_stops_are_planned_with_etas_and_unroutable_orders_named() {
    let (_d, core) = core();
    let ids: Vec<String> = (0..4).map(|k| create(&core, k, true)).collect();
    let no_point = create(&core, 9, false);
    let elsewhere = create(&core, 5, true);
    for id in ids.iter().chain([&no_point]) {
        act(
            &core,
            id,
            Action::Assign {
                courier: "aki".into(),
            },
        );
    }
    act(
        &core,
        &elsewhere,
        Action::Assign {
            courier: "bea".into(),
        },
    );
    session(&core, "aki", Role::Courier);
    act(&core, &ids[0], Action::PickUp);

    let plan = plan_fn(&core, request("aki"));
    // 4 orders, one already on board: 3 pickups + 4 drop-offs.
    assert_eq!(plan.stops.len(), 7);
    assert!(
        !plan
            .stops
            .iter()
            .any(|s| s.order_id == ids[0] && s.kind == StopKind::Pickup)
    );
    assert!(
        !plan.stops.iter().any(|s| s.order_id == elsewhere),
        "only aki's orders"
    );
    assert_eq!(plan.unplanned.len(), 1);
    assert_eq!(plan.unplanned[0].order_id, no_point);
    assert!(
        plan.unplanned[0].reason.contains("map position"),
        "{}",
        plan.unplanned[0].reason
    );
    assert!(plan.stops.windows(2).all(|w| w[0].eta_ms <= w[1].eta_ms));
    assert!(plan.stops[0].eta_ms > NOW);
    for id in &ids[1..] {
        let pick = plan
            .stops
            .iter()
            .position(|s| &s.order_id == id && s.kind == StopKind::Pickup)
            .unwrap();
        let drop = plan
            .stops
            .iter()
            .position(|s| &s.order_id == id && s.kind == StopKind::Dropoff)
            .unwrap();
        assert!(pick < drop);
    }
    assert!(
        plan.stops
            .iter()
            .all(|s| !s.reference.is_empty() && !s.address.is_empty())
    );
    assert_eq!(plan.travel_model, "straight_line");

    // Self-managed: keep the courier's own order, only re-time it; then "suggest".
    let mut own: Vec<StopRef> = plan
        .stops
        .iter()
        .map(|s| StopRef {
            order_id: s.order_id.clone(),
            kind: s.kind,
        })
        .collect();
    own.reverse();
    // Reversed puts drop-offs before pickups; move pickups to the front to stay valid.
    own.sort_by_key(|s| s.kind == StopKind::Dropoff);
    let kept = plan_fn(
        &core,
        PlanRouteRequest {
            current: own.clone(),
            optimise: false,
            ..request("aki")
        },
    );
    let kept_order: Vec<StopRef> = kept
        .stops
        .iter()
        .map(|s| StopRef {
            order_id: s.order_id.clone(),
            kind: s.kind,
        })
        .collect();
    assert_eq!(kept_order, own);
    let suggested = plan_fn(
        &core,
        PlanRouteRequest {
            current: own,
            ..request("aki")
        },
    );
    assert!(suggested.gain_s.unwrap() >= 0);
    assert_eq!(
        suggested.gain_s.unwrap(),
        suggested.current_travel_s.unwrap() - suggested.travel_s
    );

    // Moving closer to the first stop brings its ETA forward.
    let first = &kept.stops[0];
    let closer = plan_fn(
        &core,
        PlanRouteRequest {
            current: kept_order.clone(),
            optimise: false,
            position: first.point,
            ..request("aki")
        },
    );
    assert!(closer.stops[0].eta_ms < first.eta_ms);
}

fn plan_fn(core: &Core, req: PlanRouteRequest) -> app_api::RoutePlan {
    plan(core, req)
}

#[test]
fn couriers_plan_only_their_own_route_and_cannot_propose() {
    let (_d, core) = core();
    session(&core, "aki", Role::Courier);
    let e = core
        .execute(Request::PlanRoute(request("bea")))
        .unwrap_err();
    assert!(matches!(e, app_api::ApiError::Refused { .. }), "{e:?}");
    let e = core
        .execute(Request::ProposeAssignment(ProposeAssignmentRequest {
            couriers: vec![],
            balance_weight: None,
        }))
        .unwrap_err();
    assert!(matches!(e, app_api::ApiError::Refused { .. }), "{e:?}");
}

#[test]
fn a_proposal_assigns_nothing_until_approved_and_keeps_existing_work() {
    let (_d, core) = core();
    let ids: Vec<String> = (0..9).map(|k| create(&core, k, true)).collect();
    act(
        &core,
        &ids[0],
        Action::Assign {
            courier: "aki".into(),
        },
    );
    let couriers = vec![
        CourierAvailability {
            user: "aki".into(),
            position: p(60.1650, 24.9300),
            capacity_items: 4,
            home_zones: vec![],
            carrier: Default::default(),
            shift_end_ms: None,
        },
        CourierAvailability {
            user: "bea".into(),
            position: p(60.1650, 24.9500),
            capacity_items: 4,
            home_zones: vec![],
            carrier: Default::default(),
            shift_end_ms: None,
        },
    ];
    let Response::AssignmentProposal(prop) = core
        .execute(Request::ProposeAssignment(ProposeAssignmentRequest {
            couriers,
            balance_weight: None,
        }))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(prop.assignments.len(), 8, "{prop:?}");
    assert!(prop.assignments.iter().all(|a| a.order_id != ids[0]));
    let aki = prop.workload.iter().find(|w| w.courier == "aki").unwrap();
    assert_eq!(aki.kept, 1);
    let total: usize = prop.workload.iter().map(|w| w.orders).sum();
    assert_eq!(total, 9);
    assert!(
        prop.workload.iter().all(|w| w.orders >= 4),
        "balanced: {:?}",
        prop.workload
    );
    // Nothing was assigned by proposing.
    let Response::Orders { total, .. } = core
        .execute(Request::ListOrders(OrderQuery {
            assignee: Some("-".into()),
            ..Default::default()
        }))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(total, 8);
}

#[test]
fn paths_follow_streets_when_a_road_graph_is_loaded() {
    let (_d, core) = core();
    let a = p(60.1686, 24.9416); // near the railway station
    let b = p(60.1660, 24.9480);
    let Response::RoutePath(straight) = core
        .execute(Request::RoutePath { points: vec![a, b] })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(straight.points.len(), 2);
    assert_eq!(straight.travel_model, "straight_line");
    let pbf = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../data/osm/Helsinki.osm.pbf"
    ))
    .expect("data/osm/Helsinki.osm.pbf: run `bash scripts/fetch-osm.sh`");
    core.set_road_graph(Some(Arc::new(
        RoadGraph::from_pbf(&pbf, Profile::Car).unwrap(),
    )));
    let Response::RoutePath(road) = core
        .execute(Request::RoutePath { points: vec![a, b] })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(road.travel_model, "roads:car");
    assert!(road.points.len() > 3, "a street path has corners");
    assert!(
        road.distance_m as f64 >= crate::domain::geo::haversine_m(a.lat, a.lon, b.lat, b.lon) * 0.9
    );
    // Far outside the map: a clear error, not a panic.
    let e = core
        .execute(Request::RoutePath {
            points: vec![a, p(61.4978, 23.7610)],
        })
        .unwrap_err();
    assert!(e.to_string().contains("nearest road"), "{e}");
    let e = core
        .execute(Request::RoutePath { points: vec![a] })
        .unwrap_err();
    assert!(matches!(e, app_api::ApiError::Invalid { .. }));
}

fn configure(core: &Core, changes: Vec<app_api::config::ConfigChange>) {
    session(core, "boss", Role::Admin);
    for c in changes {
        core.execute(Request::ChangeConfig(c)).unwrap();
    }
    session(core, "disp", Role::Dispatcher);
}

fn van(items: u32, kg: u32) -> app_api::config::ConfigChange {
    app_api::config::ConfigChange::PutVehicle(app_api::config::Vehicle {
        id: "van-1".into(),
        name: "Van 1".into(),
        kind: app_api::config::VehicleType::Van,
        capacity_items: items,
        capacity_kg: kg,
        plate: String::new(),
    })
}

fn profile(home_zones: &[&str], cash: bool) -> app_api::config::ConfigChange {
    app_api::config::ConfigChange::PutCourier(app_api::config::CourierProfile {
        user: "aki".into(),
        phone: "+358 40 555 0101".into(),
        vehicle: Some("van-1".into()),
        home_zones: home_zones.iter().map(|z| z.to_string()).collect(),
        handles_cash: cash,
        carrier: Default::default(),
        shift_start: None,
    })
}

/// The most parcels on board at once along a plan.
fn peak_load(plan: &app_api::RoutePlan) -> i32 {
    let mut load = 0;
    let mut peak = 0;
    for s in &plan.stops {
        load += if s.kind == StopKind::Pickup { 1 } else { -1 };
        peak = peak.max(load);
    }
    peak
}

#[test]
fn the_vehicle_in_a_couriers_profile_limits_their_plan() {
    let (_d, core) = core();
    let ids: Vec<String> = (0..4).map(|k| create(&core, k, true)).collect();
    for id in &ids {
        act(
            &core,
            id,
            Action::Assign {
                courier: "aki".into(),
            },
        );
    }
    // No profile: the request's capacity (none) holds.
    let free = plan(&core, request("aki"));
    assert_eq!(free.stops.len(), 8);
    assert!(
        peak_load(&free) > 1,
        "pickups side by side go together: {free:?}"
    );
    configure(&core, vec![van(1, 0), profile(&[], true)]);
    let limited = plan(&core, request("aki"));
    assert_eq!(limited.stops.len(), 8);
    assert_eq!(peak_load(&limited), 1, "one parcel at a time: {limited:?}");
    configure(&core, vec![van(2, 0)]);
    assert!(peak_load(&plan(&core, request("aki"))) <= 2);
}

#[test]
fn assigning_outside_a_couriers_zones_beyond_their_van_or_with_cash_they_do_not_handle_warns() {
    use app_api::config::ConfigChange;
    use app_api::{AssignmentWarningKind as K, ZoneView};
    let (_d, core) = core();
    let zone = |id: &str, name: &str, lat: f64, lon: f64| {
        ConfigChange::PutZone(ZoneView {
            id: id.into(),
            name: name.into(),
            ring: vec![
                p(lat - 0.01, lon - 0.02),
                p(lat - 0.01, lon + 0.03),
                p(lat + 0.01, lon + 0.03),
                p(lat + 0.01, lon - 0.02),
            ],
        })
    };
    configure(
        &core,
        vec![
            zone("kamppi", "Kamppi", 60.164, 24.935),
            zone("kallio", "Kallio", 60.184, 24.950),
            van(1, 0),
            profile(&["kallio"], false),
        ],
    );
    let a = create(&core, 0, true);
    let b = create(&core, 1, true);
    act(&core, &b, Action::SetCod { cents: 2_500 });
    let warnings = |ids: &[&String], courier: &str| match core
        .execute(Request::AssignmentWarnings {
            order_ids: ids.iter().map(|s| s.to_string()).collect(),
            courier: courier.into(),
        })
        .unwrap()
    {
        Response::AssignmentWarnings { warnings } => warnings,
        other => panic!("{other:?}"),
    };
    let w = warnings(&[&a, &b], "aki");
    let kinds: Vec<K> = w.iter().map(|w| w.kind).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == K::OutOfZone).count(),
        2,
        "{w:?}"
    );
    assert!(kinds.contains(&K::Cash), "{w:?}");
    assert!(kinds.contains(&K::OverCapacity), "{w:?}");
    let zone_msg = &w.iter().find(|w| w.kind == K::OutOfZone).unwrap().message;
    assert!(
        zone_msg.contains("in Kamppi") && zone_msg.contains("works Kallio"),
        "{zone_msg}"
    );
    let cash = &w.iter().find(|w| w.kind == K::Cash).unwrap();
    assert_eq!(cash.order_id, b);
    assert!(cash.message.contains("25.00 EUR"), "{}", cash.message);
    // One order fits the van, and with Kamppi among aki's zones and cash
    // handled, nothing speaks against it.
    configure(&core, vec![profile(&["kallio", "kamppi"], true)]);
    assert_eq!(warnings(&[&a], "aki"), vec![]);
    // Someone the tenant keeps no profile of: nothing is known against them.
    assert_eq!(warnings(&[&a, &b], "bea"), vec![]);
    // The driver monitor shows the profile.
    let Response::Fleet(board) = core.execute(Request::Fleet).unwrap() else {
        panic!()
    };
    let aki = board.couriers.iter().find(|c| c.user == "aki");
    assert!(aki.is_none() || aki.unwrap().phone.as_deref() == Some("+358 40 555 0101"));
    act(
        &core,
        &a,
        Action::Assign {
            courier: "aki".into(),
        },
    );
    let Response::Fleet(board) = core.execute(Request::Fleet).unwrap() else {
        panic!()
    };
    let aki = board.couriers.iter().find(|c| c.user == "aki").unwrap();
    assert_eq!(aki.phone.as_deref(), Some("+358 40 555 0101"));
    assert_eq!(aki.vehicle.as_deref(), Some("Van 1 (Van)"));
    assert_eq!(
        aki.home_zones,
        vec!["Kallio".to_owned(), "Kamppi".to_owned()]
    );
    assert_eq!(aki.start, None, "no shift start named");
    // A shift start at a hub: plans start there until a position arrives.
    let hub = p(60.1690, 24.9320);
    let ConfigChange::PutCourier(with_start) = profile(&["kallio"], true) else {
        unreachable!()
    };
    configure(
        &core,
        vec![
            ConfigChange::PutWarehouse(app_api::config::Warehouse {
                id: "hub".into(),
                name: "Hub".into(),
                address: "Urho Kekkosen katu 1".into(),
                position: hub,
                uses: Default::default(),
                opening_hours: String::new(),
            }),
            ConfigChange::PutCourier(app_api::config::CourierProfile {
                shift_start: Some("hub".into()),
                ..with_start
            }),
        ],
    );
    let Response::Fleet(board) = core.execute(Request::Fleet).unwrap() else {
        panic!()
    };
    let aki = board.couriers.iter().find(|c| c.user == "aki").unwrap();
    assert_eq!(aki.start, Some(hub));
    // Couriers do not ask.
    session(&core, "aki", Role::Courier);
    assert!(
        core.execute(Request::AssignmentWarnings {
            order_ids: vec![a.clone()],
            courier: "aki".into(),
        })
        .is_err()
    );
}

fn list(core: &Core, q: OrderQuery) -> Vec<app_api::OrderSummary> {
    match core.execute(Request::ListOrders(q)).unwrap() {
        Response::Orders { orders, .. } => orders,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_plan_arriving_after_a_window_marks_the_order_at_late_risk_and_the_table_filters_it() {
    let (_d, core) = core();
    // Two orders for aki: one due in 3 minutes (unreachable), one in 3 hours.
    let mut ids = Vec::new();
    for (k, minutes) in [(1, 3), (2, 180)] {
        let mut new = NewOrder::simple(&format!("Customer {k}"), "Kaivokatu 1", "Bulevardi 9");
        new.pickup_point = Some(p(60.1708, 24.9410));
        new.dropoff_point = Some(p(60.1640, 24.9330 + 0.01 * k as f64));
        new.dropoff_window = Some((NOW, NOW + minutes * 60_000));
        let Response::Order(o) = core.execute(Request::CreateOrder(new)).unwrap() else {
            panic!()
        };
        act(
            &core,
            &o.id,
            Action::Assign {
                courier: "aki".into(),
            },
        );
        ids.push(o.id);
    }
    // Before any plan: no ETA, no risk, and the filter finds nothing.
    let before = list(&core, OrderQuery::default());
    assert!(before.iter().all(|o| o.eta_ms.is_none() && !o.late_risk));
    let risky = OrderQuery {
        late_risk: true,
        ..Default::default()
    };
    assert!(list(&core, risky.clone()).is_empty());
    let planned = plan(&core, request("aki"));
    let eta_of = |id: &str| {
        planned
            .stops
            .iter()
            .find(|s| s.order_id == id && s.kind == StopKind::Dropoff)
            .unwrap()
            .eta_ms
    };
    let rows = list(&core, OrderQuery::default());
    for (id, late) in [(&ids[0], true), (&ids[1], false)] {
        let row = rows.iter().find(|o| &o.id == id).unwrap();
        assert_eq!(row.eta_ms, Some(eta_of(id)), "{row:?}");
        assert_eq!(row.late_risk, late, "{row:?}");
    }
    let found: Vec<String> = list(&core, risky.clone())
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(found, vec![ids[0].clone()]);
    // The desk is told of the one at risk, and opening it opens the order.
    let late = |core: &Core| -> Vec<app_api::notify::Notification> {
        let Response::Notifications(n) = core.execute(Request::Notifications).unwrap() else {
            panic!()
        };
        n.items
            .into_iter()
            .filter(|n| n.kind == app_api::notify::NoticeKind::Late)
            .collect()
    };
    let told = late(&core);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        told[0].target,
        app_api::notify::NoticeTarget::Order {
            order: ids[0].clone()
        }
    );
    assert!(told[0].critical && told[0].body.contains("min after its window"));
    // Delivered or not, a done order is not at risk; unassigned and planned
    // again without it, its ETA goes with the courier's old plan.
    act(&core, &ids[0], Action::Unassign);
    plan(&core, request("aki"));
    let row = list(&core, OrderQuery::default())
        .into_iter()
        .find(|o| o.id == ids[0])
        .unwrap();
    assert_eq!((row.eta_ms, row.late_risk), (None, false), "{row:?}");
    assert!(list(&core, risky).is_empty());
    assert!(late(&core).is_empty(), "no longer at risk, no longer told");
}

//! Courier sequences, ETAs and auto-assignment on the delivery domain.

use super::*;
use ruta_domain::fleet::VehicleKind;

const NOW: i64 = 1_780_000_000_000;

fn p(lat: f64, lon: f64) -> GeoPoint {
    GeoPoint { lat, lon }
}

fn travel() -> Travel {
    Travel::Straight(StraightLine::for_vehicle(VehicleKind::Bicycle))
}

fn bike() -> Vehicle {
    Vehicle {
        kind: VehicleKind::Bicycle,
        capacity_items: 6,
        capacity_g: 30_000,
    }
}

fn stop(pt: GeoPoint) -> StopInput {
    StopInput {
        point: pt,
        window: None,
        service_s: 120,
    }
}

/// Order `k` picks up near the station and drops off along a line east.
fn order(k: usize) -> OrderLoad {
    OrderLoad {
        order: OrderId::new(format!("o{k}")),
        pickup: Some(stop(p(60.1710 + 0.0004 * k as f64, 24.9410))),
        dropoff: stop(p(60.1650, 24.9300 + 0.003 * k as f64)),
        items: 1,
        grams: 1000,
        priority: Priority::Normal,
        zone: None,
        carrier: CarrierType::Internal,
        cod: false,
    }
}

fn request(orders: Vec<OrderLoad>) -> SequenceRequest {
    SequenceRequest {
        now_ms: NOW,
        position: p(60.1699, 24.9384),
        vehicle: bike(),
        orders,
        started: None,
        current: vec![],
    }
}

fn ts(order: &str, kind: StopKind) -> TripStop {
    TripStop {
        order: OrderId::new(order),
        kind,
    }
}

fn assert_valid(plan: &SequencePlan, orders: &[OrderLoad]) {
    let stops: Vec<TripStop> = plan
        .stops
        .iter()
        .map(|s| ts(s.order.as_str(), s.kind))
        .collect();
    ruta_domain::fleet::Trip {
        id: ruta_domain::TripId::new("t"),
        courier: UserId::new("c"),
        stops: stops.clone(),
    }
    .validate()
    .unwrap();
    for o in orders {
        let drop = stops
            .iter()
            .position(|s| s.order == o.order && s.kind == StopKind::Dropoff);
        assert!(drop.is_some(), "{} has no drop-off", o.order);
    }
    assert!(plan.stops.windows(2).all(|w| w[0].start_ms <= w[1].eta_ms));
}

#[test]
fn sequence_serves_everything_in_a_valid_order_and_shows_the_gain() {
    let orders: Vec<OrderLoad> = (0..6).map(order).collect();
    let mut req = request(orders.clone());
    // The courier's own order: all pickups, then drop-offs from the far end back.
    req.current = (0..6)
        .map(|k| ts(&format!("o{k}"), StopKind::Pickup))
        .chain(
            (0..6)
                .rev()
                .map(|k| ts(&format!("o{k}"), StopKind::Dropoff)),
        )
        .collect();
    let plan = sequence(&req, &travel(), 1, Budget::iterations(400)).unwrap();
    assert_eq!(plan.stops.len(), 12);
    assert_valid(&plan, &orders);
    let current = plan.current_travel_s.expect("current order is complete");
    assert!(
        plan.gain_s.unwrap() > 0,
        "current {current}, plan {}",
        plan.travel_s
    );
    assert_eq!(plan.gain_s.unwrap(), current - plan.travel_s);
    assert!(plan.late.is_empty() && plan.over_capacity.is_empty());
}

#[test]
fn the_started_stop_stays_first_when_a_new_order_arrives() {
    let orders: Vec<OrderLoad> = (0..4).map(order).collect();
    let mut req = request(orders.clone());
    let first = sequence(&req, &travel(), 1, Budget::iterations(300)).unwrap();
    // The courier starts on the plan's third stop (out of order on purpose).
    let started = ts(first.stops[2].order.as_str(), first.stops[2].kind);
    req.started = Some(started.clone());
    req.current = first
        .stops
        .iter()
        .map(|s| ts(s.order.as_str(), s.kind))
        .collect();
    req.orders.push(order(7));
    let again = sequence(&req, &travel(), 2, Budget::iterations(300)).unwrap();
    assert_eq!(
        ts(again.stops[0].order.as_str(), again.stops[0].kind),
        started
    );
    assert_eq!(again.stops.len(), 10);
    assert_valid(&again, &req.orders);
}

#[test]
fn picked_up_orders_only_need_their_drop_off_and_capacity_holds() {
    let mut orders: Vec<OrderLoad> = (0..5).map(order).collect();
    orders[0].pickup = None; // on board
    orders[1].pickup = None;
    for o in &mut orders {
        o.items = 2;
    }
    let req = request(orders.clone());
    let plan = sequence(&req, &travel(), 3, Budget::iterations(300)).unwrap();
    assert_eq!(plan.stops.len(), 8);
    // Load along the plan never exceeds 6 items: 4 on board at the start.
    let mut load = 4i64;
    for s in &plan.stops {
        load += if s.kind == StopKind::Pickup { 2 } else { -2 };
        assert!((0..=6).contains(&load), "load {load}");
    }
    assert_valid(&plan, &orders);
}

#[test]
fn an_impossible_window_is_sequenced_and_reported_late() {
    let mut orders: Vec<OrderLoad> = (0..3).map(order).collect();
    orders[2].dropoff.window = Some(TimeWindow {
        start_ms: NOW,
        end_ms: NOW + 60_000, // one minute: cannot be made
    });
    let req = request(orders.clone());
    let plan = sequence(&req, &travel(), 1, Budget::iterations(200)).unwrap();
    assert_eq!(plan.stops.len(), 6);
    assert_eq!(plan.late, vec![OrderId::new("o2")]);
    let d = plan
        .stops
        .iter()
        .find(|s| s.order.as_str() == "o2" && s.kind == StopKind::Dropoff)
        .unwrap();
    assert!(d.late_s > 0);
}

#[test]
fn etas_follow_the_courier() {
    let stops = vec![stop(p(60.1650, 24.9300)), stop(p(60.1650, 24.9500))];
    let far = etas(NOW, p(60.1750, 24.9200), &stops, &travel()).unwrap();
    let near = etas(NOW, p(60.1660, 24.9300), &stops, &travel()).unwrap();
    assert!(near[0].eta_ms < far[0].eta_ms);
    assert!(near[1].eta_ms < far[1].eta_ms);
    // Second stop = first + service + leg.
    let leg = travel()
        .matrix(&[stops[0].point, stops[1].point])
        .unwrap()
        .time(0, 1);
    assert_eq!(
        near[1].eta_ms,
        near[0].start_ms + 120_000 + i64::from(leg) * 1000
    );
}

fn courier(name: &str, lat: f64, lon: f64, zones: &[&str], carrier: CarrierType) -> CourierInput {
    CourierInput {
        user: UserId::new(name),
        position: p(lat, lon),
        vehicle: bike(),
        home_zones: zones.iter().map(|z| ZoneId::new(*z)).collect(),
        carrier,
        shift_end_ms: None,
        no_cash: false,
    }
}

#[test]
fn assignment_respects_zones_cash_pins_and_carriers_and_balances() {
    let mut orders: Vec<OrderLoad> = (0..12).map(order).collect();
    for (k, o) in orders.iter_mut().enumerate() {
        o.zone = Some(ZoneId::new(if k < 6 { "west" } else { "east" }));
    }
    orders[3].cod = true;
    orders[11].carrier = CarrierType::External;
    let kept = order(20);
    let req = AssignRequest {
        now_ms: NOW,
        couriers: vec![
            courier("w", 60.1700, 24.9300, &["west"], CarrierType::Internal),
            courier("e", 60.1700, 24.9500, &["east"], CarrierType::Internal),
            courier("any", 60.1700, 24.9400, &[], CarrierType::Prime),
        ],
        orders: orders.clone(),
        assigned: vec![(kept.clone(), UserId::new("e"))],
        balance_weight: DEFAULT_BALANCE_WEIGHT,
    };
    let prop = propose_assignment(&req, &travel(), 1, Budget::iterations(600)).unwrap();
    let who = |id: &str| {
        prop.assignments
            .iter()
            .find(|a| a.order.as_str() == id)
            .map(|a| a.courier.as_str().to_string())
    };
    assert_eq!(prop.unplaced.len(), 1);
    assert_eq!(prop.unplaced[0].order.as_str(), "o11");
    assert!(prop.unplaced[0].reason.contains("external"));
    assert_eq!(prop.assignments.len(), 11);
    for k in 0..11 {
        let c = who(&format!("o{k}")).unwrap();
        let zone_ok = if k < 6 {
            c == "w" || c == "any"
        } else {
            c == "e" || c == "any"
        };
        assert!(zone_ok, "o{k} -> {c}");
    }
    assert_ne!(
        who("o3").as_deref(),
        Some("any"),
        "prime couriers take no cash"
    );
    // The kept order is not re-proposed, and counts for its courier.
    assert_eq!(who("o20"), None);
    let e = prop
        .workload
        .iter()
        .find(|w| w.courier.as_str() == "e")
        .unwrap();
    assert_eq!(e.kept, 1);
    let counts: Vec<usize> = prop.workload.iter().map(|w| w.orders).collect();
    assert_eq!(counts.iter().sum::<usize>(), 12);
    assert!(
        counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 2,
        "{counts:?}"
    );
}

#[test]
fn a_courier_over_the_cash_limit_gets_no_cash_orders() {
    let mut orders: Vec<OrderLoad> = (0..6).map(order).collect();
    for o in orders.iter_mut().take(3) {
        o.cod = true;
    }
    // "near" sits on top of the orders and would take them all; over the cash limit.
    let mut near = courier("near", 60.1700, 24.9400, &[], CarrierType::Internal);
    near.no_cash = true;
    let far = courier("far", 60.2000, 24.9900, &[], CarrierType::Internal);
    let req = AssignRequest {
        now_ms: NOW,
        couriers: vec![near, far],
        orders,
        assigned: vec![],
        balance_weight: DEFAULT_BALANCE_WEIGHT,
    };
    let prop = propose_assignment(&req, &travel(), 1, Budget::iterations(400)).unwrap();
    assert_eq!(prop.assignments.len(), 6, "{:?}", prop.unplaced);
    for a in &prop.assignments {
        let k: usize = a.order.as_str()[1..].parse().unwrap();
        if k < 3 {
            assert_eq!(
                a.courier.as_str(),
                "far",
                "cash order o{k} went to the courier over the limit"
            );
        }
    }
    assert!(
        prop.assignments
            .iter()
            .any(|a| a.courier.as_str() == "near"),
        "balanced, they still get orders without cash"
    );
}

#[test]
fn urgent_orders_win_when_not_all_fit() {
    // One courier with room for 2 parcels at a time and a shift of 25 minutes:
    // not everything fits; the urgent order must be among those placed.
    let mut orders: Vec<OrderLoad> = (0..8).map(order).collect();
    orders[7].priority = Priority::Urgent;
    let mut c = courier("solo", 60.1700, 24.9400, &[], CarrierType::Internal);
    c.vehicle.capacity_items = 2;
    c.shift_end_ms = Some(NOW + 25 * 60_000);
    let req = AssignRequest {
        now_ms: NOW,
        couriers: vec![c],
        orders,
        assigned: vec![],
        balance_weight: 0,
    };
    let prop = propose_assignment(&req, &travel(), 1, Budget::iterations(400)).unwrap();
    assert!(!prop.unplaced.is_empty(), "the shift is too short for all");
    assert!(prop.assignments.iter().any(|a| a.order.as_str() == "o7"));
    assert!(
        prop.unplaced
            .iter()
            .all(|u| u.reason.contains("time window"))
    );
}

#[test]
fn orders_without_a_map_position_are_refused_with_the_field() {
    let spec: OrderSpec = serde_json::from_value(serde_json::json!({
        "reference": "R-1",
        "order_type": "delivery",
        "customer_name": "Aino",
        "pickup": {"address": {"line1": "Bulevardi 9", "point": {"lat": 60.1652, "lon": 24.9376}}},
        "dropoff": {"address": {"line1": "Fredrikinkatu 34"}},
        "packages": [{"count": 2, "weight_g": 1500}],
    }))
    .unwrap();
    let e = OrderLoad::from_spec(OrderId::new("x"), &spec, false, None).unwrap_err();
    assert_eq!(e.field, "dropoff.address.point");
    assert!(e.message.contains("Fredrikinkatu 34"));
    // Once on board, only the drop-off matters; packages become the load.
    let mut spec = spec;
    spec.dropoff.address.point = Some(p(60.1660, 24.9390));
    let load = OrderLoad::from_spec(OrderId::new("x"), &spec, true, None).unwrap();
    assert!(load.pickup.is_none());
    assert_eq!((load.items, load.grams), (2, 3000));
    assert_eq!(load.dropoff.service_s, DEFAULT_SERVICE_MIN * 60);
}

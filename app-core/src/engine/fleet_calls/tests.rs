//! Tests of `fleet_calls` (kept beside it so the module reads on its own).

use std::sync::{Arc, Mutex};

use app_api::{Action, Request, Response, Role, WorkMode};

use super::*;
use crate::clock::ManualClock;
use crate::engine::test_support::{act, open_at, session};

const T0: i64 = 1_700_000_000_000;

fn core() -> (tempfile::TempDir, Core, Arc<ManualClock>) {
    open_at(T0)
}

fn order(core: &Core, name: &str) -> String {
    let new = NewOrder::simple(name, "Pohjoisesplanadi 11", "Fredrikinkatu 34");
    match core.execute(Request::CreateOrder(new)).unwrap() {
        Response::Order(o) => o.id,
        other => panic!("{other:?}"),
    }
}

fn board(core: &Core) -> FleetBoard {
    match core.execute(Request::Fleet).unwrap() {
        Response::Fleet(b) => b,
        other => panic!("{other:?}"),
    }
}

fn beacon(lat: f64, lon: f64, at_ms: i64) -> Beacon {
    Beacon {
        point: Some(Point { lat, lon }),
        at_ms,
        ..Default::default()
    }
}

#[test]
fn monitor_counts_each_couriers_work_and_shows_live_beacons() {
    let (_dir, core, clock) = core();
    session(&core, "disp", Role::Dispatcher);
    core.set_courier_directory(&[
        CourierInfo {
            user: "aki".into(),
            name: "Aki Virtanen".into(),
        },
        CourierInfo {
            user: "bea".into(),
            name: "Bea Nieminen".into(),
        },
    ])
    .unwrap();
    let ids: Vec<String> = (0..5).map(|i| order(&core, &format!("C{i}"))).collect();
    for id in &ids[..3] {
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
        &ids[3],
        Action::Assign {
            courier: "cid".into(),
        },
    );
    session(&core, "aki", Role::Courier);
    act(&core, &ids[0], Action::PickUp);
    act(&core, &ids[1], Action::PickUp);
    crate::engine::test_support::sign_for(&core, &ids[1], true);
    session(&core, "aki", Role::Courier);
    let refused = core.execute(Request::Fleet).unwrap_err();
    assert!(matches!(&refused, ApiError::Refused { code, .. } if code == "forbidden"));

    session(&core, "disp", Role::Dispatcher);
    core.record_beacon("aki", beacon(60.17, 24.94, T0 + 10));
    core.record_beacon(
        "aki",
        Beacon {
            work_mode: Some(WorkMode::SystemOptimised),
            availability: Some(Availability::OnBreak),
            ..beacon(60.10, 24.00, T0 + 5)
        },
    );
    let b = board(&core);
    assert_eq!(b.unassigned, 1, "one order nobody has");
    let who: Vec<&str> = b.couriers.iter().map(|c| c.user.as_str()).collect();
    assert_eq!(who, ["aki", "bea", "cid"]);
    let aki = &b.couriers[0];
    assert_eq!((aki.name.as_str(), aki.known), ("Aki Virtanen", true));
    assert_eq!((aki.assigned, aki.on_board, aki.delivered_today), (1, 1, 1));
    assert_eq!(
        aki.position,
        Some(Point {
            lat: 60.17,
            lon: 24.94
        }),
        "an older fix does not move the courier back"
    );
    assert_eq!(aki.position_at_ms, Some(T0 + 10));
    assert_eq!(aki.work_mode, Some(WorkMode::SystemOptimised));
    assert_eq!(aki.availability, Availability::OnBreak);
    assert!(aki.live);
    let bea = &b.couriers[1];
    assert_eq!((bea.assigned, bea.live, bea.position), (0, false, None));
    assert_eq!(bea.availability, Availability::Offline);
    let cid = &b.couriers[2];
    assert_eq!(
        (cid.known, cid.assigned, cid.name.as_str()),
        (false, 1, "cid")
    );

    clock.advance(LIVE_MS + 1);
    let aki = board(&core).couriers.remove(0);
    assert!(!aki.live, "silent for two minutes");
    clock.advance(DAY_MS);
    let aki = board(&core).couriers.remove(0);
    assert_eq!(
        aki.delivered_today, 0,
        "yesterday's deliveries do not count today"
    );
}

#[test]
fn a_courier_beacon_is_checked_kept_and_handed_to_the_sync_client() {
    let (dir, core, _clock) = core();
    session(&core, "aki", Role::Courier);
    let sent = Arc::new(Mutex::new(Vec::<Beacon>::new()));
    let s = sent.clone();
    core.on_beacon(move |b| s.lock().unwrap().push(b.clone()));
    let bad = core
        .execute(Request::ReportBeacon(beacon(91.0, 24.9, T0)))
        .unwrap_err();
    assert!(
        matches!(&bad, ApiError::Invalid { field, .. } if field == "point"),
        "{bad:?}"
    );
    assert!(
        sent.lock().unwrap().is_empty(),
        "nothing sent for a bad fix"
    );
    core.execute(Request::ReportBeacon(beacon(60.17, 24.94, T0)))
        .unwrap();
    core.execute(Request::ReportBeacon(Beacon {
        work_mode: Some(WorkMode::SystemOptimised),
        ..Default::default()
    }))
    .unwrap();
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1].point, sent[0].point,
        "a mode change carries the last fix"
    );
    assert_eq!(sent[1].work_mode, Some(WorkMode::SystemOptimised));
    drop(core);
    let core = Core::open(dir.path()).unwrap().or_dispatcher();
    assert_eq!(
        core.own_beacon().work_mode,
        Some(WorkMode::SystemOptimised),
        "the courier's settings survive a restart"
    );
}

#[test]
fn zones_are_kept_and_file_orders_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let core = Core::open(dir.path()).unwrap().or_dispatcher();
        crate::demo::seed(&core).unwrap();
    }
    let core = Core::open(dir.path()).unwrap().or_dispatcher();
    let Response::Zones { zones } = core.execute(Request::Zones).unwrap() else {
        panic!()
    };
    assert_eq!(zones.len(), 3);
    assert!(zones.iter().all(|z| z.ring.len() == 4));
    let mut new = NewOrder::simple("Z", "Bulevardi 9", "Uudenmaankatu 16");
    new.dropoff_point = Some(Point {
        lat: 60.164_166,
        lon: 24.940_368,
    });
    let Response::Order(o) = core.execute(Request::CreateOrder(new)).unwrap() else {
        panic!()
    };
    assert_eq!(o.zone.as_deref(), Some("punavuori"));
    // New zones re-file existing orders.
    core.set_zones(&[Zone {
        id: crate::domain::ZoneId::new("all"),
        name: "All".into(),
        ring: vec![[24.0, 60.0], [25.5, 60.0], [25.5, 60.5], [24.0, 60.5]],
    }])
    .unwrap();
    let Response::OrderDetail(d) = core.execute(Request::GetOrder { order_id: o.id }).unwrap()
    else {
        panic!()
    };
    assert_eq!(d.summary.zone.as_deref(), Some("all"));
}

#[test]
fn a_quote_is_the_price_the_order_gets() {
    let (_dir, core, _clock) = core();
    let mut new = NewOrder::simple("Q", "Kauppatori 1", "Itäkeskus");
    new.pickup_point = Some(Point {
        lat: 60.1675,
        lon: 24.9525,
    });
    new.dropoff_point = Some(Point {
        lat: 60.2100,
        lon: 25.0800,
    });
    new.weight_g = 12_000;
    let Response::Quote(q) = core.execute(Request::QuotePrice(new.clone())).unwrap() else {
        panic!()
    };
    assert!(q.distance_m > 5_000, "{q:?}");
    assert!(
        q.lines.iter().any(|l| l.label.starts_with("Distance")),
        "{q:?}"
    );
    assert!(
        q.lines.iter().any(|l| l.label.starts_with("Weight")),
        "{q:?}"
    );
    assert_eq!(q.total_cents, q.lines.iter().map(|l| l.cents).sum::<i64>());
    let Response::Order(o) = core.execute(Request::CreateOrder(new)).unwrap() else {
        panic!()
    };
    assert_eq!(o.price_cents, q.total_cents);
    let bad = core
        .execute(Request::QuotePrice(NewOrder::simple("", "", "")))
        .unwrap_err();
    assert!(matches!(bad, ApiError::Invalid { .. }), "{bad:?}");
}

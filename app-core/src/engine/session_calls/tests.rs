//! Route sessions through `Core::execute` on real stores: planned from a
//! route by hand and from its schedule, orders attached by hand and by
//! themselves, the trip built in the route's point order, cancelling, who
//! sees what, and two desks that plan the same day apart.

use app_api::config::{ConfigChange, Route, RoutePoint, Warehouse};
use app_api::routes::{NewSession, SessionAction, SessionStatus, SessionView};
use app_api::trips::TripAction;
use app_api::{ApiError, NewOrder, Point, Request, Response, Role, StopKind};

use crate::Core;
use crate::engine::test_support::{open_at, session};

const NOW: i64 = 1_780_000_000_000; // Thursday 2026-05-28
const DAY: &str = "2026-05-29";

const HUB: Point = Point {
    lat: 60.1945,
    lon: 24.951,
};
const STORE_A: Point = Point {
    lat: 60.1700,
    lon: 24.9400,
};
const STORE_B: Point = Point {
    lat: 60.1600,
    lon: 24.9200,
};

fn bakery_route(auto: bool) -> Route {
    let point = |name: &str, warehouse: Option<&str>, p: Point| RoutePoint {
        name: name.into(),
        warehouse: warehouse.map(str::to_owned),
        address: String::new(),
        position: p,
    };
    Route {
        id: "bakery".into(),
        name: "Bakery run".into(),
        // The route visits B before A.
        points: vec![
            point("Hub", Some("hub-1"), HUB),
            point("Store B", None, STORE_B),
            point("Store A", None, STORE_A),
        ],
        drivers: vec!["aki".into()],
        vehicle: None,
        weekdays: vec![1, 2, 3, 4, 5],
        start: "07:00".into(),
        auto_attach: auto,
        attach_radius_m: 150,
    }
}

/// The admin sets up the hub; a dispatcher (`dora`) puts the route.
fn setup(core: &Core, auto: bool) {
    session(core, "ada", Role::Admin);
    core.execute(Request::ChangeConfig(ConfigChange::PutWarehouse(
        Warehouse {
            id: "hub-1".into(),
            name: "Hub".into(),
            address: "Mäkelänkatu 50".into(),
            position: HUB,
            uses: Default::default(),
            opening_hours: String::new(),
        },
    )))
    .unwrap();
    session(core, "dora", Role::Dispatcher);
    core.execute(Request::ChangeConfig(ConfigChange::PutRoute(bakery_route(
        auto,
    ))))
    .unwrap();
}

/// An order from the hub to `to`.
fn order(core: &Core, name: &str, to: Point) -> String {
    let mut new = NewOrder::simple(name, "Mäkelänkatu 50", "Somewhere 1");
    new.pickup_warehouse = Some("hub-1".into());
    new.pickup_point = Some(HUB);
    new.dropoff_point = Some(to);
    let Response::Order(o) = core.execute(Request::CreateOrder(new)).unwrap() else {
        panic!()
    };
    o.id
}

fn plan(core: &Core, day: &str) -> Result<SessionView, ApiError> {
    match core.execute(Request::PlanSession(NewSession {
        route: "bakery".into(),
        date: day.into(),
        driver: None,
    }))? {
        Response::Session(s) => Ok(s),
        other => panic!("{other:?}"),
    }
}

fn act(core: &Core, id: &str, action: SessionAction) -> Result<SessionView, ApiError> {
    match core.execute(Request::SessionAct {
        session_id: id.into(),
        action,
    })? {
        Response::Session(s) => Ok(s),
        other => panic!("{other:?}"),
    }
}

fn field_of(e: ApiError) -> String {
    match e {
        ApiError::Invalid { field, .. } => field,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_session_takes_the_days_orders_and_builds_its_trip_in_the_routes_order() {
    let (_d, core, _) = open_at(NOW);
    setup(&core, false);
    let to_a = order(&core, "Anna", STORE_A);
    let to_b = order(&core, "Bert", STORE_B);
    let s = plan(&core, DAY).unwrap();
    assert_eq!(s.name, "Bakery run");
    assert_eq!(s.driver, "aki");
    assert_eq!(s.start, "07:00");
    assert_eq!(s.status, SessionStatus::Planned);
    assert!(s.orders.is_empty(), "the route does not attach by itself");
    // Planning it again is the same session.
    assert_eq!(plan(&core, DAY).unwrap().id, s.id);

    let s = act(
        &core,
        &s.id,
        SessionAction::AttachOrders {
            order_ids: vec![to_a.clone(), to_b.clone()],
        },
    )
    .unwrap();
    assert_eq!(s.orders.len(), 2);
    assert_eq!(s.orders[0].point.as_deref(), Some("Store A"));
    let s = act(&core, &s.id, SessionAction::BuildTrip { optimise: false }).unwrap();
    let trip = s.trip.clone().expect("a trip");
    let Response::Trip(t) = core
        .execute(Request::GetTrip {
            trip_id: trip.clone(),
        })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(t.courier, "aki");
    assert_eq!(t.date, DAY, "the session's day, not today");
    assert_eq!(t.start_warehouse.as_deref(), Some("hub-1"));
    // Both pickups at the hub first, then store B before store A as the route runs.
    let seq: Vec<(String, StopKind)> = t
        .stops
        .iter()
        .map(|st| (st.order_id.clone(), st.kind))
        .collect();
    assert_eq!(
        seq,
        vec![
            (to_a.clone(), StopKind::Pickup),
            (to_b.clone(), StopKind::Pickup),
            (to_b.clone(), StopKind::Dropoff),
            (to_a.clone(), StopKind::Dropoff),
        ]
    );
    // A second build is refused: the session has its trip.
    assert!(matches!(
        act(&core, &s.id, SessionAction::BuildTrip { optimise: false }),
        Err(ApiError::Refused { .. })
    ));
    // A late order joins the trip too; a detached one leaves it.
    let to_a2 = order(&core, "Cleo", STORE_A);
    act(
        &core,
        &s.id,
        SessionAction::AttachOrders {
            order_ids: vec![to_a2.clone()],
        },
    )
    .unwrap();
    act(
        &core,
        &s.id,
        SessionAction::DetachOrder {
            order_id: to_b.clone(),
        },
    )
    .unwrap();
    let Response::Trip(t) = core
        .execute(Request::GetTrip {
            trip_id: trip.clone(),
        })
        .unwrap()
    else {
        panic!()
    };
    let orders: std::collections::BTreeSet<&str> =
        t.stops.iter().map(|s| s.order_id.as_str()).collect();
    assert_eq!(
        orders,
        [to_a.as_str(), to_a2.as_str()].into_iter().collect()
    );

    // Once the courier sets out the session is in progress and cannot be cancelled.
    core.execute(Request::TripAct {
        trip_id: trip.clone(),
        action: TripAction::Publish,
    })
    .unwrap();
    core.execute(Request::TripAct {
        trip_id: trip.clone(),
        action: TripAction::Start,
    })
    .unwrap();
    let s = act(&core, &s.id, SessionAction::AttachMatching).unwrap();
    assert_eq!(s.status, SessionStatus::InProgress);
    assert!(matches!(
        act(
            &core,
            &s.id,
            SessionAction::Cancel {
                reason: "rain".into()
            }
        ),
        Err(ApiError::Refused { .. })
    ));
}

#[test]
fn orders_on_the_routes_points_join_by_themselves_and_only_one_session() {
    let (_d, core, _) = open_at(NOW);
    setup(&core, true);
    let early = order(&core, "Early", STORE_B);
    let elsewhere = order(
        &core,
        "Elsewhere",
        Point {
            lat: 60.25,
            lon: 25.05,
        },
    );
    // Planning attaches what is already there and on the route.
    let s = plan(&core, DAY).unwrap();
    let ids: Vec<&str> = s.orders.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, vec![early.as_str()]);
    // A new order on the route joins the planned session as it is made.
    let late = order(&core, "Late", STORE_A);
    let Response::Session(s) = core
        .execute(Request::GetSession {
            session_id: s.id.clone(),
        })
        .unwrap()
    else {
        panic!()
    };
    let ids: Vec<&str> = s.orders.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, vec![early.as_str(), late.as_str()]);
    // An order is on one live session: the next day's session refuses it.
    let next = plan(&core, "2026-06-01").unwrap();
    let refused = act(
        &core,
        &next.id,
        SessionAction::AttachOrders {
            order_ids: vec![early.clone()],
        },
    )
    .unwrap_err();
    assert!(
        matches!(&refused, ApiError::Refused { message, .. } if message.contains("Bakery run of 2026-05-29")),
        "{refused:?}"
    );
    // ...until it leaves the first (cancelling frees them all).
    act(
        &core,
        &s.id,
        SessionAction::Cancel {
            reason: "van broke down".into(),
        },
    )
    .unwrap();
    let next = act(&core, &next.id, SessionAction::AttachMatching).unwrap();
    assert_eq!(next.orders.len(), 2);
    assert!(!next.orders.iter().any(|o| o.order_id == elsewhere));
    // A cancelled session is not planned again for that driver.
    assert!(matches!(
        plan(&core, DAY),
        Err(ApiError::Refused { code, .. }) if code == "session_cancelled"
    ));
}

#[test]
fn the_schedule_plans_the_routes_weekdays_once() {
    let (_d, core, _) = open_at(NOW);
    setup(&core, false);
    let week = || {
        let Response::Sessions { sessions } = core
            .execute(Request::PlanSchedule {
                from: "2026-06-01".into(),
                to: "2026-06-07".into(),
            })
            .unwrap()
        else {
            panic!()
        };
        sessions
    };
    let first = week();
    let days: Vec<&str> = first.iter().map(|s| s.date.as_str()).collect();
    assert_eq!(
        days,
        vec![
            "2026-06-01",
            "2026-06-02",
            "2026-06-03",
            "2026-06-04",
            "2026-06-05"
        ]
    );
    assert!(first.iter().all(|s| s.driver == "aki" && s.pending));
    assert_eq!(week(), first, "planning the week again changes nothing");
    // Bad ranges name their field.
    for (from, to, field) in [
        ("2026-06-01", "2026-08-01", "to"),
        ("2026-06-07", "2026-06-01", "to"),
        ("2026-6-1", "2026-06-07", "from"),
    ] {
        let e = core
            .execute(Request::PlanSchedule {
                from: from.into(),
                to: to.into(),
            })
            .unwrap_err();
        assert_eq!(field_of(e), field, "{from} {to}");
    }
    assert_eq!(field_of(plan(&core, "2026-02-30").unwrap_err()), "date");
    let e = core
        .execute(Request::PlanSession(NewSession {
            route: "nope".into(),
            date: DAY.into(),
            driver: None,
        }))
        .unwrap_err();
    assert_eq!(field_of(e), "route");
}

#[test]
fn the_driver_sees_their_sessions_others_none_and_nobody_but_operators_plans() {
    let (_d, core, _) = open_at(NOW);
    setup(&core, false);
    let s = plan(&core, DAY).unwrap();
    let list = |core: &Core| {
        let Response::Sessions { sessions } = core
            .execute(Request::ListSessions {
                from: DAY.into(),
                to: DAY.into(),
            })
            .unwrap()
        else {
            panic!()
        };
        sessions.len()
    };
    session(&core, "aki", Role::Courier);
    assert_eq!(list(&core), 1);
    core.execute(Request::GetSession {
        session_id: s.id.clone(),
    })
    .unwrap();
    assert!(matches!(plan(&core, DAY), Err(ApiError::Refused { .. })));
    assert!(matches!(
        act(&core, &s.id, SessionAction::AttachMatching),
        Err(ApiError::Refused { .. })
    ));
    // A courier cannot put a route either.
    assert!(matches!(
        core.execute(Request::ChangeConfig(ConfigChange::PutRoute(bakery_route(
            true
        )))),
        Err(ApiError::Refused { .. })
    ));
    session(&core, "bea", Role::Courier);
    assert_eq!(list(&core), 0);
    assert!(matches!(
        core.execute(Request::GetSession {
            session_id: s.id.clone()
        }),
        Err(ApiError::Refused { .. })
    ));
    session(&core, "carl", Role::Client);
    assert_eq!(list(&core), 0);
    // A dispatcher changes routes but not the tenant's tariff.
    session(&core, "dora", Role::Dispatcher);
    assert!(matches!(
        core.execute(Request::ChangeConfig(ConfigChange::SetTariff(
            Default::default()
        ))),
        Err(ApiError::Refused { .. })
    ));
}

#[test]
fn two_desks_planning_the_same_day_apart_hold_one_session_with_both_desks_orders() {
    let (_a, desk1, _) = open_at(NOW);
    let (_b, desk2, _) = open_at(NOW + 2_000);
    setup(&desk1, false);
    setup(&desk2, false);
    let o1 = order(&desk1, "One", STORE_A);
    let o2 = order(&desk2, "Two", STORE_B);
    // Each desk's orders reach the other (as sync would bring them).
    for (from, to, id) in [(&desk1, &desk2, &o1), (&desk2, &desk1, &o2)] {
        let oid = crate::domain::OrderId::new(id.clone());
        to.merge_remote(&oid, &from.doc_bytes(&oid).unwrap())
            .unwrap();
    }
    let s1 = plan(&desk1, DAY).unwrap();
    let s2 = plan(&desk2, DAY).unwrap();
    assert_eq!(s1.id, s2.id, "the same session, made apart");
    act(
        &desk1,
        &s1.id,
        SessionAction::AttachOrders {
            order_ids: vec![o1.clone()],
        },
    )
    .unwrap();
    act(
        &desk2,
        &s2.id,
        SessionAction::AttachOrders {
            order_ids: vec![o2.clone()],
        },
    )
    .unwrap();
    let (b1, _) = desk1.session_document(&s1.id).unwrap().unwrap();
    let (b2, _) = desk2.session_document(&s2.id).unwrap().unwrap();
    assert!(desk1.merge_session(&s1.id, &b2).unwrap());
    assert!(desk2.merge_session(&s2.id, &b1).unwrap());
    let v1 = desk1
        .execute(Request::GetSession {
            session_id: s1.id.clone(),
        })
        .unwrap();
    let v2 = desk2
        .execute(Request::GetSession {
            session_id: s1.id.clone(),
        })
        .unwrap();
    let (Response::Session(v1), Response::Session(v2)) = (v1, v2) else {
        panic!()
    };
    assert_eq!(v1.orders.len(), 2);
    let ids = |v: &SessionView| {
        v.orders
            .iter()
            .map(|o| o.order_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&v1), ids(&v2));
    assert_eq!(v1.history.len(), v2.history.len());
    // Both planned it: one planning holds, the other is in the record as set aside.
    assert_eq!(v1.history.iter().filter(|h| h.what == "planned").count(), 1);
}

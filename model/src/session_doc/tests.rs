//! Route session rules: the state table, the shared identity, the guard, and
//! desks that plan, attach and build apart.

use super::*;
use app_api::trips::TripStatus;
use automerge::AutoCommit;
use proptest::prelude::*;
use ruta_domain::Role;
use ruta_domain::hlc::node_of;

fn actor(user: &str, role: Role, device: &str) -> Actor {
    Actor {
        user: UserId::new(user),
        role,
        device: DeviceId::new(device),
    }
}

const DESK: &str = "d1d1d1d1d1d1d1d1";
const DESK2: &str = "d2d2d2d2d2d2d2d2";
const PHONE: &str = "c1c1c1c1c1c1c1c1";

fn desk() -> Actor {
    actor("d1", Role::Dispatcher, DESK)
}
fn desk2() -> Actor {
    actor("d2", Role::Admin, DESK2)
}
fn courier() -> Actor {
    actor("c1", Role::Courier, PHONE)
}
fn p(a: &Actor) -> Principal {
    Principal {
        user: a.user.clone(),
        role: a.role,
    }
}

struct Clock(i64);
impl Clock {
    fn ev(&mut self, a: &Actor, change: SessionChange) -> SessionEvent {
        self.0 += 1000;
        SessionEvent {
            at: Hlc {
                wall_ms: self.0,
                counter: 0,
                node: node_of(a.device.as_str()),
            },
            actor: a.clone(),
            change,
        }
    }
}

fn planned() -> SessionChange {
    SessionChange::Planned {
        name: "Bakery run".into(),
        vehicle: Some("van-1".into()),
        start: "07:00".into(),
    }
}
fn attach(o: &str) -> SessionChange {
    SessionChange::OrderAttached {
        order: OrderId::new(o),
    }
}
fn detach(o: &str) -> SessionChange {
    SessionChange::OrderDetached {
        order: OrderId::new(o),
    }
}
const TRIP_A: &str = "0b8a6a2e-7f5e-4f1e-9d5c-0a1b2c3d4e5f";
const TRIP_B: &str = "1c9b7b3f-8a6f-4a2f-8e6d-1b2c3d4e5f60";
fn built(t: &str) -> SessionChange {
    SessionChange::TripBuilt { trip: t.into() }
}

#[test]
fn the_session_table() {
    let mut c = Clock(0);
    let d = desk();
    // Nothing counts before the session is planned.
    let st = derive(&[c.ev(&d, attach("o1"))]);
    assert!(st.orders.is_empty());
    assert_eq!(st.ignored.len(), 1);

    let mut events = vec![c.ev(&d, planned()), c.ev(&d, attach("o1"))];
    events.push(c.ev(&d, attach("o2")));
    events.push(c.ev(&d, detach("o1")));
    events.push(c.ev(&d, attach("o3")));
    let st = derive(&events);
    assert_eq!(st.name(), Some("Bakery run"));
    assert_eq!(st.start(), Some("07:00"));
    assert_eq!(st.vehicle(), Some("van-1"));
    assert_eq!(
        st.orders,
        vec![OrderId::new("o2"), OrderId::new("o3")],
        "membership by the later stamp, in attach order"
    );
    assert_eq!(st.status_with(None), SessionStatus::Planned);
    assert_eq!(
        st.status_with(Some(TripStatus::Published)),
        SessionStatus::Planned
    );
    assert_eq!(
        st.status_with(Some(TripStatus::Started)),
        SessionStatus::InProgress
    );
    assert_eq!(
        st.status_with(Some(TripStatus::Completed)),
        SessionStatus::Completed
    );

    // A second planning is one session, the first holds.
    events.push(c.ev(
        &d,
        SessionChange::Planned {
            name: "Renamed".into(),
            vehicle: None,
            start: "09:00".into(),
        },
    ));
    let st = derive(&events);
    assert_eq!(st.name(), Some("Bakery run"));
    assert!(
        st.ignored
            .iter()
            .any(|(_, why)| why.contains("already planned"))
    );

    // The first trip built is the session's; a later one is a conflict.
    events.push(c.ev(&d, built(TRIP_A)));
    events.push(c.ev(&d, built(TRIP_B)));
    let st = derive(&events);
    assert_eq!(st.trip.as_deref(), Some(TRIP_A));
    assert_eq!(st.extra_trips, vec![TRIP_B.to_string()]);

    // Cancelled: nothing changes after it, whatever the trip does.
    events.push(c.ev(
        &d,
        SessionChange::Cancelled {
            reason: "driver ill".into(),
        },
    ));
    events.push(c.ev(&d, attach("o9")));
    let st = derive(&events);
    assert_eq!(st.cancelled.as_deref(), Some("driver ill"));
    assert!(!st.orders.contains(&OrderId::new("o9")));
    assert_eq!(
        st.status_with(Some(TripStatus::Started)),
        SessionStatus::Cancelled
    );
    assert!(st.ignored.iter().any(|(_, why)| why.contains("cancelled")));
    // The same state whatever order the events arrive in.
    let mut reversed = events.clone();
    reversed.reverse();
    assert_eq!(derive(&reversed), st);
}

#[test]
fn bad_values_name_their_field() {
    for (change, field) in [
        (
            SessionChange::Planned {
                name: " ".into(),
                vehicle: None,
                start: "07:00".into(),
            },
            "name",
        ),
        (
            SessionChange::Planned {
                name: "x".into(),
                vehicle: None,
                start: "24:00".into(),
            },
            "start",
        ),
        (attach(""), "order"),
        (built("not-a-uuid"), "trip"),
        (SessionChange::Cancelled { reason: "".into() }, "reason"),
    ] {
        assert_eq!(validate(&change).unwrap_err().field, field, "{change:?}");
    }
    assert!(validate(&planned()).is_ok());
    for (d, ok) in [
        ("2026-12-03", true),
        ("2028-02-29", true),
        ("2026-02-29", false),
        ("2026-13-01", false),
        ("2026-1-01", false),
        ("26-12-0301", false),
    ] {
        assert_eq!(valid_date(d), ok, "{d}");
    }
}

#[test]
fn every_desk_makes_the_same_session_and_another_driver_another() {
    let c1 = UserId::new("c1");
    let mut a = create("bakery", "2026-12-03", &c1, &DeviceId::new(DESK)).unwrap();
    let mut b = create("bakery", "2026-12-03", &c1, &DeviceId::new(DESK2)).unwrap();
    assert_eq!(a.heads(), b.heads());
    let mut other = create(
        "bakery",
        "2026-12-03",
        &UserId::new("c2"),
        &DeviceId::new(DESK),
    )
    .unwrap();
    assert_ne!(other.heads(), a.heads());
    assert_eq!(
        identity_of(a.automerge()),
        Some(("bakery".into(), "2026-12-03".into(), c1.clone()))
    );
    assert_eq!(driver_of(b.automerge()), Some(c1.clone()));
    assert_eq!(
        session_id("bakery", "2026-12-03", &c1),
        session_id("bakery", "2026-12-03", &c1)
    );
    assert_ne!(
        session_id("bakery", "2026-12-03", &c1),
        session_id("bakery", "2026-12-04", &c1)
    );
    assert!(crate::ids::doc_id_of_uuid(&session_id("bakery", "2026-12-03", &c1)).is_some());
}

#[test]
fn the_guard_takes_what_operators_write_and_refuses_the_driver_and_forgeries() {
    let mut c = Clock(0);
    let c1 = UserId::new("c1");
    let id = crate::ids::doc_id_of_uuid(&session_id("bakery", "2026-12-03", &c1)).unwrap();
    let empty = AutoCommit::new();
    let mut d = create("bakery", "2026-12-03", &c1, &DeviceId::new(DESK)).unwrap();
    d.append(&c.ev(&desk(), planned())).unwrap();
    assert_eq!(
        check_write(&id, &empty, d.automerge(), &p(&desk()))
            .unwrap()
            .len(),
        1
    );
    // Not under another session's id (the id is the route, day and driver).
    let other = crate::ids::doc_id_of_uuid(&session_id("bakery", "2026-12-04", &c1)).unwrap();
    assert!(matches!(
        check_write(&other, &empty, d.automerge(), &p(&desk())),
        Err(SessionRefusal::WrongSession(_))
    ));
    let before = d.automerge().clone();
    let try_write = |who: &Actor, claimed: &Actor, change: SessionChange, c: &mut Clock| {
        let mut doc = load(&before.clone().save(), &who.device).unwrap();
        doc.append(&c.ev(claimed, change)).unwrap();
        check_write(&id, &before, doc.automerge(), &p(who))
    };
    // The driver reads the session but does not change it.
    assert!(matches!(
        try_write(&courier(), &courier(), attach("o1"), &mut c),
        Err(SessionRefusal::NotPermitted { .. })
    ));
    // Nor may anyone write as a dispatcher they are not.
    assert!(matches!(
        try_write(&courier(), &desk(), attach("o1"), &mut c),
        Err(SessionRefusal::Append(AppendRefusal::Impersonation { .. }))
    ));
    // An admin on another desk attaches; a bad trip id is refused with its field.
    assert!(try_write(&desk2(), &desk2(), attach("o1"), &mut c).is_ok());
    let e = try_write(&desk(), &desk(), built("x"), &mut c).unwrap_err();
    assert!(e.to_string().contains("trip"), "{e}");
    // The driver in the root may not be changed.
    let mut doc = load(&before.clone().save(), &DeviceId::new(DESK)).unwrap();
    {
        use automerge::transaction::Transactable;
        doc.automerge_mut()
            .put(automerge::ROOT, "driver", "c2")
            .unwrap();
    }
    assert!(matches!(
        check_write(&id, &before, doc.automerge(), &p(&desk())),
        Err(SessionRefusal::Append(AppendRefusal::RootChanged(_)))
    ));
}

#[derive(Clone, Debug)]
enum Step {
    Plan { desk: usize },
    Attach { desk: usize, order: usize },
    Detach { desk: usize, order: usize },
    Build { desk: usize },
    Sync { a: usize, b: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (0..2usize).prop_map(|desk| Step::Plan { desk }),
        4 => (0..2usize, 0..5usize).prop_map(|(desk, order)| Step::Attach { desk, order }),
        2 => (0..2usize, 0..5usize).prop_map(|(desk, order)| Step::Detach { desk, order }),
        1 => (0..2usize).prop_map(|desk| Step::Build { desk }),
        3 => (0..2usize, 0..2usize).prop_map(|(a, b)| Step::Sync { a, b }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    /// Two desks each make the day's session on their own (from the
    /// schedule, neither having seen the other's), plan, attach, detach and
    /// build trips while apart, and meet: both hold every event (no write
    /// lost to competing roots), derive the same state, have at most one
    /// session trip with every other trip built reported, and every order
    /// attached exactly once or not at all.
    #[test]
    fn two_desks_planning_apart_converge_to_one_session(steps in proptest::collection::vec(step(), 1..40)) {
        let who = [desk(), desk2()];
        let c1 = UserId::new("c1");
        let mut replicas: Vec<SessionDoc> = who
            .iter()
            .map(|a| create("bakery", "2026-12-03", &c1, &a.device).unwrap())
            .collect();
        let mut clocks = [0i64; 2];
        let mut written = 0usize;
        let mut trips = 0usize;
        for s in &steps {
            let mut write = |w: usize, change: SessionChange, replicas: &mut Vec<SessionDoc>| {
                clocks[w] += 7 + w as i64;
                let e = SessionEvent {
                    at: Hlc { wall_ms: clocks[w], counter: 0, node: node_of(who[w].device.as_str()) },
                    actor: who[w].clone(),
                    change,
                };
                replicas[w].append(&e).unwrap();
                written += 1;
            };
            match s.clone() {
                Step::Sync { a, b } if a != b => {
                    let theirs = replicas[b].save();
                    replicas[a].merge_bytes(&theirs).unwrap();
                }
                Step::Sync { .. } => {}
                Step::Plan { desk } => write(desk, planned(), &mut replicas),
                Step::Attach { desk, order } => write(desk, attach(&format!("o{order}")), &mut replicas),
                Step::Detach { desk, order } => write(desk, detach(&format!("o{order}")), &mut replicas),
                Step::Build { desk } => {
                    trips += 1;
                    let t = uuid::Builder::from_random_bytes([trips as u8; 16]).into_uuid().to_string();
                    write(desk, built(&t), &mut replicas);
                }
            }
        }
        let all: Vec<Vec<u8>> = replicas.iter_mut().map(|r| r.save()).collect();
        for r in replicas.iter_mut() {
            for b in &all { r.merge_bytes(b).unwrap(); }
        }
        let states: Vec<SessionState> = replicas.iter().map(|r| derive(&r.events())).collect();
        for (r, st) in replicas.iter().zip(&states) {
            prop_assert_eq!(r.events().len(), written, "a write was lost");
            prop_assert_eq!(st, &states[0]);
        }
        let st = &states[0];
        let mut orders = st.orders.clone();
        orders.sort();
        orders.dedup();
        prop_assert_eq!(orders.len(), st.orders.len(), "an order attached twice");
        if st.planned.is_some() {
            // Every trip built after the planning is the session's or reported.
            let counted = st.trip.iter().count() + st.extra_trips.len();
            prop_assert!(counted <= trips);
            prop_assert!(st.trip.is_some() || st.extra_trips.is_empty());
        } else {
            prop_assert!(st.orders.is_empty() && st.trip.is_none());
        }
    }
}

fn point(name: &str, warehouse: Option<&str>, lat: f64, lon: f64) -> app_api::config::RoutePoint {
    app_api::config::RoutePoint {
        name: name.into(),
        warehouse: warehouse.map(str::to_owned),
        address: String::new(),
        position: app_api::Point { lat, lon },
    }
}

fn route(id: &str, auto: bool, points: Vec<app_api::config::RoutePoint>) -> Route {
    Route {
        id: id.into(),
        name: id.into(),
        points,
        drivers: vec!["c1".into()],
        vehicle: None,
        weekdays: vec![1, 2, 3, 4, 5],
        start: "07:00".into(),
        auto_attach: auto,
        attach_radius_m: 150,
    }
}

#[test]
fn an_order_joins_the_route_whose_points_hold_all_its_stops() {
    let hub = point("Hub", Some("hub-1"), 60.1945, 24.951);
    let store_a = point("Store A", None, 60.1700, 24.9400);
    let store_b = point("Store B", None, 60.1600, 24.9200);
    let bakery = route("bakery", true, vec![hub.clone(), store_a.clone()]);
    let grocer = route("grocer", true, vec![hub.clone(), store_b.clone()]);
    let manual = route("manual", false, vec![hub.clone(), store_b.clone()]);
    let routes = vec![bakery.clone(), grocer.clone(), manual];
    let at_hub = StopPlace {
        warehouse: Some("hub-1"),
        position: None,
    };
    // 50 m from store A, 2 km from B.
    let near_a = StopPlace {
        warehouse: None,
        position: Some((60.17045, 24.9400)),
    };
    assert_eq!(point_of(&bakery, at_hub), Some((0, 0.0)));
    let (i, d) = point_of(&bakery, near_a).unwrap();
    assert_eq!(i, 1);
    assert!((40.0..60.0).contains(&d), "{d}");
    assert_eq!(point_of(&grocer, near_a), None);
    assert_eq!(
        route_for(&routes, &[at_hub, near_a]).map(|r| r.id.as_str()),
        Some("bakery")
    );
    // A drop-off off every route: no route, even though the pickup is the hub.
    let elsewhere = StopPlace {
        warehouse: None,
        position: Some((60.25, 25.05)),
    };
    assert_eq!(route_for(&routes, &[at_hub, elsewhere]), None);
    // Only the hub (both routes hold it): the tie goes to the lower id.
    assert_eq!(
        route_for(&routes, &[at_hub]).map(|r| r.id.as_str()),
        Some("bakery")
    );
    // Near store B: the grocer (the manual route never attaches by itself).
    let near_b = StopPlace {
        warehouse: None,
        position: Some((60.1601, 24.9201)),
    };
    assert_eq!(
        route_for(&routes, &[at_hub, near_b]).map(|r| r.id.as_str()),
        Some("grocer")
    );
    assert_eq!(route_for(&routes, &[]), None);
}

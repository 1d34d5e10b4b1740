//! Tests of `core` (kept beside it so the module reads on its own).

use super::*;
use crate::clock::ManualClock;
use app_api::{DeliveryStatus, OrderQuery, Point};

fn core() -> (tempfile::TempDir, Core, Arc<ManualClock>) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let core = Core::open_with_clock(dir.path(), clock.clone())
        .unwrap()
        .or_dispatcher();
    (dir, core, clock)
}

fn create(core: &Core, name: &str) -> OrderSummary {
    let new = NewOrder::simple(name, " Pohjoisesplanadi 11 ", "Fredrikinkatu 34");
    match core.execute(Request::CreateOrder(new)).unwrap() {
        Response::Order(o) => o,
        other => panic!("{other:?}"),
    }
}

fn list(core: &Core, q: OrderQuery) -> (Vec<OrderSummary>, u64) {
    match core.execute(Request::ListOrders(q)).unwrap() {
        Response::Orders { orders, total } => (orders, total),
        other => panic!("{other:?}"),
    }
}

fn act(core: &Core, order: &OrderSummary, action: Action) -> Result<Response, ApiError> {
    core.execute(Request::Act {
        order_id: order.id.clone(),
        action,
    })
}

fn session(core: &Core, user: &str, role: Role) {
    core.set_session(user, role).unwrap();
}

#[test]
fn create_list_filter_and_search() {
    let (_dir, core, clock) = core();
    let first = create(&core, "Aino Mäkelä");
    clock.advance(1_000);
    let second = create(&core, "Björn Lindqvist");
    assert_eq!(first.status, DeliveryStatus::Pending);
    assert_eq!(first.pickup_address, "Pohjoisesplanadi 11", "trimmed");
    assert_eq!(
        second.created_at_ms - first.created_at_ms,
        1_000,
        "time comes from the clock"
    );
    assert_eq!(first.created_on, core.device_id());
    assert!(first.price_cents > 0, "priced by the tariff");

    let (all, total) = list(
        &core,
        OrderQuery {
            descending: true,
            ..Default::default()
        },
    );
    assert_eq!(total, 2);
    assert_eq!(all, vec![second.clone(), first.clone()]);
    let (found, _) = list(
        &core,
        OrderQuery {
            search: Some("makel".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        found,
        vec![first.clone()],
        "diacritics-insensitive prefix search"
    );
    let (found, _) = list(
        &core,
        OrderQuery {
            search: Some(second.reference.clone()),
            ..Default::default()
        },
    );
    assert_eq!(found, vec![second.clone()]);
    let (none, total) = list(
        &core,
        OrderQuery {
            statuses: vec![DeliveryStatus::Delivered],
            ..Default::default()
        },
    );
    assert!(none.is_empty() && total == 0);
    let (page, total) = list(
        &core,
        OrderQuery {
            limit: 1,
            offset: 1,
            ..Default::default()
        },
    );
    assert_eq!((page.len(), total), (1, 2));
}

#[test]
fn open_work_is_what_the_lifecycle_calls_open() {
    let (_dir, core, _clock) = core();
    session(&core, "dana", Role::Dispatcher);
    let pending = create(&core, "Pending");
    let assigned = create(&core, "Assigned");
    let delivered = create(&core, "Delivered");
    for o in [&assigned, &delivered] {
        act(
            &core,
            o,
            Action::Assign {
                courier: "c1".into(),
            },
        )
        .unwrap();
    }
    act(&core, &delivered, Action::RecordCarrierDelivery).unwrap_err();
    session(&core, "c1", Role::Courier);
    for a in [Action::PickUp, Action::StartTransit] {
        act(&core, &delivered, a).unwrap();
    }
    act(&core, &delivered, Action::Deliver { pods: vec![] }).unwrap();
    session(&core, "dana", Role::Dispatcher);
    let ids = |q: OrderQuery| -> Vec<String> {
        let (orders, total) = list(&core, q);
        assert_eq!(total as usize, orders.len());
        orders.into_iter().map(|o| o.id).collect()
    };
    let open = OrderQuery {
        open_work: true,
        ..Default::default()
    };
    assert_eq!(ids(open.clone()), vec![assigned.id.clone()]);
    // Combined with statuses: the intersection, and nothing when it is empty.
    let both = OrderQuery {
        statuses: vec![DeliveryStatus::Assigned, DeliveryStatus::Delivered],
        ..open.clone()
    };
    assert_eq!(ids(both), vec![assigned.id.clone()]);
    let none = OrderQuery {
        statuses: vec![DeliveryStatus::Delivered],
        ..open
    };
    assert!(ids(none).is_empty());
    assert_eq!(ids(OrderQuery::default()).len(), 3, "{pending:?}");
    // Each summary says which stop comes next, as the lifecycle decides.
    let (all, _) = list(&core, OrderQuery::default());
    for o in all {
        let want = if o.id == delivered.id {
            app_api::StopKind::Dropoff
        } else {
            app_api::StopKind::Pickup
        };
        assert_eq!(o.next_stop, want, "{}", o.customer_name);
    }
}

#[test]
fn search_follows_an_edited_address() {
    let (_dir, core, _) = core();
    let order = create(&core, "Aino");
    act(
        &core,
        &order,
        Action::EditDropoffAddress {
            address: "Unioninkatu 45".into(),
            point: None,
        },
    )
    .unwrap();
    let search = |text: &str| {
        list(
            &core,
            OrderQuery {
                search: Some(text.into()),
                ..Default::default()
            },
        )
        .0
        .len()
    };
    assert_eq!(search("Unioninkatu"), 1);
    assert_eq!(
        search("Fredrikinkatu"),
        0,
        "the old address is gone from the index"
    );
    assert_eq!(search("Pohjoisesplanadi"), 1, "the pickup is still found");
    act(
        &core,
        &order,
        Action::AddNote {
            text: "called".into(),
        },
    )
    .unwrap();
    assert_eq!(
        search("Unioninkatu"),
        1,
        "an update that leaves the text alone keeps it"
    );
}

#[test]
fn a_delivery_runs_through_the_lifecycle_on_one_device() {
    let (_dir, core, clock) = core();
    let mut new = NewOrder::simple("Eeva", "Aleksanterinkatu 52", "Annankatu 25");
    new.pod.signature = true;
    new.pickup_point = Some(Point {
        lat: 60.1687,
        lon: 24.9420,
    });
    new.dropoff_point = Some(Point {
        lat: 60.1660,
        lon: 24.9383,
    });
    let Response::Order(order) = core.execute(Request::CreateOrder(new)).unwrap() else {
        panic!()
    };
    act(
        &core,
        &order,
        Action::Assign {
            courier: "aki".into(),
        },
    )
    .unwrap();
    session(&core, "aki", Role::Courier);
    clock.advance(60_000);
    act(&core, &order, Action::PickUp).unwrap();
    let err = act(&core, &order, Action::Deliver { pods: vec![] }).unwrap_err();
    assert!(
        matches!(&err, ApiError::Refused { code, .. } if code == "pod_missing"),
        "{err:?}"
    );
    let err = act(&core, &order, Action::SetPrice { cents: 1 }).unwrap_err();
    assert!(
        matches!(&err, ApiError::Refused { code, .. } if code == "forbidden"),
        "{err:?}"
    );
    let pod = crate::engine::test_support::sign_for(&core, &order.id, false);
    let Response::Order(done) = act(
        &core,
        &order,
        Action::Deliver {
            pods: vec![pod.pod_id],
        },
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(done.status, DeliveryStatus::Delivered);
    assert_eq!(done.assignee.as_deref(), Some("aki"));

    let Response::OrderDetail(detail) = core
        .execute(Request::GetOrder {
            order_id: order.id.clone(),
        })
        .unwrap()
    else {
        panic!()
    };
    let kinds: Vec<&str> = detail.timeline.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "assigned",
            "picked_up",
            "pod_captured",
            "delivered"
        ]
    );
    assert!(detail.timeline.iter().all(|t| t.verdict == "applied"));
    assert_eq!(detail.pods.len(), 1);
    assert!(matches!(
        core.execute(Request::GetOrder {
            order_id: "nope".into()
        }),
        Err(ApiError::NotFound { .. })
    ));
}

#[test]
fn invalid_input_names_the_field_and_stores_nothing() {
    let (_dir, core, _) = core();
    let err = core
        .execute(Request::CreateOrder(NewOrder::simple("   ", "a", "b")))
        .unwrap_err();
    assert_eq!(
        err,
        ApiError::Invalid {
            field: "customer_name".into(),
            message: "must not be empty".into()
        }
    );
    let err = core
        .execute(Request::CreateOrder(NewOrder::simple("A", "a", "")))
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Invalid { field, .. } if field == "dropoff.address.line1"),
        "{err:?}"
    );
    let mut bad_point = NewOrder::simple("A", "a", "b");
    bad_point.dropoff_point = Some(Point {
        lat: 123.0,
        lon: 0.0,
    });
    assert!(matches!(
        core.execute(Request::CreateOrder(bad_point)),
        Err(ApiError::Invalid { .. })
    ));
    assert_eq!(core.order_count().unwrap(), 0);
    assert!(
        core.doc_ids().unwrap().is_empty(),
        "no document was left behind"
    );
}

#[test]
fn malformed_json_is_reported_not_panicked() {
    let (_dir, core, _) = core();
    let err = core.execute_json(br#"{"op":"create_order"}"#).unwrap_err();
    let ApiError::Malformed { message } = err else {
        panic!("{err:?}")
    };
    assert!(message.contains("customer_name"), "{message}");
    assert!(matches!(
        core.execute_json(b"\xff\xfe"),
        Err(ApiError::Malformed { .. })
    ));
}

#[test]
fn unwritable_data_dir_is_a_storage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(
        Core::open(&file.join("sub")),
        Err(ApiError::Storage { .. })
    ));
}

#[test]
fn the_projection_is_a_cache_that_rebuilds_identically() {
    let (_dir, core, clock) = core();
    for i in 0..5 {
        let o = create(&core, &format!("Customer {i}"));
        clock.advance(10);
        if i % 2 == 0 {
            act(
                &core,
                &o,
                Action::Assign {
                    courier: "aki".into(),
                },
            )
            .unwrap();
        }
    }
    let q = OrderQuery {
        descending: true,
        ..Default::default()
    };
    let before = list(&core, q.clone());
    assert_eq!(core.rebuild_projection().unwrap(), 5);
    assert_eq!(list(&core, q), before);
}

#[test]
fn two_devices_merge_documents_both_ways() {
    let (_d1, dispatcher, clock) = core();
    let dir2 = tempfile::tempdir().unwrap();
    let courier = Core::open_with_clock(dir2.path(), clock.clone())
        .unwrap()
        .or_dispatcher();
    session(&courier, "aki", Role::Courier);
    let order = create(&dispatcher, "Aino");
    act(
        &dispatcher,
        &order,
        Action::Assign {
            courier: "aki".into(),
        },
    )
    .unwrap();
    let id = OrderId::new(order.id.clone());
    let merged = courier
        .merge_remote(&id, &dispatcher.doc_bytes(&id).unwrap())
        .unwrap();
    assert!(merged.changed);
    assert_eq!(merged.status, DeliveryStatus::Assigned);
    clock.advance(1_000);
    act(&courier, &order, Action::PickUp).unwrap();
    dispatcher
        .merge_remote(&id, &courier.doc_bytes(&id).unwrap())
        .unwrap();
    assert_eq!(
        dispatcher.order_state(&id).unwrap().status,
        DeliveryStatus::PickedUp
    );
    let again = dispatcher
        .merge_remote(&id, &courier.doc_bytes(&id).unwrap())
        .unwrap();
    assert!(!again.changed, "nothing new the second time");
    let err = dispatcher.merge_remote(&id, b"garbage").unwrap_err();
    assert!(matches!(err, ApiError::Malformed { .. }), "{err:?}");
}

#[test]
fn exchange_sends_only_what_the_peer_lacks_and_says_when_it_is_behind() {
    let (_d1, a, clock) = core();
    let dir2 = tempfile::tempdir().unwrap();
    let b = Core::open_with_clock(dir2.path(), clock.clone())
        .unwrap()
        .or_dispatcher();
    let order = create(&a, "Aino");
    let id = OrderId::new(order.id.clone());
    // Not on b yet: behind as soon as the peer has anything; nothing to send.
    let none = b.exchange(&id, &a.heads(&id).unwrap()).unwrap();
    assert!(none.behind && none.for_peer.is_empty() && !none.pending);
    // A peer with nothing gets the whole document; a's own order is pending.
    let first = a.exchange(&id, &[]).unwrap();
    assert!(!first.behind && first.pending);
    assert_eq!(first.heads, a.heads(&id).unwrap());
    b.merge_remote(&id, &first.for_peer).unwrap();
    assert_eq!(b.heads(&id).unwrap(), first.heads);
    // Same heads: nothing to send.
    let same = b.exchange(&id, &first.heads).unwrap();
    assert!(!same.behind && same.for_peer.is_empty() && !same.pending);
    // b writes: a is behind b; b sends a only the new change, which a merges to b's heads.
    clock.advance(1_000);
    act(
        &b,
        &order,
        Action::AddNote {
            text: "gate 4".into(),
        },
    )
    .unwrap();
    assert!(a.exchange(&id, &b.heads(&id).unwrap()).unwrap().behind);
    let delta = b.exchange(&id, &first.heads).unwrap();
    assert!(delta.pending, "b's note is not confirmed");
    assert!(delta.for_peer.len() < first.for_peer.len());
    a.merge_remote(&id, &delta.for_peer).unwrap();
    assert_eq!(a.heads(&id).unwrap(), delta.heads);
    assert!(
        !b.confirm_synced(&id, delta.writes - 1, |_| true).unwrap(),
        "a write after the confirmed state keeps it pending"
    );
    assert!(b.exchange(&id, &delta.heads).unwrap().pending);
    assert!(b.confirm_synced(&id, delta.writes, |_| true).unwrap());
    assert!(!b.exchange(&id, &delta.heads).unwrap().pending);
}

#[test]
fn skeleton_orders_from_schema_1_become_documents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(crate::store::STORE_FILE);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
             CREATE TABLE orders (id TEXT PRIMARY KEY, reference TEXT NOT NULL UNIQUE,
                 customer_name TEXT NOT NULL, pickup_address TEXT NOT NULL,
                 dropoff_address TEXT NOT NULL, status TEXT NOT NULL,
                 created_at_ms INTEGER NOT NULL, created_on TEXT NOT NULL) STRICT;
             CREATE INDEX orders_by_created ON orders (created_at_ms DESC);
             INSERT INTO orders VALUES ('old-1', 'R-ABCD-0001', 'Kalle Öhman', 'Kalevankatu 6',
                 'Yrjönkatu 21', 'pending', 1700000000000, 'abcd');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let core = Core::open(dir.path()).unwrap().or_dispatcher();
    let (orders, _) = list(&core, OrderQuery::default());
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].reference, "R-ABCD-0001");
    assert_eq!(orders[0].customer_name, "Kalle Öhman");
    drop(core);
    let core = Core::open(dir.path()).unwrap().or_dispatcher();
    assert_eq!(core.order_count().unwrap(), 1, "imported once");
}

/// Five orders that differ in every sort key, listed by each key both ways and
/// filtered by zone and priority: the rows come in exactly the expected order.
#[test]
fn the_table_sorts_by_each_key_and_filters_by_zone_and_priority_in_row_order() {
    use app_api::{Priority, SortKey};
    let (_dir, core, clock) = core();
    core.set_zones(&[
        crate::domain::geo::Zone {
            id: crate::domain::ZoneId::new("west"),
            name: "West".into(),
            ring: vec![
                [24.90, 60.10],
                [24.94, 60.10],
                [24.94, 60.20],
                [24.90, 60.20],
            ],
        },
        crate::domain::geo::Zone {
            id: crate::domain::ZoneId::new("east"),
            name: "East".into(),
            ring: vec![
                [24.94, 60.10],
                [24.99, 60.10],
                [24.99, 60.20],
                [24.94, 60.20],
            ],
        },
    ])
    .unwrap();
    // name, priority, window end (minutes from the start), zone's longitude.
    let specs = [
        ("A", Priority::Normal, 90, 24.92),
        ("B", Priority::Urgent, 30, 24.96),
        ("C", Priority::Low, 240, 24.93),
        ("D", Priority::High, 60, 24.97),
        ("E", Priority::Normal, 120, 24.91),
    ];
    let t0 = clock.now_ms();
    let mut ids = std::collections::HashMap::new();
    for (name, priority, window_min, lon) in specs {
        let mut new = NewOrder::simple(name, "Kaivokatu 1", "Somewhere 1");
        new.priority = priority;
        new.dropoff_point = Some(Point { lat: 60.165, lon });
        new.dropoff_window = Some((t0, t0 + window_min * 60_000));
        let Response::Order(o) = core.execute(Request::CreateOrder(new)).unwrap() else {
            panic!()
        };
        ids.insert(o.id.clone(), name);
        clock.advance(1_000);
    }
    let by_name = |n: &str| ids.iter().find(|(_, v)| **v == n).unwrap().0.clone();
    // Touch C, then A: the most recently updated first when descending.
    for name in ["C", "A"] {
        core.execute(Request::Act {
            order_id: by_name(name),
            action: Action::AddNote {
                text: "called".into(),
            },
        })
        .unwrap();
        clock.advance(1_000);
    }
    let names = |q: OrderQuery| -> String {
        list(&core, q)
            .0
            .iter()
            .filter_map(|o| ids.get(&o.id).copied())
            .collect()
    };
    let sorted = |sort: SortKey, descending: bool| {
        names(OrderQuery {
            sort,
            descending,
            ..Default::default()
        })
    };
    // Created: A..E; references are issued in creation order too.
    assert_eq!(sorted(SortKey::Created, false), "ABCDE");
    assert_eq!(sorted(SortKey::Created, true), "EDCBA");
    assert_eq!(sorted(SortKey::Reference, false), "ABCDE");
    assert_eq!(sorted(SortKey::Reference, true), "EDCBA");
    // Priority: ties (A, E Normal) by creation, in the same direction.
    assert_eq!(sorted(SortKey::Priority, false), "CAEDB");
    assert_eq!(sorted(SortKey::Priority, true), "BDEAC");
    // Window end: B 30, D 60, A 90, E 120, C 240 minutes.
    assert_eq!(sorted(SortKey::WindowEnd, false), "BDAEC");
    assert_eq!(sorted(SortKey::WindowEnd, true), "CEADB");
    // Updated: B, D, E untouched since creation, then C, then A.
    assert_eq!(sorted(SortKey::Updated, false), "BDECA");
    assert_eq!(sorted(SortKey::Updated, true), "ACEDB");
    // Zone filter: west holds A, C, E; east B, D (newest first).
    let zone = |z: &str| {
        names(OrderQuery {
            zone: Some(z.into()),
            descending: true,
            ..Default::default()
        })
    };
    assert_eq!(zone("west"), "ECA");
    assert_eq!(zone("east"), "DB");
    // Priority filter: High and above, then Normal and above, by priority.
    let at_least = |p: Priority| {
        names(OrderQuery {
            min_priority: Some(p),
            sort: SortKey::Priority,
            descending: true,
            ..Default::default()
        })
    };
    assert_eq!(at_least(Priority::High), "BD");
    assert_eq!(at_least(Priority::Normal), "BDEA");
    assert_eq!(at_least(Priority::Low), "BDEAC");
    // Both filters at once.
    assert_eq!(
        names(OrderQuery {
            zone: Some("east".into()),
            min_priority: Some(Priority::Urgent),
            ..Default::default()
        }),
        "B"
    );
}

#[test]
fn orders_added_to_a_published_trip_are_assigned_to_its_courier() {
    use app_api::trips::{NewTrip, TripAction};
    let (_dir, core, _) = core();
    let first = create(&core, "First");
    let later = create(&core, "Later");
    let trip = match core
        .execute(Request::CreateTrip(NewTrip {
            courier: "aki".into(),
            name: String::new(),
            vehicle: None,
            start_warehouse: None,
            order_ids: vec![first.id.clone()],
            optimise: false,
        }))
        .unwrap()
    {
        Response::Trip(t) => t,
        other => panic!("{other:?}"),
    };
    let trip_act = |action| {
        core.execute(Request::TripAct {
            trip_id: trip.id.clone(),
            action,
        })
        .unwrap()
    };
    trip_act(TripAction::Publish);
    // Added after publishing (urgently, as a courier's next stop would be):
    // the courier's device receives an order only once it is theirs.
    trip_act(TripAction::AddOrders {
        order_ids: vec![later.id.clone()],
        urgent: true,
    });
    for o in [&first, &later] {
        let state = core.order_state(&OrderId::new(o.id.clone())).unwrap();
        assert_eq!(state.assignee.as_ref().map(|a| a.as_str()), Some("aki"));
        assert_eq!(state.status, DeliveryStatus::Assigned);
    }
}

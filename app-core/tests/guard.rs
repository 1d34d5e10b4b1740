//! The guard against real documents written by real cores: the allowed write
//! of each role passes, and each kind of forged write is refused by name.

use app_api::{Action, NewOrder, Request, Response, Role};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT, ReadDoc};

use app_core::Core;
use ruta_domain::{OrderId, UserId};
use ruta_model::Principal;
use ruta_model::guard::*;

fn core(role: Role, user: &str) -> (tempfile::TempDir, Core) {
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open(dir.path()).unwrap();
    core.set_session(user, role).unwrap();
    (dir, core)
}

fn who(user: &str, role: Role) -> Principal {
    Principal {
        user: UserId::new(user),
        role,
    }
}

/// A dispatcher's order assigned to courier "c1": (order id, dispatcher core).
fn assigned_order() -> (tempfile::TempDir, Core, OrderId) {
    let (dir, disp) = core(Role::Dispatcher, "d1");
    let Response::Order(o) = disp
        .execute(Request::CreateOrder(NewOrder::simple(
            "Aino",
            "Mannerheimintie 1",
            "Bulevardi 2",
        )))
        .unwrap()
    else {
        panic!()
    };
    let id = OrderId::new(o.id);
    disp.act(
        &id,
        Action::Assign {
            courier: "c1".into(),
        },
    )
    .unwrap();
    (dir, disp, id)
}

fn doc(bytes: &[u8]) -> AutoCommit {
    AutoCommit::load(bytes).unwrap()
}

/// The courier's copy after it merged the dispatcher's doc and did `action`.
fn courier_after(disp: &Core, id: &OrderId, action: Action) -> (AutoCommit, AutoCommit) {
    let (_d, courier) = core(Role::Courier, "c1");
    let before = disp.doc_bytes(id).unwrap();
    courier.merge_remote(id, &before).unwrap();
    courier.act(id, action).unwrap();
    (doc(&before), doc(&courier.doc_bytes(id).unwrap()))
}

/// Puts `value` under `key` in the events map (a forged write).
fn put_event(d: &mut AutoCommit, key: &str, value: &str) {
    let (_, events) = d.get(ROOT, "events").unwrap().unwrap();
    d.put(&events, key, value).unwrap();
}

/// The newest event's (key, json) in `d`.
fn newest(d: &AutoCommit) -> (String, serde_json::Value) {
    let (_, events) = d.get(ROOT, "events").unwrap().unwrap();
    let key = d.keys(&events).max().unwrap();
    let (v, _) = d.get(&events, key.as_str()).unwrap().unwrap();
    let json = v.into_string().unwrap();
    (key, serde_json::from_str(&json).unwrap())
}

#[test]
fn a_courier_may_pick_up_their_own_order() {
    let (_d, disp, id) = assigned_order();
    let (before, after) = courier_after(&disp, &id, Action::PickUp);
    assert_eq!(
        check_write(&before, &after, &id, &who("c1", Role::Courier)).map(|e| e.len()),
        Ok(1)
    );
    // The same change from a connection authenticated as another courier is impersonation.
    assert!(matches!(
        check_write(&before, &after, &id, &who("c2", Role::Courier)),
        Err(WriteRefusal::Impersonation { .. })
    ));
}

#[test]
fn a_courier_cannot_set_price_cod_or_assignment_even_in_their_own_name() {
    let (_d, disp, id) = assigned_order();
    for body in [
        serde_json::json!({"type": "price_set", "cents": 1}),
        serde_json::json!({"type": "cod_set", "cents": 0}),
        serde_json::json!({"type": "assigned", "courier": "c1"}),
    ] {
        let (before, mut after) = courier_after(&disp, &id, Action::PickUp);
        // Forge: take the courier's genuine event and swap its body.
        let (key, mut event) = newest(&after);
        event["body"] = body.clone();
        put_event(&mut after, &key, &event.to_string());
        let got = check_write(&before, &after, &id, &who("c1", Role::Courier));
        assert!(
            matches!(got, Err(WriteRefusal::NotPermitted { .. })),
            "{body}: {got:?}"
        );
    }
}

#[test]
fn an_event_stamped_under_another_devices_node_is_refused() {
    // A courier who knows the dispatcher's device (its events carry it) keys
    // its own, otherwise genuine, event under that device's node: where the
    // dispatcher's next events go.
    let (_d, disp, id) = assigned_order();
    let (before, after) = courier_after(&disp, &id, Action::PickUp);
    let (_, mut event) = newest(&after);
    let (_, theirs) = newest(&before);
    let mut at: ruta_domain::hlc::Hlc = serde_json::from_value(theirs["at"].clone()).unwrap();
    at.wall_ms += 10_000;
    event["at"] = serde_json::to_value(at).unwrap();
    let mut forged = before.clone();
    put_event(&mut forged, &at.to_string(), &event.to_string());
    let got = check_write(&before, &forged, &id, &who("c1", Role::Courier));
    assert!(
        matches!(got, Err(WriteRefusal::ForeignKey { .. })),
        "{got:?}"
    );
}

#[test]
fn a_courier_who_lost_the_order_may_push_only_what_they_did_while_it_was_theirs() {
    // c1 picks up offline while the dispatcher reassigns the order to c2.
    let (_d, disp, id) = assigned_order();
    let (_dc, courier) = core(Role::Courier, "c1");
    courier
        .merge_remote(&id, &disp.doc_bytes(&id).unwrap())
        .unwrap();
    courier.act(&id, Action::PickUp).unwrap();
    disp.act(
        &id,
        Action::Assign {
            courier: "c2".into(),
        },
    )
    .unwrap();
    let before = doc(&disp.doc_bytes(&id).unwrap());
    let mut after = before.clone();
    after
        .merge(&mut doc(&courier.doc_bytes(&id).unwrap()))
        .unwrap();
    assert_eq!(
        check_write(&before, &after, &id, &who("c1", Role::Courier)).map(|e| e.len()),
        Ok(1),
        "the offline pick-up reaches the server"
    );
    // The same event as if made after c1 saw the order was c2's: refused.
    let (_, events) = after.get(ROOT, "events").unwrap().unwrap();
    let mut event: serde_json::Value = after
        .keys(&events)
        .map(|k| {
            let (v, _) = after.get(&events, k.as_str()).unwrap().unwrap();
            serde_json::from_str::<serde_json::Value>(&v.into_string().unwrap()).unwrap()
        })
        .find(|e| e["body"]["type"] == "picked_up")
        .expect("c1's pick-up");
    event["seen"]["assignee"] = "c2".into();
    let mut forged = before.clone();
    let key = event["at"].as_str().map(str::to_owned).unwrap_or_else(|| {
        serde_json::from_value::<ruta_domain::hlc::Hlc>(event["at"].clone())
            .unwrap()
            .to_string()
    });
    put_event(&mut forged, &key, &event.to_string());
    assert!(matches!(
        check_write(&before, &forged, &id, &who("c1", Role::Courier)),
        Err(WriteRefusal::NotHolder { .. })
    ));
    // A courier who never held it gets nothing written either.
    assert!(check_write(&before, &after, &id, &who("c3", Role::Courier)).is_err());
}

#[test]
fn the_dispatcher_may_set_the_price() {
    let (_d, disp, id) = assigned_order();
    let before = doc(&disp.doc_bytes(&id).unwrap());
    disp.act(&id, Action::SetPrice { cents: 1234 }).unwrap();
    let after = doc(&disp.doc_bytes(&id).unwrap());
    assert_eq!(
        check_write(&before, &after, &id, &who("d1", Role::Dispatcher)).map(|e| e.len()),
        Ok(1)
    );
}

#[test]
fn history_cannot_be_rewritten_or_deleted() {
    let (_d, disp, id) = assigned_order();
    let before = doc(&disp.doc_bytes(&id).unwrap());
    let (key, mut event) = newest(&before);
    event["body"] = serde_json::json!({"type": "assigned", "courier": "c9"});
    let mut edited = before.clone();
    put_event(&mut edited, &key, &event.to_string());
    let boss = who("d1", Role::Dispatcher);
    assert_eq!(
        check_write(&before, &edited, &id, &boss),
        Err(WriteRefusal::HistoryRewritten { key: key.clone() })
    );
    let mut deleted = before.clone();
    let (_, events) = deleted.get(ROOT, "events").unwrap().unwrap();
    deleted.delete(&events, key.as_str()).unwrap();
    assert_eq!(
        check_write(&before, &deleted, &id, &boss),
        Err(WriteRefusal::HistoryRewritten { key })
    );
    let mut extra = before.clone();
    extra.put(ROOT, "owner", "me").unwrap();
    assert_eq!(
        check_write(&before, &extra, &id, &boss),
        Err(WriteRefusal::RootChanged {
            key: "owner".into()
        })
    );
}

#[test]
fn malformed_or_misfiled_events_are_named() {
    let (_d, disp, id) = assigned_order();
    let (before, after) = courier_after(&disp, &id, Action::PickUp);
    let c1 = who("c1", Role::Courier);
    let mut garbage = before.clone();
    put_event(&mut garbage, "zzz", "{not json");
    assert!(matches!(
        check_write(&before, &garbage, &id, &c1),
        Err(WriteRefusal::BadEvent { key, .. }) if key == "zzz"
    ));
    let (_, event) = newest(&after);
    let mut misfiled = before.clone();
    put_event(&mut misfiled, "0000-elsewhere", &event.to_string());
    assert!(matches!(
        check_write(&before, &misfiled, &id, &c1),
        Err(WriteRefusal::BadEvent { problem, .. }) if problem.contains("its id is")
    ));
}

#[test]
fn new_orders_come_only_from_clients_for_themselves_or_operators() {
    let (_d, client) = core(Role::Client, "k1");
    let Response::Order(o) = client
        .execute(Request::CreateOrder(NewOrder::simple(
            "Eeva",
            "Kalevankatu 6",
            "Yrjönkatu 21",
        )))
        .unwrap()
    else {
        panic!()
    };
    let id = OrderId::new(o.id);
    let after = doc(&client.doc_bytes(&id).unwrap());
    let empty = AutoCommit::new();
    assert_eq!(
        check_write(&empty, &after, &id, &who("k1", Role::Client)).map(|e| e.len()),
        Ok(1)
    );
    // Another client cannot push it (it names k1), a courier cannot create orders.
    assert!(check_write(&empty, &after, &id, &who("k2", Role::Client)).is_err());
    assert!(check_write(&empty, &after, &id, &who("k1", Role::Courier)).is_err());
    // Synced under another order's id: refused.
    let other = OrderId::new(uuid::Uuid::new_v4().to_string());
    assert!(matches!(
        check_write(&empty, &after, &other, &who("k1", Role::Client)),
        Err(WriteRefusal::NotAnOrderDocument(_))
    ));
    // A document that is not an order at all.
    let mut junk = AutoCommit::new();
    junk.put(ROOT, "hello", "world").unwrap();
    assert!(matches!(
        check_write(&empty, &junk, &id, &who("k1", Role::Client)),
        Err(WriteRefusal::NotAnOrderDocument(_))
    ));
}

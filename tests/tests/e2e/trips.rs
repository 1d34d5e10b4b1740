//! Trips (run sheets) through a real `sync-server`: a dispatcher builds and
//! publishes one, the courier's device receives it and its orders, the
//! courier reorders offline while the dispatcher reorders the same stop, and
//! both end with one sequence and the lost move shown; the server refuses
//! what a modified courier or client sends.

use app_api::trips::{NewTrip, TripAction, TripStatus, TripView};
use app_api::{Request, Response};
use app_core::Core;
use ruta_e2e::{SyncServer, eventually};
use sync_client::{SyncClient, SyncConfig};

use crate::sync::{T, create, device, tenant};
use crate::sync_security::RawPeer;

fn trip(core: &Core, id: &str) -> Option<TripView> {
    match core.execute(Request::GetTrip { trip_id: id.into() }) {
        Ok(Response::Trip(t)) => Some(t),
        _ => None,
    }
}

fn trip_act(core: &Core, id: &str, action: TripAction) -> TripView {
    match core.execute(Request::TripAct {
        trip_id: id.into(),
        action,
    }) {
        Ok(Response::Trip(t)) => t,
        other => panic!("{other:?}"),
    }
}

/// `pdftotext -layout` of the trip's run sheet, made on `core`.
fn run_sheet_text(core: &Core, id: &str) -> String {
    use base64::Engine as _;
    let Ok(Response::Document(f)) =
        core.execute(Request::Document(app_api::DocumentRequest::RunSheet {
            trip_id: id.into(),
        }))
    else {
        panic!("no run sheet")
    };
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(f.data_base64)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheet.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn keys(t: &TripView) -> Vec<String> {
    t.stops.iter().map(|s| s.key.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_trip_reaches_its_courier_and_concurrent_reorders_end_in_one_sequence() {
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("c1", "courier"), ("c2", "courier")]);
    let server = SyncServer::start_in("trips-reorder", data);
    let disp = device(&server.url, &tokens["d1"]).await;
    let c1 = device(&server.url, &tokens["c1"]).await;
    let c2 = device(&server.url, &tokens["c2"]).await;
    let orders: Vec<String> = ["Aino", "Bertta", "Cecilia"]
        .iter()
        .map(|n| create(&disp.core, n))
        .collect();
    let Response::Trip(built) = disp
        .core
        .execute(Request::CreateTrip(NewTrip {
            courier: "c1".into(),
            name: "Morning".into(),
            vehicle: None,
            start_warehouse: None,
            order_ids: orders.clone(),
            optimise: false,
        }))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(built.status, TripStatus::Draft);
    assert_eq!(built.stops.len(), 6, "a pickup and a drop-off per order");
    let id = built.id.clone();
    // A courier cannot build one.
    let refused = c1.core.execute(Request::CreateTrip(NewTrip {
        courier: "c1".into(),
        name: String::new(),
        vehicle: None,
        start_warehouse: None,
        order_ids: orders.clone(),
        optimise: false,
    }));
    assert!(refused.is_err(), "{refused:?}");

    let published = trip_act(&disp.core, &id, TripAction::Publish);
    assert_eq!(published.status, TripStatus::Published);
    assert!(disp.client.wait_synced(T).await);
    // The run sheet lists every stop in sequence, each reference in order.
    let text = run_sheet_text(&disp.core, &id);
    let mut at = 0;
    for s in &published.stops {
        let found = text[at..]
            .find(&s.reference)
            .unwrap_or_else(|| panic!("{} after {at} in {text}", s.reference));
        at += found;
    }
    assert!(text.contains(&published.reference), "{text}");
    // The courier's device gets the trip and its orders (assigned at publish).
    assert!(
        eventually(T, async || trip(&c1.core, &id).is_some_and(|t| t.status
            == TripStatus::Published
            && t.stops.iter().all(|s| s.status.is_some())))
        .await,
        "the trip and its orders reach c1"
    );
    assert_eq!(keys(&trip(&c1.core, &id).unwrap()), keys(&published));
    // Nobody else sees it.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(trip(&c2.core, &id).is_none(), "c2 never receives c1's trip");

    // c1 goes offline and moves the third pickup first; the dispatcher, online,
    // moves the same stop to second place.
    c1.client.clone().stop().await;
    let seq = keys(&published);
    let last = seq[4].clone(); // the third order's pickup
    let mine = trip_act(
        &c1.core,
        &id,
        TripAction::MoveStop {
            stop: last.clone(),
            before: Some(seq[0].clone()),
        },
    );
    assert_eq!(mine.stops[0].key, last);
    // The dispatcher also moves another stop: both moves of different stops hold.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    trip_act(
        &disp.core,
        &id,
        TripAction::MoveStop {
            stop: last.clone(),
            before: Some(seq[2].clone()),
        },
    );
    let theirs = trip_act(
        &disp.core,
        &id,
        TripAction::MoveStop {
            stop: seq[1].clone(),
            before: None,
        },
    );
    assert_eq!(theirs.stops.last().unwrap().key, seq[1]);
    assert!(disp.client.wait_synced(T).await);

    // c1 comes back.
    let cfg = SyncConfig::new(url::Url::parse(&server.url).unwrap(), &tokens["c1"]);
    let back = SyncClient::start(c1.core.clone(), c1._dir.path(), cfg)
        .await
        .unwrap();
    let settled =
        |core: &Core| trip(core, &id).is_some_and(|t| !t.pending && t.lost_moves.len() == 1);
    assert!(
        eventually(T, async || settled(&c1.core)).await,
        "c1 settles"
    );
    assert!(
        eventually(T, async || trip(&disp.core, &id)
            .is_some_and(|t| t.lost_moves.len() == 1))
        .await,
        "the dispatcher sees the lost move"
    );
    let (a, b) = (trip(&disp.core, &id).unwrap(), trip(&c1.core, &id).unwrap());
    assert_eq!(keys(&a), keys(&b), "one sequence on both devices");
    let mut uniq = keys(&a);
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), 6, "every stop exactly once");
    // The dispatcher's move was later: it stands; c1's is the lost one.
    let lost = &a.lost_moves[0];
    assert_eq!(
        (lost.stop.as_str(), lost.by.as_str()),
        (last.as_str(), "c1")
    );
    assert_eq!(lost.overridden_by, "d1");
    // The dispatcher put it before the third stop, then moved the second last.
    assert_eq!(keys(&a)[1], last, "the later move of that stop stands");
    assert_eq!(
        keys(&a).last().unwrap(),
        &seq[1],
        "the other move holds too"
    );
    back.stop().await;
}

/// Modified clients: a courier publishing a trip, a courier writing another
/// courier's trip, a client reading one — each refused by the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_trip_writes_a_role_may_not_make() {
    use app_core::domain::{DeviceId, UserId};
    use app_core::trip_doc::{TripChange, TripEvent};
    let (data, tokens) = tenant(&[
        ("d1", "dispatcher"),
        ("c1", "courier"),
        ("c2", "courier"),
        ("k1", "client"),
    ]);
    let server = SyncServer::start_in("trips-guard", data);
    let disp = device(&server.url, &tokens["d1"]).await;
    let o = create(&disp.core, "Aino");
    let Response::Trip(t) = disp
        .core
        .execute(Request::CreateTrip(NewTrip {
            courier: "c1".into(),
            name: "Guarded".into(),
            vehicle: None,
            start_warehouse: None,
            order_ids: vec![o],
            optimise: false,
        }))
        .unwrap()
    else {
        panic!()
    };
    assert!(disp.client.wait_synced(T).await);
    let doc = app_core::ids::doc_id_of_uuid(&t.id).unwrap().to_string();

    // c1 (the trip's courier) reads it, but may not publish it.
    let mut c1 = RawPeer::join(&server.url, &tokens["c1"]).await;
    let (mut local, mut state) = c1.fetch(&doc).await;
    let device = "c1c1c1c1c1c1c1c1ab".to_owned();
    let forged = TripEvent {
        at: app_core::hlc::Hlc {
            wall_ms: 4_000_000_000_000,
            counter: 0,
            node: app_core::hlc::node_of(&device),
        },
        actor: app_core::domain::Actor {
            user: UserId::new("c1"),
            role: app_core::domain::Role::Courier,
            device: DeviceId::new(device.clone()),
        },
        change: TripChange::Published,
    };
    put_trip_event(&mut local, &forged);
    c1.push(&doc, &local, &mut state);
    let reason = c1.refusal(&doc).await.expect("refused per document");
    assert!(
        reason.contains("may not make a published event"),
        "{reason}"
    );

    // c2 gets nothing of it, and cannot write it.
    let mut c2 = RawPeer::join(&server.url, &tokens["c2"]).await;
    c2.request(&doc);
    assert!(
        c2.refusal(&doc).await.is_ok(),
        "c2 does not receive c1's trip"
    );
    // A client neither.
    let mut k1 = RawPeer::join(&server.url, &tokens["k1"]).await;
    k1.request(&doc);
    assert!(
        k1.refusal(&doc).await.is_ok(),
        "a client does not receive trips"
    );
    // The stored trip is still a draft.
    assert_eq!(trip(&disp.core, &t.id).unwrap().status, TripStatus::Draft);
}

fn put_trip_event(local: &mut automerge::Automerge, e: &app_core::trip_doc::TripEvent) {
    use automerge::ReadDoc;
    use automerge::transaction::Transactable;
    let (_, map) = local.get(automerge::ROOT, "events").unwrap().unwrap();
    let mut tx = local.transaction();
    tx.put(&map, e.id(), serde_json::to_string(e).unwrap())
        .unwrap();
    tx.commit();
}

/// In Chromium: a dispatcher builds a trip from three orders in the Trips
/// tab, moves a stop and publishes it; the device holds that sequence, the
/// trip is published and its orders are assigned to the courier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_builds_reorders_and_publishes_a_trip_in_the_browser() {
    use serde_json::json;
    let host = ruta_e2e::DeviceHost::start("device-trips");
    let mut references = Vec::new();
    let mut ids = Vec::new();
    for name in ["Aino", "Bertta", "Cecilia"] {
        let (code, order) = host
            .call(&json!({ "op": "create_order", "customer_name": name,
                "pickup_address": "Kaivokatu 1", "dropoff_address": "Bulevardi 14" }))
            .await;
        assert_eq!(code, 200, "{order}");
        references.push(order["reference"].as_str().unwrap().to_owned());
        ids.push(order["id"].as_str().unwrap().to_owned());
    }
    let shown = ruta_e2e::browser_phase(
        "trips.mjs",
        "build",
        &host.url,
        json!({ "courier": "c1", "references": references }),
    );
    let (code, list) = host
        .call(&json!({ "op": "list_trips", "open_only": false }))
        .await;
    assert_eq!(code, 200, "{list}");
    let trip = &list["trips"][0];
    assert_eq!(trip["status"], "published", "{list}");
    let (code, view) = host
        .call(&json!({ "op": "get_trip", "trip_id": trip["id"] }))
        .await;
    assert_eq!(code, 200, "{view}");
    let keys: Vec<&str> = view["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    let shown: Vec<&str> = shown["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(keys, shown, "the device holds the sequence the sheet shows");
    for id in &ids {
        let (_, d) = host
            .call(&json!({ "op": "get_order", "order_id": id }))
            .await;
        assert_eq!(
            d["summary"]["assignee"], "c1",
            "published: assigned to the courier"
        );
    }
}

/// In Chromium on the courier's phone, through a real server: the queue
/// follows the published trip's sequence, and the courier's move in the
/// queue is a move on the trip that the dispatcher's device receives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_couriers_queue_follows_the_trip_and_their_reorder_reaches_the_dispatcher() {
    use ruta_e2e::{DeviceHost, provision_tenant};
    use serde_json::{Value, json};
    let data = tempfile::tempdir().unwrap();
    let tokens = provision_tenant(
        data.path(),
        "acme",
        &[("d1", "dispatcher"), ("c1", "courier")],
    );
    let server = SyncServer::start_in("trips-courier-queue", data);
    let host = |name: &str, token: &str| DeviceHost::linked(name, &server.url, token);
    let desk = host("device-trip-desk", &tokens["d1"]);
    let phone = host("device-trip-phone", &tokens["c1"]);
    let call = async |h: &DeviceHost, r: Request| -> Value {
        let (code, body) = h.call(&serde_json::to_value(&r).unwrap()).await;
        assert_eq!(code, 200, "{r:?}: {body}");
        body
    };
    let mut ids = Vec::new();
    for name in ["Aino", "Bertta", "Cecilia"] {
        let o = call(
            &desk,
            Request::CreateOrder(app_api::NewOrder::simple(
                name,
                "Mannerheimintie 20",
                "Bulevardi 14",
            )),
        )
        .await;
        ids.push(o["id"].as_str().unwrap().to_owned());
    }
    ids.reverse();
    let t = call(
        &desk,
        Request::CreateTrip(NewTrip {
            courier: "c1".into(),
            name: "Evening".into(),
            vehicle: None,
            start_warehouse: None,
            order_ids: ids.clone(),
            optimise: false,
        }),
    )
    .await;
    let trip_id = t["id"].as_str().unwrap().to_owned();
    call(
        &desk,
        Request::TripAct {
            trip_id: trip_id.clone(),
            action: TripAction::Publish,
        },
    )
    .await;
    // The phone gets the trip and its orders, and picks them all up.
    let view = async |h: &DeviceHost| -> Option<TripView> {
        let (code, body) = h
            .call(&json!({ "op": "get_trip", "trip_id": trip_id }))
            .await;
        (code == 200)
            .then(|| serde_json::from_value::<Response>(body).ok())
            .flatten()
            .and_then(|r| match r {
                Response::Trip(t) => Some(t),
                _ => None,
            })
    };
    assert!(
        eventually(T, async || view(&phone)
            .await
            .is_some_and(|t| t.stops.iter().all(|s| s.status.is_some())))
        .await,
        "the trip and its orders reach the phone"
    );
    for id in &ids {
        call(
            &phone,
            Request::Act {
                order_id: id.clone(),
                action: app_api::Action::PickUp,
            },
        )
        .await;
    }
    let order_of = |t: &TripView| {
        let mut refs: Vec<String> = Vec::new();
        for s in t.stops.iter().filter(|s| !s.done) {
            if !refs.contains(&s.reference) {
                refs.push(s.reference.clone());
            }
        }
        refs
    };
    assert!(
        eventually(T, async || view(&phone)
            .await
            .is_some_and(|t| order_of(&t).len() == 3))
        .await
    );
    let expected = order_of(&view(&phone).await.unwrap());
    let shown = ruta_e2e::browser_phase(
        "courier-trip.mjs",
        "follow",
        &phone.url,
        json!({ "references": expected }),
    );
    let after: Vec<String> = serde_json::from_value(shown["after"].clone()).unwrap();
    assert_eq!(
        order_of(&view(&phone).await.unwrap()),
        after,
        "the trip holds the queue's order"
    );
    assert!(
        eventually(T, async || view(&desk)
            .await
            .is_some_and(|t| order_of(&t) == after))
        .await,
        "the dispatcher sees the courier's real order"
    );
}

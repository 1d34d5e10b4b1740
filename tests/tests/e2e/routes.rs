//! Routes and route sessions through a real `sync-server`: a dispatcher's
//! route (a staff-configuration change the server lets dispatchers make)
//! reaches the other desk; two desks, both offline, plan the same day's
//! session and attach different orders, and come back to one session with
//! both; its trip reaches the driver, who reads the session but may not
//! write it, and another courier never receives it.

use app_api::config::{ConfigChange, Route, RoutePoint};
use app_api::routes::{NewSession, SessionAction, SessionView};
use app_api::{Point, Request, Response};
use app_core::Core;
use ruta_e2e::{SyncServer, eventually};
use sync_client::{SyncClient, SyncConfig};

use crate::sync::{T, create, device, tenant};
use crate::sync_security::RawPeer;

const DAY: &str = "2026-12-04";

fn route() -> Route {
    let point = |name: &str, lat: f64, lon: f64| RoutePoint {
        name: name.into(),
        warehouse: None,
        address: format!("{name}, Helsinki"),
        position: Point { lat, lon },
    };
    Route {
        id: "bakery".into(),
        name: "Bakery run".into(),
        points: vec![
            point("Bakery", 60.1700, 24.9400),
            point("Cafe Ursula", 60.1590, 24.9560),
        ],
        drivers: vec!["c1".into()],
        vehicle: None,
        weekdays: vec![1, 2, 3, 4, 5],
        start: "07:00".into(),
        auto_attach: false,
        attach_radius_m: 150,
    }
}

fn get(core: &Core, id: &str) -> Option<SessionView> {
    match core.execute(Request::GetSession {
        session_id: id.into(),
    }) {
        Ok(Response::Session(s)) => Some(s),
        _ => None,
    }
}

fn sessions(core: &Core) -> usize {
    match core.execute(Request::ListSessions {
        from: DAY.into(),
        to: DAY.into(),
    }) {
        Ok(Response::Sessions { sessions }) => sessions.len(),
        _ => 0,
    }
}

fn plan(core: &Core) -> SessionView {
    let Response::Session(s) = core
        .execute(Request::PlanSession(NewSession {
            route: "bakery".into(),
            date: DAY.into(),
            driver: None,
        }))
        .unwrap()
    else {
        panic!()
    };
    s
}

fn attach(core: &Core, session: &str, order: &str) -> SessionView {
    let Response::Session(s) = core
        .execute(Request::SessionAct {
            session_id: session.into(),
            action: SessionAction::AttachOrders {
                order_ids: vec![order.into()],
            },
        })
        .unwrap()
    else {
        panic!()
    };
    s
}

fn has_route(core: &Core) -> bool {
    matches!(core.execute(Request::TenantConfig),
        Ok(Response::TenantConfig(v)) if v.config.routes.iter().any(|r| r.id == "bakery"))
}

async fn restart(core: &Core, dir: &std::path::Path, url: &str, token: &str) -> SyncClient {
    let cfg = SyncConfig::new(url::Url::parse(url).unwrap(), token);
    SyncClient::start(core.clone(), dir, cfg).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desks_planning_a_route_session_apart_meet_in_one_and_only_its_driver_reads_it() {
    let (data, tokens) = tenant(&[
        ("d1", "dispatcher"),
        ("d2", "dispatcher"),
        ("c1", "courier"),
        ("c2", "courier"),
    ]);
    let server = SyncServer::start_in("route-sessions", data);
    let desk1 = device(&server.url, &tokens["d1"]).await;
    let desk2 = device(&server.url, &tokens["d2"]).await;
    let phone = device(&server.url, &tokens["c1"]).await;
    let other = device(&server.url, &tokens["c2"]).await;

    // A dispatcher puts the route; the server takes it and every staff device gets it.
    desk1
        .core
        .execute(Request::ChangeConfig(ConfigChange::PutRoute(route())))
        .unwrap();
    assert!(desk1.client.wait_synced(T).await);
    assert!(
        eventually(T, async || has_route(&desk2.core)).await,
        "the route reaches the other desk"
    );
    assert!(
        eventually(T, async || has_route(&phone.core)).await,
        "and the driver's phone"
    );
    let o1 = create(&desk1.core, "Aino");
    let o2 = create(&desk1.core, "Bertta");
    assert!(desk1.client.wait_synced(T).await);
    assert!(
        eventually(T, async || crate::sync::status(&desk2.core, &o2).is_some()).await,
        "the orders reach the other desk"
    );

    // Both desks go offline and plan the same session, each attaching one order.
    desk1.client.clone().stop().await;
    desk2.client.clone().stop().await;
    let s1 = plan(&desk1.core);
    let s2 = plan(&desk2.core);
    assert_eq!(s1.id, s2.id, "one session, planned apart");
    assert!(attach(&desk1.core, &s1.id, &o1).pending);
    attach(&desk2.core, &s2.id, &o2);
    let _back1 = restart(&desk1.core, desk1._dir.path(), &server.url, &tokens["d1"]).await;
    let _back2 = restart(&desk2.core, desk2._dir.path(), &server.url, &tokens["d2"]).await;
    let both = |core: &Core| get(core, &s1.id).is_some_and(|s| s.orders.len() == 2 && !s.pending);
    assert!(
        eventually(T, async || both(&desk1.core)).await,
        "desk 1 holds both desks' orders"
    );
    assert!(
        eventually(T, async || both(&desk2.core)).await,
        "desk 2 holds both desks' orders"
    );
    let (a, b) = (
        get(&desk1.core, &s1.id).unwrap(),
        get(&desk2.core, &s1.id).unwrap(),
    );
    assert_eq!(a.orders, b.orders);
    assert_eq!(a.history.len(), b.history.len());

    // The trip is built; the driver's phone gets the session and its trip.
    let Response::Session(built) = desk2
        .core
        .execute(Request::SessionAct {
            session_id: s1.id.clone(),
            action: SessionAction::BuildTrip { optimise: false },
        })
        .unwrap()
    else {
        panic!()
    };
    let trip = built.trip.clone().unwrap();
    assert!(
        eventually(T, async || get(&phone.core, &s1.id)
            .is_some_and(|s| s.trip.as_deref() == Some(trip.as_str())))
        .await,
        "the driver reads the session with its trip"
    );
    assert_eq!(sessions(&phone.core), 1);
    assert!(
        eventually(T, async || matches!(
            phone.core.execute(Request::GetTrip {
                trip_id: trip.clone()
            }),
            Ok(Response::Trip(_))
        ))
        .await,
        "and the trip"
    );
    assert_eq!(sessions(&other.core), 0, "c2 does not receive it");

    // With a raw client: c2 is refused the document, and c1 may read but not write it.
    let doc = app_core::ids::doc_id_of_uuid(&s1.id).unwrap().to_string();
    let mut c2 = RawPeer::join(&server.url, &tokens["c2"]).await;
    c2.request(&doc);
    assert!(c2.refusal(&doc).await.is_ok(), "c2 may not open it");
    let c1 = RawPeer::join(&server.url, &tokens["c1"]).await;
    let (bytes, _) = phone.core.session_document(&s1.id).unwrap().unwrap();
    let mut forged = app_core::session_doc::load(
        &bytes,
        &app_core::domain::DeviceId::new("c1c1c1c1c1c1c1c1ab"),
    )
    .unwrap();
    let dev = "c1c1c1c1c1c1c1c1ab";
    forged
        .append(&app_core::session_doc::SessionEvent {
            at: app_core::hlc::Hlc {
                wall_ms: 1_900_000_000_000,
                counter: 0,
                node: app_core::hlc::node_of(dev),
            },
            actor: app_core::domain::Actor {
                user: app_core::domain::UserId::new("c1"),
                role: app_core::domain::Role::Courier,
                device: app_core::domain::DeviceId::new(dev),
            },
            change: app_core::session_doc::SessionChange::Cancelled {
                reason: "I'd rather not".into(),
            },
        })
        .unwrap();
    let local = automerge::Automerge::load(&forged.save()).unwrap();
    let mut c1 = c1;
    crate::cash::push_all(&c1, &doc, &local);
    let reason = c1.refusal(&doc).await.expect("refused");
    assert!(reason.contains("may not write"), "{reason}");
    assert!(
        get(&desk1.core, &s1.id).unwrap().cancelled_reason.is_none(),
        "the forged cancellation reached no desk"
    );
}

/// In Chromium: a dispatcher makes a route, plans a day of it on the
/// calendar, adds two orders from the table's bulk bar and builds the trip;
/// the device holds the session with both orders and a trip for its driver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_makes_a_route_plans_a_day_and_builds_its_trip_in_the_browser() {
    use serde_json::json;
    let pbf = ruta_e2e::workspace_root().join("data/osm/Helsinki.osm.pbf");
    let host = ruta_e2e::DeviceHost::start_with_env(
        "device-routes",
        tempfile::tempdir().unwrap(),
        &[("RUTA_OSM_PBF", pbf.as_os_str())],
    );
    let mut references = Vec::new();
    for name in ["Aino", "Bertta"] {
        let (code, order) = host
            .call(&json!({ "op": "create_order", "customer_name": name,
                "pickup_address": "Kaivokatu 1", "dropoff_address": "Bulevardi 14" }))
            .await;
        assert_eq!(code, 200, "{order}");
        references.push(order["reference"].as_str().unwrap().to_owned());
    }
    let shown = ruta_e2e::browser_phase(
        "routes.mjs",
        "plan",
        &host.url,
        json!({ "references": references }),
    );
    let id = shown["session"].as_str().unwrap();
    let (code, s) = host
        .call(&json!({ "op": "get_session", "session_id": id }))
        .await;
    assert_eq!(code, 200, "{s}");
    assert_eq!(s["route"], "bakery-run", "{s}");
    assert_eq!(s["driver"], "c1", "{s}");
    assert_eq!(s["orders"].as_array().unwrap().len(), 2, "{s}");
    let trip = s["trip"].as_str().expect("a trip");
    let (code, t) = host
        .call(&json!({ "op": "get_trip", "trip_id": trip }))
        .await;
    assert_eq!(code, 200, "{t}");
    assert_eq!(t["courier"], "c1", "{t}");
    assert_eq!(t["date"], s["date"], "the session's day: {t}");
    assert_eq!(t["stops"].as_array().unwrap().len(), 4, "{t}");
}

//! Addresses as people type them, through the real server and real devices:
//! a client's device (Chromium) finds a partial address with a typo offline,
//! shows the position and the price by road before sending, and creates the
//! order; the dispatcher's device receives it on the map, filed in the
//! tenant's zone, priced by road as the client saw it.

use std::time::Duration;

use app_api::config::ConfigChange;
use app_api::{Point, Request, Response, ZoneView};
use ruta_e2e::{
    DeviceHost, SyncServer, browser_phase, eventually, provision_tenant, workspace_root,
};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

fn device(name: &str, server: &str, token: &str) -> DeviceHost {
    let pbf = workspace_root().join("data/osm/Helsinki.osm.pbf");
    DeviceHost::start_with_env(
        name,
        tempfile::tempdir().unwrap(),
        &[
            ("RUTA_SYNC_URL", server.as_ref()),
            ("RUTA_SYNC_TOKEN", token.as_ref()),
            ("RUTA_OSM_PBF", pbf.as_os_str()),
        ],
    )
}

async fn orders(host: &DeviceHost) -> Vec<app_api::OrderSummary> {
    match host.call(&json!({ "op": "list_orders" })).await {
        (200, body) => match serde_json::from_value(body).unwrap() {
            Response::Orders { orders, .. } => orders,
            other => panic!("{other:?}"),
        },
        _ => Vec::new(),
    }
}

async fn zones(host: &DeviceHost) -> usize {
    match host.call(&json!({ "op": "zones" })).await {
        (200, body) => body["zones"].as_array().map_or(0, Vec::len),
        _ => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_types_an_address_with_a_typo_and_the_dispatcher_sees_it_on_the_map_in_its_zone() {
    let data = tempfile::tempdir().unwrap();
    let tokens = provision_tenant(
        data.path(),
        "acme",
        &[("boss", "admin"), ("disp", "dispatcher"), ("k1", "client")],
    );
    let server = SyncServer::start_in("sync-address", data);
    let admin = device("device-address-admin", &server.url, &tokens["boss"]);
    let disp = device("device-address-disp", &server.url, &tokens["disp"]);
    let client = device("device-address-client", &server.url, &tokens["k1"]);

    // The admin draws Kamppi around the south-west of the centre.
    let ring = [
        (60.160, 24.925),
        (60.160, 24.945),
        (60.172, 24.945),
        (60.172, 24.925),
    ];
    let zone = ZoneView {
        id: "kamppi".into(),
        name: "Kamppi".into(),
        ring: ring.iter().map(|&(lat, lon)| Point { lat, lon }).collect(),
    };
    assert!(
        eventually(T, async || {
            let req =
                serde_json::to_value(Request::ChangeConfig(ConfigChange::PutZone(zone.clone())))
                    .unwrap();
            admin.call(&req).await.0 == 200
        })
        .await,
        "the admin's device signs in and saves the zone"
    );
    assert!(
        eventually(T, async || zones(&disp).await == 1).await,
        "the zone reaches the dispatcher"
    );

    let shown = browser_phase(
        "address.mjs",
        "order",
        &client.url,
        json!({ "recipient": "Aino Osoitehaku" }),
    );
    let total = shown["total"].as_str().unwrap().to_owned();
    assert!(
        shown["distance"].as_str().unwrap().contains("by road"),
        "{shown}"
    );

    // The dispatcher's device receives the order with its positions, in Kamppi.
    let mut seen = None;
    assert!(
        eventually(T, async || {
            seen = orders(&disp)
                .await
                .into_iter()
                .find(|o| o.customer_name == "Aino Osoitehaku");
            seen.is_some()
        })
        .await,
        "the client's order reaches the dispatcher"
    );
    let order = seen.unwrap();
    let at = order.dropoff_point.expect("the order is on the map");
    assert!(
        (at.lat - 60.1677).abs() < 0.001 && (at.lon - 24.9377).abs() < 0.001,
        "{at:?}"
    );
    assert_eq!(order.zone.as_deref(), Some("kamppi"), "{order:?}");
    assert_eq!(order.pickup_address, "Bulevardi 14, 00120 Helsinki");
    assert!(
        order.dropoff_address.starts_with("Yrjönkatu 30"),
        "{order:?}"
    );
    // Priced by road as the client saw it (euros as the UI prints them).
    let euros = format!(
        "€{}.{:02}",
        order.price_cents / 100,
        order.price_cents % 100
    );
    assert_eq!(
        euros, total,
        "the dispatcher sees the price the client was shown"
    );
    // The dispatcher's own quote for the same trip is measured on the roads too.
    let (code, body) = disp
        .call(&json!({ "op": "quote_price", "customer_name": "x",
            "pickup_address": order.pickup_address, "dropoff_address": order.dropoff_address,
            "pickup_point": shown_point(&disp, "Bulevardi 14").await, "dropoff_point": at }))
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["by_road"], true, "{body}");
    assert!(body["distance_m"].as_i64().unwrap() > 200, "{body}");
}

/// The first suggestion's position on `host` for `query`.
async fn shown_point(host: &DeviceHost, query: &str) -> serde_json::Value {
    let (code, body) = host
        .call(&json!({ "op": "search_address", "query": query }))
        .await;
    assert_eq!(code, 200, "{body}");
    body["suggestions"][0]["point"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_records_an_external_carriers_order_step_by_step_from_the_panel() {
    let host = DeviceHost::start("device-carrier");
    let (code, order) = host
        .call(&json!({ "op": "create_order", "customer_name": "Posti Oy",
            "pickup_address": "Kaivokatu 1", "dropoff_address": "Bulevardi 14",
            "carrier": "external" }))
        .await;
    assert_eq!(code, 200, "{order}");
    let id = order["id"].as_str().unwrap();
    let (code, body) = host
        .call(&json!({ "op": "act", "order_id": id,
            "action": { "action": "assign", "courier": "carrier-posti" } }))
        .await;
    assert_eq!(code, 200, "{body}");
    browser_phase(
        "carrier.mjs",
        "steps",
        &host.url,
        json!({ "reference": order["reference"] }),
    );
    // The history the panel wrote: each step an event by the dispatcher, in order.
    let (code, detail) = host
        .call(&json!({ "op": "get_order", "order_id": id }))
        .await;
    assert_eq!(code, 200, "{detail}");
    assert_eq!(detail["summary"]["status"], "delivered", "{detail}");
    let kinds: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    let steps: Vec<&str> = kinds
        .iter()
        .copied()
        .filter(|k| ["picked_up", "in_transit", "attempt_failed", "delivered"].contains(k))
        .collect();
    assert_eq!(
        steps,
        [
            "picked_up",
            "in_transit",
            "attempt_failed",
            "in_transit",
            "delivered"
        ],
        "{kinds:?}"
    );
}

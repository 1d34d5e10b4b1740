//! Several headless devices side by side, each its own process and store,
//! driving the same command API the Tauri shell uses.

use std::time::Duration;

use app_api::Response;
use ruta_e2e::DeviceHost;
use serde_json::json;

fn create(name: &str) -> serde_json::Value {
    json!({
        "op": "create_order", "customer_name": name,
        "pickup_address": "Kauppatori 1", "dropoff_address": "Bulevardi 14"
    })
}

async fn orders(host: &DeviceHost) -> Vec<app_api::OrderSummary> {
    let (status, body) = host.call(&json!({ "op": "list_orders" })).await;
    assert_eq!(status, 200, "{body}");
    match serde_json::from_value(body).unwrap() {
        Response::Orders { orders, .. } => orders,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn two_devices_keep_separate_local_stores() {
    let a = DeviceHost::start("device-a");
    let b = DeviceHost::start("device-b");

    let (status, body) = a.call(&create("Aino")).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = b.call(&create("Björn")).await;
    assert_eq!(status, 200);
    let (status, _) = b.call(&create("Cecilia")).await;
    assert_eq!(status, 200);

    let a_orders = orders(&a).await;
    let b_orders = orders(&b).await;
    assert_eq!(
        a_orders
            .iter()
            .map(|o| o.customer_name.as_str())
            .collect::<Vec<_>>(),
        ["Aino"]
    );
    assert_eq!(b_orders.len(), 2);
    assert_ne!(
        a_orders[0].created_on, b_orders[0].created_on,
        "distinct device ids"
    );
    assert!(
        b_orders
            .iter()
            .all(|o| o.created_on == b_orders[0].created_on)
    );
}

#[tokio::test]
async fn a_device_keeps_its_orders_across_a_restart() {
    let mut host = DeviceHost::start("device-restart-1");
    let (_, body) = host.call(&create("Eeva")).await;
    let created: Response = serde_json::from_value(body).unwrap();
    let Response::Order(first) = &created else {
        panic!("{created:?}")
    };
    let (status, body) = host
        .call(&json!({ "op": "act", "order_id": first.id,
                       "action": { "action": "assign", "courier": "aki" } }))
        .await;
    assert_eq!(status, 200, "{body}");
    let created: Response = serde_json::from_value(body).unwrap();
    let status = host
        .proc
        .terminate(Duration::from_secs(10))
        .expect("stops on SIGTERM");
    assert!(status.success(), "{status}");

    let host = DeviceHost::start_in("device-restart-2", host.data);
    let Response::Order(created) = created else {
        panic!()
    };
    assert_eq!(orders(&host).await, vec![created]);
}

#[tokio::test]
async fn bad_requests_get_clear_errors_and_change_nothing() {
    let host = DeviceHost::start("device-bad-input");
    let client = reqwest::Client::new();
    let endpoint = format!("{}{}", host.url, app_api::HTTP_PATH);

    // Not JSON at all.
    let r = client
        .post(&endpoint)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "malformed", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("line 1"),
        "says where: {body}"
    );

    // An operation that does not exist.
    let (status, body) = host.call(&json!({ "op": "drop_everything" })).await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("drop_everything"),
        "{body}"
    );

    // A lifecycle rule refuses with its code: a courier action needs an assigned order.
    let (_, body) = host.call(&create("Ville")).await;
    let id = body["id"].as_str().unwrap().to_owned();
    let (status, body) = host
        .call(&json!({ "op": "act", "order_id": id, "action": { "action": "pick_up" } }))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "refused", "{body}");
    let (status, body) = host
        .call(&json!({ "op": "get_order", "order_id": "no-such-order" }))
        .await;
    assert_eq!(status, 404, "{body}");

    // A field that breaks a rule names the field.
    let (status, body) = host.call(&create("")).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({ "error": "invalid", "field": "customer_name", "message": "must not be empty" })
    );

    // An oversized payload is refused before it reaches the core.
    let huge = "x".repeat(device_host::MAX_BODY_BYTES + 1);
    let r = client.post(&endpoint).body(huge).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 413);

    assert_eq!(
        orders(&host).await.len(),
        1,
        "only the valid order was stored"
    );
}

//! The demo's simulated shift through real processes: a sync server, the
//! admin's device applying the demo configuration, a dispatcher's device
//! seeded with the demo orders, a headless dispatcher device assigning them,
//! two courier devices driving and delivering, and a client device ordering —
//! each its own `ruta-device serve --simulate` process. The human
//! dispatcher's device (not simulated) sees orders reach Delivered and the
//! couriers' positions move.

use std::process::Command;
use std::time::Duration;

use ruta_e2e::{DeviceHost, SyncServer, binary, eventually, provision_tenant};
use serde_json::json;

/// How much faster than real life the shift runs.
const SPEED: &str = "40";
/// The bound on the whole shift.
const SHIFT: Duration = Duration::from_secs(150);

fn env<'a>(server: &'a str, token: &'a str) -> [(&'a str, &'a std::ffi::OsStr); 2] {
    [
        ("RUTA_SYNC_URL", server.as_ref()),
        ("RUTA_SYNC_TOKEN", token.as_ref()),
    ]
}

async fn delivered(host: &DeviceHost) -> u64 {
    let (code, body) = host
        .call(&json!({ "op": "list_orders", "statuses": ["delivered"], "limit": 1 }))
        .await;
    assert_eq!(code, 200, "{body}");
    body["total"].as_u64().unwrap_or(0)
}

async fn positions(host: &DeviceHost) -> Vec<(String, f64, f64)> {
    let (code, body) = host.call(&json!({ "op": "fleet" })).await;
    assert_eq!(code, 200, "{body}");
    body["couriers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            Some((
                c["user"].as_str()?.to_owned(),
                c["position"]["lat"].as_f64()?,
                c["position"]["lon"].as_f64()?,
            ))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_shift_delivers_orders_and_moves_couriers_on_the_dispatchers_device() {
    let data = tempfile::tempdir().unwrap();
    let tokens = provision_tenant(
        data.path(),
        "demo",
        &[
            ("admin", "admin"),
            ("dispatcher", "dispatcher"),
            ("courier-1", "courier"),
            ("courier-2", "courier"),
            ("client-1", "client"),
        ],
    );
    let server = SyncServer::start_in("sync-demo-shift", data);
    // The dispatcher's device holds the demo orders (seeded offline, synced on start).
    let desk = tempfile::tempdir().unwrap();
    let seeded = Command::new(binary("ruta-device"))
        .args([
            "seed-demo",
            "--orders",
            "60",
            "--dispatcher",
            "dispatcher",
            "--data",
        ])
        .arg(desk.path())
        .output()
        .unwrap();
    assert!(seeded.status.success(), "{seeded:?}");
    let url = server.url.clone();
    let t = |u: &str| tokens[u].clone();
    let (ta, td, tc1, tc2, tk) = (
        t("admin"),
        t("dispatcher"),
        t("courier-1"),
        t("courier-2"),
        t("client-1"),
    );
    let dispatcher = DeviceHost::start_with_env("demo-dispatcher", desk, &env(&url, &td));
    let admin = DeviceHost::start_with(
        "demo-admin",
        tempfile::tempdir().unwrap(),
        &env(&url, &ta),
        &["--demo"],
    );
    let sim = |name: &str, token: &str| {
        DeviceHost::start_with(
            name,
            tempfile::tempdir().unwrap(),
            &env(&url, token),
            &["--simulate", SPEED],
        )
    };
    let _autodispatch = sim("demo-autodispatch", &td);
    let _c1 = sim("demo-courier-1", &tc1);
    let _c2 = sim("demo-courier-2", &tc2);
    let client = sim("demo-client-1", &tk);

    // The admin's device configured the tenant; the dispatcher's device has it.
    assert!(
        eventually(SHIFT, async || {
            let (_, body) = dispatcher.call(&json!({ "op": "tenant_config" })).await;
            body["config"]["couriers"]
                .as_array()
                .is_some_and(|c| c.len() == 2)
        })
        .await,
        "the demo configuration reaches the dispatcher's device"
    );
    let (_, body) = admin.call(&json!({ "op": "tenant_config" })).await;
    assert!(
        body["history"].as_array().unwrap().len() >= 10,
        "applied once, by the admin: {body}"
    );

    // Couriers move on the dispatcher's map...
    let mut first = Vec::new();
    assert!(
        eventually(SHIFT, async || {
            first = positions(&dispatcher).await;
            first.len() == 2
        })
        .await,
        "both couriers' positions reach the dispatcher"
    );
    assert!(
        eventually(SHIFT, async || {
            let now = positions(&dispatcher).await;
            now.iter().any(|(u, lat, lon)| {
                first
                    .iter()
                    .any(|(v, a, b)| u == v && ((lat - a).abs() > 1e-5 || (lon - b).abs() > 1e-5))
            })
        })
        .await,
        "a courier's position moves on the dispatcher's device"
    );
    // ...and orders reach Delivered there, with a proof.
    assert!(
        eventually(SHIFT, async || delivered(&dispatcher).await >= 3).await,
        "orders are delivered during the shift"
    );
    let (_, body) = dispatcher
        .call(&json!({ "op": "list_orders", "statuses": ["delivered"], "limit": 1 }))
        .await;
    let id = body["orders"][0]["id"].as_str().unwrap().to_owned();
    assert!(
        eventually(SHIFT, async || {
            let (_, d) = dispatcher
                .call(&json!({ "op": "get_order", "order_id": id }))
                .await;
            d["pods"].as_array().is_some_and(|p| !p.is_empty())
        })
        .await,
        "a delivered order carries its proof"
    );
    // The client's orders arrive too.
    assert!(
        eventually(SHIFT, async || {
            let (_, body) = client
                .call(&json!({ "op": "list_orders", "limit": 1 }))
                .await;
            body["total"].as_u64().unwrap_or(0) >= 1
        })
        .await,
        "the simulated client orders"
    );
}

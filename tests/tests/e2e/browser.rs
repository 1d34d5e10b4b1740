//! The web build in a real browser (Chromium via playwright-core), talking to
//! a headless device host over HTTP.

use std::process::Command;

use app_api::Response;
use ruta_e2e::{DeviceHost, artifacts_dir, workspace_root};
use serde_json::json;

#[tokio::test]
async fn browser_creates_an_order_through_the_core() {
    let host = DeviceHost::start("device-browser");
    let customer = "Päivi Browser-Test";
    let screenshot = artifacts_dir().join("browser-skeleton.png");
    let _ = std::fs::remove_file(&screenshot);

    let url = host.url.clone();
    let shot = screenshot.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(workspace_root().join("tests/browser/skeleton.mjs"))
            .arg(&url)
            .arg(&shot)
            .arg(customer)
            .current_dir(workspace_root())
            .output()
            .expect("node runs (installed by scripts/setup.sh)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser script failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let seen: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("JSON result line");

    // What the page showed is what the device's store holds.
    let (_, body) = host.call(&json!({ "op": "list_orders" })).await;
    let Response::Orders { orders, .. } = serde_json::from_value(body).unwrap() else {
        panic!()
    };
    assert_eq!(
        orders.len(),
        1,
        "exactly one order stored (the invalid one was refused)"
    );
    assert_eq!(orders[0].customer_name, customer);
    assert_eq!(orders[0].pickup_address, "Aleksanterinkatu 52");
    assert_eq!(seen["reference"], orders[0].reference.as_str());
    assert_eq!(seen["deviceId"], orders[0].created_on.as_str());

    crate::window::assert_real_screenshot(&std::fs::read(&screenshot).unwrap());
}

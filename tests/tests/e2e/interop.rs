//! Interop: a stock JS `@automerge/automerge-repo` 2.x client (from npm, run
//! by node; `tests/interop/client.mjs`) against the real `sync-server`.
//!
//! Orders come from a Rust dispatcher device. As courier c1, the JS client
//! reads its own order, is answered "unavailable" for c2's, and has a forged
//! write refused with an automerge-repo `error` message. As dispatcher d2, it
//! reads both orders and appends a note that reaches the Rust dispatcher's core
//! as an applied `note_added` event by d2.

use std::process::Command;
use std::time::Duration;

use app_api::{DeliveryStatus, Request, Response, TimelineItem};
use app_core::Core;
use app_core::domain::OrderId;
use app_core::ids::{doc_id_of, url_of};
use ruta_e2e::{artifacts_dir, binary, eventually, workspace_root};
use serde_json::Value;

use crate::sync::{create_assigned, device, status, tenant};

const T: Duration = Duration::from_secs(30);

/// The `automerge:` URL of an order's document.
fn order_url(id: &str) -> String {
    url_of(&doc_id_of(&OrderId::new(id)).expect("order ids are UUIDs"))
}

fn timeline(core: &Core, id: &str) -> Vec<TimelineItem> {
    match core.execute(Request::GetOrder {
        order_id: id.into(),
    }) {
        Ok(Response::OrderDetail(d)) => d.timeline,
        _ => Vec::new(),
    }
}

/// Runs the JS client as the holder of `token`; returns its stdout JSON lines
/// (the last is the result). Its stderr goes to `artifacts/logs/<name>.log`.
async fn js_client(name: &str, server: &str, token: &str, args: &[&str]) -> Vec<Value> {
    let mut cmd = Command::new("node");
    cmd.arg(workspace_root().join("tests/interop/client.mjs"))
        .args(["--server", server])
        .args(args)
        .env("RUTA_TOKEN", token)
        .current_dir(workspace_root());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("node runs (installed by scripts/setup.sh, with `npm install`)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log = artifacts_dir().join("logs").join(format!("{name}.log"));
    std::fs::write(&log, format!("{stderr}\n--- stdout ---\n{stdout}")).unwrap();
    assert!(
        out.status.success(),
        "JS client {name} failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_automerge_repo_js_client_reads_is_refused_and_writes() {
    let (data, tokens) = tenant(&[
        ("d1", "dispatcher"),
        ("d2", "dispatcher"),
        ("c1", "courier"),
        ("c2", "courier"),
    ]);
    let server = ruta_e2e::SyncServer::start_in("sync-interop", data);
    let disp = device(&server.url, &tokens["d1"]).await;
    let o1 = create_assigned(&disp.core, "Aino Interop", "c1");
    let o2 = create_assigned(&disp.core, "Björn Interop", "c2");
    assert!(
        disp.client.wait_synced(T).await,
        "dispatcher's writes confirmed"
    );
    let (u1, u2) = (order_url(&o1), order_url(&o2));

    // The server grants access once it has projected the assignment: a Rust
    // courier device (its own token, so its own peer id) tells us when.
    let out = Command::new(binary("sync-server"))
        .arg("--data")
        .arg(server.data.path())
        .args(["token", "issue", "--tenant", "acme", "--user", "c1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c1_rust_token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let c1 = device(&server.url, &c1_rust_token).await;
    assert!(
        eventually(T, async || status(&c1.core, &o1)
            == Some(DeliveryStatus::Assigned))
        .await,
        "c1 receives its order"
    );

    // Courier c1 in JS: its own order reads, c2's is unavailable, a price is refused.
    let lines = js_client(
        "interop-js-c1",
        &server.url,
        &tokens["c1"],
        &["--read", &u1, "--forbidden", &u2, "--forge", &u1],
    )
    .await;
    let result = lines.last().unwrap();
    assert_eq!(result["me"]["user"], "c1");
    assert_eq!(
        result["index"][&u1], "order",
        "c1's index lists o1: {result}"
    );
    assert!(result["index"].get(&u2).is_none(), "c1's index lacks o2");
    let doc = &lines[0];
    assert_eq!(doc["url"], u1.as_str());
    assert_eq!(doc["doc"]["schema"], 1);
    assert_eq!(doc["doc"]["order"], o1.as_str());
    assert_eq!(
        result["read"][&u1]["kinds"],
        serde_json::json!(["created", "assigned"])
    );
    assert_eq!(result["forbidden"][&u2], "unavailable");
    let refusal = result["forged"]["error"].as_str().unwrap_or_default();
    assert!(
        refusal.contains("courier may not make a price_set"),
        "forged price refused by the guard: {result}"
    );

    // Dispatcher d2 in JS: reads both, adds a note to c2's order.
    let text = "Gate code 4711 (from automerge-repo JS)";
    let lines = js_client(
        "interop-js-d2",
        &server.url,
        &tokens["d2"],
        &["--read", &u1, "--read", &u2, "--note", &u2, "--text", text],
    )
    .await;
    let result = lines.last().unwrap();
    assert_eq!(result["read"][&u2]["order"], o2.as_str());
    let note_id = result["note"]["id"].as_str().expect("note id").to_owned();

    // The note reaches the Rust dispatcher's core, applied and attributed to d2.
    let arrived = eventually(T, async || {
        timeline(&disp.core, &o2)
            .iter()
            .any(|t| t.event_id == note_id)
    })
    .await;
    let items = timeline(&disp.core, &o2);
    assert!(arrived, "JS note {note_id} reaches d1: {items:#?}");
    let note = items.iter().find(|t| t.event_id == note_id).unwrap();
    assert_eq!(
        (
            note.kind.as_str(),
            note.user.as_str(),
            note.verdict.as_str()
        ),
        ("note_added", "d2", "applied"),
        "{note:#?}"
    );
    assert_eq!(note.role, app_api::Role::Dispatcher);
    assert!(note.details.contains(text), "{note:#?}");
    assert_eq!(status(&disp.core, &o2), Some(DeliveryStatus::Assigned));

    // The refused price never reached anyone.
    for core in [&disp.core, &c1.core] {
        assert!(
            !timeline(core, &o1).iter().any(|t| t.kind == "price_set"),
            "forged price_set leaked"
        );
    }
}

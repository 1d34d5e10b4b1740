//! `sync-loadgen`, the Rust load generator of the side-by-side benchmark,
//! against a real server: it fetches real order documents, and a job it cannot
//! do (a document the token may not see, a malformed job) ends with the reason.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use app_core::domain::OrderId;
use app_core::ids::doc_id_of;
use ruta_e2e::{SyncServer, binary, get_json};

use crate::sync::{create, device, tenant};

const T: Duration = Duration::from_secs(20);

/// Runs the load generator on `job`: (exit success, stdout, stderr).
fn loadgen(job: &str) -> (bool, String, String) {
    let mut child = Command::new(binary("sync-loadgen"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sync-loadgen starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One client of a job: the sync URL and peer id of `device` under `token`.
async fn client(server: &str, token: &str, device: &str, docs: &[String]) -> serde_json::Value {
    let me = get_json(&format!("{server}/v1/me?device={device}"), token).await;
    serde_json::json!({
        "url": format!("{}/v1/sync?token={token}&device={device}", server.replacen("http", "ws", 1)),
        "peer_id": me["peer_id"],
        "docs": docs,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_generator_fetches_real_orders_and_names_what_it_cannot() {
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("c1", "courier")]);
    let server = SyncServer::start_in("sync-loadgen", data);
    let disp = device(&server.url, &tokens["d1"]).await;
    let docs: Vec<String> = (0..6)
        .map(|i| {
            let order = create(&disp.core, &format!("Asiakas {i}"));
            doc_id_of(&OrderId::new(order)).unwrap().to_string()
        })
        .collect();
    assert!(disp.client.wait_synced(T).await);

    let job = serde_json::json!({
        "clients": [
            client(&server.url, &tokens["d1"], "lg-a", &docs).await,
            client(&server.url, &tokens["d1"], "lg-b", &docs[2..]).await,
        ],
        "in_flight": 4,
        "step_ms": 20_000,
    });
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || loadgen(&job.to_string()))
        .await
        .unwrap();
    assert!(ok, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(
        report["latencies_ms"].as_array().map(Vec::len),
        Some(10),
        "one latency per fetch: {report}"
    );
    assert_eq!(report["without_events"], 0, "every order arrived whole");
    assert!(
        report["received"].as_u64().is_some_and(|n| n >= 10)
            && report["sent"].as_u64().is_some_and(|n| n >= 10),
        "at least one request and one sync answer per fetch: {report}"
    );
    assert!(report["ms"].as_f64().is_some_and(|ms| ms > 0.0));

    // A courier's token may not see the dispatcher's unassigned orders:
    // answered as unavailable, and the run says which document.
    let job = serde_json::json!({
        "clients": [client(&server.url, &tokens["c1"], "lg-c", &docs[..1]).await],
        "in_flight": 1,
        "step_ms": 20_000,
    });
    let (ok, _, stderr) = tokio::task::spawn_blocking(move || loadgen(&job.to_string()))
        .await
        .unwrap();
    assert!(!ok);
    assert!(
        stderr.contains(&docs[0]) && stderr.contains("unavailable"),
        "{stderr}"
    );

    let (ok, _, stderr) = tokio::task::spawn_blocking(|| loadgen("{\"clients\": 3}"))
        .await
        .unwrap();
    assert!(!ok);
    assert!(stderr.contains("job on stdin is not valid"), "{stderr}");
}

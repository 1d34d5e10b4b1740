//! The sync server process: health, its embedded store, clean shutdown.

use std::time::Duration;

use ruta_e2e::{SyncServer, binary};

#[tokio::test]
async fn reports_health_and_stops_cleanly_on_sigterm() {
    let mut server = SyncServer::start("sync-server-health");
    let health: serde_json::Value = reqwest::get(format!("{}/healthz", server.url))
        .await
        .expect("healthz reachable")
        .json()
        .await
        .expect("healthz is JSON");
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["storage"], "sqlite", "{health}");
    let tenants = server.data.path().join("tenants");
    assert!(
        tenants.is_dir(),
        "tenants directory created at {}",
        tenants.display()
    );

    let status = server
        .proc
        .terminate(Duration::from_secs(10))
        .expect("exits within 10 s");
    assert!(status.success(), "clean exit on SIGTERM, got {status}");
    let log =
        std::fs::read_to_string(ruta_e2e::artifacts_dir().join("logs/sync-server-health.log"))
            .unwrap();
    assert!(log.contains("stopped cleanly"), "log:\n{log}");
    assert!(
        reqwest::get(format!("{}/healthz", server.url))
            .await
            .is_err(),
        "port closed"
    );
}

#[test]
fn unusable_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let out = std::process::Command::new(binary("sync-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot create data directory"),
        "stderr:\n{stderr}"
    );
    assert!(stderr.contains("plain-file"), "names the path:\n{stderr}");
}

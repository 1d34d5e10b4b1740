//! The driver monitor through a real `sync-server`: the dispatcher's device
//! learns the tenant's couriers (also those who never signed in) and receives
//! each courier's beacon — position, availability, work mode — live, and a
//! courier sees no monitor.

use app_api::{ApiError, Availability, Beacon, FleetBoard, Point, Request, Response, WorkMode};
use ruta_e2e::{SyncServer, eventually};

use crate::sync::{T, device, tenant};

fn board(core: &app_core::Core) -> FleetBoard {
    match core.execute(Request::Fleet).unwrap() {
        Response::Fleet(b) => b,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_lists_the_directory_and_live_beacons() {
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("c1", "courier"), ("c2", "courier")]);
    let server = SyncServer::start_in("fleet-monitor", data);
    let disp = device(&server.url, &tokens["d1"]).await;
    let c1 = device(&server.url, &tokens["c1"]).await;

    assert!(
        eventually(T, async || {
            let b = board(&disp.core);
            b.couriers.iter().filter(|c| c.known).count() == 2
        })
        .await,
        "both couriers listed, c2 without ever signing in: {:?}",
        board(&disp.core)
    );

    let fix = Point {
        lat: 60.1699,
        lon: 24.9384,
    };
    let seen = eventually(T, async || {
        c1.core
            .execute(Request::ReportBeacon(Beacon {
                point: Some(fix),
                at_ms: 1_700_000_000_000,
                availability: Some(Availability::OnBreak),
                work_mode: Some(WorkMode::SystemOptimised),
                ..Default::default()
            }))
            .unwrap();
        let b = board(&disp.core);
        b.couriers
            .iter()
            .any(|c| c.user == "c1" && c.position == Some(fix))
    })
    .await;
    assert!(seen, "c1's beacon reached the dispatcher's monitor");
    let b = board(&disp.core);
    let c1_row = b.couriers.iter().find(|c| c.user == "c1").unwrap();
    assert!(c1_row.live);
    assert_eq!(c1_row.availability, Availability::OnBreak);
    assert_eq!(c1_row.work_mode, Some(WorkMode::SystemOptimised));
    let c2_row = b.couriers.iter().find(|c| c.user == "c2").unwrap();
    assert!(!c2_row.live && c2_row.position.is_none());

    let refused = c1.core.execute(Request::Fleet).unwrap_err();
    assert!(
        matches!(&refused, ApiError::Refused { code, .. } if code == "forbidden"),
        "{refused:?}"
    );
    // The directory endpoint is for operators only.
    let status = reqwest::Client::new()
        .get(format!("{}/v1/couriers", server.url))
        .bearer_auth(&tokens["c1"])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403);
}

mod ui {
    //! The same in a real browser: see `tests/browser/fleet.mjs`.

    use app_api::{DeliveryStatus, Response};
    use ruta_e2e::{DeviceHost, SyncServer, eventually, provision_tenant, workspace_root};
    use serde_json::json;

    use crate::sync::T;

    fn phase(name: &str, url: &str, args: serde_json::Value) -> serde_json::Value {
        ruta_e2e::browser_phase("fleet.mjs", name, url, args)
    }

    async fn orders(host: &DeviceHost) -> Vec<app_api::OrderSummary> {
        match host.call(&json!({ "op": "list_orders" })).await {
            (200, body) => match serde_json::from_value(body) {
                Ok(Response::Orders { orders, .. }) => orders,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn device(name: &str, data: tempfile::TempDir, server: &str, token: &str) -> DeviceHost {
        let tiles = workspace_root().join("data/tiles/helsinki.mbtiles");
        DeviceHost::start_with_env(
            name,
            data,
            &[
                ("RUTA_SYNC_URL", server.as_ref()),
                ("RUTA_SYNC_TOKEN", token.as_ref()),
                ("RUTA_TILES", tiles.as_os_str()),
            ],
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dispatcher_monitors_couriers_approves_a_proposal_and_edits_an_order() {
        let data = tempfile::tempdir().unwrap();
        let tokens = provision_tenant(
            data.path(),
            "acme",
            &[("d1", "dispatcher"), ("c1", "courier"), ("c2", "courier")],
        );
        let server = SyncServer::start_in("sync-fleet-ui", data);
        // The dispatcher's device starts with the demo zones and orders, as d1.
        let disp_dir = tempfile::tempdir().unwrap();
        let seeded = {
            let core = app_core::Core::open(disp_dir.path()).unwrap();
            core.set_session("d1", app_api::Role::Dispatcher).unwrap();
            app_core::demo::seed(&core).unwrap()
        };
        let disp = device(
            "device-fleet-dispatcher",
            disp_dir,
            &server.url,
            &tokens["d1"],
        );
        let courier = device(
            "device-fleet-courier",
            tempfile::tempdir().unwrap(),
            &server.url,
            &tokens["c1"],
        );

        // Price preview and editing an order.
        let first = orders(&disp)
            .await
            .into_iter()
            .next()
            .expect("seeded orders");
        phase("edit", &disp.url, json!({ "reference": first.reference }));
        let edited = orders(&disp)
            .await
            .into_iter()
            .find(|o| o.id == first.id)
            .unwrap();
        assert_eq!(edited.price_cents, 1990, "the edited price is stored");
        assert_eq!(edited.status, DeliveryStatus::Pending);

        // The courier shares a position from the browser's geolocation.
        let geo = json!({ "latitude": 60.1688, "longitude": 24.9322 });
        let shared = phase("courier", &courier.url, json!({ "geo": geo }));
        assert!(shared["location"].as_str().unwrap().contains("shared"));

        // The monitor, the proposal with undo, the run on the map.
        let monitored = phase(
            "monitor",
            &disp.url,
            json!({ "courier": "c1", "orders": seeded }),
        );
        assert_eq!(monitored["proposed"].as_u64(), Some(seeded as u64));
        let all = orders(&disp).await;
        assert!(
            all.iter().all(|o| o.assignee.is_some()),
            "every order assigned after approval"
        );
        // What c1 got reaches c1's device.
        let mine = all
            .iter()
            .filter(|o| o.assignee.as_deref() == Some("c1"))
            .count();
        assert!(mine > 0, "the proposal gave c1, the live courier, work");
        assert!(
            eventually(T, async || orders(&courier).await.len() == mine).await,
            "c1's device receives its {mine} assignments"
        );
    }
}

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

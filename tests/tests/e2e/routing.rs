//! Routing through the real device host, over the real road graph of the
//! Helsinki extract (`RUTA_OSM_PBF`), on the seeded demo orders.

use std::process::Command;

use app_api::Response;
use ruta_e2e::{DeviceHost, binary, workspace_root};
use serde_json::json;

fn seeded_host(name: &str) -> DeviceHost {
    let data = tempfile::tempdir().unwrap();
    let status = Command::new(binary("ruta-device"))
        .args(["seed-demo", "--dispatcher", "dispatcher", "--data"])
        .arg(data.path())
        .status()
        .unwrap();
    assert!(status.success());
    let pbf = workspace_root().join("data/osm/Helsinki.osm.pbf");
    assert!(
        pbf.exists(),
        "{}: run `bash scripts/fetch-osm.sh`",
        pbf.display()
    );
    DeviceHost::start_with_env(name, data, &[("RUTA_OSM_PBF", pbf.as_os_str())])
}

async fn call(host: &DeviceHost, req: serde_json::Value) -> Response {
    let (status, body) = host.call(&req).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

#[tokio::test]
async fn plans_and_proposals_use_real_streets() {
    let host = seeded_host("routing-host");
    let Response::Orders { orders, .. } = call(&host, json!({"op": "list_orders"})).await else {
        panic!()
    };
    assert_eq!(orders.len(), 6);
    for o in &orders[..3] {
        call(
            &host,
            json!({"op": "act", "order_id": o.id, "action": {"action": "assign", "courier": "aki"}}),
        )
        .await;
    }
    let station = json!({"lat": 60.1710, "lon": 24.9414});
    let Response::RoutePlan(plan) = call(
        &host,
        json!({"op": "plan_route", "courier": "aki", "position": station, "capacity_items": 2}),
    )
    .await
    else {
        panic!()
    };
    assert_eq!(plan.travel_model, "roads:car");
    assert_eq!(plan.stops.len(), 6, "{plan:?}");
    assert!(plan.unplanned.is_empty());
    assert!(plan.distance_m > 0 && plan.travel_s > 0);
    assert!(plan.stops.windows(2).all(|w| w[0].eta_ms <= w[1].eta_ms));
    // At most 2 parcels on board at any time.
    let mut load = 0;
    for s in &plan.stops {
        load += if s.kind == app_api::StopKind::Pickup {
            1
        } else {
            -1
        };
        assert!((0..=2).contains(&load), "{plan:?}");
    }

    // The dispatcher's proposal for the other three: nothing gets assigned by it.
    let Response::AssignmentProposal(prop) = call(
        &host,
        json!({"op": "propose_assignment", "couriers": [
            {"user": "aki", "position": station},
            {"user": "bea", "position": {"lat": 60.1650, "lon": 24.9370}},
        ]}),
    )
    .await
    else {
        panic!()
    };
    assert_eq!(prop.assignments.len(), 3, "{prop:?}");
    assert_eq!(prop.workload.iter().map(|w| w.orders).sum::<usize>(), 6);
    let Response::Orders { total, .. } =
        call(&host, json!({"op": "list_orders", "assignee": "-"})).await
    else {
        panic!()
    };
    assert_eq!(total, 3);

    // The run path for the map follows streets.
    let pts: Vec<_> = plan.stops.iter().take(3).map(|s| json!(s.point)).collect();
    let Response::RoutePath(path) = call(&host, json!({"op": "route_path", "points": pts})).await
    else {
        panic!()
    };
    assert!(path.points.len() > 3);
    assert!(path.distance_m > 0);

    // Bad input: a clear error, the host keeps serving.
    let (status, body) = host
        .call(&json!({"op": "plan_route", "courier": "aki", "position": {"lat": 95.0, "lon": 0.0}}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("position"), "{body}");
}

//! Order types and tracking through the real server and real devices:
//! a pickup order completes when its hub receives it; a pickup & delivery
//! order staged at a hub follows its two legs with two couriers; a client
//! follows their own order live while it is on its way (and no other
//! client can), and the recipient's public link shows the status and times
//! only.

use app_api::config::{ConfigChange, Warehouse};
use app_api::server::{OrderTracking, PublicTracking};
use app_api::{
    Action, CapturePodRequest, DeliveryStatus, NewOrder, OrderType, Point, Request, Response,
};
use app_core::Core;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ruta_e2e::{SyncServer, eventually};

use crate::sync::{T, act, device, ruta_e2e_photo, status, tenant};

fn hub() -> Warehouse {
    Warehouse {
        id: "hub-vallila".into(),
        name: "Vallila hub".into(),
        address: "Mäkelänkatu 50".into(),
        position: Point {
            lat: 60.1945,
            lon: 24.9510,
        },
        uses: Default::default(),
        opening_hours: String::new(),
    }
}

fn new_order(customer: &str, order_type: OrderType) -> NewOrder {
    let mut new = NewOrder::simple(customer, "Bulevardi 14", "Yrjönkatu 30");
    new.order_type = order_type;
    new.pickup_point = Some(Point {
        lat: 60.1652,
        lon: 24.9372,
    });
    new.dropoff_point = Some(Point {
        lat: 60.1677,
        lon: 24.9377,
    });
    new
}

fn create(core: &Core, new: NewOrder) -> Result<String, app_api::ApiError> {
    match core.execute(Request::CreateOrder(new))? {
        Response::Order(o) => Ok(o.id),
        other => panic!("{other:?}"),
    }
}

fn synced(core: &Core) -> bool {
    matches!(core.execute(Request::TenantConfig), Ok(Response::TenantConfig(v)) if v.synced)
}

fn holds(core: &Core, id: &str) -> bool {
    status(core, id).is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pickup_order_completes_at_its_hub_and_a_staged_order_follows_two_legs() {
    let (data, tokens) = tenant(&[
        ("boss", "admin"),
        ("d1", "dispatcher"),
        ("c1", "courier"),
        ("c2", "courier"),
    ]);
    let server = SyncServer::start_in("order-types", data);
    let admin = device(&server.url, &tokens["boss"]).await;
    let disp = device(&server.url, &tokens["d1"]).await;
    let c1 = device(&server.url, &tokens["c1"]).await;
    let c2 = device(&server.url, &tokens["c2"]).await;
    // Changed before the configuration documents arrive, the warehouse would
    // go into a local one of the admin's own.
    for d in [&admin, &disp, &c1, &c2] {
        assert!(
            eventually(T, async || synced(&d.core)).await,
            "the configuration arrives"
        );
    }
    admin
        .core
        .execute(Request::ChangeConfig(ConfigChange::PutWarehouse(hub())))
        .unwrap();

    // A pickup order must name the hub it ends at.
    let e = create(&disp.core, new_order("Kivi Oy", OrderType::Pickup)).unwrap_err();
    assert!(
        matches!(&e, app_api::ApiError::Invalid { field, .. } if field == "dropoff_warehouse"),
        "{e:?}"
    );
    let mut pickup = new_order("Kivi Oy", OrderType::Pickup);
    pickup.dropoff_warehouse = Some("hub-vallila".into());
    pickup.dropoff_address = String::new();
    pickup.dropoff_point = None;
    let mut made = Err(None);
    // The warehouse reaches the dispatcher's device from the admin's.
    assert!(
        eventually(T, async || {
            made = create(&disp.core, pickup.clone()).map_err(Some);
            made.is_ok()
        })
        .await,
        "the hub reaches the dispatcher: {made:?}"
    );
    let pickup = made.unwrap();
    let staged = create(
        &disp.core,
        new_order("Aino Kaksivaihe", OrderType::PickupAndDelivery),
    )
    .unwrap();
    for id in [&pickup, &staged] {
        act(
            &disp.core,
            id,
            Action::Assign {
                courier: "c1".into(),
            },
        );
    }
    assert!(
        eventually(T, async || holds(&c1.core, &pickup)
            && holds(&c1.core, &staged))
        .await,
        "both orders reach c1"
    );
    act(&c1.core, &pickup, Action::PickUp);
    act(&c1.core, &staged, Action::PickUp);
    // c1 leaves the pickup order at its hub: that completes it.
    let refused = c1
        .core
        .execute(Request::Act {
            order_id: pickup.clone(),
            action: Action::Deliver { pods: vec![] },
        })
        .unwrap_err();
    assert!(format!("{refused:?}").contains("order_type"), "{refused:?}");
    act(
        &c1.core,
        &pickup,
        Action::ReceiveAtHub {
            warehouse: "hub-vallila".into(),
        },
    );
    assert!(
        eventually(T, async || status(&disp.core, &pickup)
            == Some(DeliveryStatus::Delivered))
        .await,
        "the dispatcher sees the pickup order completed at the hub"
    );
    let Response::OrderDetail(d) = disp
        .core
        .execute(Request::GetOrder {
            order_id: pickup.clone(),
        })
        .unwrap()
    else {
        panic!()
    };
    assert!(d.documents, "a completed pickup order has its documents");
    assert_eq!(d.summary.assignee, None, "the hub holds it, not c1");

    // The staged order: the hub receives it once c1's pick-up has arrived.
    assert!(
        eventually(T, async || status(&disp.core, &staged)
            == Some(DeliveryStatus::PickedUp))
        .await
    );
    act(
        &disp.core,
        &staged,
        Action::ReceiveAtHub {
            warehouse: "hub-vallila".into(),
        },
    );
    assert_eq!(status(&disp.core, &staged), Some(DeliveryStatus::AtHub));
    // The last leg starts at the hub: the panel shows it as the pickup.
    let Response::OrderDetail(d) = disp
        .core
        .execute(Request::GetOrder {
            order_id: staged.clone(),
        })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        d.pickup.as_ref().and_then(|p| p.warehouse.as_deref()),
        Some("hub-vallila")
    );
    act(
        &disp.core,
        &staged,
        Action::Assign {
            courier: "c2".into(),
        },
    );
    assert!(
        eventually(T, async || status(&c2.core, &staged)
            == Some(DeliveryStatus::Assigned))
        .await,
        "the last leg reaches c2"
    );
    act(&c2.core, &staged, Action::PickUp);
    let Response::PodCaptured(pod) = c2
        .core
        .execute(Request::CapturePod(CapturePodRequest {
            order_id: staged.clone(),
            photo_base64: Some(B64.encode(ruta_e2e_photo())),
            deliver: true,
            ..Default::default()
        }))
        .unwrap()
    else {
        panic!()
    };
    assert!(pod.delivered, "{pod:?}");
    assert!(
        eventually(T, async || status(&disp.core, &staged)
            == Some(DeliveryStatus::Delivered))
        .await,
        "the last leg's delivery reaches the dispatcher"
    );
    // c1, who carried the first leg, may not act on the last one: its device
    // refuses, and the order went through no conflict.
    let e = c1.core.execute(Request::Act {
        order_id: staged.clone(),
        action: Action::StartTransit,
    });
    assert!(e.is_err(), "{e:?}");
    let Response::OrderDetail(d) = disp
        .core
        .execute(Request::GetOrder { order_id: staged })
        .unwrap()
    else {
        panic!()
    };
    assert!(d.conflicts.is_empty(), "{:?}", d.conflicts);
    assert_eq!(d.summary.assignee.as_deref(), Some("c2"));
}

async fn tracking(core: &Core, id: &str) -> Option<OrderTracking> {
    match core.execute(Request::OrderTracking {
        order_id: id.into(),
    }) {
        Ok(Response::OrderTracking(v)) => v.tracking,
        other => panic!("{other:?}"),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_follows_their_order_live_and_the_recipients_link_tells_only_status_and_times() {
    let (data, tokens) = tenant(&[
        ("d1", "dispatcher"),
        ("c1", "courier"),
        ("k1", "client"),
        ("k2", "client"),
    ]);
    let server = SyncServer::start_in("tracking", data);
    let disp = device(&server.url, &tokens["d1"]).await;
    let c1 = device(&server.url, &tokens["c1"]).await;
    let k1 = device(&server.url, &tokens["k1"]).await;
    let id = create(
        &k1.core,
        new_order("Aino Seuranta", OrderType::PickupAndDelivery),
    )
    .unwrap();
    assert!(eventually(T, async || holds(&disp.core, &id)).await);
    // Before pickup: the link is there, no courier, no ETA.
    let mut t = None;
    assert!(
        eventually(T, async || {
            t = tracking(&k1.core, &id).await;
            t.is_some()
        })
        .await,
        "the client's device fetches the tracking"
    );
    let first = t.unwrap();
    assert_eq!(first.status, DeliveryStatus::Pending);
    assert_eq!((first.courier, first.eta_ms), (None, None));
    assert!(first.link.starts_with("/t/acme/"), "{first:?}");
    let link = format!("{}{}", server.url, first.link);

    act(
        &disp.core,
        &id,
        Action::Assign {
            courier: "c1".into(),
        },
    );
    assert!(eventually(T, async || holds(&c1.core, &id)).await);
    // Assigned and not picked up: c1's position is not the client's business.
    let _ = c1.client.send_location(60.1750, 24.9360, now_ms()).await;
    assert!(
        eventually(T, async || tracking(&k1.core, &id)
            .await
            .is_some_and(|t| t.status == DeliveryStatus::Assigned))
        .await
    );
    assert_eq!(tracking(&k1.core, &id).await.unwrap().courier, None);
    act(&c1.core, &id, Action::PickUp);
    act(&c1.core, &id, Action::StartTransit);
    let mut live = None;
    assert!(
        eventually(T, async || {
            let _ = c1.client.send_location(60.1750, 24.9360, now_ms()).await;
            live = tracking(&k1.core, &id)
                .await
                .filter(|t| t.courier.is_some());
            live.is_some()
        })
        .await,
        "the client sees the courier while the parcel is on its way"
    );
    let live = live.unwrap();
    assert_eq!(live.status, DeliveryStatus::InTransit);
    let eta = live.eta_ms.expect("an ETA while on the way") - now_ms();
    assert!(
        (60_000..15 * 60_000).contains(&eta),
        "about 1 km away: {eta} ms"
    );

    // Another client: not found, on the server and on their device.
    let other = reqwest::Client::new()
        .get(format!("{}/v1/orders/{id}/tracking", server.url))
        .bearer_auth(&tokens["k2"])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    let courier_asks = reqwest::Client::new()
        .get(format!("{}/v1/orders/{id}/tracking", server.url))
        .bearer_auth(&tokens["c1"])
        .send()
        .await
        .unwrap();
    assert_eq!(courier_asks.status(), 404, "couriers do not track");
    let k2 = device(&server.url, &tokens["k2"]).await;
    assert!(
        k2.core
            .execute(Request::OrderTracking {
                order_id: id.clone()
            })
            .is_err()
    );

    // The recipient's page: status and ETA, no names, addresses or positions.
    let page = reqwest::get(&link).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("On its way"), "{html}");
    for leak in ["Aino", "Bulevardi", "Yrjönkatu", "c1", "60.17", "24.93"] {
        assert!(!html.contains(leak), "{leak} on the public page");
    }
    let public: PublicTracking = reqwest::get(format!("{link}?format=json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public.status, DeliveryStatus::InTransit);
    assert!(public.eta_ms.is_some());
    // A forged or altered link opens nothing.
    // The MAC's last digit changed (to one it is not: 1 in 16 links end in 0).
    let last = if link.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &link[..link.len() - 1]);
    for bad in [
        forged,
        format!("{}/t/acme/{id}.{}", server.url, "0".repeat(32)),
        format!(
            "{}/t/nosuch/{}",
            server.url,
            link.rsplit('/').next().unwrap()
        ),
    ] {
        assert_eq!(reqwest::get(&bad).await.unwrap().status(), 404, "{bad}");
    }

    // Delivered: the time, and the courier is no longer followed.
    let Response::PodCaptured(pod) = c1
        .core
        .execute(Request::CapturePod(CapturePodRequest {
            order_id: id.clone(),
            photo_base64: Some(B64.encode(ruta_e2e_photo())),
            deliver: true,
            ..Default::default()
        }))
        .unwrap()
    else {
        panic!()
    };
    assert!(pod.delivered);
    let mut done = None;
    assert!(
        eventually(T, async || {
            done = tracking(&k1.core, &id)
                .await
                .filter(|t| t.status == DeliveryStatus::Delivered);
            done.is_some()
        })
        .await
    );
    let done = done.unwrap();
    assert!(
        done.delivered_at_ms.is_some() && done.courier.is_none(),
        "{done:?}"
    );
    let public: PublicTracking = reqwest::get(format!("{link}?format=json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public.headline, "Delivered");
    assert_eq!(public.delivered_at_ms, done.delivered_at_ms);
    assert_eq!(public.eta_ms, None);
}

/// A modified client: the order's own client appends a hub receipt in its own
/// name (only operators and couriers record one); the server refuses it, and
/// the dispatcher's device never sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_forged_hub_receipt_is_refused_by_the_server() {
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("k1", "client")]);
    let server = SyncServer::start_in("order-types-forgery", data);
    let disp = device(&server.url, &tokens["d1"]).await;
    let k1 = device(&server.url, &tokens["k1"]).await;
    let id = create(
        &k1.core,
        new_order("Aino Väärennös", OrderType::PickupAndDelivery),
    )
    .unwrap();
    assert!(eventually(T, async || holds(&disp.core, &id)).await);
    let forged = k1
        .client
        .tamper(&app_core::domain::OrderId::new(id.clone()), |d| {
            use automerge::transaction::Transactable as _;
            use automerge::{ROOT, ReadDoc as _};
            let (_, events) = d.get(ROOT, "events").unwrap().unwrap();
            let key = d.keys(&events).max().unwrap();
            let (v, _) = d.get(&events, key.as_str()).unwrap().unwrap();
            let mut event: serde_json::Value =
                serde_json::from_str(&v.into_string().unwrap()).unwrap();
            event["body"] = serde_json::json!({"type": "received_at_hub",
                "hub": {"address": {"line1": "Mäkelänkatu 50"}, "warehouse": "hub-vallila"}});
            let at = format!("{key}z");
            event["at"] = serde_json::Value::String(at.clone());
            let mut tx = d.transaction();
            tx.put(&events, at, event.to_string()).unwrap();
            tx.commit();
        })
        .await;
    assert!(forged);
    let dir = sync_server::directory::Directory::open(server.data.path(), "acme").unwrap();
    assert!(
        eventually(T, async || dir
            .refusals()
            .unwrap()
            .iter()
            .any(|(u, _, _)| u == "k1"))
        .await,
        "the server refused and recorded it"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let Response::OrderDetail(d) = disp
        .core
        .execute(Request::GetOrder { order_id: id })
        .unwrap()
    else {
        panic!()
    };
    assert!(
        !d.timeline.iter().any(|t| t.kind == "received_at_hub"),
        "the forged receipt never reached the dispatcher"
    );
    assert_eq!(d.summary.status, DeliveryStatus::Pending);
}

/// The panel, in Chromium: a dispatcher takes an external carrier's pickup &
/// delivery parcel in at the hub; the history holds the receipt at that hub.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_takes_a_parcel_in_at_the_hub_from_the_panel() {
    use serde_json::json;
    let host = ruta_e2e::DeviceHost::start("device-hub");
    let change =
        serde_json::to_value(Request::ChangeConfig(ConfigChange::PutWarehouse(hub()))).unwrap();
    let (code, body) = host.call(&change).await;
    assert_eq!(code, 200, "{body}");
    let (code, order) = host
        .call(
            &json!({ "op": "create_order", "customer_name": "Lähetys Oy",
            "pickup_address": "Kaivokatu 1", "dropoff_address": "Bulevardi 14",
            "carrier": "external", "order_type": "pickup_and_delivery" }),
        )
        .await;
    assert_eq!(code, 200, "{order}");
    let id = order["id"].as_str().unwrap();
    for action in [
        json!({ "action": "assign", "courier": "carrier-posti" }),
        json!({ "action": "pick_up" }),
    ] {
        let (code, body) = host
            .call(&json!({ "op": "act", "order_id": id, "action": action }))
            .await;
        assert_eq!(code, 200, "{body}");
    }
    ruta_e2e::browser_phase(
        "hub.mjs",
        "receive",
        &host.url,
        json!({ "reference": order["reference"], "hub": "hub-vallila", "hub_name": "Vallila hub" }),
    );
    let (code, detail) = host
        .call(&json!({ "op": "get_order", "order_id": id }))
        .await;
    assert_eq!(code, 200, "{detail}");
    assert_eq!(detail["summary"]["status"], "at_hub", "{detail}");
    let receipt = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "received_at_hub")
        .expect("the receipt is in the history");
    assert!(
        receipt["details"].as_str().unwrap().contains("hub-vallila"),
        "{receipt}"
    );
}

/// In Chromium: the client's device shows its order's courier live on a
/// small map with the ETA and the recipient's link; the link's page says
/// "On its way" and names nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sees_the_courier_on_the_map_in_the_panel_and_the_recipient_sees_only_the_status()
{
    use serde_json::json;
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("c1", "courier"), ("k1", "client")]);
    let server = SyncServer::start_in("tracking-ui", data);
    let disp = device(&server.url, &tokens["d1"]).await;
    let c1 = device(&server.url, &tokens["c1"]).await;
    let tiles = ruta_e2e::workspace_root().join("data/tiles/helsinki.mbtiles");
    let client = ruta_e2e::DeviceHost::start_with_env(
        "device-tracking-client",
        tempfile::tempdir().unwrap(),
        &[
            ("RUTA_SYNC_URL", server.url.as_ref()),
            ("RUTA_SYNC_TOKEN", tokens["k1"].as_ref()),
            ("RUTA_TILES", tiles.as_os_str()),
        ],
    );
    let new = serde_json::to_value(Request::CreateOrder(new_order(
        "Aino Kartalla",
        OrderType::PickupAndDelivery,
    )))
    .unwrap();
    let mut made = (0, serde_json::Value::Null);
    assert!(
        eventually(T, async || {
            made = client.call(&new).await;
            made.0 == 200
        })
        .await,
        "the client's device signs in and creates the order: {made:?}"
    );
    let id = made.1["id"].as_str().unwrap().to_owned();
    let reference = made.1["reference"].clone();
    assert!(eventually(T, async || holds(&disp.core, &id)).await);
    act(
        &disp.core,
        &id,
        Action::Assign {
            courier: "c1".into(),
        },
    );
    assert!(eventually(T, async || holds(&c1.core, &id)).await);
    act(&c1.core, &id, Action::PickUp);
    act(&c1.core, &id, Action::StartTransit);
    // The courier's phone streams its position while the client looks.
    let streaming = {
        let client = c1.client.clone();
        tokio::spawn(async move {
            for k in 0..120 {
                let _ = client
                    .send_location(60.1750 - 0.00002 * f64::from(k), 24.9360, now_ms())
                    .await;
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        })
    };
    let ask = json!({ "op": "order_tracking", "order_id": id });
    assert!(
        eventually(T, async || {
            let (code, body) = client.call(&ask).await;
            code == 200 && !body["tracking"]["courier"].is_null()
        })
        .await,
        "the client's device hears the courier's position"
    );
    let url = client.url.clone();
    let server_url = server.url.clone();
    let shown = tokio::task::spawn_blocking(move || {
        ruta_e2e::browser_phase(
            "tracking.mjs",
            "follow",
            &url,
            json!({ "reference": reference, "server": server_url }),
        )
    })
    .await
    .unwrap();
    streaming.abort();
    let body = shown["body"].as_str().unwrap();
    for leak in ["Aino", "Bulevardi", "Yrjönkatu", "c1", "k1"] {
        assert!(
            !body.contains(leak),
            "{leak} on the recipient's page: {body}"
        );
    }
}

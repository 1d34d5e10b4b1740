//! Sync through a real `sync-server` process: access per role, an offline
//! courier shift merged back, blobs, live location, and the server killed
//! mid-sync.

use std::collections::HashMap;
use std::time::Duration;

use app_api::{Action, CapturePodRequest, DeliveryStatus, LinkState, NewOrder, Request, Response};
use app_core::Core;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ruta_e2e::{Link, SyncServer, eventually, get_json, provision_tenant};
use sync_client::{SyncClient, SyncConfig};

pub struct Device {
    pub core: Core,
    pub client: SyncClient,
    pub _dir: tempfile::TempDir,
}

pub async fn device(server: &str, token: &str) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open(dir.path()).unwrap();
    let cfg = SyncConfig::new(url::Url::parse(server).unwrap(), token);
    let client = SyncClient::start(core.clone(), dir.path(), cfg)
        .await
        .expect("sync client starts");
    Device {
        core,
        client,
        _dir: dir,
    }
}

pub fn create(core: &Core, customer: &str) -> String {
    let Response::Order(o) = core
        .execute(Request::CreateOrder(NewOrder::simple(
            customer,
            "Mannerheimintie 20",
            "Bulevardi 14",
        )))
        .unwrap()
    else {
        panic!()
    };
    o.id
}

/// A new order assigned to `courier`; its id.
pub fn create_assigned(core: &Core, customer: &str, courier: &str) -> String {
    let id = create(core, customer);
    act(
        core,
        &id,
        Action::Assign {
            courier: courier.into(),
        },
    );
    id
}

pub fn act(core: &Core, id: &str, action: Action) -> Response {
    core.execute(Request::Act {
        order_id: id.into(),
        action,
    })
    .unwrap_or_else(|e| panic!("{id}: {e:?}"))
}

pub fn status(core: &Core, id: &str) -> Option<DeliveryStatus> {
    match core.execute(Request::GetOrder {
        order_id: id.into(),
    }) {
        Ok(Response::OrderDetail(d)) => Some(d.summary.status),
        _ => None,
    }
}

fn timeline(core: &Core, id: &str) -> Vec<(String, i64, String)> {
    let Ok(Response::OrderDetail(d)) = core.execute(Request::GetOrder {
        order_id: id.into(),
    }) else {
        panic!("no order {id}")
    };
    d.timeline
        .iter()
        .map(|t| (t.kind.clone(), t.at_ms, t.device.clone()))
        .collect()
}

pub fn tenant(users: &[(&str, &str)]) -> (tempfile::TempDir, HashMap<String, String>) {
    let data = tempfile::tempdir().unwrap();
    let tokens = provision_tenant(data.path(), "acme", users);
    (data, tokens)
}

pub const T: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn couriers_get_only_their_orders_and_an_offline_shift_merges_back() {
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("c1", "courier"), ("c2", "courier")]);
    let server = SyncServer::start_in("sync-offline-shift", data);
    let disp = device(&server.url, &tokens["d1"]).await;
    let link = Link::start(server.url.trim_start_matches("http://")).await;
    let c1 = device(&link.url, &tokens["c1"]).await;
    let c2 = device(&server.url, &tokens["c2"]).await;
    assert_eq!(c1.client.me().role, app_api::Role::Courier);

    let o1 = create_assigned(&disp.core, "Aino Mäkelä", "c1");
    let o2 = create_assigned(&disp.core, "Björn Lindqvist", "c2");

    assert!(
        eventually(T, async || status(&c1.core, &o1)
            == Some(DeliveryStatus::Assigned))
        .await,
        "c1 receives its order"
    );
    assert!(
        eventually(T, async || status(&c2.core, &o2)
            == Some(DeliveryStatus::Assigned))
        .await,
        "c2 receives its order"
    );
    assert!(
        disp.client.wait_synced(T).await,
        "dispatcher's writes confirmed"
    );
    assert_eq!(status(&c1.core, &o2), None, "c1 never sees c2's order");
    assert_eq!(status(&c2.core, &o1), None, "c2 never sees c1's order");

    // Before it goes: c1's device can check o1's code, from the verifier the
    // server sent for its own order; it never holds the tenant key, so it
    // cannot compute any code itself (the dispatcher's device can).
    assert!(
        eventually(T, async || c1.core.can_verify(&o1)).await,
        "c1's device gets o1's verifier"
    );
    assert!(
        c1.core.verification_code(&o1).is_none(),
        "no courier's device holds the tenant key"
    );
    assert!(
        !c1.core.can_verify(&o2),
        "nor a verifier of another courier's order"
    );
    let me: app_api::server::Me =
        serde_json::from_value(get_json(&format!("{}/v1/me", server.url), &tokens["c1"]).await)
            .unwrap();
    assert_eq!(me.pod_secret, None);
    let pin = disp
        .core
        .verification_code(&o1)
        .expect("the dispatcher's device holds the tenant key")
        .pin();

    // c1 loses the network and works a shift.
    link.cut();
    assert!(eventually(T, async || !c1.client.is_connected()).await);
    act(&c1.core, &o1, Action::PickUp);
    act(&c1.core, &o1, Action::StartTransit);
    // Proof at the door, offline: a photo and the recipient's PIN, checked
    // with o1's verifier.
    let Response::PodCaptured(pod) = c1
        .core
        .execute(Request::CapturePod(CapturePodRequest {
            order_id: o1.clone(),
            photo_base64: Some(B64.encode(ruta_e2e_photo())),
            pin: Some(pin),
            deliver: true,
            ..Default::default()
        }))
        .unwrap()
    else {
        panic!()
    };
    assert!(pod.delivered && pod.pin_verified, "{pod:?}");
    let hash = pod.photo_sha256.clone().expect("photo stored");
    let photo = c1.core.blobs().get(&hash).unwrap().expect("on the device");
    let Response::SyncStatus(st) = c1.core.execute(Request::SyncStatus).unwrap() else {
        panic!()
    };
    assert_eq!(st.link, LinkState::Offline);
    let pending = st
        .pending
        .iter()
        .find(|p| p.order_id == o1)
        .expect("o1 pending");
    assert_eq!(
        pending.last_device.as_deref(),
        Some(c1.core.device_id().as_str())
    );
    assert!(
        !c1.client.blob_confirmed(&hash),
        "no confirmation while offline"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        status(&disp.core, &o1),
        Some(DeliveryStatus::Assigned),
        "nothing leaked"
    );

    // Back online: everything arrives, with the times it happened.
    link.restore();
    assert!(
        c1.client.wait_synced(T).await,
        "c1 fully synced after reconnecting"
    );
    assert!(c1.client.blob_confirmed(&hash));
    assert!(
        eventually(T, async || status(&disp.core, &o1)
            == Some(DeliveryStatus::Delivered))
        .await,
        "dispatcher sees Delivered"
    );
    assert_eq!(
        timeline(&disp.core, &o1),
        timeline(&c1.core, &o1),
        "capture times and devices preserved"
    );
    let fetched = disp
        .client
        .fetch_blob(&hash)
        .await
        .expect("dispatcher downloads the photo");
    assert_eq!(fetched, photo);
    // The dispatcher's device fetched it by itself, for POD review offline.
    assert!(
        eventually(T, async || disp
            .core
            .execute(Request::PodBlob {
                sha256: hash.clone()
            })
            .is_ok())
        .await,
        "the photo is on the dispatcher's device"
    );
    let Response::PodChains { chains } = disp.core.execute(Request::PodChains).unwrap() else {
        panic!()
    };
    assert_eq!(chains.len(), 1);
    assert_eq!((chains[0].courier.as_str(), chains[0].records), ("c1", 1));
    assert!(chains[0].findings.is_empty(), "{chains:?}");
    let Response::SyncStatus(st) = c1.core.execute(Request::SyncStatus).unwrap() else {
        panic!()
    };
    assert_eq!((st.link, st.pending.len()), (LinkState::Online, 0));

    // Reassignment: c2 gets o1's sibling, c1 loses o2... c2 now takes o1 too.
    act(&disp.core, &o2, Action::Unassign);
    act(
        &disp.core,
        &o2,
        Action::Assign {
            courier: "c1".into(),
        },
    );
    assert!(
        eventually(T, async || status(&c1.core, &o2)
            == Some(DeliveryStatus::Assigned))
        .await,
        "c1 receives a reassigned order"
    );
    assert!(
        eventually(T, async || !c2
            .client
            .index_orders()
            .await
            .iter()
            .any(|o| o.as_str() == o2))
        .await,
        "c2's index no longer lists the order it lost"
    );
}

/// A small real PNG (decodable), as a POD photo stand-in.
pub fn ruta_e2e_photo() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_location_reaches_the_dispatcher_and_a_breadcrumb_is_kept() {
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("c1", "courier")]);
    let server = SyncServer::start_in("sync-location", data);
    let disp = device(&server.url, &tokens["d1"]).await;
    let c1 = device(&server.url, &tokens["c1"]).await;
    let mut positions = disp.client.positions();
    let t0 = 1_700_000_000_000i64;
    // Dispatcher follows couriers' documents once its index lists them.
    let got = eventually(T, async || {
        let _ = c1.client.send_location(60.1699, 24.9384, t0).await;
        matches!(positions.try_recv(), Ok(p) if p.courier == "c1")
    })
    .await;
    assert!(got, "a position reached the dispatcher");
    // 10 s later and 5 m away: not persisted; 31 s later: persisted.
    c1.client
        .send_location(60.16994, 24.9384, t0 + 10_000)
        .await
        .unwrap();
    c1.client
        .send_location(60.1710, 24.9400, t0 + 31_000)
        .await
        .unwrap();
    let url = format!("{}/v1/breadcrumbs/c1", server.url);
    let ok = eventually(T, async || {
        let v: app_api::server::Breadcrumbs =
            serde_json::from_value(get_json(&url, &tokens["d1"]).await).unwrap();
        let ats: Vec<i64> = v.points.iter().map(|p| p.at).collect();
        ats.contains(&(t0 + 31_000)) && !ats.contains(&(t0 + 10_000)) && ats.contains(&t0)
    })
    .await;
    assert!(ok, "downsampled breadcrumb persisted");
}

/// Issue 19, weakness 4 (docs/merges.md, "Reassigned while the first courier
/// picked up offline"): through the real server, the offline pick-up of a
/// courier who lost the order meanwhile reaches everyone, and the order
/// follows the parcel; the courier's device is not left pending forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_pickup_after_a_reassignment_reaches_the_server_and_is_the_conflict() {
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("c1", "courier"), ("c2", "courier")]);
    let server = SyncServer::start_in("sync-offline-reassign", data);
    let disp = device(&server.url, &tokens["d1"]).await;
    let c1 = device(&server.url, &tokens["c1"]).await;
    let c2 = device(&server.url, &tokens["c2"]).await;
    let o1 = create_assigned(&disp.core, "Eeva Järvinen", "c1");
    assert!(
        eventually(T, async || status(&c1.core, &o1)
            == Some(DeliveryStatus::Assigned))
        .await
    );
    assert!(c1.client.wait_synced(T).await);

    // c1 goes into a basement and picks the parcel up; meanwhile the
    // dispatcher gives the order to c2.
    c1.client.clone().stop().await;
    act(&c1.core, &o1, Action::PickUp);
    act(
        &disp.core,
        &o1,
        Action::Assign {
            courier: "c2".into(),
        },
    );
    assert!(disp.client.wait_synced(T).await);
    assert!(
        eventually(T, async || status(&c2.core, &o1)
            == Some(DeliveryStatus::Assigned))
        .await
    );

    // c1 comes back: its pick-up is accepted and synced.
    let cfg = SyncConfig::new(url::Url::parse(&server.url).unwrap(), &tokens["c1"]);
    let back = SyncClient::start(c1.core.clone(), c1._dir.path(), cfg)
        .await
        .unwrap();
    assert!(
        back.wait_synced(T).await,
        "c1's offline work is confirmed by the server"
    );
    // Everyone derives the order following the parcel, with the conflict open.
    let settled = |core: &Core| {
        let Ok(Response::OrderDetail(d)) = core.execute(Request::GetOrder {
            order_id: o1.clone(),
        }) else {
            return false;
        };
        d.summary.status == DeliveryStatus::PickedUp
            && d.summary.assignee.as_deref() == Some("c1")
            && d.conflicts.iter().any(|c| c.resolved_by.is_none())
    };
    assert!(
        eventually(T, async || settled(&disp.core)).await,
        "the dispatcher sees it"
    );
    assert!(
        eventually(T, async || settled(&c1.core)).await,
        "so does c1"
    );
    back.stop().await;
}

/// A dispatcher's device asks once for a proof the courier has not uploaded
/// yet; the server holds the request and answers when the upload completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_proof_request_is_answered_when_the_upload_completes() {
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("c1", "courier")]);
    let server = SyncServer::start_in("sync-blob-wait", data);
    let http = reqwest::Client::new();
    let content = ruta_e2e_photo();
    let hash = app_core::ids::sha256_hex(&content);
    let get = |token: &str, query: &str| {
        http.get(format!("{}/v1/blobs/{hash}{query}", server.url))
            .bearer_auth(token.to_owned())
            .send()
    };
    // Bad input is named.
    let r = get(&tokens["d1"], "?wait=soon").await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("wait=\"soon\"") && error.contains("seconds"),
        "{error}"
    );
    // Not uploaded and nobody uploads: a held request ends as 404.
    assert_eq!(
        get(&tokens["d1"], "?wait=1")
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    // Held, then the courier uploads: the same request answers with the bytes.
    let held = tokio::spawn(get(&tokens["d1"], "?wait=20"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !held.is_finished(),
        "the request is held while the blob is missing"
    );
    let up = http
        .patch(format!("{}/v1/blobs/{hash}", server.url))
        .bearer_auth(&tokens["c1"])
        .header("upload-offset", 0)
        .header("upload-length", content.len())
        .body(content.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(up.status().as_u16(), 201);
    let up: app_api::server::BlobStored = up.json().await.unwrap();
    assert_eq!(
        (up.sha256.as_str(), up.size),
        (hash.as_str(), content.len() as u64)
    );
    let answer = held.await.unwrap().unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(answer.bytes().await.unwrap().to_vec(), content);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_mid_sync_and_restarted_loses_nothing() {
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("c1", "courier")]);
    let mut server = SyncServer::start_in("sync-sigkill-1", data);
    let addr = server.url.trim_start_matches("http://").to_owned();
    let disp = device(&server.url, &tokens["d1"]).await;
    let c1 = device(&server.url, &tokens["c1"]).await;
    assert!(
        eventually(T, async || disp.client.is_connected()
            && c1.client.is_connected())
        .await
    );

    // A burst of writes on both sides; the server dies in the middle of syncing them.
    let mut orders = Vec::new();
    for i in 0..60 {
        let id = create(&disp.core, &format!("Customer {i}"));
        act(
            &disp.core,
            &id,
            Action::Assign {
                courier: "c1".into(),
            },
        );
        orders.push(id);
        if i == 40 {
            server.proc.kill();
        }
    }
    // The courier works on what it already had while the server is down.
    let mut picked = Vec::new();
    for id in &orders {
        if status(&c1.core, id) == Some(DeliveryStatus::Assigned) && picked.len() < 10 {
            act(&c1.core, id, Action::PickUp);
            picked.push(id.clone());
        }
    }
    assert!(
        !picked.is_empty(),
        "the courier had orders to work on offline"
    );
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().unwrap());
    drop(server);
    let _server = SyncServer::start_at("sync-sigkill-2", data, &addr);

    assert!(
        disp.client.wait_synced(Duration::from_secs(60)).await,
        "dispatcher resynced"
    );
    assert!(
        c1.client.wait_synced(Duration::from_secs(60)).await,
        "courier resynced"
    );
    for id in &orders {
        let want = if picked.contains(id) {
            DeliveryStatus::PickedUp
        } else {
            DeliveryStatus::Assigned
        };
        if !eventually(T, async || status(&c1.core, id) == Some(want)).await {
            let listed = c1
                .client
                .index_orders()
                .await
                .iter()
                .any(|o| o.as_str() == id);
            let url = app_core::ids::url_of(
                &app_core::ids::doc_id_of(&app_core::domain::OrderId::new(id.clone())).unwrap(),
            );
            let open = c1
                .client
                .open_url(&url, Duration::from_secs(3))
                .await
                .is_some();
            let fresh = device(&format!("http://{addr}"), &tokens["c1"]).await;
            let in_server_index = eventually(Duration::from_secs(5), async || {
                fresh
                    .client
                    .index_orders()
                    .await
                    .iter()
                    .any(|o| o.as_str() == id)
            })
            .await;
            panic!(
                "courier lacks {id} as {want:?} (now {:?}); listed in its index: {listed}; \
                 in the server's index: {in_server_index}; opens: {open}",
                status(&c1.core, id)
            );
        }
        assert!(
            eventually(T, async || status(&disp.core, id) == Some(want)).await,
            "dispatcher has {id} as {want:?}"
        );
    }
    // The server itself holds everything: a brand-new dispatcher device gets it all.
    let fresh = device(&format!("http://{addr}"), &tokens["d1"]).await;
    for id in &orders {
        let want = if picked.contains(id) {
            DeliveryStatus::PickedUp
        } else {
            DeliveryStatus::Assigned
        };
        assert!(
            eventually(T, async || status(&fresh.core, id) == Some(want)).await,
            "server kept {id}"
        );
    }
}

//! Waybills through a real `sync-server`: a dispatcher makes one, a second
//! dispatcher's device receives it and scans it out; a courier neither
//! receives nor writes waybills.

use app_api::waybills::{NewWaybill, WaybillStatus, WaybillStep, WaybillView};
use app_api::{Request, Response};
use app_core::Core;
use ruta_e2e::{SyncServer, eventually};

use crate::sync::{T, create, device, tenant};
use crate::sync_security::RawPeer;

fn get(core: &Core, id: &str) -> Option<WaybillView> {
    match core.execute(Request::GetWaybill {
        waybill_id: id.into(),
    }) {
        Ok(Response::Waybill(w)) => Some(w),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waybill_made_on_one_desk_is_scanned_out_on_another_and_no_courier_sees_it() {
    use app_core::domain::{Actor, DeviceId, Role, UserId};
    use app_core::waybill_doc::{self, WaybillChange, WaybillEvent};
    let (data, tokens) = tenant(&[
        ("d1", "dispatcher"),
        ("d2", "dispatcher"),
        ("c1", "courier"),
    ]);
    let server = SyncServer::start_in("waybills", data);
    let desk1 = device(&server.url, &tokens["d1"]).await;
    let desk2 = device(&server.url, &tokens["d2"]).await;
    let orders: Vec<String> = ["Aino", "Bertta"]
        .iter()
        .map(|n| create(&desk1.core, n))
        .collect();
    let Response::Waybill(w) = desk1
        .core
        .execute(Request::CreateWaybill(NewWaybill {
            origin: "Vantaa hub".into(),
            destination: "Linehaul Oy".into(),
            destination_warehouse: None,
            carrier: "Linehaul Oy".into(),
            seal: Some("S-1".into()),
            reference: None,
            order_ids: orders.clone(),
        }))
        .unwrap()
    else {
        panic!()
    };
    assert!(desk1.client.wait_synced(T).await);
    assert!(
        eventually(T, async || get(&desk2.core, &w.id).is_some_and(|v| v
            .orders
            .len()
            == 2
            && v.orders.iter().all(|o| o.status.is_some())))
        .await,
        "the waybill and its orders reach the second desk"
    );
    let Response::Waybill(d) = desk2
        .core
        .execute(Request::ScanWaybill {
            code: w.number.clone(),
            step: WaybillStep::Dispatch,
        })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(d.status, WaybillStatus::Dispatched);
    assert!(d.step_results.iter().all(|r| r.ok), "{:?}", d.step_results);
    assert!(
        eventually(T, async || get(&desk1.core, &w.id)
            .is_some_and(
                |v| v.status == WaybillStatus::Dispatched && !v.pending
            ))
        .await,
        "the first desk sees it dispatched"
    );
    // The orders carry the step (each an ordinary, judged event).
    assert!(
        eventually(T, async || {
            match desk1.core.execute(Request::GetOrder {
                order_id: orders[0].clone(),
            }) {
                Ok(Response::OrderDetail(o)) => {
                    o.notes.contains(&w.number)
                        || o.timeline
                            .iter()
                            .any(|t| format!("{t:?}").contains(&w.number))
                }
                _ => false,
            }
        })
        .await,
        "the hand-over is on the order"
    );

    // A courier receives no waybill, and may not make one.
    let doc = app_core::ids::doc_id_of_uuid(&w.id).unwrap().to_string();
    let mut c1 = RawPeer::join(&server.url, &tokens["c1"]).await;
    c1.request(&doc);
    assert!(
        c1.refusal(&doc).await.is_ok(),
        "c1 does not receive the waybill"
    );
    let dev = "c1c1c1c1c1c1c1c1ab";
    let mut forged = waybill_doc::create(&DeviceId::new(dev)).unwrap();
    forged
        .append(&WaybillEvent {
            at: app_core::hlc::Hlc {
                wall_ms: 1_800_000_000_000,
                counter: 0,
                node: app_core::hlc::node_of(dev),
            },
            actor: Actor {
                user: UserId::new("c1"),
                role: Role::Courier,
                device: DeviceId::new(dev),
            },
            change: WaybillChange::Created {
                number: "WB-FORGED".into(),
                origin: "x".into(),
                destination: "y".into(),
                destination_warehouse: None,
                carrier: String::new(),
                seal: None,
                reference: None,
            },
        })
        .unwrap();
    let new_doc = app_core::ids::doc_id_of_uuid(&uuid::Uuid::new_v4().to_string())
        .unwrap()
        .to_string();
    let local = automerge::Automerge::load(&forged.save()).unwrap();
    crate::cash::push_all(&c1, &new_doc, &local);
    let reason = c1.refusal(&new_doc).await.expect("refused per document");
    assert!(reason.contains("may not write"), "{reason}");
}

/// In Chromium: a dispatcher makes a waybill from two orders in the
/// Waybills tab, is told which field is missing, scans its number to hand it
/// over; the device holds it dispatched with both orders and the step on each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_makes_and_scans_out_a_waybill_in_the_browser() {
    use serde_json::json;
    let host = ruta_e2e::DeviceHost::start("device-waybills");
    let mut references = Vec::new();
    let mut ids = Vec::new();
    for name in ["Aino", "Bertta"] {
        let (code, order) = host
            .call(&json!({ "op": "create_order", "customer_name": name,
                "pickup_address": "Kaivokatu 1", "dropoff_address": "Bulevardi 14" }))
            .await;
        assert_eq!(code, 200, "{order}");
        references.push(order["reference"].as_str().unwrap().to_owned());
        ids.push(order["id"].as_str().unwrap().to_owned());
    }
    let shown = ruta_e2e::browser_phase(
        "waybills.mjs",
        "make",
        &host.url,
        json!({ "references": references }),
    );
    let (code, list) = host
        .call(&json!({ "op": "list_waybills", "open_only": false }))
        .await;
    assert_eq!(code, 200, "{list}");
    let w = &list["waybills"][0];
    assert_eq!(w["number"], shown["number"], "{list}");
    assert_eq!(w["status"], "dispatched", "{list}");
    assert_eq!(w["orders"], 2, "{list}");
    for id in &ids {
        let (_, d) = host
            .call(&json!({ "op": "get_order", "order_id": id }))
            .await;
        assert!(
            d.to_string().contains(shown["number"].as_str().unwrap()),
            "the hand-over is on the order: {d}"
        );
    }
}

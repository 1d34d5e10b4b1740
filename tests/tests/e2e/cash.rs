//! Cash remittance through a real `sync-server`: a courier collects at a
//! door, declares a hand-over on their phone while offline, a depot desk —
//! offline too — types what it counted; both come back and show one
//! hand-over with the same discrepancy, which the desk settles; the server
//! refuses what a modified courier or client sends.

use app_api::cash::{CashAction, CashLedgerView, CashResolution, HandoverStatus};
use app_api::{Action, CapturePodRequest, Request, Response, SignatureInput, StrokePoint};
use app_core::Core;
use ruta_e2e::{SyncServer, eventually};
use sync_client::{SyncClient, SyncConfig};

use crate::sync::{T, act, create, device, tenant};
use crate::sync_security::RawPeer;

fn ledger(core: &Core, courier: &str) -> Option<CashLedgerView> {
    match core.execute(Request::CashLedger {
        courier: Some(courier.into()),
    }) {
        Ok(Response::CashLedger(l)) => Some(l),
        _ => None,
    }
}

fn cash(core: &Core, action: CashAction) -> CashLedgerView {
    match core.execute(Request::CashAct(action)) {
        Ok(Response::CashLedger(l)) => l,
        other => panic!("{other:?}"),
    }
}

fn signature() -> SignatureInput {
    let stroke = |y0: f32| {
        (0..30)
            .map(|i| StrokePoint {
                x: 20.0 + i as f32 * 10.0,
                y: y0 + (i as f32 * 0.5).sin() * 25.0,
                t_ms: i * 15,
            })
            .collect()
    };
    SignatureInput {
        width: 400.0,
        height: 200.0,
        strokes: vec![stroke(80.0), stroke(130.0)],
    }
}

/// Sends every change of `local` on `doc` in one sync message, as a modified
/// client would for a document the server has not seen.
pub(crate) fn push_all(peer: &RawPeer, doc: &str, local: &automerge::Automerge) {
    use automerge::sync::{Message, MessageVersion};
    let changes: Vec<Vec<u8>> = local
        .get_changes(&[])
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    peer.sync(
        doc,
        Message {
            heads: local.get_heads(),
            need: vec![],
            have: vec![],
            changes: changes.into(),
            flags: None,
            version: MessageVersion::V1,
        },
    );
}

async fn restart(core: &Core, dir: &std::path::Path, url: &str, token: &str) -> SyncClient {
    let cfg = SyncConfig::new(url::Url::parse(url).unwrap(), token);
    SyncClient::start(core.clone(), dir, cfg).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_over_recorded_apart_by_phone_and_desk_shows_one_discrepancy_on_both() {
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("c1", "courier"), ("c2", "courier")]);
    let server = SyncServer::start_in("cash-apart", data);
    let desk = device(&server.url, &tokens["d1"]).await;
    let phone = device(&server.url, &tokens["c1"]).await;
    let other = device(&server.url, &tokens["c2"]).await;
    // An order with 50.00 to collect reaches c1, who delivers it and takes the cash.
    let id = create(&desk.core, "Aino");
    act(&desk.core, &id, Action::SetCod { cents: 5_000 });
    act(
        &desk.core,
        &id,
        Action::Assign {
            courier: "c1".into(),
        },
    );
    assert!(desk.client.wait_synced(T).await);
    assert!(
        eventually(T, async || crate::sync::status(&phone.core, &id).is_some()).await,
        "the order reaches c1"
    );
    act(&phone.core, &id, Action::PickUp);
    phone
        .core
        .execute(Request::CapturePod(CapturePodRequest {
            order_id: id.clone(),
            signature: Some(signature()),
            collect_cod_cents: Some(5_000),
            deliver: true,
            ..Default::default()
        }))
        .unwrap();
    assert!(phone.client.wait_synced(T).await);
    assert!(
        eventually(T, async || ledger(&desk.core, "c1")
            .is_some_and(|l| l.position.collected_cents == 5_000))
        .await,
        "the desk sees what c1 collected"
    );

    // Both go offline: the phone declares 50.00, the desk types 48.00 counted.
    phone.client.clone().stop().await;
    desk.client.clone().stop().await;
    let declared = cash(
        &phone.core,
        CashAction::Declare {
            cents: 5_000,
            note: String::new(),
        },
    );
    let handover = declared.handovers[0].id.clone();
    assert!(declared.pending_sync);
    let typed = cash(
        &desk.core,
        CashAction::Receive {
            code: None,
            courier: Some("c1".into()),
            cents: 4_800,
            declared_cents: Some(5_000),
            note: "link down, typed".into(),
        },
    );
    assert_eq!(typed.position.outstanding_cents, 200);

    // Both come back.
    let phone_back = restart(&phone.core, phone._dir.path(), &server.url, &tokens["c1"]).await;
    let desk_back = restart(&desk.core, desk._dir.path(), &server.url, &tokens["d1"]).await;
    let settled = |core: &Core| {
        ledger(core, "c1").is_some_and(|l| {
            !l.pending_sync
                && l.handovers.len() == 1
                && l.handovers[0].status == HandoverStatus::Discrepancy
        })
    };
    assert!(
        eventually(T, async || settled(&phone.core)).await,
        "the phone merges"
    );
    assert!(
        eventually(T, async || settled(&desk.core)).await,
        "the desk merges"
    );
    let (a, b) = (
        ledger(&phone.core, "c1").unwrap(),
        ledger(&desk.core, "c1").unwrap(),
    );
    assert_eq!(a.handovers, b.handovers, "one hand-over on both devices");
    let h = &a.handovers[0];
    assert_eq!(h.id, handover, "the courier's declaration, paired");
    assert!(h.paired_receipt.is_some());
    assert_eq!(h.difference_cents, Some(-200));
    assert_eq!(b.position.open_discrepancies, 1);
    assert_eq!(
        b.position.outstanding_cents, 200,
        "the shortfall is not netted"
    );

    // The desk settles it: charged to the courier; the phone sees it.
    cash(
        &desk.core,
        CashAction::Resolve {
            courier: "c1".into(),
            handover: handover.clone(),
            resolution: CashResolution::ChargedToCourier,
            note: "recounted twice".into(),
        },
    );
    assert!(
        eventually(T, async || ledger(&phone.core, "c1").is_some_and(|l| l
            .handovers[0]
            .status
            == HandoverStatus::Settled
            && l.position.outstanding_cents == 200))
        .await,
        "the settlement reaches the courier"
    );
    // c2 never receives c1's ledger.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let doc_uuid = app_core::cash_doc::ledger_id(&app_core::domain::UserId::new("c1"));
    assert!(
        other.core.cash_document(&doc_uuid).unwrap().is_none(),
        "c2's device holds no copy of c1's ledger"
    );
    phone_back.stop().await;
    desk_back.stop().await;
}

/// Modified clients: a courier writing another courier's ledger, a courier
/// recording their own receipt, a client reading a ledger — each refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_cash_writes_a_role_may_not_make() {
    use app_core::cash_doc::{self, CashChange, CashEvent};
    use app_core::domain::{Actor, DeviceId, Role, UserId};
    let (data, tokens) = tenant(&[
        ("d1", "dispatcher"),
        ("c1", "courier"),
        ("c2", "courier"),
        ("k1", "client"),
    ]);
    let server = SyncServer::start_in("cash-guard", data);
    let c1_user = UserId::new("c1");
    let doc = app_core::ids::doc_id_of_uuid(&cash_doc::ledger_id(&c1_user))
        .unwrap()
        .to_string();
    let event = |user: &str, role: Role, device: &str, change: CashChange| CashEvent {
        at: app_core::hlc::Hlc {
            wall_ms: 1_800_000_000_000,
            counter: 0,
            node: app_core::hlc::node_of(device),
        },
        actor: Actor {
            user: UserId::new(user),
            role,
            device: DeviceId::new(device),
        },
        change,
    };
    let declared = CashChange::Declared {
        handover: "H-1".into(),
        cents: 1_000,
        note: String::new(),
    };
    // c2 makes c1's ledger (the same first change every device makes) and
    // declares in it as itself: refused, the ledger is not theirs.
    let dev2 = "c2c2c2c2c2c2c2c2ab";
    let mut forged = cash_doc::create(&c1_user, &DeviceId::new(dev2)).unwrap();
    forged
        .append(&event("c2", Role::Courier, dev2, declared))
        .unwrap();
    let mut c2 = RawPeer::join(&server.url, &tokens["c2"]).await;
    let local = automerge::Automerge::load(&forged.save()).unwrap();
    push_all(&c2, &doc, &local);
    let reason = c2.refusal(&doc).await.expect("refused per document");
    assert!(reason.contains("may not write"), "{reason}");

    // c1 makes their own ledger and records a receipt in it: refused.
    let dev1 = "c1c1c1c1c1c1c1c1ab";
    let mut own = cash_doc::create(&c1_user, &DeviceId::new(dev1)).unwrap();
    own.append(&event(
        "c1",
        Role::Courier,
        dev1,
        CashChange::Received {
            handover: "H-1".into(),
            cents: 1_000,
            by_code: false,
            declared_cents: None,
            note: String::new(),
        },
    ))
    .unwrap();
    let mut c1 = RawPeer::join(&server.url, &tokens["c1"]).await;
    let local = automerge::Automerge::load(&own.save()).unwrap();
    push_all(&c1, &doc, &local);
    let reason = c1.refusal(&doc).await.expect("refused per document");
    assert!(reason.contains("may not make a received event"), "{reason}");

    // c1's own phone declares: accepted, and the dispatcher's device receives it.
    let desk = device(&server.url, &tokens["d1"]).await;
    let phone = device(&server.url, &tokens["c1"]).await;
    cash(
        &phone.core,
        CashAction::Declare {
            cents: 1_000,
            note: String::new(),
        },
    );
    assert!(
        eventually(T, async || ledger(&desk.core, "c1").is_some_and(|l| l
            .handovers
            .len()
            == 1
            && l.handovers[0].status == HandoverStatus::Declared))
        .await,
        "the declaration reaches the dispatcher"
    );
    // A client and another courier do not receive it (the server holds it now).
    for who in ["k1", "c2"] {
        let mut peer = RawPeer::join(&server.url, &tokens[who]).await;
        peer.request(&doc);
        assert!(
            peer.refusal(&doc).await.is_ok(),
            "{who} does not receive c1's ledger"
        );
    }
}

/// In Chromium, two devices through a real server: the courier's phone
/// declares what it holds and shows the code; the dispatcher's Cash tab
/// records less from that code, sees the discrepancy and charges it to the
/// courier; the phone shows it settled and the shortfall still in hand. The
/// remittance statement (PDF) on the desk lists the hand-over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_hand_over_in_the_browser_shows_on_both_devices() {
    use ruta_e2e::{DeviceHost, provision_tenant};
    use serde_json::{Value, json};
    let data = tempfile::tempdir().unwrap();
    let tokens = provision_tenant(
        data.path(),
        "acme",
        &[("d1", "dispatcher"), ("c1", "courier")],
    );
    let server = SyncServer::start_in("cash-browser", data);
    let host = |name: &str, token: &str| DeviceHost::linked(name, &server.url, token);
    let desk = host("device-cash-desk", &tokens["d1"]);
    let phone = host("device-cash-phone", &tokens["c1"]);
    let call = async |h: &DeviceHost, r: Request| -> Value {
        let (code, body) = h.call(&serde_json::to_value(&r).unwrap()).await;
        assert_eq!(code, 200, "{r:?}: {body}");
        body
    };
    let order = call(
        &desk,
        Request::CreateOrder(app_api::NewOrder::simple(
            "Aino",
            "Mannerheimintie 20",
            "Bulevardi 14",
        )),
    )
    .await;
    let id = order["id"].as_str().unwrap().to_owned();
    for action in [
        Action::SetCod { cents: 7_250 },
        Action::Assign {
            courier: "c1".into(),
        },
    ] {
        call(
            &desk,
            Request::Act {
                order_id: id.clone(),
                action,
            },
        )
        .await;
    }
    assert!(
        eventually(T, async || phone
            .call(&json!({ "op": "get_order", "order_id": id }))
            .await
            .0
            == 200)
        .await,
        "the order reaches the phone"
    );
    call(
        &phone,
        Request::Act {
            order_id: id.clone(),
            action: Action::PickUp,
        },
    )
    .await;
    call(
        &phone,
        Request::CapturePod(CapturePodRequest {
            order_id: id.clone(),
            signature: Some(signature()),
            collect_cod_cents: Some(7_250),
            deliver: true,
            ..Default::default()
        }),
    )
    .await;
    let shown = ruta_e2e::browser_phase(
        "cash.mjs",
        "courier",
        &phone.url,
        json!({ "in_hand": "€72.50", "amount": "72.50" }),
    );
    let code = shown["code"].as_str().unwrap().to_owned();
    assert!(code.ends_with(":7250"), "{code}");
    // The desk needs the collection to have arrived (its in-hand figure).
    let ledger_on = async |h: &DeviceHost| -> Option<CashLedgerView> {
        let (status, body) = h
            .call(&json!({ "op": "cash_ledger", "courier": "c1" }))
            .await;
        (status == 200)
            .then(|| serde_json::from_value::<Response>(body).ok())
            .flatten()
            .and_then(|r| match r {
                Response::CashLedger(l) => Some(l),
                _ => None,
            })
    };
    assert!(
        eventually(T, async || ledger_on(&desk)
            .await
            .is_some_and(|l| l.position.collected_cents == 7_250))
        .await,
        "the collection reaches the desk"
    );
    let seen = ruta_e2e::browser_phase(
        "cash.mjs",
        "desk",
        &desk.url,
        json!({ "code": code, "counted": "70.00", "courier": "c1" }),
    );
    assert_eq!(seen["difference"], "· −€2.50", "{seen}");
    let settled = ruta_e2e::browser_phase("cash.mjs", "settled", &phone.url, json!({}));
    assert_eq!(settled["in_hand"], "In hand €2.50", "{settled}");
    let (a, b) = (
        ledger_on(&desk).await.unwrap(),
        ledger_on(&phone).await.unwrap(),
    );
    assert_eq!(
        a.handovers, b.handovers,
        "the same hand-over on both devices"
    );
    assert_eq!(a.handovers[0].status, HandoverStatus::Settled);
    // The day's remittance statement, read back with pdftotext.
    let day = {
        let now =
            jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::get("Europe/Helsinki").unwrap());
        now.date().to_string()
    };
    let doc = call(
        &desk,
        Request::Document(app_api::DocumentRequest::Remittance {
            courier: "c1".into(),
            day,
            csv: false,
        }),
    )
    .await;
    use base64::Engine as _;
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(doc["data_base64"].as_str().unwrap())
        .unwrap();
    let path = ruta_e2e::artifacts_dir().join("cash-remittance.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext");
    let text = String::from_utf8_lossy(&out.stdout);
    let reference = order["reference"].as_str().unwrap();
    assert!(text.contains(reference), "{text}");
    assert!(text.contains(&a.handovers[0].id), "{text}");
    assert!(text.contains("72.50") && text.contains("70.00"), "{text}");
}

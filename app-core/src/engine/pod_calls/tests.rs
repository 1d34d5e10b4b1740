//! Proof of delivery through `Core::execute`, on a real store and blob directory.

use std::sync::Arc;

use app_api::{
    Action, ActionKind, ApiError, CapturePodRequest, DeliveryStatus, DocumentRequest, GpsInput,
    NewOrder, PodNeeds, ProofKind, Request, Response, Role, SignatureInput, StrokePoint,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::Core;
use crate::clock::ManualClock;
use crate::engine::test_support::{open_at, session, signature};
use crate::lifecycle::Kind;

const NOW: i64 = 1_780_000_000_000;
const SECRET: &[u8] = b"tenant-secret-0123456789abcdef";

fn core() -> (tempfile::TempDir, Core, Arc<ManualClock>) {
    let (dir, core, clock) = open_at(NOW);
    core.set_pod_secret(SECRET).unwrap();
    (dir, core, clock)
}

/// A dispatcher creates an order needing `pod`, assigns it to `aki`, who picks it up.
fn picked_up(core: &Core, pod: PodNeeds, age: Option<u8>) -> String {
    session(core, "dana", Role::Dispatcher);
    let mut new = NewOrder::simple("Aino Virtanen", "Kaivokatu 1", "Fredrikinkatu 32");
    new.pod = pod;
    new.age_check = age;
    let Response::Order(o) = core.execute(Request::CreateOrder(new)).unwrap() else {
        panic!()
    };
    act(
        core,
        &o.id,
        Action::Assign {
            courier: "aki".into(),
        },
    );
    session(core, "aki", Role::Courier);
    act(core, &o.id, Action::PickUp);
    o.id
}

fn act(core: &Core, id: &str, action: Action) {
    core.execute(Request::Act {
        order_id: id.into(),
        action,
    })
    .unwrap();
}

fn capture(core: &Core, req: CapturePodRequest) -> Result<app_api::PodCaptured, ApiError> {
    core.execute(Request::CapturePod(req)).map(|r| match r {
        Response::PodCaptured(p) => p,
        other => panic!("{other:?}"),
    })
}

fn detail(core: &Core, id: &str) -> app_api::OrderDetail {
    match core
        .execute(Request::GetOrder {
            order_id: id.into(),
        })
        .unwrap()
    {
        Response::OrderDetail(d) => d,
        other => panic!("{other:?}"),
    }
}

/// A 2400 × 1800 camera-like JPEG (gradient with texture).
fn camera_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(2400, 1800, |x, y| {
        let n = ((x * 7919 + y * 104_729) % 61) as u8;
        image::Rgb([(x / 10) as u8 ^ n, (y / 8) as u8, 120 + n])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

fn pin_of(core: &Core, id: &str) -> String {
    core.verification_code(id).unwrap().pin()
}

fn blob_files(dir: &tempfile::TempDir) -> usize {
    std::fs::read_dir(dir.path().join("blobs/pending"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn a_full_capture_delivers_and_keeps_photo_signature_and_provenance() {
    let (dir, core, _) = core();
    let needs = PodNeeds {
        photo: true,
        signature: true,
        qr: false,
        pin: true,
    };
    let id = picked_up(&core, needs, None);
    let pin = pin_of(&core, &id);
    let got = capture(
        &core,
        CapturePodRequest {
            order_id: id.clone(),
            photo_base64: Some(B64.encode(camera_jpeg())),
            signature: Some(signature()),
            pin: Some(format!(" {} {} ", &pin[..3], &pin[3..])),
            gps: Some(GpsInput {
                lat: 60.1654,
                lon: 24.9353,
                accuracy_m: 8.5,
            }),
            deliver: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(got.delivered, "{got:?}");
    assert!(got.missing.is_empty());
    assert!(got.pin_verified && !got.qr_verified);
    assert_eq!(got.chain_seq, 1);

    let d = detail(&core, &id);
    assert_eq!(d.summary.status, DeliveryStatus::Delivered);
    assert_eq!(d.pods.len(), 1);
    let pod = &d.pods[0];
    assert_eq!(pod.id, got.pod_id);
    let prov = pod.captured.as_ref().expect("provenance");
    assert_eq!(prov.by, "aki");
    assert_eq!(prov.device, core.device_id());
    assert_eq!(prov.chain_seq, Some(1));
    let gps = prov.gps.unwrap();
    assert!((gps.lat - 60.1654).abs() < 1e-6 && (gps.accuracy_m - 8.5).abs() < 0.01);

    // The stored photo is a real, resized JPEG under its hash; pending upload.
    let photo_hash = got.photo_sha256.clone().unwrap();
    let Response::PodBlob(blob) = core
        .execute(Request::PodBlob {
            sha256: photo_hash.clone(),
        })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(blob.media_type, "image/jpeg");
    let jpeg = B64.decode(&blob.base64).unwrap();
    assert_eq!(crate::blobs::sha256_hex(&jpeg), photo_hash);
    let img = image::load_from_memory(&jpeg).unwrap();
    assert_eq!(
        (img.width(), img.height()),
        (1600, 1200),
        "default max edge"
    );
    assert!(jpeg.len() <= 300_000);
    assert_eq!(blob_files(&dir), 2, "photo and signature wait for upload");
    assert!(!core.blobs().is_confirmed(&photo_hash));

    // The signature is stored as strokes and shown as a PNG that has ink.
    let sig_hash = got.signature_sha256.clone().unwrap();
    let raw = core.blobs().get(&sig_hash).unwrap().unwrap();
    let strokes: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(strokes["strokes"].as_array().unwrap().len(), 2);
    let Response::PodBlob(sig) = core.execute(Request::PodBlob { sha256: sig_hash }).unwrap()
    else {
        panic!()
    };
    assert_eq!(sig.media_type, "image/png");
    let png = image::load_from_memory(&B64.decode(&sig.base64).unwrap())
        .unwrap()
        .to_luma8();
    let dark = png.pixels().filter(|p| p.0[0] < 100).count();
    assert!(dark > 500, "the signature has ink: {dark} dark pixels");

    // The order stays pending sync until the server confirms both blobs.
    let id_ = crate::domain::OrderId::new(id.clone());
    let writes = core.exchange(&id_, &[]).unwrap().writes;
    assert!(!core.confirm_synced(&id_, writes, |_| false).unwrap());
    assert!(core.confirm_synced(&id_, writes, |_| true).unwrap());

    // The receipt carries the signature and the photo as images.
    session(&core, "dana", Role::Dispatcher);
    let Response::Document(file) = core
        .execute(Request::Document(DocumentRequest::Receipt {
            order_id: id.clone(),
        }))
        .unwrap()
    else {
        panic!()
    };
    let pdf = B64.decode(&file.data_base64).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("receipt.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdfimages")
        .arg("-list")
        .arg(&path)
        .output()
        .expect("pdfimages (poppler-utils) is missing: run `bash scripts/setup.sh`");
    let list = String::from_utf8_lossy(&out.stdout);
    let images = list.lines().skip(2).filter(|l| l.contains("image")).count();
    assert!(images >= 2, "signature and photo embedded:\n{list}");
}

#[test]
fn a_partial_capture_is_kept_and_the_rest_completes_the_delivery() {
    let (_dir, core, _) = core();
    let needs = PodNeeds {
        photo: true,
        signature: true,
        ..Default::default()
    };
    let id = picked_up(&core, needs, Some(18));
    let first = capture(
        &core,
        CapturePodRequest {
            order_id: id.clone(),
            photo_base64: Some(B64.encode(camera_jpeg())),
            deliver: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!first.delivered);
    assert_eq!(
        first.missing,
        vec![ProofKind::Signature, ProofKind::AgeCheck]
    );
    assert_eq!(detail(&core, &id).summary.status, DeliveryStatus::PickedUp);

    let err = capture(
        &core,
        CapturePodRequest {
            order_id: id.clone(),
            age_confirmed: Some(16),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(&err, ApiError::Invalid { field, message } if field == "age_confirmed" && message.contains("18")),
        "{err:?}"
    );

    let second = capture(
        &core,
        CapturePodRequest {
            order_id: id.clone(),
            signature: Some(signature()),
            age_confirmed: Some(18),
            deliver: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(second.delivered, "{second:?}");
    assert_eq!(second.chain_seq, 2, "the courier's chain goes on");
    let d = detail(&core, &id);
    assert_eq!(d.pods.len(), 2, "two records, never merged into one");
    let delivered: Vec<&str> = d
        .timeline
        .iter()
        .filter(|t| t.kind == "delivered")
        .map(|t| t.details.as_str())
        .collect();
    assert_eq!(delivered.len(), 1, "{:?}", d.timeline);
    // The delivery cites both proofs: the photo of the first, the signature and
    // age check of the second.
    assert!(delivered[0].contains(&first.pod_id) && delivered[0].contains(&second.pod_id));
}

#[test]
fn bad_input_is_refused_with_the_field_and_nothing_is_written() {
    let (dir, core, _) = core();
    let needs = PodNeeds {
        photo: true,
        pin: true,
        ..Default::default()
    };
    let id = picked_up(&core, needs, None);
    let field_of = |req: CapturePodRequest| match capture(&core, req).unwrap_err() {
        ApiError::Invalid { field, message } => (field, message),
        other => panic!("{other:?}"),
    };
    let base = || CapturePodRequest {
        order_id: id.clone(),
        ..Default::default()
    };
    let mut truncated = camera_jpeg();
    truncated.truncate(truncated.len() / 3);
    for (req, field) in [
        (base(), "capture"),
        (
            CapturePodRequest {
                photo_base64: Some("not base64 at all!".into()),
                ..base()
            },
            "photo_base64",
        ),
        (
            CapturePodRequest {
                photo_base64: Some(B64.encode(b"GIF89a this is no photo")),
                ..base()
            },
            "photo",
        ),
        (
            CapturePodRequest {
                photo_base64: Some(B64.encode(&truncated)),
                ..base()
            },
            "photo",
        ),
        (
            CapturePodRequest {
                signature: Some(SignatureInput {
                    width: 400.0,
                    height: 200.0,
                    strokes: vec![vec![StrokePoint {
                        x: 1.0,
                        y: 1.0,
                        t_ms: 0,
                    }]],
                }),
                ..base()
            },
            "signature",
        ),
        (
            CapturePodRequest {
                qr_text: Some("RUTA1:some-other-order:123456".into()),
                ..base()
            },
            "qr",
        ),
        (
            CapturePodRequest {
                qr_frame_base64: Some(B64.encode(camera_jpeg())),
                ..base()
            },
            "qr_frame",
        ),
        (
            CapturePodRequest {
                gps: Some(GpsInput {
                    lat: 123.0,
                    lon: 24.0,
                    accuracy_m: 5.0,
                }),
                pin: None,
                age_confirmed: Some(30),
                ..base()
            },
            "gps",
        ),
    ] {
        let (got, message) = field_of(req);
        assert_eq!(got, field, "{message}");
        assert!(!message.is_empty());
    }
    assert_eq!(detail(&core, &id).pods.len(), 0, "nothing recorded");
    assert_eq!(blob_files(&dir), 0, "no file stored");

    // A dispatcher does not capture proofs for the courier's own order (the
    // lifecycle's rule: operators record them only for external carriers).
    session(&core, "dana", Role::Dispatcher);
    let refusal = capture(
        &core,
        CapturePodRequest {
            pin: Some(pin_of(&core, &id)),
            ..base()
        },
    )
    .unwrap_err();
    assert!(
        matches!(&refusal, ApiError::Refused { code, .. } if code == "forbidden"),
        "{refusal:?}"
    );
    assert_eq!(detail(&core, &id).pods.len(), 0, "nothing recorded");
    session(&core, "aki", Role::Courier);

    // Wrong PINs are counted and locked after five; the right one then waits too.
    let right = pin_of(&core, &id);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for left in (0..5).rev() {
        let (field, message) = field_of(CapturePodRequest {
            pin: Some(wrong.into()),
            ..base()
        });
        assert_eq!(field, "pin");
        assert!(message.contains(&format!("{left} tries left")), "{message}");
    }
    let (_, message) = field_of(CapturePodRequest {
        pin: Some(right.clone()),
        ..base()
    });
    assert!(message.contains("try again in"), "{message}");
    assert_eq!(detail(&core, &id).pods.len(), 0);
}

#[test]
fn qr_scanned_from_a_camera_frame_verifies_and_no_key_means_a_clear_error() {
    let (_dir, core, _) = core();
    let needs = PodNeeds {
        qr: true,
        ..Default::default()
    };
    let id = picked_up(&core, needs, None);
    let code = core.verification_code(&id).unwrap();
    // The code as printed, photographed: on a larger grey page, scaled.
    let png = crate::pod::verify::qr_png(&code.qr_payload(), 5).unwrap();
    let qr = image::load_from_memory(&png).unwrap().to_luma8();
    let mut page = image::GrayImage::from_pixel(900, 700, image::Luma([200]));
    let scaled = image::imageops::resize(
        &qr,
        qr.width() * 6 / 5,
        qr.height() * 6 / 5,
        image::imageops::FilterType::Triangle,
    );
    image::imageops::overlay(&mut page, &scaled, 180, 120);
    let mut frame = std::io::Cursor::new(Vec::new());
    page.write_to(&mut frame, image::ImageFormat::Jpeg).unwrap();
    let got = capture(
        &core,
        CapturePodRequest {
            order_id: id.clone(),
            qr_frame_base64: Some(B64.encode(frame.into_inner())),
            deliver: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(got.qr_verified && got.delivered, "{got:?}");

    // A device that never received the tenant key cannot verify.
    let dir = tempfile::tempdir().unwrap();
    let fresh = Core::open(dir.path()).unwrap().or_dispatcher();
    let id2 = picked_up(&fresh, needs, None);
    let err = capture(
        &fresh,
        CapturePodRequest {
            order_id: id2,
            qr_text: Some(code.qr_payload()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(&err, ApiError::Invalid { field, message } if field == "verification" && message.contains("key")),
        "{err:?}"
    );
}

#[test]
fn the_chain_verifies_and_shows_a_missing_record_and_a_backdated_clock() {
    let (_dir, courier, clock) = core();
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = picked_up(&courier, PodNeeds::default(), None);
        clock.advance(60_000);
        // The third capture's device clock was set back by an hour.
        let device_clock = NOW + i * 60_000 - if i == 2 { 3_600_000 } else { 0 };
        capture(
            &courier,
            CapturePodRequest {
                order_id: id.clone(),
                signature: Some(signature()),
                device_clock_ms: Some(device_clock),
                deliver: true,
                ..Default::default()
            },
        )
        .unwrap();
        ids.push(id);
    }
    let chains = |core: &Core| match core.execute(Request::PodChains).unwrap() {
        Response::PodChains { chains } => chains,
        other => panic!("{other:?}"),
    };
    let all = chains(&courier);
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].courier.as_str(), all[0].records, all[0].head_seq),
        ("aki", 3, 3)
    );
    assert_eq!(all[0].findings.len(), 1, "{:?}", all[0].findings);
    assert_eq!(all[0].findings[0].order_id, ids[2]);
    assert!(
        all[0].findings[0].message.contains("clock"),
        "{:?}",
        all[0].findings
    );

    // A dispatcher's device that got orders 1 and 3 but not 2 sees the gap.
    let dir = tempfile::tempdir().unwrap();
    let dispatcher = Core::open(dir.path()).unwrap().or_dispatcher();
    for id in [&ids[0], &ids[2]] {
        let oid = crate::domain::OrderId::new(id.clone());
        dispatcher
            .merge_remote(&oid, &courier.doc_bytes(&oid).unwrap())
            .unwrap();
    }
    let seen = chains(&dispatcher);
    let msgs: Vec<&str> = seen[0]
        .findings
        .iter()
        .map(|f| f.message.as_str())
        .collect();
    assert!(
        seen[0].findings.iter().any(|f| f.order_id == ids[2]
            && f.message.contains("seq 2")
            && f.message.contains("missing")),
        "{msgs:?}"
    );
}

#[test]
fn detail_offers_only_what_the_lifecycle_allows_and_lists_missing_proofs() {
    let (_dir, core, _) = core();
    let needs = PodNeeds {
        photo: true,
        pin: true,
        ..Default::default()
    };
    let id = picked_up(&core, needs, Some(18));
    // The courier, after pickup: transit, delivery (proofs listed), failure; no
    // assigning, cancelling or picking up again.
    let d = detail(&core, &id);
    for yes in [
        ActionKind::StartTransit,
        ActionKind::Deliver,
        ActionKind::FailAttempt,
    ] {
        assert!(d.actions.contains(&yes), "{yes:?} in {:?}", d.actions);
    }
    for no in [
        ActionKind::Assign,
        ActionKind::Cancel,
        ActionKind::PickUp,
        ActionKind::Reopen,
        ActionKind::RecordCarrierDelivery,
        ActionKind::Edit,
    ] {
        assert!(!d.actions.contains(&no), "{no:?} in {:?}", d.actions);
    }
    assert_eq!(
        d.missing_proofs,
        vec![ProofKind::Photo, ProofKind::Pin, ProofKind::AgeCheck]
    );
    assert_eq!(d.age_check, Some(18));
    assert!(d.pod_needs.photo && d.pod_needs.pin && !d.pod_needs.qr);
    assert_eq!(d.dropoff.as_ref().unwrap().address, "Fredrikinkatu 32");

    // A dispatcher sees the operator's actions and not the courier's.
    // Once picked up, it can only come back (return), not be cancelled, or
    // (a pickup & delivery order) be received at a hub for its last leg.
    session(&core, "dana", Role::Dispatcher);
    let d = detail(&core, &id);
    assert_eq!(
        d.actions,
        vec![
            ActionKind::Return,
            ActionKind::Edit,
            ActionKind::ReceiveAtHub
        ]
    );
    let Response::Order(o) = core
        .execute(Request::CreateOrder(NewOrder::simple(
            "B",
            "Kaivokatu 1",
            "Bulevardi 1",
        )))
        .unwrap()
    else {
        panic!()
    };
    let id = o.id;
    let d = detail(&core, &id);
    for yes in [ActionKind::Assign, ActionKind::Cancel, ActionKind::Edit] {
        assert!(d.actions.contains(&yes), "{yes:?} in {:?}", d.actions);
    }
    assert!(
        !d.actions
            .iter()
            .any(|a| matches!(a, ActionKind::StartTransit | ActionKind::Deliver))
    );
    // Every offered action really is accepted: cancel it.
    act(
        &core,
        &id,
        Action::Cancel {
            reason: "client called".into(),
        },
    );
    let d = detail(&core, &id);
    assert_eq!(d.summary.status, DeliveryStatus::Cancelled);
    assert!(d.actions.contains(&ActionKind::Reopen), "{:?}", d.actions);
    assert!(!d.actions.contains(&ActionKind::Cancel));
    assert!(
        !d.actions.contains(&ActionKind::Edit),
        "a cancelled order is not edited"
    );
}

#[test]
fn a_dispatcher_records_an_external_carriers_proof_and_delivery() {
    let (_dir, core, _) = core();
    session(&core, "dana", Role::Dispatcher);
    let mut new = NewOrder::simple("Aino Virtanen", "Kaivokatu 1", "Fredrikinkatu 32");
    new.carrier = app_api::CarrierType::External;
    new.pod = PodNeeds {
        signature: true,
        ..Default::default()
    };
    let Response::Order(o) = core.execute(Request::CreateOrder(new)).unwrap() else {
        panic!()
    };
    act(
        &core,
        &o.id,
        Action::Assign {
            courier: "carrier-x".into(),
        },
    );
    act(&core, &o.id, Action::PickUp);
    let d = detail(&core, &o.id);
    assert!(
        d.actions.contains(&ActionKind::RecordCarrierDelivery),
        "{:?}",
        d.actions
    );
    assert_eq!(d.missing_proofs, vec![ProofKind::Signature]);
    // The carrier's signed delivery note, recorded by the dispatcher: one call
    // records the proof and delivers.
    let p = capture(
        &core,
        CapturePodRequest {
            order_id: o.id.clone(),
            signature: Some(signature()),
            deliver: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(p.missing.is_empty(), "{:?}", p.missing);
    assert!(p.delivered);
    let d = detail(&core, &o.id);
    assert_eq!(d.summary.status, DeliveryStatus::Delivered);
    assert_eq!(d.pods.len(), 1);
    // A courier cannot record a proof on an external carrier's order.
    session(&core, "aki", Role::Courier);
    let refusal = capture(
        &core,
        CapturePodRequest {
            order_id: o.id.clone(),
            signature: Some(signature()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(&refusal, ApiError::Refused { code, .. } if code == "forbidden"),
        "{refusal:?}"
    );
}

#[test]
fn cash_proof_and_delivery_are_one_write() {
    let (_dir, core, _) = core();
    let id = picked_up(
        &core,
        PodNeeds {
            signature: true,
            ..Default::default()
        },
        None,
    );
    session(&core, "dana", Role::Dispatcher);
    act(&core, &id, Action::SetCod { cents: 2_450 });
    session(&core, "aki", Role::Courier);
    let oid = crate::domain::OrderId::new(id.clone());
    let writes_before = core.exchange(&oid, &[]).unwrap().writes;
    let p = capture(
        &core,
        CapturePodRequest {
            order_id: id.clone(),
            signature: Some(signature()),
            collect_cod_cents: Some(2_450),
            deliver: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(p.delivered && p.missing.is_empty(), "{p:?}");
    assert_eq!(
        core.exchange(&oid, &[]).unwrap().writes,
        writes_before + 1,
        "the cash, the proof and the delivery are one write"
    );
    let state = core.order_state(&oid).unwrap();
    assert_eq!(state.status, DeliveryStatus::Delivered);
    let kinds: Vec<Kind> = state
        .timeline
        .iter()
        .rev()
        .take(3)
        .map(|t| t.event.body.kind())
        .collect();
    assert_eq!(
        kinds,
        vec![Kind::Delivered, Kind::PodCaptured, Kind::CodCollected]
    );
    assert_eq!(state.cod_collected, Some(2_450));

    // A refused part refuses the whole intent: nothing is written (here the
    // parcel is not picked up yet, so neither cash nor proof can be recorded).
    session(&core, "dana", Role::Dispatcher);
    let Response::Order(o) = core
        .execute(Request::CreateOrder(NewOrder::simple(
            "Aino Virtanen",
            "Kaivokatu 1",
            "Fredrikinkatu 32",
        )))
        .unwrap()
    else {
        panic!()
    };
    act(
        &core,
        &o.id,
        Action::Assign {
            courier: "aki".into(),
        },
    );
    session(&core, "aki", Role::Courier);
    let oid = crate::domain::OrderId::new(o.id.clone());
    let before = core.order_state(&oid).unwrap().timeline.len();
    let writes = core.exchange(&oid, &[]).unwrap().writes;
    capture(
        &core,
        CapturePodRequest {
            order_id: o.id.clone(),
            signature: Some(signature()),
            collect_cod_cents: Some(100),
            deliver: true,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(core.order_state(&oid).unwrap().timeline.len(), before);
    assert_eq!(core.exchange(&oid, &[]).unwrap().writes, writes);
}

#[test]
fn a_proof_outside_every_chain_is_a_finding_not_skipped() {
    // A modified courier device writes a proof straight into the order's
    // document, with no chain link (no core call can: there is no door for it).
    let (_dir, courier, clock) = core();
    let id = picked_up(&courier, PodNeeds::default(), None);
    clock.advance(60_000);
    capture(
        &courier,
        CapturePodRequest {
            order_id: id.clone(),
            signature: Some(signature()),
            ..Default::default()
        },
    )
    .unwrap();
    let oid = crate::domain::OrderId::new(id.clone());
    let state = courier.order_state(&oid).unwrap();
    let genuine = state.pods[0].clone();
    let device = crate::domain::DeviceId::new(courier.device_id());
    let bytes = courier.doc_bytes(&oid).unwrap();
    let mut doc = crate::order_doc::OrderDoc::load(&bytes, &[], &device).unwrap();
    let mut at = genuine.at.unwrap();
    at.counter += 7;
    let mut record = genuine.record.clone();
    record.id = crate::domain::PodId::new("forged-pod");
    record.chain = None;
    record.pin_verified = true;
    doc.append(&crate::lifecycle::Event {
        at,
        actor: genuine.by.clone().unwrap(),
        seen: state.seen(),
        location: None,
        body: crate::lifecycle::EventBody::PodCaptured { pod: record },
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dispatcher = Core::open(dir.path()).unwrap().or_dispatcher();
    dispatcher.merge_remote(&oid, &doc.save()).unwrap();
    let Response::PodChains { chains } = dispatcher.execute(Request::PodChains).unwrap() else {
        panic!()
    };
    assert_eq!(chains.len(), 1, "{chains:?}");
    assert_eq!(chains[0].courier, "aki");
    assert_eq!(chains[0].records, 1, "the genuine proof is in the chain");
    let findings: Vec<&str> = chains[0]
        .findings
        .iter()
        .map(|f| f.pod_id.as_str())
        .collect();
    assert_eq!(findings, ["forged-pod"], "{:?}", chains[0].findings);
    assert!(chains[0].findings[0].message.contains("in no chain"));
}

#[test]
fn a_courier_device_checks_a_pin_with_the_orders_verifier_and_no_key() {
    // The dispatcher's device holds the tenant key; the courier's only the
    // verifier of its own order (what the server's /v1/verifiers sends).
    let (_dir, dispatcher, _) = core();
    let id = picked_up(&dispatcher, PodNeeds::default(), None);
    let pin = pin_of(&dispatcher, &id);
    let dir = tempfile::tempdir().unwrap();
    let courier = Core::open(dir.path()).unwrap().or_dispatcher();
    let oid = crate::domain::OrderId::new(id.clone());
    courier
        .merge_remote(&oid, &dispatcher.doc_bytes(&oid).unwrap())
        .unwrap();
    session(&courier, "aki", Role::Courier);
    assert!(courier.verification_code(&id).is_none(), "no key, no code");
    let by_pin = |c: &Core, pin: &str| {
        capture(
            c,
            CapturePodRequest {
                order_id: id.clone(),
                pin: Some(pin.into()),
                ..Default::default()
            },
        )
    };
    let err = by_pin(&courier, &pin).unwrap_err();
    assert!(
        matches!(&err, ApiError::Invalid { field, message } if field == "verification" && message.contains("key")),
        "{err:?}"
    );
    assert!(
        courier.lacks_verifiers(),
        "the sync client would ask for one"
    );
    courier
        .set_verifiers(&[crate::pod::verifier::verifier_for(SECRET, &id, 1_000)])
        .unwrap();
    assert!(!courier.lacks_verifiers(), "and then stop asking");
    let wrong = format!("{:06}", (pin.parse::<u32>().unwrap() + 1) % 1_000_000);
    let err = by_pin(&courier, &wrong).unwrap_err();
    assert!(
        matches!(&err, ApiError::Invalid { field, message } if field == "pin" && message.contains("4 tries left")),
        "{err:?}"
    );
    let got = by_pin(&courier, &pin).unwrap();
    assert!(got.pin_verified, "{got:?}");
}

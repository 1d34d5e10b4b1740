//! The three workspaces in a real browser (Chromium), against a real sync
//! server: a dispatcher creates and assigns an order; the courier, whose device
//! is cut off from the server, picks it up and delivers it with a photo, a drawn
//! signature and the recipient's QR code; back online, the dispatcher sees
//! Delivered, the proof (photo, signature, verification, chain) and downloads
//! the invoice. Screenshots land in `artifacts/workspaces-*.png`.

use std::process::Command;
use std::time::Duration;

use app_api::{DeliveryStatus, Response};
use base64::Engine as _;
use ruta_e2e::{DeviceHost, Link, SyncServer, eventually, provision_tenant};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

fn phase(name: &str, url: &str, args: serde_json::Value) -> serde_json::Value {
    ruta_e2e::browser_phase("workspaces.mjs", name, url, args)
}

async fn detail(host: &DeviceHost, id: &str) -> Option<app_api::OrderDetail> {
    match host
        .call(&json!({ "op": "get_order", "order_id": id }))
        .await
    {
        (200, body) => match serde_json::from_value(body).ok()? {
            Response::OrderDetail(d) => Some(d),
            _ => None,
        },
        _ => None,
    }
}

fn device(name: &str, server: &str, token: &str) -> DeviceHost {
    DeviceHost::linked(name, server, token)
}

/// A camera-like JPEG (1600 × 1200, textured).
pub(crate) fn camera_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(1600, 1200, |x, y| {
        let n = ((x * 7919 + y * 104_729) % 61) as u8;
        image::Rgb([(x / 7) as u8 ^ n, (y / 5) as u8, 110 + n])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatcher_assigns_courier_delivers_offline_with_proof_dispatcher_reviews() {
    let data = tempfile::tempdir().unwrap();
    let tokens = provision_tenant(
        data.path(),
        "acme",
        &[("d1", "dispatcher"), ("c1", "courier")],
    );
    let server = SyncServer::start_in("sync-workspaces", data);
    let link = Link::start(server.url.trim_start_matches("http://")).await;
    let disp = device("device-dispatcher", &server.url, &tokens["d1"]);
    let courier = device("device-courier", &link.url, &tokens["c1"]);

    // 1. The dispatcher creates and assigns in the console.
    let made = phase(
        "dispatch",
        &disp.url,
        json!({ "customer": "Åke Öberg", "courier": "c1" }),
    );
    let id = made["orderId"].as_str().unwrap().to_owned();
    let reference = made["reference"].as_str().unwrap().to_owned();
    assert!(
        eventually(T, async || detail(&courier, &id).await.is_some_and(|d| d
            .summary
            .status
            == DeliveryStatus::Assigned
            && d.verification_ready))
        .await,
        "the courier's device receives the assignment and the order's verifier"
    );

    // The recipient's code, as the dispatcher sends it (SMS/e-mail), photographed.
    let (status, body) = disp
        .call(&json!({ "op": "verification_code", "order_id": id }))
        .await;
    assert_eq!(status, 200, "{body}");
    let Response::VerificationCode(code) = serde_json::from_value(body).unwrap() else {
        panic!()
    };
    let qr_png = base64::engine::general_purpose::STANDARD
        .decode(&code.qr_png_base64)
        .unwrap();
    let qr = image::load_from_memory(&qr_png).unwrap().to_luma8();
    let mut frame = image::GrayImage::from_pixel(900, 700, image::Luma([215]));
    image::imageops::overlay(&mut frame, &qr, 250, 150);
    let files = tempfile::tempdir().unwrap();
    let (photo, qr_file) = (files.path().join("door.jpg"), files.path().join("qr.jpg"));
    std::fs::write(&photo, camera_jpeg()).unwrap();
    frame.save(&qr_file).unwrap();

    // 2. The courier's network goes; the delivery happens offline.
    link.cut();
    let delivered = phase(
        "deliver",
        &courier.url,
        json!({ "reference": reference, "photo": photo, "qr": qr_file }),
    );
    assert!(delivered["done"].as_str().unwrap().starts_with("Delivered"));
    let on_courier = detail(&courier, &id).await.unwrap();
    assert_eq!(on_courier.summary.status, DeliveryStatus::Delivered);
    assert_eq!(on_courier.pods.len(), 1, "one proof, not merged");
    let pod = &on_courier.pods[0];
    assert!(pod.qr_verified && pod.photo_sha256.is_some() && pod.signature_sha256.is_some());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        detail(&disp, &id).await.unwrap().summary.status,
        DeliveryStatus::Assigned,
        "nothing reached the dispatcher while offline"
    );

    // 3. Back online: the dispatcher's device gets the delivery and the photo.
    link.restore();
    let photo_hash = pod.photo_sha256.clone().unwrap();
    assert!(
        eventually(T, async || {
            detail(&disp, &id)
                .await
                .is_some_and(|d| d.summary.status == DeliveryStatus::Delivered)
                && disp
                    .call(&json!({ "op": "pod_blob", "sha256": photo_hash }))
                    .await
                    .0
                    == 200
        })
        .await,
        "the dispatcher's device has the delivery and its photo"
    );
    let on_disp = detail(&disp, &id).await.unwrap();
    let capture = |d: &app_api::OrderDetail| {
        d.timeline
            .iter()
            .map(|t| (t.kind.clone(), t.at_ms, t.device.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        capture(&on_disp),
        capture(&on_courier),
        "capture times and devices kept"
    );

    let reviewed = phase("review", &disp.url, json!({ "reference": reference }));
    let invoice = std::fs::read(reviewed["invoice"].as_str().unwrap()).unwrap();
    assert!(invoice.starts_with(b"%PDF-"));
    let text = Command::new("pdftotext")
        .args(["-layout", reviewed["invoice"].as_str().unwrap(), "-"])
        .output()
        .expect("pdftotext");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Åke Öberg"), "{text}");
    assert!(text.contains(&reference), "{text}");
    let cents = on_disp.summary.price_cents;
    let amount = format!("{}.{:02}", cents / 100, cents % 100);
    assert!(cents > 0 && text.contains(&amount), "{amount} in {text}");
}

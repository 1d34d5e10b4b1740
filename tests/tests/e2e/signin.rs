//! Sign-in and enrolment through the real pieces: a real sync server, device
//! hosts that start signed out, Chromium on the sign-in screen. A code typed in
//! and a QR photo sign devices in; reused, expired, unknown and mistyped codes
//! are refused by name; attempts are rate-limited; the token file is private
//! and bound to its device; the command API cannot pick a session; sign-out
//! keeps unsynced changes; a revoked device ends at the sign-in screen.

use std::time::{Duration, Instant};

use app_api::account::{AccountResponse, AccountState, AccountStatus};
use base64::Engine as _;
use ruta_e2e::{DeviceHost, SyncServer, enrolment_code, eventually, provision_tenant};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

fn phase(name: &str, url: &str, args: serde_json::Value) -> serde_json::Value {
    ruta_e2e::browser_phase("signin.mjs", name, url, args)
}

/// A device host nobody is signed in on.
fn signed_out(name: &str) -> DeviceHost {
    DeviceHost::start_with_env(
        name,
        tempfile::tempdir().unwrap(),
        &[("RUTA_WORK_WITHOUT_SERVER", "".as_ref())],
    )
}

async fn account(host: &DeviceHost, req: serde_json::Value) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}{}",
            host.url,
            app_api::account::ACCOUNT_HTTP_PATH
        ))
        .json(&req)
        .send()
        .await
        .expect("device host reachable");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON answer"))
}

async fn status(host: &DeviceHost) -> AccountStatus {
    match account(host, json!({ "op": "status" })).await {
        (200, body) => match serde_json::from_value(body).unwrap() {
            AccountResponse::Status(s) => s,
            other => panic!("{other:?}"),
        },
        (code, body) => panic!("{code} {body}"),
    }
}

async fn sign_in(host: &DeviceHost, server: &str, code: &str) -> (u16, serde_json::Value) {
    account(
        host,
        json!({ "op": "sign_in", "server": server, "code": code }),
    )
    .await
}

fn refusal(body: &serde_json::Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

/// A well-formed code nobody issued.
fn unissued(tenant: &str) -> String {
    (0u8..=255)
        .find_map(|s| {
            app_core::enrolment::Code::new(tenant, [s.wrapping_mul(37) % 32; 11])
                .map(|c| c.to_string())
        })
        .unwrap()
}

/// The same code with one symbol changed.
fn mistyped(code: &str) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    let i = chars.len() - 3;
    chars[i] = if chars[i] == 'X' { 'Y' } else { 'X' };
    chars.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_sign_in_with_a_typed_code_or_a_qr_photo_and_bad_codes_are_refused_by_name() {
    let data = tempfile::tempdir().unwrap();
    provision_tenant(
        data.path(),
        "acme",
        &[
            ("boss", "admin"),
            ("aki", "courier"),
            ("disp", "dispatcher"),
        ],
    );
    let admin_code = enrolment_code(data.path(), "acme", "boss", 30);
    let server = SyncServer::start_in("sync-signin", data);
    let admin = signed_out("device-signin-admin");
    let courier = signed_out("device-signin-courier");
    let third = signed_out("device-signin-third");

    // Signed out: the core refuses work, and the command API has no session door.
    let (code, body) = admin.call(&json!({ "op": "list_orders" })).await;
    assert_eq!((code, refusal(&body)), (409, "signed_out"), "{body}");
    let (code, body) = admin
        .call(&json!({ "op": "set_session", "user": "boss", "role": "admin" }))
        .await;
    assert_eq!(code, 400, "{body}");
    assert!(body.to_string().contains("set_session"), "{body}");
    assert_eq!(status(&admin).await.state, AccountState::SignedOut);

    // The admin types the code on the sign-in screen; a typo first.
    let typed = tokio::task::spawn_blocking({
        let (url, server, code) = (admin.url.clone(), server.url.clone(), admin_code.clone());
        move || {
            phase(
                "type",
                &url,
                json!({ "server": server, "bad_code": mistyped(&code), "code": code,
                        "expect_error": "mistyped", "workspace": "#tab-people", "shot": "admin" }),
            )
        }
    })
    .await
    .unwrap();
    assert!(
        typed["who"].as_str().unwrap().contains("boss · admin"),
        "{typed}"
    );
    let s = status(&admin).await;
    assert_eq!(
        (s.state, s.role, s.tenant.as_deref()),
        (
            AccountState::SignedIn,
            Some(app_api::Role::Admin),
            Some("acme")
        )
    );
    // The token is in the data directory, owner-only, and never the code.
    let creds = admin
        .data
        .path()
        .join(sync_client::account::CREDENTIALS_FILE);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&creds).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let stored = std::fs::read_to_string(&creds).unwrap();
    let token = serde_json::from_str::<serde_json::Value>(&stored).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(token.starts_with("rt_acme_") && !stored.contains(&admin_code));

    // The token works only from the device it was issued to.
    let admin_device = s.device_id.clone();
    let me = |device: Option<String>| {
        let (url, token) = (format!("{}/v1/me", server.url), token.clone());
        async move {
            let mut req = reqwest::Client::new().get(url).bearer_auth(token);
            if let Some(d) = device {
                req = req.header(app_api::server::DEVICE_HEADER, d);
            }
            req.send().await.unwrap().status().as_u16()
        }
    };
    assert_eq!(me(Some(admin_device.clone())).await, 200);
    assert_eq!(me(Some("0123456789abcdef".into())).await, 401);
    assert_eq!(me(None).await, 401);

    // The admin issues the courier's code in the People tab; the courier's
    // device signs in from a photo of its QR code.
    let issued = tokio::task::spawn_blocking({
        let url = admin.url.clone();
        move || phase("admin", &url, json!({ "user": "aki" }))
    })
    .await
    .unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(issued["qr_png_base64"].as_str().unwrap())
        .unwrap();
    let decoded = image::load_from_memory(&png).expect("the QR image decodes");
    assert!(decoded.width() >= 100);
    let payloads = app_core::pod::verify::scan(&png).unwrap();
    let courier_code = issued["code"].as_str().unwrap().to_owned();
    assert_eq!(
        payloads,
        vec![format!(
            "RUTA-ENROL {} {courier_code}",
            status(&admin).await.server.unwrap()
        )]
    );
    let qr_path = admin.data.path().join("enrolment-qr.png");
    std::fs::write(&qr_path, &png).unwrap();
    let scanned = tokio::task::spawn_blocking({
        let url = courier.url.clone();
        let qr_path = qr_path.display().to_string();
        move || {
            phase(
                "qr",
                &url,
                json!({ "qr_path": qr_path, "workspace": "main.courier" }),
            )
        }
    })
    .await
    .unwrap();
    assert!(
        scanned["who"].as_str().unwrap().contains("aki · courier"),
        "{scanned}"
    );
    let (_, body) = courier.call(&json!({ "op": "device_status" })).await;
    assert_eq!(
        (body["user"].as_str(), body["role"].as_str()),
        (Some("aki"), Some("courier"))
    );

    // A used, an expired, an unknown and a mistyped code, each refused by name.
    let (code, body) = sign_in(&third, &server.url, &courier_code).await;
    assert_eq!((code, refusal(&body)), (409, "code-used"), "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("already used"),
        "{body}"
    );
    let short = {
        let out = std::process::Command::new(ruta_e2e::binary("sync-server"))
            .arg("--data")
            .arg(server.data.path())
            .args([
                "enrol",
                "--tenant",
                "acme",
                "--user",
                "disp",
                "--ttl-seconds",
                "1",
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (code, body) = sign_in(&third, &server.url, &short).await;
    assert_eq!((code, refusal(&body)), (409, "code-expired"), "{body}");
    let (code, body) = sign_in(&third, &server.url, &unissued("acme")).await;
    assert_eq!((code, refusal(&body)), (409, "code-unknown"), "{body}");
    let (code, body) = sign_in(&third, &server.url, &mistyped(&short)).await;
    assert_eq!((code, refusal(&body)), (409, "code-mistyped"), "{body}");
    let (code, body) = sign_in(&third, "not a url", &short).await;
    assert_eq!(
        (code, body["field"].as_str()),
        (400, Some("server")),
        "{body}"
    );
    assert_eq!(status(&third).await.state, AccountState::SignedOut);

    // A dispatcher cannot administer, on the device or at the server.
    let disp_code = enrolment_code(server.data.path(), "acme", "disp", 30);
    let (code, body) = sign_in(&third, &server.url, &disp_code).await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = account(&third, json!({ "op": "users" })).await;
    assert_eq!((code, refusal(&body)), (409, "admins_only"), "{body}");
    let disp_token = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(
            third
                .data
                .path()
                .join(sync_client::account::CREDENTIALS_FILE),
        )
        .unwrap(),
    )
    .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/admin/enrolments", server.url))
        .bearer_auth(&disp_token)
        .header(
            app_api::server::DEVICE_HEADER,
            status(&third).await.device_id,
        )
        .json(&json!({ "user": "disp" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(refusal(&body), "admins_only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_keeps_unsynced_changes_and_a_revoked_device_ends_at_sign_in() {
    let data = tempfile::tempdir().unwrap();
    provision_tenant(
        data.path(),
        "acme",
        &[("boss", "admin"), ("disp", "dispatcher")],
    );
    let codes = [
        enrolment_code(data.path(), "acme", "boss", 30),
        enrolment_code(data.path(), "acme", "disp", 30),
    ];
    let mut server = SyncServer::start_in("sync-signout", data);
    let addr = server.url.trim_start_matches("http://").to_owned();
    let admin = signed_out("device-signout-admin");
    let disp = signed_out("device-signout-disp");
    for (host, code) in [(&admin, &codes[0]), (&disp, &codes[1])] {
        let (c, body) = sign_in(host, &server.url, code).await;
        assert_eq!(c, 200, "{body}");
    }
    let create = |name: &'static str| {
        let disp = &disp;
        async move {
            let (c, body) = disp
                .call(&json!({ "op": "create_order", "customer_name": name,
                    "pickup_address": "Kaivokatu 1", "dropoff_address": "Bulevardi 14" }))
                .await;
            assert_eq!(c, 200, "{body}");
        }
    };
    create("Synced Oy").await;
    assert!(
        eventually(T, async || status(&disp).await.unsynced == 0).await,
        "the first order syncs"
    );

    // The server goes away; a change made now waits on the device.
    let server_data = std::mem::replace(&mut server.data, tempfile::tempdir().unwrap());
    server.proc.kill();
    drop(server);
    create("Pending Oy").await;
    assert_eq!(status(&disp).await.unsynced, 1);
    for req in [
        json!({ "op": "sign_out" }),
        json!({ "op": "sign_out", "forget": true }),
    ] {
        let (c, body) = account(&disp, req).await;
        assert_eq!((c, refusal(&body)), (409, "unsynced"), "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("1 order"),
            "{body}"
        );
    }
    // The dialog says so; signing out keeping them lands on the sign-in screen.
    let out = tokio::task::spawn_blocking({
        let url = disp.url.clone();
        move || phase("signout", &url, json!({}))
    })
    .await
    .unwrap();
    assert!(
        out["unsynced"].as_str().unwrap().contains("1 order(s)"),
        "{out}"
    );
    let (_, st) = disp.call(&json!({ "op": "device_status" })).await;
    assert_eq!(
        (st["signed_in"].as_bool(), st["order_count"].as_u64()),
        (Some(false), Some(2))
    );
    assert_eq!(status(&disp).await.unsynced, 1, "the change is kept");

    // Back online and signed in again: the kept change reaches the server.
    let server = SyncServer::start_at("sync-signout-2", server_data, &addr);
    let again = enrolment_code(server.data.path(), "acme", "disp", 30);
    let (c, body) = sign_in(&disp, &server.url, &again).await;
    assert_eq!(c, 200, "{body}");
    assert!(
        eventually(T, async || status(&disp).await.unsynced == 0).await,
        "the kept change syncs after the next sign-in"
    );

    // The admin revokes the dispatcher's device: it ends at the sign-in screen.
    assert!(
        eventually(T, async || matches!(
            account(&admin, json!({ "op": "status" })).await.1["state"].as_str(),
            Some("signed_in")
        ))
        .await
    );
    let disp_device = status(&disp).await.device_id;
    let (c, body) = account(&admin, json!({ "op": "devices" })).await;
    assert_eq!(c, 200, "{body}");
    let listed = body["devices"].as_array().unwrap();
    let row = listed
        .iter()
        .find(|d| d["device"] == disp_device.as_str())
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(
        (row["user"].as_str(), row["active"].as_bool()),
        (Some("disp"), Some(true))
    );
    let t0 = Instant::now();
    let (c, body) = account(
        &admin,
        json!({ "op": "revoke_device", "device": disp_device }),
    )
    .await;
    assert_eq!(c, 200, "{body}");
    assert!(
        eventually(Duration::from_secs(15), async || status(&disp).await.state
            == AccountState::SignedOut)
        .await,
        "the revoked device is signed out"
    );
    eprintln!("revoked device signed out after {:?}", t0.elapsed());
    let (c, body) = disp.call(&json!({ "op": "list_orders" })).await;
    assert_eq!((c, refusal(&body)), (409, "signed_out"), "{body}");
    let notice = tokio::task::spawn_blocking({
        let url = disp.url.clone();
        move || phase("revoked", &url, json!({}))
    })
    .await
    .unwrap();
    assert!(
        notice["notice"].as_str().unwrap().contains("revoked"),
        "{notice}"
    );
    let (c, body) = account(&admin, json!({ "op": "devices" })).await;
    assert_eq!(c, 200);
    assert!(
        body["devices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["device"] == disp_device.as_str() && d["active"] == false)
    );

    // Everything was synced: forgetting the device empties it and makes it new.
    let (c, body) = account(&disp, json!({ "op": "sign_out", "forget": true })).await;
    assert_eq!(c, 200, "{body}");
    let (_, st) = disp.call(&json!({ "op": "device_status" })).await;
    assert_eq!(st["order_count"].as_u64(), Some(0));
    assert_ne!(st["device_id"].as_str(), Some(disp_device.as_str()));
    assert!(
        !disp.data.path().join("blobs").exists()
            || std::fs::read_dir(disp.data.path().join("blobs"))
                .unwrap()
                .next()
                .is_none()
    );
}

#[tokio::test]
async fn failed_enrolment_attempts_are_rate_limited_per_address() {
    let data = tempfile::tempdir().unwrap();
    provision_tenant(data.path(), "acme", &[("aki", "courier")]);
    let good = enrolment_code(data.path(), "acme", "aki", 30);
    let server = SyncServer::start_in("sync-ratelimit", data);
    let http = reqwest::Client::new();
    let attempt = |code: String| {
        let (http, url) = (http.clone(), format!("{}/v1/enrol", server.url));
        async move {
            let resp = http
                .post(url)
                .json(&json!({ "code": code, "device": "abcdef0123456789" }))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: serde_json::Value = resp.json().await.unwrap();
            (status, body["code"].as_str().unwrap_or_default().to_owned())
        }
    };
    for _ in 0..sync_server::admin::FAILURES_PER_ADDRESS {
        assert_eq!(
            attempt(unissued("acme")).await,
            (404, "code-unknown".into())
        );
    }
    // Now even the right code waits: guessing stops here.
    assert_eq!(
        attempt(good.clone()).await,
        (429, "too-many-attempts".into())
    );
    assert_eq!(
        attempt(mistyped(&good)).await,
        (429, "too-many-attempts".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_is_signed_out_and_an_admin_cannot_lock_themselves_out() {
    let data = tempfile::tempdir().unwrap();
    provision_tenant(
        data.path(),
        "acme",
        &[("boss", "admin"), ("disp", "dispatcher")],
    );
    let codes = [
        enrolment_code(data.path(), "acme", "boss", 30),
        enrolment_code(data.path(), "acme", "disp", 30),
    ];
    let server = SyncServer::start_in("sync-disable", data);
    let admin = signed_out("device-disable-admin");
    let disp = signed_out("device-disable-disp");
    for (host, code) in [(&admin, &codes[0]), (&disp, &codes[1])] {
        let (c, body) = sign_in(host, &server.url, code).await;
        assert_eq!(c, 200, "{body}");
    }
    assert!(
        eventually(T, async || account(&admin, json!({ "op": "users" }))
            .await
            .0
            == 200)
        .await
    );
    // A new role reaches the running device: its session is cut, and it
    // comes back as what the server now says.
    let (c, body) = account(
        &admin,
        json!({ "op": "update_user", "id": "disp", "role": "courier" }),
    )
    .await;
    assert_eq!(c, 200, "{body}");
    assert!(
        eventually(Duration::from_secs(20), async || status(&disp).await.role
            == Some(app_api::Role::Courier))
        .await,
        "the device follows the new role"
    );
    let (c, body) = account(
        &admin,
        json!({ "op": "update_user", "id": "boss", "disabled": true }),
    )
    .await;
    assert_eq!((c, refusal(&body)), (409, "not-yourself"), "{body}");
    let (c, body) = account(
        &admin,
        json!({ "op": "update_user", "id": "disp", "disabled": true }),
    )
    .await;
    assert_eq!(c, 200, "{body}");
    assert!(
        eventually(Duration::from_secs(15), async || status(&disp).await.state
            == AccountState::SignedOut)
        .await,
        "the disabled user's device is signed out"
    );
    let (_, body) = account(&admin, json!({ "op": "users" })).await;
    let row = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "disp")
        .cloned()
        .unwrap();
    assert_eq!(row["disabled"], true, "{body}");
    // A new code for a disabled user signs nothing in.
    let code = enrolment_code(server.data.path(), "acme", "disp", 30);
    let (c, body) = sign_in(&disp, &server.url, &code).await;
    assert_eq!((c, refusal(&body)), (409, "user-disabled"), "{body}");
    assert_eq!(status(&disp).await.state, AccountState::SignedOut);
}

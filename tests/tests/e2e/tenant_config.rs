//! The tenant's configuration through the real server: an admin's tariff and
//! profile reach a dispatcher's and a client's devices (other processes) and
//! apply there; a modified dispatcher client writing the configuration
//! document is refused by the server and logged, and nothing of it reaches
//! anyone. The staff document (vehicles, courier profiles) reaches staff
//! devices and drives the courier's plan and the dispatcher's assignment
//! warnings; a client can neither read it nor receive it.

use std::time::Duration;

use app_api::config::{ConfigChange, Tariff, TenantConfigView, TenantProfile};
use app_api::{Request, Response};
use automerge::ReadDoc;
use automerge::transaction::Transactable;
use ruta_e2e::{DeviceHost, SyncServer, eventually, provision_tenant};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

fn device(name: &str, server: &str, token: &str) -> DeviceHost {
    DeviceHost::start_with_env(
        name,
        tempfile::tempdir().unwrap(),
        &[
            ("RUTA_SYNC_URL", server.as_ref()),
            ("RUTA_SYNC_TOKEN", token.as_ref()),
        ],
    )
}

async fn config(host: &DeviceHost) -> TenantConfigView {
    match host.call(&json!({ "op": "tenant_config" })).await {
        (200, body) => match serde_json::from_value(body).unwrap() {
            Response::TenantConfig(v) => v,
            other => panic!("{other:?}"),
        },
        (code, body) => panic!("{code} {body}"),
    }
}

/// Whether the device is signed in and holds the tenant's configuration
/// (false, not a panic, while it is still signing in).
async fn synced(host: &DeviceHost) -> bool {
    match host.call(&json!({ "op": "tenant_config" })).await {
        (200, body) => matches!(
            serde_json::from_value(body),
            Ok(Response::TenantConfig(v)) if v.synced
        ),
        _ => false,
    }
}

async fn quote(host: &DeviceHost) -> i64 {
    let req = json!({ "op": "quote_price", "customer_name": "Aino",
        "pickup_address": "Kaivokatu 1", "dropoff_address": "Bulevardi 14" });
    match host.call(&req).await {
        (200, body) => match serde_json::from_value(body).unwrap() {
            Response::Quote(q) => q.total_cents,
            other => panic!("{other:?}"),
        },
        (code, body) => panic!("{code} {body}"),
    }
}

/// The text of a PDF document answer (`pdftotext -layout`).
fn pdf_text(answer: &serde_json::Value) -> String {
    use base64::Engine as _;
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(answer["data_base64"].as_str().unwrap())
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(file.path())
        .arg("-")
        .output()
        .expect("pdftotext");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn change(host: &DeviceHost, c: ConfigChange) -> (u16, serde_json::Value) {
    host.call(&serde_json::to_value(Request::ChangeConfig(c)).unwrap())
        .await
}

/// Sends `local`'s newest change to the server as a sync peer would (answering
/// its messages) until the server refuses it; the refusal's reason. A server
/// that shares a document read-only tells honest peers not to send changes;
/// a modified client sends them anyway, as here.
async fn push_refused(
    peer: &mut crate::sync_security::RawPeer,
    doc: &str,
    local: &mut automerge::Automerge,
    state: &mut automerge::sync::State,
) -> String {
    use automerge::sync::SyncDoc;
    let ours = local
        .get_last_local_change()
        .map(|c| c.raw_bytes().to_vec())
        .expect("a change to send");
    for _ in 0..20 {
        if let Some(mut m) = local.generate_sync_message(state) {
            if m.changes.is_empty() {
                m.changes = vec![ours.clone()].into();
            }
            peer.sync(doc, m);
        }
        match peer.next_sync(doc, Duration::from_secs(3)).await {
            Some(Err(reason)) => return reason,
            Some(Ok(msg)) => local.receive_sync_message(state, msg).unwrap(),
            None => {}
        }
    }
    panic!("the server never refused the write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admins_configuration_reaches_every_device_and_a_dispatcher_cannot_write_it() {
    let data = tempfile::tempdir().unwrap();
    let tokens = provision_tenant(
        data.path(),
        "acme",
        &[
            ("boss", "admin"),
            ("disp", "dispatcher"),
            ("c1", "courier"),
            ("k1", "client"),
        ],
    );
    let server = SyncServer::start_in("sync-config", data);
    let admin = device("device-config-admin", &server.url, &tokens["boss"]);
    let disp = device("device-config-disp", &server.url, &tokens["disp"]);
    let client = device("device-config-client", &server.url, &tokens["k1"]);
    for host in [&admin, &disp, &client] {
        assert!(
            eventually(T, async || synced(host).await).await,
            "{}: the tenant's configuration document arrives",
            host.url
        );
    }
    assert!(config(&admin).await.editable);
    assert!(!config(&disp).await.editable);
    let before = quote(&disp).await;

    // The admin raises the base price and renames the company, on their device.
    let (code, body) = change(
        &admin,
        ConfigChange::SetTariff(Tariff {
            base_cents: Tariff::default().base_cents + 1_000,
            ..Tariff::default()
        }),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = change(
        &admin,
        ConfigChange::SetProfile(TenantProfile {
            company_name: "Kuriiri Testi Oy".into(),
            time_zone: "Europe/Stockholm".into(),
            ..TenantProfile::default()
        }),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    // The dispatcher's price preview follows, and the client sees the profile.
    assert!(
        eventually(T, async || quote(&disp).await == before + 1_000).await,
        "the dispatcher's quote follows the new tariff"
    );
    assert!(
        eventually(T, async || config(&client)
            .await
            .config
            .profile
            .company_name
            == "Kuriiri Testi Oy")
        .await
    );
    assert!(
        eventually(T, async || config(&disp).await.config.profile.time_zone
            == "Europe/Stockholm")
        .await,
        "the dispatcher's device has the new profile"
    );
    let seen = config(&disp).await;
    // The next invoice the dispatcher's device makes carries the new branding
    // (an external carrier's delivery, recorded by the dispatcher).
    let (code, body) = disp
        .call(
            &json!({ "op": "create_order", "customer_name": "Laskutus Oy",
            "pickup_address": "Kaivokatu 1", "dropoff_address": "Bulevardi 14",
            "carrier": "external" }),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let billed = body["id"].as_str().unwrap().to_owned();
    for action in [
        json!({ "action": "assign", "courier": "carrier-posti" }),
        json!({ "action": "pick_up" }),
        json!({ "action": "record_carrier_delivery" }),
    ] {
        let (code, body) = disp
            .call(&json!({ "op": "act", "order_id": billed, "action": action }))
            .await;
        assert_eq!(code, 200, "{action}: {body}");
    }
    let (code, body) = disp
        .call(&json!({ "op": "document", "document": "invoice", "order_id": billed }))
        .await;
    assert_eq!(code, 200, "{body}");
    let text = pdf_text(&body);
    assert!(text.contains("Kuriiri Testi Oy"), "{text}");
    assert!(!text.contains("Ruta Demo Oy"), "{text}");
    // The admin's live preview shows the same branding and the new tariff.
    let (code, body) = admin
        .call(&json!({ "op": "document", "document": "invoice_preview" }))
        .await;
    assert_eq!(code, 200, "{body}");
    let text = pdf_text(&body);
    assert!(
        text.contains("Kuriiri Testi Oy") && text.contains("PREVIEW"),
        "{text}"
    );
    let base = Tariff::default().base_cents + 1_000;
    assert!(
        text.contains(&format!("{}.{:02}", base / 100, base % 100)),
        "the new base price in {text}"
    );
    assert_eq!(
        seen.history
            .iter()
            .map(|h| h.by.as_str())
            .collect::<Vec<_>>(),
        ["boss", "boss"],
        "every change keeps its author"
    );

    // The admin imports a zone from GeoJSON; the dispatcher's order inside it is filed there.
    let (code, body) = disp
        .call(&json!({ "op": "create_order", "customer_name": "Zoned Oy",
            "pickup_address": "Kaivokatu 1", "dropoff_address": "Fredrikinkatu 32",
            "dropoff_point": { "lat": 60.1680, "lon": 24.9330 } }))
        .await;
    assert_eq!(code, 200, "{body}");
    let order = body["id"].as_str().unwrap().to_owned();
    let zone = r#"{"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"name": "Kamppi"}, "geometry": {"type": "Polygon", "coordinates":
        [[[24.925, 60.165], [24.940, 60.165], [24.940, 60.172], [24.925, 60.172]]]}}]}"#;
    let (code, body) = admin
        .call(&json!({ "op": "import_zones_geojson", "geojson": zone }))
        .await;
    assert_eq!(code, 200, "{body}");
    let zone_of = async |host: &DeviceHost| {
        let (_, body) = host
            .call(&json!({ "op": "get_order", "order_id": order }))
            .await;
        body["summary"]["zone"].as_str().map(str::to_owned)
    };
    assert!(
        eventually(T, async || zone_of(&disp).await.as_deref()
            == Some("kamppi"))
        .await,
        "the dispatcher's device files its order in the admin's zone"
    );

    // The dispatcher's own device refuses to change it...
    let (code, body) = change(&disp, ConfigChange::SetTariff(Tariff::default())).await;
    assert_eq!(
        (code, body["code"].as_str()),
        (409, Some("admins_only")),
        "{body}"
    );

    // ...and a modified dispatcher client writing the document is refused by
    // the server, per document, and logged.
    let directory = sync_server::directory::Directory::open(server.data.path(), "acme").unwrap();
    let doc = directory
        .setting(sync_server::tenant::CONFIG_DOC_SETTING)
        .unwrap()
        .expect("the server made the configuration document");
    let forge = |user: &str, role: app_api::Role, device: &str, change: ConfigChange| {
        let mut clock = app_core::hlc::HlcClock::new(app_core::hlc::node_of(device));
        app_core::config_doc::ConfigEvent {
            at: clock.tick(1_790_000_000_000),
            actor: app_core::domain::Actor {
                user: app_core::domain::UserId::new(user),
                role,
                device: app_core::domain::DeviceId::new(device),
            },
            change,
        }
    };
    let put = |local: &mut automerge::Automerge, e: &app_core::config_doc::ConfigEvent| {
        let events = match local.get(automerge::ROOT, "events") {
            Ok(Some((_, id))) => id,
            _ => panic!("a configuration document"),
        };
        local
            .transact::<_, _, automerge::AutomergeError>(|tx| {
                tx.put(&events, e.id(), serde_json::to_string(e).unwrap())?;
                Ok(())
            })
            .unwrap();
    };
    let cheap = ConfigChange::SetTariff(Tariff {
        base_cents: 1,
        ..Tariff::default()
    });
    // A modified client of every other role: it may read the document, and
    // its write is refused per document and logged.
    for (n, (user, role)) in [
        ("disp", app_api::Role::Dispatcher),
        ("c1", app_api::Role::Courier),
        ("k1", app_api::Role::Client),
    ]
    .into_iter()
    .enumerate()
    {
        let mut rogue = crate::sync_security::RawPeer::join(&server.url, &tokens[user]).await;
        let (mut local, mut state) = rogue.fetch(&doc).await;
        let device = format!("d15a00000000000000000000000000{n:02}");
        put(&mut local, &forge(user, role, &device, cheap.clone()));
        let reason = push_refused(&mut rogue, &doc, &mut local, &mut state).await;
        assert!(reason.contains("may not write"), "{user}: {reason}");
        assert!(
            directory
                .refusals()
                .unwrap()
                .iter()
                .any(|(u, d, _)| u == user && d.as_deref() == Some(doc.as_str())),
            "{user}'s refusal is logged"
        );
        // Nor may they use the admin routes.
        let http = reqwest::Client::new();
        let users = http
            .get(format!("{}/v1/admin/users", server.url))
            .bearer_auth(&tokens[user])
            .send()
            .await
            .unwrap();
        let issue = http
            .post(format!("{}/v1/admin/enrolments", server.url))
            .bearer_auth(&tokens[user])
            .json(&json!({ "user": user }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            (users.status().as_u16(), issue.status().as_u16()),
            (403, 403),
            "{user}"
        );
    }
    // An admin's modified client with a value out of range is refused too, naming it.
    let mut odd = crate::sync_security::RawPeer::join(&server.url, &tokens["boss"]).await;
    let (mut local, mut state) = odd.fetch(&doc).await;
    put(
        &mut local,
        &forge(
            "boss",
            app_api::Role::Admin,
            "b055000000000000000000000000000b",
            ConfigChange::SetTariff(Tariff {
                vat_bp: 99_999,
                ..Tariff::default()
            }),
        ),
    );
    let reason = push_refused(&mut odd, &doc, &mut local, &mut state).await;
    assert!(reason.contains("tariff.vat_bp"), "{reason}");
    // Nobody's configuration changed.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for host in [&admin, &disp, &client] {
        assert_eq!(quote(host).await, before + 1_000, "{}", host.url);
    }
}

fn forge_event(
    user: &str,
    role: app_api::Role,
    device: &str,
    change: ConfigChange,
) -> app_core::config_doc::ConfigEvent {
    let mut clock = app_core::hlc::HlcClock::new(app_core::hlc::node_of(device));
    app_core::config_doc::ConfigEvent {
        at: clock.tick(1_790_000_000_000),
        actor: app_core::domain::Actor {
            user: app_core::domain::UserId::new(user),
            role,
            device: app_core::domain::DeviceId::new(device),
        },
        change,
    }
}

fn put_event(local: &mut automerge::Automerge, e: &app_core::config_doc::ConfigEvent) {
    let events = match local.get(automerge::ROOT, "events") {
        Ok(Some((_, id))) => id,
        _ => panic!("a configuration document"),
    };
    local
        .transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(&events, e.id(), serde_json::to_string(e).unwrap())?;
            Ok(())
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staff_configuration_drives_plans_and_warnings_and_clients_never_see_it() {
    use app_api::config::{CourierProfile, Vehicle, VehicleType};
    let data = tempfile::tempdir().unwrap();
    let tokens = provision_tenant(
        data.path(),
        "acme",
        &[
            ("boss", "admin"),
            ("disp", "dispatcher"),
            ("c1", "courier"),
            ("k1", "client"),
        ],
    );
    let server = SyncServer::start_in("sync-staff-config", data);
    let admin = device("device-staff-admin", &server.url, &tokens["boss"]);
    let disp = device("device-staff-disp", &server.url, &tokens["disp"]);
    let courier = device("device-staff-c1", &server.url, &tokens["c1"]);
    let client = device("device-staff-client", &server.url, &tokens["k1"]);
    for host in [&admin, &disp, &courier, &client] {
        assert!(
            eventually(T, async || synced(host).await).await,
            "{}",
            host.url
        );
    }
    let zone = r#"{"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"id": "kallio", "name": "Kallio"}, "geometry": {"type": "Polygon",
        "coordinates": [[[24.940, 60.178], [24.960, 60.178], [24.960, 60.190], [24.940, 60.190]]]}}]}"#;
    let (code, body) = admin
        .call(&json!({ "op": "import_zones_geojson", "geojson": zone }))
        .await;
    assert_eq!(code, 200, "{body}");
    for c in [
        ConfigChange::PutVehicle(Vehicle {
            id: "bike-1".into(),
            name: "Cargo bike 1".into(),
            kind: VehicleType::CargoBike,
            capacity_items: 1,
            capacity_kg: 0,
            plate: String::new(),
        }),
        ConfigChange::PutCourier(CourierProfile {
            user: "c1".into(),
            phone: "+358 40 555 0199".into(),
            vehicle: Some("bike-1".into()),
            home_zones: vec!["kallio".into()],
            handles_cash: false,
            carrier: Default::default(),
            shift_start: None,
        }),
    ] {
        let (code, body) = change(&admin, c).await;
        assert_eq!(code, 200, "{body}");
    }
    // Staff devices receive it; the client's configuration has none of it.
    for host in [&disp, &courier] {
        assert!(
            eventually(T, async || config(host).await.config.couriers.len() == 1).await,
            "{}: the staff document arrives",
            host.url
        );
    }
    let seen = config(&client).await.config;
    assert!(
        seen.couriers.is_empty() && seen.vehicles.is_empty(),
        "{seen:?}"
    );
    assert_eq!(seen.zones.len(), 1, "the client has the tenant's document");

    // Two orders outside Kallio, one with cash, for c1.
    let mut ids = Vec::new();
    for (k, cod) in [(0, 0), (1, 1_500)] {
        let (code, body) = disp
            .call(
                &json!({ "op": "create_order", "customer_name": format!("Staff {k}"),
                "pickup_address": "Kaivokatu 1", "dropoff_address": "Bulevardi 5",
                "pickup_point": { "lat": 60.1708 + 0.0002 * k as f64, "lon": 24.9410 },
                "dropoff_point": { "lat": 60.1640, "lon": 24.9330 + 0.0025 * k as f64 },
                "cod_cents": cod }),
            )
            .await;
        assert_eq!(code, 200, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    let (code, body) = disp
        .call(&json!({ "op": "assignment_warnings", "order_ids": ids, "courier": "c1" }))
        .await;
    assert_eq!(code, 200, "{body}");
    let kinds: Vec<&str> = body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "out_of_zone").count(),
        2,
        "{body}"
    );
    assert!(
        kinds.contains(&"cash") && kinds.contains(&"over_capacity"),
        "{body}"
    );
    // The dispatcher assigns anyway; the courier's own device plans one parcel at a time.
    for id in &ids {
        let (code, body) = disp
            .call(&json!({ "op": "act", "order_id": id, "action": { "action": "assign", "courier": "c1" } }))
            .await;
        assert_eq!(code, 200, "{body}");
    }
    let plan = async || {
        let (code, body) = courier
            .call(&json!({ "op": "plan_route", "courier": "c1",
                "position": { "lat": 60.1699, "lon": 24.9384 } }))
            .await;
        assert_eq!(code, 200, "{body}");
        body
    };
    assert!(
        eventually(T, async || plan().await["stops"].as_array().unwrap().len()
            == 4)
        .await,
        "c1's device has both orders"
    );
    let stops = plan().await;
    let mut load = 0;
    for s in stops["stops"].as_array().unwrap() {
        load += if s["kind"] == "pickup" { 1 } else { -1 };
        assert!(load <= 1, "the cargo bike carries one parcel: {stops}");
    }

    // A client cannot open the staff document: it is answered as missing.
    let directory = sync_server::directory::Directory::open(server.data.path(), "acme").unwrap();
    let staff_doc = directory
        .setting(sync_server::tenant::STAFF_CONFIG_DOC_SETTING)
        .unwrap()
        .expect("the server made the staff document");
    let mut nosy = crate::sync_security::RawPeer::join(&server.url, &tokens["k1"]).await;
    nosy.request(&staff_doc);
    assert!(
        nosy.next_of("doc-unavailable", T).await.is_some(),
        "the staff document is unavailable to a client"
    );
    // A modified dispatcher client may read it and put routes in it (see
    // e2e::routes) but nothing else; an admin's
    // modified client writing a tenant change into it is refused by name.
    let vehicle = ConfigChange::PutVehicle(Vehicle {
        id: "bike-1".into(),
        name: "Roomy".into(),
        kind: VehicleType::Van,
        capacity_items: 999,
        capacity_kg: 0,
        plate: String::new(),
    });
    let mut rogue = crate::sync_security::RawPeer::join(&server.url, &tokens["disp"]).await;
    let (mut local, mut state) = rogue.fetch(&staff_doc).await;
    put_event(
        &mut local,
        &forge_event(
            "disp",
            app_api::Role::Dispatcher,
            "d15a0000000000000000000000000077",
            vehicle,
        ),
    );
    let reason = push_refused(&mut rogue, &staff_doc, &mut local, &mut state).await;
    assert!(
        reason.contains("only admins make a put_vehicle change"),
        "{reason}"
    );
    let mut odd = crate::sync_security::RawPeer::join(&server.url, &tokens["boss"]).await;
    let (mut local, mut state) = odd.fetch(&staff_doc).await;
    put_event(
        &mut local,
        &forge_event(
            "boss",
            app_api::Role::Admin,
            "b055000000000000000000000000007b",
            ConfigChange::SetTariff(Tariff::default()),
        ),
    );
    let reason = push_refused(&mut odd, &staff_doc, &mut local, &mut state).await;
    assert!(reason.contains("other configuration document"), "{reason}");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let seen = config(&disp).await.config;
    assert_eq!(seen.vehicles[0].capacity_items, 1, "nothing forged got in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_draws_a_zone_on_the_map_and_a_dispatchers_order_inside_it_is_filed_there() {
    let tiles = ruta_e2e::workspace_root().join("data/tiles/helsinki.mbtiles");
    let data = tempfile::tempdir().unwrap();
    let tokens = provision_tenant(
        data.path(),
        "acme",
        &[("boss", "admin"), ("disp", "dispatcher")],
    );
    let server = SyncServer::start_in("sync-zone-draw", data);
    let admin = DeviceHost::start_with_env(
        "device-zone-admin",
        tempfile::tempdir().unwrap(),
        &[
            ("RUTA_SYNC_URL", server.url.as_ref()),
            ("RUTA_SYNC_TOKEN", tokens["boss"].as_ref()),
            ("RUTA_TILES", tiles.as_os_str()),
        ],
    );
    let disp = device("device-zone-disp", &server.url, &tokens["disp"]);
    for host in [&admin, &disp] {
        assert!(eventually(T, async || synced(host).await).await);
    }
    // An order at the map's opening centre, in no zone yet.
    let (code, body) = disp
        .call(
            &json!({ "op": "create_order", "customer_name": "Keskusta Oy",
            "pickup_address": "Kaivokatu 1", "dropoff_address": "Mannerheimintie 1",
            "dropoff_point": { "lat": 60.1699, "lon": 24.9384 } }),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert!(body["zone"].is_null(), "{body}");
    let order = body["id"].as_str().unwrap().to_owned();

    let url = format!("{}/", admin.url);
    let drawn = tokio::task::spawn_blocking(move || {
        ruta_e2e::browser_phase("zones.mjs", "draw", &url, json!({ "name": "Drawn Centre" }))
    })
    .await
    .unwrap();
    assert!(
        drawn["saved"].as_str().unwrap().contains("Drawn Centre"),
        "{drawn}"
    );
    // The dispatcher's device (another process) has the zone with the corners as
    // drawn, and files its order there.
    assert!(
        eventually(T, async || config(&disp)
            .await
            .config
            .zones
            .iter()
            .any(|z| z.id == "drawn-centre" && z.ring.len() == 4))
        .await,
        "the drawn zone reaches the dispatcher's device: {drawn}"
    );
    assert!(
        eventually(T, async || {
            let (_, body) = disp
                .call(&json!({ "op": "get_order", "order_id": order }))
                .await;
            body["summary"]["zone"] == "drawn-centre"
        })
        .await,
        "the order inside it is filed there"
    );
    // The dragged corner is where it was dropped, not where it was first clicked.
    let ring = &config(&disp).await.config.zones[0].ring;
    let first = drawn["ring"][0].as_array().unwrap();
    assert!(
        (ring[0].lon - first[0].as_f64().unwrap()).abs() < 1e-9,
        "{ring:?} vs {first:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_changes_the_configuration_through_the_admin_api_and_devices_follow() {
    use app_api::config::{Vehicle, VehicleType};
    let data = tempfile::tempdir().unwrap();
    let tokens = provision_tenant(
        data.path(),
        "acme",
        &[("boss", "admin"), ("disp", "dispatcher")],
    );
    let server = SyncServer::start_in("sync-config-api", data);
    let disp = device("device-config-api-disp", &server.url, &tokens["disp"]);
    assert!(eventually(T, async || synced(&disp).await).await);
    let before = quote(&disp).await;
    let http = reqwest::Client::new();
    let post = async |token: &str, change: ConfigChange| {
        let r = http
            .post(format!("{}/v1/admin/config", server.url))
            .bearer_auth(token)
            .json(&change)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (
            status,
            r.json::<serde_json::Value>().await.unwrap_or_default(),
        )
    };
    let (code, body) = post(
        &tokens["boss"],
        ConfigChange::SetTariff(Tariff {
            base_cents: Tariff::default().base_cents + 500,
            ..Tariff::default()
        }),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body["config"]["tariff"]["base_cents"],
        Tariff::default().base_cents + 500
    );
    assert!(
        eventually(T, async || quote(&disp).await == before + 500).await,
        "the dispatcher's device prices by the script's tariff"
    );
    // A staff item goes into the staff document and reaches staff devices.
    let (code, body) = post(
        &tokens["boss"],
        ConfigChange::PutVehicle(Vehicle {
            id: "van-9".into(),
            name: "Van 9".into(),
            kind: VehicleType::Van,
            capacity_items: 30,
            capacity_kg: 500,
            plate: "XYZ-9".into(),
        }),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert!(
        eventually(T, async || config(&disp).await.config.vehicles.len() == 1).await,
        "the vehicle reaches the dispatcher's device"
    );
    // Bad values are named; a dispatcher may not use the route.
    let (code, body) = post(
        &tokens["boss"],
        ConfigChange::SetTariff(Tariff {
            vat_bp: 99_999,
            ..Tariff::default()
        }),
    )
    .await;
    assert_eq!((code, body["code"].as_str()), (400, Some("invalid-config")));
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("tariff.vat_bp")
            || body.to_string().contains("tariff.vat_bp"),
        "{body}"
    );
    let (code, _) = post(&tokens["disp"], ConfigChange::SetTariff(Tariff::default())).await;
    assert_eq!(code, 403);
    let view: TenantConfigView = http
        .get(format!("{}/v1/admin/config", server.url))
        .bearer_auth(&tokens["boss"])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view.history.len(), 2, "{:?}", view.history);
    assert!(view.history.iter().all(|h| h.by == "boss"));
    assert_eq!(view.history[0].change, "put_vehicle");
    // The dispatcher's own history shows the script's changes by their author.
    assert!(eventually(T, async || config(&disp).await.history.len() == 2).await);
}

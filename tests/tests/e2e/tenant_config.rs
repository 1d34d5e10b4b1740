//! The tenant's configuration through the real server: an admin's tariff and
//! profile reach a dispatcher's and a client's devices (other processes) and
//! apply there; a modified dispatcher client writing the configuration
//! document is refused by the server and logged, and nothing of it reaches
//! anyone.

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
            eventually(T, async || config(host).await.synced).await,
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
    let seen = config(&disp).await;
    assert_eq!(seen.config.profile.time_zone, "Europe/Stockholm");
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

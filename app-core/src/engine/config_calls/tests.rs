//! Tests of `config_calls`: an admin's change applies at once and syncs as a
//! document; others are refused; a merged document from the server applies.

use app_api::config::{ConfigChange, Tariff, TenantProfile};
use app_api::{Request, Response, Role};

use super::*;
use crate::engine::test_support::{open_at, session};

const T0: i64 = 1_780_000_000_000;

fn quote(core: &Core) -> i64 {
    let new = NewOrder::simple("Aino", "Kaivokatu 1", "Bulevardi 14");
    match core.execute(Request::QuotePrice(new)).unwrap() {
        Response::Quote(q) => q.total_cents,
        other => panic!("{other:?}"),
    }
}

fn change(core: &Core, c: ConfigChange) -> Result<TenantConfigView, ApiError> {
    core.execute(Request::ChangeConfig(c)).map(|r| match r {
        Response::TenantConfig(v) => v,
        other => panic!("{other:?}"),
    })
}

fn tariff(base: i64) -> ConfigChange {
    ConfigChange::SetTariff(Tariff {
        base_cents: base,
        ..Tariff::default()
    })
}

#[test]
fn an_admins_tariff_applies_to_the_next_quote_and_others_are_refused() {
    let (_d, core, _clock) = open_at(T0);
    let before = quote(&core);
    // A dispatcher may not change it.
    let err = change(&core, tariff(5_000)).unwrap_err();
    assert!(
        matches!(err, ApiError::Refused { ref code, .. } if code == "admins_only"),
        "{err:?}"
    );
    session(&core, "boss", Role::Admin);
    let view = change(&core, tariff(Tariff::default().base_cents + 1_000)).unwrap();
    assert!(view.editable && !view.synced);
    assert_eq!(view.history[0].by, "boss");
    assert_eq!(quote(&core), before + 1_000);
    // Bad values are named and change nothing.
    let err = change(
        &core,
        ConfigChange::SetTariff(Tariff {
            currency: "eur".into(),
            ..Tariff::default()
        }),
    )
    .unwrap_err();
    assert!(matches!(err, ApiError::Invalid { ref field, .. } if field == "tariff.currency"));
    let err = change(
        &core,
        ConfigChange::SetProfile(TenantProfile {
            time_zone: "Europe/Atlantis".into(),
            ..TenantProfile::default()
        }),
    )
    .unwrap_err();
    assert!(
        matches!(err, ApiError::Invalid { ref field, .. } if field == "profile.time_zone"),
        "{err:?}"
    );
    assert_eq!(quote(&core), before + 1_000);
}

#[test]
fn the_configuration_survives_a_restart_and_a_merge_from_another_device() {
    let (dir, core, _clock) = open_at(T0);
    session(&core, "boss", Role::Admin);
    change(
        &core,
        ConfigChange::SetProfile(TenantProfile {
            company_name: "Kuriiri Oy".into(),
            ..TenantProfile::default()
        }),
    )
    .unwrap();
    drop(core);
    let core = Core::open(dir.path()).unwrap();
    assert_eq!(core.tenant_config().profile.company_name, "Kuriiri Oy");
    assert_eq!(core.settings().branding.company_name, "Kuriiri Oy");

    // The server's document (another admin's change) merges in and applies.
    let (_d2, other, _c2) = open_at(T0 + 10);
    session(&other, "ada", Role::Admin);
    change(&other, tariff(1_234)).unwrap();
    let (_, bytes) = other.config_document(ConfigScope::Tenant).unwrap().unwrap();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    assert!(core.merge_config("server-doc", &bytes).unwrap());
    assert!(
        !core.merge_config("server-doc", &bytes).unwrap(),
        "nothing new"
    );
    assert_eq!(core.tenant_config().tariff.base_cents, 1_234);
    // An admin's view counts as synced once the staff document is here too.
    session(&core, "boss", Role::Admin);
    assert!(!core.tenant_config_view().unwrap().synced);
    let staff = ConfigDoc::create(&crate::domain::DeviceId::new("server"), ConfigScope::Staff)
        .unwrap()
        .save();
    assert!(core.merge_config("server-staff", &staff).unwrap());
    // A local change now lands in the server's document, and the hook fires.
    let s = seen.clone();
    core.on_config_write(move || s.store(true, std::sync::atomic::Ordering::SeqCst));
    session(&core, "boss", Role::Admin);
    let view = change(&core, tariff(2_000)).unwrap();
    assert!(view.synced);
    assert!(seen.load(std::sync::atomic::Ordering::SeqCst));
    let (id, _) = core.config_document(ConfigScope::Tenant).unwrap().unwrap();
    assert_eq!(id, "server-doc");
}

#[test]
fn times_print_in_the_tenants_zone_with_its_summer_time() {
    // 2026-01-15 and 2026-07-15, 12:00 UTC.
    assert_eq!(utc_offset_min("Europe/Helsinki", 1_768_478_400_000), 120);
    assert_eq!(utc_offset_min("Europe/Helsinki", 1_784_116_800_000), 180);
    assert_eq!(utc_offset_min("America/New_York", 1_768_478_400_000), -300);
    assert_eq!(utc_offset_min("Nowhere/Land", 1_768_478_400_000), 0);
}

const KAMPPI: &str = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature", "properties": {"name": "Kamppi Länsi"},
   "geometry": {"type": "Polygon", "coordinates": [[[24.925, 60.165], [24.940, 60.165], [24.940, 60.172], [24.925, 60.172], [24.925, 60.165]]]}},
  {"type": "Feature", "properties": {"id": "kallio", "name": "Kallio"},
   "geometry": {"type": "MultiPolygon", "coordinates": [
     [[[24.945, 60.180], [24.960, 60.180], [24.960, 60.188], [24.945, 60.180]]],
     [[[24.961, 60.181], [24.970, 60.181], [24.970, 60.189], [24.961, 60.181]]]]}}
]}"#;

#[test]
fn zones_imported_from_geojson_file_orders_and_bad_features_are_named() {
    let (dir, core, _clock) = open_at(T0);
    let mut new = NewOrder::simple("Aino", "Kaivokatu 1", "Fredrikinkatu 32");
    new.dropoff_point = Some(app_api::Point {
        lat: 60.1680,
        lon: 24.9330,
    });
    let Response::Order(order) = core.execute(Request::CreateOrder(new)).unwrap() else {
        panic!()
    };
    assert_eq!(order.zone, None);
    let import = |core: &Core, text: &str| {
        core.execute(Request::ImportZonesGeojson {
            geojson: text.into(),
        })
    };
    let err = import(&core, KAMPPI).unwrap_err();
    assert!(matches!(err, ApiError::Refused { ref code, .. } if code == "admins_only"));
    session(&core, "boss", Role::Admin);
    let Response::TenantConfig(view) = import(&core, KAMPPI).unwrap() else {
        panic!()
    };
    let ids: Vec<_> = view.config.zones.iter().map(|z| z.id.as_str()).collect();
    assert_eq!(ids, ["kallio", "kallio-2", "kamppi-lansi"]);
    let Response::OrderDetail(d) = core
        .execute(Request::GetOrder {
            order_id: order.id.clone(),
        })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        d.summary.zone.as_deref(),
        Some("kamppi-lansi"),
        "filed again"
    );
    // Removing the zone files the order out of it; the zones survive a restart.
    core.execute(Request::ChangeConfig(ConfigChange::RemoveZone {
        id: "kallio-2".into(),
    }))
    .unwrap();
    drop(core);
    let core = Core::open(dir.path()).unwrap();
    let Response::Zones { zones } = core.execute(Request::Zones).unwrap() else {
        panic!()
    };
    assert_eq!(zones.len(), 2);

    for (text, field) in [
        ("not json", "geojson"),
        (
            r#"{"type": "FeatureCollection", "features": []}"#,
            "geojson.features",
        ),
        (
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "A"}, "geometry": {"type": "Point", "coordinates": [24.9, 60.1]}}]}"#,
            "features[0].geometry",
        ),
        (
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "A"}, "geometry": {"type": "Polygon", "coordinates": [[[24.9, 60.1], [24.91, 60.1], [24.9, 60.1]]]}}, {"type": "Feature", "properties": {}, "geometry": null}]}"#,
            "features[0] (zone.ring)",
        ),
    ] {
        let err = import(&core, text).unwrap_err();
        assert!(
            matches!(&err, ApiError::Invalid { field: f, .. } if f == field),
            "{text}: {err:?}"
        );
    }
    let Response::Zones { zones } = core.execute(Request::Zones).unwrap() else {
        panic!()
    };
    assert_eq!(zones.len(), 2, "nothing of a bad file is imported");
}

#[test]
fn a_service_level_prices_windows_and_requires_its_proofs_and_an_unknown_one_is_named() {
    use app_api::config::{PodPolicy, ServiceLevel};
    let (_d, core, _clock) = open_at(T0);
    let base = quote(&core);
    session(&core, "boss", Role::Admin);
    change(
        &core,
        ConfigChange::PutService(ServiceLevel {
            id: "express".into(),
            name: "Express (2 h)".into(),
            price_cents: 900,
            window_minutes: 120,
            proofs: app_api::PodNeeds {
                signature: true,
                ..Default::default()
            },
        }),
    )
    .unwrap();
    change(
        &core,
        ConfigChange::SetPodPolicy(PodPolicy {
            default_proofs: app_api::PodNeeds {
                photo: true,
                ..Default::default()
            },
            ..PodPolicy::default()
        }),
    )
    .unwrap();
    session(&core, "disp", Role::Dispatcher);
    let mut new = NewOrder::simple("Aino", "Kaivokatu 1", "Bulevardi 14");
    new.service = Some("express".into());
    let Response::Quote(q) = core.execute(Request::QuotePrice(new.clone())).unwrap() else {
        panic!()
    };
    assert_eq!(
        q.total_cents,
        base + 900 + Tariff::default().time_window_cents
    );
    assert!(
        q.lines
            .iter()
            .any(|l| l.label == "Express (2 h)" && l.cents == 900)
    );
    let Response::Order(o) = core.execute(Request::CreateOrder(new.clone())).unwrap() else {
        panic!()
    };
    assert_eq!(o.price_cents, q.total_cents, "created as quoted");
    let state = core
        .order_state(&crate::domain::OrderId::new(&o.id))
        .unwrap();
    let spec = state.spec.unwrap();
    assert_eq!(spec.service.as_deref(), Some("express"));
    assert!(spec.pod.signature && spec.pod.photo, "{:?}", spec.pod);
    let w = spec.dropoff.window.unwrap();
    assert_eq!((w.start_ms, w.end_ms), (T0, T0 + 120 * 60_000));
    // The POD policy alone applies to an order without a service.
    let plain = NewOrder::simple("Aino", "Kaivokatu 1", "Bulevardi 14");
    let Response::Order(p) = core.execute(Request::CreateOrder(plain)).unwrap() else {
        panic!()
    };
    let spec = core
        .order_state(&crate::domain::OrderId::new(&p.id))
        .unwrap()
        .spec
        .unwrap();
    assert!(spec.pod.photo && !spec.pod.signature);
    // Photos are stored by the policy's edge and quality.
    assert_eq!(core.photo_policy().max_edge_px, 1600);
    session(&core, "boss", Role::Admin);
    change(
        &core,
        ConfigChange::SetPodPolicy(PodPolicy {
            photo_max_px: 1024,
            photo_quality: 70,
            ..PodPolicy::default()
        }),
    )
    .unwrap();
    assert_eq!(
        (
            core.photo_policy().max_edge_px,
            core.photo_policy().jpeg_quality
        ),
        (1024, 70)
    );
    session(&core, "disp", Role::Dispatcher);
    new.service = Some("overnight".into());
    let err = core.execute(Request::CreateOrder(new)).unwrap_err();
    assert!(
        matches!(&err, ApiError::Invalid { field, message } if field == "service" && message.contains("express")),
        "{err:?}"
    );
}

#[test]
fn staff_configuration_lives_in_its_own_document() {
    let (_d, core, _clock) = open_at(T0);
    session(&core, "boss", Role::Admin);
    change(&core, tariff(800)).unwrap();
    assert!(core.config_document(ConfigScope::Staff).unwrap().is_none());
    change(
        &core,
        ConfigChange::PutVehicle(app_api::config::Vehicle {
            id: "bike-1".into(),
            name: "Bike 1".into(),
            kind: app_api::config::VehicleType::CargoBike,
            capacity_items: 6,
            capacity_kg: 60,
            plate: String::new(),
        }),
    )
    .unwrap();
    let (staff_id, staff) = core.config_document(ConfigScope::Staff).unwrap().unwrap();
    let (tenant_id, tenant) = core.config_document(ConfigScope::Tenant).unwrap().unwrap();
    assert_ne!(staff_id, tenant_id);
    let dev = crate::domain::DeviceId::new("aa");
    let staff = ConfigDoc::load(&staff, &dev).unwrap();
    let tenant = ConfigDoc::load(&tenant, &dev).unwrap();
    assert_eq!(staff.scope(), ConfigScope::Staff);
    assert_eq!(staff.events().len(), 1);
    assert_eq!(tenant.events().len(), 1);
    // Both merge into another device and add up there.
    let (_d2, other, _c2) = open_at(T0 + 5);
    let (_, s) = core.config_document(ConfigScope::Staff).unwrap().unwrap();
    let (_, t) = core.config_document(ConfigScope::Tenant).unwrap().unwrap();
    assert!(other.merge_config("staff-doc", &s).unwrap());
    assert!(other.merge_config("tenant-doc", &t).unwrap());
    let c = other.tenant_config();
    assert_eq!(c.tariff.base_cents, 800);
    assert_eq!(c.vehicles.len(), 1);
    assert!(!other.merge_config("staff-doc", &s).unwrap(), "nothing new");
}

#[test]
fn a_change_made_before_the_servers_document_arrived_moves_into_it_to_be_pushed() {
    let (_d, core, _c) = open_at(T0);
    // Someone else worked on this device before (not the signed-in user).
    session(&core, "old-admin", Role::Admin);
    change(&core, tariff(900)).unwrap();
    // A dispatcher signs in and puts a route before the staff document came.
    session(&core, "dora", Role::Dispatcher);
    let route = app_api::config::Route {
        id: "bakery".into(),
        name: "Bakery run".into(),
        points: vec![app_api::config::RoutePoint {
            name: "Bakery".into(),
            warehouse: None,
            address: String::new(),
            position: app_api::Point {
                lat: 60.17,
                lon: 24.94,
            },
        }],
        drivers: vec![],
        vehicle: None,
        weekdays: vec![],
        start: "07:00".into(),
        auto_attach: false,
        attach_radius_m: 150,
    };
    change(&core, ConfigChange::PutRoute(route)).unwrap();
    let (id, _) = core.config_document(ConfigScope::Staff).unwrap().unwrap();
    assert_eq!(id, "local-staff-config");
    let pushed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let p = pushed.clone();
    core.on_config_write(move || p.store(true, std::sync::atomic::Ordering::SeqCst));
    let server = |scope| {
        ConfigDoc::create(&crate::domain::DeviceId::new("server"), scope)
            .unwrap()
            .save()
    };
    assert!(
        core.merge_config("server-staff", &server(ConfigScope::Staff))
            .unwrap()
    );
    let (id, bytes) = core.config_document(ConfigScope::Staff).unwrap().unwrap();
    assert_eq!(id, "server-staff");
    let doc = ConfigDoc::load(&bytes, &crate::domain::DeviceId::new("x")).unwrap();
    let names: Vec<&str> = doc.events().iter().map(|e| e.change.name()).collect();
    assert_eq!(
        names,
        vec!["put_route"],
        "the route is in the server's document"
    );
    assert!(
        pushed.load(std::sync::atomic::Ordering::SeqCst),
        "and pushed"
    );
    assert_eq!(core.tenant_config().routes.len(), 1);
    // The earlier admin's tariff (another identity) is not carried: the
    // server would refuse it as the dispatcher's write.
    assert!(
        core.merge_config("server-tenant", &server(ConfigScope::Tenant))
            .unwrap()
    );
    let (_, bytes) = core.config_document(ConfigScope::Tenant).unwrap().unwrap();
    let doc = ConfigDoc::load(&bytes, &crate::domain::DeviceId::new("x")).unwrap();
    assert!(doc.events().is_empty());
}

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
    let (_, bytes) = other.config_document().unwrap().unwrap();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    assert!(core.merge_config("server-doc", &bytes).unwrap());
    assert!(
        !core.merge_config("server-doc", &bytes).unwrap(),
        "nothing new"
    );
    assert_eq!(core.tenant_config().tariff.base_cents, 1_234);
    // A local change now lands in the server's document, and the hook fires.
    let s = seen.clone();
    core.on_config_write(move || s.store(true, std::sync::atomic::Ordering::SeqCst));
    session(&core, "boss", Role::Admin);
    let view = change(&core, tariff(2_000)).unwrap();
    assert!(view.synced);
    assert!(seen.load(std::sync::atomic::Ordering::SeqCst));
    let (id, _) = core.config_document().unwrap().unwrap();
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

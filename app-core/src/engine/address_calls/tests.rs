//! Address search, road-distance pricing and CSV geocoding through
//! `Core::execute`, with the real extract loaded as the shells load it.

use std::sync::Arc;

use app_api::{AddressMatch, NewOrder, Point, Request, Response};

use crate::Core;
use crate::clock::ManualClock;

const PBF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/osm/Helsinki.osm.pbf");

fn core(with_map: bool) -> (tempfile::TempDir, Core) {
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open_with_clock(dir.path(), Arc::new(ManualClock::new(1_780_000_000_000)))
        .unwrap()
        .or_dispatcher();
    if with_map {
        let summary = core.load_road_graph(std::path::Path::new(PBF)).unwrap();
        assert!(summary.contains("addresses"), "{summary}");
    }
    (dir, core)
}

fn search(core: &Core, query: &str) -> app_api::AddressSearch {
    match core
        .execute(Request::SearchAddress {
            query: query.into(),
            limit: Some(5),
            near: None,
        })
        .unwrap()
    {
        Response::AddressSearch(s) => s,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_typed_address_with_a_typo_gets_suggestions_with_positions() {
    let (_d, core) = core(true);
    let s = search(&core, "bulevrdi 14");
    assert!(s.index_loaded);
    let top = &s.suggestions[0];
    assert_eq!(top.label, "Bulevardi 14, 00120 Helsinki");
    assert_eq!(top.kind, AddressMatch::Address);
    assert!(top.corrected, "a letter was missing");
    assert!((top.point.lat - 60.16).abs() < 0.02, "{top:?}");
    assert!(!search(&core, "Bulevardi 14").suggestions[0].corrected);
    // Too long a query is refused by name, not searched.
    let err = core
        .execute(Request::SearchAddress {
            query: "x".repeat(301),
            limit: None,
            near: None,
        })
        .unwrap_err();
    assert!(err.to_string().contains("query"), "{err}");
}

#[test]
fn without_a_map_nothing_is_found_and_the_answer_says_why() {
    let (_d, core) = core(false);
    let s = search(&core, "Bulevardi 14");
    assert!(!s.index_loaded && s.suggestions.is_empty());
}

#[test]
fn a_point_on_the_map_names_its_address() {
    let (_d, core) = core(true);
    let at = search(&core, "Bulevardi 14").suggestions[0].point;
    match core.execute(Request::ReverseGeocode { point: at }).unwrap() {
        Response::ReverseGeocoded {
            suggestion: Some(s),
        } => {
            assert_eq!(s.street.as_deref(), Some("Bulevardi"), "{s:?}")
        }
        other => panic!("{other:?}"),
    }
    let err = core
        .execute(Request::ReverseGeocode {
            point: Point {
                lat: 95.0,
                lon: 0.0,
            },
        })
        .unwrap_err();
    assert!(err.to_string().contains("point"), "{err}");
}

fn order_between(core: &Core, a: &str, b: &str) -> NewOrder {
    let mut new = NewOrder::simple("Road Test", a, b);
    new.pickup_point = Some(search(core, a).suggestions[0].point);
    new.dropoff_point = Some(search(core, b).suggestions[0].point);
    new
}

#[test]
fn orders_are_priced_by_road_when_the_graph_is_loaded_and_keep_that_distance() {
    let (_d, with) = core(true);
    let (_e, without) = core(false);
    let new = order_between(&with, "Bulevardi 14", "Siltasaarenkatu 4");
    let quote = |core: &Core| match core.execute(Request::QuotePrice(new.clone())).unwrap() {
        Response::Quote(q) => q,
        other => panic!("{other:?}"),
    };
    let (road, line) = (quote(&with), quote(&without));
    assert!(road.by_road && !line.by_road);
    assert!(
        road.distance_m > 1_000 && line.distance_m > 1_000,
        "{road:?} {line:?}"
    );
    assert_ne!(
        road.distance_m, line.distance_m,
        "the road is not the straight line × 1.3"
    );
    // The created order keeps the distance it was priced for.
    let created = match with.execute(Request::CreateOrder(new)).unwrap() {
        Response::Order(o) => o,
        other => panic!("{other:?}"),
    };
    assert_eq!(created.price_cents, road.total_cents);
    let state = with
        .order_state(&crate::domain::OrderId::new(&created.id))
        .unwrap();
    assert_eq!(state.spec.unwrap().distance_m, Some(road.distance_m as u32));
}

#[test]
fn csv_rows_without_coordinates_are_placed_or_reported_by_line() {
    let (_d, core) = core(true);
    let csv = "customer_name,pickup_address,dropoff_address\n\
               A,Bulevardi 14,Yrjönkatu 30\n\
               B,Bulevardi 14,Qwxzv 3\n\
               C,Bulevardi 14,Bulevardi 999\n";
    let report = match core
        .execute(Request::ImportOrdersCsv {
            csv: csv.into(),
            partial: true,
        })
        .unwrap()
    {
        Response::ImportReport(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!((report.imported, report.rejected), (1, 2), "{report:?}");
    let lines: Vec<u64> = report.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [3, 4]);
    assert_eq!(
        report.problems[0].column.as_deref(),
        Some("dropoff_address")
    );
    assert!(
        report.problems[0]
            .message
            .contains("\"Qwxzv 3\" is not on this device's map"),
        "{:?}",
        report.problems[0]
    );
    assert!(
        report.problems[1]
            .message
            .contains("Bulevardi has no number 999"),
        "{:?}",
        report.problems[1]
    );
    // Line 2's two addresses were placed (and so were line 3's and 4's pickups).
    let placed: Vec<(u64, &str, &str)> = report
        .geocoded
        .iter()
        .map(|g| (g.line, g.column.as_str(), g.matched.as_str()))
        .collect();
    assert!(
        placed.contains(&(2, "pickup_address", "Bulevardi 14, 00120 Helsinki")),
        "{placed:?}"
    );
    assert!(
        placed.contains(&(2, "dropoff_address", "Yrjönkatu 30, 00100 Helsinki")),
        "{placed:?}"
    );
    let orders = match core
        .execute(Request::ListOrders(Default::default()))
        .unwrap()
    {
        Response::Orders { orders, .. } => orders,
        other => panic!("{other:?}"),
    };
    assert_eq!(orders.len(), 1);
    assert!(
        orders[0].dropoff_point.is_some(),
        "the imported order is on the map"
    );
    // Without `partial` nothing is imported while a row is bad.
    let (_e, strict) = self::core(true);
    let r = match strict
        .execute(Request::ImportOrdersCsv {
            csv: csv.into(),
            partial: false,
        })
        .unwrap()
    {
        Response::ImportReport(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!((r.imported, r.committed), (0, false));
}

#[test]
fn a_warehouse_stop_takes_its_address_and_position_and_an_unknown_one_is_named() {
    let (_d, core) = core(true);
    crate::engine::test_support::session(&core, "boss", crate::domain::Role::Admin);
    let hub = app_api::config::Warehouse {
        id: "hub-west".into(),
        name: "West hub".into(),
        address: "Ruoholahdenkatu 4".into(),
        position: Point {
            lat: 60.1630,
            lon: 24.9270,
        },
        uses: Default::default(),
        opening_hours: String::new(),
    };
    core.execute(Request::ChangeConfig(
        app_api::config::ConfigChange::PutWarehouse(hub),
    ))
    .unwrap();
    let mut new = NewOrder::simple("Hub Test", "", "Bulevardi 14");
    new.pickup_warehouse = Some("hub-west".into());
    new.dropoff_point = Some(search(&core, "Bulevardi 14").suggestions[0].point);
    new.pickup_contact_name = "Lotta Lastaaja".into();
    new.pickup_window = Some((1_780_000_000_000, 1_780_003_600_000));
    new.dims_mm = Some([400, 300, 200]);
    new.package_reference = "PKG-77".into();
    new.express = true;
    let created = match core.execute(Request::CreateOrder(new.clone())).unwrap() {
        Response::Order(o) => o,
        other => panic!("{other:?}"),
    };
    assert_eq!(created.pickup_address, "West hub, Ruoholahdenkatu 4");
    let spec = core
        .order_state(&crate::domain::OrderId::new(&created.id))
        .unwrap()
        .spec
        .unwrap();
    assert_eq!(
        spec.pickup.warehouse.as_ref().map(|w| w.as_str()),
        Some("hub-west")
    );
    let at = spec.pickup.address.point.unwrap();
    assert!((at.lat - 60.1630).abs() < 1e-9 && (at.lon - 24.9270).abs() < 1e-9);
    assert!(
        spec.distance_m.unwrap() > 500,
        "priced from the hub: {spec:?}"
    );
    assert_eq!(spec.pickup.contact.name, "Lotta Lastaaja");
    assert_eq!(spec.pickup.window.unwrap().end_ms, 1_780_003_600_000);
    assert_eq!(spec.packages[0].dims_mm, Some([400, 300, 200]));
    assert_eq!(spec.packages[0].reference, "PKG-77");
    assert!(spec.options.express);
    new.pickup_warehouse = Some("hub-east".into());
    let err = core.execute(Request::CreateOrder(new)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("pickup_warehouse") && text.contains("hub-west"),
        "{text}"
    );
}

//! CSV import and export through `Core::execute`, on a real local store.

use std::sync::Arc;

use app_api::{ExportKind, ExportRequest, OrderQuery, Request, Response};

use crate::Core;
use crate::clock::ManualClock;

fn core() -> (tempfile::TempDir, Core) {
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open_with_clock(dir.path(), Arc::new(ManualClock::new(1_780_000_000_000)))
        .unwrap()
        .or_dispatcher();
    (dir, core)
}

fn import(core: &Core, csv: &str, partial: bool) -> app_api::ImportReport {
    match core
        .execute(Request::ImportOrdersCsv {
            csv: csv.into(),
            partial,
        })
        .unwrap()
    {
        Response::ImportReport(r) => r,
        other => panic!("{other:?}"),
    }
}

fn count(core: &Core) -> u64 {
    core.order_count().unwrap()
}

fn file(rows: usize, bad_at: Option<usize>) -> String {
    let mut s =
        String::from("customer_name,pickup_address,dropoff_address,dropoff_lat,dropoff_lon,cod\n");
    for k in 0..rows {
        if Some(k) == bad_at {
            s.push_str("Bad Row,Kaivokatu 1,Bulevardi 1,95.0,24.9,\n");
        } else {
            s.push_str(&format!(
                "Łukasz Żółć {k},Kaivokatu 1,Bulevardi {k},60.164,24.937,1.50\n"
            ));
        }
    }
    s
}

#[test]
fn one_bad_row_means_nothing_is_imported_unless_partial() {
    let (_d, core) = core();
    let r = import(&core, &file(50, Some(20)), false);
    assert!(!r.committed);
    assert_eq!((r.rows, r.imported, r.rejected), (50, 0, 1));
    assert_eq!(r.problems[0].line, 22);
    assert_eq!(r.problems[0].column.as_deref(), Some("dropoff_lat"));
    assert_eq!(count(&core), 0, "nothing half-imported");

    let r = import(&core, &file(50, Some(20)), true);
    assert!(r.committed);
    assert_eq!((r.imported, r.rejected), (49, 1));
    assert_eq!(count(&core), 49);
    assert!(r.first_reference.is_some() && r.first_reference != r.last_reference);
    let Response::ImportProgress(p) = core.execute(Request::ImportProgress).unwrap() else {
        panic!()
    };
    assert_eq!(p.phase, "idle");
}

#[test]
fn imports_span_several_transactions_and_every_order_is_a_real_order() {
    let (_d, core) = core();
    let n = super::IMPORT_CHUNK + 37;
    let r = import(&core, &file(n, None), false);
    assert!(r.committed, "{:?}", r.problems);
    assert_eq!(r.imported, n as u64);
    assert_eq!(count(&core), n as u64);
    // Imported orders behave like created ones: searchable, priced, pending sync.
    let last = format!("Żółć {}", n - 1);
    let Response::Orders { orders, total } = core
        .execute(Request::ListOrders(OrderQuery {
            search: Some(last.clone()),
            ..Default::default()
        }))
        .unwrap()
    else {
        panic!()
    };
    assert!(total >= 1);
    let o = orders
        .iter()
        .find(|o| o.customer_name.ends_with(&last))
        .expect("the last row");
    assert_eq!((o.cod_cents, o.price_cents > 0), (150, true));
    assert_eq!(core.pending().unwrap().len(), n);
}

#[test]
fn exports_round_trip_through_a_csv_reader() {
    let (_d, core) = core();
    import(&core, &file(5, None), false);
    let Response::Csv(f) = core
        .execute(Request::ExportCsv(ExportRequest {
            what: ExportKind::Orders,
            query: Default::default(),
        }))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!((f.filename.as_str(), f.rows), ("orders.csv", 5));
    let mut r = ::csv::Reader::from_reader(f.text.as_bytes());
    let headers = r.headers().unwrap().clone();
    let name_col = headers.iter().position(|h| h == "customer_name").unwrap();
    let rows: Vec<_> = r.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().any(|r| &r[name_col] == "Łukasz Żółć 3"));
    let Response::Csv(t) = core
        .execute(Request::ExportCsv(ExportRequest {
            what: ExportKind::Timelines,
            query: Default::default(),
        }))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(t.rows, 5, "one created event per order");
    assert!(t.text.lines().nth(1).unwrap().contains("created"));
    let Response::Csv(p) = core
        .execute(Request::ExportCsv(ExportRequest {
            what: ExportKind::Pods,
            query: Default::default(),
        }))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(p.rows, 0);
    assert!(p.text.starts_with("order_id,reference,pod_id"));
}

fn list(core: &Core, query: OrderQuery) -> (Vec<app_api::OrderSummary>, u64) {
    match core.execute(Request::ListOrders(query)).unwrap() {
        Response::Orders { orders, total } => (orders, total),
        other => panic!("{other:?}"),
    }
}

fn seq(reference: &str) -> u64 {
    reference.rsplit('-').next().unwrap().parse().unwrap()
}

#[test]
fn a_second_import_appends_and_imported_orders_behave_like_created_ones() {
    use app_api::{Action, DeliveryStatus, OrderType, Priority, SortKey};
    let (_d, core) = core();
    let first = import(&core, &file(30, None), false);
    let second = import(&core, &file(20, None).replace("Łukasz", "Bertta"), false);
    assert!(first.committed && second.committed);
    assert_eq!(count(&core), 50);
    let (a, b) = (
        seq(first.last_reference.as_deref().unwrap()),
        seq(second.first_reference.as_deref().unwrap()),
    );
    assert_eq!(b, a + 1, "references continue");
    assert_eq!(core.pending().unwrap().len(), 50);

    // Listable by every filter and sort, found by text and by reference.
    for sort in [
        SortKey::Created,
        SortKey::Updated,
        SortKey::Priority,
        SortKey::WindowEnd,
        SortKey::Reference,
        SortKey::Status,
    ] {
        for query in [
            OrderQuery::default(),
            OrderQuery {
                statuses: vec![DeliveryStatus::Pending],
                ..Default::default()
            },
            OrderQuery {
                order_types: vec![OrderType::default()],
                assignee: Some("-".into()),
                min_priority: Some(Priority::Low),
                ..Default::default()
            },
        ] {
            let (orders, total) = list(&core, OrderQuery { sort, ..query });
            assert_eq!((orders.len(), total), (50, 50), "{sort:?}");
        }
    }
    let (orders, total) = list(
        &core,
        OrderQuery {
            search: Some("bertta 17".into()),
            ..Default::default()
        },
    );
    let bertta = the_one(&orders, total, "Bertta Żółć 17", "17");
    let (orders, _) = list(
        &core,
        OrderQuery {
            search: first.first_reference.clone(),
            ..Default::default()
        },
    );
    assert_eq!(orders[0].reference, first.first_reference.clone().unwrap());

    // The document loads, takes the next event and is still found.
    let detail = |id: &str| match core
        .execute(Request::GetOrder {
            order_id: id.into(),
        })
        .unwrap()
    {
        Response::OrderDetail(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(detail(&bertta.id).timeline.len(), 1);
    assert_eq!(detail(&bertta.id).timeline[0].kind, "created");
    core.execute(Request::Act {
        order_id: bertta.id.clone(),
        action: Action::Assign {
            courier: "courier-1".into(),
        },
    })
    .unwrap();
    assert_eq!(detail(&bertta.id).timeline.len(), 2);
    let (orders, total) = list(
        &core,
        OrderQuery {
            search: Some("bertta 17".into()),
            assignee: Some("courier-1".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        the_one(&orders, total, "Bertta Żółć 17", "17").id,
        bertta.id
    );

    // The projection rebuilt from the documents alone is the same, search included.
    assert_eq!(core.rebuild_projection().unwrap(), 50);
    let (orders, total) = list(
        &core,
        OrderQuery {
            search: Some("Łukasz 29".into()),
            ..Default::default()
        },
    );
    the_one(&orders, total, "Łukasz Żółć 29", "29");
}

/// The one order named `name` among a search's hits. A number in a search is
/// also a prefix of reference words, so an order whose (random) device part
/// starts with that number is a fair hit too; every other hit is a failure.
fn the_one(
    orders: &[app_api::OrderSummary],
    total: u64,
    name: &str,
    number: &str,
) -> app_api::OrderSummary {
    assert_eq!(orders.len() as u64, total);
    let (named, others): (Vec<_>, Vec<_>) = orders.iter().partition(|o| o.customer_name == name);
    assert_eq!(named.len(), 1, "{orders:?}");
    for o in others {
        assert!(
            o.reference.split('-').any(|w| w.starts_with(number)),
            "{} matched neither by name nor by reference: {o:?}",
            o.customer_name
        );
    }
    named[0].clone()
}

fn export_orders(core: &Core) -> String {
    let Response::Csv(f) = core
        .execute(Request::ExportCsv(ExportRequest {
            what: ExportKind::Orders,
            query: Default::default(),
        }))
        .unwrap()
    else {
        panic!()
    };
    f.text
}

/// The import columns of every exported row (the export-only ones dropped),
/// sorted: what two exports of the same orders have in common.
fn import_part(csv: &str) -> Vec<Vec<String>> {
    let mut r = ::csv::Reader::from_reader(csv.as_bytes());
    let headers = r.headers().unwrap().clone();
    let keep: Vec<usize> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| !app_api::ORDER_CSV_EXPORT_ONLY.contains(h))
        .map(|(i, _)| i)
        .collect();
    let mut rows: Vec<Vec<String>> = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            keep.iter()
                .map(|&i| crate::csv_io::unsafe_cell(&rec[i]).to_owned())
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

/// Every column the importer reads is exported, with the value the importer
/// reads back: an exported file imports as the same orders again.
#[test]
fn an_orders_export_imports_again_as_the_same_orders() {
    let (_d, core) = core();
    let header: Vec<&str> = app_api::ORDER_CSV_COLUMNS.iter().map(|(c, _)| *c).collect();
    let mut csv = header.join(",");
    csv.push('\n');
    // Every column set (no service and no warehouse: this device has none).
    csv.push_str(
        "Aino Vientitesti,Kaivokatu 1,Bulevardi 14,60.170800,24.941000,60.165200,24.937200,\
         on_demand,urgent,prime,3,1200,12.50,2026-05-29T10:00:00+03:00,2026-05-29T12:30:00+03:00,\
         \"ring, twice\",gate 1234,k1,yes,yes,no,yes,,Pekka Posti,+358 40 111,Aino,+358 40 222,,,\
         BOX-7,yes\n",
    );
    csv.push_str(
        "Björn Export,Mannerheimintie 20,Annankatu 25,,,60.166000,24.939000,pickup_and_delivery,\
         low,internal,1,0,,,,,,,no,no,no,no,,,,,,,,,no\n",
    );
    let report = import(&core, &csv, false);
    assert!(report.committed && report.problems.is_empty(), "{report:?}");
    let first = export_orders(&core);
    let exported = import_part(&first);
    assert_eq!(exported.len(), 2);
    // The first row as typed, column by column (times in the tenant's zone).
    let aino = exported
        .iter()
        .find(|r| r[0] == "Aino Vientitesti")
        .unwrap();
    let typed = [
        "Aino Vientitesti",
        "Kaivokatu 1",
        "Bulevardi 14",
        "60.170800",
        "24.941000",
        "60.165200",
        "24.937200",
        "on_demand",
        "urgent",
        "prime",
        "3",
        "1200",
        "12.50",
        "2026-05-29T10:00:00+03:00",
        "2026-05-29T12:30:00+03:00",
        "ring, twice",
        "gate 1234",
        "k1",
        "yes",
        "yes",
        "no",
        "yes",
        "",
        "Pekka Posti",
        "+358 40 111",
        "Aino",
        "+358 40 222",
        "",
        "",
        "BOX-7",
        "yes",
    ];
    for ((column, want), got) in header.iter().zip(typed).zip(aino) {
        assert_eq!(got, want, "column {column}");
    }
    // Imported again, the new orders export exactly as the first ones did.
    let again = import(&core, &first, false);
    assert!(again.committed && again.problems.is_empty(), "{again:?}");
    let both = import_part(&export_orders(&core));
    let mut twice: Vec<Vec<String>> = exported.iter().chain(&exported).cloned().collect();
    twice.sort();
    assert_eq!(both, twice);
}

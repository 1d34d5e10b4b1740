//! Documents through `Core::execute`: read back with Poppler's `pdftotext`.
use app_api::{Action, DocumentRequest, NewOrder, Point, Request, Response, Role};
use base64::Engine as _;

use crate::Core;
use crate::domain::OrderId;
use crate::engine::test_support::{act, open_at, session};

const NOW: i64 = 1_780_000_000_000;

fn core() -> (tempfile::TempDir, Core) {
    let (dir, core, _) = open_at(NOW);
    (dir, core)
}

fn create(core: &Core, name: &str) -> (String, String) {
    let mut new = NewOrder::simple(name, "Kaivokatu 1", "Fredrikinkatu 32");
    new.pickup_point = Some(Point {
        lat: 60.1710,
        lon: 24.9414,
    });
    new.dropoff_point = Some(Point {
        lat: 60.1654,
        lon: 24.9353,
    });
    new.parcels = Some(2);
    match core.execute(Request::CreateOrder(new)).unwrap() {
        Response::Order(o) => (o.id, o.reference),
        other => panic!("{other:?}"),
    }
}

fn document(core: &Core, req: DocumentRequest) -> Result<app_api::DocumentFile, app_api::ApiError> {
    core.execute(Request::Document(req)).map(|r| match r {
        Response::Document(f) => f,
        other => panic!("{other:?}"),
    })
}

/// The text Poppler extracts from a document file.
fn text_of(f: &app_api::DocumentFile) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&f.data_base64)
        .unwrap();
    assert_eq!(bytes.len() as u64, f.bytes);
    assert!(bytes.starts_with(b"%PDF-"), "{}", f.filename);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is missing: run `bash scripts/setup.sh`");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn invoices_and_receipts_exist_for_delivered_orders_with_provisional_then_final_numbers() {
    let (_d, core) = core();
    let (id, reference) = create(&core, "Björn Öhman");
    let e = document(
        &core,
        DocumentRequest::Invoice {
            order_id: id.clone(),
        },
    )
    .unwrap_err();
    assert!(
        matches!(&e, app_api::ApiError::Refused { code, .. } if code == "not_delivered"),
        "{e:?}"
    );

    act(
        &core,
        &id,
        Action::Assign {
            courier: "aki".into(),
        },
    );
    session(&core, "aki", Role::Courier);
    act(&core, &id, Action::PickUp);
    act(&core, &id, Action::Deliver { pods: vec![] });

    let invoice = document(
        &core,
        DocumentRequest::Invoice {
            order_id: id.clone(),
        },
    )
    .unwrap();
    let text = text_of(&invoice);
    assert!(text.contains(&format!("P-{reference}")), "{text}");
    assert!(text.contains("PROVISIONAL"));
    assert!(text.contains("Björn Öhman"));
    assert!(text.contains("Fredrikinkatu 32"));
    // The order's price appears as the invoice total.
    let Response::OrderDetail(detail) = core
        .execute(Request::GetOrder {
            order_id: id.clone(),
        })
        .unwrap()
    else {
        panic!()
    };
    let summary = detail.summary;
    let total = crate::documents::format_money(summary.price_cents, "EUR");
    assert!(text.contains(&total), "{total} not in {text}");

    core.set_invoice_number(&OrderId::new(&id), "2026-000001")
        .unwrap();
    let text = text_of(
        &document(
            &core,
            DocumentRequest::Invoice {
                order_id: id.clone(),
            },
        )
        .unwrap(),
    );
    assert!(text.contains("2026-000001"));
    assert!(!text.contains("PROVISIONAL"));

    let receipt = text_of(
        &document(
            &core,
            DocumentRequest::Receipt {
                order_id: id.clone(),
            },
        )
        .unwrap(),
    );
    assert!(
        receipt.contains(&reference) && receipt.contains("aki"),
        "{receipt}"
    );
}

#[test]
fn labels_for_many_orders_and_statements_as_pdf_and_csv() {
    let (_d, core) = core();
    let a = create(&core, "Łukasz Żółć");
    let b = create(&core, "Łukasz Żółć");
    let c = create(&core, "Someone Else");
    let labels = document(
        &core,
        DocumentRequest::Labels {
            order_ids: vec![a.0.clone(), b.0.clone()],
            per_parcel: true,
        },
    )
    .unwrap();
    let text = text_of(&labels);
    // Two orders of two parcels each: four pages (form feeds separate pages).
    assert_eq!(text.matches('\u{c}').count(), 4, "{text}");
    assert!(text.contains(&a.1) && text.contains(&b.1) && !text.contains(&c.1));
    assert!(text.contains("Łukasz Żółć"));

    let period = DocumentRequest::Statement {
        customer_name: "Łukasz Żółć".into(),
        client: None,
        from_ms: NOW - 1,
        to_ms: NOW + 1,
        csv: false,
    };
    let pdf = text_of(&document(&core, period).unwrap());
    assert!(
        pdf.contains(&a.1) && pdf.contains(&b.1) && !pdf.contains(&c.1),
        "{pdf}"
    );
    let csv = document(
        &core,
        DocumentRequest::Statement {
            customer_name: "Łukasz Żółć".into(),
            client: None,
            from_ms: NOW - 1,
            to_ms: NOW + 1,
            csv: true,
        },
    )
    .unwrap();
    assert_eq!(csv.mime, "text/csv");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&csv.data_base64)
        .unwrap();
    let mut r = ::csv::Reader::from_reader(bytes.as_slice());
    assert_eq!(r.records().count(), 2);

    let empty = text_of(
        &document(
            &core,
            DocumentRequest::Statement {
                customer_name: "Nobody".into(),
                client: None,
                from_ms: NOW - 1,
                to_ms: NOW + 1,
                csv: false,
            },
        )
        .unwrap(),
    );
    assert!(empty.contains("No deliveries in this period"));
    let e = document(
        &core,
        DocumentRequest::Labels {
            order_ids: vec![],
            per_parcel: false,
        },
    )
    .unwrap_err();
    assert!(matches!(e, app_api::ApiError::Invalid { .. }));
}

#[test]
fn a_clients_statement_lists_that_clients_orders_whoever_received_them() {
    let (_d, core) = core();
    let for_client = |recipient: &str, client: &str| {
        let mut new = NewOrder::simple(recipient, "Kaivokatu 1", "Bulevardi 14");
        new.client = Some(client.into());
        match core.execute(Request::CreateOrder(new)).unwrap() {
            Response::Order(o) => o.reference,
            other => panic!("{other:?}"),
        }
    };
    let (a, b, other) = (
        for_client("Anna", "k1"),
        for_client("Bertil", "k1"),
        for_client("Anna", "k2"),
    );
    let statement = |core: &Core, client: Option<&str>| {
        text_of(
            &document(
                core,
                DocumentRequest::Statement {
                    customer_name: String::new(),
                    client: client.map(str::to_owned),
                    from_ms: NOW - 1,
                    to_ms: NOW + 1,
                    csv: false,
                },
            )
            .unwrap(),
        )
    };
    let k1 = statement(&core, Some("k1"));
    assert!(
        k1.contains(&a) && k1.contains(&b) && !k1.contains(&other),
        "{k1}"
    );
    // On k1's own device, asking for k2's orders still gives k1's.
    crate::engine::test_support::session(&core, "k1", crate::domain::Role::Client);
    let own = statement(&core, Some("k2"));
    assert!(
        own.contains(&a) && own.contains(&b) && !own.contains(&other),
        "{own}"
    );
}

#[test]
fn order_lists_carry_the_dropoff_position_for_the_map() {
    let (_dir, core) = core();
    let (id, _) = create(&core, "Map Marker");
    let plain = NewOrder::simple("No Position", "Kaivokatu 1", "Bulevardi 1");
    core.execute(Request::CreateOrder(plain)).unwrap();
    let Response::Orders { orders, .. } = core
        .execute(Request::ListOrders(Default::default()))
        .unwrap()
    else {
        panic!()
    };
    let marker = orders.iter().find(|o| o.id == id).unwrap();
    let p = marker.dropoff_point.expect("position projected");
    assert!((p.lat - 60.1654).abs() < 1e-9 && (p.lon - 24.9353).abs() < 1e-9);
    let other = orders
        .iter()
        .find(|o| o.customer_name == "No Position")
        .unwrap();
    assert_eq!(other.dropoff_point, None);
    // The detail reads the columns after the summary's correctly too.
    let Response::OrderDetail(d) = core.execute(Request::GetOrder { order_id: id }).unwrap() else {
        panic!()
    };
    assert_eq!(d.summary, *marker);
}

#[test]
fn the_tenants_profile_shows_in_the_next_invoice_in_its_time_zone() {
    use app_api::config::{ConfigChange, TenantProfile};
    let (_d, core) = core();
    let (id, _) = create(&core, "Aino Virtanen");
    act(
        &core,
        &id,
        Action::Assign {
            courier: "aki".into(),
        },
    );
    session(&core, "aki", Role::Courier);
    act(&core, &id, Action::PickUp);
    act(&core, &id, Action::Deliver { pods: vec![] });
    core.set_invoice_number(&OrderId::new(&id), "INV-000042")
        .unwrap();
    let before = text_of(
        &document(
            &core,
            DocumentRequest::Invoice {
                order_id: id.clone(),
            },
        )
        .unwrap(),
    );
    assert!(
        before.contains("Ruta Demo Oy") && before.contains("INV-000042"),
        "{before}"
    );

    session(&core, "boss", Role::Admin);
    core.execute(Request::ChangeConfig(ConfigChange::SetProfile(
        TenantProfile {
            company_name: "Kuriiri Testi Oy".into(),
            address_lines: vec!["Testikatu 5".into(), "33100 Tampere".into()],
            vat_id: Some("FI12345678".into()),
            time_zone: "America/New_York".into(),
            invoice_prefix: "KT/".into(),
            invoice_footer: "Maksuaika 7 päivää.".into(),
            ..TenantProfile::default()
        },
    )))
    .unwrap();
    let after = text_of(
        &document(
            &core,
            DocumentRequest::Invoice {
                order_id: id.clone(),
            },
        )
        .unwrap(),
    );
    for want in [
        "Kuriiri Testi Oy",
        "Testikatu 5",
        "FI12345678",
        "KT/000042",
        "Maksuaika 7 päivää.",
    ] {
        assert!(after.contains(want), "{want} not in {after}");
    }
    assert!(!after.contains("Ruta Demo Oy"));
    // Delivered at NOW: printed in New York's time, not Helsinki's.
    let ny = crate::documents::format_timestamp(
        NOW,
        super::super::config_calls::utc_offset_min("America/New_York", NOW),
    );
    let hel = crate::documents::format_timestamp(NOW, 180);
    assert_ne!(ny, hel);
    assert!(
        after.contains(&ny) && !after.contains(&hel),
        "{ny} in {after}"
    );
    assert!(before.contains(&hel), "{hel} in {before}");
}

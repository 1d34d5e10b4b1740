//! How long the PDF documents take to make: an invoice (goal <= 50 ms), a statement
//! of 1,000 deliveries (goal <= 2 s), 100 labels in one PDF, a receipt, and the
//! statement's CSV. Prints the median (and min/max) over a few runs and the size.
//! Run with `cargo bench -p ruta-documents --bench documents`.

use std::hint::black_box;
use std::io::Cursor;
use std::time::{Duration, Instant};

use image::{ImageFormat, Rgba, RgbaImage};
use ruta_documents::{
    Branding, InvoiceData, InvoiceLine, InvoiceOrder, LabelData, Party, ReceiptData, ReceiptItem,
    StatementData, StatementRow, invoice_pdf, labels_pdf, receipt_pdf, statement_csv,
    statement_pdf,
};
use ruta_domain::order::ServiceOptions;

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(w, h, |x, y| {
        if (x / 6 + y / 6) % 2 == 0 {
            Rgba([180, 30, 30, 255])
        } else {
            Rgba([255, 255, 255, 0])
        }
    });
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .expect("png");
    out
}

fn branding() -> Branding {
    Branding {
        company_name: "Kuriiri Oy".into(),
        address_lines: vec!["Mannerheimintie 1".into(), "00100 Helsinki".into()],
        vat_id: Some("FI12345678".into()),
        logo_png: Some(png(240, 120)),
        ..Branding::default()
    }
}

fn party(name: &str, street: &str) -> Party {
    Party {
        name: name.into(),
        address_lines: vec![street.into(), "00100 Helsinki".into(), "Finland".into()],
        phone: Some("+358 40 123 4567".into()),
    }
}

fn invoice() -> InvoiceData {
    let line = |d: &str, q, p, bp| InvoiceLine {
        description: d.into(),
        quantity: q,
        unit_price_cents: p,
        vat_rate_bp: bp,
    };
    InvoiceData {
        branding: branding(),
        number: "P-DEV7-0003".into(),
        provisional: true,
        issue_date: "2025-03-14".into(),
        due_date: Some("2025-03-28".into()),
        customer: party("Łukasz Żółć", "Fredrikinkatu 34"),
        customer_vat_id: None,
        order: Some(InvoiceOrder {
            reference: "R-3F2A-0001".into(),
            pickup: "Aleksanterinkatu 52, 00100 Helsinki".into(),
            dropoff: "Fredrikinkatu 34, 00120 Helsinki".into(),
            distance_m: Some(5_240),
            delivered_at: Some("2025-03-14 15:02 +02:00".into()),
        }),
        lines: vec![
            line("Base", 1, 690, 2550),
            line("Distance 6 km (4 km over 2 included)", 4, 95, 2550),
            line("Express", 1, 500, 2550),
            line("Signature", 1, 100, 2550),
            line("COD handling fee", 1, 150, 2550),
        ],
        prices_include_vat: true,
        cod_collected_cents: Some(4_200),
        signature_png: Some(png(400, 120)),
        notes: "Payment within 14 days.".into(),
    }
}

fn statement(rows: usize) -> StatementData {
    StatementData {
        branding: branding(),
        client: party("Björn Öhman", "Aleksanterinkatu 52"),
        period_from: "2025-01-01".into(),
        period_to: "2025-03-31".into(),
        issue_date: "2025-04-01".into(),
        rows: (0..rows)
            .map(|i| StatementRow {
                date: format!("2025-{:02}-{:02}", i % 3 + 1, i % 28 + 1),
                reference: format!("R-3F2A-{:04}", i + 1),
                dropoff: format!("Fredrikinkatu {}, 00120 Helsinki", i % 90 + 1),
                status: if i % 10 == 9 { "Failed" } else { "Delivered" }.into(),
                amount_cents: 900 + (i as i64 % 700),
            })
            .collect(),
    }
}

fn labels(n: usize) -> Vec<LabelData> {
    (0..n)
        .map(|i| LabelData {
            carrier_name: "Kuriiri Oy".into(),
            reference: format!("R-3F2A-{:04}", i + 1),
            sender: party("Björn Öhman", "Aleksanterinkatu 52"),
            recipient: party("Łukasz Żółć", &format!("Fredrikinkatu {} B 12", i + 1)),
            parcel_count: 2,
            weight_g: 3_400,
            parcel_index: Some(1 + i as u32 % 2),
            options: ServiceOptions {
                express: i % 3 == 0,
                signature_required: true,
                age_check: (i % 5 == 0).then_some(18),
            },
            cod_cents: if i % 4 == 0 { 12_345 } else { 0 },
            currency: "EUR".into(),
            qr_payload: format!("ruta:v1:R-3F2A-{:04}:7f3a9c{i:04}", i + 1),
            instructions: "Ring twice".into(),
            date: "2025-03-14".into(),
        })
        .collect()
}

fn receipt() -> ReceiptData {
    ReceiptData {
        branding: branding(),
        reference: "R-3F2A-0001".into(),
        delivered_at: "2025-03-14 15:02 +02:00".into(),
        recipient_name: "Łukasz Żółć".into(),
        delivered_to: vec!["Fredrikinkatu 34".into(), "00120 Helsinki".into()],
        courier_name: "Björn Öhman".into(),
        items: vec![ReceiptItem {
            description: "Parcel".into(),
            quantity: 2,
        }],
        cod_collected_cents: Some(12_345),
        signature_png: Some(png(400, 120)),
        photo: Some(png(480, 360)),
        proof_id: Some("pod:9c1e0a77".into()),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs `f` `runs` times; prints median, min, max and the output size.
fn measure(name: &str, runs: usize, goal_ms: Option<f64>, mut f: impl FnMut() -> usize) {
    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for _ in 0..runs {
        let t = Instant::now();
        size = black_box(f());
        times.push(t.elapsed());
    }
    times.sort();
    let median = ms(times[times.len() / 2]);
    let goal = match goal_ms {
        Some(g) if median <= g => format!("  (goal <= {g} ms: met)"),
        Some(g) => format!("  (goal <= {g} ms: MISSED)"),
        None => String::new(),
    };
    println!(
        "{name:<34} median {median:>9.2} ms  min {:>9.2}  max {:>9.2}  ({runs} runs)  {:>8.1} KiB{goal}",
        ms(times[0]),
        ms(times[times.len() - 1]),
        size as f64 / 1024.0,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; anything else (e.g. a filter) is ignored.
    let invoice = invoice();
    let statement = statement(1_000);
    let labels = labels(100);
    let receipt = receipt();

    // The first document pays for parsing the bundled fonts once.
    let t = Instant::now();
    let first = invoice_pdf(&invoice).expect("invoice");
    println!(
        "first invoice (loads fonts)        {:>9.2} ms  {:>8.1} KiB",
        ms(t.elapsed()),
        first.len() as f64 / 1024.0
    );

    measure("invoice PDF (5 lines, logo, sig.)", 21, Some(50.0), || {
        invoice_pdf(&invoice).expect("invoice").len()
    });
    measure("receipt PDF (sig. + photo)", 21, None, || {
        receipt_pdf(&receipt).expect("receipt").len()
    });
    measure("statement PDF, 1,000 deliveries", 7, Some(2_000.0), || {
        statement_pdf(&statement).expect("statement").len()
    });
    measure("statement CSV, 1,000 deliveries", 21, None, || {
        statement_csv(&statement).len()
    });
    measure("100 labels in one PDF", 7, None, || {
        labels_pdf(&labels).expect("labels").len()
    });
}

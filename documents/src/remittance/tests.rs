//! Tests of the cash remittance statement: the PDF read back with Poppler
//! (`pdftotext -layout` for content, `pdfinfo` for the page count, `pdftoppm` for
//! pixels), the CSV parsed back with the `csv` crate, and the input checks.
//!
//! Poppler is required, not optional: without it these tests fail and say to run
//! `bash scripts/setup.sh`.

use std::path::Path;
use std::process::Command;

use super::*;
use crate::format_money;

fn run_tool(name: &str, args: &[&str]) -> Vec<u8> {
    let out = match Command::new(name).args(args).output() {
        Ok(out) => out,
        Err(e) => panic!(
            "{name} could not be run ({e}); it comes with poppler-utils: run `bash scripts/setup.sh`"
        ),
    };
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn write_pdf(dir: &Path, pdf: &[u8]) -> String {
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    let path = dir.join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    path.to_string_lossy().into_owned()
}

/// `pdftotext -layout` of the whole document; pages end with a form feed.
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write_pdf(dir.path(), pdf);
    String::from_utf8(run_tool(
        "pdftotext",
        &["-layout", "-enc", "UTF-8", &path, "-"],
    ))
    .unwrap()
}

/// `pdftotext -raw`: text in the order it was drawn, for the summary box, whose
/// large closing figure makes `-layout` interleave the box's lines.
fn pdf_text_raw(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write_pdf(dir.path(), pdf);
    String::from_utf8(run_tool(
        "pdftotext",
        &["-raw", "-enc", "UTF-8", &path, "-"],
    ))
    .unwrap()
}

/// The page count `pdfinfo` reads from the document.
fn pdfinfo_pages(pdf: &[u8]) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let path = write_pdf(dir.path(), pdf);
    let info = String::from_utf8(run_tool("pdfinfo", &[&path])).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count in:\n{info}"))
}

/// Share of pixels of page 1 (rendered by `pdftoppm` at 50 dpi) that are not white.
fn ink_page_1(pdf: &[u8]) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let path = write_pdf(dir.path(), pdf);
    let prefix = dir.path().join("page");
    let prefix = prefix.to_string_lossy();
    run_tool(
        "pdftoppm",
        &[
            "-r",
            "50",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            &path,
            &prefix,
        ],
    );
    let rgb = image::open(format!("{prefix}.png")).unwrap().to_rgb8();
    let dark = rgb
        .pixels()
        .filter(|p| p.0.iter().any(|&c| c < 200))
        .count();
    dark as f64 / f64::from(rgb.width() * rgb.height())
}

/// Collapses the runs of spaces `-layout` puts between columns.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of page `k` (0-based) of a `pdftotext` output.
fn page_text(text: &str, k: usize) -> &str {
    text.split('\u{c}').nth(k).unwrap_or("")
}

fn collection(time: &str, order_ref: &str, cents: i64) -> RemittanceCollection {
    RemittanceCollection {
        time: time.into(),
        order_ref: order_ref.into(),
        cents,
    }
}

/// A day of three collections and two hand-overs, the second 5.00 short.
fn day() -> RemittanceData {
    RemittanceData {
        branding: Branding {
            company_name: "Kuriiri Oy".into(),
            address_lines: vec!["Mannerheimintie 1".into()],
            vat_id: None,
            logo_png: None,
            primary_colour: [0x1d, 0x3f, 0x6e],
            accent_colour: [0xd9, 0xe4, 0xf2],
            currency: "EUR".into(),
        },
        courier: Party {
            name: "Björn Öhman".into(),
            address_lines: vec!["Satamakatu 4".into(), "00160 Helsinki".into()],
            phone: Some("+358 40 123 4567".into()),
        },
        day: "2026-12-03".into(),
        issue_date: "2026-12-04 08:15".into(),
        opening_cents: 1_750,
        collections: vec![
            collection("09:40", "R-7Q2K-0001", 1_250),
            collection("11:05", "R-7Q2K-0002", 2_400),
            collection("14:05", "R-7Q2K-0003", 2_500),
        ],
        handovers: vec![
            RemittanceHandover {
                time: "12:30".into(),
                id: "H-3F9A2C01D4".into(),
                declared_cents: Some(3_000),
                received_cents: Some(3_000),
                difference_cents: Some(0),
                received_by: "Aino Virtanen".into(),
                status: "Received".into(),
                resolution: String::new(),
            },
            RemittanceHandover {
                time: "17:10".into(),
                id: "H-3F9A2C01E7".into(),
                declared_cents: Some(4_900),
                received_cents: Some(4_400),
                difference_cents: Some(-500),
                received_by: "Łukasz Żółć".into(),
                status: "Discrepancy".into(),
                resolution: String::new(),
            },
        ],
        written_off_cents: 0,
        closing_cents: 500,
    }
}

fn field_of(err: DocError) -> String {
    match err {
        DocError::InvalidField { field, .. } => field,
        other => panic!("not a field error: {other}"),
    }
}

#[test]
fn remittance_day_prints_courier_items_totals_and_open_discrepancy() {
    let data = day();
    let pdf = remittance_pdf(&data).unwrap();
    assert_eq!(pdfinfo_pages(&pdf), 1);
    let text = pdf_text(&pdf);
    let flat = squash(&text);
    for needle in [
        "CASH REMITTANCE",
        "Kuriiri Oy",
        "Björn Öhman",
        "2026-12-03",
        "Issued 2026-12-04 08:15",
        "Tel. +358 40 123 4567",
        "Closing cash in hand",
        "Open discrepancies: 1",
        "Time Order Amount (EUR)",
        "09:40 R-7Q2K-0001 12.50",
        "11:05 R-7Q2K-0002 24.00",
        "14:05 R-7Q2K-0003 25.00",
        "Collections: 3 Total 61.50 EUR",
        "Time Hand-over Declared Received Difference Status Received by",
        "12:30 H-3F9A2C01D4 30.00 30.00 0.00 Received Aino Virtanen",
        "17:10 H-3F9A2C01E7 49.00 44.00 -5.00 Discrepancy Łukasz Żółć",
        "Hand-overs: 2 79.00 74.00 -5.00",
        "Courier",
        "Dispatcher",
        "Signature",
        "Page 1 of 1",
    ] {
        assert!(flat.contains(needle), "{needle:?} missing from:\n{text}");
    }
    // The summary box, in drawing order: the movements, then the closing cash.
    let raw = squash(&pdf_text_raw(&pdf));
    assert!(
        raw.contains(
            "Opening cash 17.50 EUR Collected (3 orders) 61.50 EUR Received at depot 74.00 EUR \
             Written off 0.00 EUR Closing cash in hand 5.00 EUR Open discrepancies: 1"
        ),
        "{raw}"
    );
    let share = ink_page_1(&pdf);
    assert!(share > 0.03, "ink {share}");

    // Settled: no warning line; a resolution prints under the status.
    let mut settled = day();
    settled.handovers[1].status = "Settled".into();
    settled.handovers[1].resolution = "Charged to courier".into();
    let flat = squash(&pdf_text(&remittance_pdf(&settled).unwrap()));
    assert!(!flat.contains("Open discrepancies"), "{flat}");
    assert!(flat.contains("Settled") && flat.contains("Charged to courier"));
}

#[test]
fn remittance_with_120_collections_paginates_each_order_once() {
    let mut data = day();
    data.collections = (0..120)
        .map(|i| {
            collection(
                &format!("{:02}:{:02}", 8 + i / 20, i % 60),
                &format!("R-PG00-{:04}", i + 1),
                100 + i as i64,
            )
        })
        .collect();
    // Resolutions make some hand-over rows taller.
    data.handovers = (0..30)
        .map(|i| RemittanceHandover {
            time: "18:00".into(),
            id: format!("H-PG{:08}", i + 1),
            declared_cents: Some(1_000),
            received_cents: Some(1_000),
            difference_cents: Some(0),
            received_by: "Aino Virtanen".into(),
            status: "Received".into(),
            resolution: if i % 3 == 0 {
                "Recounted".into()
            } else {
                String::new()
            },
        })
        .collect();
    let pdf = remittance_pdf(&data).unwrap();
    let n = pdfinfo_pages(&pdf);
    assert!(n > 1, "{n} pages");
    let text = pdf_text(&pdf);
    assert_eq!(text.matches('\u{c}').count(), n);
    let flat = squash(&text);
    for k in 1..=n {
        assert!(flat.contains(&format!("Page {k} of {n}")), "page {k}");
        assert!(
            squash(page_text(&text, k - 1)).contains(&format!("Page {k} of {n}")),
            "page {k} has its own number"
        );
    }
    assert!(!flat.contains(&format!("Page {} of", n + 1)));
    for c in &data.collections {
        assert_eq!(
            flat.matches(&format!("{} ", c.order_ref)).count(),
            1,
            "{}",
            c.order_ref
        );
    }
    for h in &data.handovers {
        assert_eq!(flat.matches(&format!("{} ", h.id)).count(), 1, "{}", h.id);
    }
    // The collections header heads every page that has collection rows.
    let with_rows = (0..n)
        .filter(|&k| page_text(&text, k).contains("R-PG00-"))
        .count();
    assert!(with_rows >= 2);
    assert_eq!(flat.matches("Time Order Amount (EUR)").count(), with_rows);
    let total: i64 = (0..120).map(|i| 100 + i).sum();
    assert!(flat.contains(&format!(
        "Collections: 120 Total {}",
        format_money(total, "EUR")
    )));
    assert!(flat.contains("Hand-overs: 30 300.00 300.00 0.00"));
    assert!(squash(&pdf_text_raw(&pdf)).contains(&format!(
        "Collected (120 orders) {}",
        format_money(total, "EUR")
    )));
    // Both signature blocks on the last page.
    let last = squash(page_text(&text, n - 1));
    assert!(
        last.contains("Courier") && last.contains("Dispatcher"),
        "{last}"
    );
}

#[test]
fn empty_remittance_day_says_no_cash() {
    let mut data = day();
    data.collections.clear();
    data.handovers.clear();
    data.opening_cents = 0;
    data.closing_cents = 0;
    data.issue_date = String::new();
    let pdf = remittance_pdf(&data).unwrap();
    assert_eq!(pdfinfo_pages(&pdf), 1);
    let flat = squash(&pdf_text(&pdf));
    for needle in [
        "No cash collected or handed over on this day",
        "Closing cash in hand",
        "Page 1 of 1",
        "Dispatcher",
    ] {
        assert!(flat.contains(needle), "{needle:?} missing from:\n{flat}");
    }
    assert!(!flat.contains("Issued") && !flat.contains("Open discrepancies"));
    let raw = squash(&pdf_text_raw(&pdf));
    assert!(raw.contains("Collected (0 orders) 0.00 EUR"), "{raw}");
    assert!(raw.contains("Closing cash in hand 0.00 EUR"), "{raw}");

    // Only one of the tables empty: it says so.
    let mut data = day();
    data.handovers.clear();
    let flat = squash(&pdf_text(&remittance_pdf(&data).unwrap()));
    assert!(flat.contains("No hand-overs on this day"), "{flat}");
    assert!(flat.contains("R-7Q2K-0003"));
}

#[test]
fn remittance_csv_round_trips_and_neutralises_formulas() {
    let mut data = day();
    data.collections[1].order_ref = "=HYPERLINK(\"http://evil\")".into();
    data.handovers[1].received_by = "@SUM(A1)".into();
    data.handovers[1].resolution = "Recounted, \"twice\"\nby two".into();
    data.handovers.push(RemittanceHandover {
        time: "18:20".into(),
        id: "H-3F9A2C01F0".into(),
        declared_cents: Some(1_000),
        received_cents: None,
        difference_cents: None,
        received_by: String::new(),
        status: "Awaiting receipt".into(),
        resolution: String::new(),
    });
    let text = remittance_csv(&data);
    assert!(text.contains("\r\n"));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "section",
            "time",
            "reference",
            "declared",
            "received",
            "difference",
            "amount",
            "status",
            "resolution",
            "received_by",
            "currency",
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1 + 3 + 3 + 1);
    let sections: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(
        sections,
        [
            "opening",
            "collection",
            "collection",
            "collection",
            "handover",
            "handover",
            "handover",
            "closing"
        ]
    );
    assert_eq!(&rows[0][6], "17.50");
    assert_eq!(
        (&rows[1][1], &rows[1][2], &rows[1][6]),
        ("09:40", "R-7Q2K-0001", "12.50")
    );
    assert_eq!(&rows[2][2], "'=HYPERLINK(\"http://evil\")");
    assert_eq!(&rows[3][6], "25.00");
    let short = &rows[5];
    assert_eq!(&short[2], "H-3F9A2C01E7");
    assert_eq!(
        (&short[3], &short[4], &short[5]),
        ("49.00", "44.00", "-5.00")
    );
    assert_eq!((&short[6], &short[7]), ("44.00", "Discrepancy"));
    assert_eq!(&short[8], "Recounted, \"twice\"\nby two");
    assert_eq!(&short[9], "'@SUM(A1)");
    let waiting = &rows[6];
    assert_eq!(
        (&waiting[3], &waiting[4], &waiting[5], &waiting[6]),
        ("10.00", "", "", "")
    );
    assert_eq!(&rows[7][6], "5.00");
    assert!(rows.iter().all(|r| &r[10] == "EUR"));
    // Collections add up to the PDF's figure.
    let collected: i64 = rows
        .iter()
        .filter(|r| &r[0] == "collection")
        .map(|r| r[6].replace('.', "").parse::<i64>().unwrap())
        .sum();
    assert_eq!(collected, 6_150);
    // No text cell starts a formula.
    for r in &rows {
        for k in [1, 2, 7, 8, 9, 10] {
            assert!(!r[k].starts_with(['=', '+', '-', '@']), "{:?}", &r[k]);
        }
    }
    // An empty day: the header, opening and closing.
    let mut empty = day();
    empty.collections.clear();
    empty.handovers.clear();
    assert_eq!(remittance_csv(&empty).lines().count(), 3);
}

#[test]
fn remittance_input_errors_name_the_field() {
    let mut data = day();
    data.collections[2].cents = -1;
    assert_eq!(
        field_of(remittance_pdf(&data).unwrap_err()),
        "collections[2].cents"
    );

    let mut data = day();
    data.collections[0].cents = i64::MAX;
    let err = remittance_pdf(&data).unwrap_err();
    assert!(err.to_string().starts_with("collections: "), "{err}");
    assert_eq!(field_of(err), "collections");

    let mut data = day();
    data.handovers[0].received_cents = Some(-300);
    assert_eq!(
        field_of(remittance_pdf(&data).unwrap_err()),
        "handovers[0].received_cents"
    );

    let mut data = day();
    data.handovers[1].declared_cents = Some(-1);
    assert_eq!(
        field_of(remittance_pdf(&data).unwrap_err()),
        "handovers[1].declared_cents"
    );

    let mut data = day();
    data.handovers[1].difference_cents = Some(500);
    assert_eq!(
        field_of(remittance_pdf(&data).unwrap_err()),
        "handovers[1].difference_cents"
    );

    let mut data = day();
    data.handovers[0].declared_cents = Some(i64::MAX);
    data.handovers[0].received_cents = None;
    data.handovers[0].difference_cents = None;
    assert_eq!(field_of(remittance_pdf(&data).unwrap_err()), "handovers");

    // A bad logo is an image error naming the field.
    let mut data = day();
    data.branding.logo_png = Some(b"not an image".to_vec());
    assert!(matches!(
        remittance_pdf(&data),
        Err(DocError::InvalidImage { field, .. }) if field == "branding.logo_png"
    ));

    // Absurd text is cut, not fatal; extreme opening/closing amounts print.
    let mut data = day();
    data.courier.name = "Ö".repeat(100_000);
    data.collections[0].order_ref = "x".repeat(5_000);
    data.opening_cents = i64::MIN;
    data.closing_cents = i64::MAX;
    assert!(remittance_pdf(&data).is_ok());
}

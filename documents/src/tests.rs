//! Tests of the documents: the figures (integer VAT, totals), the text helpers, and
//! every PDF read back with Poppler (`pdftotext -layout` for content, `pdftoppm`
//! for pixels: not blank, the label's 4:6 page, its QR code and barcode, the run
//! sheet's per-stop QR codes, the waybill's barcode).
//!
//! Poppler is required, not optional: without it these tests fail and say to run
//! `bash scripts/setup.sh`.

use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use image::{DynamicImage, GrayImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

use super::layout::{self, Face};
use super::*;
use ruta_domain::order::ServiceOptions;

// ---------------------------------------------------------------------------
// Poppler helpers
// ---------------------------------------------------------------------------

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

fn page_count(text: &str) -> usize {
    text.matches('\u{c}').count()
}

/// Page `page` (1-based) rendered by `pdftoppm` at `dpi`.
fn render(pdf: &[u8], page: usize, dpi: u32) -> DynamicImage {
    let dir = tempfile::tempdir().unwrap();
    let path = write_pdf(dir.path(), pdf);
    let prefix = dir.path().join("page");
    let prefix = prefix.to_string_lossy();
    let (dpi, page) = (dpi.to_string(), page.to_string());
    run_tool(
        "pdftoppm",
        &[
            "-r",
            &dpi,
            "-png",
            "-f",
            &page,
            "-l",
            &page,
            "-singlefile",
            &path,
            &prefix,
        ],
    );
    image::open(format!("{prefix}.png")).unwrap()
}

/// Share of pixels that are not (near) white.
fn ink(img: &DynamicImage) -> f64 {
    let rgb = img.to_rgb8();
    let dark = rgb
        .pixels()
        .filter(|p| p.0.iter().any(|&c| c < 200))
        .count();
    dark as f64 / (rgb.width() * rgb.height()) as f64
}

/// Collapses the runs of spaces `-layout` puts between columns.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------------------
// Sample data
// ---------------------------------------------------------------------------

fn png(w: u32, h: u32, colour: [u8; 4]) -> Vec<u8> {
    let img = RgbaImage::from_fn(w, h, |x, y| {
        if (x / 8 + y / 8) % 2 == 0 {
            Rgba(colour)
        } else {
            Rgba([255, 255, 255, 0])
        }
    });
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Jpeg)
        .unwrap();
    out
}

fn branding() -> Branding {
    Branding {
        company_name: "Kuriiri Oy".into(),
        address_lines: vec!["Mannerheimintie 1".into(), "00100 Helsinki".into()],
        vat_id: Some("FI12345678".into()),
        logo_png: Some(png(120, 60, [200, 30, 30, 255])),
        primary_colour: [0x1d, 0x3f, 0x6e],
        accent_colour: [0xd9, 0xe4, 0xf2],
        currency: "EUR".into(),
    }
}

fn party(name: &str, street: &str) -> Party {
    Party {
        name: name.into(),
        address_lines: vec![street.into(), "00100 Helsinki".into(), "Finland".into()],
        phone: Some("+358 40 123 4567".into()),
    }
}

fn label() -> LabelData {
    LabelData {
        carrier_name: "Kuriiri Oy".into(),
        reference: "R-3F2A-0001".into(),
        sender: party("Björn Öhman", "Aleksanterinkatu 52"),
        recipient: party("Łukasz Żółć", "Fredrikinkatu 34 B 12"),
        parcel_count: 2,
        weight_g: 3_400,
        parcel_index: None,
        options: ServiceOptions {
            express: true,
            signature_required: true,
            age_check: Some(18),
        },
        cod_cents: 12_345,
        currency: "EUR".into(),
        qr_payload: "ruta:v1:R-3F2A-0001:7f3a9c".into(),
        instructions: "Ring twice, Çağrı at the door".into(),
        date: "2025-03-14".into(),
    }
}

fn invoice(provisional: bool) -> InvoiceData {
    InvoiceData {
        branding: branding(),
        number: if provisional {
            "P-DEV7-0003".into()
        } else {
            "2025-0042".into()
        },
        provisional,
        issue_date: "2025-03-14".into(),
        due_date: Some("2025-03-28".into()),
        customer: party("Łukasz Żółć", "Fredrikinkatu 34"),
        customer_vat_id: Some("PL1234567890".into()),
        order: Some(InvoiceOrder {
            reference: "R-3F2A-0001".into(),
            pickup: "Aleksanterinkatu 52, 00100 Helsinki".into(),
            dropoff: "Fredrikinkatu 34, 00120 Helsinki".into(),
            distance_m: Some(5_240),
            delivered_at: Some("2025-03-14 15:02 +02:00".into()),
        }),
        // 100.00 + 25.50; 3 × 3.33 = 9.99 + 2.55 (2.54745 rounds up); 1.50 + 0.36.
        lines: vec![
            InvoiceLine {
                description: "Delivery, base tariff".into(),
                quantity: 1,
                unit_price_cents: 10_000,
                vat_rate_bp: 2550,
            },
            InvoiceLine {
                description: "Extra kilometres".into(),
                quantity: 3,
                unit_price_cents: 333,
                vat_rate_bp: 2550,
            },
            InvoiceLine {
                description: "COD handling fee".into(),
                quantity: 1,
                unit_price_cents: 150,
                vat_rate_bp: 2400,
            },
        ],
        prices_include_vat: false,
        cod_collected_cents: Some(4_200),
        signature_png: Some(png(300, 100, [0, 0, 0, 255])),
        notes: "Payment within 14 days to FI21 1234 5600 0007 85.".into(),
    }
}

fn statement(rows: usize) -> StatementData {
    StatementData {
        branding: branding(),
        client: party("Björn Öhman", "Aleksanterinkatu 52"),
        period_from: "2025-03-01".into(),
        period_to: "2025-03-31".into(),
        issue_date: "2025-04-01".into(),
        rows: (0..rows)
            .map(|i| StatementRow {
                date: format!("2025-03-{:02}", i % 28 + 1),
                reference: format!("R-3F2A-{:04}", i + 1),
                dropoff: format!("Fredrikinkatu {}, 00120 Helsinki", i % 90 + 1),
                status: if i % 10 == 9 { "Failed" } else { "Delivered" }.into(),
                amount_cents: 1_000 + i as i64,
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// Helpers and arithmetic
// ---------------------------------------------------------------------------

#[test]
fn fonts_cover_non_ascii_latin_names_without_fallback() {
    let fonts = layout::fonts().unwrap();
    for face in [Face::Serif, Face::SerifBold, Face::Mono, Face::MonoBold] {
        for c in "Björn Öhman Łukasz Żółć Çağrı ŠŽ € – … ·".chars() {
            assert!(fonts.covers(face, c), "{face:?} lacks {c:?}");
        }
    }
}

#[test]
fn money_rates_weights_and_dates_format() {
    assert_eq!(format_money(12_345, "EUR"), "123.45 EUR");
    assert_eq!(format_money(-5, "EUR"), "-0.05 EUR");
    assert_eq!(format_money(0, "EUR"), "0.00 EUR");
    assert_eq!(format_money(i64::MIN, "EUR"), "-92233720368547758.08 EUR");
    assert_eq!(layout::format_rate(2550), "25.5%");
    assert_eq!(layout::format_rate(2400), "24%");
    assert_eq!(layout::format_rate(1275), "12.75%");
    assert_eq!(layout::format_weight(3_449), "3.4 kg");
    assert_eq!(layout::format_weight(3_450), "3.5 kg");
    assert_eq!(layout::format_km(5_240), "5.2 km");
    assert_eq!(format_timestamp(0, 120), "1970-01-01 02:00 +02:00");
    // 2024-02-29 23:30 UTC is already 1 March in Helsinki (+02:00).
    assert_eq!(
        format_timestamp(1_709_249_400_000, 120),
        "2024-03-01 01:30 +02:00"
    );
    assert_eq!(
        format_timestamp(1_709_249_400_000, -300),
        "2024-02-29 18:30 -05:00"
    );
    assert_eq!(layout::format_date(-1, 0), "1969-12-31");
}

#[test]
fn vat_rounds_per_line_half_away_from_zero() {
    let line = |q, p, bp| InvoiceLine {
        description: String::new(),
        quantity: q,
        unit_price_cents: p,
        vat_rate_bp: bp,
    };
    let a = |l: &InvoiceLine, incl| invoice::line_amounts(l, incl, "l").unwrap();
    // 2 × 25 % = 0.5 cent -> 1; a credit mirrors it.
    assert_eq!(a(&line(1, 2, 2500), false).vat_cents, 1);
    assert_eq!(a(&line(1, -2, 2500), false).vat_cents, -1);
    // 0.4 cent -> 0.
    assert_eq!(a(&line(1, 1, 4000), false).vat_cents, 0);
    // Gross 125.50 at 25.5 % is 100.00 + 25.50.
    let incl = a(&line(1, 12_550, 2550), true);
    assert_eq!((incl.net_cents, incl.vat_cents), (10_000, 2_550));
    assert!(invoice::line_amounts(&line(1, 1, 10_001), false, "lines[0]").is_err());
    assert!(invoice::line_amounts(&line(u32::MAX, i64::MAX, 2550), false, "x").is_err());

    let t = invoice::invoice_totals(&invoice(false)).unwrap();
    assert_eq!(
        t.lines.iter().map(|l| l.vat_cents).collect::<Vec<_>>(),
        [2_550, 255, 36]
    );
    assert_eq!(
        (t.net_cents, t.vat_cents, t.gross_cents),
        (11_149, 2_841, 13_990)
    );
    assert_eq!(
        t.by_rate
            .iter()
            .map(|r| (r.vat_rate_bp, r.net_cents, r.vat_cents))
            .collect::<Vec<_>>(),
        [(2400, 150, 36), (2550, 10_999, 2_805)]
    );
}

#[test]
fn included_vat_agrees_with_the_tariff_on_a_single_line() {
    use ruta_domain::pricing::Tariff;
    let tariff = Tariff::default();
    for total in [690, 1_001, 12_345, 99_999] {
        let data = InvoiceData {
            prices_include_vat: true,
            lines: vec![InvoiceLine {
                description: "Delivery".into(),
                quantity: 1,
                unit_price_cents: total,
                vat_rate_bp: tariff.vat_bp,
            }],
            ..invoice(false)
        };
        let t = invoice::invoice_totals(&data).unwrap();
        let bp = i64::from(tariff.vat_bp);
        let tariff_vat = (total * bp + (10_000 + bp) / 2) / (10_000 + bp);
        assert_eq!(t.vat_cents, tariff_vat, "total {total}");
        assert_eq!(t.gross_cents, total);
    }
}

#[test]
fn wrapping_keeps_words_and_width_and_marks_overflow() {
    let fonts = layout::fonts().unwrap();
    let text = "Fredrikinkatu 34 B 12, sisäpiha, ovikoodi 4711, toinen kerros vasemmalla";
    let lines = fonts.wrap(Face::Serif, 10.0, text, 120.0, 10);
    assert!(lines.len() > 1);
    for l in &lines {
        assert!(fonts.width(Face::Serif, 10.0, l) <= 120.0, "{l:?} too wide");
    }
    assert_eq!(lines.join(" "), text);
    let two = fonts.wrap(Face::Serif, 10.0, text, 120.0, 2);
    assert_eq!(two.len(), 2);
    assert!(two[1].ends_with('…'));
    assert!(fonts.width(Face::Serif, 10.0, &two[1]) <= 120.0);
    let fitted = fonts.fit(Face::Mono, 9.0, text, 80.0);
    assert!(fitted.ends_with('…') && fonts.width(Face::Mono, 9.0, &fitted) <= 80.0);
    assert_eq!(fonts.fit(Face::Mono, 9.0, "short", 80.0), "short");
}

#[test]
fn clean_flattens_control_characters_and_caps_length() {
    assert_eq!(layout::clean("  a\nb\t\tc\u{200B}d  "), "a b cd");
    let huge = "x".repeat(1 << 20);
    let c = layout::clean(&huge);
    assert_eq!(c.chars().count(), layout::MAX_FIELD_CHARS + 1);
    assert!(c.ends_with('…'));
}

// ---------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------

#[test]
fn labels_print_everything_one_4x6_page_per_parcel() {
    let labels = per_parcel(&label());
    assert_eq!(labels.len(), 2);
    let pdf = labels_pdf(&labels).unwrap();
    let text = pdf_text(&pdf);
    assert_eq!(page_count(&text), 2, "{text}");
    let flat = squash(&text);
    for needle in [
        "Kuriiri Oy",
        "Björn Öhman",
        "Łukasz Żółć",
        "Fredrikinkatu 34 B 12",
        "R-3F2A-0001",
        "2 parcels, 3.4 kg",
        "PARCEL 1/2",
        "PARCEL 2/2",
        "EXPRESS",
        "SIGNATURE",
        "AGE 18+",
        "COD 123.45 EUR",
        "Tel. +358 40 123 4567",
        "Çağrı",
    ] {
        assert!(flat.contains(needle), "{needle:?} missing from:\n{text}");
    }

    let page = render(&pdf, 1, 50);
    // 4 × 6 in at 50 dpi.
    assert_eq!((page.width(), page.height()), (200, 300));
    let share = ink(&page);
    assert!(share > 0.08 && share < 0.7, "ink {share}");
}

#[test]
fn label_without_options_says_standard_and_no_cod() {
    let mut l = label();
    l.options = ServiceOptions::default();
    l.cod_cents = 0;
    l.parcel_count = 1;
    l.weight_g = 0;
    let flat = squash(&pdf_text(&labels_pdf(&[l]).unwrap()));
    assert!(flat.contains("STANDARD"));
    assert!(flat.contains("1 parcel"));
    assert!(!flat.contains("COD") && !flat.contains("EXPRESS") && !flat.contains("PARCEL"));
}

#[test]
fn label_qr_code_and_barcode_scan_back() {
    let l = label();
    let pdf = labels_pdf(std::slice::from_ref(&l)).unwrap();
    let page = render(&pdf, 1, 300).to_luma8();

    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        page.width() as usize,
        page.height() as usize,
        |x, y| page.get_pixel(x as u32, y as u32).0[0],
    );
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "expected one QR code on the label");
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(content, l.qr_payload);

    // The barcode: read one scan line across it and compare the bar/space widths,
    // in modules, with what barcoders encodes for the reference.
    let expected = barcoders::sym::code128::Code128::new(format!("\u{0181}{}", l.reference))
        .unwrap()
        .encode();
    let scan = scan_line(&page, 399.0 / 72.0 * 300.0);
    let module_px = (layout::mm(101.6) - 20.0) / (expected.len() + 20) as f32 * 300.0 / 72.0;
    let mut decoded = Vec::new();
    for (dark, len) in scan {
        let modules = (len as f32 / module_px).round() as usize;
        decoded.extend(std::iter::repeat_n(u8::from(dark), modules));
    }
    assert_eq!(
        decoded, expected,
        "bars do not match Code 128 of the reference"
    );
}

/// Runs of dark/light pixels along row `y`, from the first dark pixel to the last.
fn scan_line(img: &GrayImage, y: f32) -> Vec<(bool, usize)> {
    let y = y.round() as u32;
    let row: Vec<bool> = (0..img.width())
        .map(|x| img.get_pixel(x, y).0[0] < 128)
        .collect();
    let first = row.iter().position(|&d| d).unwrap();
    let last = row.iter().rposition(|&d| d).unwrap();
    let mut runs: Vec<(bool, usize)> = Vec::new();
    for &d in &row[first..=last] {
        match runs.last_mut() {
            Some((rd, n)) if *rd == d => *n += 1,
            _ => runs.push((d, 1)),
        }
    }
    runs
}

#[test]
fn label_input_errors_name_the_field() {
    assert!(matches!(
        labels_pdf(&[]),
        Err(DocError::InvalidField { field, .. }) if field == "labels"
    ));
    let mut bad = label();
    bad.reference = "R-Ä-1".into();
    let err = labels_pdf(&[label(), bad]).unwrap_err();
    assert!(
        matches!(&err, DocError::InvalidField { field, .. } if field == "labels[1].reference"),
        "{err}"
    );
    let mut empty = label();
    empty.qr_payload = " ".into();
    assert!(matches!(
        labels_pdf(&[empty]),
        Err(DocError::InvalidField { field, .. }) if field == "labels[0].qr_payload"
    ));
}

#[test]
fn absurd_text_is_cut_not_fatal() {
    let huge = "Fredrikinkatu ".repeat(80_000); // ~1 MB
    let mut l = label();
    l.recipient.address_lines = vec![huge.clone()];
    l.recipient.name = huge.clone();
    let pdf = labels_pdf(&[l]).unwrap();
    assert!(pdf.len() < 200_000, "{} bytes", pdf.len());
    let text = pdf_text(&pdf);
    assert!(text.contains('…'));
    assert!(text.contains("R-3F2A-0001"));
    // The recipient block keeps to its box: phone and note still print, the QR
    // code below still scans.
    assert!(text.contains("Tel. +358 40 123 4567") && text.contains("Note: Ring twice"));

    let mut inv = invoice(false);
    inv.customer.address_lines = vec![huge.clone()];
    inv.lines[0].description = huge;
    let flat = squash(&pdf_text(&invoice_pdf(&inv).unwrap()));
    assert!(flat.contains("139.90 EUR"), "{flat}");
}

// ---------------------------------------------------------------------------
// Receipt
// ---------------------------------------------------------------------------

fn receipt() -> ReceiptData {
    ReceiptData {
        branding: branding(),
        reference: "R-3F2A-0001".into(),
        delivered_at: format_timestamp(1_741_957_320_000, 120),
        recipient_name: "Łukasz Żółć".into(),
        delivered_to: vec!["Fredrikinkatu 34".into(), "00120 Helsinki".into()],
        courier_name: "Björn Öhman".into(),
        items: vec![
            ReceiptItem {
                description: "Parcel".into(),
                quantity: 2,
            },
            ReceiptItem {
                description: "Flowers for Çağrı".into(),
                quantity: 1,
            },
        ],
        cod_collected_cents: Some(12_345),
        signature_png: Some(png(400, 120, [10, 10, 10, 255])),
        // A camera-sized photo: scaled down before embedding.
        photo: Some(jpeg(2_400, 1_800)),
        proof_id: Some("pod:9c1e0a77".into()),
    }
}

#[test]
fn receipt_shows_delivery_facts_and_images() {
    let data = receipt();
    let pdf = receipt_pdf(&data).unwrap();
    assert!(
        pdf.len() < 400_000,
        "the photo was not scaled down: {} bytes",
        pdf.len()
    );
    let text = pdf_text(&pdf);
    assert_eq!(page_count(&text), 1);
    let flat = squash(&text);
    for needle in [
        "Delivery receipt",
        "Kuriiri Oy",
        "R-3F2A-0001",
        "2025-03-14 15:02 +02:00",
        "Łukasz Żółć",
        "Björn Öhman",
        "Flowers for Çağrı",
        "123.45 EUR",
        "Proof pod:9c1e0a77",
    ] {
        assert!(flat.contains(needle), "{needle:?} missing from:\n{text}");
    }
    let page = render(&pdf, 1, 50);
    let share = ink(&page);
    assert!(share > 0.1, "ink {share}");

    // Without the images there is less ink: they were really drawn.
    let plain = ReceiptData {
        signature_png: None,
        photo: None,
        ..data
    };
    let less = ink(&render(&receipt_pdf(&plain).unwrap(), 1, 50));
    assert!(less + 0.02 < share, "{less} vs {share}");
}

#[test]
fn bad_images_are_rejected_by_field() {
    let mut data = receipt();
    data.branding.logo_png = Some(b"GIF89a not really".to_vec());
    let err = receipt_pdf(&data).unwrap_err();
    assert!(
        matches!(&err, DocError::InvalidImage { field, .. } if field == "branding.logo_png"),
        "{err}"
    );
    assert!(err.to_string().contains("branding.logo_png"));

    let mut data = receipt();
    let mut truncated = png(50, 50, [0, 0, 0, 255]);
    truncated.truncate(60);
    data.signature_png = Some(truncated);
    assert!(matches!(
        receipt_pdf(&data),
        Err(DocError::InvalidImage { field, .. }) if field == "signature_png"
    ));

    let mut inv = invoice(false);
    inv.branding.logo_png = Some(vec![0; 100]);
    assert!(matches!(
        invoice_pdf(&inv),
        Err(DocError::InvalidImage { field, .. }) if field == "branding.logo_png"
    ));
}

// ---------------------------------------------------------------------------
// Invoice
// ---------------------------------------------------------------------------

#[test]
fn invoice_prints_parties_lines_and_totals() {
    let pdf = invoice_pdf(&invoice(false)).unwrap();
    let text = pdf_text(&pdf);
    assert_eq!(page_count(&text), 1);
    let flat = squash(&text);
    for needle in [
        "INVOICE",
        "No. 2025-0042",
        "Kuriiri Oy",
        "VAT ID FI12345678",
        "Łukasz Żółć",
        "VAT ID PL1234567890",
        "R-3F2A-0001",
        "Aleksanterinkatu 52, 00100 Helsinki",
        "5.2 km",
        "2025-03-14 15:02 +02:00",
        "Extra kilometres 3 3.33 25.5% 9.99",
        "COD handling fee 1 1.50 24% 1.50",
        "Net at 24% 1.50 EUR",
        "VAT 24% 0.36 EUR",
        "Net at 25.5% 109.99 EUR",
        "VAT 25.5% 28.05 EUR",
        "Total net 111.49 EUR",
        "Total VAT 28.41 EUR",
        "Total 139.90 EUR",
        "Cash collected on delivery: 42.00 EUR",
        "Page 1 of 1",
    ] {
        assert!(flat.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert!(!flat.contains("PROVISIONAL"));
    let share = ink(&render(&pdf, 1, 50));
    assert!(share > 0.05, "ink {share}");
}

#[test]
fn provisional_invoice_says_so() {
    let flat = squash(&pdf_text(&invoice_pdf(&invoice(true)).unwrap()));
    assert!(flat.contains("PROVISIONAL"), "{flat}");
    assert!(flat.contains("P-DEV7-0003"));
}

#[test]
fn long_invoice_continues_on_more_pages() {
    let mut data = invoice(true);
    let template = data.lines[1].clone();
    data.lines = (0..120)
        .map(|i| InvoiceLine {
            description: format!("Stop {i}: extra kilometres"),
            ..template.clone()
        })
        .collect();
    let text = pdf_text(&invoice_pdf(&data).unwrap());
    let pages = page_count(&text);
    assert!(pages >= 3, "{pages} pages");
    let flat = squash(&text);
    assert!(flat.contains(&format!("Page {pages} of {pages}")));
    assert!(
        flat.contains("Stop 0: extra kilometres") && flat.contains("Stop 119: extra kilometres")
    );
    // Every page after the first carries the number and PROVISIONAL.
    assert_eq!(
        flat.matches("Invoice P-DEV7-0003 (continued)").count(),
        pages - 1
    );
    assert!(flat.matches("PROVISIONAL").count() >= pages);
    // 120 × (9.99 + 2.55)
    assert!(flat.contains("Total 1504.80 EUR"), "{flat}");
}

#[test]
fn documents_are_deterministic() {
    let a = invoice_pdf(&invoice(false)).unwrap();
    let b = invoice_pdf(&invoice(false)).unwrap();
    assert_eq!(a, b);
}

// ---------------------------------------------------------------------------
// Statement
// ---------------------------------------------------------------------------

#[test]
fn statement_paginates_with_repeated_header_and_totals() {
    let data = statement(110);
    let pdf = statement_pdf(&data).unwrap();
    let text = pdf_text(&pdf);
    assert_eq!(page_count(&text), 3, "{text}");
    let flat = squash(&text);
    assert!(flat.contains("Page 3 of 3") && !flat.contains("Page 4"));
    assert_eq!(
        flat.matches("Date Reference Drop-off Status Amount (EUR)")
            .count(),
        3
    );
    for needle in [
        "STATEMENT",
        "Björn Öhman",
        "2025-03-01 – 2025-03-31",
        "R-3F2A-0001",
        "R-3F2A-0110",
        "Failed",
        "Deliveries: 110",
    ] {
        assert!(flat.contains(needle), "{needle:?} missing");
    }
    // Every row exactly once.
    for i in 1..=110 {
        assert_eq!(
            flat.matches(&format!("R-3F2A-{i:04} ")).count(),
            1,
            "row {i}"
        );
    }
    let total: i64 = (0..110).map(|i| 1_000 + i).sum();
    assert!(flat.contains(&format!("Total {}", format_money(total, "EUR"))));
    let share = ink(&render(&pdf, 1, 50));
    assert!(share > 0.05, "ink {share}");
}

#[test]
fn empty_statement_is_a_clear_one_page_pdf() {
    let pdf = statement_pdf(&statement(0)).unwrap();
    let text = pdf_text(&pdf);
    assert_eq!(page_count(&text), 1);
    let flat = squash(&text);
    assert!(flat.contains("No deliveries in this period"));
    assert!(flat.contains("Total 0.00 EUR") && flat.contains("Page 1 of 1"));
}

#[test]
fn statement_csv_round_trips_and_neutralises_formulas() {
    let mut data = statement(25);
    data.rows[3].reference = "=HYPERLINK(\"http://evil\")".into();
    data.rows[4].dropoff = "Street 1, \"B\"\nsecond line".into();
    data.rows[5].status = "@SUM(A1)".into();
    data.rows[6].amount_cents = -550;
    let csv_text = statement_csv(&data);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "date",
            "reference",
            "drop_off",
            "status",
            "amount",
            "currency"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), data.rows.len());
    assert_eq!(&records[3][1], "'=HYPERLINK(\"http://evil\")");
    assert_eq!(&records[4][2], "Street 1, \"B\"\nsecond line");
    assert_eq!(&records[5][3], "'@SUM(A1)");
    assert_eq!(&records[6][4], "-5.50");
    assert_eq!(&records[0][1], "R-3F2A-0001");
    assert_eq!(&records[0][4], "10.00");
    assert_eq!(&records[0][5], "EUR");
    assert!(records.iter().all(|r| {
        !r.iter()
            .take(4)
            .any(|c| c.starts_with(['=', '+', '-', '@']))
    }));
    assert_eq!(statement_csv(&statement(0)).lines().count(), 1);
}

#[test]
fn party_from_stop_skips_empty_parts() {
    use ruta_domain::order::{Address, Contact, Stop};
    let stop = Stop {
        address: Address {
            line1: "Fredrikinkatu 34".into(),
            postcode: "00120".into(),
            city: "Helsinki".into(),
            ..Default::default()
        },
        contact: Contact {
            name: "Łukasz Żółć".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let p = Party::from_stop(&stop);
    assert_eq!(p.name, "Łukasz Żółć");
    assert_eq!(p.address_lines, ["Fredrikinkatu 34", "00120 Helsinki"]);
    assert_eq!(p.phone, None);
}

// ---------------------------------------------------------------------------
// Run sheet
// ---------------------------------------------------------------------------

const CONTACTS: [&str; 5] = [
    "Aino Virtanen",
    "Łukasz Żółć",
    "Çağrı Yılmaz",
    "Björn Öhman",
    "Mikko Nieminen",
];

fn stop(i: usize) -> RunSheetStop {
    let pickup = i.is_multiple_of(3);
    RunSheetStop {
        seq: i as u32 + 1,
        kind: if pickup {
            RunSheetStopKind::Pickup
        } else {
            RunSheetStopKind::Dropoff
        },
        order_ref: format!("R-7F3A-{:04}", i + 1),
        party: party(
            CONTACTS[i % CONTACTS.len()],
            &format!("Fredrikinkatu {} B {}", i + 1, i % 9 + 1),
        ),
        window: Some(format!("{:02}:00–{:02}:00", 8 + i % 10, 10 + i % 10)),
        planned: Some(format!("{:02}:{:02}", 8 + i % 10, (i * 7) % 60)),
        packages: layout_packages(i),
        cod_cents: (!pickup).then_some(1_000 + 137 * i as i64),
        notes: match i % 4 {
            0 => String::new(),
            1 => "Ring twice".into(),
            2 => "Door code 4711, second floor on the left, the bell says Virtanen; \
                  leave with the neighbour if nobody answers"
                .into(),
            _ => "Fragile".into(),
        },
        qr_payload: format!("RUTA1:{:08x}-7f3a-4c1e-9b2d-{:012x}", i, i * 7_919),
        done: i == 0,
    }
}

fn layout_packages(i: usize) -> String {
    label::packages_text(i as u32 % 3 + 1, 1_200 + 350 * i as u32)
}

fn run_sheet(stops: usize) -> RunSheetData {
    RunSheetData {
        branding: branding(),
        trip_ref: "TRIP-7F3A".into(),
        trip_name: "Helsinki centre, morning".into(),
        courier: "Björn Öhman".into(),
        vehicle: Some("Van ABC-123".into()),
        date: "2025-03-14".into(),
        status: "Planned".into(),
        printed_at: "2025-03-14 07:55 +02:00".into(),
        stops: (0..stops).map(stop).collect(),
    }
}

/// The text of page `k` (0-based) of a `pdftotext` output.
fn page_text(text: &str, k: usize) -> &str {
    text.split('\u{c}').nth(k).unwrap_or("")
}

#[test]
fn run_sheet_lists_stops_in_sequence_order() {
    let mut data = run_sheet(5);
    // Given out of order: printed by seq.
    data.stops.reverse();
    let pdf = run_sheet_pdf(&data).unwrap();
    let text = pdf_text(&pdf);
    assert_eq!(page_count(&text), 1, "{text}");
    let mut stops = data.stops.clone();
    stops.sort_by_key(|s| s.seq);
    let starts: Vec<usize> = stops
        .iter()
        .map(|s| {
            text.find(&s.order_ref)
                .unwrap_or_else(|| panic!("{} missing:\n{text}", s.order_ref))
        })
        .collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}\n{text}");
    for (k, s) in stops.iter().enumerate() {
        // Each stop's facts sit between its reference and the next stop's.
        let end = starts.get(k + 1).copied().unwrap_or(text.len());
        let block = &text[starts[k]..end];
        let mut needles = vec![
            s.party.name.clone(),
            s.window.clone().unwrap(),
            s.planned.clone().unwrap(),
            s.party.address_lines[0].clone(),
            s.packages.clone(),
        ];
        match s.cod_cents {
            Some(c) => needles.push(format_money(c, "EUR")),
            None => assert!(squash(block).contains("COD none"), "{block}"),
        }
        for needle in needles {
            assert!(
                block.contains(&needle),
                "{needle:?} not in the block of stop {}:\n{block}",
                s.seq
            );
        }
        let kind = match s.kind {
            RunSheetStopKind::Pickup => "PICKUP",
            RunSheetStopKind::Dropoff => "DROP-OFF",
        };
        assert!(
            squash(&text).contains(&format!("{} {kind} {}", s.seq, s.order_ref)),
            "{text}"
        );
    }
    let flat = squash(&text);
    for needle in [
        "RUN SHEET",
        "TRIP-7F3A",
        "Helsinki centre, morning",
        "Courier Björn Öhman",
        "Vehicle Van ABC-123",
        "Date 2025-03-14",
        "Status Planned",
        "Printed 2025-03-14 07:55 +02:00",
        "Note: Ring twice",
        "Tel. +358 40 123 4567",
        "DONE ✔",
        "Page 1 of 1",
    ] {
        assert!(flat.contains(needle), "{needle:?} missing from:\n{text}");
    }
    // Stop 1 is done, the others are not.
    assert_eq!(flat.matches("DONE").count(), 1);
    assert_eq!(flat.matches("Done").count(), 4);
    let cod: i64 = stops.iter().filter_map(|s| s.cod_cents).sum();
    assert!(
        flat.contains(&format!(
            "Stops: 5 (2 pickups, 3 drop-offs) COD to collect {}",
            format_money(cod, "EUR")
        )),
        "{flat}"
    );
}

#[test]
fn run_sheet_stop_qr_codes_scan_back() {
    let data = run_sheet(12);
    let pdf = run_sheet_pdf(&data).unwrap();
    let text = pdf_text(&pdf);
    let first = page_text(&text, 0);
    let on_page: Vec<&RunSheetStop> = data
        .stops
        .iter()
        .filter(|s| first.contains(&s.order_ref))
        .collect();
    assert!(on_page.len() >= 4, "{} stops on page 1", on_page.len());

    let page = render(&pdf, 1, 300).to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        page.width() as usize,
        page.height() as usize,
        |x, y| page.get_pixel(x as u32, y as u32).0[0],
    );
    let mut grids = prepared.detect_grids();
    // Top to bottom, as the stops are.
    grids.sort_by_key(|g| g.bounds[0].y);
    let decoded: Vec<String> = grids.iter().map(|g| g.decode().unwrap().1).collect();
    let expected: Vec<&str> = on_page.iter().map(|s| s.qr_payload.as_str()).collect();
    assert_eq!(decoded, expected);
}

#[test]
fn long_run_sheet_paginates_with_every_stop_once() {
    let data = run_sheet(60);
    let pdf = run_sheet_pdf(&data).unwrap();
    let text = pdf_text(&pdf);
    let pages = page_count(&text);
    assert!(pages >= 6, "{pages} pages");
    let flat = squash(&text);
    for k in 1..=pages {
        assert!(flat.contains(&format!("Page {k} of {pages}")), "page {k}");
    }
    assert!(!flat.contains(&format!("Page {} of", pages + 1)));
    assert_eq!(
        flat.matches(
            "Run sheet TRIP-7F3A · Helsinki centre, morning · Björn Öhman · 2025-03-14 (continued)"
        )
        .count(),
        pages - 1
    );
    for s in &data.stops {
        assert_eq!(
            flat.matches(&format!("{} ", s.order_ref)).count(),
            1,
            "{}",
            s.order_ref
        );
    }
    // Every page but the last is full: its next stop would not have fit.
    let per_page: Vec<usize> = (0..pages)
        .map(|k| {
            let t = page_text(&text, k);
            data.stops
                .iter()
                .filter(|s| t.contains(&s.order_ref))
                .count()
        })
        .collect();
    assert_eq!(per_page.iter().sum::<usize>(), 60, "{per_page:?}");
    assert!(
        per_page[1..pages - 1].iter().all(|&n| n >= 6),
        "{per_page:?}"
    );
    let cod: i64 = data.stops.iter().filter_map(|s| s.cod_cents).sum();
    assert!(flat.contains(&format!(
        "Stops: 60 (20 pickups, 40 drop-offs) COD to collect {}",
        format_money(cod, "EUR")
    )));
}

#[test]
fn run_sheet_prints_names_as_written_and_cuts_absurd_text() {
    let mut data = run_sheet(3);
    data.stops[1].notes = "Leave at the door ".repeat(60_000);
    data.stops[1].party.address_lines = vec!["Fredrikinkatu ".repeat(80_000)];
    let pdf = run_sheet_pdf(&data).unwrap();
    assert!(pdf.len() < 200_000, "{} bytes", pdf.len());
    let text = pdf_text(&pdf);
    assert_eq!(page_count(&text), 1);
    let flat = squash(&text);
    assert!(flat.contains("Courier Björn Öhman"), "{flat}");
    assert!(flat.contains("Łukasz Żółć") && flat.contains("Çağrı Yılmaz"));
    assert!(flat.contains('…'));
    assert!(flat.contains("R-7F3A-0003"));
}

#[test]
fn empty_run_sheet_says_no_stops() {
    let pdf = run_sheet_pdf(&run_sheet(0)).unwrap();
    let text = pdf_text(&pdf);
    assert_eq!(page_count(&text), 1);
    let flat = squash(&text);
    assert!(flat.contains("No stops on this trip"), "{flat}");
    assert!(flat.contains("Stops: 0 (0 pickups, 0 drop-offs) COD to collect 0.00 EUR"));
    assert!(flat.contains("Page 1 of 1"));
}

#[test]
fn run_sheet_input_errors_name_the_stop() {
    let mut data = run_sheet(4);
    data.stops[2].qr_payload = "  ".into();
    assert!(matches!(
        run_sheet_pdf(&data),
        Err(DocError::InvalidField { field, .. }) if field == "stops[2].qr_payload"
    ));
    data.stops[2].qr_payload = "x".repeat(run_sheet::MAX_STOP_QR_BYTES + 1);
    assert!(matches!(
        run_sheet_pdf(&data),
        Err(DocError::InvalidField { field, .. }) if field == "stops[2].qr_payload"
    ));
    let mut data = run_sheet(2);
    data.stops[0].cod_cents = Some(i64::MAX);
    data.stops[1].cod_cents = Some(1);
    assert!(matches!(
        run_sheet_pdf(&data),
        Err(DocError::InvalidField { field, .. }) if field == "stops"
    ));
}

// ---------------------------------------------------------------------------
// Waybill
// ---------------------------------------------------------------------------

fn waybill(orders: usize) -> WaybillData {
    WaybillData {
        branding: branding(),
        number: "WB-2025-000417".into(),
        origin: party("Kuriiri Oy, Vantaa hub", "Tikkurilantie 10"),
        destination: party("Björn Öhman Logistics", "Satamakatu 4"),
        carrier: "Linehaul Nord AB".into(),
        seal: Some("SEAL-88123".into()),
        reference: Some("PO-5521".into()),
        date: "2025-03-14".into(),
        orders: (0..orders)
            .map(|i| WaybillLine {
                order_ref: format!("R-WB17-{:04}", i + 1),
                recipient: CONTACTS[i % CONTACTS.len()].into(),
                city: ["Helsinki", "Espoo", "Vantaa", "Tampere"][i % 4].into(),
                parcels: i as u32 % 4 + 1,
                weight_g: 450 + 1_237 * i as u32,
                cod_cents: (i % 3 == 1).then_some(2_500 + 99 * i as i64),
            })
            .collect(),
    }
}

#[test]
fn waybill_prints_number_barcode_parties_and_totals() {
    let data = waybill(6);
    let pdf = waybill_pdf(&data).unwrap();
    let text = pdf_text(&pdf);
    assert_eq!(page_count(&text), 1, "{text}");
    let flat = squash(&text);
    for needle in [
        "WAYBILL",
        "No. WB-2025-000417",
        "Kuriiri Oy, Vantaa hub",
        "Tikkurilantie 10",
        "Björn Öhman Logistics",
        "Satamakatu 4",
        "Carrier Linehaul Nord AB",
        "Seal SEAL-88123",
        "Reference PO-5521",
        "Date 2025-03-14",
        "# Order Recipient City Parcels Weight COD (EUR)",
        "1 R-WB17-0001 Aino Virtanen Helsinki 1 0.5 kg",
        "2 R-WB17-0002 Łukasz Żółć Espoo 2 1.7 kg 25.99",
        "Handed over by",
        "Received by",
        "Signature",
        "Date and time",
        "Page 1 of 1",
    ] {
        assert!(flat.contains(needle), "{needle:?} missing from:\n{text}");
    }
    // The number under the barcode, besides the band's "No. …".
    assert_eq!(flat.matches("WB-2025-000417").count(), 3, "{flat}");

    // The barcode: one scan line across its box, bar and space widths in modules,
    // compared with what barcoders encodes for the number.
    let expected = barcoders::sym::code128::Code128::new(format!("\u{0181}{}", data.number))
        .unwrap()
        .encode();
    let page = render(&pdf, 1, 300).to_luma8();
    let px = |pt: f32| (pt * 300.0 / 72.0).round() as u32;
    let [x, y, w, h] = waybill::BARCODE;
    let boxed = image::imageops::crop_imm(&page, px(x), px(y), px(w), px(h)).to_image();
    let module_px = w / (expected.len() + 20) as f32 * 300.0 / 72.0;
    let mut decoded = Vec::new();
    for (dark, len) in scan_line(&boxed, px(h / 2.0) as f32) {
        let modules = (len as f32 / module_px).round() as usize;
        decoded.extend(std::iter::repeat_n(u8::from(dark), modules));
    }
    assert_eq!(
        decoded, expected,
        "bars do not match Code 128 of the number"
    );
}

#[test]
fn long_waybill_manifest_paginates_with_right_totals() {
    let data = waybill(120);
    let pdf = waybill_pdf(&data).unwrap();
    let text = pdf_text(&pdf);
    let pages = page_count(&text);
    assert!(pages >= 3, "{pages} pages");
    let flat = squash(&text);
    assert!(flat.contains(&format!("Page {pages} of {pages}")));
    // The header row heads every page with rows (the totals and signatures may
    // have a page of their own).
    let with_rows = (0..pages)
        .filter(|&k| page_text(&text, k).contains("R-WB17-"))
        .count();
    assert!(with_rows >= pages - 1);
    assert_eq!(
        flat.matches("# Order Recipient City Parcels Weight COD (EUR)")
            .count(),
        with_rows
    );
    for (i, o) in data.orders.iter().enumerate() {
        let row = format!("{} {} {}", i + 1, o.order_ref, o.recipient);
        assert_eq!(flat.matches(&row).count(), 1, "{row}");
    }
    // Totals, worked out here from the inputs.
    let parcels: u32 = (0..120).map(|i| i % 4 + 1).sum();
    let grams: u32 = (0..120).map(|i| 450 + 1_237 * i).sum();
    let cod: i64 = (0..120)
        .filter(|i| i % 3 == 1)
        .map(|i| 2_500 + 99 * i)
        .sum();
    let tenths = (grams + 50) / 100;
    let kg = format!("{}.{} kg", tenths / 10, tenths % 10);
    // 120 × 450 g + 1237 g × (0 + 1 + … + 119) = 8 886 180 g.
    assert_eq!(kg, "8886.2 kg");
    for needle in [
        "Orders 120".to_string(),
        format!("Parcels {parcels}"),
        format!("Weight {kg}"),
        format!("COD to collect {}", format_money(cod, "EUR")),
    ] {
        assert!(flat.contains(&needle), "{needle:?} missing from:\n{flat}");
    }
    let t = waybill_totals(&data.orders).unwrap();
    assert_eq!(
        (t.orders, t.parcels, t.weight_g, t.cod_cents),
        (120, u64::from(parcels), u64::from(grams), cod)
    );
    // The signature blocks close the last page.
    let last = squash(page_text(&text, pages - 1));
    assert!(last.contains("Handed over by") && last.contains("Received by"));
}

#[test]
fn empty_waybill_still_prints() {
    let flat = squash(&pdf_text(&waybill_pdf(&waybill(0)).unwrap()));
    assert!(flat.contains("No orders on this waybill"), "{flat}");
    assert!(flat.contains("Orders 0") && flat.contains("COD to collect 0.00 EUR"));
}

#[test]
fn waybill_number_code_128_cannot_hold_is_refused() {
    for bad in ["WB-Å-1", "", "   ", &"9".repeat(40), "WB\u{7}1"] {
        let mut data = waybill(2);
        data.number = bad.into();
        let err = waybill_pdf(&data).unwrap_err();
        assert!(
            matches!(&err, DocError::InvalidField { field, .. } if field == "number"),
            "{bad:?}: {err}"
        );
        assert!(err.to_string().starts_with("number: "));
    }
}

//! Invoices: A4, in the tenant's branding ([`invoice_pdf`]), with the arithmetic
//! exposed separately ([`invoice_totals`]) so callers and tests can check figures
//! without reading a PDF.
//!
//! # Money and VAT
//! Amounts are `i64` minor units (cents); products are taken in `i128` and an
//! amount that does not fit `i64` is an error, never a wrap. VAT rates are basis
//! points (2550 = 25.5 %), as in [`ruta_domain::pricing::Tariff::vat_bp`].
//!
//! Each line's amount is `quantity × unit price`. VAT is computed **per line** and
//! rounded to the cent **half up** (halves away from zero, so credits mirror debits):
//! - prices excluding VAT (`prices_include_vat = false`):
//!   `vat = round(net × rate / 10000)`, `gross = net + vat`;
//! - prices including VAT (`prices_include_vat = true`, which is what Ruta's tariff
//!   produces): `vat = round(gross × rate / (10000 + rate))`, `net = gross − vat`.
//!
//! Totals per rate, and the invoice totals, are sums of the rounded lines, so every
//! printed figure adds up exactly. (The tariff's `Price::vat_cents` rounds once on
//! the total instead, so with several lines it can differ from the invoice's VAT by
//! a cent or so; the invoice is the document of record.)
//!
//! # Provisional numbers
//! A device offline issues provisional numbers (e.g. `P-DEV7-0003`); with
//! `provisional: true` the invoice says PROVISIONAL in a framed notice under the
//! header and in the band of every continuation page.

use serde::{Deserialize, Serialize};

use super::layout::{self, A4, Face, GREY, LIGHT, PageOps, Style};
use super::{Branding, DocError, Party};

/// One invoiced line: a tariff component, a service option, a fee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub description: String,
    pub quantity: u32,
    /// Per unit, minor units; net or gross according to
    /// [`InvoiceData::prices_include_vat`]. Negative for discounts.
    pub unit_price_cents: i64,
    /// VAT rate in basis points: 2550 = 25.5 %, 0 = exempt. At most 10000.
    pub vat_rate_bp: u32,
}

/// The delivery an invoice is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct InvoiceOrder {
    pub reference: String,
    /// Pickup address on one line.
    pub pickup: String,
    /// Drop-off address on one line.
    pub dropoff: String,
    /// Route distance in metres, printed as km with one decimal.
    #[serde(default)]
    pub distance_m: Option<u32>,
    /// Already formatted (see [`super::format_timestamp`]).
    #[serde(default)]
    pub delivered_at: Option<String>,
}

/// What an invoice shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceData {
    pub branding: Branding,
    /// Invoice number, final or provisional.
    pub number: String,
    /// The number is provisional (issued offline, to be confirmed): the PDF says so.
    #[serde(default)]
    pub provisional: bool,
    /// Already formatted, e.g. "2025-03-14".
    pub issue_date: String,
    #[serde(default)]
    pub due_date: Option<String>,
    pub customer: Party,
    #[serde(default)]
    pub customer_vat_id: Option<String>,
    #[serde(default)]
    pub order: Option<InvoiceOrder>,
    pub lines: Vec<InvoiceLine>,
    /// Unit prices include VAT (Ruta's tariff prices do) rather than exclude it.
    #[serde(default)]
    pub prices_include_vat: bool,
    /// Cash collected from the recipient on delivery, shown for information only;
    /// it is the client's money, not part of the invoice total.
    #[serde(default)]
    pub cod_collected_cents: Option<i64>,
    /// The recipient's signature, PNG or JPEG.
    #[serde(default)]
    pub signature_png: Option<Vec<u8>>,
    /// Payment terms, bank details and the like; wrapped, at most 6 lines.
    #[serde(default)]
    pub notes: String,
}

/// One line's amounts after VAT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAmounts {
    pub net_cents: i64,
    pub vat_cents: i64,
    pub gross_cents: i64,
}

/// Sums for one VAT rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateTotal {
    pub vat_rate_bp: u32,
    pub net_cents: i64,
    pub vat_cents: i64,
    pub gross_cents: i64,
}

/// Every figure an invoice prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceTotals {
    /// In the order of [`InvoiceData::lines`].
    pub lines: Vec<LineAmounts>,
    /// Ascending by rate.
    pub by_rate: Vec<RateTotal>,
    pub net_cents: i64,
    pub vat_cents: i64,
    pub gross_cents: i64,
}

fn to_i64(v: i128, field: &str) -> Result<i64, DocError> {
    i64::try_from(v).map_err(|_| DocError::field(field, "amount out of range"))
}

/// One line's net, VAT and gross (see the module docs for the rounding rule).
pub fn line_amounts(
    line: &InvoiceLine,
    prices_include_vat: bool,
    field: &str,
) -> Result<LineAmounts, DocError> {
    if line.vat_rate_bp > 10_000 {
        return Err(DocError::field(
            field,
            format!("VAT rate {} bp is over 100 %", line.vat_rate_bp),
        ));
    }
    let amount = i128::from(line.quantity) * i128::from(line.unit_price_cents);
    let bp = i128::from(line.vat_rate_bp);
    let (net, vat) = if prices_include_vat {
        let vat = layout::div_round_half_away(amount * bp, 10_000 + bp);
        (amount - vat, vat)
    } else {
        (amount, layout::div_round_half_away(amount * bp, 10_000))
    };
    Ok(LineAmounts {
        net_cents: to_i64(net, field)?,
        vat_cents: to_i64(vat, field)?,
        gross_cents: to_i64(net + vat, field)?,
    })
}

/// All the invoice's figures, in integers.
pub fn invoice_totals(data: &InvoiceData) -> Result<InvoiceTotals, DocError> {
    let mut lines = Vec::with_capacity(data.lines.len());
    let mut by_rate: Vec<RateTotal> = Vec::new();
    let (mut net, mut vat, mut gross) = (0i128, 0i128, 0i128);
    for (i, line) in data.lines.iter().enumerate() {
        let field = format!("lines[{i}]");
        let a = line_amounts(line, data.prices_include_vat, &field)?;
        lines.push(a);
        net += i128::from(a.net_cents);
        vat += i128::from(a.vat_cents);
        gross += i128::from(a.gross_cents);
        let pos = match by_rate.binary_search_by_key(&line.vat_rate_bp, |r| r.vat_rate_bp) {
            Ok(pos) => pos,
            Err(pos) => {
                by_rate.insert(
                    pos,
                    RateTotal {
                        vat_rate_bp: line.vat_rate_bp,
                        net_cents: 0,
                        vat_cents: 0,
                        gross_cents: 0,
                    },
                );
                pos
            }
        };
        let r = &mut by_rate[pos];
        let sum = |acc: i64, v: i64| {
            acc.checked_add(v)
                .ok_or_else(|| DocError::field("lines", "totals out of range"))
        };
        r.net_cents = sum(r.net_cents, a.net_cents)?;
        r.vat_cents = sum(r.vat_cents, a.vat_cents)?;
        r.gross_cents = sum(r.gross_cents, a.gross_cents)?;
    }
    Ok(InvoiceTotals {
        lines,
        by_rate,
        net_cents: to_i64(net, "lines")?,
        vat_cents: to_i64(vat, "lines")?,
        gross_cents: to_i64(gross, "lines")?,
    })
}

const M: f32 = 42.0;
const RIGHT: f32 = A4.0 - M;
const INNER: f32 = RIGHT - M;
/// Lowest baseline for content; the footer lives below.
const BOTTOM: f32 = A4.1 - 64.0;
const ROW: f32 = 14.0;
const PROVISIONAL_RED: [u8; 3] = [178, 24, 24];

// Table columns: description from M, then right edges.
const COL_DESC_W: f32 = 250.0;
const COL_QTY: f32 = M + 300.0;
const COL_UNIT: f32 = M + 375.0;
const COL_VAT: f32 = M + 425.0;

/// The invoice as an A4 PDF, as many pages as the lines need.
///
/// Fails on an unreadable logo or signature, a VAT rate over 100 % or amounts
/// beyond `i64`; the error names the field.
pub fn invoice_pdf(data: &InvoiceData) -> Result<Vec<u8>, DocError> {
    let fonts = layout::fonts()?;
    let totals = invoice_totals(data)?;
    let logo = layout::optional_image(data.branding.logo_png.as_deref(), "branding.logo_png", 800)?;
    let signature = layout::optional_image(data.signature_png.as_deref(), "signature_png", 1200)?;

    let clean = layout::clean;
    let b = &data.branding;
    let number = clean(&data.number);
    let currency = clean(&b.currency);
    let label = Style::new(Face::Serif, 9.0).colour(GREY);
    let body = Style::new(Face::Serif, 10.0);
    let strong = Style::new(Face::SerifBold, 11.0);

    let mut pages = vec![PageOps::new(fonts, A4)];
    let mut p = pages.last_mut().expect("one page");

    // Band: logo, company, INVOICE and the number.
    let band = b.primary_colour;
    let on_band = layout::on_colour(band);
    p.rect(0.0, 0.0, A4.0, 92.0, band);
    let mut name_x = M;
    if let Some(logo) = &logo {
        let (lw, _) = p.image_fit(logo, M, 18.0, 150.0, 56.0);
        name_x += lw + 14.0;
    }
    p.text_right(
        RIGHT,
        50.0,
        Style::new(Face::SerifBold, 24.0).colour(on_band),
        "INVOICE",
    );
    p.text_right(
        RIGHT,
        72.0,
        Style::new(Face::Mono, 10.0).colour(on_band),
        &format!("No. {number}"),
    );
    p.text_fit(
        name_x,
        52.0,
        Style::new(Face::SerifBold, 20.0).colour(on_band),
        &clean(&b.company_name),
        RIGHT - 150.0 - name_x,
    );
    let mut y = 100.0;

    if data.provisional {
        p.frame(M, y, INNER, 30.0, 1.5, PROVISIONAL_RED);
        let badge = Style::new(Face::MonoBold, 14.0).colour(PROVISIONAL_RED);
        let bw = p.text(M + 10.0, y + 20.0, badge, "PROVISIONAL");
        p.text_fit(
            M + 20.0 + bw,
            y + 19.0,
            Style::new(Face::Serif, 9.5).colour(PROVISIONAL_RED),
            "Provisional number issued offline; the final invoice number follows.",
            INNER - 30.0 - bw,
        );
        y += 42.0;
    }

    // Seller (left) and invoice facts (right).
    y += 14.0;
    let top = y;
    let half = INNER / 2.0 - 10.0;
    p.text_fit(M, y, strong, &clean(&b.company_name), half);
    y += 14.0;
    for line in b.address_lines.iter().take(4) {
        p.text_fit(M, y, body, &clean(line), half);
        y += 12.5;
    }
    if let Some(vat) = &b.vat_id {
        p.text_fit(M, y, body, &format!("VAT ID {}", clean(vat)), half);
        y += 12.5;
    }
    let left_end = y;

    let fx = M + INNER / 2.0 + 10.0;
    let mut fy = top;
    let mut fact = |p: &mut PageOps, k: &str, v: &str, mono: bool| {
        p.text(fx, fy, label, k);
        let style = if mono {
            Style::new(Face::Mono, 9.5)
        } else {
            body
        };
        let v = p.fonts.fit(style.face, style.size, v, RIGHT - fx - 80.0);
        p.text_right(RIGHT, fy, style, &v);
        fy += 14.0;
    };
    fact(p, "Invoice number", &number, true);
    fact(p, "Issue date", &clean(&data.issue_date), false);
    if let Some(due) = &data.due_date {
        fact(p, "Due date", &clean(due), false);
    }
    if let Some(order) = &data.order {
        fact(p, "Order reference", &clean(&order.reference), true);
    }
    y = left_end.max(fy) + 14.0;

    // Customer.
    p.text(M, y, label, "Bill to");
    y += 14.0;
    p.text_fit(M, y, strong, &clean(&data.customer.name), INNER);
    y += 14.0;
    for line in data.customer.address_lines.iter().take(4) {
        p.text_fit(M, y, body, &clean(line), INNER);
        y += 12.5;
    }
    if let Some(vat) = &data.customer_vat_id {
        p.text_fit(M, y, body, &format!("VAT ID {}", clean(vat)), INNER);
        y += 12.5;
    }
    y += 12.0;

    // The delivery.
    if let Some(order) = &data.order {
        p.text(M, y, Style::new(Face::SerifBold, 11.0), "Delivery");
        y += 15.0;
        let kx = M + 90.0;
        let kw = RIGHT - kx;
        let row = |p: &mut PageOps, y: &mut f32, k: &str, v: &str| {
            p.text(M, *y, label, k);
            *y = p.paragraph(kx, *y, body, v, kw, 2, 12.5);
        };
        row(p, &mut y, "Reference", &clean(&order.reference));
        row(p, &mut y, "Pickup", &clean(&order.pickup));
        row(p, &mut y, "Drop-off", &clean(&order.dropoff));
        if let Some(d) = order.distance_m {
            row(p, &mut y, "Distance", &layout::format_km(d));
        }
        if let Some(at) = &order.delivered_at {
            row(p, &mut y, "Delivered at", &clean(at));
        }
        y += 10.0;
    }

    // Lines.
    y += 4.0;
    y = table_header(p, y, b, &currency, data.prices_include_vat);
    for (line, amounts) in data.lines.iter().zip(&totals.lines) {
        let desc = fonts.wrap(Face::Serif, 10.0, &clean(&line.description), COL_DESC_W, 3);
        let height = ROW * desc.len().max(1) as f32;
        if y + height - ROW > BOTTOM {
            p = continuation(&mut pages, fonts, data, &number);
            y = table_header(p, 74.0, b, &currency, data.prices_include_vat);
        }
        let shown = if data.prices_include_vat {
            amounts.gross_cents
        } else {
            amounts.net_cents
        };
        p.text_right(COL_QTY, y, body, &line.quantity.to_string());
        p.text_right(
            COL_UNIT,
            y,
            body,
            &layout::format_amount(line.unit_price_cents),
        );
        p.text_right(COL_VAT, y, body, &layout::format_rate(line.vat_rate_bp));
        p.text_right(RIGHT - 4.0, y, body, &layout::format_amount(shown));
        for d in &desc {
            p.text(M + 4.0, y, body, d);
            y += ROW;
        }
        if desc.is_empty() {
            y += ROW;
        }
        p.hline(M, RIGHT, y - ROW + 4.0, 0.4, LIGHT);
    }
    if data.lines.is_empty() {
        p.text(M + 4.0, y, label, "No lines");
        y += ROW;
    }
    y += 6.0;
    p.text(
        M,
        y,
        Style::new(Face::Serif, 8.0).colour(GREY),
        if data.prices_include_vat {
            "Unit prices and amounts include VAT."
        } else {
            "Unit prices and amounts exclude VAT."
        },
    );
    y += 18.0;

    // Totals (right) with the signature (left) beside them.
    let total_rows = totals.by_rate.len() * 2 + 3;
    let needed = total_rows as f32 * ROW + 30.0 + if signature.is_some() { 20.0 } else { 0.0 };
    if y + needed > BOTTOM {
        p = continuation(&mut pages, fonts, data, &number);
        y = 80.0;
    }
    let tx = M + INNER / 2.0 + 10.0;
    let block_top = y;
    let money = |c: i64| layout::format_money(c, &currency);
    let total_row = |p: &mut PageOps, y: &mut f32, k: &str, v: &str, style: Style| {
        p.text(tx, *y, style, k);
        p.text_right(RIGHT - 4.0, *y, style, v);
        *y += ROW;
    };
    for r in &totals.by_rate {
        let rate = layout::format_rate(r.vat_rate_bp);
        total_row(
            p,
            &mut y,
            &format!("Net at {rate}"),
            &money(r.net_cents),
            body,
        );
        total_row(p, &mut y, &format!("VAT {rate}"), &money(r.vat_cents), body);
    }
    p.hline(tx, RIGHT, y - ROW + 5.0, 0.6, GREY);
    y += 2.0;
    total_row(p, &mut y, "Total net", &money(totals.net_cents), body);
    total_row(p, &mut y, "Total VAT", &money(totals.vat_cents), body);
    let on_accent = layout::on_colour(b.accent_colour);
    p.rect(tx, y - 13.0, RIGHT - tx, 19.0, b.accent_colour);
    total_row(
        p,
        &mut y,
        "  Total",
        &money(totals.gross_cents),
        Style::new(Face::SerifBold, 12.0).colour(on_accent),
    );
    let totals_end = y;

    if let Some(sig) = &signature {
        p.text(M, block_top, label, "Received by");
        p.frame(M, block_top + 6.0, 200.0, 70.0, 0.6, LIGHT);
        p.image_fit(sig, M + 4.0, block_top + 10.0, 192.0, 62.0);
        y = y.max(block_top + 90.0);
    }
    y = y.max(totals_end) + 10.0;

    // Cash on delivery, notes, the rounding rule.
    let mut tail: Vec<(String, Style, usize)> = Vec::new();
    if let Some(cod) = data.cod_collected_cents {
        tail.push((
            format!(
                "Cash collected on delivery: {} (for information; not part of this invoice's total).",
                money(cod)
            ),
            body,
            2,
        ));
    }
    let notes = clean(&data.notes);
    if !notes.is_empty() {
        tail.push((notes, body, 6));
    }
    tail.push((
        "VAT is computed per line and rounded to the cent, halves rounded up (away from zero); \
         totals are sums of the rounded lines."
            .to_string(),
        Style::new(Face::Serif, 8.0).colour(GREY),
        2,
    ));
    for (text, style, max_lines) in tail {
        let lines = fonts.wrap(style.face, style.size, &text, INNER, max_lines);
        if y + lines.len() as f32 * 12.5 > BOTTOM + 12.0 {
            p = continuation(&mut pages, fonts, data, &number);
            y = 80.0;
        }
        for line in lines {
            p.text(M, y, style, &line);
            y += 12.5;
        }
        y += 6.0;
    }

    // Footers.
    let n = pages.len();
    let mut foot = vec![clean(&b.company_name)];
    foot.extend(b.address_lines.iter().map(|l| clean(l)));
    if let Some(vat) = &b.vat_id {
        foot.push(format!("VAT ID {}", clean(vat)));
    }
    foot.retain(|s| !s.is_empty());
    let foot = foot.join(" · ");
    let small = Style::new(Face::Serif, 8.0).colour(GREY);
    for (k, page) in pages.iter_mut().enumerate() {
        let fy = A4.1 - 34.0;
        page.hline(M, RIGHT, fy - 12.0, 0.5, LIGHT);
        let pn = format!("Page {} of {n}", k + 1);
        let pw = fonts.width(small.face, small.size, &pn);
        page.text_right(RIGHT, fy, small, &pn);
        page.text_fit(M, fy, small, &foot, INNER - pw - 20.0);
    }

    let title = if data.provisional {
        format!("Invoice {number} (provisional)")
    } else {
        format!("Invoice {number}")
    };
    layout::render(&pages, &title)
}

/// The lines table's header row; returns the first row's baseline.
fn table_header(p: &mut PageOps, y: f32, b: &Branding, currency: &str, include_vat: bool) -> f32 {
    let on = layout::on_colour(b.accent_colour);
    let head = Style::new(Face::SerifBold, 9.5).colour(on);
    p.rect(M, y - 12.0, INNER, 18.0, b.accent_colour);
    p.text(M + 4.0, y, head, "Description");
    p.text_right(COL_QTY, y, head, "Qty");
    p.text_right(COL_UNIT, y, head, "Unit price");
    p.text_right(COL_VAT, y, head, "VAT");
    let amount = if include_vat {
        format!("Amount incl. VAT ({currency})")
    } else {
        format!("Amount ({currency})")
    };
    let amount = p
        .fonts
        .fit(head.face, head.size, &amount, RIGHT - COL_VAT - 12.0);
    p.text_right(RIGHT - 4.0, y, head, &amount);
    y + 20.0
}

/// Starts a continuation page (band with the number, PROVISIONAL when so).
fn continuation<'a>(
    pages: &'a mut Vec<PageOps>,
    fonts: &'static layout::Fonts,
    data: &InvoiceData,
    number: &str,
) -> &'a mut PageOps {
    let mut p = PageOps::new(fonts, A4);
    let band = data.branding.primary_colour;
    let on = layout::on_colour(band);
    p.rect(0.0, 0.0, A4.0, 40.0, band);
    let right = if data.provisional {
        "PROVISIONAL".to_string()
    } else {
        String::new()
    };
    p.text_right(
        RIGHT,
        25.0,
        Style::new(Face::MonoBold, 11.0).colour(on),
        &right,
    );
    p.text_fit(
        M,
        25.0,
        Style::new(Face::SerifBold, 12.0).colour(on),
        &format!("Invoice {number} (continued)"),
        INNER - 120.0,
    );
    pages.push(p);
    pages.last_mut().expect("just pushed")
}

//! Client statements: a client's deliveries over a period, as a paginated A4 PDF
//! ([`statement_pdf`]) and as CSV ([`statement_csv`]) with the same rows.
//!
//! The PDF opens with the tenant band, the client and the period, then a table
//! (date, reference, drop-off, status, amount) over as many pages as it takes, the
//! header row repeated on each page, "Page k of n" at every foot, and the count and
//! total after the last row. A period without deliveries still gives a valid PDF
//! saying "No deliveries in this period".
//!
//! # CSV
//! RFC 4180 through the `csv` crate: a header row, then one record per delivery in
//! the order given (no totals row, so the file stays a plain table); CRLF line ends;
//! fields quoted when needed. Amounts are plain decimals (`12.34`, `-5.00`) with
//! the currency in its own column.
//!
//! Formula-injection guard: a text cell (date, reference, drop-off, status,
//! currency) that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
//! leading `'`, so a spreadsheet shows it as text instead of evaluating it. The
//! amount column is written by us as a number and is left alone.

use serde::{Deserialize, Serialize};

use super::layout::{self, A4, Face, GREY, LIGHT, PageOps, Style};
use super::{Branding, DocError, Party};

/// One delivery on a statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementRow {
    /// Already formatted, e.g. "2025-03-14" (see [`super::layout::format_date`]).
    pub date: String,
    pub reference: String,
    /// Drop-off address on one line.
    pub dropoff: String,
    /// E.g. "Delivered", "Failed", "Returned".
    pub status: String,
    /// Minor units of `branding.currency`.
    pub amount_cents: i64,
}

/// What a statement covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementData {
    pub branding: Branding,
    pub client: Party,
    /// First day of the period, formatted.
    pub period_from: String,
    /// Last day of the period, formatted.
    pub period_to: String,
    /// When the statement was made, formatted; empty leaves it out.
    #[serde(default)]
    pub issue_date: String,
    /// In the order to print (usually by date).
    pub rows: Vec<StatementRow>,
}

const M: f32 = 40.0;
const RIGHT: f32 = A4.0 - M;
const INNER: f32 = RIGHT - M;
const ROW: f32 = 15.0;
/// Lowest row baseline; the footer sits below.
const BOTTOM: f32 = A4.1 - 60.0;

// Columns: left edges (amount: right edge).
const C_DATE: f32 = M + 4.0;
const C_REF: f32 = M + 100.0;
const C_DROP: f32 = M + 205.0;
const C_STATUS: f32 = M + 395.0;
const C_AMOUNT: f32 = RIGHT - 4.0;
const ZEBRA: [u8; 3] = [244, 246, 249];

/// The rows' total, or an error when it leaves `i64`.
pub fn statement_total(rows: &[StatementRow]) -> Result<i64, DocError> {
    rows.iter().try_fold(0i64, |acc, r| {
        acc.checked_add(r.amount_cents)
            .ok_or_else(|| DocError::field("rows", "total out of range"))
    })
}

/// The statement as an A4 PDF, as many pages as the rows need.
pub fn statement_pdf(data: &StatementData) -> Result<Vec<u8>, DocError> {
    let fonts = layout::fonts()?;
    let total = statement_total(&data.rows)?;
    let logo = layout::optional_image(data.branding.logo_png.as_deref(), "branding.logo_png", 800)?;

    let clean = layout::clean;
    let b = &data.branding;
    let currency = clean(&b.currency);
    let client = clean(&data.client.name);
    let period = format!("{} – {}", clean(&data.period_from), clean(&data.period_to));
    let label = Style::new(Face::Serif, 9.0).colour(GREY);
    let body = Style::new(Face::Serif, 10.0);

    // First page: band, client, period.
    let mut pages = vec![PageOps::new(fonts, A4)];
    let mut p = pages.last_mut().expect("one page");
    let band = b.primary_colour;
    let on_band = layout::on_colour(band);
    p.rect(0.0, 0.0, A4.0, 84.0, band);
    let mut name_x = M;
    if let Some(logo) = &logo {
        let (lw, _) = p.image_fit(logo, M, 16.0, 150.0, 52.0);
        name_x += lw + 14.0;
    }
    p.text_right(
        RIGHT,
        48.0,
        Style::new(Face::SerifBold, 22.0).colour(on_band),
        "STATEMENT",
    );
    p.text_fit(
        name_x,
        48.0,
        Style::new(Face::SerifBold, 18.0).colour(on_band),
        &clean(&b.company_name),
        RIGHT - 170.0 - name_x,
    );

    let mut y = 112.0;
    p.text(M, y, label, "Client");
    p.text(M + INNER / 2.0 + 10.0, y, label, "Period");
    y += 15.0;
    let half = INNER / 2.0 - 10.0;
    p.text_fit(M, y, Style::new(Face::SerifBold, 12.0), &client, half);
    p.text_fit(
        M + INNER / 2.0 + 10.0,
        y,
        Style::new(Face::SerifBold, 12.0),
        &period,
        half,
    );
    let issue = clean(&data.issue_date);
    let mut ry = y + 14.0;
    if !issue.is_empty() {
        p.text_fit(
            M + INNER / 2.0 + 10.0,
            ry,
            body,
            &format!("Issued {issue}"),
            half,
        );
        ry += 12.5;
    }
    p.text_fit(
        M + INNER / 2.0 + 10.0,
        ry,
        body,
        &match data.rows.len() {
            1 => "1 delivery".to_string(),
            n => format!("{n} deliveries"),
        },
        half,
    );
    y += 14.0;
    for line in data.client.address_lines.iter().take(4) {
        p.text_fit(M, y, body, &clean(line), half);
        y += 12.5;
    }
    y = y.max(ry) + 22.0;

    // The table.
    y = table_header(p, y, b, &currency);
    if data.rows.is_empty() {
        p.text(
            M + 4.0,
            y + 4.0,
            Style::new(Face::SerifBold, 11.0).colour(GREY),
            "No deliveries in this period",
        );
        y += ROW + 8.0;
    }
    let cell = Style::new(Face::Serif, 9.0);
    let mono = Style::new(Face::Mono, 8.5);
    for (i, r) in data.rows.iter().enumerate() {
        if y > BOTTOM {
            p = continuation(&mut pages, fonts, b, &client, &period);
            y = table_header(p, 72.0, b, &currency);
        }
        if i % 2 == 1 {
            p.rect(M, y - 10.5, INNER, ROW, ZEBRA);
        }
        p.text_fit(C_DATE, y, cell, &clean(&r.date), C_REF - C_DATE - 6.0);
        p.text_fit(C_REF, y, mono, &clean(&r.reference), C_DROP - C_REF - 6.0);
        p.text_fit(C_DROP, y, cell, &clean(&r.dropoff), C_STATUS - C_DROP - 8.0);
        p.text_fit(C_STATUS, y, cell, &clean(&r.status), 62.0);
        p.text_right(C_AMOUNT, y, cell, &layout::format_amount(r.amount_cents));
        y += ROW;
    }

    // Totals after the last row.
    if y > BOTTOM {
        p = continuation(&mut pages, fonts, b, &client, &period);
        y = 72.0;
    }
    p.hline(M, RIGHT, y - 8.0, 0.8, GREY);
    y += 8.0;
    let strong = Style::new(Face::SerifBold, 11.0);
    p.text(C_DATE, y, body, &format!("Deliveries: {}", data.rows.len()));
    let total_text = layout::format_money(total, &currency);
    let tw = fonts.width(strong.face, strong.size, &total_text);
    p.text_right(C_AMOUNT, y, strong, &total_text);
    p.text_right(C_AMOUNT - tw - 10.0, y, strong, "Total");

    // Footers with page numbers, now that the count is known.
    let n = pages.len();
    let small = Style::new(Face::Serif, 8.0).colour(GREY);
    let foot = format!(
        "{} · Statement for {client} · {period}",
        clean(&b.company_name)
    );
    for (k, page) in pages.iter_mut().enumerate() {
        let fy = A4.1 - 30.0;
        page.hline(M, RIGHT, fy - 12.0, 0.5, LIGHT);
        let pn = format!("Page {} of {n}", k + 1);
        let pw = fonts.width(small.face, small.size, &pn);
        page.text_right(RIGHT, fy, small, &pn);
        page.text_fit(M, fy, small, &foot, INNER - pw - 20.0);
    }
    layout::render(&pages, &format!("Statement {client} {period}"))
}

fn table_header(p: &mut PageOps, y: f32, b: &Branding, currency: &str) -> f32 {
    let on = layout::on_colour(b.accent_colour);
    let head = Style::new(Face::SerifBold, 9.5).colour(on);
    p.rect(M, y - 12.0, INNER, 18.0, b.accent_colour);
    p.text(C_DATE, y, head, "Date");
    p.text(C_REF, y, head, "Reference");
    p.text(C_DROP, y, head, "Drop-off");
    p.text(C_STATUS, y, head, "Status");
    p.text_right(C_AMOUNT, y, head, &format!("Amount ({currency})"));
    y + 20.0
}

fn continuation<'a>(
    pages: &'a mut Vec<PageOps>,
    fonts: &'static layout::Fonts,
    b: &Branding,
    client: &str,
    period: &str,
) -> &'a mut PageOps {
    let mut p = PageOps::new(fonts, A4);
    let on = layout::on_colour(b.primary_colour);
    p.rect(0.0, 0.0, A4.0, 40.0, b.primary_colour);
    p.text_fit(
        M,
        25.0,
        Style::new(Face::SerifBold, 12.0).colour(on),
        &format!("Statement · {client} · {period}"),
        INNER,
    );
    pages.push(p);
    pages.last_mut().expect("just pushed")
}

/// A text cell made safe for spreadsheets (see the module docs).
pub(crate) fn guard_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The statement's rows as CSV (see the module docs for quoting and the guard).
pub fn statement_csv(data: &StatementData) -> String {
    // Writing into memory cannot fail; an error would only come from I/O.
    write_csv(data).unwrap_or_default()
}

fn write_csv(data: &StatementData) -> Result<String, Box<dyn std::error::Error>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record([
        "date",
        "reference",
        "drop_off",
        "status",
        "amount",
        "currency",
    ])?;
    let currency = guard_cell(data.branding.currency.trim());
    for r in &data.rows {
        w.write_record([
            guard_cell(&r.date),
            guard_cell(&r.reference),
            guard_cell(&r.dropoff),
            guard_cell(&r.status),
            layout::format_amount(r.amount_cents),
            currency.clone(),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

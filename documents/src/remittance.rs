//! Cash remittance statements: the cash one courier took at doors on one day and
//! what they handed over at the depot, as a paginated A4 PDF ([`remittance_pdf`])
//! and as CSV ([`remittance_csv`]) with the same line items.
//!
//! The PDF opens with the tenant band (CASH REMITTANCE), the courier, the day and
//! when it was issued, then a summary box: opening cash, collected (with the number
//! of orders), received at the depot, written off, and the closing cash in hand,
//! printed large. When any hand-over has the status "Discrepancy" a warning line
//! "Open discrepancies: N" follows the box. Then two tables, each over as many
//! pages as it takes with its header row repeated on every page: "Collections"
//! (time, order, amount) and "Hand-overs" (time, id, declared, received,
//! difference, status with the resolution under it, received by), each followed by
//! its totals. Two signature blocks, "Courier" and "Dispatcher", close the document
//! and are never split from each other; "Page k of n" ends every page. A day
//! without collections and hand-overs still gives a valid PDF saying "No cash
//! collected or handed over on this day".
//!
//! # Validation
//! Collected amounts and declared or received hand-over amounts must not be
//! negative (the error names e.g. `collections[2].cents`); a hand-over with all
//! three of declared, received and difference must have difference = received −
//! declared (`handovers[i].difference_cents`); totals that leave `i64` fail naming
//! `collections` or `handovers`. Opening, closing and written-off amounts are
//! printed as given (any sign).
//!
//! # CSV
//! RFC 4180 through the `csv` crate, CRLF line ends, a header row `section, time,
//! reference, declared, received, difference, amount, status, resolution,
//! received_by, currency`, then one record per line item: `opening` (amount = the
//! opening cash), one `collection` per collection (reference = the order, amount =
//! the cash taken), one `handover` per hand-over (reference = its id; declared,
//! received and difference when known; amount = the received amount when known),
//! and `closing` (amount = the closing cash). Amounts are plain decimals (`12.34`,
//! `-5.00`); unknown ones are empty. Text cells get the same formula-injection
//! guard as the statement CSV (a leading `'` before `=`, `+`, `-`, `@`, tab or
//! carriage return); the amount columns are written by us and left alone.

use serde::{Deserialize, Serialize};

use super::layout::{self, A4, Face, GREY, LIGHT, PageOps, Style};
use super::statement::guard_cell;
use super::{Branding, DocError, Party};

/// Cash a courier took at a door.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemittanceCollection {
    /// Already formatted time of day, e.g. "14:05".
    pub time: String,
    pub order_ref: String,
    pub cents: i64,
}

/// One hand-over at the depot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemittanceHandover {
    /// Already formatted time of day.
    pub time: String,
    /// The hand-over's id, e.g. "H-3F9A2C01D4".
    pub id: String,
    pub declared_cents: Option<i64>,
    pub received_cents: Option<i64>,
    /// Received less declared (negative = shortfall), when both are known.
    pub difference_cents: Option<i64>,
    /// Who counted it (a name), empty when nobody yet.
    pub received_by: String,
    /// E.g. "Received", "Discrepancy", "Settled", "Awaiting receipt", "Withdrawn".
    pub status: String,
    /// How a discrepancy was settled, e.g. "Written off", "Charged to courier", "Recounted"; empty if none.
    pub resolution: String,
}

/// What a courier's cash remittance statement for one day shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemittanceData {
    pub branding: Branding,
    /// The courier (name; address_lines/phone optional).
    pub courier: Party,
    /// The day covered, formatted (e.g. "2026-12-03").
    pub day: String,
    /// When it was made, formatted; empty leaves it out.
    #[serde(default)]
    pub issue_date: String,
    /// Cash the courier held at the start of the day (outstanding).
    pub opening_cents: i64,
    /// In time order.
    pub collections: Vec<RemittanceCollection>,
    /// In time order.
    pub handovers: Vec<RemittanceHandover>,
    /// Written off during the day (settlements).
    pub written_off_cents: i64,
    /// Cash the courier still held at the end of the day.
    pub closing_cents: i64,
}

const M: f32 = 40.0;
const RIGHT: f32 = A4.0 - M;
const INNER: f32 = RIGHT - M;
const ROW: f32 = 15.0;
/// Extra height of a hand-over row with a resolution line under its status.
const RESOLUTION_LINE: f32 = 10.0;
/// Lowest row baseline; the footer sits below.
const BOTTOM: f32 = A4.1 - 60.0;
/// Lowest point of the totals and signature blocks.
const CONTENT_END: f32 = A4.1 - 50.0;
/// Where content starts on a continuation page (below its slim band).
const CONT_TOP: f32 = 66.0;

// Collections table: left edges, or right edges for figures (`_R`).
const C_TIME: f32 = M + 4.0;
const C_ORDER: f32 = M + 70.0;
const C_AMOUNT_R: f32 = RIGHT - 4.0;

// Hand-overs table.
const H_ID: f32 = M + 46.0;
const H_DECLARED_R: f32 = M + 180.0;
const H_RECEIVED_R: f32 = M + 242.0;
const H_DIFF_R: f32 = M + 304.0;
const H_STATUS: f32 = M + 316.0;
const H_BY: f32 = M + 428.0;

const ZEBRA: [u8; 3] = [244, 246, 249];
/// Shortfalls, discrepancies and the open-discrepancy warning.
const WARNING: [u8; 3] = [0xb4, 0x23, 0x18];
const WARNING_TINT: [u8; 3] = [0xfd, 0xec, 0xea];

/// The day's figures, checked.
struct Totals {
    collected: i64,
    declared: i64,
    received: i64,
    difference: i64,
    open_discrepancies: usize,
}

fn add(acc: i64, v: i64, field: &str) -> Result<i64, DocError> {
    acc.checked_add(v)
        .ok_or_else(|| DocError::field(field, "total out of range"))
}

/// Checks the input (see the module docs) and adds up the tables.
fn totals(data: &RemittanceData) -> Result<Totals, DocError> {
    let mut collected = 0i64;
    for (i, c) in data.collections.iter().enumerate() {
        if c.cents < 0 {
            return Err(DocError::field(
                format!("collections[{i}].cents"),
                "a collected amount cannot be negative",
            ));
        }
        collected = add(collected, c.cents, "collections")?;
    }
    let (mut declared, mut received, mut difference) = (0i64, 0i64, 0i64);
    let mut open_discrepancies = 0;
    for (i, h) in data.handovers.iter().enumerate() {
        for (name, v) in [
            ("declared_cents", h.declared_cents),
            ("received_cents", h.received_cents),
        ] {
            if v.is_some_and(|v| v < 0) {
                return Err(DocError::field(
                    format!("handovers[{i}].{name}"),
                    "a handed-over amount cannot be negative",
                ));
            }
        }
        if let (Some(d), Some(r), Some(diff)) =
            (h.declared_cents, h.received_cents, h.difference_cents)
            && r.checked_sub(d) != Some(diff)
        {
            return Err(DocError::field(
                format!("handovers[{i}].difference_cents"),
                "is not the received amount less the declared one",
            ));
        }
        declared = add(declared, h.declared_cents.unwrap_or(0), "handovers")?;
        received = add(received, h.received_cents.unwrap_or(0), "handovers")?;
        difference = add(difference, h.difference_cents.unwrap_or(0), "handovers")?;
        if is_discrepancy(&h.status) {
            open_discrepancies += 1;
        }
    }
    Ok(Totals {
        collected,
        declared,
        received,
        difference,
        open_discrepancies,
    })
}

fn is_discrepancy(status: &str) -> bool {
    status.trim().eq_ignore_ascii_case("Discrepancy")
}

/// A difference with its sign: "+5.00", "-5.00", "0.00".
fn signed_amount(cents: i64) -> String {
    if cents > 0 {
        format!("+{}", layout::format_amount(cents))
    } else {
        layout::format_amount(cents)
    }
}

/// The pages laid out so far and where the next line goes.
struct Pages<'a> {
    pages: Vec<PageOps>,
    y: f32,
    fonts: &'static layout::Fonts,
    branding: &'a Branding,
    /// Printed in the slim band of continuation pages.
    title: String,
}

impl Pages<'_> {
    fn page(&mut self) -> &mut PageOps {
        self.pages.last_mut().expect("at least one page")
    }

    /// Starts a continuation page; `y` goes to its top.
    fn new_page(&mut self) {
        let mut p = PageOps::new(self.fonts, A4);
        let b = self.branding;
        let on = layout::on_colour(b.primary_colour);
        p.rect(0.0, 0.0, A4.0, 40.0, b.primary_colour);
        p.text_fit(
            M,
            25.0,
            Style::new(Face::SerifBold, 12.0).colour(on),
            &format!("{} (continued)", self.title),
            INNER,
        );
        self.pages.push(p);
        self.y = CONT_TOP;
    }

    /// A new page unless `h` more points fit above [`CONTENT_END`].
    fn ensure(&mut self, h: f32) {
        if self.y + h > CONTENT_END {
            self.new_page();
        }
    }

    /// A section title at `y` (with an optional note at the right), then the table
    /// header row under it; `y` becomes the first row's baseline.
    fn section(&mut self, title: &str, note: &str, header: fn(&mut PageOps, f32, &Branding)) {
        let b = self.branding;
        let y = self.y + 4.0;
        let p = self.page();
        p.text(M, y, Style::new(Face::SerifBold, 13.0), title);
        p.text_right(RIGHT, y, Style::new(Face::Serif, 8.5).colour(GREY), note);
        header(p, y + 24.0, b);
        self.y = y + 44.0;
    }

    /// Before a row of height `h` (baseline `y`): a new page with the table's title
    /// and header when it would run past [`BOTTOM`].
    fn row_room(&mut self, h: f32, title: &str, header: fn(&mut PageOps, f32, &Branding)) {
        if self.y + h - ROW > BOTTOM {
            self.new_page();
            self.section(&format!("{title} (continued)"), "", header);
        }
    }
}

fn collections_header(p: &mut PageOps, y: f32, b: &Branding) {
    let on = layout::on_colour(b.accent_colour);
    let head = Style::new(Face::SerifBold, 9.5).colour(on);
    p.rect(M, y - 12.0, INNER, 18.0, b.accent_colour);
    p.text(C_TIME, y, head, "Time");
    p.text(C_ORDER, y, head, "Order");
    let amount = format!("Amount ({})", layout::clean(&b.currency));
    let amount = p.fonts.fit(head.face, head.size, &amount, 120.0);
    p.text_right(C_AMOUNT_R, y, head, &amount);
}

fn handovers_header(p: &mut PageOps, y: f32, b: &Branding) {
    let on = layout::on_colour(b.accent_colour);
    let head = Style::new(Face::SerifBold, 9.5).colour(on);
    p.rect(M, y - 12.0, INNER, 18.0, b.accent_colour);
    p.text(C_TIME, y, head, "Time");
    p.text(H_ID, y, head, "Hand-over");
    p.text_right(H_DECLARED_R, y, head, "Declared");
    p.text_right(H_RECEIVED_R, y, head, "Received");
    p.text_right(H_DIFF_R, y, head, "Difference");
    p.text(H_STATUS, y, head, "Status");
    p.text(H_BY, y, head, "Received by");
}

/// The statement as an A4 PDF (as many pages as it needs).
///
/// Fails on the inputs the module docs list (naming the field) and on an
/// unreadable logo.
pub fn remittance_pdf(data: &RemittanceData) -> Result<Vec<u8>, DocError> {
    let fonts = layout::fonts()?;
    let t = totals(data)?;
    let logo = layout::optional_image(data.branding.logo_png.as_deref(), "branding.logo_png", 800)?;

    let clean = layout::clean;
    let b = &data.branding;
    let currency = clean(&b.currency);
    let money = |cents: i64| layout::format_money(cents, &currency);
    let courier = clean(&data.courier.name);
    let day = clean(&data.day);
    let label = Style::new(Face::Serif, 9.0).colour(GREY);
    let body = Style::new(Face::Serif, 10.0);
    let strong = Style::new(Face::SerifBold, 11.0);

    let mut doc = Pages {
        pages: vec![PageOps::new(fonts, A4)],
        y: 0.0,
        fonts,
        branding: b,
        title: format!("Cash remittance · {courier} · {day}"),
    };
    let p = doc.page();

    // Band: logo, company, CASH REMITTANCE.
    let band = b.primary_colour;
    let on_band = layout::on_colour(band);
    p.rect(0.0, 0.0, A4.0, 84.0, band);
    let mut name_x = M;
    if let Some(logo) = &logo {
        let (lw, _) = p.image_fit(logo, M, 16.0, 150.0, 52.0);
        name_x += lw + 14.0;
    }
    let title_style = Style::new(Face::SerifBold, 22.0).colour(on_band);
    let title = "CASH REMITTANCE";
    let title_w = fonts.width(title_style.face, title_style.size, title);
    p.text_right(RIGHT, 48.0, title_style, title);
    p.text_fit(
        name_x,
        48.0,
        Style::new(Face::SerifBold, 18.0).colour(on_band),
        &clean(&b.company_name),
        RIGHT - title_w - 24.0 - name_x,
    );

    // Courier (left), day and issue date (right).
    let half = INNER / 2.0 - 10.0;
    let rx = M + INNER / 2.0 + 10.0;
    let mut y = 112.0;
    p.text(M, y, label, "Courier");
    p.text(rx, y, label, "Day");
    y += 15.0;
    p.text_fit(M, y, Style::new(Face::SerifBold, 12.0), &courier, half);
    p.text_fit(rx, y, Style::new(Face::SerifBold, 12.0), &day, half);
    let mut ry = y + 14.0;
    let issue = clean(&data.issue_date);
    if !issue.is_empty() {
        p.text_fit(rx, ry, body, &format!("Issued {issue}"), half);
        ry += 12.5;
    }
    y += 14.0;
    for line in data.courier.address_lines.iter().take(3) {
        p.text_fit(M, y, body, &clean(line), half);
        y += 12.5;
    }
    if let Some(phone) = data.courier.phone.as_deref().map(clean)
        && !phone.is_empty()
    {
        p.text_fit(
            M,
            y,
            Style::new(Face::Mono, 9.0),
            &format!("Tel. {phone}"),
            half,
        );
        y += 12.5;
    }
    let top = y.max(ry) + 8.0;

    // Summary box: the movements (left), the closing cash (right).
    let box_h = 86.0;
    p.frame(M, top, INNER, box_h, 0.8, LIGHT);
    let mid = M + INNER * 0.55;
    p.rect(mid, top + 10.0, 0.8, box_h - 20.0, LIGHT);
    let orders = match data.collections.len() {
        1 => "1 order".to_string(),
        n => format!("{n} orders"),
    };
    let lines = [
        ("Opening cash".to_string(), money(data.opening_cents)),
        (format!("Collected ({orders})"), money(t.collected)),
        ("Received at depot".to_string(), money(t.received)),
        ("Written off".to_string(), money(data.written_off_cents)),
    ];
    let mut ly = top + 22.0;
    for (k, v) in &lines {
        p.text(M + 14.0, ly, body, k);
        p.text_right(mid - 14.0, ly, Style::new(Face::SerifBold, 10.0), v);
        ly += 16.0;
    }
    p.text_right(RIGHT - 14.0, top + 30.0, label, "Closing cash in hand");
    let closing = Style::new(Face::SerifBold, 22.0).colour(b.primary_colour);
    let closing_text = p.fonts.fit(
        closing.face,
        closing.size,
        &money(data.closing_cents),
        RIGHT - mid - 28.0,
    );
    p.text_right(RIGHT - 14.0, top + 60.0, closing, &closing_text);
    y = top + box_h;

    // Open discrepancies: a tinted strip under the box.
    if t.open_discrepancies > 0 {
        y += 8.0;
        p.rect(M, y, INNER, 24.0, WARNING_TINT);
        p.rect(M, y, 4.0, 24.0, WARNING);
        let warn = Style::new(Face::SerifBold, 11.0).colour(WARNING);
        let text = format!("Open discrepancies: {}", t.open_discrepancies);
        let w = p.text(M + 14.0, y + 16.0, warn, &text);
        p.text_fit(
            M + 14.0 + w + 10.0,
            y + 16.0,
            Style::new(Face::Serif, 9.0).colour(WARNING),
            "hand-overs whose count differs from the declaration, not yet settled",
            INNER - w - 34.0,
        );
        y += 24.0;
    }
    doc.y = y + 28.0;

    let cell = Style::new(Face::Serif, 9.0);
    let mono = Style::new(Face::Mono, 8.5);
    // Room for a section title, its header and one row.
    let section_h = 44.0 + ROW;

    if data.collections.is_empty() && data.handovers.is_empty() {
        let y = doc.y + 4.0;
        doc.page().text(
            M,
            y,
            Style::new(Face::SerifBold, 12.0).colour(GREY),
            "No cash collected or handed over on this day",
        );
        doc.y = y + 16.0;
    } else {
        // Collections.
        doc.ensure(section_h);
        doc.section("Collections", "", collections_header);
        if data.collections.is_empty() {
            let y = doc.y;
            doc.page()
                .text(C_TIME, y, cell.colour(GREY), "No collections on this day");
            doc.y += ROW;
        }
        for (i, c) in data.collections.iter().enumerate() {
            doc.row_room(ROW, "Collections", collections_header);
            let y = doc.y;
            let p = doc.page();
            if i % 2 == 1 {
                p.rect(M, y - 10.5, INNER, ROW, ZEBRA);
            }
            p.text_fit(C_TIME, y, cell, &clean(&c.time), C_ORDER - C_TIME - 6.0);
            p.text_fit(
                C_ORDER,
                y,
                mono,
                &clean(&c.order_ref),
                C_AMOUNT_R - 90.0 - C_ORDER,
            );
            p.text_right(C_AMOUNT_R, y, cell, &layout::format_amount(c.cents));
            doc.y += ROW;
        }
        if doc.y > BOTTOM {
            doc.new_page();
            doc.y += 8.0;
        }
        let y = doc.y;
        let p = doc.page();
        p.hline(M, RIGHT, y - 8.0, 0.8, GREY);
        p.text(
            C_TIME,
            y + 8.0,
            body,
            &format!("Collections: {}", data.collections.len()),
        );
        let total = money(t.collected);
        let tw = fonts.width(strong.face, strong.size, &total);
        p.text_right(C_AMOUNT_R, y + 8.0, strong, &total);
        p.text_right(C_AMOUNT_R - tw - 10.0, y + 8.0, strong, "Total");
        doc.y = y + 8.0 + 34.0;

        // Hand-overs.
        let note = format!("Amounts in {currency}");
        doc.ensure(section_h);
        doc.section("Hand-overs", &note, handovers_header);
        if data.handovers.is_empty() {
            let y = doc.y;
            doc.page()
                .text(C_TIME, y, cell.colour(GREY), "No hand-overs on this day");
            doc.y += ROW;
        }
        for (i, h) in data.handovers.iter().enumerate() {
            let resolution = clean(&h.resolution);
            let row_h = if resolution.is_empty() {
                ROW
            } else {
                ROW + RESOLUTION_LINE
            };
            doc.row_room(row_h, "Hand-overs", handovers_header);
            let y = doc.y;
            let p = doc.page();
            if i % 2 == 1 {
                p.rect(M, y - 10.5, INNER, row_h, ZEBRA);
            }
            p.text_fit(C_TIME, y, cell, &clean(&h.time), H_ID - C_TIME - 4.0);
            p.text_fit(H_ID, y, mono, &clean(&h.id), H_DECLARED_R - 56.0 - H_ID);
            if let Some(v) = h.declared_cents {
                p.text_right(H_DECLARED_R, y, cell, &layout::format_amount(v));
            }
            if let Some(v) = h.received_cents {
                p.text_right(H_RECEIVED_R, y, cell, &layout::format_amount(v));
            }
            if let Some(v) = h.difference_cents {
                let style = if v < 0 {
                    Style::new(Face::SerifBold, 9.0).colour(WARNING)
                } else {
                    cell
                };
                p.text_right(H_DIFF_R, y, style, &signed_amount(v));
            }
            let status_style = if is_discrepancy(&h.status) {
                Style::new(Face::SerifBold, 9.0).colour(WARNING)
            } else {
                cell
            };
            let status_w = H_BY - H_STATUS - 8.0;
            p.text_fit(H_STATUS, y, status_style, &clean(&h.status), status_w);
            if !resolution.is_empty() {
                p.text_fit(
                    H_STATUS,
                    y + RESOLUTION_LINE,
                    Style::new(Face::Serif, 8.0).colour(GREY),
                    &resolution,
                    status_w,
                );
            }
            p.text_fit(H_BY, y, cell, &clean(&h.received_by), RIGHT - 4.0 - H_BY);
            doc.y += row_h;
        }
        if doc.y > BOTTOM {
            doc.new_page();
            doc.y += 8.0;
        }
        let y = doc.y;
        let p = doc.page();
        p.hline(M, RIGHT, y - 8.0, 0.8, GREY);
        let ty = y + 8.0;
        p.text(
            C_TIME,
            ty,
            body,
            &format!("Hand-overs: {}", data.handovers.len()),
        );
        let fig = Style::new(Face::SerifBold, 9.5);
        p.text_right(H_DECLARED_R, ty, fig, &layout::format_amount(t.declared));
        p.text_right(H_RECEIVED_R, ty, fig, &layout::format_amount(t.received));
        let diff_style = if t.difference < 0 {
            fig.colour(WARNING)
        } else {
            fig
        };
        p.text_right(H_DIFF_R, ty, diff_style, &signed_amount(t.difference));
        doc.y = ty;
    }

    // Signatures: courier / dispatcher, side by side, never split.
    let sig_h = 132.0;
    doc.y += 24.0;
    if doc.y + sig_h > CONTENT_END {
        doc.new_page();
    }
    let y = doc.y;
    let p = doc.page();
    let sig_half = (INNER - 16.0) / 2.0;
    for (i, who) in ["Courier", "Dispatcher"].into_iter().enumerate() {
        let x = M + i as f32 * (sig_half + 16.0);
        p.frame(x, y, sig_half, sig_h, 0.8, LIGHT);
        let ix = x + 10.0;
        let iw = sig_half - 20.0;
        let w = p.text(ix, y + 18.0, Style::new(Face::SerifBold, 11.0), who);
        if i == 0 {
            p.text_fit(ix + w + 8.0, y + 18.0, label, &courier, iw - w - 8.0);
        }
        let mut ly = y + 50.0;
        for what in ["Name", "Signature", "Date and time"] {
            p.hline(ix, ix + iw, ly, 0.6, GREY);
            p.text(
                ix,
                ly + 10.0,
                Style::new(Face::Serif, 8.0).colour(GREY),
                what,
            );
            ly += 30.0;
        }
    }

    // Footers with page numbers, now that the count is known.
    let n = doc.pages.len();
    let small = Style::new(Face::Serif, 8.0).colour(GREY);
    let foot = format!(
        "{} · Cash remittance for {courier} · {day}",
        clean(&b.company_name)
    );
    for (k, page) in doc.pages.iter_mut().enumerate() {
        let fy = A4.1 - 30.0;
        page.hline(M, RIGHT, fy - 12.0, 0.5, LIGHT);
        let pn = format!("Page {} of {n}", k + 1);
        let pw = fonts.width(small.face, small.size, &pn);
        page.text_right(RIGHT, fy, small, &pn);
        page.text_fit(M, fy, small, &foot, INNER - pw - 20.0);
    }
    layout::render(&doc.pages, &format!("Cash remittance {courier} {day}"))
}

/// The same content as CSV (see the module docs for the records and the guard).
pub fn remittance_csv(data: &RemittanceData) -> String {
    // Writing into memory cannot fail; an error would only come from I/O.
    write_csv(data).unwrap_or_default()
}

fn write_csv(data: &RemittanceData) -> Result<String, Box<dyn std::error::Error>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record([
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
    ])?;
    let currency = guard_cell(data.branding.currency.trim());
    let amount = |v: Option<i64>| v.map(layout::format_amount).unwrap_or_default();
    let empty = String::new;
    w.write_record([
        "opening".to_string(),
        empty(),
        empty(),
        empty(),
        empty(),
        empty(),
        layout::format_amount(data.opening_cents),
        empty(),
        empty(),
        empty(),
        currency.clone(),
    ])?;
    for c in &data.collections {
        w.write_record([
            "collection".to_string(),
            guard_cell(&c.time),
            guard_cell(&c.order_ref),
            empty(),
            empty(),
            empty(),
            layout::format_amount(c.cents),
            empty(),
            empty(),
            empty(),
            currency.clone(),
        ])?;
    }
    for h in &data.handovers {
        w.write_record([
            "handover".to_string(),
            guard_cell(&h.time),
            guard_cell(&h.id),
            amount(h.declared_cents),
            amount(h.received_cents),
            amount(h.difference_cents),
            amount(h.received_cents),
            guard_cell(&h.status),
            guard_cell(&h.resolution),
            guard_cell(&h.received_by),
            currency.clone(),
        ])?;
    }
    w.write_record([
        "closing".to_string(),
        empty(),
        empty(),
        empty(),
        empty(),
        empty(),
        layout::format_amount(data.closing_cents),
        empty(),
        empty(),
        empty(),
        currency,
    ])?;
    Ok(String::from_utf8(w.into_inner()?)?)
}

#[cfg(test)]
mod tests;

//! Run sheets: the courier's printed list of a trip's stops, A4 portrait, as many
//! pages as the stops need ([`run_sheet_pdf`]).
//!
//! The first page opens with the tenant band and the trip (reference, name,
//! courier, vehicle, date, status, when printed, how many stops and how much cash
//! to collect). Then one block per stop, in `seq` order: the number, PICKUP or
//! DROP-OFF, the order reference and a tick box ("✔ DONE" when already done); the
//! contact, address and phone; the time window, planned arrival, packages and the
//! cash to collect on delivery; the courier's note; and a QR code of
//! [`RunSheetStop::qr_payload`], so scanning a stop on paper opens it in the app.
//!
//! A block is never split across pages; each page takes as many whole blocks as
//! fit, continuation pages repeat the trip in a slim band, and every page ends with
//! "Page k of n". After the last block come the totals: stops (pickups and
//! drop-offs) and the cash to collect. A trip without stops still gives a valid
//! page saying "No stops on this trip".

use serde::{Deserialize, Serialize};

use super::layout::{self, A4, BLACK, Face, GREY, LIGHT, PageOps, Style, WHITE};
use super::{Branding, DocError, Party};

/// Longest QR payload printed on a stop, in bytes: beyond it the code's modules
/// get too small to scan at the printed size.
pub const MAX_STOP_QR_BYTES: usize = 200;

/// What the courier does at a stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunSheetStopKind {
    Pickup,
    Dropoff,
}

impl RunSheetStopKind {
    fn badge(self) -> &'static str {
        match self {
            RunSheetStopKind::Pickup => "PICKUP",
            RunSheetStopKind::Dropoff => "DROP-OFF",
        }
    }
}

/// One stop of the trip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSheetStop {
    /// Position in the trip; stops print in ascending `seq` (ties keep their order).
    pub seq: u32,
    pub kind: RunSheetStopKind,
    pub order_ref: String,
    /// Contact name, address lines (run on, comma-separated, over at most 2 printed
    /// lines) and phone.
    pub party: Party,
    /// The time window, already formatted, e.g. "09:00–11:00".
    #[serde(default)]
    pub window: Option<String>,
    /// The planned arrival, already formatted, e.g. "09:40".
    #[serde(default)]
    pub planned: Option<String>,
    /// What is picked up or handed over, e.g. "2 parcels, 3.4 kg".
    #[serde(default)]
    pub packages: String,
    /// Cash to collect on delivery, minor units of `branding.currency`.
    #[serde(default)]
    pub cod_cents: Option<i64>,
    /// Note for the courier ("ring twice"); empty for none. At most 2 lines print.
    #[serde(default)]
    pub notes: String,
    /// What the stop's QR code encodes (e.g. a deep link opening the stop); not
    /// empty, at most [`MAX_STOP_QR_BYTES`] bytes.
    pub qr_payload: String,
    /// Already done when printed: the tick box is ticked.
    #[serde(default)]
    pub done: bool,
}

/// What a run sheet shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSheetData {
    pub branding: Branding,
    /// Short trip reference, e.g. "TRIP-7F3A".
    pub trip_ref: String,
    pub trip_name: String,
    pub courier: String,
    #[serde(default)]
    pub vehicle: Option<String>,
    /// The trip's date, already formatted (see [`super::format_date`]).
    pub date: String,
    /// E.g. "Planned", "In progress".
    pub status: String,
    /// When the sheet was printed, already formatted; empty leaves it out.
    #[serde(default)]
    pub printed_at: String,
    pub stops: Vec<RunSheetStop>,
}

const M: f32 = 40.0;
const RIGHT: f32 = A4.0 - M;
const INNER: f32 = RIGHT - M;
/// Lowest point a stop block or the totals may reach; the page footer sits below.
const BOTTOM: f32 = A4.1 - 50.0;
/// Where blocks start on a continuation page.
const CONT_TOP: f32 = 58.0;

/// A stop block: the strip with number, kind, reference and tick box, then the body.
const STRIP: f32 = 22.0;
const GAP: f32 = 6.0;
/// 56 pt (about 20 mm) keeps a 45-character payload's modules near 0.6 mm.
const QR: f32 = 56.0;
const QR_X: f32 = RIGHT - 10.0 - QR;
const COL_A: f32 = M + 8.0;
const COL_A_W: f32 = 214.0;
const COL_B: f32 = M + 230.0;
const COL_B_VALUE: f32 = COL_B + 50.0;
const COL_B_W: f32 = QR_X - 12.0 - COL_B_VALUE;
const NOTE_W: f32 = QR_X - 12.0 - COL_A;
const LEAD: f32 = 12.0;
/// First body baseline below the strip.
const FIRST: f32 = 14.0;
const NOTE_LEAD: f32 = 11.0;
const MAX_ADDRESS_LINES: usize = 2;
const MAX_NOTE_LINES: usize = 2;

/// A stop's text, cleaned, cut and wrapped, and its QR code at the origin.
struct Block {
    seq: String,
    kind: RunSheetStopKind,
    order_ref: String,
    name: String,
    address: Vec<String>,
    phone: String,
    facts: Vec<(&'static str, String, bool)>,
    note: Vec<String>,
    /// The note runs under both text columns (else under the contact only).
    note_wide: bool,
    qr: Vec<[f32; 4]>,
    done: bool,
}

impl Block {
    /// Height of the block, strip included.
    fn height(&self) -> f32 {
        let notes = self.note.len() as f32 * NOTE_LEAD;
        let col_a = (1 + self.address.len() + usize::from(!self.phone.is_empty())) as f32 * LEAD;
        let col_b = self.facts.len() as f32 * LEAD;
        let text = if self.note_wide {
            col_a.max(col_b) + notes
        } else {
            (col_a + notes).max(col_b)
        };
        STRIP + (FIRST + text).max(QR + 8.0) + 4.0
    }
}

/// The run sheet as an A4 PDF, as many pages as the stops need.
///
/// Fails on an unreadable logo, on a stop's QR payload that is empty, too long or
/// not encodable (`stops[3].qr_payload`), and on a COD total outside `i64`.
pub fn run_sheet_pdf(data: &RunSheetData) -> Result<Vec<u8>, DocError> {
    let fonts = layout::fonts()?;
    let logo = layout::optional_image(data.branding.logo_png.as_deref(), "branding.logo_png", 800)?;
    let clean = layout::clean;
    let b = &data.branding;
    let currency = clean(&b.currency);

    let cod_total = data.stops.iter().try_fold(0i64, |acc, s| {
        acc.checked_add(s.cod_cents.unwrap_or(0))
            .ok_or_else(|| DocError::field("stops", "total COD out of range"))
    })?;
    let pickups = data
        .stops
        .iter()
        .filter(|s| s.kind == RunSheetStopKind::Pickup)
        .count();
    let dropoffs = data.stops.len() - pickups;

    // Every stop laid out (and its QR code made) before anything is drawn, in seq
    // order; a bad payload fails naming the stop as given.
    let mut order: Vec<usize> = (0..data.stops.len()).collect();
    order.sort_by_key(|&i| data.stops[i].seq);
    let blocks = order
        .iter()
        .map(|&i| block(fonts, &data.stops[i], &format!("stops[{i}]"), &currency))
        .collect::<Result<Vec<_>, _>>()?;

    let trip_ref = clean(&data.trip_ref);
    let trip_name = clean(&data.trip_name);
    let courier = clean(&data.courier);
    let date = clean(&data.date);
    let label = Style::new(Face::Serif, 9.0).colour(GREY);
    let value = Style::new(Face::SerifBold, 10.5);

    // First page: band, then the trip.
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
        44.0,
        Style::new(Face::SerifBold, 22.0).colour(on_band),
        "RUN SHEET",
    );
    p.text_right(
        RIGHT,
        66.0,
        Style::new(Face::Mono, 10.0).colour(on_band),
        &fonts.fit(Face::Mono, 10.0, &trip_ref, 160.0),
    );
    p.text_fit(
        name_x,
        48.0,
        Style::new(Face::SerifBold, 18.0).colour(on_band),
        &clean(&b.company_name),
        RIGHT - 175.0 - name_x,
    );

    let half = INNER / 2.0 - 10.0;
    let mut y = 112.0;
    p.text(M, y, label, "Trip");
    y += 16.0;
    p.text_fit(M, y, Style::new(Face::MonoBold, 14.0), &trip_ref, half);
    y += 16.0;
    y = p.paragraph(
        M,
        y,
        Style::new(Face::SerifBold, 12.0),
        &trip_name,
        half,
        2,
        14.0,
    );

    // Facts: the stop count and the cash under the trip (left), the rest right.
    let fact = |p: &mut PageOps, x: f32, y: f32, k: &str, v: &str| {
        p.text(x, y, label, k);
        p.text_fit(x + 70.0, y, value, v, half - 70.0);
    };
    let fx = M + INNER / 2.0 + 10.0;
    let mut fy = 112.0;
    let stops_text = match data.stops.len() {
        0 => "none".to_string(),
        n => format!(
            "{n} ({}, {})",
            plural(pickups, "pickup", "pickups"),
            plural(dropoffs, "drop-off", "drop-offs")
        ),
    };
    y += 4.0;
    fact(p, M, y, "Stops", &stops_text);
    y += 15.0;
    fact(
        p,
        M,
        y,
        "COD to collect",
        &layout::format_money(cod_total, &currency),
    );
    let left_end = y;
    let mut facts = vec![("Courier", courier.clone())];
    if let Some(v) = data.vehicle.as_deref().map(clean)
        && !v.is_empty()
    {
        facts.push(("Vehicle", v));
    }
    facts.push(("Date", date.clone()));
    facts.push(("Status", clean(&data.status)));
    let printed = clean(&data.printed_at);
    if !printed.is_empty() {
        facts.push(("Printed", printed));
    }
    for (k, v) in &facts {
        fact(p, fx, fy, k, v);
        fy += 15.0;
    }
    y = (left_end + 15.0).max(fy) + 8.0;

    // The stops.
    if blocks.is_empty() {
        p.rect(M, y, INNER, 40.0, b.accent_colour);
        p.text(
            M + 12.0,
            y + 25.0,
            Style::new(Face::SerifBold, 12.0).colour(layout::on_colour(b.accent_colour)),
            "No stops on this trip",
        );
        y += 40.0 + GAP;
    }
    let strip_title = format!("Run sheet {trip_ref} · {trip_name} · {courier} · {date}");
    for blk in &blocks {
        let h = blk.height();
        if y + h > BOTTOM {
            p = continuation(&mut pages, fonts, b, &strip_title);
            y = CONT_TOP;
        }
        draw_block(p, b, blk, y);
        y += h + GAP;
    }

    // Totals after the last stop.
    if y + 28.0 > BOTTOM {
        p = continuation(&mut pages, fonts, b, &strip_title);
        y = CONT_TOP;
    }
    p.hline(M, RIGHT, y, 0.8, GREY);
    y += 18.0;
    let strong = Style::new(Face::SerifBold, 11.0);
    p.text(
        M + 4.0,
        y,
        strong,
        &format!(
            "Stops: {} ({}, {})",
            data.stops.len(),
            plural(pickups, "pickup", "pickups"),
            plural(dropoffs, "drop-off", "drop-offs")
        ),
    );
    let total_text = layout::format_money(cod_total, &currency);
    let tw = fonts.width(Face::MonoBold, 11.0, &total_text);
    p.text_right(
        RIGHT - 4.0,
        y,
        Style::new(Face::MonoBold, 11.0),
        &total_text,
    );
    p.text_right(RIGHT - 4.0 - tw - 8.0, y, strong, "COD to collect");

    // Footers with page numbers, now that the count is known.
    let n = pages.len();
    let small = Style::new(Face::Serif, 8.0).colour(GREY);
    let foot = format!(
        "{} · Run sheet {trip_ref} · {courier} · {date}",
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
    layout::render(&pages, &format!("Run sheet {trip_ref} {date}"))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Cleans, cuts and wraps a stop's text and makes its QR code.
fn block(
    fonts: &layout::Fonts,
    s: &RunSheetStop,
    field: &str,
    currency: &str,
) -> Result<Block, DocError> {
    let clean = layout::clean;
    let payload = s.qr_payload.trim();
    let qr_field = format!("{field}.qr_payload");
    if payload.is_empty() {
        return Err(DocError::field(
            qr_field,
            "empty: the stop needs something to scan",
        ));
    }
    if payload.len() > MAX_STOP_QR_BYTES {
        return Err(DocError::field(
            qr_field,
            format!("at most {MAX_STOP_QR_BYTES} bytes fit a scannable code on a run sheet"),
        ));
    }
    let qr = layout::qr_rects(payload, &qr_field, 0.0, 0.0, QR)?;

    // The address lines run on, comma-separated, over at most two printed lines.
    let address = s
        .party
        .address_lines
        .iter()
        .map(|l| clean(l))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let address = if address.is_empty() {
        Vec::new()
    } else {
        fonts.wrap(Face::Serif, 10.0, &address, COL_A_W, MAX_ADDRESS_LINES)
    };
    let phone = s.party.phone.as_deref().map(clean).unwrap_or_default();
    let phone = if phone.is_empty() {
        phone
    } else {
        format!("Tel. {phone}")
    };
    let opt = |v: &Option<String>| {
        v.as_deref()
            .map(clean)
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "–".to_string())
    };
    let packages = clean(&s.packages);
    let cod = match s.cod_cents {
        Some(c) => (layout::format_money(c, currency), true),
        None => ("none".to_string(), false),
    };
    let facts = vec![
        ("Window", opt(&s.window), false),
        ("Planned", opt(&s.planned), false),
        (
            "Packages",
            if packages.is_empty() {
                "–".to_string()
            } else {
                packages
            },
            false,
        ),
        ("COD", cod.0, cod.1),
    ];
    let notes = clean(&s.notes);
    // A short note goes under the contact; a longer one under both columns.
    let (note, note_wide) = if notes.is_empty() {
        (Vec::new(), false)
    } else {
        let note = format!("Note: {notes}");
        let narrow = fonts.wrap(Face::Serif, 9.5, &note, COL_A_W, MAX_NOTE_LINES + 1);
        if narrow.len() <= MAX_NOTE_LINES {
            (narrow, false)
        } else {
            let wide = fonts.wrap(Face::Serif, 9.5, &note, NOTE_W, MAX_NOTE_LINES);
            (wide, true)
        }
    };
    Ok(Block {
        seq: s.seq.to_string(),
        kind: s.kind,
        order_ref: clean(&s.order_ref),
        name: clean(&s.party.name),
        address,
        phone,
        facts,
        note,
        note_wide,
        qr,
        done: s.done,
    })
}

fn draw_block(p: &mut PageOps, b: &Branding, blk: &Block, top: f32) {
    let fonts = p.fonts;
    let h = blk.height();
    let accent = b.accent_colour;
    let on_accent = layout::on_colour(accent);

    // Strip: number, kind badge, reference; tick box at the right.
    p.rect(M, top, INNER, STRIP, accent);
    let base = top + 15.5;
    let num = Style::new(Face::MonoBold, 13.0).colour(on_accent);
    let nw = p.text(M + 8.0, base, num, &blk.seq);
    let badge = Style::new(Face::MonoBold, 9.0);
    let (badge_bg, badge_fg) = match blk.kind {
        RunSheetStopKind::Pickup => (b.primary_colour, layout::on_colour(b.primary_colour)),
        RunSheetStopKind::Dropoff => (WHITE, BLACK),
    };
    let text = blk.kind.badge();
    let bx = M + 8.0 + nw.max(16.0) + 8.0;
    let bw = fonts.width(badge.face, badge.size, text) + 10.0;
    p.rect(bx, top + 4.5, bw, 13.0, badge_bg);
    p.text(bx + 5.0, top + 14.0, badge.colour(badge_fg), text);

    let tick = 13.0;
    let tx = RIGHT - 8.0 - tick;
    let ty = top + (STRIP - tick) / 2.0;
    p.rect(tx, ty, tick, tick, WHITE);
    p.frame(tx, ty, tick, tick, 1.0, BLACK);
    let done_style = Style::new(Face::SerifBold, 9.5).colour(on_accent);
    let done_label = if blk.done { "DONE" } else { "Done" };
    let dw = fonts.width(done_style.face, done_style.size, done_label);
    if blk.done {
        p.text(tx + 1.5, ty + 11.0, Style::new(Face::MonoBold, 11.0), "✔");
    }
    p.text(tx - 6.0 - dw, base, done_style, done_label);

    let rx = bx + bw + 10.0;
    p.text_fit(
        rx,
        base,
        Style::new(Face::MonoBold, 11.0).colour(on_accent),
        &blk.order_ref,
        tx - 16.0 - dw - rx,
    );

    // Body: contact and address (left), window to COD (middle), QR code (right).
    let first = top + STRIP + FIRST;
    let mut y = first;
    p.text_fit(
        COL_A,
        y,
        Style::new(Face::SerifBold, 11.0),
        &blk.name,
        COL_A_W,
    );
    y += LEAD;
    for line in &blk.address {
        p.text(COL_A, y, Style::new(Face::Serif, 10.0), line);
        y += LEAD;
    }
    if !blk.phone.is_empty() {
        p.text_fit(COL_A, y, Style::new(Face::Mono, 9.0), &blk.phone, COL_A_W);
        y += LEAD;
    }
    let label = Style::new(Face::Serif, 9.0).colour(GREY);
    let mut fy = first;
    for (k, v, strong) in &blk.facts {
        p.text(COL_B, fy, label, k);
        let style = if *strong {
            Style::new(Face::MonoBold, 10.5)
        } else {
            Style::new(Face::Serif, 10.0)
        };
        p.text_fit(COL_B_VALUE, fy, style, v, COL_B_W);
        fy += LEAD;
    }
    let mut ny = if blk.note_wide { y.max(fy) } else { y };
    for line in &blk.note {
        p.text(COL_A, ny, Style::new(Face::Serif, 9.5), line);
        ny += NOTE_LEAD;
    }

    let qy = top + STRIP + 6.0;
    p.fill(
        blk.qr
            .iter()
            .map(|r| [r[0] + QR_X, r[1] + qy, r[2], r[3]])
            .collect(),
        BLACK,
    );
    p.frame(M, top, INNER, h, 0.6, LIGHT);
}

fn continuation<'a>(
    pages: &'a mut Vec<PageOps>,
    fonts: &'static layout::Fonts,
    b: &Branding,
    title: &str,
) -> &'a mut PageOps {
    let mut p = PageOps::new(fonts, A4);
    let on = layout::on_colour(b.primary_colour);
    p.rect(0.0, 0.0, A4.0, 40.0, b.primary_colour);
    p.text_fit(
        M,
        25.0,
        Style::new(Face::SerifBold, 12.0).colour(on),
        &format!("{title} (continued)"),
        INNER,
    );
    pages.push(p);
    pages.last_mut().expect("just pushed")
}

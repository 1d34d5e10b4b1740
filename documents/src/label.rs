//! Shipping labels: 4×6 in (101.6×152.4 mm) pages for thermal label printers, one
//! page per label, any number of labels in one PDF ([`labels_pdf`]).
//!
//! From top to bottom: the carrier band, service badges (EXPRESS, SIGNATURE,
//! AGE 18+, or STANDARD), the sender, the recipient in large type (name, address,
//! phone, courier note), then a QR code of [`LabelData::qr_payload`] beside the
//! reference, the packages ("2 parcels, 3.4 kg", "PARCEL 1/2") and the amount to
//! collect on delivery, and at the bottom a Code 128 barcode of the reference.
//!
//! Everything is set in DejaVu Sans Mono: a sans face at sizes a sorter reads at
//! arm's length. Long text is wrapped or cut with "…" to its box; nothing moves
//! the QR code or the barcode.

use serde::{Deserialize, Serialize};

use super::layout::{self, BLACK, Face, GREY, LIGHT, PageOps, Style, WHITE, mm};
use super::{DocError, Party};
use ruta_domain::order::ServiceOptions;

/// The page: 4×6 in, portrait.
pub(crate) const LABEL_SIZE: (f32, f32) = (mm(101.6), mm(152.4));

/// Most labels [`per_parcel`] expands one shipment into.
pub const MAX_PARCEL_LABELS: u32 = 999;

/// What one label shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelData {
    /// The carrier or tenant, printed in the top band.
    pub carrier_name: String,
    /// The order reference: printed, and encoded as Code 128 (printable ASCII, at
    /// most 32 characters).
    pub reference: String,
    pub sender: Party,
    pub recipient: Party,
    /// Parcels in the shipment.
    pub parcel_count: u32,
    /// Total weight of the shipment in grams; 0 leaves the weight out.
    #[serde(default)]
    pub weight_g: u32,
    /// 1-based number of this parcel when each parcel gets its own label
    /// ("PARCEL 1/2"); `None` for one label per shipment. See [`per_parcel`].
    #[serde(default)]
    pub parcel_index: Option<u32>,
    #[serde(default)]
    pub options: ServiceOptions,
    /// Cash to collect on delivery, minor units; 0 for none.
    #[serde(default)]
    pub cod_cents: i64,
    /// ISO 4217 code of `cod_cents`.
    pub currency: String,
    /// What the QR code carries: the order's verification payload, or a tracking
    /// URL/code (the courier's scanner reads it at the door).
    pub qr_payload: String,
    /// Short note for the courier ("ring twice"); empty for none.
    #[serde(default)]
    pub instructions: String,
    /// Printed small in the top band, e.g. the dispatch date; empty for none.
    #[serde(default)]
    pub date: String,
}

/// One label per parcel: copies of `label` numbered 1..=`parcel_count` (at least
/// one, at most [`MAX_PARCEL_LABELS`]).
pub fn per_parcel(label: &LabelData) -> Vec<LabelData> {
    let n = label.parcel_count.clamp(1, MAX_PARCEL_LABELS);
    (1..=n)
        .map(|i| LabelData {
            parcel_index: Some(i),
            ..label.clone()
        })
        .collect()
}

/// All labels in one PDF, one 4×6 in page each, in order.
///
/// Fails on an empty slice, on a reference a Code 128 barcode cannot hold, and on
/// an empty or oversized QR payload; the error names the label (`labels[3].reference`).
pub fn labels_pdf(labels: &[LabelData]) -> Result<Vec<u8>, DocError> {
    if labels.is_empty() {
        return Err(DocError::field("labels", "no labels to print"));
    }
    let fonts = layout::fonts()?;
    let mut pages = Vec::with_capacity(labels.len());
    for (i, label) in labels.iter().enumerate() {
        let mut page = PageOps::new(fonts, LABEL_SIZE);
        draw_label(&mut page, label, &format!("labels[{i}]"))?;
        pages.push(page);
    }
    let title = match labels {
        [one] => format!("Label {}", layout::clean(&one.reference)),
        _ => format!("{} labels", labels.len()),
    };
    layout::render(&pages, &title)
}

/// "2 parcels, 3.4 kg".
pub(crate) fn packages_text(count: u32, weight_g: u32) -> String {
    let parcels = if count == 1 {
        "1 parcel".to_string()
    } else {
        format!("{count} parcels")
    };
    if weight_g == 0 {
        parcels
    } else {
        format!("{parcels}, {}", layout::format_weight(weight_g))
    }
}

fn badges(options: &ServiceOptions) -> Vec<String> {
    let mut out = Vec::new();
    if options.express {
        out.push("EXPRESS".to_string());
    }
    if options.signature_required {
        out.push("SIGNATURE".to_string());
    }
    if let Some(age) = options.age_check {
        out.push(format!("AGE {age}+"));
    }
    out
}

/// How many lines with baselines `leading` apart, the first at `first`, stay at or
/// above `last`.
fn lines_that_fit(first: f32, last: f32, leading: f32) -> usize {
    if first > last {
        0
    } else {
        ((last - first) / leading).floor() as usize + 1
    }
}

fn draw_label(p: &mut PageOps, l: &LabelData, field: &str) -> Result<(), DocError> {
    let (w, _h) = LABEL_SIZE;
    let m = 10.0;
    let right = w - m;
    let inner = right - m;
    let clean = layout::clean;
    let fonts = p.fonts;

    // The barcode and QR code first: bad input fails before anything is drawn.
    let reference = l.reference.trim();
    let bars = layout::code128_rects(
        reference,
        &format!("{field}.reference"),
        m,
        384.0,
        inner,
        30.0,
    )?;
    let payload = l.qr_payload.trim();
    if payload.is_empty() {
        return Err(DocError::field(
            format!("{field}.qr_payload"),
            "empty: the label needs something to scan",
        ));
    }
    let qr_size = 100.0;
    let qr = layout::qr_rects(payload, &format!("{field}.qr_payload"), m, 279.0, qr_size)?;

    // Carrier band.
    p.rect(0.0, 0.0, w, 30.0, BLACK);
    let date = clean(&l.date);
    let date_w = fonts.width(Face::Mono, 8.0, &date);
    p.text_right(
        right,
        19.0,
        Style::new(Face::Mono, 8.0).colour(WHITE),
        &date,
    );
    p.text_fit(
        m,
        20.0,
        Style::new(Face::MonoBold, 13.0).colour(WHITE),
        &clean(&l.carrier_name),
        inner - date_w - 8.0,
    );

    // Service badges.
    let badge_style = Style::new(Face::MonoBold, 10.0).colour(WHITE);
    let mut x = m;
    let list = badges(&l.options);
    if list.is_empty() {
        p.text(m, 48.0, Style::new(Face::MonoBold, 10.0), "STANDARD");
    }
    for b in list {
        let bw = fonts.width(badge_style.face, badge_style.size, &b) + 8.0;
        p.rect(x, 36.0, bw, 16.0, BLACK);
        p.text(x + 4.0, 48.0, badge_style, &b);
        x += bw + 5.0;
    }

    // Sender.
    let small = Style::new(Face::Mono, 7.0).colour(GREY);
    p.text(m, 63.0, small, "FROM");
    p.text_fit(
        m,
        74.0,
        Style::new(Face::MonoBold, 9.0),
        &clean(&l.sender.name),
        inner,
    );
    let mut y = 85.0;
    for line in l.sender.address_lines.iter().take(3) {
        p.text_fit(m, y, Style::new(Face::Mono, 8.0), &clean(line), inner);
        y += 10.0;
    }
    p.hline(m, right, 118.0, 1.0, BLACK);

    // Recipient, large.
    p.text(m, 130.0, Style::new(Face::Mono, 8.0).colour(GREY), "TO");
    let mut y = p.paragraph(
        m,
        147.0,
        Style::new(Face::MonoBold, 16.0),
        &clean(&l.recipient.name),
        inner,
        2,
        18.0,
    );
    // The block ends at the rule at 272 pt: the address gets what the phone and
    // one line of note leave, the note what is left after that.
    let limit = 268.0;
    let phone = l.recipient.phone.as_deref().map(clean).unwrap_or_default();
    let note = clean(&l.instructions);
    let reserve =
        if phone.is_empty() { 0.0 } else { 13.0 } + if note.is_empty() { 0.0 } else { 10.0 };
    let address = Style::new(Face::MonoBold, 12.0);
    let mut lines_left = lines_that_fit(y, limit - reserve, 14.0).min(5);
    for line in &l.recipient.address_lines {
        if lines_left == 0 {
            break;
        }
        let wrapped = fonts.wrap(address.face, address.size, &clean(line), inner, lines_left);
        lines_left -= wrapped.len();
        for part in wrapped {
            p.text(m, y, address, &part);
            y += 14.0;
        }
    }
    if !phone.is_empty() {
        p.text_fit(
            m,
            y + 1.0,
            Style::new(Face::Mono, 10.0),
            &format!("Tel. {phone}"),
            inner,
        );
        y += 13.0;
    }
    let note_lines = lines_that_fit(y + 1.0, limit, 10.0).min(2);
    if !note.is_empty() && note_lines > 0 {
        p.paragraph(
            m,
            y + 1.0,
            Style::new(Face::Mono, 8.0),
            &format!("Note: {note}"),
            inner,
            note_lines,
            10.0,
        );
    }
    p.hline(m, right, 272.0, 1.0, BLACK);

    // QR code, reference, packages, COD.
    p.fill(qr, BLACK);
    let cx = m + qr_size + 10.0;
    let col = right - cx;
    p.text(cx, 290.0, small, "REFERENCE");
    p.text_fit(
        cx,
        304.0,
        Style::new(Face::MonoBold, 13.0),
        &clean(reference),
        col,
    );
    p.text_fit(
        cx,
        320.0,
        Style::new(Face::Mono, 10.0),
        &packages_text(l.parcel_count, l.weight_g),
        col,
    );
    if let Some(i) = l.parcel_index {
        p.text_fit(
            cx,
            336.0,
            Style::new(Face::MonoBold, 12.0),
            &format!("PARCEL {i}/{}", l.parcel_count.max(i)),
            col,
        );
    }
    if l.cod_cents != 0 {
        let cod = format!("COD {}", layout::format_money(l.cod_cents, &l.currency));
        let style = Style::new(Face::MonoBold, 11.0).colour(WHITE);
        let text = fonts.fit(style.face, style.size, &cod, col - 8.0);
        let tw = fonts.width(style.face, style.size, &text);
        p.rect(cx, 346.0, tw + 8.0, 18.0, BLACK);
        p.text(cx + 4.0, 359.0, style, &text);
    }
    p.hline(m, right, 380.0, 0.5, LIGHT);

    // Barcode and its human-readable line.
    p.fill(bars, BLACK);
    p.text_center(
        w / 2.0,
        425.0,
        Style::new(Face::Mono, 8.0),
        &clean(reference),
    );
    Ok(())
}

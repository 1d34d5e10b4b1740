//! Waybills: the consignment note that travels with a batch of orders handed from
//! one party to another (a hub to a line-haul carrier, a client to a courier),
//! A4 portrait, as many pages as the manifest needs ([`waybill_pdf`]).
//!
//! The first page opens with the tenant band (WAYBILL and the number), a Code 128
//! barcode of [`WaybillData::number`] with the number printed under it, the date,
//! carrier, seal and reference, and the origin and destination side by side. Then
//! the manifest: one row per order (reference, recipient, city, parcels, weight,
//! cash to collect on delivery), the header row repeated on every page, over as many
//! pages as it takes. After the last row come the totals (orders, parcels, weight,
//! COD) and two signature blocks, "Handed over by" and "Received by", each with
//! lines for the name, the signature and the date and time. The signature blocks
//! are never split from each other; "Page k of n" ends every page.

use serde::{Deserialize, Serialize};

use super::layout::{self, A4, BLACK, Face, GREY, LIGHT, PageOps, Style};
use super::{Branding, DocError, Party};

/// One order on the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaybillLine {
    pub order_ref: String,
    pub recipient: String,
    pub city: String,
    pub parcels: u32,
    /// Grams, printed as kg with one decimal.
    pub weight_g: u32,
    /// Cash to collect on delivery, minor units of `branding.currency`.
    #[serde(default)]
    pub cod_cents: Option<i64>,
}

/// What a waybill shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaybillData {
    pub branding: Branding,
    /// The waybill number: printed, and encoded as Code 128 (printable ASCII, at
    /// most 32 characters).
    pub number: String,
    pub origin: Party,
    pub destination: Party,
    pub carrier: String,
    /// The seal number on the cage or trailer, if sealed.
    #[serde(default)]
    pub seal: Option<String>,
    /// The caller's reference (a line-haul booking, a purchase order).
    #[serde(default)]
    pub reference: Option<String>,
    /// Already formatted (see [`super::format_date`]).
    pub date: String,
    /// In the order to print.
    pub orders: Vec<WaybillLine>,
}

/// The manifest's totals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaybillTotals {
    pub orders: usize,
    pub parcels: u64,
    pub weight_g: u64,
    pub cod_cents: i64,
}

const M: f32 = 40.0;
const RIGHT: f32 = A4.0 - M;
const INNER: f32 = RIGHT - M;
const ROW: f32 = 15.0;
/// Lowest row baseline; the footer sits below.
const BOTTOM: f32 = A4.1 - 60.0;
/// Lowest point of the totals and signature blocks.
const CONTENT_END: f32 = A4.1 - 50.0;

/// The barcode's box on the first page: x, y, width, height.
pub(crate) const BARCODE: [f32; 4] = [RIGHT - 250.0, 104.0, 250.0, 44.0];

// Manifest columns: left edges, or right edges for the figures (`_R`).
const C_NUM_R: f32 = M + 24.0;
const C_ORDER: f32 = M + 32.0;
const C_RECIP: f32 = M + 142.0;
const C_CITY: f32 = M + 290.0;
const C_PARCELS_R: f32 = M + 392.0;
const C_WEIGHT_R: f32 = M + 446.0;
const C_COD_R: f32 = RIGHT - 4.0;
const ZEBRA: [u8; 3] = [244, 246, 249];

/// Orders, parcels, weight and COD over the manifest; a COD total outside `i64` is
/// an error naming `orders`.
pub fn waybill_totals(orders: &[WaybillLine]) -> Result<WaybillTotals, DocError> {
    let mut t = WaybillTotals {
        orders: orders.len(),
        parcels: 0,
        weight_g: 0,
        cod_cents: 0,
    };
    for o in orders {
        t.parcels += u64::from(o.parcels);
        t.weight_g += u64::from(o.weight_g);
        t.cod_cents = t
            .cod_cents
            .checked_add(o.cod_cents.unwrap_or(0))
            .ok_or_else(|| DocError::field("orders", "total COD out of range"))?;
    }
    Ok(t)
}

/// Grams as kilograms with one decimal, rounded half up (the total may pass
/// `u32`, which [`layout::format_weight`] takes).
fn weight_text(grams: u64) -> String {
    match u32::try_from(grams) {
        Ok(g) => layout::format_weight(g),
        Err(_) => {
            let tenths = grams / 100 + u64::from(grams % 100 >= 50);
            format!("{}.{} kg", tenths / 10, tenths % 10)
        }
    }
}

/// The waybill as an A4 PDF, as many pages as the manifest needs.
///
/// Fails on a number Code 128 cannot encode (`number`), an unreadable logo, and a
/// COD total outside `i64` (`orders`).
pub fn waybill_pdf(data: &WaybillData) -> Result<Vec<u8>, DocError> {
    let fonts = layout::fonts()?;
    let number = data.number.trim();
    let [bx, by, bw, bh] = BARCODE;
    let bars = layout::code128_rects(number, "number", bx, by, bw, bh)?;
    let totals = waybill_totals(&data.orders)?;
    let logo = layout::optional_image(data.branding.logo_png.as_deref(), "branding.logo_png", 800)?;

    let clean = layout::clean;
    let b = &data.branding;
    let number = clean(number);
    let currency = clean(&b.currency);
    let label = Style::new(Face::Serif, 9.0).colour(GREY);
    let body = Style::new(Face::Serif, 10.0);
    let value = Style::new(Face::SerifBold, 10.5);

    let mut pages = vec![PageOps::new(fonts, A4)];
    let mut p = pages.last_mut().expect("one page");

    // Band: logo, company, WAYBILL and the number.
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
        "WAYBILL",
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
        RIGHT - 170.0 - name_x,
    );

    // Barcode with the number under it (right), facts (left).
    p.fill(bars, BLACK);
    p.text_center(
        bx + bw / 2.0,
        by + bh + 14.0,
        Style::new(Face::MonoBold, 11.0),
        &number,
    );
    let mut facts = vec![
        ("Date", clean(&data.date)),
        ("Carrier", clean(&data.carrier)),
    ];
    for (k, v) in [("Seal", &data.seal), ("Reference", &data.reference)] {
        if let Some(v) = v.as_deref().map(clean)
            && !v.is_empty()
        {
            facts.push((k, v));
        }
    }
    let fv = M + 62.0;
    let mut fy = 116.0;
    for (k, v) in &facts {
        p.text(M, fy, label, k);
        p.text_fit(fv, fy, value, v, bx - 16.0 - fv);
        fy += 15.0;
    }

    // Origin and destination, framed, side by side.
    let top = fy.max(by + bh + 14.0) + 16.0;
    let half = (INNER - 16.0) / 2.0;
    let mut bottom = top;
    for (i, (title, party)) in [
        ("From (origin)", &data.origin),
        ("To (destination)", &data.destination),
    ]
    .into_iter()
    .enumerate()
    {
        let x = M + i as f32 * (half + 16.0) + 10.0;
        let w = half - 20.0;
        let mut y = top + 16.0;
        p.text(x, y, label, title);
        y += 16.0;
        p.text_fit(
            x,
            y,
            Style::new(Face::SerifBold, 12.0),
            &clean(&party.name),
            w,
        );
        y += 14.0;
        for line in party.address_lines.iter().take(4) {
            p.text_fit(x, y, body, &clean(line), w);
            y += 12.5;
        }
        if let Some(phone) = party.phone.as_deref().map(clean)
            && !phone.is_empty()
        {
            p.text_fit(
                x,
                y,
                Style::new(Face::Mono, 9.0),
                &format!("Tel. {phone}"),
                w,
            );
            y += 12.5;
        }
        bottom = bottom.max(y);
    }
    let box_h = bottom - top + 2.0;
    p.frame(M, top, half, box_h, 0.8, LIGHT);
    p.frame(M + half + 16.0, top, half, box_h, 0.8, LIGHT);
    let mut y = top + box_h + 30.0;

    // The manifest.
    let title = format!("Waybill {number} · {}", clean(&data.date));
    y = table_header(p, y, b, &currency);
    if data.orders.is_empty() {
        p.text(
            C_ORDER,
            y + 4.0,
            Style::new(Face::SerifBold, 11.0).colour(GREY),
            "No orders on this waybill",
        );
        y += ROW + 8.0;
    }
    let cell = Style::new(Face::Serif, 9.0);
    let mono = Style::new(Face::Mono, 8.5);
    for (i, o) in data.orders.iter().enumerate() {
        if y > BOTTOM {
            p = continuation(&mut pages, fonts, b, &title);
            y = table_header(p, 72.0, b, &currency);
        }
        if i % 2 == 1 {
            p.rect(M, y - 10.5, INNER, ROW, ZEBRA);
        }
        p.text_right(C_NUM_R, y, cell.colour(GREY), &(i + 1).to_string());
        p.text_fit(
            C_ORDER,
            y,
            mono,
            &clean(&o.order_ref),
            C_RECIP - C_ORDER - 6.0,
        );
        p.text_fit(
            C_RECIP,
            y,
            cell,
            &clean(&o.recipient),
            C_CITY - C_RECIP - 6.0,
        );
        p.text_fit(
            C_CITY,
            y,
            cell,
            &clean(&o.city),
            C_PARCELS_R - 40.0 - C_CITY,
        );
        p.text_right(C_PARCELS_R, y, cell, &o.parcels.to_string());
        p.text_right(C_WEIGHT_R, y, cell, &layout::format_weight(o.weight_g));
        if let Some(cod) = o.cod_cents {
            p.text_right(C_COD_R, y, cell, &layout::format_amount(cod));
        }
        y += ROW;
    }

    // Totals.
    let rows = [
        ("Orders", totals.orders.to_string()),
        ("Parcels", totals.parcels.to_string()),
        ("Weight", weight_text(totals.weight_g)),
        (
            "COD to collect",
            layout::format_money(totals.cod_cents, &currency),
        ),
    ];
    let totals_h = 8.0 + rows.len() as f32 * 15.0;
    if y - 10.0 + totals_h > CONTENT_END {
        p = continuation(&mut pages, fonts, b, &title);
        y = 72.0;
    }
    p.hline(M, RIGHT, y - 8.0, 0.8, GREY);
    y += 8.0;
    let strong = Style::new(Face::SerifBold, 11.0);
    let tx = RIGHT - 230.0;
    for (k, v) in &rows {
        p.text(tx, y, strong, k);
        p.text_right(C_COD_R, y, strong, v);
        y += 15.0;
    }

    // Signatures: handed over by / received by.
    let sig_h = 132.0;
    y += 14.0;
    if y + sig_h > CONTENT_END {
        p = continuation(&mut pages, fonts, b, &title);
        y = 64.0;
    }
    for (i, who) in ["Handed over by", "Received by"].into_iter().enumerate() {
        let x = M + i as f32 * (half + 16.0);
        p.frame(x, y, half, sig_h, 0.8, LIGHT);
        let ix = x + 10.0;
        let iw = half - 20.0;
        p.text(ix, y + 18.0, Style::new(Face::SerifBold, 11.0), who);
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
    let n = pages.len();
    let small = Style::new(Face::Serif, 8.0).colour(GREY);
    let foot = format!(
        "{} · Waybill {number} · {} → {}",
        clean(&b.company_name),
        clean(&data.origin.name),
        clean(&data.destination.name)
    );
    for (k, page) in pages.iter_mut().enumerate() {
        let fy = A4.1 - 30.0;
        page.hline(M, RIGHT, fy - 12.0, 0.5, LIGHT);
        let pn = format!("Page {} of {n}", k + 1);
        let pw = fonts.width(small.face, small.size, &pn);
        page.text_right(RIGHT, fy, small, &pn);
        page.text_fit(M, fy, small, &foot, INNER - pw - 20.0);
    }
    layout::render(&pages, &format!("Waybill {number}"))
}

fn table_header(p: &mut PageOps, y: f32, b: &Branding, currency: &str) -> f32 {
    let on = layout::on_colour(b.accent_colour);
    let head = Style::new(Face::SerifBold, 9.5).colour(on);
    p.rect(M, y - 12.0, INNER, 18.0, b.accent_colour);
    p.text_right(C_NUM_R, y, head, "#");
    p.text(C_ORDER, y, head, "Order");
    p.text(C_RECIP, y, head, "Recipient");
    p.text(C_CITY, y, head, "City");
    p.text_right(C_PARCELS_R, y, head, "Parcels");
    p.text_right(C_WEIGHT_R, y, head, "Weight");
    let cod = p.fonts.fit(
        head.face,
        head.size,
        &format!("COD ({currency})"),
        C_COD_R - C_WEIGHT_R - 8.0,
    );
    p.text_right(C_COD_R, y, head, &cod);
    y + 20.0
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

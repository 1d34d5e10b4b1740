//! The delivery receipt handed to (or e-mailed to) the recipient at delivery: one A5
//! portrait page ([`receipt_pdf`]).
//!
//! It shows the tenant band (logo, name), the reference, when it was delivered, to
//! whom and where, by which courier, the items, the cash collected on delivery, the
//! recipient's signature and a thumbnail of the proof-of-delivery photo when given,
//! and the proof's identifier so the receipt can be matched to the POD chain.
//!
//! A receipt is one page by design: at most [`MAX_ITEMS_SHOWN`] items are listed,
//! then "… and N more items".

use serde::{Deserialize, Serialize};

use super::layout::{self, A5, Face, GREY, LIGHT, PageOps, Style};
use super::{Branding, DocError};

/// Items listed on a receipt before the rest are summarised.
pub const MAX_ITEMS_SHOWN: usize = 8;

/// One thing handed over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptItem {
    pub description: String,
    pub quantity: u32,
}

/// What a receipt shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptData {
    pub branding: Branding,
    pub reference: String,
    /// When it was delivered, already formatted (see [`super::format_timestamp`]).
    pub delivered_at: String,
    pub recipient_name: String,
    /// The drop-off address, one printed line each.
    #[serde(default)]
    pub delivered_to: Vec<String>,
    pub courier_name: String,
    #[serde(default)]
    pub items: Vec<ReceiptItem>,
    /// Cash collected on delivery, minor units of `branding.currency`.
    #[serde(default)]
    pub cod_collected_cents: Option<i64>,
    /// The recipient's signature as PNG (or JPEG) bytes.
    #[serde(default)]
    pub signature_png: Option<Vec<u8>>,
    /// A thumbnail of the proof-of-delivery photo, PNG or JPEG; larger images are
    /// scaled down to 600 px.
    #[serde(default)]
    pub photo: Option<Vec<u8>>,
    /// The proof's identifier (e.g. the POD record hash), printed small at the foot.
    #[serde(default)]
    pub proof_id: Option<String>,
}

/// The receipt as a one-page A5 PDF.
///
/// Fails only on an unreadable logo, signature or photo (the error names the field).
pub fn receipt_pdf(data: &ReceiptData) -> Result<Vec<u8>, DocError> {
    let fonts = layout::fonts()?;
    let logo = layout::optional_image(data.branding.logo_png.as_deref(), "branding.logo_png", 800)?;
    let signature = layout::optional_image(data.signature_png.as_deref(), "signature_png", 1200)?;
    let photo = layout::optional_image(data.photo.as_deref(), "photo", 600)?;

    let clean = layout::clean;
    let b = &data.branding;
    let mut p = PageOps::new(fonts, A5);
    let (w, h) = A5;
    let m = 30.0;
    let right = w - m;
    let inner = right - m;

    // Band.
    let band = b.primary_colour;
    let on_band = layout::on_colour(band);
    p.rect(0.0, 0.0, w, 64.0, band);
    let mut name_x = m;
    if let Some(logo) = &logo {
        let (lw, _) = p.image_fit(logo, m, 10.0, 110.0, 44.0);
        name_x += lw + 10.0;
    }
    let title = Style::new(Face::Serif, 11.0).colour(on_band);
    let title_w = fonts.width(title.face, title.size, "Delivery receipt");
    p.text_right(right, 38.0, title, "Delivery receipt");
    p.text_fit(
        name_x,
        38.0,
        Style::new(Face::SerifBold, 16.0).colour(on_band),
        &clean(&b.company_name),
        right - title_w - 12.0 - name_x,
    );

    // Facts.
    let label = Style::new(Face::Serif, 9.0).colour(GREY);
    let value = Style::new(Face::SerifBold, 11.0);
    let vx = m + 90.0;
    let vw = right - vx;
    let mut y = 92.0;
    p.text(m, y, label, "Reference");
    p.text_fit(
        vx,
        y,
        Style::new(Face::MonoBold, 11.0),
        &clean(&data.reference),
        vw,
    );
    y += 18.0;
    for (k, v) in [
        ("Delivered at", &data.delivered_at),
        ("Received by", &data.recipient_name),
    ] {
        p.text(m, y, label, k);
        p.text_fit(vx, y, value, &clean(v), vw);
        y += 18.0;
    }
    if !data.delivered_to.is_empty() {
        p.text(m, y, label, "Delivered to");
        let address = Style::new(Face::Serif, 10.5);
        for line in data.delivered_to.iter().take(3) {
            p.text_fit(vx, y, address, &clean(line), vw);
            y += 13.0;
        }
        y += 5.0;
    }
    p.text(m, y, label, "Courier");
    p.text_fit(vx, y, value, &clean(&data.courier_name), vw);
    y += 24.0;

    // Items.
    if !data.items.is_empty() {
        let head = Style::new(Face::SerifBold, 9.5).colour(layout::on_colour(b.accent_colour));
        p.rect(m, y - 12.0, inner, 17.0, b.accent_colour);
        p.text(m + 5.0, y, head, "Item");
        p.text_right(right - 5.0, y, head, "Qty");
        y += 17.0;
        let row = Style::new(Face::Serif, 10.0);
        let shown = if data.items.len() > MAX_ITEMS_SHOWN {
            MAX_ITEMS_SHOWN - 1
        } else {
            data.items.len()
        };
        for item in &data.items[..shown] {
            p.text_fit(m + 5.0, y, row, &clean(&item.description), inner - 60.0);
            p.text_right(right - 5.0, y, row, &item.quantity.to_string());
            p.hline(m, right, y + 4.5, 0.4, LIGHT);
            y += 15.0;
        }
        if shown < data.items.len() {
            let more = data.items.len() - shown;
            p.text(
                m + 5.0,
                y,
                row.colour(GREY),
                &format!("… and {more} more items"),
            );
            y += 15.0;
        }
        y += 8.0;
    }

    // Cash on delivery.
    if let Some(cod) = data.cod_collected_cents {
        p.rect(m, y - 13.0, inner, 22.0, b.accent_colour);
        let on = layout::on_colour(b.accent_colour);
        p.text(
            m + 6.0,
            y + 2.0,
            Style::new(Face::Serif, 10.5).colour(on),
            "Cash collected on delivery",
        );
        p.text_right(
            right - 6.0,
            y + 2.0,
            Style::new(Face::MonoBold, 12.0).colour(on),
            &layout::format_money(cod, &b.currency),
        );
        y += 32.0;
    }

    // Signature and photo.
    if signature.is_some() || photo.is_some() {
        let box_h = 80.0;
        let top = y;
        if let Some(sig) = &signature {
            p.text(m, top, label, "Signature");
            p.frame(m, top + 5.0, 200.0, box_h, 0.6, LIGHT);
            p.image_fit(sig, m + 4.0, top + 9.0, 192.0, box_h - 8.0);
            p.text_fit(
                m,
                top + box_h + 17.0,
                Style::new(Face::Serif, 9.5),
                &clean(&data.recipient_name),
                200.0,
            );
        }
        if let Some(photo) = &photo {
            let px = right - 120.0;
            p.text(px, top, label, "Photo");
            p.frame(px, top + 5.0, 120.0, box_h, 0.6, LIGHT);
            p.image_fit(photo, px + 2.0, top + 7.0, 116.0, box_h - 4.0);
        }
    }

    // Foot: who issued it, and the proof id.
    let foot = Style::new(Face::Serif, 8.0).colour(GREY);
    let mut parts = vec![clean(&b.company_name)];
    parts.extend(b.address_lines.iter().map(|l| clean(l)));
    if let Some(vat) = &b.vat_id {
        parts.push(format!("VAT ID {}", clean(vat)));
    }
    parts.retain(|s| !s.is_empty());
    p.hline(m, right, h - 42.0, 0.5, LIGHT);
    p.text_fit(m, h - 30.0, foot, &parts.join(" · "), inner);
    if let Some(id) = data.proof_id.as_deref().map(clean)
        && !id.is_empty()
    {
        p.text_fit(
            m,
            h - 18.0,
            Style::new(Face::Mono, 7.0).colour(GREY),
            &format!("Proof {id}"),
            inner,
        );
    }

    layout::render(
        &[p],
        &format!("Delivery receipt {}", clean(&data.reference)),
    )
}

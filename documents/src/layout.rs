//! What every document shares: the bundled fonts (parsed once), text measuring,
//! wrapping and truncation, money/date/weight formatting, image checks, QR codes and
//! Code 128 barcodes as rectangles, and a small display list (`PageOps`) that the
//! documents lay out into before `render` hands it to krilla.
//!
//! Laying out into a display list first keeps pagination simple: a statement knows
//! how many pages it has before "Page k of n" is written, and no krilla borrow has to
//! outlive a page.
//!
//! Coordinates are PDF points (1/72 in), origin at the page's top-left corner, y down
//! (krilla's convention); text is placed by its baseline.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::OnceLock;

use image::{GenericImageView, ImageFormat};
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size as FontSize};
use skrifa::string::StringId;
use skrifa::{FontRef, MetadataProvider};

use super::DocError;

/// Longest piece of free text laid out, in characters; longer input is cut (with
/// "…") before wrapping, so absurd input costs nothing and fails nothing.
pub const MAX_FIELD_CHARS: usize = 1_000;

/// Millimetres to points.
pub(crate) const fn mm(v: f32) -> f32 {
    v * 72.0 / 25.4
}

/// A4 portrait, in points.
pub(crate) const A4: (f32, f32) = (595.28, 841.89);
/// A5 portrait, in points.
pub(crate) const A5: (f32, f32) = (419.53, 595.28);

pub(crate) const BLACK: [u8; 3] = [0, 0, 0];
pub(crate) const WHITE: [u8; 3] = [255, 255, 255];
pub(crate) const GREY: [u8; 3] = [110, 110, 110];
pub(crate) const LIGHT: [u8; 3] = [200, 200, 200];

// ---------------------------------------------------------------------------
// Fonts
// ---------------------------------------------------------------------------

/// The four faces documents use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Face {
    /// Libertinus Serif Regular: running text on invoices, receipts, statements.
    Serif,
    /// Libertinus Serif Bold.
    SerifBold,
    /// DejaVu Sans Mono Book: labels, references, figures.
    Mono,
    /// DejaVu Sans Mono Bold.
    MonoBold,
}

impl Face {
    const ALL: [Face; 4] = [Face::Serif, Face::SerifBold, Face::Mono, Face::MonoBold];

    /// PostScript name of the face in `typst-assets`.
    pub fn postscript_name(self) -> &'static str {
        match self {
            Face::Serif => "LibertinusSerif-Regular",
            Face::SerifBold => "LibertinusSerif-Bold",
            Face::Mono => "DejaVuSansMono",
            Face::MonoBold => "DejaVuSansMono-Bold",
        }
    }

    fn index(self) -> usize {
        match self {
            Face::Serif => 0,
            Face::SerifBold => 1,
            Face::Mono => 2,
            Face::MonoBold => 3,
        }
    }

    /// Where a character missing from this face is looked for: the other family,
    /// same weight.
    fn fallback(self) -> Face {
        match self {
            Face::Serif => Face::Mono,
            Face::SerifBold => Face::MonoBold,
            Face::Mono => Face::Serif,
            Face::MonoBold => Face::SerifBold,
        }
    }
}

struct LoadedFace {
    font: Font,
    /// Character -> (glyph id, advance in em).
    glyphs: HashMap<char, (u32, f32)>,
}

/// The bundled faces with their character maps and advance widths.
pub(crate) struct Fonts {
    faces: [LoadedFace; 4],
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fonts").finish_non_exhaustive()
    }
}

static FONTS: OnceLock<Result<Fonts, String>> = OnceLock::new();

/// The fonts, loaded from `typst-assets` on first use.
pub(crate) fn fonts() -> Result<&'static Fonts, DocError> {
    FONTS
        .get_or_init(load_fonts)
        .as_ref()
        .map_err(|e| DocError::Fonts(e.clone()))
}

fn load_face(data: &'static [u8]) -> Option<(String, LoadedFace)> {
    let font = FontRef::new(data).ok()?;
    let name = font
        .localized_strings(StringId::POSTSCRIPT_NAME)
        .english_or_first()?
        .to_string();
    let upem = f32::from(
        font.metrics(FontSize::unscaled(), LocationRef::default())
            .units_per_em,
    );
    if upem <= 0.0 {
        return None;
    }
    let metrics = font.glyph_metrics(FontSize::unscaled(), LocationRef::default());
    let glyphs = font
        .charmap()
        .mappings()
        .filter_map(|(cp, gid)| {
            let c = char::from_u32(cp)?;
            let advance = metrics.advance_width(gid)? / upem;
            Some((c, (gid.to_u32(), advance)))
        })
        .collect();
    let font = Font::new(krilla::Data::from(data), 0)?;
    Some((name, LoadedFace { font, glyphs }))
}

fn load_fonts() -> Result<Fonts, String> {
    let mut found: [Option<LoadedFace>; 4] = [None, None, None, None];
    for data in typst_assets::fonts() {
        let Some((name, face)) = load_face(data) else {
            continue;
        };
        if let Some(f) = Face::ALL.iter().find(|f| f.postscript_name() == name) {
            found[f.index()] = Some(face);
        }
    }
    let [Some(a), Some(b), Some(c), Some(d)] = found else {
        let missing: Vec<&str> = Face::ALL
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(face, _)| face.postscript_name())
            .collect();
        return Err(format!(
            "typst-assets (feature \"fonts\") lacks {}",
            missing.join(", ")
        ));
    };
    for face in [&a, &b, &c, &d] {
        if !face.glyphs.contains_key(&'?') || !face.glyphs.contains_key(&'…') {
            return Err("a bundled face lacks '?' or '…'".into());
        }
    }
    Ok(Fonts {
        faces: [a, b, c, d],
    })
}

/// A stretch of text drawn with one face.
struct Run {
    face: Face,
    text: String,
    glyphs: Vec<KrillaGlyph>,
    width_em: f32,
}

impl Fonts {
    fn face(&self, face: Face) -> &LoadedFace {
        &self.faces[face.index()]
    }

    /// Whether `face` itself (no fallback) has a glyph for `c`.
    #[cfg(test)]
    pub(crate) fn covers(&self, face: Face, c: char) -> bool {
        self.face(face).glyphs.contains_key(&c)
    }

    /// The face, glyph and advance (em) that print `c`: the face, its fallback, or
    /// `?` from the face.
    fn lookup(&self, face: Face, c: char) -> (Face, char, u32, f32) {
        for f in [face, face.fallback()] {
            if let Some(&(gid, adv)) = self.face(f).glyphs.get(&c) {
                return (f, c, gid, adv);
            }
        }
        let (gid, adv) = self
            .face(face)
            .glyphs
            .get(&'?')
            .copied()
            .unwrap_or((0, 0.5));
        (face, '?', gid, adv)
    }

    /// Width of `text` in points at `size`.
    pub(crate) fn width(&self, face: Face, size: f32, text: &str) -> f32 {
        text.chars().map(|c| self.lookup(face, c).3).sum::<f32>() * size
    }

    fn char_width(&self, face: Face, size: f32, c: char) -> f32 {
        self.lookup(face, c).3 * size
    }

    fn runs(&self, face: Face, text: &str) -> Vec<Run> {
        let mut runs: Vec<Run> = Vec::new();
        for c in text.chars() {
            let (f, printed, gid, adv) = self.lookup(face, c);
            if runs.last().is_none_or(|r| r.face != f) {
                runs.push(Run {
                    face: f,
                    text: String::new(),
                    glyphs: Vec::new(),
                    width_em: 0.0,
                });
            }
            if let Some(run) = runs.last_mut() {
                let start = run.text.len();
                run.text.push(printed);
                run.glyphs.push(KrillaGlyph::new(
                    GlyphId::new(gid),
                    adv,
                    0.0,
                    0.0,
                    0.0,
                    start..run.text.len(),
                    None,
                ));
                run.width_em += adv;
            }
        }
        runs
    }

    /// `text` cut to fit `max_w`, ending in "…" when cut.
    pub(crate) fn fit(&self, face: Face, size: f32, text: &str, max_w: f32) -> String {
        if self.width(face, size, text) <= max_w {
            return text.to_string();
        }
        self.cut_with_ellipsis(face, size, text, max_w)
    }

    /// `text` shortened until it and a trailing "…" fit `max_w`.
    fn cut_with_ellipsis(&self, face: Face, size: f32, text: &str, max_w: f32) -> String {
        let room = max_w - self.char_width(face, size, '…');
        let mut out = String::new();
        let mut w = 0.0;
        for c in text.chars() {
            let cw = self.char_width(face, size, c);
            if w + cw > room {
                break;
            }
            w += cw;
            out.push(c);
        }
        let mut out = out.trim_end().to_string();
        out.push('…');
        out
    }

    /// Greedy word wrap of `text` into lines no wider than `max_w` (words longer than
    /// a line are broken between characters), at most `max_lines` lines; when text is
    /// left over the last line ends in "…".
    pub(crate) fn wrap(
        &self,
        face: Face,
        size: f32,
        text: &str,
        max_w: f32,
        max_lines: usize,
    ) -> Vec<String> {
        let max_lines = max_lines.max(1);
        let space = self.char_width(face, size, ' ');
        let mut lines: Vec<String> = Vec::new();
        let mut cur = String::new();
        let mut cur_w = 0.0;
        for word in text.split(' ').filter(|w| !w.is_empty()) {
            if lines.len() > max_lines {
                break;
            }
            let ww = self.width(face, size, word);
            if !cur.is_empty() && cur_w + space + ww <= max_w {
                cur.push(' ');
                cur.push_str(word);
                cur_w += space + ww;
                continue;
            }
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
                cur_w = 0.0;
            }
            if ww <= max_w {
                cur.push_str(word);
                cur_w = ww;
            } else {
                for c in word.chars() {
                    let cw = self.char_width(face, size, c);
                    if cur_w + cw > max_w && !cur.is_empty() {
                        lines.push(std::mem::take(&mut cur));
                        cur_w = 0.0;
                    }
                    cur.push(c);
                    cur_w += cw;
                }
            }
        }
        if !cur.is_empty() {
            lines.push(cur);
        }
        if lines.len() > max_lines {
            lines.truncate(max_lines);
            if let Some(last) = lines.last_mut() {
                *last = self.cut_with_ellipsis(face, size, last, max_w);
            }
        }
        lines
    }
}

// ---------------------------------------------------------------------------
// Text, money, dates
// ---------------------------------------------------------------------------

/// Free text made printable: control characters and line breaks become spaces,
/// runs of whitespace collapse, invisible format characters go, and anything past
/// [`MAX_FIELD_CHARS`] is replaced by "…".
pub(crate) fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_FIELD_CHARS * 2));
    let mut count = 0;
    let mut last_space = true;
    for c in s.chars() {
        // Zero-width spaces and joiners, bidi controls, word joiners, BOM.
        let invisible = matches!(
            c,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
        );
        if invisible {
            continue;
        }
        if count >= MAX_FIELD_CHARS {
            out.push('…');
            break;
        }
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(c);
        count += 1;
    }
    out.truncate(out.trim_end().len());
    out
}

/// `123.45` for 12345 minor units; `-0.05` for -5. Two decimals, no grouping.
pub(crate) fn format_amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let a = cents.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// An amount in minor units with its currency: `format_money(12345, "EUR")` is
/// `"123.45 EUR"`. Two decimals, a minus sign for negative amounts, no grouping.
pub fn format_money(cents: i64, currency: &str) -> String {
    let currency = clean(currency);
    let currency: String = currency.chars().take(8).collect();
    if currency.is_empty() {
        format_amount(cents)
    } else {
        format!("{} {currency}", format_amount(cents))
    }
}

/// A VAT rate in basis points as a percentage: 2550 -> "25.5%", 2400 -> "24%",
/// 1275 -> "12.75%".
pub(crate) fn format_rate(bp: u32) -> String {
    let (whole, frac) = (bp / 100, bp % 100);
    if frac == 0 {
        format!("{whole}%")
    } else if frac % 10 == 0 {
        format!("{whole}.{}%", frac / 10)
    } else {
        format!("{whole}.{frac:02}%")
    }
}

/// Grams as kilograms with one decimal, rounded half up: 3449 -> "3.4 kg".
pub(crate) fn format_weight(grams: u32) -> String {
    let tenths = (u64::from(grams) + 50) / 100;
    format!("{}.{} kg", tenths / 10, tenths % 10)
}

/// Metres as kilometres with one decimal, rounded half up: 12_350 -> "12.4 km".
pub(crate) fn format_km(metres: u32) -> String {
    let tenths = (u64::from(metres) + 50) / 100;
    format!("{}.{} km", tenths / 10, tenths % 10)
}

/// `n / d` rounded to the nearest integer, halves away from zero (commercial
/// rounding: 0.5 -> 1, -0.5 -> -1). `d` must be positive.
pub(crate) fn div_round_half_away(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    if 2 * r.abs() >= d { q + n.signum() } else { q }
}

/// Epoch milliseconds at a UTC offset (minutes east of UTC) as
/// `"2025-03-14 15:02 +02:00"`. Pure arithmetic, no time-zone database: the caller
/// knows the offset that applied (e.g. the device's at the time of delivery).
pub fn format_timestamp(ms: i64, offset_minutes: i32) -> String {
    let secs = ms.div_euclid(1000) + i64::from(offset_minutes) * 60;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} {sign}{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        off / 60,
        off % 60
    )
}

/// Epoch milliseconds at a UTC offset as a date, `"2025-03-14"`.
pub fn format_date(ms: i64, offset_minutes: i32) -> String {
    let secs = ms.div_euclid(1000) + i64::from(offset_minutes) * 60;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day)
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

/// Black or white, whichever reads better on `bg`.
pub(crate) fn on_colour(bg: [u8; 3]) -> [u8; 3] {
    let [r, g, b] = bg.map(u32::from);
    let luma = (2126 * r + 7152 * g + 722 * b) / 10_000;
    if luma > 150 { BLACK } else { WHITE }
}

// ---------------------------------------------------------------------------
// Images, QR, Code 128
// ---------------------------------------------------------------------------

/// [`load_image`] for an optional field (logo, signature, photo).
pub(crate) fn optional_image(
    bytes: Option<&[u8]>,
    field: &str,
    max_px: u32,
) -> Result<Option<Image>, DocError> {
    bytes.map(|b| load_image(b, field, max_px)).transpose()
}

/// Checks that `bytes` is a PNG or JPEG that decodes, and returns it for krilla;
/// images larger than `max_px` on a side are scaled down first (JPEG, or PNG when
/// the image has transparency), so a camera photo doesn't bloat a receipt.
pub(crate) fn load_image(bytes: &[u8], field: &str, max_px: u32) -> Result<Image, DocError> {
    let bad = |reason: String| DocError::InvalidImage {
        field: field.to_string(),
        reason,
    };
    let format = image::guess_format(bytes).map_err(|_| bad("unrecognised data".into()))?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg) {
        return Err(bad(format!("{format:?} is not accepted")));
    }
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(512 << 20);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| bad(e.to_string()))?;
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return Err(bad("the image is empty".into()));
    }
    let (data, png) = if w <= max_px && h <= max_px {
        (bytes.to_vec(), format == ImageFormat::Png)
    } else {
        let small = img.thumbnail(max_px, max_px);
        let mut out = Vec::new();
        let png = small.color().has_alpha();
        let written = if png {
            small.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        } else {
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
                .encode_image(&small.to_rgb8())
        };
        written.map_err(|e| bad(format!("could not be scaled down: {e}")))?;
        (out, png)
    };
    let data = krilla::Data::from(data);
    if png {
        Image::from_png(data, true)
    } else {
        Image::from_jpeg(data, true)
    }
    .map_err(bad)
}

/// The dark modules of a QR code (error correction M) for `payload`, as rectangles
/// in a `size`×`size` square at (`x`, `y`). Leave 4 modules of white around it.
pub(crate) fn qr_rects(
    payload: &str,
    field: &str,
    x: f32,
    y: f32,
    size: f32,
) -> Result<Vec<[f32; 4]>, DocError> {
    let code = qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| DocError::field(field, format!("cannot be encoded as a QR code: {e}")))?;
    let n = code.width();
    let m = size / n as f32;
    let colours = code.to_colors();
    let mut rects = Vec::new();
    for row in 0..n {
        let mut col = 0;
        while col < n {
            if colours[row * n + col] == qrcode::Color::Dark {
                let start = col;
                while col < n && colours[row * n + col] == qrcode::Color::Dark {
                    col += 1;
                }
                // A hair of overlap so renderers show no seams between rows.
                rects.push([
                    x + start as f32 * m,
                    y + row as f32 * m,
                    (col - start) as f32 * m,
                    m + 0.02,
                ]);
            } else {
                col += 1;
            }
        }
    }
    Ok(rects)
}

/// Longest reference printed as a Code 128 barcode on a label.
pub(crate) const MAX_BARCODE_CHARS: usize = 32;

/// The bars of a Code 128 (character set B) barcode of `data` filling `w`×`h` at
/// (`x`, `y`), quiet zones of 10 modules included in `w`.
pub(crate) fn code128_rects(
    data: &str,
    field: &str,
    x: f32,
    y: f32,
    w: f32,
    h: f32,
) -> Result<Vec<[f32; 4]>, DocError> {
    if data.is_empty() || data.chars().count() > MAX_BARCODE_CHARS {
        return Err(DocError::field(
            field,
            format!("a barcode needs 1 to {MAX_BARCODE_CHARS} characters"),
        ));
    }
    if let Some(c) = data.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(DocError::field(
            field,
            format!("{c:?} cannot be put in a Code 128 barcode (printable ASCII only)"),
        ));
    }
    let modules = barcoders::sym::code128::Code128::new(format!("\u{0181}{data}"))
        .map_err(|e| DocError::field(field, format!("Code 128: {e}")))?
        .encode();
    let mw = w / (modules.len() + 20) as f32;
    let x0 = x + 10.0 * mw;
    let mut rects = Vec::new();
    let mut i = 0;
    while i < modules.len() {
        if modules[i] == 1 {
            let start = i;
            while i < modules.len() && modules[i] == 1 {
                i += 1;
            }
            rects.push([x0 + start as f32 * mw, y, (i - start) as f32 * mw, h]);
        } else {
            i += 1;
        }
    }
    Ok(rects)
}

// ---------------------------------------------------------------------------
// Display list and rendering
// ---------------------------------------------------------------------------

/// How a piece of text is set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Style {
    pub face: Face,
    pub size: f32,
    pub colour: [u8; 3],
}

impl Style {
    pub(crate) const fn new(face: Face, size: f32) -> Style {
        Style {
            face,
            size,
            colour: BLACK,
        }
    }

    pub(crate) const fn colour(self, colour: [u8; 3]) -> Style {
        Style { colour, ..self }
    }
}

/// One drawing operation.
#[derive(Debug)]
enum Op {
    Text {
        x: f32,
        y: f32,
        style: Style,
        text: String,
    },
    Fill {
        rects: Vec<[f32; 4]>,
        colour: [u8; 3],
    },
    Image {
        image: Image,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

/// One page's drawing, in order.
#[derive(Debug)]
pub(crate) struct PageOps {
    pub fonts: &'static Fonts,
    pub width: f32,
    pub height: f32,
    ops: Vec<Op>,
}

impl PageOps {
    pub(crate) fn new(fonts: &'static Fonts, (width, height): (f32, f32)) -> PageOps {
        PageOps {
            fonts,
            width,
            height,
            ops: Vec::new(),
        }
    }

    /// Text with its baseline at `y`, starting at `x`; returns its width.
    pub(crate) fn text(&mut self, x: f32, y: f32, style: Style, text: &str) -> f32 {
        if text.is_empty() {
            return 0.0;
        }
        self.ops.push(Op::Text {
            x,
            y,
            style,
            text: text.to_string(),
        });
        self.fonts.width(style.face, style.size, text)
    }

    /// Text ending at `right`.
    pub(crate) fn text_right(&mut self, right: f32, y: f32, style: Style, text: &str) {
        let w = self.fonts.width(style.face, style.size, text);
        self.text(right - w, y, style, text);
    }

    /// Text centred on `cx`.
    pub(crate) fn text_center(&mut self, cx: f32, y: f32, style: Style, text: &str) {
        let w = self.fonts.width(style.face, style.size, text);
        self.text(cx - w / 2.0, y, style, text);
    }

    /// Text cut with "…" to `max_w`.
    pub(crate) fn text_fit(&mut self, x: f32, y: f32, style: Style, text: &str, max_w: f32) {
        let t = self.fonts.fit(style.face, style.size, text, max_w);
        self.text(x, y, style, &t);
    }

    /// Wrapped text, first baseline at `y`; returns the y below the last line.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn paragraph(
        &mut self,
        x: f32,
        y: f32,
        style: Style,
        text: &str,
        max_w: f32,
        max_lines: usize,
        leading: f32,
    ) -> f32 {
        let lines = self
            .fonts
            .wrap(style.face, style.size, text, max_w, max_lines);
        let mut y = y;
        for line in &lines {
            self.text(x, y, style, line);
            y += leading;
        }
        y
    }

    pub(crate) fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: [u8; 3]) {
        self.fill(vec![[x, y, w, h]], colour);
    }

    /// A horizontal rule.
    pub(crate) fn hline(&mut self, x1: f32, x2: f32, y: f32, width: f32, colour: [u8; 3]) {
        self.rect(x1, y - width / 2.0, x2 - x1, width, colour);
    }

    /// The outline of a box, drawn inside it.
    pub(crate) fn frame(&mut self, x: f32, y: f32, w: f32, h: f32, line: f32, colour: [u8; 3]) {
        self.fill(
            vec![
                [x, y, w, line],
                [x, y + h - line, w, line],
                [x, y, line, h],
                [x + w - line, y, line, h],
            ],
            colour,
        );
    }

    pub(crate) fn fill(&mut self, rects: Vec<[f32; 4]>, colour: [u8; 3]) {
        if !rects.is_empty() {
            self.ops.push(Op::Fill { rects, colour });
        }
    }

    /// `image` scaled to fit `max_w`×`max_h` (aspect kept) with its top-left at
    /// (`x`, `y`); returns the size drawn.
    pub(crate) fn image_fit(
        &mut self,
        image: &Image,
        x: f32,
        y: f32,
        max_w: f32,
        max_h: f32,
    ) -> (f32, f32) {
        let (iw, ih) = image.size();
        let (iw, ih) = (iw.max(1) as f32, ih.max(1) as f32);
        let scale = (max_w / iw).min(max_h / ih);
        let (w, h) = (iw * scale, ih * scale);
        self.ops.push(Op::Image {
            image: image.clone(),
            x,
            y,
            w,
            h,
        });
        (w, h)
    }
}

fn solid(colour: [u8; 3]) -> Fill {
    Fill {
        paint: rgb::Color::new(colour[0], colour[1], colour[2]).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

fn draw_op(surface: &mut Surface<'_>, fonts: &Fonts, op: &Op) {
    match op {
        Op::Text { x, y, style, text } => {
            surface.set_fill(Some(solid(style.colour)));
            let mut cx = *x;
            for run in fonts.runs(style.face, text) {
                surface.draw_glyphs(
                    Point::from_xy(cx, *y),
                    &run.glyphs,
                    fonts.face(run.face).font.clone(),
                    &run.text,
                    style.size,
                    false,
                );
                cx += run.width_em * style.size;
            }
        }
        Op::Fill { rects, colour } => {
            let mut pb = PathBuilder::new();
            for r in rects {
                if let Some(rect) = Rect::from_xywh(r[0], r[1], r[2], r[3]) {
                    pb.push_rect(rect);
                }
            }
            if let Some(path) = pb.finish() {
                surface.set_fill(Some(solid(*colour)));
                surface.draw_path(&path);
            }
        }
        Op::Image { image, x, y, w, h } => {
            if let Some(size) = Size::from_wh(*w, *h) {
                surface.push_transform(&Transform::from_translate(*x, *y));
                surface.draw_image(image.clone(), size);
                surface.pop();
            }
        }
    }
}

/// Writes the pages as one PDF with the bundled fonts embedded (subsetted).
pub(crate) fn render(pages: &[PageOps], title: &str) -> Result<Vec<u8>, DocError> {
    let fonts = fonts()?;
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(title.to_string())
            .creator("Ruta".to_string())
            .language("en".to_string()),
    );
    for p in pages {
        let settings = PageSettings::from_wh(p.width, p.height)
            .ok_or_else(|| DocError::Pdf(format!("bad page size {}×{}", p.width, p.height)))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        for op in &p.ops {
            draw_op(&mut surface, fonts, op);
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| DocError::Pdf(format!("{e:?}")))
}

//! Per-order verification codes: the 6-digit PIN and the QR code a recipient
//! shows the courier, derived offline, rendered, scanned from camera frames and
//! checked.
//!
//! # Derivation
//! `pin = HOTP-truncate(HMAC-SHA256(tenant_secret, "ruta/pod-code/v1\0" || order_id)) mod 10^6`
//! (the dynamic truncation of RFC 4226 §5.3). Every device of the tenant that holds
//! the secret derives the same code with no connection; without the secret the code
//! cannot be computed from the order id. HMAC is implemented here on `sha2` per
//! RFC 2104 (a dozen lines, checked against the RFC 4231 vectors) rather than adding
//! the `hmac` crate. The secret must be at least [`MIN_SECRET_LEN`] random bytes and
//! must only reach devices that verify deliveries (couriers, dispatchers), never
//! clients' devices. Six digits are guessable in 10^6 tries: the PIN screen must
//! limit attempts.
//!
//! What a code proves depends on how it reaches the recipient: it must come by a
//! channel the courier does not hold (the tracking page or message, a slip the
//! client hands over). A code printed on the parcel's own label proves only that
//! the parcel was there.
//!
//! # QR payload
//! `RUTA1:<order_id>:<pin>`, e.g. `RUTA1:3f2a…:042917`. The order id may contain
//! `:` (the PIN is taken after the last one). Rendered at error-correction level
//! **Q** (25 % of codewords recoverable, see [`QR_EC_LEVEL`]).
//!
//! # Scanning
//! [`scan`] decodes camera or file bytes (JPEG, PNG, WebP) and [`scan_gray`] runs
//! `rqrr` on the frame as it is, then, only if nothing decoded, on preprocessed
//! versions (see [`scan_gray`]), stopping at the first pass that decodes something.
//! A frame with no readable QR code is not an error: the result is an empty list
//! (a live camera preview sees no code in most frames, so "nothing" is the normal
//! outcome, not an exceptional one). Only bytes that are not a readable image are
//! an error ([`ScanError`]).

use std::fmt;
use std::io::Cursor;

use image::{GrayImage, ImageFormat, ImageReader, Luma};
use qrcode::{EcLevel, QrCode};
use sha2::{Digest, Sha256};

/// The prefix (and format version) of a Ruta verification QR payload.
pub const PAYLOAD_PREFIX: &str = "RUTA1:";

/// Digits in a PIN.
pub const PIN_DIGITS: usize = 6;

/// The shortest tenant secret [`code_for`] is meant to be used with (bytes).
pub const MIN_SECRET_LEN: usize = 16;

/// Error correction for verification QR codes: **Q** (25 %), not M (15 %).
///
/// The codes are printed on labels and slips (thermal printers fade and smear,
/// labels get scuffed, creased, covered by tape glare) or shown on a cracked phone
/// screen, and read by phone cameras at arm's length. Local damage, not
/// resolution, is what makes such codes fail, and Q recovers from 25 % damaged
/// codewords. The cost is small for a ~50-byte payload: version 5 (37 modules)
/// instead of version 4 (33 modules), i.e. modules 11 % smaller at the same
/// printed size. H (30 %) would need version 6 for little extra benefit.
pub const QR_EC_LEVEL: EcLevel = EcLevel::Q;

/// Frames whose long edge is larger than this are downscaled before the
/// preprocessed scanning passes.
pub const SCAN_LONG_EDGE: u32 = 1000;

/// Decoders refuse frames larger than this on either side (a 48 MP camera gives
/// 8000 × 6000): a bound on memory for bytes from an untrusted file.
pub const MAX_FRAME_SIDE: u32 = 12_000;

/// The verification code of one order.
///
/// `Debug` does not show the PIN (it ends up in logs).
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode {
    order_id: String,
    pin: [u8; PIN_DIGITS],
}

impl VerificationCode {
    /// The order this code belongs to.
    pub fn order_id(&self) -> &str {
        &self.order_id
    }

    /// The 6-digit PIN, leading zeros kept (`"004211"`).
    pub fn pin(&self) -> String {
        self.pin.iter().map(|&d| char::from(d)).collect()
    }

    /// The text encoded in the order's QR code: `RUTA1:<order_id>:<pin>`.
    pub fn qr_payload(&self) -> String {
        format!("{PAYLOAD_PREFIX}{}:{}", self.order_id, self.pin())
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationCode")
            .field("order_id", &self.order_id)
            .field("pin", &"******")
            .finish()
    }
}

/// The verification code of `order_id` under the tenant's `secret`.
///
/// Deterministic: the same secret and order id give the same code on every device.
/// See the module docs for the derivation and the requirements on `secret`.
pub fn code_for(secret: &[u8], order_id: &str) -> VerificationCode {
    let mac = hmac_sha256(secret, &[b"ruta/pod-code/v1\0", order_id.as_bytes()]);
    // RFC 4226 dynamic truncation: 31 bits from an offset chosen by the last nibble.
    let offset = usize::from(mac[31] & 0x0f);
    let bits = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    let mut value = bits % 1_000_000;
    let mut pin = [b'0'; PIN_DIGITS];
    for d in pin.iter_mut().rev() {
        // `value % 10` is below 10, so the cast cannot truncate.
        *d = b'0' + (value % 10) as u8;
        value /= 10;
    }
    VerificationCode {
        order_id: order_id.to_owned(),
        pin,
    }
}

/// HMAC-SHA256 (RFC 2104) of the concatenation of `parts` under `key`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// A QR payload could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error("the text is too long for a QR code ({len} bytes)")]
    TooLong { len: usize },
    #[error("module size must be 1 to 64 pixels, got {0}")]
    ModuleSize(u32),
    #[error("could not encode the QR code as PNG: {0}")]
    Png(String),
}

/// The QR code of `payload` as a grayscale image: one pixel per module, black on
/// white, with the standard 4-module quiet zone. Scale it with nearest-neighbour
/// sampling (or use [`qr_png`]) so module edges stay sharp.
pub fn qr_image(payload: &str) -> Result<GrayImage, QrError> {
    render(payload, 1)
}

/// The QR code of `payload` as PNG bytes, `module_px` pixels per module (1–64),
/// quiet zone included.
pub fn qr_png(payload: &str, module_px: u32) -> Result<Vec<u8>, QrError> {
    if !(1..=64).contains(&module_px) {
        return Err(QrError::ModuleSize(module_px));
    }
    let img = render(payload, module_px)?;
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|e| QrError::Png(e.to_string()))?;
    Ok(png)
}

fn render(payload: &str, module_px: u32) -> Result<GrayImage, QrError> {
    let code = QrCode::with_error_correction_level(payload, QR_EC_LEVEL)
        .map_err(|_| QrError::TooLong { len: payload.len() })?;
    Ok(code
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(module_px, module_px)
        .build())
}

/// Bytes that are not a readable image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("not a readable image (expected JPEG, PNG or WebP): {0}")]
    Undecodable(String),
    #[error("the image is too large to scan ({0})")]
    TooLarge(String),
}

/// Every QR code text found in an encoded camera frame or image file (JPEG, PNG or
/// WebP), in detection order without duplicates. No QR code found is `Ok(vec![])`.
/// EXIF orientation is not applied: a QR code reads in any rotation.
pub fn scan(frame: &[u8]) -> Result<Vec<String>, ScanError> {
    let mut reader = ImageReader::new(Cursor::new(frame))
        .with_guessed_format()
        .map_err(|e| ScanError::Undecodable(e.to_string()))?;
    if reader.format().is_none() {
        return Err(ScanError::Undecodable(
            "the bytes are not in a known image format".into(),
        ));
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_FRAME_SIDE);
    limits.max_image_height = Some(MAX_FRAME_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(l) => ScanError::TooLarge(l.to_string()),
        other => ScanError::Undecodable(other.to_string()),
    })?;
    Ok(scan_gray(&img.to_luma8()))
}

/// The passes [`scan_gray`] makes, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pass {
    /// The frame as it is (rqrr's own threshold: a running mean along rows).
    AsIs,
    /// Downscaled to [`SCAN_LONG_EDGE`], contrast stretched, slightly blurred.
    Smoothed,
    /// The smoothed image binarised with one global Otsu threshold.
    Otsu,
    /// The stretched image upscaled 1.5× with Catmull-Rom (sharpening) interpolation.
    Upscaled,
    /// The stretched image upscaled 2× with bilinear interpolation.
    Upscaled2,
    /// The stretched image upscaled 1.5×, blurred, Otsu-binarised.
    UpscaledOtsu,
}

/// Every QR code text found in a grayscale frame, in detection order without
/// duplicates; empty if none.
///
/// Passes, stopping at the first that decodes anything:
/// 1. the frame as it is;
/// 2. the *work image*: downscaled so the long edge is at most
///    [`SCAN_LONG_EDGE`] px (area averaging, which also averages sensor noise
///    away and bounds the cost of the later passes), contrast stretched between
///    the 1st and 99th brightness percentiles, blurred slightly (σ = 1 px) against
///    noise and JPEG blocks;
/// 3. that image binarised with one global Otsu threshold (low contrast, where
///    rqrr's local threshold turns noise into speckle);
/// 4. the work image (unblurred) upscaled 1.5× (Catmull-Rom) and
/// 5. 2× (bilinear): rqrr, like quirc, finds finder patterns by comparing
///    pixel run lengths with 1:1:3:1:1, which fails when a module is only 3–5 px
///    and runs are rounded to whole pixels; resampling puts the module edges at
///    other sub-pixel phases and gives the runs more pixels;
/// 6. the 1.5× image blurred (σ = 1.5 px) and Otsu-binarised.
///
/// On synthetic phone photos of a label (module size 3.5–7 px, rotations 0–30°,
/// high and low contrast, noise, JPEG), rqrr on the frame as it is read 16 of
/// 48; these passes read 35 (the rest are low-contrast codes with modules under
/// 5 px, which nothing here reads). A frame with no code runs every pass; the
/// upscaled passes work on at most 2000 × 1500 px whatever the input size, but
/// a live preview should still scan a frame only when the previous scan is done.
pub fn scan_gray(img: &GrayImage) -> Vec<String> {
    scan_passes(img).0
}

fn scan_passes(img: &GrayImage) -> (Vec<String>, Option<Pass>) {
    use image::imageops::{FilterType, blur, resize};
    if img.width() == 0 || img.height() == 0 {
        return (Vec::new(), None);
    }
    let found = decode_adaptive(img);
    if !found.is_empty() {
        return (found, Some(Pass::AsIs));
    }
    let mut work = downscale(img, SCAN_LONG_EDGE);
    stretch_contrast(&mut work);
    let (w, h) = work.dimensions();
    let smooth = blur(&work, 1.0);
    let passes: [(Pass, &dyn Fn() -> Vec<String>); 5] = [
        (Pass::Smoothed, &|| decode_adaptive(&smooth)),
        (Pass::Otsu, &|| decode_binary(&smooth)),
        (Pass::Upscaled, &|| {
            decode_adaptive(&resize(&work, w * 3 / 2, h * 3 / 2, FilterType::CatmullRom))
        }),
        (Pass::Upscaled2, &|| {
            decode_adaptive(&resize(&work, w * 2, h * 2, FilterType::Triangle))
        }),
        (Pass::UpscaledOtsu, &|| {
            let up = resize(&work, w * 3 / 2, h * 3 / 2, FilterType::Triangle);
            decode_binary(&blur(&up, 1.5))
        }),
    ];
    for (pass, run) in passes {
        let found = run();
        if !found.is_empty() {
            return (found, Some(pass));
        }
    }
    (Vec::new(), None)
}

/// rqrr with its own binarisation.
fn decode_adaptive(img: &GrayImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare(img.clone());
    decode_grids(prepared.detect_grids())
}

/// rqrr on `img` binarised with its Otsu threshold.
fn decode_binary(img: &GrayImage) -> Vec<String> {
    let t = otsu_threshold(img);
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare_from_bitmap(w, h, |x, y| {
        // x < w and y < h came from u32 dimensions.
        img.get_pixel(x as u32, y as u32).0[0] <= t
    });
    decode_grids(prepared.detect_grids())
}

/// The texts of the grids that decode, without duplicates.
fn decode_grids<G: rqrr::BitGrid>(grids: Vec<rqrr::Grid<G>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for grid in grids {
        if let Ok((_, text)) = grid.decode()
            && !out.contains(&text)
        {
            out.push(text);
        }
    }
    out
}

/// `img` scaled down (never up) so its long edge is at most `long_edge`.
fn downscale(img: &GrayImage, long_edge: u32) -> GrayImage {
    let (w, h) = img.dimensions();
    let long = w.max(h);
    if long <= long_edge {
        return img.clone();
    }
    let scale = f64::from(long_edge) / f64::from(long);
    // Both results lie in 1..=long_edge, so the casts cannot truncate.
    let nw = ((f64::from(w) * scale).round() as u32).max(1);
    let nh = ((f64::from(h) * scale).round() as u32).max(1);
    image::imageops::resize(img, nw, nh, image::imageops::FilterType::Triangle)
}

/// Maps the 1st..99th brightness percentiles to 0..255 (no-op on flat images).
fn stretch_contrast(img: &mut GrayImage) {
    let hist = histogram(img);
    let total: u64 = hist.iter().sum();
    let cut = total / 100;
    let mut acc = 0;
    let lo = hist
        .iter()
        .position(|&c| {
            acc += c;
            acc > cut
        })
        .unwrap_or(0);
    acc = 0;
    let hi = 255
        - hist
            .iter()
            .rev()
            .position(|&c| {
                acc += c;
                acc > cut
            })
            .unwrap_or(0);
    if hi <= lo + 1 {
        return;
    }
    let (lo, span) = (lo as f32, (hi - lo) as f32);
    for p in img.pixels_mut() {
        let v = (f32::from(p.0[0]) - lo) * 255.0 / span;
        // Clamped to 0..=255 first, so the cast cannot truncate.
        p.0[0] = v.round().clamp(0.0, 255.0) as u8;
    }
}

fn histogram(img: &GrayImage) -> [u64; 256] {
    let mut hist = [0u64; 256];
    for p in img.pixels() {
        hist[usize::from(p.0[0])] += 1;
    }
    hist
}

/// Otsu's threshold: the level that maximises the between-class variance of the
/// brightness histogram. Pixels at or below it are dark.
fn otsu_threshold(img: &GrayImage) -> u8 {
    let hist = histogram(img);
    let total: u64 = hist.iter().sum();
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(v, &c)| v as f64 * c as f64)
        .sum();
    let (mut w_dark, mut sum_dark) = (0u64, 0f64);
    let (mut best, mut best_var) = (127u8, -1f64);
    for (level, &count) in (0u8..=255).zip(hist.iter()) {
        w_dark += count;
        sum_dark += f64::from(level) * count as f64;
        let w_light = total - w_dark;
        if w_dark == 0 || w_light == 0 {
            continue;
        }
        let mean_dark = sum_dark / w_dark as f64;
        let mean_light = (sum_all - sum_dark) / w_light as f64;
        let var = w_dark as f64 * w_light as f64 * (mean_dark - mean_light).powi(2);
        if var > best_var {
            best_var = var;
            best = level;
        }
    }
    best
}

/// A verification failed; the message is for the courier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("this is not a Ruta delivery code")]
    NotRutaCode,
    #[error("this QR code belongs to order {scanned}, not to order {expected}")]
    WrongOrder { scanned: String, expected: String },
    #[error("the code does not match this order")]
    WrongCode,
    #[error("a PIN has only the digits 0-9")]
    PinNotDigits,
    #[error("a PIN has {PIN_DIGITS} digits, this one has {0}")]
    PinLength(usize),
}

/// A Ruta QR payload, split into its parts.
#[derive(Clone, PartialEq, Eq)]
pub struct ScannedCode {
    pub order_id: String,
    pub pin: String,
}

impl fmt::Debug for ScannedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScannedCode")
            .field("order_id", &self.order_id)
            .field("pin", &"******")
            .finish()
    }
}

/// Splits `RUTA1:<order_id>:<pin>` (surrounding whitespace ignored).
pub fn parse_payload(scanned: &str) -> Result<ScannedCode, VerifyError> {
    let rest = scanned
        .trim()
        .strip_prefix(PAYLOAD_PREFIX)
        .ok_or(VerifyError::NotRutaCode)?;
    let (order_id, pin) = rest.rsplit_once(':').ok_or(VerifyError::NotRutaCode)?;
    if order_id.is_empty() || pin.len() != PIN_DIGITS || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::NotRutaCode);
    }
    Ok(ScannedCode {
        order_id: order_id.to_owned(),
        pin: pin.to_owned(),
    })
}

/// Checks a scanned QR text against the code of the order being delivered.
///
/// `expected` is `code_for(secret, order_id)`; the scanned order id is compared
/// with `order_id` and the PIN with `expected`, so an inconsistent pair fails
/// closed.
pub fn check_scan(
    expected: &VerificationCode,
    order_id: &str,
    scanned: &str,
) -> Result<(), VerifyError> {
    let code = parse_payload(scanned)?;
    if code.order_id != order_id {
        return Err(VerifyError::WrongOrder {
            scanned: code.order_id,
            expected: order_id.to_owned(),
        });
    }
    if digits_equal(&expected.pin, code.pin.as_bytes()) {
        Ok(())
    } else {
        Err(VerifyError::WrongCode)
    }
}

/// Checks a PIN typed by the courier (as told by the recipient).
///
/// Whitespace anywhere is ignored (`" 042 917 "`); ASCII digits, Arabic-Indic
/// digits and full-width digits are accepted; the comparison takes the same time
/// wherever the digits differ.
pub fn check_pin(expected: &VerificationCode, typed: &str) -> Result<(), VerifyError> {
    let mut digits = Vec::with_capacity(PIN_DIGITS);
    for c in typed.chars().filter(|c| !c.is_whitespace()) {
        digits.push(ascii_digit(c).ok_or(VerifyError::PinNotDigits)?);
    }
    if digits.len() != PIN_DIGITS {
        return Err(VerifyError::PinLength(digits.len()));
    }
    if digits_equal(&expected.pin, &digits) {
        Ok(())
    } else {
        Err(VerifyError::WrongCode)
    }
}

/// The ASCII digit for a decimal digit in the scripts phone keyboards commonly
/// produce: ASCII, Arabic-Indic, Extended Arabic-Indic (Persian, Urdu), full-width.
fn ascii_digit(c: char) -> Option<u8> {
    let zero = match c {
        '0'..='9' => '0',
        '\u{0660}'..='\u{0669}' => '\u{0660}',
        '\u{06F0}'..='\u{06F9}' => '\u{06F0}',
        '\u{FF10}'..='\u{FF19}' => '\u{FF10}',
        _ => return None,
    };
    // The offset is 0..=9 by the ranges above.
    Some(b'0' + (u32::from(c) - u32::from(zero)) as u8)
}

/// Equality of two digit strings of length [`PIN_DIGITS`] without an early exit.
fn digits_equal(a: &[u8; PIN_DIGITS], b: &[u8]) -> bool {
    if b.len() != PIN_DIGITS {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests;

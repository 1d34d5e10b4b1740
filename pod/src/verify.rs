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
mod tests {
    use super::*;

    const SECRET: &[u8] = b"tenant-secret-0123456789abcdef";
    const ORDER: &str = "3f2a9c0e-11d4-4b7a-8c21-5d9e0f6a7b13";

    /// SplitMix64: a small seeded generator for reproducible test frames.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Approximately standard normal (four uniforms, rescaled).
        fn gauss(&mut self) -> f64 {
            ((0..4).map(|_| self.unit()).sum::<f64>() - 2.0) * 3f64.sqrt()
        }
    }

    fn clamp_u8(v: f64) -> u8 {
        v.round().clamp(0.0, 255.0) as u8
    }

    /// A table-top photo: shading, wavy wood-like stripes, a few dark objects,
    /// sensor noise.
    fn texture(w: u32, h: u32, rng: &mut Rng) -> GrayImage {
        let rects: Vec<(u32, u32, u32, u32, f64)> = (0..6)
            .map(|_| {
                let x = (rng.unit() * f64::from(w)) as u32;
                let y = (rng.unit() * f64::from(h)) as u32;
                let rw = 40 + (rng.unit() * 200.0) as u32;
                let rh = 40 + (rng.unit() * 150.0) as u32;
                (x, y, rw, rh, 40.0 + rng.unit() * 60.0)
            })
            .collect();
        GrayImage::from_fn(w, h, |x, y| {
            let (fx, fy) = (f64::from(x), f64::from(y));
            let mut v = 120.0 + 50.0 * fx / f64::from(w) + 15.0 * (fx / 37.0 + fy / 90.0).sin();
            v += 8.0 * (fy / 7.0 + (fx / 60.0).sin() * 3.0).sin();
            for &(rx, ry, rw, rh, dark) in &rects {
                if (rx..rx + rw).contains(&x) && (ry..ry + rh).contains(&y) {
                    v -= dark;
                }
            }
            Luma([clamp_u8(v + 4.0 * rng.gauss())])
        })
    }

    /// Draws `qr` (one pixel per module, quiet zone included) into `frame`,
    /// centred at `centre`, rotated by `angle_deg`, `module_px` frame pixels per
    /// module, dark and light modules at the given brightness. Bilinear sampling
    /// by inverse mapping, so module edges are soft like a camera's.
    fn place(
        frame: &mut GrayImage,
        qr: &GrayImage,
        centre: (f64, f64),
        angle_deg: f64,
        module_px: f64,
        (dark, light): (f64, f64),
    ) {
        let (qw, qh) = (f64::from(qr.width()), f64::from(qr.height()));
        let (sin, cos) = angle_deg.to_radians().sin_cos();
        let at = |ix: i64, iy: i64| -> f64 {
            if ix < 0 || iy < 0 || ix >= i64::from(qr.width()) || iy >= i64::from(qr.height()) {
                1.0
            } else {
                f64::from(qr.get_pixel(ix as u32, iy as u32).0[0]) / 255.0
            }
        };
        for y in 0..frame.height() {
            for x in 0..frame.width() {
                let (dx, dy) = (f64::from(x) + 0.5 - centre.0, f64::from(y) + 0.5 - centre.1);
                // Inverse rotation, then frame pixels -> module coordinates.
                let u = (dx * cos + dy * sin) / module_px + qw / 2.0;
                let v = (-dx * sin + dy * cos) / module_px + qh / 2.0;
                if u < 0.0 || v < 0.0 || u > qw || v > qh {
                    continue;
                }
                let (u, v) = (u - 0.5, v - 0.5);
                let (x0, y0) = (u.floor(), v.floor());
                let (tx, ty) = (u - x0, v - y0);
                let (ix, iy) = (x0 as i64, y0 as i64);
                let top = at(ix, iy) * (1.0 - tx) + at(ix + 1, iy) * tx;
                let bottom = at(ix, iy + 1) * (1.0 - tx) + at(ix + 1, iy + 1) * tx;
                let s = top * (1.0 - ty) + bottom * ty;
                frame.put_pixel(x, y, Luma([clamp_u8(dark + (light - dark) * s)]));
            }
        }
    }

    fn add_noise(img: &mut GrayImage, sigma: f64, rng: &mut Rng) {
        for p in img.pixels_mut() {
            p.0[0] = clamp_u8(f64::from(p.0[0]) + sigma * rng.gauss());
        }
    }

    fn jpeg(img: &GrayImage, quality: u8) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(img)
            .unwrap();
        out
    }

    fn decoded(bytes: &[u8]) -> GrayImage {
        image::load_from_memory(bytes).unwrap().to_luma8()
    }

    /// A phone photo of a printed label: the code pasted into a 1280 × 960
    /// table-top scene, rotated 23°, the frame scaled to 60 %, noise, JPEG 70.
    fn photographed(payload: &str, seed: u64) -> Vec<u8> {
        let mut rng = Rng(seed);
        let mut frame = texture(1280, 960, &mut rng);
        place(
            &mut frame,
            &qr_image(payload).unwrap(),
            (700.0, 430.0),
            23.0,
            8.0,
            (25.0, 235.0),
        );
        let mut small =
            image::imageops::resize(&frame, 768, 576, image::imageops::FilterType::Triangle);
        add_noise(&mut small, 8.0, &mut rng);
        jpeg(&small, 70)
    }

    /// A faded label, out of focus, in poor light.
    fn faded(payload: &str, seed: u64, p: (f64, f64, f64, f32, f64)) -> Vec<u8> {
        let (module, angle, dark, blur, noise) = p;
        let mut rng = Rng(seed);
        let mut frame = texture(1280, 960, &mut rng);
        place(
            &mut frame,
            &qr_image(payload).unwrap(),
            (600.0, 500.0),
            angle,
            module,
            (dark, dark + 40.0),
        );
        let mut frame = image::imageops::blur(&frame, blur);
        add_noise(&mut frame, noise, &mut rng);
        jpeg(&frame, 75)
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        let cases: [(&[u8], &[u8], &str); 3] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                // A key longer than the block is hashed first.
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, data, want) in cases {
            let (a, b) = data.split_at(data.len() / 2);
            let mac = hmac_sha256(key, &[a, b]);
            assert_eq!(ruta_domain::hex(&mac), want);
        }
    }

    #[test]
    fn codes_are_stable_and_differ_between_orders_and_secrets() {
        // Pinned values, computed independently (Python's hmac module).
        assert_eq!(code_for(SECRET, "order-1").pin(), "824489");
        assert_eq!(code_for(SECRET, ORDER).pin(), "023275");
        let zero = code_for(SECRET, "order-0");
        assert_eq!(zero.pin(), "045327", "leading zeros kept");
        assert_eq!(code_for(SECRET, "order-1"), code_for(SECRET, "order-1"));

        let pins: std::collections::BTreeSet<String> = (0..300)
            .map(|i| code_for(SECRET, &format!("order-{i}")).pin())
            .collect();
        assert!(pins.len() >= 295, "{} distinct of 300", pins.len());
        assert!(
            pins.iter()
                .all(|p| p.len() == 6 && p.bytes().all(|b| b.is_ascii_digit()))
        );
        let other_secret = b"tenant-secret-0123456789abcdeF";
        let same = (0..300)
            .filter(|i| {
                let id = format!("order-{i}");
                code_for(SECRET, &id) == code_for(other_secret, &id)
            })
            .count();
        assert!(same <= 2, "{same} of 300 codes equal under another secret");
    }

    #[test]
    fn payload_and_debug_form() {
        let code = code_for(SECRET, ORDER);
        assert_eq!(code.order_id(), ORDER);
        assert_eq!(code.qr_payload(), format!("RUTA1:{ORDER}:023275"));
        let debug = format!("{code:?}");
        assert!(!debug.contains("023275"), "{debug}");
        let scanned = parse_payload(&code.qr_payload()).unwrap();
        assert!(!format!("{scanned:?}").contains("023275"));
        // An order id with a colon survives the round trip.
        let odd = code_for(SECRET, "tenant:R-0001");
        assert_eq!(
            parse_payload(&odd.qr_payload()).unwrap().order_id,
            "tenant:R-0001"
        );
    }

    #[test]
    fn a_rendered_code_round_trips_through_png() {
        let code = code_for(SECRET, ORDER);
        let img = qr_image(&code.qr_payload()).unwrap();
        // Version 5 (37 modules) plus a 4-module quiet zone on each side.
        assert_eq!(img.dimensions(), (45, 45));
        for i in 0..45 {
            for (x, y) in [(i, 0), (0, i), (i, 44), (44, i), (i, 3), (3, i)] {
                assert_eq!(img.get_pixel(x, y).0[0], 255, "quiet zone at {x},{y}");
            }
        }
        let png = qr_png(&code.qr_payload(), 6).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(scan(&png).unwrap(), vec![code.qr_payload()]);
        // The level is Q (format bits 0b11), end to end.
        let big = decoded(&png);
        let mut prepared = rqrr::PreparedImage::prepare(big);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (meta, text) = grids[0].decode().unwrap();
        assert_eq!((meta.ecc_level, text), (3, code.qr_payload()));
    }

    #[test]
    fn rendering_refuses_bad_arguments() {
        assert_eq!(qr_png("x", 0), Err(QrError::ModuleSize(0)));
        assert_eq!(qr_png("x", 65), Err(QrError::ModuleSize(65)));
        let long = "x".repeat(3000);
        assert_eq!(qr_image(&long), Err(QrError::TooLong { len: 3000 }));
    }

    #[test]
    fn a_photographed_label_is_read() {
        let payload = code_for(SECRET, ORDER).qr_payload();
        for seed in 0..2 {
            let frame = photographed(&payload, seed);
            assert_eq!(scan(&frame).unwrap(), vec![payload.clone()], "seed {seed}");
        }
    }

    #[test]
    fn a_faded_blurred_label_needs_and_gets_preprocessing() {
        let payload = code_for(SECRET, ORDER).qr_payload();
        for seed in 0..2 {
            let img = decoded(&faded(&payload, seed, (7.0, 17.0, 110.0, 0.8, 5.0)));
            assert!(
                decode_adaptive(&img).is_empty(),
                "rqrr alone reads seed {seed}"
            );
            let (found, pass) = scan_passes(&img);
            assert_eq!(found, vec![payload.clone()], "seed {seed}");
            assert_ne!(pass, Some(Pass::AsIs));
        }
    }

    #[test]
    fn a_photo_without_a_code_yields_nothing() {
        let mut rng = Rng(99);
        let photo = texture(1280, 960, &mut rng);
        assert_eq!(scan(&jpeg(&photo, 80)).unwrap(), Vec::<String>::new());
        assert!(scan_gray(&GrayImage::new(0, 0)).is_empty());
    }

    #[test]
    fn bytes_that_are_no_image_are_an_error() {
        for bytes in [&b""[..], b"not an image at all", &[0u8; 64]] {
            assert!(
                matches!(scan(bytes), Err(ScanError::Undecodable(_))),
                "{bytes:?}"
            );
        }
        let png = qr_png("RUTA1:o:123456", 4).unwrap();
        let truncated = &png[..png.len() / 2];
        let err = scan(truncated).unwrap_err();
        assert!(matches!(err, ScanError::Undecodable(_)), "{err:?}");
        assert!(err.to_string().starts_with("not a readable image"), "{err}");
    }

    #[test]
    fn a_frame_claiming_huge_dimensions_is_refused_before_decoding() {
        // A PNG whose header claims 20000 × 20000 px (a decompression bomb).
        let mut png = qr_png("RUTA1:o:123456", 1).unwrap();
        png[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(
            matches!(scan(&png), Err(ScanError::TooLarge(_))),
            "{:?}",
            scan(&png)
        );
    }

    /// CRC-32 (IEEE), bit by bit: enough to re-seal a PNG chunk.
    fn crc32(bytes: &[u8]) -> u32 {
        !bytes.iter().fold(!0u32, |mut c, &b| {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    (c >> 1) ^ 0xedb8_8320
                } else {
                    c >> 1
                };
            }
            c
        })
    }

    #[test]
    fn check_scan_accepts_the_code_and_names_what_is_wrong() {
        let code = code_for(SECRET, ORDER);
        assert_eq!(check_scan(&code, ORDER, &code.qr_payload()), Ok(()));
        assert_eq!(
            check_scan(&code, ORDER, &format!(" {}\n", code.qr_payload())),
            Ok(())
        );

        let other = code_for(SECRET, "order-9");
        let err = check_scan(&code, ORDER, &other.qr_payload()).unwrap_err();
        assert_eq!(
            err,
            VerifyError::WrongOrder {
                scanned: "order-9".into(),
                expected: ORDER.into()
            }
        );
        assert_eq!(
            err.to_string(),
            format!("this QR code belongs to order order-9, not to order {ORDER}")
        );

        let pin = code.pin();
        let wrong = format!(
            "RUTA1:{ORDER}:{}",
            if pin == "000000" { "000001" } else { "000000" }
        );
        assert_eq!(
            check_scan(&code, ORDER, &wrong),
            Err(VerifyError::WrongCode)
        );
        // A code derived with another tenant's secret.
        let foreign = code_for(b"another tenant's secret", ORDER);
        assert_ne!(foreign.pin(), code.pin());
        assert_eq!(
            check_scan(&code, ORDER, &foreign.qr_payload()),
            Err(VerifyError::WrongCode)
        );

        for text in [
            "https://example.com/track/123",
            "RUTA1:",
            "RUTA1::123456",
            &format!("RUTA1:{ORDER}:12345"),
            &format!("RUTA1:{ORDER}:12345a"),
            &format!("RUTA2:{ORDER}:{pin}"),
            &format!("ruta1:{ORDER}:{pin}"),
        ] {
            assert_eq!(
                check_scan(&code, ORDER, text),
                Err(VerifyError::NotRutaCode),
                "{text}"
            );
        }
    }

    #[test]
    fn check_pin_accepts_the_pin_as_people_type_it() {
        let code = code_for(SECRET, ORDER); // 023275
        for typed in [
            "023275",
            " 023275 ",
            "023 275",
            "\u{0660}\u{0662}\u{0663}\u{0662}\u{0667}\u{0665}",
            "\u{FF10}\u{FF12}\u{FF13}\u{FF12}\u{FF17}\u{FF15}",
        ] {
            assert_eq!(check_pin(&code, typed), Ok(()), "{typed:?}");
        }
        assert_eq!(check_pin(&code, "023276"), Err(VerifyError::WrongCode));
        assert_eq!(check_pin(&code, "230275"), Err(VerifyError::WrongCode));
        assert_eq!(check_pin(&code, "02327a"), Err(VerifyError::PinNotDigits));
        assert_eq!(check_pin(&code, "023-275"), Err(VerifyError::PinNotDigits));
        assert_eq!(check_pin(&code, "02327"), Err(VerifyError::PinLength(5)));
        assert_eq!(check_pin(&code, "0232750"), Err(VerifyError::PinLength(7)));
        assert_eq!(check_pin(&code, "   "), Err(VerifyError::PinLength(0)));
        assert_eq!(
            VerifyError::PinLength(5).to_string(),
            "a PIN has 6 digits, this one has 5"
        );
    }

    #[test]
    fn otsu_splits_two_populations_and_stretch_spans_the_range() {
        let img = GrayImage::from_fn(100, 10, |x, _| Luma([if x < 40 { 100 } else { 140 }]));
        let t = otsu_threshold(&img);
        assert!((100..140).contains(&t), "{t}");
        let mut flat = img.clone();
        stretch_contrast(&mut flat);
        assert_eq!(flat.get_pixel(0, 0).0[0], 0);
        assert_eq!(flat.get_pixel(99, 0).0[0], 255);
        let mut uniform = GrayImage::from_pixel(10, 10, Luma([77]));
        stretch_contrast(&mut uniform);
        assert!(uniform.pixels().all(|p| p.0[0] == 77));
        let big = GrayImage::new(4000, 3000);
        assert_eq!(downscale(&big, SCAN_LONG_EDGE).dimensions(), (1000, 750));
        assert_eq!(
            downscale(&GrayImage::new(800, 600), SCAN_LONG_EDGE).dimensions(),
            (800, 600)
        );
    }
}

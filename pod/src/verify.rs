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
//! must only reach operators' devices and the server: with it, any order's code
//! can be computed. Couriers' devices get a [`crate::verifier::Verifier`] per
//! order of theirs instead, which checks a code without revealing it. Six digits
//! are guessable in 10^6 tries: the PIN screen must limit attempts.
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

use std::io::Cursor;

use image::{GrayImage, ImageFormat, ImageReader, Luma};
use qrcode::{EcLevel, QrCode};
pub use ruta_domain::codes::{
    MIN_SECRET_LEN, PAYLOAD_PREFIX, PIN_DIGITS, ScannedCode, VerificationCode, VerifyError,
    check_pin, check_scan, code_for, hmac_sha256, parse_payload,
};

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

#[cfg(test)]
mod tests;

//! POD photos: camera or file bytes -> the photo stored with a proof of delivery.
//!
//! [`process`] works offline on the device (and on the server for uploads):
//!
//! 1. **Checks before decoding.** Empty input, more than
//!    [`PhotoPolicy::max_input_bytes`], and anything that is not JPEG, PNG or WebP
//!    (sniffed from the bytes' signature, never from a file name) are refused. The
//!    header's declared dimensions are read without decoding pixels, and an image
//!    declaring more than [`PhotoPolicy::max_input_pixels`] (or an edge over
//!    [`MAX_EDGE_DECLARED`]) is refused before any pixel buffer is allocated, so an
//!    "image bomb" (a small file declaring 50,000 × 50,000 pixels) costs nothing. The
//!    decoder also runs under [`image::Limits`] (edge and allocation caps) as a second
//!    line. A JPEG whose entropy-coded data has no end-of-image marker is refused as
//!    truncated (a cut-off upload would otherwise decode with a grey lower part).
//! 2. **Decode, resize, orient.** The longest edge is brought down to
//!    [`PhotoPolicy::max_edge_px`] (never up) with a Catmull-Rom filter
//!    (`fast_image_resize`, SIMD), then the EXIF orientation is applied (on the small
//!    image, where it is cheap), so the stored photo is upright without any tag.
//!    Transparent pixels are composited on white.
//! 3. **Re-encode.** Baseline JPEG at [`PhotoPolicy::jpeg_quality`] (`jpeg-encoder`,
//!    SIMD; 4:2:0 chroma below quality 90). The encoder writes only a JFIF header:
//!    every metadata segment of the input (EXIF, XMP, ICC, maker notes, thumbnails)
//!    is gone. If the result is larger than [`PhotoPolicy::max_output_bytes`], the
//!    quality is lowered stepwise ([`QUALITY_STEP`] at a time, down to
//!    [`MIN_QUALITY`]); if even that is too big, the dimensions shrink by
//!    [`SHRINK_STEP`] until it fits.
//!
//! The same input always gives the same bytes (and so the same hash). Speed, from
//! `cargo bench -p ruta-pod --bench pod_photo`: a 12 MP phone-like JPEG (3.3 MB)
//! takes ~150-165 ms on one core, about two thirds of it in the JPEG decoder; a
//! grainy 10 MB one ~260 ms. ICC profiles are dropped, not applied: a wide-gamut
//! (Display P3) photo is stored with its numbers read as sRGB, slightly duller.
//!
//! Two EXIF facts are kept, as fields of [`PodPhoto`], not in the file: the capture
//! time and the GPS position. See [`PodPhoto::captured_at_ms`] for how time zones are
//! handled: **a capture time without `OffsetTimeOriginal` is read as UTC**, and
//! [`PodPhoto::captured_at_offset_min`] is then `None` so callers can tell. Both facts
//! come from the device that took the photo and are only as trustworthy as its
//! clock and GPS: they are evidence, not proof.

use std::io::Cursor;

use fast_image_resize as fir;
use image::codecs::jpeg::JpegDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, Limits, RgbImage};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The formats [`process`] accepts, as named in error messages.
pub const ACCEPTED_FORMATS: &str = "JPEG, PNG or WebP";

/// No declared edge may be longer than this, whatever the pixel budget (JPEG's own
/// maximum; a 100,000 × 10 strip is not a delivery photo).
pub const MAX_EDGE_DECLARED: u32 = 65_535;

/// The lowest JPEG quality the size fitting goes down to before shrinking pixels.
pub const MIN_QUALITY: u8 = 30;

/// How much the quality drops per step while fitting [`PhotoPolicy::max_output_bytes`].
pub const QUALITY_STEP: u8 = 10;

/// The factor both dimensions shrink by per step once [`MIN_QUALITY`] is reached.
pub const SHRINK_STEP: f32 = 0.8;

/// The smallest longest edge the size fitting shrinks to before giving up.
pub const MIN_FIT_EDGE_PX: u32 = 256;

/// How a tenant wants POD photos stored. `Default` is the product default; every
/// field can be configured per tenant (and is checked by [`PhotoPolicy::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PhotoPolicy {
    /// The longest edge of the stored photo, in pixels (never upscaled). Default 1600.
    pub max_edge_px: u32,
    /// JPEG quality, 1-100. Default 80.
    pub jpeg_quality: u8,
    /// Larger inputs are refused unread. Default 30 MiB.
    pub max_input_bytes: usize,
    /// Images declaring more pixels are refused before decoding. Default 50 MP.
    pub max_input_pixels: u64,
    /// The stored JPEG's size budget; quality (then size) is lowered until it fits.
    /// Default 300 KB (300,000 bytes).
    pub max_output_bytes: usize,
}

impl Default for PhotoPolicy {
    fn default() -> Self {
        Self {
            max_edge_px: 1600,
            jpeg_quality: 80,
            max_input_bytes: 30 * 1024 * 1024,
            max_input_pixels: 50_000_000,
            max_output_bytes: 300_000,
        }
    }
}

impl PhotoPolicy {
    /// Refuses settings [`process`] cannot honour: an edge outside 64..=16384 px, a
    /// quality outside 1..=100, an output budget under 32 KiB, zero input limits.
    pub fn validate(&self) -> Result<(), PhotoError> {
        let bad = |msg: String| Err(PhotoError::InvalidPolicy(msg));
        if !(64..=16_384).contains(&self.max_edge_px) {
            return bad(format!(
                "max_edge_px {} is outside 64..=16384",
                self.max_edge_px
            ));
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            return bad(format!(
                "jpeg_quality {} is outside 1..=100",
                self.jpeg_quality
            ));
        }
        if self.max_output_bytes < 32 * 1024 {
            return bad(format!(
                "max_output_bytes {} is under 32 KiB (32768)",
                self.max_output_bytes
            ));
        }
        if self.max_input_bytes == 0 || self.max_input_pixels == 0 {
            return bad("max_input_bytes and max_input_pixels must be positive".into());
        }
        Ok(())
    }
}

/// A photo ready to be stored with a POD record. (`Debug` shows the JPEG's length,
/// not its bytes, so logs and test failures stay readable.)
#[derive(Clone, PartialEq)]
pub struct PodPhoto {
    /// Baseline JPEG, upright, no metadata segments (JFIF header only).
    pub jpeg: Vec<u8>,
    /// Lower-case hex SHA-256 of [`PodPhoto::jpeg`].
    pub sha256: String,
    /// Pixel size of [`PodPhoto::jpeg`] (after orientation).
    pub width: u32,
    /// Pixel size of [`PodPhoto::jpeg`] (after orientation).
    pub height: u32,
    /// EXIF `DateTimeOriginal` (+ `SubSecTimeOriginal`) as Unix milliseconds.
    /// With `OffsetTimeOriginal` the time is exact; **without it (most older
    /// cameras and many Android phones) the wall-clock time is read as if it were
    /// UTC**, so it is off by the device's UTC offset, and
    /// [`PodPhoto::captured_at_offset_min`] is `None`. `None` when the tag is absent or
    /// not a valid date. Other date tags (`DateTime`, which editors rewrite) are not
    /// used.
    pub captured_at_ms: Option<i64>,
    /// The `OffsetTimeOriginal` of the capture time, in minutes east of UTC, when the
    /// photo carried one; `None` means the zone is unknown and
    /// [`PodPhoto::captured_at_ms`] was read as UTC.
    pub captured_at_offset_min: Option<i16>,
    /// EXIF GPS position (latitude, longitude) in degrees, south and west negative.
    /// `None` without both reference tags, with out-of-range values, or at exactly
    /// (0, 0) (what devices without a fix often write).
    pub gps: Option<(f64, f64)>,
    /// The input's format: `"JPEG"`, `"PNG"` or `"WebP"`.
    pub source_format: &'static str,
}

impl std::fmt::Debug for PodPhoto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodPhoto")
            .field("jpeg", &format_args!("<{} bytes>", self.jpeg.len()))
            .field("sha256", &self.sha256)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("captured_at_ms", &self.captured_at_ms)
            .field("captured_at_offset_min", &self.captured_at_offset_min)
            .field("gps", &self.gps)
            .field("source_format", &self.source_format)
            .finish()
    }
}

/// Why a photo was refused. Messages say what was wrong, for the courier's screen
/// and the upload API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("the photo is empty (0 bytes)")]
    Empty,
    #[error("the photo is {len} bytes; at most {max} bytes accepted")]
    TooManyBytes { len: usize, max: usize },
    #[error("not an image: the data is not a {ACCEPTED_FORMATS} file")]
    NotAnImage,
    #[error("{format} images are not accepted: send a {ACCEPTED_FORMATS} file")]
    UnsupportedFormat { format: &'static str },
    #[error("truncated or corrupt {format}: {detail}")]
    Corrupt {
        format: &'static str,
        detail: String,
    },
    #[error("this {format} uses a feature that cannot be decoded: {detail}")]
    UnsupportedVariant {
        format: &'static str,
        detail: String,
    },
    #[error(
        "the image declares {width}×{height} pixels ({}); at most {} accepted",
        Megapixels(u64::from(*width) * u64::from(*height)),
        Megapixels(*max_pixels)
    )]
    TooManyPixels {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    #[error(
        "the image declares {width}×{height} pixels; no edge may be longer than \
         {MAX_EDGE_DECLARED} pixels"
    )]
    EdgeTooLong { width: u32, height: u32 },
    #[error("decoding this {format} needs more memory than allowed: {detail}")]
    DecodeLimit {
        format: &'static str,
        detail: String,
    },
    #[error(
        "the photo does not fit in {max} bytes even at JPEG quality {MIN_QUALITY} and \
         {MIN_FIT_EDGE_PX} pixels"
    )]
    OutputTooLarge { max: usize },
    #[error("invalid photo policy: {0}")]
    InvalidPolicy(String),
    #[error("could not encode the stored JPEG: {0}")]
    Encode(String),
}

/// Pixel counts in megapixels, as people write them: "2500 MP", "12.5 MP".
struct Megapixels(u64);

impl std::fmt::Display for Megapixels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tenths = (self.0 + 50_000) / 100_000;
        if tenths.is_multiple_of(10) {
            write!(f, "{} MP", tenths / 10)
        } else {
            write!(f, "{}.{} MP", tenths / 10, tenths % 10)
        }
    }
}

/// Turns camera or file bytes into the stored POD photo; see the module docs for
/// the steps and the checks.
pub fn process(bytes: &[u8], policy: &PhotoPolicy) -> Result<PodPhoto, PhotoError> {
    policy.validate()?;
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    if bytes.len() > policy.max_input_bytes {
        return Err(PhotoError::TooManyBytes {
            len: bytes.len(),
            max: policy.max_input_bytes,
        });
    }
    match sniff(bytes)? {
        ImageFormat::Jpeg => {
            const F: &str = "JPEG";
            check_jpeg_complete(bytes)?;
            let decoder = JpegDecoder::new(Cursor::new(bytes)).map_err(|e| decode_error(F, e))?;
            pipeline(decoder, F, policy)
        }
        ImageFormat::Png => {
            const F: &str = "PNG";
            // `new` reads the chunks up to the first IDAT: no pixel data yet.
            let decoder = PngDecoder::new(Cursor::new(bytes)).map_err(|e| decode_error(F, e))?;
            pipeline(decoder, F, policy)
        }
        // `sniff` returns only JPEG, PNG and WebP.
        _ => {
            const F: &str = "WebP";
            let decoder = WebPDecoder::new(Cursor::new(bytes)).map_err(|e| decode_error(F, e))?;
            pipeline(decoder, F, policy)
        }
    }
}

/// The format from the leading bytes: JPEG, PNG or WebP, or why not.
fn sniff(bytes: &[u8]) -> Result<ImageFormat, PhotoError> {
    match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => Ok(f),
        Ok(other) => Err(PhotoError::UnsupportedFormat {
            format: format_name(other),
        }),
        Err(_) => Err(sniff_other(bytes)),
    }
}

/// Formats the `image` crate was built without but a phone may still send: named in
/// the error so the courier knows what to change.
fn sniff_other(bytes: &[u8]) -> PhotoError {
    let ftyp = bytes.len() >= 12 && &bytes[4..8] == b"ftyp";
    let format = if ftyp && matches!(&bytes[8..12], b"heic" | b"heix" | b"mif1" | b"msf1") {
        "HEIC/HEIF"
    } else if ftyp && matches!(&bytes[8..12], b"avif" | b"avis") {
        "AVIF"
    } else if bytes.starts_with(b"GIF8") {
        "GIF"
    } else if bytes.starts_with(b"BM") && bytes.len() > 14 {
        "BMP"
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        "TIFF"
    } else if bytes.starts_with(b"%PDF") {
        "PDF"
    } else {
        return PhotoError::NotAnImage;
    };
    PhotoError::UnsupportedFormat { format }
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Gif => "GIF",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Avif => "AVIF",
        ImageFormat::Ico => "ICO",
        ImageFormat::Tga => "TGA",
        ImageFormat::Pnm => "PNM",
        ImageFormat::Hdr => "HDR",
        ImageFormat::OpenExr => "OpenEXR",
        ImageFormat::Dds => "DDS",
        ImageFormat::Qoi => "QOI",
        ImageFormat::Farbfeld => "Farbfeld",
        _ => "this format's",
    }
}

fn decode_error(format: &'static str, e: ImageError) -> PhotoError {
    match e {
        ImageError::Limits(l) => PhotoError::DecodeLimit {
            format,
            detail: l.to_string(),
        },
        ImageError::Unsupported(u) => PhotoError::UnsupportedVariant {
            format,
            detail: u.to_string(),
        },
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Corrupt {
                format,
                detail: "the data ends early".into(),
            }
        }
        other => PhotoError::Corrupt {
            format,
            detail: other.to_string(),
        },
    }
}

/// A JPEG must have an end-of-image marker after its first scan. `FF D9` cannot occur
/// inside entropy-coded data (an `FF` there is always followed by `00` or a restart
/// marker), so its absence means the file was cut off. Bytes after it (phone
/// trailers, multi-picture extensions) are allowed.
fn check_jpeg_complete(bytes: &[u8]) -> Result<(), PhotoError> {
    let corrupt = |detail: &str| PhotoError::Corrupt {
        format: "JPEG",
        detail: detail.into(),
    };
    // Walk the marker segments up to the first start-of-scan.
    let mut i = 2;
    let scan_at = loop {
        while i < bytes.len() && bytes[i] == 0xFF && bytes.get(i + 1) == Some(&0xFF) {
            i += 1; // fill bytes
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(i), bytes.get(i + 1)) else {
            return Err(corrupt(if i >= bytes.len() {
                "the data ends before the image data starts"
            } else {
                "a header segment is malformed"
            }));
        };
        match marker {
            0xD0..=0xD7 | 0x01 => i += 2,
            0xD9 => return Err(corrupt("the image ends before any image data")),
            _ => {
                let Some(len) = bytes.get(i + 2..i + 4) else {
                    return Err(corrupt("the data ends inside a header segment"));
                };
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                if marker == 0xDA {
                    break i + 2 + len;
                }
                i += 2 + len;
            }
        }
    };
    let data = bytes.get(scan_at..).unwrap_or_default();
    // From the end: the marker is usually in the last two bytes.
    if data.windows(2).rev().any(|w| w == [0xFF, 0xD9]) {
        Ok(())
    } else {
        Err(corrupt(
            "the file ends before its end-of-image marker (cut off during transfer?)",
        ))
    }
}

/// Header checks, metadata, decode, and the rest, for any accepted format.
fn pipeline<D: ImageDecoder>(
    mut decoder: D,
    format: &'static str,
    policy: &PhotoPolicy,
) -> Result<PodPhoto, PhotoError> {
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(PhotoError::Corrupt {
            format,
            detail: format!("the header declares {width}×{height} pixels"),
        });
    }
    if u64::from(width) * u64::from(height) > policy.max_input_pixels {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            max_pixels: policy.max_input_pixels,
        });
    }
    if width.max(height) > MAX_EDGE_DECLARED {
        return Err(PhotoError::EdgeTooLong { width, height });
    }

    // Metadata is best effort: a damaged EXIF block loses the capture time, not the
    // photo.
    let exif = decoder.exif_metadata().ok().flatten();
    let orientation = exif
        .as_deref()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let meta = exif.map(read_exif).unwrap_or_default();

    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_EDGE_DECLARED);
    limits.max_image_height = Some(MAX_EDGE_DECLARED);
    // Room for the decoded image at 16-bit RGBA plus the decoder's own buffers.
    limits.max_alloc = Some(
        policy
            .max_input_pixels
            .saturating_mul(8)
            .saturating_add(64 << 20),
    );
    decoder
        .set_limits(limits)
        .map_err(|e| decode_error(format, e))?;
    let image = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(format, e))?;

    let small = {
        // The full-size image is freed here, before encoding.
        let rgb = flatten_on_white(image);
        resized(&rgb, policy.max_edge_px)?.unwrap_or(rgb)
    };
    let mut upright = DynamicImage::ImageRgb8(small);
    upright.apply_orientation(orientation);
    let upright = upright.into_rgb8();

    let (jpeg, width, height) = encode_to_fit(upright, policy)?;
    Ok(PodPhoto {
        sha256: hex_sha256(&jpeg),
        jpeg,
        width,
        height,
        captured_at_ms: meta.captured_at_ms,
        captured_at_offset_min: meta.offset_min,
        gps: meta.gps,
        source_format: format,
    })
}

/// RGB 8-bit; transparent pixels are composited on white (a PNG screenshot's clear
/// background would otherwise turn black).
fn flatten_on_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for px in rgba.as_raw().chunks_exact(4) {
        let a = u32::from(px[3]);
        for &c in &px[..3] {
            out.push(((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8);
        }
    }
    RgbImage::from_raw(w, h, out).expect("3 bytes per pixel")
}

/// The size with the longest edge at most `max_edge` (never larger than the input).
fn fit_within(width: u32, height: u32, max_edge: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= max_edge {
        return (width, height);
    }
    let scale = f64::from(max_edge) / f64::from(longest);
    let w = ((f64::from(width) * scale).round() as u32).clamp(1, max_edge);
    let h = ((f64::from(height) * scale).round() as u32).clamp(1, max_edge);
    (w, h)
}

/// A copy whose longest edge is at most `max_edge`, or `None` if `rgb` already fits
/// (never enlarges). Catmull-Rom convolution (its support widened by the scale
/// factor, so no aliasing) keeps house numbers and labels sharp;
/// `fast_image_resize` runs it with SIMD.
fn resized(rgb: &RgbImage, max_edge: u32) -> Result<Option<RgbImage>, PhotoError> {
    let (w, h) = rgb.dimensions();
    let (tw, th) = fit_within(w, h, max_edge);
    if (tw, th) == (w, h) {
        return Ok(None);
    }
    let resize_error = |e: &dyn std::fmt::Display| PhotoError::Encode(format!("resize: {e}"));
    let src = fir::images::ImageRef::new(w, h, rgb.as_raw(), fir::PixelType::U8x3)
        .map_err(|e| resize_error(&e))?;
    let mut dst = fir::images::Image::new(tw, th, fir::PixelType::U8x3);
    let options = fir::ResizeOptions::new()
        .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::CatmullRom));
    fir::Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| resize_error(&e))?;
    Ok(Some(
        RgbImage::from_raw(tw, th, dst.into_vec()).expect("3 bytes per pixel"),
    ))
}

/// Encodes at the policy's quality, then lower, then smaller, until the JPEG fits.
/// Returns the JPEG and its width and height.
fn encode_to_fit(rgb: RgbImage, policy: &PhotoPolicy) -> Result<(Vec<u8>, u32, u32), PhotoError> {
    let mut quality = policy.jpeg_quality;
    let mut edge = rgb.width().max(rgb.height());
    // Once shrinking starts: a smaller copy, always made from `rgb` (no compounding
    // blur from resampling a resampled image).
    let mut shrunk: Option<RgbImage> = None;
    loop {
        let image = shrunk.as_ref().unwrap_or(&rgb);
        let jpeg = encode_jpeg(image, quality)?;
        if jpeg.len() <= policy.max_output_bytes {
            return Ok((jpeg, image.width(), image.height()));
        }
        if quality > MIN_QUALITY {
            quality = quality.saturating_sub(QUALITY_STEP).max(MIN_QUALITY);
            continue;
        }
        edge = (edge as f32 * SHRINK_STEP) as u32;
        if edge < MIN_FIT_EDGE_PX {
            return Err(PhotoError::OutputTooLarge {
                max: policy.max_output_bytes,
            });
        }
        shrunk = resized(&rgb, edge)?;
    }
}

/// Baseline interleaved JPEG, 4:2:0 below quality 90 (chroma averaged, not
/// sampled), JFIF header only.
fn encode_jpeg(rgb: &RgbImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let (w, h) = rgb.dimensions();
    let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
        return Err(PhotoError::Encode(format!("{w}×{h} is too large for JPEG")));
    };
    let mut out = Vec::with_capacity(rgb.as_raw().len() / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    encoder.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
    // No optimised Huffman tables (~12% smaller): jpeg-encoder then writes one scan
    // per component, which zune-jpeg 0.5 (image 0.25's decoder) decodes with wrong
    // colours; the stored photo must read back right everywhere.
    encoder
        .encode(rgb.as_raw(), w16, h16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| PhotoError::Encode(e.to_string()))?;
    Ok(out)
}

fn hex_sha256(bytes: &[u8]) -> String {
    ruta_domain::hex(&Sha256::digest(bytes))
}

/// The EXIF facts a POD keeps.
#[derive(Debug, Default)]
struct ExifMeta {
    captured_at_ms: Option<i64>,
    offset_min: Option<i16>,
    gps: Option<(f64, f64)>,
}

fn read_exif(tiff: Vec<u8>) -> ExifMeta {
    let Ok(exif) = exif::Reader::new().read_raw(tiff) else {
        return ExifMeta::default();
    };
    let (captured_at_ms, offset_min) = capture_time(&exif).unzip();
    ExifMeta {
        captured_at_ms,
        offset_min: offset_min.flatten(),
        gps: gps_position(&exif),
    }
}

fn ascii_field(exif: &exif::Exif, tag: exif::Tag) -> Option<&[u8]> {
    match &exif.get_field(tag, exif::In::PRIMARY)?.value {
        exif::Value::Ascii(parts) => parts.first().map(Vec::as_slice),
        _ => None,
    }
}

/// (Unix ms, the UTC offset in minutes if the photo gave one).
fn capture_time(exif: &exif::Exif) -> Option<(i64, Option<i16>)> {
    let mut dt =
        exif::DateTime::from_ascii(ascii_field(exif, exif::Tag::DateTimeOriginal)?).ok()?;
    if let Some(sub) = ascii_field(exif, exif::Tag::SubSecTimeOriginal) {
        let _ = dt.parse_subsec(sub);
    }
    if let Some(offset) = ascii_field(exif, exif::Tag::OffsetTimeOriginal) {
        let _ = dt.parse_offset(offset);
    }
    let valid = (1900..=9999).contains(&dt.year)
        && (1..=12).contains(&dt.month)
        && dt.day >= 1
        && dt.day <= days_in_month(i64::from(dt.year), dt.month)
        && dt.hour < 24
        && dt.minute < 60
        && dt.second <= 60
        && dt.offset.is_none_or(|o| o.abs() <= 18 * 60);
    if !valid {
        return None;
    }
    let days = days_from_civil(i64::from(dt.year), i64::from(dt.month), i64::from(dt.day));
    let secs = days * 86_400
        + i64::from(dt.hour) * 3600
        + i64::from(dt.minute) * 60
        + i64::from(dt.second.min(59))
        - i64::from(dt.offset.unwrap_or(0)) * 60;
    let ms = i64::from(dt.nanosecond.unwrap_or(0) / 1_000_000);
    Some((secs * 1000 + ms, dt.offset))
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn gps_position(exif: &exif::Exif) -> Option<(f64, f64)> {
    let coord = |value_tag, ref_tag, positive: u8, negative: u8, limit: f64| -> Option<f64> {
        let sign = match ascii_field(exif, ref_tag)?.first()?.to_ascii_uppercase() {
            c if c == positive => 1.0,
            c if c == negative => -1.0,
            _ => return None,
        };
        let exif::Value::Rational(parts) = &exif.get_field(value_tag, exif::In::PRIMARY)?.value
        else {
            return None;
        };
        let [d, m, s] = parts.get(..3)? else {
            return None;
        };
        let deg = d.to_f64() + m.to_f64() / 60.0 + s.to_f64() / 3600.0;
        (deg.is_finite() && deg <= limit).then_some(sign * deg)
    };
    let lat = coord(
        exif::Tag::GPSLatitude,
        exif::Tag::GPSLatitudeRef,
        b'N',
        b'S',
        90.0,
    )?;
    let lon = coord(
        exif::Tag::GPSLongitude,
        exif::Tag::GPSLongitudeRef,
        b'E',
        b'W',
        180.0,
    )?;
    (lat != 0.0 || lon != 0.0).then_some((lat, lon))
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

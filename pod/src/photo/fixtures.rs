//! Test data for POD photos, built in memory: hand-made EXIF blocks (a little-endian
//! TIFF structure with Orientation, DateTimeOriginal, OffsetTimeOriginal and GPS) and
//! photo-like pixels (gradients, texture, edges, sensor noise).
//!
//! Shared by the unit tests (`pod::photo::tests`) and the `pod_photo` benchmark, which
//! includes this file with `#[path]`; so it uses only `std` and `image`.

#![allow(dead_code)] // each user needs a different subset

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage};

/// What to put into a hand-built EXIF block.
#[derive(Debug, Clone, Default)]
pub struct ExifSpec {
    /// Tag 0x0112, 1..=8.
    pub orientation: Option<u16>,
    /// Tag 0x9003, `"YYYY:MM:DD HH:MM:SS"`.
    pub date_time_original: Option<&'static str>,
    /// Tag 0x9011, `"+HH:MM"`.
    pub offset_time_original: Option<&'static str>,
    /// Tag 0x9291, fractional seconds as digits (`"25"` = 0.25 s).
    pub sub_sec_time_original: Option<&'static str>,
    /// Latitude and longitude in degrees (negative = S / W).
    pub gps: Option<(f64, f64)>,
}

const ASCII: u16 = 2;
const SHORT: u16 = 3;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;
const BYTE: u16 = 1;

struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    data: Vec<u8>,
}

fn ascii(tag: u16, s: &str) -> Entry {
    let mut data = s.as_bytes().to_vec();
    data.push(0);
    Entry {
        tag,
        kind: ASCII,
        count: data.len() as u32,
        data,
    }
}

fn rationals(tag: u16, values: &[(u32, u32)]) -> Entry {
    let mut data = Vec::new();
    for (n, d) in values {
        data.extend_from_slice(&n.to_le_bytes());
        data.extend_from_slice(&d.to_le_bytes());
    }
    Entry {
        tag,
        kind: RATIONAL,
        count: values.len() as u32,
        data,
    }
}

fn long(tag: u16, v: u32) -> Entry {
    Entry {
        tag,
        kind: LONG,
        count: 1,
        data: v.to_le_bytes().to_vec(),
    }
}

/// Degrees -> (degrees, minutes, seconds × 10,000) as TIFF rationals.
fn dms(value: f64) -> [(u32, u32); 3] {
    let v = value.abs();
    let deg = v.floor();
    let min = ((v - deg) * 60.0).floor();
    let sec = ((v - deg) * 60.0 - min) * 60.0;
    [
        (deg as u32, 1),
        (min as u32, 1),
        ((sec * 10_000.0).round() as u32, 10_000),
    ]
}

/// Bytes an IFD with these entries takes, its out-of-line values included.
fn ifd_len(entries: &[Entry]) -> usize {
    let out_of_line: usize = entries
        .iter()
        .filter(|e| e.data.len() > 4)
        .map(|e| e.data.len().next_multiple_of(2))
        .sum();
    2 + 12 * entries.len() + 4 + out_of_line
}

/// Appends one IFD at `out.len()` (its absolute offset in the TIFF), sorted by tag.
fn write_ifd(out: &mut Vec<u8>, entries: &mut [Entry]) {
    entries.sort_by_key(|e| e.tag);
    let start = out.len();
    let mut data_at = start + 2 + 12 * entries.len() + 4;
    let mut data = Vec::new();
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for e in entries.iter() {
        out.extend_from_slice(&e.tag.to_le_bytes());
        out.extend_from_slice(&e.kind.to_le_bytes());
        out.extend_from_slice(&e.count.to_le_bytes());
        if e.data.len() <= 4 {
            let mut inline = [0u8; 4];
            inline[..e.data.len()].copy_from_slice(&e.data);
            out.extend_from_slice(&inline);
        } else {
            out.extend_from_slice(&(data_at as u32).to_le_bytes());
            data.extend_from_slice(&e.data);
            if !e.data.len().is_multiple_of(2) {
                data.push(0);
            }
            data_at += e.data.len().next_multiple_of(2);
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    out.extend_from_slice(&data);
}

/// A TIFF-structured EXIF block (what follows `Exif\0\0` in a JPEG APP1 segment, and
/// what a PNG `eXIf` chunk or a WebP `EXIF` chunk holds).
pub fn exif_tiff(spec: &ExifSpec) -> Vec<u8> {
    let mut exif_ifd = Vec::new();
    if let Some(s) = spec.date_time_original {
        exif_ifd.push(ascii(0x9003, s));
    }
    if let Some(s) = spec.offset_time_original {
        exif_ifd.push(ascii(0x9011, s));
    }
    if let Some(s) = spec.sub_sec_time_original {
        exif_ifd.push(ascii(0x9291, s));
    }
    let mut gps_ifd = Vec::new();
    if let Some((lat, lon)) = spec.gps {
        gps_ifd.push(Entry {
            tag: 0x0000,
            kind: BYTE,
            count: 4,
            data: vec![2, 2, 0, 0],
        });
        gps_ifd.push(ascii(0x0001, if lat < 0.0 { "S" } else { "N" }));
        gps_ifd.push(rationals(0x0002, &dms(lat)));
        gps_ifd.push(ascii(0x0003, if lon < 0.0 { "W" } else { "E" }));
        gps_ifd.push(rationals(0x0004, &dms(lon)));
    }

    let mut ifd0 = Vec::new();
    if let Some(o) = spec.orientation {
        ifd0.push(Entry {
            tag: 0x0112,
            kind: SHORT,
            count: 1,
            data: o.to_le_bytes().to_vec(),
        });
    }
    // Pointers are placeholders until the sizes are known.
    if !exif_ifd.is_empty() {
        ifd0.push(long(0x8769, 0));
    }
    if !gps_ifd.is_empty() {
        ifd0.push(long(0x8825, 0));
    }
    let ifd0_at = 8;
    let exif_at = ifd0_at + ifd_len(&ifd0);
    let gps_at = exif_at
        + if exif_ifd.is_empty() {
            0
        } else {
            ifd_len(&exif_ifd)
        };
    for e in &mut ifd0 {
        match e.tag {
            0x8769 => e.data = (exif_at as u32).to_le_bytes().to_vec(),
            0x8825 => e.data = (gps_at as u32).to_le_bytes().to_vec(),
            _ => {}
        }
    }

    let mut out = b"II".to_vec();
    out.extend_from_slice(&42u16.to_le_bytes());
    out.extend_from_slice(&(ifd0_at as u32).to_le_bytes());
    write_ifd(&mut out, &mut ifd0);
    if !exif_ifd.is_empty() {
        assert_eq!(out.len(), exif_at);
        write_ifd(&mut out, &mut exif_ifd);
    }
    if !gps_ifd.is_empty() {
        assert_eq!(out.len(), gps_at);
        write_ifd(&mut out, &mut gps_ifd);
    }
    out
}

/// Encodes `img` as a baseline JPEG at `quality`, with `exif` (a TIFF block from
/// [`exif_tiff`]) in an APP1 segment when given.
pub fn jpeg_with_exif(img: &RgbImage, quality: u8, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut out, quality);
    if let Some(exif) = exif {
        enc.set_exif_metadata(exif)
            .expect("the JPEG encoder takes EXIF");
    }
    enc.write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        ExtendedColorType::Rgb8,
    )
    .expect("encode test JPEG");
    out
}

/// A deterministic xorshift generator for noise.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Photo-like pixels: a sky gradient over a textured "pavement", a "door" with a
/// frame and a "parcel" with hard edges, fine texture and per-pixel sensor noise of
/// about ±`noise` levels. Encodes at photo-like sizes (a 12 MP one is ~3-6 MB at
/// JPEG quality 92), unlike flat synthetic images that compress to nothing.
pub fn photo_like(width: u32, height: u32, noise: u8, seed: u64) -> RgbImage {
    let mut rng = Noise(seed | 1);
    let (w, h) = (width as f32, height as f32);
    let horizon = h * 0.45;
    RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let mut c = if fy < horizon {
            // Sky: blue at the top to pale near the horizon, with soft clouds.
            let t = fy / horizon;
            let cloud = ((fx / w * 9.0).sin() * (fy / h * 13.0).cos()).max(0.0) * 40.0;
            [
                90.0 + 100.0 * t + cloud,
                140.0 + 80.0 * t + cloud,
                220.0 + 20.0 * t + cloud * 0.3,
            ]
        } else {
            // Pavement: brownish grey with a tile pattern and grain.
            let tile = if ((fx / (w / 24.0)) as u32 + (fy / (h / 18.0)) as u32).is_multiple_of(2) {
                12.0
            } else {
                -8.0
            };
            let grain = ((fx * 0.9).sin() * (fy * 1.3).cos()) * 14.0;
            let base = 120.0 + tile + grain - (fy - horizon) / h * 30.0;
            [base + 8.0, base, base - 10.0]
        };
        // A door with a frame.
        let (dx0, dx1, dy0, dy1) = (w * 0.55, w * 0.8, h * 0.15, h * 0.85);
        if fx >= dx0 && fx < dx1 && fy >= dy0 && fy < dy1 {
            let frame = fx < dx0 + w * 0.015 || fx >= dx1 - w * 0.015 || fy < dy0 + h * 0.015;
            c = if frame {
                [235.0, 235.0, 228.0]
            } else {
                let wood = ((fx * 0.21).sin() + (fx * 0.037 + fy * 0.002).sin()) * 10.0;
                [120.0 + wood, 60.0 + wood * 0.6, 35.0 + wood * 0.3]
            };
        }
        // A parcel on the ground, with a label.
        let (px0, px1, py0, py1) = (w * 0.2, w * 0.42, h * 0.6, h * 0.9);
        if fx >= px0 && fx < px1 && fy >= py0 && fy < py1 {
            let label = fx > px0 + w * 0.05
                && fx < px0 + w * 0.12
                && fy > py0 + h * 0.05
                && fy < py0 + h * 0.1;
            c = if label {
                let text = if (x / 3 + y / 5) % 4 == 0 {
                    -150.0
                } else {
                    0.0
                };
                [240.0 + text, 240.0 + text, 240.0 + text]
            } else {
                [185.0, 145.0, 95.0]
            };
        }
        let n = i32::from(noise);
        let mut px = [0u8; 3];
        for (out, v) in px.iter_mut().zip(c) {
            let jitter = if n == 0 {
                0
            } else {
                (rng.next() % (2 * n as u64 + 1)) as i32 - n
            };
            *out = (v as i32 + jitter).clamp(0, 255) as u8;
        }
        Rgb(px)
    })
}

//! POD photo processing: orientation, resizing, metadata kept and stripped, format
//! sniffing, and refusals (truncated data, not an image, image bombs, size budget).

use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};

use super::fixtures::{ExifSpec, exif_tiff, jpeg_with_exif, photo_like};
use super::*;

/// A `w×h` grey image with an 8×8 red block in its top-left corner.
fn marked(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        if x < 8 && y < 8 {
            Rgb([230, 20, 20])
        } else {
            Rgb([90, 90, 90])
        }
    })
}

fn decode(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg)
        .expect("stored JPEG decodes")
        .into_rgb8()
}

fn is_red(px: Rgb<u8>) -> bool {
    px[0] > 170 && px[1] < 90 && px[2] < 90
}

fn png_bytes(img: &RgbImage, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = PngEncoder::new(&mut out);
    if let Some(exif) = exif {
        enc.set_exif_metadata(exif).expect("PNG takes EXIF");
    }
    enc.write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        ExtendedColorType::Rgb8,
    )
    .expect("encode PNG");
    out
}

/// The markers of a JPEG's header segments, up to the first start-of-scan.
fn header_markers(jpeg: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], [0xFF, 0xD8], "starts with SOI");
    let mut markers = Vec::new();
    let mut i = 2;
    loop {
        assert_eq!(jpeg[i], 0xFF, "a marker at {i}");
        let marker = jpeg[i + 1];
        markers.push(marker);
        if marker == 0xDA {
            return markers;
        }
        i += 2 + usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
    }
}

const HELSINKI: (f64, f64) = (60.168_5, 24.941_2);

fn full_exif(orientation: u16) -> Vec<u8> {
    exif_tiff(&ExifSpec {
        orientation: Some(orientation),
        date_time_original: Some("2026:05:04 14:03:21"),
        offset_time_original: Some("+03:00"),
        sub_sec_time_original: Some("25"),
        gps: Some(HELSINKI),
    })
}

#[test]
fn orientation_6_turns_a_landscape_image_upright() {
    let jpeg = jpeg_with_exif(&marked(40, 20), 95, Some(full_exif(6)));
    let photo = process(&jpeg, &PhotoPolicy::default()).unwrap();
    assert_eq!((photo.width, photo.height), (20, 40));
    let out = decode(&photo.jpeg);
    assert_eq!(out.dimensions(), (20, 40));
    // 90° clockwise: the top-left corner goes to the top-right.
    assert!(is_red(*out.get_pixel(16, 3)), "{:?}", out.get_pixel(16, 3));
    assert!(!is_red(*out.get_pixel(3, 3)));
    assert!(!is_red(*out.get_pixel(3, 36)));
    assert!(!is_red(*out.get_pixel(16, 36)));
}

#[test]
fn every_orientation_puts_the_marked_corner_where_it_belongs() {
    // (EXIF orientation, output size, where the top-left corner's block lands)
    let cases = [
        (1, (40, 20), (3, 3)),
        (2, (40, 20), (36, 3)),  // mirrored left-right
        (3, (40, 20), (36, 16)), // 180°
        (4, (40, 20), (3, 16)),  // mirrored top-bottom
        (6, (20, 40), (16, 3)),  // 90° clockwise
        (8, (20, 40), (3, 36)),  // 90° counter-clockwise
    ];
    for (orientation, size, (x, y)) in cases {
        let jpeg = jpeg_with_exif(&marked(40, 20), 95, Some(full_exif(orientation)));
        let out = decode(&process(&jpeg, &PhotoPolicy::default()).unwrap().jpeg);
        assert_eq!(out.dimensions(), size, "orientation {orientation}");
        assert!(
            is_red(*out.get_pixel(x, y)),
            "orientation {orientation}: {:?}",
            out.get_pixel(x, y)
        );
        let reds = out.pixels().filter(|p| is_red(**p)).count();
        assert!(
            (30..=100).contains(&reds),
            "orientation {orientation}: one 8×8 block, {reds} red"
        );
    }
}

#[test]
fn orientation_in_a_png_exif_chunk_is_applied_too() {
    let png = png_bytes(&marked(40, 20), Some(full_exif(6)));
    let photo = process(&png, &PhotoPolicy::default()).unwrap();
    assert_eq!(photo.source_format, "PNG");
    assert_eq!((photo.width, photo.height), (20, 40));
    assert!(is_red(*decode(&photo.jpeg).get_pixel(16, 3)));
    assert_eq!(
        photo.gps.map(|(lat, _)| (lat * 1e4).round()),
        Some(601_685.0)
    );
}

#[test]
fn large_photos_are_resized_to_the_longest_edge_and_small_ones_never_upscaled() {
    let policy = PhotoPolicy::default();
    let wide = png_bytes(&photo_like(2400, 800, 4, 1), None);
    let photo = process(&wide, &policy).unwrap();
    assert_eq!((photo.width, photo.height), (1600, 533));
    assert_eq!(decode(&photo.jpeg).dimensions(), (1600, 533));

    let tall = jpeg_with_exif(&photo_like(450, 1200, 4, 2), 90, None);
    let photo = process(
        &tall,
        &PhotoPolicy {
            max_edge_px: 500,
            ..policy.clone()
        },
    )
    .unwrap();
    assert_eq!((photo.width, photo.height), (188, 500));

    let small = jpeg_with_exif(&photo_like(400, 300, 4, 3), 90, None);
    let photo = process(&small, &policy).unwrap();
    assert_eq!((photo.width, photo.height), (400, 300), "never upscaled");

    // Exactly at the limit: unchanged.
    let edge = jpeg_with_exif(&photo_like(500, 280, 4, 4), 90, None);
    let photo = process(
        &edge,
        &PhotoPolicy {
            max_edge_px: 500,
            ..policy
        },
    )
    .unwrap();
    assert_eq!((photo.width, photo.height), (500, 280));
}

#[test]
fn resized_content_keeps_its_place() {
    // Left half black, right half white, 2000 wide -> 800 wide.
    let img = RgbImage::from_fn(2000, 500, |x, _| {
        if x < 1000 { Rgb([0; 3]) } else { Rgb([255; 3]) }
    });
    let policy = PhotoPolicy {
        max_edge_px: 800,
        ..PhotoPolicy::default()
    };
    let out = decode(&process(&png_bytes(&img, None), &policy).unwrap().jpeg);
    assert_eq!(out.dimensions(), (800, 200));
    assert!(out.get_pixel(350, 100)[0] < 30);
    assert!(out.get_pixel(450, 100)[0] > 225);
}

#[test]
fn capture_time_and_gps_are_read_from_exif() {
    let jpeg = jpeg_with_exif(&photo_like(64, 48, 2, 5), 90, Some(full_exif(1)));
    let photo = process(&jpeg, &PhotoPolicy::default()).unwrap();
    // 2026-05-04 14:03:21.25 at +03:00 = 11:03:21.25 UTC = 1777892601250 ms.
    assert_eq!(photo.captured_at_ms, Some(1_777_892_601_250));
    assert_eq!(photo.captured_at_offset_min, Some(180));
    let (lat, lon) = photo.gps.unwrap();
    assert!(
        (lat - HELSINKI.0).abs() < 1e-6 && (lon - HELSINKI.1).abs() < 1e-6,
        "{lat} {lon}"
    );
}

#[test]
fn capture_time_without_an_offset_is_read_as_utc() {
    let exif = exif_tiff(&ExifSpec {
        date_time_original: Some("2024:02:29 23:59:59"),
        ..ExifSpec::default()
    });
    let photo = process(
        &jpeg_with_exif(&photo_like(64, 48, 2, 6), 90, Some(exif)),
        &PhotoPolicy::default(),
    )
    .unwrap();
    // 2024-02-29T23:59:59Z (a leap day).
    assert_eq!(photo.captured_at_ms, Some(1_709_251_199_000));
    assert_eq!(photo.captured_at_offset_min, None);
    assert_eq!(photo.gps, None);
}

#[test]
fn gps_south_and_west_are_negative() {
    for (lat, lon) in [
        (-33.856_8, 151.215_3),
        (40.689_2, -74.044_5),
        (-22.951_9, -43.210_5),
    ] {
        let exif = exif_tiff(&ExifSpec {
            gps: Some((lat, lon)),
            ..ExifSpec::default()
        });
        let photo = process(
            &jpeg_with_exif(&photo_like(64, 48, 2, 7), 90, Some(exif)),
            &PhotoPolicy::default(),
        )
        .unwrap();
        let (a, b) = photo.gps.unwrap();
        assert!(
            (a - lat).abs() < 1e-6 && (b - lon).abs() < 1e-6,
            "{a} {b} vs {lat} {lon}"
        );
        assert_eq!(photo.captured_at_ms, None);
    }
}

#[test]
fn invalid_dates_and_null_island_are_dropped() {
    let exif = exif_tiff(&ExifSpec {
        date_time_original: Some("2023:02:29 10:00:00"), // not a leap year
        gps: Some((0.0, 0.0)),
        ..ExifSpec::default()
    });
    let photo = process(
        &jpeg_with_exif(&photo_like(64, 48, 2, 8), 90, Some(exif)),
        &PhotoPolicy::default(),
    )
    .unwrap();
    assert_eq!(photo.captured_at_ms, None);
    assert_eq!(photo.gps, None);
}

#[test]
fn no_exif_or_other_metadata_survives() {
    let input = jpeg_with_exif(&photo_like(640, 480, 4, 9), 92, Some(full_exif(6)));
    assert!(
        header_markers(&input).contains(&0xE1),
        "the input has an APP1 (EXIF) segment"
    );
    let photo = process(&input, &PhotoPolicy::default()).unwrap();
    let markers = header_markers(&photo.jpeg);
    let app: Vec<u8> = markers
        .iter()
        .copied()
        .filter(|m| (0xE0..=0xEF).contains(m))
        .collect();
    assert_eq!(app, [0xE0], "only the JFIF APP0 segment: {markers:02X?}");
    assert!(!photo.jpeg.windows(4).any(|w| w == b"Exif"));
    assert!(
        !photo
            .jpeg
            .windows(4)
            .any(|w| w == b"II*\0" || w == b"MM\0*"),
        "no TIFF block"
    );
    // And the stored file carries no orientation to apply twice.
    let mut dec = JpegDecoder::new(Cursor::new(&photo.jpeg)).unwrap();
    assert_eq!(dec.exif_metadata().unwrap(), None);
    assert_eq!(dec.orientation().unwrap(), Orientation::NoTransforms);
}

#[test]
fn sha256_is_the_hex_digest_of_the_stored_bytes() {
    let photo = process(
        &jpeg_with_exif(&photo_like(300, 200, 4, 10), 90, None),
        &PhotoPolicy::default(),
    )
    .unwrap();
    let expected: String = Sha256::digest(&photo.jpeg)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(photo.sha256, expected);
    assert_eq!(photo.sha256.len(), 64);
    let mut tampered = photo.jpeg.clone();
    *tampered.last_mut().unwrap() ^= 1;
    assert_ne!(hex_sha256(&tampered), photo.sha256);
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let input = jpeg_with_exif(&photo_like(900, 700, 4, 11), 90, Some(full_exif(8)));
    let a = process(&input, &PhotoPolicy::default()).unwrap();
    let b = process(&input, &PhotoPolicy::default()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn png_and_webp_are_accepted() {
    let img = photo_like(320, 240, 4, 12);
    let png = process(&png_bytes(&img, None), &PhotoPolicy::default()).unwrap();
    assert_eq!(
        (png.source_format, png.width, png.height),
        ("PNG", 320, 240)
    );

    let mut webp = Vec::new();
    WebPEncoder::new_lossless(&mut webp)
        .write_image(img.as_raw(), 320, 240, ExtendedColorType::Rgb8)
        .unwrap();
    let photo = process(&webp, &PhotoPolicy::default()).unwrap();
    assert_eq!(
        (photo.source_format, photo.width, photo.height),
        ("WebP", 320, 240)
    );
    // The content survived: mean absolute error against the source is small.
    let out = decode(&photo.jpeg);
    let err: u64 = out
        .as_raw()
        .iter()
        .zip(img.as_raw())
        .map(|(a, b)| u64::from(a.abs_diff(*b)))
        .sum();
    assert!(
        err / (320 * 240 * 3) < 12,
        "mean error {}",
        err / (320 * 240 * 3)
    );
}

#[test]
fn transparent_pixels_become_white() {
    let rgba = RgbaImage::from_fn(64, 64, |x, _| {
        if x < 32 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([0, 0, 255, 255])
        }
    });
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(rgba.as_raw(), 64, 64, ExtendedColorType::Rgba8)
        .unwrap();
    let out = decode(&process(&png, &PhotoPolicy::default()).unwrap().jpeg);
    let clear = out.get_pixel(8, 32);
    assert!(
        clear.0.iter().all(|&c| c > 240),
        "transparent -> white, got {clear:?}"
    );
    let blue = out.get_pixel(56, 32);
    assert!(
        blue[2] > 200 && blue[0] < 50,
        "opaque blue stays blue, got {blue:?}"
    );
}

#[test]
fn a_truncated_jpeg_is_refused_as_truncated() {
    let jpeg = jpeg_with_exif(&photo_like(640, 480, 4, 13), 90, Some(full_exif(1)));
    for cut in [jpeg.len() / 2, jpeg.len() - 2, 300] {
        let err = process(&jpeg[..cut], &PhotoPolicy::default()).unwrap_err();
        assert!(
            matches!(err, PhotoError::Corrupt { format: "JPEG", .. }),
            "cut at {cut}: {err:?}"
        );
        assert!(
            err.to_string().starts_with("truncated or corrupt JPEG: "),
            "{err}"
        );
    }
    // Cut inside the headers: still a clear JPEG error.
    let err = process(&jpeg[..40], &PhotoPolicy::default()).unwrap_err();
    assert!(
        err.to_string().starts_with("truncated or corrupt JPEG: "),
        "{err}"
    );
}

#[test]
fn a_truncated_png_is_refused_as_corrupt() {
    let png = png_bytes(&photo_like(200, 200, 4, 14), None);
    let err = process(&png[..png.len() / 2], &PhotoPolicy::default()).unwrap_err();
    assert!(
        err.to_string().starts_with("truncated or corrupt PNG: "),
        "{err}"
    );
}

#[test]
fn random_bytes_are_not_an_image() {
    let mut state = 0x1234_5678_u32;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    let err = process(&noise, &PhotoPolicy::default()).unwrap_err();
    assert_eq!(err, PhotoError::NotAnImage);
    assert_eq!(
        err.to_string(),
        "not an image: the data is not a JPEG, PNG or WebP file"
    );
    // A file name does not matter; text is not an image either.
    assert_eq!(
        process(b"hello.jpg", &PhotoPolicy::default()).unwrap_err(),
        PhotoError::NotAnImage
    );
}

#[test]
fn other_image_formats_are_named_in_the_refusal() {
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    let err = process(&gif, &PhotoPolicy::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "GIF images are not accepted: send a JPEG, PNG or WebP file"
    );
    let mut heic = vec![0, 0, 0, 24];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    let err = process(&heic, &PhotoPolicy::default()).unwrap_err();
    assert_eq!(
        err,
        PhotoError::UnsupportedFormat {
            format: "HEIC/HEIF"
        }
    );
}

#[test]
fn empty_and_oversized_inputs_are_refused_unread() {
    assert_eq!(
        process(&[], &PhotoPolicy::default()).unwrap_err(),
        PhotoError::Empty
    );
    let jpeg = jpeg_with_exif(&photo_like(64, 48, 2, 15), 90, None);
    let policy = PhotoPolicy {
        max_input_bytes: 100,
        ..PhotoPolicy::default()
    };
    let err = process(&jpeg, &policy).unwrap_err();
    assert_eq!(
        err,
        PhotoError::TooManyBytes {
            len: jpeg.len(),
            max: 100
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "the photo is {} bytes; at most 100 bytes accepted",
            jpeg.len()
        )
    );
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A ~70-byte PNG whose IHDR (valid CRC) declares `w×h` RGB pixels.
fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no interlace
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    png_chunk(&mut png, b"IEND", &[]);
    png
}

#[test]
fn crc32_matches_the_png_reference_value() {
    // The IEND chunk's CRC in every PNG.
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
}

#[test]
fn a_png_declaring_50000_by_50000_pixels_is_refused_before_decoding() {
    let png = png_declaring(50_000, 50_000);
    assert!(png.len() < 100);
    let err = process(&png, &PhotoPolicy::default()).unwrap_err();
    assert_eq!(
        err,
        PhotoError::TooManyPixels {
            width: 50_000,
            height: 50_000,
            max_pixels: 50_000_000
        }
    );
    assert_eq!(
        err.to_string(),
        "the image declares 50000×50000 pixels (2500 MP); at most 50 MP accepted"
    );
}

#[test]
fn a_jpeg_declaring_50000_by_50000_pixels_is_refused_before_decoding() {
    let mut jpeg = jpeg_with_exif(&photo_like(16, 16, 2, 16), 90, None);
    // Patch the start-of-frame segment's height and width.
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline SOF0");
    jpeg[sof + 5..sof + 7].copy_from_slice(&50_000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&50_000u16.to_be_bytes());
    let err = process(&jpeg, &PhotoPolicy::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the image declares 50000×50000 pixels (2500 MP); at most 50 MP accepted"
    );
    // A tenant's own budget is the one named.
    let mut policy = PhotoPolicy {
        max_input_pixels: 12_500_000,
        ..PhotoPolicy::default()
    };
    let err = process(&png_declaring(5000, 5000), &policy).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the image declares 5000×5000 pixels (25 MP); at most 12.5 MP accepted"
    );
    policy.max_input_pixels = u64::MAX;
    let err = process(&png_declaring(100_000, 10), &policy).unwrap_err();
    assert_eq!(
        err,
        PhotoError::EdgeTooLong {
            width: 100_000,
            height: 10
        }
    );
}

#[test]
fn the_output_budget_is_met_by_lowering_quality_then_size() {
    // Heavy noise, losslessly stored: about the worst case for JPEG.
    let input = png_bytes(&photo_like(800, 600, 40, 17), None);
    let generous = PhotoPolicy {
        max_output_bytes: usize::MAX,
        ..PhotoPolicy::default()
    };
    let full = process(&input, &generous).unwrap().jpeg.len();
    assert!(
        full > 150_000,
        "the test image is hard: {full} bytes at quality 80"
    );

    let policy = PhotoPolicy {
        max_output_bytes: 100_000,
        ..PhotoPolicy::default()
    };
    let photo = process(&input, &policy).unwrap();
    assert!(photo.jpeg.len() <= 100_000, "{}", photo.jpeg.len());
    assert_eq!(
        (photo.width, photo.height),
        (800, 600),
        "quality alone was enough"
    );

    let tight = PhotoPolicy {
        max_output_bytes: 33_000,
        ..PhotoPolicy::default()
    };
    let photo = process(&input, &tight).unwrap();
    assert!(photo.jpeg.len() <= 33_000, "{}", photo.jpeg.len());
    assert!(
        photo.width < 800,
        "had to shrink: {}×{}",
        photo.width,
        photo.height
    );
    assert_eq!(
        decode(&photo.jpeg).dimensions(),
        (photo.width, photo.height)
    );
}

#[test]
fn invalid_policies_are_refused() {
    let img = jpeg_with_exif(&photo_like(64, 48, 2, 18), 90, None);
    for policy in [
        PhotoPolicy {
            jpeg_quality: 0,
            ..PhotoPolicy::default()
        },
        PhotoPolicy {
            max_edge_px: 10,
            ..PhotoPolicy::default()
        },
        PhotoPolicy {
            max_output_bytes: 1000,
            ..PhotoPolicy::default()
        },
    ] {
        assert!(
            matches!(process(&img, &policy), Err(PhotoError::InvalidPolicy(_))),
            "{policy:?}"
        );
    }
    assert_eq!(PhotoPolicy::default().validate(), Ok(()));
}

#[test]
fn a_policy_deserialises_with_defaults_for_missing_fields() {
    let policy: PhotoPolicy = serde_json::from_str(r#"{"max_edge_px": 1024}"#).unwrap();
    assert_eq!(
        policy,
        PhotoPolicy {
            max_edge_px: 1024,
            ..PhotoPolicy::default()
        }
    );
}

#[test]
fn calendar_arithmetic() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    assert_eq!(days_from_civil(1969, 12, 31), -1);
    assert_eq!(days_in_month(2000, 2), 29);
    assert_eq!(days_in_month(1900, 2), 28);
    assert_eq!(Megapixels(12_000_000).to_string(), "12 MP");
    assert_eq!(Megapixels(12_345_678).to_string(), "12.3 MP");
}

#[test]
fn debug_output_shows_the_jpeg_length_not_its_bytes() {
    let photo = process(
        &jpeg_with_exif(&photo_like(64, 48, 2, 19), 90, None),
        &PhotoPolicy::default(),
    )
    .unwrap();
    let debug = format!("{photo:?}");
    assert!(
        debug.contains(&format!("jpeg: <{} bytes>", photo.jpeg.len())),
        "{debug}"
    );
    assert!(debug.len() < 400, "{debug}");
}

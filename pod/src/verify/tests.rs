//! Tests of `verify` (kept beside it so the module reads on its own).

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

//! Signatures: validation of real and degenerate input, PNG and SVG drawing, the
//! content hash.

use image::GenericImageView;

use super::*;

/// A cursive-looking name on a 600×200 pad: a long looping stroke, a crossing bar
/// and a dot, sampled like a 60 Hz touch screen (one point per ~16 ms).
fn realistic() -> Signature {
    let mut t = 0u32;
    // Each sample is 16 ms after the previous one, plus `gap` for a pen lift.
    let mut sample = |x: f32, y: f32, gap: u32| {
        t += 16 + gap;
        Point { x, y, t_ms: t }
    };
    let name: Vec<Point> = (0..=180)
        .map(|i| {
            let s = i as f32 / 180.0;
            let x = 60.0 + 420.0 * s + 18.0 * (s * 40.0).cos();
            let y = 110.0 - 45.0 * (s * 20.0).sin() * (1.0 - 0.4 * s) + 8.0 * (s * 7.0).cos();
            sample(x, y, 0)
        })
        .collect();
    let bar: Vec<Point> = (0..=20)
        .map(|i| sample(100.0 + 10.0 * i as f32, 150.0, if i == 0 { 200 } else { 0 }))
        .collect();
    let dot = vec![sample(520.0, 40.0, 150)];
    Signature {
        width: 600.0,
        height: 200.0,
        strokes: vec![name, bar, dot],
    }
}

fn p(x: f32, y: f32, t_ms: u32) -> Point {
    Point { x, y, t_ms }
}

#[test]
fn a_realistic_signature_validates() {
    let sig = realistic();
    assert_eq!(sig.validate(), Ok(()));
    assert!(sig.ink_length() > 600.0, "{}", sig.ink_length());
}

#[test]
fn ink_length_is_the_sum_of_segment_lengths() {
    let sig = Signature {
        width: 100.0,
        height: 100.0,
        strokes: vec![
            vec![p(0.0, 0.0, 0), p(3.0, 4.0, 10), p(3.0, 14.0, 20)],
            vec![p(50.0, 50.0, 30)],
        ],
    };
    assert_eq!(sig.ink_length(), 15.0);
}

#[test]
fn empty_signatures_are_refused() {
    let empty = Signature {
        width: 600.0,
        height: 200.0,
        strokes: vec![],
    };
    assert_eq!(empty.validate(), Err(SignatureError::Empty));
    assert_eq!(
        empty.validate().unwrap_err().to_string(),
        "the signature is empty: no strokes with points"
    );
    let no_points = Signature {
        strokes: vec![vec![], vec![]],
        ..empty
    };
    assert_eq!(no_points.validate(), Err(SignatureError::Empty));
    assert_eq!(no_points.to_png(300), Err(SignatureError::Empty));

    let mut sig = realistic();
    sig.strokes.insert(1, vec![]);
    let err = sig.validate().unwrap_err();
    assert_eq!(err, SignatureError::EmptyStroke { stroke: 1 });
    assert_eq!(err.to_string(), "stroke 1 has no points");
}

#[test]
fn a_dot_is_refused() {
    let dot = Signature {
        width: 600.0,
        height: 200.0,
        strokes: vec![vec![p(300.0, 100.0, 0)]],
    };
    let err = dot.validate().unwrap_err();
    assert_eq!(err, SignatureError::TooFewPoints { count: 1 });
    assert_eq!(
        err.to_string(),
        "the signature has only 1 points; at least 10 are needed"
    );
    // A tap that jitters in place: enough points, no extent.
    let tap = Signature {
        width: 600.0,
        height: 200.0,
        strokes: vec![
            (0..12)
                .map(|i| p(300.0 + (i % 2) as f32, 100.0, i * 8))
                .collect(),
        ],
    };
    assert!(matches!(
        tap.validate(),
        Err(SignatureError::TooSmall { .. })
    ));
}

#[test]
fn a_tiny_scribble_is_refused_even_with_plenty_of_ink() {
    // Back and forth 200 times inside a 30×12 box in a corner: long ink, tiny box.
    let scribble: Vec<Point> = (0..200u32)
        .map(|i| {
            p(
                20.0 + if i.is_multiple_of(2) { 0.0 } else { 30.0 },
                20.0 + (i % 12) as f32,
                i * 10,
            )
        })
        .collect();
    let sig = Signature {
        width: 600.0,
        height: 200.0,
        strokes: vec![scribble],
    };
    assert!(sig.ink_length() > 5000.0);
    let err = sig.validate().unwrap_err();
    assert!(matches!(err, SignatureError::TooSmall { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the signature covers only 5% × 6% of the pad; it must reach 10% of its width or height"
    );
}

#[test]
fn a_short_flick_is_refused_as_too_little_ink() {
    // 12 points along a 90-unit line: wide enough (15% of 600), but the diagonal of
    // 600×200 is 632, so at least 95 units of ink are needed.
    let flick: Vec<Point> = (0..12)
        .map(|i| p(100.0 + 90.0 * i as f32 / 11.0, 100.0, i * 16))
        .collect();
    let sig = Signature {
        width: 600.0,
        height: 200.0,
        strokes: vec![flick],
    };
    let err = sig.validate().unwrap_err();
    assert!(matches!(err, SignatureError::TooShort { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the signature's ink is only 90 units long; at least 95 (15% of the pad's diagonal) is needed"
    );
    // The same flick, longer: accepted.
    let long: Vec<Point> = (0..12)
        .map(|i| p(100.0 + 200.0 * i as f32 / 11.0, 100.0, i * 16))
        .collect();
    assert_eq!(
        Signature {
            strokes: vec![long],
            ..sig
        }
        .validate(),
        Ok(())
    );
}

#[test]
fn non_finite_coordinates_are_refused_with_their_position() {
    let mut sig = realistic();
    sig.strokes[1][4].y = f32::NAN;
    let err = sig.validate().unwrap_err();
    assert!(
        matches!(
            err,
            SignatureError::NotFinite {
                stroke: 1,
                point: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "stroke 1, point 4: the coordinates (140, NaN) are not finite numbers"
    );
    let mut sig = realistic();
    sig.strokes[0][0].x = f32::INFINITY;
    assert!(matches!(
        sig.validate(),
        Err(SignatureError::NotFinite {
            stroke: 0,
            point: 0,
            ..
        })
    ));
    // Nor can it be drawn.
    assert!(matches!(
        sig.to_png(300),
        Err(SignatureError::NotFinite { .. })
    ));
}

#[test]
fn time_going_backwards_within_a_stroke_is_refused() {
    let mut sig = realistic();
    sig.strokes[0][10].t_ms = sig.strokes[0][9].t_ms - 5;
    let err = sig.validate().unwrap_err();
    let (t, prev) = (sig.strokes[0][10].t_ms, sig.strokes[0][9].t_ms);
    assert_eq!(
        err,
        SignatureError::TimeBackwards {
            stroke: 0,
            point: 10,
            t_ms: t,
            previous_ms: prev
        }
    );
    assert_eq!(
        err.to_string(),
        format!("stroke 0, point 10: time goes backwards ({t} ms after {prev} ms)")
    );
    // Equal times (two samples in one frame) are fine.
    let mut sig = realistic();
    sig.strokes[0][10].t_ms = sig.strokes[0][9].t_ms;
    assert_eq!(sig.validate(), Ok(()));
}

#[test]
fn points_outside_the_canvas_are_refused_beyond_the_tolerance() {
    let mut sig = realistic();
    sig.strokes[0][7].x = 640.0; // 2% of 600 = 12 units of slack
    let err = sig.validate().unwrap_err();
    assert!(
        matches!(
            err,
            SignatureError::OutsideCanvas {
                stroke: 0,
                point: 7,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "stroke 0, point 7: (640, {}) is outside the 600×200 canvas",
            sig.strokes[0][7].y
        )
    );
    let mut sig = realistic();
    sig.strokes[2][0].y = -10.0; // 2% of 200 = 4
    assert!(matches!(
        sig.validate(),
        Err(SignatureError::OutsideCanvas {
            stroke: 2,
            point: 0,
            ..
        })
    ));
    // Just past the edge, within the tolerance: fine.
    let mut sig = realistic();
    sig.strokes[0][7].x = 610.0;
    sig.strokes[2][0].y = -3.0;
    assert_eq!(sig.validate(), Ok(()));
}

#[test]
fn too_many_points_and_bad_canvases_are_refused() {
    let many: Vec<Point> = (0..20_001)
        .map(|i| p((i % 600) as f32, (i / 600) as f32 % 200.0, i))
        .collect();
    let sig = Signature {
        width: 600.0,
        height: 200.0,
        strokes: vec![many],
    };
    let err = sig.validate().unwrap_err();
    assert_eq!(err, SignatureError::TooManyPoints { count: 20_001 });
    assert_eq!(
        err.to_string(),
        "the signature has 20001 points; at most 20000 accepted"
    );

    for (w, h) in [
        (0.0, 200.0),
        (600.0, f32::NAN),
        (1e6, 200.0),
        (-600.0, 200.0),
    ] {
        let sig = Signature {
            width: w,
            height: h,
            ..realistic()
        };
        assert!(
            matches!(sig.validate(), Err(SignatureError::InvalidCanvas { .. })),
            "{w}×{h}"
        );
    }
}

#[test]
fn png_has_the_requested_width_dark_ink_on_the_stroke_and_white_elsewhere() {
    let sig = realistic();
    let png = sig.to_png(600).unwrap();
    let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png).unwrap();
    assert_eq!(img.dimensions(), (600, 200));
    let px = |x: u32, y: u32| img.get_pixel(x, y).0;
    // The bar runs from (100, 150) to (300, 150), 3 px wide.
    let ink = px(200, 150);
    assert!(
        ink[0] < 60 && ink[1] < 60 && ink[2] < 90 && ink[3] == 255,
        "on the bar: {ink:?}"
    );
    assert_eq!(px(200, 156), [255, 255, 255, 255], "just below the bar");
    // The dot at (520, 40).
    assert!(px(520, 40)[0] < 60, "the dot: {:?}", px(520, 40));
    // Far from every stroke: opaque white.
    for (x, y) in [(590, 10), (10, 190), (4, 4), (400, 194)] {
        assert_eq!(px(x, y), [255, 255, 255, 255], "at ({x}, {y})");
    }
    // Anti-aliased: some grey along the edges.
    let greys = img
        .pixels()
        .filter(|(_, _, p)| p.0[0] > 60 && p.0[0] < 200)
        .count();
    assert!(greys > 100, "{greys} edge pixels");

    // Other widths keep the aspect ratio and the picture.
    let big = image::load_from_memory(&sig.to_png(1200).unwrap()).unwrap();
    assert_eq!(big.dimensions(), (1200, 400));
    assert!(big.get_pixel(400, 300).0[0] < 60);
    assert_eq!(big.get_pixel(1180, 20).0, [255, 255, 255, 255]);
    let small = image::load_from_memory(&sig.to_png(300).unwrap()).unwrap();
    assert_eq!(small.dimensions(), (300, 100));
    let darkest = (74..=76)
        .map(|y| small.get_pixel(100, y).0[0])
        .min()
        .unwrap();
    assert!(darkest < 140, "the bar at half size: {darkest}");
}

#[test]
fn png_width_is_bounded() {
    let sig = realistic();
    assert_eq!(
        sig.to_png(0),
        Err(SignatureError::InvalidPngWidth { width_px: 0 })
    );
    assert!(matches!(
        sig.to_png(5000),
        Err(SignatureError::InvalidPngWidth { .. })
    ));
    // A tiny picture still draws (height rounds to at least one pixel).
    let tiny = image::load_from_memory(&sig.to_png(2).unwrap()).unwrap();
    assert_eq!(tiny.dimensions(), (2, 1));
}

#[test]
fn svg_is_standalone_with_one_path_per_stroke_and_the_canvas_as_view_box() {
    let sig = realistic();
    let svg = sig.to_svg();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 600 200\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<path ").count(), 3);
    assert_eq!(
        svg.matches("<path").count(),
        svg.matches("/>").count(),
        "every path closed"
    );
    assert!(svg.contains("stroke-linecap=\"round\""));
    // The bar starts where it was drawn; the dot is a zero-length path.
    assert!(svg.contains("<path d=\"M100 150 Q"), "{svg}");
    assert!(svg.contains("<path d=\"M520 40 L520 40\"/>"), "{svg}");
    // Only numbers, spaces and path letters inside d="...".
    for d in svg
        .split("d=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
    {
        assert!(
            d.chars()
                .all(|c| c.is_ascii_digit() || " .-MQL".contains(c)),
            "{d}"
        );
    }
}

#[test]
fn sha256_is_stable_and_covers_every_point() {
    let sig = Signature {
        width: 300.0,
        height: 100.0,
        strokes: vec![vec![p(10.0, 20.5, 0), p(11.0, 21.0, 16)]],
    };
    // The documented encoding, hashed independently.
    let json = r#"{"width":300.0,"height":100.0,"strokes":[[{"x":10.0,"y":20.5,"t_ms":0},{"x":11.0,"y":21.0,"t_ms":16}]]}"#;
    let expected: String = Sha256::digest(json.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sig.sha256(), expected);
    assert_eq!(sig.sha256(), sig.clone().sha256());

    let big = realistic();
    let h = big.sha256();
    let roundtrip: Signature = serde_json::from_str(&serde_json::to_string(&big).unwrap()).unwrap();
    assert_eq!(roundtrip.sha256(), h, "survives a JSON round trip");
    let mut moved = big.clone();
    moved.strokes[0][90].x += 0.5;
    assert_ne!(moved.sha256(), h);
    let mut retimed = big.clone();
    retimed.strokes[1][3].t_ms += 1;
    assert_ne!(retimed.sha256(), h);
}

//! POD signatures: the recipient's strokes as vectors, checked, hashed, and drawn
//! to PNG (for documents and receipts) and SVG.
//!
//! A [`Signature`] is what the signing pad captured: the pad's size in canvas units
//! (CSS pixels on a phone) and the strokes, each a list of [`Point`]s with the time
//! since the first touch. It is stored as is (JSON via serde); the pictures are
//! derived from it and can be redrawn at any size.
//!
//! [`Signature::validate`] refuses what is not a signature. Indices in its messages
//! are 0-based, as in the JSON arrays. The thresholds are constants of this module:
//!
//! - **structure**: at least one point, no stroke without points, a canvas with
//!   finite sides in `1.0..=`[`MAX_CANVAS_SIDE`], at most [`MAX_POINTS`] points in
//!   all, finite coordinates;
//! - **on the pad**: every point within the canvas, give or take
//!   [`EDGE_TOLERANCE`] of its width (x) or height (y): a finger sliding past the
//!   edge is normal, a point far outside is a broken client;
//! - **time**: within a stroke, `t_ms` never decreases (strokes may overlap in time:
//!   only the order inside a stroke is a fact of the touch screen);
//! - **enough of a mark** (a tap or a scribble is not a signature): at least
//!   [`MIN_POINTS`] points in all; a bounding box reaching at least
//!   [`MIN_EXTENT`] of the canvas width *or* of its height (a flat signature on a
//!   tall pad is fine; a blot in a corner is not); and ink at least
//!   [`MIN_INK_OF_DIAGONAL`] of the canvas diagonal long.
//!
//! [`Signature::sha256`] hashes the compact `serde_json` encoding of the struct
//! (fields in declaration order: `width`, `height`, `strokes`, and per point `x`, `y`,
//! `t_ms`; floats in their shortest round-trip form), so the same strokes always give
//! the same hash and moving one point changes it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Most points accepted in one signature (a long signature at 60 Hz has ~1,000).
pub const MAX_POINTS: usize = 20_000;

/// Fewest points, all strokes together, that can be a signature.
pub const MIN_POINTS: usize = 10;

/// The bounding box must reach this fraction of the canvas width or height.
pub const MIN_EXTENT: f32 = 0.10;

/// The ink (total stroke length) must reach this fraction of the canvas diagonal.
pub const MIN_INK_OF_DIAGONAL: f32 = 0.15;

/// How far outside the canvas a point may be, as a fraction of the canvas width
/// (for x) or height (for y).
pub const EDGE_TOLERANCE: f32 = 0.02;

/// The largest canvas side accepted, in canvas units.
pub const MAX_CANVAS_SIDE: f32 = 10_000.0;

/// The widest PNG [`Signature::to_png`] draws.
pub const MAX_PNG_WIDTH: u32 = 4096;

/// The pen: line width as a fraction of the canvas width (3 px on a 600-wide pad).
pub const INK_WIDTH_OF_CANVAS: f32 = 0.005;

/// The ink colour (near-black with a blue tint, like a ballpoint), as RGB.
pub const INK_RGB: [u8; 3] = [0x14, 0x18, 0x30];

/// One touch sample, in canvas coordinates (origin top-left, y down).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
    /// Milliseconds since the first touch of the signature.
    pub t_ms: u32,
}

/// A signature as captured on the pad.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    /// The pad's size, in canvas units.
    pub width: f32,
    pub height: f32,
    /// Pen-down to pen-up sequences, in the order they were drawn.
    pub strokes: Vec<Vec<Point>>,
}

/// Why a signature was refused or could not be drawn.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature is empty: no strokes with points")]
    Empty,
    #[error("stroke {stroke} has no points")]
    EmptyStroke { stroke: usize },
    #[error("the canvas is {width}×{height}; each side must be a number in 1..={MAX_CANVAS_SIDE}")]
    InvalidCanvas { width: f32, height: f32 },
    #[error("the signature has {count} points; at most {MAX_POINTS} accepted")]
    TooManyPoints { count: usize },
    #[error("stroke {stroke}, point {point}: the coordinates ({x}, {y}) are not finite numbers")]
    NotFinite {
        stroke: usize,
        point: usize,
        x: f32,
        y: f32,
    },
    #[error("stroke {stroke}, point {point}: ({x}, {y}) is outside the {width}×{height} canvas")]
    OutsideCanvas {
        stroke: usize,
        point: usize,
        x: f32,
        y: f32,
        width: f32,
        height: f32,
    },
    #[error(
        "stroke {stroke}, point {point}: time goes backwards ({t_ms} ms after {previous_ms} ms)"
    )]
    TimeBackwards {
        stroke: usize,
        point: usize,
        t_ms: u32,
        previous_ms: u32,
    },
    #[error("the signature has only {count} points; at least {MIN_POINTS} are needed")]
    TooFewPoints { count: usize },
    #[error(
        "the signature covers only {:.0}% × {:.0}% of the pad; it must reach {:.0}% of its \
         width or height",
        width_fraction * 100.0,
        height_fraction * 100.0,
        MIN_EXTENT * 100.0
    )]
    TooSmall {
        width_fraction: f32,
        height_fraction: f32,
    },
    #[error(
        "the signature's ink is only {ink:.0} units long; at least {min:.0} ({:.0}% of the \
         pad's diagonal) is needed",
        MIN_INK_OF_DIAGONAL * 100.0
    )]
    TooShort { ink: f32, min: f32 },
    #[error("a PNG {width_px} pixels wide cannot be drawn; 1..={MAX_PNG_WIDTH} accepted")]
    InvalidPngWidth { width_px: u32 },
    #[error("could not draw the signature: {0}")]
    Render(String),
}

impl Signature {
    /// Checks the signature against the rules in the module docs; the first
    /// problem found is returned (structure, then each point in order, then size).
    pub fn validate(&self) -> Result<(), SignatureError> {
        self.check_structure()?;
        let tol_x = self.width * EDGE_TOLERANCE;
        let tol_y = self.height * EDGE_TOLERANCE;
        for (s, stroke) in self.strokes.iter().enumerate() {
            for (i, p) in stroke.iter().enumerate() {
                let outside = p.x < -tol_x
                    || p.x > self.width + tol_x
                    || p.y < -tol_y
                    || p.y > self.height + tol_y;
                if outside {
                    return Err(SignatureError::OutsideCanvas {
                        stroke: s,
                        point: i,
                        x: p.x,
                        y: p.y,
                        width: self.width,
                        height: self.height,
                    });
                }
                if let Some(prev) = i.checked_sub(1).map(|j| stroke[j])
                    && p.t_ms < prev.t_ms
                {
                    return Err(SignatureError::TimeBackwards {
                        stroke: s,
                        point: i,
                        t_ms: p.t_ms,
                        previous_ms: prev.t_ms,
                    });
                }
            }
        }

        let count = self.point_count();
        if count < MIN_POINTS {
            return Err(SignatureError::TooFewPoints { count });
        }
        let (min_x, min_y, max_x, max_y) = self.bounds();
        let width_fraction = (max_x - min_x) / self.width;
        let height_fraction = (max_y - min_y) / self.height;
        if width_fraction < MIN_EXTENT && height_fraction < MIN_EXTENT {
            return Err(SignatureError::TooSmall {
                width_fraction,
                height_fraction,
            });
        }
        let ink = self.ink_length();
        let min = self.width.hypot(self.height) * MIN_INK_OF_DIAGONAL;
        if ink < min {
            return Err(SignatureError::TooShort { ink, min });
        }
        Ok(())
    }

    /// What drawing needs: strokes with points, a sane canvas, a bounded number of
    /// finite points.
    fn check_structure(&self) -> Result<(), SignatureError> {
        if self.strokes.iter().all(Vec::is_empty) {
            return Err(SignatureError::Empty);
        }
        let side_ok = |v: f32| v.is_finite() && (1.0..=MAX_CANVAS_SIDE).contains(&v);
        if !side_ok(self.width) || !side_ok(self.height) {
            return Err(SignatureError::InvalidCanvas {
                width: self.width,
                height: self.height,
            });
        }
        let count = self.point_count();
        if count > MAX_POINTS {
            return Err(SignatureError::TooManyPoints { count });
        }
        for (s, stroke) in self.strokes.iter().enumerate() {
            if stroke.is_empty() {
                return Err(SignatureError::EmptyStroke { stroke: s });
            }
            if let Some(i) = stroke
                .iter()
                .position(|p| !(p.x.is_finite() && p.y.is_finite()))
            {
                let p = stroke[i];
                return Err(SignatureError::NotFinite {
                    stroke: s,
                    point: i,
                    x: p.x,
                    y: p.y,
                });
            }
        }
        Ok(())
    }

    fn point_count(&self) -> usize {
        self.strokes.iter().map(Vec::len).sum()
    }

    /// (min x, min y, max x, max y) of all points.
    fn bounds(&self) -> (f32, f32, f32, f32) {
        self.strokes.iter().flatten().fold(
            (
                f32::INFINITY,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NEG_INFINITY,
            ),
            |(a, b, c, d), p| (a.min(p.x), b.min(p.y), c.max(p.x), d.max(p.y)),
        )
    }

    /// Total length of the strokes (straight segments between samples), in canvas
    /// units. A single-point stroke (a dot) adds nothing.
    pub fn ink_length(&self) -> f32 {
        self.strokes
            .iter()
            .flat_map(|s| s.windows(2))
            .map(|w| (w[1].x - w[0].x).hypot(w[1].y - w[0].y))
            .sum()
    }

    /// Lower-case hex SHA-256 of the compact `serde_json` encoding of `self` (see
    /// the module docs).
    pub fn sha256(&self) -> String {
        let json = serde_json::to_vec(self).expect("a Signature always serialises");
        ruta_domain::hex(&Sha256::digest(&json))
    }

    /// A standalone SVG: `viewBox` = the canvas, one `<path>` per stroke (a dot is a
    /// zero-length path, drawn by its round cap), no background. Only numbers from
    /// the signature are written, so there is nothing to escape. Non-finite points
    /// (which [`Signature::validate`] refuses) are skipped.
    pub fn to_svg(&self) -> String {
        let (w, h) = (num(self.width), num(self.height));
        let ink = format!("#{:02x}{:02x}{:02x}", INK_RGB[0], INK_RGB[1], INK_RGB[2]);
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" \
             height=\"{h}\" fill=\"none\" stroke=\"{ink}\" stroke-width=\"{}\" \
             stroke-linecap=\"round\" stroke-linejoin=\"round\">\n",
            num(self.width * INK_WIDTH_OF_CANVAS)
        );
        for stroke in &self.strokes {
            let pts: Vec<&Point> = stroke
                .iter()
                .filter(|p| p.x.is_finite() && p.y.is_finite())
                .collect();
            let Some(first) = pts.first() else { continue };
            let mut d = format!("M{} {}", num(first.x), num(first.y));
            for seg in smooth(&pts) {
                match seg {
                    Seg::Quad(c, e) => {
                        d += &format!(" Q{} {} {} {}", num(c.0), num(c.1), num(e.0), num(e.1));
                    }
                    Seg::Line(e) => d += &format!(" L{} {}", num(e.0), num(e.1)),
                }
            }
            if pts.len() == 1 {
                d += &format!(" L{} {}", num(first.x), num(first.y));
            }
            svg += &format!("<path d=\"{d}\"/>\n");
        }
        svg += "</svg>\n";
        svg
    }

    /// Draws the strokes, anti-aliased with round caps and joins, in [`INK_RGB`] on
    /// white, `width_px` wide (height from the canvas's aspect ratio, at least 1).
    /// Only the structure is checked (see the module docs), not the "enough of a
    /// mark" rules, so a signature stored under older thresholds still draws.
    pub fn to_png(&self, width_px: u32) -> Result<Vec<u8>, SignatureError> {
        if !(1..=MAX_PNG_WIDTH).contains(&width_px) {
            return Err(SignatureError::InvalidPngWidth { width_px });
        }
        self.check_structure()?;
        let scale = width_px as f32 / self.width;
        let height_px = ((self.height * scale).round() as u32).max(1);
        let mut pixmap = tiny_skia::Pixmap::new(width_px, height_px)
            .ok_or_else(|| SignatureError::Render(format!("{width_px}×{height_px} canvas")))?;
        pixmap.fill(tiny_skia::Color::WHITE);

        let mut paint = tiny_skia::Paint::default();
        paint.set_color_rgba8(INK_RGB[0], INK_RGB[1], INK_RGB[2], 255);
        paint.anti_alias = true;
        // At least one output pixel wide, however small the picture.
        let pen = (self.width * INK_WIDTH_OF_CANVAS).max(1.0 / scale);
        let stroke_style = tiny_skia::Stroke {
            width: pen,
            line_cap: tiny_skia::LineCap::Round,
            line_join: tiny_skia::LineJoin::Round,
            ..tiny_skia::Stroke::default()
        };
        let transform = tiny_skia::Transform::from_scale(scale, scale);

        for stroke in &self.strokes {
            let pts: Vec<&Point> = stroke.iter().collect();
            if pts.len() == 1 || pts.iter().all(|p| p.x == pts[0].x && p.y == pts[0].y) {
                // A dot: a filled disc the pen's width across.
                if let Some(dot) =
                    tiny_skia::PathBuilder::from_circle(pts[0].x, pts[0].y, pen / 2.0)
                {
                    pixmap.fill_path(&dot, &paint, tiny_skia::FillRule::Winding, transform, None);
                }
                continue;
            }
            let mut pb = tiny_skia::PathBuilder::new();
            pb.move_to(pts[0].x, pts[0].y);
            for seg in smooth(&pts) {
                match seg {
                    Seg::Quad(c, e) => pb.quad_to(c.0, c.1, e.0, e.1),
                    Seg::Line(e) => pb.line_to(e.0, e.1),
                }
            }
            if let Some(path) = pb.finish() {
                pixmap.stroke_path(&path, &paint, &stroke_style, transform, None);
            }
        }
        pixmap
            .encode_png()
            .map_err(|e| SignatureError::Render(e.to_string()))
    }
}

/// A path segment after the first point.
enum Seg {
    Quad((f32, f32), (f32, f32)),
    Line((f32, f32)),
}

/// Smooths a polyline: quadratic curves through the midpoints of consecutive
/// samples, with each sample as the control point, then a line to the last sample.
/// Touch screens sample at 60-120 Hz, so raw polylines look faceted on fast curves.
fn smooth(pts: &[&Point]) -> Vec<Seg> {
    let mut segs = Vec::with_capacity(pts.len());
    if pts.len() < 2 {
        return segs;
    }
    for w in pts[1..].windows(2) {
        let mid = ((w[0].x + w[1].x) / 2.0, (w[0].y + w[1].y) / 2.0);
        segs.push(Seg::Quad((w[0].x, w[0].y), mid));
    }
    let last = pts[pts.len() - 1];
    segs.push(Seg::Line((last.x, last.y)));
    segs
}

/// A number for SVG: at most two decimals, no trailing zeros.
fn num(v: f32) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

#[cfg(test)]
mod tests;

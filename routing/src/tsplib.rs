//! TSPLIB 95 files: symmetric travelling-salesman instances.
//!
//! Supported: `TYPE: TSP` with `EDGE_WEIGHT_TYPE` EUC_2D, CEIL_2D, GEO, ATT, or
//! EXPLICIT with `EDGE_WEIGHT_FORMAT` FULL_MATRIX, LOWER_DIAG_ROW, UPPER_ROW,
//! UPPER_DIAG_ROW or LOWER_ROW. Distances follow the TSPLIB 95 definitions
//! (integer, rounded as the format prescribes), so tour lengths compare with the
//! published optima. Every error names the line it was found on.

use super::Matrix;

/// What was wrong with a TSPLIB file, and on which line (1-based; 0 = the file as a whole).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TsplibError {
    pub line: usize,
    pub message: String,
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, TsplibError> {
    Err(TsplibError {
        line,
        message: message.into(),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightType {
    Euc2d,
    Ceil2d,
    Geo,
    Att,
    Explicit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightFormat {
    FullMatrix,
    LowerDiagRow,
    UpperRow,
    UpperDiagRow,
    LowerRow,
}

/// A parsed instance: its name and the full symmetric distance matrix.
#[derive(Clone, Debug)]
pub struct Instance {
    pub name: String,
    pub dimension: usize,
    pub weight_type: WeightType,
    /// `dimension * dimension`, row-major.
    pub weights: Vec<u32>,
}

impl Instance {
    #[inline]
    pub fn weight(&self, i: usize, j: usize) -> u32 {
        self.weights[i * self.dimension + j]
    }

    pub fn matrix(&self) -> Matrix {
        Matrix::from_costs(self.dimension, self.weights.clone())
            .expect("weights are dimension x dimension by construction")
    }

    /// Length of the closed tour visiting `tour` in order.
    pub fn tour_length(&self, tour: &[usize]) -> u64 {
        tour_length(&self.weights, self.dimension, tour)
    }
}

pub(crate) fn tour_length(w: &[u32], n: usize, tour: &[usize]) -> u64 {
    if tour.is_empty() {
        return 0;
    }
    let mut total = 0u64;
    for k in 0..tour.len() {
        let a = tour[k];
        let b = tour[(k + 1) % tour.len()];
        total += u64::from(w[a * n + b]);
    }
    total
}

/// Largest dimension accepted: the dense matrix of 20,000 nodes is 1.6 GB.
pub const MAX_DIMENSION: usize = 20_000;

/// Parses a TSPLIB file's text.
pub fn parse(text: &str) -> Result<Instance, TsplibError> {
    let mut name = String::new();
    let mut dimension: Option<(usize, usize)> = None;
    let mut weight_type: Option<(WeightType, usize)> = None;
    let mut format: Option<(WeightFormat, usize)> = None;
    let mut coords: Option<Vec<(f64, f64)>> = None;
    let mut explicit: Option<(Vec<u32>, usize)> = None;

    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
    while let Some((no, line)) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let (key, value) = match line.split_once(':') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (line, ""),
        };
        match key {
            "NAME" => name = value.to_string(),
            "COMMENT" | "DISPLAY_DATA_TYPE" | "NODE_COORD_TYPE" | "CAPACITY" => {}
            "TYPE" => match value {
                "TSP" => {}
                "ATSP" => {
                    return err(
                        no,
                        "TYPE ATSP (asymmetric) is not supported by the TSP solver; use a VRP instance",
                    );
                }
                other => return err(no, format!("TYPE {other:?} is not supported (only TSP)")),
            },
            "DIMENSION" => {
                // The sections read so far were sized by the first one.
                if let Some((_, first)) = dimension {
                    return err(no, format!("DIMENSION given twice (first on line {first})"));
                }
                let d: usize = value.parse().map_err(|_| TsplibError {
                    line: no,
                    message: format!("DIMENSION {value:?} is not a whole number"),
                })?;
                if d < 3 {
                    return err(no, format!("DIMENSION {d} is too small (at least 3 nodes)"));
                }
                if d > MAX_DIMENSION {
                    return err(
                        no,
                        format!("DIMENSION {d} is larger than the supported {MAX_DIMENSION}"),
                    );
                }
                dimension = Some((d, no));
            }
            "EDGE_WEIGHT_TYPE" => {
                let t = match value {
                    "EUC_2D" => WeightType::Euc2d,
                    "CEIL_2D" => WeightType::Ceil2d,
                    "GEO" => WeightType::Geo,
                    "ATT" => WeightType::Att,
                    "EXPLICIT" => WeightType::Explicit,
                    other => {
                        return err(
                            no,
                            format!(
                                "EDGE_WEIGHT_TYPE {other:?} is not supported \
                                 (EUC_2D, CEIL_2D, GEO, ATT, EXPLICIT)"
                            ),
                        );
                    }
                };
                weight_type = Some((t, no));
            }
            "EDGE_WEIGHT_FORMAT" => {
                let f = match value {
                    "FULL_MATRIX" => WeightFormat::FullMatrix,
                    "LOWER_DIAG_ROW" => WeightFormat::LowerDiagRow,
                    "UPPER_ROW" => WeightFormat::UpperRow,
                    "UPPER_DIAG_ROW" => WeightFormat::UpperDiagRow,
                    "LOWER_ROW" => WeightFormat::LowerRow,
                    "FUNCTION" => continue,
                    other => {
                        return err(
                            no,
                            format!(
                                "EDGE_WEIGHT_FORMAT {other:?} is not supported (FULL_MATRIX, \
                                 LOWER_DIAG_ROW, UPPER_ROW, UPPER_DIAG_ROW, LOWER_ROW)"
                            ),
                        );
                    }
                };
                format = Some((f, no));
            }
            "NODE_COORD_SECTION" => {
                let Some((n, _)) = dimension else {
                    return err(no, "NODE_COORD_SECTION before DIMENSION");
                };
                let mut seen = vec![false; n];
                let mut xy = vec![(0.0, 0.0); n];
                let mut read = 0;
                while read < n {
                    let Some((no, line)) = lines.next() else {
                        return err(
                            0,
                            format!("NODE_COORD_SECTION ended after {read} of {n} nodes"),
                        );
                    };
                    if line.is_empty() {
                        continue;
                    }
                    let parts: Vec<&str> = line.split_whitespace().collect();
                    if parts.len() != 3 {
                        return err(
                            no,
                            format!("expected `id x y`, found {} fields: {line:?}", parts.len()),
                        );
                    }
                    let id: usize = parts[0].parse().map_err(|_| TsplibError {
                        line: no,
                        message: format!("node id {:?} is not a whole number", parts[0]),
                    })?;
                    if id == 0 || id > n {
                        return err(no, format!("node id {id} is outside 1..={n}"));
                    }
                    if seen[id - 1] {
                        return err(no, format!("node {id} appears twice"));
                    }
                    let num = |s: &str| -> Result<f64, TsplibError> {
                        s.parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite())
                            .ok_or_else(|| TsplibError {
                                line: no,
                                message: format!("coordinate {s:?} is not a number"),
                            })
                    };
                    xy[id - 1] = (num(parts[1])?, num(parts[2])?);
                    seen[id - 1] = true;
                    read += 1;
                }
                coords = Some(xy);
            }
            "EDGE_WEIGHT_SECTION" => {
                let Some((n, _)) = dimension else {
                    return err(no, "EDGE_WEIGHT_SECTION before DIMENSION");
                };
                let Some((f, _)) = format else {
                    return err(no, "EDGE_WEIGHT_SECTION without EDGE_WEIGHT_FORMAT");
                };
                let want = match f {
                    WeightFormat::FullMatrix => n * n,
                    WeightFormat::LowerDiagRow | WeightFormat::UpperDiagRow => n * (n + 1) / 2,
                    WeightFormat::UpperRow | WeightFormat::LowerRow => n * (n - 1) / 2,
                };
                let mut values = Vec::with_capacity(want);
                while values.len() < want {
                    let Some((no, line)) = lines.next() else {
                        return err(
                            0,
                            format!(
                                "EDGE_WEIGHT_SECTION ended after {} of {want} weights",
                                values.len()
                            ),
                        );
                    };
                    for tok in line.split_whitespace() {
                        if values.len() == want {
                            return err(
                                no,
                                format!("more weights than the {want} that {f:?} of {n} nodes has"),
                            );
                        }
                        let v: f64 = tok.parse().map_err(|_| TsplibError {
                            line: no,
                            message: format!("weight {tok:?} is not a number"),
                        })?;
                        if !(0.0..=f64::from(MAX_WEIGHT)).contains(&v) {
                            return err(no, format!("weight {tok} is negative or too large"));
                        }
                        values.push(v.round() as u32);
                    }
                }
                explicit = Some((values, no));
            }
            "DISPLAY_DATA_SECTION" => {
                // Coordinates for drawing only; skip `dimension` non-empty lines.
                let n = dimension.map(|(n, _)| n).unwrap_or(0);
                let mut skipped = 0;
                while skipped < n {
                    match lines.next() {
                        Some((_, l)) if !l.is_empty() => skipped += 1,
                        Some(_) => {}
                        None => break,
                    }
                }
            }
            "EOF" => break,
            other => {
                // A number where a keyword should be: usually a section longer than declared.
                if other.split_whitespace().all(|t| t.parse::<f64>().is_ok()) {
                    return err(no, "unexpected data: more entries than DIMENSION declares?");
                }
                return err(no, format!("unknown keyword {other:?}"));
            }
        }
    }

    let Some((n, _)) = dimension else {
        return err(0, "no DIMENSION");
    };
    let Some((weight_type, wt_line)) = weight_type else {
        return err(0, "no EDGE_WEIGHT_TYPE");
    };
    let weights = if weight_type == WeightType::Explicit {
        let Some((values, _)) = explicit else {
            return err(
                wt_line,
                "EDGE_WEIGHT_TYPE EXPLICIT but no EDGE_WEIGHT_SECTION",
            );
        };
        let (f, _) = format.expect("checked when the section was read");
        expand(n, f, &values)
    } else {
        let Some(xy) = coords else {
            return err(
                wt_line,
                format!("EDGE_WEIGHT_TYPE {weight_type:?} but no NODE_COORD_SECTION"),
            );
        };
        let mut w = vec![0u32; n * n];
        for i in 0..n {
            for j in (i + 1)..n {
                let d = coord_distance(weight_type, xy[i], xy[j]).ok_or_else(|| TsplibError {
                    line: 0,
                    message: format!(
                        "nodes {} and {} are more than {MAX_WEIGHT} apart: coordinates out of range",
                        i + 1,
                        j + 1
                    ),
                })?;
                w[i * n + j] = d;
                w[j * n + i] = d;
            }
        }
        w
    };
    Ok(Instance {
        name,
        dimension: n,
        weight_type,
        weights,
    })
}

fn expand(n: usize, f: WeightFormat, v: &[u32]) -> Vec<u32> {
    let mut w = vec![0u32; n * n];
    let mut set = |i: usize, j: usize, x: u32| {
        w[i * n + j] = x;
        w[j * n + i] = x;
    };
    let mut k = 0;
    match f {
        WeightFormat::FullMatrix => {
            for i in 0..n {
                for j in 0..n {
                    // Keep the upper triangle's value for a symmetric instance.
                    if j >= i {
                        set(i, j, v[k]);
                    }
                    k += 1;
                }
            }
        }
        WeightFormat::LowerDiagRow => {
            for i in 0..n {
                for j in 0..=i {
                    set(i, j, v[k]);
                    k += 1;
                }
            }
        }
        WeightFormat::LowerRow => {
            for i in 1..n {
                for j in 0..i {
                    set(i, j, v[k]);
                    k += 1;
                }
            }
        }
        WeightFormat::UpperRow => {
            for i in 0..n {
                for j in (i + 1)..n {
                    set(i, j, v[k]);
                    k += 1;
                }
            }
        }
        WeightFormat::UpperDiagRow => {
            for i in 0..n {
                for j in i..n {
                    set(i, j, v[k]);
                    k += 1;
                }
            }
        }
    }
    for i in 0..n {
        w[i * n + i] = 0;
    }
    w
}

/// The largest weight an instance may hold, explicit or computed from coordinates (a tour of
/// up to [`MAX_DIMENSION`] such edges still sums exactly in a `u64`).
pub const MAX_WEIGHT: u32 = u32::MAX / 4;

/// TSPLIB 95's distance functions (section 2 of the format description); `None` when the
/// distance is over [`MAX_WEIGHT`] (coordinates far outside any real instance).
fn coord_distance(t: WeightType, (xi, yi): (f64, f64), (xj, yj): (f64, f64)) -> Option<u32> {
    let (dx, dy) = (xi - xj, yi - yj);
    let nint = |x: f64| (x + 0.5).floor();
    let d = match t {
        WeightType::Euc2d => nint((dx * dx + dy * dy).sqrt()),
        WeightType::Ceil2d => (dx * dx + dy * dy).sqrt().ceil(),
        WeightType::Att => {
            let r = ((dx * dx + dy * dy) / 10.0).sqrt();
            let t = nint(r);
            if t < r { t + 1.0 } else { t }
        }
        WeightType::Geo => {
            // TSPLIB 95 defines GEO with this truncated pi; the published optima use it.
            #[allow(clippy::approx_constant)]
            const PI: f64 = 3.141592;
            const RRR: f64 = 6378.388;
            let rad = |x: f64| {
                let deg = x.trunc();
                let min = x - deg;
                PI * (deg + 5.0 * min / 3.0) / 180.0
            };
            let (lat_i, lon_i, lat_j, lon_j) = (rad(xi), rad(yi), rad(xj), rad(yj));
            let q1 = (lon_i - lon_j).cos();
            let q2 = (lat_i - lat_j).cos();
            let q3 = (lat_i + lat_j).cos();
            (RRR * (0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3))
                .clamp(-1.0, 1.0)
                .acos()
                + 1.0)
                .trunc()
        }
        WeightType::Explicit => unreachable!("explicit weights have no coordinates"),
    };
    // Also false for NaN (a GEO coordinate too large for its trigonometry).
    (d <= f64::from(MAX_WEIGHT)).then_some(d as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str = "NAME: sq\nTYPE: TSP\nDIMENSION: 4\nEDGE_WEIGHT_TYPE: EUC_2D\n\
        NODE_COORD_SECTION\n1 0 0\n2 0 10\n3 10 10\n4 10 0\nEOF\n";

    #[test]
    fn euclidean_square() {
        let inst = parse(SQUARE).unwrap();
        assert_eq!(inst.dimension, 4);
        assert_eq!(inst.weight(0, 2), 14); // nint(14.142)
        assert_eq!(inst.tour_length(&[0, 1, 2, 3]), 40);
        assert_eq!(inst.tour_length(&[0, 2, 1, 3]), 48);
    }

    #[test]
    fn explicit_formats_agree() {
        // The same 4-node matrix written four ways.
        let full = "0 1 2 3\n1 0 4 5\n2 4 0 6\n3 5 6 0";
        let lower_diag = "0\n1 0\n2 4 0\n3 5 6 0";
        let upper = "1 2 3\n4 5\n6";
        let upper_diag = "0 1 2 3\n0 4 5\n0 6\n0";
        let lower = "1\n2 4\n3 5 6";
        let mut seen = Vec::new();
        for (fmt, body) in [
            ("FULL_MATRIX", full),
            ("LOWER_DIAG_ROW", lower_diag),
            ("UPPER_ROW", upper),
            ("UPPER_DIAG_ROW", upper_diag),
            ("LOWER_ROW", lower),
        ] {
            let text = format!(
                "NAME: m\nTYPE: TSP\nDIMENSION: 4\nEDGE_WEIGHT_TYPE: EXPLICIT\n\
                 EDGE_WEIGHT_FORMAT: {fmt}\nEDGE_WEIGHT_SECTION\n{body}\nEOF\n"
            );
            let inst = parse(&text).unwrap_or_else(|e| panic!("{fmt}: {e}"));
            assert_eq!(inst.weight(1, 3), 5, "{fmt}");
            assert_eq!(inst.weight(3, 2), 6, "{fmt}");
            seen.push(inst.weights);
        }
        assert!(seen.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn att_rounds_up_pseudo_euclidean() {
        let text = "NAME: a\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: ATT\n\
                    NODE_COORD_SECTION\n1 0 0\n2 30 40\n3 0 1\nEOF";
        let inst = parse(text).unwrap();
        // sqrt(2500/10) = 15.81 -> nint 16 (>= r, kept)
        assert_eq!(inst.weight(0, 1), 16);
        // sqrt(1/10) = 0.316 -> nint 0 < r -> 1
        assert_eq!(inst.weight(0, 2), 1);
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("NAME: x\nTYPE: ATSP\n", 2, "ATSP"),
            ("NAME: x\nDIMENSION: many\n", 2, "whole number"),
            (
                "DIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 x\n3 2 2\n",
                5,
                "not a number",
            ),
            (
                "DIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n1 1 1\n3 2 2\n",
                5,
                "twice",
            ),
            (
                "DIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 1\n",
                0,
                "ended after 2 of 3",
            ),
            (
                "DIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: UPPER_ROW\n\
                 EDGE_WEIGHT_SECTION\n1 2\n3 4\n",
                6,
                "more weights",
            ),
            (
                "DIMENSION: 3\nEDGE_WEIGHT_TYPE: MAN_3D\n",
                2,
                "not supported",
            ),
            (
                "DIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\nEOF\n",
                2,
                "no NODE_COORD_SECTION",
            ),
            ("DIMENSION: 3\nFROBNICATE: 1\n", 2, "unknown keyword"),
        ];
        for (text, line, needle) in cases {
            let e = parse(text).expect_err(text);
            assert_eq!(e.line, line, "{text:?} -> {e}");
            assert!(e.message.contains(needle), "{text:?} -> {e}");
        }
    }

    /// Found by the `tsplib` fuzz target: an ATT distance past `u32::MAX` overflowed `t + 1`
    /// (a panic in debug builds, a distance of 0 in release), and EUC_2D ones saturated.
    #[test]
    fn far_apart_coordinates_are_refused_not_wrapped_to_zero() {
        for wt in ["ATT", "EUC_2D", "CEIL_2D"] {
            let text = format!(
                "NAME: far\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: {wt}\nNODE_COORD_SECTION\n\
                 1 7364 1555555555555555555555555555555555555555555555555555555453\n\
                 2 2233 10\n3 5530 4224\nEOF\n"
            );
            let e = parse(&text).expect_err(wt);
            assert!(e.message.contains("coordinates out of range"), "{wt}: {e}");
        }
        // The largest distance allowed is still accepted, exactly.
        let edge = f64::from(MAX_WEIGHT);
        let text = format!(
            "NAME: edge\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n\
             1 0 0\n2 {edge} 0\n3 0 1\nEOF\n"
        );
        assert_eq!(parse(&text).unwrap().weight(0, 1), MAX_WEIGHT);
    }

    /// Found by the `tsplib` fuzz target: a second DIMENSION after the coordinates, larger than
    /// the first, made the distance loop index past the coordinates read (a panic).
    #[test]
    fn a_second_dimension_is_refused_not_a_panic() {
        let text = "NAME: a\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: ATT\nNODE_COORD_SECTION\n\
                    1 6734 1453\n2 2 10\n3 55 103422\nTYPE: TSP\nDIMENSION:4\n";
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, 9, "{e}");
        assert!(e.message.contains("DIMENSION given twice"), "{e}");
    }
}

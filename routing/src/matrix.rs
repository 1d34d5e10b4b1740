//! Travel matrices: seconds and metres between every ordered pair of points.
//!
//! Row = from, column = to. Matrices may be asymmetric (one-way streets). Every
//! solver in this crate reads travel costs only through this type, so the
//! straight-line default and the road network are interchangeable.

use serde::{Deserialize, Serialize};

use ruta_domain::GeoPoint;
use ruta_domain::fleet::VehicleKind;
use ruta_domain::geo::{URBAN_DETOUR, haversine_m};

/// Travel durations (whole seconds) and distances (whole metres), `n x n`, row-major.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matrix {
    n: usize,
    durations: Vec<u32>,
    distances: Vec<u32>,
}

impl Matrix {
    /// A matrix from row-major durations and distances of `n * n` entries each.
    pub fn new(n: usize, durations: Vec<u32>, distances: Vec<u32>) -> Result<Self, String> {
        if durations.len() != n * n || distances.len() != n * n {
            return Err(format!(
                "a {n}x{n} matrix needs {} entries; got {} durations and {} distances",
                n * n,
                durations.len(),
                distances.len()
            ));
        }
        Ok(Self {
            n,
            durations,
            distances,
        })
    }

    /// A matrix whose durations double as distances (TSPLIB, tests).
    pub fn from_costs(n: usize, costs: Vec<u32>) -> Result<Self, String> {
        let distances = costs.clone();
        Self::new(n, costs, distances)
    }

    /// Builds a matrix from a function of (from, to).
    pub fn from_fn(n: usize, mut f: impl FnMut(usize, usize) -> (u32, u32)) -> Self {
        let mut durations = Vec::with_capacity(n * n);
        let mut distances = Vec::with_capacity(n * n);
        for i in 0..n {
            for j in 0..n {
                let (t, d) = if i == j { (0, 0) } else { f(i, j) };
                durations.push(t);
                distances.push(d);
            }
        }
        Self {
            n,
            durations,
            distances,
        }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Seconds from `i` to `j`.
    #[inline]
    pub fn time(&self, i: usize, j: usize) -> u32 {
        self.durations[i * self.n + j]
    }

    /// Metres from `i` to `j`.
    #[inline]
    pub fn dist(&self, i: usize, j: usize) -> u32 {
        self.distances[i * self.n + j]
    }

    pub fn durations(&self) -> &[u32] {
        &self.durations
    }

    pub fn distances(&self) -> &[u32] {
        &self.distances
    }

    /// Whether `time(i, j) == time(j, i)` for every pair.
    pub fn is_symmetric(&self) -> bool {
        (0..self.n).all(|i| (i + 1..self.n).all(|j| self.time(i, j) == self.time(j, i)))
    }
}

/// How fast a vehicle moves on average through a city, in metres per second,
/// for straight-line estimates (stops, lights and turns included).
pub fn average_speed_mps(kind: VehicleKind) -> f64 {
    match kind {
        VehicleKind::OnFoot => 1.3,
        VehicleKind::Bicycle => 4.2,
        VehicleKind::CargoBike => 3.6,
        VehicleKind::Scooter => 6.0,
        VehicleKind::Car | VehicleKind::Van => 7.0,
    }
}

/// The default when no road network is loaded: great-circle distance times a
/// detour factor ([`URBAN_DETOUR`]), at the vehicle's average speed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StraightLine {
    pub detour: f64,
    pub speed_mps: f64,
}

impl StraightLine {
    pub fn for_vehicle(kind: VehicleKind) -> Self {
        Self {
            detour: URBAN_DETOUR,
            speed_mps: average_speed_mps(kind),
        }
    }

    /// Metres and seconds from `a` to `b`.
    pub fn leg(&self, a: GeoPoint, b: GeoPoint) -> (u32, u32) {
        let m = haversine_m(a.lat, a.lon, b.lat, b.lon) * self.detour;
        (m.round() as u32, (m / self.speed_mps).round() as u32)
    }

    pub fn matrix(&self, points: &[GeoPoint]) -> Matrix {
        Matrix::from_fn(points.len(), |i, j| {
            let (m, s) = self.leg(points[i], points[j]);
            (s, m)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn straight_line_is_symmetric_and_scaled_by_detour() {
        let pts = [
            GeoPoint {
                lat: 60.1699,
                lon: 24.9384,
            },
            GeoPoint {
                lat: 60.1719,
                lon: 24.9414,
            },
            GeoPoint {
                lat: 60.1650,
                lon: 24.9500,
            },
        ];
        let sl = StraightLine {
            detour: 1.5,
            speed_mps: 5.0,
        };
        let m = sl.matrix(&pts);
        assert!(m.is_symmetric());
        let crow = haversine_m(pts[0].lat, pts[0].lon, pts[1].lat, pts[1].lon);
        assert!((f64::from(m.dist(0, 1)) - crow * 1.5).abs() <= 1.0);
        assert!((f64::from(m.time(0, 1)) - crow * 1.5 / 5.0).abs() <= 1.0);
        assert_eq!(m.time(2, 2), 0);
    }

    #[test]
    fn wrong_sizes_are_refused() {
        assert!(Matrix::new(2, vec![0; 4], vec![0; 3]).is_err());
        assert!(Matrix::from_costs(3, vec![0; 9]).is_ok());
    }
}

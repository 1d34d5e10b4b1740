//! Zones (delivery areas as polygons) and warehouses.

use geo::{Contains, Coord, LineString, Point, Polygon};
use serde::{Deserialize, Serialize};

use super::order::{Address, SpecError};
use super::{GeoPoint, WarehouseId, ZoneId};

/// A delivery zone: a named polygon (exterior ring, lon/lat order as in GeoJSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    pub id: ZoneId,
    pub name: String,
    /// Exterior ring as `[lon, lat]` pairs; closed or not.
    pub ring: Vec<[f64; 2]>,
}

impl Zone {
    pub fn polygon(&self) -> Result<Polygon<f64>, SpecError> {
        if self.ring.len() < 3 {
            return Err(SpecError::new(
                format!("zones.{}.ring", self.id),
                "a zone needs at least 3 corners",
            ));
        }
        let coords: Vec<Coord<f64>> = self
            .ring
            .iter()
            .map(|[x, y]| Coord { x: *x, y: *y })
            .collect();
        Ok(Polygon::new(LineString::from(coords), vec![]))
    }
}

/// Point-in-zone lookups over a tenant's zones. The first zone (in the order
/// given) that contains the point wins, so overlapping zones are deterministic.
#[derive(Clone, Debug)]
pub struct ZoneIndex {
    zones: Vec<(ZoneId, Polygon<f64>)>,
}

impl ZoneIndex {
    pub fn new(zones: &[Zone]) -> Result<Self, SpecError> {
        Ok(Self {
            zones: zones
                .iter()
                .map(|z| Ok((z.id.clone(), z.polygon()?)))
                .collect::<Result<_, _>>()?,
        })
    }

    pub fn zone_of(&self, p: GeoPoint) -> Option<&ZoneId> {
        let point = Point::new(p.lon, p.lat);
        self.zones
            .iter()
            .find(|(_, poly)| poly.contains(&point))
            .map(|(id, _)| id)
    }
}

/// What a warehouse or hub can be used as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WarehouseUses {
    pub pickup: bool,
    pub dropoff: bool,
    pub staging: bool,
    pub route_endpoint: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Warehouse {
    pub id: WarehouseId,
    pub name: String,
    pub address: Address,
    pub uses: WarehouseUses,
}

/// How much longer a street route is than the straight line, where no road
/// graph says better (streets are not straight; 1.3 is the usual urban figure).
pub const URBAN_DETOUR: f64 = 1.3;

/// Great-circle distance in metres between two WGS84 positions.
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    use geo::{Distance, Haversine, Point};
    Haversine.distance(Point::new(lon1, lat1), Point::new(lon2, lat2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(id: &str, ring: &[[f64; 2]]) -> Zone {
        Zone {
            id: ZoneId::new(id),
            name: id.into(),
            ring: ring.to_vec(),
        }
    }

    #[test]
    fn points_fall_in_the_right_zone() {
        // Kamppi (west) and Kluuvi (east) as rough boxes around real coordinates.
        let zones = [
            zone(
                "kamppi",
                &[
                    [24.925, 60.165],
                    [24.937, 60.165],
                    [24.937, 60.172],
                    [24.925, 60.172],
                ],
            ),
            zone(
                "kluuvi",
                &[
                    [24.937, 60.165],
                    [24.955, 60.165],
                    [24.955, 60.175],
                    [24.937, 60.175],
                ],
            ),
        ];
        let index = ZoneIndex::new(&zones).unwrap();
        let kamppi_centre = GeoPoint::new(60.1685, 24.9316).unwrap();
        let stockmann = GeoPoint::new(60.1687, 24.9420).unwrap();
        let suomenlinna = GeoPoint::new(60.1454, 24.9881).unwrap();
        assert_eq!(index.zone_of(kamppi_centre).unwrap().as_str(), "kamppi");
        assert_eq!(index.zone_of(stockmann).unwrap().as_str(), "kluuvi");
        assert_eq!(index.zone_of(suomenlinna), None);
    }

    #[test]
    fn a_degenerate_zone_is_refused() {
        let err = ZoneIndex::new(&[zone("line", &[[0.0, 0.0], [1.0, 1.0]])]).unwrap_err();
        assert_eq!(err.field, "zones.line.ring");
    }
}

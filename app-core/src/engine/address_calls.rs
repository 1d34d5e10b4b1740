//! Address search on the device ([`Request::SearchAddress`],
//! [`Request::ReverseGeocode`]) over the offline index `ruta-geocode` builds
//! from the same OpenStreetMap extract as the road graph, and the distance an
//! order is priced for: by road when a graph is loaded, else the straight line
//! times the urban detour.
//!
//! [`Request::SearchAddress`]: app_api::Request::SearchAddress
//! [`Request::ReverseGeocode`]: app_api::Request::ReverseGeocode

use std::sync::Arc;

use app_api::{AddressMatch, AddressSearch, AddressSuggestion, ApiError, Point};

use super::Core;
use crate::domain::GeoPoint;
use crate::domain::order::OrderSpec;
use crate::geocode::{AddressIndex, Geocoded, MatchKind, Suggestion};
use crate::routing::roads::RoadGraph;

/// Suggestions a search returns unless it asks for fewer.
const DEFAULT_LIMIT: u32 = 8;
const MAX_LIMIT: u32 = 50;

/// How an order's distance is measured: the road graph when one is loaded.
/// Cheap to clone, so a CSV import's builder thread carries its own.
#[derive(Clone, Default)]
pub(crate) struct Distances {
    roads: Option<Arc<RoadGraph>>,
}

impl Distances {
    /// The distance an order is priced for, pickup to drop-off, and whether it
    /// was measured on the roads; 0 when either end has no map position.
    pub(crate) fn priced_m(&self, spec: &OrderSpec) -> (f64, bool) {
        let (Some(a), Some(b)) = (spec.pickup.address.point, spec.dropoff.address.point) else {
            return (0.0, false);
        };
        if let Some(graph) = &self.roads
            && let Ok(path) = graph.path(a, b)
        {
            return (f64::from(path.distance_m), true);
        }
        (a.distance_m(b) * crate::domain::geo::URBAN_DETOUR, false)
    }
}

impl Core {
    /// The address index searches use (`None`: nothing can be found; the
    /// user drops a pin). [`Core::load_road_graph`] sets it from the same file.
    pub fn set_address_index(&self, index: Option<Arc<AddressIndex>>) {
        *self.geocoder.lock().unwrap_or_else(|p| p.into_inner()) = index;
    }

    fn address_index(&self) -> Option<Arc<AddressIndex>> {
        self.geocoder
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn distances(&self) -> Distances {
        Distances {
            roads: self.roads.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    pub(super) fn search_address(
        &self,
        query: &str,
        limit: Option<u32>,
        near: Option<Point>,
    ) -> Result<AddressSearch, ApiError> {
        let Some(index) = self.address_index() else {
            return Ok(AddressSearch {
                suggestions: Vec::new(),
                index_loaded: false,
            });
        };
        if query.len() > 300 {
            return Err(ApiError::Invalid {
                field: "query".into(),
                message: format!("{} characters: an address is at most 300", query.len()),
            });
        }
        let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize;
        let near = near.map(|p| GeoPoint {
            lat: p.lat,
            lon: p.lon,
        });
        Ok(AddressSearch {
            suggestions: index
                .search_near(query, limit, near)
                .into_iter()
                .map(suggestion_dto)
                .collect(),
            index_loaded: true,
        })
    }

    pub(super) fn reverse_geocode(
        &self,
        point: Point,
    ) -> Result<Option<AddressSuggestion>, ApiError> {
        let at = GeoPoint::new(point.lat, point.lon).map_err(|e| ApiError::Invalid {
            field: "point".into(),
            message: e.to_string(),
        })?;
        Ok(self
            .address_index()
            .and_then(|index| index.reverse(at))
            .map(suggestion_dto))
    }

    /// A CSV row's address as one position, or why not (`None`: no index).
    pub(crate) fn geocode_one(&self, address: &str) -> Option<Geocoded> {
        self.address_index().map(|index| index.geocode(address))
    }
}

pub(crate) fn suggestion_dto(s: Suggestion) -> AddressSuggestion {
    AddressSuggestion {
        label: s.label,
        point: Point {
            lat: s.point.lat,
            lon: s.point.lon,
        },
        kind: match s.kind {
            MatchKind::Address => AddressMatch::Address,
            MatchKind::Interpolated => AddressMatch::Interpolated,
            MatchKind::Place => AddressMatch::Place,
            MatchKind::Street => AddressMatch::Street,
        },
        street: s.street,
        housenumber: s.housenumber,
        postcode: s.postcode,
        city: s.city,
        name: s.name,
        // Exact, prefix and word matches cost under 1; every edit costs 1.
        corrected: s.cost >= 1.0,
    }
}

#[cfg(test)]
mod tests;

//! The domain model: plain data and pure functions, no IO and no clock.
//!
//! - [`order`]: orders, their stops, packages, service options and POD requirements.
//! - [`pricing`]: a tenant's tariff and the price it computes.
//! - [`geo`]: zones as polygons with point-in-zone lookups, warehouses and hubs.
//! - [`fleet`]: users and roles, couriers, waybills, trips (run sheets), routes and route sessions.
//! - [`cod`]: cash on delivery: collection by couriers and remittance to the office.
//! - [`proof`]: what a proof of delivery records about place and recipient (GPS fix,
//!   verification method), shared by the lifecycle and the POD chain.
//! - [`hlc`]: hybrid logical clock stamps, so offline work keeps the time it happened.
//! - [`clock`]: the one place time comes from; everything else takes `now` as an argument.
//!
//! The delivery lifecycle — who may do what to an order, and how its state follows
//! from its history — is not here but in `ruta_model::lifecycle`, the one place rules live.

pub mod clock;
pub mod cod;
pub mod codes;
pub mod fleet;
pub mod geo;
pub mod hlc;
pub mod order;
pub mod pricing;
pub mod proof;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

id_type!(
    /// A tenant: one delivery company running its own sync server.
    TenantId,
    /// A person who signs in: client, dispatcher, courier or admin.
    UserId,
    /// One device's local store (a phone, a desktop, a headless host).
    DeviceId,
    /// An order; also the id of its shared document.
    OrderId,
    /// A customer account (a client company or person).
    CustomerId,
    ZoneId,
    WarehouseId,
    WaybillId,
    TripId,
    RouteId,
    /// A proof-of-delivery record.
    PodId,
);

/// What a user may do is decided by their role (shared with the UI).
pub use app_api::Role;

/// Who did something, and on which device.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    pub user: UserId,
    pub role: Role,
    pub device: DeviceId,
}

/// A WGS84 position.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Result<Self, crate::order::SpecError> {
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(crate::order::SpecError::new(
                "point",
                format!("({lat}, {lon}) is not a WGS84 position"),
            ));
        }
        Ok(Self { lat, lon })
    }

    /// Great-circle distance in metres (haversine).
    pub fn distance_m(self, other: GeoPoint) -> f64 {
        geo::haversine_m(self.lat, self.lon, other.lat, other.lon)
    }
}

/// Lowercase hex of `bytes` (hashes, keys and blob names are written this way).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The bytes of a hex string (either case); `None` if it is not hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The snake_case name serde gives a unit enum variant (how enums are stored in
/// SQLite, written into CBOR beacons and shown in the server's directory).
pub fn enum_str<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_matches_a_known_helsinki_distance() {
        // Helsinki Central Station to Kamppi: about 500 m.
        let station = GeoPoint::new(60.1710, 24.9414).unwrap();
        let kamppi = GeoPoint::new(60.1685, 24.9316).unwrap();
        let d = station.distance_m(kamppi);
        assert!((500.0..650.0).contains(&d), "{d}");
    }

    #[test]
    fn out_of_range_points_are_refused() {
        assert!(GeoPoint::new(91.0, 0.0).is_err());
        assert!(GeoPoint::new(0.0, 181.0).is_err());
        assert!(GeoPoint::new(f64::NAN, 0.0).is_err());
    }
}

//! What a proof of delivery records about where it happened and how the
//! recipient was verified. Plain data shared by the lifecycle (a `PodCaptured`
//! event carries it) and the POD chain (which hashes it).

use serde::{Deserialize, Serialize};

/// Coordinates or an accuracy outside their ranges (or not numbers).
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[error("GPS fix out of range: lat {lat}, lon {lon}, accuracy {accuracy_m} m")]
pub struct BadGps {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
}

/// A GPS fix in integer units, so it hashes without float formatting questions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GpsFix {
    /// Latitude in microdegrees (1e-6°, about 11 cm).
    pub lat_e6: i32,
    /// Longitude in microdegrees.
    pub lon_e6: i32,
    /// The fix's accuracy radius in centimetres, as the platform reports it.
    pub accuracy_cm: u32,
}

impl GpsFix {
    /// Rounds degrees to microdegrees and metres to centimetres.
    pub fn from_degrees(lat: f64, lon: f64, accuracy_m: f64) -> Result<Self, BadGps> {
        if !(-90.0..=90.0).contains(&lat)
            || !(-180.0..=180.0).contains(&lon)
            || !(0.0..=1.0e7).contains(&accuracy_m)
        {
            return Err(BadGps {
                lat,
                lon,
                accuracy_m,
            });
        }
        // The ranges above bound every product well inside i32/u32.
        Ok(GpsFix {
            lat_e6: (lat * 1e6).round() as i32,
            lon_e6: (lon * 1e6).round() as i32,
            accuracy_cm: (accuracy_m * 100.0).round() as u32,
        })
    }

    pub fn lat(&self) -> f64 {
        f64::from(self.lat_e6) / 1e6
    }

    pub fn lon(&self) -> f64 {
        f64::from(self.lon_e6) / 1e6
    }

    /// Whether the fix lies on the globe (a deserialised fix may not).
    pub fn is_valid(&self) -> bool {
        (-90_000_000..=90_000_000).contains(&self.lat_e6)
            && (-180_000_000..=180_000_000).contains(&self.lon_e6)
    }
}

/// How the recipient was verified for this record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationMethod {
    None,
    /// The order's QR code was scanned and matched.
    Qr,
    /// The order's PIN was typed and matched.
    Pin,
    /// Both (an order may require both).
    QrAndPin,
}

//! Address search DTOs: what the device's offline address index answers as
//! someone types, and for a point on the map.

use serde::{Deserialize, Serialize};

use super::Point;

/// What a suggestion points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressMatch {
    /// A tagged address: the building or entrance itself.
    Address,
    /// A house number placed between its neighbours on the street.
    Interpolated,
    /// A named place or business.
    Place,
    /// The street only (no number given, or one the street does not have).
    Street,
}

/// One suggestion, with the position the order will use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressSuggestion {
    /// How it reads ("Bulevardi 14, 00120 Helsinki").
    pub label: String,
    pub point: Point,
    pub kind: AddressMatch,
    #[serde(default)]
    pub street: Option<String>,
    #[serde(default)]
    pub housenumber: Option<String>,
    #[serde(default)]
    pub postcode: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    /// A place's or business's name.
    #[serde(default)]
    pub name: Option<String>,
    /// True when the query was matched with a spelling difference.
    #[serde(default)]
    pub corrected: bool,
}

/// The answer to an address search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressSearch {
    pub suggestions: Vec<AddressSuggestion>,
    /// False when this device has no map extract loaded: nothing can be found
    /// (the user drops a pin instead).
    pub index_loaded: bool,
}

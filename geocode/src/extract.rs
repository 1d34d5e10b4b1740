//! What the index is built from, read out of an `.osm.pbf` extract.
//!
//! Two passes over the file, so memory follows what is kept, not the extract:
//! the first takes tagged nodes and the ways that matter (named streets,
//! buildings and other ways with an address, `addr:interpolation` lines, named
//! places and businesses) and notes the nodes those ways need; the second
//! reads only those nodes' positions.

use std::collections::{HashMap, HashSet};

use osmpbf::{Element, ElementReader};
use ruta_domain::GeoPoint;

/// One address of the extract: a node, or a way (a building) at its centre.
#[derive(Clone, Debug, PartialEq)]
pub struct RawAddress {
    pub street: String,
    pub housenumber: String,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub point: GeoPoint,
    /// `n123` or `w456`: where it came from.
    pub source: String,
}

/// A named street: the ways that carry the name, as polylines.
#[derive(Clone, Debug, PartialEq)]
pub struct RawStreet {
    pub name: String,
    /// `name:fi`, `name:sv` and `alt_name` where they differ from `name`.
    pub other_names: Vec<String>,
    pub lines: Vec<Vec<GeoPoint>>,
}

/// A named place or business (`amenity`, `shop`, `tourism`, `office`, a
/// station, a `place`...).
#[derive(Clone, Debug, PartialEq)]
pub struct RawPlace {
    pub name: String,
    pub other_names: Vec<String>,
    /// What it is, from its main tag (`"cafe"`, `"station"`, `"suburb"`).
    pub category: String,
    pub point: GeoPoint,
    /// Its own address, when tagged.
    pub street: Option<String>,
    pub housenumber: Option<String>,
}

/// An `addr:interpolation` line: house numbers spread between tagged ends.
#[derive(Clone, Debug, PartialEq)]
pub struct RawInterpolation {
    /// `odd`, `even` or `all`.
    pub step: u32,
    pub street: Option<String>,
    /// The line's nodes: position and, for tagged ends, their house number and street.
    pub nodes: Vec<(GeoPoint, Option<(String, String)>)>,
}

/// Everything read from one extract.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawExtract {
    pub addresses: Vec<RawAddress>,
    pub streets: Vec<RawStreet>,
    pub places: Vec<RawPlace>,
    pub interpolations: Vec<RawInterpolation>,
}

/// Reading the extract failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtractError(pub String);

impl std::fmt::Display for ExtractError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the OSM extract cannot be read: {}", self.0)
    }
}

impl std::error::Error for ExtractError {}

/// The tags that make something a place people name as a destination.
const PLACE_KEYS: &[&str] = &[
    "amenity",
    "shop",
    "tourism",
    "office",
    "leisure",
    "craft",
    "healthcare",
    "historic",
    "railway",
    "public_transport",
    "place",
];

type Tags<'a> = Vec<(&'a str, &'a str)>;

fn get<'a>(tags: &Tags<'a>, key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .filter(|v| !v.trim().is_empty())
}

fn other_names(tags: &Tags<'_>, name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in ["name:fi", "name:sv", "alt_name", "old_name", "short_name"] {
        if let Some(v) = get(tags, key) {
            for part in v.split(';') {
                let part = part.trim();
                if !part.is_empty() && part != name && !out.iter().any(|o| o == part) {
                    out.push(part.to_owned());
                }
            }
        }
    }
    out
}

fn place_category(tags: &Tags<'_>) -> Option<String> {
    if get(tags, "highway").is_some() {
        return None;
    }
    PLACE_KEYS.iter().find_map(|k| {
        let v = get(tags, k)?;
        match *k {
            // Stations, not their platforms, stop positions and tram stops.
            "railway" => matches!(v, "station" | "halt").then(|| "station".to_owned()),
            "public_transport" => (v == "station").then(|| "station".to_owned()),
            // Street furniture is named now and then, never a destination.
            "amenity"
                if matches!(
                    v,
                    "bench"
                        | "waste_basket"
                        | "bicycle_parking"
                        | "vending_machine"
                        | "parking_entrance"
                        | "recycling"
                        | "telephone"
                        | "clock"
                        | "drinking_water"
                        | "parking_space"
                ) =>
            {
                None
            }
            _ => Some(v.to_owned()),
        }
    })
}

/// What a way of the first pass will become once its nodes are placed.
enum WayUse {
    Address {
        street: String,
        housenumber: String,
        postcode: Option<String>,
        city: Option<String>,
    },
    Place(RawPlace),
    Interpolation {
        step: u32,
        street: Option<String>,
    },
}

impl RawExtract {
    /// Reads an extract held in memory.
    pub fn from_pbf(bytes: &[u8]) -> Result<Self, ExtractError> {
        let mut out = RawExtract::default();
        // Tagged nodes' addresses (for interpolation ends), by node id.
        let mut node_address: HashMap<i64, (String, String)> = HashMap::new();
        let mut ways: Vec<(Vec<i64>, WayUse)> = Vec::new();
        let mut streets: HashMap<String, RawStreet> = HashMap::new();
        let mut street_ways: Vec<(String, Vec<i64>)> = Vec::new();

        let mut take_node = |out: &mut RawExtract, id: i64, lat: f64, lon: f64, tags: Tags<'_>| {
            if tags.is_empty() {
                return;
            }
            let point = GeoPoint { lat, lon };
            let street = get(&tags, "addr:street");
            let number = get(&tags, "addr:housenumber");
            if let (Some(street), Some(number)) = (street, number) {
                node_address.insert(id, (street.to_owned(), number.to_owned()));
                out.addresses.push(RawAddress {
                    street: street.to_owned(),
                    housenumber: number.to_owned(),
                    postcode: get(&tags, "addr:postcode").map(str::to_owned),
                    city: get(&tags, "addr:city").map(str::to_owned),
                    point,
                    source: format!("n{id}"),
                });
            } else if let Some(number) = number {
                // An interpolation end may carry only its number.
                node_address.insert(id, (String::new(), number.to_owned()));
            }
            if let (Some(name), Some(category)) = (get(&tags, "name"), place_category(&tags)) {
                out.places.push(RawPlace {
                    name: name.to_owned(),
                    other_names: other_names(&tags, name),
                    category,
                    point,
                    street: street.map(str::to_owned),
                    housenumber: number.map(str::to_owned),
                });
            }
        };

        ElementReader::new(bytes)
            .for_each(|element| match element {
                Element::Node(n) => {
                    take_node(&mut out, n.id(), n.lat(), n.lon(), n.tags().collect());
                }
                Element::DenseNode(n) => {
                    take_node(&mut out, n.id(), n.lat(), n.lon(), n.tags().collect());
                }
                Element::Way(w) => {
                    let tags: Tags<'_> = w.tags().collect();
                    let refs = || w.refs().collect::<Vec<i64>>();
                    if let Some(step) = get(&tags, "addr:interpolation") {
                        let step = match step {
                            "odd" | "even" => 2,
                            "all" => 1,
                            _ => return,
                        };
                        ways.push((
                            refs(),
                            WayUse::Interpolation {
                                step,
                                street: get(&tags, "addr:street").map(str::to_owned),
                            },
                        ));
                        return;
                    }
                    if get(&tags, "highway").is_some()
                        && let Some(name) = get(&tags, "name")
                    {
                        let entry = streets.entry(name.to_owned()).or_insert_with(|| RawStreet {
                            name: name.to_owned(),
                            other_names: Vec::new(),
                            lines: Vec::new(),
                        });
                        for other in other_names(&tags, name) {
                            if !entry.other_names.contains(&other) {
                                entry.other_names.push(other);
                            }
                        }
                        street_ways.push((name.to_owned(), refs()));
                        return;
                    }
                    let street = get(&tags, "addr:street");
                    let number = get(&tags, "addr:housenumber");
                    if let (Some(street), Some(number)) = (street, number) {
                        ways.push((
                            refs(),
                            WayUse::Address {
                                street: street.to_owned(),
                                housenumber: number.to_owned(),
                                postcode: get(&tags, "addr:postcode").map(str::to_owned),
                                city: get(&tags, "addr:city").map(str::to_owned),
                            },
                        ));
                    }
                    if let (Some(name), Some(category)) =
                        (get(&tags, "name"), place_category(&tags))
                    {
                        ways.push((
                            refs(),
                            WayUse::Place(RawPlace {
                                name: name.to_owned(),
                                other_names: other_names(&tags, name),
                                category,
                                point: GeoPoint { lat: 0.0, lon: 0.0 },
                                street: street.map(str::to_owned),
                                housenumber: number.map(str::to_owned),
                            }),
                        ));
                    }
                }
                Element::Relation(_) => {}
            })
            .map_err(|e| ExtractError(e.to_string()))?;

        // Second pass: the positions of the nodes those ways use.
        let needed: HashSet<i64> = ways
            .iter()
            .flat_map(|(refs, _)| refs.iter().copied())
            .chain(
                street_ways
                    .iter()
                    .flat_map(|(_, refs)| refs.iter().copied()),
            )
            .collect();
        let mut position: HashMap<i64, GeoPoint> = HashMap::with_capacity(needed.len());
        ElementReader::new(bytes)
            .for_each(|element| {
                let (id, lat, lon) = match element {
                    Element::Node(n) => (n.id(), n.lat(), n.lon()),
                    Element::DenseNode(n) => (n.id(), n.lat(), n.lon()),
                    _ => return,
                };
                if needed.contains(&id) {
                    position.insert(id, GeoPoint { lat, lon });
                }
            })
            .map_err(|e| ExtractError(e.to_string()))?;

        for (name, refs) in street_ways {
            // A clipped way is split where its nodes are missing.
            let mut line: Vec<GeoPoint> = Vec::new();
            let entry = streets.get_mut(&name).expect("entered in the first pass");
            for id in refs {
                match position.get(&id) {
                    Some(p) => line.push(*p),
                    None if !line.is_empty() => entry.lines.push(std::mem::take(&mut line)),
                    None => {}
                }
            }
            if !line.is_empty() {
                entry.lines.push(line);
            }
        }
        out.streets = streets
            .into_values()
            .filter(|s| !s.lines.is_empty())
            .collect();
        out.streets.sort_by(|a, b| a.name.cmp(&b.name));

        for (refs, use_) in ways {
            let points: Vec<GeoPoint> = refs
                .iter()
                .filter_map(|id| position.get(id))
                .copied()
                .collect();
            let Some(centre) = centre_of(&points) else {
                continue;
            };
            match use_ {
                WayUse::Address {
                    street,
                    housenumber,
                    postcode,
                    city,
                } => out.addresses.push(RawAddress {
                    street,
                    housenumber,
                    postcode,
                    city,
                    point: centre,
                    source: format!("w{}", refs.first().copied().unwrap_or_default()),
                }),
                WayUse::Place(mut place) => {
                    place.point = centre;
                    out.places.push(place);
                }
                WayUse::Interpolation { step, street } => {
                    let nodes = refs
                        .iter()
                        .filter_map(|id| {
                            position
                                .get(id)
                                .map(|p| (*p, node_address.get(id).cloned()))
                        })
                        .collect();
                    out.interpolations.push(RawInterpolation {
                        step,
                        street,
                        nodes,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// The mean of a way's distinct points (a closed way repeats its first node).
fn centre_of(points: &[GeoPoint]) -> Option<GeoPoint> {
    let pts = match points {
        [first, .., last] if first == last && points.len() > 2 => &points[..points.len() - 1],
        _ => points,
    };
    if pts.is_empty() {
        return None;
    }
    let n = pts.len() as f64;
    Some(GeoPoint {
        lat: pts.iter().map(|p| p.lat).sum::<f64>() / n,
        lon: pts.iter().map(|p| p.lon).sum::<f64>() / n,
    })
}

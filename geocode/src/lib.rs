//! Offline address search for the device: an index built from the same
//! OpenStreetMap extract as the road graph, searched as people type. No
//! geocoding service is ever called.
//!
//! Map data © OpenStreetMap contributors, ODbL 1.0: a position found here is
//! derived from it (see `data/osm/README.md`).
//!
//! # What is indexed
//! - Addresses: nodes and ways (buildings, at their centre) tagged
//!   `addr:street` + `addr:housenumber`, grouped per street and city.
//! - House numbers between the tagged ends of an `addr:interpolation` line,
//!   placed along it ([`MatchKind::Interpolated`]).
//! - Streets by every name OSM gives them (`name`, `name:fi`, `name:sv`,
//!   `alt_name`, ...): "Bulevarden 14" finds Bulevardi 14.
//! - Named places and businesses (amenities, shops, offices, stations,
//!   `place=*`), with their own address when tagged.
//!
//! # How a query matches
//! The query is taken apart ([`text::Query`]): the house number before or
//! after the street, a staircase letter, a postcode, a trailing city name,
//! abbreviated street types (`Fredrikink.`, `Fredrikin k.`, `Mannerheimint.`).
//! Names are compared folded (case and diacritics dropped) and compact (no
//! spaces). A name matches exactly, by prefix (the user is still typing), from
//! one of its words, or within an edit budget (optimal string alignment:
//! a transposed, missing, extra or wrong letter is one edit; 1 edit from 4
//! letters, 2 from 7). Each match has a cost; the cheapest come first. A house
//! number the street does not have is placed between its neighbours on the
//! same side of the street (odd or even numbers).

pub mod extract;
pub mod text;

use std::collections::HashMap;

use rstar::RTree;
use rstar::primitives::GeomWithData;
use ruta_domain::GeoPoint;
use serde::{Deserialize, Serialize};

pub use extract::{ExtractError, RawExtract};
use text::{HouseNumber, Query};

/// What a suggestion points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// A tagged address: the building or entrance itself.
    Address,
    /// A house number placed between its tagged neighbours.
    Interpolated,
    /// A named place or business.
    Place,
    /// The street only (no number typed, or one the street does not have).
    Street,
}

/// One answer to a query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// How the address reads ("Bulevardi 14, 00120 Helsinki").
    pub label: String,
    pub point: GeoPoint,
    pub kind: MatchKind,
    pub street: Option<String>,
    pub housenumber: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    /// The place's or business's name, for [`MatchKind::Place`].
    pub name: Option<String>,
    /// Lower is better: 0 is an exact match, each edit costs 1.
    pub cost: f32,
}

/// The verdict on a query that must resolve to one position (CSV rows).
#[derive(Clone, Debug, PartialEq)]
pub enum Geocoded {
    Found(Suggestion),
    /// Several equally good answers far apart: the candidates.
    Ambiguous(Vec<Suggestion>),
    /// Nothing matched; the reason when something nearly did.
    NotFound(Option<String>),
}

/// What building the index kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexStats {
    /// Distinct house numbers from tagged nodes and ways.
    pub addresses: usize,
    /// House numbers added along `addr:interpolation` lines.
    pub interpolated: usize,
    pub streets: usize,
    pub places: usize,
    /// Names searched (every street's and place's names).
    pub names: usize,
}

#[derive(Clone, Debug)]
struct House {
    number: HouseNumber,
    display: String,
    postcode: Option<String>,
    point: GeoPoint,
    interpolated: bool,
}

#[derive(Clone, Debug)]
struct Street {
    name: String,
    city: Option<String>,
    /// Sorted by number.
    houses: Vec<House>,
    centre: GeoPoint,
}

#[derive(Clone, Debug)]
struct Place {
    name: String,
    point: GeoPoint,
    /// "Aleksanterinkatu 52", when the place has an address.
    address: Option<String>,
    category: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Target {
    Street(u32),
    Place(u32),
}

#[derive(Clone, Debug)]
struct Key {
    compact: String,
    /// Which letters a-z (bits 0-25) and digits (bit 26) the name has.
    letters: u32,
    /// Where each word after the first starts in `compact`.
    word_starts: Vec<u16>,
    target: Target,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Near {
    House(u32, u32),
    Place(u32),
    Street(u32),
}

/// Streets while the index is built: by position, by (name, city) and by name.
#[derive(Default)]
struct StreetBook {
    list: Vec<Street>,
    of: HashMap<(String, Option<String>), u32>,
    by_name: HashMap<String, Vec<u32>>,
}

impl StreetBook {
    fn add(&mut self, name: &str, city: Option<&str>) -> u32 {
        let key = (name.to_owned(), city.map(str::to_owned));
        if let Some(&i) = self.of.get(&key) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(Street {
            name: name.to_owned(),
            city: city.map(str::to_owned),
            houses: Vec::new(),
            centre: GeoPoint { lat: 0.0, lon: 0.0 },
        });
        self.of.insert(key, i);
        self.by_name.entry(name.to_owned()).or_default().push(i);
        i
    }

    fn named(&self, name: &str) -> &[u32] {
        self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The address index of one extract. See the crate docs.
pub struct AddressIndex {
    streets: Vec<Street>,
    places: Vec<Place>,
    keys: Vec<Key>,
    /// Keys by their compact name.
    exact: HashMap<String, Vec<u32>>,
    /// Folded city names, dropped from queries.
    cities: Vec<String>,
    tree: RTree<GeomWithData<[f64; 2], Near>>,
    lon_scale: f64,
    stats: IndexStats,
}

impl std::fmt::Debug for AddressIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressIndex")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// How far [`AddressIndex::reverse`] looks for a house or place, and for a street.
pub const REVERSE_HOUSE_M: f64 = 60.0;
pub const REVERSE_STREET_M: f64 = 150.0;

impl AddressIndex {
    /// Builds the index of an `.osm.pbf` held in memory.
    pub fn from_pbf(bytes: &[u8]) -> Result<Self, ExtractError> {
        Ok(Self::from_extract(RawExtract::from_pbf(bytes)?))
    }

    /// Builds the index from what an extract holds (tests and the benchmark
    /// leave some addresses out).
    pub fn from_extract(raw: RawExtract) -> Self {
        let mut stats = IndexStats::default();
        // Streets per (name, city); a street known only as a road has no city.
        let mut book = StreetBook::default();
        let mut addresses = raw.addresses;
        // Nodes (entrances) before ways (building centres), then by id.
        addresses.sort_by(|a, b| a.source.cmp(&b.source));
        // A city must name a place ("7" is a tagging slip): else none.
        let city_of = |a: &extract::RawAddress| {
            a.city
                .as_deref()
                .map(str::trim)
                .filter(|c| c.chars().any(char::is_alphabetic))
                .map(str::to_owned)
        };
        let mut cities: Vec<String> = Vec::new();
        for a in &addresses {
            if let Some(c) = city_of(a) {
                let folded = text::compact(&c);
                if !cities.contains(&folded) {
                    cities.push(folded);
                }
                book.add(&a.street, Some(&c));
            }
        }
        for a in &addresses {
            let Some(number) = HouseNumber::parse(&a.housenumber) else {
                continue;
            };
            // A house without a city joins its street where only one city has it.
            let city = city_of(a).or_else(|| match book.named(&a.street) {
                [one] => book.list[*one as usize].city.clone(),
                _ => None,
            });
            let s = book.add(&a.street, city.as_deref()) as usize;
            if book.list[s].houses.iter().any(|h| h.number == number) {
                continue;
            }
            book.list[s].houses.push(House {
                number,
                display: a.housenumber.trim().to_owned(),
                postcode: a.postcode.clone(),
                point: a.point,
                interpolated: false,
            });
            stats.addresses += 1;
        }
        // Interpolation lines: numbers between each pair of tagged nodes.
        for line in &raw.interpolations {
            let mut along = 0.0;
            let mut marks: Vec<(f64, HouseNumber, Option<String>)> = Vec::new();
            let mut lengths: Vec<f64> = vec![0.0];
            for w in line.nodes.windows(2) {
                along += w[0].0.distance_m(w[1].0);
                lengths.push(along);
            }
            for (i, (_, tag)) in line.nodes.iter().enumerate() {
                if let Some((street, number)) = tag
                    && let Some(n) = HouseNumber::parse(number)
                {
                    let street = line
                        .street
                        .clone()
                        .or_else(|| (!street.is_empty()).then(|| street.clone()));
                    marks.push((lengths[i], n, street));
                }
            }
            for pair in marks.windows(2) {
                let ((d0, n0, s0), (d1, n1, s1)) = (&pair[0], &pair[1]);
                let Some(street) = s0.clone().or_else(|| s1.clone()) else {
                    continue;
                };
                let (lo, hi, dlo, dhi) = match n0.number <= n1.number {
                    true => (n0.number, n1.number, *d0, *d1),
                    false => (n1.number, n0.number, *d1, *d0),
                };
                if hi - lo > 400 {
                    continue;
                }
                let city = book
                    .named(&street)
                    .first()
                    .and_then(|s| book.list[*s as usize].city.clone());
                let s = book.add(&street, city.as_deref()) as usize;
                let mut n = lo + line.step;
                while n < hi {
                    let t = f64::from(n - lo) / f64::from(hi - lo);
                    let point = point_along(&line.nodes, &lengths, dlo + (dhi - dlo) * t);
                    let number = HouseNumber {
                        number: n,
                        letter: String::new(),
                    };
                    if !book.list[s].houses.iter().any(|h| h.number == number) {
                        book.list[s].houses.push(House {
                            display: n.to_string(),
                            number,
                            postcode: None,
                            point,
                            interpolated: true,
                        });
                        stats.interpolated += 1;
                    }
                    n += line.step;
                }
            }
        }
        // Roads give every street its names and a centre; roads without
        // addresses are streets too.
        let mut lines_of: HashMap<u32, Vec<&Vec<GeoPoint>>> = HashMap::new();
        for road in &raw.streets {
            let mut matching: Vec<u32> = book.named(&road.name).to_vec();
            if matching.is_empty() {
                matching.push(book.add(&road.name, None));
            }
            for s in matching {
                lines_of.entry(s).or_default().extend(road.lines.iter());
            }
        }
        let mut streets = book.list;
        for (i, s) in streets.iter_mut().enumerate() {
            s.houses.sort_by(|a, b| a.number.cmp(&b.number));
            let points: Vec<GeoPoint> = match lines_of.get(&(i as u32)) {
                Some(lines) => lines.iter().flat_map(|l| l.iter().copied()).collect(),
                None => s.houses.iter().map(|h| h.point).collect(),
            };
            s.centre = medoid(&points).unwrap_or(GeoPoint { lat: 0.0, lon: 0.0 });
        }
        let mut keys: Vec<Key> = Vec::new();
        let key = |keys: &mut Vec<Key>, name: &str, target: Target| {
            let words = text::words(name);
            let compact = words.concat();
            // A target's keys are made one after another: only the last few can repeat.
            let repeated = keys
                .iter()
                .rev()
                .take_while(|k| k.target == target)
                .any(|k| k.compact == compact);
            if compact.is_empty() || repeated {
                return;
            }
            let mut word_starts = Vec::new();
            let mut at = 0usize;
            for w in &words[..words.len() - 1] {
                at += w.len();
                word_starts.push(at as u16);
            }
            keys.push(Key {
                letters: letters_of(&compact),
                compact,
                word_starts,
                target,
            });
        };
        let mut aliases: HashMap<String, Vec<String>> = HashMap::new();
        for road in &raw.streets {
            aliases
                .entry(road.name.clone())
                .or_default()
                .extend(road.other_names.iter().cloned());
        }
        for (i, s) in streets.iter().enumerate() {
            let t = Target::Street(i as u32);
            key(&mut keys, &s.name, t);
            for alias in aliases.get(&s.name).into_iter().flatten() {
                key(&mut keys, alias, t);
            }
        }
        let mut places: Vec<Place> = Vec::new();
        for p in raw.places {
            if p.street.as_deref() == Some(p.name.as_str()) && p.housenumber.is_none() {
                continue;
            }
            let address = match (&p.street, &p.housenumber) {
                (Some(s), Some(n)) => Some(format!("{s} {n}")),
                (Some(s), None) => Some(s.clone()),
                _ => None,
            };
            let t = Target::Place(places.len() as u32);
            key(&mut keys, &p.name, t);
            for alias in &p.other_names {
                key(&mut keys, alias, t);
            }
            places.push(Place {
                name: p.name,
                point: p.point,
                address,
                category: p.category,
            });
        }
        let lat_mean = {
            let pts: Vec<f64> = streets.iter().map(|s| s.centre.lat).collect();
            if pts.is_empty() {
                60.0
            } else {
                pts.iter().sum::<f64>() / pts.len() as f64
            }
        };
        let lon_scale = lat_mean.to_radians().cos().max(0.01);
        let at = |p: GeoPoint| [p.lon * lon_scale, p.lat];
        let mut entries = Vec::new();
        for (si, s) in streets.iter().enumerate() {
            for (hi, h) in s.houses.iter().enumerate() {
                if !h.interpolated {
                    entries.push(GeomWithData::new(
                        at(h.point),
                        Near::House(si as u32, hi as u32),
                    ));
                }
            }
            for line in lines_of.get(&(si as u32)).into_iter().flatten() {
                for p in line.iter() {
                    entries.push(GeomWithData::new(at(*p), Near::Street(si as u32)));
                }
            }
        }
        for (pi, p) in places.iter().enumerate() {
            entries.push(GeomWithData::new(at(p.point), Near::Place(pi as u32)));
        }
        stats.streets = streets.len();
        stats.places = places.len();
        stats.names = keys.len();
        let mut exact: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            exact.entry(k.compact.clone()).or_default().push(i as u32);
        }
        AddressIndex {
            streets,
            places,
            keys,
            exact,
            cities,
            tree: RTree::bulk_load(entries),
            lon_scale,
            stats,
        }
    }

    pub fn stats(&self) -> IndexStats {
        self.stats
    }

    /// Suggestions for what was typed so far, best first.
    pub fn search(&self, input: &str, limit: usize) -> Vec<Suggestion> {
        self.search_near(input, limit, None)
    }

    /// As [`AddressIndex::search`]; among equally good answers the ones
    /// nearer `near` come first.
    pub fn search_near(
        &self,
        input: &str,
        limit: usize,
        near: Option<GeoPoint>,
    ) -> Vec<Suggestion> {
        self.search_keys(input, limit, near, false)
    }

    /// `exact_first`: when some name is written exactly as typed, only such
    /// names are considered (an answer that must be one position: every
    /// other match costs more, so none could win; the scan is skipped).
    fn search_keys(
        &self,
        input: &str,
        limit: usize,
        near: Option<GeoPoint>,
        exact_first: bool,
    ) -> Vec<Suggestion> {
        let q = Query::parse(input, &self.cities);
        let compact = q.compact();
        if compact.len() < 2 || limit == 0 {
            return Vec::new();
        }
        let mut best: HashMap<Target, f32> = HashMap::new();
        let exact = match self.exact.get(&compact) {
            Some(keys) if exact_first => keys.as_slice(),
            _ => &[],
        };
        let candidates: Box<dyn Iterator<Item = &Key>> = match exact.is_empty() {
            true => Box::new(self.keys.iter()),
            false => Box::new(exact.iter().map(|&i| &self.keys[i as usize])),
        };
        for key in candidates {
            if let Some(c) = key_cost(&compact, key) {
                let e = best.entry(key.target).or_insert(f32::MAX);
                if c < *e {
                    *e = c;
                }
            }
        }
        // Only the cheapest targets become suggestions ("ka" is the start of
        // thousands of names); a street may give several, so keep a margin.
        let mut ranked: Vec<(f32, Target)> = best.into_iter().map(|(t, c)| (c, t)).collect();
        let keep = (limit * 4).max(16);
        if ranked.len() > keep {
            ranked.select_nth_unstable_by(keep - 1, |a, b| a.0.total_cmp(&b.0));
            ranked.truncate(keep);
        }
        let mut out: Vec<Suggestion> = Vec::new();
        for (cost, target) in ranked {
            match target {
                Target::Street(s) => {
                    self.street_suggestions(&self.streets[s as usize], &q, cost, &mut out)
                }
                Target::Place(p) => {
                    let place = &self.places[p as usize];
                    let penalty = match &q.number {
                        Some(n)
                            if !place.address.as_deref().is_some_and(|a| {
                                a.split_whitespace()
                                    .last()
                                    .and_then(HouseNumber::parse)
                                    .is_some_and(|h| h.number == n.number)
                            }) =>
                        {
                            0.6
                        }
                        _ => 0.1,
                    };
                    out.push(self.place_suggestion(place, cost + penalty));
                }
            }
        }
        let dist = |s: &Suggestion| near.map(|n| n.distance_m(s.point)).unwrap_or(0.0);
        out.sort_by(|a, b| {
            a.cost
                .total_cmp(&b.cost)
                .then(a.kind.cmp(&b.kind))
                .then(dist(a).total_cmp(&dist(b)))
                .then(a.label.cmp(&b.label))
        });
        let mut seen = std::collections::HashSet::new();
        out.retain(|s| seen.insert(s.label.clone()));
        out.truncate(limit);
        out
    }

    /// One position for a query, or why not: what a CSV row's address becomes.
    pub fn geocode(&self, input: &str) -> Geocoded {
        let q = Query::parse(input, &self.cities);
        let found = self.search_keys(input, 6, None, true);
        let Some(top) = found.first().cloned() else {
            return Geocoded::NotFound(None);
        };
        if let Some(n) = &q.number
            && top.kind == MatchKind::Street
        {
            let street = top.street.clone().unwrap_or_default();
            return Geocoded::NotFound(Some(format!("{street} has no number {}", n.number)));
        }
        let rivals: Vec<Suggestion> = found
            .iter()
            .filter(|s| s.cost <= top.cost + 0.05 && s.kind == top.kind)
            .cloned()
            .collect();
        if rivals.iter().any(|s| s.point.distance_m(top.point) > 100.0) {
            return Geocoded::Ambiguous(rivals);
        }
        Geocoded::Found(top)
    }

    /// The address at a point (a click on the map): the nearest house or place
    /// within [`REVERSE_HOUSE_M`], else the nearest street within
    /// [`REVERSE_STREET_M`].
    pub fn reverse(&self, point: GeoPoint) -> Option<Suggestion> {
        let q = [point.lon * self.lon_scale, point.lat];
        // Nearest first: a house or place within REVERSE_HOUSE_M wins, else
        // the first street point within REVERSE_STREET_M.
        let mut street: Option<u32> = None;
        for entry in self.tree.nearest_neighbor_iter(&q).take(200) {
            let [x, y] = *entry.geom();
            let p = GeoPoint {
                lat: y,
                lon: x / self.lon_scale,
            };
            let d = p.distance_m(point);
            if d > REVERSE_STREET_M {
                break;
            }
            match entry.data {
                Near::House(s, h) if d <= REVERSE_HOUSE_M => {
                    let s = &self.streets[s as usize];
                    return Some(house_suggestion(s, &s.houses[h as usize], 0.0));
                }
                Near::Place(p) if d <= REVERSE_HOUSE_M => {
                    return Some(self.place_suggestion(&self.places[p as usize], 0.0));
                }
                Near::Street(s) if street.is_none() => street = Some(s),
                _ => {}
            }
            if d > REVERSE_HOUSE_M && street.is_some() {
                break;
            }
        }
        let s = street?;
        let s = &self.streets[s as usize];
        Some(Suggestion {
            point,
            ..street_suggestion(s, 0.0)
        })
    }

    fn street_suggestions(&self, s: &Street, q: &Query, cost: f32, out: &mut Vec<Suggestion>) {
        // A postcode the street's houses do not have: probably another street.
        let cost = match &q.postcode {
            Some(pc)
                if s.houses.iter().any(|h| h.postcode.is_some())
                    && !s.houses.iter().any(|h| h.postcode.as_ref() == Some(pc)) =>
            {
                cost + 0.5
            }
            _ => cost,
        };
        // A city typed that is not the street's.
        let cost = match (&q.city, &s.city) {
            (Some(typed), Some(own)) if *typed != text::compact(own) => cost + 0.5,
            _ => cost,
        };
        let Some(n) = &q.number else {
            out.push(street_suggestion(s, cost));
            return;
        };
        let exact = s.houses.iter().find(|h| h.number == *n);
        let same_number = s.houses.iter().find(|h| h.number.number == n.number);
        match (exact, same_number) {
            (Some(h), _) => out.push(house_suggestion(s, h, cost)),
            (None, Some(h)) => out.push(house_suggestion(s, h, cost + 0.2)),
            (None, None) => match interpolate(s, n.number) {
                Some(point) => {
                    let display = match n.letter.is_empty() {
                        true => n.number.to_string(),
                        false => format!("{} {}", n.number, n.letter.to_uppercase()),
                    };
                    let house = House {
                        number: n.clone(),
                        display,
                        postcode: nearest_postcode(s, n.number),
                        point,
                        interpolated: true,
                    };
                    out.push(house_suggestion(s, &house, cost + 0.3));
                }
                None => out.push(street_suggestion(s, cost + 1.0)),
            },
        }
        // Still typing the number: the street's numbers that start with it.
        if q.number_last && q.partial {
            let mut extra = 0.0;
            for h in &s.houses {
                let digits = h.number.number.to_string();
                if h.number.number != n.number
                    && digits.starts_with(&q.number_text)
                    && h.number.letter.is_empty()
                {
                    extra += 0.01;
                    out.push(house_suggestion(s, h, cost + 0.5 + extra));
                    if extra > 0.1 {
                        break;
                    }
                }
            }
        }
    }

    fn place_suggestion(&self, p: &Place, cost: f32) -> Suggestion {
        let label = match &p.address {
            Some(a) => format!("{}, {a}", p.name),
            None => format!("{} ({})", p.name, p.category.replace('_', " ")),
        };
        Suggestion {
            label,
            point: p.point,
            kind: MatchKind::Place,
            street: None,
            housenumber: None,
            postcode: None,
            city: None,
            name: Some(p.name.clone()),
            cost,
        }
    }
}

fn house_suggestion(s: &Street, h: &House, cost: f32) -> Suggestion {
    let mut label = format!("{} {}", s.name, h.display);
    let postcode = h
        .postcode
        .clone()
        .or_else(|| nearest_postcode(s, h.number.number));
    let tail: Vec<&str> = [postcode.as_deref(), s.city.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if !tail.is_empty() {
        label.push_str(", ");
        label.push_str(&tail.join(" "));
    }
    Suggestion {
        label,
        point: h.point,
        kind: if h.interpolated {
            MatchKind::Interpolated
        } else {
            MatchKind::Address
        },
        street: Some(s.name.clone()),
        housenumber: Some(h.display.clone()),
        postcode,
        city: s.city.clone(),
        name: None,
        cost,
    }
}

fn street_suggestion(s: &Street, cost: f32) -> Suggestion {
    let label = match &s.city {
        Some(c) => format!("{}, {c}", s.name),
        None => s.name.clone(),
    };
    Suggestion {
        label,
        point: s.centre,
        kind: MatchKind::Street,
        street: Some(s.name.clone()),
        housenumber: None,
        postcode: None,
        city: s.city.clone(),
        name: None,
        cost,
    }
}

/// The postcode of the street's house nearest in number.
fn nearest_postcode(s: &Street, n: u32) -> Option<String> {
    s.houses
        .iter()
        .filter(|h| h.postcode.is_some())
        .min_by_key(|h| h.number.number.abs_diff(n))
        .and_then(|h| h.postcode.clone())
}

/// A missing house number between its neighbours on the same side of the
/// street (Finnish and most European streets: odd on one side, even on the
/// other), or next to the nearest one when it is past the last (at most 6
/// numbers away).
fn interpolate(s: &Street, n: u32) -> Option<GeoPoint> {
    let side: Vec<&House> = s
        .houses
        .iter()
        .filter(|h| h.number.number % 2 == n % 2 && !h.interpolated)
        .collect();
    let below = side.iter().rev().find(|h| h.number.number < n);
    let above = side.iter().find(|h| h.number.number > n);
    match (below, above) {
        (Some(a), Some(b)) => {
            let (na, nb) = (f64::from(a.number.number), f64::from(b.number.number));
            let t = (f64::from(n) - na) / (nb - na);
            Some(GeoPoint {
                lat: a.point.lat + (b.point.lat - a.point.lat) * t,
                lon: a.point.lon + (b.point.lon - a.point.lon) * t,
            })
        }
        (Some(h), None) | (None, Some(h)) if h.number.number.abs_diff(n) <= 6 => Some(h.point),
        _ => None,
    }
}

/// The point at `d` metres along a line whose cumulative lengths are `lengths`.
fn point_along(
    nodes: &[(GeoPoint, Option<(String, String)>)],
    lengths: &[f64],
    d: f64,
) -> GeoPoint {
    for i in 1..nodes.len() {
        if lengths[i] >= d {
            let seg = lengths[i] - lengths[i - 1];
            let t = if seg > 0.0 {
                (d - lengths[i - 1]) / seg
            } else {
                0.0
            };
            let (a, b) = (nodes[i - 1].0, nodes[i].0);
            return GeoPoint {
                lat: a.lat + (b.lat - a.lat) * t,
                lon: a.lon + (b.lon - a.lon) * t,
            };
        }
    }
    nodes
        .last()
        .map(|n| n.0)
        .unwrap_or(GeoPoint { lat: 0.0, lon: 0.0 })
}

/// The point of `points` nearest their mean: a street's centre that lies on the street.
fn medoid(points: &[GeoPoint]) -> Option<GeoPoint> {
    if points.is_empty() {
        return None;
    }
    let n = points.len() as f64;
    let mean = GeoPoint {
        lat: points.iter().map(|p| p.lat).sum::<f64>() / n,
        lon: points.iter().map(|p| p.lon).sum::<f64>() / n,
    };
    points.iter().copied().min_by(|a, b| {
        let da = (a.lat - mean.lat).powi(2) + ((a.lon - mean.lon) * 0.5).powi(2);
        let db = (b.lat - mean.lat).powi(2) + ((b.lon - mean.lon) * 0.5).powi(2);
        da.total_cmp(&db)
    })
}

/// The optimal-string-alignment distance of `a` and `b` (a transposition of
/// neighbours is one edit) when it is at most `max`, else `max + 1`. No
/// allocation: names are short (longer ones are cut at 63 bytes), and a row
/// whose best is over `max` ends the count.
fn osa_within(a: &[u8], b: &[u8], max: usize) -> usize {
    const N: usize = 64;
    let (a, b) = (&a[..a.len().min(N - 1)], &b[..b.len().min(N - 1)]);
    if a.len().abs_diff(b.len()) > max {
        return max + 1;
    }
    let mut prev2 = [0usize; N];
    let mut prev: [usize; N] = std::array::from_fn(|j| j);
    let mut cur = [0usize; N];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return max + 1;
        }
        prev2[..=b.len()].copy_from_slice(&prev[..=b.len()]);
        prev[..=b.len()].copy_from_slice(&cur[..=b.len()]);
    }
    prev[b.len()].min(max + 1)
}

/// Bit `c - 'a'` for each letter of `s`, bit 26 for any digit.
fn letters_of(s: &str) -> u32 {
    s.bytes().fold(0, |m, b| match b {
        b'a'..=b'z' => m | 1 << (b - b'a'),
        b'0'..=b'9' => m | 1 << 26,
        _ => m,
    })
}

/// The edits a name of `len` letters may be typed with.
fn allowed_edits(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=6 => 1,
        _ => 2,
    }
}

/// The cost of `q` (compact, folded) as a way of writing `key`, if it is one.
fn key_cost(q: &str, key: &Key) -> Option<f32> {
    let k = key.compact.as_str();
    if k == q {
        return Some(0.0);
    }
    if q.len() >= 2 && k.starts_with(q) {
        return Some(0.5 + 0.002 * (k.len() - q.len()).min(200) as f32);
    }
    for &start in &key.word_starts {
        let rest = &k[start as usize..];
        if rest == q {
            return Some(0.6);
        }
        if q.len() >= 3 && rest.starts_with(q) {
            return Some(0.8 + 0.002 * (rest.len() - q.len()).min(100) as f32);
        }
    }
    let allowed = allowed_edits(q.len());
    if allowed == 0 {
        return None;
    }
    // Cheap necessary conditions before any edit distance: each edit brings
    // at most one letter the name lacks, and one of the first two letters
    // survives within the name's first three.
    let q_letters = letters_of(q);
    if (q_letters & !key.letters).count_ones() as usize > allowed {
        return None;
    }
    let head = &k.as_bytes()[..k.len().min(3)];
    let qb = q.as_bytes();
    if !head.contains(&qb[0]) && !head.contains(&qb[1]) {
        return None;
    }
    let mut best: Option<f32> = None;
    if k.len().abs_diff(q.len()) <= allowed {
        let d = osa_within(q.as_bytes(), k.as_bytes(), allowed);
        if d <= allowed {
            best = Some(1.0 + d as f32);
        }
    }
    // Typing the start of the name, with a typo in it.
    if k.len() > q.len() {
        for len in q.len().saturating_sub(1)..=(q.len() + 1).min(k.len()) {
            let d = osa_within(q.as_bytes(), &k.as_bytes()[..len], allowed);
            if d <= allowed {
                let c = 1.3 + d as f32;
                best = Some(best.map_or(c, |b: f32| b.min(c)));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests;

//! The index against the real extract (central Helsinki, `data/osm`).

use std::sync::OnceLock;

use super::*;

const PBF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/osm/Helsinki.osm.pbf");

fn raw() -> &'static RawExtract {
    static RAW: OnceLock<RawExtract> = OnceLock::new();
    RAW.get_or_init(|| {
        let bytes = std::fs::read(PBF).unwrap_or_else(|e| {
            panic!("cannot read {PBF} ({e}): run `bash scripts/fetch-osm.sh` first")
        });
        RawExtract::from_pbf(&bytes).expect("the extract reads")
    })
}

fn index() -> &'static AddressIndex {
    static INDEX: OnceLock<AddressIndex> = OnceLock::new();
    INDEX.get_or_init(|| AddressIndex::from_extract(raw().clone()))
}

fn top(q: &str) -> Suggestion {
    index()
        .search(q, 5)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{q:?} found nothing"))
}

fn house(street: &str, number: &str) -> &'static extract::RawAddress {
    raw()
        .addresses
        .iter()
        .find(|a| a.street == street && a.housenumber == number)
        .unwrap_or_else(|| panic!("{street} {number} is not in the extract"))
}

#[test]
fn the_extract_gives_addresses_streets_in_two_languages_and_places() {
    let s = index().stats();
    assert!(s.addresses > 500, "{s:?}");
    assert!(s.streets > 100 && s.places > 500, "{s:?}");
    let bulevardi = raw()
        .streets
        .iter()
        .find(|s| s.name == "Bulevardi")
        .expect("a road");
    assert!(
        bulevardi.other_names.iter().any(|n| n == "Bulevarden"),
        "{bulevardi:?}"
    );
    assert!(
        raw().addresses.iter().any(|a| a.source.starts_with('w')),
        "buildings' addresses"
    );
}

#[test]
fn an_exact_address_is_found_with_the_number_before_or_after_and_a_postcode_or_city() {
    let real = house("Bulevardi", "14");
    for q in [
        "Bulevardi 14",
        "14 Bulevardi",
        "bulevardi 14, 00120 Helsinki",
        "BULEVARDI 14 Helsinki",
        "Bulevarden 14",
    ] {
        let t = top(q);
        assert_eq!(t.kind, MatchKind::Address, "{q:?}: {t:?}");
        assert_eq!(t.label, "Bulevardi 14, 00120 Helsinki", "{q:?}");
        assert!(t.point.distance_m(real.point) < 1.0, "{q:?}");
        assert_eq!(t.cost, 0.0, "{q:?}");
    }
}

#[test]
fn case_and_diacritics_do_not_matter() {
    for (q, street, number) in [
        ("yrjonkatu 30", "Yrjönkatu", "30"),
        ("TOOLONLAHDENKATU 2", "Töölönlahdenkatu", "2"),
        ("etelaranta 16", "Eteläranta", "16"),
    ] {
        let t = top(q);
        assert_eq!(t.street.as_deref(), Some(street), "{q:?}: {t:?}");
        assert_eq!(t.housenumber.as_deref(), Some(number), "{q:?}");
        assert_eq!(t.cost, 0.0, "{q:?}");
    }
}

#[test]
fn a_transposed_missing_extra_or_wrong_letter_still_finds_the_address() {
    for q in [
        "Bulevadri 14",  // transposed
        "Bulevrdi 14",   // missing
        "Bulevaardi 14", // extra
        "Bulevardu 14",  // wrong
        "Yrjönktau 30",
    ] {
        let t = top(q);
        assert_eq!(t.kind, MatchKind::Address, "{q:?}: {t:?}");
        assert!(t.cost >= 1.0, "{q:?} is not exact: {t:?}");
        assert!(
            t.label.starts_with("Bulevardi 14") || t.label.starts_with("Yrjönkatu 30"),
            "{q:?}: {t:?}"
        );
    }
    assert!(
        index().search("Xqzvw 14", 5).is_empty(),
        "nonsense matches nothing"
    );
}

#[test]
fn abbreviated_street_types_are_expanded() {
    let n = raw()
        .addresses
        .iter()
        .find(|a| a.street == "Fredrikinkatu")
        .expect("a house on Fredrikinkatu");
    for q in [
        format!("Fredrikink. {}", n.housenumber),
        format!("Fredrikin k {}", n.housenumber),
    ] {
        let t = top(&q);
        assert_eq!(t.street.as_deref(), Some("Fredrikinkatu"), "{q:?}: {t:?}");
        assert_eq!(
            t.housenumber.as_deref(),
            Some(n.housenumber.as_str()),
            "{q:?}"
        );
    }
    assert_eq!(
        top("Mannerheimint. 14").label,
        top("Mannerheimintie 14").label
    );
}

#[test]
fn autocomplete_offers_the_street_while_typing_and_its_numbers_after() {
    let t = top("Bulev");
    assert_eq!(
        (t.kind, t.street.as_deref()),
        (MatchKind::Street, Some("Bulevardi")),
        "{t:?}"
    );
    let typing = index().search("Bulevardi 1", 8);
    assert!(typing.len() >= 3, "{typing:?}");
    for s in &typing {
        assert_eq!(s.street.as_deref(), Some("Bulevardi"), "{s:?}");
        assert!(
            s.housenumber.as_deref().unwrap_or("").starts_with('1'),
            "{s:?}"
        );
    }
    // A typo while typing the start of the name.
    let t = top("Bulecar");
    assert_eq!(t.street.as_deref(), Some("Bulevardi"), "{t:?}");
    assert!(
        index().search("B", 5).is_empty(),
        "one letter is not a query"
    );
}

#[test]
fn places_and_businesses_are_found_by_name_with_their_address() {
    let t = top("Stockmann");
    assert_eq!(t.kind, MatchKind::Place);
    assert_eq!(t.name.as_deref(), Some("Stockmann"));
    assert!(t.label.contains("Aleksanterinkatu"), "{t:?}");
    // With a number typed, addresses come before places named like the street.
    assert_eq!(top("Bulevardi 14").kind, MatchKind::Address);
}

#[test]
fn a_missing_number_is_placed_between_its_neighbours_on_the_same_side() {
    // A street with numbers n and n + 4 (same side) but not n + 2.
    let idx = index();
    let (street, a, b) = idx
        .streets
        .iter()
        .find_map(|s| {
            s.houses.iter().find_map(|h| {
                let n = h.number.number;
                let has = |m: u32| s.houses.iter().any(|x| x.number.number == m);
                let b = s
                    .houses
                    .iter()
                    .find(|x| x.number.number == n + 4 && x.number.letter.is_empty())?;
                (h.number.letter.is_empty() && !has(n + 2) && !has(n + 1) && !has(n + 3))
                    .then_some((s, h, b))
            })
        })
        .expect("a gap of one number on some street");
    let q = format!("{} {}", street.name, a.number.number + 2);
    let t = top(&q);
    assert_eq!(t.kind, MatchKind::Interpolated, "{q:?}: {t:?}");
    let (da, db, ab) = (
        t.point.distance_m(a.point),
        t.point.distance_m(b.point),
        a.point.distance_m(b.point),
    );
    assert!(
        (da + db - ab).abs() < 1.0 && (da - db).abs() < 1.0,
        "half way: {da} {db} {ab}"
    );
    assert!(t.cost > 0.0);
}

fn synthetic(addresses: &[(&str, &str, Option<&str>, f64, f64)]) -> RawExtract {
    RawExtract {
        addresses: addresses
            .iter()
            .enumerate()
            .map(
                |(i, (street, number, city, lat, lon))| extract::RawAddress {
                    street: (*street).into(),
                    housenumber: (*number).into(),
                    postcode: None,
                    city: city.map(str::to_owned),
                    point: GeoPoint {
                        lat: *lat,
                        lon: *lon,
                    },
                    source: format!("n{i}"),
                },
            )
            .collect(),
        ..RawExtract::default()
    }
}

#[test]
fn interpolation_lines_place_the_numbers_between_their_ends() {
    let mut raw = synthetic(&[]);
    let end = |n: &str| Some(("Koetie".to_owned(), n.to_owned()));
    raw.interpolations.push(extract::RawInterpolation {
        step: 2,
        street: Some("Koetie".into()),
        nodes: vec![
            (
                GeoPoint {
                    lat: 60.0,
                    lon: 25.0,
                },
                end("1"),
            ),
            (
                GeoPoint {
                    lat: 60.001,
                    lon: 25.0,
                },
                None,
            ),
            (
                GeoPoint {
                    lat: 60.002,
                    lon: 25.0,
                },
                end("9"),
            ),
        ],
    });
    // The ends as addresses of their own, as OSM tags them.
    raw.addresses = synthetic(&[
        ("Koetie", "1", None, 60.0, 25.0),
        ("Koetie", "9", None, 60.002, 25.0),
    ])
    .addresses;
    let idx = AddressIndex::from_extract(raw);
    assert_eq!(idx.stats().interpolated, 3, "3, 5 and 7");
    let t = idx.search("Koetie 5", 1).remove(0);
    assert_eq!(t.kind, MatchKind::Interpolated);
    assert!((t.point.lat - 60.001).abs() < 1e-9, "{t:?}");
    assert_eq!(idx.search("Koetie 1", 1)[0].kind, MatchKind::Address);
}

#[test]
fn geocoding_says_found_ambiguous_or_not_found() {
    match index().geocode("Bulevardi 14") {
        Geocoded::Found(s) => assert_eq!(s.label, "Bulevardi 14, 00120 Helsinki"),
        other => panic!("{other:?}"),
    }
    match index().geocode("Bulevardi 999") {
        Geocoded::NotFound(Some(why)) => {
            assert!(why.contains("Bulevardi has no number 999"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(index().geocode("Qwxzv 3"), Geocoded::NotFound(None));
    let twin = AddressIndex::from_extract(synthetic(&[
        ("Kirkkotie", "3", Some("Espoo"), 60.2, 24.6),
        ("Kirkkotie", "3", Some("Vantaa"), 60.3, 25.0),
    ]));
    match twin.geocode("Kirkkotie 3") {
        Geocoded::Ambiguous(c) => {
            let labels: Vec<&str> = c.iter().map(|s| s.label.as_str()).collect();
            assert_eq!(labels, ["Kirkkotie 3, Espoo", "Kirkkotie 3, Vantaa"]);
        }
        other => panic!("{other:?}"),
    }
    // The city decides.
    match twin.geocode("Kirkkotie 3, Vantaa") {
        Geocoded::Found(s) => assert_eq!(s.city.as_deref(), Some("Vantaa")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn reverse_geocoding_names_the_house_at_a_point_or_the_street_near_it() {
    let real = house("Bulevardi", "14");
    let near = GeoPoint {
        lat: real.point.lat + 0.00005,
        lon: real.point.lon,
    };
    let r = index().reverse(near).expect("a house 6 m away");
    assert!(r.point.distance_m(real.point) < 40.0, "{r:?}");
    assert_eq!(r.street.as_deref(), Some("Bulevardi"));
    // Far out at sea: nothing.
    assert_eq!(
        index().reverse(GeoPoint {
            lat: 60.10,
            lon: 24.95
        }),
        None
    );
}

#[test]
fn the_bounded_edit_distance_counts_a_transposition_once() {
    let d = |a: &str, b: &str| osa_within(a.as_bytes(), b.as_bytes(), 3);
    assert_eq!(d("bulevardi", "bulevardi"), 0);
    assert_eq!(d("bulevadri", "bulevardi"), 1);
    assert_eq!(d("bulevrdi", "bulevardi"), 1);
    assert_eq!(d("bulevaardi", "bulevardi"), 1);
    assert_eq!(d("ca", "abc"), 3);
    assert_eq!(d("", "abc"), 3);
    assert_eq!(
        osa_within(b"kitten", b"sitting", 1),
        2,
        "over the bound says bound + 1"
    );
    assert_eq!(osa_within(b"abcdef", b"ghijkl", 2), 3);
}

//! Tests of `roads` (kept beside it so the module reads on its own).

use std::sync::OnceLock;

use super::*;

const PBF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/osm/Helsinki.osm.pbf");

fn pbf() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        std::fs::read(PBF).unwrap_or_else(|e| {
            panic!("cannot read {PBF} ({e}): run `bash scripts/fetch-osm.sh` first")
        })
    })
}

fn graph(profile: Profile) -> &'static RoadGraph {
    static GRAPHS: [OnceLock<RoadGraph>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    GRAPHS[profile as usize].get_or_init(|| RoadGraph::from_pbf(pbf(), profile).unwrap())
}

fn address(street: &str, housenumber: &str) -> AddressPoint {
    static ALL: OnceLock<Vec<AddressPoint>> = OnceLock::new();
    ALL.get_or_init(|| addresses(pbf()).unwrap())
        .iter()
        .find(|a| a.street == street && a.housenumber == housenumber)
        .unwrap_or_else(|| panic!("no address {street} {housenumber} in the extract"))
        .clone()
}

fn crow_m(a: GeoPoint, b: GeoPoint) -> f64 {
    haversine_m(a.lat, a.lon, b.lat, b.lon)
}

fn node_of(g: &RoadGraph, osm_id: i64) -> Option<u32> {
    g.osm_ids
        .iter()
        .position(|&id| id == osm_id)
        .map(|i| i as u32)
}

/// Every `step`-th address (sorted by street): points spread over the extract.
fn spread_addresses(step: usize) -> Vec<GeoPoint> {
    addresses(pbf())
        .unwrap()
        .iter()
        .step_by(step)
        .map(|a| a.point)
        .collect()
}

#[test]
fn graphs_build_with_plausible_sizes_despite_missing_nodes() {
    for (profile, nodes) in [
        (Profile::Car, 1_000..4_000),
        (Profile::Bicycle, 3_000..10_000),
        (Profile::Foot, 3_000..12_000),
    ] {
        let g = graph(profile);
        let s = g.stats();
        assert!(nodes.contains(&g.node_count()), "{profile:?}: {s:?}");
        assert!(g.edge_count() > g.node_count(), "{profile:?}: {s:?}");
        assert!(
            g.edge_count() <= 2 * (g.node_count() + s.ways),
            "{profile:?}: {s:?}"
        );
        // The extract is clipped: some ways run out of it. They were split, not refused.
        assert!(
            s.missing_refs > 0 && s.skipped_segments >= s.missing_refs,
            "{s:?}"
        );
        // The largest component is most of the network.
        assert!(s.nodes <= s.nodes_before_scc && s.nodes * 10 >= s.nodes_before_scc * 8);
        assert_eq!((s.nodes, s.edges), (g.node_count(), g.edge_count()));
        for p in &g.coords {
            assert!((60.15..60.19).contains(&p.lat) && (24.92..24.97).contains(&p.lon));
        }
    }
    // Cars may use fewer ways than bicycles, bicycles fewer than walkers.
    let ways = |p| graph(p).stats().ways;
    assert!(ways(Profile::Car) < ways(Profile::Bicycle));
    assert!(ways(Profile::Bicycle) < ways(Profile::Foot));
}

#[test]
fn addresses_are_tagged_nodes_sorted_deterministically() {
    let all = addresses(pbf()).unwrap();
    assert!((1_200..1_500).contains(&all.len()), "{}", all.len());
    assert!(all.windows(2).all(|w| {
        (&w[0].street, house_key(&w[0].housenumber)) <= (&w[1].street, house_key(&w[1].housenumber))
    }));
    let a = address("Aleksanterinkatu", "7");
    assert_eq!(a.postcode.as_deref(), Some("00100"));
    assert!(
        crow_m(
            a.point,
            GeoPoint {
                lat: 60.16909,
                lon: 24.94905
            }
        ) < 5.0
    );
    assert_eq!(addresses(pbf()).unwrap(), all);
}

#[test]
fn routes_between_real_addresses_are_plausible() {
    let pairs = [
        (("Aleksanterinkatu", "13"), ("Bulevardi", "5")),
        (("Kalevankatu", "3"), ("Unioninkatu", "20")),
        (("Mannerheimintie", "5"), ("Fabianinkatu", "9")),
    ];
    for ((s1, h1), (s2, h2)) in pairs {
        let (a, b) = (address(s1, h1).point, address(s2, h2).point);
        let crow = crow_m(a, b);
        assert!(
            (300.0..900.0).contains(&crow),
            "{s1} {h1} -> {s2} {h2}: {crow:.0} m"
        );
        for profile in [Profile::Car, Profile::Bicycle, Profile::Foot] {
            let g = graph(profile);
            let p = g.path(a, b).unwrap();
            // Between the snapped nodes, which are within ~40 m of the doors.
            let (sa, sb) = (g.snap(a).unwrap(), g.snap(b).unwrap());
            assert!(sa.distance_m < 60.0 && sb.distance_m < 60.0);
            let snapped_crow = crow_m(sa.point, sb.point);
            let d = f64::from(p.distance_m);
            let what = format!("{profile:?} {s1} {h1} -> {s2} {h2}: {p:?}");
            assert!(d >= snapped_crow - 1.0 && d <= 3.0 * crow, "{what}");
            let kmh = d / f64::from(p.duration_s) * 3.6;
            match profile {
                Profile::Car => assert!((10.0..=45.0).contains(&kmh), "{what}: {kmh} km/h"),
                Profile::Bicycle => assert!((5.0..=15.1).contains(&kmh), "{what}: {kmh} km/h"),
                Profile::Foot => assert!((kmh - FOOT_KMH).abs() < 0.1, "{what}: {kmh} km/h"),
            }
            // The matrix agrees with the path.
            let m = g.matrix(&[a, b]).unwrap();
            assert_eq!((m.time(0, 1), m.dist(0, 1)), (p.duration_s, p.distance_m));
        }
    }
}

/// The first segment A -> B of a car one-way way, both ends routable by car
/// and on foot, with no car edge back from B to A.
fn one_way_segment() -> (i64, i64) {
    let car = graph(Profile::Car);
    let foot = graph(Profile::Foot);
    let mut found = None;
    ElementReader::new(pbf())
        .for_each(|e| {
            let Element::Way(w) = e else { return };
            let tags = Tags::collect(w.tags());
            if found.is_some()
                || tags.get("oneway") != Some("yes")
                || !matches!(
                    tags.get("highway"),
                    Some("residential" | "unclassified" | "tertiary" | "secondary")
                )
            {
                return;
            }
            let refs: Vec<i64> = w.refs().collect();
            for pair in refs.windows(2) {
                let (Some(a), Some(b)) = (node_of(car, pair[0]), node_of(car, pair[1])) else {
                    continue;
                };
                let back = car.edges(b).any(|e| car.targets[e] == a);
                let on_foot = node_of(foot, pair[0]).is_some() && node_of(foot, pair[1]).is_some();
                if !back && on_foot {
                    found = Some((pair[0], pair[1]));
                    return;
                }
            }
        })
        .unwrap();
    found.expect("the extract has car one-way streets")
}

#[test]
fn one_way_streets_bind_cars_but_not_walkers() {
    let (a_id, b_id) = one_way_segment();
    let car = graph(Profile::Car);
    let (a, b) = (node_of(car, a_id).unwrap(), node_of(car, b_id).unwrap());
    let direct = car
        .edges(a)
        .filter(|&e| car.targets[e] == b)
        .map(|e| car.costs[e])
        .min()
        .expect("A -> B is an edge");
    let (forward, _) = car.route(a, b).unwrap();
    let (backward, detour) = car.route(b, a).unwrap();
    assert_eq!(forward, direct);
    assert!(
        forward >> 32 < backward >> 32,
        "B -> A must take longer: {forward:x} vs {backward:x}"
    );
    assert!(detour.len() > 2, "B -> A goes round the block");

    // The same through the public API, from the nodes' coordinates.
    let (pa, pb) = (car.coords[a as usize], car.coords[b as usize]);
    assert_eq!(car.snap(pa).unwrap().osm_node_id, a_id);
    assert_eq!(car.snap(pb).unwrap().osm_node_id, b_id);
    let m = car.matrix(&[pa, pb]).unwrap();
    assert!(m.time(0, 1) < m.time(1, 0), "{m:?}");

    let foot = graph(Profile::Foot);
    let (fa, fb) = (node_of(foot, a_id).unwrap(), node_of(foot, b_id).unwrap());
    let (there, _) = foot.route(fa, fb).unwrap();
    let (back, _) = foot.route(fb, fa).unwrap();
    assert_eq!(there, back);
    assert_eq!(
        foot.matrix(&[pa, pb]).unwrap().time(1, 0),
        foot.matrix(&[pa, pb]).unwrap().time(0, 1)
    );
}

#[test]
fn points_outside_the_extract_are_refused_by_index() {
    let tampere = GeoPoint {
        lat: 61.4978,
        lon: 23.7610,
    };
    let g = graph(Profile::Bicycle);
    let err = g.snap(tampere).unwrap_err();
    assert!(
        matches!(err, RoadError::TooFarFromRoad { index: None, nearest_m, .. } if nearest_m > 100_000.0)
    );
    assert!(err.to_string().contains("outside the map extract"), "{err}");

    let (a, b) = (
        address("Kalevankatu", "3").point,
        address("Unioninkatu", "20").point,
    );
    let err = g.matrix(&[a, tampere, b]).unwrap_err();
    assert!(
        matches!(err, RoadError::TooFarFromRoad { index: Some(1), .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.starts_with("point 1 (61.497800, 23.761000)"), "{msg}");
    assert!(matches!(
        g.path(a, tampere),
        Err(RoadError::TooFarFromRoad { index: Some(1), .. })
    ));
    assert!(msg.contains("500 m"), "{msg}");

    // The limit itself: south of the southernmost node, every node is at
    // least as far as that one, so the snap distance is the offset.
    let south = g
        .coords
        .iter()
        .copied()
        .min_by(|a, b| a.lat.total_cmp(&b.lat))
        .unwrap();
    let off = |m: f64| GeoPoint {
        lat: south.lat - m / 111_195.0,
        lon: south.lon,
    };
    let near = g.snap(off(450.0)).unwrap();
    assert!((near.distance_m - 450.0).abs() < 2.0, "{near:?}");
    assert_eq!(near.point, south);
    let far = g.snap(off(550.0)).unwrap_err();
    assert!(
        matches!(far, RoadError::TooFarFromRoad { nearest_m, .. } if (nearest_m - 550.0).abs() < 2.0)
    );
}

#[test]
fn path_geometry_runs_between_the_snapped_points() {
    let (from, to) = (
        address("Annankatu", "10").point,
        address("Mikonkatu", "8").point,
    );
    for profile in [Profile::Car, Profile::Bicycle, Profile::Foot] {
        let g = graph(profile);
        let p = g.path(from, to).unwrap();
        assert_eq!(p.points.first(), Some(&g.snap(from).unwrap().point));
        assert_eq!(p.points.last(), Some(&g.snap(to).unwrap().point));
        let length: f64 = p.points.windows(2).map(|w| crow_m(w[0], w[1])).sum();
        let d = f64::from(p.distance_m);
        assert!(
            (length - d).abs() <= 0.02 * d + 1.0,
            "{profile:?}: {length} vs {d}"
        );
        assert!(p.points.len() > 5, "{profile:?}: {} points", p.points.len());
        // Consecutive points are joined by an edge of the graph.
        for w in p.points.windows(2) {
            assert!(crow_m(w[0], w[1]) < 500.0);
        }
    }
    // Same point: a single-point path of zero length.
    let g = graph(Profile::Foot);
    let p = g.path(from, from).unwrap();
    assert_eq!((p.points.len(), p.distance_m, p.duration_s), (1, 0, 0));
}

#[test]
fn matrices_have_zero_diagonal_and_respect_the_triangle_inequality() {
    let points = spread_addresses(45);
    let n = points.len();
    assert!(n >= 25, "{n}");
    for profile in [Profile::Car, Profile::Bicycle, Profile::Foot] {
        let m = graph(profile).matrix(&points).unwrap();
        assert_eq!(m.len(), n);
        for i in 0..n {
            assert_eq!((m.time(i, i), m.dist(i, i)), (0, 0));
            for j in 0..n {
                for k in 0..n {
                    // Each entry is rounded to the second: at most 1 s of slack.
                    assert!(
                        m.time(i, j) <= m.time(i, k) + m.time(k, j) + 1,
                        "{profile:?}: t({i},{j}) = {} > t({i},{k}) + t({k},{j}) = {} + {}",
                        m.time(i, j),
                        m.time(i, k),
                        m.time(k, j)
                    );
                }
            }
        }
        // One-way streets make the car matrix asymmetric; walking is symmetric.
        assert_eq!(m.is_symmetric(), profile == Profile::Foot, "{profile:?}");
    }
}

#[test]
fn way_rules_follow_the_tags() {
    let rule = |p, tags: &[(&'static str, &'static str)]| {
        WayRule::of(p, &Tags::collect(tags.iter().copied()))
    };
    let dirs = |r: Option<WayRule>| r.map(|r| (r.forward, r.backward));
    let oneway = [("highway", "residential"), ("oneway", "yes")];
    assert_eq!(dirs(rule(Profile::Car, &oneway)), Some((true, false)));
    assert_eq!(dirs(rule(Profile::Bicycle, &oneway)), Some((true, false)));
    assert_eq!(dirs(rule(Profile::Foot, &oneway)), Some((true, true)));
    let reverse = [("highway", "tertiary"), ("oneway", "-1")];
    assert_eq!(dirs(rule(Profile::Car, &reverse)), Some((false, true)));
    let contraflow = [
        ("highway", "residential"),
        ("oneway", "yes"),
        ("oneway:bicycle", "no"),
    ];
    assert_eq!(dirs(rule(Profile::Car, &contraflow)), Some((true, false)));
    assert_eq!(
        dirs(rule(Profile::Bicycle, &contraflow)),
        Some((true, true))
    );
    let roundabout = [("highway", "primary"), ("junction", "roundabout")];
    assert_eq!(dirs(rule(Profile::Car, &roundabout)), Some((true, false)));
    assert_eq!(dirs(rule(Profile::Foot, &roundabout)), Some((true, true)));

    assert!(
        rule(
            Profile::Car,
            &[("highway", "service"), ("access", "private")]
        )
        .is_none()
    );
    assert!(rule(Profile::Foot, &[("highway", "footway"), ("access", "no")]).is_none());
    assert!(
        rule(
            Profile::Car,
            &[("highway", "service"), ("vehicle", "no"), ("bus", "yes")]
        )
        .is_none()
    );
    assert!(rule(Profile::Foot, &[("highway", "service"), ("vehicle", "no")]).is_some());
    assert!(
        rule(
            Profile::Bicycle,
            &[("highway", "footway"), ("access", "no"), ("bicycle", "yes")]
        )
        .is_some()
    );

    for (highway, car, bicycle, foot) in [
        ("footway", false, true, true),
        ("cycleway", false, true, true),
        ("pedestrian", false, true, true),
        ("steps", false, false, true),
        ("path", false, true, true),
        ("trunk", true, false, false),
        ("motorway", true, false, false),
        ("residential", true, true, true),
        ("proposed", false, false, false),
    ] {
        let tags = [("highway", highway)];
        assert_eq!(
            [Profile::Car, Profile::Bicycle, Profile::Foot].map(|p| rule(p, &tags).is_some()),
            [car, bicycle, foot],
            "{highway}"
        );
    }
    assert_eq!(
        dirs(rule(Profile::Car, &[("highway", "motorway")])),
        Some((true, false))
    );

    let speed = |p, tags: &[(&'static str, &'static str)]| rule(p, tags).unwrap().speed_kmh;
    assert_eq!(
        speed(Profile::Car, &[("highway", "primary"), ("maxspeed", "30")]),
        30.0
    );
    assert_eq!(
        speed(
            Profile::Car,
            &[("highway", "residential"), ("maxspeed", "50")]
        ),
        20.0
    );
    assert_eq!(
        speed(
            Profile::Car,
            &[("highway", "primary"), ("maxspeed", "FI:urban")]
        ),
        45.0
    );
    assert_eq!(speed(Profile::Bicycle, &[("highway", "footway")]), PUSH_KMH);
    assert_eq!(
        speed(
            Profile::Bicycle,
            &[("highway", "footway"), ("bicycle", "designated")]
        ),
        BICYCLE_KMH
    );
    assert_eq!(parse_maxspeed("20 mph").map(f64::round), Some(32.0));
    assert_eq!(parse_maxspeed("40 km/h"), Some(40.0));
    assert_eq!(parse_maxspeed("walk"), None);
}

#[test]
fn largest_scc_drops_one_way_dead_ends_and_islands() {
    // 0 <-> 1 <-> 2, 3 -> 0 (no way back), 4 <-> 5 (an island).
    let arcs = [(0, 1), (1, 0), (1, 2), (2, 1), (3, 0), (4, 5), (5, 4)].map(|(a, b)| (a, b, 1));
    let (offsets, targets, _) = csr(6, &arcs);
    assert_eq!(
        largest_scc(&offsets, &targets),
        [true, true, true, false, false, false]
    );
}

#[test]
fn profiles_follow_vehicles_and_bad_input_is_an_error() {
    assert_eq!(Profile::from(VehicleKind::Van), Profile::Car);
    assert_eq!(Profile::from(VehicleKind::Scooter), Profile::Car);
    assert_eq!(Profile::from(VehicleKind::CargoBike), Profile::Bicycle);
    assert_eq!(Profile::from(VehicleKind::OnFoot), Profile::Foot);
    assert!(matches!(
        RoadGraph::from_pbf(b"\x00\x00\x00\x0dnot a pbf file at all", Profile::Car),
        Err(RoadError::Pbf(_))
    ));
    assert!(matches!(
        RoadGraph::from_pbf(b"", Profile::Car),
        Err(RoadError::NoRoads(Profile::Car))
    ));
}

/// Timings: `cargo test --release -p ruta-routing --lib roads::tests::timings -- --ignored --nocapture`.
#[test]
#[ignore = "timing report, run by hand in release"]
fn timings() {
    for profile in [Profile::Car, Profile::Bicycle, Profile::Foot] {
        let t = std::time::Instant::now();
        let g = RoadGraph::from_pbf(pbf(), profile).unwrap();
        let built = t.elapsed();
        let points = spread_addresses(6);
        let points = &points[..200];
        let t = std::time::Instant::now();
        let m = g.matrix(points).unwrap();
        let matrix = t.elapsed();
        println!(
            "{profile:?}: build {built:.2?}, {n}x{n} matrix {matrix:.2?}; {:?}",
            g.stats(),
            n = m.len()
        );
    }
    let t = std::time::Instant::now();
    let all = addresses(pbf()).unwrap();
    println!("addresses: {} in {:.2?}", all.len(), t.elapsed());
}

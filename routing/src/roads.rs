//! A routable road graph from an OpenStreetMap extract (`.osm.pbf`), per travel
//! profile: shortest-time matrices for the solvers and path geometry for the map.
//!
//! Map data © OpenStreetMap contributors, ODbL 1.0: whatever is shown from a
//! graph built here must carry that attribution (see `data/osm/README.md`).
//!
//! # Model
//! - Nodes are the OSM nodes of the ways a [`Profile`] may use; edges join
//!   consecutive nodes of a way, in both directions unless the way is one-way
//!   for the profile. Each edge carries its length and its travel time at the
//!   profile's speed for the road class ([`Profile`] documents the rules).
//! - Extracts are clipped: ways may reference nodes that are not in the file.
//!   Such a way is split there: the segments touching a missing node are
//!   skipped and counted in [`RoadStats`], the rest of the way is kept.
//! - Only the largest strongly connected component is kept. Every kept node can
//!   reach every other, so any two snapped points have a route (islands left by
//!   the clipping and one-way dead ends are dropped). Shortest
//!   paths between kept nodes never leave the component, so nothing is lost.
//! - [`RoadGraph::snap`] moves a point to the nearest kept node, at most
//!   [`MAX_SNAP_M`] away. Matrices and paths run from snapped node to snapped
//!   node: the short walk between the door and the road is not included.
//! - Searches are Dijkstra over a compressed adjacency (CSR) on the
//!   lexicographic cost (time, then distance), in whole deciseconds and
//!   decimetres, so results are exact and deterministic.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;

use osmpbf::{Element, ElementReader};
use rstar::RTree;
use rstar::primitives::GeomWithData;
use serde::{Deserialize, Serialize};

use super::matrix::Matrix;
use ruta_domain::GeoPoint;
use ruta_domain::fleet::VehicleKind;
use ruta_domain::geo::haversine_m;

/// How far a point may be from the nearest road node and still be snapped.
pub const MAX_SNAP_M: f64 = 500.0;

/// Who travels: decides which ways are usable, one-way rules and speeds.
///
/// - [`Profile::Car`]: road classes from motorway to service (no footway,
///   cycleway, pedestrian street, path, steps or track); one-way streets
///   (`oneway=yes/1/true/-1`, roundabouts, motorways) are respected. Speed by
///   road class (urban averages: 90 km/h motorway down to 10 km/h on service
///   roads), lowered to a numeric `maxspeed` when that is lower.
/// - [`Profile::Bicycle`]: every class but motorway, trunk and steps; one-way
///   streets are respected unless `oneway:bicycle=no` (or `cycleway=opposite*`).
///   15 km/h; 5 km/h (pushing) on footways and pedestrian streets not signed for
///   bicycles (`bicycle=yes/designated/permissive`).
/// - [`Profile::Foot`]: every class but motorway and trunk; one-way tags are
///   ignored. 5 km/h.
///
/// For all: `access=no/private` (and the mode-specific `motor_vehicle`,
/// `motorcar`, `vehicle`, `bicycle`, `foot`, the most specific present tag
/// deciding) excludes a way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Car,
    Bicycle,
    Foot,
}

impl From<VehicleKind> for Profile {
    fn from(kind: VehicleKind) -> Self {
        match kind {
            VehicleKind::Car | VehicleKind::Van | VehicleKind::Scooter => Profile::Car,
            VehicleKind::Bicycle | VehicleKind::CargoBike => Profile::Bicycle,
            VehicleKind::OnFoot => Profile::Foot,
        }
    }
}

/// Why a graph could not be built or a route found.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RoadError {
    #[error("cannot read the OpenStreetMap extract: {0}")]
    Pbf(String),
    #[error("the OpenStreetMap extract has no roads usable by profile {0:?}")]
    NoRoads(Profile),
    #[error(
        "{} ({:.6}, {:.6}) is {:.0} m from the nearest road (at most {MAX_SNAP_M} m allowed): \
         is it outside the map extract?",
        point_label(*.index), .point.lat, .point.lon, .nearest_m
    )]
    TooFarFromRoad {
        /// The point's index in the request, when there is one (matrices).
        index: Option<usize>,
        point: GeoPoint,
        nearest_m: f64,
    },
    #[error(
        "no route from point {from} ({:.6}, {:.6}) to point {to} ({:.6}, {:.6})",
        .from_point.lat, .from_point.lon, .to_point.lat, .to_point.lon
    )]
    Unreachable {
        from: usize,
        to: usize,
        from_point: GeoPoint,
        to_point: GeoPoint,
    },
}

fn point_label(index: Option<usize>) -> String {
    match index {
        Some(i) => format!("point {i}"),
        None => "the point".to_owned(),
    }
}

/// A point moved onto the road graph.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Snap {
    /// Where the graph node is.
    pub point: GeoPoint,
    /// Great-circle metres from the query point to [`Snap::point`].
    pub distance_m: f64,
    /// The OSM id of the node snapped to.
    pub osm_node_id: i64,
    node: u32,
}

/// A route for the map: the polyline and its totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoadPath {
    /// Node positions from the snapped start to the snapped end (at least one).
    pub points: Vec<GeoPoint>,
    pub distance_m: u32,
    pub duration_s: u32,
}

/// An address-tagged node of the extract.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddressPoint {
    pub street: String,
    pub housenumber: String,
    pub postcode: Option<String>,
    pub point: GeoPoint,
    pub osm_node_id: i64,
}

/// What building the graph kept and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoadStats {
    /// Ways the profile may use.
    pub ways: usize,
    /// Node references of those ways that point outside the extract.
    pub missing_refs: usize,
    /// Way segments skipped because an end node is missing.
    pub skipped_segments: usize,
    /// Nodes and directed edges before keeping the largest strongly connected component.
    pub nodes_before_scc: usize,
    pub edges_before_scc: usize,
    /// Nodes and directed edges kept.
    pub nodes: usize,
    pub edges: usize,
}

/// The road network of one extract for one [`Profile`]. See the module docs.
pub struct RoadGraph {
    profile: Profile,
    coords: Vec<GeoPoint>,
    osm_ids: Vec<i64>,
    /// Edges of node `v` are `offsets[v]..offsets[v + 1]`.
    offsets: Vec<u32>,
    targets: Vec<u32>,
    /// Packed [`Cost`]s, parallel to `targets`.
    costs: Vec<u64>,
    tree: RTree<GeomWithData<[f64; 2], u32>>,
    /// Longitudes are scaled by this (cosine of the mean latitude) for nearest-node search.
    lon_scale: f64,
    stats: RoadStats,
}

impl fmt::Debug for RoadGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoadGraph")
            .field("profile", &self.profile)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// A travel cost packed in a `u64`: deciseconds in the high half, decimetres in
/// the low half. Sums stay correct while a route is under 429,000 km, and the
/// integer order is the lexicographic order (time, then distance).
mod cost {
    pub(super) fn pack(time_ds: u32, dist_dm: u32) -> u64 {
        (u64::from(time_ds) << 32) | u64::from(dist_dm)
    }
    /// Whole seconds, rounded.
    pub(super) fn time_s(c: u64) -> u32 {
        ((c >> 32).saturating_add(5) / 10) as u32
    }
    /// Whole metres, rounded.
    pub(super) fn dist_m(c: u64) -> u32 {
        (((c & 0xffff_ffff) + 5) / 10) as u32
    }
}

const NONE: u32 = u32::MAX;

impl RoadGraph {
    /// Builds the graph of an `.osm.pbf` held in memory.
    pub fn from_pbf(bytes: &[u8], profile: Profile) -> Result<Self, RoadError> {
        let mut nodes: Vec<(i64, f64, f64)> = Vec::new();
        let mut ways: Vec<(WayRule, Vec<i64>)> = Vec::new();
        ElementReader::new(bytes)
            .for_each(|element| match element {
                Element::Node(n) => nodes.push((n.id(), n.lat(), n.lon())),
                Element::DenseNode(n) => nodes.push((n.id(), n.lat(), n.lon())),
                Element::Way(w) => {
                    if let Some(rule) = WayRule::of(profile, &Tags::collect(w.tags())) {
                        ways.push((rule, w.refs().collect()));
                    }
                }
                Element::Relation(_) => {}
            })
            .map_err(|e| RoadError::Pbf(e.to_string()))?;
        nodes.sort_unstable_by_key(|n| n.0);
        nodes.dedup_by_key(|n| n.0);
        let position = |id: i64| {
            nodes
                .binary_search_by_key(&id, |n| n.0)
                .ok()
                .map(|i| GeoPoint {
                    lat: nodes[i].1,
                    lon: nodes[i].2,
                })
        };

        let mut stats = RoadStats {
            ways: ways.len(),
            ..RoadStats::default()
        };
        let mut index_of: HashMap<i64, u32> = HashMap::new();
        let mut coords: Vec<GeoPoint> = Vec::new();
        let mut osm_ids: Vec<i64> = Vec::new();
        let mut arcs: Vec<(u32, u32, u64)> = Vec::new();
        let mut intern = |id: i64, p: GeoPoint| {
            *index_of.entry(id).or_insert_with(|| {
                coords.push(p);
                osm_ids.push(id);
                (coords.len() - 1) as u32
            })
        };
        for (rule, refs) in &ways {
            let located: Vec<Option<GeoPoint>> = refs.iter().map(|&id| position(id)).collect();
            stats.missing_refs += located.iter().filter(|p| p.is_none()).count();
            for k in 1..refs.len() {
                let (Some(pa), Some(pb)) = (located[k - 1], located[k]) else {
                    stats.skipped_segments += 1;
                    continue;
                };
                if refs[k - 1] == refs[k] {
                    continue;
                }
                let a = intern(refs[k - 1], pa);
                let b = intern(refs[k], pb);
                let metres = haversine_m(pa.lat, pa.lon, pb.lat, pb.lon);
                let dist_dm = (metres * 10.0).round() as u32;
                let time_ds = ((metres * 36.0 / rule.speed_kmh).round() as u32).max(1);
                let c = cost::pack(time_ds, dist_dm);
                if rule.forward {
                    arcs.push((a, b, c));
                }
                if rule.backward {
                    arcs.push((b, a, c));
                }
            }
        }
        stats.nodes_before_scc = coords.len();
        stats.edges_before_scc = arcs.len();
        if arcs.is_empty() {
            return Err(RoadError::NoRoads(profile));
        }

        // Keep the largest strongly connected component, renumbered in order.
        let (offsets, targets, _) = csr(coords.len(), &arcs);
        let keep = largest_scc(&offsets, &targets);
        let mut renumber = vec![NONE; coords.len()];
        let mut next = 0u32;
        for (v, &k) in keep.iter().enumerate() {
            if k {
                renumber[v] = next;
                next += 1;
            }
        }
        arcs.retain_mut(|(a, b, _)| {
            let (ra, rb) = (renumber[*a as usize], renumber[*b as usize]);
            *a = ra;
            *b = rb;
            ra != NONE && rb != NONE
        });
        let coords: Vec<GeoPoint> = keep_only(coords, &keep);
        let osm_ids: Vec<i64> = keep_only(osm_ids, &keep);
        let (offsets, targets, costs) = csr(coords.len(), &arcs);
        stats.nodes = coords.len();
        stats.edges = targets.len();

        let mean_lat = coords.iter().map(|p| p.lat).sum::<f64>() / coords.len() as f64;
        let lon_scale = mean_lat.to_radians().cos();
        let tree = RTree::bulk_load(
            coords
                .iter()
                .enumerate()
                .map(|(i, p)| GeomWithData::new([p.lon * lon_scale, p.lat], i as u32))
                .collect(),
        );
        Ok(Self {
            profile,
            coords,
            osm_ids,
            offsets,
            targets,
            costs,
            tree,
            lon_scale,
            stats,
        })
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    pub fn node_count(&self) -> usize {
        self.coords.len()
    }

    /// Directed edges: a two-way segment counts twice.
    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    pub fn stats(&self) -> &RoadStats {
        &self.stats
    }

    /// The nearest graph node to `p`, if within [`MAX_SNAP_M`].
    pub fn snap(&self, p: GeoPoint) -> Result<Snap, RoadError> {
        self.snap_indexed(p, None)
    }

    fn snap_indexed(&self, p: GeoPoint, index: Option<usize>) -> Result<Snap, RoadError> {
        // Non-empty by construction.
        let (nearest, _) = self
            .tree
            .nearest_neighbor_iter_with_distance_2(&[p.lon * self.lon_scale, p.lat])
            .next()
            .expect("a road graph has at least one node");
        let node = nearest.data;
        let at = self.coords[node as usize];
        let distance_m = haversine_m(p.lat, p.lon, at.lat, at.lon);
        if distance_m > MAX_SNAP_M {
            return Err(RoadError::TooFarFromRoad {
                index,
                point: p,
                nearest_m: distance_m,
            });
        }
        Ok(Snap {
            point: at,
            distance_m,
            osm_node_id: self.osm_ids[node as usize],
            node,
        })
    }

    /// Seconds and metres between every ordered pair of `points` along the
    /// fastest route (the metres are those of that route); row = from. One
    /// search per point. Errors name the offending point by its index:
    /// [`RoadError::TooFarFromRoad`] when one cannot be snapped,
    /// [`RoadError::Unreachable`] should a pair have no route (not expected:
    /// the graph is strongly connected).
    pub fn matrix(&self, points: &[GeoPoint]) -> Result<Matrix, RoadError> {
        let n = points.len();
        let snapped: Vec<u32> = points
            .iter()
            .enumerate()
            .map(|(i, &p)| self.snap_indexed(p, Some(i)).map(|s| s.node))
            .collect::<Result<_, _>>()?;
        let mut is_target = vec![false; self.node_count()];
        let mut distinct = 0;
        for &v in &snapped {
            if !is_target[v as usize] {
                is_target[v as usize] = true;
                distinct += 1;
            }
        }
        let mut search = Search::new(self.node_count());
        let mut durations = Vec::with_capacity(n * n);
        let mut distances = Vec::with_capacity(n * n);
        for (i, &s) in snapped.iter().enumerate() {
            search.run(self, s, |v| is_target[v as usize], distinct);
            for (j, &t) in snapped.iter().enumerate() {
                let c = search.cost[t as usize];
                if c == u64::MAX {
                    return Err(RoadError::Unreachable {
                        from: i,
                        to: j,
                        from_point: points[i],
                        to_point: points[j],
                    });
                }
                durations.push(cost::time_s(c));
                distances.push(cost::dist_m(c));
            }
        }
        Ok(Matrix::new(n, durations, distances).expect("n * n entries"))
    }

    /// The fastest route from `from` to `to`, snapped, with its geometry.
    /// Errors call `from` point 0 and `to` point 1.
    pub fn path(&self, from: GeoPoint, to: GeoPoint) -> Result<RoadPath, RoadError> {
        let s = self.snap_indexed(from, Some(0))?.node;
        let t = self.snap_indexed(to, Some(1))?.node;
        let (c, nodes) = self.route(s, t).ok_or(RoadError::Unreachable {
            from: 0,
            to: 1,
            from_point: from,
            to_point: to,
        })?;
        Ok(RoadPath {
            points: nodes.iter().map(|&v| self.coords[v as usize]).collect(),
            distance_m: cost::dist_m(c),
            duration_s: cost::time_s(c),
        })
    }

    /// The packed cost and node sequence of the fastest route from `s` to `t`.
    fn route(&self, s: u32, t: u32) -> Option<(u64, Vec<u32>)> {
        let mut search = Search::new(self.node_count());
        search.run(self, s, |v| v == t, 1);
        let c = search.cost[t as usize];
        if c == u64::MAX {
            return None;
        }
        let mut nodes = vec![t];
        let mut v = t;
        while v != s {
            v = search.pred[v as usize];
            nodes.push(v);
        }
        nodes.reverse();
        Some((c, nodes))
    }

    fn edges(&self, v: u32) -> std::ops::Range<usize> {
        self.offsets[v as usize] as usize..self.offsets[v as usize + 1] as usize
    }
}

/// Dijkstra's buffers, reset between runs by touching only what was used.
struct Search {
    cost: Vec<u64>,
    pred: Vec<u32>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(u64, u32)>>,
}

impl Search {
    fn new(n: usize) -> Self {
        Self {
            cost: vec![u64::MAX; n],
            pred: vec![NONE; n],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
        }
    }

    /// Settles nodes from `source` until `targets` nodes satisfying `is_target` are settled.
    fn run(
        &mut self,
        g: &RoadGraph,
        source: u32,
        is_target: impl Fn(u32) -> bool,
        mut targets: usize,
    ) {
        for &v in &self.touched {
            self.cost[v as usize] = u64::MAX;
            self.pred[v as usize] = NONE;
        }
        self.touched.clear();
        self.heap.clear();
        self.cost[source as usize] = 0;
        self.touched.push(source);
        self.heap.push(Reverse((0, source)));
        while let Some(Reverse((c, v))) = self.heap.pop() {
            if c > self.cost[v as usize] {
                continue;
            }
            if is_target(v) {
                targets -= 1;
                if targets == 0 {
                    break;
                }
            }
            for e in g.edges(v) {
                let w = g.targets[e];
                let cw = c + g.costs[e];
                let slot = &mut self.cost[w as usize];
                if cw < *slot {
                    if *slot == u64::MAX {
                        self.touched.push(w);
                    }
                    *slot = cw;
                    self.pred[w as usize] = v;
                    self.heap.push(Reverse((cw, w)));
                }
            }
        }
    }
}

/// Compressed adjacency from `(from, to, cost)` arcs, keeping their order per node.
fn csr(n: usize, arcs: &[(u32, u32, u64)]) -> (Vec<u32>, Vec<u32>, Vec<u64>) {
    let mut offsets = vec![0u32; n + 1];
    for &(a, _, _) in arcs {
        offsets[a as usize + 1] += 1;
    }
    for v in 0..n {
        offsets[v + 1] += offsets[v];
    }
    let mut fill: Vec<u32> = offsets[..n].to_vec();
    let mut targets = vec![0u32; arcs.len()];
    let mut costs = vec![0u64; arcs.len()];
    for &(a, b, c) in arcs {
        let slot = &mut fill[a as usize];
        targets[*slot as usize] = b;
        costs[*slot as usize] = c;
        *slot += 1;
    }
    (offsets, targets, costs)
}

fn keep_only<T>(items: Vec<T>, keep: &[bool]) -> Vec<T> {
    items
        .into_iter()
        .zip(keep)
        .filter_map(|(x, &k)| k.then_some(x))
        .collect()
}

/// Membership of the largest strongly connected component (Tarjan, iterative;
/// the first found wins a tie).
fn largest_scc(offsets: &[u32], targets: &[u32]) -> Vec<bool> {
    struct Tarjan<'g> {
        offsets: &'g [u32],
        index: Vec<u32>,
        low: Vec<u32>,
        on_stack: Vec<bool>,
        stack: Vec<u32>,
        /// The depth-first path: (node, next edge to look at).
        calls: Vec<(u32, u32)>,
        counter: u32,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, v: u32) {
            self.index[v as usize] = self.counter;
            self.low[v as usize] = self.counter;
            self.counter += 1;
            self.stack.push(v);
            self.on_stack[v as usize] = true;
            self.calls.push((v, self.offsets[v as usize]));
        }
    }

    let n = offsets.len() - 1;
    let mut t = Tarjan {
        offsets,
        index: vec![NONE; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        calls: Vec::new(),
        counter: 0,
    };
    let mut component = vec![NONE; n];
    let mut components = 0u32;
    let (mut best, mut best_size) = (NONE, 0usize);
    for root in 0..n as u32 {
        if t.index[root as usize] != NONE {
            continue;
        }
        t.visit(root);
        while let Some(&(v, e)) = t.calls.last() {
            let vu = v as usize;
            if e < offsets[vu + 1] {
                t.calls.last_mut().expect("non-empty").1 += 1;
                let w = targets[e as usize] as usize;
                if t.index[w] == NONE {
                    t.visit(w as u32);
                } else if t.on_stack[w] {
                    t.low[vu] = t.low[vu].min(t.index[w]);
                }
                continue;
            }
            t.calls.pop();
            if let Some(&(parent, _)) = t.calls.last() {
                t.low[parent as usize] = t.low[parent as usize].min(t.low[vu]);
            }
            if t.low[vu] == t.index[vu] {
                let mut size = 0;
                loop {
                    let w = t.stack.pop().expect("v is on the stack");
                    t.on_stack[w as usize] = false;
                    component[w as usize] = components;
                    size += 1;
                    if w == v {
                        break;
                    }
                }
                if size > best_size {
                    (best, best_size) = (components, size);
                }
                components += 1;
            }
        }
    }
    component.iter().map(|&c| c == best).collect()
}

/// The tags of one way that the rules read.
#[derive(Default)]
struct Tags<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Tags<'a> {
    fn collect(iter: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            pairs: iter.collect(),
        }
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// How one way is used by a profile.
#[derive(Clone, Copy, Debug)]
struct WayRule {
    forward: bool,
    backward: bool,
    speed_kmh: f64,
}

impl WayRule {
    fn of(profile: Profile, tags: &Tags<'_>) -> Option<Self> {
        let highway = tags.get("highway")?;
        let class_speed = class_speed(profile, highway)?;
        let access_keys: &[&str] = match profile {
            Profile::Car => &["motorcar", "motor_vehicle", "vehicle", "access"],
            Profile::Bicycle => &["bicycle", "vehicle", "access"],
            Profile::Foot => &["foot", "access"],
        };
        let access = access_keys.iter().find_map(|k| tags.get(k));
        if access.is_some_and(|a| {
            matches!(
                a,
                "no" | "private" | "agricultural" | "forestry" | "military"
            )
        }) {
            return None;
        }
        let speed_kmh = match profile {
            Profile::Car => match tags.get("maxspeed").and_then(parse_maxspeed) {
                Some(max) if max < class_speed => max,
                _ => class_speed,
            },
            Profile::Bicycle => {
                let signed = matches!(
                    tags.get("bicycle"),
                    Some("yes" | "designated" | "permissive")
                );
                if matches!(highway, "footway" | "pedestrian") && !signed {
                    PUSH_KMH
                } else {
                    class_speed
                }
            }
            Profile::Foot => class_speed,
        };
        let (mut forward, mut backward) = (true, true);
        if profile != Profile::Foot {
            let implied = matches!(tags.get("junction"), Some("roundabout" | "circular"))
                || highway == "motorway";
            let mut oneway = match tags.get("oneway") {
                Some("yes" | "1" | "true") => Some(true),
                Some("-1" | "reverse") => Some(false),
                Some(_) => None,
                None if implied => Some(true),
                None => None,
            };
            if profile == Profile::Bicycle {
                match tags.get("oneway:bicycle") {
                    Some("no" | "0" | "false") => oneway = None,
                    Some("yes" | "1" | "true") => oneway = Some(true),
                    Some("-1") => oneway = Some(false),
                    _ => {
                        if tags
                            .get("cycleway")
                            .is_some_and(|c| c.starts_with("opposite"))
                        {
                            oneway = None;
                        }
                    }
                }
            }
            match oneway {
                Some(true) => backward = false,
                Some(false) => forward = false,
                None => {}
            }
        }
        Some(Self {
            forward,
            backward,
            speed_kmh,
        })
    }
}

const BICYCLE_KMH: f64 = 15.0;
const PUSH_KMH: f64 = 5.0;
const FOOT_KMH: f64 = 5.0;

/// The profile's speed on a road class, or `None` when the profile may not use it.
fn class_speed(profile: Profile, highway: &str) -> Option<f64> {
    match profile {
        Profile::Car => Some(match highway {
            "motorway" => 90.0,
            "trunk" => 70.0,
            "motorway_link" | "primary" => 45.0,
            "trunk_link" | "secondary" => 40.0,
            "tertiary" | "primary_link" => 35.0,
            "secondary_link" | "tertiary_link" => 30.0,
            "unclassified" | "road" => 25.0,
            "residential" => 20.0,
            "living_street" | "service" => 10.0,
            _ => return None,
        }),
        Profile::Bicycle => match highway {
            "primary" | "primary_link" | "secondary" | "secondary_link" | "tertiary"
            | "tertiary_link" | "unclassified" | "residential" | "living_street" | "service"
            | "road" | "track" | "cycleway" | "path" | "footway" | "pedestrian" | "bridleway" => {
                Some(BICYCLE_KMH)
            }
            _ => None,
        },
        Profile::Foot => match highway {
            "primary" | "primary_link" | "secondary" | "secondary_link" | "tertiary"
            | "tertiary_link" | "unclassified" | "residential" | "living_street" | "service"
            | "road" | "track" | "cycleway" | "path" | "footway" | "pedestrian" | "bridleway"
            | "steps" => Some(FOOT_KMH),
            _ => None,
        },
    }
}

/// A numeric `maxspeed` in km/h (`"30"`, `"30 km/h"`, `"20 mph"`); `None` for
/// zone codes such as `FI:urban`.
fn parse_maxspeed(v: &str) -> Option<f64> {
    let v = v.trim();
    let (number, factor) = match v.strip_suffix("mph") {
        Some(n) => (n, 1.609_344),
        None => (v.strip_suffix("km/h").unwrap_or(v), 1.0),
    };
    let kmh = number.trim().parse::<f64>().ok()? * factor;
    (kmh > 0.0 && kmh.is_finite()).then_some(kmh)
}

/// Nodes tagged with `addr:street` and `addr:housenumber`, sorted by street,
/// house number (numerically, then the rest: `2 < 2a < 10`) and node id.
pub fn addresses(bytes: &[u8]) -> Result<Vec<AddressPoint>, RoadError> {
    let mut out = Vec::new();
    let mut take = |id: i64, lat: f64, lon: f64, tags: Tags<'_>| {
        if let (Some(street), Some(housenumber)) =
            (tags.get("addr:street"), tags.get("addr:housenumber"))
        {
            out.push(AddressPoint {
                street: street.to_owned(),
                housenumber: housenumber.to_owned(),
                postcode: tags.get("addr:postcode").map(str::to_owned),
                point: GeoPoint { lat, lon },
                osm_node_id: id,
            });
        }
    };
    ElementReader::new(bytes)
        .for_each(|element| match element {
            Element::Node(n) => take(n.id(), n.lat(), n.lon(), Tags::collect(n.tags())),
            Element::DenseNode(n) => take(n.id(), n.lat(), n.lon(), Tags::collect(n.tags())),
            Element::Way(_) | Element::Relation(_) => {}
        })
        .map_err(|e| RoadError::Pbf(e.to_string()))?;
    out.sort_by(|a, b| {
        (
            &a.street,
            house_key(&a.housenumber),
            &a.housenumber,
            a.osm_node_id,
        )
            .cmp(&(
                &b.street,
                house_key(&b.housenumber),
                &b.housenumber,
                b.osm_node_id,
            ))
    });
    Ok(out)
}

/// The leading number of a house number (`"12 B"` -> 12), for sorting.
fn house_key(h: &str) -> u64 {
    let digits = h.trim().bytes().take_while(u8::is_ascii_digit);
    digits.fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests;

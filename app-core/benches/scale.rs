//! The data core at dispatcher scale: 100k orders in one device store.
//!
//! Run: `cargo bench -p app-core --bench scale` (set `RUTA_BENCH_ORDERS` for
//! another size). The first run builds the store under
//! `target/bench-data/` and later runs reuse it. Prints p50/p95 of:
//! a dispatcher table query (filter + sort + page of 100), a full-text search,
//! merging one remote change into an order and its projection, opening a
//! courier's store of 500 orders; building, publishing and reordering a
//! 150-stop trip and merging a reorder made on another device; and the
//! process's peak memory. `-- trips` runs only the trip part.

use std::path::Path;
use std::time::{Duration, Instant};

use app_core::Core;
use app_core::api::{
    Action, DeliveryStatus, NewOrder, OrderQuery, Point, Priority, Request, Response, Role, SortKey,
};
use app_core::domain::OrderId;
use app_core::domain::ZoneId;
use app_core::domain::geo::Zone;
use app_core::order_doc::OrderDoc;

const STREETS: &[&str] = &[
    "Aleksanterinkatu",
    "Mannerheimintie",
    "Fredrikinkatu",
    "Bulevardi",
    "Pohjoisesplanadi",
    "Annankatu",
    "Kalevankatu",
    "Yrjönkatu",
    "Eerikinkatu",
    "Lönnrotinkatu",
    "Uudenmaankatu",
    "Iso Roobertinkatu",
    "Albertinkatu",
    "Lapinlahdenkatu",
    "Runeberginkatu",
    "Museokatu",
];
const NAMES: &[&str] = &[
    "Aino", "Eero", "Björn", "Siiri", "Kalle", "Eeva", "Ville", "Päivi", "Åsa", "Mikko", "Leena",
    "Otso", "Helmi", "Juho", "Noora", "Tuomas",
];
const SURNAMES: &[&str] = &[
    "Mäkelä",
    "Lindqvist",
    "Järvinen",
    "Öhman",
    "Heikkilä",
    "Virtanen",
    "Korhonen",
    "Nieminen",
    "Laine",
    "Koskinen",
    "Salminen",
    "Ekberg",
];

fn zones() -> Vec<Zone> {
    // Four quadrants of central Helsinki around (60.168, 24.940).
    let q = |id: &str, w: f64, s: f64, e: f64, n: f64| Zone {
        id: ZoneId::new(id),
        name: id.into(),
        ring: vec![[w, s], [e, s], [e, n], [w, n]],
    };
    vec![
        q("kamppi", 24.90, 60.168, 24.940, 60.20),
        q("kluuvi", 24.94, 60.168, 24.980, 60.20),
        q("punavuori", 24.90, 60.14, 24.940, 60.168),
        q("kaartinkaupunki", 24.94, 60.14, 24.980, 60.168),
    ]
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() as usize) % xs.len()]
    }
}

fn new_order(rng: &mut Rng, i: u64) -> NewOrder {
    let mut o = NewOrder::simple(
        &format!("{} {}", rng.pick(NAMES), rng.pick(SURNAMES)),
        &format!("{} {}", rng.pick(STREETS), 1 + rng.next() % 80),
        &format!("{} {}", rng.pick(STREETS), 1 + rng.next() % 80),
    );
    o.dropoff_point = Some(Point {
        lat: 60.150 + (rng.next() % 400) as f64 / 10_000.0,
        lon: 24.915 + (rng.next() % 500) as f64 / 10_000.0,
    });
    o.priority = [
        Priority::Low,
        Priority::Normal,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ][(i % 5) as usize];
    let start = 1_800_000_000_000 + (rng.next() % 86_400) as i64 * 1000;
    o.dropoff_window = Some((start, start + 7_200_000));
    o
}

fn fill(core: &Core, n: u64, seed: u64) {
    let mut rng = Rng(seed);
    let started = Instant::now();
    for i in 0..n {
        let Response::Order(o) = core
            .execute(Request::CreateOrder(new_order(&mut rng, i)))
            .unwrap()
        else {
            panic!()
        };
        let action = match i % 10 {
            0..=5 => Some(Action::Assign {
                courier: format!("courier-{}", rng.next() % 40),
            }),
            6 => Some(Action::Cancel {
                reason: "duplicate".into(),
            }),
            _ => None,
        };
        if let Some(action) = action {
            core.execute(Request::Act {
                order_id: o.id,
                action,
            })
            .unwrap();
        }
        if (i + 1) % 10_000 == 0 {
            eprintln!(
                "  {} orders ({:.0} s)",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
}

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at =
        |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    (at(0.50), at(0.95))
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn bench_dir(name: &str) -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("bench-data").join(name)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would run us too: skip then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n: u64 = std::env::var("RUTA_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = bench_dir(&format!("scale-{n}"));
    let fresh = !dir.exists();
    let core = Core::open(&dir).unwrap();
    // Every call is made by someone (the device refuses calls while signed out).
    core.set_session("bench-dispatcher", Role::Dispatcher)
        .unwrap();
    core.set_zones(&zones()).unwrap();
    if fresh || core.order_count().unwrap() < n {
        eprintln!("building a store of {n} orders in {} (once)", dir.display());
        let started = Instant::now();
        fill(&core, n - core.order_count().unwrap(), 7);
        eprintln!("  built in {:.1} s", started.elapsed().as_secs_f64());
    }
    println!("| measure ({n} orders) | p50 ms | p95 ms |");
    println!("|---|---:|---:|");
    if std::env::args().any(|a| a == "trips") {
        trips(&core, n);
        return;
    }

    // Dispatcher table: filter + sort + page of 100, over varied filters.
    let mut rng = Rng(42);
    let statuses = [
        DeliveryStatus::Pending,
        DeliveryStatus::Assigned,
        DeliveryStatus::Cancelled,
    ];
    let zone_ids = ["kamppi", "kluuvi", "punavuori", "kaartinkaupunki"];
    let sorts = [
        SortKey::Created,
        SortKey::Priority,
        SortKey::WindowEnd,
        SortKey::Reference,
    ];
    let mut samples = Vec::new();
    let mut slowest = Vec::new();
    for i in 0..300 {
        let q = OrderQuery {
            statuses: vec![statuses[i % 3]],
            zone: (i % 2 == 0).then(|| zone_ids[(rng.next() % 4) as usize].to_owned()),
            assignee: (i % 7 == 0).then(|| format!("courier-{}", rng.next() % 40)),
            min_priority: (i % 5 == 0).then_some(Priority::High),
            sort: sorts[i % 4],
            descending: i % 2 == 1,
            offset: (rng.next() % 5) * 100,
            limit: 100,
            ..Default::default()
        };
        let shown = format!("{q:?}");
        let t = Instant::now();
        let r = core.execute(Request::ListOrders(q)).unwrap();
        samples.push(t.elapsed());
        slowest.push((t.elapsed(), shown));
        std::hint::black_box(r);
    }
    slowest.sort();
    for (d, q) in slowest.iter().rev().take(4) {
        eprintln!("  slow query {:.1} ms: {q}", d.as_secs_f64() * 1e3);
    }
    let (p50, p95) = percentiles(samples);
    println!("| dispatcher query: filter + sort + page of 100 | {p50:.2} | {p95:.2} |");

    // Full-text search over reference, customer and addresses.
    let mut samples = Vec::new();
    let mut slowest = Vec::new();
    for i in 0..300 {
        let text = match i % 3 {
            0 => rng.pick(SURNAMES)[..3].to_owned(),
            1 => format!("{} {}", rng.pick(NAMES), rng.pick(STREETS)),
            _ => format!("R-{}", &core.device_id()[..4]),
        };
        let q = OrderQuery {
            search: Some(text),
            limit: 100,
            ..Default::default()
        };
        let shown = format!("{q:?}");
        let t = Instant::now();
        let r = core.execute(Request::ListOrders(q)).unwrap();
        samples.push(t.elapsed());
        slowest.push((t.elapsed(), shown));
        std::hint::black_box(r);
    }
    slowest.sort();
    for (d, q) in slowest.iter().rev().take(4) {
        eprintln!("  slow search {:.1} ms: {q}", d.as_secs_f64() * 1e3);
    }
    let (p50, p95) = percentiles(samples);
    println!("| full-text search, page of 100 | {p50:.2} | {p95:.2} |");

    // One remote change: another device edits an order; merge it here.
    let peer_dir = tempfile::tempdir().unwrap();
    let peer = Core::open(peer_dir.path()).unwrap();
    peer.set_session("bench-peer", Role::Dispatcher).unwrap();
    let ids = core.doc_ids().unwrap();
    let mut prepared = Vec::new();
    for k in 0..200 {
        let id = OrderId::new(ids[(k * 487) % ids.len()].clone());
        peer.merge_remote(&id, &core.doc_bytes(&id).unwrap())
            .unwrap();
        peer.execute(Request::Act {
            order_id: id.to_string(),
            action: Action::AddNote {
                text: format!("remote note {k}"),
            },
        })
        .unwrap();
        // Only the new change travels, as in the sync protocol.
        let dev = app_core::domain::DeviceId::new("bench");
        let ours = OrderDoc::load(&core.doc_bytes(&id).unwrap(), &[], &dev)
            .unwrap()
            .heads();
        let mut theirs = OrderDoc::load(&peer.doc_bytes(&id).unwrap(), &[], &dev).unwrap();
        prepared.push((id.clone(), theirs.save_after(&ours)));
    }
    let mut samples = Vec::new();
    for (id, bytes) in &prepared {
        let t = Instant::now();
        let merged = core.merge_remote(id, bytes).unwrap();
        samples.push(t.elapsed());
        assert!(merged.changed);
    }
    let (p50, p95) = percentiles(samples);
    println!(
        "| apply one remote change (doc + projection, one transaction) | {p50:.2} | {p95:.2} |"
    );
    trips(&core, n);
    drop(core);
    let after_dispatcher = peak_rss_mib();

    // A courier's phone: 500 orders; open the store and show the first page of the queue.
    let courier_dir = bench_dir("courier-500");
    if !courier_dir.exists() {
        let c = Core::open(&courier_dir).unwrap();
        c.set_session("bench-dispatcher", Role::Dispatcher).unwrap();
        let mut rng = Rng(9);
        for i in 0..500 {
            let Response::Order(o) = c
                .execute(Request::CreateOrder(new_order(&mut rng, i)))
                .unwrap()
            else {
                panic!()
            };
            c.execute(Request::Act {
                order_id: o.id,
                action: Action::Assign {
                    courier: "aki".into(),
                },
            })
            .unwrap();
        }
        c.set_session("aki", Role::Courier).unwrap();
    }
    let mut samples = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        let c = Core::open(&courier_dir).unwrap();
        let q = OrderQuery {
            assignee: Some("aki".into()),
            sort: SortKey::WindowEnd,
            limit: 100,
            ..Default::default()
        };
        let r = c.execute(Request::ListOrders(q)).unwrap();
        samples.push(t.elapsed());
        std::hint::black_box(r);
    }
    let (p50, p95) = percentiles(samples);
    println!("| open a courier store (500 orders) + first queue page | {p50:.2} | {p95:.2} |");
    println!();
    println!(
        "peak memory (VmHWM) of this process: {after_dispatcher:.0} MiB after the {n}-order part{}",
        if fresh {
            " (including building the store)"
        } else {
            ""
        }
    );
}

/// A 150-stop trip (75 pending orders, a pickup and a drop-off each) on the
/// big store: build it, publish it (75 assignments through the lifecycle and
/// the trip), move one stop, and merge a move made on another device — five
/// trips, so each figure has five samples (printed as p50 / max).
fn trips(core: &Core, n: u64) {
    use app_core::api::trips::{NewTrip, TripAction};
    use app_core::trip_doc;
    let Response::Orders { orders, .. } = core
        .execute(Request::ListOrders(OrderQuery {
            statuses: vec![DeliveryStatus::Pending],
            limit: 5 * 75,
            ..Default::default()
        }))
        .unwrap()
    else {
        panic!()
    };
    let mut build = Vec::new();
    let mut publish = Vec::new();
    let mut reorder = Vec::new();
    let mut merge = Vec::new();
    for (k, chunk) in orders.chunks(75).take(5).enumerate() {
        if chunk.len() < 75 {
            eprintln!("  only {} pending orders left: trips skipped", chunk.len());
            break;
        }
        let t = Instant::now();
        let Response::Trip(trip) = core
            .execute(Request::CreateTrip(NewTrip {
                courier: format!("courier-{k}"),
                name: format!("bench {k}"),
                vehicle: None,
                start_warehouse: None,
                order_ids: chunk.iter().map(|o| o.id.clone()).collect(),
                optimise: false,
            }))
            .unwrap()
        else {
            panic!()
        };
        build.push(t.elapsed());
        assert_eq!(trip.stops.len(), 150);
        let t = Instant::now();
        core.execute(Request::TripAct {
            trip_id: trip.id.clone(),
            action: TripAction::Publish,
        })
        .unwrap();
        publish.push(t.elapsed());
        // The last pickup to the front (the dispatcher's move; a pickup may
        // go anywhere before its drop-off).
        let pickups: Vec<&str> = trip
            .stops
            .iter()
            .filter(|s| s.kind == app_core::api::StopKind::Pickup)
            .map(|s| s.key.as_str())
            .collect();
        let t = Instant::now();
        core.execute(Request::TripAct {
            trip_id: trip.id.clone(),
            action: TripAction::MoveStop {
                stop: pickups[pickups.len() - 1].to_owned(),
                before: Some(trip.stops[0].key.clone()),
            },
        })
        .unwrap();
        reorder.push(t.elapsed());
        // The courier's device moves another stop; its document is merged here.
        let (bytes, _) = core.trip_document(&trip.id).unwrap().unwrap();
        let device = app_core::domain::DeviceId::new("c0c0c0c0c0c0c0c0");
        let mut theirs = trip_doc::load(&bytes, &device).unwrap();
        let state = trip_doc::derive(&theirs.events());
        let keys: Vec<String> = state.stops.iter().map(|s| s.key()).collect();
        let moved =
            trip_doc::moves_to_place(&state, pickups[pickups.len() - 2], Some(&keys[0])).unwrap();
        let mut clock = app_core::hlc::HlcClock::new(app_core::hlc::node_of(device.as_str()));
        for change in moved {
            theirs
                .append(&trip_doc::TripEvent {
                    at: clock.tick(4_000_000_000_000),
                    actor: app_core::domain::Actor {
                        user: app_core::domain::UserId::new(format!("courier-{k}")),
                        role: Role::Courier,
                        device: device.clone(),
                    },
                    change,
                })
                .unwrap();
        }
        let remote = theirs.save();
        let t = Instant::now();
        assert!(core.merge_trip(&trip.id, &remote).unwrap());
        merge.push(t.elapsed());
    }
    let show = |name: &str, samples: Vec<Duration>| {
        if samples.is_empty() {
            return;
        }
        let max = samples.iter().max().copied().unwrap_or_default();
        let (p50, _) = percentiles(samples);
        println!(
            "| {name} ({n} orders) | {p50:.2} | {:.2} (max) |",
            max.as_secs_f64() * 1e3
        );
    };
    show("build a 150-stop trip from 75 orders", build);
    show("publish it (75 assignments + the trip)", publish);
    show("move one stop", reorder);
    show("merge a reorder made on the courier's device", merge);
}

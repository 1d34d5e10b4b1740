//! VRP solver tests: every plan is checked against the rules (property tests on
//! random instances), plus pins, skills, fixed stops, warm starts and balance.

use proptest::prelude::*;

use super::*;
use crate::rng::Rng as SplitMix;

/// A random Euclidean instance: `stops` points in a 3 km square at 5 m/s, a depot
/// at index 0, shipments between random points with windows over an 8-hour day.
pub(crate) fn random_problem(seed: u64, shipments: usize, vehicles: usize, tight: bool) -> Problem {
    let mut rng = SplitMix::new(seed);
    let n = 1 + 2 * shipments;
    let pts: Vec<(f64, f64)> = (0..n)
        .map(|_| (rng.unit() * 3000.0, rng.unit() * 3000.0))
        .collect();
    let matrix = Matrix::from_fn(n, |i, j| {
        let d = ((pts[i].0 - pts[j].0).powi(2) + (pts[i].1 - pts[j].1).powi(2)).sqrt();
        ((d / 5.0).round() as u32, d.round() as u32)
    });
    let day = 8 * 3600;
    let jobs = (0..shipments)
        .map(|s| {
            let (pw, dw) = if tight {
                let a = (rng.unit() * (day as f64 - 7200.0)) as i64;
                ((a, a + 3600), (a + 600, a + 600 + 3600))
            } else {
                ((0, day), (0, day))
            };
            Job {
                kind: JobKind::Shipment {
                    pickup: Task {
                        location: 1 + 2 * s,
                        service: 60,
                        window: pw,
                    },
                    delivery: Task {
                        location: 2 + 2 * s,
                        service: 120,
                        window: dw,
                    },
                },
                amount: [1 + rng.below(3) as i64, 500],
                skills: 0,
                priority: 0,
                pinned: None,
            }
        })
        .collect();
    Problem {
        matrix,
        vehicles: (0..vehicles)
            .map(|_| Vehicle {
                start: 0,
                end: Some(0),
                shift: (0, day),
                capacity: [6, 20_000],
                skills: 0,
                fixed: vec![],
            })
            .collect(),
        jobs,
        balance_weight: 0,
        warm_start: None,
    }
}

#[test]
fn easy_instance_serves_everyone_and_checks_clean() {
    let p = random_problem(7, 20, 3, false);
    let s = solve(&p, 1, Budget::iterations(500)).unwrap();
    assert!(s.unassigned.is_empty(), "{:?}", s.unassigned);
    assert_eq!(check(&p, &s), Vec::<String>::new());
    let visits: usize = s.routes.iter().map(|r| r.stops.len()).sum();
    assert_eq!(visits, 40);
    // Travel reported equals travel recomputed from the stops.
    let recomputed: i64 = s
        .routes
        .iter()
        .map(|r| {
            let mut loc = 0;
            let mut t = 0i64;
            for st in &r.stops {
                t += i64::from(p.matrix.time(loc, st.location));
                loc = st.location;
            }
            if r.stops.is_empty() {
                0
            } else {
                t + i64::from(p.matrix.time(loc, 0))
            }
        })
        .sum();
    assert_eq!(s.travel_s, recomputed);
}

#[test]
fn search_improves_on_the_first_insertion() {
    let p = random_problem(11, 30, 4, true);
    let first = solve(&p, 1, Budget::iterations(0)).unwrap();
    let searched = solve(&p, 1, Budget::iterations(3000)).unwrap();
    assert!(searched.unassigned.len() <= first.unassigned.len());
    if searched.unassigned.len() == first.unassigned.len() {
        assert!(
            searched.travel_s < first.travel_s,
            "{} vs {}",
            searched.travel_s,
            first.travel_s
        );
    }
    assert!(check(&p, &searched).is_empty());
}

#[test]
fn fixed_stops_stay_first_and_pins_hold() {
    let mut p = random_problem(3, 12, 2, false);
    p.vehicles[1].fixed = vec![Task {
        location: 5,
        service: 30,
        window: (0, OPEN),
    }];
    p.jobs[0].pinned = Some(1);
    p.jobs[1].pinned = Some(0);
    let s = solve(&p, 9, Budget::iterations(800)).unwrap();
    assert!(check(&p, &s).is_empty(), "{:?}", check(&p, &s));
    let r1 = s.routes.iter().find(|r| r.vehicle == 1).unwrap();
    assert_eq!(r1.stops[0].job, None);
    assert_eq!(r1.stops[0].location, 5);
    assert!(r1.stops.iter().any(|st| st.job == Some(0)));
    let r0 = s.routes.iter().find(|r| r.vehicle == 0).unwrap();
    assert!(r0.stops.iter().any(|st| st.job == Some(1)));
}

#[test]
fn skills_keep_jobs_off_vehicles_without_them() {
    let mut p = random_problem(5, 10, 2, false);
    p.vehicles[0].skills = 0b01;
    p.vehicles[1].skills = 0b10;
    for (i, j) in p.jobs.iter_mut().enumerate() {
        j.skills = if i % 2 == 0 { 0b01 } else { 0b10 };
    }
    let s = solve(&p, 2, Budget::iterations(300)).unwrap();
    assert!(s.unassigned.is_empty());
    for r in &s.routes {
        for st in &r.stops {
            let j = st.job.unwrap();
            assert_eq!(j % 2, r.vehicle, "job {j} on vehicle {}", r.vehicle);
        }
    }
}

#[test]
fn impossible_jobs_are_reported_unassigned_not_forced() {
    let mut p = random_problem(8, 6, 1, false);
    // Window closes before anyone could get there; and a job larger than the vehicle.
    if let JobKind::Shipment { delivery, .. } = &mut p.jobs[2].kind {
        delivery.window = (0, 1);
    }
    p.jobs[4].amount = [100, 0];
    let s = solve(&p, 1, Budget::iterations(200)).unwrap();
    assert_eq!(s.unassigned, vec![2, 4]);
    assert!(check(&p, &s).is_empty());
}

#[test]
fn warm_start_is_never_worsened() {
    let p0 = random_problem(21, 15, 2, false);
    let first = solve(&p0, 1, Budget::iterations(50)).unwrap();
    let mut p = p0.clone();
    p.warm_start = Some(
        first
            .routes
            .iter()
            .map(|r| {
                r.stops
                    .iter()
                    .filter_map(|s| {
                        s.job.map(|job| Visit {
                            job,
                            delivery: s.delivery,
                        })
                    })
                    .collect()
            })
            .collect(),
    );
    let again = solve(&p, 2, Budget::iterations(0)).unwrap();
    assert_eq!(again.travel_s, first.travel_s, "warm start kept as is");
    let better = solve(&p, 2, Budget::iterations(500)).unwrap();
    assert!(better.travel_s <= first.travel_s);
}

#[test]
fn bad_problems_are_refused_with_the_field() {
    let mut p = random_problem(1, 3, 1, false);
    p.jobs[1].pinned = Some(4);
    assert_eq!(
        solve(&p, 1, Budget::iterations(1)).unwrap_err().field,
        "jobs[1].pinned"
    );
    let mut p = random_problem(1, 3, 1, false);
    if let JobKind::Shipment { pickup, .. } = &mut p.jobs[0].kind {
        pickup.location = 99;
    }
    let e = solve(&p, 1, Budget::iterations(1)).unwrap_err();
    assert_eq!(e.field, "jobs[0].pickup");
    assert!(e.message.contains("outside"));
}

#[test]
fn balance_weight_evens_out_routes() {
    let mut p = random_problem(4, 40, 4, false);
    p.vehicles
        .iter_mut()
        .for_each(|v| v.capacity = [100, 1_000_000]);
    let spread = |s: &Solution| {
        let counts: Vec<usize> = s.routes.iter().map(|r| r.stops.len()).collect();
        counts.iter().max().unwrap() - counts.iter().min().unwrap()
    };
    let plain = solve(&p, 1, Budget::iterations(1500)).unwrap();
    p.balance_weight = 400;
    let balanced = solve(&p, 1, Budget::iterations(1500)).unwrap();
    assert!(check(&p, &balanced).is_empty());
    assert!(
        spread(&balanced) <= 4,
        "balanced spread {}",
        spread(&balanced)
    );
    assert!(spread(&balanced) < spread(&plain) || spread(&plain) <= 4);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn every_plan_honours_the_rules(
        seed in any::<u64>(),
        shipments in 1usize..25,
        vehicles in 1usize..4,
        tight in any::<bool>(),
        fixed in any::<bool>(),
        open_end in any::<bool>(),
    ) {
        let mut p = random_problem(seed, shipments, vehicles, tight);
        if fixed {
            p.vehicles[0].fixed = vec![Task { location: 1, service: 10, window: (0, OPEN) }];
        }
        if open_end {
            p.vehicles[vehicles - 1].end = None;
        }
        // A few single-task jobs too.
        p.jobs.push(Job { kind: JobKind::Delivery { task: Task { location: 2, service: 30, window: (0, OPEN) } }, amount: [1, 0], skills: 0, priority: 1, pinned: None });
        p.jobs.push(Job { kind: JobKind::Pickup { task: Task { location: 1, service: 30, window: (0, OPEN) } }, amount: [2, 0], skills: 0, priority: 0, pinned: None });
        let a = solve(&p, seed, Budget::iterations(150)).unwrap();
        prop_assert_eq!(check(&p, &a), Vec::<String>::new());
        let mut b = solve(&p, seed, Budget::iterations(150)).unwrap();
        b.ms = a.ms;
        b.best_ms = a.best_ms;
        prop_assert_eq!(a, b);
    }
}

/// Points on a line, 100 s apart per index step; one vehicle from 0 back to 0.
fn line_problem(jobs: &[(usize, (i64, i64))]) -> Problem {
    let n = 1 + jobs.iter().map(|j| j.0).max().unwrap_or(0);
    Problem {
        matrix: Matrix::from_fn(n, |i, j| ((i.abs_diff(j) * 100) as u32, 0)),
        vehicles: vec![Vehicle {
            start: 0,
            end: Some(0),
            shift: (0, OPEN),
            capacity: [OPEN; DIMS],
            skills: 0,
            fixed: vec![],
        }],
        jobs: jobs
            .iter()
            .map(|&(loc, window)| Job {
                kind: JobKind::Delivery {
                    task: Task {
                        location: loc,
                        service: 0,
                        window,
                    },
                },
                amount: [0; DIMS],
                skills: 0,
                priority: 0,
                pinned: None,
            })
            .collect(),
        balance_weight: 0,
        warm_start: None,
    }
}

fn route_in_order(ctx: &Ctx<'_>, order: &[usize]) -> Route {
    let mut r = ctx.new_route(0);
    r.nodes = order
        .iter()
        .map(|&j| {
            ctx.node(Visit {
                job: j,
                delivery: false,
            })
        })
        .collect();
    ctx.update(&mut r);
    r
}

fn ctx_for(p: &Problem) -> Ctx<'_> {
    Ctx {
        p,
        m: &p.matrix,
        penalty: vec![0; p.jobs.len()],
        neighbours: vec![vec![]; p.jobs.len()],
    }
}

#[test]
fn a_zigzag_route_is_straightened_within_itself() {
    let open = (0, OPEN);
    let p = line_problem(&[(3, open), (1, open), (4, open), (2, open), (5, open)]);
    let ctx = ctx_for(&p);
    let mut r = route_in_order(&ctx, &[0, 1, 2, 3, 4]);
    assert!(r.travel > 1000);
    improve_route(&ctx, &mut r, &mut Vec::new());
    // Out to 5 and back is the least any order can do.
    assert_eq!(r.travel, 1000);
    assert!(feasible(&ctx, &r));
}

/// Unit-square corners 1000 s apart: depot (0, 0), then (0, 10), (10, 0), (10, 10).
fn square() -> Matrix {
    let pts = [(0.0, 0.0), (0.0, 10.0), (10.0, 0.0), (10.0, 10.0)];
    Matrix::from_fn(4, |i, j| {
        let (a, b): ((f64, f64), (f64, f64)) = (pts[i], pts[j]);
        (
            (100.0 * ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()).round() as u32,
            0,
        )
    })
}

#[test]
fn intra_route_moves_never_break_a_window() {
    // Job 0 at (0, 10) must be reached by 1000 s, so it comes first; the
    // other perimeter direction is as short but late for it.
    let mut p = line_problem(&[(1, (0, 1000)), (2, (0, OPEN)), (3, (0, OPEN))]);
    p.matrix = square();
    let ctx = ctx_for(&p);
    let mut r = route_in_order(&ctx, &[0, 1, 2]);
    assert_eq!(r.travel, 4828);
    improve_route(&ctx, &mut r, &mut Vec::new());
    assert!(feasible(&ctx, &r));
    assert_eq!(r.nodes[0].job, 0, "the windowed stop stays first");
    assert_eq!(r.travel, 4000);
}

#[test]
fn intra_route_moves_keep_pickups_before_deliveries() {
    // A shipment from (10, 10) to (0, 10) and a job at (10, 0): of the two
    // perimeter directions only the one through the pickup first is valid.
    let mut p = line_problem(&[(2, (0, OPEN))]);
    p.matrix = square();
    p.jobs.push(Job {
        kind: JobKind::Shipment {
            pickup: Task::at(3),
            delivery: Task::at(1),
        },
        amount: [1, 0],
        skills: 0,
        priority: 0,
        pinned: None,
    });
    let ctx = ctx_for(&p);
    let mut r = ctx.new_route(0);
    r.nodes = vec![
        ctx.node(Visit {
            job: 1,
            delivery: false,
        }),
        ctx.node(Visit {
            job: 0,
            delivery: false,
        }),
        ctx.node(Visit {
            job: 1,
            delivery: true,
        }),
    ];
    ctx.update(&mut r);
    assert_eq!(r.travel, 4828);
    improve_route(&ctx, &mut r, &mut Vec::new());
    let pickup = r
        .nodes
        .iter()
        .position(|n| n.job == 1 && !n.delivery)
        .unwrap();
    let delivery = r
        .nodes
        .iter()
        .position(|n| n.job == 1 && n.delivery)
        .unwrap();
    assert!(pickup < delivery);
    assert_eq!(r.travel, 4000);
}

#[test]
fn a_large_fleet_is_priced_by_neighbourhood_and_still_serves_everyone() {
    // Deliveries loaded at the depot, 1–3 items each, capacity 6: 60 of them need
    // well over GRANULAR_ROUTES routes, so insertions look at neighbouring routes first.
    let mut p = random_problem(11, 60, 40, false);
    for job in &mut p.jobs {
        if let JobKind::Shipment { delivery, .. } = job.kind {
            job.kind = JobKind::Delivery { task: delivery };
        }
    }
    let s = solve(&p, 2, Budget::iterations(300)).unwrap();
    let used = s.routes.iter().filter(|r| !r.stops.is_empty()).count();
    assert!(used > GRANULAR_ROUTES, "{used} routes");
    assert!(s.unassigned.is_empty(), "{:?}", s.unassigned);
    assert_eq!(check(&p, &s), Vec::<String>::new());
}

//! Trip rules: the state machine table, the guard, and concurrent reorders
//! merged through Automerge in random schedules.

use super::*;
use automerge::AutoCommit;
use proptest::prelude::*;
use ruta_domain::hlc::node_of;

fn actor(user: &str, role: Role, device: &str) -> Actor {
    Actor {
        user: UserId::new(user),
        role,
        device: DeviceId::new(device),
    }
}

const DISP_DEV: &str = "d1d1d1d1d1d1d1d1";
const COUR_DEV: &str = "c1c1c1c1c1c1c1c1";
const DISP2_DEV: &str = "d2d2d2d2d2d2d2d2";

fn disp() -> Actor {
    actor("d1", Role::Dispatcher, DISP_DEV)
}
fn courier() -> Actor {
    actor("c1", Role::Courier, COUR_DEV)
}

struct Clock(i64);
impl Clock {
    fn ev(&mut self, a: &Actor, change: TripChange) -> TripEvent {
        self.0 += 1000;
        TripEvent {
            at: Hlc {
                wall_ms: self.0,
                counter: 0,
                node: node_of(a.device.as_str()),
            },
            actor: a.clone(),
            change,
        }
    }
}

fn created() -> TripChange {
    TripChange::Created {
        courier: UserId::new("c1"),
        name: "Kalle morning".into(),
        date: "2026-12-03".into(),
        vehicle: None,
        start_warehouse: None,
    }
}

fn add(order: &str, kind: StopKind, rank: &str) -> TripChange {
    TripChange::StopAdded {
        order: OrderId::new(order),
        kind,
        rank: rank.into(),
    }
}

fn three_stops(c: &mut Clock) -> Vec<TripEvent> {
    let r = ranks_for(3);
    vec![
        c.ev(&disp(), created()),
        c.ev(&disp(), add("a", StopKind::Dropoff, &r[0])),
        c.ev(&disp(), add("b", StopKind::Dropoff, &r[1])),
        c.ev(&disp(), add("c", StopKind::Dropoff, &r[2])),
    ]
}

#[test]
fn ranks_grow_and_always_fit_between_neighbours() {
    let r = ranks_for(50);
    assert!(r.windows(2).all(|w| w[0] < w[1]));
    // 200 insertions at the same place keep fitting.
    let (mut lo, hi) = (r[0].clone(), r[1].clone());
    for _ in 0..200 {
        let m = rank_between(Some(&lo), Some(&hi)).unwrap();
        assert!(lo < m && m < hi, "{lo} < {m} < {hi}");
        lo = m;
    }
    assert_eq!(rank_between(Some(&r[1]), Some(&r[0])), None, "out of order");
    assert_eq!(rank_between(Some(&r[1]), Some(&r[1])), None, "equal");
    assert!(!valid_rank("zz"), "not hex of a terminated index");
}

/// Every state × change × role, against a table written out here.
#[test]
fn every_status_change_and_role_follows_the_table() {
    use TripStatus::*;
    let roles = [
        ("dispatcher", disp()),
        ("trip courier", courier()),
        (
            "other courier",
            actor("c2", Role::Courier, "c2c2c2c2c2c2c2c2"),
        ),
        ("client", actor("k1", Role::Client, "k1k1k1k1k1k1k1k1")),
    ];
    type Make = fn(&str) -> TripChange;
    let changes: Vec<(&str, Make)> = vec![
        ("add", |r| add("z", StopKind::Dropoff, r)),
        ("remove", |_| TripChange::StopRemoved {
            order: OrderId::new("a"),
            kind: StopKind::Dropoff,
        }),
        ("move", |r| TripChange::StopMoved {
            order: OrderId::new("a"),
            kind: StopKind::Dropoff,
            rank: r.into(),
            replaces: None,
        }),
        ("publish", |_| TripChange::Published),
        ("start", |_| TripChange::Started),
        ("close", |_| TripChange::Closed {
            reason: "van broke down".into(),
        }),
    ];
    // (status, change, role) -> applies
    let expect = |status: TripStatus, change: &str, role: &str| -> bool {
        let operator = role == "dispatcher";
        let theirs = role == "trip courier";
        let open = status != Completed;
        match change {
            "add" | "remove" => operator && open,
            "move" => (operator || theirs) && open,
            "publish" => operator && status == Draft,
            "start" => (operator || theirs) && status == Published,
            "close" => (operator || theirs) && open,
            _ => unreachable!(),
        }
    };
    let mut checked = 0;
    for status in [Draft, Published, Started, Completed] {
        let mut c = Clock(0);
        let mut base = three_stops(&mut c);
        match status {
            Draft => {}
            Published => base.push(c.ev(&disp(), TripChange::Published)),
            Started => {
                base.push(c.ev(&disp(), TripChange::Published));
                base.push(c.ev(&courier(), TripChange::Started));
            }
            Completed => base.push(c.ev(
                &disp(),
                TripChange::Closed {
                    reason: "done early".into(),
                },
            )),
        }
        let before = derive(&base);
        assert_eq!(before.status, Some(status));
        let last = before.stops.last().unwrap().rank.clone();
        let rank = rank_between(Some(&last), None).unwrap();
        for (role, who) in &roles {
            for (name, make) in &changes {
                let mut evs = base.clone();
                let e = c.ev(who, make(&rank));
                let id = e.id();
                evs.push(e);
                let after = derive(&evs);
                let applied = !after.ignored.iter().any(|(k, _)| *k == id);
                assert_eq!(
                    applied,
                    expect(status, name, role),
                    "{status:?} {name} by {role}: {:?}",
                    after.ignored
                );
                // What the guard lets through is what the role may do, whatever the state.
                let p = Principal {
                    user: who.user.clone(),
                    role: who.role,
                };
                let allowed = permitted(&p, before.courier.as_ref(), &make(&rank));
                let by_role = matches!(*role, "dispatcher")
                    || (*role == "trip courier" && matches!(*name, "move" | "start" | "close"));
                assert_eq!(allowed, by_role, "{name} by {role}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 4 * 4 * 6);
}

#[test]
fn a_trip_is_published_only_with_stops_and_completes_when_its_stops_are_done() {
    let mut c = Clock(0);
    let empty = vec![
        c.ev(&disp(), created()),
        c.ev(&disp(), TripChange::Published),
    ];
    let st = derive(&empty);
    assert_eq!(st.status, Some(TripStatus::Draft));
    assert!(st.ignored[0].1.contains("without stops"));
    let mut evs = three_stops(&mut c);
    evs.push(c.ev(&disp(), TripChange::Published));
    let st = derive(&evs);
    assert_eq!(st.status_with(2), TripStatus::Published);
    assert_eq!(st.status_with(3), TripStatus::Completed);
    // A draft stays a draft however done its stops are.
    assert_eq!(
        derive(&three_stops(&mut Clock(0))).status_with(3),
        TripStatus::Draft
    );
}

#[test]
fn moves_place_a_stop_and_equal_ranks_are_sequenced_again() {
    let mut c = Clock(0);
    let mut evs = three_stops(&mut c);
    let st = derive(&evs);
    assert_eq!(st.sequence(), ["a/dropoff", "b/dropoff", "c/dropoff"]);
    for m in moves_to_place(&st, "c/dropoff", Some("a/dropoff")).unwrap() {
        evs.push(c.ev(&courier(), m));
    }
    evs.insert(1, c.ev(&disp(), TripChange::Published));
    let st = derive(&evs);
    assert_eq!(st.sequence(), ["c/dropoff", "a/dropoff", "b/dropoff"]);
    assert!(
        st.lost_moves.is_empty(),
        "a move that saw the stop's rank loses nothing"
    );
    // Two stops added concurrently at one place get one rank; placing
    // between them ranks the sequence again.
    let r = st.stops[0].rank.clone();
    evs.push(c.ev(&disp(), add("x", StopKind::Dropoff, &r)));
    let st = derive(&evs);
    assert_eq!(st.stops.len(), 4);
    let moves = moves_to_place(&st, "b/dropoff", Some("x/dropoff")).unwrap();
    for m in moves {
        evs.push(c.ev(&disp(), m));
    }
    let st = derive(&evs);
    let seq = st.sequence();
    let b = seq.iter().position(|k| k == "b/dropoff").unwrap();
    assert_eq!(seq[b + 1], "x/dropoff", "{seq:?}");
    assert!(
        st.stops.windows(2).all(|w| w[0].rank < w[1].rank),
        "ranks distinct again"
    );
    assert!(moves_to_place(&st, "nope/dropoff", None).unwrap_err().field == "stop");
}

#[test]
fn concurrent_moves_of_one_stop_keep_the_later_and_show_the_lost_one() {
    let mut c = Clock(0);
    let mut evs = three_stops(&mut c);
    evs.push(c.ev(&disp(), TripChange::Published));
    let st = derive(&evs);
    // Both saw the same state; the courier moves c first, the dispatcher later moves c last... of a/b.
    let courier_move = moves_to_place(&st, "c/dropoff", Some("a/dropoff")).unwrap();
    let disp_move = moves_to_place(&st, "c/dropoff", Some("b/dropoff")).unwrap();
    for m in courier_move {
        evs.push(c.ev(&courier(), m));
    }
    for m in disp_move {
        evs.push(c.ev(&disp(), m));
    }
    let st = derive(&evs);
    assert_eq!(
        st.sequence(),
        ["a/dropoff", "c/dropoff", "b/dropoff"],
        "the later move stands"
    );
    assert_eq!(st.lost_moves.len(), 1);
    let lost = &st.lost_moves[0];
    assert_eq!(
        (
            lost.stop.as_str(),
            lost.by.as_str(),
            lost.overridden_by.as_str()
        ),
        ("c/dropoff", "c1", "d1")
    );
}

#[test]
fn the_guard_takes_what_each_role_may_do_and_nothing_else() {
    let mut c = Clock(0);
    let mut doc = create(&DeviceId::new(DISP_DEV)).unwrap();
    for e in three_stops(&mut c) {
        doc.append(&e).unwrap();
    }
    let p = |a: &Actor| Principal {
        user: a.user.clone(),
        role: a.role,
    };
    // Created by a dispatcher: accepted as a new document.
    let empty = AutoCommit::new();
    let added = check_write(&empty, doc.automerge(), &p(&disp())).unwrap();
    assert_eq!(added.len(), 4);
    // The same document sent by a client or by the courier: refused.
    let e = check_write(&empty, doc.automerge(), &p(&courier())).unwrap_err();
    assert!(matches!(e, TripRefusal::Impersonation { .. }), "{e}");
    let before = doc.automerge().clone();
    let try_write = |who: &Actor, change: TripChange, c: &mut Clock| {
        let mut d = load(&before.clone().save(), &who.device).unwrap();
        d.append(&c.ev(who, change)).unwrap();
        check_write(&before, d.automerge(), &p(who))
    };
    let st = derive(&doc.events());
    let mv = moves_to_place(&st, "c/dropoff", None).unwrap().remove(0);
    assert!(
        try_write(&courier(), mv.clone(), &mut c).is_ok(),
        "the trip's courier reorders"
    );
    let other = actor("c2", Role::Courier, "c2c2c2c2c2c2c2c2");
    assert!(matches!(
        try_write(&other, mv.clone(), &mut c),
        Err(TripRefusal::NotPermitted { .. })
    ));
    assert!(matches!(
        try_write(&courier(), TripChange::Published, &mut c),
        Err(TripRefusal::NotPermitted { .. })
    ));
    assert!(matches!(
        try_write(
            &courier(),
            add("q", StopKind::Dropoff, &ranks_for(1)[0]),
            &mut c
        ),
        Err(TripRefusal::NotPermitted { .. })
    ));
    assert!(matches!(
        try_write(
            &disp(),
            TripChange::StopMoved {
                order: OrderId::new("a"),
                kind: StopKind::Dropoff,
                rank: "not a rank".into(),
                replaces: None
            },
            &mut c
        ),
        Err(TripRefusal::Bad { .. })
    ));
    // An event keyed under another device's node.
    let mut d = load(&before.clone().save(), &courier().device).unwrap();
    let mut e = c.ev(&courier(), TripChange::Started);
    e.at.node = node_of(DISP_DEV);
    d.append(&e).unwrap();
    assert!(matches!(
        check_write(&before, d.automerge(), &p(&courier())),
        Err(TripRefusal::ForeignKey { .. })
    ));
    // History rewritten.
    let mut d = load(&before.clone().save(), &disp().device).unwrap();
    let first = doc.events().into_iter().next().unwrap();
    let mut changed = first.clone();
    changed.change = TripChange::Created {
        courier: UserId::new("c2"),
        name: "x".into(),
        date: "2026-12-03".into(),
        vehicle: None,
        start_warehouse: None,
    };
    d.append(&TripEvent { ..changed }).unwrap();
    assert!(matches!(
        check_write(&before, d.automerge(), &p(&disp())),
        Err(TripRefusal::HistoryRewritten(_))
    ));
    // A new document without its creation.
    let mut bare = create(&DeviceId::new(DISP_DEV)).unwrap();
    bare.append(&c.ev(&disp(), add("a", StopKind::Dropoff, &ranks_for(1)[0])))
        .unwrap();
    assert!(matches!(
        check_write(&empty, bare.automerge(), &p(&disp())),
        Err(TripRefusal::BadCreation(_))
    ));
}

/// One replica's step in a random schedule.
#[derive(Clone, Debug)]
enum Step {
    /// Replica `who` moves stop `stop` to before stop `before` (indexes into its sequence).
    Move {
        who: usize,
        stop: usize,
        before: usize,
    },
    Add {
        who: usize,
        order: u8,
    },
    Remove {
        who: usize,
        stop: usize,
    },
    /// Replica `a` receives everything replica `b` has.
    Sync {
        a: usize,
        b: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize, 0..8usize, 0..9usize).prop_map(|(who, stop, before)| Step::Move { who, stop, before }),
        1 => (0..3usize, 0..12u8).prop_map(|(who, order)| Step::Add { who, order }),
        1 => (0..3usize, 0..8usize).prop_map(|(who, stop)| Step::Remove { who, stop }),
        2 => (0..3usize, 0..3usize).prop_map(|(a, b)| Step::Sync { a, b }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    /// A dispatcher, a second dispatcher and the courier reorder, add and
    /// remove while partitioned, then meet: every replica shows the same
    /// sequence and the same lost moves, and every stop is on it exactly once.
    #[test]
    fn concurrent_reorders_converge_to_one_sequence_with_each_stop_once(steps in proptest::collection::vec(step(), 1..40)) {
        let who = [disp(), courier(), actor("d2", Role::Dispatcher, DISP2_DEV)];
        let mut seed = create(&DeviceId::new(DISP_DEV)).unwrap();
        let mut c = Clock(0);
        let mut base = three_stops(&mut c);
        let r = rank_between(Some(&base_rank(&base)), None).unwrap();
        base.push(c.ev(&disp(), add("d", StopKind::Dropoff, &r)));
        base.push(c.ev(&disp(), TripChange::Published));
        for e in &base { seed.append(e).unwrap(); }
        let bytes = seed.save();
        let mut replicas: Vec<TripDoc> = who.iter().map(|a| load(&bytes, &a.device).unwrap()).collect();
        let mut clocks: Vec<i64> = vec![10_000, 10_000, 10_000];
        for s in &steps {
            match s.clone() {
                Step::Sync { a, b } if a != b => {
                    let theirs = replicas[b].save();
                    replicas[a].merge_bytes(&theirs).unwrap();
                }
                Step::Sync { .. } => {}
                Step::Move { who: w, stop, before } => {
                    let st = derive(&replicas[w].events());
                    if st.stops.is_empty() { continue; }
                    let key = st.stops[stop % st.stops.len()].key();
                    let before = st.stops.get(before).map(|s| s.key());
                    for m in moves_to_place(&st, &key, before.as_deref()).unwrap() {
                        clocks[w] += 7;
                        let e = stamp(&who[w], clocks[w], m);
                        replicas[w].append(&e).unwrap();
                    }
                }
                Step::Add { who: w, order } => {
                    if who[w].role == Role::Courier { continue; }
                    let st = derive(&replicas[w].events());
                    let rank = ranks_after(&st, None, 1, false).remove(0);
                    clocks[w] += 7;
                    let e = stamp(&who[w], clocks[w], add(&format!("o{order}"), StopKind::Dropoff, &rank));
                    replicas[w].append(&e).unwrap();
                }
                Step::Remove { who: w, stop } => {
                    if who[w].role == Role::Courier { continue; }
                    let st = derive(&replicas[w].events());
                    if st.stops.is_empty() { continue; }
                    let s = &st.stops[stop % st.stops.len()];
                    clocks[w] += 7;
                    let e = stamp(&who[w], clocks[w], TripChange::StopRemoved { order: s.order.clone(), kind: s.kind });
                    replicas[w].append(&e).unwrap();
                }
            }
        }
        // Everyone meets.
        let all: Vec<Vec<u8>> = replicas.iter_mut().map(|r| r.save()).collect();
        for r in replicas.iter_mut() { for b in &all { r.merge_bytes(b).unwrap(); } }
        let states: Vec<TripState> = replicas.iter().map(|r| derive(&r.events())).collect();
        for st in &states[1..] {
            prop_assert_eq!(st.sequence(), states[0].sequence());
            prop_assert_eq!(&st.lost_moves, &states[0].lost_moves);
        }
        let seq = states[0].sequence();
        let mut uniq = seq.clone();
        uniq.sort();
        uniq.dedup();
        prop_assert_eq!(uniq.len(), seq.len(), "a stop twice: {:?}", seq);
        // Every stop added and not removed afterwards (by stamp) is on it.
        let events = replicas[0].events();
        let mut last: BTreeMap<String, (Hlc, bool)> = BTreeMap::new();
        let mut sorted = events.clone();
        sorted.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.actor.user.cmp(&b.actor.user)));
        for e in &sorted {
            match &e.change {
                TripChange::StopAdded { .. } => { last.entry(e.change.stop().unwrap()).or_insert((e.at, true)).1 = true; }
                TripChange::StopRemoved { .. } => { last.insert(e.change.stop().unwrap(), (e.at, false)); }
                _ => {}
            }
        }
        let want: Vec<&String> = last.iter().filter(|(_, (_, present))| *present).map(|(k, _)| k).collect();
        let mut have: Vec<&String> = seq.iter().collect();
        have.sort();
        prop_assert_eq!(have, want);
    }
}

fn base_rank(events: &[TripEvent]) -> String {
    derive(events).stops.last().unwrap().rank.clone()
}

fn stamp(a: &Actor, wall_ms: i64, change: TripChange) -> TripEvent {
    TripEvent {
        at: Hlc {
            wall_ms,
            counter: 0,
            node: node_of(a.device.as_str()),
        },
        actor: a.clone(),
        change,
    }
}

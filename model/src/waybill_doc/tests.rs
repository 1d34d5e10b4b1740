//! Waybill rules: the state table, membership merged per order, the guard,
//! and devices that edit one waybill apart.

use super::*;
use app_api::Role;
use automerge::AutoCommit;
use proptest::prelude::*;
use ruta_domain::UserId;
use ruta_domain::hlc::node_of;

fn actor(user: &str, role: Role, device: &str) -> Actor {
    Actor {
        user: UserId::new(user),
        role,
        device: DeviceId::new(device),
    }
}
const D1: &str = "d1d1d1d1d1d1d1d1";
const D2: &str = "d2d2d2d2d2d2d2d2";
fn d1() -> Actor {
    actor("d1", Role::Dispatcher, D1)
}
fn d2() -> Actor {
    actor("d2", Role::Dispatcher, D2)
}
fn p(a: &Actor) -> Principal {
    Principal {
        user: a.user.clone(),
        role: a.role,
    }
}

fn ev(a: &Actor, ms: i64, change: WaybillChange) -> WaybillEvent {
    WaybillEvent {
        at: Hlc {
            wall_ms: ms,
            counter: 0,
            node: node_of(a.device.as_str()),
        },
        actor: a.clone(),
        change,
    }
}

fn created() -> WaybillChange {
    WaybillChange::Created {
        number: "WB-000001".into(),
        origin: "Vantaa hub".into(),
        destination: "Tampere hub".into(),
        destination_warehouse: Some("tre".into()),
        carrier: "Linehaul Oy".into(),
        seal: Some("S-77".into()),
        reference: None,
    }
}
fn add(o: &str) -> WaybillChange {
    WaybillChange::OrderAdded {
        order: OrderId::new(o),
    }
}
fn remove(o: &str) -> WaybillChange {
    WaybillChange::OrderRemoved {
        order: OrderId::new(o),
    }
}

#[test]
fn the_waybill_table() {
    use WaybillChange::*;
    use WaybillStatus as S;
    type Case = (
        &'static str,
        Vec<WaybillChange>,
        Option<S>,
        Vec<&'static str>,
        usize,
    );
    let cases: Vec<Case> = vec![
        ("nothing", vec![], None, vec![], 0),
        (
            "an edit before creation is ignored",
            vec![add("a")],
            None,
            vec![],
            1,
        ),
        ("created", vec![created()], Some(S::Open), vec![], 0),
        (
            "orders added in order",
            vec![created(), add("b"), add("a")],
            Some(S::Open),
            vec!["b", "a"],
            0,
        ),
        (
            "removed",
            vec![created(), add("a"), add("b"), remove("a")],
            Some(S::Open),
            vec!["b"],
            0,
        ),
        (
            "re-added goes last",
            vec![created(), add("a"), add("b"), remove("a"), add("a")],
            Some(S::Open),
            vec!["b", "a"],
            0,
        ),
        (
            "an empty waybill is not dispatched",
            vec![created(), Dispatched],
            Some(S::Open),
            vec![],
            1,
        ),
        (
            "dispatched, then arrived",
            vec![created(), add("a"), Dispatched, Arrived],
            Some(S::Arrived),
            vec!["a"],
            0,
        ),
        (
            "arrival before dispatch is ignored",
            vec![created(), add("a"), Arrived],
            Some(S::Open),
            vec!["a"],
            1,
        ),
        (
            "no edits once dispatched",
            vec![created(), add("a"), Dispatched, add("b"), remove("a")],
            Some(S::Dispatched),
            vec!["a"],
            2,
        ),
        (
            "cancelled while dispatched",
            vec![
                created(),
                add("a"),
                Dispatched,
                Cancelled {
                    reason: "truck broke down".into(),
                },
            ],
            Some(S::Cancelled),
            vec!["a"],
            0,
        ),
        (
            "an arrived waybill is not cancelled",
            vec![
                created(),
                add("a"),
                Dispatched,
                Arrived,
                Cancelled { reason: "x".into() },
            ],
            Some(S::Arrived),
            vec!["a"],
            1,
        ),
        (
            "created twice: the first stands",
            vec![created(), created()],
            Some(S::Open),
            vec![],
            1,
        ),
    ];
    for (name, changes, status, orders, ignored) in cases {
        let events: Vec<WaybillEvent> = changes
            .into_iter()
            .enumerate()
            .map(|(i, c)| ev(&d1(), 1_000 * (i as i64 + 1), c))
            .collect();
        let st = derive(&events);
        assert_eq!(st.status, status, "{name}");
        let got: Vec<&str> = st.orders.iter().map(|o| o.as_str()).collect();
        assert_eq!(got, orders, "{name}");
        assert_eq!(st.ignored.len(), ignored, "{name}: {:?}", st.ignored);
        let mut rev = events.clone();
        rev.reverse();
        assert_eq!(derive(&rev), st, "{name}: order of events");
    }
}

#[test]
fn bad_values_name_their_field() {
    let mut c = created();
    if let WaybillChange::Created { number, .. } = &mut c {
        *number = "WB 1".into();
    }
    assert_eq!(validate(&c).unwrap_err().field, "number");
    let mut c = created();
    if let WaybillChange::Created { destination, .. } = &mut c {
        *destination = " ".into();
    }
    assert_eq!(validate(&c).unwrap_err().field, "destination");
    assert_eq!(
        validate(&WaybillChange::Cancelled {
            reason: String::new()
        })
        .unwrap_err()
        .field,
        "reason"
    );
    assert!(validate(&created()).is_ok());
}

#[test]
fn the_guard_takes_operators_writes_and_nothing_else() {
    let empty = AutoCommit::new();
    let mut doc = create(&DeviceId::new(D1)).unwrap();
    doc.append(&ev(&d1(), 1_000, created())).unwrap();
    doc.append(&ev(&d1(), 2_000, add("a"))).unwrap();
    assert_eq!(
        check_write(&empty, doc.automerge(), &p(&d1()))
            .unwrap()
            .len(),
        2
    );
    // A courier may not write one.
    let courier = actor("c1", Role::Courier, "c1c1c1c1c1c1c1c1");
    let mut theirs = create(&DeviceId::new("c1c1c1c1c1c1c1c1")).unwrap();
    theirs.append(&ev(&courier, 1_000, created())).unwrap();
    assert!(matches!(
        check_write(&empty, theirs.automerge(), &p(&courier)),
        Err(WaybillRefusal::NotPermitted { .. })
    ));
    // A new document without its creation is refused.
    let mut bare = create(&DeviceId::new(D1)).unwrap();
    bare.append(&ev(&d1(), 1_000, add("a"))).unwrap();
    assert!(matches!(
        check_write(&empty, bare.automerge(), &p(&d1())),
        Err(WaybillRefusal::NoCreation)
    ));
    // Rewriting an event is refused; a bad one names its field.
    let before = doc.automerge().clone();
    let mut d = load(&before.clone().save(), &DeviceId::new(D1)).unwrap();
    d.append(&ev(&d1(), 2_000, remove("a"))).unwrap();
    assert!(matches!(
        check_write(&before, d.automerge(), &p(&d1())),
        Err(WaybillRefusal::Append(AppendRefusal::HistoryRewritten(_)))
    ));
    let mut d = load(&before.clone().save(), &DeviceId::new(D1)).unwrap();
    d.append(&ev(
        &d1(),
        3_000,
        WaybillChange::Cancelled {
            reason: String::new(),
        },
    ))
    .unwrap();
    let e = check_write(&before, d.automerge(), &p(&d1())).unwrap_err();
    assert!(e.to_string().contains("reason"), "{e}");
}

#[derive(Clone, Debug)]
enum Step {
    Add { who: usize, order: u8 },
    Remove { who: usize, order: u8 },
    Dispatch { who: usize },
    Sync { a: usize, b: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..2usize, 0..6u8).prop_map(|(who, order)| Step::Add { who, order }),
        2 => (0..2usize, 0..6u8).prop_map(|(who, order)| Step::Remove { who, order }),
        1 => (0..2usize).prop_map(|who| Step::Dispatch { who }),
        3 => (0..2usize, 0..2usize).prop_map(|(a, b)| Step::Sync { a, b }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    /// Two dispatchers edit one waybill apart and meet: the same orders on
    /// both, each once, exactly those whose latest edit (by stamp, before
    /// dispatch) added them.
    #[test]
    fn two_desks_apart_agree_on_the_waybill(steps in proptest::collection::vec(step(), 1..40)) {
        let who = [d1(), d2()];
        let mut seed = create(&DeviceId::new(D1)).unwrap();
        seed.append(&ev(&d1(), 1, created())).unwrap();
        let bytes = seed.save();
        let mut replicas: Vec<WaybillDoc> = who.iter().map(|a| load(&bytes, &a.device).unwrap()).collect();
        let mut clocks = [10i64, 10];
        for s in &steps {
            let mut write = |w: usize, c: WaybillChange, r: &mut Vec<WaybillDoc>| {
                clocks[w] += 3 + w as i64;
                r[w].append(&ev(&who[w], clocks[w], c)).unwrap();
            };
            match s.clone() {
                Step::Add { who: w, order } => write(w, add(&format!("o{order}")), &mut replicas),
                Step::Remove { who: w, order } => write(w, remove(&format!("o{order}")), &mut replicas),
                Step::Dispatch { who: w } => write(w, WaybillChange::Dispatched, &mut replicas),
                Step::Sync { a, b } if a != b => {
                    let theirs = replicas[b].save();
                    replicas[a].merge_bytes(&theirs).unwrap();
                }
                Step::Sync { .. } => {}
            }
        }
        let all: Vec<Vec<u8>> = replicas.iter_mut().map(|r| r.save()).collect();
        for r in replicas.iter_mut() { for b in &all { r.merge_bytes(b).unwrap(); } }
        let a = derive(&replicas[0].events());
        let b = derive(&replicas[1].events());
        prop_assert_eq!(&a, &b);
        let mut uniq = a.orders.clone();
        uniq.sort();
        uniq.dedup();
        prop_assert_eq!(uniq.len(), a.orders.len(), "an order twice");
        // The rule, recomputed: the latest membership edit before dispatch.
        let mut events = replicas[0].events();
        events.sort_by_key(|e| e.at);
        let cut = events.iter().find(|e| e.change == WaybillChange::Dispatched && !a.ignored.iter().any(|(k, _)| *k == e.id())).map(|e| e.at);
        let mut want: BTreeMap<OrderId, bool> = BTreeMap::new();
        for e in &events {
            if cut.is_some_and(|c| e.at > c) { break; }
            match &e.change {
                WaybillChange::OrderAdded { order } => { want.insert(order.clone(), true); }
                WaybillChange::OrderRemoved { order } => { want.insert(order.clone(), false); }
                _ => {}
            }
        }
        let mut want: Vec<OrderId> = want.into_iter().filter(|(_, on)| *on).map(|(o, _)| o).collect();
        want.sort();
        let mut got = a.orders.clone();
        got.sort();
        prop_assert_eq!(got, want);
    }
}

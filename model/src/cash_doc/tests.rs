//! Cash ledger rules: the hand-over table, settlements, the offline pairing,
//! the guard, and two devices that create and write the ledger apart.

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

const DESK: &str = "d1d1d1d1d1d1d1d1";
const DESK2: &str = "d2d2d2d2d2d2d2d2";
const PHONE: &str = "c1c1c1c1c1c1c1c1";

fn desk() -> Actor {
    actor("d1", Role::Dispatcher, DESK)
}
fn desk2() -> Actor {
    actor("d2", Role::Dispatcher, DESK2)
}
fn courier() -> Actor {
    actor("c1", Role::Courier, PHONE)
}
fn c1() -> UserId {
    UserId::new("c1")
}
fn p(a: &Actor) -> Principal {
    Principal {
        user: a.user.clone(),
        role: a.role,
    }
}

struct Clock(i64);
impl Clock {
    fn ev(&mut self, a: &Actor, change: CashChange) -> CashEvent {
        self.0 += 1000;
        CashEvent {
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

fn declared(h: &str, cents: i64) -> CashChange {
    CashChange::Declared {
        handover: h.into(),
        cents,
        note: String::new(),
    }
}
fn scanned(h: &str, cents: i64, code_cents: i64) -> CashChange {
    CashChange::Received {
        handover: h.into(),
        cents,
        by_code: true,
        declared_cents: Some(code_cents),
        note: String::new(),
    }
}
fn typed(h: &str, cents: i64, said: Option<i64>) -> CashChange {
    CashChange::Received {
        handover: h.into(),
        cents,
        by_code: false,
        declared_cents: said,
        note: String::new(),
    }
}
fn resolved(h: &str, resolution: Resolution) -> CashChange {
    CashChange::Resolved {
        handover: h.into(),
        resolution,
        note: "counted at the till".into(),
    }
}
fn collections(cents: &[i64]) -> Vec<Collection> {
    cents
        .iter()
        .enumerate()
        .map(|(i, c)| Collection {
            order: OrderId::new(format!("o{i}")),
            cents: *c,
            at_ms: i as i64,
        })
        .collect()
}

/// (name, events, collected, hand-over statuses, outstanding, pending, open discrepancies)
#[test]
fn the_hand_over_table() {
    type Case = (
        &'static str,
        Vec<(Actor, CashChange)>,
        i64,
        Vec<HandoverStatus>,
        i64,
        i64,
        usize,
    );
    use HandoverStatus::*;
    let cases: Vec<Case> = vec![
        ("nothing handed over", vec![], 9_000, vec![], 9_000, 0, 0),
        (
            "declared, waiting at the desk",
            vec![(courier(), declared("h1", 5_000))],
            9_000,
            vec![Declared],
            9_000,
            5_000,
            0,
        ),
        (
            "scanned and counted in full",
            vec![
                (courier(), declared("h1", 5_000)),
                (desk(), scanned("h1", 5_000, 5_000)),
            ],
            9_000,
            vec![Received],
            4_000,
            0,
            0,
        ),
        (
            "a shortfall is a discrepancy, never netted",
            vec![
                (courier(), declared("h1", 5_000)),
                (desk(), scanned("h1", 4_800, 5_000)),
            ],
            9_000,
            vec![Discrepancy],
            4_200,
            0,
            1,
        ),
        (
            "a shortfall charged to the courier stays outstanding",
            vec![
                (courier(), declared("h1", 5_000)),
                (desk(), scanned("h1", 4_800, 5_000)),
                (desk(), resolved("h1", Resolution::ChargedToCourier)),
            ],
            9_000,
            vec![Settled],
            4_200,
            0,
            0,
        ),
        (
            "a shortfall written off is no longer owed",
            vec![
                (courier(), declared("h1", 5_000)),
                (desk(), scanned("h1", 4_800, 5_000)),
                (desk(), resolved("h1", Resolution::WrittenOff)),
            ],
            9_000,
            vec![Settled],
            4_000,
            0,
            0,
        ),
        (
            "a recount replaces the counted amount",
            vec![
                (courier(), declared("h1", 5_000)),
                (desk(), scanned("h1", 4_800, 5_000)),
                (
                    desk(),
                    resolved("h1", Resolution::Recounted { cents: 5_000 }),
                ),
            ],
            9_000,
            vec![Settled],
            4_000,
            0,
            0,
        ),
        (
            "typed at an offline desk, paired with the courier's declaration",
            vec![
                (courier(), declared("h1", 5_000)),
                (desk(), typed("t1", 5_000, None)),
            ],
            5_000,
            vec![Received],
            0,
            0,
            0,
        ),
        (
            "typed receipts pair oldest first",
            vec![
                (courier(), declared("h1", 3_000)),
                (courier(), declared("h2", 2_000)),
                (desk(), typed("t1", 3_000, None)),
            ],
            5_000,
            vec![Received, Declared],
            2_000,
            2_000,
            0,
        ),
        (
            "a typed receipt with nothing declared stands alone",
            vec![(desk(), typed("t1", 2_000, Some(2_500)))],
            5_000,
            vec![Discrepancy],
            3_000,
            0,
            1,
        ),
        (
            "a scanned receipt never pairs with another declaration",
            vec![
                (courier(), declared("h1", 1_000)),
                (desk(), scanned("h9", 2_000, 2_000)),
            ],
            5_000,
            vec![Declared, Received],
            3_000,
            1_000,
            0,
        ),
        (
            "two desks scan one code: counted once, shown",
            vec![
                (courier(), declared("h1", 5_000)),
                (desk(), scanned("h1", 5_000, 5_000)),
                (desk2(), scanned("h1", 5_000, 5_000)),
            ],
            5_000,
            vec![Discrepancy],
            0,
            0,
            1,
        ),
        (
            "withdrawn before anyone received it",
            vec![
                (courier(), declared("h1", 5_000)),
                (
                    courier(),
                    CashChange::Withdrawn {
                        handover: "h1".into(),
                    },
                ),
            ],
            5_000,
            vec![Withdrawn],
            5_000,
            0,
            0,
        ),
        (
            "a withdrawal after the receipt is ignored",
            vec![
                (courier(), declared("h1", 5_000)),
                (desk(), scanned("h1", 5_000, 5_000)),
                (
                    courier(),
                    CashChange::Withdrawn {
                        handover: "h1".into(),
                    },
                ),
            ],
            5_000,
            vec![Received],
            0,
            0,
            0,
        ),
    ];
    for (name, events, collected, statuses, outstanding, pending, open) in cases {
        let mut c = Clock(0);
        let events: Vec<CashEvent> = events.into_iter().map(|(a, ch)| c.ev(&a, ch)).collect();
        let st = derive(Some(&c1()), &events, &collections(&[collected]));
        let got: Vec<_> = st.handovers.iter().map(|h| h.status()).collect();
        assert_eq!(got, statuses, "{name}");
        assert_eq!(st.outstanding_cents(), outstanding, "{name}: outstanding");
        assert_eq!(st.pending_cents, pending, "{name}: pending");
        assert_eq!(st.open_discrepancies(), open, "{name}: open discrepancies");
        // The same events in the reverse order derive the same state.
        let mut rev = events.clone();
        rev.reverse();
        assert_eq!(
            derive(Some(&c1()), &rev, &collections(&[collected])),
            st,
            "{name}: order"
        );
    }
}

#[test]
fn a_paired_receipt_shows_the_pairing_and_the_difference() {
    let mut c = Clock(0);
    let events = vec![
        c.ev(&courier(), declared("h1", 5_000)),
        c.ev(&desk(), typed("t1", 4_500, Some(4_500))),
    ];
    let st = derive(Some(&c1()), &events, &[]);
    let h = &st.handovers[0];
    assert_eq!(h.id, "h1");
    assert_eq!(h.paired_receipt.as_deref(), Some("t1"));
    // The courier's own declaration counts, not the figure the desk typed.
    assert_eq!(h.difference(), Some(-500));
    assert_eq!(st.handover("t1").map(|h| h.id.as_str()), Some("h1"));
    // Settling by the receipt's id settles the paired hand-over.
    let mut more = events.clone();
    more.push(c.ev(&desk(), resolved("t1", Resolution::WrittenOff)));
    let st = derive(Some(&c1()), &more, &[]);
    assert_eq!(st.handovers[0].status(), HandoverStatus::Settled);
    assert_eq!(st.written_off_cents, 500);
}

#[test]
fn who_may_write_a_ledger() {
    let other = actor("c2", Role::Courier, "c2c2c2c2c2c2c2c2");
    let client = actor("k1", Role::Client, "k1k1k1k1k1k1k1k1");
    let admin = actor("a1", Role::Admin, "a1a1a1a1a1a1a1a1");
    let d = declared("h1", 100);
    let r = scanned("h1", 100, 100);
    let s = resolved("h1", Resolution::WrittenOff);
    let w = CashChange::Withdrawn {
        handover: "h1".into(),
    };
    for (who, change, ok) in [
        (courier(), &d, true),
        (courier(), &w, true),
        (courier(), &r, false),
        (courier(), &s, false),
        (other.clone(), &d, false),
        (other, &w, false),
        (desk(), &d, false),
        (desk(), &r, true),
        (desk(), &s, true),
        (admin.clone(), &r, true),
        (admin, &d, false),
        (client.clone(), &d, false),
        (client, &r, false),
    ] {
        assert_eq!(
            permitted(&p(&who), &c1(), change),
            ok,
            "{} {:?} {}",
            who.user,
            who.role,
            change.name()
        );
    }
}

#[test]
fn bad_values_name_their_field() {
    for (change, field) in [
        (declared("h1", 0), "cents"),
        (declared("h1", -5), "cents"),
        (declared("h 1", 5), "handover"),
        (declared("", 5), "handover"),
        (scanned("h1", MAX_CENTS + 1, 1), "cents"),
        (typed("t1", 5, Some(-1)), "declared_cents"),
        (
            resolved("h1", Resolution::Recounted { cents: -1 }),
            "resolution.cents",
        ),
        (
            CashChange::Declared {
                handover: "h1".into(),
                cents: 5,
                note: "x".repeat(MAX_NOTE + 1),
            },
            "note",
        ),
    ] {
        assert_eq!(validate(&change).unwrap_err().field, field, "{change:?}");
    }
    assert!(
        validate(&scanned("h1", 0, 10)).is_ok(),
        "nothing counted is a figure too"
    );
}

#[test]
fn the_hand_over_code_round_trips_and_refuses_garbage() {
    let qr = handover_qr(&c1(), "h-42", 12_345);
    assert_eq!(parse_handover_qr(&qr), Some((c1(), "h-42".into(), 12_345)));
    for bad in [
        "ruta-cash:1:c1:h-42",
        "ruta-cash:2:c1:h-42:5",
        "ruta-cash:1:c1:h 42:5",
        "ruta-cash:1:c1:h-42:-5",
        "ruta-cash:1::h-42:5",
        "ruta-stop:1:x:y",
    ] {
        assert_eq!(parse_handover_qr(bad), None, "{bad}");
    }
}

#[test]
fn every_device_creates_the_same_ledger() {
    let a = create(&c1(), &DeviceId::new(DESK)).unwrap();
    let mut b = create(&c1(), &DeviceId::new(PHONE)).unwrap();
    let mut a = a;
    assert_eq!(a.heads(), b.heads());
    assert_ne!(
        create(&UserId::new("c2"), &DeviceId::new(PHONE))
            .unwrap()
            .heads(),
        b.heads()
    );
    assert_eq!(courier_of(a.automerge()), Some(c1()));
    // The id is the courier's, on every device, and a UUID.
    assert_eq!(ledger_id(&c1()), ledger_id(&c1()));
    assert!(crate::ids::doc_id_of_uuid(&ledger_id(&c1())).is_some());
    assert_ne!(ledger_id(&c1()), ledger_id(&UserId::new("c2")));
}

#[test]
fn the_guard_takes_what_each_role_may_write_and_nothing_else() {
    let mut c = Clock(0);
    let id = crate::ids::doc_id_of_uuid(&ledger_id(&c1())).unwrap();
    let empty = AutoCommit::new();
    // The courier's phone makes the ledger and declares: accepted as new.
    let mut phone = create(&c1(), &DeviceId::new(PHONE)).unwrap();
    phone
        .append(&c.ev(&courier(), declared("h1", 5_000)))
        .unwrap();
    assert_eq!(
        check_write(&id, &empty, phone.automerge(), &p(&courier()))
            .unwrap()
            .len(),
        1
    );
    // ...but not under another courier's ledger id.
    let other = crate::ids::doc_id_of_uuid(&ledger_id(&UserId::new("c2"))).unwrap();
    assert!(matches!(
        check_write(&other, &empty, phone.automerge(), &p(&courier())),
        Err(CashRefusal::WrongLedger(_))
    ));
    // A second courier may not write it, nor claim to be c1.
    let c2 = actor("c2", Role::Courier, "c2c2c2c2c2c2c2c2");
    let before = phone.automerge().clone();
    let try_write = |who: &Actor, claimed: &Actor, change: CashChange, c: &mut Clock| {
        let mut d = load(&before.clone().save(), &who.device).unwrap();
        d.append(&c.ev(claimed, change)).unwrap();
        check_write(&id, &before, d.automerge(), &p(who))
    };
    assert!(matches!(
        try_write(&c2, &c2, declared("h2", 10), &mut c),
        Err(CashRefusal::NotPermitted { .. })
    ));
    assert!(matches!(
        try_write(&c2, &courier(), declared("h2", 10), &mut c),
        Err(CashRefusal::Append(AppendRefusal::Impersonation { .. }))
    ));
    // The courier may not record their own receipt.
    assert!(matches!(
        try_write(&courier(), &courier(), scanned("h1", 5_000, 5_000), &mut c),
        Err(CashRefusal::NotPermitted { .. })
    ));
    // A dispatcher records the receipt; a bad amount is refused with its field.
    assert!(try_write(&desk(), &desk(), scanned("h1", 4_000, 5_000), &mut c).is_ok());
    let e = try_write(&desk(), &desk(), scanned("h1", -1, 5_000), &mut c).unwrap_err();
    assert!(e.to_string().contains("cents"), "{e}");
    // Rewriting the courier's declaration is refused.
    let mut d = load(&before.clone().save(), &DeviceId::new(DESK)).unwrap();
    let mut rewritten = phone.events()[0].clone();
    rewritten.change = declared("h1", 1);
    d.append(&rewritten).unwrap();
    assert!(matches!(
        check_write(&id, &before, d.automerge(), &p(&courier())),
        Err(CashRefusal::Append(AppendRefusal::HistoryRewritten(_)))
    ));
    // A root field may not change (the ledger's courier above all).
    let mut d = load(&before.clone().save(), &DeviceId::new(DESK)).unwrap();
    {
        use automerge::transaction::Transactable;
        d.automerge_mut()
            .put(automerge::ROOT, "courier", "d1")
            .unwrap();
    }
    assert!(matches!(
        check_write(&id, &before, d.automerge(), &p(&desk())),
        Err(CashRefusal::Append(AppendRefusal::RootChanged(_)))
    ));
}

#[derive(Clone, Debug)]
enum Step {
    Declare { cents: i64 },
    Withdraw { nth: usize },
    Scan { desk: usize, nth: usize, short: i64 },
    Type { desk: usize, cents: i64 },
    Settle { desk: usize, nth: usize, how: u8 },
    Sync { a: usize, b: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1i64..10_000).prop_map(|cents| Step::Declare { cents }),
        1 => (0..4usize).prop_map(|nth| Step::Withdraw { nth }),
        3 => (1..3usize, 0..4usize, 0i64..3).prop_map(|(desk, nth, short)| Step::Scan { desk, nth, short: short * 100 }),
        2 => (1..3usize, 1i64..10_000).prop_map(|(desk, cents)| Step::Type { desk, cents }),
        2 => (1..3usize, 0..4usize, 0u8..3).prop_map(|(desk, nth, how)| Step::Settle { desk, nth, how }),
        3 => (0..3usize, 0..3usize).prop_map(|(a, b)| Step::Sync { a, b }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    /// The courier's phone and two depot desks each create the ledger on their
    /// own (none has seen it), declare, scan, type and settle while apart, and
    /// meet: every replica holds every event (none lost to competing roots)
    /// and derives the same position; each declaration is received at most
    /// once, and outstanding + received + written off = collected.
    #[test]
    fn apart_desks_and_phone_converge_without_losing_a_write(steps in proptest::collection::vec(step(), 1..40)) {
        let who = [courier(), desk(), desk2()];
        let mut replicas: Vec<CashDoc> = who.iter().map(|a| create(&c1(), &a.device).unwrap()).collect();
        let mut clocks = [0i64; 3];
        let mut written = 0usize;
        let mut n = 0usize;
        for s in &steps {
            let mut write = |w: usize, change: CashChange, replicas: &mut Vec<CashDoc>| {
                clocks[w] += 7 + w as i64;
                let e = CashEvent {
                    at: Hlc { wall_ms: clocks[w], counter: 0, node: node_of(who[w].device.as_str()) },
                    actor: who[w].clone(),
                    change,
                };
                replicas[w].append(&e).unwrap();
                written += 1;
            };
            match s.clone() {
                Step::Sync { a, b } if a != b => {
                    let theirs = replicas[b].save();
                    replicas[a].merge_bytes(&theirs).unwrap();
                }
                Step::Sync { .. } => {}
                Step::Declare { cents } => {
                    n += 1;
                    write(0, declared(&format!("h{n}"), cents), &mut replicas);
                }
                Step::Withdraw { nth } => {
                    let st = derive(Some(&c1()), &replicas[0].events(), &[]);
                    if let Some(h) = st.handovers.iter().filter(|h| h.status() == HandoverStatus::Declared).nth(nth) {
                        write(0, CashChange::Withdrawn { handover: h.id.clone() }, &mut replicas);
                    }
                }
                Step::Scan { desk, nth, short } => {
                    // The desk scans a code the phone shows (it need not have synced).
                    let st = derive(Some(&c1()), &replicas[0].events(), &[]);
                    if let Some(h) = st.handovers.iter().filter(|h| h.status() == HandoverStatus::Declared).nth(nth) {
                        let d = h.declared_cents.unwrap();
                        write(desk, scanned(&h.id.clone(), (d - short).max(0), d), &mut replicas);
                    }
                }
                Step::Type { desk, cents } => {
                    n += 1;
                    write(desk, typed(&format!("t{n}"), cents, None), &mut replicas);
                }
                Step::Settle { desk, nth, how } => {
                    let st = derive(Some(&c1()), &replicas[desk].events(), &[]);
                    if let Some(h) = st.handovers.iter().filter(|h| h.status() == HandoverStatus::Discrepancy).nth(nth) {
                        let r = match how {
                            0 => Resolution::WrittenOff,
                            1 => Resolution::ChargedToCourier,
                            _ => Resolution::Recounted { cents: h.declared_cents.unwrap_or(0) },
                        };
                        write(desk, resolved(&h.id.clone(), r), &mut replicas);
                    }
                }
            }
        }
        // Everyone meets.
        let all: Vec<Vec<u8>> = replicas.iter_mut().map(|r| r.save()).collect();
        for r in replicas.iter_mut() {
            for b in &all { r.merge_bytes(b).unwrap(); }
        }
        let collected = collections(&[100_000]);
        let states: Vec<CashState> = replicas.iter().map(|r| derive(Some(&c1()), &r.events(), &collected)).collect();
        for (r, st) in replicas.iter().zip(&states) {
            prop_assert_eq!(r.events().len(), written, "a write was lost");
            prop_assert_eq!(st, &states[0]);
        }
        let st = &states[0];
        prop_assert_eq!(st.outstanding_cents() + st.received_cents + st.written_off_cents, 100_000);
        let mut ids: Vec<&str> = st.handovers.iter().map(|h| h.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        prop_assert_eq!(ids.len(), st.handovers.len(), "a hand-over shown twice");
    }
}

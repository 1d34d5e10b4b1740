//! Tests of `chain` (kept beside it so the module reads on its own).

use proptest::prelude::*;

use super::*;

const T0: i64 = 1_700_000_000_000;

fn sha(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn capture(k: u64, courier: &str) -> PodCapture {
    let ki = i64::try_from(k).unwrap();
    PodCapture {
        record_id: PodId::new(format!("{courier}-pod-{k}")),
        order_id: OrderId::new(format!("order-{}", k % 7)),
        courier: UserId::new(courier),
        device: DeviceId::new("3f2a9c0e11d4b7a8"),
        captured_at: Hlc {
            wall_ms: T0 + ki * 60_000,
            counter: 0,
            node: 0x3f2a_9c0e_11d4_b7a8,
        },
        device_clock_ms: T0 + ki * 60_000,
        gps: (!k.is_multiple_of(3))
            .then(|| GpsFix::from_degrees(60.17 + k as f64 * 1e-3, 24.94, 8.5).unwrap()),
        photo_sha256: Some(sha(&format!("photo {k}"))),
        signature_sha256: k.is_multiple_of(2).then(|| sha(&format!("signature {k}"))),
        verification: match k % 4 {
            0 => VerificationMethod::None,
            1 => VerificationMethod::Qr,
            2 => VerificationMethod::Pin,
            _ => VerificationMethod::QrAndPin,
        },
        age_confirmed: k.is_multiple_of(5).then_some(18),
    }
}

fn chain_of(n: u64, courier: &str) -> Vec<ChainedRecord> {
    let mut b = ChainBuilder::new(UserId::new(courier));
    (0..n)
        .map(|k| b.append(capture(k, courier)).unwrap())
        .collect()
}

fn kinds(report: &ChainReport) -> Vec<(usize, BreakKind)> {
    report
        .findings
        .iter()
        .map(|f| (f.index, f.kind.clone()))
        .collect()
}

fn edited(index: usize) -> (usize, BreakKind) {
    (
        index,
        BreakKind::Edited {
            evidence: EditEvidence::HashMismatch,
        },
    )
}

/// The ways one field of a record can be changed.
fn edit_field(r: &mut ChainedRecord, which: u8) {
    let c = &mut r.capture;
    match which % 12 {
        0 => c.order_id.0.push('x'),
        1 => c.record_id.0.push('x'),
        2 => c.device.0.push('x'),
        3 => c.captured_at.counter += 1,
        4 => c.device_clock_ms -= 1,
        5 => {
            c.gps = match c.gps {
                Some(g) => Some(GpsFix {
                    lat_e6: g.lat_e6 + 1,
                    ..g
                }),
                None => Some(GpsFix::from_degrees(60.0, 25.0, 5.0).unwrap()),
            }
        }
        6 => c.photo_sha256 = Some(sha("another photo")),
        7 => c.signature_sha256 = c.signature_sha256.is_none().then(|| sha("a signature")),
        8 => {
            c.verification = match c.verification {
                VerificationMethod::None => VerificationMethod::Qr,
                _ => VerificationMethod::None,
            }
        }
        9 => c.age_confirmed = c.age_confirmed.map_or(Some(21), |_| None),
        10 => r.prev_hash = sha("somewhere else"),
        _ => c.courier.0.push('x'),
    }
}

#[test]
fn an_untouched_chain_verifies_clean() {
    let chain = chain_of(20, "courier-a");
    let report = verify(&chain);
    assert!(report.is_clean(), "{:?}", report.findings);
    assert_eq!(report.records, 20);
    assert_eq!(report.courier, Some(UserId::new("courier-a")));
    assert_eq!(report.head, Some(chain[19].head()));
    assert_eq!(chain[0].seq, 1);
    assert_eq!(chain[0].prev_hash, GENESIS_HASH);
    for w in chain.windows(2) {
        assert_eq!(w[1].prev_hash, w[0].record_hash);
        assert_eq!(w[1].seq, w[0].seq + 1);
    }
    assert!(verify(&[]).is_clean());
}

#[test]
fn the_canonical_form_is_fixed() {
    let mut b = ChainBuilder::new(UserId::new("u1"));
    let mut c = capture(5, "u1");
    c.photo_sha256 = Some(sha("p"));
    c.gps = Some(GpsFix::from_degrees(60.171, -24.9414, 8.5).unwrap());
    c.order_id = OrderId::new("ord \"7\"\nä");
    let r = b.append(c).unwrap();
    let text = String::from_utf8(r.canonical_bytes()).unwrap();
    assert_eq!(
        text,
        format!(
            concat!(
                r#"{{"v":1,"seq":1,"prev_hash":"{genesis}","record_id":"u1-pod-5","#,
                r#""order_id":"ord \"7\"\nä","courier":"u1","device":"3f2a9c0e11d4b7a8","#,
                r#""captured_at":"0001700000300000.00000.3f2a9c0e11d4b7a8","#,
                r#""device_clock_ms":1700000300000,"#,
                r#""gps":{{"lat_e6":60171000,"lon_e6":-24941400,"accuracy_cm":850}},"#,
                r#""photo_sha256":"{photo}","signature_sha256":null,"#,
                r#""verification":"qr","age_confirmed":18}}"#
            ),
            genesis = GENESIS_HASH,
            photo = sha("p"),
        )
    );
    assert_eq!(r.record_hash, hex(&Sha256::digest(text.as_bytes())));
    // Frozen: a change here breaks every chain already stored.
    assert_eq!(
        r.record_hash,
        "8bf36cd058c25a9d6b37e451465a7e1aff2b7b43a9a6b40c2ab4353ca2ff4601"
    );
}

#[test]
fn an_edit_is_reported_at_the_edited_record_only() {
    let chain = chain_of(20, "courier-a");
    for which in 0..12 {
        let mut c = chain.clone();
        edit_field(&mut c[7], which);
        assert_eq!(kinds(&verify(&c)), vec![edited(7)], "field {which}");
    }
    // The stored hash itself overwritten: still one finding, at the record.
    let mut c = chain.clone();
    c[7].record_hash = sha("forged");
    assert_eq!(kinds(&verify(&c)), vec![edited(7)]);
}

#[test]
fn an_edit_with_a_recomputed_hash_is_named_by_the_next_record() {
    let chain = chain_of(20, "courier-a");
    for which in 0..11 {
        let mut c = chain.clone();
        edit_field(&mut c[7], which);
        c[7].record_hash = c[7].computed_hash();
        assert_eq!(
            kinds(&verify(&c)),
            vec![(
                7,
                BreakKind::Edited {
                    evidence: EditEvidence::NextRecordDisagrees { next_index: 8 }
                }
            )],
            "field {which}"
        );
    }
}

#[test]
fn deleted_records_are_reported_where_the_gap_is() {
    let chain = chain_of(20, "courier-a");
    let mut c = chain.clone();
    c.remove(7);
    // Index 7 now holds seq 9; seq 8 is gone.
    assert_eq!(
        kinds(&verify(&c)),
        vec![(
            7,
            BreakKind::Missing {
                first_seq: 8,
                last_seq: 8
            }
        )]
    );
    let mut c = chain.clone();
    c.drain(3..6);
    assert_eq!(
        kinds(&verify(&c)),
        vec![(
            3,
            BreakKind::Missing {
                first_seq: 4,
                last_seq: 6
            }
        )]
    );
    let mut c = chain.clone();
    c.remove(0);
    assert_eq!(
        kinds(&verify(&c)),
        vec![(
            0,
            BreakKind::Missing {
                first_seq: 1,
                last_seq: 1
            }
        )]
    );
    // Dropping the last record leaves a clean but shorter chain: only a head
    // known elsewhere shows it.
    let mut c = chain.clone();
    c.pop();
    let report = verify(&c);
    assert!(report.is_clean());
    assert_ne!(report.head, Some(chain[19].head()));
}

#[test]
fn swapped_records_are_reported_as_reordered() {
    let chain = chain_of(20, "courier-a");
    let mut c = chain.clone();
    c.swap(7, 8);
    assert_eq!(
        kinds(&verify(&c)),
        vec![(8, BreakKind::Reordered { after_seq: 9 })]
    );
    let mut c = chain.clone();
    c.swap(3, 12);
    let report = verify(&c);
    let at: Vec<usize> = report.findings.iter().map(|f| f.index).collect();
    assert_eq!(at, vec![3, 12], "{:?}", report.findings);
    assert!(
        report
            .findings
            .iter()
            .all(|f| matches!(f.kind, BreakKind::Reordered { .. }))
    );
}

#[test]
fn back_dated_captures_are_reported() {
    let courier = UserId::new("courier-a");
    // The HLC of record 5 is before record 4's (a modified app).
    let mut b = ChainBuilder::new(courier.clone());
    let mut chain = Vec::new();
    for k in 0..10 {
        let mut c = capture(k, "courier-a");
        if k == 5 {
            c.captured_at.wall_ms = T0 + 3 * 60_000 + 1;
        }
        chain.push(b.append(c).unwrap());
    }
    assert_eq!(
        kinds(&verify(&chain)),
        vec![(
            5,
            BreakKind::BackDated {
                evidence: BackDating::HlcBeforePrevious {
                    previous: chain[4].capture.captured_at
                }
            }
        )]
    );

    // The phone's clock set back by hand: the HLC keeps going forward (it
    // resumes from its last stamp), the device clock does not.
    for (back_ms, flagged) in [(10 * 60_000, true), (2 * 60_000, false)] {
        let mut b = ChainBuilder::new(courier.clone());
        let mut chain = Vec::new();
        for k in 0..10 {
            let mut c = capture(k, "courier-a");
            if k >= 5 {
                c.device_clock_ms -= back_ms + 60_000;
            }
            chain.push(b.append(c).unwrap());
        }
        let expected = if flagged {
            vec![(
                5,
                BreakKind::BackDated {
                    evidence: BackDating::DeviceClockBehind { behind_ms: back_ms },
                },
            )]
        } else {
            vec![]
        };
        assert_eq!(kinds(&verify(&chain)), expected, "{back_ms}");
    }
}

#[test]
fn duplicates_forks_and_foreign_records_are_named() {
    let chain = chain_of(10, "courier-a");
    let mut c = chain.clone();
    c.insert(5, chain[4].clone());
    assert_eq!(
        kinds(&verify(&c)),
        vec![(5, BreakKind::Duplicate { first_index: 4 })]
    );

    // A phone restored from a backup continues from an older head.
    let mut c = chain[..6].to_vec();
    let mut restored = ChainBuilder::resume(&chain[3]);
    let fork = restored.append(capture(40, "courier-a")).unwrap();
    assert_eq!(fork.seq, 5);
    c.push(fork);
    assert_eq!(
        kinds(&verify(&c)),
        vec![(6, BreakKind::Forked { other_index: 4 })]
    );

    let other = chain_of(3, "courier-b");
    let mut c = chain.clone();
    c.insert(6, other[1].clone());
    assert_eq!(
        kinds(&verify(&c)),
        vec![(
            6,
            BreakKind::ForeignRecord {
                courier: UserId::new("courier-b")
            }
        )]
    );
}

#[test]
fn mixed_couriers_are_verified_per_courier_with_indices_into_the_input() {
    let (a, b, c) = (
        chain_of(6, "courier-a"),
        chain_of(6, "courier-b"),
        chain_of(6, "courier-c"),
    );
    let mut all: Vec<ChainedRecord> = (0..6)
        .flat_map(|k| [a[k].clone(), b[k].clone(), c[k].clone()])
        .collect();
    let reports = verify_all(&all);
    assert_eq!(reports.len(), 3);
    assert!(reports.values().all(ChainReport::is_clean));

    // Remove courier b's third record (seq 3, at global index 7).
    all.remove(7);
    let at = all
        .iter()
        .position(|r| r.capture.record_id == b[3].capture.record_id)
        .unwrap();
    let reports = verify_all(&all);
    assert!(reports[&UserId::new("courier-a")].is_clean());
    assert!(reports[&UserId::new("courier-c")].is_clean());
    assert_eq!(
        kinds(&reports[&UserId::new("courier-b")]),
        vec![(
            at,
            BreakKind::Missing {
                first_seq: 3,
                last_seq: 3
            }
        )]
    );
}

#[test]
fn a_rewritten_history_is_caught_against_a_known_head() {
    let chain = chain_of(15, "courier-a");
    // The server verified records 1..=10 and kept the head.
    let known = chain[9].head();
    assert!(verify_after(&known, &chain[10..]).is_clean());

    // The device edits record 8 and rebuilds everything after it.
    let mut b = ChainBuilder::resume(&chain[6]);
    let mut c8 = chain[7].capture.clone();
    c8.photo_sha256 = Some(sha("swapped photo"));
    let mut rewritten = chain[..7].to_vec();
    rewritten.push(b.append(c8).unwrap());
    for r in &chain[8..] {
        rewritten.push(b.append(r.capture.clone()).unwrap());
    }
    assert!(verify(&rewritten).is_clean(), "self-consistent on its own");
    let report = verify_after(&known, &rewritten[10..]);
    assert_eq!(
        kinds(&report),
        vec![(
            0,
            BreakKind::AnchorMismatch {
                expected_prev_hash: known.record_hash.clone()
            }
        )]
    );
}

#[test]
fn the_builder_refuses_bad_input() {
    let mut b = ChainBuilder::new(UserId::new("courier-a"));
    assert!(matches!(
        b.append(capture(0, "courier-b")),
        Err(ChainError::ForeignCourier { .. })
    ));
    let mut c = capture(0, "courier-a");
    c.photo_sha256 = Some(sha("x").to_uppercase());
    assert!(matches!(
        b.append(c),
        Err(ChainError::BadHash {
            field: "photo_sha256",
            ..
        })
    ));
    let mut c = capture(0, "courier-a");
    c.order_id = OrderId::new("");
    assert_eq!(b.append(c), Err(ChainError::Empty("order_id")));
    let mut c = capture(0, "courier-a");
    c.gps = Some(GpsFix {
        lat_e6: 91_000_000,
        lon_e6: 0,
        accuracy_cm: 1,
    });
    assert!(matches!(b.append(c), Err(ChainError::BadGps { .. })));
    assert!(GpsFix::from_degrees(f64::NAN, 0.0, 1.0).is_err());
    // Nothing was appended by the refusals.
    assert_eq!(b.head(), &ChainHead::genesis());
    let g = GpsFix::from_degrees(60.171_049_6, 24.941_4, 8.504).unwrap();
    assert_eq!(
        (g.lat_e6, g.lon_e6, g.accuracy_cm),
        (60_171_050, 24_941_400, 850)
    );
}

#[test]
fn reports_serialise_and_read_well() {
    let mut c = chain_of(5, "courier-a");
    c.remove(2);
    let report = verify(&c);
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains(r#""kind":"missing""#), "{json}");
    assert_eq!(serde_json::from_str::<ChainReport>(&json).unwrap(), report);
    assert_eq!(
        report.findings[0].to_string(),
        "record #2 (seq 4, courier-a-pod-3): record seq 3 before it is missing"
    );
    let stored = serde_json::to_string(&c[0]).unwrap();
    assert_eq!(
        serde_json::from_str::<ChainedRecord>(&stored).unwrap(),
        c[0]
    );
}

/// One change to a stored chain.
#[derive(Clone, Debug)]
enum Mutation {
    Edit { k: usize, field: u8 },
    EditAndRehash { k: usize, field: u8 },
    OverwriteHash { k: usize },
    Delete { k: usize },
    Swap { i: usize, j: usize },
    Duplicate { k: usize, at: usize },
    InsertForeign { at: usize },
}

fn mutation(n: usize) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0..n, any::<u8>()).prop_map(|(k, field)| Mutation::Edit { k, field }),
        (0..n, 0u8..11).prop_map(|(k, field)| Mutation::EditAndRehash { k, field }),
        (0..n).prop_map(|k| Mutation::OverwriteHash { k }),
        (0..n).prop_map(|k| Mutation::Delete { k }),
        (0..n, 0..n)
            .prop_filter("two records", |(i, j)| i != j)
            .prop_map(|(i, j)| Mutation::Swap { i, j }),
        (0..n, 0..=n).prop_map(|(k, at)| Mutation::Duplicate { k, at }),
        (0..=n).prop_map(|at| Mutation::InsertForeign { at }),
    ]
}

fn random_chain(seeds: &[u64]) -> Vec<ChainedRecord> {
    let mut b = ChainBuilder::new(UserId::new("courier-a"));
    let mut clock = T0;
    seeds
        .iter()
        .enumerate()
        .map(|(k, &s)| {
            clock += i64::try_from(s % 3_600_000).unwrap();
            let mut c = capture(s % 1000, "courier-a");
            c.record_id = PodId::new(format!("pod-{k}"));
            c.captured_at.wall_ms = clock;
            c.captured_at.counter = u32::try_from(k).unwrap();
            c.device_clock_ms = clock;
            b.append(c).unwrap()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn any_single_change_to_a_chain_is_detected(
        (seeds, m) in prop::collection::vec(any::<u64>(), 2..30)
            .prop_flat_map(|seeds| {
                let n = seeds.len();
                (Just(seeds), mutation(n))
            }),
    ) {
        let chain = random_chain(&seeds);
        let original = verify(&chain);
        prop_assert!(original.is_clean(), "{:?}", original.findings);
        let mut c = chain.clone();
        let n = c.len();
        match m.clone() {
            Mutation::Edit { k, field } => edit_field(&mut c[k], field),
            Mutation::EditAndRehash { k, field } => {
                edit_field(&mut c[k], field);
                c[k].record_hash = c[k].computed_hash();
            }
            Mutation::OverwriteHash { k } => c[k].record_hash = sha("forged"),
            Mutation::Delete { k } => { c.remove(k); }
            Mutation::Swap { i, j } => c.swap(i, j),
            Mutation::Duplicate { k, at } => c.insert(at, chain[k].clone()),
            Mutation::InsertForeign { at } => {
                let other = chain_of(3, "courier-b");
                c.insert(at, other[1].clone());
            }
        }
        let report = verify(&c);
        // Changes to the last record (dropped, or re-hashed) show only
        // against the head the server knew.
        prop_assert!(
            !report.is_clean() || report.head != original.head,
            "{m:?} went unnoticed"
        );
        // A change inside the chain is named at the changed record.
        match m {
            Mutation::Edit { k, .. } | Mutation::OverwriteHash { k } => {
                prop_assert_eq!(kinds(&report), vec![edited(k)]);
            }
            Mutation::EditAndRehash { k, .. } if k + 1 < n => {
                prop_assert_eq!(report.findings.len(), 1);
                prop_assert_eq!(report.findings[0].index, k);
            }
            Mutation::Delete { k } if k + 1 < n => {
                prop_assert_eq!(report.findings.len(), 1);
                prop_assert_eq!(report.findings[0].index, k);
                let missing = matches!(report.findings[0].kind, BreakKind::Missing { .. });
                prop_assert!(missing);
            }
            _ => {}
        }
    }
}

//! Lifecycle tests: the concurrent cases of docs/merges.md as scenarios, and
//! every status x command x role x carrier type against a table of the rules.

use super::*;
use ruta_domain::order::tests::sample_spec;
use ruta_domain::{DeviceId, OrderId};

fn actor(user: &str, role: Role) -> Actor {
    Actor {
        user: UserId::new(user),
        role,
        device: DeviceId::new(format!("dev-{user}")),
    }
}

fn dispatcher() -> Actor {
    actor("dora", Role::Dispatcher)
}
fn courier_a() -> Actor {
    actor("aki", Role::Courier)
}
fn courier_b() -> Actor {
    actor("bea", Role::Courier)
}

fn at(ms: i64, who: &Actor) -> Hlc {
    Hlc {
        wall_ms: ms,
        counter: 0,
        node: ruta_domain::hlc::node_of(who.user.as_str()),
    }
}

const ORDER: &str = "order-1";

fn state_of(events: &[Event]) -> OrderState {
    derive(OrderId::new(ORDER), events.iter().cloned())
}

/// What `who` does at time `ms`, seeing only `known` events (their replica).
fn act(known: &[Event], who: &Actor, ms: i64, body: EventBody) -> Event {
    decide(&state_of(known), who, body, at(ms, who), None)
        .unwrap_or_else(|e| panic!("{:?} by {:?} refused: {e}", known.len(), who.role))
}

fn pod(id: &str) -> PodRecord {
    PodRecord {
        id: PodId::new(id),
        photo_sha256: Some(format!("sha-photo-{id}")),
        signature_sha256: Some(format!("sha-sig-{id}")),
        qr_verified: true,
        pin_verified: true,
        age_confirmed: true,
        chain: None,
    }
}

/// Created and assigned to courier A; the common start of the scenarios.
fn assigned_to_a() -> Vec<Event> {
    let d = dispatcher();
    let created = act(
        &[],
        &d,
        1_000,
        EventBody::Created {
            spec: sample_spec("R-1"),
        },
    );
    let assigned = act(
        std::slice::from_ref(&created),
        &d,
        2_000,
        EventBody::Assigned {
            courier: courier_a().user,
        },
    );
    vec![created, assigned]
}

/// Courier `c` picks up, captures a proof and delivers, offline, starting at `t`.
fn deliver_offline(known: &[Event], c: &Actor, t: i64, pod_id: &str) -> Vec<Event> {
    let mut mine = known.to_vec();
    for (dt, body) in [
        (0, EventBody::PickedUp),
        (10, EventBody::InTransit),
        (20, EventBody::PodCaptured { pod: pod(pod_id) }),
        (
            30,
            EventBody::Delivered {
                pods: vec![PodId::new(pod_id)],
                for_carrier: false,
            },
        ),
    ] {
        let e = act(&mine, c, t + dt, body);
        mine.push(e);
    }
    mine[known.len()..].to_vec()
}

fn open_kinds(s: &OrderState) -> Vec<ConflictKind> {
    s.open_conflicts().map(|c| c.kind).collect()
}

fn all_kept(s: &OrderState, events: &[Event]) {
    assert_eq!(
        s.timeline.len(),
        events.len(),
        "every event stays in the timeline"
    );
}

#[test]
fn delivered_offline_vs_cancelled_ends_delivered_with_an_open_conflict() {
    let base = assigned_to_a();
    // The cancellation lands before, between and after the courier's events.
    for cancel_at in [2_500, 5_015, 9_000] {
        let cancel = act(
            &base,
            &dispatcher(),
            cancel_at,
            EventBody::Cancelled {
                reason: "client called".into(),
            },
        );
        let courier = deliver_offline(&base, &courier_a(), 5_000, "p1");
        let mut all = base.clone();
        all.extend(courier);
        all.push(cancel);
        let s = state_of(&all);
        assert_eq!(s.status, DeliveryStatus::Delivered, "cancel at {cancel_at}");
        assert_eq!(
            open_kinds(&s),
            vec![ConflictKind::CancelledWhileCourierActed],
            "cancel at {cancel_at}"
        );
        assert!(
            s.open_conflicts().next().unwrap().against.is_some(),
            "points at the other side"
        );
        all_kept(&s, &all);
    }
}

#[test]
fn reassigned_while_first_courier_picked_up_offline_follows_the_parcel() {
    let base = assigned_to_a();
    for reassign_at in [2_500, 6_000] {
        let reassign = act(
            &base,
            &dispatcher(),
            reassign_at,
            EventBody::Assigned {
                courier: courier_b().user,
            },
        );
        let pickup = act(&base, &courier_a(), 5_000, EventBody::PickedUp);
        let mut all = base.clone();
        all.extend([reassign, pickup]);
        let s = state_of(&all);
        assert_eq!(s.status, DeliveryStatus::PickedUp);
        assert_eq!(
            s.assignee,
            Some(courier_a().user),
            "the courier holding the parcel"
        );
        let kinds = open_kinds(&s);
        assert_eq!(kinds.len(), 1, "{kinds:?}");
        assert!(
            matches!(
                kinds[0],
                ConflictKind::ActedAfterReassignment | ConflictKind::ReassignedAfterPickup
            ),
            "{kinds:?}"
        );
        all_kept(&s, &all);
    }
}

#[test]
fn two_couriers_claiming_the_earlier_claim_wins_and_the_loser_is_told() {
    let created = act(
        &[],
        &dispatcher(),
        1_000,
        EventBody::Created {
            spec: sample_spec("R-1"),
        },
    );
    let base = vec![created];
    let claim_a = act(&base, &courier_a(), 3_000, EventBody::Claimed);
    let claim_b = act(&base, &courier_b(), 3_001, EventBody::Claimed);
    let mut all = base.clone();
    all.extend([claim_b.clone(), claim_a.clone()]);
    let s = state_of(&all);
    assert_eq!(s.assignee, Some(courier_a().user));
    assert_eq!(open_kinds(&s), vec![ConflictKind::ClaimLost]);
    assert_eq!(s.open_conflicts().next().unwrap().id, claim_b.id());
}

#[test]
fn two_pods_for_one_stop_are_never_merged() {
    let base = assigned_to_a();
    // The same courier on two devices, both offline.
    let phone = deliver_offline(&base, &courier_a(), 5_000, "p-phone");
    let tablet_actor = Actor {
        device: DeviceId::new("tablet"),
        ..courier_a()
    };
    let tablet = deliver_offline(&base, &tablet_actor, 5_001, "p-tablet");
    let mut all = base.clone();
    all.extend(phone);
    all.extend(tablet);
    let s = state_of(&all);
    assert_eq!(s.status, DeliveryStatus::Delivered);
    assert_eq!(s.pods.len(), 2, "both proofs are kept as separate records");
    let (_, used) = s.delivery.clone().unwrap();
    assert_eq!(
        used,
        vec![PodId::new("p-phone")],
        "the delivery that counts uses only its own proof"
    );
    assert!(open_kinds(&s).contains(&ConflictKind::DuplicateDelivery));
}

#[test]
fn address_edits_en_route_apply_and_concurrent_edits_are_surfaced() {
    let base = assigned_to_a();
    let mut en_route = base.clone();
    en_route.push(act(&en_route, &courier_a(), 3_000, EventBody::PickedUp));
    en_route.push(act(&en_route, &courier_a(), 3_100, EventBody::InTransit));
    let mut new_stop = sample_spec("R-1").dropoff;
    new_stop.address.line1 = "Bulevardi 14".into();
    let edit = act(
        &en_route,
        &dispatcher(),
        4_000,
        EventBody::Edited {
            edit: Edit::Dropoff(new_stop.clone()),
            previous: None,
        },
    );
    let mut other_stop = new_stop.clone();
    other_stop.address.line1 = "Annankatu 25".into();
    let other = act(
        &en_route,
        &actor("otto", Role::Dispatcher),
        4_500,
        EventBody::Edited {
            edit: Edit::Dropoff(other_stop),
            previous: None,
        },
    );
    let mut all = en_route.clone();
    all.extend([edit, other]);
    let s = state_of(&all);
    assert_eq!(
        s.spec.as_ref().unwrap().dropoff.address.line1,
        "Annankatu 25",
        "later edit wins"
    );
    assert_eq!(s.status, DeliveryStatus::InTransit);
    let kinds = open_kinds(&s);
    assert!(
        kinds.contains(&ConflictKind::AddressChangedEnRoute),
        "{kinds:?}"
    );
    assert!(kinds.contains(&ConflictKind::ConcurrentEdit), "{kinds:?}");
}

#[test]
fn cod_changed_after_collection_keeps_both_amounts_visible() {
    let d = dispatcher();
    let mut spec = sample_spec("R-1");
    spec.cod_cents = 2_500;
    let created = act(&[], &d, 1_000, EventBody::Created { spec });
    let assigned = act(
        std::slice::from_ref(&created),
        &d,
        2_000,
        EventBody::Assigned {
            courier: courier_a().user,
        },
    );
    let mut base = vec![created, assigned];
    base.push(act(&base, &courier_a(), 3_000, EventBody::PickedUp));
    for (set_at, expect) in [
        (3_500, ConflictKind::CodAmountMismatch),
        (4_500, ConflictKind::CodChangedAfterCollection),
    ] {
        let collect = act(
            &base,
            &courier_a(),
            4_000,
            EventBody::CodCollected { cents: 2_500 },
        );
        let set = act(&base, &d, set_at, EventBody::CodSet { cents: 3_000 });
        let mut all = base.clone();
        all.extend([collect, set]);
        let s = state_of(&all);
        assert_eq!(s.spec.as_ref().unwrap().cod_cents, 3_000);
        assert_eq!(s.cod_collected, Some(2_500));
        assert_eq!(open_kinds(&s), vec![expect]);
    }
}

#[test]
fn a_dispatcher_resolves_a_conflict_and_it_closes_everywhere() {
    let base = assigned_to_a();
    let cancel = act(
        &base,
        &dispatcher(),
        2_500,
        EventBody::Cancelled { reason: "x".into() },
    );
    let mut all = base.clone();
    all.extend(deliver_offline(&base, &courier_a(), 5_000, "p1"));
    all.push(cancel);
    let s = state_of(&all);
    let conflict = s.open_conflicts().next().unwrap().id.clone();
    all.push(act(
        &all,
        &dispatcher(),
        10_000,
        EventBody::ConflictResolved {
            conflict,
            note: "delivery stands".into(),
        },
    ));
    let s = state_of(&all);
    assert_eq!(s.open_conflicts().count(), 0);
    assert_eq!(s.conflicts.len(), 1, "resolved conflicts stay on record");
}

#[test]
fn events_from_a_modified_client_are_rejected_and_change_nothing() {
    let base = assigned_to_a();
    let before = state_of(&base);
    let forge = |who: Actor, body: EventBody| Event {
        at: at(9_000, &who),
        actor: who,
        seen: before.seen(),
        location: None,
        body,
    };
    let forged = vec![
        forge(courier_a(), EventBody::PriceSet { cents: 1 }),
        forge(courier_a(), EventBody::CodSet { cents: 0 }),
        forge(courier_b(), EventBody::PickedUp),
        forge(
            courier_a(),
            EventBody::Assigned {
                courier: courier_b().user,
            },
        ),
        forge(
            actor("cleo", Role::Client),
            EventBody::Cancelled {
                reason: "not mine".into(),
            },
        ),
        forge(
            dispatcher(),
            EventBody::Created {
                spec: sample_spec("R-2"),
            },
        ),
    ];
    for e in forged {
        let mut all = base.clone();
        all.push(e.clone());
        let s = state_of(&all);
        assert_eq!(s.status, before.status, "{:?}", e.body.kind());
        assert_eq!(s.assignee, before.assignee);
        assert_eq!(s.spec, before.spec);
        assert_eq!(s.rejected().count(), 1, "{:?} is reported", e.body.kind());
        assert!(s.open_conflicts().next().is_none());
    }
}

#[test]
fn delivery_needs_its_proofs_and_a_pickup() {
    let base = assigned_to_a();
    let c = courier_a();
    // No pickup yet.
    let err = decide(
        &state_of(&base),
        &c,
        EventBody::Delivered {
            pods: vec![],
            for_carrier: false,
        },
        at(3_000, &c),
        None,
    );
    assert!(
        matches!(err, Err(Refusal::InvalidTransition { .. })),
        "{err:?}"
    );
    let mut known = base.clone();
    known.push(act(&known, &c, 3_000, EventBody::PickedUp));
    let err = decide(
        &state_of(&known),
        &c,
        EventBody::Delivered {
            pods: vec![],
            for_carrier: false,
        },
        at(3_100, &c),
        None,
    );
    assert_eq!(
        err.unwrap_err(),
        Refusal::PodMissing {
            missing: vec![ProofKind::Photo]
        }
    );
    let unknown = decide(
        &state_of(&known),
        &c,
        EventBody::Delivered {
            pods: vec![PodId::new("ghost")],
            for_carrier: false,
        },
        at(3_100, &c),
        None,
    );
    assert!(matches!(unknown, Err(Refusal::Invalid { .. })));
    known.push(act(
        &known,
        &c,
        3_200,
        EventBody::PodCaptured { pod: pod("p1") },
    ));
    known.push(act(
        &known,
        &c,
        3_300,
        EventBody::Delivered {
            pods: vec![PodId::new("p1")],
            for_carrier: false,
        },
    ));
    assert_eq!(state_of(&known).status, DeliveryStatus::Delivered);
}

#[test]
fn derivation_ignores_arrival_order_and_duplicates() {
    let base = assigned_to_a();
    let mut all = base.clone();
    all.extend(deliver_offline(&base, &courier_a(), 5_000, "p1"));
    let reference = state_of(&all);
    let mut shuffled = all.clone();
    shuffled.reverse();
    shuffled.extend(all.iter().take(3).cloned());
    assert_eq!(state_of(&shuffled), reference);
}

// ---- every status x command x role x carrier -------------------------------------

/// The rules restated as data, from docs/merges.md: which roles may make an
/// event of each kind, per carrier type.
fn expected_permission(kind: Kind, role: Role, carrier: CarrierType) -> bool {
    use CarrierType::*;
    use Role::*;
    let op = matches!(role, Dispatcher | Admin);
    match kind {
        Kind::Created => false, // the order exists in every state of the table
        Kind::Edited | Kind::Cancelled => op || role == Client,
        Kind::NoteAdded => true,
        Kind::PriceSet
        | Kind::CodSet
        | Kind::Assigned
        | Kind::Unassigned
        | Kind::Reopened
        | Kind::ConflictResolved => op,
        Kind::Claimed => role == Courier && carrier == Internal,
        Kind::Accepted | Kind::Declined => role == Courier && carrier != External,
        Kind::PickedUp | Kind::AttemptFailed | Kind::PodCaptured => {
            if carrier == External {
                op
            } else {
                role == Courier
            }
        }
        Kind::InTransit => match carrier {
            External => op,
            Hybrid => op || role == Courier,
            Internal | Prime => role == Courier,
        },
        Kind::ReceivedAtHub => op || (role == Courier && carrier != External),
        Kind::Returned => op || (role == Courier && carrier != External),
        Kind::Delivered => match carrier {
            Internal | Prime => role == Courier,
            External | Hybrid => op,
        },
        Kind::CodCollected => match carrier {
            Internal => role == Courier,
            External => op,
            Prime | Hybrid => false,
        },
    }
}

/// The statuses an event of each kind may start from (for the canonical
/// body), on an order of `order_type` carried by `carrier`.
fn expected_from(
    kind: Kind,
    role: Role,
    order_type: OrderType,
    carrier: CarrierType,
) -> Vec<DeliveryStatus> {
    use DeliveryStatus::*;
    let op = role.is_operator();
    let through_hub = matches!(order_type, OrderType::Pickup | OrderType::PickupAndDelivery);
    match kind {
        Kind::Created => vec![],
        Kind::Edited if role == Role::Client => vec![Pending, Assigned],
        Kind::Edited => vec![Pending, Assigned, PickedUp, InTransit, AttemptFailed, AtHub],
        Kind::PriceSet | Kind::CodSet => vec![
            Pending,
            Assigned,
            PickedUp,
            InTransit,
            AttemptFailed,
            Delivered,
            Returned,
            AtHub,
        ],
        Kind::Assigned => vec![Pending, Assigned, AtHub],
        Kind::Unassigned | Kind::Accepted | Kind::Declined => vec![Assigned],
        Kind::Claimed => vec![Pending, AtHub],
        Kind::PickedUp => vec![Assigned],
        // At a hub nobody carries the parcel; only an operator hands a hybrid
        // order to its last-leg carrier.
        Kind::InTransit if op && carrier == CarrierType::Hybrid => {
            vec![PickedUp, AttemptFailed, AtHub]
        }
        Kind::InTransit => vec![PickedUp, AttemptFailed],
        Kind::Delivered if order_type == OrderType::Pickup => vec![],
        Kind::Delivered | Kind::AttemptFailed => vec![PickedUp, InTransit],
        Kind::ReceivedAtHub if through_hub => vec![PickedUp, InTransit],
        Kind::ReceivedAtHub => vec![],
        Kind::Returned if op => vec![PickedUp, InTransit, AttemptFailed, AtHub],
        Kind::Returned => vec![PickedUp, InTransit, AttemptFailed],
        Kind::Cancelled if role == Role::Client => vec![Pending],
        Kind::Cancelled => vec![Pending, Assigned],
        Kind::Reopened => vec![Cancelled],
        Kind::PodCaptured | Kind::CodCollected => {
            vec![PickedUp, InTransit, AttemptFailed, Delivered]
        }
        Kind::ConflictResolved | Kind::NoteAdded => DeliveryStatus::ALL.to_vec(),
    }
}

/// The hub of the table's orders.
fn hub() -> Stop {
    let mut stop = sample_spec("R-hub").dropoff;
    stop.warehouse = Some(ruta_domain::WarehouseId::new("wh-1"));
    stop
}

/// A spec of `order_type` with the warehouses its type needs.
fn spec_of(order_type: OrderType) -> OrderSpec {
    let mut spec = sample_spec("R-1");
    spec.order_type = order_type;
    match order_type {
        OrderType::Pickup => spec.dropoff = hub(),
        OrderType::Delivery => spec.pickup = hub(),
        OrderType::OnDemand | OrderType::PickupAndDelivery => {}
    }
    spec
}

/// An order in `status` carried by `carrier`, assigned to courier A from
/// Assigned on, with one open conflict, owned by client "cleo".
/// At a hub the parcel is staged there and nobody carries it (courier A carried
/// the first leg).
fn state_in(status: DeliveryStatus, carrier: CarrierType, order_type: OrderType) -> OrderState {
    use DeliveryStatus::*;
    let mut spec = spec_of(order_type);
    spec.carrier = carrier;
    spec.client = Some(UserId::new("cleo"));
    let mut s = OrderState::empty(OrderId::new(ORDER));
    s.spec = Some(spec);
    s.status = status;
    if !matches!(status, Pending) {
        s.assignee = Some(courier_a().user);
        s.involved.insert(courier_a().user);
    }
    if status == AtHub {
        s.assignee = None;
        s.staged = Some(hub());
    }
    if matches!(
        status,
        PickedUp | InTransit | AttemptFailed | Delivered | Returned | AtHub
    ) {
        s.picked_up_at = Some(at(1, &courier_a()));
        s.pods.push(CapturedPod {
            record: pod("p-existing"),
            at: None,
            by: None,
            location: None,
        });
    }
    s.conflicts.push(Conflict {
        id: "c1".into(),
        kind: ConflictKind::StatusChangedConcurrently,
        against: None,
        opened_at: Hlc::ZERO,
        resolved: None,
    });
    s
}

fn canonical(kind: Kind, role: Role) -> EventBody {
    match kind {
        Kind::Created => EventBody::Created {
            spec: sample_spec("R-9"),
        },
        Kind::Edited => EventBody::Edited {
            edit: Edit::Notes("gate code 1234".into()),
            previous: None,
        },
        Kind::PriceSet => EventBody::PriceSet { cents: 1_200 },
        Kind::CodSet => EventBody::CodSet { cents: 0 },
        Kind::Assigned => EventBody::Assigned {
            courier: courier_b().user,
        },
        Kind::Unassigned => EventBody::Unassigned,
        Kind::Claimed => EventBody::Claimed,
        Kind::Accepted => EventBody::Accepted,
        Kind::Declined => EventBody::Declined {
            reason: "bike broke".into(),
        },
        Kind::PickedUp => EventBody::PickedUp,
        Kind::InTransit => EventBody::InTransit,
        Kind::Delivered => EventBody::Delivered {
            pods: vec![PodId::new("p-existing")],
            for_carrier: role.is_operator(),
        },
        Kind::AttemptFailed => EventBody::AttemptFailed {
            reason: "nobody home".into(),
        },
        Kind::Returned => EventBody::Returned {
            reason: "refused".into(),
        },
        Kind::Cancelled => EventBody::Cancelled {
            reason: "client request".into(),
        },
        Kind::Reopened => EventBody::Reopened,
        Kind::PodCaptured => EventBody::PodCaptured { pod: pod("p-new") },
        Kind::CodCollected => EventBody::CodCollected { cents: 0 },
        Kind::ConflictResolved => EventBody::ConflictResolved {
            conflict: "c1".into(),
            note: "ok".into(),
        },
        Kind::NoteAdded => EventBody::NoteAdded {
            text: "called the client".into(),
        },
        Kind::ReceivedAtHub => EventBody::ReceivedAtHub { hub: hub() },
    }
}

#[test]
fn every_status_command_role_carrier_and_order_type_follows_the_table() {
    let mut checked = 0;
    let mut allowed = 0;
    let mut mismatches = Vec::new();
    for order_type in OrderType::ALL {
        for status in DeliveryStatus::ALL {
            // Only a pickup & delivery order waits at a hub between legs.
            if status == DeliveryStatus::AtHub && order_type != OrderType::PickupAndDelivery {
                continue;
            }
            for carrier in CarrierType::ALL {
                let state = state_in(status, carrier, order_type);
                for kind in Kind::ALL {
                    for role in Role::ALL {
                        let who = match role {
                            Role::Courier => courier_a(),
                            Role::Client => actor("cleo", Role::Client),
                            Role::Dispatcher => dispatcher(),
                            Role::Admin => actor("ada", Role::Admin),
                        };
                        let body = canonical(kind, role);
                        assert_eq!(body.kind(), kind);
                        let expect = expected_permission(kind, role, carrier)
                            && expected_from(kind, role, order_type, carrier).contains(&status);
                        let got = decide(&state, &who, body, at(50_000, &who), None);
                        checked += 1;
                        allowed += usize::from(got.is_ok());
                        if got.is_ok() != expect {
                            mismatches.push(format!("{order_type:?} {status:?} {carrier:?} {kind:?} {role:?}: expected {expect}, got {got:?}"));
                        }
                        // A refused command says why, and never as a "concurrent" answer.
                        if let Err(e) = &got {
                            assert!(
                                !matches!(e, Refusal::Concurrent(_)),
                                "{status:?} {kind:?} {role:?}: {e}"
                            );
                        }
                    }
                }
            }
        }
    }
    // 8 statuses for every type, and At Hub for pickup & delivery.
    assert_eq!(checked, (8 * 4 + 1) * 4 * Kind::ALL.len() * 4);
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(
        allowed > 1_000,
        "the table is not vacuous: {allowed} allowed"
    );
}

#[test]
fn the_next_stop_is_the_pickup_until_the_parcel_is_on_board() {
    use DeliveryStatus::*;
    use app_api::StopKind;
    for (status, want) in [
        (Pending, StopKind::Pickup),
        (Assigned, StopKind::Pickup),
        (PickedUp, StopKind::Dropoff),
        (InTransit, StopKind::Dropoff),
        (AttemptFailed, StopKind::Dropoff),
        (Delivered, StopKind::Dropoff),
        (Returned, StopKind::Dropoff),
        (Cancelled, StopKind::Dropoff),
        // Staged at a hub, the last leg's pickup is the hub.
        (AtHub, StopKind::Pickup),
    ] {
        assert_eq!(Work::next_stop(status), want, "{status:?}");
    }
    assert_eq!(
        DeliveryStatus::ALL.len(),
        9,
        "a new status needs a row here"
    );
}

#[test]
fn documents_and_invoice_numbers_exist_for_delivered_orders_only() {
    for status in DeliveryStatus::ALL {
        let mut s = OrderState::empty(OrderId::new("o1"));
        s.spec = Some(sample_spec("R-1"));
        s.status = status;
        let delivered = status == DeliveryStatus::Delivered;
        assert_eq!(documents_available(&s), delivered, "{status:?}");
        assert_eq!(invoice_due(&s), delivered, "{status:?}");
        assert_eq!(billed(status), status != DeliveryStatus::Cancelled);
    }
    // No spec: no order, no documents.
    let mut s = OrderState::empty(OrderId::new("o2"));
    s.status = DeliveryStatus::Delivered;
    assert!(!documents_available(&s));
}

#[test]
fn an_order_is_due_until_it_is_delivered_returned_or_cancelled() {
    use DeliveryStatus::*;
    for s in DeliveryStatus::ALL {
        let due = Work::is_due(s);
        assert_eq!(due, !matches!(s, Delivered | Returned | Cancelled), "{s:?}");
        // Open work is always due; only unassigned orders are due without being anyone's work.
        assert!(!Work::open_statuses().contains(&s) || due, "{s:?}");
    }
}

// ---- order types: the hub's part in an order -------------------------------------

/// An order of `order_type` (carried by `carrier`) created, assigned to courier
/// A and picked up by A.
fn picked_up_by_a(order_type: OrderType, carrier: CarrierType) -> Vec<Event> {
    let d = dispatcher();
    let mut spec = spec_of(order_type);
    spec.carrier = carrier;
    let mut all = vec![act(&[], &d, 1_000, EventBody::Created { spec })];
    let assigned = act(
        &all,
        &d,
        2_000,
        EventBody::Assigned {
            courier: courier_a().user,
        },
    );
    all.push(assigned);
    let picked = act(&all, &courier_a(), 3_000, EventBody::PickedUp);
    all.push(picked);
    all
}

fn received(known: &[Event], who: &Actor, ms: i64) -> Event {
    act(known, who, ms, EventBody::ReceivedAtHub { hub: hub() })
}

#[test]
fn a_pickup_order_completes_when_its_hub_receives_it() {
    let mut all = picked_up_by_a(OrderType::Pickup, CarrierType::Internal);
    let s = state_of(&all);
    // The courier cannot "deliver" it: the hub's receipt completes it.
    let refused = decide(
        &s,
        &courier_a(),
        EventBody::Delivered {
            pods: vec![],
            for_carrier: false,
        },
        at(4_000, &courier_a()),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(&refused, Refusal::Invalid { field, .. } if field == "order_type"),
        "{refused:?}"
    );
    // Only at its own hub.
    let mut elsewhere = hub();
    elsewhere.warehouse = Some(ruta_domain::WarehouseId::new("wh-2"));
    let wrong = decide(
        &s,
        &dispatcher(),
        EventBody::ReceivedAtHub { hub: elsewhere },
        at(4_000, &dispatcher()),
        None,
    )
    .unwrap_err();
    assert!(wrong.to_string().contains("wh-1"), "{wrong}");
    let receipt = received(&all, &dispatcher(), 5_000);
    all.push(receipt.clone());
    let s = state_of(&all);
    assert_eq!(s.status, DeliveryStatus::Delivered);
    assert_eq!(
        s.assignee, None,
        "the hub holds the parcel, not the courier"
    );
    assert_eq!(s.delivery.as_ref().map(|d| d.0.clone()), Some(receipt.id()));
    assert!(
        documents_available(&s),
        "a completed pickup order is invoiced"
    );
    assert!(s.staged.is_none(), "a pickup order has no last leg");
    assert!(!Work::is_due(s.status));
}

#[test]
fn a_delivery_order_is_never_received_at_a_hub() {
    for order_type in [OrderType::Delivery, OrderType::OnDemand] {
        let all = picked_up_by_a(order_type, CarrierType::Internal);
        let e = decide(
            &state_of(&all),
            &dispatcher(),
            EventBody::ReceivedAtHub { hub: hub() },
            at(5_000, &dispatcher()),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(&e, Refusal::Invalid { field, .. } if field == "order_type"),
            "{order_type:?}: {e:?}"
        );
    }
}

#[test]
fn a_pickup_and_delivery_order_staged_at_a_hub_follows_its_two_legs() {
    let d = dispatcher();
    let mut all = picked_up_by_a(OrderType::PickupAndDelivery, CarrierType::Internal);
    all.push(received(&all, &d, 5_000));
    let s = state_of(&all);
    assert_eq!(s.status, DeliveryStatus::AtHub);
    assert_eq!(s.assignee, None);
    assert_eq!(
        Work::of(s.status),
        Work::Unassigned,
        "the last leg is nobody's work yet"
    );
    let leg = s.leg_spec().unwrap();
    assert_eq!(leg.pickup, hub(), "the last leg starts at the hub");
    assert_eq!(leg.dropoff, s.spec.as_ref().unwrap().dropoff);
    // A parcel at the hub is returned, not cancelled.
    assert!(
        decide(
            &s,
            &d,
            EventBody::Cancelled { reason: "x".into() },
            at(5_500, &d),
            None
        )
        .is_err()
    );
    // Assigned to B and unassigned again, it waits at the hub (not as a new order).
    let assign_b = act(
        &all,
        &d,
        6_000,
        EventBody::Assigned {
            courier: courier_b().user,
        },
    );
    all.push(assign_b);
    all.push(act(&all, &d, 6_100, EventBody::Unassigned));
    assert_eq!(state_of(&all).status, DeliveryStatus::AtHub);
    assert!(
        decide(
            &state_of(&all),
            &d,
            EventBody::Cancelled { reason: "x".into() },
            at(6_150, &d),
            None
        )
        .is_err(),
        "assigned or not, a staged parcel is not cancelled"
    );
    let assign_b = act(
        &all,
        &d,
        6_200,
        EventBody::Assigned {
            courier: courier_b().user,
        },
    );
    all.push(assign_b);
    // Courier A (first leg) cannot touch the last leg.
    assert!(
        decide(
            &state_of(&all),
            &courier_a(),
            EventBody::PickedUp,
            at(6_300, &courier_a()),
            None
        )
        .is_err()
    );
    let last_leg = deliver_offline(&all, &courier_b(), 7_000, "p-b");
    all.extend(last_leg);
    let s = state_of(&all);
    assert_eq!(s.status, DeliveryStatus::Delivered);
    assert_eq!(s.assignee, Some(courier_b().user));
    assert!(s.staged.is_none(), "the last leg left the hub");
    assert_eq!(
        s.involved,
        [courier_a().user, courier_b().user].into_iter().collect()
    );
    assert!(s.open_conflicts().next().is_none(), "{:?}", s.conflicts);
}

#[test]
fn a_hybrid_order_goes_from_the_hub_to_its_carrier() {
    let d = dispatcher();
    let mut all = picked_up_by_a(OrderType::PickupAndDelivery, CarrierType::Hybrid);
    // The courier drops the parcel at an unstaffed hub: it does not follow them.
    all.push(received(&all, &courier_a(), 5_000));
    let s = state_of(&all);
    assert_eq!(
        (s.status, s.assignee.clone()),
        (DeliveryStatus::AtHub, None)
    );
    all.push(act(&all, &d, 6_000, EventBody::InTransit));
    assert_eq!(state_of(&all).status, DeliveryStatus::InTransit);
    all.push(act(
        &all,
        &d,
        7_000,
        EventBody::Delivered {
            pods: vec![],
            for_carrier: true,
        },
    ));
    assert_eq!(state_of(&all).status, DeliveryStatus::Delivered);
}

#[test]
fn a_hub_receipt_and_an_offline_delivery_of_the_same_parcel_keep_the_earlier_fact() {
    let base = picked_up_by_a(OrderType::PickupAndDelivery, CarrierType::Internal);
    // The courier, offline, delivers at 4_000 (before) or 6_000 (after) the
    // hub's receipt at 5_000; neither saw the other.
    for (courier_at, want) in [
        (4_000, DeliveryStatus::Delivered),
        (6_000, DeliveryStatus::AtHub),
    ] {
        let receipt = received(&base, &dispatcher(), 5_000);
        let mut courier = deliver_offline_from_picked_up(&base, courier_at);
        let mut all = base.clone();
        all.append(&mut courier);
        all.push(receipt);
        let s = state_of(&all);
        assert_eq!(s.status, want, "courier at {courier_at}");
        assert!(
            open_kinds(&s).contains(&ConflictKind::StatusChangedConcurrently),
            "courier at {courier_at}: {:?}",
            open_kinds(&s)
        );
        all_kept(&s, &all);
        // Any arrival order gives the same state.
        let mut reversed = all.clone();
        reversed.reverse();
        assert_eq!(state_of(&reversed), s);
    }
}

/// Courier A, already holding the parcel, goes on to deliver it offline.
fn deliver_offline_from_picked_up(known: &[Event], t: i64) -> Vec<Event> {
    let c = courier_a();
    let mut mine = known.to_vec();
    for (dt, body) in [
        (10, EventBody::InTransit),
        (20, EventBody::PodCaptured { pod: pod("p-a") }),
        (
            30,
            EventBody::Delivered {
                pods: vec![PodId::new("p-a")],
                for_carrier: false,
            },
        ),
    ] {
        let e = act(&mine, &c, t + dt, body);
        mine.push(e);
    }
    mine[known.len()..].to_vec()
}

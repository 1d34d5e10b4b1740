//! Property test: random concurrent schedules over three replicas — a
//! dispatcher and two couriers, each a `Core` with its own SQLite file and its
//! own skewed clock — with random partitions and merge orders.
//!
//! After everyone finally syncs, every replica must show identical derived
//! state and identical query results, no invariant may be broken, and every
//! event any replica ever wrote must be in every replica's timeline.
//! `PROPTEST_CASES` sets the number of schedules (64 by default here);
//! `RUTA_CONVERGENCE_STATS=1` prints each order's final status and hub
//! receipts (order 0 is a pickup & delivery order that may be staged at the
//! hub, order 1 a pickup order completed there).

use std::collections::BTreeSet;
use std::sync::Arc;

use app_core::Core;
use app_core::api::config::{ConfigChange, Warehouse};
use app_core::api::{
    Action, CapturePodRequest, NewOrder, OrderQuery, Request, Response, Role, SignatureInput,
    StrokePoint,
};
use app_core::clock::ManualClock;
use app_core::domain::OrderId;
use app_core::lifecycle::{DeliveryStatus, OrderState, Verdict, missing_proofs};
use proptest::prelude::*;

const REPLICAS: usize = 3; // 0 dispatcher, 1 courier aki, 2 courier bea
const ORDERS: usize = 2;

#[derive(Clone, Debug)]
enum Step {
    /// Replica `who` tries action number `what` (of its role's list) on order `order`.
    Act { who: usize, order: usize, what: u8 },
    /// Replica `from` sends all its documents to `to`, if the link between them is up.
    Sync { from: usize, to: usize },
    /// The link between two replicas goes down or comes back.
    Toggle { link: usize },
    /// Time passes on every clock.
    Wait { ms: u16 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0..REPLICAS, 0..ORDERS, 0u8..36).prop_map(|(who, order, what)| Step::Act { who, order, what }),
        3 => (0..REPLICAS, 0..REPLICAS).prop_filter("distinct", |(a, b)| a != b)
            .prop_map(|(from, to)| Step::Sync { from, to }),
        1 => (0..3usize).prop_map(|link| Step::Toggle { link }),
        1 => (1u16..5_000).prop_map(|ms| Step::Wait { ms }),
    ]
}

/// What one person does to an order: an action, or a proof captured at the
/// door (through `CapturePod`, the only way a device records one).
#[derive(Clone, Debug)]
enum Intent {
    Act(Action),
    Sign,
}

/// The recipient's signature on a courier's phone.
fn signature() -> SignatureInput {
    SignatureInput {
        width: 300.0,
        height: 120.0,
        strokes: vec![
            (0..24)
                .map(|i| StrokePoint {
                    x: 10.0 + i as f32 * 11.0,
                    y: 60.0 + (i as f32 * 0.5).sin() * 25.0,
                    t_ms: i * 15,
                })
                .collect(),
        ],
    }
}

/// The proofs `me` captured on the order (what their delivery cites).
fn pods_by(s: &OrderState, me: &str) -> Vec<String> {
    s.pods
        .iter()
        .filter(|p| p.by.as_ref().is_some_and(|a| a.user.as_str() == me))
        .map(|p| p.record.id.to_string())
        .collect()
}

struct World {
    _dirs: Vec<tempfile::TempDir>,
    cores: Vec<Core>,
    clocks: Vec<Arc<ManualClock>>,
    orders: Vec<String>,
    links_up: [bool; 3],
    written: BTreeSet<String>,
    pod_seq: u32,
}

fn link_of(a: usize, b: usize) -> usize {
    match (a.min(b), a.max(b)) {
        (0, 1) => 0,
        (0, 2) => 1,
        _ => 2,
    }
}

impl World {
    fn new() -> Self {
        let base = 1_800_000_000_000;
        // Skewed clocks: a courier's phone is 5 s slow, the other 3 s fast.
        let clocks: Vec<_> = [0, -5_000, 3_000]
            .iter()
            .map(|skew| Arc::new(ManualClock::new(base + skew)))
            .collect();
        let dirs: Vec<_> = (0..REPLICAS)
            .map(|_| tempfile::tempdir().unwrap())
            .collect();
        let cores: Vec<Core> = dirs
            .iter()
            .zip(&clocks)
            .map(|(d, c)| Core::open_with_clock(d.path(), c.clone()).unwrap())
            .collect();
        let people = [
            ("dora", Role::Dispatcher),
            ("aki", Role::Courier),
            ("bea", Role::Courier),
        ];
        for (core, (user, role)) in cores.iter().zip(people) {
            // Every device knows the hub (as the tenant's configuration would tell it).
            core.set_session("ada", Role::Admin).unwrap();
            core.execute(Request::ChangeConfig(ConfigChange::PutWarehouse(
                Warehouse {
                    id: "hub-1".into(),
                    name: "Hub".into(),
                    address: "Mäkelänkatu 50".into(),
                    position: app_core::api::Point {
                        lat: 60.1945,
                        lon: 24.951,
                    },
                    uses: Default::default(),
                    opening_hours: String::new(),
                },
            )))
            .unwrap();
            core.set_session(user, role).unwrap();
        }
        let mut orders = Vec::new();
        for i in 0..ORDERS {
            let mut new = NewOrder::simple(
                &format!("Customer {i}"),
                "Aleksanterinkatu 52",
                "Fredrikinkatu 34",
            );
            new.pod.signature = true;
            new.cod_cents = if i == 0 { 2_500 } else { 0 };
            // Order 0 may be staged at the hub; order 1 is a pickup order for it.
            if i == 1 {
                new.order_type = app_core::api::OrderType::Pickup;
                new.dropoff_warehouse = Some("hub-1".into());
            }
            let Response::Order(o) = cores[0].execute(Request::CreateOrder(new)).unwrap() else {
                panic!()
            };
            orders.push(o.id);
        }
        let mut world = World {
            _dirs: dirs,
            cores,
            clocks,
            orders,
            links_up: [true; 3],
            written: BTreeSet::new(),
            pod_seq: 0,
        };
        world.record(0);
        world
    }

    fn record(&mut self, who: usize) {
        let device = self.cores[who].device_id();
        for id in &self.orders {
            if let Ok(state) = self.cores[who].order_state(&OrderId::new(id.clone())) {
                for t in &state.timeline {
                    if t.event.actor.device.as_str() == device {
                        self.written.insert(t.event.id());
                    }
                }
            }
        }
    }

    fn sync(&self, from: usize, to: usize) {
        for id in self.cores[from].doc_ids().unwrap() {
            let id = OrderId::new(id);
            let bytes = self.cores[from].doc_bytes(&id).unwrap();
            self.cores[to].merge_remote(&id, &bytes).unwrap();
        }
    }

    fn action(&mut self, who: usize, order: &str, what: u8) -> Option<Intent> {
        let state = self.cores[who]
            .order_state(&OrderId::new(order.to_owned()))
            .ok();
        let me = ["dora", "aki", "bea"][who];
        // Most of the time people do the next sensible thing (so schedules reach
        // deliveries); otherwise anything on their menu, sensible or not.
        if what < 24 {
            return self.next_step(who, me, state.as_ref()?, what);
        }
        let what = what - 24;
        Some(Intent::Act(if who == 0 {
            match what {
                0 => Action::Assign {
                    courier: "aki".into(),
                },
                1 => Action::Assign {
                    courier: "bea".into(),
                },
                2 => Action::Unassign,
                3 => Action::Cancel {
                    reason: "client called".into(),
                },
                4 => Action::Reopen,
                5 => Action::EditDropoffAddress {
                    point: None,
                    address: format!("Bulevardi {}", {
                        self.pod_seq += 1;
                        self.pod_seq
                    }),
                },
                6 => Action::SetCod { cents: 3_000 },
                7 => Action::ResolveConflict {
                    conflict: state?.open_conflicts().next()?.id.clone(),
                    note: "checked".into(),
                },
                8 => Action::Return {
                    reason: "refused".into(),
                },
                9 => Action::ReceiveAtHub {
                    warehouse: "hub-1".into(),
                },
                _ => Action::AddNote {
                    text: "called".into(),
                },
            }
        } else {
            match what {
                0 => Action::Claim,
                1 => Action::Accept,
                2 | 3 => Action::PickUp,
                4 => Action::StartTransit,
                5 => return Some(Intent::Sign),
                6 | 7 => Action::Deliver {
                    pods: pods_by(state.as_ref()?, me),
                },
                8 => Action::FailAttempt {
                    reason: "nobody home".into(),
                },
                10 => Action::ReceiveAtHub {
                    warehouse: "hub-1".into(),
                },
                _ => Action::CollectCod { cents: 2_500 },
            }
        }))
    }

    fn next_step(&mut self, who: usize, me: &str, s: &OrderState, what: u8) -> Option<Intent> {
        use DeliveryStatus::*;
        if who == 0 {
            return match s.status {
                Pending | AtHub => Some(Action::Assign {
                    courier: ["aki", "bea"][usize::from(what % 2)].into(),
                }),
                _ => s.open_conflicts().next().map(|c| Action::ResolveConflict {
                    conflict: c.id.clone(),
                    note: "seen".into(),
                }),
            }
            .map(Intent::Act);
        }
        let mine = s.assignee.as_ref().is_some_and(|a| a.as_str() == me);
        let my_pods = pods_by(s, me);
        let pickup_order = s
            .spec
            .as_ref()
            .is_some_and(|spec| spec.order_type == app_core::api::OrderType::Pickup);
        Some(Intent::Act(match s.status {
            Pending | AtHub => Action::Claim,
            // A pickup order ends at its hub.
            PickedUp | InTransit if mine && pickup_order => Action::ReceiveAtHub {
                warehouse: "hub-1".into(),
            },
            Assigned if mine => Action::PickUp,
            PickedUp | InTransit if mine && my_pods.is_empty() => return Some(Intent::Sign),
            PickedUp | InTransit if mine && what.is_multiple_of(3) => {
                Action::CollectCod { cents: 2_500 }
            }
            PickedUp | InTransit if mine => Action::Deliver { pods: my_pods },
            AttemptFailed if mine => Action::StartTransit,
            _ => return None,
        }))
    }

    fn run(&mut self, steps: &[Step]) {
        for step in steps {
            match step {
                Step::Act { who, order, what } => {
                    let order = self.orders[*order].clone();
                    if let Some(intent) = self.action(*who, &order, *what) {
                        // A refusal is the lifecycle working; it writes nothing.
                        let request = match intent.clone() {
                            Intent::Act(action) => Request::Act {
                                order_id: order,
                                action,
                            },
                            Intent::Sign => Request::CapturePod(CapturePodRequest {
                                order_id: order,
                                signature: Some(signature()),
                                ..Default::default()
                            }),
                        };
                        let action = intent;
                        let result = self.cores[*who].execute(request);
                        if std::env::var_os("RUTA_PROP_STATS").is_some() {
                            let verdict = match &result {
                                Ok(_) => "ok".to_owned(),
                                Err(e) => e.to_string().chars().take(60).collect(),
                            };
                            eprintln!("ACT {who} {action:?} -> {verdict}");
                        }
                        if result.is_ok() {
                            self.record(*who);
                        }
                    }
                }
                Step::Sync { from, to } => {
                    if self.links_up[link_of(*from, *to)] {
                        self.sync(*from, *to);
                    }
                }
                Step::Toggle { link } => self.links_up[*link] = !self.links_up[*link],
                Step::Wait { ms } => self.clocks.iter().for_each(|c| c.advance(i64::from(*ms))),
            }
        }
        // The partition heals: everyone syncs with everyone, twice.
        for _ in 0..2 {
            for from in 0..REPLICAS {
                for to in 0..REPLICAS {
                    if from != to {
                        self.sync(from, to);
                    }
                }
            }
        }
    }
}

fn check_invariants(s: &OrderState) -> Result<(), String> {
    let spec = s.spec.as_ref().ok_or("order without spec")?;
    match s.status {
        DeliveryStatus::Pending => {
            if s.assignee.is_some() {
                return Err(format!("pending but assigned to {:?}", s.assignee));
            }
        }
        DeliveryStatus::Assigned
        | DeliveryStatus::PickedUp
        | DeliveryStatus::InTransit
        | DeliveryStatus::AttemptFailed
        | DeliveryStatus::Delivered => {
            // A pickup order completed by its hub is the hub's, nobody's.
            let at_hub = spec.order_type == app_api::OrderType::Pickup;
            if s.assignee.is_none() && !at_hub {
                return Err(format!("{:?} without a courier", s.status));
            }
        }
        DeliveryStatus::AtHub => {
            if s.assignee.is_some() || s.staged.is_none() {
                return Err(format!(
                    "at a hub but assigned to {:?} / staged {:?}",
                    s.assignee, s.staged
                ));
            }
        }
        DeliveryStatus::Cancelled | DeliveryStatus::Returned => {}
    }
    let hub_completed = spec.order_type == app_api::OrderType::Pickup;
    if hub_completed && s.status == DeliveryStatus::AtHub {
        return Err("a pickup order waits at a hub".into());
    }
    if s.status == DeliveryStatus::Delivered && hub_completed {
        // Completed by its hub's receipt: no door, no proofs; still picked up first.
        let (event, _) = s.delivery.as_ref().ok_or("completed without a receipt")?;
        let receipt = s.timeline.iter().find(|t| &t.event.id() == event);
        if receipt.is_none_or(|t| t.event.body.kind() != app_core::lifecycle::Kind::ReceivedAtHub) {
            return Err(format!("a pickup order completed by {receipt:?}"));
        }
        if s.picked_up_at.is_none() {
            return Err("received at the hub without a pickup".into());
        }
    } else if s.status == DeliveryStatus::Delivered {
        let (_, used) = s
            .delivery
            .as_ref()
            .ok_or("delivered without a delivery event")?;
        if s.picked_up_at.is_none() {
            return Err("delivered without a pickup".into());
        }
        let mut have = app_core::lifecycle::PodRecord {
            id: app_core::domain::PodId::new(""),
            photo_sha256: None,
            signature_sha256: None,
            qr_verified: false,
            pin_verified: false,
            age_confirmed: false,
            chain: None,
        };
        for id in used {
            let p = s
                .pods
                .iter()
                .map(|p| &p.record)
                .find(|p| &p.id == id)
                .ok_or(format!("delivery uses unknown proof {id}"))?;
            have.photo_sha256 = have.photo_sha256.clone().or(p.photo_sha256.clone());
            have.signature_sha256 = have.signature_sha256.clone().or(p.signature_sha256.clone());
        }
        let missing = missing_proofs(spec, &have);
        if !missing.is_empty() {
            return Err(format!("delivered with proofs missing: {missing:?}"));
        }
    }
    let delivered = s
        .timeline
        .iter()
        .filter(|t| t.event.body.kind() == app_core::lifecycle::Kind::Delivered)
        .filter(|t| matches!(t.verdict, Verdict::Applied | Verdict::Flagged { .. }))
        .count();
    if delivered > 1 {
        return Err(format!("{delivered} deliveries took effect"));
    }
    let ids: BTreeSet<_> = s.conflicts.iter().map(|c| &c.id).collect();
    if ids.len() != s.conflicts.len() {
        return Err("duplicate conflict ids".into());
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_without_losing_events(steps in prop::collection::vec(step(), 30..120)) {
        let mut world = World::new();
        world.run(&steps);

        let query = |core: &Core| match core.execute(Request::ListOrders(OrderQuery::default())).unwrap() {
            Response::Orders { orders, .. } => orders,
            other => panic!("{other:?}"),
        };
        let expected_rows = query(&world.cores[0]);
        for (i, core) in world.cores.iter().enumerate().skip(1) {
            prop_assert_eq!(&query(core), &expected_rows, "query results differ on replica {}", i);
        }
        for id in &world.orders {
            let oid = OrderId::new(id.clone());
            let states: Vec<OrderState> =
                world.cores.iter().map(|c| c.order_state(&oid).unwrap()).collect();
            for (i, s) in states.iter().enumerate().skip(1) {
                prop_assert_eq!(s, &states[0], "derived state differs on replica {}", i);
            }
            let details: Vec<_> = world
                .cores
                .iter()
                .map(|c| match c.execute(Request::GetOrder { order_id: id.clone() }).unwrap() {
                    // What the viewer may do depends on who is signed in there; the
                    // rest of the detail must be identical.
                    app_core::api::Response::OrderDetail(mut d) => {
                        d.actions.clear();
                        app_core::api::Response::OrderDetail(d)
                    }
                    other => other,
                })
                .collect();
            for d in &details[1..] {
                prop_assert_eq!(d, &details[0]);
            }
            if std::env::var_os("RUTA_CONVERGENCE_STATS").is_some() {
                let hub = states[0].timeline.iter().filter(|t| t.event.body.kind() == app_core::lifecycle::Kind::ReceivedAtHub).count();
                eprintln!("STAT order {} status {:?} hub receipts {}", id, states[0].status, hub);
            }
            if let Err(broken) = check_invariants(&states[0]) {
                prop_assert!(false, "invariant broken on order {}: {}\n{:#?}", id, broken, states[0].timeline);
            }
        }
        // No event lost: everything anyone wrote is in the final history.
        let mut final_ids = BTreeSet::new();
        for id in &world.orders {
            for t in &world.cores[0].order_state(&OrderId::new(id.clone())).unwrap().timeline {
                final_ids.insert(t.event.id());
            }
        }
        let lost: Vec<_> = world.written.difference(&final_ids).collect();
        if std::env::var_os("RUTA_PROP_STATS").is_some() {
            for id in &world.orders {
                let s = world.cores[0].order_state(&OrderId::new(id.clone())).unwrap();
                let kinds: Vec<_> = s.conflicts.iter().map(|c| format!("{:?}", c.kind)).collect();
                eprintln!("STATS {:?} events={} conflicts={kinds:?}", s.status, s.timeline.len());
            }
        }
        prop_assert!(lost.is_empty(), "events lost: {:?}", lost);
    }
}

//! Property test: the small synced documents — a courier's trip (run sheet),
//! their cash ledger and the desks' waybills — under random concurrent
//! schedules over three replicas, each a `Core` with its own SQLite file and
//! its own skewed clock: dispatcher "dora", courier "aki" and a second
//! dispatcher desk "dan", with random partitions, syncs and waits.
//!
//! Setup: dora creates orders (some with cash to collect), builds aki's trip
//! from three of them and publishes it, and makes a waybill; dan makes
//! another; everyone syncs. Then both desks and the courier move stops, the
//! desks add and remove stops, the courier starts the trip, picks up,
//! collects and delivers, declares and withdraws cash hand-overs, the desks
//! record receipts (scanned from the courier's screen or typed with the
//! courier's figure, often while apart) and settle discrepancies, and add,
//! remove, dispatch, arrive and cancel waybills. A sync carries only what
//! the receiver may open (`access::decide`): the courier gets their trip,
//! their cash ledger and their orders, never a waybill.
//!
//! After the partition heals, every replica must show the identical trip
//! (one sequence, each stop once, exactly the stops whose last membership
//! event is an addition, and a lost move exactly where a move was made
//! without seeing the one it overrode), the identical cash ledger and
//! positions (a shortfall stays a discrepancy until settled; nothing netted;
//! every declaration and receipt accounted for), the identical waybills on
//! both desks (none on the courier), and every event any replica wrote.
//! `PROPTEST_CASES` sets the number of schedules (24 by default here);
//! `RUTA_PROP_STATS=1` prints each request's verdict and each schedule's outcome.
//!
//! Two fixed schedules follow: the first failure this test found, cut down
//! (an order added to a published trip must reach its courier), and
//! one for concurrent moves that would put an order's drop-off before its
//! pickup (the merge puts it back after the pickup and shows the move lost).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use app_core::access::{self, Access, DocFacts};
use app_core::api::cash::{CashAction, CashLedgerView, CashResolution, HandoverStatus};
use app_core::api::config::{ConfigChange, Warehouse};
use app_core::api::trips::{NewTrip, TripAction, TripView};
use app_core::api::waybills::{NewWaybill, WaybillAction, WaybillStatus, WaybillStep, WaybillView};
use app_core::api::{Action, DeliveryStatus, NewOrder, Request, Response, Role};
use app_core::clock::ManualClock;
use app_core::domain::{DeviceId, OrderId, UserId};
use app_core::{Core, LedgerKind, cash_doc, trip_doc, waybill_doc};
use proptest::prelude::*;
use ruta_model::Principal;

const REPLICAS: usize = 3;
const DORA: usize = 0;
const AKI: usize = 1;
const DAN: usize = 2;
const PEOPLE: [(&str, Role); REPLICAS] = [
    ("dora", Role::Dispatcher),
    ("aki", Role::Courier),
    ("dan", Role::Dispatcher),
];
/// Orders 0-2 are on aki's trip from the start (0 and 1 with cash to
/// collect); 3 (cash too) is one a desk may add to it; 4 and 5 start on the
/// waybills. Orders 3-5 are the ones the desks put on waybills.
const ORDERS: usize = 6;
const COD: [i64; ORDERS] = [2_500, 1_200, 0, 800, 0, 0];
const TRIP_ORDERS: usize = 3;
const AMOUNTS: [i64; 4] = [500, 1_200, 2_500, 3_700];

#[derive(Clone, Debug)]
enum Step {
    /// Replica `who` moves the stop at `stop` to before the one at `before`
    /// (past the end: last), positions in the sequence it sees.
    MoveStop {
        who: usize,
        stop: usize,
        before: usize,
    },
    /// A desk takes the stop at `stop` off the trip.
    RemoveStop { desk: bool, stop: usize },
    /// A desk adds the open stops of order `order` (0-3) to the trip.
    AddOrder {
        desk: bool,
        order: usize,
        urgent: bool,
    },
    /// The courier sets out.
    StartTrip,
    /// The courier does the next thing on order `order` (0-3): pick up,
    /// collect its cash, deliver.
    Advance { order: usize },
    /// The courier declares a hand-over of `AMOUNTS[amount]`.
    Declare { amount: usize },
    /// The courier takes back their newest declaration nobody received (as they see it).
    Withdraw,
    /// A desk types a receipt for aki: `AMOUNTS[amount]` counted, with the
    /// courier's figure `AMOUNTS[declared]` (past the end: none).
    ReceiveTyped {
        desk: bool,
        amount: usize,
        declared: usize,
    },
    /// A desk scans a code on the courier's screen (the courier is at the
    /// desk: no sync needed) and counts what was declared, or 1 € less.
    ReceiveCode {
        desk: bool,
        pick: usize,
        short: bool,
    },
    /// A desk settles one of the discrepancies it sees.
    Resolve { desk: bool, pick: usize, how: u8 },
    /// A desk does something to waybill `wb`.
    Waybill {
        desk: bool,
        wb: usize,
        what: u8,
        order: usize,
    },
    /// Replica `from` sends what `to` may open, if the link between them is up.
    Sync { from: usize, to: usize },
    /// The link between two replicas goes down or comes back.
    Toggle { link: usize },
    /// Time passes on every clock.
    Wait { ms: u16 },
}

fn step() -> impl Strategy<Value = Step> {
    let who = 0..REPLICAS;
    prop_oneof![
        5 => (who.clone(), 0..8usize, 0..9usize)
            .prop_map(|(who, stop, before)| Step::MoveStop { who, stop, before }),
        1 => (any::<bool>(), 0..8usize).prop_map(|(desk, stop)| Step::RemoveStop { desk, stop }),
        1 => (any::<bool>(), 0..4usize, any::<bool>())
            .prop_map(|(desk, order, urgent)| Step::AddOrder { desk, order, urgent }),
        1 => Just(Step::StartTrip),
        2 => (0..4usize).prop_map(|order| Step::Advance { order }),
        2 => (0..AMOUNTS.len()).prop_map(|amount| Step::Declare { amount }),
        1 => Just(Step::Withdraw),
        2 => (any::<bool>(), 0..AMOUNTS.len(), 0..AMOUNTS.len() + 1)
            .prop_map(|(desk, amount, declared)| Step::ReceiveTyped { desk, amount, declared }),
        2 => (any::<bool>(), 0..4usize, any::<bool>())
            .prop_map(|(desk, pick, short)| Step::ReceiveCode { desk, pick, short }),
        1 => (any::<bool>(), 0..4usize, 0u8..3)
            .prop_map(|(desk, pick, how)| Step::Resolve { desk, pick, how }),
        3 => (any::<bool>(), 0..2usize, 0u8..12, 0..3usize)
            .prop_map(|(desk, wb, what, order)| Step::Waybill { desk, wb, what, order }),
        4 => (who.clone(), who).prop_filter("distinct", |(a, b)| a != b)
            .prop_map(|(from, to)| Step::Sync { from, to }),
        1 => (0..3usize).prop_map(|link| Step::Toggle { link }),
        1 => (1u16..5_000).prop_map(|ms| Step::Wait { ms }),
    ]
}

fn link_of(a: usize, b: usize) -> usize {
    match (a.min(b), a.max(b)) {
        (0, 1) => 0,
        (0, 2) => 1,
        _ => 2,
    }
}

fn desk(dan: bool) -> usize {
    if dan { DAN } else { DORA }
}

fn principal(who: usize) -> Principal {
    Principal {
        user: UserId::new(PEOPLE[who].0),
        role: PEOPLE[who].1,
    }
}

/// Whether `who` may open a document with `facts` (what the server would share).
fn may_open(who: usize, facts: &DocFacts) -> bool {
    access::decide(&principal(who), Some(facts)) != Access::None
}

fn stats() -> bool {
    std::env::var_os("RUTA_PROP_STATS").is_some()
}

/// The device a probe of a stored document loads it as (reading only).
fn probe() -> DeviceId {
    DeviceId::new("probe")
}

fn trip_events(core: &Core, id: &str) -> Vec<trip_doc::TripEvent> {
    core.ledger_document(LedgerKind::Trip, id)
        .unwrap()
        .map(|(b, _)| trip_doc::load(&b, &probe()).unwrap().events())
        .unwrap_or_default()
}

fn cash_events(core: &Core, id: &str) -> Vec<cash_doc::CashEvent> {
    core.ledger_document(LedgerKind::Cash, id)
        .unwrap()
        .map(|(b, _)| cash_doc::load(&b, &probe()).unwrap().events())
        .unwrap_or_default()
}

fn waybill_events(core: &Core, id: &str) -> Vec<waybill_doc::WaybillEvent> {
    core.ledger_document(LedgerKind::Waybill, id)
        .unwrap()
        .map(|(b, _)| waybill_doc::load(&b, &probe()).unwrap().events())
        .unwrap_or_default()
}

fn keys(t: &TripView) -> Vec<String> {
    t.stops.iter().map(|s| s.key.clone()).collect()
}

/// The documents a request may write to.
#[derive(Clone, Copy)]
struct Touched {
    orders: bool,
    trip: bool,
    cash: bool,
    waybills: bool,
}

impl Touched {
    const ALL: Touched = Touched {
        orders: true,
        trip: true,
        cash: true,
        waybills: true,
    };

    fn by(request: &Request) -> Self {
        let none = Touched {
            orders: false,
            trip: false,
            cash: false,
            waybills: false,
        };
        match request {
            Request::Act { .. } => Touched {
                orders: true,
                ..none
            },
            // Publishing or adding stops assigns the trip's orders.
            Request::TripAct {
                action: TripAction::Publish | TripAction::AddOrders { .. },
                ..
            } => Touched {
                orders: true,
                trip: true,
                ..none
            },
            Request::TripAct { .. } => Touched { trip: true, ..none },
            Request::CashAct(_) => Touched { cash: true, ..none },
            // A step writes an event on every order on the waybill.
            Request::WaybillAct { .. } | Request::ScanWaybill { .. } => Touched {
                orders: true,
                waybills: true,
                ..none
            },
            _ => Touched::ALL,
        }
    }
}

struct World {
    _dirs: Vec<tempfile::TempDir>,
    cores: Vec<Core>,
    clocks: Vec<Arc<ManualClock>>,
    orders: Vec<String>,
    trip: String,
    /// aki's cash ledger (the same id on every device).
    cash: String,
    waybills: Vec<String>,
    numbers: Vec<String>,
    links_up: [bool; 3],
    /// (document id, event id) of every event any replica wrote.
    written: BTreeSet<(String, String)>,
    /// Each stop move written: the trip events its writer had when it moved.
    moves_seen: BTreeMap<String, BTreeSet<String>>,
    /// (from, to, document): `to` holds every change `from` holds of it.
    fresh: BTreeSet<(usize, usize, String)>,
}

impl World {
    fn new() -> Self {
        let base = 1_800_000_000_000;
        // Skewed clocks: the courier's phone is 5 s slow, dan's desk 3 s fast.
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
        for (core, (user, role)) in cores.iter().zip(PEOPLE) {
            // Every device knows the hub (as the staff configuration would tell it).
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
        for (i, cod) in COD.iter().enumerate() {
            let mut new = NewOrder::simple(
                &format!("Customer {i}"),
                "Aleksanterinkatu 52",
                "Fredrikinkatu 34",
            );
            new.cod_cents = *cod;
            let Response::Order(o) = cores[DORA].execute(Request::CreateOrder(new)).unwrap() else {
                panic!()
            };
            orders.push(o.id);
        }
        let Response::Trip(trip) = cores[DORA]
            .execute(Request::CreateTrip(NewTrip {
                courier: "aki".into(),
                name: String::new(),
                vehicle: None,
                start_warehouse: None,
                order_ids: orders[..TRIP_ORDERS].to_vec(),
                optimise: false,
            }))
            .unwrap()
        else {
            panic!()
        };
        cores[DORA]
            .execute(Request::TripAct {
                trip_id: trip.id.clone(),
                action: TripAction::Publish,
            })
            .unwrap();
        let waybill = |core: &Core, order: &str, warehouse: Option<&str>| {
            let Response::Waybill(w) = core
                .execute(Request::CreateWaybill(NewWaybill {
                    origin: "Helsinki hub".into(),
                    destination: "Tampere".into(),
                    destination_warehouse: warehouse.map(str::to_owned),
                    carrier: "Linehaul Oy".into(),
                    seal: None,
                    reference: None,
                    order_ids: vec![order.to_owned()],
                }))
                .unwrap()
            else {
                panic!()
            };
            (w.id, w.number)
        };
        let first = waybill(&cores[DORA], &orders[4], None);
        let mut world = World {
            _dirs: dirs,
            cores,
            clocks,
            trip: trip.id,
            cash: cash_doc::ledger_id(&UserId::new("aki")),
            waybills: vec![first.0],
            numbers: vec![first.1],
            orders,
            links_up: [true; 3],
            written: BTreeSet::new(),
            moves_seen: BTreeMap::new(),
            fresh: BTreeSet::new(),
        };
        // Everyone syncs once; then dan, who has the orders now, makes the second waybill.
        world.sync(DORA, AKI);
        world.sync(DORA, DAN);
        let second = waybill(&world.cores[DAN], &world.orders[5], Some("hub-1"));
        world.waybills.push(second.0);
        world.numbers.push(second.1);
        world.sync(DAN, DORA);
        for who in 0..REPLICAS {
            world.record(who, Touched::ALL);
        }
        world
    }

    /// Remembers every event `who`'s device wrote that it holds, in the
    /// documents `touched` names.
    fn record(&mut self, who: usize, touched: Touched) {
        let core = &self.cores[who];
        let device = core.device_id();
        let mine = |e: &app_core::domain::Actor| e.device.as_str() == device;
        if touched.orders {
            for id in &self.orders {
                if let Ok(state) = core.order_state(&OrderId::new(id.clone())) {
                    for t in state.timeline.iter().filter(|t| mine(&t.event.actor)) {
                        self.written.insert((id.clone(), t.event.id()));
                    }
                }
            }
        }
        if touched.trip {
            for e in trip_events(core, &self.trip)
                .iter()
                .filter(|e| mine(&e.actor))
            {
                self.written.insert((self.trip.clone(), e.id()));
            }
        }
        if touched.cash {
            for e in cash_events(core, &self.cash)
                .iter()
                .filter(|e| mine(&e.actor))
            {
                self.written.insert((self.cash.clone(), e.id()));
            }
        }
        if touched.waybills {
            for w in &self.waybills {
                for e in waybill_events(core, w).iter().filter(|e| mine(&e.actor)) {
                    self.written.insert((w.clone(), e.id()));
                }
            }
        }
    }

    /// The small documents: kind, id and the facts the server shares them by.
    fn ledgers(&self) -> Vec<(LedgerKind, String, DocFacts)> {
        let aki = UserId::new("aki");
        let mut out = vec![
            (
                LedgerKind::Trip,
                self.trip.clone(),
                DocFacts::Trip {
                    courier: aki.clone(),
                },
            ),
            (
                LedgerKind::Cash,
                self.cash.clone(),
                DocFacts::Cash { courier: aki },
            ),
        ];
        for w in &self.waybills {
            out.push((LedgerKind::Waybill, w.clone(), DocFacts::Waybill));
        }
        out
    }

    /// `from` sends `to` every document it holds that `to` may open: each
    /// order (its facts as `from` derives them), the trip, the cash ledger and
    /// the waybills, whole (Automerge merges are idempotent).
    /// (Nothing is sent of a document `from` has not changed since it last
    /// sent it to `to`: `to` holds all of it.)
    fn sync(&mut self, from: usize, to: usize) {
        for id in self.orders.clone() {
            if self.fresh.contains(&(from, to, id.clone())) {
                continue;
            }
            let (src, dst) = (&self.cores[from], &self.cores[to]);
            let oid = OrderId::new(id.clone());
            let Ok(state) = src.order_state(&oid) else {
                continue;
            };
            if may_open(to, &access::facts_of_order(&state)) {
                let merged = dst
                    .merge_remote(&oid, &src.doc_bytes(&oid).unwrap())
                    .unwrap();
                self.sent(from, to, &id, merged.changed);
            }
        }
        for (kind, id, facts) in self.ledgers() {
            if self.fresh.contains(&(from, to, id.clone())) || !may_open(to, &facts) {
                continue;
            }
            let (src, dst) = (&self.cores[from], &self.cores[to]);
            if let Some((bytes, _)) = src.ledger_document(kind, &id).unwrap() {
                let changed = dst.merge_ledger(kind, &id, &bytes).unwrap();
                self.sent(from, to, &id, changed);
            }
        }
    }

    /// `to` holds all of `from`'s document `doc` now (and it `changed` there).
    fn sent(&mut self, from: usize, to: usize, doc: &str, changed: bool) {
        if changed {
            self.changed(to, doc);
        }
        self.fresh.insert((from, to, doc.to_owned()));
    }

    /// `who`'s copy of `doc` has something new: every peer may lack it.
    fn changed(&mut self, who: usize, doc: &str) {
        for peer in 0..REPLICAS {
            self.fresh.remove(&(who, peer, doc.to_owned()));
        }
    }

    /// The partition heals: everyone syncs with everyone, twice.
    fn heal(&mut self) {
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

    /// `who` makes `request`; a refusal is the rules working and writes
    /// nothing, but whatever was written is remembered either way.
    fn exec(&mut self, who: usize, request: Request) -> Option<Response> {
        let label = stats().then(|| format!("{request:?}"));
        let touched = Touched::by(&request);
        let result = self.cores[who].execute(request);
        if let Some(label) = label {
            let verdict = match &result {
                Ok(_) => "ok".to_owned(),
                Err(e) => e.to_string().chars().take(70).collect(),
            };
            eprintln!("ACT {who} {} -> {verdict}", &label[..label.len().min(110)]);
        }
        self.record(who, touched);
        let mut docs = Vec::new();
        if touched.orders {
            docs.extend(self.orders.iter().cloned());
        }
        if touched.trip {
            docs.push(self.trip.clone());
        }
        if touched.cash {
            docs.push(self.cash.clone());
        }
        if touched.waybills {
            docs.extend(self.waybills.iter().cloned());
        }
        for doc in docs {
            self.changed(who, &doc);
        }
        result.ok()
    }

    fn trip_view(&self, who: usize) -> Option<TripView> {
        match self.cores[who].execute(Request::GetTrip {
            trip_id: self.trip.clone(),
        }) {
            Ok(Response::Trip(t)) => Some(t),
            _ => None,
        }
    }

    fn ledger(&self, who: usize) -> CashLedgerView {
        let courier = (who != AKI).then(|| "aki".to_owned());
        match self.cores[who]
            .execute(Request::CashLedger { courier })
            .unwrap()
        {
            Response::CashLedger(l) => l,
            other => panic!("{other:?}"),
        }
    }

    /// The hand-overs of aki's ledger as `who`'s device holds it (what its
    /// screen lists, without drawing the codes).
    fn handovers(&self, who: usize) -> Vec<cash_doc::Handover> {
        let events = cash_events(&self.cores[who], &self.cash);
        cash_doc::derive(Some(&UserId::new("aki")), &events, &[]).handovers
    }

    fn waybill_view(&self, who: usize, wb: usize) -> Option<WaybillView> {
        match self.cores[who].execute(Request::GetWaybill {
            waybill_id: self.waybills[wb].clone(),
        }) {
            Ok(Response::Waybill(w)) => Some(w),
            _ => None,
        }
    }

    fn trip_act(&mut self, who: usize, action: TripAction) {
        let trip_id = self.trip.clone();
        self.exec(who, Request::TripAct { trip_id, action });
    }

    fn act(&mut self, step: &Step) {
        match *step {
            Step::MoveStop { who, stop, before } => {
                // The sequence as `who`'s screen shows it.
                let events = trip_events(&self.cores[who], &self.trip);
                let keys = trip_doc::derive(&events).sequence();
                if keys.is_empty() {
                    return;
                }
                let stop = keys[stop % keys.len()].clone();
                let before = keys.get(before % (keys.len() + 1)).cloned();
                let had: BTreeSet<String> = events.iter().map(|e| e.id()).collect();
                self.trip_act(who, TripAction::MoveStop { stop, before });
                for e in trip_events(&self.cores[who], &self.trip) {
                    if !had.contains(&e.id())
                        && matches!(e.change, trip_doc::TripChange::StopMoved { .. })
                    {
                        self.moves_seen.insert(e.id(), had.clone());
                    }
                }
            }
            Step::RemoveStop { desk: d, stop } => {
                let who = desk(d);
                let keys = trip_doc::derive(&trip_events(&self.cores[who], &self.trip)).sequence();
                if keys.is_empty() {
                    return;
                }
                let stop = keys[stop % keys.len()].clone();
                self.trip_act(who, TripAction::RemoveStop { stop });
            }
            Step::AddOrder {
                desk: d,
                order,
                urgent,
            } => {
                let order_ids = vec![self.orders[order].clone()];
                self.trip_act(desk(d), TripAction::AddOrders { order_ids, urgent });
            }
            Step::StartTrip => self.trip_act(AKI, TripAction::Start),
            Step::Advance { order } => {
                let id = self.orders[order].clone();
                let Ok(s) = self.cores[AKI].order_state(&OrderId::new(id.clone())) else {
                    return;
                };
                if s.assignee.as_ref().is_none_or(|a| a.as_str() != "aki") {
                    return;
                }
                let cod = s.spec.as_ref().map_or(0, |spec| spec.cod_cents);
                let action = match s.status {
                    DeliveryStatus::Assigned => Action::PickUp,
                    DeliveryStatus::PickedUp | DeliveryStatus::InTransit
                        if cod > 0 && s.cod_collected.is_none() =>
                    {
                        Action::CollectCod { cents: cod }
                    }
                    DeliveryStatus::PickedUp | DeliveryStatus::InTransit => {
                        Action::Deliver { pods: Vec::new() }
                    }
                    _ => return,
                };
                self.exec(
                    AKI,
                    Request::Act {
                        order_id: id,
                        action,
                    },
                );
            }
            Step::Declare { amount } => {
                self.exec(
                    AKI,
                    Request::CashAct(CashAction::Declare {
                        cents: AMOUNTS[amount],
                        note: String::new(),
                    }),
                );
            }
            Step::Withdraw => {
                let Some(h) = self
                    .handovers(AKI)
                    .into_iter()
                    .rev()
                    .find(|h| h.status() == cash_doc::HandoverStatus::Declared)
                else {
                    return;
                };
                let handover = h.id;
                self.exec(AKI, Request::CashAct(CashAction::Withdraw { handover }));
            }
            Step::ReceiveTyped {
                desk: d,
                amount,
                declared,
            } => {
                self.exec(
                    desk(d),
                    Request::CashAct(CashAction::Receive {
                        code: None,
                        courier: Some("aki".into()),
                        cents: AMOUNTS[amount],
                        declared_cents: AMOUNTS.get(declared).copied(),
                        note: "typed".into(),
                    }),
                );
            }
            Step::ReceiveCode {
                desk: d,
                pick,
                short,
            } => {
                // What the courier's screen shows: the codes of their
                // declarations awaiting receipt.
                let aki = UserId::new("aki");
                let shown: Vec<(String, i64)> = self
                    .handovers(AKI)
                    .iter()
                    .filter(|h| h.status() == cash_doc::HandoverStatus::Declared)
                    .filter_map(|h| {
                        let cents = h.declared_cents?;
                        Some((cash_doc::handover_qr(&aki, &h.id, cents), cents))
                    })
                    .collect();
                if shown.is_empty() {
                    return;
                }
                let (code, declared) = shown[pick % shown.len()].clone();
                self.exec(
                    desk(d),
                    Request::CashAct(CashAction::Receive {
                        code: Some(code),
                        courier: None,
                        cents: declared - if short { 100 } else { 0 },
                        declared_cents: None,
                        note: String::new(),
                    }),
                );
            }
            Step::Resolve { desk: d, pick, how } => {
                let who = desk(d);
                let open: Vec<_> = self
                    .handovers(who)
                    .into_iter()
                    .filter(|h| h.status() == cash_doc::HandoverStatus::Discrepancy)
                    .collect();
                if open.is_empty() {
                    return;
                }
                let h = &open[pick % open.len()];
                let resolution = match how {
                    0 => CashResolution::Recounted {
                        cents: h.declared_cents.or(h.received_cents).unwrap_or(0),
                    },
                    1 => CashResolution::ChargedToCourier,
                    _ => CashResolution::WrittenOff,
                };
                self.exec(
                    who,
                    Request::CashAct(CashAction::Resolve {
                        courier: "aki".into(),
                        handover: h.id.clone(),
                        resolution,
                        note: "settled".into(),
                    }),
                );
            }
            Step::Waybill {
                desk: d,
                wb,
                what,
                order,
            } => {
                let who = desk(d);
                let waybill_id = self.waybills[wb].clone();
                let number = self.numbers[wb].clone();
                let request = match what {
                    0..=3 => Request::WaybillAct {
                        waybill_id,
                        action: WaybillAction::AddOrders {
                            order_ids: vec![self.orders[3 + order].clone()],
                        },
                    },
                    4..=6 => {
                        let Some(view) = self.waybill_view(who, wb) else {
                            return;
                        };
                        let Some(o) = view
                            .orders
                            .get(order % view.orders.len().max(1))
                            .map(|o| o.order_id.clone())
                        else {
                            return;
                        };
                        Request::WaybillAct {
                            waybill_id,
                            action: WaybillAction::RemoveOrder { order_id: o },
                        }
                    }
                    7 => Request::WaybillAct {
                        waybill_id,
                        action: WaybillAction::Step {
                            step: WaybillStep::Dispatch,
                        },
                    },
                    8 => Request::ScanWaybill {
                        code: number,
                        step: WaybillStep::Dispatch,
                    },
                    9 | 10 => Request::ScanWaybill {
                        code: number,
                        step: WaybillStep::Arrive,
                    },
                    _ => Request::WaybillAct {
                        waybill_id,
                        action: WaybillAction::Cancel {
                            reason: "truck broke down".into(),
                        },
                    },
                };
                self.exec(who, request);
            }
            Step::Sync { from, to } => {
                if self.links_up[link_of(from, to)] {
                    self.sync(from, to);
                }
            }
            Step::Toggle { link } => self.links_up[link] = !self.links_up[link],
            Step::Wait { ms } => self.clocks.iter().for_each(|c| c.advance(i64::from(ms))),
        }
    }

    fn run(&mut self, steps: &[Step]) {
        for step in steps {
            self.act(step);
        }
        self.heal();
    }
}

/// The lost moves the spec gives for the trip's events (`events`, every one
/// written): per stop, in stamp order, a move made by a writer that had not
/// seen the addition or move that sets the stop's place overrides it, and
/// that one is lost; a stop off the trip at the end has none.
/// (stop, by, at, overridden by, overridden at), sorted.
type Lost = (String, String, i64, String, i64);

fn expected_trip(
    events: &[trip_doc::TripEvent],
    seen: &BTreeMap<String, BTreeSet<String>>,
) -> Result<(BTreeSet<String>, Vec<Lost>), String> {
    use trip_doc::TripChange::*;
    let mut sorted: Vec<_> = events.iter().collect();
    sorted.sort_by_key(|e| e.at);
    // Stop -> the event that set its place (id, author, stamp).
    let mut on: BTreeMap<String, (String, String, i64)> = BTreeMap::new();
    let mut lost = Vec::new();
    for e in sorted {
        let Some(key) = e.change.stop() else {
            continue;
        };
        let me = (e.id(), e.actor.user.to_string(), e.at.wall_ms);
        match &e.change {
            StopAdded { .. } => {
                on.entry(key).or_insert(me);
            }
            StopRemoved { .. } => {
                on.remove(&key);
            }
            StopMoved { .. } => {
                let had = seen
                    .get(&e.id())
                    .ok_or_else(|| format!("move {} was not written by this schedule", e.id()))?;
                if let Some(placed) = on.get_mut(&key) {
                    if !had.contains(&placed.0) {
                        lost.push((key.clone(), placed.1.clone(), placed.2, me.1.clone(), me.2));
                    }
                    *placed = me;
                }
            }
            _ => {}
        }
    }
    lost.retain(|l| on.contains_key(&l.0));
    lost.sort();
    Ok((on.into_keys().collect(), lost))
}

/// A waybill's orders and status as the spec gives them from its events:
/// per order, the later of its additions and removals made while it was open.
fn expected_waybill(events: &[waybill_doc::WaybillEvent]) -> (BTreeSet<String>, WaybillStatus) {
    use waybill_doc::WaybillChange::*;
    let mut sorted: Vec<_> = events.iter().collect();
    sorted.sort_by_key(|e| e.at);
    let mut status = None;
    let mut member: BTreeMap<String, bool> = BTreeMap::new();
    for e in sorted {
        match (&e.change, status) {
            (Created { .. }, None) => status = Some(WaybillStatus::Open),
            (OrderAdded { order }, Some(WaybillStatus::Open)) => {
                member.insert(order.to_string(), true);
            }
            (OrderRemoved { order }, Some(WaybillStatus::Open)) => {
                member.insert(order.to_string(), false);
            }
            (Dispatched, Some(WaybillStatus::Open)) if member.values().any(|on| *on) => {
                status = Some(WaybillStatus::Dispatched)
            }
            (Arrived, Some(WaybillStatus::Dispatched)) => status = Some(WaybillStatus::Arrived),
            (Cancelled { .. }, Some(WaybillStatus::Open | WaybillStatus::Dispatched)) => {
                status = Some(WaybillStatus::Cancelled)
            }
            _ => {}
        }
    }
    let orders = member
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(o, _)| o)
        .collect();
    (orders, status.unwrap_or(WaybillStatus::Open))
}

fn check_orders(w: &World) -> Result<(), TestCaseError> {
    for id in &w.orders {
        let oid = OrderId::new(id.clone());
        let desk = w.cores[DORA].order_state(&oid).unwrap();
        prop_assert_eq!(
            &w.cores[DAN].order_state(&oid).unwrap(),
            &desk,
            "order {} differs on the desks",
            id
        );
        let courier = w.cores[AKI].order_state(&oid).ok();
        let theirs = may_open(AKI, &access::facts_of_order(&desk));
        prop_assert_eq!(
            courier.is_some(),
            theirs,
            "order {} on the courier's phone: {:?}",
            id,
            courier.is_some()
        );
        if let Some(c) = courier {
            prop_assert_eq!(&c, &desk, "order {} differs on the courier's phone", id);
        }
        let have: BTreeSet<String> = desk.timeline.iter().map(|t| t.event.id()).collect();
        let lost: Vec<_> = w
            .written
            .iter()
            .filter(|(d, e)| d == id && !have.contains(e))
            .collect();
        prop_assert!(lost.is_empty(), "order {} lost events {:?}", id, lost);
    }
    Ok(())
}

fn check_trip(w: &World) -> Result<(), TestCaseError> {
    let views: Vec<TripView> = (0..REPLICAS)
        .map(|who| {
            let mut v = w.trip_view(who).expect("everyone sees aki's trip");
            // What the viewer may do, and whether their device has pushed it, are theirs.
            v.actions.clear();
            v.pending = false;
            v
        })
        .collect();
    for (who, v) in views.iter().enumerate().skip(1) {
        prop_assert_eq!(v, &views[0], "the trip differs on replica {}", who);
    }
    let seq = keys(&views[0]);

    let once: BTreeSet<&String> = seq.iter().collect();
    prop_assert_eq!(once.len(), seq.len(), "a stop twice in {:?}", seq);
    for who in 0..REPLICAS {
        let have: BTreeSet<String> = trip_events(&w.cores[who], &w.trip)
            .iter()
            .map(|e| e.id())
            .collect();
        let lost: Vec<_> = w
            .written
            .iter()
            .filter(|(d, e)| *d == w.trip && !have.contains(e))
            .collect();
        prop_assert!(
            lost.is_empty(),
            "trip events lost on replica {}: {:?}",
            who,
            lost
        );
    }
    let events = trip_events(&w.cores[DORA], &w.trip);
    let (stops, lost) = expected_trip(&events, &w.moves_seen).map_err(TestCaseError::fail)?;
    prop_assert_eq!(
        once.into_iter().cloned().collect::<BTreeSet<_>>(),
        stops,
        "not the stops added and not removed"
    );
    let mut shown: Vec<Lost> = views[0]
        .lost_moves
        .iter()
        .map(|l| {
            (
                l.stop.clone(),
                l.by.clone(),
                l.at_ms,
                l.overridden_by.clone(),
                l.overridden_at_ms,
            )
        })
        .collect();
    shown.sort();
    // Every order's pickup comes before its drop-off, whatever moves merged.
    let seq = keys(&views[0]);
    for (i, k) in seq.iter().enumerate() {
        if let Some(order) = k.strip_suffix("/dropoff") {
            let pickup = format!("{order}/pickup");
            prop_assert!(
                !seq[i + 1..].contains(&pickup),
                "drop-off {} before its pickup in {:?}",
                k,
                seq
            );
        }
    }
    // The lost moves are the concurrent ones, plus drop-offs the merge put
    // back after their pickup (two moves of different stops made apart).
    for l in &lost {
        prop_assert!(
            shown.contains(l),
            "concurrent move {:?} not shown in {:?}",
            l,
            shown
        );
    }
    for l in shown.iter().filter(|l| !lost.contains(l)) {
        let pickup = l.0.strip_suffix("/dropoff").map(|o| format!("{o}/pickup"));
        prop_assert!(
            pickup.is_some_and(|p| seq.contains(&p)),
            "lost move {:?} is neither concurrent nor a drop-off put after its pickup",
            l
        );
    }
    Ok(())
}

fn check_cash(w: &World) -> Result<(), TestCaseError> {
    let views: Vec<CashLedgerView> = (0..REPLICAS)
        .map(|who| {
            let mut l = w.ledger(who);
            l.pending_sync = false;
            l
        })
        .collect();
    for (who, v) in views.iter().enumerate().skip(1) {
        prop_assert_eq!(v, &views[0], "the cash ledger differs on replica {}", who);
    }
    let positions = |who: usize| match w.cores[who].execute(Request::CashPositions).unwrap() {
        Response::CashPositions { positions } => positions,
        other => panic!("{other:?}"),
    };
    let desks = positions(DORA);
    prop_assert_eq!(
        &positions(DAN),
        &desks,
        "cash positions differ on the desks"
    );
    // A desk lists the couriers it knows of: from the directory (none here),
    // or by their cash (collected, or a ledger).
    let aki = desks.iter().find(|p| p.courier == "aki");
    let idle = views[0].handovers.is_empty() && views[0].collections.is_empty();
    if aki.is_some() || !idle {
        prop_assert_eq!(
            aki,
            Some(&views[0].position),
            "a desk's position of aki is not the ledger's"
        );
    }
    prop_assert_eq!(
        &positions(AKI),
        &vec![views[0].position.clone()],
        "the courier's own position"
    );
    for who in 0..REPLICAS {
        let have: BTreeSet<String> = cash_events(&w.cores[who], &w.cash)
            .iter()
            .map(|e| e.id())
            .collect();
        let lost: Vec<_> = w
            .written
            .iter()
            .filter(|(d, e)| *d == w.cash && !have.contains(e))
            .collect();
        prop_assert!(
            lost.is_empty(),
            "cash events lost on replica {}: {:?}",
            who,
            lost
        );
    }
    let l = &views[0];
    let p = &l.position;
    // Nothing netted: a difference stays a discrepancy until settled.
    let (mut received, mut written_off, mut pending, mut open, mut counted) = (0, 0, 0, 0u32, 0);
    for h in &l.handovers {
        let differs = h.difference_cents.is_some_and(|d| d != 0);
        prop_assert_eq!(
            h.difference_cents,
            h.received_cents.zip(h.declared_cents).map(|(r, d)| r - d)
        );
        match h.status {
            HandoverStatus::Received => prop_assert!(
                !differs && h.duplicate_receipts.is_empty() && h.resolution.is_none(),
                "netted: {:?}",
                h
            ),
            HandoverStatus::Discrepancy => prop_assert!(
                h.resolution.is_none() && (differs || !h.duplicate_receipts.is_empty()),
                "{:?}",
                h
            ),
            HandoverStatus::Settled => prop_assert!(
                h.resolution.is_some() && h.received_cents.is_some(),
                "{:?}",
                h
            ),
            HandoverStatus::Declared | HandoverStatus::Withdrawn => prop_assert!(
                h.received_cents.is_none() && h.resolution.is_none(),
                "{:?}",
                h
            ),
        }
        if h.received_cents.is_some() && h.resolution.is_none() && differs {
            prop_assert_eq!(
                h.status,
                HandoverStatus::Discrepancy,
                "a difference without a discrepancy: {:?}",
                h
            );
        }
        received += h.received_cents.unwrap_or(0);
        if h.resolution == Some(CashResolution::WrittenOff) {
            written_off += (-h.difference_cents.unwrap_or(0)).max(0);
        }
        if h.status == HandoverStatus::Declared {
            pending += h.declared_cents.unwrap_or(0);
        }
        open += u32::from(h.status == HandoverStatus::Discrepancy);
        counted += usize::from(h.received_at_ms.is_some()) + h.duplicate_receipts.len();
    }
    prop_assert_eq!(
        p.collected_cents,
        l.collections.iter().map(|c| c.cents).sum::<i64>()
    );
    prop_assert_eq!(
        (
            p.received_cents,
            p.written_off_cents,
            p.pending_cents,
            p.open_discrepancies
        ),
        (received, written_off, pending, open)
    );
    prop_assert_eq!(
        p.outstanding_cents,
        p.collected_cents - p.received_cents - p.written_off_cents
    );
    // Every declaration keeps its figure; every receipt is counted once or shown as a duplicate.
    let mut receipts = 0;
    for e in cash_events(&w.cores[DORA], &w.cash) {
        match &e.change {
            cash_doc::CashChange::Declared {
                handover, cents, ..
            } => {
                let h = l.handovers.iter().find(|h| &h.id == handover);
                prop_assert_eq!(
                    h.and_then(|h| h.declared_cents),
                    Some(*cents),
                    "declaration {} changed",
                    handover
                );
            }
            cash_doc::CashChange::Received {
                handover, by_code, ..
            } => {
                receipts += 1;
                let found = l.handovers.iter().any(|h| {
                    &h.id == handover || (!by_code && h.paired_receipt.as_ref() == Some(handover))
                });
                prop_assert!(found, "receipt {} is on no hand-over", handover);
            }
            _ => {}
        }
    }
    prop_assert_eq!(counted, receipts, "receipts counted");
    Ok(())
}

fn check_waybills(w: &World) -> Result<(), TestCaseError> {
    for (i, id) in w.waybills.iter().enumerate() {
        let views: Vec<WaybillView> = [DORA, DAN]
            .iter()
            .map(|who| {
                let mut v = w
                    .waybill_view(*who, i)
                    .expect("both desks have the waybill");
                v.pending = false;
                v
            })
            .collect();
        prop_assert_eq!(&views[1], &views[0], "waybill {} differs on the desks", id);
        prop_assert!(
            w.cores[AKI]
                .ledger_document(LedgerKind::Waybill, id)
                .unwrap()
                .is_none(),
            "the courier holds waybill {}",
            id
        );
        for who in [DORA, DAN] {
            let have: BTreeSet<String> = waybill_events(&w.cores[who], id)
                .iter()
                .map(|e| e.id())
                .collect();
            let lost: Vec<_> = w
                .written
                .iter()
                .filter(|(d, e)| d == id && !have.contains(e))
                .collect();
            prop_assert!(
                lost.is_empty(),
                "waybill events lost on replica {}: {:?}",
                who,
                lost
            );
        }
        let (orders, status) = expected_waybill(&waybill_events(&w.cores[DORA], id));
        let shown: BTreeSet<String> = views[0].orders.iter().map(|o| o.order_id.clone()).collect();
        prop_assert_eq!(shown, orders, "waybill {} manifest", id);
        prop_assert_eq!(views[0].status, status, "waybill {} status", id);
    }
    prop_assert!(
        w.cores[AKI]
            .execute(Request::ListWaybills { open_only: false })
            .is_err(),
        "the courier lists waybills"
    );
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn trips_cash_ledgers_and_waybills_converge_without_losing_events(steps in prop::collection::vec(step(), 20..50)) {
        let mut world = World::new();
        world.run(&steps);
        if stats() {
            let trip = world.trip_view(DORA).unwrap();
            let cash = world.ledger(DORA);
            let waybills: Vec<_> = (0..2).map(|i| world.waybill_view(DORA, i).unwrap()).map(|v| (v.status, v.orders.len())).collect();
            eprintln!(
                "STATS trip {:?} stops {} lost moves {} | cash handovers {:?} outstanding {} | waybills {:?}",
                trip.status,
                trip.stops.len(),
                trip.lost_moves.len(),
                cash.handovers.iter().map(|h| h.status).collect::<Vec<_>>(),
                cash.position.outstanding_cents,
                waybills,
            );
        }
        check_orders(&world)?;
        check_trip(&world)?;
        check_cash(&world)?;
        check_waybills(&world)?;
    }
}

impl World {
    /// The key of order `order`'s pickup or drop-off.
    fn stop(&self, order: usize, dropoff: bool) -> String {
        let end = if dropoff { "dropoff" } else { "pickup" };
        format!("{}/{end}", self.orders[order])
    }

    /// `who` moves `stop` to before `before`; panics if it is refused.
    fn move_stop(&mut self, who: usize, stop: &str, before: &str) {
        let trip_id = self.trip.clone();
        let action = TripAction::MoveStop {
            stop: stop.to_owned(),
            before: Some(before.to_owned()),
        };
        let done = self.exec(who, Request::TripAct { trip_id, action });
        assert!(done.is_some(), "{who} may not move {stop} before {before}");
    }
}

/// The schedule the property test first failed on, cut down: a desk adds an
/// order to the published trip; the courier must get that order (it is
/// theirs now), so every replica shows the same trip.
#[test]
fn an_order_added_to_a_published_trip_reaches_its_courier() {
    let mut w = World::new();
    w.trip_act(
        DORA,
        TripAction::AddOrders {
            order_ids: vec![w.orders[3].clone()],
            urgent: false,
        },
    );
    w.heal();
    let views: Vec<_> = (0..REPLICAS)
        .map(|who| {
            let mut v = w.trip_view(who).unwrap();
            v.actions.clear();
            v.pending = false;
            v
        })
        .collect();
    assert_eq!(views[1], views[0]);
    assert_eq!(views[2], views[0]);
    assert!(views[AKI].stops.iter().all(|s| s.status.is_some()));
}

/// Known gap, not checked by the property test: a device refuses a move that
/// puts an order's drop-off before its pickup, but two moves made apart —
/// the courier moves the pickup later, a desk moves the drop-off earlier,
/// each keeping the order locally — merge into a sequence with the drop-off
/// first, on every replica (both moves hold: they are of different stops).
#[test]
fn concurrent_moves_keep_each_pickup_before_its_drop_off() {
    let mut w = World::new();
    let (a_pickup, a_dropoff) = (w.stop(0, false), w.stop(0, true));
    let (b_pickup, b_dropoff) = (w.stop(1, false), w.stop(1, true));
    // A stop between order 0's pickup and drop-off, seen by everyone.
    w.move_stop(DORA, &a_dropoff, &b_dropoff);
    w.heal();
    // Apart: the courier does the pickup later, the desk the drop-off earlier.
    w.move_stop(AKI, &a_pickup, &a_dropoff);
    w.move_stop(DORA, &a_dropoff, &b_pickup);
    w.heal();
    for who in 0..REPLICAS {
        let seq = keys(&w.trip_view(who).unwrap());
        let at = |k: &str| seq.iter().position(|s| s == k).unwrap();
        assert!(
            at(&a_pickup) < at(&a_dropoff),
            "replica {who}: drop-off before pickup in {seq:?}"
        );
    }
}

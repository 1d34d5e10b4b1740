//! The delivery lifecycle: the ONE place that decides what may happen to an
//! order, and what an order's state is.
//!
//! An order's history is an append-only set of [`Event`]s (in its shared
//! document). Its state is never stored as truth: [`derive`] folds the events in
//! HLC order through [`check`], so every replica that holds the same events
//! computes the same state. A device turns a user's command into an event with
//! [`decide`], which runs the very same [`check`] against its local state, so a
//! rule cannot differ between the UI, the device and the server.
//!
//! Each event records what its author *saw* ([`Seen`]: status and assignee).
//! When an event no longer fits the state it lands on and what its author saw
//! differs from that state, the two were concurrent (made apart, merged later):
//! the event is kept and surfaced as a [`Conflict`] for a dispatcher. When it
//! does not fit although its author saw exactly this state, it is invalid (a
//! modified client, a forged event): it is kept in the timeline as rejected and
//! changes nothing. Nothing is ever dropped silently. The case-by-case rules are
//! specified in `docs/merges.md`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

pub use app_api::{ActionKind, DeliveryStatus, ProofKind};

use ruta_domain::hlc::Hlc;
use ruta_domain::order::{
    CarrierType, OrderSpec, Package, PodRequirements, Priority, ServiceOptions, SpecError, Stop,
};
use ruta_domain::{Actor, GeoPoint, OrderId, PodId, Role, UserId};

/// What the author of an event saw when they made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub status: DeliveryStatus,
    pub assignee: Option<UserId>,
}

/// One thing that happened to an order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Capture time; also the event's identity (unique per device and tick).
    pub at: Hlc,
    pub actor: Actor,
    pub seen: Seen,
    #[serde(default)]
    pub location: Option<GeoPoint>,
    pub body: EventBody,
}

impl Event {
    pub fn id(&self) -> String {
        self.at.to_string()
    }
}

/// A proof of delivery (or of pickup) as the order's history records it; the
/// photo and signature travel as blobs referenced by hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodRecord {
    pub id: PodId,
    #[serde(default)]
    pub photo_sha256: Option<String>,
    #[serde(default)]
    pub signature_sha256: Option<String>,
    #[serde(default)]
    pub qr_verified: bool,
    #[serde(default)]
    pub pin_verified: bool,
    #[serde(default)]
    pub age_confirmed: bool,
    /// The record's link in its courier's tamper-evident chain; absent on proofs
    /// recorded without one (older clients, operators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<PodChainLink>,
}

/// A proof's link in its courier's chain of POD records: with the event's
/// `at` and actor it is the [`ruta_domain::proof::ChainedRecord`] the chain
/// verifier checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodChainLink {
    pub seq: u64,
    pub prev_hash: String,
    pub record_hash: String,
    /// The capturing device's own wall clock, Unix ms.
    pub device_clock_ms: i64,
    #[serde(default)]
    pub gps: Option<ruta_domain::proof::GpsFix>,
    pub verification: ruta_domain::proof::VerificationMethod,
    /// The minimum age checked on the recipient's ID, when asked for.
    #[serde(default)]
    pub age: Option<u8>,
}

/// A proof as the order's state holds it: the record and who captured it, when
/// and where (from its `PodCaptured` event).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapturedPod {
    #[serde(flatten)]
    pub record: PodRecord,
    /// Absent only in projections written before these were kept.
    #[serde(default)]
    pub at: Option<Hlc>,
    #[serde(default)]
    pub by: Option<Actor>,
    #[serde(default)]
    pub location: Option<GeoPoint>,
}

/// A change to one part of an order's spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "field", content = "value", rename_all = "snake_case")]
pub enum Edit {
    CustomerName(String),
    Pickup(Stop),
    Dropoff(Stop),
    Packages(Vec<Package>),
    Notes(String),
    Instructions(String),
    Options(ServiceOptions),
    Priority(Priority),
    Pod(PodRequirements),
}

impl Edit {
    pub fn field(&self) -> &'static str {
        match self {
            Edit::CustomerName(_) => "customer_name",
            Edit::Pickup(_) => "pickup",
            Edit::Dropoff(_) => "dropoff",
            Edit::Packages(_) => "packages",
            Edit::Notes(_) => "notes",
            Edit::Instructions(_) => "instructions",
            Edit::Options(_) => "options",
            Edit::Priority(_) => "priority",
            Edit::Pod(_) => "pod",
        }
    }

    /// The current value of this edit's field in `spec`.
    fn current(&self, spec: &OrderSpec) -> Edit {
        match self {
            Edit::CustomerName(_) => Edit::CustomerName(spec.customer_name.clone()),
            Edit::Pickup(_) => Edit::Pickup(spec.pickup.clone()),
            Edit::Dropoff(_) => Edit::Dropoff(spec.dropoff.clone()),
            Edit::Packages(_) => Edit::Packages(spec.packages.clone()),
            Edit::Notes(_) => Edit::Notes(spec.notes.clone()),
            Edit::Instructions(_) => Edit::Instructions(spec.instructions.clone()),
            Edit::Options(_) => Edit::Options(spec.options.clone()),
            Edit::Priority(_) => Edit::Priority(spec.priority),
            Edit::Pod(_) => Edit::Pod(spec.pod),
        }
    }

    fn apply_to(&self, spec: &mut OrderSpec) {
        match self.clone() {
            Edit::CustomerName(v) => spec.customer_name = v,
            Edit::Pickup(v) => spec.pickup = v,
            Edit::Dropoff(v) => spec.dropoff = v,
            Edit::Packages(v) => spec.packages = v,
            Edit::Notes(v) => spec.notes = v,
            Edit::Instructions(v) => spec.instructions = v,
            Edit::Options(v) => spec.options = v,
            Edit::Priority(v) => spec.priority = v,
            Edit::Pod(v) => spec.pod = v,
        }
    }
}

/// What an event says happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    Created {
        spec: OrderSpec,
    },
    /// `previous` is the value the author saw; [`decide`] fills it in.
    Edited {
        edit: Edit,
        previous: Option<Edit>,
    },
    PriceSet {
        cents: i64,
    },
    CodSet {
        cents: i64,
    },
    Assigned {
        courier: UserId,
    },
    Unassigned,
    /// A courier takes an unassigned order.
    Claimed,
    Accepted,
    Declined {
        reason: String,
    },
    PickedUp,
    InTransit,
    /// `for_carrier`: an operator records an external carrier's delivery.
    Delivered {
        pods: Vec<PodId>,
        #[serde(default)]
        for_carrier: bool,
    },
    AttemptFailed {
        reason: String,
    },
    Returned {
        reason: String,
    },
    Cancelled {
        reason: String,
    },
    Reopened,
    PodCaptured {
        pod: PodRecord,
    },
    CodCollected {
        cents: i64,
    },
    ConflictResolved {
        conflict: String,
        note: String,
    },
    NoteAdded {
        text: String,
    },
}

/// The kind of an event, without its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Created,
    Edited,
    PriceSet,
    CodSet,
    Assigned,
    Unassigned,
    Claimed,
    Accepted,
    Declined,
    PickedUp,
    InTransit,
    Delivered,
    AttemptFailed,
    Returned,
    Cancelled,
    Reopened,
    PodCaptured,
    CodCollected,
    ConflictResolved,
    NoteAdded,
}

impl Kind {
    pub const ALL: [Kind; 20] = [
        Kind::Created,
        Kind::Edited,
        Kind::PriceSet,
        Kind::CodSet,
        Kind::Assigned,
        Kind::Unassigned,
        Kind::Claimed,
        Kind::Accepted,
        Kind::Declined,
        Kind::PickedUp,
        Kind::InTransit,
        Kind::Delivered,
        Kind::AttemptFailed,
        Kind::Returned,
        Kind::Cancelled,
        Kind::Reopened,
        Kind::PodCaptured,
        Kind::CodCollected,
        Kind::ConflictResolved,
        Kind::NoteAdded,
    ];

    /// Events that record what physically happened to the parcel or at the door.
    pub fn is_physical(self) -> bool {
        matches!(
            self,
            Kind::PickedUp
                | Kind::InTransit
                | Kind::Delivered
                | Kind::AttemptFailed
                | Kind::Returned
                | Kind::PodCaptured
                | Kind::CodCollected
        )
    }
}

impl EventBody {
    pub fn kind(&self) -> Kind {
        match self {
            EventBody::Created { .. } => Kind::Created,
            EventBody::Edited { .. } => Kind::Edited,
            EventBody::PriceSet { .. } => Kind::PriceSet,
            EventBody::CodSet { .. } => Kind::CodSet,
            EventBody::Assigned { .. } => Kind::Assigned,
            EventBody::Unassigned => Kind::Unassigned,
            EventBody::Claimed => Kind::Claimed,
            EventBody::Accepted => Kind::Accepted,
            EventBody::Declined { .. } => Kind::Declined,
            EventBody::PickedUp => Kind::PickedUp,
            EventBody::InTransit => Kind::InTransit,
            EventBody::Delivered { .. } => Kind::Delivered,
            EventBody::AttemptFailed { .. } => Kind::AttemptFailed,
            EventBody::Returned { .. } => Kind::Returned,
            EventBody::Cancelled { .. } => Kind::Cancelled,
            EventBody::Reopened => Kind::Reopened,
            EventBody::PodCaptured { .. } => Kind::PodCaptured,
            EventBody::CodCollected { .. } => Kind::CodCollected,
            EventBody::ConflictResolved { .. } => Kind::ConflictResolved,
            EventBody::NoteAdded { .. } => Kind::NoteAdded,
        }
    }
}

/// Why an event may not happen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum Refusal {
    #[error("the order does not exist")]
    NotFound,
    #[error("the order already exists")]
    AlreadyExists,
    #[error("a {role:?} may not {kind:?} an order carried by a {carrier:?} carrier")]
    Forbidden {
        role: Role,
        kind: Kind,
        carrier: CarrierType,
    },
    #[error("this order belongs to another client")]
    NotYours,
    #[error("the order is not assigned to this courier")]
    NotAssigned,
    #[error("cannot {kind:?} an order that is {from:?}")]
    InvalidTransition { from: DeliveryStatus, kind: Kind },
    #[error("proof of delivery missing: {}", proof_names(missing))]
    PodMissing { missing: Vec<ProofKind> },
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    #[error("no open conflict {0}")]
    UnknownConflict(String),
    #[error("the order changed meanwhile ({0:?}); look again")]
    Concurrent(ConflictKind),
}

/// `["photo", "pin"]`: the proofs' wire names, as refusals have always listed them.
fn proof_names(missing: &[ProofKind]) -> String {
    let names: Vec<&str> = missing.iter().map(|p| p.as_str()).collect();
    format!("{names:?}")
}

impl From<SpecError> for Refusal {
    fn from(e: SpecError) -> Self {
        Refusal::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

/// The kinds of conflict a merge can produce; each is specified in `docs/merges.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// A dispatcher cancelled while the courier, unaware, picked up or delivered.
    CancelledWhileCourierActed,
    /// A courier acted on an order that had meanwhile been given to someone else.
    ActedAfterReassignment,
    /// A dispatcher reassigned an order that the courier had already picked up.
    ReassignedAfterPickup,
    /// Two couriers claimed the same order; the earlier claim won.
    ClaimLost,
    /// A second delivery (with its own proofs) arrived for a delivered order.
    DuplicateDelivery,
    /// The address changed while the parcel was on its way.
    AddressChangedEnRoute,
    /// Two people edited the same field without seeing each other's edit.
    ConcurrentEdit,
    /// An edit arrived for an order already completed.
    EditAfterCompletion,
    /// The COD amount changed after the courier had collected cash.
    CodChangedAfterCollection,
    /// The courier collected a different amount than the order asks.
    CodAmountMismatch,
    /// Any other status change that collided with a concurrent one.
    StatusChangedConcurrently,
}

/// The outcome of checking an event against the state it lands on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verdict {
    /// Valid: the event takes effect.
    Applied,
    /// Takes effect, and a conflict is opened for a dispatcher.
    Flagged { conflict: ConflictKind },
    /// Kept in the history but does not take effect; a conflict is opened.
    Held { conflict: ConflictKind },
    /// Invalid: kept in the timeline as rejected, changes nothing.
    Rejected { refusal: Refusal },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub by: UserId,
    pub at: Hlc,
    pub note: String,
}

/// Something a dispatcher should look at; its id is the id of the event that raised it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub id: String,
    pub kind: ConflictKind,
    /// The event it collided with, where there is one (e.g. the cancellation).
    pub against: Option<String>,
    pub opened_at: Hlc,
    pub resolved: Option<Resolution>,
}

/// One line of the order's timeline: an event and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub event: Event,
    pub verdict: Verdict,
}

/// An order's state, derived from its events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderState {
    pub id: OrderId,
    pub spec: Option<OrderSpec>,
    pub status: DeliveryStatus,
    pub assignee: Option<UserId>,
    pub accepted: bool,
    /// Couriers that were ever assigned the order or claimed it.
    pub involved: BTreeSet<UserId>,
    pub picked_up_at: Option<Hlc>,
    /// The delivery event that counts, and the proofs it used.
    pub delivery: Option<(String, Vec<PodId>)>,
    pub pods: Vec<CapturedPod>,
    pub cod_collected: Option<i64>,
    pub created_at: Option<Hlc>,
    pub updated_at: Option<Hlc>,
    pub conflicts: Vec<Conflict>,
    pub timeline: Vec<TimelineEntry>,
    last_status_event: Option<String>,
    last_assign_event: Option<String>,
}

impl OrderState {
    pub fn empty(id: OrderId) -> Self {
        OrderState {
            id,
            spec: None,
            status: DeliveryStatus::Pending,
            assignee: None,
            accepted: false,
            involved: BTreeSet::new(),
            picked_up_at: None,
            delivery: None,
            pods: Vec::new(),
            cod_collected: None,
            created_at: None,
            updated_at: None,
            conflicts: Vec::new(),
            timeline: Vec::new(),
            last_status_event: None,
            last_assign_event: None,
        }
    }

    pub fn seen(&self) -> Seen {
        Seen {
            status: self.status,
            assignee: self.assignee.clone(),
        }
    }

    pub fn open_conflicts(&self) -> impl Iterator<Item = &Conflict> {
        self.conflicts.iter().filter(|c| c.resolved.is_none())
    }

    /// Events that were rejected as invalid.
    pub fn rejected(&self) -> impl Iterator<Item = &TimelineEntry> {
        self.timeline
            .iter()
            .filter(|t| matches!(t.verdict, Verdict::Rejected { .. }))
    }
}

/// Derives an order's state from its events, in any order and with duplicates:
/// events are sorted by capture time (HLC) and folded through [`check`].
pub fn derive(id: OrderId, events: impl IntoIterator<Item = Event>) -> OrderState {
    let mut events: Vec<Event> = events.into_iter().collect();
    // Sort by stamp, then by content so that two different events carrying the
    // same stamp (only a forged one can) still fold in one order everywhere.
    let content = |e: &Event| serde_json::to_string(e).unwrap_or_default();
    events.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| content(a).cmp(&content(b))));
    events.dedup();
    let mut state = OrderState::empty(id);
    for event in events {
        let verdict = check(&state, &event.actor, &event.body, &event.seen);
        apply(&mut state, event, verdict);
    }
    state
}

/// Turns a command into an event, if the rules allow it on this state. The
/// caller supplies the stamp (from the device's HLC) and the location.
pub fn decide(
    state: &OrderState,
    actor: &Actor,
    mut body: EventBody,
    at: Hlc,
    location: Option<GeoPoint>,
) -> Result<Event, Refusal> {
    if let (EventBody::Edited { edit, previous }, Some(spec)) = (&mut body, &state.spec) {
        *previous = Some(edit.current(spec));
    }
    let seen = state.seen();
    match check(state, actor, &body, &seen) {
        Verdict::Applied | Verdict::Flagged { .. } => {}
        Verdict::Held { conflict } => return Err(Refusal::Concurrent(conflict)),
        Verdict::Rejected { refusal } => return Err(refusal),
    }
    Ok(Event {
        at,
        actor: actor.clone(),
        seen,
        location,
        body,
    })
}

/// The events of one user intent (collect the cash, record the proof, deliver),
/// decided in order: each is checked against the state the ones before it
/// leave, exactly as [`derive`] folds them (their stamps increase), so the
/// whole intent is judged before anything is written and lands in one write.
#[derive(Clone, Debug)]
pub struct Intent {
    state: OrderState,
    events: Vec<Event>,
}

impl Intent {
    /// An intent on the order as it stands.
    pub fn on(state: &OrderState) -> Self {
        Intent {
            state: state.clone(),
            events: Vec::new(),
        }
    }

    /// The state after the events decided so far.
    pub fn state(&self) -> &OrderState {
        &self.state
    }

    /// Decides one more event (see [`decide`]); a refusal leaves the intent as it was.
    pub fn decide(
        &mut self,
        actor: &Actor,
        body: EventBody,
        at: Hlc,
        location: Option<GeoPoint>,
    ) -> Result<(), Refusal> {
        let event = decide(&self.state, actor, body, at, location)?;
        let verdict = check(&self.state, &event.actor, &event.body, &event.seen);
        apply(&mut self.state, event.clone(), verdict);
        self.events.push(event);
        Ok(())
    }

    /// The events, in the order they were decided.
    pub fn into_events(self) -> Vec<Event> {
        self.events
    }
}

/// Whether `role` may make an event of `kind` at all on an order carried by `carrier`.
pub fn permitted(role: Role, carrier: CarrierType, kind: Kind) -> bool {
    use CarrierType::*;
    use Kind::*;
    let operator = role.is_operator();
    let courier = role == Role::Courier;
    match kind {
        Created | Edited => operator || role == Role::Client,
        Cancelled => operator || role == Role::Client,
        NoteAdded => true,
        PriceSet | CodSet | Assigned | Unassigned | Reopened | ConflictResolved => operator,
        Claimed => courier && carrier == Internal,
        Accepted | Declined => courier && carrier != External,
        PickedUp | InTransit | AttemptFailed | PodCaptured => {
            (courier && carrier != External) || (operator && carrier == External)
        }
        Returned => (courier && carrier != External) || operator,
        Delivered => {
            (courier && matches!(carrier, Internal | Prime))
                || (operator && matches!(carrier, External | Hybrid))
        }
        CodCollected => (courier && carrier == Internal) || (operator && carrier == External),
    }
}

/// The status an event of `kind` moves an order to from `from`, if that
/// transition exists; `Some(from)` for events that do not change the status.
pub fn transition(from: DeliveryStatus, kind: Kind) -> Option<DeliveryStatus> {
    use DeliveryStatus::*;
    use Kind as K;
    let to = match (kind, from) {
        (K::Assigned, Pending | Assigned) => Assigned,
        (K::Unassigned, Assigned) => Pending,
        (K::Claimed, Pending) => Assigned,
        (K::Accepted, Assigned) => Assigned,
        (K::Declined, Assigned) => Pending,
        (K::PickedUp, Assigned) => PickedUp,
        (K::InTransit, PickedUp | AttemptFailed) => InTransit,
        (K::Delivered, PickedUp | InTransit) => Delivered,
        (K::AttemptFailed, PickedUp | InTransit) => AttemptFailed,
        (K::Returned, PickedUp | InTransit | AttemptFailed) => Returned,
        (K::Cancelled, Pending | Assigned) => Cancelled,
        (K::Reopened, Cancelled) => Pending,
        (K::PodCaptured | K::CodCollected, PickedUp | InTransit | AttemptFailed | Delivered) => {
            from
        }
        (K::Edited, Pending | Assigned | PickedUp | InTransit | AttemptFailed) => from,
        (K::PriceSet | K::CodSet, s) if s != Cancelled => from,
        (K::ConflictResolved | K::NoteAdded, _) => from,
        _ => return None,
    };
    Some(to)
}

/// Checks one event against the state it lands on. This is every rule there is.
pub fn check(s: &OrderState, actor: &Actor, body: &EventBody, seen: &Seen) -> Verdict {
    let reject = |refusal| Verdict::Rejected { refusal };
    let kind = body.kind();
    let Some(spec) = &s.spec else {
        return match body {
            EventBody::Created { spec } => check_created(actor, spec),
            _ => reject(Refusal::NotFound),
        };
    };
    if kind == Kind::Created {
        return reject(Refusal::AlreadyExists);
    }
    if !permitted(actor.role, spec.carrier, kind) {
        return reject(Refusal::Forbidden {
            role: actor.role,
            kind,
            carrier: spec.carrier,
        });
    }
    if actor.role == Role::Client && spec.client.as_ref() != Some(&actor.user) {
        return reject(Refusal::NotYours);
    }
    let concurrent = seen.status != s.status || seen.assignee != s.assignee;

    // Who may act for a courier-side event: the assignee; a courier who was
    // assigned and still believed so acts on a physical fact (flagged).
    let mut flag = None;
    if actor.role == Role::Courier
        && kind != Kind::Claimed
        && kind != Kind::NoteAdded
        && s.assignee.as_ref() != Some(&actor.user)
    {
        let believed = seen.assignee.as_ref() == Some(&actor.user);
        if !(s.involved.contains(&actor.user) && believed) {
            return reject(Refusal::NotAssigned);
        }
        if !kind.is_physical() {
            return Verdict::Held {
                conflict: ConflictKind::ActedAfterReassignment,
            };
        }
        flag = Some(ConflictKind::ActedAfterReassignment);
    }

    if transition(s.status, kind).is_none() {
        match collision(s, kind, seen, concurrent) {
            // The collision decides the conflict; the event's own checks still run.
            Verdict::Flagged { conflict } => flag = Some(conflict),
            other => return other,
        }
    }

    let specific = match body {
        EventBody::Created { .. } => unreachable!("handled above"),
        EventBody::Edited { edit, previous } => check_edit(s, spec, actor, edit, previous.as_ref()),
        EventBody::PriceSet { cents } | EventBody::CodSet { cents } if *cents < 0 => {
            reject(Refusal::Invalid {
                field: "cents".into(),
                message: "must not be negative".into(),
            })
        }
        EventBody::CodSet { cents } => match s.cod_collected {
            Some(collected) if collected != *cents => Verdict::Flagged {
                conflict: ConflictKind::CodChangedAfterCollection,
            },
            _ => Verdict::Applied,
        },
        EventBody::Assigned { courier }
            if concurrent
                && seen.assignee != s.assignee
                && s.assignee.as_ref() != Some(courier) =>
        {
            // Two dispatchers assigned different couriers: the later one stands.
            Verdict::Flagged {
                conflict: ConflictKind::ConcurrentEdit,
            }
        }
        EventBody::Delivered { pods, for_carrier } => {
            check_delivered(s, spec, actor, pods, *for_carrier)
        }
        EventBody::PodCaptured { pod } if s.pods.iter().any(|p| p.record.id == pod.id) => {
            reject(Refusal::Invalid {
                field: "pod.id".into(),
                message: format!("proof {} is already recorded", pod.id),
            })
        }
        EventBody::CodCollected { cents } if *cents < 0 => reject(Refusal::Invalid {
            field: "cents".into(),
            message: "must not be negative".into(),
        }),
        EventBody::CodCollected { .. } if s.cod_collected.is_some() => {
            if concurrent {
                Verdict::Held {
                    conflict: ConflictKind::StatusChangedConcurrently,
                }
            } else {
                reject(Refusal::Invalid {
                    field: "cents".into(),
                    message: "cash was already collected for this order".into(),
                })
            }
        }
        EventBody::CodCollected { cents } if *cents != spec.cod_cents => Verdict::Flagged {
            conflict: ConflictKind::CodAmountMismatch,
        },
        EventBody::ConflictResolved { conflict, .. } => {
            if s.conflicts.iter().any(|c| &c.id == conflict) {
                Verdict::Applied
            } else {
                reject(Refusal::UnknownConflict(conflict.clone()))
            }
        }
        EventBody::Cancelled { .. }
            if actor.role == Role::Client && s.status != DeliveryStatus::Pending =>
        {
            reject(Refusal::InvalidTransition {
                from: s.status,
                kind,
            })
        }
        EventBody::Assigned { courier } if courier.as_str().trim().is_empty() => {
            reject(Refusal::Invalid {
                field: "courier".into(),
                message: "must not be empty".into(),
            })
        }
        _ => Verdict::Applied,
    };
    match (specific, flag) {
        (Verdict::Applied, Some(conflict)) => Verdict::Flagged { conflict },
        (v, _) => v,
    }
}

/// Whether `actor` may create an order with `spec` (role, own orders for
/// clients, a valid spec). The server's write guard asks this too.
pub fn check_created(actor: &Actor, spec: &OrderSpec) -> Verdict {
    if !permitted(actor.role, spec.carrier, Kind::Created) {
        return Verdict::Rejected {
            refusal: Refusal::Forbidden {
                role: actor.role,
                kind: Kind::Created,
                carrier: spec.carrier,
            },
        };
    }
    if actor.role == Role::Client && spec.client.as_ref() != Some(&actor.user) {
        return Verdict::Rejected {
            refusal: Refusal::NotYours,
        };
    }
    match spec.validate() {
        Ok(()) => Verdict::Applied,
        Err(e) => Verdict::Rejected { refusal: e.into() },
    }
}

/// An event whose transition does not exist from the current status.
fn collision(s: &OrderState, kind: Kind, seen: &Seen, concurrent: bool) -> Verdict {
    use DeliveryStatus::*;
    let invalid = Verdict::Rejected {
        refusal: Refusal::InvalidTransition {
            from: s.status,
            kind,
        },
    };
    // Valid from what the author saw, and they saw something else: concurrent.
    let Some(target) = transition(seen.status, kind).filter(|_| concurrent) else {
        return invalid;
    };
    // Two people made the same move (two dispatchers cancelling): nothing to resolve.
    if target == s.status && !matches!(kind, Kind::Delivered | Kind::Claimed) && !kind.is_physical()
    {
        return Verdict::Applied;
    }
    let conflict = match (kind, s.status) {
        // The parcel is where the courier says it is: physical facts go through.
        (k, Cancelled) if k.is_physical() => {
            return Verdict::Flagged {
                conflict: ConflictKind::CancelledWhileCourierActed,
            };
        }
        (Kind::Claimed, _) => ConflictKind::ClaimLost,
        (Kind::Cancelled, PickedUp | InTransit | AttemptFailed | Delivered | Returned) => {
            ConflictKind::CancelledWhileCourierActed
        }
        (Kind::Assigned | Kind::Unassigned, _) => ConflictKind::ReassignedAfterPickup,
        (Kind::Delivered, Delivered) => ConflictKind::DuplicateDelivery,
        (Kind::Edited, _) => ConflictKind::EditAfterCompletion,
        _ => ConflictKind::StatusChangedConcurrently,
    };
    Verdict::Held { conflict }
}

fn check_edit(
    s: &OrderState,
    spec: &OrderSpec,
    actor: &Actor,
    edit: &Edit,
    previous: Option<&Edit>,
) -> Verdict {
    use DeliveryStatus::*;
    let picked_up = matches!(s.status, PickedUp | InTransit | AttemptFailed);
    if actor.role == Role::Client && picked_up {
        return Verdict::Rejected {
            refusal: Refusal::InvalidTransition {
                from: s.status,
                kind: Kind::Edited,
            },
        };
    }
    if matches!(edit, Edit::Pickup(_)) && picked_up {
        return Verdict::Rejected {
            refusal: Refusal::Invalid {
                field: "pickup".into(),
                message: "the parcel has already been picked up".into(),
            },
        };
    }
    let mut edited = spec.clone();
    edit.apply_to(&mut edited);
    if let Err(e) = edited.validate() {
        return Verdict::Rejected { refusal: e.into() };
    }
    if previous.is_some_and(|p| *p != edit.current(spec)) {
        return Verdict::Flagged {
            conflict: ConflictKind::ConcurrentEdit,
        };
    }
    if matches!(edit, Edit::Dropoff(_)) && picked_up {
        return Verdict::Flagged {
            conflict: ConflictKind::AddressChangedEnRoute,
        };
    }
    Verdict::Applied
}

/// Whether receipts and invoices exist for the order: once it is delivered.
pub fn documents_available(s: &OrderState) -> bool {
    s.spec.is_some() && s.status == DeliveryStatus::Delivered
}

/// Whether an order in `status` is billed on a client's statement (a cancelled
/// one is listed at zero).
pub fn billed(status: DeliveryStatus) -> bool {
    status != DeliveryStatus::Cancelled
}

/// Whether the tenant owes the order a final invoice number (the server
/// allocates it once, gapless; see ARCHITECTURE.md, "Invoice numbers").
pub fn invoice_due(s: &OrderState) -> bool {
    documents_available(s)
}

/// The delivery event `actor` records, citing `pods`: a courier's own delivery,
/// or an operator's record of an external carrier's delivery (whose proof is
/// the carrier's; the cited proofs stay on the record).
pub fn delivery_by(actor: &Actor, pods: Vec<PodId>) -> EventBody {
    EventBody::Delivered {
        pods,
        for_carrier: actor.role.is_operator(),
    }
}

fn check_delivered(
    s: &OrderState,
    spec: &OrderSpec,
    actor: &Actor,
    pods: &[PodId],
    for_carrier: bool,
) -> Verdict {
    if s.picked_up_at.is_none() {
        return Verdict::Rejected {
            refusal: Refusal::InvalidTransition {
                from: s.status,
                kind: Kind::Delivered,
            },
        };
    }
    if actor.role.is_operator() {
        // An operator records an external carrier's delivery; its proof is the carrier's.
        return if for_carrier {
            Verdict::Applied
        } else {
            Verdict::Rejected {
                refusal: Refusal::Invalid {
                    field: "for_carrier".into(),
                    message: "operators record deliveries only for external carriers".into(),
                },
            }
        };
    }
    let mut cited = Vec::with_capacity(pods.len());
    for id in pods {
        let Some(p) = s
            .pods
            .iter()
            .find(|p| &p.record.id == id)
            .map(|p| &p.record)
        else {
            return Verdict::Rejected {
                refusal: Refusal::Invalid {
                    field: "pods".into(),
                    message: format!("proof {id} was not captured for this order"),
                },
            };
        };
        cited.push(p);
    }
    let missing = missing_proofs(spec, &combined(cited));
    if missing.is_empty() {
        Verdict::Applied
    } else {
        Verdict::Rejected {
            refusal: Refusal::PodMissing { missing },
        }
    }
}

/// Where an order stands in its courier's work: the one place that says which
/// statuses are a courier's open work and when the parcel is on board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// Nobody's work yet (pending).
    Unassigned,
    /// Assigned, not picked up: the courier still has to collect it.
    ToCollect,
    /// Picked up, in transit, or an attempt failed (the courier still holds
    /// the parcel: re-attempt or return it).
    OnBoard,
    /// Done: delivered.
    Done,
    /// The parcel went back to the sender.
    Failed,
    /// Cancelled: nobody's work.
    Dropped,
}

impl Work {
    pub fn of(status: DeliveryStatus) -> Work {
        match status {
            DeliveryStatus::Pending => Work::Unassigned,
            DeliveryStatus::Assigned => Work::ToCollect,
            DeliveryStatus::PickedUp
            | DeliveryStatus::InTransit
            | DeliveryStatus::AttemptFailed => Work::OnBoard,
            DeliveryStatus::Delivered => Work::Done,
            DeliveryStatus::Returned => Work::Failed,
            DeliveryStatus::Cancelled => Work::Dropped,
        }
    }

    /// Whether the status records a failure: an attempt that failed (still
    /// on board) or a parcel sent back.
    pub fn is_failure(status: DeliveryStatus) -> bool {
        matches!(
            status,
            DeliveryStatus::AttemptFailed | DeliveryStatus::Returned
        )
    }

    /// The stop a courier goes to next for an order in `status`: the pickup
    /// until the parcel is on board, then the drop-off.
    pub fn next_stop(status: DeliveryStatus) -> app_api::StopKind {
        match Work::of(status) {
            Work::Unassigned | Work::ToCollect => app_api::StopKind::Pickup,
            _ => app_api::StopKind::Dropoff,
        }
    }

    /// Statuses that are nobody's work yet (what auto-assignment places).
    pub fn unassigned_statuses() -> Vec<DeliveryStatus> {
        DeliveryStatus::ALL
            .into_iter()
            .filter(|s| Work::of(*s) == Work::Unassigned)
            .collect()
    }

    /// Statuses that are a courier's open work (their queue).
    pub fn open_statuses() -> Vec<DeliveryStatus> {
        DeliveryStatus::ALL
            .into_iter()
            .filter(|s| matches!(Work::of(*s), Work::ToCollect | Work::OnBoard))
            .collect()
    }
}

/// The status changes `actor` may make to the order now, decided by [`check`]
/// itself so a screen never offers what the lifecycle would refuse.
/// [`ActionKind::Deliver`] is offered when only proofs are missing: the POD
/// screen lists them.
pub fn allowed_actions(s: &OrderState, actor: &Actor) -> Vec<ActionKind> {
    if s.spec.is_none() {
        return vec![];
    }
    let seen = s.seen();
    let someone = UserId::new(format!("{}~other", actor.user));
    let candidates: [(ActionKind, EventBody); 14] = [
        (ActionKind::Assign, EventBody::Assigned { courier: someone }),
        (ActionKind::Unassign, EventBody::Unassigned),
        (ActionKind::Claim, EventBody::Claimed),
        (ActionKind::Accept, EventBody::Accepted),
        (
            ActionKind::Decline,
            EventBody::Declined {
                reason: String::new(),
            },
        ),
        (ActionKind::PickUp, EventBody::PickedUp),
        (ActionKind::StartTransit, EventBody::InTransit),
        (
            ActionKind::Deliver,
            EventBody::Delivered {
                pods: vec![],
                for_carrier: false,
            },
        ),
        (
            ActionKind::RecordCarrierDelivery,
            EventBody::Delivered {
                pods: vec![],
                for_carrier: true,
            },
        ),
        (
            ActionKind::FailAttempt,
            EventBody::AttemptFailed {
                reason: String::new(),
            },
        ),
        (
            ActionKind::Return,
            EventBody::Returned {
                reason: String::new(),
            },
        ),
        (
            ActionKind::Cancel,
            EventBody::Cancelled {
                reason: String::new(),
            },
        ),
        (ActionKind::Reopen, EventBody::Reopened),
        // Editing the order's details (address, instructions, notes): the
        // console shows its edit form only when this is offered.
        (
            ActionKind::Edit,
            EventBody::Edited {
                edit: Edit::Notes(String::new()),
                previous: None,
            },
        ),
    ];
    candidates
        .into_iter()
        // A courier's delivery is never "for a carrier" (check treats it as their own).
        .filter(|(kind, _)| *kind != ActionKind::RecordCarrierDelivery || actor.role.is_operator())
        .filter(|(_, body)| {
            matches!(
                check(s, actor, body, &seen),
                Verdict::Applied
                    | Verdict::Flagged { .. }
                    | Verdict::Rejected {
                        refusal: Refusal::PodMissing { .. },
                    }
            )
        })
        .map(|(kind, _)| kind)
        .collect()
}

/// What several proofs provide together (the first photo and signature found).
fn combined<'a>(pods: impl IntoIterator<Item = &'a PodRecord>) -> PodRecord {
    let mut have = PodRecord {
        id: PodId::new(""),
        photo_sha256: None,
        signature_sha256: None,
        qr_verified: false,
        pin_verified: false,
        age_confirmed: false,
        chain: None,
    };
    for p in pods {
        have.photo_sha256 = have.photo_sha256.or(p.photo_sha256.clone());
        have.signature_sha256 = have.signature_sha256.or(p.signature_sha256.clone());
        have.qr_verified |= p.qr_verified;
        have.pin_verified |= p.pin_verified;
        have.age_confirmed |= p.age_confirmed;
    }
    have
}

/// What the order still needs over every proof captured for it, and the proofs a
/// delivery should cite: for each requirement the latest proof that meets it
/// (so a retaken photo wins, and separate proofs are cited, never merged).
///
/// Without a spec there is no order: nothing is missing and nothing is cited (a
/// delivery is refused by [`check`] before proofs matter).
pub fn proofs_for_delivery(state: &OrderState) -> (Vec<ProofKind>, Vec<PodId>) {
    let Some(spec) = state.spec.as_ref() else {
        return (vec![], vec![]);
    };
    let latest =
        |f: fn(&PodRecord) -> bool| state.pods.iter().rev().map(|p| &p.record).find(|p| f(p));
    let parts = [
        latest(|p| p.photo_sha256.is_some()),
        latest(|p| p.signature_sha256.is_some()),
        latest(|p| p.qr_verified),
        latest(|p| p.pin_verified),
        latest(|p| p.age_confirmed),
    ];
    let missing = missing_proofs(spec, &combined(parts.iter().flatten().copied()));
    let mut chosen: Vec<PodId> = Vec::new();
    for p in parts.into_iter().flatten() {
        if !chosen.contains(&p.id) {
            chosen.push(p.id.clone());
        }
    }
    (missing, chosen)
}

/// The proofs `spec` requires that `have` does not provide.
pub fn missing_proofs(spec: &OrderSpec, have: &PodRecord) -> Vec<ProofKind> {
    let req = spec.pod;
    let mut missing = Vec::new();
    if req.photo && have.photo_sha256.is_none() {
        missing.push(ProofKind::Photo);
    }
    if (req.signature || spec.options.signature_required) && have.signature_sha256.is_none() {
        missing.push(ProofKind::Signature);
    }
    if req.qr && !have.qr_verified {
        missing.push(ProofKind::Qr);
    }
    if req.pin && !have.pin_verified {
        missing.push(ProofKind::Pin);
    }
    if spec.options.age_check.is_some() && !have.age_confirmed {
        missing.push(ProofKind::AgeCheck);
    }
    missing
}

/// Records an event and its verdict in the state.
fn apply(s: &mut OrderState, event: Event, verdict: Verdict) {
    let id = event.id();
    let effective = matches!(verdict, Verdict::Applied | Verdict::Flagged { .. });
    let conflict = match &verdict {
        Verdict::Flagged { conflict } | Verdict::Held { conflict } => Some(*conflict),
        _ => None,
    };
    if matches!(
        verdict,
        Verdict::Held {
            conflict: ConflictKind::ClaimLost
        }
    ) {
        // The losing claimant believed the order was theirs; what they then do
        // physically is a fact to surface, not a forgery.
        s.involved.insert(event.actor.user.clone());
    }
    if let Some(kind) = conflict {
        let against = match kind {
            ConflictKind::CancelledWhileCourierActed
            | ConflictKind::StatusChangedConcurrently
            | ConflictKind::DuplicateDelivery
            | ConflictKind::EditAfterCompletion => s.last_status_event.clone(),
            ConflictKind::ActedAfterReassignment
            | ConflictKind::ReassignedAfterPickup
            | ConflictKind::ClaimLost => s.last_assign_event.clone(),
            _ => None,
        };
        s.conflicts.push(Conflict {
            id: id.clone(),
            kind,
            against,
            opened_at: event.at,
            resolved: None,
        });
    }
    if effective {
        s.updated_at = Some(event.at);
        let before = s.status;
        // A flagged physical event lands where its author saw the parcel.
        let base = if transition(s.status, event.body.kind()).is_some() {
            s.status
        } else {
            event.seen.status
        };
        if let Some(to) = transition(base, event.body.kind()) {
            s.status = to;
        }
        match &event.body {
            EventBody::Created { spec } => {
                s.spec = Some(spec.clone());
                s.created_at = Some(event.at);
            }
            EventBody::Edited { edit, .. } => {
                if let Some(spec) = &mut s.spec {
                    edit.apply_to(spec);
                }
            }
            EventBody::PriceSet { cents } => {
                if let Some(spec) = &mut s.spec {
                    spec.price_cents = *cents;
                }
            }
            EventBody::CodSet { cents } => {
                if let Some(spec) = &mut s.spec {
                    spec.cod_cents = *cents;
                }
            }
            EventBody::Assigned { courier } => {
                s.assignee = Some(courier.clone());
                s.accepted = false;
                s.involved.insert(courier.clone());
                s.last_assign_event = Some(id.clone());
            }
            EventBody::Claimed => {
                s.assignee = Some(event.actor.user.clone());
                s.accepted = true;
                s.involved.insert(event.actor.user.clone());
                s.last_assign_event = Some(id.clone());
            }
            EventBody::Unassigned | EventBody::Declined { .. } | EventBody::Reopened => {
                s.assignee = None;
                s.accepted = false;
                s.last_assign_event = Some(id.clone());
            }
            EventBody::Accepted => s.accepted = true,
            EventBody::PickedUp => s.picked_up_at = Some(event.at),
            EventBody::Delivered { pods, .. } => s.delivery = Some((id.clone(), pods.clone())),
            EventBody::PodCaptured { pod } => s.pods.push(CapturedPod {
                record: pod.clone(),
                at: Some(event.at),
                by: Some(event.actor.clone()),
                location: event.location,
            }),
            EventBody::CodCollected { cents } => s.cod_collected = Some(*cents),
            EventBody::ConflictResolved { conflict, note } => {
                if let Some(c) = s
                    .conflicts
                    .iter_mut()
                    .find(|c| &c.id == conflict && c.resolved.is_none())
                {
                    c.resolved = Some(Resolution {
                        by: event.actor.user.clone(),
                        at: event.at,
                        note: note.clone(),
                    });
                }
            }
            EventBody::InTransit
            | EventBody::AttemptFailed { .. }
            | EventBody::Returned { .. }
            | EventBody::Cancelled { .. }
            | EventBody::NoteAdded { .. } => {}
        }
        // A courier acting on a physical fact holds the parcel: the order follows them.
        if event.actor.role == Role::Courier
            && event.body.kind().is_physical()
            && s.assignee.as_ref() != Some(&event.actor.user)
        {
            s.assignee = Some(event.actor.user.clone());
            s.last_assign_event = Some(id.clone());
        }
        if s.status != before {
            s.last_status_event = Some(id.clone());
        }
    }
    s.timeline.push(TimelineEntry { event, verdict });
}

#[cfg(test)]
mod tests;

//! The event vocabulary: what an order's history is made of ([`Event`],
//! [`EventBody`], [`Kind`]) and the proof and edit records events carry.

use super::*;

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
    pub(crate) fn current(&self, spec: &OrderSpec) -> Edit {
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

    pub(crate) fn apply_to(&self, spec: &mut OrderSpec) {
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
    /// The parcel arrived at a hub (`hub.warehouse` names it; its address and
    /// position are the hub's): a pickup order's completion, a pickup &
    /// delivery order's first leg. Nobody carries it afterwards.
    ReceivedAtHub {
        hub: Stop,
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
    ReceivedAtHub,
}

impl Kind {
    pub const ALL: [Kind; 21] = [
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
        Kind::ReceivedAtHub,
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
                | Kind::ReceivedAtHub
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
            EventBody::ReceivedAtHub { .. } => Kind::ReceivedAtHub,
        }
    }
}

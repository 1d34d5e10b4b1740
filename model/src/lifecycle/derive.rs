//! [`OrderState`] and [`derive`]: the events folded in HLC order through
//! [`check`], with conflicts and rejected events kept in the timeline.

use super::*;

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
    /// The hub a pickup & delivery order waits at between its legs (from its
    /// receipt until the last leg's pickup): that leg starts there.
    #[serde(default)]
    pub staged: Option<Stop>,
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
            staged: None,
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

/// Records an event and its verdict in the state.
pub(crate) fn apply(s: &mut OrderState, event: Event, verdict: Verdict) {
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
        let leg = s.leg();
        // A flagged physical event lands where its author saw the parcel.
        let base = if transition(leg, s.status, event.body.kind()).is_some() {
            s.status
        } else {
            event.seen.status
        };
        if let Some(to) = transition(leg, base, event.body.kind()) {
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
            EventBody::PickedUp => {
                s.picked_up_at = Some(event.at);
                s.staged = None;
            }
            EventBody::ReceivedAtHub { hub } => {
                // The hub holds the parcel now; nobody carries it.
                s.assignee = None;
                s.accepted = false;
                s.last_assign_event = Some(id.clone());
                if s.status == DeliveryStatus::Delivered {
                    // A pickup order: its receipt is the delivery that counts.
                    s.delivery = Some((id.clone(), Vec::new()));
                } else {
                    s.staged = Some(hub.clone());
                }
            }
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
            && event.body.kind() != Kind::ReceivedAtHub
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

//! What a device asks of the rules: [`decide`] a user's command into an event,
//! the actions a user may take now, the proofs still missing, open work, and
//! whether documents and invoices are due.

use super::*;

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

impl OrderState {
    /// The spec of the order's current leg: staged at a hub, the last leg
    /// starts at the hub instead of the original pickup (what the planner and
    /// the courier's navigation use).
    pub fn leg_spec(&self) -> Option<std::borrow::Cow<'_, OrderSpec>> {
        let spec = self.spec.as_ref()?;
        Some(match &self.staged {
            Some(hub) => {
                let mut leg = spec.clone();
                leg.pickup = hub.clone();
                std::borrow::Cow::Owned(leg)
            }
            None => std::borrow::Cow::Borrowed(spec),
        })
    }
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
            // Staged at a hub, the last leg is nobody's work yet.
            DeliveryStatus::Pending | DeliveryStatus::AtHub => Work::Unassigned,
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

    /// Whether an order in `status` is still to be delivered (unassigned, to
    /// collect or on board): its window's time left matters.
    pub fn is_due(status: DeliveryStatus) -> bool {
        matches!(
            Work::of(status),
            Work::Unassigned | Work::ToCollect | Work::OnBoard
        )
    }

    /// Statuses that are nobody's work yet (what auto-assignment places).
    pub fn unassigned_statuses() -> Vec<DeliveryStatus> {
        DeliveryStatus::ALL
            .into_iter()
            .filter(|s| Work::of(*s) == Work::Unassigned)
            .collect()
    }

    /// Statuses of an order not ended yet: someone's work, or to be.
    pub fn live_statuses() -> Vec<DeliveryStatus> {
        DeliveryStatus::ALL
            .into_iter()
            .filter(|s| {
                matches!(
                    Work::of(*s),
                    Work::Unassigned | Work::ToCollect | Work::OnBoard
                )
            })
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
    // Any hub will do to ask, except for a pickup order bound for its own.
    let hub = Stop {
        warehouse: Some(
            s.spec
                .as_ref()
                .and_then(|spec| spec.dropoff.warehouse.clone())
                .unwrap_or_else(|| ruta_domain::WarehouseId::new("~hub")),
        ),
        ..Stop::default()
    };
    let candidates: [(ActionKind, EventBody); 15] = [
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
        (ActionKind::ReceiveAtHub, EventBody::ReceivedAtHub { hub }),
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
pub(crate) fn combined<'a>(pods: impl IntoIterator<Item = &'a PodRecord>) -> PodRecord {
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

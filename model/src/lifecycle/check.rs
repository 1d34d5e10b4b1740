//! The rules: who may do what in which status ([`permitted`], [`transition`]),
//! and [`check`], which judges one event against the state it lands on.

use super::*;

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
pub(crate) fn proof_names(missing: &[ProofKind]) -> String {
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
pub(crate) fn collision(s: &OrderState, kind: Kind, seen: &Seen, concurrent: bool) -> Verdict {
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

pub(crate) fn check_edit(
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

pub(crate) fn check_delivered(
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

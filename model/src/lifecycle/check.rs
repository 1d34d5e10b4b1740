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
        PickedUp | AttemptFailed | PodCaptured => {
            (courier && carrier != External) || (operator && carrier == External)
        }
        // Also a hybrid order's hand-over to its last-leg carrier, recorded by an operator.
        InTransit => {
            (courier && carrier != External) || (operator && matches!(carrier, External | Hybrid))
        }
        Returned => (courier && carrier != External) || operator,
        Delivered => {
            (courier && matches!(carrier, Internal | Prime))
                || (operator && matches!(carrier, External | Hybrid))
        }
        CodCollected => (courier && carrier == Internal) || (operator && carrier == External),
        // The hub's staff scan the parcel in; a courier may drop it at an unstaffed hub.
        ReceivedAtHub => operator || (courier && carrier != External),
    }
}

/// What, beside its status, decides where an order's events take it: its
/// type and carrier, and whether the parcel is staged at a hub between the
/// legs of a pickup & delivery order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Leg {
    pub order_type: OrderType,
    pub carrier: CarrierType,
    /// Received at a hub and not yet picked up for the last leg.
    pub staged: bool,
}

impl OrderState {
    /// The order's [`Leg`] now (the default for an order not yet created).
    pub fn leg(&self) -> Leg {
        match &self.spec {
            Some(spec) => Leg {
                order_type: spec.order_type,
                carrier: spec.carrier,
                staged: self.staged.is_some(),
            },
            None => Leg::default(),
        }
    }
}

/// The status an event of `kind` moves an order on `leg` to from `from`, if
/// that transition exists; `Some(from)` for events that do not change the status.
pub fn transition(leg: Leg, from: DeliveryStatus, kind: Kind) -> Option<DeliveryStatus> {
    use DeliveryStatus::*;
    use Kind as K;
    // Where an order waits for a courier: at its hub once staged there.
    let waiting = if leg.staged { AtHub } else { Pending };
    let to = match (kind, from) {
        (K::Assigned, Pending | Assigned | AtHub) => Assigned,
        (K::Unassigned, Assigned) => waiting,
        (K::Claimed, Pending | AtHub) => Assigned,
        (K::Accepted, Assigned) => Assigned,
        (K::Declined, Assigned) => waiting,
        (K::PickedUp, Assigned) => PickedUp,
        (K::InTransit, PickedUp | AttemptFailed) => InTransit,
        // A hybrid order's last leg: the operator hands the parcel to the carrier.
        (K::InTransit, AtHub) if leg.carrier == CarrierType::Hybrid => InTransit,
        // A pickup order ends at its hub: being received there is its completion.
        (K::ReceivedAtHub, PickedUp | InTransit) => match leg.order_type {
            OrderType::Pickup => Delivered,
            OrderType::PickupAndDelivery => AtHub,
            OrderType::Delivery | OrderType::OnDemand => return None,
        },
        (K::Delivered, PickedUp | InTransit) if leg.order_type != OrderType::Pickup => Delivered,
        (K::AttemptFailed, PickedUp | InTransit) => AttemptFailed,
        (K::Returned, PickedUp | InTransit | AttemptFailed | AtHub) => Returned,
        // A parcel that is physically at a hub is returned, not cancelled.
        (K::Cancelled, Pending | Assigned) if !leg.staged => Cancelled,
        (K::Reopened, Cancelled) => Pending,
        (K::PodCaptured | K::CodCollected, PickedUp | InTransit | AttemptFailed | Delivered) => {
            from
        }
        (K::Edited, Pending | Assigned | PickedUp | InTransit | AttemptFailed | AtHub) => from,
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
    if let Some(refusal) = type_refusal(spec, body) {
        return reject(refusal);
    }

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

    if transition(s.leg(), s.status, kind).is_none() {
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
        EventBody::InTransit
            if s.status == DeliveryStatus::AtHub && actor.role == Role::Courier =>
        {
            // The parcel is at the hub: a courier's move on it was made before
            // it got there (or by a modified client).
            if concurrent {
                Verdict::Held {
                    conflict: ConflictKind::StatusChangedConcurrently,
                }
            } else {
                reject(Refusal::InvalidTransition {
                    from: s.status,
                    kind,
                })
            }
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

/// What an order's type forbids outright, whatever its status: a pickup order
/// is completed by its hub, not delivered; only orders that end at a hub (or
/// pass one) are received there, and only at a warehouse (at its own, for a
/// pickup order that names one).
pub(crate) fn type_refusal(spec: &OrderSpec, body: &EventBody) -> Option<Refusal> {
    let invalid = |field: &str, message: String| {
        Some(Refusal::Invalid {
            field: field.into(),
            message,
        })
    };
    match body {
        EventBody::Delivered { .. } if spec.order_type == OrderType::Pickup => invalid(
            "order_type",
            "a pickup order is complete when its hub receives it, not delivered".into(),
        ),
        EventBody::ReceivedAtHub { hub } => {
            let Some(warehouse) = hub
                .warehouse
                .as_ref()
                .filter(|w| !w.as_str().trim().is_empty())
            else {
                return invalid("warehouse", "a hub receipt names its warehouse".into());
            };
            match spec.order_type {
                OrderType::Pickup | OrderType::PickupAndDelivery => {}
                OrderType::Delivery | OrderType::OnDemand => {
                    return invalid(
                        "order_type",
                        format!(
                            "a {} order is not received at a hub; only pickup and pickup & delivery orders are",
                            spec.order_type.label()
                        ),
                    );
                }
            }
            match &spec.dropoff.warehouse {
                Some(own) if spec.order_type == OrderType::Pickup && own != warehouse => invalid(
                    "warehouse",
                    format!(
                        "this pickup order goes to warehouse {}, not {}",
                        own.as_str(),
                        warehouse.as_str()
                    ),
                ),
                _ => None,
            }
        }
        _ => None,
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
    let Some(target) = transition(s.leg(), seen.status, kind).filter(|_| concurrent) else {
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
    let picked_up = matches!(s.status, PickedUp | InTransit | AttemptFailed | AtHub);
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

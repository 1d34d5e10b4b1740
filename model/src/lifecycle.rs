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
    CarrierType, OrderSpec, OrderType, Package, PodRequirements, Priority, ServiceOptions,
    SpecError, Stop,
};
use ruta_domain::{Actor, GeoPoint, OrderId, PodId, Role, UserId};

mod actions;
mod check;
mod derive;
mod events;

pub use actions::*;
pub use check::*;
pub use derive::*;
pub use events::*;

#[cfg(test)]
mod tests;

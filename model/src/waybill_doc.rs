//! Waybills: one Automerge document per waybill — the consignment note that
//! moves a batch of orders under one number (a hub transfer, a hand-over to
//! an external carrier) — and its rules, shared by every device and the
//! server's guard.
//!
//! # States
//! Open (orders are added and removed) → Dispatched (handed over at the
//! origin) → Arrived (received at the destination); an open or dispatched
//! waybill may be Cancelled with a reason. Membership is decided per order by
//! the later stamp (added / removed), and only while the waybill is open:
//! an edit made apart after it was dispatched is kept, ignored and reported.
//! Scanning the waybill's code records the step on every order on it — one
//! intent, an ordinary event per order, each still judged by the order's
//! lifecycle (the device does that; the waybill holds only its own steps).
//! An order on two open waybills at once (added on two devices apart) is
//! shown on both until an operator removes it from one.

use std::collections::BTreeMap;

use automerge::ReadDoc;
use ruta_domain::hlc::Hlc;
use ruta_domain::{Actor, DeviceId, OrderId};
use serde::{Deserialize, Serialize};

use crate::Principal;
use crate::event_doc::{self, AppendRefusal, EventDoc, EventDocError, LedgerEvent, Shape};

/// The document's `schema` field.
pub const WAYBILL_SCHEMA: i64 = 1;
/// The `kind` of a waybill document (in the document and in a user's index).
pub const INDEX_KIND: &str = "waybill";
pub const SHAPE: Shape = Shape {
    kind: INDEX_KIND,
    schema: WAYBILL_SCHEMA,
    fixed: &[],
};
/// Most orders on one waybill.
pub const MAX_ORDERS: usize = 2_000;
/// Longest text field.
pub const MAX_TEXT: usize = 200;

/// One change of a waybill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WaybillChange {
    Created {
        /// Printed and encoded as the barcode (printable ASCII, ≤ 32).
        number: String,
        origin: String,
        destination: String,
        /// The warehouse the orders are received into on arrival, if any.
        #[serde(default)]
        destination_warehouse: Option<String>,
        #[serde(default)]
        carrier: String,
        #[serde(default)]
        seal: Option<String>,
        #[serde(default)]
        reference: Option<String>,
    },
    OrderAdded {
        order: OrderId,
    },
    OrderRemoved {
        order: OrderId,
    },
    /// Handed over at the origin.
    Dispatched,
    /// Received at the destination.
    Arrived,
    Cancelled {
        reason: String,
    },
}

impl WaybillChange {
    pub fn name(&self) -> &'static str {
        match self {
            WaybillChange::Created { .. } => "created",
            WaybillChange::OrderAdded { .. } => "order added",
            WaybillChange::OrderRemoved { .. } => "order removed",
            WaybillChange::Dispatched => "dispatched",
            WaybillChange::Arrived => "arrived",
            WaybillChange::Cancelled { .. } => "cancelled",
        }
    }
}

/// One event of a waybill document (JSON under its id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaybillEvent {
    pub at: Hlc,
    pub actor: Actor,
    pub change: WaybillChange,
}

impl WaybillEvent {
    pub fn id(&self) -> String {
        self.at.to_string()
    }
}

impl LedgerEvent for WaybillEvent {
    fn at(&self) -> &Hlc {
        &self.at
    }
    fn actor(&self) -> &Actor {
        &self.actor
    }
}

pub use crate::event_doc::Invalid;
use crate::event_doc::invalid;

fn text(field: &str, t: &str, required: bool) -> Result<(), Invalid> {
    if required && t.trim().is_empty() {
        return Err(invalid(field, "is required"));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(invalid(field, format!("at most {MAX_TEXT} characters")));
    }
    Ok(())
}

/// Whether `n` can be a waybill number (it is printed as Code 128).
pub fn valid_number(n: &str) -> bool {
    !n.is_empty() && n.len() <= 32 && n.bytes().all(|b| (0x21..0x7f).contains(&b))
}

/// The checks of one change that need no history.
pub fn validate(change: &WaybillChange) -> Result<(), Invalid> {
    match change {
        WaybillChange::Created {
            number,
            origin,
            destination,
            destination_warehouse,
            carrier,
            seal,
            reference,
        } => {
            if !valid_number(number) {
                return Err(invalid(
                    "number",
                    "1-32 printable characters without spaces",
                ));
            }
            text("origin", origin, true)?;
            text("destination", destination, true)?;
            text("carrier", carrier, false)?;
            text(
                "destination_warehouse",
                destination_warehouse.as_deref().unwrap_or(""),
                false,
            )?;
            text("seal", seal.as_deref().unwrap_or(""), false)?;
            text("reference", reference.as_deref().unwrap_or(""), false)
        }
        WaybillChange::OrderAdded { order } | WaybillChange::OrderRemoved { order } => {
            if order.as_str().is_empty() || order.as_str().len() > 64 {
                return Err(invalid("order", "not an order id"));
            }
            Ok(())
        }
        WaybillChange::Cancelled { reason } => text("reason", reason, true),
        WaybillChange::Dispatched | WaybillChange::Arrived => Ok(()),
    }
}

/// Only dispatchers and admins make waybills and record their steps.
pub fn permitted(who: &Principal, _change: &WaybillChange) -> bool {
    who.role.is_operator()
}

/// Where a waybill is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaybillStatus {
    Open,
    Dispatched,
    Arrived,
    Cancelled,
}

/// A waybill as its events make it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WaybillState {
    pub created: Option<WaybillChange>,
    pub status: Option<WaybillStatus>,
    /// On the waybill, in the order they were (last) added.
    pub orders: Vec<OrderId>,
    pub dispatched_at: Option<Hlc>,
    pub arrived_at: Option<Hlc>,
    pub cancelled: Option<String>,
    /// (when, by whom, what), oldest first.
    pub history: Vec<(Hlc, String, String)>,
    /// Events a rule set aside: why.
    pub ignored: Vec<(String, String)>,
}

impl WaybillState {
    pub fn number(&self) -> Option<&str> {
        match &self.created {
            Some(WaybillChange::Created { number, .. }) => Some(number),
            _ => None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.status == Some(WaybillStatus::Open)
    }
}

/// The waybill's state from its events (any order; the same on every replica).
pub fn derive(events: &[WaybillEvent]) -> WaybillState {
    let mut sorted: Vec<&WaybillEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.at);
    let mut st = WaybillState::default();
    let mut member: BTreeMap<OrderId, (Hlc, bool)> = BTreeMap::new();
    for e in sorted {
        let ignore = |st: &mut WaybillState, why: &str| st.ignored.push((e.id(), why.into()));
        let status = st.status;
        match (&e.change, status) {
            (WaybillChange::Created { .. }, None) => {
                st.created = Some(e.change.clone());
                st.status = Some(WaybillStatus::Open);
            }
            (WaybillChange::Created { .. }, Some(_)) => {
                ignore(&mut st, "the waybill already exists");
                continue;
            }
            (_, None) => {
                ignore(&mut st, "the waybill does not exist yet");
                continue;
            }
            (WaybillChange::OrderAdded { order }, Some(WaybillStatus::Open)) => {
                member.insert(order.clone(), (e.at, true));
            }
            (WaybillChange::OrderRemoved { order }, Some(WaybillStatus::Open)) => {
                member.insert(order.clone(), (e.at, false));
            }
            (WaybillChange::OrderAdded { .. } | WaybillChange::OrderRemoved { .. }, _) => {
                ignore(&mut st, "the waybill is no longer open");
                continue;
            }
            (WaybillChange::Dispatched, Some(WaybillStatus::Open)) => {
                if !member.values().any(|(_, on)| *on) {
                    ignore(&mut st, "a waybill without orders is not dispatched");
                    continue;
                }
                st.status = Some(WaybillStatus::Dispatched);
                st.dispatched_at = Some(e.at);
            }
            (WaybillChange::Arrived, Some(WaybillStatus::Dispatched)) => {
                st.status = Some(WaybillStatus::Arrived);
                st.arrived_at = Some(e.at);
            }
            (WaybillChange::Dispatched | WaybillChange::Arrived, _) => {
                ignore(&mut st, "not in that order: open, dispatched, arrived");
                continue;
            }
            (
                WaybillChange::Cancelled { reason },
                Some(WaybillStatus::Open | WaybillStatus::Dispatched),
            ) => {
                st.status = Some(WaybillStatus::Cancelled);
                st.cancelled = Some(reason.clone());
            }
            (WaybillChange::Cancelled { .. }, _) => {
                ignore(&mut st, "an arrived or cancelled waybill is not cancelled");
                continue;
            }
        }
        st.history
            .push((e.at, e.actor.user.to_string(), e.change.name().into()));
    }
    let mut on: Vec<(Hlc, OrderId)> = member
        .into_iter()
        .filter(|(_, (_, on))| *on)
        .map(|(o, (at, _))| (at, o))
        .collect();
    on.sort();
    st.orders = on.into_iter().map(|(_, o)| o).collect();
    st
}

pub type WaybillDocError = EventDocError;
/// A waybill document.
pub type WaybillDoc = EventDoc<WaybillEvent>;

/// A new waybill document (made by the operator's device that writes it).
pub fn create(device: &DeviceId) -> Result<WaybillDoc, WaybillDocError> {
    WaybillDoc::create(SHAPE, device, &[])
}

pub fn load(bytes: &[u8], device: &DeviceId) -> Result<WaybillDoc, WaybillDocError> {
    WaybillDoc::load(SHAPE, bytes, device)
}

/// Whether a document's root says it is a waybill.
pub fn is_waybill_doc(doc: &impl ReadDoc) -> bool {
    event_doc::is_kind(doc, INDEX_KIND)
}

/// Why the server refuses a write to a waybill.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WaybillRefusal {
    #[error(transparent)]
    Append(#[from] AppendRefusal),
    #[error("a new waybill document must hold its creation")]
    NoCreation,
    #[error("event {key} is not a valid waybill event: {problem}")]
    Bad { key: String, problem: String },
    #[error("event {key}: a {role} may not make a {change} event on a waybill")]
    NotPermitted {
        key: String,
        role: String,
        change: String,
    },
}

/// The server's judgment of a peer's write to a waybill: the append-only
/// checks, each added event valid and one the user may make (operators);
/// a new document holds its creation.
pub fn check_write(
    before: &impl ReadDoc,
    after: &impl ReadDoc,
    who: &Principal,
) -> Result<Vec<WaybillEvent>, WaybillRefusal> {
    let (added, new_doc) = event_doc::check_append::<WaybillEvent>(before, after, SHAPE, who)?;
    for event in &added {
        validate(&event.change).map_err(|e| WaybillRefusal::Bad {
            key: event.id(),
            problem: e.to_string(),
        })?;
        if !permitted(who, &event.change) {
            return Err(WaybillRefusal::NotPermitted {
                key: event.id(),
                role: format!("{:?}", who.role).to_lowercase(),
                change: event.change.name().into(),
            });
        }
    }
    if new_doc
        && !added
            .iter()
            .any(|e| matches!(e.change, WaybillChange::Created { .. }))
    {
        return Err(WaybillRefusal::NoCreation);
    }
    Ok(added)
}

#[cfg(test)]
mod tests;

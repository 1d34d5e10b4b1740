//! The server's write guard: which changes a signed-in user may sync into an
//! order document.
//!
//! Order documents are append-only event maps (see [`crate::order_doc`]), so a
//! write is judged by comparing the document before and after the peer's
//! changes:
//! - nothing that existed may change or vanish (root fields, earlier events);
//! - every added event must parse, sit under its own id, be authored by the
//!   authenticated user in their authenticated role, and be an event that role
//!   may make on this order's carrier type ([`lifecycle::permitted`]);
//! - an event's id (its HLC stamp) carries the node of the device it names
//!   ([`node_of`] its `actor.device`), so an event's key space is its device's:
//!   whoever may write as a device is the server's to say (the caller checks
//!   each returned event's device against who is connected), and no user can
//!   occupy the keys another user's device will write next;
//! - a courier who no longer holds the order may add only events made while
//!   they held it (`seen.assignee` is themselves): offline work after a
//!   reassignment is accepted and becomes the lifecycle's conflict;
//! - a new document must be an order document for the id it is synced under,
//!   and a client may only create orders that name themself as the client.
//!
//! The guard does not judge *when* (state): a courier's offline "delivered"
//! after a reassignment is accepted here and becomes a conflict in the
//! lifecycle, so no write from the field is lost. It judges *who* and *what*:
//! a courier's device can never add a price, an assignment, a COD amount or an
//! event in another user's name, whatever the client software.

use std::collections::BTreeMap;

use automerge::{ObjType, ROOT, ReadDoc, Value};

use super::Principal;
use crate::lifecycle::{self, Event, EventBody, Kind};
use crate::order_doc::DOC_SCHEMA;
use ruta_domain::OrderId;
use ruta_domain::hlc::node_of;

/// Why a write was refused. The message names the entry at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteRefusal {
    #[error("new document is not an order document: {0}")]
    NotAnOrderDocument(String),
    #[error("root field {key:?} may not be changed")]
    RootChanged { key: String },
    #[error("event {key} was changed or removed; history is append-only")]
    HistoryRewritten { key: String },
    #[error("event {key} is not a valid event: {problem}")]
    BadEvent { key: String, problem: String },
    #[error("event {key} claims to be by {claimed} but the connection is {actual}")]
    Impersonation {
        key: String,
        claimed: String,
        actual: String,
    },
    #[error(
        "event {key} is stamped with node {node:016x}, not that of the device it names ({device})"
    )]
    ForeignKey {
        key: String,
        node: u64,
        device: String,
    },
    #[error(
        "event {key}: the order is not this courier's, and the event was not made while it was"
    )]
    NotHolder { key: String },
    #[error("event {key}: a {role} may not make a {kind} event on this order")]
    NotPermitted {
        key: String,
        role: String,
        kind: String,
    },
}

/// The parts of a document the guard compares: root entries and event entries,
/// each with every concurrent value.
#[derive(Debug, Default, PartialEq)]
struct View {
    root: BTreeMap<String, Vec<String>>,
    events: BTreeMap<String, Vec<String>>,
}

fn render(value: &Value<'_>, id: &automerge::ObjId) -> String {
    match value {
        Value::Scalar(s) => match s.as_ref() {
            automerge::ScalarValue::Str(t) => format!("s:{t}"),
            other => format!("v:{other:?}"),
        },
        Value::Object(t) => format!("o:{t:?}:{id}"),
    }
}

impl View {
    fn of(doc: &impl ReadDoc) -> Self {
        let mut view = View::default();
        for key in doc.keys(ROOT) {
            let values = doc.get_all(ROOT, key.as_str()).unwrap_or_default();
            if key == "events" {
                for (value, id) in &values {
                    if matches!(value, Value::Object(ObjType::Map)) {
                        for ekey in doc.keys(id) {
                            let evs = doc.get_all(id, ekey.as_str()).unwrap_or_default();
                            view.events
                                .entry(ekey)
                                .or_default()
                                .extend(evs.iter().map(|(v, i)| render(v, i)));
                        }
                    }
                }
            }
            view.root
                .insert(key, values.iter().map(|(v, i)| render(v, i)).collect());
        }
        view
    }
}

/// Judges the change from `before` to `after` made by `who` on the order
/// document synced under `order`. Returns the events added (whose devices the
/// caller checks belong to `who`).
pub fn check_write(
    before: &impl ReadDoc,
    after: &impl ReadDoc,
    order: &OrderId,
    who: &Principal,
) -> Result<Vec<Event>, WriteRefusal> {
    let b = View::of(before);
    let a = View::of(after);
    if b.root.is_empty() {
        check_new_document(&a, order)?;
    } else {
        for (key, values) in &b.root {
            if key != "events" && a.root.get(key) != Some(values) {
                return Err(WriteRefusal::RootChanged { key: key.clone() });
            }
        }
        if a.root.get("events") != b.root.get("events") {
            return Err(WriteRefusal::RootChanged {
                key: "events".into(),
            });
        }
    }
    if let Some(key) = a.root.keys().find(|k| !b.root.contains_key(*k))
        && !b.root.is_empty()
    {
        return Err(WriteRefusal::RootChanged { key: key.clone() });
    }
    for (key, values) in &b.events {
        if a.events.get(key) != Some(values) {
            return Err(WriteRefusal::HistoryRewritten { key: key.clone() });
        }
    }
    let added: Vec<(&String, &Vec<String>)> = a
        .events
        .iter()
        .filter(|(k, _)| !b.events.contains_key(*k))
        .collect();
    if added.is_empty() {
        return Ok(Vec::new());
    }
    let parsed = |key: &str, raw: &str| -> Result<Event, WriteRefusal> {
        let json = raw
            .strip_prefix("s:")
            .ok_or_else(|| WriteRefusal::BadEvent {
                key: key.into(),
                problem: "not a string".into(),
            })?;
        let event: Event = serde_json::from_str(json).map_err(|e| WriteRefusal::BadEvent {
            key: key.into(),
            problem: e.to_string(),
        })?;
        if event.id() != key {
            return Err(WriteRefusal::BadEvent {
                key: key.into(),
                problem: format!("stored under {key} but its id is {}", event.id()),
            });
        }
        Ok(event)
    };
    // The order as it stands with the new events, for its carrier type.
    let all: Vec<Event> = a
        .events
        .iter()
        .flat_map(|(k, vs)| vs.iter().filter_map(move |v| parsed(k, v).ok()))
        .collect();
    let state = lifecycle::derive(order.clone(), all);
    // Who held the order before these events (a courier who no longer does may
    // add only what they did while it was theirs).
    let holder_before = if who.role == ruta_domain::Role::Courier {
        let earlier: Vec<Event> = b
            .events
            .iter()
            .flat_map(|(k, vs)| vs.iter().filter_map(move |v| parsed(k, v).ok()))
            .collect();
        lifecycle::derive(order.clone(), earlier).assignee
    } else {
        None
    };
    let mut new = Vec::with_capacity(added.len());
    for (key, values) in added {
        if values.len() != 1 {
            return Err(WriteRefusal::BadEvent {
                key: key.clone(),
                problem: "written twice concurrently".into(),
            });
        }
        let event = parsed(key, &values[0])?;
        if event.at.node != node_of(event.actor.device.as_str()) {
            return Err(WriteRefusal::ForeignKey {
                key: key.clone(),
                node: event.at.node,
                device: event.actor.device.to_string(),
            });
        }
        if event.actor.user != who.user || event.actor.role != who.role {
            return Err(WriteRefusal::Impersonation {
                key: key.clone(),
                claimed: format!("{} ({:?})", event.actor.user, event.actor.role),
                actual: format!("{} ({:?})", who.user, who.role),
            });
        }
        let kind = event.body.kind();
        let not_permitted = || WriteRefusal::NotPermitted {
            key: key.clone(),
            role: format!("{:?}", who.role).to_lowercase(),
            kind: ruta_domain::enum_str(&kind),
        };
        let carrier = match &event.body {
            EventBody::Created { spec } => {
                if let lifecycle::Verdict::Rejected { refusal } =
                    lifecycle::check_created(&event.actor, spec)
                {
                    return Err(WriteRefusal::NotPermitted {
                        key: key.clone(),
                        role: format!("{:?}", who.role).to_lowercase(),
                        kind: format!("created ({refusal})"),
                    });
                }
                spec.carrier
            }
            _ => match &state.spec {
                Some(spec) => spec.carrier,
                None => return Err(not_permitted()),
            },
        };
        if !lifecycle::permitted(who.role, carrier, kind) {
            return Err(not_permitted());
        }
        if who.role == ruta_domain::Role::Courier
            && holder_before.as_ref() != Some(&who.user)
            && kind != Kind::Claimed
            && event.seen.assignee.as_ref() != Some(&who.user)
        {
            return Err(WriteRefusal::NotHolder { key: key.clone() });
        }
        if kind == Kind::Created && state.created_at.is_some_and(|at| at != event.at) {
            // A second Created on an existing order would replace its spec.
            return Err(not_permitted());
        }
        new.push(event);
    }
    Ok(new)
}

fn check_new_document(a: &View, order: &OrderId) -> Result<(), WriteRefusal> {
    let bad = |m: &str| Err(WriteRefusal::NotAnOrderDocument(m.into()));
    match a.root.get("schema").map(Vec::as_slice) {
        Some([v]) if *v == format!("v:{:?}", automerge::ScalarValue::Int(DOC_SCHEMA)) => {}
        Some([v]) if *v == format!("v:{:?}", automerge::ScalarValue::Uint(DOC_SCHEMA as u64)) => {}
        _ => return bad(&format!("schema must be {DOC_SCHEMA}")),
    }
    match a.root.get("order").map(Vec::as_slice) {
        Some([v]) if *v == format!("s:{order}") => {}
        _ => return bad(&format!("field order must be {order:?}")),
    }
    match a.root.get("events").map(Vec::as_slice) {
        Some([v]) if v.starts_with("o:Map:") => {}
        _ => return bad("no events map"),
    }
    if let Some(key) = a
        .root
        .keys()
        .find(|k| !matches!(k.as_str(), "schema" | "order" | "events"))
    {
        return Err(WriteRefusal::RootChanged { key: key.clone() });
    }
    Ok(())
}

// Tested against real documents written by real cores: app-core/tests/guard.rs.

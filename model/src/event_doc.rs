//! The shape the small synced documents share (trips, cash ledgers): a root
//! with `schema`, `kind`, a few fixed fields and one map `events` holding each
//! event as JSON under its id. Reading, appending and merging them, and the
//! append-only half of the server's guard — the same for every kind, so each
//! kind's module adds only its own rules (who may make which event).

use std::collections::BTreeMap;
use std::marker::PhantomData;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value};
use ruta_domain::hlc::{Hlc, node_of};
use ruta_domain::{Actor, DeviceId};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Principal;
use crate::order_doc::actor_of;

/// A value that is not acceptable: the field and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// One event of an event-map document: stored as JSON under [`LedgerEvent::id`].
pub trait LedgerEvent: Serialize + DeserializeOwned + Clone {
    /// Capture time; also the event's identity.
    fn at(&self) -> &Hlc;
    fn actor(&self) -> &Actor;
    fn id(&self) -> String {
        self.at().to_string()
    }
}

/// A document kind's root: its `kind`, `schema` and the fixed fields it carries
/// besides `events` (written once at creation, never changed).
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub kind: &'static str,
    pub schema: i64,
    pub fixed: &'static [&'static str],
}

impl Shape {
    fn root_keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        ["schema", "kind", "events"]
            .into_iter()
            .chain(self.fixed.iter().copied())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EventDocError {
    #[error("not a {0}")]
    WrongKind(String),
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("corrupt document: {0}")]
    Corrupt(String),
}

/// An event-map document of one kind.
#[derive(Debug)]
pub struct EventDoc<E> {
    doc: AutoCommit,
    events: ObjId,
    shape: Shape,
    _event: PhantomData<E>,
}

impl<E: LedgerEvent> EventDoc<E> {
    /// A new document written by `device`, with its fixed root fields.
    pub fn create(
        shape: Shape,
        device: &DeviceId,
        fixed: &[(&str, &str)],
    ) -> Result<Self, EventDocError> {
        let mut doc = AutoCommit::new().with_actor(actor_of(device));
        let events = write_root(&mut doc, shape, fixed)?;
        Ok(Self::wrap(doc, events, shape))
    }

    /// A document every device creates the same way (a courier's cash ledger,
    /// written first by whoever needs it, perhaps by two devices apart): the
    /// root is one change with a fixed actor and time, so both make the same
    /// change (same hash) and merging them keeps one root, not two competing
    /// `events` maps.
    pub fn create_shared(
        shape: Shape,
        genesis: &str,
        device: &DeviceId,
        fixed: &[(&str, &str)],
    ) -> Result<Self, EventDocError> {
        let seed =
            crate::ids::sha256_hex(format!("ruta-genesis:{}:{genesis}", shape.kind).as_bytes());
        let actor = ActorId::from(hex_bytes(&seed[..32]));
        let mut doc = AutoCommit::new().with_actor(actor);
        let events = write_root(&mut doc, shape, fixed)?;
        doc.commit_with(CommitOptions::default().with_time(0));
        doc.set_actor(actor_of(device));
        Ok(Self::wrap(doc, events, shape))
    }

    fn wrap(doc: AutoCommit, events: ObjId, shape: Shape) -> Self {
        Self {
            doc,
            events,
            shape,
            _event: PhantomData,
        }
    }

    pub fn load(shape: Shape, bytes: &[u8], device: &DeviceId) -> Result<Self, EventDocError> {
        let mut doc = AutoCommit::load(bytes).map_err(|e| EventDocError::Corrupt(e.to_string()))?;
        doc.set_actor(actor_of(device));
        let events = events_of(&doc, shape)?;
        Ok(Self::wrap(doc, events, shape))
    }

    pub fn append(&mut self, event: &E) -> Result<(), EventDocError> {
        let json = serde_json::to_string(event).expect("events serialise");
        self.doc.put(&self.events, event.id(), json)?;
        Ok(())
    }

    pub fn merge_bytes(&mut self, bytes: &[u8]) -> Result<(), EventDocError> {
        self.doc
            .load_incremental(bytes)
            .map_err(|e| EventDocError::Corrupt(e.to_string()))?;
        // A document that only now received its root (created elsewhere).
        self.events = events_of(&self.doc, self.shape)?;
        Ok(())
    }

    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// Every well-formed event (an entry that is not one is ignored).
    pub fn events(&self) -> Vec<E> {
        parse_events(&self.doc, &self.events)
    }

    /// A fixed root field's text.
    pub fn fixed(&self, key: &str) -> Option<String> {
        root_str(&self.doc, key)
    }

    pub fn automerge(&self) -> &AutoCommit {
        &self.doc
    }

    /// The raw document, for tests that write what no device would.
    #[cfg(test)]
    pub(crate) fn automerge_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn heads(&mut self) -> Vec<automerge::ChangeHash> {
        self.doc.get_heads()
    }
}

fn write_root(
    doc: &mut AutoCommit,
    shape: Shape,
    fixed: &[(&str, &str)],
) -> Result<ObjId, EventDocError> {
    doc.put(ROOT, "schema", shape.schema)?;
    doc.put(ROOT, "kind", shape.kind)?;
    for (k, v) in fixed {
        debug_assert!(shape.fixed.contains(k), "{k} is not a fixed field");
        doc.put(ROOT, *k, *v)?;
    }
    Ok(doc.put_object(ROOT, "events", ObjType::Map)?)
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// A root field's text, if it is one.
pub fn root_str(doc: &impl ReadDoc, key: &str) -> Option<String> {
    match doc.get(ROOT, key) {
        Ok(Some((Value::Scalar(s), _))) => s.as_str().map(str::to_owned),
        _ => None,
    }
}

/// Whether a document's root says it is of `kind`.
pub fn is_kind(doc: &impl ReadDoc, kind: &str) -> bool {
    root_str(doc, "kind").as_deref() == Some(kind)
}

/// The events map of a document of `shape`.
pub fn events_of(doc: &impl ReadDoc, shape: Shape) -> Result<ObjId, EventDocError> {
    match doc.get(ROOT, "schema") {
        Ok(Some((Value::Scalar(s), _))) if s.as_i64() == Some(shape.schema) => {}
        _ => {
            return Err(EventDocError::WrongKind(format!(
                "{} document: no schema {}",
                shape.kind, shape.schema
            )));
        }
    }
    if !is_kind(doc, shape.kind) {
        return Err(EventDocError::WrongKind(format!(
            "{} document: its kind is not {}",
            shape.kind, shape.kind
        )));
    }
    match doc.get(ROOT, "events") {
        Ok(Some((Value::Object(ObjType::Map), id))) => Ok(id),
        _ => Err(EventDocError::WrongKind(format!(
            "{} document: no events map",
            shape.kind
        ))),
    }
}

/// Every entry of an events map: key -> each value it holds (concurrent writes
/// of one key are several), as text that compares equal only when unchanged.
pub fn raw_entries(doc: &impl ReadDoc, events: &ObjId) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for key in doc.keys(events) {
        let values = doc.get_all(events, key.as_str()).unwrap_or_default();
        let raw = values
            .iter()
            .map(|(v, id)| match v {
                Value::Scalar(s) => match s.as_str() {
                    Some(t) => format!("s:{t}"),
                    None => format!("v:{s:?}"),
                },
                Value::Object(t) => format!("o:{t:?}:{id}"),
            })
            .collect();
        out.insert(key, raw);
    }
    out
}

/// The well-formed events of an events map (each under its own id).
pub fn parse_events<E: LedgerEvent>(doc: &impl ReadDoc, events: &ObjId) -> Vec<E> {
    raw_entries(doc, events)
        .into_iter()
        .flat_map(|(k, vs)| {
            vs.into_iter()
                .filter_map(|v| v.strip_prefix("s:").map(str::to_owned))
                .filter_map(|j| serde_json::from_str::<E>(&j).ok())
                .filter(move |e| e.id() == k)
        })
        .collect()
}

/// The events of a document of `shape` (empty when it is not one).
pub fn events_in<E: LedgerEvent>(doc: &impl ReadDoc, shape: Shape) -> Vec<E> {
    match events_of(doc, shape) {
        Ok(events) => parse_events(doc, &events),
        Err(_) => Vec::new(),
    }
}

/// Why the server refuses a write to an event-map document, before the kind's
/// own rules are asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppendRefusal {
    #[error("a new document must be well formed: {0}")]
    BadCreation(String),
    #[error("root field {0:?} may not be changed")]
    RootChanged(String),
    #[error("event {0} was changed or removed; history is append-only")]
    HistoryRewritten(String),
    #[error("event {key} is not a valid event: {problem}")]
    Bad { key: String, problem: String },
    #[error("event {key} claims to be by {claimed} but the connection is {actual}")]
    Impersonation {
        key: String,
        claimed: String,
        actual: String,
    },
    #[error("event {key} is stamped with node {node:016x}, not that of the device it names")]
    ForeignKey { key: String, node: u64 },
}

/// The append-only part of judging a peer's write: the root is as it was (a
/// new document's has each field once and nothing else), nothing stored
/// changed, and every added entry is one event that parses, sits under its
/// id, is by the connected user and is stamped by the device it names.
/// Returns the added events and whether the document is new.
pub fn check_append<E: LedgerEvent>(
    before: &impl ReadDoc,
    after: &impl ReadDoc,
    shape: Shape,
    who: &Principal,
) -> Result<(Vec<E>, bool), AppendRefusal> {
    let after_events =
        events_of(after, shape).map_err(|e| AppendRefusal::BadCreation(e.to_string()))?;
    let new_doc = events_of(before, shape).is_err();
    for key in shape.root_keys() {
        let a = after.get_all(ROOT, key).unwrap_or_default();
        let unchanged = if new_doc {
            a.len() == 1
        } else {
            let b = before.get_all(ROOT, key).unwrap_or_default();
            a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.1 == y.1 && x.0 == y.0)
        };
        if !unchanged {
            return Err(AppendRefusal::RootChanged(key.into()));
        }
    }
    if let Some(extra) = after
        .keys(ROOT)
        .find(|k| !shape.root_keys().any(|r| r == k.as_str()))
    {
        return Err(AppendRefusal::RootChanged(extra));
    }
    let b = match events_of(before, shape) {
        Ok(ev) => raw_entries(before, &ev),
        Err(_) => BTreeMap::new(),
    };
    let a = raw_entries(after, &after_events);
    for (key, values) in &b {
        if a.get(key) != Some(values) {
            return Err(AppendRefusal::HistoryRewritten(key.clone()));
        }
    }
    let mut out = Vec::new();
    for (key, values) in a.iter().filter(|(k, _)| !b.contains_key(*k)) {
        let bad = |problem: String| AppendRefusal::Bad {
            key: key.clone(),
            problem,
        };
        let [raw] = values.as_slice() else {
            return Err(bad("written twice concurrently".into()));
        };
        let json = raw
            .strip_prefix("s:")
            .ok_or_else(|| bad("not a string".into()))?;
        let event: E = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        if event.id() != *key {
            return Err(bad(format!(
                "stored under {key} but its id is {}",
                event.id()
            )));
        }
        let actor = event.actor();
        if actor.user != who.user || actor.role != who.role {
            return Err(AppendRefusal::Impersonation {
                key: key.clone(),
                claimed: format!("{} ({:?})", actor.user, actor.role),
                actual: format!("{} ({:?})", who.user, who.role),
            });
        }
        if event.at().node != node_of(actor.device.as_str()) {
            return Err(AppendRefusal::ForeignKey {
                key: key.clone(),
                node: event.at().node,
            });
        }
        out.push(event);
    }
    Ok((out, new_doc))
}

//! The shared document of one order (Automerge).
//!
//! Granularity: one document per order, holding only that order's history — a
//! map from event id to the event as one JSON scalar:
//!
//! ```text
//! { "schema": 1, "order": "<order id>", "events": { "<hlc>": "<event json>", ... } }
//! ```
//!
//! Why this shape (see ARCHITECTURE.md and docs/merges.md):
//! - Per order, so a courier's device can be given exactly its orders, and a
//!   dispatcher's device loads only the orders it touches; a tenant-wide document
//!   would grow without bound and have to be loaded whole.
//! - Append-only: every write adds a key, none edits one. Concurrent appends
//!   merge without loss by construction, and a server can guard writes by
//!   looking only at the events added (author, role, kind).
//! - Events as scalars, not nested objects or Text: one operation per event keeps
//!   documents small and cheap to load.
//!
//! State is never read from the document directly: [`crate::lifecycle::derive`]
//! computes it from the events. Entries that do not parse (a corrupt or hostile
//! peer) are returned as [`BadEntry`]s and never crash derivation.

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, Value};

use crate::lifecycle::Event;
use ruta_domain::{DeviceId, OrderId};

/// The document layout version this build writes and reads.
pub const DOC_SCHEMA: i64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("not an Automerge document: {0}")]
    Corrupt(String),
    #[error("document has schema {found}; this build reads {DOC_SCHEMA}")]
    UnknownSchema { found: i64 },
    #[error("document is not an order document: {0}")]
    NotAnOrder(String),
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("cannot encode event: {0}")]
    Encode(#[from] serde_json::Error),
}

/// An entry of the events map that is not a valid event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadEntry {
    pub key: String,
    pub problem: String,
}

/// One order's shared document.
#[derive(Debug)]
pub struct OrderDoc {
    doc: AutoCommit,
    events: ObjId,
}

/// The Automerge actor of a device: its id bytes (hex) or the UTF-8 of the id.
pub fn actor_of(device: &DeviceId) -> ActorId {
    let hex = device.as_str();
    let bytes: Option<Vec<u8>> = hex
        .len()
        .is_multiple_of(2)
        .then(|| {
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
                .collect()
        })
        .flatten();
    ActorId::from(bytes.unwrap_or_else(|| hex.as_bytes().to_vec()))
}

impl OrderDoc {
    /// A new, empty order document written by `device`.
    pub fn create(order: &OrderId, device: &DeviceId) -> Result<Self, DocError> {
        let mut doc = AutoCommit::new().with_actor(actor_of(device));
        doc.put(ROOT, "schema", DOC_SCHEMA)?;
        doc.put(ROOT, "order", order.as_str())?;
        let events = doc.put_object(ROOT, "events", ObjType::Map)?;
        Ok(Self { doc, events })
    }

    /// The saved form of a new document holding one event: the very change
    /// [`OrderDoc::create`] followed by [`OrderDoc::append`] makes (same
    /// operations, actor, sequence, hence the same hash), encoded straight from
    /// its four operations instead of through a whole in-memory document. It is
    /// an Automerge change chunk (deflated like a saved document), which
    /// [`OrderDoc::load`] reads like a saved document; the first compaction turns
    /// it into one. Several times cheaper than `create` + `append` + `save`,
    /// which bulk import needs.
    pub fn created_bytes(
        order: &OrderId,
        device: &DeviceId,
        event: &Event,
    ) -> Result<Vec<u8>, DocError> {
        use automerge::legacy::{Key, ObjectId, Op, OpId, OpType, SortedVec};
        use automerge::{Change, ExpandedChange, ScalarValue};
        let actor = actor_of(device);
        let put = |obj: ObjectId, key: &str, action: OpType| Op {
            action,
            obj,
            key: Key::Map(key.into()),
            pred: SortedVec::new(),
            insert: false,
        };
        // Operation counters start at 1: the events map is made by the third.
        let events = ObjectId::Id(OpId::new(3, &actor));
        let operations = vec![
            put(
                ObjectId::Root,
                "schema",
                OpType::Put(ScalarValue::Int(DOC_SCHEMA)),
            ),
            put(
                ObjectId::Root,
                "order",
                OpType::Put(ScalarValue::Str(order.as_str().into())),
            ),
            put(ObjectId::Root, "events", OpType::Make(ObjType::Map)),
            put(
                events,
                &event.id(),
                OpType::Put(ScalarValue::Str(serde_json::to_string(event)?.into())),
            ),
        ];
        let mut change = Change::from(ExpandedChange {
            operations,
            actor_id: actor,
            hash: None,
            seq: 1,
            start_op: std::num::NonZeroU64::MIN,
            time: 0,
            message: None,
            deps: Vec::new(),
            extra_bytes: Vec::new(),
            author: None,
        });
        // Compressed like a saved document: half the bytes to write and store.
        Ok(change.bytes().into_owned())
    }

    /// Loads a saved document, then any incremental changes saved after it.
    pub fn load(snapshot: &[u8], changes: &[Vec<u8>], device: &DeviceId) -> Result<Self, DocError> {
        let mut doc = AutoCommit::load(snapshot).map_err(|e| DocError::Corrupt(e.to_string()))?;
        for change in changes {
            doc.load_incremental(change)
                .map_err(|e| DocError::Corrupt(e.to_string()))?;
        }
        doc.set_actor(actor_of(device));
        let events = Self::validate(&doc)?;
        Ok(Self { doc, events })
    }

    fn validate(doc: &AutoCommit) -> Result<ObjId, DocError> {
        match doc.get(ROOT, "schema")? {
            Some((Value::Scalar(s), _)) => match s.as_i64() {
                Some(DOC_SCHEMA) => {}
                Some(found) => return Err(DocError::UnknownSchema { found }),
                None => return Err(DocError::NotAnOrder("schema is not a number".into())),
            },
            _ => return Err(DocError::NotAnOrder("no schema field".into())),
        }
        match doc.get(ROOT, "events")? {
            Some((Value::Object(ObjType::Map), id)) => Ok(id),
            _ => Err(DocError::NotAnOrder("no events map".into())),
        }
    }

    /// The order id the document says it belongs to.
    pub fn order_id(&self) -> Option<OrderId> {
        match self.doc.get(ROOT, "order") {
            Ok(Some((Value::Scalar(s), _))) => s.as_str().map(OrderId::new),
            _ => None,
        }
    }

    /// Adds an event (an append: the key is the event's unique id).
    pub fn append(&mut self, event: &Event) -> Result<(), DocError> {
        let json = serde_json::to_string(event)?;
        self.doc.put(&self.events, event.id(), json)?;
        Ok(())
    }

    /// Every event in the document, including all values of a key written
    /// concurrently twice (only a forged event can reuse an id), and the entries
    /// that are not events.
    pub fn events(&self) -> (Vec<Event>, Vec<BadEntry>) {
        let mut good = Vec::new();
        let mut bad = Vec::new();
        for key in self.doc.keys(&self.events) {
            let values = self
                .doc
                .get_all(&self.events, key.as_str())
                .unwrap_or_default();
            for (value, _) in values {
                let parsed = match &value {
                    Value::Scalar(s) => match s.as_str() {
                        Some(text) => {
                            serde_json::from_str::<Event>(text).map_err(|e| e.to_string())
                        }
                        None => Err("not a string".to_owned()),
                    },
                    Value::Object(t) => Err(format!("an object ({t:?}) instead of an event")),
                };
                match parsed {
                    Ok(event) if event.id() == key => good.push(event),
                    Ok(event) => bad.push(BadEntry {
                        key: key.clone(),
                        problem: format!("key does not match the event's stamp {}", event.id()),
                    }),
                    Err(problem) => bad.push(BadEntry {
                        key: key.clone(),
                        problem,
                    }),
                }
            }
        }
        (good, bad)
    }

    pub fn event_count(&self) -> usize {
        self.doc.length(&self.events)
    }

    /// The whole document, compacted.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// Changes made since the last save (empty if none).
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }

    /// Changes after `heads`, for a peer that has `heads`.
    pub fn save_after(&mut self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// Whether every one of `heads` is in this document's history.
    pub fn has_all(&self, heads: &[ChangeHash]) -> bool {
        heads
            .iter()
            .all(|h| self.doc.get_change_by_hash(h).is_some())
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// Merges changes from a peer (a saved document or incremental changes).
    /// Returns how many operations were new.
    pub fn merge_bytes(&mut self, bytes: &[u8]) -> Result<usize, DocError> {
        // `load_incremental` (and even `load`) skip bytes after the last chunk they
        // can parse: built for files that may end half-written. Bytes from a peer
        // must be whole chunks, so check the framing first. (A strict `load` of
        // the bytes alone is no check: incremental changes lack their deps.)
        check_framing(bytes)?;
        let n = self
            .doc
            .load_incremental(bytes)
            .map_err(|e| DocError::Corrupt(e.to_string()))?;
        Self::validate(&self.doc)?;
        Ok(n)
    }
}

/// Every byte must belong to a complete Automerge chunk: magic bytes, a 4-byte
/// checksum, a type byte, a LEB128 length and that many bytes of content.
fn check_framing(bytes: &[u8]) -> Result<(), DocError> {
    const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
    let corrupt = |at: usize, what: &str| Err(DocError::Corrupt(format!("{what} at byte {at}")));
    if bytes.is_empty() {
        return corrupt(0, "no data");
    }
    let mut at = 0;
    while at < bytes.len() {
        if bytes.get(at..at + 4) != Some(&MAGIC[..]) {
            return corrupt(at, "no chunk header");
        }
        let mut pos = at + 9; // magic, checksum, chunk type
        let mut len: u64 = 0;
        let mut shift = 0;
        loop {
            let Some(&b) = bytes.get(pos) else {
                return corrupt(pos, "truncated chunk length");
            };
            pos += 1;
            len |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return corrupt(pos, "chunk length overflows");
            }
        }
        let end = usize::try_from(len).ok().and_then(|l| pos.checked_add(l));
        match end {
            Some(end) if end <= bytes.len() => at = end,
            _ => return corrupt(at, "truncated chunk"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{EventBody, Seen};
    use ruta_domain::hlc::Hlc;
    use ruta_domain::{Actor, Role, UserId};

    fn event(wall: i64, node: u64, text: &str) -> Event {
        Event {
            at: Hlc {
                wall_ms: wall,
                counter: 0,
                node,
            },
            actor: Actor {
                user: UserId::new("u"),
                role: Role::Dispatcher,
                device: DeviceId::new("d"),
            },
            seen: Seen {
                status: app_api::DeliveryStatus::Pending,
                assignee: None,
            },
            location: None,
            body: EventBody::NoteAdded { text: text.into() },
        }
    }

    #[test]
    fn created_bytes_are_the_change_create_and_append_make() {
        let order = OrderId::new("3f2a0c1e-order");
        let dev = DeviceId::new("aa00aa00aa00aa00");
        let e = event(1_780_000_000_000, 7, "Öhman, \"ovikoodi\" 1234");
        let mut doc = OrderDoc::create(&order, &dev).unwrap();
        doc.append(&e).unwrap();
        let made = doc.doc.get_changes(&[]);
        assert_eq!(made.len(), 1);
        let bytes = OrderDoc::created_bytes(&order, &dev, &e).unwrap();
        let same = automerge::Change::from_bytes(bytes.clone()).unwrap();
        assert_eq!(same.hash(), made[0].hash(), "the same change");
        assert_eq!(same.raw_bytes(), made[0].raw_bytes(), "byte for byte");
        assert!(bytes.len() < same.raw_bytes().len(), "stored deflated");
        let mut loaded = OrderDoc::load(&bytes, &[], &dev).unwrap();
        assert_eq!(loaded.heads(), vec![made[0].hash()]);
        assert_eq!(loaded.order_id(), Some(order.clone()));
        assert_eq!(loaded.events(), (vec![e], vec![]));
        // It goes on like any document: appends, incremental saves, compaction, merges.
        let heads = loaded.heads();
        loaded
            .append(&event(1_780_000_000_001, 7, "later"))
            .unwrap();
        let change = loaded.save_after(&heads);
        let again = OrderDoc::load(&bytes, &[change], &dev).unwrap();
        assert_eq!(again.event_count(), 2);
        let mut other = OrderDoc::load(&loaded.save(), &[], &dev).unwrap();
        assert_eq!(other.merge_bytes(&bytes).unwrap(), 0, "nothing new");
        assert_eq!(other.event_count(), 2);
    }

    #[test]
    fn concurrent_appends_merge_without_loss() {
        let order = OrderId::new("o1");
        let a_dev = DeviceId::new("aa00aa00aa00aa00");
        let b_dev = DeviceId::new("bb00bb00bb00bb00");
        let mut a = OrderDoc::create(&order, &a_dev).unwrap();
        let snapshot = a.save();
        let mut b = OrderDoc::load(&snapshot, &[], &b_dev).unwrap();
        a.append(&event(1, 1, "from a")).unwrap();
        b.append(&event(2, 2, "from b")).unwrap();
        let a_bytes = a.save();
        let b_bytes = b.save();
        a.merge_bytes(&b_bytes).unwrap();
        b.merge_bytes(&a_bytes).unwrap();
        assert_eq!(a.event_count(), 2);
        let (mut ea, bad) = a.events();
        let (mut eb, _) = b.events();
        assert!(bad.is_empty());
        ea.sort_by_key(|e| e.at);
        eb.sort_by_key(|e| e.at);
        assert_eq!(ea, eb);
        assert_eq!(a.order_id(), Some(order));
    }

    #[test]
    fn a_forged_duplicate_key_keeps_both_values() {
        let order = OrderId::new("o1");
        let mut a = OrderDoc::create(&order, &DeviceId::new("aa00aa00aa00aa00")).unwrap();
        let mut b = OrderDoc::load(&a.save(), &[], &DeviceId::new("bb00bb00bb00bb00")).unwrap();
        a.append(&event(5, 1, "genuine")).unwrap();
        b.append(&event(5, 1, "forged with the same stamp"))
            .unwrap();
        let b_bytes = b.save();
        a.merge_bytes(&b_bytes).unwrap();
        let (events, _) = a.events();
        assert_eq!(events.len(), 2, "both survive the key collision");
    }

    #[test]
    fn corrupt_and_foreign_bytes_are_clear_errors() {
        let dev = DeviceId::new("aa00aa00aa00aa00");
        let err = OrderDoc::load(b"definitely not automerge", &[], &dev).unwrap_err();
        assert!(matches!(err, DocError::Corrupt(_)), "{err}");
        let mut other = AutoCommit::new();
        other.put(ROOT, "schema", 99_i64).unwrap();
        let err = OrderDoc::load(&other.save(), &[], &dev).unwrap_err();
        assert!(
            matches!(err, DocError::UnknownSchema { found: 99 }),
            "{err}"
        );
        let mut empty = AutoCommit::new();
        empty.put(ROOT, "hello", "world").unwrap();
        assert!(matches!(
            OrderDoc::load(&empty.save(), &[], &dev),
            Err(DocError::NotAnOrder(_))
        ));
        let mut good = OrderDoc::create(&OrderId::new("o"), &dev).unwrap();
        let mut truncated = good.save();
        truncated.truncate(truncated.len() / 2);
        assert!(OrderDoc::load(&truncated, &[], &dev).is_err());
    }

    #[test]
    fn incremental_changes_merge_but_garbage_does_not() {
        let dev_a = DeviceId::new("aa00aa00aa00aa00");
        let mut a = OrderDoc::create(&OrderId::new("o"), &dev_a).unwrap();
        let mut b = OrderDoc::load(&a.save(), &[], &DeviceId::new("bb00bb00bb00bb00")).unwrap();
        let heads = a.heads();
        a.append(&event(1, 1, "one")).unwrap();
        let change = a.save_after(&heads);
        assert!(b.merge_bytes(&change).unwrap() > 0);
        assert_eq!(b.event_count(), 1);
        let mut garbled = change.clone();
        garbled.extend_from_slice(b"trailing junk");
        assert!(matches!(b.merge_bytes(&garbled), Err(DocError::Corrupt(_))));
        assert!(matches!(
            b.merge_bytes(b"garbage"),
            Err(DocError::Corrupt(_))
        ));
    }

    #[test]
    fn garbage_entries_are_reported_not_fatal() {
        let dev = DeviceId::new("aa00aa00aa00aa00");
        let mut doc = OrderDoc::create(&OrderId::new("o"), &dev).unwrap();
        doc.append(&event(1, 1, "fine")).unwrap();
        let events = doc.events.clone();
        doc.doc.put(&events, "junk", "{not json").unwrap();
        doc.doc.put(&events, "number", 42_i64).unwrap();
        let (good, bad) = doc.events();
        assert_eq!(good.len(), 1);
        assert_eq!(bad.len(), 2);
        assert!(
            bad.iter()
                .any(|b| b.key == "number" && b.problem == "not a string")
        );
    }
}

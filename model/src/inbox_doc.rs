//! A user's inbox: one small document per user (`kind: "inbox"`, id from the
//! user, the same first change on every device) holding what they marked read
//! and how they want to be told of each kind of notification. The
//! notifications themselves are derived from events on each device
//! (`notify`); this is the only state of them, so "read" on one of the
//! user's devices is read on all. Only its owner reads or writes it.

use std::collections::{BTreeMap, BTreeSet};

use app_api::notify::{Channel, NoticeKind};
use automerge::ReadDoc;
use ruta_domain::hlc::Hlc;
use ruta_domain::{Actor, DeviceId, UserId};
use serde::{Deserialize, Serialize};

use crate::Principal;
use crate::event_doc::{self, AppendRefusal, EventDoc, EventDocError, LedgerEvent, Shape};

pub const INDEX_KIND: &str = "inbox";
pub const SHAPE: Shape = Shape {
    kind: INDEX_KIND,
    schema: 1,
    fixed: &["owner"],
};
/// Most notification ids one event marks read.
pub const MAX_IDS: usize = 500;

pub type InboxDoc = EventDoc<InboxEvent>;

/// The document id of `user`'s inbox.
pub fn inbox_id(user: &UserId) -> String {
    crate::ids::derived_uuid(&format!("ruta-inbox:{user}"))
}

pub fn create(user: &UserId, device: &DeviceId) -> Result<InboxDoc, EventDocError> {
    EventDoc::create_shared(SHAPE, user.as_str(), device, &[("owner", user.as_str())])
}

pub fn load(bytes: &[u8], device: &DeviceId) -> Result<InboxDoc, EventDocError> {
    EventDoc::load(SHAPE, bytes, device)
}

pub fn is_inbox_doc(doc: &impl ReadDoc) -> bool {
    event_doc::is_kind(doc, INDEX_KIND)
}

/// Whose inbox a stored document is.
pub fn owner_of(doc: &impl ReadDoc) -> Option<UserId> {
    if !is_inbox_doc(doc) {
        return None;
    }
    event_doc::root_str(doc, "owner")
        .filter(|c| crate::ids::valid_user_id(c))
        .map(UserId::new)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InboxChange {
    Read {
        ids: Vec<String>,
    },
    /// Everything that happened up to this time is read.
    ReadAll {
        up_to_ms: i64,
    },
    Subscribe {
        kind: NoticeKind,
        channel: Channel,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxEvent {
    pub at: Hlc,
    pub actor: Actor,
    #[serde(flatten)]
    pub change: InboxChange,
}

impl InboxEvent {
    pub fn id(&self) -> String {
        self.at.to_string()
    }
}

impl LedgerEvent for InboxEvent {
    fn at(&self) -> &Hlc {
        &self.at
    }
    fn actor(&self) -> &Actor {
        &self.actor
    }
}

/// What the user marked read and chose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InboxState {
    pub read: BTreeSet<String>,
    pub read_all_up_to_ms: i64,
    /// The later choice per kind.
    pub channels: BTreeMap<NoticeKind, Channel>,
}

impl InboxState {
    pub fn is_read(&self, id: &str, at_ms: i64) -> bool {
        at_ms <= self.read_all_up_to_ms || self.read.contains(id)
    }
}

pub fn derive(events: &[InboxEvent]) -> InboxState {
    let mut sorted: Vec<&InboxEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.at);
    let mut st = InboxState::default();
    for e in sorted {
        match &e.change {
            InboxChange::Read { ids } => st.read.extend(ids.iter().cloned()),
            InboxChange::ReadAll { up_to_ms } => {
                st.read_all_up_to_ms = st.read_all_up_to_ms.max(*up_to_ms);
            }
            InboxChange::Subscribe { kind, channel } => {
                st.channels.insert(*kind, *channel);
            }
        }
    }
    st
}

pub use crate::event_doc::Invalid;

pub fn validate(change: &InboxChange) -> Result<(), Invalid> {
    match change {
        InboxChange::Read { ids } if ids.is_empty() || ids.len() > MAX_IDS => Err(
            crate::event_doc::invalid("ids", format!("1 to {MAX_IDS} notification ids")),
        ),
        InboxChange::Read { ids } if ids.iter().any(|i| i.is_empty() || i.len() > 200) => {
            Err(crate::event_doc::invalid("ids", "not a notification id"))
        }
        _ => Ok(()),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InboxRefusal {
    #[error(transparent)]
    Append(#[from] AppendRefusal),
    #[error("this inbox is not {0}'s")]
    NotTheirs(String),
    #[error("event {key}: {problem}")]
    Bad { key: String, problem: String },
}

/// The server's judgment: only the owner writes their inbox, append-only,
/// under the id their user gives.
pub fn check_write(
    doc: &samod_core::DocumentId,
    before: &impl ReadDoc,
    after: &impl ReadDoc,
    who: &Principal,
) -> Result<Vec<InboxEvent>, InboxRefusal> {
    let (added, _) = event_doc::check_append::<InboxEvent>(before, after, SHAPE, who)?;
    let owner = owner_of(after).ok_or_else(|| InboxRefusal::NotTheirs(who.user.to_string()))?;
    if owner != who.user || crate::ids::doc_id_of_uuid(&inbox_id(&owner)).as_ref() != Some(doc) {
        return Err(InboxRefusal::NotTheirs(who.user.to_string()));
    }
    for e in &added {
        validate(&e.change).map_err(|p| InboxRefusal::Bad {
            key: e.id(),
            problem: p.to_string(),
        })?;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::AutoCommit;
    use ruta_domain::Role;
    use ruta_domain::hlc::node_of;

    fn ev(user: &str, device: &str, ms: i64, change: InboxChange) -> InboxEvent {
        InboxEvent {
            at: Hlc {
                wall_ms: ms,
                counter: 0,
                node: node_of(device),
            },
            actor: Actor {
                user: UserId::new(user),
                role: Role::Dispatcher,
                device: DeviceId::new(device),
            },
            change,
        }
    }

    #[test]
    fn two_devices_of_one_user_share_read_state_and_only_the_owner_writes() {
        let dora = UserId::new("dora");
        const A: &str = "a1a1a1a1a1a1a1a1";
        const B: &str = "b1b1b1b1b1b1b1b1";
        let mut a = create(&dora, &DeviceId::new(A)).unwrap();
        let mut b = create(&dora, &DeviceId::new(B)).unwrap();
        assert_eq!(a.heads(), b.heads(), "the same inbox made apart");
        a.append(&ev(
            "dora",
            A,
            1000,
            InboxChange::Read {
                ids: vec!["n1".into()],
            },
        ))
        .unwrap();
        b.append(&ev("dora", B, 2000, InboxChange::ReadAll { up_to_ms: 500 }))
            .unwrap();
        b.append(&ev(
            "dora",
            B,
            3000,
            InboxChange::Subscribe {
                kind: NoticeKind::Status,
                channel: Channel::Off,
            },
        ))
        .unwrap();
        let (sa, sb) = (a.save(), b.save());
        a.merge_bytes(&sb).unwrap();
        b.merge_bytes(&sa).unwrap();
        let (x, y) = (derive(&a.events()), derive(&b.events()));
        assert_eq!(x, y);
        assert!(x.is_read("n1", 9999) && x.is_read("n2", 400) && !x.is_read("n2", 600));
        assert_eq!(x.channels[&NoticeKind::Status], Channel::Off);

        let id = crate::ids::doc_id_of_uuid(&inbox_id(&dora)).unwrap();
        let empty = AutoCommit::new();
        let who = |u: &str| Principal {
            user: UserId::new(u),
            role: Role::Dispatcher,
        };
        assert_eq!(
            check_write(&id, &empty, a.automerge(), &who("dora"))
                .unwrap()
                .len(),
            3
        );
        // Someone else may not write it, even under their own name.
        let mut c = load(&a.save(), &DeviceId::new("c1c1c1c1c1c1c1c1")).unwrap();
        c.append(&ev(
            "dan",
            "c1c1c1c1c1c1c1c1",
            4000,
            InboxChange::ReadAll { up_to_ms: 9 },
        ))
        .unwrap();
        assert!(matches!(
            check_write(&id, a.automerge(), c.automerge(), &who("dan")),
            Err(InboxRefusal::NotTheirs(_))
        ));
        // Nor under another id.
        let other = crate::ids::doc_id_of_uuid(&inbox_id(&UserId::new("dan"))).unwrap();
        assert!(check_write(&other, &empty, a.automerge(), &who("dora")).is_err());
    }
}

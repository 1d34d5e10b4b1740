//! Cash remittance: one Automerge document per courier, the ledger of their
//! cash hand-overs at the depot (what the courier declared, what an operator
//! counted, how a difference was settled), and its rules — shared by every
//! device and the server's guard. What the courier *collected* is not copied
//! here: it is each order's `CodCollected` event, passed to [`derive`].
//!
//! # Hand-overs and discrepancies
//! The courier declares an amount on their phone, which shows a code
//! ([`handover_qr`]); the operator scans it (or types the courier's figure)
//! and records what they counted. A declared amount that differs from the
//! counted one is a **discrepancy**: it stays open until an operator settles
//! it (a recount, charged to the courier, or written off) and is never
//! netted silently. The courier's **outstanding** cash is what they collected
//! less what was received and what was written off.
//!
//! # Offline
//! Both sides write the same document (its id and its first change are the
//! same on every device, [`EventDoc::create_shared`]), so a depot desktop and
//! the courier's phone may each record while apart. A receipt recorded from the
//! scanned code names the courier's hand-over; one recorded without it (typed,
//! offline) is paired on merge with the courier's oldest declaration nobody
//! received, in stamp order — the same pairing on every replica — and the
//! pairing is shown. Two receipts of one hand-over count once (the first by
//! stamp); the other is shown as a duplicate.

use std::collections::BTreeMap;

use app_api::Role;
use automerge::ReadDoc;
use ruta_domain::hlc::Hlc;
use ruta_domain::{Actor, DeviceId, OrderId, UserId};
use serde::{Deserialize, Serialize};

use crate::Principal;
use crate::event_doc::{self, AppendRefusal, EventDoc, EventDocError, LedgerEvent, Shape};

/// The document's `schema` field.
pub const CASH_SCHEMA: i64 = 1;
/// The `kind` of a cash ledger document (in the document and in a user's index).
pub const INDEX_KIND: &str = "cash";
/// A cash ledger's root: its courier is fixed at creation.
pub const SHAPE: Shape = Shape {
    kind: INDEX_KIND,
    schema: CASH_SCHEMA,
    fixed: &["courier"],
};
/// The largest amount of one hand-over (minor units): ten million.
pub const MAX_CENTS: i64 = 1_000_000_000;
/// The longest note.
pub const MAX_NOTE: usize = 500;

/// The document id (a UUID) of `courier`'s cash ledger: the same on every device.
pub fn ledger_id(courier: &UserId) -> String {
    crate::ids::derived_uuid(&format!("ruta-cash-ledger:{courier}"))
}

/// How an operator settles a discrepancy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Resolution {
    /// Counted again: `cents` is what was received.
    Recounted { cents: i64 },
    /// The courier owes the shortfall: it stays in their outstanding cash.
    ChargedToCourier,
    /// The tenant absorbs the difference: the courier no longer owes it.
    WrittenOff,
}

/// One change of a cash ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CashChange {
    /// The courier hands `cents` over (their phone shows the hand-over code).
    Declared {
        handover: String,
        cents: i64,
        #[serde(default)]
        note: String,
    },
    /// The courier takes back a declaration nobody has received.
    Withdrawn { handover: String },
    /// An operator counted a hand-over. `by_code`: the courier's code was
    /// scanned, so `handover` is theirs (and `declared_cents` the code's
    /// figure); otherwise the operator typed the courier's figure, if any, and
    /// `handover` is a new id (paired on merge, see the module's notes).
    Received {
        handover: String,
        cents: i64,
        #[serde(default)]
        by_code: bool,
        #[serde(default)]
        declared_cents: Option<i64>,
        #[serde(default)]
        note: String,
    },
    /// An operator settles a hand-over's discrepancy.
    Resolved {
        handover: String,
        resolution: Resolution,
        #[serde(default)]
        note: String,
    },
}

impl CashChange {
    pub fn name(&self) -> &'static str {
        match self {
            CashChange::Declared { .. } => "declared",
            CashChange::Withdrawn { .. } => "withdrawn",
            CashChange::Received { .. } => "received",
            CashChange::Resolved { .. } => "resolved",
        }
    }

    pub fn handover(&self) -> &str {
        match self {
            CashChange::Declared { handover, .. }
            | CashChange::Withdrawn { handover }
            | CashChange::Received { handover, .. }
            | CashChange::Resolved { handover, .. } => handover,
        }
    }
}

/// One event of a cash ledger (JSON under its id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashEvent {
    pub at: Hlc,
    pub actor: Actor,
    pub change: CashChange,
}

impl CashEvent {
    /// The event's key in the document (its stamp).
    pub fn id(&self) -> String {
        self.at.to_string()
    }
}

impl LedgerEvent for CashEvent {
    fn at(&self) -> &Hlc {
        &self.at
    }
    fn actor(&self) -> &Actor {
        &self.actor
    }
}

pub use crate::event_doc::Invalid;
use crate::event_doc::invalid;

/// Whether `id` may name a hand-over: 1–64 of `A-Z a-z 0-9 - _`.
pub fn valid_handover_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn amount(field: &str, cents: i64) -> Result<(), Invalid> {
    if cents < 0 {
        return Err(invalid(field, "must not be negative"));
    }
    if cents > MAX_CENTS {
        return Err(invalid(field, format!("must be at most {MAX_CENTS}")));
    }
    Ok(())
}

fn note_ok(note: &str) -> Result<(), Invalid> {
    if note.chars().count() > MAX_NOTE {
        return Err(invalid("note", format!("at most {MAX_NOTE} characters")));
    }
    Ok(())
}

/// The checks of one change that need no history.
pub fn validate(change: &CashChange) -> Result<(), Invalid> {
    if !valid_handover_id(change.handover()) {
        return Err(invalid(
            "handover",
            "1-64 letters, digits, '-' or '_' name a hand-over",
        ));
    }
    match change {
        CashChange::Declared { cents, note, .. } => {
            amount("cents", *cents)?;
            if *cents == 0 {
                return Err(invalid("cents", "a hand-over declares some cash"));
            }
            note_ok(note)
        }
        CashChange::Withdrawn { .. } => Ok(()),
        CashChange::Received {
            cents,
            declared_cents,
            note,
            ..
        } => {
            amount("cents", *cents)?;
            if let Some(d) = declared_cents {
                amount("declared_cents", *d)?;
            }
            note_ok(note)
        }
        CashChange::Resolved {
            resolution, note, ..
        } => {
            if let Resolution::Recounted { cents } = resolution {
                amount("resolution.cents", *cents)?;
            }
            note_ok(note)
        }
    }
}

/// Who may make `change` on `courier`'s ledger: the courier declares and
/// withdraws their own hand-overs; operators receive and settle.
pub fn permitted(who: &Principal, courier: &UserId, change: &CashChange) -> bool {
    match change {
        CashChange::Declared { .. } | CashChange::Withdrawn { .. } => {
            who.role == Role::Courier && &who.user == courier
        }
        CashChange::Received { .. } | CashChange::Resolved { .. } => who.role.is_operator(),
    }
}

/// Cash a courier took at a door (each order's `CodCollected` event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collection {
    pub order: OrderId,
    pub cents: i64,
    pub at_ms: i64,
}

/// Where a hand-over stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoverStatus {
    /// Declared by the courier; nobody has received it yet.
    Declared,
    /// Received, and it matches (or nothing was declared to match).
    Received,
    /// Received, but not what was declared, and not settled yet.
    Discrepancy,
    /// Its discrepancy was settled.
    Settled,
    /// The courier took the declaration back.
    Withdrawn,
}

/// One hand-over as the ledger's events make it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handover {
    pub id: String,
    /// First stamp of the hand-over (its declaration, else its receipt).
    pub at: Hlc,
    pub declared_cents: Option<i64>,
    pub declared_at: Option<Hlc>,
    /// The counted amount (a recount replaces it).
    pub received_cents: Option<i64>,
    pub received_at: Option<Hlc>,
    pub received_by: Option<UserId>,
    /// A receipt recorded without the courier's code, paired on merge with
    /// this declaration (its own id).
    pub paired_receipt: Option<String>,
    /// Other receipts of this hand-over (counted once: the first by stamp).
    pub duplicate_receipts: Vec<(UserId, i64)>,
    pub resolution: Option<Resolution>,
    pub resolved_by: Option<UserId>,
    pub withdrawn: bool,
    pub notes: Vec<String>,
}

impl Handover {
    fn new(id: &str, at: Hlc) -> Self {
        Self {
            id: id.to_owned(),
            at,
            declared_cents: None,
            declared_at: None,
            received_cents: None,
            received_at: None,
            received_by: None,
            paired_receipt: None,
            duplicate_receipts: Vec::new(),
            resolution: None,
            resolved_by: None,
            withdrawn: false,
            notes: Vec::new(),
        }
    }

    /// Received less declared (negative: a shortfall), when both are known.
    pub fn difference(&self) -> Option<i64> {
        Some(self.received_cents? - self.declared_cents?)
    }

    pub fn status(&self) -> HandoverStatus {
        match (self.received_cents, self.difference()) {
            (None, _) if self.withdrawn => HandoverStatus::Withdrawn,
            (None, _) => HandoverStatus::Declared,
            _ if self.resolution.is_some() => HandoverStatus::Settled,
            (Some(_), Some(d)) if d != 0 => HandoverStatus::Discrepancy,
            _ if !self.duplicate_receipts.is_empty() => HandoverStatus::Discrepancy,
            _ => HandoverStatus::Received,
        }
    }

    /// What the courier no longer owes because of this hand-over: (received,
    /// written off).
    pub fn settled_cents(&self) -> (i64, i64) {
        let received = self.received_cents.unwrap_or(0);
        let written_off = match (&self.resolution, self.difference()) {
            (Some(Resolution::WrittenOff), Some(d)) if d < 0 => -d,
            _ => 0,
        };
        (received, written_off)
    }
}

/// A courier's cash position and hand-overs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CashState {
    pub courier: Option<UserId>,
    /// In the order they began (stamp).
    pub handovers: Vec<Handover>,
    pub collected_cents: i64,
    pub received_cents: i64,
    pub written_off_cents: i64,
    /// Declared and not received yet.
    pub pending_cents: i64,
    /// Events a rule set aside (a receipt of a withdrawn hand-over...): why.
    pub ignored: Vec<(String, String)>,
}

impl CashState {
    /// Cash the courier still has to hand over.
    pub fn outstanding_cents(&self) -> i64 {
        self.collected_cents - self.received_cents - self.written_off_cents
    }

    pub fn open_discrepancies(&self) -> usize {
        self.handovers
            .iter()
            .filter(|h| h.status() == HandoverStatus::Discrepancy)
            .count()
    }

    pub fn handover(&self, id: &str) -> Option<&Handover> {
        self.handovers
            .iter()
            .find(|h| h.id == id || h.paired_receipt.as_deref() == Some(id))
    }
}

/// The ledger's state from its events (any order; the same on every replica)
/// and the courier's collections.
pub fn derive(
    courier: Option<&UserId>,
    events: &[CashEvent],
    collected: &[Collection],
) -> CashState {
    let mut sorted: Vec<&CashEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.at);
    let mut by_id: BTreeMap<String, Handover> = BTreeMap::new();
    let mut ignored = Vec::new();
    // Declarations first (a receipt may have been stamped before the
    // declaration it names reached its device: clocks differ).
    for e in &sorted {
        let CashChange::Declared {
            handover,
            cents,
            note,
        } = &e.change
        else {
            continue;
        };
        let h = by_id
            .entry(handover.clone())
            .or_insert_with(|| Handover::new(handover, e.at));
        if h.declared_cents.is_some() {
            ignored.push((e.id(), "declared twice; the first counts".into()));
            continue;
        }
        h.declared_cents = Some(*cents);
        h.declared_at = Some(e.at);
        if !note.is_empty() {
            h.notes.push(note.clone());
        }
    }
    // Receipts: of a named hand-over, or (typed, without the courier's code)
    // their own, paired below.
    let mut unmatched_receipts: Vec<String> = Vec::new();
    for e in &sorted {
        let CashChange::Received {
            handover,
            cents,
            by_code,
            declared_cents,
            note,
        } = &e.change
        else {
            continue;
        };
        let known = by_id.contains_key(handover);
        let h = by_id
            .entry(handover.clone())
            .or_insert_with(|| Handover::new(handover, e.at));
        if h.received_cents.is_some() {
            h.duplicate_receipts.push((e.actor.user.clone(), *cents));
            continue;
        }
        h.received_cents = Some(*cents);
        h.received_at = Some(e.at);
        h.received_by = Some(e.actor.user.clone());
        if !note.is_empty() {
            h.notes.push(note.clone());
        }
        if !known {
            // The courier's figure as the operator had it (the code's, or typed).
            h.declared_cents = *declared_cents;
            if !by_code {
                unmatched_receipts.push(handover.clone());
            }
        }
    }
    // Withdrawals: only of what nobody received.
    for e in &sorted {
        if let CashChange::Withdrawn { handover } = &e.change {
            match by_id.get_mut(handover) {
                Some(h) if h.received_cents.is_none() && h.declared_cents.is_some() => {
                    h.withdrawn = true
                }
                Some(_) => ignored.push((e.id(), "the hand-over was already received".into())),
                None => ignored.push((e.id(), "no such hand-over".into())),
            }
        }
    }
    // Pair typed receipts with declarations nobody received, oldest first.
    let mut waiting: Vec<String> = by_id
        .values()
        .filter(|h| h.declared_at.is_some() && h.received_cents.is_none() && !h.withdrawn)
        .map(|h| h.id.clone())
        .collect();
    waiting.sort_by_key(|id| by_id[id].declared_at);
    unmatched_receipts.sort_by_key(|id| by_id[id].received_at);
    for (decl, receipt) in waiting.into_iter().zip(unmatched_receipts) {
        let r = by_id.remove(&receipt).expect("a receipt's hand-over");
        let h = by_id.get_mut(&decl).expect("a waiting declaration");
        h.received_cents = r.received_cents;
        h.received_at = r.received_at;
        h.received_by = r.received_by;
        h.duplicate_receipts.extend(r.duplicate_receipts);
        h.notes.extend(r.notes);
        h.paired_receipt = Some(receipt);
    }
    // Settlements: of a hand-over that was received, first by stamp.
    for e in &sorted {
        let CashChange::Resolved {
            handover,
            resolution,
            note,
        } = &e.change
        else {
            continue;
        };
        let h = by_id
            .values_mut()
            .find(|h| &h.id == handover || h.paired_receipt.as_ref() == Some(handover));
        match h {
            Some(h) if h.received_cents.is_some() && h.resolution.is_none() => {
                if let Resolution::Recounted { cents } = resolution {
                    h.received_cents = Some(*cents);
                }
                h.resolution = Some(resolution.clone());
                h.resolved_by = Some(e.actor.user.clone());
                if !note.is_empty() {
                    h.notes.push(note.clone());
                }
            }
            Some(h) if h.resolution.is_some() => ignored.push((
                e.id(),
                "already settled; the first settlement counts".into(),
            )),
            _ => ignored.push((e.id(), "nothing received to settle".into())),
        }
    }
    let mut handovers: Vec<Handover> = by_id.into_values().collect();
    handovers.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    let mut state = CashState {
        courier: courier.cloned(),
        collected_cents: collected.iter().map(|c| c.cents).sum(),
        ignored,
        ..Default::default()
    };
    for h in &handovers {
        let (received, written_off) = h.settled_cents();
        state.received_cents += received;
        state.written_off_cents += written_off;
        if h.status() == HandoverStatus::Declared {
            state.pending_cents += h.declared_cents.unwrap_or(0);
        }
    }
    state.handovers = handovers;
    state
}

/// The text of a hand-over's code (the courier's phone shows it as a QR).
pub fn handover_qr(courier: &UserId, handover: &str, cents: i64) -> String {
    format!("ruta-cash:1:{courier}:{handover}:{cents}")
}

/// The courier, hand-over and amount a scanned code names.
pub fn parse_handover_qr(text: &str) -> Option<(UserId, String, i64)> {
    let rest = text.trim().strip_prefix("ruta-cash:1:")?;
    let (rest, cents) = rest.rsplit_once(':')?;
    let (courier, handover) = rest.rsplit_once(':')?;
    let cents: i64 = cents.parse().ok()?;
    (crate::ids::valid_user_id(courier) && valid_handover_id(handover) && cents >= 0)
        .then(|| (UserId::new(courier), handover.to_owned(), cents))
}

pub type CashDocError = EventDocError;
/// A cash ledger document.
pub type CashDoc = EventDoc<CashEvent>;

/// `courier`'s ledger as any device first makes it (the same first change everywhere).
pub fn create(courier: &UserId, device: &DeviceId) -> Result<CashDoc, CashDocError> {
    CashDoc::create_shared(
        SHAPE,
        courier.as_str(),
        device,
        &[("courier", courier.as_str())],
    )
}

pub fn load(bytes: &[u8], device: &DeviceId) -> Result<CashDoc, CashDocError> {
    CashDoc::load(SHAPE, bytes, device)
}

/// Whether a document's root says it is a cash ledger.
pub fn is_cash_doc(doc: &impl ReadDoc) -> bool {
    event_doc::is_kind(doc, INDEX_KIND)
}

/// The courier a cash ledger belongs to (its root says).
pub fn courier_of(doc: &impl ReadDoc) -> Option<UserId> {
    if !is_cash_doc(doc) {
        return None;
    }
    event_doc::root_str(doc, "courier")
        .filter(|c| crate::ids::valid_user_id(c))
        .map(UserId::new)
}

/// The events of a ledger (empty when it is not one).
pub fn events_in(doc: &impl ReadDoc) -> Vec<CashEvent> {
    event_doc::events_in(doc, SHAPE)
}

/// Why the server refuses a write to a cash ledger.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CashRefusal {
    #[error(transparent)]
    Append(#[from] AppendRefusal),
    #[error("the ledger's id is not that of {0}'s ledger")]
    WrongLedger(String),
    #[error("event {key} is not a valid cash event: {problem}")]
    Bad { key: String, problem: String },
    #[error("event {key}: a {role} may not make a {change} event on this ledger")]
    NotPermitted {
        key: String,
        role: String,
        change: String,
    },
}

/// The server's judgment of a peer's write to the ledger `doc`: the
/// append-only checks, the root names the courier whose ledger this id is,
/// and each added event is valid and one the user may make ([`permitted`]).
pub fn check_write(
    doc: &samod_core::DocumentId,
    before: &impl ReadDoc,
    after: &impl ReadDoc,
    who: &Principal,
) -> Result<Vec<CashEvent>, CashRefusal> {
    let (added, _) = event_doc::check_append::<CashEvent>(before, after, SHAPE, who)?;
    let courier =
        courier_of(after).ok_or_else(|| CashRefusal::WrongLedger("no valid courier".into()))?;
    if crate::ids::doc_id_of_uuid(&ledger_id(&courier)).as_ref() != Some(doc) {
        return Err(CashRefusal::WrongLedger(courier.to_string()));
    }
    for event in &added {
        validate(&event.change).map_err(|e| CashRefusal::Bad {
            key: event.id(),
            problem: e.to_string(),
        })?;
        if !permitted(who, &courier, &event.change) {
            return Err(CashRefusal::NotPermitted {
                key: event.id(),
                role: format!("{:?}", who.role).to_lowercase(),
                change: event.change.name().into(),
            });
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests;

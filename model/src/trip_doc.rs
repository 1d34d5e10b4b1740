//! Trips (run sheets): one Automerge document per trip, a map of events
//! (append-only, like an order's history), and the trip's rules — the state
//! machine, who may do what, and how concurrent reorders merge — shared by
//! every device (before it writes) and the server's guard (before it accepts).
//!
//! # The sequence merge rule
//! Each stop carries a **rank** (a fractional index, `fractional_index`'s
//! lexicographic hex strings): the sequence is the stops ordered by rank, ties
//! broken by the stop's key. A reorder is a [`TripChange::StopMoved`] event
//! for the one stop that moved, with a rank between its new neighbours — so a
//! dispatcher and a courier who each move a *different* stop while apart both
//! keep their move. Two moves of the *same* stop made without seeing each
//! other: the later stamp (HLC) wins and the earlier is kept as a
//! [`LostMove`] that both sides are shown. Membership (add/remove) is decided
//! per stop by the same stamp order, and a stop is keyed by its order and end,
//! so no merge can lose or duplicate a stop. (Chosen over a list CRDT's moves:
//! Automerge lists have no move operation — a move is delete + insert, which
//! duplicates a stop moved concurrently by two devices — and a per-stop rank
//! needs one small event per move; measured in BENCHMARKS.md.)
//!
//! # States
//! Draft → Published (a dispatcher sends it; it needs a stop) → Started (the
//! courier sets out) → Completed (closed with a reason; a trip whose stops are
//! all done shows Completed without one, see [`TripState::status_with`]).
//! Operators build and edit; the trip's courier may reorder, start and close
//! it once published. Events a state does not allow are kept but ignored
//! (and reported), exactly like an order's.

use std::collections::BTreeMap;

use app_api::Role;
use app_api::StopKind;
use app_api::trips::TripStatus;
use automerge::ReadDoc;
use fractional_index::FractionalIndex;
use ruta_domain::hlc::Hlc;
use ruta_domain::{Actor, DeviceId, OrderId, UserId};
use serde::{Deserialize, Serialize};

use crate::Principal;
use crate::event_doc::{self, AppendRefusal, EventDoc, EventDocError, LedgerEvent, Shape};

/// The document's `schema` field.
pub const TRIP_SCHEMA: i64 = 1;
/// The `kind` of a trip document (in the document and in a user's index).
pub const INDEX_KIND: &str = "trip";
/// Most stops on one trip.
pub const MAX_STOPS: usize = 500;

/// A stop's key: `<order>/<pickup|dropoff>`.
pub fn stop_key(order: &OrderId, kind: StopKind) -> String {
    format!("{order}/{}", kind_name(kind))
}

fn kind_name(kind: StopKind) -> &'static str {
    match kind {
        StopKind::Pickup => "pickup",
        StopKind::Dropoff => "dropoff",
    }
}

/// The order and end a stop key names.
pub fn parse_stop_key(key: &str) -> Option<(OrderId, StopKind)> {
    let (order, kind) = key.rsplit_once('/')?;
    let kind = match kind {
        "pickup" => StopKind::Pickup,
        "dropoff" => StopKind::Dropoff,
        _ => return None,
    };
    (!order.is_empty()).then(|| (OrderId::new(order), kind))
}

/// One change of a trip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TripChange {
    Created {
        courier: UserId,
        name: String,
        /// YYYY-MM-DD.
        date: String,
        #[serde(default)]
        vehicle: Option<String>,
        #[serde(default)]
        start_warehouse: Option<String>,
    },
    StopAdded {
        order: OrderId,
        kind: StopKind,
        rank: String,
    },
    StopRemoved {
        order: OrderId,
        kind: StopKind,
    },
    StopMoved {
        order: OrderId,
        kind: StopKind,
        rank: String,
        /// The event whose rank this move replaces, as its author saw it:
        /// when another event set the rank meanwhile, the two are concurrent.
        #[serde(default)]
        replaces: Option<String>,
    },
    Published,
    Started,
    Closed {
        reason: String,
    },
}

impl TripChange {
    pub fn name(&self) -> &'static str {
        match self {
            TripChange::Created { .. } => "created",
            TripChange::StopAdded { .. } => "stop_added",
            TripChange::StopRemoved { .. } => "stop_removed",
            TripChange::StopMoved { .. } => "stop_moved",
            TripChange::Published => "published",
            TripChange::Started => "started",
            TripChange::Closed { .. } => "closed",
        }
    }

    /// The key of the stop this change is about.
    pub fn stop(&self) -> Option<String> {
        match self {
            TripChange::StopAdded { order, kind, .. }
            | TripChange::StopRemoved { order, kind }
            | TripChange::StopMoved { order, kind, .. } => Some(stop_key(order, *kind)),
            _ => None,
        }
    }
}

/// One event of a trip document (JSON under its id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TripEvent {
    /// Capture time; also the event's identity.
    pub at: Hlc,
    pub actor: Actor,
    pub change: TripChange,
}

impl TripEvent {
    pub fn id(&self) -> String {
        self.at.to_string()
    }
}

pub use crate::event_doc::Invalid;
use crate::event_doc::invalid;

/// Whether `rank` is a rank [`rank_between`] could have made.
pub fn valid_rank(rank: &str) -> bool {
    rank.len() <= 128 && FractionalIndex::from_string(rank).is_ok()
}

/// Checks a change's values.
pub fn validate(change: &TripChange) -> Result<(), Invalid> {
    let order_ok = |o: &OrderId| !o.as_str().is_empty() && o.as_str().len() <= 64;
    match change {
        TripChange::Created {
            courier,
            name,
            date,
            vehicle,
            start_warehouse,
        } => {
            if !crate::ids::valid_user_id(courier.as_str()) {
                return Err(invalid("trip.courier", "not a user id"));
            }
            let n = name.trim().chars().count();
            if n == 0 || n > 80 {
                return Err(invalid("trip.name", "1 to 80 characters"));
            }
            if !valid_date(date) {
                return Err(invalid("trip.date", "a date like 2026-12-03"));
            }
            for (field, v) in [
                ("trip.vehicle", vehicle),
                ("trip.start_warehouse", start_warehouse),
            ] {
                if v.as_ref().is_some_and(|v| v.is_empty() || v.len() > 40) {
                    return Err(invalid(field, "1 to 40 characters"));
                }
            }
            Ok(())
        }
        TripChange::StopAdded { order, rank, .. } | TripChange::StopMoved { order, rank, .. } => {
            if !order_ok(order) {
                return Err(invalid("stop.order", "not an order id"));
            }
            if !valid_rank(rank) {
                return Err(invalid("stop.rank", "not a rank"));
            }
            Ok(())
        }
        TripChange::StopRemoved { order, .. } if order_ok(order) => Ok(()),
        TripChange::StopRemoved { .. } => Err(invalid("stop.order", "not an order id")),
        TripChange::Closed { reason } => {
            let n = reason.trim().chars().count();
            if n == 0 || n > 500 {
                Err(invalid(
                    "trip.reason",
                    "1 to 500 characters: why what is left is left",
                ))
            } else {
                Ok(())
            }
        }
        TripChange::Published | TripChange::Started => Ok(()),
    }
}

fn valid_date(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Who may make `change` on a trip whose courier is `courier` (None: the
/// trip does not exist yet). The state is judged by [`derive`], not here.
pub fn permitted(who: &Principal, courier: Option<&UserId>, change: &TripChange) -> bool {
    let operator = who.role.is_operator();
    let theirs = who.role == Role::Courier && courier == Some(&who.user);
    match change {
        TripChange::Created { .. }
        | TripChange::StopAdded { .. }
        | TripChange::StopRemoved { .. }
        | TripChange::Published => operator,
        TripChange::StopMoved { .. } | TripChange::Started | TripChange::Closed { .. } => {
            operator || theirs
        }
    }
}

/// A rank strictly between `before` and `after` (either may be missing).
/// None when the two are not in order (equal ranks from concurrent inserts:
/// the caller ranks the whole sequence again, see [`ranks_for`]).
pub fn rank_between(before: Option<&str>, after: Option<&str>) -> Option<String> {
    let parse = |r: Option<&str>| match r {
        None => Ok(None),
        Some(r) => FractionalIndex::from_string(r).map(Some).map_err(|_| ()),
    };
    let (a, b) = (parse(before).ok()?, parse(after).ok()?);
    if let (Some(a), Some(b)) = (&a, &b)
        && a >= b
    {
        return None;
    }
    FractionalIndex::new(a.as_ref(), b.as_ref()).map(|f| f.to_string())
}

/// Fresh, evenly growing ranks for `n` stops in order.
pub fn ranks_for(n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    let mut last = FractionalIndex::default();
    for i in 0..n {
        if i > 0 {
            last = FractionalIndex::new_after(&last);
        }
        out.push(last.to_string());
    }
    out
}

/// A stop on the trip.
#[derive(Clone, Debug, PartialEq)]
pub struct TripStop {
    pub order: OrderId,
    pub kind: StopKind,
    pub rank: String,
    /// The event that set the rank (what a move by this device replaces).
    pub ranked_by: String,
    ranked_actor: UserId,
    ranked_at: Hlc,
}

impl TripStop {
    pub fn key(&self) -> String {
        stop_key(&self.order, self.kind)
    }
}

/// A move that lost to a concurrent move of the same stop.
#[derive(Clone, Debug, PartialEq)]
pub struct LostMove {
    pub stop: String,
    pub by: UserId,
    pub at: Hlc,
    pub overridden_by: UserId,
    pub overridden_at: Hlc,
}

/// What a trip's events add up to.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct TripState {
    pub courier: Option<UserId>,
    pub name: String,
    pub date: String,
    pub vehicle: Option<String>,
    pub start_warehouse: Option<String>,
    pub created_by: Option<UserId>,
    /// As recorded; see [`TripState::status_with`] for what to show.
    pub status: Option<TripStatus>,
    pub closed_reason: Option<String>,
    /// In sequence.
    pub stops: Vec<TripStop>,
    pub lost_moves: Vec<LostMove>,
    /// Events that did not apply, with why (a state that did not allow them,
    /// or a forged one).
    pub ignored: Vec<(String, String)>,
    /// `(at, by, what)` oldest first.
    pub history: Vec<(Hlc, UserId, String)>,
}

impl TripState {
    /// The status to show, given how many stops are done: a published or
    /// started trip whose every stop is done is completed.
    pub fn status_with(&self, done: usize) -> TripStatus {
        let s = self.status.unwrap_or(TripStatus::Draft);
        match s {
            TripStatus::Published | TripStatus::Started
                if !self.stops.is_empty() && done >= self.stops.len() =>
            {
                TripStatus::Completed
            }
            s => s,
        }
    }

    /// The stop keys in sequence.
    pub fn sequence(&self) -> Vec<String> {
        self.stops.iter().map(TripStop::key).collect()
    }

    pub fn stop(&self, key: &str) -> Option<&TripStop> {
        self.stops.iter().find(|s| s.key() == key)
    }
}

/// Folds the events in stamp order into the trip's state: deterministic for
/// any arrival order, duplicates ignored.
pub fn derive(events: &[TripEvent]) -> TripState {
    let mut sorted: Vec<&TripEvent> = events.iter().collect();
    sorted.sort_by(|a, b| {
        a.at.cmp(&b.at)
            .then_with(|| a.actor.user.cmp(&b.actor.user))
    });
    sorted.dedup_by(|a, b| a.at == b.at);
    let mut st = TripState::default();
    let mut stops: BTreeMap<String, TripStop> = BTreeMap::new();
    for e in sorted {
        let who = Principal {
            user: e.actor.user.clone(),
            role: e.actor.role,
        };
        let ignore = |st: &mut TripState, why: &str| st.ignored.push((e.id(), why.to_owned()));
        if let Err(bad) = validate(&e.change) {
            ignore(&mut st, &bad.to_string());
            continue;
        }
        if !permitted(&who, st.courier.as_ref(), &e.change) {
            ignore(&mut st, "not permitted for this user");
            continue;
        }
        let status = st.status;
        let open = matches!(
            status,
            Some(TripStatus::Draft | TripStatus::Published | TripStatus::Started)
        );
        if status.is_none() && !matches!(e.change, TripChange::Created { .. }) {
            ignore(&mut st, "the trip was not created yet");
            continue;
        }
        let what: String = match &e.change {
            TripChange::Created {
                courier,
                name,
                date,
                vehicle,
                start_warehouse,
            } => {
                if status.is_some() {
                    ignore(&mut st, "the trip exists already");
                    continue;
                }
                st.courier = Some(courier.clone());
                st.name = name.trim().to_owned();
                st.date = date.clone();
                st.vehicle = vehicle.clone();
                st.start_warehouse = start_warehouse.clone();
                st.created_by = Some(e.actor.user.clone());
                st.status = Some(TripStatus::Draft);
                format!("created for {courier}")
            }
            TripChange::StopAdded { order, kind, rank } => {
                let key = stop_key(order, *kind);
                if !open {
                    ignore(&mut st, "the trip is completed");
                    continue;
                }
                if stops.contains_key(&key) {
                    ignore(&mut st, "the stop is on the trip already");
                    continue;
                }
                if stops.len() >= MAX_STOPS {
                    ignore(&mut st, "the trip has the most stops it may have");
                    continue;
                }
                stops.insert(
                    key.clone(),
                    TripStop {
                        order: order.clone(),
                        kind: *kind,
                        rank: rank.clone(),
                        ranked_by: e.id(),
                        ranked_actor: e.actor.user.clone(),
                        ranked_at: e.at,
                    },
                );
                format!("added {key}")
            }
            TripChange::StopRemoved { order, kind } => {
                let key = stop_key(order, *kind);
                if !open {
                    ignore(&mut st, "the trip is completed");
                    continue;
                }
                if stops.remove(&key).is_none() {
                    ignore(&mut st, "the stop is not on the trip");
                    continue;
                }
                format!("removed {key}")
            }
            TripChange::StopMoved {
                order,
                kind,
                rank,
                replaces,
            } => {
                let key = stop_key(order, *kind);
                if !open {
                    ignore(&mut st, "the trip is completed");
                    continue;
                }
                let Some(stop) = stops.get_mut(&key) else {
                    ignore(&mut st, "the stop is not on the trip");
                    continue;
                };
                if replaces.as_deref() != Some(stop.ranked_by.as_str()) {
                    // Made without seeing the move (or addition) that stands
                    // now: this later one wins, the other is shown as lost.
                    st.lost_moves.push(LostMove {
                        stop: key.clone(),
                        by: stop.ranked_actor.clone(),
                        at: stop.ranked_at,
                        overridden_by: e.actor.user.clone(),
                        overridden_at: e.at,
                    });
                }
                stop.rank = rank.clone();
                stop.ranked_by = e.id();
                stop.ranked_actor = e.actor.user.clone();
                stop.ranked_at = e.at;
                format!("moved {key}")
            }
            TripChange::Published => {
                if status != Some(TripStatus::Draft) {
                    ignore(&mut st, "only a draft is published");
                    continue;
                }
                if stops.is_empty() {
                    ignore(&mut st, "a trip without stops is not published");
                    continue;
                }
                st.status = Some(TripStatus::Published);
                "published".into()
            }
            TripChange::Started => {
                if status != Some(TripStatus::Published) {
                    ignore(&mut st, "only a published trip is started");
                    continue;
                }
                st.status = Some(TripStatus::Started);
                "started".into()
            }
            TripChange::Closed { reason } => {
                if !open {
                    ignore(&mut st, "the trip is completed already");
                    continue;
                }
                st.status = Some(TripStatus::Completed);
                st.closed_reason = Some(reason.trim().to_owned());
                format!("closed: {}", reason.trim())
            }
        };
        st.history.push((e.at, e.actor.user.clone(), what));
    }
    // A lost move whose stop left the trip no longer matters.
    st.lost_moves.retain(|l| stops.contains_key(&l.stop));
    let mut list: Vec<TripStop> = stops.into_values().collect();
    list.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.key().cmp(&b.key())));
    keep_pickups_first(&mut list, &mut st.lost_moves);
    st.stops = list;
    st
}

/// An order's drop-off never comes before its pickup. Each device refuses a
/// move that would do it, but two made apart can (the courier moves the
/// pickup later, a desk the drop-off earlier): the drop-off then goes right
/// after its pickup — the same on every replica — and its move is shown as
/// lost to the pickup's.
fn keep_pickups_first(list: &mut Vec<TripStop>, lost: &mut Vec<LostMove>) {
    let mut i = 0;
    while i < list.len() {
        let s = &list[i];
        if s.kind == StopKind::Dropoff
            && let Some(p) = list[i + 1..]
                .iter()
                .position(|x| x.order == s.order && x.kind == StopKind::Pickup)
        {
            let pickup = i + 1 + p;
            let drop = list.remove(i);
            lost.push(LostMove {
                stop: drop.key(),
                by: drop.ranked_actor.clone(),
                at: drop.ranked_at,
                overridden_by: list[pickup - 1].ranked_actor.clone(),
                overridden_at: list[pickup - 1].ranked_at,
            });
            list.insert(pickup, drop);
            // What slid into `i` is looked at next.
            continue;
        }
        i += 1;
    }
}

/// The moves that put `stop` just before `before` (None: last) in `state`'s
/// sequence: one move when a rank fits between the new neighbours, else the
/// whole sequence ranked again (equal ranks from concurrent inserts).
pub fn moves_to_place(
    state: &TripState,
    stop: &str,
    before: Option<&str>,
) -> Result<Vec<TripChange>, Invalid> {
    let Some(moving) = state.stop(stop) else {
        return Err(invalid("stop", format!("{stop} is not on this trip")));
    };
    if before == Some(stop) {
        return Ok(Vec::new());
    }
    let mut seq: Vec<&TripStop> = state.stops.iter().filter(|s| s.key() != stop).collect();
    let at = match before {
        None => seq.len(),
        Some(b) => seq
            .iter()
            .position(|s| s.key() == b)
            .ok_or_else(|| invalid("before", format!("{b} is not on this trip")))?,
    };
    // An order's pickup stays before its drop-off.
    let before_it = &seq[..at];
    let after_it = &seq[at..];
    let twin = |k: StopKind| {
        stop_key(
            &moving.order,
            match k {
                StopKind::Pickup => StopKind::Dropoff,
                StopKind::Dropoff => StopKind::Pickup,
            },
        )
    };
    let other = twin(moving.kind);
    let broken = match moving.kind {
        StopKind::Pickup => before_it.iter().any(|s| s.key() == other),
        StopKind::Dropoff => after_it.iter().any(|s| s.key() == other),
    };
    if broken {
        return Err(invalid(
            "before",
            "an order's drop-off comes after its pickup",
        ));
    }
    let prev = at.checked_sub(1).map(|i| seq[i].rank.as_str());
    let next = seq.get(at).map(|s| s.rank.as_str());
    if let Some(rank) = rank_between(prev, next) {
        return Ok(vec![move_of(moving, rank)]);
    }
    seq.insert(at, moving);
    Ok(resequence(&seq))
}

/// Moves that give `order` (stop keys, every stop of the trip once) fresh ranks.
pub fn moves_for_sequence(state: &TripState, order: &[String]) -> Result<Vec<TripChange>, Invalid> {
    if order.len() != state.stops.len() {
        return Err(invalid(
            "sequence",
            format!(
                "{} stops given, the trip has {}",
                order.len(),
                state.stops.len()
            ),
        ));
    }
    let mut seq = Vec::with_capacity(order.len());
    for (i, k) in order.iter().enumerate() {
        let s = state.stop(k).ok_or_else(|| {
            invalid(
                &format!("sequence[{i}]"),
                format!("{k} is not on this trip"),
            )
        })?;
        if seq.iter().any(|x: &&TripStop| x.key() == *k) {
            return Err(invalid(
                &format!("sequence[{i}]"),
                format!("{k} is listed twice"),
            ));
        }
        seq.push(s);
    }
    // Only the stops whose place changes need a move when the rest keep theirs.
    Ok(resequence(&seq))
}

fn move_of(stop: &TripStop, rank: String) -> TripChange {
    TripChange::StopMoved {
        order: stop.order.clone(),
        kind: stop.kind,
        rank,
        replaces: Some(stop.ranked_by.clone()),
    }
}

fn resequence(seq: &[&TripStop]) -> Vec<TripChange> {
    let ranks = ranks_for(seq.len());
    seq.iter()
        .zip(ranks)
        .filter(|(s, r)| s.rank != *r)
        .map(|(s, r)| move_of(s, r))
        .collect()
}

/// Stops added after `after` (a stop key; None: at the end, or at the start
/// when `first`), ranked between it and the next stop.
pub fn ranks_after(state: &TripState, after: Option<&str>, n: usize, first: bool) -> Vec<String> {
    let (lo, hi) = match after {
        Some(k) => {
            let i = state.stops.iter().position(|s| s.key() == k);
            match i {
                Some(i) => (
                    Some(state.stops[i].rank.clone()),
                    state.stops.get(i + 1).map(|s| s.rank.clone()),
                ),
                None => (state.stops.last().map(|s| s.rank.clone()), None),
            }
        }
        None if first => (None, state.stops.first().map(|s| s.rank.clone())),
        None => (state.stops.last().map(|s| s.rank.clone()), None),
    };
    let mut out = Vec::with_capacity(n);
    let mut low = lo;
    for _ in 0..n {
        let r = rank_between(low.as_deref(), hi.as_deref())
            .or_else(|| rank_between(low.as_deref(), None))
            .unwrap_or_else(|| ranks_for(1).remove(0));
        out.push(r.clone());
        low = Some(r);
    }
    out
}

/// Whether a stop is done, given its order's status: a pickup once the
/// parcel is on board (or the order ended), a drop-off once the order ended.
pub fn stop_done(kind: StopKind, status: app_api::DeliveryStatus) -> bool {
    use crate::lifecycle::Work;
    matches!(
        (kind, Work::of(status)),
        (_, Work::Done | Work::Failed | Work::Dropped) | (StopKind::Pickup, Work::OnBoard)
    )
}

/// The stop in progress on a started trip: its first stop not done (kept
/// first by a re-optimisation).
pub fn pinned(state: &TripState, done: &[bool]) -> Option<usize> {
    (state.status == Some(TripStatus::Started))
        .then(|| done.iter().position(|d| !d))
        .flatten()
}

/// What `who` may do to the trip now (screens offer exactly these), from
/// the same rules [`derive`] applies.
pub fn allowed(state: &TripState, who: &Principal) -> Vec<app_api::trips::TripActionKind> {
    use app_api::trips::TripActionKind as K;
    let Some(status) = state.status else {
        return Vec::new();
    };
    let may = |c: &TripChange| permitted(who, state.courier.as_ref(), c);
    let open = status != TripStatus::Completed;
    let rank = "x".to_owned();
    let probe_stop = || TripChange::StopMoved {
        order: OrderId::new("x"),
        kind: StopKind::Dropoff,
        rank: rank.clone(),
        replaces: None,
    };
    let probe_add = || TripChange::StopAdded {
        order: OrderId::new("x"),
        kind: StopKind::Dropoff,
        rank: rank.clone(),
    };
    let mut out = Vec::new();
    if status == TripStatus::Draft && !state.stops.is_empty() && may(&TripChange::Published) {
        out.push(K::Publish);
    }
    if status == TripStatus::Published && may(&TripChange::Started) {
        out.push(K::Start);
    }
    if open && may(&TripChange::Closed { reason: "x".into() }) {
        out.push(K::Close);
    }
    if open && state.stops.len() > 1 && may(&probe_stop()) {
        out.push(K::MoveStop);
        out.push(K::Optimise);
    }
    if open && may(&probe_add()) {
        out.push(K::AddOrders);
        if !state.stops.is_empty() {
            out.push(K::RemoveStop);
            out.push(K::MoveToTrip);
        }
    }
    out
}

/// What a stop's QR code on a run sheet says: `RUTA-STOP <trip> <stop key>`.
pub fn stop_qr(trip: &str, stop: &str) -> String {
    format!("RUTA-STOP {trip} {stop}")
}

/// The trip and stop key a scanned run-sheet code names.
pub fn parse_stop_qr(text: &str) -> Option<(String, String)> {
    let rest = text.trim().strip_prefix("RUTA-STOP ")?;
    let (trip, stop) = rest.split_once(' ')?;
    parse_stop_key(stop)?;
    Some((trip.to_owned(), stop.to_owned()))
}

/// Why a document is not a trip document.
/// A trip document's root.
pub const SHAPE: Shape = Shape {
    kind: INDEX_KIND,
    schema: TRIP_SCHEMA,
    fixed: &[],
};

impl LedgerEvent for TripEvent {
    fn at(&self) -> &Hlc {
        &self.at
    }
    fn actor(&self) -> &Actor {
        &self.actor
    }
}

pub type TripDocError = EventDocError;
/// A trip document.
pub type TripDoc = EventDoc<TripEvent>;

/// A new trip document (made by the operator's device that builds it).
pub fn create(device: &DeviceId) -> Result<TripDoc, TripDocError> {
    TripDoc::create(SHAPE, device, &[])
}

pub fn load(bytes: &[u8], device: &DeviceId) -> Result<TripDoc, TripDocError> {
    TripDoc::load(SHAPE, bytes, device)
}

/// Whether a document's root says it is a trip document.
pub fn is_trip_doc(doc: &impl ReadDoc) -> bool {
    event_doc::is_kind(doc, INDEX_KIND)
}

/// The events of a document in any state (empty when it is not a trip's).
pub fn events_in(doc: &impl ReadDoc) -> Vec<TripEvent> {
    event_doc::events_in(doc, SHAPE)
}

/// Why the server refuses a write to a trip document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TripRefusal {
    #[error("a new trip document must hold its creation by an operator: {0}")]
    BadCreation(String),
    #[error("root field {0:?} may not be changed")]
    RootChanged(String),
    #[error("event {0} was changed or removed; history is append-only")]
    HistoryRewritten(String),
    #[error("event {key} is not a valid trip event: {problem}")]
    Bad { key: String, problem: String },
    #[error("event {key} claims to be by {claimed} but the connection is {actual}")]
    Impersonation {
        key: String,
        claimed: String,
        actual: String,
    },
    #[error("event {key} is stamped with node {node:016x}, not that of the device it names")]
    ForeignKey { key: String, node: u64 },
    #[error("event {key}: a {role} may not make a {change} event on this trip")]
    NotPermitted {
        key: String,
        role: String,
        change: String,
    },
}

impl From<AppendRefusal> for TripRefusal {
    fn from(r: AppendRefusal) -> Self {
        match r {
            AppendRefusal::BadCreation(m) => Self::BadCreation(m),
            AppendRefusal::RootChanged(k) => Self::RootChanged(k),
            AppendRefusal::HistoryRewritten(k) => Self::HistoryRewritten(k),
            AppendRefusal::Bad { key, problem } => Self::Bad { key, problem },
            AppendRefusal::Impersonation {
                key,
                claimed,
                actual,
            } => Self::Impersonation {
                key,
                claimed,
                actual,
            },
            AppendRefusal::ForeignKey { key, node } => Self::ForeignKey { key, node },
        }
    }
}

/// The server's judgment of a peer's write to a trip document: the
/// append-only checks ([`event_doc::check_append`]), then every added event
/// is valid and one the connected user's role may make on this trip
/// ([`permitted`]; the trip's courier is the one its stored creation names).
/// A new document must hold a trip's creation by an operator. Returns the
/// added events (whose devices the caller checks belong to `who`). Like the
/// order guard, it judges who and what, not when: a move on a closed trip is
/// kept and ignored by [`derive`].
pub fn check_write(
    before: &impl ReadDoc,
    after: &impl ReadDoc,
    who: &Principal,
) -> Result<Vec<TripEvent>, TripRefusal> {
    let (added, new_doc) = event_doc::check_append::<TripEvent>(before, after, SHAPE, who)?;
    // The trip's courier as its stored history names it (the first creation).
    let mut courier = derive(&events_in(before)).courier;
    for event in &added {
        let key = event.id();
        validate(&event.change).map_err(|e| TripRefusal::Bad {
            key: key.clone(),
            problem: e.to_string(),
        })?;
        if !permitted(who, courier.as_ref(), &event.change) {
            return Err(TripRefusal::NotPermitted {
                key,
                role: format!("{:?}", who.role).to_lowercase(),
                change: event.change.name().into(),
            });
        }
        if courier.is_none()
            && let TripChange::Created { courier: c, .. } = &event.change
        {
            courier = Some(c.clone());
        }
    }
    if new_doc
        && !added
            .iter()
            .any(|e| matches!(e.change, TripChange::Created { .. }))
    {
        return Err(TripRefusal::BadCreation("no creation event".into()));
    }
    Ok(added)
}

/// The courier a trip document's history names (None: not a trip or not created).
pub fn courier_of(doc: &impl ReadDoc) -> Option<UserId> {
    derive(&events_in(doc)).courier
}

#[cfg(test)]
mod tests;

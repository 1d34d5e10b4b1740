//! Route sessions: one Automerge document per day's run of a reusable route
//! (`app_api::config::Route`) by one driver, and its rules, shared by every
//! device and the server's guard.
//!
//! # Identity
//! A session is the route, the day and the driver: its document id and its
//! first change are derived from the three ([`session_id`], created with
//! `event_doc::create_shared`), so two desks that plan the same day apart —
//! by hand, or both from the route's schedule — make one session, not two.
//! Another driver for the same day is another session.
//!
//! # States
//! Planned (orders are attached and detached; a trip may be built from it) →
//! In progress (its trip has started) → Completed (its trip is completed);
//! a session that has not started may be Cancelled with a reason. The status
//! follows the trip ([`SessionState::status_with`]): the session records only
//! its own decisions. Membership is decided per order by the later stamp
//! (attached / detached). The first trip built (stamp order) is the
//! session's; a second built apart on another desk is kept, reported as a
//! conflict to cancel, never silently merged. An order attached to two
//! sessions apart is shown on both until an operator detaches it from one.
//!
//! Operators write sessions; the driver reads theirs (their work is on the
//! session's trip); no one else sees them.

use std::collections::BTreeMap;

use app_api::config::Route;
use automerge::ReadDoc;
use ruta_domain::hlc::Hlc;
use ruta_domain::{Actor, DeviceId, OrderId, UserId};
use serde::{Deserialize, Serialize};

use crate::Principal;
use crate::event_doc::{self, AppendRefusal, EventDoc, EventDocError, LedgerEvent, Shape};

/// The document's `schema` field.
pub const SESSION_SCHEMA: i64 = 1;
/// The `kind` of a route session document (in the document and in a user's index).
pub const INDEX_KIND: &str = "route_session";
pub const SHAPE: Shape = Shape {
    kind: INDEX_KIND,
    schema: SESSION_SCHEMA,
    fixed: &["route", "date", "driver"],
};
/// Most orders on one session.
pub const MAX_ORDERS: usize = 500;
/// Longest text field.
pub const MAX_TEXT: usize = 200;

/// The document id (a UUID) of the session of `route` on `date` driven by `driver`.
pub fn session_id(route: &str, date: &str, driver: &UserId) -> String {
    crate::ids::derived_uuid(&format!("ruta-route-session:{route}:{date}:{driver}"))
}

/// Whether `d` is a calendar date `YYYY-MM-DD`.
pub fn valid_date(d: &str) -> bool {
    let b = d.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r.clone()]
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| d[r].parse::<u32>().ok())
            .flatten()
    };
    let (Some(y), Some(m), Some(day)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (2000..=2200).contains(&y) && (1..=days).contains(&day)
}

/// Where an order's stop is, for matching it to a route's points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StopPlace<'a> {
    /// The warehouse the stop is at, if it is one.
    pub warehouse: Option<&'a str>,
    /// (latitude, longitude), if known.
    pub position: Option<(f64, f64)>,
}

/// The point of `route` a stop is on and how far from it (metres): the
/// point of its warehouse, else the nearest point within the route's
/// attach radius.
pub fn point_of(route: &Route, stop: StopPlace<'_>) -> Option<(usize, f64)> {
    if let Some(w) = stop.warehouse
        && let Some(i) = route
            .points
            .iter()
            .position(|p| p.warehouse.as_deref() == Some(w))
    {
        return Some((i, 0.0));
    }
    let (lat, lon) = stop.position?;
    route
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let d = ruta_domain::geo::haversine_m(lat, lon, p.position.lat, p.position.lon);
            (i, d)
        })
        .filter(|(_, d)| *d <= f64::from(route.attach_radius_m))
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
}

/// The route an order joins by itself: among the routes that attach
/// automatically, one with *every* stop of the order on its points (a
/// pickup at the hub and a drop-off at a store on a "hub → stores" route;
/// a drop-off elsewhere is not the route's work), the nearest in total;
/// ties by route id. The same answer on every device with the same
/// configuration, so desks that attach apart attach alike.
pub fn route_for<'r>(routes: &'r [Route], stops: &[StopPlace<'_>]) -> Option<&'r Route> {
    if stops.is_empty() {
        return None;
    }
    let mut best: Option<(f64, &Route)> = None;
    for r in routes.iter().filter(|r| r.auto_attach) {
        let Some(total) = stops
            .iter()
            .map(|s| point_of(r, *s).map(|(_, d)| d))
            .sum::<Option<f64>>()
        else {
            continue;
        };
        let better = match &best {
            None => true,
            Some((bd, br)) => total < *bd || (total == *bd && r.id < br.id),
        };
        if better {
            best = Some((total, r));
        }
    }
    best.map(|(_, r)| r)
}

/// One change of a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionChange {
    /// The session is planned: the route as it was then (its name, vehicle
    /// and start time are the session's from now on).
    Planned {
        name: String,
        #[serde(default)]
        vehicle: Option<String>,
        /// `HH:MM`, the tenant's time zone.
        start: String,
    },
    OrderAttached {
        order: OrderId,
    },
    OrderDetached {
        order: OrderId,
    },
    /// The session's trip (a trip document's id) was built.
    TripBuilt {
        trip: String,
    },
    Cancelled {
        reason: String,
    },
}

impl SessionChange {
    pub fn name(&self) -> &'static str {
        match self {
            SessionChange::Planned { .. } => "planned",
            SessionChange::OrderAttached { .. } => "order attached",
            SessionChange::OrderDetached { .. } => "order detached",
            SessionChange::TripBuilt { .. } => "trip built",
            SessionChange::Cancelled { .. } => "cancelled",
        }
    }
}

/// One event of a session document (JSON under its id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEvent {
    pub at: Hlc,
    pub actor: Actor,
    pub change: SessionChange,
}

impl SessionEvent {
    pub fn id(&self) -> String {
        self.at.to_string()
    }
}

impl LedgerEvent for SessionEvent {
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

/// The checks of one change that need no history.
pub fn validate(change: &SessionChange) -> Result<(), Invalid> {
    match change {
        SessionChange::Planned {
            name,
            vehicle,
            start,
        } => {
            text("name", name, true)?;
            text("vehicle", vehicle.as_deref().unwrap_or(""), false)?;
            if !crate::config_doc::valid_time_of_day(start) {
                return Err(invalid("start", "a time of day, HH:MM"));
            }
            Ok(())
        }
        SessionChange::OrderAttached { order } | SessionChange::OrderDetached { order } => {
            if order.as_str().is_empty() || order.as_str().len() > 64 {
                return Err(invalid("order", "not an order id"));
            }
            Ok(())
        }
        SessionChange::TripBuilt { trip } => {
            if uuid::Uuid::parse_str(trip).is_err() {
                return Err(invalid("trip", "not a trip id"));
            }
            Ok(())
        }
        SessionChange::Cancelled { reason } => text("reason", reason, true),
    }
}

/// Only dispatchers and admins plan sessions and change them.
pub fn permitted(who: &Principal, _change: &SessionChange) -> bool {
    who.role.is_operator()
}

/// A session's own decisions, before its trip's progress is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Planned,
    InProgress,
    Completed,
    Cancelled,
}

/// A session as its events make it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionState {
    /// The first planning (stamp order).
    pub planned: Option<SessionChange>,
    /// Attached, in the order they were (last) attached.
    pub orders: Vec<OrderId>,
    /// The session's trip: the first built.
    pub trip: Option<String>,
    /// Trips built apart after the first: conflicts to cancel.
    pub extra_trips: Vec<String>,
    pub cancelled: Option<String>,
    /// (when, by whom, what), oldest first.
    pub history: Vec<(Hlc, String, String)>,
    /// Events a rule set aside: why.
    pub ignored: Vec<(String, String)>,
}

impl SessionState {
    pub fn name(&self) -> Option<&str> {
        match &self.planned {
            Some(SessionChange::Planned { name, .. }) => Some(name),
            _ => None,
        }
    }

    pub fn start(&self) -> Option<&str> {
        match &self.planned {
            Some(SessionChange::Planned { start, .. }) => Some(start),
            _ => None,
        }
    }

    pub fn vehicle(&self) -> Option<&str> {
        match &self.planned {
            Some(SessionChange::Planned { vehicle, .. }) => vehicle.as_deref(),
            _ => None,
        }
    }

    /// The status, given its trip's (None: no trip, or the trip has not
    /// arrived on this device): cancelled if cancelled; else as the trip is.
    pub fn status_with(&self, trip: Option<app_api::trips::TripStatus>) -> SessionStatus {
        use app_api::trips::TripStatus;
        if self.cancelled.is_some() {
            return SessionStatus::Cancelled;
        }
        match trip {
            Some(TripStatus::Started) => SessionStatus::InProgress,
            Some(TripStatus::Completed) => SessionStatus::Completed,
            _ => SessionStatus::Planned,
        }
    }
}

/// The session's state from its events (any order; the same on every replica).
pub fn derive(events: &[SessionEvent]) -> SessionState {
    let mut sorted: Vec<&SessionEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.at);
    let mut st = SessionState::default();
    let mut member: BTreeMap<OrderId, (Hlc, bool)> = BTreeMap::new();
    for e in sorted {
        let ignore = |st: &mut SessionState, why: &str| st.ignored.push((e.id(), why.into()));
        let planned = st.planned.is_some();
        let cancelled = st.cancelled.is_some();
        match &e.change {
            SessionChange::Planned { .. } if planned => {
                // Planned twice apart (two desks, or the schedule on both):
                // one session; the first planning holds.
                ignore(&mut st, "the session is already planned");
                continue;
            }
            SessionChange::Planned { .. } => st.planned = Some(e.change.clone()),
            _ if !planned => {
                ignore(&mut st, "the session is not planned yet");
                continue;
            }
            _ if cancelled => {
                ignore(&mut st, "the session is cancelled");
                continue;
            }
            SessionChange::OrderAttached { order } => {
                member.insert(order.clone(), (e.at, true));
            }
            SessionChange::OrderDetached { order } => {
                member.insert(order.clone(), (e.at, false));
            }
            SessionChange::TripBuilt { trip } => {
                if st.trip.is_some() {
                    st.extra_trips.push(trip.clone());
                } else {
                    st.trip = Some(trip.clone());
                }
            }
            SessionChange::Cancelled { reason } => st.cancelled = Some(reason.clone()),
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

pub type SessionDocError = EventDocError;
/// A route session document.
pub type SessionDoc = EventDoc<SessionEvent>;

/// The session's document, made the same way on every device (see the
/// module's "Identity").
pub fn create(
    route: &str,
    date: &str,
    driver: &UserId,
    device: &DeviceId,
) -> Result<SessionDoc, SessionDocError> {
    SessionDoc::create_shared(
        SHAPE,
        &format!("{route}:{date}:{driver}"),
        device,
        &[
            ("route", route),
            ("date", date),
            ("driver", driver.as_str()),
        ],
    )
}

pub fn load(bytes: &[u8], device: &DeviceId) -> Result<SessionDoc, SessionDocError> {
    SessionDoc::load(SHAPE, bytes, device)
}

/// Whether a document's root says it is a route session.
pub fn is_session_doc(doc: &impl ReadDoc) -> bool {
    event_doc::is_kind(doc, INDEX_KIND)
}

/// The route, day and driver a session document's root names, if valid.
pub fn identity_of(doc: &impl ReadDoc) -> Option<(String, String, UserId)> {
    if !is_session_doc(doc) {
        return None;
    }
    let route = event_doc::root_str(doc, "route")?;
    let date = event_doc::root_str(doc, "date").filter(|d| valid_date(d))?;
    let driver = event_doc::root_str(doc, "driver").filter(|d| crate::ids::valid_user_id(d))?;
    (!route.is_empty() && route.len() <= 40).then(|| (route, date, UserId::new(driver)))
}

/// The driver a session document names.
pub fn driver_of(doc: &impl ReadDoc) -> Option<UserId> {
    identity_of(doc).map(|(_, _, d)| d)
}

/// Why the server refuses a write to a route session.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionRefusal {
    #[error(transparent)]
    Append(#[from] AppendRefusal),
    #[error("the document's route, day or driver do not make its id ({0})")]
    WrongSession(String),
    #[error("event {key} is not a valid route session event: {problem}")]
    Bad { key: String, problem: String },
    #[error("event {key}: a {role} may not make a {change} event on a route session")]
    NotPermitted {
        key: String,
        role: String,
        change: String,
    },
}

/// The server's judgment of a peer's write to a route session: the
/// append-only checks, a root whose route, day and driver make the
/// document's id, each added event valid and one the user may make.
pub fn check_write(
    doc: &samod_core::DocumentId,
    before: &impl ReadDoc,
    after: &impl ReadDoc,
    who: &Principal,
) -> Result<Vec<SessionEvent>, SessionRefusal> {
    let (added, _) = event_doc::check_append::<SessionEvent>(before, after, SHAPE, who)?;
    let (route, date, driver) = identity_of(after)
        .ok_or_else(|| SessionRefusal::WrongSession("no valid route, day and driver".into()))?;
    if crate::ids::doc_id_of_uuid(&session_id(&route, &date, &driver)).as_ref() != Some(doc) {
        return Err(SessionRefusal::WrongSession(format!(
            "{route} on {date} by {driver}"
        )));
    }
    for event in &added {
        validate(&event.change).map_err(|e| SessionRefusal::Bad {
            key: event.id(),
            problem: e.to_string(),
        })?;
        if !permitted(who, &event.change) {
            return Err(SessionRefusal::NotPermitted {
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

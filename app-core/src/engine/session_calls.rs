//! Route sessions on a device ([`ruta_model::session_doc`]): `PlanSession`,
//! `PlanSchedule`, `SessionAct`, `ListSessions`, `GetSession`, the
//! automatic attachment of new orders, and the sync doors
//! (`merge_session`, `session_document`, `session_synced`,
//! `pending_sessions`).
//!
//! A session write is one transaction like a waybill's (load or create the
//! shared document, append, derive — an event the rules set aside refuses
//! the action — save, project). Building its trip is two writes, the trip
//! then the session's `TripBuilt`; a crash between them leaves a draft trip
//! the session does not name, which the dispatcher sees in Trips.

use app_api::config::Route;
use app_api::routes::{
    NewSession, SessionAction, SessionHistoryEntry, SessionOrderView, SessionStatus,
    SessionSummary, SessionView,
};
use app_api::trips::{NewTrip, TripAction, TripStatus};
use app_api::{ApiError, OrderQuery, StopKind};
use ruta_model::session_doc::{
    self, SessionChange, SessionDoc, SessionEvent, SessionState, StopPlace,
};

use super::*;
use crate::store::SessionRow;
use ruta_model::policy::Call;

const KIND: &str = session_doc::INDEX_KIND;
/// A stop of an order: its end, warehouse and (latitude, longitude).
type Place = (StopKind, Option<String>, Option<(f64, f64)>);
/// The longest span one `PlanSchedule` or `ListSessions` covers.
const MAX_DAYS: i64 = 31;

fn session_error(e: session_doc::SessionDocError) -> ApiError {
    ApiError::Malformed {
        message: format!("route session document: {e}"),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound {
        what: format!("route session {id}"),
    }
}

fn load_session(
    saved: Option<crate::store::SavedDoc>,
    device: &crate::domain::DeviceId,
) -> Result<Option<SessionDoc>, ApiError> {
    super::ledgers::load_event_doc(session_doc::SHAPE, saved, device)
}

fn row_of(id: &str, doc: &SessionDoc, st: &SessionState) -> SessionRow {
    SessionRow {
        id: id.to_owned(),
        route: doc.fixed("route").unwrap_or_default(),
        date: doc.fixed("date").unwrap_or_default(),
        driver: doc.fixed("driver").unwrap_or_default(),
        name: st.name().unwrap_or_default().to_owned(),
        start: st.start().unwrap_or("00:00").to_owned(),
        cancelled: st.cancelled.is_some(),
        trip: st.trip.clone(),
        orders: st.orders.len() as u32,
        conflicts: st.extra_trips.len() as u32,
        pending: false,
    }
}

fn status_of(s: session_doc::SessionStatus) -> SessionStatus {
    match s {
        session_doc::SessionStatus::Planned => SessionStatus::Planned,
        session_doc::SessionStatus::InProgress => SessionStatus::InProgress,
        session_doc::SessionStatus::Completed => SessionStatus::Completed,
        session_doc::SessionStatus::Cancelled => SessionStatus::Cancelled,
    }
}

fn trip_status_from(s: &str) -> Option<TripStatus> {
    match s {
        "draft" => Some(TripStatus::Draft),
        "published" => Some(TripStatus::Published),
        "started" => Some(TripStatus::Started),
        "completed" => Some(TripStatus::Completed),
        _ => None,
    }
}

fn date_of(field: &str, d: &str) -> Result<jiff::civil::Date, ApiError> {
    let bad = || ApiError::Invalid {
        field: field.into(),
        message: format!("{d:?} is not a date (YYYY-MM-DD)"),
    };
    if !session_doc::valid_date(d) {
        return Err(bad());
    }
    d.parse::<jiff::civil::Date>().map_err(|_| bad())
}

/// The days from `from` to `to`, inclusive, at most [`MAX_DAYS`].
fn days(from: &str, to: &str) -> Result<Vec<jiff::civil::Date>, ApiError> {
    let (a, b) = (date_of("from", from)?, date_of("to", to)?);
    let span = (b - a).get_days() as i64;
    if b < a || span >= MAX_DAYS {
        return Err(ApiError::Invalid {
            field: "to".into(),
            message: format!("from {from} to {to}: 1 to {MAX_DAYS} days, not backwards"),
        });
    }
    Ok((0..=span)
        .filter_map(|i| a.checked_add(jiff::Span::new().days(i)).ok())
        .collect())
}

impl Core {
    fn route(&self, id: &str) -> Result<Route, ApiError> {
        self.tenant_config()
            .routes
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| ApiError::Invalid {
                field: "route".into(),
                message: format!("no route {id:?} in the tenant's configuration"),
            })
    }

    /// Appends `changes` to session `id` in one transaction, creating the
    /// shared document from `identity` (route, day, driver) when this device
    /// has none; refused, nothing written, when the rules set any aside.
    fn write_session(
        &self,
        id: &str,
        identity: Option<(&str, &str, &UserId)>,
        changes: Vec<SessionChange>,
    ) -> Result<SessionState, ApiError> {
        let (actor, _) = self.principal();
        let now = self.clock.now_ms();
        let state = {
            let mut inner = self.lock();
            let device = inner.store.device_id().clone();
            let tx = inner.store.write().map_err(storage)?;
            let mut doc = match (
                load_session(tx.load_doc(id).map_err(storage)?, &device)?,
                identity,
            ) {
                (Some(d), _) => d,
                (None, Some((route, date, driver))) => {
                    session_doc::create(route, date, driver, &device).map_err(session_error)?
                }
                (None, None) => return Err(not_found(id)),
            };
            let mut clock = resume_clock(&tx, &device)?;
            if let Some(latest) = doc.events().iter().map(|e| e.at).max() {
                clock.observe(latest, now);
            }
            let mut ids = Vec::new();
            for change in changes {
                session_doc::validate(&change).map_err(|e| ApiError::Invalid {
                    field: e.field,
                    message: e.message,
                })?;
                let e = SessionEvent {
                    at: clock.tick(now),
                    actor: actor.clone(),
                    change,
                };
                ids.push(e.id());
                doc.append(&e).map_err(session_error)?;
            }
            let state = session_doc::derive(&doc.events());
            if let Some((_, why)) = state.ignored.iter().find(|(k, _)| ids.contains(k)) {
                return Err(ApiError::Refused {
                    code: "session_refused".into(),
                    message: why.clone(),
                });
            }
            tx.put_snapshot(id, KIND, &doc.save()).map_err(storage)?;
            let orders: Vec<String> = state.orders.iter().map(|o| o.to_string()).collect();
            tx.put_session(&row_of(id, &doc, &state), &orders, true)
                .map_err(storage)?;
            tx.set_meta("hlc", &clock.last().to_string())
                .map_err(storage)?;
            tx.commit().map_err(storage)?;
            inner.store.after_commit().map_err(storage)?;
            state
        };
        self.revision
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.ledger_written(LedgerKind::Session, id);
        Ok(state)
    }

    /// The session's state and its (route, day, driver).
    fn session_state(
        &self,
        id: &str,
    ) -> Result<(SessionState, (String, String, String)), ApiError> {
        let inner = self.lock();
        let device = inner.store.device_id().clone();
        let doc = load_session(inner.store.read_doc(id).map_err(storage)?, &device)?
            .ok_or_else(|| not_found(id))?;
        let fixed = |k: &str| doc.fixed(k).unwrap_or_default();
        Ok((
            session_doc::derive(&doc.events()),
            (fixed("route"), fixed("date"), fixed("driver")),
        ))
    }

    /// Plans `new` (the same session when it is planned already); orders
    /// on the route's points join it when the route attaches by itself.
    pub(super) fn plan_session(&self, new: NewSession) -> Result<SessionView, ApiError> {
        super::allow(&self.principal().0, Call::PlanSessions)?;
        date_of("date", &new.date)?;
        let route = self.route(&new.route)?;
        let driver = match new
            .driver
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            Some(d) => d.to_owned(),
            None => route
                .drivers
                .first()
                .cloned()
                .ok_or_else(|| ApiError::Invalid {
                    field: "driver".into(),
                    message: format!("route {} has no driver: choose one", route.name),
                })?,
        };
        let directory = self.courier_directory();
        if !directory.is_empty() && !directory.iter().any(|c| c.user == driver) {
            return Err(ApiError::Invalid {
                field: "driver".into(),
                message: format!("{driver:?} is not one of the tenant's couriers"),
            });
        }
        let driver = UserId::new(driver);
        let id = session_doc::session_id(&route.id, &new.date, &driver);
        if let Ok((st, _)) = self.session_state(&id)
            && st.planned.is_some()
        {
            if let Some(reason) = &st.cancelled {
                return Err(ApiError::Refused {
                    code: "session_cancelled".into(),
                    message: format!(
                        "this session was cancelled ({reason}); plan it with another driver"
                    ),
                });
            }
            return self.session_view(&id, Vec::new());
        }
        self.write_session(
            &id,
            Some((&route.id, &new.date, &driver)),
            vec![SessionChange::Planned {
                name: route.name.clone(),
                vehicle: route.vehicle.clone(),
                start: route.start.clone(),
            }],
        )?;
        let skipped = if route.auto_attach {
            self.attach_matching(&id, &route)?
        } else {
            Vec::new()
        };
        self.session_view(&id, skipped)
    }

    /// Every session the schedules give from `from` to `to` (each route's
    /// first driver), planned where it is not yet.
    pub(super) fn plan_schedule(
        &self,
        from: &str,
        to: &str,
    ) -> Result<Vec<SessionSummary>, ApiError> {
        super::allow(&self.principal().0, Call::PlanSessions)?;
        let days = days(from, to)?;
        for route in self.tenant_config().routes {
            let Some(driver) = route.drivers.first() else {
                continue;
            };
            for day in &days {
                let weekday = day.weekday().to_monday_one_offset() as u8;
                if !route.runs_on(weekday) {
                    continue;
                }
                let date = day.to_string();
                let id = session_doc::session_id(&route.id, &date, &UserId::new(driver));
                if self
                    .session_state(&id)
                    .is_ok_and(|(st, _)| st.planned.is_some())
                {
                    continue;
                }
                self.plan_session(NewSession {
                    route: route.id.clone(),
                    date,
                    driver: Some(driver.clone()),
                })?;
            }
        }
        self.list_sessions(from, to)
    }

    /// The changes that attach `order_ids` to session `id`: each on this
    /// device, not ended, and on no other live session.
    fn attachments(&self, id: &str, order_ids: &[String]) -> Result<Vec<SessionChange>, ApiError> {
        let mut out = Vec::new();
        for (i, o) in order_ids.iter().enumerate() {
            let field = format!("order_ids[{i}]");
            let state = self
                .order_state(&OrderId::new(o))
                .ok()
                .filter(|s| s.spec.is_some())
                .ok_or_else(|| ApiError::Invalid {
                    field: field.clone(),
                    message: format!("order {o} is not on this device"),
                })?;
            if !lifecycle::Work::live_statuses().contains(&state.status) {
                return Err(ApiError::Invalid {
                    field,
                    message: format!("order {o} is {:?}: nothing left to do", state.status),
                });
            }
            let others = self
                .lock()
                .store
                .sessions_of_order(o, id)
                .map_err(storage)?;
            if let Some((_, name, date)) = others.first() {
                return Err(ApiError::Refused {
                    code: "on_another_session".into(),
                    message: format!("order {o} is already on {name} of {date}"),
                });
            }
            out.push(SessionChange::OrderAttached {
                order: OrderId::new(o),
            });
        }
        Ok(out)
    }

    /// Where an order's stops are, for the route rules.
    fn stop_places(&self, order: &str) -> Option<Vec<Place>> {
        let state = self.order_state(&OrderId::new(order)).ok()?;
        let spec = state.spec?;
        Some(
            [
                (StopKind::Pickup, &spec.pickup),
                (StopKind::Dropoff, &spec.dropoff),
            ]
            .into_iter()
            .map(|(k, s)| {
                (
                    k,
                    s.warehouse.as_ref().map(|w| w.to_string()),
                    s.address.point.map(|p| (p.lat, p.lon)),
                )
            })
            .collect(),
        )
    }

    /// Attaches every open order this route takes (`session_doc::route_for`)
    /// that is unassigned or the driver's and on no live session. Returns
    /// the matching orders left out, and why.
    fn attach_matching(&self, id: &str, route: &Route) -> Result<Vec<(String, String)>, ApiError> {
        let (st, (_, _, driver)) = self.session_state(id)?;
        let config = self.tenant_config();
        let (orders, _) = self
            .lock()
            .store
            .query_orders(&OrderQuery {
                statuses: lifecycle::Work::live_statuses(),
                limit: 1000,
                ..OrderQuery::default()
            })
            .map_err(storage)?;
        let mut want = Vec::new();
        let mut skipped = Vec::new();
        for o in orders {
            if st.orders.iter().any(|a| a.as_str() == o.id) {
                continue;
            }
            let Some(places) = self.stop_places(&o.id) else {
                continue;
            };
            let stops: Vec<StopPlace<'_>> = places
                .iter()
                .map(|(_, w, p)| StopPlace {
                    warehouse: w.as_deref(),
                    position: *p,
                })
                .collect();
            if session_doc::route_for(&config.routes, &stops).map(|r| &r.id) != Some(&route.id) {
                continue;
            }
            if o.assignee.as_ref().is_some_and(|a| *a != driver) {
                skipped.push((
                    o.reference.clone(),
                    format!("assigned to {}", o.assignee.unwrap_or_default()),
                ));
                continue;
            }
            if let Some((_, name, date)) = self
                .lock()
                .store
                .sessions_of_order(&o.id, id)
                .map_err(storage)?
                .first()
            {
                skipped.push((o.reference.clone(), format!("on {name} of {date}")));
                continue;
            }
            want.push(o.id);
        }
        if !want.is_empty() {
            self.session_act_inner(id, SessionAction::AttachOrders { order_ids: want })?;
        }
        Ok(skipped)
    }

    /// New orders this device's operator just made: each joins today's or
    /// a later planned session of the route that takes it, if that route
    /// attaches by itself (the earliest such session).
    pub(super) fn auto_attach_orders(&self, order_ids: &[String]) {
        let (_, who) = self.principal();
        if !who.role.is_operator() || order_ids.is_empty() {
            return;
        }
        let config = self.tenant_config();
        if !config.routes.iter().any(|r| r.auto_attach) {
            return;
        }
        let today = self.tenant_date(self.clock.now_ms());
        let Ok(sessions) = self
            .lock()
            .store
            .sessions_between(&today, "9999-12-31", None)
        else {
            return;
        };
        for o in order_ids {
            let Some(places) = self.stop_places(o) else {
                continue;
            };
            let stops: Vec<StopPlace<'_>> = places
                .iter()
                .map(|(_, w, p)| StopPlace {
                    warehouse: w.as_deref(),
                    position: *p,
                })
                .collect();
            let Some(route) = session_doc::route_for(&config.routes, &stops) else {
                continue;
            };
            let Some(s) = sessions
                .iter()
                .find(|s| s.route == route.id && !s.cancelled)
            else {
                continue;
            };
            if let Err(e) = self.session_act_inner(
                &s.id,
                SessionAction::AttachOrders {
                    order_ids: vec![o.clone()],
                },
            ) {
                tracing::info!(order = %o, session = %s.id, error = %e, "not attached");
            }
        }
    }

    pub(super) fn session_act(
        &self,
        id: &str,
        action: SessionAction,
    ) -> Result<SessionView, ApiError> {
        super::allow(&self.principal().0, Call::PlanSessions)?;
        let skipped = self.session_act_inner(id, action)?;
        self.session_view(id, skipped)
    }

    fn session_act_inner(
        &self,
        id: &str,
        action: SessionAction,
    ) -> Result<Vec<(String, String)>, ApiError> {
        let (state, (route_id, date, driver)) = self.session_state(id)?;
        let trip_status = state
            .trip
            .as_deref()
            .and_then(|t| self.lock().store.trip_row(t).ok().flatten())
            .and_then(|r| trip_status_from(&r.status));
        match action {
            SessionAction::AttachOrders { order_ids } => {
                if order_ids.is_empty() {
                    return Err(ApiError::Invalid {
                        field: "order_ids".into(),
                        message: "choose the orders to attach".into(),
                    });
                }
                let changes = self.attachments(id, &order_ids)?;
                self.write_session(id, None, changes)?;
                // A built trip takes them too, while it is not completed.
                if let Some(trip) = &state.trip
                    && trip_status != Some(TripStatus::Completed)
                {
                    self.trip_act(
                        trip,
                        TripAction::AddOrders {
                            order_ids,
                            urgent: false,
                        },
                    )?;
                }
                Ok(Vec::new())
            }
            SessionAction::DetachOrder { order_id } => {
                if !state.orders.iter().any(|o| o.as_str() == order_id) {
                    return Err(ApiError::Invalid {
                        field: "order_id".into(),
                        message: format!("order {order_id} is not on this session"),
                    });
                }
                self.write_session(
                    id,
                    None,
                    vec![SessionChange::OrderDetached {
                        order: OrderId::new(&order_id),
                    }],
                )?;
                // Its stops leave a trip that has not started (a started
                // trip is the courier's to finish; the dispatcher edits it).
                if let Some(trip) = &state.trip
                    && matches!(trip_status, Some(TripStatus::Draft | TripStatus::Published))
                {
                    for kind in ["pickup", "dropoff"] {
                        let _ = self.trip_act(
                            trip,
                            TripAction::RemoveStop {
                                stop: format!("{order_id}/{kind}"),
                            },
                        );
                    }
                }
                Ok(Vec::new())
            }
            SessionAction::AttachMatching => {
                let route = self.route(&route_id)?;
                self.attach_matching(id, &route)
            }
            SessionAction::BuildTrip { optimise } => {
                if let Some(trip) = &state.trip {
                    return Err(ApiError::Refused {
                        code: "trip_built".into(),
                        message: format!(
                            "this session's trip is {}",
                            super::trip_calls::trip_reference(trip)
                        ),
                    });
                }
                if state.orders.is_empty() {
                    return Err(ApiError::Invalid {
                        field: "orders".into(),
                        message: "attach the day's orders first".into(),
                    });
                }
                let route = self.route(&route_id).ok();
                let route_ref = route.as_ref();
                let places: Vec<(OrderId, StopKind, Option<usize>)> = state
                    .orders
                    .iter()
                    .flat_map(|o| {
                        let places = self.stop_places(o.as_str()).unwrap_or_default();
                        places.into_iter().map(move |(k, w, p)| {
                            let at = route_ref.and_then(|r| {
                                session_doc::point_of(
                                    r,
                                    StopPlace {
                                        warehouse: w.as_deref(),
                                        position: p,
                                    },
                                )
                                .map(|(i, _)| i)
                            });
                            (o.clone(), k, at)
                        })
                    })
                    .collect();
                let place = |o: &OrderId, k: StopKind| {
                    places
                        .iter()
                        .find(|(po, pk, _)| po == o && *pk == k)
                        .and_then(|(_, _, at)| *at)
                        .unwrap_or(usize::MAX)
                };
                let start_warehouse = route
                    .as_ref()
                    .and_then(|r| r.points.first())
                    .and_then(|p| p.warehouse.clone());
                let trip = self.build_trip(
                    NewTrip {
                        courier: driver,
                        name: format!("{} {date}", state.name().unwrap_or("Route")),
                        vehicle: state.vehicle().map(str::to_owned),
                        start_warehouse,
                        order_ids: state.orders.iter().map(|o| o.to_string()).collect(),
                        optimise,
                    },
                    Some(date.clone()),
                    Some(&place),
                )?;
                self.write_session(id, None, vec![SessionChange::TripBuilt { trip }])?;
                Ok(Vec::new())
            }
            SessionAction::Cancel { reason } => {
                if matches!(
                    trip_status,
                    Some(TripStatus::Started | TripStatus::Completed)
                ) {
                    return Err(ApiError::Refused {
                        code: "session_started".into(),
                        message: "the session's trip has started: close the trip instead".into(),
                    });
                }
                self.write_session(
                    id,
                    None,
                    vec![SessionChange::Cancelled {
                        reason: reason.clone(),
                    }],
                )?;
                if let Some(trip) = &state.trip {
                    self.trip_act(
                        trip,
                        TripAction::Close {
                            reason: format!("route session cancelled: {reason}"),
                        },
                    )?;
                }
                Ok(Vec::new())
            }
        }
    }

    fn driver_name(&self, driver: &str) -> String {
        self.courier_directory()
            .into_iter()
            .find(|c| c.user == driver)
            .map_or_else(|| driver.to_owned(), |c| c.name)
    }

    pub(super) fn session_view(
        &self,
        id: &str,
        skipped: Vec<(String, String)>,
    ) -> Result<SessionView, ApiError> {
        let (state, (route_id, date, driver)) = self.session_state(id)?;
        super::allow(&self.principal().0, Call::Sessions { driver: &driver })?;
        if state.planned.is_none() {
            return Err(not_found(id));
        }
        let trip_status = state
            .trip
            .as_deref()
            .and_then(|t| self.trip_view(t).ok())
            .map(|t| t.status);
        let route = self.route(&route_id).ok();
        let mut orders = Vec::with_capacity(state.orders.len());
        for o in &state.orders {
            let detail = self.detail(o.as_str()).ok();
            let also_on = self
                .lock()
                .store
                .sessions_of_order(o.as_str(), id)
                .map_err(storage)?
                .into_iter()
                .map(|(_, name, date)| format!("{name} {date}"))
                .collect();
            let point = route.as_ref().and_then(|r| {
                let places = self.stop_places(o.as_str())?;
                places.iter().rev().find_map(|(_, w, p)| {
                    session_doc::point_of(
                        r,
                        StopPlace {
                            warehouse: w.as_deref(),
                            position: *p,
                        },
                    )
                    .map(|(i, _)| r.points[i].name.clone())
                })
            });
            orders.push(SessionOrderView {
                order_id: o.to_string(),
                reference: detail
                    .as_ref()
                    .map_or_else(|| o.to_string(), |d| d.summary.reference.clone()),
                recipient: detail
                    .as_ref()
                    .map(|d| d.summary.customer_name.clone())
                    .unwrap_or_default(),
                status: detail.as_ref().map(|d| d.summary.status),
                point,
                also_on,
            });
        }
        let pending = self
            .lock()
            .store
            .session(id)
            .map_err(storage)?
            .is_some_and(|r| r.pending);
        Ok(SessionView {
            id: id.to_owned(),
            route: route_id,
            name: state.name().unwrap_or_default().to_owned(),
            date,
            driver_name: self.driver_name(&driver),
            driver,
            vehicle: state.vehicle().map(str::to_owned),
            start: state.start().unwrap_or_default().to_owned(),
            status: status_of(state.status_with(trip_status)),
            cancelled_reason: state.cancelled.clone(),
            orders,
            trip: state.trip.clone(),
            trip_status,
            extra_trips: state.extra_trips.clone(),
            history: state
                .history
                .iter()
                .rev()
                .map(|(at, by, what)| SessionHistoryEntry {
                    at_ms: at.wall_ms,
                    by: by.clone(),
                    what: what.clone(),
                })
                .collect(),
            skipped,
            pending,
        })
    }

    pub(super) fn list_sessions(
        &self,
        from: &str,
        to: &str,
    ) -> Result<Vec<SessionSummary>, ApiError> {
        let (_, who) = self.principal();
        let driver = match who.role {
            r if r.is_operator() => None,
            app_api::Role::Courier => Some(who.user.to_string()),
            _ => return Ok(Vec::new()),
        };
        days(from, to)?;
        let rows = self
            .lock()
            .store
            .sessions_between(from, to, driver.as_deref())
            .map_err(storage)?;
        let names = self.courier_directory();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            if r.name.is_empty() {
                continue; // created, not yet planned (its planning not here yet)
            }
            let trip_status = r
                .trip
                .as_deref()
                .and_then(|t| self.lock().store.trip_row(t).ok().flatten())
                .and_then(|t| trip_status_from(&t.status));
            let status = if r.cancelled {
                SessionStatus::Cancelled
            } else {
                match trip_status {
                    Some(TripStatus::Started) => SessionStatus::InProgress,
                    Some(TripStatus::Completed) => SessionStatus::Completed,
                    _ => SessionStatus::Planned,
                }
            };
            let order_conflicts = self
                .lock()
                .store
                .session_order_conflicts(&r.id)
                .map_err(storage)?;
            out.push(SessionSummary {
                driver_name: names
                    .iter()
                    .find(|c| c.user == r.driver)
                    .map_or_else(|| r.driver.clone(), |c| c.name.clone()),
                id: r.id,
                route: r.route,
                name: r.name,
                date: r.date,
                driver: r.driver,
                start: r.start,
                status,
                orders: r.orders,
                trip: r.trip,
                conflicts: r.conflicts + order_conflicts,
                pending: r.pending,
            });
        }
        Ok(out)
    }

    /// Merges a route session as the server holds it. True when something new arrived.
    pub fn merge_session(&self, id: &str, bytes: &[u8]) -> Result<bool, ApiError> {
        self.merge_event_doc::<SessionEvent>(id, bytes, session_doc::SHAPE, |tx, doc| {
            let state = session_doc::derive(&doc.events());
            let orders: Vec<String> = state.orders.iter().map(|o| o.to_string()).collect();
            tx.put_session(&row_of(id, doc, &state), &orders, false)
                .map_err(storage)
        })
    }

    pub fn session_document(&self, id: &str) -> Result<Option<(Vec<u8>, i64)>, ApiError> {
        self.event_doc_bytes::<SessionEvent>(id, session_doc::SHAPE, |tx| tx.session_writes(id))
    }

    pub fn session_synced(&self, id: &str, writes: i64) -> Result<bool, ApiError> {
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        let done = tx.session_synced(id, writes).map_err(storage)?;
        tx.commit().map_err(storage)?;
        Ok(done)
    }

    pub fn pending_sessions(&self) -> Result<Vec<String>, ApiError> {
        self.lock().store.pending_sessions().map_err(storage)
    }
}

#[cfg(test)]
mod tests;

//! Trips on a device (run sheets, [`ruta_model::trip_doc`]): `CreateTrip`,
//! `TripAct`, `ListTrips`, `GetTrip`, and the doors for sync
//! (`merge_trip`, `trip_document`, `trip_synced`; the write hook is
//! [`Core::on_ledger_write`]).
//!
//! Every write is one transaction: load the trip's document, derive it, turn
//! the action into trip events, append them, derive again — an event the
//! rules ignore refuses the action with their reason and nothing is written —
//! save, project into `trips`/`trip_stops`, commit. Publishing assigns the
//! trip's orders to its courier through the order lifecycle (each assignment
//! an ordinary, judged order event), so the courier's device receives them;
//! so does adding orders to (or moving them onto) a published or started trip.

use app_api::trips::{
    LostMoveView, NewTrip, TripAction, TripHistoryEntry, TripStatus, TripStopView, TripSummary,
    TripView,
};
use app_api::{Action, ApiError, StopKind};
use ruta_model::Principal;
use ruta_model::policy::Call;
use ruta_model::trip_doc::{self, TripChange, TripDoc, TripEvent, TripState};

use super::*;

/// The `docs.kind` of a trip document.
const KIND: &str = trip_doc::INDEX_KIND;

fn trip_error(e: trip_doc::TripDocError) -> ApiError {
    ApiError::Malformed {
        message: format!("trip document: {e}"),
    }
}

fn trip_not_found(id: &str) -> ApiError {
    ApiError::NotFound {
        what: format!("trip {id}"),
    }
}

fn kind_str(k: StopKind) -> &'static str {
    match k {
        StopKind::Pickup => "pickup",
        StopKind::Dropoff => "dropoff",
    }
}

fn status_str(s: TripStatus) -> &'static str {
    match s {
        TripStatus::Draft => "draft",
        TripStatus::Published => "published",
        TripStatus::Started => "started",
        TripStatus::Completed => "completed",
    }
}

/// "TRIP-" and the first six hex digits of the id.
pub(crate) fn trip_reference(id: &str) -> String {
    let hex: String = id.chars().filter(char::is_ascii_hexdigit).take(6).collect();
    format!("TRIP-{}", hex.to_uppercase())
}

fn load_trip(
    saved: Option<crate::store::SavedDoc>,
    device: &crate::domain::DeviceId,
) -> Result<Option<TripDoc>, ApiError> {
    super::ledgers::load_event_doc(trip_doc::SHAPE, saved, device)
}

/// Where a stop goes in a new trip: lower first (see `Core::build_trip`).
pub(super) type StopPlace<'a> = &'a dyn Fn(&OrderId, StopKind) -> usize;
/// A stop to add: its key, order and end.
type Wanted = (String, (OrderId, StopKind));

impl Core {
    pub(super) fn principal(&self) -> (Actor, Principal) {
        let actor = self.lock().session.clone();
        let p = Principal {
            user: actor.user.clone(),
            role: actor.role,
        };
        (actor, p)
    }

    /// The tenant's date (its time zone) at `ms`.
    pub(super) fn tenant_date(&self, ms: i64) -> String {
        let tz = self.tenant_config().profile.time_zone;
        let zone = jiff::tz::TimeZone::get(&tz).unwrap_or(jiff::tz::TimeZone::UTC);
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.to_zoned(zone).date().to_string())
            .unwrap_or_default()
    }

    /// The open stops of an order for a trip: its pickup while the parcel is
    /// not on board, and its drop-off; an ended order has none.
    fn open_stops(&self, order: &str, field: &str) -> Result<Vec<StopKind>, ApiError> {
        let state = self.order_state(&OrderId::new(order))?;
        if state.spec.is_none() {
            return Err(ApiError::Invalid {
                field: field.into(),
                message: format!("order {order} is not on this device"),
            });
        }
        let stops: Vec<StopKind> = [StopKind::Pickup, StopKind::Dropoff]
            .into_iter()
            .filter(|k| !trip_doc::stop_done(*k, state.status))
            .collect();
        if stops.is_empty() {
            return Err(ApiError::Invalid {
                field: field.into(),
                message: format!(
                    "order {} is {}: nothing is left to do",
                    state
                        .spec
                        .as_ref()
                        .map(|s| s.reference.clone())
                        .unwrap_or_default(),
                    state.status.label()
                ),
            });
        }
        Ok(stops)
    }

    /// Changes that add the open stops of `orders` after `after` (a stop key).
    fn add_changes(
        &self,
        state: &TripState,
        orders: &[String],
        after: Option<&str>,
        first: bool,
    ) -> Result<Vec<TripChange>, ApiError> {
        self.add_changes_in(state, orders, after, first, None)
    }

    /// [`Self::add_changes`], the new stops sorted by `order` (stable; an
    /// order's drop-off never before its pickup).
    fn add_changes_in(
        &self,
        state: &TripState,
        orders: &[String],
        after: Option<&str>,
        first: bool,
        order: Option<StopPlace<'_>>,
    ) -> Result<Vec<TripChange>, ApiError> {
        let mut wanted = Vec::new();
        for (i, o) in orders.iter().enumerate() {
            for k in self.open_stops(o, &format!("order_ids[{i}]"))? {
                let key = trip_doc::stop_key(&OrderId::new(o), k);
                if state.stop(&key).is_none()
                    && !wanted.iter().any(|(w, _): &(String, _)| *w == key)
                {
                    wanted.push((key, (OrderId::new(o), k)));
                }
            }
        }
        if let Some(place) = order {
            let mut keyed: Vec<(usize, Wanted)> = Vec::new();
            for w in wanted {
                let (o, k) = &w.1;
                let mut p = place(o, *k);
                if *k == StopKind::Dropoff
                    && let Some((pk, _)) = keyed
                        .iter()
                        .find(|(_, (_, (po, pk)))| po == o && *pk == StopKind::Pickup)
                {
                    p = p.max(*pk);
                }
                keyed.push((p, w));
            }
            keyed.sort_by_key(|(p, _)| *p);
            wanted = keyed.into_iter().map(|(_, w)| w).collect();
        }
        let ranks = trip_doc::ranks_after(state, after, wanted.len(), first);
        Ok(wanted
            .into_iter()
            .zip(ranks)
            .map(|((_, (order, kind)), rank)| TripChange::StopAdded { order, kind, rank })
            .collect())
    }

    pub(super) fn create_trip(&self, new: NewTrip) -> Result<TripView, ApiError> {
        let id = self.build_trip(new, None, None)?;
        self.trip_view(&id)
    }

    /// Writes a new trip and returns its id: on `date` (else the tenant's
    /// today), its stops in `order` (a stop's place: lower first, stable;
    /// else as the orders are given) unless `new.optimise` sequences them.
    pub(super) fn build_trip(
        &self,
        new: NewTrip,
        date: Option<String>,
        order: Option<StopPlace<'_>>,
    ) -> Result<String, ApiError> {
        let (_, who) = self.principal();
        if !who.role.is_operator() {
            return Err(ApiError::Refused {
                code: "forbidden".into(),
                message: "dispatchers build trips".into(),
            });
        }
        let courier = new.courier.trim().to_owned();
        let directory = self.courier_directory();
        if courier.is_empty()
            || (!directory.is_empty() && !directory.iter().any(|c| c.user == courier))
        {
            return Err(ApiError::Invalid {
                field: "courier".into(),
                message: format!("{courier:?} is not one of the tenant's couriers"),
            });
        }
        if new.order_ids.is_empty() {
            return Err(ApiError::Invalid {
                field: "order_ids".into(),
                message: "choose the orders the trip takes".into(),
            });
        }
        let now = self.clock.now_ms();
        let date = date.unwrap_or_else(|| self.tenant_date(now));
        let name = if new.name.trim().is_empty() {
            let who = directory
                .iter()
                .find(|c| c.user == courier)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| courier.clone());
            format!("{who} {date}")
        } else {
            new.name.trim().to_owned()
        };
        let id = uuid::Uuid::new_v4().to_string();
        let created = TripChange::Created {
            courier: UserId::new(&courier),
            name,
            date,
            vehicle: new.vehicle.filter(|v| !v.is_empty()),
            start_warehouse: new.start_warehouse.filter(|v| !v.is_empty()),
        };
        trip_doc::validate(&created).map_err(|e| ApiError::Invalid {
            field: e.field.trim_start_matches("trip.").into(),
            message: e.message,
        })?;
        let empty = TripState::default();
        let adds = self.add_changes_in(&empty, &new.order_ids, None, false, order)?;
        let mut changes = vec![created];
        changes.extend(adds);
        self.write_trip(&id, true, changes)?;
        if new.optimise {
            self.trip_act(&id, TripAction::Optimise)?;
        }
        Ok(id)
    }

    pub(super) fn trip_act(&self, id: &str, action: TripAction) -> Result<TripView, ApiError> {
        let (_, who) = self.principal();
        let state = self.trip_state(id)?;
        let changes = match action {
            TripAction::Publish => vec![TripChange::Published],
            TripAction::Start => vec![TripChange::Started],
            TripAction::Close { reason } => vec![TripChange::Closed { reason }],
            TripAction::MoveStop { stop, before } => {
                self.check_not_pinned(id, &state, &stop, before.as_deref())?;
                trip_doc::moves_to_place(&state, &stop, before.as_deref()).map_err(|e| {
                    ApiError::Invalid {
                        field: e.field,
                        message: e.message,
                    }
                })?
            }
            TripAction::AddOrders { order_ids, urgent } => {
                let after = if urgent {
                    self.pinned_key(id, &state)
                } else {
                    None
                };
                let adds = self.add_changes(&state, &order_ids, after.as_deref(), urgent)?;
                if adds.is_empty() {
                    return Err(ApiError::Invalid {
                        field: "order_ids".into(),
                        message: "those stops are on the trip already".into(),
                    });
                }
                adds
            }
            TripAction::RemoveStop { stop } => {
                let Some(s) = state.stop(&stop) else {
                    return Err(ApiError::Invalid {
                        field: "stop".into(),
                        message: format!("{stop} is not on this trip"),
                    });
                };
                vec![TripChange::StopRemoved {
                    order: s.order.clone(),
                    kind: s.kind,
                }]
            }
            TripAction::MoveToTrip { stop, trip_id } => {
                return self.move_to_trip(id, &state, &stop, &trip_id);
            }
            TripAction::Optimise => self.optimise_changes(id, &state)?,
        };
        let publish = changes.iter().any(|c| matches!(c, TripChange::Published));
        // Stops added to a trip its courier follows are theirs to do, like
        // those it was published with (and those moved onto it).
        let added = changes
            .iter()
            .any(|c| matches!(c, TripChange::StopAdded { .. }))
            && matches!(
                state.status,
                Some(TripStatus::Published | TripStatus::Started)
            );
        if changes.is_empty() {
            return self.trip_view(id);
        }
        let _ = who;
        self.write_trip(id, false, changes)?;
        if publish || added {
            self.assign_trip_orders(id)?;
        }
        self.trip_view(id)
    }

    /// A stop moved onto another trip: the order's stops leave this one and
    /// join the other (two documents, two writes; each judged on its own).
    fn move_to_trip(
        &self,
        id: &str,
        state: &TripState,
        stop: &str,
        other: &str,
    ) -> Result<TripView, ApiError> {
        let Some(s) = state.stop(stop) else {
            return Err(ApiError::Invalid {
                field: "stop".into(),
                message: format!("{stop} is not on this trip"),
            });
        };
        if other == id {
            return Err(ApiError::Invalid {
                field: "trip_id".into(),
                message: "that is this trip".into(),
            });
        }
        let order = s.order.clone();
        self.trip_act(
            other,
            TripAction::AddOrders {
                order_ids: vec![order.to_string()],
                urgent: false,
            },
        )?;
        let removes: Vec<TripChange> = state
            .stops
            .iter()
            .filter(|x| x.order == order)
            .map(|x| TripChange::StopRemoved {
                order: x.order.clone(),
                kind: x.kind,
            })
            .collect();
        self.write_trip(id, false, removes)?;
        if matches!(
            self.trip_state(other)?.status,
            Some(TripStatus::Published | TripStatus::Started)
        ) {
            self.assign_trip_orders(other)?;
        }
        self.trip_view(id)
    }

    /// Each order of a published trip not yet its courier's is assigned to
    /// them (an ordinary order event, judged by the lifecycle; an order the
    /// lifecycle will not assign stays as it is and the trip shows its status).
    fn assign_trip_orders(&self, id: &str) -> Result<(), ApiError> {
        let state = self.trip_state(id)?;
        let Some(courier) = state.courier.clone() else {
            return Ok(());
        };
        let mut seen = std::collections::HashSet::new();
        for s in &state.stops {
            if !seen.insert(s.order.clone()) {
                continue;
            }
            let order = self.order_state(&s.order)?;
            if order.assignee.as_ref() == Some(&courier) {
                continue;
            }
            let session = self.lock().session.clone();
            let allowed = lifecycle::allowed_actions(&order, &session);
            if !allowed.contains(&app_api::ActionKind::Assign) {
                continue;
            }
            if let Err(e) = self.act(
                &s.order,
                Action::Assign {
                    courier: courier.to_string(),
                },
            ) {
                tracing::warn!(order = %s.order, error = %e, "trip order not assigned");
            }
        }
        Ok(())
    }

    fn done_flags(&self, state: &TripState) -> Vec<bool> {
        state
            .stops
            .iter()
            .map(|s| {
                self.order_state(&s.order)
                    .map(|o| o.spec.is_some() && trip_doc::stop_done(s.kind, o.status))
                    .unwrap_or(false)
            })
            .collect()
    }

    fn pinned_key(&self, _id: &str, state: &TripState) -> Option<String> {
        let done = self.done_flags(state);
        trip_doc::pinned(state, &done).map(|i| state.stops[i].key())
    }

    /// The stop in progress stays first: nothing is moved before it, and it is not moved.
    fn check_not_pinned(
        &self,
        id: &str,
        state: &TripState,
        stop: &str,
        before: Option<&str>,
    ) -> Result<(), ApiError> {
        if let Some(p) = self.pinned_key(id, state)
            && (p == stop || before == Some(p.as_str()))
        {
            return Err(ApiError::Refused {
                code: "stop_in_progress".into(),
                message: "the stop in progress stays first".into(),
            });
        }
        Ok(())
    }

    /// The optimiser's sequence of the stops not done, after the done ones
    /// and the stop in progress, from where the courier is (their live
    /// position, else the trip's start warehouse, else the first stop).
    fn optimise_changes(&self, id: &str, state: &TripState) -> Result<Vec<TripChange>, ApiError> {
        use crate::routing::plan::{self, SequenceRequest};
        let done = self.done_flags(state);
        let pinned = trip_doc::pinned(state, &done);
        let courier = state
            .courier
            .clone()
            .map(|c| c.to_string())
            .unwrap_or_default();
        let mut orders: Vec<OrderSummary> = Vec::new();
        for (s, d) in state.stops.iter().zip(&done) {
            if *d || orders.iter().any(|o| o.id == s.order.as_str()) {
                continue;
            }
            if let Ok(o) = self.summary(&s.order) {
                orders.push(o);
            }
        }
        let mut unplanned = Vec::new();
        let loaded = self.load_orders(&orders, &mut unplanned)?;
        let vehicle = self.vehicle_for(&courier, 0);
        let (travel, _) = self.travel(vehicle.kind);
        let position = self
            .live_position(&courier)
            .or_else(|| {
                let w = state.start_warehouse.as_ref()?;
                let p = self
                    .tenant_config()
                    .warehouses
                    .into_iter()
                    .find(|x| &x.id == w)?
                    .position;
                Some(GeoPoint {
                    lat: p.lat,
                    lon: p.lon,
                })
            })
            .or_else(|| loaded.first().map(|l| l.load.dropoff.point));
        let Some(position) = position else {
            return Ok(Vec::new());
        };
        let started = pinned.map(|i| crate::domain::fleet::TripStop {
            order: state.stops[i].order.clone(),
            kind: route_kind(state.stops[i].kind),
        });
        let current = state
            .stops
            .iter()
            .zip(&done)
            .filter(|(_, d)| !**d)
            .map(|(s, _)| crate::domain::fleet::TripStop {
                order: s.order.clone(),
                kind: route_kind(s.kind),
            })
            .collect();
        let seq = SequenceRequest {
            now_ms: self.clock.now_ms(),
            position,
            vehicle,
            orders: loaded.iter().map(|l| l.load.clone()).collect(),
            started,
            current,
        };
        let planned = plan::sequence(&seq, &travel, 1, super::route_calls::SEQUENCE_BUDGET)
            .map_err(|e| ApiError::Invalid {
                field: "stops".into(),
                message: e.to_string(),
            })?;
        // Done stops first (as they are), then the plan, then anything the
        // planner could not place (no position) in its current order.
        let mut order: Vec<String> = state
            .stops
            .iter()
            .zip(&done)
            .filter(|(_, d)| **d)
            .map(|(s, _)| s.key())
            .collect();
        for p in &planned.stops {
            let k = trip_doc::stop_key(&p.order, app_kind(p.kind));
            if state.stop(&k).is_some() && !order.contains(&k) {
                order.push(k);
            }
        }
        for s in &state.stops {
            if !order.contains(&s.key()) {
                order.push(s.key());
            }
        }
        let _ = id;
        trip_doc::moves_for_sequence(state, &order).map_err(|e| ApiError::Invalid {
            field: e.field,
            message: e.message,
        })
    }

    /// Appends `changes` to trip `id` in one transaction; refused (nothing
    /// written) when the rules ignore any of them.
    fn write_trip(&self, id: &str, new: bool, changes: Vec<TripChange>) -> Result<(), ApiError> {
        let (actor, _) = self.principal();
        let now = self.clock.now_ms();
        {
            let mut inner = self.lock();
            let device = inner.store.device_id().clone();
            let tx = inner.store.write().map_err(storage)?;
            let mut doc = match load_trip(tx.load_doc(id).map_err(storage)?, &device)? {
                Some(d) if !new => d,
                Some(_) => {
                    return Err(ApiError::Invalid {
                        field: "trip_id".into(),
                        message: format!("trip {id} exists"),
                    });
                }
                None if new => trip_doc::create(&device).map_err(trip_error)?,
                None => return Err(trip_not_found(id)),
            };
            let mut clock = resume_clock(&tx, &device)?;
            // Past every stamp the document holds (written elsewhere, merged
            // here): a new event is never ordered before what it follows.
            if let Some(latest) = doc.events().iter().map(|e| e.at).max() {
                clock.observe(latest, now);
            }
            let mut ids = Vec::with_capacity(changes.len());
            for change in changes {
                let at = clock.tick(now);
                let e = TripEvent {
                    at,
                    actor: actor.clone(),
                    change,
                };
                ids.push(e.id());
                doc.append(&e).map_err(trip_error)?;
            }
            let state = trip_doc::derive(&doc.events());
            if let Some((_, why)) = state.ignored.iter().find(|(k, _)| ids.contains(k)) {
                return Err(ApiError::Refused {
                    code: "trip_refused".into(),
                    message: why.clone(),
                });
            }
            tx.put_snapshot(id, KIND, &doc.save()).map_err(storage)?;
            project_trip(&tx, id, &state, true)?;
            tx.set_meta("hlc", &clock.last().to_string())
                .map_err(storage)?;
            tx.commit().map_err(storage)?;
            inner.store.after_commit().map_err(storage)?;
        }
        self.revision
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.ledger_written(super::ledgers::LedgerKind::Trip, id);
        Ok(())
    }

    fn trip_doc(&self, id: &str) -> Result<TripDoc, ApiError> {
        let inner = self.lock();
        let device = inner.store.device_id().clone();
        load_trip(inner.store.read_doc(id).map_err(storage)?, &device)?
            .ok_or_else(|| trip_not_found(id))
    }

    fn trip_state(&self, id: &str) -> Result<TripState, ApiError> {
        Ok(trip_doc::derive(&self.trip_doc(id)?.events()))
    }

    /// A trip as screens show it.
    pub(super) fn trip_view(&self, id: &str) -> Result<TripView, ApiError> {
        let (_, who) = self.principal();
        let state = self.trip_state(id)?;
        let courier = state
            .courier
            .clone()
            .map(|c| c.to_string())
            .unwrap_or_default();
        super::allow(&self.lock().session, Call::Trips { courier: &courier })?;
        let done = self.done_flags(&state);
        let pinned = trip_doc::pinned(&state, &done);
        let mut stops = Vec::with_capacity(state.stops.len());
        let mut refs = std::collections::HashMap::new();
        for (i, s) in state.stops.iter().enumerate() {
            let detail = self.detail(s.order.as_str()).ok();
            let reference = detail
                .as_ref()
                .map(|d| d.summary.reference.clone())
                .unwrap_or_else(|| s.order.to_string());
            refs.insert(s.key(), reference.clone());
            let stop = detail
                .as_ref()
                .and_then(|d| match s.kind {
                    StopKind::Pickup => d.pickup.clone(),
                    StopKind::Dropoff => d.dropoff.clone(),
                })
                .unwrap_or(app_api::StopView {
                    address: "(the order has not arrived on this device)".into(),
                    point: None,
                    contact_name: String::new(),
                    contact_phone: String::new(),
                    window: None,
                    warehouse: None,
                });
            stops.push(TripStopView {
                key: s.key(),
                order_id: s.order.to_string(),
                reference,
                kind: s.kind,
                stop,
                status: detail.as_ref().map(|d| d.summary.status),
                done: done[i],
                pinned: pinned == Some(i),
                cod_cents: detail
                    .as_ref()
                    .map(|d| d.summary.cod_cents)
                    .filter(|c| *c > 0 && s.kind == StopKind::Dropoff),
                eta_ms: detail
                    .as_ref()
                    .and_then(|d| d.summary.eta_ms)
                    .filter(|_| s.kind == StopKind::Dropoff),
            });
        }
        let directory = self.courier_directory();
        let name_of = |u: &str| {
            directory
                .iter()
                .find(|c| c.user == u)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| u.to_owned())
        };
        let lost_moves = state
            .lost_moves
            .iter()
            .map(|l| LostMoveView {
                stop: l.stop.clone(),
                reference: refs.get(&l.stop).cloned().unwrap_or_default(),
                by: l.by.to_string(),
                at_ms: l.at.wall_ms,
                overridden_by: l.overridden_by.to_string(),
                overridden_at_ms: l.overridden_at.wall_ms,
            })
            .collect();
        let mut also_on = Vec::new();
        {
            let inner = self.lock();
            let mut seen = std::collections::HashSet::new();
            for s in &state.stops {
                if !seen.insert(s.order.clone()) {
                    continue;
                }
                for other in inner
                    .store
                    .trips_of_order(s.order.as_str(), id)
                    .map_err(storage)?
                {
                    also_on.push((
                        refs.get(&s.key()).cloned().unwrap_or_default(),
                        trip_reference(&other),
                    ));
                }
            }
        }
        let pending = self
            .lock()
            .store
            .trips(Some(&courier), false)
            .map_err(storage)?
            .into_iter()
            .find(|t| t.id == id)
            .is_some_and(|t| t.pending);
        Ok(TripView {
            id: id.to_owned(),
            reference: trip_reference(id),
            name: state.name.clone(),
            courier_name: name_of(&courier),
            courier,
            vehicle: state.vehicle.clone(),
            start_warehouse: state.start_warehouse.clone(),
            date: state.date.clone(),
            status: state.status_with(done.iter().filter(|d| **d).count()),
            closed_reason: state.closed_reason.clone(),
            done: done.iter().filter(|d| **d).count() as u32,
            stops,
            lost_moves,
            also_on,
            actions: trip_doc::allowed(&state, &who),
            history: state
                .history
                .iter()
                .rev()
                .map(|(at, by, what)| TripHistoryEntry {
                    at_ms: at.wall_ms,
                    by: by.to_string(),
                    what: what.clone(),
                })
                .collect(),
            pending,
        })
    }

    pub(super) fn list_trips(
        &self,
        courier: Option<String>,
        open_only: bool,
    ) -> Result<Vec<TripSummary>, ApiError> {
        let session = self.lock().session.clone();
        // A courier lists only their own, whatever they ask.
        let courier = if session.role.is_operator() {
            courier.filter(|c| !c.is_empty())
        } else {
            Some(session.user.to_string())
        };
        super::allow(
            &session,
            Call::Trips {
                courier: courier.as_deref().unwrap_or(""),
            },
        )
        .or_else(|e| {
            if session.role.is_operator() {
                Ok(())
            } else {
                Err(e)
            }
        })?;
        let rows = self
            .lock()
            .store
            .trips(courier.as_deref(), open_only)
            .map_err(storage)?;
        let directory = self.courier_directory();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let state = self.trip_state(&r.id)?;
            let done = self.done_flags(&state);
            let n_done = done.iter().filter(|d| **d).count();
            let status = state.status_with(n_done);
            if open_only && status == TripStatus::Completed {
                continue;
            }
            out.push(TripSummary {
                reference: trip_reference(&r.id),
                courier_name: directory
                    .iter()
                    .find(|c| c.user == r.courier)
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| r.courier.clone()),
                id: r.id,
                name: r.name,
                courier: r.courier,
                date: r.date,
                status,
                stops: r.stops,
                done: n_done as u32,
                lost_moves: r.lost,
                pending: r.pending,
            });
        }
        Ok(out)
    }

    /// Merges a trip document as the server holds it (the sync client calls
    /// this whenever it changes). True when something new arrived.
    pub fn merge_trip(&self, id: &str, bytes: &[u8]) -> Result<bool, ApiError> {
        self.merge_event_doc::<TripEvent>(id, bytes, trip_doc::SHAPE, |tx, doc| {
            project_trip(tx, id, &trip_doc::derive(&doc.events()), false)
        })
    }

    /// A trip document as this device holds it and its write count, for the
    /// sync client to merge into its copy.
    pub fn trip_document(&self, id: &str) -> Result<Option<(Vec<u8>, i64)>, ApiError> {
        self.event_doc_bytes::<TripEvent>(id, trip_doc::SHAPE, |tx| {
            Ok(tx.trip_writes(id)?.map(|w| w.0))
        })
    }

    /// The server holds trip `id` as of `writes` local writes.
    pub fn trip_synced(&self, id: &str, writes: i64) -> Result<bool, ApiError> {
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        let done = tx.trip_synced(id, writes).map_err(storage)?;
        tx.commit().map_err(storage)?;
        Ok(done)
    }

    /// Trips written here and not yet confirmed by the server.
    pub fn pending_trips(&self) -> Result<Vec<String>, ApiError> {
        self.lock().store.pending_trips().map_err(storage)
    }
}

impl Core {
    /// A trip's run sheet (PDF), from this device's store.
    pub(super) fn run_sheet(&self, id: &str) -> Result<app_api::DocumentFile, ApiError> {
        use crate::documents::{Party, RunSheetData, RunSheetStop, RunSheetStopKind};
        let view = self.trip_view(id)?;
        let settings = self.settings();
        let offset = |ms: i64| super::config_calls::utc_offset_min(&settings.time_zone, ms);
        let clock = |ms: i64| super::document_calls::time_of_day(ms, &settings.time_zone);
        let mut stops = Vec::with_capacity(view.stops.len());
        for (i, s) in view.stops.iter().enumerate() {
            let detail = self.detail(&s.order_id).ok();
            let (parcels, grams, notes) = detail
                .as_ref()
                .map(|d| (d.parcels, d.weight_g, d.instructions.clone()))
                .unwrap_or_default();
            let mut party = Party {
                name: s.stop.contact_name.clone(),
                address_lines: vec![s.stop.address.clone()],
                phone: (!s.stop.contact_phone.is_empty()).then(|| s.stop.contact_phone.clone()),
            };
            if party.name.is_empty() {
                party.name = s.reference.clone();
            }
            stops.push(RunSheetStop {
                seq: i as u32 + 1,
                kind: match s.kind {
                    StopKind::Pickup => RunSheetStopKind::Pickup,
                    StopKind::Dropoff => RunSheetStopKind::Dropoff,
                },
                order_ref: s.reference.clone(),
                party,
                window: s
                    .stop
                    .window
                    .map(|(a, b)| format!("{}–{}", clock(a), clock(b))),
                planned: s.eta_ms.map(clock),
                packages: format!(
                    "{parcels} parcel{}, {:.1} kg",
                    if parcels == 1 { "" } else { "s" },
                    f64::from(grams) / 1000.0
                ),
                cod_cents: s.cod_cents,
                notes,
                qr_payload: trip_doc::stop_qr(id, &s.key),
                done: s.done,
            });
        }
        let now = self.clock.now_ms();
        let data = RunSheetData {
            branding: settings.branding.clone(),
            trip_ref: view.reference.clone(),
            trip_name: view.name.clone(),
            courier: view.courier_name.clone(),
            vehicle: view.vehicle.clone(),
            date: view.date.clone(),
            status: view.status.label().into(),
            printed_at: crate::documents::format_timestamp(now, offset(now)),
            stops,
        };
        let pdf =
            crate::documents::run_sheet_pdf(&data).map_err(super::document_calls::doc_error)?;
        Ok(super::document_calls::file(
            format!("run-sheet-{}.pdf", view.reference),
            "application/pdf",
            pdf,
        ))
    }
}

fn route_kind(k: StopKind) -> crate::domain::fleet::StopKind {
    match k {
        StopKind::Pickup => crate::domain::fleet::StopKind::Pickup,
        StopKind::Dropoff => crate::domain::fleet::StopKind::Dropoff,
    }
}

fn app_kind(k: crate::domain::fleet::StopKind) -> StopKind {
    match k {
        crate::domain::fleet::StopKind::Pickup => StopKind::Pickup,
        crate::domain::fleet::StopKind::Dropoff => StopKind::Dropoff,
    }
}

fn project_trip(
    tx: &crate::store::Tx<'_>,
    id: &str,
    state: &TripState,
    local: bool,
) -> Result<(), ApiError> {
    let stops: Vec<(String, &'static str)> = state
        .stops
        .iter()
        .map(|s| (s.order.to_string(), kind_str(s.kind)))
        .collect();
    tx.put_trip(
        id,
        state.courier.as_ref().map(|c| c.as_str()).unwrap_or(""),
        &state.date,
        status_str(state.status.unwrap_or(TripStatus::Draft)),
        &state.name,
        &stops,
        state.lost_moves.len() as u32,
        local,
    )
    .map_err(storage)
}

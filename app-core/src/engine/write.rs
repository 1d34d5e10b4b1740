//! The write path every order call and merge goes through: load the document,
//! decide, append, save (compacting), project and commit, in one transaction.

use super::*;

pub(crate) fn resume_clock(
    tx: &crate::store::Tx<'_>,
    device: &crate::domain::DeviceId,
) -> Result<HlcClock, ApiError> {
    Ok(match tx.last_hlc().map_err(storage)? {
        Some(last) => HlcClock::resume(last),
        None => HlcClock::new(node_of(device.as_str())),
    })
}

/// The end of every write: the derived state into the query tables, the clock
/// into meta, and commit.
pub(crate) fn project_and_commit(
    tx: crate::store::Tx<'_>,
    zones: &ZoneIndex,
    state: &OrderState,
    clock: &HlcClock,
) -> Result<(), ApiError> {
    tx.project(state, zone_of(zones, state).as_deref())
        .map_err(storage)?;
    tx.set_meta("hlc", &clock.last().to_string())
        .map_err(storage)?;
    tx.commit().map_err(storage)
}

pub(crate) fn zone_of(zones: &ZoneIndex, state: &OrderState) -> Option<String> {
    let point = state.spec.as_ref()?.dropoff.address.point?;
    zones.zone_of(point).map(|z| z.to_string())
}

impl Core {
    pub(crate) fn load_doc(&self, id: &OrderId) -> Result<OrderDoc, ApiError> {
        let inner = self.lock();
        let device = inner.store.device_id().clone();
        let (snapshot, changes) = inner
            .store
            .load_doc(id.as_str())
            .map_err(storage)?
            .ok_or_else(|| not_found(id))?;
        OrderDoc::load(&snapshot, &changes, &device).map_err(|e| doc_error(id, e))
    }

    /// The write path for one event: see [`Core::write_events`].
    pub(crate) fn write_event(
        &self,
        id: &OrderId,
        make: impl FnOnce(
            &crate::store::Tx<'_>,
            &OrderState,
            crate::hlc::Hlc,
        ) -> Result<Event, ApiError>,
    ) -> Result<OrderState, ApiError> {
        self.write_events(id, |tx, state, stamp| Ok(vec![make(tx, state, stamp())?]))
    }

    /// The write path: one transaction from loading the document to projecting
    /// it, for the events of one intent (`make` gets a fresh stamp per call of
    /// its third argument, each later than the last).
    pub(crate) fn write_events(
        &self,
        id: &OrderId,
        make: impl FnOnce(
            &crate::store::Tx<'_>,
            &OrderState,
            &mut dyn FnMut() -> crate::hlc::Hlc,
        ) -> Result<Vec<Event>, ApiError>,
    ) -> Result<OrderState, ApiError> {
        let now = self.clock.now_ms();
        let mut inner = self.lock();
        let Inner { store, zones, .. } = &mut *inner;
        let device = store.device_id().clone();
        let tx = store.write().map_err(storage)?;
        let loaded = tx.load_order(id.as_str()).map_err(storage)?;
        let existed = loaded.is_some();
        let mut doc = match loaded {
            Some(doc) => doc,
            None => OrderDoc::create(id, &device),
        }
        .map_err(|e| doc_error(id, e))?;
        let heads = doc.heads();
        let (mut events, _bad) = doc.events();
        let state = lifecycle::derive(id.clone(), events.clone());
        let mut clock = resume_clock(&tx, &device)?;
        let new = make(&tx, &state, &mut || clock.tick(now))?;
        for event in &new {
            doc.append(event).map_err(|e| doc_error(id, e))?;
        }
        tx.save_order(id.as_str(), &mut doc, existed.then_some(heads.as_slice()))
            .map_err(storage)?;
        tx.mark_pending(id.as_str(), now).map_err(storage)?;
        events.extend(new);
        let state = lifecycle::derive(id.clone(), events);
        project_and_commit(tx, zones, &state, &clock)?;
        // The write has landed; refreshing the planner's statistics is best effort.
        if let Err(e) = store.after_commit() {
            tracing::warn!(error = %e, "cannot refresh the store's statistics");
        }
        drop(inner);
        self.revision
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for hook in self.hooks.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            hook(id);
        }
        Ok(state)
    }
}

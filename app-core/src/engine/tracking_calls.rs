//! Order tracking on a device ([`Request::OrderTracking`]): the server tells
//! an order's client (and operators) the courier's position and ETA while the
//! parcel is on its way, the delivery time and the public link
//! (`ruta_model::tracking` decides what). The sync client fetches it for the
//! orders a screen has asked about in the last minute ([`Core::watched_tracking`])
//! and hands it here ([`Core::set_tracking`]); the device keeps the last answer
//! per order, so an order opened offline still shows what was last known and
//! when.
//!
//! [`Request::OrderTracking`]: app_api::Request::OrderTracking

use super::*;
use app_api::TrackingView;
use app_api::server::OrderTracking;

/// A screen's interest in an order's tracking lasts this long after it asked.
pub const WATCH_MS: i64 = 60_000;

fn meta_key(order: &str) -> String {
    format!("tracking:{order}")
}

/// What the device keeps of the server's last answer.
#[derive(serde::Serialize, serde::Deserialize)]
struct Kept {
    tracking: OrderTracking,
    fetched_at_ms: i64,
}

impl Core {
    /// The order's tracking as last fetched; from now on (for a minute) the
    /// sync client keeps it fresh. Only the order's client and operators ask;
    /// another client's order is not found (it is not on this device either).
    pub(super) fn order_tracking(&self, order_id: &str) -> Result<TrackingView, ApiError> {
        let actor = self.lock().session.clone();
        let id = OrderId::new(order_id);
        let state = self.order_state(&id)?;
        let Some(spec) = &state.spec else {
            return Err(not_found(&id));
        };
        let own = spec.client.as_ref() == Some(&actor.user);
        if actor.role == Role::Client && !own {
            return Err(not_found(&id));
        }
        allow(&actor, ruta_model::policy::Call::Tracking { own })?;
        self.watched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(order_id.to_owned(), self.clock.now_ms());
        let kept: Option<Kept> = self
            .lock()
            .store
            .meta(&meta_key(order_id))
            .map_err(storage)?
            .and_then(|j| serde_json::from_str(&j).ok());
        let (link, ..) = self.link.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Ok(TrackingView {
            on_the_way: ruta_model::tracking::on_the_way(&state),
            online: link == app_api::LinkState::Online,
            fetched_at_ms: kept.as_ref().map(|k| k.fetched_at_ms),
            tracking: kept.map(|k| k.tracking),
        })
    }

    /// The orders whose tracking a screen asked for within [`WATCH_MS`].
    pub fn watched_tracking(&self) -> Vec<String> {
        let now = self.clock.now_ms();
        let mut watched = self.watched.lock().unwrap_or_else(|p| p.into_inner());
        watched.retain(|_, at| now - *at <= WATCH_MS);
        let mut ids: Vec<String> = watched.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Keeps the server's answer for an order this device holds (anything
    /// else is ignored: the server answers only for such orders).
    pub fn set_tracking(&self, tracking: &OrderTracking) -> Result<(), ApiError> {
        let id = OrderId::new(&tracking.order_id);
        if self.order_state(&id)?.spec.is_none() {
            return Ok(());
        }
        let kept = Kept {
            tracking: tracking.clone(),
            fetched_at_ms: self.clock.now_ms(),
        };
        let json = serde_json::to_string(&kept).map_err(|e| ApiError::Invalid {
            field: "tracking".into(),
            message: e.to_string(),
        })?;
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        tx.set_meta(&meta_key(&tracking.order_id), &json)
            .map_err(storage)?;
        tx.commit().map_err(storage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_support::*;

    fn tracking(order: &str) -> OrderTracking {
        OrderTracking {
            order_id: order.into(),
            status: app_api::DeliveryStatus::InTransit,
            courier: Some(app_api::server::BreadcrumbPoint {
                at: 5,
                lat: 60.17,
                lon: 24.94,
            }),
            eta_ms: Some(9_000),
            window: None,
            delivered_at_ms: None,
            link: "/t/acme/x.y".into(),
        }
    }

    fn create(core: &Core) -> String {
        match core
            .execute(Request::CreateOrder(app_api::NewOrder::simple(
                "Eeva",
                "Aleksanterinkatu 52",
                "Annankatu 25",
            )))
            .unwrap()
        {
            Response::Order(o) => o.id,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_client_tracks_only_their_own_orders_and_keeps_the_last_answer() {
        let (_dir, core, clock) = open_at(1_000_000);
        session(&core, "cleo", Role::Client);
        let mine = create(&core);
        // Nothing fetched yet: asked for, so watched.
        let v = core.order_tracking(&mine).unwrap();
        assert_eq!((v.tracking.clone(), v.fetched_at_ms), (None, None));
        assert_eq!(core.watched_tracking(), vec![mine.clone()]);
        core.set_tracking(&tracking(&mine)).unwrap();
        let v = core.order_tracking(&mine).unwrap();
        assert_eq!(v.tracking, Some(tracking(&mine)));
        assert_eq!(v.fetched_at_ms, Some(1_000_000));
        // Interest lapses a minute after the last ask.
        clock.advance(WATCH_MS + 1);
        assert!(core.watched_tracking().is_empty());
        // Another client's order on this device (a dispatcher made it for no
        // client): not found for this client.
        session(&core, "dora", Role::Dispatcher);
        let theirs = create(&core);
        session(&core, "cleo", Role::Client);
        assert!(matches!(
            core.order_tracking(&theirs),
            Err(ApiError::NotFound { .. })
        ));
        // An order the device does not hold: nothing kept.
        let _ = core.set_tracking(&tracking("nope"));
        assert_eq!(core.lock().store.meta(&meta_key("nope")).unwrap(), None);
    }

    #[test]
    fn a_courier_does_not_ask_for_tracking() {
        let (_dir, core, _) = open_at(1_000_000);
        let o = create(&core);
        session(&core, "aki", Role::Courier);
        let e = core.order_tracking(&o).unwrap_err();
        assert!(matches!(e, ApiError::Refused { .. }), "{e:?}");
    }
}

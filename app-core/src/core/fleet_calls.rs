//! The fleet: the courier directory (from the tenant's server), live beacons
//! (couriers' positions, availability and work mode — in memory only, never
//! document history), the driver monitor, zones, and price quotes.
//!
//! A courier's device reports its own beacon with [`Request::ReportBeacon`];
//! the sync client listens ([`Core::on_beacon`]) and sends it on. A
//! dispatcher's sync client hands received beacons to [`Core::record_beacon`]
//! and the tenant's couriers to [`Core::set_courier_directory`].

use std::collections::{BTreeMap, HashMap};

use app_api::{
    ApiError, Availability, Beacon, CourierInfo, CourierStatus, FleetBoard, NewOrder, Point,
    PriceQuote, QuoteLine, ZoneView,
};

use super::{Core, priced_distance_m, refused, spec_from, storage};
use crate::domain::OrderId;
use crate::domain::geo::Zone;
use crate::lifecycle::Work;

const META_DIRECTORY: &str = "courier_directory";
const META_ZONES: &str = "zones";
const META_OWN_BEACON: &str = "own_beacon";
/// A courier counts as live when a position arrived within this time.
pub const LIVE_MS: i64 = 120_000;
const DAY_MS: i64 = 86_400_000;

fn invalid_field(field: &str, message: impl ToString) -> ApiError {
    ApiError::Invalid {
        field: field.into(),
        message: message.to_string(),
    }
}

pub(super) type BeaconHook = Box<dyn Fn(&Beacon) + Send + Sync>;

/// Beacons received from couriers, by courier, with the time they arrived.
#[derive(Default)]
pub(super) struct Live {
    beacons: HashMap<String, (Beacon, i64)>,
    hooks: Vec<BeaconHook>,
}

impl Core {
    /// The tenant's couriers (the sync client fetches them from the server;
    /// kept in the store, so the monitor lists them offline).
    pub fn set_courier_directory(&self, couriers: &[CourierInfo]) -> Result<(), ApiError> {
        let json = serde_json::to_string(couriers).map_err(|e| invalid_field("directory", e))?;
        if self.lock().store.meta(META_DIRECTORY).map_err(storage)? == Some(json.clone()) {
            return Ok(());
        }
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        tx.set_meta(META_DIRECTORY, &json).map_err(storage)?;
        tx.commit().map_err(storage)
    }

    fn courier_directory(&self) -> Vec<CourierInfo> {
        self.lock()
            .store
            .meta(META_DIRECTORY)
            .ok()
            .flatten()
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default()
    }

    /// A beacon from `courier`, received live (dispatchers). Older fixes than
    /// the one held are ignored, so late messages do not move a courier back.
    pub fn record_beacon(&self, courier: &str, beacon: Beacon) {
        let now = self.clock.now_ms();
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let entry = live
            .beacons
            .entry(courier.to_owned())
            .or_insert_with(|| (Beacon::default(), now));
        let (held, at) = entry;
        if beacon.point.is_some() && beacon.at_ms >= held.at_ms {
            held.point = beacon.point;
            held.at_ms = beacon.at_ms;
            held.accuracy_m = beacon.accuracy_m;
        }
        if beacon.availability.is_some() {
            held.availability = beacon.availability;
        }
        if beacon.work_mode.is_some() {
            held.work_mode = beacon.work_mode;
        }
        *at = now;
    }

    /// Registers `hook`, called with this device's merged beacon each time the
    /// courier reports one (the sync client sends it on).
    pub fn on_beacon(&self, hook: impl Fn(&Beacon) + Send + Sync + 'static) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .hooks
            .push(Box::new(hook));
    }

    /// This device's last beacon (kept across restarts: availability and work
    /// mode are the courier's settings).
    pub fn own_beacon(&self) -> Beacon {
        self.lock()
            .store
            .meta(META_OWN_BEACON)
            .ok()
            .flatten()
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default()
    }

    pub(super) fn report_beacon(&self, beacon: Beacon) -> Result<(), ApiError> {
        if let Some(p) = beacon.point {
            crate::domain::GeoPoint::new(p.lat, p.lon).map_err(|e| invalid_field("point", e))?;
        }
        if let Some(a) = beacon.accuracy_m
            && !(a.is_finite() && a >= 0.0)
        {
            return Err(invalid_field("accuracy_m", "must be a distance in metres"));
        }
        let mut own = self.own_beacon();
        if beacon.point.is_some() {
            own.point = beacon.point;
            own.at_ms = if beacon.at_ms > 0 {
                beacon.at_ms
            } else {
                self.clock.now_ms()
            };
            own.accuracy_m = beacon.accuracy_m;
        }
        if beacon.availability.is_some() {
            own.availability = beacon.availability;
        }
        if beacon.work_mode.is_some() {
            own.work_mode = beacon.work_mode;
        }
        let json = serde_json::to_string(&own).map_err(|e| invalid_field("beacon", e))?;
        {
            let mut inner = self.lock();
            let tx = inner.store.write().map_err(storage)?;
            tx.set_meta(META_OWN_BEACON, &json).map_err(storage)?;
            tx.commit().map_err(storage)?;
        }
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        for hook in &live.hooks {
            hook(&own);
        }
        Ok(())
    }

    /// The driver monitor: every courier in the directory or holding work, with
    /// their beacon and workload. Operators only.
    pub(super) fn fleet(&self) -> Result<FleetBoard, ApiError> {
        let now = self.clock.now_ms();
        let (counts, unassigned) = {
            let inner = self.lock();
            super::allow(&inner.session, ruta_model::policy::Call::Fleet)?;
            let day_start = now - now.rem_euclid(DAY_MS);
            inner.store.workload(day_start).map_err(storage)?
        };
        let mut rows: BTreeMap<String, CourierStatus> = BTreeMap::new();
        let blank = |user: &str, name: &str, known: bool| CourierStatus {
            user: user.to_owned(),
            name: name.to_owned(),
            known,
            availability: Availability::Offline,
            work_mode: None,
            position: None,
            position_at_ms: None,
            live: false,
            assigned: 0,
            on_board: 0,
            delivered_today: 0,
            failed_today: 0,
        };
        for c in self.courier_directory() {
            let name = if c.name.trim().is_empty() {
                &c.user
            } else {
                &c.name
            };
            rows.insert(c.user.clone(), blank(&c.user, name, true));
        }
        for (courier, status, n, today) in counts {
            let row = rows
                .entry(courier.clone())
                .or_insert_with(|| blank(&courier, &courier, false));
            if Work::is_failure(status) {
                row.failed_today += today;
            }
            match Work::of(status) {
                Work::ToCollect => row.assigned += n,
                Work::OnBoard => row.on_board += n,
                Work::Done => row.delivered_today += today,
                Work::Failed | Work::Unassigned | Work::Dropped => {}
            }
        }
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        for (courier, (b, received)) in &live.beacons {
            let row = rows
                .entry(courier.clone())
                .or_insert_with(|| blank(courier, courier, false));
            row.position = b.point;
            row.position_at_ms = b.point.map(|_| b.at_ms);
            row.live = now - received <= LIVE_MS;
            row.availability = b.availability.unwrap_or(if row.live {
                Availability::Available
            } else {
                Availability::Offline
            });
            row.work_mode = b.work_mode;
        }
        Ok(FleetBoard {
            couriers: rows.into_values().collect(),
            unassigned,
            now_ms: now,
        })
    }

    /// Sets the tenant's zones, keeps them, and files every order again when
    /// they changed.
    pub fn set_zones(&self, zones: &[Zone]) -> Result<(), ApiError> {
        let index = crate::domain::geo::ZoneIndex::new(zones).map_err(|e| ApiError::Invalid {
            field: e.field,
            message: e.message,
        })?;
        let json = serde_json::to_string(zones).map_err(|e| invalid_field("zones", e))?;
        let changed = {
            let mut inner = self.lock();
            inner.zones = index;
            let changed = inner.store.meta(META_ZONES).map_err(storage)? != Some(json.clone());
            if changed {
                let tx = inner.store.write().map_err(storage)?;
                tx.set_meta(META_ZONES, &json).map_err(storage)?;
                tx.commit().map_err(storage)?;
            }
            changed
        };
        if changed && self.order_count()? > 0 {
            self.rebuild_projection()?;
        }
        Ok(())
    }

    /// The zones kept in the store (loaded when the core opens).
    pub(super) fn stored_zones(&self) -> Vec<Zone> {
        self.lock()
            .store
            .meta(META_ZONES)
            .ok()
            .flatten()
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default()
    }

    pub(super) fn zone_views(&self) -> Vec<ZoneView> {
        self.stored_zones()
            .into_iter()
            .map(|z| {
                let mut ring: Vec<Point> = z
                    .ring
                    .iter()
                    .map(|[lon, lat]| Point {
                        lat: *lat,
                        lon: *lon,
                    })
                    .collect();
                if ring.len() > 1 && ring.first() == ring.last() {
                    ring.pop();
                }
                ZoneView {
                    id: z.id.to_string(),
                    name: z.name,
                    ring,
                }
            })
            .collect()
    }

    /// What `new` would cost under the tenant's tariff, as the order would be
    /// priced when created.
    pub(super) fn quote(&self, new: &NewOrder) -> Result<PriceQuote, ApiError> {
        let (actor, tariff) = {
            let inner = self.lock();
            (inner.session.clone(), inner.tariff.clone())
        };
        let mut spec = spec_from(new, &actor).map_err(|r| refused(&OrderId::new("quote"), r))?;
        // The store gives the reference on creation; any will do for the check.
        spec.reference = "QUOTE".into();
        if let crate::lifecycle::Verdict::Rejected { refusal } =
            crate::lifecycle::check_created(&actor, &spec)
        {
            return Err(refused(&OrderId::new("quote"), refusal));
        }
        let distance = priced_distance_m(&spec);
        let price = tariff.price(&spec, distance);
        Ok(PriceQuote {
            currency: price.currency,
            lines: price
                .lines
                .into_iter()
                .map(|l| QuoteLine {
                    label: l.label,
                    cents: l.cents,
                })
                .collect(),
            total_cents: price.total_cents,
            vat_cents: price.vat_cents,
            distance_m: distance.round() as i64,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use app_api::{Action, PodInput, Request, Response, Role, WorkMode};

    use super::*;
    use crate::clock::ManualClock;
    use crate::core::test_support::{act, open_at, session};

    const T0: i64 = 1_700_000_000_000;

    fn core() -> (tempfile::TempDir, Core, Arc<ManualClock>) {
        open_at(T0)
    }

    fn order(core: &Core, name: &str) -> String {
        let new = NewOrder::simple(name, "Pohjoisesplanadi 11", "Fredrikinkatu 34");
        match core.execute(Request::CreateOrder(new)).unwrap() {
            Response::Order(o) => o.id,
            other => panic!("{other:?}"),
        }
    }

    fn board(core: &Core) -> FleetBoard {
        match core.execute(Request::Fleet).unwrap() {
            Response::Fleet(b) => b,
            other => panic!("{other:?}"),
        }
    }

    fn beacon(lat: f64, lon: f64, at_ms: i64) -> Beacon {
        Beacon {
            point: Some(Point { lat, lon }),
            at_ms,
            ..Default::default()
        }
    }

    #[test]
    fn monitor_counts_each_couriers_work_and_shows_live_beacons() {
        let (_dir, core, clock) = core();
        session(&core, "disp", Role::Dispatcher);
        core.set_courier_directory(&[
            CourierInfo {
                user: "aki".into(),
                name: "Aki Virtanen".into(),
            },
            CourierInfo {
                user: "bea".into(),
                name: "Bea Nieminen".into(),
            },
        ])
        .unwrap();
        let ids: Vec<String> = (0..5).map(|i| order(&core, &format!("C{i}"))).collect();
        for id in &ids[..3] {
            act(
                &core,
                id,
                Action::Assign {
                    courier: "aki".into(),
                },
            );
        }
        act(
            &core,
            &ids[3],
            Action::Assign {
                courier: "cid".into(),
            },
        );
        session(&core, "aki", Role::Courier);
        act(&core, &ids[0], Action::PickUp);
        act(&core, &ids[1], Action::PickUp);
        act(
            &core,
            &ids[1],
            Action::CapturePod(PodInput {
                id: "p1".into(),
                photo_sha256: Some("ab12".into()),
                ..Default::default()
            }),
        );
        act(
            &core,
            &ids[1],
            Action::Deliver {
                pods: vec!["p1".into()],
            },
        );
        session(&core, "aki", Role::Courier);
        let refused = core.execute(Request::Fleet).unwrap_err();
        assert!(matches!(&refused, ApiError::Refused { code, .. } if code == "forbidden"));

        session(&core, "disp", Role::Dispatcher);
        core.record_beacon("aki", beacon(60.17, 24.94, T0 + 10));
        core.record_beacon(
            "aki",
            Beacon {
                work_mode: Some(WorkMode::SystemOptimised),
                availability: Some(Availability::OnBreak),
                ..beacon(60.10, 24.00, T0 + 5)
            },
        );
        let b = board(&core);
        assert_eq!(b.unassigned, 1, "one order nobody has");
        let who: Vec<&str> = b.couriers.iter().map(|c| c.user.as_str()).collect();
        assert_eq!(who, ["aki", "bea", "cid"]);
        let aki = &b.couriers[0];
        assert_eq!((aki.name.as_str(), aki.known), ("Aki Virtanen", true));
        assert_eq!((aki.assigned, aki.on_board, aki.delivered_today), (1, 1, 1));
        assert_eq!(
            aki.position,
            Some(Point {
                lat: 60.17,
                lon: 24.94
            }),
            "an older fix does not move the courier back"
        );
        assert_eq!(aki.position_at_ms, Some(T0 + 10));
        assert_eq!(aki.work_mode, Some(WorkMode::SystemOptimised));
        assert_eq!(aki.availability, Availability::OnBreak);
        assert!(aki.live);
        let bea = &b.couriers[1];
        assert_eq!((bea.assigned, bea.live, bea.position), (0, false, None));
        assert_eq!(bea.availability, Availability::Offline);
        let cid = &b.couriers[2];
        assert_eq!(
            (cid.known, cid.assigned, cid.name.as_str()),
            (false, 1, "cid")
        );

        clock.advance(LIVE_MS + 1);
        let aki = board(&core).couriers.remove(0);
        assert!(!aki.live, "silent for two minutes");
        clock.advance(DAY_MS);
        let aki = board(&core).couriers.remove(0);
        assert_eq!(
            aki.delivered_today, 0,
            "yesterday's deliveries do not count today"
        );
    }

    #[test]
    fn a_courier_beacon_is_checked_kept_and_handed_to_the_sync_client() {
        let (dir, core, _clock) = core();
        session(&core, "aki", Role::Courier);
        let sent = Arc::new(Mutex::new(Vec::<Beacon>::new()));
        let s = sent.clone();
        core.on_beacon(move |b| s.lock().unwrap().push(b.clone()));
        let bad = core
            .execute(Request::ReportBeacon(beacon(91.0, 24.9, T0)))
            .unwrap_err();
        assert!(
            matches!(&bad, ApiError::Invalid { field, .. } if field == "point"),
            "{bad:?}"
        );
        assert!(
            sent.lock().unwrap().is_empty(),
            "nothing sent for a bad fix"
        );
        core.execute(Request::ReportBeacon(beacon(60.17, 24.94, T0)))
            .unwrap();
        core.execute(Request::ReportBeacon(Beacon {
            work_mode: Some(WorkMode::SystemOptimised),
            ..Default::default()
        }))
        .unwrap();
        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 2);
        assert_eq!(
            sent[1].point, sent[0].point,
            "a mode change carries the last fix"
        );
        assert_eq!(sent[1].work_mode, Some(WorkMode::SystemOptimised));
        drop(core);
        let core = Core::open(dir.path()).unwrap();
        assert_eq!(
            core.own_beacon().work_mode,
            Some(WorkMode::SystemOptimised),
            "the courier's settings survive a restart"
        );
    }

    #[test]
    fn zones_are_kept_and_file_orders_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let core = Core::open(dir.path()).unwrap();
            crate::demo::seed(&core).unwrap();
        }
        let core = Core::open(dir.path()).unwrap();
        let Response::Zones { zones } = core.execute(Request::Zones).unwrap() else {
            panic!()
        };
        assert_eq!(zones.len(), 3);
        assert!(zones.iter().all(|z| z.ring.len() == 4));
        let mut new = NewOrder::simple("Z", "Bulevardi 9", "Uudenmaankatu 16");
        new.dropoff_point = Some(Point {
            lat: 60.164_166,
            lon: 24.940_368,
        });
        let Response::Order(o) = core.execute(Request::CreateOrder(new)).unwrap() else {
            panic!()
        };
        assert_eq!(o.zone.as_deref(), Some("punavuori"));
        // New zones re-file existing orders.
        core.set_zones(&[Zone {
            id: crate::domain::ZoneId::new("all"),
            name: "All".into(),
            ring: vec![[24.0, 60.0], [25.5, 60.0], [25.5, 60.5], [24.0, 60.5]],
        }])
        .unwrap();
        let Response::OrderDetail(d) = core.execute(Request::GetOrder { order_id: o.id }).unwrap()
        else {
            panic!()
        };
        assert_eq!(d.summary.zone.as_deref(), Some("all"));
    }

    #[test]
    fn a_quote_is_the_price_the_order_gets() {
        let (_dir, core, _clock) = core();
        let mut new = NewOrder::simple("Q", "Kauppatori 1", "Itäkeskus");
        new.pickup_point = Some(Point {
            lat: 60.1675,
            lon: 24.9525,
        });
        new.dropoff_point = Some(Point {
            lat: 60.2100,
            lon: 25.0800,
        });
        new.weight_g = 12_000;
        let Response::Quote(q) = core.execute(Request::QuotePrice(new.clone())).unwrap() else {
            panic!()
        };
        assert!(q.distance_m > 5_000, "{q:?}");
        assert!(
            q.lines.iter().any(|l| l.label.starts_with("Distance")),
            "{q:?}"
        );
        assert!(
            q.lines.iter().any(|l| l.label.starts_with("Weight")),
            "{q:?}"
        );
        assert_eq!(q.total_cents, q.lines.iter().map(|l| l.cents).sum::<i64>());
        let Response::Order(o) = core.execute(Request::CreateOrder(new)).unwrap() else {
            panic!()
        };
        assert_eq!(o.price_cents, q.total_cents);
        let bad = core
            .execute(Request::QuotePrice(NewOrder::simple("", "", "")))
            .unwrap_err();
        assert!(matches!(bad, ApiError::Invalid { .. }), "{bad:?}");
    }
}

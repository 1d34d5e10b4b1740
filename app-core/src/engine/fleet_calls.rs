//! The fleet: the courier directory (from the tenant's server), live beacons
//! (couriers' positions, availability and work mode — in memory only, never
//! document history), the driver monitor, zones, and price quotes.
//!
//! A courier's device reports its own beacon with [`Request::ReportBeacon`];
//! the sync client listens ([`Core::on_beacon`]) and sends it on. A
//! dispatcher's sync client hands received beacons to [`Core::record_beacon`]
//! and the tenant's couriers to [`Core::set_courier_directory`].

use crate::domain::pricing::Pricing as _;
use std::collections::{BTreeMap, HashMap};

use app_api::{
    ApiError, Availability, Beacon, CourierInfo, CourierStatus, FleetBoard, NewOrder, Point,
    PriceQuote, QuoteLine, ZoneView,
};

use super::{Core, refused, spec_from, storage};
use crate::domain::OrderId;
use crate::domain::geo::Zone;
use crate::lifecycle::Work;

const META_DIRECTORY: &str = "courier_directory";
const META_STAFF: &str = "staff_directory";
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

    /// The tenant's operators (dispatchers and admins), for assigning
    /// tickets and naming who wrote; fetched with the couriers.
    pub fn set_staff_directory(&self, staff: &[CourierInfo]) -> Result<(), ApiError> {
        let json = serde_json::to_string(staff).map_err(|e| invalid_field("staff", e))?;
        if self.lock().store.meta(META_STAFF).map_err(storage)? == Some(json.clone()) {
            return Ok(());
        }
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        tx.set_meta(META_STAFF, &json).map_err(storage)?;
        tx.commit().map_err(storage)
    }

    pub(super) fn staff_directory(&self) -> Vec<CourierInfo> {
        self.lock()
            .store
            .meta(META_STAFF)
            .ok()
            .flatten()
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default()
    }

    pub(super) fn courier_directory(&self) -> Vec<CourierInfo> {
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
    /// Where `courier` is, as this device last heard (its own GPS on the
    /// courier's device, else their live beacon).
    pub(super) fn live_position(&self, courier: &str) -> Option<crate::domain::GeoPoint> {
        let me = self.lock().session.user.clone();
        let point = if me.as_str() == courier {
            self.own_beacon().point
        } else {
            let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
            live.beacons.get(courier).and_then(|(b, _)| b.point)
        }?;
        Some(crate::domain::GeoPoint {
            lat: point.lat,
            lon: point.lon,
        })
    }

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
        let config = self.tenant_config();
        // "Today" is the tenant's day, in its time zone.
        let offset_ms = i64::from(super::config_calls::utc_offset_min(
            &config.profile.time_zone,
            now,
        )) * 60_000;
        let (counts, unassigned) = {
            let inner = self.lock();
            super::allow(&inner.session, ruta_model::policy::Call::Fleet)?;
            let day_start = now - (now + offset_ms).rem_euclid(DAY_MS);
            inner.store.workload(day_start).map_err(storage)?
        };
        let mut rows: BTreeMap<String, CourierStatus> = BTreeMap::new();
        let blank = |user: &str, name: &str, known: bool| CourierStatus {
            user: user.to_owned(),
            name: name.to_owned(),
            known,
            phone: config
                .courier(user)
                .map(|c| c.phone.trim().to_owned())
                .filter(|p| !p.is_empty()),
            vehicle: config
                .vehicle_of(user)
                .map(|v| format!("{} ({})", v.name, v.kind.label())),
            start: config
                .courier(user)
                .and_then(|c| c.shift_start.as_deref())
                .and_then(|w| config.warehouse(w))
                .map(|w| w.position),
            home_zones: config
                .courier(user)
                .map(|c| {
                    c.home_zones
                        .iter()
                        .map(|z| {
                            config
                                .zones
                                .iter()
                                .find(|x| &x.id == z)
                                .map_or_else(|| z.clone(), |x| x.name.clone())
                        })
                        .collect()
                })
                .unwrap_or_default(),
            availability: Availability::Offline,
            work_mode: None,
            position: None,
            position_at_ms: None,
            live: false,
            assigned: 0,
            on_board: 0,
            delivered_today: 0,
            cash_in_hand_cents: 0,
            over_cash_limit: false,
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
        // Cash in hand, from the cash positions (the same figures as the Cash tab).
        if let Ok(positions) = self.cash_positions() {
            for p in positions {
                if let Some(row) = rows.get_mut(p.courier.as_str()) {
                    row.cash_in_hand_cents = p.outstanding_cents;
                    row.over_cash_limit = p.over_limit;
                }
            }
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
        let (actor, rates) = {
            let inner = self.lock();
            (inner.session.clone(), inner.rates.clone())
        };
        let mut spec = spec_from(new, &actor).map_err(|r| refused(&OrderId::new("quote"), r))?;
        super::order_calls::apply_service(&mut spec, &self.tenant_config(), self.clock.now_ms())
            .map_err(|r| refused(&OrderId::new("quote"), r))?;
        // The store gives the reference on creation; any will do for the check.
        spec.reference = "QUOTE".into();
        if let crate::lifecycle::Verdict::Rejected { refusal } =
            crate::lifecycle::check_created(&actor, &spec)
        {
            return Err(refused(&OrderId::new("quote"), refusal));
        }
        let (distance, by_road) = self.distances().priced_m(&spec);
        let price = rates.price(&spec, distance);
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
            by_road,
        })
    }
}

#[cfg(test)]
mod tests;

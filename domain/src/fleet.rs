//! Tenants, users, customers and couriers, and how couriers' work is grouped:
//! waybills, trips (run sheets), reusable routes and route sessions.
//!
//! Only `VehicleKind`, `Vehicle`, `StopKind` and `TripStop` are used by routing
//! today; the rest waits for the operations issue (issue 21: trips, routes,
//! route sessions, waybills), which brings their state machines into the model.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::geo::{Warehouse, Zone};
use super::order::{Address, Contact, SpecError};
use super::pricing::Tariff;
use super::{CustomerId, OrderId, Role, RouteId, TenantId, TripId, UserId, WaybillId, ZoneId};

/// A delivery company running Ruta: its configuration, which only admins change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub tariff: Tariff,
    pub zones: Vec<Zone>,
    pub warehouses: Vec<Warehouse>,
}

/// A person who signs in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub tenant: TenantId,
    pub name: String,
    pub role: Role,
    /// For clients: the customer account they order for.
    pub customer: Option<CustomerId>,
}

/// A customer account: who orders, with their contacts and usual addresses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: CustomerId,
    pub name: String,
    pub contacts: Vec<Contact>,
    pub addresses: Vec<Address>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    #[default]
    Offline,
    Available,
    OnBreak,
    Busy,
}

/// How a courier's queue is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WorkMode {
    /// The courier orders their own queue (and may ask for a suggestion).
    #[default]
    SelfManaged,
    /// The routing module sequences the queue.
    SystemOptimised,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VehicleKind {
    OnFoot,
    #[default]
    Bicycle,
    CargoBike,
    Scooter,
    Car,
    Van,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Vehicle {
    pub kind: VehicleKind,
    /// Parcels it carries at once.
    pub capacity_items: u32,
    pub capacity_g: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Courier {
    pub user: UserId,
    pub name: String,
    pub availability: Availability,
    pub work_mode: WorkMode,
    pub vehicle: Vehicle,
    pub home_zones: Vec<ZoneId>,
}

impl Courier {
    /// Whether a load of `items` parcels weighing `grams` fits the vehicle.
    pub fn fits(&self, items: u32, grams: u32) -> bool {
        items <= self.vehicle.capacity_items && grams <= self.vehicle.capacity_g
    }
}

/// Orders grouped and moved together (one consignment note).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waybill {
    pub id: WaybillId,
    pub number: String,
    pub orders: Vec<OrderId>,
}

impl Waybill {
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.orders.is_empty() {
            return Err(SpecError::new(
                "waybill.orders",
                "a waybill needs at least one order",
            ));
        }
        let mut seen = HashSet::new();
        for o in &self.orders {
            if !seen.insert(o) {
                return Err(SpecError::new(
                    "waybill.orders",
                    format!("order {o} is listed twice"),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    Pickup,
    Dropoff,
}

/// One stop of a run sheet.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TripStop {
    pub order: OrderId,
    pub kind: StopKind,
}

/// A courier's run sheet: stops in the order they will be visited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trip {
    pub id: TripId,
    pub courier: UserId,
    pub stops: Vec<TripStop>,
}

impl Trip {
    /// Every stop at most once, and an order's pickup before its drop-off
    /// (orders whose pickup is not on this trip were picked up earlier).
    pub fn validate(&self) -> Result<(), SpecError> {
        let mut seen = HashSet::new();
        let mut dropped = HashSet::new();
        for (i, stop) in self.stops.iter().enumerate() {
            if !seen.insert(stop) {
                return Err(SpecError::new(
                    format!("trip.stops[{i}]"),
                    "stop listed twice",
                ));
            }
            match stop.kind {
                StopKind::Dropoff => {
                    dropped.insert(&stop.order);
                }
                StopKind::Pickup if dropped.contains(&stop.order) => {
                    return Err(SpecError::new(
                        format!("trip.stops[{i}]"),
                        format!("pickup of {} comes after its drop-off", stop.order),
                    ));
                }
                StopKind::Pickup => {}
            }
        }
        Ok(())
    }
}

/// A reusable pattern of stops (e.g. the daily 9:00 bakery run) with its drivers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub id: RouteId,
    pub name: String,
    pub stops: Vec<super::order::Stop>,
    pub drivers: Vec<UserId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Planned,
    Running,
    Finished,
}

/// One day's execution of a route by one driver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteSession {
    pub route: RouteId,
    /// ISO date, e.g. "2026-11-22".
    pub date: String,
    pub driver: UserId,
    pub trip: TripId,
    pub status: SessionStatus,
}

// A route session's state machine belongs in the model with the other
// document kinds' rules (issue 21); an unused second one was removed here.

#[cfg(test)]
mod tests {
    use super::*;

    fn stop(order: &str, kind: StopKind) -> TripStop {
        TripStop {
            order: OrderId::new(order),
            kind,
        }
    }

    #[test]
    fn trip_requires_pickup_before_dropoff() {
        let ok = Trip {
            id: TripId::new("t"),
            courier: UserId::new("c"),
            stops: vec![
                stop("a", StopKind::Pickup),
                stop("b", StopKind::Dropoff), // picked up on an earlier trip
                stop("a", StopKind::Dropoff),
            ],
        };
        ok.validate().unwrap();
        let mut bad = ok.clone();
        bad.stops.swap(0, 2);
        assert!(
            bad.validate()
                .unwrap_err()
                .message
                .contains("after its drop-off")
        );
        let mut twice = ok.clone();
        twice.stops.push(stop("b", StopKind::Dropoff));
        assert!(twice.validate().is_err());
    }

    #[test]
    fn waybill_needs_distinct_orders() {
        let mut w = Waybill {
            id: WaybillId::new("w"),
            number: "WB-1".into(),
            orders: vec![OrderId::new("a"), OrderId::new("b")],
        };
        w.validate().unwrap();
        w.orders.push(OrderId::new("a"));
        assert!(w.validate().is_err());
        w.orders.clear();
        assert!(w.validate().is_err());
    }

    #[test]
    fn capacity_check() {
        let c = Courier {
            user: UserId::new("c"),
            name: "Kalle".into(),
            availability: Availability::Available,
            work_mode: WorkMode::SystemOptimised,
            vehicle: Vehicle {
                kind: VehicleKind::CargoBike,
                capacity_items: 10,
                capacity_g: 80_000,
            },
            home_zones: vec![],
        };
        assert!(c.fits(10, 80_000));
        assert!(!c.fits(11, 1));
        assert!(!c.fits(1, 80_001));
    }
}

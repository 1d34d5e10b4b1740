//! Orders as clients and dispatchers describe them: what moves from where to
//! where, for whom, under which service options. The order's *state* (status,
//! assignment, proofs) is derived by `ruta_model::lifecycle` from its history.

use serde::{Deserialize, Serialize};

use super::{CustomerId, GeoPoint, UserId, WarehouseId};

/// Longest free-text field accepted, in characters.
pub const MAX_TEXT: usize = 2_000;

/// A field that failed validation, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SpecError {
    pub field: String,
    pub message: String,
}

impl SpecError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The order vocabulary is shared with the UI through app-api.
///
/// Carrier types and what they allow (enforced in `ruta_model::lifecycle::permitted`):
/// internal — the tenant's couriers, every step in Ruta; prime — contracted
/// couriers in Ruta who neither claim orders nor handle cash; external — a
/// third-party carrier whose progress dispatchers record; hybrid — a courier in
/// Ruta takes the first leg, an external carrier the last mile.
pub use app_api::{CarrierType, OrderType, Priority};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Address {
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    #[serde(default)]
    pub postcode: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub point: Option<GeoPoint>,
}

impl Address {
    pub fn one_line(&self) -> String {
        [&self.line1, &self.line2, &self.postcode, &self.city]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Contact {
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
}

/// A time window in milliseconds since the epoch, `start <= end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// One end of an order: where the courier collects or hands over.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct Stop {
    pub address: Address,
    #[serde(default)]
    pub contact: Contact,
    #[serde(default)]
    pub window: Option<TimeWindow>,
    /// Set when this stop is a warehouse or hub.
    #[serde(default)]
    pub warehouse: Option<WarehouseId>,
    /// Minutes the courier is expected to spend at the stop.
    #[serde(default)]
    pub service_minutes: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub count: u32,
    #[serde(default)]
    pub weight_g: u32,
    /// Length, width, height in millimetres.
    #[serde(default)]
    pub dims_mm: Option<[u32; 3]>,
    /// Reference or barcode printed on the parcel.
    #[serde(default)]
    pub reference: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ServiceOptions {
    #[serde(default)]
    pub express: bool,
    #[serde(default)]
    pub signature_required: bool,
    /// Minimum age of the recipient, checked at the door.
    #[serde(default)]
    pub age_check: Option<u8>,
}

/// What proof must exist before the order may be marked Delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PodRequirements {
    #[serde(default)]
    pub photo: bool,
    #[serde(default)]
    pub signature: bool,
    /// The order's verification code scanned as a QR code.
    #[serde(default)]
    pub qr: bool,
    /// The verification code typed as a PIN.
    #[serde(default)]
    pub pin: bool,
}

/// Everything an order says about itself, as created or edited.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderSpec {
    /// Human-facing reference, unique in the tenant (e.g. `R-3F2A-0001`).
    pub reference: String,
    pub order_type: OrderType,
    #[serde(default)]
    pub carrier: CarrierType,
    pub customer_name: String,
    #[serde(default)]
    pub customer: Option<CustomerId>,
    /// The client user who owns the order, if a client created it.
    #[serde(default)]
    pub client: Option<UserId>,
    pub pickup: Stop,
    pub dropoff: Stop,
    #[serde(default)]
    pub packages: Vec<Package>,
    #[serde(default)]
    pub notes: String,
    /// Instructions for the courier ("ring twice, parcel box on the left").
    #[serde(default)]
    pub instructions: String,
    #[serde(default)]
    pub options: ServiceOptions,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default)]
    pub pod: PodRequirements,
    /// Cash to collect on delivery, in minor units of the tenant currency.
    #[serde(default)]
    pub cod_cents: i64,
    /// The computed price, in minor units (see [`super::pricing`]).
    #[serde(default)]
    pub price_cents: i64,
    /// The tenant's service level it was ordered at (an id), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The distance it was priced for, in metres (by road when the device had
    /// the road graph), fixed at creation; older orders have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<u32>,
}

impl OrderSpec {
    /// Checks the spec on its own (not against the order's history).
    pub fn validate(&self) -> Result<(), SpecError> {
        text("reference", &self.reference, true)?;
        text("customer_name", &self.customer_name, true)?;
        text("notes", &self.notes, false)?;
        text("instructions", &self.instructions, false)?;
        for (name, stop) in [("pickup", &self.pickup), ("dropoff", &self.dropoff)] {
            text(&format!("{name}.address.line1"), &stop.address.line1, true)?;
            text(&format!("{name}.contact.name"), &stop.contact.name, false)?;
            if let Some(w) = stop.window
                && w.start_ms > w.end_ms
            {
                return Err(SpecError::new(
                    format!("{name}.window"),
                    "the window ends before it starts",
                ));
            }
        }
        for (i, p) in self.packages.iter().enumerate() {
            if p.count == 0 {
                return Err(SpecError::new(
                    format!("packages[{i}].count"),
                    "must be at least 1",
                ));
            }
        }
        if self.cod_cents < 0 {
            return Err(SpecError::new("cod_cents", "must not be negative"));
        }
        if self.price_cents < 0 {
            return Err(SpecError::new("price_cents", "must not be negative"));
        }
        match self.order_type {
            OrderType::Pickup if self.dropoff.warehouse.is_none() => {
                return Err(SpecError::new(
                    "dropoff_warehouse",
                    "a pickup order ends at a warehouse: choose the one it goes to",
                ));
            }
            OrderType::Delivery if self.pickup.warehouse.is_none() => {
                return Err(SpecError::new(
                    "pickup_warehouse",
                    "a delivery order starts at a warehouse: choose the one it leaves from",
                ));
            }
            _ => {}
        }
        if self.options.signature_required && !self.pod.signature {
            return Err(SpecError::new(
                "pod.signature",
                "the service option 'signature required' needs a signature proof",
            ));
        }
        Ok(())
    }

    /// How urgently the order weighs in sequencing and auto-assignment: an
    /// on-demand order is due now, so it weighs as urgent whatever its priority.
    pub fn urgency(&self) -> Priority {
        match self.order_type {
            OrderType::OnDemand => Priority::Urgent,
            _ => self.priority,
        }
    }

    /// Total parcels and weight, for capacity checks.
    pub fn load(&self) -> (u32, u32) {
        self.packages.iter().fold((0, 0), |(n, g), p| {
            (
                n.saturating_add(p.count),
                g.saturating_add(p.weight_g.saturating_mul(p.count)),
            )
        })
    }
}

fn text(field: &str, value: &str, required: bool) -> Result<(), SpecError> {
    if required && value.trim().is_empty() {
        return Err(SpecError::new(field, "must not be empty"));
    }
    let n = value.chars().count();
    if n > MAX_TEXT {
        return Err(SpecError::new(
            field,
            format!("is {n} characters; at most {MAX_TEXT}"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(SpecError::new(field, "contains control characters"));
    }
    Ok(())
}

/// An order spec for tests here and in the crates above (feature `test-support`).
#[cfg(any(test, feature = "test-support"))]
pub mod tests {
    use super::*;

    pub fn sample_spec(reference: &str) -> OrderSpec {
        OrderSpec {
            reference: reference.into(),
            order_type: OrderType::PickupAndDelivery,
            carrier: CarrierType::Internal,
            customer_name: "Aino Mäkelä".into(),
            customer: None,
            client: None,
            pickup: Stop {
                address: Address {
                    line1: "Aleksanterinkatu 52".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
            dropoff: Stop {
                address: Address {
                    line1: "Fredrikinkatu 34".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
            packages: vec![Package {
                count: 2,
                weight_g: 1500,
                dims_mm: None,
                reference: String::new(),
            }],
            notes: String::new(),
            instructions: "Ring twice".into(),
            options: ServiceOptions::default(),
            priority: Priority::Normal,
            pod: PodRequirements {
                photo: true,
                ..Default::default()
            },
            cod_cents: 0,
            price_cents: 990,
            service: None,
            distance_m: None,
        }
    }

    #[test]
    fn a_complete_spec_validates_and_reports_its_load() {
        let spec = sample_spec("R-1");
        spec.validate().unwrap();
        assert_eq!(spec.load(), (2, 3000));
    }

    #[test]
    fn each_broken_field_is_named() {
        type Breaker = fn(&mut OrderSpec);
        let cases: Vec<(Breaker, &str)> = vec![
            (|s| s.customer_name = " ".into(), "customer_name"),
            (|s| s.dropoff.address.line1.clear(), "dropoff.address.line1"),
            (|s| s.packages[0].count = 0, "packages[0].count"),
            (|s| s.cod_cents = -1, "cod_cents"),
            (|s| s.notes = "x".repeat(MAX_TEXT + 1), "notes"),
            (|s| s.instructions = "a\u{7}b".into(), "instructions"),
            (
                |s| {
                    s.pickup.window = Some(TimeWindow {
                        start_ms: 10,
                        end_ms: 5,
                    })
                },
                "pickup.window",
            ),
            (|s| s.options.signature_required = true, "pod.signature"),
            (|s| s.order_type = OrderType::Pickup, "dropoff_warehouse"),
            (|s| s.order_type = OrderType::Delivery, "pickup_warehouse"),
        ];
        for (breaker, field) in cases {
            let mut spec = sample_spec("R-1");
            breaker(&mut spec);
            assert_eq!(spec.validate().unwrap_err().field, field);
        }
    }

    #[test]
    fn an_on_demand_order_weighs_as_urgent_whatever_its_priority() {
        let mut spec = sample_spec("R-1");
        spec.priority = Priority::Low;
        assert_eq!(spec.urgency(), Priority::Low);
        spec.order_type = OrderType::OnDemand;
        assert_eq!(spec.urgency(), Priority::Urgent);
        // The order's own priority is kept (what the form shows and edits).
        assert_eq!(spec.priority, Priority::Low);
    }
}

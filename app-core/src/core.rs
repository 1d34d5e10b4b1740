//! [`Core`]: the one entry point every shell calls.
//!
//! A shell decodes a [`Request`] from its transport, calls [`Core::execute`] (or
//! [`Core::execute_json`] when it holds raw bytes) once, and encodes the result.
//! No shell checks a rule or touches the store itself.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use app_api::{ApiError, DeliveryStatus, DeviceStatus, NewOrder, OrderSummary, Request, Response};

use crate::clock::{Clock, SystemClock};
use crate::store::{LocalStore, StoreError};

/// Longest accepted free-text field, in characters.
const MAX_TEXT_CHARS: usize = 500;

/// A device's core: its local store and its clock.
///
/// `Core` is `Send + Sync`; calls are serialised on the store. Every call is
/// short (a few SQLite statements), so shells may call it from a blocking pool.
#[derive(Clone)]
pub struct Core {
    store: Arc<Mutex<LocalStore>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").finish_non_exhaustive()
    }
}

impl Core {
    /// Opens the device whose data lives in `dir` (created if missing), on the system clock.
    pub fn open(dir: &Path) -> Result<Self, ApiError> {
        Self::open_with_clock(dir, Arc::new(SystemClock))
    }

    pub fn open_with_clock(dir: &Path, clock: Arc<dyn Clock>) -> Result<Self, ApiError> {
        std::fs::create_dir_all(dir).map_err(|e| ApiError::Storage {
            message: format!("cannot create data directory {}: {e}", dir.display()),
        })?;
        let store = LocalStore::open_in_dir(dir).map_err(storage)?;
        Ok(Self {
            store: Arc::new(Mutex::new(store)),
            clock,
        })
    }

    /// The id of this device's store.
    pub fn device_id(&self) -> String {
        self.lock().device_id().to_owned()
    }

    /// Number of orders in the local store.
    pub fn order_count(&self) -> Result<u64, ApiError> {
        self.lock().order_count().map_err(storage)
    }

    /// Executes one request.
    pub fn execute(&self, request: Request) -> Result<Response, ApiError> {
        match request {
            Request::DeviceStatus => self.device_status().map(Response::DeviceStatus),
            Request::CreateOrder(new) => self.create_order(new).map(Response::Order),
            Request::ListOrders => {
                let orders = self.lock().list_orders().map_err(storage)?;
                Ok(Response::Orders { orders })
            }
        }
    }

    /// Decodes a JSON request and executes it; a request that does not decode
    /// is answered with [`ApiError::Malformed`] naming what was wrong.
    pub fn execute_json(&self, body: &[u8]) -> Result<Response, ApiError> {
        let request: Request = serde_json::from_slice(body).map_err(|e| ApiError::Malformed {
            message: e.to_string(),
        })?;
        self.execute(request)
    }

    fn device_status(&self) -> Result<DeviceStatus, ApiError> {
        let store = self.lock();
        Ok(DeviceStatus {
            device_id: store.device_id().to_owned(),
            core_version: env!("CARGO_PKG_VERSION").to_owned(),
            schema_version: store.schema_version().map_err(storage)?,
            order_count: store.order_count().map_err(storage)?,
        })
    }

    fn create_order(&self, new: NewOrder) -> Result<OrderSummary, ApiError> {
        let customer_name = required_text("customer_name", &new.customer_name)?;
        let pickup_address = optional_text("pickup_address", &new.pickup_address)?;
        let dropoff_address = optional_text("dropoff_address", &new.dropoff_address)?;
        let now = self.clock.now_ms();
        let mut store = self.lock();
        let order = OrderSummary {
            id: uuid::Uuid::new_v4().to_string(),
            reference: store.next_order_reference().map_err(storage)?,
            customer_name,
            pickup_address,
            dropoff_address,
            status: DeliveryStatus::Pending,
            created_at_ms: now,
            created_on: store.device_id().to_owned(),
        };
        store.insert_order(&order).map_err(storage)?;
        Ok(order)
    }

    fn lock(&self) -> MutexGuard<'_, LocalStore> {
        // A panic while holding the lock cannot leave SQLite half-written (statements
        // are atomic), so a poisoned lock is safe to keep using.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn storage(e: StoreError) -> ApiError {
    ApiError::Storage {
        message: e.to_string(),
    }
}

fn required_text(field: &str, value: &str) -> Result<String, ApiError> {
    let value = optional_text(field, value)?;
    if value.is_empty() {
        return Err(ApiError::Invalid {
            field: field.into(),
            message: "must not be empty".into(),
        });
    }
    Ok(value)
}

fn optional_text(field: &str, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    let chars = value.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(ApiError::Invalid {
            field: field.into(),
            message: format!("is {chars} characters long; at most {MAX_TEXT_CHARS} are allowed"),
        });
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(ApiError::Invalid {
            field: field.into(),
            message: "contains control characters".into(),
        });
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn core() -> (tempfile::TempDir, Core, Arc<ManualClock>) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let core = Core::open_with_clock(dir.path(), clock.clone()).unwrap();
        (dir, core, clock)
    }

    fn new_order(name: &str) -> Request {
        Request::CreateOrder(NewOrder {
            customer_name: name.into(),
            pickup_address: " Pohjoisesplanadi 11 ".into(),
            dropoff_address: "Fredrikinkatu 34".into(),
        })
    }

    #[test]
    fn create_then_list_and_status_count() {
        let (_dir, core, clock) = core();
        let Response::Order(first) = core.execute(new_order("Aino")).unwrap() else {
            panic!()
        };
        clock.advance(1_000);
        let Response::Order(second) = core.execute(new_order("Eero")).unwrap() else {
            panic!()
        };
        assert_eq!(first.status, DeliveryStatus::Pending);
        assert_eq!(first.pickup_address, "Pohjoisesplanadi 11", "trimmed");
        assert_eq!(
            second.created_at_ms - first.created_at_ms,
            1_000,
            "time comes from the clock"
        );
        assert_eq!(first.created_on, core.device_id());

        let Response::Orders { orders } = core.execute(Request::ListOrders).unwrap() else {
            panic!()
        };
        assert_eq!(orders, vec![second, first]);

        let Response::DeviceStatus(status) = core.execute(Request::DeviceStatus).unwrap() else {
            panic!()
        };
        assert_eq!(status.order_count, 2);
        assert_eq!(status.schema_version, crate::store::SCHEMA_VERSION);
    }

    #[test]
    fn invalid_input_names_the_field_and_stores_nothing() {
        let (_dir, core, _) = core();
        let err = core.execute(new_order("   ")).unwrap_err();
        assert_eq!(
            err,
            ApiError::Invalid {
                field: "customer_name".into(),
                message: "must not be empty".into()
            }
        );
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        let err = core
            .execute(Request::CreateOrder(NewOrder {
                customer_name: "A".into(),
                pickup_address: long,
                dropoff_address: String::new(),
            }))
            .unwrap_err();
        assert!(matches!(&err, ApiError::Invalid { field, .. } if field == "pickup_address"));
        let Response::DeviceStatus(status) = core.execute(Request::DeviceStatus).unwrap() else {
            panic!()
        };
        assert_eq!(status.order_count, 0);
    }

    #[test]
    fn malformed_json_is_reported_not_panicked() {
        let (_dir, core, _) = core();
        let err = core.execute_json(br#"{"op":"create_order"}"#).unwrap_err();
        let ApiError::Malformed { message } = err else {
            panic!("{err:?}")
        };
        assert!(message.contains("customer_name"), "{message}");
        assert!(matches!(
            core.execute_json(b"\xff\xfe"),
            Err(ApiError::Malformed { .. })
        ));
    }

    #[test]
    fn unwritable_data_dir_is_a_storage_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let err = Core::open(&file.join("sub")).unwrap_err();
        assert!(matches!(err, ApiError::Storage { .. }), "{err:?}");
    }
}

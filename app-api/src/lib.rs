//! The transport-agnostic command API of Ruta.
//!
//! Every shell — the Tauri window (IPC), the headless device host (HTTP) and the
//! tests — sends a [`Request`] and gets back a [`Response`] or an [`ApiError`].
//! These are plain data transfer objects: they carry no behaviour, depend on
//! nothing but `serde`, and compile to wasm32 so the UI can share them.
//!
//! Architecture invariant: this crate depends only on `serde`. Domain logic
//! lives in `app-core`; this crate is the boundary it is seen through.
//!
//! The wire form is JSON with an explicit tag, e.g.
//! `{"op":"create_order","customer_name":"Aino"}`, so the HTTP transport and the
//! Tauri command carry the same bytes.

use serde::{Deserialize, Serialize};

/// Name of the single Tauri command that carries a [`Request`].
pub const TAURI_COMMAND: &str = "ruta_call";
/// Path of the HTTP endpoint (POST, JSON body) that carries a [`Request`].
pub const HTTP_PATH: &str = "/api/call";

/// One operation asked of a device's core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Who and what this device is, and what its local store holds.
    DeviceStatus,
    /// Record a new order in the local store (works with no connection).
    CreateOrder(NewOrder),
    /// Orders in the local store, newest first.
    ListOrders,
}

/// The answer to a [`Request`]; the variant matches the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Response {
    DeviceStatus(DeviceStatus),
    Order(OrderSummary),
    Orders { orders: Vec<OrderSummary> },
}

/// What a device reports about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStatus {
    /// Stable id of this device's local store, created on first start.
    pub device_id: String,
    /// Version of `app-core` answering.
    pub core_version: String,
    /// Schema version of the local SQLite store.
    pub schema_version: u32,
    /// Number of orders held locally.
    pub order_count: u64,
}

/// Input for [`Request::CreateOrder`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    pub customer_name: String,
    #[serde(default)]
    pub pickup_address: String,
    #[serde(default)]
    pub dropoff_address: String,
}

/// An order as the UI lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub id: String,
    /// Human-facing reference, unique per device (e.g. `R-3F2A-0001`).
    pub reference: String,
    pub customer_name: String,
    pub pickup_address: String,
    pub dropoff_address: String,
    pub status: DeliveryStatus,
    /// Capture time in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// The device that created the order.
    pub created_on: String,
}

/// Delivery status of an order, as the lifecycle defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Assigned,
    PickedUp,
    InTransit,
    /// A delivery attempt failed (nobody home, refused); re-attempt or return.
    AttemptFailed,
    Delivered,
    Cancelled,
    Returned,
}

impl DeliveryStatus {
    /// The label shown to people.
    pub fn label(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "Pending",
            DeliveryStatus::Assigned => "Assigned",
            DeliveryStatus::PickedUp => "Picked Up",
            DeliveryStatus::InTransit => "In Transit",
            DeliveryStatus::AttemptFailed => "Attempt Failed",
            DeliveryStatus::Delivered => "Delivered",
            DeliveryStatus::Cancelled => "Cancelled",
            DeliveryStatus::Returned => "Returned",
        }
    }
}

/// Why a request failed. Serialisable so every transport returns it as data,
/// never as a panic or an opaque string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ApiError {
    /// The request was understood but its content is not acceptable.
    Invalid { field: String, message: String },
    /// The request could not be decoded (wrong shape, unknown operation).
    Malformed { message: String },
    /// The local store failed; the message says how.
    Storage { message: String },
    /// The shell could not reach the core at all (UI side: host down, IPC broken).
    Transport { message: String },
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Invalid { field, message } => write!(f, "invalid {field}: {message}"),
            ApiError::Malformed { message } => write!(f, "malformed request: {message}"),
            ApiError::Storage { message } => write!(f, "local store error: {message}"),
            ApiError::Transport { message } => write!(f, "cannot reach the device core: {message}"),
        }
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_wire_form_is_tagged_json() {
        let req = Request::CreateOrder(NewOrder {
            customer_name: "Aino".into(),
            pickup_address: "Mannerheimintie 1".into(),
            dropoff_address: String::new(),
        });
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(json["op"], "create_order");
        assert_eq!(json["customer_name"], "Aino");
        let back: Request = serde_json::from_value(json).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn unit_request_and_optional_fields_decode() {
        let req: Request = serde_json::from_str(r#"{"op":"device_status"}"#).unwrap();
        assert_eq!(req, Request::DeviceStatus);
        let req: Request =
            serde_json::from_str(r#"{"op":"create_order","customer_name":"Eero"}"#).unwrap();
        let Request::CreateOrder(new) = req else {
            panic!("wrong variant")
        };
        assert_eq!(new.pickup_address, "");
    }

    #[test]
    fn unknown_operation_is_rejected() {
        let err = serde_json::from_str::<Request>(r#"{"op":"drop_tables"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown variant"), "{err}");
    }

    #[test]
    fn errors_serialise_with_their_kind() {
        let err = ApiError::Invalid {
            field: "customer_name".into(),
            message: "empty".into(),
        };
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["error"], "invalid");
        assert_eq!(err.to_string(), "invalid customer_name: empty");
    }
}

//! The sync server's HTTP answers, shared by the server that writes them and
//! the sync client (and tests) that read them: one owner per format, so a
//! renamed field fails to compile instead of reading as missing.

use serde::{Deserialize, Serialize};

use crate::{CourierInfo, Role};

/// The header a device names itself with on HTTP requests (the sync socket
/// uses `?device=`): a token from enrolment works only from its own device.
pub const DEVICE_HEADER: &str = "x-ruta-device";

/// `GET /v1/me`: who this token signs in as, and the documents to follow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub tenant: String,
    pub user: String,
    /// The user's display name.
    #[serde(default)]
    pub name: String,
    pub role: Role,
    /// The peer id this device must use on the sync socket.
    pub peer_id: String,
    /// `automerge:` URL of the user's index document (what they may open).
    pub index_url: Option<String>,
    /// `automerge:` URL of a courier's own document (live location).
    pub courier_url: Option<String>,
    /// The tenant's POD verification key (hex); only for roles that verify deliveries.
    #[serde(default)]
    pub pod_secret: Option<String>,
}

/// `GET /v1/invoices/{order}`: the order's final, gapless invoice number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceNumber {
    pub order_id: String,
    /// The tenant-wide sequence number.
    pub seq: u64,
    /// As printed (`INV-000042`).
    pub number: String,
}

impl InvoiceNumber {
    /// The number as printed for sequence number `seq`.
    pub fn new(order_id: impl Into<String>, seq: u64) -> Self {
        Self {
            order_id: order_id.into(),
            seq,
            number: format!("INV-{seq:06}"),
        }
    }
}

/// `GET /v1/couriers`: the tenant's couriers, for the driver monitor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Couriers {
    pub couriers: Vec<CourierInfo>,
    /// The tenant's operators (dispatchers and admins): only for operators.
    #[serde(default)]
    pub staff: Vec<CourierInfo>,
}

/// One point of a courier's persisted breadcrumb.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BreadcrumbPoint {
    /// Wall-clock milliseconds.
    pub at: i64,
    pub lat: f64,
    pub lon: f64,
}

/// `GET /v1/breadcrumbs/{courier}?since=ms`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Breadcrumbs {
    pub points: Vec<BreadcrumbPoint>,
}

/// The answer to the upload that completes a blob (`201`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobStored {
    pub sha256: String,
    pub size: u64,
}

/// One order's verifier: what a courier's device checks the recipient's PIN
/// or QR code with, offline, without being able to learn it (see
/// `ruta_pod::verifier`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderVerifier {
    pub order_id: String,
    pub salt: String,
    pub rounds: u32,
    pub hash: String,
}

impl std::fmt::Debug for OrderVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderVerifier")
            .field("order_id", &self.order_id)
            .finish_non_exhaustive()
    }
}

/// `GET /v1/verifiers`: the verifiers of the calling courier's orders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verifiers {
    pub verifiers: Vec<OrderVerifier>,
}

/// `POST /v1/enrol` (no token): a one-time enrolment code and the device it signs in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    pub code: String,
    pub device: String,
}

/// The answer to [`EnrolRequest`]: the device's token (bound to that device), once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolled {
    pub token: String,
    pub tenant: String,
    pub user: String,
    pub role: Role,
}

/// Every refusal of the server's JSON routes: a sentence, and for refusals a
/// client acts on, a stable code (`code-used`, `code-expired`, `code-unknown`,
/// `code-mistyped`, `too-many-attempts`, `admins_only`, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerError {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The request field that was wrong (a JSON field name), when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `POST /v1/admin/users`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub id: String,
    pub name: String,
    pub role: Role,
}

/// `POST /v1/admin/enrolments`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEnrolment {
    pub user: String,
    #[serde(default)]
    pub ttl_minutes: Option<u32>,
}

/// `POST /v1/admin/users/{id}`: what to change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserChange {
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// `GET /v1/orders/{order}/tracking`: how an order is getting on, for its
/// client and the tenant's operators. The courier's position is told only
/// while the parcel is on its way to the drop-off (picked up or in transit,
/// not waiting at a hub) and only by the courier carrying it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderTracking {
    pub order_id: String,
    pub status: crate::DeliveryStatus,
    #[serde(default)]
    pub courier: Option<BreadcrumbPoint>,
    /// Estimated arrival (Unix ms): from the courier's latest position while
    /// on the way; absent otherwise.
    #[serde(default)]
    pub eta_ms: Option<i64>,
    /// The drop-off window promised, when there is one.
    #[serde(default)]
    pub window: Option<(i64, i64)>,
    /// When the order was delivered (for a pickup order: received at its hub).
    #[serde(default)]
    pub delivered_at_ms: Option<i64>,
    /// The public tracking page for the recipient, relative to the server
    /// (`/t/<tenant>/<token>`): unguessable, it shows only [`PublicTracking`].
    pub link: String,
}

/// What the public tracking page tells anyone holding its link: the status,
/// the ETA, and when it was delivered. No names, addresses, positions or proofs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicTracking {
    pub status: crate::DeliveryStatus,
    /// The sentence shown ("On its way", "Delivered").
    pub headline: String,
    #[serde(default)]
    pub eta_ms: Option<i64>,
    #[serde(default)]
    pub delivered_at_ms: Option<i64>,
}

//! Who works on this device: sign-in with an enrolment code (typed or scanned),
//! an explicit choice to work without a server, sign-out, and — for admins —
//! the tenant's users and devices.
//!
//! Separate from [`crate::Request`] on purpose: an account request changes who
//! the device acts as, so it is answered by the shell's account service (which
//! talks to the tenant's server), never by the core. The user and role always
//! come from the server's answer; no request here names a role for this device.

use serde::{Deserialize, Serialize};

use crate::Role;

/// Name of the Tauri command that carries an [`AccountRequest`].
pub const ACCOUNT_TAURI_COMMAND: &str = "ruta_account";
/// Path of the HTTP endpoint (POST, JSON body) that carries an [`AccountRequest`].
pub const ACCOUNT_HTTP_PATH: &str = "/api/account";

/// What the user typed to confirm forgetting a device with unsynced changes.
pub const FORGET_CONFIRMATION: &str = "forget";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AccountRequest {
    /// Signed in or not, as whom, and how many changes wait for the server.
    Status,
    /// Exchange a one-time enrolment code at `server` for this device's token.
    SignIn { server: String, code: String },
    /// The same, from a photo of the enrolment QR code (JPEG or PNG, base64).
    SignInQr { image_base64: String },
    /// Work on this device alone, as its only user (a one-person operation).
    WorkWithoutServer { name: String },
    /// Sign out. With unsynced changes this is refused unless `keep_unsynced`
    /// (they stay on the device). `forget` also removes local data: refused
    /// while changes are unsynced unless `confirm` is [`FORGET_CONFIRMATION`].
    SignOut {
        #[serde(default)]
        forget: bool,
        #[serde(default)]
        keep_unsynced: bool,
        #[serde(default)]
        confirm: String,
    },
    /// Admins: the tenant's users.
    Users,
    /// Admins: add a user.
    AddUser {
        id: String,
        name: String,
        role: Role,
    },
    /// Admins: change a user's role, or disable or enable them (their sessions
    /// end within seconds; a disabled user's devices end at the sign-in screen).
    UpdateUser {
        id: String,
        #[serde(default)]
        role: Option<Role>,
        #[serde(default)]
        disabled: Option<bool>,
    },
    /// Admins: a one-time enrolment code for one of `user`'s devices.
    IssueEnrolment {
        user: String,
        /// Minutes until the code expires (default 24 hours, at most 7 days).
        #[serde(default)]
        ttl_minutes: Option<u32>,
    },
    /// Admins: every device that signed in, with its user and last contact.
    Devices,
    /// Admins: revoke a device; its sessions end within seconds.
    RevokeDevice { device: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccountResponse {
    Status(AccountStatus),
    Users { users: Vec<TenantUser> },
    Enrolment(Enrolment),
    Devices { devices: Vec<TenantDevice> },
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// Nobody: the sign-in screen.
    SignedOut,
    /// Signed in against the tenant's server.
    SignedIn,
    /// The explicit choice to work on this device alone.
    WithoutServer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountStatus {
    pub state: AccountState,
    pub device_id: String,
    pub server: Option<String>,
    pub tenant: Option<String>,
    pub user: Option<String>,
    #[serde(default)]
    pub name: String,
    pub role: Option<Role>,
    /// Orders whose changes the server has not confirmed yet.
    pub unsynced: u64,
    /// Why the device is signed out, when it did not choose to be (revoked).
    #[serde(default)]
    pub notice: Option<String>,
}

/// A user of the tenant, as admins see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantUser {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// Devices with a live token.
    pub devices: u32,
    #[serde(default)]
    pub disabled: bool,
}

/// A device of the tenant, as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantDevice {
    pub device: String,
    pub user: String,
    pub first_ms: i64,
    /// Last authenticated request this server saw (since it started).
    pub last_seen_ms: Option<i64>,
    /// Whether any token bound to the device is still live.
    pub active: bool,
}

/// A freshly issued enrolment code: shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    pub user: String,
    pub code: String,
    pub expires_ms: i64,
    /// What the QR code holds: the server address and the code.
    pub qr_payload: String,
    /// The QR code as a PNG, base64 (filled in by the device that shows it).
    #[serde(default)]
    pub qr_png_base64: String,
}

//! Signing devices in and setting the tenant up over HTTP.
//!
//! - `POST /v1/enrol` (no token): a one-time enrolment code and the device's
//!   id in, a token bound to that device out. Refusals are named
//!   (`code-mistyped`, `code-unknown`, `code-used`, `code-expired`,
//!   `device-of-another-user`) and failed attempts are rate-limited per client
//!   address and per server ([`EnrolLimiter`]: `too-many-attempts`, 429).
//! - `/v1/admin/…` (admins only, [`policy::Call::Administer`]): users, enrolment
//!   codes, devices and their revocation — what the admin workspace and
//!   scripts use, next to the CLI.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use app_api::account::{Enrolment, TenantDevice, TenantUser};
use app_api::server::{EnrolRequest, Enrolled, NewEnrolment, NewUser};
use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use ruta_model::enrolment::{Code, CodeProblem};
use ruta_model::policy::{self, Call};

use crate::Server;
use crate::authed::{ApiErr, Authed};
use crate::directory::{DirectoryError, now_ms};

/// Failed attempts one client address may make in [`WINDOW_MS`].
pub const FAILURES_PER_ADDRESS: usize = 5;
/// Failed attempts all clients together may make in [`WINDOW_MS`] (a spread-out guess).
pub const FAILURES_PER_SERVER: usize = 200;
pub const WINDOW_MS: i64 = 10 * 60 * 1000;
/// Default and longest life of an enrolment code.
pub const DEFAULT_TTL_MINUTES: u32 = 24 * 60;
pub const MAX_TTL_MINUTES: u32 = 7 * 24 * 60;

/// Times of failed attempts, oldest first.
type Failures = VecDeque<i64>;

/// Failed enrolment attempts in the last [`WINDOW_MS`], per address and in all.
#[derive(Debug, Default)]
pub struct EnrolLimiter {
    inner: Mutex<(HashMap<IpAddr, Failures>, Failures)>,
}

impl EnrolLimiter {
    /// Seconds until `ip` may try again, if it must wait.
    pub fn blocked(&self, ip: IpAddr, now: i64) -> Option<i64> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (per_ip, all) = &mut *g;
        let cutoff = now - WINDOW_MS;
        while all.front().is_some_and(|&t| t <= cutoff) {
            all.pop_front();
        }
        let mine = per_ip.entry(ip).or_default();
        while mine.front().is_some_and(|&t| t <= cutoff) {
            mine.pop_front();
        }
        let oldest = if mine.len() >= FAILURES_PER_ADDRESS {
            mine.front().copied()
        } else if all.len() >= FAILURES_PER_SERVER {
            all.front().copied()
        } else {
            None
        };
        if mine.is_empty() {
            per_ip.remove(&ip);
        }
        oldest.map(|t| ((t + WINDOW_MS - now) / 1000).max(1))
    }

    pub fn failed(&self, ip: IpAddr, now: i64) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        // Addresses that failed long ago and never came back are forgotten.
        if g.0.len() > 4 * FAILURES_PER_SERVER {
            let cutoff = now - WINDOW_MS;
            g.0.retain(|_, t| t.back().is_some_and(|&last| last > cutoff));
        }
        g.0.entry(ip).or_default().push_back(now);
        g.1.push_back(now);
    }
}

fn internal(e: DirectoryError) -> ApiErr {
    ApiErr::internal(e)
}

/// `POST /v1/enrol`.
pub async fn enrol(
    State(server): State<Arc<Server>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    body: axum::body::Bytes,
) -> Result<Json<Enrolled>, ApiErr> {
    let ip = addr.ip();
    let now = now_ms();
    if let Some(wait) = server.enrol_limiter.blocked(ip, now) {
        return Err(ApiErr::coded(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-attempts",
            format!("too many failed sign-in attempts: try again in {wait} s"),
        ));
    }
    let fail = |e: ApiErr| {
        server.enrol_limiter.failed(ip, now);
        tracing::warn!(%ip, code = ?e.code, "enrolment refused");
        e
    };
    let req: EnrolRequest = serde_json::from_slice(&body).map_err(|e| {
        fail(ApiErr::coded(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("expected {{\"code\": …, \"device\": …}}: {e}"),
        ))
    })?;
    if !crate::ws::valid_device(&req.device) {
        return Err(fail(ApiErr::coded(
            StatusCode::BAD_REQUEST,
            "malformed",
            "device: not a device id",
        )));
    }
    let code = Code::parse(&req.code).map_err(|e| {
        fail(ApiErr::coded(
            StatusCode::BAD_REQUEST,
            CodeProblem::REFUSAL,
            e.to_string(),
        ))
    })?;
    let unknown = || {
        ApiErr::coded(
            StatusCode::NOT_FOUND,
            "code-unknown",
            crate::directory::EnrolProblem::Unknown.to_string(),
        )
    };
    let tenant = server
        .tenant(&code.tenant)
        .await
        .map_err(|_| fail(unknown()))?;
    let dir = tenant.dir.clone();
    let (name, device) = (tenant.name.clone(), req.device.clone());
    let redeemed =
        tokio::task::spawn_blocking(move || dir.redeem_enrolment(&name, &code, &device, now))
            .await
            .map_err(ApiErr::internal)?
            .map_err(internal)?;
    match redeemed {
        Ok((token, user)) => {
            tracing::info!(tenant = %tenant.name, user = %user.id, device = %req.device, "device enrolled");
            Ok(Json(Enrolled {
                token,
                tenant: tenant.name.clone(),
                user: user.id.to_string(),
                role: user.role,
            }))
        }
        Err(problem) => {
            let status = match problem {
                crate::directory::EnrolProblem::Unknown => StatusCode::NOT_FOUND,
                _ => StatusCode::GONE,
            };
            Err(fail(ApiErr::coded(
                status,
                problem.code(),
                problem.to_string(),
            )))
        }
    }
}

fn admin(auth: &Authed) -> Result<(), ApiErr> {
    let who = &auth.who.principal;
    policy::allow(&who.user, who.role, Call::Administer).map_err(|d| {
        tracing::warn!(user = %who.user, "admin call refused");
        ApiErr::coded(StatusCode::FORBIDDEN, d.code, d.message)
    })
}

/// `GET /v1/admin/config`: the tenant's configuration in force (both
/// documents) with its history.
pub async fn config(auth: Authed) -> Result<Json<app_api::config::TenantConfigView>, ApiErr> {
    admin(&auth)?;
    auth.tenant
        .config_view(&auth.who.principal)
        .await
        .map(Json)
        .map_err(internal)
}

/// `POST /v1/admin/config`: one `ConfigChange` (JSON, as devices send it),
/// for scripts; the same rules as on a device, the field at fault named.
pub async fn change_config(
    auth: Authed,
    Json(change): Json<app_api::config::ConfigChange>,
) -> Result<Json<app_api::config::TenantConfigView>, ApiErr> {
    admin(&auth)?;
    match auth
        .tenant
        .change_config(&auth.who.principal, change, now_ms())
        .await
    {
        Ok(view) => Ok(Json(view)),
        Err(DirectoryError::Invalid(m)) => {
            Err(ApiErr::coded(StatusCode::BAD_REQUEST, "invalid-config", m))
        }
        Err(e) => Err(internal(e)),
    }
}

/// `GET /v1/admin/users`.
pub async fn users(auth: Authed) -> Result<Json<Vec<TenantUser>>, ApiErr> {
    admin(&auth)?;
    let dir = &auth.tenant.dir;
    let devices = dir.devices(now_ms()).map_err(internal)?;
    let disabled = dir.disabled_users().map_err(internal)?;
    let users = dir.users().map_err(internal)?;
    Ok(Json(
        users
            .into_iter()
            .map(|u| TenantUser {
                devices: devices
                    .iter()
                    .filter(|d| d.1 == u.id.as_str() && d.3)
                    .count() as u32,
                disabled: disabled.iter().any(|d| d == u.id.as_str()),
                id: u.id.to_string(),
                name: u.name,
                role: u.role,
            })
            .collect(),
    ))
}

/// `POST /v1/admin/users`.
pub async fn add_user(auth: Authed, Json(new): Json<NewUser>) -> Result<StatusCode, ApiErr> {
    admin(&auth)?;
    match auth
        .tenant
        .dir
        .add_user(new.id.trim(), new.role, new.name.trim(), now_ms())
    {
        Ok(()) => Ok(StatusCode::CREATED),
        Err(DirectoryError::Invalid(m)) => {
            Err(ApiErr::coded(StatusCode::BAD_REQUEST, "invalid-user", m))
        }
        Err(e) => Err(internal(e)),
    }
}

/// `POST /v1/admin/users/{id}`: a new role, or disabled / enabled. An admin
/// cannot demote or disable themselves (the tenant would lose its admin).
pub async fn update_user(
    auth: Authed,
    Path(id): Path<String>,
    Json(change): Json<app_api::server::UserChange>,
) -> Result<StatusCode, ApiErr> {
    admin(&auth)?;
    let me = &auth.who.principal.user;
    let demote = change.role.is_some_and(|r| r != ruta_domain::Role::Admin);
    if id == me.as_str() && (demote || change.disabled == Some(true)) {
        return Err(ApiErr::coded(
            StatusCode::CONFLICT,
            "not-yourself",
            "an admin cannot demote or disable themselves: ask another admin",
        ));
    }
    let user = ruta_domain::UserId::new(id.clone());
    match auth
        .tenant
        .dir
        .update_user(&user, change.role, change.disabled, now_ms())
    {
        Ok(()) => {
            tracing::info!(tenant = %auth.tenant.name, user = %id, by = %me, ?change, "user changed");
            Ok(StatusCode::NO_CONTENT)
        }
        Err(DirectoryError::Invalid(m)) => {
            Err(ApiErr::coded(StatusCode::NOT_FOUND, "no-such-user", m))
        }
        Err(e) => Err(internal(e)),
    }
}

/// `POST /v1/admin/enrolments`: the code is in this answer only.
pub async fn issue_enrolment(
    auth: Authed,
    Json(req): Json<NewEnrolment>,
) -> Result<Json<Enrolment>, ApiErr> {
    admin(&auth)?;
    let minutes = req.ttl_minutes.unwrap_or(DEFAULT_TTL_MINUTES);
    if minutes == 0 || minutes > MAX_TTL_MINUTES {
        return Err(ApiErr::coded(
            StatusCode::BAD_REQUEST,
            "invalid-ttl",
            format!("ttl_minutes: 1 to {MAX_TTL_MINUTES}"),
        ));
    }
    let ttl = i64::from(minutes) * 60_000;
    let (code, expires_ms) =
        match auth
            .tenant
            .dir
            .issue_enrolment(&auth.tenant.name, &req.user, ttl, now_ms())
        {
            Ok(issued) => issued,
            Err(DirectoryError::Invalid(m)) => {
                return Err(ApiErr::coded(StatusCode::NOT_FOUND, "no-such-user", m));
            }
            Err(e) => return Err(internal(e)),
        };
    tracing::info!(tenant = %auth.tenant.name, user = %req.user, by = %auth.who.principal.user, "enrolment code issued");
    Ok(Json(Enrolment {
        user: req.user,
        code: code.to_string(),
        expires_ms,
        qr_payload: String::new(),
        qr_png_base64: String::new(),
    }))
}

/// `GET /v1/admin/devices`.
pub async fn devices(auth: Authed) -> Result<Json<Vec<TenantDevice>>, ApiErr> {
    admin(&auth)?;
    let rows = auth.tenant.dir.devices(now_ms()).map_err(internal)?;
    let seen = auth
        .tenant
        .last_seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    Ok(Json(
        rows.into_iter()
            .map(|(device, user, first_ms, active)| TenantDevice {
                last_seen_ms: seen.get(&device).copied(),
                device,
                user,
                first_ms,
                active,
            })
            .collect(),
    ))
}

/// `POST /v1/admin/devices/{device}/revoke`: live sessions end within 2 s.
pub async fn revoke_device(auth: Authed, Path(device): Path<String>) -> Result<StatusCode, ApiErr> {
    admin(&auth)?;
    let n = auth
        .tenant
        .dir
        .revoke_device(&device, now_ms())
        .map_err(internal)?;
    if n == 0 {
        return Err(ApiErr::coded(
            StatusCode::NOT_FOUND,
            "no-such-device",
            format!("device {device:?} has no live token"),
        ));
    }
    tracing::info!(tenant = %auth.tenant.name, %device, by = %auth.who.principal.user, "device revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_attempts_block_an_address_for_the_window_only() {
        let l = EnrolLimiter::default();
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for i in 0..FAILURES_PER_ADDRESS as i64 {
            assert_eq!(l.blocked(a, 1_000 + i), None);
            l.failed(a, 1_000 + i);
        }
        let wait = l.blocked(a, 2_000).expect("blocked");
        assert!((599..=600).contains(&wait), "{wait}");
        assert_eq!(l.blocked(b, 2_000), None, "others are not");
        assert_eq!(l.blocked(a, 1_000 + WINDOW_MS), None, "the window passes");
    }

    #[test]
    fn many_addresses_together_hit_the_server_limit() {
        let l = EnrolLimiter::default();
        for i in 0..FAILURES_PER_SERVER {
            let ip = IpAddr::from([10, 0, (i / 250) as u8, (i % 250) as u8]);
            l.failed(ip, 5);
        }
        assert!(l.blocked("192.168.1.1".parse().unwrap(), 6).is_some());
    }
}

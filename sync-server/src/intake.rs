//! The storefront's door: the tenant's web shop opens support tickets for
//! people who have no account, and they follow and answer them through a
//! reply link.
//!
//! - `POST /v1/intake/{tenant}/tickets` with the tenant's intake key
//!   (`X-Intake-Key: rik_…` or `Authorization: Bearer rik_…`) and an
//!   [`IntakeTicket`] body: `201` with an [`IntakeReceipt`] (the ticket's
//!   reference and the reply link's path).
//! - `GET /v1/intake/{tenant}/tickets/{ticket}?token=…`: the requester's
//!   view ([`app_api::tickets::GuestTicket`]); `POST …/replies?token=…` with a
//!   [`GuestReply`] adds their answer.
//! - `POST /v1/admin/intake-key` (admins): a new intake key; the old one
//!   stops working.
//!
//! Every refusal is named (`code`, and `field` when one field was wrong):
//! `too-large` (413, more than [`MAX_BODY`] bytes), `malformed` (400: not the
//! JSON expected, unknown fields included), `invalid` (422, with the field),
//! `intake-key` (401), `too-many-requests` (429: more than
//! [`PER_ADDRESS`] tickets or replies from one address, or [`PER_KEY`]
//! tickets for one tenant, in [`WINDOW_MS`]; wrong keys count against the
//! address), `not-found` (404: no such ticket, or the wrong secret),
//! `closed` (409).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use app_api::tickets::{GuestReply, GuestTicket, IntakeReceipt, IntakeTicket};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use ruta_model::policy::{self, Call};
use serde::Deserialize;

use crate::Server;
use crate::authed::{ApiErr, Authed};
use crate::directory::now_ms;
use crate::tenant::{GuestError, Tenant};

/// Largest request body, bytes.
pub const MAX_BODY: usize = 16 * 1024;
/// Requests one address may make to one tenant's intake in [`WINDOW_MS`].
pub const PER_ADDRESS: usize = 20;
/// Tickets one tenant's intake key may open in [`WINDOW_MS`].
pub const PER_KEY: usize = 300;
pub const WINDOW_MS: i64 = 10 * 60 * 1000;

/// Request times in the last [`WINDOW_MS`], per key (`tenant|address`, `tenant`).
#[derive(Debug, Default)]
pub struct IntakeLimiter {
    seen: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl IntakeLimiter {
    /// Counts a request under each of `keys` (each with its limit) unless
    /// one is full; then answers the seconds until it has room.
    pub fn take(&self, keys: &[(&str, usize)], now: i64) -> Result<(), i64> {
        let mut g = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let cutoff = now - WINDOW_MS;
        if g.len() > 10_000 {
            g.retain(|_, t| t.back().is_some_and(|&last| last > cutoff));
        }
        for (key, limit) in keys {
            let times = g.entry((*key).to_owned()).or_default();
            while times.front().is_some_and(|&t| t <= cutoff) {
                times.pop_front();
            }
            if times.len() >= *limit {
                let oldest = times.front().copied().unwrap_or(now);
                return Err(((oldest + WINDOW_MS - now) / 1000).max(1));
            }
        }
        for (key, _) in keys {
            g.entry((*key).to_owned()).or_default().push_back(now);
        }
        Ok(())
    }
}

fn bad(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiErr {
    ApiErr::coded(status, code, message)
}

fn guest_err(e: GuestError) -> ApiErr {
    match e {
        GuestError::Invalid { field, message } => bad(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("{field}: {message}"),
        )
        .at(field),
        GuestError::NotFound => not_found(),
        GuestError::Closed => bad(
            StatusCode::CONFLICT,
            "closed",
            "this ticket is closed: open a new one",
        ),
        GuestError::Internal(m) => ApiErr::internal(m),
    }
}

fn not_found() -> ApiErr {
    bad(StatusCode::NOT_FOUND, "not-found", "no such ticket")
}

/// A tenant that exists (an intake request never creates one).
async fn existing(server: &Server, tenant: &str) -> Result<Arc<Tenant>, ApiErr> {
    if !crate::directory::valid_tenant_name(tenant)
        || !crate::directory::tenant_dir(&server.data, tenant).exists()
    {
        return Err(not_found());
    }
    server.tenant(tenant).await.map_err(ApiErr::internal)
}

fn limited(server: &Server, keys: &[(&str, usize)]) -> Result<(), ApiErr> {
    server.intake_limiter.take(keys, now_ms()).map_err(|wait| {
        bad(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-requests",
            format!("too many requests: try again in {wait} s"),
        )
    })
}

/// The body as `T`, or a refusal naming what was wrong.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiErr> {
    if body.len() > MAX_BODY {
        return Err(bad(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!("the request is {} bytes; at most {MAX_BODY}", body.len()),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let mut err = bad(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("{path}: {}", e.inner()),
        );
        if path != "." {
            err = err.at(path);
        }
        err
    })
}

fn given_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-intake-key")
        .or_else(|| headers.get("authorization"))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim().to_owned())
}

/// `POST /v1/intake/{tenant}/tickets`.
pub async fn open_ticket(
    State(server): State<Arc<Server>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<IntakeReceipt>), ApiErr> {
    let t = existing(&server, &tenant).await?;
    let address = address_key(&tenant, addr.ip());
    limited(&server, &[(address.as_str(), PER_ADDRESS)])?;
    let key = given_key(&headers).unwrap_or_default();
    let dir = t.dir.clone();
    let ok = tokio::task::spawn_blocking(move || dir.intake_key_ok(&key))
        .await
        .map_err(ApiErr::internal)?
        .map_err(ApiErr::internal)?;
    if !ok {
        tracing::warn!(%tenant, ip = %addr.ip(), "intake refused: wrong key");
        return Err(bad(
            StatusCode::UNAUTHORIZED,
            "intake-key",
            "missing or wrong intake key (header X-Intake-Key)",
        ));
    }
    let intake: IntakeTicket = parse(&body)?;
    limited(&server, &[(tenant.as_str(), PER_KEY)])?;
    let ticket = t
        .open_guest_ticket(&intake, now_ms())
        .await
        .map_err(guest_err)?;
    let secret = pod_key(&t).await?;
    let token = ruta_model::ticket_doc::reply_token(&secret, &ticket);
    Ok((
        StatusCode::CREATED,
        Json(IntakeReceipt {
            reference: ruta_model::ticket_doc::reference_of(&ticket),
            reply_path: format!("/v1/intake/{tenant}/tickets/{ticket}?token={token}"),
            ticket,
        }),
    ))
}

fn address_key(tenant: &str, ip: IpAddr) -> String {
    format!("{tenant}|{ip}")
}

async fn pod_key(t: &Arc<Tenant>) -> Result<Vec<u8>, ApiErr> {
    let dir = t.dir.clone();
    let hex = tokio::task::spawn_blocking(move || dir.pod_secret())
        .await
        .map_err(ApiErr::internal)?
        .map_err(ApiErr::internal)?;
    Ok(ruta_model::unhex(&hex).unwrap_or_default())
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The tenant, when `token` is `ticket`'s reply secret.
async fn by_token(
    server: &Server,
    tenant: &str,
    ticket: &str,
    token: &str,
) -> Result<Arc<Tenant>, ApiErr> {
    let t = existing(server, tenant).await?;
    let secret = pod_key(&t).await?;
    if !ruta_model::ticket_doc::reply_token_ok(&secret, ticket, token) {
        return Err(not_found());
    }
    Ok(t)
}

/// `GET /v1/intake/{tenant}/tickets/{ticket}?token=…`.
pub async fn view_ticket(
    State(server): State<Arc<Server>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((tenant, ticket)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
) -> Result<Json<GuestTicket>, ApiErr> {
    let address = address_key(&tenant, addr.ip());
    // Reading is cheaper than writing: ten times the room.
    limited(&server, &[(&format!("read|{address}"), PER_ADDRESS * 10)])?;
    let t = by_token(&server, &tenant, &ticket, &q.token).await?;
    t.guest_ticket(&ticket).await.map(Json).map_err(guest_err)
}

/// `POST /v1/intake/{tenant}/tickets/{ticket}/replies?token=…`.
pub async fn reply(
    State(server): State<Arc<Server>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((tenant, ticket)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
    body: Bytes,
) -> Result<Json<GuestTicket>, ApiErr> {
    let address = address_key(&tenant, addr.ip());
    limited(&server, &[(address.as_str(), PER_ADDRESS)])?;
    let t = by_token(&server, &tenant, &ticket, &q.token).await?;
    let r: GuestReply = parse(&body)?;
    t.guest_reply(&ticket, &r.message, now_ms())
        .await
        .map_err(guest_err)?;
    t.guest_ticket(&ticket).await.map(Json).map_err(guest_err)
}

/// `POST /v1/admin/intake-key`: `{"key": "rik_…"}`, shown once.
pub async fn rotate_key(auth: Authed) -> Result<Json<serde_json::Value>, ApiErr> {
    let who = &auth.who.principal;
    policy::allow(&who.user, who.role, Call::Administer)
        .map_err(|d| ApiErr::coded(StatusCode::FORBIDDEN, d.code, d.message))?;
    let dir = auth.tenant.dir.clone();
    let key = tokio::task::spawn_blocking(move || dir.rotate_intake_key())
        .await
        .map_err(ApiErr::internal)?
        .map_err(ApiErr::internal)?;
    tracing::info!(tenant = %auth.tenant.name, by = %who.user, "intake key rotated");
    Ok(Json(serde_json::json!({ "key": key })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_counts_each_key_and_forgets_after_the_window() {
        let l = IntakeLimiter::default();
        for _ in 0..3 {
            l.take(&[("a", 3), ("t", 5)], 0).unwrap();
        }
        assert!(
            l.take(&[("a", 3), ("t", 5)], 1_000).is_err(),
            "address full"
        );
        // A refused request is not counted against the other key.
        l.take(&[("b", 3), ("t", 5)], 1_000).unwrap();
        l.take(&[("b", 3), ("t", 5)], 1_000).unwrap();
        let wait = l.take(&[("b", 3), ("t", 5)], 1_000).unwrap_err();
        assert!(wait > 500, "{wait}");
        l.take(&[("a", 3), ("t", 5)], WINDOW_MS + 1).unwrap();
    }
}

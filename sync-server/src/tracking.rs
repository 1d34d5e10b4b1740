//! Order tracking over HTTP:
//! - `GET /v1/orders/{order}/tracking` (the order's client, operators): status,
//!   the carrying courier's latest position and an ETA while the parcel is on
//!   its way (only then), the delivery time, and the public link;
//! - `GET /t/{tenant}/{token}` (no sign-in: the token is the key): a small
//!   page for the recipient with the status, the ETA and the delivery time,
//!   nothing else; `?format=json` gives the same as JSON.
//!
//! What is told is decided by `ruta_model::tracking`; this module only looks
//! things up.

use std::collections::HashMap;
use std::sync::Arc;

use app_api::server::{BreadcrumbPoint, OrderTracking, PublicTracking};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use ruta_domain::{OrderId, UserId};
use ruta_model::access::DocFacts;
use ruta_model::policy::{self, Call};
use ruta_model::tracking;

use crate::Server;
use crate::authed::{ApiErr, Authed};
use crate::directory::now_ms;
use crate::tenant::Tenant;

fn not_found() -> ApiErr {
    ApiErr::new(StatusCode::NOT_FOUND, "no such order")
}

fn internal(e: impl std::fmt::Display) -> ApiErr {
    ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// The tenant's key for tracking tokens (the one verification codes use,
/// under another domain).
async fn key(tenant: &Arc<Tenant>) -> Result<Vec<u8>, ApiErr> {
    let dir = tenant.dir.clone();
    let hex = tokio::task::spawn_blocking(move || dir.pod_secret())
        .await
        .map_err(internal)?
        .map_err(internal)?;
    Ok(ruta_model::unhex(&hex).unwrap_or_default())
}

/// The tracking of `order` in `tenant` (None: no such order stored).
async fn tracking_of(tenant: &Arc<Tenant>, order: &str) -> Result<Option<OrderTracking>, ApiErr> {
    let id = OrderId::new(order);
    let Some(doc) = ruta_model::doc_id_of(&id) else {
        return Ok(None);
    };
    let Some(state) = tenant.order_state(&doc.to_string(), id).await else {
        return Ok(None);
    };
    if state.spec.is_none() {
        return Ok(None);
    }
    let now = now_ms();
    let courier = match &state.assignee {
        Some(c) if tracking::on_the_way(&state) => position(tenant, c, now).await,
        _ => None,
    };
    let link = format!(
        "/t/{}/{}",
        tenant.name,
        tracking::token(&key(tenant).await?, order)
    );
    Ok(Some(tracking::view(&state, courier, now, link)))
}

/// The courier's latest position: as it arrived, or (after a restart) the
/// newest stored breadcrumb point of the last few minutes.
async fn position(tenant: &Arc<Tenant>, courier: &UserId, now: i64) -> Option<BreadcrumbPoint> {
    let (at, lat, lon) = match tenant.latest_position(courier) {
        Some(p) => p,
        None => {
            let dir = tenant.dir.clone();
            let who = courier.clone();
            tokio::task::spawn_blocking(move || dir.breadcrumbs(&who, now - tracking::FRESH_MS))
                .await
                .ok()?
                .ok()?
                .last()
                .copied()?
        }
    };
    Some(BreadcrumbPoint { at, lat, lon })
}

/// `GET /v1/orders/{order}/tracking`.
pub async fn order_tracking(
    auth: Authed,
    Path(order): Path<String>,
) -> Result<Json<OrderTracking>, ApiErr> {
    let who = &auth.who.principal;
    let doc = ruta_model::doc_id_of(&OrderId::new(&order)).ok_or_else(not_found)?;
    // Another client's order is answered exactly like a missing one.
    let own = match auth.tenant.shared.facts(&doc.to_string()) {
        Some(DocFacts::Order { client, .. }) => client.as_ref() == Some(&who.user),
        _ => return Err(not_found()),
    };
    if let Err(d) = policy::allow(&who.user, who.role, Call::Tracking { own }) {
        return Err(if who.role.is_operator() || own {
            ApiErr::new(StatusCode::FORBIDDEN, d.message)
        } else {
            not_found()
        });
    }
    tracking_of(&auth.tenant, &order)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}

/// `GET /t/{tenant}/{token}`: the recipient's page.
pub async fn public_page(
    State(server): State<Arc<Server>>,
    Path((tenant, token)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let gone = || {
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "This tracking link is not valid.",
        )
            .into_response()
    };
    // Only a tenant that exists: a link never creates one.
    if !crate::directory::valid_tenant_name(&tenant)
        || !crate::directory::tenant_dir(&server.data, &tenant).exists()
    {
        return gone();
    }
    let Ok(t) = server.tenant(&tenant).await else {
        return gone();
    };
    let Ok(secret) = key(&t).await else {
        return gone();
    };
    let Some(order) = tracking::order_of_token(&secret, &token) else {
        return gone();
    };
    let Ok(Some(full)) = tracking_of(&t, &order).await else {
        return gone();
    };
    let public = tracking::public(&full);
    if q.get("format").map(String::as_str) == Some("json") {
        return Json(public).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page(&public),
    )
        .into_response()
}

/// The page: one headline and at most two times, shown in the reader's own
/// time zone by the browser (UTC without script). Refreshes every 30 s.
fn page(p: &PublicTracking) -> String {
    let time = |label: &str, id: &str, ms: Option<i64>| match ms {
        Some(ms) => {
            let utc = jiff::Timestamp::from_millisecond(ms)
                .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            format!(
                "<p>{label} <time id=\"{id}\" data-ms=\"{ms}\" datetime=\"{utc}\">{utc}</time></p>"
            )
        }
        None => String::new(),
    };
    let eta = if p.delivered_at_ms.is_none() {
        time("Expected around", "eta", p.eta_ms)
    } else {
        String::new()
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><meta http-equiv="refresh" content="30">
<title>Parcel tracking</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1d2429}}
h1{{font-size:1.5rem}}.st{{display:inline-block;padding:.1rem .6rem;border-radius:999px;background:#eef1f3;font-size:.85rem}}</style>
</head><body>
<p class="st" id="status">{status}</p>
<h1 id="headline">{headline}</h1>
{eta}{delivered}
<script>for (const t of document.querySelectorAll('time[data-ms]')) t.textContent = new Date(Number(t.dataset.ms)).toLocaleString([], {{dateStyle: 'medium', timeStyle: 'short'}});</script>
</body></html>
"#,
        status = p.status.label(),
        headline = p.headline,
        eta = eta,
        delivered = time("Delivered", "delivered", p.delivered_at_ms),
    )
}

//! The server's HTTP surface: health, identity, the sync WebSocket, blobs and
//! breadcrumbs, enrolment and the admin routes ([`crate::admin`]). Every `/v1`
//! route but `POST /v1/enrol` authenticates a bearer token (header
//! `Authorization: Bearer …` or, for browsers' WebSockets, `?token=`); a token
//! from enrolment only together with the `?device=` it was issued to.

use std::collections::HashMap;
use std::sync::Arc;

use app_api::CourierInfo;
use app_api::server::{BreadcrumbPoint, Breadcrumbs, Couriers, InvoiceNumber, Me, Verifiers};
use axum::extract::{Path, Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Json, Response};
use axum::routing::{get, post};
use axum::{Router, body::Bytes};
use ruta_model::policy::{self, Call};
use serde_json::{Value, json};

use crate::Server;
use crate::admin;
pub use crate::authed::{ApiErr, Authed};
use crate::blobs;
use crate::intake;
use crate::ws;

pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/me", get(me))
        .route("/v1/sync", get(sync))
        .route(
            "/v1/blobs/{hash}",
            get(blob_get).head(blob_head).patch(blob_patch),
        )
        .route("/v1/breadcrumbs/{courier}", get(breadcrumbs))
        .route("/v1/couriers", get(couriers))
        .route("/v1/verifiers", get(verifiers))
        .route("/v1/invoices/{order_id}", get(invoice_number))
        .route(
            "/v1/orders/{order_id}/tracking",
            get(crate::tracking::order_tracking),
        )
        .route("/t/{tenant}/{token}", get(crate::tracking::public_page))
        .route("/v1/enrol", post(admin::enrol))
        .route("/v1/intake/{tenant}/tickets", post(intake::open_ticket))
        .route(
            "/v1/intake/{tenant}/tickets/{ticket}",
            get(intake::view_ticket),
        )
        .route(
            "/v1/intake/{tenant}/tickets/{ticket}/replies",
            post(intake::reply),
        )
        .route("/v1/admin/intake-key", post(intake::rotate_key))
        .route("/v1/admin/users", get(admin::users).post(admin::add_user))
        .route("/v1/admin/users/{id}", post(admin::update_user))
        .route("/v1/admin/enrolments", post(admin::issue_enrolment))
        .route("/v1/admin/devices", get(admin::devices))
        .route(
            "/v1/admin/config",
            get(admin::config).post(admin::change_config),
        )
        .route(
            "/v1/admin/devices/{device}/revoke",
            post(admin::revoke_device),
        )
        .layer(axum::extract::DefaultBodyLimit::max(
            blobs::MAX_BLOB_BYTES as usize + 1024,
        ))
        .with_state(server)
}

/// 200 with `{"status":"ok"}` when the data directory is usable, 503 otherwise.
async fn healthz(State(server): State<Arc<Server>>) -> (StatusCode, Json<Value>) {
    let version = env!("CARGO_PKG_VERSION");
    let data = server.data.clone();
    let ok = tokio::task::spawn_blocking(move || {
        let probe = data.join(".healthz");
        std::fs::write(&probe, b"ok").and_then(|()| std::fs::remove_file(&probe))
    })
    .await;
    match ok {
        Ok(Ok(())) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "storage": "sqlite", "version": version })),
        ),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "error": e.to_string() })),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "error": e.to_string() })),
        ),
    }
}

/// Who the token belongs to, and where their documents are listed.
async fn me(auth: Authed) -> Result<Json<Me>, ApiErr> {
    let internal = |e: crate::directory::DirectoryError| {
        ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    };
    let user = auth
        .tenant
        .dir
        .user(&auth.who.principal.user)
        .map_err(internal)?
        .ok_or_else(|| ApiErr::new(StatusCode::UNAUTHORIZED, "user no longer exists"))?;
    let user = auth
        .tenant
        .ensure_user_docs(&user)
        .await
        .map_err(internal)?;
    let url = |d: &Option<String>| d.as_ref().map(|d| format!("automerge:{d}"));
    // Only devices that verify deliveries get the key codes are derived from.
    let who = &auth.who.principal;
    let pod_secret = match policy::allow(&who.user, who.role, Call::TenantKey) {
        Err(_) => None,
        Ok(()) => Some(auth.tenant.dir.pod_secret().map_err(internal)?),
    };
    Ok(Json(Me {
        pod_secret,
        tenant: auth.tenant.name.clone(),
        user: user.id.to_string(),
        name: user.name.clone(),
        role: auth.who.principal.role,
        peer_id: ws::peer_id_for(&auth.who, auth.device.as_deref()).to_string(),
        index_url: url(&user.index_doc),
        courier_url: url(&user.courier_doc),
    }))
}

async fn sync(auth: Authed, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .max_message_size(2 * ws::MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| ws::session(socket, auth.tenant, auth.who, auth.device))
}

async fn blob_head(auth: Authed, Path(hash): Path<String>) -> Result<Response, ApiErr> {
    blobs::head(auth, hash).await
}

async fn blob_get(
    auth: Authed,
    Path(hash): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiErr> {
    let wait_s = match q.get("wait") {
        None => 0,
        Some(w) => w.parse().map_err(|_| {
            ApiErr::new(
                StatusCode::BAD_REQUEST,
                format!("wait={w:?}: expected a whole number of seconds"),
            )
        })?,
    };
    blobs::get(auth, hash, wait_s).await
}

async fn blob_patch(
    auth: Authed,
    Path(hash): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiErr> {
    blobs::patch(auth, hash, headers, body).await
}

/// An order's final invoice number (`INV-000042`), for whoever may read the order.
/// 404 until the server has seen the order delivered.
async fn invoice_number(
    auth: Authed,
    Path(order_id): Path<String>,
) -> Result<Json<InvoiceNumber>, ApiErr> {
    let order = ruta_domain::OrderId::new(&order_id);
    let doc = ruta_model::doc_id_of(&order).ok_or_else(|| {
        ApiErr::new(
            StatusCode::BAD_REQUEST,
            format!("order id {order_id:?} is not a UUID"),
        )
    })?;
    let facts = auth.tenant.shared.facts(&doc.to_string());
    if ruta_model::access::decide(&auth.who.principal, facts.as_ref())
        == ruta_model::access::Access::None
    {
        return Err(ApiErr::new(StatusCode::NOT_FOUND, "no such order"));
    }
    let dir = auth.tenant.dir.clone();
    let id = order.to_string();
    let seq = tokio::task::spawn_blocking(move || dir.invoice_number(&id))
        .await
        .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    match seq {
        Some(seq) => Ok(Json(InvoiceNumber::new(order_id, seq))),
        None => Err(ApiErr::new(
            StatusCode::NOT_FOUND,
            "not numbered yet: the server has not seen this order delivered",
        )),
    }
}

/// The tenant's couriers (operators): the driver monitor lists them even
/// before they first sign in.
async fn couriers(auth: Authed) -> Result<Json<Couriers>, ApiErr> {
    let who = &auth.who.principal;
    policy::allow(&who.user, who.role, Call::CourierDirectory).map_err(forbidden)?;
    let dir = auth.tenant.dir.clone();
    let users = tokio::task::spawn_blocking(move || dir.users())
        .await
        .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(Couriers {
        couriers: users
            .iter()
            .filter(|u| u.role == ruta_domain::Role::Courier)
            .map(|u| CourierInfo {
                user: u.id.to_string(),
                name: u.name.clone(),
            })
            .collect(),
        staff: users
            .iter()
            .filter(|u| who.role.is_operator() && u.role.is_operator())
            .map(|u| CourierInfo {
                user: u.id.to_string(),
                name: u.name.clone(),
            })
            .collect(),
    }))
}

/// A courier's persisted breadcrumb (operators, and the courier themself).
async fn breadcrumbs(
    auth: Authed,
    Path(courier): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Breadcrumbs>, ApiErr> {
    let who = &auth.who.principal;
    policy::allow(&who.user, who.role, Call::Breadcrumbs { courier: &courier })
        .map_err(forbidden)?;
    let since = q.get("since").and_then(|s| s.parse().ok()).unwrap_or(0);
    let dir = auth.tenant.dir.clone();
    let courier = ruta_domain::UserId::new(courier);
    let points = tokio::task::spawn_blocking(move || dir.breadcrumbs(&courier, since))
        .await
        .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(Breadcrumbs {
        points: points
            .iter()
            .map(|&(at, lat, lon)| BreadcrumbPoint { at, lat, lon })
            .collect(),
    }))
}

/// The verifiers of the calling courier's current orders: what its device
/// checks recipients' PINs and QR codes with, offline, without the tenant key
/// (which no courier's device gets). Derived once per order and kept in memory.
async fn verifiers(auth: Authed) -> Result<Json<Verifiers>, ApiErr> {
    let who = &auth.who.principal;
    policy::allow(&who.user, who.role, Call::Verifiers).map_err(forbidden)?;
    let orders: Vec<String> = auth
        .tenant
        .shared
        .facts
        .read()
        .unwrap()
        .iter()
        .filter_map(|(doc, f)| match f {
            ruta_model::access::DocFacts::Order {
                assignee: Some(a), ..
            } if *a == who.user => doc
                .parse::<ruta_model::DocumentId>()
                .ok()
                .and_then(|d| ruta_model::order_of(&d))
                .map(|o| o.to_string()),
            _ => None,
        })
        .collect();
    let tenant = auth.tenant.clone();
    let verifiers = tokio::task::spawn_blocking(move || tenant.verifiers(&orders))
        .await
        .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(Verifiers { verifiers }))
}

/// A policy refusal as the HTTP answer (403 with the policy's sentence).
fn forbidden(d: policy::Denied) -> ApiErr {
    ApiErr::new(StatusCode::FORBIDDEN, d.message)
}

//! Who is calling: the bearer-token extractor every `/v1` route takes
//! ([`Authed`]), and the error answer they all give ([`ApiErr`]). Kept apart
//! from the routes so handlers in other modules (blobs) depend on this, not on
//! the router that depends on them.

use std::sync::Arc;

use app_api::server::ServerError;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Json, Response};

use crate::Server;
use crate::directory::{Authenticated, now_ms, tenant_of_token};
use crate::tenant::Tenant;
use crate::ws;

/// An error answer: status and a JSON [`ServerError`] (`{"error": message}`,
/// with a `code` for refusals a client acts on).
#[derive(Debug)]
pub struct ApiErr {
    pub status: StatusCode,
    pub message: String,
    pub code: Option<&'static str>,
    /// The request field that was wrong.
    pub field: Option<String>,
}

impl ApiErr {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            code: None,
            field: None,
        }
    }

    /// A refusal with a stable code.
    pub fn coded(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            code: Some(code),
            field: None,
        }
    }

    /// Names the request field that was wrong.
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let body = ServerError {
            error: self.message,
            code: self.code.map(str::to_owned),
            field: self.field,
        };
        (self.status, Json(body)).into_response()
    }
}

/// An authenticated request: the tenant and who is calling.
#[derive(Clone, Debug)]
pub struct Authed {
    pub tenant: Arc<Tenant>,
    pub who: Authenticated,
    /// The device id the client named (`?device=`), part of its peer id.
    pub device: Option<String>,
}

impl FromRequestParts<Arc<Server>> for Authed {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, server: &Arc<Server>) -> Result<Self, ApiErr> {
        let unauthorized = |m: &str| ApiErr::new(StatusCode::UNAUTHORIZED, m);
        let header = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim().to_owned());
        let query = parts.uri.query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
        });
        let device = parts
            .uri
            .query()
            .and_then(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .find(|(k, v)| k == "device" && ws::valid_device(v))
                    .map(|(_, v)| v.into_owned())
            })
            .or_else(|| {
                parts
                    .headers
                    .get(app_api::server::DEVICE_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .filter(|v| ws::valid_device(v))
                    .map(str::to_owned)
            });
        let token = header.or(query).ok_or_else(|| {
            unauthorized("no token: send Authorization: Bearer <token> or ?token=")
        })?;
        let tenant_name = tenant_of_token(&token)
            .ok_or_else(|| unauthorized("malformed token"))?
            .to_owned();
        let tenant = server
            .tenant(&tenant_name)
            .await
            .map_err(|_| unauthorized("unknown token"))?;
        let dir = tenant.dir.clone();
        let on = device.clone();
        let checked = tokio::task::spawn_blocking(move || {
            dir.authenticate_on(&token, on.as_deref(), now_ms())
        })
        .await
        .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        match checked {
            Ok(who) => {
                if let Some(d) = &device {
                    let mut seen = tenant.last_seen.lock().unwrap_or_else(|p| p.into_inner());
                    seen.insert(d.clone(), now_ms());
                }
                Ok(Authed {
                    tenant,
                    who,
                    device,
                })
            }
            Err(problem) => {
                tracing::warn!(tenant = %tenant_name, %problem, "authentication failed");
                Err(unauthorized(&problem.to_string()))
            }
        }
    }
}

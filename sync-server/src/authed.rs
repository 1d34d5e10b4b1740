//! Who is calling: the bearer-token extractor every `/v1` route takes
//! ([`Authed`]), and the error answer they all give ([`ApiErr`]). Kept apart
//! from the routes so handlers in other modules (blobs) depend on this, not on
//! the router that depends on them.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;

use crate::Server;
use crate::directory::{Authenticated, now_ms, tenant_of_token};
use crate::tenant::Tenant;
use crate::ws;

/// An error answer: status and a JSON `{"error": message}`.
#[derive(Debug)]
pub struct ApiErr {
    pub status: StatusCode,
    pub message: String,
}

impl ApiErr {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
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
        let device = parts.uri.query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, v)| k == "device" && ws::valid_device(v))
                .map(|(_, v)| v.into_owned())
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
        let checked = tokio::task::spawn_blocking(move || dir.authenticate(&token, now_ms()))
            .await
            .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .map_err(|e| ApiErr::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        match checked {
            Ok(who) => Ok(Authed {
                tenant,
                who,
                device,
            }),
            Err(problem) => {
                tracing::warn!(tenant = %tenant_name, %problem, "authentication failed");
                Err(unauthorized(&problem.to_string()))
            }
        }
    }
}

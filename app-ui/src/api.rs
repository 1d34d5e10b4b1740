//! The UI's only door to a core: one [`call`] that picks the transport.
//!
//! In the Tauri window the request goes over IPC (`ruta_call`); in a plain
//! browser it goes over HTTP to the device host that served the page
//! (`POST /api/call`). Both carry the same JSON, so the rest of the UI never
//! knows which shell it runs in.

use app_api::account::{ACCOUNT_HTTP_PATH, ACCOUNT_TAURI_COMMAND, AccountRequest, AccountResponse};
use app_api::{ApiError, Request, Response};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "core"], catch)]
    async fn invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

/// Which shell the page runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    TauriIpc,
    Http,
}

impl Transport {
    pub fn detect() -> Self {
        let tauri = web_sys::window()
            .and_then(|w| js_sys::Reflect::has(&w, &JsValue::from_str("__TAURI__")).ok())
            .unwrap_or(false);
        if tauri {
            Transport::TauriIpc
        } else {
            Transport::Http
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Transport::TauriIpc => "Tauri IPC",
            Transport::Http => "HTTP device host",
        }
    }
}

/// Sends one request to this device's core.
pub async fn call(request: &Request) -> Result<Response, ApiError> {
    match Transport::detect() {
        Transport::TauriIpc => call_ipc(app_api::TAURI_COMMAND, request).await,
        Transport::Http => call_http(app_api::HTTP_PATH, request).await,
    }
}

/// Sends one request to this device's account service (sign-in, sign-out, admin).
pub async fn account(request: &AccountRequest) -> Result<AccountResponse, ApiError> {
    match Transport::detect() {
        Transport::TauriIpc => call_ipc(ACCOUNT_TAURI_COMMAND, request).await,
        Transport::Http => call_http(ACCOUNT_HTTP_PATH, request).await,
    }
}

async fn call_ipc<Q: serde::Serialize, A: serde::de::DeserializeOwned>(
    command: &str,
    request: &Q,
) -> Result<A, ApiError> {
    let args = to_js(&serde_json::json!({ "request": request }))?;
    match invoke(command, args).await {
        Ok(value) => from_js(&value),
        // The shell sends an ApiError as data; anything else (e.g. a request the
        // IPC layer could not decode) arrives as a string.
        Err(value) => Err(
            from_js::<ApiError>(&value).unwrap_or_else(|_| ApiError::Transport {
                message: value.as_string().unwrap_or_else(|| format!("{value:?}")),
            }),
        ),
    }
}

async fn call_http<Q: serde::Serialize, A: serde::de::DeserializeOwned>(
    path: &str,
    request: &Q,
) -> Result<A, ApiError> {
    let transport = |e: gloo_net::Error| ApiError::Transport {
        message: e.to_string(),
    };
    let response = gloo_net::http::Request::post(path)
        .json(request)
        .map_err(transport)?
        .send()
        .await
        .map_err(transport)?;
    let body = response.text().await.map_err(transport)?;
    if response.ok() {
        serde_json::from_str(&body).map_err(|e| malformed(&e))
    } else {
        Err(
            serde_json::from_str::<ApiError>(&body).unwrap_or_else(|_| ApiError::Transport {
                message: format!("HTTP {} {}", response.status(), body.trim()),
            }),
        )
    }
}

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, ApiError> {
    let text = serde_json::to_string(value).map_err(|e| malformed(&e))?;
    js_sys::JSON::parse(&text).map_err(|e| ApiError::Malformed {
        message: format!("{e:?}"),
    })
}

fn from_js<T: serde::de::DeserializeOwned>(value: &JsValue) -> Result<T, ApiError> {
    let text: String = js_sys::JSON::stringify(value)
        .map_err(|e| ApiError::Malformed {
            message: format!("{e:?}"),
        })?
        .into();
    serde_json::from_str(&text).map_err(|e| malformed(&e))
}

fn malformed(e: &serde_json::Error) -> ApiError {
    ApiError::Malformed {
        message: format!("unexpected answer from the core: {e}"),
    }
}

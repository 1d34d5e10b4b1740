//! Tauri commands. Each is DTO in -> one core call -> DTO out.

use app_core::Core;
use app_core::api::account::{AccountRequest, AccountResponse};
use app_core::api::{ApiError, Request, Response};

/// Carries one [`Request`] to the core (`invoke("ruta_call", { request })`).
/// Runs on the blocking pool so SQLite never stalls the UI thread.
#[tauri::command]
pub async fn ruta_call(
    core: tauri::State<'_, Core>,
    request: Request,
) -> Result<Response, ApiError> {
    let core = core.inner().clone();
    tauri::async_runtime::spawn_blocking(move || core.execute(request))
        .await
        .map_err(|e| ApiError::Storage {
            message: format!("core call did not complete: {e}"),
        })?
}

/// Carries one [`AccountRequest`] to the account service (`invoke("ruta_account",
/// { request })`): sign-in, sign-out and admin calls. Who works on the device is
/// decided there, from the server's answer, never by the webview.
#[tauri::command]
pub async fn ruta_account(
    account: tauri::State<'_, sync_client::Account>,
    request: AccountRequest,
) -> Result<AccountResponse, ApiError> {
    account.inner().handle(request).await
}

//! Who works on a device: the account service every shell puts behind its
//! account endpoint (`ruta_account` in Tauri, `POST /api/account` on the
//! device host). It answers [`AccountRequest`]s: sign-in with an enrolment code
//! (typed or a photo of its QR code), the explicit choice to work without a
//! server, sign-out (never discarding unsynced changes silently) and the
//! admin's calls to the server.
//!
//! The device's token lives in `sync-credentials.json` in its data directory,
//! owner-only (0600); it never reaches the UI. The user and role always come
//! from the server. A token the server refuses (revoked, expired) ends at the
//! sign-in screen with a notice.
//!
//! `RUTA_SYNC_URL`/`RUTA_SYNC_TOKEN` (and `RUTA_WORK_WITHOUT_SERVER=<name>`)
//! still configure headless devices and tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use app_api::account::{
    AccountRequest, AccountResponse, AccountState, AccountStatus, Enrolment, FORGET_CONFIRMATION,
    TenantDevice, TenantUser,
};
use app_api::server::{EnrolRequest, Enrolled, NewEnrolment, NewUser, ServerError};
use app_api::{ApiError, Role};
use app_core::Core;
use app_core::enrolment::{Code, parse_qr_payload, qr_payload};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::{SyncClient, SyncConfig, SyncError, device_http};

/// The device's token and where it works (owner-only file).
pub const CREDENTIALS_FILE: &str = "sync-credentials.json";
/// The choice to work without a server.
pub const WITHOUT_SERVER_FILE: &str = "without-server.json";

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Credentials {
    server: String,
    token: String,
    tenant: String,
    user: String,
    role: Role,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct WithoutServer {
    name: String,
}

#[derive(Default)]
struct Running {
    cfg: Option<SyncConfig>,
    client: Option<SyncClient>,
    supervisor: Option<tokio::task::AbortHandle>,
}

struct Inner {
    core: Core,
    dir: PathBuf,
    running: tokio::sync::Mutex<Running>,
    notice: std::sync::Mutex<Option<String>>,
}

/// The account service of one device. Cheap to clone.
#[derive(Clone)]
pub struct Account {
    inner: Arc<Inner>,
}

fn refused(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::Refused {
        code: code.into(),
        message: message.into(),
    }
}

fn local(e: impl std::fmt::Display) -> ApiError {
    ApiError::Storage {
        message: e.to_string(),
    }
}

/// Writes `bytes` to `path` readable by the owner only, atomically.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

fn remove(path: &Path) -> Result<(), ApiError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(local(format!("cannot remove {}: {e}", path.display()))),
    }
}

impl Account {
    /// Opens the account of the device whose data is in `dir` and starts
    /// syncing if it is signed in (environment first, then the stored
    /// credentials). With neither, and no choice to work without a server,
    /// nobody is signed in: the UI shows the sign-in screen.
    pub async fn start(core: Core, dir: &Path) -> Result<Self, String> {
        let account = Self {
            inner: Arc::new(Inner {
                core,
                dir: dir.to_owned(),
                running: tokio::sync::Mutex::default(),
                notice: std::sync::Mutex::default(),
            }),
        };
        if let Some(cfg) = crate::config_from_env()? {
            account.run(cfg).await;
        } else if let Some(creds) = account.credentials() {
            let server = url::Url::parse(&creds.server).map_err(|e| e.to_string())?;
            account.run(SyncConfig::new(server, creds.token)).await;
        } else if let Some(name) = std::env::var("RUTA_WORK_WITHOUT_SERVER")
            .ok()
            .filter(|name| !name.trim().is_empty())
            .map(|name| WithoutServer { name })
            .or_else(|| account.without_server())
        {
            account
                .work_without_server(&name.name)
                .map_err(|e| e.to_string())?;
        } else if account.inner.core.session().is_some() {
            // A session with neither a server nor the choice to work alone
            // (an older version's default): nobody is signed in.
            account
                .inner
                .core
                .clear_session()
                .map_err(|e| e.to_string())?;
        }
        Ok(account)
    }

    fn credentials(&self) -> Option<Credentials> {
        let bytes = std::fs::read(self.inner.dir.join(CREDENTIALS_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn without_server(&self) -> Option<WithoutServer> {
        let bytes = std::fs::read(self.inner.dir.join(WITHOUT_SERVER_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Starts syncing with `cfg` under a supervisor that signs the device out
    /// when the server refuses its token.
    async fn run(&self, cfg: SyncConfig) {
        let mut running = self.inner.running.lock().await;
        if let Some(s) = running.supervisor.take() {
            s.abort();
        }
        running.cfg = Some(cfg.clone());
        let me = self.clone();
        let task = tokio::spawn(async move { me.supervise(cfg).await });
        running.supervisor = Some(task.abort_handle());
    }

    async fn supervise(self, cfg: SyncConfig) {
        let core = self.inner.core.clone();
        // Each turn is one sync client; a role change on the server starts the next.
        loop {
            let client = loop {
                match SyncClient::start(core.clone(), &self.inner.dir, cfg.clone()).await {
                    Ok(client) => break client,
                    Err(SyncError::Unauthorized(e)) => {
                        tracing::warn!(error = %e, "the server refused this device's token");
                        self.signed_out_by_server().await;
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "sync not started yet; retrying");
                        core.set_link(app_api::LinkState::Offline, Some(cfg.server.to_string()));
                        tokio::time::sleep(Duration::from_secs(3)).await;
                    }
                }
            };
            tracing::info!(user = %client.me().user, server = %cfg.server, "syncing");
            self.inner.running.lock().await.client = Some(client.clone());
            loop {
                let refused = tokio::select! {
                    () = client.refused() => true,
                    // A session the server ended may mean a new role: ask on reconnection.
                    () = client.reconnected() => false,
                };
                // One refused dial may be a restarting server: ask who we are.
                match crate::me::fetch_me(&device_http(&core.device_id()), &cfg, &core.device_id())
                    .await
                {
                    Err(SyncError::Unauthorized(e)) => {
                        tracing::warn!(error = %e, "the server revoked this device's token");
                        self.signed_out_by_server().await;
                        return;
                    }
                    Ok(me) if me.role != client.me().role || me.user != client.me().user => {
                        tracing::info!(role = ?me.role, "the server changed this user's role");
                        self.inner.running.lock().await.client = None;
                        client.stop().await;
                        break;
                    }
                    _ if refused => {
                        client.shared.wire.clear_refused();
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    _ => {}
                }
            }
        }
    }

    /// Drops the connection for `how_long`, then reconnects as before (the
    /// demo's dead spots, tests). Work on the device goes on meanwhile and
    /// syncs on reconnection. Nothing happens when the device is not signed
    /// in to a server.
    pub async fn offline_for(&self, how_long: Duration) {
        let cfg = {
            let mut running = self.inner.running.lock().await;
            let Some(cfg) = running.cfg.clone() else {
                return;
            };
            if let Some(s) = running.supervisor.take() {
                s.abort();
            }
            if let Some(client) = running.client.take() {
                client.stop().await;
            }
            cfg
        };
        self.inner
            .core
            .set_link(app_api::LinkState::Offline, Some(cfg.server.to_string()));
        tracing::info!(seconds = how_long.as_secs_f64(), "offline for a while");
        tokio::time::sleep(how_long).await;
        // Signed out or signed in elsewhere meanwhile: leave it be.
        let same = self
            .inner
            .running
            .lock()
            .await
            .cfg
            .as_ref()
            .is_some_and(|c| c.server == cfg.server && c.token == cfg.token);
        if same {
            self.run(cfg).await;
        }
    }

    /// The server refused the token: back to the sign-in screen, keeping
    /// every local change.
    async fn signed_out_by_server(&self) {
        let mut running = self.inner.running.lock().await;
        if let Some(client) = running.client.take() {
            client.stop().await;
        }
        running.cfg = None;
        running.supervisor = None;
        let _ = remove(&self.inner.dir.join(CREDENTIALS_FILE));
        let _ = remove(&self.inner.dir.join(crate::me::ME_FILE));
        let _ = self.inner.core.forget_pod_secret();
        let _ = self.inner.core.clear_session();
        self.inner
            .core
            .set_link(app_api::LinkState::NotConfigured, None);
        *self.inner.notice.lock().unwrap_or_else(|p| p.into_inner()) = Some(
            "The server no longer accepts this device (revoked, expired, or the user disabled): \
             sign in again. Changes made here are kept."
                .into(),
        );
    }

    /// The running sync client, once it has started (for tests and hosts).
    pub async fn client(&self) -> Option<SyncClient> {
        self.inner.running.lock().await.client.clone()
    }

    /// Answers one account request.
    pub async fn handle(&self, request: AccountRequest) -> Result<AccountResponse, ApiError> {
        match request {
            AccountRequest::Status => self.status().await.map(AccountResponse::Status),
            AccountRequest::SignIn { server, code } => {
                self.sign_in(&server, &code).await?;
                self.status().await.map(AccountResponse::Status)
            }
            AccountRequest::SignInQr { image_base64 } => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(image_base64.trim())
                    .map_err(|e| ApiError::Invalid {
                        field: "image_base64".into(),
                        message: format!("not base64: {e}"),
                    })?;
                let payloads =
                    app_core::pod::verify::scan(&bytes).map_err(|e| ApiError::Invalid {
                        field: "image_base64".into(),
                        message: e.to_string(),
                    })?;
                let Some(found) = payloads.iter().find_map(|p| parse_qr_payload(p).ok()) else {
                    return Err(refused(
                        "no-enrolment-qr",
                        match payloads.first() {
                            None => "no QR code found in the photo: hold it flat and in focus"
                                .to_owned(),
                            Some(p) => parse_qr_payload(p).unwrap_err(),
                        },
                    ));
                };
                self.sign_in(&found.0, &found.1.to_string()).await?;
                self.status().await.map(AccountResponse::Status)
            }
            AccountRequest::WorkWithoutServer { name } => {
                if self.inner.running.lock().await.cfg.is_some() {
                    return Err(refused(
                        "signed_in",
                        "this device is signed in to a server: sign out first",
                    ));
                }
                self.work_without_server(&name)?;
                let bytes = serde_json::to_vec(&WithoutServer {
                    name: name.trim().to_owned(),
                })
                .expect("serialise");
                write_private(&self.inner.dir.join(WITHOUT_SERVER_FILE), &bytes).map_err(local)?;
                self.status().await.map(AccountResponse::Status)
            }
            AccountRequest::SignOut {
                forget,
                keep_unsynced,
                confirm,
            } => {
                self.sign_out(forget, keep_unsynced, &confirm).await?;
                self.status().await.map(AccountResponse::Status)
            }
            AccountRequest::Users => {
                let users: Vec<TenantUser> = self.admin_get("v1/admin/users").await?;
                Ok(AccountResponse::Users { users })
            }
            AccountRequest::AddUser { id, name, role } => {
                self.admin_post("v1/admin/users", &NewUser { id, name, role })
                    .await?;
                Ok(AccountResponse::Done)
            }
            AccountRequest::UpdateUser { id, role, disabled } => {
                if !app_core::ids::valid_user_id(&id) {
                    return Err(ApiError::Invalid {
                        field: "id".into(),
                        message: "not a user id".into(),
                    });
                }
                self.admin_post(
                    &format!("v1/admin/users/{id}"),
                    &app_api::server::UserChange { role, disabled },
                )
                .await?;
                Ok(AccountResponse::Done)
            }
            AccountRequest::IssueEnrolment { user, ttl_minutes } => {
                let resp = self
                    .admin_post("v1/admin/enrolments", &NewEnrolment { user, ttl_minutes })
                    .await?;
                let mut enrolment: Enrolment = resp.json().await.map_err(|e| {
                    refused(
                        "server-answer",
                        format!("unexpected answer from the server: {e}"),
                    )
                })?;
                let server = self.server().await.unwrap_or_default();
                let code = Code::parse(&enrolment.code)
                    .map_err(|e| refused("server-answer", e.to_string()))?;
                enrolment.qr_payload = qr_payload(&server, &code);
                let png = app_core::pod::verify::qr_png(&enrolment.qr_payload, 6)
                    .map_err(|e| local(format!("QR code: {e}")))?;
                enrolment.qr_png_base64 = base64::engine::general_purpose::STANDARD.encode(png);
                Ok(AccountResponse::Enrolment(enrolment))
            }
            AccountRequest::Devices => {
                let devices: Vec<TenantDevice> = self.admin_get("v1/admin/devices").await?;
                Ok(AccountResponse::Devices { devices })
            }
            AccountRequest::RevokeDevice { device } => {
                let path = format!("v1/admin/devices/{device}/revoke");
                if !app_core::ids::valid_device_id(&device) {
                    return Err(ApiError::Invalid {
                        field: "device".into(),
                        message: "not a device id".into(),
                    });
                }
                self.admin_post(&path, &serde_json::json!({})).await?;
                Ok(AccountResponse::Done)
            }
        }
    }

    async fn server(&self) -> Option<String> {
        let running = self.inner.running.lock().await;
        running.cfg.as_ref().map(|c| c.server.to_string())
    }

    fn work_without_server(&self, name: &str) -> Result<(), ApiError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(ApiError::Invalid {
                field: "name".into(),
                message: "your name: 1 to 64 characters".into(),
            });
        }
        // One person runs the whole operation from the console, and sets it
        // up (tariff, company profile): the admin's workspace.
        self.inner.core.set_session(name, Role::Admin)
    }

    async fn status(&self) -> Result<AccountStatus, ApiError> {
        let core = &self.inner.core;
        let unsynced = core.pending_count().map_err(local)?;
        let session = core.session();
        let running = self.inner.running.lock().await;
        let state = match (&running.cfg, &session) {
            (Some(_), Some(_)) => AccountState::SignedIn,
            (None, Some(_)) => AccountState::WithoutServer,
            (_, None) => AccountState::SignedOut,
        };
        let me = running.client.as_ref().map(|c| c.me().clone());
        let creds = self.credentials();
        Ok(AccountStatus {
            state,
            device_id: core.device_id(),
            server: running.cfg.as_ref().map(|c| c.server.to_string()),
            tenant: me
                .as_ref()
                .map(|m| m.tenant.clone())
                .or(creds.map(|c| c.tenant)),
            user: session.as_ref().map(|s| s.0.clone()),
            name: me.map(|m| m.name).unwrap_or_default(),
            role: session.map(|s| s.1),
            unsynced,
            notice: self
                .inner
                .notice
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        })
    }

    async fn sign_in(&self, server: &str, code: &str) -> Result<(), ApiError> {
        if self.inner.running.lock().await.cfg.is_some() {
            return Err(refused(
                "signed_in",
                "this device is already signed in: sign out first",
            ));
        }
        let code = Code::parse(code).map_err(|e| refused("code-mistyped", e.to_string()))?;
        let server = server.trim();
        let mut base = url::Url::parse(server)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| ApiError::Invalid {
                field: "server".into(),
                message: format!("{server:?} is not a server address (https://…)"),
            })?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let device = self.inner.core.device_id();
        let http = device_http(&device);
        let resp = http
            .post(base.join("v1/enrol").expect("static path"))
            .json(&EnrolRequest {
                code: code.to_string(),
                device,
            })
            .timeout(Duration::from_secs(15))
            .send()
            .await
            .map_err(|e| {
                refused(
                    "server-unreachable",
                    format!("cannot reach {base}: {e}. Check the address and the connection."),
                )
            })?;
        if !resp.status().is_success() {
            return Err(server_refusal(resp).await);
        }
        let enrolled: Enrolled = resp.json().await.map_err(|e| {
            refused(
                "server-answer",
                format!("unexpected answer from the server: {e}"),
            )
        })?;
        let creds = Credentials {
            server: base.to_string(),
            token: enrolled.token.clone(),
            tenant: enrolled.tenant.clone(),
            user: enrolled.user.clone(),
            role: enrolled.role,
        };
        write_private(
            &self.inner.dir.join(CREDENTIALS_FILE),
            &serde_json::to_vec(&creds).expect("serialise"),
        )
        .map_err(local)?;
        remove(&self.inner.dir.join(WITHOUT_SERVER_FILE))?;
        // The server said who this is; the sync client confirms it on start.
        self.inner.core.set_session(&enrolled.user, enrolled.role)?;
        *self.inner.notice.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.run(SyncConfig::new(base, enrolled.token)).await;
        tracing::info!(user = %enrolled.user, tenant = %enrolled.tenant, "device signed in");
        Ok(())
    }

    async fn sign_out(
        &self,
        forget: bool,
        keep_unsynced: bool,
        confirm: &str,
    ) -> Result<(), ApiError> {
        let core = &self.inner.core;
        let unsynced = core.pending_count().map_err(local)?;
        if forget && unsynced > 0 && confirm.trim() != FORGET_CONFIRMATION {
            return Err(refused(
                "unsynced",
                format!(
                    "{unsynced} order(s) have changes the server does not have yet: wait for them to sync, \
                     or type \"{FORGET_CONFIRMATION}\" to delete them with this device's data"
                ),
            ));
        }
        if !forget && unsynced > 0 && !keep_unsynced {
            return Err(refused(
                "unsynced",
                format!(
                    "{unsynced} order(s) have changes the server does not have yet: wait for them to sync, \
                     or sign out keeping them on this device (they sync at the next sign-in)"
                ),
            ));
        }
        let mut running = self.inner.running.lock().await;
        if let Some(s) = running.supervisor.take() {
            s.abort();
        }
        if let Some(client) = running.client.take() {
            client.stop().await;
        }
        running.cfg = None;
        for file in [CREDENTIALS_FILE, WITHOUT_SERVER_FILE, crate::me::ME_FILE] {
            remove(&self.inner.dir.join(file))?;
        }
        core.forget_pod_secret()?;
        if forget {
            remove(&self.inner.dir.join(crate::REPO_FILE))?;
            for ext in ["-wal", "-shm"] {
                remove(&self.inner.dir.join(format!("{}{ext}", crate::REPO_FILE)))?;
            }
            core.forget_local_data()?;
        } else {
            core.clear_session()?;
        }
        core.set_link(app_api::LinkState::NotConfigured, None);
        *self.inner.notice.lock().unwrap_or_else(|p| p.into_inner()) = None;
        tracing::info!(forget, unsynced, "signed out");
        Ok(())
    }

    async fn admin_request(
        &self,
        build: impl FnOnce(&reqwest::Client, url::Url) -> reqwest::RequestBuilder,
        path: &str,
    ) -> Result<reqwest::Response, ApiError> {
        let cfg = self.inner.running.lock().await.cfg.clone().ok_or_else(|| {
            refused(
                "not_signed_in",
                "sign in to the tenant's server to manage it",
            )
        })?;
        if self.inner.core.session().map(|s| s.1) != Some(Role::Admin) {
            return Err(refused("admins_only", "only admins set the tenant up"));
        }
        let http = device_http(&self.inner.core.device_id());
        let url = cfg.server.join(path).expect("relative path");
        let resp = build(&http, url)
            .bearer_auth(&cfg.token)
            .timeout(Duration::from_secs(15))
            .send()
            .await
            .map_err(|e| {
                refused(
                    "server-unreachable",
                    format!(
                        "the server cannot be reached now ({e}): admin changes need a connection"
                    ),
                )
            })?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(server_refusal(resp).await)
        }
    }

    async fn admin_get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let resp = self.admin_request(|h, u| h.get(u), path).await?;
        resp.json().await.map_err(|e| {
            refused(
                "server-answer",
                format!("unexpected answer from the server: {e}"),
            )
        })
    }

    async fn admin_post(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<reqwest::Response, ApiError> {
        let body = serde_json::to_vec(body).expect("serialise");
        self.admin_request(
            |h, u| {
                h.post(u)
                    .header("content-type", "application/json")
                    .body(body)
            },
            path,
        )
        .await
    }
}

/// A server's refusal as the device's API answers it: the server's code and sentence.
async fn server_refusal(resp: reqwest::Response) -> ApiError {
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    match serde_json::from_str::<ServerError>(&body) {
        Ok(e) => refused(e.code.as_deref().unwrap_or("refused"), e.error),
        Err(_) => refused("refused", format!("the server answered {status}: {body}")),
    }
}

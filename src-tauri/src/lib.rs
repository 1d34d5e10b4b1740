//! The Tauri shell of Ruta.
//!
//! Thin by rule: each command is DTO in -> one [`app_core::Core`] call -> DTO
//! out, errors as [`app_core::api::ApiError`] values (never a panic on `Err`).
//! The shell owns only what is Tauri's: where the data directory is, window
//! set-up, and (later) camera and geolocation plugins.
//!
//! The data directory is the platform's app-data dir, or `RUTA_DATA_DIR` when
//! set (tests and the demo runner use that to give each instance its own store).

mod commands;

use app_core::Core;
use tauri::Manager;

/// Registers Ruta's commands on a builder (the real one or the mock runtime's).
pub fn with_commands<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![commands::ruta_call])
}

/// Starts the app: desktop `main` and the mobile entry point both land here.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let result = with_commands(tauri::Builder::default())
        .setup(|app| {
            let dir = match std::env::var_os("RUTA_DATA_DIR") {
                Some(dir) => std::path::PathBuf::from(dir),
                None => app.path().app_data_dir()?,
            };
            let core = Core::open(&dir)?;
            // Real road distances when RUTA_OSM_PBF names an extract; else straight lines.
            if let Err(e) = core.load_road_graph_from_env() {
                eprintln!("ruta-app: road graph not loaded, routing uses straight lines: {e}");
            }
            // Sync with the tenant's server when RUTA_SYNC_URL and RUTA_SYNC_TOKEN are set
            // (sign-in from the UI stores them once the console has a sign-in screen).
            if let Some(cfg) = sync_client::config_from_env()? {
                tauri::async_runtime::spawn(sync_client::run_forever(
                    core.clone(),
                    dir.clone(),
                    cfg,
                ));
            }
            app.manage(core);
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("ruta-app: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use app_core::api::{self, ApiError, Request, Response};
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{mock_builder, mock_context, noop_assets};
    use tauri::webview::InvokeRequest;

    fn app_with_core(
        dir: &std::path::Path,
    ) -> (
        tauri::App<tauri::test::MockRuntime>,
        tauri::WebviewWindow<tauri::test::MockRuntime>,
    ) {
        let core = app_core::Core::open(dir).unwrap();
        let app = super::with_commands(mock_builder())
            .manage(core)
            .build(mock_context(noop_assets()))
            .unwrap();
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();
        (app, webview)
    }

    fn invoke(
        webview: &tauri::WebviewWindow<tauri::test::MockRuntime>,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, serde_json::Value> {
        tauri::test::get_ipc_response(
            webview,
            InvokeRequest {
                cmd: api::TAURI_COMMAND.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                // The origin the Linux and macOS webviews load the app from.
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(body),
                headers: Default::default(),
                invoke_key: tauri::test::INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<serde_json::Value>().unwrap())
    }

    #[test]
    fn ruta_call_reaches_the_core_and_its_store() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, webview) = app_with_core(dir.path());

        let created = invoke(
            &webview,
            serde_json::json!({ "request": {
                "op": "create_order", "customer_name": "Aino",
                "pickup_address": "Kauppatori 1", "dropoff_address": "Bulevardi 14"
            } }),
        )
        .expect("create_order succeeds");
        let created: Response = serde_json::from_value(created).unwrap();
        let Response::Order(order) = created else {
            panic!("{created:?}")
        };
        assert_eq!(order.customer_name, "Aino");

        let status = invoke(
            &webview,
            serde_json::json!({ "request": { "op": "device_status" } }),
        )
        .expect("device_status succeeds");
        let Response::DeviceStatus(status) = serde_json::from_value(status).unwrap() else {
            panic!()
        };
        assert_eq!(status.order_count, 1);
        assert_eq!(status.device_id, order.created_on);

        // The order really is in the SQLite file: a fresh core on the same dir sees it.
        let reopened = app_core::Core::open(dir.path()).unwrap();
        let Ok(Response::Orders { orders, .. }) =
            reopened.execute(Request::ListOrders(Default::default()))
        else {
            panic!()
        };
        assert_eq!(orders, vec![order]);
    }

    #[test]
    fn core_errors_come_back_as_typed_values() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, webview) = app_with_core(dir.path());
        let err = invoke(
            &webview,
            serde_json::json!({ "request": { "op": "create_order", "customer_name": "" } }),
        )
        .expect_err("empty name is refused");
        let err: ApiError = serde_json::from_value(err).unwrap();
        assert!(matches!(err, ApiError::Invalid { ref field, .. } if field == "customer_name"));
    }
}

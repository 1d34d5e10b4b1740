//! The Tauri shell of Ruta.
//!
//! Thin by rule: each command is DTO in -> one [`app_core::Core`] call -> DTO
//! out, errors as [`app_core::api::ApiError`] values (never a panic on `Err`).
//! The shell owns only what is Tauri's: where the data directory is, window
//! set-up, and (later) camera and geolocation plugins.
//!
//! The data directory is the platform's app-data dir, or `RUTA_DATA_DIR` when
//! set (tests and the demo runner use that to give each instance its own store).
//!
//! The map's offline basemap is served on the `rutatiles` URI scheme
//! (`rutatiles://localhost/{z}/{x}/{y}.pbf` on Linux and macOS,
//! `http://rutatiles.localhost/...` on Windows and Android) from the MBTiles file
//! [`host_runtime::maps`] finds (`RUTA_TILES`, `maps/basemap.mbtiles` in the data
//! directory or beside the binary; the checkout's file in debug builds only).

mod commands;

use std::sync::Arc;

use app_core::Core;
use host_runtime::tiles::MbTiles;
use tauri::Manager;
use tauri::http::{Response, StatusCode, header};

/// The URI scheme the map's tiles are served on (see `app-ui/map.js`).
pub const TILES_SCHEME: &str = "rutatiles";

/// Registers Ruta's commands on a builder (the real one or the mock runtime's).
pub fn with_commands<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::ruta_call,
        commands::ruta_account
    ])
}

/// Serves the basemap's tiles on [`TILES_SCHEME`] from `tiles` (none: every tile is 404).
/// Tiles are read and decompressed off the webview's thread; a missing tile is 204.
pub fn with_tiles<R: tauri::Runtime>(
    builder: tauri::Builder<R>,
    tiles: Option<MbTiles>,
) -> tauri::Builder<R> {
    let tiles = tiles.map(Arc::new);
    builder.register_asynchronous_uri_scheme_protocol(
        TILES_SCHEME,
        move |_ctx, request, responder| {
            let tiles = tiles.clone();
            let path = request.uri().path().to_owned();
            tauri::async_runtime::spawn_blocking(move || {
                responder.respond(tile_response(tiles.as_deref(), &path));
            });
        },
    )
}

fn tile_response(tiles: Option<&MbTiles>, path: &str) -> Response<Vec<u8>> {
    let status = |code: StatusCode| {
        let mut response = Response::new(Vec::new());
        *response.status_mut() = code;
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::HeaderValue::from_static("*"),
        );
        response
    };
    let (Some(tiles), Some((z, x, y))) = (tiles, host_runtime::tiles::parse_tile_path(path)) else {
        return status(StatusCode::NOT_FOUND);
    };
    // The webview does not decode Content-Encoding on custom schemes: serve tiles plain.
    let plain = tiles
        .tile(z, x, y)
        .and_then(|tile| tile.map(|t| t.into_plain()).transpose());
    match plain {
        Ok(None) => status(StatusCode::NO_CONTENT),
        Ok(Some(data)) => {
            let mut response = status(StatusCode::OK);
            *response.body_mut() = data;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/x-protobuf"),
            );
            response
        }
        Err(e) => {
            eprintln!("ruta-app: tile {path}: {e}");
            status(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// Where the app looks for its map files before it knows its data directory:
/// `RUTA_DATA_DIR` when set, and beside the executable (a bundle's `maps/`).
fn early_map_dirs() -> Vec<std::path::PathBuf> {
    std::env::var_os("RUTA_DATA_DIR")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(host_runtime::maps::exe_dir())
        .collect()
}

/// The basemap (see [`host_runtime::maps`]), if it opens.
fn tiles_from(dirs: &[std::path::PathBuf]) -> Option<MbTiles> {
    let path = host_runtime::tiles::path_for(dirs)?;
    MbTiles::open(&path)
        .inspect_err(|e| eprintln!("ruta-app: basemap tiles not served: {e}"))
        .ok()
}

/// Starts the app: desktop `main` and the mobile entry point both land here.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let builder = with_tiles(tauri::Builder::default(), tiles_from(&early_map_dirs()));
    // OS notifications: the page's `Notification` goes to the OS through it.
    let builder = builder.plugin(tauri_plugin_notification::init());
    let result = with_commands(builder)
        .setup(|app| {
            let dir = match std::env::var_os("RUTA_DATA_DIR") {
                Some(dir) => std::path::PathBuf::from(dir),
                None => app.path().app_data_dir()?,
            };
            let core = Core::open(&dir)?;
            // Real road distances when a road extract is found (the environment, the
            // data directory, the bundle's resources, beside the binary); else straight lines.
            let dirs: Vec<std::path::PathBuf> = std::iter::once(dir.clone())
                .chain(app.path().resource_dir().ok())
                .chain(host_runtime::maps::exe_dir())
                .collect();
            if let Some(path) =
                host_runtime::maps::locate(host_runtime::maps::MapFile::Roads, &dirs)
                && let Err(e) = core.load_road_graph(&path)
            {
                eprintln!("ruta-app: road graph not loaded, routing uses straight lines: {e}");
            }
            // Signed in from the environment (RUTA_SYNC_URL and RUTA_SYNC_TOKEN), from
            // stored credentials, or not yet: the UI shows the sign-in screen.
            let account =
                tauri::async_runtime::block_on(sync_client::Account::start(core.clone(), &dir))?;
            app.manage(account);
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
        let account =
            tauri::async_runtime::block_on(sync_client::Account::start(core.clone(), dir)).unwrap();
        let app = super::with_commands(mock_builder())
            .manage(core)
            .manage(account)
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
        invoke_cmd(webview, api::TAURI_COMMAND, body)
    }

    fn invoke_cmd(
        webview: &tauri::WebviewWindow<tauri::test::MockRuntime>,
        cmd: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, serde_json::Value> {
        tauri::test::get_ipc_response(
            webview,
            InvokeRequest {
                cmd: cmd.into(),
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
    fn the_webview_cannot_pick_who_works_on_the_device() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, webview) = app_with_core(dir.path());
        // Nobody is signed in: the core refuses work until someone is.
        let err = invoke(
            &webview,
            serde_json::json!({ "request": { "op": "list_orders" } }),
        )
        .expect_err("signed out");
        let err: ApiError = serde_json::from_value(err).unwrap();
        assert!(
            matches!(err, ApiError::Refused { ref code, .. } if code == "signed_out"),
            "{err:?}"
        );
        // There is no session door on the command API any more.
        let err = invoke(
            &webview,
            serde_json::json!({ "request": { "op": "set_session", "user": "boss", "role": "admin" } }),
        )
        .expect_err("no such operation");
        assert!(format!("{err}").contains("set_session"), "{err}");
        let status = invoke_cmd(
            &webview,
            api::account::ACCOUNT_TAURI_COMMAND,
            serde_json::json!({ "request": { "op": "status" } }),
        )
        .expect("status answers");
        assert_eq!(status["state"], "signed_out", "{status}");
        // Working without a server is a choice the account service records.
        let chosen = invoke_cmd(
            &webview,
            api::account::ACCOUNT_TAURI_COMMAND,
            serde_json::json!({ "request": { "op": "work_without_server", "name": "Aino" } }),
        )
        .expect("chosen");
        assert_eq!(chosen["state"], "without_server", "{chosen}");
        assert_eq!(chosen["role"], "admin", "{chosen}");
        assert!(
            dir.path()
                .join(sync_client::account::WITHOUT_SERVER_FILE)
                .exists()
        );
    }

    #[test]
    fn ruta_call_reaches_the_core_and_its_store() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, webview) = app_with_core(dir.path());
        invoke_cmd(
            &webview,
            api::account::ACCOUNT_TAURI_COMMAND,
            serde_json::json!({ "request": { "op": "work_without_server", "name": "Aino" } }),
        )
        .expect("signed in");

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
    fn the_tiles_scheme_answers_404_without_a_basemap_or_for_a_foreign_path() {
        let none = super::tile_response(None, "/14/9326/4741.pbf");
        assert_eq!(none.status(), 404);
        let cors = none.headers().get("access-control-allow-origin");
        assert_eq!(cors.map(|v| v.to_str().unwrap()), Some("*"));
        if let Some(path) = host_runtime::tiles::path_for(&[]) {
            let tiles = host_runtime::tiles::MbTiles::open(&path).unwrap();
            assert_eq!(
                super::tile_response(Some(&tiles), "/index.html").status(),
                404
            );
            // Outside Helsinki: no tile, an empty answer.
            assert_eq!(
                super::tile_response(Some(&tiles), "/14/0/0.pbf").status(),
                204
            );
            let tile = super::tile_response(Some(&tiles), "/14/9326/4741.pbf");
            assert_eq!(tile.status(), 200);
            assert!(
                !tile.body().starts_with(&[0x1f, 0x8b]),
                "served decompressed"
            );
        }
    }

    #[test]
    fn core_errors_come_back_as_typed_values() {
        let dir = tempfile::tempdir().unwrap();
        let (_app, webview) = app_with_core(dir.path());
        invoke_cmd(
            &webview,
            api::account::ACCOUNT_TAURI_COMMAND,
            serde_json::json!({ "request": { "op": "work_without_server", "name": "Aino" } }),
        )
        .expect("signed in");
        let err = invoke(
            &webview,
            serde_json::json!({ "request": { "op": "create_order", "customer_name": "" } }),
        )
        .expect_err("empty name is refused");
        let err: ApiError = serde_json::from_value(err).unwrap();
        assert!(matches!(err, ApiError::Invalid { ref field, .. } if field == "customer_name"));
    }
}

//! The real Tauri binary in a real window (Xvfb), driven through
//! WebKitWebDriver with the `webkitgtk:browserOptions` capability. tauri-driver
//! is deliberately not used: it dropped about one session in eight here, while
//! WebKitWebDriver run directly was reliable (see shared/notes/toolchain.md).

use std::process::Command;
use std::time::Duration;

use app_api::{Request, Response};
use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use ruta_e2e::{Proc, Xvfb, artifacts_dir, binary, free_port, wait_http_ok};

#[tokio::test]
async fn tauri_window_creates_an_order_through_ipc() {
    let app = binary("ruta-app");
    let data = tempfile::tempdir().unwrap();
    // The dispatcher's device already holds the demo orders (real Helsinki
    // addresses), made before; nobody is signed in on it now.
    let seeded = {
        let core = app_core::Core::open(data.path()).unwrap();
        core.set_session("dispatcher", app_api::Role::Dispatcher)
            .unwrap();
        let n = app_core::demo::seed(&core).unwrap();
        core.clear_session().unwrap();
        n
    };
    assert!(seeded > 0);
    // The tenant's server, where an admin issued a code for this dispatcher.
    let server_data = tempfile::tempdir().unwrap();
    ruta_e2e::provision_tenant(server_data.path(), "win", &[("dispatcher", "dispatcher")]);
    let code = ruta_e2e::enrolment_code(server_data.path(), "win", "dispatcher", 30);
    let server = ruta_e2e::SyncServer::start_in("sync-server-window", server_data);
    let xvfb = Xvfb::start();
    let port = free_port();
    let driver = Proc::spawn_group(
        "webkitwebdriver",
        Command::new("WebKitWebDriver")
            .arg(format!("--port={port}"))
            .arg("--host=127.0.0.1")
            .env("DISPLAY", &xvfb.display)
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            .env("RUTA_DATA_DIR", data.path()),
    );
    let webdriver = format!("http://127.0.0.1:{port}");
    assert!(
        wait_http_ok(&format!("{webdriver}/status"), Duration::from_secs(20)).await,
        "WebKitWebDriver did not come up; see artifacts/logs/webkitwebdriver.log"
    );

    let mut caps = serde_json::Map::new();
    caps.insert(
        "webkitgtk:browserOptions".into(),
        serde_json::json!({ "binary": app.to_string_lossy(), "args": [] }),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&webdriver)
        .await
        .expect("WebDriver session with the Ruta app");

    let result = drive(&client, seeded, &server.url, &code).await;
    let screenshot = client.screenshot().await;
    let _ = client.close().await;
    drop(driver); // stops WebKitWebDriver and the app it started (one process group)
    // Saved before judging, so a failure leaves a picture of what the window showed.
    let png = screenshot.expect("screenshot");
    std::fs::write(artifacts_dir().join("window-skeleton.png"), &png).unwrap();
    let (reference, device_id) = result.expect("the window behaves");
    assert_real_screenshot(&png);

    // The window's order went through IPC into the core and its SQLite file.
    let core = app_core::Core::open(data.path()).unwrap();
    let Ok(Response::Orders { orders, .. }) = core.execute(Request::ListOrders(Default::default()))
    else {
        panic!()
    };
    assert_eq!(orders.len(), seeded + 1);
    let orders: Vec<_> = orders
        .into_iter()
        .filter(|o| o.customer_name == "Åsa Window-Test")
        .collect();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].reference, reference);
    assert_eq!(orders[0].customer_name, "Åsa Window-Test");
    assert_eq!(orders[0].created_on, device_id);
    // The token the window's sign-in stored: the owner's only.
    let creds = data.path().join(sync_client::account::CREDENTIALS_FILE);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&creds).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "{}", creds.display());
    let stored = std::fs::read_to_string(&creds).unwrap();
    assert!(
        stored.contains("rt_win_") && !stored.contains(&code),
        "token kept, code not"
    );
}

/// Creates an order in the console, checks the table and the map; returns the created order's reference and the device id shown.
async fn drive(
    client: &fantoccini::Client,
    seeded: usize,
    server: &str,
    code: &str,
) -> Result<(String, String), String> {
    let err = |what: &str| {
        let what = what.to_owned();
        move |e: fantoccini::error::CmdError| format!("{what}: {e}")
    };
    // First start: the sign-in screen. The enrolment code is typed in.
    let field = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#signin-server"))
        .await
        .map_err(err("sign-in screen"))?;
    field
        .send_keys(server)
        .await
        .map_err(err("typing the server"))?;
    client
        .find(Locator::Css("#signin-code"))
        .await
        .map_err(err("code field"))?
        .send_keys(code)
        .await
        .map_err(err("typing the code"))?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let png = client
        .screenshot()
        .await
        .map_err(err("sign-in screenshot"))?;
    std::fs::write(artifacts_dir().join("window-signin.png"), &png).unwrap();
    client
        .find(Locator::Css("#signin-submit"))
        .await
        .map_err(err("sign-in button"))?
        .click()
        .await
        .map_err(err("click sign in"))?;
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#tab-new"))
        .await
        .map_err(err("the console after sign-in"))?;
    let wait = client.wait().at_most(Duration::from_secs(20));
    let device = wait
        .for_element(Locator::Css("#device-id"))
        .await
        .map_err(err("device id"))?;
    let device_id = device.text().await.map_err(err("device id text"))?;
    let transport = client
        .find(Locator::Css("#transport"))
        .await
        .map_err(err("transport"))?;
    let transport = transport.text().await.map_err(err("transport text"))?;
    if transport != "Tauri IPC" {
        return Err(format!(
            "expected the Tauri IPC transport, page says {transport:?}"
        ));
    }
    // OS notifications: the page's `Notification` is the notification
    // plugin's, permitted, and showing one (no notification daemon under
    // Xvfb: it goes nowhere) leaves the window working — the steps below.
    let notified = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            (async () => {
              const plugin = window.__TAURI__ && window.__TAURI__.notification;
              if (!plugin) return done('no notification plugin');
              const granted = await plugin.isPermissionGranted();
              new window.Notification('Ruta', { body: 'An OS notification from the window' });
              done(JSON.stringify({ granted, permission: window.Notification.permission }));
            })().catch((e) => done('error: ' + e));"#,
            vec![],
        )
        .await
        .map_err(err("notification"))?;
    let notified = notified.as_str().unwrap_or_default().to_owned();
    if notified != r#"{"granted":true,"permission":"granted"}"# {
        return Err(format!("OS notifications in the window: {notified}"));
    }
    // The dispatcher console: the form is under "New order".
    client
        .find(Locator::Css("#tab-new"))
        .await
        .map_err(err("new-order tab"))?
        .click()
        .await
        .map_err(err("click tab"))?;
    let name = client
        .find(Locator::Css("#customer-name"))
        .await
        .map_err(err("name input"))?;
    name.send_keys("Åsa Window-Test")
        .await
        .map_err(err("typing"))?;
    for (field, text) in [
        ("#pickup-address", "Kalevankatu 6"),
        ("#dropoff-address", "Yrjönkatu 21"),
    ] {
        let input = client.find(Locator::Css(field)).await.map_err(err(field))?;
        input
            .send_keys(text)
            .await
            .map_err(err("typing an address"))?;
    }
    client
        .find(Locator::Css("#create-order"))
        .await
        .map_err(err("button"))?
        .click()
        .await
        .map_err(err("click"))?;
    let row = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(
            "//div[contains(@class,'order')][contains(., 'Åsa Window-Test')]",
        ))
        .await
        .map_err(err("order row"))?;
    let reference = row
        .find(Locator::Css(".ref"))
        .await
        .map_err(err("ref"))?
        .text()
        .await
        .map_err(err("ref text"))?;
    let count = client
        .find(Locator::Css("#order-count"))
        .await
        .map_err(err("count"))?
        .text()
        .await
        .map_err(err("count text"))?;
    if count.parse::<usize>().ok() != Some(seeded + 1) {
        return Err(format!(
            "order count shows {count:?}, expected {}",
            seeded + 1
        ));
    }
    let rows = client
        .find_all(Locator::Css(".vt-row.order"))
        .await
        .map_err(err("table rows"))?;
    if rows.len() != seeded + 1 {
        return Err(format!(
            "the table shows {} rows, expected {}",
            rows.len(),
            seeded + 1
        ));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let table = client.screenshot().await.map_err(err("table screenshot"))?;
    std::fs::write(artifacts_dir().join("window-table.png"), &table).unwrap();

    // The map: the offline basemap through the rutatiles scheme, with the orders.
    client
        .find(Locator::Css("#tab-map"))
        .await
        .map_err(err("map tab"))?
        .click()
        .await
        .map_err(err("click map tab"))?;
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#map canvas.maplibregl-canvas"))
        .await
        .map_err(err("map canvas"))?;
    let mut on_map = String::new();
    for _ in 0..40 {
        on_map = client
            .find(Locator::Css("#map-count"))
            .await
            .map_err(err("map count"))?
            .text()
            .await
            .map_err(err("map count text"))?;
        if on_map.starts_with(&format!("{seeded} orders on the map")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    if !on_map.starts_with(&format!("{seeded} orders on the map")) {
        return Err(format!(
            "map says {on_map:?}, expected the {seeded} seeded orders"
        ));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let map = client.screenshot().await.map_err(err("map screenshot"))?;
    std::fs::write(artifacts_dir().join("window-map.png"), &map).unwrap();
    client
        .find(Locator::Css("#tab-orders"))
        .await
        .map_err(err("orders tab"))?
        .click()
        .await
        .map_err(err("click orders tab"))?;
    // A screenshot right after a DOM change can show the previous frame.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok((reference, device_id))
}

/// Decodes a PNG screenshot and checks it shows a rendered page, not a blank frame.
pub fn assert_real_screenshot(png: &[u8]) {
    let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .expect("screenshot decodes as PNG")
        .to_rgb8();
    assert!(
        img.width() >= 300 && img.height() >= 300,
        "size {}x{}",
        img.width(),
        img.height()
    );
    let mut colours = std::collections::HashSet::new();
    for p in img.pixels().step_by(7) {
        colours.insert(p.0);
        if colours.len() > 50 {
            break;
        }
    }
    assert!(
        colours.len() > 50,
        "screenshot looks blank ({} colours)",
        colours.len()
    );
    // The brand bar (#0b7a75) is on screen.
    let brand = img.pixels().filter(|p| p.0 == [0x0b, 0x7a, 0x75]).count();
    assert!(
        brand > 1000,
        "brand header not visible ({brand} brand pixels)"
    );
}

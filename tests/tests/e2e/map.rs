//! The map view's module (`app-ui/map.js`, MapLibre GL JS) in a real browser over the
//! offline basemap: a device host serving `data/tiles/helsinki.mbtiles` (made by
//! `scripts/make-tiles.sh`, which `scripts/setup.sh` runs) and `tests/browser/map.mjs`
//! checking from the canvas that streets are drawn, orders and couriers shown, the
//! attribution present, clicks and the zone filter working.

use std::process::Command;

use ruta_e2e::{DeviceHost, artifacts_dir, workspace_root};

#[tokio::test]
async fn map_draws_real_streets_from_the_offline_tiles_with_orders_and_couriers() {
    let tiles = workspace_root().join("data/tiles/helsinki.mbtiles");
    assert!(
        tiles.is_file(),
        "{} is missing: run scripts/setup.sh (it fetches the OSM extract and runs \
         scripts/make-tiles.sh)",
        tiles.display()
    );
    let host = DeviceHost::start_with_env(
        "device-map",
        tempfile::tempdir().unwrap(),
        &[("RUTA_TILES", tiles.as_os_str())],
    );

    // The tile route itself: a tile inside the extract, gzip as stored; none outside it.
    let client = reqwest::Client::new();
    let inside = client
        .get(format!("{}/tiles/14/9326/4741.pbf", host.url))
        .send()
        .await
        .unwrap();
    assert_eq!(inside.status(), 200);
    assert_eq!(inside.headers()["content-encoding"], "gzip");
    assert!(!inside.bytes().await.unwrap().is_empty());
    let outside = client
        .get(format!("{}/tiles/14/0/0.pbf", host.url))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), 204);

    let screenshot = artifacts_dir().join("map.png");
    let _ = std::fs::remove_file(&screenshot);
    let url = format!("{}/", host.url);
    let shot = screenshot.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(workspace_root().join("tests/browser/map.mjs"))
            .arg(&url)
            .arg(&shot)
            .current_dir(workspace_root())
            .output()
            .expect("node runs (installed by scripts/setup.sh)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "map browser script failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let seen: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("JSON result line");
    assert!(seen["roadFeatures"].as_u64().unwrap() >= 50, "{seen}");
    assert_eq!(seen["orders"], 8, "{seen}");
    assert_eq!(seen["selected"][0][1], "aki", "{seen}");

    // The screenshot file itself: many colours, and major streets' yellow (#fcd34d, #fde68a
    // in map.js, tinted where a zone's translucent fill covers them) over a good part of it.
    let img = image::load_from_memory_with_format(
        &std::fs::read(&screenshot).unwrap(),
        image::ImageFormat::Png,
    )
    .expect("screenshot decodes as PNG")
    .to_rgb8();
    let colours: std::collections::HashSet<_> = img.pixels().map(|p| p.0).collect();
    assert!(colours.len() > 200, "{} colours", colours.len());
    let yellow = img
        .pixels()
        .filter(|p| {
            let [r, g, b] = p.0;
            r > 220 && g > 180 && b < 170 && r - b > 70
        })
        .count();
    assert!(yellow > 2000, "{yellow} street-yellow pixels");
}

//! CSV import throughput: 100,000 orders into a fresh store through
//! `Core::import_orders_csv` (parse, check every row, write in chunks).
//!
//! ```text
//! cargo bench -p app-core --bench csv_import      # RUTA_BENCH_ROWS=100000
//! ```

use std::time::Instant;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rows: usize = std::env::var("RUTA_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut csv = String::from(
        "customer_name,pickup_address,dropoff_address,pickup_lat,pickup_lon,dropoff_lat,dropoff_lon,parcels,weight_g,cod,priority,window_start,window_end,notes\n",
    );
    for k in 0..rows {
        csv.push_str(&format!(
            "Asiakas {k} Öhman,Kaivokatu {},\"Bulevardi {}, A {}\",60.1710,24.9414,{:.5},{:.5},{},{},{},{},2026-11-22T10:00:00+02:00,2026-11-22T18:00:00+02:00,Ovikoodi {}\n",
            k % 40,
            k % 90,
            k % 7,
            60.160 + (k % 100) as f64 * 0.0002,
            24.930 + (k % 77) as f64 * 0.0003,
            1 + k % 3,
            500 + k % 4000,
            if k % 10 == 0 { "12.50" } else { "" },
            ["low", "normal", "high", "urgent"][k % 4],
            k % 9999,
        ));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let core = app_core::Core::open(dir.path()).expect("open store");
    core.set_session("bench-dispatcher", app_core::api::Role::Dispatcher)
        .expect("session");
    let t = Instant::now();
    let report = core
        .import_orders_csv(csv.as_bytes(), false)
        .expect("import");
    let ms = t.elapsed().as_secs_f64() * 1e3;
    assert!(report.committed, "{:?}", report.problems.first());
    assert_eq!(report.imported, rows as u64);
    println!(
        "csv import: {rows} rows, {:.1} MB, {ms:.0} ms total ({:.1} µs per order, {:.0} orders/s)",
        csv.len() as f64 / 1e6,
        ms * 1e3 / rows as f64,
        rows as f64 / (ms / 1e3)
    );
}

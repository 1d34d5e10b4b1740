//! Crash safety: a writer killed with SIGKILL at random points loses no
//! committed change and leaves a store that opens, passes SQLite's integrity
//! check, and whose query tables match a rebuild from its documents.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use app_api::{OrderQuery, Request, Response};
use app_core::domain::OrderId;
use ruta_e2e::binary;

/// A small deterministic generator, seeded per run and printed on failure.
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

#[test]
fn sigkill_mid_write_loses_no_committed_change() {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let first_seed = seed;
    let dir = tempfile::tempdir().unwrap();
    let mut committed: std::collections::HashMap<String, usize> = Default::default();
    let rounds = 6;
    for round in 0..rounds {
        let wait_lines = 1 + lcg(&mut seed) % 120;
        let extra_us = lcg(&mut seed) % 3_000;
        let mut child = Command::new(binary("ruta-device"))
            .args(["write-load", "--data"])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for _ in 0..wait_lines {
            let Some(Ok(line)) = lines.next() else { break };
            let mut parts = line.split_whitespace().skip(1);
            let (Some(order), Some(events)) = (parts.next(), parts.next()) else {
                continue;
            };
            committed.insert(order.to_owned(), events.parse().unwrap());
        }
        // Land the kill somewhere inside the next write.
        std::thread::sleep(Duration::from_micros(extra_us));
        child.kill().unwrap();
        child.wait().unwrap();
        drop(lines);

        let ctx =
            format!("round {round}, seed {first_seed}, after {wait_lines} commits + {extra_us} us");
        let core = app_core::Core::open(dir.path())
            .unwrap_or_else(|e| panic!("{ctx}: store does not open: {e}"));
        for (order, events) in &committed {
            let state = core
                .order_state(&OrderId::new(order.clone()))
                .unwrap_or_else(|e| panic!("{ctx}: committed order {order} lost: {e}"));
            assert!(
                state.timeline.len() >= *events,
                "{ctx}: order {order} lost events"
            );
        }
        let conn = rusqlite_check(dir.path());
        assert_eq!(conn, "ok", "{ctx}: integrity check");
        let list = |core: &app_core::Core| match core
            .execute(Request::ListOrders(OrderQuery {
                limit: 1000,
                ..Default::default()
            }))
            .unwrap()
        {
            Response::Orders { orders, .. } => orders,
            other => panic!("{other:?}"),
        };
        let before = list(&core);
        assert_eq!(
            before.len(),
            core.doc_ids().unwrap().len(),
            "{ctx}: every document is listed"
        );
        core.rebuild_projection().unwrap();
        assert_eq!(
            list(&core),
            before,
            "{ctx}: projection matches its documents"
        );
    }
    assert!(!committed.is_empty());
}

/// SQLite's own verdict on the file, through the sqlite3 in the core's store.
fn rusqlite_check(dir: &std::path::Path) -> String {
    app_core::store::integrity_check(&dir.join(app_core::store::STORE_FILE)).unwrap()
}

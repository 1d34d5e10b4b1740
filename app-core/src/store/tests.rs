//! Store tests: device ids, schema versions and migrations, references, and
//! the search queries the table sends.

use super::query::{fts_query, reference_prefix};
use super::*;

#[test]
fn device_id_survives_reopen_and_differs_between_stores() {
    let dir = tempfile::tempdir().unwrap();
    let first = LocalStore::open_in_dir(dir.path())
        .unwrap()
        .device_id()
        .clone();
    let again = LocalStore::open_in_dir(dir.path())
        .unwrap()
        .device_id()
        .clone();
    assert_eq!(first, again);
    let other_dir = tempfile::tempdir().unwrap();
    assert_ne!(
        &first,
        LocalStore::open_in_dir(other_dir.path())
            .unwrap()
            .device_id()
    );
}

#[test]
fn store_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STORE_FILE);
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 5)
        .unwrap();
    let err = LocalStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    assert!(err.to_string().contains("newer than this build"));
}

#[test]
fn a_file_that_is_not_sqlite_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STORE_FILE);
    std::fs::write(
        &path,
        b"PK\x03\x04 this is a zip file, not a database at all........",
    )
    .unwrap();
    let err = LocalStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase(_)), "{err}");
    assert!(err.to_string().contains("not a Ruta store"), "{err}");
}

#[test]
fn a_version_3_store_keeps_its_timeline_and_search_after_migrating() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(STORE_FILE);
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            "PRAGMA user_version = 3;
             INSERT INTO orders VALUES ('o1', 'R-AAAA-0001', 'on_demand', 'internal', 1,
                 'pending', NULL, NULL, 'Kalle Öhman', NULL, 'Kaivokatu 1', 'Bulevardi 2',
                 9223372036854775807, 100, 0, 0, 1, '1', 1, 'd', '', '', '[]');
             INSERT INTO timeline VALUES ('o1', 'e1', 1, 'created', 'u', 'dispatcher', 'd',
                 'applied', NULL, '{}');",
        )
        .unwrap();
    }
    let store = LocalStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let (_, timeline, ..) = store.order_detail("o1").unwrap().unwrap();
    assert_eq!(timeline.len(), 1);
    let q = |search: &str| OrderQuery {
        search: Some(search.into()),
        ..Default::default()
    };
    assert_eq!(
        store.query_orders(&q("öhman")).unwrap().1,
        1,
        "indexed by the old trigger"
    );
}

#[test]
fn references_are_sequential_per_device() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = LocalStore::open_in_dir(dir.path()).unwrap();
    let tx = store.write().unwrap();
    let r1 = tx.next_order_reference().unwrap();
    let r2 = tx.next_order_reference().unwrap();
    tx.commit().unwrap();
    assert!(r1.ends_with("-0001") && r2.ends_with("-0002"), "{r1} {r2}");
}

#[test]
fn references_are_searched_by_prefix_on_their_index() {
    assert_eq!(reference_prefix("r-3f2a").as_deref(), Some("R-3F2A"));
    assert_eq!(
        reference_prefix("R-3F2A-0001").as_deref(),
        Some("R-3F2A-0001")
    );
    assert_eq!(reference_prefix("Rautatientori"), None);
    assert_eq!(reference_prefix("R-"), None);
}

#[test]
fn fts_queries_are_sanitised_prefixes() {
    assert_eq!(fts_query("Mäk  R 3F").as_deref(), Some("\"Mäk\"* \"3F\"*"));
    assert_eq!(
        fts_query("a").as_deref(),
        Some("\"a\"*"),
        "a lone short word is kept"
    );
    assert_eq!(
        fts_query("\"; DROP TABLE orders; --"),
        Some("\"DROP\"* \"TABLE\"* \"orders\"*".into())
    );
    assert_eq!(fts_query("  -- "), None);
}

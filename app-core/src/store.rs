//! The device's local store: one SQLite file in WAL mode.
//!
//! It is the local truth of a device: everything the user does is written here
//! first, with no network involved. Schema changes are forward-only migrations
//! keyed by `PRAGMA user_version`; a store written by a newer build is refused
//! rather than silently misread.

use std::path::Path;

use app_api::{DeliveryStatus, OrderSummary};
use rusqlite::{Connection, OptionalExtension, params};

/// File name of the store inside a device's data directory.
pub const STORE_FILE: &str = "ruta-device.sqlite3";

/// Forward-only migrations; entry `i` moves the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: device identity and a first orders table.
    "CREATE TABLE meta (
         key   TEXT PRIMARY KEY,
         value TEXT NOT NULL
     ) STRICT;
     CREATE TABLE orders (
         id              TEXT PRIMARY KEY,
         reference       TEXT NOT NULL UNIQUE,
         customer_name   TEXT NOT NULL,
         pickup_address  TEXT NOT NULL,
         dropoff_address TEXT NOT NULL,
         status          TEXT NOT NULL,
         created_at_ms   INTEGER NOT NULL,
         created_on      TEXT NOT NULL
     ) STRICT;
     CREATE INDEX orders_by_created ON orders (created_at_ms DESC);",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the store has schema version {found}, newer than this build knows ({known}); \
         upgrade Ruta instead of opening it with an older version"
    )]
    TooNew { found: u32, known: u32 },
    #[error("the store holds an unknown delivery status {0:?}")]
    UnknownStatus(String),
}

/// A device's local SQLite store.
#[derive(Debug)]
pub struct LocalStore {
    conn: Connection,
    device_id: String,
}

impl LocalStore {
    /// Opens (creating if needed) the store in `dir`, migrating it to [`SCHEMA_VERSION`].
    pub fn open_in_dir(dir: &Path) -> Result<Self, StoreError> {
        Self::open(&dir.join(STORE_FILE))
    }

    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        let device_id = ensure_device_id(&conn)?;
        Ok(Self { conn, device_id })
    }

    /// The id this store was given when it was created; it never changes.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    pub fn order_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))?)
    }

    /// Allocates the next per-device order reference, e.g. `R-3F2A-0007`.
    pub fn next_order_reference(&mut self) -> Result<String, StoreError> {
        let tx = self.conn.transaction()?;
        let last: Option<String> = tx
            .query_row("SELECT value FROM meta WHERE key = 'order_seq'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let next = last.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) + 1;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('order_seq', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![next.to_string()],
        )?;
        tx.commit()?;
        let short: String = self
            .device_id
            .chars()
            .take(4)
            .collect::<String>()
            .to_uppercase();
        Ok(format!("R-{short}-{next:04}"))
    }

    pub fn insert_order(&mut self, order: &OrderSummary) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO orders (id, reference, customer_name, pickup_address, dropoff_address,
                                 status, created_at_ms, created_on)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                order.id,
                order.reference,
                order.customer_name,
                order.pickup_address,
                order.dropoff_address,
                status_to_str(order.status),
                order.created_at_ms,
                order.created_on,
            ],
        )?;
        Ok(())
    }

    /// All orders, newest first.
    pub fn list_orders(&self) -> Result<Vec<OrderSummary>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, reference, customer_name, pickup_address, dropoff_address, status,
                    created_at_ms, created_on
             FROM orders ORDER BY created_at_ms DESC, reference DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                OrderSummary {
                    id: r.get(0)?,
                    reference: r.get(1)?,
                    customer_name: r.get(2)?,
                    pickup_address: r.get(3)?,
                    dropoff_address: r.get(4)?,
                    status: DeliveryStatus::Pending,
                    created_at_ms: r.get(6)?,
                    created_on: r.get(7)?,
                },
                r.get::<_, String>(5)?,
            ))
        })?;
        rows.map(|row| {
            let (mut order, status) = row?;
            order.status = status_from_str(&status)?;
            Ok(order)
        })
        .collect()
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", from as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

fn ensure_device_id(conn: &Connection) -> Result<String, StoreError> {
    let fresh = uuid::Uuid::new_v4().simple().to_string();
    // INSERT OR IGNORE keeps the first id even if two processes race on a new file.
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('device_id', ?1)",
        params![fresh],
    )?;
    Ok(
        conn.query_row("SELECT value FROM meta WHERE key = 'device_id'", [], |r| {
            r.get(0)
        })?,
    )
}

fn status_to_str(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Pending => "pending",
        DeliveryStatus::Assigned => "assigned",
        DeliveryStatus::PickedUp => "picked_up",
        DeliveryStatus::InTransit => "in_transit",
        DeliveryStatus::AttemptFailed => "attempt_failed",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Cancelled => "cancelled",
        DeliveryStatus::Returned => "returned",
    }
}

fn status_from_str(s: &str) -> Result<DeliveryStatus, StoreError> {
    Ok(match s {
        "pending" => DeliveryStatus::Pending,
        "assigned" => DeliveryStatus::Assigned,
        "picked_up" => DeliveryStatus::PickedUp,
        "in_transit" => DeliveryStatus::InTransit,
        "attempt_failed" => DeliveryStatus::AttemptFailed,
        "delivered" => DeliveryStatus::Delivered,
        "cancelled" => DeliveryStatus::Cancelled,
        "returned" => DeliveryStatus::Returned,
        other => return Err(StoreError::UnknownStatus(other.to_owned())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(store: &mut LocalStore, name: &str, at: i64) -> OrderSummary {
        OrderSummary {
            id: uuid::Uuid::new_v4().to_string(),
            reference: store.next_order_reference().unwrap(),
            customer_name: name.into(),
            pickup_address: "Kauppatori".into(),
            dropoff_address: "Kamppi".into(),
            status: DeliveryStatus::Pending,
            created_at_ms: at,
            created_on: store.device_id().to_owned(),
        }
    }

    #[test]
    fn device_id_survives_reopen_and_differs_between_stores() {
        let dir = tempfile::tempdir().unwrap();
        let first = LocalStore::open_in_dir(dir.path())
            .unwrap()
            .device_id()
            .to_owned();
        let again = LocalStore::open_in_dir(dir.path())
            .unwrap()
            .device_id()
            .to_owned();
        assert_eq!(first, again);
        let other_dir = tempfile::tempdir().unwrap();
        let other = LocalStore::open_in_dir(other_dir.path()).unwrap();
        assert_ne!(first, other.device_id());
    }

    #[test]
    fn orders_persist_in_a_real_file_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = LocalStore::open_in_dir(dir.path()).unwrap();
            let a = order(&mut store, "Aino", 10);
            let b = order(&mut store, "Björn", 20);
            store.insert_order(&a).unwrap();
            store.insert_order(&b).unwrap();
        }
        let store = LocalStore::open_in_dir(dir.path()).unwrap();
        let names: Vec<_> = store
            .list_orders()
            .unwrap()
            .into_iter()
            .map(|o| o.customer_name)
            .collect();
        assert_eq!(names, ["Björn", "Aino"]);
        assert_eq!(store.order_count().unwrap(), 2);
        assert!(dir.path().join(STORE_FILE).metadata().unwrap().len() > 0);
    }

    #[test]
    fn references_are_sequential_per_device() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = LocalStore::open_in_dir(dir.path()).unwrap();
        let r1 = store.next_order_reference().unwrap();
        let r2 = store.next_order_reference().unwrap();
        assert!(r1.ends_with("-0001"), "{r1}");
        assert!(r2.ends_with("-0002"), "{r2}");
        assert_eq!(r1[..6], r2[..6]);
    }

    #[test]
    fn store_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STORE_FILE);
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
                .unwrap();
        }
        let err = LocalStore::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
        assert!(err.to_string().contains("newer than this build"));
    }

    #[test]
    fn unknown_status_in_the_file_is_an_error_not_a_default() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = LocalStore::open_in_dir(dir.path()).unwrap();
        let o = order(&mut store, "Aino", 1);
        store.insert_order(&o).unwrap();
        store
            .conn
            .execute("UPDATE orders SET status = 'teleported'", [])
            .unwrap();
        let err = store.list_orders().unwrap_err();
        assert!(err.to_string().contains("teleported"), "{err}");
    }
}

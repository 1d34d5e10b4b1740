//! The device's local store: one SQLite file in WAL mode.
//!
//! It holds the shared documents (a compacted Automerge snapshot per order plus
//! the incremental changes saved since) and, written in the same transaction,
//! query tables projected from them: `orders` (the dispatcher table and courier
//! queue, indexed for their filters and sorts, with an FTS5 index over reference,
//! customer and addresses), `timeline` and `conflicts`. The projection is a cache:
//! [`Tx::clear_projection`] plus re-deriving every document rebuilds it.
//!
//! Schema changes are forward-only migrations keyed by `PRAGMA user_version`; a
//! store written by a newer build is refused rather than misread, and a file
//! that is not SQLite is reported as such.

use std::path::Path;

use app_api::{
    ConflictItem, DeliveryStatus, OrderQuery, OrderSummary, Priority, SortKey, TimelineItem,
};
use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};

pub use ruta_domain::enum_str;

use crate::domain::DeviceId;
use crate::hlc::Hlc;
use crate::lifecycle::{OrderState, Verdict};
use crate::order_doc::{DocError, OrderDoc};

mod cash;
mod chats;
mod migrations;
mod projection;
mod query;
mod sessions;
mod tickets;
mod trips;
mod waybills;
pub use cash::{CashRow, CollectionRow};
pub use chats::{ChatRow, RecentEvent};
pub use sessions::SessionRow;
pub use tickets::{TicketFilter, TicketRow};
pub use trips::TripRow;
pub use waybills::WaybillRow;

pub use migrations::integrity_check;
use migrations::*;
pub use projection::Projection;

/// File name of the store inside a device's data directory.
pub const STORE_FILE: &str = "ruta-device.sqlite3";

/// A saved document: its snapshot and the incremental changes saved after it.
pub type SavedDoc = (Vec<u8>, Vec<Vec<u8>>);

/// Incremental changes kept per document before it is compacted into one snapshot.
pub const COMPACT_AFTER: i64 = 32;

/// `window_end_ms` of an order without a drop-off window: sorts after every real window.
pub const NO_WINDOW: i64 = i64::MAX;

/// Counting stops here: "10,000+" is as useful to a dispatcher as the exact number,
/// and counting 60k matches costs more than the page itself.
pub const COUNT_CAP: u64 = 10_000;

/// A search considers at most this many best (newest) text matches.
pub const SEARCH_CAP: u64 = 2_000;

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0} is not a Ruta store (not an SQLite database, or damaged)")]
    NotADatabase(String),
    #[error(
        "the store has schema version {found}, newer than this build knows ({known}); \
         upgrade Ruta instead of opening it with an older version"
    )]
    TooNew { found: u32, known: u32 },
    #[error("the store holds an unknown {what} {value:?}")]
    Unknown { what: &'static str, value: String },
}

/// A device's local SQLite store.
#[derive(Debug)]
pub struct LocalStore {
    conn: Connection,
    device_id: DeviceId,
    commits: u32,
}

impl LocalStore {
    /// Opens (creating if needed) the store in `dir`, migrating it to [`SCHEMA_VERSION`].
    pub fn open_in_dir(dir: &Path) -> Result<Self, StoreError> {
        Self::open(&dir.join(STORE_FILE))
    }

    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path)?;
        let not_db = |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => {
                StoreError::NotADatabase(path.display().to_string())
            }
            _ => StoreError::Sqlite(e),
        };
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(not_db)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 32 MiB of page cache (default 2): the dispatcher table at 100k orders
        // touches index and table pages all over the file.
        conn.pragma_update(None, "cache_size", -32_768)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        analyze_if_grown(&conn)?;
        let device_id = ensure_device_id(&conn)?;
        Ok(Self {
            conn,
            device_id,
            commits: 0,
        })
    }

    /// Removes everything this store holds and gives it a new device id: what
    /// "forget this device" does (the caller has made sure nothing is lost).
    pub fn wipe(&mut self) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "foreign_keys", "OFF")?;
        let tx = self.conn.transaction()?;
        let tables: Vec<String> = tx
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table'
                 AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'orders_fts%'",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for table in tables {
            // Deleting orders clears the full-text index through its trigger.
            tx.execute(&format!("DELETE FROM \"{table}\""), [])?;
        }
        tx.execute("INSERT INTO orders_fts (orders_fts) VALUES ('rebuild')", [])?;
        tx.commit()?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        // The old rows leave the file, not only the tables.
        self.conn.execute_batch("VACUUM")?;
        self.device_id = ensure_device_id(&self.conn)?;
        Ok(())
    }

    /// The id this store was given when it was created; it never changes
    /// (until [`LocalStore::wipe`]).
    pub fn device_id(&self) -> &DeviceId {
        &self.device_id
    }

    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`: one writer at a time,
    /// also across processes).
    pub fn write(&mut self) -> Result<Tx<'_>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        Ok(Tx {
            tx,
            device: &self.device_id,
        })
    }

    /// Call after each committed write: every 1,000 commits the planner's
    /// statistics are refreshed if the store has grown (see `analyze_if_grown`).
    pub fn after_commit(&mut self) -> Result<(), StoreError> {
        self.commits = self.commits.wrapping_add(1);
        if self.commits.is_multiple_of(1_000) {
            analyze_if_grown(&self.conn)?;
        }
        Ok(())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }
}

/// A write transaction: documents and their projection change together or not at all.
pub struct Tx<'a> {
    tx: Transaction<'a>,
    device: &'a DeviceId,
}

impl Tx<'_> {
    pub fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit()?)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .tx
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Marks a local write of `order` not yet confirmed by the server (keeps
    /// the earliest time if already pending).
    pub fn mark_pending(&self, order: &str, now_ms: i64) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO sync_state (order_id, pending_since_ms, writes) VALUES (?1, ?2, 1)
                 ON CONFLICT (order_id) DO UPDATE
                 SET pending_since_ms = coalesce(pending_since_ms, excluded.pending_since_ms),
                     writes = writes + 1",
            )?
            .execute(rusqlite::params![order, now_ms])?;
        Ok(())
    }

    /// Marks `order` synced if its local write count is still `writes` (no
    /// local write since the state the server confirmed); returns whether it did.
    pub fn mark_synced_at(
        &self,
        order: &str,
        writes: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let n = self
            .tx
            .prepare_cached(
                "UPDATE sync_state SET pending_since_ms = NULL, synced_at_ms = ?3
                 WHERE order_id = ?1 AND writes = ?2",
            )?
            .execute(rusqlite::params![order, writes, now_ms])?;
        Ok(n == 1)
    }

    /// The projected proofs of `order` (JSON, as [`Tx::project`] wrote them).
    pub fn projected_pods(&self, order: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .tx
            .prepare_cached("SELECT pods FROM orders WHERE id = ?1")?
            .query_row([order], |r| r.get(0))
            .optional()?)
    }

    pub fn delete_meta(&self, key: &str) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM meta WHERE key = ?1", [key])?;
        Ok(())
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// The drop-off ETAs of `courier`'s latest plan (replacing their previous
    /// plan's): what late risk is judged by.
    pub fn set_plan_etas(
        &self,
        courier: &str,
        etas: &[(String, i64)],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM plan_eta WHERE courier = ?1", [courier])?;
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO plan_eta (order_id, courier, eta_ms, planned_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (order_id) DO UPDATE SET courier = excluded.courier,
                 eta_ms = excluded.eta_ms, planned_ms = excluded.planned_ms",
        )?;
        for (order, eta) in etas {
            stmt.execute(params![order, courier, eta, now_ms])?;
        }
        Ok(())
    }

    /// The last HLC stamp this device issued or observed.
    pub fn last_hlc(&self) -> Result<Option<Hlc>, StoreError> {
        Ok(self.meta("hlc")?.and_then(|s| s.parse().ok()))
    }

    /// Allocates the next per-device order reference, e.g. `R-3F2A-0007`.
    pub fn next_order_reference(&self) -> Result<String, StoreError> {
        let mut refs = self.next_order_references(1)?;
        Ok(refs.remove(0))
    }

    /// Allocates the next `n` per-device order references at once (a bulk import).
    pub fn next_order_references(&self, n: usize) -> Result<Vec<String>, StoreError> {
        let last = self
            .meta("order_seq")?
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        self.set_meta("order_seq", &(last + n as u64).to_string())?;
        let short: String = self
            .device
            .as_str()
            .chars()
            .take(4)
            .collect::<String>()
            .to_uppercase();
        Ok((last + 1..=last + n as u64)
            .map(|next| format!("R-{short}-{next:04}"))
            .collect())
    }

    pub fn load_doc(&self, id: &str) -> Result<Option<SavedDoc>, StoreError> {
        load_doc(&self.tx, id)
    }

    /// Loads an order's document as this device's replica of it.
    pub fn load_order(&self, id: &str) -> Result<Option<Result<OrderDoc, DocError>>, StoreError> {
        Ok(self
            .load_doc(id)?
            .map(|(snapshot, changes)| OrderDoc::load(&snapshot, &changes, self.device)))
    }

    /// Saves an order's document: only what changed since `before` when it was
    /// already stored, compacted into one snapshot once it has more than
    /// [`COMPACT_AFTER`] changes; the whole of it when it is new (`before` is
    /// `None`). The one place that decides when a document is compacted.
    pub fn save_order(
        &self,
        id: &str,
        doc: &mut OrderDoc,
        before: Option<&[automerge::ChangeHash]>,
    ) -> Result<(), StoreError> {
        let compact = match before {
            Some(heads) => self.put_change(id, &doc.save_after(heads))? > COMPACT_AFTER,
            None => true,
        };
        if compact {
            self.put_snapshot(id, "order", &doc.save())?;
        }
        Ok(())
    }

    /// Saves a whole document, replacing its snapshot and dropping its changes.
    pub fn put_snapshot(&self, id: &str, kind: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO docs (id, kind, snapshot, changes) VALUES (?1, ?2, ?3, 0)
             ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot, changes = 0",
            params![id, kind, bytes],
        )?;
        self.tx
            .execute("DELETE FROM doc_changes WHERE doc_id = ?1", [id])?;
        Ok(())
    }

    /// Saves the first snapshot of a new document (fails if `id` is already stored).
    pub fn put_new_snapshot(&self, id: &str, kind: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO docs (id, kind, snapshot, changes) VALUES (?1, ?2, ?3, 0)",
            )?
            .execute(params![id, kind, bytes])?;
        Ok(())
    }

    /// Appends incremental changes to a saved document. Returns how many changes
    /// it now has since its snapshot (the caller compacts past [`COMPACT_AFTER`]).
    pub fn put_change(&self, id: &str, bytes: &[u8]) -> Result<i64, StoreError> {
        let n: i64 = self.tx.query_row(
            "UPDATE docs SET changes = changes + 1 WHERE id = ?1 RETURNING changes",
            [id],
            |r| r.get(0),
        )?;
        self.tx.execute(
            "INSERT INTO doc_changes (doc_id, seq, data) VALUES (?1, ?2, ?3)",
            params![id, n, bytes],
        )?;
        Ok(n)
    }
}

fn load_doc(conn: &Connection, id: &str) -> Result<Option<SavedDoc>, StoreError> {
    let snapshot: Option<Vec<u8>> = conn
        .prepare_cached("SELECT snapshot FROM docs WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    let Some(snapshot) = snapshot else {
        return Ok(None);
    };
    let mut stmt =
        conn.prepare_cached("SELECT data FROM doc_changes WHERE doc_id = ?1 ORDER BY seq")?;
    let changes = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Some((snapshot, changes)))
}

fn parse_enum<T: serde::de::DeserializeOwned>(
    what: &'static str,
    s: &str,
) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
        StoreError::Unknown {
            what,
            value: s.to_owned(),
        }
    })
}

/// (courier, status, orders, of them updated recently).
pub type WorkloadRow = (String, DeliveryStatus, u32, u32);

fn status_str(status: DeliveryStatus) -> String {
    enum_str(&status)
}

fn priority_num(p: Priority) -> u8 {
    match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Urgent => 3,
    }
}

#[cfg(test)]
mod tests;

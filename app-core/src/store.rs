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

/// File name of the store inside a device's data directory.
pub const STORE_FILE: &str = "ruta-device.sqlite3";

/// A saved document: its snapshot and the incremental changes saved after it.
pub type SavedDoc = (Vec<u8>, Vec<Vec<u8>>);

/// Incremental changes kept per document before it is compacted into one snapshot.
pub const COMPACT_AFTER: i64 = 32;

/// Forward-only migrations; entry `i` moves the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: device identity and the walking skeleton's orders table.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
     CREATE TABLE orders (
         id TEXT PRIMARY KEY, reference TEXT NOT NULL UNIQUE, customer_name TEXT NOT NULL,
         pickup_address TEXT NOT NULL, dropoff_address TEXT NOT NULL, status TEXT NOT NULL,
         created_at_ms INTEGER NOT NULL, created_on TEXT NOT NULL
     ) STRICT;
     CREATE INDEX orders_by_created ON orders (created_at_ms DESC);",
    // 2: orders become documents; the old table is kept aside for import.
    "ALTER TABLE orders RENAME TO skeleton_orders;
     DROP INDEX orders_by_created;
     CREATE TABLE docs (
         id       TEXT PRIMARY KEY,
         kind     TEXT NOT NULL,
         snapshot BLOB NOT NULL,
         changes  INTEGER NOT NULL DEFAULT 0
     ) STRICT;
     CREATE TABLE doc_changes (
         doc_id TEXT NOT NULL,
         seq    INTEGER NOT NULL,
         data   BLOB NOT NULL,
         PRIMARY KEY (doc_id, seq)
     ) STRICT, WITHOUT ROWID;
     CREATE TABLE orders (
         id TEXT PRIMARY KEY,
         reference TEXT NOT NULL,
         order_type TEXT NOT NULL,
         carrier TEXT NOT NULL,
         priority INTEGER NOT NULL,
         status TEXT NOT NULL,
         assignee TEXT,
         zone TEXT,
         customer_name TEXT NOT NULL,
         client TEXT,
         pickup_text TEXT NOT NULL,
         dropoff_text TEXT NOT NULL,
         window_end_ms INTEGER NOT NULL, -- NO_WINDOW when the order has none
         price_cents INTEGER NOT NULL,
         cod_cents INTEGER NOT NULL,
         open_conflicts INTEGER NOT NULL,
         created_ms INTEGER NOT NULL,
         created_hlc TEXT NOT NULL, -- unique: the tie-breaker of every sort
         updated_ms INTEGER NOT NULL,
         created_on TEXT NOT NULL,
         notes TEXT NOT NULL,
         instructions TEXT NOT NULL,
         pods TEXT NOT NULL
     ) STRICT;
     -- Every sort key has an index, plain and behind status (the filter nearly every
     -- dispatcher view has), ending in created_hlc so ORDER BY ... LIMIT walks an index
     -- instead of sorting all matches.
     CREATE INDEX orders_created ON orders (created_hlc);
     CREATE INDEX orders_updated ON orders (updated_ms, created_hlc);
     CREATE INDEX orders_priority ON orders (priority, created_hlc);
     CREATE INDEX orders_window ON orders (window_end_ms, created_hlc);
     CREATE INDEX orders_reference ON orders (reference, created_hlc);
     CREATE INDEX orders_status ON orders (status, created_hlc);
     CREATE INDEX orders_status_updated ON orders (status, updated_ms, created_hlc);
     CREATE INDEX orders_status_priority ON orders (status, priority, created_hlc);
     CREATE INDEX orders_status_window ON orders (status, window_end_ms, created_hlc);
     CREATE INDEX orders_status_reference ON orders (status, reference, created_hlc);
     CREATE INDEX orders_assignee ON orders (assignee, status, created_hlc);
     CREATE INDEX orders_zone ON orders (zone, status, created_hlc);
     CREATE INDEX orders_zone_priority ON orders (zone, status, priority, created_hlc);
     CREATE INDEX orders_zone_window ON orders (zone, status, window_end_ms, created_hlc);
     CREATE INDEX orders_type ON orders (order_type, status, created_hlc);
     CREATE INDEX orders_conflicts ON orders (open_conflicts) WHERE open_conflicts > 0;
     CREATE VIRTUAL TABLE orders_fts USING fts5 (
         reference, customer_name, pickup_text, dropoff_text,
         content = 'orders', content_rowid = 'rowid',
         tokenize = 'unicode61 remove_diacritics 2'
     );
     CREATE TRIGGER orders_ai AFTER INSERT ON orders BEGIN
         INSERT INTO orders_fts (rowid, reference, customer_name, pickup_text, dropoff_text)
         VALUES (new.rowid, new.reference, new.customer_name, new.pickup_text, new.dropoff_text);
     END;
     CREATE TRIGGER orders_ad AFTER DELETE ON orders BEGIN
         INSERT INTO orders_fts (orders_fts, rowid, reference, customer_name, pickup_text, dropoff_text)
         VALUES ('delete', old.rowid, old.reference, old.customer_name, old.pickup_text, old.dropoff_text);
     END;
     CREATE TRIGGER orders_au AFTER UPDATE OF reference, customer_name, pickup_text, dropoff_text
     ON orders BEGIN
         INSERT INTO orders_fts (orders_fts, rowid, reference, customer_name, pickup_text, dropoff_text)
         VALUES ('delete', old.rowid, old.reference, old.customer_name, old.pickup_text, old.dropoff_text);
         INSERT INTO orders_fts (rowid, reference, customer_name, pickup_text, dropoff_text)
         VALUES (new.rowid, new.reference, new.customer_name, new.pickup_text, new.dropoff_text);
     END;
     CREATE TABLE timeline (
         order_id TEXT NOT NULL,
         event_id TEXT NOT NULL,
         at_ms INTEGER NOT NULL,
         kind TEXT NOT NULL,
         user TEXT NOT NULL,
         role TEXT NOT NULL,
         device TEXT NOT NULL,
         verdict TEXT NOT NULL,
         note TEXT,
         details TEXT NOT NULL,
         PRIMARY KEY (order_id, event_id)
     ) STRICT, WITHOUT ROWID;
     CREATE TABLE conflicts (
         order_id TEXT NOT NULL,
         id TEXT NOT NULL,
         kind TEXT NOT NULL,
         against TEXT,
         opened_ms INTEGER NOT NULL,
         resolved_by TEXT,
         note TEXT,
         PRIMARY KEY (order_id, id)
     ) STRICT, WITHOUT ROWID;",
    // 3: per-record sync state (pending since when; last confirmed by the server).
    "CREATE TABLE sync_state (
         order_id TEXT PRIMARY KEY,
         pending_since_ms INTEGER,
         synced_at_ms INTEGER
     ) STRICT, WITHOUT ROWID;
     CREATE INDEX sync_pending ON sync_state (pending_since_ms) WHERE pending_since_ms IS NOT NULL;",
    // 4: bulk writes (CSV import, BENCHMARKS.md).
    // - The full-text entry of a new order is written by the store's insert itself
    //   (`Tx::insert_order`), not by a trigger: an insert that fires a trigger needs
    //   a statement journal, which spilled every page an order touches to a
    //   temporary file (45 writes per order). Updates and deletes keep their triggers.
    // - The timeline becomes a rowid table (same columns and key): as WITHOUT ROWID
    //   its rows (~1.2 KB, the event as JSON) overflowed the key-sized cells of an
    //   index b-tree, one 4 KiB overflow page per event, 70 % of the file.
    "DROP TRIGGER orders_ai;
     CREATE TABLE timeline_v4 (
         order_id TEXT NOT NULL,
         event_id TEXT NOT NULL,
         at_ms INTEGER NOT NULL,
         kind TEXT NOT NULL,
         user TEXT NOT NULL,
         role TEXT NOT NULL,
         device TEXT NOT NULL,
         verdict TEXT NOT NULL,
         note TEXT,
         details TEXT NOT NULL,
         PRIMARY KEY (order_id, event_id)
     ) STRICT;
     INSERT INTO timeline_v4 SELECT * FROM timeline;
     DROP TABLE timeline;
     ALTER TABLE timeline_v4 RENAME TO timeline;",
    // 5: the drop-off's position in the list, for the map (5,000 markers from one
    // query). Existing rows get it when the core re-projects after opening
    // (meta `reproject` = 1, see `Core::open`).
    "ALTER TABLE orders ADD COLUMN dropoff_lat REAL;
     ALTER TABLE orders ADD COLUMN dropoff_lon REAL;
     INSERT OR REPLACE INTO meta (key, value) VALUES ('reproject', '1');",
    // 6: a count of local writes per record, so the sync client can confirm a
    // record ("nothing written since the push the server acknowledged") without
    // loading its document.
    "ALTER TABLE sync_state ADD COLUMN writes INTEGER NOT NULL DEFAULT 0;",
];

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

    /// The id this store was given when it was created; it never changes.
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

    /// Orders whose projection lists at least one proof of delivery.
    pub fn orders_with_pods(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM orders WHERE pods <> '[]' ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Delivered orders with no final invoice number recorded (meta key
    /// `invoice_number:<id>`), in one indexed query.
    pub fn unnumbered_delivered(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.id FROM orders o
             WHERE o.status = ?1
               AND NOT EXISTS (SELECT 1 FROM meta m WHERE m.key = 'invoice_number:' || o.id)",
        )?;
        let rows = stmt.query_map([status_str(DeliveryStatus::Delivered)], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Per courier and status: (courier, status, orders, of them updated at or
    /// after `since_ms`); plus pending orders with no courier. One pass over the
    /// assignee index.
    pub fn workload(&self, since_ms: i64) -> Result<(Vec<WorkloadRow>, u64), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT assignee, status, COUNT(*), SUM(updated_ms >= ?1) FROM orders
             WHERE assignee IS NOT NULL GROUP BY assignee, status",
        )?;
        let rows = stmt.query_map([since_ms], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, Option<u32>>(3)?.unwrap_or(0),
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (courier, status, n, recent) = row?;
            if let Ok(status) = serde_json::from_value(serde_json::Value::String(status)) {
                out.push((courier, status, n, recent));
            }
        }
        let unassigned = self.conn.query_row(
            "SELECT COUNT(*) FROM orders WHERE status = ?1 AND assignee IS NULL",
            [status_str(DeliveryStatus::Pending)],
            |r| r.get::<_, u64>(0),
        )?;
        Ok((out, unassigned))
    }

    pub fn order_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))?)
    }

    /// Orders with local changes the server has not confirmed: (id, since).
    pub fn pending(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT order_id, pending_since_ms FROM sync_state
             WHERE pending_since_ms IS NOT NULL ORDER BY pending_since_ms",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The `limit` oldest pending records with the device of each one's latest
    /// event (from the projected timeline, not the documents), and how many are
    /// pending in all.
    #[allow(clippy::type_complexity)]
    pub fn pending_summary(
        &self,
        limit: u64,
    ) -> Result<(Vec<(String, i64, Option<String>)>, u64), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.order_id, s.pending_since_ms,
                    (SELECT t.device FROM timeline t WHERE t.order_id = s.order_id
                     ORDER BY t.event_id DESC LIMIT 1)
             FROM sync_state s
             WHERE s.pending_since_ms IS NOT NULL ORDER BY s.pending_since_ms LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let total: i64 = self.conn.query_row(
            "SELECT count(*) FROM sync_state WHERE pending_since_ms IS NOT NULL",
            [],
            |r| r.get(0),
        )?;
        Ok((rows, total as u64))
    }

    /// (pending since, local writes so far) of one order: the count moves with
    /// every local write ([`Tx::mark_pending`]).
    pub fn sync_writes(&self, order: &str) -> Result<(Option<i64>, i64), StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT pending_since_ms, writes FROM sync_state WHERE order_id = ?1")?
            .query_row([order], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .unwrap_or((None, 0)))
    }

    pub fn doc_ids(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM docs ORDER BY id")?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// The saved snapshot of a document and the changes saved after it.
    pub fn load_doc(&self, id: &str) -> Result<Option<SavedDoc>, StoreError> {
        load_doc(&self.conn, id)
    }

    /// Rows from the skeleton's orders table (schema 1) still to import.
    #[allow(clippy::type_complexity)]
    pub fn skeleton_orders(
        &self,
    ) -> Result<Vec<(String, String, String, String, String)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, reference, customer_name, pickup_address, dropoff_address
             FROM skeleton_orders ORDER BY created_at_ms, reference",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// A page of orders matching `q`, and the number of matches in all.
    /// The count stops at [`COUNT_CAP`] when any filter is set; without one it is exact.
    pub fn query_orders(&self, q: &OrderQuery) -> Result<(Vec<OrderSummary>, u64), StoreError> {
        let mut filters: Vec<String> = Vec::new();
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut push = |sql: String, vals: Vec<rusqlite::types::Value>| {
            filters.push(sql);
            args.extend(vals);
        };
        if !q.statuses.is_empty() {
            let marks = vec!["?"; q.statuses.len()].join(",");
            push(
                format!("o.status IN ({marks})"),
                q.statuses
                    .iter()
                    .map(|s| status_str(*s).to_owned().into())
                    .collect(),
            );
        }
        if !q.order_types.is_empty() {
            let marks = vec!["?"; q.order_types.len()].join(",");
            push(
                format!("o.order_type IN ({marks})"),
                q.order_types.iter().map(|t| enum_str(t).into()).collect(),
            );
        }
        if let Some(zone) = &q.zone {
            push("o.zone = ?".into(), vec![zone.clone().into()]);
        }
        match q.assignee.as_deref() {
            Some("-") => push("o.assignee IS NULL".into(), vec![]),
            Some(a) => push("o.assignee = ?".into(), vec![a.to_owned().into()]),
            None => {}
        }
        if let Some(before) = q.window_ends_before_ms {
            push(
                "o.window_end_ms < ?".into(),
                vec![before.into()], // orders without a window (NO_WINDOW) never match
            );
        }
        if let Some(p) = q.min_priority {
            push(
                "o.priority >= ?".into(),
                vec![i64::from(priority_num(p)).into()],
            );
        }
        if q.with_open_conflicts {
            push("o.open_conflicts > 0".into(), vec![]);
        }
        let search = q.search.as_deref().map(str::trim).unwrap_or_default();
        if let Some(prefix) = reference_prefix(search) {
            // A reference (or its start): a range on the reference index.
            let mut end = prefix.clone();
            end.push(char::MAX);
            // Capped like a text search: a device prefix alone matches all its orders.
            push(
                format!(
                    "o.rowid IN (SELECT rowid FROM orders INDEXED BY orders_reference
                                 WHERE reference >= ? AND reference < ? LIMIT {SEARCH_CAP})"
                ),
                vec![prefix.into(), end.into()],
            );
        } else if let Some(m) = fts_query(search) {
            push(
                format!(
                    "o.rowid IN (SELECT rowid FROM orders_fts WHERE orders_fts MATCH ?
                                 ORDER BY rowid DESC LIMIT {SEARCH_CAP})"
                ),
                vec![m.into()],
            );
        }
        let filter = if filters.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", filters.join(" AND "))
        };
        let index = choose_index(q);
        // Unfiltered, the exact count is one pass over the smallest index (a few
        // ms at 100k) and gives the table its whole scroll range; filtered counts
        // stop at the cap.
        let total: u64 = if filters.is_empty() {
            self.conn
                .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))?
        } else {
            self.conn.query_row(
                &format!(
                    "SELECT count(*) FROM (SELECT 1 FROM orders o {} {filter} LIMIT {COUNT_CAP})",
                    count_index(q).unwrap_or_else(|| index.clone())
                ),
                params_from_iter(args.iter()),
                |r| r.get(0),
            )?
        };
        let dir = if q.descending { "DESC" } else { "ASC" };
        let order = match q.sort {
            SortKey::Created => format!("o.created_hlc {dir}"),
            SortKey::Updated => format!("o.updated_ms {dir}, o.created_hlc {dir}"),
            SortKey::Priority => format!("o.priority {dir}, o.created_hlc {dir}"),
            SortKey::WindowEnd => format!("o.window_end_ms {dir}, o.created_hlc {dir}"),
            SortKey::Reference => format!("o.reference {dir}, o.created_hlc {dir}"),
            SortKey::Status => format!("o.status {dir}, o.created_hlc {dir}"),
        };
        let limit = match q.limit {
            0 => 100,
            n => n.min(1000),
        };
        // Deferred join: the page is chosen by sorting row ids only, then the 100
        // rows are read whole.
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM orders o JOIN (
                 SELECT o.rowid AS r FROM orders o {index} {filter}
                 ORDER BY {order} LIMIT {limit} OFFSET {}
             ) page ON o.rowid = page.r
             ORDER BY {order}",
            q.offset
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), summary_row)?;
        let orders = rows.map(|r| r?.finish()).collect::<Result<Vec<_>, _>>()?;
        Ok((orders, total))
    }

    /// One order's projected row, timeline, conflicts, notes and proofs.
    #[allow(clippy::type_complexity)]
    pub fn order_detail(
        &self,
        id: &str,
    ) -> Result<
        Option<(
            OrderSummary,
            Vec<TimelineItem>,
            Vec<ConflictItem>,
            String,
            String,
            String,
        )>,
        StoreError,
    > {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {SUMMARY_COLUMNS}, o.notes, o.instructions, o.pods FROM orders o WHERE o.id = ?1"),
                [id],
                |r| Ok((summary_row(r)?, r.get::<_, String>(20)?, r.get::<_, String>(21)?, r.get::<_, String>(22)?)),
            )
            .optional()?;
        let Some((summary, notes, instructions, pods)) = row else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT event_id, at_ms, kind, user, role, device, verdict, note, details
             FROM timeline WHERE order_id = ?1 ORDER BY event_id",
        )?;
        let timeline = stmt
            .query_map([id], |r| {
                Ok((
                    TimelineItem {
                        event_id: r.get(0)?,
                        at_ms: r.get(1)?,
                        kind: r.get(2)?,
                        user: r.get(3)?,
                        role: app_api::Role::Client,
                        device: r.get(5)?,
                        verdict: r.get(6)?,
                        note: r.get(7)?,
                        details: r.get(8)?,
                    },
                    r.get::<_, String>(4)?,
                ))
            })?
            .map(|row| {
                let (mut item, role) = row?;
                item.role = parse_enum("role", &role)?;
                Ok(item)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, kind, against, opened_ms, resolved_by, note FROM conflicts
             WHERE order_id = ?1 ORDER BY id",
        )?;
        let conflicts = stmt
            .query_map([id], |r| {
                Ok(ConflictItem {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    against: r.get(2)?,
                    opened_at_ms: r.get(3)?,
                    resolved_by: r.get(4)?,
                    note: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some((
            summary.finish()?,
            timeline,
            conflicts,
            notes,
            instructions,
            pods,
        )))
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

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
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

    /// Removes every projected row (documents stay); see the module docs.
    pub fn clear_projection(&self) -> Result<(), StoreError> {
        self.tx
            .execute_batch("DELETE FROM orders; DELETE FROM timeline; DELETE FROM conflicts;")?;
        Ok(())
    }

    pub fn drop_skeleton_order(&self, id: &str) -> Result<(), StoreError> {
        self.tx
            .execute("DELETE FROM skeleton_orders WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Writes an order's derived state into the query tables.
    pub fn project(&self, state: &OrderState, zone: Option<&str>) -> Result<(), StoreError> {
        self.write_projection(&Projection::of(state, zone))
    }

    /// Writes a projection built with [`Projection::of`].
    pub fn write_projection(&self, p: &Projection) -> Result<(), StoreError> {
        let id = p.id.as_str();
        let Some(row) = &p.order else {
            // Events without a creation (a hostile or partial peer): nothing to list.
            self.tx
                .prepare_cached("DELETE FROM orders WHERE id = ?1")?
                .execute([id])?;
            return Ok(());
        };
        let existing: Option<Vec<V>> = self
            .tx
            .prepare_cached(&SELECT_ORDER_SQL)?
            .query_row([id], |r| {
                (0..ORDER_COLUMNS.len()).map(|i| r.get::<_, V>(i)).collect()
            })
            .optional()?;
        match existing {
            None => self.insert_order(id, row)?,
            Some(old) => {
                // Only changed columns are written: untouched indexes and the
                // full-text index (its trigger watches the text columns) stay as they are.
                let changed: Vec<(&str, &V)> = ORDER_COLUMNS
                    .iter()
                    .zip(row)
                    .zip(&old)
                    .filter(|((_, new), old)| new != old)
                    .map(|((n, v), _)| (*n, v))
                    .collect();
                if !changed.is_empty() {
                    let sets: Vec<String> =
                        changed.iter().map(|(n, _)| format!("{n} = ?")).collect();
                    let sql = format!("UPDATE orders SET {} WHERE id = ?", sets.join(", "));
                    let key = V::Text(id.to_owned());
                    let values = changed.iter().map(|(_, v)| *v).chain(std::iter::once(&key));
                    self.tx.execute(&sql, params_from_iter(values))?;
                }
            }
        }
        self.tx
            .prepare_cached("DELETE FROM timeline WHERE order_id = ?1")?
            .execute([id])?;
        self.tx
            .prepare_cached("DELETE FROM conflicts WHERE order_id = ?1")?
            .execute([id])?;
        self.insert_history(p)
    }

    /// Writes the projection of an order that has none yet (a new order): inserts
    /// only, on cached statements, without first looking for rows to replace.
    /// Fails (a unique constraint) if the order is already projected.
    pub fn insert_projection(&self, p: &Projection) -> Result<(), StoreError> {
        if let Some(row) = &p.order {
            self.insert_order(&p.id, row)?;
        }
        self.insert_history(p)
    }

    /// Inserts an order's row and its full-text entry (see migration 4).
    fn insert_order(&self, id: &str, row: &[V; ORDER_COLUMNS.len()]) -> Result<(), StoreError> {
        let id = V::Text(id.to_owned());
        self.tx
            .prepare_cached(&INSERT_ORDER_SQL)?
            .execute(params_from_iter(std::iter::once(&id).chain(row)))?;
        let column = |name: &str| &row[ORDER_COLUMNS.iter().position(|c| *c == name).unwrap_or(0)];
        self.tx
            .prepare_cached(
                "INSERT INTO orders_fts (rowid, reference, customer_name, pickup_text, dropoff_text)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                self.tx.last_insert_rowid(),
                column("reference"),
                column("customer_name"),
                column("pickup_text"),
                column("dropoff_text"),
            ])?;
        Ok(())
    }

    fn insert_history(&self, p: &Projection) -> Result<(), StoreError> {
        let mut ins = self.tx.prepare_cached(
            "INSERT OR REPLACE INTO timeline
                 (order_id, event_id, at_ms, kind, user, role, device, verdict, note, details)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for row in &p.timeline {
            ins.execute(params_from_iter(row))?;
        }
        let mut ins = self.tx.prepare_cached(
            "INSERT OR REPLACE INTO conflicts (order_id, id, kind, against, opened_ms, resolved_by, note)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for row in &p.conflicts {
            ins.execute(params_from_iter(row))?;
        }
        Ok(())
    }
}

use rusqlite::types::Value as V;

/// The projected columns of `orders` (besides `id`), in the order of [`Projection`]'s row.
const ORDER_COLUMNS: [&str; 24] = [
    "reference",
    "order_type",
    "carrier",
    "priority",
    "status",
    "assignee",
    "zone",
    "customer_name",
    "client",
    "pickup_text",
    "dropoff_text",
    "window_end_ms",
    "price_cents",
    "cod_cents",
    "open_conflicts",
    "created_ms",
    "created_hlc",
    "updated_ms",
    "created_on",
    "notes",
    "instructions",
    "pods",
    "dropoff_lat",
    "dropoff_lon",
];

static SELECT_ORDER_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {} FROM orders WHERE id = ?1",
        ORDER_COLUMNS.join(", ")
    )
});

static INSERT_ORDER_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO orders (id, {}) VALUES ({})",
        ORDER_COLUMNS.join(", "),
        vec!["?"; ORDER_COLUMNS.len() + 1].join(", ")
    )
});

/// An order's derived state as rows of the query tables (`orders`, `timeline`,
/// `conflicts`). Built without the store, so a bulk import can build them on
/// one thread while another writes.
#[derive(Debug, Clone)]
pub struct Projection {
    id: String,
    /// `None` for events without a creation: nothing to list.
    order: Option<[V; ORDER_COLUMNS.len()]>,
    timeline: Vec<[V; 10]>,
    conflicts: Vec<[V; 7]>,
}

impl Projection {
    pub fn of(state: &OrderState, zone: Option<&str>) -> Self {
        let id = state.id.as_str();
        let text = |t: &str| V::Text(t.to_owned());
        let opt = |t: Option<&str>| t.map_or(V::Null, text);
        let order = state.spec.as_ref().map(|spec| {
            let created = state.created_at.unwrap_or(Hlc::ZERO);
            let updated = state.updated_at.unwrap_or(created);
            let created_on = state
                .timeline
                .iter()
                .find(|t| t.event.at == created)
                .map(|t| t.event.actor.device.to_string())
                .unwrap_or_default();
            let pods = serde_json::to_string(&state.pods).unwrap_or_else(|_| "[]".into());
            [
                text(&spec.reference),
                V::Text(enum_str(&spec.order_type)),
                V::Text(enum_str(&spec.carrier)),
                V::Integer(i64::from(priority_num(spec.priority))),
                V::Text(status_str(state.status)),
                opt(state.assignee.as_ref().map(|u| u.as_str())),
                opt(zone),
                text(&spec.customer_name),
                opt(spec.client.as_ref().map(|u| u.as_str())),
                V::Text(spec.pickup.address.one_line()),
                V::Text(spec.dropoff.address.one_line()),
                V::Integer(spec.dropoff.window.map_or(NO_WINDOW, |w| w.end_ms)),
                V::Integer(spec.price_cents),
                V::Integer(spec.cod_cents),
                V::Integer(state.open_conflicts().count() as i64),
                V::Integer(created.wall_ms),
                V::Text(created.to_string()),
                V::Integer(updated.wall_ms),
                V::Text(created_on),
                text(&spec.notes),
                text(&spec.instructions),
                V::Text(pods),
                spec.dropoff
                    .address
                    .point
                    .map_or(V::Null, |p| V::Real(p.lat)),
                spec.dropoff
                    .address
                    .point
                    .map_or(V::Null, |p| V::Real(p.lon)),
            ]
        });
        let timeline = state
            .timeline
            .iter()
            .map(|entry| {
                let e = &entry.event;
                let (verdict, note) = match &entry.verdict {
                    Verdict::Applied => ("applied", None),
                    Verdict::Flagged { conflict } => ("flagged", Some(enum_str(conflict))),
                    Verdict::Held { conflict } => ("held", Some(enum_str(conflict))),
                    Verdict::Rejected { refusal } => ("rejected", Some(refusal.to_string())),
                };
                [
                    text(id),
                    V::Text(e.id()),
                    V::Integer(e.at.wall_ms),
                    V::Text(enum_str(&e.body.kind())),
                    text(e.actor.user.as_str()),
                    V::Text(enum_str(&e.actor.role)),
                    text(e.actor.device.as_str()),
                    text(verdict),
                    note.map_or(V::Null, V::Text),
                    V::Text(serde_json::to_string(&e.body).unwrap_or_default()),
                ]
            })
            .collect();
        let conflicts = state
            .conflicts
            .iter()
            .map(|c| {
                [
                    text(id),
                    text(&c.id),
                    V::Text(enum_str(&c.kind)),
                    opt(c.against.as_deref()),
                    V::Integer(c.opened_at.wall_ms),
                    opt(c.resolved.as_ref().map(|r| r.by.as_str())),
                    opt(c.resolved.as_ref().map(|r| r.note.as_str())),
                ]
            })
            .collect();
        Self {
            id: id.to_owned(),
            order,
            timeline,
            conflicts,
        }
    }
}

const SUMMARY_COLUMNS: &str = "o.id, o.reference, o.order_type, o.carrier, o.priority, o.status, \
     o.assignee, o.zone, o.customer_name, o.pickup_text, o.dropoff_text, o.window_end_ms, \
     o.price_cents, o.cod_cents, o.open_conflicts, o.created_ms, o.updated_ms, o.created_on, \
     o.dropoff_lat, o.dropoff_lon";

/// A summary row with its enum columns still as text (parsed in `finish`, so an
/// unknown value is an error, never a silent default).
struct RawSummary {
    summary: OrderSummary,
    order_type: String,
    carrier: String,
    priority: i64,
    status: String,
}

impl RawSummary {
    fn finish(mut self) -> Result<OrderSummary, StoreError> {
        self.summary.order_type = parse_enum("order type", &self.order_type)?;
        self.summary.carrier = parse_enum("carrier", &self.carrier)?;
        self.summary.status = parse_enum("status", &self.status)?;
        self.summary.next_stop = crate::lifecycle::Work::next_stop(self.summary.status);
        self.summary.priority = match self.priority {
            0 => Priority::Low,
            1 => Priority::Normal,
            2 => Priority::High,
            3 => Priority::Urgent,
            n => {
                return Err(StoreError::Unknown {
                    what: "priority",
                    value: n.to_string(),
                });
            }
        };
        Ok(self.summary)
    }
}

fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawSummary> {
    Ok(RawSummary {
        summary: OrderSummary {
            id: r.get(0)?,
            reference: r.get(1)?,
            order_type: Default::default(),
            carrier: Default::default(),
            priority: Default::default(),
            status: DeliveryStatus::Pending,
            assignee: r.get(6)?,
            zone: r.get(7)?,
            customer_name: r.get(8)?,
            pickup_address: r.get(9)?,
            dropoff_address: r.get(10)?,
            window_end_ms: r.get::<_, i64>(11).map(|w| (w != NO_WINDOW).then_some(w))?,
            price_cents: r.get(12)?,
            cod_cents: r.get(13)?,
            open_conflicts: r.get(14)?,
            created_at_ms: r.get(15)?,
            updated_at_ms: r.get(16)?,
            created_on: r.get(17)?,
            dropoff_point: match (r.get::<_, Option<f64>>(18)?, r.get::<_, Option<f64>>(19)?) {
                (Some(lat), Some(lon)) => Some(app_api::Point { lat, lon }),
                _ => None,
            },
            next_stop: Default::default(),
        },
        order_type: r.get(2)?,
        carrier: r.get(3)?,
        priority: r.get(4)?,
        status: r.get(5)?,
    })
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

/// Refreshes the planner's statistics when the number of orders changed by more
/// than a quarter since the last analysis. Without them SQLite may walk a sort
/// index over every pending order to find none assigned to one courier (50 ms
/// instead of 0.01 ms at 100k orders). Sampled (`analysis_limit`), so cheap.
fn analyze_if_grown(conn: &Connection) -> Result<(), StoreError> {
    let count: i64 = conn.query_row("SELECT count(*) FROM orders", [], |r| r.get(0))?;
    let last: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'analyzed_orders'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|v| v.parse().ok());
    let grown = match last {
        None => count >= 1_000,
        Some(last) => (count - last).abs() * 4 > last.max(1_000),
    };
    if grown {
        conn.execute_batch("PRAGMA analysis_limit = 1000; ANALYZE;")?;
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('analyzed_orders', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [count.to_string()],
        )?;
    }
    Ok(())
}

fn ensure_device_id(conn: &Connection) -> Result<DeviceId, StoreError> {
    let fresh = uuid::Uuid::new_v4().simple().to_string();
    // INSERT OR IGNORE keeps the first id even if two processes race on a new file.
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('device_id', ?1)",
        params![fresh],
    )?;
    let id: String = conn.query_row("SELECT value FROM meta WHERE key = 'device_id'", [], |r| {
        r.get(0)
    })?;
    Ok(DeviceId::new(id))
}

/// SQLite's `PRAGMA integrity_check` on a store file: "ok" when sound.
pub fn integrity_check(path: &Path) -> Result<String, StoreError> {
    let conn = Connection::open(path)?;
    Ok(conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
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

/// The index a listing walks. SQLite's own choice, with bound parameters, can
/// walk a sort index over every cancelled order to find the few of one courier
/// (30 ms instead of 1); the rules here are simple and measured (BENCHMARKS.md):
/// the most selective equality filter leads, and among indexes that lead with it
/// the one that also yields the requested order.
fn choose_index(q: &OrderQuery) -> String {
    // A search yields at most SEARCH_CAP row ids: reading those beats any walk.
    if q.search.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        return String::new();
    }
    format!("INDEXED BY {}", index_name(q))
}

/// For the count, order does not matter: an index that covers the common filters
/// (zone, status, priority) answers without reading a single table row.
fn count_index(q: &OrderQuery) -> Option<String> {
    let residual = !q.order_types.is_empty()
        || q.window_ends_before_ms.is_some()
        || q.with_open_conflicts
        || q.search.as_deref().is_some_and(|t| !t.trim().is_empty());
    if residual || q.assignee.is_some() {
        return None;
    }
    match (&q.zone, q.statuses.len()) {
        (Some(_), _) => Some("INDEXED BY orders_zone_priority".into()),
        (None, 1) => Some("INDEXED BY orders_status_priority".into()),
        _ => None,
    }
}

fn index_name(q: &OrderQuery) -> &'static str {
    let one_status = q.statuses.len() == 1;
    if q.assignee.is_some() {
        return "orders_assignee"; // one courier's orders: few, sorting them is cheap
    }
    if q.zone.is_some() {
        return match q.sort {
            SortKey::Priority => "orders_zone_priority",
            SortKey::WindowEnd => "orders_zone_window",
            _ => "orders_zone",
        };
    }
    if one_status {
        return match q.sort {
            SortKey::Created | SortKey::Status => "orders_status",
            SortKey::Updated => "orders_status_updated",
            SortKey::Priority => "orders_status_priority",
            SortKey::WindowEnd => "orders_status_window",
            SortKey::Reference => "orders_status_reference",
        };
    }
    match q.sort {
        SortKey::Created => "orders_created",
        SortKey::Updated => "orders_updated",
        SortKey::Priority => "orders_priority",
        SortKey::WindowEnd => "orders_window",
        SortKey::Reference => "orders_reference",
        SortKey::Status => "orders_status",
    }
}

/// Turns free text into an FTS5 query: every word as a quoted prefix, all required.
/// One-letter words are dropped when longer ones exist (they match nearly everything).
fn fts_query(text: &str) -> Option<String> {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let long: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| w.chars().count() > 1)
        .collect();
    let words = if long.is_empty() { words } else { long };
    let words: Vec<String> = words.iter().take(8).map(|w| format!("\"{w}\"*")).collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// A search that looks like an order reference (`R-3F2A-0001`, or its start
/// `r-3f2a`) is answered from the reference index, upper-cased.
fn reference_prefix(text: &str) -> Option<String> {
    let upper = text.to_uppercase();
    let rest = upper.strip_prefix("R-")?;
    let ok = !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    ok.then_some(upper)
}

#[cfg(test)]
mod tests {
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
}

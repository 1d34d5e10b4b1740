//! The store's schema: forward-only migrations keyed by `PRAGMA user_version`,
//! the device id minted on creation, and the planner's statistics.

use super::*;

/// Forward-only migrations; entry `i` moves the schema from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
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
    // 7: each order's ETA at its drop-off from the latest plan of its courier's
    // stops on this device (late risk: the ETA is after the window's end).
    "CREATE TABLE plan_eta (
         order_id TEXT PRIMARY KEY,
         courier TEXT NOT NULL,
         eta_ms INTEGER NOT NULL,
         planned_ms INTEGER NOT NULL
     ) STRICT;
     CREATE INDEX plan_eta_courier ON plan_eta (courier);",
    // 8: trips (run sheets; documents of kind 'trip' in `docs`): a row per
    // trip and its stops in sequence (a cache of `trip_doc::derive`), and
    // whether the server has confirmed the device's latest write.
    "CREATE TABLE trips (
         id TEXT PRIMARY KEY,
         courier TEXT NOT NULL,
         date TEXT NOT NULL,
         status TEXT NOT NULL,
         name TEXT NOT NULL,
         stops INTEGER NOT NULL,
         lost INTEGER NOT NULL,
         pending INTEGER NOT NULL DEFAULT 0,
         writes INTEGER NOT NULL DEFAULT 0
     ) STRICT;
     CREATE INDEX trips_courier ON trips (courier, date);
     CREATE TABLE trip_stops (
         trip_id TEXT NOT NULL,
         order_id TEXT NOT NULL,
         kind TEXT NOT NULL,
         seq INTEGER NOT NULL,
         PRIMARY KEY (trip_id, order_id, kind)
     ) STRICT;
     CREATE INDEX trip_stops_order ON trip_stops (order_id);",
    // 9: cash ledgers (a cache of `cash_doc::derive` per courier, with the
    // sync confirmation like trips'), and the cash collected at doors found
    // by courier without reading every timeline.
    "CREATE TABLE cash_ledgers (
         id TEXT PRIMARY KEY,
         courier TEXT NOT NULL UNIQUE,
         received INTEGER NOT NULL,
         written_off INTEGER NOT NULL,
         pending_cents INTEGER NOT NULL,
         open_discrepancies INTEGER NOT NULL,
         last_handover_ms INTEGER,
         pending INTEGER NOT NULL DEFAULT 0,
         writes INTEGER NOT NULL DEFAULT 0
     ) STRICT;
     CREATE INDEX timeline_cod ON timeline (user, at_ms) WHERE kind = 'cod_collected';",
    // 10: waybills (a cache of `waybill_doc::derive`) and the orders on them,
    // with the sync confirmation like trips'.
    "CREATE TABLE waybills (
         id TEXT PRIMARY KEY,
         number TEXT NOT NULL,
         status TEXT NOT NULL,
         origin TEXT NOT NULL,
         destination TEXT NOT NULL,
         carrier TEXT NOT NULL,
         created_ms INTEGER NOT NULL,
         orders INTEGER NOT NULL,
         pending INTEGER NOT NULL DEFAULT 0,
         writes INTEGER NOT NULL DEFAULT 0
     ) STRICT;
     CREATE INDEX waybills_number ON waybills (number);
     CREATE TABLE waybill_orders (
         waybill_id TEXT NOT NULL,
         order_id TEXT NOT NULL,
         PRIMARY KEY (waybill_id, order_id)
     ) STRICT;
     CREATE INDEX waybill_orders_order ON waybill_orders (order_id);",
    // 11: route sessions (a cache of `session_doc::derive`) and the orders
    // attached to them, with the sync confirmation like waybills'.
    "CREATE TABLE route_sessions (
         id TEXT PRIMARY KEY,
         route TEXT NOT NULL,
         date TEXT NOT NULL,
         driver TEXT NOT NULL,
         name TEXT NOT NULL,
         start TEXT NOT NULL,
         cancelled INTEGER NOT NULL,
         trip TEXT,
         orders INTEGER NOT NULL,
         conflicts INTEGER NOT NULL,
         pending INTEGER NOT NULL DEFAULT 0,
         writes INTEGER NOT NULL DEFAULT 0
     ) STRICT;
     CREATE INDEX route_sessions_date ON route_sessions (date, start);
     CREATE TABLE session_orders (
         session_id TEXT NOT NULL,
         order_id TEXT NOT NULL,
         PRIMARY KEY (session_id, order_id)
     ) STRICT;
     CREATE INDEX session_orders_order ON session_orders (order_id);",
    // 12: conversations (a cache of `chat_doc::derive` for this device's
    // user): the latest message, unread count, and the sync confirmation
    // (`mine_latest`: this device's latest event; `confirmed`: that stamp
    // when the server last confirmed a write — later messages are pending).
    "CREATE TABLE chats (
         id TEXT PRIMARY KEY,
         link TEXT NOT NULL,
         last_ms INTEGER,
         last_text TEXT NOT NULL DEFAULT '',
         unread INTEGER NOT NULL DEFAULT 0,
         pending INTEGER NOT NULL DEFAULT 0,
         writes INTEGER NOT NULL DEFAULT 0,
         mine_latest TEXT,
         confirmed TEXT
     ) STRICT;
     CREATE INDEX chats_recent ON chats (last_ms DESC);",
    // 13: notifications are derived from the timeline (newest first) and
    // the user's inbox document, whose sync confirmation is kept here.
    "CREATE INDEX timeline_recent ON timeline (at_ms);
     CREATE TABLE inboxes (
         id TEXT PRIMARY KEY,
         pending INTEGER NOT NULL DEFAULT 0,
         writes INTEGER NOT NULL DEFAULT 0
     ) STRICT;",
    // 14: support tickets (a cache of `ticket_doc::derive`: what the desk
    // filters on, the rest of the summary as JSON) and the first operator
    // answer in each ticket's conversation (kept apart: the conversation may
    // arrive before its ticket).
    "CREATE TABLE tickets (
         id TEXT PRIMARY KEY,
         status TEXT NOT NULL,
         assignee TEXT,
         category TEXT NOT NULL,
         priority INTEGER NOT NULL,
         opened_ms INTEGER NOT NULL,
         updated_ms INTEGER NOT NULL,
         search TEXT NOT NULL,
         body TEXT NOT NULL,
         pending INTEGER NOT NULL DEFAULT 0,
         writes INTEGER NOT NULL DEFAULT 0
     ) STRICT;
     CREATE INDEX tickets_desk ON tickets (status, priority DESC, opened_ms);
     CREATE TABLE ticket_answers (
         id TEXT PRIMARY KEY,
         first_ms INTEGER
     ) STRICT;",
    // 15: what waits for the server, found without a scan: the sync client
    // asks on every pass of every ledger's bridge (5% of a desk's CPU with
    // 2,000 conversations, `cargo bench -p sync-server --bench chat`).
    "CREATE INDEX chats_pending ON chats (id) WHERE pending = 1;
     CREATE INDEX inboxes_pending ON inboxes (id) WHERE pending = 1;
     CREATE INDEX tickets_pending ON tickets (id) WHERE pending = 1;",
];

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
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
pub(crate) fn analyze_if_grown(conn: &Connection) -> Result<(), StoreError> {
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

pub(crate) fn ensure_device_id(conn: &Connection) -> Result<DeviceId, StoreError> {
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

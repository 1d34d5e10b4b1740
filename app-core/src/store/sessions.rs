//! The route sessions projection: a row per session and the orders attached
//! to it (a cache of `session_doc::derive`, written with the document), and
//! whether the server confirmed this device's latest write.

use rusqlite::{OptionalExtension, params};

use super::{LocalStore, StoreError, Tx};

/// One route session as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    pub route: String,
    pub date: String,
    pub driver: String,
    pub name: String,
    pub start: String,
    pub cancelled: bool,
    pub trip: Option<String>,
    pub orders: u32,
    /// Trips built apart after the first.
    pub conflicts: u32,
    pub pending: bool,
}

impl Tx<'_> {
    /// Writes a session's row and orders; with `local`, marks a write of this
    /// device that the server has yet to confirm.
    pub fn put_session(
        &self,
        row: &SessionRow,
        orders: &[String],
        local: bool,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO route_sessions (id, route, date, driver, name, start, cancelled, trip,
               orders, conflicts, pending, writes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, start = excluded.start,
               cancelled = excluded.cancelled, trip = excluded.trip, orders = excluded.orders,
               conflicts = excluded.conflicts,
               pending = CASE WHEN ?11 = 1 THEN 1 ELSE pending END,
               writes = writes + ?11",
            params![
                row.id,
                row.route,
                row.date,
                row.driver,
                row.name,
                row.start,
                i64::from(row.cancelled),
                row.trip,
                orders.len() as i64,
                i64::from(row.conflicts),
                i64::from(local)
            ],
        )?;
        self.tx.execute(
            "DELETE FROM session_orders WHERE session_id = ?1",
            [&row.id],
        )?;
        let mut ins = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO session_orders (session_id, order_id) VALUES (?1, ?2)",
        )?;
        for o in orders {
            ins.execute(params![row.id, o])?;
        }
        Ok(())
    }

    pub fn session_writes(&self, id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .tx
            .query_row(
                "SELECT writes FROM route_sessions WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The server has the session as of `writes` local writes.
    pub fn session_synced(&self, id: &str, writes: i64) -> Result<bool, StoreError> {
        Ok(self.tx.execute(
            "UPDATE route_sessions SET pending = 0 WHERE id = ?1 AND writes = ?2 AND pending = 1",
            params![id, writes],
        )? > 0)
    }
}

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: r.get(0)?,
        route: r.get(1)?,
        date: r.get(2)?,
        driver: r.get(3)?,
        name: r.get(4)?,
        start: r.get(5)?,
        cancelled: r.get::<_, i64>(6)? != 0,
        trip: r.get(7)?,
        orders: r.get::<_, i64>(8)? as u32,
        conflicts: r.get::<_, i64>(9)? as u32,
        pending: r.get::<_, i64>(10)? != 0,
    })
}

const COLUMNS: &str =
    "id, route, date, driver, name, start, cancelled, trip, orders, conflicts, pending";

impl LocalStore {
    /// Sessions from `from` to `to` (dates, inclusive), by day and start
    /// time; one driver's, or all.
    pub fn sessions_between(
        &self,
        from: &str,
        to: &str,
        driver: Option<&str>,
    ) -> Result<Vec<SessionRow>, StoreError> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM route_sessions
             WHERE date >= ?1 AND date <= ?2 AND (?3 IS NULL OR driver = ?3)
             ORDER BY date, start, name, id LIMIT 2000"
        ))?;
        let rows = st.query_map(params![from, to, driver], session_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn session(&self, id: &str) -> Result<Option<SessionRow>, StoreError> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM route_sessions WHERE id = ?1"
        ))?;
        Ok(st.query_row([id], session_row).optional()?)
    }

    /// The sessions (not cancelled) an order is attached to, other than
    /// `except`: (id, name, date).
    pub fn sessions_of_order(
        &self,
        order: &str,
        except: &str,
    ) -> Result<Vec<(String, String, String)>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT s.id, s.name, s.date FROM session_orders o
             JOIN route_sessions s ON s.id = o.session_id
             WHERE o.order_id = ?1 AND o.session_id != ?2 AND s.cancelled = 0
             ORDER BY s.date, s.name",
        )?;
        let rows = st.query_map(params![order, except], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many orders of each session are also on another live session.
    pub fn session_order_conflicts(&self, id: &str) -> Result<u32, StoreError> {
        Ok(self.conn.query_row(
            "SELECT count(DISTINCT o.order_id) FROM session_orders o
             JOIN session_orders p ON p.order_id = o.order_id AND p.session_id != o.session_id
             JOIN route_sessions s ON s.id = p.session_id AND s.cancelled = 0
             WHERE o.session_id = ?1",
            [id],
            |r| r.get::<_, i64>(0),
        )? as u32)
    }

    pub fn pending_sessions(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM route_sessions WHERE pending = 1")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

//! The trips projection: a row per trip and its stops in sequence (a cache
//! of `trip_doc::derive`, written in the same transaction as the document),
//! and whether the server confirmed the device's latest write to it.

use rusqlite::{OptionalExtension, params};

use super::{LocalStore, StoreError, Tx};

/// One trip as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct TripRow {
    pub id: String,
    pub courier: String,
    pub date: String,
    pub status: String,
    pub name: String,
    pub stops: u32,
    pub lost: u32,
    pub pending: bool,
}

impl Tx<'_> {
    /// Writes a trip's row and stops (in sequence); with `local`, marks a
    /// write of this device that the server has yet to confirm.
    #[allow(clippy::too_many_arguments)]
    pub fn put_trip(
        &self,
        id: &str,
        courier: &str,
        date: &str,
        status: &str,
        name: &str,
        stops: &[(String, &'static str)],
        lost: u32,
        local: bool,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO trips (id, courier, date, status, name, stops, lost, pending, writes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
             ON CONFLICT (id) DO UPDATE SET courier = excluded.courier, date = excluded.date,
               status = excluded.status, name = excluded.name, stops = excluded.stops,
               lost = excluded.lost,
               pending = CASE WHEN ?8 = 1 THEN 1 ELSE pending END,
               writes = writes + ?8",
            params![
                id,
                courier,
                date,
                status,
                name,
                stops.len() as i64,
                lost,
                i64::from(local)
            ],
        )?;
        self.tx
            .execute("DELETE FROM trip_stops WHERE trip_id = ?1", [id])?;
        let mut ins = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO trip_stops (trip_id, order_id, kind, seq) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (i, (order, kind)) in stops.iter().enumerate() {
            ins.execute(params![id, order, kind, i as i64])?;
        }
        Ok(())
    }

    /// The trip's write count (what a confirmation vouches for) and whether it is pending.
    pub fn trip_writes(&self, id: &str) -> Result<Option<(i64, bool)>, StoreError> {
        Ok(self
            .tx
            .query_row(
                "SELECT writes, pending FROM trips WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get::<_, i64>(1)? != 0)),
            )
            .optional()?)
    }

    /// The server has the trip as of `writes` local writes.
    pub fn trip_synced(&self, id: &str, writes: i64) -> Result<bool, StoreError> {
        Ok(self.tx.execute(
            "UPDATE trips SET pending = 0 WHERE id = ?1 AND writes = ?2 AND pending = 1",
            params![id, writes],
        )? > 0)
    }
}

impl LocalStore {
    /// Trips, newest day first: one courier's, or all; open only or all.
    pub fn trips(
        &self,
        courier: Option<&str>,
        open_only: bool,
    ) -> Result<Vec<TripRow>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, courier, date, status, name, stops, lost, pending FROM trips
             WHERE (?1 IS NULL OR courier = ?1) AND (?2 = 0 OR status != 'completed')
             ORDER BY date DESC, name, id LIMIT 1000",
        )?;
        let rows = st.query_map(params![courier, i64::from(open_only)], |r| {
            Ok(TripRow {
                id: r.get(0)?,
                courier: r.get(1)?,
                date: r.get(2)?,
                status: r.get(3)?,
                name: r.get(4)?,
                stops: r.get::<_, i64>(5)? as u32,
                lost: r.get::<_, i64>(6)? as u32,
                pending: r.get::<_, i64>(7)? != 0,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One trip's row.
    pub fn trip_row(&self, id: &str) -> Result<Option<TripRow>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, courier, date, status, name, stops, lost, pending FROM trips WHERE id = ?1",
        )?;
        Ok(st
            .query_row([id], |r| {
                Ok(TripRow {
                    id: r.get(0)?,
                    courier: r.get(1)?,
                    date: r.get(2)?,
                    status: r.get(3)?,
                    name: r.get(4)?,
                    stops: r.get::<_, i64>(5)? as u32,
                    lost: r.get::<_, i64>(6)? as u32,
                    pending: r.get::<_, i64>(7)? != 0,
                })
            })
            .optional()?)
    }

    /// The trips an order is on, other than `except`.
    pub fn trips_of_order(&self, order: &str, except: &str) -> Result<Vec<String>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT DISTINCT s.trip_id FROM trip_stops s JOIN trips t ON t.id = s.trip_id
             WHERE s.order_id = ?1 AND s.trip_id != ?2 AND t.status != 'completed'",
        )?;
        let rows = st.query_map(params![order, except], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Trips with writes the server has not confirmed.
    pub fn pending_trips(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM trips WHERE pending = 1")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl LocalStore {
    /// A stored document, read outside a write transaction.
    pub fn read_doc(&self, id: &str) -> Result<Option<super::SavedDoc>, StoreError> {
        super::load_doc(&self.conn, id)
    }
}

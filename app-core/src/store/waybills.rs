//! The waybills projection: a row per waybill and the orders on it (a cache
//! of `waybill_doc::derive`, written with the document), and whether the
//! server confirmed this device's latest write.

use rusqlite::{OptionalExtension, params};

use super::{LocalStore, StoreError, Tx};

/// One waybill as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaybillRow {
    pub id: String,
    pub number: String,
    pub status: String,
    pub origin: String,
    pub destination: String,
    pub carrier: String,
    pub created_ms: i64,
    pub orders: u32,
    pub pending: bool,
}

impl Tx<'_> {
    /// Writes a waybill's row and orders; with `local`, marks a write of this
    /// device that the server has yet to confirm.
    pub fn put_waybill(
        &self,
        row: &WaybillRow,
        orders: &[String],
        local: bool,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO waybills (id, number, status, origin, destination, carrier, created_ms,
               orders, pending, writes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
             ON CONFLICT (id) DO UPDATE SET number = excluded.number, status = excluded.status,
               origin = excluded.origin, destination = excluded.destination,
               carrier = excluded.carrier, created_ms = excluded.created_ms,
               orders = excluded.orders,
               pending = CASE WHEN ?9 = 1 THEN 1 ELSE pending END,
               writes = writes + ?9",
            params![
                row.id,
                row.number,
                row.status,
                row.origin,
                row.destination,
                row.carrier,
                row.created_ms,
                orders.len() as i64,
                i64::from(local)
            ],
        )?;
        self.tx.execute(
            "DELETE FROM waybill_orders WHERE waybill_id = ?1",
            [&row.id],
        )?;
        let mut ins = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO waybill_orders (waybill_id, order_id) VALUES (?1, ?2)",
        )?;
        for o in orders {
            ins.execute(params![row.id, o])?;
        }
        Ok(())
    }

    pub fn waybill_writes(&self, id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .tx
            .query_row("SELECT writes FROM waybills WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// The server has the waybill as of `writes` local writes.
    pub fn waybill_synced(&self, id: &str, writes: i64) -> Result<bool, StoreError> {
        Ok(self.tx.execute(
            "UPDATE waybills SET pending = 0 WHERE id = ?1 AND writes = ?2 AND pending = 1",
            params![id, writes],
        )? > 0)
    }
}

fn waybill_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WaybillRow> {
    Ok(WaybillRow {
        id: r.get(0)?,
        number: r.get(1)?,
        status: r.get(2)?,
        origin: r.get(3)?,
        destination: r.get(4)?,
        carrier: r.get(5)?,
        created_ms: r.get(6)?,
        orders: r.get::<_, i64>(7)? as u32,
        pending: r.get::<_, i64>(8)? != 0,
    })
}

const COLUMNS: &str =
    "id, number, status, origin, destination, carrier, created_ms, orders, pending";

impl LocalStore {
    /// Waybills, newest first; open ones only, or all.
    pub fn waybills(&self, open_only: bool) -> Result<Vec<WaybillRow>, StoreError> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM waybills WHERE (?1 = 0 OR status = 'open')
             ORDER BY created_ms DESC, id LIMIT 1000"
        ))?;
        let rows = st.query_map([i64::from(open_only)], waybill_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn waybill(&self, id: &str) -> Result<Option<WaybillRow>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM waybills WHERE id = ?1"))?;
        Ok(st.query_row([id], waybill_row).optional()?)
    }

    /// The waybills with this number (one, unless two devices chose it apart).
    pub fn waybills_numbered(&self, number: &str) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM waybills WHERE number = ?1 ORDER BY created_ms DESC")?;
        let rows = st.query_map([number], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The numbers of the open waybills an order is on, other than `except`.
    pub fn open_waybills_of_order(
        &self,
        order: &str,
        except: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT w.number FROM waybill_orders o JOIN waybills w ON w.id = o.waybill_id
             WHERE o.order_id = ?1 AND o.waybill_id != ?2 AND w.status = 'open'
             ORDER BY w.number",
        )?;
        let rows = st.query_map(params![order, except], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn pending_waybills(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM waybills WHERE pending = 1")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// An order at a hub: (order, reference, recipient, drop-off, warehouse, since).
pub type HubRow = (String, String, String, String, Option<String>, i64);

impl LocalStore {
    /// Orders at a hub now, with the warehouse and time of their latest
    /// applied receipt, longest there first; one warehouse's or all.
    pub fn hub_inventory(&self, warehouse: Option<&str>) -> Result<Vec<HubRow>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT o.id, o.reference, o.customer_name, o.dropoff_text,
                    json_extract(t.details, '$.hub.warehouse') AS w, MAX(t.at_ms)
             FROM orders o JOIN timeline t ON t.order_id = o.id
             WHERE o.status = 'at_hub' AND t.kind = 'received_at_hub' AND t.verdict = 'applied'
             GROUP BY o.id
             HAVING ?1 IS NULL OR w = ?1
             ORDER BY MAX(t.at_ms), o.reference LIMIT 5000",
        )?;
        let rows = st.query_map([warehouse], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

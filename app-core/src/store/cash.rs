//! The cash projection: a row per courier's ledger (a cache of
//! `cash_doc::derive`, written with the document) with the server's
//! confirmation of this device's writes, and the cash couriers collected at
//! doors, read from the orders' timelines.

use rusqlite::{OptionalExtension, params};

use super::{LocalStore, StoreError, Tx};

/// A courier's ledger as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashRow {
    pub id: String,
    pub courier: String,
    pub received: i64,
    pub written_off: i64,
    pub pending_cents: i64,
    pub open_discrepancies: u32,
    pub last_handover_ms: Option<i64>,
    /// Written here and not yet confirmed by the server.
    pub pending: bool,
}

/// Cash taken at a door (an order's `CodCollected` event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionRow {
    pub order_id: String,
    pub reference: String,
    pub cents: i64,
    pub at_ms: i64,
}

impl Tx<'_> {
    /// Writes a ledger's row; with `local`, marks a write of this device that
    /// the server has yet to confirm.
    pub fn put_cash(&self, row: &CashRow, local: bool) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO cash_ledgers (id, courier, received, written_off, pending_cents,
               open_discrepancies, last_handover_ms, pending, writes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
             ON CONFLICT (id) DO UPDATE SET received = excluded.received,
               written_off = excluded.written_off, pending_cents = excluded.pending_cents,
               open_discrepancies = excluded.open_discrepancies,
               last_handover_ms = excluded.last_handover_ms,
               pending = CASE WHEN ?8 = 1 THEN 1 ELSE pending END,
               writes = writes + ?8",
            params![
                row.id,
                row.courier,
                row.received,
                row.written_off,
                row.pending_cents,
                row.open_discrepancies,
                row.last_handover_ms,
                i64::from(local)
            ],
        )?;
        Ok(())
    }

    /// The ledger's write count (what a confirmation vouches for).
    pub fn cash_writes(&self, id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .tx
            .query_row("SELECT writes FROM cash_ledgers WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// The server has the ledger as of `writes` local writes.
    pub fn cash_synced(&self, id: &str, writes: i64) -> Result<bool, StoreError> {
        Ok(self.tx.execute(
            "UPDATE cash_ledgers SET pending = 0 WHERE id = ?1 AND writes = ?2 AND pending = 1",
            params![id, writes],
        )? > 0)
    }
}

fn cash_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CashRow> {
    Ok(CashRow {
        id: r.get(0)?,
        courier: r.get(1)?,
        received: r.get(2)?,
        written_off: r.get(3)?,
        pending_cents: r.get(4)?,
        open_discrepancies: r.get::<_, i64>(5)? as u32,
        last_handover_ms: r.get(6)?,
        pending: r.get::<_, i64>(7)? != 0,
    })
}

const CASH_COLUMNS: &str = "id, courier, received, written_off, pending_cents, \
     open_discrepancies, last_handover_ms, pending";

impl LocalStore {
    /// Every courier's ledger on this device.
    pub fn cash_ledgers(&self) -> Result<Vec<CashRow>, StoreError> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {CASH_COLUMNS} FROM cash_ledgers ORDER BY courier"
        ))?;
        let rows = st.query_map([], cash_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Ledgers with writes the server has not confirmed.
    pub fn pending_cash(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM cash_ledgers WHERE pending = 1")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Cash `courier` took at doors (kept or flagged events; a refused
    /// collection took nothing), newest first.
    pub fn collections(&self, courier: &str) -> Result<Vec<CollectionRow>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT t.order_id, COALESCE(o.reference, t.order_id),
                    CAST(json_extract(t.details, '$.cents') AS INTEGER), t.at_ms
             FROM timeline t LEFT JOIN orders o ON o.id = t.order_id
             WHERE t.user = ?1 AND t.kind = 'cod_collected'
               AND t.verdict IN ('applied', 'flagged')
             ORDER BY t.at_ms DESC, t.order_id",
        )?;
        let rows = st.query_map([courier], |r| {
            Ok(CollectionRow {
                order_id: r.get(0)?,
                reference: r.get(1)?,
                cents: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                at_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Each courier's cash collected at doors (courier, cents, last at).
    pub fn collected_by_courier(&self) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT user, SUM(CAST(json_extract(details, '$.cents') AS INTEGER)), MAX(at_ms)
             FROM timeline WHERE kind = 'cod_collected' AND verdict IN ('applied', 'flagged')
             GROUP BY user ORDER BY user",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                r.get(2)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

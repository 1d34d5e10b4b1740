//! The conversations projection: a row per conversation with its latest
//! message and this user's unread count (a cache of `chat_doc::derive`,
//! written with the document), and what the server has confirmed.

use rusqlite::{OptionalExtension, params};

use super::{LocalStore, StoreError, Tx};

/// One conversation as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRow {
    pub id: String,
    /// `chat_doc::link_key`.
    pub link: String,
    pub last_ms: Option<i64>,
    pub last_text: String,
    pub unread: u32,
    pub pending: bool,
    /// The stamp of this device's latest event the server has confirmed.
    pub confirmed: Option<String>,
}

impl Tx<'_> {
    /// Writes a conversation's row; `mine` is this device's latest event
    /// when this is a local write (marked pending until confirmed).
    pub fn put_chat(&self, row: &ChatRow, mine: Option<&str>) -> Result<(), StoreError> {
        let local = i64::from(mine.is_some());
        self.tx.execute(
            "INSERT INTO chats (id, link, last_ms, last_text, unread, pending, writes, mine_latest)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET last_ms = excluded.last_ms,
               last_text = excluded.last_text, unread = excluded.unread,
               pending = CASE WHEN ?6 = 1 THEN 1 ELSE pending END,
               writes = writes + ?6,
               mine_latest = COALESCE(?7, mine_latest)",
            params![
                row.id,
                row.link,
                row.last_ms,
                row.last_text,
                i64::from(row.unread),
                local,
                mine
            ],
        )?;
        Ok(())
    }

    pub fn chat_writes(&self, id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .tx
            .query_row("SELECT writes FROM chats WHERE id = ?1", [id], |r| r.get(0))
            .optional()?)
    }

    /// The server has the conversation as of `writes` local writes: every
    /// event of this device so far is confirmed.
    pub fn chat_synced(&self, id: &str, writes: i64) -> Result<bool, StoreError> {
        Ok(self.tx.execute(
            "UPDATE chats SET pending = 0, confirmed = mine_latest
             WHERE id = ?1 AND writes = ?2 AND pending = 1",
            params![id, writes],
        )? > 0)
    }
}

fn chat_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChatRow> {
    Ok(ChatRow {
        id: r.get(0)?,
        link: r.get(1)?,
        last_ms: r.get(2)?,
        last_text: r.get(3)?,
        unread: r.get::<_, i64>(4)? as u32,
        pending: r.get::<_, i64>(5)? != 0,
        confirmed: r.get(6)?,
    })
}

const COLUMNS: &str = "id, link, last_ms, last_text, unread, pending, confirmed";

impl LocalStore {
    /// The `limit` most recent conversations.
    pub fn recent_chats(&self, limit: u32) -> Result<Vec<ChatRow>, StoreError> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM chats ORDER BY last_ms DESC NULLS LAST, id LIMIT ?1"
        ))?;
        let rows = st.query_map([limit], chat_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn chat(&self, id: &str) -> Result<Option<ChatRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM chats WHERE id = ?1"),
                [id],
                chat_row,
            )
            .optional()?)
    }

    /// Unread messages over every conversation but those listed in `skip`.
    pub fn unread_total(&self, skip: &[String]) -> Result<u32, StoreError> {
        let total: i64 =
            self.conn
                .query_row("SELECT COALESCE(SUM(unread), 0) FROM chats", [], |r| {
                    r.get(0)
                })?;
        let mut minus = 0i64;
        for id in skip {
            minus += self
                .conn
                .query_row("SELECT unread FROM chats WHERE id = ?1", [id], |r| {
                    r.get::<_, i64>(0)
                })
                .optional()?
                .unwrap_or(0);
        }
        Ok((total - minus).max(0) as u32)
    }

    pub fn pending_chats(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM chats WHERE pending = 1")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// An open conflict: (order, conflict id, kind, opened, order reference).
pub type OpenConflict = (String, String, String, i64, String);

/// One order event as the timeline holds it (for notifications).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentEvent {
    pub order_id: String,
    pub event_id: String,
    pub at_ms: i64,
    pub user: String,
    /// The author's role, as stored (`courier`, …).
    pub role: String,
    /// The event's body, JSON.
    pub details: String,
    pub reference: String,
    pub client: Option<String>,
}

impl Tx<'_> {
    /// Marks a local write of the inbox `id` (pending until confirmed).
    pub fn inbox_written(&self, id: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO inboxes (id, pending, writes) VALUES (?1, 1, 1)
             ON CONFLICT (id) DO UPDATE SET pending = 1, writes = writes + 1",
            [id],
        )?;
        Ok(())
    }

    pub fn inbox_writes(&self, id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .tx
            .query_row("SELECT writes FROM inboxes WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn inbox_synced(&self, id: &str, writes: i64) -> Result<bool, StoreError> {
        Ok(self.tx.execute(
            "UPDATE inboxes SET pending = 0 WHERE id = ?1 AND writes = ?2 AND pending = 1",
            params![id, writes],
        )? > 0)
    }
}

impl LocalStore {
    pub fn pending_inboxes(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM inboxes WHERE pending = 1")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Order events since `since_ms`, oldest first, at most `limit` (the newest).
    pub fn recent_events(&self, since_ms: i64, limit: u32) -> Result<Vec<RecentEvent>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT * FROM (
                 SELECT t.order_id, t.event_id, t.at_ms, t.user, t.role, t.details, o.reference, o.client
                 FROM timeline t INDEXED BY timeline_recent
                 JOIN orders o ON o.id = t.order_id
                 WHERE t.at_ms >= ?1 AND t.verdict != 'rejected'
                 ORDER BY t.at_ms DESC LIMIT ?2)
             ORDER BY at_ms, event_id",
        )?;
        let rows = st.query_map(params![since_ms, limit], |r| {
            Ok(RecentEvent {
                order_id: r.get(0)?,
                event_id: r.get(1)?,
                at_ms: r.get(2)?,
                user: r.get(3)?,
                role: r.get(4)?,
                details: r.get(5)?,
                reference: r.get(6)?,
                client: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The latest event of `order` before `before_ms` that set its courier:
    /// (its body as JSON, its author).
    pub fn courier_before(
        &self,
        order: &str,
        before_ms: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT details, user FROM timeline
                 WHERE order_id = ?1 AND at_ms < ?2 AND kind IN ('assigned', 'unassigned', 'claimed')
                   AND verdict != 'rejected'
                 ORDER BY at_ms DESC LIMIT 1",
                params![order, before_ms],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row)
    }

    /// Open conflicts opened since `since_ms`: (order, id, kind, opened, reference).
    pub fn open_conflicts_since(&self, since_ms: i64) -> Result<Vec<OpenConflict>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT c.order_id, c.id, c.kind, c.opened_ms, o.reference FROM conflicts c
             JOIN orders o ON o.id = c.order_id
             WHERE c.resolved_by IS NULL AND c.opened_ms >= ?1
             ORDER BY c.opened_ms DESC LIMIT 200",
        )?;
        let rows = st.query_map([since_ms], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Couriers with a cash discrepancy open: (courier, last hand-over).
    pub fn cash_discrepancies(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT courier, COALESCE(last_handover_ms, 0) FROM cash_ledgers
             WHERE open_discrepancies > 0",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Conversations with unread messages (the most recent 50).
    pub fn unread_chats(&self) -> Result<Vec<ChatRow>, StoreError> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM chats WHERE unread > 0 ORDER BY last_ms DESC LIMIT 50"
        ))?;
        let rows = st.query_map([], chat_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

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

//! The tickets projection: a row per support ticket (a cache of
//! `ticket_doc::derive`, written with the document) with what the desk
//! filters on, the first operator answer in its conversation, and what the
//! server has confirmed.

use rusqlite::{OptionalExtension, params};

use super::{LocalStore, StoreError, Tx};

/// One ticket as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRow {
    pub id: String,
    pub status: String,
    pub assignee: Option<String>,
    pub category: String,
    /// `Priority` as 0 (low) to 3 (urgent).
    pub priority: i64,
    pub opened_ms: i64,
    pub updated_ms: i64,
    /// Lower-case words the search matches (reference, subject, requester).
    pub search: String,
    /// The rest of the summary, as the core writes it (JSON).
    pub body: String,
    /// The first operator message in its conversation.
    pub first_answer_ms: Option<i64>,
    pub pending: bool,
}

/// Which rows to list.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub statuses: Vec<String>,
    /// `Some("")`: unassigned.
    pub assignee: Option<String>,
    pub category: Option<String>,
    pub min_priority: Option<i64>,
    /// Lower-case words, each a substring of the row's search text.
    pub words: Vec<String>,
    pub limit: u32,
}

const COLUMNS: &str = "id, status, assignee, category, priority, opened_ms, updated_ms, search, body, first_answer_ms, pending";

fn ticket_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TicketRow> {
    Ok(TicketRow {
        id: r.get(0)?,
        status: r.get(1)?,
        assignee: r.get(2)?,
        category: r.get(3)?,
        priority: r.get(4)?,
        opened_ms: r.get(5)?,
        updated_ms: r.get(6)?,
        search: r.get(7)?,
        body: r.get(8)?,
        first_answer_ms: r.get(9)?,
        pending: r.get::<_, i64>(10)? != 0,
    })
}

impl Tx<'_> {
    /// Writes a ticket's row; `local` when this device wrote it (pending
    /// until confirmed). The first answer is kept (it is the conversation's).
    pub fn put_ticket(&self, row: &TicketRow, local: bool) -> Result<(), StoreError> {
        let local = i64::from(local);
        self.tx.execute(
            "INSERT INTO tickets (id, status, assignee, category, priority, opened_ms, updated_ms,
                                  search, body, pending, writes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status,
               assignee = excluded.assignee, category = excluded.category,
               priority = excluded.priority, opened_ms = excluded.opened_ms,
               updated_ms = excluded.updated_ms, search = excluded.search, body = excluded.body,
               pending = CASE WHEN ?10 = 1 THEN 1 ELSE pending END,
               writes = writes + ?10",
            params![
                row.id,
                row.status,
                row.assignee,
                row.category,
                row.priority,
                row.opened_ms,
                row.updated_ms,
                row.search,
                row.body,
                local
            ],
        )?;
        Ok(())
    }

    /// The earliest operator message in ticket `id`'s conversation (kept
    /// even before the ticket itself has arrived).
    pub fn ticket_answered(&self, id: &str, first_ms: Option<i64>) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO ticket_answers (id, first_ms) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET first_ms = excluded.first_ms",
            params![id, first_ms],
        )?;
        Ok(())
    }

    pub fn ticket_writes(&self, id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .tx
            .query_row("SELECT writes FROM tickets WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn ticket_synced(&self, id: &str, writes: i64) -> Result<bool, StoreError> {
        Ok(self.tx.execute(
            "UPDATE tickets SET pending = 0 WHERE id = ?1 AND writes = ?2 AND pending = 1",
            params![id, writes],
        )? > 0)
    }
}

impl LocalStore {
    pub fn tickets(&self, f: &TicketFilter) -> Result<Vec<TicketRow>, StoreError> {
        let mut sql = String::from(
            "SELECT t.id, t.status, t.assignee, t.category, t.priority, t.opened_ms, t.updated_ms,
                    t.search, t.body, a.first_ms, t.pending
             FROM tickets t LEFT JOIN ticket_answers a ON a.id = t.id WHERE 1 = 1",
        );
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, v: rusqlite::types::Value| {
            args.push(v);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        if !f.statuses.is_empty() {
            let list: Vec<String> = f.statuses.iter().map(|s| format!("'{s}'")).collect();
            // Statuses are the enum's own names (checked by the caller).
            sql.push_str(&format!(" AND t.status IN ({})", list.join(",")));
        }
        match f.assignee.as_deref() {
            Some("") => sql.push_str(" AND t.assignee IS NULL"),
            Some(u) => arg(&mut sql, " AND t.assignee = ?", u.to_owned().into()),
            None => {}
        }
        if let Some(c) = &f.category {
            arg(&mut sql, " AND t.category = ?", c.clone().into());
        }
        if let Some(p) = f.min_priority {
            arg(&mut sql, " AND t.priority >= ?", p.into());
        }
        for w in &f.words {
            arg(&mut sql, " AND instr(t.search, ?) > 0", w.clone().into());
        }
        sql.push_str(" ORDER BY t.priority DESC, t.opened_ms, t.id");
        arg(&mut sql, " LIMIT ?", i64::from(f.limit).into());
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args), ticket_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn ticket(&self, id: &str) -> Result<Option<TicketRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {} FROM tickets t LEFT JOIN ticket_answers a ON a.id = t.id WHERE t.id = ?1",
                    COLUMNS
                        .split(", ")
                        .map(|c| if c == "first_answer_ms" {
                            "a.first_ms".to_owned()
                        } else {
                            format!("t.{c}")
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                [id],
                ticket_row,
            )
            .optional()?)
    }

    /// Open or pending tickets: (unassigned, assigned to `user`).
    pub fn ticket_counts(&self, user: &str) -> Result<(u32, u32), StoreError> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(SUM(assignee IS NULL), 0), COALESCE(SUM(assignee = ?1), 0)
             FROM tickets WHERE status IN ('open', 'pending')",
            [user],
            |r| Ok((r.get::<_, i64>(0)? as u32, r.get::<_, i64>(1)? as u32)),
        )?)
    }

    pub fn pending_tickets(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM tickets WHERE pending = 1")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

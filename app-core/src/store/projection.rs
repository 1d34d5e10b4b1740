//! The query tables projected from a derived order state, written in the same
//! transaction as the document (a cache: rebuilt by re-deriving every document).

use super::*;

use rusqlite::types::Value as V;

/// The projected columns of `orders` (besides `id`), in the order of [`Projection`]'s row.
pub(crate) const ORDER_COLUMNS: [&str; 24] = [
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

pub(crate) static SELECT_ORDER_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {} FROM orders WHERE id = ?1",
        ORDER_COLUMNS.join(", ")
    )
});

pub(crate) static INSERT_ORDER_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
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

impl Tx<'_> {
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
    pub(crate) fn insert_order(
        &self,
        id: &str,
        row: &[V; ORDER_COLUMNS.len()],
    ) -> Result<(), StoreError> {
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

    pub(crate) fn insert_history(&self, p: &Projection) -> Result<(), StoreError> {
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

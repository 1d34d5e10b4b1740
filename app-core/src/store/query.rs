//! Reads: the dispatcher table and courier queue (with the index each filter
//! and sort uses), one order's detail, workload, pending records.

use super::*;

pub(crate) const SUMMARY_COLUMNS: &str = "o.id, o.reference, o.order_type, o.carrier, o.priority, o.status, \
     o.assignee, o.zone, o.customer_name, o.pickup_text, o.dropoff_text, o.window_end_ms, \
     o.price_cents, o.cod_cents, o.open_conflicts, o.created_ms, o.updated_ms, o.created_on, \
     o.dropoff_lat, o.dropoff_lon, \
     (SELECT e.eta_ms FROM plan_eta e WHERE e.order_id = o.id)";

/// How many columns [`SUMMARY_COLUMNS`] has (what a query selects after them starts here).
pub(crate) const SUMMARY_WIDTH: usize = 21;

/// A summary row with its enum columns still as text (parsed in `finish`, so an
/// unknown value is an error, never a silent default).
pub(crate) struct RawSummary {
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
        self.summary.due = crate::lifecycle::Work::is_due(self.summary.status);
        self.summary.late_risk = self.summary.due
            && matches!((self.summary.eta_ms, self.summary.window_end_ms), (Some(eta), Some(end)) if eta > end);
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

pub(crate) fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawSummary> {
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
            due: false,
            eta_ms: r.get(20)?,
            late_risk: false,
        },
        order_type: r.get(2)?,
        carrier: r.get(3)?,
        priority: r.get(4)?,
        status: r.get(5)?,
    })
}

/// The index a listing walks. SQLite's own choice, with bound parameters, can
/// walk a sort index over every cancelled order to find the few of one courier
/// (30 ms instead of 1); the rules here are simple and measured (BENCHMARKS.md):
/// the most selective equality filter leads, and among indexes that lead with it
/// the one that also yields the requested order.
pub(crate) fn choose_index(q: &OrderQuery) -> String {
    // A search yields at most SEARCH_CAP row ids: reading those beats any walk.
    if q.search.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        return String::new();
    }
    format!("INDEXED BY {}", index_name(q))
}

/// For the count, order does not matter: an index that covers the common filters
/// (zone, status, priority) answers without reading a single table row.
pub(crate) fn count_index(q: &OrderQuery) -> Option<String> {
    let residual = !q.order_types.is_empty()
        || q.client.is_some()
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

pub(crate) fn index_name(q: &OrderQuery) -> &'static str {
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
pub(crate) fn fts_query(text: &str) -> Option<String> {
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
pub(crate) fn reference_prefix(text: &str) -> Option<String> {
    let upper = text.to_uppercase();
    let rest = upper.strip_prefix("R-")?;
    let ok = !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    ok.then_some(upper)
}

impl LocalStore {
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
        if let Some(client) = &q.client {
            push("o.client = ?".into(), vec![client.clone().into()]);
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
        if q.late_risk {
            // Orders without a window (NO_WINDOW) are never late.
            push(
                "EXISTS (SELECT 1 FROM plan_eta e WHERE e.order_id = o.id AND e.eta_ms > o.window_end_ms)"
                    .into(),
                vec![],
            );
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
                |r| Ok((summary_row(r)?, r.get::<_, String>(SUMMARY_WIDTH)?, r.get::<_, String>(SUMMARY_WIDTH + 1)?, r.get::<_, String>(SUMMARY_WIDTH + 2)?)),
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

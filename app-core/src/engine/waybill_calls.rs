//! Waybills on a device ([`ruta_model::waybill_doc`]): `CreateWaybill`,
//! `WaybillAct`, `ScanWaybill`, `ListWaybills`, `GetWaybill`, the waybill PDF,
//! and the sync doors (`merge_waybill`, `waybill_document`, `waybill_synced`,
//! `pending_waybills`).
//!
//! A waybill write is one transaction like a trip's (load, append, derive —
//! an event the rules set aside refuses the action — save, project). A step
//! (dispatch, arrival) is one intent: the waybill's own event, then an
//! ordinary event on each of its orders, each judged by the order's
//! lifecycle; an order that refuses is reported with the reason and the
//! others are not held back.

use app_api::waybills::{
    NewWaybill, WaybillAction, WaybillHistoryEntry, WaybillOrderView, WaybillStatus, WaybillStep,
    WaybillStepResult, WaybillSummary, WaybillView,
};
use app_api::{Action, ApiError, DocumentFile};
use ruta_model::waybill_doc::{self, WaybillChange, WaybillDoc, WaybillEvent, WaybillState};

use super::*;
use crate::store::WaybillRow;
use ruta_model::policy::Call;

const KIND: &str = waybill_doc::INDEX_KIND;

fn waybill_error(e: waybill_doc::WaybillDocError) -> ApiError {
    ApiError::Malformed {
        message: format!("waybill document: {e}"),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound {
        what: format!("waybill {id}"),
    }
}

fn load_waybill(
    saved: Option<crate::store::SavedDoc>,
    device: &crate::domain::DeviceId,
) -> Result<Option<WaybillDoc>, ApiError> {
    super::ledgers::load_event_doc(waybill_doc::SHAPE, saved, device)
}

fn status_of(s: Option<waybill_doc::WaybillStatus>) -> WaybillStatus {
    match s {
        Some(waybill_doc::WaybillStatus::Dispatched) => WaybillStatus::Dispatched,
        Some(waybill_doc::WaybillStatus::Arrived) => WaybillStatus::Arrived,
        Some(waybill_doc::WaybillStatus::Cancelled) => WaybillStatus::Cancelled,
        _ => WaybillStatus::Open,
    }
}

fn status_str(s: WaybillStatus) -> &'static str {
    match s {
        WaybillStatus::Open => "open",
        WaybillStatus::Dispatched => "dispatched",
        WaybillStatus::Arrived => "arrived",
        WaybillStatus::Cancelled => "cancelled",
    }
}

fn status_from(s: &str) -> WaybillStatus {
    match s {
        "dispatched" => WaybillStatus::Dispatched,
        "arrived" => WaybillStatus::Arrived,
        "cancelled" => WaybillStatus::Cancelled,
        _ => WaybillStatus::Open,
    }
}

fn row_of(id: &str, st: &WaybillState) -> WaybillRow {
    let (origin, destination, carrier) = match &st.created {
        Some(WaybillChange::Created {
            origin,
            destination,
            carrier,
            ..
        }) => (origin.clone(), destination.clone(), carrier.clone()),
        _ => Default::default(),
    };
    WaybillRow {
        id: id.to_owned(),
        number: st.number().unwrap_or_default().to_owned(),
        status: status_str(status_of(st.status)).into(),
        origin,
        destination,
        carrier,
        created_ms: st.history.first().map_or(0, |(at, ..)| at.wall_ms),
        orders: st.orders.len() as u32,
        pending: false,
    }
}

impl Core {
    /// Appends `changes` to waybill `id` in one transaction (a new one with
    /// `new`); refused, nothing written, when the rules set any aside.
    fn write_waybill(
        &self,
        id: &str,
        new: bool,
        changes: Vec<WaybillChange>,
    ) -> Result<WaybillState, ApiError> {
        let (actor, _) = self.principal();
        let now = self.clock.now_ms();
        let state = {
            let mut inner = self.lock();
            let device = inner.store.device_id().clone();
            let tx = inner.store.write().map_err(storage)?;
            let mut doc = match load_waybill(tx.load_doc(id).map_err(storage)?, &device)? {
                Some(d) if !new => d,
                Some(_) => {
                    return Err(ApiError::Invalid {
                        field: "waybill_id".into(),
                        message: format!("waybill {id} exists"),
                    });
                }
                None if new => waybill_doc::create(&device).map_err(waybill_error)?,
                None => return Err(not_found(id)),
            };
            let mut clock = resume_clock(&tx, &device)?;
            // Past every stamp the document holds (written elsewhere, merged
            // here): a new event is never ordered before what it follows.
            if let Some(latest) = doc.events().iter().map(|e| e.at).max() {
                clock.observe(latest, now);
            }
            let mut ids = Vec::new();
            for change in changes {
                waybill_doc::validate(&change).map_err(|e| ApiError::Invalid {
                    field: e.field,
                    message: e.message,
                })?;
                let e = WaybillEvent {
                    at: clock.tick(now),
                    actor: actor.clone(),
                    change,
                };
                ids.push(e.id());
                doc.append(&e).map_err(waybill_error)?;
            }
            let state = waybill_doc::derive(&doc.events());
            if let Some((_, why)) = state.ignored.iter().find(|(k, _)| ids.contains(k)) {
                return Err(ApiError::Refused {
                    code: "waybill_refused".into(),
                    message: why.clone(),
                });
            }
            tx.put_snapshot(id, KIND, &doc.save()).map_err(storage)?;
            let orders: Vec<String> = state.orders.iter().map(|o| o.to_string()).collect();
            tx.put_waybill(&row_of(id, &state), &orders, true)
                .map_err(storage)?;
            tx.set_meta("hlc", &clock.last().to_string())
                .map_err(storage)?;
            tx.commit().map_err(storage)?;
            inner.store.after_commit().map_err(storage)?;
            state
        };
        self.revision
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.ledger_written(LedgerKind::Waybill, id);
        Ok(state)
    }

    fn waybill_state(&self, id: &str) -> Result<WaybillState, ApiError> {
        let inner = self.lock();
        let device = inner.store.device_id().clone();
        let doc = load_waybill(inner.store.read_doc(id).map_err(storage)?, &device)?
            .ok_or_else(|| not_found(id))?;
        Ok(waybill_doc::derive(&doc.events()))
    }

    /// The changes that put `order_ids` on waybill `id`: each must be on this
    /// device and on no other open waybill.
    fn additions(&self, id: &str, order_ids: &[String]) -> Result<Vec<WaybillChange>, ApiError> {
        let mut out = Vec::new();
        for (i, o) in order_ids.iter().enumerate() {
            let field = format!("order_ids[{i}]");
            let state = self
                .order_state(&OrderId::new(o))
                .map_err(|_| ApiError::Invalid {
                    field: field.clone(),
                    message: format!("order {o} is not on this device"),
                })?;
            if state.spec.is_none() {
                return Err(ApiError::Invalid {
                    field,
                    message: format!("order {o} is not on this device"),
                });
            }
            let others = self
                .lock()
                .store
                .open_waybills_of_order(o, id)
                .map_err(storage)?;
            if let Some(other) = others.first() {
                return Err(ApiError::Refused {
                    code: "on_another_waybill".into(),
                    message: format!("order {o} is already on open waybill {other}"),
                });
            }
            out.push(WaybillChange::OrderAdded {
                order: OrderId::new(o),
            });
        }
        Ok(out)
    }

    pub(super) fn create_waybill(&self, new: NewWaybill) -> Result<WaybillView, ApiError> {
        super::allow(&self.principal().0, Call::Waybills)?;
        if let Some(w) = new
            .destination_warehouse
            .as_deref()
            .filter(|w| !w.trim().is_empty())
            && self.tenant_config().warehouse(w).is_none()
        {
            return Err(ApiError::Invalid {
                field: "destination_warehouse".into(),
                message: format!("no warehouse {w:?} in the tenant's configuration"),
            });
        }
        let id = uuid::Uuid::new_v4().to_string();
        let hex = uuid::Uuid::new_v4().simple().to_string();
        let number = format!("WB-{}", hex[..8].to_uppercase());
        let mut changes = vec![WaybillChange::Created {
            number,
            origin: new.origin.trim().to_owned(),
            destination: new.destination.trim().to_owned(),
            destination_warehouse: new.destination_warehouse.filter(|w| !w.trim().is_empty()),
            carrier: new.carrier.trim().to_owned(),
            seal: new.seal.filter(|s| !s.trim().is_empty()),
            reference: new.reference.filter(|s| !s.trim().is_empty()),
        }];
        changes.extend(self.additions(&id, &new.order_ids)?);
        self.write_waybill(&id, true, changes)?;
        self.waybill_view(&id, Vec::new())
    }

    pub(super) fn waybill_act(
        &self,
        id: &str,
        action: WaybillAction,
    ) -> Result<WaybillView, ApiError> {
        super::allow(&self.principal().0, Call::Waybills)?;
        let state = self.waybill_state(id)?;
        let results = match action {
            WaybillAction::AddOrders { order_ids } => {
                let changes = self.additions(id, &order_ids)?;
                self.write_waybill(id, false, changes)?;
                Vec::new()
            }
            WaybillAction::RemoveOrder { order_id } => {
                if !state.orders.iter().any(|o| o.as_str() == order_id) {
                    return Err(ApiError::Invalid {
                        field: "order_id".into(),
                        message: format!("order {order_id} is not on this waybill"),
                    });
                }
                self.write_waybill(
                    id,
                    false,
                    vec![WaybillChange::OrderRemoved {
                        order: OrderId::new(order_id),
                    }],
                )?;
                Vec::new()
            }
            WaybillAction::Cancel { reason } => {
                self.write_waybill(id, false, vec![WaybillChange::Cancelled { reason }])?;
                Vec::new()
            }
            WaybillAction::Step { step } => self.waybill_step(id, step)?,
        };
        self.waybill_view(id, results)
    }

    /// Records `step` on the waybill, then on each of its orders (each judged
    /// by its lifecycle; a refusal is reported, not fatal to the others).
    fn waybill_step(
        &self,
        id: &str,
        step: WaybillStep,
    ) -> Result<Vec<WaybillStepResult>, ApiError> {
        let change = match step {
            WaybillStep::Dispatch => WaybillChange::Dispatched,
            WaybillStep::Arrive => WaybillChange::Arrived,
        };
        let state = self.write_waybill(id, false, vec![change])?;
        let Some(WaybillChange::Created {
            number,
            origin,
            destination,
            destination_warehouse,
            carrier,
            ..
        }) = state.created.clone()
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(state.orders.len());
        for o in &state.orders {
            let action = match (step, &destination_warehouse) {
                (WaybillStep::Dispatch, _) => Action::AddNote {
                    text: format!(
                        "Handed over at {origin} on waybill {number}{}",
                        if carrier.is_empty() {
                            String::new()
                        } else {
                            format!(" to {carrier}")
                        }
                    ),
                },
                (WaybillStep::Arrive, Some(w)) => Action::ReceiveAtHub {
                    warehouse: w.clone(),
                },
                (WaybillStep::Arrive, None) => Action::AddNote {
                    text: format!("Arrived at {destination} on waybill {number}"),
                },
            };
            let reference = self
                .detail(o.as_str())
                .map(|d| d.summary.reference)
                .unwrap_or_else(|_| o.to_string());
            let done = self.execute(Request::Act {
                order_id: o.to_string(),
                action,
            });
            out.push(WaybillStepResult {
                order_id: o.to_string(),
                reference,
                ok: done.is_ok(),
                message: done.err().map(|e| e.to_string()).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// A scanned code: the waybill it names gets `step`.
    pub(super) fn scan_waybill(
        &self,
        code: &str,
        step: WaybillStep,
    ) -> Result<WaybillView, ApiError> {
        super::allow(&self.principal().0, Call::Waybills)?;
        let number = code.trim();
        let ids = self
            .lock()
            .store
            .waybills_numbered(number)
            .map_err(storage)?;
        let Some(id) = ids.first() else {
            return Err(ApiError::NotFound {
                what: format!("waybill {number} (not on this device)"),
            });
        };
        self.waybill_act(id, WaybillAction::Step { step })
    }

    pub(super) fn waybill_view(
        &self,
        id: &str,
        step_results: Vec<WaybillStepResult>,
    ) -> Result<WaybillView, ApiError> {
        super::allow(&self.principal().0, Call::Waybills)?;
        let state = self.waybill_state(id)?;
        let Some(WaybillChange::Created {
            number,
            origin,
            destination,
            destination_warehouse,
            carrier,
            seal,
            reference,
        }) = state.created.clone()
        else {
            return Err(not_found(id));
        };
        let mut orders = Vec::with_capacity(state.orders.len());
        for o in &state.orders {
            let detail = self.detail(o.as_str()).ok();
            let also_on = self
                .lock()
                .store
                .open_waybills_of_order(o.as_str(), id)
                .map_err(storage)?;
            orders.push(WaybillOrderView {
                order_id: o.to_string(),
                reference: detail
                    .as_ref()
                    .map_or_else(|| o.to_string(), |d| d.summary.reference.clone()),
                recipient: detail
                    .as_ref()
                    .map(|d| d.summary.customer_name.clone())
                    .unwrap_or_default(),
                status: detail.as_ref().map(|d| d.summary.status),
                also_on: if state.is_open() { also_on } else { Vec::new() },
            });
        }
        let pending = self
            .lock()
            .store
            .waybill(id)
            .map_err(storage)?
            .is_some_and(|r| r.pending);
        Ok(WaybillView {
            id: id.to_owned(),
            number,
            status: status_of(state.status),
            origin,
            destination,
            destination_warehouse,
            carrier,
            seal,
            reference,
            cancelled_reason: state.cancelled.clone(),
            orders,
            history: state
                .history
                .iter()
                .rev()
                .map(|(at, by, what)| WaybillHistoryEntry {
                    at_ms: at.wall_ms,
                    by: by.clone(),
                    what: what.clone(),
                })
                .collect(),
            step_results,
            pending,
        })
    }

    pub(super) fn list_waybills(&self, open_only: bool) -> Result<Vec<WaybillSummary>, ApiError> {
        super::allow(&self.principal().0, Call::Waybills)?;
        Ok(self
            .lock()
            .store
            .waybills(open_only)
            .map_err(storage)?
            .into_iter()
            .map(|r| WaybillSummary {
                status: status_from(&r.status),
                id: r.id,
                number: r.number,
                origin: r.origin,
                destination: r.destination,
                carrier: r.carrier,
                orders: r.orders,
                created_ms: r.created_ms,
                pending: r.pending,
            })
            .collect())
    }

    /// The waybill as a PDF (barcode, parties, manifest, signature blocks).
    pub(super) fn waybill_pdf(&self, id: &str) -> Result<DocumentFile, ApiError> {
        use crate::documents::{Party, WaybillData, WaybillLine};
        let view = self.waybill_view(id, Vec::new())?;
        let settings = self.settings();
        let now = self.clock.now_ms();
        let mut lines = Vec::with_capacity(view.orders.len());
        for o in &view.orders {
            let detail = self.detail(&o.order_id).ok();
            let city = detail
                .as_ref()
                .map(|d| {
                    d.summary
                        .dropoff_address
                        .rsplit(',')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_owned()
                })
                .unwrap_or_default();
            lines.push(WaybillLine {
                order_ref: o.reference.clone(),
                recipient: o.recipient.clone(),
                city,
                parcels: detail.as_ref().map_or(0, |d| d.parcels),
                weight_g: detail.as_ref().map_or(0, |d| d.weight_g),
                cod_cents: detail
                    .as_ref()
                    .map(|d| d.summary.cod_cents)
                    .filter(|c| *c > 0),
            });
        }
        let party = |name: &str| Party {
            name: name.to_owned(),
            ..Default::default()
        };
        let data = WaybillData {
            branding: settings.branding.clone(),
            number: view.number.clone(),
            origin: party(&view.origin),
            destination: party(&view.destination),
            carrier: view.carrier.clone(),
            seal: view.seal.clone(),
            reference: view.reference.clone(),
            date: crate::documents::format_date(
                now,
                super::config_calls::utc_offset_min(&settings.time_zone, now),
            ),
            orders: lines,
        };
        let pdf = crate::documents::waybill_pdf(&data).map_err(super::document_calls::doc_error)?;
        Ok(super::document_calls::file(
            format!("waybill-{}.pdf", view.number),
            "application/pdf",
            pdf,
        ))
    }

    /// What is at the hubs now and since when, longest there first.
    pub(super) fn hub_inventory(
        &self,
        warehouse: Option<String>,
    ) -> Result<app_api::waybills::HubInventory, ApiError> {
        super::allow(&self.principal().0, Call::Waybills)?;
        let config = self.tenant_config();
        let rows = self
            .lock()
            .store
            .hub_inventory(warehouse.as_deref().filter(|w| !w.is_empty()))
            .map_err(storage)?;
        let name_of = |w: &Option<String>| match w {
            Some(id) => config
                .warehouse(id)
                .map_or_else(|| id.clone(), |w| w.name.clone()),
            None => "Hub".to_owned(),
        };
        let mut hubs: Vec<(String, String, u32)> = Vec::new();
        let mut items = Vec::with_capacity(rows.len());
        for (order_id, reference, recipient, dropoff_address, w, since_ms) in rows {
            let key = w.clone().unwrap_or_default();
            match hubs.iter_mut().find(|h| h.0 == key) {
                Some(h) => h.2 += 1,
                None => hubs.push((key, name_of(&w), 1)),
            }
            let waybill = self
                .lock()
                .store
                .open_waybills_of_order(&order_id, "")
                .map_err(storage)?
                .into_iter()
                .next();
            items.push(app_api::waybills::HubItem {
                warehouse_name: name_of(&w),
                order_id,
                reference,
                recipient,
                dropoff_address,
                warehouse: w,
                since_ms,
                waybill,
            });
        }
        hubs.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(app_api::waybills::HubInventory { items, hubs })
    }

    /// Merges a waybill as the server holds it. True when something new arrived.
    pub fn merge_waybill(&self, id: &str, bytes: &[u8]) -> Result<bool, ApiError> {
        self.merge_event_doc::<WaybillEvent>(id, bytes, waybill_doc::SHAPE, |tx, doc| {
            let state = waybill_doc::derive(&doc.events());
            let orders: Vec<String> = state.orders.iter().map(|o| o.to_string()).collect();
            tx.put_waybill(&row_of(id, &state), &orders, false)
                .map_err(storage)
        })
    }

    pub fn waybill_document(&self, id: &str) -> Result<Option<(Vec<u8>, i64)>, ApiError> {
        self.event_doc_bytes::<WaybillEvent>(id, waybill_doc::SHAPE, |tx| tx.waybill_writes(id))
    }

    pub fn waybill_synced(&self, id: &str, writes: i64) -> Result<bool, ApiError> {
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        let done = tx.waybill_synced(id, writes).map_err(storage)?;
        tx.commit().map_err(storage)?;
        Ok(done)
    }

    pub fn pending_waybills(&self) -> Result<Vec<String>, ApiError> {
        self.lock().store.pending_waybills().map_err(storage)
    }
}

#[cfg(test)]
mod tests;

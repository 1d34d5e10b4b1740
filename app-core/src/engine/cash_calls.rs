//! Cash remittance on a device ([`ruta_model::cash_doc`]): `CashAct`,
//! `CashPositions`, `CashLedger`, the remittance statement, and the sync doors
//! (`merge_cash`, `cash_document`, `cash_synced`, `pending_cash`).
//!
//! Each courier has one ledger document, the same id and first change on
//! every device, so the courier's phone and a depot desktop both write it
//! offline. Every write is one transaction: load (or create) the ledger,
//! append the event, derive — an event the rules set aside refuses the action
//! with their reason and nothing is written — save, project, commit. What the
//! courier collected is read from the orders' timelines, not copied.

use app_api::cash::{
    CashAction, CashLedgerView, CashPositionView, CashResolution, CollectionView, HandoverStatus,
    HandoverView,
};
use app_api::{ApiError, Role};
use ruta_model::cash_doc::{
    self, CashChange, CashDoc, CashDocError, CashEvent, CashState, Collection, Resolution,
};
use ruta_model::policy::Call;

use super::*;
use crate::store::CashRow;

/// The `docs.kind` of a cash ledger.
const KIND: &str = cash_doc::INDEX_KIND;

fn cash_error(e: CashDocError) -> ApiError {
    ApiError::Malformed {
        message: format!("cash ledger: {e}"),
    }
}

fn load_cash(
    saved: Option<crate::store::SavedDoc>,
    device: &crate::domain::DeviceId,
) -> Result<Option<CashDoc>, ApiError> {
    super::ledgers::load_event_doc(cash_doc::SHAPE, saved, device)
}

fn refused(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::Refused {
        code: code.into(),
        message: message.into(),
    }
}

/// A new hand-over id: a letter and ten hex digits (`H-3F9A2C01D4`).
fn new_handover_id(prefix: char) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", hex[..10].to_uppercase())
}

fn resolution_of(r: CashResolution) -> Resolution {
    match r {
        CashResolution::Recounted { cents } => Resolution::Recounted { cents },
        CashResolution::ChargedToCourier => Resolution::ChargedToCourier,
        CashResolution::WrittenOff => Resolution::WrittenOff,
    }
}

fn resolution_view(r: &Resolution) -> CashResolution {
    match r {
        Resolution::Recounted { cents } => CashResolution::Recounted { cents: *cents },
        Resolution::ChargedToCourier => CashResolution::ChargedToCourier,
        Resolution::WrittenOff => CashResolution::WrittenOff,
    }
}

fn status_view(s: cash_doc::HandoverStatus) -> HandoverStatus {
    match s {
        cash_doc::HandoverStatus::Declared => HandoverStatus::Declared,
        cash_doc::HandoverStatus::Received => HandoverStatus::Received,
        cash_doc::HandoverStatus::Discrepancy => HandoverStatus::Discrepancy,
        cash_doc::HandoverStatus::Settled => HandoverStatus::Settled,
        cash_doc::HandoverStatus::Withdrawn => HandoverStatus::Withdrawn,
    }
}

fn row_of(id: &str, courier: &str, state: &CashState) -> CashRow {
    CashRow {
        id: id.to_owned(),
        courier: courier.to_owned(),
        received: state.received_cents,
        written_off: state.written_off_cents,
        pending_cents: state.pending_cents,
        open_discrepancies: state.open_discrepancies() as u32,
        last_handover_ms: state
            .handovers
            .iter()
            .filter_map(|h| h.received_at.or(h.declared_at))
            .map(|at| at.wall_ms)
            .max(),
        pending: false,
    }
}

impl Core {
    /// Whose cash a call is about: a courier's own device always asks for its
    /// user's; an operator names the courier.
    fn cash_subject(&self, courier: Option<String>) -> Result<UserId, ApiError> {
        let (_, who) = self.principal();
        let courier = match who.role {
            Role::Courier => who.user.to_string(),
            _ => courier
                .filter(|c| !c.trim().is_empty())
                .ok_or_else(|| ApiError::Invalid {
                    field: "courier".into(),
                    message: "say whose cash this is".into(),
                })?,
        };
        super::allow(&self.lock().session, Call::Cash { courier: &courier })?;
        if !ruta_model::ids::valid_user_id(&courier) {
            return Err(ApiError::Invalid {
                field: "courier".into(),
                message: format!("{courier:?} is not a user id"),
            });
        }
        Ok(UserId::new(courier))
    }

    /// Declares, withdraws, receives or settles a hand-over; answers the
    /// courier's ledger as it stands after the write.
    pub(super) fn cash_act(&self, action: CashAction) -> Result<CashLedgerView, ApiError> {
        let (_, who) = self.principal();
        let courier_only = || {
            if who.role == Role::Courier {
                Ok(())
            } else {
                Err(refused(
                    "couriers_only",
                    "only the courier declares their own hand-over",
                ))
            }
        };
        let operators_only = || {
            if who.role.is_operator() {
                Ok(())
            } else {
                Err(refused(
                    "operators_only",
                    "only a dispatcher or admin records what was received",
                ))
            }
        };
        let (courier, change) = match action {
            CashAction::Declare { cents, note } => {
                courier_only()?;
                let handover = new_handover_id('H');
                let change = CashChange::Declared {
                    handover,
                    cents,
                    note,
                };
                (who.user.clone(), change)
            }
            CashAction::Withdraw { handover } => {
                courier_only()?;
                (who.user.clone(), CashChange::Withdrawn { handover })
            }
            CashAction::Receive {
                code,
                courier,
                cents,
                declared_cents,
                note,
            } => {
                operators_only()?;
                match code.filter(|c| !c.trim().is_empty()) {
                    Some(text) => {
                        let (c, handover, code_cents) = cash_doc::parse_handover_qr(&text)
                            .ok_or_else(|| ApiError::Invalid {
                                field: "code".into(),
                                message: "not a Ruta hand-over code (ruta-cash:1:…)".into(),
                            })?;
                        if let Some(named) = courier.filter(|n| !n.is_empty() && *n != c.as_str()) {
                            return Err(ApiError::Invalid {
                                field: "courier".into(),
                                message: format!("the code is {c}'s hand-over, not {named}'s"),
                            });
                        }
                        let change = CashChange::Received {
                            handover,
                            cents,
                            by_code: true,
                            declared_cents: Some(code_cents),
                            note,
                        };
                        (c, change)
                    }
                    None => {
                        let c = self.cash_subject(courier)?;
                        let change = CashChange::Received {
                            handover: new_handover_id('R'),
                            cents,
                            by_code: false,
                            declared_cents,
                            note,
                        };
                        (c, change)
                    }
                }
            }
            CashAction::Resolve {
                courier,
                handover,
                resolution,
                note,
            } => {
                operators_only()?;
                let c = self.cash_subject(Some(courier))?;
                let state = self.cash_state(&c)?;
                match state.handover(&handover) {
                    None => {
                        return Err(ApiError::NotFound {
                            what: format!("hand-over {handover}"),
                        });
                    }
                    Some(h) if h.status() != cash_doc::HandoverStatus::Discrepancy => {
                        return Err(refused(
                            "nothing_to_settle",
                            format!("hand-over {handover} has no open discrepancy"),
                        ));
                    }
                    Some(_) => {}
                }
                let change = CashChange::Resolved {
                    handover,
                    resolution: resolution_of(resolution),
                    note,
                };
                (c, change)
            }
        };
        super::allow(
            &self.lock().session,
            Call::Cash {
                courier: courier.as_str(),
            },
        )?;
        cash_doc::validate(&change).map_err(|e| ApiError::Invalid {
            field: e.field,
            message: e.message,
        })?;
        if !cash_doc::permitted(&who, &courier, &change) {
            return Err(refused("forbidden", "this user may not write this ledger"));
        }
        // On one device a code is received once (two desks apart: shown as a duplicate).
        if let CashChange::Received {
            handover,
            by_code: true,
            ..
        } = &change
            && let Some(h) = self.cash_state(&courier)?.handover(handover)
            && h.received_cents.is_some()
        {
            return Err(refused(
                "already_received",
                format!(
                    "hand-over {handover} was already received by {}",
                    h.received_by.as_ref().map_or("someone", |u| u.as_str())
                ),
            ));
        }
        self.write_cash(&courier, change)?;
        self.cash_ledger(Some(courier.to_string()))
    }

    /// Appends `change` to `courier`'s ledger in one transaction; refused
    /// (nothing written) when the rules set it aside.
    fn write_cash(&self, courier: &UserId, change: CashChange) -> Result<(), ApiError> {
        let (actor, _) = self.principal();
        let now = self.clock.now_ms();
        let id = cash_doc::ledger_id(courier);
        {
            let mut inner = self.lock();
            let device = inner.store.device_id().clone();
            let tx = inner.store.write().map_err(storage)?;
            let mut doc = match load_cash(tx.load_doc(&id).map_err(storage)?, &device)? {
                Some(d) => d,
                None => cash_doc::create(courier, &device).map_err(cash_error)?,
            };
            let mut clock = resume_clock(&tx, &device)?;
            // Past every stamp the document holds (written elsewhere, merged
            // here): a new event is never ordered before what it follows.
            if let Some(latest) = doc.events().iter().map(|e| e.at).max() {
                clock.observe(latest, now);
            }
            let e = CashEvent {
                at: clock.tick(now),
                actor,
                change,
            };
            doc.append(&e).map_err(cash_error)?;
            let state = cash_doc::derive(Some(courier), &doc.events(), &[]);
            if let Some((_, why)) = state.ignored.iter().find(|(k, _)| *k == e.id()) {
                return Err(refused("cash_refused", why.clone()));
            }
            tx.put_snapshot(&id, KIND, &doc.save()).map_err(storage)?;
            tx.put_cash(&row_of(&id, courier.as_str(), &state), true)
                .map_err(storage)?;
            tx.set_meta("hlc", &clock.last().to_string())
                .map_err(storage)?;
            tx.commit().map_err(storage)?;
            inner.store.after_commit().map_err(storage)?;
        }
        self.revision
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.ledger_written(LedgerKind::Cash, &id);
        Ok(())
    }

    fn cash_doc(&self, courier: &UserId) -> Result<Option<CashDoc>, ApiError> {
        let inner = self.lock();
        let device = inner.store.device_id().clone();
        load_cash(
            inner
                .store
                .read_doc(&cash_doc::ledger_id(courier))
                .map_err(storage)?,
            &device,
        )
    }

    fn collections_of(
        &self,
        courier: &UserId,
    ) -> Result<Vec<crate::store::CollectionRow>, ApiError> {
        self.lock()
            .store
            .collections(courier.as_str())
            .map_err(storage)
    }

    fn cash_state(&self, courier: &UserId) -> Result<CashState, ApiError> {
        let events = self
            .cash_doc(courier)?
            .map(|d| d.events())
            .unwrap_or_default();
        let collected: Vec<Collection> = self
            .collections_of(courier)?
            .into_iter()
            .map(|c| Collection {
                order: OrderId::new(c.order_id),
                cents: c.cents,
                at_ms: c.at_ms,
            })
            .collect();
        Ok(cash_doc::derive(Some(courier), &events, &collected))
    }

    fn courier_name(&self, courier: &str) -> String {
        self.courier_directory()
            .into_iter()
            .find(|c| c.user == courier)
            .map(|c| c.name)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| courier.to_owned())
    }

    #[allow(clippy::too_many_arguments)]
    fn position_view(
        &self,
        courier: &str,
        name: String,
        collected: i64,
        received: i64,
        written_off: i64,
        pending: i64,
        open: u32,
        last: Option<i64>,
    ) -> CashPositionView {
        let tariff = self.tenant_config().tariff;
        let outstanding = collected - received - written_off;
        CashPositionView {
            courier: courier.to_owned(),
            courier_name: name,
            currency: tariff.currency,
            collected_cents: collected,
            received_cents: received,
            written_off_cents: written_off,
            pending_cents: pending,
            outstanding_cents: outstanding,
            open_discrepancies: open,
            limit_cents: tariff.cash_limit_cents,
            over_limit: tariff.cash_limit_cents.is_some_and(|l| outstanding > l),
            last_handover_ms: last,
        }
    }

    /// One courier's ledger: position, hand-overs and collections, newest first.
    pub(super) fn cash_ledger(&self, courier: Option<String>) -> Result<CashLedgerView, ApiError> {
        let courier = self.cash_subject(courier)?;
        let state = self.cash_state(&courier)?;
        let collections = self.collections_of(&courier)?;
        let id = cash_doc::ledger_id(&courier);
        let row = row_of(&id, courier.as_str(), &state);
        let pending_sync = self
            .lock()
            .store
            .cash_ledgers()
            .map_err(storage)?
            .into_iter()
            .any(|r| r.id == id && r.pending);
        let position = self.position_view(
            courier.as_str(),
            self.courier_name(courier.as_str()),
            state.collected_cents,
            row.received,
            row.written_off,
            row.pending_cents,
            row.open_discrepancies,
            row.last_handover_ms,
        );
        let handovers = state
            .handovers
            .iter()
            .rev()
            .map(|h| {
                let status = h.status();
                let qr = (status == cash_doc::HandoverStatus::Declared)
                    .then(|| cash_doc::handover_qr(&courier, &h.id, h.declared_cents.unwrap_or(0)));
                HandoverView {
                    id: h.id.clone(),
                    status: status_view(status),
                    declared_cents: h.declared_cents,
                    declared_at_ms: h.declared_at.map(|a| a.wall_ms),
                    received_cents: h.received_cents,
                    received_at_ms: h.received_at.map(|a| a.wall_ms),
                    received_by: h
                        .received_by
                        .as_ref()
                        .map(|u| self.courier_name(u.as_str())),
                    difference_cents: h.difference(),
                    paired_receipt: h.paired_receipt.clone(),
                    duplicate_receipts: h
                        .duplicate_receipts
                        .iter()
                        .map(|(u, c)| (u.to_string(), *c))
                        .collect(),
                    resolution: h.resolution.as_ref().map(resolution_view),
                    resolved_by: h.resolved_by.as_ref().map(|u| u.to_string()),
                    notes: h.notes.clone(),
                    qr_png_base64: qr
                        .as_deref()
                        .and_then(|q| crate::pod::verify::qr_png(q, 6).ok())
                        .map(|png| {
                            use base64::Engine as _;
                            base64::engine::general_purpose::STANDARD.encode(png)
                        }),
                    qr_payload: qr,
                }
            })
            .collect();
        Ok(CashLedgerView {
            position,
            handovers,
            collections: collections
                .into_iter()
                .map(|c| CollectionView {
                    order_id: c.order_id,
                    reference: c.reference,
                    cents: c.cents,
                    at_ms: c.at_ms,
                })
                .collect(),
            pending_sync,
        })
    }

    /// Every courier's position (operators), or the courier's own.
    pub(super) fn cash_positions(&self) -> Result<Vec<CashPositionView>, ApiError> {
        let (_, who) = self.principal();
        if who.role == Role::Courier {
            return Ok(vec![self.cash_ledger(None)?.position]);
        }
        super::allow(&self.lock().session, Call::Cash { courier: "" })?;
        let (collected, rows) = {
            let inner = self.lock();
            (
                inner.store.collected_by_courier().map_err(storage)?,
                inner.store.cash_ledgers().map_err(storage)?,
            )
        };
        let directory = self.courier_directory();
        let mut couriers: Vec<String> = directory.iter().map(|c| c.user.clone()).collect();
        couriers.extend(collected.iter().map(|(c, ..)| c.clone()));
        couriers.extend(rows.iter().map(|r| r.courier.clone()));
        couriers.sort();
        couriers.dedup();
        let mut out: Vec<CashPositionView> = couriers
            .into_iter()
            .map(|c| {
                let got = collected.iter().find(|(u, ..)| *u == c);
                let row = rows.iter().find(|r| r.courier == c);
                self.position_view(
                    &c,
                    self.courier_name(&c),
                    got.map_or(0, |g| g.1),
                    row.map_or(0, |r| r.received),
                    row.map_or(0, |r| r.written_off),
                    row.map_or(0, |r| r.pending_cents),
                    row.map_or(0, |r| r.open_discrepancies),
                    row.and_then(|r| r.last_handover_ms),
                )
            })
            .collect();
        // Most to chase first: discrepancies, then cash in hand.
        out.sort_by(|a, b| {
            b.open_discrepancies
                .cmp(&a.open_discrepancies)
                .then(b.outstanding_cents.cmp(&a.outstanding_cents))
                .then_with(|| a.courier_name.cmp(&b.courier_name))
        });
        Ok(out)
    }

    /// The couriers over the tenant's cash limit (the proposal skips them for cash orders).
    pub(super) fn couriers_over_cash_limit(&self) -> Vec<String> {
        if self.tenant_config().tariff.cash_limit_cents.is_none() {
            return Vec::new();
        }
        match self.cash_positions() {
            Ok(p) => p
                .into_iter()
                .filter(|p| p.over_limit)
                .map(|p| p.courier)
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Merges a ledger as the server holds it (the sync client calls this
    /// whenever it changes). True when something new arrived.
    pub fn merge_cash(&self, id: &str, bytes: &[u8]) -> Result<bool, ApiError> {
        self.merge_event_doc::<CashEvent>(id, bytes, cash_doc::SHAPE, |tx, doc| {
            let courier =
                cash_doc::courier_of(doc.automerge()).ok_or_else(|| ApiError::Malformed {
                    message: format!("cash ledger {id} names no courier"),
                })?;
            if cash_doc::ledger_id(&courier) != id {
                return Err(ApiError::Malformed {
                    message: format!("document {id} is not {courier}'s cash ledger"),
                });
            }
            let state = cash_doc::derive(Some(&courier), &doc.events(), &[]);
            tx.put_cash(&row_of(id, courier.as_str(), &state), false)
                .map_err(storage)
        })
    }

    /// A ledger as this device holds it and its write count.
    pub fn cash_document(&self, id: &str) -> Result<Option<(Vec<u8>, i64)>, ApiError> {
        self.event_doc_bytes::<CashEvent>(id, cash_doc::SHAPE, |tx| tx.cash_writes(id))
    }

    /// The server holds ledger `id` as of `writes` local writes.
    pub fn cash_synced(&self, id: &str, writes: i64) -> Result<bool, ApiError> {
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        let done = tx.cash_synced(id, writes).map_err(storage)?;
        tx.commit().map_err(storage)?;
        Ok(done)
    }

    /// Ledgers written here and not yet confirmed by the server.
    pub fn pending_cash(&self) -> Result<Vec<String>, ApiError> {
        self.lock().store.pending_cash().map_err(storage)
    }
}

mod remittance;
#[cfg(test)]
mod tests;

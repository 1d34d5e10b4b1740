//! The sync doors every small event-map document shares (trips, cash
//! ledgers): the whole document and its write count for the sync client, a
//! merge of the server's copy, the confirmation, and the write hook — one
//! set of calls whatever the kind, so the sync client has one bridge.

use app_api::ApiError;

use super::Core;

/// A kind of small synced document (see `ruta_model::event_doc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LedgerKind {
    Trip,
    Cash,
    Waybill,
}

impl LedgerKind {
    /// The kind as a user's index names it.
    pub fn of_index(kind: &str) -> Option<Self> {
        match kind {
            ruta_model::trip_doc::INDEX_KIND => Some(Self::Trip),
            ruta_model::cash_doc::INDEX_KIND => Some(Self::Cash),
            ruta_model::waybill_doc::INDEX_KIND => Some(Self::Waybill),
            _ => None,
        }
    }
}

pub(crate) type LedgerWriteHook = Box<dyn Fn(LedgerKind, &str) + Send + Sync>;

impl Core {
    /// Registers `hook`, called with the kind and id after every local write
    /// of a trip or cash ledger.
    pub fn on_ledger_write(&self, hook: impl Fn(LedgerKind, &str) + Send + Sync + 'static) {
        self.ledger_hooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(hook));
    }

    pub(super) fn ledger_written(&self, kind: LedgerKind, id: &str) {
        for hook in self
            .ledger_hooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            hook(kind, id);
        }
    }

    /// The document as this device holds it and its write count.
    pub fn ledger_document(
        &self,
        kind: LedgerKind,
        id: &str,
    ) -> Result<Option<(Vec<u8>, i64)>, ApiError> {
        match kind {
            LedgerKind::Trip => self.trip_document(id),
            LedgerKind::Cash => self.cash_document(id),
            LedgerKind::Waybill => self.waybill_document(id),
        }
    }

    /// Merges the document as the server holds it; true when something new arrived.
    pub fn merge_ledger(&self, kind: LedgerKind, id: &str, bytes: &[u8]) -> Result<bool, ApiError> {
        match kind {
            LedgerKind::Trip => self.merge_trip(id, bytes),
            LedgerKind::Cash => self.merge_cash(id, bytes),
            LedgerKind::Waybill => self.merge_waybill(id, bytes),
        }
    }

    /// The server holds the document as of `writes` local writes.
    pub fn ledger_synced(&self, kind: LedgerKind, id: &str, writes: i64) -> Result<bool, ApiError> {
        match kind {
            LedgerKind::Trip => self.trip_synced(id, writes),
            LedgerKind::Cash => self.cash_synced(id, writes),
            LedgerKind::Waybill => self.waybill_synced(id, writes),
        }
    }

    /// Documents written here and not yet confirmed by the server.
    pub fn pending_ledgers(&self) -> Result<Vec<(LedgerKind, String)>, ApiError> {
        let mut out: Vec<_> = self
            .pending_trips()?
            .into_iter()
            .map(|id| (LedgerKind::Trip, id))
            .collect();
        out.extend(
            self.pending_cash()?
                .into_iter()
                .map(|id| (LedgerKind::Cash, id)),
        );
        out.extend(
            self.pending_waybills()?
                .into_iter()
                .map(|id| (LedgerKind::Waybill, id)),
        );
        Ok(out)
    }
}

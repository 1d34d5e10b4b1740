//! The sync doors every small event-map document shares (trips, cash
//! ledgers, waybills, route sessions): the whole document and its write count for the sync client, a
//! merge of the server's copy, the confirmation, and the write hook — one
//! set of calls whatever the kind, so the sync client has one bridge.

use app_api::ApiError;
use ruta_model::event_doc::{EventDoc, LedgerEvent, Shape};

use super::{Core, storage};

/// A kind of small synced document (see `ruta_model::event_doc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LedgerKind {
    Trip,
    Cash,
    Waybill,
    Session,
    Chat,
    Inbox,
    Ticket,
}

impl LedgerKind {
    /// The kind as a user's index names it.
    pub fn of_index(kind: &str) -> Option<Self> {
        match kind {
            ruta_model::trip_doc::INDEX_KIND => Some(Self::Trip),
            ruta_model::cash_doc::INDEX_KIND => Some(Self::Cash),
            ruta_model::waybill_doc::INDEX_KIND => Some(Self::Waybill),
            ruta_model::session_doc::INDEX_KIND => Some(Self::Session),
            ruta_model::chat_doc::INDEX_KIND => Some(Self::Chat),
            ruta_model::inbox_doc::INDEX_KIND => Some(Self::Inbox),
            ruta_model::ticket_doc::INDEX_KIND => Some(Self::Ticket),
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
            LedgerKind::Session => self.session_document(id),
            LedgerKind::Chat => self.chat_document(id),
            LedgerKind::Inbox => self.inbox_document(id),
            LedgerKind::Ticket => self.ticket_document(id),
        }
    }

    /// Files (chat photos) the document refers to that this device lacks:
    /// the sync client fetches them after a merge.
    pub fn ledger_missing_blobs(&self, kind: LedgerKind, id: &str) -> Vec<String> {
        match kind {
            LedgerKind::Chat => self.chat_missing_photos(id),
            _ => Vec::new(),
        }
    }

    /// Merges the document as the server holds it; true when something new arrived.
    pub fn merge_ledger(&self, kind: LedgerKind, id: &str, bytes: &[u8]) -> Result<bool, ApiError> {
        match kind {
            LedgerKind::Trip => self.merge_trip(id, bytes),
            LedgerKind::Cash => self.merge_cash(id, bytes),
            LedgerKind::Waybill => self.merge_waybill(id, bytes),
            LedgerKind::Session => self.merge_session(id, bytes),
            LedgerKind::Chat => self.merge_chat(id, bytes),
            LedgerKind::Inbox => self.merge_inbox(id, bytes),
            LedgerKind::Ticket => self.merge_ticket(id, bytes),
        }
    }

    /// The server holds the document as of `writes` local writes.
    pub fn ledger_synced(&self, kind: LedgerKind, id: &str, writes: i64) -> Result<bool, ApiError> {
        match kind {
            LedgerKind::Trip => self.trip_synced(id, writes),
            LedgerKind::Cash => self.cash_synced(id, writes),
            LedgerKind::Waybill => self.waybill_synced(id, writes),
            LedgerKind::Session => self.session_synced(id, writes),
            LedgerKind::Chat => self.chat_synced(id, writes),
            LedgerKind::Inbox => self.inbox_synced(id, writes),
            LedgerKind::Ticket => self.ticket_synced(id, writes),
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
        out.extend(
            self.pending_sessions()?
                .into_iter()
                .map(|id| (LedgerKind::Session, id)),
        );
        out.extend(
            self.pending_chats()?
                .into_iter()
                .map(|id| (LedgerKind::Chat, id)),
        );
        out.extend(
            self.pending_inboxes()?
                .into_iter()
                .map(|id| (LedgerKind::Inbox, id)),
        );
        out.extend(
            self.pending_tickets()?
                .into_iter()
                .map(|id| (LedgerKind::Ticket, id)),
        );
        Ok(out)
    }
}

fn doc_error(shape: Shape, e: ruta_model::event_doc::EventDocError) -> ApiError {
    ApiError::Malformed {
        message: format!("{} document: {e}", shape.kind),
    }
}

/// A stored document of `shape` (its snapshot and later changes), if any.
pub(super) fn load_event_doc<E: LedgerEvent>(
    shape: Shape,
    saved: Option<crate::store::SavedDoc>,
    device: &crate::domain::DeviceId,
) -> Result<Option<EventDoc<E>>, ApiError> {
    let Some((snapshot, changes)) = saved else {
        return Ok(None);
    };
    let mut doc = EventDoc::load(shape, &snapshot, device).map_err(|e| doc_error(shape, e))?;
    for c in changes {
        doc.merge_bytes(&c).map_err(|e| doc_error(shape, e))?;
    }
    Ok(Some(doc))
}

impl Core {
    /// Merges `bytes` (the document as the server holds it) into stored
    /// document `id` of `shape`; when something new arrived, saves it and
    /// runs `project` in the same transaction (an error there writes
    /// nothing). True when something new arrived.
    pub(super) fn merge_event_doc<E: LedgerEvent>(
        &self,
        id: &str,
        bytes: &[u8],
        shape: Shape,
        project: impl FnOnce(&crate::store::Tx<'_>, &EventDoc<E>) -> Result<(), ApiError>,
    ) -> Result<bool, ApiError> {
        let changed = {
            let mut inner = self.lock();
            let device = inner.store.device_id().clone();
            let tx = inner.store.write().map_err(storage)?;
            let stored = load_event_doc::<E>(shape, tx.load_doc(id).map_err(storage)?, &device)?;
            let (mut doc, fresh) = match stored {
                Some(mut doc) => {
                    let before = doc.heads();
                    doc.merge_bytes(bytes).map_err(|e| doc_error(shape, e))?;
                    let after = doc.heads();
                    (doc, before != after)
                }
                None => (
                    EventDoc::load(shape, bytes, &device).map_err(|e| doc_error(shape, e))?,
                    true,
                ),
            };
            if fresh {
                tx.put_snapshot(id, shape.kind, &doc.save())
                    .map_err(storage)?;
                project(&tx, &doc)?;
                tx.commit().map_err(storage)?;
            }
            fresh
        };
        if changed {
            self.revision
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(changed)
    }

    /// Stored document `id` of `shape` and its local write count (`writes`).
    pub(super) fn event_doc_bytes<E: LedgerEvent>(
        &self,
        id: &str,
        shape: Shape,
        writes: impl FnOnce(&crate::store::Tx<'_>) -> Result<Option<i64>, crate::store::StoreError>,
    ) -> Result<Option<(Vec<u8>, i64)>, ApiError> {
        let mut inner = self.lock();
        let device = inner.store.device_id().clone();
        let saved = inner.store.read_doc(id).map_err(storage)?;
        let Some(mut doc) = load_event_doc::<E>(shape, saved, &device)? else {
            return Ok(None);
        };
        let tx = inner.store.write().map_err(storage)?;
        let count = writes(&tx).map_err(storage)?.unwrap_or(0);
        drop(tx);
        Ok(Some((doc.save(), count)))
    }
}

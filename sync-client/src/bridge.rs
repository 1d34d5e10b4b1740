//! The bridges between Core and the repo: one per order document, started
//! from the user's index and from local writes. [`BridgeState`] is the pure
//! half (what a bridge knows and decides, unit-tested); the async functions
//! here only move bytes between Core, the repo and the server's acknowledgements.

use super::*;

/// The main loop: follows the index, starts a bridge per document, reports the link.
pub(crate) async fn run(
    shared: Arc<Shared>,
    mut local: mpsc::UnboundedReceiver<OrderId>,
    mut local_ledgers: mpsc::UnboundedReceiver<(LedgerKind, String)>,
) {
    let mut bridges: HashMap<OrderId, mpsc::UnboundedSender<()>> = HashMap::new();
    let mut ledgers: HashMap<(LedgerKind, String), mpsc::UnboundedSender<()>> = HashMap::new();
    let mut couriers: HashSet<DocumentId> = HashSet::new();
    let mut configs: HashSet<DocumentId> = HashSet::new();
    let mut index: Option<DocHandle> = None;
    let mut index_changes: Option<futures::stream::BoxStream<'static, ()>> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut read_heads = None;
    let mut read_at = None;
    let mut ended = false;
    // Records pending from an earlier run (killed mid-sync) go first.
    if let Ok(pending) = shared.core.pending() {
        for (id, _) in pending {
            start_bridge(&shared, &mut bridges, id);
        }
    }
    if let Ok(pending) = shared.core.pending_ledgers() {
        for (kind, id) in pending {
            start_ledger_bridge(&shared, &mut ledgers, kind, id);
        }
    }
    loop {
        if index.is_none()
            && let Some(id) = shared.me.index_url.as_deref().and_then(parse_url)
            && let Ok(Some(h)) = shared.repo.find(id).await
        {
            index_changes = Some(h.changes().map(|_| ()).boxed());
            index = Some(h);
        }
        // The index is re-read when it changed, when a bridge ended (it is
        // started again) and every few seconds, not on every wake: each
        // delivery receipt a desk writes wakes this loop, and reading an
        // index of thousands of entries each time was 31% of a desk's CPU
        // with 2,000 couriers (`cargo bench -p sync-server --bench chat`).
        let heads = index.as_ref().map(|h| h.with_document(|d| d.get_heads()));
        let stale = heads != read_heads
            || ended
            || read_at.is_none_or(|t: tokio::time::Instant| t.elapsed() >= INDEX_REREAD);
        if let Some(h) = index.as_ref().filter(|_| stale) {
            read_heads = heads;
            read_at = Some(tokio::time::Instant::now());
            for (doc, kind) in read_index(h) {
                match kind.as_str() {
                    "order" => {
                        if let Some(order) = order_of(&doc) {
                            start_bridge(&shared, &mut bridges, order);
                        }
                    }
                    kind if LedgerKind::of_index(kind).is_some() => {
                        let kind = LedgerKind::of_index(kind).expect("matched");
                        if let Some(id) = order_of(&doc) {
                            start_ledger_bridge(&shared, &mut ledgers, kind, id.to_string());
                        }
                    }
                    "courier" if couriers.insert(doc.clone()) => {
                        shared.spawn(follow_courier(shared.clone(), doc));
                    }
                    kind if app_core::config_doc::scope_of_kind(kind).is_some()
                        && configs.insert(doc.clone()) =>
                    {
                        let scope = app_core::config_doc::scope_of_kind(kind).expect("matched");
                        shared.spawn(config_bridge(shared.clone(), doc, scope));
                    }
                    _ => {}
                }
            }
        }
        tokio::select! {
            Some(id) = local.recv() => {
                start_bridge(&shared, &mut bridges, id.clone());
                if let Some(tx) = bridges.get(&id) { let _ = tx.send(()); }
                while let Ok(id) = local.try_recv() {
                    start_bridge(&shared, &mut bridges, id.clone());
                    if let Some(tx) = bridges.get(&id) { let _ = tx.send(()); }
                }
            }
            Some((kind, id)) = local_ledgers.recv() => {
                start_ledger_bridge(&shared, &mut ledgers, kind, id.clone());
                if let Some(tx) = ledgers.get(&(kind, id)) { let _ = tx.send(()); }
            }
            _ = async { match index_changes.as_mut() { Some(s) => { s.next().await; } None => std::future::pending().await } } => {}
            _ = tick.tick() => {}
        }
        let before = bridges.len() + ledgers.len();
        bridges.retain(|_, tx| !tx.is_closed());
        ledgers.retain(|_, tx| !tx.is_closed());
        ended = bridges.len() + ledgers.len() < before;
    }
}

/// How often the index is read again though it did not change.
const INDEX_REREAD: Duration = Duration::from_secs(5);

fn start_ledger_bridge(
    shared: &Arc<Shared>,
    ledgers: &mut HashMap<(LedgerKind, String), mpsc::UnboundedSender<()>>,
    kind: LedgerKind,
    id: String,
) {
    let key = (kind, id);
    if ledgers.contains_key(&key) || app_core::ids::doc_id_of_uuid(&key.1).is_none() {
        return;
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let id = key.1.clone();
    ledgers.insert(key, tx);
    shared.spawn(ledger_bridge(shared.clone(), kind, id, rx));
}

/// A small document (a trip, a cash ledger) between Core and the repo: each
/// side merges the other's whole document (Automerge merges are
/// idempotent). A local write wakes it; once the server acknowledges the
/// repo's changes, Core's write count at the push is confirmed (the
/// document is no longer pending).
pub(crate) async fn ledger_bridge(
    shared: Arc<Shared>,
    kind: LedgerKind,
    id: String,
    mut wake: mpsc::UnboundedReceiver<()>,
) {
    let doc = app_core::ids::doc_id_of_uuid(&id).expect("checked by start_ledger_bridge");
    // Seed the repo's store from Core when the repo has never seen it (a
    // document written first on this device), so `find` loads it locally.
    {
        let core = shared.core.clone();
        let storage = shared.storage.clone();
        let (t, d) = (id.clone(), doc.to_string());
        blocking(move || {
            let prefix = StorageKey::new([d.as_str()]).expect("doc ids are keys");
            if storage
                .load_range(&prefix)
                .map(|r| r.is_empty())
                .unwrap_or(false)
                && let Ok(Some((bytes, _))) = core.ledger_document(kind, &t)
            {
                let head = automerge::Automerge::load(&bytes)
                    .ok()
                    .and_then(|a| a.get_heads().first().map(|h| h.to_string()))
                    .unwrap_or_else(|| "seed".into());
                let key =
                    StorageKey::new([d.as_str(), "incremental", &head]).expect("hex is a key");
                if let Err(e) = storage.put(&key, &bytes) {
                    tracing::error!(doc = %t, ?kind, error = %e, "cannot seed the sync store");
                }
            }
        })
        .await;
    }
    let Some(handle) = find_until_found(&shared.repo, doc, Duration::from_secs(3600)).await else {
        return;
    };
    let mut changes = handle.changes().map(|_| ()).boxed();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        // Ours into the repo.
        let (core, t) = (shared.core.clone(), id.clone());
        let ours = blocking(move || core.ledger_document(kind, &t).ok().flatten()).await;
        let writes = ours.as_ref().map_or(0, |(_, w)| *w);
        if let Some((bytes, _)) = ours {
            handle.with_document(|d| {
                if let Err(e) = d.load_incremental(&bytes) {
                    tracing::warn!(doc = %id, ?kind, error = %e, "not merged into the repo");
                }
            });
        }
        // The repo's into Core.
        let bytes = handle.with_document(|d| d.save());
        let (core, t) = (shared.core.clone(), id.clone());
        match blocking(move || core.merge_ledger(kind, &t, &bytes)).await {
            Err(e) => tracing::warn!(doc = %id, ?kind, error = %e, "not applied"),
            // A conversation's photos: fetched once the message is here (the
            // server gives them to its participants).
            Ok(true) => {
                let (core, t) = (shared.core.clone(), id.clone());
                let wanted = blocking(move || core.ledger_missing_blobs(kind, &t)).await;
                if !wanted.is_empty() {
                    shared.spawn(fetch_blobs(shared.clone(), id.clone(), wanted));
                }
            }
            Ok(false) => {}
        }
        // Confirm what the server has.
        let (core, t) = (shared.core.clone(), id.clone());
        let pending = blocking(move || {
            core.pending_ledgers()
                .unwrap_or_default()
                .contains(&(kind, t))
        })
        .await;
        if pending
            && let Some(conn) = shared.dialer.connection_id()
            && tokio::time::timeout(Duration::from_secs(5), handle.they_have_our_changes(conn))
                .await
                .is_ok()
        {
            let (core, t) = (shared.core.clone(), id.clone());
            let _ = blocking(move || core.ledger_synced(kind, &t, writes)).await;
        }
        tokio::select! {
            c = changes.next() => { if c.is_none() { return; } }
            w = wake.recv() => { if w.is_none() { return; } while wake.try_recv().is_ok() {} }
            _ = tick.tick(), if pending => {}
        }
    }
}

pub(crate) fn start_bridge(
    shared: &Arc<Shared>,
    bridges: &mut HashMap<OrderId, mpsc::UnboundedSender<()>>,
    id: OrderId,
) {
    if bridges.contains_key(&id) || doc_id_of(&id).is_none() {
        return;
    }
    let (tx, rx) = mpsc::unbounded_channel();
    bridges.insert(id.clone(), tx);
    shared.spawn(bridge(shared.clone(), id, rx));
}

/// A configuration document (the tenant's or the staff one) between Core and
/// the repo: small, so each side merges the other's whole document (Automerge
/// merges are idempotent). Remote changes apply on the device at once; an
/// admin's local change (Core's config hook) goes into the repo and so to the
/// server.
pub(crate) async fn config_bridge(
    shared: Arc<Shared>,
    doc: DocumentId,
    scope: app_api::config::ConfigScope,
) {
    let Some(handle) = find_until_found(&shared.repo, doc.clone(), Duration::from_secs(3600)).await
    else {
        return;
    };
    let id = doc.to_string();
    let local = Arc::new(tokio::sync::Notify::new());
    {
        let local = local.clone();
        shared.core.on_config_write(move || local.notify_one());
    }
    let mut changes = handle.changes().map(|_| ()).boxed();
    loop {
        // Ours into the repo: a change made offline, or before the document arrived.
        let core = shared.core.clone();
        if let Some((held, bytes)) =
            blocking(move || core.config_document(scope).ok().flatten()).await
            && held == id
        {
            handle.with_document(|d| {
                if let Err(e) = d.load_incremental(&bytes) {
                    tracing::warn!(error = %e, "configuration not merged into the repo");
                }
            });
        }
        // The repo's into Core.
        let bytes = handle.with_document(|d| d.save());
        let (core, doc_id) = (shared.core.clone(), id.clone());
        match blocking(move || core.merge_config(&doc_id, &bytes)).await {
            Ok(true) => tracing::info!(doc = %id, "tenant configuration updated"),
            Ok(false) => {}
            Err(e) => tracing::warn!(doc = %id, error = %e, "configuration not applied"),
        }
        tokio::select! {
            _ = changes.next() => {}
            () = local.notified() => {}
        }
    }
}

/// (document, kind) entries of an index document.
pub(crate) fn read_index(handle: &DocHandle) -> Vec<(DocumentId, String)> {
    handle.with_document(|d| {
        let Ok(Some((_, docs))) = d.get(automerge::ROOT, "docs") else {
            return Vec::new();
        };
        d.map_range(&docs, ..)
            .filter_map(|item| {
                let id = parse_url(&item.key)?;
                let kind = item
                    .value
                    .clone()
                    .into_value()
                    .into_string()
                    .unwrap_or_else(|_| "order".to_owned());
                Some((id, kind))
            })
            .collect()
    })
}

/// One order document between Core and the repo.
pub(crate) async fn bridge(
    shared: Arc<Shared>,
    order: OrderId,
    mut wake: mpsc::UnboundedReceiver<()>,
) {
    let doc_id = doc_id_of(&order).expect("checked by start_bridge");
    // Seed the repo's store from Core if the repo has never seen this document
    // (an order created on this device), so `find` loads it locally.
    {
        let core = shared.core.clone();
        let storage = shared.storage.clone();
        let (o, d) = (order.clone(), doc_id.to_string());
        blocking(move || {
            let prefix = StorageKey::new([d.as_str()]).expect("doc ids are keys");
            if storage
                .load_range(&prefix)
                .map(|r| r.is_empty())
                .unwrap_or(false)
                && let Ok(bytes) = core.doc_bytes(&o)
                && let Ok(heads) = core.heads(&o)
                && let Some(head) = heads.first()
            {
                let key = StorageKey::new([d.as_str(), "incremental", &head.to_string()])
                    .expect("hex is a key");
                if let Err(e) = storage.put(&key, &bytes) {
                    tracing::error!(order = %o, error = %e, "cannot seed the sync store");
                }
            }
        })
        .await;
    }
    let Some(handle) =
        find_until_found(&shared.repo, doc_id.clone(), Duration::from_secs(3600)).await
    else {
        return;
    };
    let mut changes = handle.changes().boxed();
    let mut confirm_tick = tokio::time::interval(Duration::from_millis(300));
    let mut connected = shared.connected.subscribe();
    let mut state = BridgeState::default();
    push(&shared, &order, &handle, &mut state).await;
    loop {
        tokio::select! {
            c = changes.next() => {
                if c.is_none() { return; }
                pull(&shared, &order, &handle, &mut state).await;
            }
            w = wake.recv() => {
                if w.is_none() { return; }
                while wake.try_recv().is_ok() {}
                push(&shared, &order, &handle, &mut state).await;
                confirm(&shared, &order, &handle, &mut state).await;
            }
            _ = connected.changed() => {
                confirm(&shared, &order, &handle, &mut state).await;
            }
            _ = confirm_tick.tick() => {
                confirm(&shared, &order, &handle, &mut state).await;
            }
        }
    }
}

/// Repo -> Core: only what the repo has beyond what both sides are known to have.
async fn pull(shared: &Arc<Shared>, order: &OrderId, handle: &DocHandle, state: &mut BridgeState) {
    let (heads, bytes) = handle.with_document(|d| {
        let heads = d.get_heads();
        let bytes = match state.to_pull(&heads) {
            Pull::Nothing => None,
            Pull::Whole => Some(d.save()),
            Pull::After(seen) => Some(d.save_after(seen)),
        };
        (heads, bytes)
    });
    let Some(bytes) = bytes else { return };
    let core = shared.core.clone();
    let o = order.clone();
    match blocking(move || core.merge_remote(&o, &bytes)).await {
        Ok(merged) => {
            state.pulled(heads);
            if shared.me.role.is_operator() {
                let wanted: Vec<String> = merged
                    .blobs
                    .into_iter()
                    .filter(|h| !shared.core.blobs().has(h))
                    .collect();
                if !wanted.is_empty() {
                    shared.spawn(fetch_blobs(shared.clone(), order.to_string(), wanted));
                }
            }
        }
        Err(e) => tracing::warn!(order = %order, error = %e, "remote document not merged"),
    }
}

/// Core -> repo: the changes the repo lacks, from one store call
/// ([`Core::exchange`]); when the repo has changes Core lacks, those are
/// pulled first (up to [`PUSH_TRIES`] times).
async fn push(shared: &Arc<Shared>, order: &OrderId, handle: &DocHandle, state: &mut BridgeState) {
    for _ in 0..PUSH_TRIES {
        let repo_heads = handle.with_document(|d| d.get_heads());
        let core = shared.core.clone();
        let (o, rh) = (order.clone(), repo_heads.clone());
        let ex = match blocking(move || core.exchange(&o, &rh)).await {
            Ok(ex) => ex,
            Err(e) => {
                tracing::error!(order = %order, error = %e, "local document not pushed");
                state.push_failed();
                return;
            }
        };
        if ex.behind {
            pull(shared, order, handle, state).await;
            continue;
        }
        let repo_after = if ex.for_peer.is_empty() {
            Some(repo_heads)
        } else {
            handle.with_document(|d| match d.load_incremental(&ex.for_peer) {
                Ok(_) => Some(d.get_heads()),
                Err(e) => {
                    tracing::error!(order = %order, error = %e, "local document not pushed");
                    None
                }
            })
        };
        state.pushed(&ex.heads, repo_after.as_deref(), ex.writes, ex.pending);
        return;
    }
    tracing::warn!(order = %order, "the synced copy keeps changes this device cannot merge");
    state.push_failed();
}

/// If the record is pending and connected: wait for the server's
/// acknowledgement of the pushed heads, and mark it synced when its blobs are
/// confirmed too.
async fn confirm(
    shared: &Arc<Shared>,
    order: &OrderId,
    handle: &DocHandle,
    state: &mut BridgeState,
) {
    let Some(writes) = state.to_confirm() else {
        return;
    };
    let Some(conn) = shared.dialer.connection_id() else {
        return;
    };
    if tokio::time::timeout(Duration::from_secs(5), handle.they_have_our_changes(conn))
        .await
        .is_err()
    {
        return;
    }
    // Blobs referenced by this order's proofs must be confirmed first.
    let core = shared.core.clone();
    let o = order.clone();
    let blobs = shared.blobs.clone();
    let done = blocking(move || {
        core.confirm_synced(&o, writes, |h| blobs.is_confirmed(h))
            .unwrap_or(false)
    })
    .await;
    if done {
        state.confirmed(writes);
        tracing::debug!(order = %order, "synced");
    }
}

/// How often a push pulls the repo's newer changes first before giving up
/// until the next wake.
const PUSH_TRIES: usize = 3;

/// What a pull should take from the repo's copy.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pull<'a> {
    /// Core has everything the repo has.
    Nothing,
    /// Core has nothing known in common with the repo: the whole document.
    Whole,
    /// The changes after these heads.
    After(&'a [automerge::ChangeHash]),
}

/// The pure half of one order's bridge, in the sans-IO style: what the bridge
/// knows about both sides and what it decides from Core's and the repo's
/// answers. The async functions above do the I/O and report here.
#[derive(Debug, Default)]
pub(crate) struct BridgeState {
    /// Heads both sides are known to have (pulls skip when the repo is not past them).
    seen: Vec<automerge::ChangeHash>,
    /// Core's side after the last push: its write count (what a confirmation
    /// vouches for) and whether the record was pending. Known here, so a
    /// record with nothing pending costs no store access to confirm.
    pushed: Option<Pushed>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pushed {
    writes: i64,
    pending: bool,
}

impl BridgeState {
    /// What Core lacks of the repo's copy at `repo_heads`.
    pub(crate) fn to_pull(&self, repo_heads: &[automerge::ChangeHash]) -> Pull<'_> {
        if repo_heads == self.seen.as_slice() {
            Pull::Nothing
        } else if self.seen.is_empty() {
            Pull::Whole
        } else {
            Pull::After(&self.seen)
        }
    }

    /// Core merged the repo's copy as of `heads`.
    pub(crate) fn pulled(&mut self, heads: Vec<automerge::ChangeHash>) {
        self.seen = heads;
    }

    /// Core's changes went into the repo: Core is at `core_heads`, and the repo
    /// is now at `repo_after` (None: loading them failed). When the two are
    /// equal, the repo's next change notification is this push itself and
    /// there is nothing to pull.
    pub(crate) fn pushed(
        &mut self,
        core_heads: &[automerge::ChangeHash],
        repo_after: Option<&[automerge::ChangeHash]>,
        writes: i64,
        pending: bool,
    ) {
        if repo_after == Some(core_heads) {
            self.seen = core_heads.to_vec();
        }
        self.pushed = Some(Pushed { writes, pending });
    }

    /// Core could not say what it has: nothing is confirmed until the next push.
    pub(crate) fn push_failed(&mut self) {
        self.pushed = None;
    }

    /// The write count to confirm once the server acknowledges, when the record
    /// is pending.
    pub(crate) fn to_confirm(&self) -> Option<i64> {
        self.pushed.filter(|p| p.pending).map(|p| p.writes)
    }

    /// Core marked the record synced as of `writes`. A later local write wakes
    /// the bridge, whose push reads pending again.
    pub(crate) fn confirmed(&mut self, writes: i64) {
        if let Some(p) = self.pushed.as_mut().filter(|p| p.writes == writes) {
            p.pending = false;
        }
    }
}

#[cfg(test)]
mod tests;

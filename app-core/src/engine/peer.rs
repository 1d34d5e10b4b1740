//! The peer doors: what the sync bridge calls to exchange, merge and confirm
//! an order's document with the server (or another device).

use super::*;

/// See [`Core::exchange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// This device's heads of the document.
    pub heads: Vec<automerge::ChangeHash>,
    /// The changes the peer lacks (empty when it lacks none, or when `behind`).
    pub for_peer: Vec<u8>,
    /// The peer has changes this device does not.
    pub behind: bool,
    /// This device has changes the server has not confirmed.
    pub pending: bool,
    /// The record's local write count as of `heads`: what
    /// [`Core::confirm_synced`] is given once the server has them.
    pub writes: i64,
}

/// What a merge from a peer did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// False when the peer sent nothing new.
    pub changed: bool,
    pub status: app_api::DeliveryStatus,
    /// The blobs (photos, signatures) the order's proofs reference, by SHA-256.
    pub blobs: Vec<String>,
}

/// The blobs an order's proofs reference.
pub(crate) fn proof_blobs(state: &OrderState) -> Vec<String> {
    state
        .pods
        .iter()
        .flat_map(|p| [&p.record.photo_sha256, &p.record.signature_sha256])
        .flatten()
        .cloned()
        .collect()
}

impl Core {
    /// Orders with local changes the server has not confirmed: (id, since).
    /// How many orders have changes the server has not confirmed.
    pub fn pending_count(&self) -> Result<u64, ApiError> {
        Ok(self.lock().store.pending_summary(0).map_err(storage)?.1)
    }

    pub fn pending(&self) -> Result<Vec<(OrderId, i64)>, ApiError> {
        Ok(self
            .lock()
            .store
            .pending()
            .map_err(storage)?
            .into_iter()
            .map(|(id, since)| (OrderId::new(id), since))
            .collect())
    }

    /// What a sync bridge needs to bring a peer copy of an order (at `peer_heads`)
    /// up to date with this device, from one load of the document under one
    /// lock: the changes the peer lacks, this device's heads, and whether the
    /// record is pending. When the peer has changes this device lacks
    /// (`behind`; also when the order is not on this device yet), nothing is
    /// returned to send: merge those first ([`Core::merge_remote`]) and ask again.
    pub fn exchange(
        &self,
        id: &OrderId,
        peer_heads: &[automerge::ChangeHash],
    ) -> Result<Exchange, ApiError> {
        let inner = self.lock();
        let device = inner.store.device_id().clone();
        let Some((snapshot, changes)) = inner.store.load_doc(id.as_str()).map_err(storage)? else {
            // Not on this device yet: everything the peer has is new here.
            return Ok(Exchange {
                heads: Vec::new(),
                for_peer: Vec::new(),
                behind: !peer_heads.is_empty(),
                pending: false,
                writes: 0,
            });
        };
        let (since, writes) = inner.store.sync_writes(id.as_str()).map_err(storage)?;
        drop(inner);
        let mut doc = OrderDoc::load(&snapshot, &changes, &device).map_err(|e| doc_error(id, e))?;
        let heads = doc.heads();
        let behind = !doc.has_all(peer_heads);
        let for_peer = if behind || heads == peer_heads {
            Vec::new()
        } else if peer_heads.is_empty() {
            doc.save()
        } else {
            doc.save_after(peer_heads)
        };
        Ok(Exchange {
            heads,
            for_peer,
            behind,
            pending: since.is_some(),
            writes,
        })
    }

    /// The heads of an order's document (what a push sends).
    pub fn heads(&self, id: &OrderId) -> Result<Vec<automerge::ChangeHash>, ApiError> {
        Ok(self.load_doc(id)?.heads())
    }

    /// The server confirmed it holds the document as of an [`Exchange`] whose
    /// `writes` was `pushed_writes`: the order is synced unless this device
    /// wrote to it since. Returns whether it is now marked synced.
    /// `blob_confirmed` is asked for every blob the order's proofs reference;
    /// the record stays pending until all are. Reads the projection only (no
    /// document load: a reconnect confirms hundreds of records at once).
    pub fn confirm_synced(
        &self,
        id: &OrderId,
        pushed_writes: i64,
        blob_confirmed: impl Fn(&str) -> bool,
    ) -> Result<bool, ApiError> {
        let now = self.clock.now_ms();
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        let Some(pods) = tx.projected_pods(id.as_str()).map_err(storage)? else {
            return Err(not_found(id));
        };
        let pods: Vec<lifecycle::CapturedPod> =
            serde_json::from_str(&pods).map_err(|e| ApiError::Storage {
                message: format!("the stored proofs of order {id} do not read: {e}"),
            })?;
        let blobs_done = pods.iter().all(|p| {
            [&p.record.photo_sha256, &p.record.signature_sha256]
                .into_iter()
                .flatten()
                .all(|h| blob_confirmed(h))
        });
        if !blobs_done {
            return Ok(false);
        }
        if !tx
            .mark_synced_at(id.as_str(), pushed_writes, now)
            .map_err(storage)?
        {
            return Ok(false);
        }
        tx.commit().map_err(storage)?;
        Ok(true)
    }

    /// Ids of every document in the local store.
    pub fn doc_ids(&self) -> Result<Vec<String>, ApiError> {
        self.lock().store.doc_ids().map_err(storage)
    }

    /// A whole document, for a peer.
    pub fn doc_bytes(&self, id: &OrderId) -> Result<Vec<u8>, ApiError> {
        Ok(self.load_doc(id)?.save())
    }

    /// Merges a peer's version of a document (whole or incremental) into the
    /// local one, re-derives and re-projects it, in one transaction.
    pub fn merge_remote(&self, id: &OrderId, bytes: &[u8]) -> Result<Merged, ApiError> {
        let now = self.clock.now_ms();
        let mut inner = self.lock();
        let Inner { store, zones, .. } = &mut *inner;
        let device = store.device_id().clone();
        let tx = store.write().map_err(storage)?;
        let doc = match tx.load_order(id.as_str()).map_err(storage)? {
            Some(doc) => {
                let mut doc = doc.map_err(|e| doc_error(id, e))?;
                let before = doc.heads();
                doc.merge_bytes(bytes).map_err(|e| doc_error(id, e))?;
                if doc.heads() == before {
                    let state = lifecycle::derive(id.clone(), doc.events().0);
                    return Ok(Merged {
                        changed: false,
                        status: state.status,
                        blobs: proof_blobs(&state),
                    });
                }
                tx.save_order(id.as_str(), &mut doc, Some(&before))
                    .map_err(storage)?;
                doc
            }
            None => {
                let mut doc = OrderDoc::load(bytes, &[], &device).map_err(|e| doc_error(id, e))?;
                if doc.order_id().as_ref() != Some(id) {
                    return Err(ApiError::Malformed {
                        message: format!("document sent as {id} says it is {:?}", doc.order_id()),
                    });
                }
                tx.save_order(id.as_str(), &mut doc, None)
                    .map_err(storage)?;
                doc
            }
        };
        let (events, _bad) = doc.events();
        let mut clock = resume_clock(&tx, &device)?;
        if let Some(latest) = events.iter().map(|e| e.at).max() {
            clock.observe(latest, now);
        }
        let state = lifecycle::derive(id.clone(), events);
        project_and_commit(tx, zones, &state, &clock)?;
        self.revision
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Merged {
            changed: true,
            status: state.status,
            blobs: proof_blobs(&state),
        })
    }

    /// Re-derives every document into the query tables (after a crash of the
    /// projection code, a migration, or to check the projection is a pure cache).
    pub fn rebuild_projection(&self) -> Result<usize, ApiError> {
        let mut inner = self.lock();
        let Inner { store, zones, .. } = &mut *inner;
        let ids = store.doc_ids().map_err(storage)?;
        let tx = store.write().map_err(storage)?;
        tx.clear_projection().map_err(storage)?;
        for id in &ids {
            let oid = OrderId::new(id.clone());
            let doc = tx
                .load_order(id)
                .map_err(storage)?
                .ok_or_else(|| not_found(&oid))?
                .map_err(|e| doc_error(&oid, e))?;
            let state = lifecycle::derive(oid, doc.events().0);
            tx.project(&state, zone_of(zones, &state).as_deref())
                .map_err(storage)?;
        }
        tx.commit().map_err(storage)?;
        Ok(ids.len())
    }
}

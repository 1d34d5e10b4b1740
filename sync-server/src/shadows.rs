//! The guard's copies of recently written documents, shared by a tenant's
//! sessions (`ws` judges against them, `tenant` owns one per tenant).

use std::collections::HashMap;

use automerge::Automerge;

/// The guard's copies of recently written documents, shared by a tenant's
/// sessions: what the server holds of each document as of the last write it
/// accepted. A session takes a document's copy while it judges a message and
/// puts back the result, so no two sessions judge against one copy at once
/// (the second loads from storage). A copy that lacks history a peer builds
/// on is reloaded; one that is ahead of a peer is what storage would give
/// too. Bounded: the least recently written documents are dropped.
pub struct ShadowCache {
    /// Document id -> (copy, write tick), and the last tick.
    docs: std::sync::Mutex<(Shadows, u64)>,
    cap: usize,
}

type Shadows = HashMap<String, (Automerge, u64)>;

/// How many documents [`ShadowCache`] keeps (an order document is tens of KiB in memory).
pub const SHADOW_CACHE_DOCS: usize = 1024;

impl ShadowCache {
    pub fn new(cap: usize) -> Self {
        Self {
            docs: std::sync::Mutex::new((HashMap::new(), 0)),
            cap: cap.max(1),
        }
    }

    pub(crate) fn take(&self, doc: &str) -> Option<Automerge> {
        let mut g = self.docs.lock().unwrap_or_else(|p| p.into_inner());
        g.0.remove(doc).map(|(d, _)| d)
    }

    pub(crate) fn put(&self, doc: &str, shadow: Automerge) {
        let mut g = self.docs.lock().unwrap_or_else(|p| p.into_inner());
        let (docs, tick) = &mut *g;
        *tick += 1;
        docs.insert(doc.to_owned(), (shadow, *tick));
        if docs.len() > self.cap {
            // Drop the oldest eighth in one pass (not one scan per insert).
            let mut ticks: Vec<u64> = docs.values().map(|(_, t)| *t).collect();
            let keep = self.cap - self.cap / 8;
            let nth = ticks.len().saturating_sub(keep);
            let (_, cut, _) = ticks.select_nth_unstable(nth.saturating_sub(1));
            let cut = *cut;
            docs.retain(|_, (_, t)| *t > cut);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.docs.lock().unwrap_or_else(|p| p.into_inner()).0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ReadDoc;

    fn doc(n: u64) -> Automerge {
        let mut d = automerge::AutoCommit::new();
        automerge::transaction::Transactable::put(&mut d, automerge::ROOT, "n", n).unwrap();
        d.document().clone()
    }

    #[test]
    fn shadows_are_taken_once_and_the_least_recently_written_are_dropped() {
        let cache = ShadowCache::new(16);
        cache.put("a", doc(1));
        let taken = cache.take("a").expect("cached");
        assert!(
            cache.take("a").is_none(),
            "a second session loads from storage"
        );
        assert_eq!(
            taken.get(automerge::ROOT, "n").unwrap().unwrap().0.as_u64(),
            Some(1)
        );
        cache.put("a", taken);
        for n in 0..20 {
            cache.put(&format!("d{n}"), doc(n));
        }
        assert!(cache.len() <= 16, "bounded: {}", cache.len());
        assert!(cache.take("d19").is_some(), "the newest stays");
        assert!(cache.take("a").is_none(), "the oldest went first");
    }
}

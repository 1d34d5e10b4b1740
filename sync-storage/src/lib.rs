//! Where the sync engine (samod) keeps documents, on the server and on devices.
//!
//! The sync engine sees only [`Storage`]: opaque byte chunks under hierarchical
//! keys (e.g. `[doc_id, "incremental", hash]`), loaded one by one or by prefix.
//! That is the shape automerge-repo storage adapters use, so a second backend
//! (PostgreSQL, for tenants that run several server nodes) implements the same
//! four calls without touching protocol code. [`RepoStorage`] adapts any
//! [`Storage`] to samod's async trait (blocking calls on the runtime's blocking
//! pool) and can report which documents were written, which is how the server
//! learns that a document changed (see ARCHITECTURE.md, "Scale-out").

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

/// A hierarchical storage key. Components are non-empty and contain no `/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StorageKey(Vec<String>);

impl StorageKey {
    pub fn new<I, S>(parts: I) -> Result<Self, StorageError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let parts: Vec<String> = parts.into_iter().map(Into::into).collect();
        for part in &parts {
            if part.is_empty() || part.contains('/') {
                return Err(StorageError::BadKey(format!(
                    "key component {part:?} must be non-empty and contain no '/'"
                )));
            }
        }
        Ok(Self(parts))
    }

    pub fn parts(&self) -> &[String] {
        &self.0
    }

    pub fn encode(&self) -> String {
        self.0.join("/")
    }

    fn decode(s: &str) -> Self {
        Self(s.split('/').map(str::to_owned).collect())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage backend: {0}")]
    Backend(#[from] rusqlite::Error),
    #[error("bad storage key: {0}")]
    BadKey(String),
}

/// Persistence for the sync engine. Implementations must be safe to call from
/// several threads; calls are blocking (run them on a blocking pool).
pub trait Storage: Send + Sync + 'static {
    fn load(&self, key: &StorageKey) -> Result<Option<Vec<u8>>, StorageError>;
    /// Every entry whose key starts with `prefix` (including `prefix` itself), in key order.
    fn load_range(&self, prefix: &StorageKey) -> Result<Vec<(StorageKey, Vec<u8>)>, StorageError>;
    fn put(&self, key: &StorageKey, data: &[u8]) -> Result<(), StorageError>;
    fn delete(&self, key: &StorageKey) -> Result<(), StorageError>;
    /// Applies `ops` in order, atomically where the backend can (one
    /// transaction): what [`RepoStorage`] calls with the writes that queued up
    /// while the previous batch was written (group commit).
    fn write_batch(&self, ops: &[WriteOp]) -> Result<(), StorageError> {
        for op in ops {
            match op {
                WriteOp::Put(key, data) => self.put(key, data)?,
                WriteOp::Delete(key) => self.delete(key)?,
            }
        }
        Ok(())
    }
    /// Documents written since their last [`Storage::clear_dirty`], with a
    /// write counter: the server re-derives them at start-up, so a crash between
    /// a write and its projection loses no access change.
    fn dirty_docs(&self) -> Result<Vec<(String, i64)>, StorageError> {
        Ok(Vec::new())
    }
    /// `doc`'s write counter if it is dirty.
    fn dirty_seq(&self, _doc: &str) -> Result<Option<i64>, StorageError> {
        Ok(None)
    }
    /// Clears `doc`'s dirty mark if it was not written again since `seq`.
    fn clear_dirty(&self, _doc: &str, _seq: i64) -> Result<(), StorageError> {
        Ok(())
    }
    /// A cheap liveness probe for `/healthz`.
    fn check(&self) -> Result<(), StorageError>;
    /// A short name for logs and health reports.
    fn backend_name(&self) -> &'static str;
}

/// One write of a [`Storage::write_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    Put(StorageKey, Vec<u8>),
    Delete(StorageKey),
}

/// The embedded default: one SQLite file in WAL mode.
#[derive(Debug)]
pub struct SqliteStorage {
    conn: Mutex<Connection>,
}

impl SqliteStorage {
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS chunks (
                 key  TEXT PRIMARY KEY,
                 data BLOB NOT NULL
             ) STRICT, WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS dirty (
                 doc TEXT PRIMARY KEY,
                 seq INTEGER NOT NULL
             ) STRICT, WITHOUT ROWID;",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Storage for SqliteStorage {
    fn load(&self, key: &StorageKey) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT data FROM chunks WHERE key = ?1",
                params![key.encode()],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn load_range(&self, prefix: &StorageKey) -> Result<Vec<(StorageKey, Vec<u8>)>, StorageError> {
        let exact = prefix.encode();
        // Children sort between "prefix/" and "prefix0" ('0' follows '/' in ASCII).
        let (lo, hi) = if exact.is_empty() {
            (String::new(), "\u{10FFFF}".to_owned())
        } else {
            (format!("{exact}/"), format!("{exact}0"))
        };
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT key, data FROM chunks
             WHERE key = ?1 OR (key >= ?2 AND key < ?3) ORDER BY key",
        )?;
        let rows = stmt.query_map(params![exact, lo, hi], |r| {
            Ok((StorageKey::decode(&r.get::<_, String>(0)?), r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn put(&self, key: &StorageKey, data: &[u8]) -> Result<(), StorageError> {
        self.write_batch(&[WriteOp::Put(key.clone(), data.to_vec())])
    }

    fn write_batch(&self, ops: &[WriteOp]) -> Result<(), StorageError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut put = tx.prepare_cached(
                "INSERT INTO chunks (key, data) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET data = excluded.data",
            )?;
            let mut delete = tx.prepare_cached("DELETE FROM chunks WHERE key = ?1")?;
            // Documents written, with how many writes (one dirty update each).
            let mut dirty: HashMap<&str, i64> = HashMap::new();
            for op in ops {
                match op {
                    WriteOp::Put(key, data) => {
                        put.execute(params![key.encode(), data])?;
                        if let Some(doc) = key.0.first() {
                            *dirty.entry(doc.as_str()).or_default() += 1;
                        }
                    }
                    WriteOp::Delete(key) => {
                        delete.execute(params![key.encode()])?;
                    }
                }
            }
            let mut mark = tx.prepare_cached(
                "INSERT INTO dirty (doc, seq) VALUES (?1, ?2)
                 ON CONFLICT (doc) DO UPDATE SET seq = seq + excluded.seq",
            )?;
            for (doc, n) in dirty {
                mark.execute(params![doc, n])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn dirty_docs(&self) -> Result<Vec<(String, i64)>, StorageError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT doc, seq FROM dirty")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn dirty_seq(&self, doc: &str) -> Result<Option<i64>, StorageError> {
        Ok(self
            .conn()
            .query_row("SELECT seq FROM dirty WHERE doc = ?1", params![doc], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn clear_dirty(&self, doc: &str, seq: i64) -> Result<(), StorageError> {
        self.conn().execute(
            "DELETE FROM dirty WHERE doc = ?1 AND seq = ?2",
            params![doc, seq],
        )?;
        Ok(())
    }

    fn delete(&self, key: &StorageKey) -> Result<(), StorageError> {
        self.write_batch(&[WriteOp::Delete(key.clone())])
    }

    fn check(&self) -> Result<(), StorageError> {
        self.conn().query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        "sqlite"
    }
}

/// [`Storage`] as samod's storage, with an optional "document written" signal.
///
/// Writes go to one writer thread per store, which commits whatever queued up
/// while it wrote the previous batch in one [`Storage::write_batch`] (group
/// commit): samod stores every applied change as its own put, and one SQLite
/// transaction per put made commits the largest cost of a reconnect with many
/// changed documents (BENCHMARKS.md, "reconnect").
#[derive(Clone)]
pub struct RepoStorage {
    inner: Arc<dyn Storage>,
    written: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    writer: std::sync::mpsc::Sender<QueuedWrite>,
}

/// A write waiting for the writer thread, and whom to tell whether it landed.
struct QueuedWrite {
    op: WriteOp,
    done: tokio::sync::oneshot::Sender<bool>,
}

/// Most writes committed in one transaction.
const MAX_BATCH_OPS: usize = 512;
/// Most bytes committed in one transaction (a batch stops after the write that passes it).
const MAX_BATCH_BYTES: usize = 16 << 20;

impl std::fmt::Debug for RepoStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoStorage")
            .field("backend", &self.inner.backend_name())
            .finish()
    }
}

impl RepoStorage {
    /// Starts the store's writer thread (it ends when the last clone is dropped).
    /// The thread's name starts with the calling thread's, so CPU accounting by
    /// thread name (the sync benchmarks) counts it with its runtime.
    pub fn new(inner: Arc<dyn Storage>) -> Self {
        let (writer, queue) = std::sync::mpsc::channel();
        let prefix = std::thread::current()
            .name()
            .map(|n| n.chars().take(9).collect::<String>())
            .unwrap_or_else(|| "ruta".into());
        let backend = inner.clone();
        std::thread::Builder::new()
            .name(format!("{prefix}-store"))
            .spawn(move || write_loop(backend.as_ref(), &queue))
            .expect("spawn the storage writer");
        Self {
            inner,
            written: None,
            writer,
        }
    }

    /// After every successful put, the first key component (the document id)
    /// is sent on `tx`.
    pub fn notify_writes(mut self, tx: tokio::sync::mpsc::UnboundedSender<String>) -> Self {
        self.written = Some(tx);
        self
    }

    pub fn backend(&self) -> &Arc<dyn Storage> {
        &self.inner
    }

    /// Queues `op` and waits until it is committed; false if it failed (logged).
    async fn write(&self, op: WriteOp) -> bool {
        let (done, landed) = tokio::sync::oneshot::channel();
        if self.writer.send(QueuedWrite { op, done }).is_err() {
            return false;
        }
        landed.await.unwrap_or(false)
    }
}

/// The writer thread: one transaction per batch of queued writes. A failed
/// batch is retried one write at a time, so one bad write fails alone.
fn write_loop(storage: &dyn Storage, queue: &std::sync::mpsc::Receiver<QueuedWrite>) {
    while let Ok(first) = queue.recv() {
        let mut bytes = op_bytes(&first.op);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH_OPS
            && bytes < MAX_BATCH_BYTES
            && let Ok(next) = queue.try_recv()
        {
            bytes += op_bytes(&next.op);
            batch.push(next);
        }
        let (ops, done): (Vec<WriteOp>, Vec<_>) = batch.into_iter().map(|w| (w.op, w.done)).unzip();
        match storage.write_batch(&ops) {
            Ok(()) => {
                for d in done {
                    let _ = d.send(true);
                }
            }
            Err(e) if ops.len() == 1 => {
                log_failed(&ops[0], &e);
                let _ = done.into_iter().next().map(|d| d.send(false));
            }
            Err(_) => {
                for (op, d) in ops.iter().zip(done) {
                    let ok = storage.write_batch(std::slice::from_ref(op));
                    if let Err(e) = &ok {
                        log_failed(op, e);
                    }
                    let _ = d.send(ok.is_ok());
                }
            }
        }
    }
}

fn op_bytes(op: &WriteOp) -> usize {
    match op {
        WriteOp::Put(_, data) => data.len(),
        WriteOp::Delete(_) => 0,
    }
}

fn log_failed(op: &WriteOp, e: &StorageError) {
    match op {
        // samod's put cannot fail; the chunk stays in memory and is written
        // again with the next compaction.
        WriteOp::Put(key, _) => {
            tracing::error!(key = %key.encode(), error = %e, "storage put failed");
        }
        WriteOp::Delete(key) => {
            tracing::error!(key = %key.encode(), error = %e, "storage delete failed");
        }
    }
}

fn from_samod(key: &samod::storage::StorageKey) -> StorageKey {
    // samod guarantees components without '/'; empty ones cannot occur either.
    StorageKey(key.into_iter().map(|s| s.to_string()).collect())
}

fn to_samod(key: StorageKey) -> Option<samod::storage::StorageKey> {
    samod::storage::StorageKey::from_parts(key.0).ok()
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .expect("storage call panicked")
}

impl samod::storage::Storage for RepoStorage {
    async fn load(&self, key: samod::storage::StorageKey) -> Option<Vec<u8>> {
        let inner = self.inner.clone();
        let key = from_samod(&key);
        blocking(move || match inner.load(&key) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(key = %key.encode(), error = %e, "storage load failed");
                None
            }
        })
        .await
    }

    async fn load_range(
        &self,
        prefix: samod::storage::StorageKey,
    ) -> HashMap<samod::storage::StorageKey, Vec<u8>> {
        let inner = self.inner.clone();
        let prefix = from_samod(&prefix);
        blocking(move || match inner.load_range(&prefix) {
            Ok(rows) => rows
                .into_iter()
                .filter_map(|(k, v)| Some((to_samod(k)?, v)))
                .collect(),
            Err(e) => {
                tracing::error!(prefix = %prefix.encode(), error = %e, "storage range load failed");
                HashMap::new()
            }
        })
        .await
    }

    async fn put(&self, key: samod::storage::StorageKey, data: Vec<u8>) {
        let key = from_samod(&key);
        let doc = key.0.first().cloned();
        let ok = self.write(WriteOp::Put(key, data)).await;
        if let (true, Some(tx), Some(doc)) = (ok, &self.written, doc) {
            let _ = tx.send(doc);
        }
    }

    async fn delete(&self, key: samod::storage::StorageKey) {
        self.write(WriteOp::Delete(from_samod(&key))).await;
    }
}

/// Every chunk stored for one document, concatenated: `Automerge::load` reads
/// snapshots and incremental changes in any order.
pub fn load_doc_bytes(storage: &dyn Storage, doc_id: &str) -> Result<Vec<u8>, StorageError> {
    let prefix = StorageKey::new([doc_id])?;
    let mut out = Vec::new();
    for (_, data) in storage.load_range(&prefix)? {
        out.extend_from_slice(&data);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(parts: &[&str]) -> StorageKey {
        StorageKey::new(parts.iter().copied()).unwrap()
    }

    #[test]
    fn put_load_overwrite_delete_in_a_real_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let store = SqliteStorage::open(&path).unwrap();
        let k = key(&["doc1", "snapshot", "abc"]);
        assert_eq!(store.load(&k).unwrap(), None);
        store.put(&k, b"one").unwrap();
        store.put(&k, b"two").unwrap();
        drop(store);
        let store = SqliteStorage::open(&path).unwrap();
        assert_eq!(store.load(&k).unwrap().as_deref(), Some(&b"two"[..]));
        store.delete(&k).unwrap();
        assert_eq!(store.load(&k).unwrap(), None);
    }

    #[test]
    fn range_returns_exactly_the_prefix_subtree() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStorage::open(&dir.path().join("s.sqlite3")).unwrap();
        for k in [
            &["doc1", "incremental", "h1"][..],
            &["doc1", "snapshot", "h2"],
            &["doc1"],
            &["doc10", "snapshot", "h3"],
            &["doc1-x", "snapshot", "h4"],
            &["doc0", "snapshot", "h5"],
        ] {
            store.put(&key(k), k.join("/").as_bytes()).unwrap();
        }
        let got: Vec<String> = store
            .load_range(&key(&["doc1"]))
            .unwrap()
            .into_iter()
            .map(|(k, _)| k.parts().join("/"))
            .collect();
        assert_eq!(got, ["doc1", "doc1/incremental/h1", "doc1/snapshot/h2"]);
        assert_eq!(store.load_range(&key(&[])).unwrap().len(), 6);
    }

    #[test]
    fn writes_mark_documents_dirty_until_cleared_at_the_seen_count() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStorage::open(&dir.path().join("s.sqlite3")).unwrap();
        store.put(&key(&["d1", "incremental", "a"]), b"x").unwrap();
        store.put(&key(&["d1", "incremental", "b"]), b"y").unwrap();
        assert_eq!(store.dirty_docs().unwrap(), [("d1".to_owned(), 2)]);
        assert_eq!(store.dirty_seq("d1").unwrap(), Some(2));
        store.clear_dirty("d1", 1).unwrap();
        assert_eq!(
            store.dirty_docs().unwrap().len(),
            1,
            "a newer write keeps it dirty"
        );
        store.clear_dirty("d1", 2).unwrap();
        assert!(store.dirty_docs().unwrap().is_empty());
    }

    #[test]
    fn keys_with_separators_are_refused() {
        assert!(StorageKey::new(["a/b"]).is_err());
        assert!(StorageKey::new([""]).is_err());
    }

    /// A store that refuses one key, and counts its transactions.
    struct Picky {
        inner: SqliteStorage,
        batches: std::sync::atomic::AtomicUsize,
    }

    impl Storage for Picky {
        fn load(&self, key: &StorageKey) -> Result<Option<Vec<u8>>, StorageError> {
            self.inner.load(key)
        }
        fn load_range(
            &self,
            prefix: &StorageKey,
        ) -> Result<Vec<(StorageKey, Vec<u8>)>, StorageError> {
            self.inner.load_range(prefix)
        }
        fn put(&self, key: &StorageKey, data: &[u8]) -> Result<(), StorageError> {
            self.write_batch(&[WriteOp::Put(key.clone(), data.to_vec())])
        }
        fn delete(&self, key: &StorageKey) -> Result<(), StorageError> {
            self.write_batch(&[WriteOp::Delete(key.clone())])
        }
        fn write_batch(&self, ops: &[WriteOp]) -> Result<(), StorageError> {
            if ops.len() > 1 {
                self.batches
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            if ops
                .iter()
                .any(|op| matches!(op, WriteOp::Put(k, _) if k.parts()[1].starts_with("slow")))
            {
                // A slow commit: the writes sent meanwhile queue up behind it.
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            if ops
                .iter()
                .any(|op| matches!(op, WriteOp::Put(k, _) if k.parts()[1] == "bad"))
            {
                return Err(StorageError::BadKey("refused by the test store".into()));
            }
            self.inner.write_batch(ops)
        }
        fn check(&self) -> Result<(), StorageError> {
            Ok(())
        }
        fn backend_name(&self) -> &'static str {
            "picky"
        }
    }

    #[test]
    fn queued_writes_land_in_order_in_batches_and_a_bad_one_fails_alone() {
        use samod::storage::Storage as _;
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Picky {
            inner: SqliteStorage::open(&dir.path().join("s.sqlite3")).unwrap(),
            batches: Default::default(),
        });
        let (tx, mut written) = tokio::sync::mpsc::unbounded_channel();
        let repo = RepoStorage::new(store.clone()).notify_writes(tx);
        let skey =
            |parts: &[&str]| samod::storage::StorageKey::from_parts(parts.iter().copied()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        // 300 puts sent while a slow write commits (as samod issues them: all at
        // once), the last of them refused by the store.
        let burst = |names: Vec<String>| {
            let repo = repo.clone();
            async move {
                let mut puts = tokio::task::JoinSet::new();
                for (n, name) in names.into_iter().enumerate() {
                    let repo = repo.clone();
                    let key = skey(&[&format!("doc{}", n % 3), &name]);
                    puts.spawn(async move { repo.put(key, vec![n as u8]).await });
                }
                puts.join_all().await;
            }
        };
        rt.block_on(async {
            burst(
                std::iter::once("slow".to_owned())
                    .chain((1..300).map(|n| format!("k{n:03}")))
                    .collect(),
            )
            .await;
        });
        let batches = store.batches.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            (1..=5).contains(&batches),
            "299 writes queued behind a slow commit share transactions: {batches} batches"
        );
        rt.block_on(async {
            // A batch with a refused write: the others land, one at a time.
            burst(vec!["slow2".into(), "x1".into(), "bad".into(), "x2".into()]).await;
            // A put then a delete of the same key: the delete wins.
            repo.put(skey(&["doc0", "gone"]), b"x".to_vec()).await;
            repo.delete(skey(&["doc0", "gone"])).await;
        });
        let rows = store.load_range(&key(&[])).unwrap();
        assert_eq!(rows.len(), 303, "every write but the refused one landed");
        assert!(
            rows.iter()
                .all(|(k, _)| k.parts()[1] != "bad" && k.parts()[1] != "gone")
        );
        assert_eq!(store.load(&key(&["doc1", "k031"])).unwrap(), Some(vec![31]));
        assert_eq!(store.load(&key(&["doc0", "x2"])).unwrap(), Some(vec![3]));
        // Only landed writes are announced: 303 puts and the one of "gone".
        let mut announced = 0;
        while written.try_recv().is_ok() {
            announced += 1;
        }
        assert_eq!(announced, 304);
        let dirty: i64 = store
            .inner
            .dirty_docs()
            .unwrap()
            .iter()
            .map(|(_, n)| n)
            .sum();
        assert_eq!(
            dirty, 304,
            "each landed put counts once towards its document's dirty mark"
        );
    }
}

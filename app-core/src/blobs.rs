//! The device's content-addressed blob store: POD photos and signatures, kept
//! outside the CRDT documents, which refer to them by SHA-256.
//!
//! Layout under the device's data directory (shared with the sync client, which
//! uploads and confirms):
//! - `blobs/pending/<sha256>`: stored here, not yet confirmed by the server;
//! - `blobs/<sha256>`: the server confirmed it holds these bytes (or they came
//!   from the server).
//!
//! Writes go to `<name>.tmp` and are renamed into place after an fsync, so a
//! crash leaves either the whole blob or nothing under its name (the uploader
//! skips names with an extension).

use std::io::Write;
use std::path::{Path, PathBuf};

pub use crate::ids::sha256_hex;

/// A directory of blobs named by their SHA-256 (lowercase hex).
#[derive(Clone, Debug)]
pub struct BlobStore {
    dir: PathBuf,
}

/// Whether `s` is a blob name: 64 lowercase hex digits.
pub fn is_blob_name(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl BlobStore {
    /// The store under `data_dir/blobs` (directories created when first written).
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("blobs"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores `bytes` as pending upload (unless already held) and returns its name.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let hash = sha256_hex(bytes);
        if self.dir.join(&hash).exists() {
            return Ok(hash);
        }
        let pending = self.dir.join("pending");
        std::fs::create_dir_all(&pending)?;
        write_atomic(&pending.join(&hash), bytes)?;
        Ok(hash)
    }

    /// Stores bytes that the server already holds (downloaded), checking the name.
    pub fn put_confirmed(&self, hash: &str, bytes: &[u8]) -> std::io::Result<()> {
        if sha256_hex(bytes) != hash {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("content does not hash to {hash}"),
            ));
        }
        std::fs::create_dir_all(&self.dir)?;
        write_atomic(&self.dir.join(hash), bytes)?;
        let _ = std::fs::remove_file(self.dir.join("pending").join(hash));
        Ok(())
    }

    /// The blob's bytes, confirmed or pending; `None` when this device lacks it.
    pub fn get(&self, hash: &str) -> std::io::Result<Option<Vec<u8>>> {
        if !is_blob_name(hash) {
            return Ok(None);
        }
        for path in [self.dir.join(hash), self.dir.join("pending").join(hash)] {
            match std::fs::read(&path) {
                Ok(bytes) => return Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Whether this device holds the blob at all.
    pub fn has(&self, hash: &str) -> bool {
        is_blob_name(hash)
            && (self.dir.join(hash).exists() || self.dir.join("pending").join(hash).exists())
    }

    /// Whether the server has confirmed the blob.
    pub fn is_confirmed(&self, hash: &str) -> bool {
        is_blob_name(hash) && self.dir.join(hash).exists()
    }

    /// The names of the blobs waiting for the server, in name order.
    pub fn pending(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.join("pending"))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| is_blob_name(n))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Whether any blob waits for the server.
    pub fn has_pending(&self) -> bool {
        !self.pending().is_empty()
    }

    /// Marks a pending blob as held by the server: moved out of `pending/`, and
    /// the directory synced so the move survives a crash.
    pub fn confirm(&self, hash: &str) -> std::io::Result<()> {
        if !is_blob_name(hash) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("not a blob name: {hash:?}"),
            ));
        }
        std::fs::rename(self.dir.join("pending").join(hash), self.dir.join(hash))?;
        std::fs::File::open(&self.dir)?.sync_all()
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_pending_until_confirmed_and_content_addressed() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::in_data_dir(dir.path());
        let hash = store.put(b"photo bytes").unwrap();
        assert_eq!(hash, sha256_hex(b"photo bytes"));
        assert!(store.has(&hash));
        assert!(!store.is_confirmed(&hash));
        assert!(dir.path().join("blobs/pending").join(&hash).is_file());
        assert_eq!(store.get(&hash).unwrap().unwrap(), b"photo bytes");
        // The same bytes twice are one blob.
        assert_eq!(store.put(b"photo bytes").unwrap(), hash);
        assert_eq!(
            std::fs::read_dir(dir.path().join("blobs/pending"))
                .unwrap()
                .count(),
            1
        );

        assert_eq!(store.pending(), vec![hash.clone()]);
        assert!(store.has_pending());

        store.put_confirmed(&hash, b"photo bytes").unwrap();
        assert!(!store.has_pending());
        assert!(store.is_confirmed(&hash));
        assert!(!dir.path().join("blobs/pending").join(&hash).exists());
        assert!(store.put_confirmed(&hash, b"other bytes").is_err());
        assert_eq!(store.get(&"0".repeat(64)).unwrap(), None);
        assert_eq!(
            store.get("../../etc/passwd").unwrap(),
            None,
            "names are checked"
        );
    }

    #[test]
    fn a_confirmed_upload_leaves_pending_and_bad_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::in_data_dir(dir.path());
        let a = store.put(b"a").unwrap();
        let b = store.put(b"b").unwrap();
        let mut both = vec![a.clone(), b.clone()];
        both.sort();
        assert_eq!(store.pending(), both);
        store.confirm(&a).unwrap();
        assert_eq!(store.pending(), vec![b.clone()]);
        assert!(store.is_confirmed(&a));
        assert_eq!(store.get(&a).unwrap().unwrap(), b"a");
        assert!(store.confirm(&a).is_err(), "no longer pending");
        assert!(store.confirm("../x").is_err());
        // A half-written file is not a pending blob.
        std::fs::write(dir.path().join("blobs/pending/x.tmp"), b"x").unwrap();
        assert_eq!(store.pending(), vec![b]);
    }
}

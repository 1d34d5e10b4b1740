//! Sync as the device sees it: the shared model's ids, guard and access rules
//! (`ruta-model`) and the storage samod persists through (`sync-storage`), under
//! one name for the shells and the sync client.

pub use ruta_model::ids::*;
pub use ruta_model::{access, guard};
pub use sync_storage as storage;

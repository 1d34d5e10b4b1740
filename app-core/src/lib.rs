//! The device's core: what every shell (Tauri window, device host, tests) calls.
//!
//! # Layout
//! - [`store`]: the device's local truth, a SQLite file (WAL), with its migrations.
//! - [`engine`]: [`Core`], which executes the transport-agnostic command API
//!   ([`app_api::Request`] -> [`app_api::Response`]). Shells (Tauri IPC, the HTTP
//!   device host, tests) decode a request, make exactly one call into [`Core`] and
//!   encode the answer.
//! - [`csv_io`]: order import parsing and formula-safe CSV writing.
//! - [`blobs`]: the device's content-addressed blob store (POD photos, signatures).
//! - [`demo`]: demo orders at real Helsinki addresses for a new tenant's first look.
//!
//! The pure parts live in crates of their own, re-exported here under the names the
//! shells use: [`domain`] (with [`hlc`] and [`clock`]), the shared model
//! ([`lifecycle`], [`order_doc`], [`ids`], [`guard`] and [`access`]), the
//! storage samod persists through ([`sync_storage`]),
//! [`routing`], [`pod`] and [`documents`].
//!
//! Architecture invariant: this crate knows nothing of tauri, leptos or axum, and
//! starts no threads or runtimes of its own (the sync storage writer thread lives
//! in `sync-storage`). Effects (disk, clock) sit behind the small adapters in
//! [`clock`] and [`store`].

pub mod blobs;
pub mod csv_io;
pub mod demo;
pub mod engine;
pub mod store;

pub use crate::engine::{Core, LedgerKind};
pub use app_api as api;
pub use ruta_documents as documents;
pub use ruta_domain as domain;
pub use ruta_domain::{clock, hlc};
pub use ruta_geocode as geocode;
pub use ruta_model::{
    access, cash_doc, chat_doc, config_doc, enrolment, guard, ids, inbox_doc, lifecycle, order_doc,
    session_doc, ticket_doc, trip_doc, waybill_doc,
};
pub use ruta_pod as pod;
pub use ruta_routing as routing;
pub use sync_storage;

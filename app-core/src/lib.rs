//! The shared core of Ruta: what every device and the server run.
//!
//! # Layout
//! - [`clock`]: the one place time comes from; everything else takes `now` as an argument.
//! - [`store`]: the device's local truth, a SQLite file (WAL), with its migrations.
//! - [`hlc`]: hybrid logical clock stamps, so offline work keeps the time it happened.
//! - [`demo`]: demo orders at real Helsinki addresses for a new tenant's first look.
//! - [`routing`]: offline routing: travel matrices, the OSM road graph, TSP and VRP
//!   solvers (courier sequences, auto-assignment), ETAs.
//! - [`sync`]: the rules and storage the sync server and devices share (write guard,
//!   access, document ids, samod storage).
//! - [`core`]: [`Core`], which executes the transport-agnostic command API
//!   ([`app_api::Request`] -> [`app_api::Response`]). Shells (Tauri IPC, the HTTP
//!   device host, tests) decode a request, make exactly one call into [`Core`] and
//!   encode the answer.
//!
//! Architecture invariant: this crate knows nothing of tauri, leptos or axum, and
//! starts no threads or runtimes of its own. Effects (disk, clock) sit behind the
//! small adapters in [`clock`] and [`store`].

pub mod blobs;
pub mod clock;
pub mod core;
pub mod csv_io;
pub mod demo;
pub mod documents;
pub mod domain;
pub mod hlc;
pub mod lifecycle;
pub mod order_doc;
pub mod pod;
pub mod routing;
pub mod store;
pub mod sync;

pub use crate::core::Core;
pub use app_api as api;

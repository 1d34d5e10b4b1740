//! What the tenant's sync server and every device share, so both judge the same
//! history the same way. Pure: no IO, no clock, no threads.
//!
//! - [`lifecycle`]: the one module that owns every delivery rule (who may do
//!   what, the status machine, `derive`, `decide`, `allowed_actions`).
//! - [`order_doc`]: one Automerge document per order, a map of events.
//! - [`guard`]: which writes a signed-in user may sync — called by the server
//!   on every incoming sync message before the sync engine sees it.
//! - [`access`]: which documents a user may open — called by the server's share
//!   policy.
//! - [`policy`]: who may make which request of a device's core beyond one
//!   order's events (driver monitor, route plans, proposals, proof capture,
//!   verification codes), table-tested.
//! - [`config_doc`]: the tenant's configuration document (admins' changes, derived
//!   last-writer-wins per part) and the guard's judgment of writes to it.
//! - [`enrolment`]: one-time enrolment codes (format, check symbol, hash).
//! - [`tracking`]: what an order's client and its public link are told of an
//!   order on its way (courier position only then, ETA, delivery time), and
//!   the link's token.
//! - [`cash_doc`]: one cash ledger per courier (hand-overs declared, received,
//!   settled; discrepancies; outstanding cash) and its guard.
//! - [`event_doc`]: the shape trips and cash ledgers share (a root and a map of
//!   JSON events), reading, appending, a deterministic shared creation, and the
//!   append-only half of the guard.
//! - [`trip_doc`]: one document per trip (run sheet): its state machine, who may
//!   do what, the per-stop rank merge of concurrent reorders, and the guard.
//! - [`waybill_doc`]: one document per waybill (open, dispatched, arrived,
//!   cancelled; orders merged per order) and its guard.
//! - [`ids`]: who is on the other end ([`Principal`]), document ids, hashes and
//!   hex, and the live-position / beacon encoding.
//!
//! Architecture invariant: this crate pulls no storage, runtime or network
//! crate (no rusqlite, tokio or samod; only samod-core's `DocumentId`).

pub mod access;
pub mod cash_doc;
pub mod chat_doc;
pub mod config_doc;
pub mod enrolment;
pub mod event_doc;
pub mod guard;
pub mod ids;
pub mod inbox_doc;
pub mod lifecycle;
pub mod notify;
pub mod order_doc;
pub mod policy;
pub mod session_doc;
pub mod ticket_doc;
pub mod tracking;
pub mod trip_doc;
pub mod waybill_doc;

pub use ids::*;

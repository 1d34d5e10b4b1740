//! Per-order verifiers for couriers' devices: see [`ruta_domain::codes`],
//! where they live so the server (which has no image code) derives them too.

pub use ruta_domain::codes::{ROUNDS, Verifier, verifier_for};

//! Proof of delivery, captured with no connection: photos, signatures,
//! verification codes (QR or PIN), and the tamper-evident chain of a courier's
//! POD records. Pure functions over bytes; the camera, GPS and storage are the
//! shells' adapters.
//!
//! - [`photo`]: camera or file bytes -> the stored POD photo (orientation applied,
//!   resized, metadata stripped except capture time and GPS, content hash).
//! - [`signature`]: vector strokes, validated, rendered to PNG and SVG.
//! - [`verify`]: per-order verification codes, their QR codes, scanning, PINs.
//! - [`chain`]: hash-linked POD records and the verifier that names a broken link.

pub mod chain;
pub mod photo;
pub mod signature;
pub mod verifier;
pub mod verify;

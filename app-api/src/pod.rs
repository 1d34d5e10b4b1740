//! Proof of delivery at the door: [`CapturePodRequest`] carries what the courier
//! captured (photo bytes, signature strokes, a scanned QR or a typed PIN, an age
//! check); the core processes it offline and answers [`PodCaptured`].

use serde::{Deserialize, Serialize};

/// One touch sample of a signature, in pad coordinates (origin top-left, y down).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StrokePoint {
    pub x: f32,
    pub y: f32,
    /// Milliseconds since the first touch of the signature.
    pub t_ms: u32,
}

/// A signature as drawn on the pad: its size and the pen-down to pen-up strokes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureInput {
    pub width: f32,
    pub height: f32,
    pub strokes: Vec<Vec<StrokePoint>>,
}

/// A GPS fix from the device.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpsInput {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy in metres (0 when unknown).
    #[serde(default)]
    pub accuracy_m: f64,
}

/// Everything captured at the door for one order. Every part is optional; the
/// proof is recorded with what is given (nothing captured is lost), and with
/// `deliver` the order is also marked Delivered when all its requirements are met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CapturePodRequest {
    pub order_id: String,
    /// The photo as taken (JPEG, PNG or WebP), base64. It is oriented, resized to
    /// the tenant's maximum edge, stripped of metadata but capture time and GPS.
    pub photo_base64: Option<String>,
    pub signature: Option<SignatureInput>,
    /// The text of a scanned QR code (when the webview decoded it).
    pub qr_text: Option<String>,
    /// A camera frame or image with the order's QR code, base64; the core decodes it.
    pub qr_frame_base64: Option<String>,
    /// The PIN the recipient told the courier.
    pub pin: Option<String>,
    /// The minimum age the courier checked on the recipient's ID.
    pub age_confirmed: Option<u8>,
    pub gps: Option<GpsInput>,
    /// The device's wall clock at capture (Unix ms); the core's clock when absent.
    pub device_clock_ms: Option<i64>,
    /// Also mark the order Delivered when every required proof is present.
    pub deliver: bool,
    /// Cash collected at the door (cents), recorded with the proof in the same
    /// write (the courier's "collected" confirmation).
    #[serde(default)]
    pub collect_cod_cents: Option<i64>,
}

/// What [`CapturePodRequest`] recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodCaptured {
    pub order_id: String,
    pub pod_id: String,
    pub photo_sha256: Option<String>,
    pub signature_sha256: Option<String>,
    pub qr_verified: bool,
    pub pin_verified: bool,
    pub age_confirmed: bool,
    /// This record's number in the courier's tamper-evident chain.
    pub chain_seq: u64,
    /// Proofs the order still needs (over everything captured for it so far).
    pub missing: Vec<crate::ProofKind>,
    /// Whether the order is now Delivered.
    pub delivered: bool,
}

/// A stored POD blob (photo JPEG, signature PNG rendered from its strokes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodBlob {
    pub sha256: String,
    pub media_type: String,
    pub base64: String,
}

/// An order's verification code as the recipient receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationCodeView {
    pub order_id: String,
    pub pin: String,
    /// The text of the QR code.
    pub qr_payload: String,
    /// The QR code as a PNG (8 px per module), base64.
    pub qr_png_base64: String,
}

/// One courier's chain of POD records, as verified on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodChainStatus {
    pub courier: String,
    pub records: u64,
    /// The highest sequence number seen.
    pub head_seq: u64,
    /// Empty when the chain is intact; else one line per broken link, naming the
    /// record and what is wrong (edited, missing, reordered, back-dated, ...).
    pub findings: Vec<PodChainFinding>,
}

/// A broken link in a courier's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodChainFinding {
    pub order_id: String,
    pub pod_id: String,
    pub seq: u64,
    pub message: String,
}

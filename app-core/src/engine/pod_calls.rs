//! Proof of delivery through the core: [`Request::CapturePod`],
//! [`Request::PodBlob`] and [`Request::PodChains`]. All of it works offline.
//!
//! A capture is processed before the store is touched (photo decoding and
//! resizing, signature checks, QR decoding, PIN and code checks), so bad input
//! is refused with the field named and nothing written. Then, in one
//! transaction, the proof is linked into the courier's chain (the head is kept
//! in the store's meta under `pod_chain_head:<courier>`) and recorded as a
//! `PodCaptured` event. Blobs go to the [`BlobStore`] as pending uploads; the
//! order stays "pending sync" until the server confirmed them.
//!
//! [`Request::CapturePod`]: app_api::Request::CapturePod
//! [`Request::PodBlob`]: app_api::Request::PodBlob
//! [`Request::PodChains`]: app_api::Request::PodChains

use std::collections::BTreeMap;

use app_api::{
    ApiError, CapturePodRequest, PodBlob, PodCaptured, PodChainFinding, PodChainStatus,
    SignatureInput,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::{Core, refused, storage};
use crate::blobs::{BlobStore, is_blob_name};
use crate::domain::{GeoPoint, OrderId, PodId, UserId};
use crate::ids::{hex, unhex};
use crate::lifecycle::{self, EventBody, Intent, OrderState, PodChainLink, PodRecord};
use crate::pod::chain::{
    ChainBuilder, ChainHead, ChainedRecord, GpsFix, PodCapture, VerificationMethod,
};
use crate::pod::photo::{self, PhotoPolicy};
use crate::pod::signature::{Point, Signature};
use crate::pod::verifier::Verifier;
use crate::pod::verify::{self, VerificationCode};
use ruta_model::policy::Call;

/// Wrong PINs accepted per order before the PIN is locked for [`PIN_LOCK_MS`].
pub const PIN_ATTEMPTS: u32 = 5;
/// How long a PIN stays locked after [`PIN_ATTEMPTS`] wrong tries.
pub const PIN_LOCK_MS: i64 = 15 * 60 * 1000;
/// Width of the PNG a signature is rendered to for display and documents.
pub const SIGNATURE_PNG_WIDTH: u32 = 600;

const META_SECRET: &str = "pod_secret";
/// Meta key prefix of an order's verifier (couriers' devices: see
/// `ruta_pod::verifier`).
const META_VERIFIER: &str = "verifier:";

/// What this device checks a recipient's code with: the code itself (it holds
/// the tenant key: operators) or the order's verifier (couriers).
enum Expected {
    Code(VerificationCode),
    Verifier(Verifier),
}

impl Expected {
    fn check_pin(&self, typed: &str) -> Result<(), verify::VerifyError> {
        match self {
            Expected::Code(c) => verify::check_pin(c, typed),
            Expected::Verifier(v) => v.check_pin(typed),
        }
    }

    fn check_scan(&self, order: &str, scanned: &str) -> Result<(), verify::VerifyError> {
        match self {
            Expected::Code(c) => verify::check_scan(c, order, scanned),
            Expected::Verifier(v) => v.check_scan(scanned),
        }
    }
}
const META_PHOTO_POLICY: &str = "photo_policy";

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

pub(super) fn decode_b64(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    B64.decode(text.trim())
        .map_err(|e| invalid(field, format!("not valid base64: {e}")))
}

fn signature_from(input: &SignatureInput) -> Signature {
    Signature {
        width: input.width,
        height: input.height,
        strokes: input
            .strokes
            .iter()
            .map(|s| {
                s.iter()
                    .map(|p| Point {
                        x: p.x,
                        y: p.y,
                        t_ms: p.t_ms,
                    })
                    .collect()
            })
            .collect(),
    }
}

/// What a capture brings, checked and processed, before anything is written.
struct Checked {
    photo: Option<photo::PodPhoto>,
    signature: Option<(String, Vec<u8>)>,
    qr: bool,
    pin: bool,
    age: Option<u8>,
}

impl Core {
    /// The device's POD blob store (`<data>/blobs`).
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// Sets the tenant's verification secret (from the sync server's `/v1/me`);
    /// kept in the store so verification works offline after a restart.
    pub fn set_pod_secret(&self, secret: &[u8]) -> Result<(), ApiError> {
        if secret.len() < verify::MIN_SECRET_LEN {
            return Err(invalid(
                "pod_secret",
                format!("at least {} bytes", verify::MIN_SECRET_LEN),
            ));
        }
        self.set_meta(META_SECRET, &hex(secret))
    }

    /// Drops a tenant key this device kept from an earlier sign-in (a courier's
    /// device no longer gets one: it checks codes with verifiers).
    pub fn forget_pod_secret(&self) -> Result<(), ApiError> {
        if self.meta(META_SECRET).is_some_and(|s| !s.is_empty()) {
            self.set_meta(META_SECRET, "")?;
        }
        Ok(())
    }

    /// Sets the tenant's photo policy (maximum edge, quality, limits); the
    /// tenant configuration's POD policy sets its edge and quality.
    pub fn set_photo_policy(&self, policy: &PhotoPolicy) -> Result<(), ApiError> {
        policy
            .validate()
            .map_err(|e| invalid("photo_policy", e.to_string()))?;
        let json =
            serde_json::to_string(policy).map_err(|e| invalid("photo_policy", e.to_string()))?;
        self.set_meta(META_PHOTO_POLICY, &json)
    }

    /// The photo policy in force (the default until a tenant sets one).
    pub fn photo_policy(&self) -> PhotoPolicy {
        self.meta(META_PHOTO_POLICY)
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default()
    }

    /// Keeps the verifiers of this courier's orders (from the sync server's
    /// `/v1/verifiers`), so codes are checked offline without the tenant key.
    pub fn set_verifiers(&self, verifiers: &[Verifier]) -> Result<(), ApiError> {
        for v in verifiers {
            let json = serde_json::to_string(v).map_err(|e| invalid("verifier", e.to_string()))?;
            if self
                .meta(&format!("{META_VERIFIER}{}", v.order_id))
                .as_deref()
                != Some(&json)
            {
                self.set_meta(&format!("{META_VERIFIER}{}", v.order_id), &json)?;
            }
        }
        Ok(())
    }

    /// Whether this device can check `order_id`'s recipient code now (it holds
    /// the tenant key or the order's verifier), with no connection.
    pub fn can_verify(&self, order_id: &str) -> bool {
        self.expected_code(order_id).is_some()
    }

    /// Whether one of the signed-in courier's open orders has nothing to check
    /// its code with yet: the sync client asks the server for verifiers only
    /// then, not on every tick.
    pub fn lacks_verifiers(&self) -> bool {
        let user = self.lock().session.user.to_string();
        let query = app_api::OrderQuery {
            open_work: true,
            assignee: Some(user),
            limit: 1_000,
            ..Default::default()
        };
        match self.execute(app_api::Request::ListOrders(query)) {
            Ok(app_api::Response::Orders { orders, .. }) => {
                orders.iter().any(|o| !self.can_verify(&o.id))
            }
            _ => true,
        }
    }

    /// What this device checks `order_id`'s code with, if anything.
    fn expected_code(&self, order_id: &str) -> Option<Expected> {
        if let Some(code) = self.verification_code(order_id) {
            return Some(Expected::Code(code));
        }
        self.meta(&format!("{META_VERIFIER}{order_id}"))
            .and_then(|j| serde_json::from_str::<Verifier>(&j).ok())
            .filter(|v| v.order_id == order_id)
            .map(Expected::Verifier)
    }

    /// The order's verification code, when this device holds the tenant secret.
    pub fn verification_code(&self, order_id: &str) -> Option<VerificationCode> {
        let secret = self
            .meta(META_SECRET)
            .and_then(|h| unhex(&h))
            .filter(|s| s.len() >= verify::MIN_SECRET_LEN)?;
        Some(verify::code_for(&secret, order_id))
    }

    /// The code for the recipient's notice (operators only: couriers must learn
    /// it from the recipient, clients' devices never hold the key).
    pub(super) fn verification_code_view(
        &self,
        order_id: &str,
    ) -> Result<app_api::VerificationCodeView, ApiError> {
        super::allow(&self.lock().session, Call::VerificationCode)?;
        self.order_state(&OrderId::new(order_id))?;
        let code = self.verification_code(order_id).ok_or_else(|| {
            invalid(
                "verification",
                "this device has no verification key yet: connect once so the tenant's key arrives",
            )
        })?;
        let png =
            verify::qr_png(&code.qr_payload(), 8).map_err(|e| invalid("qr", e.to_string()))?;
        Ok(app_api::VerificationCodeView {
            order_id: order_id.to_owned(),
            pin: code.pin(),
            qr_payload: code.qr_payload(),
            qr_png_base64: B64.encode(png),
        })
    }

    fn meta(&self, key: &str) -> Option<String> {
        self.lock().store.meta(key).ok().flatten()
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), ApiError> {
        let mut inner = self.lock();
        let tx = inner.store.write().map_err(storage)?;
        tx.set_meta(key, value).map_err(storage)?;
        tx.commit().map_err(storage)
    }

    /// Processes and records one capture; see the module docs.
    pub(super) fn capture_pod(&self, req: CapturePodRequest) -> Result<PodCaptured, ApiError> {
        let id = OrderId::new(req.order_id.trim());
        if id.as_str().is_empty() {
            return Err(invalid("order_id", "required"));
        }
        let state = self.order_state(&id)?;
        let actor = self.lock().session.clone();
        // Refused before any photo is decoded; the lifecycle judges the event again.
        if let Some(spec) = &state.spec {
            super::allow(
                &actor,
                Call::CapturePod {
                    carrier: spec.carrier,
                },
            )?;
        }
        let checked = self.check_capture(&req, &state)?;
        if checked.photo.is_none()
            && checked.signature.is_none()
            && !checked.qr
            && !checked.pin
            && checked.age.is_none()
        {
            return Err(invalid(
                "capture",
                "nothing captured: give a photo, a signature, a QR code, a PIN or an age check",
            ));
        }
        // Blobs first: a crash after this leaves only an unreferenced blob.
        let put = |bytes: &[u8]| {
            self.blobs.put(bytes).map_err(|e| ApiError::Storage {
                message: format!("cannot store the proof's file: {e}"),
            })
        };
        let photo_sha256 = match &checked.photo {
            Some(p) => Some(put(&p.jpeg)?),
            None => None,
        };
        let signature_sha256 = match &checked.signature {
            Some((_, json)) => Some(put(json)?),
            None => None,
        };
        let gps_deg = req.gps.map(|g| (g.lat, g.lon, g.accuracy_m)).or_else(|| {
            checked
                .photo
                .as_ref()
                .and_then(|p| p.gps)
                .map(|(la, lo)| (la, lo, 0.0))
        });
        let gps = match gps_deg {
            Some((lat, lon, acc)) => Some(
                GpsFix::from_degrees(lat, lon, acc.max(0.0))
                    .map_err(|e| invalid("gps", e.to_string()))?,
            ),
            None => None,
        };
        let location = gps.and_then(|g| GeoPoint::new(g.lat(), g.lon()).ok());
        let device_clock_ms = req.device_clock_ms.unwrap_or_else(|| self.clock.now_ms());
        let verification = match (checked.qr, checked.pin) {
            (true, true) => VerificationMethod::QrAndPin,
            (true, false) => VerificationMethod::Qr,
            (false, true) => VerificationMethod::Pin,
            (false, false) => VerificationMethod::None,
        };
        let pod_id = PodId::new(uuid::Uuid::new_v4().to_string());
        let required_age = state.spec.as_ref().and_then(|s| s.options.age_check);
        let age_confirmed = match (checked.age, required_age) {
            (Some(a), Some(min)) => a >= min,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let head_key = format!("pod_chain_head:{}", actor.user);
        let mut seq = 0;
        // One intent, one write: the cash, the proof and the delivery are decided
        // in order on one state and land in one transaction.
        let mut delivery_refused = None;
        let state = self.write_events(&id, |tx, state, stamp| {
            let mut intent = Intent::on(state);
            if let Some(cents) = req.collect_cod_cents {
                intent
                    .decide(&actor, EventBody::CodCollected { cents }, stamp(), location)
                    .map_err(|r| refused(&id, r))?;
            }
            let at = stamp();
            let head: ChainHead = tx
                .meta(&head_key)
                .map_err(storage)?
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or_else(ChainHead::genesis);
            let mut chain = ChainBuilder::resume_from(actor.user.clone(), head);
            let record = chain
                .append(PodCapture {
                    record_id: pod_id.clone(),
                    order_id: id.clone(),
                    courier: actor.user.clone(),
                    device: actor.device.clone(),
                    captured_at: at,
                    device_clock_ms,
                    gps,
                    photo_sha256: photo_sha256.clone(),
                    signature_sha256: signature_sha256.clone(),
                    verification,
                    age_confirmed: checked.age,
                })
                .map_err(|e| invalid("pod", e.to_string()))?;
            seq = record.seq;
            let head = serde_json::to_string(chain.head()).unwrap_or_default();
            tx.set_meta(&head_key, &head).map_err(storage)?;
            let pod = PodRecord {
                id: pod_id.clone(),
                photo_sha256: photo_sha256.clone(),
                signature_sha256: signature_sha256.clone(),
                qr_verified: checked.qr,
                pin_verified: checked.pin,
                age_confirmed,
                chain: Some(PodChainLink {
                    seq: record.seq,
                    prev_hash: record.prev_hash,
                    record_hash: record.record_hash,
                    device_clock_ms,
                    gps,
                    verification,
                    age: checked.age,
                }),
            };
            intent
                .decide(&actor, EventBody::PodCaptured { pod }, at, location)
                .map_err(|r| refused(&id, r))?;
            let (missing, mut chosen) = lifecycle::proofs_for_delivery(intent.state());
            if !chosen.contains(&pod_id) {
                chosen.push(pod_id.clone());
            }
            if req.deliver
                && missing.is_empty()
                && intent.state().status != lifecycle::DeliveryStatus::Delivered
            {
                // A refused delivery keeps the proof (and the cash): it is
                // reported after the write.
                if let Err(r) = intent.decide(
                    &actor,
                    lifecycle::delivery_by(&actor, chosen),
                    stamp(),
                    None,
                ) {
                    delivery_refused = Some(refused(&id, r));
                }
            }
            Ok(intent.into_events())
        })?;
        if let Some(e) = delivery_refused {
            return Err(match e {
                ApiError::Refused { code, message } => ApiError::Refused {
                    code,
                    message: format!("{message} (the proof itself was recorded as {pod_id})"),
                },
                other => other,
            });
        }
        let (missing, _) = lifecycle::proofs_for_delivery(&state);
        let delivered = state.status == lifecycle::DeliveryStatus::Delivered;
        Ok(PodCaptured {
            order_id: id.to_string(),
            pod_id: pod_id.to_string(),
            photo_sha256,
            signature_sha256,
            qr_verified: checked.qr,
            pin_verified: checked.pin,
            age_confirmed,
            chain_seq: seq,
            missing,
            delivered,
        })
    }

    fn check_capture(
        &self,
        req: &CapturePodRequest,
        state: &OrderState,
    ) -> Result<Checked, ApiError> {
        let photo = match &req.photo_base64 {
            Some(b64) => {
                let bytes = decode_b64("photo_base64", b64)?;
                let p = photo::process(&bytes, &self.photo_policy())
                    .map_err(|e| invalid("photo", e.to_string()))?;
                Some(p)
            }
            None => None,
        };
        let signature = match &req.signature {
            Some(input) => {
                let sig = signature_from(input);
                sig.validate()
                    .map_err(|e| invalid("signature", e.to_string()))?;
                let json =
                    serde_json::to_vec(&sig).map_err(|e| invalid("signature", e.to_string()))?;
                Some((sig.sha256(), json))
            }
            None => None,
        };
        let order = state.id.as_str();
        let code = || {
            self.expected_code(order).ok_or_else(|| {
                invalid(
                    "verification",
                    "this device has no verification key for this order yet: connect once after it is assigned, so its key arrives",
                )
            })
        };
        let mut qr = false;
        if let Some(text) = &req.qr_text {
            code()?
                .check_scan(order, text)
                .map_err(|e| invalid("qr", e.to_string()))?;
            qr = true;
        }
        if let Some(frame) = &req.qr_frame_base64 {
            let bytes = decode_b64("qr_frame_base64", frame)?;
            let found = verify::scan(&bytes).map_err(|e| invalid("qr_frame", e.to_string()))?;
            if found.is_empty() {
                return Err(invalid(
                    "qr_frame",
                    "no QR code found in the image: hold the code flat and closer",
                ));
            }
            let expected = code()?;
            let mut first_error = None;
            for text in &found {
                match expected.check_scan(order, text) {
                    Ok(()) => {
                        qr = true;
                        break;
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if !qr {
                let e = first_error.map(|e| e.to_string()).unwrap_or_default();
                return Err(invalid("qr_frame", e));
            }
        }
        let mut pin = false;
        if let Some(typed) = &req.pin {
            self.check_pin_attempt(order, &code()?, typed)?;
            pin = true;
        }
        let age = match req.age_confirmed {
            Some(a) => {
                let min = state.spec.as_ref().and_then(|s| s.options.age_check);
                if let Some(min) = min
                    && a < min
                {
                    return Err(invalid(
                        "age_confirmed",
                        format!("this order needs the recipient to be at least {min}, not {a}"),
                    ));
                }
                Some(a)
            }
            None => None,
        };
        Ok(Checked {
            photo,
            signature,
            qr,
            pin,
            age,
        })
    }

    /// Checks a typed PIN, counting wrong tries per order (kept in the store, so
    /// restarting the app does not reset them).
    fn check_pin_attempt(&self, order: &str, code: &Expected, typed: &str) -> Result<(), ApiError> {
        let key = format!("pin_failures:{order}");
        let now = self.clock.now_ms();
        let (count, since) = self
            .meta(&key)
            .and_then(|v| {
                let (c, s) = v.split_once(',')?;
                Some((c.parse::<u32>().ok()?, s.parse::<i64>().ok()?))
            })
            .filter(|&(_, since)| now - since < PIN_LOCK_MS)
            .unwrap_or((0, now));
        if count >= PIN_ATTEMPTS {
            let minutes = (PIN_LOCK_MS - (now - since)).div_euclid(60_000) + 1;
            return Err(invalid(
                "pin",
                format!(
                    "{PIN_ATTEMPTS} wrong PINs for this order: try again in {minutes} min, or scan the QR code"
                ),
            ));
        }
        match code.check_pin(typed) {
            Ok(()) => {
                if count > 0 {
                    self.set_meta(&key, "0,0")?;
                }
                Ok(())
            }
            Err(e @ verify::VerifyError::WrongCode) => {
                self.set_meta(&key, &format!("{},{since}", count + 1))?;
                let left = PIN_ATTEMPTS - count - 1;
                Err(invalid("pin", format!("{e} ({left} tries left)")))
            }
            Err(e) => Err(invalid("pin", e.to_string())),
        }
    }

    /// A proof's photo (JPEG) or signature (rendered PNG) from this device's blobs.
    pub(super) fn pod_blob(&self, sha256: &str) -> Result<PodBlob, ApiError> {
        if !is_blob_name(sha256) {
            return Err(invalid("sha256", "64 lowercase hex digits"));
        }
        let bytes = self
            .blobs
            .get(sha256)
            .map_err(|e| ApiError::Storage {
                message: format!("cannot read blob {sha256}: {e}"),
            })?
            .ok_or_else(|| ApiError::NotFound {
                what: format!("file {sha256} (not on this device yet)"),
            })?;
        let (media_type, bytes) = if bytes.starts_with(&[0xFF, 0xD8]) {
            ("image/jpeg", bytes)
        } else if let Ok(sig) = serde_json::from_slice::<Signature>(&bytes) {
            let png = sig
                .to_png(SIGNATURE_PNG_WIDTH)
                .map_err(|e| invalid("signature", e.to_string()))?;
            ("image/png", png)
        } else {
            ("application/octet-stream", bytes)
        };
        Ok(PodBlob {
            sha256: sha256.to_owned(),
            media_type: media_type.into(),
            base64: B64.encode(bytes),
        })
    }

    /// The signature (rendered PNG) and photo (JPEG) of the proofs the order's
    /// delivery cited, for receipts and invoices; each `None` when the delivery
    /// had none or this device does not hold the file yet.
    pub(super) fn delivery_images(&self, state: &OrderState) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let cited: Vec<&PodRecord> = match &state.delivery {
            Some((_, ids)) => state
                .pods
                .iter()
                .map(|p| &p.record)
                .filter(|p| ids.contains(&p.id))
                .collect(),
            None => vec![],
        };
        let blob = |h: Option<&String>| self.blobs.get(h?).ok().flatten();
        let signature = blob(cited.iter().find_map(|p| p.signature_sha256.as_ref()))
            .and_then(|b| serde_json::from_slice::<Signature>(&b).ok())
            .and_then(|sig| sig.to_png(SIGNATURE_PNG_WIDTH).ok());
        let photo = blob(cited.iter().find_map(|p| p.photo_sha256.as_ref()));
        (signature, photo)
    }

    /// Verifies every courier's chain from the proofs in this device's orders.
    pub(super) fn pod_chains(&self) -> Result<Vec<PodChainStatus>, ApiError> {
        let ids = self.lock().store.orders_with_pods().map_err(storage)?;
        let mut records: Vec<ChainedRecord> = Vec::new();
        // A proof outside every chain (no link: written by a modified device,
        // or an old one) is a finding of its author's chain, never skipped:
        // skipping it let the panel call a chain intact that did not hold it.
        let mut unchained: BTreeMap<UserId, Vec<PodChainFinding>> = BTreeMap::new();
        for id in ids {
            let state = self.order_state(&OrderId::new(id))?;
            for p in &state.pods {
                match chained_record(&state, p) {
                    Some(r) => records.push(r),
                    None => {
                        let author =
                            p.by.as_ref()
                                .map(|a| a.user.clone())
                                .unwrap_or_else(|| UserId::new("unknown"));
                        unchained.entry(author).or_default().push(PodChainFinding {
                            order_id: state.id.to_string(),
                            pod_id: p.record.id.to_string(),
                            seq: 0,
                            message: format!(
                                "proof {} on order {} is in no chain (it has no chain link)",
                                p.record.id,
                                state
                                    .spec
                                    .as_ref()
                                    .map_or(state.id.as_str(), |s| s.reference.as_str())
                            ),
                        });
                    }
                }
            }
        }
        records.sort_by_key(|r| (r.seq, r.capture.captured_at));
        let order_of: Vec<(String, String)> = records
            .iter()
            .map(|r| {
                (
                    r.capture.order_id.to_string(),
                    r.capture.record_id.to_string(),
                )
            })
            .collect();
        let reports = crate::pod::chain::verify_all(&records);
        let mut counts: BTreeMap<&UserId, u64> = BTreeMap::new();
        for r in &records {
            *counts.entry(&r.capture.courier).or_default() += 1;
        }
        let mut out: Vec<PodChainStatus> = reports
            .into_iter()
            .map(|(courier, report)| PodChainStatus {
                records: counts.get(&courier).copied().unwrap_or_default(),
                head_seq: report.head.as_ref().map(|h| h.seq).unwrap_or_default(),
                findings: report
                    .findings
                    .iter()
                    .map(|f| PodChainFinding {
                        order_id: order_of[f.index].0.clone(),
                        pod_id: order_of[f.index].1.clone(),
                        seq: f.seq,
                        message: f.to_string(),
                    })
                    .chain(unchained.remove(&courier).unwrap_or_default())
                    .collect(),
                courier: courier.to_string(),
            })
            .collect();
        out.extend(
            unchained
                .into_iter()
                .map(|(courier, findings)| PodChainStatus {
                    courier: courier.to_string(),
                    records: 0,
                    head_seq: 0,
                    findings,
                }),
        );
        Ok(out)
    }
}

/// The chain record a captured proof stands for (`None` without a chain link).
pub fn chained_record(state: &OrderState, p: &lifecycle::CapturedPod) -> Option<ChainedRecord> {
    let link = p.record.chain.as_ref()?;
    let by = p.by.as_ref()?;
    Some(ChainedRecord {
        seq: link.seq,
        prev_hash: link.prev_hash.clone(),
        capture: PodCapture {
            record_id: p.record.id.clone(),
            order_id: state.id.clone(),
            courier: by.user.clone(),
            device: by.device.clone(),
            captured_at: p.at?,
            device_clock_ms: link.device_clock_ms,
            gps: link.gps,
            photo_sha256: p.record.photo_sha256.clone(),
            signature_sha256: p.record.signature_sha256.clone(),
            verification: link.verification,
            age_confirmed: link.age,
        },
        record_hash: link.record_hash.clone(),
    })
}

#[cfg(test)]
mod tests;

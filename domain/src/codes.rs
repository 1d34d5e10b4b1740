//! Recipients' verification codes, as every party derives and checks them:
//! the per-order PIN and QR payload under the tenant key ([`code_for`]), and the
//! per-order [`Verifier`] a courier's device checks them with, offline, without
//! being able to learn them. Pure hashing (SHA-256, HMAC, PBKDF2); the QR images
//! and camera scanning are `ruta_pod::verify`'s. Derivation and the reasons
//! behind it are documented there.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The prefix (and format version) of a Ruta verification QR payload.
pub const PAYLOAD_PREFIX: &str = "RUTA1:";

/// Digits in a PIN.
pub const PIN_DIGITS: usize = 6;

/// The shortest tenant secret [`code_for`] is meant to be used with (bytes).
pub const MIN_SECRET_LEN: usize = 16;

/// The verification code of one order.
///
/// `Debug` does not show the PIN (it ends up in logs).
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode {
    order_id: String,
    pin: [u8; PIN_DIGITS],
}

impl VerificationCode {
    /// The order this code belongs to.
    pub fn order_id(&self) -> &str {
        &self.order_id
    }

    /// The 6-digit PIN, leading zeros kept (`"004211"`).
    pub fn pin(&self) -> String {
        self.pin.iter().map(|&d| char::from(d)).collect()
    }

    /// The text encoded in the order's QR code: `RUTA1:<order_id>:<pin>`.
    pub fn qr_payload(&self) -> String {
        format!("{PAYLOAD_PREFIX}{}:{}", self.order_id, self.pin())
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationCode")
            .field("order_id", &self.order_id)
            .field("pin", &"******")
            .finish()
    }
}

/// The verification code of `order_id` under the tenant's `secret`.
///
/// Deterministic: the same secret and order id give the same code on every device.
/// See the module docs for the derivation and the requirements on `secret`.
pub fn code_for(secret: &[u8], order_id: &str) -> VerificationCode {
    let mac = hmac_sha256(secret, &[b"ruta/pod-code/v1\0", order_id.as_bytes()]);
    // RFC 4226 dynamic truncation: 31 bits from an offset chosen by the last nibble.
    let offset = usize::from(mac[31] & 0x0f);
    let bits = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    let mut value = bits % 1_000_000;
    let mut pin = [b'0'; PIN_DIGITS];
    for d in pin.iter_mut().rev() {
        // `value % 10` is below 10, so the cast cannot truncate.
        *d = b'0' + (value % 10) as u8;
        value /= 10;
    }
    VerificationCode {
        order_id: order_id.to_owned(),
        pin,
    }
}

/// HMAC-SHA256 (RFC 2104) of the concatenation of `parts` under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// A verification failed; the message is for the courier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("this is not a Ruta delivery code")]
    NotRutaCode,
    #[error("this QR code belongs to order {scanned}, not to order {expected}")]
    WrongOrder { scanned: String, expected: String },
    #[error("the code does not match this order")]
    WrongCode,
    #[error("a PIN has only the digits 0-9")]
    PinNotDigits,
    #[error("a PIN has {PIN_DIGITS} digits, this one has {0}")]
    PinLength(usize),
}

/// A Ruta QR payload, split into its parts.
#[derive(Clone, PartialEq, Eq)]
pub struct ScannedCode {
    pub order_id: String,
    pub pin: String,
}

impl fmt::Debug for ScannedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScannedCode")
            .field("order_id", &self.order_id)
            .field("pin", &"******")
            .finish()
    }
}

/// Splits `RUTA1:<order_id>:<pin>` (surrounding whitespace ignored).
pub fn parse_payload(scanned: &str) -> Result<ScannedCode, VerifyError> {
    let rest = scanned
        .trim()
        .strip_prefix(PAYLOAD_PREFIX)
        .ok_or(VerifyError::NotRutaCode)?;
    let (order_id, pin) = rest.rsplit_once(':').ok_or(VerifyError::NotRutaCode)?;
    if order_id.is_empty() || pin.len() != PIN_DIGITS || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::NotRutaCode);
    }
    Ok(ScannedCode {
        order_id: order_id.to_owned(),
        pin: pin.to_owned(),
    })
}

/// Checks a scanned QR text against the code of the order being delivered.
///
/// `expected` is `code_for(secret, order_id)`; the scanned order id is compared
/// with `order_id` and the PIN with `expected`, so an inconsistent pair fails
/// closed.
pub fn check_scan(
    expected: &VerificationCode,
    order_id: &str,
    scanned: &str,
) -> Result<(), VerifyError> {
    let code = parse_payload(scanned)?;
    if code.order_id != order_id {
        return Err(VerifyError::WrongOrder {
            scanned: code.order_id,
            expected: order_id.to_owned(),
        });
    }
    if digits_equal(&expected.pin, code.pin.as_bytes()) {
        Ok(())
    } else {
        Err(VerifyError::WrongCode)
    }
}

/// Checks a PIN typed by the courier (as told by the recipient).
///
/// Whitespace anywhere is ignored (`" 042 917 "`); ASCII digits, Arabic-Indic
/// digits and full-width digits are accepted; the comparison takes the same time
/// wherever the digits differ.
pub fn check_pin(expected: &VerificationCode, typed: &str) -> Result<(), VerifyError> {
    let digits = typed_digits(typed)?;
    if digits_equal(&expected.pin, &digits) {
        Ok(())
    } else {
        Err(VerifyError::WrongCode)
    }
}

/// A typed PIN as its [`PIN_DIGITS`] ASCII digits (whitespace ignored; the
/// digit scripts of [`check_pin`] accepted).
pub(crate) fn typed_digits(typed: &str) -> Result<Vec<u8>, VerifyError> {
    let mut digits = Vec::with_capacity(PIN_DIGITS);
    for c in typed.chars().filter(|c| !c.is_whitespace()) {
        digits.push(ascii_digit(c).ok_or(VerifyError::PinNotDigits)?);
    }
    if digits.len() != PIN_DIGITS {
        return Err(VerifyError::PinLength(digits.len()));
    }
    Ok(digits)
}

/// The ASCII digit for a decimal digit in the scripts phone keyboards commonly
/// produce: ASCII, Arabic-Indic, Extended Arabic-Indic (Persian, Urdu), full-width.
fn ascii_digit(c: char) -> Option<u8> {
    let zero = match c {
        '0'..='9' => '0',
        '\u{0660}'..='\u{0669}' => '\u{0660}',
        '\u{06F0}'..='\u{06F9}' => '\u{06F0}',
        '\u{FF10}'..='\u{FF19}' => '\u{FF10}',
        _ => return None,
    };
    // The offset is 0..=9 by the ranges above.
    Some(b'0' + (u32::from(c) - u32::from(zero)) as u8)
}

/// Equality of two digit strings of length [`PIN_DIGITS`] without an early exit.
fn digits_equal(a: &[u8; PIN_DIGITS], b: &[u8]) -> bool {
    if b.len() != PIN_DIGITS {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

// Per-order verifiers: what a courier's device holds to check a recipient's
// PIN or QR code offline without being able to learn the code.
//
// The tenant key derives every order's code ([`crate::verify::code_for`]), so it
// stays with the server and operators' devices. For each order assigned to a
// courier the server sends a verifier: a per-order salt (itself derived from
// the key, so every node computes the same one) and
// `PBKDF2-HMAC-SHA256(pin, salt || order_id, rounds)`. A device checks a typed
// PIN or a scanned payload by deriving the same hash. It cannot read the PIN
// out: finding it means trying the 10^6 PINs at [`ROUNDS`] rounds each, about
// 10^11 HMAC computations: measured 6 h of one core of our build machine. That is a cost, not
// a wall, which is why a verifier goes only to the courier who holds that
// order, and the device's PIN screen still limits attempts.
// PBKDF2 is the RustCrypto `pbkdf2` crate.

/// PBKDF2 rounds of a verifier: 21.8 ms per check on one core of our build
/// machine (a phone takes several times that); trying all 10^6 PINs costs that
/// core 6 h (`/tmp` timing program in the issue 19 note).
pub const ROUNDS: u32 = 200_000;

/// What a device needs to check one order's code, and nothing to compute it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verifier {
    pub order_id: String,
    /// 16 bytes, hex.
    pub salt: String,
    pub rounds: u32,
    /// The derived 32 bytes, hex.
    pub hash: String,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("order_id", &self.order_id)
            .field("rounds", &self.rounds)
            .finish_non_exhaustive()
    }
}

fn derive(pin: &[u8], salt: &[u8], order_id: &str, rounds: u32) -> [u8; 32] {
    let mut salted = salt.to_vec();
    salted.extend_from_slice(order_id.as_bytes());
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(pin, &salted, rounds, &mut out);
    out
}

/// The verifier of `order_id`'s code under the tenant's `secret`.
pub fn verifier_for(secret: &[u8], order_id: &str, rounds: u32) -> Verifier {
    let code: VerificationCode = code_for(secret, order_id);
    let salt = &hmac_sha256(secret, &[b"ruta/pod-salt/v1\0", order_id.as_bytes()])[..16];
    let hash = derive(code.pin().as_bytes(), salt, order_id, rounds);
    Verifier {
        order_id: order_id.to_owned(),
        salt: crate::hex(salt),
        rounds,
        hash: crate::hex(&hash),
    }
}

impl Verifier {
    /// Whether `pin` (ASCII digits) is this order's PIN.
    fn matches(&self, pin: &[u8]) -> bool {
        if pin.len() != PIN_DIGITS {
            return false;
        }
        let (Some(salt), Some(want)) = (crate::unhex(&self.salt), crate::unhex(&self.hash)) else {
            return false;
        };
        let got = derive(pin, &salt, &self.order_id, self.rounds);
        // No early exit: compare all of it.
        want.len() == got.len()
            && std::hint::black_box(want.iter().zip(got).fold(0u8, |acc, (a, b)| acc | (a ^ b)))
                == 0
    }

    /// Checks a PIN typed by the courier (the same input rules as
    /// [`crate::verify::check_pin`]).
    pub fn check_pin(&self, typed: &str) -> Result<(), VerifyError> {
        if self.matches(&typed_digits(typed)?) {
            Ok(())
        } else {
            Err(VerifyError::WrongCode)
        }
    }

    /// Checks a scanned QR payload for this order (as
    /// [`crate::verify::check_scan`]).
    pub fn check_scan(&self, scanned: &str) -> Result<(), VerifyError> {
        let code = parse_payload(scanned)?;
        if code.order_id != self.order_id {
            return Err(VerifyError::WrongOrder {
                scanned: code.order_id,
                expected: self.order_id.clone(),
            });
        }
        if self.matches(code.pin.as_bytes()) {
            Ok(())
        } else {
            Err(VerifyError::WrongCode)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"tenant-secret-0123456789abcdef";

    #[test]
    fn a_verifier_accepts_the_code_and_nothing_else() {
        let v = verifier_for(SECRET, "order-1", 1_000);
        let code = code_for(SECRET, "order-1");
        assert_eq!(v.check_pin(&code.pin()), Ok(()));
        assert_eq!(v.check_scan(&code.qr_payload()), Ok(()));
        let wrong = format!(
            "{:06}",
            (code.pin().parse::<u32>().unwrap() + 1) % 1_000_000
        );
        assert_eq!(v.check_pin(&wrong), Err(VerifyError::WrongCode));
        assert_eq!(v.check_pin("12"), Err(VerifyError::PinLength(2)));
        // Another order's genuine code is refused by name.
        let other = code_for(SECRET, "order-2");
        assert!(matches!(
            v.check_scan(&other.qr_payload()),
            Err(VerifyError::WrongOrder { .. })
        ));
    }

    #[test]
    fn a_verifier_does_not_carry_the_code_and_every_node_derives_the_same() {
        let v = verifier_for(SECRET, "order-1", 1_000);
        let pin = code_for(SECRET, "order-1").pin();
        let text = serde_json::to_string(&v).unwrap();
        assert!(!text.contains(&pin), "{text}");
        assert!(!format!("{v:?}").contains(&v.hash));
        assert_eq!(v, verifier_for(SECRET, "order-1", 1_000));
        assert_ne!(v.salt, verifier_for(SECRET, "order-2", 1_000).salt);
        // Under another tenant's key the same order has another verifier.
        assert_ne!(
            v.hash,
            verifier_for(b"another-tenant-secret-xyz", "order-1", 1_000).hash
        );
    }
}

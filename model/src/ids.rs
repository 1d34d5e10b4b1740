//! Identity and wire encodings shared by the server and every device.
//!
//! Identity of documents: an order's id is a UUID; its automerge-repo document
//! id is the same 16 bytes in automerge-repo's encoding (base58check), so any
//! device maps one to the other without a lookup table, and a stock JS
//! automerge-repo client sees ordinary `automerge:` URLs.
//!
//! Live positions and courier beacons travel as small CBOR maps in ephemeral
//! messages ([`encode_beacon`], [`decode_beacon`]).

use serde::{Deserialize, Serialize};

pub use samod_core::DocumentId;

use ruta_domain::{OrderId, Role, UserId};

/// Who is on the other end of a connection, as the server authenticated them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Principal {
    pub user: UserId,
    pub role: Role,
}

/// The automerge-repo document id of an order (None if the id is not a UUID:
/// such orders exist only in tests and never sync).
pub fn doc_id_of(order: &OrderId) -> Option<DocumentId> {
    let uuid = uuid::Uuid::parse_str(order.as_str()).ok()?;
    DocumentId::try_from(uuid.as_bytes().to_vec()).ok()
}

/// The order id a document id stands for, when it is 16 bytes.
pub fn order_of(doc: &DocumentId) -> Option<OrderId> {
    let bytes: [u8; 16] = doc.as_bytes().try_into().ok()?;
    Some(OrderId::new(uuid::Uuid::from_bytes(bytes).to_string()))
}

/// The automerge-repo document id of a document named by a UUID (a trip's).
pub fn doc_id_of_uuid(id: &str) -> Option<DocumentId> {
    let uuid = uuid::Uuid::parse_str(id).ok()?;
    DocumentId::try_from(uuid.as_bytes().to_vec()).ok()
}

/// A UUID derived from `seed` (SHA-256): the id of a document every device
/// names the same way (a cash ledger, a route session, a conversation, an inbox).
pub fn derived_uuid(seed: &str) -> String {
    let hash = sha256_hex(seed.as_bytes());
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hash[2 * i..2 * i + 2], 16).unwrap_or(0);
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Lowercase hex SHA-256 of `data`: the name of a blob, and of a token at rest.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}

pub use ruta_domain::{hex, unhex};

/// A live position as devices send it in ephemeral messages: a CBOR map
/// `{lat, lon, at}` (`at` in ms since the epoch).
pub fn encode_position(lat: f64, lon: f64, at_ms: i64) -> Vec<u8> {
    use ciborium::Value;
    let v = Value::Map(vec![
        (Value::Text("lat".into()), Value::Float(lat)),
        (Value::Text("lon".into()), Value::Float(lon)),
        (Value::Text("at".into()), Value::Integer(at_ms.into())),
    ]);
    let mut out = Vec::new();
    ciborium::into_writer(&v, &mut out).expect("cbor to vec");
    out
}

/// A courier's beacon as a position message with two optional keys, `avail`
/// and `mode` (their serde names), which [`decode_position`] ignores. None
/// without a position fix.
pub fn encode_beacon(b: &app_api::Beacon) -> Option<Vec<u8>> {
    use ciborium::Value;
    let p = b.point?;
    let mut map = vec![
        (Value::Text("lat".into()), Value::Float(p.lat)),
        (Value::Text("lon".into()), Value::Float(p.lon)),
        (Value::Text("at".into()), Value::Integer(b.at_ms.into())),
    ];
    if let Some(a) = &b.availability {
        map.push((
            Value::Text("avail".into()),
            Value::Text(ruta_domain::enum_str(a)),
        ));
    }
    if let Some(m) = &b.work_mode {
        map.push((
            Value::Text("mode".into()),
            Value::Text(ruta_domain::enum_str(m)),
        ));
    }
    let mut out = Vec::new();
    ciborium::into_writer(&Value::Map(map), &mut out).expect("cbor to vec");
    Some(out)
}

/// A beacon from [`encode_beacon`]'s (or [`encode_position`]'s) format; None
/// if the position is malformed. Unknown `avail`/`mode` values are dropped.
pub fn decode_beacon(data: &[u8]) -> Option<app_api::Beacon> {
    let (at_ms, lat, lon) = decode_position(data)?;
    let v: ciborium::Value = ciborium::from_reader(data).ok()?;
    let text = |k: &str| -> Option<String> {
        let map = v.as_map()?;
        let (_, v) = map.iter().find(|(key, _)| key.as_text() == Some(k))?;
        v.as_text().map(str::to_owned)
    };
    let parse = |k: &str| text(k).map(serde_json::Value::String);
    Some(app_api::Beacon {
        point: Some(app_api::Point { lat, lon }),
        at_ms,
        accuracy_m: None,
        availability: parse("avail").and_then(|v| serde_json::from_value(v).ok()),
        work_mode: parse("mode").and_then(|v| serde_json::from_value(v).ok()),
    })
}

/// `(at_ms, lat, lon)` from [`encode_position`]'s format; None if malformed
/// or off the globe.
pub fn decode_position(data: &[u8]) -> Option<(i64, f64, f64)> {
    let v: ciborium::Value = ciborium::from_reader(data).ok()?;
    let map = v.as_map()?;
    let num = |k: &str| -> Option<f64> {
        let (_, v) = map.iter().find(|(key, _)| key.as_text() == Some(k))?;
        v.as_float()
            .or_else(|| v.as_integer().map(|i| i128::from(i) as f64))
    };
    let (lat, lon, at) = (num("lat")?, num("lon")?, num("at")?);
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon))
        .then_some((at as i64, lat, lon))
}

/// `automerge:<id>`, the URL form automerge-repo clients use.
pub fn url_of(doc: &DocumentId) -> String {
    format!("automerge:{doc}")
}

/// The document id in an `automerge:` URL (or a bare id).
pub fn parse_url(url: &str) -> Option<DocumentId> {
    url.strip_prefix("automerge:").unwrap_or(url).parse().ok()
}

/// A user id as the directory accepts it: 1-64 of letters, digits and `- _ . @`
/// (safe in a URL path segment).
pub fn valid_user_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
}

/// A device id as devices name themselves (`?device=`, the device header):
/// 1-64 of `[A-Za-z0-9-]`.
pub fn valid_device_id(d: &str) -> bool {
    !d.is_empty() && d.len() <= 64 && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_and_document_ids_map_both_ways() {
        let order = OrderId::new(uuid::Uuid::new_v4().to_string());
        let doc = doc_id_of(&order).expect("uuid maps");
        assert_eq!(order_of(&doc), Some(order));
        assert_eq!(parse_url(&url_of(&doc)), Some(doc.clone()));
        assert_eq!(parse_url(&doc.to_string()), Some(doc));
        assert_eq!(doc_id_of(&OrderId::new("o1")), None);
        assert_eq!(parse_url("automerge:not-base58!"), None);
    }

    #[test]
    fn positions_round_trip_and_bad_ones_are_rejected() {
        let bytes = encode_position(60.17, 24.94, 1_700_000_000_123);
        assert_eq!(
            decode_position(&bytes),
            Some((1_700_000_000_123, 60.17, 24.94))
        );
        assert_eq!(decode_position(&encode_position(91.0, 0.0, 0)), None);
        assert_eq!(decode_position(b"not cbor"), None);
    }

    #[test]
    fn beacons_carry_availability_and_mode_and_stay_positions() {
        let b = app_api::Beacon {
            point: Some(app_api::Point {
                lat: 60.17,
                lon: 24.94,
            }),
            at_ms: 5,
            accuracy_m: None,
            availability: Some(app_api::Availability::OnBreak),
            work_mode: Some(app_api::WorkMode::SystemOptimised),
        };
        let bytes = encode_beacon(&b).unwrap();
        assert_eq!(decode_beacon(&bytes), Some(b.clone()));
        assert_eq!(
            decode_position(&bytes),
            Some((5, 60.17, 24.94)),
            "old readers still work"
        );
        let plain = decode_beacon(&encode_position(60.17, 24.94, 5)).unwrap();
        assert_eq!((plain.availability, plain.work_mode), (None, None));
        let no_fix = app_api::Beacon { point: None, ..b };
        assert_eq!(encode_beacon(&no_fix), None);
    }
}

//! CBOR framing of automerge-repo network messages (maps with a `type`,
//! `senderId`, `documentId`, `data`, ...): one encoder and the field lookups,
//! shared by the session guard, `sync-loadgen`, the benches and the tests.

use ciborium::Value;

/// A text value.
pub fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// One message: a CBOR map of `fields`, in order.
pub fn encode(fields: Vec<(&str, Value)>) -> Vec<u8> {
    let map = Value::Map(fields.into_iter().map(|(k, v)| (text(k), v)).collect());
    let mut out = Vec::new();
    ciborium::into_writer(&map, &mut out).expect("cbor to vec");
    out
}

/// The value under `key` in a message's map entries.
pub fn field<'v>(map: &'v [(Value, Value)], key: &str) -> Option<&'v Value> {
    map.iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

/// The value under `key` of a message, if it is a map.
pub fn get<'v>(msg: &'v Value, key: &str) -> Option<&'v Value> {
    field(msg.as_map()?, key)
}

/// The text under `key` of a message.
pub fn get_text<'v>(msg: &'v Value, key: &str) -> Option<&'v str> {
    get(msg, key).and_then(Value::as_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_reads_back_field_by_field() {
        let bytes = encode(vec![
            ("type", text("sync")),
            ("data", Value::Bytes(vec![1, 2])),
        ]);
        let v: Value = ciborium::from_reader(&bytes[..]).unwrap();
        assert_eq!(get_text(&v, "type"), Some("sync"));
        assert_eq!(get(&v, "data").and_then(Value::as_bytes), Some(&vec![1, 2]));
        assert_eq!(get(&v, "senderId"), None);
        assert_eq!(get(&text("not a map"), "type"), None);
    }
}

//! CSV in and out: bulk order import with a report per row, and exports of
//! orders, timelines and the POD index for analytics.
//!
//! Import reads bytes (a file as it is on disk), so encodings are checked here:
//! the file must be UTF-8 (a BOM is fine); a row with other bytes is reported
//! with its line and column, never guessed at. The delimiter is `,` or `;`
//! (spreadsheets in many locales write `;`), chosen from the header line.
//! Columns are named by the header, in any order, case-insensitive:
//!
//! | column | required | format |
//! |---|---|---|
//! | `customer_name`, `pickup_address`, `dropoff_address` | yes | text (an address without coordinates is placed by the device's address search) |
//! | `pickup_lat`, `pickup_lon`, `dropoff_lat`, `dropoff_lon` | no | decimal degrees, both or neither |
//! | `order_type` | no | `on_demand`, `pickup`, `delivery`, `pickup_and_delivery` |
//! | `priority` | no | `low`, `normal`, `high`, `urgent` |
//! | `carrier` | no | `internal`, `prime`, `external`, `hybrid` |
//! | `parcels`, `weight_g` | no | whole numbers |
//! | `cod` | no | amount in currency units, `12.50` or `12,50` |
//! | `window_start`, `window_end` | no | RFC 3339 (`2026-11-22T14:00:00+02:00`) or epoch ms, both or neither |
//! | `notes`, `instructions`, `client`, `service` | no | text (`service`: a service level's id) |
//! | `pod_photo`, `pod_signature`, `pod_qr`, `pod_pin`, `express` | no | `yes`/`no`, `true`/`false`, `1`/`0` |
//! | `pickup_contact`, `pickup_phone`, `dropoff_contact`, `dropoff_phone`, `package_reference` | no | text |
//! | `pickup_warehouse`, `dropoff_warehouse` | no | a warehouse's id (its address and position are used) |
//!
//! Every row is validated before anything is written; by default a file with
//! any bad row imports nothing (the report lists every problem); `partial`
//! imports the good rows and reports the rest.

use app_api::{CarrierType, NewOrder, OrderType, PodNeeds, Point, Priority};
use serde::{Deserialize, Serialize};

/// One problem in an import file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based line in the file (the header is line 1); 0 = the file as a whole.
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

/// The rows of a file that parsed, with the line each came from, and the problems.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<(u64, NewOrder)>,
    pub errors: Vec<RowError>,
    /// Data rows seen (good and bad).
    pub total: u64,
}

const REQUIRED: [&str; 3] = ["customer_name", "pickup_address", "dropoff_address"];
/// The column names, in the order of [`app_api::ORDER_CSV_COLUMNS`].
const KNOWN: [&str; app_api::ORDER_CSV_COLUMNS.len()] = {
    let mut out = [""; app_api::ORDER_CSV_COLUMNS.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = app_api::ORDER_CSV_COLUMNS[i].0;
        i += 1;
    }
    out
};

/// Largest import accepted, so a wrong file cannot exhaust memory.
pub const MAX_IMPORT_BYTES: usize = 256 * 1024 * 1024;

fn file_error(message: impl Into<String>) -> RowError {
    RowError {
        line: 0,
        column: None,
        message: message.into(),
    }
}

/// Parses and validates an order file. `progress(done_bytes, total_bytes)` is
/// called every few thousand rows.
pub fn parse_orders(bytes: &[u8], mut progress: impl FnMut(u64, u64)) -> Parsed {
    let mut out = Parsed::default();
    if bytes.len() > MAX_IMPORT_BYTES {
        out.errors.push(file_error(format!(
            "the file is {} MB; at most {} MB can be imported at once: split it",
            bytes.len() / (1024 * 1024),
            MAX_IMPORT_BYTES / (1024 * 1024)
        )));
        return out;
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        out.errors.push(file_error(
            "the file is UTF-16; save it as UTF-8 (CSV UTF-8 in spreadsheet programs)",
        ));
        return out;
    }
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |c: u8| first_line.iter().filter(|b| **b == c).count();
    let delimiter = if count(b';') > count(b',') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(bytes);
    let header = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            out.errors
                .push(file_error(format!("cannot read the header line: {e}")));
            return out;
        }
    };
    let mut columns: Vec<Option<usize>> = Vec::with_capacity(header.len());
    let mut unknown = Vec::new();
    let mut index = std::collections::HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let Ok(name) = std::str::from_utf8(name) else {
            out.errors.push(RowError {
                line: 1,
                column: None,
                message: format!(
                    "header column {} is not UTF-8: save the file as UTF-8",
                    i + 1
                ),
            });
            return out;
        };
        let name = name.trim().to_lowercase();
        match KNOWN.iter().position(|k| *k == name) {
            Some(k) => {
                if index.insert(KNOWN[k], i).is_some() {
                    out.errors.push(RowError {
                        line: 1,
                        column: Some(name.clone()),
                        message: "this column appears twice".into(),
                    });
                }
                columns.push(Some(k));
            }
            None if name.is_empty() => columns.push(None),
            // An export's own columns: what the order was, not what to create.
            None if app_api::ORDER_CSV_EXPORT_ONLY.contains(&name.as_str()) => columns.push(None),
            None => {
                unknown.push(name);
                columns.push(None);
            }
        }
    }
    if !unknown.is_empty() {
        out.errors.push(RowError {
            line: 1,
            column: None,
            message: format!(
                "unknown columns {unknown:?}; known columns are {}",
                KNOWN.join(", ")
            ),
        });
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|r| !index.contains_key(r))
        .collect();
    if !missing.is_empty() {
        out.errors.push(RowError {
            line: 1,
            column: None,
            message: format!("required columns missing: {}", missing.join(", ")),
        });
    }
    if !out.errors.is_empty() {
        return out;
    }
    let total_bytes = bytes.len() as u64;
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                out.errors.push(RowError {
                    line,
                    column: None,
                    message: format!("the file cannot be read from here on: {e}"),
                });
                break;
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        out.total += 1;
        if out.total.is_multiple_of(4096) {
            progress(record.position().map_or(0, |p| p.byte()), total_bytes);
        }
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            out.total -= 1; // blank line
            continue;
        }
        if record.len() != header.len() {
            out.errors.push(RowError {
                line,
                column: None,
                message: format!(
                    "expected {} fields as in the header, found {} (a missing or extra {}? an unclosed quote?)",
                    header.len(),
                    record.len(),
                    delimiter as char
                ),
            });
            continue;
        }
        match parse_row(&record, &columns, line) {
            Ok(order) => out.rows.push((line, order)),
            Err(e) => out.errors.push(e),
        }
    }
    progress(total_bytes, total_bytes);
    out
}

fn parse_row(
    record: &csv::ByteRecord,
    columns: &[Option<usize>],
    line: u64,
) -> Result<NewOrder, RowError> {
    let mut fields: [&str; KNOWN.len()] = [""; KNOWN.len()];
    for (i, raw) in record.iter().enumerate() {
        let Some(k) = columns[i] else { continue };
        let text = std::str::from_utf8(raw).map_err(|e| RowError {
            line,
            column: Some(KNOWN[k].into()),
            message: format!(
                "not UTF-8 text (byte {:#04x} at position {}): save the file as UTF-8",
                raw[e.valid_up_to()],
                e.valid_up_to() + 1
            ),
        })?;
        if text.contains('\u{FFFD}') {
            return Err(RowError {
                line,
                column: Some(KNOWN[k].into()),
                message:
                    "contains replacement characters (�): the file was not UTF-8 when it was read"
                        .into(),
            });
        }
        fields[k] = unsafe_cell(text.trim());
    }
    let get = |name: &str| fields[KNOWN.iter().position(|k| *k == name).expect("known column")];
    let err = |column: &str, message: String| RowError {
        line,
        column: Some(column.into()),
        message,
    };
    for r in REQUIRED {
        if get(r).is_empty() {
            return Err(err(r, "required, but empty".into()));
        }
    }
    let number = |name: &str| -> Result<Option<f64>, RowError> {
        let v = get(name);
        if v.is_empty() {
            return Ok(None);
        }
        v.replace(',', ".")
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| err(name, format!("{v:?} is not a number")))
    };
    let point = |lat: &str, lon: &str| -> Result<Option<Point>, RowError> {
        match (number(lat)?, number(lon)?) {
            (None, None) => Ok(None),
            (Some(a), Some(o)) => {
                if !(-90.0..=90.0).contains(&a) {
                    return Err(err(lat, format!("{a} is not a latitude (-90..90)")));
                }
                if !(-180.0..=180.0).contains(&o) {
                    return Err(err(lon, format!("{o} is not a longitude (-180..180)")));
                }
                Ok(Some(Point { lat: a, lon: o }))
            }
            (Some(_), None) => Err(err(lon, "latitude given without longitude".into())),
            (None, Some(_)) => Err(err(lat, "longitude given without latitude".into())),
        }
    };
    let choice = |name: &str| -> Option<String> {
        let v = get(name);
        (!v.is_empty()).then(|| v.to_lowercase().replace([' ', '-'], "_"))
    };
    fn named<T: serde::de::DeserializeOwned>(v: &str) -> Option<T> {
        serde_json::from_value(serde_json::Value::String(v.to_owned())).ok()
    }
    let order_type = match choice("order_type") {
        None => OrderType::default(),
        Some(v) => named(&v).ok_or_else(|| {
            err(
                "order_type",
                format!("{v:?}: use on_demand, pickup, delivery or pickup_and_delivery"),
            )
        })?,
    };
    let priority = match choice("priority") {
        None => Priority::default(),
        Some(v) => named(&v).ok_or_else(|| {
            err(
                "priority",
                format!("{v:?}: use low, normal, high or urgent"),
            )
        })?,
    };
    let carrier = match choice("carrier") {
        None => CarrierType::default(),
        Some(v) => named(&v).ok_or_else(|| {
            err(
                "carrier",
                format!("{v:?}: use internal, prime, external or hybrid"),
            )
        })?,
    };
    let whole = |name: &str| -> Result<Option<u32>, RowError> {
        let v = get(name);
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<u32>()
            .map(Some)
            .map_err(|_| err(name, format!("{v:?} is not a whole number")))
    };
    let parcels = whole("parcels")?;
    if parcels == Some(0) {
        return Err(err("parcels", "must be at least 1".into()));
    }
    let cod_cents = match get("cod") {
        "" => 0,
        v => money_cents(v)
            .ok_or_else(|| err("cod", format!("{v:?} is not an amount like 12.50")))?,
    };
    let window = match (get("window_start"), get("window_end")) {
        ("", "") => None,
        (a, b) if a.is_empty() || b.is_empty() => {
            return Err(err(
                if a.is_empty() {
                    "window_start"
                } else {
                    "window_end"
                },
                "a window needs both window_start and window_end".into(),
            ));
        }
        (a, b) => {
            let s = parse_time(a).ok_or_else(|| {
                err(
                    "window_start",
                    format!(
                        "{a:?}: use RFC 3339 like 2026-11-22T14:00:00+02:00, or epoch milliseconds"
                    ),
                )
            })?;
            let e = parse_time(b).ok_or_else(|| {
                err(
                    "window_end",
                    format!(
                        "{b:?}: use RFC 3339 like 2026-11-22T16:00:00+02:00, or epoch milliseconds"
                    ),
                )
            })?;
            if e < s {
                return Err(err("window_end", "the window ends before it starts".into()));
            }
            Some((s, e))
        }
    };
    let flag = |name: &str| -> Result<bool, RowError> {
        match get(name).to_lowercase().as_str() {
            "" | "no" | "false" | "0" | "n" => Ok(false),
            "yes" | "true" | "1" | "y" => Ok(true),
            other => Err(err(name, format!("{other:?}: use yes or no"))),
        }
    };
    let text = |name: &str| -> Result<String, RowError> {
        let v = get(name);
        if v.chars().count() > crate::domain::order::MAX_TEXT {
            return Err(err(
                name,
                format!("longer than {} characters", crate::domain::order::MAX_TEXT),
            ));
        }
        Ok(v.to_owned())
    };
    Ok(NewOrder {
        customer_name: text("customer_name")?,
        pickup_address: text("pickup_address")?,
        dropoff_address: text("dropoff_address")?,
        order_type,
        carrier,
        priority,
        pickup_point: point("pickup_lat", "pickup_lon")?,
        dropoff_point: point("dropoff_lat", "dropoff_lon")?,
        dropoff_window: window,
        parcels,
        weight_g: whole("weight_g")?.unwrap_or(0),
        cod_cents,
        notes: text("notes")?,
        instructions: text("instructions")?,
        pod: PodNeeds {
            photo: flag("pod_photo")?,
            signature: flag("pod_signature")?,
            qr: flag("pod_qr")?,
            pin: flag("pod_pin")?,
        },
        age_check: None,
        dropoff_contact_name: text("dropoff_contact")?,
        dropoff_phone: text("dropoff_phone")?,
        client: Some(text("client")?).filter(|c| !c.is_empty()),
        service: Some(text("service")?).filter(|c| !c.is_empty()),
        pickup_contact_name: text("pickup_contact")?,
        pickup_phone: text("pickup_phone")?,
        pickup_window: None,
        pickup_warehouse: Some(text("pickup_warehouse")?).filter(|c| !c.is_empty()),
        dropoff_warehouse: Some(text("dropoff_warehouse")?).filter(|c| !c.is_empty()),
        dims_mm: None,
        package_reference: text("package_reference")?,
        express: flag("express")?,
    })
}

/// `12.50`, `12,50`, `12`, `-0.5` -> cents; at most 2 decimals.
fn money_cents(v: &str) -> Option<i64> {
    let v = v.replace(',', ".");
    let (neg, v) = match v.strip_prefix('-') {
        Some(rest) => (true, rest.to_owned()),
        None => (false, v),
    };
    let (int, frac) = v.split_once('.').unwrap_or((&v, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let cents =
        int.parse::<i64>().ok()?.checked_mul(100)? + format!("{frac:0<2}").parse::<i64>().ok()?;
    Some(if neg { -cents } else { cents })
}

/// RFC 3339 (`YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM)`) or epoch milliseconds.
pub fn parse_time(v: &str) -> Option<i64> {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse().ok();
    }
    let b = v.as_bytes();
    if b.len() < 16
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
    {
        return None;
    }
    let num = |s: &str| s.parse::<i64>().ok();
    let (y, mo, d) = (num(&v[0..4])?, num(&v[5..7])?, num(&v[8..10])?);
    let (h, mi) = (num(&v[11..13])?, num(&v[14..16])?);
    let mut rest = &v[16..];
    let mut s = 0;
    let mut ms = 0;
    if let Some(r) = rest.strip_prefix(':') {
        s = num(r.get(0..2)?)?;
        rest = &r[2..];
        if let Some(r) = rest.strip_prefix('.') {
            let digits: String = r.chars().take_while(char::is_ascii_digit).collect();
            ms = num(&format!("{:0<3}", &digits[..digits.len().min(3)]))?;
            rest = &r[digits.len()..];
        }
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = rest[1..].split_once(':')?;
            sign * (num(oh)? * 60 + num(om)?)
        }
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + mi * 60 + s) - offset_min * 60) * 1000 + ms)
}

// ---------------------------------------------------------------------------
// Exports.

/// A CSV cell that a spreadsheet will not run as a formula.
pub fn safe_cell(v: &str) -> std::borrow::Cow<'_, str> {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}").into()
    } else {
        v.into()
    }
}

/// The value behind a cell [`safe_cell`] protected (`'+358 40 111` is the
/// phone number `+358 40 111`), so an exported file imports as it was.
pub fn unsafe_cell(v: &str) -> &str {
    match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => v,
    }
}

/// Writes rows of cells as RFC 4180 CSV with a header.
pub fn write_csv<I, R>(header: &[&str], rows: I) -> String
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = String>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("writing to memory");
    for row in rows {
        let cells: Vec<String> = row
            .into_iter()
            .map(|c| safe_cell(&c).into_owned())
            .collect();
        w.write_record(&cells).expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("flush to memory")).expect("cells are strings")
}

#[cfg(test)]
mod tests;

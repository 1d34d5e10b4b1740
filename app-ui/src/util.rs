//! Small browser helpers shared by the workspaces: calling the core from a
//! signal-driven view, formatting, files in and out, local preferences.

use app_api::{ActionKind, ApiError, DeliveryStatus, ProofKind, Request, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::api;

/// Where maps open and plans start when nothing better is known (Helsinki
/// centre, where the demo tenant works).
pub const DEFAULT_CENTER: app_api::Point = app_api::Point {
    lat: 60.1699,
    lon: 24.9384,
};

/// Calls the core and hands the answer (or a readable error) to `done`.
pub fn run(request: Request, done: impl FnOnce(Result<Response, String>) + 'static) {
    spawn_local(async move {
        done(api::call(&request).await.map_err(|e| describe(&e)));
    });
}

/// Like [`run`], but the error stays an [`ApiError`] (a form marks the field
/// it names).
pub fn run_api(request: Request, done: impl FnOnce(Result<Response, ApiError>) + 'static) {
    spawn_local(async move {
        done(api::call(&request).await);
    });
}

/// Whether a key went to a field being typed in (shortcuts leave those alone).
pub fn typing(e: &web_sys::KeyboardEvent) -> bool {
    e.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
}

/// The order a person typed (its reference, any case, or its id) among
/// those on this device; `done` gets its id, or why not (`what` names the field).
pub fn find_order(
    typed: &str,
    what: &'static str,
    done: impl FnOnce(Result<String, String>) + 'static,
) {
    let typed = typed.trim().to_owned();
    if typed.is_empty() {
        return done(Err(format!("{what}: type an order's reference")));
    }
    run(
        Request::ListOrders(app_api::OrderQuery {
            search: Some(typed.clone()),
            limit: 20,
            ..Default::default()
        }),
        move |r| {
            done(match r {
                Ok(Response::Orders { orders, .. }) => orders
                    .iter()
                    .find(|o| o.reference.eq_ignore_ascii_case(&typed) || o.id == typed)
                    .map(|o| o.id.clone())
                    .ok_or_else(|| {
                        format!("{what}: no order {typed} on this device (type its reference, e.g. R-3F2A-0001)")
                    }),
                Ok(other) => Err(unexpected(&other)),
                Err(e) => Err(e),
            })
        },
    );
}

/// Runs `f` after the current event handler returns. A callback that closes
/// or replaces the view it belongs to must not do so while it runs (the view's
/// owner, and the callback with it, would be disposed under its feet).
pub fn later(f: impl FnOnce() + 'static) {
    spawn_local(async move { f() });
}

/// An error as a person reads it.
pub fn describe(e: &ApiError) -> String {
    match e {
        ApiError::Invalid { field, message } => format!("{}: {message}", field_label(field)),
        other => other.to_string(),
    }
}

pub fn field_label(field: &str) -> &str {
    match field {
        "customer_name" => "Customer",
        "pickup.address.line1" => "Pickup address",
        "dropoff.address.line1" => "Drop-off address",
        "photo" | "photo_base64" => "Photo",
        "signature" => "Signature",
        "qr" | "qr_frame" | "qr_frame_base64" => "QR code",
        "pin" => "PIN",
        "age_confirmed" => "Age check",
        "capture" => "Proof",
        other => other,
    }
}

/// A snake_case option value as the enum it names (its default if none).
pub fn enum_value<T: serde::de::DeserializeOwned + Default>(v: String) -> T {
    serde_json::from_value(serde_json::Value::String(v)).unwrap_or_default()
}

pub fn unexpected(r: &Response) -> String {
    format!("unexpected answer from the core: {r:?}")
}

/// `HH:MM` in the browser's local time.
pub fn hhmm(ms: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

/// `YYYY-MM-DD HH:MM` in the browser's local time.
pub fn stamp(ms: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!(
        "{}-{:02}-{:02} {:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

pub fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.abs();
    format!("{sign}€{}.{:02}", c / 100, c % 100)
}

/// The CSS class of a status chip.
pub fn status_class(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Pending => "st st-pending",
        DeliveryStatus::Assigned => "st st-assigned",
        DeliveryStatus::PickedUp => "st st-picked",
        DeliveryStatus::InTransit => "st st-transit",
        DeliveryStatus::AttemptFailed => "st st-failed",
        DeliveryStatus::Delivered => "st st-delivered",
        DeliveryStatus::Cancelled => "st st-cancelled",
        DeliveryStatus::Returned => "st st-returned",
        DeliveryStatus::AtHub => "st st-hub",
    }
}

/// The button label of an action the lifecycle offers (`OrderDetail::actions`).
pub fn action_label(a: ActionKind) -> &'static str {
    match a {
        ActionKind::Assign => "Assign",
        ActionKind::Unassign => "Unassign",
        ActionKind::Claim => "Claim",
        ActionKind::Accept => "Accept",
        ActionKind::Decline => "Decline",
        ActionKind::PickUp => "Picked up",
        ActionKind::StartTransit => "On my way",
        ActionKind::Deliver => "Deliver…",
        ActionKind::RecordCarrierDelivery => "Record carrier delivery",
        ActionKind::FailAttempt => "Could not deliver",
        ActionKind::Return => "Return",
        ActionKind::Cancel => "Cancel order",
        ActionKind::Reopen => "Reopen",
        ActionKind::Edit => "Edit",
        ActionKind::ReceiveAtHub => "Left at the hub",
    }
}

/// How a missing proof is named to the courier.
pub fn proof_label(p: ProofKind) -> &'static str {
    match p {
        ProofKind::Photo => "photo",
        ProofKind::Signature => "signature",
        ProofKind::Qr => "QR code",
        ProofKind::Pin => "PIN",
        ProofKind::AgeCheck => "ID check",
    }
}

/// Saves a text file (a CSV export) through the browser's download.
pub fn download_text(filename: &str, mime: &str, text: &str) -> Result<(), String> {
    download(filename, mime, &B64.encode(text.as_bytes()))
}

/// Saves a file the core produced (base64) through the browser's download.
pub fn download(filename: &str, mime: &str, data_base64: &str) -> Result<(), String> {
    let bytes = B64.decode(data_base64).map_err(|e| e.to_string())?;
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    let parts = js_sys::Array::of1(&array);
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts)
        .map_err(|e| format!("{e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let doc = document();
    let a: web_sys::HtmlAnchorElement = doc
        .create_element("a")
        .map_err(|e| format!("{e:?}"))?
        .unchecked_into();
    a.set_href(&url);
    a.set_download(filename);
    a.set_attribute("data-download", filename).ok();
    let body = doc.body().ok_or("no body")?;
    body.append_child(&a).ok();
    a.click();
    body.remove_child(&a).ok();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// A data URL for base64 bytes, for `<img src>`.
pub fn data_url(mime: &str, data_base64: &str) -> String {
    format!("data:{mime};base64,{data_base64}")
}

/// The first file chosen in a file input, as base64.
pub async fn input_file_base64(
    input: &web_sys::HtmlInputElement,
) -> Option<Result<String, String>> {
    let file = input.files()?.get(0)?;
    Some(file_bytes(&file).await.map(|b| B64.encode(b)))
}

/// The first file chosen in a file input, as text (UTF-8).
pub async fn input_file_text(input: &web_sys::HtmlInputElement) -> Option<Result<String, String>> {
    let file = input.files()?.get(0)?;
    Some(
        file_bytes(&file)
            .await
            .and_then(|b| String::from_utf8(b).map_err(|_| "the file is not UTF-8 text".into())),
    )
}

async fn file_bytes(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buf = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("cannot read the file: {e:?}"))?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// A preference kept in the browser's local storage.
pub fn load_pref(key: &str) -> Option<String> {
    storage()?.get_item(&format!("ruta.{key}")).ok().flatten()
}

pub fn save_pref(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(&format!("ruta.{key}"), value);
    }
}

/// Milliseconds since page load (for performance marks in benchmarks).
pub fn perf_now() -> f64 {
    window().performance().map(|p| p.now()).unwrap_or(0.0)
}

/// Sets a performance mark benchmarks read (`performance.getEntriesByName`).
pub fn mark(name: &str) {
    if let Some(p) = window().performance() {
        let _ = p.mark(name);
    }
}

/// Watches the device's position (the webview's geolocation: GPS on phones).
/// `on_fix(lat, lon, accuracy_m, at_ms)` runs for every fix, `on_error` with a
/// readable reason (denied, unavailable). Returns the watch id, or None when
/// the platform has no geolocation.
pub fn watch_position(
    on_fix: impl Fn(f64, f64, f64, i64) + 'static,
    on_error: impl Fn(String) + 'static,
) -> Option<i32> {
    use wasm_bindgen::closure::Closure;
    let geo = web_sys::window()?.navigator().geolocation().ok()?;
    // web-sys marks the position types unstable: read the plain JS objects.
    let get = |o: &wasm_bindgen::JsValue, k: &str| {
        js_sys::Reflect::get(o, &k.into()).unwrap_or(wasm_bindgen::JsValue::UNDEFINED)
    };
    let fix = Closure::<dyn Fn(wasm_bindgen::JsValue)>::new(move |p: wasm_bindgen::JsValue| {
        let c = get(&p, "coords");
        let num = |k: &str| get(&c, k).as_f64();
        if let (Some(lat), Some(lon)) = (num("latitude"), num("longitude")) {
            let at = get(&p, "timestamp")
                .as_f64()
                .unwrap_or_else(js_sys::Date::now);
            on_fix(lat, lon, num("accuracy").unwrap_or(0.0), at as i64);
        }
    });
    let err = Closure::<dyn Fn(wasm_bindgen::JsValue)>::new(move |e: wasm_bindgen::JsValue| {
        on_error(match get(&e, "code").as_f64() {
            Some(1.0) => "location permission denied".into(),
            Some(2.0) => "position unavailable".into(),
            _ => format!(
                "location error: {}",
                get(&e, "message").as_string().unwrap_or_default()
            ),
        })
    });
    let opts = web_sys::PositionOptions::new();
    opts.set_enable_high_accuracy(true);
    opts.set_maximum_age(5_000);
    let id = geo
        .watch_position_with_error_callback_and_options(
            fix.as_ref().unchecked_ref(),
            Some(err.as_ref().unchecked_ref()),
            &opts,
        )
        .ok()?;
    // The watch lives until cleared; its callbacks with it.
    fix.forget();
    err.forget();
    Some(id)
}

pub fn clear_watch(id: i32) {
    if let Some(geo) = web_sys::window().and_then(|w| w.navigator().geolocation().ok()) {
        geo.clear_watch(id);
    }
}

/// The serde (snake_case) name of a unit enum variant: option values and CSS classes.
pub fn name_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// An id made from a name (`Töölö Etelä` → `toolo-etela`): lower case a-z and
/// 0-9, dashes between words, at most 40 characters — a zone's or item's id.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'ä' | 'å' | 'á' | 'à' => 'a',
            'ö' | 'ó' | 'ò' => 'o',
            'ü' | 'ú' => 'u',
            'é' | 'è' => 'e',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_end_matches('-').chars().take(40).collect();
    out.trim_end_matches('-').to_owned()
}

/// The price of the order being typed, as it will be priced: re-asked of the
/// core whenever what `order` reads changes. `order` gives `Ok(None)` while
/// there is nothing to price yet, `Err` for what is wrong with a field. Only
/// the newest question's answer is kept: answers may arrive out of order, and
/// an older one must not overwrite a newer price.
pub fn live_quote(
    order: impl Fn() -> Result<Option<app_api::NewOrder>, String> + 'static,
) -> RwSignal<Option<Result<app_api::PriceQuote, String>>> {
    let quote = RwSignal::new(None);
    let asked = StoredValue::new(0u64);
    Effect::new(move |_| {
        asked.update_value(|n| *n += 1);
        let new = match order() {
            Ok(Some(new)) => new,
            Ok(None) => return quote.set(None),
            Err(e) => return quote.set(Some(Err(e))),
        };
        let this = asked.get_value();
        run(Request::QuotePrice(new), move |r| {
            if asked.try_get_value() != Some(this) {
                return;
            }
            let _ = quote.try_set(Some(match r {
                Ok(Response::Quote(q)) => Ok(q),
                Ok(other) => Err(unexpected(&other)),
                Err(e) => Err(e),
            }));
        });
    });
    quote
}

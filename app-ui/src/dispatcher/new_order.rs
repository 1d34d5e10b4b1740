//! The new-order form: order type, carrier, service level, both stops (an
//! address found by the address search, or one of the tenant's warehouses)
//! with contact and time window, the parcels, cash on delivery, options and
//! proofs; the price as the order will be priced, updated as it is typed.

use super::*;
use crate::address::AddressField;
use app_api::config::{ServiceLevel, Warehouse};
use app_api::{CarrierType, Point};

/// Milliseconds since the epoch of a `datetime-local` value (the browser's
/// time zone), or what is wrong with it.
fn local_ms(v: &str, what: &str) -> Result<Option<i64>, String> {
    if v.trim().is_empty() {
        return Ok(None);
    }
    let ms = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(v)).get_time();
    if ms.is_finite() {
        Ok(Some(ms as i64))
    } else {
        Err(format!("{what}: {v:?} is not a date and time"))
    }
}

/// A window from two `datetime-local` values: both or neither.
fn window(from: &str, to: &str, what: &str) -> Result<Option<(i64, i64)>, String> {
    match (local_ms(from, what)?, local_ms(to, what)?) {
        (None, None) => Ok(None),
        (Some(a), Some(b)) if a <= b => Ok(Some((a, b))),
        (Some(_), Some(_)) => Err(format!("{what}: the window ends before it starts")),
        _ => Err(format!("{what}: give both the start and the end")),
    }
}

/// `40x30x20` (centimetres, `x`, `×` or `*` between) as millimetres.
fn dims_mm(v: &str) -> Result<Option<[u32; 3]>, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let parts: Vec<f64> = v
        .split(['x', 'X', '×', '*'])
        .map(|p| p.trim().replace(',', ".").parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            format!("Dimensions: {v:?} is not length × width × height in cm (40x30x20)")
        })?;
    match parts[..] {
        [l, w, h]
            if [l, w, h]
                .iter()
                .all(|d| d.is_finite() && *d > 0.0 && *d < 10_000.0) =>
        {
            Ok(Some([l, w, h].map(|d| (d * 10.0).round() as u32)))
        }
        _ => Err(format!(
            "Dimensions: {v:?} is not length × width × height in cm (40x30x20)"
        )),
    }
}

#[component]
pub(crate) fn NewOrderForm(on_created: Callback<String>) -> impl IntoView {
    let c = ctx();
    let f = |s: &str| RwSignal::new(s.to_owned());
    let (customer, pickup, dropoff, contact, phone, instructions, parcels, weight, cod, age) = (
        f(""),
        f(""),
        f(""),
        f(""),
        f(""),
        f(""),
        f("1"),
        f(""),
        f(""),
        f(""),
    );
    let (pickup_contact, pickup_phone, notes, dims, package_ref) =
        (f(""), f(""), f(""), f(""), f(""));
    let (pickup_from, pickup_to, dropoff_from, dropoff_to) = (f(""), f(""), f(""), f(""));
    // A warehouse id instead of an address ("" = an address).
    let (pickup_wh, dropoff_wh) = (f(""), f(""));
    let (pickup_at, dropoff_at) = (RwSignal::new(None::<Point>), RwSignal::new(None::<Point>));
    let priority = RwSignal::new(Priority::Normal);
    let order_type = RwSignal::new(OrderType::default());
    let carrier = RwSignal::new(CarrierType::default());
    let service = f("");
    let express = RwSignal::new(false);
    let needs = RwSignal::new(PodNeeds::default());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // The tenant's service levels and warehouses (staff see the warehouses).
    let services = RwSignal::new(Vec::<ServiceLevel>::new());
    let warehouses = RwSignal::new(Vec::<Warehouse>::new());
    Effect::new(move |_| {
        c.changed.track();
        run(Request::TenantConfig, move |r| {
            if let Ok(Response::TenantConfig(v)) = r {
                let _ = services.try_set(v.config.services);
                let _ = warehouses.try_set(v.config.warehouses);
            }
        });
    });
    // The order as typed so far (read with `get`, so a caller inside an effect
    // tracks every field), or what is wrong with a field (named).
    let build = move || -> Result<NewOrder, String> {
        let wh = |s: RwSignal<String>| Some(s.get()).filter(|w| !w.is_empty());
        let mut new = NewOrder::simple(&customer.get(), &pickup.get(), &dropoff.get());
        new.order_type = order_type.get();
        new.carrier = carrier.get();
        new.service = Some(service.get()).filter(|s| !s.is_empty());
        new.pickup_warehouse = wh(pickup_wh);
        new.dropoff_warehouse = wh(dropoff_wh);
        new.pickup_point = if new.pickup_warehouse.is_some() {
            None
        } else {
            pickup_at.get()
        };
        new.dropoff_point = if new.dropoff_warehouse.is_some() {
            None
        } else {
            dropoff_at.get()
        };
        if new.pickup_warehouse.is_some() {
            new.pickup_address = String::new();
        }
        if new.dropoff_warehouse.is_some() {
            new.dropoff_address = String::new();
        }
        new.pickup_contact_name = pickup_contact.get();
        new.pickup_phone = pickup_phone.get();
        new.dropoff_contact_name = contact.get();
        new.dropoff_phone = phone.get();
        new.pickup_window = window(&pickup_from.get(), &pickup_to.get(), "Pickup window")?;
        new.dropoff_window = window(&dropoff_from.get(), &dropoff_to.get(), "Drop-off window")?;
        new.instructions = instructions.get();
        new.notes = notes.get();
        new.priority = priority.get();
        new.express = express.get();
        new.pod = needs.get();
        new.dims_mm = dims_mm(&dims.get())?;
        new.package_reference = package_ref.get();
        let num = |s: RwSignal<String>, what: &str| -> Result<Option<f64>, String> {
            let v = s.get().trim().replace(',', ".");
            if v.is_empty() {
                return Ok(None);
            }
            v.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .map(Some)
                .ok_or_else(|| format!("{what}: not a number ({v})"))
        };
        new.parcels = num(parcels, "Parcels")?.map(|p| p as u32);
        new.weight_g = num(weight, "Weight")?.map_or(0, |kg| (kg * 1000.0).round() as u32);
        new.cod_cents = num(cod, "COD")?.map_or(0, |e| (e * 100.0).round() as i64);
        new.age_check = num(age, "Age check")?.map(|a| a as u8);
        Ok(new)
    };
    // Price preview: the tariff on this device, as the order would be priced.
    // Price preview: the tariff on this device, as the order would be priced;
    // what can be priced while the names are still being typed.
    let quote = util::live_quote(move || {
        let mut new = build()?;
        if new.customer_name.trim().is_empty() {
            new.customer_name = "-".into();
        }
        for (a, wh) in [
            (&mut new.pickup_address, new.pickup_warehouse.is_some()),
            (&mut new.dropoff_address, new.dropoff_warehouse.is_some()),
        ] {
            if a.trim().is_empty() && !wh {
                *a = "-".into();
            }
        }
        Ok(Some(new))
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let new = match untrack(build) {
            Ok(new) => new,
            Err(e) => {
                error.set(Some(e));
                return;
            }
        };
        busy.set(true);
        run(Request::CreateOrder(new), move |r| {
            busy.set(false);
            match r {
                Ok(Response::Order(o)) => {
                    error.set(None);
                    for s in [
                        customer,
                        pickup,
                        dropoff,
                        contact,
                        phone,
                        instructions,
                        weight,
                        cod,
                        age,
                        pickup_contact,
                        pickup_phone,
                        notes,
                        dims,
                        package_ref,
                        pickup_from,
                        pickup_to,
                        dropoff_from,
                        dropoff_to,
                    ] {
                        s.set(String::new());
                    }
                    pickup_at.set(None);
                    dropoff_at.set(None);
                    c.bump();
                    on_created.run(o.id);
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let text = move |id: &'static str, label: &'static str, s: RwSignal<String>| {
        view! { <label>{label}<input id=id autocomplete="off" prop:value=s on:input=move |ev| s.set(event_target_value(&ev))/></label> }
    };
    let when = move |id: &'static str, label: &'static str, s: RwSignal<String>| {
        view! { <label>{label}<input id=id type="datetime-local" prop:value=s on:input=move |ev| s.set(event_target_value(&ev))/></label> }
    };
    let need = move |id: &'static str, label: &'static str, set: fn(&mut PodNeeds, bool)| {
        view! { <label class="check"><input type="checkbox" id=id on:change=move |ev| { let v = event_target_checked(&ev); needs.update(|n| set(n, v)) }/>{label}</label> }
    };
    // An address, or one of the tenant's warehouses when it keeps any.
    let place = move |which: &'static str,
                      label: &'static str,
                      address_id: &'static str,
                      address_label: &'static str,
                      text: RwSignal<String>,
                      at: RwSignal<Option<Point>>,
                      wh: RwSignal<String>| {
        let select_id = format!("{which}-warehouse");
        view! {
            <Show when=move || !warehouses.with(Vec::is_empty)>
                <label>{format!("{label}: warehouse")}
                    <select id=select_id.clone() on:change=move |ev| wh.set(event_target_value(&ev))>
                        <option value="" selected=move || wh.get().is_empty()>"— an address —"</option>
                        {move || warehouses.get().into_iter().map(|w| {
                            let id = w.id.clone();
                            view! { <option value=w.id.clone() selected=move || wh.get() == id>{format!("{} · {}", w.name, w.address)}</option> }
                        }).collect_view()}
                    </select>
                </label>
            </Show>
            <Show when=move || wh.get().is_empty()>
                <AddressField id=address_id label=address_label text=text point=at/>
            </Show>
        }
    };
    view! {
        <section class="card">
            <h2>"New order"</h2>
            <form id="new-order" class="grid" on:submit=submit>
                {text("customer-name", "Customer", customer)}
                <label>"Order type"
                    <select id="order-type" on:change=move |ev| order_type.set(util::enum_value(event_target_value(&ev)))>
                        <option value="pickup_and_delivery" selected>"Pickup & delivery"</option>
                        <option value="on_demand">"On demand (now)"</option>
                        <option value="pickup">"Pickup (to a hub)"</option>
                        <option value="delivery">"Delivery (from a hub)"</option>
                    </select>
                </label>
                <label>"Carrier"
                    <select id="carrier" on:change=move |ev| carrier.set(util::enum_value(event_target_value(&ev)))>
                        <option value="internal" selected>"Our couriers"</option>
                        <option value="prime">"Prime (no cash)"</option>
                        <option value="external">"External carrier"</option>
                        <option value="hybrid">"Hybrid (staged at a hub)"</option>
                    </select>
                </label>
                <label>"Service level"
                    <select id="service" on:change=move |ev| service.set(event_target_value(&ev))>
                        <option value="" selected=move || service.get().is_empty()>"— none —"</option>
                        {move || services.get().into_iter().map(|s| {
                            let id = s.id.clone();
                            let label = match s.window_minutes {
                                0 => s.name.clone(),
                                m => format!("{} (within {} h)", s.name, (m as f64 / 60.0 * 10.0).round() / 10.0),
                            };
                            view! { <option value=s.id.clone() selected=move || service.get() == id>{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"Priority"
                    <select id="priority" on:change=move |ev| priority.set(util::enum_value(event_target_value(&ev)))>
                        <option value="low">"Low"</option><option value="normal" selected>"Normal"</option>
                        <option value="high">"High"</option><option value="urgent">"Urgent"</option>
                    </select>
                </label>
                <fieldset class="stop" id="pickup-stop"><legend>"Pickup"</legend>
                    {place("pickup", "Pickup", "pickup-address", "Pickup address", pickup, pickup_at, pickup_wh)}
                    {text("pickup-contact", "Contact", pickup_contact)}
                    {text("pickup-phone", "Phone", pickup_phone)}
                    {when("pickup-from", "Ready from", pickup_from)}
                    {when("pickup-to", "Ready until", pickup_to)}
                </fieldset>
                <fieldset class="stop" id="dropoff-stop"><legend>"Drop-off"</legend>
                    {place("dropoff", "Drop-off", "dropoff-address", "Drop-off address", dropoff, dropoff_at, dropoff_wh)}
                    {text("dropoff-contact", "Recipient", contact)}
                    {text("dropoff-phone", "Recipient phone", phone)}
                    {when("dropoff-from", "Deliver from", dropoff_from)}
                    {when("dropoff-to", "Deliver by", dropoff_to)}
                </fieldset>
                {text("parcels", "Parcels", parcels)}
                {text("weight", "Weight per parcel (kg)", weight)}
                {text("dims", "Dimensions (cm, L×W×H)", dims)}
                {text("package-reference", "Parcel reference / barcode", package_ref)}
                {text("cod", "Cash on delivery (€)", cod)}
                {text("age-check", "Minimum age (ID check)", age)}
                <label class="check"><input type="checkbox" id="express" on:change=move |ev| express.set(event_target_checked(&ev))/>"Express"</label>
                {text("instructions", "Instructions for the courier", instructions)}
                {text("notes", "Notes (office only)", notes)}
                <fieldset class="needs"><legend>"Proof at the door"</legend>
                    {need("need-photo", "Photo", |n, v| n.photo = v)}
                    {need("need-signature", "Signature", |n, v| n.signature = v)}
                    {need("need-qr", "QR code", |n, v| n.qr = v)}
                    {need("need-pin", "PIN", |n, v| n.pin = v)}
                </fieldset>
                <button id="create-order" type="submit" disabled=busy>"Create order"</button>
            </form>
            <div class="quote" id="price-preview" aria-live="polite">
                {move || match quote.get() {
                    None => view! { <p class="muted small">"The price appears as you type."</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="muted small" id="price-problem">{format!("No price yet: {e}")}</p> }.into_any(),
                    Some(Ok(q)) => view! {
                        <table class="quote-lines">
                            {q.lines.iter().map(|l| view! { <tr><td>{l.label.clone()}</td><td class="num">{util::euros(l.cents)}</td></tr> }).collect_view()}
                            <tr class="total"><td>"Total (VAT incl.)"</td><td class="num" id="price-total">{util::euros(q.total_cents)}</td></tr>
                        </table>
                        <p class="muted small">{if q.distance_m > 0 { format!("{:.1} km priced ({}); VAT {}", q.distance_m as f64 / 1000.0, if q.by_road { "by road" } else { "straight line × 1.3: no road route on this device's map" }, util::euros(q.vat_cents)) } else { format!("Distance not priced: the addresses have no map position. VAT {}", util::euros(q.vat_cents)) }}</p>
                    }.into_any(),
                }}
            </div>
            <Show when=move || error.get().is_some()>
                <p id="error" class="error" role="alert">{move || error.get()}</p>
            </Show>
        </section>
    }
}

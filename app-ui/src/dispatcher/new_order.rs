//! The new-order form.

use super::*;
use crate::address::AddressField;
use app_api::Point;

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
    let (pickup_at, dropoff_at) = (RwSignal::new(None::<Point>), RwSignal::new(None::<Point>));
    let priority = RwSignal::new(Priority::Normal);
    let needs = RwSignal::new(PodNeeds::default());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // The order as typed so far (read with `get`, so a caller inside an effect
    // tracks every field), or what is wrong with a number.
    let build = move || -> Result<NewOrder, String> {
        let mut new = NewOrder::simple(&customer.get(), &pickup.get(), &dropoff.get());
        new.pickup_point = pickup_at.get();
        new.dropoff_point = dropoff_at.get();
        new.dropoff_contact_name = contact.get();
        new.dropoff_phone = phone.get();
        new.instructions = instructions.get();
        new.priority = priority.get();
        new.pod = needs.get();
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
    let quote = RwSignal::new(None::<Result<app_api::PriceQuote, String>>);
    // Only the newest question's answer is shown: answers may arrive out of
    // order, and an older one must not overwrite a newer price.
    let asked = StoredValue::new(0u64);
    Effect::new(move |_| {
        let mut new = match build() {
            Ok(new) => new,
            Err(e) => {
                asked.update_value(|n| *n += 1);
                quote.set(Some(Err(e)));
                return;
            }
        };
        // Price what can be priced while the names are still being typed.
        if new.customer_name.trim().is_empty() {
            new.customer_name = "-".into();
        }
        for a in [&mut new.pickup_address, &mut new.dropoff_address] {
            if a.trim().is_empty() {
                *a = "-".into();
            }
        }
        asked.update_value(|n| *n += 1);
        let this = asked.get_value();
        run(Request::QuotePrice(new), move |r| {
            if asked.try_get_value() != Some(this) {
                return;
            }
            let _ = quote.try_set(Some(match r {
                Ok(Response::Quote(q)) => Ok(q),
                Ok(other) => Err(util::unexpected(&other)),
                Err(e) => Err(e),
            }));
        });
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
    let need = move |id: &'static str, label: &'static str, set: fn(&mut PodNeeds, bool)| {
        view! { <label class="check"><input type="checkbox" id=id on:change=move |ev| { let v = event_target_checked(&ev); needs.update(|n| set(n, v)) }/>{label}</label> }
    };
    view! {
        <section class="card">
            <h2>"New order"</h2>
            <form id="new-order" class="grid" on:submit=submit>
                {text("customer-name", "Customer", customer)}
                <AddressField id="pickup-address" label="Pickup address" text=pickup point=pickup_at/>
                <AddressField id="dropoff-address" label="Drop-off address" text=dropoff point=dropoff_at/>
                {text("dropoff-contact", "Recipient", contact)}
                {text("dropoff-phone", "Recipient phone", phone)}
                {text("parcels", "Parcels", parcels)}
                {text("weight", "Weight (kg)", weight)}
                {text("cod", "Cash on delivery (€)", cod)}
                {text("age-check", "Minimum age (ID check)", age)}
                <label>"Priority"
                    <select id="priority" on:change=move |ev| priority.set(serde_json::from_value(serde_json::Value::String(event_target_value(&ev))).unwrap_or_default())>
                        <option value="low">"Low"</option><option value="normal" selected>"Normal"</option>
                        <option value="high">"High"</option><option value="urgent">"Urgent"</option>
                    </select>
                </label>
                {text("instructions", "Instructions for the courier", instructions)}
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
                    Some(Err(e)) => view! { <p class="muted small">{format!("No price yet: {e}")}</p> }.into_any(),
                    Some(Ok(q)) => view! {
                        <table class="quote-lines">
                            {q.lines.iter().map(|l| view! { <tr><td>{l.label.clone()}</td><td class="num">{util::euros(l.cents)}</td></tr> }).collect_view()}
                            <tr class="total"><td>"Total (VAT incl.)"</td><td class="num" id="price-total">{util::euros(q.total_cents)}</td></tr>
                        </table>
                        <p class="muted small">{if q.distance_m > 0 { format!("{:.1} km priced ({}); VAT {}", q.distance_m as f64 / 1000.0, if q.by_road { "by road" } else { "straight line × 1.3: no road map on this device" }, util::euros(q.vat_cents)) } else { format!("Distance not priced: the addresses have no map position. VAT {}", util::euros(q.vat_cents)) }}</p>
                    }.into_any(),
                }}
            </div>
            <Show when=move || error.get().is_some()>
                <p id="error" class="error" role="alert">{move || error.get()}</p>
            </Show>
        </section>
    }
}

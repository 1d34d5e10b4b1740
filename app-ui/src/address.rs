//! An address field with suggestions from the device's offline address index
//! (`Request::SearchAddress`): suggestions as the user types, chosen with the
//! mouse or the keyboard (↑ ↓ Enter, Esc closes), each giving the position the
//! order will use; a small map shows that position, and a click or a drag on
//! it drops a pin where nothing matched (the typed text is kept, with the
//! pin's position). Typing again clears the position.

use app_api::{AddressMatch, AddressSuggestion, Point, Request, Response};
use leptos::prelude::*;

use crate::util::{self, run};

mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = rutaMap, js_name = pin, catch)]
        pub fn pin(
            element_id: &str,
            point: &JsValue,
            on_pick: &Closure<dyn FnMut(f64, f64)>,
            opts: &JsValue,
        ) -> Result<js_sys::Promise, JsValue>;
        #[wasm_bindgen(js_namespace = rutaMap, js_name = setPin, catch)]
        pub fn set_pin(element_id: &str, point: &JsValue) -> Result<(), JsValue>;
        #[wasm_bindgen(js_namespace = rutaMap, js_name = unpin, catch)]
        pub fn unpin(element_id: &str) -> Result<(), JsValue>;
    }
}

fn point_js(p: Option<Point>) -> wasm_bindgen::JsValue {
    match p {
        Some(p) => crate::dispatcher::to_js(&serde_json::json!({ "lon": p.lon, "lat": p.lat })),
        None => wasm_bindgen::JsValue::NULL,
    }
}

fn kind_label(k: AddressMatch) -> &'static str {
    match k {
        AddressMatch::Address => "address",
        AddressMatch::Interpolated => "estimated between house numbers",
        AddressMatch::Place => "place",
        AddressMatch::Street => "street (no house number)",
    }
}

/// The address text and its position (`None` until a suggestion is chosen or
/// a pin dropped). `id` is the input's id; the list is `{id}-suggestions`, the
/// status line `{id}-position` and the small map `{id}-map`.
#[component]
pub fn AddressField(
    id: &'static str,
    label: &'static str,
    text: RwSignal<String>,
    point: RwSignal<Option<Point>>,
) -> impl IntoView {
    let suggestions = RwSignal::new(Vec::<AddressSuggestion>::new());
    let active = RwSignal::new(None::<usize>);
    let open = RwSignal::new(false);
    let loaded = RwSignal::new(true);
    let chosen = RwSignal::new(None::<AddressSuggestion>);
    let map_open = RwSignal::new(false);
    // Only the newest question's answer is shown (answers may come out of order).
    let asked = StoredValue::new(0u64);
    // The text the shown suggestions answer (Enter chooses only from those).
    let answered = StoredValue::new(String::new());
    let list_id = format!("{id}-suggestions");
    let map_id = format!("{id}-map");

    let search = move |q: String| {
        asked.update_value(|n| *n += 1);
        let this = asked.get_value();
        if q.trim().chars().count() < 2 {
            suggestions.set(Vec::new());
            open.set(false);
            return;
        }
        run(
            Request::SearchAddress {
                query: q.clone(),
                limit: Some(6),
                near: None,
            },
            move |r| {
                if asked.try_get_value() != Some(this) {
                    return;
                }
                if let Ok(Response::AddressSearch(s)) = r {
                    answered.set_value(q);
                    let any = !s.suggestions.is_empty();
                    let _ = loaded.try_set(s.index_loaded);
                    let _ = suggestions.try_set(s.suggestions);
                    let _ = active.try_set(any.then_some(0));
                    let _ = open.try_set(any);
                }
            },
        );
    };
    let pick = move |s: AddressSuggestion| {
        // An answer still on its way must not reopen the list.
        asked.update_value(|n| *n += 1);
        text.set(s.label.clone());
        point.set(Some(s.point));
        chosen.set(Some(s.clone()));
        open.set(false);
        if map_open.get_untracked() {
            let _ = js::set_pin(&format!("{id}-map"), &point_js(Some(s.point)));
        }
    };
    // A cleared form (after saving) closes the map and forgets the choice.
    let map_for_clear = map_id.clone();
    Effect::new(move |_| {
        if text.get().is_empty() && point.get_untracked().is_none() {
            chosen.set(None);
            if map_open.get_untracked() {
                map_open.set(false);
                let _ = js::unpin(&map_for_clear);
            }
        }
    });
    let keydown = move |ev: leptos::ev::KeyboardEvent| {
        if !open.get_untracked() {
            return;
        }
        let n = suggestions.with_untracked(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" => {
                ev.prevent_default();
                active.update(|a| *a = Some(a.map_or(0, |i| (i + 1) % n.max(1))));
            }
            "ArrowUp" => {
                ev.prevent_default();
                active.update(|a| {
                    *a = Some(a.map_or(n.saturating_sub(1), |i| (i + n - 1) % n.max(1)))
                });
            }
            "Enter" => {
                // Suggestions for an older text (still typing): wait for the new ones.
                if answered.with_value(|a| *a != text.get_untracked()) {
                    ev.prevent_default();
                    return;
                }
                if let Some(s) = active
                    .get_untracked()
                    .and_then(|i| suggestions.with_untracked(|v| v.get(i).cloned()))
                {
                    // Choosing, not submitting the form.
                    ev.prevent_default();
                    pick(s);
                }
            }
            "Escape" => open.set(false),
            _ => {}
        }
    };
    let map_for_toggle = map_id.clone();
    let toggle_map = move |_| {
        if map_open.get_untracked() {
            map_open.set(false);
            let _ = js::unpin(&map_for_toggle);
            return;
        }
        map_open.set(true);
        let id = map_for_toggle.clone();
        // After the map's element is in the page.
        util::later(move || {
            let on_pick = wasm_bindgen::closure::Closure::<dyn FnMut(f64, f64)>::new(
                move |lon: f64, lat: f64| {
                    let at = Point { lat, lon };
                    let _ = point.try_set(Some(at));
                    let _ = chosen.try_set(None);
                    // With nothing typed, the pin names the address it is at.
                    if text.get_untracked().trim().is_empty() {
                        run(Request::ReverseGeocode { point: at }, move |r| {
                            if let Ok(Response::ReverseGeocoded {
                                suggestion: Some(s),
                            }) = r
                            {
                                let _ = text.try_set(s.label);
                            }
                        });
                    }
                },
            );
            let center = point.get_untracked().unwrap_or(util::DEFAULT_CENTER);
            let opts = crate::dispatcher::to_js(
                &serde_json::json!({ "center": [center.lon, center.lat] }),
            );
            let _ = js::pin(&id, &point_js(point.get_untracked()), &on_pick, &opts);
            // The map keeps calling it for as long as it exists.
            on_pick.forget();
        });
    };
    let map_for_cleanup = map_id.clone();
    on_cleanup(move || {
        let _ = js::unpin(&map_for_cleanup);
    });
    let position_id = format!("{id}-position");
    view! {
        <div class="address-field">
            <label>{label}
                <input id=id autocomplete="off" role="combobox" aria-autocomplete="list"
                    aria-controls=list_id.clone() aria-expanded=move || open.get().to_string()
                    prop:value=text
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        text.set(v.clone());
                        point.set(None);
                        chosen.set(None);
                        if map_open.get_untracked() {
                            let _ = js::set_pin(&map_id, &wasm_bindgen::JsValue::NULL);
                        }
                        search(v);
                    }
                    on:keydown=keydown
                    on:blur=move |_| open.set(false)/>
            </label>
            <Show when=move || open.get()>
                <ul class="suggestions" id=list_id.clone() role="listbox">
                    {move || suggestions.get().into_iter().enumerate().map(|(i, s)| {
                        let chosen_one = s.clone();
                        view! {
                            <li role="option" class:active=move || active.get() == Some(i)
                                aria-selected=move || (active.get() == Some(i)).to_string()
                                data-kind=kind_label(s.kind)
                                // Before the input's blur closes the list.
                                on:mousedown=move |ev| { ev.prevent_default(); pick(chosen_one.clone()); }>
                                <span class="label">{s.label.clone()}</span>
                                {(s.kind != AddressMatch::Address).then(|| view! { <span class="muted small">{format!(" · {}", kind_label(s.kind))}</span> })}
                                {s.corrected.then(|| view! { <span class="muted small">" · spelling corrected"</span> })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </Show>
            <p class="position muted small" id=position_id>
                {move || match (point.get(), chosen.get()) {
                    (Some(p), Some(s)) => format!("Position {:.5}, {:.5} · {}", p.lat, p.lon, kind_label(s.kind)),
                    (Some(p), None) => format!("Pin at {:.5}, {:.5}", p.lat, p.lon),
                    (None, _) if text.get().trim().is_empty() => String::new(),
                    (None, _) if !loaded.get() => "No map on this device: the order is saved without a position (drop a pin to give one).".into(),
                    (None, _) => "No position yet: choose a suggestion, or drop a pin on the map.".into(),
                }}
                " "
                <button type="button" class="linkish" id=format!("{id}-pin") on:click=toggle_map>
                    {move || if map_open.get() { "Hide map" } else { "Map / drop a pin" }}
                </button>
            </p>
            <Show when=move || map_open.get()>
                <div class="pin-map" id=format!("{id}-map")></div>
            </Show>
        </div>
    }
}

//! The map of orders and couriers (Leaflet through a small JS bridge).

use super::*;

mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = rutaMap, js_name = create, catch)]
        pub fn create(element_id: &str, opts: &JsValue) -> Result<js_sys::Promise, JsValue>;
        #[wasm_bindgen(js_namespace = rutaMap, js_name = setOrders, catch)]
        pub fn set_orders(fc: &JsValue) -> Result<(), JsValue>;
        #[wasm_bindgen(js_namespace = rutaMap, js_name = setCouriers, catch)]
        pub fn set_couriers(fc: &JsValue) -> Result<(), JsValue>;
        #[wasm_bindgen(js_namespace = rutaMap, js_name = setZones, catch)]
        pub fn set_zones(fc: &JsValue) -> Result<(), JsValue>;
        #[wasm_bindgen(js_namespace = rutaMap, js_name = filterZone, catch)]
        pub fn filter_zone(zone: &JsValue) -> Result<(), JsValue>;
        #[wasm_bindgen(js_namespace = rutaMap, js_name = setPath, catch)]
        pub fn set_path(feature: &JsValue) -> Result<(), JsValue>;
        #[wasm_bindgen(js_namespace = rutaMap, js_name = onSelect, catch)]
        pub fn on_select(cb: &Closure<dyn FnMut(String, String)>) -> Result<(), JsValue>;
        #[wasm_bindgen(js_namespace = rutaMap, js_name = startDraw, catch)]
        pub fn start_draw(ring: &JsValue, cb: &Closure<dyn FnMut(JsValue)>) -> Result<(), JsValue>;
        #[wasm_bindgen(js_namespace = rutaMap, js_name = stopDraw, catch)]
        pub fn stop_draw() -> Result<JsValue, JsValue>;
    }
}

pub(crate) fn to_js(v: &serde_json::Value) -> wasm_bindgen::JsValue {
    js_sys::JSON::parse(&v.to_string()).unwrap_or(wasm_bindgen::JsValue::NULL)
}

/// Orders drawn on the map at most (newest first).
pub(crate) const MAP_ORDERS: u64 = 5_000;

/// The map: the offline basemap (MapLibre, `app-ui/map.js`), orders coloured by
/// status at their drop-off; a click opens the order.
#[component]
pub fn MapView(open: RwSignal<Option<String>>, courier: RwSignal<Option<String>>) -> impl IntoView {
    use wasm_bindgen::prelude::*;
    let c = ctx();
    let (fleet, _) = crate::fleet::fleet_signal();
    let zones = RwSignal::new(Vec::<app_api::ZoneView>::new());
    let zone = RwSignal::new(None::<String>);
    let run_note = RwSignal::new(None::<String>);
    let run_gen = StoredValue::new(0u64);
    let error = RwSignal::new(None::<String>);
    let shown = RwSignal::new((0usize, 0usize));
    let status = RwSignal::new(None::<DeliveryStatus>);
    let started = RwSignal::new(false);
    Effect::new(move |_| {
        if started.get_untracked() {
            return;
        }
        started.set(true);
        let opts = to_js(
            &serde_json::json!({ "center": [util::DEFAULT_CENTER.lon, util::DEFAULT_CENTER.lat], "zoom": 13.5 }),
        );
        if let Err(e) = js::create("map", &opts) {
            error.set(Some(format!("The map could not start: {e:?}")));
            return;
        }
        // One click handler per map view; `open.set` is a no-op once the view is gone.
        let cb = Closure::<dyn FnMut(String, String)>::new(move |kind: String, id: String| {
            match kind.as_str() {
                "order" => open.set(Some(id)),
                "courier" => courier.set(Some(id)),
                _ => {}
            }
        });
        let _ = js::on_select(&cb);
        cb.forget();
    });
    Effect::new(move |_| {
        c.changed.track();
        let only = status.get();
        util::mark("ruta:map-orders-start");
        leptos::task::spawn_local(async move {
            let mut features = Vec::new();
            let mut without = 0usize;
            let mut offset = 0;
            while offset < MAP_ORDERS {
                let q = OrderQuery {
                    statuses: only.into_iter().collect(),
                    descending: true,
                    offset,
                    limit: 1000,
                    ..Default::default()
                };
                let Ok(Response::Orders { orders, .. }) =
                    crate::api::call(&Request::ListOrders(q)).await
                else {
                    break;
                };
                let n = orders.len() as u64;
                for o in orders {
                    match o.dropoff_point {
                        Some(p) => features.push(serde_json::json!({
                            "type": "Feature",
                            "geometry": { "type": "Point", "coordinates": [p.lon, p.lat] },
                            "properties": { "id": o.id, "status": util::name_of(&o.status), "reference": o.reference, "zone": o.zone },
                        })),
                        None => without += 1,
                    }
                }
                if n < 1000 {
                    break;
                }
                offset += n;
            }
            shown.set((features.len(), without));
            let fc = serde_json::json!({ "type": "FeatureCollection", "features": features });
            if let Err(e) = js::set_orders(&to_js(&fc)) {
                error.set(Some(format!("The map could not draw the orders: {e:?}")));
            }
            util::mark("ruta:map-orders-set");
        });
    });
    // Zones: drawn whenever something changed (an admin's zone arrives), and the zone filter.
    Effect::new(move |_| {
        c.changed.track();
        run(Request::Zones, move |r| {
            if let Ok(Response::Zones { zones: z }) = r {
                let fc = serde_json::json!({ "type": "FeatureCollection", "features": z.iter().map(|z| {
                    let mut ring: Vec<[f64; 2]> = z.ring.iter().map(|p| [p.lon, p.lat]).collect();
                    if let Some(first) = ring.first().copied() { ring.push(first); }
                    serde_json::json!({ "type": "Feature", "geometry": { "type": "Polygon", "coordinates": [ring] }, "properties": { "id": z.id, "name": z.name } })
                }).collect::<Vec<_>>() });
                let _ = js::set_zones(&to_js(&fc));
                let _ = zones.try_set(z);
            }
        });
    });
    let admin = c
        .status
        .with_untracked(|s| s.as_ref().map(|s| s.role) == Some(app_api::Role::Admin));
    Effect::new(move |_| {
        let z = zone.get();
        let _ = js::filter_zone(
            &z.map(|z| wasm_bindgen::JsValue::from_str(&z))
                .unwrap_or(wasm_bindgen::JsValue::NULL),
        );
    });
    // Live couriers: every courier with a position, the selected one marked.
    Effect::new(move |_| {
        let sel = courier.get();
        let Some(board) = fleet.get() else { return };
        let features: Vec<serde_json::Value> = board.couriers.iter().filter_map(|c| {
            let p = c.position?;
            Some(serde_json::json!({
                "type": "Feature",
                "geometry": { "type": "Point", "coordinates": [p.lon, p.lat] },
                "properties": { "id": c.user, "name": c.name, "live": c.live, "selected": sel.as_deref() == Some(c.user.as_str()) },
            }))
        }).collect();
        let _ = js::set_couriers(&to_js(
            &serde_json::json!({ "type": "FeatureCollection", "features": features }),
        ));
    });
    // The selected courier's position, moving only when they do (~10 m).
    let start = Memo::new(move |_| {
        let user = courier.get()?;
        fleet.with(|b| {
            let p = b
                .as_ref()?
                .couriers
                .iter()
                .find(|c| c.user == user)?
                .position?;
            Some(((p.lat * 1e4).round() as i64, (p.lon * 1e4).round() as i64))
        })
    });
    // The selected courier's run: their sequence from where they are, on the streets.
    Effect::new(move |_| {
        c.changed.track();
        let Some(user) = courier.get() else {
            let _ = js::set_path(&wasm_bindgen::JsValue::NULL);
            run_note.set(None);
            return;
        };
        // `get`, not `track`: a memo never read has no sources and never changes.
        let _moved = start.get();
        let (start, depot) = fleet.with_untracked(|b| {
            b.as_ref()
                .and_then(|b| b.couriers.iter().find(|c| c.user == user))
                .map_or((None, None), |c| (c.position, c.start))
        });
        // Only the newest request draws (an older answer may arrive last).
        run_gen.update_value(|g| *g += 1);
        let this_run = run_gen.get_value();
        let current = move || run_gen.try_get_value() == Some(this_run);
        leptos::task::spawn_local(async move {
            let position = start.or(depot).unwrap_or(util::DEFAULT_CENTER);
            let plan = crate::api::call(&Request::PlanRoute(app_api::PlanRouteRequest {
                courier: user.clone(),
                position,
                capacity_items: 0,
                started: None,
                current: Vec::new(),
                optimise: true,
            }))
            .await;
            if !current() {
                return;
            }
            let Ok(Response::RoutePlan(plan)) = plan else {
                let _ = run_note.try_set(Some(format!("No run for {user}.")));
                return;
            };
            let mut points = vec![position];
            points.extend(plan.stops.iter().map(|s| s.point));
            if points.len() < 2 {
                let _ = js::set_path(&wasm_bindgen::JsValue::NULL);
                let _ = run_note.try_set(Some(format!("{user} has no open stops.")));
                return;
            }
            let Ok(Response::RoutePath(path)) =
                crate::api::call(&Request::RoutePath { points }).await
            else {
                return;
            };
            if !current() {
                return;
            }
            let line: Vec<[f64; 2]> = path.points.iter().map(|p| [p.lon, p.lat]).collect();
            let feature = serde_json::json!({ "type": "Feature", "geometry": { "type": "LineString", "coordinates": line }, "properties": { "courier": user } });
            let _ = js::set_path(&to_js(&feature));
            let _ = run_note.try_set(Some(format!(
                "{user}: {} stops, {:.1} km, done by {}{}",
                plan.stops.len(),
                path.distance_m as f64 / 1000.0,
                util::hhmm(plan.finish_ms),
                if start.is_none() {
                    " (no position yet: from the depot)"
                } else {
                    ""
                }
            )));
        });
    });
    view! {
        <section class="mapwrap" id="map-card">
            <div class="filters">
                <select id="map-status" on:change=move |ev| status.set(status_from(&event_target_value(&ev)))>
                    <option value="">"All statuses"</option>
                    {DeliveryStatus::ALL.iter().map(|s| view! { <option value=util::name_of(s)>{s.label()}</option> }).collect_view()}
                </select>
                <select id="map-zone" on:change=move |ev| { let v = event_target_value(&ev); zone.set(Some(v).filter(|v| !v.is_empty())) }>
                    <option value="">"All zones"</option>
                    {move || zones.get().into_iter().map(|z| view! { <option value=z.id.clone()>{z.name.clone()}</option> }).collect_view()}
                </select>
                <select id="map-courier" on:change=move |ev| { let v = event_target_value(&ev); courier.set(Some(v).filter(|v| !v.is_empty())) }>
                    <option value="">"No courier's run"</option>
                    {move || fleet.get().map(|b| b.couriers.into_iter().map(|c| { let u = c.user.clone(); let sel = move || courier.get().as_deref() == Some(u.as_str()); view! { <option value=c.user.clone() selected=sel>{c.name.clone()}</option> } }).collect_view())}
                </select>
                <span class="muted small" id="map-run">{move || run_note.get()}</span>
                <span class="muted small" id="map-count">{move || {
                    let (n, without) = shown.get();
                    if without > 0 { format!("{n} orders on the map · {without} without a position (geocode their addresses)") } else { format!("{n} orders on the map") }
                }}</span>
            </div>
            {admin.then(|| view! { <ZoneEditor zones=zones error=error/> })}
            <Show when=move || error.get().is_some()><p class="error" role="alert">{move || error.get()}</p></Show>
            <div id="map" class="map"></div>
        </section>
    }
}

/// A zone being drawn or edited on the map.
#[derive(Clone, Debug, PartialEq)]
struct Draft {
    /// The zone edited, or None for a new one.
    id: Option<String>,
    ring: Vec<[f64; 2]>,
}

/// Admins: draw a zone on the map (a click adds a corner, a corner drags, a
/// click on it removes it) or edit an existing one's corners; saving puts it
/// in the tenant's configuration, where every device files orders by it.
#[component]
fn ZoneEditor(
    zones: RwSignal<Vec<app_api::ZoneView>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    use wasm_bindgen::prelude::*;
    let draft = RwSignal::new(None::<Draft>);
    let name = RwSignal::new(String::new());
    let new_id = RwSignal::new(String::new());
    let note = RwSignal::new(None::<String>);
    let begin = move |existing: Option<app_api::ZoneView>| {
        let ring: Vec<[f64; 2]> = existing
            .as_ref()
            .map(|z| z.ring.iter().map(|p| [p.lon, p.lat]).collect())
            .unwrap_or_default();
        name.set(
            existing
                .as_ref()
                .map(|z| z.name.clone())
                .unwrap_or_default(),
        );
        new_id.set(String::new());
        note.set(None);
        draft.set(Some(Draft {
            id: existing.map(|z| z.id),
            ring: ring.clone(),
        }));
        let cb = Closure::<dyn FnMut(JsValue)>::new(move |ring: JsValue| {
            let text = js_sys::JSON::stringify(&ring)
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_default();
            if let Ok(ring) = serde_json::from_str::<Vec<[f64; 2]>>(&text) {
                draft.update(|d| {
                    if let Some(d) = d {
                        d.ring = ring;
                    }
                });
            }
        });
        let _ = js::start_draw(&to_js(&serde_json::json!(ring)), &cb);
        cb.forget();
    };
    let stop = move || {
        let _ = js::stop_draw();
        draft.set(None);
    };
    let save = move |_| {
        let Some(d) = draft.get_untracked() else {
            return;
        };
        let zone_name = name.get_untracked().trim().to_owned();
        let id = d.id.clone().unwrap_or_else(|| {
            let typed = new_id.get_untracked().trim().to_owned();
            if typed.is_empty() {
                crate::util::slug(&zone_name)
            } else {
                typed
            }
        });
        let zone = app_api::ZoneView {
            id: id.clone(),
            name: zone_name.clone(),
            ring: d
                .ring
                .iter()
                .map(|[lon, lat]| app_api::Point {
                    lat: *lat,
                    lon: *lon,
                })
                .collect(),
        };
        run(
            Request::ChangeConfig(app_api::config::ConfigChange::PutZone(zone)),
            move |r| match r {
                Ok(Response::TenantConfig(_)) => {
                    error.set(None);
                    stop();
                    note.set(Some(format!(
                        "Zone {zone_name} saved: every device files orders by it."
                    )));
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        );
    };
    view! {
        <div class="filters zone-editor" id="zone-editor">
            {move || match draft.get() {
                None => view! {
                    <button id="zone-draw" class="ghost" on:click=move |_| begin(None)>"Draw a zone"</button>
                    <select id="zone-edit" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some(z) = zones.get_untracked().into_iter().find(|z| z.id == v) { begin(Some(z)); }
                    }>
                        <option value="">"Edit a zone's corners…"</option>
                        {move || zones.get().into_iter().map(|z| view! { <option value=z.id.clone()>{z.name.clone()}</option> }).collect_view()}
                    </select>
                    {move || note.get().map(|n| view! { <span class="ok small" id="zone-saved">{n}</span> })}
                }.into_any(),
                Some(d) => view! {
                    <span class="muted small" id="zone-draft-corners" data-corners=d.ring.len().to_string()>{format!(
                        "{} corners · click the map to add one, drag one to move it, click one to remove it", d.ring.len()
                    )}</span>
                    <input id="zone-draft-name" placeholder="zone name" prop:value=name on:input=move |e| name.set(event_target_value(&e))/>
                    {d.id.is_none().then(|| view! {
                        <input id="zone-draft-id" placeholder="id (from the name)" prop:value=new_id on:input=move |e| new_id.set(event_target_value(&e))/>
                    })}
                    <button id="zone-draft-save" disabled=d.ring.len() < 3 on:click=save>"Save zone"</button>
                    <button id="zone-draft-cancel" class="ghost" on:click=move |_| stop()>"Cancel"</button>
                }.into_any(),
            }}
        </div>
    }
}

//! The courier's workspace: today's queue (self-managed order, or the
//! system-optimised sequence with ETAs), the stop in full with the actions the
//! lifecycle allows, and proof capture at the door. Everything works offline:
//! the core on this device answers, the server learns later.

use app_api::{
    Action, ActionKind, Availability, Beacon, CapturePodRequest, OrderDetail, OrderQuery,
    OrderSummary, PlanRouteRequest, Point, ProofKind, Request, Response, RoutePlan, StopKind,
    StopRef, StrokePoint, WorkMode,
};
use leptos::html::Input;
use leptos::prelude::*;

use crate::signature::{self, SignaturePad};
use crate::util::{self, run};
use crate::{SyncBadge, ctx};

/// Metres between two positions (great circle).
fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371_000.0 * a.sqrt().asin()
}

#[component]
pub fn Workspace() -> impl IntoView {
    let c = ctx();
    let orders = RwSignal::new(Vec::<OrderSummary>::new());
    let loaded = RwSignal::new(false);
    let optimised = RwSignal::new(util::load_pref("queue-mode").as_deref() == Some("optimised"));
    let my_order = RwSignal::new(
        util::load_pref("queue-order")
            .and_then(|s| serde_json::from_str::<Vec<String>>(&s).ok())
            .unwrap_or_default(),
    );
    let plan = RwSignal::new(None::<RoutePlan>);
    let open = RwSignal::new(None::<String>);
    // A notification's or a quoted order opens its stop.
    Effect::new(move |_| {
        if let Some(o) = c.open_order.get() {
            open.set(Some(o));
            c.open_order.set(None);
        }
    });
    let error = RwSignal::new(None::<String>);
    let dragging = RwSignal::new(None::<usize>);
    let availability = RwSignal::new(
        util::load_pref("availability")
            .and_then(|a| serde_json::from_value(serde_json::Value::String(a)).ok())
            .unwrap_or(Availability::Available),
    );
    let location = RwSignal::new(None::<String>);

    // The beacon: availability and queue mode now and whenever they change,
    // positions as the device reports them (every 5 s or 25 m at most).
    Effect::new(move |_| {
        let a = availability.get();
        let mode = if optimised.get() {
            WorkMode::SystemOptimised
        } else {
            WorkMode::SelfManaged
        };
        util::save_pref("availability", &util::name_of(&a));
        run(
            Request::ReportBeacon(Beacon {
                availability: Some(a),
                work_mode: Some(mode),
                ..Default::default()
            }),
            |_| {},
        );
    });
    let last_sent = StoredValue::new((0i64, 0.0f64, 0.0f64));
    let watch = util::watch_position(
        move |lat, lon, accuracy, at| {
            let (t, la, lo) = last_sent.try_get_value().unwrap_or_default();
            let moved = haversine_m(la, lo, lat, lon);
            if at - t < 5_000 && moved < 25.0 {
                return;
            }
            last_sent.try_set_value((at, lat, lon));
            let _ = location.try_set(Some(format!("Location shared · ±{accuracy:.0} m")));
            run(
                Request::ReportBeacon(Beacon {
                    point: Some(Point { lat, lon }),
                    at_ms: at,
                    accuracy_m: Some(accuracy),
                    ..Default::default()
                }),
                |_| {},
            );
        },
        move |e| {
            let _ = location.try_set(Some(format!("Location not shared: {e}")));
        },
    );
    if watch.is_none() {
        location.set(Some("Location not available on this device".into()));
    }
    on_cleanup(move || {
        if let Some(id) = watch {
            util::clear_watch(id);
        }
    });

    Effect::new(move |_| {
        c.changed.track();
        c.status.track();
        let me = c.user();
        if me.is_empty() {
            return;
        }
        run(
            Request::ListOrders(OrderQuery {
                open_work: true,
                assignee: Some(me),
                sort: app_api::SortKey::WindowEnd,
                limit: 1000,
                ..Default::default()
            }),
            move |r| {
                loaded.set(true);
                match r {
                    Ok(Response::Orders { orders: o, .. }) => {
                        orders.set(o);
                        util::mark("ruta:queue-ready");
                    }
                    Ok(other) => error.set(Some(util::unexpected(&other))),
                    Err(e) => error.set(Some(e)),
                }
            },
        );
    });
    Effect::new(move |_| {
        util::save_pref(
            "queue-mode",
            if optimised.get() { "optimised" } else { "mine" },
        )
    });
    Effect::new(move |_| {
        util::save_pref(
            "queue-order",
            &serde_json::to_string(&my_order.get()).unwrap_or_default(),
        )
    });

    // The published trip, when the dispatcher sent one: the queue follows its
    // sequence, and the courier's own reorders become moves on the trip (so
    // the dispatcher sees the courier's real order).
    let trip = RwSignal::new(None::<(String, Vec<String>)>);
    Effect::new(move |_| {
        c.changed.track();
        run(
            Request::ListTrips {
                courier: None,
                open_only: true,
            },
            move |r| {
                let Ok(Response::Trips { trips }) = r else {
                    return;
                };
                let Some(id) = trips
                    .into_iter()
                    .find(|t| {
                        matches!(
                            t.status,
                            app_api::trips::TripStatus::Published
                                | app_api::trips::TripStatus::Started
                        )
                    })
                    .map(|t| t.id)
                else {
                    let _ = trip.try_set(None);
                    return;
                };
                run(
                    Request::GetTrip {
                        trip_id: id.clone(),
                    },
                    move |r| {
                        if let Ok(Response::Trip(t)) = r {
                            let mut ids: Vec<String> = Vec::new();
                            for s in t.stops.iter().filter(|s| !s.done) {
                                if !ids.contains(&s.order_id) {
                                    ids.push(s.order_id.clone());
                                }
                            }
                            let _ = trip.try_set(Some((id, ids)));
                        }
                    },
                );
            },
        );
    });
    // The queue in the courier's own order (the trip's, when there is one):
    // that order first, new orders after.
    let queue = move || {
        let list = orders.get();
        let saved = match trip.get() {
            Some((_, ids)) if !optimised.get() => ids,
            _ => my_order.get(),
        };
        let mut out: Vec<OrderSummary> = saved
            .iter()
            .filter_map(|id| list.iter().find(|o| &o.id == id).cloned())
            .collect();
        out.extend(list.into_iter().filter(|o| !saved.contains(&o.id)));
        out
    };
    let fix_order = move |ids: Vec<String>| my_order.set(ids);
    let key = |o: &OrderSummary| {
        format!(
            "{}/{}",
            o.id,
            match o.next_stop {
                StopKind::Pickup => "pickup",
                StopKind::Dropoff => "dropoff",
            }
        )
    };
    let move_item = move |from: usize, to: usize| {
        if let Some((trip_id, _)) = trip.get_untracked() {
            let q = queue();
            if from >= q.len() || to >= q.len() || from == to {
                return;
            }
            // Before the target when moving up; before the one after it when moving down.
            let before = if to < from {
                Some(key(&q[to]))
            } else {
                q.get(to + 1).map(key)
            };
            run(
                Request::TripAct {
                    trip_id,
                    action: app_api::trips::TripAction::MoveStop {
                        stop: key(&q[from]),
                        before,
                    },
                },
                move |r| match r {
                    Ok(Response::Trip(_)) => {
                        error.set(None);
                        c.bump();
                    }
                    Ok(other) => error.set(Some(util::unexpected(&other))),
                    Err(e) => error.set(Some(e)),
                },
            );
            plan.set(None);
            return;
        }
        let mut ids: Vec<String> = queue().into_iter().map(|o| o.id).collect();
        if from < ids.len() && to < ids.len() {
            let id = ids.remove(from);
            ids.insert(to, id);
            fix_order(ids);
            plan.set(None);
        }
    };
    let replan = move |optimise: bool| {
        let current: Vec<StopRef> = queue()
            .iter()
            .map(|o| StopRef {
                order_id: o.id.clone(),
                kind: o.next_stop,
            })
            .collect();
        run(
            Request::PlanRoute(PlanRouteRequest {
                courier: c.user(),
                position: {
                    let (t, lat, lon) = last_sent.get_value();
                    if t > 0 {
                        Point { lat, lon }
                    } else {
                        util::DEFAULT_CENTER
                    }
                },
                capacity_items: 0,
                started: None,
                current,
                optimise,
            }),
            move |r| match r {
                Ok(Response::RoutePlan(p)) => {
                    if optimise {
                        let mut ids: Vec<String> = Vec::new();
                        for s in &p.stops {
                            if !ids.contains(&s.order_id) {
                                ids.push(s.order_id.clone());
                            }
                        }
                        my_order.set(ids);
                    }
                    plan.set(Some(p));
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        );
    };
    Effect::new(move |prev: Option<usize>| {
        let n = orders.with(|o| o.len());
        if optimised.get() && n > 0 && prev != Some(n) {
            replan(true);
        }
        n
    });
    let eta = move |id: &str| {
        plan.with(|p| {
            p.as_ref().and_then(|p| {
                p.stops
                    .iter()
                    .find(|s| s.order_id == id)
                    .map(|s| (s.eta_ms, s.late_s))
            })
        })
    };

    view! {
        <main class="courier">
            <Show when=move || open.get().is_none()
                fallback=move || view! { <StopView order_id=open.get().unwrap_or_default() on_back=Callback::new(move |_| util::later(move || open.set(None)))/> }>
                <section class="shift-bar">
                    <select id="availability" aria-label="Availability" on:change=move |ev| {
                        if let Ok(a) = serde_json::from_value(serde_json::Value::String(event_target_value(&ev))) { availability.set(a) }
                    }>
                        {Availability::ALL.iter().map(|a| { let a = *a; view! { <option value=util::name_of(&a) selected=move || availability.get() == a>{a.label()}</option> } }).collect_view()}
                    </select>
                    <span class="muted small" id="location-state">{move || location.get()}</span>
                </section>
                <crate::trips::CourierTrip/>
                <StopScan open=open/>
                <crate::cash::CourierCash/>
                <section class="queue-head">
                    <h2>"Today's stops"</h2>
                    <div class="seg" role="group">
                        <button id="mode-mine" class:active=move || !optimised.get() on:click=move |_| { optimised.set(false); plan.set(None); }>"My order"</button>
                        <button id="mode-optimised" class:active=move || optimised.get() on:click=move |_| { optimised.set(true); replan(true); }>"Optimised"</button>
                    </div>
                    <Show when=move || optimised.get()>
                        <button class="ghost" id="reoptimise" on:click=move |_| replan(true)>"Re-optimise"</button>
                    </Show>
                    <Show when=move || !optimised.get()>
                        <button class="ghost" id="suggest" title="Times my order and shows what the optimised order would save" on:click=move |_| replan(false)>"ETAs"</button>
                    </Show>
                </section>
                {move || plan.get().map(|p| view! {
                    <p class="muted small" id="plan-summary">
                        {format!("{} stops · {:.1} km · {} min driving · done by {} ({})", p.stops.len(), p.distance_m as f64 / 1000.0, p.travel_s / 60, util::hhmm(p.finish_ms), p.travel_model)}
                        {p.gain_s.filter(|g| *g > 60).map(|g| format!(" · optimising would save {} min", g / 60))}
                    </p>
                })}
                <Show when=move || error.get().is_some()><p class="error" role="alert">{move || error.get()}</p></Show>
                <Show when=move || loaded.get() && orders.with(|o| o.is_empty())>
                    <p id="queue-empty" class="empty muted">"No stops assigned to you right now. New assignments appear here, even before you are back online."</p>
                </Show>
                <ol id="queue" class="queue">
                    {move || queue().into_iter().enumerate().map(|(i, o)| {
                        let id = o.id.clone();
                        let kind = o.next_stop;
                        let (address, kind_label) = match kind {
                            StopKind::Pickup => (o.pickup_address.clone(), "Pickup"),
                            StopKind::Dropoff => (o.dropoff_address.clone(), "Drop-off"),
                        };
                        let e = eta(&o.id);
                        view! {
                            <li class="stop" data-reference=o.reference.clone() data-id=o.id.clone()
                                draggable=move || (!optimised.get()).to_string()
                                on:dragstart=move |_| dragging.set(Some(i))
                                on:dragover=move |ev| ev.prevent_default()
                                on:drop=move |ev| { ev.prevent_default(); if let Some(from) = dragging.get_untracked() { move_item(from, i); } dragging.set(None); }>
                                <button class="stop-main" on:click={ let id = id.clone(); move |_| open.set(Some(id.clone())) }>
                                    <span class="seq">{i + 1}</span>
                                    <span class="kind">{kind_label}</span>
                                    <span class="addr">{address}</span>
                                    <span class="meta">
                                        <span class="ref">{o.reference.clone()}</span>" · "{o.customer_name.clone()}
                                        {o.window_end_ms.map(|w| format!(" · by {}", util::hhmm(w)))}
                                        {(o.cod_cents > 0).then(|| format!(" · COD {}", util::euros(o.cod_cents)))}
                                        {e.map(|(eta, late)| format!(" · ETA {}{}", util::hhmm(eta), if late > 0 { " (late)" } else { "" }))}
                                    </span>
                                    <span class=util::status_class(o.status)>{o.status.label()}</span>
                                    <SyncBadge order_id=o.id.clone()/>
                                </button>
                                <Show when=move || !optimised.get()>
                                    <span class="reorder">
                                        <button class="ghost up" title="Earlier" on:click=move |_| { if i > 0 { move_item(i, i - 1) } }>"↑"</button>
                                        <button class="ghost down" title="Later" on:click=move |_| move_item(i, i + 1)>"↓"</button>
                                    </span>
                                </Show>
                            </li>
                        }
                    }).collect_view()}
                </ol>
            </Show>
        </main>
    }
}

/// One stop in full, its actions, and proof capture.
#[component]
fn StopView(order_id: String, on_back: Callback<()>) -> impl IntoView {
    let c = ctx();
    let detail = RwSignal::new(None::<OrderDetail>);
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(None::<String>);
    let id = StoredValue::new(order_id);
    Effect::new(move |_| {
        c.changed.track();
        run(
            Request::GetOrder {
                order_id: id.get_value(),
            },
            move |r| match r {
                Ok(Response::OrderDetail(d)) => detail.set(Some(d)),
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        );
    });
    let act = move |action: Action| c.act(id.get_value(), action, error);
    let reason = RwSignal::new(String::new());
    // The proof capture opened on the order as it was then: it is not
    // rebuilt when the order reloads (a merge arriving mid-signature must
    // not wipe the strokes or the photo), only closed once the order can no
    // longer be delivered.
    let capture = RwSignal::new(None::<OrderDetail>);
    let deliverable = Memo::new(move |_| {
        detail.with(|d| {
            d.as_ref()
                .is_some_and(|d| d.actions.contains(&ActionKind::Deliver))
        })
    });

    view! {
        <section class="stopview" id="stop-view">
            <button class="ghost" id="back" on:click=move |_| on_back.run(())>"← Queue"</button>
            <Show when=move || error.get().is_some()><p class="error" role="alert" id="stop-error">{move || error.get()}</p></Show>
            <Show when=move || done.get().is_some()><p class="info" id="stop-done">{move || done.get()}</p></Show>
            {move || detail.get().map(|d| {
                let s = d.summary.clone();
                let has = { let a = d.actions.clone(); move |x: ActionKind| a.contains(&x) };
                let nav = d.dropoff.as_ref().and_then(|p| p.point).map(|p| (
                    format!("geo:{},{}?q={},{}", p.lat, p.lon, p.lat, p.lon),
                    format!("https://www.openstreetmap.org/directions?to={},{}", p.lat, p.lon),
                ));
                let stop = |label: &'static str, v: Option<app_api::StopView>| v.map(|p| {
                    let tel = format!("tel:{}", p.contact_phone.replace(' ', ""));
                    let has_phone = !p.contact_phone.is_empty();
                    view! {
                        <div class="stopcard">
                            <h3>{label}</h3>
                            <p class="addr">{p.address.clone()}</p>
                            {(!p.contact_name.is_empty()).then(|| view! { <p>{p.contact_name.clone()}</p> })}
                            {has_phone.then(|| view! { <a class="call" href=tel>{format!("Call {}", p.contact_phone)}</a> })}
                            {p.window.map(|(a, b)| view! { <p class="muted">{format!("Window {}–{}", util::hhmm(a), util::hhmm(b))}</p> })}
                        </div>
                    }
                });
                // A pickup order ends at its hub: the courier leaves it there
                // (the hub named by the order; other hand-overs are the hub's to record).
                let hub_drop = d.dropoff.as_ref().and_then(|p| p.warehouse.clone())
                    .filter(|_| has(ActionKind::ReceiveAtHub))
                    .map(|warehouse| (ActionKind::ReceiveAtHub, Action::ReceiveAtHub { warehouse }));
                let actions: Vec<(ActionKind, Action)> = [
                    (ActionKind::Accept, Action::Accept),
                    (ActionKind::PickUp, Action::PickUp),
                    (ActionKind::StartTransit, Action::StartTransit),
                ].into_iter().filter(|(a, _)| has(*a)).chain(hub_drop).collect();
                let can_deliver = has(ActionKind::Deliver);
                let can_fail = has(ActionKind::FailAttempt);
                let can_decline = has(ActionKind::Decline);
                let can_return = has(ActionKind::Return);
                view! {
                    <h2><span class="ref">{s.reference.clone()}</span>" · "{s.customer_name.clone()}</h2>
                    <p><span id="stop-status" class=util::status_class(s.status)>{s.status.label()}</span>" "<SyncBadge order_id=s.id.clone()/>
                        " "<button class="ghost" id="stop-chat" title="Chat with dispatch about this order" on:click={let o = s.id.clone(); move |_| crate::chat::open_chat(c, app_api::chat::ChatLink::Order { order: o.clone() })}>"Chat"</button></p>
                    {stop("Pickup", d.pickup.clone())}
                    {stop("Drop-off", d.dropoff.clone())}
                    {nav.map(|(geo, web)| view! { <p class="nav"><a href=geo id="nav-geo">"Navigate"</a>" · "<a href=web target="_blank" rel="noopener">"Map link"</a></p> })}
                    {(!d.instructions.is_empty()).then(|| view! { <p class="instructions"><b>"Instructions: "</b>{d.instructions.clone()}</p> })}
                    <p class="muted">{format!("{} parcel(s) · {:.1} kg", d.parcels, f64::from(d.weight_g) / 1000.0)}
                        {(s.cod_cents > 0).then(|| format!(" · collect {}", util::euros(s.cod_cents)))}</p>
                    <div class="actions" id="stop-actions">
                        {actions.into_iter().map(|(name, action)| view! {
                            <button id=format!("act-{}", name.as_str()) on:click=move |_| act(action.clone())>{util::action_label(name)}</button>
                        }).collect_view()}
                        {can_deliver.then(|| { let d = d.clone(); view! { <button id="act-deliver" on:click=move |_| capture.set(Some(d.clone()))>"Deliver…"</button> } })}
                        {(can_fail || can_decline || can_return).then(|| view! {
                            <span class="inline">
                                <select id="fail-reason" on:change=move |ev| reason.set(event_target_value(&ev))>
                                    <option value="">"Reason…"</option>
                                    <option>"Recipient not home"</option><option>"Address not found"</option>
                                    <option>"Refused by recipient"</option><option>"Damaged parcel"</option><option>"No access to building"</option>
                                </select>
                                {can_fail.then(|| view! { <button class="danger" id="act-fail_attempt" on:click=move |_| { let r = reason.get_untracked(); if r.is_empty() { error.set(Some("Choose a reason.".into())) } else { act(Action::FailAttempt { reason: r }) } }>"Could not deliver"</button> })}
                                {can_return.then(|| view! { <button class="ghost" id="act-return" on:click=move |_| { let r = reason.get_untracked(); if r.is_empty() { error.set(Some("Choose a reason.".into())) } else { act(Action::Return { reason: r }) } }>"Return to sender"</button> })}
                                {can_decline.then(|| view! { <button class="ghost" id="act-decline" on:click=move |_| { let r = reason.get_untracked(); act(Action::Decline { reason: if r.is_empty() { "declined".into() } else { r } }) }>"Decline"</button> })}
                            </span>
                        })}
                    </div>
                }
            })}
            {move || capture.get().filter(|_| deliverable.get()).map(|d| view! { <PodCapture detail=d done=done error=error/> })}
        </section>
    }
}

/// Proof capture at the door: the requirement list shows what is still missing.
#[component]
fn PodCapture(
    detail: OrderDetail,
    done: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let c = ctx();
    let photo_in = NodeRef::<Input>::new();
    let qr_in = NodeRef::<Input>::new();
    let photo_preview = RwSignal::new(None::<String>);
    let qr_chosen = RwSignal::new(false);
    let strokes = RwSignal::new(Vec::<Vec<StrokePoint>>::new());
    let pin = RwSignal::new(String::new());
    let age_ok = RwSignal::new(false);
    let cod_ok = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let missing = RwSignal::new(detail.missing_proofs.clone());
    let needs = detail.pod_needs;
    let age = detail.age_check;
    let ready = detail.verification_ready;
    let cod = detail.summary.cod_cents;
    let order_id = StoredValue::new(detail.summary.id.clone());

    let on_photo = move |_| {
        let Some(input) = photo_in.get() else { return };
        leptos::task::spawn_local(async move {
            if let Some(Ok(b64)) = util::input_file_base64(&input).await {
                photo_preview.set(Some(b64));
            }
        });
    };
    let submit = move |_| {
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let photo = match photo_in.get_untracked() {
                Some(i) => util::input_file_base64(&i)
                    .await
                    .transpose()
                    .unwrap_or(None),
                None => None,
            };
            let qr = match qr_in.get_untracked() {
                Some(i) => util::input_file_base64(&i)
                    .await
                    .transpose()
                    .unwrap_or(None),
                None => None,
            };
            let p = pin.get_untracked().trim().to_owned();
            let req = CapturePodRequest {
                order_id: order_id.get_value(),
                photo_base64: photo,
                signature: strokes.with_untracked(|s| signature::input(s)),
                qr_frame_base64: qr,
                pin: (!p.is_empty()).then_some(p),
                age_confirmed: if age_ok.get_untracked() { age } else { None },
                device_clock_ms: Some(util::now_ms()),
                deliver: true,
                // The cash goes into the same write as the proof and the delivery.
                collect_cod_cents: (cod > 0 && cod_ok.get_untracked()).then_some(cod),
                ..Default::default()
            };
            let r = crate::api::call(&Request::CapturePod(req)).await;
            busy.set(false);
            match r {
                Ok(Response::PodCaptured(p)) => {
                    missing.set(p.missing.clone());
                    if p.delivered {
                        done.set(Some(format!("Delivered. Proof saved on this device (chain #{}); it syncs when online.", p.chain_seq)));
                    } else {
                        done.set(Some(format!(
                            "Proof saved. Still needed: {}",
                            p.missing
                                .iter()
                                .map(|k| util::proof_label(*k))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                    c.bump();
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(util::describe(&e))),
            }
        });
    };
    let item = move |key: ProofKind, label: &'static str| {
        view! { <li data-need=key.as_str() class:missing=move || missing.with(|m| m.contains(&key))>{label}</li> }
    };
    view! {
        <section class="pod-capture" id="pod-capture">
            <h3>"Proof of delivery"</h3>
            <ul class="needs" id="pod-needs">
                {needs.photo.then(|| item(ProofKind::Photo, "Photo"))}
                {needs.signature.then(|| item(ProofKind::Signature, "Signature"))}
                {needs.qr.then(|| item(ProofKind::Qr, "Scan the recipient's QR code"))}
                {needs.pin.then(|| item(ProofKind::Pin, "Recipient's PIN"))}
                {age.map(|a| view! { <li data-need="age_check" class:missing=move || missing.with(|m| m.contains(&ProofKind::AgeCheck))>{format!("ID check: {a}+")}</li> })}
                {(!needs.photo && !needs.signature && !needs.qr && !needs.pin && age.is_none()).then(|| view! { <li class="muted">"Nothing required; a photo or signature is still welcome."</li> })}
            </ul>
            <label>"Photo"<input type="file" id="pod-photo" accept="image/*" capture="environment" node_ref=photo_in on:change=on_photo/></label>
            {move || photo_preview.get().map(|b| view! { <img class="preview" src=util::data_url("image/jpeg", &b) alt="photo preview"/> })}
            <label>"Signature"</label>
            <SignaturePad strokes=strokes/>
            {((needs.qr || needs.pin) && !ready).then(|| view! {
                <p class="warn" id="pod-verify-not-ready" role="status">"This device cannot check the recipient's code for this order yet: connect once so its code check arrives (it works offline after that)."</p>
            })}
            <label>"QR code (photo of the recipient's code)"<input type="file" id="pod-qr" accept="image/*" capture="environment" node_ref=qr_in on:change=move |_| qr_chosen.set(true)/></label>
            <label>"PIN"<input id="pod-pin" inputmode="numeric" autocomplete="one-time-code" maxlength="12" prop:value=pin on:input=move |ev| pin.set(event_target_value(&ev))/></label>
            {age.map(|a| view! { <label class="check"><input type="checkbox" id="pod-age" on:change=move |ev| age_ok.set(event_target_checked(&ev))/>{format!("I checked the recipient's ID: {a} or older")}</label> })}
            {(cod > 0).then(|| view! { <label class="check"><input type="checkbox" id="pod-cod" on:change=move |ev| cod_ok.set(event_target_checked(&ev))/>{format!("Collected {} in cash", util::euros(cod))}</label> })}
            <button id="pod-submit" on:click=submit disabled=busy>{move || if busy.get() { "Saving…" } else { "Complete delivery" }}</button>
        </section>
    }
}

/// The order a scanned code names: a run sheet's or label's `RUTA1:<order id>`
/// QR, else what was typed (an order reference).
fn scanned(code: &str) -> (Option<String>, String) {
    let code = code.trim();
    match code.strip_prefix("RUTA1:") {
        Some(id) => (Some(id.trim().to_owned()), String::new()),
        None => (None, code.to_owned()),
    }
}

/// Scan a stop's QR (a hand scanner types it; or type the reference) to open it.
#[component]
fn StopScan(open: RwSignal<Option<String>>) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (id, reference) = scanned(&code.get_untracked());
        if id.is_none() && reference.is_empty() {
            error.set(Some("Scan a stop's code, or type its reference".into()));
            return;
        }
        let request = match &id {
            Some(id) => Request::GetOrder {
                order_id: id.clone(),
            },
            None => Request::ListOrders(app_api::OrderQuery {
                search: Some(reference.clone()),
                limit: 5,
                ..Default::default()
            }),
        };
        run(request, move |r| {
            let found = match r {
                Ok(Response::OrderDetail(d)) => Some(d.summary.id),
                Ok(Response::Orders { orders, .. }) => orders
                    .into_iter()
                    .find(|o| o.reference.eq_ignore_ascii_case(&reference))
                    .map(|o| o.id),
                _ => None,
            };
            match found {
                Some(id) => {
                    error.set(None);
                    code.set(String::new());
                    open.set(Some(id));
                }
                None => error.set(Some("That code is not one of your stops".into())),
            }
        });
    };
    view! {
        <form class="row stop-scan" id="stop-scan" on:submit=submit>
            <input id="stop-scan-code" placeholder="scan a stop's QR or type its reference" prop:value=code on:input=move |e| code.set(event_target_value(&e))/>
            <button type="submit" class="ghost">"Open"</button>
            <Show when=move || error.get().is_some()><p class="error" role="alert" id="stop-scan-error">{move || error.get()}</p></Show>
        </form>
    }
}

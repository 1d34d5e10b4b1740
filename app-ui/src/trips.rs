//! Trips (run sheets): the console's Trips tab (build one for a courier from
//! open orders, sequence by hand or by the optimiser, publish, follow its
//! progress) and the trip sheet the courier's workspace shows. What may be
//! done comes from the core (`TripView::actions`).

use app_api::trips::{NewTrip, TripAction, TripActionKind, TripStatus, TripSummary, TripView};
use app_api::{DeliveryStatus, DocumentRequest, OrderQuery, OrderSummary, Request, Response};
use leptos::prelude::*;

use crate::ctx;
use crate::util::{self, run};

fn status_class(s: TripStatus) -> &'static str {
    match s {
        TripStatus::Draft => "st st-pending",
        TripStatus::Published => "st st-assigned",
        TripStatus::Started => "st st-transit",
        TripStatus::Completed => "st st-delivered",
    }
}

/// Downloads a trip's run sheet (PDF, made on this device).
fn print_run_sheet(trip_id: String, error: RwSignal<Option<String>>) {
    run(
        Request::Document(DocumentRequest::RunSheet { trip_id }),
        move |r| match r {
            Ok(Response::Document(f)) => {
                if let Err(e) = util::download(&f.filename, &f.mime, &f.data_base64) {
                    error.set(Some(e));
                }
            }
            Ok(other) => error.set(Some(util::unexpected(&other))),
            Err(e) => error.set(Some(e)),
        },
    );
}

/// The console's Trips tab.
#[component]
pub fn TripsTab() -> impl IntoView {
    let c = ctx();
    let trips = RwSignal::new(Vec::<TripSummary>::new());
    let selected = RwSignal::new(None::<String>);
    let building = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        c.changed.track();
        run(
            Request::ListTrips {
                courier: None,
                open_only: false,
            },
            move |r| match r {
                Ok(Response::Trips { trips: t }) => {
                    let _ = trips.try_set(t);
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        );
    });
    view! {
        <section class="trips">
            <div class="trip-list">
                <div class="row">
                    <h2>"Trips"</h2>
                    <button id="new-trip" on:click=move |_| { building.set(true); selected.set(None); }>"New trip"</button>
                </div>
                <Show when=move || error.get().is_some()><p class="error" role="alert">{move || error.get()}</p></Show>
                <Show when=move || trips.with(|t| t.is_empty())>
                    <p class="empty muted" id="trips-empty">"No trips yet. Build one from open orders with “New trip”: it stays a draft until you publish it to the courier."</p>
                </Show>
                <ul id="trips" class="plain">
                    {move || trips.get().into_iter().map(|t| {
                        let id = t.id.clone();
                        let active = { let id = id.clone(); move || selected.get().as_deref() == Some(id.as_str()) };
                        view! {
                            <li class="trip-item" class:active=active data-reference=t.reference.clone()>
                                <button class="link" on:click={ let id = id.clone(); move |_| { building.set(false); selected.set(Some(id.clone())); } }>
                                    <b>{t.name.clone()}</b>" "<span class="muted">{t.reference.clone()}</span><br/>
                                    <span class=status_class(t.status)>{t.status.label()}</span>
                                    {format!(" {} · {}/{} stops done", t.courier_name, t.done, t.stops)}
                                    {(t.lost_moves > 0).then(|| view! { <span class="warn">{format!(" · {} move(s) overridden", t.lost_moves)}</span> })}
                                    {t.pending.then(|| view! { <span class="muted">" · not synced"</span> })}
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </div>
            <div class="trip-main">
                {move || if building.get() {
                    view! { <BuildTrip on_built=Callback::new(move |id: String| util::later(move || { building.set(false); selected.set(Some(id)); }))/> }.into_any()
                } else if let Some(id) = selected.get() {
                    view! { <TripSheet trip_id=id courier_view=false/> }.into_any()
                } else {
                    view! { <p class="muted">"Choose a trip, or build a new one."</p> }.into_any()
                }}
            </div>
        </section>
    }
}

/// Build a trip: the courier, and the open orders not yet taken.
#[component]
fn BuildTrip(on_built: Callback<String>) -> impl IntoView {
    let orders = RwSignal::new(Vec::<OrderSummary>::new());
    let chosen = RwSignal::new(Vec::<String>::new());
    let courier = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let optimise = RwSignal::new(true);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let c = ctx();
    run(
        Request::ListOrders(OrderQuery {
            statuses: vec![
                DeliveryStatus::Pending,
                DeliveryStatus::AtHub,
                DeliveryStatus::Assigned,
            ],
            limit: 500,
            ..Default::default()
        }),
        move |r| {
            if let Ok(Response::Orders { orders: o, .. }) = r {
                let _ = orders.try_set(o);
            }
        },
    );
    let toggle = move |id: String| {
        chosen.update(|c| {
            if let Some(i) = c.iter().position(|x| *x == id) {
                c.remove(i);
            } else {
                c.push(id);
            }
        })
    };
    let build = move |_| {
        busy.set(true);
        error.set(None);
        run(
            Request::CreateTrip(NewTrip {
                courier: courier.get_untracked(),
                name: name.get_untracked(),
                vehicle: None,
                start_warehouse: None,
                order_ids: chosen.get_untracked(),
                optimise: optimise.get_untracked(),
            }),
            move |r| {
                busy.set(false);
                match r {
                    Ok(Response::Trip(t)) => {
                        c.bump();
                        on_built.run(t.id)
                    }
                    Ok(other) => error.set(Some(util::unexpected(&other))),
                    Err(e) => error.set(Some(e)),
                }
            },
        )
    };
    view! {
        <form class="build-trip" on:submit=|ev| ev.prevent_default()>
            <h2>"New trip"</h2>
            <label>"Courier "<input id="trip-courier" list="courier-list" placeholder="courier id" prop:value=move || courier.get() on:input=move |ev| courier.set(event_target_value(&ev))/></label>
            <label>"Name "<input id="trip-name" placeholder="e.g. Morning west (optional)" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
            <label><input type="checkbox" id="trip-optimise" prop:checked=move || optimise.get() on:change=move |ev| optimise.set(event_target_checked(&ev))/>" Sequence by the optimiser"</label>
            <p class="muted small">{move || format!("{} order(s) chosen: each adds its pickup (until picked up) and its drop-off.", chosen.with(|c| c.len()))}</p>
            <ul id="trip-orders" class="plain pick-list">
                {move || orders.get().into_iter().map(|o| {
                    let id = o.id.clone();
                    let checked = { let id = id.clone(); move || chosen.with(|c| c.contains(&id)) };
                    view! {
                        <li data-reference=o.reference.clone()>
                            <label>
                                <input type="checkbox" prop:checked=checked on:change={ let id = id.clone(); move |_| toggle(id.clone()) }/>
                                {format!(" {} · {} → {} · {}", o.reference, o.pickup_address, o.dropoff_address, o.status.label())}
                            </label>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <Show when=move || error.get().is_some()><p class="error" role="alert" id="trip-error">{move || error.get()}</p></Show>
            <button id="trip-build" type="button" disabled=move || busy.get() on:click=build>"Build trip"</button>
        </form>
    }
}

/// One trip: its stops in sequence, what may be done now, moves that lost to
/// a concurrent one. `courier_view`: the courier's own screen.
#[component]
pub fn TripSheet(trip_id: String, courier_view: bool) -> impl IntoView {
    let c = ctx();
    let trip = RwSignal::new(None::<TripView>);
    let error = RwSignal::new(None::<String>);
    let reason = RwSignal::new(String::new());
    let id = StoredValue::new(trip_id);
    Effect::new(move |_| {
        c.changed.track();
        run(
            Request::GetTrip {
                trip_id: id.get_value(),
            },
            move |r| match r {
                Ok(Response::Trip(t)) => {
                    let _ = trip.try_set(Some(t));
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        );
    });
    let act = move |action: TripAction| {
        error.set(None);
        run(
            Request::TripAct {
                trip_id: id.get_value(),
                action,
            },
            move |r| match r {
                Ok(Response::Trip(t)) => {
                    trip.set(Some(t));
                    c.bump();
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        )
    };
    let can =
        move |k: TripActionKind| trip.with(|t| t.as_ref().is_some_and(|t| t.actions.contains(&k)));
    // Move stop `i` one place up (-1) or down (+1).
    let shift = move |i: usize, up: bool| {
        let Some(t) = trip.get_untracked() else {
            return;
        };
        let keys: Vec<String> = t.stops.iter().map(|s| s.key.clone()).collect();
        let before = if up {
            if i == 0 {
                return;
            }
            Some(keys[i - 1].clone())
        } else {
            if i + 1 >= keys.len() {
                return;
            }
            keys.get(i + 2).cloned()
        };
        act(TripAction::MoveStop {
            stop: keys[i].clone(),
            before,
        });
    };
    // Drag and drop (console): the stop being dragged goes before the one it is dropped on.
    let dragging = StoredValue::new(None::<String>);
    // Other open trips a stop can move to, and the urgent order to insert.
    let others = RwSignal::new(Vec::<TripSummary>::new());
    if !courier_view {
        Effect::new(move |_| {
            c.changed.track();
            run(
                Request::ListTrips {
                    courier: None,
                    open_only: true,
                },
                move |r| {
                    if let Ok(Response::Trips { trips }) = r {
                        let me = id.get_value();
                        let _ = others.try_set(trips.into_iter().filter(|t| t.id != me).collect());
                    }
                },
            );
        });
    }
    let urgent = RwSignal::new(String::new());
    let insert_urgent = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let reference = urgent.get_untracked().trim().to_owned();
        if reference.is_empty() {
            error.set(Some("Urgent stop: type the order's reference".into()));
            return;
        }
        run(
            Request::ListOrders(app_api::OrderQuery {
                search: Some(reference.clone()),
                limit: 5,
                ..Default::default()
            }),
            move |r| match r {
                Ok(Response::Orders { orders, .. }) => {
                    match orders
                        .into_iter()
                        .find(|o| o.reference.eq_ignore_ascii_case(&reference))
                    {
                        Some(o) => {
                            urgent.set(String::new());
                            act(TripAction::AddOrders {
                                order_ids: vec![o.id],
                                urgent: true,
                            });
                        }
                        None => error.set(Some(format!(
                            "Urgent stop: no order {reference} on this device"
                        ))),
                    }
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        );
    };
    view! {
        <section class="trip-sheet" id="trip-sheet">
            {move || trip.get().map(|t| view! {
                <header class="row">
                    <h2 id="trip-title">{t.name.clone()}" "<span class="muted">{t.reference.clone()}</span></h2>
                    <span class=status_class(t.status) id="trip-status">{t.status.label()}</span>
                </header>
                <p class="muted small">
                    {format!("{} · {} · {}/{} stops done", t.courier_name, t.date, t.done, t.stops.len())}
                    {t.pending.then_some(" · not synced yet")}
                    {t.closed_reason.clone().map(|r| format!(" · closed: {r}"))}
                </p>
                {(!t.lost_moves.is_empty()).then(|| view! {
                    <div class="conflict" id="trip-lost-moves" role="status">
                        <b>"Moves made at the same time"</b>
                        <ul>{t.lost_moves.iter().map(|l| view! {
                            <li>{format!("{} moved {} at {}; {} moved it at {}, and that order stands.", l.by, l.reference, util::hhmm(l.at_ms), l.overridden_by, util::hhmm(l.overridden_at_ms))}</li>
                        }).collect_view()}</ul>
                    </div>
                })}
                {(!t.also_on.is_empty()).then(|| view! {
                    <p class="warn" id="trip-also-on">{t.also_on.iter().map(|(o, other)| format!("{o} is also on {other}. ")).collect::<String>()}</p>
                })}
            })}
            <div class="row trip-actions">
                <Show when=move || can(TripActionKind::Publish)><button id="trip-publish" on:click=move |_| act(TripAction::Publish)>"Publish to courier"</button></Show>
                <Show when=move || can(TripActionKind::Start)><button id="trip-start" on:click=move |_| act(TripAction::Start)>"Start trip"</button></Show>
                <Show when=move || can(TripActionKind::Optimise) && !courier_view><button class="ghost" id="trip-optimise-now" on:click=move |_| act(TripAction::Optimise)>"Optimise sequence"</button></Show>
                <button class="ghost" id="trip-run-sheet" on:click=move |_| print_run_sheet(id.get_value(), error)>"Run sheet (PDF)"</button>
                <Show when=move || can(TripActionKind::Close)>
                    <input id="trip-close-reason" placeholder="Why close it now?" prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/>
                    <button class="ghost" id="trip-close" on:click=move |_| act(TripAction::Close { reason: reason.get_untracked() })>"Close trip"</button>
                </Show>
            </div>
            <Show when=move || error.get().is_some()><p class="error" role="alert" id="trip-sheet-error">{move || error.get()}</p></Show>
            <Show when=move || !courier_view && can(TripActionKind::AddOrders)>
                <form class="row" id="trip-urgent" on:submit=insert_urgent>
                    <input id="trip-urgent-ref" placeholder="order reference" prop:value=urgent on:input=move |ev| urgent.set(event_target_value(&ev))/>
                    <button type="submit" class="ghost">"Insert as next stop (urgent)"</button>
                </form>
            </Show>
            <Show when=move || !courier_view && can(TripActionKind::MoveStop)>
                <p class="muted small">"Drag a stop onto another to put it before that one, or use ↑ ↓."</p>
            </Show>
            <ol id="trip-stops" class="queue">
                {move || trip.get().map(|t| {
                    let movable = t.actions.contains(&TripActionKind::MoveStop);
                    let removable = t.actions.contains(&TripActionKind::RemoveStop) && !courier_view;
                    t.stops.into_iter().enumerate().map(|(i, s)| {
                        let key = s.key.clone();
                        let kind = match s.kind { app_api::StopKind::Pickup => "Pickup", app_api::StopKind::Dropoff => "Drop-off" };
                        let fixed = s.done || s.pinned;
                        let drag = movable && !fixed && !courier_view;
                        let (k1, k2, k3) = (key.clone(), key.clone(), key.clone());
                        view! {
                            <li class="stop" class:done=s.done data-key=s.key.clone() data-reference=s.reference.clone()
                                draggable=if drag { "true" } else { "false" }
                                on:dragstart=move |_| dragging.set_value(Some(k1.clone()))
                                on:dragover=move |ev| if movable && !fixed { ev.prevent_default() }
                                on:drop=move |ev| {
                                    ev.prevent_default();
                                    if let Some(from) = dragging.get_value().filter(|f| *f != k2) {
                                        dragging.set_value(None);
                                        act(TripAction::MoveStop { stop: from, before: Some(k2.clone()) });
                                    }
                                }>
                                <span class="seq">{i + 1}</span>
                                <span class="kind">{kind}</span>
                                <span class="addr">{s.stop.address.clone()}</span>
                                <span class="meta">
                                    <span class="ref">{s.reference.clone()}</span>
                                    {(!s.stop.contact_name.is_empty()).then(|| format!(" · {}", s.stop.contact_name))}
                                    {s.stop.window.map(|(a, b)| format!(" · {}–{}", util::hhmm(a), util::hhmm(b)))}
                                    {s.cod_cents.map(|c| format!(" · COD {}", util::euros(c)))}
                                    {s.eta_ms.map(|e| format!(" · ETA {}", util::hhmm(e)))}
                                    {s.pinned.then_some(" · in progress")}
                                </span>
                                {s.status.map(|st| view! { <span class=util::status_class(st)>{st.label()}</span> })}
                                {(movable && !fixed).then(|| view! {
                                    <span class="reorder">
                                        <button class="ghost up" title="Earlier" on:click=move |_| shift(i, true)>"↑"</button>
                                        <button class="ghost down" title="Later" on:click=move |_| shift(i, false)>"↓"</button>
                                    </span>
                                })}
                                {(removable && !fixed && t.actions.contains(&TripActionKind::MoveToTrip)).then_some(move || {
                                    let key = k3.clone();
                                    (!others.with(|o| o.is_empty())).then(|| view! {
                                        <select class="move-to-trip" aria-label="Move to another trip" on:change=move |ev| {
                                            let to = event_target_value(&ev);
                                            if !to.is_empty() { act(TripAction::MoveToTrip { stop: key.clone(), trip_id: to }) }
                                        }>
                                            <option value="">"move to…"</option>
                                            {others.get().into_iter().map(|o| view! { <option value=o.id.clone()>{format!("{} · {}", o.name, o.courier_name)}</option> }).collect_view()}
                                        </select>
                                    })
                                })}
                                {(removable && !s.done).then(|| { let key = key.clone(); view! {
                                    <button class="ghost remove" title="Take off this trip" on:click=move |_| act(TripAction::RemoveStop { stop: key.clone() })>"✕"</button>
                                } })}
                            </li>
                        }
                    }).collect_view()
                })}
            </ol>
            {(!courier_view).then(|| view! {
                <details class="muted small"><summary>"History"</summary>
                    <ul>{move || trip.get().map(|t| t.history.into_iter().map(|h| view! { <li>{format!("{} {} {}", util::stamp(h.at_ms), h.by, h.what)}</li> }).collect_view())}</ul>
                </details>
            })}
        </section>
    }
}

/// The courier's open trip for today, if the dispatcher published one.
#[component]
pub fn CourierTrip() -> impl IntoView {
    let c = ctx();
    let current = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        c.changed.track();
        run(
            Request::ListTrips {
                courier: None,
                open_only: true,
            },
            move |r| {
                if let Ok(Response::Trips { trips }) = r {
                    let t = trips
                        .into_iter()
                        .find(|t| matches!(t.status, TripStatus::Published | TripStatus::Started))
                        .map(|t| t.id);
                    if current.get_untracked() != t {
                        let _ = current.try_set(t);
                    }
                }
            },
        );
    });
    view! {
        {move || current.get().map(|id| view! { <TripSheet trip_id=id courier_view=true/> })}
    }
}

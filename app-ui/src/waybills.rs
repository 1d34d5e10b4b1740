//! Waybills in the console: the list, a new waybill from orders at the hub or
//! on their way, one waybill with its manifest, the scan field that records
//! its dispatch or arrival on every order (with what each order's lifecycle
//! said), and its PDF.

use app_api::waybills::{
    NewWaybill, WaybillAction, WaybillStatus, WaybillStep, WaybillSummary, WaybillView,
};
use app_api::{DeliveryStatus, DocumentRequest, OrderQuery, OrderSummary, Request, Response};
use leptos::prelude::*;

use crate::ctx;
use crate::util::{self, run};

fn status_class(s: WaybillStatus) -> &'static str {
    match s {
        WaybillStatus::Open => "st st-pending",
        WaybillStatus::Dispatched => "st st-transit",
        WaybillStatus::Arrived => "st st-delivered",
        WaybillStatus::Cancelled => "st st-cancelled",
    }
}

/// The answer to a waybill call into `view` (and lists reload), or the error.
fn apply(
    r: Result<Response, String>,
    view: RwSignal<Option<WaybillView>>,
    error: RwSignal<Option<String>>,
    c: crate::Ctx,
) {
    match r {
        Ok(Response::Waybill(w)) => {
            error.set(None);
            view.set(Some(w));
            c.bump();
        }
        Ok(other) => error.set(Some(util::unexpected(&other))),
        Err(e) => error.set(Some(e)),
    }
}

/// The console's Waybills tab.
#[component]
pub fn WaybillsTab() -> impl IntoView {
    let c = ctx();
    let list = RwSignal::new(Vec::<WaybillSummary>::new());
    let view = RwSignal::new(None::<WaybillView>);
    let building = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let scan = RwSignal::new(String::new());
    let step = RwSignal::new(WaybillStep::Dispatch);
    Effect::new(move |_| {
        c.changed.track();
        run(Request::ListWaybills { open_only: false }, move |r| {
            if let Ok(Response::Waybills { waybills }) = r {
                let _ = list.try_set(waybills);
            }
        });
    });
    let open = move |id: String| {
        building.set(false);
        run(Request::GetWaybill { waybill_id: id }, move |r| {
            apply(r, view, error, c)
        });
    };
    let on_scan = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let code = scan.get_untracked();
        if code.trim().is_empty() {
            error.set(Some("Scan: scan or type a waybill number".into()));
            return;
        }
        building.set(false);
        run(
            Request::ScanWaybill {
                code,
                step: step.get_untracked(),
            },
            move |r| {
                scan.set(String::new());
                apply(r, view, error, c)
            },
        );
    };
    view! {
        <section class="trips waybills">
            <div class="trip-list">
                <div class="row">
                    <h2>"Waybills"</h2>
                    <button id="new-waybill" on:click=move |_| { building.set(true); view.set(None); }>"New waybill"</button>
                </div>
                <form id="waybill-scan" class="row" on:submit=on_scan>
                    <select id="waybill-step" aria-label="Step" on:change=move |e| step.set(if event_target_value(&e) == "arrive" { WaybillStep::Arrive } else { WaybillStep::Dispatch })>
                        <option value="dispatch">"Hand over"</option>
                        <option value="arrive">"Arrival"</option>
                    </select>
                    <input id="waybill-code" placeholder="scan a waybill" prop:value=scan on:input=move |e| scan.set(event_target_value(&e))/>
                    <button type="submit">"Record"</button>
                </form>
                <Show when=move || error.get().is_some()><p class="error" role="alert" id="waybill-error">{move || error.get()}</p></Show>
                <Show when=move || list.with(|l| l.is_empty())>
                    <p class="empty muted" id="waybills-empty">"No waybills yet. Make one for a batch of orders leaving together (a hub transfer, a hand-over to a carrier)."</p>
                </Show>
                <ul id="waybills" class="plain">
                    {move || list.get().into_iter().map(|w| {
                        let id = w.id.clone();
                        view! {
                            <li class="trip-item" data-number=w.number.clone()>
                                <button class="link" on:click=move |_| open(id.clone())>
                                    <b>{w.number.clone()}</b>" "<span class=status_class(w.status)>{w.status.label()}</span><br/>
                                    {format!("{} → {} · {} order(s)", w.origin, w.destination, w.orders)}
                                    {w.pending.then(|| view! { <span class="muted">" · not synced"</span> })}
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <HubList/>
            </div>
            <div class="trip-main">
                {move || if building.get() {
                    view! { <NewWaybillForm on_made=Callback::new(move |w: WaybillView| util::later(move || { building.set(false); view.set(Some(w)); }))/> }.into_any()
                } else if let Some(w) = view.get() {
                    view! { <WaybillSheet w=w view=view/> }.into_any()
                } else {
                    view! { <p class="muted">"Choose a waybill, scan one, or make a new one."</p> }.into_any()
                }}
            </div>
        </section>
    }
}

#[component]
fn NewWaybillForm(on_made: Callback<WaybillView>) -> impl IntoView {
    let orders = RwSignal::new(Vec::<OrderSummary>::new());
    let chosen = RwSignal::new(Vec::<String>::new());
    let origin = RwSignal::new(String::new());
    let destination = RwSignal::new(String::new());
    let warehouse = RwSignal::new(String::new());
    let carrier = RwSignal::new(String::new());
    let seal = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let c = ctx();
    run(
        Request::ListOrders(OrderQuery {
            statuses: vec![
                DeliveryStatus::AtHub,
                DeliveryStatus::PickedUp,
                DeliveryStatus::InTransit,
                DeliveryStatus::Pending,
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
    let make = move |_| {
        let opt = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
        run(
            Request::CreateWaybill(NewWaybill {
                origin: origin.get_untracked(),
                destination: destination.get_untracked(),
                destination_warehouse: opt(warehouse),
                carrier: carrier.get_untracked(),
                seal: opt(seal),
                reference: None,
                order_ids: chosen.get_untracked(),
            }),
            move |r| match r {
                Ok(Response::Waybill(w)) => {
                    c.bump();
                    on_made.run(w)
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        )
    };
    let toggle = move |id: String| {
        chosen.update(|c| {
            if let Some(i) = c.iter().position(|x| *x == id) {
                c.remove(i);
            } else {
                c.push(id);
            }
        })
    };
    view! {
        <form class="build-trip" id="waybill-new" on:submit=|ev| ev.prevent_default()>
            <h2>"New waybill"</h2>
            <label>"From "<input id="waybill-origin" placeholder="e.g. Vantaa hub" prop:value=origin on:input=move |e| origin.set(event_target_value(&e))/></label>
            <label>"To "<input id="waybill-destination" placeholder="e.g. Tampere hub" prop:value=destination on:input=move |e| destination.set(event_target_value(&e))/></label>
            <label>"Received into warehouse "<input id="waybill-warehouse" placeholder="warehouse id (optional)" prop:value=warehouse on:input=move |e| warehouse.set(event_target_value(&e))/></label>
            <label>"Carrier "<input id="waybill-carrier" prop:value=carrier on:input=move |e| carrier.set(event_target_value(&e))/></label>
            <label>"Seal "<input id="waybill-seal" prop:value=seal on:input=move |e| seal.set(event_target_value(&e))/></label>
            <p class="muted small">{move || format!("{} order(s) chosen", chosen.with(|c| c.len()))}</p>
            <ul id="waybill-orders" class="plain pick-list">
                {move || orders.get().into_iter().map(|o| {
                    let id = o.id.clone();
                    let checked = { let id = id.clone(); move || chosen.with(|c| c.contains(&id)) };
                    view! {
                        <li data-reference=o.reference.clone()>
                            <label>
                                <input type="checkbox" prop:checked=checked on:change={ let id = id.clone(); move |_| toggle(id.clone()) }/>
                                {format!(" {} · {} · {}", o.reference, o.dropoff_address, o.status.label())}
                            </label>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <Show when=move || error.get().is_some()><p class="error" role="alert" id="waybill-new-error">{move || error.get()}</p></Show>
            <button id="waybill-make" type="button" on:click=make>"Make waybill"</button>
        </form>
    }
}

#[component]
fn WaybillSheet(w: WaybillView, view: RwSignal<Option<WaybillView>>) -> impl IntoView {
    let c = ctx();
    let error = RwSignal::new(None::<String>);
    let reason = RwSignal::new(String::new());
    let id = StoredValue::new(w.id.clone());
    let act = move |action: WaybillAction| {
        run(
            Request::WaybillAct {
                waybill_id: id.get_value(),
                action,
            },
            move |r| apply(r, view, error, c),
        )
    };
    let print = move |_| {
        run(
            Request::Document(DocumentRequest::Waybill {
                waybill_id: id.get_value(),
            }),
            move |r| match r {
                Ok(Response::Document(f)) => {
                    if let Err(e) = util::download(&f.filename, &f.mime, &f.data_base64) {
                        error.set(Some(e));
                    }
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        )
    };
    let open = w.status == WaybillStatus::Open;
    let live = matches!(w.status, WaybillStatus::Open | WaybillStatus::Dispatched);
    view! {
        <div class="trip-sheet" id="waybill-sheet" data-number=w.number.clone()>
            <h2>{w.number.clone()}" "<span id="waybill-status" class=status_class(w.status)>{w.status.label()}</span></h2>
            <p>{format!("{} → {}", w.origin, w.destination)}
                {(!w.carrier.is_empty()).then(|| format!(" · {}", w.carrier))}
                {w.seal.clone().map(|s| format!(" · seal {s}"))}
                {w.pending.then_some(" · not synced yet")}</p>
            {w.cancelled_reason.clone().map(|r| view! { <p class="short">{format!("Cancelled: {r}")}</p> })}
            <div class="row">
                <button class="ghost" id="waybill-print" on:click=print>"Waybill PDF"</button>
                {open.then(|| view! { <button id="waybill-dispatch" on:click=move |_| act(WaybillAction::Step { step: WaybillStep::Dispatch })>"Hand over"</button> })}
                {(w.status == WaybillStatus::Dispatched).then(|| view! { <button id="waybill-arrive" on:click=move |_| act(WaybillAction::Step { step: WaybillStep::Arrive })>"Arrived"</button> })}
                {live.then(|| view! {
                    <input id="waybill-cancel-reason" placeholder="reason to cancel" prop:value=reason on:input=move |e| reason.set(event_target_value(&e))/>
                    <button class="ghost" on:click=move |_| act(WaybillAction::Cancel { reason: reason.get_untracked() })>"Cancel waybill"</button>
                })}
            </div>
            <Show when=move || error.get().is_some()><p class="error" role="alert" id="waybill-sheet-error">{move || error.get()}</p></Show>
            {(!w.step_results.is_empty()).then(|| {
                let refused: Vec<_> = w.step_results.iter().filter(|r| !r.ok).cloned().collect();
                let class = if refused.is_empty() { "ok" } else { "short" };
                let summary = format!("Recorded on {} of {} orders.", w.step_results.len() - refused.len(), w.step_results.len());
                view! {
                    <p id="waybill-step-result" class=class>
                        {summary}
                        {refused.into_iter().map(|r| view! { <br/>{format!("{}: {}", r.reference, r.message)} }).collect_view()}
                    </p>
                }
            })}
            <h3>{format!("Manifest ({} orders)", w.orders.len())}</h3>
            {w.orders.is_empty().then(|| view! { <p class="muted empty">"No orders on this waybill yet."</p> })}
            <ul id="waybill-manifest" class="plain">
                {w.orders.iter().map(|o| {
                    let oid = o.order_id.clone();
                    view! {
                        <li data-order=o.order_id.clone()>
                            {format!("{} · {} · {}", o.reference, o.recipient, o.status.map_or("not on this device", |s| s.label()))}
                            {(!o.also_on.is_empty()).then(|| view! { <span class="short">{format!(" · also on {}", o.also_on.join(", "))}</span> })}
                            {open.then(|| view! { <button class="ghost small" on:click=move |_| act(WaybillAction::RemoveOrder { order_id: oid.clone() })>"Remove"</button> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <h3>"History"</h3>
            <ul class="plain small muted">
                {w.history.iter().map(|h| view! { <li>{format!("{} · {} · {}", util::stamp(h.at_ms), h.by, h.what)}</li> }).collect_view()}
            </ul>
        </div>
    }
}

/// "1 h 20 min" since `ms`.
fn age(ms: i64) -> String {
    let min = ((util::now_ms() - ms) / 60_000).max(0);
    match min {
        0..=59 => format!("{min} min"),
        60..=1439 => format!("{} h {} min", min / 60, min % 60),
        _ => format!("{} d {} h", min / 1440, min % 1440 / 60),
    }
}

/// What is at the hubs now and since when, longest there first.
#[component]
fn HubList() -> impl IntoView {
    let c = ctx();
    let inv = RwSignal::new(None::<app_api::waybills::HubInventory>);
    Effect::new(move |_| {
        c.changed.track();
        run(Request::HubInventory { warehouse: None }, move |r| {
            if let Ok(Response::HubInventory(i)) = r {
                let _ = inv.try_set(Some(i));
            }
        });
    });
    view! {
        <section id="hub-inventory">
            <h3>"At the hubs"</h3>
            {move || inv.get().map(|i| if i.items.is_empty() {
                view! { <p class="muted empty">"Nothing waiting at a hub."</p> }.into_any()
            } else {
                view! {
                    <p class="muted small">{i.hubs.iter().map(|(_, name, n)| format!("{name}: {n}")).collect::<Vec<_>>().join(" · ")}</p>
                    <ul class="plain small">
                        {i.items.into_iter().map(|h| view! {
                            <li class="hub-item" data-order=h.order_id.clone()>
                                <b>{h.reference}</b>{format!(" · {} · {} for {}", h.recipient, h.warehouse_name, age(h.since_ms))}
                                {h.waybill.map(|w| view! { <span class="muted">{format!(" · on {w}")}</span> })}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
        </section>
    }
}

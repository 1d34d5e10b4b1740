//! The dispatcher's driver monitor: every courier with availability, work
//! mode, live position and workload; the selected courier's queue in sequence
//! (shown on the map as their run); and the auto-assignment proposal, which
//! assigns nothing until the dispatcher approves it (with undo).

use app_api::{
    Action, AssignmentProposal, CourierAvailability, CourierStatus, FleetBoard, OrderQuery,
    OrderSummary, PlanRouteRequest, ProposeAssignmentRequest, Request, Response, RoutePlan,
};
use leptos::prelude::*;

use crate::ctx;
use crate::util::{self, run};

/// The fleet board, reloaded every few seconds and after every change.
pub fn fleet_signal() -> (RwSignal<Option<FleetBoard>>, RwSignal<Option<String>>) {
    let c = ctx();
    let board = RwSignal::new(None::<FleetBoard>);
    let error = RwSignal::new(None::<String>);
    let tick = RwSignal::new(0u64);
    let handle = set_interval_with_handle(
        move || tick.update(|t| *t += 1),
        std::time::Duration::from_secs(3),
    )
    .ok();
    on_cleanup(move || {
        if let Some(h) = handle {
            h.clear();
        }
    });
    Effect::new(move |_| {
        c.changed.track();
        tick.track();
        run(Request::Fleet, move |r| match r {
            Ok(Response::Fleet(b)) => {
                let _ = board.try_set(Some(b));
                let _ = error.try_set(None);
            }
            Ok(other) => {
                let _ = error.try_set(Some(util::unexpected(&other)));
            }
            Err(e) => {
                let _ = error.try_set(Some(e));
            }
        });
    });
    (board, error)
}

fn seen(c: &CourierStatus, now: i64) -> String {
    match c.position_at_ms {
        Some(at) if c.live => format!("live · {}", ago(now - at)),
        Some(at) => format!("last fix {}", util::hhmm(at)),
        None => "no position yet".into(),
    }
}

fn ago(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    if s < 60 {
        format!("{s} s ago")
    } else {
        format!("{} min ago", s / 60)
    }
}

#[component]
pub fn Drivers(selected: RwSignal<Option<String>>, on_map: Callback<()>) -> impl IntoView {
    let (board, error) = fleet_signal();
    let filter = RwSignal::new(String::new());
    let rows = move || {
        let f = filter.get().to_lowercase();
        board
            .get()
            .map(|b| {
                b.couriers
                    .into_iter()
                    .filter(|c| {
                        f.is_empty()
                            || c.name.to_lowercase().contains(&f)
                            || c.user.to_lowercase().contains(&f)
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let now = move || board.with(|b| b.as_ref().map(|b| b.now_ms).unwrap_or(0));
    view! {
        <section class="drivers" id="drivers">
            <div class="filters">
                <input id="driver-filter" placeholder="Find a courier" prop:value=filter on:input=move |ev| filter.set(event_target_value(&ev))/>
                <span class="muted small" id="unassigned-count">{move || board.get().map(|b| format!("{} orders wait for a courier", b.unassigned))}</span>
            </div>
            <Show when=move || error.get().is_some()><p class="error" role="alert">{move || error.get()}</p></Show>
            <Show when=move || board.get().is_some() && rows().is_empty()>
                <p class="empty muted" id="drivers-empty">"No couriers yet. Couriers appear here once the tenant's server lists them (sync-server user add --role courier), or when an order is assigned to one."</p>
            </Show>
            <table class="grid drivers-table" id="drivers-table">
                <thead><tr>
                    <th>"Courier"</th><th>"Availability"</th><th>"Queue"</th><th>"Position"</th>
                    <th title="Assigned, not picked up">"To collect"</th><th title="Picked up or in transit">"On board"</th>
                    <th>"Delivered today"</th><th>"Failed today"</th><th title="Cash on delivery still to hand over">"Cash"</th>
                </tr></thead>
                <tbody>
                    {move || rows().into_iter().map(|c| {
                        let user = c.user.clone();
                        let u2 = user.clone();
                        let is_sel = move || selected.get().as_deref() == Some(u2.as_str());
                        let avail_class = format!("avail avail-{}", util::name_of(&c.availability));
                        view! {
                            <tr class="driver-row" data-courier=c.user.clone() class:selected=is_sel tabindex="0"
                                on:click=move |_| selected.set(Some(user.clone()))>
                                <td><strong>{c.name.clone()}</strong>{(c.name != c.user).then(|| view! { <span class="muted small">{format!(" {}", c.user)}</span> })}
                                    {c.phone.clone().map(|p| view! { " " <a class="call small" href=format!("tel:{}", p.replace(' ', "")) title="Call courier" on:click=|e| e.stop_propagation()>{format!("☎ {p}")}</a> })}
                                    {c.vehicle.clone().map(|v| view! { <div class="muted small vehicle">{v}{(!c.home_zones.is_empty()).then(|| format!(" · {}", c.home_zones.join(", ")))}</div> })}
                                </td>
                                <td><span class=avail_class>{c.availability.label()}</span></td>
                                <td>{c.work_mode.map(|m| m.label()).unwrap_or("—")}</td>
                                <td class="small">{seen(&c, now())}</td>
                                <td class="num">{c.assigned}</td>
                                <td class="num">{c.on_board}</td>
                                <td class="num">{c.delivered_today}</td>
                                <td class="num">{c.failed_today}</td>
                                <td class="num cash-cell" class:short=c.over_cash_limit title=if c.over_cash_limit { "Over the cash limit: no cash orders until they hand over" } else { "" }>
                                    {(c.cash_in_hand_cents != 0).then(|| util::euros(c.cash_in_hand_cents))}
                                    {c.over_cash_limit.then_some(" ⚠")}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {move || selected.get().map(|user| {
                let info = board.with(|b| b.as_ref().and_then(|b| b.couriers.iter().find(|c| c.user == user).cloned()));
                view! { <CourierWork user=user info=info on_map=on_map/> }
            })}
            <Proposal board=board/>
        </section>
    }
}

/// The selected courier's open work in sequence, with ETAs from their position.
#[component]
fn CourierWork(user: String, info: Option<CourierStatus>, on_map: Callback<()>) -> impl IntoView {
    let c = ctx();
    let orders = RwSignal::new(Vec::<OrderSummary>::new());
    let plan = RwSignal::new(None::<RoutePlan>);
    let error = RwSignal::new(None::<String>);
    let position = info
        .as_ref()
        .and_then(|i| i.position.or(i.start))
        .unwrap_or(util::DEFAULT_CENTER);
    let name = info
        .as_ref()
        .map(|i| i.name.clone())
        .unwrap_or(user.clone());
    let u = user.clone();
    Effect::new(move |_| {
        c.changed.track();
        let user = u.clone();
        run(
            Request::ListOrders(OrderQuery {
                assignee: Some(user.clone()),
                open_work: true,
                limit: 500,
                ..Default::default()
            }),
            move |r| match r {
                Ok(Response::Orders { orders: o, .. }) => {
                    let _ = orders.try_set(o);
                }
                Ok(other) => {
                    let _ = error.try_set(Some(util::unexpected(&other)));
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            },
        );
    });
    // The courier's trip under way (published or started): its live progress,
    // and the sequence the dispatcher reorders here.
    let trip = RwSignal::new(None::<app_api::trips::TripSummary>);
    let u = user.clone();
    Effect::new(move |_| {
        c.changed.track();
        run(
            Request::ListTrips {
                courier: Some(u.clone()),
                open_only: true,
            },
            move |r| {
                if let Ok(Response::Trips { trips }) = r {
                    let t = trips.into_iter().find(|t| {
                        matches!(
                            t.status,
                            app_api::trips::TripStatus::Published
                                | app_api::trips::TripStatus::Started
                        )
                    });
                    if trip.get_untracked().map(|x| x.id) != t.as_ref().map(|x| x.id.clone())
                        || trip.get_untracked().map(|x| (x.done, x.stops))
                            != t.as_ref().map(|x| (x.done, x.stops))
                    {
                        let _ = trip.try_set(t);
                    }
                }
            },
        );
    });
    let show_trip = RwSignal::new(false);
    let u = user.clone();
    let sequence = move |optimise: bool| {
        run(
            Request::PlanRoute(PlanRouteRequest {
                courier: u.clone(),
                position,
                capacity_items: 0,
                started: None,
                current: Vec::new(),
                optimise,
            }),
            move |r| match r {
                Ok(Response::RoutePlan(p)) => {
                    let _ = plan.try_set(Some(p));
                }
                Ok(other) => {
                    let _ = error.try_set(Some(util::unexpected(&other)));
                }
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            },
        )
    };
    let seq = sequence.clone();
    Effect::new(move |prev: Option<usize>| {
        let n = orders.with(|o| o.len());
        if n > 0 && prev != Some(n) {
            seq(true);
        }
        n
    });
    view! {
        <div class="card courier-work" id="courier-work" data-courier=user.clone()>
            <div class="panel-head">
                <h3>{format!("{name}: open work")}</h3>
                <button class="ghost" id="courier-sequence" on:click=move |_| sequence(true)>"Sequence"</button>
                <button class="ghost" id="courier-on-map" on:click=move |_| on_map.run(())>"Show run on map"</button>
                <button class="ghost" id="courier-chat" on:click={let u = user.clone(); move |_| crate::chat::open_chat(c, app_api::chat::ChatLink::Driver { courier: u.clone() })}>"Chat"</button>
            </div>
            <Show when=move || error.get().is_some()><p class="error" role="alert">{move || error.get()}</p></Show>
            {move || trip.get().map(|t| view! {
                <p id="courier-trip-progress">
                    <b>{t.name.clone()}</b>{format!(" · {} · {}/{} stops done", t.status.label(), t.done, t.stops)}
                    {(t.lost_moves > 0).then(|| view! { <span class="short">{format!(" · {} move(s) lost to a concurrent one", t.lost_moves)}</span> })}
                    " "<button class="ghost small" id="courier-trip-toggle" on:click=move |_| show_trip.update(|s| *s = !*s)>{move || if show_trip.get() { "Hide trip" } else { "Reorder trip" }}</button>
                </p>
            })}
            {move || (show_trip.get()).then(|| trip.get().map(|t| view! { <crate::trips::TripSheet trip_id=t.id courier_view=false/> })).flatten()}
            <Show when=move || orders.with(|o| o.is_empty())>
                <p class="muted empty">"No open work."</p>
            </Show>
            {move || plan.get().filter(|p| !p.stops.is_empty()).map(|p| view! {
                <p class="muted small" id="courier-plan-summary">{format!("{} stops · {:.1} km · done by {} ({})", p.stops.len(), p.distance_m as f64 / 1000.0, util::hhmm(p.finish_ms), p.travel_model)}</p>
                <ol class="run" id="courier-run">
                    {p.stops.iter().map(|s| view! {
                        <li>
                            <span class="eta">{util::hhmm(s.eta_ms)}</span>
                            {format!(" {} · {} · {}", if s.kind == app_api::StopKind::Pickup { "Pick up" } else { "Drop off" }, s.reference, s.address)}
                            {(s.late_s > 0).then(|| view! { <span class="late">{format!(" {} min late", s.late_s / 60)}</span> })}
                        </li>
                    }).collect_view()}
                </ol>
            })}
        </div>
    }
}

/// The auto-assignment proposal: who would take which waiting order; the
/// dispatcher unticks what they disagree with and approves the rest.
#[component]
fn Proposal(board: RwSignal<Option<FleetBoard>>) -> impl IntoView {
    let c = ctx();
    let proposal = RwSignal::new(None::<AssignmentProposal>);
    let skip = RwSignal::new(std::collections::BTreeSet::<String>::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let note = RwSignal::new(None::<String>);
    let undo = RwSignal::new(Vec::<String>::new());
    let everyone = RwSignal::new(false);
    let propose = move |_| {
        let couriers: Vec<CourierAvailability> = board.with_untracked(|b| {
            b.as_ref()
                .map(|b| {
                    b.couriers
                        .iter()
                        .filter(|c| {
                            everyone.get_untracked()
                                || c.availability == app_api::Availability::Available
                        })
                        .map(|c| CourierAvailability {
                            user: c.user.clone(),
                            position: c.position.or(c.start).unwrap_or(util::DEFAULT_CENTER),
                            capacity_items: 0,
                            home_zones: Vec::new(),
                            carrier: Default::default(),
                            shift_end_ms: None,
                        })
                        .collect()
                })
                .unwrap_or_default()
        });
        if couriers.is_empty() {
            error.set(Some("No available courier to propose for. Tick \u{201c}include couriers not marked available\u{201d} to use everyone.".into()));
            return;
        }
        busy.set(true);
        error.set(None);
        note.set(None);
        run(
            Request::ProposeAssignment(ProposeAssignmentRequest {
                couriers,
                balance_weight: None,
            }),
            move |r| {
                let _ = busy.try_set(false);
                match r {
                    Ok(Response::AssignmentProposal(p)) => {
                        let _ = skip.try_set(Default::default());
                        let _ = proposal.try_set(Some(p));
                    }
                    Ok(other) => {
                        let _ = error.try_set(Some(util::unexpected(&other)));
                    }
                    Err(e) => {
                        let _ = error.try_set(Some(e));
                    }
                }
            },
        );
    };
    let approve = move |_| {
        let Some(p) = proposal.get_untracked() else {
            return;
        };
        let chosen: Vec<(String, String)> = p
            .assignments
            .iter()
            .filter(|a| !skip.with_untracked(|s| s.contains(&a.order_id)))
            .map(|a| (a.order_id.clone(), a.courier.clone()))
            .collect();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let mut done = Vec::new();
            let mut refused = 0;
            for (order_id, courier) in chosen {
                let r = crate::api::call(&Request::Act {
                    order_id: order_id.clone(),
                    action: Action::Assign { courier },
                })
                .await;
                match r {
                    Ok(_) => done.push(order_id),
                    Err(_) => refused += 1,
                }
            }
            let _ = busy.try_set(false);
            let _ = proposal.try_set(None);
            let _ = note.try_set(Some(if refused > 0 {
                format!(
                    "Assigned {} orders; {refused} refused (changed meanwhile).",
                    done.len()
                )
            } else {
                format!("Assigned {} orders.", done.len())
            }));
            let _ = undo.try_set(done);
            c.bump();
        });
    };
    let undo_all = move |_| {
        let ids = undo.get_untracked();
        undo.set(Vec::new());
        leptos::task::spawn_local(async move {
            let mut n = 0;
            for order_id in ids {
                if crate::api::call(&Request::Act {
                    order_id,
                    action: Action::Unassign,
                })
                .await
                .is_ok()
                {
                    n += 1;
                }
            }
            let _ = note.try_set(Some(format!("Undone: {n} orders unassigned again.")));
            c.bump();
        });
    };
    view! {
        <div class="card proposal" id="proposal">
            <div class="panel-head">
                <h3>"Auto-assign"</h3>
                <label class="small"><input type="checkbox" id="propose-everyone" prop:checked=everyone on:change=move |ev| everyone.set(event_target_checked(&ev))/>" include couriers not marked available"</label>
                <button id="propose" prop:disabled=busy on:click=propose>"Propose"</button>
            </div>
            <p class="muted small">"A proposal assigns nothing: untick what you disagree with, then approve."</p>
            <Show when=move || error.get().is_some()><p class="error" role="alert">{move || error.get()}</p></Show>
            {move || note.get().map(|n| view! {
                <p class="note" id="proposal-note" role="status">{n}
                    <Show when=move || !undo.with(|u| u.is_empty())>
                        " "<button class="ghost" id="proposal-undo" on:click=undo_all>"Undo"</button>
                    </Show>
                </p>
            })}
            {move || proposal.get().map(|p| {
                let n = p.assignments.len();
                view! {
                    <p class="small" id="proposal-summary">{format!("{n} orders proposed · {} left unplaced · {} min driving in all ({}, {:.0} ms)", p.unplaced.len(), p.travel_s / 60, p.travel_model, p.ms)}</p>
                    <table class="grid" id="proposal-workload">
                        <thead><tr><th>"Courier"</th><th>"Orders after"</th><th>"Kept"</th><th>"Stops"</th><th>"Driving"</th><th>"Done by"</th></tr></thead>
                        <tbody>{p.workload.iter().map(|w| view! {
                            <tr><td>{w.courier.clone()}</td><td class="num">{w.orders}</td><td class="num">{w.kept}</td><td class="num">{w.stops}</td><td class="num">{format!("{} min", w.travel_s / 60)}</td><td>{util::hhmm(w.finish_ms)}</td></tr>
                        }).collect_view()}</tbody>
                    </table>
                    <ul class="proposal-list" id="proposal-list">
                        {p.assignments.iter().map(|a| {
                            let id = a.order_id.clone();
                            let id2 = id.clone();
                            view! {
                                <li><label>
                                    <input type="checkbox" class="proposal-pick" prop:checked=move || !skip.with(|s| s.contains(&id))
                                        on:change=move |ev| { let on = event_target_checked(&ev); let id = id2.clone(); skip.update(|s| { if on { s.remove(&id); } else { s.insert(id); } }); }/>
                                    {format!(" {} → {}", a.reference, a.courier)}
                                </label></li>
                            }
                        }).collect_view()}
                    </ul>
                    {p.unplaced.iter().map(|u| view! { <p class="muted small">{format!("Not placed: {} ({})", u.order_id, u.reason)}</p> }).collect_view()}
                    <button id="proposal-approve" prop:disabled=move || busy.get() || n == 0 on:click=approve>
                        {move || format!("Approve {}", n - skip.with(|s| s.len()))}
                    </button>
                }
            })}
        </div>
    }
}

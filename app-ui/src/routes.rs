//! Routes in the console: the reusable routes (their points picked from the
//! warehouses or typed and placed on a map, drivers, vehicle, schedule), the
//! week's sessions calendar (plan a day by hand or the whole week from the
//! schedules), and one session: its orders, "attach what is on the route",
//! building its trip in the route's order, cancelling. Dispatchers and
//! admins edit routes; the rules are `ruta_model::session_doc`'s and the
//! configuration's.

use app_api::config::{ConfigChange, Route, RoutePoint, TenantConfig};
use app_api::routes::{NewSession, SessionAction, SessionStatus, SessionSummary, SessionView};
use app_api::{Point, Request, Response};
use leptos::prelude::*;

use crate::ctx;
use crate::util::{self, run};

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// `YYYY-MM-DD` of the local day `offset` days from the Monday of the week
/// `week` weeks from this one, and its ISO weekday.
pub(crate) fn day(week: i32, offset: i32) -> (String, u8) {
    let now = js_sys::Date::new_0();
    let iso = match now.get_day() {
        0 => 7,
        d => d as i32,
    };
    let ms = now.get_time() + f64::from((week * 7 + offset - (iso - 1)) * 86_400_000);
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    let weekday = match d.get_day() {
        0 => 7,
        n => n as u8,
    };
    (
        format!(
            "{}-{:02}-{:02}",
            d.get_full_year(),
            d.get_month() + 1,
            d.get_date()
        ),
        weekday,
    )
}

/// Today, `YYYY-MM-DD` (local).
pub(crate) fn today() -> String {
    let now = js_sys::Date::new_0();
    format!(
        "{}-{:02}-{:02}",
        now.get_full_year(),
        now.get_month() + 1,
        now.get_date()
    )
}

pub(crate) fn session_class(s: SessionStatus) -> &'static str {
    match s {
        SessionStatus::Planned => "st st-pending",
        SessionStatus::InProgress => "st st-transit",
        SessionStatus::Completed => "st st-delivered",
        SessionStatus::Cancelled => "st st-cancelled",
    }
}

#[derive(Clone, PartialEq)]
enum Pane {
    Nothing,
    Route(Option<Route>),
    Session(SessionView),
}

fn apply(
    r: Result<Response, String>,
    pane: RwSignal<Pane>,
    error: RwSignal<Option<String>>,
    c: crate::Ctx,
) {
    match r {
        Ok(Response::Session(s)) => {
            error.set(None);
            pane.set(Pane::Session(s));
            c.bump();
        }
        Ok(other) => error.set(Some(util::unexpected(&other))),
        Err(e) => error.set(Some(e)),
    }
}

/// The console's Routes tab.
#[component]
pub fn RoutesTab() -> impl IntoView {
    let c = ctx();
    let config = RwSignal::new(None::<TenantConfig>);
    let editable = RwSignal::new(false);
    let sessions = RwSignal::new(Vec::<SessionSummary>::new());
    let week = RwSignal::new(0i32);
    let pane = RwSignal::new(Pane::Nothing);
    let error = RwSignal::new(None::<String>);
    let info = RwSignal::new(None::<String>);
    // What the route editor last saved (the editor is made anew with the saved route).
    let saved = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        c.changed.track();
        run(Request::TenantConfig, move |r| {
            if let Ok(Response::TenantConfig(v)) = r {
                let _ = editable.try_set(v.routes_editable);
                let _ = config.try_set(Some(v.config));
            }
        });
    });
    Effect::new(move |_| {
        c.changed.track();
        let w = week.get();
        run(
            Request::ListSessions {
                from: day(w, 0).0,
                to: day(w, 6).0,
            },
            move |r| {
                if let Ok(Response::Sessions { sessions: s }) = r {
                    let _ = sessions.try_set(s);
                }
            },
        );
    });
    let plan = move |route: String, date: String| {
        run(
            Request::PlanSession(NewSession {
                route,
                date,
                driver: None,
            }),
            move |r| apply(r, pane, error, c),
        );
    };
    let open = move |id: String| {
        run(Request::GetSession { session_id: id }, move |r| {
            apply(r, pane, error, c)
        });
    };
    let plan_week = move |_| {
        let w = week.get_untracked();
        run(
            Request::PlanSchedule {
                from: day(w, 0).0,
                to: day(w, 6).0,
            },
            move |r| match r {
                Ok(Response::Sessions { sessions: s }) => {
                    error.set(None);
                    info.set(Some(format!("{} session(s) this week", s.len())));
                    c.bump();
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        );
    };
    let routes = move || config.with(|c| c.as_ref().map(|c| c.routes.clone()).unwrap_or_default());
    view! {
        <section class="trips routes">
            <div class="trip-list">
                <div class="row">
                    <h2>"Routes"</h2>
                    <Show when=move || editable.get()>
                        <button id="new-route" on:click=move |_| { saved.set(None); pane.set(Pane::Route(None)) }>"New route"</button>
                    </Show>
                </div>
                <Show when=move || config.with(|c| c.as_ref().is_some_and(|c| c.routes.is_empty()))>
                    <p class="empty muted" id="routes-empty">"No routes yet. A route is a run you do again and again — e.g. hub → five stores, weekdays 07:00. Make one, then plan its days."</p>
                </Show>
                <ul id="routes" class="plain">
                    {move || routes().into_iter().map(|r| {
                        let days = r.weekdays.iter().map(|d| WEEKDAYS[usize::from(*d - 1)]).collect::<Vec<_>>().join(" ");
                        let summary = format!("{} point(s) · {} · {}{}", r.points.len(), r.start,
                            if days.is_empty() { "by hand".to_owned() } else { days },
                            r.drivers.first().map(|d| format!(" · {d}")).unwrap_or_default());
                        let route = r.clone();
                        view! {
                            <li class="trip-item" data-route=r.id.clone()>
                                <button class="link" on:click=move |_| { saved.set(None); pane.set(Pane::Route(Some(route.clone()))) }>
                                    <b>{r.name.clone()}</b>{r.auto_attach.then_some(" · attaches by itself")}<br/>
                                    <span class="small muted">{summary}</span>
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </div>
            <div class="trip-main">
                <div class="row">
                    <button class="ghost" id="week-prev" aria-label="Previous week" on:click=move |_| week.update(|w| *w -= 1)>"◀"</button>
                    <b id="week-label">{move || format!("Week of {}", day(week.get(), 0).0)}</b>
                    <button class="ghost" id="week-next" aria-label="Next week" on:click=move |_| week.update(|w| *w += 1)>"▶"</button>
                    <button class="ghost" on:click=move |_| week.set(0)>"This week"</button>
                    <Show when=move || editable.get()>
                        <button id="plan-week" on:click=plan_week>"Plan the week from the schedules"</button>
                    </Show>
                </div>
                <Show when=move || info.get().is_some()><p class="info" id="routes-info">{move || info.get()}</p></Show>
                <Show when=move || error.get().is_some()><p class="error" role="alert" id="routes-error">{move || error.get()}</p></Show>
                <table id="route-calendar" class="calendar">
                    <thead><tr><th>"Route"</th>
                        {move || (0..7).map(|i| {
                            let (d, wd) = day(week.get(), i);
                            let today = d == today();
                            view! { <th class:today=today>{format!("{} {}", WEEKDAYS[usize::from(wd - 1)], &d[5..])}</th> }
                        }).collect_view()}
                    </tr></thead>
                    <tbody>
                        {move || {
                            let all = sessions.get();
                            let w = week.get();
                            routes().into_iter().map(|r| {
                                let cells = (0..7).map(|i| {
                                    let (d, wd) = day(w, i);
                                    let here: Vec<SessionSummary> = all.iter().filter(|s| s.route == r.id && s.date == d).cloned().collect();
                                    let free = here.is_empty();
                                    let scheduled = r.runs_on(wd);
                                    let (rid, dd) = (r.id.clone(), d.clone());
                                    view! {
                                        <td class:scheduled=scheduled data-date=d.clone()>
                                            {here.into_iter().map(|s| {
                                                let id = s.id.clone();
                                                let label = format!("{} · {} · {} order(s){}", s.start, s.driver_name, s.orders,
                                                    if s.conflicts > 0 { format!(" · {} conflict(s)", s.conflicts) } else { String::new() });
                                                view! {
                                                    <button class="session-chip" data-session=s.id.clone() on:click=move |_| open(id.clone())>
                                                        <span class=session_class(s.status)>{s.status.label()}</span><br/>
                                                        <span class="small">{label}</span>
                                                        {s.pending.then(|| view! { <span class="small muted">" · not synced"</span> })}
                                                    </button>
                                                }
                                            }).collect_view()}
                                            {move || (editable.get() && free).then(|| {
                                                let (rid, dd) = (rid.clone(), dd.clone());
                                                view! { <button class="ghost small plan-day" title="Plan this day" on:click=move |_| plan(rid.clone(), dd.clone())>{if scheduled { "+ plan" } else { "+" }}</button> }
                                            })}
                                        </td>
                                    }
                                }).collect_view();
                                view! { <tr data-route=r.id.clone()><th>{r.name.clone()}</th>{cells}</tr> }
                            }).collect_view()
                        }}
                    </tbody>
                </table>
                {move || match pane.get() {
                    Pane::Nothing => view! { <p class="muted">"Choose a route to edit it, or a day to plan or open its session."</p> }.into_any(),
                    Pane::Route(r) => view! { <RouteEditor route=r config=config editable=editable.get_untracked() pane=pane saved=saved/> }.into_any(),
                    Pane::Session(s) => view! { <SessionSheet s=s pane=pane/> }.into_any(),
                }}
            </div>
        </section>
    }
}

#[component]
fn RouteEditor(
    route: Option<Route>,
    config: RwSignal<Option<TenantConfig>>,
    editable: bool,
    pane: RwSignal<Pane>,
    saved: RwSignal<Option<String>>,
) -> impl IntoView {
    let c = ctx();
    let existing = route.is_some();
    let r = route.unwrap_or(Route {
        id: String::new(),
        name: String::new(),
        points: Vec::new(),
        drivers: Vec::new(),
        vehicle: None,
        weekdays: vec![1, 2, 3, 4, 5],
        start: "08:00".into(),
        auto_attach: false,
        attach_radius_m: 150,
    });
    let id = StoredValue::new(r.id.clone());
    let name = RwSignal::new(r.name.clone());
    let start = RwSignal::new(r.start.clone());
    let weekdays = RwSignal::new(r.weekdays.clone());
    let drivers = RwSignal::new(r.drivers.join(", "));
    let vehicle = RwSignal::new(r.vehicle.clone().unwrap_or_default());
    let auto = RwSignal::new(r.auto_attach);
    let radius = RwSignal::new(r.attach_radius_m.to_string());
    let points = RwSignal::new(r.points.clone());
    let error = RwSignal::new(None::<String>);
    let confirm_remove = RwSignal::new(false);
    // A point to add: a warehouse, or an address placed on the map.
    let warehouse = RwSignal::new(String::new());
    let point_name = RwSignal::new(String::new());
    let address = RwSignal::new(String::new());
    let position = RwSignal::new(None::<Point>);
    let warehouses =
        move || config.with(|c| c.as_ref().map(|c| c.warehouses.clone()).unwrap_or_default());
    let vehicles =
        move || config.with(|c| c.as_ref().map(|c| c.vehicles.clone()).unwrap_or_default());
    let add_warehouse = move |_| {
        let w = warehouse.get_untracked();
        if let Some(w) = warehouses().into_iter().find(|x| x.id == w) {
            points.update(|p| {
                p.push(RoutePoint {
                    name: w.name.clone(),
                    warehouse: Some(w.id.clone()),
                    address: w.address.clone(),
                    position: w.position,
                })
            });
        } else {
            error.set(Some("Points: choose a warehouse first".into()));
        }
    };
    let add_address = move |_| {
        let Some(p) = position.get_untracked() else {
            error.set(Some(
                "Points: choose the address from the suggestions, or place it on the map".into(),
            ));
            return;
        };
        let text = address.get_untracked();
        let label = Some(point_name.get_untracked())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| text.clone());
        points.update(|ps| {
            ps.push(RoutePoint {
                name: label,
                warehouse: None,
                address: text,
                position: p,
            })
        });
        point_name.set(String::new());
        address.set(String::new());
        position.set(None);
        error.set(None);
    };
    let save = move |_| {
        let n = name.get_untracked();
        let rid = if existing {
            id.get_value()
        } else {
            util::slug(&n)
        };
        let Ok(radius_m) = radius.get_untracked().trim().parse::<u32>() else {
            error.set(Some("Attach radius: a whole number of metres".into()));
            return;
        };
        let route = Route {
            id: rid,
            name: n,
            points: points.get_untracked(),
            drivers: drivers
                .get_untracked()
                .split([',', ' '])
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_owned)
                .collect(),
            vehicle: Some(vehicle.get_untracked()).filter(|v| !v.is_empty()),
            weekdays: {
                let mut w = weekdays.get_untracked();
                w.sort();
                w
            },
            start: start.get_untracked(),
            auto_attach: auto.get_untracked(),
            attach_radius_m: radius_m,
        };
        let shown = route.clone();
        run(
            Request::ChangeConfig(ConfigChange::PutRoute(route)),
            move |r| match r {
                Ok(Response::TenantConfig(_)) => {
                    error.set(None);
                    saved.set(Some(format!("Saved {}", shown.name)));
                    c.bump();
                    pane.set(Pane::Route(Some(shown)));
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        );
    };
    let remove = move |_| {
        if !confirm_remove.get_untracked() {
            confirm_remove.set(true);
            return;
        }
        run(
            Request::ChangeConfig(ConfigChange::RemoveRoute { id: id.get_value() }),
            move |r| match r {
                Ok(_) => {
                    c.bump();
                    pane.set(Pane::Nothing);
                }
                Err(e) => error.set(Some(e)),
            },
        );
    };
    let toggle_day = move |d: u8| {
        weekdays.update(|w| {
            if let Some(i) = w.iter().position(|x| *x == d) {
                w.remove(i);
            } else {
                w.push(d);
            }
        })
    };
    let move_point = move |i: usize, up: bool| {
        points.update(|p| {
            if up && i > 0 {
                p.swap(i, i - 1);
            } else if !up && i + 1 < p.len() {
                p.swap(i, i + 1);
            }
        })
    };
    view! {
        <form class="build-trip route-editor" id="route-editor" on:submit=|ev| ev.prevent_default()>
            <h2>{if existing { "Route" } else { "New route" }}</h2>
            <fieldset disabled=!editable>
                <label>"Name "<input id="route-name" placeholder="e.g. Bakery run" prop:value=name on:input=move |e| name.set(event_target_value(&e))/></label>
                <label>"Sets out at "<input id="route-start" type="time" prop:value=start on:input=move |e| start.set(event_target_value(&e))/></label>
                <div class="row" id="route-weekdays">"Runs on "
                    {(1u8..=7).map(|d| view! {
                        <label class="small"><input type="checkbox" data-day=d prop:checked=move || weekdays.with(|w| w.contains(&d)) on:change=move |_| toggle_day(d)/>{WEEKDAYS[usize::from(d - 1)]}</label>
                    }).collect_view()}
                </div>
                <label>"Drivers "<input id="route-drivers" list="courier-list" placeholder="courier ids, the first drives scheduled days" prop:value=drivers on:input=move |e| drivers.set(event_target_value(&e))/></label>
                <label>"Vehicle "
                    <select id="route-vehicle" on:change=move |e| vehicle.set(event_target_value(&e))>
                        <option value="" selected=move || vehicle.get().is_empty()>"—"</option>
                        {move || vehicles().into_iter().map(|v| { let vid = v.id.clone(); view! { <option value=v.id.clone() selected=move || vehicle.get() == vid>{v.name.clone()}</option> } }).collect_view()}
                    </select>
                </label>
                <label><input id="route-auto" type="checkbox" prop:checked=auto on:change=move |_| auto.update(|a| *a = !*a)/>" New orders on its points join the day's session by themselves, within "
                    <input id="route-radius" size="5" prop:value=radius on:input=move |e| radius.set(event_target_value(&e))/>" m"</label>
                <h3>{move || format!("Points, in the order the route visits them ({})", points.with(|p| p.len()))}</h3>
                {move || points.with(|p| p.is_empty()).then(|| view! { <p class="muted empty">"No points yet: add the warehouse it leaves from and the stops it makes."</p> })}
                <ol id="route-points">
                    {move || points.get().into_iter().enumerate().map(|(i, p)| view! {
                        <li data-point=p.name.clone()>
                            <b>{p.name.clone()}</b>
                            {format!(" · {}{}", if p.address.is_empty() { format!("{:.5}, {:.5}", p.position.lat, p.position.lon) } else { p.address.clone() },
                                p.warehouse.as_ref().map(|_| " (warehouse)").unwrap_or_default())}
                            " "<button type="button" class="ghost small" aria-label="Earlier" on:click=move |_| move_point(i, true)>"↑"</button>
                            <button type="button" class="ghost small" aria-label="Later" on:click=move |_| move_point(i, false)>"↓"</button>
                            <button type="button" class="ghost small" on:click=move |_| points.update(|p| { p.remove(i); })>"Remove"</button>
                        </li>
                    }).collect_view()}
                </ol>
                <div class="row">
                    <select id="route-warehouse" on:change=move |e| warehouse.set(event_target_value(&e))>
                        <option value="">"a warehouse…"</option>
                        {move || warehouses().into_iter().map(|w| view! { <option value=w.id.clone()>{w.name.clone()}</option> }).collect_view()}
                    </select>
                    <button type="button" id="route-add-warehouse" on:click=add_warehouse>"Add warehouse"</button>
                </div>
                <label>"Point name "<input id="route-point-name" placeholder="e.g. Store 3" prop:value=point_name on:input=move |e| point_name.set(event_target_value(&e))/></label>
                <crate::address::AddressField id="route-point" label="Address" text=address point=position/>
                <button type="button" id="route-add-address" on:click=add_address>"Add address"</button>
            </fieldset>
            <Show when=move || error.get().is_some()><p class="error" role="alert" id="route-error">{move || error.get()}</p></Show>
            <Show when=move || saved.get().is_some()><p class="ok" id="route-saved">{move || saved.get()}</p></Show>
            {editable.then(|| view! {
                <div class="row">
                    <button id="route-save" type="button" on:click=save>"Save route"</button>
                    {existing.then(|| view! {
                        <button class="danger" type="button" id="route-remove" on:click=remove>{move || if confirm_remove.get() { "Really remove? Its sessions stay" } else { "Remove route" }}</button>
                    })}
                </div>
            })}
        </form>
    }
}

#[component]
fn SessionSheet(s: SessionView, pane: RwSignal<Pane>) -> impl IntoView {
    let c = ctx();
    let error = RwSignal::new(None::<String>);
    let reason = RwSignal::new(String::new());
    let id = StoredValue::new(s.id.clone());
    let act = move |action: SessionAction| {
        run(
            Request::SessionAct {
                session_id: id.get_value(),
                action,
            },
            move |r| apply(r, pane, error, c),
        )
    };
    let planned = s.status == SessionStatus::Planned;
    let live = matches!(s.status, SessionStatus::Planned | SessionStatus::InProgress);
    let trip_label = s.trip.as_ref().map(|t| {
        let hex: String = t.chars().filter(char::is_ascii_hexdigit).take(6).collect();
        format!(
            "Trip TRIP-{} · {}",
            hex.to_uppercase(),
            s.trip_status
                .map_or("not on this device yet", |t| t.label())
        )
    });
    view! {
        <div class="trip-sheet" id="session-sheet" data-session=s.id.clone()>
            <h2>{format!("{} · {}", s.name, s.date)}" "<span id="session-status" class=session_class(s.status)>{s.status.label()}</span></h2>
            <p>{format!("{} · sets out {}", s.driver_name, s.start)}
                {s.vehicle.clone().map(|v| format!(" · {v}"))}
                {s.pending.then_some(" · not synced yet")}</p>
            {s.cancelled_reason.clone().map(|r| view! { <p class="short">{format!("Cancelled: {r}")}</p> })}
            {trip_label.map(|t| view! { <p id="session-trip">{t}" "<span class="muted small">"(open it in Trips to publish, reorder or print its run sheet)"</span></p> })}
            {(!s.extra_trips.is_empty()).then(|| view! {
                <p class="short" id="session-extra-trips">{format!("{} more trip(s) were built for this session on another desk while apart: close them in Trips.", s.extra_trips.len())}</p>
            })}
            <div class="row">
                {live.then(|| view! { <button id="session-attach-matching" on:click=move |_| act(SessionAction::AttachMatching)>"Attach orders on the route"</button> })}
                {(planned && s.trip.is_none()).then(|| view! {
                    <button id="session-build" on:click=move |_| act(SessionAction::BuildTrip { optimise: false })>"Build trip (route order)"</button>
                    <button class="ghost" id="session-build-optimised" on:click=move |_| act(SessionAction::BuildTrip { optimise: true })>"Build trip (optimised)"</button>
                })}
                {planned.then(|| view! {
                    <input id="session-cancel-reason" placeholder="reason to cancel" prop:value=reason on:input=move |e| reason.set(event_target_value(&e))/>
                    <button class="ghost" id="session-cancel" on:click=move |_| act(SessionAction::Cancel { reason: reason.get_untracked() })>"Cancel session"</button>
                })}
            </div>
            <Show when=move || error.get().is_some()><p class="error" role="alert" id="session-error">{move || error.get()}</p></Show>
            {(!s.skipped.is_empty()).then(|| view! {
                <p class="short" id="session-skipped">"Left out: "{s.skipped.iter().map(|(r, why)| format!("{r} ({why})")).collect::<Vec<_>>().join(", ")}</p>
            })}
            <h3>{format!("Orders ({})", s.orders.len())}</h3>
            {s.orders.is_empty().then(|| view! { <p class="muted empty" id="session-no-orders">"No orders yet: attach the ones on the route, or select orders in the table and add them to this session."</p> })}
            <ul id="session-orders" class="plain">
                {s.orders.iter().map(|o| {
                    let oid = o.order_id.clone();
                    view! {
                        <li data-order=o.order_id.clone()>
                            {format!("{} · {} · {}{}", o.reference, o.recipient, o.status.map_or("not on this device", |s| s.label()),
                                o.point.as_ref().map(|p| format!(" · at {p}")).unwrap_or_default())}
                            {(!o.also_on.is_empty()).then(|| view! { <span class="short">{format!(" · also on {}", o.also_on.join(", "))}</span> })}
                            {live.then(|| view! { <button class="ghost small" on:click=move |_| act(SessionAction::DetachOrder { order_id: oid.clone() })>"Detach"</button> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <h3>"History"</h3>
            <ul class="plain small muted">
                {s.history.iter().map(|h| view! { <li>{format!("{} · {} · {}", util::stamp(h.at_ms), h.by, h.what)}</li> }).collect_view()}
            </ul>
        </div>
    }
}

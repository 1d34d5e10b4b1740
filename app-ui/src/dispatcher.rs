//! The dispatcher console: the order table (virtualised, sortable, filterable,
//! keyboard-driven, with bulk actions and saved views), the order panel, the
//! new-order form and CSV import with progress and a row report.

use std::collections::{BTreeMap, BTreeSet};

use app_api::{
    Action, DeliveryStatus, DocumentRequest, NewOrder, OrderQuery, OrderSummary, OrderType,
    PodNeeds, Priority, Request, Response, SortKey,
};
use leptos::ev::KeyboardEvent;
use leptos::html::{Div, Input};
use leptos::prelude::*;

use crate::detail::OrderPanel;
use crate::util::{self, run};
use crate::{SyncBadge, ctx};

/// Height of one table row in pixels (the virtual list relies on it).
pub const ROW_H: f64 = 34.0;
/// Orders fetched per page.
const PAGE: u64 = 200;
/// Rows rendered beyond the visible ones, above and below.
const OVERSCAN: usize = 12;

/// Makes the action a bulk operation applies to one order (`None`: skip it).
type MakeAction = std::rc::Rc<dyn Fn(&OrderSummary) -> Option<Action>>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Orders,
    Map,
    Drivers,
    New,
    Import,
}

#[component]
pub fn Console() -> impl IntoView {
    let tab = RwSignal::new(Tab::Orders);
    let open = RwSignal::new(None::<String>);
    // The courier picked on the driver monitor or the map: their run is drawn.
    let courier = RwSignal::new(None::<String>);
    // Courier ids for the assign fields' suggestions (once: typing stays free).
    let known = RwSignal::new(Vec::<(String, String)>::new());
    run(Request::Fleet, move |r| {
        if let Ok(Response::Fleet(b)) = r {
            let _ = known.try_set(b.couriers.into_iter().map(|c| (c.user, c.name)).collect());
        }
    });
    let tab_button = move |t: Tab, id: &'static str, label: &'static str| {
        view! {
            <button id=id class="tab" class:active=move || tab.get() == t on:click=move |_| tab.set(t)>{label}</button>
        }
    };
    view! {
        <nav class="tabs">
            {tab_button(Tab::Orders, "tab-orders", "Orders")}
            {tab_button(Tab::Map, "tab-map", "Map")}
            {tab_button(Tab::Drivers, "tab-drivers", "Drivers")}
            {tab_button(Tab::New, "tab-new", "New order")}
            {tab_button(Tab::Import, "tab-import", "Import CSV")}
        </nav>
        <datalist id="courier-list">
            {move || known.get().into_iter().map(|(user, name)| view! { <option value=user>{name}</option> }).collect_view()}
        </datalist>
        <div class="console" class:with-panel=move || open.get().is_some()>
            <main class="work">
                {move || match tab.get() {
                    Tab::Orders => view! { <OrderTable open=open/> }.into_any(),
                    Tab::Map => view! { <crate::dispatcher::MapView open=open courier=courier/> }.into_any(),
                    Tab::Drivers => view! { <crate::fleet::Drivers selected=courier on_map=Callback::new(move |_| util::later(move || tab.set(Tab::Map)))/> }.into_any(),
                    Tab::New => view! { <NewOrderForm on_created=Callback::new(move |id: String| util::later(move || { open.set(Some(id)); tab.set(Tab::Orders); }))/> }.into_any(),
                    Tab::Import => view! { <Import/> }.into_any(),
                }}
            </main>
            {move || open.get().map(|id| view! { <OrderPanel order_id=id on_close=Callback::new(move |_| util::later(move || open.set(None)))/> })}
        </div>
    }
}

/// A table column: header, sort key, cell.
struct Col {
    key: &'static str,
    label: &'static str,
    sort: Option<SortKey>,
    width: &'static str,
}

const COLS: &[Col] = &[
    Col {
        key: "ref",
        label: "Reference",
        sort: Some(SortKey::Reference),
        width: "7.5rem",
    },
    Col {
        key: "customer",
        label: "Customer",
        sort: None,
        width: "minmax(7rem, 1fr)",
    },
    Col {
        key: "pickup",
        label: "Pickup",
        sort: None,
        width: "minmax(6rem, 1.2fr)",
    },
    Col {
        key: "dropoff",
        label: "Drop-off",
        sort: None,
        width: "minmax(6rem, 1.2fr)",
    },
    Col {
        key: "status",
        label: "Status",
        sort: Some(SortKey::Status),
        width: "6.5rem",
    },
    Col {
        key: "courier",
        label: "Courier",
        sort: None,
        width: "5rem",
    },
    Col {
        key: "zone",
        label: "Zone",
        sort: None,
        width: "5rem",
    },
    Col {
        key: "priority",
        label: "Priority",
        sort: Some(SortKey::Priority),
        width: "5rem",
    },
    Col {
        key: "window",
        label: "Due",
        sort: Some(SortKey::WindowEnd),
        width: "3.5rem",
    },
    Col {
        key: "price",
        label: "Price",
        sort: None,
        width: "5rem",
    },
    Col {
        key: "created",
        label: "Created",
        sort: Some(SortKey::Created),
        width: "8.5rem",
    },
    Col {
        key: "sync",
        label: "Sync",
        sort: None,
        width: "6.5rem",
    },
];

const DEFAULT_COLS: &[&str] = &[
    "ref", "customer", "pickup", "dropoff", "status", "courier", "window", "sync",
];

fn cell(key: &str, o: &OrderSummary) -> AnyView {
    match key {
        "ref" => view! { <span class="ref">{o.reference.clone()}</span> }.into_any(),
        "customer" => o.customer_name.clone().into_any(),
        "pickup" => o.pickup_address.clone().into_any(),
        "dropoff" => o.dropoff_address.clone().into_any(),
        "status" => view! { <span class=format!("status {}", util::status_class(o.status))>{o.status.label()}</span> }.into_any(),
        "courier" => o.assignee.clone().unwrap_or_else(|| "—".into()).into_any(),
        "zone" => o.zone.clone().unwrap_or_default().into_any(),
        "priority" => format!("{:?}", o.priority).into_any(),
        "window" => o.window_end_ms.map(util::hhmm).unwrap_or_default().into_any(),
        "price" => util::euros(o.price_cents).into_any(),
        "created" => util::stamp(o.created_at_ms).into_any(),
        "sync" => view! { <SyncBadge order_id=o.id.clone()/> }.into_any(),
        _ => ().into_any(),
    }
}

fn status_from(s: &str) -> Option<DeliveryStatus> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

#[component]
fn OrderTable(open: RwSignal<Option<String>>) -> impl IntoView {
    let c = ctx();
    let query = RwSignal::new(
        util::load_pref("query")
            .and_then(|q| serde_json::from_str::<OrderQuery>(&q).ok())
            .unwrap_or(OrderQuery {
                descending: true,
                ..Default::default()
            }),
    );
    let columns = RwSignal::new(
        util::load_pref("columns")
            .and_then(|c| serde_json::from_str::<Vec<String>>(&c).ok())
            .unwrap_or_else(|| DEFAULT_COLS.iter().map(|s| s.to_string()).collect()),
    );
    let views = RwSignal::new(
        util::load_pref("views")
            .and_then(|v| {
                serde_json::from_str::<BTreeMap<String, (OrderQuery, Vec<String>)>>(&v).ok()
            })
            .unwrap_or_default(),
    );
    let total = RwSignal::new(0u64);
    // The count stopped at the cap: the true total is larger and found by paging.
    let capped = RwSignal::new(false);
    let pages = RwSignal::new(BTreeMap::<u64, Vec<OrderSummary>>::new());
    let loading = RwSignal::new(BTreeSet::<u64>::new());
    let generation = RwSignal::new(0u64);
    let scroll_top = RwSignal::new(0.0f64);
    let viewport_h = RwSignal::new(600.0f64);
    let cursor = RwSignal::new(0usize);
    let selected = RwSignal::new(BTreeSet::<String>::new());
    let error = RwSignal::new(None::<String>);
    let info = RwSignal::new(None::<String>);
    let undo = RwSignal::new(None::<Vec<(String, Option<String>)>>);
    let show_cols = RwSignal::new(false);
    let body = NodeRef::<Div>::new();
    let search_box = NodeRef::<Input>::new();

    let fetch = move |page: u64| {
        if loading.with_untracked(|l| l.contains(&page))
            || pages.with_untracked(|p| p.contains_key(&page))
        {
            return;
        }
        loading.update(|l| {
            l.insert(page);
        });
        let generation_at = generation.get_untracked();
        let q = OrderQuery {
            offset: page * PAGE,
            limit: PAGE,
            ..query.get_untracked()
        };
        run(Request::ListOrders(q), move |r| {
            // A newer query, or the table is gone (tab switched) meanwhile.
            if generation.try_get_untracked() != Some(generation_at) {
                return;
            }
            loading.update(|l| {
                l.remove(&page);
            });
            match r {
                Ok(Response::Orders { orders, total: t }) => {
                    let got = orders.len() as u64;
                    if page == 0 {
                        total.set(t);
                        capped.set(t == 10_000);
                    }
                    // The count stops at 10,000: past it, the list grows as full
                    // pages keep coming, and a short page gives the exact end.
                    if got < PAGE {
                        total.set(page * PAGE + got);
                    } else if capped.get_untracked() && (page + 1) * PAGE >= total.get_untracked() {
                        total.set((page + 2) * PAGE);
                    }
                    pages.update(|p| {
                        p.insert(page, orders);
                    });
                    util::mark("ruta:table-page");
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let reload = move || {
        generation.update(|g| *g += 1);
        pages.set(BTreeMap::new());
        loading.set(BTreeSet::new());
        fetch(0);
    };
    Effect::new(move |_| {
        query.track();
        c.changed.track();
        reload();
    });
    Effect::new(move |_| {
        util::save_pref(
            "query",
            &serde_json::to_string(&query.get()).unwrap_or_default(),
        );
    });
    Effect::new(move |_| {
        util::save_pref(
            "columns",
            &serde_json::to_string(&columns.get()).unwrap_or_default(),
        );
    });

    let row_at = move |i: usize| -> Option<OrderSummary> {
        let page = i as u64 / PAGE;
        let got = pages.with(|p| {
            p.get(&page)
                .and_then(|rows| rows.get(i % PAGE as usize).cloned())
        });
        if got.is_none() && (i as u64) < total.get_untracked() {
            fetch(page);
        }
        got
    };
    let visible = move || {
        let first = (scroll_top.get() / ROW_H) as usize;
        let count = (viewport_h.get() / ROW_H).ceil() as usize;
        let start = first.saturating_sub(OVERSCAN);
        let end = ((first + count + OVERSCAN) as u64).min(total.get()) as usize;
        (start..end).collect::<Vec<_>>()
    };
    let grid = move || {
        columns.with(|cols| {
            let mut w = vec!["2rem".to_owned()];
            w.extend(
                COLS.iter()
                    .filter(|c| cols.iter().any(|k| k == c.key))
                    .map(|c| c.width.to_owned()),
            );
            w.join(" ")
        })
    };
    let scroll_to = move |i: usize| {
        if let Some(el) = body.get() {
            let top = i as f64 * ROW_H;
            let h = el.client_height() as f64;
            let st = el.scroll_top() as f64;
            if top < st {
                el.set_scroll_top(top as i32);
            } else if top + ROW_H > st + h {
                el.set_scroll_top((top + ROW_H - h) as i32);
            }
        }
    };
    let toggle = move |id: String| {
        selected.update(|s| {
            if !s.remove(&id) {
                s.insert(id);
            }
        })
    };
    let keydown = move |ev: KeyboardEvent| {
        let n = total.get_untracked() as usize;
        if n == 0 {
            return;
        }
        let page_rows = (viewport_h.get_untracked() / ROW_H) as usize;
        let cur = cursor.get_untracked().min(n - 1);
        let next = match ev.key().as_str() {
            "ArrowDown" | "j" => Some((cur + 1).min(n - 1)),
            "ArrowUp" | "k" => Some(cur.saturating_sub(1)),
            "PageDown" => Some((cur + page_rows).min(n - 1)),
            "PageUp" => Some(cur.saturating_sub(page_rows)),
            "Home" => Some(0),
            "End" => Some(n - 1),
            " " | "x" => {
                if let Some(o) = row_at(cur) {
                    toggle(o.id);
                }
                None
            }
            "Enter" => {
                if let Some(o) = row_at(cur) {
                    open.set(Some(o.id));
                }
                None
            }
            "Escape" => {
                if open.get_untracked().is_some() {
                    open.set(None);
                } else {
                    selected.set(BTreeSet::new());
                }
                None
            }
            _ => return,
        };
        ev.prevent_default();
        if let Some(i) = next {
            cursor.set(i);
            scroll_to(i);
        }
    };
    let slash = window_event_listener(leptos::ev::keydown, move |ev| {
        let typing = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(t).ok())
            .is_some();
        if ev.key() == "/" && !typing {
            ev.prevent_default();
            if let Some(el) = search_box.get() {
                let _ = el.focus();
            }
        }
    });

    on_cleanup(move || slash.remove());
    let set_q = move |f: &dyn Fn(&mut OrderQuery)| {
        query.update(|q| f(q));
        cursor.set(0);
        if let Some(el) = body.get() {
            el.set_scroll_top(0);
        }
    };
    let sort_by = move |key: SortKey| {
        query.update(|q| {
            if q.sort == key {
                q.descending = !q.descending;
            } else {
                q.sort = key;
                q.descending =
                    matches!(key, SortKey::Created | SortKey::Updated | SortKey::Priority);
            }
        })
    };

    // Bulk actions over the selection, one core call per order, with a count of
    // what was refused and why.
    let bulk = move |make: MakeAction, what: &'static str| {
        let ids: Vec<String> = selected.get_untracked().into_iter().collect();
        let known: BTreeMap<String, OrderSummary> = pages.with_untracked(|p| {
            p.values()
                .flatten()
                .filter(|o| ids.contains(&o.id))
                .map(|o| (o.id.clone(), o.clone()))
                .collect()
        });
        let done = RwSignal::new((0usize, Vec::<String>::new()));
        let n = ids.len();
        for id in ids {
            let Some(o) = known.get(&id) else { continue };
            let Some(action) = make(o) else {
                done.update(|d| {
                    d.0 += 1;
                    d.1.push(format!("{}: nothing to do", o.reference));
                });
                continue;
            };
            let reference = o.reference.clone();
            run(
                Request::Act {
                    order_id: id,
                    action,
                },
                move |r| {
                    done.update(|d| {
                        d.0 += 1;
                        if let Err(e) = r {
                            d.1.push(format!("{reference}: {e}"));
                        }
                    });
                    let (count, failed) = done.get_untracked();
                    if count == n {
                        info.set(Some(format!(
                            "{what}: {} of {n} done{}",
                            n - failed.len(),
                            if failed.is_empty() {
                                String::new()
                            } else {
                                format!(" — refused: {}", failed.join("; "))
                            }
                        )));
                        c.bump();
                    }
                },
            );
        }
    };
    let bulk_courier = RwSignal::new(String::new());
    let bulk_reason = RwSignal::new(String::new());
    let assign_selected = move |_| {
        let who = bulk_courier.get_untracked().trim().to_owned();
        if who.is_empty() {
            error.set(Some("Type the courier's id to assign to.".into()));
            return;
        }
        let before: Vec<(String, Option<String>)> = pages.with_untracked(|p| {
            let sel = selected.get_untracked();
            p.values()
                .flatten()
                .filter(|o| sel.contains(&o.id))
                .map(|o| (o.id.clone(), o.assignee.clone()))
                .collect()
        });
        undo.set(Some(before));
        bulk(
            std::rc::Rc::new(move |_| {
                Some(Action::Assign {
                    courier: who.clone(),
                })
            }),
            "Assign",
        );
    };
    let undo_assign = move |_| {
        let Some(before) = undo.get_untracked() else {
            return;
        };
        undo.set(None);
        for (id, was) in before {
            let action = match was {
                Some(courier) => Action::Assign { courier },
                None => Action::Unassign,
            };
            run(
                Request::Act {
                    order_id: id,
                    action,
                },
                move |_| c.bump(),
            );
        }
        info.set(Some("Assignment undone.".into()));
    };
    let cancel_selected = move |_| {
        let reason = bulk_reason.get_untracked().trim().to_owned();
        if reason.is_empty() {
            error.set(Some("Give a reason to cancel.".into()));
            return;
        }
        let n = selected.with_untracked(|s| s.len());
        let ok = window()
            .confirm_with_message(&format!("Cancel {n} orders? Couriers see it at once."))
            .unwrap_or(false);
        if ok {
            bulk(
                std::rc::Rc::new(move |_| {
                    Some(Action::Cancel {
                        reason: reason.clone(),
                    })
                }),
                "Cancel",
            );
        }
    };
    let labels_selected = move |_| {
        let ids: Vec<String> = selected.get_untracked().into_iter().collect();
        run(
            Request::Document(DocumentRequest::Labels {
                order_ids: ids,
                per_parcel: false,
            }),
            move |r| match r {
                Ok(Response::Document(f)) => {
                    let _ = util::download(&f.filename, &f.mime, &f.data_base64);
                    info.set(Some(format!("{} ready", f.filename)));
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        );
    };
    let receipts_selected = move |_| {
        for id in selected.get_untracked() {
            run(
                Request::Document(DocumentRequest::Receipt { order_id: id }),
                move |r| match r {
                    Ok(Response::Document(f)) => {
                        let _ = util::download(&f.filename, &f.mime, &f.data_base64);
                    }
                    Ok(_) => {}
                    Err(e) => error.set(Some(e)),
                },
            );
        }
    };
    let view_name = RwSignal::new(String::new());
    let save_view = move |_| {
        let name = view_name.get_untracked().trim().to_owned();
        if name.is_empty() {
            return;
        }
        views.update(|v| {
            v.insert(name, (query.get_untracked(), columns.get_untracked()));
        });
        util::save_pref(
            "views",
            &serde_json::to_string(&views.get_untracked()).unwrap_or_default(),
        );
        view_name.set(String::new());
    };

    view! {
        <section class="filters" id="filters">
            <input id="search" node_ref=search_box type="search" placeholder="Search reference, customer, address  ( / )"
                prop:value=move || query.with(|q| q.search.clone().unwrap_or_default())
                on:change=move |ev| { let v = event_target_value(&ev); set_q(&|q| q.search = Some(v.clone()).filter(|s| !s.is_empty())) }/>
            <select id="filter-status" on:change=move |ev| { let v = event_target_value(&ev); set_q(&|q| q.statuses = status_from(&v).into_iter().collect()) }>
                <option value="">"Any status"</option>
                {DeliveryStatus::ALL.iter().map(|s| {
                    let v = util::name_of(s);
                    let sel = { let s = *s; move || query.with(|q| q.statuses == vec![s]) };
                    view! { <option value=v selected=sel>{s.label()}</option> }
                }).collect_view()}
            </select>
            <select id="filter-type" on:change=move |ev| { let v = event_target_value(&ev); set_q(&|q| q.order_types = serde_json::from_value::<OrderType>(serde_json::Value::String(v.clone())).ok().into_iter().collect()) }>
                <option value="">"Any type"</option>
                {OrderType::ALL.iter().map(|t| view! { <option value=util::name_of(t)>{format!("{t:?}")}</option> }).collect_view()}
            </select>
            <input id="filter-zone" placeholder="Zone" size="6" on:change=move |ev| { let v = event_target_value(&ev); set_q(&|q| q.zone = Some(v.clone()).filter(|s| !s.is_empty())) }/>
            <input id="filter-courier" list="courier-list" placeholder="Courier (- = none)" size="10" on:change=move |ev| { let v = event_target_value(&ev); set_q(&|q| q.assignee = Some(v.clone()).filter(|s| !s.is_empty())) }/>
            <select id="filter-priority" on:change=move |ev| { let v = event_target_value(&ev); set_q(&|q| q.min_priority = serde_json::from_value::<Priority>(serde_json::Value::String(v.clone())).ok()) }>
                <option value="">"Any priority"</option>
                <option value="normal">"Normal+"</option>
                <option value="high">"High+"</option>
                <option value="urgent">"Urgent"</option>
            </select>
            <label class="check"><input type="checkbox" id="filter-conflicts" on:change=move |ev| { let v = event_target_checked(&ev); set_q(&|q| q.with_open_conflicts = v) }/>"Conflicts"</label>
            <label class="check" title="Drop-off window ends within the next hours">"Due within"
                <select id="filter-due" on:change=move |ev| { let h: i64 = event_target_value(&ev).parse().unwrap_or(0); set_q(&|q| q.window_ends_before_ms = (h > 0).then(|| util::now_ms() + h * 3_600_000)) }>
                    <option value="0">"any"</option><option value="1">"1 h"</option><option value="3">"3 h"</option><option value="24">"24 h"</option>
                </select>
            </label>
            <span class="spacer"></span>
            <select id="saved-views" on:change=move |ev| {
                let name = event_target_value(&ev);
                if let Some((q, cols)) = views.with_untracked(|v| v.get(&name).cloned()) { query.set(q); columns.set(cols); }
            }>
                <option value="">"Saved views"</option>
                {move || views.with(|v| v.keys().map(|k| view! { <option value=k.clone()>{k.clone()}</option> }).collect_view())}
            </select>
            <input id="view-name" placeholder="Save view as…" size="12" prop:value=view_name on:input=move |ev| view_name.set(event_target_value(&ev))/>
            <button class="ghost" id="save-view" on:click=save_view>"Save"</button>
            <button class="ghost" id="columns-button" on:click=move |_| show_cols.update(|s| *s = !*s)>"Columns"</button>
        </section>
        <Show when=move || show_cols.get()>
            <div class="colchooser" id="column-chooser">
                {COLS.iter().map(|col| {
                    let k = col.key;
                    view! {
                        <label class="check"><input type="checkbox" data-col=k
                            prop:checked=move || columns.with(|c| c.iter().any(|x| x == k))
                            on:change=move |ev| { let on = event_target_checked(&ev); columns.update(|c| { c.retain(|x| x != k); if on { c.push(k.into()); c.sort_by_key(|x| COLS.iter().position(|cc| cc.key == x)); } }) }/>
                            {col.label}</label>
                    }
                }).collect_view()}
            </div>
        </Show>
        <Show when=move || !selected.with(|s| s.is_empty())>
            <div class="bulkbar" id="bulk-bar">
                <b id="selected-count">{move || format!("{} selected", selected.with(|s| s.len()))}</b>
                <input id="bulk-courier" list="courier-list" placeholder="courier id" size="10" prop:value=bulk_courier on:input=move |ev| bulk_courier.set(event_target_value(&ev))/>
                <button id="bulk-assign" on:click=assign_selected>"Assign"</button>
                <input id="bulk-reason" placeholder="reason" size="12" prop:value=bulk_reason on:input=move |ev| bulk_reason.set(event_target_value(&ev))/>
                <button class="danger" id="bulk-cancel" on:click=cancel_selected>"Cancel orders"</button>
                <button class="ghost" id="bulk-labels" on:click=labels_selected>"Labels PDF"</button>
                <button class="ghost" id="bulk-receipts" on:click=receipts_selected>"Receipts"</button>
                <button class="ghost" on:click=move |_| selected.set(BTreeSet::new())>"Clear"</button>
            </div>
        </Show>
        <Show when=move || info.get().is_some() || undo.get().is_some()>
            <p class="info" id="info">{move || info.get()}
                <Show when=move || undo.get().is_some()><button class="ghost" id="undo" on:click=undo_assign>"Undo"</button></Show>
            </p>
        </Show>
        <Show when=move || error.get().is_some()>
            <p class="error" role="alert" id="error">{move || error.get()}</p>
        </Show>
        <div class="vt-head" style:grid-template-columns=grid>
            <span><input type="checkbox" title="Select the rows loaded"
                on:change=move |ev| { if event_target_checked(&ev) { selected.set(pages.with_untracked(|p| p.values().flatten().map(|o| o.id.clone()).collect())) } else { selected.set(BTreeSet::new()) } }/></span>
            {move || columns.get().into_iter().filter_map(|k| COLS.iter().find(|c| c.key == k)).map(|col| {
                let sort = col.sort;
                let arrow = move || query.with(|q| match sort { Some(s) if s == q.sort => if q.descending { " ▼" } else { " ▲" }, _ => "" });
                view! {
                    <span class:sortable=sort.is_some() data-col=col.key on:click=move |_| { if let Some(s) = sort { sort_by(s) } }>{col.label}{arrow}</span>
                }
            }).collect_view()}
        </div>
        <div class="vt" id="orders-table" tabindex="0" node_ref=body on:keydown=keydown
            on:scroll=move |_| { if let Some(el) = body.get() { scroll_top.set(el.scroll_top() as f64); viewport_h.set(el.client_height() as f64); } }>
            <Show when=move || total.get() == 0 && pages.with(|p| p.contains_key(&0))>
                <p id="orders-empty" class="empty muted">
                    {move || if query.with(|q| *q == OrderQuery { descending: q.descending, sort: q.sort, ..Default::default() }) {
                        "No orders on this device yet. Create one under “New order” or import a CSV: it is stored locally and needs no connection."
                    } else { "No orders match these filters." }}
                </p>
            </Show>
            <div class="vt-space" style:height=move || format!("{}px", total.get() as f64 * ROW_H)>
                <For each=visible key=|i| *i let:i>
                    {move || {
                        let top = format!("{}px", i as f64 * ROW_H);
                        match row_at(i) {
                            None => view! { <div class="vt-row loading" style:top=top.clone() style:grid-template-columns=grid><span></span><span class="muted">"…"</span></div> }.into_any(),
                            Some(o) => {
                                let id = o.id.clone();
                                let id2 = o.id.clone();
                                let id3 = o.id.clone();
                                let sel = move || selected.with(|s| s.contains(&id));
                                let sel2 = sel.clone();
                                let is_open = move || open.with(|x| x.as_deref() == Some(id3.as_str()));
                                view! {
                                    <div class="vt-row order" data-reference=o.reference.clone() data-id=o.id.clone()
                                        class:cursor=move || cursor.get() == i class:selected=sel2 class:open=is_open
                                        style:top=top style:grid-template-columns=grid
                                        on:click=move |_| { cursor.set(i); open.set(Some(id2.clone())); }>
                                        <span on:click=move |ev| ev.stop_propagation()>
                                            <input type="checkbox" class="rowcheck" prop:checked=sel on:change={ let id = o.id.clone(); move |_| toggle(id.clone()) }/>
                                        </span>
                                        {columns.get_untracked().iter().map(|k| view! { <span class=format!("c-{k}")>{cell(k, &o)}</span> }).collect_view()}
                                    </div>
                                }.into_any()
                            }
                        }
                    }}
                </For>
            </div>
        </div>
        <p class="muted small" id="table-foot">{move || format!("{}{} orders · ↑↓ move · Space select · Enter open · Esc close · / search", total.get(), if capped.get() { "+" } else { "" })}</p>
    }
}

#[component]
fn NewOrderForm(on_created: Callback<String>) -> impl IntoView {
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
    let priority = RwSignal::new(Priority::Normal);
    let needs = RwSignal::new(PodNeeds::default());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // The order as typed so far (read with `get`, so a caller inside an effect
    // tracks every field), or what is wrong with a number.
    let build = move || -> Result<NewOrder, String> {
        let mut new = NewOrder::simple(&customer.get(), &pickup.get(), &dropoff.get());
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
    Effect::new(move |_| {
        let mut new = match build() {
            Ok(new) => new,
            Err(e) => {
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
        run(Request::QuotePrice(new), move |r| {
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
                {text("pickup-address", "Pickup address", pickup)}
                {text("dropoff-address", "Drop-off address", dropoff)}
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
                        <p class="muted small">{if q.distance_m > 0 { format!("{:.1} km priced; VAT {}", q.distance_m as f64 / 1000.0, util::euros(q.vat_cents)) } else { format!("Distance not priced: the addresses have no map position. VAT {}", util::euros(q.vat_cents)) }}</p>
                    }.into_any(),
                }}
            </div>
            <Show when=move || error.get().is_some()>
                <p id="error" class="error" role="alert">{move || error.get()}</p>
            </Show>
        </section>
    }
}

#[component]
fn Import() -> impl IntoView {
    let c = ctx();
    let file = NodeRef::<Input>::new();
    let partial = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let progress = RwSignal::new(None::<app_api::ImportProgress>);
    let report = RwSignal::new(None::<app_api::ImportReport>);
    let error = RwSignal::new(None::<String>);
    let start = move |_| {
        let Some(input) = file.get() else { return };
        busy.set(true);
        report.set(None);
        error.set(None);
        leptos::task::spawn_local(async move {
            let text = match util::input_file_text(&input).await {
                None => {
                    error.set(Some("Choose a CSV file first.".into()));
                    busy.set(false);
                    return;
                }
                Some(Err(e)) => {
                    error.set(Some(e));
                    busy.set(false);
                    return;
                }
                Some(Ok(t)) => t,
            };
            let poll = set_interval_with_handle(
                move || {
                    run(Request::ImportProgress, move |r| {
                        if let Ok(Response::ImportProgress(p)) = r
                            && p.phase != "idle"
                        {
                            progress.set(Some(p));
                        }
                    })
                },
                std::time::Duration::from_millis(250),
            )
            .ok();
            let r = crate::api::call(&Request::ImportOrdersCsv {
                csv: text,
                partial: partial.get_untracked(),
            })
            .await;
            if let Some(h) = poll {
                h.clear();
            }
            busy.set(false);
            progress.set(None);
            match r {
                Ok(Response::ImportReport(rep)) => {
                    report.set(Some(rep));
                    c.bump();
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(util::describe(&e))),
            }
        });
    };
    view! {
        <section class="card">
            <h2>"Import orders from CSV"</h2>
            <p class="muted">"Every row is checked first; with errors nothing is imported unless you allow a partial import. Columns: customer_name, pickup_address, dropoff_address, and optional order_type, priority, coordinates, window, parcels, weight_g, cod_cents, notes, instructions, pod_* flags, client."</p>
            <div class="row">
                <input type="file" id="csv-file" accept=".csv,text/csv" node_ref=file/>
                <label class="check"><input type="checkbox" id="csv-partial" on:change=move |ev| partial.set(event_target_checked(&ev))/>"Import the good rows even if some are bad"</label>
                <button id="csv-import" on:click=start disabled=busy>"Import"</button>
            </div>
            {move || progress.get().map(|p| {
                let pct = if p.total > 0 { p.done as f64 * 100.0 / p.total as f64 } else { 0.0 };
                view! { <div class="progress" id="csv-progress"><div class="bar-fill" style:width=format!("{pct:.0}%")></div><span>{format!("{} {:.0}%", p.phase, pct)}</span></div> }
            })}
            <Show when=move || error.get().is_some()><p class="error" role="alert" id="csv-error">{move || error.get()}</p></Show>
            {move || report.get().map(|r| view! {
                <div id="csv-report">
                    <p><b>{if r.committed { format!("Imported {} of {} rows", r.imported, r.rows) } else { format!("Nothing imported: {} of {} rows have problems", r.rejected, r.rows) }}</b>
                        {r.first_reference.clone().map(|f| format!(" · {} … {}", f, r.last_reference.clone().unwrap_or_default()))}
                        {format!(" · {:.1} s", r.ms / 1000.0)}</p>
                    {(!r.problems.is_empty()).then(|| view! {
                        <table class="problems"><thead><tr><th>"Line"</th><th>"Column"</th><th>"Problem"</th></tr></thead>
                        <tbody>{r.problems.iter().map(|p| view! { <tr><td>{p.line}</td><td>{p.column.clone().unwrap_or_default()}</td><td>{p.message.clone()}</td></tr> }).collect_view()}</tbody></table>
                    })}
                </div>
            })}
        </section>
    }
}

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
    }
}

fn to_js(v: &serde_json::Value) -> wasm_bindgen::JsValue {
    js_sys::JSON::parse(&v.to_string()).unwrap_or(wasm_bindgen::JsValue::NULL)
}

/// Orders drawn on the map at most (newest first).
const MAP_ORDERS: u64 = 5_000;

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
    // Zones: drawn once, and the zone filter.
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
        let start = fleet.with_untracked(|b| {
            b.as_ref()?
                .couriers
                .iter()
                .find(|c| c.user == user)?
                .position
        });
        // Only the newest request draws (an older answer may arrive last).
        run_gen.update_value(|g| *g += 1);
        let this_run = run_gen.get_value();
        let current = move || run_gen.try_get_value() == Some(this_run);
        leptos::task::spawn_local(async move {
            let position = start.unwrap_or(util::DEFAULT_CENTER);
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
            <Show when=move || error.get().is_some()><p class="error" role="alert">{move || error.get()}</p></Show>
            <div id="map" class="map"></div>
        </section>
    }
}

//! The order table: a virtual list over pages of the device's query, sortable
//! and filterable, keyboard-driven, with its filter bar ([`FilterBar`]) and bulk
//! actions ([`BulkBar`]).

use super::*;

/// Height of one table row in pixels (the virtual list relies on it).
pub const ROW_H: f64 = 34.0;
/// Orders fetched per page.
pub(crate) const PAGE: u64 = 200;
/// Rows rendered beyond the visible ones, above and below.
pub(crate) const OVERSCAN: usize = 12;

/// Makes the action a bulk operation applies to one order (`None`: skip it).
pub(crate) type MakeAction = std::rc::Rc<dyn Fn(&OrderSummary) -> Option<Action>>;

/// A table column: header, sort key, cell.
pub(crate) struct Col {
    key: &'static str,
    label: &'static str,
    sort: Option<SortKey>,
    width: &'static str,
}

pub(crate) const COLS: &[Col] = &[
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
        key: "left",
        label: "Time left",
        sort: Some(SortKey::WindowEnd),
        width: "6.5rem",
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

pub(crate) const DEFAULT_COLS: &[&str] = &[
    "ref", "customer", "pickup", "dropoff", "status", "courier", "window", "left", "sync",
];

/// How long until a window ends ("1 h 20 min", "late 15 min") and its class:
/// `late` past the end, `soon` within 30 minutes.
pub(crate) fn time_left(ms: i64) -> (String, &'static str) {
    let minutes = ms.unsigned_abs().div_ceil(60_000);
    let span = match minutes {
        0..=59 => format!("{minutes} min"),
        m => format!("{} h {} min", m / 60, m % 60),
    };
    match ms {
        ..0 => (format!("late {span}"), "late"),
        0..=1_800_000 => (span, "soon"),
        _ => (span, ""),
    }
}

pub(crate) fn cell(key: &str, o: &OrderSummary) -> AnyView {
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
        "left" => match (o.due, o.window_end_ms) {
            (true, Some(end)) => {
                // Counts down as time passes (the 2 s sync poll is the clock).
                let tick = crate::ctx().sync;
                let left = move || {
                    tick.track();
                    let (text, class) = time_left(end - util::now_ms());
                    view! { <span class=class>{text}</span> }
                };
                // Late risk: the courier's plan arrives after the window ends.
                let risk = o.late_risk.then(|| {
                    let eta = o.eta_ms.map(util::hhmm).unwrap_or_default();
                    view! { <span class="late-risk" title=format!("Planned arrival {eta}, after the window")>" · late risk"</span> }
                });
                view! { {left}{risk} }.into_any()
            }
            _ => ().into_any(),
        },
        "price" => util::euros(o.price_cents).into_any(),
        "created" => util::stamp(o.created_at_ms).into_any(),
        "sync" => view! { <SyncBadge order_id=o.id.clone()/> }.into_any(),
        _ => ().into_any(),
    }
}

pub(crate) fn status_from(s: &str) -> Option<DeliveryStatus> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

#[component]
pub(crate) fn OrderTable(open: RwSignal<Option<String>>) -> impl IntoView {
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
    let body = NodeRef::<Div>::new();

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

    view! {
        <FilterBar query=query columns=columns cursor=cursor body=body/>
        <BulkBar selected=selected pages=pages error=error/>
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

/// The filter bar: search (`/` focuses it), status, type, zone, courier,
/// priority, conflicts and due-window filters, saved views and the column
/// chooser. A changed filter moves the table's cursor and scroll to the top.
#[component]
pub(crate) fn FilterBar(
    query: RwSignal<OrderQuery>,
    columns: RwSignal<Vec<String>>,
    cursor: RwSignal<usize>,
    body: NodeRef<Div>,
) -> impl IntoView {
    let views = RwSignal::new(
        util::load_pref("views")
            .and_then(|v| {
                serde_json::from_str::<BTreeMap<String, (OrderQuery, Vec<String>)>>(&v).ok()
            })
            .unwrap_or_default(),
    );
    let show_cols = RwSignal::new(false);
    let search_box = NodeRef::<Input>::new();

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
            <label class="check" title="The courier's planned arrival is after the drop-off window's end"><input type="checkbox" id="filter-late-risk" on:change=move |ev| { let v = event_target_checked(&ev); set_q(&|q| q.late_risk = v) }/>"Late risk"</label>
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
    }
}

/// The bulk bar over the selected rows (assign with undo, cancel with a reason
/// and a confirmation, labels, receipts), one core call per order, with a
/// count of what was refused and why.
#[component]
pub(crate) fn BulkBar(
    selected: RwSignal<BTreeSet<String>>,
    pages: RwSignal<BTreeMap<u64, Vec<OrderSummary>>>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let c = ctx();
    let info = RwSignal::new(None::<String>);
    let undo = RwSignal::new(None::<Vec<(String, Option<String>)>>);
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
        // What speaks against it (zones, the van, cash) is asked first; the
        // dispatcher decides.
        let ids: Vec<String> = before.iter().map(|(id, _)| id.clone()).collect();
        let courier = who.clone();
        run(
            Request::AssignmentWarnings {
                order_ids: ids,
                courier: who.clone(),
            },
            move |r| {
                if let Ok(Response::AssignmentWarnings { warnings }) = &r
                    && !warnings.is_empty()
                {
                    let mut lines: Vec<String> = warnings
                        .iter()
                        .take(8)
                        .map(|w| format!("• {}", w.message))
                        .collect();
                    if warnings.len() > 8 {
                        lines.push(format!("… and {} more", warnings.len() - 8));
                    }
                    let ok = window()
                        .confirm_with_message(&format!(
                            "Before assigning to {courier}:\n{}\n\nAssign anyway?",
                            lines.join("\n")
                        ))
                        .unwrap_or(false);
                    if !ok {
                        return;
                    }
                }
                undo.set(Some(before));
                bulk(
                    std::rc::Rc::new(move |_| {
                        Some(Action::Assign {
                            courier: courier.clone(),
                        })
                    }),
                    "Assign",
                );
            },
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

    // Route sessions of the coming week to add the selection to.
    let sessions = RwSignal::new(Vec::<app_api::routes::SessionSummary>::new());
    let session = RwSignal::new(String::new());
    Effect::new(move |_| {
        if selected.with(|s| s.is_empty()) {
            return;
        }
        let from = crate::routes::today();
        let to = crate::routes::day(1, 6).0;
        run(Request::ListSessions { from, to }, move |r| {
            if let Ok(Response::Sessions { sessions: s }) = r {
                let live: Vec<_> = s
                    .into_iter()
                    .filter(|s| {
                        s.status == app_api::routes::SessionStatus::Planned
                            || s.status == app_api::routes::SessionStatus::InProgress
                    })
                    .collect();
                let _ = sessions.try_set(live);
            }
        });
    });
    let to_session = move |_| {
        let target = session.get_untracked();
        if target.is_empty() {
            error.set(Some("Route session: choose one".into()));
            return;
        }
        let ids: Vec<String> = selected.get_untracked().into_iter().collect();
        let total = ids.len();
        let refused = RwSignal::new(Vec::<String>::new());
        let done = RwSignal::new(0usize);
        for id in ids {
            let target = target.clone();
            run(
                Request::SessionAct {
                    session_id: target,
                    action: app_api::routes::SessionAction::AttachOrders {
                        order_ids: vec![id],
                    },
                },
                move |r| {
                    if let Err(e) = r {
                        refused.update(|v| v.push(e));
                    }
                    done.update(|d| *d += 1);
                    if done.get_untracked() == total {
                        let bad = refused.get_untracked();
                        info.set(Some(format!(
                            "{} of {total} added to the session{}",
                            total - bad.len(),
                            bad.first()
                                .map(|e| format!(" ({} refused: {e})", bad.len()))
                                .unwrap_or_default()
                        )));
                        c.bump();
                    }
                },
            );
        }
    };
    view! {
        <Show when=move || !selected.with(|s| s.is_empty())>
            <div class="bulkbar" id="bulk-bar">
                <b id="selected-count">{move || format!("{} selected", selected.with(|s| s.len()))}</b>
                <input id="bulk-courier" list="courier-list" placeholder="courier id" size="10" prop:value=bulk_courier on:input=move |ev| bulk_courier.set(event_target_value(&ev))/>
                <button id="bulk-assign" on:click=assign_selected>"Assign"</button>
                <input id="bulk-reason" placeholder="reason" size="12" prop:value=bulk_reason on:input=move |ev| bulk_reason.set(event_target_value(&ev))/>
                <button class="danger" id="bulk-cancel" on:click=cancel_selected>"Cancel orders"</button>
                <select id="bulk-session" aria-label="Route session" on:change=move |e| session.set(event_target_value(&e))>
                    <option value="">"route session…"</option>
                    {move || sessions.get().into_iter().map(|s| view! { <option value=s.id.clone()>{format!("{} {} · {}", s.name, s.date, s.driver_name)}</option> }).collect_view()}
                </select>
                <button class="ghost" id="bulk-to-session" on:click=to_session>"Add to session"</button>
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
    }
}

//! Support tickets. The console's Support tab: the desk's queue with filters
//! (status, assignee, category, priority, words), keyboard moves (`j`/`k` or
//! the arrows, Enter opens, `/` searches, Esc closes), and one ticket — its
//! fields, what the requester wrote, its timers against the tenant's targets,
//! assign (to me or a teammate), status, priority, category, the linked order,
//! its history and its conversation. The client portal's support card: my
//! tickets, a new one (perhaps about one of my orders), and one ticket with
//! close and reopen. Everything works offline; the rules are the core's.

use app_api::chat::ChatLink;
use app_api::tickets::{
    NewTicket, Requester, TicketAction, TicketCategory, TicketList, TicketQuery, TicketStatus,
    TicketSummary, TicketView, TimerState,
};
use app_api::{ApiError, OrderSummary, Priority, Request, Response};
use leptos::ev::KeyboardEvent;
use leptos::html::Input;
use leptos::prelude::*;

use crate::chat::Thread;
use crate::ctx;
use crate::util::{self, run};

pub fn status_class(s: TicketStatus) -> &'static str {
    match s {
        TicketStatus::Open => "st st-assigned",
        TicketStatus::Pending => "st st-transit",
        TicketStatus::Solved => "st st-delivered",
        TicketStatus::Closed => "st st-cancelled",
    }
}

fn priority_class(p: Priority) -> &'static str {
    match p {
        Priority::Urgent => "prio prio-urgent",
        Priority::High => "prio prio-high",
        Priority::Normal => "prio",
        Priority::Low => "prio prio-low",
    }
}

/// A span of time as people say it: "45 min", "3 h 5 min", "2 d 4 h".
pub fn span(ms: i64) -> String {
    let min = (ms.max(0) + 59_999) / 60_000;
    match min {
        m if m < 60 => format!("{m} min"),
        m if m < 24 * 60 => match m % 60 {
            0 => format!("{} h", m / 60),
            r => format!("{} h {r} min", m / 60),
        },
        m => match (m / 60) % 24 {
            0 => format!("{} d", m / (24 * 60)),
            h => format!("{} d {h} h", m / (24 * 60)),
        },
    }
}

/// A timer as the desk reads it, and its class.
fn timer(t: TimerState) -> (String, &'static str) {
    match t {
        TimerState::Running { left_ms } => (format!("{} left", span(left_ms)), "timer running"),
        TimerState::Breached { over_ms } => (format!("{} over", span(over_ms)), "timer breached"),
        TimerState::Met { after_ms } => (format!("met in {}", span(after_ms)), "timer met"),
        TimerState::MetLate { after_ms } => {
            (format!("met late, {}", span(after_ms)), "timer breached")
        }
    }
}

/// A timer; in the queue it says which one it is.
fn timer_view(label: &'static str, t: TimerState, named: bool) -> impl IntoView {
    let (text, class) = timer(t);
    let text = if named {
        format!("{label}: {text}")
    } else {
        text
    };
    view! { <span class=class title=label>{text}</span> }
}

fn requester_line(t: &TicketSummary) -> String {
    match &t.requester {
        Requester::Guest { .. } => format!("{} · web shop", t.requester_name),
        Requester::User { .. } => t.requester_name.clone(),
    }
}

/// The console's Support tab.
#[component]
pub fn SupportTab() -> impl IntoView {
    let c = ctx();
    let me = c.user();
    // The desk's default view: what still needs someone.
    let statuses = RwSignal::new(vec![TicketStatus::Open, TicketStatus::Pending]);
    let assignee = RwSignal::new(String::new());
    let category = RwSignal::new(None::<TicketCategory>);
    let min_priority = RwSignal::new(None::<Priority>);
    let search = RwSignal::new(String::new());
    let list = RwSignal::new(None::<TicketList>);
    let error = RwSignal::new(None::<String>);
    let selected = RwSignal::new(None::<String>);
    let cursor = RwSignal::new(0usize);
    let search_ref = NodeRef::<Input>::new();
    // A notification asked for a ticket: show it whatever the filters say.
    Effect::new(move |_| {
        if let Some(id) = c.open_ticket.get() {
            selected.set(Some(id));
            c.open_ticket.set(None);
        }
    });
    Effect::new(move |_| {
        c.changed.track();
        let query = TicketQuery {
            statuses: statuses.get(),
            assignee: match assignee.get().as_str() {
                "" => None,
                other => Some(other.to_owned()),
            },
            category: category.get(),
            min_priority: min_priority.get(),
            search: Some(search.get()).filter(|s| !s.trim().is_empty()),
        };
        run(Request::ListTickets(query), move |r| match r {
            Ok(Response::Tickets(l)) => {
                let n = l.tickets.len();
                let _ = list.try_set(Some(l));
                let _ = error.try_set(None);
                let _ = cursor.try_update(|i| *i = (*i).min(n.saturating_sub(1)));
            }
            Ok(other) => {
                let _ = error.try_set(Some(util::unexpected(&other)));
            }
            Err(e) => {
                let _ = error.try_set(Some(e));
            }
        });
    });
    let ids = move || {
        list.with(|l| {
            l.as_ref()
                .map(|l| l.tickets.iter().map(|t| t.id.clone()).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    };
    let keys = move |e: KeyboardEvent| {
        let ids = ids();
        match e.key().as_str() {
            "ArrowDown" | "j" if !ids.is_empty() => {
                e.prevent_default();
                cursor.update(|i| *i = (*i + 1).min(ids.len() - 1));
            }
            "ArrowUp" | "k" if !ids.is_empty() => {
                e.prevent_default();
                cursor.update(|i| *i = i.saturating_sub(1));
            }
            "Enter" => {
                if let Some(id) = ids.get(cursor.get_untracked()) {
                    selected.set(Some(id.clone()));
                }
            }
            "/" => {
                e.prevent_default();
                if let Some(i) = search_ref.get() {
                    let _ = i.focus();
                }
            }
            "Escape" => selected.set(None),
            _ => {}
        }
    };
    let toggle = move |s: TicketStatus| {
        statuses.update(|v| {
            if let Some(i) = v.iter().position(|x| *x == s) {
                v.remove(i);
            } else {
                v.push(s);
            }
        })
    };
    let show_all = move |who: &str| {
        statuses.set(vec![TicketStatus::Open, TicketStatus::Pending]);
        assignee.set(who.to_owned());
    };
    let me2 = me.clone();
    view! {
        <section class="support" id="support">
            <div class="support-list" tabindex="0" id="ticket-queue" on:keydown=keys>
                <div class="support-head">
                    <h2>"Support"</h2>
                    {move || list.with(|l| l.as_ref().map(|l| {
                        let me = me2.clone();
                        view! {
                            <button class="chip" id="tickets-unassigned" title="Open or pending, assigned to nobody" on:click=move |_| show_all("-")>{format!("{} unassigned", l.unassigned)}</button>
                            <button class="chip" id="tickets-mine" title="Open or pending, assigned to me" on:click=move |_| show_all(&me)>{format!("{} mine", l.mine)}</button>
                        }
                    }))}
                </div>
                <div class="support-filters">
                    {TicketStatus::ALL.into_iter().map(|s| view! {
                        <label class="check">
                            <input type="checkbox" id=format!("ticket-status-{}", util::name_of(&s))
                                prop:checked=move || statuses.with(|v| v.contains(&s))
                                on:change=move |_| toggle(s)/>
                            {s.label()}
                        </label>
                    }).collect_view()}
                    <select id="ticket-assignee" title="Assignee" prop:value=move || assignee.get()
                        on:change=move |ev| assignee.set(event_target_value(&ev))>
                        <option value="">"Anyone"</option>
                        <option value=me.clone()>"Me"</option>
                        <option value="-">"Unassigned"</option>
                    </select>
                    <select id="ticket-category" title="Category"
                        on:change=move |ev| category.set(Some(event_target_value(&ev)).filter(|v| !v.is_empty()).map(util::enum_value))>
                        <option value="">"Any category"</option>
                        {TicketCategory::ALL.into_iter().map(|k| view! { <option value=util::name_of(&k)>{k.label()}</option> }).collect_view()}
                    </select>
                    <select id="ticket-priority" title="Priority at least"
                        on:change=move |ev| min_priority.set(Some(event_target_value(&ev)).filter(|v| !v.is_empty()).map(util::enum_value))>
                        <option value="">"Any priority"</option>
                        {Priority::ALL.into_iter().skip(1).map(|p| view! { <option value=util::name_of(&p)>{format!("{} or more", p.label())}</option> }).collect_view()}
                    </select>
                    <input id="ticket-search" node_ref=search_ref type="search" placeholder="Search (/)"
                        prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))
                        on:keydown=move |e: KeyboardEvent| if e.key() == "Escape" { search.set(String::new()); }/>
                </div>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                {move || list.with(|l| match l {
                    None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                    Some(l) if l.tickets.is_empty() => view! {
                        <p class="muted empty" id="tickets-empty">"No tickets match. Clients open them from their portal; the web shop through the intake address (Settings has its key)."</p>
                    }.into_any(),
                    Some(l) => view! {
                        <table class="grid tickets" id="tickets">
                            <thead><tr><th>"Ticket"</th><th>"Subject"</th><th>"Requester"</th><th>"Status"</th><th>"Assignee"</th><th>"Timers"</th></tr></thead>
                            <tbody>
                                {l.tickets.iter().enumerate().map(|(i, t)| {
                                    let id = t.id.clone();
                                    let id2 = t.id.clone();
                                    let (first, resolution) = (t.first_response, t.resolution);
                                    let done = matches!(t.status, TicketStatus::Solved | TicketStatus::Closed);
                                    view! {
                                        <tr class="ticket-row" data-ticket=t.id.clone() data-reference=t.reference.clone()
                                            class:cursor=move || cursor.get() == i
                                            class:active=move || selected.get().as_deref() == Some(id2.as_str())
                                            on:click=move |_| { cursor.set(i); selected.set(Some(id.clone())); }>
                                            <td><span class="ref">{t.reference.clone()}</span>
                                                {(t.unread > 0).then(|| view! { <span class="count" title="Unread messages">{t.unread}</span> })}
                                                {t.pending.then(|| view! { <span class="sync pending" title="Saved on this device; waiting for the server">"sending"</span> })}</td>
                                            <td><span class=priority_class(t.priority)>{t.priority.label()}</span>" "
                                                <span class="subject">{t.subject.clone()}</span>
                                                <div class="muted small">{t.category.label()}{t.order_reference.clone().map(|r| format!(" · order {r}"))}</div></td>
                                            <td>{requester_line(t)}</td>
                                            <td><span class=status_class(t.status)>{t.status.label()}</span></td>
                                            <td>{t.assignee_name.clone().unwrap_or_else(|| "—".into())}</td>
                                            <td class="timers">
                                                {timer_view("First response", first, true)}
                                                {(!done || resolution.breached()).then(|| timer_view("Resolution", resolution, true))}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <p class="muted small">"j/k or ↑/↓ move, Enter opens, / searches, Esc closes"</p>
                    }.into_any(),
                })}
            </div>
            <div class="support-main">
                {move || match selected.get() {
                    Some(id) => view! { <TicketPanel ticket_id=id on_close=Callback::new(move |_| util::later(move || selected.set(None)))/> }.into_any(),
                    None => view! { <p class="muted">"Choose a ticket to read, assign and answer it."</p> }.into_any(),
                }}
            </div>
        </section>
    }
}

/// One ticket: an operator works it, a requester follows it.
#[component]
pub fn TicketPanel(ticket_id: String, on_close: Callback<()>) -> impl IntoView {
    let c = ctx();
    let me = c.user();
    let v = RwSignal::new(None::<TicketView>);
    let error = RwSignal::new(None::<String>);
    let id = StoredValue::new(ticket_id.clone());
    Effect::new(move |_| {
        c.changed.track();
        run(
            Request::OpenTicket {
                ticket_id: id.get_value(),
            },
            move |r| match r {
                Ok(Response::Ticket(t)) => {
                    let _ = v.try_set(Some(t));
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
    let act = move |action: TicketAction| {
        run(
            Request::TicketAct {
                ticket_id: id.get_value(),
                action,
            },
            move |r| match r {
                Ok(Response::Ticket(t)) => {
                    let _ = error.try_set(None);
                    let _ = v.try_set(Some(t));
                    c.bump();
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        );
    };
    let order_text = RwSignal::new(String::new());
    // The desk types an order's reference (or id); the core links its id.
    let link_order = move || {
        let typed = order_text.get_untracked();
        if typed.trim().is_empty() {
            return;
        }
        util::find_order(&typed, "Linked order", move |r| match r {
            Ok(id) => {
                order_text.set(String::new());
                act(TicketAction::LinkOrder { order: Some(id) });
            }
            Err(e) => error.set(Some(e)),
        });
    };
    view! {
        <aside class="panel ticket-panel" id="ticket-panel" data-ticket=ticket_id.clone()
            on:keydown=move |e: KeyboardEvent| if e.key() == "Escape" && !util::typing(&e) { on_close.run(()) }>
            <div class="panel-head">
                <h2 id="ticket-title">{move || v.with(|v| v.as_ref().map(|v| format!("{} · {}", v.ticket.reference, v.ticket.subject)))}</h2>
                <button class="ghost" id="ticket-close-panel" title="Close (Esc)" on:click=move |_| on_close.run(())>"×"</button>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert" id="ticket-error">{e}</p> })}
            {move || v.get().map(|t| {
                let s = t.ticket.clone();
                let manage = t.may_manage;
                let me = me.clone();
                let mine = s.assignee.as_deref() == Some(me.as_str());
                let order = s.order.clone();
                view! {
                    <div class="ticket-fields">
                        <span class=status_class(s.status) id="ticket-status">{s.status.label()}</span>
                        " " <span class=priority_class(s.priority)>{s.priority.label()}</span>
                        " " <span class="muted">{s.category.label()}</span>
                        {s.pending.then(|| view! { " " <span class="sync pending" title="Saved on this device; waiting for the server">"sending"</span> })}
                        <dl class="facts">
                            {manage.then(|| view! {
                                <dt>"Requester"</dt><dd id="ticket-requester">{requester_line(&s)}
                                    {matches!(&s.requester, Requester::Guest { .. }).then(|| view! { <div class="muted small">"No account: they read your answers through their reply link."</div> })}</dd>
                            })}
                            <dt>"Opened"</dt><dd>{util::stamp(s.opened_at_ms)}</dd>
                            <dt>{if manage { "Assignee" } else { "Handled by" }}</dt><dd id="ticket-assignee-name">{s.assignee_name.clone().unwrap_or_else(|| if manage { "nobody yet" } else { "the support team" }.into())}</dd>
                            <dt>"Order"</dt><dd>{match (s.order_reference.clone(), order.clone()) {
                                (Some(r), Some(o)) => view! { <button class="linkish" id="ticket-order" title="Open the order" on:click=move |_| c.open_order.set(Some(o.clone()))>{r}</button> }.into_any(),
                                (None, Some(o)) => view! { <span class="mono">{o}</span> }.into_any(),
                                _ => view! { <span class="muted">"none"</span> }.into_any(),
                            }}</dd>
                            {manage.then(|| view! {
                                <dt>"First response"</dt><dd id="ticket-first-response">{timer_view("First response", s.first_response, false)}<span class="muted small">{format!(" (target {})", span(i64::from(t.first_response_target_min) * 60_000))}</span></dd>
                                <dt>"Resolution"</dt><dd id="ticket-resolution">{timer_view("Resolution", s.resolution, false)}<span class="muted small">{format!(" (target {})", span(i64::from(t.resolution_target_min) * 60_000))}</span></dd>
                            })}
                        </dl>
                    </div>
                    <blockquote class="ticket-message" id="ticket-message">{t.message.clone()}</blockquote>
                    {if manage {
                        let assignable = t.assignable.clone();
                        let current = s.assignee.clone().unwrap_or_default();
                        view! {
                            <div class="actions ticket-actions">
                                {(!mine).then(|| { let me = me.clone(); view! { <button id="ticket-assign-me" on:click=move |_| act(TicketAction::Assign { to: Some(me.clone()) })>"Assign to me"</button> } })}
                                <label>"Assign to "
                                    <select id="ticket-assign" on:change=move |ev| { let to = event_target_value(&ev); act(TicketAction::Assign { to: Some(to).filter(|t| !t.is_empty()) }) }>
                                        <option value="" selected=current.is_empty()>"nobody"</option>
                                        {assignable.into_iter().map(|(user, name)| { let sel = user == current; view! { <option value=user.clone() selected=sel>{name}</option> } }).collect_view()}
                                    </select>
                                </label>
                            </div>
                            <div class="actions">
                                {TicketStatus::ALL.into_iter().filter(|x| *x != s.status).map(|x| view! {
                                    <button class="ghost" id=format!("ticket-set-{}", util::name_of(&x)) on:click=move |_| act(TicketAction::SetStatus { status: x })>{format!("Mark {}", x.label().to_lowercase())}</button>
                                }).collect_view()}
                            </div>
                            <div class="actions">
                                <label>"Priority "
                                    <select id="ticket-priority-set" on:change=move |ev| act(TicketAction::SetPriority { priority: util::enum_value(event_target_value(&ev)) })>
                                        {Priority::ALL.into_iter().map(|p| view! { <option value=util::name_of(&p) selected=p == s.priority>{p.label()}</option> }).collect_view()}
                                    </select>
                                </label>
                                <label>"Category "
                                    <select id="ticket-category-set" on:change=move |ev| act(TicketAction::SetCategory { category: util::enum_value(event_target_value(&ev)) })>
                                        {TicketCategory::ALL.into_iter().map(|k| view! { <option value=util::name_of(&k) selected=k == s.category>{k.label()}</option> }).collect_view()}
                                    </select>
                                </label>
                            </div>
                            <div class="actions">
                                <input id="ticket-order-input" placeholder="Order reference" prop:value=move || order_text.get()
                                    on:input=move |ev| order_text.set(event_target_value(&ev))
                                    on:keydown=move |e: KeyboardEvent| if e.key() == "Enter" { link_order() }/>
                                <button class="ghost" id="ticket-link-order" on:click=move |_| link_order()>"Link order"</button>
                                {order.is_some().then(|| view! { <button class="ghost" id="ticket-unlink-order" on:click=move |_| act(TicketAction::LinkOrder { order: None })>"Unlink"</button> })}
                            </div>
                        }.into_any()
                    } else {
                        view! {
                            <div class="actions">
                                {(s.status == TicketStatus::Solved).then(|| view! {
                                    <button id="ticket-reopen" on:click=move |_| act(TicketAction::SetStatus { status: TicketStatus::Open })>"Not solved — reopen"</button>
                                })}
                                {(s.status != TicketStatus::Closed).then(|| view! {
                                    <button class="ghost" id="ticket-close" on:click=move |_| {
                                        let ok = web_sys::window().and_then(|w| w.confirm_with_message("Close this ticket? Nothing more can be added to it.").ok()).unwrap_or(false);
                                        if ok { act(TicketAction::SetStatus { status: TicketStatus::Closed }) }
                                    }>"Close ticket"</button>
                                })}
                            </div>
                        }.into_any()
                    }}
                }
            })}
            // Outside the fields' view: a refresh never drops a draft.
            <h3>"Conversation"</h3>
            <div class="ticket-thread">
                <Thread link=ChatLink::Ticket { ticket: ticket_id.clone() } ids="ticket-chat"/>
            </div>
            {move || v.with(|t| t.as_ref().map(|t| view! {
                <details class="ticket-history" id="ticket-history">
                    <summary>{format!("History ({})", t.history.len())}</summary>
                    <ol>
                        {t.history.iter().map(|h| view! { <li><span class="muted">{util::stamp(h.at_ms)}</span>" " <strong>{h.who.clone()}</strong>" " {h.what.clone()}</li> }).collect_view()}
                    </ol>
                </details>
            }))}
        </aside>
    }
}

/// The client portal's support card: my tickets and a new one.
#[component]
pub fn ClientSupport(
    orders: RwSignal<Vec<OrderSummary>>,
    open: RwSignal<Option<String>>,
) -> impl IntoView {
    let c = ctx();
    let tickets = RwSignal::new(None::<Vec<TicketSummary>>);
    let writing = RwSignal::new(false);
    Effect::new(move |_| {
        c.changed.track();
        run(Request::ListTickets(TicketQuery::default()), move |r| {
            if let Ok(Response::Tickets(l)) = r {
                let _ = tickets.try_set(Some(l.tickets));
            }
        });
    });
    view! {
        <section class="card" id="client-support">
            <h2>"Support"</h2>
            <button class="ghost" id="ticket-new" on:click=move |_| writing.update(|w| *w = !*w)>
                {move || if writing.get() { "Cancel" } else { "Ask for help" }}
            </button>
            <Show when=move || writing.get()>
                <NewTicketForm orders=orders on_created=Callback::new(move |id: String| util::later(move || { writing.set(false); open.set(Some(id)); }))/>
            </Show>
            {move || match tickets.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(t) if t.is_empty() => view! {
                    <p class="muted" id="tickets-empty">"No tickets. Something wrong with a delivery, an invoice or your account? Ask for help — it is saved even without a connection."</p>
                }.into_any(),
                Some(t) => view! {
                    <ul class="client-orders client-tickets" id="my-tickets">
                        {t.into_iter().map(|t| {
                            let id = t.id.clone();
                            view! {
                                <li class="order ticket-item" data-reference=t.reference.clone() class:unread={t.unread > 0} on:click=move |_| open.set(Some(id.clone()))>
                                    <span class="ref">{t.reference.clone()}</span>
                                    <span>{t.subject.clone()}</span>
                                    <span class="muted">{t.order_reference.clone().map(|r| format!("order {r}"))}</span>
                                    <span class=status_class(t.status)>{t.status.label()}</span>
                                    {(t.unread > 0).then(|| view! { <span class="count" title="New replies">{t.unread}</span> })}
                                    {t.pending.then(|| view! { <span class="sync pending" title="Saved on this device; waiting for the server">"sending"</span> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
    }
}

/// A new ticket; the field the core refuses is marked with its reason.
#[component]
fn NewTicketForm(
    orders: RwSignal<Vec<OrderSummary>>,
    on_created: Callback<String>,
) -> impl IntoView {
    let c = ctx();
    let subject = RwSignal::new(String::new());
    let message = RwSignal::new(String::new());
    let category = RwSignal::new(TicketCategory::Delivery);
    let order = RwSignal::new(String::new());
    // (field, why), or a message for the whole form.
    let error = RwSignal::new(None::<(String, String)>);
    let field_error = move |f: &'static str| {
        move || {
            error.with(|e| {
                e.as_ref()
                    .filter(|(field, _)| field == f)
                    .map(|(_, m)| view! { <span class="field-error" id=format!("ticket-{f}-error")>{m.clone()}</span> })
            })
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let new = NewTicket {
            subject: subject.get_untracked(),
            message: message.get_untracked(),
            category: category.get_untracked(),
            priority: Priority::Normal,
            order: Some(order.get_untracked()).filter(|o| !o.is_empty()),
            on_behalf_of: None,
        };
        util::run_api(Request::NewTicket(new), move |r| match r {
            Ok(Response::Ticket(t)) => {
                error.set(None);
                c.bump();
                on_created.run(t.ticket.id);
            }
            Ok(other) => error.set(Some((String::new(), util::unexpected(&other)))),
            Err(ApiError::Invalid { field, message }) => error.set(Some((field, message))),
            Err(e) => error.set(Some((String::new(), util::describe(&e)))),
        });
    };
    view! {
        <form id="ticket-form" class="grid ticket-form" on:submit=submit>
            <label>"Subject"
                <input id="ticket-subject" maxlength="200" prop:value=move || subject.get() on:input=move |ev| subject.set(event_target_value(&ev))/>
                {field_error("subject")}
            </label>
            <label>"About"
                <select id="ticket-category-new" on:change=move |ev| category.set(util::enum_value(event_target_value(&ev)))>
                    {TicketCategory::ALL.into_iter().map(|k| view! { <option value=util::name_of(&k) selected=k == TicketCategory::Delivery>{k.label()}</option> }).collect_view()}
                </select>
            </label>
            <label>"Order (optional)"
                <select id="ticket-order-new" on:change=move |ev| order.set(event_target_value(&ev))>
                    <option value="">"Not about one order"</option>
                    {move || orders.get().into_iter().map(|o| view! { <option value=o.id.clone()>{format!("{} · {}", o.reference, o.customer_name)}</option> }).collect_view()}
                </select>
                {field_error("order")}
            </label>
            <label class="wide">"What happened?"
                <textarea id="ticket-message-new" rows="4" prop:value=move || message.get() on:input=move |ev| message.set(event_target_value(&ev))></textarea>
                {field_error("message")}
            </label>
            <button id="ticket-send" type="submit">"Send to support"</button>
            {move || error.with(|e| e.as_ref().filter(|(f, _)| !matches!(f.as_str(), "subject" | "order" | "message")).map(|(f, m)| {
                let text = if f.is_empty() { m.clone() } else { format!("{f}: {m}") };
                view! { <p class="error" role="alert" id="ticket-form-error">{text}</p> }
            }))}
        </form>
    }
}

//! The notification centre in every workspace's header: the unread count,
//! the list (newest first, unread in bold, each opening what it is about),
//! "mark all read" (on every device of this user: the core writes it to
//! their inbox), and OS notifications through the browser's Notification
//! API for the kinds whose channel is `os` (asked for permission once, by a
//! button; in the Tauri window the webview's Notification is the same API).

use std::collections::BTreeSet;

use app_api::notify::{Channel, NoticeTarget, Notification, NotificationAction, NotificationList};
use app_api::{Request, Response};
use leptos::prelude::*;

use crate::util::{self, run};
use crate::{Ctx, ctx};

fn os_allowed() -> bool {
    web_sys::Notification::permission() == web_sys::NotificationPermission::Granted
}

fn show_os(n: &Notification) {
    let opts = web_sys::NotificationOptions::new();
    opts.set_body(&n.body);
    opts.set_tag(&n.id);
    let _ = web_sys::Notification::new_with_options(&n.title, &opts);
}

fn open_target(c: Ctx, n: &Notification) {
    match &n.target {
        NoticeTarget::Chat { link } => crate::chat::open_chat(c, link.clone()),
        NoticeTarget::Order { order } => c.open_order.set(Some(order.clone())),
        NoticeTarget::Cash { .. } => {}
        NoticeTarget::Ticket { ticket } => crate::chat::open_chat(
            c,
            app_api::chat::ChatLink::Ticket {
                ticket: ticket.clone(),
            },
        ),
    }
}

#[component]
pub fn NoticeButton() -> impl IntoView {
    let c = ctx();
    let list = RwSignal::new(None::<NotificationList>);
    let open = RwSignal::new(false);
    // What this page has already shown as an OS notification.
    let shown = StoredValue::new(None::<BTreeSet<String>>);
    let apply = move |l: NotificationList| {
        let fresh: Vec<Notification> = shown.with_value(|s| match s {
            // The first load only remembers: old news is not announced.
            None => Vec::new(),
            Some(s) => l
                .items
                .iter()
                .filter(|n| !n.read && n.channel == Channel::Os && !s.contains(&n.id))
                .cloned()
                .collect(),
        });
        shown.update_value(|s| {
            s.get_or_insert_with(BTreeSet::new)
                .extend(l.items.iter().map(|n| n.id.clone()))
        });
        if os_allowed() {
            for n in &fresh {
                show_os(n);
            }
        }
        let _ = list.try_set(Some(l));
    };
    Effect::new(move |_| {
        c.changed.track();
        run(Request::Notifications, move |r| {
            if let Ok(Response::Notifications(l)) = r {
                apply(l);
            }
        });
    });
    let act = move |action: NotificationAction| {
        run(Request::NotificationAct(action), move |r| {
            if let Ok(Response::Notifications(l)) = r {
                apply(l);
            }
        });
    };
    let unread = move || list.with(|l| l.as_ref().map_or(0, |l| l.unread));
    view! {
        <span class="notice-wrap">
            <button id="notice-button" class="badge chat-button" class:unread={move || unread() > 0}
                title="Notifications" on:click=move |_| open.update(|o| *o = !*o)>
                "Alerts"
                {move || (unread() > 0).then(|| view! { <span id="notice-unread" class="count">{unread()}</span> })}
            </button>
            <Show when=move || open.get()>
                <div id="notice-centre" class="notice-centre">
                    <div class="chat-head">
                        <h2>"Notifications"</h2>
                        <span class="spacer"></span>
                        <button class="linkish" id="notice-all-read" on:click=move |_| act(NotificationAction::MarkAllRead)>"Mark all read"</button>
                    </div>
                    {move || (!os_allowed()).then(|| view! {
                        <button class="ghost small" id="notice-allow" on:click=move |_| {
                            let _ = web_sys::Notification::request_permission();
                        }>"Allow desktop notifications"</button>
                    })}
                    {move || list.with(|l| match l {
                        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                        Some(l) if l.items.is_empty() => view! { <p class="muted empty">"Nothing new in the last 7 days."</p> }.into_any(),
                        Some(l) => view! {
                            <ul class="notice-list">
                                {l.items.iter().map(|n| {
                                    let n2 = n.clone();
                                    view! {
                                        <li class="notice" class:unread=!n.read class:critical=n.critical data-kind=util::name_of(&n.kind)
                                            on:click=move |_| {
                                                act(NotificationAction::MarkRead { ids: vec![n2.id.clone()] });
                                                open_target(c, &n2);
                                                open.set(false);
                                            }>
                                            <div class="chat-row-top"><strong>{n.title.clone()}</strong><span class="muted">{util::hhmm(n.at_ms)}</span></div>
                                            <div class="muted">{n.body.clone()}</div>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    })}
                </div>
            </Show>
        </span>
    }
}

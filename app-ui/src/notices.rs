//! The notification centre in every workspace's header: the unread count,
//! the list (newest first, unread in bold, each opening what it is about),
//! "mark all read" (on every device of this user: the core writes it to
//! their inbox), and OS notifications through the browser's Notification
//! API for the kinds whose channel is `os` (asked for permission once, by a
//! button; in the Tauri window the notification plugin makes it the OS's),
//! and for `digest` kinds the critical ones at once and the rest summed up in
//! one notification at most every quarter of an hour. The centre's settings
//! choose the channel per kind (kept in the user's inbox: every device).

use std::collections::BTreeSet;

use app_api::notify::{
    Announce, Channel, DIGEST_EVERY_MS, NoticeKind, NoticeTarget, Notification, NotificationAction,
    NotificationList,
};
use app_api::{Request, Response};
use leptos::prelude::*;

use crate::util::{self, run};
use crate::{Ctx, ctx};

fn os_allowed() -> bool {
    web_sys::Notification::permission() == web_sys::NotificationPermission::Granted
}

fn show_os(n: &Notification) {
    os(&n.title, &n.body, &n.id);
}

fn os(title: &str, body: &str, tag: &str) {
    let opts = web_sys::NotificationOptions::new();
    opts.set_body(body);
    opts.set_tag(tag);
    let _ = web_sys::Notification::new_with_options(title, &opts);
}

fn open_target(c: Ctx, n: &Notification) {
    match &n.target {
        NoticeTarget::Chat { link } => crate::chat::open_chat(c, link.clone()),
        NoticeTarget::Order { order } => c.open_order.set(Some(order.clone())),
        NoticeTarget::Cash { .. } => {}
        NoticeTarget::Ticket { ticket } => c.open_ticket.set(Some(ticket.clone())),
    }
}

#[component]
pub fn NoticeButton() -> impl IntoView {
    let c = ctx();
    let list = RwSignal::new(None::<NotificationList>);
    let open = RwSignal::new(false);
    let settings = RwSignal::new(false);
    // What this page has already announced (or put in the digest).
    let shown = StoredValue::new(None::<BTreeSet<String>>);
    // The next digest: what waits, and when the last one went.
    let digest = StoredValue::new((Vec::<Notification>::new(), util::now_ms()));
    let apply = move |l: NotificationList| {
        let fresh: Vec<Notification> = shown.with_value(|s| match s {
            // The first load only remembers: old news is not announced.
            None => Vec::new(),
            Some(s) => l
                .items
                .iter()
                .filter(|n| !s.contains(&n.id))
                .cloned()
                .collect(),
        });
        shown.update_value(|s| {
            s.get_or_insert_with(BTreeSet::new)
                .extend(l.items.iter().map(|n| n.id.clone()))
        });
        for n in fresh {
            match n.announce() {
                Announce::Now if os_allowed() => show_os(&n),
                Announce::Digest => digest.update_value(|(d, _)| d.push(n)),
                _ => {}
            }
        }
        let _ = list.try_set(Some(l));
    };
    // The digest goes at most every quarter of an hour, of what is still unread.
    let timer = set_interval_with_handle(
        move || {
            let now = util::now_ms();
            let (waiting, last) = digest.with_value(|(d, t)| (d.len(), *t));
            if waiting == 0 || now - last < DIGEST_EVERY_MS {
                return;
            }
            let unread: Vec<Notification> = digest.with_value(|(d, _)| {
                list.with_untracked(|l| {
                    d.iter()
                        .filter(|n| {
                            l.as_ref()
                                .is_none_or(|l| l.items.iter().any(|x| x.id == n.id && !x.read))
                        })
                        .cloned()
                        .collect()
                })
            });
            digest.set_value((Vec::new(), now));
            if let Some((title, body)) = app_api::notify::digest(&unread).filter(|_| os_allowed()) {
                os(&title, &body, "ruta-digest");
            }
        },
        std::time::Duration::from_secs(60),
    );
    // Signing out and in rebuilds this button: the old timer goes with it.
    on_cleanup(move || {
        if let Ok(t) = timer {
            t.clear();
        }
    });
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
                        <button class="linkish" id="notice-settings" title="What to be told of, and how" on:click=move |_| settings.update(|s| *s = !*s)>"⚙"</button>
                    </div>
                    <Show when=move || settings.get()>
                        <table class="notice-channels" id="notice-channels">
                            {NoticeKind::ALL.into_iter().map(|k| {
                                let current = move || list.with(|l| l.as_ref().and_then(|l| l.channels.iter().find(|(x, _)| *x == k).map(|(_, ch)| *ch)));
                                view! {
                                    <tr>
                                        <td>{k.label()}</td>
                                        <td><select id=format!("notice-channel-{}", util::name_of(&k))
                                            on:change=move |ev| act(NotificationAction::Subscribe { kind: k, channel: util::enum_value::<Channel>(event_target_value(&ev)) })>
                                            {Channel::ALL.into_iter().map(|ch| view! { <option value=util::name_of(&ch) selected=move || current() == Some(ch)>{ch.label()}</option> }).collect_view()}
                                        </select></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </table>
                    </Show>
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

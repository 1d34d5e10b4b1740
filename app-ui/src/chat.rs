//! Chat in every workspace: the header's button with the unread total, and a
//! drawer with the conversation list and one conversation — messages in
//! capture order with who has them and who read them, pending ones marked,
//! edits and deletions shown, a composer with the role's quick replies and
//! "share my location". Everything works offline: a message is in the
//! conversation at once and goes when the device is back online.
//!
//! Other screens open a conversation with [`open_chat`] (the order panel and
//! the stop view: the order's chat; the driver monitor: a courier's).

use app_api::chat::{ChatAction, ChatLink, ChatMessage, ChatSummary, ChatView, NewMessage};
use app_api::{Request, Response};
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;

use crate::util::{self, run};
use crate::{Ctx, ctx};

/// Opens the chat drawer on the conversation about `link`.
pub fn open_chat(c: Ctx, link: ChatLink) {
    c.chat_open.set(true);
    c.chat.set(Some(link));
}

/// The header's chat button: the unread total across conversations.
#[component]
pub fn ChatButton() -> impl IntoView {
    let c = ctx();
    Effect::new(move |_| {
        c.changed.track();
        let unread = c.unread;
        run(Request::ListChats, move |r| {
            if let Ok(Response::Chats(l)) = r {
                let _ = unread.try_set(l.unread_total);
            }
        });
    });
    view! {
        <button id="chat-button" class="badge chat-button" title="Conversations"
            class:unread={move || c.unread.get() > 0}
            on:click=move |_| { c.chat_open.update(|o| *o = !*o); c.chat.set(None); }>
            "Chat"
            {move || (c.unread.get() > 0).then(|| view! { <span id="chat-unread" class="count">{c.unread.get()}</span> })}
        </button>
    }
}

/// The chat drawer (shown while `chat_open`).
#[component]
pub fn ChatDrawer() -> impl IntoView {
    let c = ctx();
    view! {
        <Show when=move || c.chat_open.get()>
            <aside id="chat-drawer" class="chat-drawer">
                {move || match c.chat.get() {
                    Some(link) => view! { <Conversation link=link/> }.into_any(),
                    None => view! { <ChatList/> }.into_any(),
                }}
            </aside>
        </Show>
    }
}

#[component]
fn ChatList() -> impl IntoView {
    let c = ctx();
    let chats = RwSignal::new(None::<Vec<ChatSummary>>);
    // Conversations one can always start (the core decides which): a
    // courier's with dispatch, the teams, their zones' teams.
    let starters = RwSignal::new(Vec::<(String, ChatLink)>::new());
    Effect::new(move |_| {
        c.changed.track();
        run(Request::ListChats, move |r| {
            if let Ok(Response::Chats(l)) = r {
                let _ = starters.try_set(l.starters);
                let _ = chats.try_set(Some(l.chats));
                let _ = c.unread.try_set(l.unread_total);
            }
        });
    });
    view! {
        <div class="chat-head">
            <h2>"Conversations"</h2>
            <span class="spacer"></span>
            <button class="linkish" title="Close" on:click=move |_| c.chat_open.set(false)>"✕"</button>
        </div>
        <div class="chat-starters">
            {move || starters.get().into_iter().map(|(label, link)| {
                let id = format!("chat-start-{}", util::slug(&label));
                view! { <button id=id class="ghost" on:click=move |_| open_chat(c, link.clone())>{label}</button> }
            }).collect_view()}
        </div>
        {move || match chats.get() {
            None => view! { <p class="muted">"Loading…"</p> }.into_any(),
            Some(list) if list.is_empty() => view! {
                <p class="muted empty">"No conversations yet. Open an order's chat from its panel, or start one above."</p>
            }.into_any(),
            Some(list) => view! {
                <ul id="chat-list" class="chat-list">
                    {list.into_iter().map(|s| {
                        let link = s.link.clone();
                        view! {
                            <li class="chat-row" class:unread={s.unread > 0} on:click=move |_| open_chat(c, link.clone())>
                                <div class="chat-row-top">
                                    <strong class="chat-title">{s.title.clone()}</strong>
                                    <span class="muted">{s.last_at_ms.map(util::hhmm)}</span>
                                </div>
                                <div class="chat-row-bottom">
                                    <span class="muted chat-last">{s.last_text.clone()}</span>
                                    {s.pending.then(|| view! { <span class="sync pending">"sending"</span> })}
                                    {(s.unread > 0).then(|| view! { <span class="count">{s.unread}</span> })}
                                </div>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any(),
        }}
    }
}

fn receipt(m: &ChatMessage, online: bool) -> String {
    if m.pending {
        return if online {
            "sending…"
        } else {
            "sending when online"
        }
        .into();
    }
    if !m.mine {
        return String::new();
    }
    if !m.read_by.is_empty() {
        return format!("read by {}", m.read_by.join(", "));
    }
    if !m.delivered_to.is_empty() {
        return format!("delivered to {}", m.delivered_to.join(", "));
    }
    "sent".into()
}

/// One conversation in the drawer: its title, back and close, and the thread.
#[component]
fn Conversation(link: ChatLink) -> impl IntoView {
    let c = ctx();
    let title = RwSignal::new(String::new());
    view! {
        <div class="chat-head">
            <button class="linkish" id="chat-back" title="All conversations" on:click=move |_| c.chat.set(None)>"‹"</button>
            <h2 id="chat-title">{move || title.get()}</h2>
            <span class="spacer"></span>
            <button class="linkish" title="Close" on:click=move |_| c.chat_open.set(false)>"✕"</button>
        </div>
        <Thread link=link title=title ids="chat"/>
    }
}

/// A conversation's messages and composer, wherever it is shown (the drawer,
/// a ticket's page). `title` gets the conversation's title.
#[component]
pub fn Thread(
    link: ChatLink,
    #[prop(optional)] title: Option<RwSignal<String>>,
    /// Prefix of its elements' ids ("chat" in the drawer).
    #[prop(default = "chat")]
    ids: &'static str,
) -> impl IntoView {
    let c = ctx();
    let view_s = RwSignal::new(None::<ChatView>);
    let error = RwSignal::new(None::<String>);
    let draft = RwSignal::new(String::new());
    let editing = RwSignal::new(None::<String>);
    let link = StoredValue::new(link);
    let online = move || {
        c.sync.with_untracked(|s| {
            s.as_ref()
                .is_some_and(|s| s.link == app_api::LinkState::Online)
        })
    };
    let apply = move |r: Result<Response, String>| match r {
        Ok(Response::Chat(v)) => {
            error.set(None);
            let unread = v.unread;
            if let Some(t) = title {
                let _ = t.try_set(v.title.clone());
            }
            let _ = view_s.try_set(Some(v));
            if unread > 0 {
                mark_read(c, link.get_value(), view_s);
            }
        }
        Ok(other) => error.set(Some(util::unexpected(&other))),
        Err(e) => error.set(Some(e)),
    };
    Effect::new(move |_| {
        c.changed.track();
        run(
            Request::OpenChat {
                link: link.get_value(),
            },
            apply,
        );
    });
    let send = move |action: ChatAction| {
        run(
            Request::ChatAct {
                link: link.get_value(),
                action,
            },
            move |r| {
                let ok = r.is_ok();
                apply(r);
                if ok {
                    c.bump();
                }
            },
        );
    };
    let submit = move || {
        let text = draft.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        match editing.get_untracked() {
            Some(message) => send(ChatAction::Edit { message, text }),
            None => send(ChatAction::Post(NewMessage {
                text,
                ..Default::default()
            })),
        }
        draft.set(String::new());
        editing.set(None);
    };
    // Quote an order: its reference typed, the draft as the message.
    let quoting = RwSignal::new(false);
    let quote = RwSignal::new(String::new());
    let send_quote = move || {
        util::find_order(&quote.get_untracked(), "Order", move |r| match r {
            Ok(id) => {
                let text = draft.get_untracked();
                draft.set(String::new());
                quote.set(String::new());
                quoting.set(false);
                send(ChatAction::Post(NewMessage {
                    text,
                    order: Some(id),
                    ..Default::default()
                }));
            }
            Err(e) => error.set(Some(e)),
        });
    };
    let photo_in = NodeRef::<leptos::html::Input>::new();
    // The newest message in sight whenever the conversation changes.
    let list_ref = NodeRef::<leptos::html::Ol>::new();
    Effect::new(move |_| {
        view_s.track();
        if let Some(ol) = list_ref.get() {
            util::later(move || ol.set_scroll_top(ol.scroll_height()));
        }
    });
    // A photo picked or taken: sent at once with the draft as its caption.
    let send_photo = move |_| {
        let Some(input) = photo_in.get() else { return };
        leptos::task::spawn_local(async move {
            match util::input_file_base64(&input).await {
                Some(Ok(b64)) => {
                    let text = draft.get_untracked();
                    draft.set(String::new());
                    input.set_value("");
                    send(ChatAction::Post(NewMessage {
                        text,
                        photo_base64: Some(b64),
                        ..Default::default()
                    }));
                }
                Some(Err(e)) => error.set(Some(format!("Photo: {e}"))),
                None => {}
            }
        });
    };
    let share_location = move |_| {
        let watch = StoredValue::new(None::<i32>);
        let id = util::watch_position(
            move |lat, lon, _, _| {
                if let Some(id) = watch.get_value() {
                    util::clear_watch(id);
                    watch.set_value(None);
                    send(ChatAction::Post(NewMessage {
                        location: Some((lat, lon)),
                        ..Default::default()
                    }));
                }
            },
            move |e| error.set(Some(e)),
        );
        if id.is_none() {
            error.set(Some("this device has no location".into()));
        }
        watch.set_value(id);
    };
    view! {
        {move || error.get().map(|e| view! { <p class="error" id=format!("{ids}-error")>{e}</p> })}
        <ol id=format!("{ids}-messages") class="chat-messages" node_ref=list_ref>
            {move || view_s.with(|v| match v {
                None => view! { <li class="muted">"Loading…"</li> }.into_any(),
                Some(v) if v.messages.is_empty() => view! { <li class="muted empty">"No messages yet — say something."</li> }.into_any(),
                Some(v) => v.messages.iter().map(|m| {
                    let (id1, id2, text) = (m.id.clone(), m.id.clone(), m.text.clone());
                    let body = if m.deleted {
                        view! { <span class="muted deleted">"Message deleted"</span> }.into_any()
                    } else {
                        view! {
                            <span class="text">{m.text.clone()}</span>
                            {m.photo.clone().map(|h| view! { <ChatPhoto sha256=h/> })}
                            {m.location.map(|(lat, lon)| view! {
                                <a class="location" href=format!("geo:{lat:.6},{lon:.6}")>{format!("Location {lat:.5}, {lon:.5}")}</a>
                            })}
                            {m.order.clone().map(|o| {
                                let label = format!("Order {}", m.order_reference.clone().unwrap_or_else(|| "(not on this device)".into()));
                                view! { <button class="linkish quoted" title="Open the order" on:click=move |_| c.open_order.set(Some(o.clone()))>{label}</button> }
                            })}
                        }.into_any()
                    };
                    let mine = m.mine && !m.deleted;
                    view! {
                        <li class="msg" class:mine=m.mine class:pending=m.pending data-id=m.id.clone()>
                            <div class="meta">
                                <strong>{m.author_name.clone()}</strong>
                                " · " <span class="at">{util::hhmm(m.at_ms)}</span>
                                {(m.edited).then(|| view! { <span class="muted">" · edited"</span> })}
                            </div>
                            <div class="body">{body}</div>
                            <div class="receipt muted">{receipt(m, online())}</div>
                            {mine.then(|| view! {
                                <div class="msg-tools">
                                    <button class="linkish" on:click=move |_| { editing.set(Some(id1.clone())); draft.set(text.clone()); }>"Edit"</button>
                                    <button class="linkish" on:click=move |_| {
                                        let ok = web_sys::window().and_then(|w| w.confirm_with_message("Delete this message? Everyone will see it was deleted.").ok()).unwrap_or(false);
                                        if ok { send(ChatAction::Delete { message: id2.clone() }); }
                                    }>"Delete"</button>
                                </div>
                            })}
                        </li>
                    }
                }).collect_view().into_any(),
            })}
        </ol>
        {move || view_s.with(|v| v.as_ref().filter(|v| v.can_post).map(|v| v.quick_replies.clone())).map(|qs| view! {
            <div class="quick-replies">
                {qs.into_iter().map(|q| {
                    let t = q.clone();
                    view! { <button class="chip" on:click=move |_| send(ChatAction::Post(NewMessage { text: t.clone(), ..Default::default() }))>{q}</button> }
                }).collect_view()}
            </div>
        })}
        <Show when=move || view_s.with(|v| v.as_ref().is_none_or(|v| v.can_post))
            fallback=move || view! { <p class="muted" id=format!("{ids}-closed")>"You can no longer write in this conversation."</p> }>
        <Show when=move || quoting.get()>
            <div class="quote-order">
                <input id=format!("{ids}-quote-ref") placeholder="Order reference, e.g. R-3F2A-0001" prop:value=move || quote.get()
                    on:input=move |e| quote.set(event_target_value(&e))
                    on:keydown=move |e: KeyboardEvent| if e.key() == "Enter" { send_quote() }/>
                <button id=format!("{ids}-quote-send") on:click=move |_| send_quote()>"Quote"</button>
            </div>
        </Show>
        <div class="composer">
            <textarea id=format!("{ids}-input") rows="2"
                placeholder=move || if editing.get().is_some() { "Edit your message" } else { "Write a message (Enter sends, Shift+Enter for a new line)" }
                prop:value=move || draft.get()
                on:input=move |e| draft.set(event_target_value(&e))
                on:keydown=move |e: KeyboardEvent| {
                    if e.key() == "Enter" && !e.shift_key() { e.prevent_default(); submit(); }
                    if e.key() == "Escape" { editing.set(None); draft.set(String::new()); }
                }></textarea>
            <div class="composer-tools">
                <button id=format!("{ids}-send") on:click=move |_| submit()>{move || if editing.get().is_some() { "Save" } else { "Send" }}</button>
                <button class="ghost" id=format!("{ids}-location") title="Share where I am" on:click=share_location>"Location"</button>
                <button class="ghost" id=format!("{ids}-quote") title="Quote an order" on:click=move |_| quoting.update(|q| *q = !*q)>"Order"</button>
                <label class="ghost button-like" title="Send a photo (kept on this device until it can go)">"Photo"
                    <input type="file" id=format!("{ids}-photo") accept="image/*" capture="environment" class="hidden-file"
                        node_ref=photo_in on:change=send_photo/>
                </label>
            </div>
        </div>
        </Show>
    }
}

/// A message's photo, from this device's files (fetched after the message
/// when it came from someone else; "on its way" until then).
#[component]
fn ChatPhoto(sha256: String) -> impl IntoView {
    let c = ctx();
    let src = RwSignal::new(None::<String>);
    let hash = StoredValue::new(sha256);
    Effect::new(move |_| {
        c.changed.track();
        if src.with_untracked(Option::is_some) {
            return;
        }
        run(
            Request::PodBlob {
                sha256: hash.get_value(),
            },
            move |r| {
                if let Ok(Response::PodBlob(b)) = r {
                    let _ = src.try_set(Some(util::data_url(&b.media_type, &b.base64)));
                }
            },
        );
    });
    move || match src.get() {
        Some(url) => view! { <img src=url alt="photo" class="chat-photo"/> }.into_any(),
        None => view! { <span class="muted photo-waiting">"Photo on its way…"</span> }.into_any(),
    }
}

fn mark_read(c: Ctx, link: ChatLink, view_s: RwSignal<Option<ChatView>>) {
    run(
        Request::ChatAct {
            link,
            action: ChatAction::MarkRead,
        },
        move |r| {
            if let Ok(Response::Chat(v)) = r {
                let _ = view_s.try_set(Some(v));
                // The header's unread total.
                c.changed.update(|n| *n += 1);
            }
        },
    );
}

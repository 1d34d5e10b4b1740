//! Ruta's UI: one Leptos CSR app for every role, compiled to wasm32.
//!
//! Architecture invariant: this crate never depends on rusqlite, tokio or
//! app-core. It talks to a core only through [`api::call`] with the DTOs of
//! `app-api`; all IO lives in [`api`] and [`util`].
//!
//! The signed-in user's role picks the workspace: couriers get their queue and
//! proof capture ([`courier`]), dispatchers and admins the console
//! ([`dispatcher`], admins with its People tab from [`account`]), clients the
//! portal ([`client`]); nobody signed in gets the sign-in screen
//! ([`account::SignIn`]). The header always shows the
//! link (online / offline / local only), how many records wait to sync and
//! the chat button with the unread total ([`chat`]); nothing waits on the
//! network.

pub mod account;
pub mod address;
pub mod api;
pub mod cash;
pub mod chat;
pub mod client;
pub mod config_items;
pub mod courier;
pub mod detail;
pub mod dispatcher;
pub mod fleet;
pub mod notices;
pub mod routes;
pub mod settings;
pub mod signature;
pub mod tickets;
pub mod trips;
pub mod util;
pub mod waybills;

use app_api::{DeviceStatus, LinkState, Request, Response, Role, SyncStatus};
use leptos::prelude::*;

/// What every workspace can read: who is signed in and the sync state.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub status: RwSignal<Option<DeviceStatus>>,
    pub sync: RwSignal<Option<SyncStatus>>,
    /// Bumped after every local write so lists reload.
    pub changed: RwSignal<u64>,
    /// The chat drawer: shown, the conversation open in it (None: the
    /// list), and the unread total across conversations.
    pub chat_open: RwSignal<bool>,
    pub chat: RwSignal<Option<app_api::chat::ChatLink>>,
    pub unread: RwSignal<u32>,
    /// An order a notification asked to open (the console opens its panel).
    pub open_order: RwSignal<Option<String>>,
    /// A support ticket a notification asked to open (the console's Support
    /// tab, the portal's support card).
    pub open_ticket: RwSignal<Option<String>>,
}

impl Ctx {
    pub fn user(&self) -> String {
        self.status
            .with_untracked(|s| s.as_ref().map(|s| s.user.clone()))
            .unwrap_or_default()
    }

    pub fn bump(&self) {
        self.changed.update(|n| *n += 1);
        self.refresh();
    }

    pub fn refresh(&self) {
        let (status, sync) = (self.status, self.sync);
        util::run(Request::DeviceStatus, move |r| {
            if let Ok(Response::DeviceStatus(s)) = r {
                status.set(Some(s));
            }
        });
        util::run(Request::SyncStatus, move |r| {
            if let Ok(Response::SyncStatus(s)) = r {
                sync.set(Some(s));
            }
        });
    }

    /// Applies one action to an order; a refusal goes to `error`, success
    /// clears it and reloads what shows orders.
    pub fn act(&self, order_id: String, action: app_api::Action, error: RwSignal<Option<String>>) {
        let c = *self;
        util::run(Request::Act { order_id, action }, move |r| match r {
            Ok(_) => {
                error.set(None);
                c.bump();
            }
            Err(e) => error.set(Some(e)),
        });
    }

    /// When the order's latest change still waits for the server, since when.
    pub fn pending_since(&self, order_id: &str) -> Option<i64> {
        self.sync.with(|s| {
            s.as_ref().and_then(|s| {
                s.pending
                    .iter()
                    .find(|p| p.order_id == order_id)
                    .map(|p| p.pending_since_ms)
            })
        })
    }
}

pub fn ctx() -> Ctx {
    expect_context::<Ctx>()
}

/// A record's sync badge: "synced" or "pending since HH:MM".
#[component]
pub fn SyncBadge(order_id: String) -> impl IntoView {
    let c = ctx();
    move || {
        let linked = c.sync.with(|s| {
            s.as_ref()
                .map(|s| s.link != LinkState::NotConfigured)
                .unwrap_or(false)
        });
        // The status lists the oldest pending records only; past them, say nothing.
        let listed_all = c.sync.with(|s| {
            s.as_ref()
                .is_none_or(|s| s.pending_count <= s.pending.len() as u64)
        });
        match c.pending_since(&order_id).filter(|_| linked) {
            Some(since) => view! {
                <span class="sync pending" title="Saved on this device; waiting for the server">
                    {format!("pending {}", util::hhmm(since))}
                </span>
            }
            .into_any(),
            None if linked && listed_all => {
                view! { <span class="sync synced">"synced"</span> }.into_any()
            }
            None if linked => ().into_any(),
            None => view! { <span class="sync local">"on this device"</span> }.into_any(),
        }
    }
}

/// The root component.
#[component]
pub fn App() -> impl IntoView {
    let transport = api::Transport::detect();
    let c = Ctx {
        status: RwSignal::new(None),
        sync: RwSignal::new(None),
        changed: RwSignal::new(0),
        chat_open: RwSignal::new(false),
        chat: RwSignal::new(None),
        unread: RwSignal::new(0),
        open_order: RwSignal::new(None),
        open_ticket: RwSignal::new(None),
    };
    provide_context(c);
    c.refresh();
    // The link and pending records change without this page doing anything.
    // One poll at a time: a slow device must not pile requests up.
    let polling = RwSignal::new(false);
    let _ = set_interval_with_handle(
        move || {
            if polling.get_untracked() {
                return;
            }
            polling.set(true);
            let sync = c.sync;
            util::run(Request::SyncStatus, move |r| {
                polling.set(false);
                if let Ok(Response::SyncStatus(s)) = r {
                    let before = sync.with_untracked(|x| x.as_ref().map(|x| x.revision));
                    let moved = before.is_some_and(|b| b != s.revision);
                    sync.set(Some(s));
                    // Changes merged from the server: lists and panels reload.
                    if moved {
                        c.changed.update(|n| *n += 1);
                        c.refresh();
                    }
                }
            });
        },
        std::time::Duration::from_millis(2000),
    );

    let link = move || {
        c.sync.with(|s| match s.as_ref().map(|s| s.link) {
            Some(LinkState::Online) => ("link online", "Online"),
            Some(LinkState::Offline) => ("link offline", "Offline — working locally"),
            _ => ("link local", "Local only"),
        })
    };
    let pending = move || {
        c.sync.with(|s| {
            s.as_ref()
                .map_or(0, |s| s.pending_count.max(s.pending.len() as u64))
        })
    };
    // The workspace is rebuilt only when the role changes, not on every status refresh.
    // `Some(None)`: nobody is signed in (the sign-in screen).
    let role = Memo::new(move |_| {
        c.status
            .with(|s| s.as_ref().map(|s| s.signed_in.then_some(s.role)))
    });

    view! {
        <header class="bar">
            <h1>"Ruta"</h1>
            <span class="who">
                {move || c.status.with(|s| s.as_ref().filter(|s| s.signed_in).map(|s| format!("{} · {}", s.user, role_label(s.role))))}
            </span>
            <span class="spacer"></span>
            <span id="link" class=move || link().0>{move || link().1}</span>
            <span id="pending-count" class="badge" title="Changes saved here, not yet confirmed by the server">
                {move || match pending() { 0 => "all synced".to_owned(), n => format!("{n} pending") }}
            </span>
            <span class="badge" title="Orders stored on this device">
                <span id="order-count">{move || c.status.with(|s| s.as_ref().map(|s| s.order_count))}</span>
                " orders"
            </span>
            <span id="transport" class="badge">{transport.label()}</span>
            {move || matches!(role.get(), Some(Some(_))).then(|| view! { <notices::NoticeButton/> <chat::ChatButton/> })}
            {move || matches!(role.get(), Some(Some(_))).then(|| view! { <account::AccountMenu/> })}
        </header>
        {move || match role.get() {
            None => view! { <main><p class="muted">"Opening the local store…"</p></main> }.into_any(),
            Some(None) => view! { <account::SignIn/> }.into_any(),
            Some(Some(Role::Courier)) => view! { <courier::Workspace/> }.into_any(),
            Some(Some(Role::Client)) => view! { <client::Portal/> }.into_any(),
            Some(Some(Role::Dispatcher | Role::Admin)) => view! { <dispatcher::Console/> }.into_any(),
        }}
        {move || matches!(role.get(), Some(Some(_))).then(|| view! { <chat::ChatDrawer/> })}
        <footer class="foot muted">
            {move || c.status.with(|s| s.as_ref().map(|s| view! {
                "Device " <span id="device-id">{s.device_id.clone()}</span>
                {format!(" · app-core {} · schema {}", s.core_version, s.schema_version)}
            }))}
            " · Map data © OpenStreetMap contributors"
        </footer>
    }
}

pub fn role_label(r: Role) -> &'static str {
    match r {
        Role::Client => "client",
        Role::Dispatcher => "dispatcher",
        Role::Courier => "courier",
        Role::Admin => "admin",
    }
}

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

mod import;
mod map;
mod new_order;
mod table;

use import::Import;
pub use map::MapView;
pub(crate) use map::to_js;
use new_order::NewOrderForm;
use table::{OrderTable, status_from};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Orders,
    Map,
    Drivers,
    Trips,
    Cash,
    Waybills,
    Routes,
    Support,
    New,
    Import,
    People,
    Settings,
}

#[component]
pub fn Console() -> impl IntoView {
    let tab = RwSignal::new(Tab::Orders);
    // People and devices live on the tenant's server: not offered when working alone.
    let sync = ctx().sync;
    let on_server = move || {
        sync.with(|s| {
            s.as_ref()
                .is_some_and(|s| s.link != app_api::LinkState::NotConfigured)
        })
    };
    // Only admins see the People tab (the server refuses others' admin calls too).
    let admin = ctx()
        .status
        .with_untracked(|s| s.as_ref().is_some_and(|s| s.role == app_api::Role::Admin));
    let open = RwSignal::new(None::<String>);
    // A notification opens its order here.
    let c = ctx();
    Effect::new(move |_| {
        if let Some(id) = c.open_order.get() {
            open.set(Some(id));
            tab.set(Tab::Orders);
            c.open_order.set(None);
        }
    });
    // … and a ticket in the Support tab (which takes it from `open_ticket`).
    Effect::new(move |_| {
        if c.open_ticket.get().is_some() {
            tab.set(Tab::Support);
        }
    });
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
            {tab_button(Tab::Trips, "tab-trips", "Trips")}
            {tab_button(Tab::Waybills, "tab-waybills", "Waybills")}
            {tab_button(Tab::Routes, "tab-routes", "Routes")}
            {tab_button(Tab::Cash, "tab-cash", "Cash")}
            {tab_button(Tab::Support, "tab-support", "Support")}
            {tab_button(Tab::New, "tab-new", "New order")}
            {tab_button(Tab::Import, "tab-import", "Import CSV")}
            {move || (admin && on_server()).then(|| tab_button(Tab::People, "tab-people", "People"))}
            {move || admin.then(|| tab_button(Tab::Settings, "tab-settings", "Settings"))}
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
                    Tab::Trips => view! { <crate::trips::TripsTab/> }.into_any(),
                    Tab::Cash => view! { <crate::cash::CashTab/> }.into_any(),
                    Tab::Waybills => view! { <crate::waybills::WaybillsTab/> }.into_any(),
                    Tab::Routes => view! { <crate::routes::RoutesTab/> }.into_any(),
                    Tab::Support => view! { <crate::tickets::SupportTab/> }.into_any(),
                    Tab::New => view! { <NewOrderForm on_created=Callback::new(move |id: String| util::later(move || { open.set(Some(id)); tab.set(Tab::Orders); }))/> }.into_any(),
                    Tab::Import => view! { <Import/> }.into_any(),
                    Tab::People => view! { <crate::account::Admin/> }.into_any(),
                    Tab::Settings => view! { <crate::settings::TenantSettings/> }.into_any(),
                }}
            </main>
            {move || open.get().map(|id| view! { <OrderPanel order_id=id on_close=Callback::new(move |_| util::later(move || open.set(None)))/> })}
        </div>
    }
}

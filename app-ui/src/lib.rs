//! Ruta's UI: one Leptos CSR app for every role, compiled to wasm32.
//!
//! Architecture invariant: this crate never depends on rusqlite, tokio or
//! app-core. It talks to a core only through [`api::call`] with the DTOs of
//! `app-api`; all IO lives in [`api`].
//!
//! Today it is the walking skeleton: the device panel, a create-order form and
//! the local order list. The courier, dispatcher and client workspaces grow here.

pub mod api;

use app_api::{ApiError, DeviceStatus, NewOrder, OrderQuery, OrderSummary, Request, Response};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The root component.
#[component]
pub fn App() -> impl IntoView {
    let transport = api::Transport::detect();
    let (status, set_status) = signal(None::<DeviceStatus>);
    let (orders, set_orders) = signal(Vec::<OrderSummary>::new());
    let (error, set_error) = signal(None::<String>);
    let (busy, set_busy) = signal(false);
    let (customer, set_customer) = signal(String::new());
    let (pickup, set_pickup) = signal(String::new());
    let (dropoff, set_dropoff) = signal(String::new());

    let refresh = move || {
        spawn_local(async move {
            match api::call(&Request::DeviceStatus).await {
                Ok(Response::DeviceStatus(s)) => set_status.set(Some(s)),
                Ok(other) => set_error.set(Some(unexpected(&other))),
                Err(e) => set_error.set(Some(e.to_string())),
            }
            match api::call(&Request::ListOrders(OrderQuery {
                descending: true,
                ..Default::default()
            }))
            .await
            {
                Ok(Response::Orders { orders, .. }) => set_orders.set(orders),
                Ok(other) => set_error.set(Some(unexpected(&other))),
                Err(e) => set_error.set(Some(e.to_string())),
            }
        });
    };
    refresh();

    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = Request::CreateOrder(NewOrder::simple(
            &customer.get_untracked(),
            &pickup.get_untracked(),
            &dropoff.get_untracked(),
        ));
        set_busy.set(true);
        spawn_local(async move {
            match api::call(&request).await {
                Ok(Response::Order(_)) => {
                    set_error.set(None);
                    set_customer.set(String::new());
                    set_pickup.set(String::new());
                    set_dropoff.set(String::new());
                    refresh();
                }
                Ok(other) => set_error.set(Some(unexpected(&other))),
                Err(e) => set_error.set(Some(describe(&e))),
            }
            set_busy.set(false);
        });
    };

    view! {
        <header class="bar">
            <h1>"Ruta"</h1>
            <span id="transport" class="badge">{transport.label()}</span>
        </header>
        <main>
            <section class="card" id="device">
                <h2>"This device"</h2>
                {move || match status.get() {
                    None => view! { <p class="muted">"Opening the local store…"</p> }.into_any(),
                    Some(s) => view! {
                        <dl>
                            <dt>"Device"</dt>
                            <dd id="device-id">{s.device_id.clone()}</dd>
                            <dt>"Orders stored locally"</dt>
                            <dd id="order-count">{s.order_count}</dd>
                            <dt>"Core"</dt>
                            <dd>{format!("app-core {} · schema {}", s.core_version, s.schema_version)}</dd>
                        </dl>
                    }.into_any(),
                }}
            </section>
            <section class="card">
                <h2>"New order"</h2>
                <form id="new-order" on:submit=create>
                    <label>"Customer"
                        <input id="customer-name" autocomplete="off" prop:value=customer
                            on:input=move |ev| set_customer.set(event_target_value(&ev)) />
                    </label>
                    <label>"Pickup address"
                        <input id="pickup-address" autocomplete="off" prop:value=pickup
                            on:input=move |ev| set_pickup.set(event_target_value(&ev)) />
                    </label>
                    <label>"Drop-off address"
                        <input id="dropoff-address" autocomplete="off" prop:value=dropoff
                            on:input=move |ev| set_dropoff.set(event_target_value(&ev)) />
                    </label>
                    <button id="create-order" type="submit" disabled=busy>"Create order"</button>
                </form>
                <Show when=move || error.get().is_some()>
                    <p id="error" class="error" role="alert">{move || error.get()}</p>
                </Show>
            </section>
            <section class="card">
                <h2>"Orders on this device"</h2>
                <Show
                    when=move || !orders.get().is_empty()
                    fallback=|| view! {
                        <p id="orders-empty" class="muted">
                            "No orders on this device yet. Create one above: it is stored locally and needs no connection."
                        </p>
                    }
                >
                    <ul id="orders">
                        <For each=move || orders.get() key=|o| o.id.clone() children=order_row />
                    </ul>
                </Show>
            </section>
        </main>
    }
}

fn order_row(order: OrderSummary) -> impl IntoView {
    let route = match (
        order.pickup_address.is_empty(),
        order.dropoff_address.is_empty(),
    ) {
        (true, true) => String::new(),
        _ => format!("{} → {}", order.pickup_address, order.dropoff_address),
    };
    let data_reference = order.reference.clone();
    view! {
        <li class="order" data-reference=data_reference>
            <span class="ref">{order.reference}</span>
            <span class="name">{order.customer_name}</span>
            <span class="route">{route}</span>
            <span class="status">{order.status.label()}</span>
        </li>
    }
}

fn describe(e: &ApiError) -> String {
    match e {
        ApiError::Invalid { field, message } => {
            format!("{} {message}.", field_label(field))
        }
        other => other.to_string(),
    }
}

fn field_label(field: &str) -> &str {
    match field {
        "customer_name" => "Customer",
        "pickup.address.line1" => "Pickup address",
        "dropoff.address.line1" => "Drop-off address",
        other => other,
    }
}

fn unexpected(r: &Response) -> String {
    format!("unexpected answer from the core: {r:?}")
}

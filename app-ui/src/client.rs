//! The client portal: create an order, follow its status and timeline, download
//! invoices and statements.

use app_api::{DocumentRequest, NewOrder, OrderQuery, OrderSummary, Request, Response};
use leptos::prelude::*;

use crate::detail::OrderPanel;
use crate::util::{self, run};
use crate::{SyncBadge, ctx};

#[component]
pub fn Portal() -> impl IntoView {
    let c = ctx();
    let orders = RwSignal::new(Vec::<OrderSummary>::new());
    let open = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let (customer, pickup, dropoff, phone) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    Effect::new(move |_| {
        c.changed.track();
        run(
            Request::ListOrders(OrderQuery {
                descending: true,
                limit: 500,
                ..Default::default()
            }),
            move |r| match r {
                Ok(Response::Orders { orders: o, .. }) => orders.set(o),
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        );
    });
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut new = NewOrder::simple(
            &customer.get_untracked(),
            &pickup.get_untracked(),
            &dropoff.get_untracked(),
        );
        new.dropoff_phone = phone.get_untracked();
        run(Request::CreateOrder(new), move |r| match r {
            Ok(Response::Order(o)) => {
                error.set(None);
                for s in [customer, pickup, dropoff, phone] {
                    s.set(String::new());
                }
                open.set(Some(o.id));
                c.bump();
            }
            Ok(other) => error.set(Some(util::unexpected(&other))),
            Err(e) => error.set(Some(e)),
        });
    };
    let statement = move |_| {
        let name = orders
            .with_untracked(|o| o.first().map(|o| o.customer_name.clone()))
            .unwrap_or_default();
        let to = util::now_ms() + 86_400_000;
        run(
            Request::Document(DocumentRequest::Statement {
                customer_name: name,
                from_ms: to - 31 * 86_400_000,
                to_ms: to,
                csv: false,
            }),
            move |r| match r {
                Ok(Response::Document(f)) => {
                    let _ = util::download(&f.filename, &f.mime, &f.data_base64);
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        );
    };
    let input = move |id: &'static str, label: &'static str, s: RwSignal<String>| {
        view! { <label>{label}<input id=id autocomplete="off" prop:value=s on:input=move |ev| s.set(event_target_value(&ev))/></label> }
    };
    view! {
        <div class="console" class:with-panel=move || open.get().is_some()>
            <main class="work">
                <section class="card">
                    <h2>"Send a parcel"</h2>
                    <form id="client-new-order" class="grid" on:submit=create>
                        {input("customer-name", "Recipient", customer)}
                        {input("pickup-address", "Pickup address", pickup)}
                        {input("dropoff-address", "Delivery address", dropoff)}
                        {input("dropoff-phone", "Recipient phone", phone)}
                        <button id="create-order" type="submit">"Order delivery"</button>
                    </form>
                    <Show when=move || error.get().is_some()><p id="error" class="error" role="alert">{move || error.get()}</p></Show>
                </section>
                <section class="card">
                    <h2>"My orders"</h2>
                    <button class="ghost" id="statement" on:click=statement>"Statement (last 31 days, PDF)"</button>
                    <Show when=move || !orders.with(|o| o.is_empty())
                        fallback=|| view! { <p id="orders-empty" class="muted">"No orders yet. Send your first parcel above — it is saved even without a connection."</p> }>
                        <ul class="client-orders" id="orders">
                            {move || orders.get().into_iter().map(|o| {
                                let id = o.id.clone();
                                view! {
                                    <li class="order" data-reference=o.reference.clone() on:click=move |_| open.set(Some(id.clone()))>
                                        <span class="ref">{o.reference.clone()}</span>
                                        <span>{o.customer_name.clone()}</span>
                                        <span class="muted">{o.dropoff_address.clone()}</span>
                                        <span class=format!("status {}", util::status_class(o.status))>{o.status.label()}</span>
                                        <SyncBadge order_id=o.id.clone()/>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </Show>
                </section>
            </main>
            {move || open.get().map(|id| view! { <OrderPanel order_id=id on_close=Callback::new(move |_| util::later(move || open.set(None)))/> })}
        </div>
    }
}

//! The client portal: create an order, follow its status and timeline, download
//! invoices and statements.

use app_api::{
    DocumentRequest, ExportKind, ExportRequest, NewOrder, OrderQuery, OrderSummary, Point, Request,
    Response,
};
use leptos::prelude::*;

use crate::address::AddressField;
use crate::detail::OrderPanel;
use crate::util::{self, run};
use crate::{SyncBadge, ctx};

#[component]
pub fn Portal() -> impl IntoView {
    let c = ctx();
    let orders = RwSignal::new(Vec::<OrderSummary>::new());
    let open = RwSignal::new(None::<String>);
    // The ticket open beside the cards (an order's panel and a ticket's share the place).
    let ticket = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(t) = c.open_ticket.get() {
            ticket.set(Some(t));
            open.set(None);
            c.open_ticket.set(None);
        }
    });
    Effect::new(move |_| {
        if open.get().is_some() {
            ticket.set(None);
        }
    });
    // A ticket's or a notification's order opens in the panel.
    Effect::new(move |_| {
        if let Some(o) = c.open_order.get() {
            open.set(Some(o));
            c.open_order.set(None);
        }
    });
    let error = RwSignal::new(None::<String>);
    let (customer, pickup, dropoff, phone) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let (pickup_at, dropoff_at) = (RwSignal::new(None::<Point>), RwSignal::new(None::<Point>));
    let typed = move || {
        let mut new = NewOrder::simple(&customer.get(), &pickup.get(), &dropoff.get());
        new.dropoff_phone = phone.get();
        new.pickup_point = pickup_at.get();
        new.dropoff_point = dropoff_at.get();
        new
    };
    // The price before sending, as the order will be priced.
    let quote = util::live_quote(move || {
        let mut new = typed();
        if new.pickup_address.trim().is_empty() || new.dropoff_address.trim().is_empty() {
            return Ok(None);
        }
        if new.customer_name.trim().is_empty() {
            new.customer_name = "-".into();
        }
        Ok(Some(new))
    });
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
        let new = untrack(typed);
        run(Request::CreateOrder(new), move |r| match r {
            Ok(Response::Order(o)) => {
                error.set(None);
                for s in [customer, pickup, dropoff, phone] {
                    s.set(String::new());
                }
                pickup_at.set(None);
                dropoff_at.set(None);
                open.set(Some(o.id));
                c.bump();
            }
            Ok(other) => error.set(Some(util::unexpected(&other))),
            Err(e) => error.set(Some(e)),
        });
    };
    let statement = move |_| {
        // The core makes it of this client's own orders (whoever received them).
        let to = util::now_ms() + 86_400_000;
        run(
            Request::Document(DocumentRequest::Statement {
                customer_name: String::new(),
                client: None,
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
    // Every order of this client's (the core exports no one else's).
    let export = move |_| {
        run(
            Request::ExportCsv(ExportRequest {
                what: ExportKind::Orders,
                query: OrderQuery::default(),
            }),
            move |r| match r {
                Ok(Response::Csv(f)) => {
                    let _ = util::download_text(&f.filename, "text/csv", &f.text);
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
        <div class="console" class:with-panel=move || open.get().is_some() || ticket.get().is_some()>
            <main class="work">
                <section class="card">
                    <h2>"Send a parcel"</h2>
                    <form id="client-new-order" class="grid" on:submit=create>
                        {input("customer-name", "Recipient", customer)}
                        <AddressField id="pickup-address" label="Pickup address" text=pickup point=pickup_at/>
                        <AddressField id="dropoff-address" label="Delivery address" text=dropoff point=dropoff_at/>
                        {input("dropoff-phone", "Recipient phone", phone)}
                        <button id="create-order" type="submit">"Order delivery"</button>
                    </form>
                    <div class="quote" id="price-preview" aria-live="polite">
                        {move || match quote.get() {
                            None => view! { <p class="muted small">"The price appears once both addresses are typed."</p> }.into_any(),
                            Some(Err(e)) => view! { <p class="muted small">{format!("No price yet: {e}")}</p> }.into_any(),
                            Some(Ok(q)) => view! {
                                <table class="quote-lines">
                                    {q.lines.iter().map(|l| view! { <tr><td>{l.label.clone()}</td><td class="num">{util::euros(l.cents)}</td></tr> }).collect_view()}
                                    <tr class="total"><td>"Total (VAT incl.)"</td><td class="num" id="price-total">{util::euros(q.total_cents)}</td></tr>
                                </table>
                                <p class="muted small" id="price-distance">{if q.distance_m > 0 { format!("{:.1} km {}", q.distance_m as f64 / 1000.0, if q.by_road { "by road" } else { "(straight line)" }) } else { "Choose suggested addresses to price the distance.".to_owned() }}</p>
                            }.into_any(),
                        }}
                    </div>
                    <Show when=move || error.get().is_some()><p id="error" class="error" role="alert">{move || error.get()}</p></Show>
                </section>
                <section class="card">
                    <h2>"My orders"</h2>
                    <button class="ghost" id="statement" on:click=statement>"Statement (last 31 days, PDF)"</button>
                    " "
                    <button class="ghost" id="export-orders" on:click=export>"Export my orders (CSV)"</button>
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
                <crate::tickets::ClientSupport orders=orders open=ticket/>
            </main>
            {move || open.get().map(|id| view! { <OrderPanel order_id=id on_close=Callback::new(move |_| util::later(move || open.set(None)))/> })}
            {move || ticket.get().map(|id| view! { <crate::tickets::TicketPanel ticket_id=id on_close=Callback::new(move |_| util::later(move || ticket.set(None)))/> })}
        </div>
    }
}

//! Cash on delivery and its remittance: the console's Cash tab (every
//! courier's position, most to chase first; a courier's hand-overs; record
//! what was counted, by the courier's code or typed; settle a discrepancy)
//! and the courier's hand-over card (cash in hand, declare, the code to show
//! at the desk). The rules are the core's (`cash_doc`); nothing is netted here.

use app_api::cash::{
    CashAction, CashLedgerView, CashPositionView, CashResolution, HandoverStatus, HandoverView,
};
use app_api::{DocumentRequest, Request, Response};
use leptos::prelude::*;

use crate::ctx;
use crate::util::{self, run};

fn status_class(s: HandoverStatus) -> &'static str {
    match s {
        HandoverStatus::Declared => "st st-assigned",
        HandoverStatus::Received => "st st-delivered",
        HandoverStatus::Discrepancy => "st st-failed",
        HandoverStatus::Settled => "st st-transit",
        HandoverStatus::Withdrawn => "st st-cancelled",
    }
}

fn money(c: Option<i64>) -> String {
    c.map_or_else(|| "—".into(), util::euros)
}

fn signed(c: i64) -> String {
    if c > 0 {
        format!("+{}", util::euros(c))
    } else if c < 0 {
        format!("−{}", util::euros(-c))
    } else {
        util::euros(0)
    }
}

/// Sends a cash action; on success `done` gets the ledger and lists reload.
fn act(
    action: CashAction,
    error: RwSignal<Option<String>>,
    done: impl FnOnce(CashLedgerView) + 'static,
) {
    let c = ctx();
    run(Request::CashAct(action), move |r| match r {
        Ok(Response::CashLedger(l)) => {
            error.set(None);
            done(l);
            c.bump();
        }
        Ok(other) => error.set(Some(util::unexpected(&other))),
        Err(e) => error.set(Some(e)),
    });
}

/// Today in the tenant's sense, as the device's clock gives it (YYYY-MM-DD).
fn today() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "{:04}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    )
}

/// Downloads a courier's remittance statement for `day`.
fn statement(courier: String, day: String, csv: bool, error: RwSignal<Option<String>>) {
    run(
        Request::Document(DocumentRequest::Remittance { courier, day, csv }),
        move |r| match r {
            Ok(Response::Document(f)) => {
                if let Err(e) = util::download(&f.filename, &f.mime, &f.data_base64) {
                    error.set(Some(e));
                }
            }
            Ok(other) => error.set(Some(util::unexpected(&other))),
            Err(e) => error.set(Some(e)),
        },
    );
}

/// The console's Cash tab.
#[component]
pub fn CashTab() -> impl IntoView {
    let c = ctx();
    let positions = RwSignal::new(Vec::<CashPositionView>::new());
    let selected = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        c.changed.track();
        run(Request::CashPositions, move |r| match r {
            Ok(Response::CashPositions { positions: p }) => {
                let _ = positions.try_set(p);
            }
            Ok(other) => error.set(Some(util::unexpected(&other))),
            Err(e) => error.set(Some(e)),
        });
    });
    view! {
        <section class="cash">
            <div class="cash-list">
                <h2>"Cash"</h2>
                <Show when=move || error.get().is_some()><p class="error" role="alert">{move || error.get()}</p></Show>
                <ReceiveForm on_done=Callback::new(move |courier: String| util::later(move || selected.set(Some(courier))))/>
                <Show when=move || positions.with(|p| p.is_empty())>
                    <p class="empty muted" id="cash-empty">"No cash yet: couriers' collections at the door show here, with what they handed over."</p>
                </Show>
                <table id="cash-positions" class="grid">
                    <thead><tr><th>"Courier"</th><th class="num">"Collected"</th><th class="num">"Received"</th><th class="num">"Awaiting"</th><th class="num">"In hand"</th><th>""</th></tr></thead>
                    <tbody>
                        {move || positions.get().into_iter().map(|p| {
                            let who = p.courier.clone();
                            let active = { let who = who.clone(); move || selected.get().as_deref() == Some(who.as_str()) };
                            view! {
                                <tr class="cash-row" class:active=active data-courier=who.clone()
                                    on:click={ let who = who.clone(); move |_| selected.set(Some(who.clone())) }>
                                    <td>{p.courier_name.clone()}</td>
                                    <td class="num">{util::euros(p.collected_cents)}</td>
                                    <td class="num">{util::euros(p.received_cents)}</td>
                                    <td class="num">{util::euros(p.pending_cents)}</td>
                                    <td class="num"><b>{util::euros(p.outstanding_cents)}</b></td>
                                    <td>
                                        {(p.open_discrepancies > 0).then(|| view! { <span class="st st-failed">{format!("{} discrepancy", p.open_discrepancies)}</span> })}
                                        {p.over_limit.then(|| view! { <span class="short" title="Over the tenant's cash limit: no cash orders until they hand over">" over limit"</span> })}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <div class="cash-main">
                {move || match selected.get() {
                    Some(courier) => view! { <Ledger courier=courier/> }.into_any(),
                    None => view! { <p class="muted">"Choose a courier to see their hand-overs, or record one above."</p> }.into_any(),
                }}
            </div>
        </section>
    }
}

/// Record what was counted at the desk: the courier's code (scanned into the
/// field, or pasted), or the courier and their figure typed.
#[component]
fn ReceiveForm(on_done: Callback<String>) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let courier = RwSignal::new(String::new());
    let declared = RwSignal::new(String::new());
    let counted = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(cents) = crate::settings::cents(&counted.get_untracked()) else {
            error.set(Some("Counted: type the amount counted, e.g. 48.00".into()));
            return;
        };
        let d = declared.get_untracked();
        let declared_cents = if d.trim().is_empty() {
            None
        } else {
            match crate::settings::cents(&d) {
                Some(c) => Some(c),
                None => {
                    error.set(Some(
                        "Courier says: an amount, e.g. 50.00, or nothing".into(),
                    ));
                    return;
                }
            }
        };
        let code_text = code.get_untracked();
        let who = courier.get_untracked();
        act(
            CashAction::Receive {
                code: (!code_text.trim().is_empty()).then(|| code_text.trim().to_owned()),
                courier: (!who.trim().is_empty()).then(|| who.trim().to_owned()),
                cents,
                declared_cents,
                note: note.get_untracked(),
            },
            error,
            move |l| {
                code.set(String::new());
                counted.set(String::new());
                declared.set(String::new());
                note.set(String::new());
                on_done.run(l.position.courier);
            },
        );
    };
    view! {
        <form id="cash-receive" class="card" on:submit=submit>
            <h3>"Record a hand-over"</h3>
            <label>"Courier's code "<input id="cash-code" placeholder="scan or paste ruta-cash:…" prop:value=code on:input=move |e| code.set(event_target_value(&e))/></label>
            <p class="muted small">"No code (their phone is off)? Name the courier and what they say they hand over:"</p>
            <div class="row">
                <label>"Courier "<input id="cash-courier" list="courier-list" prop:value=courier on:input=move |e| courier.set(event_target_value(&e))/></label>
                <label>"Courier says "<input id="cash-declared" inputmode="decimal" size="8" prop:value=declared on:input=move |e| declared.set(event_target_value(&e))/></label>
            </div>
            <div class="row">
                <label>"Counted "<input id="cash-counted" inputmode="decimal" size="8" required prop:value=counted on:input=move |e| counted.set(event_target_value(&e))/></label>
                <label>"Note "<input id="cash-note" prop:value=note on:input=move |e| note.set(event_target_value(&e))/></label>
                <button id="cash-record" type="submit">"Record"</button>
            </div>
            <Show when=move || error.get().is_some()><p class="error" role="alert">{move || error.get()}</p></Show>
        </form>
    }
}

/// One courier's ledger: position, hand-overs (settle a discrepancy), collections.
#[component]
fn Ledger(courier: String) -> impl IntoView {
    let c = ctx();
    let ledger = RwSignal::new(None::<CashLedgerView>);
    let error = RwSignal::new(None::<String>);
    let day = RwSignal::new(today());
    {
        let courier = courier.clone();
        Effect::new(move |_| {
            c.changed.track();
            run(
                Request::CashLedger {
                    courier: Some(courier.clone()),
                },
                move |r| match r {
                    Ok(Response::CashLedger(l)) => {
                        let _ = ledger.try_set(Some(l));
                    }
                    Ok(other) => error.set(Some(util::unexpected(&other))),
                    Err(e) => error.set(Some(e)),
                },
            );
        });
    }
    let who = courier.clone();
    view! {
        <div id="cash-ledger" data-courier=courier.clone()>
            <Show when=move || error.get().is_some()><p class="error" role="alert">{move || error.get()}</p></Show>
            {move || ledger.get().map(|l| {
                let p = l.position.clone();
                let courier = who.clone();
                view! {
                    <h2>{p.courier_name.clone()}" "<span class="muted small">{l.pending_sync.then_some("· not synced yet")}</span></h2>
                    <p class="cash-summary">
                        {format!("Collected {} · received {} · written off {} · awaiting receipt {} · ", util::euros(p.collected_cents), util::euros(p.received_cents), util::euros(p.written_off_cents), util::euros(p.pending_cents))}
                        <b id="cash-outstanding">{format!("in hand {}", util::euros(p.outstanding_cents))}</b>
                        {p.limit_cents.map(|lim| format!(" (limit {})", util::euros(lim)))}
                    </p>
                    <div class="row">
                        <label>"Statement for "<input type="date" id="cash-day" prop:value=day on:input=move |e| day.set(event_target_value(&e))/></label>
                        <button class="ghost" id="cash-statement" on:click={ let courier = courier.clone(); move |_| statement(courier.clone(), day.get_untracked(), false, error) }>"PDF"</button>
                        <button class="ghost" id="cash-statement-csv" on:click={ let courier = courier.clone(); move |_| statement(courier.clone(), day.get_untracked(), true, error) }>"CSV"</button>
                    </div>
                    <h3>"Hand-overs"</h3>
                    {l.handovers.is_empty().then(|| view! { <p class="muted empty">"Nothing handed over yet."</p> })}
                    <ul id="cash-handovers" class="plain">
                        {l.handovers.into_iter().map(|h| view! { <HandoverItem h=h courier=courier.clone() error=error/> }).collect_view()}
                    </ul>
                    <h3>"Collected at the door"</h3>
                    {l.collections.is_empty().then(|| view! { <p class="muted empty">"No cash collected."</p> })}
                    <table class="grid" id="cash-collections">
                        <tbody>
                            {l.collections.into_iter().map(|c| view! {
                                <tr><td>{util::stamp(c.at_ms)}</td><td>{c.reference}</td><td class="num">{util::euros(c.cents)}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }
            })}
        </div>
    }
}

#[component]
fn HandoverItem(
    h: HandoverView,
    courier: String,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let recount = RwSignal::new(String::new());
    let id = h.id.clone();
    let settle = {
        let (id, courier) = (id.clone(), courier.clone());
        move |resolution: CashResolution| {
            act(
                CashAction::Resolve {
                    courier: courier.clone(),
                    handover: id.clone(),
                    resolution,
                    note: String::new(),
                },
                error,
                |_| {},
            )
        }
    };
    let open = h.status == HandoverStatus::Discrepancy;
    let (s1, s2, s3) = (settle.clone(), settle.clone(), settle);
    view! {
        <li class="handover" data-id=id.clone() data-status=util::name_of(&h.status)>
            <span class=status_class(h.status)>{h.status.label()}</span>
            {format!(" {} · declared {} · received {}", h.id, money(h.declared_cents), money(h.received_cents))}
            {h.difference_cents.filter(|d| *d != 0).map(|d| view! { <b class="short diff">{format!(" · {}", signed(d))}</b> })}
            {h.received_by.clone().map(|b| view! { <span class="muted">{format!(" · by {b}")}</span> })}
            {h.received_at_ms.or(h.declared_at_ms).map(|t| view! { <span class="muted">{format!(" · {}", util::stamp(t))}</span> })}
            {h.paired_receipt.clone().map(|r| view! { <p class="muted small">{format!("Recorded at the desk without the courier's code ({r}) and matched with their declaration.")}</p> })}
            {(!h.duplicate_receipts.is_empty()).then(|| view! { <p class="short small">{format!("Also recorded by {}: counted once.", h.duplicate_receipts.iter().map(|(u, c)| format!("{u} ({})", util::euros(*c))).collect::<Vec<_>>().join(", "))}</p> })}
            {h.resolution.clone().map(|r| view! { <p class="small">{format!("Settled: {}{}", r.label(), h.resolved_by.clone().map(|b| format!(" by {b}")).unwrap_or_default())}</p> })}
            {(!h.notes.is_empty()).then(|| view! { <p class="muted small">{h.notes.join(" · ")}</p> })}
            {open.then(|| view! {
                <div class="row settle">
                    <button class="ghost settle-writeoff" on:click=move |_| s1(CashResolution::WrittenOff)>"Write off"</button>
                    <button class="ghost settle-charge" on:click=move |_| s2(CashResolution::ChargedToCourier)>"Charge to courier"</button>
                    <input class="settle-amount" inputmode="decimal" size="8" placeholder="recount" prop:value=recount on:input=move |e| recount.set(event_target_value(&e))/>
                    <button class="ghost settle-recount" on:click=move |_| match crate::settings::cents(&recount.get_untracked()) {
                        Some(cents) => s3(CashResolution::Recounted { cents }),
                        None => error.set(Some("Recount: type the amount counted again, e.g. 50.00".into())),
                    }>"Recounted"</button>
                </div>
            })}
        </li>
    }
}

/// The courier's cash: what they hold, declare a hand-over, the code to show.
#[component]
pub fn CourierCash() -> impl IntoView {
    let c = ctx();
    let ledger = RwSignal::new(None::<CashLedgerView>);
    let amount = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let open = RwSignal::new(false);
    Effect::new(move |_| {
        c.changed.track();
        run(Request::CashLedger { courier: None }, move |r| {
            if let Ok(Response::CashLedger(l)) = r {
                let _ = ledger.try_set(Some(l));
            }
        });
    });
    let declare = move |_| {
        let Some(cents) = crate::settings::cents(&amount.get_untracked()) else {
            error.set(Some(
                "Amount: type the cash you hand over, e.g. 120.50".into(),
            ));
            return;
        };
        act(
            CashAction::Declare {
                cents,
                note: String::new(),
            },
            error,
            move |_| amount.set(String::new()),
        );
    };
    let withdraw = move |handover: String| act(CashAction::Withdraw { handover }, error, |_| {});
    view! {
        {move || ledger.get().filter(|l| l.position.collected_cents > 0 || !l.handovers.is_empty()).map(|l| {
            let p = l.position.clone();
            let waiting: Vec<HandoverView> = l.handovers.iter().filter(|h| h.status == HandoverStatus::Declared).cloned().collect();
            let to_declare = p.outstanding_cents - p.pending_cents;
            let recent: Vec<HandoverView> = l.handovers.iter().filter(|h| h.status != HandoverStatus::Declared).take(3).cloned().collect();
            view! {
                <section class="card courier-cash" id="courier-cash">
                    <div class="row">
                        <h2>"Cash"</h2>
                        <b id="cash-in-hand">{format!("In hand {}", util::euros(p.outstanding_cents))}</b>
                        {p.over_limit.then(|| view! { <span class="short">" over the limit: hand over before more cash stops"</span> })}
                        {l.pending_sync.then(|| view! { <span class="muted small">" · not synced yet"</span> })}
                    </div>
                    {waiting.into_iter().map(|h| {
                        let id = h.id.clone();
                        view! {
                            <div class="handover-code" data-id=h.id.clone()>
                                <p>{format!("Show this at the desk: {} hands over {}", h.id, money(h.declared_cents))}</p>
                                {h.qr_png_base64.clone().map(|png| view! { <img class="qr" alt="Hand-over code" src=util::data_url("image/png", &png)/> })}
                                <p class="muted small mono">{h.qr_payload.clone()}</p>
                                <button class="ghost" on:click=move |_| withdraw(id.clone())>"Take back"</button>
                            </div>
                        }
                    }).collect_view()}
                    <Show when=move || open.get()
                        fallback=move || view! { <button id="cash-handover" disabled=to_declare <= 0 on:click=move |_| { amount.set(if to_declare > 0 { crate::settings::euros(to_declare) } else { String::new() }); open.set(true); }>"Hand over cash"</button> }>
                        <div class="row">
                            <label>"Amount "<input id="cash-amount" inputmode="decimal" size="8" prop:value=amount on:input=move |e| amount.set(event_target_value(&e))/></label>
                            <button id="cash-declare" on:click=move |e| { declare(e); open.set(false); }>"Declare"</button>
                            <button class="ghost" on:click=move |_| open.set(false)>"Cancel"</button>
                        </div>
                    </Show>
                    <Show when=move || error.get().is_some()><p class="error" role="alert">{move || error.get()}</p></Show>
                    <ul class="plain small">
                        {recent.into_iter().map(|h| view! {
                            <li class="handover" data-status=util::name_of(&h.status)>
                                <span class=status_class(h.status)>{h.status.label()}</span>
                                {format!(" {} · {}", money(h.received_cents.or(h.declared_cents)), h.received_at_ms.or(h.declared_at_ms).map(util::stamp).unwrap_or_default())}
                                {h.difference_cents.filter(|d| *d != 0).map(|d| view! { <b class="short">{format!(" · {}", signed(d))}</b> })}
                                {h.resolution.as_ref().map(|r| format!(" · {}", r.label().to_lowercase()))}
                            </li>
                        }).collect_view()}
                    </ul>
                </section>
            }
        })}
    }
}

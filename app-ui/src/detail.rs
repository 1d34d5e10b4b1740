//! One order in full: stops, what may be done now, conflicts, proofs of
//! delivery with their photos, signatures and chain status, the timeline with
//! capture times and devices, and its documents.

use app_api::{
    Action, ActionKind, DocumentRequest, OrderDetail, PodChainStatus, PodInput, Request, Response,
    Role,
};
use leptos::prelude::*;

use crate::util::{self, run};
use crate::{SyncBadge, ctx};

/// Loads and shows one order. `on_close` hides the panel.
#[component]
pub fn OrderPanel(order_id: String, on_close: Callback<()>) -> impl IntoView {
    let c = ctx();
    let detail = RwSignal::new(None::<OrderDetail>);
    let error = RwSignal::new(None::<String>);
    let chains = RwSignal::new(Vec::<PodChainStatus>::new());
    // The tenant's warehouses, for the hub receipt, and the one chosen.
    let warehouses = RwSignal::new(Vec::<app_api::config::Warehouse>::new());
    let hub = RwSignal::new(String::new());
    run(Request::TenantConfig, move |r| {
        if let Ok(Response::TenantConfig(v)) = r {
            let _ = warehouses.try_set(v.config.warehouses);
        }
    });
    let id = StoredValue::new(order_id.clone());
    let load = move || {
        run(
            Request::GetOrder {
                order_id: id.get_value(),
            },
            move |r| match r {
                Ok(Response::OrderDetail(d)) => {
                    let has_pods = !d.pods.is_empty();
                    detail.set(Some(d));
                    if has_pods {
                        run(Request::PodChains, move |r| {
                            if let Ok(Response::PodChains { chains: c }) = r {
                                chains.set(c);
                            }
                        });
                    }
                }
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        );
    };
    Effect::new(move |_| {
        c.changed.track();
        load();
    });

    let act = move |action: Action| c.act(id.get_value(), action, error);
    let code = RwSignal::new(None::<app_api::VerificationCodeView>);
    let show_code = move |_| {
        run(
            Request::VerificationCode {
                order_id: id.get_value(),
            },
            move |r| match r {
                Ok(Response::VerificationCode(v)) => code.set(Some(v)),
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        );
    };
    let courier = RwSignal::new(String::new());
    // What speaks against the assignment being asked for (the courier, the warnings).
    let warned = RwSignal::new(None::<(String, Vec<app_api::AssignmentWarning>)>);
    let assign = move |who: String| {
        run(
            Request::AssignmentWarnings {
                order_ids: vec![id.get_value()],
                courier: who.clone(),
            },
            move |r| match r {
                Ok(Response::AssignmentWarnings { warnings }) if warnings.is_empty() => {
                    act(Action::Assign { courier: who })
                }
                Ok(Response::AssignmentWarnings { warnings }) => warned.set(Some((who, warnings))),
                Ok(other) => error.set(Some(util::unexpected(&other))),
                Err(e) => error.set(Some(e)),
            },
        )
    };
    let reason = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());

    let doc = move |req: DocumentRequest| {
        run(Request::Document(req), move |r| match r {
            Ok(Response::Document(f)) => {
                if let Err(e) = util::download(&f.filename, &f.mime, &f.data_base64) {
                    error.set(Some(e));
                }
            }
            Ok(other) => error.set(Some(util::unexpected(&other))),
            Err(e) => error.set(Some(e)),
        });
    };

    view! {
        <aside class="panel" id="order-panel" data-order=order_id.clone()>
            <div class="panel-head">
                <h2>{move || detail.with(|d| d.as_ref().map(|d| format!("{} · {}", d.summary.reference, d.summary.customer_name)))}</h2>
                <button class="ghost" id="panel-chat" title="The order's chat: its courier and dispatchers" on:click={let o = order_id.clone(); move |_| crate::chat::open_chat(c, app_api::chat::ChatLink::Order { order: o.clone() })}>"Chat"</button>
                <button class="ghost" id="panel-close" title="Close (Esc)" on:click=move |_| on_close.run(())>"×"</button>
            </div>
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert" id="panel-error">{move || error.get()}</p>
            </Show>
            {move || detail.get().map(|d| {
                let s = d.summary.clone();
                let role = c.status.with_untracked(|s| s.as_ref().map(|s| s.role));
                let operator = role.is_some_and(Role::is_operator);
                let actions = d.actions.clone();
                let has = |a: ActionKind| actions.contains(&a);
                let (can_assign, can_unassign, can_cancel, can_return, can_reopen, can_carrier) = (
                    has(ActionKind::Assign), has(ActionKind::Unassign), has(ActionKind::Cancel),
                    has(ActionKind::Return), has(ActionKind::Reopen),
                    has(ActionKind::RecordCarrierDelivery),
                );
                // An external carrier's steps, recorded by the operator (the
                // lifecycle offers them to operators only for such orders).
                let (carrier_pickup, carrier_transit, carrier_failed) = (
                    operator && has(ActionKind::PickUp),
                    operator && has(ActionKind::StartTransit),
                    operator && has(ActionKind::FailAttempt),
                );
                let delivered = d.documents;
                // The hub takes the parcel in (a pickup order's completion, a
                // pickup & delivery order's first leg); its own hub first.
                let can_receive = operator && has(ActionKind::ReceiveAtHub);
                let own_hub = d.dropoff.as_ref().and_then(|p| p.warehouse.clone());
                if can_receive && hub.get_untracked().is_empty() {
                    hub.set(own_hub.clone().or_else(|| warehouses.with_untracked(|w| w.first().map(|w| w.id.clone()))).unwrap_or_default());
                }
                view! {
                    <div class="panel-body">
                        <p>
                            <span id="panel-status" class=util::status_class(s.status)>{s.status.label()}</span>
                            " " <SyncBadge order_id=s.id.clone()/>
                            {s.assignee.clone().map(|a| view! { <span class="muted">" · courier "<b id="panel-courier">{a}</b></span> })}
                            {(s.open_conflicts > 0).then(|| view! { <span class="conflict-flag">{format!(" · {} conflict(s)", s.open_conflicts)}</span> })}
                        </p>
                        <dl class="stops">
                            {d.pickup.clone().map(|p| view! { <dt>"Pickup"</dt><dd>{p.address}{contact(&p.contact_name, &p.contact_phone)}</dd> })}
                            {d.dropoff.clone().map(|p| view! {
                                <dt>"Drop-off"</dt>
                                <dd>{p.address}{contact(&p.contact_name, &p.contact_phone)}
                                    {p.window.map(|(a, b)| format!(" · {}–{}", util::hhmm(a), util::hhmm(b)))}</dd>
                            })}
                            <dt>"Parcels"</dt><dd>{format!("{} · {:.1} kg", d.parcels, f64::from(d.weight_g) / 1000.0)}</dd>
                            <dt>"Price"</dt><dd>{util::euros(s.price_cents)}{(s.cod_cents > 0).then(|| format!(" · COD {}", util::euros(s.cod_cents)))}</dd>
                            {(!d.instructions.is_empty()).then(|| view! { <dt>"Instructions"</dt><dd>{d.instructions.clone()}</dd> })}
                            {(!d.notes.is_empty()).then(|| view! { <dt>"Notes"</dt><dd class="notes">{d.notes.clone()}</dd> })}
                        </dl>
                        // Clients edit their own order before pickup (the lifecycle offers it only then).
                        {has(ActionKind::Edit).then(|| view! {
                            <EditOrder detail=d.clone() error=error staff=operator/>
                        })}
                        {(!operator && can_cancel).then(|| view! {
                            <form class="inline" id="client-cancel-form" on:submit=move |ev| {
                                ev.prevent_default();
                                let r = reason.get_untracked().trim().to_owned();
                                act(Action::Cancel { reason: if r.is_empty() { "cancelled by the client".into() } else { r } });
                                reason.set(String::new());
                            }>
                                <input id="client-cancel-reason" placeholder="reason (optional)" prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev))/>
                                <button class="danger" id="client-cancel" type="submit">"Cancel order"</button>
                            </form>
                        })}
                        {(role != Some(Role::Courier)).then(|| view! { <Tracking order_id=s.id.clone() dropoff=d.dropoff.as_ref().and_then(|p| p.point)/> })}
                        <Show when=move || operator>
                            <div class="actions" id="panel-actions">
                                {can_assign.then(|| view! {
                                    <form class="inline" on:submit=move |ev| {
                                        ev.prevent_default();
                                        let who = courier.get_untracked().trim().to_owned();
                                        if !who.is_empty() { assign(who); }
                                    }>
                                        <input id="assign-courier" list="courier-list" placeholder="courier id" prop:value=courier
                                            on:input=move |ev| courier.set(event_target_value(&ev))/>
                                        <button id="assign" type="submit">{if s.assignee.is_some() { "Reassign" } else { "Assign" }}</button>
                                    </form>
                                })}
                                {move || warned.get().map(|(who, warnings)| view! {
                                    <div id="assign-warning" class="warning" role="alertdialog">
                                        <p><b>{format!("Before assigning to {who}:")}</b></p>
                                        <ul>{warnings.into_iter().map(|w| view! {
                                            <li class="assign-warning" data-kind=util::name_of(&w.kind)>{w.message}</li>
                                        }).collect_view()}</ul>
                                        <button id="assign-anyway" on:click=move |_| {
                                            warned.set(None);
                                            act(Action::Assign { courier: who.clone() });
                                        }>"Assign anyway"</button>
                                        " "
                                        <button id="assign-keep" class="ghost" on:click=move |_| warned.set(None)>"Don't assign"</button>
                                    </div>
                                })}
                                {can_unassign.then(|| view! { <button class="ghost" id="unassign" on:click=move |_| act(Action::Unassign)>"Unassign"</button> })}
                                {carrier_pickup.then(|| view! { <button class="ghost" id="carrier-picked-up" on:click=move |_| act(Action::PickUp)>"Carrier picked up"</button> })}
                                {carrier_transit.then(|| view! { <button class="ghost" id="carrier-in-transit" on:click=move |_| act(Action::StartTransit)>"Carrier in transit"</button> })}
                                {carrier_failed.then(|| view! { <button class="ghost" id="carrier-failed" on:click=move |_| {
                                    let r = reason.get_untracked().trim().to_owned();
                                    if r.is_empty() { error.set(Some("Give the carrier's reason first (in the reason field).".into())); return; }
                                    act(Action::FailAttempt { reason: r });
                                    reason.set(String::new());
                                }>"Carrier could not deliver"</button> })}
                                {can_carrier.then(|| view! { <button class="ghost" id="carrier-delivered" on:click=move |_| act(Action::RecordCarrierDelivery)>"Record carrier delivery"</button> })}
                                {can_receive.then(|| view! {
                                    <form class="inline" id="receive-hub-form" on:submit=move |ev| {
                                        ev.prevent_default();
                                        let w = hub.get_untracked();
                                        if w.is_empty() { error.set(Some("Choose the warehouse that received the parcel.".into())); return; }
                                        act(Action::ReceiveAtHub { warehouse: w });
                                    }>
                                        <select id="receive-hub" title="The warehouse that has the parcel now" on:change=move |ev| hub.set(event_target_value(&ev))>
                                            {move || warehouses.get().into_iter().map(|w| {
                                                let selected = hub.get() == w.id;
                                                view! { <option value=w.id.clone() selected=selected>{w.name.clone()}</option> }
                                            }).collect_view()}
                                        </select>
                                        <button class="ghost" id="receive-at-hub" type="submit">"Received at hub"</button>
                                    </form>
                                })}
                                {can_reopen.then(|| view! { <button class="ghost" id="reopen" on:click=move |_| act(Action::Reopen)>"Reopen"</button> })}
                                {(can_cancel || can_return).then(|| view! {
                                    <form class="inline" on:submit=move |ev| {
                                        ev.prevent_default();
                                        let r = reason.get_untracked().trim().to_owned();
                                        if r.is_empty() { error.set(Some("Give a reason first.".into())); return; }
                                        if can_cancel { act(Action::Cancel { reason: r }) } else { act(Action::Return { reason: r }) }
                                        reason.set(String::new());
                                    }>
                                        <input id="reason" placeholder="reason" prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev))/>
                                        <button class="danger" id="cancel" type="submit">{if can_cancel { "Cancel order" } else { "Return to sender" }}</button>
                                    </form>
                                })}
                            </div>
                        </Show>
                        {(!d.conflicts.is_empty()).then(|| view! {
                            <h3>"Conflicts"</h3>
                            <ul class="conflicts" id="conflicts">
                                {d.conflicts.iter().map(|cf| {
                                    let cid = cf.id.clone();
                                    let open = cf.resolved_by.is_none();
                                    view! {
                                        <li class:open=open>
                                            <b>{cf.kind.clone()}</b>
                                            {format!(" · {}", util::stamp(cf.opened_at_ms))}
                                            {cf.resolved_by.clone().map(|b| format!(" · resolved by {b}: {}", cf.note.clone().unwrap_or_default()))}
                                            {open.then(|| view! {
                                                <form class="inline" on:submit=move |ev| {
                                                    ev.prevent_default();
                                                    act(Action::ResolveConflict { conflict: cid.clone(), note: note.get_untracked() });
                                                    note.set(String::new());
                                                }>
                                                    <input placeholder="decision" prop:value=note on:input=move |ev| note.set(event_target_value(&ev))/>
                                                    <button type="submit">"Resolve"</button>
                                                </form>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        })}
                        {(!d.pods.is_empty()).then(|| view! {
                            <h3>"Proof of delivery"</h3>
                            <div id="pods">
                                {d.pods.iter().cloned().map(|p| view! { <PodView pod=p order_id=s.id.clone() chains=chains/> }).collect_view()}
                            </div>
                        })}
                        <div class="docs">
                            {operator.then(|| view! { <button class="ghost" id="show-code" title="For the recipient's notice: the courier asks for it at the door" on:click=show_code>"Recipient code"</button> })}
                            <button class="ghost" id="doc-label" on:click={ let i = s.id.clone(); move |_| doc(DocumentRequest::Labels { order_ids: vec![i.clone()], per_parcel: false }) }>"Label PDF"</button>
                            {delivered.then(|| { let i = s.id.clone(); let j = s.id.clone(); view! {
                                <button class="ghost" id="doc-receipt" on:click=move |_| doc(DocumentRequest::Receipt { order_id: i.clone() })>"Receipt PDF"</button>
                                <button class="ghost" id="doc-invoice" on:click=move |_| doc(DocumentRequest::Invoice { order_id: j.clone() })>"Invoice PDF"</button>
                            }})}
                        </div>
                        {move || code.get().map(|v| view! {
                            <div class="code" id="recipient-code">
                                <img src=util::data_url("image/png", &v.qr_png_base64) alt="verification QR code" width="148"/>
                                <p>"PIN "<b id="recipient-pin">{v.pin.clone()}</b><br/><span class="muted small">"Send to the recipient by SMS or e-mail, not on the parcel."</span></p>
                            </div>
                        })}
                        <h3>"Timeline"</h3>
                        <ol class="timeline" id="timeline">
                            {d.timeline.iter().rev().map(|t| view! {
                                <li class=format!("tl tl-{}", t.verdict)>
                                    <span class="tl-time">{util::stamp(t.at_ms)}</span>
                                    <span class="tl-kind">{t.kind.replace('_', " ")}</span>
                                    <span class="muted">{format!("{} ({:?}) on {}", t.user, t.role, short(&t.device))}</span>
                                    {(t.verdict != "applied").then(|| view! { <span class="tl-verdict">{format!("{}{}", t.verdict, t.note.as_ref().map(|n| format!(": {n}")).unwrap_or_default())}</span> })}
                                </li>
                            }).collect_view()}
                        </ol>
                    </div>
                }
            })}
        </aside>
    }
}

fn contact(name: &str, phone: &str) -> Option<impl IntoView + use<>> {
    if name.is_empty() && phone.is_empty() {
        return None;
    }
    let tel = format!("tel:{}", phone.replace(' ', ""));
    let (name, phone) = (name.to_owned(), phone.to_owned());
    Some(view! { <br/><span class="muted">{name}" "</span><a href=tel>{phone}</a> })
}

pub fn short(device: &str) -> String {
    device.chars().take(8).collect()
}

/// One proof: its photo and signature (fetched from this device's blobs), how
/// the recipient was verified, where and when, and its chain status.
#[component]
fn PodView(
    pod: PodInput,
    order_id: String,
    chains: RwSignal<Vec<PodChainStatus>>,
) -> impl IntoView {
    let photo = RwSignal::new(None::<Result<String, String>>);
    let sig = RwSignal::new(None::<Result<String, String>>);
    for (hash, target) in [
        (pod.photo_sha256.clone(), photo),
        (pod.signature_sha256.clone(), sig),
    ] {
        if let Some(h) = hash {
            run(Request::PodBlob { sha256: h }, move |r| {
                target.set(Some(match r {
                    Ok(Response::PodBlob(b)) => Ok(util::data_url(&b.media_type, &b.base64)),
                    Ok(other) => Err(util::unexpected(&other)),
                    Err(e) => Err(e),
                }))
            });
        }
    }
    let pid = pod.id.clone();
    let courier_of = pod.captured.as_ref().map(|p| p.by.clone());
    let chain = move || {
        chains.with(|all| {
            let who = courier_of.as_ref()?;
            let c = all.iter().find(|c| &c.courier == who)?;
            let mine: Vec<String> = c
                .findings
                .iter()
                .filter(|f| f.pod_id == pid)
                .map(|f| f.message.clone())
                .collect();
            Some(if c.findings.is_empty() {
                format!("chain of {who}: intact ({} records)", c.records)
            } else if mine.is_empty() {
                format!("chain of {who}: this record intact; other links broken")
            } else {
                format!("chain of {who}: BROKEN — {}", mine.join("; "))
            })
        })
    };
    let _ = order_id;
    let prov = pod.captured.clone();
    let verified = [
        (pod.qr_verified, "QR verified"),
        (pod.pin_verified, "PIN verified"),
        (pod.age_confirmed, "ID/age checked"),
    ]
    .into_iter()
    .filter(|(b, _)| *b)
    .map(|(_, l)| l)
    .collect::<Vec<_>>()
    .join(" · ");
    let img =
        |s: RwSignal<Option<Result<String, String>>>, class: &'static str, alt: &'static str| {
            move || match s.get() {
                None => None,
                Some(Ok(url)) => Some(view! { <img class=class src=url alt=alt/> }.into_any()),
                Some(Err(e)) => {
                    Some(view! { <span class="muted">{format!("{alt}: {e}")}</span> }.into_any())
                }
            }
        };
    view! {
        <div class="pod" data-pod=pod.id.clone()>
            <div class="pod-images">
                {img(photo, "pod-photo", "Photo")}
                {img(sig, "pod-signature", "Signature")}
            </div>
            <p class="pod-meta">
                {(!verified.is_empty()).then(|| view! { <span class="ok">{verified.clone()}</span><br/> })}
                {prov.map(|p| format!(
                    "captured {} by {} on {}{}{}",
                    util::stamp(p.at_ms), p.by, short(&p.device),
                    p.gps.map(|g| format!(" at {:.5}, {:.5} (±{:.0} m)", g.lat, g.lon, g.accuracy_m)).unwrap_or_default(),
                    p.chain_seq.map(|n| format!(" · chain #{n}")).unwrap_or_default(),
                ))}
                <br/>
                <span class="chain">{chain}</span>
            </p>
        </div>
    }
}

/// Changes an order's editable fields; each changed field is one action the
/// lifecycle checks (so a courier's device never gets this far, and a
/// refused change names itself).
#[component]
fn EditOrder(
    detail: app_api::OrderDetail,
    error: RwSignal<Option<String>>,
    /// Staff also set the price and COD; a client edits what they gave.
    staff: bool,
) -> impl IntoView {
    let c = ctx();
    let s = detail.summary.clone();
    let dropoff_now = detail
        .dropoff
        .as_ref()
        .map(|p| p.address.clone())
        .unwrap_or_default();
    let euros = |cents: i64| format!("{:.2}", cents as f64 / 100.0);
    let dropoff = RwSignal::new(dropoff_now.clone());
    let point_now = detail.dropoff.as_ref().and_then(|p| p.point);
    let dropoff_at = RwSignal::new(point_now);
    let instructions = RwSignal::new(detail.instructions.clone());
    let notes = RwSignal::new(detail.notes.clone());
    let price = RwSignal::new(euros(s.price_cents));
    let cod = RwSignal::new(euros(s.cod_cents));
    let busy = RwSignal::new(false);
    let saved = RwSignal::new(None::<String>);
    let (order_id, old_instr, old_notes, old_price, old_cod) = (
        s.id.clone(),
        detail.instructions.clone(),
        detail.notes.clone(),
        s.price_cents,
        s.cod_cents,
    );
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let cents = |v: String, what: &str| -> Result<i64, String> {
            let t = v.trim().replace(',', ".");
            t.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .map(|n| (n * 100.0).round() as i64)
                .ok_or_else(|| format!("{what}: not an amount in euros ({t})"))
        };
        let mut actions = Vec::new();
        let d = dropoff.get_untracked();
        let at = dropoff_at.get_untracked();
        if d.trim() != dropoff_now.trim() || at != point_now {
            actions.push(Action::EditDropoffAddress {
                address: d,
                point: at,
            });
        }
        let i = instructions.get_untracked();
        if i != old_instr {
            actions.push(Action::EditInstructions { text: i });
        }
        let n = notes.get_untracked();
        if n != old_notes {
            actions.push(Action::EditNotes { text: n });
        }
        match (
            cents(price.get_untracked(), "Price"),
            cents(cod.get_untracked(), "COD"),
        ) {
            _ if !staff => {}
            (Ok(p), Ok(k)) => {
                if p != old_price {
                    actions.push(Action::SetPrice { cents: p });
                }
                if k != old_cod {
                    actions.push(Action::SetCod { cents: k });
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                error.set(Some(e));
                return;
            }
        }
        if actions.is_empty() {
            saved.set(Some("Nothing changed.".into()));
            return;
        }
        busy.set(true);
        let order_id = order_id.clone();
        leptos::task::spawn_local(async move {
            let total = actions.len();
            let mut done = 0;
            let mut problem = None;
            for action in actions {
                match crate::api::call(&Request::Act {
                    order_id: order_id.clone(),
                    action,
                })
                .await
                {
                    Ok(_) => done += 1,
                    Err(e) => {
                        problem = Some(util::describe(&e));
                        break;
                    }
                }
            }
            let _ = busy.try_set(false);
            let _ = error.try_set(problem);
            let _ = saved.try_set(Some(format!("Saved {done} of {total} changes.")));
            c.bump();
        });
    };
    let field = move |id: &'static str, label: &'static str, v: RwSignal<String>| {
        view! { <label>{label}<input id=id autocomplete="off" prop:value=v on:input=move |ev| v.set(event_target_value(&ev))/></label> }
    };
    view! {
        <details class="edit-order" id="edit-order">
            <summary>"Edit order"</summary>
            <form class="grid" id="edit-order-form" on:submit=save>
                <crate::address::AddressField id="edit-dropoff" label="Drop-off address" text=dropoff point=dropoff_at/>
                {field("edit-instructions", "Instructions for the courier", instructions)}
                <label>"Notes"<textarea id="edit-notes" rows="2" prop:value=notes on:input=move |ev| notes.set(event_target_value(&ev))></textarea></label>
                {staff.then(|| view! {
                    {field("edit-price", "Price (€)", price)}
                    {field("edit-cod", "Cash on delivery (€)", cod)}
                })}
                <button type="submit" id="edit-save" prop:disabled=busy>"Save changes"</button>
            </form>
            {move || saved.get().map(|m| view! { <p class="muted small" id="edit-saved" role="status">{m}</p> })}
        </details>
    }
}

mod track_js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = rutaMap, js_name = track, catch)]
        pub fn track(
            element_id: &str,
            courier: &JsValue,
            dropoff: &JsValue,
        ) -> Result<js_sys::Promise, JsValue>;
        #[wasm_bindgen(js_namespace = rutaMap, js_name = unpin, catch)]
        pub fn unpin(element_id: &str) -> Result<(), JsValue>;
    }
}

fn lon_lat(p: Option<(f64, f64)>) -> wasm_bindgen::JsValue {
    match p {
        Some((lat, lon)) => {
            let o = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&o, &"lat".into(), &lat.into());
            let _ = js_sys::Reflect::set(&o, &"lon".into(), &lon.into());
            o.into()
        }
        None => wasm_bindgen::JsValue::NULL,
    }
}

/// Where the order is: while the parcel is on its way, the courier on a small
/// map with the expected arrival; once delivered, when; and the link the
/// client sends the recipient. What the server last said is shown offline too,
/// with its time.
#[component]
fn Tracking(order_id: String, dropoff: Option<app_api::Point>) -> impl IntoView {
    let view_ = RwSignal::new(None::<app_api::TrackingView>);
    let server = RwSignal::new(None::<String>);
    let tick = RwSignal::new(0u64);
    let handle = set_interval_with_handle(
        move || tick.update(|t| *t += 1),
        std::time::Duration::from_secs(4),
    )
    .ok();
    run(Request::SyncStatus, move |r| {
        if let Ok(Response::SyncStatus(s)) = r {
            let _ = server.try_set(s.server);
        }
    });
    let id = StoredValue::new(order_id);
    Effect::new(move |_| {
        tick.track();
        run(
            Request::OrderTracking {
                order_id: id.get_value(),
            },
            move |r| {
                if let Ok(Response::OrderTracking(v)) = r {
                    let _ = view_.try_set(Some(v));
                }
            },
        );
    });
    let map_id = "track-map";
    let dropoff = dropoff.map(|p| (p.lat, p.lon));
    // The map follows the courier while the server has a live position.
    Effect::new(move |_| {
        let courier = view_.with(|v| {
            v.as_ref()
                .and_then(|v| v.tracking.as_ref())
                .and_then(|t| t.courier)
                .map(|c| (c.lat, c.lon))
        });
        if courier.is_some() {
            let _ = track_js::track(map_id, &lon_lat(courier), &lon_lat(dropoff));
        } else {
            let _ = track_js::unpin(map_id);
        }
    });
    on_cleanup(move || {
        if let Some(h) = handle {
            h.clear();
        }
        let _ = track_js::unpin(map_id);
    });
    view! {
        <section class="tracking" id="tracking">
            <h3>"Tracking"</h3>
            {move || view_.get().map(|v| {
                let t = v.tracking.clone();
                let live = t.as_ref().and_then(|t| t.courier);
                let as_of = v.fetched_at_ms.map(|ms| format!("as of {}", util::stamp(ms)));
                view! {
                    {match (&t, live) {
                        (Some(t), Some(c)) => view! {
                            <p id="track-live">
                                "On its way: the courier was here at "{util::hhmm(c.at)}
                                {t.eta_ms.map(|e| view! { " · expected around "<b id="track-eta">{util::hhmm(e)}</b> })}
                            </p>
                        }.into_any(),
                        (Some(t), None) if t.delivered_at_ms.is_some() => view! {
                            <p id="track-delivered">{format!("Delivered {}", util::stamp(t.delivered_at_ms.unwrap_or_default()))}</p>
                        }.into_any(),
                        (_, None) if v.on_the_way => view! {
                            <p class="muted" id="track-waiting">{if v.online { "On its way; waiting for the courier's position." } else { "On its way. The courier's position shows when this device is online." }}</p>
                        }.into_any(),
                        _ => view! {
                            <p class="muted" id="track-idle">"The courier's position shows here while the parcel is on its way to the drop-off."</p>
                        }.into_any(),
                    }}
                    <div class="track-map" id=map_id class:hidden=live.is_none()></div>
                    {t.as_ref().map(|t| {
                        let url = format!("{}{}", server.get().unwrap_or_default().trim_end_matches('/'), t.link);
                        view! {
                            <label class="small">"Tracking link for the recipient (status and times only)"
                                <input id="track-link" readonly prop:value=url.clone() on:focus=move |ev| {
                                    use wasm_bindgen::JsCast;
                                    if let Some(i) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) { i.select(); }
                                }/>
                            </label>
                        }
                    })}
                    {as_of.map(|a| view! { <p class="muted small" id="track-as-of">{a}</p> })}
                }
            })}
        </section>
    }
}

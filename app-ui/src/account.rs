//! Who works on this device: the sign-in screen (server address and
//! enrolment code, or a photo of the enrolment QR code, or the explicit
//! choice to work without a server), sign-out (never discarding unsynced
//! changes silently) and the admin's users and devices.
//!
//! Every call goes to the shell's account service ([`api::account`]); the
//! user and role always come from the server's answer.

use app_api::Role;
use app_api::account::{
    AccountRequest, AccountResponse, AccountState, AccountStatus, Enrolment, FORGET_CONFIRMATION,
    TenantDevice, TenantUser,
};
use leptos::html::Input;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::{api, ctx, role_label, util};

/// Calls the account service and hands the answer (or a readable error) to `done`.
pub fn run(request: AccountRequest, done: impl FnOnce(Result<AccountResponse, String>) + 'static) {
    spawn_local(async move {
        done(api::account(&request).await.map_err(|e| util::describe(&e)));
    });
}

/// The sign-in screen: shown while nobody works on this device.
#[component]
pub fn SignIn() -> impl IntoView {
    let c = ctx();
    let server = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let notice = RwSignal::new(None::<String>);
    let qr_in = NodeRef::<Input>::new();
    run(AccountRequest::Status, move |r| {
        if let Ok(AccountResponse::Status(s)) = r {
            let _ = notice.try_set(s.notice);
        }
    });
    let done = move |r: Result<AccountResponse, String>| {
        busy.set(false);
        match r {
            Ok(_) => {
                error.set(None);
                c.bump();
            }
            Err(e) => error.set(Some(e)),
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        run(
            AccountRequest::SignIn {
                server: server.get_untracked(),
                code: code.get_untracked(),
            },
            done,
        );
    };
    let on_qr = move |_| {
        let Some(input) = qr_in.get() else { return };
        busy.set(true);
        spawn_local(async move {
            match util::input_file_base64(&input).await {
                Some(Ok(image_base64)) => run(AccountRequest::SignInQr { image_base64 }, done),
                Some(Err(e)) => {
                    busy.set(false);
                    error.set(Some(e));
                }
                None => busy.set(false),
            }
        });
    };
    let alone = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        run(
            AccountRequest::WorkWithoutServer {
                name: name.get_untracked(),
            },
            done,
        );
    };
    view! {
        <main class="signin">
            <h2>"Sign in to Ruta"</h2>
            {move || notice.get().map(|n| view! { <p id="signin-notice" class="warning">{n}</p> })}
            <form id="signin-form" class="card" on:submit=submit>
                <p class="muted">"Your admin gives you the server address and a one-time enrolment code (or a QR code holding both)."</p>
                <label>"Server address"
                    <input id="signin-server" type="url" placeholder="https://ruta.example.com" required
                        prop:value=server on:input=move |e| server.set(event_target_value(&e))/>
                </label>
                <label>"Enrolment code"
                    <input id="signin-code" placeholder="acme.K7M3-Q9XP-2DHC" autocomplete="off" autocapitalize="off" spellcheck="false" required
                        prop:value=code on:input=move |e| code.set(event_target_value(&e))/>
                </label>
                <button id="signin-submit" type="submit" disabled=busy>"Sign in"</button>
                <label class="file">"…or scan the QR code: "
                    <input id="signin-qr" type="file" accept="image/*" capture="environment" node_ref=qr_in on:change=on_qr/>
                </label>
            </form>
            {move || error.get().map(|e| view! { <p id="signin-error" class="error" role="alert">{e}</p> })}
            <form id="offline-form" class="card" on:submit=alone>
                <h3>"Work without a server"</h3>
                <p class="muted">"A one-person operation: you run and set up everything on this device, nothing syncs. You can sign in to a server later."</p>
                <label>"Your name"
                    <input id="offline-name" required prop:value=name on:input=move |e| name.set(event_target_value(&e))/>
                </label>
                <button id="offline-submit" type="submit" disabled=busy>"Work without a server"</button>
            </form>
        </main>
    }
}

/// The header's account button and its sign-out dialog.
#[component]
pub fn AccountMenu() -> impl IntoView {
    let c = ctx();
    let open = RwSignal::new(false);
    let status = RwSignal::new(None::<AccountStatus>);
    let error = RwSignal::new(None::<String>);
    let confirm = RwSignal::new(String::new());
    let load = move || {
        run(AccountRequest::Status, move |r| {
            if let Ok(AccountResponse::Status(s)) = r {
                let _ = status.try_set(Some(s));
            }
        })
    };
    let sign_out = move |forget: bool, keep_unsynced: bool| {
        run(
            AccountRequest::SignOut {
                forget,
                keep_unsynced,
                confirm: confirm.get_untracked(),
            },
            move |r| match r {
                Ok(_) => {
                    open.set(false);
                    c.bump();
                }
                Err(e) => {
                    error.set(Some(e));
                    load();
                }
            },
        )
    };
    view! {
        <button id="account" class="ghost small" on:click=move |_| { open.set(true); error.set(None); load(); }>"Sign out…"</button>
        {move || open.get().then(|| {
            let s = status.get();
            let unsynced = s.as_ref().map_or(0, |s| s.unsynced);
            let alone = s.as_ref().is_some_and(|s| s.state == AccountState::WithoutServer);
            view! {
                <div class="dialog-backdrop">
                    <div id="signout-dialog" class="dialog" role="dialog">
                        <h3>"Sign out"</h3>
                        {move || status.get().map(|s| view! {
                            <p class="muted">{format!("{} · {}{}",
                                s.user.clone().unwrap_or_default(),
                                s.role.map(role_label).unwrap_or(""),
                                s.server.as_ref().map(|v| format!(" · {v}")).unwrap_or_default())}</p>
                        })}
                        {if unsynced > 0 && !alone {
                            view! { <p id="signout-unsynced" class="warning">{format!(
                                "{unsynced} order(s) have changes the server does not have yet. Wait until they sync, or sign out and keep them on this device: they sync at the next sign-in.")}</p> }.into_any()
                        } else if alone {
                            view! { <p id="signout-unsynced" class="muted">{format!("{unsynced} order(s) are on this device only.")}</p> }.into_any()
                        } else {
                            view! { <p id="signout-synced" class="muted">"Everything is on the server."</p> }.into_any()
                        }}
                        <div class="row">
                            <button id="signout-wait" on:click=move |_| open.set(false)>{if unsynced > 0 { "Wait for sync" } else { "Cancel" }}</button>
                            <button id="signout-keep" on:click=move |_| sign_out(false, true)>
                                {if unsynced > 0 { "Sign out, keep changes here" } else { "Sign out" }}
                            </button>
                        </div>
                        <h4>"Forget this device"</h4>
                        <p class="muted">"Removes every order, proof and setting from this device."</p>
                        {(unsynced > 0).then(|| view! {
                            <label>{format!("Type \"{FORGET_CONFIRMATION}\" to delete {unsynced} unsynced change(s) with it: ")}
                                <input id="forget-confirm" autocomplete="off" prop:value=confirm on:input=move |e| confirm.set(event_target_value(&e))/>
                            </label>
                        })}
                        <button id="signout-forget" class="danger" on:click=move |_| sign_out(true, false)>"Forget this device"</button>
                        {move || error.get().map(|e| view! { <p id="signout-error" class="error" role="alert">{e}</p> })}
                    </div>
                </div>
            }
        })}
    }
}

/// The admin workspace's people page: users, enrolment codes, devices.
#[component]
pub fn Admin() -> impl IntoView {
    let this_device = ctx()
        .status
        .with_untracked(|s| s.as_ref().map(|s| s.device_id.clone()))
        .unwrap_or_default();
    let users = RwSignal::new(Vec::<TenantUser>::new());
    let devices = RwSignal::new(Vec::<TenantDevice>::new());
    let error = RwSignal::new(None::<String>);
    let issued = RwSignal::new(None::<Enrolment>);
    let (new_id, new_name, new_role) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(Role::Courier),
    );
    let reload = move || {
        run(AccountRequest::Users, move |r| match r {
            Ok(AccountResponse::Users { users: u }) => {
                let _ = users.try_set(u);
            }
            Err(e) => {
                let _ = error.try_set(Some(e));
            }
            _ => {}
        });
        run(AccountRequest::Devices, move |r| {
            if let Ok(AccountResponse::Devices { devices: d }) = r {
                let _ = devices.try_set(d);
            }
        });
    };
    reload();
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        run(
            AccountRequest::AddUser {
                id: new_id.get_untracked(),
                name: new_name.get_untracked(),
                role: new_role.get_untracked(),
            },
            move |r| match r {
                Ok(_) => {
                    error.set(None);
                    new_id.set(String::new());
                    new_name.set(String::new());
                    reload();
                }
                Err(e) => error.set(Some(e)),
            },
        );
    };
    let enrol = move |user: String| {
        run(
            AccountRequest::IssueEnrolment {
                user,
                ttl_minutes: None,
            },
            move |r| match r {
                Ok(AccountResponse::Enrolment(e)) => {
                    error.set(None);
                    issued.set(Some(e));
                }
                Ok(other) => error.set(Some(format!("unexpected answer: {other:?}"))),
                Err(e) => error.set(Some(e)),
            },
        );
    };
    let update = move |id: String, role: Option<Role>, disabled: Option<bool>| {
        run(
            AccountRequest::UpdateUser { id, role, disabled },
            move |r| match r {
                Ok(_) => {
                    error.set(None);
                    reload();
                }
                Err(e) => {
                    error.set(Some(e));
                    reload();
                }
            },
        );
    };
    let revoke = move |device: String| {
        run(AccountRequest::RevokeDevice { device }, move |r| match r {
            Ok(_) => reload(),
            Err(e) => error.set(Some(e)),
        });
    };
    let role_of = |v: &str| match v {
        "client" => Role::Client,
        "dispatcher" => Role::Dispatcher,
        "admin" => Role::Admin,
        _ => Role::Courier,
    };
    view! {
        <section id="admin" class="admin">
            <h2>"People and devices"</h2>
            {move || error.get().map(|e| view! { <p id="admin-error" class="error" role="alert">{e}</p> })}
            {move || issued.get().map(|e| view! {
                <div id="enrolment" class="card printable">
                    <h3>{format!("Sign-in code for {}", e.user)}</h3>
                    <p class="muted">"Shown once. It works on one device, once, until "{util::stamp(e.expires_ms)}"."</p>
                    <p><code id="enrolment-code" class="big">{e.code.clone()}</code></p>
                    <img id="enrolment-qr" alt="Enrolment QR code" src=util::data_url("image/png", &e.qr_png_base64)/>
                    <div class="row">
                        <button on:click=move |_| { let _ = window().print(); }>"Print"</button>
                        <button id="enrolment-close" on:click=move |_| issued.set(None)>"Done"</button>
                    </div>
                </div>
            })}
            <table id="users" class="grid">
                <thead><tr><th>"User"</th><th>"Name"</th><th>"Role"</th><th>"Devices"</th><th></th></tr></thead>
                <tbody>
                    {move || {
                        let list = users.get();
                        if list.is_empty() {
                            return view! { <tr><td colspan="5" class="muted">"No users yet: add the first below."</td></tr> }.into_any();
                        }
                        list.into_iter().map(|u| {
                            let id = u.id.clone();
                            let (for_role, for_state) = (u.id.clone(), u.id.clone());
                            let disabled = u.disabled;
                            let role = u.role;
                            view! {
                                <tr data-user=u.id.clone() class:disabled=disabled>
                                    <td>{u.id.clone()}</td><td>{u.name.clone()}</td>
                                    <td>
                                        <select class="role" on:change=move |e| update(for_role.clone(), Some(role_of(&event_target_value(&e))), None)>
                                            {[Role::Courier, Role::Dispatcher, Role::Client, Role::Admin].into_iter().map(|r| view! {
                                                <option value=role_label(r) selected=r == role>{role_label(r)}</option>
                                            }).collect_view()}
                                        </select>
                                    </td>
                                    <td>{if disabled { "disabled".to_owned() } else { u.devices.to_string() }}</td>
                                    <td>
                                        <button class="enrol" disabled=disabled on:click=move |_| enrol(id.clone())>"Sign-in code"</button>
                                        " "
                                        <button class="ghost small toggle-user" on:click=move |_| update(for_state.clone(), None, Some(!disabled))>
                                            {if disabled { "Enable" } else { "Disable" }}
                                        </button>
                                    </td>
                                </tr>
                            }
                        }).collect_view().into_any()
                    }}
                </tbody>
            </table>
            <form id="add-user" class="row" on:submit=add>
                <input id="add-user-id" placeholder="user id (e.g. aki)" required prop:value=new_id on:input=move |e| new_id.set(event_target_value(&e))/>
                <input id="add-user-name" placeholder="name" prop:value=new_name on:input=move |e| new_name.set(event_target_value(&e))/>
                <select id="add-user-role" on:change=move |e| new_role.set(role_of(&event_target_value(&e)))>
                    <option value="courier" selected>"courier"</option>
                    <option value="dispatcher">"dispatcher"</option>
                    <option value="client">"client"</option>
                    <option value="admin">"admin"</option>
                </select>
                <button type="submit">"Add user"</button>
            </form>
            <h3>"Devices"</h3>
            <table id="devices" class="grid">
                <thead><tr><th>"Device"</th><th>"User"</th><th>"First signed in"</th><th>"Last seen"</th><th></th></tr></thead>
                <tbody>
                    {move || {
                        let list = devices.get();
                        if list.is_empty() {
                            return view! { <tr><td colspan="5" class="muted">"No device has signed in yet."</td></tr> }.into_any();
                        }
                        let this_device = this_device.clone();
                        list.into_iter().map(move |d| {
                            let device = d.device.clone();
                            let mine = d.device == this_device;
                            view! {
                                <tr data-device=d.device.clone()>
                                    <td><code>{d.device.chars().take(8).collect::<String>()}</code></td>
                                    <td>{d.user.clone()}</td>
                                    <td>{util::stamp(d.first_ms)}</td>
                                    <td>{d.last_seen_ms.map(util::stamp).unwrap_or_else(|| "—".into())}</td>
                                    <td>{if mine {
                                        view! { <span class="muted">"this device"</span> }.into_any()
                                    } else if d.active {
                                        view! { <button class="revoke danger" on:click=move |_| revoke(device.clone())>"Revoke"</button> }.into_any()
                                    } else {
                                        view! { <span class="muted">"revoked"</span> }.into_any()
                                    }}</td>
                                </tr>
                            }
                        }).collect_view().into_any()
                    }}
                </tbody>
            </table>
        </section>
    }
}

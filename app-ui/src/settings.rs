//! The admin's tenant settings: the profile (company, address, VAT id, time
//! zone, invoice prefix and footer), the tariff, zones, and the item cards of
//! [`crate::config_items`] (services, POD policy, warehouses, vehicles,
//! courier profiles), with the history of changes. Every device of the tenant applies them as they sync; the core
//! validates and names the field at fault.

use app_api::config::{ConfigChange, Tariff, TenantConfigView, TenantProfile};
use app_api::{Request, Response};
use leptos::prelude::*;

use crate::util::{self, run};

/// A text field bound to a signal.
fn text(id: &'static str, label: &'static str, value: RwSignal<String>) -> impl IntoView {
    view! {
        <label>{label}
            <input id=id prop:value=value on:input=move |e| value.set(event_target_value(&e))/>
        </label>
    }
}

/// Euros as typed ("6,90" or "6.90") to cents.
pub(crate) fn cents(text: &str) -> Option<i64> {
    let t = text.trim().replace(',', ".");
    let (whole, frac) = t.split_once('.').unwrap_or((&t, "0"));
    let frac = format!("{frac:0<2}");
    if frac.len() > 2 {
        return None;
    }
    Some(whole.parse::<i64>().ok()? * 100 + frac.parse::<i64>().ok()?)
}

pub(crate) fn euros(c: i64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

#[component]
pub fn TenantSettings() -> impl IntoView {
    let sync = crate::ctx().sync;
    let on_server = move || {
        sync.with(|s| {
            s.as_ref()
                .is_some_and(|s| s.link != app_api::LinkState::NotConfigured)
        })
    };
    let view_state = RwSignal::new(None::<TenantConfigView>);
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(None::<String>);
    let f = |s: &str| RwSignal::new(s.to_owned());
    let (company, address, vat, zone, prefix, footer) = (f(""), f(""), f(""), f(""), f(""), f(""));
    let (base, per_km, km, express, per_kg, kg, vat_pct, currency) =
        (f(""), f(""), f(""), f(""), f(""), f(""), f(""), f(""));
    let fill = move |v: &TenantConfigView| {
        let p = &v.config.profile;
        company.set(p.company_name.clone());
        address.set(p.address_lines.join("\n"));
        vat.set(p.vat_id.clone().unwrap_or_default());
        zone.set(p.time_zone.clone());
        prefix.set(p.invoice_prefix.clone());
        footer.set(p.invoice_footer.clone());
        let t = &v.config.tariff;
        base.set(euros(t.base_cents));
        per_km.set(euros(t.per_km_cents));
        km.set(t.included_km.to_string());
        express.set(euros(t.express_cents));
        per_kg.set(euros(t.per_kg_cents));
        kg.set(t.included_kg.to_string());
        vat_pct.set(format!("{}", f64::from(t.vat_bp) / 100.0));
        currency.set(t.currency.clone());
    };
    // The invoice preview: a sample invoice with the branding in force, made
    // again after every save.
    let preview = RwSignal::new(None::<String>);
    let refresh_preview = move || {
        run(
            Request::Document(app_api::DocumentRequest::InvoicePreview),
            move |r| {
                if let Ok(Response::Document(f)) = r {
                    let _ = preview.try_set(Some(util::data_url(&f.mime, &f.data_base64)));
                }
            },
        )
    };
    let logo = RwSignal::new(None::<String>);
    let logo_input = NodeRef::<leptos::html::Input>::new();
    let on_logo = move |_| {
        let Some(input) = logo_input.get() else {
            return;
        };
        leptos::task::spawn_local(async move {
            match util::input_file_base64(&input).await {
                Some(Ok(b64)) => logo.set(Some(b64)),
                Some(Err(e)) => error.set(Some(e)),
                None => {}
            }
        });
    };
    let load = move || {
        run(Request::TenantConfig, move |r| {
            if let Ok(Response::TenantConfig(v)) = r {
                fill(&v);
                let _ = view_state.try_set(Some(v));
            }
        })
    };
    load();
    refresh_preview();
    let send = move |change: ConfigChange, what: &'static str| {
        run(Request::ChangeConfig(change), move |r| match r {
            Ok(Response::TenantConfig(v)) => {
                error.set(None);
                saved.set(Some(format!(
                    "{what} saved; every device applies it as it syncs."
                )));
                fill(&v);
                view_state.set(Some(v));
                refresh_preview();
            }
            Ok(other) => error.set(Some(util::unexpected(&other))),
            Err(e) => {
                saved.set(None);
                error.set(Some(e));
            }
        })
    };
    let save_profile = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let current = view_state
            .get_untracked()
            .map(|v| v.config.profile)
            .unwrap_or_default();
        let vat_id = vat.get_untracked().trim().to_owned();
        send(
            ConfigChange::SetProfile(TenantProfile {
                company_name: company.get_untracked(),
                address_lines: address
                    .get_untracked()
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
                vat_id: (!vat_id.is_empty()).then_some(vat_id),
                time_zone: zone.get_untracked().trim().to_owned(),
                invoice_prefix: prefix.get_untracked().trim().to_owned(),
                invoice_footer: footer.get_untracked(),
                logo_base64: logo.get_untracked().or(current.logo_base64.clone()),
                ..current
            }),
            "Company profile",
        );
    };
    let save_tariff = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let money = |field: &str, s: RwSignal<String>| {
            cents(&s.get_untracked()).ok_or_else(|| format!("{field}: an amount like 6.90"))
        };
        let whole = |field: &str, s: RwSignal<String>| {
            s.get_untracked()
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("{field}: a whole number"))
        };
        let current = view_state
            .get_untracked()
            .map(|v| v.config.tariff)
            .unwrap_or_default();
        let parsed = (|| -> Result<Tariff, String> {
            let pct: f64 = vat_pct
                .get_untracked()
                .trim()
                .replace(',', ".")
                .parse()
                .map_err(|_| "VAT: a percentage like 25.5".to_owned())?;
            Ok(Tariff {
                currency: currency.get_untracked().trim().to_uppercase(),
                base_cents: money("Base price", base)?,
                per_km_cents: money("Per km", per_km)?,
                included_km: whole("Included km", km)?,
                express_cents: money("Express", express)?,
                per_kg_cents: money("Per kg", per_kg)?,
                included_kg: whole("Included kg", kg)?,
                vat_bp: (pct * 100.0).round().clamp(0.0, f64::from(u32::MAX)) as u32,
                ..current
            })
        })();
        match parsed {
            Ok(t) => send(ConfigChange::SetTariff(t), "Tariff"),
            Err(e) => error.set(Some(e)),
        }
    };
    let report = crate::config_items::Report {
        view_state,
        error,
        saved,
    };
    view! {
        <section id="tenant-settings" class="settings">
            <h2>"Tenant settings"</h2>
            {move || view_state.get().filter(|v| !v.synced && on_server()).map(|_| view! {
                <p id="settings-local" class="warning">"These are this device's settings: the tenant's arrive when it syncs with the server."</p>
            })}
            {move || error.get().map(|e| view! { <p id="settings-error" class="error" role="alert">{e}</p> })}
            {move || saved.get().map(|s| view! { <p id="settings-saved" class="ok">{s}</p> })}
            <form id="profile-form" class="card grid" on:submit=save_profile>
                <h3>"Company profile"</h3>
                {text("profile-company", "Company name", company)}
                <label>"Address (one line each)"
                    <textarea id="profile-address" rows="3" prop:value=address on:input=move |e| address.set(event_target_value(&e))></textarea>
                </label>
                {text("profile-vat", "VAT id", vat)}
                {text("profile-zone", "Time zone (e.g. Europe/Helsinki)", zone)}
                {text("profile-prefix", "Invoice number prefix", prefix)}
                {text("profile-footer", "Invoice footer", footer)}
                <label>"Logo (PNG or JPEG, at most 256 KiB)"
                    <input id="profile-logo" type="file" accept="image/png,image/jpeg" node_ref=logo_input on:change=on_logo/>
                </label>
                {move || logo.get().or_else(|| view_state.get().and_then(|v| v.config.profile.logo_base64)).map(|b64| view! {
                    <img id="profile-logo-shown" class="logo-preview" alt="logo" src=util::data_url("image/png", &b64)/>
                })}
                <button id="profile-save" type="submit">"Save profile"</button>
            </form>
            <div id="invoice-preview-card" class="card">
                <h3>"Invoice preview"</h3>
                <p class="muted">"A sample invoice as every device prints it now: company, logo, colours, VAT id, footer and tariff."</p>
                {move || preview.get().map(|src| view! {
                    <iframe id="invoice-preview" title="Invoice preview" src=src class="pdf-preview"></iframe>
                })}
            </div>
            <form id="tariff-form" class="card grid" on:submit=save_tariff>
                <h3>"Tariff"</h3>
                {text("tariff-currency", "Currency", currency)}
                {text("tariff-base", "Base price", base)}
                {text("tariff-km", "Included km", km)}
                {text("tariff-per-km", "Per started km", per_km)}
                {text("tariff-kg", "Included kg", kg)}
                {text("tariff-per-kg", "Per kg over", per_kg)}
                {text("tariff-express", "Express", express)}
                {text("tariff-vat", "VAT % (included)", vat_pct)}
                <button id="tariff-save" type="submit">"Save tariff"</button>
            </form>
            <Zones view_state=view_state error=error saved=saved/>
            <crate::config_items::ServicesCard report=report/>
            <crate::config_items::WarehousesCard report=report/>
            <crate::config_items::FleetCard report=report/>
            <h3>"History"</h3>
            <ul id="settings-history" class="history">
                {move || {
                    let history = view_state.get().map(|v| v.history).unwrap_or_default();
                    if history.is_empty() {
                        return view! { <li class="muted">"No changes yet: the defaults apply."</li> }.into_any();
                    }
                    history.into_iter().map(|h| view! {
                        <li>{format!("{} · {} · {}{}", util::stamp(h.at_ms), h.by, match h.change.as_str() {
                            "set_profile" => "company profile",
                            "set_tariff" => "tariff",
                            "put_zone" => "zone set",
                            "remove_zone" => "zone removed",
                            "put_service" => "service level set",
                            "remove_service" => "service level removed",
                            "set_pod_policy" => "POD policy",
                            "put_warehouse" => "warehouse set",
                            "remove_warehouse" => "warehouse removed",
                            "put_vehicle" => "vehicle set",
                            "remove_vehicle" => "vehicle removed",
                            "put_courier" => "courier profile set",
                            "remove_courier" => "courier profile removed",
                            other => other,
                        }, h.subject.map(|s| format!(" ({s})")).unwrap_or_default())}</li>
                    }).collect_view().into_any()
                }}
            </ul>
        </section>
    }
}

/// The tenant's zones: imported from GeoJSON, removed with undo.
#[component]
fn Zones(
    view_state: RwSignal<Option<TenantConfigView>>,
    error: RwSignal<Option<String>>,
    saved: RwSignal<Option<String>>,
) -> impl IntoView {
    let file = NodeRef::<leptos::html::Input>::new();
    let removed = RwSignal::new(None::<app_api::ZoneView>);
    let answer = move |what: String| {
        move |r: Result<Response, String>| match r {
            Ok(Response::TenantConfig(v)) => {
                error.set(None);
                saved.set(Some(what));
                view_state.set(Some(v));
            }
            Ok(other) => error.set(Some(util::unexpected(&other))),
            Err(e) => error.set(Some(e)),
        }
    };
    let on_file = move |_| {
        let Some(input) = file.get() else { return };
        leptos::task::spawn_local(async move {
            match util::input_file_text(&input).await {
                Some(Ok(geojson)) => run(
                    Request::ImportZonesGeojson { geojson },
                    answer("Zones imported; orders are filed again on every device.".into()),
                ),
                Some(Err(e)) => error.set(Some(e)),
                None => {}
            }
        });
    };
    let remove = move |zone: app_api::ZoneView| {
        let id = zone.id.clone();
        removed.set(Some(zone));
        run(
            Request::ChangeConfig(ConfigChange::RemoveZone { id: id.clone() }),
            answer(format!("Zone {id} removed.")),
        );
    };
    let undo = move |_| {
        if let Some(zone) = removed.get_untracked() {
            removed.set(None);
            let id = zone.id.clone();
            run(
                Request::ChangeConfig(ConfigChange::PutZone(zone)),
                answer(format!("Zone {id} restored.")),
            );
        }
    };
    view! {
        <div id="zones-card" class="card">
            <h3>"Zones"</h3>
            <p class="muted">"Orders are filed in the zone their drop-off is in. Import polygons from a GeoJSON file (Polygon or MultiPolygon features with a name)."</p>
            <label class="file">"Import GeoJSON: "
                <input id="zones-file" type="file" accept=".geojson,.json,application/geo+json" node_ref=file on:change=on_file/>
            </label>
            {move || removed.get().map(|z| view! {
                <p class="warning">{format!("Zone {} removed. ", z.name)}<button id="zone-undo" class="ghost" on:click=undo>"Undo"</button></p>
            })}
            <ul id="zones-list">
                {move || {
                    let zones = view_state.get().map(|v| v.config.zones).unwrap_or_default();
                    if zones.is_empty() {
                        return view! { <li class="muted">"No zones configured: every order is unzoned."</li> }.into_any();
                    }
                    zones.into_iter().map(|z| {
                        let label = format!("{} ({}, {} corners)", z.name, z.id, z.ring.len());
                        let id = z.id.clone();
                        view! {
                            <li data-zone=id>{label}" "
                                <button class="ghost small remove-zone" on:click=move |_| remove(z.clone())>"Remove"</button>
                            </li>
                        }
                    }).collect_view().into_any()
                }}
            </ul>
        </div>
    }
}

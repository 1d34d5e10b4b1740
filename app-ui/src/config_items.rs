//! The admin's item cards of the tenant settings: service levels, the POD
//! policy, warehouses, vehicles and courier profiles. Each card lists what is
//! configured, edits one item in a form (saving puts it whole; the core
//! validates and names the field at fault) and removes with undo. Warehouses,
//! vehicles and courier profiles go into the staff document, which clients'
//! devices never receive.

use app_api::config::{
    ConfigChange, CourierProfile, PodPolicy, ServiceLevel, TenantConfigView, Vehicle, VehicleType,
    Warehouse, WarehouseUses,
};
use app_api::{PodNeeds, Point, Request, Response};
use leptos::prelude::*;

use crate::util::{self, run};

/// Where a card reports: the settings' view, error and "saved" line.
#[derive(Clone, Copy)]
pub struct Report {
    pub view_state: RwSignal<Option<TenantConfigView>>,
    pub error: RwSignal<Option<String>>,
    pub saved: RwSignal<Option<String>>,
}

impl Report {
    /// Sends `change`; on success says `what` and shows the new configuration.
    fn send(self, change: ConfigChange, what: String) {
        run(Request::ChangeConfig(change), move |r| match r {
            Ok(Response::TenantConfig(v)) => {
                self.error.set(None);
                self.saved.set(Some(what));
                self.view_state.set(Some(v));
            }
            Ok(other) => self.error.set(Some(util::unexpected(&other))),
            Err(e) => {
                self.saved.set(None);
                self.error.set(Some(e));
            }
        })
    }

    fn config<T>(self, f: impl FnOnce(&app_api::config::TenantConfig) -> T) -> T {
        self.view_state
            .with(|v| f(&v.as_ref().map(|v| v.config.clone()).unwrap_or_default()))
    }
}

fn field(id: &'static str, label: &'static str, value: RwSignal<String>) -> impl IntoView {
    view! {
        <label>{label}
            <input id=id prop:value=value on:input=move |e| value.set(event_target_value(&e))/>
        </label>
    }
}

fn check(class: &'static str, label: &'static str, value: RwSignal<bool>) -> impl IntoView {
    view! {
        <label class="check">
            <input type="checkbox" class=class prop:checked=value on:change=move |e| value.set(event_target_checked(&e))/>
            {label}
        </label>
    }
}

fn number<T: std::str::FromStr>(label: &str, s: RwSignal<String>) -> Result<T, String> {
    let t = s.get_untracked();
    let t = t.trim();
    if t.is_empty() {
        return "0".parse().map_err(|_| format!("{label}: a whole number"));
    }
    t.parse().map_err(|_| format!("{label}: a whole number"))
}

fn decimal(label: &str, s: RwSignal<String>) -> Result<f64, String> {
    s.get_untracked()
        .trim()
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{label}: a number like 60.1699"))
}

/// The four proofs as checkboxes.
#[derive(Clone, Copy)]
struct Proofs {
    photo: RwSignal<bool>,
    signature: RwSignal<bool>,
    qr: RwSignal<bool>,
    pin: RwSignal<bool>,
}

impl Proofs {
    fn new() -> Self {
        Self {
            photo: RwSignal::new(false),
            signature: RwSignal::new(false),
            qr: RwSignal::new(false),
            pin: RwSignal::new(false),
        }
    }
    fn set(self, p: PodNeeds) {
        self.photo.set(p.photo);
        self.signature.set(p.signature);
        self.qr.set(p.qr);
        self.pin.set(p.pin);
    }
    fn get(self) -> PodNeeds {
        PodNeeds {
            photo: self.photo.get_untracked(),
            signature: self.signature.get_untracked(),
            qr: self.qr.get_untracked(),
            pin: self.pin.get_untracked(),
        }
    }
    fn view(self) -> impl IntoView {
        view! {
            <div class="checks">
                {check("proof-photo", "Photo", self.photo)}
                {check("proof-signature", "Signature", self.signature)}
                {check("proof-qr", "QR code", self.qr)}
                {check("proof-pin", "PIN", self.pin)}
            </div>
        }
    }
}

fn proofs_text(p: &PodNeeds) -> String {
    let names: Vec<&str> = [
        (p.photo, "photo"),
        (p.signature, "signature"),
        (p.qr, "QR"),
        (p.pin, "PIN"),
    ]
    .into_iter()
    .filter_map(|(on, n)| on.then_some(n))
    .collect();
    if names.is_empty() {
        "no proofs".into()
    } else {
        names.join(" + ")
    }
}

/// An undo line for the last removal.
fn undo_line(
    id: &'static str,
    removed: RwSignal<Option<(String, ConfigChange)>>,
    report: Report,
) -> impl IntoView {
    move || {
        removed.get().map(|(what, restore)| {
            let restore = StoredValue::new(restore);
            view! {
                <p class="warning">{format!("{what} removed. ")}
                    <button id=id class="ghost" on:click=move |_| {
                        removed.set(None);
                        report.send(restore.get_value(), format!("{what} restored."));
                    }>"Undo"</button>
                </p>
            }
        })
    }
}

/// Service levels and the POD policy (the tenant's document: clients see them).
#[component]
pub fn ServicesCard(report: Report) -> impl IntoView {
    let (id, name, price, window) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let proofs = Proofs::new();
    let removed = RwSignal::new(None::<(String, ConfigChange)>);
    let edit = move |s: &ServiceLevel| {
        id.set(s.id.clone());
        name.set(s.name.clone());
        price.set(crate::settings::euros(s.price_cents));
        window.set(s.window_minutes.to_string());
        proofs.set(s.proofs);
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parsed = (|| -> Result<ServiceLevel, String> {
            Ok(ServiceLevel {
                id: id.get_untracked().trim().to_owned(),
                name: name.get_untracked().trim().to_owned(),
                price_cents: crate::settings::cents(&price.get_untracked())
                    .ok_or("Price: an amount like 4.90")?,
                window_minutes: number("Window (minutes)", window)?,
                proofs: proofs.get(),
            })
        })();
        match parsed {
            Ok(s) => {
                let what = format!("Service {}", s.name);
                report.send(ConfigChange::PutService(s), format!("{what} saved."));
            }
            Err(e) => report.error.set(Some(e)),
        }
    };
    let policy_px = RwSignal::new(String::new());
    let policy_quality = RwSignal::new(String::new());
    let policy_proofs = Proofs::new();
    Effect::new(move |_| {
        let p = report.config(|c| c.pod_policy.clone());
        policy_px.set(p.photo_max_px.to_string());
        policy_quality.set(p.photo_quality.to_string());
        policy_proofs.set(p.default_proofs);
    });
    let save_policy = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parsed = (|| -> Result<PodPolicy, String> {
            Ok(PodPolicy {
                photo_max_px: number("Photo size", policy_px)?,
                photo_quality: number("Photo quality", policy_quality)?,
                default_proofs: policy_proofs.get(),
            })
        })();
        match parsed {
            Ok(p) => report.send(ConfigChange::SetPodPolicy(p), "POD policy saved.".into()),
            Err(e) => report.error.set(Some(e)),
        }
    };
    view! {
        <div id="services-card" class="card">
            <h3>"Service levels"</h3>
            <p class="muted">"What clients and dispatchers order at: its price is added to the tariff's, its window and proofs apply to the order."</p>
            {undo_line("service-undo", removed, report)}
            <ul id="services-list">
                {move || {
                    let services = report.config(|c| c.services.clone());
                    if services.is_empty() {
                        return view! { <li class="muted">"No service levels: orders are priced by the tariff alone."</li> }.into_any();
                    }
                    services.into_iter().map(|s| {
                        let label = format!("{} ({}) · +{} · {} · {}", s.name, s.id, util::euros(s.price_cents),
                            if s.window_minutes > 0 { format!("within {} min", s.window_minutes) } else { "no window".into() },
                            proofs_text(&s.proofs));
                        let (s1, s2) = (s.clone(), s.clone());
                        view! {
                            <li data-service=s.id.clone()>{label}" "
                                <button class="ghost small edit-service" on:click=move |_| edit(&s1)>"Edit"</button>
                                <button class="ghost small remove-service" on:click=move |_| {
                                    removed.set(Some((format!("Service {}", s2.name), ConfigChange::PutService(s2.clone()))));
                                    report.send(ConfigChange::RemoveService { id: s2.id.clone() }, format!("Service {} removed.", s2.name));
                                }>"Remove"</button>
                            </li>
                        }
                    }).collect_view().into_any()
                }}
            </ul>
            <form id="service-form" class="grid" on:submit=save>
                {field("service-id", "Id (a-z, 0-9, -)", id)}
                {field("service-name", "Name", name)}
                {field("service-price", "Price on top", price)}
                {field("service-window", "Window (minutes, 0: none)", window)}
                {proofs.view()}
                <button id="service-save" type="submit">"Save service"</button>
            </form>
            <h3>"Proof of delivery"</h3>
            <form id="pod-policy-form" class="grid" on:submit=save_policy>
                {field("pod-photo-px", "Photo longer side (px)", policy_px)}
                {field("pod-photo-quality", "Photo quality (30–95)", policy_quality)}
                <p class="muted">"Every order needs:"</p>
                {policy_proofs.view()}
                <button id="pod-policy-save" type="submit">"Save POD policy"</button>
            </form>
        </div>
    }
}

/// Warehouses and hubs (staff document).
#[component]
pub fn WarehousesCard(report: Report) -> impl IntoView {
    let s = || RwSignal::new(String::new());
    let (id, name, address, lat, lon, hours) = (s(), s(), s(), s(), s(), s());
    // A chosen suggestion (or a dropped pin) fills the position fields.
    let at = RwSignal::new(None::<Point>);
    Effect::new(move |_| {
        if let Some(p) = at.get() {
            lat.set(format!("{:.6}", p.lat));
            lon.set(format!("{:.6}", p.lon));
        }
    });
    let b = || RwSignal::new(false);
    let (pickup, dropoff, staging, endpoint) = (b(), b(), b(), b());
    let removed = RwSignal::new(None::<(String, ConfigChange)>);
    let edit = move |w: &Warehouse| {
        id.set(w.id.clone());
        name.set(w.name.clone());
        address.set(w.address.clone());
        lat.set(format!("{:.6}", w.position.lat));
        lon.set(format!("{:.6}", w.position.lon));
        hours.set(w.opening_hours.clone());
        pickup.set(w.uses.pickup);
        dropoff.set(w.uses.dropoff);
        staging.set(w.uses.staging);
        endpoint.set(w.uses.route_endpoint);
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parsed = (|| -> Result<Warehouse, String> {
            Ok(Warehouse {
                id: id.get_untracked().trim().to_owned(),
                name: name.get_untracked().trim().to_owned(),
                address: address.get_untracked().trim().to_owned(),
                position: Point {
                    lat: decimal("Latitude", lat)?,
                    lon: decimal("Longitude", lon)?,
                },
                uses: WarehouseUses {
                    pickup: pickup.get_untracked(),
                    dropoff: dropoff.get_untracked(),
                    staging: staging.get_untracked(),
                    route_endpoint: endpoint.get_untracked(),
                },
                opening_hours: hours.get_untracked().trim().to_owned(),
            })
        })();
        match parsed {
            Ok(w) => {
                let what = format!("Warehouse {}", w.name);
                report.send(ConfigChange::PutWarehouse(w), format!("{what} saved."));
            }
            Err(e) => report.error.set(Some(e)),
        }
    };
    view! {
        <div id="warehouses-card" class="card">
            <h3>"Warehouses and hubs"</h3>
            {undo_line("warehouse-undo", removed, report)}
            <ul id="warehouses-list">
                {move || {
                    let items = report.config(|c| c.warehouses.clone());
                    if items.is_empty() {
                        return view! { <li class="muted">"No warehouses yet: routes start where the courier is."</li> }.into_any();
                    }
                    items.into_iter().map(|w| {
                        let uses: Vec<&str> = [(w.uses.pickup, "pickup"), (w.uses.dropoff, "drop-off"),
                            (w.uses.staging, "staging"), (w.uses.route_endpoint, "route start/end")]
                            .into_iter().filter_map(|(on, n)| on.then_some(n)).collect();
                        let label = format!("{} ({}) · {} · {}{}", w.name, w.id, w.address,
                            if uses.is_empty() { "no uses".into() } else { uses.join(", ") },
                            if w.opening_hours.is_empty() { String::new() } else { format!(" · {}", w.opening_hours) });
                        let (w1, w2) = (w.clone(), w.clone());
                        view! {
                            <li data-warehouse=w.id.clone()>{label}" "
                                <button class="ghost small edit-warehouse" on:click=move |_| edit(&w1)>"Edit"</button>
                                <button class="ghost small remove-warehouse" on:click=move |_| {
                                    removed.set(Some((format!("Warehouse {}", w2.name), ConfigChange::PutWarehouse(w2.clone()))));
                                    report.send(ConfigChange::RemoveWarehouse { id: w2.id.clone() }, format!("Warehouse {} removed.", w2.name));
                                }>"Remove"</button>
                            </li>
                        }
                    }).collect_view().into_any()
                }}
            </ul>
            <form id="warehouse-form" class="grid" on:submit=save>
                {field("warehouse-id", "Id (a-z, 0-9, -)", id)}
                {field("warehouse-name", "Name", name)}
                <crate::address::AddressField id="warehouse-address" label="Address" text=address point=at/>
                {field("warehouse-lat", "Latitude", lat)}
                {field("warehouse-lon", "Longitude", lon)}
                {field("warehouse-hours", "Opening hours (e.g. Mo-Fr 08:00-18:00)", hours)}
                <div class="checks">
                    {check("use-pickup", "Pickup", pickup)}
                    {check("use-dropoff", "Drop-off", dropoff)}
                    {check("use-staging", "Staging", staging)}
                    {check("use-endpoint", "Route start/end", endpoint)}
                </div>
                <button id="warehouse-save" type="submit">"Save warehouse"</button>
            </form>
        </div>
    }
}

/// Vehicles and courier profiles (staff document).
#[component]
pub fn FleetCard(report: Report) -> impl IntoView {
    let s = || RwSignal::new(String::new());
    let (vid, vname, vkind, vitems, vkg, vplate) = (s(), s(), s(), s(), s(), s());
    vkind.set(VehicleType::Bicycle.as_str().into());
    let removed = RwSignal::new(None::<(String, ConfigChange)>);
    let edit_vehicle = move |v: &Vehicle| {
        vid.set(v.id.clone());
        vname.set(v.name.clone());
        vkind.set(v.kind.as_str().into());
        vitems.set(v.capacity_items.to_string());
        vkg.set(v.capacity_kg.to_string());
        vplate.set(v.plate.clone());
    };
    let save_vehicle = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let kind = VehicleType::ALL
            .into_iter()
            .find(|k| k.as_str() == vkind.get_untracked())
            .unwrap_or_default();
        let parsed = (|| -> Result<Vehicle, String> {
            Ok(Vehicle {
                id: vid.get_untracked().trim().to_owned(),
                name: vname.get_untracked().trim().to_owned(),
                kind,
                capacity_items: number("Parcels", vitems)?,
                capacity_kg: number("Kilograms", vkg)?,
                plate: vplate.get_untracked().trim().to_owned(),
            })
        })();
        match parsed {
            Ok(v) => {
                let what = format!("Vehicle {}", v.name);
                report.send(ConfigChange::PutVehicle(v), format!("{what} saved."));
            }
            Err(e) => report.error.set(Some(e)),
        }
    };
    let (cuser, cphone, cvehicle, cstart) = (s(), s(), s(), s());
    let ccash = RwSignal::new(false);
    let czones = RwSignal::new(Vec::<String>::new());
    let edit_courier = move |c: &CourierProfile| {
        cuser.set(c.user.clone());
        cphone.set(c.phone.clone());
        cvehicle.set(c.vehicle.clone().unwrap_or_default());
        cstart.set(c.shift_start.clone().unwrap_or_default());
        ccash.set(c.handles_cash);
        czones.set(c.home_zones.clone());
    };
    let save_courier = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let current = report.config(|c| c.courier(cuser.get_untracked().trim()).cloned());
        let opt = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.is_empty());
        let c = CourierProfile {
            user: cuser.get_untracked().trim().to_owned(),
            phone: cphone.get_untracked().trim().to_owned(),
            vehicle: opt(cvehicle),
            home_zones: czones.get_untracked(),
            handles_cash: ccash.get_untracked(),
            carrier: current.map(|c| c.carrier).unwrap_or_default(),
            shift_start: opt(cstart),
        };
        let what = format!("Courier {}", c.user);
        report.send(
            ConfigChange::PutCourier(c),
            format!("{what}'s profile saved."),
        );
    };
    view! {
        <div id="fleet-card" class="card">
            <h3>"Vehicles"</h3>
            <p class="muted">"The planner and the auto-assignment use a courier's vehicle: its type for speed, its capacity for the load."</p>
            {undo_line("fleet-undo", removed, report)}
            <ul id="vehicles-list">
                {move || {
                    let items = report.config(|c| c.vehicles.clone());
                    if items.is_empty() {
                        return view! { <li class="muted">"No vehicles: every courier is planned as a bicycle with no capacity limit."</li> }.into_any();
                    }
                    items.into_iter().map(|v| {
                        let cap = |n: u32, unit: &str| if n == 0 { format!("any {unit}") } else { format!("{n} {unit}") };
                        let label = format!("{} ({}) · {} · {} / {}{}", v.name, v.id, v.kind.label(),
                            cap(v.capacity_items, "parcels"), cap(v.capacity_kg, "kg"),
                            if v.plate.is_empty() { String::new() } else { format!(" · {}", v.plate) });
                        let (v1, v2) = (v.clone(), v.clone());
                        view! {
                            <li data-vehicle=v.id.clone()>{label}" "
                                <button class="ghost small edit-vehicle" on:click=move |_| edit_vehicle(&v1)>"Edit"</button>
                                <button class="ghost small remove-vehicle" on:click=move |_| {
                                    removed.set(Some((format!("Vehicle {}", v2.name), ConfigChange::PutVehicle(v2.clone()))));
                                    report.send(ConfigChange::RemoveVehicle { id: v2.id.clone() }, format!("Vehicle {} removed.", v2.name));
                                }>"Remove"</button>
                            </li>
                        }
                    }).collect_view().into_any()
                }}
            </ul>
            <form id="vehicle-form" class="grid" on:submit=save_vehicle>
                {field("vehicle-id", "Id (a-z, 0-9, -)", vid)}
                {field("vehicle-name", "Name", vname)}
                <label>"Type"
                    <select id="vehicle-kind" prop:value=vkind on:change=move |e| vkind.set(event_target_value(&e))>
                        {VehicleType::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                    </select>
                </label>
                {field("vehicle-items", "Parcels at once (0: any)", vitems)}
                {field("vehicle-kg", "Kilograms at once (0: any)", vkg)}
                {field("vehicle-plate", "Plate", vplate)}
                <button id="vehicle-save" type="submit">"Save vehicle"</button>
            </form>
            <h3>"Courier profiles"</h3>
            <ul id="couriers-list">
                {move || {
                    let (items, config) = report.config(|c| (c.couriers.clone(), c.clone()));
                    if items.is_empty() {
                        return view! { <li class="muted">"No courier profiles: couriers work every zone, carry cash and ride a bicycle."</li> }.into_any();
                    }
                    items.into_iter().map(|c| {
                        let vehicle = config.vehicle_of(&c.user).map_or("no vehicle".to_owned(), |v| v.name.clone());
                        let zones = if c.home_zones.is_empty() { "all zones".to_owned() } else { c.home_zones.join(", ") };
                        let label = format!("{} · {} · {} · {}{}", c.user,
                            if c.phone.is_empty() { "no phone" } else { &c.phone }, vehicle, zones,
                            if c.handles_cash { " · handles cash" } else { " · no cash" });
                        let (c1, c2) = (c.clone(), c.clone());
                        view! {
                            <li data-courier-profile=c.user.clone()>{label}" "
                                <button class="ghost small edit-courier" on:click=move |_| edit_courier(&c1)>"Edit"</button>
                                <button class="ghost small remove-courier" on:click=move |_| {
                                    removed.set(Some((format!("Courier {}'s profile", c2.user), ConfigChange::PutCourier(c2.clone()))));
                                    report.send(ConfigChange::RemoveCourier { user: c2.user.clone() }, format!("Courier {}'s profile removed.", c2.user));
                                }>"Remove"</button>
                            </li>
                        }
                    }).collect_view().into_any()
                }}
            </ul>
            <form id="courier-form" class="grid" on:submit=save_courier>
                {field("courier-user", "Courier (user id)", cuser)}
                {field("courier-phone", "Phone", cphone)}
                <label>"Vehicle"
                    <select id="courier-vehicle" prop:value=cvehicle on:change=move |e| cvehicle.set(event_target_value(&e))>
                        <option value="">"None"</option>
                        {move || report.config(|c| c.vehicles.clone()).into_iter().map(|v| view! {
                            <option value=v.id.clone() selected=cvehicle.get_untracked() == v.id>{v.name}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Shift starts at"
                    <select id="courier-start" prop:value=cstart on:change=move |e| cstart.set(event_target_value(&e))>
                        <option value="">"Where they are"</option>
                        {move || report.config(|c| c.warehouses.clone()).into_iter().map(|w| view! {
                            <option value=w.id.clone() selected=cstart.get_untracked() == w.id>{w.name}</option>
                        }).collect_view()}
                    </select>
                </label>
                {check("courier-cash", "Handles cash", ccash)}
                <fieldset id="courier-zones" class="checks">
                    <legend>"Home zones (none ticked: all)"</legend>
                    {move || report.config(|c| c.zones.is_empty()).then(|| view! { <span class="muted small">"No zones configured."</span> })}
                    {move || report.config(|c| c.zones.clone()).into_iter().map(|z| {
                        let zid = z.id.clone();
                        let zid2 = z.id.clone();
                        view! {
                            <label class="check">
                                <input type="checkbox" class="courier-zone" value=z.id.clone()
                                    prop:checked=move || czones.with(|s| s.contains(&zid))
                                    on:change=move |e| {
                                        let on = event_target_checked(&e);
                                        czones.update(|s| {
                                            s.retain(|x| x != &zid2);
                                            if on { s.push(zid2.clone()); }
                                        });
                                    }/>
                                {z.name}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <button id="courier-save" type="submit">"Save profile"</button>
            </form>
        </div>
    }
}

//! Demo data for a new tenant's first look: orders at real addresses in central
//! Helsinki (street names from OpenStreetMap, © OpenStreetMap contributors, ODbL).
//!
//! Seeding goes through [`Core::execute`] like any user action, and only into an
//! empty store, so running the demo twice does not duplicate anything.

use app_api::config::ConfigChange;
use app_api::{ApiError, NewOrder, Point, Request, Response};

use crate::Core;
use crate::domain::ZoneId;
use crate::domain::geo::Zone;

/// (customer, pickup, its position, drop-off, its position). Positions are the
/// address nodes of the OSM extract (`ruta osm addresses --search ...`), so the
/// demo routes over real streets.
type DemoOrder = (
    &'static str,
    &'static str,
    (f64, f64),
    &'static str,
    (f64, f64),
);

const DEMO_ORDERS: &[DemoOrder] = &[
    (
        "Aino Mäkelä",
        "Aleksanterinkatu 52",
        (60.168_672, 24.941_935),
        "Fredrikinkatu 32",
        (60.165_392, 24.935_274),
    ),
    (
        "Björn Lindqvist",
        "Mannerheimintie 20",
        (60.169_349, 24.938_171),
        "Bulevardi 14",
        (60.165_155, 24.939_891),
    ),
    (
        "Eeva Järvinen",
        "Pohjoisesplanadi 33",
        (60.167_907, 24.946_091),
        "Annankatu 25",
        (60.167_325, 24.936_521),
    ),
    (
        "Kalle Öhman",
        "Kalevankatu 6",
        (60.167_514, 24.938_982),
        "Yrjönkatu 21",
        (60.168_053, 24.939_034),
    ),
    (
        "Siiri Heikkilä",
        "Eerikinkatu 6",
        (60.167_520, 24.936_550),
        "Lönnrotinkatu 11",
        (60.165_963, 24.936_980),
    ),
    (
        "Café Ekberg",
        "Bulevardi 9",
        (60.164_737, 24.937_774),
        "Uudenmaankatu 16",
        (60.164_166, 24.940_368),
    ),
];

/// Three delivery zones over central Helsinki for the demo: rough rectangles
/// split along Mannerheimintie and Bulevardi, not official district borders.
pub fn zones() -> Vec<Zone> {
    let rect = |id: &str, name: &str, w: f64, s: f64, e: f64, n: f64| Zone {
        id: ZoneId::new(id),
        name: name.into(),
        ring: vec![[w, s], [e, s], [e, n], [w, n]],
    };
    vec![
        rect("kamppi", "Kamppi", 24.920, 60.1655, 24.9385, 60.1730),
        rect("keskusta", "Keskusta", 24.9385, 60.1655, 24.9600, 60.1730),
        rect("punavuori", "Punavuori", 24.920, 60.1570, 24.9600, 60.1655),
    ]
}

/// How many orders `cargo xtask demo` seeds.
pub const DEMO_ORDER_COUNT: usize = 200;

const FIRST_NAMES: [&str; 12] = [
    "Aino", "Björn", "Eeva", "Kalle", "Siiri", "Matti", "Helmi", "Onni", "Linnea", "Väinö", "Ella",
    "Juho",
];
const LAST_NAMES: [&str; 10] = [
    "Mäkelä",
    "Lindqvist",
    "Järvinen",
    "Öhman",
    "Heikkilä",
    "Virtanen",
    "Nieminen",
    "Koskinen",
    "Söderberg",
    "Laine",
];

/// Seeds the demo zones and the listed orders if the store holds no orders.
/// Returns how many orders were created.
pub fn seed(core: &Core) -> Result<usize, ApiError> {
    seed_many(core, DEMO_ORDERS.len())
}

/// Seeds the demo zones and `count` orders if the store holds no orders: the
/// listed ones, then pairs of their (real) addresses, with varied
/// priorities, parcels and some cash on delivery. Returns how many orders
/// were created.
pub fn seed_many(core: &Core, count: usize) -> Result<usize, ApiError> {
    if core.order_count()? > 0 {
        return Ok(0);
    }
    core.set_zones(&zones())?;
    let addresses: Vec<(&str, (f64, f64))> = DEMO_ORDERS
        .iter()
        .flat_map(|(_, p, pp, d, dp)| [(*p, *pp), (*d, *dp)])
        .collect();
    let n = addresses.len();
    for k in 0..count {
        let new = match DEMO_ORDERS.get(k) {
            Some((customer, pickup, p, dropoff, d)) => order(customer, (pickup, *p), (dropoff, *d)),
            None => {
                let from = addresses[(k * 7) % n];
                let mut to = addresses[(k * 11 + 3) % n];
                if to.0 == from.0 {
                    to = addresses[(k * 11 + 4) % n];
                }
                let customer = format!(
                    "{} {}",
                    FIRST_NAMES[k % FIRST_NAMES.len()],
                    LAST_NAMES[(k / FIRST_NAMES.len()) % LAST_NAMES.len()]
                );
                let mut new = order(&customer, from, to);
                new.parcels = Some(1 + (k % 3) as u32);
                new.weight_g = 500 + (k as u32 * 370) % 6_000;
                new.priority = [
                    app_api::Priority::Normal,
                    app_api::Priority::Normal,
                    app_api::Priority::High,
                    app_api::Priority::Low,
                    app_api::Priority::Normal,
                    app_api::Priority::Urgent,
                ][k % 6];
                if k % 9 == 0 {
                    new.cod_cents = 1_990 + (k as i64 % 5) * 500;
                }
                new
            }
        };
        core.execute(Request::CreateOrder(new))?;
    }
    seed_tickets(core)?;
    Ok(count)
}

/// A support desk with work on it: three tickets from the demo client
/// (opened by the dispatcher on their behalf, as after a phone call), one
/// assigned and answered, one waiting for the client.
fn seed_tickets(core: &Core) -> Result<(), ApiError> {
    use app_api::tickets::{NewTicket, TicketAction, TicketCategory, TicketStatus};
    let Some((user, role)) = core.session() else {
        return Ok(());
    };
    if !role.is_operator() {
        return Ok(());
    }
    let tickets = [
        (
            "Parcel not delivered yet",
            "My parcel to Bulevardi was due by noon. Where is it?",
            TicketCategory::Delivery,
            app_api::Priority::High,
        ),
        (
            "Box arrived dented",
            "The corner of the box was crushed; the vase inside is fine but please be careful.",
            TicketCategory::Damage,
            app_api::Priority::Normal,
        ),
        (
            "Invoice without VAT number",
            "Please add our VAT number FI12345678 to last week's invoices.",
            TicketCategory::Billing,
            app_api::Priority::Low,
        ),
    ];
    for (i, (subject, message, category, priority)) in tickets.into_iter().enumerate() {
        let Response::Ticket(v) = core.execute(Request::NewTicket(NewTicket {
            subject: subject.into(),
            message: message.into(),
            category,
            priority,
            order: None,
            on_behalf_of: Some("client-1".into()),
        }))?
        else {
            continue;
        };
        let id = v.ticket.id;
        match i {
            0 => {
                core.execute(Request::TicketAct {
                    ticket_id: id.clone(),
                    action: TicketAction::Assign {
                        to: Some(user.clone()),
                    },
                })?;
                core.execute(Request::ChatAct {
                    link: app_api::chat::ChatLink::Ticket { ticket: id },
                    action: app_api::chat::ChatAction::Post(app_api::chat::NewMessage {
                        text: "It is on the van now; you will get a tracking link.".into(),
                        ..Default::default()
                    }),
                })?;
            }
            2 => {
                core.execute(Request::TicketAct {
                    ticket_id: id,
                    action: TicketAction::SetStatus {
                        status: TicketStatus::Pending,
                    },
                })?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn order(customer: &str, from: (&str, (f64, f64)), to: (&str, (f64, f64))) -> NewOrder {
    let mut new = NewOrder::simple(customer, from.0, to.0);
    new.pickup_point = Some(Point {
        lat: from.1.0,
        lon: from.1.1,
    });
    new.dropoff_point = Some(Point {
        lat: to.1.0,
        lon: to.1.1,
    });
    new
}

/// The demo tenant's configuration, as its admin would enter it: profile,
/// tariff, service levels, POD policy, the demo zones, a hub, vehicles and
/// the two couriers' profiles.
pub fn configuration() -> Vec<ConfigChange> {
    use app_api::config::{
        CourierProfile, PodPolicy, ServiceLevel, Tariff, TenantProfile, Vehicle, VehicleType,
        Warehouse, WarehouseUses,
    };
    let service = |id: &str, name: &str, price_cents: i64, window_minutes: u32| ServiceLevel {
        id: id.into(),
        name: name.into(),
        price_cents,
        window_minutes,
        proofs: app_api::PodNeeds::default(),
    };
    let vehicle = |id: &str, name: &str, kind, items, kg| Vehicle {
        id: id.into(),
        name: name.into(),
        kind,
        capacity_items: items,
        capacity_kg: kg,
        plate: String::new(),
    };
    let courier = |user: &str, phone: &str, vehicle: &str, zones: &[&str], cash| CourierProfile {
        user: user.into(),
        phone: phone.into(),
        vehicle: Some(vehicle.into()),
        home_zones: zones.iter().map(|z| (*z).to_owned()).collect(),
        handles_cash: cash,
        carrier: app_api::CarrierType::Internal,
        shift_start: Some("hub-kamppi".into()),
    };
    let mut changes = vec![
        ConfigChange::SetProfile(TenantProfile {
            company_name: "Ruta Demo Oy".into(),
            vat_id: Some("FI12345678".into()),
            ..TenantProfile::default()
        }),
        ConfigChange::SetTariff(Tariff::default()),
        ConfigChange::PutService(service("standard", "Standard (same day)", 0, 8 * 60)),
        ConfigChange::PutService(service("express", "Express (2 hours)", 900, 120)),
        ConfigChange::SetPodPolicy(PodPolicy {
            default_proofs: app_api::PodNeeds {
                signature: true,
                ..Default::default()
            },
            ..PodPolicy::default()
        }),
    ];
    changes.extend(zones().into_iter().map(|z| {
        ConfigChange::PutZone(app_api::ZoneView {
            id: z.id.to_string(),
            name: z.name,
            ring: z
                .ring
                .iter()
                .map(|[lon, lat]| Point {
                    lat: *lat,
                    lon: *lon,
                })
                .collect(),
        })
    }));
    changes.extend([
        ConfigChange::PutWarehouse(Warehouse {
            id: "hub-kamppi".into(),
            name: "Kamppi hub".into(),
            address: "Urho Kekkosen katu 1".into(),
            position: Point {
                lat: 60.169_0,
                lon: 24.932_0,
            },
            uses: WarehouseUses {
                pickup: true,
                dropoff: true,
                staging: true,
                route_endpoint: true,
            },
            opening_hours: "Mo-Fr 07:00-20:00, Sa 09:00-16:00".into(),
        }),
        ConfigChange::PutVehicle(vehicle(
            "bike-1",
            "Cargo bike 1",
            VehicleType::CargoBike,
            12,
            80,
        )),
        ConfigChange::PutVehicle(vehicle("van-1", "Van 1", VehicleType::Van, 60, 700)),
        ConfigChange::PutCourier(courier(
            "courier-1",
            "+358 40 555 0101",
            "bike-1",
            &["kamppi", "punavuori"],
            true,
        )),
        ConfigChange::PutCourier(courier(
            "courier-2",
            "+358 40 555 0102",
            "van-1",
            &["keskusta", "punavuori"],
            false,
        )),
    ]);
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_once_and_keeps_non_ascii_names() {
        let dir = tempfile::tempdir().unwrap();
        let core = Core::open(dir.path()).unwrap().or_dispatcher();
        assert_eq!(
            seed_many(&core, DEMO_ORDER_COUNT).unwrap(),
            DEMO_ORDER_COUNT
        );
        assert_eq!(seed(&core).unwrap(), 0, "second run adds nothing");
        let Ok(app_api::Response::Orders { orders, total }) =
            core.execute(Request::ListOrders(app_api::OrderQuery {
                search: Some("Öhman".into()),
                limit: 500,
                ..Default::default()
            }))
        else {
            panic!()
        };
        assert!(total > 1, "{total}");
        assert!(orders.iter().any(|o| o.customer_name == "Kalle Öhman"));
        assert_eq!(core.order_count().unwrap(), DEMO_ORDER_COUNT as u64);
    }

    #[test]
    fn the_demo_configuration_is_valid_and_an_admin_applies_it() {
        let dir = tempfile::tempdir().unwrap();
        let core = Core::open(dir.path()).unwrap().or_dispatcher();
        core.set_session("admin", app_api::Role::Admin).unwrap();
        for change in configuration() {
            core.execute(Request::ChangeConfig(change)).unwrap();
        }
        let c = core.tenant_config();
        assert_eq!(c.zones.len(), zones().len());
        assert_eq!(c.vehicle_of("courier-2").unwrap().id, "van-1");
        assert_eq!(c.services.len(), 2);
    }
}

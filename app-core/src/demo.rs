//! Demo data for a new tenant's first look: orders at real addresses in central
//! Helsinki (street names from OpenStreetMap, © OpenStreetMap contributors, ODbL).
//!
//! Seeding goes through [`Core::execute`] like any user action, and only into an
//! empty store, so running the demo twice does not duplicate anything.

use app_api::{ApiError, NewOrder, Point, Request};

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

/// Seeds the demo zones and orders if the store holds no orders. Returns how
/// many orders were created.
pub fn seed(core: &Core) -> Result<usize, ApiError> {
    if core.order_count()? > 0 {
        return Ok(0);
    }
    core.set_zones(&zones())?;
    for (customer, pickup, (plat, plon), dropoff, (dlat, dlon)) in DEMO_ORDERS {
        let mut new = NewOrder::simple(customer, pickup, dropoff);
        new.pickup_point = Some(Point {
            lat: *plat,
            lon: *plon,
        });
        new.dropoff_point = Some(Point {
            lat: *dlat,
            lon: *dlon,
        });
        core.execute(Request::CreateOrder(new))?;
    }
    Ok(DEMO_ORDERS.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_once_and_keeps_non_ascii_names() {
        let dir = tempfile::tempdir().unwrap();
        let core = Core::open(dir.path()).unwrap().or_dispatcher();
        assert_eq!(seed(&core).unwrap(), DEMO_ORDERS.len());
        assert_eq!(seed(&core).unwrap(), 0, "second run adds nothing");
        let Ok(app_api::Response::Orders { orders, .. }) =
            core.execute(Request::ListOrders(Default::default()))
        else {
            panic!()
        };
        assert_eq!(orders.len(), DEMO_ORDERS.len());
        assert!(orders.iter().any(|o| o.customer_name == "Kalle Öhman"));
    }
}

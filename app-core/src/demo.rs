//! Demo data for a new tenant's first look: orders at real addresses in central
//! Helsinki (street names from OpenStreetMap, © OpenStreetMap contributors, ODbL).
//!
//! Seeding goes through [`Core::execute`] like any user action, and only into an
//! empty store, so running the demo twice does not duplicate anything.

use app_api::{ApiError, NewOrder, Request};

use crate::Core;

const DEMO_ORDERS: &[(&str, &str, &str)] = &[
    ("Aino Mäkelä", "Aleksanterinkatu 52", "Fredrikinkatu 34"),
    ("Björn Lindqvist", "Mannerheimintie 20", "Bulevardi 14"),
    ("Eeva Järvinen", "Pohjoisesplanadi 33", "Annankatu 25"),
    ("Kalle Öhman", "Kalevankatu 6", "Yrjönkatu 21"),
    ("Siiri Heikkilä", "Eerikinkatu 15", "Lönnrotinkatu 11"),
    ("Café Ekberg", "Bulevardi 9", "Uudenmaankatu 16"),
];

/// Seeds the demo orders if the store holds none. Returns how many were created.
pub fn seed(core: &Core) -> Result<usize, ApiError> {
    if core.order_count()? > 0 {
        return Ok(0);
    }
    for (customer, pickup, dropoff) in DEMO_ORDERS {
        core.execute(Request::CreateOrder(NewOrder::simple(
            customer, pickup, dropoff,
        )))?;
    }
    Ok(DEMO_ORDERS.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_once_and_keeps_non_ascii_names() {
        let dir = tempfile::tempdir().unwrap();
        let core = Core::open(dir.path()).unwrap();
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

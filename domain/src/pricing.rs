//! A tenant's tariff and the price it computes: base + distance + options.
//! Amounts are integers in minor units (cents), never floats.

use serde::{Deserialize, Serialize};

use super::order::{OrderSpec, Priority};

pub use app_api::config::{ServiceLevel, Tariff};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceLine {
    pub label: String,
    pub cents: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub currency: String,
    pub lines: Vec<PriceLine>,
    /// Sum of the lines, VAT included.
    pub total_cents: i64,
    /// The VAT part of the total.
    pub vat_cents: i64,
}

/// What a tariff (plain data, in `app_api::config`) computes.
pub trait Pricing {
    /// Prices an order travelling `distance_m` metres.
    fn price(&self, spec: &OrderSpec, distance_m: f64) -> Price;
}

impl Pricing for Tariff {
    fn price(&self, spec: &OrderSpec, distance_m: f64) -> Price {
        let mut lines = vec![PriceLine {
            label: "Base".into(),
            cents: self.base_cents,
        }];
        let km = (distance_m.max(0.0) / 1000.0).ceil() as i64;
        let extra_km = (km - i64::from(self.included_km)).max(0);
        if extra_km > 0 {
            lines.push(PriceLine {
                label: format!(
                    "Distance {km} km ({extra_km} km over {} included)",
                    self.included_km
                ),
                cents: extra_km * self.per_km_cents,
            });
        }
        let (_, grams) = spec.load();
        let kg = i64::from(grams.div_ceil(1000));
        let extra_kg = (kg - i64::from(self.included_kg)).max(0);
        if extra_kg > 0 {
            lines.push(PriceLine {
                label: format!("Weight {kg} kg"),
                cents: extra_kg * self.per_kg_cents,
            });
        }
        let mut option = |on: bool, label: &str, cents: i64| {
            if on {
                lines.push(PriceLine {
                    label: label.into(),
                    cents,
                });
            }
        };
        option(spec.options.express, "Express", self.express_cents);
        option(
            spec.options.signature_required,
            "Signature",
            self.signature_cents,
        );
        option(
            spec.options.age_check.is_some(),
            "Age check",
            self.age_check_cents,
        );
        option(
            spec.pickup.window.is_some() || spec.dropoff.window.is_some(),
            "Time window",
            self.time_window_cents,
        );
        option(
            spec.priority == Priority::Urgent,
            "Urgent",
            self.urgent_cents,
        );
        price_of(&self.currency, self.vat_bp, lines)
    }
}

/// The lines summed, with the VAT included in them.
fn price_of(currency: &str, vat_bp: u32, lines: Vec<PriceLine>) -> Price {
    let total_cents: i64 = lines.iter().map(|l| l.cents).sum();
    // VAT included in the total: total * rate / (1 + rate), rounded half up.
    let bp = i64::from(vat_bp);
    let vat_cents = (total_cents * bp + (10_000 + bp) / 2) / (10_000 + bp);
    Price {
        currency: currency.to_owned(),
        lines,
        total_cents,
        vat_cents,
    }
}

/// What an order is priced by: the tariff and the tenant's service levels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rates {
    pub tariff: Tariff,
    pub services: Vec<ServiceLevel>,
}

impl Pricing for Rates {
    /// The tariff's price, and the order's service level's price as a line of
    /// its own (a service the tenant no longer offers adds nothing).
    fn price(&self, spec: &OrderSpec, distance_m: f64) -> Price {
        let mut price = self.tariff.price(spec, distance_m);
        if let Some(service) = spec
            .service
            .as_deref()
            .and_then(|id| self.services.iter().find(|s| s.id == id))
            && service.price_cents != 0
        {
            price.lines.push(PriceLine {
                label: service.name.clone(),
                cents: service.price_cents,
            });
            price = price_of(&price.currency, self.tariff.vat_bp, price.lines);
        }
        price
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::tests::sample_spec;

    #[test]
    fn a_service_level_adds_its_line_and_vat_follows() {
        let rates = Rates {
            tariff: Tariff::default(),
            services: vec![ServiceLevel {
                id: "same-day".into(),
                name: "Same day".into(),
                price_cents: 1255,
                window_minutes: 480,
                proofs: Default::default(),
            }],
        };
        let mut spec = sample_spec("R-1");
        let plain = rates.price(&spec, 1_500.0);
        assert_eq!(plain, Tariff::default().price(&spec, 1_500.0));
        spec.service = Some("same-day".into());
        let p = rates.price(&spec, 1_500.0);
        assert_eq!(p.total_cents, 690 + 1255);
        assert_eq!(p.lines.last().unwrap().label, "Same day");
        // 1945 / 1.255 = 1549.8 -> VAT 395
        assert_eq!(p.vat_cents, 395);
        spec.service = Some("gone".into());
        assert_eq!(rates.price(&spec, 1_500.0).total_cents, 690);
    }

    #[test]
    fn base_only_within_included_distance() {
        let t = Tariff::default();
        let p = t.price(&sample_spec("R-1"), 1_500.0);
        assert_eq!(p.lines.len(), 1);
        assert_eq!(p.total_cents, 690);
        // 690 / 1.255 = 549.8 -> VAT 140
        assert_eq!(p.vat_cents, 140);
    }

    #[test]
    fn distance_weight_and_options_add_lines() {
        let t = Tariff::default();
        let mut spec = sample_spec("R-1");
        spec.options.express = true;
        spec.options.signature_required = true;
        spec.priority = Priority::Urgent;
        spec.packages[0].weight_g = 4_000; // 2 x 4 kg = 8 kg, 3 over
        let p = t.price(&spec, 5_200.0); // 6 started km, 4 over
        let total = 690 + 4 * 95 + 3 * 40 + 500 + 100 + 800;
        assert_eq!(p.total_cents, total, "{:?}", p.lines);
        assert_eq!(p.lines.iter().map(|l| l.cents).sum::<i64>(), total);
        assert!(p.lines.iter().any(|l| l.label.starts_with("Distance 6 km")));
    }
}

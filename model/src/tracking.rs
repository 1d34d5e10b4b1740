//! Order tracking as the server tells it: what an order's client (and the
//! tenant's operators) see of an order on its way ([`view`]), what its public
//! link shows the recipient ([`public`]), and the link's unguessable token
//! ([`token`], [`order_of_token`]).
//!
//! Pure: the caller passes the order's derived state, the carrying courier's
//! latest position and the time.

use app_api::DeliveryStatus;
use app_api::server::{BreadcrumbPoint, OrderTracking, PublicTracking};
use ruta_domain::codes::hmac_sha256;

use crate::lifecycle::OrderState;

/// A position older than this is not shown as live, and gives no ETA.
pub const FRESH_MS: i64 = 10 * 60_000;
/// The average door-to-door speed an ETA assumes (city courier, stops and
/// lights included), and the road's detour over the straight line.
pub const COURIER_KMH: f64 = 18.0;
pub const ROAD_FACTOR: f64 = 1.3;

/// Whether the courier's position is the client's business: the parcel is on
/// its way to the drop-off in the courier's hands (not failed, not at a hub).
pub fn on_the_way(state: &OrderState) -> bool {
    matches!(
        state.status,
        DeliveryStatus::PickedUp | DeliveryStatus::InTransit
    ) && state.staged.is_none()
}

/// What the order's client and operators are told; `courier` is the latest
/// position of the courier the order is assigned to (the caller looks it up by
/// the state's assignee), `link` the public page's path.
pub fn view(
    state: &OrderState,
    courier: Option<BreadcrumbPoint>,
    now_ms: i64,
    link: String,
) -> OrderTracking {
    let spec = state.spec.as_ref();
    let dropoff = spec.and_then(|s| s.dropoff.address.point);
    let live = courier.filter(|p| on_the_way(state) && now_ms - p.at <= FRESH_MS);
    let eta_ms = match (live, dropoff) {
        (Some(p), Some(d)) => {
            let metres = ruta_domain::geo::haversine_m(p.lat, p.lon, d.lat, d.lon) * ROAD_FACTOR;
            let service_ms = spec.map_or(0, |s| i64::from(s.dropoff.service_minutes) * 60_000);
            Some(now_ms + (metres / (COURIER_KMH / 3.6) * 1000.0) as i64 + service_ms)
        }
        _ => None,
    };
    OrderTracking {
        order_id: state.id.to_string(),
        status: state.status,
        courier: live,
        eta_ms,
        window: spec
            .and_then(|s| s.dropoff.window)
            .map(|w| (w.start_ms, w.end_ms)),
        delivered_at_ms: delivered_at(state),
        link,
    }
}

/// When the delivery that counts happened (wall clock of its stamp).
fn delivered_at(state: &OrderState) -> Option<i64> {
    if state.status != DeliveryStatus::Delivered {
        return None;
    }
    let (event, _) = state.delivery.as_ref()?;
    state
        .timeline
        .iter()
        .find(|t| &t.event.id() == event)
        .map(|t| t.event.at.wall_ms)
}

/// The public page's content: the status in a sentence, the ETA, the delivery time.
pub fn public(t: &OrderTracking) -> PublicTracking {
    use DeliveryStatus::*;
    let headline = match t.status {
        Pending | Assigned | AtHub => "Order received — preparing for delivery",
        PickedUp | InTransit => "On its way",
        AttemptFailed => "Delivery attempted — we will try again",
        Delivered => "Delivered",
        Cancelled => "Cancelled",
        Returned => "Returned to sender",
    };
    PublicTracking {
        status: t.status,
        headline: headline.into(),
        eta_ms: t.eta_ms,
        delivered_at_ms: t.delivered_at_ms,
    }
}

/// Domain separation: a tracking token is never a verification code's MAC.
const TRACK: &[u8] = b"ruta-track-v1";
/// Hex digits of the MAC kept in a token (128 bits).
const MAC_HEX: usize = 32;

/// The order's public tracking token, `<order id>.<MAC>`: anyone with it sees
/// the order's [`PublicTracking`]; without the tenant's key it cannot be made
/// for another order.
pub fn token(secret: &[u8], order_id: &str) -> String {
    format!("{order_id}.{}", mac(secret, order_id))
}

/// The order a token is for, when its MAC is right (compared in constant time).
pub fn order_of_token(secret: &[u8], token: &str) -> Option<String> {
    let (order, given) = token.rsplit_once('.')?;
    if order.is_empty() || given.len() != MAC_HEX {
        return None;
    }
    let want = mac(secret, order);
    let diff = want
        .bytes()
        .zip(given.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b.to_ascii_lowercase()));
    (diff == 0).then(|| order.to_owned())
}

fn mac(secret: &[u8], order_id: &str) -> String {
    let m = hmac_sha256(secret, &[TRACK, b"\0", order_id.as_bytes()]);
    m.iter().map(|b| format!("{b:02x}")).collect::<String>()[..MAC_HEX].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{EventBody, decide, derive};
    use ruta_domain::hlc::Hlc;
    use ruta_domain::order::tests::sample_spec;
    use ruta_domain::{Actor, DeviceId, GeoPoint, OrderId, Role, UserId};

    fn who(user: &str, role: Role) -> Actor {
        Actor {
            user: UserId::new(user),
            role,
            device: DeviceId::new(format!("d-{user}")),
        }
    }

    /// An order whose drop-off is at Fredrikinkatu, advanced by `steps`.
    fn order(steps: &[(Actor, EventBody)]) -> OrderState {
        let mut spec = sample_spec("R-1");
        spec.dropoff.address.point = Some(GeoPoint::new(60.1650, 24.9360).unwrap());
        let d = who("dora", Role::Dispatcher);
        let mut events = vec![];
        let mut all = vec![(d.clone(), EventBody::Created { spec })];
        all.extend(steps.iter().cloned());
        for (i, (a, body)) in all.into_iter().enumerate() {
            let s = derive(OrderId::new("o-1"), events.clone());
            let at = Hlc {
                wall_ms: 1_000 * (i as i64 + 1),
                counter: 0,
                node: ruta_domain::hlc::node_of(a.user.as_str()),
            };
            events.push(decide(&s, &a, body, at, None).unwrap());
        }
        derive(OrderId::new("o-1"), events)
    }

    fn assigned() -> Vec<(Actor, EventBody)> {
        vec![(
            who("dora", Role::Dispatcher),
            EventBody::Assigned {
                courier: UserId::new("aki"),
            },
        )]
    }

    /// About 1.1 km north of the drop-off.
    fn fix(at: i64) -> BreadcrumbPoint {
        BreadcrumbPoint {
            at,
            lat: 60.1750,
            lon: 24.9360,
        }
    }

    #[test]
    fn the_courier_is_shown_only_while_the_parcel_is_on_its_way() {
        let now = 100_000;
        // Not yet picked up: no position, no ETA.
        let t = view(&order(&assigned()), Some(fix(now)), now, String::new());
        assert_eq!((t.courier, t.eta_ms), (None, None));
        let mut steps = assigned();
        steps.push((who("aki", Role::Courier), EventBody::PickedUp));
        let t = view(&order(&steps), Some(fix(now)), now, String::new());
        assert_eq!(t.courier, Some(fix(now)));
        // 1.1 km × 1.3 at 18 km/h ≈ 4.8 min.
        let eta = t.eta_ms.unwrap() - now;
        assert!((4 * 60_000..6 * 60_000).contains(&eta), "{eta}");
        // A stale position is not live and gives no ETA.
        let t = view(
            &order(&steps),
            Some(fix(now - FRESH_MS - 1)),
            now,
            String::new(),
        );
        assert_eq!((t.courier, t.eta_ms), (None, None));
    }

    #[test]
    fn delivered_tells_when_and_the_public_page_tells_nothing_else() {
        let mut steps = assigned();
        let aki = who("aki", Role::Courier);
        steps.push((aki.clone(), EventBody::PickedUp));
        let mut s = order(&steps);
        // Deliver (the sample asks for a photo: capture one first).
        let pod = crate::lifecycle::PodRecord {
            id: ruta_domain::PodId::new("p1"),
            photo_sha256: Some("ab".repeat(32)),
            signature_sha256: None,
            qr_verified: false,
            pin_verified: false,
            age_confirmed: false,
            chain: None,
        };
        let mut events: Vec<_> = s.timeline.iter().map(|t| t.event.clone()).collect();
        for (ms, body) in [
            (8_000, EventBody::PodCaptured { pod }),
            (
                9_000,
                EventBody::Delivered {
                    pods: vec![ruta_domain::PodId::new("p1")],
                    for_carrier: false,
                },
            ),
        ] {
            let at = Hlc {
                wall_ms: ms,
                counter: 0,
                node: ruta_domain::hlc::node_of("aki"),
            };
            events.push(decide(&s, &aki, body, at, None).unwrap());
            s = derive(OrderId::new("o-1"), events.clone());
        }
        let t = view(&s, Some(fix(9_500)), 10_000, "/t/x/y".into());
        assert_eq!(t.status, DeliveryStatus::Delivered);
        assert_eq!(t.delivered_at_ms, Some(9_000));
        assert_eq!(
            t.courier, None,
            "a delivered order's courier is not followed"
        );
        let p = public(&t);
        assert_eq!(p.headline, "Delivered");
        let json = serde_json::to_string(&p).unwrap();
        for leak in ["Aino", "Fredrikinkatu", "aki", "lat", "link"] {
            assert!(!json.contains(leak), "{leak} in {json}");
        }
    }

    #[test]
    fn a_token_opens_only_its_own_order_under_its_own_key() {
        let key = b"tenant key";
        let t = token(key, "order-1");
        assert_eq!(order_of_token(key, &t).as_deref(), Some("order-1"));
        assert_eq!(
            order_of_token(key, &t.to_uppercase()),
            None,
            "the order id is exact"
        );
        assert_eq!(order_of_token(b"other key", &t), None);
        // Another order under the same MAC, a truncated MAC, no MAC.
        let (_, m) = t.rsplit_once('.').unwrap();
        assert_eq!(order_of_token(key, &format!("order-2.{m}")), None);
        assert_eq!(order_of_token(key, &t[..t.len() - 1]), None);
        assert_eq!(order_of_token(key, "order-1"), None);
        assert_ne!(token(key, "order-1"), token(key, "order-2"));
    }
}

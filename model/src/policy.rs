//! Who may make which request of a device's core or of the tenant's server,
//! beyond one order's events (those the lifecycle judges event by event). One
//! table, so a screen, a core call, a server route and a test read the same rule.
//!
//! A refusal carries the code and message the command API answers with.

use app_api::{CarrierType, Role};
use ruta_domain::UserId;

use crate::lifecycle::{self, Kind};

/// A request that needs more than being signed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call<'a> {
    /// The driver monitor: every courier's position and workload.
    Fleet,
    /// A courier's stop sequence; `courier` is whose.
    PlanRoute { courier: &'a str },
    /// The auto-assignment proposal over the whole fleet.
    ProposeAssignment,
    /// Capturing a proof of delivery on an order carried by `carrier`.
    CapturePod { carrier: CarrierType },
    /// An order's PIN and QR code for the recipient's notice.
    VerificationCode,
    /// The tenant's key verification codes are derived from (server, `/v1/me`).
    TenantKey,
    /// The verifiers of a courier's own orders (server, `/v1/verifiers`).
    Verifiers,
    /// Relay a live position on a courier document (server, sync socket):
    /// `own` when the document is the caller's own.
    SendPosition { own: bool },
    /// The tenant's couriers for the driver monitor (server, `/v1/couriers`).
    CourierDirectory,
    /// A courier's stored breadcrumb (server, `/v1/breadcrumbs/{courier}`).
    Breadcrumbs { courier: &'a str },
    /// An order's tracking (server, `/v1/orders/{order}/tracking`): its
    /// courier's live position and ETA while on its way, and its public link;
    /// `own` when the caller is the order's client.
    Tracking { own: bool },
    /// The tenant's set-up (server, `/v1/admin/…`): users, enrolment codes,
    /// devices and their revocation.
    Administer,
    /// Reading trips (run sheets): `courier` is whose trips.
    Trips { courier: &'a str },
    /// A courier's cash ledger and position: `courier` is whose.
    Cash { courier: &'a str },
    /// Reading route sessions: `driver` is whose.
    Sessions { driver: &'a str },
    /// Planning and changing route sessions.
    PlanSessions,
    /// Waybills and the hubs' inventory.
    Waybills,
    /// Support tickets: reading and opening one's own (`manage`: working
    /// everyone's — assigning, statuses, the desk's list).
    Tickets { manage: bool },
}

/// Why a call is refused: the API's refusal code and a sentence for the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Denied {
    pub code: &'static str,
    pub message: &'static str,
}

/// Whether `user`, signed in as `role`, may make `call`.
pub fn allow(user: &UserId, role: Role, call: Call<'_>) -> Result<(), Denied> {
    let operator = role.is_operator();
    let deny = |code, message| Err(Denied { code, message });
    match call {
        Call::Fleet if !operator => deny("forbidden", "only dispatchers see the driver monitor"),
        Call::PlanRoute { courier } if role == Role::Courier && user.as_str() != courier => {
            deny("not_your_route", "a courier plans only their own stops")
        }
        Call::PlanRoute { .. } if role == Role::Client => {
            deny("forbidden", "clients do not plan routes")
        }
        Call::ProposeAssignment if !operator => {
            deny("dispatchers_only", "only dispatchers propose assignments")
        }
        // The lifecycle's own rule for the event the capture records: couriers on
        // their carriers' orders, operators for external carriers.
        Call::CapturePod { carrier } if !lifecycle::permitted(role, carrier, Kind::PodCaptured) => {
            if operator {
                deny(
                    "forbidden",
                    "proofs of delivery are captured by the courier; operators record them only for external carriers",
                )
            } else {
                deny("forbidden", "proofs of delivery are captured by couriers")
            }
        }
        // Couriers must learn the code from the recipient; clients' devices
        // never hold the key.
        Call::VerificationCode if !operator => {
            deny("forbidden", "only dispatchers print verification codes")
        }
        // With the key, any order's code can be computed: operators only.
        // Couriers check codes with their own orders' verifiers.
        Call::TenantKey if !operator => deny(
            "forbidden",
            "only operators' devices hold the tenant key; couriers get verifiers for their own orders",
        ),
        Call::Verifiers if role != Role::Courier => {
            deny("forbidden", "verifiers are for couriers' devices")
        }
        // Positions come from couriers, each on their own document only:
        // nobody can place another courier on the map.
        Call::SendPosition { own } if role != Role::Courier || !own => deny(
            "forbidden",
            "couriers send positions, on their own document only",
        ),
        Call::CourierDirectory if !operator => deny("forbidden", "operators only"),
        Call::Breadcrumbs { courier } if !operator && user.as_str() != courier => {
            deny("forbidden", "operators only")
        }
        // The courier's whereabouts are the business of the order's own client
        // (and the tenant's staff who dispatch it), nobody else's.
        Call::Tracking { own } if !(operator || role == Role::Client && own) => deny(
            "forbidden",
            "an order is tracked by its client and the tenant's dispatchers",
        ),
        Call::Administer if role != Role::Admin => {
            deny("admins_only", "only admins set the tenant up")
        }
        Call::Trips { courier }
            if !(operator || role == Role::Courier && user.as_str() == courier) =>
        {
            deny("forbidden", "a trip is its courier's and the dispatchers'")
        }
        Call::Cash { courier }
            if !(operator || role == Role::Courier && user.as_str() == courier) =>
        {
            deny(
                "forbidden",
                "a courier's cash is theirs and the dispatchers'",
            )
        }
        Call::Sessions { driver }
            if !(operator || role == Role::Courier && user.as_str() == driver) =>
        {
            deny(
                "forbidden",
                "a route session is its driver's and the dispatchers'",
            )
        }
        Call::PlanSessions if !operator => deny(
            "operators_only",
            "route sessions are planned by dispatchers and admins",
        ),
        Call::Waybills if !operator => deny(
            "operators_only",
            "waybills are the dispatchers' and admins'",
        ),
        Call::Tickets { .. } if role == Role::Courier => deny(
            "forbidden",
            "couriers reach the desk through chat, not support tickets",
        ),
        Call::Tickets { manage: true } if !operator => {
            deny("operators_only", "only operators work the support desk")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CarrierType::*;
    use Role::*;

    fn allow_me(role: Role, call: Call<'_>) -> Result<(), Denied> {
        allow(&UserId::new("me"), role, call)
    }

    /// Every role × call, as the table the UI, the core and the server follow.
    #[test]
    fn the_request_table() {
        let calls: [(&str, Call<'static>); 29] = [
            ("fleet", Call::Fleet),
            ("plan own", Call::PlanRoute { courier: "me" }),
            ("plan other", Call::PlanRoute { courier: "other" }),
            ("propose", Call::ProposeAssignment),
            ("pod internal", Call::CapturePod { carrier: Internal }),
            ("pod prime", Call::CapturePod { carrier: Prime }),
            ("pod hybrid", Call::CapturePod { carrier: Hybrid }),
            ("pod external", Call::CapturePod { carrier: External }),
            ("code", Call::VerificationCode),
            ("key", Call::TenantKey),
            ("verifiers", Call::Verifiers),
            ("position own", Call::SendPosition { own: true }),
            ("position other", Call::SendPosition { own: false }),
            ("couriers", Call::CourierDirectory),
            ("crumbs own", Call::Breadcrumbs { courier: "me" }),
            ("crumbs other", Call::Breadcrumbs { courier: "other" }),
            ("administer", Call::Administer),
            ("track own", Call::Tracking { own: true }),
            ("track other", Call::Tracking { own: false }),
            ("trips own", Call::Trips { courier: "me" }),
            ("trips other", Call::Trips { courier: "other" }),
            ("cash own", Call::Cash { courier: "me" }),
            ("cash other", Call::Cash { courier: "other" }),
            ("sessions own", Call::Sessions { driver: "me" }),
            ("sessions other", Call::Sessions { driver: "other" }),
            ("plan sessions", Call::PlanSessions),
            ("waybills", Call::Waybills),
            ("tickets own", Call::Tickets { manage: false }),
            ("tickets manage", Call::Tickets { manage: true }),
        ];
        // Columns in the order of `calls`.
        let (t, f) = (true, false);
        #[rustfmt::skip]
        let table: [(Role, [bool; 29]); 4] = [
            (Admin,      [t, t, t, t, f, f, f, t, t, t, f, f, f, t, t, t, t, t, t, t, t, t, t, t, t, t, t, t, t]),
            (Dispatcher, [t, t, t, t, f, f, f, t, t, t, f, f, f, t, t, t, f, t, t, t, t, t, t, t, t, t, t, t, t]),
            (Courier,    [f, t, f, f, t, t, t, f, f, f, t, t, f, f, t, f, f, f, f, t, f, t, f, t, f, f, f, f, f]),
            (Client,     [f, f, f, f, f, f, f, f, f, f, f, f, f, f, t, f, f, t, f, f, f, f, f, f, f, f, f, t, f]),
        ];
        for (role, row) in table {
            for ((name, call), want) in calls.iter().zip(row) {
                let got = allow_me(role, *call);
                assert_eq!(got.is_ok(), want, "{role:?} {name}: {got:?}");
                if let Err(d) = got {
                    assert!(!d.code.is_empty() && !d.message.is_empty());
                }
            }
        }
    }

    #[test]
    fn proof_capture_follows_the_lifecycle_for_every_role_and_carrier() {
        for role in [Admin, Dispatcher, Courier, Client] {
            for carrier in [Internal, Prime, Hybrid, External] {
                assert_eq!(
                    allow_me(role, Call::CapturePod { carrier }).is_ok(),
                    lifecycle::permitted(role, carrier, Kind::PodCaptured),
                    "{role:?} {carrier:?}"
                );
            }
        }
    }
}

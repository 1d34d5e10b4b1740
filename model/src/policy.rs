//! Who may make which request of a device's core, beyond one order's events
//! (those the lifecycle judges event by event). One table, so a screen, a core
//! call and a test read the same rule.
//!
//! A refusal carries the code and message the command API answers with.

use app_api::{CarrierType, Role};
use ruta_domain::Actor;

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
}

/// Why a call is refused: the API's refusal code and a sentence for the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Denied {
    pub code: &'static str,
    pub message: &'static str,
}

/// Whether `actor` may make `call`.
pub fn allow(actor: &Actor, call: Call<'_>) -> Result<(), Denied> {
    let operator = actor.role.is_operator();
    let deny = |code, message| Err(Denied { code, message });
    match call {
        Call::Fleet if !operator => deny("forbidden", "only dispatchers see the driver monitor"),
        Call::PlanRoute { courier }
            if actor.role == Role::Courier && actor.user.as_str() != courier =>
        {
            deny("not_your_route", "a courier plans only their own stops")
        }
        Call::PlanRoute { .. } if actor.role == Role::Client => {
            deny("forbidden", "clients do not plan routes")
        }
        Call::ProposeAssignment if !operator => {
            deny("dispatchers_only", "only dispatchers propose assignments")
        }
        // The lifecycle's own rule for the event the capture records: couriers on
        // their carriers' orders, operators for external carriers.
        Call::CapturePod { carrier }
            if !lifecycle::permitted(actor.role, carrier, Kind::PodCaptured) =>
        {
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
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CarrierType::*;
    use Role::*;
    use ruta_domain::{DeviceId, UserId};

    fn actor(role: Role) -> Actor {
        Actor {
            user: UserId::new("me"),
            role,
            device: DeviceId::new("d"),
        }
    }

    /// Every role × call, as the table the UI and the core both follow.
    #[test]
    fn the_request_table() {
        let calls: [(&str, Call<'static>); 9] = [
            ("fleet", Call::Fleet),
            ("plan own", Call::PlanRoute { courier: "me" }),
            ("plan other", Call::PlanRoute { courier: "other" }),
            ("propose", Call::ProposeAssignment),
            ("pod internal", Call::CapturePod { carrier: Internal }),
            ("pod prime", Call::CapturePod { carrier: Prime }),
            ("pod hybrid", Call::CapturePod { carrier: Hybrid }),
            ("pod external", Call::CapturePod { carrier: External }),
            ("code", Call::VerificationCode),
        ];
        // Columns in the order of `calls`.
        let table: [(Role, [bool; 9]); 4] = [
            (
                Admin,
                [true, true, true, true, false, false, false, true, true],
            ),
            (
                Dispatcher,
                [true, true, true, true, false, false, false, true, true],
            ),
            (
                Courier,
                [false, true, false, false, true, true, true, false, false],
            ),
            (
                Client,
                [
                    false, false, false, false, false, false, false, false, false,
                ],
            ),
        ];
        for (role, row) in table {
            for ((name, call), want) in calls.iter().zip(row) {
                let got = allow(&actor(role), *call);
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
                    allow(&actor(role), Call::CapturePod { carrier }).is_ok(),
                    lifecycle::permitted(role, carrier, Kind::PodCaptured),
                    "{role:?} {carrier:?}"
                );
            }
        }
    }
}

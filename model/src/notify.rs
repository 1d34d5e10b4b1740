//! Who is told of what: the notification rules every device applies to what
//! it holds, so a user's devices derive the same notifications (the same
//! ids) and nothing but the events is stored. Read state and subscriptions
//! are the user's inbox document (`inbox_doc`).

use app_api::notify::{Channel, NoticeKind};
use ruta_domain::{Actor, Role, UserId};

use crate::Principal;
use crate::lifecycle::EventBody;

/// What an order event is, for telling people of it.
#[derive(Clone, Copy, Debug)]
pub struct OrderEvent<'a> {
    pub body: &'a EventBody,
    pub actor: &'a Actor,
    /// The order's client.
    pub client: Option<&'a UserId>,
    /// Its courier just before this event.
    pub courier_before: Option<&'a UserId>,
    /// Its courier now (the event applied).
    pub courier_after: Option<&'a UserId>,
}

/// The notification `who` gets of an order event, if any: never of their own
/// doing. Clients hear of their orders' progress; couriers of orders given to
/// them or taken off them, and of stops changed or orders cancelled under
/// them; operators of what couriers and clients did to orders.
pub fn of_order_event(who: &Principal, e: OrderEvent<'_>) -> Option<NoticeKind> {
    if e.actor.user == who.user {
        return None;
    }
    let me = |u: Option<&UserId>| u == Some(&who.user);
    use EventBody as B;
    match who.role {
        Role::Client if me(e.client) => match e.body {
            B::PickedUp
            | B::InTransit
            | B::Delivered { .. }
            | B::AttemptFailed { .. }
            | B::Returned { .. }
            | B::Cancelled { .. }
            | B::ReceivedAtHub { .. } => Some(NoticeKind::Status),
            _ => None,
        },
        Role::Courier => match e.body {
            B::Assigned { courier } if *courier == who.user && !me(e.courier_before) => {
                Some(NoticeKind::Courier)
            }
            B::Assigned { .. } | B::Unassigned if me(e.courier_before) && !me(e.courier_after) => {
                Some(NoticeKind::Courier)
            }
            B::Edited { edit, .. }
                if me(e.courier_after)
                    && matches!(
                        edit,
                        crate::lifecycle::Edit::Pickup(_)
                            | crate::lifecycle::Edit::Dropoff(_)
                            | crate::lifecycle::Edit::Instructions(_)
                    ) =>
            {
                Some(NoticeKind::Address)
            }
            B::Cancelled { .. } if me(e.courier_before) => Some(NoticeKind::Status),
            _ => None,
        },
        Role::Dispatcher | Role::Admin if !e.actor.role.is_operator() => match e.body {
            B::Delivered { .. }
            | B::AttemptFailed { .. }
            | B::Returned { .. }
            | B::Declined { .. }
            | B::Cancelled { .. }
            | B::Created { .. }
            | B::ReceivedAtHub { .. } => Some(NoticeKind::Status),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a notification interrupts (an OS notification even for those who
/// chose the app only is not ours to decide: this marks it in the centre).
pub fn critical(kind: NoticeKind, body: Option<&EventBody>) -> bool {
    match kind {
        NoticeKind::Address | NoticeKind::Conflict | NoticeKind::Cash | NoticeKind::Mention => true,
        NoticeKind::Courier | NoticeKind::Late => true,
        NoticeKind::Status => matches!(
            body,
            Some(
                EventBody::AttemptFailed { .. }
                    | EventBody::Returned { .. }
                    | EventBody::Cancelled { .. }
                    | EventBody::Declined { .. }
            )
        ),
        NoticeKind::Message | NoticeKind::Ticket => false,
    }
}

/// A role's channel for a kind until the user chooses: couriers are
/// interrupted only for what changes their work; desks for conflicts, cash
/// and mentions.
pub fn default_channel(role: Role, kind: NoticeKind) -> Channel {
    use NoticeKind as K;
    match (role, kind) {
        (Role::Courier, K::Courier | K::Address | K::Mention) => Channel::Os,
        (Role::Courier, K::Message | K::Status | K::Late) => Channel::InApp,
        (Role::Courier, _) => Channel::Off,
        (Role::Client, K::Status | K::Message | K::Mention | K::Ticket) => Channel::InApp,
        (Role::Client, _) => Channel::Off,
        (_, K::Conflict | K::Cash | K::Mention | K::Ticket | K::Late) => Channel::Os,
        (_, K::Status | K::Message) => Channel::InApp,
        (_, K::Courier | K::Address) => Channel::Off,
    }
}

/// Whether a message's text names `user` (`@user`, not inside a longer word).
pub fn mentions(text: &str, user: &UserId) -> bool {
    let tag = format!("@{user}");
    text.match_indices(&tag).any(|(i, _)| {
        let mut rest = text[i + tag.len()..].chars();
        let word = |c: char| c.is_alphanumeric() || "-_@".contains(c);
        match rest.next() {
            None => true,
            // A full stop ends the name unless more of a name follows it.
            Some('.') => rest.next().is_none_or(|c| !word(c)),
            Some(c) => !word(c),
        }
    })
}

/// The id of the notification about an order's event (the same on every device).
pub fn order_notice_id(order: &str, event: &str) -> String {
    format!("order:{order}:{event}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::Edit;
    use ruta_domain::DeviceId;

    fn actor(user: &str, role: Role) -> Actor {
        Actor {
            user: UserId::new(user),
            role,
            device: DeviceId::new("d"),
        }
    }
    fn p(user: &str, role: Role) -> Principal {
        Principal {
            user: UserId::new(user),
            role,
        }
    }

    fn notice(
        who: &Principal,
        body: &EventBody,
        actor: &Actor,
        before: Option<&UserId>,
        after: Option<&UserId>,
    ) -> Option<NoticeKind> {
        let shop = UserId::new("shop");
        of_order_event(
            who,
            OrderEvent {
                body,
                actor,
                client: Some(&shop),
                courier_before: before,
                courier_after: after,
            },
        )
    }

    #[test]
    fn each_role_hears_of_what_concerns_it_and_never_of_its_own_doing() {
        let (cora, dave) = (UserId::new("cora"), UserId::new("dave"));
        let courier = actor("cora", Role::Courier);
        let desk = actor("dora", Role::Dispatcher);
        let picked = EventBody::PickedUp;
        let assign_dave = EventBody::Assigned {
            courier: dave.clone(),
        };
        let moved = EventBody::Edited {
            edit: Edit::Instructions("gate 4".into()),
            previous: None,
        };
        // The courier picks up: the client and the desk hear, the courier does not.
        let f = |w: &Principal| notice(w, &picked, &courier, Some(&cora), Some(&cora));
        assert_eq!(f(&p("shop", Role::Client)), Some(NoticeKind::Status));
        assert_eq!(f(&p("other", Role::Client)), None);
        assert_eq!(
            f(&p("dora", Role::Dispatcher)),
            None,
            "not a desk's concern"
        );
        assert_eq!(f(&p("cora", Role::Courier)), None);
        // Reassigned from cora to dave by the desk: both couriers hear, the desk not.
        let f = |w: &Principal| notice(w, &assign_dave, &desk, Some(&cora), Some(&dave));
        assert_eq!(f(&p("cora", Role::Courier)), Some(NoticeKind::Courier));
        assert_eq!(f(&p("dave", Role::Courier)), Some(NoticeKind::Courier));
        assert_eq!(f(&p("eve", Role::Courier)), None);
        assert_eq!(f(&p("dora", Role::Dispatcher)), None, "the desk did it");
        assert_eq!(f(&p("dan", Role::Dispatcher)), None, "an operator's doing");
        // Instructions changed under the courier: critical for them.
        let f = |w: &Principal| notice(w, &moved, &desk, Some(&cora), Some(&cora));
        assert_eq!(f(&p("cora", Role::Courier)), Some(NoticeKind::Address));
        assert!(critical(NoticeKind::Address, Some(&moved)));
        assert_eq!(f(&p("dave", Role::Courier)), None);
        // A failed attempt: the desk hears, critically.
        let failed = EventBody::AttemptFailed {
            reason: "closed".into(),
        };
        let f = |w: &Principal| notice(w, &failed, &courier, Some(&cora), Some(&cora));
        assert_eq!(f(&p("dora", Role::Dispatcher)), Some(NoticeKind::Status));
        assert!(critical(NoticeKind::Status, Some(&failed)));
        assert!(!critical(NoticeKind::Status, Some(&picked)));
    }

    #[test]
    fn mentions_name_a_whole_user() {
        let cora = UserId::new("cora");
        assert!(mentions("@cora please call", &cora));
        assert!(mentions("ask @cora.", &cora));
        assert!(!mentions("@coral is here", &cora));
        assert!(!mentions("cora", &cora));
    }

    #[test]
    fn couriers_are_interrupted_only_for_what_changes_their_work() {
        assert_eq!(
            default_channel(Role::Courier, NoticeKind::Address),
            Channel::Os
        );
        assert_eq!(
            default_channel(Role::Courier, NoticeKind::Status),
            Channel::InApp
        );
        assert_eq!(
            default_channel(Role::Courier, NoticeKind::Cash),
            Channel::Off
        );
        assert_eq!(
            default_channel(Role::Dispatcher, NoticeKind::Conflict),
            Channel::Os
        );
    }
}

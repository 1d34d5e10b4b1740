//! Which documents a signed-in user may open, and how.
//!
//! The server keeps one [`DocFacts`] per document (derived from its content by
//! [`facts_of_order`] whenever it changes) and asks [`decide`] for every
//! (document, user) pair the sync engine shares. A denied document is answered
//! exactly like a missing one.

use serde::{Deserialize, Serialize};

use super::Principal;
use crate::lifecycle::OrderState;
use ruta_domain::UserId;

/// What kind of document this is and who it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DocFacts {
    /// An order: its client (if a client created it), current courier, and
    /// the couriers who held it before.
    Order {
        client: Option<UserId>,
        assignee: Option<UserId>,
        /// Couriers who were assigned the order (or claimed it) and no longer
        /// are. They may still write to it: what they did while it was theirs,
        /// offline, must reach the server and become the conflict
        /// docs/merges.md specifies ("the order follows the parcel"); the guard
        /// accepts only events they made as its holder. Their index does not
        /// list it (see [`listed`]).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        held: Vec<UserId>,
    },
    /// A user's index: the list of documents they may open (server-written).
    Index { owner: UserId },
    /// A courier's own document: live location ephemera travel on it.
    Courier { owner: UserId },
    /// The tenant's configuration (`config_doc`): everyone reads it, admins write it.
    Config,
    /// The staff configuration (warehouses, vehicles, courier profiles): staff
    /// read it, admins write it, clients never see it.
    StaffConfig,
    /// A trip (run sheet, `trip_doc`): operators read and write it, its
    /// courier reads it and writes what a courier may (reorder, start,
    /// close); no one else sees it.
    Trip { courier: UserId },
    /// A courier's cash ledger (`cash_doc`): operators read and write it
    /// (receipts, settlements), its courier reads it and declares; no one
    /// else sees it.
    Cash { courier: UserId },
    /// A waybill (`waybill_doc`): operators only.
    Waybill,
    /// A route session (`session_doc`): operators read and write it, its
    /// driver reads it; no one else sees it.
    Session { driver: UserId },
    /// A conversation (`chat_doc`): its members read and write it; with
    /// `staff`, every operator does too; with `couriers`, every courier.
    /// Decided by the conversation's link (`chat_doc::facts_of`), so an
    /// order's chat follows the order's courier.
    Chat {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        members: Vec<UserId>,
        staff: bool,
        #[serde(default)]
        couriers: bool,
    },
    /// A user's inbox (`inbox_doc`: read state, subscriptions): theirs only.
    Inbox { owner: UserId },
    /// A support ticket (`ticket_doc`): operators read and write it, its
    /// requester (a client; none for a storefront guest) reads it and writes
    /// what a requester may (close, reopen); no one else sees it.
    Ticket { requester: Option<UserId> },
}

/// The facts a document is judged by for `who`: the server's, or — for a
/// document it does not know yet — those its id alone settles: a courier's
/// own cash ledger (its id is theirs, see `cash_doc::ledger_id`), anyone's
/// own inbox (`inbox_doc::inbox_id`), a courier's chat
/// with dispatch and the couriers' team chat (`chat_doc::chat_id`), which
/// their phone may create offline before anyone else has.
pub fn facts_for(who: &Principal, doc: &str, known: Option<DocFacts>) -> Option<DocFacts> {
    if known.is_some() {
        return known;
    }
    // Anyone's own inbox, which any of their devices may make first.
    if crate::ids::doc_id_of_uuid(&crate::inbox_doc::inbox_id(&who.user))
        .is_some_and(|d| d.to_string() == doc)
    {
        return Some(DocFacts::Inbox {
            owner: who.user.clone(),
        });
    }
    if who.role != ruta_domain::Role::Courier {
        return None;
    }
    let own = crate::ids::doc_id_of_uuid(&crate::cash_doc::ledger_id(&who.user))?;
    if own.to_string() == doc {
        return Some(DocFacts::Cash {
            courier: who.user.clone(),
        });
    }
    // Their chat with dispatch and the couriers' team chat, which they may
    // start offline too.
    use app_api::chat::{ChatLink, Team};
    [
        ChatLink::Driver {
            courier: who.user.to_string(),
        },
        ChatLink::Team {
            team: Team::Couriers,
        },
    ]
    .into_iter()
    .find(|l| {
        crate::ids::doc_id_of_uuid(&crate::chat_doc::chat_id(l))
            .is_some_and(|d| d.to_string() == doc)
    })
    .map(|l| crate::chat_doc::facts_of(&l, None, false))
}

/// How a document is shared with a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    None,
    Read,
    ReadWrite,
}

/// The access of `who` to a document with `facts` (None: a document the server
/// does not know yet, i.e. one a peer is creating).
pub fn decide(who: &Principal, facts: Option<&DocFacts>) -> Access {
    let operator = who.role.is_operator();
    let mine = |u: &UserId| *u == who.user;
    match facts {
        // Clients and operators create orders; the write guard checks what they send.
        None if operator || who.role == ruta_domain::Role::Client => Access::ReadWrite,
        None => Access::None,
        Some(DocFacts::Order { .. }) if operator => Access::ReadWrite,
        Some(DocFacts::Order {
            client,
            assignee,
            held,
        }) => match who.role {
            ruta_domain::Role::Courier if assignee.as_ref().is_some_and(mine) => Access::ReadWrite,
            ruta_domain::Role::Courier if held.iter().any(mine) => Access::ReadWrite,
            ruta_domain::Role::Client if client.as_ref().is_some_and(mine) => Access::ReadWrite,
            _ => Access::None,
        },
        Some(DocFacts::Index { owner }) if mine(owner) => Access::Read,
        Some(DocFacts::Index { .. }) => Access::None,
        Some(DocFacts::Courier { owner }) if mine(owner) => Access::ReadWrite,
        Some(DocFacts::Courier { .. }) if operator => Access::Read,
        Some(DocFacts::Courier { .. }) => Access::None,
        Some(DocFacts::Config) if crate::config_doc::permitted(who.role) => Access::ReadWrite,
        // Dispatchers edit the routes in it (each change judged by `config_doc::may_change`).
        Some(DocFacts::StaffConfig)
            if crate::config_doc::may_write(app_api::config::ConfigScope::Staff, who.role) =>
        {
            Access::ReadWrite
        }
        Some(DocFacts::Config) => Access::Read,
        Some(DocFacts::StaffConfig) if who.role == ruta_domain::Role::Client => Access::None,
        Some(DocFacts::StaffConfig) => Access::Read,
        Some(DocFacts::Trip { .. }) if operator => Access::ReadWrite,
        Some(DocFacts::Trip { courier })
            if who.role == ruta_domain::Role::Courier && mine(courier) =>
        {
            Access::ReadWrite
        }
        Some(DocFacts::Trip { .. }) => Access::None,
        Some(DocFacts::Cash { .. }) if operator => Access::ReadWrite,
        Some(DocFacts::Cash { courier })
            if who.role == ruta_domain::Role::Courier && mine(courier) =>
        {
            Access::ReadWrite
        }
        Some(DocFacts::Cash { .. }) => Access::None,
        Some(DocFacts::Waybill) if operator => Access::ReadWrite,
        Some(DocFacts::Waybill) => Access::None,
        Some(DocFacts::Session { .. }) if operator => Access::ReadWrite,
        Some(DocFacts::Session { driver })
            if who.role == ruta_domain::Role::Courier && mine(driver) =>
        {
            Access::Read
        }
        Some(DocFacts::Session { .. }) => Access::None,
        Some(DocFacts::Chat { staff: true, .. }) if operator => Access::ReadWrite,
        Some(DocFacts::Chat { members, .. }) if members.iter().any(mine) => Access::ReadWrite,
        Some(DocFacts::Chat { couriers: true, .. }) if who.role == ruta_domain::Role::Courier => {
            Access::ReadWrite
        }
        Some(DocFacts::Chat { .. }) => Access::None,
        Some(DocFacts::Inbox { owner }) if mine(owner) => Access::ReadWrite,
        Some(DocFacts::Inbox { .. }) => Access::None,
        Some(DocFacts::Ticket { .. }) if operator => Access::ReadWrite,
        Some(DocFacts::Ticket { requester: Some(r) }) if mine(r) => Access::ReadWrite,
        Some(DocFacts::Ticket { .. }) => Access::None,
    }
}

/// Whether `who`'s index lists the document: what they may open, except an
/// order they only held before (they may still push what they did while it was
/// theirs, but it is no longer their work to follow).
pub fn listed(who: &Principal, facts: &DocFacts) -> bool {
    if decide(who, Some(facts)) == Access::None {
        return false;
    }
    match facts {
        DocFacts::Order { assignee, held, .. } if who.role == ruta_domain::Role::Courier => {
            !held.contains(&who.user) || assignee.as_ref() == Some(&who.user)
        }
        _ => true,
    }
}

/// The facts of an order document, from its derived state.
pub fn facts_of_order(state: &OrderState) -> DocFacts {
    DocFacts::Order {
        client: state.spec.as_ref().and_then(|s| s.client.clone()),
        assignee: state.assignee.clone(),
        held: state
            .involved
            .iter()
            .filter(|u| state.assignee.as_ref() != Some(*u))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruta_domain::Role;

    fn p(user: &str, role: Role) -> Principal {
        Principal {
            user: UserId::new(user),
            role,
        }
    }

    #[test]
    fn everyone_reads_the_configuration_and_only_admins_write_it() {
        for (role, want) in [
            (Role::Admin, Access::ReadWrite),
            (Role::Dispatcher, Access::Read),
            (Role::Courier, Access::Read),
            (Role::Client, Access::Read),
        ] {
            assert_eq!(
                decide(&p("u", role), Some(&DocFacts::Config)),
                want,
                "{role:?}"
            );
            assert!(listed(&p("u", role), &DocFacts::Config));
        }
    }

    #[test]
    fn staff_read_the_staff_configuration_dispatchers_write_its_routes_and_clients_never_see_it() {
        for (role, want) in [
            (Role::Admin, Access::ReadWrite),
            (Role::Dispatcher, Access::ReadWrite),
            (Role::Courier, Access::Read),
            (Role::Client, Access::None),
        ] {
            let who = p("u", role);
            assert_eq!(decide(&who, Some(&DocFacts::StaffConfig)), want, "{role:?}");
            assert_eq!(
                listed(&who, &DocFacts::StaffConfig),
                want != Access::None,
                "{role:?}"
            );
        }
    }

    #[test]
    fn a_couriers_own_new_ledger_is_theirs_by_its_id() {
        let c1 = p("c1", Role::Courier);
        let id = |u: &str| {
            crate::ids::doc_id_of_uuid(&crate::cash_doc::ledger_id(&UserId::new(u)))
                .unwrap()
                .to_string()
        };
        let own = facts_for(&c1, &id("c1"), None);
        assert_eq!(
            own,
            Some(DocFacts::Cash {
                courier: UserId::new("c1")
            })
        );
        assert_eq!(decide(&c1, own.as_ref()), Access::ReadWrite);
        // Another courier's ledger, or any other unknown document: nothing.
        assert_eq!(facts_for(&c1, &id("c2"), None), None);
        assert_eq!(
            decide(&c1, facts_for(&c1, &id("c2"), None).as_ref()),
            Access::None
        );
        // Known facts always win.
        let known = DocFacts::Cash {
            courier: UserId::new("c2"),
        };
        assert_eq!(facts_for(&c1, &id("c1"), Some(known.clone())), Some(known));
        // A dispatcher creating one is judged as any new document (and by its content).
        assert_eq!(facts_for(&p("d", Role::Dispatcher), &id("c1"), None), None);
    }

    #[test]
    fn a_conversation_is_shared_by_its_link_and_an_order_chat_follows_its_courier() {
        use crate::chat_doc::facts_of;
        use app_api::chat::{ChatLink, Team};
        let order = |assignee: Option<&str>| DocFacts::Order {
            client: Some(UserId::new("shop")),
            assignee: assignee.map(UserId::new),
            held: vec![UserId::new("old")],
        };
        let link = ChatLink::Order { order: "o1".into() };
        let with = facts_of(&link, Some(&order(Some("cora"))), false);
        let allowed = facts_of(&link, Some(&order(Some("cora"))), true);
        let moved = facts_of(&link, Some(&order(Some("dave"))), false);
        let cases = [
            (&with, p("disp", Role::Dispatcher), Access::ReadWrite),
            (&with, p("adm", Role::Admin), Access::ReadWrite),
            (&with, p("cora", Role::Courier), Access::ReadWrite),
            (&with, p("dave", Role::Courier), Access::None),
            // A courier who held the order before keeps no part in its chat.
            (&with, p("old", Role::Courier), Access::None),
            (&with, p("shop", Role::Client), Access::None),
            (&allowed, p("shop", Role::Client), Access::ReadWrite),
            (&allowed, p("other", Role::Client), Access::None),
            (&moved, p("cora", Role::Courier), Access::None),
            (&moved, p("dave", Role::Courier), Access::ReadWrite),
        ];
        for (facts, who, want) in cases {
            assert_eq!(decide(&who, Some(facts)), want, "{who:?} {facts:?}");
        }
        let direct = facts_of(
            &ChatLink::Direct {
                a: "cora".into(),
                b: "dave".into(),
            },
            None,
            false,
        );
        assert_eq!(
            decide(&p("cora", Role::Courier), Some(&direct)),
            Access::ReadWrite
        );
        assert_eq!(
            decide(&p("disp", Role::Dispatcher), Some(&direct)),
            Access::None
        );
        assert_eq!(
            decide(&p("eve", Role::Courier), Some(&direct)),
            Access::None
        );
        let team = facts_of(
            &ChatLink::Team {
                team: Team::Couriers,
            },
            None,
            false,
        );
        assert_eq!(
            decide(&p("eve", Role::Courier), Some(&team)),
            Access::ReadWrite
        );
        assert_eq!(decide(&p("shop", Role::Client), Some(&team)), Access::None);
        let staff = facts_of(&ChatLink::Team { team: Team::Staff }, None, false);
        assert_eq!(decide(&p("eve", Role::Courier), Some(&staff)), Access::None);
        assert_eq!(
            decide(&p("disp", Role::Dispatcher), Some(&staff)),
            Access::ReadWrite
        );
        let driver = facts_of(
            &ChatLink::Driver {
                courier: "cora".into(),
            },
            None,
            false,
        );
        assert_eq!(
            decide(&p("cora", Role::Courier), Some(&driver)),
            Access::ReadWrite
        );
        assert_eq!(
            decide(&p("dave", Role::Courier), Some(&driver)),
            Access::None
        );
        // Their own inbox, before the server has seen it; nobody else's.
        for role in [Role::Admin, Role::Dispatcher, Role::Courier, Role::Client] {
            let me = p("me", role);
            let mine = crate::ids::doc_id_of_uuid(&crate::inbox_doc::inbox_id(&me.user))
                .unwrap()
                .to_string();
            let facts = facts_for(&me, &mine, None);
            assert_eq!(decide(&me, facts.as_ref()), Access::ReadWrite, "{role:?}");
            assert_eq!(decide(&p("you", role), facts.as_ref()), Access::None);
        }
        // A courier's own chat with dispatch and the team chat, before the server has them.
        let c = p("cora", Role::Courier);
        for link in [
            ChatLink::Driver {
                courier: "cora".into(),
            },
            ChatLink::Team {
                team: Team::Couriers,
            },
        ] {
            let id = crate::ids::doc_id_of_uuid(&crate::chat_doc::chat_id(&link))
                .unwrap()
                .to_string();
            assert_eq!(
                decide(&c, facts_for(&c, &id, None).as_ref()),
                Access::ReadWrite
            );
        }
        let dave = crate::ids::doc_id_of_uuid(&crate::chat_doc::chat_id(&ChatLink::Driver {
            courier: "dave".into(),
        }))
        .unwrap()
        .to_string();
        assert_eq!(facts_for(&c, &dave, None), None);
        let customer = facts_of(
            &ChatLink::Customer {
                client: "shop".into(),
            },
            None,
            false,
        );
        assert_eq!(
            decide(&p("shop", Role::Client), Some(&customer)),
            Access::ReadWrite
        );
        assert_eq!(
            decide(&p("cora", Role::Courier), Some(&customer)),
            Access::None
        );
    }

    #[test]
    fn a_waybill_is_the_operators_only() {
        for (who, want) in [
            (p("d", Role::Dispatcher), Access::ReadWrite),
            (p("a", Role::Admin), Access::ReadWrite),
            (p("c1", Role::Courier), Access::None),
            (p("k1", Role::Client), Access::None),
        ] {
            assert_eq!(decide(&who, Some(&DocFacts::Waybill)), want, "{who:?}");
        }
    }

    #[test]
    fn a_cash_ledger_is_its_couriers_and_the_operators_only() {
        let cash = DocFacts::Cash {
            courier: UserId::new("c1"),
        };
        for (who, want) in [
            (p("d", Role::Dispatcher), Access::ReadWrite),
            (p("a", Role::Admin), Access::ReadWrite),
            (p("c1", Role::Courier), Access::ReadWrite),
            (p("c2", Role::Courier), Access::None),
            (p("c1", Role::Client), Access::None),
        ] {
            assert_eq!(decide(&who, Some(&cash)), want, "{who:?}");
            assert_eq!(listed(&who, &cash), want != Access::None, "{who:?}");
        }
    }

    #[test]
    fn a_trip_is_its_couriers_and_the_operators_only() {
        let trip = DocFacts::Trip {
            courier: UserId::new("c1"),
        };
        for (who, want) in [
            (p("d", Role::Dispatcher), Access::ReadWrite),
            (p("a", Role::Admin), Access::ReadWrite),
            (p("c1", Role::Courier), Access::ReadWrite),
            (p("c2", Role::Courier), Access::None),
            (p("c1", Role::Client), Access::None),
        ] {
            assert_eq!(decide(&who, Some(&trip)), want, "{who:?}");
            assert_eq!(listed(&who, &trip), want != Access::None, "{who:?}");
        }
    }

    #[test]
    fn couriers_see_only_what_is_assigned_to_them_now() {
        let order = DocFacts::Order {
            client: Some(UserId::new("k1")),
            assignee: Some(UserId::new("c1")),
            held: vec![],
        };
        assert_eq!(
            decide(&p("c1", Role::Courier), Some(&order)),
            Access::ReadWrite
        );
        assert_eq!(decide(&p("c2", Role::Courier), Some(&order)), Access::None);
        assert_eq!(
            decide(&p("k1", Role::Client), Some(&order)),
            Access::ReadWrite
        );
        assert_eq!(decide(&p("k2", Role::Client), Some(&order)), Access::None);
        assert_eq!(
            decide(&p("d", Role::Dispatcher), Some(&order)),
            Access::ReadWrite
        );
        // A user named like the courier but signed in as a client gets nothing.
        assert_eq!(decide(&p("c1", Role::Client), Some(&order)), Access::None);
        let unassigned = DocFacts::Order {
            client: None,
            assignee: None,
            held: vec![],
        };
        assert_eq!(
            decide(&p("c1", Role::Courier), Some(&unassigned)),
            Access::None
        );
    }

    #[test]
    fn a_courier_who_held_an_order_may_still_write_it_but_does_not_list_it() {
        let reassigned = DocFacts::Order {
            client: None,
            assignee: Some(UserId::new("c2")),
            held: vec![UserId::new("c1")],
        };
        let c1 = p("c1", Role::Courier);
        assert_eq!(decide(&c1, Some(&reassigned)), Access::ReadWrite);
        assert!(!listed(&c1, &reassigned), "no longer c1's work");
        assert!(listed(&p("c2", Role::Courier), &reassigned));
        assert_eq!(
            decide(&p("c3", Role::Courier), Some(&reassigned)),
            Access::None
        );
        // A client named like the courier still gets nothing.
        assert_eq!(
            decide(&p("c1", Role::Client), Some(&reassigned)),
            Access::None
        );
    }

    #[test]
    fn unknown_documents_may_be_created_by_clients_and_operators_only() {
        assert_eq!(decide(&p("c1", Role::Courier), None), Access::None);
        assert_eq!(decide(&p("k1", Role::Client), None), Access::ReadWrite);
        assert_eq!(decide(&p("a", Role::Admin), None), Access::ReadWrite);
    }

    #[test]
    fn indexes_are_private_and_read_only_courier_docs_readable_by_operators() {
        let index = DocFacts::Index {
            owner: UserId::new("c1"),
        };
        assert_eq!(decide(&p("c1", Role::Courier), Some(&index)), Access::Read);
        assert_eq!(
            decide(&p("d", Role::Dispatcher), Some(&index)),
            Access::None
        );
        let courier = DocFacts::Courier {
            owner: UserId::new("c1"),
        };
        assert_eq!(
            decide(&p("c1", Role::Courier), Some(&courier)),
            Access::ReadWrite
        );
        assert_eq!(
            decide(&p("d", Role::Dispatcher), Some(&courier)),
            Access::Read
        );
        assert_eq!(
            decide(&p("c2", Role::Courier), Some(&courier)),
            Access::None
        );
    }

    #[test]
    fn a_route_session_is_its_drivers_to_read_and_operators_to_write() {
        let session = DocFacts::Session {
            driver: UserId::new("aki"),
        };
        for (who, want) in [
            (p("ada", Role::Admin), Access::ReadWrite),
            (p("dora", Role::Dispatcher), Access::ReadWrite),
            (p("aki", Role::Courier), Access::Read),
            (p("bea", Role::Courier), Access::None),
            (p("aki", Role::Client), Access::None),
        ] {
            assert_eq!(decide(&who, Some(&session)), want, "{who:?}");
            assert_eq!(listed(&who, &session), want != Access::None, "{who:?}");
        }
    }
}

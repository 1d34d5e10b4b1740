//! Conversation rules: links and ids, the state (order, edits, deletions,
//! receipts, unread), the guard, and two devices writing apart.

use super::*;
use automerge::AutoCommit;
use proptest::prelude::*;
use ruta_domain::hlc::node_of;

fn actor(user: &str, role: Role, device: &str) -> Actor {
    Actor {
        user: UserId::new(user),
        role,
        device: DeviceId::new(device),
    }
}

const DESK: &str = "d1d1d1d1d1d1d1d1";
const PHONE: &str = "c1c1c1c1c1c1c1c1";
const PHONE2: &str = "c2c2c2c2c2c2c2c2";

fn desk() -> Actor {
    actor("d1", Role::Dispatcher, DESK)
}
fn cora() -> Actor {
    actor("cora", Role::Courier, PHONE)
}
fn dave() -> Actor {
    actor("dave", Role::Courier, PHONE2)
}
fn p(a: &Actor) -> Principal {
    Principal {
        user: a.user.clone(),
        role: a.role,
    }
}

fn ev(a: &Actor, wall_ms: i64, change: ChatChange) -> ChatEvent {
    ChatEvent {
        at: Hlc {
            wall_ms,
            counter: 0,
            node: node_of(a.device.as_str()),
        },
        actor: a.clone(),
        change,
    }
}
fn post(text: &str) -> ChatChange {
    ChatChange::Posted {
        text: text.into(),
        photo: None,
        location: None,
        order: None,
    }
}
fn order_link() -> ChatLink {
    ChatLink::Order {
        order: "o-1".into(),
    }
}

#[test]
fn a_link_is_one_conversation_whoever_names_it() {
    let ab = ChatLink::Direct {
        a: "cora".into(),
        b: "dave".into(),
    };
    let ba = ChatLink::Direct {
        a: "dave".into(),
        b: "cora".into(),
    };
    assert_eq!(chat_id(&ab), chat_id(&ba));
    assert_eq!(link_key(&ba), "direct:cora dave");
    assert_ne!(chat_id(&ab), chat_id(&order_link()));
    for link in [
        ab.clone(),
        order_link(),
        ChatLink::Driver {
            courier: "cora".into(),
        },
        ChatLink::Customer {
            client: "shop".into(),
        },
        ChatLink::Team {
            team: Team::Couriers,
        },
        ChatLink::Team { team: Team::Staff },
        ChatLink::Ticket {
            ticket: "t-1".into(),
        },
    ] {
        assert_eq!(parse_link(&link_key(&link)), Some(link.clone()), "{link:?}");
    }
    for bad in [
        "",
        "order:",
        "direct:dave cora",
        "direct:a a",
        "team:all",
        "x:y",
        "order:a b",
    ] {
        assert_eq!(parse_link(bad), None, "{bad}");
    }
    // Two devices that create the conversation apart make the same first change.
    let mut a = create(&order_link(), &DeviceId::new(PHONE)).unwrap();
    let mut b = create(&order_link(), &DeviceId::new(DESK)).unwrap();
    assert_eq!(a.heads(), b.heads());
}

#[test]
fn messages_sort_by_capture_time_and_edits_deletions_and_receipts_fold() {
    let m1 = ev(&cora(), 1000, post("at the door"));
    let m2 = ev(&desk(), 2000, post("ok"));
    let events = vec![
        // Arrival order differs from capture order: capture order wins.
        m2.clone(),
        m1.clone(),
        ev(
            &cora(),
            3000,
            ChatChange::Edited {
                message: m1.id(),
                text: "at the back door".into(),
            },
        ),
        // Not his message: set aside.
        ev(&dave(), 3500, ChatChange::Deleted { message: m1.id() }),
        ev(&desk(), 4000, ChatChange::Read { up_to: m1.at }),
        ev(&cora(), 4100, ChatChange::Delivered { up_to: m2.at }),
        ev(&desk(), 5000, ChatChange::Deleted { message: m2.id() }),
    ];
    let st = derive(&events);
    assert_eq!(st.messages.len(), 2);
    assert_eq!(st.messages[0].id, m1.id());
    assert_eq!(st.messages[0].text, "at the back door");
    assert!(st.messages[0].edited());
    assert_eq!(st.messages[0].history[0].1, "at the door");
    assert!(st.messages[1].deleted);
    assert_eq!(st.messages[1].text, "");
    assert_eq!(st.ignored.len(), 1);
    let (delivered, read) = st.receipts(&st.messages[0]);
    assert_eq!(read, vec![UserId::new("d1")]);
    assert_eq!(delivered, vec![UserId::new("d1")]);
    let (delivered, _) = st.receipts(&st.messages[1]);
    assert_eq!(delivered, vec![UserId::new("cora")]);
    // The dispatcher read cora's message; cora has the deleted one only: nothing unread.
    assert_eq!(st.unread_for(&UserId::new("d1")), 0);
    assert_eq!(st.unread_for(&UserId::new("cora")), 0);
    // A new message from cora is unread for the dispatcher until read.
    let mut more = events.clone();
    more.push(ev(&cora(), 6000, post("gate code?")));
    assert_eq!(derive(&more).unread_for(&UserId::new("d1")), 1);
}

#[test]
fn bad_messages_are_refused_by_field() {
    let cases = [
        (post("  "), "text"),
        (post(&"x".repeat(MAX_TEXT + 1)), "text"),
        (
            ChatChange::Posted {
                text: String::new(),
                photo: Some("nothex".into()),
                location: None,
                order: None,
            },
            "photo",
        ),
        (
            ChatChange::Posted {
                text: "here".into(),
                photo: None,
                location: Some((91.0, 0.0)),
                order: None,
            },
            "location",
        ),
        (
            ChatChange::Edited {
                message: "nope".into(),
                text: "x".into(),
            },
            "message",
        ),
    ];
    for (change, field) in cases {
        assert_eq!(validate(&change).unwrap_err().field, field, "{change:?}");
    }
    // A location alone is a message.
    assert!(
        validate(&ChatChange::Posted {
            text: String::new(),
            photo: None,
            location: Some((60.17, 24.94)),
            order: None,
        })
        .is_ok()
    );
}

#[test]
fn the_guard_takes_a_participants_own_events_and_refuses_forgeries() {
    let id = crate::ids::doc_id_of_uuid(&chat_id(&order_link())).unwrap();
    let empty = AutoCommit::new();
    let mut d = create(&order_link(), &DeviceId::new(PHONE)).unwrap();
    let m1 = ev(&cora(), 1000, post("at the door"));
    d.append(&m1).unwrap();
    assert_eq!(
        check_write(&id, &empty, d.automerge(), &p(&cora()))
            .unwrap()
            .len(),
        1
    );
    // Not under another conversation's id.
    let other = crate::ids::doc_id_of_uuid(&chat_id(&ChatLink::Driver {
        courier: "cora".into(),
    }))
    .unwrap();
    assert!(matches!(
        check_write(&other, &empty, d.automerge(), &p(&cora())),
        Err(ChatRefusal::WrongChat(_))
    ));
    let before = d.automerge().clone();
    let try_write = |who: &Actor, e: ChatEvent| {
        let mut doc = load(&before.clone().save(), &who.device).unwrap();
        doc.append(&e).unwrap();
        check_write(&id, &before, doc.automerge(), &p(who))
    };
    // The dispatcher replies and reads.
    assert!(try_write(&desk(), ev(&desk(), 2000, post("ok"))).is_ok());
    assert!(
        try_write(
            &desk(),
            ev(&desk(), 2000, ChatChange::Read { up_to: m1.at })
        )
        .is_ok()
    );
    // Nobody posts under another name.
    assert!(matches!(
        try_write(&dave(), ev(&cora(), 2000, post("forged"))),
        Err(ChatRefusal::Append(AppendRefusal::Impersonation { .. }))
    ));
    // Nobody edits or deletes another's message.
    assert!(matches!(
        try_write(
            &desk(),
            ev(
                &desk(),
                2000,
                ChatChange::Edited {
                    message: m1.id(),
                    text: "rewritten".into()
                }
            )
        ),
        Err(ChatRefusal::NotTheirs { .. })
    ));
    assert!(matches!(
        try_write(
            &desk(),
            ev(&desk(), 2000, ChatChange::Deleted { message: m1.id() })
        ),
        Err(ChatRefusal::NotTheirs { .. })
    ));
    // The author may.
    assert!(
        try_write(
            &cora(),
            ev(&cora(), 2000, ChatChange::Deleted { message: m1.id() })
        )
        .is_ok()
    );
    // History is append-only: the message itself may not be rewritten.
    let mut doc = load(&before.clone().save(), &DeviceId::new(PHONE)).unwrap();
    let mut changed = m1.clone();
    changed.change = post("rewritten in place");
    doc.append(&changed).unwrap();
    assert!(matches!(
        check_write(&id, &before, doc.automerge(), &p(&cora())),
        Err(ChatRefusal::Append(AppendRefusal::HistoryRewritten(_)))
    ));
    // A bad message is refused naming its field.
    let e = try_write(&cora(), ev(&cora(), 2000, post(""))).unwrap_err();
    assert!(e.to_string().contains("text"), "{e}");
}

proptest! {
    /// Two devices write apart and exchange in any order: both end with every
    /// message once, in the same capture order.
    #[test]
    fn devices_that_write_apart_converge(
        a_msgs in proptest::collection::vec(1i64..50, 0..8),
        b_msgs in proptest::collection::vec(1i64..50, 0..8),
        a_first in any::<bool>(),
    ) {
        let mut a = create(&order_link(), &DeviceId::new(PHONE)).unwrap();
        let mut b = create(&order_link(), &DeviceId::new(DESK)).unwrap();
        for (i, t) in a_msgs.iter().enumerate() {
            a.append(&ev(&cora(), t * 1000 + i as i64, post(&format!("a{i}")))).unwrap();
        }
        for (i, t) in b_msgs.iter().enumerate() {
            b.append(&ev(&desk(), t * 1000 + i as i64, post(&format!("b{i}")))).unwrap();
        }
        let (sa, sb) = (a.save(), b.save());
        if a_first {
            a.merge_bytes(&sb).unwrap();
            b.merge_bytes(&sa).unwrap();
        } else {
            b.merge_bytes(&sa).unwrap();
            a.merge_bytes(&sb).unwrap();
        }
        let (da, db) = (derive(&a.events()), derive(&b.events()));
        prop_assert_eq!(da.messages.len(), a_msgs.len() + b_msgs.len());
        prop_assert_eq!(&da, &db);
        prop_assert!(da.messages.windows(2).all(|w| w[0].at < w[1].at));
    }
}

#[test]
fn quick_replies_fit_the_role_and_what_the_conversation_is_about() {
    let ticket = ChatLink::Ticket {
        ticket: "0b9c1d2e-0000-4000-8000-000000000001".into(),
    };
    let order = order_link();
    let desk_ticket = quick_replies(Role::Dispatcher, &ticket);
    assert!(desk_ticket.contains(&"Could you send a photo?"));
    assert_ne!(desk_ticket, quick_replies(Role::Dispatcher, &order));
    assert!(quick_replies(Role::Dispatcher, &order).contains(&"Bring it back to the hub"));
    assert!(quick_replies(Role::Client, &ticket).contains(&"It is still not solved"));
    assert!(quick_replies(Role::Courier, &order).contains(&"Running late"));
    assert_eq!(
        quick_replies(Role::Admin, &ticket),
        desk_ticket,
        "every operator"
    );
}

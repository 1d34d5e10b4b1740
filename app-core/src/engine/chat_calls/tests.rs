//! Conversations through `Core::execute` on real stores: a courier writes in
//! an order's chat with no connection, the desk's copy arrives (unread,
//! delivered receipt), the desk reads and replies, the read receipt and the
//! reply reach the phone; edits and deletions; who may take part.

use app_api::chat::{ChatAction, ChatLink, ChatList, ChatView, NewMessage};
use app_api::{Action, ApiError, NewOrder, Request, Response, Role};

use crate::Core;
use crate::domain::OrderId;
use crate::engine::test_support::{act, open_at, session};

const NOW: i64 = 1_780_000_000_000;

fn order(core: &Core) -> String {
    let new = NewOrder::simple("Shop", "Mäkelänkatu 50", "Somewhere 1");
    let Response::Order(o) = core.execute(Request::CreateOrder(new)).unwrap() else {
        panic!()
    };
    o.id
}

fn copy_order(from: &Core, to: &Core, id: &str) {
    let oid = OrderId::new(id);
    to.merge_remote(&oid, &from.doc_bytes(&oid).unwrap())
        .unwrap();
}

fn copy_chat(from: &Core, to: &Core, id: &str) -> bool {
    let (bytes, _) = from.chat_document(id).unwrap().unwrap();
    to.merge_chat(id, &bytes).unwrap()
}

fn chat_act(core: &Core, link: &ChatLink, action: ChatAction) -> Result<ChatView, ApiError> {
    match core.execute(Request::ChatAct {
        link: link.clone(),
        action,
    })? {
        Response::Chat(v) => Ok(v),
        other => panic!("{other:?}"),
    }
}

fn post(text: &str) -> ChatAction {
    ChatAction::Post(NewMessage {
        text: text.into(),
        ..Default::default()
    })
}

fn open(core: &Core, link: &ChatLink) -> Result<ChatView, ApiError> {
    match core.execute(Request::OpenChat { link: link.clone() })? {
        Response::Chat(v) => Ok(v),
        other => panic!("{other:?}"),
    }
}

fn list(core: &Core) -> ChatList {
    let Response::Chats(l) = core.execute(Request::ListChats).unwrap() else {
        panic!()
    };
    l
}

#[test]
fn an_offline_message_reaches_the_desk_and_the_reply_and_read_receipt_come_back() {
    let (_a, desk, _) = open_at(NOW);
    let (_b, phone, clock) = open_at(NOW + 5_000);
    session(&desk, "dora", Role::Dispatcher);
    session(&phone, "cora", Role::Courier);
    let id = order(&desk);
    act(
        &desk,
        &id,
        Action::Assign {
            courier: "cora".into(),
        },
    );
    copy_order(&desk, &phone, &id);
    let link = ChatLink::Order { order: id.clone() };

    // The courier writes with no connection: in the conversation at once, pending.
    assert!(open(&phone, &link).unwrap().messages.is_empty());
    let v = chat_act(&phone, &link, post("Customer not home")).unwrap();
    assert_eq!(v.messages.len(), 1);
    assert!(v.messages[0].pending && v.messages[0].mine);
    assert!(v.title.starts_with("Order "), "{}", v.title);
    assert!(v.quick_replies.iter().any(|q| q == "Arriving in 5 min"));
    let chat = v.id.clone();
    assert_eq!(list(&phone).unread_total, 0);

    // The server confirms the write: no longer pending.
    let (_, writes) = phone.chat_document(&chat).unwrap().unwrap();
    assert!(phone.chat_synced(&chat, writes).unwrap());
    assert!(!open(&phone, &link).unwrap().messages[0].pending);
    assert!(phone.pending_chats().unwrap().is_empty());

    // The desk gets it: unread, captured when it was written, and its
    // device acknowledges delivery by itself.
    assert!(copy_chat(&phone, &desk, &chat));
    let l = list(&desk);
    assert_eq!(l.unread_total, 1);
    assert_eq!(l.chats[0].unread, 1);
    let v = open(&desk, &link).unwrap();
    assert_eq!(v.messages[0].at_ms, NOW + 5_000);
    assert_eq!(v.messages[0].text, "Customer not home");
    assert!(!v.messages[0].mine && !v.messages[0].pending);
    assert_eq!(desk.pending_chats().unwrap(), vec![chat.clone()]);
    // Reading and replying.
    let v = chat_act(&desk, &link, ChatAction::MarkRead).unwrap();
    assert_eq!(v.unread, 0);
    assert_eq!(list(&desk).unread_total, 0);
    // Marking read again writes nothing new.
    let (_, w1) = desk.chat_document(&chat).unwrap().unwrap();
    chat_act(&desk, &link, ChatAction::MarkRead).unwrap();
    assert_eq!(desk.chat_document(&chat).unwrap().unwrap().1, w1);
    chat_act(&desk, &link, post("Leave it at the door")).unwrap();

    // The phone gets the reply (unread) and sees its message read by dora.
    clock.advance(60_000);
    assert!(copy_chat(&desk, &phone, &chat));
    let v = open(&phone, &link).unwrap();
    assert_eq!(v.messages.len(), 2);
    assert_eq!(v.messages[0].read_by, vec!["dora".to_string()]);
    assert_eq!(v.messages[0].delivered_to, vec!["dora".to_string()]);
    assert_eq!(v.messages[1].text, "Leave it at the door");
    assert_eq!(v.unread, 1);
    assert_eq!(list(&phone).unread_total, 1);
    // And the phone's delivery receipt reaches the desk.
    copy_chat(&phone, &desk, &chat);
    let v = open(&desk, &link).unwrap();
    assert_eq!(v.messages[1].delivered_to, vec!["cora".to_string()]);
    assert!(v.messages[1].read_by.is_empty());
}

#[test]
fn edits_and_deletions_keep_history_and_only_authors_make_them() {
    let (_a, desk, _) = open_at(NOW);
    let (_b, phone, _) = open_at(NOW + 5_000);
    session(&desk, "dora", Role::Dispatcher);
    session(&phone, "cora", Role::Courier);
    let link = ChatLink::Driver {
        courier: "cora".into(),
    };
    let v = chat_act(&phone, &link, post("Flat tyre")).unwrap();
    assert_eq!(v.title, "Dispatch");
    let (chat, m) = (v.id.clone(), v.messages[0].id.clone());
    let v = chat_act(
        &phone,
        &link,
        ChatAction::Edit {
            message: m.clone(),
            text: "Flat tyre on Mannerheimintie".into(),
        },
    )
    .unwrap();
    assert!(v.messages[0].edited);
    assert_eq!(v.messages[0].text, "Flat tyre on Mannerheimintie");
    copy_chat(&phone, &desk, &chat);
    // The desk sees the edited text and may not change or delete it.
    let v = open(&desk, &link).unwrap();
    assert_eq!(v.title, "cora");
    assert!(v.messages[0].edited);
    for action in [
        ChatAction::Edit {
            message: m.clone(),
            text: "x".into(),
        },
        ChatAction::Delete { message: m.clone() },
    ] {
        assert!(matches!(
            chat_act(&desk, &link, action),
            Err(ApiError::Refused { code, .. }) if code == "chat_refused"
        ));
    }
    // The author deletes it: shown as deleted, no text, not unread.
    let v = chat_act(&phone, &link, ChatAction::Delete { message: m }).unwrap();
    assert!(v.messages[0].deleted && v.messages[0].text.is_empty());
    copy_chat(&phone, &desk, &chat);
    assert_eq!(list(&desk).unread_total, 0);
    assert_eq!(list(&desk).chats[0].last_text, "Message deleted");
    // Bad input is refused naming the field, and writes nothing.
    let before = phone.chat_document(&chat).unwrap().unwrap().1;
    assert!(matches!(
        chat_act(&phone, &link, post("   ")),
        Err(ApiError::Invalid { field, .. }) if field == "text"
    ));
    assert!(matches!(
        chat_act(
            &phone,
            &link,
            ChatAction::Post(NewMessage {
                photo: Some("ab".repeat(32)),
                ..Default::default()
            })
        ),
        Err(ApiError::Invalid { field, .. }) if field == "photo"
    ));
    assert_eq!(phone.chat_document(&chat).unwrap().unwrap().1, before);
}

#[test]
fn who_takes_part_follows_the_link_and_a_reassigned_courier_loses_the_orders_chat() {
    let (_a, desk, _) = open_at(NOW);
    let (_b, phone, _) = open_at(NOW + 5_000);
    session(&desk, "dora", Role::Dispatcher);
    session(&phone, "cora", Role::Courier);
    let id = order(&desk);
    let link = ChatLink::Order { order: id.clone() };
    // Not cora's order (yet): she cannot open its chat.
    copy_order(&desk, &phone, &id);
    assert!(matches!(
        open(&phone, &link),
        Err(ApiError::Refused { code, .. }) if code == "not_participant"
    ));
    act(
        &desk,
        &id,
        Action::Assign {
            courier: "cora".into(),
        },
    );
    copy_order(&desk, &phone, &id);
    let chat = chat_act(&phone, &link, post("On my way")).unwrap().id;
    assert_eq!(list(&phone).chats.len(), 1);
    // Reassigned to dave: the chat closes to cora and leaves her list.
    act(
        &desk,
        &id,
        Action::Assign {
            courier: "dave".into(),
        },
    );
    copy_order(&desk, &phone, &id);
    assert!(matches!(
        open(&phone, &link),
        Err(ApiError::Refused { code, .. }) if code == "not_participant"
    ));
    assert!(list(&phone).chats.is_empty());
    // Another courier's chat with dispatch, and starting a direct
    // conversation, are not hers either; the couriers' team chat is.
    for other in [
        ChatLink::Driver {
            courier: "dave".into(),
        },
        ChatLink::Direct {
            a: "cora".into(),
            b: "dave".into(),
        },
        ChatLink::Team {
            team: app_api::chat::Team::Staff,
        },
    ] {
        assert!(chat_act(&phone, &other, post("hi")).is_err(), "{other:?}");
    }
    chat_act(
        &phone,
        &ChatLink::Team {
            team: app_api::chat::Team::Couriers,
        },
        post("Anyone near Kallio?"),
    )
    .unwrap();
    // The desk still has the order's chat, with cora's message.
    copy_chat(&phone, &desk, &chat);
    assert_eq!(open(&desk, &link).unwrap().messages.len(), 1);
}

#[test]
fn the_conversations_one_may_start_follow_role_and_home_zones() {
    use app_api::ZoneView;
    use app_api::config::{ConfigChange, CourierProfile};
    let (_d, core, _) = open_at(NOW);
    session(&core, "boss", Role::Admin);
    let zone = |id: &str, name: &str| {
        ConfigChange::PutZone(ZoneView {
            id: id.into(),
            name: name.into(),
            ring: vec![
                app_api::Point {
                    lat: 60.16,
                    lon: 24.90,
                },
                app_api::Point {
                    lat: 60.16,
                    lon: 24.95,
                },
                app_api::Point {
                    lat: 60.18,
                    lon: 24.95,
                },
            ],
        })
    };
    for change in [
        zone("west", "West"),
        zone("east", "East"),
        ConfigChange::PutCourier(CourierProfile {
            user: "aki".into(),
            phone: String::new(),
            vehicle: None,
            home_zones: vec!["west".into()],
            handles_cash: false,
            carrier: Default::default(),
            shift_start: None,
        }),
    ] {
        core.execute(Request::ChangeConfig(change)).unwrap();
    }
    let titles =
        |core: &Core| -> Vec<String> { list(core).starters.into_iter().map(|(t, _)| t).collect() };
    session(&core, "dora", Role::Dispatcher);
    assert_eq!(
        titles(&core),
        [
            "All couriers",
            "Dispatch team",
            "Couriers in East",
            "Couriers in West"
        ]
    );
    session(&core, "aki", Role::Courier);
    let starters = list(&core).starters;
    assert_eq!(
        starters.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["Dispatch", "All couriers", "Couriers in West"],
        "a courier starts only the zone teams they are in"
    );
    assert!(starters.contains(&(
        "Dispatch".into(),
        ChatLink::Driver {
            courier: "aki".into()
        }
    )));
    // A courier the staff configuration does not know is in no zone's team.
    session(&core, "ben", Role::Courier);
    assert_eq!(titles(&core), ["Dispatch", "All couriers"]);
    session(&core, "cleo", Role::Client);
    assert_eq!(
        list(&core).starters,
        [(
            "Support".to_owned(),
            ChatLink::Customer {
                client: "cleo".into()
            }
        )]
    );
}

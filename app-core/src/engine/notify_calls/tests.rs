//! Notifications through `Core::execute` on real stores: a client, a
//! courier and one dispatcher on two devices hear of one order's events by
//! their role, each once, never of their own doing; read on one of the
//! dispatcher's devices is read on the other; a kind turned off is gone.

use app_api::notify::{Channel, NoticeKind, NotificationAction, NotificationList};
use app_api::{Action, NewOrder, Request, Response, Role};

use crate::Core;
use crate::domain::OrderId;
use crate::engine::test_support::{act, open_at, session};

const NOW: i64 = 1_780_000_000_000;

fn copy(from: &Core, to: &Core, id: &str) {
    let oid = OrderId::new(id);
    to.merge_remote(&oid, &from.doc_bytes(&oid).unwrap())
        .unwrap();
}

fn list(core: &Core) -> NotificationList {
    let Response::Notifications(l) = core.execute(Request::Notifications).unwrap() else {
        panic!()
    };
    l
}

fn notify(core: &Core, action: NotificationAction) -> NotificationList {
    let Response::Notifications(l) = core.execute(Request::NotificationAct(action)).unwrap() else {
        panic!()
    };
    l
}

#[test]
fn each_user_hears_once_by_role_and_read_state_follows_them_across_devices() {
    let (_a, shop, _) = open_at(NOW);
    let (_b, desk_a, _) = open_at(NOW + 1_000);
    let (_c, desk_b, _) = open_at(NOW + 1_000);
    let (_d, phone, _) = open_at(NOW + 2_000);
    session(&shop, "shop", Role::Client);
    session(&desk_a, "dora", Role::Dispatcher);
    session(&desk_b, "dora", Role::Dispatcher);
    session(&phone, "cora", Role::Courier);
    let Response::Order(o) = shop
        .execute(Request::CreateOrder(NewOrder::simple(
            "Shop",
            "Mäkelänkatu 50",
            "Bulevardi 14",
        )))
        .unwrap()
    else {
        panic!()
    };
    copy(&shop, &desk_a, &o.id);
    act(
        &desk_a,
        &o.id,
        Action::Assign {
            courier: "cora".into(),
        },
    );
    copy(&desk_a, &phone, &o.id);
    act(&phone, &o.id, Action::PickUp);
    for to in [&shop, &desk_a, &desk_b] {
        copy(&phone, to, &o.id);
    }

    let kinds = |l: &NotificationList| l.items.iter().map(|n| n.kind).collect::<Vec<_>>();
    // The client: picked up (not their own creation, not the assignment).
    let l = list(&shop);
    assert_eq!(kinds(&l), [NoticeKind::Status], "{l:?}");
    assert!(
        l.items[0].title.contains("picked up"),
        "{}",
        l.items[0].title
    );
    // The courier: assigned to them (their own pickup is not news).
    let l = list(&phone);
    assert_eq!(kinds(&l), [NoticeKind::Courier], "{l:?}");
    assert!(l.items[0].title.contains("assigned to you"));
    assert!(l.items[0].critical && l.items[0].channel == Channel::Os);
    // The dispatcher, on both devices: the client's new order, the same one.
    let (a, b) = (list(&desk_a), list(&desk_b));
    assert_eq!(kinds(&a), [NoticeKind::Status], "{a:?}");
    assert_eq!(a.items, b.items);
    assert_eq!((a.unread, b.unread), (1, 1));

    // Read on one device, read on the other once the inbox arrives.
    let id = a.items[0].id.clone();
    let after = notify(&desk_a, NotificationAction::MarkRead { ids: vec![id] });
    assert_eq!(after.unread, 0);
    assert_eq!(list(&desk_b).unread, 1, "not yet");
    let inbox = crate::inbox_doc::inbox_id(&crate::domain::UserId::new("dora"));
    assert_eq!(desk_a.pending_inboxes().unwrap(), vec![inbox.clone()]);
    let (bytes, _) = desk_a.inbox_document(&inbox).unwrap().unwrap();
    assert!(desk_b.merge_inbox(&inbox, &bytes).unwrap());
    assert_eq!(list(&desk_b).unread, 0);

    // A kind in the digest is still listed, carrying its channel.
    let l = notify(
        &shop,
        NotificationAction::Subscribe {
            kind: NoticeKind::Status,
            channel: Channel::Digest,
        },
    );
    assert!(!l.items.is_empty());
    assert!(
        l.items
            .iter()
            .filter(|n| n.kind == NoticeKind::Status)
            .all(|n| n.channel == Channel::Digest)
    );
    assert!(l.channels.contains(&(NoticeKind::Status, Channel::Digest)));
    // A kind turned off is not listed; an empty "read" is refused by field.
    let l = notify(
        &shop,
        NotificationAction::Subscribe {
            kind: NoticeKind::Status,
            channel: Channel::Off,
        },
    );
    assert!(l.items.is_empty());
    assert!(l.channels.contains(&(NoticeKind::Status, Channel::Off)));
    assert!(matches!(
        shop.execute(Request::NotificationAct(NotificationAction::MarkRead { ids: vec![] })),
        Err(app_api::ApiError::Invalid { field, .. }) if field == "ids"
    ));
    // Mark all read.
    let (_e, phone2, _) = open_at(NOW + 9_000);
    session(&phone2, "cora", Role::Courier);
    copy(&phone, &phone2, &o.id);
    assert_eq!(list(&phone2).unread, 1);
    assert_eq!(notify(&phone2, NotificationAction::MarkAllRead).unread, 0);
}

#[test]
fn messages_and_mentions_are_notifications_and_reading_the_chat_clears_them() {
    let (_a, desk, _) = open_at(NOW);
    let (_b, phone, _) = open_at(NOW + 5_000);
    session(&desk, "dora", Role::Dispatcher);
    session(&phone, "cora", Role::Courier);
    let link = app_api::chat::ChatLink::Driver {
        courier: "cora".into(),
    };
    let post = |core: &Core, text: &str| {
        core.execute(Request::ChatAct {
            link: link.clone(),
            action: app_api::chat::ChatAction::Post(app_api::chat::NewMessage {
                text: text.into(),
                ..Default::default()
            }),
        })
        .unwrap()
    };
    let Response::Chat(v) = post(&phone, "Flat tyre") else {
        panic!()
    };
    post(&phone, "@dora can you call?");
    let (bytes, _) = phone.chat_document(&v.id).unwrap().unwrap();
    desk.merge_chat(&v.id, &bytes).unwrap();
    let l = list(&desk);
    let kinds: Vec<_> = l.items.iter().map(|n| n.kind).collect();
    assert_eq!(kinds, [NoticeKind::Mention, NoticeKind::Message], "{l:?}");
    assert!(l.items[0].critical && !l.items[1].critical);
    desk.execute(Request::ChatAct {
        link: link.clone(),
        action: app_api::chat::ChatAction::MarkRead,
    })
    .unwrap();
    assert!(list(&desk).items.is_empty());
    // The courier hears nothing of their own messages.
    assert!(list(&phone).items.is_empty());
}

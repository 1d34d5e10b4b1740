//! Chat through a real `sync-server`: a courier with no connection writes in
//! an order's chat nobody has opened yet; on reconnect the dispatcher's
//! unread count rises and the message shows its capture time; the reply and
//! the read receipt come back. With raw clients: a courier cannot read
//! another courier's conversation or post under another name, and a
//! reassigned courier loses the order's chat.

use app_api::chat::{ChatAction, ChatLink, ChatList, ChatView, NewMessage, Team};
use app_api::{Action, Request, Response};
use app_core::Core;
use app_core::chat_doc::{ChatChange, ChatEvent};
use ruta_e2e::{SyncServer, eventually};
use sync_client::{SyncClient, SyncConfig};

use crate::sync::{T, create_assigned, device, status, tenant};
use crate::sync_security::RawPeer;

fn open(core: &Core, link: &ChatLink) -> Option<ChatView> {
    match core.execute(Request::OpenChat { link: link.clone() }) {
        Ok(Response::Chat(v)) => Some(v),
        _ => None,
    }
}

fn say(core: &Core, link: &ChatLink, action: ChatAction) -> ChatView {
    let Response::Chat(v) = core
        .execute(Request::ChatAct {
            link: link.clone(),
            action,
        })
        .unwrap()
    else {
        panic!()
    };
    v
}

fn post(text: &str) -> ChatAction {
    ChatAction::Post(NewMessage {
        text: text.into(),
        ..Default::default()
    })
}

fn list(core: &Core) -> ChatList {
    let Response::Chats(l) = core.execute(Request::ListChats).unwrap() else {
        panic!()
    };
    l
}

async fn restart(core: &Core, dir: &std::path::Path, url: &str, token: &str) -> SyncClient {
    let cfg = SyncConfig::new(url::Url::parse(url).unwrap(), token);
    SyncClient::start(core.clone(), dir, cfg).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_courier_writes_offline_and_the_dispatcher_reads_and_replies_through_the_server() {
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("c1", "courier")]);
    let server = SyncServer::start_in("chat-offline", data);
    let desk = device(&server.url, &tokens["d1"]).await;
    let phone = device(&server.url, &tokens["c1"]).await;
    let order = create_assigned(&desk.core, "Aino", "c1");
    assert!(desk.client.wait_synced(T).await);
    assert!(
        eventually(T, async || status(&phone.core, &order).is_some()).await,
        "the order reaches the courier"
    );
    let link = ChatLink::Order {
        order: order.clone(),
    };

    // In a basement: written at once, pending.
    phone.client.clone().stop().await;
    let v = say(&phone.core, &link, post("Customer not home"));
    let captured = v.messages[0].at_ms;
    assert!(v.messages[0].pending);
    assert_eq!(list(&desk.core).unread_total, 0);

    // Back online: the dispatcher's unread count rises, with the capture time.
    let _back = restart(&phone.core, phone._dir.path(), &server.url, &tokens["c1"]).await;
    assert!(
        eventually(T, async || list(&desk.core).unread_total == 1).await,
        "the dispatcher's unread count rises"
    );
    let seen = open(&desk.core, &link).unwrap();
    assert_eq!(seen.messages.len(), 1);
    assert_eq!(seen.messages[0].text, "Customer not home");
    assert_eq!(seen.messages[0].at_ms, captured);
    assert!(
        eventually(T, async || open(&phone.core, &link)
            .is_some_and(|v| !v.messages[0].pending))
        .await,
        "the courier's message is confirmed"
    );

    // The dispatcher reads and replies; the courier gets both.
    say(&desk.core, &link, ChatAction::MarkRead);
    say(&desk.core, &link, post("Leave it at the door"));
    assert_eq!(list(&desk.core).unread_total, 0);
    assert!(
        eventually(T, async || open(&phone.core, &link).is_some_and(|v| v
            .messages
            .len()
            == 2
            && v.messages[0].read_by == vec!["d1".to_string()]))
        .await,
        "the reply and the read receipt reach the courier"
    );
    assert_eq!(list(&phone.core).unread_total, 1);
    // The courier's phone acknowledges delivery of the reply by itself.
    assert!(
        eventually(T, async || open(&desk.core, &link)
            .is_some_and(
                |v| v.messages[1].delivered_to == vec!["c1".to_string()]
            ))
        .await,
        "the delivery receipt reaches the dispatcher"
    );
    // Nothing doubled on either side.
    for core in [&desk.core, &phone.core] {
        let v = open(core, &link).unwrap();
        assert_eq!(v.messages.len(), 2);
    }
}

/// A forged message under another user's name in `doc` (fetched by `peer`).
async fn forge(peer: &mut RawPeer, doc: &str, as_user: &str) -> String {
    let (mut local, _) = peer.fetch(doc).await;
    let dev = "c2c2c2c2c2c2c2c2ab";
    let e = ChatEvent {
        at: app_core::hlc::Hlc {
            wall_ms: 1_900_000_000_000,
            counter: 0,
            node: app_core::hlc::node_of(dev),
        },
        actor: app_core::domain::Actor {
            user: app_core::domain::UserId::new(as_user),
            role: app_core::domain::Role::Courier,
            device: app_core::domain::DeviceId::new(dev),
        },
        change: ChatChange::Posted {
            text: "forged".into(),
            photo: None,
            location: None,
            order: None,
        },
    };
    let events = match automerge::ReadDoc::get(&local, automerge::ROOT, "events") {
        Ok(Some((_, id))) => id,
        other => panic!("no events: {other:?}"),
    };
    {
        use automerge::transaction::Transactable;
        let mut t = local.transaction();
        t.put(
            &events,
            e.at.to_string(),
            serde_json::to_string(&e).unwrap(),
        )
        .unwrap();
        t.commit();
    }
    crate::cash::push_all(peer, doc, &local);
    peer.refusal(doc).await.unwrap_or_else(|e| e)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn couriers_cannot_read_or_forge_others_chats_and_a_reassigned_courier_loses_the_orders() {
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("c1", "courier"), ("c2", "courier")]);
    let server = SyncServer::start_in("chat-access", data);
    let desk = device(&server.url, &tokens["d1"]).await;
    let phone = device(&server.url, &tokens["c1"]).await;
    let order = create_assigned(&desk.core, "Aino", "c1");
    assert!(desk.client.wait_synced(T).await);
    assert!(eventually(T, async || status(&phone.core, &order).is_some()).await);
    let order_chat = ChatLink::Order {
        order: order.clone(),
    };
    let driver_chat = ChatLink::Driver {
        courier: "c1".into(),
    };
    let team = ChatLink::Team {
        team: Team::Couriers,
    };
    for link in [&order_chat, &driver_chat, &team] {
        say(&phone.core, link, post("hello"));
    }
    assert!(phone.client.wait_synced(T).await);
    assert!(
        eventually(T, async || list(&desk.core).chats.len() == 3).await,
        "the dispatcher gets all three"
    );
    let doc = |l: &ChatLink| {
        app_core::ids::doc_id_of_uuid(&app_core::chat_doc::chat_id(l))
            .unwrap()
            .to_string()
    };

    // c2 may not open c1's order chat or c1's chat with dispatch.
    let mut c2 = RawPeer::join(&server.url, &tokens["c2"]).await;
    for link in [&order_chat, &driver_chat] {
        c2.request(&doc(link));
        assert!(
            c2.refusal(&doc(link)).await.is_ok(),
            "c2 may not open {link:?}"
        );
    }
    // In the couriers' team chat c2 takes part, but cannot post as c1.
    let reason = forge(&mut c2, &doc(&team), "c1").await;
    assert!(reason.contains("claims to be by"), "{reason}");
    assert!(
        list(&desk.core)
            .chats
            .iter()
            .all(|c| !c.last_text.contains("forged"))
    );

    // Reassigned to c2: c1 loses the order's chat, on the server and on her phone.
    crate::sync::act(
        &desk.core,
        &order,
        Action::Assign {
            courier: "c2".into(),
        },
    );
    assert!(desk.client.wait_synced(T).await);
    let mut c1 = RawPeer::join(&server.url, &tokens["c1"]).await;
    let mut refused = false;
    for _ in 0..3 {
        c1.request(&doc(&order_chat));
        if c1.refusal(&doc(&order_chat)).await.is_ok() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        refused,
        "the server no longer shares the order's chat with c1"
    );
    assert!(
        eventually(T, async || open(&phone.core, &order_chat).is_none()).await,
        "c1's phone closes it"
    );
    // c2 now reads it, with c1's message.
    let (got, _) = c2.fetch(&doc(&order_chat)).await;
    let got = app_core::chat_doc::load(&got.save(), &app_core::domain::DeviceId::new("x")).unwrap();
    let st = app_core::chat_doc::derive(&got.events());
    assert_eq!(st.messages.len(), 1);
    assert_eq!(st.messages[0].text, "hello");
}

/// In Chromium, two devices through a real server: the courier writes in a
/// stop's chat while the server is down; once it is back the dispatcher's
/// header counts it, the conversation shows its capture time, the
/// dispatcher answers with a quick reply; the courier's phone shows the
/// reply and that the dispatcher read theirs, and the dispatcher sees the
/// courier read the reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_courier_offline_and_a_dispatcher_chat_in_the_browser() {
    use ruta_e2e::{DeviceHost, provision_tenant};
    use serde_json::{Value, json};
    let data = tempfile::tempdir().unwrap();
    let tokens = provision_tenant(
        data.path(),
        "acme",
        &[("d1", "dispatcher"), ("c1", "courier")],
    );
    let mut server = SyncServer::start_in("chat-browser", data);
    let addr = server.url.trim_start_matches("http://").to_owned();
    let host = |name: &str, token: &str| DeviceHost::linked(name, &server.url, token);
    let desk = host("device-chat-desk", &tokens["d1"]);
    let phone = host("device-chat-phone", &tokens["c1"]);
    let call = async |h: &DeviceHost, r: Request| -> Value {
        let (code, body) = h.call(&serde_json::to_value(&r).unwrap()).await;
        assert_eq!(code, 200, "{r:?}: {body}");
        body
    };
    let order = call(
        &desk,
        Request::CreateOrder(app_api::NewOrder::simple(
            "Aino",
            "Mannerheimintie 20",
            "Bulevardi 14",
        )),
    )
    .await;
    let (id, reference) = (
        order["id"].as_str().unwrap().to_owned(),
        order["reference"].as_str().unwrap().to_owned(),
    );
    call(
        &desk,
        Request::Act {
            order_id: id.clone(),
            action: Action::Assign {
                courier: "c1".into(),
            },
        },
    )
    .await;
    assert!(
        eventually(T, async || phone
            .call(&json!({ "op": "get_order", "order_id": id }))
            .await
            .0
            == 200)
        .await,
        "the order reaches the phone"
    );
    let chat_of = async |h: &DeviceHost| -> Option<ChatView> {
        let (code, body) = h
            .call(&json!({ "op": "open_chat", "link": { "type": "order", "order": id } }))
            .await;
        (code == 200)
            .then(|| serde_json::from_value::<Response>(body).ok())
            .flatten()
            .and_then(|r| match r {
                Response::Chat(v) => Some(v),
                _ => None,
            })
    };
    let unread = async |h: &DeviceHost| -> u64 {
        let (_, body) = h.call(&json!({ "op": "list_chats" })).await;
        body["unread_total"].as_u64().unwrap_or(0)
    };

    // The server goes down: the courier writes anyway.
    let server_data = std::mem::replace(&mut server.data, tempfile::tempdir().unwrap());
    drop(server);
    let text = "Customer not home, leaving a note";
    let wrote = ruta_e2e::browser_phase(
        "chat.mjs",
        "courier-write",
        &phone.url,
        json!({ "reference": reference, "text": text }),
    );
    assert_eq!(unread(&desk).await, 0, "nothing reached the desk");

    // Back: the desk counts it, with the time it was written.
    let _server = SyncServer::start_at("chat-browser-2", server_data, &addr);
    assert!(
        eventually(std::time::Duration::from_secs(60), async || unread(&desk)
            .await
            == 1)
        .await,
        "the message reaches the dispatcher after the reconnect"
    );
    let reply = "Leave it at the door";
    let read = ruta_e2e::browser_phase(
        "chat.mjs",
        "desk-read",
        &desk.url,
        json!({ "text": text, "at": wrote["at"], "reply": reply }),
    );
    assert_eq!(read["at"], wrote["at"]);
    assert!(
        eventually(T, async || chat_of(&phone).await.is_some_and(|v| v
            .messages
            .len()
            == 2
            && v.messages[0].read_by == ["d1"]))
        .await,
        "the reply and the read receipt reach the phone"
    );
    let seen = ruta_e2e::browser_phase(
        "chat.mjs",
        "courier-read",
        &phone.url,
        json!({ "reply": reply }),
    );
    assert_eq!(seen["receipt"], "read by d1", "{seen}");
    let back = ruta_e2e::browser_phase("chat.mjs", "desk-receipt", &desk.url, json!({}));
    assert_eq!(back["receipt"], "read by c1", "{back}");
    // One conversation, the same two messages on both devices.
    let (a, b) = (
        chat_of(&desk).await.unwrap(),
        chat_of(&phone).await.unwrap(),
    );
    let texts = |v: &ChatView| {
        v.messages
            .iter()
            .map(|m| m.text.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&a), texts(&b));
    assert_eq!(texts(&a), [text, reply]);
}

fn notices(core: &Core) -> app_api::notify::NotificationList {
    let Response::Notifications(l) = core.execute(Request::Notifications).unwrap() else {
        panic!()
    };
    l
}

/// One status change through a real server: exactly one notification for
/// the dispatcher on each of their two devices (the same one), none for the
/// courier who made it; read on one device, read on the other; another user
/// cannot touch the dispatcher's inbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_change_notifies_each_device_of_a_user_once_and_read_follows_them() {
    use app_api::notify::{NoticeKind, NotificationAction};
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("c1", "courier")]);
    let server = SyncServer::start_in("notify-devices", data);
    let desk_a = device(&server.url, &tokens["d1"]).await;
    let desk_b = device(&server.url, &tokens["d1"]).await;
    let phone = device(&server.url, &tokens["c1"]).await;
    let order = create_assigned(&desk_a.core, "Aino", "c1");
    assert!(desk_a.client.wait_synced(T).await);
    assert!(eventually(T, async || status(&phone.core, &order).is_some()).await);
    crate::sync::act(
        &phone.core,
        &order,
        Action::Decline {
            reason: "van broke down".into(),
        },
    );
    assert!(phone.client.wait_synced(T).await);
    let declined = |core: &Core| {
        notices(core)
            .items
            .iter()
            .filter(|n| n.kind == NoticeKind::Status && n.title.contains("declined"))
            .count()
    };
    for desk in [&desk_a, &desk_b] {
        assert!(
            eventually(T, async || declined(&desk.core) == 1).await,
            "each of the dispatcher's devices has it once"
        );
    }
    let (a, b) = (notices(&desk_a.core), notices(&desk_b.core));
    assert_eq!(a.items, b.items, "the same notifications on both devices");
    assert!(
        notices(&phone.core)
            .items
            .iter()
            .all(|n| !n.title.contains("declined")),
        "not the courier's own doing"
    );
    let Response::Notifications(after) = desk_a
        .core
        .execute(Request::NotificationAct(NotificationAction::MarkAllRead))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(after.unread, 0);
    assert!(
        eventually(T, async || notices(&desk_b.core).unread == 0).await,
        "read on the other device too"
    );
    // A raw client of the courier may not open the dispatcher's inbox.
    let inbox = app_core::ids::doc_id_of_uuid(&app_core::inbox_doc::inbox_id(
        &app_core::domain::UserId::new("d1"),
    ))
    .unwrap()
    .to_string();
    let mut c1 = RawPeer::join(&server.url, &tokens["c1"]).await;
    c1.request(&inbox);
    assert!(c1.refusal(&inbox).await.is_ok(), "the inbox is d1's only");
}

/// A zone's team chat: the desk writes to "all couriers in West"; a courier
/// whose home zone is West reads it on her phone, one working East cannot
/// open it; moved to West by the admin, he can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_team_chat_reaches_the_couriers_of_that_zone_only() {
    use app_api::config::{ConfigChange, CourierProfile};
    let (data, tokens) = tenant(&[
        ("a1", "admin"),
        ("d1", "dispatcher"),
        ("c1", "courier"),
        ("c2", "courier"),
    ]);
    let server = SyncServer::start_in("chat-zone", data);
    let http = reqwest::Client::new();
    let config = async |change: ConfigChange| {
        let r = http
            .post(format!("{}/v1/admin/config", server.url))
            .bearer_auth(&tokens["a1"])
            .json(&change)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    };
    let ring = |lat: f64, lon: f64| {
        vec![
            app_api::Point { lat, lon },
            app_api::Point {
                lat,
                lon: lon + 0.05,
            },
            app_api::Point {
                lat: lat + 0.05,
                lon: lon + 0.05,
            },
        ]
    };
    for (id, name, lon) in [("west", "West", 24.80), ("east", "East", 25.00)] {
        config(ConfigChange::PutZone(app_api::ZoneView {
            id: id.into(),
            name: name.into(),
            ring: ring(60.15, lon),
        }))
        .await;
    }
    let courier = |user: &str, zone: &str| CourierProfile {
        user: user.into(),
        phone: String::new(),
        vehicle: None,
        home_zones: vec![zone.into()],
        handles_cash: false,
        carrier: Default::default(),
        shift_start: None,
    };
    config(ConfigChange::PutCourier(courier("c1", "west"))).await;
    config(ConfigChange::PutCourier(courier("c2", "east"))).await;

    let desk = device(&server.url, &tokens["d1"]).await;
    let phone = device(&server.url, &tokens["c1"]).await;
    let west = ChatLink::Zone {
        zone: "west".into(),
    };
    assert!(
        eventually(T, async || open(&desk.core, &west)
            .is_some_and(|v| v.title == "Couriers in West"))
        .await,
        "the desk knows the zone by name"
    );
    say(
        &desk.core,
        &west,
        post("Bridge closed: go round by Lapinlahti"),
    );
    assert!(desk.client.wait_synced(T).await);
    assert!(
        eventually(T, async || open(&phone.core, &west).is_some_and(|v| v
            .messages
            .iter()
            .any(|m| m.text.starts_with("Bridge closed"))))
        .await,
        "c1 (West) reads it on her phone"
    );
    assert!(
        eventually(T, async || list(&phone.core).unread_total >= 1).await,
        "and it counts as unread"
    );
    let doc = app_core::ids::doc_id_of_uuid(&app_core::chat_doc::chat_id(&west))
        .unwrap()
        .to_string();
    let mut c2 = RawPeer::join(&server.url, &tokens["c2"]).await;
    c2.request(&doc);
    assert!(c2.refusal(&doc).await.is_ok(), "c2 (East) may not open it");

    // Moved to West: the server shares it with him.
    config(ConfigChange::PutCourier(courier("c2", "west"))).await;
    let (got, _) = c2.fetch(&doc).await;
    let got = app_core::chat_doc::load(&got.save(), &app_core::domain::DeviceId::new("x")).unwrap();
    let st = app_core::chat_doc::derive(&got.events());
    assert_eq!(st.messages.len(), 1);
}

/// With raw clients of a client and a dispatcher: a client reads an order's
/// chat only when the tenant lets clients into their orders' chats, and
/// never another client's; nobody reads or writes another user's inbox,
/// a dispatcher included; a client does not post in their own customer
/// chat under the dispatcher's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_and_dispatchers_reach_only_their_own_chats_and_inboxes() {
    use app_api::config::{ConfigChange, TenantProfile};
    let (data, tokens) = tenant(&[
        ("a1", "admin"),
        ("d1", "dispatcher"),
        ("k1", "client"),
        ("k2", "client"),
    ]);
    let server = SyncServer::start_in("chat-roles", data);
    let portal = device(&server.url, &tokens["k1"]).await;
    let desk = device(&server.url, &tokens["d1"]).await;
    let Response::Order(order) = portal
        .core
        .execute(Request::CreateOrder(app_api::NewOrder::simple(
            "Kaisa",
            "Kaivokatu 1",
            "Bulevardi 14",
        )))
        .unwrap()
    else {
        panic!()
    };
    assert!(portal.client.wait_synced(T).await);
    assert!(eventually(T, async || status(&desk.core, &order.id).is_some()).await);
    let order_chat = ChatLink::Order {
        order: order.id.clone(),
    };
    let customer = ChatLink::Customer {
        client: "k1".into(),
    };
    say(&desk.core, &order_chat, post("Your parcel is late"));
    say(&desk.core, &customer, post("Welcome aboard"));
    assert!(desk.client.wait_synced(T).await);
    let doc = |l: &ChatLink| {
        app_core::ids::doc_id_of_uuid(&app_core::chat_doc::chat_id(l))
            .unwrap()
            .to_string()
    };
    let inbox = |u: &str| {
        app_core::ids::doc_id_of_uuid(&app_core::inbox_doc::inbox_id(
            &app_core::domain::UserId::new(u),
        ))
        .unwrap()
        .to_string()
    };

    // Clients are not in their orders' chats by default; never in another's.
    let mut k1 = RawPeer::join(&server.url, &tokens["k1"]).await;
    k1.request(&doc(&order_chat));
    assert!(
        k1.refusal(&doc(&order_chat)).await.is_ok(),
        "off by default"
    );
    let mut k2 = RawPeer::join(&server.url, &tokens["k2"]).await;
    for d in [doc(&order_chat), doc(&customer)] {
        k2.request(&d);
        assert!(k2.refusal(&d).await.is_ok(), "k2 may not open {d}");
    }
    // The client's own customer chat: theirs to read, not to forge in.
    let reason = forge(&mut k1, &doc(&customer), "d1").await;
    assert!(reason.contains("claims to be by"), "{reason}");

    // The admin lets clients in: k1 reads the order's chat, k2 still not.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/admin/config", server.url))
        .bearer_auth(&tokens["a1"])
        .json(&ConfigChange::SetProfile(TenantProfile {
            clients_in_order_chat: true,
            ..TenantProfile::default()
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (got, _) = k1.fetch(&doc(&order_chat)).await;
    let got = app_core::chat_doc::load(&got.save(), &app_core::domain::DeviceId::new("x")).unwrap();
    assert_eq!(
        app_core::chat_doc::derive(&got.events()).messages[0].text,
        "Your parcel is late"
    );
    k2.request(&doc(&order_chat));
    assert!(k2.refusal(&doc(&order_chat)).await.is_ok());

    // Inboxes: one's own only, for a dispatcher too.
    let read = notices_read(&portal.core);
    assert!(portal.client.wait_synced(T).await);
    let mut d1 = RawPeer::join(&server.url, &tokens["d1"]).await;
    for peer in [&mut d1, &mut k2] {
        // Never the document; "unavailable" once the server has it.
        let mut refused = false;
        for _ in 0..3 {
            peer.request(&inbox("k1"));
            if peer.refusal(&inbox("k1")).await.is_ok() {
                refused = true;
                break;
            }
        }
        assert!(refused, "another's inbox");
    }
    let fake = app_core::inbox_doc::create(
        &app_core::domain::UserId::new("k2"),
        &app_core::domain::DeviceId::new("f1f1f1f1f1f1f1f1ab"),
    )
    .unwrap()
    .save();
    crate::cash::push_all(
        &d1,
        &inbox("k2"),
        &automerge::Automerge::load(&fake).unwrap(),
    );
    let why = d1.refusal(&inbox("k2")).await.unwrap_or_else(|e| e);
    assert!(
        why.contains("not d1's") || why.contains("may not write"),
        "a dispatcher may not plant an inbox for a courier: {why}"
    );
    assert!(
        read,
        "k1 marked their notifications read on their own inbox"
    );
}

/// Marks every notification read; whether the call succeeded.
fn notices_read(core: &Core) -> bool {
    core.execute(Request::NotificationAct(
        app_api::notify::NotificationAction::MarkAllRead,
    ))
    .is_ok()
}

/// A chat photo through a real server: the desk's photo in a courier's
/// chat reaches that courier's phone (fetched from the server, which gives
/// a conversation's photos to its participants only); the courier's photo of
/// the parcel reaches the desk; another courier cannot fetch either; once the
/// desk deletes its message, its photo is no longer the courier's to fetch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_photos_reach_the_conversations_participants_only() {
    use base64::Engine as _;
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("c1", "courier"), ("c2", "courier")]);
    let server = SyncServer::start_in("chat-photos", data);
    let desk = device(&server.url, &tokens["d1"]).await;
    let phone = device(&server.url, &tokens["c1"]).await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(crate::workspaces::camera_jpeg());
    // The courier's: another picture (a PNG from the phone's gallery).
    let png = {
        let img = image::RgbImage::from_fn(900, 700, |x, y| {
            image::Rgb([(x % 251) as u8, (y % 241) as u8, 40])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        base64::engine::general_purpose::STANDARD.encode(out.into_inner())
    };
    let photo_msg = |text: &str, b64: &str| {
        ChatAction::Post(NewMessage {
            text: text.into(),
            photo_base64: Some(b64.to_owned()),
            ..Default::default()
        })
    };
    let driver = ChatLink::Driver {
        courier: "c1".into(),
    };
    let v = say(
        &desk.core,
        &driver,
        photo_msg("This is the gate code sign", &b64),
    );
    let theirs = v.messages[0].photo.clone().expect("stored, by hash");
    assert!(v.messages[0].pending, "written here first");
    // Shrunk as a proof's photo is: a JPEG within the budget.
    let Response::PodBlob(b) = desk
        .core
        .execute(Request::PodBlob {
            sha256: theirs.clone(),
        })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(b.media_type, "image/jpeg");
    let jpeg = base64::engine::general_purpose::STANDARD
        .decode(&b.base64)
        .unwrap();
    let img = image::load_from_memory(&jpeg).unwrap();
    assert!(
        img.width() <= 1600 && jpeg.len() <= 300_000,
        "{}",
        jpeg.len()
    );
    assert!(
        eventually(T, async || phone
            .core
            .execute(Request::PodBlob {
                sha256: theirs.clone()
            })
            .is_ok())
        .await,
        "the desk's photo reaches the courier's phone through the server"
    );
    let seen = open(&phone.core, &driver).unwrap();
    assert_eq!(seen.messages[0].photo.as_deref(), Some(theirs.as_str()));

    // The courier's photo of the parcel reaches the desk.
    let v = say(&phone.core, &driver, photo_msg("Box is wet", &png));
    let mine = v.messages.last().unwrap().photo.clone().unwrap();
    assert_ne!(mine, theirs);
    assert!(
        eventually(T, async || desk
            .core
            .execute(Request::PodBlob {
                sha256: mine.clone()
            })
            .is_ok())
        .await,
        "the courier's photo reaches the desk"
    );

    // Over HTTP: a participant fetches it, another courier finds nothing.
    let http = reqwest::Client::new();
    let get = async |hash: &str, who: &str| {
        http.get(format!("{}/v1/blobs/{hash}", server.url))
            .bearer_auth(&tokens[who])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(get(&theirs, "c1").await, 200);
    assert_eq!(get(&theirs, "c2").await, 404, "not c2's conversation");
    assert_eq!(get(&mine, "c2").await, 404);
    assert_eq!(get(&mine, "d1").await, 200);

    // Deleted: the photo is withdrawn from the courier (operators keep theirs).
    say(
        &desk.core,
        &driver,
        ChatAction::Delete {
            message: open(&desk.core, &driver).unwrap().messages[0].id.clone(),
        },
    );
    assert!(
        eventually(T, async || get(&theirs, "c1").await == 404).await,
        "a deleted message's photo is no longer the courier's to fetch"
    );
    assert_eq!(get(&mine, "c1").await, 200, "their own upload stays theirs");

    // A modified client names a hash it did not upload (the desk's photo in
    // c2's chat, learned somehow) in its own conversation: shared nothing.
    let c2_chat = ChatLink::Driver {
        courier: "c2".into(),
    };
    let other = {
        let img = image::RgbImage::from_fn(640, 480, |x, y| {
            image::Rgb([40, (x % 233) as u8, (y % 229) as u8])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        base64::engine::general_purpose::STANDARD.encode(out.into_inner())
    };
    let v = say(&desk.core, &c2_chat, photo_msg("For c2 only", &other));
    let secret = v.messages[0].photo.clone().unwrap();
    assert!(![&theirs, &mine].contains(&&secret));
    assert!(
        eventually(T, async || get(&secret, "d1").await == 200).await,
        "uploaded by the desk"
    );
    // The phone is made to believe it holds the file (the core checks that).
    std::fs::write(phone._dir.path().join("blobs").join(&secret), b"not it").unwrap();
    say(
        &phone.core,
        &driver,
        ChatAction::Post(NewMessage {
            text: "look".into(),
            photo: Some(secret.clone()),
            ..Default::default()
        }),
    );
    assert!(
        eventually(T, async || open(&desk.core, &driver)
            .is_some_and(|v| v.messages.iter().any(|m| m.text == "look")))
        .await,
        "the message itself goes through"
    );
    assert_eq!(
        get(&secret, "c1").await,
        404,
        "a photo is shown only by the message of its uploader"
    );
}

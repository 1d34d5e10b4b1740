//! Support tickets through a real `sync-server`: the storefront opens one
//! through the intake endpoint (malformed, oversized, wrong-key and
//! over-rate requests refused by name), the dispatcher assigns and answers
//! it, the guest reads the answer through the reply link and replies; a
//! client opens one offline from the portal and reads the desk's answer;
//! with raw clients, nobody reads or works a ticket that is not theirs.

use app_api::chat::{ChatAction, ChatLink, NewMessage};
use app_api::tickets::{
    IntakeReceipt, NewTicket, TicketAction, TicketCategory, TicketList, TicketQuery, TicketStatus,
    TicketView, TimerState,
};
use app_api::{NewOrder, Priority, Request, Response};
use app_core::Core;
use app_core::ticket_doc::{TicketChange, TicketEvent};
use ruta_e2e::{SyncServer, binary, eventually};
use serde_json::{Value, json};

use crate::sync::{T, device, tenant};
use crate::sync_security::RawPeer;

fn intake_key(data: &std::path::Path) -> String {
    let out = std::process::Command::new(binary("sync-server"))
        .arg("--data")
        .arg(data)
        .args(["intake-key", "--tenant", "acme"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn tickets(core: &Core) -> TicketList {
    match core.execute(Request::ListTickets(TicketQuery::default())) {
        Ok(Response::Tickets(l)) => l,
        other => panic!("{other:?}"),
    }
}

fn open(core: &Core, id: &str) -> Option<TicketView> {
    match core.execute(Request::OpenTicket {
        ticket_id: id.into(),
    }) {
        Ok(Response::Ticket(v)) => Some(v),
        _ => None,
    }
}

fn act(core: &Core, id: &str, action: TicketAction) -> TicketView {
    match core
        .execute(Request::TicketAct {
            ticket_id: id.into(),
            action,
        })
        .unwrap()
    {
        Response::Ticket(v) => v,
        other => panic!("{other:?}"),
    }
}

fn answer(core: &Core, ticket: &str, text: &str) {
    core.execute(Request::ChatAct {
        link: ChatLink::Ticket {
            ticket: ticket.into(),
        },
        action: ChatAction::Post(NewMessage {
            text: text.into(),
            ..Default::default()
        }),
    })
    .unwrap();
}

fn greta() -> Value {
    json!({
        "name": "Greta Guest",
        "email": "greta@example.com",
        "subject": "Wrong size delivered",
        "message": "I ordered a medium.",
        "category": "delivery",
        "order_reference": "R-3F2A-0001"
    })
}

/// Status, and the body as JSON.
async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storefront_opens_a_ticket_the_desk_answers_and_the_guest_replies_by_link() {
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("a1", "admin")]);
    let key = intake_key(data.path());
    let server = SyncServer::start_in("tickets-storefront", data);
    let desk = device(&server.url, &tokens["d1"]).await;
    let http = reqwest::Client::new();
    let intake = format!("{}/v1/intake/acme/tickets", server.url);
    let post = |body: String, key: &str| {
        http.post(&intake)
            .header("x-intake-key", key)
            .header("content-type", "application/json")
            .body(body)
    };

    // Refused by name, and nothing reaches the desk.
    let (s, e) = send(post(greta().to_string(), "")).await;
    assert_eq!((s, e["code"].as_str()), (401, Some("intake-key")), "{e}");
    let (s, e) = send(post(greta().to_string(), "rik_wrong")).await;
    assert_eq!((s, e["code"].as_str()), (401, Some("intake-key")), "{e}");
    let mut big = greta();
    big["message"] = json!("x".repeat(20_000));
    let (s, e) = send(post(big.to_string(), &key)).await;
    assert_eq!((s, e["code"].as_str()), (413, Some("too-large")), "{e}");
    let mut extra = greta();
    extra["admin"] = json!(true);
    let (s, e) = send(post(extra.to_string(), &key)).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("malformed")), "{e}");
    assert!(e["error"].as_str().unwrap().contains("admin"), "{e}");
    let (s, e) = send(post("{\"name\": \"G\"".into(), &key)).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("malformed")), "{e}");
    let mut no_subject = greta();
    no_subject.as_object_mut().unwrap().remove("subject");
    let (s, e) = send(post(no_subject.to_string(), &key)).await;
    assert_eq!(s, 400, "{e}");
    assert!(e["error"].as_str().unwrap().contains("subject"), "{e}");
    let mut bad_email = greta();
    bad_email["email"] = json!("greta at example");
    let (s, e) = send(post(bad_email.to_string(), &key)).await;
    assert_eq!((s, e["field"].as_str()), (422, Some("email")), "{e}");
    let mut bad_category = greta();
    bad_category["category"] = json!("refund-now");
    let (s, e) = send(post(bad_category.to_string(), &key)).await;
    assert_eq!((s, e["field"].as_str()), (400, Some("category")), "{e}");

    // The storefront's ticket: a reference and a reply link.
    let (s, r) = send(post(greta().to_string(), &key)).await;
    assert_eq!(s, 201, "{r}");
    let receipt: IntakeReceipt = serde_json::from_value(r).unwrap();
    assert_eq!(
        receipt.reference,
        app_core::ticket_doc::reference_of(&receipt.ticket)
    );
    let id = receipt.ticket.clone();
    let link = format!("{}{}", server.url, receipt.reply_path);

    // At the desk: listed for the dispatcher, unassigned, from the storefront.
    assert!(
        eventually(T, async || tickets(&desk.core)
            .tickets
            .iter()
            .any(|t| t.id == id))
        .await,
        "the ticket reaches the desk"
    );
    let l = tickets(&desk.core);
    assert_eq!(l.tickets.len(), 1, "only the accepted one");
    assert_eq!(l.unassigned, 1);
    let t = &l.tickets[0];
    assert!(t.storefront);
    assert_eq!(t.requester_name, "Greta Guest <greta@example.com>");
    assert_eq!(t.category, TicketCategory::Delivery);
    let v = open(&desk.core, &id).unwrap();
    assert!(v.message.contains("I ordered a medium."));
    assert!(v.message.contains("R-3F2A-0001"), "{}", v.message);

    // Assigned, answered and waiting for the guest.
    act(
        &desk.core,
        &id,
        TicketAction::Assign {
            to: Some("d1".into()),
        },
    );
    answer(&desk.core, &id, "Sorry! A medium is on its way.");
    let v = act(
        &desk.core,
        &id,
        TicketAction::SetStatus {
            status: TicketStatus::Pending,
        },
    );
    assert!(matches!(v.ticket.first_response, TimerState::Met { .. }));
    assert!(desk.client.wait_synced(T).await);

    // The guest reads the answer through the reply link.
    let got = eventually(T, async || {
        let (s, g) = send(http.get(&link)).await;
        s == 200
            && g["status"] == "pending"
            && g["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["text"] == "Sorry! A medium is on its way." && m["mine"] == false)
    })
    .await;
    assert!(got, "the guest sees the answer");
    let (_, g) = send(http.get(&link)).await;
    assert_eq!(g["reference"], receipt.reference.as_str());
    assert_eq!(
        g["messages"][0]["text"],
        "I ordered a medium.\n\nOrder reference given: R-3F2A-0001"
    );
    // A photo from the desk is named to the guest, who cannot fetch files.
    {
        use base64::Engine as _;
        desk.core
            .execute(Request::ChatAct {
                link: ChatLink::Ticket { ticket: id.clone() },
                action: ChatAction::Post(NewMessage {
                    photo_base64: Some(
                        base64::engine::general_purpose::STANDARD
                            .encode(crate::workspaces::camera_jpeg()),
                    ),
                    ..Default::default()
                }),
            })
            .unwrap();
    }
    assert!(
        eventually(T, async || {
            let (_, g) = send(http.get(&link)).await;
            g["messages"].as_array().is_some_and(|m| {
                m.iter()
                    .any(|m| m["text"] == "(a photo, shown in the app only)")
            })
        })
        .await,
        "the guest is told a photo was sent"
    );
    // A wrong secret or another ticket's finds nothing.
    let wrong = link.replace("token=", "token=0");
    assert_eq!(send(http.get(&wrong)).await.0, 404);
    let (s, _) = send(http.get(format!(
        "{}/v1/intake/acme/tickets/{}?token=00000000000000000000000000000000",
        server.url, id
    )))
    .await;
    assert_eq!(s, 404);

    // The guest replies: the ticket is back on the desk, with their words.
    let replies = link.replacen('?', "/replies?", 1);
    let (s, g) = send(
        http.post(&replies)
            .header("content-type", "application/json")
            .body(json!({"message": "Thanks, and the old one?"}).to_string()),
    )
    .await;
    assert_eq!(s, 200, "{g}");
    let (s, e) = send(http.post(&replies).body("{\"message\": \"\"}")).await;
    assert_eq!((s, e["field"].as_str()), (422, Some("message")), "{e}");
    assert!(
        eventually(T, async || open(&desk.core, &id).is_some_and(|v| v
            .ticket
            .status
            == TicketStatus::Open
            && v.chat.messages.iter().any(|m| m.text
                == "Thanks, and the old one?"
                && m.author_name == "Greta Guest")))
        .await,
        "the guest's reply reopens the ticket at the desk"
    );

    // The admin rotates the key: the old one stops working.
    let (s, k) = send(
        http.post(format!("{}/v1/admin/intake-key", server.url))
            .bearer_auth(&tokens["a1"]),
    )
    .await;
    assert_eq!(s, 200, "{k}");
    let fresh = k["key"].as_str().unwrap().to_owned();
    assert_ne!(fresh, key);
    let (s, _) = send(post(greta().to_string(), &key)).await;
    assert_eq!(s, 401);
    let (s, _) = send(
        http.post(format!("{}/v1/admin/intake-key", server.url))
            .bearer_auth(&tokens["d1"]),
    )
    .await;
    assert_eq!(s, 403, "dispatchers do not rotate the key");

    // Over the rate: refused by name once the address has used its room.
    let mut refused = None;
    for n in 0..=sync_server::intake::PER_ADDRESS {
        let (s, e) = send(post(greta().to_string(), &fresh)).await;
        if s == 429 {
            refused = Some((n, e));
            break;
        }
        assert_eq!(s, 201, "{e}");
    }
    let (n, e) = refused.expect("the address is rate-limited");
    assert_eq!(e["code"], "too-many-requests", "{e}");
    assert!(n < sync_server::intake::PER_ADDRESS, "{n}");
    // Another tenant's name, or one that does not exist, finds nothing.
    let (s, _) = send(
        http.post(format!("{}/v1/intake/nosuch/tickets", server.url))
            .header("x-intake-key", &fresh)
            .body(greta().to_string()),
    )
    .await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_opens_a_ticket_offline_and_reads_the_desks_answer_through_the_server() {
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("k1", "client")]);
    let server = SyncServer::start_in("tickets-portal", data);
    let desk = device(&server.url, &tokens["d1"]).await;
    let portal = device(&server.url, &tokens["k1"]).await;
    let Response::Order(order) = portal
        .core
        .execute(Request::CreateOrder(NewOrder::simple(
            "Kaisa",
            "Mäkelänkatu 50",
            "Bulevardi 14",
        )))
        .unwrap()
    else {
        panic!()
    };
    assert!(portal.client.wait_synced(T).await);

    // Offline: the ticket is the client's at once, pending.
    portal.client.clone().stop().await;
    let Response::Ticket(v) = portal
        .core
        .execute(Request::NewTicket(NewTicket {
            subject: "Courier rang the wrong bell".into(),
            message: "Please tell them flat B 12.".into(),
            category: TicketCategory::Delivery,
            priority: Priority::High,
            order: Some(order.id.clone()),
            on_behalf_of: None,
        }))
        .unwrap()
    else {
        panic!()
    };
    assert!(v.ticket.pending);
    let id = v.ticket.id.clone();
    let cfg = sync_client::SyncConfig::new(url::Url::parse(&server.url).unwrap(), &tokens["k1"]);
    let _back = sync_client::SyncClient::start(portal.core.clone(), portal._dir.path(), cfg)
        .await
        .unwrap();

    // The desk gets it with its order, and answers.
    assert!(
        eventually(T, async || open(&desk.core, &id).is_some()).await,
        "the ticket reaches the desk"
    );
    let v = open(&desk.core, &id).unwrap();
    assert_eq!(v.ticket.order.as_deref(), Some(order.id.as_str()));
    assert_eq!(v.ticket.priority, Priority::High);
    assert!(!v.ticket.storefront);
    answer(&desk.core, &id, "Noted for the courier.");
    act(
        &desk.core,
        &id,
        TicketAction::SetStatus {
            status: TicketStatus::Solved,
        },
    );
    // The client reads it: solved, the answer unread, the timer met.
    assert!(
        eventually(T, async || open(&portal.core, &id).is_some_and(|v| v
            .ticket
            .status
            == TicketStatus::Solved
            && v.chat
                .messages
                .iter()
                .any(|m| m.text == "Noted for the courier.")))
        .await,
        "the answer reaches the client"
    );
    let v = open(&portal.core, &id).unwrap();
    assert!(!v.ticket.pending, "the client's ticket is confirmed");
    assert!(matches!(v.ticket.first_response, TimerState::Met { .. }));
    // The client closes it; the desk sees that.
    act(
        &portal.core,
        &id,
        TicketAction::SetStatus {
            status: TicketStatus::Closed,
        },
    );
    assert!(
        eventually(T, async || open(&desk.core, &id)
            .is_some_and(|v| v.ticket.status == TicketStatus::Closed))
        .await,
        "the desk sees it closed"
    );
}

fn ticket_doc_id(ticket: &str) -> String {
    app_core::ids::doc_id_of_uuid(ticket).unwrap().to_string()
}

/// Adds `change` by `user` (as `role`, on `dev`) to `local` and pushes it.
async fn forge(
    peer: &mut RawPeer,
    doc: &str,
    local: &mut automerge::Automerge,
    user: &str,
    role: app_core::domain::Role,
    change: TicketChange,
) -> String {
    let dev = "f1f1f1f1f1f1f1f1ab";
    let e = TicketEvent {
        at: app_core::hlc::Hlc {
            wall_ms: 1_900_000_000_000,
            counter: 0,
            node: app_core::hlc::node_of(dev),
        },
        actor: app_core::domain::Actor {
            user: app_core::domain::UserId::new(user),
            role,
            device: app_core::domain::DeviceId::new(dev),
        },
        change,
    };
    let events = match automerge::ReadDoc::get(&*local, automerge::ROOT, "events") {
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
    crate::cash::push_all(peer, doc, local);
    peer.refusal(doc).await.unwrap_or_else(|e| e)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_reads_or_works_a_ticket_that_is_not_theirs() {
    use app_core::domain::Role;
    let (data, tokens) = tenant(&[
        ("d1", "dispatcher"),
        ("k1", "client"),
        ("k2", "client"),
        ("c1", "courier"),
    ]);
    let server = SyncServer::start_in("tickets-access", data);
    let portal = device(&server.url, &tokens["k1"]).await;
    let Response::Ticket(v) = portal
        .core
        .execute(Request::NewTicket(NewTicket {
            subject: "Invoice wrong".into(),
            message: "VAT missing".into(),
            category: TicketCategory::Billing,
            priority: Priority::Normal,
            order: None,
            on_behalf_of: None,
        }))
        .unwrap()
    else {
        panic!()
    };
    assert!(portal.client.wait_synced(T).await);
    let id = v.ticket.id;
    let doc = ticket_doc_id(&id);
    let chat = app_core::ids::doc_id_of_uuid(&app_core::chat_doc::chat_id(&ChatLink::Ticket {
        ticket: id.clone(),
    }))
    .unwrap()
    .to_string();
    answer(&portal.core, &id, "Any news?");
    assert!(portal.client.wait_synced(T).await);

    // Another client and a courier read neither the ticket nor its conversation.
    for user in ["k2", "c1"] {
        let peer = RawPeer::join(&server.url, &tokens[user]).await;
        let mut peer = peer;
        for d in [&doc, &chat] {
            peer.request(d);
            assert!(peer.refusal(d).await.is_ok(), "{user} may not open {d}");
        }
    }

    // The requester may not work their ticket like an operator.
    let mut k1 = RawPeer::join(&server.url, &tokens["k1"]).await;
    let (mut local, _) = k1.fetch(&doc).await;
    let why = forge(
        &mut k1,
        &doc,
        &mut local,
        "k1",
        Role::Client,
        TicketChange::Assigned {
            to: Some(app_core::domain::UserId::new("k1")),
        },
    )
    .await;
    assert!(why.contains("only operators"), "{why}");

    // Nor open one in another client's name, or as a guest; nor may a courier open one.
    for (token, user, role, requester) in [
        (
            "k1",
            "k1",
            Role::Client,
            app_api::tickets::Requester::User { user: "k2".into() },
        ),
        (
            "k1",
            "k1",
            Role::Client,
            app_api::tickets::Requester::Guest {
                name: "G".into(),
                email: "g@example.com".into(),
            },
        ),
        (
            "c1",
            "c1",
            Role::Courier,
            app_api::tickets::Requester::User { user: "c1".into() },
        ),
    ] {
        let mut peer = RawPeer::join(&server.url, &tokens[token]).await;
        let fresh = uuid::Uuid::new_v4().to_string();
        let d = ticket_doc_id(&fresh);
        let created = app_core::ticket_doc::create(
            &requester,
            &app_core::domain::DeviceId::new("f1f1f1f1f1f1f1f1ab"),
        )
        .unwrap()
        .save();
        let mut local = automerge::Automerge::load(&created).unwrap();
        let why = forge(
            &mut peer,
            &d,
            &mut local,
            user,
            role,
            TicketChange::Opened {
                subject: "s".into(),
                message: "m".into(),
                category: TicketCategory::Other,
                priority: Priority::Normal,
                requester: requester.clone(),
                order: None,
            },
        )
        .await;
        assert!(
            why.contains("only for themselves")
                || why.contains("storefront")
                || why.contains("couriers")
                // A courier creates no document the server does not know.
                || (role == Role::Courier && why.contains("may not write this document")),
            "{user} {requester:?}: {why}"
        );
    }
    // The desk still sees exactly the one real ticket.
    let desk = device(&server.url, &tokens["d1"]).await;
    assert!(
        eventually(T, async || tickets(&desk.core).tickets.len() == 1).await,
        "one ticket at the desk"
    );
    assert!(
        eventually(T, async || open(&desk.core, &id).is_some_and(|v| v
            .chat
            .messages
            .len()
            == 1))
        .await,
        "with the client's message"
    );
}

/// The support desk and the portal in a browser, against a real server: the
/// storefront's ticket is opened from the keyboard, assigned, answered and set
/// pending in the console (the guest's reply link shows the answer); a client
/// is refused an empty ticket by field, opens one about their order; the
/// desk's notification opens it, the desk answers and solves it; the client
/// reads the reply and closes the ticket, and the desk sees it closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_and_a_client_work_tickets_in_the_browser() {
    use ruta_e2e::{DeviceHost, browser_phase, provision_tenant};
    let data = tempfile::tempdir().unwrap();
    let tokens = provision_tenant(
        data.path(),
        "acme",
        &[("d1", "dispatcher"), ("k1", "client")],
    );
    let key = intake_key(data.path());
    let server = SyncServer::start_in("tickets-browser", data);
    let host = |name: &str, token: &str| DeviceHost::linked(name, &server.url, token);
    let desk = host("device-tickets-desk", &tokens["d1"]);
    let portal = host("device-tickets-portal", &tokens["k1"]);
    let call = async |h: &DeviceHost, r: Request| -> Response {
        let (code, body) = h.call(&serde_json::to_value(&r).unwrap()).await;
        assert_eq!(code, 200, "{r:?}: {body}");
        serde_json::from_value(body).unwrap()
    };
    let list = async |h: &DeviceHost| -> TicketList {
        match call(h, Request::ListTickets(TicketQuery::default())).await {
            Response::Tickets(l) => l,
            other => panic!("{other:?}"),
        }
    };
    let view = async |h: &DeviceHost, id: &str| -> TicketView {
        match call(
            h,
            Request::OpenTicket {
                ticket_id: id.into(),
            },
        )
        .await
        {
            Response::Ticket(v) => v,
            other => panic!("{other:?}"),
        }
    };

    // The storefront's ticket reaches the desk.
    let http = reqwest::Client::new();
    let (s, r) = send(
        http.post(format!("{}/v1/intake/acme/tickets", server.url))
            .header("x-intake-key", &key)
            .header("content-type", "application/json")
            .body(greta().to_string()),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let receipt: IntakeReceipt = serde_json::from_value(r).unwrap();
    assert!(
        eventually(T, async || list(&desk)
            .await
            .tickets
            .iter()
            .any(|t| t.id == receipt.ticket))
        .await,
        "the storefront's ticket reaches the desk"
    );
    let answer = "Sorry! A medium is on its way.";
    let worked = browser_phase(
        "tickets.mjs",
        "desk-work",
        &desk.url,
        json!({ "reference": receipt.reference, "subject": "Wrong size delivered",
                "message": "I ordered a medium.", "answer": answer }),
    );
    assert_eq!(worked["status"], "Pending", "{worked}");
    let Response::Notifications(n) = call(&desk, Request::Notifications).await else {
        panic!()
    };
    assert!(
        n.channels.contains(&(
            app_api::notify::NoticeKind::Status,
            app_api::notify::Channel::Digest
        )),
        "the centre's settings wrote the subscription: {:?}",
        n.channels
    );
    let v = view(&desk, &receipt.ticket).await;
    assert_eq!(v.ticket.assignee.as_deref(), Some("d1"));
    assert_eq!(v.ticket.status, TicketStatus::Pending);
    assert!(matches!(v.ticket.first_response, TimerState::Met { .. }));
    let link = format!("{}{}", server.url, receipt.reply_path);
    assert!(
        eventually(T, async || {
            let (s, g) = send(http.get(&link)).await;
            s == 200
                && g["status"] == "pending"
                && g["messages"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|m| m["text"] == answer))
        })
        .await,
        "the guest reads the answer typed in the console"
    );

    // A client asks about their order from the portal.
    let Response::Order(order) = call(
        &portal,
        Request::CreateOrder(NewOrder::simple(
            "Aino",
            "Mannerheimintie 20",
            "Bulevardi 14",
        )),
    )
    .await
    else {
        panic!()
    };
    let photo = tempfile::Builder::new().suffix(".jpg").tempfile().unwrap();
    std::fs::write(photo.path(), crate::workspaces::camera_jpeg()).unwrap();
    let asked = browser_phase(
        "tickets.mjs",
        "client-ask",
        &portal.url,
        json!({ "subject": "Box arrived crushed", "message": "The corner is dented.",
                "order": order.id, "photo": photo.path() }),
    );
    let reference = asked["reference"].as_str().unwrap().to_owned();
    let mine = list(&portal).await;
    assert_eq!(mine.tickets.len(), 1, "a client lists only their own");
    let t = mine.tickets[0].clone();
    assert_eq!(t.reference, reference);
    assert_eq!(t.category, TicketCategory::Damage);
    assert_eq!(t.order.as_deref(), Some(order.id.as_str()));
    assert!(
        eventually(T, async || list(&desk).await.tickets.iter().any(|x| x.id
            == t.id
            && x.order_reference.as_deref() == Some(&order.reference)))
        .await,
        "the client's ticket and its order reach the desk"
    );
    let reply = "We will collect it tomorrow and send a new one.";
    let solved = browser_phase(
        "tickets.mjs",
        "desk-notice",
        &desk.url,
        json!({ "reference": reference, "order_reference": order.reference, "answer": reply }),
    );
    assert_eq!(solved["status"], "Solved", "{solved}");
    assert!(
        eventually(T, async || {
            let v = view(&portal, &t.id).await;
            v.ticket.status == TicketStatus::Solved
                && v.chat.messages.iter().any(|m| m.text == reply)
        })
        .await,
        "the answer and the status reach the portal"
    );
    let read = browser_phase(
        "tickets.mjs",
        "client-read",
        &portal.url,
        json!({ "reference": reference }),
    );
    assert_eq!(read["status"], "Closed", "{read}");
    assert_eq!(read["reply"], reply);
    assert!(
        eventually(T, async || view(&desk, &t.id).await.ticket.status
            == TicketStatus::Closed)
        .await,
        "the desk sees the client closed it"
    );
}

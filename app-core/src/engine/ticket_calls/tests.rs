//! Support tickets through `Core::execute` on real stores: a client opens
//! one offline about their order, the desk gets it, assigns, answers in its
//! conversation and solves it; the client reads the answer and reopens; the
//! timers; filters; who may do what.

use app_api::chat::{ChatAction, ChatLink, NewMessage};
use app_api::tickets::{
    NewTicket, TicketAction, TicketCategory, TicketList, TicketQuery, TicketStatus, TicketView,
    TimerState,
};
use app_api::{ApiError, NewOrder, Priority, Request, Response, Role};

use crate::Core;
use crate::domain::OrderId;
use crate::engine::test_support::{open_at, session};

const NOW: i64 = 1_780_000_000_000;
const MIN: i64 = 60_000;

fn new_ticket(core: &Core, order: Option<String>) -> Result<TicketView, ApiError> {
    match core.execute(Request::NewTicket(NewTicket {
        subject: "Parcel late".into(),
        message: "It was due yesterday.".into(),
        category: TicketCategory::Delivery,
        priority: Priority::Normal,
        order,
        on_behalf_of: None,
    }))? {
        Response::Ticket(v) => Ok(v),
        other => panic!("{other:?}"),
    }
}

fn act(core: &Core, id: &str, action: TicketAction) -> Result<TicketView, ApiError> {
    match core.execute(Request::TicketAct {
        ticket_id: id.into(),
        action,
    })? {
        Response::Ticket(v) => Ok(v),
        other => panic!("{other:?}"),
    }
}

fn open(core: &Core, id: &str) -> Result<TicketView, ApiError> {
    match core.execute(Request::OpenTicket {
        ticket_id: id.into(),
    })? {
        Response::Ticket(v) => Ok(v),
        other => panic!("{other:?}"),
    }
}

fn list(core: &Core, q: TicketQuery) -> TicketList {
    match core.execute(Request::ListTickets(q)).unwrap() {
        Response::Tickets(l) => l,
        other => panic!("{other:?}"),
    }
}

fn copy_ticket(from: &Core, to: &Core, id: &str) -> bool {
    let (bytes, _) = from.ticket_document(id).unwrap().unwrap();
    to.merge_ticket(id, &bytes).unwrap()
}

fn copy_chat(from: &Core, to: &Core, id: &str) -> bool {
    let (bytes, _) = from.chat_document(id).unwrap().unwrap();
    to.merge_chat(id, &bytes).unwrap()
}

fn client_order(core: &Core) -> String {
    let new = NewOrder::simple("Cleo", "Mäkelänkatu 50", "Bulevardi 14");
    let Response::Order(o) = core.execute(Request::CreateOrder(new)).unwrap() else {
        panic!()
    };
    o.id
}

fn say(core: &Core, ticket: &str, text: &str) {
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

#[test]
fn a_client_opens_a_ticket_offline_and_the_desk_assigns_answers_and_solves_it() {
    let (_a, portal, pclock) = open_at(NOW);
    let (_b, desk, dclock) = open_at(NOW);
    session(&portal, "cleo", Role::Client);
    session(&desk, "dora", Role::Dispatcher);
    let order = client_order(&portal);
    let oid = OrderId::new(order.clone());
    desk.merge_remote(&oid, &portal.doc_bytes(&oid).unwrap())
        .unwrap();

    // Offline: the ticket is there at once, pending, with its reference.
    let v = new_ticket(&portal, Some(order.clone())).unwrap();
    let id = v.ticket.id.clone();
    assert!(v.ticket.pending);
    assert_eq!(
        v.ticket.reference,
        ruta_model::ticket_doc::reference_of(&id)
    );
    assert_eq!(v.ticket.status, TicketStatus::Open);
    assert_eq!(v.ticket.order.as_deref(), Some(order.as_str()));
    assert!(v.ticket.order_reference.is_some());
    assert!(!v.may_manage && v.assignable.is_empty());
    assert_eq!(
        v.ticket.first_response,
        TimerState::Running { left_ms: 60 * MIN }
    );
    let l = list(&portal, TicketQuery::default());
    assert_eq!(l.tickets.len(), 1);
    let (_, writes) = portal.ticket_document(&id).unwrap().unwrap();
    assert!(portal.ticket_synced(&id, writes).unwrap());
    assert!(!open(&portal, &id).unwrap().ticket.pending);

    // The desk gets it: unassigned, and the client cannot work it.
    assert!(copy_ticket(&portal, &desk, &id));
    let l = list(&desk, TicketQuery::default());
    assert_eq!((l.tickets.len(), l.unassigned, l.mine), (1, 1, 0));
    assert_eq!(l.tickets[0].requester_name, "cleo");
    assert!(matches!(
        act(&portal, &id, TicketAction::Assign { to: None }),
        Err(ApiError::Refused { .. })
    ));

    // 20 minutes later dora takes it and answers in its conversation.
    dclock.advance(20 * MIN);
    let v = act(
        &desk,
        &id,
        TicketAction::Assign {
            to: Some("dora".into()),
        },
    )
    .unwrap();
    assert_eq!(v.ticket.assignee.as_deref(), Some("dora"));
    assert!(v.may_manage);
    assert_eq!(list(&desk, TicketQuery::default()).mine, 1);
    say(&desk, &id, "It is on the van now.");
    let v = act(
        &desk,
        &id,
        TicketAction::SetStatus {
            status: TicketStatus::Solved,
        },
    )
    .unwrap();
    assert_eq!(
        v.ticket.first_response,
        TimerState::Met { after_ms: 20 * MIN }
    );
    assert_eq!(v.ticket.resolution, TimerState::Met { after_ms: 20 * MIN });
    assert_eq!(v.chat.messages.len(), 1);
    assert!(
        v.history
            .iter()
            .any(|h| h.what == "assigned it to dora" && h.who == "dora"),
        "{:?}",
        v.history
    );

    // The client reads the answer and reopens; the resolution timer runs again.
    let chat = ruta_model::chat_doc::chat_id(&ChatLink::Ticket { ticket: id.clone() });
    assert!(copy_ticket(&desk, &portal, &id));
    assert!(copy_chat(&desk, &portal, &chat));
    pclock.advance(30 * MIN);
    let v = open(&portal, &id).unwrap();
    assert_eq!(v.ticket.status, TicketStatus::Solved);
    assert_eq!(v.chat.messages[0].text, "It is on the van now.");
    assert_eq!(v.ticket.unread, 1);
    let v = act(
        &portal,
        &id,
        TicketAction::SetStatus {
            status: TicketStatus::Open,
        },
    )
    .unwrap();
    assert_eq!(v.ticket.status, TicketStatus::Open);
    assert!(matches!(v.ticket.resolution, TimerState::Running { .. }));
    // Not "pending": that is the desk's to say.
    assert!(matches!(
        act(
            &portal,
            &id,
            TicketAction::SetStatus {
                status: TicketStatus::Pending
            }
        ),
        Err(ApiError::Refused { .. })
    ));
    // A day later nobody solved it again: breached.
    pclock.advance(24 * 60 * MIN);
    assert!(open(&portal, &id).unwrap().ticket.resolution.breached());
    assert!(
        act(
            &portal,
            &id,
            TicketAction::SetStatus {
                status: TicketStatus::Closed
            }
        )
        .is_ok()
    );
}

#[test]
fn what_a_ticket_may_name_and_who_may_open_one() {
    let (_a, portal, _) = open_at(NOW);
    let (_b, phone, _) = open_at(NOW);
    let (_c, desk, _) = open_at(NOW);
    session(&portal, "cleo", Role::Client);
    session(&phone, "cora", Role::Courier);
    session(&desk, "dora", Role::Dispatcher);

    // Another's order, or an order this device does not hold.
    let theirs = client_order(&desk);
    let oid = OrderId::new(theirs.clone());
    portal
        .merge_remote(&oid, &desk.doc_bytes(&oid).unwrap())
        .unwrap();
    let e = new_ticket(&portal, Some(theirs)).unwrap_err();
    assert!(
        matches!(&e, ApiError::Invalid { field, .. } if field == "order"),
        "{e:?}"
    );
    let e = new_ticket(&portal, Some("nope".into())).unwrap_err();
    assert!(
        matches!(&e, ApiError::Invalid { field, .. } if field == "order"),
        "{e:?}"
    );
    // Empty subject: named, nothing written.
    let e = portal
        .execute(Request::NewTicket(NewTicket {
            subject: " ".into(),
            message: "x".into(),
            category: TicketCategory::Other,
            priority: Priority::Normal,
            order: None,
            on_behalf_of: None,
        }))
        .unwrap_err();
    assert!(
        matches!(&e, ApiError::Invalid { field, .. } if field == "subject"),
        "{e:?}"
    );
    // A client never speaks for someone else.
    let e = portal
        .execute(Request::NewTicket(NewTicket {
            subject: "s".into(),
            message: "m".into(),
            category: TicketCategory::Other,
            priority: Priority::Normal,
            order: None,
            on_behalf_of: Some("olga".into()),
        }))
        .unwrap_err();
    assert!(
        matches!(&e, ApiError::Invalid { field, .. } if field == "on_behalf_of"),
        "{e:?}"
    );
    assert!(list(&portal, TicketQuery::default()).tickets.is_empty());

    // Couriers use chat.
    assert!(matches!(
        new_ticket(&phone, None),
        Err(ApiError::Refused { .. })
    ));
    assert!(
        phone
            .execute(Request::ListTickets(TicketQuery::default()))
            .is_err()
    );

    // An operator opens one for a client, and must say for whom.
    assert!(matches!(
        new_ticket(&desk, None),
        Err(ApiError::Invalid { field, .. }) if field == "on_behalf_of"
    ));
    let Response::Ticket(v) = desk
        .execute(Request::NewTicket(NewTicket {
            subject: "Called about invoice".into(),
            message: "Asked for a copy".into(),
            category: TicketCategory::Billing,
            priority: Priority::High,
            order: None,
            on_behalf_of: Some("cleo".into()),
        }))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(v.ticket.requester_name, "cleo");
    // Assigning to someone who is not an operator here is named.
    assert!(matches!(
        act(&desk, &v.ticket.id, TicketAction::Assign { to: Some("cora".into()) }),
        Err(ApiError::Invalid { field, .. }) if field == "to"
    ));
}

#[test]
fn the_desk_filters_by_status_assignee_category_priority_and_words() {
    let (_b, desk, _) = open_at(NOW);
    session(&desk, "dora", Role::Dispatcher);
    let mut ids = Vec::new();
    for (i, (subject, category, priority)) in [
        ("Broken vase", TicketCategory::Damage, Priority::Urgent),
        ("Invoice copy", TicketCategory::Billing, Priority::Low),
        ("Late parcel", TicketCategory::Delivery, Priority::Normal),
    ]
    .into_iter()
    .enumerate()
    {
        let Response::Ticket(v) = desk
            .execute(Request::NewTicket(NewTicket {
                subject: subject.into(),
                message: "m".into(),
                category,
                priority,
                order: None,
                on_behalf_of: Some(format!("client-{i}")),
            }))
            .unwrap()
        else {
            panic!()
        };
        ids.push(v.ticket.id);
    }
    act(
        &desk,
        &ids[2],
        TicketAction::Assign {
            to: Some("dora".into()),
        },
    )
    .unwrap();
    act(
        &desk,
        &ids[1],
        TicketAction::SetStatus {
            status: TicketStatus::Closed,
        },
    )
    .unwrap();
    let subjects = |q: TicketQuery| -> Vec<String> {
        list(&desk, q)
            .tickets
            .into_iter()
            .map(|t| t.subject)
            .collect()
    };
    // Most urgent first.
    assert_eq!(
        subjects(TicketQuery::default()),
        ["Broken vase", "Late parcel", "Invoice copy"]
    );
    assert_eq!(
        subjects(TicketQuery {
            statuses: vec![TicketStatus::Open, TicketStatus::Pending],
            ..Default::default()
        }),
        ["Broken vase", "Late parcel"]
    );
    assert_eq!(
        subjects(TicketQuery {
            assignee: Some("-".into()),
            ..Default::default()
        }),
        ["Broken vase", "Invoice copy"]
    );
    assert_eq!(
        subjects(TicketQuery {
            assignee: Some("dora".into()),
            ..Default::default()
        }),
        ["Late parcel"]
    );
    assert_eq!(
        subjects(TicketQuery {
            category: Some(TicketCategory::Billing),
            ..Default::default()
        }),
        ["Invoice copy"]
    );
    assert_eq!(
        subjects(TicketQuery {
            min_priority: Some(Priority::High),
            ..Default::default()
        }),
        ["Broken vase"]
    );
    let reference = ruta_model::ticket_doc::reference_of(&ids[1]);
    assert_eq!(
        subjects(TicketQuery {
            search: Some(reference.to_lowercase()),
            ..Default::default()
        }),
        ["Invoice copy"]
    );
    assert_eq!(
        subjects(TicketQuery {
            search: Some("VASE client-0".into()),
            ..Default::default()
        }),
        ["Broken vase"]
    );
    let l = list(&desk, TicketQuery::default());
    assert_eq!((l.unassigned, l.mine), (1, 1));
}

fn notices(core: &Core) -> app_api::notify::NotificationList {
    match core.execute(Request::Notifications).unwrap() {
        Response::Notifications(l) => l,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_desk_hears_of_new_and_assigned_tickets_and_the_client_of_the_answer() {
    use app_api::notify::{NoticeKind, NoticeTarget};
    let (_a, portal, _) = open_at(NOW);
    let (_b, dora, _) = open_at(NOW + MIN);
    let (_c, dan, _) = open_at(NOW + 2 * MIN);
    session(&portal, "cleo", Role::Client);
    session(&dora, "dora", Role::Dispatcher);
    session(&dan, "dan", Role::Dispatcher);
    dora.set_staff_directory(&[
        app_api::CourierInfo {
            user: "dan".into(),
            name: "Dan Desk".into(),
        },
        app_api::CourierInfo {
            user: "dora".into(),
            name: "Dora".into(),
        },
    ])
    .unwrap();
    let id = new_ticket(&portal, None).unwrap().ticket.id;
    copy_ticket(&portal, &dora, &id);
    let n = notices(&dora);
    let new: Vec<_> = n
        .items
        .iter()
        .filter(|n| n.kind == NoticeKind::Ticket)
        .collect();
    assert_eq!(new.len(), 1, "{n:?}");
    assert!(
        new[0].title.starts_with("New ticket T-"),
        "{}",
        new[0].title
    );
    assert_eq!(new[0].target, NoticeTarget::Ticket { ticket: id.clone() });
    assert!(!new[0].read);

    // dora gives it to dan: dan hears of it, by name; dora does not of her own doing.
    let v = act(
        &dora,
        &id,
        TicketAction::Assign {
            to: Some("dan".into()),
        },
    )
    .unwrap();
    assert_eq!(v.ticket.assignee_name.as_deref(), Some("Dan Desk"));
    assert!(
        v.assignable
            .iter()
            .any(|(u, n)| u == "dan" && n == "Dan Desk")
    );
    copy_ticket(&dora, &dan, &id);
    let n = notices(&dan);
    assert!(
        n.items
            .iter()
            .any(|x| x.kind == NoticeKind::Ticket && x.title.ends_with("assigned to you")),
        "{n:?}"
    );
    assert!(
        !notices(&dora)
            .items
            .iter()
            .any(|x| x.title.ends_with("assigned to you"))
    );

    // dan answers; cleo's notice opens the ticket.
    say(&dan, &id, "Looking into it");
    let chat = ruta_model::chat_doc::chat_id(&ChatLink::Ticket { ticket: id.clone() });
    copy_chat(&dan, &portal, &chat);
    let n = notices(&portal);
    let answer = n
        .items
        .iter()
        .find(|x| x.body == "Looking into it")
        .unwrap_or_else(|| panic!("{n:?}"));
    assert_eq!(answer.kind, NoticeKind::Ticket);
    assert_eq!(answer.target, NoticeTarget::Ticket { ticket: id });
}

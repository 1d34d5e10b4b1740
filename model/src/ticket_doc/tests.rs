//! Ticket rules: the state, who may do what, the guard, two devices writing
//! apart, timers and references.

use super::*;
use automerge::AutoCommit;
use ruta_domain::hlc::node_of;

fn actor(user: &str, role: Role, device: &str) -> Actor {
    Actor {
        user: UserId::new(user),
        role,
        device: DeviceId::new(device),
    }
}

const DESK: &str = "d1d1d1d1d1d1d1d1";
const PORTAL: &str = "e1e1e1e1e1e1e1e1";

fn desk() -> Actor {
    actor("d1", Role::Dispatcher, DESK)
}
fn cleo() -> Actor {
    actor("cleo", Role::Client, PORTAL)
}
fn p(a: &Actor) -> Principal {
    Principal {
        user: a.user.clone(),
        role: a.role,
    }
}
fn ev(a: &Actor, wall_ms: i64, change: TicketChange) -> TicketEvent {
    TicketEvent {
        at: Hlc {
            wall_ms,
            counter: 0,
            node: node_of(a.device.as_str()),
        },
        actor: a.clone(),
        change,
    }
}
fn cleo_req() -> Requester {
    Requester::User {
        user: "cleo".into(),
    }
}
fn opened(requester: Requester, order: Option<&str>) -> TicketChange {
    TicketChange::Opened {
        subject: "Parcel late".into(),
        message: "Where is my parcel?".into(),
        category: TicketCategory::Delivery,
        priority: Priority::Normal,
        requester,
        order: order.map(str::to_owned),
    }
}
fn status(s: TicketStatus) -> TicketChange {
    TicketChange::StatusSet { status: s }
}

#[test]
fn a_ticket_is_opened_worked_and_solved_and_its_requester_may_reopen_it() {
    let events = vec![
        ev(&cleo(), 1_000, opened(cleo_req(), Some("o-1"))),
        ev(
            &desk(),
            2_000,
            TicketChange::Assigned {
                to: Some(UserId::new("d1")),
            },
        ),
        ev(
            &desk(),
            3_000,
            TicketChange::PrioritySet {
                priority: Priority::High,
            },
        ),
        ev(&desk(), 4_000, status(TicketStatus::Solved)),
    ];
    let st = derive(&events).unwrap();
    assert_eq!(st.status, TicketStatus::Solved);
    assert_eq!(st.assignee.as_ref().map(|u| u.as_str()), Some("d1"));
    assert_eq!(st.priority, Priority::High);
    assert_eq!(st.order.as_deref(), Some("o-1"));
    assert_eq!(st.resolved_at.map(|h| h.wall_ms), Some(4_000));
    assert_eq!(st.history.len(), 3);

    let mut more = events.clone();
    more.push(ev(&cleo(), 5_000, status(TicketStatus::Open)));
    let st = derive(&more).unwrap();
    assert_eq!(st.status, TicketStatus::Open, "reopened");
    assert_eq!(st.resolved_at, None, "the resolution timer runs again");

    // A requester may not reopen what is not solved, nor assign.
    let mut bad = more.clone();
    bad.push(ev(&cleo(), 6_000, status(TicketStatus::Open)));
    bad.push(ev(&cleo(), 7_000, TicketChange::Assigned { to: None }));
    bad.push(ev(&cleo(), 8_000, status(TicketStatus::Pending)));
    let st = derive(&bad).unwrap();
    assert_eq!(st.assignee.as_ref().map(|u| u.as_str()), Some("d1"));
    assert_eq!(st.status, TicketStatus::Open);
    assert_eq!(st.ignored.len(), 3, "{:?}", st.ignored);
}

#[test]
fn nothing_counts_before_the_opening_and_a_second_opening_is_set_aside() {
    let events = vec![
        ev(&desk(), 500, status(TicketStatus::Solved)),
        ev(&cleo(), 1_000, opened(cleo_req(), None)),
        ev(&desk(), 2_000, opened(cleo_req(), None)),
    ];
    let st = derive(&events).unwrap();
    assert_eq!(st.status, TicketStatus::Open);
    assert_eq!(st.opened_by, cleo());
    assert_eq!(st.ignored.len(), 2);
    assert!(derive(&[ev(&desk(), 1, status(TicketStatus::Open))]).is_none());
}

#[test]
fn a_guests_answer_puts_a_waiting_ticket_back_on_the_desk() {
    let shop = actor(STOREFRONT_USER, Role::Client, "5e5e5e5e5e5e5e5e");
    let guest = Requester::Guest {
        name: "Greta".into(),
        email: "greta@example.com".into(),
    };
    let events = vec![
        ev(&shop, 1_000, opened(guest, None)),
        ev(&desk(), 2_000, status(TicketStatus::Pending)),
        ev(
            &shop,
            3_000,
            TicketChange::GuestReplied {
                text: "Still nothing".into(),
            },
        ),
        // Only the storefront speaks for a guest.
        ev(
            &desk(),
            4_000,
            TicketChange::GuestReplied {
                text: "forged".into(),
            },
        ),
    ];
    let st = derive(&events).unwrap();
    assert_eq!(st.status, TicketStatus::Open);
    assert_eq!(st.guest_replies.len(), 1);
    assert_eq!(st.requester_user(), None);
}

#[test]
fn opening_checks_name_the_field() {
    let mut o = opened(cleo_req(), None);
    if let TicketChange::Opened { subject, .. } = &mut o {
        *subject = "  ".into();
    }
    assert_eq!(validate(&o).unwrap_err().field, "subject");
    let mut o = opened(
        Requester::Guest {
            name: "G".into(),
            email: "not-an-address".into(),
        },
        None,
    );
    assert_eq!(validate(&o).unwrap_err().field, "email");
    if let TicketChange::Opened { message, .. } = &mut o {
        *message = "x".repeat(MAX_MESSAGE + 1);
    }
    assert_eq!(validate(&o).unwrap_err().field, "message");
    assert!(plausible_email("a.b@shop.example.fi"));
    for bad in ["a@b", "@b.fi", "a b@c.fi", "a@.fi", "a@b.fi."] {
        assert!(!plausible_email(bad), "{bad}");
    }
}

fn doc_with(requester: &Requester, by: &Actor, events: &[TicketEvent]) -> TicketDoc {
    let mut d = create(requester, &by.device).unwrap();
    for e in events {
        d.append(e).unwrap();
    }
    d
}

fn empty() -> AutoCommit {
    AutoCommit::new()
}

#[test]
fn the_guard_takes_a_clients_own_ticket_and_refuses_what_is_not_theirs_to_do() {
    let mine = |o: &str| o == "o-mine";
    // Their own ticket about their own order.
    let d = doc_with(
        &cleo_req(),
        &cleo(),
        &[ev(&cleo(), 1_000, opened(cleo_req(), Some("o-mine")))],
    );
    let added = check_write(&empty(), d.automerge(), &p(&cleo()), &mine).unwrap();
    assert_eq!(added.len(), 1);

    // Someone else's order.
    let d = doc_with(
        &cleo_req(),
        &cleo(),
        &[ev(&cleo(), 1_000, opened(cleo_req(), Some("o-other")))],
    );
    assert!(matches!(
        check_write(&empty(), d.automerge(), &p(&cleo()), &mine),
        Err(TicketRefusal::NotTheirOrder { .. })
    ));

    // For someone else.
    let other = Requester::User {
        user: "olga".into(),
    };
    let d = doc_with(
        &other,
        &cleo(),
        &[ev(&cleo(), 1_000, opened(other.clone(), None))],
    );
    assert!(matches!(
        check_write(&empty(), d.automerge(), &p(&cleo()), &mine),
        Err(TicketRefusal::NotPermitted { .. })
    ));

    // A root naming another requester than the opening.
    let d = doc_with(
        &other,
        &desk(),
        &[ev(&desk(), 1_000, opened(cleo_req(), None))],
    );
    assert!(matches!(
        check_write(&empty(), d.automerge(), &p(&desk()), &mine),
        Err(TicketRefusal::WrongRequester { .. })
    ));

    // A guest's ticket from a device.
    let guest = Requester::Guest {
        name: "G".into(),
        email: "g@example.com".into(),
    };
    let d = doc_with(
        &guest,
        &desk(),
        &[ev(&desk(), 1_000, opened(guest.clone(), None))],
    );
    assert!(check_write(&empty(), d.automerge(), &p(&desk()), &mine).is_err());

    // A new ticket without its opening.
    let d = doc_with(
        &cleo_req(),
        &desk(),
        &[ev(&desk(), 1_000, status(TicketStatus::Solved))],
    );
    assert!(check_write(&empty(), d.automerge(), &p(&desk()), &mine).is_err());
}

#[test]
fn the_guard_lets_the_requester_close_and_reopen_only_and_operators_work_it() {
    let mine = |_: &str| true;
    let mut d = doc_with(
        &cleo_req(),
        &cleo(),
        &[ev(&cleo(), 1_000, opened(cleo_req(), None))],
    );
    let base = d.automerge().clone();
    let try_add = |who: &Actor, change: TicketChange| {
        let mut after = load(&base.clone().save(), &who.device).unwrap();
        after.append(&ev(who, 2_000, change)).unwrap();
        check_write(&base, after.automerge(), &p(who), &mine)
    };
    assert!(try_add(&cleo(), status(TicketStatus::Closed)).is_ok());
    assert!(try_add(&cleo(), status(TicketStatus::Open)).is_ok());
    for change in [
        status(TicketStatus::Solved),
        TicketChange::Assigned { to: None },
        TicketChange::CategorySet {
            category: TicketCategory::Billing,
        },
        opened(cleo_req(), None),
        TicketChange::GuestReplied { text: "x".into() },
    ] {
        assert!(
            matches!(
                try_add(&cleo(), change.clone()),
                Err(TicketRefusal::NotPermitted { .. })
            ),
            "{change:?}"
        );
    }
    assert!(
        try_add(
            &desk(),
            TicketChange::Assigned {
                to: Some(UserId::new("d2"))
            }
        )
        .is_ok()
    );
    assert!(try_add(&desk(), status(TicketStatus::Pending)).is_ok());
    assert!(try_add(&desk(), TicketChange::GuestReplied { text: "x".into() }).is_err());
    assert!(try_add(&desk(), opened(cleo_req(), None)).is_err());

    // History is append-only.
    let mut changed = d.automerge().clone();
    let ev_obj = event_doc::events_of(&changed, SHAPE).unwrap();
    let key = event_doc::raw_entries(&changed, &ev_obj)
        .keys()
        .next()
        .unwrap()
        .clone();
    automerge::transaction::Transactable::put(&mut changed, &ev_obj, key.as_str(), "{}").unwrap();
    assert!(matches!(
        check_write(&base, &changed, &p(&desk()), &mine),
        Err(TicketRefusal::Append(_))
    ));
    let _ = d.save();
}

#[test]
fn a_requester_closing_offline_while_the_desk_solves_keeps_both_writes() {
    let open = ev(&cleo(), 1_000, opened(cleo_req(), None));
    let mut phone = doc_with(&cleo_req(), &cleo(), std::slice::from_ref(&open));
    let mut desk_doc = load(&phone.save(), &desk().device).unwrap();
    desk_doc
        .append(&ev(&desk(), 2_000, status(TicketStatus::Solved)))
        .unwrap();
    phone
        .append(&ev(&cleo(), 2_500, status(TicketStatus::Closed)))
        .unwrap();
    let desk_bytes = desk_doc.save();
    phone.merge_bytes(&desk_bytes).unwrap();
    desk_doc.merge_bytes(&phone.save()).unwrap();
    let a = derive(&phone.events()).unwrap();
    let b = derive(&desk_doc.events()).unwrap();
    assert_eq!(a, b, "the same on both");
    assert_eq!(a.status, TicketStatus::Closed);
    assert_eq!(a.resolved_at.map(|h| h.wall_ms), Some(2_000));
    assert!(a.ignored.is_empty());
}

#[test]
fn timers_run_are_met_or_breached() {
    assert_eq!(
        timer(0, None, 60_000, 20_000),
        TimerState::Running { left_ms: 40_000 }
    );
    assert_eq!(
        timer(0, None, 60_000, 90_000),
        TimerState::Breached { over_ms: 30_000 }
    );
    assert_eq!(
        timer(0, Some(10_000), 60_000, 90_000),
        TimerState::Met { after_ms: 10_000 }
    );
    assert!(timer(0, Some(70_000), 60_000, 90_000).breached());
}

#[test]
fn references_and_facts_come_from_the_id_and_the_root() {
    assert_eq!(
        reference_of("3f2a9c01-aaaa-4bbb-8ccc-dddddddddddd"),
        "T-3F2A9C01"
    );
    let d = doc_with(&cleo_req(), &cleo(), &[]);
    assert_eq!(
        facts_of(d.automerge()),
        Some(DocFacts::Ticket {
            requester: Some(UserId::new("cleo"))
        })
    );
    let g = doc_with(
        &Requester::Guest {
            name: "G".into(),
            email: "g@example.com".into(),
        },
        &desk(),
        &[],
    );
    assert_eq!(
        facts_of(g.automerge()),
        Some(DocFacts::Ticket { requester: None })
    );
    assert!(is_ticket_doc(g.automerge()));
}

#[test]
fn a_reply_secret_opens_only_its_own_ticket() {
    let key = b"0123456789abcdef0123456789abcdef";
    let t = reply_token(key, "t-1");
    assert_eq!(t.len(), 32);
    assert!(reply_token_ok(key, "t-1", &t));
    assert!(reply_token_ok(key, "t-1", &t.to_uppercase()));
    assert!(!reply_token_ok(key, "t-2", &t));
    assert!(!reply_token_ok(b"another key", "t-1", &t));
    assert!(!reply_token_ok(key, "t-1", &t[..31]));
}

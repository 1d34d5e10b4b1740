//! Cash remittance through `Core::execute` on real stores: cash collected at
//! a door, a hand-over declared, received short, settled; who may do what;
//! a phone and an offline desk that both record one hand-over.

use app_api::cash::{CashAction, CashLedgerView, CashResolution, HandoverStatus};
use app_api::config::{ConfigChange, Tariff};
use app_api::{Action, ApiError, CapturePodRequest, NewOrder, Request, Response, Role};

use crate::Core;
use crate::engine::test_support::{act, open_at, session, signature};

const NOW: i64 = 1_780_000_000_000;

/// An order with `cod` cents to collect, delivered by `aki` who took the cash.
fn delivered_with_cash(core: &Core, cod: i64) -> String {
    session(core, "dana", Role::Dispatcher);
    let new = NewOrder::simple("Aino Virtanen", "Kaivokatu 1", "Fredrikinkatu 32");
    let Response::Order(o) = core.execute(Request::CreateOrder(new)).unwrap() else {
        panic!()
    };
    act(core, &o.id, Action::SetCod { cents: cod });
    act(
        core,
        &o.id,
        Action::Assign {
            courier: "aki".into(),
        },
    );
    session(core, "aki", Role::Courier);
    act(core, &o.id, Action::PickUp);
    core.execute(Request::CapturePod(CapturePodRequest {
        order_id: o.id.clone(),
        signature: Some(signature()),
        collect_cod_cents: Some(cod),
        deliver: true,
        ..Default::default()
    }))
    .unwrap();
    o.id
}

fn cash(core: &Core, action: CashAction) -> Result<CashLedgerView, ApiError> {
    match core.execute(Request::CashAct(action))? {
        Response::CashLedger(l) => Ok(l),
        other => panic!("{other:?}"),
    }
}

fn ledger(core: &Core, courier: &str) -> CashLedgerView {
    match core
        .execute(Request::CashLedger {
            courier: Some(courier.into()),
        })
        .unwrap()
    {
        Response::CashLedger(l) => l,
        other => panic!("{other:?}"),
    }
}

fn code(e: &ApiError) -> String {
    match e {
        ApiError::Refused { code, .. } => code.clone(),
        ApiError::Invalid { field, .. } => format!("invalid:{field}"),
        other => format!("{other:?}"),
    }
}

#[test]
fn a_short_hand_over_is_a_discrepancy_until_settled() {
    let (_dir, core, _) = open_at(NOW);
    delivered_with_cash(&core, 2_450);
    delivered_with_cash(&core, 1_000);
    // The courier's phone: what they collected, nothing handed over yet.
    session(&core, "aki", Role::Courier);
    let l = ledger(&core, "aki");
    assert_eq!(l.position.collected_cents, 3_450);
    assert_eq!(l.position.outstanding_cents, 3_450);
    assert_eq!(l.collections.len(), 2);
    assert!(l.handovers.is_empty());
    let l = cash(
        &core,
        CashAction::Declare {
            cents: 3_450,
            note: "evening drop".into(),
        },
    )
    .unwrap();
    let h = &l.handovers[0];
    assert_eq!(h.status, HandoverStatus::Declared);
    assert_eq!(l.position.pending_cents, 3_450);
    assert!(l.pending_sync, "written here, not yet confirmed");
    let qr = h
        .qr_payload
        .clone()
        .expect("a waiting hand-over shows its code");

    // The desk scans the code and counts 50 short.
    session(&core, "dana", Role::Dispatcher);
    let l = cash(
        &core,
        CashAction::Receive {
            code: Some(qr.clone()),
            courier: None,
            cents: 3_400,
            declared_cents: None,
            note: String::new(),
        },
    )
    .unwrap();
    let h = l.handovers[0].clone();
    assert_eq!(h.status, HandoverStatus::Discrepancy);
    assert_eq!(h.difference_cents, Some(-50));
    assert_eq!(l.position.outstanding_cents, 50, "never netted silently");
    assert_eq!(l.position.open_discrepancies, 1);
    // Scanning the same code again on this desk is refused.
    let again = CashAction::Receive {
        code: Some(qr),
        courier: None,
        cents: 3_400,
        declared_cents: None,
        note: String::new(),
    };
    assert_eq!(code(&cash(&core, again).unwrap_err()), "already_received");
    // The positions board puts the open discrepancy first.
    let Response::CashPositions { positions } = core.execute(Request::CashPositions).unwrap()
    else {
        panic!()
    };
    assert_eq!(positions[0].courier, "aki");
    assert_eq!(positions[0].open_discrepancies, 1);
    // Settled: written off, nothing owed; settling again is refused.
    let resolve = |resolution| CashAction::Resolve {
        courier: "aki".into(),
        handover: h.id.clone(),
        resolution,
        note: "coins short".into(),
    };
    let l = cash(&core, resolve(CashResolution::WrittenOff)).unwrap();
    assert_eq!(l.handovers[0].status, HandoverStatus::Settled);
    assert_eq!(l.position.outstanding_cents, 0);
    assert_eq!(l.position.written_off_cents, 50);
    assert_eq!(
        code(&cash(&core, resolve(CashResolution::ChargedToCourier)).unwrap_err()),
        "nothing_to_settle"
    );
}

#[test]
fn nobody_records_what_is_not_theirs_to_record() {
    let (_dir, core, _) = open_at(NOW);
    delivered_with_cash(&core, 1_000);
    let receive = |code: Option<&str>, courier: Option<&str>, cents: i64| CashAction::Receive {
        code: code.map(str::to_owned),
        courier: courier.map(str::to_owned),
        cents,
        declared_cents: None,
        note: String::new(),
    };
    // A courier cannot record a receipt, not even of their own cash.
    session(&core, "aki", Role::Courier);
    assert_eq!(
        code(&cash(&core, receive(None, Some("aki"), 1_000)).unwrap_err()),
        "operators_only"
    );
    // A courier asking for another courier's ledger gets their own.
    assert_eq!(ledger(&core, "beni").position.courier, "aki");
    // Bad amounts name their field; nothing is written.
    assert_eq!(
        code(
            &cash(
                &core,
                CashAction::Declare {
                    cents: -5,
                    note: String::new()
                }
            )
            .unwrap_err()
        ),
        "invalid:cents"
    );
    assert!(ledger(&core, "aki").handovers.is_empty());
    // A dispatcher cannot declare for a courier.
    session(&core, "dana", Role::Dispatcher);
    assert_eq!(
        code(
            &cash(
                &core,
                CashAction::Declare {
                    cents: 5,
                    note: String::new()
                }
            )
            .unwrap_err()
        ),
        "couriers_only"
    );
    // A receipt says whose cash it is: a code, or a courier.
    assert_eq!(
        code(&cash(&core, receive(None, None, 1_000)).unwrap_err()),
        "invalid:courier"
    );
    assert_eq!(
        code(&cash(&core, receive(Some("ruta-stop:1:x:y"), None, 1_000)).unwrap_err()),
        "invalid:code"
    );
    assert_eq!(
        code(
            &cash(
                &core,
                receive(Some("ruta-cash:1:aki:H-1:1000"), Some("beni"), 1_000)
            )
            .unwrap_err()
        ),
        "invalid:courier"
    );
    // A client sees no courier's cash.
    session(&core, "kim", Role::Client);
    let e = core
        .execute(Request::CashLedger {
            courier: Some("aki".into()),
        })
        .unwrap_err();
    assert_eq!(code(&e), "forbidden");
    let e = core.execute(Request::CashPositions).unwrap_err();
    assert_eq!(code(&e), "forbidden");
}

#[test]
fn over_the_cash_limit_is_flagged() {
    let (_dir, core, _) = open_at(NOW);
    delivered_with_cash(&core, 6_000);
    session(&core, "ada", Role::Admin);
    core.execute(Request::ChangeConfig(ConfigChange::SetTariff(Tariff {
        cash_limit_cents: Some(5_000),
        ..Tariff::default()
    })))
    .unwrap();
    session(&core, "dana", Role::Dispatcher);
    let l = ledger(&core, "aki");
    assert!(l.position.over_limit, "{:?}", l.position);
    assert_eq!(l.position.limit_cents, Some(5_000));
    assert_eq!(core.couriers_over_cash_limit(), vec!["aki".to_string()]);
    // The driver monitor flags them too.
    let Response::Fleet(board) = core.execute(Request::Fleet).unwrap() else {
        panic!()
    };
    let aki = board
        .couriers
        .iter()
        .find(|c| c.user == "aki")
        .expect("aki on the board");
    assert!(aki.over_cash_limit);
    assert_eq!(aki.cash_in_hand_cents, 6_000);
    // A hand-over received in full clears the flag.
    cash(
        &core,
        CashAction::Receive {
            code: None,
            courier: Some("aki".into()),
            cents: 6_000,
            declared_cents: Some(6_000),
            note: String::new(),
        },
    )
    .unwrap();
    assert!(!ledger(&core, "aki").position.over_limit);
    assert!(core.couriers_over_cash_limit().is_empty());
}

#[test]
fn a_phone_and_an_offline_desk_record_one_hand_over() {
    let (_d1, phone, _) = open_at(NOW);
    let (_d2, desk, _) = open_at(NOW + 5);
    session(&phone, "aki", Role::Courier);
    let l = cash(
        &phone,
        CashAction::Declare {
            cents: 5_000,
            note: String::new(),
        },
    )
    .unwrap();
    let declared = l.handovers[0].id.clone();
    // The desk has never seen the ledger: it types what the courier says.
    session(&desk, "dana", Role::Dispatcher);
    cash(
        &desk,
        CashAction::Receive {
            code: None,
            courier: Some("aki".into()),
            cents: 4_800,
            declared_cents: Some(5_000),
            note: "typed, link down".into(),
        },
    )
    .unwrap();
    // They meet: each merges the other's whole document.
    let id = ruta_model::cash_doc::ledger_id(&crate::domain::UserId::new("aki"));
    let (from_phone, _) = phone.cash_document(&id).unwrap().unwrap();
    let (from_desk, _) = desk.cash_document(&id).unwrap().unwrap();
    assert!(desk.merge_cash(&id, &from_phone).unwrap());
    assert!(phone.merge_cash(&id, &from_desk).unwrap());
    let on_desk = ledger(&desk, "aki");
    let on_phone = ledger(&phone, "aki");
    assert_eq!(on_desk.handovers, on_phone.handovers);
    assert_eq!(on_desk.handovers.len(), 1, "{:?}", on_desk.handovers);
    let h = &on_desk.handovers[0];
    assert_eq!(h.id, declared);
    assert!(h.paired_receipt.is_some(), "the pairing is shown");
    assert_eq!(h.status, HandoverStatus::Discrepancy);
    assert_eq!(h.difference_cents, Some(-200));
    // A document that is not that courier's ledger is refused.
    let other = ruta_model::cash_doc::ledger_id(&crate::domain::UserId::new("beni"));
    assert!(desk.merge_cash(&other, &from_phone).is_err());
}

#[test]
fn the_days_remittance_statement_adds_up() {
    let (_dir, core, _) = open_at(NOW);
    let order = delivered_with_cash(&core, 6_000);
    session(&core, "dana", Role::Dispatcher);
    cash(
        &core,
        CashAction::Receive {
            code: None,
            courier: Some("aki".into()),
            cents: 5_500,
            declared_cents: Some(6_000),
            note: String::new(),
        },
    )
    .unwrap();
    let tz = jiff::tz::TimeZone::get("Europe/Helsinki").unwrap();
    let at = jiff::Timestamp::from_millisecond(NOW).unwrap().to_zoned(tz);
    let day = at.date().to_string();
    let hhmm = format!("{:02}:{:02}", at.hour(), at.minute());
    let doc = |day: &str, csv: bool| {
        core.execute(Request::Document(app_api::DocumentRequest::Remittance {
            courier: "aki".into(),
            day: day.into(),
            csv,
        }))
    };
    let Response::Document(f) = doc(&day, true).unwrap() else {
        panic!()
    };
    use base64::Engine as _;
    let text = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(f.data_base64)
            .unwrap(),
    )
    .unwrap();
    let Response::OrderDetail(d) = core.execute(Request::GetOrder { order_id: order }).unwrap()
    else {
        panic!()
    };
    let line = |section: &str| {
        text.lines()
            .find(|l| l.starts_with(section))
            .unwrap_or_else(|| panic!("no {section} in {text}"))
            .to_owned()
    };
    let collection = line("collection");
    assert!(collection.contains(&d.summary.reference), "{collection}");
    assert!(
        collection.contains(&hhmm),
        "the local time of day: {collection}"
    );
    assert!(line("handover").contains("-5.00"), "{text}");
    assert!(line("opening").contains("0.00"), "{text}");
    assert!(line("closing").contains("5.00"), "{text}");
    // The PDF of the same day, and a bad day named as such.
    let Response::Document(pdf) = doc(&day, false).unwrap() else {
        panic!()
    };
    assert_eq!(pdf.mime, "application/pdf");
    assert_eq!(code(&doc("28.5.2026", false).unwrap_err()), "invalid:day");
    // The day before: nothing happened, the same cash in hand at open and close.
    let before = at.date().yesterday().unwrap().to_string();
    let Response::Document(f) = doc(&before, true).unwrap() else {
        panic!()
    };
    let text = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(f.data_base64)
            .unwrap(),
    )
    .unwrap();
    assert!(!text.contains("collection,"), "{text}");
}

//! Waybills through `Core::execute` on real stores: made from orders, one
//! open waybill per order, a scan that moves every order on it (each judged
//! by its lifecycle), the PDF, two desks apart.

use app_api::waybills::{NewWaybill, WaybillAction, WaybillStatus, WaybillStep, WaybillView};
use app_api::{ApiError, DeliveryStatus, DocumentRequest, NewOrder, Request, Response, Role};

use crate::Core;
use crate::engine::test_support::{open_at, session};

const NOW: i64 = 1_780_000_000_000;

/// The admin sets up the Tampere hub (`tre`) the waybills arrive at.
fn hub(core: &Core) {
    use app_api::config::{ConfigChange, Warehouse, WarehouseUses};
    session(core, "ada", Role::Admin);
    core.execute(Request::ChangeConfig(ConfigChange::PutWarehouse(
        Warehouse {
            id: "tre".into(),
            name: "Tampere hub".into(),
            address: "Hämeenkatu 5, Tampere".into(),
            position: app_api::Point {
                lat: 61.4981,
                lon: 23.7610,
            },
            uses: WarehouseUses {
                staging: true,
                ..Default::default()
            },
            opening_hours: String::new(),
        },
    )))
    .unwrap();
    session(core, "dana", Role::Dispatcher);
}

fn order(core: &Core, name: &str) -> String {
    let Response::Order(o) = core
        .execute(Request::CreateOrder(NewOrder::simple(
            name,
            "Tikkurilantie 1, Vantaa",
            "Hämeenkatu 5, Tampere",
        )))
        .unwrap()
    else {
        panic!()
    };
    o.id
}

fn waybill(core: &Core, orders: &[String]) -> Result<WaybillView, ApiError> {
    match core.execute(Request::CreateWaybill(NewWaybill {
        origin: "Vantaa hub".into(),
        destination: "Tampere hub".into(),
        destination_warehouse: Some("tre".into()),
        carrier: "Linehaul Oy".into(),
        seal: Some("S-77".into()),
        reference: None,
        order_ids: orders.to_vec(),
    }))? {
        Response::Waybill(w) => Ok(w),
        other => panic!("{other:?}"),
    }
}

fn act(core: &Core, id: &str, action: WaybillAction) -> Result<WaybillView, ApiError> {
    match core.execute(Request::WaybillAct {
        waybill_id: id.into(),
        action,
    })? {
        Response::Waybill(w) => Ok(w),
        other => panic!("{other:?}"),
    }
}

fn refusal(e: &ApiError) -> String {
    match e {
        ApiError::Refused { code, .. } => code.clone(),
        ApiError::Invalid { field, .. } => format!("invalid:{field}"),
        other => format!("{other:?}"),
    }
}

#[test]
fn a_scan_moves_every_order_on_the_waybill() {
    let (_dir, core, _) = open_at(NOW);
    hub(&core);
    let orders: Vec<String> = ["Aino", "Bertta", "Cecilia"]
        .iter()
        .map(|n| order(&core, n))
        .collect();
    // Two parcels were collected and brought to the Vantaa hub's dock; the
    // third never was (still pending).
    for o in &orders[..2] {
        act_order(
            &core,
            o,
            app_api::Action::Assign {
                courier: "aki".into(),
            },
        );
        session(&core, "aki", Role::Courier);
        act_order(&core, o, app_api::Action::PickUp);
        session(&core, "dana", Role::Dispatcher);
    }
    let w = waybill(&core, &orders[..2]).unwrap();
    assert_eq!(w.status, WaybillStatus::Open);
    assert_eq!(w.orders.len(), 2);
    assert!(w.number.starts_with("WB-"), "{}", w.number);
    // An order is on one open waybill at a time.
    let e = waybill(&core, &orders[1..]).unwrap_err();
    assert_eq!(refusal(&e), "on_another_waybill");
    // Added and removed while open.
    let w = act(
        &core,
        &w.id,
        WaybillAction::AddOrders {
            order_ids: vec![orders[2].clone()],
        },
    )
    .unwrap();
    assert_eq!(w.orders.len(), 3);
    let w = act(
        &core,
        &w.id,
        WaybillAction::RemoveOrder {
            order_id: orders[0].clone(),
        },
    )
    .unwrap();
    assert_eq!(w.orders.len(), 2);
    // Arrival before dispatch is refused; nothing is written.
    let e = act(
        &core,
        &w.id,
        WaybillAction::Step {
            step: WaybillStep::Arrive,
        },
    )
    .unwrap_err();
    assert_eq!(refusal(&e), "waybill_refused");
    // Dispatched by scanning its code: a note on each order.
    let Response::Waybill(d) = core
        .execute(Request::ScanWaybill {
            code: format!(" {} ", w.number),
            step: WaybillStep::Dispatch,
        })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(d.status, WaybillStatus::Dispatched);
    assert_eq!(d.step_results.len(), 2);
    assert!(d.step_results.iter().all(|r| r.ok), "{:?}", d.step_results);
    // No edits once dispatched.
    let e = act(
        &core,
        &w.id,
        WaybillAction::AddOrders {
            order_ids: vec![orders[0].clone()],
        },
    )
    .unwrap_err();
    assert_eq!(refusal(&e), "waybill_refused");
    // Arrival receives each order into the destination warehouse, judged by
    // its lifecycle: a cancelled order refuses, the other is received.
    act_order(
        &core,
        &orders[2],
        app_api::Action::Cancel {
            reason: "client called".into(),
        },
    );
    let a = act(
        &core,
        &w.id,
        WaybillAction::Step {
            step: WaybillStep::Arrive,
        },
    )
    .unwrap();
    assert_eq!(a.status, WaybillStatus::Arrived);
    let ok: Vec<bool> = a.step_results.iter().map(|r| r.ok).collect();
    assert_eq!(ok, vec![true, false], "{:?}", a.step_results);
    assert!(!a.step_results[1].message.is_empty());
    let Response::OrderDetail(d) = core
        .execute(Request::GetOrder {
            order_id: orders[1].clone(),
        })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(d.summary.status, DeliveryStatus::AtHub);
    // The hub's inventory: what is there now, since when, in which hub.
    let Response::HubInventory(inv) = core
        .execute(Request::HubInventory { warehouse: None })
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(inv.items.len(), 1, "{inv:?}");
    assert_eq!(inv.items[0].order_id, orders[1]);
    assert_eq!(inv.items[0].warehouse.as_deref(), Some("tre"));
    assert_eq!(inv.items[0].warehouse_name, "Tampere hub");
    assert_eq!(inv.items[0].since_ms, NOW);
    assert_eq!(inv.hubs, vec![("tre".into(), "Tampere hub".into(), 1)]);
    let Response::HubInventory(other) = core
        .execute(Request::HubInventory {
            warehouse: Some("hki".into()),
        })
        .unwrap()
    else {
        panic!()
    };
    assert!(other.items.is_empty());
    // The order that came off the waybill is free for another.
    assert!(waybill(&core, &orders[..1]).is_ok());
    // The PDF.
    let Response::Document(f) = core
        .execute(Request::Document(DocumentRequest::Waybill {
            waybill_id: w.id.clone(),
        }))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(f.mime, "application/pdf");
    assert!(f.filename.contains(&w.number));
    // A scan of a code this device does not know.
    let e = core
        .execute(Request::ScanWaybill {
            code: "WB-NOPE".into(),
            step: WaybillStep::Arrive,
        })
        .unwrap_err();
    assert!(matches!(e, ApiError::NotFound { .. }), "{e:?}");
}

fn act_order(core: &Core, id: &str, action: app_api::Action) {
    core.execute(Request::Act {
        order_id: id.into(),
        action,
    })
    .unwrap();
}

#[test]
fn only_operators_make_waybills_and_bad_input_names_its_field() {
    let (_dir, core, _) = open_at(NOW);
    hub(&core);
    let o = order(&core, "Aino");
    let e = core
        .execute(Request::CreateWaybill(NewWaybill {
            origin: "Vantaa hub".into(),
            destination: " ".into(),
            destination_warehouse: None,
            carrier: String::new(),
            seal: None,
            reference: None,
            order_ids: vec![o.clone()],
        }))
        .unwrap_err();
    assert_eq!(refusal(&e), "invalid:destination");
    let e = core
        .execute(Request::CreateWaybill(NewWaybill {
            origin: "Vantaa hub".into(),
            destination: "Oulu".into(),
            destination_warehouse: Some("oulu".into()),
            carrier: String::new(),
            seal: None,
            reference: None,
            order_ids: vec![o.clone()],
        }))
        .unwrap_err();
    assert_eq!(refusal(&e), "invalid:destination_warehouse");
    let e = waybill(&core, &["no-such-order".into()]).unwrap_err();
    assert_eq!(refusal(&e), "invalid:order_ids[0]");
    let Response::Waybills { waybills } = core
        .execute(Request::ListWaybills { open_only: false })
        .unwrap()
    else {
        panic!()
    };
    assert!(waybills.is_empty(), "nothing written by refused calls");
    for role in [Role::Courier, Role::Client] {
        session(&core, "x", role);
        let e = waybill(&core, std::slice::from_ref(&o)).unwrap_err();
        assert_eq!(refusal(&e), "operators_only", "{role:?}");
        let e = core
            .execute(Request::ListWaybills { open_only: false })
            .unwrap_err();
        assert_eq!(refusal(&e), "operators_only", "{role:?}");
    }
}

#[test]
fn an_order_put_on_two_waybills_apart_shows_on_both() {
    let (_d1, desk1, _) = open_at(NOW);
    let (_d2, desk2, _) = open_at(NOW + 3);
    hub(&desk1);
    hub(&desk2);
    session(&desk2, "eero", Role::Dispatcher);
    let o = order(&desk1, "Aino");
    // desk2 gets the order (as sync would), then both put it on a waybill apart.
    let oid = crate::domain::OrderId::new(o.clone());
    let bytes = desk1.doc_bytes(&oid).unwrap();
    desk2.merge_remote(&oid, &bytes).unwrap();
    let a = waybill(&desk1, std::slice::from_ref(&o)).unwrap();
    let b = waybill(&desk2, std::slice::from_ref(&o)).unwrap();
    let (ba, _) = desk1.waybill_document(&a.id).unwrap().unwrap();
    let (bb, _) = desk2.waybill_document(&b.id).unwrap().unwrap();
    desk1.merge_waybill(&b.id, &bb).unwrap();
    desk2.merge_waybill(&a.id, &ba).unwrap();
    for desk in [&desk1, &desk2] {
        for (w, other) in [(&a, &b), (&b, &a)] {
            let Response::Waybill(v) = desk
                .execute(Request::GetWaybill {
                    waybill_id: w.id.clone(),
                })
                .unwrap()
            else {
                panic!()
            };
            assert_eq!(
                v.orders[0].also_on,
                vec![other.number.clone()],
                "the conflict is shown"
            );
        }
    }
    // Removing it from one resolves it.
    let v = act(
        &desk1,
        &b.id,
        WaybillAction::RemoveOrder {
            order_id: o.clone(),
        },
    )
    .unwrap();
    assert!(v.orders.is_empty());
    let Response::Waybill(v) = desk1
        .execute(Request::GetWaybill {
            waybill_id: a.id.clone(),
        })
        .unwrap()
    else {
        panic!()
    };
    assert!(v.orders[0].also_on.is_empty());
}

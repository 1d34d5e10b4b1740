//! Invoice numbers: provisional offline, final and gapless once the tenant's
//! server (the only allocator) has seen the deliveries, on every device.

use std::time::Duration;

use app_api::{Action, DeliveryStatus, DocumentRequest, Request, Response, Role};
use app_core::Core;
use app_core::domain::OrderId;
use ruta_e2e::{Link, SyncServer, eventually};

use super::sync::{act, create_assigned, device, status, tenant};

const T: Duration = Duration::from_secs(30);

fn invoice_number(core: &Core, id: &str) -> Option<String> {
    core.invoice_number(&OrderId::new(id)).unwrap()
}

fn deliver(core: &Core, id: &str) {
    act(core, id, Action::PickUp);
    act(core, id, Action::Deliver { pods: vec![] });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_made_offline_on_two_devices_get_gapless_final_numbers() {
    let (data, tokens) = tenant(&[("d1", "dispatcher"), ("c1", "courier"), ("c2", "courier")]);
    let server = SyncServer::start_in("sync-invoices", data);
    let disp = device(&server.url, &tokens["d1"]).await;
    let link = Link::start(server.url.trim_start_matches("http://")).await;
    let c1 = device(&link.url, &tokens["c1"]).await;
    let c2 = device(&server.url, &tokens["c2"]).await;
    assert_eq!(c1.client.me().role, Role::Courier);

    let mine: Vec<String> = (0..2)
        .map(|k| create_assigned(&disp.core, &format!("Aino {k}"), "c1"))
        .collect();
    let theirs: Vec<String> = (0..2)
        .map(|k| create_assigned(&disp.core, &format!("Björn {k}"), "c2"))
        .collect();
    for (dev, ids) in [(&c1, &mine), (&c2, &theirs)] {
        for id in ids {
            assert!(
                eventually(T, async || status(&dev.core, id)
                    == Some(DeliveryStatus::Assigned))
                .await
            );
        }
    }

    // c1 delivers in a basement: no link, a provisional invoice.
    link.cut();
    for id in &mine {
        deliver(&c1.core, id);
    }
    for id in &theirs {
        deliver(&c2.core, id);
    }
    let Response::Document(doc) = c1
        .core
        .execute(Request::Document(DocumentRequest::Invoice {
            order_id: mine[0].clone(),
        }))
        .unwrap()
    else {
        panic!()
    };
    assert!(doc.filename.starts_with("invoice-P-"), "{}", doc.filename);
    assert_eq!(invoice_number(&c1.core, &mine[0]), None);
    // c2's deliveries are numbered while c1 is away.
    for id in &theirs {
        assert!(
            eventually(T, async || invoice_number(&c2.core, id).is_some()).await,
            "c2 gets its numbers"
        );
    }

    link.restore();
    let all: Vec<&String> = mine.iter().chain(theirs.iter()).collect();
    for id in &all {
        assert!(
            eventually(T, async || invoice_number(&disp.core, id).is_some()).await,
            "the dispatcher sees {id} numbered"
        );
    }
    for id in &mine {
        assert!(
            eventually(T, async || invoice_number(&c1.core, id).is_some()).await,
            "c1 gets its numbers after reconnecting"
        );
    }
    let mut numbers: Vec<String> = all
        .iter()
        .map(|id| invoice_number(&disp.core, id).unwrap())
        .collect();
    numbers.sort();
    assert_eq!(
        numbers,
        vec!["INV-000001", "INV-000002", "INV-000003", "INV-000004"],
        "gapless and unique"
    );
    // Every device prints the same final number for the same order.
    for id in &mine {
        assert_eq!(invoice_number(&c1.core, id), invoice_number(&disp.core, id));
    }
    let Response::Document(doc) = c1
        .core
        .execute(Request::Document(DocumentRequest::Invoice {
            order_id: mine[0].clone(),
        }))
        .unwrap()
    else {
        panic!()
    };
    assert!(doc.filename.starts_with("invoice-INV-"), "{}", doc.filename);
}

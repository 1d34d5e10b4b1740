//! Small loops beside the bridges: the link state for Core, final invoice
//! numbers, the courier directory for the driver monitor, verifiers for
//! couriers, and the tracking of the orders a client's screen follows.

use super::*;

/// Reports the link to Core as soon as the dialer connects or drops.
pub(crate) async fn follow_link(shared: Arc<Shared>) {
    let server = Some(shared.cfg.server.to_string());
    let mut events = shared.dialer.events();
    let initial = if shared.dialer.is_connected() {
        LinkState::Online
    } else {
        LinkState::Offline
    };
    shared.core.set_link(initial, server.clone());
    while let Some(event) = events.next().await {
        let state = match event {
            samod::DialerEvent::Connected { .. } => {
                shared.connected.send_modify(|n| *n += 1);
                LinkState::Online
            }
            _ => LinkState::Offline,
        };
        shared.core.set_link(state, server.clone());
    }
}

/// Fetches the tenant's final invoice numbers for delivered orders that have
/// none yet on this device (the server is the only allocator; until then the
/// device prints a provisional number).
pub(crate) async fn invoice_loop(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !shared.dialer.is_connected() {
            continue;
        }
        let core = shared.core.clone();
        let todo = tokio::task::spawn_blocking(move || core.unnumbered_invoices())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        for order in todo {
            let resp = match shared.get(&format!("v1/invoices/{order}")).await {
                Ok(Some(resp)) => resp,
                // Not numbered yet (the server has not seen it delivered).
                Ok(None) => continue,
                Err(Unreachable) => break, // try again on the next tick
            };
            let Ok(body) = resp.json::<app_api::server::InvoiceNumber>().await else {
                continue;
            };
            let core = shared.core.clone();
            let _ =
                tokio::task::spawn_blocking(move || core.set_invoice_number(&order, &body.number))
                    .await;
        }
    }
}

/// Operators: the tenant's couriers, for the driver monitor (every 30 s while
/// connected; kept by the core for offline use).
pub(crate) async fn directory_loop(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut fetched = false;
    loop {
        if fetched {
            tick.tick().await;
        } else {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if !shared.dialer.is_connected() {
            continue;
        }
        let Ok(Some(resp)) = shared.get("v1/couriers").await else {
            continue;
        };
        let Ok(body) = resp.json::<app_api::server::Couriers>().await else {
            continue;
        };
        let core = shared.core.clone();
        if let Ok(Ok(())) = tokio::task::spawn_blocking(move || {
            core.set_courier_directory(&body.couriers)
                .and_then(|()| core.set_staff_directory(&body.staff))
        })
        .await
        {
            fetched = true;
        }
    }
}

/// Couriers: the verifiers of their current orders, kept by the core so
/// recipients' PINs and QR codes are checked offline without the tenant key.
/// Asked for (checked every 3 s while connected) only when an open order of
/// the courier's has none yet.
pub(crate) async fn verifier_loop(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !shared.dialer.is_connected() {
            continue;
        }
        let core = shared.core.clone();
        if !tokio::task::spawn_blocking(move || core.lacks_verifiers())
            .await
            .unwrap_or(true)
        {
            continue;
        }
        let Ok(Some(resp)) = shared.get("v1/verifiers").await else {
            continue;
        };
        let Ok(body) = resp.json::<app_api::server::Verifiers>().await else {
            continue;
        };
        let list: Vec<app_core::pod::verifier::Verifier> = body
            .verifiers
            .into_iter()
            .map(|v| app_core::pod::verifier::Verifier {
                order_id: v.order_id,
                salt: v.salt,
                rounds: v.rounds,
                hash: v.hash,
            })
            .collect();
        let core = shared.core.clone();
        let _ = tokio::task::spawn_blocking(move || core.set_verifiers(&list)).await;
    }
}

/// Clients and operators: the tracking of the orders a screen asked about in
/// the last minute (every 3 s while connected), kept by the core so an order
/// opened offline shows what was last known.
pub(crate) async fn tracking_loop(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !shared.dialer.is_connected() {
            continue;
        }
        let core = shared.core.clone();
        let watched = tokio::task::spawn_blocking(move || core.watched_tracking())
            .await
            .unwrap_or_default();
        for order in watched {
            let resp = match shared.get(&format!("v1/orders/{order}/tracking")).await {
                Ok(Some(resp)) => resp,
                // Not on the server yet (still to be pushed), or not ours.
                Ok(None) => continue,
                Err(Unreachable) => break,
            };
            let Ok(body) = resp.json::<app_api::server::OrderTracking>().await else {
                continue;
            };
            let core = shared.core.clone();
            let _ = tokio::task::spawn_blocking(move || core.set_tracking(&body)).await;
        }
    }
}

//! Live location: dispatchers follow couriers' documents' ephemeral messages;
//! couriers send their beacons (never stored as history).

use super::*;

/// Dispatchers: live positions from one courier's document.
pub(crate) async fn follow_courier(shared: Arc<Shared>, doc: DocumentId) {
    let Some(handle) = find_until_found(&shared.repo, doc, Duration::from_secs(3600)).await else {
        return;
    };
    let owner = handle.with_document(|d| match d.get(automerge::ROOT, "owner") {
        Ok(Some((v, _))) => v.as_str().map(str::to_owned),
        _ => None,
    });
    let Some(owner) = owner else { return };
    let mut ephemera = handle.ephemera().boxed();
    while let Some(data) = ephemera.next().await {
        if let Some(beacon) = decode_beacon(&data)
            && let Some(p) = beacon.point
        {
            let _ = shared.positions.send(Position {
                courier: owner.clone(),
                at_ms: beacon.at_ms,
                lat: p.lat,
                lon: p.lon,
            });
            shared.core.record_beacon(&owner, beacon);
        }
    }
}

/// Couriers: sends each beacon the courier's device reports (the newest
/// only, when several queued up); dropped while offline.
pub(crate) async fn beacon_loop(
    client: SyncClient,
    mut rx: mpsc::UnboundedReceiver<app_api::Beacon>,
) {
    while let Some(mut beacon) = rx.recv().await {
        while let Ok(newer) = rx.try_recv() {
            beacon = newer;
        }
        if !client.is_connected() {
            continue;
        }
        if let Some(message) = encode_beacon(&beacon)
            && let Err(e) = client.send_ephemeral(message).await
        {
            tracing::debug!(error = %e, "beacon not sent");
        }
    }
}

//! The role × document kind × operation matrix (issue 19's campaign): every
//! role, through a modified client that speaks the automerge-repo protocol by
//! hand, tries every operation on every document kind against a real server.
//! The expected rights are written here from the product's rules, not asked of
//! the code under test. Goal: 0 leaks, 0 unauthorized writes applied, 0
//! legitimate writes blocked. The matrix is printed (see RELIABILITY.md).

use std::collections::BTreeMap;
use std::time::Duration;

use app_api::{Action, NewOrder, Request, Response, Role};
use app_core::domain::{Actor, DeviceId, OrderId, UserId};
use app_core::ids::doc_id_of;
use app_core::lifecycle::{Event, EventBody};
use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ReadDoc};
use ruta_e2e::SyncServer;
use sync_server::wire::get;

use crate::sync::{device, tenant};
use crate::sync_security::{RawPeer, ws_url};

const ANSWER: Duration = Duration::from_secs(8);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Order,
    Index,
    CourierDoc,
    /// The tenant's configuration document.
    Config,
    /// The staff configuration document (warehouses, vehicles, courier profiles).
    StaffConfig,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Read,
    Create,
    Append,
    Rewrite,
    Delete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Refused,
    /// Neither an answer that the write landed nor a refusal.
    Silent,
}

/// What the product's rules say each role may do (the oracle).
fn expected(user: &str, kind: Kind, op: Op) -> bool {
    match (kind, op) {
        // o1: created by the dispatcher for client k1, assigned to courier c1.
        (Kind::Order, Op::Read | Op::Append) => matches!(user, "k1" | "c1" | "d1" | "a1"),
        // Couriers never create orders; clients (naming themselves) and operators do.
        (Kind::Order, Op::Create) => matches!(user, "k1" | "d1" | "a1"),
        // History is append-only for everyone.
        (Kind::Order, Op::Rewrite | Op::Delete) => false,
        // c1's index: c1 reads it; nobody writes it but the server.
        (Kind::Index, Op::Read) => user == "c1",
        // c1's courier document: c1 and the operators read it; only the
        // server writes it (positions travel as ephemera).
        (Kind::CourierDoc, Op::Read) => matches!(user, "c1" | "d1" | "a1"),
        (Kind::Index | Kind::CourierDoc, _) => false,
        // The tenant's configuration: everyone reads it; the staff one: staff only.
        (Kind::Config, Op::Read) => true,
        (Kind::StaffConfig, Op::Read) => user != "k1",
        // Only admins add changes; nobody rewrites or removes what is there.
        (Kind::Config | Kind::StaffConfig, Op::Append) => user == "a1",
        (Kind::Config | Kind::StaffConfig, _) => false,
    }
}

impl RawPeer {
    /// Asks for `doc`: Allowed when the server answers with its content.
    async fn try_read(&mut self, doc: &str) -> Outcome {
        self.request(doc);
        let deadline = tokio::time::Instant::now() + ANSWER;
        while let Ok(Some(v)) = tokio::time::timeout_at(deadline, self.inbox.recv()).await {
            let field = |k: &str| get(&v, k).and_then(|t| t.as_text()).map(str::to_owned);
            if field("documentId").as_deref() != Some(doc) {
                continue;
            }
            match field("type").as_deref() {
                Some("doc-unavailable") => return Outcome::Refused,
                Some("sync") => {
                    let data = get(&v, "data").and_then(|d| d.as_bytes()).unwrap();
                    let msg = automerge::sync::Message::decode(data).unwrap();
                    if !msg.heads.is_empty() {
                        return Outcome::Allowed;
                    }
                }
                _ => {}
            }
        }
        Outcome::Silent
    }

    /// Sends `changes` on `doc` as one sync message (as a modified client
    /// would, whatever its sync state says) and waits for the verdict: a sync
    /// message whose heads hold `head` (applied) or a refusal.
    async fn try_write(
        &mut self,
        doc: &str,
        changes: Vec<Vec<u8>>,
        head: automerge::ChangeHash,
    ) -> Outcome {
        use automerge::sync::{Message, MessageVersion};
        let msg = Message {
            heads: vec![head],
            need: vec![],
            have: vec![],
            changes: changes.into(),
            flags: None,
            version: MessageVersion::V1,
        };
        self.sync(doc, msg);
        let deadline = tokio::time::Instant::now() + ANSWER;
        while let Ok(Some(v)) = tokio::time::timeout_at(deadline, self.inbox.recv()).await {
            let field = |k: &str| get(&v, k).and_then(|t| t.as_text()).map(str::to_owned);
            match field("type").as_deref() {
                Some("error") => return Outcome::Refused,
                Some("doc-unavailable") if field("documentId").as_deref() == Some(doc) => {
                    return Outcome::Refused;
                }
                Some("sync") if field("documentId").as_deref() == Some(doc) => {
                    let data = get(&v, "data").and_then(|d| d.as_bytes()).unwrap();
                    let msg = automerge::sync::Message::decode(data).unwrap();
                    if msg.heads.contains(&head) {
                        return Outcome::Allowed;
                    }
                }
                _ => {}
            }
        }
        Outcome::Silent
    }

    /// The whole of `doc` as this peer may read it.
    async fn copy_of(&mut self, doc: &str) -> Automerge {
        use automerge::sync::SyncDoc;
        self.request(doc);
        let mut local = Automerge::new();
        let mut state = automerge::sync::State::new();
        let deadline = tokio::time::Instant::now() + ANSWER;
        while let Ok(Some(v)) = tokio::time::timeout_at(deadline, self.inbox.recv()).await {
            let field = |k: &str| get(&v, k).and_then(|t| t.as_text()).map(str::to_owned);
            if field("type").as_deref() != Some("sync")
                || field("documentId").as_deref() != Some(doc)
            {
                continue;
            }
            let data = get(&v, "data").and_then(|d| d.as_bytes()).unwrap();
            let msg = automerge::sync::Message::decode(data).unwrap();
            let theirs = msg.heads.clone();
            local.receive_sync_message(&mut state, msg).unwrap();
            if !theirs.is_empty() && theirs == local.get_heads() {
                return local;
            }
            if let Some(reply) = local.generate_sync_message(&mut state) {
                self.sync(doc, reply);
            }
        }
        panic!("{doc} did not arrive");
    }
}

/// `base` with one change made by `edit`: (the change's bytes, its hash).
fn changed(
    base: &Automerge,
    edit: impl FnOnce(&mut automerge::transaction::Transaction<'_>),
) -> (Vec<Vec<u8>>, automerge::ChangeHash) {
    let mut doc = base.fork();
    let mut tx = doc.transaction();
    edit(&mut tx);
    tx.commit();
    let change = doc.get_last_local_change().unwrap();
    (vec![change.raw_bytes().to_vec()], change.hash())
}

/// The newest event of an order document (key, event).
fn newest(doc: &Automerge) -> (String, Event) {
    let (_, events) = doc.get(ROOT, "events").unwrap().unwrap();
    let key = doc.keys(&events).max().unwrap();
    let (v, _) = doc.get(&events, key.as_str()).unwrap().unwrap();
    (
        key,
        serde_json::from_str(&v.into_string().unwrap()).unwrap(),
    )
}

fn actor(user: &str, role: Role) -> Actor {
    Actor {
        user: UserId::new(user),
        role,
        device: DeviceId::new(format!("matrix-{user}")),
    }
}

/// The changes of a new order document created by `who` (for client `client`).
fn new_order(who: &Actor, client: Option<&str>) -> (String, Vec<Vec<u8>>, automerge::ChangeHash) {
    let dir = tempfile::tempdir().unwrap();
    let core = app_core::Core::open(dir.path()).unwrap();
    core.set_session("maker", Role::Dispatcher).unwrap();
    let mut new = NewOrder::simple("Matrix Oy", "Kaivokatu 1", "Bulevardi 2");
    new.client = client.map(str::to_owned);
    let Response::Order(o) = core.execute(Request::CreateOrder(new)).unwrap() else {
        panic!()
    };
    let id = OrderId::new(o.id.clone());
    let made = Automerge::load(&core.doc_bytes(&id).unwrap()).unwrap();
    // The same Created event, as `who` on their own device.
    let (_, mut created) = newest(&made);
    created.actor = who.clone();
    created.at.node = app_core::hlc::node_of(who.device.as_str());
    let mut doc = app_core::order_doc::OrderDoc::create(&id, &who.device).unwrap();
    doc.append(&created).unwrap();
    let whole = Automerge::load(&doc.save()).unwrap();
    let changes: Vec<Vec<u8>> = whole
        .get_changes(&[])
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    let head = whole.get_heads()[0];
    (doc_id_of(&id).unwrap().to_string(), changes, head)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_on_every_document_kind_gets_exactly_its_rights() {
    let people = [
        ("k1", "client", Role::Client),
        ("c1", "courier", Role::Courier),
        ("c2", "courier", Role::Courier),
        ("d1", "dispatcher", Role::Dispatcher),
        ("a1", "admin", Role::Admin),
    ];
    let users: Vec<(&str, &str)> = people.iter().map(|(u, r, _)| (*u, *r)).collect();
    let (data, tokens) = tenant(&users);
    // A revoked and an expired token: no door opens for them at all.
    let dir = sync_server::directory::Directory::open(data.path(), "acme").unwrap();
    let now = sync_server::directory::now_ms();
    let (_, expired) = dir
        .issue_token("acme", "d1", Some(now - 1), now - 10)
        .unwrap();
    let (revoked_id, revoked) = dir.issue_token("acme", "d1", None, now).unwrap();
    dir.revoke_token(&revoked_id, now).unwrap();
    drop(dir);
    let server = SyncServer::start_in("access-matrix", data);
    for bad in [&expired, &revoked] {
        let me = reqwest::Client::new()
            .get(format!("{}/v1/me", server.url))
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status().as_u16(), 401);
        let err = tokio_tungstenite::connect_async(ws_url(&server.url, bad))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("401"), "{err}");
    }

    // The dispatcher's real device makes order o1 for client k1, assigned to c1.
    let disp = device(&server.url, &tokens["d1"]).await;
    let mut new = NewOrder::simple("Kirsi Koivu", "Kaivokatu 1", "Fredrikinkatu 32");
    new.client = Some("k1".into());
    let Response::Order(o1) = disp.core.execute(Request::CreateOrder(new)).unwrap() else {
        panic!()
    };
    crate::sync::act(
        &disp.core,
        &o1.id,
        Action::Assign {
            courier: "c1".into(),
        },
    );
    assert!(disp.client.wait_synced(crate::sync::T).await);
    let order = doc_id_of(&OrderId::new(o1.id.clone())).unwrap().to_string();
    let (_, courier_url) = crate::sync_security::me(&server.url, &tokens["c1"]).await;
    let courier_doc = courier_url.expect("c1 has a courier document");
    let index =
        ruta_e2e::get_json(&format!("{}/v1/me", server.url), &tokens["c1"]).await["index_url"]
            .as_str()
            .unwrap()
            .trim_start_matches("automerge:")
            .to_owned();
    // Wait until the server's facts follow the assignment (c1 reads o1).
    let mut c1 = RawPeer::join(&server.url, &tokens["c1"]).await;
    assert!(
        ruta_e2e::eventually(crate::sync::T, async || c1.try_read(&order).await
            == Outcome::Allowed)
        .await
    );
    // The base copies writes are built on: what an operator or the owner holds.
    let mut d1 = RawPeer::join(&server.url, &tokens["d1"]).await;
    let mut bases: BTreeMap<Kind, (String, Automerge)> = [
        (Kind::Order, order.clone(), d1.copy_of(&order).await),
        (Kind::Index, index.clone(), c1.copy_of(&index).await),
        (
            Kind::CourierDoc,
            courier_doc.clone(),
            d1.copy_of(&courier_doc).await,
        ),
    ]
    .into_iter()
    .map(|(k, id, doc)| (k, (id, doc)))
    .collect();
    // The configuration documents the server made.
    let directory = sync_server::directory::Directory::open(server.data.path(), "acme").unwrap();
    for (kind, setting) in [
        (Kind::Config, sync_server::tenant::CONFIG_DOC_SETTING),
        (
            Kind::StaffConfig,
            sync_server::tenant::STAFF_CONFIG_DOC_SETTING,
        ),
    ] {
        let id = directory
            .setting(setting)
            .unwrap()
            .expect("made by the server");
        let copy = d1.copy_of(&id).await;
        bases.insert(kind, (id, copy));
    }
    drop((c1, d1));

    let mut results: Vec<(String, Kind, Op, Outcome)> = Vec::new();
    for (user, _, role) in people {
        let mut peer = RawPeer::join(&server.url, &tokens[user]).await;
        let me = actor(user, role);
        for (&kind, (id, base)) in &bases {
            results.push((user.into(), kind, Op::Read, peer.try_read(id).await));
            for op in [Op::Append, Op::Rewrite, Op::Delete] {
                let (changes, head) = match (kind, op) {
                    (Kind::Order, Op::Append) => {
                        let (_, last) = newest(base);
                        let mut e = last.clone();
                        e.at.wall_ms += 60_000;
                        e.at.node = app_core::hlc::node_of(me.device.as_str());
                        e.actor = me.clone();
                        e.seen.status = app_api::DeliveryStatus::Assigned;
                        e.seen.assignee = Some(UserId::new("c1"));
                        e.body = EventBody::NoteAdded {
                            text: format!("note by {user}"),
                        };
                        changed(base, |tx| {
                            let (_, events) = tx.get(ROOT, "events").unwrap().unwrap();
                            tx.put(&events, e.id(), serde_json::to_string(&e).unwrap())
                                .unwrap();
                        })
                    }
                    (Kind::Order, Op::Rewrite) => {
                        let (key, mut e) = newest(base);
                        e.body = EventBody::NoteAdded {
                            text: "history, rewritten".into(),
                        };
                        changed(base, |tx| {
                            let (_, events) = tx.get(ROOT, "events").unwrap().unwrap();
                            tx.put(&events, key, serde_json::to_string(&e).unwrap())
                                .unwrap();
                        })
                    }
                    (Kind::Order, _) => {
                        let (key, _) = newest(base);
                        changed(base, |tx| {
                            let (_, events) = tx.get(ROOT, "events").unwrap().unwrap();
                            tx.delete(&events, key).unwrap();
                        })
                    }
                    (Kind::Config | Kind::StaffConfig, Op::Append) => {
                        use app_api::config::{ConfigChange, Tariff, Vehicle, VehicleType};
                        let change = if kind == Kind::Config {
                            ConfigChange::SetTariff(Tariff {
                                base_cents: 777,
                                ..Tariff::default()
                            })
                        } else {
                            ConfigChange::PutVehicle(Vehicle {
                                id: format!("van-{user}"),
                                name: "Matrix van".into(),
                                kind: VehicleType::Van,
                                capacity_items: 10,
                                capacity_kg: 100,
                                plate: String::new(),
                            })
                        };
                        let mut clock = app_core::hlc::HlcClock::new(app_core::hlc::node_of(
                            me.device.as_str(),
                        ));
                        let e = app_core::config_doc::ConfigEvent {
                            at: clock.tick(1_790_000_000_000),
                            actor: me.clone(),
                            change,
                        };
                        changed(base, |tx| {
                            let (_, events) = tx.get(ROOT, "events").unwrap().unwrap();
                            tx.put(&events, e.id(), serde_json::to_string(&e).unwrap())
                                .unwrap();
                        })
                    }
                    // Server-written documents, and the configuration's root:
                    // add a field, change one, drop one.
                    (_, Op::Append) => changed(base, |tx| {
                        tx.put_object(ROOT, format!("by-{user}"), ObjType::Map)
                            .unwrap();
                    }),
                    (_, Op::Rewrite) => changed(base, |tx| {
                        let key = tx.keys(ROOT).next().unwrap();
                        tx.put(ROOT, key, format!("{user} was here")).unwrap();
                    }),
                    (_, _) => changed(base, |tx| {
                        let key = tx.keys(ROOT).next().unwrap();
                        tx.delete(ROOT, key).unwrap();
                    }),
                };
                results.push((
                    user.into(),
                    kind,
                    op,
                    peer.try_write(id, changes, head).await,
                ));
            }
        }
        let client = (role == Role::Client).then_some(user);
        let (doc, changes, head) = new_order(&me, client.or(Some("k1")));
        results.push((
            user.into(),
            Kind::Order,
            Op::Create,
            peer.try_write(&doc, changes, head).await,
        ));
    }

    // The matrix, as RELIABILITY.md shows it.
    let mut table =
        String::from("| user | document | operation | expected | got |\n|---|---|---|---|---|\n");
    let (mut leaks, mut unauthorized, mut blocked, mut silent) = (0, 0, 0, 0);
    for (user, kind, op, got) in &results {
        let want = expected(user, *kind, *op);
        table.push_str(&format!(
            "| {user} | {kind:?} | {op:?} | {} | {got:?} |\n",
            if want { "allowed" } else { "refused" }
        ));
        match (want, got, op) {
            (_, Outcome::Silent, _) => silent += 1,
            (false, Outcome::Allowed, Op::Read) => leaks += 1,
            (false, Outcome::Allowed, _) => unauthorized += 1,
            (true, Outcome::Refused, _) => blocked += 1,
            _ => {}
        }
    }
    println!("{table}");
    println!(
        "{} cases: {leaks} leaks, {unauthorized} unauthorized writes applied, {blocked} legitimate writes blocked, {silent} unanswered",
        results.len()
    );
    assert_eq!(
        (leaks, unauthorized, blocked, silent),
        (0, 0, 0, 0),
        "\n{table}"
    );
}

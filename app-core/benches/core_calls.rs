//! Benchmarks of the command API on a real SQLite file: what one user action
//! costs on a device. Run with `cargo bench -p app-core --bench core_calls`.

use std::hint::black_box;

use app_core::Core;
use app_core::api::{
    Action, CapturePodRequest, NewOrder, Request, Response, Role, SignatureInput, StrokePoint,
};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn new_order(i: usize) -> Request {
    Request::CreateOrder(NewOrder::simple(
        &format!("Customer {i}"),
        "Aleksanterinkatu 52",
        "Fredrikinkatu 34",
    ))
}

fn filled_core(orders: usize) -> (tempfile::TempDir, Core) {
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open(dir.path()).unwrap();
    // Every call is made by someone (the device refuses calls while signed out).
    core.set_session("dana", Role::Dispatcher).unwrap();
    for i in 0..orders {
        core.execute(new_order(i)).unwrap();
    }
    (dir, core)
}

fn session(core: &Core, user: &str, role: Role) {
    core.set_session(user, role).unwrap();
}

fn act(core: &Core, order_id: &str, action: Action) {
    core.execute(Request::Act {
        order_id: order_id.into(),
        action,
    })
    .unwrap();
}

/// An order with cash on delivery, assigned to and picked up by courier `aki`
/// (who is signed in when this returns).
fn picked_up_with_cod(core: &Core, i: usize) -> String {
    session(core, "dana", Role::Dispatcher);
    let Response::Order(o) = core.execute(new_order(i)).unwrap() else {
        panic!("create_order")
    };
    act(core, &o.id, Action::SetCod { cents: 2_450 });
    act(
        core,
        &o.id,
        Action::Assign {
            courier: "aki".into(),
        },
    );
    session(core, "aki", Role::Courier);
    act(core, &o.id, Action::PickUp);
    o.id
}

fn signature() -> SignatureInput {
    let stroke = |y0: f32| {
        (0..40)
            .map(|i| StrokePoint {
                x: 20.0 + i as f32 * 9.0,
                y: y0 + (i as f32 * 0.4).sin() * 30.0,
                t_ms: i * 12,
            })
            .collect()
    };
    SignatureInput {
        width: 400.0,
        height: 200.0,
        strokes: vec![stroke(80.0), stroke(130.0)],
    }
}

fn capture(order_id: &str, cod: Option<i64>) -> Request {
    Request::CapturePod(CapturePodRequest {
        order_id: order_id.into(),
        signature: Some(signature()),
        deliver: true,
        collect_cod_cents: cod,
        ..Default::default()
    })
}

fn bench(c: &mut Criterion) {
    // Delivery at the door with cash and a signature: the calls the courier's
    // screen made before (collect the cash, then capture and deliver: three
    // write transactions) and the one call it makes now (one transaction).
    let (_door_dir, door) = filled_core(1_000);
    let mut n = 10_000;
    let mut next_order = |core: &Core| {
        n += 1;
        picked_up_with_cod(core, n)
    };
    c.bench_function(
        "deliver with cash and signature: collect, then capture (1k store)",
        |b| {
            b.iter_batched(
                || next_order(&door),
                |id| {
                    act(&door, &id, Action::CollectCod { cents: 2_450 });
                    black_box(door.execute(capture(&id, None)).unwrap())
                },
                BatchSize::SmallInput,
            )
        },
    );
    c.bench_function(
        "deliver with cash and signature: one capture (1k store)",
        |b| {
            b.iter_batched(
                || next_order(&door),
                |id| black_box(door.execute(capture(&id, Some(2_450))).unwrap()),
                BatchSize::SmallInput,
            )
        },
    );

    let (_growing_dir, core) = filled_core(1_000);
    let mut i = 1_000;
    c.bench_function("create_order (store of 1k+)", |b| {
        b.iter(|| {
            i += 1;
            black_box(core.execute(new_order(i)).unwrap())
        })
    });

    let (dir, core) = filled_core(1_000);
    c.bench_function("list_orders (1k orders)", |b| {
        b.iter(|| {
            black_box(
                core.execute(Request::ListOrders(Default::default()))
                    .unwrap(),
            )
        })
    });

    let json = br#"{"op":"device_status"}"#;
    c.bench_function("execute_json device_status", |b| {
        b.iter(|| black_box(core.execute_json(json).unwrap()))
    });

    c.bench_function("open store (existing, 1k orders)", |b| {
        b.iter_batched(
            || (),
            |()| black_box(Core::open(dir.path()).unwrap()),
            BatchSize::SmallInput,
        )
    });
}

/// Conversations at desk scale: 10,000 customer chats with one unread
/// message each (written by each client on this store, then read by the
/// dispatcher): the list with its unread total, one conversation, and the
/// notification centre. The store's size is `RUTA_BENCH_CHATS` (default 10,000).
fn chats(c: &mut Criterion) {
    use app_core::api::chat::{ChatAction, ChatLink, NewMessage};
    let n: usize = std::env::var("RUTA_BENCH_CHATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    // The clients write on one device; the dispatcher's device merges each
    // conversation as the sync client would.
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let clients = Core::open(dir_a.path()).unwrap();
    let core = Core::open(dir_b.path()).unwrap();
    session(&core, "dana", Role::Dispatcher);
    let started = std::time::Instant::now();
    for i in 0..n {
        let client = format!("client{i}");
        session(&clients, &client, Role::Client);
        let Response::Chat(v) = clients
            .execute(Request::ChatAct {
                link: ChatLink::Customer { client },
                action: ChatAction::Post(NewMessage {
                    text: format!("Where is my parcel {i}?"),
                    ..Default::default()
                }),
            })
            .unwrap()
        else {
            panic!()
        };
        let (bytes, _) = clients.chat_document(&v.id).unwrap().unwrap();
        core.merge_chat(&v.id, &bytes).unwrap();
    }
    eprintln!(
        "{n} conversations written and merged in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let Response::Chats(l) = core.execute(Request::ListChats).unwrap() else {
        panic!()
    };
    assert_eq!(l.unread_total as usize, n);
    c.bench_function("list_chats (200 most recent of 10k, unread total)", |b| {
        b.iter(|| black_box(core.execute(Request::ListChats).unwrap()))
    });
    c.bench_function("open_chat (one of 10k)", |b| {
        b.iter(|| {
            black_box(
                core.execute(Request::OpenChat {
                    link: ChatLink::Customer {
                        client: "client77".into(),
                    },
                })
                .unwrap(),
            )
        })
    });
    c.bench_function("notifications (10k unread conversations)", |b| {
        b.iter(|| black_box(core.execute(Request::Notifications).unwrap()))
    });
}

criterion_group!(benches, bench, chats);
criterion_main!(benches);

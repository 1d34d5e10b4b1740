//! Benchmarks of the command API on a real SQLite file: what one user action
//! costs on a device. Run with `cargo bench -p app-core --bench core_calls`.

use std::hint::black_box;

use app_core::Core;
use app_core::api::{NewOrder, Request};
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
    for i in 0..orders {
        core.execute(new_order(i)).unwrap();
    }
    (dir, core)
}

fn bench(c: &mut Criterion) {
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

criterion_group!(benches, bench);
criterion_main!(benches);

//! What the request tests of `core` share: a Core on a real store in a temp
//! dir with a manual clock, and the two calls nearly every test makes.

use std::sync::Arc;

use app_api::{
    Action, CapturePodRequest, PodCaptured, Request, Response, Role, SignatureInput, StrokePoint,
};

use crate::Core;
use crate::clock::ManualClock;

/// A Core on a fresh store whose clock reads `now_ms` until advanced.
pub fn open_at(now_ms: i64) -> (tempfile::TempDir, Core, Arc<ManualClock>) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(now_ms));
    let core = Core::open_with_clock(dir.path(), clock.clone())
        .unwrap()
        .or_dispatcher();
    (dir, core, clock)
}

/// Signs `user` in as `role`.
pub fn session(core: &Core, user: &str, role: Role) {
    core.set_session(user, role).unwrap();
}

/// Applies `action` to order `id`; panics if it is refused.
pub fn act(core: &Core, id: &str, action: Action) {
    core.execute(Request::Act {
        order_id: id.into(),
        action,
    })
    .unwrap();
}

/// A recipient's signature: two wavy strokes.
pub fn signature() -> SignatureInput {
    let stroke = |y0: f32, t0: u32| {
        (0..40)
            .map(|i| StrokePoint {
                x: 20.0 + i as f32 * 9.0,
                y: y0 + (i as f32 * 0.4).sin() * 30.0,
                t_ms: t0 + i * 12,
            })
            .collect()
    };
    SignatureInput {
        width: 400.0,
        height: 200.0,
        strokes: vec![stroke(80.0, 0), stroke(130.0, 700)],
    }
}

/// Captures a signed proof on order `id` (and delivers it with `deliver`),
/// the way a courier's device does; panics if it is refused.
pub fn sign_for(core: &Core, id: &str, deliver: bool) -> PodCaptured {
    let Response::PodCaptured(c) = core
        .execute(Request::CapturePod(CapturePodRequest {
            order_id: id.into(),
            signature: Some(signature()),
            deliver,
            ..Default::default()
        }))
        .unwrap()
    else {
        panic!()
    };
    c
}

//! What the request tests of `core` share: a Core on a real store in a temp
//! dir with a manual clock, and the two calls nearly every test makes.

use std::sync::Arc;

use app_api::{Action, Request, Role};

use crate::Core;
use crate::clock::ManualClock;

/// A Core on a fresh store whose clock reads `now_ms` until advanced.
pub fn open_at(now_ms: i64) -> (tempfile::TempDir, Core, Arc<ManualClock>) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(now_ms));
    let core = Core::open_with_clock(dir.path(), clock.clone()).unwrap();
    (dir, core, clock)
}

/// Signs `user` in as `role`.
pub fn session(core: &Core, user: &str, role: Role) {
    core.execute(Request::SetSession {
        user: user.into(),
        role,
    })
    .unwrap();
}

/// Applies `action` to order `id`; panics if it is refused.
pub fn act(core: &Core, id: &str, action: Action) {
    core.execute(Request::Act {
        order_id: id.into(),
        action,
    })
    .unwrap();
}

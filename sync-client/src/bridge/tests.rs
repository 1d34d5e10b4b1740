//! The bridge's decisions without a repo, a server or a runtime.

use super::*;
use automerge::ChangeHash;

fn h(n: u8) -> ChangeHash {
    ChangeHash([n; 32])
}

#[test]
fn a_new_bridge_pulls_the_whole_document_and_nothing_from_an_empty_repo() {
    let s = BridgeState::default();
    assert_eq!(s.to_pull(&[h(1)]), Pull::Whole);
    assert_eq!(s.to_pull(&[]), Pull::Nothing);
}

#[test]
fn after_a_pull_only_what_is_newer_is_pulled() {
    let mut s = BridgeState::default();
    s.pulled(vec![h(1)]);
    assert_eq!(s.to_pull(&[h(1)]), Pull::Nothing);
    assert_eq!(s.to_pull(&[h(2)]), Pull::After(&[h(1)]));
}

#[test]
fn a_push_the_repo_took_whole_is_not_pulled_back() {
    let mut s = BridgeState::default();
    s.pulled(vec![h(1)]);
    // Core wrote h(2); the repo took it and is at exactly Core's heads.
    s.pushed(&[h(2)], Some(&[h(2)]), 5, true);
    assert_eq!(s.to_pull(&[h(2)]), Pull::Nothing);
}

#[test]
fn a_push_into_a_repo_that_moved_on_still_pulls_the_rest() {
    let mut s = BridgeState::default();
    s.pulled(vec![h(1)]);
    // The repo also got a peer's h(3) meanwhile: it is not at Core's heads.
    s.pushed(&[h(2)], Some(&[h(2), h(3)]), 5, true);
    assert_eq!(s.to_pull(&[h(2), h(3)]), Pull::After(&[h(1)]));
    // A failed load into the repo leaves what both sides have unchanged too.
    s.pushed(&[h(2)], None, 6, true);
    assert_eq!(s.to_pull(&[h(2)]), Pull::After(&[h(1)]));
}

#[test]
fn only_a_pending_record_is_confirmed_and_only_once() {
    let mut s = BridgeState::default();
    assert_eq!(s.to_confirm(), None, "nothing pushed yet");
    s.pushed(&[h(1)], Some(&[h(1)]), 3, false);
    assert_eq!(s.to_confirm(), None, "nothing pending");
    s.pushed(&[h(2)], Some(&[h(2)]), 4, true);
    assert_eq!(s.to_confirm(), Some(4));
    s.confirmed(4);
    assert_eq!(s.to_confirm(), None);
}

#[test]
fn a_confirmation_of_older_writes_does_not_clear_a_newer_push() {
    let mut s = BridgeState::default();
    s.pushed(&[h(1)], Some(&[h(1)]), 4, true);
    // A local write came in while the confirmation of write 4 was under way.
    s.pushed(&[h(2)], Some(&[h(2)]), 5, true);
    s.confirmed(4);
    assert_eq!(s.to_confirm(), Some(5), "write 5 still needs the server");
}

#[test]
fn a_failed_push_confirms_nothing() {
    let mut s = BridgeState::default();
    s.pushed(&[h(1)], Some(&[h(1)]), 4, true);
    s.push_failed();
    assert_eq!(s.to_confirm(), None);
}

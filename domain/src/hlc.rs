//! Hybrid logical clock (HLC): capture times that survive offline work.
//!
//! Every event is stamped with an [`Hlc`]: the device's wall clock in
//! milliseconds, a counter that orders events within one millisecond (and keeps
//! order when the wall clock stalls or steps back), and the node that made it.
//! When a device sees a remote stamp it moves its clock past it, so an event made
//! after seeing another always sorts after it, while an event made offline keeps
//! the time it happened, not the time it synced.
//!
//! A remote stamp more than [`MAX_FORWARD_DRIFT_MS`] ahead of the local wall clock
//! is not adopted (a device with a clock set to next year must not drag every
//! other clock with it); the event itself still sorts by its own stamp.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Remote stamps further ahead than this are not adopted by the local clock.
pub const MAX_FORWARD_DRIFT_MS: i64 = 24 * 60 * 60 * 1000;

/// One HLC stamp. Orders by wall time, then counter, then node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc {
    pub wall_ms: i64,
    pub counter: u32,
    pub node: u64,
}

impl Hlc {
    pub const ZERO: Hlc = Hlc {
        wall_ms: 0,
        counter: 0,
        node: 0,
    };
}

/// The fixed-width text form sorts like the stamp itself:
/// `0001700000000000.00000.3f2a9c0e11d4b7a8`.
impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:016}.{:05}.{:016x}",
            self.wall_ms, self.counter, self.node
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an HLC stamp: {0:?}")]
pub struct BadHlc(pub String);

impl FromStr for Hlc {
    type Err = BadHlc;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadHlc(s.to_owned());
        let mut parts = s.split('.');
        let (Some(w), Some(c), Some(n), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if w.len() != 16 || c.len() != 5 || n.len() != 16 {
            return Err(bad());
        }
        Ok(Hlc {
            wall_ms: w.parse().map_err(|_| bad())?,
            counter: c.parse().map_err(|_| bad())?,
            node: u64::from_str_radix(n, 16).map_err(|_| bad())?,
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The node number of a device id (the first 16 hex digits of it, or a hash).
pub fn node_of(device_id: &str) -> u64 {
    device_id
        .get(..16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or_else(|| {
            // FNV-1a: stable across builds and platforms, unlike std's hasher.
            device_id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            })
        })
}

/// A device's clock state. Pure: the wall time is passed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HlcClock {
    last: Hlc,
}

impl HlcClock {
    pub fn new(node: u64) -> Self {
        Self {
            last: Hlc {
                wall_ms: 0,
                counter: 0,
                node,
            },
        }
    }

    /// Restores a clock from its last issued stamp (e.g. after a restart).
    pub fn resume(last: Hlc) -> Self {
        Self { last }
    }

    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A stamp for a local event at wall time `now_ms`; strictly after every
    /// stamp this clock issued or observed.
    pub fn tick(&mut self, now_ms: i64) -> Hlc {
        let wall_ms = now_ms.max(self.last.wall_ms);
        let counter = if wall_ms == self.last.wall_ms {
            self.last.counter + 1
        } else {
            0
        };
        self.last = Hlc {
            wall_ms,
            counter,
            node: self.last.node,
        };
        self.last
    }

    /// Moves the clock past a remote stamp (unless it is implausibly far ahead).
    pub fn observe(&mut self, remote: Hlc, now_ms: i64) {
        if remote.wall_ms > now_ms.saturating_add(MAX_FORWARD_DRIFT_MS) {
            return;
        }
        if (remote.wall_ms, remote.counter) > (self.last.wall_ms, self.last.counter) {
            self.last = Hlc {
                wall_ms: remote.wall_ms,
                counter: remote.counter,
                node: self.last.node,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_strictly_increasing_even_if_the_wall_clock_steps_back() {
        let mut c = HlcClock::new(7);
        let a = c.tick(1_000);
        let b = c.tick(1_000);
        let d = c.tick(900); // NTP stepped the clock back
        let e = c.tick(1_001);
        assert!(a < b && b < d && d < e, "{a} {b} {d} {e}");
        assert_eq!(d.wall_ms, 1_000);
        assert_eq!(e.counter, 0);
    }

    #[test]
    fn an_event_after_seeing_a_remote_one_sorts_after_it() {
        let mut slow = HlcClock::new(1);
        let remote = Hlc {
            wall_ms: 5_000,
            counter: 3,
            node: 2,
        };
        slow.observe(remote, 1_000); // this device's clock is 4 s behind
        let local = slow.tick(1_000);
        assert!(local > remote, "{local} > {remote}");
    }

    #[test]
    fn a_wildly_future_stamp_is_not_adopted() {
        let mut c = HlcClock::new(1);
        c.observe(
            Hlc {
                wall_ms: 10 * MAX_FORWARD_DRIFT_MS,
                counter: 0,
                node: 2,
            },
            1_000,
        );
        assert_eq!(c.tick(1_000).wall_ms, 1_000);
    }

    #[test]
    fn text_form_round_trips_and_sorts_like_the_stamp() {
        let stamps = [
            Hlc {
                wall_ms: 2,
                counter: 0,
                node: 1,
            },
            Hlc {
                wall_ms: 10,
                counter: 0,
                node: 0,
            },
            Hlc {
                wall_ms: 10,
                counter: 2,
                node: 0,
            },
            Hlc {
                wall_ms: 10,
                counter: 2,
                node: u64::MAX,
            },
        ];
        for w in stamps.windows(2) {
            assert!(w[0] < w[1]);
            assert!(w[0].to_string() < w[1].to_string());
        }
        for s in stamps {
            assert_eq!(s.to_string().parse::<Hlc>().unwrap(), s);
        }
        assert!("12.3".parse::<Hlc>().is_err());
        assert!(
            "000000000000000x.00000.0000000000000000"
                .parse::<Hlc>()
                .is_err()
        );
    }

    #[test]
    fn node_of_uses_hex_device_ids_and_hashes_others() {
        assert_eq!(node_of("3f2a9c0e11d4b7a8ffff"), 0x3f2a_9c0e_11d4_b7a8);
        assert_ne!(node_of("not-hex-device"), node_of("not-hex-devicf"));
    }
}

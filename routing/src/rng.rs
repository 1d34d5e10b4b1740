//! A small, fast, seedable generator (SplitMix64), so solver runs are
//! reproducible on every platform and crate version.

#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 11) as u128 * n as u128) >> 53) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// How long a solver may search. The search is a fixed trajectory for a seed;
/// whichever limit comes first ends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub time_limit_ms: u64,
    pub max_iterations: u64,
}

impl Budget {
    pub fn millis(ms: u64) -> Self {
        Self {
            time_limit_ms: ms,
            max_iterations: u64::MAX,
        }
    }

    pub fn iterations(n: u64) -> Self {
        Self {
            time_limit_ms: u64::MAX,
            max_iterations: n,
        }
    }
}

/// Tracks a [`Budget`] while a search runs.
#[derive(Debug)]
pub struct Clock {
    start: std::time::Instant,
    budget: Budget,
    pub iterations: u64,
}

impl Clock {
    pub fn start(budget: Budget) -> Self {
        Self {
            start: std::time::Instant::now(),
            budget,
            iterations: 0,
        }
    }

    pub fn elapsed_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1e3
    }

    /// Counts one iteration; false once the budget is spent. The clock is read
    /// every 16 iterations only.
    pub fn tick(&mut self) -> bool {
        self.iterations += 1;
        if self.iterations > self.budget.max_iterations {
            return false;
        }
        if self.budget.time_limit_ms == u64::MAX || !self.iterations.is_multiple_of(16) {
            return true;
        }
        self.start.elapsed().as_millis() < u128::from(self.budget.time_limit_ms)
    }

    /// How far through the budget the search is, in `[0, 1]`.
    pub fn progress(&self) -> f64 {
        let by_iter = if self.budget.max_iterations == u64::MAX {
            0.0
        } else {
            self.iterations as f64 / self.budget.max_iterations as f64
        };
        let by_time = if self.budget.time_limit_ms == u64::MAX {
            0.0
        } else {
            self.elapsed_ms() / self.budget.time_limit_ms as f64
        };
        by_iter.max(by_time).min(1.0)
    }
}

//! The symmetric travelling-salesman solver: iterated local search.
//!
//! Nearest-neighbour start; local search with 2-opt and Or-opt (segments of
//! 1–3 stops, both orientations) over 10-nearest-neighbour candidate lists and
//! a queue of "dirty" cities (don't-look bits); perturbation by a local double
//! bridge (two adjacent segments of up to 30 stops swapped); a perturbed tour is
//! kept when it is no longer than the current one. Instances of up to 9 cities
//! are enumerated exactly.
//!
//! Deterministic: the trajectory depends only on the weights and the seed; the
//! [`Budget`] decides only where it stops.

use super::rng::{Budget, Clock, Rng};

/// A tour and how it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct TspSolution {
    /// Every city once, starting with city 0.
    pub tour: Vec<usize>,
    /// Length of the closed tour.
    pub length: u64,
    pub iterations: u64,
    pub ms: f64,
    /// When the returned tour was first reached (it may be optimal long before
    /// the budget ends; the solver cannot know).
    pub best_ms: f64,
    pub best_iteration: u64,
}

const NEIGHBOURS: usize = 10;
const MAX_SEGMENT: usize = 30;

/// Solves the symmetric TSP on the dense `n x n` weights (row-major).
///
/// # Panics
/// If `weights.len() != n * n`.
pub fn solve(weights: &[u32], n: usize, seed: u64, budget: Budget) -> TspSolution {
    assert_eq!(weights.len(), n * n, "weights must be n x n");
    let mut clock = Clock::start(budget);
    if n <= 9 {
        let tour = exact(weights, n);
        let length = super::tsplib::tour_length(weights, n, &tour);
        return TspSolution {
            tour,
            length,
            iterations: 0,
            ms: clock.elapsed_ms(),
            best_ms: clock.elapsed_ms(),
            best_iteration: 0,
        };
    }
    let mut rng = Rng::new(seed);
    let mut ls = LocalSearch::new(weights, n, nearest_neighbour(weights, n));
    for c in 0..n as u32 {
        ls.push(c);
    }
    ls.run();
    let mut current = ls.length();
    let mut saved = ls.tour.clone();
    let (mut best_ms, mut best_iteration) = (clock.elapsed_ms(), 0);
    while clock.tick() {
        ls.double_bridge(&mut rng);
        ls.run();
        let len = ls.length();
        if len <= current {
            if len < current {
                best_ms = clock.elapsed_ms();
                best_iteration = clock.iterations;
            }
            current = len;
            saved.copy_from_slice(&ls.tour);
        } else {
            ls.restore(&saved);
        }
    }
    let mut tour: Vec<usize> = saved.iter().map(|&c| c as usize).collect();
    let zero = tour.iter().position(|&c| c == 0).unwrap_or(0);
    tour.rotate_left(zero);
    TspSolution {
        length: super::tsplib::tour_length(weights, n, &tour),
        tour,
        iterations: clock.iterations.saturating_sub(1),
        ms: clock.elapsed_ms(),
        best_ms,
        best_iteration,
    }
}

fn exact(w: &[u32], n: usize) -> Vec<usize> {
    if n <= 3 {
        return (0..n).collect();
    }
    // Fix city 0 first; enumerate permutations of the rest (Heap's algorithm).
    let mut rest: Vec<usize> = (1..n).collect();
    let mut best = rest.clone();
    let len = |r: &[usize]| {
        let mut t = u64::from(w[r[0]]) + u64::from(w[r[r.len() - 1] * n]);
        for p in r.windows(2) {
            t += u64::from(w[p[0] * n + p[1]]);
        }
        t
    };
    let mut best_len = len(&rest);
    let k = rest.len();
    let mut c = vec![0usize; k];
    let mut i = 0;
    while i < k {
        if c[i] < i {
            if i % 2 == 0 {
                rest.swap(0, i);
            } else {
                rest.swap(c[i], i);
            }
            let l = len(&rest);
            if l < best_len {
                best_len = l;
                best.copy_from_slice(&rest);
            }
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    std::iter::once(0).chain(best).collect()
}

fn nearest_neighbour(w: &[u32], n: usize) -> Vec<u32> {
    let mut used = vec![false; n];
    let mut tour = Vec::with_capacity(n);
    let mut cur = 0usize;
    used[0] = true;
    tour.push(0u32);
    for _ in 1..n {
        let row = &w[cur * n..(cur + 1) * n];
        let mut best = usize::MAX;
        let mut best_d = u32::MAX;
        for (j, &d) in row.iter().enumerate() {
            if !used[j] && (d < best_d || best == usize::MAX) {
                best = j;
                best_d = d;
            }
        }
        used[best] = true;
        tour.push(best as u32);
        cur = best;
    }
    tour
}

struct LocalSearch<'a> {
    n: usize,
    w: &'a [u32],
    tour: Vec<u32>,
    pos: Vec<u32>,
    k: usize,
    neigh: Vec<u32>,
    queue: std::collections::VecDeque<u32>,
    queued: Vec<bool>,
    scratch: Vec<u32>,
}

impl<'a> LocalSearch<'a> {
    fn new(w: &'a [u32], n: usize, tour: Vec<u32>) -> Self {
        let k = NEIGHBOURS.min(n - 1);
        let mut neigh = Vec::with_capacity(n * k);
        let mut row: Vec<u32> = Vec::with_capacity(n);
        for a in 0..n {
            row.clear();
            row.extend((0..n as u32).filter(|&b| b as usize != a));
            let key = |b: &u32| (w[a * n + *b as usize], *b);
            if row.len() > k {
                row.select_nth_unstable_by_key(k - 1, key);
                row.truncate(k);
            }
            row.sort_unstable_by_key(key);
            neigh.extend_from_slice(&row);
        }
        let mut pos = vec![0u32; n];
        for (i, &c) in tour.iter().enumerate() {
            pos[c as usize] = i as u32;
        }
        Self {
            n,
            w,
            tour,
            pos,
            k,
            neigh,
            queue: Default::default(),
            queued: vec![false; n],
            scratch: Vec::with_capacity(n),
        }
    }

    #[inline]
    fn d(&self, a: u32, b: u32) -> i64 {
        i64::from(self.w[a as usize * self.n + b as usize])
    }
    #[inline]
    fn succ(&self, a: u32) -> u32 {
        let p = self.pos[a as usize] as usize + 1;
        self.tour[if p == self.n { 0 } else { p }]
    }
    #[inline]
    fn pred(&self, a: u32) -> u32 {
        let p = self.pos[a as usize] as usize;
        self.tour[if p == 0 { self.n - 1 } else { p - 1 }]
    }

    fn push(&mut self, c: u32) {
        if !self.queued[c as usize] {
            self.queued[c as usize] = true;
            self.queue.push_back(c);
        }
    }

    fn length(&self) -> u64 {
        let mut total = 0u64;
        let mut prev = self.tour[self.n - 1];
        for &c in &self.tour {
            total += u64::from(self.w[prev as usize * self.n + c as usize]);
            prev = c;
        }
        total
    }

    fn restore(&mut self, saved: &[u32]) {
        self.tour.copy_from_slice(saved);
        for (i, &c) in self.tour.iter().enumerate() {
            self.pos[c as usize] = i as u32;
        }
    }

    /// Reverses the path from position `i` forward to position `j` (cyclic),
    /// or equivalently the complement, whichever is shorter.
    fn reverse(&mut self, i: usize, j: usize) {
        let n = self.n;
        let mut len = (j + n - i) % n + 1;
        let (mut i, mut j) = (i, j);
        if 2 * len > n {
            (i, j) = ((j + 1) % n, (i + n - 1) % n);
            len = n - len;
        }
        for _ in 0..len / 2 {
            let (a, b) = (self.tour[i], self.tour[j]);
            self.tour[i] = b;
            self.tour[j] = a;
            self.pos[b as usize] = i as u32;
            self.pos[a as usize] = j as u32;
            i = if i + 1 == n { 0 } else { i + 1 };
            j = if j == 0 { n - 1 } else { j - 1 };
        }
    }

    fn run(&mut self) {
        while let Some(a) = self.queue.pop_front() {
            self.queued[a as usize] = false;
            while self.two_opt(a) || self.or_opt(a) {}
        }
    }

    fn two_opt(&mut self, a: u32) -> bool {
        for forward in [true, false] {
            let b = if forward { self.succ(a) } else { self.pred(a) };
            let dab = self.d(a, b);
            for idx in 0..self.k {
                let c = self.neigh[a as usize * self.k + idx];
                let g1 = dab - self.d(a, c);
                if g1 <= 0 {
                    break;
                }
                let dd = if forward { self.succ(c) } else { self.pred(c) };
                if c == b || dd == a {
                    continue;
                }
                let gain = g1 + self.d(c, dd) - self.d(b, dd);
                if gain > 0 {
                    if forward {
                        self.reverse(self.pos[b as usize] as usize, self.pos[c as usize] as usize);
                    } else {
                        self.reverse(
                            self.pos[a as usize] as usize,
                            self.pos[dd as usize] as usize,
                        );
                    }
                    for x in [a, b, c, dd] {
                        self.push(x);
                    }
                    return true;
                }
            }
        }
        false
    }

    fn or_opt(&mut self, a: u32) -> bool {
        let n = self.n;
        for len in 1..=3usize {
            if len + 3 > n {
                break;
            }
            for starts_at_a in [true, false] {
                // The segment s1..s2 in tour direction.
                let (s1, s2) = if starts_at_a {
                    let mut s2 = a;
                    for _ in 1..len {
                        s2 = self.succ(s2);
                    }
                    (a, s2)
                } else {
                    let mut s1 = a;
                    for _ in 1..len {
                        s1 = self.pred(s1);
                    }
                    (s1, a)
                };
                if len == 1 && !starts_at_a {
                    continue;
                }
                let p = self.pred(s1);
                let nx = self.succ(s2);
                let g0 = self.d(p, s1) + self.d(s2, nx) - self.d(p, nx);
                if g0 <= 0 {
                    continue;
                }
                let p1 = self.pos[s1 as usize] as usize;
                let in_seg = |pos: &[u32], c: u32| (pos[c as usize] as usize + n - p1) % n < len;
                for end in [s1, s2] {
                    for idx in 0..self.k {
                        let c = self.neigh[end as usize * self.k + idx];
                        if self.d(end, c) >= g0 {
                            break;
                        }
                        if in_seg(&self.pos, c) {
                            continue;
                        }
                        for (x, y) in [(c, self.succ(c)), (self.pred(c), c)] {
                            if in_seg(&self.pos, x) || in_seg(&self.pos, y) {
                                continue;
                            }
                            let dxy = self.d(x, y);
                            let same = self.d(x, s1) + self.d(s2, y) - dxy;
                            let rev = self.d(x, s2) + self.d(s1, y) - dxy;
                            let (ins, reversed) = if rev < same {
                                (rev, true)
                            } else {
                                (same, false)
                            };
                            if g0 - ins > 0 {
                                self.move_segment(p1, len, x, reversed);
                                for z in [p, nx, x, y, s1, s2] {
                                    self.push(z);
                                }
                                return true;
                            }
                        }
                    }
                }
            }
        }
        false
    }

    /// Moves the `len` cities at positions `p1..` (cyclic) to just after city `x`,
    /// reversed or not. Rebuilds the tour array: O(n), and moves are rare.
    fn move_segment(&mut self, p1: usize, len: usize, x: u32, reversed: bool) {
        let n = self.n;
        let seg: Vec<u32> = (0..len).map(|k| self.tour[(p1 + k) % n]).collect();
        self.scratch.clear();
        for k in 0..n - len {
            let c = self.tour[(p1 + len + k) % n];
            self.scratch.push(c);
            if c == x {
                if reversed {
                    self.scratch.extend(seg.iter().rev());
                } else {
                    self.scratch.extend(seg.iter());
                }
            }
        }
        debug_assert_eq!(self.scratch.len(), n);
        std::mem::swap(&mut self.tour, &mut self.scratch);
        for (i, &c) in self.tour.iter().enumerate() {
            self.pos[c as usize] = i as u32;
        }
    }

    /// A local double bridge: after a random position, two adjacent segments
    /// B and C trade places (x B C y -> x C B y).
    fn double_bridge(&mut self, rng: &mut Rng) {
        let n = self.n;
        let max = MAX_SEGMENT.min((n - 2) / 2).max(1);
        let l1 = 1 + rng.below(max);
        let l2 = 1 + rng.below(max);
        let i = rng.below(n);
        let at = |k: usize| (i + k) % n;
        self.scratch.clear();
        for k in 0..l2 {
            self.scratch.push(self.tour[at(1 + l1 + k)]);
        }
        for k in 0..l1 {
            self.scratch.push(self.tour[at(1 + k)]);
        }
        let ends = [
            self.tour[at(0)],
            self.tour[at(1)],
            self.tour[at(l1)],
            self.tour[at(l1 + 1)],
            self.tour[at(l1 + l2)],
            self.tour[at(l1 + l2 + 1)],
        ];
        for k in 0..l1 + l2 {
            let c = self.scratch[k];
            self.tour[at(1 + k)] = c;
            self.pos[c as usize] = at(1 + k) as u32;
        }
        for c in ends {
            self.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn euclid(points: &[(i32, i32)]) -> Vec<u32> {
        let n = points.len();
        let mut w = vec![0; n * n];
        for i in 0..n {
            for j in 0..n {
                let (dx, dy) = (
                    f64::from(points[i].0 - points[j].0),
                    f64::from(points[i].1 - points[j].1),
                );
                w[i * n + j] = (dx * dx + dy * dy).sqrt().round() as u32;
            }
        }
        w
    }

    #[test]
    fn a_circle_is_solved_to_its_perimeter_order() {
        // 40 points on a circle, shuffled: the optimum visits them in angle order.
        let mut idx: Vec<usize> = (0..40).collect();
        super::Rng::new(3).shuffle(&mut idx);
        let pts: Vec<(i32, i32)> = idx
            .iter()
            .map(|&k| {
                let a = k as f64 * std::f64::consts::TAU / 40.0;
                ((1000.0 * a.cos()) as i32, (1000.0 * a.sin()) as i32)
            })
            .collect();
        let w = euclid(&pts);
        let sol = solve(&w, 40, 1, Budget::iterations(2_000));
        let by_angle: Vec<usize> = (0..40)
            .map(|k| idx.iter().position(|&x| x == k).unwrap())
            .collect();
        let optimum = crate::tsplib::tour_length(&w, 40, &by_angle);
        assert_eq!(sol.length, optimum);
    }

    #[test]
    fn small_instances_are_exact() {
        let pts = [(0, 0), (5, 9), (1, 1), (9, 5), (4, 4), (8, 0), (0, 8)];
        let w = euclid(&pts);
        let sol = solve(&w, 7, 0, Budget::iterations(0));
        // Brute force over all permutations for the reference.
        let mut best = u64::MAX;
        let mut perm: Vec<usize> = (1..7).collect();
        permute(&mut perm, 0, &mut |p| {
            let t: Vec<usize> = std::iter::once(0).chain(p.iter().copied()).collect();
            best = best.min(crate::tsplib::tour_length(&w, 7, &t));
        });
        assert_eq!(sol.length, best);
    }

    fn permute(v: &mut Vec<usize>, k: usize, f: &mut impl FnMut(&[usize])) {
        if k == v.len() {
            f(v);
            return;
        }
        for i in k..v.len() {
            v.swap(k, i);
            permute(v, k + 1, f);
            v.swap(k, i);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn tours_are_permutations_and_reproducible(
            pts in prop::collection::vec((0i32..1000, 0i32..1000), 3..80),
            seed in any::<u64>(),
        ) {
            let n = pts.len();
            let w = euclid(&pts);
            let a = solve(&w, n, seed, Budget::iterations(300));
            let mut sorted = a.tour.clone();
            sorted.sort_unstable();
            prop_assert_eq!(sorted, (0..n).collect::<Vec<_>>());
            prop_assert_eq!(a.tour[0], 0);
            prop_assert_eq!(a.length, crate::tsplib::tour_length(&w, n, &a.tour));
            // Never worse than the nearest-neighbour start.
            let nn: Vec<usize> = nearest_neighbour(&w, n).iter().map(|&c| c as usize).collect();
            prop_assert!(a.length <= crate::tsplib::tour_length(&w, n, &nn));
            let b = solve(&w, n, seed, Budget::iterations(300));
            prop_assert_eq!(a.tour, b.tour);
        }
    }
}

//! The symmetric travelling-salesman solver: iterated Lin–Kernighan.
//!
//! Nearest-neighbour start; local search over 10-nearest-neighbour candidate
//! lists and a queue of "dirty" cities (don't-look bits) with two moves:
//! - a Lin–Kernighan chain of up to 6 2-opt reversals, each removing the edge
//!   the previous one closed (breadth 3 and 2 at the first two levels, then 1),
//!   taken as soon as closing it shortens the tour: 2-opt plus the sequential
//!   3-, 4- … 6-opt moves 2-opt cannot reach;
//! - Or-opt (segments of 1–3 stops moved elsewhere, either orientation).
//!
//! Perturbation: a double bridge (two adjacent segments of up to 100 stops trade
//! places). Acceptance anneals over the budget: a worse tour is kept with a
//! probability that falls with its excess and with the share of the budget
//! (time or iterations) already spent, so early kicks leave the basin and the
//! end only descends; after 20·n kicks without a new best the walk resumes from
//! the best tour. Instances of up to 9 cities are enumerated exactly.
//!
//! Deterministic for a seed under an iteration budget (the acceptance schedule
//! then follows iterations, even if a time limit is set too; the time limit can
//! only cut the run short); under a time budget alone the schedule follows the
//! clock, so runs differ once the machine's speed does.

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
/// Longest segment a kick moves: long enough that a kick reaches outside the
/// 2- and 3-opt neighbourhood the local search repairs (30 stagnated).
const MAX_SEGMENT: usize = 100;
/// Kicks (per city) without a new best before the walk returns to the best tour.
const RESTART_AFTER: u64 = 20;

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
    // `current` is where the walk is; `best` the shortest tour seen.
    let mut current = ls.len;
    let mut saved = ls.tour.clone();
    let mut best = current;
    let mut best_tour = ls.tour.clone();
    let (mut best_ms, mut best_iteration) = (clock.elapsed_ms(), 0);
    let mut since_best = 0u64;
    // Worse tours are accepted like simulated annealing, with a temperature that
    // starts at a fraction of an average edge and falls to nothing as the budget
    // (time or iterations) runs out: early on the walk leaves its basin, at the end
    // it only descends.
    let avg_edge = (current as f64 / n as f64).max(1.0);
    let (t0, t1) = (0.03 * avg_edge, 0.0005 * avg_edge);
    while clock.tick() {
        // With an iteration budget the schedule follows iterations only, so the
        // run is the same on every machine even when a time limit is also set.
        let progress = if budget.max_iterations == u64::MAX {
            clock.progress()
        } else {
            (clock.iterations as f64 / budget.max_iterations as f64).min(1.0)
        };
        let temp = t0 * (t1 / t0).powf(progress);
        ls.double_bridge(&mut rng, MAX_SEGMENT);
        ls.run();
        let len = ls.len;
        debug_assert_eq!(len as u64, ls.length());
        since_best += 1;
        if len < best {
            best = len;
            best_tour.copy_from_slice(&ls.tour);
            best_ms = clock.elapsed_ms();
            best_iteration = clock.iterations;
            since_best = 0;
        }
        let threshold = current as f64 - temp * rng.unit().max(1e-12).ln();
        if (len as f64) <= threshold {
            current = len;
            saved.copy_from_slice(&ls.tour);
        } else if since_best > RESTART_AFTER * n as u64 {
            // Long without a new best: walk on from the best tour.
            ls.restore(&best_tour, best);
            saved.copy_from_slice(&best_tour);
            current = best;
            since_best = 0;
        } else {
            ls.restore(&saved, current);
        }
    }
    let saved = best_tour;
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
    /// Length of the current tour, kept up to date by every move.
    len: i64,
    k: usize,
    neigh: Vec<u32>,
    queue: std::collections::VecDeque<u32>,
    queued: Vec<bool>,
    scratch: Vec<u32>,
    /// The reversals of the LK chain being tried (position pairs; each undoes itself).
    chain: Vec<(usize, usize)>,
    /// Edges the chain has added (they may not be removed again in the same chain).
    added: Vec<(u32, u32)>,
}

/// Candidates tried at each level of the LK chain (first levels backtrack).
const BREADTH: [usize; LK_DEPTH] = [3, 2, 1, 1, 1, 1];
const LK_DEPTH: usize = 6;
/// Neighbours of `t2` scanned for `t3` in the LK chain.
const LK_CANDIDATES: usize = 8;

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
        let mut ls = Self {
            n,
            w,
            tour,
            pos,
            len: 0,
            k,
            neigh,
            queue: Default::default(),
            queued: vec![false; n],
            scratch: Vec::with_capacity(n),
            chain: Vec::with_capacity(LK_DEPTH),
            added: Vec::with_capacity(LK_DEPTH),
        };
        ls.len = ls.length() as i64;
        ls
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

    /// Recomputes the length from scratch (the incremental `len` is checked against it in tests).
    fn length(&self) -> u64 {
        let mut total = 0u64;
        let mut prev = self.tour[self.n - 1];
        for &c in &self.tour {
            total += u64::from(self.w[prev as usize * self.n + c as usize]);
            prev = c;
        }
        total
    }

    fn restore(&mut self, saved: &[u32], len: i64) {
        self.tour.copy_from_slice(saved);
        for (i, &c) in self.tour.iter().enumerate() {
            self.pos[c as usize] = i as u32;
        }
        self.len = len;
    }

    /// Reverses the path from position `i` forward to position `j` (cyclic),
    /// or equivalently the complement, whichever is shorter. Calling it twice
    /// with the same positions restores the tour.
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
            while self.lk(a) || self.or_opt(a) {}
        }
    }

    /// A Lin–Kernighan move from `t1`: a chain of up to [`LK_DEPTH`] 2-opt
    /// reversals, each removing the edge the previous one closed, taken as soon
    /// as closing the chain shortens the tour. Depth 1 is 2-opt; depth 2 and 3
    /// reach the sequential 3-opt and 4-opt moves 2-opt alone cannot.
    fn lk(&mut self, t1: u32) -> bool {
        for t2 in [self.succ(t1), self.pred(t1)] {
            self.chain.clear();
            self.added.clear();
            let g = self.d(t1, t2);
            if self.lk_step(t1, t2, g, 0) {
                return true;
            }
        }
        false
    }

    /// One level of the chain: the tour has the edge (t1, t2) to remove and `g`
    /// is the gain so far counting that edge as removed.
    fn lk_step(&mut self, t1: u32, t2: u32, g: i64, depth: usize) -> bool {
        let fwd = self.succ(t1) == t2;
        // Candidates t3 near t2, each with its t4 (the one choice that keeps a tour)
        // and the gain after removing (t3, t4); best first.
        let mut cand = [(0i64, 0u32, 0u32); LK_CANDIDATES];
        let mut nc = 0;
        for idx in 0..self.k.min(LK_CANDIDATES) {
            let t3 = self.neigh[t2 as usize * self.k + idx];
            let g1 = g - self.d(t2, t3);
            if g1 <= 0 {
                break;
            }
            if t3 == t1 {
                continue;
            }
            let t4 = if fwd { self.pred(t3) } else { self.succ(t3) };
            if t4 == t2
                || self
                    .added
                    .iter()
                    .any(|&(a, b)| (a == t3 && b == t4) || (a == t4 && b == t3))
            {
                continue;
            }
            cand[nc] = (g1 + self.d(t3, t4), t3, t4);
            nc += 1;
        }
        let cand = &mut cand[..nc];
        // Closing now needs no reversal to evaluate: the best closing move wins.
        let mut closing = None;
        let mut best_close = 0;
        for &(g2, t3, t4) in cand.iter() {
            let close = g2 - self.d(t4, t1);
            if close > best_close {
                best_close = close;
                closing = Some((t3, t4));
            }
        }
        if let Some((t3, t4)) = closing {
            self.apply_reversal(t1, t2, t4, fwd);
            self.added.push((t2, t3));
            self.len -= best_close;
            self.push(t1);
            for k in 0..self.added.len() {
                let (a, b) = self.added[k];
                self.push(a);
                self.push(b);
            }
            self.push(t4);
            return true;
        }
        if depth + 1 == LK_DEPTH {
            return false;
        }
        cand.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
        for &(g2, t3, t4) in cand.iter().take(BREADTH[depth]) {
            self.apply_reversal(t1, t2, t4, fwd);
            self.added.push((t2, t3));
            if self.lk_step(t1, t4, g2, depth + 1) {
                return true;
            }
            self.added.pop();
            let (i, j) = self.chain.pop().expect("pushed above");
            self.reverse(i, j);
        }
        false
    }

    /// Removes (t1, t2) and (t3, t4), adds (t2, t3) and (t4, t1): one reversal,
    /// logged in `chain` so the chain can be undone.
    fn apply_reversal(&mut self, _t1: u32, t2: u32, t4: u32, fwd: bool) {
        let (p2, p4) = (
            self.pos[t2 as usize] as usize,
            self.pos[t4 as usize] as usize,
        );
        let (i, j) = if fwd { (p2, p4) } else { (p4, p2) };
        self.reverse(i, j);
        self.chain.push((i, j));
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
                                self.len -= g0 - ins;
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
    fn double_bridge(&mut self, rng: &mut Rng, max_segment: usize) {
        let n = self.n;
        let max = max_segment.min((n - 2) / 2).max(1);
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
        let ends @ [x, b1, b2, c1, c2, y] = [
            self.tour[at(0)],
            self.tour[at(1)],
            self.tour[at(l1)],
            self.tour[at(l1 + 1)],
            self.tour[at(l1 + l2)],
            self.tour[at(l1 + l2 + 1)],
        ];
        self.len += self.d(x, c1) + self.d(c2, b1) + self.d(b2, y)
            - self.d(x, b1)
            - self.d(b2, c1)
            - self.d(c2, y);
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
    fn kicks_improve_on_the_first_local_optimum() {
        // Issue 24: the old search stayed in its first basin. 150 random cities:
        // the descent alone (no kicks) is beaten once kicks are allowed.
        let mut rng = super::Rng::new(7);
        let pts: Vec<(i32, i32)> = (0..150)
            .map(|_| (rng.below(10_000) as i32, rng.below(10_000) as i32))
            .collect();
        let w = euclid(&pts);
        let descent = solve(&w, 150, 1, Budget::iterations(0));
        let searched = solve(&w, 150, 1, Budget::iterations(1_500));
        assert!(
            searched.length < descent.length,
            "{} !< {}",
            searched.length,
            descent.length
        );
        assert!(searched.best_iteration > 0);
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

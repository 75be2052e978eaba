//! The CPU scorer: a block of rows walks one tree together, branch-free, for as many steps as
//! the tree is deep, so the cache misses of different rows overlap instead of queueing behind
//! each other's branches. A row that reaches a leaf early stays there (a leaf's step is 0).
//!
//! It computes exactly what the one-row walk computes (the reduction rule of the layout), so
//! its outputs are the oracle's bits; the tests compare it with [`FlatForest::reference_scores`].

use super::{FlatForest, LANES, MISSING_LEFT};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Rows that walk a tree together, each with its node index in a register: enough independent
/// chains to overlap their loads, few enough to fit x86-64's registers (16 spill).
const GROUP: usize = 8;
/// Rows that go through a tree before it is left for the next: its nodes (about 25 KB for depth
/// 12) are reused by this many rows while in L1/L2. Measured: 8k-16k rows best, 2k 30% slower.
const CHUNK: usize = 16384;

/// Per-tree depth (steps from the root to the deepest leaf), for a forest whose indices are all
/// in bounds. Checking that is what makes the unchecked walk below sound.
pub(super) struct Plan {
    depth: Vec<u32>,
    /// The walk for narrow forests ([`Plan::choose_walk`]).
    walk: Walk,
}

/// Where a plan is made: on every core, or on the caller's thread alone.
#[derive(Clone, Copy)]
pub(super) enum Threads {
    All,
    One,
}

impl Plan {
    /// Picks the walk for `f` on this machine ([`choose`]), measured on `x` (a whole batch: its
    /// parts, one per task, may each be too small to measure on).
    pub(super) fn choose_walk(&mut self, f: &FlatForest, x: &[f32]) {
        self.walk = choose(f, self, x);
    }

    /// `None` when `f` fails [`FlatForest::validate`]: then only the checked walk may read it.
    /// Tree by tree on all cores: it costs a few ns a node, milliseconds for a large forest.
    pub(super) fn new(f: &FlatForest, threads: Threads) -> Option<Plan> {
        f.validate_whole().ok()?;
        let tree = |t: usize| {
            f.validate_tree(t).ok()?;
            let (root, end) = f.tree_range(t);
            let (root, end) = (root as usize, end as usize);
            // Children come after their parent (pre-order), so a backward pass sees them first.
            let mut below = vec![0u32; end - root];
            for i in (0..end - root).rev() {
                let far = f.node(root + i).far as usize;
                if far != 0 {
                    below[i] = 1 + below[i + 1].max(below[i + far]);
                }
            }
            Some(below[0])
        };
        let depth = match threads {
            Threads::All => crate::parallel::map(f.n_trees(), tree),
            Threads::One => (0..f.n_trees()).map(tree).collect(),
        };
        depth
            .into_iter()
            .collect::<Option<Vec<u32>>>()
            .map(|depth| Plan {
                depth,
                walk: Walk::Scalar,
            })
    }
}

/// The node after node `i` for row `r` of `rows` (`nf` wide).
/// `NAN`: the rows may hold missing values (without, the rule needs one comparison less).
///
/// # Safety
/// `nodes` passed [`Plan::new`], `i` is a node of it reached from a root, `r` is a row of `rows`.
#[inline(always)]
unsafe fn step<const WIDE: bool, const NAN: bool>(
    nodes: &[u32],
    i: usize,
    rows: &[f32],
    r: usize,
    nf: usize,
) -> usize {
    let w = if WIDE { 4 } else { 2 } * i;
    // SAFETY: the plan validated every child index and feature; `r` is in `rows` (caller).
    unsafe {
        let value = *nodes.get_unchecked(w);
        let (far, feature, missing_left) = if WIDE {
            (
                *nodes.get_unchecked(w + 1),
                *nodes.get_unchecked(w + 2),
                *nodes.get_unchecked(w + 3) & MISSING_LEFT != 0,
            )
        } else {
            let m = *nodes.get_unchecked(w + 1);
            (m & 0xffff, (m >> 16) & 0x7fff, m >> 31 != 0)
        };
        let x = *rows.get_unchecked(r * nf + feature as usize);
        // The threshold rule of the layout; `|` and `&` keep it free of branches.
        let left = if NAN {
            (x <= f32::from_bits(value)) | (x.is_nan() & missing_left)
        } else {
            x <= f32::from_bits(value)
        };
        // Near: +1, far: +far, and a leaf (far 0) stays put. Without the hint this compiles to
        // a branch, taken at random: half of them mispredict, and the walk runs 5x slower.
        let s = std::hint::select_unpredictable(left, 1, far);
        i + s.min(far) as usize
    }
}

/// Where rows `r0..r0 + GROUP` of `rows` end after `depth` steps from `root`.
///
/// # Safety
/// As [`step`], for each of those rows.
#[inline(always)]
unsafe fn walk_group<const WIDE: bool, const NAN: bool>(
    nodes: &[u32],
    root: usize,
    depth: u32,
    rows: &[f32],
    r0: usize,
    nf: usize,
) -> [usize; GROUP] {
    let mut at = [root; GROUP];
    for _ in 0..depth {
        for (k, i) in at.iter_mut().enumerate() {
            // SAFETY: the caller's.
            *i = unsafe { step::<WIDE, NAN>(nodes, *i, rows, r0 + k, nf) };
        }
    }
    at
}

impl FlatForest {
    /// [`Self::raw_scores`] through `plan`: rows in chunks; each chunk goes through every tree in
    /// the lane order, a group of rows at a time.
    pub(super) fn planned_scores<const WIDE: bool>(
        &self,
        plan: &Plan,
        x: &[f32],
        scores: &mut [f32],
    ) {
        self.walk_planned::<WIDE>(plan, x, scores, plan.walk)
    }

    /// The planned scores, whole groups of [`WALK_ROWS`] rows by `walk` (an available one) when
    /// the forest [`fits`] it.
    fn walk_planned<const WIDE: bool>(
        &self,
        plan: &Plan,
        x: &[f32],
        scores: &mut [f32],
        walk: Walk,
    ) {
        if x.iter().any(|v| v.is_nan()) {
            self.planned::<WIDE, true>(plan, x, scores, walk)
        } else {
            self.planned::<WIDE, false>(plan, x, scores, walk)
        }
    }

    fn planned<const WIDE: bool, const NAN: bool>(
        &self,
        plan: &Plan,
        x: &[f32],
        scores: &mut [f32],
        walk: Walk,
    ) {
        let (nf, lw) = (self.n_features as usize, self.leaf_width());
        let n_trees = self.n_trees();
        let words = self.node_words();
        // Leaves of one number: a row's score. Leaf vectors: added to the row's `lw` sums.
        let add = |acc: &mut [f32], i: usize| {
            let v = self.nodes[i * words];
            if lw == 1 {
                acc[0] += f32::from_bits(v);
            } else {
                let v = v as usize;
                for (a, &p) in acc.iter_mut().zip(&self.leaf_values[v..v + lw]) {
                    *a += p;
                }
            }
        };
        let chunk = (CHUNK / lw).max(GROUP * 128);
        let vector = walk != Walk::Scalar && !WIDE && fits(self);
        let mut lane = vec![0.0f32; chunk.min(x.len() / nf) * lw];
        for (rows, total) in x.chunks(chunk * nf).zip(scores.chunks_mut(chunk * lw)) {
            let n = rows.len() / nf;
            total.fill(0.0);
            let lane = &mut lane[..total.len()];
            for l in 0..LANES.min(n_trees) {
                lane.fill(0.0);
                for t in (l..n_trees).step_by(LANES) {
                    let (root, depth) = (self.roots[t] as usize, plan.depth[t]);
                    let mut r0 = 0;
                    if vector {
                        let mut at = [0u32; WALK_ROWS];
                        while r0 + WALK_ROWS <= n {
                            // SAFETY: `walk` is available (the caller's), the forest fits and
                            // is valid (the plan); rows r0.. r0 + WALK_ROWS exist.
                            unsafe {
                                walk.run::<NAN>(
                                    &self.nodes,
                                    root as u32,
                                    depth,
                                    rows,
                                    r0,
                                    nf,
                                    &mut at,
                                )
                            };
                            for (k, &i) in at.iter().enumerate() {
                                add(&mut lane[(r0 + k) * lw..(r0 + k + 1) * lw], i as usize);
                            }
                            r0 += WALK_ROWS;
                        }
                    }
                    while r0 + GROUP <= n {
                        // SAFETY: a validated forest, from a root; rows r0.. r0 + GROUP exist.
                        let at = unsafe {
                            walk_group::<WIDE, NAN>(&self.nodes, root, depth, rows, r0, nf)
                        };
                        for (k, &i) in at.iter().enumerate() {
                            add(&mut lane[(r0 + k) * lw..(r0 + k + 1) * lw], i);
                        }
                        r0 += GROUP;
                    }
                    for r in r0..n {
                        let mut i = root;
                        for _ in 0..depth {
                            // SAFETY: as above.
                            i = unsafe { step::<WIDE, NAN>(&self.nodes, i, rows, r, nf) };
                        }
                        add(&mut lane[r * lw..(r + 1) * lw], i);
                    }
                }
                total.iter_mut().zip(lane.iter()).for_each(|(t, s)| *t += s);
            }
        }
    }
}

/// The walks a narrow forest can take: the scalar one everywhere, vector ones on x86-64.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(super) enum Walk {
    Scalar,
    Avx2,
}

/// Rows a [`Walk`] takes through a tree at once.
const WALK_ROWS: usize = 32;

impl Walk {
    /// Those this CPU can run.
    fn available() -> Vec<Walk> {
        #[allow(unused_mut)]
        let mut w = vec![Walk::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") {
                w.push(Walk::Avx2);
            }
        }
        w
    }

    fn name(self) -> &'static str {
        match self {
            Walk::Scalar => "scalar",
            Walk::Avx2 => "avx2",
        }
    }

    /// Where rows `r0..r0 + WALK_ROWS` end after `depth` steps from `root`, into `out`.
    ///
    /// # Safety
    /// The walk is [`available`](Self::available); `nodes` is narrow, passed [`Plan::new`] and
    /// has fewer than 2^28 nodes, `nf` < 2^20 ([`fits`]); `root` is a root of depth `depth`;
    /// rows `r0..r0 + WALK_ROWS` exist.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn run<const NAN: bool>(
        self,
        nodes: &[u32],
        root: u32,
        depth: u32,
        rows: &[f32],
        r0: usize,
        nf: usize,
        out: &mut [u32; WALK_ROWS],
    ) {
        // SAFETY: the caller's.
        unsafe {
            match self {
                #[cfg(target_arch = "x86_64")]
                Walk::Avx2 => simd::walk::<NAN>(nodes, root, depth, rows, r0, nf, out),
                _ => {
                    for g in (0..WALK_ROWS).step_by(GROUP) {
                        let at =
                            walk_group::<false, NAN>(nodes, root as usize, depth, rows, r0 + g, nf);
                        for (o, i) in out[g..g + GROUP].iter_mut().zip(at) {
                            *o = i as u32;
                        }
                    }
                }
            }
        }
    }
}

/// Whether the vector walks can read `f`: narrow nodes, gather offsets that fit i32.
fn fits(f: &FlatForest) -> bool {
    !f.wide && f.n_nodes() < 1 << 28 && (f.n_features as usize) < 1 << 20
}

static CHOICE: OnceLock<Walk> = OnceLock::new();
/// Rows of the batch that decides the walk.
const CALIBRATION_ROWS: usize = 4096;

/// The walk to use for `f` on this machine: the fastest, measured once (for the process) on the
/// first batch of [`CALIBRATION_ROWS`] rows or more, the scalar one until then; all give the
/// same bits. Gathers are fast on some CPUs and slow on others: the AVX2 walk was 1.2x faster
/// than the scalar one on the H100 host's Xeon (16 threads) and 1.5x slower on the dev
/// machine's EPYC (Zen 3). `FOREST_CPU_WALK=scalar|avx2` decides instead.
fn choose(f: &FlatForest, plan: &Plan, x: &[f32]) -> Walk {
    let available = Walk::available();
    if !fits(f) {
        return Walk::Scalar;
    }
    if let Ok(name) = std::env::var("FOREST_CPU_WALK")
        && let Some(&w) = available.iter().find(|w| w.name() == name)
    {
        return w;
    }
    if let Some(&w) = CHOICE.get() {
        return w;
    }
    let nf = f.n_features as usize;
    if available.len() == 1 || x.len() / nf < CALIBRATION_ROWS {
        return Walk::Scalar;
    }
    *CHOICE.get_or_init(|| {
        let rows = &x[..CALIBRATION_ROWS * nf];
        let trees = 0..f.n_trees().min(8);
        let mut sink = 0u32;
        let mut time = |w: Walk| {
            let t = Instant::now();
            for tr in trees.clone() {
                let (root, depth) = (f.roots[tr], plan.depth[tr]);
                let mut out = [0u32; WALK_ROWS];
                for r0 in (0..CALIBRATION_ROWS).step_by(WALK_ROWS) {
                    // SAFETY: `w` is available, `f` fits and is valid (the plan); the rows exist.
                    unsafe { w.run::<true>(&f.nodes, root, depth, rows, r0, nf, &mut out) };
                    sink = sink.wrapping_add(out[0]);
                }
            }
            t.elapsed()
        };
        // Round after round, best of 3 each: a busy moment of the machine hits them all.
        let mut best = vec![Duration::MAX; available.len()];
        for _ in 0..3 {
            for (b, &w) in best.iter_mut().zip(&available) {
                *b = (*b).min(time(w));
            }
        }
        std::hint::black_box(sink);
        let fastest = (0..available.len()).min_by_key(|&i| best[i]).unwrap_or(0);
        available[fastest]
    })
}

/// Which walk scores on this machine: "scalar", "avx2", or "undecided" before the
/// first batch large enough to measure them on.
pub fn cpu_walk() -> &'static str {
    match CHOICE.get() {
        Some(w) => w.name(),
        None if Walk::available().len() > 1 => "undecided",
        None => "scalar",
    }
}

/// The walk with AVX2 gathers, 8 rows a vector, for narrow nodes on x86-64.
#[cfg(target_arch = "x86_64")]
mod simd {
    use super::WALK_ROWS as ROWS;
    use std::arch::x86_64::*;

    /// 4 vectors of 8 rows, so that 4 chains of gathers overlap.
    const VECTORS: usize = ROWS / 8;

    /// The node indices where rows `r0..r0 + ROWS` of `rows` (`nf` wide) end after `depth`
    /// steps from `root`, into `out`: the rule of [`super::step`], 8 rows an instruction.
    ///
    /// # Safety
    /// AVX2 is present; `nodes` is narrow and passed [`super::Plan::new`], with fewer than 2^28
    /// nodes; `root` is a root of depth `depth`; rows `r0..r0 + ROWS` exist; `nf` < 2^20.
    #[target_feature(enable = "avx2")]
    pub unsafe fn walk<const NAN: bool>(
        nodes: &[u32],
        root: u32,
        depth: u32,
        rows: &[f32],
        r0: usize,
        nf: usize,
        out: &mut [u32; ROWS],
    ) {
        // SAFETY: every gathered address is a node word or a feature of rows r0.. r0 + ROWS,
        // by the caller's promises; indices fit i32 (2^28 nodes x 8 bytes, 32 x 2^20 features).
        unsafe {
            let base = rows.as_ptr().add(r0 * nf);
            let values = nodes.as_ptr() as *const f32;
            let words = nodes.as_ptr().add(1) as *const i32;
            let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let nf_v = _mm256_set1_epi32(nf as i32);
            let row_offset: [__m256i; VECTORS] = std::array::from_fn(|v| {
                _mm256_mullo_epi32(
                    _mm256_add_epi32(_mm256_set1_epi32(8 * v as i32), lanes),
                    nf_v,
                )
            });
            let (far_mask, feature_mask) = (_mm256_set1_epi32(0xffff), _mm256_set1_epi32(0x7fff));
            let one = _mm256_set1_epi32(1);
            let mut at = [_mm256_set1_epi32(root as i32); VECTORS];
            for _ in 0..depth {
                for (i, offset) in at.iter_mut().zip(&row_offset) {
                    let t = _mm256_i32gather_ps::<8>(values, *i);
                    let m = _mm256_i32gather_epi32::<8>(words, *i);
                    let far = _mm256_and_si256(m, far_mask);
                    let feature = _mm256_and_si256(_mm256_srli_epi32::<16>(m), feature_mask);
                    let x = _mm256_i32gather_ps::<4>(base, _mm256_add_epi32(*offset, feature));
                    let mut left = _mm256_cmp_ps::<_CMP_LE_OQ>(x, t);
                    if NAN {
                        let missing = _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x);
                        let missing_left = _mm256_castsi256_ps(_mm256_srai_epi32::<31>(m));
                        left = _mm256_or_ps(left, _mm256_and_ps(missing, missing_left));
                    }
                    let s = _mm256_blendv_epi8(far, one, _mm256_castps_si256(left));
                    *i = _mm256_add_epi32(*i, _mm256_min_epu32(s, far));
                }
            }
            for (v, i) in at.iter().enumerate() {
                _mm256_storeu_si256(out.as_mut_ptr().add(8 * v) as *mut __m256i, *i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Dataset, synth};
    use crate::flat::{Builder, pack};
    use crate::forest::{Params, Trainer};

    /// `d` with about one value in 20 missing, at places that depend on `seed`.
    fn with_missing(mut d: Dataset, seed: usize) -> Dataset {
        for (i, v) in d.x.iter_mut().enumerate() {
            if (i * 7919 + seed).is_multiple_of(20) {
                *v = f32::NAN;
            }
        }
        d
    }

    fn forest(d: &Dataset, n_outputs: usize, depth: Option<usize>) -> FlatForest {
        let params = Params {
            n_trees: 23,
            max_depth: depth,
            ..Params::default()
        };
        let trees = Trainer::new(d, &params).unwrap().grow_trees(0..23, &|| {});
        FlatForest::from_trees(&trees, d.n_features, n_outputs)
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Every way the CPU scores (planned on all cores, planned on one, the reference walk) gives
    /// the same bits: regression, binary and multi-class leaves, narrow and wide nodes, rows
    /// with and without missing values, row counts that are not whole groups.
    #[test]
    fn the_planned_walk_gives_the_reference_bits() {
        let cases: Vec<(Dataset, usize)> = vec![
            (synth::regression(1500, 9, 5, 0.3, 1), 1),
            (synth::classification(1500, 9, 5, 2, 2), 2),
            (synth::classification(1500, 9, 5, 5, 3), 5),
        ];
        for (d, n_out) in cases {
            for depth in [Some(4), None] {
                let train = with_missing(d.subset(&(0..1000).collect::<Vec<_>>()), 1);
                let narrow = forest(&train, n_out, depth);
                let mut wide = narrow.clone();
                wide.nodes.clear();
                for i in 0..narrow.n_nodes() {
                    pack(&narrow.node(i), true, &mut wide.nodes);
                }
                wide.wide = true;
                let query = d.subset(&(1000..1500).collect::<Vec<_>>());
                for q in [query.clone(), with_missing(query, 3)] {
                    for f in [&narrow, &wide] {
                        for rows in [q.n_rows, 64 * 3 + 5, 1] {
                            let x = &q.x[..rows * q.n_features];
                            let mut want = vec![0.0; rows * n_out];
                            f.predict_reference(x, &mut want);
                            let mut one = vec![0.0; want.len()];
                            f.predict_single_thread(x, &mut one);
                            let ctx = format!(
                                "{n_out} outputs, depth {depth:?}, wide {}, {rows} rows",
                                f.wide
                            );
                            assert_eq!(bits(&one), bits(&want), "{ctx}");
                            assert_eq!(bits(&f.predict(x)), bits(&want), "{ctx}");
                            let mut prepared = vec![0.0; want.len()];
                            crate::flat::Prepared::new(f.clone())
                                .predict_single_thread(x, &mut prepared);
                            assert_eq!(bits(&prepared), bits(&want), "{ctx}, prepared");
                            // Both walks, whichever this machine prefers (the AVX2 one only
                            // where the CPU has it; narrow forests only).
                            if rows < 64 {
                                continue;
                            }
                            let plan = Plan::new(f, Threads::One).unwrap();
                            for walk in Walk::available() {
                                let mut scores = vec![0.0; rows * f.leaf_width()];
                                if f.wide {
                                    f.walk_planned::<true>(&plan, x, &mut scores, walk);
                                } else {
                                    f.walk_planned::<false>(&plan, x, &mut scores, walk);
                                }
                                let mut out = vec![0.0; want.len()];
                                f.finish_outputs(&scores, &mut out);
                                assert_eq!(bits(&out), bits(&want), "{ctx}, {walk:?} walk");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_plan_knows_each_trees_depth_and_refuses_bad_indices() {
        // Tree 0: a leaf. Tree 1: a split whose far child splits again (depth 2).
        let mut b = Builder::new(2, 1);
        b.start_tree();
        b.leaf(&[1.0]);
        b.start_tree();
        let s = b.split(0, 0.5, false);
        b.leaf(&[2.0]);
        b.set_far(s);
        let s = b.split(1, 0.5, true);
        b.leaf(&[3.0]);
        b.set_far(s);
        b.leaf(&[4.0]);
        let f = b.finish();
        assert_eq!(Plan::new(&f, Threads::All).unwrap().depth, vec![0, 2]);
        let mut bad = f.clone();
        bad.n_features = 1; // the second split reads feature 1
        assert!(Plan::new(&bad, Threads::All).is_none());
        // The planned walk reads a leaf's feature too (the row stays put, but the load
        // happens), so a leaf's feature must be in range as well.
        let mut bad = f.clone();
        bad.nodes[1] = 7 << 16; // node 0, a leaf: far 0, feature 7
        assert!(bad.validate().is_err());
        assert!(Plan::new(&bad, Threads::One).is_none());
    }
}

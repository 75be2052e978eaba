//! The CPU walk: a block of rows walks one tree together, branch-free, for as many steps as
//! the tree is deep, so the cache misses of different rows overlap instead of queueing behind
//! each other's branches. A row that reaches a leaf early stays there (a leaf's step is 0).
//!
//! It computes exactly what the one-row walk of the layout computes (its reduction rule), so
//! its sums are the oracle's bits; `gpuforest`'s tests compare them with the reference walk.
//! The layout ([`crate::layout`]) is read here through [`ForestView`], plain slices.

use crate::layout::unpack_narrow;
pub use crate::layout::{LANES, MISSING_LEFT};

/// Rows that walk a tree together, each with its node index in a register: enough independent
/// chains to overlap their loads, few enough to fit x86-64's registers (16 spill).
const GROUP: usize = 8;
/// Rows that go through a tree before it is left for the next: its nodes (about 25 KB for depth
/// 12) are reused by this many rows while in L1/L2. Measured: 8k-16k rows best, 2k 30% slower.
const CHUNK: usize = 16384;
/// Rows from which a group shorter than [`GROUP`] walks as a group (padded) rather than row by
/// row. Dev machine, 200 trees of depth 12, before the short group: 8 rows 0.025 ms, 9 rows
/// 0.037 (so a row alone after a group about 0.012), 3 rows 0.041, 7 rows 0.056.
const SHORT_GROUP: usize = 3;

/// A forest in the flat layout, as the walk reads it.
pub struct ForestView<'a> {
    /// 2 words a node (narrow) or 4 (wide).
    pub nodes: &'a [u32],
    pub wide: bool,
    /// Each tree's root node.
    pub roots: &'a [u32],
    /// Each tree's depth: steps from the root to its deepest leaf.
    pub depth: &'a [u32],
    /// The leaf vectors, where a leaf holds more than one number.
    pub leaf_values: &'a [f32],
    /// Numbers a leaf holds (1: inline in the leaf's node).
    pub leaf_width: usize,
    pub n_features: usize,
}

impl ForestView<'_> {
    /// The leaf sums of rows `x` (`n_features` values a row, row-major), `leaf_width` a row,
    /// into `scores`: the planned walk, by `walk` where the forest [`fits`](Self::fits) it.
    ///
    /// # Safety
    /// The forest is valid ([`crate::layout::validate`]: every child index, feature and leaf
    /// vector in bounds), `depth` holds its trees' depths, and `walk` is
    /// [`available`](Walk::available).
    pub unsafe fn scores(&self, x: &[f32], scores: &mut [f32], walk: Walk) {
        // SAFETY: the caller's.
        unsafe {
            match (self.wide, x.iter().any(|v| v.is_nan())) {
                (true, true) => self.planned::<true, true>(x, scores, walk),
                (true, false) => self.planned::<true, false>(x, scores, walk),
                (false, true) => self.planned::<false, true>(x, scores, walk),
                (false, false) => self.planned::<false, false>(x, scores, walk),
            }
        }
    }

    /// Whether the vector walks can read the forest: narrow nodes, gather offsets that fit i32.
    pub fn fits(&self) -> bool {
        !self.wide && self.nodes.len() / 2 < 1 << 28 && self.n_features < 1 << 20
    }

    /// Adds leaf `i`'s output to a row's sums `acc`: a leaf of one number is the row's score,
    /// a leaf vector is added to its `acc.len()` sums. Always inlined, as the walk's steps.
    #[inline(always)]
    fn add_leaf(&self, acc: &mut [f32], i: usize, words: usize) {
        let (v, lw) = (self.nodes[i * words], acc.len());
        if lw == 1 {
            acc[0] += f32::from_bits(v);
        } else {
            let v = v as usize;
            for (a, &p) in acc.iter_mut().zip(&self.leaf_values[v..v + lw]) {
                *a += p;
            }
        }
    }

    /// [`Self::scores`] for one node width, and for rows with or without missing values: rows
    /// in chunks; each chunk goes through every tree in the lane order, a group at a time.
    ///
    /// # Safety
    /// As [`Self::scores`].
    unsafe fn planned<const WIDE: bool, const NAN: bool>(
        &self,
        x: &[f32],
        scores: &mut [f32],
        walk: Walk,
    ) {
        let (nf, lw) = (self.n_features, self.leaf_width);
        let n_trees = self.roots.len();
        let words = if WIDE { 4 } else { 2 };
        let chunk = (CHUNK / lw).max(GROUP * 128);
        let vector = walk != Walk::Scalar && !WIDE && self.fits();
        let mut lane = vec![0.0f32; chunk.min(x.len() / nf) * lw];
        for (rows, total) in x.chunks(chunk * nf).zip(scores.chunks_mut(chunk * lw)) {
            let n = rows.len() / nf;
            total.fill(0.0);
            let lane = &mut lane[..total.len()];
            for l in 0..LANES.min(n_trees) {
                lane.fill(0.0);
                for t in (l..n_trees).step_by(LANES) {
                    let (root, depth) = (self.roots[t] as usize, self.depth[t]);
                    let mut r0 = 0;
                    if vector {
                        let mut at = [0u32; WALK_ROWS];
                        while r0 + WALK_ROWS <= n {
                            // SAFETY: `walk` is available and the forest valid (the caller's),
                            // the forest fits; rows r0.. r0 + WALK_ROWS exist.
                            unsafe {
                                walk.run::<NAN>(
                                    self.nodes,
                                    root as u32,
                                    depth,
                                    rows,
                                    r0,
                                    nf,
                                    &mut at,
                                )
                            };
                            for (k, &i) in at.iter().enumerate() {
                                self.add_leaf(
                                    &mut lane[(r0 + k) * lw..(r0 + k + 1) * lw],
                                    i as usize,
                                    words,
                                );
                            }
                            r0 += WALK_ROWS;
                        }
                    }
                    // The last group may be short: its missing rows walk the last row again,
                    // so a short batch's chains still overlap (7 rows one after the other took
                    // 2.2x as long as 8 rows together); a row or two go alone (cheaper).
                    while n - r0 >= SHORT_GROUP {
                        // SAFETY: a valid forest (the caller's), from a root; row n - 1 exists.
                        let at = unsafe {
                            walk_group::<WIDE, NAN>(self.nodes, root, depth, rows, r0, n - 1, nf)
                        };
                        for (k, &i) in at.iter().take(n - r0).enumerate() {
                            self.add_leaf(&mut lane[(r0 + k) * lw..(r0 + k + 1) * lw], i, words);
                        }
                        r0 = (r0 + GROUP).min(n);
                    }
                    for r in r0..n {
                        let mut i = root;
                        for _ in 0..depth {
                            // SAFETY: as above.
                            i = unsafe { step::<WIDE, NAN>(self.nodes, i, rows, r, nf) };
                        }
                        self.add_leaf(&mut lane[r * lw..(r + 1) * lw], i, words);
                    }
                }
                total.iter_mut().zip(lane.iter()).for_each(|(t, s)| *t += s);
            }
        }
    }
}

/// The node after node `i` for row `r` of `rows` (`nf` wide).
/// `NAN`: the rows may hold missing values (without, the rule needs one comparison less).
///
/// # Safety
/// `nodes` is valid ([`ForestView::scores`]), `i` is a node of it reached from a root, `r` is a
/// row of `rows`.
#[inline(always)]
unsafe fn step<const WIDE: bool, const NAN: bool>(
    nodes: &[u32],
    i: usize,
    rows: &[f32],
    r: usize,
    nf: usize,
) -> usize {
    let w = if WIDE { 4 } else { 2 } * i;
    // SAFETY: every child index and feature is in bounds (valid nodes); `r` is in `rows`.
    unsafe {
        let value = *nodes.get_unchecked(w);
        let (far, feature, missing_left) = if WIDE {
            (
                *nodes.get_unchecked(w + 1),
                *nodes.get_unchecked(w + 2),
                *nodes.get_unchecked(w + 3) & MISSING_LEFT != 0,
            )
        } else {
            unpack_narrow(*nodes.get_unchecked(w + 1))
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

/// Where rows `r0..r0 + GROUP` of `rows` end after `depth` steps from `root`; rows past `last`
/// walk row `last` instead.
///
/// # Safety
/// As [`step`], for rows `r0..=last`.
#[inline(always)]
unsafe fn walk_group<const WIDE: bool, const NAN: bool>(
    nodes: &[u32],
    root: usize,
    depth: u32,
    rows: &[f32],
    r0: usize,
    last: usize,
    nf: usize,
) -> [usize; GROUP] {
    // Written out row by row: the wasm build optimises the engine for size, and there LLVM
    // keeps a loop over `at`, in memory, one chain at a time; with constant indices each
    // index is a register and the chains overlap.
    macro_rules! rows {
        ($at:ident: $($k:literal)*) => {
            for _ in 0..depth {
                // SAFETY: the caller's.
                unsafe { $($at[$k] = step::<WIDE, NAN>(nodes, $at[$k], rows, (r0 + $k).min(last), nf);)* }
            }
        };
    }
    let mut at = [root; GROUP];
    const { assert!(GROUP == 8) };
    rows!(at: 0 1 2 3 4 5 6 7);
    at
}

/// The walks a narrow forest can take: the scalar one everywhere, vector ones on x86-64.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub enum Walk {
    Scalar,
    Avx2,
}

/// Rows a [`Walk`] takes through a tree at once.
pub const WALK_ROWS: usize = 32;

impl Walk {
    /// Those this CPU can run.
    pub fn available() -> Vec<Walk> {
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

    pub fn name(self) -> &'static str {
        match self {
            Walk::Scalar => "scalar",
            Walk::Avx2 => "avx2",
        }
    }

    /// Where rows `r0..r0 + WALK_ROWS` end after `depth` steps from `root`, into `out`.
    ///
    /// # Safety
    /// The walk is [`available`](Self::available); `nodes` is narrow, valid (as for
    /// [`ForestView::scores`]) and has fewer than 2^28 nodes, `nf` < 2^20 ([`ForestView::fits`]);
    /// `root` is a root of depth `depth`; rows `r0..r0 + WALK_ROWS` exist.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn run<const NAN: bool>(
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
                        let at = walk_group::<false, NAN>(
                            nodes,
                            root as usize,
                            depth,
                            rows,
                            r0 + g,
                            r0 + g + GROUP - 1,
                            nf,
                        );
                        for (o, i) in out[g..g + GROUP].iter_mut().zip(at) {
                            *o = i as u32;
                        }
                    }
                }
            }
        }
    }
}

/// The walk with AVX2 gathers, 8 rows a vector, for narrow nodes on x86-64.
#[cfg(target_arch = "x86_64")]
mod simd {
    use super::WALK_ROWS as ROWS;
    use crate::layout::{FAR_MASK, FEATURE_MASK, FEATURE_SHIFT, MISSING_SHIFT};
    use std::arch::x86_64::*;

    /// 4 vectors of 8 rows, so that 4 chains of gathers overlap.
    const VECTORS: usize = ROWS / 8;

    /// The node indices where rows `r0..r0 + ROWS` of `rows` (`nf` wide) end after `depth`
    /// steps from `root`, into `out`: the rule of [`super::step`], 8 rows an instruction.
    ///
    /// # Safety
    /// AVX2 is present; `nodes` is narrow and valid ([`super::ForestView::scores`]), with fewer than 2^28
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
            let (far_mask, feature_mask) = (
                _mm256_set1_epi32(FAR_MASK as i32),
                _mm256_set1_epi32(FEATURE_MASK as i32),
            );
            let one = _mm256_set1_epi32(1);
            let mut at = [_mm256_set1_epi32(root as i32); VECTORS];
            for _ in 0..depth {
                for (i, offset) in at.iter_mut().zip(&row_offset) {
                    let t = _mm256_i32gather_ps::<8>(values, *i);
                    let m = _mm256_i32gather_epi32::<8>(words, *i);
                    let far = _mm256_and_si256(m, far_mask);
                    let feature = _mm256_and_si256(
                        _mm256_srli_epi32::<{ FEATURE_SHIFT as i32 }>(m),
                        feature_mask,
                    );
                    let x = _mm256_i32gather_ps::<4>(base, _mm256_add_epi32(*offset, feature));
                    let mut left = _mm256_cmp_ps::<_CMP_LE_OQ>(x, t);
                    if NAN {
                        let missing = _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x);
                        let missing_left =
                            _mm256_castsi256_ps(_mm256_srai_epi32::<{ MISSING_SHIFT as i32 }>(m));
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

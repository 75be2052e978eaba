//! The CPU scorer: a block of rows walks one tree together, branch-free, for as many steps as
//! the tree is deep, so the cache misses of different rows overlap instead of queueing behind
//! each other's branches. A row that reaches a leaf early stays there (a leaf's step is 0).
//!
//! It computes exactly what the one-row walk computes (the reduction rule of the layout), so
//! its outputs are the oracle's bits; the tests compare it with [`FlatForest::reference_scores`].

use super::{FlatForest, LANES, MISSING_LEFT};

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
}

impl Plan {
    /// `None` when `f` fails [`FlatForest::validate`]: then only the checked walk may read it.
    pub(super) fn new(f: &FlatForest) -> Option<Plan> {
        f.validate().ok()?;
        let n = f.n_nodes();
        let mut node_depth = vec![0u32; n];
        let ends = f.roots.iter().skip(1).map(|&r| r as usize).chain([n]);
        let depth = f
            .roots
            .iter()
            .zip(ends)
            .map(|(&root, end)| {
                // Children come after their parent (pre-order), so a backward pass sees them first.
                for i in (root as usize..end).rev() {
                    let node = f.node(i);
                    if !node.is_leaf() {
                        let far = i + node.far as usize;
                        node_depth[i] = 1 + node_depth[i + 1].max(node_depth[far]);
                    }
                }
                node_depth[root as usize]
            })
            .collect();
        Some(Plan { depth })
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

impl FlatForest {
    /// [`Self::raw_scores`] through `plan`: rows in chunks; each chunk goes through every tree in
    /// the lane order, a group of rows at a time.
    pub(super) fn planned_scores<const WIDE: bool>(
        &self,
        plan: &Plan,
        x: &[f32],
        scores: &mut [f32],
    ) {
        if x.iter().any(|v| v.is_nan()) {
            self.planned::<WIDE, true>(plan, x, scores)
        } else {
            self.planned::<WIDE, false>(plan, x, scores)
        }
    }

    fn planned<const WIDE: bool, const NAN: bool>(
        &self,
        plan: &Plan,
        x: &[f32],
        scores: &mut [f32],
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
                    while r0 + GROUP <= n {
                        let mut at = [root; GROUP];
                        for _ in 0..depth {
                            for (k, i) in at.iter_mut().enumerate() {
                                // SAFETY: a validated forest, from a root; row r0 + k < n.
                                *i =
                                    unsafe { step::<WIDE, NAN>(&self.nodes, *i, rows, r0 + k, nf) };
                            }
                        }
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
        assert_eq!(Plan::new(&f).unwrap().depth, vec![0, 2]);
        let mut bad = f.clone();
        bad.n_features = 1; // the second split reads feature 1
        assert!(Plan::new(&bad).is_none());
    }
}

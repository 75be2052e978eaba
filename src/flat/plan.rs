//! The CPU scorer's plan: each tree's depth, checked once, which makes the unchecked walk of
//! `forest_scoring::walk` sound, and on x86-64 the walk this machine runs fastest.
//!
//! The walk computes exactly what the one-row walk computes (the reduction rule of the layout),
//! so its outputs are the oracle's bits; the tests compare it with
//! [`FlatForest::reference_scores`].

use super::FlatForest;
use forest_scoring::walk::{ForestView, WALK_ROWS, Walk};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Per-tree depth (steps from the root to the deepest leaf), for a forest whose indices are all
/// in bounds. Checking that is what makes the unchecked walk (`forest_scoring::walk`) sound.
#[derive(Clone)]
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

    /// This plan with the walk for batch `x` ([`choose`]): itself, unless the process has
    /// chosen since it was made.
    pub(super) fn for_batch(&self, f: &FlatForest, x: &[f32]) -> std::borrow::Cow<'_, Plan> {
        let walk = choose(f, self, x);
        if walk == self.walk {
            std::borrow::Cow::Borrowed(self)
        } else {
            std::borrow::Cow::Owned(Plan {
                depth: self.depth.clone(),
                walk,
            })
        }
    }

    /// `None` when `f` fails [`FlatForest::validate`]: then only the checked walk may read it.
    /// Tree by tree on all cores: it costs a few ns a node, milliseconds for a large forest.
    pub(super) fn new(f: &FlatForest, threads: Threads) -> Option<Plan> {
        f.validate_whole().ok()?;
        let tree = |t: usize| {
            forest_scoring::layout::check_tree(&f.layout(), t).ok()?;
            let (root, end) = f.layout().tree_range(t);
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

    /// `f` as the walk reads it, with this plan's depths.
    fn forest<'a>(&'a self, f: &'a FlatForest) -> ForestView<'a> {
        ForestView {
            nodes: &f.nodes,
            wide: f.wide,
            roots: &f.roots,
            depth: &self.depth,
            leaf_values: &f.leaf_values,
            leaf_width: f.leaf_width(),
            n_features: f.n_features as usize,
        }
    }
}

impl FlatForest {
    /// [`Self::raw_scores`] through `plan`: rows in chunks; each chunk goes through every tree in
    /// the lane order, a group of rows at a time.
    pub(super) fn planned_scores(&self, plan: &Plan, x: &[f32], scores: &mut [f32]) {
        self.walk_planned(plan, x, scores, plan.walk)
    }

    /// The planned scores by `walk` (an available one) where the forest fits it.
    fn walk_planned(&self, plan: &Plan, x: &[f32], scores: &mut [f32], walk: Walk) {
        // SAFETY: the plan exists only for a valid forest, with its trees' depths; `walk` is
        // available (the callers').
        unsafe { plan.forest(self).scores(x, scores, walk) }
    }
}

static CHOICE: OnceLock<Walk> = OnceLock::new();
/// Rows of the batch that decides the walk.
const CALIBRATION_ROWS: usize = 4096;

/// The walk to use for `f` on this machine: the fastest, measured once (for the process) on the
/// first batch of [`CALIBRATION_ROWS`] rows or more (a [`super::PlannedForest`] measures at
/// once, on [`calibration_rows`]), the scalar one until then; all give the
/// same bits. Gathers are fast on some CPUs and slow on others: the AVX2 walk was 1.2x faster
/// than the scalar one on the H100 host's Xeon (16 threads) and 1.5x slower on the dev
/// machine's EPYC (Zen 3). `FOREST_CPU_WALK=scalar|avx2` decides instead.
/// Rows to choose the walk on before any batch has come (a model just loaded): per row, each
/// feature takes the threshold of a split on it found at a pseudo-random node, just above or
/// below it, so the rows go down varied paths as real ones do. Enough rows for [`choose`]; empty
/// when the process has chosen already or has one walk.
pub(super) fn calibration_rows(f: &FlatForest) -> Vec<f32> {
    let nf = f.n_features as usize;
    if CHOICE.get().is_some() || Walk::available().len() == 1 || nf == 0 || f.n_nodes() == 0 {
        return Vec::new();
    }
    let mut by_feature: Vec<Vec<f32>> = vec![Vec::new(); nf];
    // A bounded sample of the splits: a few thousand nodes tell a feature's range.
    let step = (f.n_nodes() / 4096).max(1);
    for i in (0..f.n_nodes()).step_by(step) {
        let n = f.node(i);
        if !n.is_leaf() && (n.feature as usize) < nf {
            by_feature[n.feature as usize].push(n.threshold());
        }
    }
    // A fixed sequence: the same rows for a forest every time.
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut x = Vec::with_capacity(CALIBRATION_ROWS * nf);
    for _ in 0..CALIBRATION_ROWS {
        for t in &by_feature {
            x.push(match t.len() {
                0 => 0.0,
                n => {
                    let v = t[rng.random_range(0..n)];
                    let d = v.abs() * 1e-3 + 1e-6;
                    if rng.random::<bool>() { v + d } else { v - d }
                }
            });
        }
    }
    x
}

fn choose(f: &FlatForest, plan: &Plan, x: &[f32]) -> Walk {
    let available = Walk::available();
    if !plan.forest(f).fits() {
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
        crate::forest::flatten(&trees, d.n_features, n_outputs)
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Batches of several chunks (spread over the threads) through a plan made once.
    #[test]
    fn a_plan_made_once_scores_large_batches_to_the_reference_bits() {
        let d = synth::classification(6000, 8, 5, 3, 4);
        let f = forest(
            &with_missing(d.subset(&(0..2000).collect::<Vec<_>>()), 2),
            3,
            None,
        );
        let x = &with_missing(d, 5).x;
        let mut want = vec![0.0; x.len() / 8 * 3];
        f.predict_reference(x, &mut want);
        let planned = crate::flat::PlannedForest::new(f.clone());
        for _ in 0..2 {
            assert_eq!(bits(&planned.predict(x)), bits(&want));
        }
        assert_eq!(bits(&f.predict(x)), bits(&want));
    }

    /// Every way the CPU scores (planned on all cores, planned on one, the reference walk) gives
    /// the same bits: regression, binary and multi-class leaves, narrow and wide nodes, rows
    /// with and without missing values, row counts that are not whole groups (a short group
    /// alone: 4 and 7 rows).
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
                        for rows in [q.n_rows, 64 * 3 + 5, 7, 4, 1] {
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
                            crate::flat::PlannedForest::new(f.clone())
                                .predict_single_thread(x, &mut prepared);
                            assert_eq!(bits(&prepared), bits(&want), "{ctx}, prepared");
                            let planned = crate::flat::PlannedForest::new(f.clone()).predict(x);
                            assert_eq!(bits(&planned), bits(&want), "{ctx}, planned once");
                            // Both walks, whichever this machine prefers (the AVX2 one only
                            // where the CPU has it; narrow forests only).
                            if rows < 64 {
                                continue;
                            }
                            let plan = Plan::new(f, Threads::One).unwrap();
                            for walk in Walk::available() {
                                let mut scores = vec![0.0; rows * f.leaf_width()];
                                f.walk_planned(&plan, x, &mut scores, walk);
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

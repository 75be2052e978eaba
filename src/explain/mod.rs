//! Why a forest says what it says: exact path-dependent TreeSHAP values, per row and output,
//! on the CPU (here) and on the GPU (`crate::gpu::GpuExplainer`), from the same paths.
//!
//! The algorithm: Lundberg's path-dependent TreeSHAP, computed as GPUTreeShap does, one
//! decision path at a time. Every leaf's path from the root is written out once per forest
//! ([`Paths`]: each feature on it once, with the range of values that takes the path and the
//! share of the training weight that goes its way, the node covers). A row's contribution from
//! a path then needs no tree walk and no recursion: extend the path's weights over its
//! elements, unwind each element, add to its feature ([`forest_scoring::treeshap::add_path`]).
//! Chosen over the recursive form because every (row, tree) pair is the same straight-line
//! work over arrays, which a GPU runs without a stack, and which the CPU and the GPU can state
//! in one operation order; and over Quadrature-TreeSHAP because its fixed quadrature is exact
//! only up to a depth, where our trees may be deeper. The cost is GPUTreeShap's: per row,
//! per tree, every leaf's path, O(leaves x depth²).
//!
//! The rules both engines keep, so that their values can be compared bit for bit:
//! - per (row, tree), the tree's paths in order (leaves in pre-order), each adding into a sum
//!   per (feature, leaf number) that starts from `+0.0`;
//! - per row, the trees' sums added in tree order from `+0.0`;
//! - the host finishes both engines' sums alike ([`Explainer::finish`]): times `1 / n_trees`
//!   (rounded to `f32` once) where the forest averages, then paired into the outputs as the
//!   forest's [`crate::flat::Head`] pairs them.
//!
//! The values explain the outputs before the head's post-transform (the margin where an
//! imported model ends in a logistic or softmax): expected value plus contributions equals
//! that output. The expected value is each tree's leaves weighted by their covers, in `f64`.

mod covers;
mod paths;

pub use covers::covers_from_rows;
pub use paths::{Paths, leaf_number};

use crate::error::{Error, Result};
use crate::flat::{FlatForest, Pair, Post};
use forest_scoring::treeshap::{self, add_path};

/// The most numbers one explanation may hold (rows x outputs x features): 1 GiB of `f32`.
pub const MAX_VALUES: usize = 1 << 28;

/// What a model with no covers is told.
pub const NO_COVERS: &str = "this model has no node covers (the training weight that reached \
     each node), which explanations weigh by: models trained by this program since covers were \
     added have them; for an imported or older model, pass rows that stand for its training \
     data (--background FILE.csv, e.g. the training file) and the covers are counted from them";

/// A forest ready to be explained: its paths, once.
pub struct Explainer {
    forest: FlatForest,
    paths: Paths,
    recip: Vec<f32>,
    /// Per output, the forest's output when no feature is known.
    expected: Vec<f32>,
}

/// Per row and output, one contribution per feature, beside the expected value of each output.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub n_rows: usize,
    pub n_outputs: usize,
    pub n_features: usize,
    /// Per output.
    pub expected: Vec<f32>,
    /// `n_rows x n_outputs x n_features`.
    pub values: Vec<f32>,
}

impl Explanation {
    /// Row `r`'s contributions to output `k`.
    pub fn row(&self, r: usize, k: usize) -> &[f32] {
        let at = (r * self.n_outputs + k) * self.n_features;
        &self.values[at..at + self.n_features]
    }

    /// Row `r`'s `n` largest contributions to output `k` by size, largest first (ties: the
    /// first feature first), as (feature, value); and the sum of the others, if any.
    pub fn largest(&self, r: usize, k: usize, n: usize) -> (Vec<(usize, f32)>, Option<f64>) {
        let phi = self.row(r, k);
        let mut order: Vec<usize> = (0..phi.len()).collect();
        order.sort_by(|&a, &b| phi[b].abs().total_cmp(&phi[a].abs()).then(a.cmp(&b)));
        let rest =
            (order.len() > n).then(|| order[n..].iter().map(|&j| f64::from(phi[j])).sum::<f64>());
        order.truncate(n);
        (order.into_iter().map(|j| (j, phi[j])).collect(), rest)
    }

    /// Expected value plus row `r`'s contributions to output `k`: the output they explain.
    pub fn total(&self, r: usize, k: usize) -> f64 {
        f64::from(self.expected[k]) + self.row(r, k).iter().map(|&v| f64::from(v)).sum::<f64>()
    }

    /// Per feature, its mean |contribution| over the rows: the global view beside impurity
    /// importances (shap's bar summary). Summed over the outputs where there are more than
    /// two; of two, the second's alone (the two are each other's negation, or nearly).
    pub fn mean_abs(&self) -> Vec<f64> {
        let outputs: Vec<usize> = if self.n_outputs == 2 {
            vec![1]
        } else {
            (0..self.n_outputs).collect()
        };
        let mut m = vec![0.0f64; self.n_features];
        for r in 0..self.n_rows {
            for &k in &outputs {
                m.iter_mut()
                    .zip(self.row(r, k))
                    .for_each(|(s, v)| *s += f64::from(v.abs()));
            }
        }
        m.iter_mut().for_each(|s| *s /= self.n_rows.max(1) as f64);
        m
    }

    /// How `other` (the same rows, another engine) differs: values whose bits differ, and the
    /// largest difference as a share of its row's largest |contribution| (over all outputs).
    pub fn differs_from(&self, other: &Explanation) -> (usize, f64) {
        let per_row = self.n_outputs * self.n_features;
        let (mut differ, mut worst) = (0, 0.0f64);
        for (a, b) in self
            .values
            .chunks(per_row.max(1))
            .zip(other.values.chunks(per_row.max(1)))
        {
            let largest = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (x, y) in a.iter().zip(b) {
                if x.to_bits() != y.to_bits() {
                    differ += 1;
                    let d = f64::from((x - y).abs());
                    worst = worst.max(if largest > 0.0 {
                        d / f64::from(largest)
                    } else {
                        d
                    });
                }
            }
        }
        if self.values.len() != other.values.len() {
            differ += self.values.len().abs_diff(other.values.len());
            worst = f64::INFINITY;
        }
        (differ, worst)
    }
}

impl Explainer {
    /// An explainer of `forest` weighed by its own covers; without any, [`NO_COVERS`].
    pub fn new(forest: &FlatForest) -> Result<Explainer> {
        if forest.covers.is_empty() {
            return Err(Error::Explain(NO_COVERS.into()));
        }
        Explainer::with_covers(forest, &forest.covers)
    }

    /// An explainer of `forest` weighed by `covers` (one per node, e.g. [`covers_from_rows`]).
    pub fn with_covers(forest: &FlatForest, covers: &[f32]) -> Result<Explainer> {
        if covers.len() != forest.n_nodes() {
            return Err(Error::Explain(format!(
                "{} covers for a forest of {} nodes",
                covers.len(),
                forest.n_nodes()
            )));
        }
        let roots_unreached = forest
            .roots
            .iter()
            .filter(|&&r| !(covers[r as usize] > 0.0))
            .count();
        if roots_unreached > 0 {
            return Err(Error::Explain(format!(
                "{roots_unreached} of the forest's {} trees have no weight at their root: \
                 the rows given for covers reach no tree",
                forest.n_trees()
            )));
        }
        let paths = Paths::new(forest, covers);
        let recip = treeshap::recip(paths.longest + 2);
        let mut e = Explainer {
            forest: forest.clone(),
            paths,
            recip,
            expected: Vec::new(),
        };
        e.expected = e.expected_values();
        Ok(e)
    }

    pub fn forest(&self) -> &FlatForest {
        &self.forest
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// `1 / k` for every `k` the paths need ([`treeshap::recip`]).
    pub fn recip(&self) -> &[f32] {
        &self.recip
    }

    fn n_features(&self) -> usize {
        self.forest.n_features as usize
    }

    /// The numbers an explanation of `n_rows` rows holds, refused above [`MAX_VALUES`].
    pub fn check_rows(&self, n_rows: usize) -> Result<usize> {
        let n = n_rows
            .checked_mul(self.forest.n_outputs as usize * self.n_features())
            .filter(|&n| n <= MAX_VALUES);
        n.ok_or_else(|| {
            Error::Explain(format!(
                "explaining {n_rows} rows of {} features and {} outputs would make more than \
                 {MAX_VALUES} numbers: explain fewer rows at a time",
                self.n_features(),
                self.forest.n_outputs
            ))
        })
    }

    fn expected_values(&self) -> Vec<f32> {
        let f = &self.forest;
        let (lw, n_trees) = (f.leaf_width(), f.n_trees());
        let mut sums = vec![0.0f64; lw];
        for t in 0..n_trees {
            for (s, e) in sums.iter_mut().zip(&self.paths.expected[t * lw..]) {
                *s += e;
            }
        }
        for (k, s) in sums.iter_mut().enumerate() {
            if f.head.average {
                *s /= n_trees as f64;
            }
            if let Some(b) = f.head.base.get(k) {
                *s += f64::from(*b);
            }
        }
        match f.head.pair {
            Pair::None => sums.iter().map(|&s| s as f32).collect(),
            Pair::OneMinus => vec![(1.0 - sums[0]) as f32, sums[0] as f32],
            Pair::Negate => vec![-sums[0] as f32, sums[0] as f32],
        }
    }

    /// The sums of the rows of `x` (`n_rows x n_features x leaf width`, by the module's rules),
    /// on every core natively.
    pub fn sums(&self, x: &[f32]) -> Vec<f32> {
        let (nf, lw) = (self.n_features(), self.forest.leaf_width());
        let n_rows = x.len() / nf;
        let mut sums = vec![0.0f32; n_rows * nf * lw];
        let chunk = n_rows.div_ceil(4 * crate::parallel::threads()).max(1);
        crate::parallel::for_chunks(&mut sums, chunk * nf * lw, |c, out| {
            let start = c * chunk * nf;
            self.sums_of(&x[start..start + out.len() / lw], out);
        });
        sums
    }

    /// [`Self::sums`] on this thread.
    pub fn sums_single_thread(&self, x: &[f32]) -> Vec<f32> {
        let (nf, lw) = (self.n_features(), self.forest.leaf_width());
        let mut sums = vec![0.0f32; x.len() / nf * nf * lw];
        self.sums_of(x, &mut sums);
        sums
    }

    fn sums_of(&self, x: &[f32], out: &mut [f32]) {
        let f = &self.forest;
        let (nf, lw) = (self.n_features(), f.leaf_width());
        let mut keys = vec![0u32; nf];
        let mut pw = vec![0.0f32; self.paths.longest + 1];
        let mut tree = vec![0.0f32; nf * lw];
        let mut leaf = vec![0.0f32; lw];
        for (row, phi) in x.chunks_exact(nf).zip(out.chunks_exact_mut(nf * lw)) {
            for (k, v) in keys.iter_mut().zip(row) {
                *k = treeshap::key(v.to_bits());
            }
            phi.fill(0.0);
            for t in 0..f.n_trees() {
                tree.fill(0.0);
                let (a, b) = (self.paths.tree_paths[t], self.paths.tree_paths[t + 1]);
                for p in a as usize..b as usize {
                    let (elements, value) = self.paths.path(p);
                    for (k, l) in leaf.iter_mut().enumerate() {
                        *l = leaf_number(f, value, k);
                    }
                    add_path(elements, &leaf, &keys, &self.recip, &mut pw, &mut tree);
                }
                phi.iter_mut().zip(&tree).for_each(|(s, t)| *s += t);
            }
        }
    }

    /// The explanation from either engine's sums (`n_rows x n_features x leaf width`).
    pub fn finish(&self, sums: &[f32]) -> Explanation {
        let f = &self.forest;
        let (nf, lw, no) = (self.n_features(), f.leaf_width(), f.n_outputs as usize);
        let n_rows = sums.len() / (nf * lw).max(1);
        let inv = 1.0 / f.n_trees() as f32;
        let mut values = vec![0.0f32; n_rows * no * nf];
        for (s, v) in sums
            .chunks_exact(nf * lw)
            .zip(values.chunks_exact_mut(no * nf))
        {
            for feature in 0..nf {
                for k in 0..lw {
                    let x = s[feature * lw + k];
                    let x = if f.head.average { x * inv } else { x };
                    match f.head.pair {
                        Pair::None => v[k * nf + feature] = x,
                        Pair::OneMinus | Pair::Negate => {
                            v[feature] = -x;
                            v[nf + feature] = x;
                        }
                    }
                }
            }
        }
        Explanation {
            n_rows,
            n_outputs: no,
            n_features: nf,
            expected: self.expected.clone(),
            values,
        }
    }

    /// The explanation of the rows of `x` on the CPU, every core natively.
    pub fn explain(&self, x: &[f32]) -> Result<Explanation> {
        self.check_rows(x.len() / self.n_features())?;
        Ok(self.finish(&self.sums(x)))
    }
}

/// The forest's outputs for `x` before its post-transform: what expected value plus
/// contributions add up to.
pub fn margins(forest: &FlatForest, x: &[f32]) -> Vec<f32> {
    let mut f = forest.clone();
    f.head.post = Post::None;
    f.predict(x)
}

#[cfg(test)]
mod tests;

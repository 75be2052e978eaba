//! Training a forest: bin once, grow each tree from its own random stream, then OOB score
//! and importances.
//!
//! Tree `t` draws everything (its bootstrap sample, then the features tried at each split)
//! from `ChaCha8Rng::seed_from_u64(seed)` on stream `t`. Trees depend on nothing else, so the
//! same seed gives the same forest with any thread count, on any platform, and any subset of
//! trees can be grown elsewhere (a web worker) and merged back in tree order.

use super::binning::Binned;
use super::params::{ClassWeight, Params};
use super::tree::{GrowConfig, TargetRef, Tree, grow};
use crate::data::{Dataset, Target, Task};
use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::ops::Range;

/// A trained forest, before flattening.
#[derive(Debug, Clone)]
pub struct GrownForest {
    pub task: Task,
    pub n_features: usize,
    pub n_classes: usize,
    pub trees: Vec<Tree>,
}

/// Everything a worker needs to grow trees: the binned data and the resolved settings.
pub struct Trainer<'a> {
    pub data: &'a Dataset,
    pub binned: Binned,
    pub task: Task,
    params: Params,
    cfg: GrowConfig,
    y_values: Vec<f64>,
    /// Weight of each class's rows (empty: all 1).
    class_scale: Vec<f64>,
    /// Weight of each row (scikit-learn's `sample_weight`; `None`: all 1).
    sample_weight: Option<&'a [f64]>,
    /// The rows' groups, numbered densely, and how many ([`Dataset::groups`]).
    groups: Option<(Vec<u32>, usize)>,
}

fn tree_rng(seed: u64, tree: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(tree as u64);
    rng
}

/// Bootstrap counts of tree `tree` (all ones without bootstrap). Draws first from the tree's
/// stream, so it can be recomputed for the OOB score without storing it. With `groups` (a
/// dense group number per row, and how many groups), it draws as many groups as there are,
/// with replacement, and a row counts as often as its group was drawn: a patient's rows are
/// all in a tree's sample or all out of it.
fn bootstrap(
    rng: &mut ChaCha8Rng,
    n: usize,
    on: bool,
    groups: Option<&(Vec<u32>, usize)>,
) -> Vec<f64> {
    if !on {
        return vec![1.0; n];
    }
    let draw = |k: usize, rng: &mut ChaCha8Rng| {
        let mut w = vec![0.0; k];
        for _ in 0..k {
            w[rng.random_range(0..k as u32) as usize] += 1.0;
        }
        w
    };
    match groups {
        None => draw(n, rng),
        Some((of, k)) => {
            let drawn = draw(*k, rng);
            of.iter().map(|&g| drawn[g as usize]).collect()
        }
    }
}

/// `groups` renumbered densely in order of first appearance, and how many there are.
fn dense(groups: &[u32]) -> (Vec<u32>, usize) {
    let mut number = rustc_hash::FxHashMap::default();
    let of: Vec<u32> = groups
        .iter()
        .map(|g| {
            let next = number.len() as u32;
            *number.entry(*g).or_insert(next)
        })
        .collect();
    (of, number.len())
}

/// The fewest training rows accepted.
pub const MIN_ROWS: usize = 5;

impl<'a> Trainer<'a> {
    pub fn new(data: &'a Dataset, params: &Params) -> Result<Trainer<'a>> {
        Trainer::weighted(data, None, params)
    }

    /// A trainer whose rows weigh `sample_weight` each (times their bootstrap count and
    /// their class's weight), as scikit-learn's `fit(X, y, sample_weight)`: one weight per
    /// row, finite and not negative; a row of weight 0 is never in a bag.
    pub fn weighted(
        data: &'a Dataset,
        sample_weight: Option<&'a [f64]>,
        params: &Params,
    ) -> Result<Trainer<'a>> {
        Trainer::check(data, sample_weight, params)?;
        let binned = Binned::new(&data.x, data.n_rows, data.n_features, params.max_bins);
        Trainer::build(data, binned, sample_weight, params)
    }

    /// A trainer over rows binned already, by [`Binned::new`] with `params.max_bins` (the page's
    /// data worker bins once for all its training workers): it grows the trees and out-of-bag
    /// votes that [`Trainer::weighted`] would. `data` gives the target and groups; its rows are
    /// never read (they may be empty).
    pub fn with_bins(
        data: &'a Dataset,
        binned: Binned,
        sample_weight: Option<&'a [f64]>,
        params: &Params,
    ) -> Result<Trainer<'a>> {
        Trainer::check(data, sample_weight, params)?;
        if binned.n_rows != data.n_rows || binned.columns.len() != data.n_features {
            return Err(Error::InvalidParam(format!(
                "bins of {} rows x {} features for {} rows x {} features",
                binned.n_rows,
                binned.columns.len(),
                data.n_rows,
                data.n_features
            )));
        }
        Trainer::build(data, binned, sample_weight, params)
    }

    fn check(data: &Dataset, sample_weight: Option<&[f64]>, params: &Params) -> Result<()> {
        let task = data.target.task();
        if let Some(w) = sample_weight {
            if w.len() != data.n_rows {
                return Err(Error::InvalidParam(format!(
                    "{} sample weights for {} rows",
                    w.len(),
                    data.n_rows
                )));
            }
            if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(Error::InvalidParam(format!(
                    "sample weight {} of row {} is not a finite number of at least 0",
                    w[i],
                    i + 1
                )));
            }
            if !w.iter().any(|&v| v > 0.0) {
                return Err(Error::InvalidParam(
                    "every sample weight is 0: no row to learn from".into(),
                ));
            }
        }
        params.validate(task)?;
        if data.n_rows < MIN_ROWS {
            return Err(Error::TooFewRows {
                rows: data.n_rows,
                needed: MIN_ROWS,
            });
        }
        if data.n_features == 0 {
            return Err(Error::InvalidParam("no feature columns".into()));
        }
        Ok(())
    }

    fn build(
        data: &'a Dataset,
        binned: Binned,
        sample_weight: Option<&'a [f64]>,
        params: &Params,
    ) -> Result<Trainer<'a>> {
        let task = data.target.task();
        let cfg = GrowConfig {
            max_depth: params.max_depth.unwrap_or(usize::MAX),
            min_samples_split: params.min_samples_split,
            min_samples_leaf: params.min_samples_leaf,
            max_features: params.max_features_for(task).resolve(data.n_features),
            criterion: params.criterion_for(task),
        };
        let y_values = match &data.target {
            Target::Values(v) => v.clone(),
            Target::Classes(_) => Vec::new(),
        };
        let class_scale = match (&data.target, params.class_weight) {
            (Target::Classes(labels), ClassWeight::Balanced) => {
                let mut counts = vec![0usize; data.n_classes];
                for &l in labels {
                    counts[l as usize] += 1;
                }
                let present = counts.iter().filter(|&&c| c > 0).count() as f64;
                counts
                    .iter()
                    .map(|&c| {
                        if c == 0 {
                            0.0
                        } else {
                            data.n_rows as f64 / (present * c as f64)
                        }
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        Ok(Trainer {
            data,
            binned,
            task,
            params: params.clone(),
            cfg,
            y_values,
            class_scale,
            sample_weight,
            groups: match &data.groups {
                Some(g) if g.len() != data.n_rows => {
                    return Err(Error::InvalidParam(format!(
                        "{} group numbers for {} rows",
                        g.len(),
                        data.n_rows
                    )));
                }
                g => g.as_deref().map(dense),
            },
        })
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    fn target(&self) -> TargetRef<'_> {
        match &self.data.target {
            Target::Classes(labels) => TargetRef::Classes {
                labels,
                n_classes: self.data.n_classes,
            },
            Target::Values(_) => TargetRef::Values(&self.y_values),
        }
    }

    /// Grows tree number `t` of the forest.
    pub fn grow_tree(&self, t: usize) -> Tree {
        let mut rng = tree_rng(self.params.seed, t);
        let mut w = bootstrap(
            &mut rng,
            self.data.n_rows,
            self.params.bootstrap,
            self.groups.as_ref(),
        );
        if let (Target::Classes(labels), false) = (&self.data.target, self.class_scale.is_empty()) {
            for (w, &l) in w.iter_mut().zip(labels) {
                *w *= self.class_scale[l as usize];
            }
        }
        if let Some(s) = self.sample_weight {
            w.iter_mut().zip(s).for_each(|(w, s)| *w *= s);
        }
        grow(&self.binned, &self.target(), &w, &self.cfg, &mut rng)
    }

    /// Grows the trees `range` (in parallel natively), calling `on_tree` after each.
    pub fn grow_trees(&self, range: Range<usize>, on_tree: &(dyn Fn() + Sync)) -> Vec<Tree> {
        let start = range.start;
        crate::parallel::map(range.len(), |i| {
            let t = self.grow_tree(start + i);
            on_tree();
            t
        })
    }

    /// Grows the whole forest.
    pub fn train(&self, on_tree: &(dyn Fn() + Sync)) -> GrownForest {
        let trees = self.grow_trees(0..self.params.n_trees, on_tree);
        self.forest(trees)
    }

    pub fn forest(&self, trees: Vec<Tree>) -> GrownForest {
        GrownForest {
            task: self.task,
            n_features: self.data.n_features,
            n_classes: self.data.n_classes,
            trees,
        }
    }

    /// Out-of-bag score: accuracy (classification) or R² (regression) over the rows that at
    /// least one tree did not see, each predicted by those trees only. `None` without bootstrap
    /// or when every row was in every bag.
    pub fn oob_score(&self, forest: &GrownForest) -> Option<f64> {
        let votes = self.oob_votes(&forest.trees, 0)?;
        oob_finish(&votes, &self.data.target).expect("votes over the trainer's own rows")
    }

    /// The out-of-bag votes of `trees`, which are trees `first..` of the forest: per row, the
    /// summed outputs of the trees that did not see it, and how many they were. Votes of trees
    /// grown apart add up ([`OobVotes::add`]).
    pub fn oob_votes(&self, trees: &[Tree], first: usize) -> Option<OobVotes> {
        if !self.params.bootstrap {
            return None;
        }
        let n = self.data.n_rows;
        let n_out = trees.first().map_or(1, |t| t.n_outputs);
        let in_bag: Vec<Vec<bool>> = crate::parallel::map(trees.len(), |t| {
            let mut rng = tree_rng(self.params.seed, first + t);
            bootstrap(&mut rng, n, true, self.groups.as_ref())
                .into_iter()
                .map(|w| w > 0.0)
                .collect()
        });
        let bins: Vec<Vec<u16>> = trees
            .iter()
            .map(|t| t.split_bins(&self.binned.bins))
            .collect();
        let per_row: Vec<(Vec<f64>, u32)> = crate::parallel::map(n, |r| {
            let mut acc = vec![0.0; n_out];
            let mut k = 0;
            for (t, tree) in trees.iter().enumerate() {
                if !in_bag[t][r] {
                    for (a, &v) in
                        acc.iter_mut()
                            .zip(tree.predict_binned(&self.binned, &bins[t], r))
                    {
                        *a += f64::from(v);
                    }
                    k += 1;
                }
            }
            (acc, k)
        });
        let mut votes = OobVotes {
            n_outputs: n_out,
            sums: Vec::with_capacity(n * n_out),
            counts: Vec::with_capacity(n),
        };
        for (acc, k) in per_row {
            votes.sums.extend(acc);
            votes.counts.push(k);
        }
        Some(votes)
    }
}

/// Out-of-bag votes per training row (see [`Trainer::oob_votes`]).
#[derive(Debug, Clone, PartialEq)]
pub struct OobVotes {
    pub n_outputs: usize,
    /// `n_rows` x `n_outputs` summed leaf values.
    pub sums: Vec<f64>,
    /// Trees that voted, per row.
    pub counts: Vec<u32>,
}

impl OobVotes {
    /// `n_outputs` sums for each row counted: what every use of the votes indexes by.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.n_outputs == 0
            || Some(self.sums.len()) != self.counts.len().checked_mul(self.n_outputs)
        {
            return Err(format!(
                "OOB sums ({}) are not {} rows of {} outputs",
                self.sums.len(),
                self.counts.len(),
                self.n_outputs
            ));
        }
        Ok(())
    }

    /// Adds the votes of other trees over the same rows; votes of other rows or outputs are
    /// an error, not a shorter sum.
    pub fn add(&mut self, other: &OobVotes) -> Result<()> {
        self.check().map_err(Error::Worker)?;
        other.check().map_err(Error::Worker)?;
        if (self.n_outputs, self.counts.len()) != (other.n_outputs, other.counts.len()) {
            return Err(Error::Worker(format!(
                "OOB votes of {} rows x {} outputs and of {} rows x {} outputs do not add up",
                self.counts.len(),
                self.n_outputs,
                other.counts.len(),
                other.n_outputs
            )));
        }
        self.sums
            .iter_mut()
            .zip(&other.sums)
            .for_each(|(a, b)| *a += b);
        self.counts
            .iter_mut()
            .zip(&other.counts)
            .for_each(|(a, b)| *a += b);
        Ok(())
    }
}

/// The OOB score from the votes of every tree: `None` when no row was out of bag; an error
/// when the votes are not of the target's rows.
pub fn oob_finish(votes: &OobVotes, target: &Target) -> Result<Option<f64>> {
    votes.check().map_err(Error::Worker)?;
    if votes.counts.len() != target.len() {
        return Err(Error::Worker(format!(
            "OOB votes of {} rows for a target of {} rows",
            votes.counts.len(),
            target.len()
        )));
    }
    let no = votes.n_outputs;
    let rows = (0..votes.counts.len()).filter(|&r| votes.counts[r] > 0);
    Ok(match target {
        Target::Classes(labels) => {
            let (mut hit, mut total) = (0usize, 0usize);
            for r in rows {
                total += 1;
                let acc = &votes.sums[r * no..(r + 1) * no];
                hit += usize::from(argmax(acc) == labels[r] as usize);
            }
            (total > 0).then(|| hit as f64 / total as f64)
        }
        Target::Values(y) => {
            let (pred, truth): (Vec<f64>, Vec<f64>) = rows
                .map(|r| (votes.sums[r] / f64::from(votes.counts[r]), y[r]))
                .unzip();
            (!pred.is_empty()).then(|| super::metrics::r2(&truth, &pred))
        }
    })
}

/// Index of the largest value; the first on ties (as numpy's argmax).
pub fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

impl GrownForest {
    /// Impurity-based importances (see [`importances`]).
    pub fn importances(&self) -> Vec<f64> {
        let per_tree: Vec<&[f64]> = self
            .trees
            .iter()
            .map(|t| t.importances.as_slice())
            .collect();
        importances(&per_tree, self.n_features)
    }
}

/// Impurity-based importances from each tree's raw ones: each tree's normalized to sum 1,
/// averaged, normalized.
pub fn importances(per_tree: &[&[f64]], n_features: usize) -> Vec<f64> {
    let mut total = vec![0.0; n_features];
    for imp in per_tree {
        let s: f64 = imp.iter().sum();
        if s > 0.0 {
            for (a, &v) in total.iter_mut().zip(imp.iter()) {
                *a += v / s;
            }
        }
    }
    let s: f64 = total.iter().sum();
    if s > 0.0 {
        total.iter_mut().for_each(|v| *v /= s);
    }
    total
}

//! One decision tree: its trained form and how it is grown from binned data.
//!
//! Growth is depth-first over an index array of the tree's in-bag rows, partitioned in place.
//! Split finding scans per-node histograms (one slot per bin code, missing last). Two ways to
//! get a node's histograms, chosen per forest by cost:
//! - when a split tries few features (`2 * max_features <= n_features`, e.g. sqrt), build the
//!   histograms of just the features drawn, from the node's rows;
//! - otherwise keep histograms of every feature and get the larger child's as the parent's
//!   minus the smaller child's (sibling subtraction), building only the smaller one.
//!
//! Missing values: at every split both directions are tried for the rows whose value is
//! missing and the better one is kept (`missing_left`). A split whose training rows had no
//! missing value sends missing values to the side with more training weight.

use super::binning::Binned;
use super::params::Criterion;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum TreeNode {
    Split {
        feature: u32,
        threshold: f32,
        missing_left: bool,
        left: u32,
        right: u32,
    },
    /// `values[offset..offset + n_outputs]` of the tree.
    Leaf { offset: u32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<TreeNode>,
    /// Leaf outputs: class probabilities (classification) or the mean (regression).
    pub values: Vec<f32>,
    pub n_outputs: usize,
    /// Weighted impurity decrease per feature (unnormalized).
    pub importances: Vec<f64>,
    /// The in-bag training weight that reached each node (bootstrap counts times class and
    /// sample weights, as scikit-learn's `weighted_n_node_samples`): what TreeSHAP weighs the
    /// unknown side of a split by.
    #[serde(default)]
    pub covers: Vec<f64>,
}

impl Tree {
    /// The leaf outputs for one row of raw features (`x <= threshold` goes left).
    pub fn predict(&self, row: &[f32]) -> &[f32] {
        self.leaf_by(|_, feature, threshold, missing_left| {
            let v = row[feature];
            if v.is_nan() {
                missing_left
            } else {
                v <= threshold
            }
        })
    }

    /// [`Self::predict`] for training row `r` of `binned`, the rows this tree was grown from:
    /// a split's threshold is a bin edge (or `f32::MAX`: every value left), and a value is at or
    /// below edge `b` exactly when its code is at most `b`, so this takes the raw rows' path
    /// without them (a worker that got the bins alone scores its out-of-bag rows this way).
    /// `bins` is [`Self::split_bins`].
    pub fn predict_binned(&self, binned: &Binned, bins: &[u16], r: usize) -> &[f32] {
        self.leaf_by(|i, feature, _, missing_left| {
            let c = binned.columns[feature][r] as usize;
            if c == binned.n_bins[feature] {
                missing_left
            } else {
                c <= bins[i] as usize
            }
        })
    }

    /// The leaf reached from the root when split `i` (feature, threshold, missing_left) sends
    /// the row left exactly when `go_left` says so.
    fn leaf_by(&self, go_left: impl Fn(usize, usize, f32, bool) -> bool) -> &[f32] {
        let mut i = 0usize;
        loop {
            match self.nodes[i] {
                TreeNode::Leaf { offset } => {
                    let o = offset as usize;
                    return &self.values[o..o + self.n_outputs];
                }
                TreeNode::Split {
                    feature,
                    threshold,
                    missing_left,
                    left,
                    right,
                } => {
                    let l = go_left(i, feature as usize, threshold, missing_left);
                    i = if l { left } else { right } as usize;
                }
            }
        }
    }

    /// Per node, the last bin of a split's left side: the number of its feature's edges below
    /// the threshold (0 for a leaf).
    pub fn split_bins(&self, bins: &super::binning::Bins) -> Vec<u16> {
        self.nodes
            .iter()
            .map(|n| match *n {
                TreeNode::Split {
                    feature, threshold, ..
                } => bins.edges[feature as usize].partition_point(|&e| e < threshold) as u16,
                TreeNode::Leaf { .. } => 0,
            })
            .collect()
    }

    pub fn n_leaves(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| matches!(n, TreeNode::Leaf { .. }))
            .count()
    }

    pub fn depth(&self) -> usize {
        fn d(t: &Tree, i: usize) -> usize {
            match t.nodes[i] {
                TreeNode::Leaf { .. } => 0,
                TreeNode::Split { left, right, .. } => {
                    1 + d(t, left as usize).max(d(t, right as usize))
                }
            }
        }
        d(self, 0)
    }
}

/// The target as the grower sees it.
pub enum TargetRef<'a> {
    Classes { labels: &'a [u32], n_classes: usize },
    Values(&'a [f64]),
}

/// Settings of one tree's growth.
pub struct GrowConfig {
    pub max_depth: usize,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
    pub max_features: usize,
    pub criterion: Criterion,
}

/// Histogram stats per slot: `[rows, w_class0, w_class1, ...]` for classification,
/// `[rows, w, w*y, w*y*y]` for regression.
struct Layout {
    stride: usize,
    /// Start of feature `f`'s slots in a histogram buffer.
    offset: Vec<usize>,
    total: usize,
}

impl Layout {
    fn new(binned: &Binned, stride: usize) -> Layout {
        let mut offset = Vec::with_capacity(binned.n_bins.len());
        let mut acc = 0;
        for &nb in &binned.n_bins {
            offset.push(acc);
            acc += (nb + 1) * stride;
        }
        Layout {
            stride,
            offset,
            total: acc,
        }
    }
}

struct Grower<'a> {
    binned: &'a Binned,
    target: &'a TargetRef<'a>,
    weights: &'a [f64],
    cfg: &'a GrowConfig,
    layout: Layout,
    n_outputs: usize,
    tree: Tree,
    /// Scratch: totals of the node being split, and of a running left side.
    scratch: Vec<f64>,
}

/// The best split of a node.
struct Best {
    feature: usize,
    bin: usize,
    missing_left: bool,
    score: f64,
}

struct Task {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    /// Histograms of every feature, when growing with sibling subtraction.
    hist: Option<Vec<f64>>,
}

/// Grows one tree on the rows with non-zero `weights` (bootstrap counts).
/// `rng` draws the features tried at each split.
pub fn grow(
    binned: &Binned,
    target: &TargetRef,
    weights: &[f64],
    cfg: &GrowConfig,
    rng: &mut impl rand::Rng,
) -> Tree {
    let n_features = binned.columns.len();
    let (stride, n_outputs) = match target {
        TargetRef::Classes { n_classes, .. } => (1 + n_classes, *n_classes),
        TargetRef::Values(_) => (4, 1),
    };
    let mut g = Grower {
        binned,
        target,
        weights,
        cfg,
        layout: Layout::new(binned, stride),
        n_outputs,
        tree: Tree {
            nodes: Vec::new(),
            values: Vec::new(),
            n_outputs,
            importances: vec![0.0; n_features],
            covers: Vec::new(),
        },
        scratch: vec![0.0; stride * 2],
    };
    let mut rows: Vec<u32> = (0..binned.n_rows as u32)
        .filter(|&r| weights[r as usize] > 0.0)
        .collect();
    let subtract = 2 * cfg.max_features > n_features;
    let all_features: Vec<usize> = (0..n_features).collect();
    let root_hist = subtract.then(|| {
        let mut h = vec![0.0; g.layout.total];
        g.build_hist(&mut h, &rows, &all_features);
        h
    });
    g.push_node();
    let mut stack = vec![Task {
        node: 0,
        start: 0,
        end: rows.len(),
        depth: 0,
        hist: root_hist,
    }];
    let mut order: Vec<usize> = (0..n_features).collect();
    let mut sampled_hist = vec![0.0; if subtract { 0 } else { g.layout.total }];
    while let Some(task) = stack.pop() {
        g.split_or_leaf(
            task,
            &mut rows,
            &mut stack,
            &mut order,
            &mut sampled_hist,
            rng,
        );
    }
    g.tree
}

impl Grower<'_> {
    /// A node to be decided, its cover with it; returns its index.
    fn push_node(&mut self) -> usize {
        self.tree.nodes.push(TreeNode::Leaf { offset: 0 });
        self.tree.covers.push(0.0);
        self.tree.nodes.len() - 1
    }

    fn build_hist(&self, hist: &mut [f64], rows: &[u32], features: &[usize]) {
        let s = self.layout.stride;
        for &f in features {
            let off = self.layout.offset[f];
            let len = (self.binned.n_bins[f] + 1) * s;
            let h = &mut hist[off..off + len];
            h.fill(0.0);
            let col = &self.binned.columns[f];
            match self.target {
                TargetRef::Classes { labels, .. } => {
                    for &r in rows {
                        let r = r as usize;
                        let b = col[r] as usize * s;
                        h[b] += 1.0;
                        h[b + 1 + labels[r] as usize] += self.weights[r];
                    }
                }
                TargetRef::Values(y) => {
                    for &r in rows {
                        let r = r as usize;
                        let b = col[r] as usize * s;
                        let w = self.weights[r];
                        let wy = w * y[r];
                        h[b] += 1.0;
                        h[b + 1] += w;
                        h[b + 2] += wy;
                        h[b + 3] += wy * y[r];
                    }
                }
            }
        }
    }

    /// TreeNode totals from its rows.
    fn totals(&self, rows: &[u32], out: &mut [f64]) {
        out.fill(0.0);
        for &r in rows {
            let r = r as usize;
            let w = self.weights[r];
            out[0] += 1.0;
            match self.target {
                TargetRef::Classes { labels, .. } => out[1 + labels[r] as usize] += w,
                TargetRef::Values(y) => {
                    out[1] += w;
                    out[2] += w * y[r];
                    out[3] += w * y[r] * y[r];
                }
            }
        }
    }

    /// Weighted sample count of stats `s`.
    fn weight(&self, s: &[f64]) -> f64 {
        match self.target {
            TargetRef::Classes { .. } => s[1..].iter().sum(),
            TargetRef::Values(_) => s[1],
        }
    }

    /// Impurity of stats `s` (gini, entropy in bits, or variance).
    fn impurity(&self, s: &[f64]) -> f64 {
        let w = self.weight(s);
        if w <= 0.0 {
            return 0.0;
        }
        match (self.target, self.cfg.criterion) {
            (TargetRef::Values(_), _) => (s[3] / w - (s[2] / w) * (s[2] / w)).max(0.0),
            (_, Criterion::Entropy) => -s[1..]
                .iter()
                .filter(|&&c| c > 0.0)
                .map(|&c| (c / w) * libm::log2(c / w))
                .sum::<f64>(),
            _ => 1.0 - s[1..].iter().map(|&c| (c / w) * (c / w)).sum::<f64>(),
        }
    }

    /// Impurity at or below which a node is pure up to rounding. The variance comes from
    /// E[y²] − E[y]², whose rounding error is about ε·E[y²]: the floor scales with the target
    /// (an absolute floor would keep a target around 1e-7 from ever splitting). Class
    /// impurities lie in [0, 1], so their floor is ε itself, as scikit-learn's.
    fn noise_floor(&self, s: &[f64]) -> f64 {
        match self.target {
            TargetRef::Values(_) if s[1] > 0.0 => f64::EPSILON * (s[3] / s[1]),
            _ => f64::EPSILON,
        }
    }

    /// A score that orders splits like the impurity decrease (higher is better).
    #[inline]
    fn score(&self, l: &[f64], r: &[f64]) -> f64 {
        match (self.target, self.cfg.criterion) {
            (TargetRef::Values(_), _) => l[2] * l[2] / l[1] + r[2] * r[2] / r[1],
            (_, Criterion::Entropy) => {
                let side = |s: &[f64]| {
                    let w: f64 = s[1..].iter().sum();
                    s[1..]
                        .iter()
                        .filter(|&&c| c > 0.0)
                        .map(|&c| c * libm::log(c / w))
                        .sum::<f64>()
                };
                side(l) + side(r)
            }
            _ => {
                let side = |s: &[f64]| {
                    let w: f64 = s[1..].iter().sum();
                    s[1..].iter().map(|&c| c * c).sum::<f64>() / w
                };
                side(l) + side(r)
            }
        }
    }

    /// Scans feature `f`'s histogram for its best split; updates `best`.
    /// Returns false when the feature is constant in the node.
    fn scan(&mut self, f: usize, h: &[f64], totals: &[f64], best: &mut Option<Best>) -> bool {
        let s = self.layout.stride;
        let nb = self.binned.n_bins[f];
        let missing = &h[nb * s..(nb + 1) * s];
        let occupied = (0..=nb).filter(|&b| h[b * s] > 0.0).count();
        if occupied <= 1 {
            return false;
        }
        let min_leaf = self.cfg.min_samples_leaf as f64;
        let mut left = vec![0.0; s];
        let mut right = vec![0.0; s];
        let has_missing = missing[0] > 0.0;
        for missing_left in [false, true] {
            if missing_left && !has_missing {
                break;
            }
            if missing_left {
                left.copy_from_slice(missing);
            } else {
                left.fill(0.0);
            }
            for b in 0..nb {
                let bin = &h[b * s..(b + 1) * s];
                if bin[0] == 0.0 && b + 1 < nb {
                    continue;
                }
                for k in 0..s {
                    left[k] += bin[k];
                }
                if bin[0] == 0.0 {
                    continue;
                }
                for k in 0..s {
                    right[k] = totals[k] - left[k];
                }
                if left[0] < min_leaf || right[0] < min_leaf {
                    continue;
                }
                if self.weight(&left) <= 0.0 || self.weight(&right) <= 0.0 {
                    continue;
                }
                let sc = self.score(&left, &right);
                if best.as_ref().is_none_or(|bb| sc > bb.score) {
                    *best = Some(Best {
                        feature: f,
                        bin: b,
                        missing_left,
                        score: sc,
                    });
                }
            }
        }
        true
    }

    fn make_leaf(&mut self, node: usize, totals: &[f64]) {
        let offset = self.tree.values.len() as u32;
        let w = self.weight(totals);
        match self.target {
            TargetRef::Classes { .. } => {
                self.tree
                    .values
                    .extend(totals[1..].iter().map(|&c| (c / w) as f32));
            }
            TargetRef::Values(_) => self.tree.values.push((totals[2] / w) as f32),
        }
        debug_assert_eq!(self.tree.values.len() - offset as usize, self.n_outputs);
        self.tree.nodes[node] = TreeNode::Leaf { offset };
    }

    fn split_or_leaf(
        &mut self,
        task: Task,
        rows: &mut [u32],
        stack: &mut Vec<Task>,
        order: &mut [usize],
        sampled_hist: &mut [f64],
        rng: &mut impl rand::Rng,
    ) {
        let s = self.layout.stride;
        let mut totals = std::mem::take(&mut self.scratch);
        self.totals(&rows[task.start..task.end], &mut totals[..s]);
        let totals_s = &totals[..s].to_vec();
        self.scratch = totals;
        let n = totals_s[0] as usize;
        let impurity = self.impurity(totals_s);
        self.tree.covers[task.node] = self.weight(totals_s);
        let cfg = self.cfg;
        if task.depth >= cfg.max_depth
            || n < cfg.min_samples_split
            || n < 2 * cfg.min_samples_leaf
            || impurity <= self.noise_floor(totals_s)
        {
            self.make_leaf(task.node, totals_s);
            return;
        }
        // Draw features without replacement until `max_features` non-constant ones were
        // tried (or none is left), as scikit-learn does.
        let n_features = order.len();
        let mut best: Option<Best> = None;
        let mut tried = 0;
        let mut i = 0;
        while i < n_features && tried < cfg.max_features {
            let j = rng.random_range(i as u32..n_features as u32) as usize;
            order.swap(i, j);
            let f = order[i];
            i += 1;
            let off = self.layout.offset[f];
            let len = (self.binned.n_bins[f] + 1) * s;
            let non_constant = match &task.hist {
                Some(h) => self.scan(f, &h[off..off + len], totals_s, &mut best),
                None => {
                    self.build_hist(sampled_hist, &rows[task.start..task.end], &[f]);
                    let h = sampled_hist[off..off + len].to_vec();
                    self.scan(f, &h, totals_s, &mut best)
                }
            };
            tried += usize::from(non_constant);
        }
        let Some(best) = best else {
            self.make_leaf(task.node, totals_s);
            return;
        };
        // Partition the node's rows: left first.
        let col = &self.binned.columns[best.feature];
        let nb = self.binned.n_bins[best.feature];
        let goes_left = |r: u32| {
            let c = col[r as usize] as usize;
            if c == nb {
                best.missing_left
            } else {
                c <= best.bin
            }
        };
        let slice = &mut rows[task.start..task.end];
        let mut mid = 0;
        for k in 0..slice.len() {
            if goes_left(slice[k]) {
                slice.swap(mid, k);
                mid += 1;
            }
        }
        let mid = task.start + mid;
        let mut lt = vec![0.0; s];
        let mut rt = vec![0.0; s];
        self.totals(&rows[task.start..mid], &mut lt);
        self.totals(&rows[mid..task.end], &mut rt);
        let (wl, wr, wn) = (self.weight(&lt), self.weight(&rt), self.weight(totals_s));
        self.tree.importances[best.feature] +=
            wn * impurity - wl * self.impurity(&lt) - wr * self.impurity(&rt);
        // A split without missing training values sends missing values to the heavier side.
        let had_missing = {
            let c = col;
            rows[task.start..task.end]
                .iter()
                .any(|&r| c[r as usize] as usize == nb)
        };
        let missing_left = if had_missing {
            best.missing_left
        } else {
            wl >= wr
        };
        let threshold = if best.bin < self.binned.bins.edges[best.feature].len() {
            self.binned.bins.edges[best.feature][best.bin]
        } else {
            // All values left, missing right: every (finite) value goes left.
            f32::MAX
        };
        let left = self.push_node();
        let right = self.push_node();
        self.tree.nodes[task.node] = TreeNode::Split {
            feature: best.feature as u32,
            threshold,
            missing_left,
            left: left as u32,
            right: right as u32,
        };
        let (left_hist, right_hist) = match task.hist {
            None => (None, None),
            Some(mut parent) => {
                let all: Vec<usize> = (0..n_features).collect();
                let mut small = vec![0.0; self.layout.total];
                let left_smaller = mid - task.start <= task.end - mid;
                let small_rows = if left_smaller {
                    &rows[task.start..mid]
                } else {
                    &rows[mid..task.end]
                };
                self.build_hist(&mut small, small_rows, &all);
                for (p, q) in parent.iter_mut().zip(&small) {
                    *p -= q;
                }
                if left_smaller {
                    (Some(small), Some(parent))
                } else {
                    (Some(parent), Some(small))
                }
            }
        };
        let depth = task.depth + 1;
        // Right pushed first so the left subtree is grown first.
        stack.push(Task {
            node: right,
            start: mid,
            end: task.end,
            depth,
            hist: right_hist,
        });
        stack.push(Task {
            node: left,
            start: task.start,
            end: mid,
            depth,
            hist: left_hist,
        });
    }
}

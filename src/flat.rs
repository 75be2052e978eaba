//! The flattened forest (layout v2): the one node layout that the CPU predictor and the GPU
//! kernels read.
//!
//! Nodes
//! - Every tree's nodes, tree after tree, each tree in pre-order: a split's near (left) child is
//!   the next node, its far (right) child is `far` nodes further on. `far == 0` marks a leaf.
//!   `roots[t]` is the index of tree `t`'s root.
//! - Word 0 of a node is the threshold (`f32` bits) of a split, or the leaf's output: its value
//!   (`f32` bits) when a leaf holds one number, else the offset of its vector in `leaf_values`.
//! - Narrow nodes are 8 bytes, two words: `[value, far | feature << 16 | missing_left << 31]`,
//!   with `far < 2^16` and `feature < 2^15`. When a forest does not fit (deep trees, wide rows)
//!   every node is wide, 16 bytes: `[value, far, feature, flags]` (`flags & MISSING_LEFT`).
//! - A leaf holds one number for regression and for binary classification (the probability of
//!   class 1; class 0 gets `1 - p`), and a vector of class probabilities for 3 or more classes.
//!
//! The threshold rule, the same on CPU and GPU
//! - Features and thresholds are `f32`. `x <= threshold` goes left (near), `x > threshold`
//!   right (far). A missing value (`NaN`) goes left when the node says so, else right.
//! - Thresholds are never `-0.0` (it is stored as `+0.0`, the same comparison), so the GPU can
//!   compare in an order-preserving integer encoding of the bits: no float operation touches an
//!   input, and a GPU that flushes subnormals still sends them the way the CPU does.
//!
//! - A leaf's numbers and how a row's sums become outputs are the forest's [`Head`]: the forests
//!   this program trains hold averaged probabilities or values; imported ones (ONNX) may sum
//!   scores, add base values and end with a logistic or softmax.
//!
//! The reduction rule, the same on CPU and GPU
//! - Tree `t` belongs to lane `t % LANES`. Each lane sums its trees' leaf values in tree order,
//!   starting from `+0.0`; the row's total starts from `+0.0` and adds the lanes in order; the
//!   output is the total times `1 / n_trees` (that reciprocal rounded to `f32` once). f32
//!   addition and multiplication are correctly rounded in WGSL as on the CPU, so any kernel that
//!   keeps this order reproduces the CPU's bits, however it spreads trees over invocations.

mod plan;
// The hot loops, in a crate of their own (optimised for speed in the page's wasm):
use forest_scoring::layout::{self, decode, pack};
pub use forest_scoring::layout::{LANES, MISSING_LEFT, NodeSpec};
pub use forest_scoring::outputs::{Head, Pair, Post};
pub use plan::cpu_walk;

use plan::{Plan, Threads};
use serde::{Deserialize, Serialize};

/// A forest with its walk planned once, for scoring batch after batch (the page's scoring
/// workers, the Python package's models): [`FlatForest::predict`] and
/// [`FlatForest::predict_single_thread`] plan on every call, which costs O(nodes).
pub struct PlannedForest {
    forest: FlatForest,
    plan: Option<Plan>,
}

impl PlannedForest {
    pub fn new(forest: FlatForest) -> PlannedForest {
        // No batch to measure the walks on yet: the one chosen already in this process, or
        // one chosen now on rows made from the forest's own thresholds, so that small batches
        // get the faster walk from the first (the scalar one is the only one in wasm).
        let mut plan = Plan::new(&forest, Threads::All);
        if let Some(p) = plan.as_mut() {
            p.choose_walk(&forest, &plan::calibration_rows(&forest));
        }
        PlannedForest { forest, plan }
    }

    pub fn forest(&self) -> &FlatForest {
        &self.forest
    }

    /// The plan for batch `x`: none (the checked walk, one row at a time) for a row or two,
    /// where the planned walks' groups of rows cost more than they save (on the dev machine,
    /// 200 trees: 1 row 0.004 ms checked against 0.008 planned, 2 rows 0.011 against 0.015,
    /// 4 rows 0.036 against 0.027; `forest bench --cpu-only --batches 1,2,4,8`).
    fn plan_of(&self, x: &[f32]) -> Option<&Plan> {
        const PLANNED_FROM_ROWS: usize = 3;
        self.plan
            .as_ref()
            .filter(|_| x.len() / self.forest.n_features.max(1) as usize >= PLANNED_FROM_ROWS)
    }

    /// As [`FlatForest::predict_single_thread`], with the plan made once (and the walk the
    /// process has chosen since, if it has).
    pub fn predict_single_thread(&self, x: &[f32], out: &mut [f32]) {
        match self.plan_of(x) {
            Some(p) => self
                .forest
                .predict_with(Some(&p.for_batch(&self.forest, x)), x, out),
            None => self.forest.predict_with(None, x, out),
        }
    }

    /// As [`FlatForest::predict`], with the plan made once (the walk is still chosen per
    /// batch: the first large batch decides it for the process).
    pub fn predict(&self, x: &[f32]) -> Vec<f32> {
        match self.plan_of(x) {
            Some(p) => self
                .forest
                .predict_through(Some(&p.for_batch(&self.forest, x)), x),
            None => self.forest.predict_through(None, x),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "wire::FlatForestWire", try_from = "wire::FlatForestWire")]
pub struct FlatForest {
    pub n_features: u32,
    /// Outputs per row: class probabilities, or 1 (regression).
    pub n_outputs: u32,
    pub roots: Vec<u32>,
    /// Packed nodes, [`Self::node_words`] words each.
    pub nodes: Vec<u32>,
    /// 16-byte nodes instead of 8-byte ones.
    pub wide: bool,
    /// Leaf vectors ([`Self::leaf_width`] values each) when leaves hold more than one number.
    pub leaf_values: Vec<f32>,
    /// What a leaf holds and how a row's sums become its outputs.
    pub head: Head,
    /// Per node, the training weight that reached it (TreeSHAP's covers, `crate::explain`),
    /// or empty: imported ONNX forests and files older than covers have none. Scoring never
    /// reads them.
    pub covers: Vec<f32>,
}

/// Builds a forest node by node, tree by tree (pre-order), then packs it.
pub struct Builder {
    n_features: u32,
    n_outputs: u32,
    roots: Vec<u32>,
    nodes: Vec<NodeSpec>,
    leaf_values: Vec<f32>,
    head: Head,
    covers: Vec<f32>,
}

impl Builder {
    /// A builder for this program's forests ([`Head::own`]).
    pub fn new(n_features: usize, n_outputs: usize) -> Builder {
        Builder::with_head(n_features, n_outputs, Head::own(n_outputs as u32))
    }

    pub fn with_head(n_features: usize, n_outputs: usize, head: Head) -> Builder {
        Builder {
            n_features: n_features as u32,
            n_outputs: n_outputs as u32,
            roots: Vec::new(),
            nodes: Vec::new(),
            leaf_values: Vec::new(),
            head,
            covers: Vec::new(),
        }
    }

    fn leaf_width(&self) -> usize {
        self.head.width as usize
    }

    /// Nodes appended so far.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn start_tree(&mut self) {
        self.roots.push(self.nodes.len() as u32);
    }

    /// Appends a split and returns its index, for [`Self::set_far`] once the far child is placed.
    pub fn split(&mut self, feature: u32, threshold: f32, missing_left: bool) -> usize {
        // -0.0 compares as +0.0; storing +0.0 keeps the GPU's integer comparison exact.
        let threshold = if threshold == 0.0 { 0.0 } else { threshold };
        self.nodes.push(NodeSpec {
            value: threshold.to_bits(),
            far: 0,
            feature,
            missing_left,
        });
        self.nodes.len() - 1
    }

    /// Points split `at` to the next node to be appended, its far child.
    pub fn set_far(&mut self, at: usize) {
        self.nodes[at].far = (self.nodes.len() - at) as u32;
    }

    /// Gives the node just appended its cover. A forest keeps covers only when every node
    /// got one.
    pub fn cover(&mut self, weight: f64) {
        self.covers.resize(self.nodes.len() - 1, f32::NAN);
        self.covers.push(weight as f32);
    }

    /// Appends a leaf with the class probabilities or regression value `outputs`
    /// (`n_outputs` long).
    pub fn leaf(&mut self, outputs: &[f32]) {
        let value = match (self.leaf_width(), outputs.len()) {
            (1, 2) => outputs[1].to_bits(),
            (1, _) => outputs[0].to_bits(),
            _ => {
                let at = self.leaf_values.len() as u32;
                self.leaf_values.extend_from_slice(outputs);
                at
            }
        };
        self.nodes.push(NodeSpec {
            value,
            far: 0,
            feature: 0,
            missing_left: false,
        });
    }

    /// Appends a leaf holding `sums` ([`Head::width`] numbers) as they are.
    pub fn leaf_sums(&mut self, sums: &[f32]) {
        let value = if sums.len() == 1 {
            sums[0].to_bits()
        } else {
            let at = self.leaf_values.len() as u32;
            self.leaf_values.extend_from_slice(sums);
            at
        };
        self.leaf_raw(value);
    }

    /// Appends an already-decided leaf output: the value bits (leaf width 1) or a leaf vector.
    fn leaf_raw(&mut self, value: u32) {
        self.nodes.push(NodeSpec {
            value,
            far: 0,
            feature: 0,
            missing_left: false,
        });
    }

    pub fn finish(self) -> FlatForest {
        let wide = self.nodes.iter().any(|n| !n.fits_narrow());
        let mut nodes = Vec::with_capacity(self.nodes.len() * if wide { 4 } else { 2 });
        for n in &self.nodes {
            pack(n, wide, &mut nodes);
        }
        let mut covers = self.covers;
        if covers.len() != self.nodes.len() || covers.iter().any(|c| c.is_nan()) {
            covers = Vec::new();
        }
        FlatForest {
            n_features: self.n_features,
            n_outputs: self.n_outputs,
            roots: self.roots,
            nodes,
            wide,
            leaf_values: self.leaf_values,
            head: self.head,
            covers,
        }
    }
}

/// Word 0 of the leaf that `row` reaches from node `i`.
#[inline(always)]
fn leaf_of<const WIDE: bool>(nodes: &[u32], mut i: usize, row: &[f32]) -> u32 {
    loop {
        let n = decode::<WIDE>(nodes, i);
        if n.far == 0 {
            return n.value;
        }
        i = n.step(i, row);
    }
}

impl FlatForest {
    /// Joins forests grown apart (by web workers) into one, trees in the order given. The
    /// result is the same as flattening all their trees at once.
    pub fn concat(parts: &[FlatForest]) -> FlatForest {
        let first = parts.first();
        let n_outputs = first.map_or(0, |p| p.n_outputs as usize);
        let mut b = Builder::with_head(
            first.map_or(0, |p| p.n_features as usize),
            n_outputs,
            first.map_or_else(|| Head::own(n_outputs as u32), |p| p.head.clone()),
        );
        let lw = b.leaf_width();
        let covered = parts.iter().all(|p| !p.covers.is_empty());
        for p in parts {
            let base = b.nodes.len() as u32;
            b.roots.extend(p.roots.iter().map(|r| r + base));
            let leaf_base = b.leaf_values.len() as u32;
            for i in 0..p.n_nodes() {
                let mut n = p.node(i);
                if n.is_leaf() && lw > 1 {
                    n.value += leaf_base;
                }
                b.nodes.push(n);
            }
            b.leaf_values.extend_from_slice(&p.leaf_values);
            if covered {
                b.covers.extend_from_slice(&p.covers);
            }
        }
        b.finish()
    }

    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    pub fn n_nodes(&self) -> usize {
        self.nodes.len() / self.node_words()
    }

    /// 32-bit words per node: 2 (narrow) or 4 (wide).
    pub fn node_words(&self) -> usize {
        layout::node_words(self.wide)
    }

    /// Numbers per leaf ([`Head::width`]): for this program's forests 1, or the number of
    /// classes when there are 3 or more.
    pub fn leaf_width(&self) -> usize {
        self.head.width as usize
    }

    pub fn node(&self, i: usize) -> NodeSpec {
        if self.wide {
            decode::<true>(&self.nodes, i)
        } else {
            decode::<false>(&self.nodes, i)
        }
    }

    /// Trees' outputs summed in the lane order, into `n_rows` x [`Self::leaf_width`] `scores`,
    /// one row at a time, with every index checked: the plain statement of the rules, which
    /// the planned walk ([`score`]) must equal bit for bit.
    fn reference_scores<const WIDE: bool>(&self, x: &[f32], scores: &mut [f32]) {
        let (nf, lw) = (self.n_features.max(1) as usize, self.leaf_width());
        let n_trees = self.n_trees();
        let mut lane = vec![0.0f32; lw];
        for (row, total) in x.chunks_exact(nf).zip(scores.chunks_exact_mut(lw)) {
            total.fill(0.0);
            for l in 0..LANES.min(n_trees) {
                lane.fill(0.0);
                for &root in self.roots[l..].iter().step_by(LANES) {
                    let v = leaf_of::<WIDE>(&self.nodes, root as usize, row);
                    if lw == 1 {
                        lane[0] += f32::from_bits(v);
                    } else {
                        let v = v as usize;
                        for (a, &p) in lane.iter_mut().zip(&self.leaf_values[v..v + lw]) {
                            *a += p;
                        }
                    }
                }
                total.iter_mut().zip(&lane).for_each(|(t, s)| *t += s);
            }
        }
    }

    /// Turns the scores of [`Self::leaf_width`] numbers a row (summed in the lane order) into
    /// the outputs by the forest's [`Head`]. The GPU's results go through the same function, so
    /// both sides round alike.
    pub fn finish_outputs(&self, scores: &[f32], out: &mut [f32]) {
        self.head
            .finish(self.n_outputs, self.n_trees(), scores, out)
    }

    /// Outputs for the rows of `x` (row-major, `n_features` wide) into `out`
    /// (`n_rows` x `n_outputs`), on one thread.
    pub fn predict_single_thread(&self, x: &[f32], out: &mut [f32]) {
        let plan = self.plan_for(x, Threads::One);
        self.predict_with(plan.as_ref(), x, out);
    }

    /// A plan for the fast walk, when `n_rows` is worth the O(nodes) it costs to make.
    /// Measured: about 3 ms for 630k nodes on 2 cores, which 100 rows repay.
    /// The walk is chosen on the whole batch `x`.
    fn plan_for(&self, x: &[f32], threads: Threads) -> Option<Plan> {
        const PLAN_FROM_ROWS: usize = 64;
        let n_rows = x.len() / self.n_features.max(1) as usize;
        let mut plan = (n_rows >= PLAN_FROM_ROWS)
            .then(|| Plan::new(self, threads))
            .flatten()?;
        plan.choose_walk(self, x);
        Some(plan)
    }

    fn predict_with(&self, plan: Option<&Plan>, x: &[f32], out: &mut [f32]) {
        let mut scores = vec![0.0f32; out.len() / self.n_outputs as usize * self.leaf_width()];
        match plan {
            Some(p) => self.planned_scores(p, x, &mut scores),
            None => self.raw_scores(x, &mut scores),
        }
        self.finish_outputs(&scores, out);
    }

    /// The outputs of the one-row reference walk, every index checked (for tests and audits:
    /// every other scorer, CPU or GPU, must give these bits).
    pub fn predict_reference(&self, x: &[f32], out: &mut [f32]) {
        self.predict_with(None, x, out);
    }

    /// The scores before [`Self::finish_outputs`], by the reference walk.
    fn raw_scores(&self, x: &[f32], scores: &mut [f32]) {
        if self.wide {
            self.reference_scores::<true>(x, scores)
        } else {
            self.reference_scores::<false>(x, scores)
        }
    }

    /// The forest's outputs for one row, into `out` (`n_outputs` long).
    pub fn predict_row(&self, row: &[f32], out: &mut [f32]) {
        self.predict_single_thread(row, out)
    }

    /// Nodes visited (leaves included) by `row` in tree `t`.
    pub fn path_len(&self, t: usize, row: &[f32]) -> usize {
        let mut i = self.roots[t] as usize;
        let mut n = 1;
        loop {
            let node = self.node(i);
            if node.is_leaf() {
                return n;
            }
            i = node.step(i, row);
            n += 1;
        }
    }

    /// Outputs for the rows of `x`, on every core natively.
    pub fn predict(&self, x: &[f32]) -> Vec<f32> {
        let plan = self.plan_for(x, Threads::All);
        self.predict_through(plan.as_ref(), x)
    }

    /// The outputs of `x` through `plan` (the checked walk without one), in chunks on every
    /// core natively.
    fn predict_through(&self, plan: Option<&Plan>, x: &[f32]) -> Vec<f32> {
        let (nf, no) = (self.n_features.max(1) as usize, self.n_outputs as usize);
        let n_rows = x.len() / nf;
        let mut out = vec![0.0f32; n_rows * no];
        // About 4 tasks a thread, so that work stealing evens out the threads' finish times;
        // at least one group of rows of the walk. Small batches spread too: on the H200 host's
        // 16 cores (BENCHMARKS.md, "Small batches on the CPU") 1,000 rows took 0.36-0.49 ms
        // in chunks of 32 rows, 2.2 ms as one chunk (the earlier minimum of 1,024 rows), and
        // 100 rows 0.19-0.22 ms against 0.27-0.28 in chunks of 64.
        let chunk = n_rows
            .div_ceil(4 * crate::parallel::threads())
            .max(forest_scoring::walk::WALK_ROWS);
        if n_rows <= chunk {
            // One chunk: on this thread, rather than waking one of the pool's to do it.
            self.predict_with(plan, x, &mut out);
            return out;
        }
        crate::parallel::for_chunks(&mut out, chunk * no, |c, o| {
            let start = c * chunk * nf;
            self.predict_with(plan, &x[start..start + o.len() / no * nf], o);
        });
        out
    }

    /// Checks that every index points where it may, so that a loaded file or a worker's
    /// message cannot make the predictors read out of bounds or loop
    /// ([`forest_scoring::layout::validate`], the walk's guarantee), and that the outputs
    /// and the head are of a kind this program scores.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_whole()?;
        (0..self.n_trees()).try_for_each(|t| layout::check_tree(&self.layout(), t))
    }

    /// The checks of [`Self::validate`] that are not about one tree's nodes.
    fn validate_whole(&self) -> Result<(), String> {
        if self.n_outputs == 0 {
            return Err("n_outputs is 0".into());
        }
        if self.n_features == 0 {
            return Err("n_features is 0".into());
        }
        if self.leaf_values.iter().any(|v| !v.is_finite()) {
            return Err("a leaf value is not finite".into());
        }
        if !self.covers.is_empty() {
            if self.covers.len() != self.n_nodes() {
                return Err(format!(
                    "{} covers for {} nodes",
                    self.covers.len(),
                    self.n_nodes()
                ));
            }
            if let Some(i) = self
                .covers
                .iter()
                .position(|c| !(c.is_finite() && *c >= 0.0))
            {
                return Err(format!(
                    "node {i}: its cover is not a finite weight of at least 0"
                ));
            }
        }
        self.head.check(self.n_outputs)?;
        layout::check_whole(&self.layout())
    }

    /// The packed nodes as the layout's validator reads them.
    fn layout(&self) -> layout::Nodes<'_> {
        layout::Nodes {
            nodes: &self.nodes,
            wide: self.wide,
            roots: &self.roots,
            leaf_values: &self.leaf_values,
            leaf_width: self.leaf_width(),
            n_features: self.n_features,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synth;
    use crate::forest::{Params, Trainer, Tree};

    fn trees(classes: usize, depth: usize) -> (Vec<Tree>, crate::data::Dataset) {
        let d = synth::classification(300, 6, 4, classes, 5);
        let params = Params {
            n_trees: 7,
            max_depth: Some(depth),
            ..Params::default()
        };
        let trainer = Trainer::new(&d, &params).unwrap();
        (trainer.grow_trees(0..7, &|| {}), d)
    }

    #[test]
    fn concat_equals_flattening_all_trees_at_once() {
        for classes in [2, 3] {
            let (trees, _) = trees(classes, 8);
            let whole = crate::forest::flatten(&trees, 6, classes);
            let parts: Vec<FlatForest> = [0..3, 3..4, 4..7]
                .into_iter()
                .map(|r| crate::forest::flatten(&trees[r], 6, classes))
                .collect();
            let joined = FlatForest::concat(&parts);
            assert_eq!(joined, whole);
            joined.validate().unwrap();
        }
    }

    #[test]
    fn small_trees_pack_into_8_byte_nodes_and_deep_ones_widen() {
        let (t, d) = trees(3, 6);
        let narrow = crate::forest::flatten(&t, 6, 3);
        assert!(!narrow.wide);
        assert_eq!(narrow.nodes.len(), narrow.n_nodes() * 2);
        // The same nodes packed wide predict the same bits.
        let mut wide = narrow.clone();
        wide.nodes.clear();
        for i in 0..narrow.n_nodes() {
            pack(&narrow.node(i), true, &mut wide.nodes);
        }
        wide.wide = true;
        wide.validate().unwrap();
        assert_eq!(wide.predict(&d.x), narrow.predict(&d.x));
        // A far child 70,000 nodes away cannot be narrow.
        let mut b = Builder::new(2, 1);
        b.start_tree();
        let s = b.split(0, 0.5, false);
        for _ in 0..70_000 {
            b.split(1, 0.0, false);
        }
        b.leaf(&[1.0]);
        for i in (1..=70_000).rev() {
            b.set_far(i);
            b.leaf(&[2.0]);
        }
        b.set_far(s);
        b.leaf(&[3.0]);
        let f = b.finish();
        assert!(f.wide);
        f.validate().unwrap();
        let mut o = [0.0];
        f.predict_row(&[1.0, 0.0], &mut o);
        assert_eq!(o[0], 3.0);
    }

    #[test]
    fn lanes_sum_in_the_documented_order() {
        // 20 one-leaf trees with values that make the order visible in f32.
        let vals: Vec<f32> = (0..20)
            .map(|t| if t % 3 == 0 { 1e8 } else { 1.0 + t as f32 })
            .collect();
        let mut b = Builder::new(1, 1);
        for &v in &vals {
            b.start_tree();
            b.leaf(&[v]);
        }
        let f = b.finish();
        let mut total = 0.0f32;
        for l in 0..LANES {
            let mut s = 0.0f32;
            for t in (l..vals.len()).step_by(LANES) {
                s += vals[t];
            }
            total += s;
        }
        let mut o = [0.0];
        f.predict_row(&[0.0], &mut o);
        assert_eq!(o[0].to_bits(), (total * (1.0 / 20.0f32)).to_bits());
    }

    #[test]
    fn negative_zero_thresholds_become_positive_zero() {
        let mut b = Builder::new(1, 1);
        b.start_tree();
        let s = b.split(0, -0.0, false);
        b.leaf(&[1.0]);
        b.set_far(s);
        b.leaf(&[2.0]);
        let f = b.finish();
        assert_eq!(f.node(0).value, 0.0f32.to_bits());
        let mut o = [0.0];
        for (x, want) in [(-0.0, 1.0), (0.0, 1.0), (1e-45, 2.0), (-1e-45, 1.0)] {
            f.predict_row(&[x], &mut o);
            assert_eq!(o[0], want, "x = {x:e}");
        }
    }
}

/// The JSON form: one array per node field keeps saved models small. Version 2 stores far
/// children as distances (0 for a leaf), leaf values inline where a leaf holds one number, and
/// the leaf vectors of the other leaves in node order. Version 1 (absolute far indices, a LEAF
/// flag, class vectors for every leaf) is converted on load.
pub(crate) mod wire {
    use super::*;

    /// Every per-node array has the length of the first.
    fn same_lengths(lens: &[usize]) -> Result<usize, String> {
        let n = lens[0];
        if lens.iter().any(|&l| l != n) {
            return Err("node arrays differ in length".into());
        }
        Ok(n)
    }

    #[derive(Serialize, Deserialize)]
    pub struct FlatForestWire {
        n_features: u32,
        n_outputs: u32,
        roots: Vec<u32>,
        /// Split threshold, or a leaf's value when leaves hold one number (else 0).
        threshold: Vec<f32>,
        far: Vec<u32>,
        feature: Vec<u32>,
        missing_left: Vec<u8>,
        leaf_values: Vec<f32>,
        /// Absent for this program's own forests ([`Head::own`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        head: Option<Head>,
        /// Per node, the training weight that reached it; absent where there are none.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cover: Vec<f32>,
    }

    impl From<FlatForest> for FlatForestWire {
        fn from(f: FlatForest) -> Self {
            let n = f.n_nodes();
            let lw = f.leaf_width();
            let specs: Vec<NodeSpec> = (0..n).map(|i| f.node(i)).collect();
            FlatForestWire {
                n_features: f.n_features,
                n_outputs: f.n_outputs,
                roots: f.roots,
                threshold: specs
                    .iter()
                    .map(|s| {
                        if s.is_leaf() && lw > 1 {
                            0.0
                        } else {
                            s.threshold()
                        }
                    })
                    .collect(),
                far: specs.iter().map(|s| s.far).collect(),
                feature: specs.iter().map(|s| s.feature).collect(),
                missing_left: specs.iter().map(|s| u8::from(s.missing_left)).collect(),
                leaf_values: f.leaf_values,
                head: (f.head != Head::own(f.n_outputs)).then_some(f.head),
                cover: f.covers,
            }
        }
    }

    impl TryFrom<FlatForestWire> for FlatForest {
        type Error = String;
        fn try_from(w: FlatForestWire) -> Result<Self, String> {
            let n = same_lengths(&[
                w.threshold.len(),
                w.far.len(),
                w.feature.len(),
                w.missing_left.len(),
            ])?;
            let head = w.head.unwrap_or_else(|| Head::own(w.n_outputs));
            head.check(w.n_outputs)?;
            let lw = head.width as usize;
            let mut b = Builder::with_head(w.n_features as usize, w.n_outputs as usize, head);
            b.roots = w.roots;
            let mut next_vector = 0usize;
            for i in 0..n {
                if w.far[i] == 0 {
                    if lw == 1 {
                        b.leaf_raw(w.threshold[i].to_bits());
                    } else {
                        b.leaf_raw(next_vector as u32);
                        next_vector += lw;
                    }
                } else {
                    let at = b.split(w.feature[i], w.threshold[i], w.missing_left[i] != 0);
                    b.nodes[at].far = w.far[i];
                }
            }
            if lw > 1 && next_vector != w.leaf_values.len() {
                return Err(format!(
                    "{} leaf values for {} leaves of {lw}",
                    w.leaf_values.len(),
                    next_vector / lw
                ));
            }
            b.leaf_values = w.leaf_values;
            let mut f = b.finish();
            f.covers = w.cover;
            f.validate()?;
            Ok(f)
        }
    }

    /// Version 1's forest: 16-byte nodes with absolute far indices and a LEAF flag.
    #[derive(Deserialize)]
    pub struct V1 {
        n_features: u32,
        n_outputs: u32,
        roots: Vec<u32>,
        threshold: Vec<f32>,
        far: Vec<u32>,
        feature: Vec<u32>,
        flags: Vec<u32>,
        leaf_values: Vec<f32>,
    }

    impl TryFrom<V1> for FlatForest {
        type Error = String;
        fn try_from(v: V1) -> Result<Self, String> {
            const LEAF: u32 = 1;
            const MISSING_LEFT_V1: u32 = 2;
            let n = same_lengths(&[
                v.threshold.len(),
                v.far.len(),
                v.feature.len(),
                v.flags.len(),
            ])?;
            let no = v.n_outputs as usize;
            let mut b = Builder::new(v.n_features as usize, no);
            b.roots = v.roots;
            for i in 0..n {
                let far = v.far[i] as usize;
                if v.flags[i] & LEAF != 0 {
                    let vals = v
                        .leaf_values
                        .get(far..far.saturating_add(no))
                        .ok_or_else(|| format!("node {i}: leaf values out of range"))?;
                    b.leaf(vals);
                } else {
                    if far <= i + 1 {
                        return Err(format!("node {i}: child index out of range"));
                    }
                    let at = b.split(
                        v.feature[i],
                        v.threshold[i],
                        v.flags[i] & MISSING_LEFT_V1 != 0,
                    );
                    b.nodes[at].far = (far - i).min(u32::MAX as usize) as u32;
                }
            }
            let f = b.finish();
            f.validate()?;
            Ok(f)
        }
    }
}

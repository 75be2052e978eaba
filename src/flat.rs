//! The flattened forest: the one node layout that the CPU predictor and the GPU kernels read.
//!
//! Layout
//! - `nodes`: every tree's nodes, tree after tree, each tree in pre-order, so a split's near
//!   (left) child is the next node and only the far (right) child needs an index.
//!   `roots[t]` is the index of tree `t`'s root.
//! - A node is 16 bytes, four 32-bit words ([`FlatNode`]):
//!   `threshold: f32`, `far: u32`, `feature: u32`, `flags: u32`.
//!   For a split, `far` is the absolute index of the right child. For a leaf (`flags & LEAF`),
//!   `far` is the offset of its `n_outputs` values in `leaf_values`.
//! - `leaf_values`: per leaf, class probabilities (classification) or the mean (regression).
//!
//! The threshold rule, the same on CPU and GPU
//! - Features and thresholds are `f32`. Input numbers are parsed as `f64` and rounded to the
//!   nearest `f32` once, when read; training bins and thresholds are computed on those `f32`
//!   values, so no threshold is ever converted from `f64` at prediction time.
//! - `x <= threshold` goes left (near), `x > threshold` goes right (far); `x == threshold` goes left.
//! - A missing value (`NaN`) goes left when `flags & MISSING_LEFT`, else right.
//!
//! - Infinite inputs are clamped to the largest finite `f32` when data is encoded, and a split
//!   that sends every value left (missing values right) has the threshold `f32::MAX`, so no
//!   infinity reaches a kernel (WGSL may assume finite math).
//!
//! The forest's output for a row is the sum of its trees' leaf values, accumulated in `f32`
//! in tree order, times `1 / n_trees` (that reciprocal rounded to `f32` once). Addition and
//! multiplication are correctly rounded in WGSL as on the CPU (division is not), so the GPU
//! reproduces these outputs bit for bit.

use crate::forest::{Node, Tree};
use bytemuck::{Pod, Zeroable};
use serde::{Deserialize, Serialize};

pub const LEAF: u32 = 1;
pub const MISSING_LEFT: u32 = 2;

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct FlatNode {
    pub threshold: f32,
    pub far: u32,
    pub feature: u32,
    pub flags: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "wire::FlatForestWire", try_from = "wire::FlatForestWire")]
pub struct FlatForest {
    pub n_features: u32,
    pub n_outputs: u32,
    pub roots: Vec<u32>,
    pub nodes: Vec<FlatNode>,
    pub leaf_values: Vec<f32>,
}

impl FlatForest {
    pub fn from_trees(trees: &[Tree], n_features: usize, n_outputs: usize) -> FlatForest {
        let total: usize = trees.iter().map(|t| t.nodes.len()).sum();
        let mut f = FlatForest {
            n_features: n_features as u32,
            n_outputs: n_outputs as u32,
            roots: Vec::with_capacity(trees.len()),
            nodes: Vec::with_capacity(total),
            leaf_values: Vec::new(),
        };
        for tree in trees {
            f.roots.push(f.nodes.len() as u32);
            // (tree node, flat index of the parent whose `far` points here)
            let mut stack: Vec<(usize, Option<usize>)> = vec![(0, None)];
            while let Some((i, patch)) = stack.pop() {
                let idx = f.nodes.len();
                if let Some(p) = patch {
                    f.nodes[p].far = idx as u32;
                }
                match tree.nodes[i] {
                    Node::Leaf { offset } => {
                        let o = offset as usize;
                        let far = f.leaf_values.len() as u32;
                        f.leaf_values
                            .extend_from_slice(&tree.values[o..o + n_outputs]);
                        f.nodes.push(FlatNode {
                            threshold: 0.0,
                            far,
                            feature: 0,
                            flags: LEAF,
                        });
                    }
                    Node::Split {
                        feature,
                        threshold,
                        missing_left,
                        left,
                        right,
                    } => {
                        let flags = if missing_left { MISSING_LEFT } else { 0 };
                        f.nodes.push(FlatNode {
                            threshold,
                            far: 0,
                            feature,
                            flags,
                        });
                        stack.push((right as usize, Some(idx)));
                        stack.push((left as usize, None));
                    }
                }
            }
        }
        f
    }

    /// Joins forests grown apart (by web workers) into one, trees in the order given. The
    /// result is the same as flattening all their trees at once.
    pub fn concat(parts: &[FlatForest]) -> FlatForest {
        let first = parts.first();
        let mut f = FlatForest {
            n_features: first.map_or(0, |p| p.n_features),
            n_outputs: first.map_or(0, |p| p.n_outputs),
            roots: Vec::new(),
            nodes: Vec::with_capacity(parts.iter().map(|p| p.nodes.len()).sum()),
            leaf_values: Vec::with_capacity(parts.iter().map(|p| p.leaf_values.len()).sum()),
        };
        for p in parts {
            let (node_base, leaf_base) = (f.nodes.len() as u32, f.leaf_values.len() as u32);
            f.roots.extend(p.roots.iter().map(|r| r + node_base));
            f.nodes.extend(p.nodes.iter().map(|n| FlatNode {
                far: n.far
                    + if n.flags & LEAF != 0 {
                        leaf_base
                    } else {
                        node_base
                    },
                ..*n
            }));
            f.leaf_values.extend_from_slice(&p.leaf_values);
        }
        f
    }

    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// The factor that turns summed leaf values into the forest's output.
    pub fn inv_trees(&self) -> f32 {
        1.0 / self.n_trees() as f32
    }

    /// Adds the leaf values of every tree for `row` into `acc` (`n_outputs` long).
    #[inline]
    fn accumulate(&self, row: &[f32], acc: &mut [f32]) {
        let n_out = self.n_outputs as usize;
        for &root in &self.roots {
            let o = self.leaf_of(root as usize, row);
            for (a, &v) in acc.iter_mut().zip(&self.leaf_values[o..o + n_out]) {
                *a += v;
            }
        }
    }

    /// The forest's outputs for one row, into `out` (`n_outputs` long).
    pub fn predict_row(&self, row: &[f32], out: &mut [f32]) {
        out.fill(0.0);
        self.accumulate(row, out);
        let inv = self.inv_trees();
        out.iter_mut().for_each(|v| *v *= inv);
    }

    /// Outputs for the rows of `x` (row-major, `n_features` wide), on one thread.
    ///
    /// Rows go in blocks: each tree walks a whole block while its nodes are hot in cache,
    /// instead of each row walking every tree. Each row still sums its trees in tree order,
    /// so the outputs are the same bits as [`Self::predict_row`]'s.
    pub fn predict_single_thread(&self, x: &[f32], out: &mut [f32]) {
        const BLOCK: usize = 64;
        let (nf, no) = (self.n_features as usize, self.n_outputs as usize);
        let inv = self.inv_trees();
        for (rows, o) in x.chunks(BLOCK * nf).zip(out.chunks_mut(BLOCK * no)) {
            o.fill(0.0);
            for &root in &self.roots {
                for (row, acc) in rows.chunks_exact(nf).zip(o.chunks_exact_mut(no)) {
                    let leaf = self.leaf_of(root as usize, row);
                    for (a, &v) in acc.iter_mut().zip(&self.leaf_values[leaf..leaf + no]) {
                        *a += v;
                    }
                }
            }
            o.iter_mut().for_each(|v| *v *= inv);
        }
    }

    /// Offset in `leaf_values` of the leaf that `row` reaches from node `i`.
    #[inline]
    fn leaf_of(&self, mut i: usize, row: &[f32]) -> usize {
        loop {
            let n = self.nodes[i];
            if n.flags & LEAF != 0 {
                return n.far as usize;
            }
            let x = row[n.feature as usize];
            let left = if x.is_nan() {
                n.flags & MISSING_LEFT != 0
            } else {
                x <= n.threshold
            };
            i = if left { i + 1 } else { n.far as usize };
        }
    }

    /// Outputs for the rows of `x`, on every core natively.
    pub fn predict(&self, x: &[f32]) -> Vec<f32> {
        let (nf, no) = (self.n_features as usize, self.n_outputs as usize);
        let n_rows = x.len() / nf.max(1);
        let mut out = vec![0.0f32; n_rows * no];
        const CHUNK: usize = 512;
        crate::parallel::for_chunks(&mut out, CHUNK * no, |c, o| {
            let start = c * CHUNK * nf;
            self.predict_single_thread(&x[start..start + o.len() / no * nf], o);
        });
        out
    }

    /// Checks that every index points where it may, so that a loaded file cannot make the
    /// predictors read out of bounds or loop.
    pub fn validate(&self) -> Result<(), String> {
        let n = self.nodes.len();
        if self.roots.is_empty() {
            return Err("the forest has no tree".into());
        }
        if self.n_outputs == 0 {
            return Err("n_outputs is 0".into());
        }
        let mut ends: Vec<usize> = self.roots.iter().skip(1).map(|&r| r as usize).collect();
        ends.push(n);
        for (t, (&root, &end)) in self.roots.iter().zip(&ends).enumerate() {
            if root as usize >= end || end > n {
                return Err(format!("tree {t}: bad root index {root}"));
            }
            for i in root as usize..end {
                let node = self.nodes[i];
                if node.flags & LEAF != 0 {
                    if node.far as usize + self.n_outputs as usize > self.leaf_values.len() {
                        return Err(format!("node {i}: leaf values out of range"));
                    }
                } else {
                    // Pre-order: children come after their parent, inside the same tree.
                    if i + 1 >= end || (node.far as usize) <= i + 1 || node.far as usize >= end {
                        return Err(format!("node {i}: child index out of range"));
                    }
                    if node.feature >= self.n_features {
                        return Err(format!("node {i}: feature {} out of range", node.feature));
                    }
                    if node.threshold.is_nan() {
                        return Err(format!("node {i}: threshold is NaN"));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synth;
    use crate::forest::{Params, Trainer};

    #[test]
    fn concat_equals_flattening_all_trees_at_once() {
        let d = synth::classification(300, 6, 4, 3, 5);
        let params = Params {
            n_trees: 7,
            ..Params::default()
        };
        let trainer = Trainer::new(&d, &params).unwrap();
        let trees = trainer.grow_trees(0..7, &|| {});
        let whole = FlatForest::from_trees(&trees, 6, 3);
        let parts: Vec<FlatForest> = [0..3, 3..4, 4..7]
            .into_iter()
            .map(|r| FlatForest::from_trees(&trees[r], 6, 3))
            .collect();
        let joined = FlatForest::concat(&parts);
        assert_eq!(joined, whole);
        joined.validate().unwrap();
    }
}

/// The JSON form: one array per node field keeps saved models small.
mod wire {
    use super::*;

    #[derive(Serialize, Deserialize)]
    pub struct FlatForestWire {
        n_features: u32,
        n_outputs: u32,
        roots: Vec<u32>,
        threshold: Vec<f32>,
        far: Vec<u32>,
        feature: Vec<u32>,
        flags: Vec<u32>,
        leaf_values: Vec<f32>,
    }

    impl From<FlatForest> for FlatForestWire {
        fn from(f: FlatForest) -> Self {
            FlatForestWire {
                n_features: f.n_features,
                n_outputs: f.n_outputs,
                roots: f.roots,
                threshold: f.nodes.iter().map(|n| n.threshold).collect(),
                far: f.nodes.iter().map(|n| n.far).collect(),
                feature: f.nodes.iter().map(|n| n.feature).collect(),
                flags: f.nodes.iter().map(|n| n.flags).collect(),
                leaf_values: f.leaf_values,
            }
        }
    }

    impl TryFrom<FlatForestWire> for FlatForest {
        type Error = String;
        fn try_from(w: FlatForestWire) -> Result<Self, String> {
            let n = w.threshold.len();
            if w.far.len() != n || w.feature.len() != n || w.flags.len() != n {
                return Err("node arrays differ in length".into());
            }
            let nodes = (0..n)
                .map(|i| FlatNode {
                    threshold: w.threshold[i],
                    far: w.far[i],
                    feature: w.feature[i],
                    flags: w.flags[i],
                })
                .collect();
            let f = FlatForest {
                n_features: w.n_features,
                n_outputs: w.n_outputs,
                roots: w.roots,
                nodes,
                leaf_values: w.leaf_values,
            };
            f.validate()?;
            Ok(f)
        }
    }
}

//! A forest handed over as node arrays, one set per tree, in the layout of scikit-learn's
//! fitted trees (`tree_.children_left`, `children_right`, `feature`, `threshold`,
//! `missing_go_to_left`, `value`): how the Python package's `from_sklearn` scores a
//! scikit-learn forest on this program's CPU and GPU engines.
//!
//! scikit-learn sends a row left when `x <= threshold`, with `x` read as `f32` and the
//! threshold a double: that is `x <= le(threshold)` in the flat layout's `f32` rule, the
//! largest `f32` at most the threshold (the ONNX import's `BRANCH_LEQ`), so every row takes
//! the path it takes in scikit-learn (inputs are finite: scikit-learn refuses infinities). Leaves hold each tree's class probabilities (its value
//! normalized) or its regression value, averaged over the trees as this program's own forests.

use crate::data::Schema;
use crate::error::{Error, Result};
use crate::flat::{Builder, FlatForest};

/// One tree's nodes; node 0 is the root, a child of `-1` marks a leaf.
pub struct TreeArrays<'a> {
    pub left: &'a [i64],
    pub right: &'a [i64],
    pub feature: &'a [i64],
    pub threshold: &'a [f64],
    /// Where a missing value goes at each split (`None`: right; such trees never saw one).
    pub missing_left: Option<&'a [u8]>,
    /// `n_nodes x n_outputs`: class weights or fractions (classification), or the value.
    pub value: &'a [f64],
    /// The training weight that reached each node (`weighted_n_node_samples`): the covers
    /// that explanations weigh by. A forest keeps covers only when every tree has them.
    pub cover: Option<&'a [f64]>,
}

/// The flat forest of `trees`, reading rows of `schema`'s features, with `schema.classes`
/// outputs (1 for regression).
pub fn forest_from_arrays(trees: &[TreeArrays], schema: &Schema) -> Result<FlatForest> {
    let n_features = schema.n_features();
    let classify = schema.task == crate::data::Task::Classification;
    let n_outputs = if classify { schema.classes.len() } else { 1 };
    if trees.is_empty() {
        return Err(Error::BadModel("the forest has no trees".into()));
    }
    if classify && n_outputs < 2 {
        return Err(Error::BadModel(
            "a classifier of fewer than 2 classes".into(),
        ));
    }
    let mut b = Builder::new(n_features, n_outputs);
    let mut leaf = vec![0f32; n_outputs];
    for (t, tree) in trees.iter().enumerate() {
        let bad = |m: String| Error::BadModel(format!("tree {t}: {m}"));
        let n = tree.left.len();
        let lens = [
            tree.right.len(),
            tree.feature.len(),
            tree.threshold.len(),
            tree.missing_left.map_or(n, <[u8]>::len),
            tree.cover.map_or(n, <[f64]>::len),
        ];
        if n == 0 || lens.iter().any(|&l| l != n) || tree.value.len() != n * n_outputs {
            return Err(bad(format!(
                "node arrays of different lengths ({n} nodes, {lens:?}, {} values for {n_outputs} outputs)",
                tree.value.len()
            )));
        }
        b.start_tree();
        // (node, the split whose far child it is); each node is placed once, so a tree whose
        // children lead back up is caught when a node comes round again.
        let mut placed = vec![false; n];
        let mut stack: Vec<(usize, Option<usize>)> = vec![(0, None)];
        while let Some((i, parent)) = stack.pop() {
            if std::mem::replace(&mut placed[i], true) {
                return Err(bad(format!("node {i} is reached twice")));
            }
            if let Some(p) = parent {
                b.set_far(p);
            }
            let cover = |b: &mut Builder| {
                if let Some(c) = tree.cover {
                    b.cover(c[i]);
                }
            };
            let (l, r) = (tree.left[i], tree.right[i]);
            if l == -1 && r == -1 {
                let v = &tree.value[i * n_outputs..(i + 1) * n_outputs];
                if v.iter().any(|x| !x.is_finite()) {
                    return Err(bad(format!("leaf {i} has a value that is not finite")));
                }
                let total: f64 = if classify { v.iter().sum() } else { 1.0 };
                if classify && !(total > 0.0 && v.iter().all(|&x| x >= 0.0)) {
                    return Err(bad(format!("leaf {i} holds no class weight")));
                }
                for (o, &x) in leaf.iter_mut().zip(v) {
                    *o = (x / total) as f32;
                }
                b.leaf(&leaf);
                cover(&mut b);
                continue;
            }
            let child = |c: i64| usize::try_from(c).ok().filter(|&c| c < n && c != i);
            let (Some(l), Some(r)) = (child(l), child(r)) else {
                return Err(bad(format!("node {i} has children {l} and {r}")));
            };
            let f = usize::try_from(tree.feature[i])
                .ok()
                .filter(|&f| f < n_features)
                .ok_or_else(|| {
                    bad(format!(
                        "node {i} splits on feature {} of {n_features}",
                        tree.feature[i]
                    ))
                })?;
            let th = tree.threshold[i];
            if th.is_nan() || th == f64::NEG_INFINITY {
                return Err(bad(format!("node {i} has threshold {th}")));
            }
            let missing_left = tree.missing_left.is_some_and(|m| m[i] != 0);
            // An infinite threshold (scikit-learn's split of missing values from all others)
            // sends every number left, as the largest f32 does: the layout keeps thresholds
            // finite.
            let s = b.split(f as u32, crate::onnx::le(th).min(f32::MAX), missing_left);
            cover(&mut b);
            stack.push((r, Some(s)));
            stack.push((l, None));
        }
    }
    let forest = b.finish();
    forest.validate().map_err(Error::BadModel)?;
    Ok(forest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{FeatureKind, FeatureSpec, Task};

    fn schema(classes: usize) -> Schema {
        Schema {
            target: "y".into(),
            task: if classes > 0 {
                Task::Classification
            } else {
                Task::Regression
            },
            features: (0..2)
                .map(|i| FeatureSpec {
                    name: format!("x{i}"),
                    kind: FeatureKind::Numeric,
                })
                .collect(),
            classes: (0..classes).map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn rows_take_scikit_learns_paths() {
        // x0 <= 0.1 (a double between two f32s), else x1 <= 2 with missing values left.
        let th = [0.1f64, -2.0, 2.0, -2.0, -2.0];
        let tree = TreeArrays {
            left: &[1, -1, 3, -1, -1],
            right: &[2, -1, 4, -1, -1],
            feature: &[0, -2, 1, -2, -2],
            threshold: &th,
            missing_left: Some(&[0, 0, 1, 0, 0]),
            value: &[4.0, 4.0, 3.0, 1.0, 1.0, 3.0, 1.0, 0.0, 0.0, 3.0],
            cover: Some(&[8.0, 4.0, 4.0, 1.0, 3.0]),
        };
        let f = forest_from_arrays(&[tree], &schema(2)).unwrap();
        let below = (0.1f64 as f32).next_down();
        let above = 0.1f32; // 0.1f32 is above 0.1
        assert!(f64::from(above) > 0.1);
        let x = [below, 9.0, above, 2.0, above, 2.5, above, f32::NAN];
        let p = f.predict(&x);
        assert_eq!(p, [0.75, 0.25, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
        // Covers follow their nodes into pre-order (root, left leaf, split, its two leaves).
        assert_eq!(f.covers, [8.0, 4.0, 4.0, 1.0, 3.0]);
    }

    #[test]
    fn broken_trees_are_refused() {
        let th = [0.5f64, -2.0, -2.0];
        let v = [1.0, 1.0, 1.0];
        let base = || TreeArrays {
            left: &[1, -1, -1],
            right: &[2, -1, -1],
            feature: &[0, -2, -2],
            threshold: &th,
            missing_left: None,
            value: &v,
            cover: None,
        };
        assert!(forest_from_arrays(&[base()], &schema(0)).is_ok());
        let cases: [(TreeArrays, &str); 4] = [
            (
                TreeArrays {
                    left: &[0, -1, -1],
                    ..base()
                },
                "children 0 and 2",
            ),
            (
                TreeArrays {
                    right: &[1, -1, -1],
                    ..base()
                },
                "reached twice",
            ),
            (
                TreeArrays {
                    feature: &[5, -2, -2],
                    ..base()
                },
                "feature 5 of 2",
            ),
            (
                TreeArrays {
                    value: &[1.0],
                    ..base()
                },
                "different lengths",
            ),
        ];
        for (t, want) in cases {
            let e = forest_from_arrays(&[t], &schema(0))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e}");
        }
    }
}

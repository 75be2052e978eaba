//! A flat forest's decision paths, the form both engines explain from: per leaf, the features on
//! its way from the root, each once, in the words of [`forest_scoring::treeshap`].

use crate::flat::FlatForest;
use forest_scoring::treeshap::{ELEMENT_WORDS, NAN_GOES, NO_LOWER, NO_UPPER, PATH_WORDS, key};

/// Every leaf's path, tree after tree, leaves in pre-order.
#[derive(Debug, Clone, PartialEq)]
pub struct Paths {
    /// [`ELEMENT_WORDS`] words per element.
    pub elements: Vec<u32>,
    /// [`PATH_WORDS`] words per path.
    pub paths: Vec<u32>,
    /// Tree `t`'s paths are `tree_paths[t]..tree_paths[t + 1]`.
    pub tree_paths: Vec<u32>,
    /// The most elements on one path.
    pub longest: usize,
    /// Per tree, per leaf number: the tree's output when no feature is known, its leaves
    /// weighted by their zero fractions' product (the training weight that reaches them).
    pub expected: Vec<f64>,
}

/// One feature's element while a path is being walked.
#[derive(Clone)]
struct Open {
    feature: u32,
    lower: u32,
    upper: u32,
    nan_goes: bool,
    zero: f64,
}

impl Paths {
    /// The paths of `forest`, weighed by `covers` (one per node).
    pub fn new(forest: &FlatForest, covers: &[f32]) -> Paths {
        let lw = forest.leaf_width();
        let mut p = Paths {
            elements: Vec::new(),
            paths: Vec::new(),
            tree_paths: vec![0],
            longest: 0,
            expected: vec![0.0; forest.n_trees() * lw],
        };
        for t in 0..forest.n_trees() {
            // (node, its path's elements, the product of every fraction on the way)
            let mut stack = vec![(forest.roots[t] as usize, Vec::<Open>::new(), 1.0f64)];
            while let Some((i, path, weight)) = stack.pop() {
                let n = forest.node(i);
                if n.is_leaf() {
                    p.leaf(forest, t, n.value, &path, weight);
                    continue;
                }
                let thr = key(n.value);
                let parent = f64::from(covers[i]);
                let far = i + n.far as usize;
                for (child, left) in [(far, false), (i + 1, true)] {
                    let share = if parent > 0.0 {
                        f64::from(covers[child]) / parent
                    } else {
                        0.0
                    };
                    let mut path = path.clone();
                    let at = match path.iter().position(|e| e.feature == n.feature) {
                        Some(at) => at,
                        None => {
                            path.push(Open {
                                feature: n.feature,
                                lower: NO_LOWER,
                                upper: NO_UPPER,
                                nan_goes: true,
                                zero: 1.0,
                            });
                            path.len() - 1
                        }
                    };
                    let e = &mut path[at];
                    if left {
                        e.upper = e.upper.min(thr);
                    } else {
                        e.lower = e.lower.max(thr);
                    }
                    e.nan_goes &= n.missing_left == left;
                    e.zero *= share;
                    stack.push((child, path, weight * share));
                }
            }
            p.tree_paths.push((p.paths.len() / PATH_WORDS) as u32);
        }
        p
    }

    fn leaf(&mut self, forest: &FlatForest, t: usize, value: u32, path: &[Open], weight: f64) {
        let lw = forest.leaf_width();
        let first = self.elements.len() / ELEMENT_WORDS;
        for e in path {
            let z = e.zero as f32;
            let inv = if z > 0.0 { 1.0 / z } else { 0.0 };
            self.elements.extend_from_slice(&[
                e.feature | if e.nan_goes { NAN_GOES } else { 0 },
                e.lower,
                e.upper,
                z.to_bits(),
                inv.to_bits(),
            ]);
        }
        self.paths
            .extend_from_slice(&[first as u32, path.len() as u32, value]);
        self.longest = self.longest.max(path.len());
        for (k, ex) in self.expected[t * lw..(t + 1) * lw].iter_mut().enumerate() {
            *ex += weight * f64::from(leaf_number(forest, value, k));
        }
    }

    pub fn n_paths(&self) -> usize {
        self.paths.len() / PATH_WORDS
    }

    /// Path `p`'s elements and its leaf word.
    pub fn path(&self, p: usize) -> (&[u32], u32) {
        let w = &self.paths[p * PATH_WORDS..(p + 1) * PATH_WORDS];
        let (first, n) = (w[0] as usize, w[1] as usize);
        (
            &self.elements[first * ELEMENT_WORDS..(first + n) * ELEMENT_WORDS],
            w[2],
        )
    }
}

/// Number `k` of the leaf whose word 0 is `value`.
pub fn leaf_number(forest: &FlatForest, value: u32, k: usize) -> f32 {
    if forest.leaf_width() == 1 {
        f32::from_bits(value)
    } else {
        forest.leaf_values[value as usize + k]
    }
}

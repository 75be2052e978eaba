//! A tree ensemble as ONNX states it (any node mode, shared subtrees, sparse leaf weights), and
//! its translation into the flat layout, where every split is `x <= threshold` with a missing
//! direction.
//!
//! The threshold rule for each mode, for `f32` inputs `x` and a threshold `t` (an `f32`, or an
//! `f64` where the model gives doubles):
//! - `x <= t`  is `x <= le(t)`, the largest `f32` at most `t`;
//! - `x < t`   is `x <= lt(t)`, the largest `f32` below `t`;
//! - `x > t`   is not `x <= le(t)`, and `x >= t` is not `x <= lt(t)`: the same splits with the
//!   true branch as the far child;
//! - `x == t` and membership in a set are a small balanced tree over the set's sorted values:
//!   a value `p` is `x > lt(p)` and `x <= le(p)`. `x != t` is the same tree with the branches
//!   swapped.
//!
//! A missing value (`NaN`) takes the true branch where the node's missing-value track says so,
//! else the false one; for `x != t` it is always true (`NaN != t`), as in ONNX Runtime.

use crate::flat::{Builder, FlatForest, Head};

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
    /// Membership in these values.
    Member(Vec<f64>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Split {
        feature: u32,
        value: f64,
        mode: Mode,
        missing_true: bool,
        yes: usize,
        no: usize,
    },
    /// `(sum slot, weight)` pairs.
    Leaf(Vec<(u32, f32)>),
}

/// Trees over one node array; nodes may be shared (ONNX does not forbid it).
#[derive(Debug, Clone, Default)]
pub struct Ensemble {
    pub nodes: Vec<Node>,
    pub roots: Vec<usize>,
}

/// The largest `f32` at most `t`.
pub fn le(t: f64) -> f32 {
    let r = t as f32;
    if f64::from(r) <= t { r } else { r.next_down() }
}

/// The largest `f32` below `t`.
pub fn lt(t: f64) -> f32 {
    let r = t as f32;
    if f64::from(r) < t { r } else { r.next_down() }
}

/// What a flattening step still has to place.
enum Task<'a> {
    Node(usize),
    /// Decides `x` among `points[lo..hi]` (sorted, distinct): `point` at one, `gap` between.
    Set {
        feature: u32,
        points: &'a [f32],
        lo: usize,
        hi: usize,
        point: usize,
        gap: usize,
        /// A missing value ends at a point (else in the leftmost gap).
        nan_to_point: bool,
    },
    /// `x <= points[mid]` once `x > lt(points[mid])` is known: `point`, or the values above.
    Upper {
        feature: u32,
        points: &'a [f32],
        mid: usize,
        hi: usize,
        point: usize,
        gap: usize,
    },
}

impl Ensemble {
    /// The flat forest, its leaves `width` numbers each (sum slots beyond it are refused
    /// earlier), at most `max_nodes` nodes: shared subtrees and equality splits are copied,
    /// which could otherwise grow without bound.
    pub fn flatten(
        &self,
        n_features: usize,
        n_outputs: usize,
        head: Head,
        max_nodes: usize,
    ) -> Result<FlatForest, String> {
        let width = head.width as usize;
        // Copies of shared subtrees and set splits may multiply the nodes, within reason: a
        // small file cannot ask for a huge forest.
        let max_nodes = max_nodes.min(self.nodes.len().saturating_mul(16).max(1 << 20));
        let sets = self.sets()?;
        let mut b = Builder::with_head(n_features, n_outputs, head);
        let mut sums = vec![0.0f32; width];
        for &root in &self.roots {
            b.start_tree();
            // (what to place, the split whose far child it is)
            let mut stack: Vec<(Task, Option<usize>, usize)> = vec![(Task::Node(root), None, 0)];
            while let Some((task, parent, depth)) = stack.pop() {
                // A path longer than there are nodes goes round a cycle.
                if depth > self.nodes.len() {
                    return Err("a tree's splits lead back to themselves (a cycle)".into());
                }
                if b.len() >= max_nodes {
                    return Err(format!(
                        "the trees would take more than {max_nodes} nodes once shared subtrees \
                         and equality splits are written out"
                    ));
                }
                if let Some(p) = parent {
                    b.set_far(p);
                }
                match task {
                    Task::Node(i) => match self.nodes.get(i) {
                        None => {
                            return Err(format!("a split points to node {i}, which is not there"));
                        }
                        Some(Node::Leaf(w)) => {
                            sums.fill(0.0);
                            for &(slot, weight) in w {
                                sums[slot as usize] += weight;
                            }
                            b.leaf_sums(&sums);
                        }
                        Some(Node::Split {
                            feature,
                            value,
                            mode,
                            missing_true,
                            yes,
                            no,
                        }) => {
                            let (f, m, y, n) = (*feature, *missing_true, *yes, *no);
                            let ordered = |t: f32, true_near: bool| {
                                let (near, far) = if true_near { (y, n) } else { (n, y) };
                                (t, near, far, m == true_near)
                            };
                            let (t, near, far, missing_left) = match mode {
                                Mode::Leq => ordered(le(*value), true),
                                Mode::Lt => ordered(lt(*value), true),
                                Mode::Gt => ordered(le(*value), false),
                                Mode::Gte => ordered(lt(*value), false),
                                Mode::Eq | Mode::Neq | Mode::Member(_) => {
                                    let eq = *mode != Mode::Neq;
                                    let points = &sets[i];
                                    if points.is_empty() && (m && eq) {
                                        return Err(format!(
                                            "node {i}: missing values go to an equality that no \
                                             input can meet"
                                        ));
                                    }
                                    stack.push((
                                        Task::Set {
                                            feature: f,
                                            points,
                                            lo: 0,
                                            hi: points.len(),
                                            point: if eq { y } else { n },
                                            gap: if eq { n } else { y },
                                            nan_to_point: eq && m,
                                        },
                                        None,
                                        depth,
                                    ));
                                    continue;
                                }
                            };
                            let at = b.split(f, t, missing_left);
                            stack.push((Task::Node(far), Some(at), depth + 1));
                            stack.push((Task::Node(near), None, depth + 1));
                        }
                    },
                    Task::Set {
                        feature,
                        points,
                        lo,
                        hi,
                        point,
                        gap,
                        nan_to_point,
                    } => {
                        if lo == hi {
                            stack.push((Task::Node(gap), None, depth + 1));
                            continue;
                        }
                        let mid = (lo + hi) / 2;
                        let at = b.split(feature, points[mid].next_down(), !nan_to_point);
                        let upper = Task::Upper {
                            feature,
                            points,
                            mid,
                            hi,
                            point,
                            gap,
                        };
                        stack.push((upper, Some(at), depth));
                        let lower = Task::Set {
                            feature,
                            points,
                            lo,
                            hi: mid,
                            point,
                            gap,
                            nan_to_point: false,
                        };
                        stack.push((lower, None, depth));
                    }
                    Task::Upper {
                        feature,
                        points,
                        mid,
                        hi,
                        point,
                        gap,
                    } => {
                        let at = b.split(feature, points[mid], true);
                        let above = Task::Set {
                            feature,
                            points,
                            lo: mid + 1,
                            hi,
                            point,
                            gap,
                            nan_to_point: false,
                        };
                        stack.push((above, Some(at), depth));
                        stack.push((Task::Node(point), None, depth + 1));
                    }
                }
            }
        }
        let f = b.finish();
        f.validate()?;
        Ok(f)
    }

    /// Per node, the sorted distinct `f32` values an equality or membership split tests
    /// (values no `f32` equals are dropped: no input can meet them).
    fn sets(&self) -> Result<Vec<Vec<f32>>, String> {
        Ok(self
            .nodes
            .iter()
            .map(|n| match n {
                Node::Split {
                    value,
                    mode: Mode::Eq | Mode::Neq,
                    ..
                } => exact_f32(&[*value]),
                Node::Split {
                    mode: Mode::Member(vs),
                    ..
                } => exact_f32(vs),
                _ => Vec::new(),
            })
            .collect())
    }
}

fn exact_f32(values: &[f64]) -> Vec<f32> {
    let mut v: Vec<f32> = values
        .iter()
        .filter(|v| v.is_finite() && f64::from(**v as f32) == **v)
        // -0 equals +0: one point, +0 (the layout's thresholds are never -0).
        .map(|&v| if v == 0.0 { 0.0 } else { v as f32 })
        .collect();
    v.sort_by(f32::total_cmp);
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_split(mode: Mode, value: f64, missing_true: bool) -> Ensemble {
        Ensemble {
            nodes: vec![
                Node::Split {
                    feature: 0,
                    value,
                    mode,
                    missing_true,
                    yes: 1,
                    no: 2,
                },
                Node::Leaf(vec![(0, 1.0)]),
                Node::Leaf(vec![(0, 0.0)]),
            ],
            roots: vec![0],
        }
    }

    fn head() -> Head {
        Head {
            width: 1,
            average: false,
            base: Vec::new(),
            pair: crate::flat::Pair::None,
            post: crate::flat::Post::None,
        }
    }

    /// Every mode against the comparison it states, on a threshold's neighbours, zeros of
    /// both signs and NaN.
    #[test]
    fn each_mode_takes_the_branch_its_comparison_says() {
        let t = 0.1f32;
        let xs = [
            t.next_down(),
            t,
            t.next_up(),
            -0.0,
            0.0,
            f32::NAN,
            -3.0,
            3.0,
        ];
        type Cmp = fn(f32, f32) -> bool;
        let modes: [(Mode, Cmp); 6] = [
            (Mode::Leq, |x, t| x <= t),
            (Mode::Lt, |x, t| x < t),
            (Mode::Gte, |x, t| x >= t),
            (Mode::Gt, |x, t| x > t),
            (Mode::Eq, |x, t| x == t),
            (Mode::Neq, |x, t| x != t),
        ];
        for tv in [t, 0.0, -0.0] {
            for (mode, cmp) in &modes {
                for missing_true in [false, true] {
                    let f = one_split(mode.clone(), f64::from(tv), missing_true)
                        .flatten(1, 1, head(), 100)
                        .unwrap();
                    for &x in &xs {
                        let mut o = [0.0];
                        f.predict_row(&[x], &mut o);
                        let want = if x.is_nan() && *mode != Mode::Neq {
                            missing_true
                        } else {
                            cmp(x, tv)
                        };
                        assert_eq!(
                            o[0] == 1.0,
                            want,
                            "{mode:?} t={tv} missing_true={missing_true} x={x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn membership_is_a_balanced_tree_over_the_sorted_values() {
        let set = vec![5.0, -1.0, 2.5, 0.0, -0.0, 7.0, 1e-40, 0.1];
        for missing_true in [false, true] {
            let e = one_split(Mode::Member(set.clone()), f64::NAN, missing_true);
            let f = e.flatten(1, 1, head(), 1000).unwrap();
            // 0.1 (f64) is no f32: dropped. -0 and +0 are one point. 5 points: 2 nodes each.
            assert_eq!(f.n_nodes(), 5 * 2 + 5 + 6);
            for x in [
                -2.0f32,
                -1.0,
                -0.0,
                0.0,
                1e-40,
                2.5,
                5.0,
                6.0,
                7.0,
                8.0,
                0.1,
                f32::NAN,
            ] {
                let mut o = [0.0];
                f.predict_row(&[x], &mut o);
                let want = if x.is_nan() {
                    missing_true
                } else {
                    set.iter().any(|&v| v == f64::from(x))
                };
                assert_eq!(o[0] == 1.0, want, "x={x} missing_true={missing_true}");
            }
        }
    }

    #[test]
    fn double_thresholds_round_toward_the_comparison() {
        let t = 0.1f64; // between two f32s
        assert!(f64::from(le(t)) <= t && f64::from(le(t).next_up()) > t);
        assert!(f64::from(lt(t)) < t && f64::from(lt(t).next_up()) >= t);
        assert_eq!(lt(1.0), 1.0f32.next_down());
        assert_eq!(le(1.0), 1.0);
    }

    #[test]
    fn a_cycle_is_refused() {
        let mut e = one_split(Mode::Leq, 0.5, false);
        if let Node::Split { no, .. } = &mut e.nodes[0] {
            *no = 0;
        }
        let err = e.flatten(1, 1, head(), 1 << 20).unwrap_err();
        assert!(err.contains("cycle"), "{err}");
    }

    #[test]
    fn shared_subtrees_are_copied_within_a_bound() {
        // A chain of 40 splits whose both branches go to the next: 2^40 paths.
        let mut nodes: Vec<Node> = (0..40)
            .map(|i| Node::Split {
                feature: 0,
                value: f64::from(i),
                mode: Mode::Leq,
                missing_true: false,
                yes: i as usize + 1,
                no: i as usize + 1,
            })
            .collect();
        nodes.push(Node::Leaf(vec![(0, 1.0)]));
        let e = Ensemble {
            nodes,
            roots: vec![0],
        };
        let err = e.flatten(1, 1, head(), 10_000).unwrap_err();
        assert!(err.contains("more than 10000 nodes"), "{err}");
    }
}

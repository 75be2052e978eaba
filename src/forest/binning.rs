//! Feature binning, once per forest.
//!
//! Each feature gets at most `max_bins` (<= 255) value bins with codes `0..n_bins`; missing
//! values get the code `n_bins` (one past the last value bin), so a histogram slot is the code.
//! When a feature has at most `max_bins` distinct values every value has its own bin;
//! otherwise bins hold about equal numbers of training values (quantiles).
//!
//! `edges[b]` is the split threshold after bin `b`: a value `v` is in a bin `<= b` exactly
//! when `v <= edges[b]`, which is the `x <= threshold goes left` rule of the flat forest.
//! Edges are `f32`, the midpoint of the two neighbouring training values, so the binned and
//! the raw comparisons agree on every training value.

/// The most value bins a feature gets: with the missing code, codes fill a `u8`.
pub const MAX_BINS: usize = 255;

/// Bin edges per feature.
#[derive(Debug, Clone, PartialEq)]
pub struct Bins {
    pub edges: Vec<Vec<f32>>,
}

/// The binned training matrix, feature-major (one `u8` column per feature).
#[derive(Debug, Clone)]
pub struct Binned {
    pub n_rows: usize,
    pub columns: Vec<Vec<u8>>,
    /// Value bins per feature; the missing code of feature `f` is `n_bins[f]`.
    pub n_bins: Vec<usize>,
    pub bins: Bins,
}

/// The midpoint of `a < b` as an `f32` that is `>= a` and `< b`.
fn midpoint(a: f32, b: f32) -> f32 {
    let m = ((f64::from(a) + f64::from(b)) * 0.5) as f32;
    if m >= b || m < a { a } else { m }
}

/// Values used to place quantile edges: all of them up to this many, else an even stride.
const SAMPLE: usize = 200_000;

pub fn fit_feature(values: impl Iterator<Item = f32>, n: usize, max_bins: usize) -> Vec<f32> {
    let stride = n.div_ceil(SAMPLE).max(1);
    let mut v: Vec<f32> = values.step_by(stride).filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return Vec::new();
    }
    v.sort_by(f32::total_cmp);
    let mut distinct = v.clone();
    distinct.dedup();
    if distinct.len() <= max_bins {
        return distinct.windows(2).map(|w| midpoint(w[0], w[1])).collect();
    }
    let mut edges = Vec::with_capacity(max_bins);
    for q in 1..max_bins {
        let i = q * v.len() / max_bins;
        let lo = v[i - 1];
        // The next value above `lo` closes the bin; skip runs of equal values.
        let hi_pos = v.partition_point(|&x| x <= lo);
        if hi_pos >= v.len() {
            break;
        }
        let e = midpoint(lo, v[hi_pos]);
        if edges.last().is_none_or(|&last| e > last) {
            edges.push(e);
        }
    }
    edges
}

/// Code of value `v` for a feature with `edges`.
#[inline]
pub fn code(edges: &[f32], v: f32) -> u8 {
    if v.is_nan() {
        edges.len() as u8 + 1
    } else {
        edges.partition_point(|&e| e < v) as u8
    }
}

impl Binned {
    /// Bins the row-major matrix `x` (`n_rows` x `n_features`).
    pub fn new(x: &[f32], n_rows: usize, n_features: usize, max_bins: usize) -> Binned {
        let max_bins = max_bins.clamp(2, MAX_BINS);
        let column = |f: usize| (0..n_rows).map(move |r| x[r * n_features + f]);
        let edges: Vec<Vec<f32>> =
            crate::parallel::map(n_features, |f| fit_feature(column(f), n_rows, max_bins));
        let columns: Vec<Vec<u8>> = crate::parallel::map(n_features, |f| {
            let e = &edges[f];
            let missing = e.len() as u8 + 1;
            column(f)
                .map(|v| {
                    if v.is_nan() {
                        missing
                    } else {
                        e.partition_point(|&t| t < v) as u8
                    }
                })
                .collect()
        });
        // Value bins = edges + 1; missing code = that count.
        let n_bins = edges.iter().map(|e| e.len() + 1).collect();
        Binned {
            n_rows,
            columns,
            n_bins,
            bins: Bins { edges },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree grown from bins takes the same path on a training row's codes as on its values
    /// (the out-of-bag votes are scored on the codes): quantile bins, missing values, and a
    /// split that sends every value left (threshold `f32::MAX`).
    #[test]
    fn the_binned_walk_takes_the_raw_rows_path() {
        use crate::data::synth;
        use crate::forest::{Params, Trainer};
        let mut d = synth::regression(3000, 5, 3, 0.5, 9);
        for (i, v) in d.x.iter_mut().enumerate() {
            if i % 7 == 0 {
                *v = f32::NAN;
            }
        }
        let params = Params {
            n_trees: 4,
            max_bins: 16,
            ..Params::default()
        };
        let t = Trainer::new(&d, &params).unwrap();
        let trees = t.grow_trees(0..4, &|| {});
        let mut all_left = false;
        for tree in &trees {
            let bins = tree.split_bins(&t.binned.bins);
            all_left |= tree.nodes.iter().any(|n| {
                matches!(n, crate::forest::tree::TreeNode::Split { threshold, .. } if *threshold == f32::MAX)
            });
            for r in 0..d.n_rows {
                assert_eq!(
                    tree.predict(d.row(r)),
                    tree.predict_binned(&t.binned, &bins, r),
                    "row {r}"
                );
            }
        }
        assert!(
            all_left,
            "no split sent every value left: the case is not covered"
        );
    }

    #[test]
    fn few_distinct_values_get_exact_bins() {
        let x = [3.0, 1.0, 2.0, 1.0, 3.0, f32::NAN];
        let b = Binned::new(&x, 6, 1, 255);
        assert_eq!(b.bins.edges[0], vec![1.5, 2.5]);
        assert_eq!(b.n_bins[0], 3);
        assert_eq!(b.columns[0], vec![2, 0, 1, 0, 2, 3]);
    }

    #[test]
    fn many_values_get_quantile_bins_within_limit() {
        let x: Vec<f32> = (0..10_000)
            .map(|i| ((i * 7919) % 10_000) as f32 * 0.5)
            .collect();
        let b = Binned::new(&x, x.len(), 1, 255);
        assert!(b.n_bins[0] <= 255 && b.n_bins[0] > 200, "{}", b.n_bins[0]);
        // Roughly equal bin populations.
        let mut counts = vec![0usize; b.n_bins[0]];
        for &c in &b.columns[0] {
            counts[c as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (20..=60).contains(&c)), "{counts:?}");
    }

    #[test]
    fn binned_and_raw_comparisons_agree() {
        let x: Vec<f32> = (0..5000).map(|i| ((i as f32) * 0.37).sin() * 1e3).collect();
        let b = Binned::new(&x, x.len(), 1, 64);
        let e = &b.bins.edges[0];
        for (r, &v) in x.iter().enumerate() {
            let c = b.columns[0][r] as usize;
            for (k, &t) in e.iter().enumerate() {
                assert_eq!(c <= k, v <= t, "value {v} code {c} edge {k}={t}");
            }
            assert_eq!(code(e, v) as usize, c);
        }
    }

    #[test]
    fn heavy_ties_and_adjacent_floats() {
        let mut x = vec![0.0f32; 1000];
        x.extend((0..1000).map(|i| i as f32));
        x.push(1.0 + f32::EPSILON);
        let b = Binned::new(&x, x.len(), 1, 16);
        let e = &b.bins.edges[0];
        assert!(e.windows(2).all(|w| w[0] < w[1]));
        let m = midpoint(1.0, 1.0 + f32::EPSILON);
        assert!(m >= 1.0 && m < 1.0 + f32::EPSILON);
        // All-missing feature: one (empty) value bin, missing code 1.
        let b = Binned::new(&[f32::NAN, f32::NAN], 2, 1, 255);
        assert_eq!(b.columns[0], vec![1, 1]);
    }
}

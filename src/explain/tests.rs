use super::*;
use crate::data::{Dataset, synth};
use crate::forest::{Params, Trainer, flatten};

/// A small forest of `classes` classes (0: regression) on rows with missing values.
fn forest(classes: usize, bootstrap: bool) -> (FlatForest, Dataset) {
    let mut d = if classes > 0 {
        synth::classification(240, 5, 3, classes, 11)
    } else {
        synth::regression(240, 5, 3, 0.2, 11)
    };
    for i in (0..d.x.len()).step_by(7) {
        d.x[i] = f32::NAN;
    }
    let params = Params {
        n_trees: 4,
        max_depth: Some(5),
        bootstrap,
        ..Params::default()
    };
    let t = Trainer::new(&d, &params).unwrap();
    let trees = t.grow_trees(0..4, &|| {});
    let no = if classes > 0 { classes } else { 1 };
    (flatten(&trees, 5, no), d)
}

/// The path-dependent value of tree `root` for `row` when only the features in `known` are:
/// a known feature's split goes the row's way, an unknown one's averages its children by
/// cover (Lundberg et al., Algorithm 1), in f64.
fn value(f: &FlatForest, i: usize, row: &[f32], known: u32, k: usize) -> f64 {
    let n = f.node(i);
    if n.is_leaf() {
        return f64::from(leaf_number(f, n.value, k));
    }
    if known & (1 << n.feature) != 0 {
        return value(f, n.step(i, row), row, known, k);
    }
    let (l, r) = (i + 1, i + n.far as usize);
    let c = |j: usize| f64::from(f.covers[j]);
    (c(l) * value(f, l, row, known, k) + c(r) * value(f, r, row, known, k)) / c(i)
}

/// Shapley values of the forest's sums (leaf number `k`, summed over trees) by enumerating
/// every subset of features.
fn brute_force(f: &FlatForest, row: &[f32], k: usize) -> Vec<f64> {
    let nf = f.n_features as usize;
    let fact = |n: usize| (1..=n).map(|v| v as f64).product::<f64>();
    let v = |s: u32| -> f64 {
        f.roots
            .iter()
            .map(|&r| value(f, r as usize, row, s, k))
            .sum()
    };
    (0..nf)
        .map(|i| {
            let mut phi = 0.0;
            for s in 0u32..1 << nf {
                if s & (1 << i) != 0 {
                    continue;
                }
                let size = s.count_ones() as usize;
                let w = fact(size) * fact(nf - size - 1) / fact(nf);
                phi += w * (v(s | 1 << i) - v(s));
            }
            phi
        })
        .collect()
}

#[test]
fn values_are_the_shapley_values_of_the_path_dependent_game() {
    for classes in [0, 2, 3] {
        let (f, d) = forest(classes, true);
        let e = Explainer::new(&f).unwrap();
        let rows = &d.x[..30 * 5];
        let sums = e.sums(rows);
        let lw = f.leaf_width();
        for (r, row) in rows.chunks_exact(5).enumerate() {
            for k in 0..lw {
                let want = brute_force(&f, row, k);
                let largest = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-3);
                for (j, w) in want.iter().enumerate() {
                    let got = f64::from(sums[(r * 5 + j) * lw + k]);
                    assert!(
                        (got - w).abs() <= 1e-5 * largest,
                        "classes {classes}, row {r}, feature {j}, number {k}: {got} against {w}"
                    );
                }
            }
        }
    }
}

#[test]
fn expected_value_and_contributions_add_up_to_the_output() {
    for classes in [0, 2, 3] {
        let (f, d) = forest(classes, true);
        let ex = Explainer::new(&f).unwrap().explain(&d.x).unwrap();
        let m = margins(&f, &d.x);
        let no = f.n_outputs as usize;
        assert_eq!(ex.n_outputs, no);
        for r in 0..d.n_rows {
            for k in 0..no {
                let total: f64 = f64::from(ex.expected[k])
                    + ex.row(r, k).iter().map(|&v| f64::from(v)).sum::<f64>();
                let want = f64::from(m[r * no + k]);
                // f32 sums: within 1e-5 of the output's size (at least 1).
                assert!(
                    (total - want).abs() < 1e-5 * want.abs().max(1.0),
                    "classes {classes}, row {r}, output {k}: {total} against {want}"
                );
            }
        }
        // Binary: class 0's contributions are class 1's negated.
        if classes == 2 {
            assert_eq!(ex.row(3, 0)[1], -ex.row(3, 1)[1]);
        }
    }
}

#[test]
fn one_thread_and_all_give_the_same_bits() {
    let (f, d) = forest(3, true);
    let e = Explainer::new(&f).unwrap();
    assert_eq!(e.sums(&d.x), e.sums_single_thread(&d.x));
}

#[test]
fn covers_counted_from_the_training_rows_are_the_training_covers() {
    // Without bootstrap every row weighs 1 in every tree.
    let (f, d) = forest(2, false);
    assert_eq!(covers_from_rows(&f, &d.x), f.covers);
    let from_rows = Explainer::with_covers(&f, &covers_from_rows(&f, &d.x)).unwrap();
    let own = Explainer::new(&f).unwrap();
    assert_eq!(from_rows.sums(&d.x[..50]), own.sums(&d.x[..50]));
}

#[test]
fn covers_survive_the_model_file_and_merging_shards() {
    let (f, _) = forest(3, true);
    assert_eq!(f.covers.len(), f.n_nodes());
    let json = serde_json::to_string(&f).unwrap();
    let back: FlatForest = serde_json::from_str(&json).unwrap();
    assert_eq!(back, f);
    let joined = FlatForest::concat(&[f.clone(), f.clone()]);
    assert_eq!(joined.covers.len(), 2 * f.n_nodes());
    let mut bare = f.clone();
    bare.covers.clear();
    assert!(FlatForest::concat(&[f.clone(), bare]).covers.is_empty());
}

#[test]
fn what_cannot_be_explained_is_refused_with_the_way_out() {
    let (mut f, d) = forest(2, true);
    let e = Explainer::new(&f).unwrap();
    let e = e.check_rows(MAX_VALUES).unwrap_err().to_string();
    assert!(e.contains("explain fewer rows"), "{e}");
    f.covers.clear();
    let e = Explainer::new(&f).err().unwrap().to_string();
    assert!(e.contains("--background"), "{e}");
    // Rows that reach no tree (none given) are no covers either.
    let e = Explainer::with_covers(&f, &covers_from_rows(&f, &d.x[..0]))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("reach no tree"), "{e}");
    let mut bad = forest(2, true).0;
    bad.covers[3] = -1.0;
    assert!(bad.validate().unwrap_err().contains("cover"));
}

fn hand_made() -> Explanation {
    // 2 rows, 2 outputs, 3 features.
    Explanation {
        n_rows: 2,
        n_outputs: 2,
        n_features: 3,
        expected: vec![0.25, 0.75],
        values: vec![
            0.1, -0.3, 0.05, /* row 0, output 1: */ -0.1, 0.3, -0.05, //
            0.0, 0.2, -0.2, /* row 1, output 1: */ 0.0, -0.2, 0.2,
        ],
    }
}

#[test]
fn the_largest_contributions_come_first_and_the_rest_is_summed() {
    let e = hand_made();
    let (top, rest) = e.largest(0, 1, 2);
    assert_eq!(top, vec![(1, 0.3), (0, -0.1)]);
    assert!((rest.unwrap() + 0.05).abs() < 1e-7);
    // Equal sizes: the first feature first; nothing left, no rest.
    assert_eq!(
        e.largest(1, 0, 3),
        (vec![(1, 0.2), (2, -0.2), (0, 0.0)], None)
    );
    assert!((e.total(0, 1) - (0.75 - 0.1 + 0.3 - 0.05)).abs() < 1e-7);
}

#[test]
fn mean_abs_contribution_is_over_rows_of_the_second_of_two_outputs() {
    let m = hand_made().mean_abs();
    let want = [0.1, 0.5, 0.25].map(|s| s / 2.0);
    for (a, b) in m.iter().zip(want) {
        assert!((a - b).abs() < 1e-7, "{m:?}");
    }
    // Three outputs: summed.
    let mut e = hand_made();
    e.n_outputs = 3;
    e.n_rows = 1;
    e.n_features = 4;
    e.expected = vec![0.0; 3];
    let m = e.mean_abs();
    assert!((m[0] - (0.1 + 0.3 + 0.2)).abs() < 1e-7, "{m:?}");
}

#[test]
fn differences_are_counted_in_bits_and_sized_by_their_row() {
    let a = hand_made();
    assert_eq!(a.differs_from(&a), (0, 0.0));
    let mut b = a.clone();
    b.values[10] = 0.25; // row 1's largest |contribution| is 0.2
    b.values[0] = f32::from_bits(0.1f32.to_bits() + 1);
    let (differ, worst) = a.differs_from(&b);
    assert_eq!(differ, 2);
    assert!((worst - 0.45 / 0.2).abs() < 1e-6, "{worst}");
}

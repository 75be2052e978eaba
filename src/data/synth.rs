//! Synthetic data in the spirit of scikit-learn's `make_classification` / `make_regression`:
//! Gaussian clusters at hypercube vertices over the informative features, linear
//! combinations of them as redundant features, noise for the rest, and a few flipped labels.
//! Deterministic for a seed on every platform (ChaCha).

use super::dataset::{Dataset, Target};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box-Muller; `1 - u` keeps the logarithm finite.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * libm::log(u1)).sqrt() * libm::cos(std::f64::consts::TAU * u2)
}

/// `rows` x `features` classification data with `classes` classes, of which `informative`
/// features carry the signal (at most `features`), `informative / 2` more are redundant.
pub fn classification(
    rows: usize,
    features: usize,
    informative: usize,
    classes: usize,
    seed: u64,
) -> Dataset {
    let informative = informative.clamp(1, features.max(1));
    let redundant = (informative / 2).min(features - informative);
    let classes = classes.max(2);
    let clusters_per_class = 2;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n_clusters = classes * clusters_per_class;
    let centroids: Vec<Vec<f64>> = (0..n_clusters)
        .map(|_| {
            (0..informative)
                .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
                .collect()
        })
        .collect();
    // A random linear map per cluster gives the clusters different shapes.
    let mixing: Vec<Vec<f64>> = (0..n_clusters)
        .map(|_| {
            (0..informative * informative)
                .map(|_| rng.random::<f64>() * 2.0 - 1.0)
                .collect()
        })
        .collect();
    let redundant_w: Vec<f64> = (0..informative * redundant)
        .map(|_| rng.random::<f64>() * 2.0 - 1.0)
        .collect();
    let mut x = Vec::with_capacity(rows * features);
    let mut labels = Vec::with_capacity(rows);
    let mut z = vec![0.0; informative];
    let mut inf = vec![0.0; informative];
    for r in 0..rows {
        let cluster = r % n_clusters;
        let mut label = (cluster % classes) as u32;
        for v in z.iter_mut() {
            *v = normal(&mut rng);
        }
        let m = &mixing[cluster];
        for i in 0..informative {
            let mut s = 0.0;
            for j in 0..informative {
                s += m[i * informative + j] * z[j];
            }
            inf[i] = s + centroids[cluster][i] * 2.0;
        }
        let mut row = vec![0.0f64; features];
        row[..informative].copy_from_slice(&inf);
        for k in 0..redundant {
            row[informative + k] = (0..informative)
                .map(|i| redundant_w[k * informative + i] * inf[i])
                .sum();
        }
        for v in row.iter_mut().skip(informative + redundant) {
            *v = normal(&mut rng);
        }
        if rng.random::<f64>() < 0.01 {
            label = rng.random_range(0..classes as u32);
        }
        // Shuffle where the informative columns sit, deterministically, by a fixed rotation.
        let rot = features / 3;
        for f in 0..features {
            x.push(row[(f + features - rot) % features] as f32);
        }
        labels.push(label);
    }
    // Interleaved clusters would make row order informative; shuffle rows.
    let mut order: Vec<usize> = (0..rows).collect();
    for i in (1..rows).rev() {
        order.swap(i, rng.random_range(0..=i as u32) as usize);
    }
    let d = Dataset {
        n_rows: rows,
        n_features: features,
        x,
        target: Target::Classes(labels),
        n_classes: classes,
        groups: None,
    };
    d.subset(&order)
}

/// `rows` x `features` regression data: a linear function of `informative` features plus a
/// product term and Gaussian noise.
pub fn regression(
    rows: usize,
    features: usize,
    informative: usize,
    noise: f64,
    seed: u64,
) -> Dataset {
    let informative = informative.clamp(1, features.max(1));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w: Vec<f64> = (0..informative)
        .map(|_| rng.random::<f64>() * 100.0)
        .collect();
    let mut x = Vec::with_capacity(rows * features);
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        let row: Vec<f64> = (0..features).map(|_| normal(&mut rng)).collect();
        let mut t: f64 = (0..informative).map(|i| w[i] * row[i]).sum();
        if informative >= 2 {
            t += 20.0 * row[0] * row[1];
        }
        t += noise * normal(&mut rng);
        x.extend(row.iter().map(|&v| v as f32));
        y.push(t);
    }
    Dataset {
        n_rows: rows,
        n_features: features,
        x,
        target: Target::Values(y),
        n_classes: 0,
        groups: None,
    }
}

/// Writes a dataset as CSV (features `f0..`, target `target`), for the CLI and comparisons.
pub fn to_csv(d: &Dataset) -> String {
    let mut s = String::new();
    for f in 0..d.n_features {
        s.push_str(&format!("f{f},"));
    }
    s.push_str("target\n");
    for r in 0..d.n_rows {
        for v in d.row(r) {
            if v.is_nan() {
                s.push(',');
            } else {
                s.push_str(&format!("{v},"));
            }
        }
        match &d.target {
            Target::Classes(c) => s.push_str(&format!("{}\n", c[r])),
            Target::Values(v) => s.push_str(&format!("{}\n", v[r])),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_shaped() {
        let a = classification(500, 8, 4, 3, 7);
        let b = classification(500, 8, 4, 3, 7);
        assert_eq!(a.x, b.x);
        assert_eq!(a.target, b.target);
        assert_eq!(a.x.len(), 500 * 8);
        if let Target::Classes(c) = &a.target {
            for k in 0..3 {
                assert!(c.iter().filter(|&&v| v == k).count() > 100);
            }
        }
        let r = regression(100, 5, 3, 1.0, 1);
        assert_eq!(r.x.len(), 500);
    }
}

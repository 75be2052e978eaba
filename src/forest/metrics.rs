//! Scores of predictions against the truth.

pub fn accuracy(truth: &[u32], pred: &[u32]) -> f64 {
    if truth.is_empty() {
        return f64::NAN;
    }
    truth.iter().zip(pred).filter(|(a, b)| a == b).count() as f64 / truth.len() as f64
}

/// Coefficient of determination, as scikit-learn's `r2_score` (1 when the truth is constant
/// and predicted exactly, 0 when constant and not).
pub fn r2(truth: &[f64], pred: &[f64]) -> f64 {
    if truth.is_empty() {
        return f64::NAN;
    }
    let mean = truth.iter().sum::<f64>() / truth.len() as f64;
    let ss_res: f64 = truth.iter().zip(pred).map(|(t, p)| (t - p) * (t - p)).sum();
    let ss_tot: f64 = truth.iter().map(|t| (t - mean) * (t - mean)).sum();
    if ss_tot == 0.0 {
        return if ss_res == 0.0 { 1.0 } else { 0.0 };
    }
    1.0 - ss_res / ss_tot
}

/// `m[truth][pred]` counts.
pub fn confusion(truth: &[u32], pred: &[u32], n_classes: usize) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0; n_classes]; n_classes];
    for (&t, &p) in truth.iter().zip(pred) {
        m[t as usize][p as usize] += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores() {
        assert_eq!(accuracy(&[0, 1, 1, 0], &[0, 1, 0, 0]), 0.75);
        assert!((r2(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]) - 1.0).abs() < 1e-12);
        assert!((r2(&[1.0, 2.0, 3.0], &[2.0, 2.0, 2.0])).abs() < 1e-12);
        assert_eq!(
            confusion(&[0, 1, 1], &[0, 0, 1], 2),
            vec![vec![1, 0], vec![1, 1]]
        );
    }
}

//! How good a model is on held-out rows, in the figures a clinician needs when outcomes are
//! rare: the majority-class baseline beside accuracy, balanced accuracy, per-class sensitivity,
//! specificity and precision, ROC AUC and average precision (PR AUC); R² named as such, MAE
//! and RMSE for regression. Each is computed as scikit-learn computes it (`tests/quality.rs`
//! compares them with its figures on committed fixtures).

use serde::{Deserialize, Serialize};

/// One class's figures, that class against all others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassQuality {
    pub class: String,
    /// Held-out rows of this class.
    pub support: usize,
    /// Of this class's rows, the share predicted as it (recall); `None` without such rows.
    pub sensitivity: Option<f64>,
    /// Of the other rows, the share not predicted as it; `None` without other rows.
    pub specificity: Option<f64>,
    /// Of the rows predicted as it, the share that are; `None` when none is.
    pub precision: Option<f64>,
}

/// Figures of a classifier on held-out rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierQuality {
    pub rows: usize,
    pub accuracy: f64,
    /// The accuracy of always answering the training rows' most frequent class.
    pub baseline_accuracy: f64,
    pub baseline_class: String,
    /// The mean sensitivity over the classes that occur in the held-out rows.
    pub balanced_accuracy: f64,
    pub classes: Vec<ClassQuality>,
    /// Two classes: of class 1's probability; more: the mean of each class against the rest.
    /// `None` when a class (of two) or every class (of more) is absent from the rows.
    pub roc_auc: Option<f64>,
    /// Average precision (the area under the precision-recall curve, as scikit-learn sums
    /// it), of class 1 or the mean over classes as `roc_auc`.
    pub average_precision: Option<f64>,
    /// The figure to lead with, and why: balanced accuracy (or ROC AUC) when the classes are
    /// imbalanced, accuracy otherwise.
    pub headline: Headline,
}

/// The figure a report leads with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// `accuracy`, `balanced_accuracy`, `roc_auc` or `r2`.
    pub metric: String,
    pub value: f64,
    /// One sentence for the reader: why this figure, and whether the model beats the baseline.
    pub note: String,
}

/// The figures of one model on held-out rows, `{"classification": {...}}` or
/// `{"regression": {...}}` (externally tagged: an internally tagged enum's deserializer cost
/// the page 19 KB of its gzipped wasm).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    Classification(ClassifierQuality),
    Regression(RegressorQuality),
}

impl Quality {
    pub fn headline(&self) -> &Headline {
        match self {
            Quality::Classification(q) => &q.headline,
            Quality::Regression(q) => &q.headline,
        }
    }
}

/// Training rows per class of `labels` (class indices below `n_classes`).
pub fn class_counts(labels: &[u32], n_classes: usize) -> Vec<usize> {
    let mut counts = vec![0; n_classes];
    for &l in labels {
        if let Some(c) = counts.get_mut(l as usize) {
            *c += 1;
        }
    }
    counts
}

/// Figures of a regressor on held-out rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressorQuality {
    pub rows: usize,
    pub r2: f64,
    pub mae: f64,
    pub rmse: f64,
    pub headline: Headline,
}

/// A class is rare when its share of the held-out rows is under this (15% readmissions, 10%
/// positives): accuracy then mostly counts the common class.
pub const RARE_SHARE: f64 = 0.25;

/// Row indices by ascending score. One sort for both curves: each instance of a sort costs
/// the page's wasm kilobytes.
fn ascending(score: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_unstable_by(|&a, &b| score[a].total_cmp(&score[b]));
    order
}

/// The area under the ROC curve of `score` for rows where `positive` holds: the chance that a
/// random positive row scores above a random negative one, ties counting half (the
/// Mann-Whitney statistic, equal to scikit-learn's trapezoids). `None` without both kinds.
pub fn roc_auc(positive: &[bool], score: &[f64]) -> Option<f64> {
    roc_auc_in(positive, score, &ascending(score))
}

/// [`roc_auc`], the rows already in ascending score order.
fn roc_auc_in(positive: &[bool], score: &[f64], order: &[usize]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    // Sum of the positives' ranks (1-based), tied scores sharing their average rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && score[order[j + 1]] == score[order[i]] {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        let positives = order[i..=j].iter().filter(|&&r| positive[r]).count();
        rank_sum += average_rank * positives as f64;
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Average precision as scikit-learn's `average_precision_score`: over the distinct scores
/// from the highest down, the precision at each, weighted by the recall it adds. `None`
/// without a positive row.
pub fn average_precision(positive: &[bool], score: &[f64]) -> Option<f64> {
    average_precision_in(positive, score, &ascending(score))
}

/// [`average_precision`], the rows already in ascending score order.
fn average_precision_in(positive: &[bool], score: &[f64], ascending: &[usize]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    if n_pos == 0 {
        return None;
    }
    let order: Vec<usize> = ascending.iter().rev().copied().collect();
    let (mut tp, mut fp, mut ap, mut last_recall) = (0usize, 0usize, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && score[order[j + 1]] == score[order[i]] {
            j += 1;
        }
        for &r in &order[i..=j] {
            if positive[r] {
                tp += 1;
            } else {
                fp += 1;
            }
        }
        let recall = tp as f64 / n_pos as f64;
        ap += (recall - last_recall) * (tp as f64 / (tp + fp) as f64);
        last_recall = recall;
        i = j + 1;
    }
    Some(ap)
}

fn share(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The figures of predictions `pred` (class indices) and class probabilities `proba`
/// (`truth.len()` x `classes.len()`) against `truth`; `majority` is the training rows' most
/// frequent class. `None` without rows.
pub fn classifier_quality(
    truth: &[u32],
    pred: &[u32],
    proba: &[f32],
    classes: &[String],
    majority: u32,
) -> Option<ClassifierQuality> {
    let k = classes.len();
    let n = truth.len();
    if n == 0 || k == 0 || pred.len() != n || proba.len() != n * k {
        return None;
    }
    let m = super::metrics::confusion(truth, pred, k);
    let per_class: Vec<ClassQuality> = (0..k)
        .map(|c| {
            let support: usize = m[c].iter().sum();
            let predicted: usize = (0..k).map(|t| m[t][c]).sum();
            let tp = m[c][c];
            let negatives = n - support;
            let tn = negatives - (predicted - tp);
            ClassQuality {
                class: classes[c].clone(),
                support,
                sensitivity: share(tp, support),
                specificity: share(tn, negatives),
                precision: share(tp, predicted),
            }
        })
        .collect();
    let accuracy = super::metrics::accuracy(truth, pred);
    let baseline_accuracy = truth.iter().filter(|&&t| t == majority).count() as f64 / n as f64;
    let sensitivities: Vec<f64> = per_class.iter().filter_map(|c| c.sensitivity).collect();
    let balanced_accuracy = mean(&sensitivities).unwrap_or(f64::NAN);
    let column = |c: usize| -> Vec<f64> { (0..n).map(|r| f64::from(proba[r * k + c])).collect() };
    let is = |c: usize| -> Vec<bool> { truth.iter().map(|&t| t as usize == c).collect() };
    // Both curves of class `c` against the rest, from one sort (the page computes them on its
    // thread, for up to hundreds of thousands of held-out rows).
    let curves = |c: usize| {
        let (positive, score) = (is(c), column(c));
        let order = ascending(&score);
        (
            roc_auc_in(&positive, &score, &order),
            average_precision_in(&positive, &score, &order),
        )
    };
    let (roc, ap) = if k == 2 {
        curves(1)
    } else {
        // One class against the rest, averaged over the classes present (scikit-learn's
        // macro average; it refuses rows that lack a class, we average those we can).
        let (rocs, aps): (Vec<Option<f64>>, Vec<Option<f64>>) = (0..k).map(curves).unzip();
        let present = |v: Vec<Option<f64>>| mean(&v.into_iter().flatten().collect::<Vec<_>>());
        (present(rocs), present(aps))
    };
    let rarest = per_class
        .iter()
        .map(|c| c.support as f64 / n as f64)
        .fold(f64::INFINITY, f64::min);
    let beats = accuracy > baseline_accuracy;
    let baseline_words = format!(
        "always answering \"{}\" scores {:.1}% accuracy",
        classes[majority as usize],
        100.0 * baseline_accuracy
    );
    let headline = if rarest < RARE_SHARE {
        let (metric, value) = match roc {
            Some(v) if k == 2 => ("roc_auc", v),
            _ => ("balanced_accuracy", balanced_accuracy),
        };
        Headline {
            metric: metric.into(),
            value,
            note: format!(
                "the classes are imbalanced (the rarest is {:.1}% of the rows), so accuracy \
                 mostly counts the common class: {baseline_words}, the model {:.1}%{}",
                100.0 * rarest,
                100.0 * accuracy,
                if beats { "" } else { ", no better" }
            ),
        }
    } else {
        Headline {
            metric: "accuracy".into(),
            value: accuracy,
            note: if beats {
                format!("{baseline_words}; the model does better")
            } else {
                format!("{baseline_words}: the model does no better than that")
            },
        }
    };
    Some(ClassifierQuality {
        rows: n,
        accuracy,
        baseline_accuracy,
        baseline_class: classes[majority as usize].clone(),
        balanced_accuracy,
        classes: per_class,
        roc_auc: roc,
        average_precision: ap,
        headline,
    })
}

/// The figures of predicted values against `truth`. `None` without rows.
pub fn regressor_quality(truth: &[f64], pred: &[f64]) -> Option<RegressorQuality> {
    let n = truth.len();
    if n == 0 || pred.len() != n {
        return None;
    }
    let r2 = super::metrics::r2(truth, pred);
    let mae = truth
        .iter()
        .zip(pred)
        .map(|(t, p)| (t - p).abs())
        .sum::<f64>()
        / n as f64;
    let mse = truth
        .iter()
        .zip(pred)
        .map(|(t, p)| (t - p) * (t - p))
        .sum::<f64>()
        / n as f64;
    Some(RegressorQuality {
        rows: n,
        r2,
        mae,
        rmse: mse.sqrt(),
        headline: Headline {
            metric: "r2".into(),
            value: r2,
            note: if r2 > 0.0 {
                "R², the share of the target's variance the model explains (0: no better than \
                 always answering the mean)"
                    .into()
            } else {
                "R² of 0 or less: the model does no better than always answering the mean".into()
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_as_half_and_needs_both_kinds() {
        let pos = [true, false, true, false];
        assert_eq!(roc_auc(&pos, &[0.9, 0.1, 0.8, 0.2]), Some(1.0));
        assert_eq!(roc_auc(&pos, &[0.5, 0.5, 0.5, 0.5]), Some(0.5));
        assert_eq!(roc_auc(&[true, true], &[0.1, 0.2]), None);
        assert_eq!(average_precision(&[false, false], &[0.1, 0.2]), None);
        assert_eq!(average_precision(&pos, &[0.9, 0.1, 0.8, 0.2]), Some(1.0));
    }

    #[test]
    fn a_model_below_the_baseline_is_said_to_be() {
        // 1 positive in 10, never found: 90% accuracy, the baseline's 90% too.
        let truth = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let pred = [0u32; 10];
        let proba: Vec<f32> = (0..10).flat_map(|i| [0.9 - i as f32 * 0.01, 0.1]).collect();
        let classes = ["no".to_string(), "yes".to_string()];
        let q = classifier_quality(&truth, &pred, &proba, &classes, 0).unwrap();
        assert_eq!((q.accuracy, q.baseline_accuracy), (0.9, 0.9));
        assert_eq!(q.balanced_accuracy, 0.5);
        assert_eq!(q.classes[1].sensitivity, Some(0.0));
        assert_eq!(q.classes[1].precision, None);
        assert_eq!(q.headline.metric, "roc_auc");
        assert!(q.headline.note.contains("no better"), "{}", q.headline.note);
    }
}

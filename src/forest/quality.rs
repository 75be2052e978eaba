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
    /// Two classes: the held-out rows counted at each threshold of class 1's probability (the
    /// ROC and precision-recall curves, and the confusion matrix at any threshold kept).
    /// Absent from older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<Curve>,
    /// Two classes: the reliability diagram of class 1's probability, in tenths. Absent from
    /// older files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calibration: Vec<CalibrationBin>,
}

/// The most thresholds a [`Curve`] keeps: enough for a smooth curve and a fine slider, few
/// enough for the model file (a forest of many trees has about as many distinct
/// probabilities as held-out rows).
pub const CURVE_POINTS: usize = 256;

/// Two classes' held-out rows counted at thresholds of class 1's probability. A row is
/// predicted as class 1 at a threshold when its probability is at or above it (scikit-learn's
/// `FixedThresholdClassifier`, and [`crate::model::rows::label_of`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// Held-out rows of class 1, and of class 0.
    pub positives: usize,
    pub negatives: usize,
    /// Highest first: every distinct probability of the rows, or where there are more than
    /// [`CURVE_POINTS`], that many spread evenly among them, the lowest always kept (the
    /// counts at each are exact: thinning drops points, it never moves them).
    pub thresholds: Vec<f64>,
    /// Rows at or above each threshold that are class 1, and that are class 0.
    pub true_positives: Vec<usize>,
    pub false_positives: Vec<usize>,
}

/// The confusion of two classes at one threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counts {
    pub true_positives: usize,
    pub false_positives: usize,
    pub true_negatives: usize,
    pub false_negatives: usize,
}

impl Counts {
    /// The counts of a two-class confusion matrix (`[truth][predicted]`); `None` for another
    /// shape.
    pub fn of_matrix(m: &[Vec<usize>]) -> Option<Counts> {
        match m {
            [n, p] if n.len() == 2 && p.len() == 2 => Some(Counts {
                true_negatives: n[0],
                false_positives: n[1],
                false_negatives: p[0],
                true_positives: p[1],
            }),
            _ => None,
        }
    }

    /// `[truth][predicted]`, as [`super::metrics::confusion`].
    pub fn matrix(&self) -> Vec<Vec<usize>> {
        vec![
            vec![self.true_negatives, self.false_positives],
            vec![self.false_negatives, self.true_positives],
        ]
    }
    pub fn sensitivity(&self) -> Option<f64> {
        share(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }
    pub fn specificity(&self) -> Option<f64> {
        share(
            self.true_negatives,
            self.true_negatives + self.false_positives,
        )
    }
    pub fn precision(&self) -> Option<f64> {
        share(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }
    pub fn accuracy(&self) -> Option<f64> {
        let n =
            self.true_positives + self.false_positives + self.true_negatives + self.false_negatives;
        share(self.true_positives + self.true_negatives, n)
    }
}

impl Curve {
    /// The curve of `score` for rows where `positive` holds, at most `max_points` thresholds
    /// (at least 2); `None` without rows.
    pub fn of(positive: &[bool], score: &[f64], max_points: usize) -> Option<Curve> {
        curve_in(positive, score, &ascending(score), max_points)
    }

    /// The counts at threshold `i` of [`Self::thresholds`].
    pub fn at(&self, i: usize) -> Option<Counts> {
        let (tp, fp) = (*self.true_positives.get(i)?, *self.false_positives.get(i)?);
        Some(Counts {
            true_positives: tp,
            false_positives: fp,
            true_negatives: self.negatives.saturating_sub(fp),
            false_negatives: self.positives.saturating_sub(tp),
        })
    }

    /// The index of the kept threshold nearest `t`.
    pub fn nearest(&self, t: f64) -> usize {
        let mut best = 0;
        for (i, &v) in self.thresholds.iter().enumerate() {
            if (v - t).abs() < (self.thresholds[best] - t).abs() {
                best = i;
            }
        }
        best
    }

    /// The ROC curve's points (false positive rate, true positive rate), from (0, 0); empty
    /// without both classes.
    pub fn roc(&self) -> Vec<(f64, f64)> {
        if self.positives == 0 || self.negatives == 0 {
            return Vec::new();
        }
        let (p, n) = (self.positives as f64, self.negatives as f64);
        std::iter::once((0.0, 0.0))
            .chain(
                self.true_positives
                    .iter()
                    .zip(&self.false_positives)
                    .map(|(&tp, &fp)| (fp as f64 / n, tp as f64 / p)),
            )
            .collect()
    }

    /// The precision-recall curve's points (recall, precision), highest threshold first; empty
    /// without a positive row.
    pub fn precision_recall(&self) -> Vec<(f64, f64)> {
        if self.positives == 0 {
            return Vec::new();
        }
        self.true_positives
            .iter()
            .zip(&self.false_positives)
            .map(|(&tp, &fp)| {
                (
                    tp as f64 / self.positives as f64,
                    tp as f64 / (tp + fp).max(1) as f64,
                )
            })
            .collect()
    }
}

/// [`Curve::of`], the rows already in ascending score order.
fn curve_in(
    positive: &[bool],
    score: &[f64],
    ascending: &[usize],
    max_points: usize,
) -> Option<Curve> {
    if ascending.is_empty() {
        return None;
    }
    let positives = positive.iter().filter(|&&p| p).count();
    let (mut thresholds, mut tps, mut fps) = (Vec::new(), Vec::new(), Vec::new());
    let (mut tp, mut fp) = (0, 0);
    let mut i = ascending.len();
    while i > 0 {
        let s = score[ascending[i - 1]];
        while i > 0 && score[ascending[i - 1]] == s {
            if positive[ascending[i - 1]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i -= 1;
        }
        thresholds.push(s);
        tps.push(tp);
        fps.push(fp);
    }
    let d = thresholds.len();
    let max_points = max_points.max(2);
    if d > max_points {
        // Indices spread evenly from the first to the last (always kept).
        let keep: Vec<usize> = (0..max_points)
            .map(|j| j * (d - 1) / (max_points - 1))
            .collect();
        let pick = |v: &[usize]| keep.iter().map(|&k| v[k]).collect::<Vec<_>>();
        (tps, fps) = (pick(&tps), pick(&fps));
        thresholds = keep.iter().map(|&k| thresholds[k]).collect();
    }
    Some(Curve {
        positives,
        negatives: ascending.len() - positives,
        thresholds,
        true_positives: tps,
        false_positives: fps,
    })
}

/// One tenth of the probability range in a reliability diagram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// The mean predicted probability of the bin's rows.
    pub predicted: f64,
    /// The share of them that are class 1.
    pub observed: f64,
    pub rows: usize,
}

/// The reliability diagram of `score` (probabilities) for rows where `positive` holds:
/// scikit-learn's `calibration_curve(n_bins=10)` (bins `(0.1 (i-1), 0.1 i]`, the first from
/// 0; empty bins left out).
pub fn calibration(positive: &[bool], score: &[f64]) -> Vec<CalibrationBin> {
    const BINS: usize = 10;
    let (mut sum, mut hits, mut rows) = ([0.0; BINS], [0usize; BINS], [0usize; BINS]);
    for (&p, &s) in positive.iter().zip(score) {
        // The count of inner edges below `s`, as numpy's searchsorted; the edges are
        // numpy's linspace (0.1 * i, so 0.30000000000000004).
        let b = (1..BINS).filter(|&e| e as f64 * 0.1 < s).count();
        sum[b] += s;
        hits[b] += usize::from(p);
        rows[b] += 1;
    }
    (0..BINS)
        .filter(|&b| rows[b] > 0)
        .map(|b| CalibrationBin {
            predicted: sum[b] / rows[b] as f64,
            observed: hits[b] as f64 / rows[b] as f64,
            rows: rows[b],
        })
        .collect()
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
    // Class `c` against the rest, in ascending order of its probability: one sort for every
    // curve (the page computes them on its thread, for up to hundreds of thousands of rows).
    let sorted = |c: usize| {
        let score = column(c);
        let order = ascending(&score);
        (is(c), score, order)
    };
    let areas = |(positive, score, order): &(Vec<bool>, Vec<f64>, Vec<usize>)| {
        (
            roc_auc_in(positive, score, order),
            average_precision_in(positive, score, order),
        )
    };
    let (roc, ap, curve, calibration) = if k == 2 {
        let one = sorted(1);
        let (roc, ap) = areas(&one);
        let (positive, score, order) = &one;
        (
            roc,
            ap,
            curve_in(positive, score, order, CURVE_POINTS),
            calibration(positive, score),
        )
    } else {
        // One class against the rest, averaged over the classes present (scikit-learn's
        // macro average; it refuses rows that lack a class, we average those we can).
        let (rocs, aps): (Vec<Option<f64>>, Vec<Option<f64>>) =
            (0..k).map(|c| areas(&sorted(c))).unzip();
        let present = |v: Vec<Option<f64>>| mean(&v.into_iter().flatten().collect::<Vec<_>>());
        (present(rocs), present(aps), None, Vec::new())
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
        curve,
        calibration,
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
        // The counts of the kept matrix, and back.
        let m = vec![vec![9, 0], vec![1, 0]];
        let c = Counts::of_matrix(&m).unwrap();
        assert_eq!(
            (c.true_negatives, c.false_negatives, c.sensitivity()),
            (9, 1, Some(0.0))
        );
        assert_eq!(c.matrix(), m);
        assert_eq!(Counts::of_matrix(&[vec![1, 2, 3]]), None);
    }
}

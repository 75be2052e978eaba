//! The held-out figures against scikit-learn's, on the predictions of
//! tests/fixtures/quality/make_quality.py (which says how quality.json was made), to 1e-9.

use gpuforest::forest::quality::{
    CURVE_POINTS, Curve, calibration, classifier_quality, regressor_quality,
};
use gpuforest::model::rows::label_of;
use serde_json::Value;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/quality/quality.json"
);

fn close(got: Option<f64>, want: &Value, what: &str) {
    match (got, want.as_f64()) {
        (Some(g), Some(w)) => assert!((g - w).abs() <= 1e-9, "{what}: {g} against {w}"),
        (None, None) => {}
        (g, _) => panic!("{what}: {g:?} against {want}"),
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn figures_are_scikit_learns() {
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    assert_eq!(cases.len(), 5);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let want = &case["want"];
        if case["task"] == "regression" {
            let q = regressor_quality(&floats(&case["truth"]), &floats(&case["pred"])).unwrap();
            close(Some(q.r2), &want["r2"], name);
            close(Some(q.mae), &want["mae"], name);
            close(Some(q.rmse), &want["rmse"], name);
            continue;
        }
        let ints = |k: &str| -> Vec<u32> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect()
        };
        let proba: Vec<f32> = floats(&case["proba"]).iter().map(|&v| v as f32).collect();
        let classes: Vec<String> = case["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        let majority = case["majority"].as_u64().unwrap() as u32;
        let q =
            classifier_quality(&ints("truth"), &ints("pred"), &proba, &classes, majority).unwrap();
        close(
            Some(q.accuracy),
            &want["accuracy"],
            &format!("{name}: accuracy"),
        );
        close(
            Some(q.balanced_accuracy),
            &want["balanced_accuracy"],
            &format!("{name}: balanced"),
        );
        close(
            Some(q.baseline_accuracy),
            &want["baseline_accuracy"],
            &format!("{name}: baseline"),
        );
        close(q.roc_auc, &want["roc_auc"], &format!("{name}: ROC AUC"));
        close(
            q.average_precision,
            &want["average_precision"],
            &format!("{name}: AP"),
        );
        for (c, w) in q.classes.iter().zip(want["classes"].as_array().unwrap()) {
            close(
                c.sensitivity,
                &w["sensitivity"],
                &format!("{name}: {} sensitivity", c.class),
            );
            close(
                c.specificity,
                &w["specificity"],
                &format!("{name}: {} specificity", c.class),
            );
            close(
                c.precision,
                &w["precision"],
                &format!("{name}: {} precision", c.class),
            );
        }
    }
}

/// Two classes' cases of the fixture: (name, truth, class 1's probability, scikit-learn's).
fn two_class_cases() -> Vec<(String, Vec<u32>, Vec<f32>, Value)> {
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    cases
        .into_iter()
        .filter(|c| c["want"].get("roc_thresholds").is_some())
        .map(|c| {
            let truth = c["truth"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect();
            let proba: Vec<f32> = floats(&c["proba"]).iter().map(|&v| v as f32).collect();
            (
                c["name"].as_str().unwrap().to_string(),
                truth,
                proba,
                c["want"].clone(),
            )
        })
        .collect()
}

fn close_all(got: &[f64], want: &Value, what: &str) {
    let want = floats(want);
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: {} points against {}",
        got.len(),
        want.len()
    );
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= 1e-9, "{what} [{i}]: {g} against {w}");
    }
}

#[test]
fn curves_and_the_reliability_diagram_are_scikit_learns() {
    let cases = two_class_cases();
    assert_eq!(cases.len(), 3);
    for (name, truth, proba, want) in &cases {
        let positive: Vec<bool> = truth.iter().map(|&t| t == 1).collect();
        let score: Vec<f64> = proba.chunks(2).map(|p| f64::from(p[1])).collect();
        // Every threshold kept: roc_curve(drop_intermediate=False) and precision_recall_curve.
        let c = Curve::of(&positive, &score, usize::MAX).unwrap();
        close_all(
            &c.thresholds,
            &want["roc_thresholds"],
            &format!("{name}: ROC thresholds"),
        );
        let roc = c.roc();
        let (fpr, tpr): (Vec<f64>, Vec<f64>) = roc.iter().copied().unzip();
        close_all(&fpr, &want["fpr"], &format!("{name}: FPR"));
        close_all(&tpr, &want["tpr"], &format!("{name}: TPR"));
        // scikit-learn lists the precision-recall points by ascending threshold.
        let (mut recall, mut precision): (Vec<f64>, Vec<f64>) =
            c.precision_recall().into_iter().unzip();
        recall.reverse();
        precision.reverse();
        let mut pr_t = c.thresholds.clone();
        pr_t.reverse();
        close_all(
            &pr_t,
            &want["pr_thresholds"],
            &format!("{name}: PR thresholds"),
        );
        close_all(&recall, &want["recall"], &format!("{name}: recall"));
        close_all(
            &precision,
            &want["precision"],
            &format!("{name}: precision"),
        );
        let bins = calibration(&positive, &score);
        let observed: Vec<f64> = bins.iter().map(|b| b.observed).collect();
        let predicted: Vec<f64> = bins.iter().map(|b| b.predicted).collect();
        close_all(
            &observed,
            &want["calibration_observed"],
            &format!("{name}: observed"),
        );
        close_all(
            &predicted,
            &want["calibration_predicted"],
            &format!("{name}: predicted"),
        );
        assert_eq!(bins.iter().map(|b| b.rows).sum::<usize>(), truth.len());
        // The curve a model keeps is thinned to CURVE_POINTS, its counts exact where kept.
        let pred: Vec<u32> = proba.chunks(2).map(|p| label_of(p, None) as u32).collect();
        let classes = ["c0".to_string(), "c1".to_string()];
        let q = classifier_quality(truth, &pred, proba, &classes, 0).unwrap();
        let kept = q.curve.unwrap();
        assert!(kept.thresholds.len() <= CURVE_POINTS.min(c.thresholds.len()));
        assert_eq!(
            kept.thresholds.last(),
            c.thresholds.last(),
            "the lowest is kept"
        );
        for (i, t) in kept.thresholds.iter().enumerate() {
            let j = c.thresholds.iter().position(|x| x == t).unwrap();
            assert_eq!(kept.at(i), c.at(j), "{name}: counts at {t}");
        }
        assert_eq!(q.calibration, bins);
    }
}

#[test]
fn a_threshold_labels_rows_as_fixed_threshold_classifier_does() {
    for (name, truth, proba, want) in two_class_cases() {
        let positive: Vec<bool> = truth.iter().map(|&t| t == 1).collect();
        let score: Vec<f64> = proba.chunks(2).map(|p| f64::from(p[1])).collect();
        let c = Curve::of(&positive, &score, usize::MAX).unwrap();
        for (t, matrix) in want["confusion_at"].as_object().unwrap() {
            let t: f64 = t.parse().unwrap();
            let want: Vec<Vec<usize>> = serde_json::from_value(matrix.clone()).unwrap();
            // The labels predict gives at this threshold...
            let labels: Vec<u32> = proba
                .chunks(2)
                .map(|p| label_of(p, Some(t)) as u32)
                .collect();
            assert_eq!(
                gpuforest::forest::metrics::confusion(&truth, &labels, 2),
                want,
                "{name} at {t}"
            );
            // ...and the curve's counts at the lowest threshold kept at or above it.
            let i = c.thresholds.iter().rposition(|&x| x >= t).unwrap();
            assert_eq!(c.at(i).unwrap().matrix(), want, "{name}: curve at {t}");
        }
    }
}

//! The held-out figures against scikit-learn's, on the predictions of
//! tests/fixtures/quality/make_quality.py (which says how quality.json was made), to 1e-9.

use gpuforest::forest::quality::{classifier_quality, regressor_quality};
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

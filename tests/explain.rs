//! Explanations against the `shap` package's TreeExplainer (path-dependent), on the forests and
//! rows of tests/fixtures/explain/make_explain.py (which says how explain.json was made): our
//! forests with missing values (regression, two and three classes) and a scikit-learn forest
//! brought in with its covers. Each contribution is within 1e-5 of the row's largest one.

use gpuforest::explain::Explainer;
use gpuforest::model::Model;
use serde_json::Value;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/explain/explain.json"
);

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

#[test]
fn contributions_are_shaps() {
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let model = Model::from_json(&case["model"].to_string()).unwrap();
        let x: Vec<f32> = case["x"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| floats(r).into_iter().map(|v| v as f32))
            .collect();
        assert_eq!(x.iter().any(|v| v.is_nan()), !name.starts_with("scikit"));
        let e = Explainer::new(&model.forest).unwrap().explain(&x).unwrap();
        let want_rows = case["shap"].as_array().unwrap();
        assert_eq!(e.n_rows, want_rows.len(), "{name}");
        for (k, want) in floats(&case["expected"]).iter().enumerate() {
            let got = f64::from(e.expected[k]);
            assert!(
                (got - want).abs() < 1e-6,
                "{name}: expected value {k}: {got} against {want}"
            );
        }
        for (r, outputs) in want_rows.iter().enumerate() {
            let outputs = outputs.as_array().unwrap();
            assert_eq!(outputs.len(), e.n_outputs, "{name}");
            for (k, want) in outputs.iter().enumerate() {
                let want = floats(want);
                let largest = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                for (j, (&g, w)) in e.row(r, k).iter().zip(&want).enumerate() {
                    let g = f64::from(g);
                    assert!(
                        (g - w).abs() <= 1e-5 * largest.max(1e-3),
                        "{name}: row {r}, output {k}, feature {j}: {g} against shap's {w}"
                    );
                }
            }
        }
    }
}

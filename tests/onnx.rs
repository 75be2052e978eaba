//! ONNX models from scikit-learn, XGBoost and LightGBM converters, and hand-built ones that reach
//! every node mode and output rule (tests/fixtures/onnx, written by scripts/onnx_fixtures.py
//! with ONNX Runtime's outputs), scored here on the CPU and the GPU (lavapipe in CI).

use gpuforest::data::read_table;
use gpuforest::gpu::{GpuContext, GpuForest, Kernel};
use gpuforest::model::Model;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx")
}

#[derive(serde::Deserialize)]
struct Index {
    models: BTreeMap<String, String>,
    refused: BTreeMap<String, String>,
    /// This program's models (NAME.json) exported to NAME.onnx.
    exported: BTreeMap<String, String>,
}

fn index() -> Index {
    serde_json::from_str(&std::fs::read_to_string(dir().join("index.json")).unwrap()).unwrap()
}

/// ONNX Runtime's labels and outputs.
fn expected(name: &str) -> (Vec<String>, Vec<Vec<f32>>) {
    let mut r = csv::Reader::from_path(dir().join(format!("{name}.csv"))).unwrap();
    let mut labels = Vec::new();
    let mut outs = Vec::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        labels.push(rec[0].to_string());
        outs.push(
            rec.iter()
                .skip(1)
                .map(|v| v.parse::<f32>().unwrap())
                .collect(),
        );
    }
    (labels, outs)
}

fn load(name: &str) -> Model {
    let bytes = std::fs::read(dir().join(format!("{name}.onnx"))).unwrap();
    gpuforest::model::Model::from_onnx(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn rows(file: &str, model: &Model) -> Vec<f32> {
    let text = std::fs::read_to_string(dir().join(file)).unwrap();
    let table = read_table(text.as_bytes()).unwrap();
    model.features_of(&table).unwrap()
}

/// |ours - ONNX Runtime| <= 1e-5 relative, against the row's largest output where that is
/// larger (sums of many trees in another order differ in their last bits).
fn close(ours: f32, theirs: f32, scale: f32) -> bool {
    (ours - theirs).abs() <= 1e-5 * theirs.abs().max(scale).max(1e-6)
}

fn check_against_ort(name: &str, model: &Model, outputs: &[f32], engine: &str) {
    let (labels, want) = expected(name);
    let no = model.forest.n_outputs as usize;
    assert_eq!(
        outputs.len(),
        want.len() * no,
        "{name} ({engine}): output count"
    );
    let classes = &model.schema.classes;
    for (r, (got, w)) in outputs.chunks(no).zip(&want).enumerate() {
        assert_eq!(got.len(), w.len(), "{name}: outputs per row");
        let scale = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (g, e) in got.iter().zip(w) {
            assert!(
                close(*g, *e, scale),
                "{name} ({engine}) row {r}: ours {got:?}, ONNX Runtime {w:?}"
            );
        }
        if !classes.is_empty() {
            let best = gpuforest::forest::argmax(got);
            let tie = got.iter().filter(|&&v| v == got[best]).count() > 1;
            if !tie {
                assert_eq!(
                    classes[best], labels[r],
                    "{name} ({engine}) row {r}: label, outputs {got:?}"
                );
            }
        }
    }
}

#[test]
fn converter_and_hand_built_models_score_as_onnx_runtime_does_on_the_cpu() {
    let idx = index();
    assert!(idx.models.len() >= 30, "fixtures: {}", idx.models.len());
    for (name, file) in &idx.models {
        let model = load(name);
        let x = rows(file, &model);
        let single = {
            let mut o = vec![
                0.0;
                x.len() / model.forest.n_features as usize
                    * model.forest.n_outputs as usize
            ];
            model.forest.predict_reference(&x, &mut o);
            o
        };
        check_against_ort(name, &model, &single, "CPU reference walk");
        let all = model.predict_x(&x).outputs;
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&all),
            bits(&single),
            "{name}: planned walk against the reference"
        );
    }
}

#[test]
fn the_gpu_gives_the_cpus_bits_on_every_fixture() {
    let ctx = pollster::block_on(GpuContext::new())
        .expect("a Vulkan adapter (lavapipe: apt-get install mesa-vulkan-drivers)");
    for (name, file) in &index().models {
        let model = load(name);
        let x = rows(file, &model);
        let cpu = model.predict_x(&x).outputs;
        let mut g = GpuForest::new(ctx.clone(), &model.forest, None).unwrap();
        let run = g.predict_blocking(&x, Kernel::Auto).unwrap();
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&run.outputs), bits(&cpu), "{name}: GPU against CPU");
        check_against_ort(name, &model, &run.outputs, "GPU");
    }
}

#[test]
fn unsupported_models_are_refused_naming_what_is_unsupported() {
    for (name, phrase) in &index().refused {
        let bytes = std::fs::read(dir().join(format!("{name}.onnx"))).unwrap();
        let err = gpuforest::model::Model::from_onnx(&bytes)
            .expect_err(name)
            .to_string();
        assert!(
            err.contains(phrase.as_str()),
            "{name}: {err:?} should say {phrase:?}"
        );
    }
}

#[test]
fn a_csv_with_another_column_count_is_refused_with_both_counts() {
    let model = load("skl_rf_binary");
    let table = read_table(b"a,b,c\n1,2,3\n").unwrap();
    let err = model.features_of(&table).unwrap_err().to_string();
    assert!(
        err.contains("reads 6 features") && err.contains("has 3 columns"),
        "{err}"
    );
    let table = read_table(b"a,b,c,d,e,f\n1,2,3,x,5,6\n").unwrap();
    let err = model.features_of(&table).unwrap_err().to_string();
    assert!(err.contains("row 1") && err.contains('d'), "{err}");
}

#[test]
fn an_imported_model_saves_and_loads_back_as_json_with_its_head() {
    for name in [
        "xgb_binary_nan",
        "skl_gb_multi",
        "hand_softmax_zero",
        "lgb_regression_nan",
    ] {
        let model = load(name);
        let back = Model::from_json(&model.to_saved_json().unwrap()).unwrap();
        assert_eq!(back, model, "{name}");
    }
}

#[test]
fn export_writes_the_bytes_onnx_runtime_scored_and_they_score_as_ours() {
    let idx = index();
    assert_eq!(idx.exported.len(), 3);
    for (name, file) in &idx.exported {
        let ours = Model::load(&dir().join(format!("{name}.json"))).unwrap();
        let bytes = ours.to_onnx().unwrap();
        let checked = std::fs::read(dir().join(format!("{name}.onnx"))).unwrap();
        assert!(
            bytes == checked,
            "{name}: export changed; run scripts/onnx_fixtures.py"
        );
        let x = rows(file, &ours);
        check_against_ort(name, &ours, &ours.predict_x(&x).outputs, "our JSON model");
    }
    // An imported model is not exported again, nor one that reads text columns.
    let err = load("xgb_binary_nan").to_onnx().unwrap_err().to_string();
    assert!(err.contains("imported from ONNX"), "{err}");
    let mut csv = String::from("color,x,y\n");
    for i in 0..40 {
        csv += &format!("{},{i},{}\n", ["red", "blue", "green"][i % 3], i % 2);
    }
    let table = read_table(csv.as_bytes()).unwrap();
    let opts = gpuforest::pipeline::TrainOptions {
        target: "y".into(),
        task: None,
        params: gpuforest::forest::Params {
            n_trees: 3,
            ..Default::default()
        },
        test_fraction: 0.0,
        stratify: false,
        columns: Default::default(),
    };
    let prep = gpuforest::pipeline::prepare(&table, &opts).unwrap();
    let m = gpuforest::pipeline::train(&prep, &opts.params, &|| {}).unwrap();
    let err = m.to_onnx().unwrap_err().to_string();
    assert!(err.contains("column color is text"), "{err}");
}

//! The `forest` binary as a user runs it.

use std::process::Command;

fn forest(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_forest"))
        .args(args)
        .output()
        .expect("forest runs")
}

/// `forest args`, which must succeed (its stderr is the failure message).
fn ok(args: &[&str]) -> std::process::Output {
    let out = forest(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gpuforest-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn train_json_then_predict() {
    let model = tmp("bc.json");
    let started = std::time::Instant::now();
    let out = ok(&[
        "train",
        "--csv",
        "assets/breast_cancer.csv",
        "--target",
        "diagnosis",
        "--trees",
        "20",
        "--seed",
        "1",
        "--json",
        "--model-out",
        model.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(stdout.trim()).expect("exactly one JSON object");
    assert_eq!(v["task"], "classification");
    assert_eq!(v["rows"], 569);
    assert_eq!(v["features"], 30);
    assert_eq!(v["trees"], 20);
    assert_eq!(v["classes"], serde_json::json!(["benign", "malignant"]));
    assert!(v["test_accuracy"].as_f64().unwrap() > 0.9);
    assert!(v["oob_score"].as_f64().unwrap() > 0.85);
    // In seconds, and a part of the command's own run (not milliseconds, not 0).
    let train = v["train_seconds"].as_f64().unwrap();
    assert!(
        train > 0.0 && train <= started.elapsed().as_secs_f64(),
        "{train}"
    );

    // The model file keeps its held-out figures: the score, the confusion matrix, the rare
    // outcomes' figures (baseline, balanced accuracy, AUC...).
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(
        saved["evaluation"],
        serde_json::json!({"test_accuracy": v["test_accuracy"], "test_rows": v["test_rows"],
            "test_fraction": 0.25, "seed": 1, "stratified": true, "quality": v["quality"],
            "confusion": v["confusion"]})
    );
    assert_eq!(v["stratified"], true);
    let q = &v["quality"]["classification"];
    assert_eq!(q["baseline_class"], "benign");
    assert!(q["roc_auc"].as_f64().unwrap() > 0.95, "{q}");
    assert!(q["baseline_accuracy"].as_f64().unwrap() < q["accuracy"].as_f64().unwrap());

    let preds = tmp("bc.csv");
    ok(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--csv",
        "assets/breast_cancer.csv",
        "--out",
        preds.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&preds).unwrap();
    let mut lines = text.lines();
    // The file it trained on: each row says its side of the split and its true class.
    assert_eq!(
        lines.next().unwrap(),
        "row,split,actual,prediction,proba_benign,proba_malignant"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 569);
    // Same order as the input: the row number and the file's own diagnosis.
    let truth: Vec<String> = std::fs::read_to_string("assets/breast_cancer.csv")
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().to_string())
        .collect();
    for (i, (r, t)) in rows.iter().zip(&truth).enumerate() {
        assert_eq!((r[0], r[2]), ((i + 1).to_string().as_str(), t.as_str()));
    }
    // The rows marked "test" are the held-out ones: as many, and the file's accuracy on them
    // is the held-out accuracy the model reported, to the last bit.
    let test: Vec<&Vec<&str>> = rows.iter().filter(|r| r[1] == "test").collect();
    assert_eq!(test.len() as u64, v["test_rows"].as_u64().unwrap());
    assert_eq!(
        rows.iter().filter(|r| r[1] == "train").count() + test.len(),
        569
    );
    let right = test.iter().filter(|r| r[2] == r[3]).count();
    assert_eq!(
        right as f64 / test.len() as f64,
        v["test_accuracy"].as_f64().unwrap()
    );

    // Another file (the same rows less the last): every row is new.
    let fewer = tmp("bc-fewer.csv");
    let all = std::fs::read_to_string("assets/breast_cancer.csv").unwrap();
    let kept: Vec<&str> = all.lines().take(569).collect();
    std::fs::write(&fewer, kept.join("\n") + "\n").unwrap();
    let text = String::from_utf8(
        ok(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--csv",
            fewer.to_str().unwrap(),
        ])
        .stdout,
    )
    .unwrap();
    assert!(
        text.lines()
            .skip(1)
            .all(|l| l.split(',').nth(1) == Some("new"))
    );
}

#[test]
fn regression_text_report() {
    let out = forest(&[
        "train",
        "--csv",
        "assets/diabetes.csv",
        "--target",
        "progression",
        "--trees",
        "10",
    ]);
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("regression (detected)"), "{s}");
    assert!(s.contains("test R²"), "{s}");
    assert!(s.contains("top features"), "{s}");
}

#[test]
fn errors_are_one_line_and_non_zero() {
    let bad = tmp("ragged.csv");
    std::fs::write(&bad, "a,b,c\n1,2,3\n4,5\n").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["train", "--csv", bad.to_str().unwrap(), "--target", "c"],
            "row 2 (line 3) has 2 fields",
        ),
        (
            vec!["train", "--csv", "assets/diabetes.csv", "--target", "nope"],
            "\"nope\" is not in the header",
        ),
        (
            vec!["train", "--csv", "/no/such/file.csv", "--target", "x"],
            "cannot read /no/such/file.csv",
        ),
        (
            vec![
                "train",
                "--csv",
                "assets/diabetes.csv",
                "--target",
                "sex",
                "--max-features",
                "lots",
            ],
            "max features",
        ),
        (
            vec![
                "predict",
                "--model",
                "assets/diabetes.csv",
                "--csv",
                "assets/diabetes.csv",
            ],
            "not a usable model file",
        ),
    ];
    for (args, want) in cases {
        let out = forest(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.starts_with("error: ") && err.contains(want),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

#[test]
fn predict_auto_says_where_it_scores_and_matches_the_cpu() {
    let model = tmp("auto.json");
    ok(&[
        "train",
        "--csv",
        "assets/diabetes.csv",
        "--target",
        "progression",
        "--trees",
        "12",
        "--model-out",
        model.to_str().unwrap(),
    ]);
    let run = |device: &str| {
        let out = ok(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--csv",
            "assets/diabetes.csv",
            "--device",
            device,
        ]);
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (cpu, _) = run("cpu");
    let (auto, why) = run("auto");
    // 442 rows: above the crossover, so only a CPU-emulated adapter (or none) keeps the CPU.
    assert!(why.contains("auto: "), "auto says what it chose: {why}");
    assert_eq!(
        auto, cpu,
        "the same predictions, byte for byte, wherever they were made"
    );
    let (gpu, _) = run("gpu");
    assert_eq!(gpu, cpu, "GPU predictions are the CPU's bits");
}

#[test]
fn synth_without_features_is_an_error_not_a_panic() {
    let out = forest(&[
        "synth",
        "--features",
        "0",
        "--out",
        tmp("none.csv").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--features must be at least 1"));
}

#[test]
fn bench_rows_need_a_model_and_the_cpu_only_bench_runs() {
    let out = forest(&["bench", "--rows", "assets/diabetes.csv"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--rows needs --model"));
    let out = ok(&[
        "bench",
        "--cpu-only",
        "--train-rows",
        "500",
        "--features",
        "4",
        "--trees",
        "5",
        "--batches",
        "1,50",
        "--runs",
        "1",
        "--json",
    ]);
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Two batch sizes x (all threads, one thread).
    assert_eq!(lines.len(), 4);
    for l in &lines {
        assert!(l["scorer"].as_str().unwrap().starts_with("cpu"));
        assert!(l["end_to_end_ms"].as_f64().unwrap() > 0.0);
        assert!(l["node_visits_per_s"].as_f64().unwrap() > 0.0);
        if l["scorer"] == "cpu 1 thread" {
            assert_eq!(l["bits_differ"], 0, "one thread gives all threads' bits");
        }
    }
}

#[test]
fn id_like_columns_are_left_out_unless_kept_and_drop_leaves_out_any() {
    let csv = tmp("ids.csv");
    let mut text = String::from("patient_id,age,ward,readmitted\n");
    for i in 0..300 {
        let ward = ["A", "B", "C"][i % 3];
        text.push_str(&format!(
            "P{:05},{},{ward},{}\n",
            i * 7 + 3,
            20 + i % 60,
            ["no", "yes"][(i / 3) % 2]
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let csv = csv.to_str().unwrap();
    let base = [
        "train",
        "--csv",
        csv,
        "--target",
        "readmitted",
        "--trees",
        "5",
        "--json",
    ];
    let run = |extra: &[&str]| -> serde_json::Value {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        serde_json::from_slice(&ok(&args).stdout).unwrap()
    };
    let names = |v: &serde_json::Value| -> Vec<String> {
        let mut n: Vec<String> = v["importances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["feature"].as_str().unwrap().to_string())
            .collect();
        n.sort();
        n
    };
    let v = run(&[]);
    assert_eq!(names(&v), ["age", "ward"]);
    assert_eq!(
        v["left_out"],
        serde_json::json!([{"column": "patient_id", "reason": "ID-like: 300 distinct values in 300 rows"}])
    );
    let v = run(&["--keep", "patient_id", "--drop", "ward"]);
    assert_eq!(names(&v), ["age", "patient_id"]);
    assert_eq!(v["left_out"][0]["column"], "ward");
    // Predictions carry the row number and the ID column that was left out.
    let model = tmp("ids.json");
    ok(&[&base[..], &["--model-out", model.to_str().unwrap()]].concat());
    let preds = ok(&["predict", "--model", model.to_str().unwrap(), "--csv", csv]).stdout;
    let preds = String::from_utf8(preds).unwrap();
    let mut lines = preds.lines();
    assert_eq!(
        lines.next(),
        Some("row,patient_id,split,actual,prediction,proba_no,proba_yes")
    );
    assert!(lines.next().unwrap().starts_with("1,P00003,"));
    assert!(lines.nth(298).unwrap().starts_with("300,P02096,"));
    let out = forest(&[&base[..], &["--drop", "nope"]].concat());
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("--drop \"nope\": no such column"), "{e}");
}

#[test]
fn onnx_models_predict_inspect_and_export_from_the_command_line() {
    let fix = "tests/fixtures/onnx";
    let out = tmp("xgb.csv");
    ok(&[
        "predict",
        "--model",
        &format!("{fix}/xgb_multi_nan.onnx"),
        "--csv",
        &format!("{fix}/rows_3_nan.csv"),
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("row,prediction,proba_0,proba_1,proba_2\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 65);

    let about = ok(&["inspect", "--model", &format!("{fix}/skl_rf_multi.onnx")]);
    let about = String::from_utf8_lossy(&about.stdout);
    assert!(
        about.contains("ONNX TreeEnsembleClassifier from skl2onnx")
            && about.contains("3 classes (high, low, mid)"),
        "{about}"
    );

    // Ours out to ONNX and back in: the same predictions within 1e-5.
    let onnx = tmp("export.onnx");
    ok(&[
        "export",
        "--model",
        &format!("{fix}/export_binary.json"),
        "--onnx",
        onnx.to_str().unwrap(),
    ]);
    let rows = format!("{fix}/rows_2_nan.csv");
    let a = ok(&[
        "predict",
        "--model",
        &format!("{fix}/export_binary.json"),
        "--csv",
        &rows,
    ]);
    let b = ok(&["predict", "--model", onnx.to_str().unwrap(), "--csv", &rows]);
    let probs = |o: &std::process::Output| -> Vec<f32> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .skip(1)
            .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
            .collect()
    };
    let (a, b) = (probs(&a), probs(&b));
    assert_eq!(a.len(), 64);
    assert!(
        a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 1e-5),
        "{a:?} {b:?}"
    );

    let refused = forest(&[
        "export",
        "--model",
        &format!("{fix}/xgb_binary_nan.onnx"),
        "--onnx",
        onnx.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("imported from ONNX"));
}

#[test]
fn evaluate_reports_the_rare_outcome_figures_of_a_labelled_file() {
    // 1 row in 8 positive: a forest of stumps finds few of them.
    let csv = tmp("rare.csv");
    let mut text = String::from("a,b,y\n");
    for i in 0..800 {
        let positive = i % 8 == 0;
        let noise = (i * 37 % 101) as f64 / 101.0;
        text.push_str(&format!(
            "{},{noise},{}\n",
            i % 13,
            if positive { "yes" } else { "no" }
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let model = tmp("rare.json");
    let m = model.to_str().unwrap();
    ok(&[
        "train",
        "--csv",
        csv.to_str().unwrap(),
        "--target",
        "y",
        "--trees",
        "5",
        "--max-depth",
        "2",
        "--model-out",
        m,
    ]);
    let out = ok(&[
        "evaluate",
        "--model",
        m,
        "--csv",
        csv.to_str().unwrap(),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let q = &v["quality"]["classification"];
    assert_eq!(v["rows"], 800);
    assert_eq!(q["baseline_class"], "no");
    assert_eq!(q["baseline_accuracy"], 0.875);
    // Imbalanced: the headline is not plain accuracy.
    assert_ne!(q["headline"]["metric"], "accuracy", "{q}");
    let text = ok(&["evaluate", "--model", m, "--csv", csv.to_str().unwrap()]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("always \"no\": 87.5%"), "{text}");
    assert!(text.contains("sensitivity"), "{text}");
    // A file without the target column is refused, naming it.
    let unlabelled = tmp("new.csv");
    std::fs::write(&unlabelled, "a,b\n1,0.5\n2,0.25\n").unwrap();
    let out = forest(&[
        "evaluate",
        "--model",
        m,
        "--csv",
        unlabelled.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\"y\""),
        "{out:?}"
    );
}

#[test]
fn explain_writes_contributions_that_add_up_to_the_predictions() {
    let model = train_breast_cancer("explain.json", &["--trees", "10", "--max-depth", "5"]);
    let m = model.to_str().unwrap();
    let out = ok(&[
        "explain",
        "--model",
        m,
        "--csv",
        "assets/breast_cancer.csv",
        "--device",
        "cpu",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("explained 569 rows on the CPU"), "{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    // row, then per class: expected_<class> and 30 features.
    assert_eq!(header.len(), 1 + 2 * 31);
    assert_eq!(&header[..2], ["row", "expected_benign"]);
    assert_eq!(header[32], "expected_malignant");
    assert!(header[33].ends_with("_malignant"), "{}", header[33]);
    let pred = ok(&["predict", "--model", m, "--csv", "assets/breast_cancer.csv"]);
    let pred = String::from_utf8(pred.stdout).unwrap();
    for (e, p) in lines.zip(pred.lines().skip(1)) {
        let v: Vec<f64> = e.split(',').map(|c| c.parse().unwrap()).collect();
        let malignant: f64 = v[32..].iter().sum();
        let p: f64 = p.split(',').last().unwrap().parse().unwrap();
        assert!((malignant - p).abs() < 1e-5, "{e}: {malignant} against {p}");
    }
    // One row in words: expected value, the largest contributions, the output they add up to.
    let one = ok(&[
        "explain",
        "--model",
        m,
        "--csv",
        "assets/breast_cancer.csv",
        "--row",
        "3",
    ]);
    let one = String::from_utf8(one.stdout).unwrap();
    let lines: Vec<&str> = one.lines().collect();
    assert!(
        lines[0].starts_with("row 3: why the model gives the probability of"),
        "{one}"
    );
    assert!(lines[1].starts_with("expected value"), "{one}");
    assert_eq!(lines.len(), 2 + 10 + 1 + 1, "{one}");
    let number = |l: &str| -> f64 { l.split_whitespace().last().unwrap().parse().unwrap() };
    let total: f64 = lines[1..13].iter().map(|l| number(l)).sum();
    assert!((total - number(lines[13])).abs() < 2e-3, "{one}");
    let bad = forest(&[
        "explain",
        "--model",
        m,
        "--csv",
        "assets/breast_cancer.csv",
        "--row",
        "570",
    ]);
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && e.contains("rows 1 to 569"), "{e}");
    let summary = ok(&[
        "explain",
        "--model",
        m,
        "--csv",
        "assets/breast_cancer.csv",
        "--summary",
    ]);
    let summary = String::from_utf8(summary.stdout).unwrap();
    assert_eq!(summary.lines().count(), 1 + 30 + 1, "{summary}");
    assert!(summary.contains("mean |contrib.|") && summary.ends_with("(over 569 rows)\n"));
    // An ONNX file keeps no covers: refused with the way out, then explained from rows.
    let onnx = tmp("explain.onnx");
    ok(&["export", "--model", m, "--onnx", onnx.to_str().unwrap()]);
    let csv = tmp("explain-features.csv");
    let full = std::fs::read_to_string("assets/breast_cancer.csv").unwrap();
    // The 30 features, in order, without the target (the last column).
    let features: String = full
        .lines()
        .map(|l| l.split(',').take(30).collect::<Vec<_>>().join(",") + "\n")
        .collect();
    std::fs::write(&csv, features).unwrap();
    let bad = forest(&[
        "explain",
        "--model",
        onnx.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(
        e.contains("no node covers") && e.contains("--background"),
        "{e}"
    );
    let done = ok(&[
        "explain",
        "--model",
        onnx.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
        "--background",
        csv.to_str().unwrap(),
        "--device",
        "cpu",
    ]);
    assert_eq!(String::from_utf8(done.stdout).unwrap().lines().count(), 570);
}

#[test]
fn a_patient_column_that_repeats_holds_its_rows_out_together() {
    let csv = tmp("admissions-groups.csv");
    let mut text = String::from("patient,age,readmitted\n");
    for i in 0..400 {
        let p = i % 130;
        text.push_str(&format!(
            "P{p:04},{},{}\n",
            30 + p % 50,
            ["no", "yes"][(p % 7 == 0) as usize]
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let csv = csv.to_str().unwrap();
    let train = |extra: &[&str]| {
        let args: Vec<&str> = [
            "train",
            "--csv",
            csv,
            "--target",
            "readmitted",
            "--trees",
            "5",
        ]
        .iter()
        .chain(extra)
        .copied()
        .collect();
        ok(&args).stdout
    };
    let v: serde_json::Value = serde_json::from_slice(&train(&["--json"])).unwrap();
    assert_eq!(v["group"], "patient");
    // Each tree draws whole patients, so there is an out-of-bag score, and it says so.
    assert!(v["oob_score"].is_number());
    // Stratified still, as near as whole patients allow.
    assert_eq!(v["stratified"], true);
    assert!(
        v["left_out"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("group-like: 130 values in 400 rows")
    );
    let text = String::from_utf8(train(&[])).unwrap();
    assert!(
        text.contains("held out by patient: no value of it on both sides"),
        "{text}"
    );
    assert!(
        text.contains("(accuracy, each tree drawing whole patients)"),
        "{text}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&train(&["--json", "--group", "none"])).unwrap();
    assert_eq!(
        (v["group"].clone(), v["stratified"].clone()),
        (serde_json::Value::Null, true.into())
    );
    assert!(v["oob_score"].is_number());
    let out = forest(&[
        "train",
        "--csv",
        csv,
        "--target",
        "readmitted",
        "--group",
        "ward",
    ]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("--group \"ward\": no such column"), "{e}");
}

/// Trains on the bundled breast cancer file with `extra` settings, saving the model as `name`.
fn train_breast_cancer(name: &str, extra: &[&str]) -> std::path::PathBuf {
    let model = tmp(name);
    let base = [
        "train",
        "--csv",
        "assets/breast_cancer.csv",
        "--target",
        "diagnosis",
        "--model-out",
        model.to_str().unwrap(),
    ];
    ok(&[&base[..], extra].concat());
    model
}

#[test]
fn a_saved_threshold_decides_the_labels_and_survives_the_file() {
    let model = train_breast_cancer("bc-threshold.json", &["--trees", "20"]);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    v["threshold"] = serde_json::json!(0.9);
    std::fs::write(&model, v.to_string()).unwrap();
    let predict = |device: &str| {
        let out = ok(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--csv",
            "assets/breast_cancer.csv",
            "--device",
            device,
        ]);
        String::from_utf8(out.stdout).unwrap()
    };
    let text = predict("cpu");
    let mut flipped = 0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (label, p0, p1): (&str, f32, f32) =
            (f[3], f[4].parse().unwrap(), f[5].parse().unwrap());
        // Malignant only from a probability of 0.9, whatever is more probable.
        assert_eq!(label == "malignant", f64::from(p1) >= 0.9, "{line}");
        flipped += usize::from(p1 > p0 && f64::from(p1) < 0.9);
    }
    assert!(
        flipped > 0,
        "no row between 0.5 and 0.9: the threshold was not tried"
    );
    // Scored on the GPU (lavapipe where there is no other), the same labels: the same
    // probability bits through the one label rule.
    assert_eq!(predict("gpu"), text);
    // A threshold that is not a probability, or on a model of more than two classes, is refused
    // on load, naming the field.
    v["threshold"] = serde_json::json!(1.5);
    std::fs::write(&model, v.to_string()).unwrap();
    let out = forest(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--csv",
        "assets/breast_cancer.csv",
    ]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("\"threshold\"") && e.contains("from 0 to 1"),
        "{e}"
    );
}

/// A bench on a CPU emulation says so where the container toolkit asked for GPUs, and fails
/// when a GPU is required; on a real GPU neither happens.
#[test]
fn a_bench_that_needs_a_gpu_refuses_a_cpu_emulation() {
    let bench = |require: &str| {
        Command::new(env!("CARGO_BIN_EXE_forest"))
            .args([
                "bench",
                "--train-rows",
                "300",
                "--features",
                "3",
                "--trees",
                "3",
            ])
            .args([
                "--max-depth",
                "3",
                "--batches",
                "10",
                "--runs",
                "1",
                "--no-variants",
            ])
            .env("NVIDIA_VISIBLE_DEVICES", "all")
            .env("FOREST_REQUIRE_GPU", require)
            .output()
            .expect("forest runs")
    };
    let free = bench("0");
    assert!(
        free.status.success(),
        "{}",
        String::from_utf8_lossy(&free.stderr)
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&free.stdout),
        String::from_utf8_lossy(&free.stderr),
    );
    let software = stdout.contains("adapter  software GPU");
    assert_eq!(
        stderr.contains("WARNING: NVIDIA_VISIBLE_DEVICES asks for GPUs"),
        software,
        "{stdout}\n{stderr}"
    );
    let required = bench("1");
    assert_eq!(required.status.success(), !software);
    if software {
        let err = String::from_utf8_lossy(&required.stderr);
        assert!(
            err.contains("a CPU emulation, and a GPU is required"),
            "{err}"
        );
    }
}

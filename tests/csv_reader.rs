//! The columnar CSV reader trains the very models the row-by-row reader trained: the fixture's
//! models and predictions were made by that reader (tests/fixtures/csv/make_admissions.py says
//! how), and the same file, seed and settings must give the same bytes.

use gpuforest::data::{Task, read_table};
use gpuforest::forest::Params;
use gpuforest::model::Model;
use gpuforest::pipeline::{self, Columns, Group, TrainOptions, evaluate, prepare};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/csv");

/// `forest train --csv admissions.csv --target TARGET --trees 20 --max-depth 8 --seed 7`.
fn train(target: &str) -> Model {
    let bytes = std::fs::read(format!("{DIR}/admissions.csv")).unwrap();
    let table = read_table(&bytes).unwrap();
    let opts = TrainOptions {
        target: target.into(),
        task: None,
        params: Params {
            n_trees: 20,
            max_depth: Some(8),
            seed: 7,
            ..Params::default()
        },
        test_fraction: 0.25,
        // The split and columns the fixtures were made with: rows at random, patients on both
        // sides, the patient column a feature (before group-like columns were found).
        stratify: false,
        columns: Columns {
            keep: vec!["patient".into()],
            group: Group::None,
            ..Columns::default()
        },
    };
    let prep = prepare(&table, &opts).unwrap();
    let mut model = pipeline::train(&prep, &opts.params, &|| {}).unwrap();
    let eval = evaluate(&model, &prep.test);
    model.evaluation = Some(eval.held_out(&prep.split_rule(opts.params.seed)));
    model
}

#[test]
fn a_classifier_and_a_regressor_trained_from_a_spreadsheet_export_are_byte_identical() {
    for (target, task) in [
        ("readmitted", Task::Classification),
        ("los", Task::Regression),
    ] {
        let mut model = train(target);
        assert_eq!(model.task(), task);
        // Less what models have kept since (the training rows per class, the held-out
        // figures for rare outcomes, the node covers): the old reader's models did not have
        // them.
        model.class_counts.clear();
        model.forest.covers.clear();
        model.split = None;
        let held_out = model.evaluation.as_mut().unwrap();
        (held_out.quality, held_out.confusion) = (None, None);
        let saved = std::fs::read_to_string(format!("{DIR}/admissions-{target}.json")).unwrap();
        assert!(
            model.to_saved_json().unwrap() == saved,
            "the model trained on {target} differs from the committed one"
        );
    }
}

/// The committed readmission model and the file it was trained on.
fn committed_model_and_file() -> (Model, gpuforest::data::Table) {
    let model = Model::from_json(
        &std::fs::read_to_string(format!("{DIR}/admissions-readmitted.json")).unwrap(),
    )
    .unwrap();
    let table = read_table(&std::fs::read(format!("{DIR}/admissions.csv")).unwrap()).unwrap();
    (model, table)
}

#[test]
fn predictions_with_their_zero_padded_ids_are_byte_identical() {
    let (model, table) = committed_model_and_file();
    let p = model.predict_x(&model.features_of(&table).unwrap());
    // The ID column as the old reader wrote it (the committed file predates the split and
    // actual columns, tested in tests/cli.rs).
    let reader = model.reader();
    let notes = gpuforest::model::RowNotes {
        ids: reader.ids_of(&table).map(|(n, v)| (n.to_string(), v)),
        ..Default::default()
    };
    let csv = reader.predictions_csv(&p, &notes);
    let saved =
        std::fs::read_to_string(format!("{DIR}/admissions-readmitted-predictions.csv")).unwrap();
    assert!(
        csv == saved,
        "the predictions differ from the committed ones"
    );
    assert!(csv.lines().nth(1).unwrap().starts_with("1,000000,"));
}

#[test]
fn a_row_to_explain_is_found_by_its_id_and_shown_as_the_file_writes_it() {
    let (model, table) = committed_model_and_file();
    let reader = model.reader();
    assert_eq!(reader.find_id(&table, "000001"), Some(1));
    assert_eq!(reader.find_id(&table, "no such admission"), None);
    let names = model.schema.feature_names();
    let cells = reader.cells_of(&table, 1);
    assert_eq!(cells.len(), names.len());
    let cell = |name: &str| cells[names.iter().position(|n| n == name).unwrap()].as_str();
    // Categories as written, not their codes; numbers as the file writes them.
    assert_eq!((cell("ward"), cell("creatinine")), ("cardiology", "0,64"));
}

#[test]
fn the_first_held_out_row_is_named_by_its_row_in_the_file() {
    let table = read_table(&std::fs::read(format!("{DIR}/admissions.csv")).unwrap()).unwrap();
    let opts = TrainOptions {
        target: "readmitted".into(),
        task: None,
        params: Params::default(),
        test_fraction: 0.25,
        stratify: true,
        columns: Columns::default(),
    };
    let prep = prepare(&table, &opts).unwrap();
    let first = prep.first_test_row.unwrap();
    let x = prep.schema.encode_features(&table, &[first]).unwrap();
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&x), bits(prep.test.row(0)));
}

//! The model: a flat forest with its schema, training settings and figures. Above both the
//! forest's training ([`crate::forest`]) and ONNX ([`crate::onnx`]), which know nothing of it.
//! The file it is saved as is [`file`]'s; how it reads rows and writes predictions, [`rows`]'.

pub mod arrays;
pub mod file;
pub mod rows;

pub use file::{FORMAT, VERSION};
pub use rows::{Predictions, Reader, RowNotes, Side, SplitRule};

use crate::data::{Schema, Table, Task};
use crate::error::Result;
use crate::flat::FlatForest;
use crate::forest::{GrownForest, Params};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub format: String,
    pub version: u32,
    pub schema: Schema,
    pub params: Params,
    pub forest: FlatForest,
    pub importances: Vec<f64>,
    pub oob_score: Option<f64>,
    pub train_rows: usize,
    /// The scores on the rows held out when the model was trained, so that a loaded model
    /// still shows them. Absent from files written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<HeldOut>,
    /// Training rows per class (classification), in class order: the majority class that a
    /// baseline always answers. Absent from older files and imported models.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_counts: Vec<usize>,
    /// ID-like columns left out of training: predictions carry the first one the scored file
    /// has, so they join back to its rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_columns: Vec<String>,
    /// Set when the forest was read from another tool's file (ONNX): it has no column names,
    /// so a CSV's columns are taken in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<crate::onnx::Origin>,
    /// Two classes: class 1 is predicted when its probability is at or above this (chosen on
    /// the held-out rows' curve); absent, the more probable class. The probabilities do not
    /// change with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// How the training file's rows were split (see [`SplitRule`]). Absent from older files
    /// and imported models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitRule>,
}

/// A model's scores on the rows held out from its training, and how they were held out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_r2: Option<f64>,
    pub test_rows: usize,
    /// The share of usable rows held out.
    pub test_fraction: f64,
    /// The seed of the shuffle that split the rows (the forest's seed).
    pub seed: u64,
    /// Each class was held out in its share of the rows. Absent (false) from older files.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stratified: bool,
    /// The column whose rows were held out together (a patient's, say): no value of it is on
    /// both sides. Absent from older files and splits without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The figures for rare outcomes (baseline, balanced accuracy, per-class sensitivity and
    /// specificity, AUC; R², MAE, RMSE). Absent from files written before they existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<crate::forest::quality::Quality>,
    /// `confusion[truth][predicted]` over the held-out rows (classification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confusion: Option<Vec<Vec<usize>>>,
}

impl Model {
    pub fn new(
        schema: Schema,
        params: Params,
        forest: &GrownForest,
        oob_score: Option<f64>,
        train_rows: usize,
    ) -> Model {
        let n_outputs = match forest.task {
            Task::Classification => forest.n_classes,
            Task::Regression => 1,
        };
        Model {
            format: FORMAT.into(),
            version: VERSION,
            schema,
            params,
            forest: crate::forest::flatten(&forest.trees, forest.n_features, n_outputs),
            importances: forest.importances(),
            oob_score,
            train_rows,
            evaluation: None,
            class_counts: Vec::new(),
            id_columns: Vec::new(),
            imported: None,
            threshold: None,
            split: None,
        }
    }

    /// A model from a forest already flattened (merged from workers' shards).
    pub fn from_parts(
        schema: Schema,
        params: Params,
        forest: FlatForest,
        importances: Vec<f64>,
        oob_score: Option<f64>,
        train_rows: usize,
    ) -> Model {
        Model {
            format: FORMAT.into(),
            version: VERSION,
            schema,
            params,
            forest,
            importances,
            oob_score,
            train_rows,
            evaluation: None,
            class_counts: Vec::new(),
            id_columns: Vec::new(),
            imported: None,
            threshold: None,
            split: None,
        }
    }

    /// One line on what an imported model is (kind, trees, features, classes), or `None` for
    /// this program's own.
    pub fn imported_summary(&self) -> Option<String> {
        let i = self.imported.as_ref()?;
        let what = match self.task() {
            Task::Classification => format!(
                "{} classes ({})",
                self.schema.classes.len(),
                self.schema
                    .classes
                    .iter()
                    .take(8)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Task::Regression => "regression".to_string(),
        };
        Some(format!(
            "ONNX {} from {}: {} trees, {} features, {what}",
            i.op,
            i.producer,
            self.forest.n_trees(),
            self.forest.n_features
        ))
    }

    pub fn task(&self) -> Task {
        self.schema.task
    }

    /// Sets the decision threshold (see [`Self::threshold`]): two classes only, a probability
    /// in [0, 1]; `None` goes back to the more probable class.
    pub fn set_threshold(&mut self, t: Option<f64>) -> Result<()> {
        if let Some(t) = t {
            if self.task() != Task::Classification || self.schema.classes.len() != 2 {
                return Err(crate::error::Error::InvalidParam(format!(
                    "a decision threshold needs two classes; this model has {}",
                    match self.task() {
                        Task::Classification => format!("{}", self.schema.classes.len()),
                        Task::Regression => "none (regression)".into(),
                    }
                )));
            }
            if !(0.0..=1.0).contains(&t) {
                return Err(crate::error::Error::InvalidParam(format!(
                    "decision threshold {t}: a probability, from 0 to 1"
                )));
            }
        }
        self.threshold = t;
        Ok(())
    }

    /// The class a baseline always answers: the training rows' most frequent (the first of
    /// equally frequent ones), or `None` when the model does not know its training rows.
    pub fn majority_class(&self) -> Option<u32> {
        (!self.class_counts.is_empty()).then(|| crate::forest::argmax(&self.class_counts) as u32)
    }

    /// How this model reads rows and writes predictions, apart from its trees.
    pub fn reader(&self) -> Reader {
        Reader {
            schema: self.schema.clone(),
            by_position: self.imported.is_some(),
            id_columns: self.id_columns.clone(),
            threshold: self.threshold,
            split: self.split.clone(),
        }
    }

    /// Encodes every row of `table` as [`Reader::features_of`].
    pub fn features_of(&self, table: &Table) -> Result<Vec<f32>> {
        self.reader().features_of(table)
    }

    /// Predicts already-encoded rows on the CPU (all cores natively).
    pub fn predict_x(&self, x: &[f32]) -> Predictions {
        Predictions {
            outputs: self.forest.predict(x),
            n_outputs: self.forest.n_outputs as usize,
        }
    }
}

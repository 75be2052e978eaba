//! How a model reads a table's rows and writes its predictions out, apart from its trees.

use crate::data::{Schema, Table, Task};
use crate::error::{Error, Result};
use crate::forest::argmax;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Predictions for a batch of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// `n_rows` x `n_outputs`: class probabilities, or the regression value.
    pub outputs: Vec<f32>,
    pub n_outputs: usize,
}

impl Predictions {
    pub fn n_rows(&self) -> usize {
        self.outputs.len() / self.n_outputs.max(1)
    }
    /// The predicted class per row (classification), as [`label_of`].
    pub fn labels(&self, threshold: Option<f64>) -> Vec<u32> {
        self.outputs
            .chunks_exact(self.n_outputs)
            .map(|p| label_of(p, threshold) as u32)
            .collect()
    }
}

/// The class that a row's probabilities `p` predict: of two classes with a `threshold`, class
/// 1 when its probability is at or above it (scikit-learn's `FixedThresholdClassifier`);
/// otherwise the most probable, the first of equally probable ones. The probabilities are
/// the same bits on CPU and GPU, so are the labels.
pub fn label_of(p: &[f32], threshold: Option<f64>) -> usize {
    match (p, threshold) {
        ([_, one], Some(t)) => usize::from(f64::from(*one) >= t),
        _ => argmax(p),
    }
}

/// What a model needs to read a table's rows and to write its predictions out: its schema,
/// whether it takes columns by position (an imported model names none), and the ID columns
/// that label its predictions. The page's data worker holds one, not the trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reader {
    pub schema: Schema,
    pub by_position: bool,
    pub id_columns: Vec<String>,
    /// The model's decision threshold (two classes), as [`label_of`] reads it.
    #[serde(default)]
    pub threshold: Option<f64>,
    /// How the model's training rows were split, to tell them apart in a file of predictions.
    #[serde(default)]
    pub split: Option<SplitRule>,
}

/// How the file a model trained on was split, enough to split it again: a file of
/// predictions then says which of its rows trained, which were held out, and which are new.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitRule {
    /// The seed of the shuffle (the forest's).
    pub seed: u64,
    pub test_fraction: f64,
    pub stratified: bool,
    /// The column whose rows were held out together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Of every cell of the training file (`pipeline::fingerprint`): a row is "train" or
    /// "test" only in the very file the model was trained on.
    pub fingerprint: String,
}

/// A scored row's side of the model's training split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Train,
    Test,
    /// Not a row the model trained or was tested on (another file, or no target value).
    New,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Train => "train",
            Side::Test => "test",
            Side::New => "new",
        }
    }
}

/// What a file of predictions says of each row beside the prediction (each `None` when the
/// rows do not tell it).
#[derive(Debug, Default)]
pub struct RowNotes<'t> {
    /// The ID column's name and values.
    pub ids: Option<(String, Vec<Cow<'t, str>>)>,
    /// The target column's text, when the scored file has it.
    pub actual: Option<Vec<Cow<'t, str>>>,
    pub sides: Option<Vec<Side>>,
}

impl Reader {
    fn task(&self) -> Task {
        self.schema.task
    }

    /// Encodes every row of `table` with the model's schema (the target may be absent). An
    /// imported model's features are the table's columns in order, as many as it reads.
    pub fn features_of(&self, table: &Table) -> Result<Vec<f32>> {
        let rows: Vec<usize> = (0..table.n_rows()).collect();
        if !self.by_position {
            return self.schema.encode_features(table, &rows);
        }
        let n = self.schema.n_features();
        if table.headers.len() != n {
            return Err(Error::BadModel(format!(
                "this ONNX model reads {n} features and names none, so the CSV's columns are \
                 taken in order; the CSV has {} columns ({}), not {n}",
                table.headers.len(),
                table
                    .headers
                    .iter()
                    .take(6)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            )));
        }
        let mut by_position = self.schema.clone();
        for (f, h) in by_position.features.iter_mut().zip(&table.headers) {
            f.name = h.clone();
        }
        by_position.encode_features(table, &rows)
    }

    /// The first of [`Self::id_columns`] that `table` has, as (name, value per row).
    pub fn ids_of<'t>(&self, table: &'t Table) -> Option<(&str, Vec<Cow<'t, str>>)> {
        self.id_columns.iter().find_map(|name| {
            let c = table.column_index(name)?;
            Some((
                name.as_str(),
                (0..table.n_rows())
                    .map(|i| table.cell(i, c).text())
                    .collect(),
            ))
        })
    }

    /// Row `r` of `table` as the file has it, one text per feature (by name, or by position for
    /// an imported model).
    pub fn cells_of(&self, table: &Table, r: usize) -> Vec<String> {
        let column = |j: usize, name: &str| {
            if self.by_position {
                Some(j)
            } else {
                table.column_index(name)
            }
        };
        self.schema
            .features
            .iter()
            .enumerate()
            .map(|(j, f)| match column(j, &f.name) {
                Some(c) if c < table.headers.len() => table.cell(r, c).text().into_owned(),
                _ => String::new(),
            })
            .collect()
    }

    /// The first row of `table` whose ID column ([`Self::ids_of`]) reads `id`.
    pub fn find_id(&self, table: &Table, id: &str) -> Option<usize> {
        let (_, ids) = self.ids_of(table)?;
        ids.iter().position(|v| v == id)
    }

    /// Predictions as CSV: `row` (the data row number in the scored file), the ID column when
    /// there is one, `split` (train, test or new) when the model knows its split, `actual`
    /// (the target as the file has it) when the file has the target, `prediction`, then
    /// `proba_<class>` for classifiers.
    pub fn predictions_csv(&self, p: &Predictions, notes: &RowNotes) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["row".to_string()];
        header.extend(notes.ids.as_ref().map(|(name, _)| name.to_string()));
        header.extend(notes.sides.as_ref().map(|_| "split".to_string()));
        header.extend(notes.actual.as_ref().map(|_| "actual".to_string()));
        header.push("prediction".to_string());
        if self.task() == Task::Classification {
            header.extend(self.schema.classes.iter().map(|c| format!("proba_{c}")));
        }
        w.write_record(&header).expect("writing to memory");
        let text = |v: Option<&Cow<str>>| v.map_or_else(String::new, |v| v.to_string());
        for (i, row) in p.outputs.chunks_exact(p.n_outputs).enumerate() {
            let mut rec = Vec::with_capacity(row.len() + 5);
            rec.push((i + 1).to_string());
            if let Some((_, values)) = &notes.ids {
                rec.push(text(values.get(i)));
            }
            if let Some(sides) = &notes.sides {
                rec.push(sides.get(i).map_or("new", |s| s.name()).to_string());
            }
            if let Some(actual) = &notes.actual {
                rec.push(text(actual.get(i)));
            }
            match self.task() {
                Task::Classification => {
                    rec.push(self.schema.classes[label_of(row, self.threshold)].clone());
                    rec.extend(row.iter().map(|v| v.to_string()));
                }
                Task::Regression => rec.push(row[0].to_string()),
            }
            w.write_record(&rec).expect("writing to memory");
        }
        String::from_utf8(w.into_inner().expect("flush to memory")).expect("CSV of UTF-8 text")
    }

    /// The names of the outputs: the classes, or the target (regression).
    pub fn output_names(&self) -> Vec<String> {
        match self.task() {
            Task::Classification => self.schema.classes.clone(),
            Task::Regression => vec![self.schema.target.clone()],
        }
    }

    /// Explanations as CSV: `row`, the ID column when there is one, then per output
    /// `expected_<output>` and each feature's contribution (named `<feature>`, or
    /// `<feature>_<output>` where there are several outputs).
    pub fn explanation_csv(
        &self,
        e: &crate::explain::Explanation,
        ids: Option<(&str, Vec<Cow<str>>)>,
    ) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let outputs = self.output_names();
        let features = self.schema.feature_names();
        let mut header = vec!["row".to_string()];
        header.extend(ids.as_ref().map(|(name, _)| name.to_string()));
        for o in outputs.iter().take(e.n_outputs) {
            header.push(format!("expected_{o}"));
            header.extend(features.iter().map(|f| {
                if e.n_outputs > 1 {
                    format!("{f}_{o}")
                } else {
                    f.clone()
                }
            }));
        }
        w.write_record(&header).expect("writing to memory");
        for r in 0..e.n_rows {
            let mut rec = vec![(r + 1).to_string()];
            if let Some((_, values)) = &ids {
                rec.push(values.get(r).map_or_else(String::new, |v| v.to_string()));
            }
            for k in 0..e.n_outputs {
                rec.push(e.expected[k].to_string());
                rec.extend(e.row(r, k).iter().map(|v| v.to_string()));
            }
            w.write_record(&rec).expect("writing to memory");
        }
        String::from_utf8(w.into_inner().expect("flush to memory")).expect("CSV of UTF-8 text")
    }
}

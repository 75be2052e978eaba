//! The saved model: a versioned JSON document (serde).
//!
//! ```text
//! {
//!   "format": "gpuforest-model",   // identifies the file
//!   "version": 2,                  // bumped on any incompatible change (1 is converted on load)
//!   "schema": { "target", "task", "features": [{ "name", "kind", "categories"? }], "classes" },
//!   "params": { ...hyper-parameters used... },
//!   "forest": { "n_features", "n_outputs", "roots", "threshold", "far", "feature",
//!               "missing_left", "leaf_values" },  // the flat layout of src/flat.rs, an array a field
//!   "importances": [...], "oob_score": 0.95 | null, "train_rows": 1234
//! }
//! ```

use crate::data::{Schema, Table, Task};
use crate::error::{Error, Result};
use crate::flat::FlatForest;
use crate::forest::{Forest, Params, argmax};
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "gpuforest-model";
pub const VERSION: u32 = 2;

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
    /// ID-like columns left out of training: predictions carry the first one the scored file
    /// has, so they join back to its rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_columns: Vec<String>,
    /// Set when the forest was read from another tool's file (ONNX): it has no column names,
    /// so a CSV's columns are taken in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<crate::onnx::Imported>,
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
}

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
    /// Most probable class per row (classification).
    pub fn labels(&self) -> Vec<u32> {
        self.outputs
            .chunks_exact(self.n_outputs)
            .map(|p| argmax(p) as u32)
            .collect()
    }
}

impl Model {
    pub fn new(
        schema: Schema,
        params: Params,
        forest: &Forest,
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
            forest: FlatForest::from_trees(&forest.trees, forest.n_features, n_outputs),
            importances: forest.importances(),
            oob_score,
            train_rows,
            evaluation: None,
            id_columns: Vec::new(),
            imported: None,
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
            id_columns: Vec::new(),
            imported: None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a model always serializes")
    }

    /// [`Self::to_json`], read back before it is handed out: a saved model always loads.
    pub fn to_saved_json(&self) -> Result<String> {
        let text = self.to_json();
        Model::from_json(&text).map_err(|e| {
            Error::BadModel(format!(
                "this model would not load back ({e}), so it was not saved"
            ))
        })?;
        Ok(text)
    }

    pub fn from_json(text: &str) -> Result<Model> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| Error::BadModel(format!("not JSON ({e})")))?;
        match v.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            _ => {
                return Err(Error::BadModel(format!(
                    "JSON without \"format\": \"{FORMAT}\": not a model of this program"
                )));
            }
        }
        let mut v = v;
        match v.get("version").and_then(|f| f.as_u64()) {
            Some(x) if x == u64::from(VERSION) => {}
            // Version 1 differs only in the forest's layout: convert it.
            Some(1) => {
                let old = v["forest"].take();
                let v1: crate::flat::wire::V1 = serde_json::from_value(old)
                    .map_err(|e| Error::BadModel(format!("version 1 forest: {e}")))?;
                let f = FlatForest::try_from(v1)
                    .map_err(|e| Error::BadModel(format!("version 1 forest: {e}")))?;
                v["forest"] = serde_json::to_value(f).expect("a forest always serializes");
                v["version"] = VERSION.into();
            }
            Some(x) => {
                return Err(Error::BadModel(format!(
                    "model format version {x}; this program reads version {VERSION}"
                )));
            }
            None => return Err(Error::BadModel("no format version".into())),
        }
        let m: Model = serde_json::from_value(v).map_err(|e| Error::BadModel(e.to_string()))?;
        let expect_out = match m.schema.task {
            Task::Classification => m.schema.classes.len(),
            Task::Regression => 1,
        };
        if m.forest.n_features as usize != m.schema.n_features()
            || m.forest.n_outputs as usize != expect_out
        {
            return Err(Error::BadModel(
                "the forest does not match the schema".into(),
            ));
        }
        Ok(m)
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        std::fs::write(path, self.to_saved_json()?)
            .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))
    }

    /// A model file: this program's JSON, or an ONNX tree ensemble.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first == Some(&b'{') {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| Error::BadModel("JSON that is not UTF-8 text".into()))?;
            return Model::from_json(text);
        }
        crate::onnx::import(bytes).map_err(|e| match e {
            Error::BadModel(m) if m.starts_with("not an ONNX model") => Error::BadModel(format!(
                "{m}; model files are this program's JSON or ONNX tree ensembles"
            )),
            e => e,
        })
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn load(path: &std::path::Path) -> Result<Model> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
        Model::from_bytes(&bytes)
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

    /// How this model reads rows and writes predictions, apart from its trees.
    pub fn reader(&self) -> Reader {
        Reader {
            schema: self.schema.clone(),
            by_position: self.imported.is_some(),
            id_columns: self.id_columns.clone(),
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

    /// Predictions as CSV, as [`Reader::predictions_csv`], with the ID column of `table`.
    pub fn predictions_csv(&self, p: &Predictions, table: &Table) -> String {
        let r = self.reader();
        r.predictions_csv(p, r.ids_of(table))
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
    pub fn ids_of<'t>(&self, table: &'t Table) -> Option<(&str, Vec<&'t str>)> {
        self.id_columns.iter().find_map(|name| {
            let c = table.column_index(name)?;
            Some((name.as_str(), table.rows.iter().map(|r| &r[c]).collect()))
        })
    }

    /// Predictions as CSV: `row` (the data row number in the scored file), the ID column when
    /// there is one, `prediction`, then `proba_<class>` for classifiers.
    pub fn predictions_csv(&self, p: &Predictions, ids: Option<(&str, Vec<&str>)>) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["row".to_string()];
        header.extend(ids.as_ref().map(|(name, _)| name.to_string()));
        header.push("prediction".to_string());
        if self.task() == Task::Classification {
            header.extend(self.schema.classes.iter().map(|c| format!("proba_{c}")));
        }
        w.write_record(&header).expect("writing to memory");
        for (i, row) in p.outputs.chunks_exact(p.n_outputs).enumerate() {
            let mut rec = Vec::with_capacity(row.len() + 3);
            rec.push((i + 1).to_string());
            if let Some((_, values)) = &ids {
                rec.push(values.get(i).copied().unwrap_or_default().to_string());
            }
            match self.task() {
                Task::Classification => {
                    rec.push(self.schema.classes[argmax(row)].clone());
                    rec.extend(row.iter().map(|v| v.to_string()));
                }
                Task::Regression => rec.push(row[0].to_string()),
            }
            w.write_record(&rec).expect("writing to memory");
        }
        String::from_utf8(w.into_inner().expect("flush to memory")).expect("CSV of UTF-8 text")
    }
}

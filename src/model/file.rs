//! The model file: a versioned JSON document (serde), version 1 converted on load, or an ONNX
//! tree ensemble read through [`crate::onnx`].
//!
//! ```text
//! {
//!   "format": "gpuforest-model",   // identifies the file
//!   "version": 2,                  // bumped on any incompatible change (1 is converted on load)
//!   "schema": { "target", "task", "features": [{ "name", "kind", "categories"? }], "classes" },
//!   "params": { ...hyper-parameters used... },
//!   "forest": { "n_features", "n_outputs", "roots", "threshold", "far", "feature",
//!               "missing_left", "leaf_values", "cover"? },  // the flat layout of src/flat.rs,
//!                                  // an array a field; "cover": each node's training weight
//!   "importances": [...], "oob_score": 0.95 | null, "train_rows": 1234
//! }
//! ```

use super::Model;
use crate::data::Task;
use crate::error::{Error, Result};
use crate::flat::FlatForest;

pub const FORMAT: &str = "gpuforest-model";
pub const VERSION: u32 = 2;

impl Model {
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
        let mut m = m;
        let threshold = m.threshold;
        m.set_threshold(threshold)
            .map_err(|e| Error::BadModel(format!("\"threshold\": {e}")))?;
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
        Model::from_onnx(bytes).map_err(|e| match e {
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

    /// The model in ONNX file `bytes`: its forest, a schema that names its inputs, and where
    /// it came from; no training figures.
    pub fn from_onnx(bytes: &[u8]) -> Result<Model> {
        let i = crate::onnx::import(bytes)?;
        let mut model = Model::from_parts(
            i.schema,
            crate::forest::Params::default(),
            i.forest,
            Vec::new(),
            None,
            0,
        );
        model.imported = Some(i.origin);
        Ok(model)
    }

    /// This model as an ONNX file (a forest trained here; an imported one's file is its own).
    pub fn to_onnx(&self) -> Result<Vec<u8>> {
        if self.imported.as_ref().is_some_and(|o| o.format == "onnx") {
            return Err(Error::InvalidParam(
                "this model was imported from ONNX: its own file is the ONNX model".into(),
            ));
        }
        crate::onnx::export(&self.schema, &self.forest)
    }
}

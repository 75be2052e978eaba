//! ONNX tree ensembles (`ai.onnx.ml`): import of the models that scikit-learn, XGBoost,
//! LightGBM and Spark converters write, scored by this program's CPU and GPU engines, and
//! export of this program's forests.

mod ensemble;
mod export;
mod import;
pub mod proto;

pub use ensemble::le;
pub use export::export;
pub use import::{Imported, MAX_FEATURES, MAX_NODES, MAX_OUTPUTS, Origin, import};

//! ONNX tree ensembles (`ai.onnx.ml`): import of the models that scikit-learn, XGBoost,
//! LightGBM and Spark converters write, scored by this program's CPU and GPU engines, and
//! export of this program's forests.

mod ensemble;
mod export;
mod import;
pub mod proto;

pub use export::export;
pub use import::{Imported, MAX_FEATURES, MAX_NODES, MAX_OUTPUTS, import};

/// Whether `bytes` look like an ONNX model rather than JSON (a model of this program) or text:
/// a protobuf starting with field 1 (`ir_version`, a varint) or 8 (`opset_import`) as ONNX
/// writers put first.
pub fn looks_like_onnx(bytes: &[u8]) -> bool {
    matches!(
        bytes.first(),
        Some(0x08) | Some(0x42) | Some(0x12) | Some(0x3a)
    )
}

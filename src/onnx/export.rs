//! Writing this program's forests as ONNX.

use crate::error::Result;
use crate::forest::Model;

pub fn export(_model: &Model) -> Result<Vec<u8>> {
    Err(crate::Error::BadModel("export is not written yet".into()))
}

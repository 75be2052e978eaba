//! gpuforest: a random forest that trains on the CPU and scores rows on the CPU or, through
//! WGSL compute shaders, on the GPU. The library holds all the logic; `src/bin/` has thin
//! entry points.

pub mod data;
pub mod error;
pub mod explain;
pub mod flat;
pub mod forest;
#[cfg(not(target_arch = "wasm32"))]
#[doc(hidden)]
pub mod fuzz;
pub mod gpu;
#[cfg(not(target_arch = "wasm32"))]
pub mod harness;
pub mod model;
pub mod onnx;
pub mod parallel;
pub mod pipeline;
pub mod protocol;
pub mod spoken;
pub mod tree_shards;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{Error, Result};

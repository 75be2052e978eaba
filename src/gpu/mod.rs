//! GPU scoring through wgpu: one module for the page (WebGPU) and the native harness (Vulkan).
mod context;
mod forest;
pub mod kernels;

pub use context::GpuContext;
pub use forest::{GpuForest, GpuRun, Kernel};

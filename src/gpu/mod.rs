//! GPU scoring through wgpu: one module for the page (WebGPU) and the native harness (Vulkan).
mod context;
mod forest;
pub mod kernels;

pub use context::GpuContext;
pub use forest::{GpuForest, GpuRun, Kernel, Phases, Resident, Tuning, Upload};
pub use kernels::Variant;

/// From this many rows on, `--device auto` scores on a (real) GPU: below it one submission's
/// fixed cost (0.15 ms end to end on the H100) is more than the CPU's time (0.016 ms a row on
/// one core there; BENCHMARKS.md).
pub const GPU_FROM_ROWS: usize = 16;

/// Milliseconds on a monotonic clock: `performance.now()` in the browser (page or worker).
pub(crate) fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Reflect::get(&js_sys::global(), &"performance".into())
            .ok()
            .and_then(|p| wasm_bindgen::JsCast::dyn_into::<web_sys::Performance>(p).ok())
            .map_or(0.0, |p| p.now())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::sync::OnceLock;
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64()
            * 1e3
    }
}

//! GPU scoring through wgpu: one module for the page (WebGPU) and the native harness (Vulkan).
mod context;
mod explain;
mod forest;
pub mod kernels;

pub use context::GpuContext;
pub use explain::GpuExplainer;
pub use forest::{GpuForest, GpuRun, Kernel, Phases, Resident, Tuning, Upload};
pub use kernels::Variant;

/// From this many rows on, `--device auto` scores on a (real) GPU. On the H100 one row took
/// 0.16 ms end to end on the GPU and 0.017 ms on one CPU core, 100 rows 0.155 and 3.3 ms
/// (BENCHMARKS.md): the crossover lies near 0.16 / 0.017, about 9 rows; 16 is that estimate
/// rounded up, not a measured point.
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

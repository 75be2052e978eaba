//! GPU scoring through wgpu: one module for the page (WebGPU) and the native harness (Vulkan).
mod context;
mod explain;
mod forest;
pub mod kernels;

pub use context::GpuContext;
pub use explain::GpuExplainer;
pub use forest::{GpuForest, GpuRun, Kernel, Phases, Resident, Tuning, Upload};
pub use kernels::Variant;

/// From this many rows on, `--device auto` scores on a (real) GPU. Measured on the H200 host
/// (BENCHMARKS.md, "Small batches: the harness planned once..."), 200 trees of depth 12: 10 rows
/// took 0.045-0.065 ms on 16 CPU threads and 0.124-0.137 on the GPU, 100 rows 0.203-0.214
/// against 0.125-0.138; a straight line between those points crosses near 57 rows (no size
/// between them measured). Only that forest was measured.
pub const GPU_FROM_ROWS: usize = 64;

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

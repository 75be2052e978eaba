//! The page (Leptos, client-side rendered) and its web workers. Compiled for wasm32 only.
//!
//! The page's thread only draws and coordinates: trees grow in workers (`pool`), CPU scoring
//! runs in workers too, and the data worker holds the rows and the GPU (`rows`, `gpu_side`).

mod app;
mod bench;
mod charts;
mod files;
mod gpu_side;
mod load;
mod messages;
mod pool;
mod race;
mod rows;
mod score;
mod state;
mod train;
pub mod worker;

/// Most f32 values (256 MB) of generated rows the page takes. Its memory (wasm32, 4 GiB at
/// most) holds the rows several times over: more is refused up front, not died of mid-run.
const MAX_VALUES: usize = 64 << 20;

/// Sends panics to the console (where tests and developers look) instead of an opaque trap.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("panic: {info}").into());
    }));
}

/// Mounts the app on the page's body.
pub fn start_page() {
    log_panics();
    leptos::mount::mount_to_body(app::App);
}

/// Milliseconds from the page's or worker's clock.
fn now_ms() -> f64 {
    crate::gpu::now_ms()
}

/// Resolves after `ms` milliseconds on the page (a timer: its thread is free meanwhile).
async fn sleep_ms(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Outputs whose bits differ (a length difference counts each missing output).
fn bits_differ(a: &[f32], b: &[f32]) -> usize {
    a.iter()
        .zip(b)
        .filter(|(x, y)| x.to_bits() != y.to_bits())
        .count()
        + a.len().abs_diff(b.len())
}

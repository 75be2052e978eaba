//! What the page and its workers both use: the clock, a timer, panics to the console, and the
//! two measures every figure goes through (medians, bits that differ).

/// Sends panics to the console (where tests and developers look) instead of an opaque trap.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("panic: {info}").into());
    }));
}

/// Milliseconds from the page's or worker's clock.
pub fn now_ms() -> f64 {
    crate::gpu::now_ms()
}

/// Resolves after `ms` milliseconds on the page (a timer: its thread is free meanwhile).
pub async fn sleep_ms(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Outputs whose bits differ (a length difference counts each missing output).
pub fn bits_differ(a: &[f32], b: &[f32]) -> usize {
    a.iter()
        .zip(b)
        .filter(|(x, y)| x.to_bits() != y.to_bits())
        .count()
        + a.len().abs_diff(b.len())
}

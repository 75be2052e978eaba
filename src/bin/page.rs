//! The page's entry point (wasm32, built by trunk), and its workers': one wasm module for both.
//! The page starts each worker from `assets/worker.js` on this same module, so `main` runs there
//! too and tells the two apart by the window. The logic lives in `gpuforest::web`.

#[cfg(target_arch = "wasm32")]
fn main() {
    if web_sys::window().is_some() {
        gpuforest::web::start_page();
    } else {
        gpuforest::web::workers::start();
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the page is built for wasm32 by trunk: run scripts/run.sh");
    std::process::exit(2);
}

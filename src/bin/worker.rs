//! The web worker's entry point (wasm32, built by trunk): grows trees and scores rows on the
//! CPU off the page's thread. The logic lives in `gpuforest::web::worker`.

#[cfg(target_arch = "wasm32")]
fn main() {
    gpuforest::web::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the worker runs in the browser: run scripts/run.sh");
    std::process::exit(2);
}

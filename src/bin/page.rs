//! The page's entry point (wasm32, built by trunk); the app lives in `gpuforest::web`.

#[cfg(target_arch = "wasm32")]
fn main() {
    gpuforest::web::start_page();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the page is built for wasm32 by trunk: run scripts/run.sh");
    std::process::exit(2);
}

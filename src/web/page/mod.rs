//! The page's thread: it draws and coordinates. Trees grow and rows score in workers, which it
//! reaches through [`super::services`] only.

mod app;
mod bench_link;
mod charts;
mod explain;
mod files;
mod form;
mod gpu;
mod load;
mod model;
mod quality;
mod race;
mod scoring;
mod state;
mod training;

/// Mounts the app on the page's body.
pub fn start_page() {
    super::common::log_panics();
    leptos::mount::mount_to_body(app::App);
}

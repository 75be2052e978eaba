//! Benchmark mode, from the URL (`?bench&rows=1000000&trees=200&depth=12&features=32`):
//! generate, train, sweep, with no clicking; one JSON line per measurement on the console.

use super::state::Ui;

pub fn start_if_asked(_ui: Ui) {}

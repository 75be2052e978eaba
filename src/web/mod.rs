//! The page (Leptos, client-side rendered) and its web workers, one wasm module. Compiled for
//! wasm32 only; what they say to each other is [`crate::protocol`], compiled natively too.
//!
//! ```text
//! page/      components, charts, the race, and the load, train and score flows
//! services/  the workers as the page sees them: started, asked, cancelled (pool, data worker)
//! transport  a protocol message as JS arrays (buffers transferred or shared)
//! workers/   each worker's side: the data worker (rows, GPU), training, scoring
//! common     the clock, a timer, panics to the console, medians and bit comparison
//! ```
//! `page` uses `services`; `services` and `workers` use `transport` and the protocol; nothing
//! uses `page`, and `workers` imports nothing of the page's.

mod common;
mod page;
mod services;
mod transport;
pub mod workers;

pub use page::start_page;

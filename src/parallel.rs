//! Data parallelism behind one small `cfg`: rayon natively, a plain loop on wasm (where the
//! page spreads work over web workers instead).

/// `(0..n).map(f)`, in parallel where threads exist; results keep their order.
#[cfg(not(target_arch = "wasm32"))]
pub fn map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    use rayon::prelude::*;
    (0..n).into_par_iter().map(f).collect()
}

#[cfg(target_arch = "wasm32")]
pub fn map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    (0..n).map(f).collect()
}

/// Runs `f` on consecutive chunks of `out` (each `chunk` long but the last), in parallel.
#[cfg(not(target_arch = "wasm32"))]
pub fn for_chunks<T: Send>(out: &mut [T], chunk: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    use rayon::prelude::*;
    out.par_chunks_mut(chunk.max(1))
        .enumerate()
        .for_each(|(i, c)| f(i, c));
}

#[cfg(target_arch = "wasm32")]
pub fn for_chunks<T: Send>(out: &mut [T], chunk: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    out.chunks_mut(chunk.max(1))
        .enumerate()
        .for_each(|(i, c)| f(i, c));
}

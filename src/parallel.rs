//! Data parallelism behind one small `cfg`: rayon natively, a plain loop on wasm (where the
//! page spreads work over web workers instead).

/// `(0..n).map(f)`, in parallel where threads exist; results keep their order.
#[cfg(not(target_arch = "wasm32"))]
pub fn map<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    use rayon::prelude::*;
    (0..n).into_par_iter().map(f).collect()
}

/// On wasm `f` need not be `Sync`: it runs on this thread (it may hold the page's objects).
#[cfg(target_arch = "wasm32")]
pub fn map<T>(n: usize, f: impl Fn(usize) -> T) -> Vec<T> {
    (0..n).map(f).collect()
}

/// Threads that [`map`] and [`for_chunks`] spread work over.
#[cfg(not(target_arch = "wasm32"))]
pub fn threads() -> usize {
    rayon::current_num_threads()
}

#[cfg(target_arch = "wasm32")]
pub fn threads() -> usize {
    1
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

/// Copies `src` into write-only mapped GPU memory, on all cores when it is large (one core
/// moves about 10 GB/s; a million 32-feature rows are 128 MB).
#[cfg(not(target_arch = "wasm32"))]
pub fn copy_into(mut dst: wgpu::WriteOnly<'_, [u8]>, src: &[u8]) {
    const PIECE: usize = 4 << 20;
    if src.len() <= PIECE {
        dst.copy_from_slice(src);
        return;
    }
    /// A disjoint piece of the mapping, written by one thread only.
    struct Piece<'a>(wgpu::WriteOnly<'a, [u8]>);
    // SAFETY: each piece is an exclusive view of its own bytes, like a `&mut [u8]` (which is
    // Send); `WriteOnly` is Send only for sized targets.
    unsafe impl Send for Piece<'_> {}
    let mut pieces = Vec::new();
    let mut rest = dst;
    for s in src.chunks(PIECE) {
        let (head, tail) = rest.split_at(s.len());
        pieces.push((Piece(head), s));
        rest = tail;
    }
    rayon::scope(|scope| {
        for (d, s) in pieces {
            scope.spawn(move |_| {
                let mut piece = d;
                piece.0.copy_from_slice(s)
            });
        }
    });
}

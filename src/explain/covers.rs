//! Covers counted from rows, for forests that came without them (ONNX imports, older files):
//! each node's cover is the number of the rows given that pass through it, as the `shap`
//! package recounts a tree's node weights when it is handed data. Rows take the scoring walk's
//! paths (missing values included).

use crate::flat::FlatForest;

/// Per node of `forest`, how many rows of `x` (row-major, `n_features` wide) reach it.
pub fn covers_from_rows(forest: &FlatForest, x: &[f32]) -> Vec<f32> {
    let nf = forest.n_features.max(1) as usize;
    let n_nodes = forest.n_nodes();
    let per_tree = crate::parallel::map(forest.n_trees(), |t| {
        let start = forest.roots[t] as usize;
        let end = forest.roots.get(t + 1).map_or(n_nodes, |&r| r as usize);
        let mut counts = vec![0u64; end - start];
        for row in x.chunks_exact(nf) {
            let mut i = start;
            loop {
                counts[i - start] += 1;
                let n = forest.node(i);
                if n.is_leaf() {
                    break;
                }
                i = n.step(i, row);
            }
        }
        (start, counts)
    });
    let mut covers = vec![0.0f32; n_nodes];
    for (start, counts) in per_tree {
        for (c, n) in covers[start..].iter_mut().zip(counts) {
            *c = n as f32;
        }
    }
    covers
}

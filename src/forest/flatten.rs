//! Grown trees into the flat layout ([`crate::flat`]): each tree in pre-order, the near child
//! next, the far one `far` nodes on. Training's trees are the only thing that knows both
//! sides, so this lives with them and the layout knows nothing of training.

use super::tree::{Tree, TreeNode};
use crate::flat::{Builder, FlatForest};

/// `trees` as one flat forest of `n_outputs` numbers a row (this program's own head).
pub fn flatten(trees: &[Tree], n_features: usize, n_outputs: usize) -> FlatForest {
    let mut b = Builder::new(n_features, n_outputs);
    for tree in trees {
        b.start_tree();
        // (tree node, the split whose far child it is)
        let mut stack: Vec<(usize, Option<usize>)> = vec![(0, None)];
        while let Some((i, parent)) = stack.pop() {
            if let Some(p) = parent {
                b.set_far(p);
            }
            let cover = tree.covers.get(i).copied();
            match tree.nodes[i] {
                TreeNode::Leaf { offset } => {
                    let o = offset as usize;
                    b.leaf(&tree.values[o..o + n_outputs]);
                    if let Some(c) = cover {
                        b.cover(c);
                    }
                }
                TreeNode::Split {
                    feature,
                    threshold,
                    missing_left,
                    left,
                    right,
                } => {
                    let at = b.split(feature, threshold, missing_left);
                    if let Some(c) = cover {
                        b.cover(c);
                    }
                    stack.push((right as usize, Some(at)));
                    stack.push((left as usize, None));
                }
            }
        }
    }
    b.finish()
}

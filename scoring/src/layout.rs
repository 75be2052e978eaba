//! The flat node layout's bits, written once: its constants, packing and unpacking a node, and
//! the validator whose guarantees the unchecked walk ([`crate::walk`]) relies on. The WGSL
//! kernels' node decoders and lane count are generated from these same constants
//! ([`wgsl_tokens`]), so a changed constant changes every engine. The layout's rules in words
//! are `gpuforest::flat`'s module doc.

/// Fixed groups of trees whose sums are added in order: tree `t` in lane `t % LANES`, each lane
/// in tree order, then the lanes in order (the layout's reduction rule, the GPU's too).
pub const LANES: usize = 16;

/// A narrow (8-byte) node is `[value, far | feature << FEATURE_SHIFT | missing_left <<
/// MISSING_SHIFT]`: the far offset's bits, then the feature's, then the missing-value flag.
pub const FAR_BITS: u32 = 16;
pub const FEATURE_BITS: u32 = 15;
pub const FAR_MASK: u32 = (1 << FAR_BITS) - 1;
pub const FEATURE_SHIFT: u32 = FAR_BITS;
pub const FEATURE_MASK: u32 = (1 << FEATURE_BITS) - 1;
pub const MISSING_SHIFT: u32 = FEATURE_SHIFT + FEATURE_BITS;
/// `flags` bit of a wide (16-byte) node, `[value, far, feature, flags]`: missing values go left.
pub const MISSING_LEFT: u32 = 1;

// The vector walk reads a narrow node's flag as the word's sign (an arithmetic shift by 31):
// the fields must fill the word exactly.
const _: () = assert!(MISSING_SHIFT == 31);

/// One node, unpacked (what the packed forms encode).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeSpec {
    /// Threshold bits (split), value bits or leaf-vector offset (leaf).
    pub value: u32,
    /// Distance to the far child; 0 for a leaf.
    pub far: u32,
    pub feature: u32,
    pub missing_left: bool,
}

impl NodeSpec {
    pub fn is_leaf(&self) -> bool {
        self.far == 0
    }

    pub fn threshold(&self) -> f32 {
        f32::from_bits(self.value)
    }

    /// Whether a narrow node holds it (a leaf's feature is not stored).
    pub fn fits_narrow(&self) -> bool {
        self.far <= FAR_MASK && (self.is_leaf() || self.feature <= FEATURE_MASK)
    }

    /// The node after split `i` for `row`: the CPU's threshold rule, written once.
    #[inline(always)]
    pub fn step(&self, i: usize, row: &[f32]) -> usize {
        let x = row[self.feature as usize];
        let left = if x.is_nan() {
            self.missing_left
        } else {
            x <= self.threshold()
        };
        i + if left { 1 } else { self.far as usize }
    }
}

/// Words a node takes: 2 (narrow) or 4 (wide).
pub const fn node_words(wide: bool) -> usize {
    if wide { 4 } else { 2 }
}

/// The second word of a narrow node.
#[inline(always)]
pub fn pack_narrow(far: u32, feature: u32, missing_left: bool) -> u32 {
    far | feature << FEATURE_SHIFT | u32::from(missing_left) << MISSING_SHIFT
}

/// `(far, feature, missing_left)` of a narrow node's second word.
#[inline(always)]
pub fn unpack_narrow(m: u32) -> (u32, u32, bool) {
    (
        m & FAR_MASK,
        (m >> FEATURE_SHIFT) & FEATURE_MASK,
        m >> MISSING_SHIFT != 0,
    )
}

/// Appends node `n`, packed narrow or wide. A narrow node must [fit](NodeSpec::fits_narrow).
pub fn pack(n: &NodeSpec, wide: bool, out: &mut Vec<u32>) {
    if wide {
        out.extend([
            n.value,
            n.far,
            n.feature,
            if n.missing_left { MISSING_LEFT } else { 0 },
        ]);
    } else if n.is_leaf() {
        out.extend([n.value, 0]);
    } else {
        out.extend([n.value, pack_narrow(n.far, n.feature, n.missing_left)]);
    }
}

/// The node at `i` of packed `nodes`.
#[inline(always)]
pub fn decode<const WIDE: bool>(nodes: &[u32], i: usize) -> NodeSpec {
    if WIDE {
        let w = &nodes[i * 4..i * 4 + 4];
        NodeSpec {
            value: w[0],
            far: w[1],
            feature: w[2],
            missing_left: w[3] & MISSING_LEFT != 0,
        }
    } else {
        let (value, m) = (nodes[i * 2], nodes[i * 2 + 1]);
        let (far, feature, missing_left) = unpack_narrow(m);
        NodeSpec {
            value,
            far,
            feature,
            missing_left,
        }
    }
}

/// The packed nodes and what indexes them: what [`validate`] checks.
pub struct Nodes<'a> {
    pub nodes: &'a [u32],
    pub wide: bool,
    pub roots: &'a [u32],
    pub leaf_values: &'a [f32],
    /// Numbers a leaf holds (1: inline in the leaf's node).
    pub leaf_width: usize,
    pub n_features: u32,
}

impl Nodes<'_> {
    fn n_nodes(&self) -> u64 {
        (self.nodes.len() / node_words(self.wide)) as u64
    }

    /// The nodes of tree `t`, `roots[t]..roots[t + 1]` (or to the end), unchecked.
    pub fn tree_range(&self, t: usize) -> (u64, u64) {
        let end = self
            .roots
            .get(t + 1)
            .map_or(self.n_nodes(), |&r| u64::from(r));
        (u64::from(self.roots[t]), end)
    }

    fn node(&self, i: u64) -> NodeSpec {
        if self.wide {
            decode::<true>(self.nodes, i as usize)
        } else {
            decode::<false>(self.nodes, i as usize)
        }
    }
}

/// Checks that every index a walk can read is in bounds, so that no input (a loaded file, a
/// worker's message) can make a walk read out of bounds or loop: [`check_whole`], then
/// [`check_tree`] of every tree.
pub fn validate(f: &Nodes) -> Result<(), String> {
    check_whole(f)?;
    (0..f.roots.len()).try_for_each(|t| check_tree(f, t))
}

/// The checks of [`validate`] that are not about one tree's nodes: a tree at least, and whole
/// nodes.
pub fn check_whole(f: &Nodes) -> Result<(), String> {
    if f.roots.is_empty() {
        return Err("the forest has no tree".into());
    }
    if !f.nodes.len().is_multiple_of(node_words(f.wide)) {
        return Err("the node array is not whole nodes".into());
    }
    Ok(())
}

/// The checks of [`validate`] on tree `t` (below `roots.len()`): its nodes inside the array, in
/// pre-order (children after their parent, inside the tree); every feature (leaves' too, which
/// the planned walk reads) below `n_features`; leaf vectors inside `leaf_values`; thresholds
/// and inline leaf values finite, thresholds never -0.
pub fn check_tree(f: &Nodes, t: usize) -> Result<(), String> {
    let (root, end) = f.tree_range(t);
    let lw = f.leaf_width as u64;
    if root >= end || end > f.n_nodes() {
        return Err(format!("tree {t}: bad root index {root}"));
    }
    for i in root..end {
        let node = f.node(i);
        if node.feature >= f.n_features {
            return Err(format!("node {i}: feature {} out of range", node.feature));
        }
        if node.is_leaf() {
            if lw > 1 && u64::from(node.value) + lw > f.leaf_values.len() as u64 {
                return Err(format!("node {i}: leaf values out of range"));
            }
            if lw == 1 && !node.threshold().is_finite() {
                return Err(format!("node {i}: leaf value is not finite"));
            }
        } else {
            if i + 1 >= end || node.far < 2 || i + u64::from(node.far) >= end {
                return Err(format!("node {i}: child index out of range"));
            }
            // Finite: JSON has no infinity, so such a model could not be saved again (and
            // inputs are clamped to finite values, so ±f32::MAX splits the same).
            if !node.threshold().is_finite() {
                return Err(format!("node {i}: threshold is not finite"));
            }
            if node.value == (-0.0f32).to_bits() {
                return Err(format!("node {i}: threshold is -0"));
            }
        }
    }
    Ok(())
}

/// The template tokens of the WGSL kernels that come from the layout, with their values as
/// WGSL `u32` literals: the lane count and the node bits.
pub fn wgsl_tokens() -> [(&'static str, String); 6] {
    let u = |v: u32| format!("{v}u");
    [
        ("{{LANES}}", u(LANES as u32)),
        ("{{FAR_MASK}}", format!("{FAR_MASK:#x}u")),
        ("{{FEATURE_SHIFT}}", u(FEATURE_SHIFT)),
        ("{{FEATURE_MASK}}", format!("{FEATURE_MASK:#x}u")),
        ("{{MISSING_SHIFT}}", u(MISSING_SHIFT)),
        ("{{MISSING_LEFT}}", u(MISSING_LEFT)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_narrow_node_packs_and_unpacks_to_itself() {
        for (far, feature, missing_left) in [
            (0, 0, false),
            (FAR_MASK, FEATURE_MASK, true),
            (7, 300, true),
        ] {
            assert_eq!(
                unpack_narrow(pack_narrow(far, feature, missing_left)),
                (far, feature, missing_left)
            );
        }
        let n = NodeSpec {
            value: 1.5f32.to_bits(),
            far: 9,
            feature: 3,
            missing_left: true,
        };
        for wide in [false, true] {
            let mut words = vec![0; node_words(wide)];
            pack(&n, wide, &mut words);
            let back = if wide {
                decode::<true>(&words, 1)
            } else {
                decode::<false>(&words, 1)
            };
            assert_eq!(back, n);
        }
        assert!(
            !NodeSpec {
                far: FAR_MASK + 1,
                ..n
            }
            .fits_narrow()
        );
        assert!(
            !NodeSpec {
                feature: FEATURE_MASK + 1,
                ..n
            }
            .fits_narrow()
        );
        assert!(
            NodeSpec {
                far: 0,
                feature: FEATURE_MASK + 1,
                ..n
            }
            .fits_narrow(),
            "a leaf stores no feature"
        );
    }

    #[test]
    fn the_fields_fill_the_narrow_word() {
        assert_eq!(
            FAR_MASK | FEATURE_MASK << FEATURE_SHIFT | 1 << MISSING_SHIFT,
            u32::MAX
        );
    }
}

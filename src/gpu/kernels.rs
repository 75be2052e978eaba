//! The kernel variants of `shaders/forest.wgsl` and their WGSL, specialised per forest.
//!
//! Every variant keeps the reduction order of `src/flat.rs`, so all of them give the CPU's bits;
//! they differ only in speed, which depends on the device, the forest and the batch. Which one
//! runs is measured (see `GpuForest`'s tuning), as FIL's `optimize()` does.

use crate::flat::LANES;

/// How the work of a batch is spread over invocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    /// A workgroup of `invocations` stages `rows` rows in workgroup memory; each invocation
    /// takes a (row, group of trees) pair.
    Chunked { rows: u32, invocations: u32 },
    /// One invocation per row, reading the row from the storage buffer.
    Rows { invocations: u32 },
}

impl Variant {
    /// The candidates tried by the tuner, before checking the device's limits.
    pub const CANDIDATES: [Variant; 7] = [
        Variant::Chunked {
            rows: 8,
            invocations: 128,
        },
        Variant::Chunked {
            rows: 16,
            invocations: 128,
        },
        Variant::Chunked {
            rows: 16,
            invocations: 256,
        },
        Variant::Chunked {
            rows: 32,
            invocations: 128,
        },
        Variant::Chunked {
            rows: 32,
            invocations: 256,
        },
        Variant::Chunked {
            rows: 64,
            invocations: 256,
        },
        Variant::Rows { invocations: 128 },
    ];

    pub fn invocations(&self) -> u32 {
        match *self {
            Variant::Chunked { invocations, .. } | Variant::Rows { invocations } => invocations,
        }
    }

    /// Rows one workgroup scores per step of its loop.
    pub fn rows_per_group(&self) -> u32 {
        match *self {
            Variant::Chunked { rows, .. } => rows,
            Variant::Rows { invocations } => invocations,
        }
    }

    pub fn entry_point(&self) -> &'static str {
        match self {
            Variant::Chunked { .. } => "score_chunks",
            Variant::Rows { .. } => "score_rows",
        }
    }

    /// A short name for reports: `c16x256` (rows x invocations) or `rows128`.
    pub fn name(&self) -> String {
        match *self {
            Variant::Chunked { rows, invocations } => format!("c{rows}x{invocations}"),
            Variant::Rows { invocations } => format!("rows{invocations}"),
        }
    }

    /// Workgroup memory the variant needs, in bytes.
    pub fn workgroup_bytes(&self, n_features: u32, leaf_width: u32) -> u64 {
        match *self {
            Variant::Chunked { rows, .. } => {
                4 * u64::from(rows)
                    * (u64::from(stride(n_features)) + LANES as u64 * u64::from(leaf_width))
            }
            // It declares a word of each workgroup array, and uses neither.
            Variant::Rows { .. } => 8,
        }
    }

    /// Whether the variant is valid and fits a device with these limits.
    pub fn fits(
        &self,
        n_features: u32,
        leaf_width: u32,
        workgroup_bytes: u32,
        max_invocations: u32,
    ) -> bool {
        let shape_ok = match *self {
            // Each invocation must own whole lanes: its group count divides LANES.
            Variant::Chunked { rows, invocations } => {
                invocations % rows == 0 && LANES as u32 % (invocations / rows) == 0
            }
            Variant::Rows { .. } => true,
        };
        shape_ok
            && self.invocations() <= max_invocations
            && self.workgroup_bytes(n_features, leaf_width) <= u64::from(workgroup_bytes)
    }

    /// The WGSL of this variant for a forest.
    pub fn source(&self, n_features: u32, leaf_width: u32, wide_nodes: bool) -> String {
        let (c, stride, read, part) = match *self {
            Variant::Chunked { rows, .. } => (
                rows,
                stride(n_features),
                "tile[base + f]",
                LANES as u32 * rows * leaf_width,
            ),
            Variant::Rows { .. } => (1, 1, "key(rows[base + f])", 1),
        };
        let nodes = if wide_nodes {
            include_str!("../../shaders/node16.wgsl")
        } else {
            include_str!("../../shaders/node8.wgsl")
        };
        let body = include_str!("../../shaders/forest.wgsl")
            .replace("{{N_OUT}}", &leaf_width.to_string())
            .replace("{{NF}}", &n_features.max(1).to_string())
            .replace("{{C}}", &c.to_string())
            .replace("{{STRIDE}}", &stride.to_string())
            .replace("{{WG}}", &self.invocations().to_string())
            .replace("{{READ}}", read)
            .replace("{{PART}}", &part.to_string());
        // The layout's constants, from the Rust that packs and walks the nodes.
        let keys = include_str!("../../shaders/keys.wgsl");
        let mut source = format!("{keys}\n{nodes}\n{body}");
        for (token, value) in forest_scoring::layout::wgsl_tokens() {
            source = source.replace(token, &value);
        }
        source
    }
}

/// Words per staged row: odd, so one feature of consecutive rows falls in different banks.
fn stride(n_features: u32) -> u32 {
    n_features.max(1) | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_fit_workgroup_memory_and_lanes() {
        let c16 = Variant::Chunked {
            rows: 16,
            invocations: 256,
        };
        // 16 rows x 33 words + 16 lanes x 16 rows x 1 output, 4 bytes each.
        assert_eq!(c16.workgroup_bytes(32, 1), 4 * 16 * (33 + 16));
        assert!(c16.fits(32, 1, 16384, 256));
        assert!(!c16.fits(32, 1, 16384, 128), "too many invocations");
        assert!(!c16.fits(500, 1, 16384, 256), "wide rows do not fit");
        // 10 classes: 16 x (33 + 160) x 4 = 12,352 bytes fit; 32 rows do not.
        assert!(c16.fits(32, 10, 16384, 256));
        let c32 = Variant::Chunked {
            rows: 32,
            invocations: 256,
        };
        assert!(!c32.fits(32, 10, 16384, 256));
        // 8 rows x 256 invocations = 32 groups: more than the 16 lanes.
        let c8 = Variant::Chunked {
            rows: 8,
            invocations: 256,
        };
        assert!(!c8.fits(32, 1, 16384, 256));
        assert!(Variant::Rows { invocations: 128 }.fits(5000, 1, 16384, 256));
        // Many classes: no chunk fits, the row kernel still does.
        assert!(Variant::Rows { invocations: 128 }.fits(32, 300, 16384, 256));
        assert!(!c16.fits(32, 300, 16384, 256));
        for v in Variant::CANDIDATES {
            for wide in [false, true] {
                let src = v.source(32, 3, wide);
                assert!(!src.contains("{{"), "{src}");
                assert!(src.contains("const N_OUT: u32 = 3u;"));
            }
        }
    }

    /// The kernels' lane count and node bits are the layout's Rust constants: a changed
    /// constant changes the WGSL, and no shader writes one of them as a literal.
    #[test]
    fn the_wgsl_takes_the_layout_s_constants_from_rust() {
        use forest_scoring::layout::*;
        let v = Variant::CANDIDATES[0];
        let (narrow, wide) = (v.source(8, 1, false), v.source(8, 1, true));
        for src in [&narrow, &wide] {
            assert!(
                src.contains(&format!("const LANES: u32 = {LANES}u;")),
                "{src}"
            );
        }
        assert!(
            narrow.contains(&format!("n.y & {FAR_MASK:#x}u")),
            "{narrow}"
        );
        assert!(narrow.contains(&format!("(n.y >> {FEATURE_SHIFT}u) & {FEATURE_MASK:#x}u")));
        assert!(narrow.contains(&format!("(n.y >> {MISSING_SHIFT}u) != 0u")));
        assert!(
            wide.contains(&format!("(n.w & {MISSING_LEFT}u) != 0u")),
            "{wide}"
        );
        let templates = [
            include_str!("../../shaders/forest.wgsl"),
            include_str!("../../shaders/node8.wgsl"),
            include_str!("../../shaders/node16.wgsl"),
        ];
        for t in templates {
            for literal in [
                "LANES: u32 = 16u",
                "0xffffu",
                "0x7fffu",
                ">> 16u",
                ">> 31u",
                "& 1u",
            ] {
                assert!(
                    !t.contains(literal),
                    "a layout constant written in WGSL: {literal}"
                );
            }
        }
        for token in wgsl_tokens().map(|(t, _)| t) {
            assert!(
                templates.iter().any(|t| t.contains(token)),
                "{token} is filled in nowhere"
            );
        }
    }
}

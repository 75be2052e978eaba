//! The WGSL of `shaders/forest.wgsl`, specialized for one forest and one device.

/// Shape of the kernels for a forest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelShape {
    pub n_outputs: u32,
    /// Rows per workgroup of the direct kernel.
    pub direct_rows: u32,
    /// Rows per workgroup of the staged kernel; 0 when rows do not fit in workgroup memory.
    pub staged_rows: u32,
    /// Words per staged row.
    pub stride: u32,
}

/// Workgroup size of the direct kernel (four warps / two wavefronts).
pub const DIRECT_ROWS: u32 = 128;

impl KernelShape {
    pub fn new(
        n_features: u32,
        n_outputs: u32,
        workgroup_bytes: u32,
        max_invocations: u32,
    ) -> KernelShape {
        // An odd stride puts a feature of consecutive rows in different memory banks.
        let stride = n_features | 1;
        let fit = (workgroup_bytes / 4 / stride.max(1))
            .min(128)
            .min(max_invocations);
        let staged_rows = if fit >= 32 { fit / 32 * 32 } else { 0 };
        KernelShape {
            n_outputs,
            direct_rows: DIRECT_ROWS.min(max_invocations),
            staged_rows,
            stride,
        }
    }

    pub fn source(&self) -> String {
        let (rows, words) = if self.staged_rows > 0 {
            (self.staged_rows, self.staged_rows * self.stride)
        } else {
            (32, 1)
        };
        include_str!("../../shaders/forest.wgsl")
            .replace("{{N_OUT}}", &self.n_outputs.to_string())
            .replace("{{WG}}", &self.direct_rows.to_string())
            .replace("{{STAGE_ROWS}}", &rows.to_string())
            .replace("{{STAGE_WORDS}}", &words.to_string())
            .replace("{{STAGE_STRIDE}}", &self.stride.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_rows_fit_workgroup_memory() {
        let s = KernelShape::new(32, 2, 16384, 256);
        assert_eq!(s.stride, 33);
        assert_eq!(s.staged_rows, 96);
        assert!(s.staged_rows * s.stride * 4 <= 16384);
        assert_eq!(KernelShape::new(10, 1, 16384, 256).staged_rows, 128);
        assert_eq!(KernelShape::new(500, 1, 16384, 256).staged_rows, 0);
        let src = KernelShape::new(500, 3, 16384, 256).source();
        assert!(!src.contains("{{"));
        assert!(src.contains("const N_OUT: u32 = 3u;"));
    }
}

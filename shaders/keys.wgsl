// Order-preserving integer keys of f32 bits, for the scoring and explaining kernels (and
// forest_scoring::treeshap::key on the CPU, which is this function). Comparisons on keys
// never touch a float: a GPU that flushes subnormals still orders every input as the CPU.
// A missing value (any NaN) gets NAN_KEY, above every number's.

const NAN_KEY: u32 = 0xffffffffu;

// Finite f32 bits to a u32 whose unsigned order is the float order (-0 just below +0; the
// layout has no -0 threshold, so `<=` still agrees with the float comparison).
fn key_of_number(b: u32) -> u32 {
    return b ^ select(0x80000000u, 0xffffffffu, b >= 0x80000000u);
}

fn key(b: u32) -> u32 {
    if ((b & 0x7fffffffu) > 0x7f800000u) {
        return NAN_KEY;
    }
    return key_of_number(b);
}

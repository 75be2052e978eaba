// 8-byte nodes (scoring/src/layout.rs): [value, far | feature << FEATURE_SHIFT | missing_left << MISSING_SHIFT].
// The bit positions are the layout's Rust constants, filled in by src/gpu/kernels.rs.
alias Node = vec2<u32>;
fn far_of(n: Node) -> u32 { return n.y & {{FAR_MASK}}; }
fn feature_of(n: Node) -> u32 { return (n.y >> {{FEATURE_SHIFT}}) & {{FEATURE_MASK}}; }
fn missing_left_of(n: Node) -> bool { return (n.y >> {{MISSING_SHIFT}}) != 0u; }

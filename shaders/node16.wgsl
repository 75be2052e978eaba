// 16-byte nodes (scoring/src/layout.rs): [value, far, feature, flags]; the flag bit is the
// layout's Rust constant, filled in by src/gpu/kernels.rs.
alias Node = vec4<u32>;
fn far_of(n: Node) -> u32 { return n.y; }
fn feature_of(n: Node) -> u32 { return n.z; }
fn missing_left_of(n: Node) -> bool { return (n.w & {{MISSING_LEFT}}) != 0u; }

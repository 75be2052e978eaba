// 16-byte nodes (src/flat.rs): [value, far, feature, flags].
alias Node = vec4<u32>;
fn far_of(n: Node) -> u32 { return n.y; }
fn feature_of(n: Node) -> u32 { return n.z; }
fn missing_left_of(n: Node) -> bool { return (n.w & 1u) != 0u; }

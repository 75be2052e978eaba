// 8-byte nodes (src/flat.rs): [value, far | feature << 16 | missing_left << 31].
alias Node = vec2<u32>;
fn far_of(n: Node) -> u32 { return n.y & 0xffffu; }
fn feature_of(n: Node) -> u32 { return (n.y >> 16u) & 0x7fffu; }
fn missing_left_of(n: Node) -> bool { return (n.y >> 31u) != 0u; }

// Scores rows on the flattened forest (layout: src/flat.rs). One invocation per row walks
// every tree, sums the leaf values in tree order, and writes sum * inv_trees.
//
// Specialized per forest by src/gpu/kernels.rs, which replaces the tokens:
//   N_OUT       outputs per row (classes, or 1)
//   WG          rows per workgroup of `predict_direct`
//   STAGE_ROWS  rows per workgroup of `predict_staged`
//   STAGE_WORDS STAGE_ROWS * STAGE_STRIDE (workgroup memory, in 32-bit words)
//   STAGE_STRIDE words per staged row (n_features, made odd to spread memory banks)

const N_OUT: u32 = {{N_OUT}}u;
const LEAF: u32 = 1u;
const MISSING_LEFT: u32 = 2u;

struct Params {
    n_rows: u32,
    n_features: u32,
    n_trees: u32,
    inv_trees: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
// x: threshold bits, y: far child (split) or leaf-value offset (leaf), z: feature, w: flags
@group(0) @binding(1) var<storage, read> nodes: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> roots: array<u32>;
@group(0) @binding(3) var<storage, read> leaf_values: array<f32>;
// Rows as f32 bits: WGSL may assume finite math, so NaN (missing) is found by its bits.
@group(0) @binding(4) var<storage, read> rows: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

fn goes_left(bits: u32, node: vec4<u32>) -> bool {
    if ((bits & 0x7fffffffu) > 0x7f800000u) {
        return (node.w & MISSING_LEFT) != 0u;
    }
    return bitcast<f32>(bits) <= bitcast<f32>(node.x);
}

fn write_row(row: u32, acc: array<f32, N_OUT>) {
    var a = acc;
    for (var k = 0u; k < N_OUT; k++) {
        out[row * N_OUT + k] = a[k] * params.inv_trees;
    }
}

// Each invocation reads its row's features straight from the storage buffer.
@compute @workgroup_size({{WG}})
fn predict_direct(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.x;
    if (row >= params.n_rows) {
        return;
    }
    let base = row * params.n_features;
    var acc: array<f32, N_OUT>;
    for (var t = 0u; t < params.n_trees; t++) {
        var i = roots[t];
        var n = nodes[i];
        while ((n.w & LEAF) == 0u) {
            if (goes_left(rows[base + n.z], n)) {
                i = i + 1u;
            } else {
                i = n.y;
            }
            n = nodes[i];
        }
        for (var k = 0u; k < N_OUT; k++) {
            acc[k] = acc[k] + leaf_values[n.y + k];
        }
    }
    write_row(row, acc);
}

var<workgroup> tile: array<u32, {{STAGE_WORDS}}>;

// The workgroup first copies its rows into workgroup memory with coalesced loads, then
// each invocation walks the trees reading its row from there.
@compute @workgroup_size({{STAGE_ROWS}})
fn predict_staged(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let nf = params.n_features;
    let first = wid.x * {{STAGE_ROWS}}u;
    let count = min({{STAGE_ROWS}}u, params.n_rows - first);
    let total = count * nf;
    let base = first * nf;
    for (var j = lid.x; j < total; j += {{STAGE_ROWS}}u) {
        let r = j / nf;
        tile[r * {{STAGE_STRIDE}}u + (j - r * nf)] = rows[base + j];
    }
    workgroupBarrier();
    if (lid.x >= count) {
        return;
    }
    let mine = lid.x * {{STAGE_STRIDE}}u;
    var acc: array<f32, N_OUT>;
    for (var t = 0u; t < params.n_trees; t++) {
        var i = roots[t];
        var n = nodes[i];
        while ((n.w & LEAF) == 0u) {
            if (goes_left(tile[mine + n.z], n)) {
                i = i + 1u;
            } else {
                i = n.y;
            }
            n = nodes[i];
        }
        for (var k = 0u; k < N_OUT; k++) {
            acc[k] = acc[k] + leaf_values[n.y + k];
        }
    }
    write_row(first + lid.x, acc);
}

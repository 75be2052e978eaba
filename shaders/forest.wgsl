// Scores rows on the flattened forest (rules: src/flat.rs; bits: scoring/src/layout.rs). Each kernel writes, per
// row, the trees' leaf values summed in the lane order: tree t in lane t % LANES, each lane
// summed in tree order from +0.0, the lanes added in order from +0.0. The host scales and
// finishes the outputs (FlatForest::finish_outputs), the same function as for the CPU's sums.
//
// One module per variant (src/gpu/kernels.rs): a node decoder (node8.wgsl or node16.wgsl) goes
// before this text, and these tokens are replaced:
//   N_OUT   numbers per leaf (1, or the classes)      NF      features per row
//   C       rows per chunk (score_chunks)              STRIDE  words per staged row (odd)
//   WG      invocations per workgroup                  READ    how `walk` reads feature f
//   PART    words of lane sums in workgroup memory (LANES * C * N_OUT; 1 where unused)
//   LANES   the layout's lane count (scoring/src/layout.rs), as are the node decoders' bits
//
// Comparisons run on order-preserving integer keys of the f32 bits, never on floats: a GPU that
// flushes subnormals still sends every input the way the CPU does, and NaN (missing) gets the
// key NAN_KEY, above every number's (shaders/keys.wgsl, put before this text).

const N_OUT: u32 = {{N_OUT}}u;
const NF: u32 = {{NF}}u;
const C: u32 = {{C}}u;
const STRIDE: u32 = {{STRIDE}}u;
const WG: u32 = {{WG}}u;
const GROUPS: u32 = WG / C;
const LANES: u32 = {{LANES}};

struct Params {
    n_rows: u32,
    n_trees: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> nodes: array<Node>;
@group(0) @binding(2) var<storage, read> roots: array<u32>;
@group(0) @binding(3) var<storage, read> leaf_values: array<f32>;
@group(0) @binding(4) var<storage, read> rows: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

var<workgroup> tile: array<u32, C * STRIDE>;
var<workgroup> part: array<f32, {{PART}}>;


// Word 0 of the leaf that the row at `base` reaches in tree `t`.
fn walk(t: u32, base: u32) -> u32 {
    var i = roots[t];
    var n = nodes[i];
    loop {
        let far = far_of(n);
        if (far == 0u) {
            break;
        }
        let f = feature_of(n);
        let x = {{READ}};
        let left = (x <= key_of_number(n.x)) | ((x == NAN_KEY) & missing_left_of(n));
        i += select(far, 1u, left);
        n = nodes[i];
    }
    return n.x;
}

fn add_leaf(acc: ptr<function, array<f32, N_OUT>>, v: u32) {
    if (N_OUT == 1u) {
        (*acc)[0] += bitcast<f32>(v);
    } else {
        for (var k = 0u; k < N_OUT; k++) {
            (*acc)[k] += leaf_values[v + k];
        }
    }
}

// FIL's mapping: a workgroup stages a chunk of C rows (as keys) in workgroup memory; invocation
// (row li % C, group li / C) walks lanes group, group + GROUPS, ... for its row, so neighbouring
// invocations walk the same tree; lane sums meet in workgroup memory and are added in lane
// order. Workgroups loop over chunks (grid stride), so any batch fits one dispatch.
@compute @workgroup_size(WG)
fn score_chunks(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let r = li % C;
    let g = li / C;
    let n_chunks = (params.n_rows + C - 1u) / C;
    let lanes = min(LANES, params.n_trees);
    for (var chunk = wid.x; chunk < n_chunks; chunk += nwg.x) {
        let first = chunk * C;
        let count = min(C, params.n_rows - first);
        let src = first * NF;
        for (var j = li; j < count * NF; j += WG) {
            let rr = j / NF;
            tile[rr * STRIDE + (j - rr * NF)] = key(rows[src + j]);
        }
        workgroupBarrier();
        if (r < count) {
            for (var lane = g; lane < lanes; lane += GROUPS) {
                // Explicitly zeroed: Chrome's compiler did not clear a declaration inside a
                // loop on each iteration (lane sums carried over; seen on SwiftShader and NVIDIA).
                var acc = array<f32, N_OUT>();
                for (var t = lane; t < params.n_trees; t += LANES) {
                    add_leaf(&acc, walk(t, r * STRIDE));
                }
                for (var k = 0u; k < N_OUT; k++) {
                    part[(lane * C + r) * N_OUT + k] = acc[k];
                }
            }
        }
        workgroupBarrier();
        for (var j = li; j < count * N_OUT; j += WG) {
            let rr = j / N_OUT;
            let k = j - rr * N_OUT;
            var total = 0.0f;
            for (var lane = 0u; lane < lanes; lane++) {
                total += part[(lane * C + rr) * N_OUT + k];
            }
            out[(first + rr) * N_OUT + k] = total;
        }
        workgroupBarrier();
    }
}

// One invocation per row, reading its row from the storage buffer: for rows too wide to stage,
// and as the plain baseline. It sums the lanes in the same order.
@compute @workgroup_size(WG)
fn score_rows(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let lanes = min(LANES, params.n_trees);
    for (var row = gid.x; row < params.n_rows; row += nwg.x * WG) {
        var total = array<f32, N_OUT>();
        for (var lane = 0u; lane < lanes; lane++) {
            var acc = array<f32, N_OUT>();
            for (var t = lane; t < params.n_trees; t += LANES) {
                add_leaf(&acc, walk(t, row * NF));
            }
            for (var k = 0u; k < N_OUT; k++) {
                total[k] += acc[k];
            }
        }
        for (var k = 0u; k < N_OUT; k++) {
            out[row * N_OUT + k] = total[k];
        }
    }
}

// TreeSHAP on the GPU (rules: src/explain/mod.rs; arithmetic: scoring/src/treeshap.rs, which
// this states in the same operation order). Two entry points over one chunk of rows:
//   explain_trees: one invocation per (row, tree) adds the tree's paths, in order, into its own
//                  sums per (feature, leaf number), from +0.0; sum j of row r of tree t is at
//                  (t * F + j) * n_rows + r, so that a workgroup's rows write side by side;
//   sum_trees:     one invocation per (row, feature, leaf number) adds the trees' sums in
//                  tree order from +0.0.
// The host finishes the sums (Explainer::finish), as it does the CPU's.
//
// Tokens (src/gpu/explain.rs): NF features per row, LW numbers per leaf, MAXP the words of
// path weights an invocation keeps in workgroup memory (the forest's longest path plus one,
// made odd so that neighbours' weights fall in different banks); the element and path words
// are forest_scoring::treeshap's. shaders/keys.wgsl (key, NAN_KEY) goes before this text.

const NF: u32 = {{NF}}u;
const LW: u32 = {{LW}}u;
const F: u32 = NF * LW;
const EW: u32 = {{ELEMENT_WORDS}};
const PW: u32 = {{PATH_WORDS}};
const NAN_GOES: u32 = {{NAN_GOES}};
const ELEMENT_FEATURE: u32 = {{ELEMENT_FEATURE}};
const MAXP: u32 = {{MAXP}}u;
const WG: u32 = 64u;

struct Params {
    n_rows: u32,
    n_trees: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> elements: array<u32>;
@group(0) @binding(2) var<storage, read> paths: array<u32>;
@group(0) @binding(3) var<storage, read> tree_paths: array<u32>;
@group(0) @binding(4) var<storage, read> leaf_values: array<f32>;
@group(0) @binding(5) var<storage, read> recip: array<f32>;
@group(0) @binding(6) var<storage, read> rows: array<u32>;
@group(0) @binding(7) var<storage, read_write> partial: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;

// Path weights, MAXP per invocation: indexed by loop counters, which private arrays would
// put in (slow) local memory on most GPUs.
var<workgroup> weights: array<f32, WG * MAXP>;


// Element `el`'s one fraction for the row whose features start at `base`.
fn one(el: u32, base: u32) -> f32 {
    let w0 = elements[el * EW];
    let k = key(rows[base + (w0 & ELEMENT_FEATURE)]);
    var takes = false;
    if (k == NAN_KEY) {
        takes = (w0 & NAN_GOES) != 0u;
    } else {
        takes = k > elements[el * EW + 1u] && k <= elements[el * EW + 2u];
    }
    return select(0.0, 1.0, takes);
}

fn leaf_number(leaf: u32, k: u32) -> f32 {
    if (LW == 1u) {
        return bitcast<f32>(leaf);
    }
    return leaf_values[leaf + k];
}

@compute @workgroup_size(64)
fn explain_trees(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = gid.x;
    let t = gid.y;
    if (r >= params.n_rows || t >= params.n_trees) {
        return;
    }
    let pw = lid * MAXP;
    let row = r * NF;
    let n = params.n_rows;
    let sums = t * F * n + r;
    for (var j = 0u; j < F; j++) {
        partial[sums + j * n] = 0.0;
    }
    for (var p = tree_paths[t]; p < tree_paths[t + 1u]; p++) {
        let first = paths[p * PW];
        let m = paths[p * PW + 1u];
        let leaf = paths[p * PW + 2u];
        weights[pw] = 1.0;
        for (var e = 0u; e < m; e++) {
            let d = e + 1u;
            let o = one(first + e, row);
            let z = bitcast<f32>(elements[(first + e) * EW + 3u]);
            let a = recip[d + 1u];
            weights[pw + d] = 0.0;
            for (var i = d; i > 0u; i--) {
                let j = i - 1u;
                weights[pw + j + 1u] = weights[pw + j + 1u] + o * weights[pw + j] * (f32(j + 1u) * a);
                weights[pw + j] = z * weights[pw + j] * (f32(d - j) * a);
            }
        }
        for (var e = 0u; e < m; e++) {
            let el = first + e;
            let o = one(el, row);
            let z = bitcast<f32>(elements[el * EW + 3u]);
            let iz = bitcast<f32>(elements[el * EW + 4u]);
            var total = 0.0;
            if (o != 0.0) {
                var next = weights[pw + m];
                for (var i = m; i > 0u; i--) {
                    let j = i - 1u;
                    let tmp = next * recip[j + 1u];
                    total = total + tmp;
                    next = weights[pw + j] - tmp * z * f32(m - j);
                }
            } else {
                for (var i = m; i > 0u; i--) {
                    let j = i - 1u;
                    total = total + weights[pw + j] * iz * recip[m - j];
                }
            }
            let w = total * f32(m + 1u) * (o - z);
            let at = sums + (elements[el * EW] & ELEMENT_FEATURE) * LW * n;
            for (var k = 0u; k < LW; k++) {
                partial[at + k * n] = partial[at + k * n] + w * leaf_number(leaf, k);
            }
        }
    }
}

@compute @workgroup_size(64)
fn sum_trees(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    // i = j * n_rows + r: neighbours read neighbouring rows' sums.
    let i = gid.x + gid.y * groups.x * 64u;
    let n = params.n_rows;
    if (i >= n * F) {
        return;
    }
    var s = 0.0;
    for (var t = 0u; t < params.n_trees; t++) {
        s = s + partial[t * F * n + i];
    }
    out[(i % n) * F + i / n] = s;
}

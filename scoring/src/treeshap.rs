//! TreeSHAP's arithmetic over one decision path, written once for the CPU; the GPU's kernel
//! (`shaders/explain.wgsl`) states the same operations in the same order, and its constants
//! come from here ([`wgsl_tokens`]). What the paths are and why this algorithm is
//! `gpuforest::explain`'s module doc.
//!
//! A path is a leaf's way from the root, each feature on it once (an *element*: the range of
//! values that takes the path, where missing values go, and the share of the training weight
//! that takes it when the feature is unknown, its zero fraction). For a row, an element's one
//! fraction is 1 when the row's value lies in the range, else 0. The path's contribution to each
//! of its features follows Lundberg's path weights (extend every element, then unwind each),
//! in `f32`, with every division replaced by a multiplication by a reciprocal that the host
//! computes ([`recip`]; `1 / zero fraction` is stored in the element), since WGSL's division is
//! not correctly rounded and its multiplication and addition are.

/// Words of one path element: `[feature | NAN_GOES, lower key, upper key, zero fraction bits,
/// 1 / zero fraction bits (0 when the zero fraction is 0)]`. A row's value `x` takes the path
/// when `lower < key(x) <= upper`, or, missing, when `NAN_GOES` is set.
pub const ELEMENT_WORDS: usize = 5;
/// In an element's word 0: missing values take the path.
pub const NAN_GOES: u32 = 1 << 31;
pub const ELEMENT_FEATURE: u32 = NAN_GOES - 1;
/// Words of one path: `[first element, elements, leaf]` (the leaf's value bits when a leaf
/// holds one number, else the offset of its vector).
pub const PATH_WORDS: usize = 3;
/// The key of a missing value (any NaN), above every number's.
pub const NAN_KEY: u32 = u32::MAX;
/// Bounds of an element with none on that side: below and above every number's key.
pub const NO_LOWER: u32 = 0;
pub const NO_UPPER: u32 = u32::MAX - 1;
/// The most elements (distinct features) a path may have on the GPU, whose path weights live in
/// workgroup memory (64 invocations x 63 words fit WebGPU's 16 KiB); the CPU has no such bound.
pub const GPU_MAX_PATH: usize = 62;

/// The order-preserving key of `f32` bits: unsigned order of keys is the float order of
/// numbers (-0 just below +0; thresholds are never -0), and every NaN is [`NAN_KEY`]. The
/// GPU's `key()` in `shaders/keys.wgsl` is this function.
#[inline(always)]
pub fn key(bits: u32) -> u32 {
    if bits & 0x7fff_ffff > 0x7f80_0000 {
        return NAN_KEY;
    }
    bits ^ if bits >= 0x8000_0000 {
        0xffff_ffff
    } else {
        0x8000_0000
    }
}

/// `1 / k` for `k` in `0..len` (`0` for `k = 0`), each rounded to `f32` once: the only
/// divisions of the algorithm, shared by both engines.
pub fn recip(len: usize) -> Vec<f32> {
    (0..len)
        .map(|k| if k == 0 { 0.0 } else { 1.0 / k as f32 })
        .collect()
}

/// The one fraction of element `el` for a row of keys `keys`.
#[inline(always)]
fn one(el: &[u32], keys: &[u32]) -> f32 {
    let k = keys[(el[0] & ELEMENT_FEATURE) as usize];
    let takes = if k == NAN_KEY {
        el[0] & NAN_GOES != 0
    } else {
        k > el[1] && k <= el[2]
    };
    if takes { 1.0 } else { 0.0 }
}

/// Adds one path's contributions for one row into `phi` (`n_features x width`, feature-major):
/// `elements` are the path's ([`ELEMENT_WORDS`] each), `leaf` its `width` numbers, `keys` the
/// row's [`key`]s, `recip` at least `elements + 2` long, `pw` scratch of `elements + 1`.
#[inline]
pub fn add_path(
    elements: &[u32],
    leaf: &[f32],
    keys: &[u32],
    recip: &[f32],
    pw: &mut [f32],
    phi: &mut [f32],
) {
    let m = elements.len() / ELEMENT_WORDS;
    let width = leaf.len();
    // Extend: the root's element (zero and one fractions 1), then each element in turn.
    pw[0] = 1.0;
    for (e, el) in elements.chunks_exact(ELEMENT_WORDS).enumerate() {
        let d = e + 1;
        let (o, z) = (one(el, keys), f32::from_bits(el[3]));
        let a = recip[d + 1];
        pw[d] = 0.0;
        for i in (0..d).rev() {
            pw[i + 1] += o * pw[i] * ((i + 1) as f32 * a);
            pw[i] = z * pw[i] * ((d - i) as f32 * a);
        }
    }
    // Unwind each element from the whole path's weights.
    for el in elements.chunks_exact(ELEMENT_WORDS) {
        let (o, z, iz) = (one(el, keys), f32::from_bits(el[3]), f32::from_bits(el[4]));
        let mut total = 0.0f32;
        if o != 0.0 {
            let mut next = pw[m];
            for i in (0..m).rev() {
                let tmp = next * recip[i + 1];
                total += tmp;
                next = pw[i] - tmp * z * (m - i) as f32;
            }
        } else {
            for i in (0..m).rev() {
                total += pw[i] * iz * recip[m - i];
            }
        }
        let w = total * (m + 1) as f32 * (o - z);
        let f = (el[0] & ELEMENT_FEATURE) as usize;
        for (p, &v) in phi[f * width..(f + 1) * width].iter_mut().zip(leaf) {
            *p += w * v;
        }
    }
}

/// The constants the WGSL kernel takes from here (`{{TOKEN}}`, value).
pub fn wgsl_tokens() -> [(&'static str, String); 4] {
    let u = |v: u32| format!("{v:#x}u");
    [
        ("{{ELEMENT_WORDS}}", u(ELEMENT_WORDS as u32)),
        ("{{NAN_GOES}}", u(NAN_GOES)),
        ("{{ELEMENT_FEATURE}}", u(ELEMENT_FEATURE)),
        ("{{PATH_WORDS}}", u(PATH_WORDS as u32)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gpu_keys_missing_values_as_the_cpu_does() {
        let wgsl = include_str!("../../shaders/keys.wgsl");
        assert!(
            wgsl.contains(&format!("const NAN_KEY: u32 = {NAN_KEY:#x}u;")),
            "{wgsl}"
        );
    }

    #[test]
    fn keys_order_numbers_as_floats_do() {
        let xs = [
            f32::NEG_INFINITY,
            -3.5,
            -1e-45,
            -0.0,
            0.0,
            1e-45,
            2.0,
            f32::MAX,
            f32::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(key(w[0].to_bits()) < key(w[1].to_bits()), "{w:?}");
        }
        assert!(key(f32::INFINITY.to_bits()) < NO_UPPER);
        assert!(key(f32::NEG_INFINITY.to_bits()) > NO_LOWER);
        assert_eq!(key(f32::NAN.to_bits()), NAN_KEY);
        assert_eq!(key((-f32::NAN).to_bits()), NAN_KEY);
    }

    /// One split of cover 10 into 4 (left, value 1) and 6 (right, value 3): for a row going
    /// left, phi = f(x) - E = 1 - (0.4 * 1 + 0.6 * 3) = -1.2, all on the split's feature.
    #[test]
    fn a_stump_gives_its_feature_the_whole_difference() {
        let thr = key(0.5f32.to_bits());
        let el = |lo: u32, hi: u32, z: f32| [0, lo, hi, z.to_bits(), (1.0 / z).to_bits()];
        let left = el(NO_LOWER, thr, 0.4);
        let right = el(thr, NO_UPPER, 0.6);
        let r = recip(4);
        for (x, want) in [(0.0f32, -1.2f32), (1.0, 0.8)] {
            let keys = [key(x.to_bits())];
            let mut phi = [0.0f32];
            let mut pw = [0.0f32; 2];
            add_path(&left, &[1.0], &keys, &r, &mut pw, &mut phi);
            add_path(&right, &[3.0], &keys, &r, &mut pw, &mut phi);
            assert!((phi[0] - want).abs() < 1e-6, "x = {x}: {}", phi[0]);
        }
    }
}

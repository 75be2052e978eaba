//! The WGSL kernels against the CPU predictor over the same flat forest (the oracle), bit for
//! bit. Natively these run on whatever Vulkan adapter is present: lavapipe in CI (installed by
//! scripts/setup.sh), the real GPU on a GPU machine.

use gpuforest::data::{Dataset, synth};
use gpuforest::flat::{Builder, FlatForest};
use gpuforest::forest::{Params, Trainer};
use gpuforest::gpu::{GpuContext, GpuForest, Kernel, Upload, Variant};
use proptest::prelude::*;

fn context() -> GpuContext {
    pollster::block_on(GpuContext::new())
        .expect("a Vulkan adapter (lavapipe: apt-get install mesa-vulkan-drivers)")
}

fn with_missing(mut d: Dataset, every: usize, seed: u64) -> Dataset {
    for (i, v) in d.x.iter_mut().enumerate() {
        if (i as u64 * 2654435761 + seed) % every as u64 == 0 {
            *v = f32::NAN;
        }
    }
    d
}

fn forest(d: &Dataset, trees: usize, depth: Option<usize>, seed: u64) -> FlatForest {
    let p = Params {
        n_trees: trees,
        max_depth: depth,
        seed,
        ..Params::default()
    };
    let f = Trainer::new(d, &p).unwrap().train(&|| {});
    let n_out = if d.n_classes == 0 { 1 } else { d.n_classes };
    gpuforest::forest::flatten(&f.trees, d.n_features, n_out)
}

/// GPU outputs are the CPU's, bit for bit.
fn assert_bits(flat: &FlatForest, gpu: &[f32], x: &[f32], what: &str) {
    let cpu = flat.predict(x);
    assert_eq!(cpu.len(), gpu.len(), "{what}");
    let n_out = flat.n_outputs as usize;
    for (r, (c, g)) in cpu.chunks(n_out).zip(gpu.chunks(n_out)).enumerate() {
        let cb: Vec<u32> = c.iter().map(|v| v.to_bits()).collect();
        let gb: Vec<u32> = g.iter().map(|v| v.to_bits()).collect();
        assert_eq!(cb, gb, "{what}, row {r}: CPU {c:?} GPU {g:?}");
    }
}

/// Every variant that fits, end to end and on resident rows, plus the tuned choice.
fn check_every_kernel(flat: &FlatForest, x: &[f32]) {
    let mut g = GpuForest::new(context(), flat, None).unwrap();
    assert!(!g.candidates().is_empty());
    for v in g.candidates().to_vec() {
        let run = g.predict_blocking(x, Kernel::Fixed(v)).unwrap();
        assert_eq!(run.variant, v);
        assert_bits(flat, &run.outputs, x, &v.name());
    }
    let run = g.predict_blocking(x, Kernel::Auto).unwrap();
    assert_bits(flat, &run.outputs, x, "auto");
    let n = x.len() / flat.n_features as usize;
    assert_eq!(
        g.tuned_for(n),
        Some(run.variant),
        "the tuner's choice is kept"
    );
    let resident = pollster::block_on(g.upload(x)).unwrap();
    let again = pollster::block_on(g.score(&resident, Kernel::Auto)).unwrap();
    assert_bits(flat, &again.outputs, x, "resident");
}

#[test]
fn every_variant_matches_the_cpu_with_missing_values_and_multiclass() {
    let d = with_missing(synth::classification(3000, 12, 6, 5, 3), 9, 1);
    let flat = forest(&d, 25, Some(10), 4);
    assert_eq!(flat.leaf_width(), 5);
    let mut x = d.x.clone();
    x[0] = f32::MAX;
    x[1] = f32::MIN;
    check_every_kernel(&flat, &x);
}

#[test]
fn binary_and_regression_match_the_cpu() {
    let d = with_missing(synth::classification(2000, 9, 5, 2, 7), 13, 2);
    let flat = forest(&d, 40, Some(12), 3);
    assert_eq!(flat.leaf_width(), 1);
    check_every_kernel(&flat, &d.x);
    let d = with_missing(synth::regression(2000, 7, 4, 3.0, 2), 11, 2);
    let flat = forest(&d, 16, Some(12), 9);
    check_every_kernel(&flat, &d.x);
}

#[test]
fn a_deep_forest_uses_16_byte_nodes_and_matches_the_cpu() {
    // Unlimited depth on 150k noisy rows: a root's far child lies over 65,536 nodes away,
    // beyond the 16-bit offsets of 8-byte nodes.
    let d = synth::regression(150_000, 6, 6, 50.0, 4);
    let p = Params {
        n_trees: 2,
        max_depth: None,
        bootstrap: false,
        ..Params::default()
    };
    let f = Trainer::new(&d, &p).unwrap().train(&|| {});
    let flat = gpuforest::forest::flatten(&f.trees, d.n_features, 1);
    assert!(flat.wide, "{} nodes", flat.n_nodes());
    check_every_kernel(&flat, &d.x[..6 * 5000]);
}

/// One split on feature 0 at `threshold`: leaf 1.0 on the left, 2.0 on the right.
fn stump(threshold: f32, missing_left: bool) -> FlatForest {
    let mut b = Builder::new(1, 1);
    b.start_tree();
    let s = b.split(0, threshold, missing_left);
    b.leaf(&[1.0]);
    b.set_far(s);
    b.leaf(&[2.0]);
    b.finish()
}

#[test]
fn edge_values_go_the_same_way_on_both_sides() {
    let sub = f32::from_bits(1); // the smallest subnormal
    let edges = [
        0.0,
        -0.0,
        sub,
        -sub,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        1.0,
        f32::from_bits(1.0f32.to_bits() + 1),
        f32::from_bits(1.0f32.to_bits() - 1),
        f32::MAX,
        f32::MIN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -f32::NAN,
        1e30,
        -1e30,
    ];
    let x: Vec<f32> = edges.to_vec();
    for threshold in [
        0.0,
        -0.0,
        sub,
        -sub,
        1.0,
        f32::MAX,
        -1e30,
        f32::MIN_POSITIVE,
    ] {
        for missing_left in [false, true] {
            let flat = stump(threshold, missing_left);
            // The CPU oracle itself follows IEEE `x <= t`, NaN by the node's direction.
            let cpu = flat.predict(&x);
            for (v, &o) in x.iter().zip(&cpu) {
                let left = if v.is_nan() {
                    missing_left
                } else {
                    *v <= threshold
                };
                assert_eq!(o, if left { 1.0 } else { 2.0 }, "x {v:e} t {threshold:e}");
            }
            check_every_kernel(&flat, &x);
        }
    }
}

#[test]
fn a_batch_over_the_binding_limit_is_chunked() {
    let d = synth::classification(5000, 8, 4, 3, 5);
    let flat = forest(&d, 10, Some(8), 1);
    // 8 features x 4 bytes: 4096 bytes per binding holds 128 rows.
    let mut g = GpuForest::new(context(), &flat, Some(4096)).unwrap();
    assert_eq!(g.chunk_rows(), 128);
    let x = &d.x[..1000 * 8];
    for v in g.candidates().to_vec() {
        let run = g.predict_blocking(x, Kernel::Fixed(v)).unwrap();
        assert_eq!(run.chunks, 8, "1000 rows in chunks of 128");
        assert_bits(&flat, &run.outputs, x, &v.name());
    }
    let resident = pollster::block_on(g.upload(x)).unwrap();
    let run = pollster::block_on(g.score(&resident, Kernel::Auto)).unwrap();
    assert_eq!(run.chunks, 8);
    assert_bits(&flat, &run.outputs, x, "resident, chunked");
    // Buffers are reused across calls of different sizes, through both upload paths.
    for upload in [Upload::Staging, Upload::WriteBuffer] {
        g.set_upload(upload);
        for n in [1, 77, 128, 129, 1000] {
            let run = g.predict_blocking(&x[..n * 8], Kernel::Auto).unwrap();
            assert_bits(&flat, &run.outputs, &x[..n * 8], &format!("{upload:?} {n}"));
        }
    }
    assert!(
        g.predict_blocking(&[], Kernel::Auto)
            .unwrap()
            .outputs
            .is_empty()
    );
    assert!(
        g.predict_blocking(&[1.0; 7], Kernel::Auto).is_err(),
        "7 values are not whole 8-feature rows"
    );
}

#[test]
fn batches_split_into_parts_give_the_same_outputs() {
    let d = with_missing(synth::classification(3000, 10, 6, 3, 8), 7, 3);
    let flat = forest(&d, 12, Some(9), 4);
    let mut g = GpuForest::new(context(), &flat, None).unwrap();
    let v = Variant::Chunked {
        rows: 16,
        invocations: 128,
    };
    for parts in [2, 3, 16] {
        g.set_parts(parts, 100);
        // Part boundaries fall on 64-row multiples; the last part is shorter.
        for n in [99, 100, 101, 1000, 3000] {
            let x = &d.x[..n * 10];
            for kernel in [Kernel::Fixed(v), Kernel::Auto] {
                let run = g.predict_blocking(x, kernel).unwrap();
                assert_bits(&flat, &run.outputs, x, &format!("{parts} parts, {n} rows"));
            }
        }
    }
    // Parts within chunks: 10 features x 4 bytes, 5120 bytes per binding = 128-row chunks.
    let mut g = GpuForest::new(context(), &flat, Some(5120)).unwrap();
    g.set_parts(4, 1);
    let run = g.predict_blocking(&d.x, Kernel::Fixed(v)).unwrap();
    assert_eq!(run.chunks, 3000usize.div_ceil(128));
    assert_bits(&flat, &run.outputs, &d.x, "parts within chunks");
}

#[test]
fn wide_rows_fall_back_to_the_row_kernel() {
    // Rows too wide for even 8 of them in this device's workgroup memory.
    let limit = context().device.limits().max_compute_workgroup_storage_size as usize;
    let nf = limit / 4 / 8 + 1;
    let d = synth::classification(300, nf, 10, 2, 6);
    let flat = forest(&d, 4, Some(6), 2);
    let mut g = GpuForest::new(context(), &flat, None).unwrap();
    assert_eq!(g.candidates(), &[Variant::Rows { invocations: 128 }]);
    let run = g.predict_blocking(&d.x, Kernel::Auto).unwrap();
    assert_bits(&flat, &run.outputs, &d.x, "rows");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]
    #[test]
    fn random_forests_on_random_rows(seed in 0u64..1000, classes in 0usize..5, nf in 1usize..20, depth in 1usize..14) {
        let classes = if classes == 1 { 2 } else { classes };
        let d = if classes == 0 {
            synth::regression(600, nf, nf.min(3), 1.0, seed)
        } else {
            synth::classification(600, nf, nf.min(4), classes, seed)
        };
        let d = with_missing(d, 7, seed);
        let flat = forest(&d, 1 + (seed % 40) as usize, Some(depth), seed);
        // Query rows: fresh random rows, with missing cells.
        let q = with_missing(synth::classification(333, nf, nf.min(4), 2, seed + 1), 5, seed);
        let mut g = GpuForest::new(context(), &flat, None).unwrap();
        let run = g.predict_blocking(&q.x, Kernel::Auto).unwrap();
        assert_bits(&flat, &run.outputs, &q.x, "auto");
    }
}

#[test]
fn a_forest_merged_from_worker_shards_matches_the_cpu() {
    // As the page trains: shards of trees grown apart, sent as messages, joined in order.
    let d = synth::classification(5000, 8, 4, 2, 7);
    let p = Params {
        n_trees: 8,
        max_depth: Some(6),
        max_features: Some("sqrt".parse().unwrap()),
        ..Params::default()
    };
    let shards: Vec<FlatForest> = [0..4, 4..8]
        .into_iter()
        .map(|r| {
            let s = gpuforest::tree_shards::grow(&d, None, &p, r, &|| {}).unwrap();
            gpuforest::protocol::frame::decode_shard(&gpuforest::protocol::frame::encode_shard(&s))
                .unwrap()
                .forest
        })
        .collect();
    let flat = FlatForest::concat(&shards);
    flat.validate().unwrap();
    check_every_kernel(&flat, &d.x);
}

#[test]
fn the_tuner_times_every_variant_and_keeps_the_fastest() {
    let d = synth::classification(3000, 10, 5, 2, 5);
    let flat = forest(&d, 20, Some(8), 2);
    let mut g = GpuForest::new(context(), &flat, None).unwrap();
    g.tune_on_emulated_adapters(true);
    let run = g.predict_blocking(&d.x, Kernel::Auto).unwrap();
    assert_bits(&flat, &run.outputs, &d.x, "tuned");
    let t = g.tuning().next().expect("one batch size measured");
    assert_eq!(t.rows, 3000);
    assert_eq!(t.times.len(), g.candidates().len(), "every variant timed");
    assert!(
        t.times.iter().all(|(_, ms)| ms.is_finite() && *ms > 0.0),
        "{:?}",
        t.times
    );
    let fastest = t.times.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0;
    assert_eq!((t.best, run.variant), (fastest, fastest));
    // The same bucket (2049..4096 rows) reuses the choice without measuring again.
    g.predict_blocking(&d.x[..2500 * 10], Kernel::Auto).unwrap();
    assert_eq!(g.tuning().count(), 1);
}

#[test]
fn forty_classes_match_the_cpu() {
    // Leaf vectors of 40: few chunk shapes fit workgroup memory; the row kernel always does.
    let d = synth::classification(3000, 8, 6, 40, 9);
    let flat = forest(&d, 20, Some(8), 5);
    assert_eq!(flat.leaf_width(), 40);
    check_every_kernel(&flat, &d.x);
}

#[test]
fn a_lost_device_is_an_error_and_a_new_context_works() {
    let d = synth::classification(300, 6, 3, 2, 4);
    let flat = forest(&d, 8, Some(6), 1);
    let ctx = context();
    let mut g = GpuForest::new(ctx.clone(), &flat, None).unwrap();
    assert_bits(
        &flat,
        &g.predict_blocking(&d.x, Kernel::Auto).unwrap().outputs,
        &d.x,
        "before",
    );
    ctx.device.destroy();
    let e = g
        .predict_blocking(&d.x, Kernel::Auto)
        .unwrap_err()
        .to_string();
    assert!(e.contains("the GPU device was lost"), "{e}");
    assert!(ctx.lost().is_some());
    // What the page and the CLI do next: a new context, the same forest, the same bits.
    let mut g = GpuForest::new(context(), &flat, None).unwrap();
    assert_bits(
        &flat,
        &g.predict_blocking(&d.x, Kernel::Auto).unwrap().outputs,
        &d.x,
        "after",
    );
}

#[test]
fn a_row_wider_than_a_binding_is_refused_before_any_buffer() {
    // 2^30 features: one row is 4 GiB, over any binding (they are capped under 4 GiB).
    let mut b = Builder::new(1 << 30, 1);
    b.start_tree();
    b.leaf(&[1.0]);
    let flat = b.finish();
    let e = GpuForest::new(context(), &flat, None)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        e.contains("one row of features take 4294967296 bytes"),
        "{e}"
    );
}

/// TreeSHAP on the GPU against the CPU's sums, for regression, two and three classes, rows with
/// missing values, in one chunk or several. The bound is the issue's: within 1e-6 of the row's
/// largest sum. A GPU compiler may fuse a multiplication and an addition (WGSL cannot forbid
/// it; on the H200 about 80% of the values differ in their last bits, by at most 4.2e-7 of the
/// row's largest); a CPU emulation (lavapipe) does not, and there the bits must be the CPU's,
/// which catches any drift between the two statements of the arithmetic.
#[test]
fn explanations_on_the_gpu_are_the_cpus() {
    use gpuforest::explain::Explainer;
    use gpuforest::gpu::GpuExplainer;
    let ctx = context();
    for classes in [0, 2, 3] {
        let d = if classes == 0 {
            synth::regression(300, 7, 4, 0.3, 5)
        } else {
            synth::classification(300, 7, 4, classes, 5)
        };
        let d = with_missing(d, 9, 3);
        let flat = forest(&d, 9, Some(6), 2);
        let e = Explainer::new(&flat).unwrap();
        let cpu = e.sums(&d.x);
        let mut g = GpuExplainer::new(ctx.clone(), &e).unwrap();
        let row = 7 * flat.leaf_width();
        for chunk in [usize::MAX, 70] {
            g.limit_chunk_rows(chunk);
            let gpu = g.sums_blocking(&d.x).unwrap();
            assert_eq!(gpu.len(), cpu.len());
            for (r, (c, gr)) in cpu.chunks(row).zip(gpu.chunks(row)).enumerate() {
                let largest = c.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                for (j, (a, b)) in c.iter().zip(gr).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-6 * largest,
                        "classes {classes}, chunks of {chunk}: row {r}, sum {j}: CPU {a}, GPU {b}"
                    );
                    if ctx.is_software() {
                        assert_eq!(
                            a.to_bits(),
                            b.to_bits(),
                            "row {r}, sum {j} on {}",
                            ctx.adapter_name()
                        );
                    }
                }
            }
        }
    }
}

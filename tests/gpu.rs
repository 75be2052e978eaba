//! The WGSL kernels against the CPU predictor over the same flat forest (the oracle).
//! Natively these run on whatever Vulkan adapter is present: lavapipe in CI (installed by
//! scripts/setup.sh), the real GPU on a GPU machine.

use gpuforest::data::{Dataset, synth};
use gpuforest::flat::FlatForest;
use gpuforest::forest::{Params, Trainer, argmax};
use gpuforest::gpu::{GpuContext, GpuForest, Kernel};
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

fn forest(d: &Dataset, trees: usize, depth: usize, seed: u64) -> FlatForest {
    let p = Params {
        n_trees: trees,
        max_depth: Some(depth),
        seed,
        ..Params::default()
    };
    let f = Trainer::new(d, &p).unwrap().train(&|| {});
    let n_out = if d.n_classes == 0 { 1 } else { d.n_classes };
    FlatForest::from_trees(&f.trees, d.n_features, n_out)
}

/// GPU outputs equal the CPU's within 1e-5 relative, and give the same labels.
fn assert_agrees(flat: &FlatForest, gpu: &[f32], x: &[f32]) {
    let cpu = flat.predict(x);
    assert_eq!(cpu.len(), gpu.len());
    let n_out = flat.n_outputs as usize;
    for (r, (c, g)) in cpu.chunks(n_out).zip(gpu.chunks(n_out)).enumerate() {
        for (a, b) in c.iter().zip(g) {
            let tol = 1e-5 * a.abs().max(1e-30);
            assert!((a - b).abs() <= tol, "row {r}: CPU {c:?} GPU {g:?}");
        }
        if n_out > 1 {
            assert_eq!(argmax(c), argmax(g), "row {r}: CPU {c:?} GPU {g:?}");
        }
    }
}

#[test]
fn both_kernels_match_the_cpu_with_missing_values_and_multiclass() {
    let d = with_missing(synth::classification(3000, 12, 6, 5, 3), 9, 1);
    let flat = forest(&d, 25, 10, 4);
    let mut g = GpuForest::new(context(), &flat, None).unwrap();
    // Rows with NaN cells, plus unseen extremes.
    let mut x = d.x.clone();
    x[0] = f32::MAX;
    x[1] = f32::MIN;
    for kernel in [Kernel::Direct, Kernel::Staged, Kernel::Auto] {
        let run = g.predict_blocking(&x, kernel).unwrap();
        assert_agrees(&flat, &run.outputs, &x);
        assert_eq!(run.chunks, 1);
    }
}

#[test]
fn regression_matches_the_cpu() {
    let d = with_missing(synth::regression(2000, 7, 4, 3.0, 2), 11, 2);
    let flat = forest(&d, 16, 12, 9);
    let mut g = GpuForest::new(context(), &flat, None).unwrap();
    for kernel in [Kernel::Direct, Kernel::Staged] {
        assert_agrees(
            &flat,
            &g.predict_blocking(&d.x, kernel).unwrap().outputs,
            &d.x,
        );
    }
}

#[test]
fn a_batch_over_the_binding_limit_is_chunked() {
    let d = synth::classification(5000, 8, 4, 3, 5);
    let flat = forest(&d, 10, 8, 1);
    // 8 features x 4 bytes: 4096 bytes per binding holds 128 rows.
    let mut g = GpuForest::new(context(), &flat, Some(4096)).unwrap();
    assert_eq!(g.chunk_rows(), 128);
    let x = &d.x[..1000 * 8];
    for kernel in [Kernel::Direct, Kernel::Staged] {
        let run = g.predict_blocking(x, kernel).unwrap();
        assert_eq!(run.chunks, 8, "1000 rows in chunks of 128");
        assert_agrees(&flat, &run.outputs, x);
    }
    // Buffers are reused across calls of different sizes.
    for n in [1, 77, 128, 129, 1000] {
        let run = g.predict_blocking(&x[..n * 8], Kernel::Auto).unwrap();
        assert_agrees(&flat, &run.outputs, &x[..n * 8]);
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
    let flat = forest(&d, 12, 9, 4);
    let mut g = GpuForest::new(context(), &flat, None).unwrap();
    for parts in [2, 3, 16] {
        g.set_parts(parts, 100);
        // Part boundaries fall on 64-row multiples; the last part is shorter.
        for n in [99, 100, 101, 1000, 3000] {
            for kernel in [Kernel::Direct, Kernel::Staged] {
                let x = &d.x[..n * 10];
                let run = g.predict_blocking(x, kernel).unwrap();
                assert_agrees(&flat, &run.outputs, x);
            }
        }
    }
    // Parts within chunks: 10 features x 4 bytes, 5120 bytes per binding = 128-row chunks.
    let mut g = GpuForest::new(context(), &flat, Some(5120)).unwrap();
    g.set_parts(4, 1);
    let run = g.predict_blocking(&d.x, Kernel::Direct).unwrap();
    assert_eq!(run.chunks, 3000usize.div_ceil(128));
    assert_agrees(&flat, &run.outputs, &d.x);
}

#[test]
fn wide_rows_fall_back_to_the_direct_kernel() {
    // 300 features do not fit 32 rows in 16 KiB of workgroup memory.
    let d = synth::classification(400, 300, 10, 2, 6);
    let flat = forest(&d, 4, 6, 2);
    let mut g = GpuForest::new(context(), &flat, None).unwrap();
    let run = g.predict_blocking(&d.x, Kernel::Auto).unwrap();
    assert_eq!(run.kernel, Kernel::Direct);
    assert_agrees(&flat, &run.outputs, &d.x);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]
    #[test]
    fn random_forests_on_random_rows(seed in 0u64..1000, classes in 0usize..4, nf in 1usize..20, depth in 1usize..14) {
        let classes = if classes == 1 { 2 } else { classes };
        let d = if classes == 0 {
            synth::regression(600, nf, nf.min(3), 1.0, seed)
        } else {
            synth::classification(600, nf, nf.min(4), classes, seed)
        };
        let d = with_missing(d, 7, seed);
        let flat = forest(&d, 1 + (seed % 9) as usize, depth, seed);
        // Query rows: fresh random rows, with missing cells.
        let q = with_missing(synth::classification(333, nf, nf.min(4), 2, seed + 1), 5, seed);
        let mut g = GpuForest::new(context(), &flat, None).unwrap();
        let run = g.predict_blocking(&q.x, Kernel::Auto).unwrap();
        assert_agrees(&flat, &run.outputs, &q.x);
    }
}

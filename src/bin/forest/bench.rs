//! `forest bench`: scores batches of several sizes on the CPU (all cores, one core) and on
//! the GPU (each kernel), and reports medians of timed runs after a warm-up run.

use gpuforest::data::synth;
use gpuforest::flat::FlatForest;
use gpuforest::forest::{Model, Params, Trainer};
use gpuforest::gpu::{GpuContext, GpuForest, Kernel};
use gpuforest::{Error, Result};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Score with this saved model instead of training one on synthetic data.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Synthetic training rows.
    #[arg(long, default_value_t = 100_000)]
    train_rows: usize,
    /// Features of the synthetic data.
    #[arg(long, default_value_t = 32)]
    features: usize,
    #[arg(long, default_value_t = 200)]
    trees: usize,
    #[arg(long, default_value_t = 12)]
    max_depth: usize,
    /// Batch sizes to score, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,100,1000,10000,100000,1000000"
    )]
    batches: Vec<usize>,
    /// Timed runs per measurement (after one warm-up); the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Skip the one-core CPU measurement for batches larger than this.
    #[arg(long, default_value_t = usize::MAX)]
    single_core_max: usize,
    /// Also print one JSON line per measurement on stdout.
    #[arg(long)]
    json: bool,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Median wall time in ms of `runs` calls after one warm-up; fewer runs when one is slow.
fn time_ms(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let t = Instant::now();
    f()?;
    let warm = t.elapsed().as_secs_f64();
    let runs = if warm > 2.0 { 1 } else { runs.max(1) };
    let mut v = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        v.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(median(v))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Row {
    batch: usize,
    scorer: String,
    ms: f64,
    kernel_ms: Option<f64>,
    max_diff: Option<f64>,
}

pub fn run(a: BenchArgs) -> Result<()> {
    let threads = rayon::current_num_threads();
    let (forest, describe) = match &a.model {
        Some(path) => {
            let m = Model::load(path)?;
            let d = format!("model {} ({} trees)", path.display(), m.forest.n_trees());
            (m.forest, d)
        }
        None => {
            eprintln!(
                "training {} trees (depth {}) on {} x {} synthetic rows...",
                a.trees, a.max_depth, a.train_rows, a.features
            );
            let d = synth::classification(a.train_rows, a.features, a.features / 2, 2, a.seed);
            let p = Params {
                n_trees: a.trees,
                max_depth: Some(a.max_depth),
                seed: a.seed,
                ..Params::default()
            };
            let t = Instant::now();
            let f = Trainer::new(&d, &p)?.train(&|| {});
            let secs = t.elapsed().as_secs_f64();
            let flat = FlatForest::from_trees(&f.trees, d.n_features, 2);
            let desc = format!(
                "{} trees, depth {}, trained on {} x {} synthetic rows in {secs:.2} s",
                a.trees, a.max_depth, a.train_rows, a.features
            );
            (flat, desc)
        }
    };
    let nf = forest.n_features as usize;
    let max_batch = a.batches.iter().copied().max().unwrap_or(0);
    let queries = synth::classification(max_batch.max(1), nf, (nf / 2).max(1), 2, a.seed + 1);
    let visits = mean_visits(&forest, &queries.x[..nf * max_batch.clamp(1, 10_000)]);
    let ctx = pollster::block_on(GpuContext::new())?;
    let adapter = ctx.adapter_name();
    let timestamps = ctx.timestamps;
    let mut gpu = GpuForest::new(ctx, &forest, None)?;
    // With --json the JSON lines own stdout and the table goes to stderr.
    let json = a.json;
    let say = |line: String| {
        if json {
            eprintln!("{line}")
        } else {
            println!("{line}")
        }
    };
    say(format!(
        "forest   {describe}; {} nodes, {visits:.1} node visits per (row, tree)",
        forest.nodes.len()
    ));
    say(format!(
        "adapter  {adapter}; timestamp queries: {}",
        if timestamps { "yes" } else { "no" }
    ));
    say(format!(
        "cpu      {threads} threads; median of {} runs after a warm-up",
        a.runs
    ));
    say(String::new());
    say(format!(
        "{:>9}  {:<14} {:>11} {:>11} {:>12} {:>10}",
        "rows", "scorer", "end-to-end", "kernel", "rows/s", "max |diff|"
    ));
    let mut kernels = vec![Kernel::Direct];
    if gpu.has_staged_kernel() {
        kernels.push(Kernel::Staged);
    }
    for &batch in &a.batches {
        let x = &queries.x[..batch * nf];
        let mut rows = Vec::new();
        let mut cpu_out = Vec::new();
        let ms = time_ms(a.runs, || {
            cpu_out = forest.predict(x);
            Ok(())
        })?;
        rows.push(Row {
            batch,
            scorer: format!("cpu {threads} threads"),
            ms,
            kernel_ms: None,
            max_diff: None,
        });
        if batch <= a.single_core_max {
            let mut out = vec![0.0; cpu_out.len()];
            let ms = time_ms(a.runs, || {
                forest.predict_single_thread(x, &mut out);
                Ok(())
            })?;
            rows.push(Row {
                batch,
                scorer: "cpu 1 thread".into(),
                ms,
                kernel_ms: None,
                max_diff: None,
            });
        }
        for &k in &kernels {
            let mut kernel_ms = Vec::new();
            let mut outputs = Vec::new();
            let ms = time_ms(a.runs, || {
                let r = gpu.predict_blocking(x, k)?;
                if let Some(t) = r.kernel_ms {
                    kernel_ms.push(t);
                }
                outputs = r.outputs;
                Ok(())
            })?;
            // The warm-up's kernel time is dropped with the first entry.
            let kernel = (kernel_ms.len() > 1).then(|| median(kernel_ms[1..].to_vec()));
            let diff = cpu_out
                .iter()
                .zip(&outputs)
                .map(|(a, b)| f64::from((a - b).abs()))
                .fold(0.0, f64::max);
            if outputs.len() != cpu_out.len() {
                return Err(Error::Gpu(
                    "GPU returned the wrong number of outputs".into(),
                ));
            }
            let name = format!(
                "gpu {}",
                if k == Kernel::Staged {
                    "staged"
                } else {
                    "direct"
                }
            );
            rows.push(Row {
                batch,
                scorer: name,
                ms,
                kernel_ms: kernel,
                max_diff: Some(diff),
            });
        }
        for r in rows {
            let rate = r.batch as f64 / (r.ms / 1e3);
            say(format!(
                "{:>9}  {:<14} {:>8.3} ms {:>11} {:>12} {:>10}",
                r.batch,
                r.scorer,
                r.ms,
                r.kernel_ms.map_or("-".into(), |k| format!("{k:.3} ms")),
                format!("{:.2} M", rate / 1e6),
                r.max_diff.map_or("-".into(), |d| format!("{d:.1e}")),
            ));
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "batch_rows": r.batch, "scorer": r.scorer, "end_to_end_ms": r.ms,
                        "kernel_ms": r.kernel_ms, "rows_per_s": rate, "max_abs_diff": r.max_diff,
                        "adapter": adapter, "trees": forest.n_trees(), "nodes": forest.nodes.len(),
                        "features": nf,
                    })
                );
            }
        }
    }
    Ok(())
}

/// Mean number of nodes visited per (row, tree), leaves included.
fn mean_visits(f: &FlatForest, x: &[f32]) -> f64 {
    let nf = f.n_features as usize;
    let mut total = 0u64;
    let rows = x.len() / nf;
    for row in x.chunks_exact(nf) {
        for &root in &f.roots {
            let mut i = root as usize;
            total += 1;
            while f.nodes[i].flags & gpuforest::flat::LEAF == 0 {
                let n = f.nodes[i];
                let v = row[n.feature as usize];
                let left = if v.is_nan() {
                    n.flags & gpuforest::flat::MISSING_LEFT != 0
                } else {
                    v <= n.threshold
                };
                i = if left { i + 1 } else { n.far as usize };
                total += 1;
            }
        }
    }
    total as f64 / (rows.max(1) * f.roots.len()) as f64
}

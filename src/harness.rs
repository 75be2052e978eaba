//! The harness behind `forest bench` (native only; the CLI's entry point only parses its
//! arguments): scores batches of several sizes on the CPU (all cores, one core) and on
//! the GPU (end to end, rows kept on the GPU, and each kernel variant), and reports medians of
//! timed runs after a warm-up run.

use crate::data::{read_table, synth};
use crate::flat::FlatForest;
use crate::forest::{Params, Trainer};
use crate::gpu::{GpuContext, GpuForest, Kernel, Upload};
use crate::model::Model;
use crate::spoken;
use crate::{Error, Result};
use std::path::PathBuf;
use std::time::Instant;

mod explain;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Score with this saved model instead of training one on synthetic data.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Score the rows of this CSV (columns by name, as `predict`; needs --model) instead of
    /// synthetic rows, so other tools can score the very same rows.
    #[arg(long)]
    rows: Option<PathBuf>,
    /// Synthetic training rows.
    #[arg(long, default_value_t = 100_000)]
    train_rows: usize,
    /// Features of the synthetic data.
    #[arg(long, default_value_t = 32)]
    features: usize,
    /// Classes of the synthetic data (0: a regression forest).
    #[arg(long, default_value_t = 2)]
    classes: usize,
    #[arg(long, default_value_t = 200)]
    trees: usize,
    /// Maximum depth; 0 for unlimited.
    #[arg(long, default_value_t = 12)]
    max_depth: usize,
    /// Batch sizes to score, comma-separated (default: 1,100,1000,10000,100000,1000000, or
    /// every row of --rows).
    #[arg(long, value_delimiter = ',')]
    batches: Option<Vec<usize>>,
    /// Timed runs per measurement (after one warm-up); the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Skip the one-core CPU measurement for batches larger than this.
    #[arg(long, default_value_t = usize::MAX)]
    single_core_max: usize,
    /// Also measure end to end with batches split into these numbers of parts.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    parts: Vec<usize>,
    /// Also measure end to end with rows uploaded by `queue.write_buffer`.
    #[arg(long)]
    write_buffer: bool,
    /// Only the CPU measurements (no GPU needed).
    #[arg(long)]
    cpu_only: bool,
    /// Fail rather than measure when the only GPU adapter is a CPU emulation (lavapipe,
    /// SwiftShader): a benchmark of a GPU host whose driver did not load would otherwise time
    /// the CPU. The image without lavapipe sets FOREST_REQUIRE_GPU=1.
    #[arg(long, env = "FOREST_REQUIRE_GPU", value_parser = clap::builder::BoolishValueParser::new())]
    require_gpu: bool,
    /// Skip timing every kernel variant on its own.
    #[arg(long)]
    no_variants: bool,
    /// Keep the GPU busy this long before each batch size's GPU runs (clocks up).
    #[arg(long, default_value_t = 300.0)]
    gpu_warmup_ms: f64,
    /// Also print one JSON line per measurement on stdout.
    #[arg(long)]
    json: bool,
    /// Time explanations (TreeSHAP values) instead of scoring: the CPU on every thread and on
    /// one, and the GPU, with the GPU's values compared with the CPU's.
    #[arg(long)]
    explain: bool,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Median wall time in ms of `runs` calls after one warm-up; a call over 2 s is timed once,
/// the warm-up itself (its fixed costs are nothing beside its work).
fn time_ms(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let t = Instant::now();
    f()?;
    let warm = t.elapsed().as_secs_f64() * 1e3;
    if warm > 2e3 {
        return Ok(warm);
    }
    let mut v = Vec::with_capacity(runs.max(1));
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        f()?;
        v.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(median(v))
}

/// The adapter named as the page names it: a software adapter is called one.
fn adapter_label(ctx: &GpuContext) -> String {
    crate::protocol::GpuAdapter {
        name: ctx.adapter_name(),
        timestamps: ctx.timestamps,
        software: ctx.is_software(),
    }
    .label()
}

/// The GPU to measure. A CPU emulation is refused with --require-gpu, and said loudly where
/// the NVIDIA Container Toolkit's variable asks for GPUs (the driver did not reach this
/// process): only the adapter line would tell otherwise.
fn open_gpu(a: &BenchArgs) -> Result<GpuContext> {
    let ctx = pollster::block_on(GpuContext::new())?;
    if ctx.is_software() {
        let name = ctx.adapter_name();
        if a.require_gpu {
            return Err(Error::Gpu(format!(
                "the only GPU adapter is {name}, a CPU emulation, and a GPU is required \
                 (--require-gpu or FOREST_REQUIRE_GPU): no GPU driver reached this process"
            )));
        }
        let asked = std::env::var("NVIDIA_VISIBLE_DEVICES")
            .is_ok_and(|v| !matches!(v.trim(), "" | "void" | "none"));
        if asked {
            eprintln!(
                "WARNING: NVIDIA_VISIBLE_DEVICES asks for GPUs, but the only GPU adapter is \
                 {name}, a CPU emulation: every GPU figure below is the CPU's"
            );
        }
    }
    Ok(ctx)
}

/// [`time_ms`] of GPU runs: also the median kernel time (the warm-up's dropped) and the last run.
fn time_gpu(
    runs: usize,
    mut f: impl FnMut() -> Result<crate::gpu::GpuRun>,
) -> Result<(f64, Option<f64>, crate::gpu::GpuRun)> {
    let mut kernel_ms = Vec::new();
    let mut last = None;
    let ms = time_ms(runs, || {
        let r = f()?;
        kernel_ms.extend(r.kernel_ms);
        last = Some(r);
        Ok(())
    })?;
    let kernel = (kernel_ms.len() > 1).then(|| median(kernel_ms[1..].to_vec()));
    Ok((ms, kernel, last.expect("time_ms runs at least once")))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Row {
    batch: usize,
    scorer: String,
    /// End to end (None for a kernel alone).
    ms: Option<f64>,
    kernel_ms: Option<f64>,
    /// Outputs that differ in their bits from the CPU's.
    mismatches: Option<usize>,
    variant: Option<String>,
    threads: Option<usize>,
    /// Where the last GPU run's time went.
    phases: Option<crate::gpu::Phases>,
}

/// Outputs of `other` (the GPU's, or one CPU thread's) whose bits differ from `cpu`'s.
fn mismatches(cpu: &[f32], other: &[f32]) -> Result<usize> {
    if cpu.len() != other.len() {
        return Err(Error::Gpu(format!(
            "{} outputs where the CPU gave {}",
            other.len(),
            cpu.len()
        )));
    }
    Ok(cpu
        .iter()
        .zip(other)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count())
}

pub fn run(a: BenchArgs) -> Result<()> {
    let threads = rayon::current_num_threads();
    let (forest, describe, model) = match &a.model {
        Some(path) => {
            let m = Model::load(path)?;
            let d = format!("model {} ({} trees)", path.display(), m.forest.n_trees());
            (m.forest.clone(), d, Some(m))
        }
        None => {
            if a.features == 0 {
                return Err(Error::InvalidParam("--features must be at least 1".into()));
            }
            eprintln!(
                "training {} trees (depth {}) on {} x {} synthetic rows...",
                a.trees, a.max_depth, a.train_rows, a.features
            );
            let d = if a.classes == 0 {
                synth::regression(a.train_rows, a.features, a.features / 2, 1.0, a.seed)
            } else {
                synth::classification(
                    a.train_rows,
                    a.features,
                    a.features / 2,
                    a.classes.max(2),
                    a.seed,
                )
            };
            let p = Params {
                n_trees: a.trees,
                max_depth: (a.max_depth > 0).then_some(a.max_depth),
                seed: a.seed,
                ..Params::default()
            };
            let t = Instant::now();
            let f = Trainer::new(&d, &p)?.train(&|| {});
            let secs = t.elapsed().as_secs_f64();
            let n_out = if a.classes == 0 { 1 } else { d.n_classes };
            let flat = crate::forest::flatten(&f.trees, d.n_features, n_out);
            let depth = if a.max_depth > 0 {
                a.max_depth.to_string()
            } else {
                "unlimited".into()
            };
            let desc = format!(
                "{} trees, depth {depth}, {} outputs, trained on {} x {} synthetic rows in {secs:.2} s",
                a.trees, n_out, a.train_rows, a.features
            );
            (flat, desc, None)
        }
    };
    let nf = forest.n_features as usize;
    let (queries, batches) = match (&a.rows, &model) {
        (Some(path), Some(m)) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
            let x = m.features_of(&read_table(&bytes)?)?;
            let n = x.len() / nf;
            let batches = a.batches.clone().unwrap_or_else(|| vec![n]);
            if let Some(&b) = batches.iter().find(|&&b| b > n) {
                return Err(Error::InvalidParam(format!(
                    "batch of {b} rows, but {} has {n} rows",
                    path.display()
                )));
            }
            (x, batches)
        }
        (Some(_), None) => {
            return Err(Error::InvalidParam(
                "--rows needs --model (its columns are matched by name)".into(),
            ));
        }
        (None, _) => {
            let batches = a
                .batches
                .clone()
                .unwrap_or_else(|| vec![1, 100, 1000, 10_000, 100_000, 1_000_000]);
            let max = batches.iter().copied().max().unwrap_or(1).max(1);
            let q = synth::classification(max, nf, (nf / 2).max(1), 2, a.seed + 1);
            (q.x, batches)
        }
    };
    if a.explain {
        return explain::run(&a, &forest, &describe, &queries, &batches);
    }
    let sample = &queries[..nf * (queries.len() / nf).clamp(1, 10_000)];
    let visits = mean_visits(&forest, sample);
    let (mut gpu, adapter, timestamps, software) = if a.cpu_only {
        (None, "none (--cpu-only)".to_string(), false, false)
    } else {
        let ctx = open_gpu(&a)?;
        let (label, timestamps, software) =
            (adapter_label(&ctx), ctx.timestamps, ctx.is_software());
        let forest = GpuForest::new(ctx, &forest, None)?;
        (Some(forest), label, timestamps, software)
    };
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
        "forest   {describe}; {} nodes of {} bytes, {visits:.1} node visits per (row, tree)",
        forest.n_nodes(),
        forest.node_words() * 4
    ));
    say(format!(
        "adapter  {adapter}; timestamp queries: {}",
        if timestamps { "yes" } else { "no" }
    ));
    say(format!(
        "cpu      {threads} threads; median of {} runs after a warm-up{}",
        a.runs,
        if gpu.is_some() {
            format!(
                "; GPU busy {} ms before each size; GPU outputs compared bit for bit with the CPU's",
                a.gpu_warmup_ms
            )
        } else {
            String::new()
        }
    ));
    // Planned once, as a service holding a model scores batch after batch (the page's
    // workers, the Python package): planning costs O(nodes) and is no part of a batch's time.
    let planned = crate::flat::PlannedForest::new(forest.clone());
    // Outputs whose bits differ from the CPU's (all threads), summed over every batch.
    let (mut one_differ, mut gpu_differ) = (None::<usize>, None::<usize>);
    say(String::new());
    say(format!(
        "{:>9}  {:<22} {:>11} {:>11} {:>10} {:>11} {:>9}",
        "rows", "scorer", "end-to-end", "kernel", "rows/s", "visits/s", "bits"
    ));
    for &batch in &batches {
        let x = &queries[..batch * nf];
        let mut rows = Vec::new();
        let mut cpu_out = Vec::new();
        let ms = time_ms(a.runs, || {
            cpu_out = planned.predict(x);
            Ok(())
        })?;
        rows.push(Row {
            batch,
            scorer: format!("cpu {threads} threads"),
            ms: Some(ms),
            kernel_ms: None,
            mismatches: None,
            variant: None,
            threads: Some(threads),
            phases: None,
        });
        if batch <= a.single_core_max {
            let mut out = vec![0.0; cpu_out.len()];
            let ms = time_ms(a.runs, || {
                planned.predict_single_thread(x, &mut out);
                Ok(())
            })?;
            rows.push(Row {
                batch,
                scorer: "cpu 1 thread".into(),
                ms: Some(ms),
                kernel_ms: None,
                // One thread against all: the same walk over other splits of the rows.
                mismatches: Some(mismatches(&cpu_out, &out)?),
                variant: None,
                threads: Some(1),
                phases: None,
            });
        }
        if let Some(gpu) = gpu.as_mut() {
            rows.extend(gpu_rows(gpu, &a, batch, x, &cpu_out)?);
        }
        for r in &rows {
            let slot = if r.scorer == "cpu 1 thread" {
                &mut one_differ
            } else if r.scorer.starts_with("gpu") {
                &mut gpu_differ
            } else {
                continue;
            };
            if let Some(m) = r.mismatches {
                *slot = Some(slot.unwrap_or(0) + m);
            }
        }
        for r in rows {
            let secs = r.ms.or(r.kernel_ms).map(|ms| ms / 1e3);
            let rate = secs.map(|s| r.batch as f64 / s);
            let visits_per_s = rate.map(|v| v * visits * forest.n_trees() as f64);
            say(format!(
                "{:>9}  {:<22} {:>11} {:>11} {:>10} {:>11} {:>9}",
                r.batch,
                r.scorer,
                r.ms.map_or("-".into(), |ms| format!("{ms:.3} ms")),
                r.kernel_ms.map_or("-".into(), |k| format!("{k:.3} ms")),
                rate.map_or("-".into(), |v| format!("{:.2} M", v / 1e6)),
                visits_per_s.map_or("-".into(), |v| format!("{:.1} G", v / 1e9)),
                r.mismatches.map_or("-".into(), |m| if m == 0 {
                    "equal".into()
                } else {
                    format!("{m} differ")
                }),
            ));
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "batch_rows": r.batch, "scorer": r.scorer, "end_to_end_ms": r.ms,
                        "kernel_ms": r.kernel_ms, "rows_per_s": rate,
                        "node_visits_per_s": visits_per_s, "bits_differ": r.mismatches,
                        "variant": r.variant, "threads": r.threads,
                        "submit_ms": r.phases.map(|p| p.submit_ms), "wait_ms": r.phases.map(|p| p.wait_ms),
                        "read_ms": r.phases.map(|p| p.read_ms),
                        "adapter": adapter, "trees": forest.n_trees(), "nodes": forest.n_nodes(),
                        "node_bytes": forest.node_words() * 4, "features": nf,
                        "outputs": forest.n_outputs, "visits_per_tree": visits,
                    })
                );
            }
        }
    }
    let gpu_outputs = match gpu_differ {
        Some(differ) => spoken::GpuOutputs::Compared { differ, software },
        None => spoken::GpuOutputs::DidNotRun(if a.cpu_only {
            "--cpu-only"
        } else {
            "no GPU row was compared"
        }),
    };
    say(format!(
        "outputs  {} (every batch)",
        spoken::outputs_line(&format!("CPU {threads} threads"), one_differ, gpu_outputs)
            .replace(spoken::NBSP, " ")
    ));
    say(format!(
        "cpu walk {} (on x86-64 the faster of AVX2 gathers and the scalar walk, measured on the first large batch)",
        crate::flat::cpu_walk()
    ));
    if gpu.is_some() {
        say(String::new());
        say(
            "tuning (ms per dispatch of each variant, as measured by the tuner; * = chosen)".into(),
        );
    }
    for t in gpu.iter().flat_map(|g| g.tuning()) {
        let times: Vec<String> = t
            .times
            .iter()
            .map(|(v, ms)| {
                let star = if *v == t.best { "*" } else { "" };
                format!("{}{star} {ms:.3}", v.name())
            })
            .collect();
        if times.is_empty() {
            say(format!(
                "{:>9}  {} (not measured: the adapter is a CPU emulation)",
                t.rows,
                t.best.name()
            ));
        } else {
            say(format!("{:>9}  {}", t.rows, times.join("  ")));
        }
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "tuning_rows": t.rows, "chosen": t.best.name(),
                    "ms_per_dispatch": t.times.iter().map(|(v, ms)| (v.name(), *ms)).collect::<std::collections::BTreeMap<_, _>>(),
                })
            );
        }
    }
    Ok(())
}

/// The GPU's measurements of one batch: end to end (each upload path and split asked for), rows
/// kept on the GPU, and each kernel variant on its own.
fn gpu_rows(
    gpu: &mut GpuForest,
    a: &BenchArgs,
    batch: usize,
    x: &[f32],
    cpu_out: &[f32],
) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let candidates = gpu.candidates().to_vec();
    // Rows already on the GPU: the page's repeated runs. They also keep the GPU busy for
    // --gpu-warmup-ms first: after the CPU's runs it idles at low clocks otherwise.
    let resident = pollster::block_on(gpu.upload(x))?;
    let t0 = Instant::now();
    while t0.elapsed().as_secs_f64() * 1e3 < a.gpu_warmup_ms {
        pollster::block_on(gpu.score(&resident, Kernel::Auto))?;
    }
    // End to end: the first run also measures the variants (once per size bucket).
    let mut e2e = vec![(1usize, Upload::Staging)];
    for &p in &a.parts {
        if p != 1 {
            e2e.push((p, Upload::Staging));
        }
    }
    if a.write_buffer {
        e2e.push((1, Upload::WriteBuffer));
    }
    for (parts, upload) in e2e {
        gpu.set_parts(parts, 0);
        gpu.set_upload(upload);
        let (ms, kernel_ms, r) = time_gpu(a.runs, || gpu.predict_blocking(x, Kernel::Auto))?;
        let mut name = "gpu".to_string();
        if parts > 1 {
            name += &format!(" {parts} parts");
        }
        if upload == Upload::WriteBuffer {
            name += " write_buffer";
        }
        rows.push(Row {
            batch,
            scorer: name,
            ms: Some(ms),
            kernel_ms,
            mismatches: Some(mismatches(cpu_out, &r.outputs)?),
            variant: Some(r.variant.name()),
            threads: None,
            phases: Some(r.phases),
        });
    }
    gpu.set_parts(1, usize::MAX);
    gpu.set_upload(Upload::Staging);
    let mut kinds = vec![Kernel::Auto];
    if !a.no_variants {
        kinds.extend(candidates.iter().map(|&v| Kernel::Fixed(v)));
    }
    for kernel in kinds {
        let (ms, kernel_ms, r) =
            time_gpu(a.runs, || pollster::block_on(gpu.score(&resident, kernel)))?;
        let auto = kernel == Kernel::Auto;
        rows.push(Row {
            batch,
            scorer: if auto {
                "gpu resident".into()
            } else {
                format!("gpu kernel {}", r.variant.name())
            },
            ms: auto.then_some(ms),
            kernel_ms,
            mismatches: Some(mismatches(cpu_out, &r.outputs)?),
            variant: Some(r.variant.name()),
            threads: None,
            phases: Some(r.phases),
        });
    }
    Ok(rows)
}

/// Mean number of nodes visited per (row, tree), leaves included.
fn mean_visits(f: &FlatForest, x: &[f32]) -> f64 {
    let nf = f.n_features as usize;
    let rows = x.len() / nf;
    let total: usize = x
        .chunks_exact(nf)
        .map(|row| (0..f.n_trees()).map(|t| f.path_len(t, row)).sum::<usize>())
        .sum();
    total as f64 / (rows.max(1) * f.n_trees()) as f64
}

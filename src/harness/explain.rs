//! `forest bench --explain`: TreeSHAP values of the same rows on the CPU (every thread, one)
//! and the GPU, per batch size, with the GPU's values compared with the CPU's (the bound of
//! `crate::explain`: within 1e-6 of the row's largest value).

use super::{BenchArgs, adapter_label, open_gpu, time_ms};
use crate::explain::Explainer;
use crate::flat::FlatForest;
use crate::gpu::GpuExplainer;
use crate::{Error, Result};
use std::time::Instant;

/// The largest difference between `cpu`'s and `other`'s sums, as a share of each row's largest.
fn largest_gap(cpu: &[f32], other: &[f32], per_row: usize) -> f64 {
    cpu.chunks(per_row)
        .zip(other.chunks(per_row))
        .map(|(c, o)| {
            let big = c
                .iter()
                .fold(0.0f32, |m, v| m.max(v.abs()))
                .max(f32::MIN_POSITIVE);
            c.iter()
                .zip(o)
                .map(|(a, b)| f64::from((a - b).abs() / big))
                .fold(0.0, f64::max)
        })
        .fold(0.0, f64::max)
}

pub(super) fn run(
    a: &BenchArgs,
    forest: &FlatForest,
    describe: &str,
    queries: &[f32],
    batches: &[usize],
) -> Result<()> {
    let threads = rayon::current_num_threads();
    let nf = forest.n_features as usize;
    let t = Instant::now();
    let explainer = Explainer::new(forest)?;
    let paths_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut gpu = if a.cpu_only {
        None
    } else {
        let ctx = open_gpu(a)?;
        Some((adapter_label(&ctx), GpuExplainer::new(ctx, &explainer)?))
    };
    let out = |line: String| {
        if a.json {
            eprintln!("{line}")
        } else {
            println!("{line}")
        }
    };
    let p = explainer.paths();
    out(format!(
        "forest   {describe}; {} nodes, {} paths of up to {} features ({paths_ms:.0} ms to lay out)",
        forest.n_nodes(),
        p.n_paths(),
        p.longest
    ));
    out(format!(
        "adapter  {}; cpu {threads} threads; median of {} runs after a warm-up (a call past 2 s: once)",
        gpu.as_ref().map_or("none (--cpu-only)", |g| g.0.as_str()),
        a.runs
    ));
    out(format!(
        "\n{:>9}  {:<16} {:>13} {:>12}  GPU against CPU",
        "rows", "explainer", "end-to-end", "rows/s"
    ));
    let per_row = nf * forest.leaf_width();
    for &batch in batches {
        let x = &queries[..batch * nf];
        explainer.check_rows(batch)?;
        let mut cpu = Vec::new();
        let ms = time_ms(a.runs, || {
            cpu = explainer.sums(x);
            Ok(())
        })?;
        let mut rows = vec![(format!("cpu {threads} threads"), ms, Some(threads), None)];
        if batch <= a.single_core_max {
            let ms = time_ms(a.runs, || {
                explainer.sums_single_thread(x);
                Ok(())
            })?;
            rows.push(("cpu 1 thread".to_string(), ms, Some(1), None));
        }
        if let Some((_, g)) = gpu.as_mut() {
            let mut sums = Vec::new();
            let ms = time_ms(a.runs, || {
                sums = g.sums_blocking(x)?;
                Ok(())
            })?;
            if sums.len() != cpu.len() {
                return Err(Error::Gpu(format!(
                    "{} sums where the CPU gave {}",
                    sums.len(),
                    cpu.len()
                )));
            }
            rows.push((
                "gpu".into(),
                ms,
                None,
                Some(largest_gap(&cpu, &sums, per_row)),
            ));
        }
        for (scorer, ms, threads, gap) in rows {
            let rate = batch as f64 / (ms / 1e3);
            out(format!(
                "{batch:>9}  {scorer:<16} {:>10.3} ms {rate:>12.0}  {}",
                ms,
                gap.map_or(String::new(), |g| format!("{g:.1e} of the row's largest"))
            ));
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "explain": true, "batch_rows": batch, "scorer": scorer,
                        "end_to_end_ms": ms, "rows_per_s": rate, "threads": threads,
                        "gap_of_row_largest": gap,
                        "adapter": gpu.as_ref().map(|g| g.0.clone()),
                        "trees": forest.n_trees(), "nodes": forest.n_nodes(),
                        "paths": p.n_paths(), "longest_path": p.longest, "features": nf,
                        "outputs": forest.n_outputs,
                    })
                );
            }
        }
    }
    Ok(())
}

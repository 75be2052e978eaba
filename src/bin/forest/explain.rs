//! `forest explain`: contributions as CSV, one row in words, or the features' mean
//! |contribution| beside their importances.

use super::{Device, gpu_for, read_csv, write};
use gpuforest::data::{Table, Task};
use gpuforest::explain::{Explainer, Explanation, covers_from_rows, margins};
use gpuforest::model::Model;
use gpuforest::{Error, Result};
use std::path::Path;
use std::time::Instant;

/// What to print besides (or instead of) the CSV.
pub struct Show {
    /// One row, by its number in the file (from 1).
    pub row: Option<usize>,
    pub summary: bool,
}

/// Contributions shown one to a line for `--row`; the rest are summed on one line.
const SHOWN: usize = 10;

pub fn run(
    model: &Path,
    csv: &Path,
    device: Device,
    background: Option<&Path>,
    show: Show,
    out: Option<&Path>,
) -> Result<()> {
    let model = Model::load(model)?;
    let explainer = match background {
        Some(b) => {
            let x = model.features_of(&read_csv(b)?)?;
            let covers = covers_from_rows(&model.forest, &x);
            eprintln!(
                "covers counted from the {} rows of {}",
                x.len() / model.forest.n_features.max(1) as usize,
                b.display()
            );
            Explainer::with_covers(&model.forest, &covers)?
        }
        None => Explainer::new(&model.forest)?,
    };
    let table = read_csv(csv)?;
    let nf = model.forest.n_features.max(1) as usize;
    let mut x = model.features_of(&table)?;
    let file_rows = x.len() / nf;
    if let Some(r) = show.row {
        if r == 0 || r > file_rows {
            return Err(Error::InvalidParam(format!(
                "--row {r}: {} has rows 1 to {file_rows}",
                csv.display()
            )));
        }
        x = x[(r - 1) * nf..r * nf].to_vec();
    }
    let n_rows = x.len() / nf;
    explainer.check_rows(n_rows)?;
    let start = Instant::now();
    let (sums, on) = match gpu_for(device, "explaining")? {
        Some(ctx) => {
            let name = ctx.adapter_name();
            let mut g = gpuforest::gpu::GpuExplainer::new(ctx, &explainer)?;
            (g.sums_blocking(&x)?, name)
        }
        None => (
            explainer.sums(&x),
            format!("the CPU ({} threads)", gpuforest::parallel::threads()),
        ),
    };
    let e = explainer.finish(&sums);
    let seconds = start.elapsed().as_secs_f64();
    let m = margins(&model.forest, &x);
    eprintln!(
        "explained {n_rows} rows on {on} in {seconds:.3} s; expected value plus contributions \
         equal the model's outputs{} within {:.2e}",
        if model.forest.head.post == gpuforest::flat::Post::None {
            ""
        } else {
            " before its post-transform"
        },
        additivity_gap(&e, &m)
    );
    if let Some(r) = show.row {
        print_row(&model, &table, r - 1, &e, &m);
    }
    if show.summary {
        print_summary(&model, &e);
    }
    let reader = model.reader();
    if show.row.is_none() {
        let text = reader.explanation_csv(&e, reader.ids_of(&table));
        match out {
            Some(path) => write(path, &text)?,
            None if !show.summary => print!("{text}"),
            None => {}
        }
    }
    Ok(())
}

/// The largest distance between expected value plus contributions and the output `m`.
fn additivity_gap(e: &Explanation, m: &[f32]) -> f64 {
    (0..e.n_rows)
        .flat_map(|r| (0..e.n_outputs).map(move |k| (r, k)))
        .map(|(r, k)| {
            let total =
                f64::from(e.expected[k]) + e.row(r, k).iter().map(|&v| f64::from(v)).sum::<f64>();
            (total - f64::from(m[r * e.n_outputs + k])).abs()
        })
        .fold(0.0, f64::max)
}

/// Row `r` of the file (the only row of `e`) in words: the output of its predicted class (or
/// its value), from the expected value through the largest contributions.
fn print_row(model: &Model, table: &Table, r: usize, e: &Explanation, m: &[f32]) {
    let names = model.schema.feature_names();
    let outputs = model.reader().output_names();
    let k = match model.task() {
        Task::Classification => gpuforest::forest::argmax(&m[..e.n_outputs]),
        Task::Regression => 0,
    };
    let id = model
        .reader()
        .ids_of(table)
        .map(|(name, v)| format!(" ({name} {})", v[r]))
        .unwrap_or_default();
    let what = match model.task() {
        Task::Classification => format!("the probability of \"{}\"", outputs[k]),
        Task::Regression => format!("\"{}\"", outputs[0]),
    };
    println!(
        "row {}{id}: why the model gives {what} {}",
        r + 1,
        fmt(m[k])
    );
    println!(
        "{:<44} {:>11}",
        "expected value (no feature known)",
        fmt(e.expected[k])
    );
    // The file's own text of each feature (categories as written).
    let cells = model.reader().cells_of(table, r);
    let (top, rest) = e.largest(0, k, SHOWN);
    for (j, v) in top {
        let label = format!("  {} = {}", names[j], cells[j]);
        println!("{label:<44} {:>11}", signed(v));
    }
    if let Some(rest) = rest {
        let label = format!("  the other {} features", e.n_features - SHOWN);
        println!("{label:<44} {:>11}", signed(rest as f32));
    }
    println!("{:<44} {:>11}", "output", fmt(m[k]));
}

fn fmt(v: f32) -> String {
    format!("{v:.4}")
}

fn signed(v: f32) -> String {
    format!("{v:+.4}")
}

/// Per feature, the mean |contribution| over the rows (summed over the outputs for more than
/// two; for two, one class's, as both are equal), beside the impurity importances.
fn print_summary(model: &Model, e: &Explanation) {
    let names = model.schema.feature_names();
    let mean = e.mean_abs();
    let mut order: Vec<usize> = (0..e.n_features).collect();
    order.sort_by(|&a, &b| mean[b].total_cmp(&mean[a]));
    println!(
        "{:<32} {:>16} {:>11}",
        "feature", "mean |contrib.|", "importance"
    );
    for j in order {
        let imp = model
            .importances
            .get(j)
            .map_or("-".to_string(), |v| format!("{v:.4}"));
        println!("{:<32} {:>16.5} {imp:>11}", names[j], mean[j]);
    }
    println!("(over {} rows)", e.n_rows);
}

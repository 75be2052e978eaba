//! `forest`: train, predict and benchmark from the command line.

use clap::{Parser, Subcommand, ValueEnum};
use gpuforest::data::{Table, Task, read_table_with, synth};
use gpuforest::forest::quality::Quality;
use gpuforest::forest::{ClassWeight, Criterion, MaxFeatures, Params};
use gpuforest::model::Model;
use gpuforest::model::Predictions;
use gpuforest::pipeline::{Columns, Group, TrainOptions, prepare, train_and_evaluate};
use gpuforest::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;

mod explain;

#[derive(Parser)]
#[command(
    name = "forest",
    version,
    about = "Random forests on the CPU and the GPU"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum TaskArg {
    Auto,
    Classification,
    Regression,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Device {
    Cpu,
    Gpu,
    /// The GPU from the measured crossover batch size on (and only a real GPU), else the CPU.
    Auto,
}

#[derive(Subcommand)]
enum Command {
    /// Train a forest on a CSV file, report held-out and out-of-bag scores, optionally save it.
    Train {
        /// CSV file with a header row (separator `,` `;` or tab is detected).
        #[arg(long)]
        csv: PathBuf,
        /// Name of the column to predict.
        #[arg(long)]
        target: String,
        /// auto: classification when the target is text or few distinct whole numbers.
        #[arg(long, value_enum, default_value = "auto")]
        task: TaskArg,
        /// Number of trees.
        #[arg(long, default_value_t = 100)]
        trees: usize,
        /// Maximum tree depth (default: unlimited).
        #[arg(long)]
        max_depth: Option<usize>,
        /// Features tried per split: sqrt, log2, all, a fraction in (0, 1] or a count
        /// (default: sqrt for classification, all for regression).
        #[arg(long)]
        max_features: Option<String>,
        /// Fewest rows a node needs to be split.
        #[arg(long, default_value_t = 2)]
        min_samples_split: usize,
        /// Fewest rows in a leaf.
        #[arg(long, default_value_t = 1)]
        min_samples_leaf: usize,
        /// Split criterion: gini or entropy (classification), squared_error (regression).
        #[arg(long)]
        criterion: Option<String>,
        /// Class weights: none, or balanced (every class weighs the same in total, as
        /// scikit-learn's class_weight="balanced"; for imbalanced outcomes).
        #[arg(long, default_value = "none")]
        class_weight: String,
        /// Turn off bootstrap sampling (every tree sees every training row; no OOB score).
        #[arg(long)]
        no_bootstrap: bool,
        /// Seed of the train/test shuffle and of every tree's random stream.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Share of rows held out for the test score.
        #[arg(long, default_value_t = 0.25)]
        test_fraction: f64,
        /// Hold out rows at random, not each class in its share (classification holds out
        /// each class's share by default, so a rare outcome is as rare in both sets).
        #[arg(long)]
        no_stratify: bool,
        /// Columns left out of training (comma-separated names).
        #[arg(long, value_delimiter = ',', value_name = "COL")]
        drop: Vec<String>,
        /// ID-like or group-like columns (left out by default) to train on anyway.
        #[arg(long, value_delimiter = ',', value_name = "COL")]
        keep: Vec<String>,
        /// Hold out whole groups: every row of a value of COL (a patient's admissions) on one
        /// side of the train/test split, and each tree's bootstrap drawing whole groups (so the
        /// out-of-bag score is about groups a tree never saw). Default: the first group-like
        /// column (repeating text or whole numbers, few rows a value), left out of training;
        /// "none": rows at random.
        #[arg(long, value_name = "COL")]
        group: Option<String>,
        /// Write the trained model here (JSON).
        #[arg(long)]
        model_out: Option<PathBuf>,
        /// Print one JSON object on stdout instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Score the rows of a CSV file with a saved model; writes predictions as CSV.
    Predict {
        /// Model file written by `forest train --model-out`, or an ONNX tree ensemble
        /// (scikit-learn, XGBoost, LightGBM, Spark converters).
        #[arg(long)]
        model: PathBuf,
        /// CSV with the model's feature columns (any order; the target may be absent). For an
        /// ONNX model, which names no columns: exactly its features, in its order.
        #[arg(long)]
        csv: PathBuf,
        /// Where to score; auto says on stderr what it chose and why.
        #[arg(long, value_enum, default_value = "cpu")]
        device: Device,
        /// Output file (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Score a saved model on a CSV file that has its target column: baseline, balanced
    /// accuracy, sensitivity and specificity per class, ROC AUC (R², MAE, RMSE).
    Evaluate {
        /// Model file written by `forest train --model-out` (or the page).
        #[arg(long)]
        model: PathBuf,
        /// CSV with the model's feature columns and its target column.
        #[arg(long)]
        csv: PathBuf,
        /// Print one JSON object on stdout instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Explain a saved model's predictions for the rows of a CSV file: per row and output, the
    /// expected value and each feature's contribution (exact path-dependent TreeSHAP), adding
    /// up to the output (before a logistic or softmax, for imported models that end in one).
    Explain {
        /// Model file written by `forest train --model-out` (or the page), or an ONNX tree
        /// ensemble (which has no covers: pass --background).
        #[arg(long)]
        model: PathBuf,
        /// CSV with the model's feature columns (the target may be absent).
        #[arg(long)]
        csv: PathBuf,
        /// Where to explain; auto takes a real GPU when there is one, and says so on stderr.
        #[arg(long, value_enum, default_value = "auto")]
        device: Device,
        /// Rows that stand for the training data (e.g. the training file): the node covers are
        /// counted from them, for models that lack covers or to explain against other rows.
        #[arg(long)]
        background: Option<PathBuf>,
        /// Explain only this row (its number in the file, from 1), in words on stdout: the
        /// expected value, the largest contributions with each feature's value, the prediction.
        #[arg(long)]
        row: Option<usize>,
        /// Print, per feature, the mean |contribution| over the rows beside the impurity
        /// importances.
        #[arg(long)]
        summary: bool,
        /// Contributions CSV (default: stdout, unless --row or --summary prints instead).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Benchmark scoring on the CPU and the GPU over batch sizes (the headless harness).
    Bench(gpuforest::harness::BenchArgs),
    /// Write a saved model as ONNX (ai.onnx.ml TreeEnsembleClassifier or Regressor).
    Export {
        /// Model file written by `forest train --model-out`.
        #[arg(long)]
        model: PathBuf,
        /// The ONNX file to write.
        #[arg(long)]
        onnx: PathBuf,
    },
    /// Say what a model file holds (this program's JSON or ONNX).
    Inspect {
        #[arg(long)]
        model: PathBuf,
    },
    /// Write a synthetic classification dataset as CSV (features f0.., column `target`).
    Synth {
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        #[arg(long, default_value_t = 32)]
        features: usize,
        #[arg(long, default_value_t = 16)]
        informative: usize,
        #[arg(long, default_value_t = 2)]
        classes: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train {
            csv,
            target,
            task,
            trees,
            max_depth,
            max_features,
            min_samples_split,
            min_samples_leaf,
            criterion,
            class_weight,
            no_bootstrap,
            seed,
            test_fraction,
            no_stratify,
            drop,
            keep,
            group,
            model_out,
            json,
        } => (|| {
            let params = Params {
                n_trees: trees,
                max_depth,
                max_features: max_features
                    .as_deref()
                    .map(str::parse::<MaxFeatures>)
                    .transpose()?,
                min_samples_split,
                min_samples_leaf,
                bootstrap: !no_bootstrap,
                criterion: criterion
                    .as_deref()
                    .map(str::parse::<Criterion>)
                    .transpose()?,
                seed,
                class_weight: class_weight.parse::<ClassWeight>()?,
                ..Params::default()
            };
            let task = match task {
                TaskArg::Auto => None,
                TaskArg::Classification => Some(Task::Classification),
                TaskArg::Regression => Some(Task::Regression),
            };
            train(
                &csv,
                TrainOptions {
                    target,
                    task,
                    params,
                    test_fraction,
                    stratify: !no_stratify,
                    columns: Columns {
                        drop,
                        keep,
                        group: match group.as_deref() {
                            None => Group::Auto,
                            Some("none") => Group::None,
                            Some(c) => Group::Column(c.into()),
                        },
                    },
                },
                model_out.as_deref(),
                json,
            )
        })(),
        Command::Predict {
            model,
            csv,
            device,
            out,
        } => predict(&model, &csv, device, out.as_deref()),
        Command::Evaluate { model, csv, json } => evaluate_file(&model, &csv, json),
        Command::Explain {
            model,
            csv,
            device,
            background,
            row,
            summary,
            out,
        } => explain::run(
            &model,
            &csv,
            device,
            background.as_deref(),
            explain::Show { row, summary },
            out.as_deref(),
        ),
        Command::Bench(args) => gpuforest::harness::run(args),
        Command::Export { model, onnx } => (|| {
            let m = Model::load(&model)?;
            let bytes = m.to_onnx()?;
            std::fs::write(&onnx, &bytes)
                .map_err(|e| Error::Io(format!("cannot write {}: {e}", onnx.display())))?;
            println!(
                "wrote {} ({} bytes): {} trees, {} features",
                onnx.display(),
                bytes.len(),
                m.forest.n_trees(),
                m.forest.n_features
            );
            Ok(())
        })(),
        Command::Inspect { model } => Model::load(&model).map(|m| {
            let about = m.imported_summary().unwrap_or_else(|| {
                format!(
                    "gpuforest {} of \"{}\": {} trees, {} features",
                    m.task().name(),
                    m.schema.target,
                    m.forest.n_trees(),
                    m.forest.n_features
                )
            });
            println!("{about}");
            println!(
                "nodes         {} ({} bytes each)",
                m.forest.n_nodes(),
                m.forest.node_words() * 4
            );
            println!("outputs       {}", m.forest.n_outputs);
        }),
        Command::Synth {
            rows,
            features,
            informative,
            classes,
            seed,
            out,
        } => {
            if features == 0 {
                Err(Error::InvalidParam("--features must be at least 1".into()))
            } else {
                let d = synth::classification(rows, features, informative, classes, seed);
                write(&out, &synth::to_csv(&d))
            }
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))
}

/// The CSV at `path`, saying on stderr what was converted; a progress bar on a large file.
pub(crate) fn read_csv(path: &Path) -> Result<Table> {
    let bytes = read(path)?;
    let bar = if bytes.len() >= 64 << 20 {
        ProgressBar::new(bytes.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "reading {msg} [{bar:40}] {binary_bytes}/{binary_total_bytes}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(path.display().to_string());
    let t = read_table_with(&bytes, &|n| bar.inc(n as u64));
    bar.finish_and_clear();
    let t = t?;
    if let Some(note) = t.conversion_note() {
        eprintln!("note: {}: {note}", path.display());
    }
    Ok(t)
}

pub(crate) fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text)
        .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))
}

fn train(csv: &Path, opts: TrainOptions, model_out: Option<&Path>, json: bool) -> Result<()> {
    let table = read_csv(csv)?;
    let prep = prepare(&table, &opts)?;
    let bar = ProgressBar::new(opts.params.n_trees as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} trees ({elapsed})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message("training");
    let start = Instant::now();
    let (model, eval) = train_and_evaluate(&prep, &opts, &|| bar.inc(1))?;
    // Training time alone: scoring the held-out rows is quick beside it.
    let seconds = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    if let Some(path) = model_out {
        model.save(path)?;
    }
    let names = model.schema.feature_names();
    let mut ranked: Vec<(String, f64)> = names
        .into_iter()
        .zip(model.importances.iter().copied())
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    if json {
        let mut o = serde_json::json!({
            "task": prep.task.name(),
            "task_detected": prep.task_detected,
            "rows": prep.usable_rows,
            "train_rows": prep.train.n_rows,
            "test_rows": prep.test.n_rows,
            "features": prep.schema.n_features(),
            "trees": opts.params.n_trees,
            "nodes": model.forest.n_nodes(),
            "train_seconds": seconds,
            "oob_score": model.oob_score,
            "stratified": model.evaluation.as_ref().is_some_and(|h| h.stratified),
            "group": prep.group,
            "left_out": prep.left_out,
            "importances": ranked.iter().map(|(n, v)| serde_json::json!({"feature": n, "importance": v})).collect::<Vec<_>>(),
        });
        match prep.task {
            Task::Classification => {
                o["classes"] = serde_json::json!(model.schema.classes);
                o["test_accuracy"] = serde_json::json!(eval.accuracy);
                o["confusion"] = serde_json::json!(eval.confusion);
            }
            Task::Regression => o["test_r2"] = serde_json::json!(eval.r2),
        }
        o["quality"] = serde_json::json!(eval.quality);
        println!("{o}");
        return Ok(());
    }
    let how = if prep.task_detected {
        "detected"
    } else {
        "chosen"
    };
    println!("task          {} ({how})", prep.task.name());
    if prep.task == Task::Classification {
        println!("classes       {}", model.schema.classes.join(", "));
    }
    println!(
        "rows          {} ({} train, {} test), {} features",
        prep.usable_rows,
        prep.train.n_rows,
        prep.test.n_rows,
        prep.schema.n_features()
    );
    if model.evaluation.as_ref().is_some_and(|h| h.stratified) {
        println!(
            "              each class held out in {} share of the rows (--no-stratify: at random)",
            if prep.group.is_some() {
                "about its (whole groups)"
            } else {
                "its"
            }
        );
    }
    if let Some(g) = &prep.group {
        println!(
            "              held out by {g}: no value of it on both sides (--group none: at random)"
        );
    }
    for l in &prep.left_out {
        let hint = if l.reason.starts_with("ID-like") || l.reason.starts_with("group-like") {
            format!("; --keep {} trains on it", l.column)
        } else {
            String::new()
        };
        println!("left out      {} ({}{hint})", l.column, l.reason);
    }
    if prep.dropped_test_rows > 0 {
        println!(
            "              {} held-out rows dropped: their class is absent from the training rows",
            prep.dropped_test_rows
        );
    }
    println!(
        "trees         {} ({} nodes)",
        opts.params.n_trees,
        model.forest.n_nodes()
    );
    println!("train time    {seconds:.3} s");
    let fmt = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.4}"));
    match &eval.quality {
        Some(q) => print_quality(q, "test "),
        None => println!("test          no held-out rows"),
    }
    let oob_kind = match prep.task {
        Task::Classification => "accuracy",
        Task::Regression => "R²",
    };
    let whole = match &prep.group {
        Some(g) => format!(", each tree drawing whole {g}s"),
        None => String::new(),
    };
    println!("OOB score     {} ({oob_kind}{whole})", fmt(model.oob_score));
    println!("top features");
    for (name, v) in ranked.iter().take(10) {
        println!("  {v:>7.4}  {name}");
    }
    if let Some(path) = model_out {
        println!("model saved   {}", path.display());
    }
    Ok(())
}

fn evaluate_file(model: &Path, csv: &Path, json: bool) -> Result<()> {
    let model = Model::load(model)?;
    if model.imported.is_some() {
        return Err(Error::InvalidParam(
            "an imported model names no target column: evaluate takes models trained here".into(),
        ));
    }
    let table = read_csv(csv)?;
    let target = &model.schema.target;
    if table.column_index(target).is_none() {
        return Err(Error::TargetMissing {
            target: target.clone(),
            available: table.headers.clone(),
        });
    }
    let rows: Vec<usize> = (0..table.n_rows())
        .filter(|&i| model.schema.target_known(&table, i))
        .collect();
    let dropped = table.n_rows() - rows.len();
    let data = model.schema.encode(&table, &rows)?;
    let eval = gpuforest::pipeline::evaluate(&model, &data);
    if json {
        println!(
            "{}",
            serde_json::json!({"rows": rows.len(), "dropped_rows": dropped, "quality": eval.quality, "confusion": eval.confusion})
        );
        return Ok(());
    }
    if dropped > 0 {
        println!(
            "note          {dropped} rows left out: their \"{target}\" is missing{}",
            match model.task() {
                Task::Classification => " or a class the model does not know",
                Task::Regression => " or not a number",
            }
        );
    }
    match &eval.quality {
        Some(q) => print_quality(q, ""),
        None => println!("no row of the file has a usable \"{target}\""),
    }
    Ok(())
}

/// The held-out figures, a line each (`prefix` names the rows they are of).
fn print_quality(q: &Quality, prefix: &str) {
    let pct = |v: f64| format!("{:.1}%", 100.0 * v);
    let opt = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.4}"));
    let h = q.headline();
    let name = |m: &str| match m {
        "roc_auc" => "ROC AUC",
        "balanced_accuracy" => "balanced accuracy",
        "r2" => "R²",
        _ => "accuracy",
    };
    println!(
        "headline      {} {:.4}: {}",
        name(&h.metric),
        h.value,
        h.note
    );
    match q {
        Quality::Classification(c) => {
            println!(
                "{:<14}{} ({} rows); always \"{}\": {}",
                format!("{prefix}accuracy"),
                pct(c.accuracy),
                c.rows,
                c.baseline_class,
                pct(c.baseline_accuracy)
            );
            println!("balanced acc  {}", pct(c.balanced_accuracy));
            println!(
                "ROC AUC       {}   average precision {}",
                opt(c.roc_auc),
                opt(c.average_precision)
            );
            for k in &c.classes {
                let p = |v: Option<f64>| v.map_or("n/a".to_string(), pct);
                println!(
                    "  {:<12} sensitivity {:>6}  specificity {:>6}  precision {:>6}  ({} rows)",
                    k.class,
                    p(k.sensitivity),
                    p(k.specificity),
                    p(k.precision),
                    k.support
                );
            }
        }
        Quality::Regression(r) => {
            println!("{:<14}{:.4} ({} rows)", format!("{prefix}R²"), r.r2, r.rows);
            println!("MAE           {:.6}   RMSE {:.6}", r.mae, r.rmse);
        }
    }
}

fn predict(model: &Path, csv: &Path, device: Device, out: Option<&Path>) -> Result<()> {
    let model = Model::load(model)?;
    let table = read_csv(csv)?;
    let x = model.features_of(&table)?;
    let n_rows = x.len() / model.forest.n_features.max(1) as usize;
    let device = match device {
        Device::Auto if n_rows < gpuforest::gpu::GPU_FROM_ROWS => {
            eprintln!(
                "auto: {n_rows} rows, under the {} rows from which the GPU wins: scoring on the CPU",
                gpuforest::gpu::GPU_FROM_ROWS
            );
            Device::Cpu
        }
        d => d,
    };
    let p: Predictions = match gpu_for(device, &format!("{n_rows} rows: scoring"))? {
        None => model.predict_x(&x),
        Some(ctx) => {
            let mut gpu = gpuforest::gpu::GpuForest::new(ctx, &model.forest, None)?;
            let run = gpu.predict_blocking(&x, gpuforest::gpu::Kernel::Auto)?;
            Predictions {
                outputs: run.outputs,
                n_outputs: model.forest.n_outputs as usize,
            }
        }
    };
    finish_predict(&model, &table, &p, out)
}

/// The GPU that `device` asks for: none for the CPU; for `auto` a real GPU only, saying on
/// stderr what it chose (`doing` on it, or on the CPU, and why).
pub(crate) fn gpu_for(device: Device, doing: &str) -> Result<Option<gpuforest::gpu::GpuContext>> {
    let open = || pollster::block_on(gpuforest::gpu::GpuContext::new());
    Ok(match device {
        Device::Cpu => None,
        Device::Gpu => Some(open()?),
        Device::Auto => match open() {
            Ok(c) if c.is_software() => {
                eprintln!(
                    "auto: the only GPU adapter is {}, a CPU emulation: {doing} on the CPU",
                    c.adapter_name()
                );
                None
            }
            Ok(c) => {
                eprintln!("auto: {doing} on {}", c.adapter_name());
                Some(c)
            }
            Err(e) => {
                eprintln!("auto: no GPU ({e}): {doing} on the CPU");
                None
            }
        },
    })
}

fn finish_predict(model: &Model, table: &Table, p: &Predictions, out: Option<&Path>) -> Result<()> {
    let reader = model.reader();
    let text = reader.predictions_csv(p, &gpuforest::pipeline::notes_of(&reader, table));
    match out {
        Some(path) => write(path, &text),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

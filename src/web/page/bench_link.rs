//! Benchmark mode, from the URL, with no clicking:
//! `/?bench&rows=1000000&trees=200&depth=12&features=32` generates synthetic rows, trains on
//! `train_rows` of them (default: the smaller of `rows` and 100k), then runs the CPU and GPU
//! sweep up to `rows` rows in the normal chart, and logs one JSON line per measurement.
//!
//! `/?bench&model=m.onnx&csv=rows.csv&rows=100000` scores a given model (this program's JSON
//! or ONNX) on given rows instead, both fetched from the page's own origin (put them in `dist/`),
//! the rows repeated up to `rows`: the same forest and rows as `forest bench --model --rows`.
//!
//! `&explain=1000,10000` then explains each many rows on the GPU and, up to `explain_cpu` rows
//! (default 1,000), on the CPU workers too (`{"bench": "explain"}` lines; the presenter view
//! shows the last).

use super::state::{BenchSummary, GpuState, Place, Ui, engine};
use super::{load, scoring, training};
use crate::protocol::{DataRequest, Outcome};
use crate::spoken;
use crate::web::common::{now_ms, sleep_ms};
use crate::web::services::{Ticket, data_worker, scorer_len, worker_count};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;

/// The `key=value` pairs of the page's query string (a bare `key` has an empty value).
fn query() -> Vec<(String, String)> {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    search
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect()
}

fn log(v: serde_json::Value) {
    web_sys::console::log_1(&v.to_string().into());
}

/// Logs every task over 50 ms on the page's thread (`{"bench": "longtask"}`), so that a
/// benchmark run on a real GPU shows any freeze, its first GPU use included.
fn log_long_tasks() {
    use js_sys::{Array, Function, Object, Reflect};
    use wasm_bindgen::prelude::*;
    let on_tasks = Closure::<dyn FnMut(JsValue)>::new(|list: JsValue| {
        let entries = Reflect::get(&list, &"getEntries".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .and_then(|f| f.call0(&list).ok());
        let entries = entries.map(|v| Array::from(&v)).unwrap_or_default();
        for e in entries.iter() {
            let num = |k: &str| Reflect::get(&e, &k.into()).ok().and_then(|v| v.as_f64());
            log(json!({"bench": "longtask", "start_ms": num("startTime"), "ms": num("duration")}));
        }
    });
    let Ok(observer) = web_sys::PerformanceObserver::new(on_tasks.as_ref().unchecked_ref()) else {
        return;
    };
    // It observes for as long as the page lives.
    on_tasks.forget();
    let options = Object::new();
    let _ = Reflect::set(&options, &"type".into(), &"longtask".into());
    let _ = Reflect::set(&options, &"buffered".into(), &true.into());
    if let Some(observe) = Reflect::get(&observer, &"observe".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
    {
        let _ = observe.call1(&observer, &options);
    }
}

pub fn start_if_asked(ui: Ui) {
    let q = query();
    if !q.iter().any(|(k, _)| k == "bench") {
        return;
    }
    log_long_tasks();
    let get = |k: &str, default: usize| -> usize {
        q.iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| v.replace('_', "").parse().ok())
            .unwrap_or(default)
    };
    let rows = get("rows", 1_000_000).max(100);
    let trees = get("trees", 200).max(1);
    let depth = get("depth", 12).max(1);
    let features = get("features", 32).max(1);
    let train_rows = get("train_rows", rows.min(100_000)).max(100);
    let too_big = [("rows", rows), ("train_rows", train_rows)]
        .into_iter()
        .find(|&(_, n)| n.saturating_mul(features) > crate::protocol::MAX_VALUES)
        .map(|(what, n)| format!("{what}={n} x features={features} is over {} values (256 MB), more than the page can hold", crate::protocol::MAX_VALUES))
        .or_else(|| (features > 10_000).then(|| format!("features={features} is over 10000")))
        .or_else(|| (trees > 10_000).then(|| format!("trees={trees} is over 10000")));
    if let Some(why) = too_big {
        let e = crate::Error::InvalidParam(format!("benchmark not started: {why}"));
        web_sys::console::error_1(
            &json!({"bench": "error", "message": e.to_string()})
                .to_string()
                .into(),
        );
        ui.error(Place::Score, &e);
        return;
    }
    // `parts=1,2,4,8`: after the sweep, time the GPU at `rows` rows with batches split into
    // that many parts (upload of one overlapping the scoring of the previous).
    let parts: Option<Vec<usize>> = q
        .iter()
        .find(|(k, _)| k == "parts")
        .map(|(_, v)| v.split(',').filter_map(|p| p.parse().ok()).collect());
    // `variants`: after the sweep, score the rows with every kernel variant and compare bits.
    let variants = q.iter().any(|(k, _)| k == "variants");
    let explain = Explain {
        sizes: q
            .iter()
            .find(|(k, _)| k == "explain")
            .map(|(_, v)| {
                v.split(',')
                    .filter_map(|p| p.replace('_', "").parse().ok())
                    .collect()
            })
            .unwrap_or_default(),
        cpu_max: get("explain_cpu", 1000),
    };
    let given = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let files = given("model").zip(given("csv"));
    // A benchmark is watched: the race fills the screen from the start.
    ui.stage.set(true);
    spawn_local(async move {
        let r = match files {
            Some((model, csv)) => run_given(ui, &model, &csv, rows, &explain).await,
            None => {
                run(
                    ui, rows, trees, depth, features, train_rows, parts, variants, &explain,
                )
                .await
            }
        };
        ui.busy.set(None);
        ui.steps.set(None);
        if let Err(e) = r {
            ui.error(Place::Score, &e);
            web_sys::console::error_1(
                &json!({"bench": "error", "message": e.to_string()})
                    .to_string()
                    .into(),
            );
        }
    });
}

/// Same-origin paths only: the page makes no request to another origin.
fn own_path(p: &str) -> crate::Result<&str> {
    let ok = !p.is_empty()
        && !p.contains("//")
        && !p.contains(':')
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
    if ok {
        Ok(p)
    } else {
        Err(crate::Error::InvalidParam(format!(
            "benchmark file {p:?}: give a path on this page's own server"
        )))
    }
}

/// The GPU's name once the page has looked for it, or why there is none.
async fn adapter(ui: Ui) -> String {
    loop {
        match ui.gpu.get_untracked() {
            GpuState::Checking => sleep_ms(50).await,
            GpuState::Ready(adapter) => return adapter.label(),
            GpuState::Off(why) => return format!("none: {why}"),
        }
    }
}

/// The sweep up to `rows` rows, a JSON line per size (with `about`'s fields), then the summary
/// card described by `setup`.
async fn sweep_and_sum_up(
    ui: Ui,
    rows: usize,
    setup: String,
    about: serde_json::Value,
) -> crate::Result<()> {
    let adapter = adapter(ui).await;
    ui.busy.set(Some("Benchmark sweep…".into()));
    let ticket = Ticket::new();
    scoring::sweep(ui, ticket, rows, |p, v| {
        let mut line = json!({"bench": "sweep", "rows": p.rows, "cpu_ms": p.cpu_ms, "cpu_one_ms": p.cpu_one_ms,
            "cpu_compute_ms": v.cpu.compute_ms,
            "cpu_workers": v.cpu.workers, "cpu_runs": v.cpu.runs, "cpu_one_runs": v.cpu.one_runs, "cpu_bits_differ": v.cpu.bits_differ,
            "gpu_ms": p.gpu_ms,
            "gpu_kernel_ms": p.kernel_ms, "max_diff": v.max_diff, "bits_differ": v.bits_differ,
            "gpu_resident_ms": v.resident_ms, "gpu_resident_kernel_ms": v.resident_kernel_ms,
            "variant": v.variant,
            "gpu_submit_ms": v.phases.map(|p| p.submit_ms), "gpu_wait_ms": v.phases.map(|p| p.wait_ms),
            "gpu_read_ms": v.phases.map(|p| p.read_ms), "labels_agree": v.labels_agree,
            "adapter": adapter});
        if let (Some(line), Some(about)) = (line.as_object_mut(), about.as_object()) {
            line.extend(about.clone());
        }
        log(line);
    })
    .await?;
    let points = ui.sweep.get_untracked();
    ui.bench_summary.set(Some(BenchSummary {
        setup,
        adapter,
        points,
        workers: scorer_len(),
    }));
    Ok(())
}

/// What the benchmark explains after its sweep.
struct Explain {
    sizes: Vec<usize>,
    /// The CPU workers explain batches up to this many rows (at 10k rows of a 200-tree forest
    /// they take minutes).
    cpu_max: usize,
}

/// Explains each size's rows (the loaded rows repeated), a JSON line each.
async fn explain_sizes(ui: Ui, e: &Explain) -> crate::Result<()> {
    let Some((key, model)) = engine(|s| Some((s.generation, s.model.clone()?))) else {
        return Ok(());
    };
    let adapter = adapter(ui).await;
    for &rows in &e.sizes {
        let batch = data_worker()
            .await?
            .rows(model.reader(), Some(rows))
            .await?;
        let a =
            super::explain::race(ui, Ticket::new(), key, &model, &batch, rows <= e.cpu_max).await?;
        log(
            json!({"bench": "explain", "rows": rows, "cpu_ms": a.cpu_ms, "cpu_workers": a.workers,
            "gpu_ms": a.gpu.as_ref().ok().map(|g| g.0), "gpu_error": a.gpu.as_ref().err(),
            "compared": a.compared, "values": a.values, "bits_differ": a.differ,
            "max_rel_diff": a.worst, "adapter": adapter}),
        );
        ui.explained_all.set(Some(a));
    }
    Ok(())
}

async fn run_given(
    ui: Ui,
    model: &str,
    csv: &str,
    rows: usize,
    explain: &Explain,
) -> crate::Result<()> {
    ui.busy
        .set(Some(format!("Benchmark: loading {csv} and {model}…")));
    let started = crate::web::common::now_ms();
    let csv_bytes = super::files::fetch_asset_js(own_path(csv)?).await?;
    load::load_csv(ui, csv, &csv_bytes, started).await?;
    let model_bytes = super::files::fetch_asset(own_path(model)?).await?;
    load::install_loaded(ui, model, &model_bytes)?;
    let m = engine(|e| e.model.clone())
        .ok_or_else(|| crate::Error::InvalidParam("the model did not load".into()))?;
    log(
        json!({"bench": "model", "model": model, "csv": csv, "trees": m.forest.n_trees(),
        "nodes": m.forest.n_nodes(), "features": m.forest.n_features,
        "imported": m.imported_summary()}),
    );
    let setup = format!(
        "{model}: {} trees, {} nodes, {} features; rows of {csv} repeated up to {}",
        spoken::count(m.forest.n_trees()),
        spoken::count(m.forest.n_nodes()),
        m.forest.n_features,
        spoken::count(rows)
    );
    sweep_and_sum_up(ui, rows, setup, json!({})).await?;
    explain_sizes(ui, explain).await?;
    log(json!({"bench": "done"}));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn run(
    ui: Ui,
    rows: usize,
    trees: usize,
    depth: usize,
    features: usize,
    train_rows: usize,
    parts: Option<Vec<usize>>,
    variants: bool,
    explain: &Explain,
) -> crate::Result<()> {
    ui.busy.set(Some(format!(
        "Benchmark: generating {} synthetic rows…",
        spoken::count(train_rows)
    )));
    load::generate(ui, train_rows, features, 7).await?;
    ui.synth_rows.set(train_rows.to_string());
    ui.trees.set(trees.to_string());
    ui.depth.set(depth.to_string());
    ui.max_features.set("sqrt".into());
    ui.sweep_max.set(rows.to_string());
    ui.busy.set(Some(format!(
        "Benchmark: training {trees} trees on {} rows…",
        spoken::count(train_rows)
    )));
    let t0 = now_ms();
    let times = training::train(ui).await?;
    log(
        json!({"bench": "train", "train_rows": train_rows, "features": features, "trees": trees,
        "depth": depth, "workers": worker_count(), "ms": now_ms() - t0, "phases": times}),
    );
    let setup = format!(
        "{trees} trees of depth {depth}, trained on {} synthetic rows x {features} features",
        spoken::count(train_rows)
    );
    sweep_and_sum_up(
        ui,
        rows,
        setup,
        json!({"trees": trees, "depth": depth, "features": features}),
    )
    .await?;
    if let Some(parts) = parts {
        split_experiment(rows, parts).await?;
    }
    if variants {
        every_variant(rows).await?;
    }
    explain_sizes(ui, explain).await?;
    log(json!({"bench": "done"}));
    Ok(())
}

/// Scores `rows` rows with each kernel variant that fits, logging its kernel time and how many
/// outputs differ in their bits from the CPU's (the e2e tests require none).
async fn every_variant(rows: usize) -> crate::Result<()> {
    gpu_lines(rows, |model| DataRequest::GpuVariants { model }).await
}

/// GPU end-to-end and kernel time at `rows` rows for each split in `parts`, with rows uploaded
/// through the staging buffers and through `writeBuffer`. The forest keeps the last split; the
/// next model gets the default again.
async fn split_experiment(rows: usize, parts: Vec<usize>) -> crate::Result<()> {
    gpu_lines(rows, |model| DataRequest::GpuParts { model, parts }).await
}

/// Logs the lines of a benchmark request about the first `rows` scoring rows, repeated as
/// needed, on the GPU (nothing where the current model is not on it).
async fn gpu_lines(rows: usize, req: impl FnOnce(u64) -> DataRequest) -> crate::Result<()> {
    // The current model, while it is on the GPU.
    let Some((key, model)) = engine(|e| {
        Some((
            e.gpu_model.filter(|&k| k == e.generation)?,
            e.model.clone()?,
        ))
    }) else {
        return Ok(());
    };
    let dw = data_worker().await?;
    let batch = dw.rows(model.reader(), Some(rows)).await?;
    match dw.gpu_lines(req(key), &batch).await? {
        Outcome::Done(lines) => lines.into_iter().for_each(log),
        Outcome::Lost(why) => {
            return Err(crate::Error::Gpu(format!(
                "the GPU device was lost ({why})"
            )));
        }
    }
    Ok(())
}

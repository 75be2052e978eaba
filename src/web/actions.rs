//! What the page's buttons do. Long work runs in workers or on the GPU; the page's thread
//! only prepares rows, merges shards and updates signals, so it never freezes.

use super::charts::SweepPoint;
use super::files;
use super::gpu_side::Outcome;
use super::messages::JsMessage;
use super::pool::{CpuRun, DataWorker, DatasetParts, Scorer, Training};
use super::race::RaceView;
use super::rows::{Choice, PreparedHeader, TEST_FRACTION};
use super::state::{CpuFigures, DataView, GpuState, ModelView, Place, ScoreView, Ui, engine};
use super::{bits_differ, median};
use crate::data::Task;
use crate::error::{Error, Result};
use crate::forest::model::Predictions;
use crate::forest::{ClassWeight, Criterion, MaxFeatures, Model, Params, argmax};
use crate::human;
use crate::pipeline;
use crate::shard;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::rc::Rc;
use wasm_bindgen::JsCast;

/// Looks for WebGPU and opens the device (in the data worker) once, for every later model.
pub fn init_gpu(ui: Ui) {
    spawn_local(async move {
        let has_gpu = web_sys::window()
            .map(|w| js_sys::Reflect::has(&w.navigator(), &"gpu".into()).unwrap_or(false))
            .unwrap_or(false);
        if !has_gpu {
            ui.gpu.set(GpuState::Off(
                "WebGPU is not available in this browser (navigator.gpu is missing), so scoring runs on the CPU only. Chrome 113+ has it; on Linux it may need chrome://flags/#enable-unsafe-webgpu.".into(),
            ));
            return;
        }
        match async { data_worker().await?.gpu_open().await }.await {
            Ok((adapter, timestamps)) => {
                ui.gpu.set(GpuState::Ready {
                    adapter,
                    timestamps,
                });
                rebuild_gpu_forest(ui);
            }
            Err(err) => {
                // The wgpu wording goes to the console, for whoever debugs it.
                web_sys::console::warn_1(&format!("WebGPU: {err}").into());
                ui.gpu.set(GpuState::Off(
                    "This browser has WebGPU but gave this page no graphics card to use (the GPU may be blocked, busy or missing), so scoring runs on the CPU only.".into(),
                ))
            }
        }
    });
}

/// Puts the current model on the GPU, if both exist. A model too large for the GPU scores on
/// the CPU, with a note; the next model that fits goes on the GPU again.
fn rebuild_gpu_forest(ui: Ui) {
    let ready = matches!(ui.gpu.get_untracked(), GpuState::Ready { .. });
    let Some((key, model)) = engine(|e| {
        e.gpu_model = None;
        Some((e.generation, e.model.clone().filter(|_| ready)?))
    }) else {
        return;
    };
    // Requests are answered in order: a score asked for meanwhile finds the forest there.
    engine(|e| e.gpu_model = Some(key));
    spawn_local(async move {
        let r = async { data_worker().await?.gpu_load(key, &model.forest).await }.await;
        if r.is_err() {
            engine(|e| {
                if e.gpu_model == Some(key) {
                    e.gpu_model = None;
                }
            });
        }
        if engine(|e| e.generation) == key {
            ui.gpu_note.set(
                r.err()
                    .map(|err| format!("this model scores on the CPU only: {err}")),
            );
        }
    });
}

/// After the device was lost (driver reset, GPU removed, browser reclaimed it): the worker let
/// it go; the page opens the GPU again, so the next score uses a new device.
fn reopen_gpu(ui: Ui) {
    engine(|e| e.gpu_model = None);
    ui.gpu.set(GpuState::Checking);
    init_gpu(ui);
}

/// The data worker, started on first use.
async fn data_worker() -> Result<Rc<DataWorker>> {
    if let Some(dw) = engine(|e| e.data.clone()) {
        return Ok(dw);
    }
    let dw = Rc::new(DataWorker::new().await?);
    // Two first uses at once: the one that finishes first stays.
    Ok(engine(|e| e.data.get_or_insert(dw).clone()))
}

/// New rows are in the data worker: the page shows them and forgets what belonged to the old.
fn show_data(ui: Ui, view: DataView) {
    let target = view.headers.last().cloned().unwrap_or_default();
    engine(|e| {
        e.data_generation += 1;
        e.rows = None;
    });
    forget_results(ui);
    ui.columns_off.set(Vec::new());
    ui.columns_on.set(Vec::new());
    ui.target.set(target);
    ui.task.set(None);
    ui.data.set(Some(view));
}

/// New rows: the scores and the sweep of the old ones go (the model stays, to score these),
/// and a scoring run on the old rows stops.
fn forget_results(ui: Ui) {
    if ui.busy.get_untracked().is_some() {
        cancel_scoring();
    }
    engine(|e| e.predictions = None);
    ui.score.set(None);
    ui.race.set(None);
    ui.sweep.set(Vec::new());
}

/// Reads CSV bytes in the data worker (decoding and parsing off the page's thread). On error
/// the message names the row and column, and what was loaded before stays.
pub async fn load_csv(ui: Ui, name: &str, bytes: &js_sys::Uint8Array) -> Result<()> {
    ui.loading.set(Some(format!("Reading {name}…")));
    let r = async { data_worker().await?.read(name, bytes).await }.await;
    ui.loading.set(None);
    let (view, note) = r.map_err(|err| Error::Io(format!("{name}: {err}")))?;
    show_data(ui, view);
    match note {
        Some(note) => ui.info(Place::Data, format!("Loaded {name}: {note}.")),
        None => ui.info(Place::Data, format!("Loaded {name}.")),
    }
    Ok(())
}

pub fn load_file(ui: Ui, file: web_sys::File) {
    spawn_local(async move {
        let name = file.name();
        ui.loading.set(Some(format!("Reading {name}…")));
        let r = match files::read_js(&file).await {
            Ok(bytes) => load_csv(ui, &name, &bytes).await,
            Err(err) => Err(err),
        };
        ui.loading.set(None);
        if let Err(err) = r {
            ui.error(Place::Data, err);
        }
    });
}

pub fn load_asset(ui: Ui, file: &'static str) {
    // Train waits from the click on, not from when the bytes arrive.
    ui.loading.set(Some(format!("Reading {file}…")));
    spawn_local(async move {
        let r = match files::fetch_asset_js(&format!("./assets/{file}")).await {
            Ok(bytes) => load_csv(ui, file, &bytes).await,
            Err(err) => Err(err),
        };
        ui.loading.set(None);
        if let Err(err) = r {
            ui.error(Place::Data, err);
        }
    });
}

fn parse_field<T: std::str::FromStr>(what: &str, s: &str, min: T) -> Result<T>
where
    T: PartialOrd + std::fmt::Display,
{
    match s.trim().parse::<T>() {
        Ok(v) if v >= min => Ok(v),
        _ => Err(Error::InvalidParam(format!(
            "{what} \"{s}\": a whole number from {min} up"
        ))),
    }
}

/// Synthetic classification rows (generated in the data worker): `features` features, half
/// informative, two classes.
pub async fn generate(ui: Ui, rows: usize, features: usize, seed: u64) -> Result<()> {
    ui.loading
        .set(Some(format!("Generating {} rows…", human::count(rows))));
    let r = async { data_worker().await?.generate(rows, features, seed).await }.await;
    ui.loading.set(None);
    show_data(ui, r?);
    ui.target.set("class".into());
    Ok(())
}

pub fn generate_from_ui(ui: Ui) {
    const FEATURES: usize = 32;
    let rows = parse_field::<usize>("rows", &ui.synth_rows.get_untracked(), 20).and_then(|rows| {
        let most = super::MAX_VALUES / FEATURES;
        if rows > most {
            return Err(Error::InvalidParam(format!(
                "rows {rows}: at most {most} synthetic rows of {FEATURES} features fit in the page"
            )));
        }
        Ok(rows)
    });
    spawn_local(async move {
        match async { generate(ui, rows?, FEATURES, 7).await }.await {
            Ok(()) => ui.info(Place::Data, "Generated synthetic rows."),
            Err(err) => ui.error(Place::Data, err),
        }
    });
}

pub fn params_from_ui(ui: Ui) -> Result<Params> {
    let depth = ui.depth.get_untracked();
    let max_features = ui.max_features.get_untracked();
    let criterion = ui.criterion.get_untracked();
    Ok(Params {
        n_trees: parse_field("trees", &ui.trees.get_untracked(), 1)?,
        max_depth: if depth.trim().is_empty() || depth.trim() == "none" {
            None
        } else {
            Some(parse_field("max depth", &depth, 1)?)
        },
        max_features: if max_features == "auto" {
            None
        } else {
            Some(max_features.parse::<MaxFeatures>()?)
        },
        min_samples_leaf: parse_field("min samples per leaf", &ui.min_leaf.get_untracked(), 1)?,
        class_weight: ui
            .class_weight
            .get_untracked()
            .trim()
            .parse::<ClassWeight>()?,
        criterion: match criterion.trim() {
            "" | "auto" => None,
            c => Some(c.parse::<Criterion>()?),
        },
        seed: parse_field("seed", &ui.seed.get_untracked(), 0)?,
        ..Params::default()
    })
}

/// The loaded rows split and encoded (in the data worker) with the page's choices: the
/// header and the buffers, still JS arrays, to pass on to the training workers.
async fn prepare(ui: Ui, params: &Params, copies: usize) -> Result<(PreparedHeader, JsMessage)> {
    if ui.data.get_untracked().is_none() {
        return Err(Error::InvalidParam(
            "load a CSV or pick a dataset first".into(),
        ));
    }
    let choice = Choice {
        target: ui.target.get_untracked(),
        task: ui.task.get_untracked(),
        params: params.clone(),
        drop: ui.columns_off.get_untracked(),
        keep: ui.columns_on.get_untracked(),
    };
    data_worker().await?.prepare(choice, copies).await
}

pub fn workers() -> usize {
    let n = web_sys::window().map_or(2.0, |w| w.navigator().hardware_concurrency());
    (n as usize).clamp(1, 16)
}

/// Where `train`'s time went (page clock, ms); the benchmark mode logs it.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct TrainTimes {
    /// Encoding and splitting the rows.
    pub prepare_ms: f64,
    pub grow: super::pool::GrowTimes,
    /// Shards joined into the model.
    pub merge_ms: f64,
    /// The held-out rows scored and the quality figures computed.
    pub evaluate_ms: f64,
}

/// Trains in workers, then evaluates on the held-out rows (scored in the scoring workers).
/// Returns once the model is in place (or training failed: the previous model stays), with
/// where the time went (`None` when cancelled).
pub async fn train(ui: Ui) -> Result<Option<TrainTimes>> {
    let t_prepare = super::now_ms();
    let params = params_from_ui(ui)?;
    let n_workers = workers().min(params.n_trees);
    let (prep, parts) = prepare(ui, &params, n_workers).await?;
    let k = prep.train_buffers;
    // Of the training rows the page keeps the target alone (for the out-of-bag score).
    let target_bytes = parts.buffers.get(1).map(js_sys::Uint8Array::to_vec);
    let (n_features, target) = shard::target_from(&prep.train, target_bytes.as_ref())?;
    let test_at = k * n_workers;
    let test =
        shard::dataset_from(&parts.to_message(prep.test.clone(), test_at..parts.buffers.len())?)?;
    let copies: Vec<DatasetParts> = parts.buffers[..test_at]
        .chunks_exact(k.max(1))
        .map(|buffers| DatasetParts {
            header: prep.train.clone(),
            buffers,
        })
        .collect();
    let prepare_ms = super::now_ms() - t_prepare;
    let training = Training::new(n_workers);
    engine(|e| e.canceller = Some(training.canceller()));
    ui.progress.set(Some((0, params.n_trees)));
    let t0 = super::now_ms();
    let total = params.n_trees;
    let shards = training
        .run(&copies, &params, |done| {
            ui.progress.set(Some((done, total)))
        })
        .await;
    ui.progress.set(None);
    engine(|e| e.canceller = None);
    let Some((shards, grow)) = shards? else {
        ui.info(
            Place::Forest,
            "Training cancelled; the previous model (if any) is kept.",
        );
        return Ok(None);
    };
    let t_merge = super::now_ms();
    let mut model = shard::merge(shards, prep.schema.clone(), params, n_features, &target)?;
    model.id_columns = prep.id_columns.clone();
    let train_ms = super::now_ms() - t0;
    let merge_ms = super::now_ms() - t_merge;
    let key = engine(|e| e.generation + 1);
    let outputs = cpu_score(key, &model, &test.x, None).await?.outputs;
    let p = Predictions {
        outputs,
        n_outputs: model.forest.n_outputs as usize,
    };
    let ev = pipeline::evaluate_predictions(&model, &test, &p);
    model.evaluation = Some(ev.held_out(TEST_FRACTION, model.params.seed));
    let mut view = model_view(&model, "trained here", Some(train_ms), n_workers);
    view.data_name = ui.data.get_untracked().map(|d| d.name);
    view.test_rows = test.n_rows;
    view.accuracy = ev.accuracy;
    view.r2 = ev.r2;
    view.confusion = ev.confusion.map(|c| (model.schema.classes.clone(), c));
    if model.task() == Task::Regression {
        view.scatter = Some((ev.truth, ev.predicted));
    }
    install_model(ui, model, view);
    ui.info(
        Place::Forest,
        format!(
            "Trained {total} trees on {} rows in {} with {n_workers} workers.",
            human::count(target.len()),
            human::duration(train_ms)
        ),
    );
    Ok(Some(TrainTimes {
        prepare_ms,
        grow,
        merge_ms,
        evaluate_ms: super::now_ms() - t0 - train_ms,
    }))
}

fn model_view(model: &Model, origin: &str, train_ms: Option<f64>, workers: usize) -> ModelView {
    let mut imp: Vec<(String, f64)> = model
        .schema
        .feature_names()
        .into_iter()
        .zip(model.importances.iter().copied())
        .collect();
    imp.sort_by(|a, b| b.1.total_cmp(&a.1));
    imp.truncate(15);
    ModelView {
        origin: origin.into(),
        task: model.task(),
        target: model.schema.target.clone(),
        trees: model.forest.n_trees(),
        nodes: model.forest.n_nodes(),
        train_rows: model.train_rows,
        // A loaded model shows what it scored when trained (files from before it was kept
        // have none).
        test_rows: model.evaluation.as_ref().map_or(0, |h| h.test_rows),
        accuracy: model.evaluation.as_ref().and_then(|h| h.test_accuracy),
        r2: model.evaluation.as_ref().and_then(|h| h.test_r2),
        oob: model.oob_score,
        confusion: None,
        scatter: None,
        importances: imp,
        train_ms,
        workers,
        imported: model.imported_summary(),
        data_name: None,
        columns: model
            .schema
            .features
            .iter()
            .map(|f| f.name.clone())
            .collect(),
        by_position: model.imported.is_some(),
    }
}

fn install_model(ui: Ui, model: Model, view: ModelView) {
    // A run on the old model stops; its figures would belong to neither.
    if ui.busy.get_untracked().is_some() {
        cancel_scoring();
    }
    engine(|e| {
        e.model = Some(Rc::new(model));
        e.generation += 1;
        e.predictions = None;
    });
    rebuild_gpu_forest(ui);
    ui.model.set(Some(view));
    ui.score.set(None);
    ui.race.set(None);
    ui.sweep.set(Vec::new());
}

pub fn start_training(ui: Ui) {
    spawn_local(async move {
        if let Err(err) = train(ui).await {
            ui.progress.set(None);
            ui.error(Place::Forest, err);
        }
    });
}

pub fn cancel_training() {
    engine(|e| {
        if let Some(c) = e.canceller.take() {
            c.cancel();
        }
    });
}

/// A scoring run's ticket: the run stops with [`Error::Cancelled`] at its next step once the
/// user cancels, or new data or a new model replaces what it scores.
#[derive(Clone, Copy)]
pub(super) struct Ticket(u64);

impl Ticket {
    pub(super) fn new() -> Ticket {
        Ticket(engine(|e| {
            e.scoring_run += 1;
            e.scoring_run
        }))
    }

    pub(super) fn check(self) -> Result<()> {
        if engine(|e| e.scoring_run) == self.0 {
            Ok(())
        } else {
            Err(Error::Cancelled)
        }
    }
}

/// Stops the scoring run in progress: the one in the scoring workers at once (they are
/// terminated), the GPU after its current run.
pub fn cancel_scoring() {
    engine(|e| {
        e.scoring_run += 1;
        if let Some(c) = e.scorer_canceller.take() {
            c.cancel();
        }
        if let Some(dw) = &e.data {
            dw.cancel();
        }
    });
}

/// Scores on the scoring workers (started on first use, one per core): `workers` of them, or
/// all. `key` names the model (its generation), so the forest crosses to the workers once per
/// model.
async fn cpu_score(key: u64, model: &Model, x: &[f32], workers: Option<usize>) -> Result<CpuRun> {
    let (scorer, loaded) = engine(|e| (e.scorer.take(), e.scorer_has == Some(key)));
    let mut scorer = match scorer {
        Some(s) => s,
        None => Scorer::new(self::workers()).await?,
    };
    engine(|e| e.scorer_canceller = Some(scorer.canceller()));
    let r = async {
        if !loaded {
            scorer.load(&model.forest).await?;
        }
        let nf = model.forest.n_features.max(1) as usize;
        scorer.score(x, nf, workers.unwrap_or(scorer.len())).await
    }
    .await;
    engine(|e| {
        e.scorer_canceller = None;
        // Cancelled workers may still be busy with the old rows: they go, new ones start.
        if !matches!(r, Err(Error::Cancelled)) {
            e.scorer = Some(scorer);
        }
        e.scorer_has = r.is_ok().then_some(key);
    });
    r
}

/// Scores `x` on all workers once untimed (the forest reaches them, their code warms up), then
/// times all workers and one worker ([`runs_after`] their first run).
/// Returns all workers' outputs and the figures.
async fn cpu_timed(
    ticket: Ticket,
    phase: &dyn Fn(&str),
    key: u64,
    model: &Model,
    x: &[f32],
) -> Result<(Vec<f32>, CpuFigures)> {
    let n = engine(|e| e.scorer.as_ref().map_or(self::workers(), Scorer::len));
    phase(&format!("CPU, {}", human::cpu_workers(n)));
    let first = cpu_score(key, model, x, None).await?;
    let runs = runs_after(first.wall_ms);
    let (mut all, mut compute) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        ticket.check()?;
        let r = cpu_score(key, model, x, None).await?;
        all.push(r.wall_ms);
        compute.push(r.compute_ms);
    }
    // One worker: warm already; its own first run sets how many follow (a million rows take
    // seconds on one thread, where the workers together took a fraction of one).
    ticket.check()?;
    phase("CPU, 1 thread");
    let r = cpu_score(key, model, x, Some(1)).await?;
    let one_runs = runs_after(r.wall_ms);
    let (mut one, mut one_out) = (vec![r.wall_ms], r.outputs);
    for _ in 1..one_runs {
        ticket.check()?;
        let r = cpu_score(key, model, x, Some(1)).await?;
        one.push(r.wall_ms);
        one_out = r.outputs;
    }
    let figures = CpuFigures {
        ms: median(all),
        compute_ms: median(compute),
        one_ms: median(one),
        workers: engine(|e| e.scorer.as_ref().map_or(1, Scorer::len)),
        runs,
        one_runs,
        bits_differ: bits_differ(&first.outputs, &one_out),
    };
    Ok((first.outputs, figures))
}

/// Timed runs after one that took `ms`: [`GPU_RUNS`], or 3 over 0.3 s, or 1 over 2 s.
fn runs_after(ms: f64) -> usize {
    if ms > 2000.0 {
        1
    } else if ms > 300.0 {
        3
    } else {
        super::gpu_side::GPU_RUNS
    }
}

/// The rows that "Score" runs: every row of the loaded data, encoded with the model's schema
/// (so a model loaded back scores the same rows as the one saved).
pub(super) async fn scoring_rows() -> Result<(u64, Rc<Model>, Rc<Vec<f32>>)> {
    let (model, key, data, cached) = engine(|e| {
        let model = e
            .model
            .clone()
            .ok_or_else(|| Error::InvalidParam("train or load a model first".into()))?;
        let cached = e
            .rows
            .as_ref()
            .filter(|(d, m, _)| *d == e.data_generation && *m == e.generation)
            .map(|(_, _, x)| x.clone());
        Ok::<_, Error>((model, e.generation, e.data_generation, cached))
    })?;
    if let Some(x) = cached {
        return Ok((key, model, x));
    }
    let x = Rc::new(data_worker().await?.rows(model.reader()).await?);
    // The copy into the page's memory was one task; the workers' copies are the next.
    super::sleep_ms(0).await;
    engine(|e| {
        // Unless other rows or another model came meanwhile.
        if e.data_generation == data && e.generation == key {
            e.rows = Some((data, key, x.clone()));
        }
    });
    Ok((key, model, x))
}

/// Scores `x` on the CPU (all workers, one worker) and on the GPU, each timed as a median; the
/// GPU's outputs and one worker's are checked against all workers' bit for bit. The page's
/// busy line reads "`label`: the side running…".
async fn side_by_side(
    ui: Ui,
    ticket: Ticket,
    label: &str,
    key: u64,
    model: &Model,
    x: &[f32],
) -> Result<(ScoreView, Vec<f32>)> {
    let nf = model.forest.n_features.max(1) as usize;
    let rows = x.len() / nf;
    let phase = |what: &str| ui.busy.set(Some(format!("{label}: {what}…")));
    let (cpu, figures) = cpu_timed(ticket, &phase, key, model, x).await?;
    ticket.check()?;
    let mut view = ScoreView {
        rows,
        cpu: figures,
        gpu_ms: None,
        kernel_ms: None,
        max_diff: None,
        labels_agree: None,
        gpu_error: None,
        phases: None,
        resident_ms: None,
        resident_kernel_ms: None,
        variant: None,
        bits_differ: None,
    };
    let ready = matches!(ui.gpu.get_untracked(), GpuState::Ready { .. });
    if !ready || engine(|e| e.gpu_model) != Some(key) {
        return Ok((view, cpu));
    }
    let dw = data_worker().await?;
    phase(if dw.gpu_tuned(rows).await? {
        "GPU"
    } else {
        "GPU (first use at this size: kernels compile and are tried)"
    });
    let r = dw.gpu_time(key, x).await;
    // A cancelled run's reply (whatever it says) is not shown.
    ticket.check()?;
    let r = match r {
        Ok(Outcome::Lost(why)) => {
            reopen_gpu(ui);
            let e = format!(
                "the GPU device was lost ({why}); the CPU figures stand, and the page is opening the GPU again"
            );
            view.gpu_error = Some(e);
            return Ok((view, cpu));
        }
        Ok(Outcome::Done(t)) => Ok(t),
        Err(e) => Err(e),
    };
    match r {
        Ok((t, outputs)) => {
            view.gpu_ms = Some(t.e2e_ms);
            view.phases = Some(t.phases);
            view.kernel_ms = t.kernel_ms;
            view.resident_ms = Some(t.resident_ms);
            view.resident_kernel_ms = t.resident_kernel_ms;
            view.variant = Some(t.variant);
            view.bits_differ = Some(bits_differ(&cpu, &outputs));
            view.max_diff = Some(
                cpu.iter()
                    .zip(&outputs)
                    .map(|(a, b)| f64::from((a - b).abs()))
                    .fold(0.0, f64::max),
            );
            if model.task() == Task::Classification {
                let no = model.forest.n_outputs as usize;
                view.labels_agree = Some(
                    cpu.chunks_exact(no)
                        .zip(outputs.chunks_exact(no))
                        .all(|(a, b)| argmax(a) == argmax(b)),
                );
            }
        }
        Err(err) => view.gpu_error = Some(err.to_string()),
    }
    Ok((view, cpu))
}

/// Runs `job` as the page's one scoring run: the scoring buttons wait, Cancel stops it, and
/// its error (or that it was cancelled) shows beside the scoring buttons.
fn run_scoring<F>(ui: Ui, what: &'static str, job: impl FnOnce(Ticket) -> F + 'static)
where
    F: std::future::Future<Output = Result<()>> + 'static,
{
    if ui.busy.get_untracked().is_some() || ui.progress.get_untracked().is_some() {
        return;
    }
    ui.busy.set(Some(format!("{what}…")));
    let ticket = Ticket::new();
    spawn_local(async move {
        let r = job(ticket).await;
        // No other run starts while this one's line shows, cancelled or not.
        ui.busy.set(None);
        ui.steps.set(None);
        match r {
            Ok(()) => {}
            Err(Error::Cancelled) => ui.info(Place::Score, format!("{what} cancelled.")),
            Err(err) => ui.error(Place::Score, err),
        }
    });
}

pub fn score(ui: Ui) {
    run_scoring(ui, "Scoring", move |ticket| async move {
        let (key, model, x) = scoring_rows().await?;
        let rows = x.len() / model.forest.n_features.max(1) as usize;
        let label = format!("Scoring {} rows", human::count(rows));
        let (view, cpu) = side_by_side(ui, ticket, &label, key, &model, &x).await?;
        engine(|e| {
            e.predictions = Some(Predictions {
                outputs: cpu,
                n_outputs: model.forest.n_outputs as usize,
            })
        });
        ui.race.set(Some(RaceView::of(&view)));
        ui.score.set(Some(view));
        Ok(())
    });
}

/// Batch sizes from 100 rows, by tens, up to `max`.
pub fn sweep_sizes(max: usize) -> Vec<usize> {
    std::iter::successors(Some(100usize), |n| n.checked_mul(10))
        .take_while(|&n| n <= max)
        .collect()
}

/// The first `rows` rows of `x`, repeated as often as needed.
pub(super) fn tile(x: &[f32], nf: usize, rows: usize) -> Vec<f32> {
    x.iter().copied().cycle().take(rows * nf).collect()
}

/// Runs every batch size on the CPU and the GPU, adding points to the chart as they come;
/// `on_point` sees each one (the benchmark mode logs them).
pub async fn sweep(
    ui: Ui,
    ticket: Ticket,
    max: usize,
    on_point: impl Fn(&SweepPoint, &ScoreView),
) -> Result<()> {
    let (key, model, x) = scoring_rows().await?;
    let nf = model.forest.n_features.max(1) as usize;
    if x.is_empty() {
        return Err(Error::InvalidParam("no rows to score".into()));
    }
    ui.sweep.set(Vec::new());
    let sizes = sweep_sizes(max);
    for (i, &rows) in sizes.iter().enumerate() {
        ticket.check()?;
        ui.steps.set(Some((i, sizes.len())));
        let label = format!(
            "Sweep {} of {}, {} rows",
            i + 1,
            sizes.len(),
            human::count(rows)
        );
        let batch = tile(&x, nf, rows);
        let (view, _) = side_by_side(ui, ticket, &label, key, &model, &batch).await?;
        if let Some(e) = &view.gpu_error {
            return Err(Error::Gpu(format!("at {rows} rows: {e}")));
        }
        let p = SweepPoint {
            rows,
            cpu_ms: view.cpu.ms,
            cpu_one_ms: view.cpu.one_ms,
            gpu_ms: view.gpu_ms,
            kernel_ms: view.kernel_ms,
            identical: view.identical(),
        };
        on_point(&p, &view);
        ui.race.set(Some(RaceView::of(&view)));
        ui.sweep.update(|s| s.push(p));
    }
    ui.steps.set(Some((sizes.len(), sizes.len())));
    Ok(())
}

pub fn start_sweep(ui: Ui) {
    let max = ui.sweep_max.get_untracked().parse().unwrap_or(100_000);
    run_scoring(ui, "Sweep", move |ticket| sweep(ui, ticket, max, |_, _| {}));
}

pub fn save_model(ui: Ui) {
    let r = engine(|e| match &e.model {
        Some(m) => files::download("forest-model.json", &m.to_saved_json()?, "application/json"),
        None => Err(Error::InvalidParam("no model to save yet".into())),
    });
    if let Err(err) = r {
        ui.error(Place::Forest, err);
    }
}

/// Installs a model read from `name` (this program's JSON or ONNX).
pub fn install_loaded(ui: Ui, name: &str, bytes: &[u8]) -> Result<()> {
    let model = Model::from_bytes(bytes)?;
    let view = model_view(&model, &format!("loaded from {name}"), None, 0);
    install_model(ui, model, view);
    Ok(())
}

pub fn load_model(ui: Ui, file: web_sys::File) {
    spawn_local(async move {
        let name = file.name();
        let r = async {
            let bytes = files::read(&file).await?;
            install_loaded(ui, &name, &bytes)
        }
        .await;
        match r {
            Ok(()) => ui.info(Place::Forest, format!("Loaded the model in {name}.")),
            Err(err) => ui.error(Place::Forest, format!("{name}: {err}")),
        }
    });
}

pub fn export_predictions(ui: Ui) {
    spawn_local(async move {
        let r = async {
            let (m, p) = engine(|e| (e.model.clone(), e.predictions.clone()));
            let (Some(m), Some(p)) = (m, p) else {
                return Err(Error::InvalidParam("score rows first".into()));
            };
            // The CSV is written where the rows (and their ID column) are.
            let csv = data_worker().await?.export(m.reader(), &p).await?;
            files::download("predictions.csv", &csv, "text/csv")
        }
        .await;
        if let Err(err) = r {
            ui.error(Place::Score, err);
        }
    });
}

/// The files of a file input's change event.
pub fn input_file(ev: &leptos::ev::Event) -> Option<web_sys::File> {
    let input: web_sys::HtmlInputElement = ev.target()?.dyn_into().ok()?;
    let f = input.files()?.get(0);
    // Lets the same file be chosen again after an error.
    input.set_value("");
    f
}

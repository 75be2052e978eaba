//! Scoring and the sweep: the CPU's scoring workers against the GPU (in the data worker), on
//! the same rows, timed as medians, checked bit for bit; a ticket that cancels a run.

use super::charts::SweepPoint;
use super::gpu_side::Outcome;
use super::load::data_worker;
use super::pool::{CpuRun, Scorer};
use super::race::RaceView;
use super::state::{CpuFigures, GpuState, Place, ScoreView, Ui, engine};
use super::train::workers;
use super::{bits_differ, median};
use crate::data::Task;
use crate::error::{Error, Result};
use crate::forest::model::Predictions;
use crate::forest::{Model, argmax};
use crate::human;
use js_sys::Uint8Array;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::rc::Rc;

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
pub(super) fn rebuild_gpu_forest(ui: Ui) {
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
pub(super) async fn cpu_score(
    key: u64,
    model: &Model,
    x: &Uint8Array,
    workers: Option<usize>,
) -> Result<CpuRun> {
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
    x: &Uint8Array,
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
/// (so a model loaded back scores the same rows as the one saved). They stay in JS memory,
/// shared with the workers where the page is cross-origin isolated: the page's thread never
/// copies them.
pub(super) async fn scoring_rows() -> Result<(u64, Rc<Model>, Uint8Array)> {
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
    let x = data_worker().await?.rows(model.reader(), None).await?;
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
    x: &Uint8Array,
) -> Result<(ScoreView, Vec<f32>)> {
    let nf = model.forest.n_features.max(1) as usize;
    let rows = x.length() as usize / 4 / nf;
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
        let rows = x.length() as usize / 4 / model.forest.n_features.max(1) as usize;
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

/// Runs every batch size on the CPU and the GPU, adding points to the chart as they come;
/// `on_point` sees each one (the benchmark mode logs them).
pub async fn sweep(
    ui: Ui,
    ticket: Ticket,
    max: usize,
    on_point: impl Fn(&SweepPoint, &ScoreView),
) -> Result<()> {
    let (key, model, x) = scoring_rows().await?;
    if x.length() == 0 {
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
        // The loaded rows repeated up to this size, made in the data worker.
        let batch = data_worker()
            .await?
            .rows(model.reader(), Some(rows))
            .await?;
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

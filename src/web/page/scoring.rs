//! Scoring and the sweep: the CPU's scoring workers against the GPU (in the data worker), on
//! the same rows, timed as medians, checked bit for bit; a ticket that cancels a run.

use super::charts::SweepPoint;
use super::gpu::{gpu_holding, reopen_gpu};
use super::state::{CpuFigures, Place, ScoreView, Ui, engine};
use crate::data::Task;
use crate::error::{Error, Result};
use crate::forest::argmax;
use crate::model::Model;
use crate::model::Predictions;
use crate::protocol::Outcome;
use crate::protocol::views::GPU_RUNS;
use crate::spoken;
use crate::web::common::{bits_differ, median};
use crate::web::services::{Ticket, cpu_score, data_worker, scorer_len};
use js_sys::Uint8Array;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::rc::Rc;

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
    let n = scorer_len();
    phase(&format!("CPU, {}", spoken::cpu_workers(n)));
    let first = cpu_score(key, &model.forest, x, None).await?;
    let runs = runs_after(first.wall_ms);
    let (mut all, mut compute) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        ticket.check()?;
        let r = cpu_score(key, &model.forest, x, None).await?;
        all.push(r.wall_ms);
        compute.push(r.compute_ms);
    }
    // One worker: warm already; its own first run sets how many follow (a million rows take
    // seconds on one thread, where the workers together took a fraction of one).
    ticket.check()?;
    phase("CPU, 1 thread");
    let r = cpu_score(key, &model.forest, x, Some(1)).await?;
    let one_runs = runs_after(r.wall_ms);
    let (mut one, mut one_out) = (vec![r.wall_ms], r.outputs);
    for _ in 1..one_runs {
        ticket.check()?;
        let r = cpu_score(key, &model.forest, x, Some(1)).await?;
        one.push(r.wall_ms);
        one_out = r.outputs;
    }
    let figures = CpuFigures {
        ms: median(all),
        compute_ms: median(compute),
        one_ms: median(one),
        workers: scorer_len(),
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
        GPU_RUNS
    }
}

/// The rows that "Score" runs: every row of the loaded data, encoded with the model's schema
/// (so a model loaded back scores the same rows as the one saved). They stay in JS memory,
/// shared with the workers where the page is cross-origin isolated: the page's thread never
/// copies them.
pub async fn scoring_rows() -> Result<(u64, Rc<Model>, Uint8Array)> {
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
        gpu_skipped: None,
        adapter: None,
        kernel_dropped: false,
        phases: None,
        resident_ms: None,
        resident_kernel_ms: None,
        variant: None,
        bits_differ: None,
    };
    let adapter = match gpu_holding(ui, key) {
        Ok(a) => a,
        Err(why) => {
            view.gpu_skipped = Some(why);
            return Ok((view, cpu));
        }
    };
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
            view.adapter = Some(adapter);
            view.kernel_dropped = t.kernel_dropped;
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
/// its error (or that it was cancelled) shows at `place`.
pub(super) fn run_scoring<F>(
    ui: Ui,
    place: Place,
    what: &'static str,
    job: impl FnOnce(Ticket) -> F + 'static,
) where
    F: std::future::Future<Output = Result<()>> + 'static,
{
    if ui.busy.get_untracked().is_some() || ui.progress.get_untracked().is_some() {
        return;
    }
    ui.busy_at.set(place);
    ui.busy.set(Some(format!("{what}…")));
    let ticket = Ticket::new();
    spawn_local(async move {
        let r = job(ticket).await;
        // No other run starts while this one's line shows, cancelled or not.
        ui.busy.set(None);
        ui.busy_at.set(Place::Score);
        ui.steps.set(None);
        match r {
            Ok(()) => {}
            Err(Error::Cancelled) => ui.info(place, format!("{what} cancelled.")),
            Err(err) => ui.error(place, err),
        }
    });
}

pub fn score(ui: Ui) {
    run_scoring(ui, Place::Score, "Scoring", move |ticket| async move {
        let (key, model, x) = scoring_rows().await?;
        let rows = x.length() as usize / 4 / model.forest.n_features.max(1) as usize;
        let label = format!("Scoring {} rows", spoken::count(rows));
        let (view, cpu) = side_by_side(ui, ticket, &label, key, &model, &x).await?;
        engine(|e| {
            e.predictions = Some(Predictions {
                outputs: cpu,
                n_outputs: model.forest.n_outputs as usize,
            })
        });
        ui.race.set(Some(view.clone()));
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
            spoken::count(rows)
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
            one_differ: view.cpu.bits_differ,
            gpu_differ: view.bits_differ,
            software: view.software(),
            agree: view.agree(),
        };
        on_point(&p, &view);
        ui.race.set(Some(view.clone()));
        ui.sweep.update(|s| s.push(p));
    }
    ui.steps.set(Some((sizes.len(), sizes.len())));
    Ok(())
}

pub fn start_sweep(ui: Ui) {
    let max = ui.sweep_max.get_untracked().parse().unwrap_or(100_000);
    run_scoring(ui, Place::Score, "Sweep", move |ticket| {
        sweep(ui, ticket, max, |_, _| {})
    });
}

//! Why the model says what it says: one row's TreeSHAP explanation (on the GPU when it holds
//! the model, else on one CPU worker), and every row explained by the GPU and by the CPU
//! workers, raced and compared, with the features' mean |contribution|. The workers return
//! sums; the page finishes them with the model's [`Explainer`], the same for both engines.

use super::app::{Notice, Status, versus};
use super::charts::{Bars, Waterfall};
use super::gpu::{gpu_holding, reopen_gpu};
use super::scoring::{run_scoring, scoring_rows};
use super::state::{GpuState, Place, Ui, engine};
use crate::data::Task;
use crate::error::{Error, Result};
use crate::explain::{Explainer, Explanation, margins};
use crate::model::Model;
use crate::model::rows::label_of;
use crate::protocol::{Outcome, RowRef, RowShown};
use crate::spoken;
use crate::web::services::{Ticket, cpu_explain, data_worker, scorer_len};
use js_sys::Uint8Array;
use leptos::prelude::*;
use std::rc::Rc;

/// Contributions a row's waterfall shows one by one; the rest are summed into one bar.
const SHOWN: usize = 10;
/// Steps the CPU workers explain every row in (the progress bar's steps).
const CPU_STEPS: usize = 40;

/// One row's explanation, as the waterfall draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct RowExplanation {
    pub row: RowShown,
    /// What is explained, in words: the probability of a class, or the target's value.
    pub output: String,
    pub expected: f64,
    /// Expected value plus every contribution.
    pub total: f64,
    /// The model's own output for the row (before its post-transform).
    pub model_output: f64,
    /// (feature, the row's value of it, contribution), largest first.
    pub items: Vec<(String, String, f64)>,
    /// How many other features, and their contributions' sum.
    pub rest: Option<(usize, f64)>,
    /// Where it ran, and how long it took there.
    pub engine: String,
    pub ms: f64,
}

/// Every row explained by both engines.
#[derive(Debug, Clone, PartialEq)]
pub struct AllExplained {
    pub rows: usize,
    /// The CPU workers' time, when they ran.
    pub cpu_ms: Option<f64>,
    pub workers: usize,
    /// The GPU's time, whether it is a software one, or why it did not run.
    pub gpu: std::result::Result<(f64, bool), String>,
    /// Both engines ran, and were compared: values whose bits differ, of `values`, and the
    /// largest difference as a share of its row's largest |contribution|.
    pub compared: bool,
    pub differ: usize,
    pub values: usize,
    pub worst: f64,
    /// Per feature, mean |contribution|, largest first.
    pub mean_abs: Vec<(String, f64)>,
}

/// The model's explainer, made once per model on the page's thread (paths of every leaf: a
/// few milliseconds for the bundled forests), or why it cannot explain.
fn explainer(key: u64, model: &Model) -> Result<Rc<Explainer>> {
    if let Some(e) = engine(|e| e.explainer.clone().filter(|(k, _)| *k == key)) {
        return Ok(e.1);
    }
    if model.forest.covers.is_empty() {
        return Err(Error::Explain(
            "this model has no node covers (the training weight that reached each node), which \
             explanations weigh by: forests trained here have them; for an imported or older \
             model, `forest explain --background FILE.csv` counts them from rows like its \
             training data"
                .into(),
        ));
    }
    let e = Rc::new(Explainer::new(&model.forest)?);
    engine(|s| s.explainer = Some((key, e.clone())));
    Ok(e)
}

/// The sums of `x` on the GPU: time and sums, or why not (a lost device is opened again).
async fn gpu_sums(
    ui: Ui,
    key: u64,
    x: &Uint8Array,
) -> Result<std::result::Result<(f64, Vec<f32>), String>> {
    match data_worker().await?.gpu_explain(key, x).await {
        Ok(Outcome::Done(r)) => Ok(Ok(r)),
        Ok(Outcome::Lost(why)) => {
            reopen_gpu(ui);
            Ok(Err(format!("the GPU device was lost ({why})")))
        }
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// The row the box names: a number from 1, else an ID; empty, the default row.
fn row_ref(text: &str, default: usize) -> RowRef {
    let t = text.trim();
    match t.parse::<usize>() {
        Ok(n) => RowRef::Number(n),
        Err(_) if t.is_empty() => RowRef::Number(default),
        Err(_) => RowRef::Id(t.to_string()),
    }
}

/// The row explained first: the first held-out row of the rows this model was trained on,
/// else the first row.
pub fn default_row(ui: Ui) -> usize {
    let data = ui.data.get().map(|d| d.name);
    ui.model
        .get()
        .filter(|m| m.data_name.is_some() && m.data_name == data)
        .and_then(|m| m.first_test_row)
        .map_or(1, |r| r + 1)
}

pub fn explain_row(ui: Ui) {
    run_scoring(
        ui,
        Place::Explain,
        "Explaining a row",
        move |_ticket| async move {
            let (key, model, x) = scoring_rows().await?;
            let e = explainer(key, &model)?;
            let nf = model.forest.n_features.max(1) as usize;
            let want = row_ref(&ui.explain_row.get_untracked(), default_row(ui));
            let shown = data_worker().await?.row(model.reader(), want).await?;
            let at = (shown.index * nf * 4) as u32;
            let row = x.slice(at, at + nf as u32 * 4);
            let gpu = match gpu_holding(ui, key).map(|a| a.software) {
                Ok(software) => gpu_sums(ui, key, &row).await?.map(|r| (r, software)),
                Err(why) => Err(why),
            };
            let (ms, sums, engine) = match gpu {
                Ok(((ms, sums), software)) => (ms, sums, spoken::gpu_name(software).to_string()),
                Err(why) => {
                    let r = cpu_explain(key, &model.forest, &row, Some(1), 1, |_| {}).await?;
                    let on = format!("CPU, 1 worker (the GPU did not: {why})");
                    (r.wall_ms, r.outputs, on)
                }
            };
            let explained = e.finish(&sums);
            let mut values = vec![0f32; nf];
            row.copy_to(bytemuck::cast_slice_mut(&mut values));
            let out = margins(&model.forest, &values);
            ui.explained
                .set(Some(row_view(&model, &explained, &out, shown, engine, ms)));
            Ok(())
        },
    );
}

fn row_view(
    model: &Model,
    e: &Explanation,
    out: &[f32],
    row: RowShown,
    engine: String,
    ms: f64,
) -> RowExplanation {
    let names = model.schema.feature_names();
    let outputs = model.reader().output_names();
    let k = match model.task() {
        // The class the model predicts (at its threshold, where one is set).
        Task::Classification => label_of(out, model.threshold),
        Task::Regression => 0,
    };
    let output = match model.task() {
        Task::Classification => format!("probability of \"{}\"", outputs[k]),
        Task::Regression => format!("\"{}\"", outputs[0]),
    };
    let (top, rest) = e.largest(0, k, SHOWN);
    RowExplanation {
        output,
        expected: f64::from(e.expected[k]),
        total: e.total(0, k),
        model_output: f64::from(out[k]),
        items: top
            .into_iter()
            .map(|(j, v)| (names[j].clone(), row.cells[j].clone(), f64::from(v)))
            .collect(),
        rest: rest.map(|s| (e.n_features - SHOWN, s)),
        row,
        engine,
        ms,
    }
}

pub fn explain_all(ui: Ui) {
    run_scoring(
        ui,
        Place::Explain,
        "Explaining every row",
        move |ticket| async move {
            let (key, model, x) = scoring_rows().await?;
            let all = race(ui, ticket, key, &model, &x, true).await?;
            ui.explained_all.set(Some(all));
            Ok(())
        },
    );
}

/// Every row of `x` explained on the GPU (when it holds the model), then on the CPU workers
/// unless `cpu` is false (the benchmark mode skips them on large batches), compared value by
/// value. The busy line says which runs.
pub(super) async fn race(
    ui: Ui,
    ticket: Ticket,
    key: u64,
    model: &Model,
    x: &Uint8Array,
    cpu: bool,
) -> Result<AllExplained> {
    let e = explainer(key, model)?;
    let nf = model.forest.n_features.max(1) as usize;
    let rows = x.length() as usize / 4 / nf;
    if rows == 0 {
        return Err(Error::InvalidParam("no rows to explain".into()));
    }
    e.check_rows(rows)?;
    let label = format!("Explaining {} rows", spoken::count(rows));
    let gpu = match gpu_holding(ui, key).map(|a| a.software) {
        Ok(software) => {
            ui.busy
                .set(Some(format!("{label}: {}…", spoken::gpu_name(software))));
            gpu_sums(ui, key, x).await?.map(|r| (r, software))
        }
        Err(why) => Err(why),
    };
    ticket.check()?;
    let n = scorer_len();
    let cpu = if cpu {
        ui.busy
            .set(Some(format!("{label}: {}…", spoken::cpu_workers(n))));
        let r = cpu_timed(ticket, ui, key, model, x, rows).await?;
        Some((r.wall_ms, e.finish(&r.outputs)))
    } else {
        None
    };
    let gpu_e = gpu.as_ref().ok().map(|((_, sums), _)| e.finish(sums));
    let (differ, worst) = match (&cpu, &gpu_e) {
        (Some((_, c)), Some(g)) => c.differs_from(g),
        _ => (0, 0.0),
    };
    let Some(shown) = cpu.as_ref().map(|(_, c)| c).or(gpu_e.as_ref()) else {
        return Err(Error::Gpu(format!(
            "nothing explained the rows: the GPU did not ({})",
            gpu.err().unwrap_or_default()
        )));
    };
    let names = model.schema.feature_names();
    let mut mean_abs: Vec<(String, f64)> = names.into_iter().zip(shown.mean_abs()).collect();
    mean_abs.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(AllExplained {
        rows,
        cpu_ms: cpu.as_ref().map(|(ms, _)| *ms),
        workers: n,
        values: shown.values.len(),
        gpu: gpu.map(|((ms, _), software)| (ms, software)),
        compared: cpu.is_some() && gpu_e.is_some(),
        differ,
        worst,
        mean_abs,
    })
}

/// Every row on the CPU workers, in steps the progress bar counts, after a first row each
/// (their paths made, untimed).
async fn cpu_timed(
    ticket: Ticket,
    ui: Ui,
    key: u64,
    model: &Model,
    x: &Uint8Array,
    rows: usize,
) -> Result<crate::web::services::CpuRun> {
    let nf = model.forest.n_features.max(1) as usize;
    let n = scorer_len();
    let first = x.slice(0, (rows.min(n) * nf * 4) as u32);
    cpu_explain(key, &model.forest, &first, None, 1, |_| {}).await?;
    ticket.check()?;
    ui.steps.set(Some((0, rows)));
    // Each step gives every worker a few rows (fewer left most of them idle at 100 rows).
    let steps = (rows / (4 * n)).clamp(1, CPU_STEPS);
    let r = cpu_explain(key, &model.forest, x, None, steps, |done| {
        ui.steps.set(Some((done, rows)))
    })
    .await;
    ui.steps.set(None);
    r
}

#[component]
pub fn ExplainSection(ui: Ui) -> impl IntoView {
    let idle = move || {
        ui.busy.get().is_none()
            && ui.progress.get().is_none()
            && ui.model.get().is_some()
            && ui.data.get().is_some()
    };
    let placeholder = move || format!("row {} (number or ID)", default_row(ui));
    view! {
        <section class="card explain-card">
            <h2><span class="step">"5"</span>"Why this prediction"</h2>
            <div class="row detail">
                <label>"Row "
                    <input type="text" data-testid="explain-row" aria-label="row to explain, by number or ID"
                        placeholder=placeholder prop:value=move || ui.explain_row.get()
                        on:input=move |ev| ui.explain_row.set(event_target_value(&ev))/>
                </label>
                <button class="primary" data-testid="explain" disabled=move || !idle()
                    on:click=move |_| explain_row(ui)>"Explain row"</button>
                <button data-testid="explain-all" disabled=move || !idle()
                    on:click=move |_| explain_all(ui)>{move || match ui.gpu.get() {
                        GpuState::Off(_) => "Explain every row on the CPU",
                        _ => "Explain every row: CPU against GPU",
                    }}</button>
                <button data-testid="cancel-explain" disabled=move || ui.busy.get().is_none()
                    on:click=move |_| crate::web::services::cancel_scoring()>"Cancel"</button>
            </div>
            <Status ui=ui place=Place::Explain/>
            <Notice ui=ui place=Place::Explain/>
            <p class="muted detail">"Exact TreeSHAP values: each feature's share of the prediction, from the model's expected value (no feature known) to its output for the row."</p>
            {move || ui.explained.get().map(|r| view! { <RowCard r=r/> })}
            {move || (!ui.stage.get()).then(|| ui.explained_all.get().map(|a| view! { <AllCard a=a ui=ui/> }))}
        </section>
    }
}

/// The presenter view shows the scoring card alone: every row's explanation race shows there,
/// beside the scoring race.
#[component]
pub fn ExplainOnStage(ui: Ui) -> impl IntoView {
    move || {
        ui.stage.get().then(|| {
            ui.explained_all
                .get()
                .map(|a| view! { <AllCard a=a ui=ui/> })
        })
    }
}

#[component]
fn RowCard(r: RowExplanation) -> impl IntoView {
    let id = r
        .row
        .id
        .clone()
        .map(|i| format!(" ({i})"))
        .unwrap_or_default();
    let items: Vec<(String, f64)> = r
        .items
        .iter()
        .map(|(name, cell, v)| {
            let cell = if cell.is_empty() {
                "missing"
            } else {
                cell.as_str()
            };
            (format!("{name} = {cell}"), *v)
        })
        .chain(
            r.rest
                .map(|(n, s)| (format!("{n} other {}", spoken::plural(n, "feature")), s)),
        )
        .collect();
    view! {
        <div class="explained" data-testid="explained" data-expected=r.expected data-total=r.total
            data-output=r.model_output>
            <h3>{format!("Row {}{id}: {} {:.3}", r.row.index + 1, r.output, r.model_output)}</h3>
            <Waterfall base=r.expected items=items/>
            <p class="muted" data-testid="explained-sum">{format!(
                "Expected value {:.3} plus the contributions = {:.3}; the model's output {:.3}. Explained on the {} in {}.",
                r.expected, r.total, r.model_output, r.engine, spoken::duration(r.ms)
            )}</p>
        </div>
    }
}

#[component]
fn AllCard(a: AllExplained, ui: Ui) -> impl IntoView {
    let cpu = spoken::cpu_workers(a.workers);
    let gpu = a
        .gpu
        .as_ref()
        .ok()
        .map(|&(ms, software)| (spoken::gpu_name(software), ms));
    let verdict = gpu
        .zip(a.cpu_ms)
        .map(|((g, ms), cpu_ms)| versus(cpu_ms, ms, g));
    let outputs = match (&a.gpu, gpu) {
        (Err(why), _) => format!("The GPU did not explain: {why}."),
        (_, Some((g, _))) if a.compared && a.differ == 0 => {
            format!(
                "{cpu} and {g}: all {} values bit-identical",
                spoken::count(a.values)
            )
        }
        (_, Some((g, _))) if a.compared => format!(
            "{cpu} and {g}: {} of {} values differ in their last bits, at most {:.1e} of their row's largest contribution",
            spoken::count(a.differ),
            spoken::count(a.values),
            a.worst
        ),
        _ => "The CPU workers did not run on these rows.".to_string(),
    };
    let max = a
        .cpu_ms
        .unwrap_or(0.0)
        .max(gpu.map_or(0.0, |g| g.1))
        .max(1e-6);
    let bar = move |label: String, ms: f64, class: &'static str, id: &'static str| {
        view! {
            <div class="explain-bar">
                <span>{label}</span>
                <div class="track"><div class=class style=format!("width: {:.2}%", 100.0 * ms / max)></div></div>
                <b data-testid=id>{spoken::duration(ms)}</b>
            </div>
        }
    };
    let importances = move || ui.model.get().map(|m| m.importances).unwrap_or_default();
    view! {
        <div class="explained-all" data-testid="explained-all" data-differ=a.differ data-worst=a.worst>
            <h3>{format!("Every row explained: {}", spoken::rows(a.rows))}</h3>
            {a.cpu_ms.map(|ms| bar(cpu.clone(), ms, "fill cpu", "explain-cpu-ms"))}
            {gpu.map(|(g, ms)| bar(g.to_string(), ms, "fill gpu", "explain-gpu-ms"))}
            {verdict.map(|v| view! { <p class="verdict" data-testid="explain-speedup">{v}</p> })}
            <p data-testid="explain-outputs" class=if a.worst <= 1e-6 { "" } else { "bad" }>{outputs}</p>
            <p class="muted detail">"One run each, after each engine explained a first row (its paths made, the GPU's kernels compiled). The GPU's time runs from the rows' upload to the values read back, in its worker; the CPU's from the rows sent to the values back."</p>
            <div class="charts detail">
                <div data-testid="mean-contribution"><h3>"Mean |contribution|"</h3><Bars items=a.mean_abs.into_iter().take(15).collect()/></div>
                <div><h3>"Impurity importance"</h3>{move || view! { <Bars items=importances().into_iter().take(15).collect()/> }}</div>
            </div>
        </div>
    }
}

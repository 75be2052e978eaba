//! The page's layout: data, forest, quality, scoring. Each section reads the signals in
//! [`Ui`]; the buttons call `load`, `train` and `score`.

use super::charts::Sweep;
use super::race::{BenchCard, Race};
use super::state::{GpuState, Place, Ui};
use super::{gpu, load, scoring, training};
use crate::data::Task;
use crate::protocol::views::GPU_RUNS;
use crate::spoken;
use crate::web::services::worker_count;
use leptos::prelude::*;

#[component]
pub fn App() -> impl IntoView {
    let ui = Ui::new();
    gpu::init_gpu(ui);
    super::bench_link::start_if_asked(ui);
    // Esc leaves the presenter view.
    let esc = leptos::prelude::window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            ui.stage.set(false);
        }
    });
    on_cleanup(move || esc.remove());
    view! {
        <header class:stage=move || ui.stage.get()>
            <div class="brand">
                <h1>"GPU Forest"</h1>
                <p class="tagline">"Train a random forest in your browser, then score it on the CPU and on the GPU."</p>
            </div>
            <GpuBadge ui=ui/>
        </header>
        <main class:stage=move || ui.stage.get()>
            <DataSection ui=ui/>
            <ForestSection ui=ui/>
            <super::quality::QualitySection ui=ui/>
            <ScoreSection ui=ui/>
            <super::explain::ExplainSection ui=ui/>
        </main>
        <footer>"Everything runs on this machine: no data leaves the page."</footer>
    }
}

#[component]
fn GpuBadge(ui: Ui) -> impl IntoView {
    view! {
        <div class="gpu-badge" data-testid="gpu-status">
            {move || match ui.gpu.get() {
                GpuState::Checking => view! { <span class="dot checking"></span>"Looking for WebGPU…" }.into_any(),
                GpuState::Ready(adapter) => view! {
                    <span class=if adapter.software { "dot software" } else { "dot on" }></span>
                    <span>"WebGPU: " <b data-testid="adapter">{adapter.label()}</b>
                        {(!adapter.timestamps).then_some(" (no kernel timestamps)")}
                        {move || ui.gpu_note.get().map(|n| view! {
                            <span data-testid="gpu-note">" · " {n}</span>
                        })}</span>
                }.into_any(),
                GpuState::Off(why) => view! {
                    <span class="dot off"></span><span data-testid="gpu-off">"GPU off: " {why}</span>
                }.into_any(),
            }}
        </div>
    }
}

/// The message that answers an action of section `place`, shown beside that section's
/// buttons. The live region stays in the page, so screen readers hear what lands in it.
#[component]
pub(super) fn Notice(ui: Ui, place: Place) -> impl IntoView {
    view! {
        <div class="notice-slot" aria-live="polite">
            {move || ui.notice.get().filter(|n| n.place == place).map(|n| {
                // An error interrupts (alert); news waits its turn (status).
                let (class, role) = if n.error { ("notice error", "alert") } else { ("notice info", "status") };
                view! {
                    <div class=class role=role data-testid="notice">
                        <span>{n.text}</span>
                        <button class="close" aria-label="dismiss" on:click=move |_| ui.notice.set(None)>"×"</button>
                    </div>
                }
            })}
        </div>
    }
}

#[component]
fn DataSection(ui: Ui) -> impl IntoView {
    let drag = RwSignal::new(false);
    view! {
        <section class="card">
            <h2><span class="step">"1"</span>"Data"</h2>
            <div class="sources">
                <label
                    class=move || if drag.get() { "drop over" } else { "drop" }
                    data-testid="drop"
                    on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); drag.set(true); }
                    on:dragleave=move |_| drag.set(false)
                    on:drop=move |ev: leptos::ev::DragEvent| {
                        ev.prevent_default();
                        drag.set(false);
                        if let Some(f) = ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
                            load::load_file(ui, f);
                        }
                    }
                >
                    <input type="file" accept=".csv,.tsv,.txt,text/csv" data-testid="csv-input" aria-label="Choose a CSV file"
                        on:change=move |ev| if let Some(f) = load::input_file(&ev) { load::load_file(ui, f) }/>
                    <b>"Drop a CSV here"</b>" or click to choose one"
                </label>
                <div class="bundled">
                    <span class="muted">"Bundled:"</span>
                    <button on:click=move |_| load::load_asset(ui, "breast_cancer.csv")>"Breast cancer (569 rows)"</button>
                    <button on:click=move |_| load::load_asset(ui, "diabetes.csv")>"Diabetes (442 rows)"</button>
                    <span class="synth">
                        <input type="number" min="20" step="1000" aria-label="synthetic rows"
                            prop:value=move || ui.synth_rows.get()
                            on:input=move |ev| ui.synth_rows.set(event_target_value(&ev))/>
                        <button on:click=move |_| load::generate_from_ui(ui)>"Generate synthetic rows"</button>
                    </span>
                </div>
                <details class="about-data" data-testid="about-data">
                    <summary>"About the bundled data"</summary>
                    <p class="muted"><b>"Breast cancer"</b>": the Wisconsin diagnostic data (UCI, as scikit-learn ships it): 30 measurements of the cell nuclei in a biopsy's image (mean, error and worst of each); the target is the diagnosis, benign or malignant."</p>
                    <p class="muted"><b>"Diabetes"</b>": Efron and others (2004), as scikit-learn ships it, unscaled: age, sex, body mass index, mean blood pressure and six blood serum measurements (s1 total cholesterol, s2 LDL, s3 HDL, s4 total over HDL cholesterol, s5 triglycerides (log), s6 blood sugar); the target is the disease's progression one year later."</p>
                </details>
            </div>
            {move || ui.loading.get().map(|t| view! {
                <div class="status" data-testid="loading" role="status"><progress></progress><span>{t}</span></div>
            })}
            <Notice ui=ui place=Place::Data/>
            {move || ui.data.get().map(|d| {
                let head = d.headers.iter().map(|h| view! { <th>{h.clone()}</th> }).collect_view();
                let rows = d.preview.iter().map(|r| {
                    let cells = r.iter().map(|c| view! { <td>{c.clone()}</td> }).collect_view();
                    view! { <tr>{cells}</tr> }
                }).collect_view();
                let cols = d.columns.iter().map(|c| {
                    let (name, id) = (c.name.clone(), c.id_like.is_some());
                    let n = name.clone();
                    let trains = move || {
                        if id { ui.columns_on.get().contains(&n) } else { !ui.columns_off.get().contains(&n) }
                    };
                    let toggle = {
                        let name = name.clone();
                        move |_| {
                            let list = if id { ui.columns_on } else { ui.columns_off };
                            list.update(|l| match l.iter().position(|x| *x == name) {
                                Some(i) => { l.remove(i); }
                                None => l.push(name.clone()),
                            });
                        }
                    };
                    let is_target = { let n = name.clone(); move || ui.target.get() == n };
                    view! {
                        <tr><td><label class="train-col"><input type="checkbox" aria-label=format!("train on {name}")
                            prop:checked=trains on:change=toggle disabled=is_target/>{name.clone()}</label></td>
                        <td>{c.kind.clone()}{c.id_like.clone().map(|r| view! { <span class="muted">" · " {r}</span> })}</td>
                        <td class="num">{c.missing}</td><td class="num">{c.distinct}</td></tr>
                    }
                }).collect_view();
                let flagged: Vec<(String, String)> = d.columns.iter()
                    .filter_map(|c| c.id_like.clone().map(|r| (c.name.clone(), r))).collect();
                let left_out = move || {
                    let t = ui.target.get();
                    let on = ui.columns_on.get();
                    let off = ui.columns_off.get();
                    let mut out: Vec<String> = flagged.iter()
                        .filter(|(n, _)| *n != t && !on.contains(n))
                        .map(|(n, r)| format!("{n} ({r})")).collect();
                    out.extend(off.iter().filter(|n| **n != t).map(|n| format!("{n} (left out by choice)")));
                    (!out.is_empty()).then(|| view! {
                        <p class="muted" data-testid="left-out">"Left out of training: " {out.join(", ")}
                            ". Tick a column under Column types to train on it."</p>
                    })
                };
                let options = d.headers.iter().map(|h| view! { <option value=h.clone()>{h.clone()}</option> }).collect_view();
                let group_options = d.headers.iter().map(|h| view! { <option value=h.clone()>{h.clone()}</option> }).collect_view();
                // What "auto" groups by: the first group-like column that is not the target.
                let group_like: Vec<String> = d.columns.iter()
                    .filter(|c| c.id_like.as_deref().is_some_and(|r| r.starts_with("group-like")))
                    .map(|c| c.name.clone()).collect();
                let auto_group = move || {
                    let t = ui.target.get();
                    group_like.iter().find(|g| **g != t).cloned()
                };
                // Rows to score (they lack the model's target): no target until one is chosen.
                let to_score = move || ui.target.get().is_empty();
                let model_target = move || ui.model.get().map(|m| m.target);
                let detected = d.detected.clone();
                let headers = d.headers.clone();
                let detected_task = move || {
                    let t = ui.target.get();
                    headers.iter().position(|h| *h == t).map(|i| detected[i])
                };
                view! {
                    <p class="muted" data-testid="data-summary">{d.name.clone()} " · " {d.rows} " rows · " {d.headers.len()} " columns"</p>
                    {left_out}
                    <div class="scroll"><table class="preview" data-testid="preview"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>
                    <details>
                        <summary>"Column types and missing values"</summary>
                        <table class="columns" data-testid="columns"><thead><tr><th>"column (trains)"</th><th>"type"</th><th>"missing"</th><th>"distinct"</th></tr></thead><tbody>{cols}</tbody></table>
                    </details>
                    <div class="row">
                        <label>"Target column "
                            <select data-testid="target" on:change=move |ev| ui.target.set(event_target_value(&ev)) prop:value=move || ui.target.get()>
                                <option value="" disabled=true>"none: rows to score"</option>
                                {options}
                            </select>
                        </label>
                        <label>"Task "
                            <select data-testid="task" on:change=move |ev| ui.task.set(match event_target_value(&ev).as_str() {
                                "classification" => Some(Task::Classification),
                                "regression" => Some(Task::Regression),
                                _ => None,
                            })>
                                <option value="auto" selected=true>{move || format!("auto ({})", detected_task().map_or("?", |t| t.name()))}</option>
                                <option value="classification">"classification"</option>
                                <option value="regression">"regression"</option>
                            </select>
                        </label>
                        <label title="Every row of one value (a patient's admissions) on the same side of the train/test split">"Hold out together "
                            <select data-testid="group" on:change=move |ev| ui.group.set(event_target_value(&ev)) prop:value=move || ui.group.get()>
                                <option value="auto">{move || match auto_group() {
                                    Some(g) => format!("auto ({g})"),
                                    None => "auto (none found)".to_string(),
                                }}</option>
                                <option value="none">"none: rows at random"</option>
                                {group_options}
                            </select>
                        </label>
                        <label title="The share of the rows the forest does not train on, for the Quality card's figures">"Held out "
                            <select data-testid="test-fraction" on:change=move |ev| ui.test_percent.set(event_target_value(&ev)) prop:value=move || ui.test_percent.get()>
                                {[10, 20, 25, 30, 40, 50].map(|p| view! { <option value=p.to_string()>{format!("{p}%")}</option> }).collect_view()}
                            </select>
                        </label>
                    </div>
                    {move || to_score().then(|| view! {
                        <p class="muted" data-testid="rows-to-score">{format!(
                            "These rows have no \"{}\" column: they are rows to score with the model. To train on them instead, choose a target column.",
                            model_target().unwrap_or_default()
                        )}</p>
                    })}
                }
            })}
        </section>
    }
}

#[component]
fn Field(label: &'static str, value: RwSignal<String>, hint: &'static str) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <input type="text" prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))
                aria-label=label/>
            <small class="muted">{hint}</small>
        </label>
    }
}

/// A setting with a few exact choices: a select, so nothing can be mistyped.
#[component]
fn Choose(
    label: &'static str,
    value: RwSignal<String>,
    hint: &'static str,
    options: &'static [(&'static str, &'static str)],
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <select aria-label=label prop:value=move || value.get() on:change=move |ev| value.set(event_target_value(&ev))>
                {options.iter().map(|&(v, text)| view! { <option value=v>{text}</option> }).collect_view()}
            </select>
            <small class="muted">{hint}</small>
        </label>
    }
}

#[component]
fn ForestSection(ui: Ui) -> impl IntoView {
    let training = move || ui.progress.get().is_some();
    view! {
        <section class="card">
            <h2><span class="step">"2"</span>"Forest"</h2>
            <div class="fields">
                <Field label="Trees" value=ui.trees hint="100 is scikit-learn's default"/>
                <Field label="Max depth" value=ui.depth hint="\"none\": grow until pure"/>
                <Field label="Max features" value=ui.max_features hint="sqrt, log2, all, 0.5, 8 or auto"/>
                <Field label="Min samples per leaf" value=ui.min_leaf hint="1 or more"/>
                <Choose label="Criterion" value=ui.criterion hint="how a split is scored" options=&[
                    ("auto", "auto (Gini; squared error for regression)"), ("gini", "Gini"), ("entropy", "entropy"), ("squared_error", "squared error")]/>
                <Choose label="Class weight" value=ui.class_weight hint="balanced weighs a rare outcome up" options=&[
                    ("none", "none"), ("balanced", "balanced")]/>
                <Field label="Seed" value=ui.seed hint="same seed, same forest"/>
            </div>
            <div class="row">
                <button class="primary" data-testid="train" disabled=move || training() || ui.busy.get().is_some() || ui.loading.get().is_some() || ui.target.get().is_empty()
                    on:click=move |_| training::start_training(ui)>"Train forest"</button>
                <button data-testid="cancel" disabled=move || !training()
                    on:click=move |_| training::cancel_training()>"Cancel training"</button>
                <span class="muted">{move || { let n = worker_count(); format!("in {n} web {}", spoken::plural(n, "worker")) }}</span>
            </div>
            {move || ui.progress.get().map(|(done, total)| view! {
                <div class="progress" data-testid="progress">
                    <progress max=total value=done></progress>
                    <span>{done} " / " {total} " trees"</span>
                </div>
            })}
            <div class="row">
                <button data-testid="save-model" disabled=move || ui.model.get().is_none()
                    on:click=move |_| load::save_model(ui)>"Save model (JSON)"</button>
                <label class="button">
                    <input type="file" accept=".json,.onnx,application/json" data-testid="model-input" aria-label="Load a saved model file"
                        on:change=move |ev| if let Some(f) = load::input_file(&ev) { load::load_model(ui, f) }/>
                    "Load a saved model (JSON, or ONNX from scikit-learn, XGBoost, LightGBM, Spark)"
                </label>
            </div>
            <Notice ui=ui place=Place::Forest/>
        </section>
    }
}

#[component]
fn ScoreSection(ui: Ui) -> impl IntoView {
    let blocked = move || match (ui.model.get(), ui.data.get()) {
        (Some(m), Some(d)) => m.cannot_score(&d),
        (Some(_), None) => Some("Load rows to score them.".to_string()),
        _ => None,
    };
    let gpu_off = move || matches!(ui.gpu.get(), GpuState::Off(_));
    let idle = move || {
        ui.busy.get().is_none()
            && ui.progress.get().is_none()
            && ui.model.get().is_some()
            && blocked().is_none()
    };
    view! {
        <section class="card score-card">
            <div class="card-head">
                <h2><span class="step">"4"</span>{move || if gpu_off() { "Score on the CPU" } else { "Score: CPU against GPU" }}</h2>
                <button class="stage-toggle" data-testid="stage" aria-pressed=move || ui.stage.get().to_string()
                    on:click=move |_| ui.stage.update(|s| *s = !*s)>
                    {move || if ui.stage.get() { "Leave presenter view (Esc)" } else { "Presenter view" }}
                </button>
            </div>
            <div class="row">
                <button class="primary" data-testid="score" disabled=move || !idle()
                    on:click=move |_| scoring::score(ui)>{move || if gpu_off() { "Score on CPU" } else { "Score on CPU and GPU" }}</button>
                <label>"Sweep up to "
                    <select data-testid="sweep-max" on:change=move |ev| ui.sweep_max.set(event_target_value(&ev))
                        prop:value=move || ui.sweep_max.get()>
                        <option value="1000">"1k rows"</option>
                        <option value="10000">"10k rows"</option>
                        <option value="100000">"100k rows"</option>
                        <option value="1000000">"1M rows"</option>
                    </select>
                </label>
                <button data-testid="sweep" disabled=move || !idle()
                    on:click=move |_| scoring::start_sweep(ui)>"Run batch-size sweep"</button>
                <button data-testid="cancel-scoring" disabled=move || ui.busy.get().is_none()
                    on:click=move |_| crate::web::services::cancel_scoring()>"Cancel"</button>
                <button class="detail" data-testid="export" disabled=move || ui.score.get().is_none()
                    on:click=move |_| load::export_predictions(ui)>"Export predictions (CSV)"</button>
            </div>
            {move || blocked().map(|why| view! { <p class="muted" data-testid="score-blocked">{why}</p> })}
            <Status ui=ui place=Place::Score/>
            <Notice ui=ui place=Place::Score/>
            <div class="stage-grid">
                <div class="race-wrap">
                    {move || match ui.race.get() {
                        Some(r) => view! { <Race race=r/> }.into_any(),
                        None => view! { <p class="muted race-empty">{move || if gpu_off() { "Score the rows, or run the sweep, to time the CPU workers against one thread." } else { "Score the rows, or run the sweep, to race the CPU against the GPU." }}</p> }.into_any(),
                    }}
                </div>
                <div class="stage-right">
                <super::quality::QualityStrip ui=ui/>
                {move || ui.bench_summary.get().map(|s| view! { <BenchCard summary=s/> })}
                <super::explain::ExplainOnStage ui=ui/>
                {move || {
                    let pts = ui.sweep.get();
                    (!pts.is_empty()).then(|| view! {
                        <div data-testid="sweep-chart" class="sweep-chart"><Sweep points=pts.clone()/>
                            <p class="legend" data-testid="sweep-legend"><span class="key cpu-one"></span>"CPU, 1 thread "<span class="key cpu"></span>{ let n = worker_count(); format!("CPU, {n} {} ", spoken::plural(n, "worker")) }
                                {pts.iter().any(|p| p.gpu_ms.is_some()).then(|| view! { <span class="key gpu"></span>"GPU end to end " })}
                                {pts.iter().any(|p| p.kernel_ms.is_some()).then(|| view! { <span class="key kernel"></span>"GPU kernel" })}</p>
                        </div>
                    })
                }}
                </div>
            </div>
            <ScoreDetails ui=ui/>
        </section>
    }
}

/// What runs now and how far it is: training's trees, or the scoring run's step.
#[component]
pub(super) fn Status(ui: Ui, place: Place) -> impl IntoView {
    move || {
        // Training shows beside scoring; a run shows in the section that started it.
        let busy = ui.busy.get().filter(|_| ui.busy_at.get() == place);
        let training = ui.progress.get().filter(|_| place == Place::Score);
        (busy.is_some() || training.is_some()).then(|| {
            let (text, done, total) = match (busy, training) {
                (_, Some((d, t))) => (format!("Training: {d} of {t} trees"), d, t),
                (Some(b), None) => {
                    let (d, t) = ui.steps.get().unwrap_or((0, 0));
                    (b, d, t)
                }
                (None, None) => unreachable!("one of the two is set"),
            };
            view! {
                <div class="status" data-testid="busy" role="status">
                    {(total > 0).then(|| view! { <progress max=total value=done></progress> })}
                    <span>{text}</span>
                </div>
            }
        })
    }
}

/// Every figure of the run the race shows (a score, or the sweep's latest size: always the
/// same batch as the race), then every size of the sweep, as numbers. GPU figures, columns and
/// wording appear only for a GPU that ran.
#[component]
fn ScoreDetails(ui: Ui) -> impl IntoView {
    view! {
        {move || ui.race.get().map(|s| {
            let n = s.cpu.workers;
            let ms = spoken::duration;
            let gpu = s.gpu_name();
            let gpu_tiles = s.gpu_ms.map(|g| view! {
                <div class="metric"><span>{format!("{gpu}, first run (upload included)")}</span><b data-testid="gpu-ms">{ms(g)}</b></div>
                <div class="metric"><span>{format!("{gpu}, rows already on the GPU")}</span><b data-testid="gpu-resident-ms">{s.resident_ms.map_or("n/a".into(), ms)}</b></div>
                {s.kernel_ms.map(|k| view! {
                    <div class="metric"><span title=s.variant.as_ref().map(|v| format!("kernel variant {v}, chosen by timing the candidates on this batch size"))>"GPU kernel alone"</span><b data-testid="kernel-ms">{ms(k)}</b></div>
                })}
                <div class="metric"><span>{format!("{gpu} first run against CPU, {n} {}", spoken::plural(n, "worker"))}</span><b data-testid="speedup">{versus(s.cpu.ms, g, gpu)}</b></div>
            });
            let note = format!(
                "Medians: CPU workers of {}, CPU 1 thread of {} (messages to the workers, their copies of the rows and the outputs back included){}. Every CPU worker is one wasm thread.{}",
                s.cpu.runs,
                s.cpu.one_runs,
                if s.gpu_ms.is_some() { format!(", {gpu} of {GPU_RUNS} runs") } else { String::new() },
                if s.kernel_dropped { " The GPU's kernel timestamps fell outside their runs' time, so no kernel time is shown." } else { "" },
            );
            let outputs = match (s.bits_differ, s.max_diff) {
                (Some(g), Some(d)) if g > 0 => format!("{} (max {d:.2e})", s.outputs_line()),
                _ => s.outputs_line(),
            };
            view! {
                <h3 class="detail" data-testid="figures-of">{format!("Figures of the race above: {}", spoken::rows(s.rows))}</h3>
                <div class="metrics detail" data-testid="score-result">
                    <div class="metric"><span>"CPU, 1 thread"</span><b data-testid="cpu-one-ms">{ms(s.cpu.one_ms)}</b></div>
                    <div class="metric"><span data-testid="cpu-workers">{format!("CPU, {n} {}", spoken::plural(n, "worker"))}</span><b data-testid="cpu-ms">{ms(s.cpu.ms)}</b></div>
                    {gpu_tiles}
                    <div class="metric wide"><span>"Outputs"</span><b data-testid="max-diff" class=if s.agree() { "" } else { "bad" }>{outputs}</b></div>
                    <div class="metric"><span>"Rows"</span><b data-testid="figures-rows">{spoken::count(s.rows)}</b></div>
                </div>
                <p class="muted detail" data-testid="timing-note">{note}</p>
                {s.labels_agree.map(|a| view! { <p data-testid="agree" class=if a { "ok detail" } else { "bad detail" }>
                    {if a { "CPU and GPU predict the same class for every row." } else { "CPU and GPU disagree on some rows." }}</p> })}
                {s.gpu_error.clone().map(|e| view! { <p class="bad" data-testid="gpu-error">"GPU scoring failed: " {e}</p> })}
            }
        })}
        {move || {
            let pts = ui.sweep.get();
            (!pts.is_empty()).then(|| {
                let ms = spoken::duration;
                let gpu = pts.iter().any(|p| p.gpu_ms.is_some());
                let kernel = pts.iter().any(|p| p.kernel_ms.is_some());
                let rows = pts.iter().map(|p| view! {
                    <tr><td class="num">{spoken::count(p.rows)}</td><td class="num">{ms(p.cpu_one_ms)}</td><td class="num">{ms(p.cpu_ms)}</td>
                    {gpu.then(|| view! { <td class="num">{p.gpu_ms.map_or("did not run".into(), ms)}</td> })}
                    {kernel.then(|| view! { <td class="num">{p.kernel_ms.map_or("n/a".into(), ms)}</td> })}
                    {gpu.then(|| view! { <td class="num">{p.gpu_ms.map_or("n/a".into(), |g| versus(p.cpu_ms, g, spoken::gpu_name(p.software)))}</td> })}
                    <td>{match (p.agree, p.gpu_differ.is_some()) {
                        (true, true) => "bit-identical",
                        (true, false) => "CPU: bit-identical",
                        (false, _) => "differ",
                    }}</td></tr>
                }).collect_view();
                view! {
                    <div class="scroll detail">
                        <table class="sweep-table" data-testid="sweep-table"><thead><tr><th>"rows"</th><th>"CPU, 1 thread"</th><th>"CPU, workers"</th>
                            {gpu.then(|| view! { <th>"GPU end to end"</th> })}
                            {kernel.then(|| view! { <th>"GPU kernel"</th> })}
                            {gpu.then(|| view! { <th>"GPU vs CPU workers"</th> })}
                            <th>"outputs"</th></tr></thead><tbody>{rows}</tbody></table>
                    </div>
                }
            })
        }}
    }
}

/// Which side is faster, by how much: "GPU 3.2x faster" or "CPU 1.5x faster" (`gpu` names
/// the GPU that ran: a software one is called so).
pub(super) fn versus(cpu_ms: f64, gpu_ms: f64, gpu: &str) -> String {
    if gpu_ms <= cpu_ms {
        format!("{gpu} {} faster", spoken::times(cpu_ms / gpu_ms.max(1e-6)))
    } else {
        format!("CPU {} faster", spoken::times(gpu_ms / cpu_ms.max(1e-6)))
    }
}

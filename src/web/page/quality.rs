//! The Quality card: how good the forest is on rows it did not see, in the figures a clinician
//! reads (`forest::quality` chooses and computes them), and for two classes the decision
//! threshold: a slider over the held-out curve with the counts at it live, the ROC and
//! precision-recall curves, the reliability diagram; the model takes the threshold when the
//! slider is let go, and its labels, exports and saved file follow it.

use super::charts::{Bars, Confusion, Scatter, UnitCurve};
use super::model::set_threshold;
use super::state::{ModelView, Place, Ui};
use crate::data::Task;
use crate::forest::quality::{ClassifierQuality, Counts, Curve, Quality};
use crate::spoken;
use leptos::prelude::*;

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn pct_or(v: Option<f64>) -> String {
    v.map_or("n/a".to_string(), pct)
}

/// The counts of the labels a two-class model gives now: of the more probable class (the
/// confusion matrix kept from training), or at its threshold on the held-out curve; `None`
/// where the threshold is not one the curve kept (set in the file by hand).
fn decision(q: &ClassifierQuality, m: &ModelView, threshold: Option<f64>) -> Option<Counts> {
    match threshold {
        None => Counts::of_matrix(&m.confusion.as_ref()?.1),
        Some(t) => {
            let c = q.curve.as_ref()?;
            c.at(c.thresholds.iter().position(|&x| x == t)?)
        }
    }
}

/// Balanced accuracy of two classes' counts: the mean of the sensitivities of the classes
/// present, as `forest::quality` computes it.
fn balanced(c: &Counts) -> Option<f64> {
    let present: Vec<f64> = [c.sensitivity(), c.specificity()]
        .into_iter()
        .flatten()
        .collect();
    (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64)
}

/// The held-out figures beside the headline: (label, value, test id). Two classes' labelled
/// figures are those of `now`, the labels the model gives at its threshold.
fn quality_figures(q: &Quality, now: Option<Counts>) -> Vec<(String, String, &'static str)> {
    match q {
        Quality::Classification(c) => {
            let two = now.filter(|_| c.classes.len() == 2);
            let mut v = vec![
                (
                    format!("Always \"{}\" (baseline)", c.baseline_class),
                    pct(c.baseline_accuracy),
                    "baseline",
                ),
                (
                    "Accuracy".to_string(),
                    pct_or(two.map_or(Some(c.accuracy), |n| n.accuracy())),
                    "accuracy",
                ),
                (
                    "Balanced accuracy".to_string(),
                    pct_or(two.map_or(Some(c.balanced_accuracy), |n| balanced(&n))),
                    "balanced-accuracy",
                ),
            ];
            if let Some(auc) = c.roc_auc {
                v.push(("ROC AUC".to_string(), format!("{auc:.3}"), "roc-auc"));
            }
            if let Some(ap) = c.average_precision {
                v.push((
                    "PR AUC (average precision)".to_string(),
                    format!("{ap:.3}"),
                    "average-precision",
                ));
            }
            // Two classes: the second is the outcome (class 1, as the AUC reads it).
            if let [neg, pos] = c.classes.as_slice() {
                let (sens, spec, prec) = match two {
                    Some(n) => (n.sensitivity(), n.specificity(), n.precision()),
                    None => (pos.sensitivity, pos.specificity, pos.precision),
                };
                v.push((
                    format!("Sensitivity (\"{}\" found)", pos.class),
                    pct_or(sens),
                    "sensitivity",
                ));
                v.push((
                    format!("Specificity (\"{}\" found)", neg.class),
                    pct_or(spec),
                    "specificity",
                ));
                v.push((
                    format!("Precision (of \"{}\" predicted)", pos.class),
                    pct_or(prec),
                    "precision",
                ));
            }
            // The headline's figure is not repeated beside it.
            let lead = match c.headline.metric.as_str() {
                "roc_auc" => "roc-auc",
                "balanced_accuracy" => "balanced-accuracy",
                _ => "accuracy",
            };
            v.retain(|f| f.2 != lead);
            v
        }
        Quality::Regression(r) => vec![
            (
                "Mean absolute error".to_string(),
                format!("{:.4}", r.mae),
                "mae",
            ),
            (
                "Root mean squared error".to_string(),
                format!("{:.4}", r.rmse),
                "rmse",
            ),
        ],
    }
}

/// The figure to lead with (chosen for the classes' balance by `forest::quality`), as (name,
/// value); accuracy and balanced accuracy are those of the labels given now.
fn headline(m: &ModelView, now: Option<Counts>) -> Option<(&'static str, String)> {
    match (&m.quality, m.task) {
        (Some(q), _) => {
            let h = q.headline();
            let two = match q {
                Quality::Classification(c) if c.classes.len() == 2 => now,
                _ => None,
            };
            Some(match h.metric.as_str() {
                "roc_auc" => ("ROC AUC", format!("{:.3}", h.value)),
                "balanced_accuracy" => (
                    "Balanced accuracy",
                    pct_or(two.map_or(Some(h.value), |n| balanced(&n))),
                ),
                "r2" => ("R²", format!("{:.3}", h.value)),
                _ => (
                    "Accuracy",
                    pct_or(two.map_or(Some(h.value), |n| n.accuracy())),
                ),
            })
        }
        (None, Task::Classification) => m.accuracy.map(|a| ("Accuracy", pct(a))),
        (None, Task::Regression) => m.r2.map(|r| ("R²", format!("{r:.3}"))),
    }
}

/// The model's two-class figures, when it has them (held-out rows of both classes kept).
fn two_classes(m: &ModelView) -> Option<ClassifierQuality> {
    match &m.quality {
        Some(Quality::Classification(c)) if c.classes.len() == 2 && c.curve.is_some() => {
            Some(c.clone())
        }
        _ => None,
    }
}

#[component]
pub fn QualitySection(ui: Ui) -> impl IntoView {
    view! {
        <section class="card">
            <h2><span class="step">"3"</span>"Quality"</h2>
            {move || match ui.model.get() {
                None => view! { <p class="muted">"Train a forest to see how well it does on rows it did not see."</p> }.into_any(),
                Some(m) if m.imported.is_some() => view! {
                    <p class="muted" data-testid="model-summary">{spoken::count(m.nodes)} " nodes, " {m.origin.clone()}</p>
                    <p data-testid="imported"><b>{m.imported.clone()}</b></p>
                    <p class="muted">"An imported model carries no held-out score. It reads a CSV's columns in order: exactly its features, no target column."</p>
                }.into_any(),
                Some(m) => view! { <Report ui=ui m=m/> }.into_any(),
            }}
        </section>
    }
}

/// A model's report: what it is, its figures (following the threshold), its charts.
#[component]
fn Report(ui: Ui, m: ModelView) -> impl IntoView {
    // A loaded model shows the scores its file kept from training.
    let when = if m.train_ms.is_some() {
        ""
    } else {
        ", when trained"
    };
    let m = StoredValue::new(m);
    let now = move || {
        let m = m.get_value();
        match &m.quality {
            Some(Quality::Classification(q)) => decision(q, &m, ui.threshold.get()),
            _ => None,
        }
    };
    let oob = m.with_value(|m| {
        m.oob.map(|o| match m.task {
            Task::Classification => pct(o),
            Task::Regression => format!("{o:.3}"),
        })
    });
    // The figures are of the rows the forest was trained on, not of those loaded now.
    let trained_on = m.with_value(|m| m.data_name.clone());
    let stale = move || {
        let now = ui.data.get().map(|d| d.name);
        trained_on.clone().filter(|t| now.as_ref() != Some(t))
    };
    let stale_too = stale.clone();
    let v = m.get_value();
    // Two classes with a curve: the threshold panel shows the confusion matrix.
    let two = two_classes(&v);
    let threshold_panel = two.is_some();
    view! {
        {move || stale().map(|t| view! {
            <p class="stale-note" data-testid="stale">{format!(
                "These figures are from {t}, the rows this forest was trained on, not from the rows loaded now."
            )}</p>
        })}
        <p class="muted" data-testid="model-summary">
            {spoken::count(v.trees)} " trees, " {spoken::count(v.nodes)} " nodes, " {v.task.name()} " of \"" {v.target.clone()} "\", " {v.origin.clone()}
            {v.train_ms.map(|t| format!(" in {:.1} s on {} {}", t / 1e3, v.workers, spoken::plural(v.workers, "worker")))}
        </p>
        <div class="metrics" class:stale=move || stale_too().is_some()>
            {move || {
                let now = now();
                let m = m.get_value();
                let lead = headline(&m, now).map(|(k, v)| view! {
                    <div class="metric"><span>{format!("{k} (held-out{when})")}</span><b data-testid="headline">{v}</b></div>
                });
                let figures = m.quality.as_ref().map(|q| quality_figures(q, now)).unwrap_or_default();
                view! {
                    {lead}
                    {figures.into_iter().map(|(k, v, id)| view! { <div class="metric"><span>{k}</span><b data-testid=id>{v}</b></div> }).collect_view()}
                }
            }}
            <div class="metric"><span title="Each training row scored by the trees that did not train on it">{match v.task {
                Task::Classification => "Out-of-bag accuracy (training rows)",
                Task::Regression => "Out-of-bag R² (training rows)",
            }}</span><b data-testid="oob">{oob.unwrap_or_else(|| "n/a".into())}</b></div>
            <div class="metric"><span>"Rows"</span><b>{spoken::count(v.train_rows)} " train · " {spoken::count(v.test_rows)} " test"</b></div>
        </div>
        {v.group.clone().map(|g| view! { <p class="muted" data-testid="held-out-by">{format!(
            "Held out by {g}: every {g}'s rows are on one side of the split, so the held-out figures are about {g}s the forest never saw; each tree's sample draws whole {g}s too, so the out-of-bag score is about {g}s that tree never saw."
        )}</p> })}
        {v.quality.as_ref().map(|q| {
            let note = q.headline().note.clone();
            view! { <p class="muted" data-testid="headline-note">{move || format!(
                "Why this figure: {note}{}.",
                if ui.threshold.get().is_some() { " (with the more probable class; the figures above are at the threshold)" } else { "" }
            )}</p> }
        })}
        {two.map(|q| view! { <Threshold ui=ui q=q m=m.get_value()/> })}
        <div class="charts">
            {(!threshold_panel).then(|| v.confusion.clone().map(|(classes, matrix)| view! { <div><h3>"Confusion matrix"</h3><Confusion classes=classes matrix=matrix/></div> }))}
            {v.scatter.clone().map(|(t, p)| view! { <div><h3>"Predicted against actual"</h3><Scatter truth=t predicted=p/></div> })}
            <div data-testid="importances"><h3 title="Mean decrease in impurity: how much the splits on a feature purify the training rows, summed over the trees">{importance_title(&v)}</h3><Bars items=v.importances.clone()/></div>
        </div>
    }
}

/// The importance chart's title: its kind, and how many of the features it shows.
fn importance_title(m: &ModelView) -> String {
    let (shown, all) = (m.importances.len(), m.columns.len());
    if shown < all {
        format!("Feature importance (impurity decrease), the top {shown} of {all}")
    } else {
        "Feature importance (impurity decrease)".to_string()
    }
}

/// The slider's position (0: the lowest threshold, on the left) of threshold index `i`.
fn position(curve: &Curve, i: usize) -> usize {
    curve.thresholds.len() - 1 - i
}

/// Two classes: the decision threshold, its confusion matrix, and the curves it moves along.
#[component]
fn Threshold(ui: Ui, q: ClassifierQuality, m: ModelView) -> impl IntoView {
    let curve = q
        .curve
        .clone()
        .expect("two_classes keeps models with a curve");
    let positive = q.classes[1].class.clone();
    let classes = m
        .confusion
        .clone()
        .map(|(c, _)| c)
        .unwrap_or_else(|| q.classes.iter().map(|c| c.class.clone()).collect());
    let n = curve.thresholds.len();
    let curve = StoredValue::new(curve);
    let index = move || {
        let t = ui.threshold.get();
        curve.with_value(|c| match t {
            Some(t) => c.thresholds.iter().position(|&x| x == t),
            None => None,
        })
    };
    let slider =
        move || curve.with_value(|c| position(c, index().unwrap_or_else(|| c.nearest(0.5))));
    let pick = move |ev: leptos::ev::Event| {
        let p: usize = event_target_value(&ev).parse().unwrap_or(0);
        let t = curve.with_value(|c| c.thresholds.get(n.saturating_sub(1 + p)).copied());
        ui.threshold.set(t);
    };
    let commit = move |t: Option<f64>| {
        if let Err(e) = set_threshold(t) {
            ui.error(Place::Forest, e);
        }
    };
    let q = StoredValue::new(q);
    let m = StoredValue::new(m);
    let counts = move || q.with_value(|q| m.with_value(|m| decision(q, m, ui.threshold.get())));
    let rates = move |c: &Curve, i: usize| {
        let a = c.at(i)?;
        Some((
            a.false_positives as f64 / c.negatives.max(1) as f64,
            a.sensitivity()?,
        ))
    };
    let roc_at = Signal::derive(move || curve.with_value(|c| index().and_then(|i| rates(c, i))));
    let pr_at = Signal::derive(move || {
        curve.with_value(|c| {
            let a = c.at(index()?)?;
            Some((a.sensitivity()?, a.precision()?))
        })
    });
    let (roc, pr) = curve.with_value(|c| (c.roc(), c.precision_recall()));
    let calibration: Vec<(f64, f64)> = q.with_value(|q| {
        q.calibration
            .iter()
            .map(|b| (b.predicted, b.observed))
            .collect()
    });
    let positive_words = positive.clone();
    view! {
        <div class="threshold" data-testid="threshold-panel">
            <h3>"Decision threshold"</h3>
            <div class="row">
                <label>"Predict \"" {positive.clone()} "\" from a probability of "
                    <input type="range" data-testid="threshold" min="0" max=n.saturating_sub(1).to_string() step="1"
                        aria-label="decision threshold" prop:value=move || slider().to_string()
                        on:input=pick on:change=move |_| commit(ui.threshold.get_untracked())/>
                </label>
                <b data-testid="threshold-value">{move || match ui.threshold.get() {
                    Some(t) => format!("{t:.3}"),
                    None => "the more probable class".to_string(),
                }}</b>
                <button data-testid="threshold-reset" disabled=move || ui.threshold.get().is_none()
                    on:click=move |_| { ui.threshold.set(None); commit(None); }>"Back to the more probable class"</button>
            </div>
            <p class="muted">{format!(
                "A row is predicted \"{positive_words}\" when its probability is at or above the threshold: lower finds more of them (sensitivity) and raises more false alarms. The model keeps the threshold: its predictions, exports and saved file use it. Held-out rows, counted at {n} thresholds."
            )}</p>
            {move || (ui.threshold.get().is_some() && index().is_none()).then(|| view! {
                <p class="muted" data-testid="threshold-off-curve">"This threshold was set in the model file and is not one the held-out rows were counted at: move the slider to pick one."</p>
            })}
            <div class="charts">
                <div data-testid="threshold-confusion"><h4>"Confusion matrix"</h4>
                    {move || counts().map(|c| view! { <Confusion classes=classes.clone() matrix=c.matrix()/> })}
                </div>
                <div data-testid="roc-curve"><h4>"ROC curve"</h4>
                    <UnitCurve points=roc x_label="false positive rate (1 - specificity)" y_label="sensitivity" label="ROC curve" diagonal=true marker=roc_at/></div>
                <div data-testid="pr-curve"><h4>"Precision against recall"</h4>
                    <UnitCurve points=pr x_label="recall (sensitivity)" y_label="precision" label="precision-recall curve" marker=pr_at/></div>
                <div data-testid="calibration"><h4>"Calibration (reliability)"</h4>
                    <UnitCurve points=calibration x_label="predicted probability" y_label="observed share" label="reliability diagram" diagonal=true dots=true/></div>
            </div>
        </div>
    }
}

/// The presenter's view of how good the forest is, beside the race: the headline, the
/// sensitivity at the chosen threshold and the baseline to beat.
#[component]
pub fn QualityStrip(ui: Ui) -> impl IntoView {
    move || {
        let m = ui.model.get().filter(|_| ui.stage.get())?;
        let Some(Quality::Classification(q)) = m.quality.clone() else {
            let (name, value) = headline(&m, None)?;
            let name = format!("{name} (held-out)");
            return Some(
                view! {
                    <div class="quality-strip" data-testid="quality-strip">
                        <span>{name} " "<b>{value}</b></span>
                    </div>
                }
                .into_any(),
            );
        };
        let now = decision(&q, &m, ui.threshold.get());
        let (name, value) = headline(&m, now)?;
        let name = format!("{name} (held-out)");
        let sens = match q.classes.as_slice() {
            [_, pos] => Some((
                pos.class.clone(),
                pct_or(now.map_or(pos.sensitivity, |n| n.sensitivity())),
            )),
            _ => None,
        };
        Some(view! {
            <div class="quality-strip" data-testid="quality-strip">
                <span>{name} " "<b>{value}</b></span>
                {sens.map(|(c, s)| view! { <span>"Finds " <b data-testid="strip-sensitivity">{s}</b> " of \"" {c} "\""
                    {ui.threshold.get().map(|t| format!(" (threshold {t:.3})"))}</span> })}
                <span>"Baseline (always \"" {q.baseline_class.clone()} "\") " <b>{pct(q.baseline_accuracy)}</b></span>
            </div>
        }.into_any())
    }
}

//! Training: the page's settings, the rows split and encoded in the data worker, trees grown
//! in training workers, the held-out rows scored, the model installed.

use super::load::data_worker;
use super::messages::JsMessage;
use super::pool::{DatasetParts, Training};
use super::rows::{Choice, PreparedHeader, TEST_FRACTION};
use super::score::{cancel_scoring, cpu_score, rebuild_gpu_forest};
use super::state::{ModelView, Place, Ui, engine};
use crate::data::Task;
use crate::error::{Error, Result};
use crate::forest::model::Predictions;
use crate::forest::{ClassWeight, Criterion, MaxFeatures, Model, Params};
use crate::human;
use crate::pipeline;
use crate::shard;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::rc::Rc;

pub(super) fn parse_field<T: std::str::FromStr>(what: &str, s: &str, min: T) -> Result<T>
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
    let test_x = js_sys::Uint8Array::from(bytemuck::cast_slice::<f32, u8>(&test.x));
    let outputs = cpu_score(key, &model, &test_x, None).await?.outputs;
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

pub(super) fn model_view(
    model: &Model,
    origin: &str,
    train_ms: Option<f64>,
    workers: usize,
) -> ModelView {
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

pub(super) fn install_model(ui: Ui, model: Model, view: ModelView) {
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

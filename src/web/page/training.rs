//! Training: the page's settings, the rows split and encoded in the data worker, trees grown
//! in training workers, the held-out rows scored, the model installed.

use super::form::params_from_ui;
use super::model::{install_model, model_view};
use super::state::{Place, Ui, engine};
use crate::data::Task;
use crate::error::{Error, Result};
use crate::forest::Params;
use crate::model::Predictions;
use crate::pipeline::{self, Group};
use crate::protocol::frame::{decode_dataset, decode_target};
use crate::protocol::{Choice, PreparedSplit};
use crate::spoken;
use crate::web::common::now_ms;
use crate::web::services::{self, DatasetParts, GrowTimes, cpu_score, data_worker, worker_count};
use crate::web::transport::JsMessage;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The loaded rows split and encoded (in the data worker) with the page's choices: the
/// header and the buffers, still JS arrays, to pass on to the training workers.
async fn prepare(ui: Ui, params: &Params, copies: usize) -> Result<(PreparedSplit, JsMessage)> {
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
        group: match ui.group.get_untracked().as_str() {
            "auto" => Group::Auto,
            "none" => Group::None,
            c => Group::Column(c.to_string()),
        },
        test_fraction: super::form::parse_field(
            "held-out share",
            &ui.test_percent.get_untracked(),
            1,
        )? as f64
            / 100.0,
    };
    data_worker().await?.prepare(choice, copies).await
}

/// Where `train`'s time went (page clock, ms); the benchmark mode logs it.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct TrainTimes {
    /// Encoding and splitting the rows.
    pub prepare_ms: f64,
    pub grow: GrowTimes,
    /// Shards joined into the model.
    pub merge_ms: f64,
    /// The held-out rows scored and the quality figures computed.
    pub evaluate_ms: f64,
}

/// Trains in workers, then evaluates on the held-out rows (scored in the scoring workers).
/// Returns once the model is in place (or training failed: the previous model stays), with
/// where the time went (`None` when cancelled).
pub async fn train(ui: Ui) -> Result<Option<TrainTimes>> {
    let t_prepare = now_ms();
    let params = params_from_ui(ui)?;
    let n_workers = worker_count().min(params.n_trees);
    let (prep, parts) = prepare(ui, &params, n_workers).await?;
    let k = prep.train_buffers;
    // Of the training rows the page keeps the target alone (for the out-of-bag score).
    let target_bytes = parts.buffers.get(1).map(js_sys::Uint8Array::to_vec);
    let (n_features, target) = decode_target(&prep.train, target_bytes.as_ref())?;
    let test_at = k * n_workers;
    let test = decode_dataset(&parts.to_message(prep.test.clone(), test_at..parts.buffers.len())?)?;
    let copies: Vec<DatasetParts> = parts.buffers[..test_at]
        .chunks_exact(k.max(1))
        .map(|buffers| DatasetParts {
            header: prep.train.clone(),
            buffers,
        })
        .collect();
    let prepare_ms = now_ms() - t_prepare;
    let training = services::training(n_workers);
    ui.progress.set(Some((0, params.n_trees)));
    let t0 = now_ms();
    let total = params.n_trees;
    let shards = training
        .run(&copies, &params, |done| {
            ui.progress.set(Some((done, total)))
        })
        .await;
    ui.progress.set(None);
    let Some((shards, grow)) = shards? else {
        ui.info(
            Place::Forest,
            "Training cancelled; the previous model (if any) is kept.",
        );
        return Ok(None);
    };
    let t_merge = now_ms();
    let mut model =
        crate::tree_shards::merge(shards, prep.schema.clone(), params, n_features, &target)?;
    model.id_columns = prep.id_columns.clone();
    let train_ms = now_ms() - t0;
    let merge_ms = now_ms() - t_merge;
    let key = engine(|e| e.generation + 1);
    let test_x = js_sys::Uint8Array::from(bytemuck::cast_slice::<f32, u8>(&test.x));
    let outputs = cpu_score(key, &model.forest, &test_x, None).await?.outputs;
    let p = Predictions {
        outputs,
        n_outputs: model.forest.n_outputs as usize,
    };
    let ev = pipeline::evaluate_predictions(&model, &test, &p);
    model.evaluation = Some(ev.held_out(&prep.split));
    model.split = Some(prep.split.clone());
    let mut view = model_view(&model, "trained here", Some(train_ms), n_workers);
    view.data_name = ui.data.get_untracked().map(|d| d.name);
    view.name = format!(
        "{}-{}-forest",
        super::files::stem(view.data_name.as_deref().unwrap_or("rows")),
        super::files::slug(&model.schema.target)
    );
    view.first_test_row = prep.first_test_row;
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
            spoken::count(target.len()),
            spoken::duration(train_ms)
        ),
    );
    Ok(Some(TrainTimes {
        prepare_ms,
        grow,
        merge_ms,
        evaluate_ms: now_ms() - t0 - train_ms,
    }))
}

pub fn start_training(ui: Ui) {
    spawn_local(async move {
        if let Err(err) = train(ui).await {
            ui.progress.set(None);
            ui.error(Place::Forest, err);
        }
    });
}

pub use crate::web::services::cancel_training;

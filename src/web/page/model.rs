//! The model the page holds: its report (`ModelView`) and installing it, trained or loaded.

use super::gpu::rebuild_gpu_forest;
use super::state::{ModelView, Ui, engine};
use crate::model::Model;
use crate::web::services::cancel_scoring;
use leptos::prelude::*;
use std::rc::Rc;

pub fn model_view(model: &Model, origin: &str, train_ms: Option<f64>, workers: usize) -> ModelView {
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
        quality: model.evaluation.as_ref().and_then(|h| h.quality.clone()),
        confusion: model
            .evaluation
            .as_ref()
            .and_then(|h| h.confusion.clone())
            .map(|c| (model.schema.classes.clone(), c)),
        scatter: None,
        group: model.evaluation.as_ref().and_then(|h| h.group.clone()),
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
        first_test_row: None,
        name: "forest".into(),
    }
}

pub fn install_model(ui: Ui, model: Model, view: ModelView) {
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
    ui.threshold.set(model_threshold());
    ui.model.set(Some(view));
    ui.score.set(None);
    ui.race.set(None);
    ui.explained.set(None);
    ui.explained_all.set(None);
    ui.sweep.set(Vec::new());
}

fn model_threshold() -> Option<f64> {
    engine(|e| e.model.as_ref().and_then(|m| m.threshold))
}

/// Gives the model decision threshold `t` (see [`Model::set_threshold`]): its labels,
/// explanations, exports and saved file use it from now on.
pub fn set_threshold(t: Option<f64>) -> crate::error::Result<()> {
    engine(|e| match &mut e.model {
        Some(m) => Rc::make_mut(m).set_threshold(t),
        None => Ok(()),
    })
}

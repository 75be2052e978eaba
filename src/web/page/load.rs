//! Rows and models in and out: CSV files and bundled datasets read in the data worker,
//! synthetic rows, model files saved and loaded, the predictions CSV.

use super::files;
use super::form::parse_field;
use super::model::{install_model, model_view};
use super::state::{Place, Ui, engine};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::protocol::DataView;
use crate::spoken;
use crate::web::common::now_ms;
use crate::web::services::{cancel_scoring, data_worker};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

/// New rows are in the data worker: the page shows them and forgets what belonged to the old.
fn show_data(ui: Ui, view: DataView) {
    // Rows that the model held can score but that lack its target are rows to score with
    // it: no target is chosen for them (training on them takes a choice), rather than another
    // column silently becoming the target, and the task with it.
    let to_score = ui
        .model
        .get_untracked()
        .is_some_and(|m| !view.headers.contains(&m.target) && m.cannot_score(&view).is_none());
    let target = match to_score {
        true => String::new(),
        false => view.headers.last().cloned().unwrap_or_default(),
    };
    engine(|e| {
        e.data_generation += 1;
        e.rows = None;
    });
    forget_results(ui);
    ui.columns_off.set(Vec::new());
    ui.columns_on.set(Vec::new());
    ui.group.set("auto".into());
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
    ui.explained.set(None);
    ui.explained_all.set(None);
    ui.sweep.set(Vec::new());
}

/// Reads CSV bytes in the data worker (decoding and parsing off the page's thread). On error
/// the message names the row and column, and what was loaded before stays. `started` is when
/// the user asked for the file (page clock, ms): the notice says how long it took from there.
pub async fn load_csv(ui: Ui, name: &str, bytes: &js_sys::Uint8Array, started: f64) -> Result<()> {
    ui.loading.set(Some(format!("Reading {name}…")));
    let said = name.to_string();
    let tell = move |done: usize, total: usize| {
        let mb = |b: usize| b as f64 / 1e6;
        ui.loading.set(Some(format!(
            "Reading {said}… {:.0} of {:.0} MB",
            mb(done),
            mb(total)
        )))
    };
    let r = async { data_worker().await?.read(name, bytes, tell).await }.await;
    ui.loading.set(None);
    let (view, note) = r.map_err(|err| Error::Io(format!("{name}: {err}")))?;
    show_data(ui, view);
    let read = format!(
        "{:.1}{}MB read in {}",
        bytes.length() as f64 / 1e6,
        spoken::NBSP,
        spoken::duration(now_ms() - started)
    );
    match note {
        Some(note) => ui.info(Place::Data, format!("Loaded {name} ({read}): {note}.")),
        None => ui.info(Place::Data, format!("Loaded {name} ({read}).")),
    }
    Ok(())
}

pub fn load_file(ui: Ui, file: web_sys::File) {
    let started = now_ms();
    spawn_local(async move {
        let name = file.name();
        ui.loading.set(Some(format!("Reading {name}…")));
        let r = match files::read_js(&file).await {
            Ok(bytes) => load_csv(ui, &name, &bytes, started).await,
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
    let started = now_ms();
    spawn_local(async move {
        let r = match files::fetch_asset_js(&format!("./assets/{file}")).await {
            Ok(bytes) => load_csv(ui, file, &bytes, started).await,
            Err(err) => Err(err),
        };
        ui.loading.set(None);
        if let Err(err) = r {
            ui.error(Place::Data, err);
        }
    });
}

/// Synthetic classification rows (generated in the data worker): `features` features, half
/// informative, two classes.
pub async fn generate(ui: Ui, rows: usize, features: usize, seed: u64) -> Result<()> {
    ui.loading
        .set(Some(format!("Generating {} rows…", spoken::count(rows))));
    let r = async { data_worker().await?.generate(rows, features, seed).await }.await;
    ui.loading.set(None);
    show_data(ui, r?);
    ui.target.set("class".into());
    Ok(())
}

pub fn generate_from_ui(ui: Ui) {
    const FEATURES: usize = 32;
    let rows = parse_field::<usize>("rows", &ui.synth_rows.get_untracked(), 20).and_then(|rows| {
        let most = crate::protocol::MAX_VALUES / FEATURES;
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

pub fn save_model(ui: Ui) {
    let name = ui.model.get_untracked().map_or("forest".into(), |m| m.name);
    let r = engine(|e| match &e.model {
        Some(m) => files::download(
            &format!("{name}.json"),
            &m.to_saved_json()?,
            "application/json",
        ),
        None => Err(Error::InvalidParam("no model to save yet".into())),
    });
    if let Err(err) = r {
        ui.error(Place::Forest, err);
    }
}

/// Installs a model read from `name` (this program's JSON or ONNX).
pub fn install_loaded(ui: Ui, name: &str, bytes: &[u8]) -> Result<()> {
    let model = Model::from_bytes(bytes)?;
    let mut view = model_view(&model, &format!("loaded from {name}"), None, 0);
    view.name = files::stem(name);
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
            // Named after the rows and the model: `<data>-<model>-predictions.csv`.
            let data = ui
                .data
                .get_untracked()
                .map_or("rows".into(), |d| files::stem(&d.name));
            let model = ui.model.get_untracked().map_or("forest".into(), |m| m.name);
            // A model trained on these rows is already named after them.
            let name = match model.strip_prefix(&format!("{data}-")) {
                Some(_) => format!("{model}-predictions.csv"),
                None => format!("{data}-{model}-predictions.csv"),
            };
            files::download(&name, &csv, "text/csv")
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

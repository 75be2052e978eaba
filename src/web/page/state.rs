//! What the page shows (signals, plain data) and what it holds (the model, the rows encoded
//! for it; not `Send`, so kept in a thread-local beside the signals). The workers are
//! [`crate::web::services`]'.

use super::charts::SweepPoint;
use super::explain::{AllExplained, RowExplanation};
use crate::data::Task;
use crate::model::Model;
use crate::model::Predictions;
use crate::protocol::{DataView, GpuAdapter};
use crate::spoken::{self, GpuOutputs};
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

/// Where a message shows: beside the buttons of the section whose action it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Data,
    Forest,
    Score,
    Explain,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub place: Place,
    pub error: bool,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GpuState {
    Checking,
    Ready(GpuAdapter),
    Off(String),
}

/// A trained (or loaded) model's report.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelView {
    pub origin: String,
    pub task: Task,
    pub target: String,
    pub trees: usize,
    pub nodes: usize,
    pub train_rows: usize,
    pub test_rows: usize,
    pub accuracy: Option<f64>,
    pub r2: Option<f64>,
    pub oob: Option<f64>,
    /// The held-out figures for rare outcomes (kept in the model file, so a loaded model
    /// shows them too).
    pub quality: Option<crate::forest::quality::Quality>,
    pub confusion: Option<(Vec<String>, Vec<Vec<usize>>)>,
    /// The column whose rows were held out together.
    pub group: Option<String>,
    pub scatter: Option<(Vec<f64>, Vec<f64>)>,
    pub importances: Vec<(String, f64)>,
    pub train_ms: Option<f64>,
    pub workers: usize,
    /// What an imported (ONNX) model is; it has no training figures.
    pub imported: Option<String>,
    /// The data it was trained on (its figures belong to those rows), when trained here.
    pub data_name: Option<String>,
    /// The columns it reads, by name; an imported model takes this many by position.
    pub columns: Vec<String>,
    pub by_position: bool,
    /// The first held-out row of the rows it was trained on (from 0), when trained here.
    pub first_test_row: Option<usize>,
    /// What its downloads are named after: the loaded file's name, or the data and target it
    /// was trained on (`breast_cancer-diagnosis-forest`).
    pub name: String,
}

impl ModelView {
    /// Why this model cannot score `data`, if it cannot: the columns it reads that the data
    /// lacks.
    pub fn cannot_score(&self, data: &DataView) -> Option<String> {
        if self.by_position {
            let n = self.columns.len();
            return (data.headers.len() != n).then(|| {
                format!(
                    "This model reads {n} columns in order; {} has {}.",
                    data.name,
                    data.headers.len()
                )
            });
        }
        let missing: Vec<&str> = self
            .columns
            .iter()
            .filter(|c| !data.headers.contains(c))
            .map(String::as_str)
            .collect();
        (!missing.is_empty()).then(|| {
            let shown = missing.iter().take(5).copied().collect::<Vec<_>>().join(", ");
            let more = if missing.len() > 5 { ", …" } else { "" };
            format!(
                "This model reads {} column{} that {} lacks: {shown}{more}. Load rows with its columns to score them.",
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                data.name
            )
        })
    }
}

/// The CPU's side of a scoring run: medians on the page's clock, rows to the workers and
/// outputs back included.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuFigures {
    /// All scoring workers, each a share of the rows.
    pub ms: f64,
    /// Of `ms`: the slowest worker's scoring alone (no messages).
    pub compute_ms: f64,
    /// One worker scoring every row on its one thread.
    pub one_ms: f64,
    pub workers: usize,
    /// Timed runs behind `ms` and `one_ms` (fewer when a run is slow).
    pub runs: usize,
    pub one_runs: usize,
    /// Outputs of the workers together whose bits differ from one worker's.
    pub bits_differ: usize,
}

/// One side-by-side scoring run.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreView {
    pub rows: usize,
    pub cpu: CpuFigures,
    pub gpu_ms: Option<f64>,
    pub kernel_ms: Option<f64>,
    /// A kernel timestamp fell outside its run's time and was dropped.
    pub kernel_dropped: bool,
    pub max_diff: Option<f64>,
    pub labels_agree: Option<bool>,
    /// The GPU was asked and failed (or its device was lost).
    pub gpu_error: Option<String>,
    /// The GPU was not asked: why (no WebGPU, or this model does not fit it).
    pub gpu_skipped: Option<String>,
    /// The adapter that ran, when the GPU ran.
    pub adapter: Option<GpuAdapter>,
    /// Where the last GPU run's time went.
    pub phases: Option<crate::gpu::Phases>,
    /// The same rows scored again while they stay on the GPU.
    pub resident_ms: Option<f64>,
    pub resident_kernel_ms: Option<f64>,
    /// The kernel variant the tuner chose.
    pub variant: Option<String>,
    /// GPU outputs whose bits differ from the CPU's.
    pub bits_differ: Option<usize>,
}

impl ScoreView {
    /// Why the GPU has no figures in this run, if it has none.
    pub fn gpu_off(&self) -> Option<&str> {
        self.gpu_error.as_deref().or(self.gpu_skipped.as_deref())
    }

    /// The GPU that ran is a CPU emulation.
    pub fn software(&self) -> bool {
        self.adapter.as_ref().is_some_and(|a| a.software)
    }

    /// "GPU", or "software GPU" where the adapter is one.
    pub fn gpu_name(&self) -> &'static str {
        spoken::gpu_name(self.software())
    }

    fn gpu_outputs(&self) -> GpuOutputs<'_> {
        match self.bits_differ {
            Some(differ) => GpuOutputs::Compared {
                differ,
                software: self.software(),
            },
            None => GpuOutputs::DidNotRun(self.gpu_off().unwrap_or("not asked")),
        }
    }

    /// Which engines gave the same bits, naming only those that ran.
    pub fn outputs_line(&self) -> String {
        spoken::outputs_line(
            &spoken::cpu_workers(self.cpu.workers),
            Some(self.cpu.bits_differ),
            self.gpu_outputs(),
        )
    }

    /// No engine that ran gave other bits.
    pub fn agree(&self) -> bool {
        self.cpu.bits_differ == 0 && self.bits_differ.is_none_or(|b| b == 0)
    }
}

/// Every signal the page draws from. `Copy`, so views and handlers capture it freely.
#[derive(Clone, Copy)]
pub struct Ui {
    pub notice: RwSignal<Option<Notice>>,
    pub gpu: RwSignal<GpuState>,
    /// Why the current model scores on the CPU only, though the GPU is ready (it does not
    /// fit the GPU's limits). Cleared by the next model that fits.
    pub gpu_note: RwSignal<Option<String>>,
    pub data: RwSignal<Option<DataView>>,
    /// Reading or generating rows (in the data worker), in words.
    pub loading: RwSignal<Option<String>>,
    pub target: RwSignal<String>,
    /// `None`: as detected.
    pub task: RwSignal<Option<Task>>,
    pub trees: RwSignal<String>,
    pub depth: RwSignal<String>,
    pub max_features: RwSignal<String>,
    pub criterion: RwSignal<String>,
    pub class_weight: RwSignal<String>,
    /// Columns the user left out of training, and ID-like columns the user brought back.
    pub columns_off: RwSignal<Vec<String>>,
    pub columns_on: RwSignal<Vec<String>>,
    /// Whose rows are held out together: "auto" (the first group-like column), "none", or a
    /// column's name.
    pub group: RwSignal<String>,
    /// The percentage of the rows held out, as the select holds it.
    pub test_percent: RwSignal<String>,
    /// The model's decision threshold as the Quality card's slider shows it (two classes;
    /// `None`: the more probable class); the model takes it when the slider is let go.
    pub threshold: RwSignal<Option<f64>>,
    pub min_leaf: RwSignal<String>,
    pub seed: RwSignal<String>,
    pub synth_rows: RwSignal<String>,
    /// Trees grown of trees asked, while training.
    pub progress: RwSignal<Option<(usize, usize)>>,
    pub model: RwSignal<Option<ModelView>>,
    pub score: RwSignal<Option<ScoreView>>,
    /// The latest side-by-side run (a score, or the sweep's latest size): the race and the
    /// figures under it both show this one, so they always belong to the same batch.
    pub race: RwSignal<Option<ScoreView>>,
    pub sweep: RwSignal<Vec<SweepPoint>>,
    pub sweep_max: RwSignal<String>,
    /// Scoring or sweeping: the scoring buttons wait.
    pub busy: RwSignal<Option<String>>,
    /// The section whose action `busy` is: its status line shows there.
    pub busy_at: RwSignal<Place>,
    /// Steps done of steps planned, while a sweep or a benchmark runs.
    pub steps: RwSignal<Option<(usize, usize)>>,
    /// The presenter view: the race alone, filling the screen.
    pub stage: RwSignal<bool>,
    /// A benchmark's summary, once it is done.
    pub bench_summary: RwSignal<Option<BenchSummary>>,
    /// The row to explain, as typed (a number from 1, or an ID).
    pub explain_row: RwSignal<String>,
    pub explained: RwSignal<Option<RowExplanation>>,
    pub explained_all: RwSignal<Option<AllExplained>>,
}

/// What a benchmark found, for its summary card.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchSummary {
    /// The forest and rows, in words.
    pub setup: String,
    pub adapter: String,
    pub points: Vec<SweepPoint>,
    pub workers: usize,
}

impl Ui {
    pub fn new() -> Ui {
        Ui {
            notice: RwSignal::new(None),
            gpu: RwSignal::new(GpuState::Checking),
            gpu_note: RwSignal::new(None),
            data: RwSignal::new(None),
            loading: RwSignal::new(None),
            target: RwSignal::new(String::new()),
            task: RwSignal::new(None),
            trees: RwSignal::new("100".into()),
            depth: RwSignal::new("12".into()),
            max_features: RwSignal::new("sqrt".into()),
            criterion: RwSignal::new("auto".into()),
            class_weight: RwSignal::new("none".into()),
            columns_off: RwSignal::new(Vec::new()),
            columns_on: RwSignal::new(Vec::new()),
            group: RwSignal::new("auto".into()),
            test_percent: RwSignal::new("25".into()),
            threshold: RwSignal::new(None),
            min_leaf: RwSignal::new("1".into()),
            seed: RwSignal::new("0".into()),
            synth_rows: RwSignal::new("20000".into()),
            progress: RwSignal::new(None),
            model: RwSignal::new(None),
            score: RwSignal::new(None),
            race: RwSignal::new(None),
            sweep: RwSignal::new(Vec::new()),
            sweep_max: RwSignal::new("100000".into()),
            busy: RwSignal::new(None),
            busy_at: RwSignal::new(Place::Score),
            steps: RwSignal::new(None),
            stage: RwSignal::new(false),
            bench_summary: RwSignal::new(None),
            explain_row: RwSignal::new(String::new()),
            explained: RwSignal::new(None),
            explained_all: RwSignal::new(None),
        }
    }

    pub fn error(&self, place: Place, e: impl std::fmt::Display) {
        self.notice.set(Some(Notice {
            place,
            error: true,
            text: e.to_string(),
        }));
    }
    pub fn info(&self, place: Place, m: impl Into<String>) {
        self.notice.set(Some(Notice {
            place,
            error: false,
            text: m.into(),
        }));
    }
}

#[derive(Default)]
pub struct Engine {
    /// Counts data loads; names the current rows.
    pub data_generation: u64,
    /// The current rows, encoded for the current model: (data, model generation, rows).
    pub rows: Option<(u64, u64, js_sys::Uint8Array)>,
    /// Shared, so a scoring run holds it across awaits without copying the forest.
    pub model: Option<Rc<Model>>,
    /// The generation of the model on the GPU (in the data worker).
    pub gpu_model: Option<u64>,
    /// Counts models installed; names the current one.
    pub generation: u64,
    pub predictions: Option<Predictions>,
    /// The current model's explainer (its paths), by model generation, made at its first
    /// explanation.
    pub explainer: Option<(u64, Rc<crate::explain::Explainer>)>,
}

thread_local! {
    pub static ENGINE: RefCell<Engine> = RefCell::new(Engine::default());
}

/// Runs `f` on the engine. Never hold it across an `.await`.
pub fn engine<R>(f: impl FnOnce(&mut Engine) -> R) -> R {
    ENGINE.with(|e| f(&mut e.borrow_mut()))
}

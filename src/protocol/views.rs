//! The plain data that messages carry besides rows and forests: what the data worker says of
//! the loaded rows, what the page chose to train on, the split it gets back, and the GPU's
//! figures.

use crate::data::ColumnSummary;
use crate::data::{Schema, Task};
use crate::forest::Params;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnView {
    pub name: String,
    pub kind: String,
    pub missing: usize,
    pub distinct: usize,
    /// Why the column is left out of training by default (an identifier, or a group such as a
    /// patient), if it is.
    pub id_like: Option<String>,
}

impl ColumnView {
    pub fn from_summary(s: &ColumnSummary) -> ColumnView {
        ColumnView {
            name: s.name.clone(),
            kind: match (s.numeric, s.integer) {
                (true, true) => "integer",
                (true, false) => "number",
                _ => "text",
            }
            .into(),
            missing: s.missing,
            distinct: s.distinct,
            id_like: crate::pipeline::id_like(s).or_else(|| crate::pipeline::group_like(s)),
        }
    }
}

/// The loaded data, as the page previews it (made in the data worker).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataView {
    pub name: String,
    pub rows: usize,
    pub headers: Vec<String>,
    pub preview: Vec<Vec<String>>,
    pub columns: Vec<ColumnView>,
    /// Task per target column, as detected.
    pub detected: Vec<Task>,
}

/// Held-out share of the rows the page trains on, unless the user picks another.
pub const TEST_FRACTION: f64 = 0.25;

fn test_fraction() -> f64 {
    TEST_FRACTION
}

/// What to train on: the page's choices of target, task, columns and forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub target: String,
    pub task: Option<Task>,
    pub params: Params,
    pub drop: Vec<String>,
    pub keep: Vec<String>,
    /// Whose rows are held out together.
    #[serde(default)]
    pub group: crate::pipeline::Group,
    /// The share of the rows held out (0.05 to 0.5 in the page).
    #[serde(default = "test_fraction")]
    pub test_fraction: f64,
}

/// The split, encoded: what the data worker answers a `Prepare`. Its buffers are the training
/// rows' dataset message (`train_buffers` of them, `copies` times over), then the held-out
/// rows'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedSplit {
    pub schema: Schema,
    pub id_columns: Vec<String>,
    /// The dataset headers ([`super::frame::encode_dataset`]) of the training and held-out rows.
    pub train: String,
    pub test: String,
    pub train_buffers: usize,
    pub copies: usize,
    /// The first held-out row, as a row of the loaded rows (from 0).
    pub first_test_row: Option<usize>,
    /// How the rows were split (stratified, held out by a group, ...).
    pub split: crate::model::SplitRule,
}

/// One row of the loaded data as an explanation shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowShown {
    /// From 0.
    pub index: usize,
    /// Its value in the model's ID column, when the rows have that column.
    pub id: Option<String>,
    /// Per feature of the model, the file's text of its column in this row (categories as
    /// written, not as codes).
    pub cells: Vec<String>,
}

/// The GPU the data worker opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuAdapter {
    /// As WebGPU names it ("vendor · architecture · description"), or wgpu's name.
    pub name: String,
    /// Kernels can be timed (timestamp queries).
    pub timestamps: bool,
    /// A CPU emulation of a GPU (SwiftShader, lavapipe, a fallback adapter): not this
    /// machine's graphics card, and never a fair picture of a GPU's speed.
    pub software: bool,
}

impl GpuAdapter {
    /// The adapter as every figure about it names it.
    pub fn label(&self) -> String {
        if self.software {
            format!(
                "software GPU ({}): not this machine's graphics card",
                self.name
            )
        } else {
            self.name.clone()
        }
    }
}

/// Timed GPU runs per measurement, after the warm-up; the median is reported (as the native
/// harness does).
pub const GPU_RUNS: usize = 5;

/// A GPU measurement: medians over [`GPU_RUNS`] runs, on the worker's clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuTiming {
    /// Rows from wasm memory in, outputs in wasm memory out (the upload included).
    pub e2e_ms: f64,
    /// The kernel's own time, only where it lies within its run's (timestamps out of range
    /// are dropped: `kernel_dropped` says so).
    pub kernel_ms: Option<f64>,
    /// The same rows scored again while they stay on the GPU (outputs still read back).
    pub resident_ms: f64,
    pub resident_kernel_ms: Option<f64>,
    /// Kernel timestamps were read but fell outside their run's time, so none is shown.
    #[serde(default)]
    pub kernel_dropped: bool,
    /// The kernel variant the tuner chose for this batch size.
    pub variant: String,
    /// Of the last end-to-end run.
    pub phases: crate::gpu::Phases,
}

impl GpuTiming {
    /// Drops a kernel time that is longer than the run it is part of (a timestamp that a
    /// software adapter or a clock change got wrong), and says it did.
    pub fn keep_kernel_within_runs(&mut self) {
        let within =
            |k: Option<f64>, run: f64| k.filter(|&k| k.is_finite() && k >= 0.0 && k <= run);
        let (k, rk) = (
            within(self.kernel_ms, self.e2e_ms),
            within(self.resident_kernel_ms, self.resident_ms),
        );
        self.kernel_dropped |= k != self.kernel_ms || rk != self.resident_kernel_ms;
        self.kernel_ms = k;
        self.resident_kernel_ms = rk;
    }
}

/// How a GPU request ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<T> {
    Done(T),
    /// The device was lost (driver reset, GPU removed, browser reclaimed it); it is let go,
    /// and the next open makes a new one.
    Lost(String),
}

//! The requests and replies of each kind of worker, as their own types. A message's header is
//! one of these as JSON ([`super::frame`]); its buffers are named beside each variant.
//!
//! Every worker runs the same wasm module and answers any [`Request`], so the page starts them
//! alike; which kind a worker is, is what the page asks of it.

use super::views::{Choice, DataView, GpuAdapter, GpuTiming, PreparedSplit, RowShown};
use crate::forest::Params;
use crate::model::Reader;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Any request, as a worker reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    Train(TrainRequest),
    Score(ScoreRequest),
    Data(DataRequest),
    /// Stop the GPU timing in progress after its current run. Acted on as it arrives (not in
    /// turn), with no reply.
    CancelGpu,
}

/// Any reply: the worker listens, a request failed, or its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply<T> {
    /// The worker listens (messages sent before this would be lost while its wasm loads).
    Ready,
    Failed {
        message: String,
    },
    Answer(T),
}

/// To a training worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainRequest {
    /// Grow trees `trees` of the forest; the buffers are a binned dataset message
    /// (`frame::encode_binned`) with header `data`.
    Grow {
        params: Params,
        trees: Range<usize>,
        data: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainReply {
    /// One more tree is grown (several of these come before `Grown`).
    Tree,
    /// The shard; the buffers are a shard message with header `shard`.
    Grown { shard: String },
}

/// To a scoring worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreRequest {
    /// Keep this forest for scoring; the buffers are a shard message with header `forest`.
    Load { forest: String },
    /// Score values `values` of buffer 0 (f32, row-major; whole rows) with the loaded forest,
    /// on one thread. A shared buffer holds every worker's rows.
    Score { id: u32, values: Range<usize> },
    /// Explain values `values` of buffer 0 as [`Self::Score`] scores them: their TreeSHAP sums
    /// (`crate::explain::Explainer::sums`), on one thread.
    Explain { id: u32, values: Range<usize> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreReply {
    Loaded,
    /// Buffer 0 holds the outputs; `ms` is the scoring time alone.
    Scored {
        id: u32,
        ms: f64,
    },
    /// Buffer 0 holds the sums; `ms` is the explaining time alone.
    Explained {
        id: u32,
        ms: f64,
    },
}

/// To the data worker, which holds the loaded rows and the GPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataRequest {
    /// Read the CSV bytes in buffer 0 and keep the rows.
    Read { name: String },
    /// Generate synthetic rows and keep them.
    Generate {
        rows: usize,
        features: usize,
        seed: u64,
    },
    /// Split and encode the kept rows for training, the training rows in `copies` copies (one
    /// for each training worker, each transferred to it).
    Prepare { choice: Choice, copies: usize },
    /// Every kept row, encoded for a model (f32, row-major), repeated up to `rows` rows if
    /// given; in shared memory where the page is cross-origin isolated.
    Rows { reader: Reader, rows: Option<usize> },
    /// The predictions in buffer 0 (f32) as CSV.
    Export { reader: Reader, n_outputs: usize },
    /// One kept row, found by its number or ID, as the file has it: for an explanation.
    Row { reader: Reader, row: RowRef },
    /// Open the GPU (again, after the device was lost).
    GpuOpen,
    /// Put model `model`'s forest on the GPU; the buffers are a shard message with header
    /// `forest`.
    GpuLoad { model: u64, forest: String },
    /// Whether a batch of `rows` rows ran on the GPU before.
    GpuTuned { rows: usize },
    /// Time the GPU scoring the rows in buffer 0 (f32, row-major) with model `model`.
    GpuTime { model: u64 },
    /// Benchmark mode: score buffer 0 with every kernel variant.
    GpuVariants { model: u64 },
    /// Benchmark mode: time buffer 0 split into each of `parts` parts.
    GpuParts { model: u64, parts: Vec<usize> },
    /// The TreeSHAP sums of the rows in buffer 0 (f32, row-major) with model `model`, timed
    /// after a one-row run that compiles the kernels.
    GpuExplain { model: u64 },
}

/// A row as the user names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowRef {
    /// From 1, as the exported predictions number them.
    Number(usize),
    /// A value of the model's ID column.
    Id(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataReply {
    /// `done` of the CSV's `total` bytes are read (several of these come before `Rows`).
    Reading {
        done: usize,
        total: usize,
    },
    /// Rows were read or generated; `note` says what was converted.
    Rows {
        view: DataView,
        note: Option<String>,
    },
    /// The split ([`PreparedSplit`] says what its buffers are).
    Prepared {
        split: PreparedSplit,
    },
    /// Buffer 0: the rows for `Rows`, the CSV's bytes for `Export`.
    Bytes,
    GpuOpened {
        adapter: GpuAdapter,
    },
    GpuLoaded,
    GpuTuned {
        tuned: bool,
    },
    /// Buffer 0 holds the GPU's outputs.
    GpuTimed {
        timing: GpuTiming,
    },
    /// Benchmark lines, as the page logs them.
    GpuLines {
        lines: Vec<serde_json::Value>,
    },
    /// The row asked for ([`RowShown`]).
    Row {
        row: RowShown,
    },
    /// Buffer 0 holds the sums of `GpuExplain`; `ms` from the rows' upload to the sums read
    /// back.
    GpuExplained {
        ms: f64,
    },
    /// The GPU device was lost; the page opens it again.
    GpuLost {
        why: String,
    },
}

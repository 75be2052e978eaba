//! The worker's side: grows a shard of trees, or scores rows on its one thread with a loaded
//! forest; the data worker also holds the rows and the GPU (`rows`, `gpu_side`). Requests and
//! replies are [`Request`] and [`Reply`] headers over `messages`, answered one at a time, in
//! the order they came.

use super::gpu_side::{self, GpuTiming, Outcome};
use super::messages::{JsMessage, header_only, js_message, js_to_post, shared_copy, to_js};
use super::rows::{self, Choice};
use super::state::DataView;
use crate::error::{Error, Result};
use crate::flat::Prepared;
use crate::forest::Params;
use crate::forest::model::{Predictions, Reader};
use crate::shard::{self, Message, Shard};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::ops::Range;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Grow trees `trees` of the forest; the buffers are a dataset message with header `data`.
    Grow {
        params: Params,
        trees: Range<usize>,
        data: String,
    },
    /// Keep this forest for scoring; the buffers are a shard message with header `forest`.
    Load { forest: String },
    /// Score values `values` of buffer 0 (f32, row-major; whole rows) with the loaded forest,
    /// on one thread. A shared buffer holds every worker's rows.
    Score { id: u32, values: Range<usize> },
    /// Data worker: read the CSV bytes in buffer 0 and keep the rows.
    Read { name: String },
    /// Data worker: generate synthetic rows and keep them.
    Generate {
        rows: usize,
        features: usize,
        seed: u64,
    },
    /// Data worker: split and encode the kept rows for training, the training rows in
    /// `copies` copies (one for each training worker, each transferred to it).
    Prepare { choice: Choice, copies: usize },
    /// Data worker: every kept row, encoded for a model (f32, row-major), repeated up to
    /// `rows` rows if given; in shared memory where the page is cross-origin isolated.
    Rows { reader: Reader, rows: Option<usize> },
    /// Data worker: the predictions in buffer 0 (f32) as CSV.
    Export { reader: Reader, n_outputs: usize },
    /// Data worker: open the GPU (again, after the device was lost).
    GpuOpen,
    /// Data worker: put model `model`'s forest on the GPU; the buffers are a shard message
    /// with header `forest`.
    GpuLoad { model: u64, forest: String },
    /// Data worker: whether a batch of `rows` rows ran on the GPU before.
    GpuTuned { rows: usize },
    /// Data worker: time the GPU scoring the rows in buffer 0 (f32, row-major) with model
    /// `model`.
    GpuTime { model: u64 },
    /// Data worker, benchmark mode: score buffer 0 with every kernel variant.
    GpuVariants { model: u64 },
    /// Data worker, benchmark mode: time buffer 0 split into each of `parts` parts.
    GpuParts { model: u64, parts: Vec<usize> },
    /// Stop the GPU timing in progress after its current run. Acted on as it arrives, with no
    /// reply.
    Cancel,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// The worker listens (messages sent before this would be lost while its wasm loads).
    Ready,
    /// One more tree is grown.
    Tree,
    /// The shard; the buffers are a shard message with header `shard`.
    Grown {
        shard: String,
    },
    Loaded,
    /// Buffer 0 holds the outputs; `ms` is the scoring time alone.
    Scored {
        id: u32,
        ms: f64,
    },
    Failed {
        message: String,
    },
    /// The data worker read or generated rows; `note` says what was converted.
    Rows {
        view: DataView,
        note: Option<String>,
    },
    /// The data worker's answer in the buffers: a [`rows::PreparedHeader`] for `Prepare`
    /// (in `prepared`), the rows for `Rows`, the CSV's bytes for `Export`.
    Data {
        prepared: Option<String>,
    },
    GpuOpened {
        adapter: String,
        timestamps: bool,
    },
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
    /// The GPU device was lost; the page opens it again.
    GpuLost {
        why: String,
    },
}

thread_local! {
    static FOREST: RefCell<Option<Prepared>> = const { RefCell::new(None) };
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(m: &Message) {
    let (msg, transfer) = to_js(m);
    if let Err(e) = scope().post_message_with_transfer(&msg, &transfer) {
        web_sys::console::error_2(&"worker: cannot post".into(), &e);
    }
}

/// Values `values` (all, if `None`) of the f32 rows in `js`'s buffer 0, copied straight into
/// wasm memory (a shared buffer holds every worker's rows).
fn f32s(js: &JsMessage, values: Option<Range<usize>>) -> Result<Vec<f32>> {
    let rows = js
        .buffers
        .first()
        .ok_or_else(|| Error::Worker("no rows to score".into()))?;
    let len = rows.length() as usize;
    if !len.is_multiple_of(4) {
        return Err(Error::Worker("rows that are not whole f32s".into()));
    }
    let values = values.unwrap_or(0..len / 4);
    if values.start > values.end || values.end.saturating_mul(4) > len {
        return Err(Error::Worker("rows out of the buffer's range".into()));
    }
    let mut x = vec![0f32; values.len()];
    rows.subarray(values.start as u32 * 4, values.end as u32 * 4)
        .copy_to(bytemuck::cast_slice_mut(&mut x));
    Ok(x)
}

fn gpu_reply<T>(o: Outcome<T>, done: impl FnOnce(T) -> Message) -> Message {
    match o {
        Outcome::Done(t) => done(t),
        Outcome::Lost(why) => header_only(Reply::GpuLost { why }),
    }
}

/// An answer: buffers made in wasm memory, or JS arrays (shared ones are not transferred).
enum Answer {
    Wasm(Message),
    Js(String, Vec<js_sys::Uint8Array>),
}

async fn handle(req: Request, js: JsMessage) -> Result<Answer> {
    match req {
        Request::Score { id, values } => score(id, values, &js).map(Answer::Wasm),
        Request::Rows { reader, rows } => {
            let nf = reader.schema.n_features();
            let refuse = |n: usize| {
                Error::InvalidParam(format!(
                    "{} rows of {nf} features are more than the page can hold ({} MB)",
                    crate::human::count(n),
                    (super::MAX_VALUES * 4) >> 20
                ))
            };
            // The bytes of `n` rows, if the page can hold them; a size asked for is checked
            // before any row is encoded.
            let fits = |n: usize| {
                n.checked_mul(nf.max(1) * 4)
                    .filter(|&l| l <= super::MAX_VALUES * 4)
            };
            if let Some(n) = rows
                && fits(n).is_none()
            {
                return Err(refuse(n));
            }
            let x = rows::rows_for(&reader)?;
            let n = rows.unwrap_or(x.len() / nf.max(1));
            let len = fits(n).ok_or_else(|| refuse(n))?;
            let data =
                serde_json::to_string(&Reply::Data { prepared: None }).expect("plain header");
            let bytes: &[u8] = bytemuck::cast_slice(&x);
            Ok(Answer::Js(data, vec![shared_copy(bytes, len as u32)]))
        }
        Request::Prepare { choice, copies } => {
            let (header, train, test) = rows::prepared(choice, copies)?;
            // The training rows go on, through the page, to every training worker: one copy
            // each, made here and transferred, so the page's thread copies nothing. (Shared
            // memory, one copy for all, made training twice as slow on 16 workers in Chrome.)
            let arrays = std::iter::repeat_n(&train, header.copies.max(1))
                .flatten()
                .chain(&test)
                .map(|b| js_sys::Uint8Array::from(b.as_slice()))
                .collect();
            let prepared = serde_json::to_string(&header).expect("plain header");
            let data = serde_json::to_string(&Reply::Data {
                prepared: Some(prepared),
            })
            .expect("plain header");
            Ok(Answer::Js(data, arrays))
        }
        Request::GpuTime { model } => {
            let o = gpu_side::time(model, &f32s(&js, None)?).await?;
            Ok(Answer::Wasm(gpu_reply(o, |(timing, outputs)| Message {
                header: serde_json::to_string(&Reply::GpuTimed { timing }).expect("plain header"),
                buffers: vec![bytemuck::cast_slice(&outputs).to_vec()],
            })))
        }
        Request::GpuVariants { model } => {
            let o = gpu_side::variants(model, &f32s(&js, None)?).await?;
            Ok(Answer::Wasm(gpu_reply(o, |lines| {
                header_only(Reply::GpuLines { lines })
            })))
        }
        Request::GpuParts { model, parts } => {
            let o = gpu_side::parts(model, &f32s(&js, None)?, &parts).await?;
            Ok(Answer::Wasm(gpu_reply(o, |lines| {
                header_only(Reply::GpuLines { lines })
            })))
        }
        req => {
            let m = js.to_message(js.header.clone(), 0..js.buffers.len())?;
            handle_copied(req, m).await.map(Answer::Wasm)
        }
    }
}

/// Scores values `values` of the rows in `js`'s buffer 0, copying those alone into wasm memory.
fn score(id: u32, values: Range<usize>, js: &JsMessage) -> Result<Message> {
    let x = f32s(js, Some(values))?;
    FOREST.with(|f| {
        let f = f.borrow();
        let forest = f
            .as_ref()
            .ok_or_else(|| Error::Worker("no forest loaded".into()))?;
        let nf = forest.forest().n_features.max(1) as usize;
        let mut out = vec![0.0f32; x.len() / nf * forest.forest().n_outputs as usize];
        let t0 = super::now_ms();
        forest.predict_single_thread(&x, &mut out);
        let ms = super::now_ms() - t0;
        Ok(Message {
            header: serde_json::to_string(&Reply::Scored { id, ms }).expect("plain header"),
            buffers: vec![bytemuck::cast_slice(&out).to_vec()],
        })
    })
}

/// Requests whose buffers are copied into wasm memory first.
async fn handle_copied(req: Request, m: Message) -> Result<Message> {
    match req {
        Request::Grow {
            params,
            trees,
            data,
        } => {
            let d = shard::dataset_from(&Message {
                header: data,
                buffers: m.buffers,
            })?;
            // Captures nothing, so it is `Sync`; the page counts these for its progress bar.
            let tick = || post(&header_only(Reply::Tree));
            let s = shard::grow(&d, &params, trees, &tick)?;
            let out = s.to_message();
            Ok(Message {
                header: serde_json::to_string(&Reply::Grown { shard: out.header })
                    .expect("plain header"),
                buffers: out.buffers,
            })
        }
        Request::Load { forest } => {
            let s = Shard::from_message(&Message {
                header: forest,
                buffers: m.buffers,
            })?;
            FOREST.with(|f| *f.borrow_mut() = Some(Prepared::new(s.forest)));
            Ok(header_only(Reply::Loaded))
        }
        Request::Score { .. }
        | Request::Rows { .. }
        | Request::Prepare { .. }
        | Request::GpuTime { .. }
        | Request::GpuVariants { .. }
        | Request::GpuParts { .. } => unreachable!("answered by `handle`"),
        Request::Cancel => unreachable!("a cancel acts as it arrives (`start`), never queued"),
        Request::Read { name } => {
            let bytes = m
                .buffers
                .first()
                .ok_or_else(|| Error::Worker("no file to read".into()))?;
            let (view, note) = rows::read(&name, bytes)?;
            Ok(header_only(Reply::Rows { view, note }))
        }
        Request::Generate {
            rows: n,
            features,
            seed,
        } => Ok(header_only(Reply::Rows {
            view: rows::generate(n, features, seed),
            note: None,
        })),
        Request::Export { reader, n_outputs } => {
            let outputs: Vec<f32> = bytemuck::pod_collect_to_vec(
                m.buffers
                    .first()
                    .ok_or_else(|| Error::Worker("no predictions to write".into()))?,
            );
            let p = Predictions {
                outputs,
                n_outputs: n_outputs.max(1),
            };
            let csv = rows::predictions_csv(&reader, &p)?;
            Ok(data_reply(None, vec![csv.into_bytes()]))
        }
        Request::GpuOpen => {
            let (adapter, timestamps) = gpu_side::open().await?;
            Ok(header_only(Reply::GpuOpened {
                adapter,
                timestamps,
            }))
        }
        Request::GpuLoad { model, forest } => {
            let s = Shard::from_message(&Message {
                header: forest,
                buffers: m.buffers,
            })?;
            gpu_side::load(model, s.forest)?;
            Ok(header_only(Reply::Loaded))
        }
        Request::GpuTuned { rows } => Ok(header_only(Reply::GpuTuned {
            tuned: gpu_side::tuned(rows),
        })),
    }
}

fn data_reply(prepared: Option<String>, buffers: Vec<Vec<u8>>) -> Message {
    Message {
        header: serde_json::to_string(&Reply::Data { prepared }).expect("plain header"),
        buffers,
    }
}

/// Starts listening for requests. They are answered one at a time, in order (the page matches
/// answers to questions by their order), though the GPU's are asynchronous; a cancel acts at
/// once.
pub fn start() {
    super::log_panics();
    let (tx, rx) = flume::unbounded::<Result<(Request, JsMessage)>>();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let m = js_message(&e.data()).and_then(|m| {
            Ok((
                serde_json::from_str(&m.header)
                    .map_err(|e| Error::Worker(format!("unknown request: {e}")))?,
                m,
            ))
        });
        if let Ok((Request::Cancel, _)) = m {
            gpu_side::cancel();
        } else {
            let _ = tx.send(m);
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    wasm_bindgen_futures::spawn_local(async move {
        while let Ok(m) = rx.recv_async().await {
            let reply = match m {
                Ok((req, m)) => handle(req, m).await,
                Err(err) => Err(err),
            };
            answer(reply);
        }
    });
    post(&header_only(Reply::Ready));
}

fn answer(reply: Result<Answer>) {
    let reply = match reply {
        Ok(Answer::Js(header, arrays)) => {
            let (msg, transfer) = js_to_post(&header, &arrays);
            if let Err(e) = scope().post_message_with_transfer(&msg, &transfer) {
                web_sys::console::error_2(&"worker: cannot post".into(), &e);
            }
            return;
        }
        Ok(Answer::Wasm(m)) => m,
        Err(err) => header_only(Reply::Failed {
            message: err.to_string(),
        }),
    };
    post(&reply);
}

//! The worker's side: grows a shard of trees, or scores rows on its one thread with a loaded
//! forest. Requests and replies are [`Request`] and [`Reply`] headers over `messages`.

use super::messages::{from_js, header_only, replicated_to_js, to_js};
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
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// Grow trees `trees` of the forest; the buffers are a dataset message with header `data`.
    Grow {
        params: Params,
        trees: Range<usize>,
        data: String,
    },
    /// Keep this forest for scoring; the buffers are a shard message with header `forest`.
    Load { forest: String },
    /// Score the rows in buffer 0 (f32, row-major) with the loaded forest, on one thread.
    Score { id: u32 },
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
    /// Data worker: every kept row, encoded for a model (f32, row-major).
    Rows { reader: Reader },
    /// Data worker: the predictions in buffer 0 (f32) as CSV.
    Export { reader: Reader, n_outputs: usize },
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
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

fn handle(m: Message) -> Result<Message> {
    let req: Request = serde_json::from_str(&m.header)
        .map_err(|e| Error::Worker(format!("unknown request: {e}")))?;
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
        Request::Score { id } => {
            let x: Vec<f32> = bytemuck::pod_collect_to_vec(
                m.buffers
                    .first()
                    .ok_or_else(|| Error::Worker("no rows to score".into()))?,
            );
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
        Request::Prepare { choice, copies } => {
            let p = rows::prepared(choice, copies)?;
            Ok(data_reply(Some(p.header), p.buffers))
        }
        Request::Rows { reader } => {
            let x = rows::rows_for(&reader)?;
            Ok(data_reply(None, vec![bytemuck::cast_slice(&x).to_vec()]))
        }
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
    }
}

fn data_reply(prepared: Option<String>, buffers: Vec<Vec<u8>>) -> Message {
    Message {
        header: serde_json::to_string(&Reply::Data { prepared }).expect("plain header"),
        buffers,
    }
}

/// Starts listening for requests.
pub fn start() {
    super::log_panics();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|e: MessageEvent| {
        let reply = from_js(&e.data()).and_then(handle).unwrap_or_else(|err| {
            header_only(Reply::Failed {
                message: err.to_string(),
            })
        });
        // The training rows go on, through the page, to every training worker: one copy each,
        // made here and transferred, so the page's thread copies nothing. (Shared memory, one
        // copy for all, made training twice as slow on 16 workers in Chrome.)
        match replicated_to_js(&reply) {
            Some((msg, transfer)) => {
                if let Err(e) = scope().post_message_with_transfer(&msg, &transfer) {
                    web_sys::console::error_2(&"worker: cannot post".into(), &e);
                }
            }
            None => post(&reply),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    post(&header_only(Reply::Ready));
}

//! Each worker's side. Every worker runs this loop and answers any [`Request`]: which kind it
//! is (data worker, training, scoring) is what the page asks of it. Requests are answered one
//! at a time, in the order they came, though the GPU's are asynchronous; a GPU cancel acts as
//! it arrives.

mod cpu;
mod data;
mod gpu;

use crate::error::{Error, Result};
use crate::model::Predictions;
use crate::protocol::frame::{Message, decode_shard, from_header, to_header};
use crate::protocol::{DataReply, DataRequest, MAX_VALUES, Outcome, Reply, Request};
use crate::web::common::log_panics;
use crate::web::transport::{JsMessage, js_message, js_to_post, shared_copy, to_js};
use std::ops::Range;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

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

/// How many rows of `nf` features the values `x` are, or an error if not whole rows.
fn whole_rows(x: &[f32], nf: usize) -> Result<usize> {
    if !x.len().is_multiple_of(nf) {
        return Err(Error::Worker(format!(
            "{} values are not whole rows of {nf} features",
            x.len()
        )));
    }
    Ok(x.len() / nf)
}

/// An answer: buffers made in wasm memory, or JS arrays (shared ones are not transferred).
enum Answer {
    Wasm(Message),
    Js(String, Vec<js_sys::Uint8Array>),
}

fn data_answer(r: DataReply, buffers: Vec<Vec<u8>>) -> Answer {
    Answer::Wasm(Message {
        header: to_header(&Reply::Answer(r)),
        buffers,
    })
}

fn gpu_answer<T>(o: Outcome<T>, done: impl FnOnce(T) -> (DataReply, Vec<Vec<u8>>)) -> Answer {
    let (r, buffers) = match o {
        Outcome::Done(t) => done(t),
        Outcome::Lost(why) => (DataReply::GpuLost { why }, Vec::new()),
    };
    data_answer(r, buffers)
}

/// A request's answer; `None` for a GPU cancel, which is never answered.
async fn handle(req: Request, js: JsMessage) -> Option<Result<Answer>> {
    Some(match req {
        Request::Train(r) => cpu::train(r, &js).map(Answer::Wasm),
        Request::Score(r) => cpu::score(r, &js).map(Answer::Wasm),
        Request::Data(r) => handle_data(r, js).await,
        Request::CancelGpu => {
            gpu::cancel();
            return None;
        }
    })
}

/// The data worker's requests: the rows it holds ([`data`]) and the GPU ([`gpu`]).
async fn handle_data(req: DataRequest, js: JsMessage) -> Result<Answer> {
    let first = |what: &str| {
        js.buffers
            .first()
            .map(js_sys::Uint8Array::to_vec)
            .ok_or_else(|| Error::Worker(format!("no {what}")))
    };
    Ok(match req {
        DataRequest::Read { name } => {
            let tell = |done, total| {
                post(&Message::header_only(&Reply::Answer(DataReply::Reading {
                    done,
                    total,
                })))
            };
            let (view, note) = data::read(&name, &first("file to read")?, tell)?;
            data_answer(DataReply::Rows { view, note }, Vec::new())
        }
        DataRequest::Generate {
            rows,
            features,
            seed,
        } => data_answer(
            DataReply::Rows {
                view: data::generate(rows, features, seed),
                note: None,
            },
            Vec::new(),
        ),
        DataRequest::Prepare { choice, copies } => {
            let (split, train, test) = data::prepared(choice, copies)?;
            // The training rows go on, through the page, to every training worker: one copy
            // each, made here and transferred, so the page's thread copies nothing. (Shared
            // memory, one copy for all, made training twice as slow on 16 workers in Chrome.)
            let arrays = std::iter::repeat_n(&train, split.copies.max(1))
                .flatten()
                .chain(&test)
                .map(|b| js_sys::Uint8Array::from(b.as_slice()))
                .collect();
            Answer::Js(
                to_header(&Reply::Answer(DataReply::Prepared { split })),
                arrays,
            )
        }
        DataRequest::Rows { reader, rows } => {
            let nf = reader.schema.n_features();
            let refuse = |n: usize| {
                Error::InvalidParam(format!(
                    "{} rows of {nf} features are more than the page can hold ({} MB)",
                    crate::spoken::count(n),
                    (MAX_VALUES * 4) >> 20
                ))
            };
            // The bytes of `n` rows, if the page can hold them; a size asked for is checked
            // before any row is encoded.
            let fits = |n: usize| {
                n.checked_mul(nf.max(1) * 4)
                    .filter(|&l| l <= MAX_VALUES * 4)
            };
            if let Some(n) = rows
                && fits(n).is_none()
            {
                return Err(refuse(n));
            }
            let x = data::rows_for(&reader)?;
            let n = rows.unwrap_or(x.len() / nf.max(1));
            let len = fits(n).ok_or_else(|| refuse(n))?;
            let bytes: &[u8] = bytemuck::cast_slice(&x);
            Answer::Js(
                to_header(&Reply::Answer(DataReply::Bytes)),
                vec![shared_copy(bytes, len as u32)],
            )
        }
        DataRequest::Export { reader, n_outputs } => {
            let outputs: Vec<f32> = bytemuck::pod_collect_to_vec(&first("predictions to write")?);
            let p = Predictions {
                outputs,
                n_outputs: n_outputs.max(1),
            };
            let csv = data::predictions_csv(&reader, &p)?;
            data_answer(DataReply::Bytes, vec![csv.into_bytes()])
        }
        DataRequest::Row { reader, row } => data_answer(
            DataReply::Row {
                row: data::row_shown(&reader, &row)?,
            },
            Vec::new(),
        ),
        DataRequest::GpuOpen => data_answer(
            DataReply::GpuOpened {
                adapter: gpu::open().await?,
            },
            Vec::new(),
        ),
        DataRequest::GpuLoad { model, forest } => {
            let s = decode_shard(&js.to_message(forest, 0..js.buffers.len())?)?;
            gpu::load(model, s.forest)?;
            data_answer(DataReply::GpuLoaded, Vec::new())
        }
        DataRequest::GpuTuned { rows } => data_answer(
            DataReply::GpuTuned {
                tuned: gpu::tuned(rows),
            },
            Vec::new(),
        ),
        DataRequest::GpuTime { model } => {
            let o = gpu::time(model, &f32s(&js, None)?).await?;
            gpu_answer(o, |(timing, outputs)| {
                (
                    DataReply::GpuTimed { timing },
                    vec![bytemuck::cast_slice(&outputs).to_vec()],
                )
            })
        }
        DataRequest::GpuVariants { model } => {
            let o = gpu::variants(model, &f32s(&js, None)?).await?;
            gpu_answer(o, |lines| (DataReply::GpuLines { lines }, Vec::new()))
        }
        DataRequest::GpuExplain { model } => {
            let o = gpu::explain(model, &f32s(&js, None)?).await?;
            gpu_answer(o, |(ms, sums)| {
                (
                    DataReply::GpuExplained { ms },
                    vec![bytemuck::cast_slice(&sums).to_vec()],
                )
            })
        }
        DataRequest::GpuParts { model, parts } => {
            let o = gpu::parts(model, &f32s(&js, None)?, &parts).await?;
            gpu_answer(o, |lines| (DataReply::GpuLines { lines }, Vec::new()))
        }
    })
}

/// Starts listening for requests. They are answered one at a time, in order (the page matches
/// answers to questions by their order), though the GPU's are asynchronous; a GPU cancel acts
/// at once and is not answered.
pub fn start() {
    log_panics();
    let (tx, rx) = flume::unbounded::<Result<(Request, JsMessage)>>();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let m = js_message(&e.data())
            .and_then(|m| Ok((from_header::<Request>(&m.header, "request")?, m)));
        // A cancel acts now, not in turn behind the request it cancels.
        if let Ok((Request::CancelGpu, _)) = m {
            gpu::cancel();
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
                Err(err) => Some(Err(err)),
            };
            reply.map(answer);
        }
    });
    post(&Message::header_only(&Reply::<()>::Ready));
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
        Err(err) => Message::header_only(&Reply::<()>::Failed {
            message: err.to_string(),
        }),
    };
    post(&reply);
}

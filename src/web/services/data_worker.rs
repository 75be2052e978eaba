//! The data worker as the page asks it: it holds the loaded rows and the GPU, and answers in
//! the order it was asked, so each request waits on the next reply in line.

use super::pool::new_worker;
use crate::error::{Error, Result};
use crate::flat::FlatForest;
use crate::model::{Predictions, Reader};
use crate::protocol::frame::{encode_forest, from_header, to_header};
use crate::protocol::{
    Choice, DataReply, DataRequest, DataView, GpuAdapter, GpuTiming, Outcome, PreparedSplit, Reply,
    Request, RowRef, RowShown,
};
use crate::web::transport::{JsMessage, js_message, js_to_post, to_post};
use js_sys::Uint8Array;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker};

type Waiting = Rc<RefCell<VecDeque<flume::Sender<Result<JsMessage>>>>>;
/// Who hears how far the file being read is (`DataReply::Reading`).
type Progress = Rc<RefCell<Option<Box<dyn Fn(usize, usize)>>>>;

pub struct DataWorker {
    worker: Worker,
    waiting: Waiting,
    progress: Progress,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl Drop for DataWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// Buffer 0 of a reply as f32s, copied into wasm memory; `missing` says what lacks it.
fn f32s_of(m: &JsMessage, missing: &str) -> Result<Vec<f32>> {
    let b = m
        .buffers
        .first()
        .ok_or_else(|| Error::Worker(missing.into()))?;
    if b.length() % 4 != 0 {
        return Err(Error::Worker("outputs that are not whole f32s".into()));
    }
    let mut out = vec![0f32; b.length() as usize / 4];
    b.copy_to(bytemuck::cast_slice_mut(&mut out));
    Ok(out)
}

fn unexpected(what: &str) -> Error {
    Error::Worker(format!("unexpected reply to {what}"))
}

impl DataWorker {
    pub async fn new() -> Result<DataWorker> {
        let worker = new_worker()?;
        let waiting: Waiting = Rc::default();
        let (ready_tx, ready_rx) = flume::bounded(1);
        let w = waiting.clone();
        let progress: Progress = Rc::default();
        let p = progress.clone();
        let ready = to_header(&Reply::<DataReply>::Ready);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let m = js_message(&e.data());
            let reading = m.as_ref().ok().and_then(|m| {
                match from_header::<Reply<DataReply>>(&m.header, "").ok()? {
                    Reply::Answer(DataReply::Reading { done, total }) => Some((done, total)),
                    _ => None,
                }
            });
            if m.as_ref().is_ok_and(|m| m.header == ready) {
                let _ = ready_tx.try_send(());
            } else if let Some((done, total)) = reading {
                if let Some(tell) = &*p.borrow() {
                    tell(done, total);
                }
            } else if let Some(tx) = w.borrow_mut().pop_front() {
                let _ = tx.send(m);
            }
        });
        let w = waiting.clone();
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |e: ErrorEvent| {
            // The worker is gone (out of memory, say): every request in line fails.
            for tx in w.borrow_mut().drain(..) {
                let _ = tx.send(Err(Error::Worker(format!(
                    "the data worker stopped: {}",
                    e.message()
                ))));
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let dw = DataWorker {
            worker,
            waiting,
            progress,
            _on_message: on_message,
            _on_error: on_error,
        };
        ready_rx
            .recv_async()
            .await
            .map_err(|_| Error::Worker("the data worker did not start".into()))?;
        Ok(dw)
    }

    /// Sends `req` (with `buffers`, copied out of wasm memory) and waits for its answer.
    async fn ask(&self, req: DataRequest, buffers: &[&[u8]]) -> Result<(DataReply, JsMessage)> {
        let arrays: Vec<Uint8Array> = buffers.iter().map(|b| Uint8Array::from(*b)).collect();
        self.ask_js(req, &arrays).await
    }

    /// Sends `req` with `arrays`, whose buffers are transferred (the page's copies are gone
    /// after) unless shared, and waits for its answer.
    async fn ask_js(
        &self,
        req: DataRequest,
        arrays: &[Uint8Array],
    ) -> Result<(DataReply, JsMessage)> {
        let (tx, rx) = flume::bounded(1);
        self.waiting.borrow_mut().push_back(tx);
        let (msg, transfer) = js_to_post(&to_header(&Request::Data(req)), arrays);
        if let Err(e) = self.worker.post_message_with_transfer(&msg, &transfer) {
            self.waiting.borrow_mut().pop_back();
            return Err(Error::Worker(format!(
                "cannot message the data worker: {e:?}"
            )));
        }
        let m = rx
            .recv_async()
            .await
            .map_err(|_| Error::Worker("the data worker is gone".into()))??;
        match from_header(&m.header, "data worker's reply")? {
            Reply::Answer(r) => Ok((r, m)),
            Reply::Failed { message } => Err(Error::Worker(message)),
            Reply::Ready => Err(unexpected("a request (the worker started again)")),
        }
    }

    /// Reads a CSV file's bytes; the rows stay in the worker.
    /// Reads a CSV; `progress` hears how many of its bytes are read as the worker goes.
    pub async fn read(
        &self,
        name: &str,
        bytes: &Uint8Array,
        progress: impl Fn(usize, usize) + 'static,
    ) -> Result<(DataView, Option<String>)> {
        let req = DataRequest::Read { name: name.into() };
        *self.progress.borrow_mut() = Some(Box::new(progress));
        let r = self.ask_js(req, std::slice::from_ref(bytes)).await;
        *self.progress.borrow_mut() = None;
        match r? {
            (DataReply::Rows { view, note }, _) => Ok((view, note)),
            _ => Err(unexpected("reading")),
        }
    }

    pub async fn generate(&self, rows: usize, features: usize, seed: u64) -> Result<DataView> {
        let req = DataRequest::Generate {
            rows,
            features,
            seed,
        };
        match self.ask(req, &[]).await? {
            (DataReply::Rows { view, .. }, _) => Ok(view),
            _ => Err(unexpected("generating")),
        }
    }

    /// The rows split and encoded for training: what the buffers are, and the buffers to pass
    /// on (as many as the split says).
    pub async fn prepare(
        &self,
        choice: Choice,
        copies: usize,
    ) -> Result<(PreparedSplit, JsMessage)> {
        match self
            .ask(DataRequest::Prepare { choice, copies }, &[])
            .await?
        {
            (DataReply::Prepared { split }, m) => {
                let want = split.train_buffers.saturating_mul(split.copies.max(1))
                    + crate::protocol::frame::DATASET_BUFFERS;
                if m.buffers.len() != want {
                    return Err(Error::Worker(format!(
                        "a split of {} buffers, not the {want} its header names",
                        m.buffers.len()
                    )));
                }
                Ok((split, m))
            }
            _ => Err(unexpected("preparing")),
        }
    }

    /// Every loaded row encoded for the model that `reader` describes, repeated up to `rows`
    /// rows if given, in memory shared with the workers where the page is cross-origin
    /// isolated (`transport::shared_copy`): f32, row-major.
    pub async fn rows(&self, reader: Reader, rows: Option<usize>) -> Result<Uint8Array> {
        let (_, m) = self.ask(DataRequest::Rows { reader, rows }, &[]).await?;
        let b = m
            .buffers
            .into_iter()
            .next()
            .ok_or_else(|| Error::Worker("rows without their buffer".into()))?;
        if b.length() % 4 != 0 {
            return Err(Error::Worker("rows that are not whole f32s".into()));
        }
        Ok(b)
    }

    /// Opens the GPU in the worker.
    pub async fn gpu_open(&self) -> Result<GpuAdapter> {
        match self.ask(DataRequest::GpuOpen, &[]).await? {
            (DataReply::GpuOpened { adapter }, _) => Ok(adapter),
            _ => Err(unexpected("opening the GPU")),
        }
    }

    /// Puts `forest` on the GPU, as model `model`.
    pub async fn gpu_load(&self, model: u64, forest: &FlatForest) -> Result<()> {
        let s = encode_forest(forest);
        let buffers: Vec<&[u8]> = s.buffers.iter().map(Vec::as_slice).collect();
        let req = DataRequest::GpuLoad {
            model,
            forest: s.header,
        };
        match self.ask(req, &buffers).await? {
            (DataReply::GpuLoaded, _) => Ok(()),
            _ => Err(unexpected("loading the GPU")),
        }
    }

    /// Whether a batch of `rows` rows ran on the GPU before (its kernels compiled and tried).
    pub async fn gpu_tuned(&self, rows: usize) -> Result<bool> {
        match self.ask(DataRequest::GpuTuned { rows }, &[]).await? {
            (DataReply::GpuTuned { tuned }, _) => Ok(tuned),
            _ => Err(unexpected("a question about the GPU")),
        }
    }

    /// Times the GPU on the rows `x` (f32) with model `model`: the figures and the outputs.
    pub async fn gpu_time(
        &self,
        model: u64,
        x: &Uint8Array,
    ) -> Result<Outcome<(GpuTiming, Vec<f32>)>> {
        match self
            .ask_js(DataRequest::GpuTime { model }, &[to_post(x)])
            .await?
        {
            (DataReply::GpuTimed { timing }, m) => Ok(Outcome::Done((
                timing,
                f32s_of(&m, "GPU figures without outputs")?,
            ))),
            (DataReply::GpuLost { why }, _) => Ok(Outcome::Lost(why)),
            _ => Err(unexpected("GPU scoring")),
        }
    }

    /// The TreeSHAP sums of the rows `x` (f32) with model `model`, and their time in the
    /// worker (upload to readback).
    pub async fn gpu_explain(
        &self,
        model: u64,
        x: &Uint8Array,
    ) -> Result<Outcome<(f64, Vec<f32>)>> {
        match self
            .ask_js(DataRequest::GpuExplain { model }, &[to_post(x)])
            .await?
        {
            (DataReply::GpuExplained { ms }, m) => Ok(Outcome::Done((
                ms,
                f32s_of(&m, "an explanation without its sums")?,
            ))),
            (DataReply::GpuLost { why }, _) => Ok(Outcome::Lost(why)),
            _ => Err(unexpected("explaining on the GPU")),
        }
    }

    /// The row `row` names, as the file has it.
    pub async fn row(&self, reader: Reader, row: RowRef) -> Result<RowShown> {
        match self.ask(DataRequest::Row { reader, row }, &[]).await? {
            (DataReply::Row { row }, _) => Ok(row),
            _ => Err(unexpected("asking for a row")),
        }
    }

    /// Benchmark lines from a GPU request about the rows `x` (`GpuVariants`, `GpuParts`).
    pub async fn gpu_lines(
        &self,
        req: DataRequest,
        x: &Uint8Array,
    ) -> Result<Outcome<Vec<serde_json::Value>>> {
        match self.ask_js(req, &[to_post(x)]).await? {
            (DataReply::GpuLines { lines }, _) => Ok(Outcome::Done(lines)),
            (DataReply::GpuLost { why }, _) => Ok(Outcome::Lost(why)),
            _ => Err(unexpected("a GPU benchmark")),
        }
    }

    /// Stops the GPU timing in progress after its current run; its request then fails.
    pub fn cancel(&self) {
        let msg = js_sys::Array::of1(&to_header(&Request::CancelGpu).into());
        let _ = self.worker.post_message(&msg);
    }

    /// The predictions as CSV text.
    pub async fn export(&self, reader: Reader, p: &Predictions) -> Result<String> {
        let req = DataRequest::Export {
            reader,
            n_outputs: p.n_outputs,
        };
        let (_, m) = self.ask(req, &[bytemuck::cast_slice(&p.outputs)]).await?;
        let b = m
            .buffers
            .first()
            .ok_or_else(|| Error::Worker("a CSV without its buffer".into()))?;
        String::from_utf8(b.to_vec()).map_err(|_| Error::Worker("a CSV that is not text".into()))
    }
}

//! The page's side of the workers: training spread over several, and a set kept for CPU scoring.

use super::gpu_side::{GpuTiming, Outcome};
use super::messages::{
    JsMessage, from_js, is_shared, js_message, js_to_post, parts_to_js, to_post,
};
use super::rows::{Choice, PreparedHeader};
use super::state::DataView;
use super::worker::{Reply, Request};
use crate::error::{Error, Result};
use crate::flat::FlatForest;
use crate::forest::Params;
use crate::forest::model::{Predictions, Reader};
use crate::shard::{self, Message, Shard};
use js_sys::Uint8Array;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::ops::Range;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

/// Starts a worker on the page's own wasm module: the loader imports the page's script and
/// instantiates the compiled module it is sent, and `main` then starts the worker's loop.
fn new_worker() -> Result<Worker> {
    let fail = |e: JsValue| Error::Worker(format!("cannot start a web worker: {e:?}"));
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    let worker = Worker::new_with_options("./assets/worker.js", &options).map_err(fail)?;
    let start = js_sys::Array::of2(&page_script()?.into(), &wasm_bindgen::module());
    worker.post_message(&start).map_err(fail)?;
    Ok(worker)
}

/// The absolute URL of the page's wasm-bindgen script, which trunk names in a modulepreload
/// link (its name carries a content hash).
fn page_script() -> Result<String> {
    let missing = || Error::Worker("the page's script is not named in index.html".into());
    let window = web_sys::window().ok_or_else(missing)?;
    let href = window
        .document()
        .and_then(|d| d.query_selector("link[rel=modulepreload]").ok().flatten())
        .and_then(|l| l.get_attribute("href"))
        .ok_or_else(missing)?;
    let base = window.location().href().map_err(|_| missing())?;
    web_sys::Url::new_with_base(&href, &base)
        .map(|u| u.href())
        .map_err(|_| missing())
}

enum Event {
    Reply(Result<Message>),
    Cancel,
}

/// A worker whose replies arrive on a channel; terminated when dropped.
struct Handle {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

fn spawn(tx: flume::Sender<Event>) -> Result<Handle> {
    let worker = new_worker()?;
    let t = tx.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let _ = t.send(Event::Reply(from_js(&e.data())));
    });
    let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |e: ErrorEvent| {
        let _ = tx.send(Event::Reply(Err(Error::Worker(format!(
            "a worker stopped: {}",
            e.message()
        )))));
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Ok(Handle {
        worker,
        _on_message: on_message,
        _on_error: on_error,
    })
}

/// Sends a header and borrowed buffers (each copied out of wasm memory once, then transferred).
fn send_parts(w: &Worker, header: &str, buffers: &[&[u8]]) -> Result<()> {
    post(w, parts_to_js(header, buffers))
}

/// Sends a header and JS arrays (transferred unless shared).
fn send_js(w: &Worker, header: &str, arrays: &[Uint8Array]) -> Result<()> {
    post(w, js_to_post(header, arrays))
}

fn post(w: &Worker, (msg, transfer): (js_sys::Array, js_sys::Array)) -> Result<()> {
    w.post_message_with_transfer(&msg, &transfer)
        .map_err(|e| Error::Worker(format!("cannot message a worker: {e:?}")))
}

fn reply(m: &Message) -> Result<Reply> {
    serde_json::from_str(&m.header).map_err(|e| Error::Worker(format!("unknown reply: {e}")))
}

async fn next(rx: &flume::Receiver<Event>) -> Result<Event> {
    rx.recv_async()
        .await
        .map_err(|_| Error::Worker("the workers' channel closed".into()))
}

/// Waits until `n` workers say they listen.
async fn ready(rx: &flume::Receiver<Event>, n: usize) -> Result<bool> {
    let mut ready = 0;
    while ready < n {
        match next(rx).await? {
            Event::Cancel => return Ok(false),
            Event::Reply(m) => match reply(&m?)? {
                Reply::Ready => ready += 1,
                _ => return Err(Error::Worker("a worker spoke before it was ready".into())),
            },
        }
    }
    Ok(true)
}

/// Stops a run of workers in progress: whatever waits on them returns at once, and the
/// workers, still busy, are terminated when their owner drops them.
#[derive(Clone)]
pub struct Canceller(Vec<flume::Sender<Event>>);

impl Canceller {
    pub fn cancel(&self) {
        for tx in &self.0 {
            let _ = tx.send(Event::Cancel);
        }
    }
}

/// Splits `0..n` into `parts` contiguous ranges differing in length by at most one.
fn split(n: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, n.max(1));
    (0..parts)
        .map(|i| (i * n / parts)..((i + 1) * n / parts))
        .filter(|r| !r.is_empty())
        .collect()
}

/// Where a training's time went, each from its start (page clock, ms).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct GrowTimes {
    /// Workers started and listening.
    pub ready_ms: f64,
    /// The rows copied to every worker (on the page's thread).
    pub sent_ms: f64,
    /// Every shard back.
    pub grown_ms: f64,
}

/// Between starting one training worker and the next.
const STAGGER_MS: i32 = 10;

/// A dataset message whose buffers are JS arrays (from the data worker), to transfer on.
pub struct DatasetParts<'a> {
    pub header: String,
    pub buffers: &'a [js_sys::Uint8Array],
}

/// A training about to run on `workers` workers.
pub struct Training {
    tx: flume::Sender<Event>,
    rx: flume::Receiver<Event>,
    workers: usize,
}

impl Training {
    pub fn new(workers: usize) -> Training {
        let (tx, rx) = flume::unbounded();
        Training { tx, rx, workers }
    }

    pub fn canceller(&self) -> Canceller {
        Canceller(vec![self.tx.clone()])
    }

    /// Grows the forest; `on_tree(done)` after each tree. `Ok(None)` when cancelled.
    pub async fn run(
        self,
        data: &[DatasetParts<'_>],
        params: &Params,
        on_tree: impl Fn(usize),
    ) -> Result<Option<(Vec<Shard>, GrowTimes)>> {
        let t0 = super::now_ms();
        let ranges = split(params.n_trees, self.workers);
        let handles = ranges
            .iter()
            .map(|_| spawn(self.tx.clone()))
            .collect::<Result<Vec<_>>>()?;
        if !ready(&self.rx, handles.len()).await? {
            return Ok(None);
        }
        let ready_ms = super::now_ms() - t0;
        if data.len() < handles.len() {
            return Err(Error::Worker(
                "fewer copies of the rows than workers".into(),
            ));
        }
        for ((h, r), d) in handles.iter().zip(&ranges).zip(data) {
            // Each worker its own copy, made by the data worker and transferred: the page's
            // thread copies nothing.
            let req = Request::Grow {
                params: params.clone(),
                trees: r.clone(),
                data: d.header.clone(),
            };
            send_js(
                &h.worker,
                &serde_json::to_string(&req).expect("plain header"),
                d.buffers,
            )?;
            // One worker starting at a time (measured: all at once made growing slower).
            super::sleep_ms(STAGGER_MS).await;
        }
        let sent_ms = super::now_ms() - t0;
        let (mut done, mut shards) = (0, Vec::new());
        while shards.len() < ranges.len() {
            let m = match next(&self.rx).await? {
                Event::Cancel => return Ok(None),
                Event::Reply(m) => m?,
            };
            match reply(&m)? {
                Reply::Tree => {
                    done += 1;
                    on_tree(done);
                }
                Reply::Grown { shard } => shards.push(Shard::from_message(&Message {
                    header: shard,
                    buffers: m.buffers,
                })?),
                Reply::Failed { message } => return Err(Error::Worker(message)),
                _ => return Err(Error::Worker("unexpected reply".into())),
            }
        }
        drop(handles);
        let times = GrowTimes {
            ready_ms,
            sent_ms,
            grown_ms: super::now_ms() - t0,
        };
        Ok(Some((shards, times)))
    }
}

/// One scoring run: outputs, wall time on the page (rows to the workers and outputs back
/// included) and the slowest worker's scoring time alone.
pub struct CpuRun {
    pub outputs: Vec<f32>,
    pub wall_ms: f64,
    pub compute_ms: f64,
}

/// Workers that each hold the forest and score their share of a batch on their one thread.
pub struct Scorer {
    workers: Vec<(Handle, flume::Receiver<Event>)>,
    senders: Vec<flume::Sender<Event>>,
    next_id: u32,
}

impl Scorer {
    pub async fn new(n: usize) -> Result<Scorer> {
        let (mut workers, mut senders) = (Vec::new(), Vec::new());
        for _ in 0..n.max(1) {
            let (tx, rx) = flume::unbounded();
            workers.push((spawn(tx.clone())?, rx));
            senders.push(tx);
        }
        for (_, rx) in &workers {
            ready(rx, 1).await?;
        }
        Ok(Scorer {
            workers,
            senders,
            next_id: 0,
        })
    }

    /// Makes the run in flight return [`Error::Cancelled`]; the scorer is then dropped, as its
    /// workers may still be busy.
    pub fn canceller(&self) -> Canceller {
        Canceller(self.senders.clone())
    }

    pub fn len(&self) -> usize {
        self.workers.len()
    }

    async fn answer(rx: &flume::Receiver<Event>) -> Result<Message> {
        match rx.recv_async().await {
            Ok(Event::Reply(m)) => {
                let m = m?;
                if let Reply::Failed { message } = reply(&m)? {
                    return Err(Error::Worker(message));
                }
                Ok(m)
            }
            Ok(Event::Cancel) => Err(Error::Cancelled),
            Err(_) => Err(Error::Worker("a scoring worker is gone".into())),
        }
    }

    /// Gives every worker the forest.
    pub async fn load(&mut self, forest: &FlatForest) -> Result<()> {
        let s = shard::forest_message(forest);
        let header =
            serde_json::to_string(&Request::Load { forest: s.header }).expect("plain header");
        let buffers: Vec<&[u8]> = s.buffers.iter().map(Vec::as_slice).collect();
        for (h, _) in &self.workers {
            send_parts(&h.worker, &header, &buffers)?;
        }
        for (_, rx) in &self.workers {
            Self::answer(rx).await?;
        }
        Ok(())
    }

    /// Scores the rows of `x` (f32, `nf` wide) on the first `workers` workers, each taking a
    /// contiguous share, all at once. Shared rows reach them with no copy (each worker copies
    /// its share itself); plain ones as a copy of each share, made here.
    pub async fn score(&mut self, x: &Uint8Array, nf: usize, workers: usize) -> Result<CpuRun> {
        self.next_id += 1;
        let id = self.next_id;
        let t0 = super::now_ms();
        let shares = split(
            x.length() as usize / 4 / nf.max(1),
            workers.min(self.workers.len()),
        );
        let shared = is_shared(x);
        for ((h, _), r) in self.workers.iter().zip(&shares) {
            let values = r.start * nf..r.end * nf;
            let (rows, values) = if shared {
                (x.clone(), values)
            } else {
                let part = x.slice(values.start as u32 * 4, values.end as u32 * 4);
                (part, 0..values.len())
            };
            let header =
                serde_json::to_string(&Request::Score { id, values }).expect("plain header");
            send_js(&h.worker, &header, &[rows])?;
        }
        let (mut outputs, mut compute_ms) = (Vec::new(), 0.0f64);
        for (_, rx) in self.workers.iter().take(shares.len()) {
            let m = Self::answer(rx).await?;
            match reply(&m)? {
                Reply::Scored { id: got, ms } if got == id => {
                    let b = m
                        .buffers
                        .first()
                        .ok_or_else(|| Error::Worker("scores without outputs".into()))?;
                    outputs.extend_from_slice(&bytemuck::pod_collect_to_vec::<u8, f32>(b));
                    compute_ms = compute_ms.max(ms);
                }
                _ => return Err(Error::Worker("unexpected reply to scoring".into())),
            }
        }
        Ok(CpuRun {
            outputs,
            wall_ms: super::now_ms() - t0,
            compute_ms,
        })
    }
}

/// The worker that holds the loaded rows (`rows`) and the GPU (`gpu_side`). It answers in the
/// order it was asked, so each request waits on the next reply in line.
pub struct DataWorker {
    worker: Worker,
    waiting: Rc<RefCell<VecDeque<flume::Sender<Result<JsMessage>>>>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl Drop for DataWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

impl DataWorker {
    pub async fn new() -> Result<DataWorker> {
        let worker = new_worker()?;
        let waiting: Rc<RefCell<VecDeque<flume::Sender<Result<JsMessage>>>>> = Rc::default();
        let (ready_tx, ready_rx) = flume::bounded(1);
        let w = waiting.clone();
        let ready = serde_json::to_string(&Reply::Ready).expect("plain header");
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let m = js_message(&e.data());
            if m.as_ref().is_ok_and(|m| m.header == ready) {
                let _ = ready_tx.try_send(());
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
    async fn ask(&self, req: Request, buffers: &[&[u8]]) -> Result<(Reply, JsMessage)> {
        let arrays: Vec<Uint8Array> = buffers.iter().map(|b| Uint8Array::from(*b)).collect();
        self.ask_js(req, &arrays).await
    }

    /// Sends `req` with `arrays`, whose buffers are transferred (the page's copies are gone
    /// after) unless shared, and waits for its answer.
    async fn ask_js(&self, req: Request, arrays: &[Uint8Array]) -> Result<(Reply, JsMessage)> {
        let (tx, rx) = flume::bounded(1);
        self.waiting.borrow_mut().push_back(tx);
        let (msg, transfer) =
            js_to_post(&serde_json::to_string(&req).expect("plain header"), arrays);
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
        match serde_json::from_str(&m.header)
            .map_err(|e| Error::Worker(format!("unknown reply: {e}")))?
        {
            Reply::Failed { message } => Err(Error::Worker(message)),
            r => Ok((r, m)),
        }
    }

    /// Reads a CSV file's bytes; the rows stay in the worker.
    pub async fn read(&self, name: &str, bytes: &Uint8Array) -> Result<(DataView, Option<String>)> {
        let req = Request::Read { name: name.into() };
        match self.ask_js(req, std::slice::from_ref(bytes)).await? {
            (Reply::Rows { view, note }, _) => Ok((view, note)),
            _ => Err(Error::Worker("unexpected reply to reading".into())),
        }
    }

    pub async fn generate(&self, rows: usize, features: usize, seed: u64) -> Result<DataView> {
        let req = Request::Generate {
            rows,
            features,
            seed,
        };
        match self.ask(req, &[]).await? {
            (Reply::Rows { view, .. }, _) => Ok(view),
            _ => Err(Error::Worker("unexpected reply to generating".into())),
        }
    }

    /// The rows split and encoded for training: the header, and the buffers to pass on.
    pub async fn prepare(
        &self,
        choice: Choice,
        copies: usize,
    ) -> Result<(PreparedHeader, JsMessage)> {
        match self.ask(Request::Prepare { choice, copies }, &[]).await? {
            (Reply::Data { prepared: Some(h) }, m) => {
                let h = serde_json::from_str(&h)
                    .map_err(|e| Error::Worker(format!("unreadable split: {e}")))?;
                Ok((h, m))
            }
            _ => Err(Error::Worker("unexpected reply to preparing".into())),
        }
    }

    /// Every loaded row encoded for the model that `reader` describes, repeated up to `rows`
    /// rows if given, in memory shared with the workers where the page is cross-origin
    /// isolated (`messages::shared_copy`): f32, row-major.
    pub async fn rows(&self, reader: Reader, rows: Option<usize>) -> Result<Uint8Array> {
        let (_, m) = self.ask(Request::Rows { reader, rows }, &[]).await?;
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

    /// Opens the GPU in the worker: its name, and whether kernels can be timed.
    pub async fn gpu_open(&self) -> Result<(String, bool)> {
        match self.ask(Request::GpuOpen, &[]).await? {
            (
                Reply::GpuOpened {
                    adapter,
                    timestamps,
                },
                _,
            ) => Ok((adapter, timestamps)),
            _ => Err(Error::Worker("unexpected reply to opening the GPU".into())),
        }
    }

    /// Puts `forest` on the GPU, as model `model`.
    pub async fn gpu_load(&self, model: u64, forest: &FlatForest) -> Result<()> {
        let s = shard::forest_message(forest);
        let buffers: Vec<&[u8]> = s.buffers.iter().map(Vec::as_slice).collect();
        let req = Request::GpuLoad {
            model,
            forest: s.header,
        };
        match self.ask(req, &buffers).await? {
            (Reply::Loaded, _) => Ok(()),
            _ => Err(Error::Worker("unexpected reply to loading the GPU".into())),
        }
    }

    /// Whether a batch of `rows` rows ran on the GPU before (its kernels compiled and tried).
    pub async fn gpu_tuned(&self, rows: usize) -> Result<bool> {
        match self.ask(Request::GpuTuned { rows }, &[]).await? {
            (Reply::GpuTuned { tuned }, _) => Ok(tuned),
            _ => Err(Error::Worker("unexpected reply about the GPU".into())),
        }
    }

    /// Times the GPU on the rows `x` (f32) with model `model`: the figures and the outputs.
    pub async fn gpu_time(
        &self,
        model: u64,
        x: &Uint8Array,
    ) -> Result<Outcome<(GpuTiming, Vec<f32>)>> {
        match self
            .ask_js(Request::GpuTime { model }, &[to_post(x)])
            .await?
        {
            (Reply::GpuTimed { timing }, m) => {
                let b = m
                    .buffers
                    .first()
                    .ok_or_else(|| Error::Worker("GPU figures without outputs".into()))?;
                let mut out = vec![0f32; b.length() as usize / 4];
                b.copy_to(bytemuck::cast_slice_mut(&mut out));
                Ok(Outcome::Done((timing, out)))
            }
            (Reply::GpuLost { why }, _) => Ok(Outcome::Lost(why)),
            _ => Err(Error::Worker("unexpected reply to GPU scoring".into())),
        }
    }

    /// Benchmark lines from a GPU request about the rows `x` (`GpuVariants`, `GpuParts`).
    pub async fn gpu_lines(
        &self,
        req: Request,
        x: &Uint8Array,
    ) -> Result<Outcome<Vec<serde_json::Value>>> {
        match self.ask_js(req, &[to_post(x)]).await? {
            (Reply::GpuLines { lines }, _) => Ok(Outcome::Done(lines)),
            (Reply::GpuLost { why }, _) => Ok(Outcome::Lost(why)),
            _ => Err(Error::Worker("unexpected reply to a GPU benchmark".into())),
        }
    }

    /// Stops the GPU timing in progress after its current run; its request then fails.
    pub fn cancel(&self) {
        let msg = js_sys::Array::of1(
            &serde_json::to_string(&Request::Cancel)
                .expect("plain header")
                .into(),
        );
        let _ = self.worker.post_message(&msg);
    }

    /// The predictions as CSV text.
    pub async fn export(&self, reader: Reader, p: &Predictions) -> Result<String> {
        let req = Request::Export {
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

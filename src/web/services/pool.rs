//! The page's side of the CPU workers: training spread over several, and a set kept for
//! scoring. Every worker starts the same way ([`new_worker`]); the data worker is
//! `data_worker.rs`'s.

use crate::error::{Error, Result};
use crate::flat::FlatForest;
use crate::forest::Params;
use crate::protocol::frame::{Message, decode_shard, encode_forest, from_header, to_header};
use crate::protocol::{Reply, Request, ScoreReply, ScoreRequest, TrainReply, TrainRequest};
use crate::tree_shards::Shard;
use crate::web::common::{now_ms, sleep_ms};
use crate::web::transport::{from_js, is_shared, js_to_post, parts_to_js};
use js_sys::Uint8Array;
use std::ops::Range;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

/// Starts a worker on the page's own wasm module: the loader imports the page's script and
/// instantiates the compiled module it is sent, and `main` then starts the worker's loop.
pub(super) fn new_worker() -> Result<Worker> {
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

/// A worker's reply of kind `T`; a failure is an error.
fn reply<T: for<'a> serde::Deserialize<'a>>(m: &Message, what: &str) -> Result<Reply<T>> {
    match from_header(&m.header, what)? {
        Reply::Failed { message } => Err(Error::Worker(message)),
        r => Ok(r),
    }
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
            Event::Reply(m) => match reply::<TrainReply>(&m?, "worker's first word")? {
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
        let t0 = now_ms();
        let ranges = split(params.n_trees, self.workers);
        let handles = ranges
            .iter()
            .map(|_| spawn(self.tx.clone()))
            .collect::<Result<Vec<_>>>()?;
        if !ready(&self.rx, handles.len()).await? {
            return Ok(None);
        }
        let ready_ms = now_ms() - t0;
        if data.len() < handles.len() {
            return Err(Error::Worker(
                "fewer copies of the rows than workers".into(),
            ));
        }
        for ((h, r), d) in handles.iter().zip(&ranges).zip(data) {
            // Each worker its own copy, made by the data worker and transferred: the page's
            // thread copies nothing.
            let req = Request::Train(TrainRequest::Grow {
                params: params.clone(),
                trees: r.clone(),
                data: d.header.clone(),
            });
            send_js(&h.worker, &to_header(&req), d.buffers)?;
            // One worker starting at a time (measured: all at once made growing slower).
            sleep_ms(STAGGER_MS).await;
        }
        let sent_ms = now_ms() - t0;
        let (mut done, mut shards) = (0, Vec::new());
        while shards.len() < ranges.len() {
            let m = match next(&self.rx).await? {
                Event::Cancel => return Ok(None),
                Event::Reply(m) => m?,
            };
            match reply(&m, "training worker's reply")? {
                Reply::Answer(TrainReply::Tree) => {
                    done += 1;
                    on_tree(done);
                }
                Reply::Answer(TrainReply::Grown { shard }) => {
                    shards.push(decode_shard(&Message {
                        header: shard,
                        buffers: m.buffers,
                    })?)
                }
                _ => return Err(Error::Worker("a training worker spoke out of turn".into())),
            }
        }
        drop(handles);
        let times = GrowTimes {
            ready_ms,
            sent_ms,
            grown_ms: now_ms() - t0,
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

    async fn answer(rx: &flume::Receiver<Event>) -> Result<(ScoreReply, Message)> {
        match rx.recv_async().await {
            Ok(Event::Reply(m)) => {
                let m = m?;
                match reply::<ScoreReply>(&m, "scoring worker's reply")? {
                    Reply::Answer(r) => Ok((r, m)),
                    _ => Err(Error::Worker("a scoring worker spoke out of turn".into())),
                }
            }
            Ok(Event::Cancel) => Err(Error::Cancelled),
            Err(_) => Err(Error::Worker("a scoring worker is gone".into())),
        }
    }

    /// Gives every worker the forest.
    pub async fn load(&mut self, forest: &FlatForest) -> Result<()> {
        let s = encode_forest(forest);
        let header = to_header(&Request::Score(ScoreRequest::Load { forest: s.header }));
        let buffers: Vec<&[u8]> = s.buffers.iter().map(Vec::as_slice).collect();
        for (h, _) in &self.workers {
            send_parts(&h.worker, &header, &buffers)?;
        }
        for (_, rx) in &self.workers {
            if !matches!(Self::answer(rx).await?, (ScoreReply::Loaded, _)) {
                return Err(Error::Worker("unexpected reply to loading a forest".into()));
            }
        }
        Ok(())
    }

    /// Scores the rows of `x` (f32, `nf` wide) on the first `workers` workers, each taking a
    /// contiguous share, all at once.
    pub async fn score(&mut self, x: &Uint8Array, nf: usize, workers: usize) -> Result<CpuRun> {
        let n = x.length() as usize / 4 / nf.max(1);
        let t0 = now_ms();
        let (outputs, compute_ms) = self.ask_all(x, 0..n, nf, workers, false).await?;
        Ok(CpuRun {
            outputs,
            wall_ms: now_ms() - t0,
            compute_ms,
        })
    }

    /// The TreeSHAP sums of the rows of `x` (f32, `nf` wide) on the first `workers` workers,
    /// in `steps` steps (each split among the workers, `on_step(rows done)` after each, so a
    /// long run shows its progress and stops between steps when cancelled). `compute_ms` sums
    /// each step's slowest worker.
    pub async fn explain(
        &mut self,
        x: &Uint8Array,
        nf: usize,
        workers: usize,
        steps: usize,
        on_step: impl Fn(usize),
    ) -> Result<CpuRun> {
        let n = x.length() as usize / 4 / nf.max(1);
        let t0 = now_ms();
        let (mut outputs, mut compute_ms) = (Vec::new(), 0.0);
        for r in split(n, steps) {
            let end = r.end;
            let (o, ms) = self.ask_all(x, r, nf, workers, true).await?;
            outputs.extend(o);
            compute_ms += ms;
            on_step(end);
        }
        Ok(CpuRun {
            outputs,
            wall_ms: now_ms() - t0,
            compute_ms,
        })
    }

    /// Rows `rows` of `x` scored (or explained) on the first `workers` workers, each taking a
    /// contiguous share, all at once: their outputs in order, and the slowest worker's time.
    /// Shared rows reach them with no copy (each worker copies its share itself); plain ones
    /// as a copy of each share, made here.
    async fn ask_all(
        &mut self,
        x: &Uint8Array,
        rows: Range<usize>,
        nf: usize,
        workers: usize,
        explain: bool,
    ) -> Result<(Vec<f32>, f64)> {
        self.next_id += 1;
        let id = self.next_id;
        let shares = split(rows.len(), workers.min(self.workers.len()));
        let shared = is_shared(x);
        for ((h, _), r) in self.workers.iter().zip(&shares) {
            let values = (rows.start + r.start) * nf..(rows.start + r.end) * nf;
            let (rows, values) = if shared {
                (x.clone(), values)
            } else {
                let part = x.slice(values.start as u32 * 4, values.end as u32 * 4);
                (part, 0..values.len())
            };
            let req = if explain {
                ScoreRequest::Explain { id, values }
            } else {
                ScoreRequest::Score { id, values }
            };
            send_js(&h.worker, &to_header(&Request::Score(req)), &[rows])?;
        }
        let (mut outputs, mut compute_ms) = (Vec::new(), 0.0f64);
        for (_, rx) in self.workers.iter().take(shares.len()) {
            let (got, ms, m) = match Self::answer(rx).await? {
                (ScoreReply::Scored { id, ms }, m) if !explain => (id, ms, m),
                (ScoreReply::Explained { id, ms }, m) if explain => (id, ms, m),
                _ => return Err(Error::Worker("unexpected reply to scoring".into())),
            };
            if got != id {
                return Err(Error::Worker("a reply to another scoring run".into()));
            }
            let b = m
                .buffers
                .first()
                .ok_or_else(|| Error::Worker("scores without outputs".into()))?;
            outputs.extend_from_slice(&bytemuck::pod_collect_to_vec::<u8, f32>(b));
            compute_ms = compute_ms.max(ms);
        }
        Ok((outputs, compute_ms))
    }
}

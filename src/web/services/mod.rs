//! The workers as the page sees them: started on first use, asked, and cancelled. The page's
//! flows (load, train, score) reach every worker through here, so none of them owns another's.

mod data_worker;
mod pool;

pub use data_worker::DataWorker;
pub use pool::{Canceller, CpuRun, DatasetParts, GrowTimes, Scorer, Training};

use crate::error::{Error, Result};
use crate::flat::FlatForest;
use std::cell::RefCell;
use std::rc::Rc;

/// The workers the page holds (not `Send`, so in a thread-local).
#[derive(Default)]
struct Workers {
    /// The worker that holds the loaded rows and the GPU.
    data: Option<Rc<DataWorker>>,
    /// The scoring workers, and the key (model generation) of the forest they hold.
    scorer: Option<Scorer>,
    scorer_has: Option<u64>,
    /// Stops the training in progress.
    training: Option<Canceller>,
    /// Counts scoring runs started or cancelled: a run that sees it change stops.
    scoring_run: u64,
    /// Stops the scoring workers' run in flight.
    scoring: Option<Canceller>,
}

thread_local! {
    static WORKERS: RefCell<Workers> = RefCell::new(Workers::default());
}

/// Runs `f` on the workers. Never hold it across an `.await`.
fn workers<R>(f: impl FnOnce(&mut Workers) -> R) -> R {
    WORKERS.with(|w| f(&mut w.borrow_mut()))
}

/// Workers to train or score on: one per core, up to 16.
pub fn worker_count() -> usize {
    let n = web_sys::window().map_or(2.0, |w| w.navigator().hardware_concurrency());
    (n as usize).clamp(1, 16)
}

/// The data worker, started on first use.
pub async fn data_worker() -> Result<Rc<DataWorker>> {
    if let Some(dw) = workers(|w| w.data.clone()) {
        return Ok(dw);
    }
    let dw = Rc::new(DataWorker::new().await?);
    // Two first uses at once: the one that finishes first stays.
    Ok(workers(|w| w.data.get_or_insert(dw).clone()))
}

/// A training starts on `workers` workers: until it ends, [`cancel_training`] stops it.
pub fn training(workers_n: usize) -> Training {
    let t = Training::new(workers_n);
    let c = t.canceller();
    workers(|w| w.training = Some(c));
    t
}

pub fn cancel_training() {
    if let Some(c) = workers(|w| w.training.take()) {
        c.cancel();
    }
}

/// A scoring run's ticket: the run stops with [`Error::Cancelled`] at its next step once the
/// user cancels, or new data or a new model replaces what it scores.
#[derive(Clone, Copy)]
pub struct Ticket(u64);

impl Ticket {
    pub fn new() -> Ticket {
        Ticket(workers(|w| {
            w.scoring_run += 1;
            w.scoring_run
        }))
    }

    pub fn check(self) -> Result<()> {
        if workers(|w| w.scoring_run) == self.0 {
            Ok(())
        } else {
            Err(Error::Cancelled)
        }
    }
}

/// Stops the scoring run in progress: the one in the scoring workers at once (they are
/// terminated), the GPU after its current run.
pub fn cancel_scoring() {
    let (scoring, data) = workers(|w| {
        w.scoring_run += 1;
        (w.scoring.take(), w.data.clone())
    });
    if let Some(c) = scoring {
        c.cancel();
    }
    if let Some(dw) = data {
        dw.cancel();
    }
}

/// Scoring workers there are, or will be once started.
pub fn scorer_len() -> usize {
    workers(|w| w.scorer.as_ref().map_or(worker_count(), Scorer::len))
}

/// Runs `job` on the scoring workers (started on first use, one per core) holding `forest`.
/// `key` names the model (its generation), so the forest crosses to the workers once per
/// model. Cancelling drops the workers, which may still be busy: new ones start next time.
async fn with_scorer<T>(
    key: u64,
    forest: &FlatForest,
    job: impl AsyncFnOnce(&mut Scorer) -> Result<T>,
) -> Result<T> {
    let (scorer, loaded) = workers(|w| (w.scorer.take(), w.scorer_has == Some(key)));
    let mut scorer = match scorer {
        Some(s) => s,
        None => Scorer::new(worker_count()).await?,
    };
    workers(|w| w.scoring = Some(scorer.canceller()));
    let r = async {
        if !loaded {
            scorer.load(forest).await?;
        }
        job(&mut scorer).await
    }
    .await;
    workers(|w| {
        w.scoring = None;
        if !matches!(r, Err(Error::Cancelled)) {
            w.scorer = Some(scorer);
        }
        w.scorer_has = r.is_ok().then_some(key);
    });
    r
}

/// Scores `x` on `workers` scoring workers, or all.
pub async fn cpu_score(
    key: u64,
    forest: &FlatForest,
    x: &js_sys::Uint8Array,
    workers_n: Option<usize>,
) -> Result<CpuRun> {
    let nf = forest.n_features.max(1) as usize;
    with_scorer(key, forest, async |s| {
        let n = workers_n.unwrap_or(s.len());
        s.score(x, nf, n).await
    })
    .await
}

/// The TreeSHAP sums of `x` on `workers` scoring workers, or all, in `steps` steps
/// (`on_step(rows done)` after each).
pub async fn cpu_explain(
    key: u64,
    forest: &FlatForest,
    x: &js_sys::Uint8Array,
    workers_n: Option<usize>,
    steps: usize,
    on_step: impl Fn(usize),
) -> Result<CpuRun> {
    let nf = forest.n_features.max(1) as usize;
    with_scorer(key, forest, async |s| {
        let n = workers_n.unwrap_or(s.len());
        s.explain(x, nf, n, steps, on_step).await
    })
    .await
}

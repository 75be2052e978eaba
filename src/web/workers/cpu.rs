//! The CPU workers' side: a training worker grows a shard of trees; a scoring worker keeps a
//! forest and scores (or explains) its share of the rows on its one thread.

use super::{f32s, post, whole_rows};
use crate::error::{Error, Result};
use crate::explain::Explainer;
use crate::flat::PlannedForest;
use crate::protocol::frame::{Message, decode_binned, decode_shard, encode_shard, to_header};
use crate::protocol::{Reply, ScoreReply, ScoreRequest, TrainReply, TrainRequest};
use crate::web::common::now_ms;
use crate::web::transport::JsMessage;
use std::cell::RefCell;

thread_local! {
    static FOREST: RefCell<Option<PlannedForest>> = const { RefCell::new(None) };
    /// The loaded forest's paths, made at its first explanation.
    static EXPLAINER: RefCell<Option<Explainer>> = const { RefCell::new(None) };
}

fn answer<T: serde::Serialize>(r: T, buffers: Vec<Vec<u8>>) -> Message {
    Message {
        header: to_header(&Reply::Answer(r)),
        buffers,
    }
}

pub fn train(req: TrainRequest, js: &JsMessage) -> Result<Message> {
    match req {
        TrainRequest::Grow {
            params,
            trees,
            data,
        } => {
            let (d, binned) = decode_binned(&js.to_message(data, 0..js.buffers.len())?)?;
            let trainer = crate::forest::Trainer::with_bins(&d, binned, None, &params)?;
            // Captures nothing, so it is `Sync`; the page counts these for its progress bar.
            let tick = || post(&Message::header_only(&Reply::Answer(TrainReply::Tree)));
            let s = crate::tree_shards::grow_with(&trainer, trees, &tick)?;
            let out = encode_shard(&s);
            Ok(answer(TrainReply::Grown { shard: out.header }, out.buffers))
        }
    }
}

pub fn score(req: ScoreRequest, js: &JsMessage) -> Result<Message> {
    match req {
        ScoreRequest::Load { forest } => {
            let s = decode_shard(&js.to_message(forest, 0..js.buffers.len())?)?;
            FOREST.with(|f| *f.borrow_mut() = Some(PlannedForest::new(s.forest)));
            EXPLAINER.with(|e| *e.borrow_mut() = None);
            Ok(answer(ScoreReply::Loaded, Vec::new()))
        }
        ScoreRequest::Score { id, values } => {
            // Only this worker's share of the rows is copied into wasm memory.
            let x = f32s(js, Some(values))?;
            FOREST.with(|f| {
                let f = f.borrow();
                let forest = f
                    .as_ref()
                    .ok_or_else(|| Error::Worker("no forest loaded".into()))?;
                let n = whole_rows(&x, forest.forest().n_features.max(1) as usize)?;
                let mut out = vec![0.0f32; n * forest.forest().n_outputs as usize];
                let t0 = now_ms();
                forest.predict_single_thread(&x, &mut out);
                let ms = now_ms() - t0;
                Ok(answer(
                    ScoreReply::Scored { id, ms },
                    vec![bytemuck::cast_slice(&out).to_vec()],
                ))
            })
        }
        ScoreRequest::Explain { id, values } => {
            let x = f32s(js, Some(values))?;
            EXPLAINER.with(|e| {
                let mut e = e.borrow_mut();
                if e.is_none() {
                    let made = FOREST.with(|f| match &*f.borrow() {
                        Some(f) => Explainer::new(f.forest()),
                        None => Err(Error::Worker("no forest loaded".into())),
                    })?;
                    *e = Some(made);
                }
                let e = e.as_ref().expect("made above");
                let n = whole_rows(&x, e.forest().n_features.max(1) as usize)?;
                e.check_rows(n)?;
                let t0 = now_ms();
                let sums = e.sums_single_thread(&x);
                let ms = now_ms() - t0;
                Ok(answer(
                    ScoreReply::Explained { id, ms },
                    vec![bytemuck::cast_slice(&sums).to_vec()],
                ))
            })
        }
    }
}

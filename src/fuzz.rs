//! What the fuzz targets (`fuzz/`) run on arbitrary bytes, kept here so that `cargo test`
//! replays the committed corpus through the same code (`tests/fuzz_corpus.rs`). Each function
//! must return, never panic: bad input is an `Err`, and what loads must also save and score
//! alike on every walk.

use crate::data::read_table;
use crate::data::{Dataset, Schema, Target};
use crate::flat::{FlatForest, PlannedForest};
use crate::forest::Params;
use crate::model::Model;
use crate::pipeline::{TrainOptions, prepare, train};
use crate::protocol::frame::{Message, decode_dataset, decode_shard, encode_shard, from_header};
use crate::protocol::{DataReply, Reply, Request};
use crate::tree_shards::{Shard, grow, merge};

/// A CSV file, as the CLI and the page read it; when it trains (a tiny forest on its last
/// column), the model must save and load back.
pub fn csv(bytes: &[u8]) {
    let Ok(table) = read_table(bytes) else {
        return;
    };
    let _ = table.summaries();
    let opts = TrainOptions {
        target: table.headers.last().cloned().unwrap_or_default(),
        task: None,
        params: Params {
            n_trees: 2,
            max_depth: Some(4),
            ..Params::default()
        },
        test_fraction: 0.25,
        stratify: true,
        columns: Default::default(),
    };
    let Ok(prep) = prepare(&table, &opts) else {
        return;
    };
    let Ok(model) = train(&prep, &opts.params, &|| {}) else {
        return;
    };
    let text = model.to_saved_json().expect("a trained model saves");
    assert!(
        Model::from_json(&text).unwrap() == model,
        "the model reloads unchanged"
    );
    scores_alike(&model.forest);
}

/// A model file: what loads must save again and score alike on every walk.
pub fn model_json(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(model) = Model::from_json(text) else {
        return;
    };
    model.to_saved_json().expect("a loaded model saves");
    scores_alike(&model.forest);
}

/// An ONNX file: what imports must save as JSON, load back the same, and score alike on
/// every walk.
pub fn onnx_model(bytes: &[u8]) {
    let Ok(model) = Model::from_onnx(bytes) else {
        return;
    };
    let text = model.to_saved_json().expect("an imported model saves");
    assert!(
        Model::from_json(&text).unwrap() == model,
        "the imported model reloads unchanged"
    );
    scores_alike(&model.forest);
}

/// A message from a worker: `[buffers: u8][header length: u16 LE][header]` then, for each
/// buffer, `[length: u32 LE][bytes]` (lengths clipped to what is left).
pub fn worker_message(bytes: &[u8]) {
    let mut rest = bytes;
    let mut take = |n: usize| {
        let (a, b) = rest.split_at(n.min(rest.len()));
        rest = b;
        a
    };
    let n_buffers = take(1).first().map_or(0, |b| b % 8);
    let len = take(2)
        .iter()
        .rev()
        .fold(0usize, |a, &b| a << 8 | usize::from(b));
    let header = String::from_utf8_lossy(take(len)).into_owned();
    let buffers = (0..n_buffers)
        .map(|_| {
            let len = take(4)
                .iter()
                .rev()
                .fold(0usize, |a, &b| a << 8 | usize::from(b));
            take(len).to_vec()
        })
        .collect();
    let m = Message { header, buffers };
    let _ = from_header::<Request>(&m.header, "request");
    let _ = from_header::<Reply<DataReply>>(&m.header, "reply");
    if let Ok(d) = decode_dataset(&m) {
        grows_and_merges(&d);
    }
    if let Ok(shard) = decode_shard(&m) {
        scores_alike(&shard.forest);
        merges_or_refuses(shard, bytes.first().copied().unwrap_or(0));
    }
}

/// Rows that decode grow a small forest in two shards (when training takes them), whose
/// messages decode and merge: what passes the decoder is safe to grow from and to merge.
fn grows_and_merges(d: &Dataset) {
    if d.n_rows.saturating_mul(d.n_features.max(1)) > 1 << 14 {
        return;
    }
    let params = Params {
        n_trees: 2,
        max_depth: Some(3),
        ..Params::default()
    };
    let Ok(shards) = [0..1, 1..2]
        .into_iter()
        .map(|r| grow(d, None, &params, r, &|| {}))
        .collect::<crate::Result<Vec<Shard>>>()
    else {
        return;
    };
    let shards = shards
        .iter()
        .map(|s| decode_shard(&encode_shard(s)).expect("a grown shard decodes"))
        .collect();
    merge(
        shards,
        Schema::numbered("y", d),
        params,
        d.n_features,
        &d.target,
    )
    .expect("shards of one dataset merge");
}

/// A shard from a message merges, or is refused, against a target of any length.
fn merges_or_refuses(shard: Shard, rows: u8) {
    let n_trees = shard.trees.end;
    let nf = shard.forest.n_features as usize;
    let target = Target::Classes(vec![0; usize::from(rows)]);
    // A schema of the shard's features and classes; the rows themselves are not needed.
    let like = Dataset {
        n_rows: 0,
        n_features: nf,
        x: Vec::new(),
        target: Target::Classes(Vec::new()),
        n_classes: shard.forest.n_outputs as usize,
        groups: None,
    };
    let schema = Schema::numbered("y", &like);
    let params = Params {
        n_trees,
        ..Params::default()
    };
    let _ = merge(vec![shard], schema, params, nf, &target);
}

/// The planned walk (unchecked loads, sound only if validation holds) gives the checked
/// reference walk's bits on a few rows: zeros, missing values, extremes.
fn scores_alike(f: &FlatForest) {
    let nf = f.n_features as usize;
    if nf == 0 || nf > 4096 {
        return;
    }
    let x: Vec<f32> = [
        0.0,
        f32::NAN,
        -1e30,
        1e30,
        0.5,
        -0.5,
        f32::MIN_POSITIVE,
        -0.0,
    ]
    .iter()
    .flat_map(|&v| std::iter::repeat_n(v, nf))
    .collect();
    let n = x.len() / nf * f.n_outputs as usize;
    let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
    f.predict_reference(&x, &mut a);
    PlannedForest::new(f.clone()).predict_single_thread(&x, &mut b);
    assert!(
        a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()),
        "the planned walk differs from the reference walk"
    );
}

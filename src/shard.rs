//! Training split over workers: each grows a range of the forest's trees (a shard) from the
//! same encoded rows, and the shards merge, in tree order, into the forest that training on one
//! machine gives. Messages between the page and its workers are a JSON header plus raw
//! little-endian buffers, so a million rows cross as one copy instead of a JSON parse.

use crate::data::{Dataset, Schema, Target, Task};
use crate::error::{Error, Result};
use crate::flat::FlatForest;
use crate::forest::{Model, OobVotes, Params, Trainer, importances, oob_finish};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// A message: a JSON header and its binary buffers.
pub struct Message {
    pub header: String,
    pub buffers: Vec<Vec<u8>>,
}

fn bytes<T: bytemuck::Pod>(v: &[T]) -> Vec<u8> {
    bytemuck::cast_slice(v).to_vec()
}

fn pods<T: bytemuck::Pod>(b: Option<&Vec<u8>>, what: &str) -> Result<Vec<T>> {
    let b = b.ok_or_else(|| Error::Worker(format!("message lacks its {what}")))?;
    if b.len() % size_of::<T>() != 0 {
        return Err(Error::Worker(format!(
            "{what}: {} bytes is not whole values",
            b.len()
        )));
    }
    // Copies, since the buffer's alignment is not known.
    Ok(bytemuck::pod_collect_to_vec(b))
}

fn header<T: for<'a> Deserialize<'a>>(m: &Message) -> Result<T> {
    serde_json::from_str(&m.header).map_err(|e| Error::Worker(format!("bad message: {e}")))
}

#[derive(Serialize, Deserialize)]
struct DatasetHeader {
    n_rows: usize,
    n_features: usize,
    n_classes: usize,
    task: Task,
}

/// Rows and target as a message.
pub fn dataset_message(d: &Dataset) -> Message {
    let task = match d.target {
        Target::Classes(_) => Task::Classification,
        Target::Values(_) => Task::Regression,
    };
    let h = DatasetHeader {
        n_rows: d.n_rows,
        n_features: d.n_features,
        n_classes: d.n_classes,
        task,
    };
    let target = match &d.target {
        Target::Classes(c) => bytes(c),
        Target::Values(v) => bytes(v),
    };
    Message {
        header: serde_json::to_string(&h).expect("plain header"),
        buffers: vec![bytes(&d.x), target],
    }
}

pub fn dataset_from(m: &Message) -> Result<Dataset> {
    let h: DatasetHeader = header(m)?;
    let x: Vec<f32> = pods(m.buffers.first(), "rows")?;
    let (n_features, target) = target_from(&m.header, m.buffers.get(1))?;
    if Some(x.len()) != h.n_rows.checked_mul(n_features) {
        return Err(Error::Worker("rows and header disagree".into()));
    }
    Ok(Dataset {
        n_rows: h.n_rows,
        n_features: h.n_features,
        x,
        target,
        n_classes: h.n_classes,
    })
}

/// The feature count and the target of a dataset message (its header and its second buffer),
/// without its rows: what [`merge`] needs of the training rows.
pub fn target_from(header_json: &str, target: Option<&Vec<u8>>) -> Result<(usize, Target)> {
    let h: DatasetHeader = serde_json::from_str(header_json)
        .map_err(|e| Error::Worker(format!("unreadable dataset header: {e}")))?;
    let target = match h.task {
        Task::Classification => Target::Classes(pods(target, "target")?),
        Task::Regression => Target::Values(pods(target, "target")?),
    };
    if target.len() != h.n_rows {
        return Err(Error::Worker("rows and header disagree".into()));
    }
    Ok((h.n_features, target))
}

/// The trees `trees` of a forest, flattened, with what merging needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Shard {
    pub trees: Range<usize>,
    pub forest: FlatForest,
    /// Raw importances, per tree.
    pub importances: Vec<Vec<f64>>,
    pub oob: Option<OobVotes>,
}

/// Grows trees `trees` of the forest that `params` describes, calling `on_tree` after each.
pub fn grow(
    data: &Dataset,
    params: &Params,
    trees: Range<usize>,
    on_tree: &(dyn Fn() + Sync),
) -> Result<Shard> {
    let trainer = Trainer::new(data, params)?;
    let grown = trainer.grow_trees(trees.clone(), on_tree);
    let n_outputs = match trainer.task {
        Task::Classification => data.n_classes,
        Task::Regression => 1,
    };
    Ok(Shard {
        forest: FlatForest::from_trees(&grown, data.n_features, n_outputs),
        importances: grown.iter().map(|t| t.importances.clone()).collect(),
        oob: trainer.oob_votes(&grown, trees.start),
        trees,
    })
}

#[derive(Serialize, Deserialize)]
struct ShardHeader {
    trees: Range<usize>,
    n_features: u32,
    n_outputs: u32,
    wide: bool,
    /// Absent for a forest grown here ([`crate::flat::Head::own`]); an imported forest's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    head: Option<crate::flat::Head>,
    importances: Vec<Vec<f64>>,
    oob_outputs: Option<usize>,
}

/// A whole forest as a shard message with no training figures: how a scoring worker or the GPU
/// gets the model's forest (no copy of the forest besides the message's).
pub fn forest_message(forest: &FlatForest) -> Message {
    message(0..forest.n_trees(), forest, &[], None)
}

fn message(
    trees: Range<usize>,
    forest: &FlatForest,
    importances: &[Vec<f64>],
    oob: Option<&OobVotes>,
) -> Message {
    let h = ShardHeader {
        trees,
        n_features: forest.n_features,
        n_outputs: forest.n_outputs,
        wide: forest.wide,
        head: (forest.head != crate::flat::Head::own(forest.n_outputs))
            .then(|| forest.head.clone()),
        importances: importances.to_vec(),
        oob_outputs: oob.map(|o| o.n_outputs),
    };
    let mut buffers = vec![
        bytes(&forest.roots),
        bytes(&forest.nodes),
        bytes(&forest.leaf_values),
    ];
    if let Some(o) = oob {
        buffers.push(bytes(&o.sums));
        buffers.push(bytes(&o.counts));
    }
    Message {
        header: serde_json::to_string(&h).expect("plain header"),
        buffers,
    }
}

impl Shard {
    pub fn to_message(&self) -> Message {
        message(
            self.trees.clone(),
            &self.forest,
            &self.importances,
            self.oob.as_ref(),
        )
    }

    pub fn from_message(m: &Message) -> Result<Shard> {
        let h: ShardHeader = header(m)?;
        let forest = FlatForest {
            n_features: h.n_features,
            n_outputs: h.n_outputs,
            roots: pods(m.buffers.first(), "roots")?,
            nodes: pods(m.buffers.get(1), "nodes")?,
            wide: h.wide,
            leaf_values: pods(m.buffers.get(2), "leaf values")?,
            head: h
                .head
                .unwrap_or_else(|| crate::flat::Head::own(h.n_outputs)),
        };
        forest.validate().map_err(Error::Worker)?;
        let oob = match h.oob_outputs {
            Some(n_outputs) => Some(OobVotes {
                n_outputs,
                sums: pods(m.buffers.get(3), "OOB sums")?,
                counts: pods(m.buffers.get(4), "OOB counts")?,
            }),
            None => None,
        };
        Ok(Shard {
            trees: h.trees,
            forest,
            importances: h.importances,
            oob,
        })
    }
}

/// Merges shards that together cover trees `0..n` into the model (any order in, tree order
/// out). `train` is the rows they were grown on (for the OOB score).
pub fn merge(
    mut shards: Vec<Shard>,
    schema: Schema,
    params: Params,
    n_features: usize,
    target: &Target,
) -> Result<Model> {
    shards.sort_by_key(|s| s.trees.start);
    let mut next = 0;
    for s in &shards {
        if s.trees.start != next {
            return Err(Error::Worker(format!(
                "trees {next}..{} are missing",
                s.trees.start
            )));
        }
        next = s.trees.end;
    }
    if next != params.n_trees {
        return Err(Error::Worker(format!(
            "{next} of {} trees grown",
            params.n_trees
        )));
    }
    let parts: Vec<FlatForest> = shards.iter().map(|s| s.forest.clone()).collect();
    let forest = FlatForest::concat(&parts);
    let per_tree: Vec<&[f64]> = shards
        .iter()
        .flat_map(|s| s.importances.iter().map(|v| v.as_slice()))
        .collect();
    let importances = importances(&per_tree, n_features);
    let mut votes: Option<OobVotes> = None;
    for s in &shards {
        match (&mut votes, &s.oob) {
            (Some(v), Some(o)) => v.add(o),
            (None, Some(o)) => votes = Some(o.clone()),
            _ => {}
        }
    }
    let oob = votes.and_then(|v| oob_finish(&v, target));
    Ok(Model::from_parts(
        schema,
        params,
        forest,
        importances,
        oob,
        target.len(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synth;

    fn roundtrip(s: &Shard) -> Shard {
        Shard::from_message(&s.to_message()).unwrap()
    }

    #[test]
    fn dataset_survives_its_message() {
        let mut d = synth::regression(50, 4, 2, 0.1, 1);
        d.x[3] = f32::NAN;
        let back = dataset_from(&dataset_message(&d)).unwrap();
        assert_eq!(back.target, d.target);
        assert_eq!(
            bytemuck::cast_slice::<f32, u32>(&back.x),
            bytemuck::cast_slice::<f32, u32>(&d.x)
        );
    }

    #[test]
    fn a_forest_message_gives_back_the_forest_and_its_predictions() {
        let d = synth::classification(200, 6, 3, 3, 4);
        let params = Params {
            n_trees: 5,
            seed: 2,
            ..Params::default()
        };
        let s = grow(&d, &params, 0..5, &|| {}).unwrap();
        let back = Shard::from_message(&forest_message(&s.forest)).unwrap();
        assert_eq!(back.trees, 0..5);
        assert!(back.importances.is_empty() && back.oob.is_none());
        let (a, b) = (s.forest.predict(&d.x), back.forest.predict(&d.x));
        assert_eq!(
            bytemuck::cast_slice::<f32, u32>(&a),
            bytemuck::cast_slice::<f32, u32>(&b)
        );
    }

    #[test]
    fn shards_merge_into_the_single_machine_model() {
        for d in [
            synth::classification(400, 8, 5, 3, 2),
            synth::regression(400, 8, 5, 0.1, 2),
        ] {
            let params = Params {
                n_trees: 9,
                max_depth: Some(6),
                ..Params::default()
            };
            let schema = Schema {
                target: "y".into(),
                task: if matches!(d.target, Target::Classes(_)) {
                    Task::Classification
                } else {
                    Task::Regression
                },
                features: (0..8)
                    .map(|i| crate::data::FeatureSpec {
                        name: format!("f{i}"),
                        kind: crate::data::FeatureKind::Numeric,
                    })
                    .collect(),
                classes: (0..d.n_classes).map(|c| c.to_string()).collect(),
            };
            let trainer = Trainer::new(&d, &params).unwrap();
            let forest = trainer.train(&|| {});
            let whole = Model::new(
                schema.clone(),
                params.clone(),
                &forest,
                trainer.oob_score(&forest),
                d.n_rows,
            );
            // Out of order, as workers finish.
            let shards: Vec<Shard> = [5..9, 0..2, 2..5]
                .into_iter()
                .map(|r| roundtrip(&grow(&d, &params, r, &|| {}).unwrap()))
                .collect();
            let merged = merge(shards, schema, params, d.n_features, &d.target).unwrap();
            assert_eq!(merged.forest, whole.forest);
            assert_eq!(merged.oob_score, whole.oob_score);
            for (a, b) in merged.importances.iter().zip(&whole.importances) {
                assert!((a - b).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn a_missing_shard_is_an_error() {
        let d = synth::classification(100, 4, 2, 2, 1);
        let params = Params {
            n_trees: 4,
            ..Params::default()
        };
        let s = grow(&d, &params, 0..2, &|| {}).unwrap();
        let schema = Schema {
            target: "y".into(),
            task: Task::Classification,
            features: vec![],
            classes: vec!["0".into(), "1".into()],
        };
        assert!(matches!(
            merge(vec![s], schema, params, d.n_features, &d.target),
            Err(Error::Worker(_))
        ));
    }

    #[test]
    fn truncated_messages_are_errors() {
        let d = synth::classification(100, 4, 2, 2, 1);
        let params = Params {
            n_trees: 2,
            ..Params::default()
        };
        let mut m = grow(&d, &params, 0..2, &|| {}).unwrap().to_message();
        m.buffers[1].pop();
        assert!(Shard::from_message(&m).is_err());
        m.buffers.truncate(1);
        assert!(Shard::from_message(&m).is_err());
    }

    #[test]
    fn a_dataset_header_whose_size_overflows_is_an_error() {
        let m = Message {
            header: format!(
                r#"{{"n_rows":{},"n_features":2,"n_classes":2,"task":"classification"}}"#,
                usize::MAX / 2 + 1
            ),
            buffers: vec![Vec::new(), Vec::new()],
        };
        let e = dataset_from(&m).unwrap_err().to_string();
        assert!(e.contains("rows and header disagree"), "{e}");
    }
}

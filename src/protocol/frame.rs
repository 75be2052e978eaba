//! Framing: a message is a JSON header plus raw little-endian buffers, so a million rows cross
//! as one copy instead of a JSON parse. Every decoder checks each length against the others
//! (and the labels against the classes) and names what did not match, so nothing past this
//! point indexes with a length that came from another thread.

use crate::data::dataset::{MAX_CLASSES, MAX_REGRESSION_TARGET};
use crate::data::{Dataset, Target, Task};
use crate::error::{Error, Result};
use crate::flat::{FlatForest, Head};
use crate::forest::OobVotes;
use crate::tree_shards::Shard;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// A message: a JSON header and its binary buffers.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub header: String,
    pub buffers: Vec<Vec<u8>>,
}

impl Message {
    /// A message with a header only.
    pub fn header_only(header: &impl Serialize) -> Message {
        Message {
            header: to_header(header),
            buffers: Vec::new(),
        }
    }
}

/// A header as JSON. Headers are plain data (no maps with non-string keys), so this holds.
pub fn to_header(h: &impl Serialize) -> String {
    serde_json::to_string(h).expect("plain header")
}

/// A header read back, or an error naming `what` it should have been.
pub fn from_header<T: for<'a> Deserialize<'a>>(json: &str, what: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::Worker(format!("unreadable {what}: {e}")))
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

fn disagree(what: String) -> Error {
    Error::Worker(format!("a message whose {what}"))
}

#[derive(Serialize, Deserialize)]
struct DatasetHeader {
    n_rows: usize,
    n_features: usize,
    n_classes: usize,
    task: Task,
    /// Buffer 2 holds each row's group (u32).
    #[serde(default)]
    groups: bool,
}

/// Buffers of a dataset message ([`encode_dataset`]) without groups; with them, one more.
pub const DATASET_BUFFERS: usize = 2;

/// Rows and target as a message: buffer 0 the rows (f32, row-major), buffer 1 the target.
pub fn encode_dataset(d: &Dataset) -> Message {
    let task = d.target.task();
    let h = DatasetHeader {
        n_rows: d.n_rows,
        n_features: d.n_features,
        n_classes: d.n_classes,
        task,
        groups: d.groups.is_some(),
    };
    let target = match &d.target {
        Target::Classes(c) => bytes(c),
        Target::Values(v) => bytes(v),
    };
    let mut buffers = vec![bytes(&d.x), target];
    buffers.extend(d.groups.as_ref().map(|g| bytes(g)));
    Message {
        header: to_header(&h),
        buffers,
    }
}

pub fn decode_dataset(m: &Message) -> Result<Dataset> {
    let (h, target) = dataset_target(&m.header, m.buffers.get(1))?;
    let x: Vec<f32> = pods(m.buffers.first(), "rows")?;
    if Some(x.len()) != h.n_rows.checked_mul(h.n_features) {
        return Err(disagree(format!(
            "{} row values are not {} rows of {} features",
            x.len(),
            h.n_rows,
            h.n_features
        )));
    }
    // NaN is a missing value; an infinity never leaves encoding (it is clamped there), so one
    // here is a message gone wrong.
    if let Some(i) = x.iter().position(|v| v.is_infinite()) {
        return Err(disagree(format!(
            "row {} has an infinite value in feature {}",
            i / h.n_features.max(1),
            i % h.n_features.max(1)
        )));
    }
    let groups = match h.groups {
        false => None,
        true => {
            let g: Vec<u32> = pods(m.buffers.get(2), "groups")?;
            // One group a row at most: a trainer's counts are sized by the largest.
            if g.len() != h.n_rows || g.iter().any(|&v| v as usize >= h.n_rows) {
                return Err(disagree(format!(
                    "{} group numbers are not one per row of {} below {}",
                    g.len(),
                    h.n_rows,
                    h.n_rows
                )));
            }
            Some(g)
        }
    };
    Ok(Dataset {
        n_rows: h.n_rows,
        n_features: h.n_features,
        x,
        target,
        n_classes: h.n_classes,
        groups,
    })
}

/// The feature count and the target of a dataset message (its header and its second buffer),
/// without its rows: what [`crate::tree_shards::merge`] needs of the training rows.
pub fn decode_target(header_json: &str, target: Option<&Vec<u8>>) -> Result<(usize, Target)> {
    let (h, target) = dataset_target(header_json, target)?;
    Ok((h.n_features, target))
}

fn dataset_target(header_json: &str, target: Option<&Vec<u8>>) -> Result<(DatasetHeader, Target)> {
    let h: DatasetHeader = from_header(header_json, "dataset header")?;
    let target = match h.task {
        Task::Classification => {
            if !(1..=MAX_CLASSES).contains(&h.n_classes) {
                return Err(disagree(format!(
                    "class count {} is not 1 to {MAX_CLASSES}",
                    h.n_classes
                )));
            }
            let labels: Vec<u32> = pods(target, "target")?;
            if let Some((row, &l)) = labels
                .iter()
                .enumerate()
                .find(|&(_, &l)| l as usize >= h.n_classes)
            {
                return Err(disagree(format!(
                    "label {l} (row {row}) is not below its {} classes",
                    h.n_classes
                )));
            }
            Target::Classes(labels)
        }
        Task::Regression => {
            let y: Vec<f64> = pods(target, "target")?;
            // The bound a CSV's targets get (their leaf means must fit an f32).
            if let Some(row) = y.iter().position(|v| !(v.abs() <= MAX_REGRESSION_TARGET)) {
                return Err(disagree(format!(
                    "target value of row {row} is not a number within ±{MAX_REGRESSION_TARGET:e}"
                )));
            }
            Target::Values(y)
        }
    };
    if target.len() != h.n_rows {
        return Err(disagree(format!(
            "target has {} values for {} rows",
            target.len(),
            h.n_rows
        )));
    }
    Ok((h, target))
}

#[derive(Serialize, Deserialize)]
struct ShardHeader {
    trees: Range<usize>,
    n_features: u32,
    n_outputs: u32,
    wide: bool,
    /// Absent for a forest grown here ([`Head::own`]); an imported forest's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    head: Option<Head>,
    importances: Vec<Vec<f64>>,
    oob_outputs: Option<usize>,
}

/// A whole forest as a shard message with no training figures: how a scoring worker or the GPU
/// gets the model's forest (no copy of the forest besides the message's).
pub fn encode_forest(forest: &FlatForest) -> Message {
    message(0..forest.n_trees(), forest, &[], None)
}

/// A shard, with its training figures.
pub fn encode_shard(s: &Shard) -> Message {
    message(s.trees.clone(), &s.forest, &s.importances, s.oob.as_ref())
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
        head: (forest.head != Head::own(forest.n_outputs)).then(|| forest.head.clone()),
        importances: importances.to_vec(),
        oob_outputs: oob.map(|o| o.n_outputs),
    };
    let mut buffers = vec![
        bytes(&forest.roots),
        bytes(&forest.nodes),
        bytes(&forest.leaf_values),
        bytes(&forest.covers),
    ];
    if let Some(o) = oob {
        buffers.push(bytes(&o.sums));
        buffers.push(bytes(&o.counts));
    }
    Message {
        header: to_header(&h),
        buffers,
    }
}

/// A shard (or a whole forest, from [`encode_forest`]): the forest validated as the walks need
/// it, and its trees, importances and out-of-bag votes checked against each other.
pub fn decode_shard(m: &Message) -> Result<Shard> {
    let h: ShardHeader = from_header(&m.header, "shard header")?;
    let forest = FlatForest {
        n_features: h.n_features,
        n_outputs: h.n_outputs,
        roots: pods(m.buffers.first(), "roots")?,
        nodes: pods(m.buffers.get(1), "nodes")?,
        wide: h.wide,
        leaf_values: pods(m.buffers.get(2), "leaf values")?,
        head: h.head.unwrap_or_else(|| Head::own(h.n_outputs)),
        covers: pods(m.buffers.get(3), "covers")?,
    };
    forest.validate().map_err(Error::Worker)?;
    let trees = h.trees;
    if trees.end.checked_sub(trees.start) != Some(forest.n_trees()) {
        return Err(disagree(format!(
            "trees {}..{} are not its {} trees",
            trees.start,
            trees.end,
            forest.n_trees()
        )));
    }
    if !h.importances.is_empty() && h.importances.len() != forest.n_trees() {
        return Err(disagree(format!(
            "importances are of {} trees, not its {}",
            h.importances.len(),
            forest.n_trees()
        )));
    }
    if let Some(t) = h
        .importances
        .iter()
        .position(|v| v.len() != forest.n_features as usize)
    {
        return Err(disagree(format!(
            "importances of tree {} are not of its {} features",
            trees.start + t,
            forest.n_features
        )));
    }
    let oob = match h.oob_outputs {
        Some(n_outputs) => {
            let votes = OobVotes {
                n_outputs,
                sums: pods(m.buffers.get(4), "OOB sums")?,
                counts: pods(m.buffers.get(5), "OOB counts")?,
            };
            if n_outputs != forest.n_outputs as usize {
                return Err(disagree(format!(
                    "OOB votes are of {n_outputs} outputs, its forest's of {}",
                    forest.n_outputs
                )));
            }
            votes.check().map_err(disagree)?;
            if let Some(r) = votes
                .counts
                .iter()
                .position(|&c| c as usize > forest.n_trees())
            {
                return Err(disagree(format!(
                    "OOB row {r} has {} votes from {} trees",
                    votes.counts[r],
                    forest.n_trees()
                )));
            }
            Some(votes)
        }
        None => None,
    };
    Ok(Shard {
        trees,
        forest,
        importances: h.importances,
        oob,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synth;
    use crate::forest::Params;
    use crate::tree_shards::grow;

    fn shard(trees: Range<usize>) -> (Dataset, Shard) {
        let d = synth::classification(120, 5, 3, 3, 4);
        let params = Params {
            n_trees: 6,
            max_depth: Some(5),
            ..Params::default()
        };
        let s = grow(&d, None, &params, trees, &|| {}).unwrap();
        (d, s)
    }

    fn refusal(m: &Message) -> String {
        decode_shard(m).unwrap_err().to_string()
    }

    #[test]
    fn a_dataset_survives_its_message() {
        let mut d = synth::regression(50, 4, 2, 0.1, 1);
        d.x[3] = f32::NAN;
        let m = encode_dataset(&d);
        assert_eq!(m.buffers.len(), DATASET_BUFFERS);
        let back = decode_dataset(&m).unwrap();
        assert_eq!(back.target, d.target);
        assert_eq!((back.n_rows, back.n_features), (50, 4));
        assert_eq!(
            bytemuck::cast_slice::<f32, u32>(&back.x),
            bytemuck::cast_slice::<f32, u32>(&d.x)
        );
        let c = synth::classification(40, 3, 2, 3, 1);
        assert_eq!(
            decode_dataset(&encode_dataset(&c)).unwrap().target,
            c.target
        );
        // Groups (a patient a row) travel in a third buffer; one past the rows is refused.
        let mut g = c.clone();
        g.groups = Some((0..40).map(|r| r / 3).collect());
        let mut m = encode_dataset(&g);
        assert_eq!(m.buffers.len(), DATASET_BUFFERS + 1);
        assert_eq!(decode_dataset(&m).unwrap().groups, g.groups);
        m.buffers[2][0..4].copy_from_slice(&40u32.to_le_bytes());
        let e = decode_dataset(&m).unwrap_err().to_string();
        assert!(e.contains("group numbers"), "{e}");
        m.buffers.pop();
        assert!(
            decode_dataset(&m)
                .unwrap_err()
                .to_string()
                .contains("groups")
        );
    }

    #[test]
    fn a_shard_survives_its_message() {
        let (_, s) = shard(2..5);
        assert!(s.oob.is_some() && s.importances.len() == 3);
        assert_eq!(decode_shard(&encode_shard(&s)).unwrap(), s);
    }

    #[test]
    fn a_forest_message_gives_back_the_forest_and_its_predictions() {
        let (d, s) = shard(0..6);
        let back = decode_shard(&encode_forest(&s.forest)).unwrap();
        assert_eq!(back.trees, 0..6);
        assert!(back.importances.is_empty() && back.oob.is_none());
        let (a, b) = (s.forest.predict(&d.x), back.forest.predict(&d.x));
        assert_eq!(
            bytemuck::cast_slice::<f32, u32>(&a),
            bytemuck::cast_slice::<f32, u32>(&b)
        );
    }

    #[test]
    fn labels_at_or_above_the_class_count_are_refused() {
        let mut d = synth::classification(40, 3, 2, 3, 1);
        if let Target::Classes(l) = &mut d.target {
            l[7] = 3;
        }
        let e = decode_dataset(&encode_dataset(&d)).unwrap_err().to_string();
        assert!(
            e.contains("label 3 (row 7) is not below its 3 classes"),
            "{e}"
        );
        d.n_classes = MAX_CLASSES + 1;
        let e = decode_dataset(&encode_dataset(&d)).unwrap_err().to_string();
        assert!(e.contains("class count 257"), "{e}");
    }

    #[test]
    fn a_target_of_another_length_than_the_rows_is_refused() {
        let mut d = synth::regression(30, 2, 2, 0.1, 1);
        if let Target::Values(v) = &mut d.target {
            v.pop();
        }
        let m = encode_dataset(&d);
        let e = decode_dataset(&m).unwrap_err().to_string();
        assert!(e.contains("target has 29 values for 30 rows"), "{e}");
        assert!(decode_target(&m.header, m.buffers.get(1)).is_err());
    }

    #[test]
    fn infinite_rows_and_targets_that_are_not_numbers_are_refused() {
        let mut d = synth::regression(30, 2, 2, 0.1, 1);
        d.x[5] = f32::NEG_INFINITY;
        let e = decode_dataset(&encode_dataset(&d)).unwrap_err().to_string();
        assert!(
            e.contains("row 2 has an infinite value in feature 1"),
            "{e}"
        );
        d.x[5] = f32::NAN;
        assert!(
            decode_dataset(&encode_dataset(&d)).is_ok(),
            "NaN is a missing value"
        );
        if let Target::Values(v) = &mut d.target {
            v[11] = f64::NAN;
        }
        let e = decode_dataset(&encode_dataset(&d)).unwrap_err().to_string();
        assert!(e.contains("target value of row 11 is not a number"), "{e}");
        // Finite, but past what a CSV may hold: its leaf means would not fit an f32.
        if let Target::Values(v) = &mut d.target {
            v[11] = 1e300;
        }
        let e = decode_dataset(&encode_dataset(&d)).unwrap_err().to_string();
        assert!(
            e.contains("target value of row 11 is not a number within ±1e30"),
            "{e}"
        );
    }

    #[test]
    fn rows_that_are_not_the_header_s_shape_are_refused() {
        let d = synth::regression(30, 2, 2, 0.1, 1);
        let mut m = encode_dataset(&d);
        m.buffers[0].truncate(4 * 59);
        let e = decode_dataset(&m).unwrap_err().to_string();
        assert!(
            e.contains("59 row values are not 30 rows of 2 features"),
            "{e}"
        );
        // A size that overflows is the same refusal, not an allocation.
        m.header = format!(
            r#"{{"n_rows":{},"n_features":2,"n_classes":0,"task":"regression"}}"#,
            usize::MAX / 2 + 1
        );
        assert!(decode_dataset(&m).is_err());
    }

    #[test]
    fn a_tree_range_that_is_not_the_forest_s_trees_is_refused() {
        let (_, s) = shard(0..3);
        let mut bad = s.clone();
        bad.trees = 0..4;
        assert!(refusal(&encode_shard(&bad)).contains("trees 0..4 are not its 3 trees"));
        bad.trees = 3..0;
        assert!(refusal(&encode_shard(&bad)).contains("are not its 3 trees"));
    }

    #[test]
    fn importances_of_other_trees_or_features_are_refused() {
        let (_, s) = shard(0..3);
        let mut bad = s.clone();
        bad.importances.pop();
        assert!(refusal(&encode_shard(&bad)).contains("importances are of 2 trees, not its 3"));
        let mut bad = s.clone();
        bad.importances[1].push(0.0);
        assert!(refusal(&encode_shard(&bad)).contains("importances of tree 1 are not of its 5"));
    }

    #[test]
    fn oob_votes_whose_sums_counts_or_outputs_disagree_are_refused() {
        let (_, s) = shard(0..3);
        let mut bad = s.clone();
        bad.oob.as_mut().unwrap().sums.pop();
        let e = refusal(&encode_shard(&bad));
        assert!(e.contains("OOB sums"), "{e}");
        let mut bad = s.clone();
        bad.oob.as_mut().unwrap().n_outputs = 2;
        assert!(refusal(&encode_shard(&bad)).contains("OOB votes are of 2 outputs"));
        let mut bad = s.clone();
        bad.oob.as_mut().unwrap().counts[4] = 9;
        assert!(refusal(&encode_shard(&bad)).contains("OOB row 4 has 9 votes from 3 trees"));
    }

    #[test]
    fn truncated_messages_are_errors() {
        let (_, s) = shard(0..2);
        let mut m = encode_shard(&s);
        m.buffers[1].pop();
        assert!(decode_shard(&m).is_err());
        m.buffers.truncate(1);
        assert!(decode_shard(&m).is_err());
    }
}

//! Framing: a message is a JSON header plus raw little-endian buffers, so a million rows cross
//! as one copy instead of a JSON parse. Every decoder checks each length against the others
//! (and the labels against the classes) and names what did not match, so nothing past this
//! point indexes with a length that came from another thread.

use crate::data::dataset::{MAX_CLASSES, MAX_REGRESSION_TARGET};
use crate::data::{Dataset, Target, Task};
use crate::error::{Error, Result};
use crate::flat::{FlatForest, Head};
use crate::forest::OobVotes;
use crate::forest::binning::{Binned, Bins, MAX_BINS};
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
    /// A buffer holds each row's group (u32): buffer 2, or 3 in a binned message.
    #[serde(default)]
    groups: bool,
}

impl DatasetHeader {
    fn of(d: &Dataset) -> DatasetHeader {
        DatasetHeader {
            n_rows: d.n_rows,
            n_features: d.n_features,
            n_classes: d.n_classes,
            task: d.target.task(),
            groups: d.groups.is_some(),
        }
    }
}

/// Buffers of a dataset message ([`encode_dataset`]) without groups; with them, one more.
pub const DATASET_BUFFERS: usize = 2;

/// Rows and target as a message: buffer 0 the rows (f32, row-major), buffer 1 the target.
pub fn encode_dataset(d: &Dataset) -> Message {
    let h = DatasetHeader::of(d);
    let mut buffers = vec![bytes(&d.x), target_bytes(&d.target)];
    buffers.extend(d.groups.as_ref().map(|g| bytes(g)));
    Message {
        header: to_header(&h),
        buffers,
    }
}

fn target_bytes(t: &Target) -> Vec<u8> {
    match t {
        Target::Classes(c) => bytes(c),
        Target::Values(v) => bytes(v),
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
    let groups = groups_of(&h, m.buffers.get(2))?;
    Ok(Dataset {
        n_rows: h.n_rows,
        n_features: h.n_features,
        x,
        target,
        n_classes: h.n_classes,
        groups,
    })
}

/// The groups buffer of a dataset message whose header says it has one.
fn groups_of(h: &DatasetHeader, buffer: Option<&Vec<u8>>) -> Result<Option<Vec<u32>>> {
    if !h.groups {
        return Ok(None);
    }
    let g: Vec<u32> = pods(buffer, "groups")?;
    // One group a row at most: a trainer's counts are sized by the largest.
    if g.len() != h.n_rows || g.iter().any(|&v| v as usize >= h.n_rows) {
        return Err(disagree(format!(
            "{} group numbers are not one per row of {} below {}",
            g.len(),
            h.n_rows,
            h.n_rows
        )));
    }
    Ok(Some(g))
}

#[derive(Serialize, Deserialize)]
struct BinnedHeader {
    #[serde(flatten)]
    data: DatasetHeader,
    /// Each feature's number of bin edges (buffer 2 holds them, feature after feature).
    edges: Vec<u32>,
}

/// Training rows binned once, for every training worker (they grow from the bins and never
/// bin the rows themselves): buffer 0 the bin codes (u8, feature-major: a column a feature),
/// buffer 1 the target, buffer 2 the bin edges (f32), buffer 3 the groups when there are.
/// The header is a dataset header (its target is read as [`decode_target`] reads it) plus each
/// feature's edge count.
pub fn encode_binned(d: &Dataset, b: &Binned) -> Message {
    let h = BinnedHeader {
        data: DatasetHeader::of(d),
        edges: b.bins.edges.iter().map(|e| e.len() as u32).collect(),
    };
    let edges: Vec<f32> = b.bins.edges.concat();
    let mut buffers = vec![b.columns.concat(), target_bytes(&d.target), bytes(&edges)];
    buffers.extend(d.groups.as_ref().map(|g| bytes(g)));
    Message {
        header: to_header(&h),
        buffers,
    }
}

/// The rows' target and groups (a dataset without its rows: `x` is empty) and their bins, from
/// [`encode_binned`]'s message. Every code is checked against its feature's bins and every
/// feature's edges are increasing numbers, so growth never indexes past a histogram.
pub fn decode_binned(m: &Message) -> Result<(Dataset, Binned)> {
    let b: BinnedHeader = from_header(&m.header, "binned dataset header")?;
    let (h, target) = dataset_target(&m.header, m.buffers.get(1))?;
    let nf = h.n_features;
    if b.edges.len() != nf || b.edges.iter().any(|&e| e >= MAX_BINS as u32) {
        return Err(disagree(format!(
            "edge counts ({} of them) are not one per feature of {nf} below {MAX_BINS}",
            b.edges.len()
        )));
    }
    let flat: Vec<f32> = pods(m.buffers.get(2), "bin edges")?;
    if flat.len() as u64 != b.edges.iter().map(|&e| u64::from(e)).sum::<u64>() {
        return Err(disagree(format!(
            "{} bin edges are not the header's count",
            flat.len()
        )));
    }
    let mut edges = Vec::with_capacity(nf);
    let mut at = 0;
    for (f, &k) in b.edges.iter().enumerate() {
        let e = flat[at..at + k as usize].to_vec();
        at += k as usize;
        if e.iter().any(|v| !v.is_finite()) || e.windows(2).any(|w| w[0] >= w[1]) {
            return Err(disagree(format!(
                "bin edges of feature {f} are not increasing numbers"
            )));
        }
        edges.push(e);
    }
    let codes = m
        .buffers
        .first()
        .ok_or_else(|| Error::Worker("message lacks its bin codes".into()))?;
    if Some(codes.len()) != h.n_rows.checked_mul(nf) {
        return Err(disagree(format!(
            "{} bin codes are not {} rows of {nf} features",
            codes.len(),
            h.n_rows
        )));
    }
    let columns: Vec<Vec<u8>> = codes
        .chunks(h.n_rows.max(1))
        .take(nf)
        .map(<[u8]>::to_vec)
        .collect();
    for (f, (c, e)) in columns.iter().zip(&edges).enumerate() {
        // Value bins 0..=edges, then the missing code.
        let missing = e.len() + 1;
        if let Some(r) = c.iter().position(|&v| v as usize > missing) {
            return Err(disagree(format!(
                "bin code {} (row {r}, feature {f}) is past its {missing} bins",
                c[r]
            )));
        }
    }
    let groups = groups_of(&h, m.buffers.get(3))?;
    let n_bins = edges.iter().map(|e| e.len() + 1).collect();
    let data = Dataset {
        n_rows: h.n_rows,
        n_features: nf,
        x: Vec::new(),
        target,
        n_classes: h.n_classes,
        groups,
    };
    let binned = Binned {
        n_rows: h.n_rows,
        columns,
        n_bins,
        bins: Bins { edges },
    };
    Ok((data, binned))
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

    /// A binned dataset's message is checked before any trainer indexes with it.
    #[test]
    fn binned_rows_that_do_not_fit_their_bins_are_refused() {
        use crate::forest::binning::Binned;
        let d = synth::classification(40, 3, 2, 2, 1);
        let m = encode_binned(&d, &Binned::new(&d.x, 40, 3, 8));
        let (meta, b) = decode_binned(&m).unwrap();
        assert_eq!((meta.target, b.n_rows), (d.target.clone(), 40));
        let refused = |f: &dyn Fn(&mut Message)| {
            let mut m = m.clone();
            f(&mut m);
            decode_binned(&m).unwrap_err().to_string()
        };
        // A code past the missing code of feature 0 (7 edges: codes 0..=7, missing 8).
        let e = refused(&|m| m.buffers[0][5] = 9);
        assert!(
            e.contains("bin code 9 (row 5, feature 0) is past its 8 bins"),
            "{e}"
        );
        let e = refused(&|m| m.buffers[0].pop().map(|_| ()).unwrap());
        assert!(e.contains("bin codes are not 40 rows of 3 features"), "{e}");
        // Edges out of order, or not the header's count.
        let e = refused(&|m| m.buffers[2][0..4].copy_from_slice(&1e9f32.to_le_bytes()));
        assert!(
            e.contains("bin edges of feature 0 are not increasing"),
            "{e}"
        );
        let e = refused(&|m| m.buffers[2].truncate(4));
        assert!(e.contains("bin edges are not the header's count"), "{e}");
        let e = refused(&|m| m.header = m.header.replace("\"edges\":[7", "\"edges\":[300"));
        assert!(e.contains("edge counts"), "{e}");
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

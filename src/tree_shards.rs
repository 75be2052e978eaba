//! Training split over workers: each grows a range of the forest's trees (a shard) from the
//! same encoded rows, and the shards merge, in tree order, into the forest that training on one
//! machine gives. How a shard crosses between threads is [`crate::protocol::frame`]'s.

use crate::data::{Dataset, Schema, Target, Task};
use crate::error::{Error, Result};
use crate::flat::FlatForest;
use crate::forest::{OobVotes, Params, Trainer, importances, oob_finish};
use crate::model::Model;
use std::ops::Range;

/// The trees `trees` of a forest, flattened, with what merging needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Shard {
    pub trees: Range<usize>,
    pub forest: FlatForest,
    /// Raw importances, per tree.
    pub importances: Vec<Vec<f64>>,
    pub oob: Option<OobVotes>,
}

/// Grows trees `trees` of the forest that `params` describes, over rows weighing
/// `sample_weight` (see [`Trainer::weighted`]), calling `on_tree` after each.
pub fn grow(
    data: &Dataset,
    sample_weight: Option<&[f64]>,
    params: &Params,
    trees: Range<usize>,
    on_tree: &(dyn Fn() + Sync),
) -> Result<Shard> {
    grow_with(
        &Trainer::weighted(data, sample_weight, params)?,
        trees,
        on_tree,
    )
}

/// [`grow`] with a trainer made already (a page's training worker makes it from the bins the
/// data worker sent: [`Trainer::with_bins`]).
pub fn grow_with(
    trainer: &Trainer,
    trees: Range<usize>,
    on_tree: &(dyn Fn() + Sync),
) -> Result<Shard> {
    let n_trees = trainer.params().n_trees;
    if trees.start > trees.end || trees.end > n_trees {
        return Err(Error::Worker(format!(
            "trees {}..{} of a forest of {n_trees}",
            trees.start, trees.end
        )));
    }
    let data = trainer.data;
    let grown = trainer.grow_trees(trees.clone(), on_tree);
    let n_outputs = match trainer.task {
        Task::Classification => data.n_classes,
        Task::Regression => 1,
    };
    Ok(Shard {
        forest: crate::forest::flatten(&grown, data.n_features, n_outputs),
        importances: grown.iter().map(|t| t.importances.clone()).collect(),
        oob: trainer.oob_votes(&grown, trees.start),
        trees,
    })
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
    let n_outputs = shards.first().map_or(0, |s| s.forest.n_outputs as usize);
    let classes = match schema.task {
        Task::Classification => schema.classes.len(),
        Task::Regression => 1,
    };
    if schema.n_features() != n_features || (!shards.is_empty() && classes != n_outputs) {
        return Err(Error::Worker(format!(
            "a schema of {} features and {classes} outputs for trees of {n_features} features and {n_outputs} outputs",
            schema.n_features()
        )));
    }
    if let Some(s) = shards.iter().find(|s| {
        s.forest.n_features as usize != n_features
            || s.forest.n_outputs != shards[0].forest.n_outputs
            || s.forest.head != shards[0].forest.head
    }) {
        return Err(Error::Worker(format!(
            "trees {}..{} are of {} features and {} outputs; the rows have {n_features} features and trees {}..{} {} outputs",
            s.trees.start,
            s.trees.end,
            s.forest.n_features,
            s.forest.n_outputs,
            shards[0].trees.start,
            shards[0].trees.end,
            shards[0].forest.n_outputs
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
            (Some(v), Some(o)) => v.add(o)?,
            (None, Some(o)) => votes = Some(o.clone()),
            _ => {}
        }
    }
    let oob = votes.map(|v| oob_finish(&v, target)).transpose()?.flatten();
    let mut model = Model::from_parts(schema, params, forest, importances, oob, target.len());
    if let Target::Classes(labels) = target {
        model.class_counts = crate::forest::quality::class_counts(labels, n_outputs);
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synth;
    use crate::protocol::frame::{decode_shard, encode_shard};

    fn roundtrip(s: &Shard) -> Shard {
        decode_shard(&encode_shard(s)).unwrap()
    }

    fn schema(d: &Dataset) -> Schema {
        Schema::numbered("y", d)
    }

    fn params(n_trees: usize) -> Params {
        Params {
            n_trees,
            max_depth: Some(6),
            ..Params::default()
        }
    }

    #[test]
    fn shards_merge_into_the_single_machine_model() {
        for d in [
            synth::classification(400, 8, 5, 3, 2),
            synth::regression(400, 8, 5, 0.1, 2),
        ] {
            let params = params(9);
            let trainer = Trainer::new(&d, &params).unwrap();
            let forest = trainer.train(&|| {});
            let whole = Model::new(
                schema(&d),
                params.clone(),
                &forest,
                trainer.oob_score(&forest),
                d.n_rows,
            );
            // Out of order, as workers finish.
            let shards: Vec<Shard> = [5..9, 0..2, 2..5]
                .into_iter()
                .map(|r| roundtrip(&grow(&d, None, &params, r, &|| {}).unwrap()))
                .collect();
            let merged = merge(shards, schema(&d), params, d.n_features, &d.target).unwrap();
            assert_eq!(merged.forest, whole.forest);
            assert_eq!(merged.oob_score, whole.oob_score);
            for (a, b) in merged.importances.iter().zip(&whole.importances) {
                assert!((a - b).abs() < 1e-12);
            }
        }
    }

    /// The page's workers grow from the bins the data worker sent (and score their out-of-bag
    /// rows on them): the same shards, bit for bit, as from the rows, missing values and
    /// groups included.
    #[test]
    fn shards_grown_from_sent_bins_are_the_rows_shards() {
        use crate::forest::binning::Binned;
        use crate::protocol::frame::{decode_binned, encode_binned};
        let mut c = synth::classification(300, 6, 4, 3, 5);
        for (i, v) in c.x.iter_mut().enumerate() {
            if i % 13 == 0 {
                *v = f32::NAN;
            }
        }
        c.groups = Some((0..300).map(|r| r / 4).collect());
        for d in [c, synth::regression(300, 6, 4, 0.1, 5)] {
            let params = params(5);
            let sent = encode_binned(&d, &Binned::new(&d.x, d.n_rows, d.n_features, 255));
            let (meta, binned) = decode_binned(&sent).unwrap();
            assert!(meta.x.is_empty());
            let trainer = Trainer::with_bins(&meta, binned, None, &params).unwrap();
            for r in [0..2, 2..5] {
                let from_bins = grow_with(&trainer, r.clone(), &|| {}).unwrap();
                assert_eq!(from_bins, grow(&d, None, &params, r, &|| {}).unwrap());
            }
        }
    }

    #[test]
    fn a_missing_shard_is_an_error() {
        let d = synth::classification(100, 4, 2, 2, 1);
        let s = grow(&d, None, &params(4), 0..2, &|| {}).unwrap();
        let e = merge(vec![s], schema(&d), params(4), 4, &d.target).unwrap_err();
        assert!(e.to_string().contains("2 of 4 trees grown"), "{e}");
    }

    #[test]
    fn trees_outside_the_forest_are_not_grown() {
        let d = synth::classification(100, 4, 2, 2, 1);
        let e = grow(&d, None, &params(4), 2..9, &|| {}).unwrap_err();
        assert!(e.to_string().contains("trees 2..9 of a forest of 4"), "{e}");
    }

    #[test]
    fn votes_over_other_rows_than_the_target_are_refused() {
        let d = synth::classification(100, 4, 2, 2, 1);
        let s = grow(&d, None, &params(2), 0..2, &|| {}).unwrap();
        let short = Target::Classes(vec![0; 99]);
        let e = merge(vec![s.clone()], schema(&d), params(2), 4, &short).unwrap_err();
        assert!(
            e.to_string()
                .contains("OOB votes of 100 rows for a target of 99 rows"),
            "{e}"
        );
        // Two shards over different rows do not add up.
        let other = synth::classification(90, 4, 2, 2, 3);
        let t = grow(&other, None, &params(3), 2..3, &|| {}).unwrap();
        let e = merge(vec![s, t], schema(&d), params(3), 4, &d.target).unwrap_err();
        assert!(e.to_string().contains("do not add up"), "{e}");
    }

    #[test]
    fn shards_of_other_features_or_outputs_are_refused() {
        let d = synth::classification(100, 4, 2, 2, 1);
        let s = grow(&d, None, &params(2), 0..1, &|| {}).unwrap();
        let wide = synth::classification(100, 5, 2, 3, 1);
        let t = grow(&wide, None, &params(2), 1..2, &|| {}).unwrap();
        let e = merge(vec![s.clone(), t], schema(&d), params(2), 4, &d.target).unwrap_err();
        assert!(
            e.to_string()
                .contains("trees 1..2 are of 5 features and 3 outputs"),
            "{e}"
        );
        let mut six = schema(&d);
        six.features.extend(six.features[..2].to_vec());
        let e = merge(vec![s.clone()], six.clone(), params(1), 6, &d.target).unwrap_err();
        assert!(e.to_string().contains("the rows have 6 features"), "{e}");
        let e = merge(vec![s], six, params(1), 4, &d.target).unwrap_err();
        assert!(e.to_string().contains("a schema of 6 features"), "{e}");
    }
}

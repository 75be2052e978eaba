//! The forest's settings as the page's fields hold them, read into [`Params`] with an error
//! that names the field.

use super::state::Ui;
use crate::error::{Error, Result};
use crate::forest::{ClassWeight, Criterion, MaxFeatures, Params};
use crate::spoken;
use leptos::prelude::*;

pub fn parse_field<T: std::str::FromStr>(what: &str, s: &str, min: T) -> Result<T>
where
    T: PartialOrd + std::fmt::Display,
{
    match s.trim().parse::<T>() {
        Ok(v) if v >= min => Ok(v),
        _ => Err(Error::InvalidParam(format!(
            "{what} \"{s}\": a whole number from {min} up"
        ))),
    }
}

pub fn params_from_ui(ui: Ui) -> Result<Params> {
    let depth = ui.depth.get_untracked();
    let max_features = ui.max_features.get_untracked();
    let criterion = ui.criterion.get_untracked();
    let n_trees = parse_field("trees", &ui.trees.get_untracked(), 1)?;
    if n_trees > crate::forest::params::MAX_TREES {
        return Err(Error::InvalidParam(format!(
            "trees \"{}\": at most {}",
            ui.trees.get_untracked().trim(),
            spoken::count(crate::forest::params::MAX_TREES)
        )));
    }
    Ok(Params {
        n_trees,
        max_depth: if depth.trim().is_empty() || depth.trim() == "none" {
            None
        } else {
            Some(parse_field("max depth", &depth, 1)?)
        },
        max_features: if max_features == "auto" {
            None
        } else {
            Some(max_features.parse::<MaxFeatures>()?)
        },
        min_samples_leaf: parse_field("min samples per leaf", &ui.min_leaf.get_untracked(), 1)?,
        class_weight: ui
            .class_weight
            .get_untracked()
            .trim()
            .parse::<ClassWeight>()?,
        criterion: match criterion.trim() {
            "" | "auto" => None,
            c => Some(c.parse::<Criterion>()?),
        },
        seed: parse_field("seed", &ui.seed.get_untracked(), 0)?,
        ..Params::default()
    })
}

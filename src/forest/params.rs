//! Hyper-parameters, named and defaulted as in scikit-learn's RandomForest*.

use crate::data::Task;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaxFeatures {
    Sqrt,
    Log2,
    All,
    /// A fraction of the features, at least one.
    Fraction(f64),
    Count(usize),
}

impl MaxFeatures {
    /// Features to try at each split, given the number of features.
    pub fn resolve(self, n_features: usize) -> usize {
        let n = n_features as f64;
        let k = match self {
            MaxFeatures::Sqrt => n.sqrt() as usize,
            MaxFeatures::Log2 => libm::log2(n) as usize,
            MaxFeatures::All => n_features,
            MaxFeatures::Fraction(f) => (f * n) as usize,
            MaxFeatures::Count(c) => c,
        };
        k.clamp(1, n_features.max(1))
    }
}

impl FromStr for MaxFeatures {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::InvalidParam(format!(
                "max features \"{s}\": use sqrt, log2, all, a fraction in (0, 1] or a count"
            ))
        };
        match s.trim().to_ascii_lowercase().as_str() {
            "sqrt" => Ok(MaxFeatures::Sqrt),
            "log2" => Ok(MaxFeatures::Log2),
            "all" | "none" | "1.0" => Ok(MaxFeatures::All),
            t if t.contains('.') => match t.parse::<f64>() {
                Ok(f) if f > 0.0 && f <= 1.0 => Ok(MaxFeatures::Fraction(f)),
                _ => Err(bad()),
            },
            t => match t.parse::<usize>() {
                Ok(c) if c >= 1 => Ok(MaxFeatures::Count(c)),
                _ => Err(bad()),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    Gini,
    Entropy,
    SquaredError,
}

impl FromStr for Criterion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gini" => Ok(Criterion::Gini),
            "entropy" | "log_loss" => Ok(Criterion::Entropy),
            "squared_error" | "mse" => Ok(Criterion::SquaredError),
            _ => Err(Error::InvalidParam(format!(
                "criterion \"{s}\": use gini, entropy or squared_error"
            ))),
        }
    }
}

/// The most trees a forest may have: a bound on what one setting makes the trainer allocate
/// (scikit-learn's forests reach 500-1,000 trees in practice).
pub const MAX_TREES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub n_trees: usize,
    /// `None`: grow until leaves are pure or too small.
    pub max_depth: Option<usize>,
    /// `None`: sqrt for classification, all for regression.
    pub max_features: Option<MaxFeatures>,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
    pub bootstrap: bool,
    /// `None`: gini for classification, squared error for regression.
    pub criterion: Option<Criterion>,
    pub seed: u64,
    /// At most this many bins per feature (2..=255); missing values get a bin of their own.
    pub max_bins: usize,
    /// Weights of the classes (classification). Absent from older files: none.
    #[serde(default)]
    pub class_weight: ClassWeight,
}

/// How rows of each class weigh in splits and leaves, as scikit-learn's `class_weight`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeight {
    /// Every row weighs its bootstrap count.
    #[default]
    None,
    /// A row of class `c` also weighs `n / (classes * n_c)` over the training rows, so every
    /// class weighs the same in total: rare outcomes count as much as common ones.
    Balanced,
}

impl FromStr for ClassWeight {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(ClassWeight::None),
            "balanced" => Ok(ClassWeight::Balanced),
            _ => Err(Error::InvalidParam(format!(
                "class weight \"{s}\": use none or balanced"
            ))),
        }
    }
}

impl Default for Params {
    fn default() -> Self {
        Params {
            n_trees: 100,
            max_depth: None,
            max_features: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            bootstrap: true,
            criterion: None,
            seed: 0,
            max_bins: 255,
            class_weight: ClassWeight::None,
        }
    }
}

impl Params {
    pub fn max_features_for(&self, task: Task) -> MaxFeatures {
        self.max_features.unwrap_or(match task {
            Task::Classification => MaxFeatures::Sqrt,
            Task::Regression => MaxFeatures::All,
        })
    }

    pub fn criterion_for(&self, task: Task) -> Criterion {
        self.criterion.unwrap_or(match task {
            Task::Classification => Criterion::Gini,
            Task::Regression => Criterion::SquaredError,
        })
    }

    pub fn validate(&self, task: Task) -> Result<()> {
        if self.n_trees == 0 {
            return Err(Error::InvalidParam(
                "the number of trees must be at least 1".into(),
            ));
        }
        if self.n_trees > MAX_TREES {
            return Err(Error::InvalidParam(format!(
                "{} trees: at most {} (each tree keeps its own nodes in memory)",
                crate::spoken::count(self.n_trees),
                crate::spoken::count(MAX_TREES)
            )));
        }
        if self.max_depth == Some(0) {
            return Err(Error::InvalidParam("max depth must be at least 1".into()));
        }
        if self.min_samples_split < 2 {
            return Err(Error::InvalidParam(
                "min samples split must be at least 2".into(),
            ));
        }
        if self.min_samples_leaf < 1 {
            return Err(Error::InvalidParam(
                "min samples leaf must be at least 1".into(),
            ));
        }
        if !(2..=255).contains(&self.max_bins) {
            return Err(Error::InvalidParam(
                "max bins must be between 2 and 255".into(),
            ));
        }
        if task == Task::Regression && self.class_weight != ClassWeight::None {
            return Err(Error::InvalidParam(
                "class weights need a classification task".into(),
            ));
        }
        let c = self.criterion_for(task);
        let fits = match task {
            Task::Classification => c != Criterion::SquaredError,
            Task::Regression => c == Criterion::SquaredError,
        };
        if !fits {
            return Err(Error::InvalidParam(format!(
                "criterion {c:?} does not fit a {} task",
                task.name()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forest_of_more_than_max_trees_is_refused_in_words() {
        let p = |n_trees| Params {
            n_trees,
            ..Params::default()
        };
        assert!(p(MAX_TREES).validate(Task::Classification).is_ok());
        let e = p(100_000)
            .validate(Task::Classification)
            .unwrap_err()
            .to_string();
        assert!(e.contains("100,000 trees: at most 10,000"), "{e}");
    }

    #[test]
    fn parses_max_features_like_sklearn() {
        assert_eq!("sqrt".parse::<MaxFeatures>().unwrap().resolve(32), 5);
        assert_eq!("log2".parse::<MaxFeatures>().unwrap().resolve(32), 5);
        assert_eq!("all".parse::<MaxFeatures>().unwrap().resolve(32), 32);
        assert_eq!("0.5".parse::<MaxFeatures>().unwrap().resolve(30), 15);
        assert_eq!("7".parse::<MaxFeatures>().unwrap().resolve(30), 7);
        assert_eq!("100".parse::<MaxFeatures>().unwrap().resolve(30), 30);
        assert!("0".parse::<MaxFeatures>().is_err());
        assert!("1.5".parse::<MaxFeatures>().is_err());
        assert!("many".parse::<MaxFeatures>().is_err());
    }
}

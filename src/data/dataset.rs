//! From a text table to numbers: column types, the target and the task, and the schema
//! that turns any later table (test rows, files to score) into the same feature matrix.
//!
//! Features are `f32`, row-major (`x[row * n_features + feature]`), `NaN` for missing,
//! infinities clamped to the largest finite `f32`.
//! A categorical column is coded by the rank of its categories in the training rows, most
//! frequent first (see `order_categories`: the order never looks at the target, so no
//! target information reaches the out-of-bag rows through the codes). A category unseen in
//! training becomes missing.

use super::csv_table::{Cell, Table};
use super::summary::ColumnSummary;
use crate::error::{Error, Result};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Classification,
    Regression,
}

impl Task {
    pub fn name(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        }
    }
}

/// Classification when the target is text, or whole numbers with few distinct values.
/// A column of numbers with a few stray text cells (at most 1 in 20) is a regression target
/// whose text cells are named when training, not a classification with a class per number.
pub fn detect_task(summary: &ColumnSummary) -> Task {
    let few = summary.distinct <= 20;
    let mostly_numbers = summary.text > 0 && summary.text * 20 <= summary.present;
    if summary.numeric || mostly_numbers {
        if summary.integer_numbers && few {
            Task::Classification
        } else {
            Task::Regression
        }
    } else {
        Task::Classification
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum FeatureKind {
    Numeric,
    /// `categories[code]` is the text of the category with that code.
    Categorical {
        categories: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    pub name: String,
    #[serde(flatten)]
    pub kind: FeatureKind,
}

/// How to read features and the target out of a table. Saved inside the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    pub target: String,
    pub task: Task,
    pub features: Vec<FeatureSpec>,
    /// Class labels in class-index order (classification only).
    pub classes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Class index per row, into `Schema::classes`.
    Classes(Vec<u32>),
    Values(Vec<f64>),
}

impl Target {
    pub fn len(&self) -> usize {
        match self {
            Target::Classes(v) => v.len(),
            Target::Values(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The task this target is for.
    pub fn task(&self) -> Task {
        match self {
            Target::Classes(_) => Task::Classification,
            Target::Values(_) => Task::Regression,
        }
    }
}

/// A feature matrix with its target.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub n_rows: usize,
    pub n_features: usize,
    /// Row-major features, `NaN` = missing.
    pub x: Vec<f32>,
    pub target: Target,
    pub n_classes: usize,
    /// Per row, the group it belongs to (a patient): a tree's bootstrap draws whole groups, so
    /// no group is both in and out of one tree's sample. `None`: rows are drawn one by one.
    pub groups: Option<Vec<u32>>,
}

impl Dataset {
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.n_features..(i + 1) * self.n_features]
    }
    /// The rows at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        let mut x = Vec::with_capacity(idx.len() * self.n_features);
        for &i in idx {
            x.extend_from_slice(self.row(i));
        }
        let target = match &self.target {
            Target::Classes(c) => Target::Classes(idx.iter().map(|&i| c[i]).collect()),
            Target::Values(v) => Target::Values(idx.iter().map(|&i| v[i]).collect()),
        };
        Dataset {
            n_rows: idx.len(),
            n_features: self.n_features,
            x,
            target,
            n_classes: self.n_classes,
            groups: self
                .groups
                .as_ref()
                .map(|g| idx.iter().map(|&i| g[i]).collect()),
        }
    }
}

/// Most classes a classification target may have.
pub const MAX_CLASSES: usize = 256;

/// The largest regression target, in magnitude. Leaf values are f32 and the scorer sums one
/// per tree: under 1e30, even 10^8 trees stay below f32's 3.4e38, so no output is infinite.
pub const MAX_REGRESSION_TARGET: f64 = 1e30;

/// Row `i`'s regression target in column `t` (named `column`), or an error that names the cell.
fn regression_target(table: &Table, i: usize, t: usize, column: &str) -> Result<f64> {
    let cell = table.cell(i, t);
    let bad = |why: &str| Error::BadTargetValue {
        row: i + 1,
        column: column.into(),
        value: cell.text().into_owned(),
        why: why.into(),
    };
    match cell.number() {
        None => Err(bad("is not a number, but the task is regression")),
        Some(v) if v.abs() > MAX_REGRESSION_TARGET => Err(bad(
            "is beyond ±1e30, the largest regression target this program takes (outputs are 32-bit floats)",
        )),
        Some(v) => Ok(v),
    }
}

/// Rows whose target cell holds a usable value for `task`.
/// Errors name the first regression target cell that is not a number.
pub fn usable_rows(table: &Table, target: &str, task: Task) -> Result<Vec<usize>> {
    let t = target_index(table, target)?;
    let mut rows = Vec::with_capacity(table.n_rows());
    let mut bad: Option<Error> = None;
    let mut more = Vec::new();
    let mut n_bad = 0;
    for i in 0..table.n_rows() {
        if table.cell(i, t).is_missing() {
            continue;
        }
        if task == Task::Regression
            && let Err(e) = regression_target(table, i, t, target)
        {
            n_bad += 1;
            match bad {
                None => bad = Some(e),
                Some(_) if more.len() < 5 => {
                    more.push(format!("row {} \"{}\"", i + 1, table.cell(i, t).text()))
                }
                Some(_) => {}
            }
            continue;
        }
        rows.push(i);
    }
    // Every bad cell is counted and the first few named, so one pass over the file finds them.
    if let Some(Error::BadTargetValue {
        row,
        column,
        value,
        why,
    }) = bad
    {
        let why = match n_bad {
            1 => why,
            n => format!(
                "{why}; also not usable: {}{}",
                more.join(", "),
                match n - 1 - more.len() {
                    0 => String::new(),
                    k => format!(" and {k} more"),
                }
            ),
        };
        return Err(Error::BadTargetValue {
            row,
            column,
            value,
            why,
        });
    }
    if rows.is_empty() {
        return Err(Error::UnusableTarget {
            target: target.into(),
            message: "every cell is missing".into(),
        });
    }
    Ok(rows)
}

fn target_index(table: &Table, target: &str) -> Result<usize> {
    table
        .column_index(target)
        .ok_or_else(|| Error::TargetMissing {
            target: target.into(),
            available: table.headers.clone(),
        })
}

impl Schema {
    /// The schema of rows that are already numbers (generated, or from a message): features
    /// `f0`, `f1`, ..., classes `0`, `1`, ... of target column `target`.
    pub fn numbered(target: &str, d: &Dataset) -> Schema {
        Schema {
            target: target.into(),
            task: d.target.task(),
            features: (0..d.n_features)
                .map(|i| FeatureSpec {
                    name: format!("f{i}"),
                    kind: FeatureKind::Numeric,
                })
                .collect(),
            classes: (0..d.n_classes).map(|c| c.to_string()).collect(),
        }
    }

    /// Learns feature types, category codes and class labels from `train_rows` of `table`
    /// (rows with a usable target, see [`usable_rows`]).
    pub fn fit(table: &Table, target: &str, task: Task, train_rows: &[usize]) -> Result<Schema> {
        Schema::fit_without(table, target, task, train_rows, &[])
    }

    /// [`Self::fit`] with the columns named in `exclude` left out of the features.
    pub fn fit_without(
        table: &Table,
        target: &str,
        task: Task,
        train_rows: &[usize],
        exclude: &[&str],
    ) -> Result<Schema> {
        let t = target_index(table, target)?;
        let summaries = table.summaries();
        let classes = match task {
            Task::Classification => class_labels(table, t, train_rows),
            Task::Regression => Vec::new(),
        };
        // Histograms, leaf vectors and the confusion matrix grow with the classes: refuse a
        // column that is an ID or a measurement before allocating for it.
        if task == Task::Classification
            && (classes.len() > MAX_CLASSES || classes.len() * 2 > train_rows.len())
        {
            return Err(Error::UnusableTarget {
                target: target.into(),
                message: format!(
                    "{} distinct values in {} training rows are too many classes (at most {MAX_CLASSES}, and at most half the rows): choose regression if it holds numbers, or another target column",
                    classes.len(),
                    train_rows.len()
                ),
            });
        }
        if task == Task::Classification && classes.len() < 2 {
            return Err(Error::UnusableTarget {
                target: target.into(),
                message: format!(
                    "only one class ({}) in the training rows: nothing to learn",
                    classes.first().map_or("none", |s| s.as_str())
                ),
            });
        }
        let mut features = Vec::new();
        for (c, summary) in summaries.iter().enumerate() {
            if c == t || exclude.contains(&summary.name.as_str()) {
                continue;
            }
            let kind = if summary.numeric || summary.missing == table.n_rows() {
                FeatureKind::Numeric
            } else {
                FeatureKind::Categorical {
                    categories: order_categories(table, c, train_rows),
                }
            };
            features.push(FeatureSpec {
                name: summary.name.clone(),
                kind,
            });
        }
        if features.is_empty() {
            return Err(Error::InvalidParam(
                "the table has no feature column besides the target".into(),
            ));
        }
        Ok(Schema {
            target: target.into(),
            task,
            features,
            classes,
        })
    }

    pub fn n_features(&self) -> usize {
        self.features.len()
    }
    pub fn feature_names(&self) -> Vec<String> {
        self.features.iter().map(|f| f.name.clone()).collect()
    }

    /// Encodes the features of `rows` of `table`. Columns are found by name, so the table
    /// may order them differently or lack the target.
    pub fn encode_features(&self, table: &Table, rows: &[usize]) -> Result<Vec<f32>> {
        let cols: Vec<usize> = self
            .features
            .iter()
            .map(|f| {
                table
                    .column_index(&f.name)
                    .ok_or_else(|| Error::MissingFeature {
                        column: f.name.clone(),
                    })
            })
            .collect::<Result<_>>()?;
        let lookups: Vec<Option<FxHashMap<&str, f32>>> = self
            .features
            .iter()
            .map(|f| match &f.kind {
                FeatureKind::Numeric => None,
                FeatureKind::Categorical { categories } => Some(
                    categories
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (c.as_str(), i as f32))
                        .collect(),
                ),
            })
            .collect();
        let value = |f: usize, cell: Cell| -> Option<f32> {
            match (&lookups[f], cell) {
                (_, Cell::Missing) => Some(f32::NAN),
                (None, Cell::Number(v, _)) => Some((v as f32).clamp(f32::MIN, f32::MAX)),
                // Text where the model reads a number.
                (None, Cell::Text(_)) => None,
                (Some(map), cell) => Some(map.get(&*cell.text()).copied().unwrap_or(f32::NAN)),
            }
        };
        let columns: Vec<_> = (0..cols.len())
            .map(|f| table.values(cols[f], |cell| value(f, cell)))
            .collect();
        let n = cols.len();
        let mut x = vec![0f32; rows.len() * n];
        // The file's rows in their order (every column read front to back, as it lies in
        // memory), each written to its place in `x`: reading the shuffled rows in their own
        // order missed the cache on every cell. The error is the first bad cell in reading
        // order (row by row), as (row position, feature).
        let mut first_bad = None::<(usize, usize)>;
        let mut encode_row = |r: usize, i: usize, out: &mut [f32]| {
            for (f, column) in columns.iter().enumerate() {
                match column.get(i, |cell| value(f, cell)) {
                    Some(v) => out[f] = v,
                    None => {
                        if first_bad.is_none_or(|at| (r, f) < at) {
                            first_bad = Some((r, f));
                        }
                        break;
                    }
                }
            }
        };
        let mut place = vec![u32::MAX; table.n_rows()];
        let distinct = rows.iter().enumerate().all(|(r, &i)| {
            let first = place[i] == u32::MAX;
            place[i] = r as u32;
            first
        });
        if distinct {
            for (i, &r) in place.iter().enumerate() {
                if r != u32::MAX {
                    let r = r as usize;
                    encode_row(r, i, &mut x[r * n..(r + 1) * n]);
                }
            }
        } else {
            // A row asked for twice: in the order asked.
            for (r, &i) in rows.iter().enumerate() {
                encode_row(r, i, &mut x[r * n..(r + 1) * n]);
            }
        }
        if let Some((r, f)) = first_bad {
            let i = rows[r];
            return Err(Error::BadNumber {
                row: i + 1,
                column: self.features[f].name.clone(),
                value: table.cell(i, cols[f]).text().into_owned(),
            });
        }
        Ok(x)
    }

    /// Encodes features and target of `rows` (which must have a usable target).
    pub fn encode(&self, table: &Table, rows: &[usize]) -> Result<Dataset> {
        let x = self.encode_features(table, rows)?;
        let t = target_index(table, &self.target)?;
        let target = match self.task {
            Task::Classification => {
                let mut labels = Vec::with_capacity(rows.len());
                for &i in rows {
                    let cell = table.cell(i, t).text();
                    // A class unseen in training is an error for training data; for test
                    // rows the caller drops such rows before encoding.
                    let k = self
                        .classes
                        .iter()
                        .position(|c| *c == cell)
                        .ok_or_else(|| Error::UnusableTarget {
                            target: self.target.clone(),
                            message: format!(
                                "row {}: class \"{cell}\" is not among the model's classes",
                                i + 1
                            ),
                        })?;
                    labels.push(k as u32);
                }
                Target::Classes(labels)
            }
            Task::Regression => Target::Values(
                rows.iter()
                    .map(|&i| regression_target(table, i, t, &self.target))
                    .collect::<Result<_>>()?,
            ),
        };
        Ok(Dataset {
            n_rows: rows.len(),
            n_features: self.n_features(),
            x,
            target,
            n_classes: self.classes.len(),
            groups: None,
        })
    }

    /// Whether row `i`'s target is a known class (classification) or a number (regression).
    pub fn target_known(&self, table: &Table, i: usize) -> bool {
        let Some(t) = table.column_index(&self.target) else {
            return false;
        };
        let cell = table.cell(i, t);
        match self.task {
            _ if cell.is_missing() => false,
            Task::Classification => self.classes.iter().any(|c| *c == cell.text()),
            Task::Regression => cell.number().is_some(),
        }
    }
}

/// Class labels sorted numerically when all are numbers, else as text.
fn class_labels(table: &Table, t: usize, rows: &[usize]) -> Vec<String> {
    let mut seen = rustc_hash::FxHashSet::<Cow<str>>::default();
    for &i in rows {
        seen.insert(table.cell(i, t).text());
    }
    let mut labels: Vec<String> = seen.into_iter().map(Cow::into_owned).collect();
    labels.sort();
    let nums: Option<Vec<f64>> = labels.iter().map(|l| l.parse::<f64>().ok()).collect();
    if let Some(nums) = nums {
        let mut pairs: Vec<(f64, String)> = nums.into_iter().zip(labels).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        labels = pairs.into_iter().map(|p| p.1).collect();
    }
    labels
}

/// The categories of column `c` in the training rows, most frequent first (ties in text
/// order). The order never looks at the target: an order by a target statistic over all
/// training rows let a column with a value per row (an ID) carry the out-of-bag rows' targets
/// into the codes, so the OOB score read 0.999 against 0.69 held out.
fn order_categories(table: &Table, c: usize, rows: &[usize]) -> Vec<String> {
    let mut counts = FxHashMap::<Cow<str>, usize>::default();
    for &i in rows {
        let cell = table.cell(i, c);
        if !cell.is_missing() {
            *counts.entry(cell.text()).or_default() += 1;
        }
    }
    let mut cats: Vec<(usize, Cow<str>)> = counts.into_iter().map(|(k, n)| (n, k)).collect();
    cats.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    cats.into_iter().map(|c| c.1.into_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::csv_table::read_table;

    fn all(t: &Table) -> Vec<usize> {
        (0..t.n_rows()).collect()
    }

    #[test]
    fn detects_task() {
        let t = read_table(b"a,cls,y,txt\n1,0,1.5,u\n2,1,2.25,v\n3,2,7.0,u\n").unwrap();
        let s = t.summaries();
        assert_eq!(detect_task(&s[1]), Task::Classification);
        assert_eq!(detect_task(&s[2]), Task::Regression);
        assert_eq!(detect_task(&s[3]), Task::Classification);
        assert!(s[0].integer && s[0].numeric);
    }

    #[test]
    fn categorical_and_missing_are_encoded() {
        let t = read_table(b"color,x,y\nred,1,a\nblue,NA,b\nred,3,a\n,4,b\n").unwrap();
        let rows = all(&t);
        let s = Schema::fit(&t, "y", Task::Classification, &rows).unwrap();
        assert_eq!(s.classes, vec!["a", "b"]);
        assert!(matches!(
            s.features[0].kind,
            FeatureKind::Categorical { .. }
        ));
        let d = s.encode(&t, &rows).unwrap();
        assert!(d.row(1)[1].is_nan());
        assert!(d.row(3)[0].is_nan());
        assert_eq!(d.target, Target::Classes(vec![0, 1, 0, 1]));
        // Unseen category in new data becomes missing, not an error.
        let t2 = read_table(b"x,color\n2,green\n").unwrap();
        let x = s.encode_features(&t2, &[0]).unwrap();
        assert!(x[0].is_nan(), "color comes first in the schema");
        assert_eq!(x[1], 2.0);
    }

    #[test]
    fn rows_encode_in_the_order_asked_repeated_or_not() {
        let t = read_table(b"c,x,y\nred,1.5,a\nblue,2.5,b\nred,NA,a\ngreen,4,b\n").unwrap();
        let s = Schema::fit(&t, "y", Task::Classification, &all(&t)).unwrap();
        let one = |i: usize| s.encode_features(&t, &[i]).unwrap();
        for rows in [vec![3, 0, 2], vec![2, 0, 2, 1, 2]] {
            let x = s.encode_features(&t, &rows).unwrap();
            let want: Vec<f32> = rows.iter().flat_map(|&i| one(i)).collect();
            assert_eq!(
                x.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{rows:?}"
            );
        }
        // The first bad cell in reading order is named: row by row, then column by column.
        let numbers = read_table(b"p,q,y\n1,2,3\n4,5,6\n").unwrap();
        let s = Schema::fit(&numbers, "y", Task::Regression, &[0, 1]).unwrap();
        let t2 = read_table(b"p,q\n1,2\n3,oops\nbad,4\n").unwrap();
        assert_eq!(
            s.encode_features(&t2, &[2, 1]).unwrap_err(),
            Error::BadNumber {
                row: 3,
                column: "p".into(),
                value: "bad".into()
            }
        );
        assert_eq!(
            s.encode_features(&t2, &[1, 2]).unwrap_err(),
            Error::BadNumber {
                row: 2,
                column: "q".into(),
                value: "oops".into()
            }
        );
    }

    #[test]
    fn missing_target_column_is_an_error() {
        let t = read_table(b"a,b\n1,2\n").unwrap();
        let e = usable_rows(&t, "z", Task::Regression).unwrap_err();
        assert!(matches!(e, Error::TargetMissing { .. }));
        assert!(e.to_string().contains("\"z\""));
    }

    #[test]
    fn target_without_usable_value_is_an_error() {
        let t = read_table(b"a,b\n1,\n2,NA\n").unwrap();
        assert!(matches!(
            usable_rows(&t, "b", Task::Regression).unwrap_err(),
            Error::UnusableTarget { .. }
        ));
        let t = read_table(b"a,b\n1,x\n2,x\n").unwrap();
        let rows = usable_rows(&t, "b", Task::Classification).unwrap();
        assert!(matches!(
            Schema::fit(&t, "b", Task::Classification, &rows).unwrap_err(),
            Error::UnusableTarget { .. }
        ));
    }

    #[test]
    fn bad_regression_target_names_row_and_column() {
        let t = read_table(b"a,y\n1,2.0\n2,oops\n").unwrap();
        let e = usable_rows(&t, "y", Task::Regression).unwrap_err();
        assert_eq!(
            e.to_string(),
            "row 2, column \"y\": \"oops\" is not a number, but the task is regression"
        );
    }

    #[test]
    fn a_regression_target_beyond_f32_is_refused_by_row() {
        // 1e39 is finite in f64 but not in f32: it made leaf values infinite, and the saved
        // model unloadable.
        let t = read_table(b"a,y\n1,2.0\n2,-1e39\n3,1e30\n").unwrap();
        let e = usable_rows(&t, "y", Task::Regression).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("row 2, column \"y\": \"-1e39\" is beyond ±1e30"),
            "{e}"
        );
        let t = read_table(b"a,y\n1,2.0\n3,1e30\n").unwrap();
        assert_eq!(usable_rows(&t, "y", Task::Regression).unwrap(), vec![0, 1]);
    }

    #[test]
    fn bad_number_at_predict_time_names_row_and_column() {
        let t = read_table(b"a,y\n1,2\n2,3\n").unwrap();
        let s = Schema::fit(&t, "y", Task::Regression, &[0, 1]).unwrap();
        let t2 = read_table(b"a\n1\nabc\n").unwrap();
        let e = s.encode_features(&t2, &[0, 1]).unwrap_err();
        assert_eq!(
            e,
            Error::BadNumber {
                row: 2,
                column: "a".into(),
                value: "abc".into()
            }
        );
        let t3 = read_table(b"b\n1\n").unwrap();
        assert_eq!(
            s.encode_features(&t3, &[0]).unwrap_err(),
            Error::MissingFeature { column: "a".into() }
        );
    }

    #[test]
    fn numeric_classes_sort_numerically() {
        let t = read_table(b"a,y\n1,10\n2,9\n3,2\n4,10\n5,9\n6,2\n").unwrap();
        let s = Schema::fit(&t, "y", Task::Classification, &all(&t)).unwrap();
        assert_eq!(s.classes, vec!["2", "9", "10"]);
    }

    #[test]
    fn a_number_column_with_a_stray_word_is_regression_and_the_word_is_named() {
        // 187 distinct numbers and one "oops": not 188 classes.
        let mut csv = String::from("x,y\n");
        for i in 0..200 {
            let y = if i == 17 {
                "oops".to_string()
            } else {
                format!("{}.5", i % 187)
            };
            csv.push_str(&format!("{i},{y}\n"));
        }
        csv.push_str("200,n/a?\n201,-\n202,high\n");
        let t = read_table(csv.as_bytes()).unwrap();
        let summary = t.summaries();
        assert_eq!(detect_task(&summary[1]), Task::Regression);
        let e = usable_rows(&t, "y", Task::Regression)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "row 18, column \"y\": \"oops\" is not a number, but the task is regression; also not usable: row 201 \"n/a?\", row 203 \"high\""
        );
        // Whole numbers with few values and one stray word stay classes.
        let mut csv = String::from("x,y\n");
        for i in 0..100 {
            csv.push_str(&format!(
                "{i},{}\n",
                if i == 5 { "unknown" } else { ["0", "1"][i % 2] }
            ));
        }
        let t = read_table(csv.as_bytes()).unwrap();
        assert_eq!(detect_task(&t.summaries()[1]), Task::Classification);
    }

    #[test]
    fn an_id_as_a_class_target_is_refused_before_training() {
        // A name per row: 20,000 classes would need gigabytes of histograms.
        let mut csv = String::from("x,name\n");
        for i in 0..20_000 {
            csv.push_str(&format!("{},person{i}\n", i % 7));
        }
        let t = read_table(csv.as_bytes()).unwrap();
        assert_eq!(detect_task(&t.summaries()[1]), Task::Classification);
        let e = Schema::fit(&t, "name", Task::Classification, &all(&t))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("20000 distinct values in 20000 training rows are too many classes"),
            "{e}"
        );
        // 300 classes of 10 rows each: over 256.
        let mut csv = String::from("x,code\n");
        for i in 0..3000 {
            csv.push_str(&format!("{i},c{}\n", i % 300));
        }
        let t = read_table(csv.as_bytes()).unwrap();
        let e = Schema::fit(&t, "code", Task::Classification, &all(&t))
            .unwrap_err()
            .to_string();
        assert!(e.contains("300 distinct values"), "{e}");
    }
}

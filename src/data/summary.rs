//! What a column looks like (numbers or text, missing cells, distinct values), computed once
//! when the file is read, for the preview, the task, ID detection and the feature types.

use super::csv_table::{Cell, Column};
use rustc_hash::{FxHashSet, FxHasher};
use std::hash::Hasher;

/// What a column looks like, for previews and for choosing the task.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSummary {
    pub name: String,
    pub numeric: bool,
    pub missing: usize,
    /// Distinct present cells by their text (counted up to a little over a million; a column
    /// of many distinct numbers that are not all whole counts distinct values).
    pub distinct: usize,
    /// Every present value is a whole number.
    pub integer: bool,
    /// Cells that are not missing.
    pub present: usize,
    /// Present cells that are not numbers.
    pub text: usize,
    /// Every present value that is a number is a whole number.
    pub integer_numbers: bool,
}

/// Most distinct values counted: bounded (a file is at most 256 MiB in the page), and high
/// enough to see that a column of a million rows never repeats.
const DISTINCT_CAP: usize = 1 << 20;

pub(super) fn summarize_column(name: &str, column: &Column, n_rows: usize) -> ColumnSummary {
    let (mut missing, mut text, mut distinct) = (0, 0, 0);
    let mut integer = true;
    if let Some((codes, cells)) = column.dictionary() {
        let cells: Vec<Cell> = cells.collect();
        let mut count = vec![0usize; cells.len()];
        for &k in codes {
            count[k as usize] += 1;
        }
        for (cell, n) in cells.iter().zip(count) {
            match cell {
                Cell::Missing => missing += n,
                Cell::Number(v, _) => {
                    integer &= v.fract() == 0.0;
                    distinct += 1;
                }
                Cell::Text(_) => {
                    text += n;
                    distinct += 1;
                }
            }
        }
    } else {
        // A hash of each cell's text (or of its value where only numbers are kept) stands for
        // it: no cell's text is copied.
        let mut seen = FxHashSet::<u64>::with_capacity_and_hasher(
            n_rows.min(DISTINCT_CAP + 1),
            Default::default(),
        );
        let hash = |t: &str| {
            let mut h = FxHasher::default();
            h.write(t.as_bytes());
            h.finish()
        };
        for i in 0..n_rows {
            let key = match column.cell(i) {
                Cell::Missing => {
                    missing += 1;
                    continue;
                }
                Cell::Number(v, t) => {
                    integer &= v.fract() == 0.0;
                    t.map_or(v.to_bits(), hash)
                }
                Cell::Text(t) => {
                    text += 1;
                    hash(t)
                }
            };
            if seen.len() <= DISTINCT_CAP {
                seen.insert(key);
            }
        }
        distinct = seen.len();
    }
    let present = n_rows - missing;
    let numeric = text == 0 && present > 0;
    ColumnSummary {
        name: name.to_string(),
        numeric,
        missing,
        distinct,
        integer: numeric && integer,
        present,
        text,
        integer_numbers: integer,
    }
}

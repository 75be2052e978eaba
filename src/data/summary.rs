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

/// How many distinct keys there are: the keys are cut into parts of a few thousand by their
/// top bits (after mixing), and each part is counted in a hash set that fits in the cache. One
/// hash set of them all missed the cache on every key (a third of the time it took to read
/// the file).
fn count_distinct(mut keys: Vec<u64>) -> usize {
    const PART: usize = 4096;
    let mix = |k: u64| {
        let mut h = FxHasher::default();
        h.write_u64(k);
        h.finish()
    };
    let bits = (keys.len() / PART).next_power_of_two().trailing_zeros();
    if bits == 0 {
        keys.sort_unstable();
        keys.dedup();
        return keys.len();
    }
    let part = |k: u64| (mix(k) >> (64 - bits)) as usize;
    let mut starts = vec![0usize; (1 << bits) + 1];
    for &k in &keys {
        starts[part(k) + 1] += 1;
    }
    for p in 1..starts.len() {
        starts[p] += starts[p - 1];
    }
    let mut next = starts.clone();
    let mut parted = vec![0u64; keys.len()];
    for &k in &keys {
        let p = part(k);
        parted[next[p]] = k;
        next[p] += 1;
    }
    let mut seen = FxHashSet::<u64>::with_capacity_and_hasher(2 * PART, Default::default());
    starts
        .windows(2)
        .map(|w| {
            seen.clear();
            seen.extend(&parted[w[0]..w[1]]);
            seen.len()
        })
        .sum()
}

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
        // A hash of each cell's text (or its value's bits where only numbers are kept) stands
        // for it: no cell's text is copied.
        let hash = |t: &str| {
            let mut h = FxHasher::default();
            h.write(t.as_bytes());
            h.finish()
        };
        let mut keys = Vec::with_capacity(n_rows);
        for i in 0..n_rows {
            keys.push(match column.cell(i) {
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
            });
        }
        distinct = count_distinct(keys).min(DISTINCT_CAP + 1);
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

#[cfg(test)]
mod tests {
    use super::count_distinct;

    #[test]
    fn distinct_keys_are_counted_exactly_in_parts() {
        for n in [0usize, 1, 7, 4096, 4097, 50_000, 300_000] {
            // Every third key repeats an earlier one; the rest are spread over all 64 bits.
            let keys: Vec<u64> = (0..n as u64)
                .map(|i| {
                    if i % 3 == 2 {
                        (i / 2).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    } else {
                        i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    }
                })
                .collect();
            let mut want = keys.clone();
            want.sort_unstable();
            want.dedup();
            assert_eq!(count_distinct(keys), want.len(), "{n} keys");
        }
    }
}

//! The rows the page loaded, held in a worker of their own (the data worker): decoding and
//! parsing a CSV, generating synthetic rows, splitting and encoding them for training, encoding
//! them for a model to score, and writing predictions out all run there, never on the page's
//! thread, which only draws what comes back.

use crate::data::{Dataset, Table, Target, Task, detect_task, read_table_with, synth};
use crate::error::{Error, Result};
use crate::forest::binning::Binned;
use crate::model::{Predictions, Reader, RowNotes};
use crate::pipeline::{self, Columns, TrainOptions};
use crate::protocol::frame::{encode_binned, encode_dataset};
use crate::protocol::{Choice, ColumnView, DataView, PreparedSplit, RowRef, RowShown};
use std::cell::RefCell;

use crate::data::csv_table::PREVIEW_ROWS;

/// The data the user loaded.
enum Source {
    Table(Table),
    /// Generated rows: already numbers, with a class target.
    Synthetic(Dataset),
}

thread_local! {
    static SOURCE: RefCell<Option<Source>> = const { RefCell::new(None) };
}

/// Reads a CSV file's bytes and keeps the table; on error the rows loaded before stay.
/// `progress` hears how many bytes are read, every 2% of the file or so.
pub fn read(
    name: &str,
    bytes: &[u8],
    progress: impl Fn(usize, usize),
) -> Result<(DataView, Option<String>)> {
    let total = bytes.len();
    let (done, told) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    let t = read_table_with(bytes, &|n| {
        done.set(done.get() + n);
        if done.get() - told.get() >= total / 50 {
            told.set(done.get());
            progress(done.get(), total);
        }
    })?;
    let view = view_of_table(name, &t);
    let note = t.conversion_note();
    SOURCE.with(|s| *s.borrow_mut() = Some(Source::Table(t)));
    Ok((view, note))
}

fn view_of_table(name: &str, t: &Table) -> DataView {
    let summary = t.summaries();
    DataView {
        name: name.into(),
        rows: t.n_rows(),
        headers: t.headers.clone(),
        preview: t.preview().to_vec(),
        columns: summary.iter().map(ColumnView::from_summary).collect(),
        detected: summary.iter().map(detect_task).collect(),
    }
}

/// Synthetic classification rows: `features` features, half informative, two classes.
pub fn generate(rows: usize, features: usize, seed: u64) -> DataView {
    let d = synth::classification(rows, features, (features / 2).max(1), 2, seed);
    let headers: Vec<String> = (0..features)
        .map(|i| format!("f{i}"))
        .chain(["class".to_string()])
        .collect();
    let preview = (0..rows.min(PREVIEW_ROWS))
        .map(|r| {
            let mut v: Vec<String> = d.row(r).iter().map(|x| format!("{x:.3}")).collect();
            if let Target::Classes(c) = &d.target {
                v.push(c[r].to_string());
            }
            v
        })
        .collect();
    let columns = headers
        .iter()
        .enumerate()
        .map(|(i, h)| ColumnView {
            name: h.clone(),
            kind: if i < features { "number" } else { "integer" }.into(),
            missing: 0,
            distinct: if i < features { rows } else { 2 },
            id_like: None,
        })
        .collect();
    let mut detected = vec![Task::Regression; features];
    detected.push(Task::Classification);
    SOURCE.with(|s| *s.borrow_mut() = Some(Source::Synthetic(d)));
    DataView {
        name: format!("synthetic ({rows} rows x {features} features)"),
        rows,
        headers,
        preview,
        columns,
        detected,
    }
}

fn with_source<R>(f: impl FnOnce(&Source) -> Result<R>) -> Result<R> {
    SOURCE.with(|s| match &*s.borrow() {
        Some(src) => f(src),
        None => Err(Error::InvalidParam(
            "load a CSV or pick a dataset first".into(),
        )),
    })
}

/// Splits and encodes the rows for training, as a message (see [`PreparedSplit`]).
pub fn prepared(c: Choice, copies: usize) -> Result<(PreparedSplit, Vec<Vec<u8>>, Vec<Vec<u8>>)> {
    let prep = with_source(|src| match src {
        Source::Table(t) => pipeline::prepare(
            t,
            &TrainOptions {
                target: c.target.clone(),
                task: c.task,
                params: c.params.clone(),
                test_fraction: c.test_fraction,
                stratify: true,
                columns: Columns {
                    drop: c.drop.clone(),
                    keep: c.keep.clone(),
                    group: c.group.clone(),
                },
            },
        ),
        Source::Synthetic(d) => {
            if c.task == Some(Task::Regression) {
                return Err(Error::InvalidParam(
                    "the synthetic data has a class target: choose classification".into(),
                ));
            }
            pipeline::prepare_dataset(d, &c.target, c.test_fraction, c.params.seed)
        }
    })?;
    // Binned here, once, for every training worker (each grows from the bins and scores its
    // out-of-bag rows on them): a quarter of the rows' bytes to copy, no binning per worker.
    let t = &prep.train;
    let binned = Binned::new(&t.x, t.n_rows, t.n_features, c.params.max_bins);
    let train = encode_binned(t, &binned);
    let test = encode_dataset(&prep.test);
    let header = PreparedSplit {
        schema: prep.schema.clone(),
        id_columns: prep.id_columns(),
        train: train.header,
        test: test.header,
        train_buffers: train.buffers.len(),
        copies,
        first_test_row: prep.first_test_row,
        split: prep.split_rule(c.params.seed),
    };
    Ok((header, train.buffers, test.buffers))
}

/// Every loaded row, encoded as `reader`'s model reads it (f32, row-major).
pub fn rows_for(reader: &Reader) -> Result<Vec<f32>> {
    with_source(|src| match src {
        Source::Table(t) => reader.features_of(t),
        Source::Synthetic(d) if d.n_features == reader.schema.n_features() => Ok(d.x.clone()),
        Source::Synthetic(_) => Err(Error::InvalidParam(format!(
            "load data with the model's {} feature columns to score",
            reader.schema.n_features()
        ))),
    })
}

/// Predictions as CSV, with the loaded rows' ID column when the model names one they have.
pub fn predictions_csv(reader: &Reader, p: &Predictions) -> Result<String> {
    with_source(|src| {
        let notes = match src {
            Source::Table(t) => pipeline::notes_of(reader, t),
            Source::Synthetic(d) => RowNotes {
                sides: reader
                    .split
                    .as_ref()
                    .map(|rule| pipeline::sides_of_dataset(d, rule)),
                ..RowNotes::default()
            },
        };
        Ok(reader.predictions_csv(p, &notes))
    })
}

/// The row the user named, as the file has it, for an explanation.
pub fn row_shown(reader: &Reader, row: &RowRef) -> Result<RowShown> {
    with_source(|src| {
        let n_rows = match src {
            Source::Table(t) => t.n_rows(),
            Source::Synthetic(d) => d.n_rows,
        };
        let index = match row {
            RowRef::Number(n) if (1..=n_rows).contains(n) => n - 1,
            RowRef::Number(n) => {
                return Err(Error::InvalidParam(format!(
                    "row {n}: the loaded rows are numbered 1 to {n_rows}"
                )));
            }
            RowRef::Id(id) => {
                let table = match src {
                    Source::Table(t) => Some(t),
                    Source::Synthetic(_) => None,
                };
                let column = table
                    .and_then(|t| reader.ids_of(t))
                    .map(|(c, _)| c.to_string());
                let Some((t, column)) = table.zip(column) else {
                    return Err(Error::InvalidParam(format!(
                        "\"{id}\" is not a row number, and these rows have no ID column{}",
                        match reader.id_columns.as_slice() {
                            [] => String::new(),
                            c => format!(" (the model's: {})", c.join(", ")),
                        }
                    )));
                };
                reader
                    .find_id(t, id)
                    .ok_or_else(|| Error::InvalidParam(format!("no row has {column} \"{id}\"")))?
            }
        };
        Ok(match src {
            Source::Table(t) => RowShown {
                index,
                id: reader.ids_of(t).map(|(_, v)| v[index].to_string()),
                cells: reader.cells_of(t, index),
            },
            Source::Synthetic(d) => RowShown {
                index,
                id: None,
                cells: d.row(index).iter().map(|v| format!("{v:.3}")).collect(),
            },
        })
    })
}

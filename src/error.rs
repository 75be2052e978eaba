//! One error type for everything that can go wrong with user input or files.
//! Every variant says what is wrong and, where it applies, where (row, column).

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The input has no bytes (or only whitespace / a BOM).
    EmptyFile,
    /// A header row exists but no data row follows it.
    NoDataRows,
    /// A data row has a different number of fields than the header.
    /// `row` is 1-based over data rows, `line` is the 1-based line in the file.
    RaggedRow {
        row: usize,
        line: u64,
        found: usize,
        expected: usize,
    },
    /// The CSV reader itself failed (bad UTF-8, broken quoting...).
    Csv { line: Option<u64>, message: String },
    /// A header cell is empty or duplicated.
    BadHeader { column: usize, message: String },
    /// The requested target column is not in the header.
    TargetMissing {
        target: String,
        available: Vec<String>,
    },
    /// The target column holds no usable value (all missing, or a single class).
    UnusableTarget { target: String, message: String },
    /// A regression target cell is not a number.
    BadTargetValue {
        row: usize,
        column: String,
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// Too few rows to train (or to hold out a test set).
    TooFewRows { rows: usize, needed: usize },
    /// A column the model was trained on is absent from the input.
    MissingFeature { column: String },
    /// A numeric cell could not be read as a number.
    BadNumber {
        row: usize,
        column: String,
        value: String,
    },
    /// Invalid hyper-parameter or option.
    InvalidParam(String),
    /// A model file that is not a model of this program, or of another version.
    BadModel(String),
    /// File system or other I/O failure.
    Io(String),
    /// The GPU path is not available or failed.
    Gpu(String),
    /// A web worker failed or sent something unreadable.
    Worker(String),
    /// The rows or the model cannot be explained as asked (no covers, too many rows).
    Explain(String),
    /// The user stopped the run (not a failure: nothing is reported as wrong).
    Cancelled,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::EmptyFile => write!(f, "the file is empty: expected a header row and data rows"),
            Error::NoDataRows => write!(f, "the file has a header row but no data rows"),
            Error::RaggedRow {
                row,
                line,
                found,
                expected,
            } => write!(
                f,
                "row {row} (line {line}) has {found} fields but the header has {expected}"
            ),
            Error::Csv {
                line: Some(line),
                message,
            } => write!(f, "line {line} cannot be read as CSV: {message}"),
            Error::Csv {
                line: None,
                message,
            } => write!(f, "the file cannot be read as CSV: {message}"),
            Error::BadHeader { column, message } => write!(f, "header, column {column}: {message}"),
            Error::TargetMissing { target, available } => {
                let shown: Vec<&str> = available.iter().take(12).map(String::as_str).collect();
                write!(
                    f,
                    "target column \"{target}\" is not in the header (columns: {})",
                    shown.join(", ")
                )?;
                if available.len() > shown.len() {
                    write!(f, ", ...")?;
                }
                Ok(())
            }
            Error::UnusableTarget { target, message } => {
                write!(f, "target column \"{target}\": {message}")
            }
            Error::BadTargetValue {
                row,
                column,
                value,
                why,
            } => write!(f, "row {row}, column \"{column}\": \"{value}\" {why}"),
            Error::TooFewRows { rows, needed } => {
                write!(
                    f,
                    "too few rows to train: {rows} usable, at least {needed} needed"
                )
            }
            Error::MissingFeature { column } => {
                write!(
                    f,
                    "column \"{column}\", which the model was trained on, is not in the input"
                )
            }
            Error::BadNumber { row, column, value } => {
                write!(
                    f,
                    "row {row}, column \"{column}\": \"{value}\" is not a number"
                )
            }
            // Each message names the setting or the step it is about.
            Error::InvalidParam(m) => write!(f, "{m}"),
            Error::BadModel(m) => write!(f, "not a usable model file: {m}"),
            Error::Io(m) => write!(f, "{m}"),
            Error::Gpu(m) => write!(f, "GPU: {m}"),
            Error::Explain(m) => write!(f, "cannot explain: {m}"),
            Error::Worker(m) => write!(f, "the page's background work failed: {m}"),
            Error::Cancelled => write!(f, "cancelled"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

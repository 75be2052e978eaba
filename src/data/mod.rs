//! Input data: CSV reading, column typing, encoding, and synthetic data for benchmarks.
pub mod csv_table;
pub mod dataset;
pub mod synth;

pub use csv_table::{Table, read_table};
pub use dataset::{
    ColumnSummary, Dataset, FeatureKind, FeatureSpec, Schema, Target, Task, detect_task, summarize,
    usable_rows,
};

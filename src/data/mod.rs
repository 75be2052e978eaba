//! Input data: CSV reading into typed columns, column summaries, encoding, and synthetic data
//! for benchmarks.
pub mod csv_table;
pub mod dataset;
pub mod summary;
pub mod synth;

pub use csv_table::{Cell, Given, Table, read_table, read_table_with};
pub use dataset::{
    Dataset, FeatureKind, FeatureSpec, Schema, Target, Task, detect_task, usable_rows,
};
pub use summary::ColumnSummary;

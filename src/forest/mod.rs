//! The random forest: binning, tree growing, training, metrics and the saved model.
pub mod binning;
pub mod metrics;
pub mod model;
pub mod params;
pub mod train;
pub mod tree;

pub use model::Model;
pub use params::{ClassWeight, Criterion, MaxFeatures, Params};
pub use train::{Forest, OobVotes, Trainer, argmax, importances, oob_finish};
pub use tree::{Node, Tree};

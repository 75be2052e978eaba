//! The random forest: binning, tree growing, training, metrics, and the grown trees
//! flattened into the layout ([`flatten`]). The saved model is [`crate::model`]'s.
pub mod binning;
mod flatten;
pub mod metrics;
pub mod params;
pub mod quality;
pub mod train;
pub mod tree;

pub use flatten::flatten;
pub use params::{ClassWeight, Criterion, MaxFeatures, Params};
pub use train::{GrownForest, OobVotes, Trainer, argmax, importances, oob_finish};
pub use tree::{Tree, TreeNode};

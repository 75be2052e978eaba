//! The hot loops of scoring a forest in the flat layout (`gpuforest::flat`): the CPU walk
//! ([`walk`]) and the output rule that finishes the CPU's and the GPU's sums alike ([`head`]).

pub mod head;
pub mod walk;

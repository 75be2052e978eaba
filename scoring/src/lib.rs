//! Scoring a forest in the flat layout: the layout's bits and its validator ([`layout`]), the
//! CPU walk that relies on them ([`walk`]), and the output rule that finishes the CPU's and the
//! GPU's sums alike ([`outputs`]); and TreeSHAP's arithmetic over one path ([`treeshap`]), the
//! explanations' hot loop. The unchecked walk and the validator that makes it sound sit
//! side by side here; `gpuforest::flat` builds, serialises and plans forests on top.

pub mod layout;
pub mod outputs;
pub mod treeshap;
pub mod walk;

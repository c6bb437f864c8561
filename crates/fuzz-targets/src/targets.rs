//! One module per fuzz target; each module's documentation states its invariants and
//! its input layout, and its function of the same name checks them.

pub mod cbo_consensus;
pub mod checkpoint;
pub mod config;
pub mod csv;
pub mod determinant_lemma;
pub mod diagnostics;
pub mod ensemble_new;
pub mod feature_map;
pub mod linear_solvers;
pub mod mirror_step;
pub mod neighbours;
pub mod report;
pub mod simplex_projection;
pub mod weights;

//! The fuzz targets of meanfield as plain functions `fn NAME(data: &[u8])`, one per
//! input surface (see `fuzz/README.md` for the table of targets and their invariants).
//! Each panics exactly when one of the invariants stated in its module's documentation
//! fails for `data`; for every other input it returns.
//!
//! Two drivers call them:
//! - `fuzz/fuzz_targets/NAME.rs`, one line each, hands them to libFuzzer for
//!   coverage-guided fuzzing on nightly (`cargo xtask fuzz`);
//! - `tests/replay.rs` of this crate, on the stable toolchain of `cargo test --workspace`:
//!   every committed seed of `fuzz/seeds/NAME/` (and the local `fuzz/corpus/NAME/` and
//!   `fuzz/artifacts/NAME/`), then a fixed number of deterministic mutations of them
//!   ([`mutate`]).
//!
//! The input decoding helpers they share are in [`input`] (re-exported here).

pub mod input;
pub mod mutate;
pub mod targets;

pub use input::*;
pub use targets::{
    cbo_consensus::cbo_consensus, checkpoint::checkpoint, config::config, csv::csv,
    determinant_lemma::determinant_lemma, diagnostics::diagnostics, ensemble_new::ensemble_new,
    feature_map::feature_map, linear_solvers::linear_solvers, mirror_step::mirror_step,
    neighbours::neighbours, report::report, simplex_projection::simplex_projection,
    weights::weights,
};

/// A fuzz target: panics when an invariant fails for the input.
pub type Target = fn(&[u8]);

/// Every fuzz target with its name (= its file `fuzz/fuzz_targets/NAME.rs`, its
/// `[[bin]]` in `fuzz/Cargo.toml` and its seed directory `fuzz/seeds/NAME/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("cbo_consensus", cbo_consensus),
    ("checkpoint", checkpoint),
    ("config", config),
    ("csv", csv),
    ("determinant_lemma", determinant_lemma),
    ("diagnostics", diagnostics),
    ("ensemble_new", ensemble_new),
    ("feature_map", feature_map),
    ("linear_solvers", linear_solvers),
    ("mirror_step", mirror_step),
    ("neighbours", neighbours),
    ("report", report),
    ("simplex_projection", simplex_projection),
    ("weights", weights),
];

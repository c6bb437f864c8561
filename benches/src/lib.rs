//! Criterion benchmarks of meanfield.

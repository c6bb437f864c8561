//! Particle-parallel loops that give the same bits with any number of threads.
//!
//! Each particle's update reads shared, already-computed mean-field statistics and its
//! own noise stream ([`crate::rng::NoiseStreams`]), and writes only its own row, so the
//! sequential and rayon loops below are interchangeable.

use rayon::prelude::*;

/// Whether to spread particle loops over the rayon thread pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Parallelism {
    /// One thread.
    #[default]
    Sequential,
    /// The current rayon pool (its size is set by the caller, e.g. `--threads`).
    Rayon,
}

/// Minimum particles per rayon task, so tiny ensembles do not pay scheduling costs.
const MIN_ROWS_PER_TASK: usize = 256;

/// Calls `f(i, row_i, aux_i)` for every particle row of `data` (rows of length `d`) and
/// the matching row of `aux` (rows of length `aux_d`, e.g. a drift buffer).
pub fn for_each_row_mut<F>(
    par: Parallelism,
    data: &mut [f64],
    d: usize,
    aux: &[f64],
    aux_d: usize,
    f: F,
) where
    F: Fn(usize, &mut [f64], &[f64]) + Send + Sync,
{
    match par {
        Parallelism::Sequential => data
            .chunks_exact_mut(d)
            .zip(aux.chunks_exact(aux_d))
            .enumerate()
            .for_each(|(i, (r, a))| f(i, r, a)),
        Parallelism::Rayon => data
            .par_chunks_exact_mut(d)
            .zip(aux.par_chunks_exact(aux_d))
            .enumerate()
            .with_min_len(MIN_ROWS_PER_TASK)
            .for_each(|(i, (r, a))| f(i, r, a)),
    }
}

/// Calls `f(i, chunk_i)` for every chunk of `chunk` consecutive items of `data` (a
/// particle's row, or its workspace with `chunk = 1`), on the rayon pool when asked, with
/// at least `min_chunks_per_task` chunks per task (small for expensive chunks). Each call
/// writes only its own chunk, so the thread count cannot change a bit.
pub fn for_each_chunk_mut<T, F>(
    par: Parallelism,
    data: &mut [T],
    chunk: usize,
    min_chunks_per_task: usize,
    f: F,
) where
    T: Send,
    F: Fn(usize, &mut [T]) + Send + Sync,
{
    match par {
        Parallelism::Sequential => data
            .chunks_exact_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i, c)),
        Parallelism::Rayon => data
            .par_chunks_exact_mut(chunk)
            .enumerate()
            .with_min_len(min_chunks_per_task.max(1))
            .for_each(|(i, c)| f(i, c)),
    }
}

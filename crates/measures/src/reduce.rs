//! Deterministic block reductions: the one way mean-field statistics (empirical means,
//! expectations, CBO's consensus sums, effective sample sizes) are summed over particles,
//! whether the ensemble lives in one process or is spread over ranks.
//!
//! The particles are cut into blocks of [`BLOCK`] consecutive global indices. A block's
//! partial sum Σ_{i∈b} t_i is a compensated (Neumaier) sum in index order; the partials
//! are then combined, again compensated, in block order:
//!
//! S = ⊕_{b = 0}^{B_N − 1} ( ⊕_{i ∈ b} t_i ),   B_N = ⌈N / BLOCK⌉.
//!
//! The result depends only on N, the terms and [`BLOCK`]: not on how many threads compute
//! the blocks (each block is one task) nor on how many ranks own them (a
//! [`Partition`](crate::distributed::Partition) gives each rank whole blocks; the ranks
//! all-gather their partials and every rank combines all of them in block order). So a
//! distributed run is bitwise identical to the single-process run for any rank count.
//!
//! Cost: per statistic, one Neumaier add (4 flops) per particle, B_N partials, and in a
//! distributed run an all-gather of B_N·k doubles (k statistics): at N = 10⁷ and k = 3,
//! 9 766 blocks, 234 KB per step. Error: |Ŝ − S| ≤ 2u Σ|t_i| + O(N u²) as for one
//! compensated pass.

use rayon::prelude::*;

use crate::compensated::{NeumaierSum, neumaier_add};
use crate::distributed::Shard;
use crate::error::{MeasuresError, Result};
use crate::parallel::Parallelism;

/// Particles per block B = 1024 (a power of two: the partition arithmetic is exact; large
/// enough that the partials are ≤ 0.1 % of the data, small enough that rayon gets work
/// from N ≥ 2048 and 4 ranks can share N = 4096).
pub const BLOCK: usize = 1024;

/// Partial sums of `k` statistics over the blocks of `n` rows: entry `b·k + j` is the
/// compensated sum of `term(i)[j]` over the rows i of block b (rows `b·BLOCK ..`), where
/// `term(i, out)` writes the k terms of row i into `out`. Blocks run on rayon when asked;
/// the values do not depend on it.
pub fn block_partials(
    n: usize,
    k: usize,
    parallelism: Parallelism,
    term: impl Fn(usize, &mut [f64]) + Sync,
) -> Vec<f64> {
    block_partials_skipping(n, k, parallelism, |_| false, term)
}

/// [`block_partials`] without the rows for which `zero(i)` holds, which the caller
/// guarantees to have only ±0 terms. Skipping them gives the same bits: a Neumaier step
/// with x = ±0 leaves (s, c) unchanged, since neither s nor c is ever −0 (both start at
/// +0, and a sum is −0 only from two −0 operands; `block_partials_skip_zero_rows_bit_for_bit`).
/// CBO's consensus skips the particles whose weight underflowed to 0, at large α most.
pub fn block_partials_skipping(
    n: usize,
    k: usize,
    parallelism: Parallelism,
    zero: impl Fn(usize) -> bool + Sync,
    term: impl Fn(usize, &mut [f64]) + Sync,
) -> Vec<f64> {
    let blocks = n.div_ceil(BLOCK);
    let mut partials = vec![0.0; blocks * k];
    if k == 0 {
        return partials;
    }
    // Sums and compensations in two arrays (not an array of `NeumaierSum`s) and the
    // branch-free step, so that the k independent accumulators run in SIMD lanes; the
    // bits are those of `NeumaierSum` (`block_partials_are_neumaier_sums_bit_for_bit`).
    let one = |b: usize, out: &mut [f64]| {
        let mut sums = vec![0.0; k];
        let mut comps = vec![0.0; k];
        let mut t = vec![0.0; k];
        crate::simd::vectorised(
            #[inline(always)]
            || {
                for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                    if zero(i) {
                        continue;
                    }
                    term(i, &mut t);
                    for ((s, c), &x) in sums.iter_mut().zip(comps.iter_mut()).zip(&t) {
                        neumaier_add(s, c, x);
                    }
                }
            },
        );
        for ((o, s), c) in out.iter_mut().zip(&sums).zip(&comps) {
            *o = s + c;
        }
    };
    match parallelism {
        Parallelism::Rayon if blocks > 1 => partials
            .par_chunks_exact_mut(k)
            .enumerate()
            .for_each(|(b, out)| one(b, out)),
        _ => partials
            .chunks_exact_mut(k)
            .enumerate()
            .for_each(|(b, out)| one(b, out)),
    }
    partials
}

/// Combines block partials (`k` per block, blocks in global order) by compensated sums
/// in block order.
pub fn combine(partials: &[f64], k: usize) -> Vec<f64> {
    let mut acc = vec![NeumaierSum::new(); k];
    if k > 0 {
        for block in partials.chunks_exact(k) {
            for (a, p) in acc.iter_mut().zip(block) {
                a.add(*p);
            }
        }
    }
    acc.iter().map(NeumaierSum::value).collect()
}

/// The reduction context of a particle loop: single-process, or one rank's [`Shard`] of
/// a distributed ensemble (then sums are global and particle i is global particle
/// `first + i`).
#[derive(Debug, Clone, Default)]
pub struct Reducer {
    shard: Option<Shard>,
    parallelism: Parallelism,
}

impl Reducer {
    /// Single-process reductions (sequential blocks).
    pub fn local() -> Self {
        Self::default()
    }

    /// The reductions of an ensemble: over its shard's ranks when it has one.
    pub fn of(ens: &crate::Ensemble) -> Self {
        Self {
            shard: ens.shard().cloned(),
            parallelism: Parallelism::Sequential,
        }
    }

    /// Computes blocks on the rayon pool (results unchanged).
    #[must_use]
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.parallelism = parallelism;
        self
    }

    /// The shard, when distributed.
    pub fn shard(&self) -> Option<&Shard> {
        self.shard.as_ref()
    }

    /// Global index of local particle `i` (the key of its noise streams).
    #[inline]
    pub fn global_index(&self, i: usize) -> u64 {
        (self.shard.as_ref().map_or(0, Shard::first) + i) as u64
    }

    /// Global number of particles, given the local count `n`.
    pub fn global_n(&self, n: usize) -> usize {
        self.shard.as_ref().map_or(n, |s| s.partition().global_n())
    }

    /// Σ over every particle of the run of `term(i)` (k statistics; `term(i, out)` writes
    /// local row i's terms), by blocks (module docs).
    ///
    /// # Errors
    /// [`MeasuresError::RankFailed`] if a rank failed; [`MeasuresError::DimensionMismatch`]
    /// if `n` is not the shard's local size.
    pub fn sums(
        &self,
        n: usize,
        k: usize,
        term: impl Fn(usize, &mut [f64]) + Sync,
    ) -> Result<Vec<f64>> {
        self.sums_skipping(n, k, |_| false, term)
    }

    /// [`Reducer::sums`] without the rows for which `zero(i)` holds, whose terms the
    /// caller guarantees to be ±0: the same bits ([`block_partials_skipping`]).
    ///
    /// # Errors
    /// As [`Reducer::sums`].
    pub fn sums_skipping(
        &self,
        n: usize,
        k: usize,
        zero: impl Fn(usize) -> bool + Sync,
        term: impl Fn(usize, &mut [f64]) + Sync,
    ) -> Result<Vec<f64>> {
        let partials = block_partials_skipping(n, k, self.parallelism, zero, term);
        match &self.shard {
            None => Ok(combine(&partials, k)),
            Some(shard) => {
                let range = shard.partition().range();
                if range.len() != n {
                    return Err(MeasuresError::DimensionMismatch {
                        what: "rows of this rank's shard",
                        expected: range.len(),
                        got: n,
                    });
                }
                let all = shard.collective().all_gather(&partials)?;
                Ok(combine(&all.concat(), k))
            }
        }
    }

    /// The maximum over every rank of the ranks' `local` maxima (`local` in a single
    /// process): one value per rank gathered, then folded in rank order (NaN-ignoring,
    /// as [`f64::max`]).
    ///
    /// # Errors
    /// [`MeasuresError::RankFailed`] if a rank failed.
    pub fn max(&self, local: f64) -> Result<f64> {
        Ok(self
            .gather(&[local])?
            .iter()
            .flatten()
            .fold(f64::NEG_INFINITY, |m, v| m.max(*v)))
    }

    /// Every rank's `local` values in rank order (`[local]` in a single process).
    ///
    /// # Errors
    /// [`MeasuresError::RankFailed`] if a rank failed.
    pub fn gather(&self, local: &[f64]) -> Result<Vec<Vec<f64>>> {
        match &self.shard {
            None => Ok(vec![local.to_vec()]),
            Some(shard) => Ok(shard.collective().all_gather(local)?),
        }
    }
}

//! The particle ensemble: N points X^1, …, X^N ∈ X ⊆ R^d, optionally weighted, that
//! represent the empirical measure μ_N = Σ_i W^i δ_{X^i} (W^i = 1/N when unweighted).
//!
//! Storage is one contiguous row-major buffer: particle i occupies
//! `data[i*d .. (i+1)*d]`, so a sweep over particles is a sweep over memory and the
//! rows split cleanly across threads.
//!
//! A distributed run gives each rank an ensemble of its own rows with a [`Shard`]
//! ([`Ensemble::scatter`], [`Ensemble::from_fn_shard`]): its [`Ensemble::mean`],
//! [`Ensemble::expectation`] and unweighted [`Ensemble::weight`] (1/N with the global N)
//! are those of the whole distributed ensemble, computed by the block reductions of
//! [`crate::reduce`], and local row i is global particle [`Ensemble::first_index`] + i.

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::distributed::{Collective, Partition, Shard};
use crate::domain::Domain;
use crate::error::{MeasuresError, Result};
use crate::reduce::Reducer;
use crate::weights::Weights;

/// N particles in R^d on a [`Domain`], with optional [`Weights`].
///
/// Deserialisation re-validates (shape, finiteness, domain, weights), so a corrupted
/// checkpoint is a typed error when loaded rather than a panic later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "EnsembleRepr")]
pub struct Ensemble {
    n: usize,
    d: usize,
    data: Vec<f64>,
    weights: Option<Weights>,
    domain: Domain,
    /// This rank's place in a distributed ensemble (never serialised: checkpoints hold
    /// the gathered, global ensemble).
    #[serde(skip_serializing)]
    shard: Option<Shard>,
}

impl Ensemble {
    /// Builds an ensemble from a row-major buffer of length N·d. Rejects N = 0, d = 0, a
    /// mis-sized buffer, non-finite coordinates and points outside the domain.
    pub fn new(n: usize, d: usize, data: Vec<f64>, domain: Domain) -> Result<Self> {
        if n == 0 {
            return Err(MeasuresError::Empty {
                what: "number of particles",
            });
        }
        if d == 0 {
            return Err(MeasuresError::Empty { what: "dimension" });
        }
        let expected = n.checked_mul(d).ok_or(MeasuresError::DimensionMismatch {
            what: "ensemble buffer (N·d overflows)",
            expected: usize::MAX,
            got: data.len(),
        })?;
        if data.len() != expected {
            return Err(MeasuresError::DimensionMismatch {
                what: "ensemble buffer",
                expected,
                got: data.len(),
            });
        }
        domain.check_dim(d)?;
        let ens = Self {
            n,
            d,
            data,
            weights: None,
            domain,
            shard: None,
        };
        ens.validate()?;
        Ok(ens)
    }

    /// This rank's rows of the distributed ensemble of `partition`.global_n() particles:
    /// `f(i, row)` fills the row of **global** particle i, for i in `partition.range()`
    /// (draw from the stream of global index i to get the single-process run's particle).
    ///
    /// # Errors
    /// As [`Ensemble::from_fn`]; [`crate::MeasuresError::InvalidPartition`] if the
    /// partition is not the collective's.
    pub fn from_fn_shard(
        partition: Partition,
        collective: Arc<dyn Collective>,
        d: usize,
        domain: Domain,
        mut f: impl FnMut(usize, &mut [f64]),
    ) -> Result<Self> {
        let shard = Shard::new(partition, collective)?;
        let first = shard.first();
        let mut ens = Self::from_fn(partition.range().len(), d, domain, |i, row| {
            f(first + i, row)
        })?;
        ens.shard = Some(shard);
        Ok(ens)
    }

    /// This rank's rows of a global (single-process) ensemble, as a shard of the
    /// distributed ensemble over `collective` ([`Partition::of`] its size). A weighted
    /// ensemble keeps its weights: the shard holds this rank's part of the global
    /// weights (they sum to 1 over the ranks; [`crate::weights`]).
    ///
    /// # Errors
    /// [`crate::MeasuresError::InvalidPartition`] if `self` is already a shard or has
    /// too few particles for the ranks.
    pub fn scatter(&self, collective: Arc<dyn Collective>) -> Result<Self> {
        if self.shard.is_some() {
            return Err(MeasuresError::InvalidPartition {
                reason: "the ensemble is already a shard".into(),
            });
        }
        let partition = Partition::of(self.n, collective.as_ref())?;
        let range = partition.range();
        let data = self.data[range.start * self.d..range.end * self.d].to_vec();
        let weights = self
            .weights
            .as_ref()
            .map(|w| Weights::from_parts_unnormalised(w.as_slice()[range.clone()].to_vec()));
        Ok(Self {
            n: range.len(),
            d: self.d,
            data,
            weights,
            domain: self.domain.clone(),
            shard: Some(Shard::new(partition, collective)?),
        })
    }

    /// The global ensemble (every rank's rows in rank order, and the weights if it is
    /// weighted), on every rank, in one all-gather; a single-process ensemble is
    /// returned as it is. Memory: N·d doubles (+ N weights) per rank.
    ///
    /// # Errors
    /// [`crate::MeasuresError::RankFailed`] if a rank failed;
    /// [`crate::MeasuresError::InvalidPartition`] if some ranks' shards are weighted and
    /// others not.
    pub fn gather(&self) -> Result<Self> {
        let Some(shard) = &self.shard else {
            return Ok(self.clone());
        };
        // One payload per rank: its rows, then its weights when weighted (a rank's
        // length tells which: n_r·d or n_r·(d + 1)).
        let mut payload = self.data.clone();
        if let Some(w) = &self.weights {
            payload.extend_from_slice(w.as_slice());
        }
        let all = shard.collective().all_gather(&payload)?;
        let partition = shard.partition();
        let (mut data, mut weights) = (
            Vec::with_capacity(partition.global_n() * self.d),
            Vec::new(),
        );
        let mut weighted = Vec::with_capacity(all.len());
        for (r, part) in all.iter().enumerate() {
            let rows = partition.range_of(r).len() * self.d;
            data.extend_from_slice(&part[..rows.min(part.len())]);
            weights.extend_from_slice(&part[rows.min(part.len())..]);
            weighted.push(part.len() > rows);
        }
        if weighted.iter().any(|w| *w != weighted[0]) {
            return Err(MeasuresError::InvalidPartition {
                reason: "some ranks' shards are weighted and others are not".into(),
            });
        }
        Ok(Self {
            n: partition.global_n(),
            d: self.d,
            data,
            weights: weighted[0].then(|| Weights::from_parts_unnormalised(weights)),
            domain: self.domain.clone(),
            shard: None,
        })
    }

    /// This rank's place in a distributed ensemble (`None` in a single process).
    pub fn shard(&self) -> Option<&Shard> {
        self.shard.as_ref()
    }

    /// Global index of local row 0 (0 in a single process): local row i is particle
    /// `first_index() + i` of the run, which keys its random streams.
    pub fn first_index(&self) -> u64 {
        self.shard.as_ref().map_or(0, Shard::first) as u64
    }

    /// Number of particles of the whole (distributed) ensemble; [`Ensemble::n`] is the
    /// number of local rows.
    pub fn global_n(&self) -> usize {
        self.shard
            .as_ref()
            .map_or(self.n, |s| s.partition().global_n())
    }

    /// Builds an ensemble by evaluating `f(i, row)` for every particle row.
    ///
    /// The shape is checked before anything is allocated: N = 0, d = 0 and an N·d that
    /// overflows or exceeds the per-buffer limit of [`crate::alloc`] are errors, not panics.
    pub fn from_fn(
        n: usize,
        d: usize,
        domain: Domain,
        mut f: impl FnMut(usize, &mut [f64]),
    ) -> Result<Self> {
        if n == 0 || d == 0 || n.checked_mul(d).is_none() {
            // `new` reports the precise shape error without touching the buffer.
            return Self::new(n, d, Vec::new(), domain);
        }
        let mut data = crate::alloc::zeroed_f64("ensemble buffer (N × d)", &[n, d])?;
        for (i, row) in data.chunks_exact_mut(d).enumerate() {
            f(i, row);
        }
        Self::new(n, d, data, domain)
    }

    /// Checks every coordinate is finite and every particle lies in the (closed) domain.
    pub fn validate(&self) -> Result<()> {
        self.check_finite()?;
        for (i, row) in self.rows().enumerate() {
            if let Some(reason) = self.domain.violation(row) {
                return Err(MeasuresError::OutsideDomain {
                    particle: self.first_index() as usize + i,
                    domain: self.domain.name(),
                    reason,
                });
            }
        }
        Ok(())
    }

    /// First non-finite coordinate, as a typed error.
    pub fn check_finite(&self) -> Result<()> {
        match self.data.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(k) => Err(MeasuresError::NonFinite {
                what: "ensemble",
                particle: self.first_index() as usize + k / self.d,
                coordinate: k % self.d,
                value: self.data[k],
            }),
        }
    }

    /// Number of particles N (of this rank's rows, for a shard: see [`Ensemble::global_n`]).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Dimension d.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// The domain X.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// Row-major coordinates (length N·d).
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// Mutable row-major coordinates. Integrators write here; the runner re-validates
    /// finiteness after each step.
    pub fn as_mut_slice(&mut self) -> &mut [f64] {
        &mut self.data
    }

    /// Particle i (panics only on an out-of-range index, a programming error).
    pub fn particle(&self, i: usize) -> &[f64] {
        &self.data[i * self.d..(i + 1) * self.d]
    }

    /// Mutable particle i.
    pub fn particle_mut(&mut self, i: usize) -> &mut [f64] {
        &mut self.data[i * self.d..(i + 1) * self.d]
    }

    /// Iterator over particle rows.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, f64> {
        self.data.chunks_exact(self.d)
    }

    /// Mutable iterator over particle rows.
    pub fn rows_mut(&mut self) -> std::slice::ChunksExactMut<'_, f64> {
        self.data.chunks_exact_mut(self.d)
    }

    /// The weights, if the measure is weighted.
    pub fn weights(&self) -> Option<&Weights> {
        self.weights.as_ref()
    }

    /// Mutable weights, if the measure is weighted.
    pub fn weights_mut(&mut self) -> Option<&mut Weights> {
        self.weights.as_mut()
    }

    /// Attaches weights (length must be N; not on a shard, whose weights are a part of
    /// global weights: scatter a weighted ensemble, or use
    /// [`Ensemble::set_uniform_weights`]).
    pub fn set_weights(&mut self, w: Weights) -> Result<()> {
        if self.shard.is_some() {
            return Err(MeasuresError::InvalidPartition {
                reason: "weights normalised on one rank cannot be attached to a shard of a \
                         distributed ensemble (scatter a weighted ensemble, or use \
                         Ensemble::set_uniform_weights)"
                    .into(),
            });
        }
        if w.len() != self.n {
            return Err(MeasuresError::DimensionMismatch {
                what: "weights",
                expected: self.n,
                got: w.len(),
            });
        }
        self.weights = Some(w);
        Ok(())
    }

    /// Attaches the uniform weights W^i = 1/N, N global for a shard (each rank holds its
    /// part).
    ///
    /// # Errors
    /// Never for a valid ensemble (N ≥ 1).
    pub fn set_uniform_weights(&mut self) -> Result<()> {
        let w = Weights::uniform(self.global_n())?.as_slice()[0];
        self.weights = Some(Weights::from_parts_unnormalised(vec![w; self.n]));
        Ok(())
    }

    /// Drops the weights (back to the uniform empirical measure).
    pub fn clear_weights(&mut self) {
        self.weights = None;
    }

    /// Weight of particle i: W^i, or 1/N when unweighted (N global for a shard).
    pub fn weight(&self, i: usize) -> f64 {
        self.weights
            .as_ref()
            .map_or(1.0 / self.global_n() as f64, |w| w.as_slice()[i])
    }

    /// E_μN[f] = Σ_i W^i f(X^i) ∈ R^k over the whole (distributed) ensemble, where
    /// `f(x, out)` writes the k values at x: the block reduction of [`crate::reduce`],
    /// so the same bits for any thread or rank count.
    ///
    /// # Errors
    /// [`MeasuresError::RankFailed`] if a rank of a distributed run failed.
    pub fn expectation(&self, k: usize, f: impl Fn(&[f64], &mut [f64]) + Sync) -> Result<Vec<f64>> {
        let d = self.d;
        Reducer::of(self).sums(self.n, k, |i, out| {
            f(&self.data[i * d..(i + 1) * d], out);
            let w = self.weight(i);
            out.iter_mut().for_each(|v| *v *= w);
        })
    }

    /// Mean E_μN[x] = Σ_i W^i X^i (block reduction, global for a shard).
    ///
    /// # Errors
    /// [`MeasuresError::RankFailed`] if a rank of a distributed run failed.
    pub fn try_mean(&self) -> Result<Vec<f64>> {
        self.expectation(self.d, |x, out| out.copy_from_slice(x))
    }

    /// Mean `E_μN[x]` = Σ_i W^i X^i, written into `out` (length d), by the block
    /// reduction of [`crate::reduce`]. If a rank of a distributed run failed, `out` is
    /// NaN and the failure is recorded by the collective (the runner reports it; use
    /// [`Ensemble::try_mean`] to get it here).
    pub fn mean_into(&self, out: &mut [f64]) {
        match self.try_mean() {
            Ok(m) => out.copy_from_slice(&m),
            Err(_) => out.fill(f64::NAN),
        }
    }

    /// Mean `E_μN[x]` (allocating; see [`Ensemble::mean_into`]).
    pub fn mean(&self) -> Vec<f64> {
        let mut m = vec![0.0; self.d];
        self.mean_into(&mut m);
        m
    }
}

/// The serialised form of an [`Ensemble`], validated by `TryFrom` on load.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnsembleRepr {
    n: usize,
    d: usize,
    data: Vec<f64>,
    weights: Option<Weights>,
    domain: Domain,
}

impl TryFrom<EnsembleRepr> for Ensemble {
    type Error = MeasuresError;

    fn try_from(r: EnsembleRepr) -> Result<Self> {
        let mut ens = Ensemble::new(r.n, r.d, r.data, r.domain)?;
        if let Some(w) = r.weights {
            ens.set_weights(w)?;
        }
        Ok(ens)
    }
}

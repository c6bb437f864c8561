//! The particle ensemble: N points X^1, …, X^N ∈ X ⊆ R^d, optionally weighted, that
//! represent the empirical measure μ_N = Σ_i W^i δ_{X^i} (W^i = 1/N when unweighted).
//!
//! Storage is one contiguous row-major buffer: particle i occupies
//! `data[i*d .. (i+1)*d]`, so a sweep over particles is a sweep over memory and the
//! rows split cleanly across threads.

use serde::{Deserialize, Serialize};

use crate::compensated::NeumaierSum;
use crate::domain::Domain;
use crate::error::{MeasuresError, Result};
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
        };
        ens.validate()?;
        Ok(ens)
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
                    particle: i,
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
                particle: k / self.d,
                coordinate: k % self.d,
                value: self.data[k],
            }),
        }
    }

    /// Number of particles N.
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

    /// Attaches weights (length must be N).
    pub fn set_weights(&mut self, w: Weights) -> Result<()> {
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

    /// Drops the weights (back to the uniform empirical measure).
    pub fn clear_weights(&mut self) {
        self.weights = None;
    }

    /// Weight of particle i: W^i, or 1/N when unweighted.
    pub fn weight(&self, i: usize) -> f64 {
        self.weights
            .as_ref()
            .map_or(1.0 / self.n as f64, |w| w.as_slice()[i])
    }

    /// Mean `E_μN[x]` = Σ_i W^i X^i, written into `out` (length d), with compensated sums.
    pub fn mean_into(&self, out: &mut [f64]) {
        let mut acc = vec![NeumaierSum::new(); self.d];
        for (i, row) in self.rows().enumerate() {
            let w = self.weight(i);
            for (a, x) in acc.iter_mut().zip(row) {
                a.add(w * x);
            }
        }
        for (o, a) in out.iter_mut().zip(&acc) {
            *o = a.value();
        }
    }

    /// Mean `E_μN[x]` (allocating).
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

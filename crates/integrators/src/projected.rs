//! Projected mean-field Langevin dynamics: the Euler–Maruyama MFLD step followed by the
//! Euclidean projection onto the closed convex domain X of the ensemble,
//!
//! X^i_{k+1} = P_X( X^i_k − η ∇_x (δF/δμ)(μ_N(k), X^i_k) + √(2λη) ξ^i_k ),
//! ξ^i_k ~ N(0, I_d),  P_X(z) = argmin_{x ∈ X} |x − z|.
//!
//! - Simplex Δ = {x ≥ 0, Σx = 1} (full coordinates): the sort-free (Michelot
//!   fixed-point) projection
//!   ([`project_simplex_in_place`](meanfield_measures::projection::project_simplex_in_place)),
//!   equal to the sort-based one to rounding.
//! - Box Π [l_i, u_i]: coordinate-wise clamping.
//! - R^d: no projection; the scheme is then plain MFLD ([`crate::Mfld`]) bit for bit.
//!
//! The mean-field gradient is formed once per step at ensemble level; each particle then
//! reads only its own noise stream (purpose [`LANGEVIN_NOISE`]) and writes only its own
//! row, so the result is the same for any thread count.
//!
//! [`LANGEVIN_NOISE`]: meanfield_measures::streams::LANGEVIN_NOISE
//!
//! Invariant (proptest in `tests/mirror_langevin.rs`): every iterate lies in the *closed*
//! domain (x ≥ 0 and |Σx − 1| ≤ 1e-12 on the simplex; l ≤ x ≤ u on a box). Unlike
//! mirror schemes, projected iterates do reach the boundary (a positive fraction of the
//! particles sits exactly on a face), so functionals that are infinite there (e.g. the
//! barrier β Σ E[−ln x_i] with β > 0) are rejected by the functional with a typed error.

use meanfield_energy::Functional;
use meanfield_measures::projection::project_in_place;
use meanfield_measures::{Domain, Ensemble, Parallelism};

use crate::dynamics::{Dynamics, StepKey};
use crate::error::{IntegratorError, Result};
use crate::langevin::{LangevinCore, LangevinInfo, LangevinParams, check_dim_positive};

thread_local! {
    /// The per-thread scratch buffer behind [`with_scratch`] (grown, never shrunk).
    static SCRATCH: std::cell::Cell<Vec<f64>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Runs `f` with a zeroed scratch slice of length `len`, taken from a per-thread buffer
/// that is reused from particle to particle: per-particle work stays free of
/// allocations (a mirror step at d = 100 needs 3d = 300 entries, which used to be a heap
/// allocation per particle) without a shared, thread-unsafe buffer, and only the `len`
/// entries used are zeroed. A nested call (the buffer is taken out while in use) gets a
/// fresh buffer, so nesting is correct, just not free.
pub(crate) fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f64]) -> R) -> R {
    let mut buf = SCRATCH.take();
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    let scratch = &mut buf[..len];
    scratch.fill(0.0);
    let r = f(scratch);
    SCRATCH.set(buf);
    r
}

/// [`with_scratch`] without the zeroing: the entries hold whatever an earlier use left,
/// so `f` must write every entry before it reads it (a read of a stale entry would make
/// results depend on which particle the thread moved before). For moves that fill their
/// scratch completely, at small d where the zeroing call is a visible part of the move.
pub(crate) fn with_written_scratch<R>(len: usize, f: impl FnOnce(&mut [f64]) -> R) -> R {
    let mut buf = SCRATCH.take();
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    let r = f(&mut buf[..len]);
    SCRATCH.set(buf);
    r
}

/// Projected MFLD on a simplex, a box, or (degenerately) R^d.
pub struct ProjectedMfld<F> {
    core: LangevinCore<F>,
}

impl<F: Functional> ProjectedMfld<F> {
    /// Projected MFLD for `functional` with the given parameters (sequential particle
    /// loop). The domain is the ensemble's own.
    ///
    /// # Errors
    /// [`IntegratorError::InvalidParameter`] if the functional has dimension 0.
    pub fn new(functional: F, params: LangevinParams) -> Result<Self> {
        Ok(Self {
            core: LangevinCore::new(check_dim_positive(functional)?, params),
        })
    }

    /// Spreads the particle loop over the rayon pool (results unchanged).
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.core.set_parallelism(parallelism);
        self
    }

    /// The functional F.
    pub fn functional(&self) -> &F {
        self.core.functional()
    }

    /// The parameters.
    pub fn params(&self) -> &LangevinParams {
        self.core.params()
    }
}

impl<F: Functional> Dynamics for ProjectedMfld<F> {
    type State = Ensemble;
    type Info = LangevinInfo;

    fn fingerprint(&self) -> String {
        format!("projected-mfld({})", self.core.params_fingerprint())
    }

    /// The dimension must match the functional, the domain must be R^d, a simplex or a
    /// box, and every particle must lie in the closed domain.
    fn check_state(&self, ens: &Ensemble) -> Result<()> {
        self.core.check_dim(ens)?;
        if !matches!(
            ens.domain(),
            Domain::Euclidean | Domain::Simplex | Domain::Box(_)
        ) {
            return Err(IntegratorError::IncompatibleState(format!(
                "projected MFLD has no projection onto the {} domain",
                ens.domain().name()
            )));
        }
        ens.validate()?;
        Ok(())
    }

    /// The ensemble as given (its domain is the one projected onto).
    fn init_state(&self, ensemble: Ensemble, _seed: u64) -> Result<Ensemble> {
        Ok(ensemble)
    }

    fn step(&mut self, key: StepKey, ens: &mut Ensemble) -> Result<LangevinInfo> {
        let domain = ens.domain().clone();
        self.core.euler_maruyama_step(key, ens, |x| {
            if !matches!(domain, Domain::Euclidean) {
                with_scratch(x.len(), |scratch| project_in_place(&domain, x, scratch));
            }
        })
    }
}

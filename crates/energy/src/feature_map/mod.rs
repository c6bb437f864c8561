//! Feature maps Φ: R^T → R^K of microcanonical models, their Jacobians and their
//! weighted Hessians Σ_k c_k ∇²Φ_k(x) as *structured* operators.
//!
//! A microcanonical gradient step x ← x − s J(x)ᵀ r (r = Φ − α or Φ̄ − α) has the Jacobian
//! I − s Σ_k r_k ∇²Φ_k(x) − (coupling terms of rank K). Its log-determinant needs only
//! solves with, and log|det| of, I − s H for the weighted Hessian H; the
//! [`StructuredHessian`] trait provides exactly that in O(T·w²) for a band of
//! half-width w, never forming a dense T × T matrix.
//!
//! | type | features | Hessian |
//! |---|---|---|
//! | [`Acf1`] | Φ₁ = (1/T) Σ_{t≥1} x_t x_{t−1}, Φ₂ = (1/T) Σ_{t≥1} x_t² (spec `mf-mgdm.md`) | symmetric tridiagonal |
//! | [`MultiLagAcf`] | moments and autocovariances of x and x² at lags 0..L | symmetric banded, half-width L |
//! | [`ScaledFeatures`] | s_k Φ_k of an inner map (feature balancing) | that of the inner map |

mod acf1;
mod multi_lag;
mod scaled;

pub use acf1::Acf1;
pub use multi_lag::MultiLagAcf;
pub use scaled::ScaledFeatures;

use meanfield_linalg::{
    BandedLu, BlockSolver, LinalgError, LogDet, SymBanded, SymTridiagonal, SymTridiagonalLdl,
};

use crate::error::{EnergyError, Result};

/// The weighted Hessian H = Σ_k c_k ∇²Φ_k(x) of a [`FeatureMap`], stored in its
/// structure, and the factorisation of the (masked) step Jacobian block built from it.
pub trait StructuredHessian: Clone + Send + Sync + std::fmt::Debug {
    /// Factorisation of the step block (log|det| and solves).
    type Factor: BlockSolver + Clone + Send + Sync + std::fmt::Debug;

    /// Dimension T.
    fn dim(&self) -> usize;

    /// y = H v.
    ///
    /// # Errors
    /// [`LinalgError::DimensionMismatch`] for wrong lengths.
    fn matvec_into(&self, v: &[f64], y: &mut [f64]) -> meanfield_linalg::Result<()>;

    /// H as a dense row-major T × T buffer (for tests and small T only).
    fn to_dense_row_major(&self) -> Vec<f64>;

    /// A factor object of the right shape (the identity), to be overwritten by
    /// [`StructuredHessian::factor_step`].
    fn new_factor(&self) -> Self::Factor;

    /// Factors the step block B̃ = P(I − s H)P + (I − P), P = diag(mask) (all ones when
    /// `mask` is `None`).
    ///
    /// With the positivity projection, frozen coordinates have identity rows in the step
    /// Jacobian A = I − s P H. Then det A = det B̃ and A⁻¹ P v = B̃⁻¹ P v (block
    /// elimination over the active/frozen split), so the symmetric B̃ is all the
    /// determinant lemma needs.
    ///
    /// # Errors
    /// A singular or non-finite block ([`LinalgError`]).
    fn factor_step(
        &self,
        s: f64,
        mask: Option<&[bool]>,
        factor: &mut Self::Factor,
    ) -> meanfield_linalg::Result<()>;

    /// [`StructuredHessian::factor_step`] for several Hessians of one structure at once,
    /// `items[i]` = (H, mask, factor), with the outcomes in `result` (same length): every
    /// factor and outcome is bitwise that of its own `factor_step`. The default factors
    /// them one by one; tridiagonal Hessians advance their pivot recurrences together
    /// ([`SymTridiagonalLdl::refactor_many`]).
    fn factor_steps(
        s: f64,
        items: &mut [StepItem<'_, Self>],
        result: &mut [meanfield_linalg::Result<()>],
    ) where
        Self: Sized,
    {
        for ((h, mask, f), r) in items.iter_mut().zip(result) {
            *r = h.factor_step(s, *mask, f);
        }
    }
}

/// One block of [`StructuredHessian::factor_steps`]: the weighted Hessian H, the
/// projection mask (`None`: all coordinates active) and the factor to overwrite.
pub type StepItem<'a, H> = (
    &'a H,
    Option<&'a [bool]>,
    &'a mut <H as StructuredHessian>::Factor,
);

/// A feature map Φ: R^T → R^K with analytic Jacobian and structured Hessians.
pub trait FeatureMap: Send + Sync {
    /// Storage of the weighted Hessian.
    type Hessian: StructuredHessian;

    /// Path length T (the input dimension).
    fn len(&self) -> usize;

    /// Always false: T ≥ 2 is enforced by the constructors.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of features K.
    fn n_features(&self) -> usize;

    /// Short name, e.g. `acf1`.
    fn name(&self) -> String;

    /// Identifies Φ and every parameter that changes its values (MGDM puts it into its
    /// checkpoint fingerprint). Default: [`FeatureMap::name`] with the path length.
    fn fingerprint(&self) -> String {
        format!("{}(T={})", self.name(), self.len())
    }

    /// Φ(x) into `phi` (length K).
    ///
    /// # Errors
    /// [`EnergyError::DimensionMismatch`] for wrong lengths.
    fn eval(&self, x: &[f64], phi: &mut [f64]) -> Result<()>;

    /// The Jacobian J(x) into `jac`, row-major K × T (row k = ∇Φ_k(x)).
    ///
    /// # Errors
    /// [`EnergyError::DimensionMismatch`] for wrong lengths.
    fn jacobian(&self, x: &[f64], jac: &mut [f64]) -> Result<()>;

    /// A zero Hessian of the right structure.
    fn new_hessian(&self) -> Self::Hessian;

    /// H = Σ_k c_k ∇²Φ_k(x) into `h`.
    ///
    /// # Errors
    /// [`EnergyError::DimensionMismatch`] for wrong lengths.
    fn weighted_hessian(&self, x: &[f64], c: &[f64], h: &mut Self::Hessian) -> Result<()>;

    /// `true` if [`FeatureMap::weighted_hessian`] depends on the weights c only, not on
    /// the path x, bit for bit (quadratic features such as autocorrelations: every
    /// ∇²Φ_k is a constant matrix). MF-MGDM then factors one step block per coupling
    /// group instead of one per path, since the paths of a group share c = Φ̄_G − α.
    /// Default `false` (always correct; only slower).
    fn hessian_is_constant(&self) -> bool {
        false
    }
}

/// Checks a slice length for a feature-map call.
pub(crate) fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(EnergyError::DimensionMismatch {
            what,
            expected,
            got,
        })
    }
}

/// Checks the path length of a feature-map constructor (T ≥ 2).
pub(crate) fn check_path_len(t: usize) -> Result<()> {
    if t >= 2 {
        Ok(())
    } else {
        Err(EnergyError::InvalidParameter {
            name: "T",
            value: t as f64,
            reason: "a path needs at least 2 points",
        })
    }
}

/// A projection mask, if any, has one entry per coordinate.
fn check_mask(mask: Option<&[bool]>, n: usize) -> meanfield_linalg::Result<()> {
    match mask {
        Some(m) if m.len() != n => Err(LinalgError::DimensionMismatch {
            what: "projection mask length",
            expected: n,
            got: m.len(),
        }),
        _ => Ok(()),
    }
}

/// The factored step block B̃ of a structured Hessian together with the scratch matrix
/// it was built in (re-used by every [`StructuredHessian::factor_step`], so a time loop
/// does not allocate). Solves and log|det| delegate to the factorisation `F`.
#[derive(Debug, Clone)]
pub struct StepFactor<M, F> {
    scratch: M,
    factor: F,
}

impl<M, F: BlockSolver> BlockSolver for StepFactor<M, F> {
    fn dim(&self) -> usize {
        self.factor.dim()
    }
    fn log_det(&self) -> meanfield_linalg::Result<LogDet> {
        self.factor.log_det()
    }
    fn solve_in_place(&self, rhs: &mut [f64]) -> meanfield_linalg::Result<()> {
        self.factor.solve_in_place(rhs)
    }
    fn solve_mat_in_place(&self, rhs: faer::MatMut<'_, f64>) -> meanfield_linalg::Result<()> {
        self.factor.solve_mat_in_place(rhs)
    }
    fn solve_interleaved_in_place(&self, x: &mut [f64], c: usize) -> meanfield_linalg::Result<()> {
        self.factor.solve_interleaved_in_place(x, c)
    }
}

/// Tridiagonal Hessians (ACF(1)): B̃ is symmetric tridiagonal, factored by LDLᵀ.
impl StructuredHessian for SymTridiagonal {
    type Factor = StepFactor<SymTridiagonal, SymTridiagonalLdl>;

    fn dim(&self) -> usize {
        SymTridiagonal::dim(self)
    }

    fn matvec_into(&self, v: &[f64], y: &mut [f64]) -> meanfield_linalg::Result<()> {
        SymTridiagonal::matvec_into(self, v, y)
    }

    fn to_dense_row_major(&self) -> Vec<f64> {
        let n = self.dim();
        let d = self.to_dense();
        (0..n * n).map(|k| d[(k / n, k % n)]).collect()
    }

    fn new_factor(&self) -> Self::Factor {
        let n = self.dim();
        let eye = SymTridiagonal::new(vec![1.0; n], vec![0.0; n.saturating_sub(1)])
            .expect("identity of dimension n ≥ 1 is valid");
        let factor = SymTridiagonalLdl::new(&eye).expect("identity is non-singular");
        StepFactor {
            scratch: eye,
            factor,
        }
    }

    fn factor_step(
        &self,
        s: f64,
        mask: Option<&[bool]>,
        f: &mut Self::Factor,
    ) -> meanfield_linalg::Result<()> {
        fill_step_block(self, s, mask, f)?;
        f.factor.refactor(&f.scratch)
    }

    fn factor_steps(
        s: f64,
        items: &mut [StepItem<'_, Self>],
        result: &mut [meanfield_linalg::Result<()>],
    ) {
        let mut factors = Vec::with_capacity(items.len());
        let mut blocks = Vec::with_capacity(items.len());
        let mut slots = Vec::with_capacity(items.len());
        for (i, ((h, mask, f), r)) in items.iter_mut().zip(result.iter_mut()).enumerate() {
            *r = fill_step_block(h, s, *mask, f);
            if r.is_ok() {
                let StepFactor { scratch, factor } = &mut **f;
                factors.push(factor);
                blocks.push(&*scratch);
                slots.push(i);
            }
        }
        let mut outcome = vec![Ok(()); slots.len()];
        SymTridiagonalLdl::refactor_many(&mut factors, &blocks, &mut outcome);
        for (i, o) in slots.into_iter().zip(outcome) {
            result[i] = o;
        }
    }
}

/// The tridiagonal step block B̃ = P(I − sH)P + (I − P) into the factor's scratch (not
/// factored yet).
fn fill_step_block(
    h: &SymTridiagonal,
    s: f64,
    mask: Option<&[bool]>,
    f: &mut StepFactor<SymTridiagonal, SymTridiagonalLdl>,
) -> meanfield_linalg::Result<()> {
    let n = h.dim();
    check_mask(mask, n)?;
    if f.scratch.dim() != n {
        *f = h.new_factor();
    }
    let active = |t: usize| mask.is_none_or(|m| m[t]);
    for (t, (b, &h)) in f.scratch.diag_mut().iter_mut().zip(h.diag()).enumerate() {
        *b = if active(t) { 1.0 - s * h } else { 1.0 };
    }
    for (t, (b, &h)) in f.scratch.off_mut().iter_mut().zip(h.off()).enumerate() {
        *b = if active(t) && active(t + 1) {
            -s * h
        } else {
            0.0
        };
    }
    Ok(())
}

/// Banded Hessians (multi-lag): B̃ is symmetric banded, factored by pivoted band LU.
impl StructuredHessian for SymBanded {
    type Factor = StepFactor<SymBanded, BandedLu>;

    fn dim(&self) -> usize {
        SymBanded::dim(self)
    }

    fn matvec_into(&self, v: &[f64], y: &mut [f64]) -> meanfield_linalg::Result<()> {
        SymBanded::matvec_into(self, v, y)
    }

    fn to_dense_row_major(&self) -> Vec<f64> {
        let n = self.dim();
        (0..n * n).map(|k| self.get(k / n, k % n)).collect()
    }

    fn new_factor(&self) -> Self::Factor {
        let mut eye = SymBanded::zeros(self.dim(), self.bandwidth()).expect("valid shape");
        eye.band_mut(0).fill(1.0);
        let factor = eye.lu().expect("identity is non-singular");
        StepFactor {
            scratch: eye,
            factor,
        }
    }

    fn factor_step(
        &self,
        s: f64,
        mask: Option<&[bool]>,
        f: &mut Self::Factor,
    ) -> meanfield_linalg::Result<()> {
        let n = self.dim();
        check_mask(mask, n)?;
        if f.scratch.dim() != n || f.scratch.bandwidth() != self.bandwidth() {
            *f = self.new_factor();
        }
        let active = |t: usize| mask.is_none_or(|m| m[t]);
        for j in 0..=self.bandwidth() {
            let src = self.band(j);
            let dst = f.scratch.band_mut(j);
            let id = if j == 0 { 1.0 } else { 0.0 };
            for (t, (b, &h)) in dst.iter_mut().zip(src).enumerate() {
                *b = if active(t) && active(t + j) {
                    id - s * h
                } else {
                    id
                };
            }
        }
        f.factor.refactor_sym(&f.scratch)
    }
}

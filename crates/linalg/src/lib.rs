//! Linear algebra kernels for meanfield: signed log-determinants and solves for
//! dense, tridiagonal and block-diagonal-plus-low-rank matrices, built on
//! [`faer`].
//!
//! # Module map
//!
//! | module | contents |
//! |---|---|
//! | [`error`] | [`LinalgError`] and the [`Result`] alias; no routine panics on user input |
//! | [`logdet`] | [`LogDet`]: $\det A = \sigma e^{\ell}$, $\ell = \log\lvert\det A\rvert$, $\sigma = \pm 1$ |
//! | [`dense`] | faer partial-pivoting LU: [`dense_log_det`] ($\det A = (-1)^t\prod_k U_{kk}$), [`dense_solve`], [`DenseLu`], [`row_major`] views |
//! | [`tridiagonal`] | [`SymTridiagonal`] ($LDL^\top$, $d_k = a_k - b_{k-1}^2/d_{k-1}$), [`Tridiagonal`] (pivoted LU); $O(n)$ |
//! | [`banded`] | [`SymBanded`] (by diagonals), [`BandedLu`] (partial pivoting, $P A = LU$, $U$ with $2w$ super-diagonals); $O(n w^2)$ |
//! | [`block_solver`] | [`BlockSolver`]: a factored block $B$ with $\log\lvert\det B\rvert$ and $B^{-1}$; [`Diagonal`] |
//! | [`determinant_lemma`] | $\det(D + UV^\top) = \det D \,\det(I_r + V^\top D^{-1} U)$ for block-diagonal $D$ |
//!
//! # API levels
//!
//! As in faer, routines that matter in time loops come in two flavours: an
//! allocating convenience call (e.g. [`log_det_block_diag_plus_low_rank`]) and an
//! in-place call taking caller-owned workspace (e.g.
//! [`log_det_block_diag_plus_low_rank_in_place`] with a [`LowRankWorkspace`],
//! [`dense_log_det_in_place`] with a [`DenseLuWorkspace`], `refactor` methods on
//! factorizations, [`SymTridiagonal::solve_in_place`]).
//!
//! # Example
//!
//! ```
//! use meanfield_linalg::{Diagonal, log_det_block_diag_plus_low_rank, row_major};
//!
//! // D = diag(2, 3), U = V = (1, 1)^T: det(D + U V^T) = 6 (1 + 1/2 + 1/3) = 11.
//! let blocks = [Diagonal(vec![2.0]), Diagonal(vec![3.0])];
//! let u = row_major(&[1.0, 1.0], 2, 1)?;
//! let ld = log_det_block_diag_plus_low_rank(&blocks, u, u)?;
//! assert!((ld.value() - 11.0).abs() < 1e-12);
//! # Ok::<(), meanfield_linalg::LinalgError>(())
//! ```

pub mod banded;
pub mod block_solver;
pub mod dense;
pub mod determinant_lemma;
pub mod error;
pub mod logdet;
pub mod tridiagonal;

#[cfg(test)]
mod testutil;

pub use banded::{BandedLu, SymBanded};
pub use block_solver::{BlockSolver, Diagonal};
pub use dense::{
    DenseLu, DenseLuWorkspace, dense_log_det, dense_log_det_in_place, dense_solve, row_major,
};
pub use determinant_lemma::{
    LowRankWorkspace, assemble_block_diag_plus_low_rank, dense_reference,
    log_det_block_diag_plus_low_rank, log_det_block_diag_plus_low_rank_in_place,
};
pub use error::{LinalgError, Result};
pub use logdet::LogDet;
pub use tridiagonal::{SymTridiagonal, SymTridiagonalLdl, Tridiagonal, TridiagonalLu};

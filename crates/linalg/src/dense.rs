//! Dense helpers on faer matrices: signed log-determinant and linear solves
//! through faer's partial-pivoting LU,
//!
//! $$ P A = L U, \qquad \det A = (-1)^{t} \prod_{k} U_{kk}, $$
//!
//! where $t$ is the number of row transpositions in $P$.
//!
//! Two API levels, as in faer:
//! - allocating convenience calls ([`dense_log_det`], [`dense_solve`], [`DenseLu::new`]);
//! - in-place calls with caller-owned workspace ([`dense_log_det_in_place`] with a
//!   [`DenseLuWorkspace`], [`DenseLu::refactor`]) that do not allocate once the
//!   workspace has reached its size.

use core::mem::MaybeUninit;

use faer::dyn_stack::MemStack;
use faer::linalg::lu::partial_pivoting::factor::{lu_in_place, lu_in_place_scratch};
use faer::linalg::triangular_solve::{
    solve_unit_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::{Mat, MatMut, MatRef, Par};

use crate::error::{LinalgError, Result, check_dim};
use crate::logdet::LogDet;

/// Views a row-major slice as an `nrows × ncols` faer matrix,
/// $A_{ij} = \texttt{data}[i \cdot \texttt{ncols} + j]$.
///
/// # Errors
/// [`LinalgError::DimensionMismatch`] if `data.len() != nrows * ncols`
/// (or the product overflows).
pub fn row_major(data: &[f64], nrows: usize, ncols: usize) -> Result<MatRef<'_, f64>> {
    let expected = nrows
        .checked_mul(ncols)
        .ok_or(LinalgError::DimensionMismatch {
            what: "row-major slice length (nrows * ncols overflows)",
            expected: usize::MAX,
            got: data.len(),
        })?;
    check_dim("row-major slice length", expected, data.len())?;
    Ok(MatRef::from_row_major_slice(data, nrows, ncols))
}

/// Checks that `a` is square and finite; returns its dimension.
pub(crate) fn check_square_finite(a: MatRef<'_, f64>, what: &'static str) -> Result<usize> {
    check_dim(what, a.nrows(), a.ncols())?;
    if !a.is_all_finite() {
        return Err(LinalgError::NonFinite { what });
    }
    Ok(a.nrows())
}

/// Caller-owned scratch for faer's in-place partial-pivoting LU of an
/// $n \times n$ matrix (row permutation, its inverse, and faer's stack memory
/// for the transposition list). Grows on demand; never shrinks.
#[derive(Clone, Default)]
pub struct DenseLuWorkspace {
    /// Forward row permutation: $(PA)_{i\cdot} = A_{\texttt{perm}[i]\cdot}$.
    perm: Vec<usize>,
    /// Inverse of `perm`.
    perm_inv: Vec<usize>,
    /// faer's `MemStack` backing memory.
    stack: Vec<MaybeUninit<usize>>,
    /// Temporaries to turn `perm` into a sequence of row swaps.
    cur: Vec<usize>,
    cur_inv: Vec<usize>,
}

impl core::fmt::Debug for DenseLuWorkspace {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DenseLuWorkspace")
            .field("capacity", &self.perm.len())
            .finish()
    }
}

impl DenseLuWorkspace {
    /// Workspace able to factor $n \times n$ matrices without further allocation.
    pub fn new(n: usize) -> Self {
        let mut ws = Self::default();
        ws.reserve(n);
        ws
    }

    /// Grows the buffers so that $n \times n$ matrices can be factored.
    pub fn reserve(&mut self, n: usize) {
        if self.perm.len() < n {
            self.perm.resize(n, 0);
            self.perm_inv.resize(n, 0);
            self.cur.resize(n, 0);
            self.cur_inv.resize(n, 0);
        }
        let req = lu_in_place_scratch::<usize, f64>(n, n, Par::Seq, Default::default());
        let words = req.unaligned_bytes_required().div_ceil(size_of::<usize>());
        if self.stack.len() < words {
            self.stack.resize(words, MaybeUninit::uninit());
        }
    }

    /// Overwrites the square matrix `a` with its packed LU factors ($L$ unit lower
    /// below the diagonal, $U$ on and above) and returns the number $t$ of row
    /// transpositions. `self.perm[..n]` holds the row permutation.
    pub(crate) fn factor(&mut self, a: MatMut<'_, f64>) -> usize {
        let n = a.nrows();
        debug_assert_eq!(n, a.ncols());
        self.reserve(n);
        let (info, _) = lu_in_place(
            a,
            &mut self.perm[..n],
            &mut self.perm_inv[..n],
            Par::Seq,
            MemStack::new_any(&mut self.stack),
            Default::default(),
        );
        info.transposition_count
    }

    /// Decomposes the permutation of the last [`factor`](Self::factor) call on an
    /// $n \times n$ matrix into swaps: applying `rhs.swap(i, swaps[i])` for
    /// $i = 0, 1, \dots, n-1$ yields $b_i \leftarrow b_{\texttt{perm}[i]}$, i.e. $P b$.
    pub(crate) fn swaps_into(&mut self, n: usize, swaps: &mut Vec<usize>) {
        swaps.clear();
        let (cur, cur_inv) = (&mut self.cur[..n], &mut self.cur_inv[..n]);
        for i in 0..n {
            cur[i] = i;
            cur_inv[i] = i;
        }
        // Invariant: positions < i already hold their final entries, so the
        // entry wanted at position i sits at p = cur_inv[perm[i]] >= i.
        for i in 0..n {
            let p = cur_inv[self.perm[i]];
            swaps.push(p);
            cur.swap(i, p);
            cur_inv[cur[i]] = i;
            cur_inv[cur[p]] = p;
        }
    }
}

/// $\log|\det A|$ and sign from packed LU factors:
/// $\det A = (-1)^{t} \prod_k U_{kk}$.
pub(crate) fn log_det_from_packed_lu(
    lu: MatRef<'_, f64>,
    transpositions: usize,
    what: &'static str,
) -> Result<LogDet> {
    let n = lu.nrows();
    let ld = LogDet::from_pivots((0..n).map(|k| lu[(k, k)]), what)?;
    Ok(if transpositions % 2 == 1 {
        ld.negate()
    } else {
        ld
    })
}

/// In-place signed log-determinant of a square matrix via partial-pivoting LU,
/// $\log|\det A| = \sum_k \log|U_{kk}|$, $\operatorname{sign}\det A = (-1)^t \prod_k \operatorname{sign} U_{kk}$.
///
/// `a` is overwritten with its packed LU factors. No allocation once `ws`
/// has been reserved for this size. A $0\times 0$ matrix has $\det = 1$.
///
/// # Errors
/// [`LinalgError::DimensionMismatch`] if `a` is not square,
/// [`LinalgError::NonFinite`] if `a` has a NaN/infinite entry,
/// [`LinalgError::Singular`] if some $U_{kk} = 0$ exactly.
pub fn dense_log_det_in_place(a: MatMut<'_, f64>, ws: &mut DenseLuWorkspace) -> Result<LogDet> {
    dense_log_det_in_place_named(a, ws, "dense matrix")
}

/// [`dense_log_det_in_place`] with a custom name for error messages.
pub(crate) fn dense_log_det_in_place_named(
    mut a: MatMut<'_, f64>,
    ws: &mut DenseLuWorkspace,
    what: &'static str,
) -> Result<LogDet> {
    check_square_finite(a.as_ref(), what)?;
    let t = ws.factor(a.as_mut());
    log_det_from_packed_lu(a.as_ref(), t, what)
}

/// Signed log-determinant of a square matrix via faer's partial-pivoting LU,
/// $P A = L U$, $\det A = (-1)^t \prod_k U_{kk}$. Allocating convenience
/// wrapper of [`dense_log_det_in_place`] (copies `a`).
///
/// # Errors
/// As [`dense_log_det_in_place`].
pub fn dense_log_det(a: MatRef<'_, f64>) -> Result<LogDet> {
    let n = check_square_finite(a, "dense matrix")?;
    let mut lu = a.to_owned();
    let mut ws = DenseLuWorkspace::new(n);
    dense_log_det_in_place(lu.as_mut(), &mut ws)
}

/// Solves $A X = B$ for a square $A$ and an $n \times k$ right-hand side $B$
/// via $X = U^{-1} L^{-1} P B$ (allocating; factors $A$ once).
///
/// # Errors
/// As [`DenseLu::new`], plus [`LinalgError::DimensionMismatch`] if
/// `b.nrows() != a.nrows()` and [`LinalgError::NonFinite`] if $B$ is not finite.
pub fn dense_solve(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Result<Mat<f64>> {
    let lu = DenseLu::new(a)?;
    let mut x = b.to_owned();
    lu.solve_mat(x.as_mut())?;
    Ok(x)
}

/// A factored square dense matrix, $P A = L U$ (faer partial-pivoting LU),
/// ready for repeated solves $A x = b$ and for $\log|\det A|$.
///
/// Use [`DenseLu::refactor`] in time loops to reuse its storage. Solves and the
/// log-determinant are exposed through [`BlockSolver`](crate::BlockSolver).
#[derive(Clone, Debug)]
pub struct DenseLu {
    /// Packed factors: unit-lower $L$ strictly below, $U$ on/above the diagonal.
    lu: Mat<f64>,
    /// Row swaps realising $P$ (see `DenseLuWorkspace::swaps_into`).
    swaps: Vec<usize>,
    ws: DenseLuWorkspace,
    /// $\log|\det A|$ of the current factorization, or why it is unusable.
    status: Result<LogDet>,
}

impl DenseLu {
    /// Factors the square matrix `a`: $P A = L U$.
    ///
    /// # Errors
    /// [`LinalgError::DimensionMismatch`] if `a` is not square,
    /// [`LinalgError::NonFinite`] for NaN/infinite entries,
    /// [`LinalgError::Singular`] if some $U_{kk} = 0$ exactly.
    pub fn new(a: MatRef<'_, f64>) -> Result<Self> {
        let mut lu = DenseLu {
            lu: Mat::new(),
            swaps: Vec::new(),
            ws: DenseLuWorkspace::default(),
            status: Ok(LogDet::ONE),
        };
        lu.refactor(a)?;
        Ok(lu)
    }

    /// Factors the `dim × dim` matrix stored row-major in `data`,
    /// $A_{ij} = \texttt{data}[i \cdot \texttt{dim} + j]$.
    ///
    /// # Errors
    /// [`LinalgError::DimensionMismatch`] if `data.len() != dim * dim`; otherwise as [`DenseLu::new`].
    pub fn from_row_major(dim: usize, data: &[f64]) -> Result<Self> {
        Self::new(row_major(data, dim, dim)?)
    }

    /// Re-factors a new matrix in place, reusing storage (no allocation when the
    /// dimension does not grow). On error the factorization is left unusable and
    /// later solves report the same error.
    ///
    /// # Errors
    /// As [`DenseLu::new`].
    pub fn refactor(&mut self, a: MatRef<'_, f64>) -> Result<()> {
        let res = self.refactor_impl(a);
        self.status = res.clone();
        res.map(|_| ())
    }

    fn refactor_impl(&mut self, a: MatRef<'_, f64>) -> Result<LogDet> {
        let n = check_square_finite(a, "dense block")?;
        self.lu.resize_with(n, n, |_, _| 0.0);
        self.lu.as_mut().copy_from(a);
        let t = self.ws.factor(self.lu.as_mut());
        self.ws.swaps_into(n, &mut self.swaps);
        log_det_from_packed_lu(self.lu.as_ref(), t, "dense block")
    }

    /// Dimension $m$ of the factored $m \times m$ matrix.
    pub fn dim(&self) -> usize {
        self.lu.nrows()
    }

    /// $\log|\det A|$ with sign, $\det A = (-1)^t \prod_k U_{kk}$ (cached at factor time).
    pub(crate) fn log_det_impl(&self) -> Result<LogDet> {
        self.status.clone()
    }

    /// In place $B \leftarrow A^{-1} B$ for an $m \times k$ right-hand side:
    /// $B \leftarrow P B$, then $L Y = B$, then $U X = Y$.
    pub(crate) fn solve_mat(&self, mut rhs: MatMut<'_, f64>) -> Result<()> {
        self.status.clone()?;
        let n = self.dim();
        check_dim("dense block rhs rows", n, rhs.nrows())?;
        if !rhs.as_ref().is_all_finite() {
            return Err(LinalgError::NonFinite {
                what: "dense block rhs",
            });
        }
        for j in 0..rhs.ncols() {
            for (i, &p) in self.swaps.iter().enumerate() {
                if p != i {
                    let (x, y) = (rhs[(i, j)], rhs[(p, j)]);
                    rhs[(i, j)] = y;
                    rhs[(p, j)] = x;
                }
            }
        }
        // faer's triangular solves read only the relevant triangle of the
        // packed factors (the unit diagonal of L is implicit).
        solve_unit_lower_triangular_in_place(self.lu.as_ref(), rhs.as_mut(), Par::Seq);
        solve_upper_triangular_in_place(self.lu.as_ref(), rhs.as_mut(), Par::Seq);
        if !rhs.as_ref().is_all_finite() {
            return Err(LinalgError::NonFinite {
                what: "dense block solution (overflow)",
            });
        }
        Ok(())
    }

    /// In place $b \leftarrow A^{-1} b$ for one right-hand side.
    pub(crate) fn solve_slice(&self, rhs: &mut [f64]) -> Result<()> {
        let m = rhs.len();
        self.solve_mat(MatMut::from_column_major_slice_mut(rhs, m, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BlockSolver;
    use crate::testutil::Rng;

    fn random_dense(rng: &mut Rng, n: usize, shift: f64) -> Mat<f64> {
        Mat::from_fn(n, n, |i, j| {
            rng.uniform(-1.0, 1.0) + if i == j { shift } else { 0.0 }
        })
    }

    fn naive_det(a: MatRef<'_, f64>) -> f64 {
        // Laplace expansion along the first row (tiny sizes only).
        let n = a.nrows();
        if n == 0 {
            return 1.0;
        }
        let mut s = 0.0;
        for j in 0..n {
            let minor = Mat::from_fn(n - 1, n - 1, |r, c| {
                a[(r + 1, if c < j { c } else { c + 1 })]
            });
            let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
            s += sign * a[(0, j)] * naive_det(minor.as_ref());
        }
        s
    }

    #[test]
    fn log_det_matches_laplace_expansion() {
        let mut rng = Rng::new(7);
        for n in 0..6 {
            for _ in 0..20 {
                let a = random_dense(&mut rng, n, 0.0);
                let d = naive_det(a.as_ref());
                let ld = dense_log_det(a.as_ref()).unwrap();
                assert!(
                    (ld.value() - d).abs() <= 1e-10 * (1.0 + d.abs()),
                    "{} vs {d}",
                    ld.value()
                );
                assert_eq!(ld.sign, d.signum());
            }
        }
    }

    #[test]
    fn permutation_parity() {
        // Odd permutation matrix: det = -1.
        let a = Mat::from_fn(3, 3, |i, j| if (i + 1) % 3 == j { 1.0 } else { 0.0 });
        let ld = dense_log_det(a.as_ref()).unwrap();
        assert_eq!(ld.sign, 1.0); // a 3-cycle is even
        let b = Mat::from_fn(2, 2, |i, j| if i != j { 1.0 } else { 0.0 });
        let ld = dense_log_det(b.as_ref()).unwrap();
        assert_eq!(ld.sign, -1.0);
        assert!(ld.log_abs.abs() < 1e-15);
    }

    #[test]
    fn solve_matches_matvec() {
        let mut rng = Rng::new(11);
        for n in (1..12).chain([33, 64, 100, 150]) {
            let a = random_dense(&mut rng, n, 0.5);
            let x = Mat::from_fn(n, 3, |_, _| rng.uniform(-1.0, 1.0));
            let b = &a * &x;
            let got = dense_solve(a.as_ref(), b.as_ref()).unwrap();
            let err = (&got - &x).norm_max();
            assert!(err < 1e-8, "n={n} err={err}");
            let want = a.determinant();
            let ld = dense_log_det(a.as_ref()).unwrap();
            assert!((ld.log_abs - want.abs().ln()).abs() < 1e-9 * want.abs().ln().abs().max(1.0));
            assert_eq!(ld.sign, want.signum());
            // single-vector path through the trait
            let lu = DenseLu::new(a.as_ref()).unwrap();
            let mut rhs: Vec<f64> = (0..n).map(|i| b[(i, 1)]).collect();
            lu.solve_in_place(&mut rhs).unwrap();
            for i in 0..n {
                assert!((rhs[i] - x[(i, 1)]).abs() < 1e-8);
            }
        }
    }

    #[test]
    fn in_place_reuses_workspace() {
        let mut rng = Rng::new(3);
        let mut ws = DenseLuWorkspace::new(8);
        for n in [8, 3, 5, 8] {
            let a = random_dense(&mut rng, n, 2.0);
            let mut c = a.clone();
            let ld = dense_log_det_in_place(c.as_mut(), &mut ws).unwrap();
            assert!((ld.value() - a.determinant()).abs() < 1e-10 * a.determinant().abs());
        }
    }

    #[test]
    fn refactor_and_row_major() {
        let mut lu = DenseLu::from_row_major(2, &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!((lu.log_det().unwrap().value() + 2.0).abs() < 1e-14);
        assert_eq!(lu.dim(), 2);
        // singular refactor poisons the factorization
        let z = Mat::<f64>::zeros(3, 3);
        assert!(matches!(
            lu.refactor(z.as_ref()),
            Err(LinalgError::Singular { index: 0, .. })
        ));
        assert!(lu.solve_in_place(&mut [1.0, 2.0, 3.0]).is_err());
        assert!(lu.log_det().is_err());
        let i3 = Mat::<f64>::identity(3, 3);
        lu.refactor(i3.as_ref()).unwrap();
        let mut b = [1.0, 2.0, 3.0];
        lu.solve_in_place(&mut b).unwrap();
        assert_eq!(b, [1.0, 2.0, 3.0]);
    }

    #[test]
    fn errors_not_panics() {
        let a = Mat::<f64>::zeros(2, 3);
        assert!(matches!(
            dense_log_det(a.as_ref()),
            Err(LinalgError::DimensionMismatch { .. })
        ));
        let mut b = Mat::<f64>::identity(2, 2);
        b[(0, 1)] = f64::NAN;
        assert!(matches!(
            dense_log_det(b.as_ref()),
            Err(LinalgError::NonFinite { .. })
        ));
        let s = Mat::from_fn(3, 3, |i, j| (i + j) as f64); // rank 2
        // rounding may leave a tiny pivot instead of an exact zero; either is fine, no panic
        let _ = dense_log_det(s.as_ref());
        let s = Mat::from_fn(2, 2, |_, j| j as f64); // first column zero
        assert!(matches!(
            dense_log_det(s.as_ref()),
            Err(LinalgError::Singular { .. })
        ));
        assert!(row_major(&[1.0; 5], 2, 3).is_err());
        assert!(row_major(&[1.0; 5], usize::MAX, 3).is_err());
        let lu = DenseLu::new(Mat::<f64>::identity(2, 2).as_ref()).unwrap();
        assert!(matches!(
            lu.solve_in_place(&mut [1.0; 3]),
            Err(LinalgError::DimensionMismatch {
                expected: 2,
                got: 3,
                ..
            })
        ));
        assert!(matches!(
            lu.solve_in_place(&mut [1.0, f64::NAN]),
            Err(LinalgError::NonFinite { .. })
        ));
        assert_eq!(
            dense_log_det(Mat::<f64>::new().as_ref()).unwrap(),
            LogDet::ONE
        );
    }
}

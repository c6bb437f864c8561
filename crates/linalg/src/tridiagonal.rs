//! Tridiagonal matrices in $O(n)$ storage, with $O(n)$ log-determinant,
//! solves and mat-vecs.
//!
//! - [`SymTridiagonal`]: $A_{kk} = a_k$, $A_{k,k+1} = A_{k+1,k} = b_k$. Factored by the
//!   $LDL^\top$ (Thomas) recurrence
//!   $$ d_0 = a_0, \qquad d_k = a_k - b_{k-1}^2 / d_{k-1}, \qquad \det A = \prod_k d_k, $$
//!   which also works for indefinite matrices as long as no pivot $d_k$ vanishes
//!   (the computed $d_k$ are the exact pivots of a matrix whose $b_k$ are perturbed by a few ulps,
//!   the classical Sturm-sequence stability result, so $\log|\det A|$ is accurate).
//! - [`Tridiagonal`]: general (non-symmetric) tridiagonal matrix, factored by LU with
//!   partial pivoting (LAPACK `gttrf`), $P A = L U$ with $U$ having two super-diagonals;
//!   robust for any non-singular matrix.

use faer::Mat;

use crate::error::{LinalgError, Result, check_dim, check_finite};
use crate::logdet::LogDet;

/// Checks `n >= 1` for a tridiagonal matrix (the off-diagonals have length $n-1$).
fn check_nonempty(n: usize, what: &'static str) -> Result<()> {
    if n == 0 {
        Err(LinalgError::Empty { what })
    } else {
        Ok(())
    }
}

/// Symmetric tridiagonal matrix
/// $$ A = \begin{pmatrix} a_0 & b_0 & & \\ b_0 & a_1 & \ddots & \\ & \ddots & \ddots & b_{n-2} \\ & & b_{n-2} & a_{n-1} \end{pmatrix}, $$
/// stored as `diag` $= (a_k)_{k<n}$ and `off` $= (b_k)_{k<n-1}$.
#[derive(Clone, Debug, PartialEq)]
pub struct SymTridiagonal {
    diag: Vec<f64>,
    off: Vec<f64>,
}

impl SymTridiagonal {
    /// Builds $A$ from its diagonal ($n \ge 1$ entries) and off-diagonal ($n-1$ entries).
    ///
    /// # Errors
    /// [`LinalgError::Empty`] if `diag` is empty, [`LinalgError::DimensionMismatch`] if
    /// `off.len() != diag.len() - 1`, [`LinalgError::NonFinite`] for NaN/infinite entries.
    pub fn new(diag: Vec<f64>, off: Vec<f64>) -> Result<Self> {
        check_nonempty(diag.len(), "tridiagonal diagonal")?;
        check_dim("tridiagonal off-diagonal length", diag.len() - 1, off.len())?;
        check_finite("tridiagonal diagonal", &diag)?;
        check_finite("tridiagonal off-diagonal", &off)?;
        Ok(Self { diag, off })
    }

    /// Dimension $n$.
    pub fn dim(&self) -> usize {
        self.diag.len()
    }

    /// Diagonal $(a_k)_{k<n}$.
    pub fn diag(&self) -> &[f64] {
        &self.diag
    }

    /// Off-diagonal $(b_k)_{k<n-1}$.
    pub fn off(&self) -> &[f64] {
        &self.off
    }

    /// Mutable diagonal, to update $A$ in a time loop without reallocating.
    /// Non-finite values written here are reported by the factorizations.
    pub fn diag_mut(&mut self) -> &mut [f64] {
        &mut self.diag
    }

    /// Mutable off-diagonal (see [`SymTridiagonal::diag_mut`]).
    pub fn off_mut(&mut self) -> &mut [f64] {
        &mut self.off
    }

    /// $y = A x$: $y_k = b_{k-1} x_{k-1} + a_k x_k + b_k x_{k+1}$, written into `y`.
    ///
    /// # Errors
    /// [`LinalgError::DimensionMismatch`] if `x` or `y` does not have length $n$.
    pub fn matvec_into(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
        tridiag_matvec(&self.off, &self.diag, &self.off, x, y)
    }

    /// $y = A x$ (allocating).
    ///
    /// # Errors
    /// [`LinalgError::DimensionMismatch`] if `x.len() != n`.
    pub fn matvec(&self, x: &[f64]) -> Result<Vec<f64>> {
        let mut y = vec![0.0; self.dim()];
        self.matvec_into(x, &mut y)?;
        Ok(y)
    }

    /// The dense $n \times n$ matrix (for tests and small sizes).
    pub fn to_dense(&self) -> Mat<f64> {
        tridiag_to_dense(&self.off, &self.diag, &self.off)
    }

    /// $\log|\det A|$ with sign, $\det A = \prod_k d_k$ by the $LDL^\top$ recurrence
    /// $d_k = a_k - b_{k-1}^2 / d_{k-1}$, in $O(n)$ time and $O(1)$ memory.
    ///
    /// If an intermediate pivot vanishes exactly (possible for indefinite matrices,
    /// e.g. $\begin{psmallmatrix}0&1\\1&0\end{psmallmatrix}$) it falls back to the
    /// pivoted LU of [`Tridiagonal`].
    ///
    /// # Errors
    /// [`LinalgError::Singular`] if $\det A = 0$ exactly,
    /// [`LinalgError::NonFinite`] if an entry or a pivot is not finite.
    pub fn log_det(&self) -> Result<LogDet> {
        let n = self.dim();
        let mut ld = LogDet::ONE;
        let mut d_prev = 0.0;
        for k in 0..n {
            let d = if k == 0 {
                self.diag[0]
            } else {
                self.diag[k] - self.off[k - 1] * (self.off[k - 1] / d_prev)
            };
            match ld.push_pivot(d, "symmetric tridiagonal LDL^T pivot", k) {
                Ok(()) => {}
                Err(LinalgError::Singular { .. }) if k + 1 < n => {
                    return Tridiagonal::from(self).log_det();
                }
                Err(e) => return Err(e),
            }
            d_prev = d;
        }
        Ok(ld)
    }

    /// Computes the pivots $d_k$ into `d` (length $n$) and $\log|\det A| = \sum_k \log|d_k|$
    /// ([`log_det_of_pivots`]).
    fn pivots_into(&self, d: &mut [f64]) -> Result<LogDet> {
        for k in 0..self.dim() {
            d[k] = self.pivot(k, d);
        }
        log_det_of_pivots(&d[..self.dim()])
    }

    /// The $LDL^\top$ recurrence $d_0 = a_0$, $d_k = a_k - b_{k-1}(b_{k-1}/d_{k-1})$, given
    /// $d_0..d_{k-1}$ in `d`.
    #[inline]
    fn pivot(&self, k: usize, d: &[f64]) -> f64 {
        if k == 0 {
            self.diag[0]
        } else {
            self.diag[k] - self.off[k - 1] * (self.off[k - 1] / d[k - 1])
        }
    }

    /// Solves $A x = b$ in place by $LDL^\top$ (Thomas algorithm), $O(n)$, no allocation:
    /// $z_k = b_k - l_{k-1} z_{k-1}$, $x_k = z_k / d_k - l_k x_{k+1}$ with $l_k = b_k / d_k$.
    ///
    /// `work` (length $\ge n$) receives the pivots $d_k$. The pivots are computed
    /// before `rhs` is touched, so `rhs` is unchanged on error, except when the solution
    /// itself overflows (then `rhs` holds the overflowed values). No pivoting: use
    /// [`SymTridiagonal::solve`] or [`Tridiagonal`] if a pivot may vanish or be tiny.
    ///
    /// # Errors
    /// [`LinalgError::DimensionMismatch`] if `rhs.len() != n` or `work.len() < n`,
    /// [`LinalgError::NonFinite`] for a non-finite `rhs` or pivot, or a solution that
    /// overflows without pivoting,
    /// [`LinalgError::Singular`] if some $d_k = 0$ exactly.
    pub fn solve_in_place(&self, rhs: &mut [f64], work: &mut [f64]) -> Result<()> {
        let n = self.dim();
        check_dim("symmetric tridiagonal rhs length", n, rhs.len())?;
        if work.len() < n {
            return Err(LinalgError::DimensionMismatch {
                what: "symmetric tridiagonal work length (at least n)",
                expected: n,
                got: work.len(),
            });
        }
        check_finite("symmetric tridiagonal rhs", rhs)?;
        let d = &mut work[..n];
        self.pivots_into(d)?;
        ldl_substitute(n, |k, z| z / d[k], |k| self.off[k] / d[k], rhs);
        check_finite(UNPIVOTED_OVERFLOW, rhs)
    }

    /// Solves $A x = b$ (allocating). Uses $LDL^\top$ like
    /// [`SymTridiagonal::solve_in_place`], falling back to the pivoted LU of
    /// [`Tridiagonal`] if an intermediate pivot vanishes exactly, and also when the
    /// unpivoted solution overflows (a tiny pivot).
    ///
    /// # Errors
    /// As [`SymTridiagonal::solve_in_place`] (but `Singular` only if $\det A = 0$, and
    /// `NonFinite` for the solution only if the pivoted solution overflows too).
    pub fn solve(&self, rhs: &[f64]) -> Result<Vec<f64>> {
        let n = self.dim();
        let mut x = rhs.to_vec();
        let mut work = vec![0.0; n];
        match self.solve_in_place(&mut x, &mut work) {
            Ok(()) => Ok(x),
            Err(LinalgError::Singular { index, .. }) if index + 1 < n => {
                Tridiagonal::from(self).solve(rhs)
            }
            // A tiny pivot made the unpivoted substitution overflow although the matrix
            // may be well conditioned (found by the fuzz target `linear_solvers`).
            Err(LinalgError::NonFinite {
                what: UNPIVOTED_OVERFLOW,
            }) => Tridiagonal::from(self).solve(rhs),
            Err(e) => Err(e),
        }
    }

    /// Factors $A = L D L^\top$ once, for repeated solves (see [`SymTridiagonalLdl`]).
    ///
    /// # Errors
    /// As [`SymTridiagonalLdl::new`].
    pub fn ldl(&self) -> Result<SymTridiagonalLdl> {
        SymTridiagonalLdl::new(self)
    }
}

/// The error of an $LDL^\top$ solve (no pivoting) whose result overflowed:
/// [`LinalgError::NonFinite`] with this `what`; [`SymTridiagonal::solve`] then retries
/// with the pivoted LU.
const UNPIVOTED_OVERFLOW: &str = "symmetric tridiagonal LDL^T solution (overflow without pivoting)";

/// $\log|\det A| = \sum_k \log|d_k|$ from the $LDL^\top$ pivots, with the first zero or
/// non-finite pivot reported by its index.
///
/// The logarithm is taken of running products of pivots (kept within
/// $[10^{-150}, 10^{150}]$, pivots outside $[10^{-100}, 10^{100}]$ enter alone), not of
/// every pivot: one `ln` per ~100 pivots instead of one per pivot, same accuracy up to
/// rounding, no overflow or underflow.
fn log_det_of_pivots(d: &[f64]) -> Result<LogDet> {
    let mut acc = PivotLog::default();
    for (k, &p) in d.iter().enumerate() {
        acc.push(k, p);
    }
    acc.finish(d.len())
}

/// The running state of [`log_det_of_pivots`], one pivot at a time (so that the pivots of
/// several factorisations can be taken in turn, [`SymTridiagonalLdl::refactor_many`]).
#[derive(Debug, Clone)]
struct PivotLog {
    ld: Result<LogDet>,
    prod: f64,
}

impl Default for PivotLog {
    fn default() -> Self {
        Self {
            ld: Ok(LogDet::ONE),
            prod: 1.0,
        }
    }
}

impl PivotLog {
    const WHAT: &str = "symmetric tridiagonal LDL^T pivot";

    /// Pivot `p = d_k`; after the first error the state keeps that error.
    #[inline]
    fn push(&mut self, k: usize, p: f64) {
        let Ok(ld) = &mut self.ld else { return };
        if !p.is_finite() || p == 0.0 || !(1e-100..=1e100).contains(&p.abs()) {
            // reports a zero / non-finite pivot with its index; extreme pivots alone
            if let Err(e) = ld.push_pivot(p, Self::WHAT, k) {
                self.ld = Err(e);
            }
            return;
        }
        self.prod *= p;
        if !(1e-150..=1e150).contains(&self.prod.abs()) {
            if let Err(e) = ld.push_pivot(self.prod, Self::WHAT, k) {
                self.ld = Err(e);
            }
            self.prod = 1.0;
        }
    }

    /// log|det| after the last of `n` pivots.
    fn finish(self, n: usize) -> Result<LogDet> {
        let mut ld = self.ld?;
        ld.push_pivot(self.prod, Self::WHAT, n)?;
        Ok(ld)
    }
}

/// In-place $LDL^\top$ substitution: forward $z_k \mathrel{-}= l_{k-1} z_{k-1}$, then
/// backward $x_k = z_k / d_k - l_k x_{k+1}$ (`div(k, z)` $= z / d_k$).
fn ldl_substitute(
    n: usize,
    div: impl Fn(usize, f64) -> f64,
    l: impl Fn(usize) -> f64,
    rhs: &mut [f64],
) {
    for k in 1..n {
        rhs[k] -= l(k - 1) * rhs[k - 1];
    }
    rhs[n - 1] = div(n - 1, rhs[n - 1]);
    for k in (0..n - 1).rev() {
        rhs[k] = div(k, rhs[k]) - l(k) * rhs[k + 1];
    }
}

/// Factored symmetric tridiagonal matrix $A = L D L^\top$, $L$ unit lower bidiagonal
/// with sub-diagonal $l_k = b_k / d_k$, $D = \operatorname{diag}(d_k)$;
/// $\det A = \prod_k d_k$. Implements [`BlockSolver`](crate::BlockSolver).
#[derive(Clone, Debug)]
pub struct SymTridiagonalLdl {
    d: Vec<f64>,
    /// $1 / d_k$ (the substitutions multiply: no division in their dependency chains).
    dinv: Vec<f64>,
    l: Vec<f64>,
    status: Result<LogDet>,
}

impl SymTridiagonalLdl {
    /// Factors $A = L D L^\top$ (no pivoting).
    ///
    /// # Errors
    /// [`LinalgError::Singular`] if some pivot $d_k = 0$ exactly (for an indefinite
    /// matrix with a vanishing leading minor use [`TridiagonalLu`] instead),
    /// [`LinalgError::NonFinite`] if an entry or pivot is not finite.
    pub fn new(a: &SymTridiagonal) -> Result<Self> {
        let mut f = Self {
            d: Vec::new(),
            dinv: Vec::new(),
            l: Vec::new(),
            status: Ok(LogDet::ONE),
        };
        f.refactor(a)?;
        Ok(f)
    }

    /// Re-factors a new matrix reusing storage. On error the factorization is
    /// unusable and later calls report the same error.
    ///
    /// # Errors
    /// As [`SymTridiagonalLdl::new`].
    pub fn refactor(&mut self, a: &SymTridiagonal) -> Result<()> {
        self.resize(a.dim());
        let res = a.pivots_into(&mut self.d);
        self.finish(a, res)
    }

    /// [`SymTridiagonalLdl::refactor`] of `factors[i]` with `mats[i]` for every i, with the
    /// pivot recurrences of all the matrices advanced together: each is a serial chain of
    /// divisions, and interleaving independent ones keeps the divider busy. Every factor,
    /// pivot and error is bitwise that of its own `refactor` (matrices of different
    /// dimensions are simply factored one by one).
    ///
    /// # Errors
    /// `result[i]` as [`SymTridiagonalLdl::refactor`] of pair i (also kept as the factor's
    /// status); [`LinalgError::DimensionMismatch`] in every entry if the slices' lengths
    /// differ.
    pub fn refactor_many(
        factors: &mut [&mut Self],
        mats: &[&SymTridiagonal],
        result: &mut [Result<()>],
    ) {
        if factors.len() != mats.len() || result.len() != mats.len() {
            let e = LinalgError::DimensionMismatch {
                what: "factors, matrices and results of refactor_many",
                expected: mats.len(),
                got: factors.len().min(result.len()),
            };
            result.iter_mut().for_each(|r| *r = Err(e.clone()));
            return;
        }
        let n = mats.first().map_or(0, |a| a.dim());
        if mats.iter().any(|a| a.dim() != n) {
            for ((f, a), r) in factors.iter_mut().zip(mats).zip(result.iter_mut()) {
                *r = f.refactor(a);
            }
            return;
        }
        factors.iter_mut().for_each(|f| f.resize(n));
        let mut logs = vec![PivotLog::default(); mats.len()];
        for k in 0..n {
            for ((f, a), acc) in factors.iter_mut().zip(mats).zip(&mut logs) {
                let p = a.pivot(k, &f.d);
                f.d[k] = p;
                acc.push(k, p);
            }
        }
        for (((f, a), r), acc) in factors
            .iter_mut()
            .zip(mats)
            .zip(result.iter_mut())
            .zip(logs)
        {
            *r = f.finish(a, acc.finish(n));
        }
    }

    fn resize(&mut self, n: usize) {
        self.d.resize(n, 0.0);
        self.l.resize(n - 1, 0.0);
        self.dinv.resize(n, 0.0);
    }

    /// After the pivots: $1/d_k$ and $l_k = b_k / d_k$ if they are usable, and the status.
    fn finish(&mut self, a: &SymTridiagonal, res: Result<LogDet>) -> Result<()> {
        if res.is_ok() {
            for (di, d) in self.dinv.iter_mut().zip(&self.d) {
                *di = 1.0 / d;
            }
            for k in 0..a.dim() - 1 {
                self.l[k] = a.off[k] * self.dinv[k];
            }
        }
        self.status = res.clone();
        res.map(|_| ())
    }

    /// Dimension $n$.
    pub fn dim(&self) -> usize {
        self.d.len()
    }

    /// The pivots $d_k$ (diagonal of $D$).
    pub fn pivots(&self) -> &[f64] {
        &self.d
    }

    pub(crate) fn log_det_impl(&self) -> Result<LogDet> {
        self.status.clone()
    }

    pub(crate) fn solve_slice(&self, rhs: &mut [f64]) -> Result<()> {
        self.status.clone()?;
        check_dim("symmetric tridiagonal rhs length", self.dim(), rhs.len())?;
        check_finite("symmetric tridiagonal rhs", rhs)?;
        ldl_substitute(self.dim(), |k, z| z * self.dinv[k], |k| self.l[k], rhs);
        check_finite(UNPIVOTED_OVERFLOW, rhs)
    }

    /// $X \leftarrow A^{-1} X$ for all columns in one sweep over $k$ (the columns'
    /// recurrences are independent, so they overlap in the pipeline).
    pub(crate) fn solve_mat(&self, mut rhs: faer::MatMut<'_, f64>) -> Result<()> {
        self.status.clone()?;
        let n = self.dim();
        check_dim("symmetric tridiagonal rhs rows", n, rhs.nrows())?;
        if !rhs.is_all_finite() {
            return Err(LinalgError::NonFinite {
                what: "symmetric tridiagonal rhs",
            });
        }
        let cols: Option<Vec<&mut [f64]>> = rhs
            .as_mut()
            .col_iter_mut()
            .map(|c| c.try_as_col_major_mut().map(|c| c.as_slice_mut()))
            .collect();
        let Some(mut cols) = cols else {
            // strided columns: one at a time through a contiguous copy
            let mut tmp = vec![0.0; n];
            for j in 0..rhs.ncols() {
                for (i, v) in tmp.iter_mut().enumerate() {
                    *v = rhs[(i, j)];
                }
                self.solve_slice(&mut tmp)?;
                for (i, v) in tmp.iter().enumerate() {
                    rhs[(i, j)] = *v;
                }
            }
            return Ok(());
        };
        self.sweep_columns(&mut cols)
    }

    /// $X \leftarrow A^{-1} X$ for $c$ right-hand sides stored interleaved row by row
    /// (entry $k$ of column $j$ at `x[k·c + j]`): at each $k$ the $c$ independent
    /// multiply–subtract recurrences are one contiguous, vectorisable row, so their
    /// dependent chains overlap. Per column these are the operations of
    /// [`ldl_substitute`] in the same order (no fused multiply–add), hence the bits of
    /// [`BlockSolver::solve_in_place`](crate::BlockSolver) on that column.
    pub(crate) fn solve_interleaved(&self, x: &mut [f64], c: usize) -> Result<()> {
        self.status.clone()?;
        let n = self.dim();
        check_dim(
            "symmetric tridiagonal interleaved rhs length",
            n * c,
            x.len(),
        )?;
        check_finite("symmetric tridiagonal rhs", x)?;
        match c {
            0 => {}
            8 => self.sweep_rows::<8>(x.as_chunks_mut().0),
            16 => self.sweep_rows::<16>(x.as_chunks_mut().0),
            _ => {
                for k in 1..n {
                    let l = self.l[k - 1];
                    let (prev, cur) = x[(k - 1) * c..(k + 1) * c].split_at_mut(c);
                    for (y, &p) in cur.iter_mut().zip(prev.iter()) {
                        *y -= l * p;
                    }
                }
                let di = self.dinv[n - 1];
                for y in &mut x[(n - 1) * c..] {
                    *y *= di;
                }
                for k in (0..n - 1).rev() {
                    let (l, di) = (self.l[k], self.dinv[k]);
                    let (cur, next) = x[k * c..(k + 2) * c].split_at_mut(c);
                    for (y, &q) in cur.iter_mut().zip(next.iter()) {
                        *y = *y * di - l * q;
                    }
                }
            }
        }
        check_finite(UNPIVOTED_OVERFLOW, x)
    }

    /// The sweep of [`SymTridiagonalLdl::solve_interleaved`] for a fixed row width `C`
    /// (the common batch widths): whole rows as arrays, so each step over $k$ is
    /// straight-line vector code. The same operations per column.
    fn sweep_rows<const C: usize>(&self, rows: &mut [[f64; C]]) {
        let n = rows.len();
        for k in 1..n {
            let l = self.l[k - 1];
            let (head, tail) = rows.split_at_mut(k);
            let (prev, cur) = (&head[k - 1], &mut tail[0]);
            for (y, &p) in cur.iter_mut().zip(prev) {
                *y -= l * p;
            }
        }
        let di = self.dinv[n - 1];
        for y in &mut rows[n - 1] {
            *y *= di;
        }
        for k in (0..n - 1).rev() {
            let (l, di) = (self.l[k], self.dinv[k]);
            let (head, tail) = rows.split_at_mut(k + 1);
            let (cur, next) = (&mut head[k], &tail[0]);
            for (y, &q) in cur.iter_mut().zip(next) {
                *y = *y * di - l * q;
            }
        }
    }

    /// The substitutions of [`ldl_substitute`] on every column at once, column by column
    /// within each $k$ (the columns' recurrences are independent, so they overlap in the
    /// pipeline).
    fn sweep_columns(&self, cols: &mut [&mut [f64]]) -> Result<()> {
        let n = self.dim();
        // two columns at a time as two local slices of known length n: no bounds checks
        // in the loops, two chains in flight
        let (l, dinv) = (&self.l[..n - 1], &self.dinv[..n]);
        for pair in cols.chunks_mut(2) {
            if let [a] = pair {
                ldl_substitute(n, |k, z| z * dinv[k], |k| l[k], a);
            } else if let [a, b] = pair {
                let (a, b) = (&mut a[..n], &mut b[..n]);
                for k in 1..n {
                    a[k] -= l[k - 1] * a[k - 1];
                    b[k] -= l[k - 1] * b[k - 1];
                }
                a[n - 1] *= dinv[n - 1];
                b[n - 1] *= dinv[n - 1];
                for k in (0..n - 1).rev() {
                    a[k] = a[k] * dinv[k] - l[k] * a[k + 1];
                    b[k] = b[k] * dinv[k] - l[k] * b[k + 1];
                }
            }
        }
        if cols.iter().any(|c| c.iter().any(|v| !v.is_finite())) {
            return Err(LinalgError::NonFinite {
                what: UNPIVOTED_OVERFLOW,
            });
        }
        Ok(())
    }
}

/// General tridiagonal matrix with sub-diagonal $(c_k)_{k<n-1}$ (`lower`, $A_{k+1,k}$),
/// diagonal $(a_k)_{k<n}$ and super-diagonal $(e_k)_{k<n-1}$ (`upper`, $A_{k,k+1}$).
#[derive(Clone, Debug, PartialEq)]
pub struct Tridiagonal {
    lower: Vec<f64>,
    diag: Vec<f64>,
    upper: Vec<f64>,
}

impl From<&SymTridiagonal> for Tridiagonal {
    /// $c_k = e_k = b_k$.
    fn from(s: &SymTridiagonal) -> Self {
        Self {
            lower: s.off.clone(),
            diag: s.diag.clone(),
            upper: s.off.clone(),
        }
    }
}

impl Tridiagonal {
    /// Builds $A$ from sub-diagonal ($n-1$), diagonal ($n \ge 1$) and super-diagonal ($n-1$).
    ///
    /// # Errors
    /// [`LinalgError::Empty`] if `diag` is empty, [`LinalgError::DimensionMismatch`] for
    /// wrong off-diagonal lengths, [`LinalgError::NonFinite`] for NaN/infinite entries.
    pub fn new(lower: Vec<f64>, diag: Vec<f64>, upper: Vec<f64>) -> Result<Self> {
        let t = Self { lower, diag, upper };
        t.validate()?;
        Ok(t)
    }

    fn validate(&self) -> Result<()> {
        check_nonempty(self.diag.len(), "tridiagonal diagonal")?;
        let n = self.diag.len();
        check_dim("tridiagonal sub-diagonal length", n - 1, self.lower.len())?;
        check_dim("tridiagonal super-diagonal length", n - 1, self.upper.len())?;
        check_finite("tridiagonal sub-diagonal", &self.lower)?;
        check_finite("tridiagonal diagonal", &self.diag)?;
        check_finite("tridiagonal super-diagonal", &self.upper)
    }

    /// Dimension $n$.
    pub fn dim(&self) -> usize {
        self.diag.len()
    }

    /// Sub-diagonal $c_k = A_{k+1,k}$.
    pub fn lower(&self) -> &[f64] {
        &self.lower
    }

    /// Diagonal $a_k = A_{kk}$.
    pub fn diag(&self) -> &[f64] {
        &self.diag
    }

    /// Super-diagonal $e_k = A_{k,k+1}$.
    pub fn upper(&self) -> &[f64] {
        &self.upper
    }

    /// Mutable sub-diagonal (lengths are fixed; non-finite values are reported by [`TridiagonalLu`]).
    pub fn lower_mut(&mut self) -> &mut [f64] {
        &mut self.lower
    }

    /// Mutable diagonal.
    pub fn diag_mut(&mut self) -> &mut [f64] {
        &mut self.diag
    }

    /// Mutable super-diagonal.
    pub fn upper_mut(&mut self) -> &mut [f64] {
        &mut self.upper
    }

    /// $y = A x$: $y_k = c_{k-1} x_{k-1} + a_k x_k + e_k x_{k+1}$, written into `y`.
    ///
    /// # Errors
    /// [`LinalgError::DimensionMismatch`] if `x` or `y` does not have length $n$.
    pub fn matvec_into(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
        tridiag_matvec(&self.lower, &self.diag, &self.upper, x, y)
    }

    /// $y = A x$ (allocating).
    ///
    /// # Errors
    /// [`LinalgError::DimensionMismatch`] if `x.len() != n`.
    pub fn matvec(&self, x: &[f64]) -> Result<Vec<f64>> {
        let mut y = vec![0.0; self.dim()];
        self.matvec_into(x, &mut y)?;
        Ok(y)
    }

    /// The dense $n \times n$ matrix (for tests and small sizes).
    pub fn to_dense(&self) -> Mat<f64> {
        tridiag_to_dense(&self.lower, &self.diag, &self.upper)
    }

    /// Factors $P A = L U$ with partial pivoting (see [`TridiagonalLu`]).
    ///
    /// # Errors
    /// As [`TridiagonalLu::new`].
    pub fn lu(&self) -> Result<TridiagonalLu> {
        TridiagonalLu::new(self)
    }

    /// $\log|\det A|$ with sign, $\det A = (-1)^{t} \prod_k U_{kk}$ from the pivoted LU.
    ///
    /// # Errors
    /// [`LinalgError::Singular`] if $\det A = 0$, [`LinalgError::NonFinite`] for non-finite entries.
    pub fn log_det(&self) -> Result<LogDet> {
        self.lu()?.log_det_impl()
    }

    /// Solves $A x = b$ via the pivoted LU (allocating).
    ///
    /// # Errors
    /// As [`Tridiagonal::log_det`], plus [`LinalgError::DimensionMismatch`] /
    /// [`LinalgError::NonFinite`] for a bad right-hand side.
    pub fn solve(&self, rhs: &[f64]) -> Result<Vec<f64>> {
        let lu = self.lu()?;
        let mut x = rhs.to_vec();
        lu.solve_slice(&mut x)?;
        Ok(x)
    }
}

/// LU factorization with partial pivoting of a tridiagonal matrix (LAPACK `gttrf`):
/// $P A = L U$ where $L$ is unit lower bidiagonal (multipliers `dl`) up to the row
/// interchanges, and $U$ is upper triangular with diagonal `d` and two
/// super-diagonals `du`, `du2`; $\det A = (-1)^{t} \prod_k d_k$, $t$ = number of
/// interchanges. Implements [`BlockSolver`](crate::BlockSolver).
#[derive(Clone, Debug)]
pub struct TridiagonalLu {
    dl: Vec<f64>,
    d: Vec<f64>,
    du: Vec<f64>,
    du2: Vec<f64>,
    /// Row $k$ was interchanged with row $k+1$ at elimination step $k$.
    swapped: Vec<bool>,
    status: Result<LogDet>,
}

impl TridiagonalLu {
    /// Factors $P A = L U$ in $O(n)$.
    ///
    /// # Errors
    /// [`LinalgError::Singular`] if some $U_{kk} = 0$ exactly (then $\det A = 0$),
    /// [`LinalgError::NonFinite`] for non-finite entries or pivots.
    pub fn new(a: &Tridiagonal) -> Result<Self> {
        let mut f = Self {
            dl: Vec::new(),
            d: Vec::new(),
            du: Vec::new(),
            du2: Vec::new(),
            swapped: Vec::new(),
            status: Ok(LogDet::ONE),
        };
        f.refactor(a)?;
        Ok(f)
    }

    /// Re-factors a new matrix reusing storage. On error the factorization is
    /// unusable and later calls report the same error.
    ///
    /// # Errors
    /// As [`TridiagonalLu::new`].
    pub fn refactor(&mut self, a: &Tridiagonal) -> Result<()> {
        let res = self.refactor_impl(a);
        self.status = res.clone();
        res.map(|_| ())
    }

    fn refactor_impl(&mut self, a: &Tridiagonal) -> Result<LogDet> {
        a.validate()?;
        let n = a.dim();
        self.dl.clone_from(&a.lower);
        self.d.clone_from(&a.diag);
        self.du.clone_from(&a.upper);
        self.du2.clear();
        self.du2.resize(n.saturating_sub(2), 0.0);
        self.swapped.clear();
        self.swapped.resize(n, false);
        let (dl, d, du, du2) = (&mut self.dl, &mut self.d, &mut self.du, &mut self.du2);
        let mut transpositions = 0usize;
        for i in 0..n - 1 {
            if d[i].abs() >= dl[i].abs() {
                // No interchange: l_i = c_i / d_i, d_{i+1} -= l_i e_i.
                // (d_i = 0 here means the whole column is zero: singular, reported below.)
                if d[i] != 0.0 {
                    let f = dl[i] / d[i];
                    dl[i] = f;
                    d[i + 1] -= f * du[i];
                }
            } else {
                // Interchange rows i and i+1, then eliminate.
                let f = d[i] / dl[i];
                d[i] = dl[i];
                dl[i] = f;
                let t = du[i];
                du[i] = d[i + 1];
                d[i + 1] = t - f * d[i + 1];
                if i + 2 < n {
                    du2[i] = du[i + 1];
                    du[i + 1] *= -f;
                }
                self.swapped[i] = true;
                transpositions += 1;
            }
        }
        let ld = LogDet::from_pivots(d.iter().copied(), "tridiagonal LU pivot")?;
        Ok(if transpositions % 2 == 1 {
            ld.negate()
        } else {
            ld
        })
    }

    /// Dimension $n$.
    pub fn dim(&self) -> usize {
        self.d.len()
    }

    pub(crate) fn log_det_impl(&self) -> Result<LogDet> {
        self.status.clone()
    }

    /// In place $b \leftarrow A^{-1} b$: apply $L^{-1} P$ step by step, then back
    /// substitution $x_i = (y_i - u_i x_{i+1} - u'_i x_{i+2}) / d_i$.
    pub(crate) fn solve_slice(&self, b: &mut [f64]) -> Result<()> {
        self.status.clone()?;
        let n = self.dim();
        check_dim("tridiagonal rhs length", n, b.len())?;
        check_finite("tridiagonal rhs", b)?;
        for i in 0..n - 1 {
            if self.swapped[i] {
                let t = b[i] - self.dl[i] * b[i + 1];
                b[i] = b[i + 1];
                b[i + 1] = t;
            } else {
                b[i + 1] -= self.dl[i] * b[i];
            }
        }
        b[n - 1] /= self.d[n - 1];
        if n > 1 {
            b[n - 2] = (b[n - 2] - self.du[n - 2] * b[n - 1]) / self.d[n - 2];
        }
        for i in (0..n.saturating_sub(2)).rev() {
            b[i] = (b[i] - self.du[i] * b[i + 1] - self.du2[i] * b[i + 2]) / self.d[i];
        }
        check_finite("tridiagonal solution (overflow)", b)
    }
}

/// $y_k = c_{k-1} x_{k-1} + a_k x_k + e_k x_{k+1}$.
fn tridiag_matvec(
    lower: &[f64],
    diag: &[f64],
    upper: &[f64],
    x: &[f64],
    y: &mut [f64],
) -> Result<()> {
    let n = diag.len();
    check_dim("tridiagonal matvec input length", n, x.len())?;
    check_dim("tridiagonal matvec output length", n, y.len())?;
    for k in 0..n {
        let mut s = diag[k] * x[k];
        if k > 0 {
            s += lower[k - 1] * x[k - 1];
        }
        if k + 1 < n {
            s += upper[k] * x[k + 1];
        }
        y[k] = s;
    }
    Ok(())
}

fn tridiag_to_dense(lower: &[f64], diag: &[f64], upper: &[f64]) -> Mat<f64> {
    let n = diag.len();
    Mat::from_fn(n, n, |i, j| {
        if i == j {
            diag[i]
        } else if i == j + 1 {
            lower[j]
        } else if j == i + 1 {
            upper[i]
        } else {
            0.0
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BlockSolver;
    use crate::dense::{dense_log_det, dense_solve};
    use crate::testutil::Rng;

    fn random_sym(rng: &mut Rng, n: usize, dominant: bool) -> SymTridiagonal {
        let off: Vec<f64> = (0..n - 1).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let diag = (0..n)
            .map(|_| {
                let a = rng.uniform(-1.0, 1.0);
                if dominant {
                    // |a_k| >= 2.5 > |b_{k-1}| + |b_k|, random sign: indefinite but safe.
                    a.signum() * (2.5 + a.abs())
                } else {
                    a
                }
            })
            .collect();
        SymTridiagonal::new(diag, off).unwrap()
    }

    fn random_general(rng: &mut Rng, n: usize) -> Tridiagonal {
        let mut v = |m: usize| (0..m).map(|_| rng.uniform(-1.0, 1.0)).collect::<Vec<_>>();
        let (l, d, u) = (v(n - 1), v(n), v(n - 1));
        Tridiagonal::new(l, d, u).unwrap()
    }

    fn close(a: LogDet, b: LogDet, tol: f64) -> bool {
        (a.log_abs - b.log_abs).abs() <= tol * b.log_abs.abs().max(1.0) && a.sign == b.sign
    }

    #[test]
    fn sym_log_det_matches_dense() {
        let mut rng = Rng::new(1);
        for n in 1..40 {
            for dominant in [true, false] {
                let t = random_sym(&mut rng, n, dominant);
                let want = dense_log_det(t.to_dense().as_ref()).unwrap();
                let got = t.log_det().unwrap();
                let tol = if dominant { 1e-12 } else { 1e-8 };
                assert!(close(got, want, tol), "n={n} {got:?} {want:?}");
                assert!(close(
                    t.ldl().map_or(got, |f| f.log_det().unwrap()),
                    want,
                    tol
                ));
            }
        }
    }

    /// The backward-error statement of the module doc, pivot by pivot: each computed
    /// $\hat d_k$ equals the exact $r_k = a_k - b_{k-1}^2/\hat d_{k-1}$ (formed from the
    /// *computed* previous pivot, in double-double) up to
    /// $|\hat d_k - r_k| \le u|\hat d_k| + (2u + u^2)\,|b_{k-1}^2/\hat d_{k-1}|$, i.e.
    /// $\hat d$ are the exact pivots of $A$ with each $b_k^2$ perturbed by at most
    /// $2u + u^2$ relative and each pivot rounded once ($u = 2^{-53}$). Indefinite,
    /// non-dominant matrices, where pivots can be tiny and $b^2/d$ huge.
    #[test]
    fn sym_pivots_meet_the_sturm_backward_error_bound() {
        let u = f64::EPSILON / 2.0;
        let mut rng = Rng::new(7);
        let mut checked = 0;
        for trial in 0..400 {
            let n = 2 + trial % 200;
            let t = random_sym(&mut rng, n, false);
            let Ok(ldl) = t.ldl() else { continue };
            let d = ldl.pivots();
            for k in 1..n {
                let (a, b, dp) = (t.diag()[k], t.off()[k - 1], d[k - 1]);
                // b²/dp in double-double: p + e = b² exactly, q1 + q2 ≈ (p + e)/dp.
                let p = b * b;
                let e = b.mul_add(b, -p);
                let q1 = p / dp;
                let q2 = ((-q1).mul_add(dp, p) + e) / dp;
                // r = a − q1 − q2 = s + (err − q2) with a − q1 = s + err exactly (TwoSum),
                // kept unrounded: d̂ − r = (d̂ − s) − (err − q2).
                let s = a - q1;
                let z = s - a;
                let err = (a - (s - z)) + (-q1 - z);
                let gap = (d[k] - s) - (err - q2);
                let bound = u * d[k].abs() + (2.0 * u + u * u) * q1.abs();
                // The double-double r is within ~u² |q1| of the exact value, gap within u |gap|.
                let slack = 4.0 * u * (u * (q1.abs() + a.abs()) + bound) + f64::MIN_POSITIVE;
                assert!(
                    gap.abs() <= bound + slack,
                    "n = {n}, k = {k}: pivot {:e} off the exact one by {gap:e} > {bound:e}",
                    d[k]
                );
                checked += 1;
            }
            // The log-determinant is the one of these pivots.
            let want = LogDet::from_pivots(d.iter().copied(), "pivot").unwrap();
            assert!(close(t.log_det().unwrap(), want, 1e-12));
        }
        assert!(checked > 10_000, "only {checked} pivots checked");
    }

    #[test]
    fn sym_solve_matches_dense() {
        let mut rng = Rng::new(2);
        for n in 1..30 {
            let t = random_sym(&mut rng, n, true);
            let x: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let b = t.matvec(&x).unwrap();
            let got = t.solve(&b).unwrap();
            let mut work = vec![0.0; n + 3];
            let mut inplace = b.clone();
            t.solve_in_place(&mut inplace, &mut work).unwrap();
            let ldl = t.ldl().unwrap();
            let mut via_trait = b.clone();
            ldl.solve_in_place(&mut via_trait).unwrap();
            let bm = Mat::from_fn(n, 1, |i, _| b[i]);
            let dense = dense_solve(t.to_dense().as_ref(), bm.as_ref()).unwrap();
            for i in 0..n {
                assert!((got[i] - x[i]).abs() < 1e-12);
                assert!((inplace[i] - x[i]).abs() < 1e-12);
                assert!((via_trait[i] - x[i]).abs() < 1e-12);
                assert!((dense[(i, 0)] - x[i]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn general_matches_dense() {
        let mut rng = Rng::new(5);
        for n in 1..30 {
            let t = random_general(&mut rng, n);
            let dense = t.to_dense();
            let want = dense_log_det(dense.as_ref()).unwrap();
            let got = t.log_det().unwrap();
            assert!(close(got, want, 1e-8), "n={n} {got:?} {want:?}");
            let x: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let b = t.matvec(&x).unwrap();
            let sol = t.solve(&b).unwrap();
            // backward error: ||A x̂ - b|| small relative to ||A|| ||x̂||
            let r = t.matvec(&sol).unwrap();
            let xn = sol.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for i in 0..n {
                assert!((r[i] - b[i]).abs() <= 1e-12 * (1.0 + 3.0 * xn));
            }
        }
    }

    #[test]
    fn zero_pivot_fallback() {
        // [[0,1],[1,0]]: LDL^T breaks down at d_0 = 0, det = -1.
        let t = SymTridiagonal::new(vec![0.0, 0.0], vec![1.0]).unwrap();
        let ld = t.log_det().unwrap();
        assert_eq!(ld.sign, -1.0);
        assert!(ld.log_abs.abs() < 1e-15);
        assert_eq!(t.solve(&[2.0, 3.0]).unwrap(), vec![3.0, 2.0]);
        assert!(matches!(
            t.ldl(),
            Err(LinalgError::Singular { index: 0, .. })
        ));
        let mut rhs = [2.0, 3.0];
        assert!(t.solve_in_place(&mut rhs, &mut [0.0; 2]).is_err());
        assert_eq!(rhs, [2.0, 3.0], "rhs untouched on error");
        // 3x3 with a zero leading entry and a swap chain
        let t = SymTridiagonal::new(vec![0.0, 0.0, 2.0], vec![1.0, 1.0]).unwrap();
        let want = dense_log_det(t.to_dense().as_ref()).unwrap();
        assert!(close(t.log_det().unwrap(), want, 1e-14));
        let lu = Tridiagonal::from(&t).lu().unwrap();
        let mut b = [1.0, 2.0, 3.0];
        lu.solve_in_place(&mut b).unwrap();
        let r = t.matvec(&b).unwrap();
        assert!(
            (r[0] - 1.0).abs() < 1e-14 && (r[1] - 2.0).abs() < 1e-14 && (r[2] - 3.0).abs() < 1e-14
        );
    }

    /// `refactor_many` = one `refactor` per matrix, bit for bit: pivots, 1/d, l, log|det|,
    /// solves and errors (a singular lane, an overflowing lane), mixed dimensions, and
    /// mismatched slice lengths as a typed error in every entry.
    #[test]
    fn refactor_many_equals_refactor_bit_for_bit() {
        let mut rng = Rng::new(17);
        let mut mats: Vec<SymTridiagonal> = (0..7)
            .map(|i| random_sym(&mut rng, 9, i % 2 == 0))
            .collect();
        // lane 3: a zero pivot at k = 1; lane 5: a pivot that overflows
        mats[3] = SymTridiagonal::new(
            vec![1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0],
            vec![1.0; 8],
        )
        .unwrap();
        mats[5] = SymTridiagonal::new(
            vec![1e-300, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0],
            vec![1e10; 8],
        )
        .unwrap();
        let eye = SymTridiagonal::new(vec![1.0; 9], vec![0.0; 8]).unwrap();
        let mut one_by_one: Vec<SymTridiagonalLdl> = (0..7).map(|_| eye.ldl().unwrap()).collect();
        let want: Vec<Result<()>> = one_by_one
            .iter_mut()
            .zip(&mats)
            .map(|(f, a)| f.refactor(a))
            .collect();
        assert!(want[3].is_err() && want[5].is_err() && want[0].is_ok());
        let mut together: Vec<SymTridiagonalLdl> = (0..7).map(|_| eye.ldl().unwrap()).collect();
        let mut got = vec![Ok(()); 7];
        {
            let mut refs: Vec<&mut SymTridiagonalLdl> = together.iter_mut().collect();
            let mats: Vec<&SymTridiagonal> = mats.iter().collect();
            SymTridiagonalLdl::refactor_many(&mut refs, &mats, &mut got);
        }
        assert_eq!(got, want);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for (a, b) in together.iter().zip(&one_by_one) {
            assert_eq!(bits(&a.d), bits(&b.d));
            if b.status.is_ok() {
                assert_eq!(bits(&a.dinv), bits(&b.dinv));
                assert_eq!(bits(&a.l), bits(&b.l));
                let (la, lb) = (a.log_det().unwrap(), b.log_det().unwrap());
                assert_eq!(
                    (la.log_abs.to_bits(), la.sign),
                    (lb.log_abs.to_bits(), lb.sign)
                );
            } else {
                assert_eq!(a.log_det(), b.log_det());
            }
        }
        // mixed dimensions: factored one by one, same outcome
        let small = random_sym(&mut rng, 4, true);
        let mut f = [eye.ldl().unwrap(), eye.ldl().unwrap()];
        let mut out = vec![Ok(()); 2];
        {
            let [f0, f1] = &mut f;
            SymTridiagonalLdl::refactor_many(&mut [f0, f1], &[&mats[0], &small], &mut out);
        }
        assert_eq!(bits(&f[1].d), bits(&small.ldl().unwrap().d));
        assert!(out.iter().all(Result::is_ok));
        // mismatched lengths
        let mut out = vec![Ok(()); 2];
        let [f0, _] = &mut f;
        SymTridiagonalLdl::refactor_many(&mut [f0], &[&mats[0], &small], &mut out);
        assert!(
            out.iter()
                .all(|r| matches!(r, Err(LinalgError::DimensionMismatch { .. })))
        );
    }

    #[test]
    fn singular_and_bad_input() {
        // [[1,1],[1,1]] is singular: last pivot is 0.
        let t = SymTridiagonal::new(vec![1.0, 1.0], vec![1.0]).unwrap();
        assert!(matches!(
            t.log_det(),
            Err(LinalgError::Singular { index: 1, .. })
        ));
        assert!(matches!(
            t.solve(&[1.0, 1.0]),
            Err(LinalgError::Singular { .. })
        ));
        // fully zero column -> singular through the pivoted fallback
        let t = SymTridiagonal::new(vec![0.0, 1.0], vec![0.0]).unwrap();
        assert!(matches!(t.log_det(), Err(LinalgError::Singular { .. })));
        assert!(matches!(
            SymTridiagonal::new(vec![], vec![]),
            Err(LinalgError::Empty { .. })
        ));
        assert!(matches!(
            SymTridiagonal::new(vec![1.0, 2.0], vec![]),
            Err(LinalgError::DimensionMismatch {
                expected: 1,
                got: 0,
                ..
            })
        ));
        assert!(matches!(
            SymTridiagonal::new(vec![1.0, f64::NAN], vec![0.0]),
            Err(LinalgError::NonFinite { .. })
        ));
        assert!(matches!(
            Tridiagonal::new(vec![0.0], vec![1.0, 1.0], vec![f64::INFINITY]),
            Err(LinalgError::NonFinite { .. })
        ));
        let mut t = SymTridiagonal::new(vec![2.0, 2.0], vec![1.0]).unwrap();
        assert!(t.solve_in_place(&mut [1.0, 1.0], &mut [0.0]).is_err());
        assert!(t.solve_in_place(&mut [1.0], &mut [0.0; 2]).is_err());
        assert!(t.solve(&[1.0, f64::NAN]).is_err());
        assert!(t.matvec(&[1.0]).is_err());
        t.diag_mut()[1] = f64::NAN;
        assert!(matches!(t.log_det(), Err(LinalgError::NonFinite { .. })));
        assert!(matches!(t.ldl(), Err(LinalgError::NonFinite { .. })));
        assert!(matches!(
            Tridiagonal::from(&t).lu(),
            Err(LinalgError::NonFinite { .. })
        ));
    }

    #[test]
    fn refactor_reuses_storage() {
        let mut rng = Rng::new(9);
        let t = random_sym(&mut rng, 6, true);
        let mut f = t.ldl().unwrap();
        let mut g = Tridiagonal::from(&t).lu().unwrap();
        let singular = SymTridiagonal::new(vec![1.0, 1.0], vec![1.0]).unwrap();
        assert!(f.refactor(&singular).is_err());
        assert!(f.solve_in_place(&mut [1.0, 1.0]).is_err());
        assert!(g.refactor(&Tridiagonal::from(&singular)).is_err());
        assert!(g.log_det().is_err());
        let t2 = random_sym(&mut rng, 4, true);
        f.refactor(&t2).unwrap();
        g.refactor(&Tridiagonal::from(&t2)).unwrap();
        assert_eq!(f.dim(), 4);
        assert_eq!(f.pivots().len(), 4);
        assert!(close(f.log_det().unwrap(), g.log_det().unwrap(), 1e-13));
    }

    #[test]
    fn accessors_and_matvec() {
        let mut t = Tridiagonal::new(vec![1.0], vec![2.0, 3.0], vec![4.0]).unwrap();
        assert_eq!(t.matvec(&[1.0, 1.0]).unwrap(), vec![6.0, 4.0]);
        t.upper_mut()[0] = 0.0;
        t.lower_mut()[0] = 0.0;
        t.diag_mut()[0] = 5.0;
        assert_eq!(
            (t.lower(), t.diag(), t.upper()),
            (&[0.0][..], &[5.0, 3.0][..], &[0.0][..])
        );
        assert!((t.log_det().unwrap().value() - 15.0).abs() < 1e-12);
        let s = SymTridiagonal::new(vec![1.0], vec![]).unwrap();
        assert_eq!((s.dim(), s.diag(), s.off()), (1, &[1.0][..], &[][..]));
    }
}

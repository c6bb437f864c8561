//! Symmetric banded matrices and the partial-pivoting LU of banded matrices, $O(n w^2)$
//! for half-bandwidth $w$.
//!
//! - [`SymBanded`]: $A = A^\top$ with $A_{ij} = 0$ for $|i - j| > w$, stored by diagonals
//!   (`band(j)[t]` $= A_{t,t+j}$, $0 \le j \le w$).
//! - [`BandedLu`]: $P A = L U$ with row interchanges (LAPACK `gbtrf` scheme). $L$ has
//!   $w$ sub-diagonals, $U$ has $2w$ super-diagonals (the fill of the interchanges);
//!   $\det A = (-1)^t \prod_k U_{kk}$, $t$ the number of interchanges. Robust for any
//!   non-singular (also indefinite) banded matrix, unlike an unpivoted $LDL^\top$.
//!   Implements [`BlockSolver`](crate::BlockSolver).

use faer::Mat;

use crate::error::{LinalgError, Result, check_dim, check_finite};
use crate::logdet::LogDet;

/// Symmetric banded $n \times n$ matrix of half-bandwidth $w$:
/// $A_{t,t+j} = A_{t+j,t} = \texttt{band}(j)_t$ for $0 \le j \le w$, zero beyond.
#[derive(Clone, Debug, PartialEq)]
pub struct SymBanded {
    n: usize,
    w: usize,
    /// Diagonal $j$ at `bands[j * n .. j * n + n - j]` (the tail of each stripe is unused, kept 0).
    bands: Vec<f64>,
}

impl SymBanded {
    /// The zero matrix of size $n \ge 1$ and half-bandwidth $w$ ($w < n$, or $w = 0$).
    ///
    /// # Errors
    /// [`LinalgError::Empty`] if $n = 0$, [`LinalgError::DimensionMismatch`] if $w \ge n > 1$.
    pub fn zeros(n: usize, w: usize) -> Result<Self> {
        if n == 0 {
            return Err(LinalgError::Empty {
                what: "banded matrix dimension",
            });
        }
        if w >= n && w > 0 {
            return Err(LinalgError::DimensionMismatch {
                what: "banded half-bandwidth (must be < n)",
                expected: n - 1,
                got: w,
            });
        }
        Ok(Self {
            n,
            w,
            bands: vec![0.0; n * (w + 1)],
        })
    }

    /// Dimension $n$.
    pub fn dim(&self) -> usize {
        self.n
    }

    /// Half-bandwidth $w$.
    pub fn bandwidth(&self) -> usize {
        self.w
    }

    /// Diagonal $j$: entries $A_{t,t+j}$, $t < n - j$.
    ///
    /// # Panics
    /// If $j > w$ (a programming error, not user input).
    pub fn band(&self, j: usize) -> &[f64] {
        assert!(j <= self.w, "band {j} beyond half-bandwidth {}", self.w);
        &self.bands[j * self.n..j * self.n + self.n - j]
    }

    /// Mutable diagonal $j$ (see [`SymBanded::band`]).
    ///
    /// # Panics
    /// If $j > w$.
    pub fn band_mut(&mut self, j: usize) -> &mut [f64] {
        assert!(j <= self.w, "band {j} beyond half-bandwidth {}", self.w);
        let n = self.n;
        &mut self.bands[j * n..j * n + n - j]
    }

    /// Sets every entry to 0 (keeps the shape).
    pub fn fill_zero(&mut self) {
        self.bands.iter_mut().for_each(|v| *v = 0.0);
    }

    /// $A_{ij}$ (0 outside the band or the matrix).
    pub fn get(&self, i: usize, j: usize) -> f64 {
        let (lo, hi) = if i <= j { (i, j) } else { (j, i) };
        let d = hi - lo;
        if hi >= self.n || d > self.w {
            0.0
        } else {
            self.bands[d * self.n + lo]
        }
    }

    /// $y = A x$.
    ///
    /// # Errors
    /// [`LinalgError::DimensionMismatch`] if `x` or `y` does not have length $n$.
    pub fn matvec_into(&self, x: &[f64], y: &mut [f64]) -> Result<()> {
        check_dim("banded matvec x length", self.n, x.len())?;
        check_dim("banded matvec y length", self.n, y.len())?;
        let n = self.n;
        for (t, yt) in y.iter_mut().enumerate() {
            *yt = self.bands[t] * x[t];
        }
        for j in 1..=self.w {
            let b = &self.bands[j * n..j * n + n - j];
            for t in 0..n - j {
                y[t] += b[t] * x[t + j];
                y[t + j] += b[t] * x[t];
            }
        }
        Ok(())
    }

    /// The dense $n \times n$ matrix (for tests and small sizes).
    pub fn to_dense(&self) -> Mat<f64> {
        Mat::from_fn(self.n, self.n, |i, j| self.get(i, j))
    }

    /// Factors $P A = L U$ (see [`BandedLu`]).
    ///
    /// # Errors
    /// As [`BandedLu::refactor_sym`].
    pub fn lu(&self) -> Result<BandedLu> {
        let mut f = BandedLu::default();
        f.refactor_sym(self)?;
        Ok(f)
    }
}

/// Partial-pivoting LU $P A = L U$ of an $n \times n$ banded matrix with $w$ sub- and
/// $w$ super-diagonals.
///
/// Row $i$ is stored over columns $i - w \dots i + 2w$ (`3w + 1` slots: the $w$
/// multipliers of $L$, the diagonal and the $2w$ super-diagonals of $U$ including fill).
/// The interchanges are applied in order during elimination and again in the forward
/// substitution, as in LAPACK `gbtrf`/`gbtrs`.
#[derive(Clone, Debug, Default)]
pub struct BandedLu {
    n: usize,
    w: usize,
    ab: Vec<f64>,
    piv: Vec<usize>,
    status: Option<Result<LogDet>>,
}

impl BandedLu {
    #[inline]
    fn width(&self) -> usize {
        3 * self.w + 1
    }

    /// Slot of $A_{ij}$ in row-compact storage, valid for $-w \le j - i \le 2w$.
    #[inline]
    fn idx(&self, i: usize, j: usize) -> usize {
        i * self.width() + (j + self.w - i)
    }

    /// Factors the symmetric banded matrix `a`, reusing storage.
    ///
    /// # Errors
    /// [`LinalgError::NonFinite`] for a non-finite entry or pivot,
    /// [`LinalgError::Singular`] if a pivot column is exactly zero ($\det A = 0$).
    /// On error the factorization is unusable and later calls report the same error.
    pub fn refactor_sym(&mut self, a: &SymBanded) -> Result<()> {
        self.n = a.n;
        self.w = a.w;
        let (n, w) = (a.n, a.w);
        let width = self.width();
        self.ab.clear();
        self.ab.resize(n * width, 0.0);
        self.piv.clear();
        self.piv.resize(n, 0);
        let res = check_finite("banded matrix", &a.bands).and_then(|()| {
            for i in 0..n {
                let lo = i.saturating_sub(w);
                let hi = (i + w).min(n - 1);
                for j in lo..=hi {
                    let k = self.idx(i, j);
                    self.ab[k] = a.get(i, j);
                }
            }
            self.eliminate()
        });
        self.status = Some(res.clone());
        res.map(|_| ())
    }

    /// In-place elimination with partial pivoting; returns the signed log-determinant.
    fn eliminate(&mut self) -> Result<LogDet> {
        let (n, w) = (self.n, self.w);
        let mut ld = LogDet::ONE;
        for k in 0..n {
            let last_row = (k + w).min(n - 1);
            let last_col = (k + 2 * w).min(n - 1);
            // pivot: largest |A_ik| for i in k..=k+w
            let mut p = k;
            let mut best = self.ab[self.idx(k, k)].abs();
            for i in k + 1..=last_row {
                let v = self.ab[self.idx(i, k)].abs();
                if v > best {
                    best = v;
                    p = i;
                }
            }
            self.piv[k] = p;
            if p != k {
                for j in k..=last_col {
                    let (a, b) = (self.idx(k, j), self.idx(p, j));
                    self.ab.swap(a, b);
                }
                ld = ld.negate();
            }
            let pivot = self.ab[self.idx(k, k)];
            ld.push_pivot(pivot, "banded LU pivot", k)?;
            for i in k + 1..=last_row {
                let ik = self.idx(i, k);
                let l = self.ab[ik] / pivot;
                self.ab[ik] = l;
                if l != 0.0 {
                    for j in k + 1..=last_col {
                        let (ij, kj) = (self.idx(i, j), self.idx(k, j));
                        self.ab[ij] -= l * self.ab[kj];
                    }
                }
            }
        }
        Ok(ld)
    }

    /// Dimension $n$.
    pub fn dim(&self) -> usize {
        self.n
    }

    fn status(&self) -> Result<LogDet> {
        self.status.clone().unwrap_or(Err(LinalgError::Empty {
            what: "banded LU (nothing factored yet)",
        }))
    }

    pub(crate) fn log_det_impl(&self) -> Result<LogDet> {
        self.status()
    }

    /// Solves $A x = b$ in place: $b \leftarrow P$-ordered forward substitution with $L$,
    /// then back substitution with $U$. A solution that overflows is
    /// [`LinalgError::NonFinite`](crate::LinalgError::NonFinite), never a silent ±∞/NaN.
    pub(crate) fn solve_slice(&self, rhs: &mut [f64]) -> Result<()> {
        self.status()?;
        let (n, w) = (self.n, self.w);
        check_dim("banded rhs length", n, rhs.len())?;
        check_finite("banded rhs", rhs)?;
        for k in 0..n {
            let p = self.piv[k];
            if p != k {
                rhs.swap(k, p);
            }
            let bk = rhs[k];
            let last = (k + w).min(n - 1);
            for (i, r) in rhs.iter_mut().enumerate().take(last + 1).skip(k + 1) {
                *r -= self.ab[self.idx(i, k)] * bk;
            }
        }
        for k in (0..n).rev() {
            let mut s = rhs[k];
            let last = (k + 2 * w).min(n - 1);
            for (j, r) in rhs.iter().enumerate().take(last + 1).skip(k + 1) {
                s -= self.ab[self.idx(k, j)] * r;
            }
            rhs[k] = s / self.ab[self.idx(k, k)];
        }
        check_finite("banded solution (overflow)", rhs)
    }
}

/// Banded block through pivoted $P B = L U$: $\det B = (-1)^t \prod_k U_{kk}$.
impl crate::BlockSolver for BandedLu {
    fn dim(&self) -> usize {
        BandedLu::dim(self)
    }
    fn log_det(&self) -> Result<LogDet> {
        self.log_det_impl()
    }
    fn solve_in_place(&self, rhs: &mut [f64]) -> Result<()> {
        self.solve_slice(rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BlockSolver;
    use crate::dense::dense_log_det;

    #[test]
    fn indefinite_needs_pivoting() {
        // [[0, 1], [1, 0]]: det = -1, an unpivoted LDL^T would fail at the first pivot.
        let mut a = SymBanded::zeros(2, 1).unwrap();
        a.band_mut(1)[0] = 1.0;
        let f = a.lu().unwrap();
        let ld = f.log_det().unwrap();
        assert_eq!(ld.sign, -1.0);
        assert!(ld.log_abs.abs() < 1e-15);
        let mut b = [2.0, 3.0];
        f.solve_in_place(&mut b).unwrap();
        assert_eq!(b, [3.0, 2.0]);
        assert_eq!(dense_log_det(a.to_dense().as_ref()).unwrap().sign, -1.0);
    }

    #[test]
    fn errors_not_panics() {
        assert!(SymBanded::zeros(0, 0).is_err());
        assert!(SymBanded::zeros(3, 3).is_err());
        let a = SymBanded::zeros(3, 1).unwrap();
        assert!(matches!(
            a.lu(),
            Err(LinalgError::Singular { index: 0, .. })
        ));
        let mut f = BandedLu::default();
        assert!(f.log_det().is_err());
        assert!(f.refactor_sym(&a).is_err());
        assert!(f.solve_in_place(&mut [1.0; 3]).is_err());
        let mut nan = SymBanded::zeros(2, 1).unwrap();
        nan.band_mut(0)[1] = f64::NAN;
        assert!(matches!(nan.lu(), Err(LinalgError::NonFinite { .. })));
        let mut eye = SymBanded::zeros(2, 1).unwrap();
        eye.band_mut(0).fill(1.0);
        let f = eye.lu().unwrap();
        assert!(f.solve_in_place(&mut [1.0; 3]).is_err());
        assert!(f.solve_in_place(&mut [f64::NAN, 1.0]).is_err());
        assert!(eye.matvec_into(&[1.0], &mut [0.0; 2]).is_err());
    }
}

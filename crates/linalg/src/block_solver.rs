//! The [`BlockSolver`] abstraction: a factored square block $B \in \mathbb{R}^{m\times m}$
//! that knows $\log|\det B|$ and can apply $B^{-1}$.
//!
//! Implementations: [`DenseLu`] (faer partial-pivoting LU), [`SymTridiagonalLdl`]
//! ($LDL^\top$ of a symmetric tridiagonal block), [`TridiagonalLu`] (pivoted
//! tridiagonal LU) and [`Diagonal`]. References, `Box`es and trait objects of
//! solvers are solvers too, so heterogeneous block lists can be written as
//! `&[&dyn BlockSolver]` or `Vec<Box<dyn BlockSolver>>`.

use faer::MatMut;

use crate::dense::DenseLu;
use crate::error::{LinalgError, Result, check_dim, check_finite};
use crate::logdet::LogDet;
use crate::tridiagonal::{SymTridiagonalLdl, TridiagonalLu};

/// A square block $B$ ($m \times m$), already factored, supporting
/// $\log|\det B|$ and solves $B x = b$.
pub trait BlockSolver {
    /// Block size $m$.
    fn dim(&self) -> usize;

    /// $\log|\det B|$ with sign.
    ///
    /// # Errors
    /// [`LinalgError::Singular`] / [`LinalgError::NonFinite`] if the block is singular
    /// or its factorization is unusable.
    fn log_det(&self) -> Result<LogDet>;

    /// In place $\texttt{rhs} \leftarrow B^{-1}\,\texttt{rhs}$ (solve $B x = \texttt{rhs}$).
    ///
    /// # Errors
    /// [`LinalgError::DimensionMismatch`] if `rhs.len() != m`, [`LinalgError::NonFinite`]
    /// for a non-finite `rhs`, or the factorization's error if it is unusable.
    fn solve_in_place(&self, rhs: &mut [f64]) -> Result<()>;

    /// In place $X \leftarrow B^{-1} X$ for an $m \times k$ right-hand side
    /// (column by column by default; [`DenseLu`] solves all columns at once).
    ///
    /// Columns with unit row stride (e.g. sub-rows of a faer `Mat`) are solved
    /// without allocation; other layouts go through a temporary vector.
    ///
    /// # Errors
    /// As [`BlockSolver::solve_in_place`] (with `rhs.nrows()` in place of the length).
    fn solve_mat_in_place(&self, rhs: MatMut<'_, f64>) -> Result<()> {
        solve_mat_by_columns(self, rhs)
    }

    /// In place $X \leftarrow B^{-1} X$ for `c` right-hand sides stored interleaved row
    /// by row: entry $k$ of column $j$ at `x[k·c + j]` (`x.len() = m·c`), e.g. those of
    /// several particles sharing one block. Each column gets the bits of
    /// [`BlockSolver::solve_in_place`]; by default one gathered column at a time,
    /// [`SymTridiagonalLdl`] sweeps the rows in place. On error `x` may be partly
    /// overwritten.
    ///
    /// # Errors
    /// [`LinalgError::DimensionMismatch`] if `x.len() != m·c`; otherwise as
    /// [`BlockSolver::solve_in_place`], for the first failing column.
    fn solve_interleaved_in_place(&self, x: &mut [f64], c: usize) -> Result<()> {
        let m = self.dim();
        check_dim("interleaved rhs length", m * c, x.len())?;
        let mut col = vec![0.0; m];
        for j in 0..c {
            for (v, row) in col.iter_mut().zip(x.chunks_exact(c)) {
                *v = row[j];
            }
            self.solve_in_place(&mut col)?;
            for (&v, row) in col.iter().zip(x.chunks_exact_mut(c)) {
                row[j] = v;
            }
        }
        Ok(())
    }
}

/// Default column-by-column implementation of [`BlockSolver::solve_mat_in_place`].
fn solve_mat_by_columns<B: BlockSolver + ?Sized>(b: &B, mut rhs: MatMut<'_, f64>) -> Result<()> {
    check_dim("block rhs rows", b.dim(), rhs.nrows())?;
    let mut tmp = Vec::new();
    for j in 0..rhs.ncols() {
        let col = rhs.as_mut().col_mut(j);
        match col.try_as_col_major_mut() {
            Some(c) => b.solve_in_place(c.as_slice_mut())?,
            None => {
                let m = rhs.nrows();
                tmp.clear();
                tmp.extend((0..m).map(|i| rhs[(i, j)]));
                b.solve_in_place(&mut tmp)?;
                for (i, &x) in tmp.iter().enumerate() {
                    rhs[(i, j)] = x;
                }
            }
        }
    }
    Ok(())
}

impl<B: BlockSolver + ?Sized> BlockSolver for &B {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn log_det(&self) -> Result<LogDet> {
        (**self).log_det()
    }
    fn solve_in_place(&self, rhs: &mut [f64]) -> Result<()> {
        (**self).solve_in_place(rhs)
    }
    fn solve_mat_in_place(&self, rhs: MatMut<'_, f64>) -> Result<()> {
        (**self).solve_mat_in_place(rhs)
    }
    fn solve_interleaved_in_place(&self, x: &mut [f64], c: usize) -> Result<()> {
        (**self).solve_interleaved_in_place(x, c)
    }
}

impl<B: BlockSolver + ?Sized> BlockSolver for Box<B> {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn log_det(&self) -> Result<LogDet> {
        (**self).log_det()
    }
    fn solve_in_place(&self, rhs: &mut [f64]) -> Result<()> {
        (**self).solve_in_place(rhs)
    }
    fn solve_mat_in_place(&self, rhs: MatMut<'_, f64>) -> Result<()> {
        (**self).solve_mat_in_place(rhs)
    }
    fn solve_interleaved_in_place(&self, x: &mut [f64], c: usize) -> Result<()> {
        (**self).solve_interleaved_in_place(x, c)
    }
}

/// Dense block through its LU, $P B = L U$: $\det B = (-1)^t \prod_k U_{kk}$,
/// $B^{-1} b = U^{-1} L^{-1} P b$.
impl BlockSolver for DenseLu {
    fn dim(&self) -> usize {
        DenseLu::dim(self)
    }
    fn log_det(&self) -> Result<LogDet> {
        self.log_det_impl()
    }
    fn solve_in_place(&self, rhs: &mut [f64]) -> Result<()> {
        self.solve_slice(rhs)
    }
    fn solve_mat_in_place(&self, rhs: MatMut<'_, f64>) -> Result<()> {
        self.solve_mat(rhs)
    }
}

/// Symmetric tridiagonal block through $B = L D L^\top$: $\det B = \prod_k d_k$.
impl BlockSolver for SymTridiagonalLdl {
    fn dim(&self) -> usize {
        SymTridiagonalLdl::dim(self)
    }
    fn log_det(&self) -> Result<LogDet> {
        self.log_det_impl()
    }
    fn solve_in_place(&self, rhs: &mut [f64]) -> Result<()> {
        self.solve_slice(rhs)
    }
    fn solve_mat_in_place(&self, rhs: MatMut<'_, f64>) -> Result<()> {
        self.solve_mat(rhs)
    }
    fn solve_interleaved_in_place(&self, x: &mut [f64], c: usize) -> Result<()> {
        self.solve_interleaved(x, c)
    }
}

/// General tridiagonal block through pivoted $P B = L U$: $\det B = (-1)^t \prod_k U_{kk}$.
impl BlockSolver for TridiagonalLu {
    fn dim(&self) -> usize {
        TridiagonalLu::dim(self)
    }
    fn log_det(&self) -> Result<LogDet> {
        self.log_det_impl()
    }
    fn solve_in_place(&self, rhs: &mut [f64]) -> Result<()> {
        self.solve_slice(rhs)
    }
}

/// Diagonal block $B = \operatorname{diag}(\delta_0, \dots, \delta_{m-1})$:
/// $\det B = \prod_k \delta_k$, $(B^{-1} b)_k = b_k / \delta_k$.
///
/// The entries are public; validity (non-zero, finite) is checked by every call.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagonal(pub Vec<f64>);

impl BlockSolver for Diagonal {
    fn dim(&self) -> usize {
        self.0.len()
    }
    fn log_det(&self) -> Result<LogDet> {
        LogDet::from_pivots(self.0.iter().copied(), "diagonal block")
    }
    fn solve_in_place(&self, rhs: &mut [f64]) -> Result<()> {
        check_dim("diagonal block rhs length", self.0.len(), rhs.len())?;
        check_finite("diagonal block rhs", rhs)?;
        for (k, (x, &d)) in rhs.iter_mut().zip(&self.0).enumerate() {
            if !d.is_finite() {
                return Err(LinalgError::NonFinite {
                    what: "diagonal block",
                });
            }
            if d == 0.0 {
                return Err(LinalgError::Singular {
                    what: "diagonal block",
                    index: k,
                });
            }
            *x /= d;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tridiagonal::{SymTridiagonal, Tridiagonal};
    use faer::Mat;

    #[test]
    fn diagonal_block() {
        let d = Diagonal(vec![2.0, -4.0]);
        assert_eq!(d.dim(), 2);
        let ld = d.log_det().unwrap();
        assert!((ld.value() + 8.0).abs() < 1e-14);
        let mut b = [1.0, 1.0];
        d.solve_in_place(&mut b).unwrap();
        assert_eq!(b, [0.5, -0.25]);
        assert!(matches!(
            Diagonal(vec![1.0, 0.0]).log_det(),
            Err(LinalgError::Singular { index: 1, .. })
        ));
        assert!(
            Diagonal(vec![1.0, 0.0])
                .solve_in_place(&mut [1.0, 1.0])
                .is_err()
        );
        assert!(Diagonal(vec![f64::NAN]).solve_in_place(&mut [1.0]).is_err());
        assert!(d.solve_in_place(&mut [1.0]).is_err());
    }

    #[test]
    fn mat_solve_default_and_strided() {
        let t = SymTridiagonal::new(vec![4.0, 4.0, 4.0], vec![1.0, -1.0]).unwrap();
        let f = t.ldl().unwrap();
        let x = Mat::from_fn(3, 2, |i, j| (i + 2 * j) as f64 - 1.0);
        let a = t.to_dense();
        let b = &a * &x;
        // contiguous columns
        let mut c = b.clone();
        f.solve_mat_in_place(c.as_mut()).unwrap();
        assert!((&c - &x).norm_max() < 1e-14);
        // transposed storage: non-unit row stride goes through the temporary
        let mut bt = b.transpose().to_owned();
        let boxed: Box<dyn BlockSolver> = Box::new(f.clone());
        boxed
            .solve_mat_in_place(bt.as_mut().transpose_mut())
            .unwrap();
        assert!((bt.transpose() - &x).norm_max() < 1e-14);
        // the blanket impl for references
        fn via<B: BlockSolver>(b: B) -> (usize, Result<LogDet>, bool) {
            let bad = b.solve_mat_in_place(Mat::zeros(2, 1).as_mut()).is_err();
            (b.dim(), b.log_det(), bad)
        }
        // interleaved columns: the bits of one solve per column, swept and by default
        let cols: Vec<Vec<f64>> = (0..2).map(|j| b.col(j).iter().copied().collect()).collect();
        let mut one_by_one = cols.clone();
        for c in &mut one_by_one {
            f.solve_in_place(c).unwrap();
        }
        let interleave = |cols: &[Vec<f64>]| -> Vec<f64> {
            (0..3)
                .flat_map(|k| cols.iter().map(move |c| c[k]))
                .collect()
        };
        let mut swept = interleave(&cols);
        f.solve_interleaved_in_place(&mut swept, 2).unwrap();
        assert_eq!(swept, interleave(&one_by_one));
        let mut by_default = interleave(&cols);
        let generic = TridiagonalLu::new(&Tridiagonal::from(&t)).unwrap();
        generic
            .solve_interleaved_in_place(&mut by_default, 2)
            .unwrap();
        let mut want = cols.clone();
        for c in &mut want {
            generic.solve_in_place(c).unwrap();
        }
        assert_eq!(by_default, interleave(&want));
        // a faer right-hand side of 3 columns (a pair and a single column in the sweep):
        // each column gets the bits of its own solve
        let x3 = Mat::from_fn(3, 3, |i, j| ((i * 3 + j) as f64 * 1.37).cos());
        let mut swept3 = x3.clone();
        f.solve_mat_in_place(swept3.as_mut()).unwrap();
        for j in 0..3 {
            let mut col: Vec<f64> = x3.col(j).iter().copied().collect();
            f.solve_in_place(&mut col).unwrap();
            let got: Vec<f64> = swept3.col(j).iter().copied().collect();
            assert_eq!(got, col, "column {j}");
        }
        // the fixed row widths 8 and 16 and a general one (5), on a 7 × 7 block
        let t7 = SymTridiagonal::new(
            (0..7).map(|i| 3.0 + i as f64 * 0.25).collect(),
            (0..6).map(|i| 0.5 - i as f64 * 0.3).collect(),
        )
        .unwrap();
        let f7 = t7.ldl().unwrap();
        for c in [5, 8, 16] {
            let cols: Vec<Vec<f64>> = (0..c)
                .map(|j| (0..7).map(|k| ((j * 7 + k) as f64 * 0.731).sin()).collect())
                .collect();
            let mut want = cols.clone();
            for col in &mut want {
                f7.solve_in_place(col).unwrap();
            }
            let mut x: Vec<f64> = (0..7)
                .flat_map(|k| cols.iter().map(move |col| col[k]))
                .collect();
            f7.solve_interleaved_in_place(&mut x, c).unwrap();
            let want: Vec<f64> = (0..7)
                .flat_map(|k| want.iter().map(move |col| col[k]))
                .collect();
            assert_eq!(x, want, "c = {c}");
        }
        assert!(f.solve_interleaved_in_place(&mut [1.0; 5], 2).is_err());
        assert!(
            generic
                .solve_interleaved_in_place(&mut [1.0; 5], 2)
                .is_err()
        );
        assert!(f.solve_interleaved_in_place(&mut [f64::NAN; 6], 2).is_err());
        let (dim, ld, bad) = via(&f);
        assert_eq!((dim, bad), (3, true));
        assert_eq!(boxed.dim(), 3);
        assert_eq!(ld, boxed.log_det());
    }
}

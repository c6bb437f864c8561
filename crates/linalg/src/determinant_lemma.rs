//! Log-determinant of a block-diagonal-plus-low-rank matrix by the matrix
//! determinant lemma.
//!
//! For $D = \operatorname{diag}(B_1, \dots, B_N)$ with square blocks $B_i$ of sizes
//! $m_i$, $n = \sum_i m_i$, and $U, V \in \mathbb{R}^{n \times r}$,
//! $$ \det(D + U V^\top) = \det(D)\,\det(I_r + V^\top D^{-1} U), \qquad
//!    \log|\det D| = \sum_i \log|\det B_i|. $$
//! $W = D^{-1} U$ is computed block by block ($r$ solves per block), then the
//! $r \times r$ *capacitance* matrix $C = I_r + V^\top W$ is factored by dense LU.
//!
//! Cost: $O\big(\sum_i \mathrm{cost}(\text{solve with } B_i)\cdot r + n r^2 + r^3\big)$
//! (plus whatever it took to factor the blocks), versus $O(n^3)$ for a dense LU of
//! the assembled matrix ([`dense_reference`], for tests and small sizes only).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};

use crate::block_solver::BlockSolver;
use crate::dense::{
    DenseLuWorkspace, check_square_finite, dense_log_det, dense_log_det_in_place_named,
};
use crate::error::{LinalgError, Result, check_dim};
use crate::logdet::LogDet;

/// Caller-owned buffers for
/// [`log_det_block_diag_plus_low_rank_in_place`]: $W = D^{-1} U$ ($n \times r$),
/// the capacitance $C = I_r + V^\top W$ ($r \times r$) and the LU scratch for $C$.
///
/// Buffers are resized on demand and keep their capacity, so a time loop with
/// fixed $(n, r)$ performs no allocation after the first call.
#[derive(Clone, Debug)]
pub struct LowRankWorkspace {
    dinv_u: Mat<f64>,
    capacitance: Mat<f64>,
    lu: DenseLuWorkspace,
}

impl Default for LowRankWorkspace {
    fn default() -> Self {
        Self::new(0, 0)
    }
}

impl LowRankWorkspace {
    /// Workspace pre-sized for total dimension $n$ and rank $r$.
    pub fn new(n: usize, rank: usize) -> Self {
        Self {
            dinv_u: Mat::zeros(n, rank),
            capacitance: Mat::zeros(rank, rank),
            lu: DenseLuWorkspace::new(rank),
        }
    }

    fn resize(&mut self, n: usize, rank: usize) {
        self.dinv_u.resize_with(n, rank, |_, _| 0.0);
        self.capacitance.resize_with(rank, rank, |_, _| 0.0);
        self.lu.reserve(rank);
    }

    /// $W = D^{-1} U$ from the last successful call (e.g. to reuse in a Woodbury solve
    /// $(D + UV^\top)^{-1} b = D^{-1} b - W C^{-1} V^\top D^{-1} b$).
    pub fn dinv_u(&self) -> MatRef<'_, f64> {
        self.dinv_u.as_ref()
    }
}

/// Sum of block sizes $n = \sum_i m_i$.
fn total_dim<B: BlockSolver>(blocks: &[B]) -> usize {
    blocks.iter().map(BlockSolver::dim).sum()
}

/// Checks `U`, `V` are $n \times r$ with matching $r$ and finite entries.
fn check_low_rank(n: usize, u: MatRef<'_, f64>, v: MatRef<'_, f64>) -> Result<()> {
    check_dim("U rows (sum of block sizes)", n, u.nrows())?;
    check_dim("V rows (sum of block sizes)", n, v.nrows())?;
    check_dim("V columns (rank of U)", u.ncols(), v.ncols())?;
    if !u.is_all_finite() {
        return Err(LinalgError::NonFinite { what: "U" });
    }
    if !v.is_all_finite() {
        return Err(LinalgError::NonFinite { what: "V" });
    }
    Ok(())
}

/// $\log|\det(D + U V^\top)|$ with sign, $D = \operatorname{diag}(B_1,\dots,B_N)$,
/// by the matrix determinant lemma
/// $\det(D + UV^\top) = \prod_i \det B_i \cdot \det(I_r + V^\top D^{-1} U)$.
///
/// Allocating convenience wrapper of [`log_det_block_diag_plus_low_rank_in_place`].
/// For row-major `U`/`V` slices, build the views with [`row_major`](crate::row_major).
///
/// # Errors
/// As [`log_det_block_diag_plus_low_rank_in_place`].
pub fn log_det_block_diag_plus_low_rank<B: BlockSolver>(
    blocks: &[B],
    u: MatRef<'_, f64>,
    v: MatRef<'_, f64>,
) -> Result<LogDet> {
    let mut ws = LowRankWorkspace::new(u.nrows(), u.ncols());
    log_det_block_diag_plus_low_rank_in_place(blocks, u, v, &mut ws)
}

/// In-place variant of [`log_det_block_diag_plus_low_rank`] using caller buffers:
///
/// 1. $\log|\det D| = \sum_i \log|\det B_i|$;
/// 2. $W = D^{-1} U$, block rows $W_i = B_i^{-1} U_i$ ($r$ solves per block);
/// 3. $C = I_r + V^\top W$;
/// 4. $\log|\det C|$ by partial-pivoting LU; result $\det D \cdot \det C$.
///
/// Cost $O(\sum_i \mathrm{cost}(B_i^{-1})\, r + n r^2 + r^3)$; no allocation when
/// `ws` already has the right size. With $r = 0$ the result is $\det D$.
///
/// # Errors
/// - [`LinalgError::Empty`] if `blocks` is empty;
/// - [`LinalgError::DimensionMismatch`] if `U`/`V` do not have $n = \sum_i m_i$ rows
///   or have different column counts;
/// - [`LinalgError::NonFinite`] for NaN/infinite entries of `U`, `V`, the right-hand
///   sides produced, or the capacitance matrix;
/// - [`LinalgError::Singular`] if a block is singular, or if the capacitance matrix
///   is (`what = "capacitance matrix I + V^T D^-1 U"`), i.e. $D + UV^\top$ is singular.
pub fn log_det_block_diag_plus_low_rank_in_place<B: BlockSolver>(
    blocks: &[B],
    u: MatRef<'_, f64>,
    v: MatRef<'_, f64>,
    ws: &mut LowRankWorkspace,
) -> Result<LogDet> {
    if blocks.is_empty() {
        return Err(LinalgError::Empty { what: "blocks" });
    }
    let n = total_dim(blocks);
    check_low_rank(n, u, v)?;
    let r = u.ncols();

    // 1. log|det D| = Σ_i log|det B_i|.
    let mut ld = LogDet::ONE;
    for b in blocks {
        ld = ld.combine(b.log_det()?);
    }
    if r == 0 {
        return Ok(ld);
    }

    // 2. W = D^{-1} U, one block row at a time.
    ws.resize(n, r);
    ws.dinv_u.as_mut().copy_from(u);
    let mut offset = 0;
    for b in blocks {
        let m = b.dim();
        b.solve_mat_in_place(ws.dinv_u.as_mut().subrows_mut(offset, m))?;
        offset += m;
    }

    // 3. C = I_r + V^T W.
    capacitance_into(ws.capacitance.as_mut(), v, ws.dinv_u.as_ref());
    if !ws.capacitance.is_all_finite() {
        return Err(LinalgError::NonFinite {
            what: "capacitance matrix I + V^T D^-1 U",
        });
    }

    // 4. det(D + UV^T) = det D · det C.
    let lc = dense_log_det_in_place_named(
        ws.capacitance.as_mut(),
        &mut ws.lu,
        "capacitance matrix I + V^T D^-1 U",
    )?;
    Ok(ld.combine(lc))
}

/// $C = I_r + V^\top W$.
fn capacitance_into(mut c: MatMut<'_, f64>, v: MatRef<'_, f64>, w: MatRef<'_, f64>) {
    matmul(c.as_mut(), Accum::Replace, v.transpose(), w, 1.0, Par::Seq);
    for i in 0..c.nrows() {
        c[(i, i)] += 1.0;
    }
}

/// Assembles $M = \operatorname{diag}(B_1, \dots, B_N) + U V^\top$ explicitly as a dense
/// $n \times n$ matrix. **For tests only / small sizes** ($O(n^2)$ memory).
///
/// # Errors
/// [`LinalgError::Empty`] for no blocks, [`LinalgError::DimensionMismatch`] for a
/// non-square block or wrong `U`/`V` shapes, [`LinalgError::NonFinite`] for NaN/infinite entries.
pub fn assemble_block_diag_plus_low_rank(
    blocks: &[MatRef<'_, f64>],
    u: MatRef<'_, f64>,
    v: MatRef<'_, f64>,
) -> Result<Mat<f64>> {
    if blocks.is_empty() {
        return Err(LinalgError::Empty { what: "blocks" });
    }
    let mut n = 0;
    for b in blocks {
        n += check_square_finite(*b, "dense reference block")?;
    }
    check_low_rank(n, u, v)?;
    let mut m = u * v.transpose();
    let mut offset = 0;
    for b in blocks {
        let k = b.nrows();
        let mut sub = m.as_mut().submatrix_mut(offset, offset, k, k);
        for j in 0..k {
            for i in 0..k {
                sub[(i, j)] += b[(i, j)];
            }
        }
        offset += k;
    }
    Ok(m)
}

/// Reference $\log|\det(D + UV^\top)|$ by assembling the full matrix and taking its
/// dense LU ([`dense_log_det`]), $O(n^3)$. **For tests only / small sizes.**
///
/// # Errors
/// As [`assemble_block_diag_plus_low_rank`] and [`dense_log_det`].
pub fn dense_reference(
    blocks: &[MatRef<'_, f64>],
    u: MatRef<'_, f64>,
    v: MatRef<'_, f64>,
) -> Result<LogDet> {
    let m = assemble_block_diag_plus_low_rank(blocks, u, v)?;
    dense_log_det(m.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_solver::Diagonal;
    use crate::dense::{DenseLu, row_major};
    use crate::testutil::Rng;
    use crate::tridiagonal::SymTridiagonal;

    fn close(a: LogDet, b: LogDet) -> bool {
        (a.log_abs - b.log_abs).abs() <= 1e-10 * b.log_abs.abs().max(1.0) && a.sign == b.sign
    }

    #[test]
    fn identity_plus_rank_one() {
        // det(I + u v^T) = 1 + v^T u.
        let blocks = [Diagonal(vec![1.0; 3]), Diagonal(vec![1.0; 2])];
        let u = [1.0, 2.0, 3.0, 4.0, 5.0];
        let v = [0.1, -0.2, 0.3, 0.0, 0.5];
        let (um, vm) = (row_major(&u, 5, 1).unwrap(), row_major(&v, 5, 1).unwrap());
        let ld = log_det_block_diag_plus_low_rank(&blocks, um, vm).unwrap();
        let want: f64 = 1.0 + u.iter().zip(&v).map(|(a, b)| a * b).sum::<f64>();
        assert!((ld.value() - want).abs() < 1e-14);
    }

    #[test]
    fn negative_capacitance_sign() {
        // D = I_2, U = (-2, 0)^T, V = (1, 0)^T: det = 1 - 2 = -1.
        let blocks = [Diagonal(vec![1.0, 1.0])];
        let u = Mat::from_fn(2, 1, |i, _| if i == 0 { -2.0 } else { 0.0 });
        let v = Mat::from_fn(2, 1, |i, _| if i == 0 { 1.0 } else { 0.0 });
        let ld = log_det_block_diag_plus_low_rank(&blocks, u.as_ref(), v.as_ref()).unwrap();
        assert_eq!(ld.sign, -1.0);
        assert!(ld.log_abs.abs() < 1e-15);
    }

    #[test]
    fn mixed_blocks_match_dense_reference() {
        let mut rng = Rng::new(42);
        let dense_a = Mat::from_fn(3, 3, |i, j| {
            rng.uniform(-1.0, 1.0) + if i == j { -5.0 } else { 0.0 }
        });
        let tri = SymTridiagonal::new(vec![3.0, -3.0, 4.0, 3.5], vec![0.5, 1.0, -0.7]).unwrap();
        let diag = vec![2.0, -0.5];
        let blocks: Vec<Box<dyn BlockSolver>> = vec![
            Box::new(DenseLu::new(dense_a.as_ref()).unwrap()),
            Box::new(tri.ldl().unwrap()),
            Box::new(Diagonal(diag.clone())),
        ];
        let n = 9;
        let r = 3;
        let u = Mat::from_fn(n, r, |_, _| rng.uniform(-1.0, 1.0));
        let v = Mat::from_fn(n, r, |_, _| rng.uniform(-1.0, 1.0));
        let got = log_det_block_diag_plus_low_rank(&blocks, u.as_ref(), v.as_ref()).unwrap();
        let dmat = Mat::from_fn(2, 2, |i, j| if i == j { diag[i] } else { 0.0 });
        let tri_dense = tri.to_dense();
        let refs = [dense_a.as_ref(), tri_dense.as_ref(), dmat.as_ref()];
        let want = dense_reference(&refs, u.as_ref(), v.as_ref()).unwrap();
        assert!(close(got, want), "{got:?} vs {want:?}");

        // in-place variant with a reused (initially wrongly sized) workspace
        let mut ws = LowRankWorkspace::new(2, 7);
        for _ in 0..3 {
            let again =
                log_det_block_diag_plus_low_rank_in_place(&blocks, u.as_ref(), v.as_ref(), &mut ws)
                    .unwrap();
            assert_eq!(again, got);
        }
        // W = D^{-1} U: D W = U
        let w = ws.dinv_u();
        assert_eq!((w.nrows(), w.ncols()), (n, r));
        let dw = assemble_block_diag_plus_low_rank(
            &refs,
            Mat::zeros(n, 0).as_ref(),
            Mat::zeros(n, 0).as_ref(),
        )
        .unwrap()
            * w;
        assert!((dw - &u).norm_max() < 1e-12);
    }

    #[test]
    fn rank_zero_is_det_d() {
        let blocks = [Diagonal(vec![2.0, 3.0])];
        let z = Mat::<f64>::zeros(2, 0);
        let ld = log_det_block_diag_plus_low_rank(&blocks, z.as_ref(), z.as_ref()).unwrap();
        assert!((ld.value() - 6.0).abs() < 1e-14);
    }

    #[test]
    fn errors_not_panics() {
        let blocks = [Diagonal(vec![1.0, 1.0])];
        let u = Mat::<f64>::zeros(2, 1);
        let bad_rows = Mat::<f64>::zeros(3, 1);
        let bad_cols = Mat::<f64>::zeros(2, 2);
        let lr = |b: &[Diagonal], u: &Mat<f64>, v: &Mat<f64>| {
            log_det_block_diag_plus_low_rank(b, u.as_ref(), v.as_ref())
        };
        assert!(matches!(lr(&[], &u, &u), Err(LinalgError::Empty { .. })));
        assert!(matches!(
            lr(&blocks, &bad_rows, &u),
            Err(LinalgError::DimensionMismatch {
                expected: 2,
                got: 3,
                ..
            })
        ));
        assert!(matches!(
            lr(&blocks, &u, &bad_rows),
            Err(LinalgError::DimensionMismatch { .. })
        ));
        assert!(matches!(
            lr(&blocks, &u, &bad_cols),
            Err(LinalgError::DimensionMismatch { .. })
        ));
        let mut nan = u.clone();
        nan[(1, 0)] = f64::NAN;
        assert!(matches!(
            lr(&blocks, &nan, &u),
            Err(LinalgError::NonFinite { what: "U" })
        ));
        assert!(matches!(
            lr(&blocks, &u, &nan),
            Err(LinalgError::NonFinite { what: "V" })
        ));
        // singular block
        assert!(matches!(
            lr(&[Diagonal(vec![1.0, 0.0])], &u, &u),
            Err(LinalgError::Singular {
                what: "diagonal block",
                index: 1
            })
        ));
        // singular capacitance: I + u v^T with v^T u = -1
        let e = Mat::from_fn(2, 1, |i, _| if i == 0 { 1.0 } else { 0.0 });
        let me = Mat::from_fn(2, 1, |i, _| if i == 0 { -1.0 } else { 0.0 });
        assert!(matches!(
            lr(&blocks, &e, &me),
            Err(LinalgError::Singular {
                what: "capacitance matrix I + V^T D^-1 U",
                ..
            })
        ));
        // overflow in the capacitance
        let big = Mat::from_fn(2, 1, |_, _| 1e300);
        assert!(matches!(
            lr(&blocks, &big, &big),
            Err(LinalgError::NonFinite { .. })
        ));
        // dense reference validation
        let nonsq = Mat::<f64>::zeros(2, 3);
        assert!(dense_reference(&[nonsq.as_ref()], u.as_ref(), u.as_ref()).is_err());
        assert!(dense_reference(&[], u.as_ref(), u.as_ref()).is_err());
    }
}

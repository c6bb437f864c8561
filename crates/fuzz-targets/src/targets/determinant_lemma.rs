//! The matrix determinant lemma against the assembled dense matrix.
//!
//! Blocks D = diag(B_1, …, B_m) of mixed kinds (diagonal, symmetric tridiagonal LDLᵀ,
//! tridiagonal LU, symmetric banded LU, dense LU; m ≤ 4, each ≤ 5 × 5) and a rank-r
//! update U Vᵀ (r ≤ 3). Arbitrary entries never panic (`Ok` or a typed `LinalgError`;
//! `Ok` ⇒ log|det| not NaN, sign ±1); U, V of the wrong shape are
//! `DimensionMismatch`. With dominant tame blocks and |U|, |V| ≤ 0.3/√(n r),
//! `log_det_block_diag_plus_low_rank` (and its in-place form with a reused workspace)
//! equals `dense_reference` (faer LU of D + UVᵀ) to 1e-9·max(1, |ℓ|) with the same sign.
//!
//! Layout: byte 0 = number of blocks − 1, byte 1 = r, byte 2 bit 0 = tame, bit 1 =
//! wrong U shape; per block a kind byte and a size byte, then its entries; then U, V.

use crate::Input;
use faer::Mat;
use meanfield::linalg::{
    BlockSolver, DenseLu, Diagonal, LinalgError, LowRankWorkspace, SymBanded, SymTridiagonal,
    Tridiagonal, dense_reference, log_det_block_diag_plus_low_rank,
    log_det_block_diag_plus_low_rank_in_place,
};

/// The `determinant_lemma` fuzz target: panics exactly when an invariant of the module
/// documentation fails for `data`.
pub fn determinant_lemma(data: &[u8]) {
    let mut input = Input::new(data);
    let m = input.below(4) + 1;
    let r = input.below(4);
    let flags = input.byte().unwrap_or(0);
    let tame = flags & 1 == 0;
    let mut solvers: Vec<Box<dyn BlockSolver>> = Vec::new();
    let mut denses: Vec<Mat<f64>> = Vec::new();
    for _ in 0..m {
        let kind = input.below(5);
        let k = input.below(5) + 1;
        let vals = |input: &mut Input<'_>, len: usize| -> Vec<f64> {
            if tame {
                input.tame_vec(len, 2.0)
            } else {
                input.f64_vec(len)
            }
        };
        // Dense form first; dominance added on the diagonal when tame.
        let mut a = match kind {
            0 => {
                let d = vals(&mut input, k);
                Mat::from_fn(k, k, |i, j| if i == j { d[i] } else { 0.0 })
            }
            1 | 3 => {
                let (d, o) = (vals(&mut input, k), vals(&mut input, k - 1));
                Mat::from_fn(k, k, |i, j| match i.abs_diff(j) {
                    0 => d[i],
                    1 => o[i.min(j)],
                    _ => 0.0,
                })
            }
            2 => {
                let (l, d, u) = (
                    vals(&mut input, k - 1),
                    vals(&mut input, k),
                    vals(&mut input, k - 1),
                );
                Mat::from_fn(k, k, |i, j| {
                    if i == j {
                        d[i]
                    } else if i == j + 1 {
                        l[j]
                    } else if j == i + 1 {
                        u[i]
                    } else {
                        0.0
                    }
                })
            }
            _ => {
                let v = vals(&mut input, k * k);
                Mat::from_fn(k, k, |i, j| v[i * k + j])
            }
        };
        if tame {
            for i in 0..k {
                let off: f64 = (0..k).filter(|&j| j != i).map(|j| a[(i, j)].abs()).sum();
                a[(i, i)] =
                    if a[(i, i)] < 0.0 { -1.0 } else { 1.0 } * (a[(i, i)].abs() + 1.0 + off);
            }
        }
        let solver: Result<Box<dyn BlockSolver>, LinalgError> = match kind {
            0 => Ok(Box::new(Diagonal((0..k).map(|i| a[(i, i)]).collect()))),
            1 => SymTridiagonal::new(
                (0..k).map(|i| a[(i, i)]).collect(),
                (1..k).map(|i| a[(i, i - 1)]).collect(),
            )
            .and_then(|t| t.ldl())
            .map(|f| Box::new(f) as Box<dyn BlockSolver>),
            2 => Tridiagonal::new(
                (1..k).map(|i| a[(i, i - 1)]).collect(),
                (0..k).map(|i| a[(i, i)]).collect(),
                (1..k).map(|i| a[(i - 1, i)]).collect(),
            )
            .and_then(|t| t.lu())
            .map(|f| Box::new(f) as Box<dyn BlockSolver>),
            3 => {
                let w = usize::from(k > 1);
                SymBanded::zeros(k, w).and_then(|mut b| {
                    b.band_mut(0)
                        .iter_mut()
                        .enumerate()
                        .for_each(|(i, v)| *v = a[(i, i)]);
                    if w == 1 {
                        b.band_mut(1)
                            .iter_mut()
                            .enumerate()
                            .for_each(|(i, v)| *v = a[(i + 1, i)]);
                    }
                    b.lu().map(|f| Box::new(f) as Box<dyn BlockSolver>)
                })
            }
            _ => DenseLu::new(a.as_ref()).map(|f| Box::new(f) as Box<dyn BlockSolver>),
        };
        match solver {
            Ok(s) => solvers.push(s),
            Err(_) if !tame => return,
            Err(e) => panic!("dominant block refused: {e}"),
        }
        denses.push(a);
    }
    let n: usize = denses.iter().map(|b| b.nrows()).sum();
    let bound = 0.3 / ((n * r.max(1)) as f64).sqrt();
    let rows_u = if flags & 2 != 0 { n + 1 } else { n };
    let mut uv = |rows: usize| -> Mat<f64> {
        let v: Vec<f64> = if tame {
            input.tame_vec(rows * r, bound)
        } else {
            input.f64_vec(rows * r)
        };
        Mat::from_fn(rows, r, |i, j| v[i * r + j])
    };
    let (u, v) = (uv(rows_u), uv(n));
    let got = log_det_block_diag_plus_low_rank(&solvers, u.as_ref(), v.as_ref());
    if rows_u != n {
        assert!(
            matches!(got, Err(LinalgError::DimensionMismatch { .. })),
            "{got:?}"
        );
        return;
    }
    if let Ok(ld) = &got {
        assert!(
            !ld.log_abs.is_nan() && (ld.sign == 1.0 || ld.sign == -1.0),
            "{ld:?}"
        );
    }
    let mut ws = LowRankWorkspace::new(1, 1);
    let again =
        log_det_block_diag_plus_low_rank_in_place(&solvers, u.as_ref(), v.as_ref(), &mut ws);
    assert_eq!(
        format!("{got:?}"),
        format!("{again:?}"),
        "in-place form differs"
    );
    if !tame {
        return;
    }
    let got = got.expect("dominant blocks with a small update");
    let refs: Vec<_> = denses.iter().map(|b| b.as_ref()).collect();
    let want = dense_reference(&refs, u.as_ref(), v.as_ref()).expect("dense reference");
    assert!(
        (got.log_abs - want.log_abs).abs() <= 1e-9 * want.log_abs.abs().max(1.0)
            && got.sign == want.sign,
        "lemma {got:?} vs dense {want:?}"
    );
}

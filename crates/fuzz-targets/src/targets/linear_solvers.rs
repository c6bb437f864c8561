//! The tridiagonal (symmetric LDLᵀ and pivoted LU), symmetric banded and dense LU
//! solvers against the dense reference.
//!
//! Arbitrary f64 entries (NaN, ±∞, huge, zero pivots) never panic: constructors,
//! factorisations, `log_det` and solves return `Ok` or a typed `LinalgError`, and `Ok`
//! ⇒ log|det| not NaN, sign ±1, solutions finite. On strictly diagonally dominant tame
//! matrices (n ≤ 10) every solver agrees with faer's dense LU: log|det| to 1e-9, the same
//! sign, and solves with residual ‖Ax − b‖∞ ≤ 1e-10·(1 + ‖x‖∞).
//!
//! Layout: byte 0 = solver, byte 1 = n − 1, byte 2 = half-bandwidth (banded), byte 3 bit
//! 0 = dominant (tame) or wild entries, then the entries and the right-hand side.

use crate::Input;
use faer::Mat;
use meanfield::linalg::{
    BlockSolver, DenseLu, LogDet, SymBanded, SymTridiagonal, Tridiagonal, dense_log_det,
};

/// The `linear_solvers` fuzz target: panics exactly when an invariant of the module
/// documentation fails for `data`.
pub fn linear_solvers(data: &[u8]) {
    let mut input = Input::new(data);
    let solver = input.below(4);
    let n = input.below(10) + 1;
    let w = input.below(n);
    let tame = input.below(2) == 0;
    let entry = |input: &mut Input<'_>| {
        if tame {
            input.tame(4.0)
        } else {
            input.f64().unwrap_or(0.0)
        }
    };
    // A is built (i, j) ↦ value; the dominant form adds 1 + Σ|off-diagonal| to the diagonal.
    let (a, result): (Mat<f64>, Outcome) = match solver {
        0 => {
            let mut off: Vec<f64> = (0..n - 1).map(|_| entry(&mut input)).collect();
            let mut diag: Vec<f64> = (0..n).map(|_| entry(&mut input)).collect();
            if tame {
                dominate(&mut diag, |i| {
                    let l = if i > 0 { off[i - 1].abs() } else { 0.0 };
                    l + off.get(i).map_or(0.0, |v| v.abs())
                });
            }
            let rhs = rhs(&mut input, n, tame);
            let Ok(m) = SymTridiagonal::new(diag, std::mem::take(&mut off)) else {
                return;
            };
            let ld = m.log_det();
            let ldl = m.ldl().and_then(|f| {
                let mut x = rhs.clone();
                f.solve_in_place(&mut x).map(|()| (f.log_det(), x))
            });
            let x = m.solve(&rhs);
            if let (Ok(ld), Ok((ld2, _))) = (&ld, &ldl)
                && let Ok(ld2) = ld2
            {
                assert_eq!(ld.sign, ld2.sign, "log_det vs ldl sign");
            }
            (m.to_dense(), Outcome { ld, x, rhs })
        }
        1 => {
            let lower: Vec<f64> = (0..n - 1).map(|_| entry(&mut input)).collect();
            let mut diag: Vec<f64> = (0..n).map(|_| entry(&mut input)).collect();
            let upper: Vec<f64> = (0..n - 1).map(|_| entry(&mut input)).collect();
            if tame {
                dominate(&mut diag, |i| {
                    (if i > 0 { lower[i - 1].abs() } else { 0.0 })
                        + upper.get(i).map_or(0.0, |v| v.abs())
                });
            }
            let rhs = rhs(&mut input, n, tame);
            let Ok(m) = Tridiagonal::new(lower, diag, upper) else {
                return;
            };
            let ld = m.log_det();
            let x = m.solve(&rhs);
            if let Ok(lu) = m.lu() {
                let mut y = rhs.clone();
                if lu.solve_in_place(&mut y).is_ok()
                    && let Ok(x) = &x
                {
                    assert_eq!(&y, x, "TridiagonalLu solve vs Tridiagonal::solve");
                }
            }
            (m.to_dense(), Outcome { ld, x, rhs })
        }
        2 => {
            let Ok(mut m) = SymBanded::zeros(n, w) else {
                panic!("valid banded shape refused: n = {n}, w = {w}");
            };
            for j in 0..=w {
                for v in m.band_mut(j) {
                    *v = entry(&mut input);
                }
            }
            if tame {
                let dense = m.to_dense();
                let mut diag: Vec<f64> = m.band(0).to_vec();
                dominate(&mut diag, |i| {
                    (0..n)
                        .filter(|&j| j != i)
                        .map(|j| dense[(i, j)].abs())
                        .sum()
                });
                m.band_mut(0).copy_from_slice(&diag);
            }
            let rhs = rhs(&mut input, n, tame);
            let (ld, x) = match m.lu() {
                Ok(f) => {
                    let mut x = rhs.clone();
                    (f.log_det(), f.solve_in_place(&mut x).map(|()| x))
                }
                Err(e) => (Err(e.clone()), Err(e)),
            };
            (m.to_dense(), Outcome { ld, x, rhs })
        }
        _ => {
            let mut data: Vec<f64> = (0..n * n).map(|_| entry(&mut input)).collect();
            if tame {
                let mut diag: Vec<f64> = (0..n).map(|i| data[i * n + i]).collect();
                let snapshot = data.clone();
                dominate(&mut diag, |i| {
                    (0..n)
                        .filter(|&j| j != i)
                        .map(|j| snapshot[i * n + j].abs())
                        .sum()
                });
                for i in 0..n {
                    data[i * n + i] = diag[i];
                }
            }
            let rhs = rhs(&mut input, n, tame);
            let a = Mat::from_fn(n, n, |i, j| data[i * n + j]);
            let (ld, x) = match DenseLu::from_row_major(n, &data) {
                Ok(f) => {
                    let mut x = rhs.clone();
                    (f.log_det(), f.solve_in_place(&mut x).map(|()| x))
                }
                Err(e) => (Err(e.clone()), Err(e)),
            };
            (a, Outcome { ld, x, rhs })
        }
    };
    if let Ok(ld) = &result.ld {
        assert!(
            !ld.log_abs.is_nan() && (ld.sign == 1.0 || ld.sign == -1.0),
            "{ld:?}"
        );
    }
    if let Ok(x) = &result.x {
        assert!(x.iter().all(|v| v.is_finite()), "non-finite solution {x:?}");
    }
    if !tame {
        return;
    }
    let want = dense_log_det(a.as_ref()).expect("dominant matrices are regular");
    let got: LogDet = result.ld.expect("dominant matrix: log det");
    assert!(
        (got.log_abs - want.log_abs).abs() <= 1e-9 && got.sign == want.sign,
        "log det {got:?} vs dense {want:?}"
    );
    let x = result.x.expect("dominant matrix: solve");
    let xmax = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for i in 0..n {
        let r: f64 = (0..n).map(|j| a[(i, j)] * x[j]).sum::<f64>() - result.rhs[i];
        assert!(r.abs() <= 1e-10 * (1.0 + xmax), "residual {r} in row {i}");
    }
}

/// What a solver returned.
struct Outcome {
    ld: meanfield::linalg::Result<LogDet>,
    x: meanfield::linalg::Result<Vec<f64>>,
    rhs: Vec<f64>,
}

/// Makes row i strictly dominant: a_ii ← sign(a_ii)·(|a_ii| + 1 + off(i)).
fn dominate(diag: &mut [f64], off: impl Fn(usize) -> f64) {
    for (i, v) in diag.iter_mut().enumerate() {
        let s = if *v < 0.0 { -1.0 } else { 1.0 };
        *v = s * (v.abs() + 1.0 + off(i));
    }
}

/// A right-hand side: tame in [−4, 4] or arbitrary f64s.
fn rhs(input: &mut Input<'_>, n: usize, tame: bool) -> Vec<f64> {
    if tame {
        input.tame_vec(n, 4.0)
    } else {
        input.f64_vec(n)
    }
}

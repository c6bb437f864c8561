//! Property test: the banded LU's log-determinant and solves agree with dense faer on
//! random symmetric banded matrices (definite and indefinite).

use faer::Mat;
use faer::linalg::solvers::DenseSolveCore;
use meanfield_linalg::{BlockSolver, SymBanded, dense_log_det};
use proptest::prelude::*;

fn banded() -> impl Strategy<Value = SymBanded> {
    (1usize..12, 0usize..4).prop_flat_map(|(n, w)| {
        let w = w.min(n.saturating_sub(1));
        (
            prop::collection::vec(-1.0f64..1.0, n * (w + 1)),
            prop::collection::vec(any::<bool>(), n),
            0.0f64..3.0,
        )
            .prop_map(move |(vals, signs, shift)| {
                let mut a = SymBanded::zeros(n, w).expect("valid shape");
                for j in 0..=w {
                    for (t, v) in a.band_mut(j).iter_mut().enumerate() {
                        *v = vals[j * n + t];
                    }
                }
                // random-signed diagonal shift: anything from near-singular to dominant
                for (t, v) in a.band_mut(0).iter_mut().enumerate() {
                    *v += if signs[t] { shift } else { -shift };
                }
                a
            })
    })
}

proptest! {
    #[test]
    fn banded_lu_matches_dense(a in banded(), b in prop::collection::vec(-1.0f64..1.0, 12)) {
        let dense = a.to_dense();
        let Ok(want) = dense_log_det(dense.as_ref()) else { return Ok(()); };
        // skip numerically singular draws (condition beyond 1e8)
        let cond_ok = {
            let inv = dense.as_ref().full_piv_lu().inverse();
            inv.norm_max() * dense.norm_max() * (a.dim() as f64) < 1e8
        };
        prop_assume!(cond_ok);
        let f = a.lu().expect("non-singular");
        let got = f.log_det().expect("non-singular");
        prop_assert!((got.log_abs - want.log_abs).abs() <= 1e-9 * want.log_abs.abs().max(1.0),
            "{got:?} vs {want:?}");
        prop_assert_eq!(got.sign, want.sign);
        let n = a.dim();
        let rhs: Vec<f64> = b[..n].to_vec();
        let mut x = rhs.clone();
        f.solve_in_place(&mut x).expect("solve");
        let xm = Mat::from_fn(n, 1, |i, _| x[i]);
        let r = &dense * &xm;
        for i in 0..n {
            prop_assert!((r[(i, 0)] - rhs[i]).abs() <= 1e-8 * (1.0 + x.iter().map(|v| v.abs()).fold(0.0, f64::max)));
        }
        // matvec agrees with the dense product
        let mut y = vec![0.0; n];
        a.matvec_into(&x, &mut y).expect("shape");
        for i in 0..n {
            prop_assert!((y[i] - r[(i, 0)]).abs() <= 1e-12 * (1.0 + r[(i, 0)].abs()));
        }
    }
}

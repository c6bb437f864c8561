//! Deterministic replays of the inputs the cargo-fuzz targets (`fuzz/`) found, each a
//! silent ±∞/NaN solution before its fix.

use meanfield_linalg::{BlockSolver, LinalgError, SymTridiagonal};

/// `linear_solvers`: A = [[ε, 1], [1, 0]] with ε = 3.6e-304 is perfectly conditioned
/// (A⁻¹ = [[0, 1], [1, −ε]]), but the unpivoted LDLᵀ pivot ε made the substitution
/// overflow, and `SymTridiagonal::solve` returned Ok([NaN, −∞]). Now the unpivoted
/// solves report `NonFinite` and `solve` falls back to the pivoted LU.
#[test]
fn tiny_ldl_pivot_falls_back_to_the_pivoted_lu() {
    let eps = 3.645560975826266e-304;
    let (b0, b1) = (-6.518515124270356e91, 1.9811e-319);
    let a = SymTridiagonal::new(vec![eps, 0.0], vec![1.0]).unwrap();
    let x = a.solve(&[b0, b1]).unwrap();
    assert_eq!(x, [b1, b0 - eps * b1]);

    let mut rhs = [b0, b1];
    let mut work = [0.0; 2];
    assert!(matches!(
        a.solve_in_place(&mut rhs, &mut work),
        Err(LinalgError::NonFinite { .. })
    ));
    let ldl = a.ldl().unwrap();
    let mut rhs = [b0, b1];
    assert!(matches!(
        ldl.solve_in_place(&mut rhs),
        Err(LinalgError::NonFinite { .. })
    ));
}

/// A solution that truly overflows is `NonFinite` from the pivoted solvers too.
#[test]
fn overflowing_solutions_are_errors() {
    let a = SymTridiagonal::new(vec![1e-300, 1.0], vec![0.0]).unwrap();
    assert!(matches!(
        a.solve(&[1e300, 1.0]),
        Err(LinalgError::NonFinite { .. })
    ));
    let dense = meanfield_linalg::DenseLu::from_row_major(1, &[1e-300]).unwrap();
    let mut rhs = [1e300];
    assert!(matches!(
        dense.solve_in_place(&mut rhs),
        Err(LinalgError::NonFinite { .. })
    ));
    let t = meanfield_linalg::Tridiagonal::new(vec![], vec![1e-300], vec![])
        .unwrap()
        .lu()
        .unwrap();
    let mut rhs = [1e300];
    assert!(matches!(
        t.solve_in_place(&mut rhs),
        Err(LinalgError::NonFinite { .. })
    ));
    let mut banded = meanfield_linalg::SymBanded::zeros(1, 0).unwrap();
    banded.band_mut(0)[0] = 1e-300;
    let mut rhs = [1e300];
    assert!(matches!(
        banded.lu().unwrap().solve_in_place(&mut rhs),
        Err(LinalgError::NonFinite { .. })
    ));
}

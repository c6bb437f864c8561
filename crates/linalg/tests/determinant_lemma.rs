//! Property tests: the determinant-lemma log-determinant of a block-diagonal-plus-
//! low-rank matrix agrees with a dense faer LU of the assembled matrix, and the
//! tridiagonal kernels agree with dense faer.

use faer::{Mat, MatRef};
use meanfield_linalg::{
    BlockSolver, DenseLu, Diagonal, LinalgError, LogDet, LowRankWorkspace, SymTridiagonal,
    Tridiagonal, dense_log_det, dense_reference, dense_solve, log_det_block_diag_plus_low_rank,
    log_det_block_diag_plus_low_rank_in_place, row_major,
};
use proptest::prelude::*;

/// $|a - b| \le 10^{-9} \max(1, |b|)$ on $\log|\det|$, and equal signs.
fn assert_close(got: LogDet, want: LogDet) -> Result<(), TestCaseError> {
    prop_assert!(
        (got.log_abs - want.log_abs).abs() <= 1e-9 * want.log_abs.abs().max(1.0),
        "log_abs {} vs {}",
        got.log_abs,
        want.log_abs
    );
    prop_assert_eq!(got.sign, want.sign);
    Ok(())
}

/// Kind of a random, well-conditioned block.
#[derive(Clone, Debug)]
enum BlockSpec {
    /// Dense $R + \operatorname{diag}(s_i (m + 1 + |t_i|))$, $R_{ij} \in [-1, 1]$, $s_i = \pm 1$:
    /// strictly row- and column-diagonally dominant (margin $\ge 2$), possibly indefinite.
    Dense {
        m: usize,
        r: Vec<f64>,
        diag: Vec<f64>,
    },
    /// Symmetric tridiagonal with $|a_k| \ge 2.5 > |b_{k-1}| + |b_k|$, random signs.
    SymTri { diag: Vec<f64>, off: Vec<f64> },
    /// General tridiagonal, diagonally dominant, random signs.
    Tri {
        lower: Vec<f64>,
        diag: Vec<f64>,
        upper: Vec<f64>,
    },
    /// Diagonal with $|\delta_k| \in [0.5, 3]$, random signs.
    Diag(Vec<f64>),
}

fn signed(mag: f64, neg: bool) -> f64 {
    if neg { -mag } else { mag }
}

fn block_spec() -> impl Strategy<Value = BlockSpec> {
    (1usize..6).prop_flat_map(|m| {
        let unit = -1.0f64..1.0;
        let sdiag = prop::collection::vec((0.0f64..1.0, any::<bool>()), m);
        prop_oneof![
            (prop::collection::vec(unit.clone(), m * m), sdiag.clone()).prop_map(move |(r, d)| {
                let diag = d
                    .into_iter()
                    .map(|(t, neg)| signed(m as f64 + 1.0 + t, neg))
                    .collect();
                BlockSpec::Dense { m, r, diag }
            }),
            (sdiag.clone(), prop::collection::vec(unit.clone(), m - 1)).prop_map(|(d, off)| {
                let diag = d.into_iter().map(|(t, neg)| signed(2.5 + t, neg)).collect();
                BlockSpec::SymTri { diag, off }
            }),
            (
                prop::collection::vec(unit.clone(), m - 1),
                sdiag.clone(),
                prop::collection::vec(unit.clone(), m - 1)
            )
                .prop_map(|(lower, d, upper)| {
                    let diag = d.into_iter().map(|(t, neg)| signed(2.5 + t, neg)).collect();
                    BlockSpec::Tri { lower, diag, upper }
                }),
            prop::collection::vec((0.5f64..3.0, any::<bool>()), m).prop_map(|d| BlockSpec::Diag(
                d.into_iter().map(|(t, neg)| signed(t, neg)).collect()
            )),
        ]
    })
}

impl BlockSpec {
    fn dense(&self) -> Mat<f64> {
        match self {
            BlockSpec::Dense { m, r, diag } => Mat::from_fn(*m, *m, |i, j| {
                r[i * m + j] + if i == j { diag[i] } else { 0.0 }
            }),
            BlockSpec::SymTri { diag, off } => SymTridiagonal::new(diag.clone(), off.clone())
                .unwrap()
                .to_dense(),
            BlockSpec::Tri { lower, diag, upper } => {
                Tridiagonal::new(lower.clone(), diag.clone(), upper.clone())
                    .unwrap()
                    .to_dense()
            }
            BlockSpec::Diag(d) => {
                Mat::from_fn(d.len(), d.len(), |i, j| if i == j { d[i] } else { 0.0 })
            }
        }
    }

    fn solver(&self) -> Box<dyn BlockSolver> {
        match self {
            BlockSpec::Dense { .. } => Box::new(DenseLu::new(self.dense().as_ref()).unwrap()),
            BlockSpec::SymTri { diag, off } => Box::new(
                SymTridiagonal::new(diag.clone(), off.clone())
                    .unwrap()
                    .ldl()
                    .unwrap(),
            ),
            BlockSpec::Tri { lower, diag, upper } => Box::new(
                Tridiagonal::new(lower.clone(), diag.clone(), upper.clone())
                    .unwrap()
                    .lu()
                    .unwrap(),
            ),
            BlockSpec::Diag(d) => Box::new(Diagonal(d.clone())),
        }
    }
}

/// Blocks, rank $r$ and row-major $U$, $V$ with entries in $[-1,1] \cdot 0.5/\sqrt{n}$,
/// so $\|V^\top D^{-1} U\|_2 < 1/2$ and the capacitance is well-conditioned.
fn problem() -> impl Strategy<Value = (Vec<BlockSpec>, usize, Vec<f64>, Vec<f64>)> {
    (prop::collection::vec(block_spec(), 1..6), 1usize..4).prop_flat_map(|(blocks, r)| {
        let n: usize = blocks.iter().map(|b| b.dense().nrows()).sum();
        let s = 0.5 / (n as f64).sqrt();
        let entries = prop::collection::vec(-s..s, n * r);
        (Just(blocks), Just(r), entries.clone(), entries)
    })
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn lemma_matches_dense_lu((specs, r, u, v) in problem()) {
        let n: usize = specs.iter().map(|b| b.dense().nrows()).sum();
        let (um, vm) = (row_major(&u, n, r).unwrap(), row_major(&v, n, r).unwrap());
        let solvers: Vec<Box<dyn BlockSolver>> = specs.iter().map(BlockSpec::solver).collect();
        let dense: Vec<Mat<f64>> = specs.iter().map(BlockSpec::dense).collect();
        let refs: Vec<MatRef<'_, f64>> = dense.iter().map(Mat::as_ref).collect();

        let want = dense_reference(&refs, um, vm).unwrap();
        let got = log_det_block_diag_plus_low_rank(&solvers, um, vm).unwrap();
        assert_close(got, want)?;

        // In-place variant with a reused workspace, and V = U (symmetric update).
        let mut ws = LowRankWorkspace::default();
        let got2 = log_det_block_diag_plus_low_rank_in_place(&solvers, um, vm, &mut ws).unwrap();
        prop_assert_eq!(got2, got);
        let want_sym = dense_reference(&refs, um, um).unwrap();
        let got_sym = log_det_block_diag_plus_low_rank_in_place(&solvers, um, um, &mut ws).unwrap();
        assert_close(got_sym, want_sym)?;

        // Homogeneous block lists (generic, no trait objects) work as well.
        let diag_blocks: Vec<Diagonal> = dense
            .iter()
            .flat_map(|d| (0..d.nrows()).map(move |i| Diagonal(vec![d[(i, i)] + 10.0])))
            .collect();
        let diag_refs: Vec<Mat<f64>> = diag_blocks.iter().map(|d| Mat::from_fn(1, 1, |_, _| d.0[0])).collect();
        let diag_refs: Vec<MatRef<'_, f64>> = diag_refs.iter().map(Mat::as_ref).collect();
        let got_d = log_det_block_diag_plus_low_rank(&diag_blocks, um, vm).unwrap();
        assert_close(got_d, dense_reference(&diag_refs, um, vm).unwrap())?;
    }

    #[test]
    fn block_log_det_and_solve_match_dense(spec in block_spec(), seed in 0u64..1000) {
        let a = spec.dense();
        let m = a.nrows();
        let s = spec.solver();
        prop_assert_eq!(s.dim(), m);
        assert_close(s.log_det().unwrap(), dense_log_det(a.as_ref()).unwrap())?;
        let b = Mat::from_fn(m, 2, |i, j| ((i * 7 + j * 3) as f64 + seed as f64).sin());
        let want = dense_solve(a.as_ref(), b.as_ref()).unwrap();
        let mut got = b.clone();
        s.solve_mat_in_place(got.as_mut()).unwrap();
        prop_assert!((&got - &want).norm_max() <= 1e-12);
    }

    #[test]
    fn sym_tridiagonal_matches_dense(
        m in 1usize..40,
        seed in prop::collection::vec((-1.0f64..1.0, -1.0f64..1.0, -1.0f64..1.0), 40),
    ) {
        // Diagonally dominant (possibly indefinite) symmetric tridiagonal.
        let diag: Vec<f64> = seed[..m].iter().map(|&(a, _, _)| signed(2.5 + a.abs(), a < 0.0)).collect();
        let off: Vec<f64> = seed[..m - 1].iter().map(|&(_, b, _)| b).collect();
        let rhs: Vec<f64> = seed[..m].iter().map(|&(_, _, c)| c).collect();
        let t = SymTridiagonal::new(diag, off).unwrap();
        let dense = t.to_dense();
        assert_close(t.log_det().unwrap(), dense_log_det(dense.as_ref()).unwrap())?;
        let x = t.solve(&rhs).unwrap();
        let want = dense_solve(dense.as_ref(), row_major(&rhs, m, 1).unwrap()).unwrap();
        let mut work = vec![0.0; m];
        let mut x2 = rhs.clone();
        t.solve_in_place(&mut x2, &mut work).unwrap();
        for i in 0..m {
            prop_assert!((x[i] - want[(i, 0)]).abs() <= 1e-12);
            prop_assert!((x2[i] - want[(i, 0)]).abs() <= 1e-12);
        }
        let y = t.matvec(&x).unwrap();
        for i in 0..m {
            prop_assert!((y[i] - rhs[i]).abs() <= 1e-12);
        }
    }
}

#[test]
fn errors_are_reported_not_panics() {
    let blocks: Vec<Box<dyn BlockSolver>> = vec![
        Box::new(Diagonal(vec![1.0, 2.0])),
        Box::new(
            SymTridiagonal::new(vec![2.0, 2.0], vec![1.0])
                .unwrap()
                .ldl()
                .unwrap(),
        ),
    ];
    let u = Mat::<f64>::zeros(4, 2);
    let short = Mat::<f64>::zeros(3, 2);
    let narrow = Mat::<f64>::zeros(4, 1);
    assert!(matches!(
        log_det_block_diag_plus_low_rank(&blocks, short.as_ref(), u.as_ref()),
        Err(LinalgError::DimensionMismatch {
            expected: 4,
            got: 3,
            ..
        })
    ));
    assert!(matches!(
        log_det_block_diag_plus_low_rank(&blocks, u.as_ref(), narrow.as_ref()),
        Err(LinalgError::DimensionMismatch { .. })
    ));
    let mut nan = u.clone();
    nan[(2, 1)] = f64::NAN;
    assert!(matches!(
        log_det_block_diag_plus_low_rank(&blocks, nan.as_ref(), u.as_ref()),
        Err(LinalgError::NonFinite { .. })
    ));
    assert!(matches!(
        DenseLu::from_row_major(2, &[1.0, f64::NAN, 0.0, 1.0]),
        Err(LinalgError::NonFinite { .. })
    ));
    assert!(matches!(
        DenseLu::from_row_major(2, &[1.0, 2.0, 2.0, 4.0]),
        Err(LinalgError::Singular { .. })
    ));
    assert!(matches!(
        SymTridiagonal::new(vec![1.0, 1.0], vec![1.0])
            .unwrap()
            .ldl(),
        Err(LinalgError::Singular { .. })
    ));
    let singular: Vec<Box<dyn BlockSolver>> = vec![Box::new(Diagonal(vec![1.0, 0.0]))];
    assert!(matches!(
        log_det_block_diag_plus_low_rank(
            &singular,
            Mat::<f64>::zeros(2, 1).as_ref(),
            Mat::<f64>::zeros(2, 1).as_ref()
        ),
        Err(LinalgError::Singular { .. })
    ));
    assert!(row_major(&[0.0; 3], 2, 2).is_err());
}

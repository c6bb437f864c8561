//! Feature maps (ACF(1), multi-lag ACF with and without moments, scaled) against finite
//! differences and the dense reference.
//!
//! Constructors on arbitrary T, L, scales never panic (`Err` ⇒ typed). Calls with wrong
//! lengths are `Err`. On tame paths (|x| ≤ 2, T ≤ 12): the Jacobian equals the central
//! difference of Φ (h = 1e-4) to 1e-6·(1 + |Φ|∞-scale), the weighted Hessian
//! H = Σ c_k ∇²Φ_k equals the central difference of Σ c_k ∇Φ_k to the same tolerance, is
//! symmetric, and its `matvec_into` equals the dense product to 1e-12. `factor_step(s,
//! mask)` with |s|·‖H‖ ≤ ½ gives the log|det| and sign of the dense
//! P(I − sH)P + (I − P) to 1e-9, and solves it to a residual of 1e-10. On arbitrary
//! finite paths every call returns without panicking.
//!
//! Layout: byte 0 = map kind, byte 1 = T − 2, byte 2 = L, byte 3 = wrong-length flags,
//! byte 4 = mask bits source, then raw scales, tame scales e^[−3,3], the tame path and weights, then wild f64s.

use crate::{Input, finite};
use faer::Mat;
use meanfield::energy::{Acf1, FeatureMap, MultiLagAcf, ScaledFeatures, StructuredHessian};
use meanfield::linalg::{BlockSolver, dense_log_det};

/// The `feature_map` fuzz target: panics exactly when an invariant of the module
/// documentation fails for `data`.
pub fn feature_map(data: &[u8]) {
    let mut input = Input::new(data);
    let kind = input.below(4);
    let t = input.below(11) + 2;
    let lag = input.below(t + 1); // may equal T: refused
    let flags = input.byte().unwrap_or(0);
    let mask_bits =
        input.byte().unwrap_or(0xff) as u32 | (input.byte().unwrap_or(0xff) as u32) << 8;
    match kind {
        0 => {
            if let Ok(m) = Acf1::new(t) {
                check(&m, &mut input, flags, mask_bits)
            }
        }
        1 | 2 => match MultiLagAcf::new(t, lag, kind == 2) {
            Ok(m) => check(&m, &mut input, flags, mask_bits),
            Err(_) => assert!(lag >= t),
        },
        _ => {
            let Ok(inner) = MultiLagAcf::new(t, lag.min(t - 1), true) else {
                panic!("valid multi-lag refused");
            };
            let raw = input.f64_vec(inner.n_features());
            if ScaledFeatures::new(inner, raw.clone()).is_err() {
                assert!(raw.iter().any(|s| !(s.is_finite() && *s > 0.0)));
            }
            let tame: Vec<f64> = (0..inner.n_features())
                .map(|_| input.tame(3.0).exp())
                .collect();
            match ScaledFeatures::new(inner, tame) {
                Ok(m) => check(&m, &mut input, flags, mask_bits),
                Err(e) => panic!("positive finite scales refused: {e}"),
            }
        }
    }
}

fn check<F: FeatureMap>(map: &F, input: &mut Input<'_>, flags: u8, mask_bits: u32) {
    let (t, k) = (map.len(), map.n_features());
    // Wrong lengths are errors.
    let bad = |flag: u8, len: usize| if flags & flag != 0 { len + 1 } else { len };
    let (xt, pk, jk, ck) = (bad(1, t), bad(2, k), bad(4, k * t), bad(8, k));
    let x = input.tame_vec(xt, 2.0);
    let c = input.tame_vec(ck, 1.0);
    let mut phi = vec![0.0; pk];
    let mut jac = vec![0.0; jk];
    let mut h = map.new_hessian();
    let ok_eval = map.eval(&x, &mut phi).is_ok();
    let ok_jac = map.jacobian(&x, &mut jac).is_ok();
    let ok_hess = map.weighted_hessian(&x, &c, &mut h).is_ok();
    assert_eq!(ok_eval, xt == t && pk == k, "eval length check");
    assert_eq!(ok_jac, xt == t && jk == k * t, "jacobian length check");
    assert_eq!(ok_hess, xt == t && ck == k, "hessian length check");
    if !(ok_eval && ok_jac && ok_hess) {
        return;
    }

    // Jacobian vs central differences (Φ is a polynomial of degree ≤ 4 in x).
    let step = 1e-4;
    let scale = 1.0 + phi.iter().fold(0.0f64, |m, v| m.max(v.abs())) * 16.0;
    let eval_at = |x: &[f64]| {
        let mut p = vec![0.0; k];
        map.eval(x, &mut p).expect("eval");
        p
    };
    let grad_at = |x: &[f64]| {
        let mut j = vec![0.0; k * t];
        map.jacobian(x, &mut j).expect("jacobian");
        (0..t)
            .map(|s| (0..k).map(|r| c[r] * j[r * t + s]).sum::<f64>())
            .collect::<Vec<_>>()
    };
    let dense = h.to_dense_row_major();
    assert_eq!(dense.len(), t * t);
    for s in 0..t {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp[s] += step;
        xm[s] -= step;
        let (pp, pm) = (eval_at(&xp), eval_at(&xm));
        for r in 0..k {
            let fd = (pp[r] - pm[r]) / (2.0 * step);
            assert!(
                (fd - jac[r * t + s]).abs() <= 1e-6 * scale,
                "∂Φ_{r}/∂x_{s}: analytic {} vs difference {fd}",
                jac[r * t + s]
            );
        }
        let (gp, gm) = (grad_at(&xp), grad_at(&xm));
        for u in 0..t {
            let fd = (gp[u] - gm[u]) / (2.0 * step);
            assert!(
                (fd - dense[u * t + s]).abs() <= 1e-6 * scale,
                "H[{u},{s}]: analytic {} vs difference {fd}",
                dense[u * t + s]
            );
            assert_eq!(dense[u * t + s], dense[s * t + u], "H not symmetric");
        }
    }
    let v = input.tame_vec(t, 1.0);
    let mut hv = vec![0.0; t];
    h.matvec_into(&v, &mut hv).expect("matvec");
    for u in 0..t {
        let want: f64 = (0..t).map(|s| dense[u * t + s] * v[s]).sum();
        let mag: f64 = (0..t).map(|s| (dense[u * t + s] * v[s]).abs()).sum();
        assert!((hv[u] - want).abs() <= 1e-12 * (1.0 + mag), "H v");
    }

    // The step block against the dense reference.
    let norm = (0..t)
        .map(|u| (0..t).map(|s| dense[u * t + s].abs()).sum::<f64>())
        .fold(0.0, f64::max);
    let s = input.tame(1.0) * 0.5 / (1.0 + norm);
    let mask: Vec<bool> = (0..t).map(|i| mask_bits >> (i % 16) & 1 == 1).collect();
    let use_mask = flags & 16 != 0;
    let mut factor = h.new_factor();
    h.factor_step(s, use_mask.then_some(&mask[..]), &mut factor)
        .expect("a well-conditioned step block factors");
    let active = |i: usize| !use_mask || mask[i];
    let b = Mat::from_fn(t, t, |i, j| {
        let id = if i == j { 1.0 } else { 0.0 };
        if active(i) && active(j) {
            id - s * dense[i * t + j]
        } else {
            id
        }
    });
    let want = dense_log_det(b.as_ref()).expect("dense reference");
    let got = factor.log_det().expect("log det");
    assert!(
        (got.log_abs - want.log_abs).abs() <= 1e-9 && got.sign == want.sign,
        "log det {got:?} vs dense {want:?}"
    );
    let rhs = input.tame_vec(t, 1.0);
    let mut sol = rhs.clone();
    factor.solve_in_place(&mut sol).expect("solve");
    for i in 0..t {
        let r: f64 = (0..t).map(|j| b[(i, j)] * sol[j]).sum::<f64>() - rhs[i];
        assert!(
            r.abs() <= 1e-10 * (1.0 + sol.iter().fold(0.0f64, |m, v| m.max(v.abs()))),
            "residual {r}"
        );
    }

    // Arbitrary finite paths: no panic.
    let wild: Vec<f64> = input.f64_vec(t).into_iter().map(finite).collect();
    let wc: Vec<f64> = input.f64_vec(k).into_iter().map(finite).collect();
    let _ = map.eval(&wild, &mut phi);
    let _ = map.jacobian(&wild, &mut jac);
    if map.weighted_hessian(&wild, &wc, &mut h).is_ok() {
        let _ = h.factor_step(input.finite().unwrap_or(0.1), None, &mut factor);
    }
}

//! Kernels and the cell-list neighbour search against brute force.
//!
//! `CellList::new` on arbitrary finite points (any magnitude, d ≤ 7 so the exhaustive
//! fallback beyond `MAX_CELL_DIM` is reached) and radius never panics; `Err` exactly for
//! a radius that is NaN or ≤ 0. `Ok` ⇒ for any finite query y, `for_each_candidate`
//! visits each source at most once and visits every source within distance
//! r·(1 − 1e-9) of y (brute force). `Kernel::new` `Ok` ⇒ K(0) finite and ≥ 0, K(z) ≤
//! K(0), finite, ≥ 0 everywhere, support radius finite and > 0. `KernelSums::apply` on
//! tame points equals the direct sum Σ_j K(y − X^j) c_j over all sources to 1e-12 of
//! Σ_j K |c_j|, and `KernelMatrix::apply` gives the same bits as `KernelSums::apply`.
//!
//! Layout: byte 0 = d − 1, byte 1 = N (≤ 32), byte 2 = number of queries (≤ 8), byte 3 =
//! kernel shape, then the radius / bandwidth, the points and the queries (f64s, non-finite
//! replaced by 0), then the tame points and coefficients of the kernel sums.

use crate::{Input, finite};
use meanfield::measures::neighbours::CellList;
use meanfield::measures::{Kernel, KernelMatrix, KernelShape, KernelSums, Parallelism};

/// The `neighbours` fuzz target: panics exactly when an invariant of the module
/// documentation fails for `data`.
pub fn neighbours(data: &[u8]) {
    let mut input = Input::new(data);
    let d = input.below(7) + 1;
    let n = input.below(33);
    let q = input.below(9);
    let shape = if input.below(2) == 0 {
        KernelShape::Gaussian
    } else {
        KernelShape::Bump
    };
    let radius = input.f64().unwrap_or(1.0);
    let points: Vec<f64> = input.f64_vec(n * d).into_iter().map(finite).collect();
    let queries: Vec<f64> = input.f64_vec(q * d).into_iter().map(finite).collect();

    match CellList::new(&points, d, radius) {
        Ok(cells) => {
            assert!(radius > 0.0, "accepted radius {radius}");
            for y in queries.chunks_exact(d).chain(points.chunks_exact(d)) {
                let mut seen = vec![false; n];
                cells.for_each_candidate(y, |j| {
                    assert!(j < n, "candidate {j} of {n}");
                    assert!(!seen[j], "source {j} visited twice");
                    seen[j] = true;
                });
                for (j, x) in points.chunks_exact(d).enumerate() {
                    // Scaled by the largest coordinate difference, so that squares of
                    // tiny differences do not underflow to a spurious distance 0.
                    let m = x
                        .iter()
                        .zip(y)
                        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
                    let dist = if m == 0.0 || m.is_infinite() {
                        m
                    } else {
                        m * x
                            .iter()
                            .zip(y)
                            .map(|(a, b)| ((a - b) / m).powi(2))
                            .sum::<f64>()
                            .sqrt()
                    };
                    if dist < radius * (1.0 - 1e-9) {
                        assert!(
                            seen[j],
                            "source {j} at distance {dist} < r = {radius} missed"
                        );
                    }
                }
            }
        }
        Err(_) => assert!(radius.is_nan() || radius <= 0.0, "refused radius {radius}"),
    }

    // Kernels: `radius` is the bandwidth.
    let Ok(kernel) = Kernel::new(shape, radius, d) else {
        return;
    };
    let k0 = kernel.eval(&vec![0.0; d]);
    assert!(
        k0.is_finite() && k0 >= 0.0,
        "K(0) = {k0} for ε = {radius}, d = {d}"
    );
    let r = kernel.support_radius();
    assert!(r.is_finite() && r > 0.0, "support radius {r}");
    for z in queries.chunks_exact(d) {
        let kz = kernel.eval(z);
        assert!(
            kz.is_finite() && (0.0..=k0).contains(&kz),
            "K(z) = {kz}, K(0) = {k0}"
        );
    }

    // Kernel sums on tame points (coordinates in units of the bandwidth).
    let eps = kernel.bandwidth();
    if !(1e-6..=1e6).contains(&eps) {
        return;
    }
    let m = input.below(9);
    let src: Vec<f64> = input.tame_vec(n * d, 8.0 * eps);
    let tgt: Vec<f64> = input.tame_vec(m * d, 8.0 * eps);
    let c: Vec<f64> = input.tame_vec(n, 1.0);
    let Ok(sums) = KernelSums::new(kernel, &src) else {
        panic!("KernelSums refused finite sources");
    };
    let mut out = vec![0.0; m];
    sums.apply(&tgt, &[&c], &mut out, Parallelism::Sequential)
        .expect("apply with matching lengths");
    for (t, y) in tgt.chunks_exact(d).enumerate() {
        let (mut direct, mut scale) = (0.0, 0.0);
        for (j, x) in src.chunks_exact(d).enumerate() {
            let kv = kernel.eval_sq(x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum());
            direct += kv * c[j];
            scale += kv * c[j].abs();
        }
        assert!(
            (out[t] - direct).abs() <= 1e-12 * scale + f64::MIN_POSITIVE,
            "kernel sum {} vs direct {direct}",
            out[t]
        );
    }
    let matrix = KernelMatrix::build(&sums, &tgt, usize::MAX, Parallelism::Sequential)
        .expect("build with matching lengths")
        .expect("no entry limit");
    let mut out2 = vec![0.0; m];
    matrix
        .apply(&[&c], &mut out2, Parallelism::Sequential)
        .expect("apply with matching lengths");
    for (a, b) in out.iter().zip(&out2) {
        assert_eq!(a.to_bits(), b.to_bits(), "KernelMatrix vs KernelSums");
    }
}

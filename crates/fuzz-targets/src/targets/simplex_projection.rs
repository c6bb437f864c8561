//! Projection of arbitrary finite vectors onto the simplex: the result lies in the closed
//! simplex, a second projection changes nothing, and the result satisfies the
//! variational inequality of the nearest point ⟨z − Pz, e_k − Pz⟩ ≤ 0 for every vertex
//! e_k (relative to max(1, |z|∞), up to rounding).

use crate::{floats, sum};
use meanfield::measures::Domain;
use meanfield::measures::projection::{project_in_place, project_simplex_in_place};

fn project(z: &[f64]) -> Vec<f64> {
    let mut x = z.to_vec();
    let mut scratch = vec![0.0; z.len()];
    project_simplex_in_place(&mut x, &mut scratch);
    x
}

/// The `simplex_projection` fuzz target: panics exactly when an invariant of the module
/// documentation fails for `data`.
pub fn simplex_projection(data: &[u8]) {
    let z: Vec<f64> = floats(data).into_iter().filter(|v| v.is_finite()).collect();
    if z.is_empty() {
        return;
    }
    let p = project(&z);
    assert!(
        p.iter().all(|v| v.is_finite() && *v >= 0.0),
        "outside the simplex: {z:?} ↦ {p:?}"
    );
    assert!(
        (sum(&p) - 1.0).abs() <= 1e-12,
        "Σ − 1 = {:e}: {z:?} ↦ {p:?}",
        sum(&p) - 1.0
    );

    let pp = project(&p);
    for (a, b) in p.iter().zip(&pp) {
        assert!((a - b).abs() <= 1e-12, "not idempotent: {p:?} ↦ {pp:?}");
    }

    let scale = z.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let r: Vec<f64> = z.iter().zip(&p).map(|(z, p)| (z - p) / scale).collect();
    let rp: f64 = r.iter().zip(&p).map(|(r, p)| r * p).sum();
    for (k, rk) in r.iter().enumerate() {
        assert!(
            rk - rp <= 1e-9,
            "not the nearest point (vertex {k}: {:e}): {z:?} ↦ {p:?}",
            rk - rp
        );
    }

    let mut q = z.clone();
    project_in_place(&Domain::Simplex, &mut q, &mut vec![0.0; z.len()]);
    assert_eq!(q, p);
}

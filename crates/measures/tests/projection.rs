//! Property tests of the Euclidean projections (`meanfield_measures::projection`):
//! the simplex projection lands in the closed simplex, is idempotent and satisfies the
//! variational inequality of the nearest point; the box clamp lands in the box and is
//! exactly idempotent; the sort-free simplex projection used by the integrators agrees
//! with the sort-based oracle to rounding.

mod common;

use common::{box_side, config, signed_up_to, simplex_point, sum};
use meanfield_measures::projection::{
    project_box_in_place, project_in_place, project_simplex_fixed_point_in_place,
    project_simplex_in_place, project_simplex_sort_in_place,
};
use meanfield_measures::{BoxBounds, Domain};
use proptest::collection::vec;
use proptest::prelude::*;

fn project_simplex(z: &[f64]) -> Vec<f64> {
    let mut x = z.to_vec();
    let mut scratch = vec![0.0; z.len()];
    project_simplex_in_place(&mut x, &mut scratch);
    x
}

/// The sort-based reference projection (the oracle of the sort-free one).
fn project_simplex_by_sorting(z: &[f64]) -> Vec<f64> {
    let mut x = z.to_vec();
    let mut scratch = vec![0.0; z.len()];
    project_simplex_sort_in_place(&mut x, &mut scratch);
    x
}

/// The fixed-point projection alone (without the dispatch to the sort for d ≤ 8).
fn project_simplex_by_fixed_point(z: &[f64]) -> Vec<f64> {
    let mut x = z.to_vec();
    let mut scratch = vec![0.0; z.len()];
    project_simplex_fixed_point_in_place(&mut x, &mut scratch);
    x
}

/// The fixed-point and the sort-based projections of `z` lie in the closed simplex and
/// agree entry by entry to `tol` (absolute: the entries are in [0, 1]).
fn assert_matches_oracle(z: &[f64], tol: f64) -> Result<(), TestCaseError> {
    let (p, q) = (
        project_simplex_by_fixed_point(z),
        project_simplex_by_sorting(z),
    );
    assert_closed_simplex(&p)?;
    assert_closed_simplex(&q)?;
    for (k, (a, b)) in p.iter().zip(&q).enumerate() {
        prop_assert!(
            (a - b).abs() <= tol,
            "entry {k}: sort-free {a:e} vs sorted {b:e} (diff {:e}) for z = {z:?}",
            a - b
        );
    }
    Ok(())
}

/// Inputs like a projected Langevin step's: a point of the simplex of dimension d plus
/// Gaussian-sized noise of scale `noise` (many entries then leave the simplex).
fn langevin_like_input(d: usize, noise: f64) -> impl Strategy<Value = Vec<f64>> {
    (simplex_point(d), vec(-1.0..=1.0f64, d))
        .prop_map(move |(x, e)| x.iter().zip(&e).map(|(x, e)| x + noise * e).collect())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn assert_closed_simplex(x: &[f64]) -> Result<(), TestCaseError> {
    prop_assert!(
        x.iter().all(|v| v.is_finite() && *v >= 0.0),
        "negative or non-finite coordinate: {x:?}"
    );
    prop_assert!(
        (sum(x) - 1.0).abs() <= 1e-12,
        "Σx − 1 = {:e}: {x:?}",
        sum(x) - 1.0
    );
    Ok(())
}

/// ⟨z − Pz, y − Pz⟩ ≤ tol for every vertex y = e_k (hence, by linearity, for every y in
/// the simplex): Pz is the nearest point of the simplex to z. The residual z − Pz is
/// divided by `scale` first (the check is then relative to it and cannot overflow).
fn assert_nearest(z: &[f64], p: &[f64], scale: f64, tol: f64) -> Result<(), TestCaseError> {
    let r: Vec<f64> = z.iter().zip(p).map(|(z, p)| (z - p) / scale).collect();
    let rp = dot(&r, p);
    for (k, rk) in r.iter().enumerate() {
        let vi = rk - rp;
        prop_assert!(
            vi <= tol,
            "⟨z − Pz, e_{k} − Pz⟩ = {vi:e} > {tol:e} for z = {z:?}, Pz = {p:?}"
        );
    }
    Ok(())
}

/// Vectors of dimension 1..=20 with entries up to `max` in magnitude.
fn vector(max: f64) -> impl Strategy<Value = Vec<f64>> {
    vec(signed_up_to(max), 1..=20)
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn simplex_projection_lands_in_simplex_and_is_idempotent(z in vector(1e3)) {
        let p = project_simplex(&z);
        assert_closed_simplex(&p)?;
        let pp = project_simplex(&p);
        for (a, b) in p.iter().zip(&pp) {
            prop_assert!((a - b).abs() <= 1e-12, "P(Pz) ≠ Pz: {p:?} then {pp:?}");
        }
    }

    #[test]
    fn simplex_projection_is_nearest_point(
        (z, ys) in (1usize..=20).prop_flat_map(|d| (
            vec(signed_up_to(1e3), d),
            vec(if d >= 2 { simplex_point(d).boxed() } else { Just(vec![1.0]).boxed() }, 8),
        ))
    ) {
        let p = project_simplex(&z);
        assert_nearest(&z, &p, 1.0, 1e-9)?;
        let r: Vec<f64> = z.iter().zip(&p).map(|(z, p)| z - p).collect();
        for y in &ys {
            let ymp: Vec<f64> = y.iter().zip(&p).map(|(y, p)| y - p).collect();
            prop_assert!(dot(&r, &ymp) <= 1e-9, "⟨z − Pz, y − Pz⟩ = {:e} for y = {y:?}", dot(&r, &ymp));
        }
    }

    #[test]
    fn simplex_projection_of_huge_vectors(z in vector(1e300)) {
        // Magnitudes far beyond 2^53, where z_i − 1 == z_i: still a point of the simplex,
        // still idempotent, still the nearest point (to rounding relative to max |z|).
        let p = project_simplex(&z);
        assert_closed_simplex(&p)?;
        let pp = project_simplex(&p);
        for (a, b) in p.iter().zip(&pp) {
            prop_assert!((a - b).abs() <= 1e-12, "P(Pz) ≠ Pz: {p:?} then {pp:?}");
        }
        let scale = z.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        assert_nearest(&z, &p, scale, 1e-12)?;
    }

    #[test]
    fn simplex_projection_is_idempotent_in_high_dimension(
        (big, near_zero, far) in (
            vec(0.05..=1.0f64, 1..=3),
            vec(prop_oneof![Just(0.0), -1e-300..=1e-300f64, -1e-12..=1e-12f64], 100..=500),
            vec(prop_oneof![Just(-3e163), -1e3..=-2.0f64], 0..=200),
        )
    ) {
        // A few large entries and hundreds of (nearly) tied small ones: Pz has hundreds
        // of equal positive entries and its zeros sit exactly at the threshold of the
        // second projection, where a naive running sum over the shifted entries
        // (O(d² u) drift) admits them with a τ off by ~1e-12.
        let z = [big, near_zero, far].concat();
        let p = project_simplex(&z);
        assert_closed_simplex(&p)?;
        let pp = project_simplex(&p);
        for (a, b) in p.iter().zip(&pp) {
            prop_assert!((a - b).abs() <= 1e-12, "P(Pz) − Pz = {:e}", a - b);
        }
    }

    #[test]
    fn simplex_points_are_fixed(x in (2usize..=10).prop_flat_map(simplex_point)) {
        let p = project_simplex(&x);
        for (a, b) in x.iter().zip(&p) {
            prop_assert!((a - b).abs() <= 1e-12, "{x:?} ↦ {p:?}");
        }
    }

    #[test]
    fn simplex_projection_commutes_with_shifts(z in vector(1e3), c in -1e3f64..=1e3) {
        // P(z + c1) = P(z): the simplex lies in a hyperplane orthogonal to 1.
        let shifted: Vec<f64> = z.iter().map(|v| v + c).collect();
        let (p, q) = (project_simplex(&z), project_simplex(&shifted));
        for (a, b) in p.iter().zip(&q) {
            prop_assert!((a - b).abs() <= 1e-9, "{p:?} vs {q:?}");
        }
    }

    #[test]
    fn sort_free_projection_matches_the_sort_based_oracle(
        z in prop_oneof![
            vector(1e3),
            vector(1e300),
            (2usize..=300).prop_flat_map(|d| langevin_like_input(d, 0.05)),
            (2usize..=300).prop_flat_map(|d| langevin_like_input(d, 1e-4)),
            vec(prop_oneof![Just(0.0), Just(1e-3), -1e-12..=1e-12f64], 1..=400),
        ]
    ) {
        // Same τ* (the support is found exactly by both), summed in a different order:
        // the entries then differ by a few ulps of 1 at most.
        assert_matches_oracle(&z, 8.0 * f64::EPSILON)?;
    }

    #[test]
    fn sort_free_projection_matches_the_oracle_on_projected_points(
        (big, near_zero, far) in (
            vec(0.05..=1.0f64, 1..=3),
            vec(prop_oneof![Just(0.0), -1e-300..=1e-300f64, -1e-12..=1e-12f64], 100..=500),
            vec(prop_oneof![Just(-3e163), -1e3..=-2.0f64], 0..=200),
        )
    ) {
        // Hundreds of ties exactly at the threshold, projected once and again. On a
        // projected point the ties sit at τ* itself, where each algorithm decides by
        // rounding how many to admit (each admitted tie moves the others by ~ε), so
        // there the agreement is the idempotence tolerance of the tests above, 1e-12.
        let z = [big, near_zero, far].concat();
        assert_matches_oracle(&z, 8.0 * f64::EPSILON)?;
        assert_matches_oracle(&project_simplex_by_sorting(&z), 1e-12)?;
    }

    #[test]
    fn box_clamp_lands_in_box_and_is_idempotent(
        (sides, infinite, z) in (1usize..=10).prop_flat_map(|d| (
            vec(box_side(), d),
            vec(any::<bool>(), d),
            vec(signed_up_to(1e3), d),
        ))
    ) {
        let lower: Vec<f64> = sides.iter().map(|s| s.0).collect();
        let upper: Vec<f64> = sides.iter().zip(&infinite)
            .map(|(s, inf)| if *inf { f64::INFINITY } else { s.0 + s.1 })
            .collect();
        let b = BoxBounds::new(lower.clone(), upper.clone()).unwrap();
        let mut x = z.clone();
        project_box_in_place(&mut x, &b);
        for i in 0..x.len() {
            prop_assert!(lower[i] <= x[i] && x[i] <= upper[i], "{} ∉ [{}, {}]", x[i], lower[i], upper[i]);
            // Nearest point, coordinate by coordinate.
            if lower[i] <= z[i] && z[i] <= upper[i] {
                prop_assert_eq!(x[i], z[i]);
            } else {
                prop_assert!(x[i] == lower[i] || x[i] == upper[i]);
            }
        }
        let mut xx = x.clone();
        project_box_in_place(&mut xx, &b);
        prop_assert_eq!(&xx, &x);
        // The generic entry point dispatches to the same clamp.
        let mut y = z.clone();
        project_in_place(&Domain::Box(b), &mut y, &mut vec![0.0; z.len()]);
        prop_assert_eq!(&y, &x);
    }

    #[test]
    fn generic_projection_dispatches(z in vector(1e3)) {
        let mut scratch = vec![0.0; z.len()];
        let mut e = z.clone();
        project_in_place(&Domain::Euclidean, &mut e, &mut scratch);
        prop_assert_eq!(&e, &z);
        let mut s = z.clone();
        project_in_place(&Domain::Simplex, &mut s, &mut scratch);
        prop_assert_eq!(s, project_simplex(&z));
    }
}

#[test]
fn simplex_projection_examples() {
    assert_eq!(project_simplex(&[0.3, 0.7]), vec![0.3, 0.7]);
    assert_eq!(project_simplex(&[2.0, 0.0]), vec![1.0, 0.0]);
    assert_eq!(project_simplex(&[0.0, 0.0]), vec![0.5, 0.5]);
    assert_eq!(project_simplex(&[5.0]), vec![1.0]);
    assert_eq!(project_simplex(&[-7.0]), vec![1.0]);
    let p = project_simplex(&[1.0, 1.0, -1.0]);
    assert!(
        (p[0] - 0.5).abs() < 1e-15 && (p[1] - 0.5).abs() < 1e-15 && p[2] == 0.0,
        "{p:?}"
    );
}

#[test]
fn sort_free_and_sorted_examples_agree_exactly() {
    for z in [
        vec![0.3, 0.7],
        vec![2.0, 0.0],
        vec![0.0, 0.0],
        vec![5.0],
        vec![1e20, 5e19],
        vec![f64::MAX, -f64::MAX, f64::MAX],
        vec![-f64::MAX, -f64::MAX],
    ] {
        assert_eq!(
            project_simplex_by_fixed_point(&z),
            project_simplex_by_sorting(&z),
            "{z:?}"
        );
    }
}

#[test]
fn simplex_projection_beyond_two_to_the_53() {
    // z_1 − 1 == z_1 in floating point: the first support test must not fail there.
    assert_eq!(project_simplex(&[1e20, 5e19]), vec![1.0, 0.0]);
    assert_eq!(project_simplex(&[-1e20, -1e20]), vec![0.5, 0.5]);
    assert_eq!(
        project_simplex(&[f64::MAX, -f64::MAX, f64::MAX]),
        vec![0.5, 0.0, 0.5]
    );
    assert_eq!(project_simplex(&[-f64::MAX, -f64::MAX]), vec![0.5, 0.5]);
}

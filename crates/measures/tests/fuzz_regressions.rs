//! Deterministic replays of the inputs the cargo-fuzz targets (`fuzz/`) found, each a
//! panic or a silent non-finite value before its fix.

use meanfield_measures::neighbours::CellList;
use meanfield_measures::{Kernel, KernelShape, MeasuresError};

/// `neighbours`: a query far outside the grid overflowed `centre ± 1` (i64) and panicked
/// with overflow checks on (and wrapped without them).
#[test]
fn cell_list_query_far_outside_the_grid_has_no_candidates() {
    let cells = CellList::new(&[1e6, -1e6, 0.0, 1e-3], 1, 1e-3).unwrap();
    assert!(!cells.is_exhaustive());
    for y in [1e300, -1e300, f64::MAX, -f64::MAX] {
        let mut seen = Vec::new();
        cells.for_each_candidate(&[y], |j| seen.push(j));
        assert!(seen.is_empty(), "query {y}: {seen:?}");
    }
    let mut seen = Vec::new();
    cells.for_each_candidate(&[1e6], |j| seen.push(j));
    assert_eq!(seen, [0]);
}

/// `neighbours`: ε = 1e-160 in d = 3 was accepted with K(0) = +∞ (the normalisation
/// overflowed); ε = 1e200 with K ≡ 0. Both are now `InvalidDomain` naming ε.
#[test]
fn kernel_bandwidths_with_a_non_finite_normalisation_are_errors() {
    for (shape, eps, d) in [
        (KernelShape::Gaussian, 1e-160, 3),
        (KernelShape::Bump, 1e-160, 3),
        (KernelShape::Gaussian, 1e-200, 1),
        (KernelShape::Gaussian, 1e200, 1),
        (KernelShape::Bump, 1e300, 2),
    ] {
        match Kernel::new(shape, eps, d) {
            Err(MeasuresError::InvalidDomain { reason }) => {
                assert!(reason.contains(&format!("{eps}")), "{reason}")
            }
            other => panic!("ε = {eps}, d = {d}: {other:?}"),
        }
    }
    let k = Kernel::new(KernelShape::Gaussian, 1e-50, 2).unwrap();
    assert!(k.eval(&[0.0, 0.0]).is_finite());
}

/// `neighbours`: radius 1.74e-307 with points at 0 and 4.9e-299.
#[test]
fn cell_list_with_a_tiny_radius_finds_coincident_points() {
    let r = 1.7418988120976744e-307;
    let mut points = vec![0.0; 27];
    points[0] = 4.866146302595527e-299;
    let cells = CellList::new(&points, 1, r).unwrap();
    for (i, &y) in points.iter().enumerate() {
        let mut seen = Vec::new();
        cells.for_each_candidate(&[y], |j| seen.push(j));
        for (j, &x) in points.iter().enumerate() {
            if (x - y).abs() < r * (1.0 - 1e-9) {
                assert!(
                    seen.contains(&j),
                    "query {i}: source {j} missed; saw {seen:?}, exhaustive {}",
                    cells.is_exhaustive()
                );
            }
        }
    }
}

/// `neighbours` (stable mutation replay, `crates/fuzz-targets/tests/replay.rs`): with
/// cells of side exactly r, a source at distance 0.999999996575·r from the query 0 on a
/// grid starting at −1e6 (cell index ≈ 1e9, whose rounding is ~1e-7 cells) was binned
/// two cells away and missed. The cell side now covers that rounding.
#[test]
fn sources_just_inside_the_radius_far_from_the_origin_are_candidates() {
    let r = 1e-3;
    let near = -0.000999999996575184;
    let points = [1e6, -1e6, 0.0, near];
    let cells = CellList::new(&points, 1, r).unwrap();
    assert!(!cells.is_exhaustive());
    let mut seen = Vec::new();
    cells.for_each_candidate(&[0.0], |j| seen.push(j));
    assert!(
        seen.contains(&3),
        "source at {near} missed from 0: {seen:?}"
    );
    // Systematically: sources at r·(1 − 1e-12) on either side of queries spread over
    // a grid of 2·10⁹ cells are all found.
    for k in 0..2000 {
        let y = -1e6 + 1e3 * k as f64 + 0.37 * r;
        for x in [y - r * (1.0 - 1e-12), y + r * (1.0 - 1e-12)] {
            if (x - y).abs() >= r {
                continue; // the rounding of x itself put it outside the radius
            }
            let cells = CellList::new(&[1e6, -1e6, x], 1, r).unwrap();
            let mut seen = Vec::new();
            cells.for_each_candidate(&[y], |j| seen.push(j));
            assert!(seen.contains(&2), "source {x} missed from {y}");
        }
    }
}

//! Euclidean projections P_X(z) = argmin_{x ∈ X} |x − z| onto closed convex domains,
//! used by projected Langevin. Invariants (`tests/projection.rs`): the result lies in the
//! closed set and P_X(P_X(z)) = P_X(z).

use crate::domain::{BoxBounds, Domain};

/// Projects `z` in place onto the simplex {x ≥ 0, Σx = 1} by the sort-based algorithm
/// (Held–Wolfe–Crowder; Duchi et al. 2008): sort u = z descending, find
/// ρ = max{j : u_j − (Σ_{k≤j} u_k − 1)/j > 0}, τ = (Σ_{k≤ρ} u_k − 1)/ρ, x = max(z − τ, 0).
/// `scratch` must be at least as long as `z` (its first `z.len()` entries are used);
/// O(d log d). `z` must be finite.
///
/// z is first shifted by its maximum m (P(z − m·1) = P(z): the simplex lies in a
/// hyperplane orthogonal to 1). Then u_1 = 0, so the test for j = 1 holds exactly in
/// floating point, τ ∈ [−1, 0) and the cumulative sum over the support stays in
/// (−d, 0] whatever the magnitude of z. Without the shift, for |z| ≳ 2^53 the rounded
/// u_1 − (u_1 − 1) is 0, no j passed and τ stayed 0, which returned the rescaled
/// input (or the zero vector) instead of the projection.
pub fn project_simplex_in_place(z: &mut [f64], scratch: &mut [f64]) {
    let scratch = &mut scratch[..z.len()];
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for (s, v) in scratch.iter_mut().zip(z.iter()) {
        *s = *v - max;
    }
    scratch.sort_unstable_by(|a, b| b.total_cmp(a));
    // Σ_{k≤j} u_k − 1, compensated: after the shift the u_k are O(1) each, and a naive
    // running sum drifts by O(j² u), enough to move τ by ~1e−12 for d ~ 500 when many
    // entries sit exactly at the threshold (a projected point projected again).
    let mut cumsum = crate::compensated::NeumaierSum::new();
    cumsum.add(-1.0);
    let mut tau = -1.0;
    for (j, &u) in scratch.iter().enumerate() {
        cumsum.add(u);
        let t = cumsum.value() / (j + 1) as f64;
        // The admissible j form a prefix {1, …, ρ}: stop at the first failure (this also
        // keeps an overflowed −∞ entry, where t = −∞, from being admitted).
        if u - t > 0.0 {
            tau = t;
        } else {
            break;
        }
    }
    for v in z.iter_mut() {
        *v = ((*v - max) - tau).max(0.0);
    }
    // One compensated renormalisation removes the remaining O(u) drift of τ so that
    // Σx = 1 to ~1e−16 and a second projection is a no-op.
    let s = crate::compensated::compensated_sum(z);
    if s > 0.0 {
        z.iter_mut().for_each(|v| *v /= s);
    }
}

/// Clamps `z` in place into the box Π [l_i, u_i].
pub fn project_box_in_place(z: &mut [f64], bounds: &BoxBounds) {
    for ((v, l), u) in z.iter_mut().zip(bounds.lower()).zip(bounds.upper()) {
        *v = v.clamp(*l, *u);
    }
}

/// Projects onto any [`Domain`] (identity on R^d).
pub fn project_in_place(domain: &Domain, z: &mut [f64], scratch: &mut [f64]) {
    match domain {
        Domain::Euclidean => {}
        Domain::Simplex => project_simplex_in_place(z, scratch),
        Domain::Box(b) => project_box_in_place(z, b),
    }
}

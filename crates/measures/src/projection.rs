//! Euclidean projections P_X(z) = argmin_{x ∈ X} |x − z| onto closed convex domains,
//! used by projected Langevin. Invariants (`tests/projection.rs`): the result lies in the
//! closed set and P_X(P_X(z)) = P_X(z); the sort-free simplex projection agrees with the
//! sort-based one (kept as the test oracle) to rounding.

use crate::domain::{BoxBounds, Domain};

/// Projects `z` in place onto the simplex {x ≥ 0, Σx = 1} without sorting: Michelot's
/// fixed point (Michelot 1986; Condat 2016, §2) on the max-shifted vector u = z − max z,
///
/// τ_{k+1} = (Σ_{u_i > τ_k} u_i − 1) / #{i : u_i > τ_k},   x = max(u − τ*, 0),
///
/// started from a lower bound τ_0 ≤ τ*. For any set S that contains the support of the
/// projection, (Σ_S u − 1)/|S| ≤ τ* (the entries outside the support are ≤ τ*), so every
/// iterate is a lower bound, the sets {u > τ_k} shrink monotonically and the iteration
/// stops, with the exact τ* of the sort-based algorithm, as soon as a pass removes no
/// entry (at most d passes; about 1–4 on the inputs of a Langevin step). Each pass is a
/// branch-free sweep (compensated sums in four lanes), O(d) per pass instead of the
/// O(d log d) sort of [`project_simplex_sort_in_place`], which it equals to rounding
/// (`tests/projection.rs::sort_free_projection_matches_the_sort_based_oracle`).
///
/// For d ≤ 8 it sorts instead ([`project_simplex_sort_in_place`]: a sorting network on so
/// few entries is cheaper than the passes). `scratch` must be at least as long as `z` (its
/// first `z.len()` entries are used). `z` must be finite.
///
/// The shift by the maximum m keeps u ≤ 0 with max u = 0, so τ* ∈ [−1, 0) whatever the
/// magnitude of z (see [`project_simplex_sort_in_place`] for why that matters beyond
/// 2^53), the maximal entry always stays in the set (τ_k < 0), and −1 is a valid start.
pub fn project_simplex_in_place(z: &mut [f64], scratch: &mut [f64]) {
    if z.len() <= SORT_BELOW {
        // A handful of entries: sorting them costs less than the fixed-point passes
        // (CPU time of the projected step at N = 50,000, d = 3: 5.8 ms instead of 8.7 ms).
        project_simplex_sort_in_place(z, scratch);
    } else {
        project_simplex_fixed_point_in_place(z, scratch);
    }
}

/// The fixed-point projection of [`project_simplex_in_place`] for any dimension (without
/// its dispatch to the sort for d ≤ 8); public so that the property tests can compare it
/// with the sort-based oracle at every d.
pub fn project_simplex_fixed_point_in_place(z: &mut [f64], scratch: &mut [f64]) {
    let d = z.len();
    let u = &mut scratch[..d];
    let max = lane_max(z);
    // u = z − m and its plain sum (four lanes): all terms are ≤ 0, so there is no
    // cancellation and the rounding error is at most d·ε·|Σu|.
    let mut lanes = [0.0f64; LANES];
    let mut uc = u.chunks_exact_mut(LANES);
    let mut zc = z.chunks_exact(LANES);
    for (uc, zc) in (&mut uc).zip(&mut zc) {
        for l in 0..LANES {
            uc[l] = zc[l] - max;
            lanes[l] += uc[l];
        }
    }
    for (s, v) in uc.into_remainder().iter_mut().zip(zc.remainder()) {
        *s = *v - max;
        lanes[0] += *s;
    }
    let total = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    // τ_0 = (Σu − 1)/d (the whole set), lowered by a bound on its rounding error
    // (≤ 3ε(|Σu| + 1)) so that it stays ≤ τ*; at least −1 (the support's top entry alone),
    // which also covers a −∞ or NaN total (an entry whose shift overflowed).
    let t0 = (total - 1.0) / d as f64 - 4.0 * f64::EPSILON * (total.abs() + 1.0);
    let mut tau = t0.max(-1.0);
    // The candidate set {u > τ_k} is kept compacted at the front of `u`. The iteration
    // only has to find the support, so its sums are plain (an error of a few ulps in τ_k
    // can only mis-classify entries within rounding of τ*, which the final pass below
    // treats as ties anyway); τ* itself is then summed compensated.
    let mut count = d;
    let mut first = true;
    loop {
        let (sum, kept) = michelot_pass_plain(&mut u[..count], tau);
        // `kept ≥ 1`: the entry u = 0 is > τ. The sum is −1 + Σ kept, so t < 0.
        let t = sum / kept as f64;
        // After the first pass (from the bound τ_0, not an iterate) the iterates
        // increase; the fixed point is reached when no entry left the set or τ stopped
        // increasing (which only rounding can cause).
        let settled = !first && (kept >= count || t <= tau);
        first = false;
        count = kept;
        if settled {
            break;
        }
        tau = t;
    }
    // The final pass over the support, compensated. Entries within rounding of τ*
    // (u − τ ≤ 8ε|τ|, the error bound of the plain τ) are ties: the sort-based algorithm
    // admits about one of them, the fixed point all or none, and admitting hundreds (a
    // projected point projected again: its zeros sit exactly at τ*) shifts every other
    // entry by their count × the rounding of τ. So they are left out of the sum; they
    // then get x ≤ 8ε|τ| (rounding-level), and the result matches the sorted one to a
    // few ulps.
    let (sum, kept) = michelot_pass(&mut u[..count], tau + 8.0 * f64::EPSILON * tau.abs());
    if kept > 0 {
        tau = sum / kept as f64;
    }
    // x = max(u − τ, 0) ∈ [0, −τ] ⊂ [0, 1], summed compensated in four lanes that start
    // at 1 (so |partial| ≥ |term| and Fast2Sum is exact, as in `michelot_pass`).
    let mut s = [1.0f64; LANES];
    let mut c = [0.0f64; LANES];
    let mut zc = z.chunks_exact_mut(LANES);
    for ch in &mut zc {
        for l in 0..LANES {
            let x = ((ch[l] - max) - tau).max(0.0);
            ch[l] = x;
            let t = s[l] + x;
            c[l] += (s[l] - t) + x;
            s[l] = t;
        }
    }
    for v in zc.into_remainder() {
        let x = ((*v - max) - tau).max(0.0);
        *v = x;
        let t = s[0] + x;
        c[0] += (s[0] - t) + x;
        s[0] = t;
    }
    let sum = combine_lanes(&s, &c, -(LANES as f64));
    // One compensated renormalisation removes the remaining O(u) drift of τ so that
    // Σx = 1 to ~1e−16 and a second projection is a no-op (a multiplication by the
    // rounded 1/Σ: ≤ 1.5 ulp per entry, and no division per coordinate).
    if sum > 0.0 {
        let r = 1.0 / sum;
        z.iter_mut().for_each(|v| *v *= r);
    }
}

/// Up to this dimension [`project_simplex_in_place`] sorts (the sort of ≤ 8 entries is a
/// small sorting network, cheaper than the fixed point's passes and lane sums).
const SORT_BELOW: usize = 8;

/// Independent accumulators of the branch-free passes (breaks the add latency chain).
const LANES: usize = 4;

/// max of a non-empty finite slice, in four independent lanes.
fn lane_max(z: &[f64]) -> f64 {
    let mut m = [f64::NEG_INFINITY; LANES];
    let mut chunks = z.chunks_exact(LANES);
    for ch in &mut chunks {
        for l in 0..LANES {
            m[l] = m[l].max(ch[l]);
        }
    }
    for &v in chunks.remainder() {
        m[0] = m[0].max(v);
    }
    m[0].max(m[1]).max(m[2].max(m[3]))
}

/// `Σ_l (s_l + c_l) + offset`, Neumaier-compensated: the total of lane sums `s` with
/// their Fast2Sum compensations `c`.
fn combine_lanes(s: &[f64; LANES], c: &[f64; LANES], offset: f64) -> f64 {
    let mut total = crate::compensated::NeumaierSum::new();
    total.add(offset);
    for l in 0..LANES {
        total.add(s[l]);
        total.add(c[l]);
    }
    total.value()
}

/// One Michelot pass over the candidate set `u` with plain sums: moves the entries
/// u_i > τ to the front (in order) and returns (−1 + Σ_{u_i > τ} u_i, #{u_i > τ}).
/// Branch-free like [`michelot_pass`].
fn michelot_pass_plain(u: &mut [f64], tau: f64) -> (f64, usize) {
    let mut s = [0.0f64; LANES];
    let mut k = 0;
    let len = u.len();
    let full = len - len % LANES;
    let mut j = 0;
    while j < full {
        for l in 0..LANES {
            let v = u[j + l];
            let keep = v > tau;
            s[l] += f64::from_bits(v.to_bits() & u64::from(keep).wrapping_neg());
            u[k] = v;
            k += usize::from(keep);
        }
        j += LANES;
    }
    while j < len {
        let v = u[j];
        let keep = v > tau;
        s[0] += f64::from_bits(v.to_bits() & u64::from(keep).wrapping_neg());
        u[k] = v;
        k += usize::from(keep);
        j += 1;
    }
    (((s[0] + s[1]) + (s[2] + s[3])) - 1.0, k)
}

/// One Michelot pass over the candidate set `u`: moves the entries u_i > τ to the front
/// (in order) and returns (−1 + Σ_{u_i > τ} u_i, #{u_i > τ}), the sum compensated.
///
/// Branch-free (the keep/drop decision is data-dependent and unpredictable): each lane
/// starts at −1 and adds u_i masked to 0 when dropped. Every kept u_i lies in
/// (τ, 0] ⊂ (−1, 0] and every partial sum of a lane is ≤ −1, so |partial| ≥ |term| and
/// Fast2Sum (Dekker) captures each rounding error exactly; the lanes (three −1 starts
/// too many) are combined with a Neumaier sum.
fn michelot_pass(u: &mut [f64], tau: f64) -> (f64, usize) {
    let mut s = [-1.0f64; LANES];
    let mut c = [0.0f64; LANES];
    let mut k = 0;
    let len = u.len();
    let full = len - len % LANES;
    let mut j = 0;
    while j < full {
        for l in 0..LANES {
            let v = u[j + l];
            let keep = v > tau;
            // v or +0.0, without a branch: all bits kept or all cleared.
            let x = f64::from_bits(v.to_bits() & u64::from(keep).wrapping_neg());
            let t = s[l] + x;
            c[l] += (s[l] - t) + x;
            s[l] = t;
            // Compaction: k ≤ j + l, so this never overwrites an unread entry.
            u[k] = v;
            k += usize::from(keep);
        }
        j += LANES;
    }
    while j < len {
        let v = u[j];
        let keep = v > tau;
        let x = f64::from_bits(v.to_bits() & u64::from(keep).wrapping_neg());
        let t = s[0] + x;
        c[0] += (s[0] - t) + x;
        s[0] = t;
        u[k] = v;
        k += usize::from(keep);
        j += 1;
    }
    (combine_lanes(&s, &c, (LANES - 1) as f64), k)
}

/// Projects `z` in place onto the simplex {x ≥ 0, Σx = 1} by the sort-based algorithm
/// (Held–Wolfe–Crowder; Duchi et al. 2008): sort u = z descending, find
/// ρ = max{j : u_j − (Σ_{k≤j} u_k − 1)/j > 0}, τ = (Σ_{k≤ρ} u_k − 1)/ρ, x = max(z − τ, 0).
/// `scratch` must be at least as long as `z` (its first `z.len()` entries are used);
/// O(d log d). `z` must be finite. The reference implementation: the integrators use the
/// sort-free [`project_simplex_in_place`], and the property tests check that both agree.
///
/// z is first shifted by its maximum m (P(z − m·1) = P(z): the simplex lies in a
/// hyperplane orthogonal to 1). Then u_1 = 0, so the test for j = 1 holds exactly in
/// floating point, τ ∈ [−1, 0) and the cumulative sum over the support stays in
/// (−d, 0] whatever the magnitude of z. Without the shift, for |z| ≳ 2^53 the rounded
/// u_1 − (u_1 − 1) is 0, no j passed and τ stayed 0, which returned the rescaled
/// input (or the zero vector) instead of the projection.
pub fn project_simplex_sort_in_place(z: &mut [f64], scratch: &mut [f64]) {
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

//! Mirror maps ∇φ: X → R^d for Legendre-type convex φ, their inverses ∇φ* and the
//! square root of the Hessian ∇²φ used by mirror Langevin noise.
//!
//! Mirror Langevin step (MMFLD): Y' = ∇φ(X) − η g + √(2λη) [∇²φ(X)]^{1/2} ξ,
//! X' = ∇φ*(Y'). Because ∇φ* maps all of R^d (or the dual domain) into the *interior* of
//! X, iterates never leave the domain. Invariant checked by `tests/mirror.rs`:
//! ∇φ*(∇φ(x)) = x to 1e-12 relative for interior x.
//!
//! All methods act on one point (length-d slices); callers loop over particles. The
//! slices must have the map's dimension (checked by the integrator once per run).

use crate::domain::{BoxBounds, Domain};

/// Dual coordinates below `max − DUAL_FLOOR` are raised to it before the softmax, so
/// that exp never underflows to 0 and the iterate stays in the open simplex:
/// exp(−700) ≈ 1e−304 > 0.
pub const DUAL_FLOOR: f64 = 700.0;

/// A mirror map for a convex domain.
pub trait MirrorMap: Send + Sync {
    /// The domain X whose interior ∇φ* maps into.
    fn domain(&self) -> Domain;

    /// y = ∇φ(x) for x in the interior of X.
    fn grad_phi(&self, x: &[f64], y: &mut [f64]);

    /// x = ∇φ*(y) ∈ int X (the inverse of [`MirrorMap::grad_phi`]).
    fn grad_phi_star(&self, y: &[f64], x: &mut [f64]);

    /// out = [∇²φ(x)]^{1/2} ξ, the noise shape of mirror Langevin.
    fn hessian_sqrt_apply(&self, x: &[f64], xi: &[f64], out: &mut [f64]);
}

/// φ(x) = ½|x|²: ∇φ = ∇φ* = id, ∇²φ = I. Mirror Langevin with this map is plain
/// Langevin, bit for bit (property test in the integrators crate).
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity;

impl MirrorMap for Identity {
    fn domain(&self) -> Domain {
        Domain::Euclidean
    }
    fn grad_phi(&self, x: &[f64], y: &mut [f64]) {
        y.copy_from_slice(x);
    }
    fn grad_phi_star(&self, y: &[f64], x: &mut [f64]) {
        x.copy_from_slice(y);
    }
    fn hessian_sqrt_apply(&self, _x: &[f64], xi: &[f64], out: &mut [f64]) {
        out.copy_from_slice(xi);
    }
}

/// Negative entropy on the simplex in full coordinates, φ(x) = Σ_i x_i ln x_i.
///
/// ∇φ(x) = ln x (the additive constant 1 is dropped: dual vectors are defined modulo
/// the all-ones direction, which ∇φ* ignores); ∇φ*(y) = softmax(y);
/// [∇²φ(x)]^{1/2} = diag(x)^{−1/2}.
///
/// Why the full-vector noise is right: with free coordinates x_1..x_{d−1} the dual is
/// y_i = z_i − z_d for z = ln x, and z-noise of covariance diag(1/x) gives y-noise of
/// covariance diag(1/x_{<d}) + (1/x_d) 11ᵀ, which is exactly ∇²φ in those coordinates.
#[derive(Debug, Clone, Copy, Default)]
pub struct Entropic;

impl MirrorMap for Entropic {
    fn domain(&self) -> Domain {
        Domain::Simplex
    }
    fn grad_phi(&self, x: &[f64], y: &mut [f64]) {
        for (yi, xi) in y.iter_mut().zip(x) {
            *yi = xi.ln();
        }
    }
    fn grad_phi_star(&self, y: &[f64], x: &mut [f64]) {
        softmax_into(y, x);
    }
    fn hessian_sqrt_apply(&self, x: &[f64], xi: &[f64], out: &mut [f64]) {
        for ((o, x), z) in out.iter_mut().zip(x).zip(xi) {
            *o = z / x.sqrt();
        }
    }
}

/// softmax(y) with the max subtracted, dual differences floored at −[`DUAL_FLOOR`]
/// (so every coordinate stays > 0) and a compensated normalisation (Σ = 1 to ~1e−16).
/// Non-finite differences (overflowed duals) are floored too, never NaN.
pub fn softmax_into(y: &[f64], x: &mut [f64]) {
    let max = y.iter().copied().filter(|v| !v.is_nan()).fold(f64::NEG_INFINITY, f64::max);
    let mut total = crate::compensated::NeumaierSum::new();
    for (xi, yi) in x.iter_mut().zip(y) {
        let diff = yi - max;
        // `!(diff >= −floor)` also catches NaN and −∞.
        let diff = if diff >= -DUAL_FLOOR { diff } else { -DUAL_FLOOR };
        *xi = diff.exp();
        total.add(*xi);
    }
    let total = total.value();
    x.iter_mut().for_each(|xi| *xi /= total);
}

/// Log-barrier on a box Π [l_i, u_i] (u_i may be +∞, the orthant):
/// φ(x) = −Σ_i [ln(x_i − l_i) + ln(u_i − x_i)], the second term absent when u_i = ∞.
///
/// ∇φ(x)_i = −1/(x_i − l_i) + 1/(u_i − x_i); [∇²φ]^{1/2}_ii = (1/(x−l)² + 1/(u−x)²)^{1/2}.
/// ∇φ* solves −1/a + 1/(w − a) = y for the offset a = x − l ∈ (0, w), w = u − l:
/// a = 2w / (√(4 + y²w²) + 2 − yw), and, for y > 0, the offset from the top
/// b = u − x = 2w / (√(4 + y²w²) + 2 + yw) — each form free of cancellation on its side.
/// Orthant (w = ∞): x = l − 1/y for y < 0; the dual domain is (−∞, 0), and a y ≥ 0
/// (possible after a large noise draw) is clamped to −1e−300 (a point far out, not a NaN).
#[derive(Debug, Clone, PartialEq)]
pub struct LogBarrier {
    bounds: BoxBounds,
}

impl LogBarrier {
    /// Log-barrier for the given box.
    pub fn new(bounds: BoxBounds) -> Self {
        Self { bounds }
    }
}

impl MirrorMap for LogBarrier {
    fn domain(&self) -> Domain {
        Domain::Box(self.bounds.clone())
    }
    fn grad_phi(&self, x: &[f64], y: &mut [f64]) {
        let (l, u) = (self.bounds.lower(), self.bounds.upper());
        for i in 0..x.len() {
            let up = if u[i].is_finite() { 1.0 / (u[i] - x[i]) } else { 0.0 };
            y[i] = -1.0 / (x[i] - l[i]) + up;
        }
    }
    fn grad_phi_star(&self, y: &[f64], x: &mut [f64]) {
        let (l, u) = (self.bounds.lower(), self.bounds.upper());
        for i in 0..y.len() {
            let (lo, hi, yi) = (l[i], u[i], y[i]);
            let v = if hi.is_finite() {
                let w = hi - lo;
                let s = (4.0 + (yi * w) * (yi * w)).sqrt();
                if !s.is_finite() {
                    // |y w| overflowed: the point sits at ~1/|y| from the near face.
                    if yi > 0.0 { hi - 1.0 / yi } else { lo - 1.0 / yi }
                } else if yi <= 0.0 {
                    lo + 2.0 * w / (s + 2.0 - yi * w)
                } else {
                    hi - 2.0 * w / (s + 2.0 + yi * w)
                }
            } else {
                lo - 1.0 / yi.min(-1e-300)
            };
            // Keep the iterate strictly inside even when the offset is below one ulp.
            x[i] = v.clamp(lo.next_up(), hi.next_down());
        }
    }
    fn hessian_sqrt_apply(&self, x: &[f64], xi: &[f64], out: &mut [f64]) {
        let (l, u) = (self.bounds.lower(), self.bounds.upper());
        for i in 0..x.len() {
            let a = 1.0 / (x[i] - l[i]);
            let b = if u[i].is_finite() { 1.0 / (u[i] - x[i]) } else { 0.0 };
            out[i] = a.hypot(b) * xi[i];
        }
    }
}

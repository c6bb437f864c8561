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
use crate::error::{MeasuresError, Result};

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
    /// ln x, vectorised ([`simd::ln`](crate::simd::ln), within 1 ulp of the C library).
    fn grad_phi(&self, x: &[f64], y: &mut [f64]) {
        crate::simd::ln_into(x, y);
    }
    fn grad_phi_star(&self, y: &[f64], x: &mut [f64]) {
        softmax_into(y, x);
    }
    fn hessian_sqrt_apply(&self, x: &[f64], xi: &[f64], out: &mut [f64]) {
        // Division and square root are correctly rounded in every lane width.
        crate::simd::vectorised(
            #[inline(always)]
            || {
                for ((o, x), z) in out.iter_mut().zip(x).zip(xi) {
                    *o = z / x.sqrt();
                }
            },
        );
    }
}

/// softmax(y) with the max subtracted, dual differences floored at −[`DUAL_FLOOR`]
/// (so every coordinate stays > 0) and a compensated normalisation (Σ = 1 to ~1e−16).
/// Non-finite differences are never NaN: coordinates equal to the max (including
/// +∞ duals, where ∞ − ∞ would be NaN) get difference 0 and share the mass; NaN and −∞
/// duals are floored.
pub fn softmax_into(y: &[f64], x: &mut [f64]) {
    let max = y
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .fold(f64::NEG_INFINITY, f64::max);
    // The exponentials in SIMD lanes ([`simd::exp`](crate::simd::exp), within 1 ulp of the
    // C library), then the compensated sum in order.
    crate::simd::vectorised(
        #[inline(always)]
        || {
            for (xi, yi) in x.iter_mut().zip(y) {
                let diff = if *yi == max { 0.0 } else { yi - max };
                // `!(diff >= −floor)` also catches NaN and −∞.
                let diff = if diff >= -DUAL_FLOOR {
                    diff
                } else {
                    -DUAL_FLOOR
                };
                *xi = crate::simd::exp(diff);
            }
        },
    );
    let mut total = crate::compensated::NeumaierSum::new();
    for xi in x.iter() {
        total.add(*xi);
    }
    let total = total.value();
    x.iter_mut().for_each(|xi| *xi /= total);
}

/// Log-barrier on a box Π [l_i, u_i], each coordinate with at least one finite face
/// (u_i = +∞: the orthant side (l_i, ∞); l_i = −∞: (−∞, u_i)):
/// φ(x) = −Σ_i [ln(x_i − l_i) + ln(u_i − x_i)], a term absent when its bound is infinite.
///
/// ∇φ(x)_i = −1/(x_i − l_i) + 1/(u_i − x_i); [∇²φ]^{1/2}_ii = (1/(x−l)² + 1/(u−x)²)^{1/2}.
/// ∇φ* solves −1/a + 1/(w − a) = y for the offset a = x − l ∈ (0, w), w = u − l:
/// a = 2w / (√(4 + y²w²) + 2 − yw), and, for y > 0, the offset from the top
/// b = u − x = 2w / (√(4 + y²w²) + 2 + yw) — each form free of cancellation on its side
/// (evaluated in the half-width w/2 so that huge boxes do not overflow).
/// Orthant (w = ∞): x = l − 1/y for y < 0; the dual domain is (−∞, 0), and a y ≥ 0
/// (possible after a large noise draw) is clamped to −1e−300 (a point far out, not a NaN);
/// its mirror image (l = −∞): x = u − 1/y for y > 0, a y ≤ 0 clamped to 1e−300.
/// A coordinate with both bounds infinite has ∇φ_i ≡ 0, which no ∇φ* inverts:
/// [`LogBarrier::new`] refuses it. A NaN dual is read as −∞ (the lower face). The image
/// is kept at least one ulp and at least `f64::MIN_POSITIVE` inside every finite face, so ∇φ and [∇²φ]^{1/2} are finite
/// at every point ∇φ* returns (for boxes wider than 2·MIN_POSITIVE ≈ 4.5e−308; a
/// narrower one still gets interior iterates).
#[derive(Debug, Clone, PartialEq)]
pub struct LogBarrier {
    bounds: BoxBounds,
    /// The interval ∇φ* clamps into per coordinate, [max(l⁺, l + MIN_POSITIVE),
    /// min(u⁻, u − MIN_POSITIVE)] (x⁺, x⁻: the next double up, down), or [l⁺, u⁻] for a
    /// box narrower than 2·MIN_POSITIVE; a function of the bounds, computed once.
    inner_lower: Vec<f64>,
    inner_upper: Vec<f64>,
}

impl LogBarrier {
    /// Log-barrier for the given box; `InvalidDomain` naming the coordinate when one has
    /// both bounds infinite (φ would be flat along it).
    pub fn new(bounds: BoxBounds) -> Result<Self> {
        if let Some(i) = (bounds.lower().iter().zip(bounds.upper()))
            .position(|(l, u)| l.is_infinite() && u.is_infinite())
        {
            return Err(MeasuresError::InvalidDomain {
                reason: format!(
                    "log-barrier coordinate {i}: both bounds are infinite, so the barrier is \
                     flat along it and its mirror map has no inverse"
                ),
            });
        }
        let (inner_lower, inner_upper) = bounds
            .lower()
            .iter()
            .zip(bounds.upper())
            .map(|(&lo, &hi)| {
                // Strictly inside even when the offset is below one ulp, and at least
                // MIN_POSITIVE from each finite face so that ∇φ and [∇²φ]^{1/2} stay finite
                // there (1/5e−324 = ∞ would turn the next dual into ∞ − ∞). max/min, not
                // clamp: a box one ulp wide has no float inside and must not panic.
                let inner_lo = lo.next_up().max(lo + f64::MIN_POSITIVE);
                let inner_hi = hi.next_down().min(hi - f64::MIN_POSITIVE);
                if inner_lo > inner_hi {
                    // A box narrower than 2·MIN_POSITIVE: ∇φ cannot be finite anywhere in
                    // it, but the iterate can still stay strictly inside.
                    (lo.next_up(), hi.next_down())
                } else {
                    (inner_lo, inner_hi)
                }
            })
            .unzip();
        Ok(Self {
            bounds,
            inner_lower,
            inner_upper,
        })
    }
}

/// One coordinate of the log-barrier's ∇φ* before the clamp into the box's interior
/// ([`LogBarrier`]'s docs), branch-free so that a loop over coordinates vectorises: every
/// case is computed and the right one selected, each with the operations (and so the
/// bits) of its own formula.
#[inline(always)]
fn log_barrier_inverse(y: f64, lo: f64, hi: f64) -> f64 {
    // A NaN dual (∞ − ∞ in the caller's update) is read as −∞, as `softmax_into` floors it.
    let y = if y.is_nan() { f64::NEG_INFINITY } else { y };
    // In the half-width h = w/2 and t = y h (finite even where w = u − l or y w
    // overflows): x = l + h / ((√(1 + t²) + 1 − t)/2) for y ≤ 0, u − h / ((√(1 + t²) + 1 + t)/2)
    // for y > 0, with √(1 + t²) rounded to |t| for |t| ≥ 1e150 (t² would overflow).
    let h = 0.5 * hi - 0.5 * lo;
    let t = y * h;
    let r = if t.abs() < 1e150 {
        (1.0 + t * t).sqrt()
    } else {
        t.abs()
    };
    let below = lo + h / (0.5 * r + 0.5 - 0.5 * t);
    let above = hi - h / (0.5 * r + 0.5 + 0.5 * t);
    let finite_t = if y <= 0.0 { below } else { above };
    // |y h| overflowed: the point sits at ~1/|y| from the near face.
    let overflowed = (if y > 0.0 { hi } else { lo }) - 1.0 / y;
    let bounded = if t.is_finite() { finite_t } else { overflowed };
    // (l, ∞): ∇φ(x) = −1/(x − l), a dual ≥ 0 clamped to −1e−300.
    let half_open = lo - 1.0 / y.min(-1e-300);
    // (−∞, u): ∇φ(x) = 1/(u − x), a dual ≤ 0 clamped to 1e−300.
    let half_open_below = hi - 1.0 / y.max(1e-300);
    if !hi.is_finite() {
        half_open
    } else if !lo.is_finite() {
        half_open_below
    } else {
        bounded
    }
}

impl MirrorMap for LogBarrier {
    fn domain(&self) -> Domain {
        Domain::Box(self.bounds.clone())
    }
    fn grad_phi(&self, x: &[f64], y: &mut [f64]) {
        let (l, u) = (self.bounds.lower(), self.bounds.upper());
        for i in 0..x.len() {
            let up = if u[i].is_finite() {
                inv_gap(u[i], x[i])
            } else {
                0.0
            };
            // inv_gap(x, −∞) = 0: an infinite lower face contributes nothing.
            y[i] = -inv_gap(x[i], l[i]) + up;
        }
    }
    fn grad_phi_star(&self, y: &[f64], x: &mut [f64]) {
        let (l, u) = (self.bounds.lower(), self.bounds.upper());
        let (a, b) = (&self.inner_lower, &self.inner_upper);
        crate::simd::vectorised(
            #[inline(always)]
            || {
                let bounds = l.iter().zip(u).zip(a.iter().zip(b));
                for ((x, &y), ((&lo, &hi), (&a, &b))) in x.iter_mut().zip(y).zip(bounds) {
                    *x = log_barrier_inverse(y, lo, hi).max(a).min(b);
                }
            },
        )
    }
    fn hessian_sqrt_apply(&self, x: &[f64], xi: &[f64], out: &mut [f64]) {
        let (l, u) = (self.bounds.lower(), self.bounds.upper());
        for i in 0..x.len() {
            let a = inv_gap(x[i], l[i]);
            let b = if u[i].is_finite() {
                inv_gap(u[i], x[i])
            } else {
                0.0
            };
            out[i] = a.hypot(b) * xi[i];
        }
    }
}

/// 1/(p − q) for p > q, also when p − q overflows (a box wider than f64::MAX), where the
/// naive form returns 0 instead of a (subnormal) value that still matters next to the
/// other face's term.
#[inline]
fn inv_gap(p: f64, q: f64) -> f64 {
    let g = p - q;
    if g.is_finite() {
        1.0 / g
    } else {
        0.5 / (0.5 * p - 0.5 * q)
    }
}

//! Objective functions f: R^d → R for derivative-free optimisers such as consensus-based
//! optimisation (CBO), and the standard test functions of the CBO literature.
//!
//! An [`Objective`] is evaluated on a whole ensemble at once ([`Objective::values`]:
//! row-major N × d in, N values out), so an objective with shared set-up cost (a data set,
//! a simulator) pays it once per step, not once per particle. Implementing only
//! [`Objective::value`] (one point) is enough: the batched method loops over rows.
//!
//! The test functions ([`TestFunction`]) follow CBXpy 1.0.4's definitions so that
//! benchmark numbers are comparable; each takes an optional shift s of the minimiser,
//! f_s(x) = f(x − s), so that x* = s ≠ 0 (a minimiser at the origin favours methods that
//! shrink towards 0):
//!
//! | function | f(y), y = x − s | minimiser | f(x*) |
//! |---|---|---|---|
//! | Rastrigin | 10 d + Σ (y_i² − 10 cos 2π y_i) (not divided by d, as CBXpy) | s | 0 |
//! | Ackley | −a exp(−b √(Σ y_i²/d)) − exp(Σ cos(c y_i)/d) + a + e, (a, b, c) = (20, 0.2, 2π) | s | 0 |
//! | Rosenbrock | Σ_{i<d} 100 (y_{i+1} − y_i²)² + (1 − y_i)² | s + 1 | 0 |
//! | Griewank | 1 + Σ y_i²/4000 − Π cos(y_i/√i) | s | 0 |
//! | Schwefel | 418.9828872724339 d − Σ y_i sin √|y_i| | s + 420.9687463…·1 | ≈ 0 (2.5e-5 d) |

use serde::{Deserialize, Serialize};

use crate::error::{EnergyError, Result};
use crate::fingerprint::Fingerprint;

/// A function f: R^d → R to minimise, evaluated one point or a whole ensemble at a time.
///
/// Values may be +∞ (a point that must never win); NaN is a bug in the objective and is
/// reported by the optimisers as an error naming the particle.
pub trait Objective: Sync {
    /// The dimension d.
    fn dim(&self) -> usize;

    /// f(x) for one point x (length d).
    fn value(&self, x: &[f64]) -> f64;

    /// f at every row of the row-major N × d buffer `xs`, written into `out` (length N).
    /// Override when a batched evaluation is cheaper than N single ones.
    fn values(&self, xs: &[f64], out: &mut [f64]) {
        let d = self.dim();
        for (o, x) in out.iter_mut().zip(xs.chunks_exact(d)) {
            *o = self.value(x);
        }
    }

    /// f at every row of `runs` stacked row-major blocks (`xs` is runs × B × d, `out`
    /// runs × B): one call for the points of M runs advanced in lockstep. The default is
    /// [`Objective::values`] on all rows at once (the rows are independent); an objective
    /// whose batched call has a per-call cost (a Python callable) overrides it to receive
    /// the (M, B, d) stack.
    fn values_stacked(&self, xs: &[f64], runs: usize, out: &mut [f64]) {
        let _ = runs;
        self.values(xs, out)
    }

    /// The global minimiser x*, when known (used to score success).
    fn minimiser(&self) -> Option<Vec<f64>> {
        None
    }

    /// Identifies f and every parameter that changes its values (put into checkpoint
    /// fingerprints). The default is the type name: override it when f has parameters.
    fn fingerprint(&self) -> String {
        std::any::type_name::<Self>().to_string()
    }
}

impl<O: Objective + ?Sized> Objective for &O {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        (**self).value(x)
    }
    fn fingerprint(&self) -> String {
        (**self).fingerprint()
    }
    fn values(&self, xs: &[f64], out: &mut [f64]) {
        (**self).values(xs, out)
    }
    fn values_stacked(&self, xs: &[f64], runs: usize, out: &mut [f64]) {
        (**self).values_stacked(xs, runs, out)
    }
    fn minimiser(&self) -> Option<Vec<f64>> {
        (**self).minimiser()
    }
}

/// Which test function ([module docs](self) give the formulas).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TestKind {
    /// Rastrigin, A = 10, unnormalised (CBXpy's `Rastrigin`).
    Rastrigin,
    /// Ackley with a = 20, b = 0.2, c = 2π (CBXpy's `Ackley`).
    Ackley,
    /// Rosenbrock (a = 1, b = 100), summed over consecutive coordinate pairs.
    Rosenbrock,
    /// Griewank.
    Griewank,
    /// Schwefel 2.26.
    Schwefel,
}

impl TestKind {
    /// Lower-case name (as in configs).
    pub fn name(&self) -> &'static str {
        match self {
            TestKind::Rastrigin => "rastrigin",
            TestKind::Ackley => "ackley",
            TestKind::Rosenbrock => "rosenbrock",
            TestKind::Griewank => "griewank",
            TestKind::Schwefel => "schwefel",
        }
    }

    /// Coordinate of the unshifted minimiser (the same in every coordinate).
    pub fn minimiser_coordinate(&self) -> f64 {
        match self {
            TestKind::Rosenbrock => 1.0,
            TestKind::Schwefel => SCHWEFEL_ARGMIN,
            _ => 0.0,
        }
    }
}

/// Schwefel's per-coordinate minimiser 420.9687… (root of sin √y + √y cos √y / 2 = 0).
pub const SCHWEFEL_ARGMIN: f64 = 420.968_746_359_982;
/// Schwefel's constant 418.9828872724339 per coordinate.
const SCHWEFEL_CONST: f64 = 418.982_887_272_433_9;

/// A standard test function of dimension d with an optional shift of its minimiser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestFunction {
    kind: TestKind,
    d: usize,
    /// Shift s (length d; all zeros when unshifted).
    shift: Vec<f64>,
}

impl TestFunction {
    /// The unshifted function `kind` on R^d (d ≥ 1; Rosenbrock needs d ≥ 2).
    pub fn new(kind: TestKind, d: usize) -> Result<Self> {
        let min_d = if kind == TestKind::Rosenbrock { 2 } else { 1 };
        if d < min_d {
            return Err(EnergyError::InvalidParameter {
                name: "dimension",
                value: d as f64,
                reason: if min_d == 2 {
                    "Rosenbrock needs d ≥ 2"
                } else {
                    "must be ≥ 1"
                },
            });
        }
        Ok(Self {
            kind,
            d,
            shift: vec![0.0; d],
        })
    }

    /// Rastrigin on R^d.
    pub fn rastrigin(d: usize) -> Result<Self> {
        Self::new(TestKind::Rastrigin, d)
    }

    /// Ackley on R^d.
    pub fn ackley(d: usize) -> Result<Self> {
        Self::new(TestKind::Ackley, d)
    }

    /// Rosenbrock on R^d.
    pub fn rosenbrock(d: usize) -> Result<Self> {
        Self::new(TestKind::Rosenbrock, d)
    }

    /// Griewank on R^d.
    pub fn griewank(d: usize) -> Result<Self> {
        Self::new(TestKind::Griewank, d)
    }

    /// Schwefel on R^d.
    pub fn schwefel(d: usize) -> Result<Self> {
        Self::new(TestKind::Schwefel, d)
    }

    /// The same function with its minimiser moved by `shift`: f_s(x) = f(x − s).
    pub fn shifted(mut self, shift: Vec<f64>) -> Result<Self> {
        if shift.len() != self.d {
            return Err(EnergyError::DimensionMismatch {
                what: "shift",
                expected: self.d,
                got: shift.len(),
            });
        }
        if let Some(v) = shift.iter().find(|v| !v.is_finite()) {
            return Err(EnergyError::InvalidParameter {
                name: "shift",
                value: *v,
                reason: "must be finite",
            });
        }
        self.shift = shift;
        Ok(self)
    }

    /// Which function.
    pub fn kind(&self) -> TestKind {
        self.kind
    }

    /// The shift s.
    pub fn shift(&self) -> &[f64] {
        &self.shift
    }
}

/// cos(2π t) for any finite t, to about one ulp, without a libm call.
///
/// The argument is reduced exactly: r = t − round(t) ∈ [−½, ½] (exact in floating point;
/// the rounding uses the 1.5·2^52 trick, branch-free for |t| < 2^51, and every larger
/// finite f64 is an integer, so r = 0 there). By symmetry cos 2πr = cos 2π|r| and
/// cos 2πs = −cos 2π(½ − s) (½ − s is exact for s ∈ [¼, ½], Sterbenz), leaving
/// x = 2πu ∈ [0, π/2], where the Taylor series of cos to x^20 has truncation error
/// x^22/22! < 2e-17. Rastrigin and Ackley spend most of their time here; glibc's `cos`
/// costs several times more per call and blocks vectorisation.
#[inline(always)]
pub fn cos_2pi(t: f64) -> f64 {
    const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52
    let r = if t.abs() < 2_251_799_813_685_248.0 {
        t - ((t + ROUND) - ROUND)
    } else {
        // |t| ≥ 2^51 is an integer: r = 0; non-finite t gives NaN (∞ · 0).
        t * 0.0
    };
    let s = r.abs();
    let flip = s > 0.25;
    let u = if flip { 0.5 - s } else { s };
    let x = std::f64::consts::TAU * u;
    let z = x * x;
    // Horner in z = x² with the coefficients (−1)^k/(2k)!, k = 0..10.
    const C: [f64; 11] = [
        1.0,
        -0.5,
        0.041_666_666_666_666_664,
        -0.001_388_888_888_888_889,
        2.480_158_730_158_73e-5,
        -2.755_731_922_398_589e-7,
        2.087_675_698_786_81e-9,
        -1.147_074_559_772_972_5e-11,
        4.779_477_332_387_385e-14,
        -1.561_920_696_858_622_6e-16,
        4.110_317_623_312_165e-19,
    ];
    let mut c = C[10];
    for k in (0..10).rev() {
        c = c * z + C[k];
    }
    if flip { -c } else { c }
}

/// Σ_i term(x_i − s_i), the terms computed eight at a time into a stack buffer (which
/// lets the compiler vectorise a branch-free `term`) and summed in index order. Always
/// inlined, so that under [`Objective::values`]' dispatch it is compiled for AVX2.
#[inline(always)]
fn sum_shifted(x: &[f64], s: &[f64], term: impl Fn(f64) -> f64) -> f64 {
    const L: usize = 8;
    let (mut xc, mut sc) = (x.chunks_exact(L), s.chunks_exact(L));
    let mut acc = 0.0;
    for (xa, sa) in (&mut xc).zip(&mut sc) {
        let mut t = [0.0; L];
        for k in 0..L {
            t[k] = term(xa[k] - sa[k]);
        }
        for v in t {
            acc += v;
        }
    }
    for (x, s) in xc.remainder().iter().zip(sc.remainder()) {
        acc += term(x - s);
    }
    acc
}

impl Objective for TestFunction {
    fn dim(&self) -> usize {
        self.d
    }

    /// `test-function(kind="…",d=…,shift=…)`.
    fn fingerprint(&self) -> String {
        Fingerprint::new("test-function")
            .param("kind", self.kind.name())
            .param("d", self.d)
            .values("shift", &self.shift)
            .finish()
    }

    fn value(&self, x: &[f64]) -> f64 {
        self.value_at(x)
    }

    /// Rastrigin and Ackley by blocks of rows: the per-coordinate terms of a whole block in
    /// one element-wise pass compiled for the CPU's widest instruction set
    /// (`meanfield_measures::simd::vectorised`; no per-row remainder loop), then each row's
    /// sum in index order. Nothing is contracted into a fused multiply-add and the sums
    /// keep [`Objective::value`]'s order, so the values are its bits
    /// (`batched_values_equal_single_values`). The other functions loop over rows.
    fn values(&self, xs: &[f64], out: &mut [f64]) {
        let d = self.d;
        if !matches!(self.kind, TestKind::Rastrigin | TestKind::Ackley) {
            for (o, x) in out.iter_mut().zip(xs.chunks_exact(d)) {
                *o = self.value_at(x);
            }
            return;
        }
        // Rows per block: the three block buffers stay within ~200 KB, and no larger than
        // the call's rows (the tiled shift is rebuilt each call).
        let rows = (8192 / d).clamp(1, 64).min(xs.len() / d).max(1);
        TERMS.with_borrow_mut(|buf| {
            buf.resize(3 * rows * d, 0.0);
            let (tile, rest) = buf.split_at_mut(rows * d);
            let (ta, tb) = rest.split_at_mut(rows * d);
            for row in tile.chunks_exact_mut(d) {
                row.copy_from_slice(&self.shift);
            }
            let dd = d as f64;
            meanfield_measures::simd::vectorised(
                #[inline(always)]
                || {
                    for (xb, ob) in xs.chunks(rows * d).zip(out.chunks_mut(rows)) {
                        let m = xb.len();
                        let (ta, tb) = (&mut ta[..m], &mut tb[..m]);
                        let ys = xb.iter().zip(&tile[..m]).map(|(x, s)| x - s);
                        if self.kind == TestKind::Rastrigin {
                            for (t, y) in ta.iter_mut().zip(ys) {
                                *t = y * y - 10.0 * cos_2pi(y);
                            }
                            for (o, t) in ob.iter_mut().zip(ta.chunks_exact(d)) {
                                *o = 10.0 * dd + sum_in_order(t);
                            }
                        } else {
                            for ((a, b), y) in ta.iter_mut().zip(tb.iter_mut()).zip(ys) {
                                *a = y * y;
                                *b = cos_2pi(y);
                            }
                            let sums = ta.chunks_exact(d).zip(tb.chunks_exact(d));
                            for (o, (a, b)) in ob.iter_mut().zip(sums) {
                                *o = ackley(sum_in_order(a), sum_in_order(b), dd);
                            }
                        }
                    }
                },
            )
        })
    }

    fn minimiser(&self) -> Option<Vec<f64>> {
        let c = self.kind.minimiser_coordinate();
        Some(self.shift.iter().map(|s| s + c).collect())
    }
}

thread_local! {
    /// [`TestFunction::values`]' block buffers (the tiled shift and two term arrays), one
    /// per thread so that evaluations on the rayon pool do not share them.
    static TERMS: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Σ t_i in index order (the order of [`sum_shifted`]).
#[inline(always)]
fn sum_in_order(t: &[f64]) -> f64 {
    let mut acc = 0.0;
    for &v in t {
        acc += v;
    }
    acc
}

/// Ackley from S = Σ y_i² and C = Σ cos 2π y_i: −20 e^{−0.2 √(S/d)} − e^{C/d} + 20 + e.
#[inline(always)]
fn ackley(sq: f64, cs: f64, d: f64) -> f64 {
    -20.0 * (-0.2 * (sq / d).sqrt()).exp() - (cs / d).exp() + 20.0 + std::f64::consts::E
}

impl TestFunction {
    /// f(x) (the formulas of the [module docs](self)).
    #[inline(always)]
    fn value_at(&self, x: &[f64]) -> f64 {
        let d = self.d as f64;
        let y = x.iter().zip(&self.shift).map(|(x, s)| x - s);
        match self.kind {
            TestKind::Rastrigin => {
                // CBXpy: 10 d + Σ ((x − b)² − 10 cos(2π (x − b))).
                10.0 * d + sum_shifted(x, &self.shift, |y| y * y - 10.0 * cos_2pi(y))
            }
            TestKind::Ackley => {
                let sq = sum_shifted(x, &self.shift, |y| y * y);
                let cs = sum_shifted(x, &self.shift, cos_2pi);
                ackley(sq, cs, d)
            }
            TestKind::Rosenbrock => {
                let s = &self.shift;
                (0..self.d - 1)
                    .map(|i| {
                        let (a, b) = (x[i] - s[i], x[i + 1] - s[i + 1]);
                        100.0 * (b - a * a).powi(2) + (1.0 - a).powi(2)
                    })
                    .sum()
            }
            TestKind::Griewank => {
                let (mut sq, mut prod) = (0.0, 1.0);
                for (i, y) in y.enumerate() {
                    sq += y * y;
                    prod *= (y / ((i + 1) as f64).sqrt()).cos();
                }
                1.0 + sq / 4000.0 - prod
            }
            TestKind::Schwefel => {
                SCHWEFEL_CONST * d - y.map(|y| y * y.abs().sqrt().sin()).sum::<f64>()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minima_are_zero_and_shift_moves_them() {
        for kind in [
            TestKind::Rastrigin,
            TestKind::Ackley,
            TestKind::Rosenbrock,
            TestKind::Griewank,
        ] {
            let f = TestFunction::new(kind, 5).unwrap();
            let x = f.minimiser().unwrap();
            assert!(f.value(&x).abs() < 1e-12, "{kind:?}: {}", f.value(&x));
            let s = vec![0.5, -1.0, 2.0, 0.25, 1.5];
            let g = f.clone().shifted(s.clone()).unwrap();
            let xs = g.minimiser().unwrap();
            assert!(g.value(&xs).abs() < 1e-12);
            // Shift relation f_s(x) = f(x − s) at an arbitrary point.
            let p = [0.3, 0.1, -0.7, 1.1, 0.9];
            let q: Vec<f64> = p.iter().zip(&s).map(|(p, s)| p - s).collect();
            assert!((g.value(&p) - f.value(&q)).abs() < 1e-12);
        }
        let s = TestFunction::schwefel(3).unwrap();
        assert!(s.value(&s.minimiser().unwrap()).abs() < 1e-4);
    }

    #[test]
    fn rastrigin_matches_cbxpy_formula() {
        // CBXpy: A d + Σ (x² − A cos 2πx) at x = (0.5, 1.0): 20 + 0.25 + 10 + 1 − 10 = 21.25.
        let f = TestFunction::rastrigin(2).unwrap();
        assert!((f.value(&[0.5, 1.0]) - 21.25).abs() < 1e-12);
    }

    #[test]
    fn cos_2pi_matches_libm() {
        let mut worst: f64 = 0.0;
        for k in -200_000..=200_000 {
            let t = k as f64 * 1.234_567e-4 + 1e-3 * (k as f64).sin();
            worst = worst.max((cos_2pi(t) - (std::f64::consts::TAU * (t - t.round())).cos()).abs());
        }
        assert!(worst < 1e-15, "worst deviation {worst:e}");
        assert_eq!(cos_2pi(0.0), 1.0);
        assert_eq!(cos_2pi(0.5), -1.0);
        assert!(cos_2pi(0.25).abs() < 1e-16);
        assert_eq!(cos_2pi(3.0e20), 1.0);
        assert!(cos_2pi(f64::NAN).is_nan() && cos_2pi(f64::INFINITY).is_nan());
    }

    #[test]
    fn batched_values_equal_single_values() {
        let f = TestFunction::ackley(3).unwrap();
        let xs = [0.1, 0.2, 0.3, -1.0, 2.0, 0.5];
        let mut out = [0.0; 2];
        f.values(&xs, &mut out);
        assert_eq!(out[0], f.value(&xs[..3]));
        assert_eq!(out[1], f.value(&xs[3..]));
        // Bitwise, for every kind, with and without a shift, at dimensions that leave
        // remainders after the chunks of eight, against an evaluation outside the
        // vectorised dispatch.
        for kind in [
            TestKind::Rastrigin,
            TestKind::Ackley,
            TestKind::Rosenbrock,
            TestKind::Griewank,
            TestKind::Schwefel,
        ] {
            for d in [2, 7, 8, 20, 23] {
                let shift: Vec<f64> = (0..d).map(|i| 0.37 * i as f64 - 1.1).collect();
                for f in [
                    TestFunction::new(kind, d).unwrap(),
                    TestFunction::new(kind, d).unwrap().shifted(shift).unwrap(),
                ] {
                    let n = 13;
                    let xs: Vec<f64> = (0..n * d)
                        .map(|i| 7.3 * ((i * 7919 % 1013) as f64 / 1013.0 - 0.5))
                        .collect();
                    let mut out = vec![0.0; n];
                    f.values(&xs, &mut out);
                    for (o, x) in out.iter().zip(xs.chunks_exact(d)) {
                        assert_eq!(o.to_bits(), f.value(x).to_bits(), "{kind:?} d = {d}");
                    }
                }
            }
        }
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(TestFunction::rosenbrock(1).is_err());
        assert!(TestFunction::rastrigin(0).is_err());
        assert!(
            TestFunction::rastrigin(2)
                .unwrap()
                .shifted(vec![1.0])
                .is_err()
        );
        assert!(
            TestFunction::rastrigin(1)
                .unwrap()
                .shifted(vec![f64::NAN])
                .is_err()
        );
    }
}

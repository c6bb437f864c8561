//! Property tests of the mirror maps (`meanfield_measures::mirror`):
//!
//! - round trip ∇φ*(∇φ(x)) = x for interior points of the simplex (Entropic), of boxes
//!   and orthants (LogBarrier), and of R^d (Identity);
//! - mirror-Langevin iterates y = ∇φ(x) − η g + s [∇²φ(x)]^{1/2} ξ, x ← ∇φ*(y) never
//!   leave the open domain, whatever the (finite) drift and noise;
//! - [∇²φ]^{1/2} applied twice is ∇²φ.

mod common;

use common::{box_side, config, interior_fraction, log_uniform, signed_up_to, simplex_point, sum};
use meanfield_measures::{BoxBounds, Domain, Entropic, Identity, LogBarrier, MirrorMap};
use proptest::collection::vec;
use proptest::prelude::*;

/// One mirror-Langevin step's random inputs: step size η, noise scale s, drift g, ξ.
#[derive(Debug, Clone)]
struct Step {
    eta: f64,
    s: f64,
    g: Vec<f64>,
    xi: Vec<f64>,
}

/// η ∈ (0, 10], |g_i| ≤ 1e6, s ∈ {0} ∪ [1e-3, 100], |ξ_i| ≤ 10 (so |s ξ_i| ≤ 1e3).
fn step(d: usize) -> impl Strategy<Value = Step> {
    (
        prop_oneof![4 => log_uniform(-6.0, 1.0), 1 => Just(10.0)],
        prop_oneof![1 => Just(0.0), 4 => log_uniform(-3.0, 2.0)],
        vec(signed_up_to(1e6), d),
        vec(signed_up_to(10.0), d),
    )
        .prop_map(|(eta, s, g, xi)| Step { eta, s, g, xi })
}

/// The same with arbitrary finite η, s, g, ξ (any bit pattern but ±∞ and NaN).
fn wild_step(d: usize) -> impl Strategy<Value = Step> {
    let finite = || any::<f64>().prop_filter("finite", |v| v.is_finite());
    (finite(), finite(), vec(finite(), d), vec(finite(), d)).prop_map(|(eta, s, g, xi)| Step {
        eta,
        s,
        g,
        xi,
    })
}

/// x ← ∇φ*(∇φ(x) − η g + s [∇²φ(x)]^{1/2} ξ).
fn mirror_step(map: &dyn MirrorMap, x: &mut [f64], st: &Step) {
    let d = x.len();
    let (mut y, mut noise) = (vec![0.0; d], vec![0.0; d]);
    map.grad_phi(x, &mut y);
    map.hessian_sqrt_apply(x, &st.xi, &mut noise);
    for i in 0..d {
        y[i] = y[i] - st.eta * st.g[i] + st.s * noise[i];
    }
    map.grad_phi_star(&y, x);
}

fn round_trip(map: &dyn MirrorMap, x: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    let mut back = vec![f64::NAN; x.len()];
    map.grad_phi(x, &mut y);
    map.grad_phi_star(&y, &mut back);
    back
}

fn assert_open_simplex(x: &[f64]) -> Result<(), TestCaseError> {
    prop_assert!(
        x.iter().all(|v| v.is_finite() && *v > 0.0),
        "coordinate ≤ 0 or non-finite: {x:?}"
    );
    prop_assert!(
        (sum(x) - 1.0).abs() <= 1e-12,
        "Σx − 1 = {:e}: {x:?}",
        sum(x) - 1.0
    );
    Ok(())
}

fn assert_open_box(x: &[f64], lower: &[f64], upper: &[f64]) -> Result<(), TestCaseError> {
    for i in 0..x.len() {
        prop_assert!(
            x[i].is_finite() && lower[i] < x[i] && x[i] < upper[i],
            "coordinate {i} = {} not in the open interval ({}, {})",
            x[i],
            lower[i],
            upper[i]
        );
    }
    Ok(())
}

/// A box (lower ∈ [−5, 5], width ∈ [1e-2, 10]) with a point at least 1e-9·width from
/// every face.
fn box_and_point() -> impl Strategy<Value = (Vec<f64>, Vec<f64>, Vec<f64>)> {
    (1usize..=6)
        .prop_flat_map(|d| (vec(box_side(), d), vec(interior_fraction(), d)))
        .prop_map(|(sides, t)| {
            let lower: Vec<f64> = sides.iter().map(|s| s.0).collect();
            let upper: Vec<f64> = sides.iter().map(|s| s.0 + s.1).collect();
            let x = sides.iter().zip(&t).map(|((l, w), t)| l + t * w).collect();
            (lower, upper, x)
        })
}

/// An orthant-type box [l, ∞)^d (l = 0, or l ∈ [−5, 5]) with a point at offset
/// 10^[−9, 6] from the face.
fn orthant_and_point() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (1usize..=6).prop_flat_map(|d| {
        (
            prop_oneof![Just(vec![0.0; d]), vec(-5.0..=5.0, d)],
            vec(log_uniform(-9.0, 6.0), d),
        )
            .prop_map(|(lower, off)| {
                let x = lower.iter().zip(&off).map(|(l, o)| l + o).collect();
                (lower, x)
            })
    })
}

fn log_barrier(lower: &[f64], upper: &[f64]) -> LogBarrier {
    LogBarrier::new(BoxBounds::new(lower.to_vec(), upper.to_vec()).expect("valid box")).unwrap()
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn entropic_round_trip(x in (2usize..=10).prop_flat_map(simplex_point)) {
        let back = round_trip(&Entropic, &x);
        for (a, b) in x.iter().zip(&back) {
            prop_assert!((a - b).abs() <= 1e-12 * a.abs(), "{a} ↦ {b}");
        }
    }

    #[test]
    fn log_barrier_round_trip_box((lower, upper, x) in box_and_point()) {
        prop_assume!(lower.iter().zip(&upper).zip(&x).all(|((l, u), x)| l < x && x < u));
        let map = log_barrier(&lower, &upper);
        let back = round_trip(&map, &x);
        assert_open_box(&back, &lower, &upper)?;
        for i in 0..x.len() {
            // Relative to the coordinate scale: x − l itself carries an error of one ulp
            // of max(|x|, |l|), which no mirror map can undo.
            let scale = x[i].abs().max(lower[i].abs()).max(upper[i].abs());
            prop_assert!((x[i] - back[i]).abs() <= 1e-12 * scale, "{} ↦ {} in [{}, {}]", x[i], back[i], lower[i], upper[i]);
        }
    }

    #[test]
    fn log_barrier_round_trip_orthant((lower, x) in orthant_and_point()) {
        let upper = vec![f64::INFINITY; x.len()];
        let map = log_barrier(&lower, &upper);
        let back = round_trip(&map, &x);
        assert_open_box(&back, &lower, &upper)?;
        for i in 0..x.len() {
            let scale = x[i].abs().max(lower[i].abs());
            prop_assert!((x[i] - back[i]).abs() <= 1e-12 * scale, "{} ↦ {} above {}", x[i], back[i], lower[i]);
        }
    }

    #[test]
    fn identity_round_trip(x in vec(signed_up_to(1e300), 1..=10)) {
        prop_assert_eq!(round_trip(&Identity, &x), x);
    }

    #[test]
    fn entropic_steps_stay_in_open_simplex(
        (x0, steps) in (2usize..=10).prop_flat_map(|d| (simplex_point(d), vec(step(d), 1..=50)))
    ) {
        let mut x = x0;
        for st in &steps {
            mirror_step(&Entropic, &mut x, st);
            assert_open_simplex(&x)?;
        }
    }

    #[test]
    fn entropic_wild_steps_stay_in_open_simplex(
        (x0, steps) in (2usize..=10).prop_flat_map(|d| (simplex_point(d), vec(wild_step(d), 1..=20)))
    ) {
        let mut x = x0;
        for st in &steps {
            mirror_step(&Entropic, &mut x, st);
            assert_open_simplex(&x)?;
        }
    }

    #[test]
    fn log_barrier_steps_stay_in_open_box(
        ((lower, upper, x0), steps) in box_and_point().prop_flat_map(|b| {
            let d = b.2.len();
            (Just(b), vec(step(d), 1..=50))
        })
    ) {
        prop_assume!(lower.iter().zip(&upper).zip(&x0).all(|((l, u), x)| l < x && x < u));
        let map = log_barrier(&lower, &upper);
        let mut x = x0;
        for st in &steps {
            mirror_step(&map, &mut x, st);
            assert_open_box(&x, &lower, &upper)?;
        }
    }

    #[test]
    fn log_barrier_steps_stay_in_open_orthant(
        ((lower, x0), steps) in orthant_and_point().prop_flat_map(|o| {
            let d = o.1.len();
            (Just(o), vec(step(d), 1..=50))
        })
    ) {
        let upper = vec![f64::INFINITY; x0.len()];
        let map = log_barrier(&lower, &upper);
        let mut x = x0;
        for st in &steps {
            mirror_step(&map, &mut x, st);
            assert_open_box(&x, &lower, &upper)?;
        }
    }

    #[test]
    fn log_barrier_wild_steps_stay_in_open_box(
        ((lower, upper, x0), steps, orthant) in box_and_point().prop_flat_map(|b| {
            let d = b.2.len();
            (Just(b), vec(wild_step(d), 1..=20), any::<bool>())
        })
    ) {
        prop_assume!(lower.iter().zip(&upper).zip(&x0).all(|((l, u), x)| l < x && x < u));
        let upper = if orthant { vec![f64::INFINITY; upper.len()] } else { upper };
        let map = log_barrier(&lower, &upper);
        let mut x = x0;
        for st in &steps {
            mirror_step(&map, &mut x, st);
            assert_open_box(&x, &lower, &upper)?;
        }
    }

    #[test]
    fn entropic_hessian_sqrt_squared_is_hessian(
        (x, v) in (2usize..=10).prop_flat_map(|d| (simplex_point(d), vec(signed_up_to(1e3), d)))
    ) {
        let d = x.len();
        let (mut once, mut twice) = (vec![0.0; d], vec![0.0; d]);
        Entropic.hessian_sqrt_apply(&x, &v, &mut once);
        Entropic.hessian_sqrt_apply(&x, &once, &mut twice);
        for i in 0..d {
            let want = v[i] / x[i];
            prop_assert!((twice[i] - want).abs() <= 1e-12 * want.abs(), "{} vs {want}", twice[i]);
        }
    }

    #[test]
    fn log_barrier_hessian_sqrt_squared_is_hessian(
        ((lower, upper, x), v) in box_and_point().prop_flat_map(|b| {
            let d = b.2.len();
            (Just(b), vec(signed_up_to(1e3), d))
        })
    ) {
        prop_assume!(lower.iter().zip(&upper).zip(&x).all(|((l, u), x)| l < x && x < u));
        let map = log_barrier(&lower, &upper);
        let d = x.len();
        let (mut once, mut twice) = (vec![0.0; d], vec![0.0; d]);
        map.hessian_sqrt_apply(&x, &v, &mut once);
        map.hessian_sqrt_apply(&x, &once, &mut twice);
        for i in 0..d {
            let (a, b) = (x[i] - lower[i], upper[i] - x[i]);
            let want = v[i] * (1.0 / (a * a) + 1.0 / (b * b));
            prop_assert!((twice[i] - want).abs() <= 1e-12 * want.abs(), "{} vs {want}", twice[i]);
        }
    }
}

#[test]
fn domains_match_the_maps() {
    assert_eq!(Identity.domain(), Domain::Euclidean);
    assert_eq!(Entropic.domain(), Domain::Simplex);
    let b = BoxBounds::uniform(2, -1.0, 1.0).unwrap();
    assert_eq!(LogBarrier::new(b.clone()).unwrap().domain(), Domain::Box(b));
}

#[test]
fn entropic_infinite_dual_takes_the_mass() {
    // A +∞ dual coordinate (an overflowed drift towards vertex 0) must put (almost) all
    // the mass there, not floor it.
    let mut x = [0.0; 3];
    Entropic.grad_phi_star(&[f64::INFINITY, 0.0, -5.0], &mut x);
    assert!(x[0] > 1.0 - 1e-12, "{x:?}");
    assert!(x.iter().all(|v| *v > 0.0), "{x:?}");
    Entropic.grad_phi_star(&[f64::INFINITY, f64::INFINITY, 0.0], &mut x);
    assert!(
        (x[0] - 0.5).abs() < 1e-12 && (x[1] - 0.5).abs() < 1e-12 && x[2] > 0.0,
        "{x:?}"
    );
    // NaN and −∞ duals get the floor, never a NaN.
    Entropic.grad_phi_star(&[f64::NAN, f64::NEG_INFINITY, 1.0], &mut x);
    assert!(x[2] > 1.0 - 1e-12 && x[0] > 0.0 && x[1] > 0.0, "{x:?}");
}

#[test]
fn log_barrier_non_finite_duals_stay_inside() {
    for upper in [1.0, f64::INFINITY] {
        let (lower, upper) = (vec![0.0], vec![upper]);
        let map = log_barrier(&lower, &upper);
        for y in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            -f64::MAX,
            0.0,
            -0.0,
        ] {
            let mut x = [f64::NAN];
            map.grad_phi_star(&[y], &mut x);
            assert!(
                x[0] > 0.0 && x[0] < upper[0],
                "∇φ*({y}) = {} for upper {}",
                x[0],
                upper[0]
            );
            // ∇φ and the Hessian at that point are finite, so the next step is well
            // defined too.
            let (mut g, mut h) = ([0.0], [0.0]);
            map.grad_phi(&x, &mut g);
            map.hessian_sqrt_apply(&x, &[1.0], &mut h);
            assert!(
                g[0].is_finite() && h[0].is_finite(),
                "∇φ = {g:?}, H^½ = {h:?} at {x:?}"
            );
        }
    }
}

#[test]
fn log_barrier_orthant_survives_extreme_noise() {
    // Noise of 1e300 drives the iterate towards the face at 0 geometrically fast; the
    // offsets must never reach a point where 1/(x − l) overflows (∞ − ∞ = NaN next).
    let map = LogBarrier::new(BoxBounds::uniform(1, 0.0, f64::INFINITY).unwrap()).unwrap();
    let mut x = vec![1.0];
    for k in 0..200 {
        let sign = if k % 3 == 2 { 1.0 } else { -1.0 };
        let st = Step {
            eta: 1.0,
            s: 1e300,
            g: vec![0.0],
            xi: vec![sign],
        };
        mirror_step(&map, &mut x, &st);
        assert!(x[0].is_finite() && x[0] > 0.0, "step {k}: x = {}", x[0]);
    }
}

#[test]
fn log_barrier_huge_box() {
    // Width 2e308 overflows; the midpoint must still be the image of the dual origin.
    let map = log_barrier(&[-1e308], &[1e308]);
    let mut x = [f64::NAN];
    map.grad_phi_star(&[0.0], &mut x);
    assert_eq!(x[0], 0.0);
    for p in [-9e307, -1.0, 0.0, 1e-300, 1.0, 1e300, 9e307] {
        let back = round_trip(&map, &[p]);
        assert!((back[0] - p).abs() <= 1e-12 * 1e308, "{p} ↦ {}", back[0]);
    }
    // Half-open with a huge lower face.
    let map = log_barrier(&[-f64::MAX], &[f64::MAX]);
    map.grad_phi_star(&[0.0], &mut x);
    assert!(x[0].abs() <= 1e-300, "{}", x[0]);
}

#[test]
fn log_barrier_box_one_ulp_wide_does_not_panic() {
    // No float lies strictly inside [1, 1 + ulp]; ∇φ* must still return (a face), not
    // panic in `clamp`.
    let map = log_barrier(&[1.0], &[1.0f64.next_up()]);
    let mut x = [f64::NAN];
    map.grad_phi_star(&[0.0], &mut x);
    assert!(x[0] == 1.0 || x[0] == 1.0f64.next_up(), "{}", x[0]);
}

#[test]
fn log_barrier_box_narrower_than_min_positive_stays_inside() {
    // Found by the `mirror_step` fuzz target: a side ~8.7e-311 wide, where the
    // MIN_POSITIVE margin from each face would cross over and push x below l.
    let (lo, hi) = (7.291122019556398e-304, 7.291122888725873e-304);
    let map = log_barrier(&[lo], &[hi]);
    for y in [
        f64::NAN,
        f64::NEG_INFINITY,
        -1e300,
        -1.0,
        0.0,
        1.0,
        1e300,
        f64::INFINITY,
    ] {
        let mut x = [f64::NAN];
        map.grad_phi_star(&[y], &mut x);
        assert!(
            lo < x[0] && x[0] < hi,
            "∇φ*({y}) = {:e} ∉ ({lo:e}, {hi:e})",
            x[0]
        );
    }
}

/// The log-barrier's ∇φ* as it was written before it was made branch-free (one branch per
/// case): the vectorised form must give the same bits on every case, the overflowing and
/// the half-open ones included.
fn log_barrier_inverse_branchy(y: f64, lo: f64, hi: f64) -> f64 {
    let yi = if y.is_nan() { f64::NEG_INFINITY } else { y };
    let v = if hi.is_finite() {
        let h = 0.5 * hi - 0.5 * lo;
        let t = yi * h;
        if !t.is_finite() {
            if yi > 0.0 {
                hi - 1.0 / yi
            } else {
                lo - 1.0 / yi
            }
        } else {
            let r = if t.abs() < 1e150 {
                (1.0 + t * t).sqrt()
            } else {
                t.abs()
            };
            if yi <= 0.0 {
                lo + h / (0.5 * r + 0.5 - 0.5 * t)
            } else {
                hi - h / (0.5 * r + 0.5 + 0.5 * t)
            }
        }
    } else {
        lo - 1.0 / yi.min(-1e-300)
    };
    let mut inner_lo = lo.next_up().max(lo + f64::MIN_POSITIVE);
    let mut inner_hi = hi.next_down().min(hi - f64::MIN_POSITIVE);
    if inner_lo > inner_hi {
        (inner_lo, inner_hi) = (lo.next_up(), hi.next_down());
    }
    v.max(inner_lo).min(inner_hi)
}

/// `2 · count` duals from an xorshift stream: random bit patterns (every exponent, NaNs
/// and infinities included) alternating with moderate values in ±500.
fn random_duals(mut s: u64, count: usize) -> Vec<f64> {
    let mut ys = Vec::with_capacity(2 * count);
    for _ in 0..count {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ys.push(f64::from_bits(s));
        ys.push(((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1e3);
    }
    ys
}

#[test]
fn log_barrier_grad_phi_star_is_bitwise_the_branchy_form() {
    let specials = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        1e-300,
        -1e-300,
        1e150,
        -1e150,
        1e200,
        -1e200,
        f64::MAX,
        f64::MIN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        5e-324,
    ];
    let boxes: [(f64, f64); 6] = [
        (-1.0, 1.0),
        (0.0, 1e-300),
        (-f64::MAX, f64::MAX),
        (2.0, f64::INFINITY),
        (0.0, 5e-324),
        (-3.5, 1e6),
    ];
    let mut ys: Vec<f64> = specials.to_vec();
    ys.extend(random_duals(0x2545_f491_4f6c_dd1d, 4000));
    for (lo, hi) in boxes {
        let d = ys.len();
        let map = log_barrier(&vec![lo; d], &vec![hi; d]);
        let mut x = vec![0.0; d];
        map.grad_phi_star(&ys, &mut x);
        for (y, x) in ys.iter().zip(&x) {
            let want = log_barrier_inverse_branchy(*y, lo, hi);
            assert_eq!(
                x.to_bits(),
                want.to_bits(),
                "y = {y:e}, box [{lo:e}, {hi:e}]"
            );
        }
    }
}

/// (−∞, u] is the mirror image of [−u, ∞): φ(x) = −ln(u − x) is the orthant's barrier at
/// −x, so ∇φ(x) = −∇φ_orthant(−x), ∇φ*(y) = −∇φ*_orthant(−y) and the noise factor
/// [∇²φ(x)]^{1/2} = [∇²φ_orthant(−x)]^{1/2}, bit for bit (negation is exact).
#[test]
fn log_barrier_open_below_is_the_reflected_orthant() {
    let mut ys = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        1e-300,
        -1e-300,
        1e300,
        -1e300,
        f64::MAX,
    ];
    ys.extend([f64::MIN, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 5e-324]);
    ys.extend(random_duals(0x9e37_79b9_7f4a_7c15, 2000));
    for u in [0.0, 2.5, -7.0, 1e-300] {
        let d = ys.len();
        let below = log_barrier(&vec![f64::NEG_INFINITY; d], &vec![u; d]);
        let orthant = log_barrier(&vec![-u; d], &vec![f64::INFINITY; d]);
        let neg = |v: &[f64]| v.iter().map(|v| -v).collect::<Vec<_>>();
        let (mut x, mut x_ref) = (vec![0.0; d], vec![0.0; d]);
        below.grad_phi_star(&ys, &mut x);
        orthant.grad_phi_star(&neg(&ys), &mut x_ref);
        for ((y, x), r) in ys.iter().zip(&x).zip(&x_ref) {
            // NaN duals: the orthant reads −NaN as its lower face, the mirror as its upper.
            if y.is_nan() {
                assert!(*x < u && x.is_finite(), "∇φ*(NaN) = {x:e}");
                continue;
            }
            // Bit for bit, except the sign of an exact zero (u − 1/y = 0 where −u + 1/y = +0).
            let same = x.to_bits() == (-r).to_bits() || (*x == 0.0 && *r == 0.0);
            assert!(same, "y = {y:e}, u = {u:e}: {x:e} vs −{r:e}");
            assert!(*x < u, "∇φ*({y:e}) = {x:e} not below {u:e}");
        }
        let (mut g, mut g_ref) = (vec![0.0; d], vec![0.0; d]);
        below.grad_phi(&x, &mut g);
        orthant.grad_phi(&neg(&x), &mut g_ref);
        let (mut h, mut h_ref) = (vec![0.0; d], vec![0.0; d]);
        below.hessian_sqrt_apply(&x, &vec![1.0; d], &mut h);
        orthant.hessian_sqrt_apply(&neg(&x), &vec![1.0; d], &mut h_ref);
        for i in 0..d {
            assert_eq!(g[i].to_bits(), (-g_ref[i]).to_bits(), "x = {:e}", x[i]);
            assert_eq!(h[i].to_bits(), h_ref[i].to_bits(), "x = {:e}", x[i]);
        }
    }
}

#[test]
fn log_barrier_refuses_a_coordinate_without_a_finite_face() {
    let b = BoxBounds::new(
        vec![0.0, f64::NEG_INFINITY, -1.0],
        vec![1.0, f64::INFINITY, f64::INFINITY],
    )
    .unwrap();
    let err = LogBarrier::new(b).unwrap_err().to_string();
    assert!(
        err.contains("coordinate 1") && err.contains("both bounds are infinite"),
        "{err}"
    );
    // One infinite side per coordinate, either side, is a barrier.
    let b = BoxBounds::new(vec![0.0, f64::NEG_INFINITY], vec![f64::INFINITY, 3.0]).unwrap();
    assert!(LogBarrier::new(b).is_ok());
}

//! Mirror-Langevin steps y = ∇φ(x) − η g + s [∇²φ(x)]^{1/2} ξ, x ← ∇φ*(y) with arbitrary
//! finite η, s, g, ξ: the entropic map keeps x in the open simplex (x > 0, |Σx − 1| ≤
//! 1e-12), the log-barrier keeps x in the open box / orthant; ∇φ and [∇²φ]^{1/2} stay
//! finite at every iterate (sides wider than 4·MIN_POSITIVE), so no step can turn into
//! ∞ − ∞ by itself.
//!
//! Layout: byte 0 = map (entropic / box / orthant), byte 1 = dimension, then (box) the
//! lower bounds and widths, then d dual coordinates for the starting point ∇φ*(y0),
//! then steps of (η, s, g[d], ξ[d]) until the input runs out.

use crate::{Input, sum};
use meanfield::measures::{BoxBounds, Entropic, LogBarrier, MirrorMap};

fn check(map: &dyn MirrorMap, x: &[f64], lower: &[f64], upper: &[f64], entropic: bool) {
    if entropic {
        assert!(
            x.iter().all(|v| v.is_finite() && *v > 0.0),
            "left the open simplex: {x:?}"
        );
        assert!(
            (sum(x) - 1.0).abs() <= 1e-12,
            "Σx − 1 = {:e}: {x:?}",
            sum(x) - 1.0
        );
    } else {
        for i in 0..x.len() {
            assert!(
                x[i].is_finite() && lower[i] < x[i] && x[i] < upper[i],
                "coordinate {i} = {:e} left the open box ({:e}, {:e})",
                x[i],
                lower[i],
                upper[i]
            );
        }
    }
    // ∇φ is finite somewhere only in sides wider than ~1/f64::MAX; ∇φ* promises finite
    // ∇φ for sides wider than 2·MIN_POSITIVE.
    if lower
        .iter()
        .zip(upper)
        .any(|(l, u)| u - l < 4.0 * f64::MIN_POSITIVE)
    {
        return;
    }
    let d = x.len();
    let (mut y, mut h) = (vec![0.0; d], vec![0.0; d]);
    map.grad_phi(x, &mut y);
    map.hessian_sqrt_apply(x, &vec![1.0; d], &mut h);
    assert!(
        y.iter().chain(&h).all(|v| v.is_finite()),
        "∇φ = {y:?}, H^½·1 = {h:?} at {x:?}"
    );
}

fn run(input: &mut Input<'_>) -> Option<()> {
    let mode = input.byte()? % 3;
    let entropic = mode == 0;
    let d = usize::from(input.byte()? % 8) + if entropic { 2 } else { 1 };
    let (lower, upper) = if entropic {
        (vec![0.0; d], vec![1.0; d])
    } else {
        let lower = input.finite_vec(d)?;
        let upper = if mode == 1 {
            let widths = input.finite_vec(d)?;
            // u = l + |w| (∞ if that overflows: an orthant-type face).
            lower
                .iter()
                .zip(&widths)
                .map(|(l, w)| l + w.abs())
                .collect()
        } else {
            vec![f64::INFINITY; d]
        };
        // A box needs a float strictly inside each side to host a log-barrier iterate.
        if lower.iter().zip(&upper).any(|(l, u)| l.next_up() >= *u) {
            return None;
        }
        (lower, upper)
    };
    let map: Box<dyn MirrorMap> = if entropic {
        Box::new(Entropic)
    } else {
        Box::new(
            LogBarrier::new(BoxBounds::new(lower.clone(), upper.clone()).expect("checked box"))
                .expect("a finite lower bound per coordinate"),
        )
    };

    let y0 = input.finite_vec(d)?;
    let mut x = vec![0.0; d];
    map.grad_phi_star(&y0, &mut x);
    check(map.as_ref(), &x, &lower, &upper, entropic);

    let (mut y, mut noise) = (vec![0.0; d], vec![0.0; d]);
    loop {
        let (eta, s) = (input.finite()?, input.finite()?);
        let g = input.finite_vec(d)?;
        let xi = input.finite_vec(d)?;
        map.grad_phi(&x, &mut y);
        map.hessian_sqrt_apply(&x, &xi, &mut noise);
        for i in 0..d {
            y[i] = y[i] - eta * g[i] + s * noise[i];
        }
        map.grad_phi_star(&y, &mut x);
        check(map.as_ref(), &x, &lower, &upper, entropic);
    }
}

/// The `mirror_step` fuzz target: panics exactly when an invariant of the module
/// documentation fails for `data`.
pub fn mirror_step(data: &[u8]) {
    let _ = run(&mut Input::new(data));
}

//! CBO's log-space consensus and the α schedules on arbitrary particles, objective
//! values (NaN, ±∞ included) and α.
//!
//! `consensus`: `Err` exactly when α is not finite and ≥ 0, an objective value is NaN or
//! −∞, or every value is +∞; `Ok` ⇒ `f_min` = min f, f(argmin) = f_min (first minimiser),
//! ESS ∈ [1, N] (to 1e-12 relative), v_α finite and inside the bounding box of the
//! particles that carry weight (to 1e-12 of the box size); `effective_sample_size`
//! agrees with the ESS of `consensus`. `AlphaSchedule`: `validate` `Ok` ⇒ `next` on valid
//! values is finite and ≥ 0: constant keeps α, multiplicative gives min(rα, α_max),
//! effective-sample-size lands in [α_min, α_max].
//!
//! Layout: byte 0 = N − 1 (N ≤ 32), byte 1 = d − 1 (d ≤ 4), byte 2 = schedule kind,
//! then α, the schedule's parameters, N objective values (any f64) and N·d coordinates
//! (finite).

use crate::{Input, finite};
use meanfield::integrators::AlphaSchedule;
use meanfield::integrators::cbo::{consensus, effective_sample_size};

/// The `cbo_consensus` fuzz target: panics exactly when an invariant of the module
/// documentation fails for `data`.
pub fn cbo_consensus(data: &[u8]) {
    let mut input = Input::new(data);
    let n = input.below(32) + 1;
    let d = input.below(4) + 1;
    let kind = input.below(3);
    let alpha = input.f64().unwrap_or(1.0);
    let params = input.f64_vec(3);
    let energies = input.f64_vec(n);
    let xs: Vec<f64> = input.f64_vec(n * d).into_iter().map(finite).collect();

    let alpha_ok = alpha.is_finite() && alpha >= 0.0;
    let energies_ok = energies
        .iter()
        .all(|f| !f.is_nan() && *f != f64::NEG_INFINITY)
        && energies.iter().any(|f| f.is_finite());
    match consensus(&xs, d, &energies, alpha) {
        Ok((v, stats)) => {
            assert!(
                alpha_ok && energies_ok,
                "accepted α = {alpha}, f = {energies:?}"
            );
            let f_min = energies.iter().copied().fold(f64::INFINITY, f64::min);
            assert_eq!(stats.f_min, f_min);
            assert_eq!(
                stats.argmin,
                energies.iter().position(|&f| f == f_min).unwrap()
            );
            assert!(
                stats.ess >= 1.0 - 1e-12 && stats.ess <= n as f64 * (1.0 + 1e-12),
                "ESS {} for N = {n}",
                stats.ess
            );
            assert!(v.len() == d && v.iter().all(|c| c.is_finite()), "v = {v:?}");
            // The particles with weight: the minimiser always; exp(−α(f − f_min)) > 0.
            for k in 0..d {
                let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
                for (i, &f) in energies.iter().enumerate() {
                    let w = if f == f64::INFINITY {
                        0.0
                    } else if alpha == 0.0 {
                        1.0
                    } else {
                        (-alpha * (f - f_min)).exp()
                    };
                    if w > 0.0 || i == stats.argmin {
                        lo = lo.min(xs[i * d + k]);
                        hi = hi.max(xs[i * d + k]);
                    }
                }
                let slack = 1e-12 * (hi - lo).max(hi.abs()).max(lo.abs()) + f64::MIN_POSITIVE;
                assert!(
                    v[k] >= lo - slack && v[k] <= hi + slack,
                    "v[{k}] = {} outside [{lo}, {hi}]",
                    v[k]
                );
            }
            let ess = effective_sample_size(&energies, alpha).expect("same input");
            assert_eq!(ess.to_bits(), stats.ess.to_bits(), "two ESS computations");
        }
        Err(_) => {
            assert!(
                !(alpha_ok && energies_ok),
                "refused α = {alpha}, f = {energies:?}"
            );
            assert!(effective_sample_size(&energies, alpha).is_err());
        }
    }

    let schedule = match kind {
        0 => AlphaSchedule::Constant,
        1 => AlphaSchedule::Multiplicative {
            factor: params[0],
            max: params[1],
        },
        _ => AlphaSchedule::EffectiveSampleSize {
            eta: params[0],
            min: params[1],
            max: params[2],
        },
    };
    if schedule.validate().is_err() || !alpha_ok || alpha == 0.0 {
        return;
    }
    match schedule.next(alpha, &energies) {
        Ok(next) => {
            assert!(
                energies_ok || kind != 2,
                "ESS schedule accepted f = {energies:?}"
            );
            assert!(
                next.is_finite() && next >= 0.0,
                "next α = {next} ({schedule:?})"
            );
            match schedule {
                AlphaSchedule::Constant => assert_eq!(next, alpha),
                AlphaSchedule::Multiplicative { factor, max } => {
                    assert_eq!(next, (factor * alpha).min(max))
                }
                AlphaSchedule::EffectiveSampleSize { min, max, .. } => {
                    assert!(next >= min * (1.0 - 1e-9) && next <= max * (1.0 + 1e-9))
                }
            }
        }
        Err(_) => assert!(kind == 2 && !energies_ok, "{schedule:?} refused"),
    }
}

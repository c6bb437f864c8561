//! Sliced 2-Wasserstein distance between two ensembles in R^d.
//!
//! SW_2(μ, ν) = ( ∫_{S^{d−1}} W_2²(θ#μ, θ#ν) dσ(θ) )^{1/2}, where θ#μ is the law of ⟨θ, X⟩
//! and σ the uniform measure on the unit sphere. It is estimated by Monte Carlo over L
//! directions θ_1, …, θ_L drawn i.i.d. uniform on S^{d−1} (normalised standard Gaussian
//! vectors), averaging in the square:
//!
//! SW_2 ≈ ( (1/L) Σ_l W_2²(θ_l#μ, θ_l#ν) )^{1/2},
//!
//! each 1-D term computed exactly by the quantile coupling (with the ensemble weights
//! when either ensemble is weighted). In d = 1 every θ is ±1, so SW_2 = W_2 exactly.
//!
//! Direction l is drawn from `NoiseStreams::new(seed, streams::SLICED_DIRECTIONS).rng(step, l)`
//! (step 0, or the next step on the measure-zero event of a null vector), so the
//! estimate depends on (seed, L) only, not on the thread count: projections run in
//! parallel but their squares are summed in index order.

use meanfield_measures::compensated::NeumaierSum;
use meanfield_measures::{Ensemble, NoiseStreams, streams};
use rayon::prelude::*;

use super::coupling::{sorted_atoms, wpp_sorted_uniform, wpp_sorted_weighted};
use crate::error::{DiagnosticsError, Result};

/// Unit direction θ_l uniform on S^{d−1}: a standard Gaussian vector normalised.
fn direction(streams: &NoiseStreams, l: u64, d: usize) -> Vec<f64> {
    let mut theta = vec![0.0; d];
    let mut step = 0u64;
    loop {
        streams.fill_standard_normal(step, l, &mut theta);
        let norm = theta.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 && norm.is_finite() {
            theta.iter_mut().for_each(|v| *v /= norm);
            return theta;
        }
        step += 1;
    }
}

/// Projections ⟨θ, X^i⟩ of every particle.
fn project(ens: &Ensemble, theta: &[f64]) -> Vec<f64> {
    ens.rows()
        .map(|row| row.iter().zip(theta).map(|(x, t)| x * t).sum())
        .collect()
}

/// W_2² between the projections of `x` and `y` on θ (weights respected).
fn projected_w2_sq(x: &Ensemble, y: &Ensemble, theta: &[f64]) -> f64 {
    let (px, py) = (project(x, theta), project(y, theta));
    if x.weights().is_none() && y.weights().is_none() {
        let sort = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v
        };
        wpp_sorted_uniform(&sort(px), &sort(py), 2.0)
    } else {
        // Ensemble weights are normalised (or implicitly 1/N).
        let wx: Vec<f64> = (0..x.n()).map(|i| x.weight(i)).collect();
        let wy: Vec<f64> = (0..y.n()).map(|i| y.weight(i)).collect();
        wpp_sorted_weighted(
            &sorted_atoms(&px, &wx, 1.0),
            &sorted_atoms(&py, &wy, 1.0),
            2.0,
        )
    }
}

/// Monte-Carlo sliced Wasserstein distance SW_2 = sqrt((1/L) Σ_l W_2²(θ_l#x, θ_l#y)) with
/// L = `n_projections` directions uniform on the sphere, drawn deterministically from
/// `seed`. The ensembles may have different sizes and weights but must share d.
pub fn sliced_w2(x: &Ensemble, y: &Ensemble, n_projections: usize, seed: u64) -> Result<f64> {
    if x.dim() != y.dim() {
        return Err(DiagnosticsError::DimensionMismatch {
            what: "second ensemble dimension",
            expected: x.dim(),
            got: y.dim(),
        });
    }
    if n_projections == 0 {
        return Err(DiagnosticsError::InvalidParameter {
            name: "n_projections",
            value: 0.0,
            reason: "need at least one projection direction",
        });
    }
    let streams = NoiseStreams::new(seed, streams::SLICED_DIRECTIONS);
    let d = x.dim();
    let terms: Vec<f64> = (0..n_projections)
        .into_par_iter()
        .map(|l| projected_w2_sq(x, y, &direction(&streams, l as u64, d)))
        .collect();
    let mut acc = NeumaierSum::new();
    terms.iter().for_each(|t| acc.add(*t));
    Ok((acc.value() / n_projections as f64).max(0.0).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use meanfield_measures::{Domain, Weights};

    fn ens(n: usize, d: usize, data: Vec<f64>) -> Ensemble {
        Ensemble::new(n, d, data, Domain::Euclidean).unwrap()
    }

    #[test]
    fn identical_ensembles_have_zero_distance() {
        let x = ens(4, 3, (0..12).map(|k| (k as f64 * 0.7).sin()).collect());
        assert_eq!(sliced_w2(&x, &x, 32, 7).unwrap(), 0.0);
    }

    #[test]
    fn one_dimensional_shift_is_exact() {
        let data = vec![0.1, -0.4, 2.0, 1.3, 0.0];
        let x = ens(5, 1, data.clone());
        let y = ens(5, 1, data.iter().map(|v| v + 0.6).collect());
        let sw = sliced_w2(&x, &y, 8, 1).unwrap();
        assert!((sw - 0.6).abs() < 1e-12);
    }

    #[test]
    fn shift_in_higher_dimension_matches_projected_average() {
        // For a translation by c, W_2(θ#μ, θ#(μ+c)) = |⟨θ, c⟩| and E|⟨θ, c⟩|² = |c|²/d.
        let d = 3;
        let x = ens(6, d, (0..18).map(|k| (k as f64 * 1.3).cos()).collect());
        let c = [1.0, -2.0, 0.5];
        let y = ens(
            6,
            d,
            x.rows()
                .flat_map(|r| r.iter().zip(&c).map(|(a, b)| a + b).collect::<Vec<_>>())
                .collect(),
        );
        let sw = sliced_w2(&x, &y, 4000, 3).unwrap();
        let expected = (c.iter().map(|v| v * v).sum::<f64>() / d as f64).sqrt();
        assert!(
            (sw - expected).abs() < 0.05 * expected,
            "{sw} vs {expected}"
        );
    }

    #[test]
    fn deterministic_and_weighted() {
        let x = ens(3, 2, vec![0., 0., 1., 0., 0., 1.]);
        let mut y = ens(2, 2, vec![0., 0., 5., 5.]);
        let a = sliced_w2(&x, &y, 16, 9).unwrap();
        assert_eq!(a, sliced_w2(&x, &y, 16, 9).unwrap());
        // Putting all of y's mass on the origin changes the distance.
        y.set_weights(Weights::from_unnormalised(vec![1.0, 0.0]).unwrap())
            .unwrap();
        let b = sliced_w2(&x, &y, 16, 9).unwrap();
        assert!(b < a);
        // Weighted path with uniform weights agrees with the unweighted one.
        let mut xw = x.clone();
        xw.set_weights(Weights::uniform(3).unwrap()).unwrap();
        let y2 = ens(2, 2, vec![0., 0., 5., 5.]);
        assert!((sliced_w2(&xw, &y2, 16, 9).unwrap() - a).abs() < 1e-12);
    }

    #[test]
    fn errors() {
        let x = ens(2, 2, vec![0.0; 4]);
        let y = ens(2, 3, vec![0.0; 6]);
        assert!(matches!(
            sliced_w2(&x, &y, 4, 0),
            Err(DiagnosticsError::DimensionMismatch { .. })
        ));
        assert!(matches!(
            sliced_w2(&x, &x, 0, 0),
            Err(DiagnosticsError::InvalidParameter { .. })
        ));
    }
}

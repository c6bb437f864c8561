//! Mass of the empirical measure near the boundary of its domain.
//!
//! boundary_mass(μ_N, ε) = Σ_i W^i 1[X^i ∈ B_ε], where B_ε is the ε-layer at the boundary:
//!
//! - Simplex Δ: B_ε = {x : min_i x_i < ε}, the coordinate criterion (how close some
//!   component is to extinction). The Euclidean distance within the affine hull to the
//!   face {x_i = 0} is x_i sqrt(d/(d−1)), so this is a slightly thinner layer than the
//!   metric one; the coordinate form is what mirror / barrier schemes degrade on.
//! - Box Π [l_i, u_i]: B_ε = {x : min over finite faces of (x_i − l_i) or (u_i − x_i)
//!   < ε}, the Euclidean distance to the nearest finite face (infinite faces, as in the
//!   orthant, are never reached).
//! - R^d: no boundary, the mass is 0.
//!
//! A mass that does not vanish as the time step shrinks signals particles piling up
//! against a constraint.

use meanfield_measures::compensated::NeumaierSum;
use meanfield_measures::{Domain, Ensemble};

use crate::error::{DiagnosticsError, Result};

/// Whether the point `x` lies in the ε-boundary layer of `domain` (see module docs).
fn near_boundary(domain: &Domain, x: &[f64], eps: f64) -> Result<bool> {
    match domain {
        Domain::Euclidean => Ok(false),
        Domain::Simplex => Ok(x.iter().any(|v| *v < eps)),
        Domain::Box(b) => Ok(x
            .iter()
            .zip(b.lower().iter().zip(b.upper()))
            .any(|(v, (l, u))| (l.is_finite() && v - l < eps) || (u.is_finite() && u - v < eps))),
        other => Err(DiagnosticsError::UnsupportedDomain {
            what: "boundary_mass",
            domain: other.name(),
        }),
    }
}

/// Weighted fraction of particles within ε of the domain boundary,
/// Σ_i W^i 1[X^i ∈ B_ε] ∈ [0, 1] (see the module docs for B_ε per domain). Requires a
/// finite ε ≥ 0 (ε = 0 counts only points outside the closed domain, i.e. none).
pub fn boundary_mass(ens: &Ensemble, eps: f64) -> Result<f64> {
    if !(eps.is_finite() && eps >= 0.0) {
        return Err(DiagnosticsError::InvalidParameter {
            name: "eps",
            value: eps,
            reason: "the boundary layer width must be finite and ≥ 0",
        });
    }
    let mut acc = NeumaierSum::new();
    for (i, row) in ens.rows().enumerate() {
        if near_boundary(ens.domain(), row, eps)? {
            acc.add(ens.weight(i));
        }
    }
    Ok(acc.value().clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use meanfield_measures::{BoxBounds, Weights};

    #[test]
    fn simplex_hand_case() {
        // Rows: interior, near face x_0, near face x_2, vertex.
        let data = vec![
            0.3, 0.3, 0.4, 0.005, 0.5, 0.495, 0.49, 0.5, 0.01, 1.0, 0.0, 0.0,
        ];
        let mut ens = Ensemble::new(4, 3, data, Domain::Simplex).unwrap();
        assert_eq!(boundary_mass(&ens, 0.02).unwrap(), 0.75);
        assert_eq!(boundary_mass(&ens, 0.008).unwrap(), 0.5);
        assert_eq!(boundary_mass(&ens, 0.0).unwrap(), 0.0);
        assert_eq!(boundary_mass(&ens, 0.5).unwrap(), 1.0);
        ens.set_weights(Weights::from_unnormalised(vec![5.0, 1.0, 1.0, 1.0]).unwrap())
            .unwrap();
        assert!((boundary_mass(&ens, 0.02).unwrap() - 3.0 / 8.0).abs() < 1e-15);
    }

    #[test]
    fn box_and_orthant() {
        let b = BoxBounds::new(vec![0.0, -1.0], vec![1.0, f64::INFINITY]).unwrap();
        // (0.5, 1e6): far from finite faces; (0.95, 3): near u_0; (0.5, -0.99): near l_1.
        let data = vec![0.5, 1e6, 0.95, 3.0, 0.5, -0.99];
        let ens = Ensemble::new(3, 2, data, Domain::Box(b)).unwrap();
        assert!((boundary_mass(&ens, 0.1).unwrap() - 2.0 / 3.0).abs() < 1e-15);
        assert!((boundary_mass(&ens, 0.02).unwrap() - 1.0 / 3.0).abs() < 1e-15);
        let orth = Ensemble::new(2, 1, vec![0.01, 100.0], Domain::orthant(1).unwrap()).unwrap();
        assert_eq!(boundary_mass(&orth, 0.1).unwrap(), 0.5);
    }

    #[test]
    fn euclidean_is_zero() {
        let ens = Ensemble::new(2, 1, vec![0.0, 1e-12], Domain::Euclidean).unwrap();
        assert_eq!(boundary_mass(&ens, 1.0).unwrap(), 0.0);
    }

    #[test]
    fn bad_eps() {
        let ens = Ensemble::new(1, 1, vec![0.0], Domain::Euclidean).unwrap();
        for eps in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                boundary_mass(&ens, eps),
                Err(DiagnosticsError::InvalidParameter { .. })
            ));
        }
    }
}

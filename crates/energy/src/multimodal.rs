//! Objectives with several global minimisers, for methods that find more than one
//! (polarised CBO): Himmelblau's function and the Rastrigin with shifted wells.

use crate::error::{EnergyError, Result};
use crate::objectives::{Objective, TestFunction};

/// Himmelblau's function f(x, y) = (x² + y − 11)² + (x + y² − 7)² on R² (CBXpy's
/// `Himmelblau` with factor 1): four global minimisers, all with f = 0, and a local
/// maximum at (−0.270845, −0.923039).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Himmelblau;

/// Starting points of the Newton refinement in [`Himmelblau::minimisers`] (the published
/// values, to 6 digits).
const HIMMELBLAU_APPROX: [[f64; 2]; 4] = [
    [3.0, 2.0],
    [-2.805118, 3.131312],
    [-3.779310, -3.283186],
    [3.584428, -1.848126],
];

impl Himmelblau {
    /// ∇f at p.
    pub fn gradient(&self, [x, y]: [f64; 2]) -> [f64; 2] {
        let (a, b) = (x * x + y - 11.0, x + y * y - 7.0);
        [4.0 * x * a + 2.0 * b, 2.0 * a + 4.0 * y * b]
    }

    /// The four global minimisers, refined from the published 6-digit values by Newton's
    /// method on ∇f = 0 (so they are exact to round-off: |∇f| ≲ 1e-13, f ≲ 1e-26).
    pub fn minimisers(&self) -> [[f64; 2]; 4] {
        HIMMELBLAU_APPROX.map(|mut p| {
            for _ in 0..8 {
                let [x, y] = p;
                let [gx, gy] = self.gradient(p);
                // Hessian of f.
                let hxx = 12.0 * x * x + 4.0 * y - 42.0;
                let hyy = 12.0 * y * y + 4.0 * x - 26.0;
                let hxy = 4.0 * (x + y);
                let det = hxx * hyy - hxy * hxy;
                p = [
                    x - (hyy * gx - hxy * gy) / det,
                    y - (hxx * gy - hxy * gx) / det,
                ];
            }
            p
        })
    }
}

impl Objective for Himmelblau {
    fn dim(&self) -> usize {
        2
    }

    fn value(&self, x: &[f64]) -> f64 {
        let (a, b) = (x[0] * x[0] + x[1] - 11.0, x[0] + x[1] * x[1] - 7.0);
        a * a + b * b
    }

    /// The minimiser (3, 2) (one of four; [`Himmelblau::minimisers`] lists all).
    fn minimiser(&self) -> Option<Vec<f64>> {
        Some(vec![3.0, 2.0])
    }

    fn fingerprint(&self) -> String {
        "himmelblau".into()
    }
}

/// The Rastrigin with shifted wells (CBXpy's `Rastrigin_multimodal` with every factor
/// α_i = 1): f(x) = Π_i V(x − z_i) with V the Rastrigin function 10d + Σ_k (y_k² − 10 cos 2πy_k)
/// ([`TestFunction::rastrigin`] shifted by z_i). V ≥ 0 with V(y) = 0 only at y = 0, so
/// f ≥ 0 and f(x) = 0 exactly at the shifts: the z_i are the global minimisers, one per
/// factor, each inside a Rastrigin landscape scaled by the other factors.
#[derive(Debug, Clone)]
pub struct RastriginWells {
    factors: Vec<TestFunction>,
}

impl RastriginWells {
    /// The wells at `shifts` (at least one, all of one dimension d ≥ 1, finite, pairwise
    /// distinct).
    ///
    /// # Errors
    /// [`EnergyError::InvalidParameter`] for no shift or two equal shifts,
    /// [`EnergyError::DimensionMismatch`] for shifts of different dimensions, and the
    /// errors of [`TestFunction::shifted`] (a non-finite coordinate).
    pub fn new(shifts: &[Vec<f64>]) -> Result<Self> {
        let Some(first) = shifts.first() else {
            return Err(EnergyError::InvalidParameter {
                name: "shifts",
                value: 0.0,
                reason: "need at least one well",
            });
        };
        let d = first.len();
        for (i, z) in shifts.iter().enumerate() {
            if shifts[..i].contains(z) {
                return Err(EnergyError::InvalidParameter {
                    name: "shifts",
                    value: i as f64,
                    reason: "two wells at the same point",
                });
            }
        }
        let factors = shifts
            .iter()
            .map(|z| TestFunction::rastrigin(d)?.shifted(z.clone()))
            .collect::<Result<_>>()?;
        Ok(Self { factors })
    }

    /// The global minimisers z_i.
    pub fn minimisers(&self) -> Vec<Vec<f64>> {
        self.factors.iter().map(|f| f.shift().to_vec()).collect()
    }
}

impl Objective for RastriginWells {
    fn dim(&self) -> usize {
        self.factors[0].dim()
    }

    fn value(&self, x: &[f64]) -> f64 {
        self.factors.iter().map(|f| f.value(x)).product()
    }

    /// The first well z_1 (one of several; [`RastriginWells::minimisers`] lists all).
    fn minimiser(&self) -> Option<Vec<f64>> {
        Some(self.factors[0].shift().to_vec())
    }

    fn fingerprint(&self) -> String {
        let factors: Vec<String> = self.factors.iter().map(|f| f.fingerprint()).collect();
        format!("rastrigin-wells({})", factors.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rastrigin_wells_vanish_exactly_at_the_shifts() {
        let z = vec![vec![-2.0, -2.0], vec![2.5, 0.5], vec![-0.5, 3.0]];
        let f = RastriginWells::new(&z).unwrap();
        assert_eq!(f.minimisers(), z);
        for m in &z {
            assert_eq!(f.value(m), 0.0);
            // Positive nearby: a strict minimiser.
            assert!(f.value(&[m[0] + 1e-3, m[1]]) > 0.0);
        }
        // The product formula: at x = 0, V(2, 2) V(−2.5, −0.5) V(0.5, −3) = 8 · 46.5 · 29.25
        // (V(y) = 20 + Σ y_k² − 10 Σ cos 2πy_k); with wells at ±(1, 1), V(1, 1)² = 4.
        assert!((f.value(&[0.0, 0.0]) - 8.0 * 46.5 * 29.25).abs() < 1e-9);
        let g = RastriginWells::new(&[vec![-1.0, -1.0], vec![1.0, 1.0]]).unwrap();
        assert!((g.value(&[0.0, 0.0]) - 4.0).abs() < 1e-12);
        assert!(RastriginWells::new(&[]).is_err());
        assert!(RastriginWells::new(&[vec![0.0, 0.0], vec![0.0, 0.0]]).is_err());
        assert!(RastriginWells::new(&[vec![0.0, 0.0], vec![1.0]]).is_err());
        assert!(RastriginWells::new(&[vec![f64::NAN, 0.0]]).is_err());
    }

    #[test]
    fn four_minimisers_with_zero_value_and_gradient() {
        let f = Himmelblau;
        let ms = f.minimisers();
        for (m, a) in ms.iter().zip(HIMMELBLAU_APPROX) {
            assert!(f.value(m) < 1e-24, "{m:?}: {}", f.value(m));
            let g = f.gradient(*m);
            assert!(g[0].abs() < 1e-12 && g[1].abs() < 1e-12, "{g:?}");
            assert!((m[0] - a[0]).abs() < 1e-6 && (m[1] - a[1]).abs() < 1e-6);
        }
        assert_eq!(ms[0], [3.0, 2.0]);
        // CBXpy's documented values.
        assert_eq!(f.value(&[1.0, 2.0]), 68.0);
        assert_eq!(f.value(&[3.0, 4.0]), 148.0);
        assert_eq!(f.value(&[5.0, 6.0]), 1556.0);
    }
}

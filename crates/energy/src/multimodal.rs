//! Objectives with several global minimisers, for methods that find more than one
//! (polarised CBO): Himmelblau's function.

use crate::objectives::Objective;

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

#[cfg(test)]
mod tests {
    use super::*;

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

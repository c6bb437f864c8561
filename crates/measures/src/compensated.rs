//! Compensated (Neumaier) summation, the one place the workspace sums long vectors of
//! probabilities. Error bound: |ŝ − s| ≤ 2u|s| + 2n u² Σ|x_i| (u = 2⁻⁵³), relative to
//! the total rather than naive summation's (n − 1)u Σ|x_i|; checked as a property against
//! the exact sum (`crates/measures/tests/reduce.rs::neumaier_error_is_within_its_bound`).

/// Running Neumaier sum: `sum` carries the leading part, `compensation` the lost low bits.
#[derive(Debug, Clone, Copy, Default)]
pub struct NeumaierSum {
    sum: f64,
    compensation: f64,
}

impl NeumaierSum {
    /// Empty sum.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `x`, capturing the rounding error of `sum + x` exactly (Fast2Sum on the
    /// larger magnitude operand first).
    #[inline]
    pub fn add(&mut self, x: f64) {
        neumaier_add(&mut self.sum, &mut self.compensation, x);
    }

    /// The compensated total.
    #[inline]
    pub fn value(&self) -> f64 {
        self.sum + self.compensation
    }
}

/// One Neumaier step on a (sum, compensation) pair held apart, as the vectorised block
/// sums of [`crate::reduce`] keep them (one array of sums, one of compensations):
/// t = s + x, c += (big − t) + small with big the operand of larger magnitude (Fast2Sum
/// captures the rounding error of s + x exactly). Written with selects rather than a
/// branch, so that a loop of independent accumulators vectorises; the same operations on
/// the same operands as the branch, hence the same bits (NaN compares false and takes
/// the second branch in both).
#[inline(always)]
pub fn neumaier_add(sum: &mut f64, compensation: &mut f64, x: f64) {
    let s = *sum;
    let t = s + x;
    let sum_is_big = s.abs() >= x.abs();
    let big = if sum_is_big { s } else { x };
    let small = if sum_is_big { x } else { s };
    *compensation += (big - t) + small;
    *sum = t;
}

/// Compensated sum of a slice.
pub fn compensated_sum(xs: &[f64]) -> f64 {
    let mut s = NeumaierSum::new();
    for &x in xs {
        s.add(x);
    }
    s.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_cancelled_low_bits() {
        // Naive summation returns 0 here; the exact sum is 2.
        let xs = [1.0, 1e100, 1.0, -1e100];
        assert_eq!(compensated_sum(&xs), 2.0);
    }
}

//! Compensated (Neumaier) summation, the one place the workspace sums long vectors of
//! probabilities. Error bound: |ŝ − s| ≤ 2u Σ|x_i| + O(n u²) instead of O(n u) Σ|x_i|.

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
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    /// The compensated total.
    #[inline]
    pub fn value(&self) -> f64 {
        self.sum + self.compensation
    }
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

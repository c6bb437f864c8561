//! The block reductions are Neumaier sums in index order, bit for bit: the vectorised
//! block sums (sums and compensations in two arrays, branch-free steps) against the
//! branching Neumaier step they replaced, on terms built to cancel, overflow and carry
//! NaN.

use meanfield_measures::compensated::{NeumaierSum, neumaier_add};
use meanfield_measures::parallel::Parallelism;
use meanfield_measures::reduce::{BLOCK, block_partials};
use proptest::prelude::*;

/// Term j of row i: magnitudes over 600 binades with both signs, so that both arms of
/// the Neumaier step (|s| ≥ |x| and |s| < |x|) and heavy cancellation occur.
fn term(seed: u64, i: usize, j: usize) -> f64 {
    let h = (seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (j as u64) << 40)
        .wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let h = h ^ (h >> 31);
    let mantissa = (h >> 11) as f64 / (1u64 << 53) as f64;
    let exponent = ((h & 0x3ff) as i32 - 512) / 2;
    let sign = if h & 0x400 == 0 { 1.0 } else { -1.0 };
    sign * mantissa * 2f64.powi(exponent)
}

/// The Neumaier step as first written, with the branch: the reference the branch-free
/// [`neumaier_add`] must reproduce.
fn branchy_add(sum: &mut f64, compensation: &mut f64, x: f64) {
    let t = *sum + x;
    if sum.abs() >= x.abs() {
        *compensation += (*sum - t) + x;
    } else {
        *compensation += (x - t) + *sum;
    }
    *sum = t;
}

fn reference(n: usize, k: usize, t: impl Fn(usize, usize) -> f64) -> Vec<f64> {
    let mut out = Vec::new();
    for b in 0..n.div_ceil(BLOCK) {
        for j in 0..k {
            let (mut s, mut c) = (0.0, 0.0);
            for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                branchy_add(&mut s, &mut c, t(i, j));
            }
            out.push(s + c);
        }
    }
    out
}

/// Bit patterns, with every NaN as one pattern: Rust leaves a NaN's sign and payload
/// unspecified (constant folding and SSE differ), so only NaN-ness is compared.
fn bits(v: &[f64]) -> Vec<u64> {
    v.iter()
        .map(|x| {
            if x.is_nan() {
                f64::NAN.to_bits()
            } else {
                x.to_bits()
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn block_partials_are_neumaier_sums_bit_for_bit(
        seed in any::<u64>(),
        n in 1usize..3 * BLOCK,
        k in 1usize..13,
        rayon in any::<bool>(),
    ) {
        let par = if rayon { Parallelism::Rayon } else { Parallelism::Sequential };
        let got = block_partials(n, k, par, |i, out| {
            for (j, o) in out.iter_mut().enumerate() {
                *o = term(seed, i, j);
            }
        });
        prop_assert_eq!(bits(&got), bits(&reference(n, k, |i, j| term(seed, i, j))));
    }
}

#[test]
fn special_values_take_the_branch_they_took() {
    // NaN compares false (second arm), ±∞ and signed zeros: every case of the branch.
    let xs = [
        0.0,
        -0.0,
        1.0,
        -1e308,
        1e308,
        1e308,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        3.0,
        -0.0,
    ];
    for a in xs {
        for b in xs {
            for c in xs {
                let (mut s0, mut c0) = (0.0, 0.0);
                let (mut s, mut comp) = (0.0, 0.0);
                let mut r = NeumaierSum::new();
                for x in [a, b, c] {
                    branchy_add(&mut s0, &mut c0, x);
                    neumaier_add(&mut s, &mut comp, x);
                    r.add(x);
                }
                let want = bits(&[s0 + c0]);
                assert_eq!(bits(&[s + comp]), want);
                assert_eq!(bits(&[r.value()]), want);
                let got = block_partials(3, 1, Parallelism::Sequential, |i, o| o[0] = [a, b, c][i]);
                assert_eq!(bits(&got), want, "{a} {b} {c}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Rows of ±0 terms skipped or summed: the same bits (neither the sum nor the
    /// compensation is ever −0, so adding ±0 changes neither).
    #[test]
    fn block_partials_skip_zero_rows_bit_for_bit(
        seed in any::<u64>(),
        n in 1usize..3 * BLOCK,
        k in 1usize..9,
        every in 1usize..5,
    ) {
        let zero = |i: usize| !(seed as usize ^ i).is_multiple_of(every);
        let t = |i: usize, j: usize| {
            if zero(i) {
                if (i + j).is_multiple_of(2) { 0.0 } else { -0.0 }
            } else {
                term(seed, i, j)
            }
        };
        let fill = |i: usize, out: &mut [f64]| {
            for (j, o) in out.iter_mut().enumerate() {
                *o = t(i, j);
            }
        };
        let all = block_partials(n, k, Parallelism::Sequential, fill);
        let skipped = meanfield_measures::reduce::block_partials_skipping(
            n,
            k,
            Parallelism::Rayon,
            zero,
            fill,
        );
        prop_assert_eq!(bits(&skipped), bits(&all));
        prop_assert_eq!(bits(&all), bits(&reference(n, k, t)));
    }
}

/// The exact sum of `xs` as non-overlapping partials (Shewchuk's msum: every TwoSum
/// error term is kept, so Σ partials = Σ xs exactly while nothing overflows).
fn exact_partials(xs: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut partials: Vec<f64> = Vec::new();
    for mut x in xs {
        let mut kept = 0;
        for k in 0..partials.len() {
            let mut y = partials[k];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        partials.truncate(kept);
        partials.push(x);
    }
    partials
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The error bound of the module doc, |ŝ − s| ≤ 2u|s| + 2n u² Σ|x_i| (u = 2⁻⁵³), as a
    /// property: terms over 600 binades with both signs, and sets built to cancel to a tiny
    /// or zero total (each term followed later by its negation plus a small perturbation),
    /// against the exact sum. The error itself is computed exactly (the partials of s and
    /// −ŝ summed again), so the comparison carries no rounding of its own beyond one ulp.
    #[test]
    fn neumaier_error_is_within_its_bound(
        seed in any::<u64>(),
        n in 1usize..3000,
        cancel in any::<bool>(),
    ) {
        let mut xs: Vec<f64> = (0..n).map(|i| term(seed, i, 0)).collect();
        if cancel {
            let m = xs.len();
            for i in 0..m {
                xs.push(-xs[m - 1 - i] * (1.0 + f64::EPSILON * term(seed, i, 1).signum()));
            }
        }
        let mut s = NeumaierSum::new();
        xs.iter().for_each(|&x| s.add(x));
        let got = s.value();
        let exact: f64 = exact_partials(xs.iter().copied()).iter().sum();
        let err: f64 = exact_partials(xs.iter().copied().chain([-got]))
            .iter()
            .sum::<f64>()
            .abs();
        let u = f64::EPSILON / 2.0;
        let abs_sum: f64 = xs.iter().map(|x| x.abs()).sum();
        let bound = 2.0 * u * exact.abs() + 2.0 * xs.len() as f64 * u * u * abs_sum;
        prop_assert!(
            err <= bound * (1.0 + 4.0 * u),
            "n = {}, |ŝ − s| = {err:e} > {bound:e} (s = {exact:e}, Σ|x| = {abs_sum:e})",
            xs.len()
        );
    }
}

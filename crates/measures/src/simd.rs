//! Vectorised elementary functions for the particle kernels' element-wise passes.
//!
//! The functions here are plain, branch-free Rust (no intrinsics, no `unsafe`), written so
//! that a loop over a slice auto-vectorises; [`vectorised`] runs such a loop with the
//! widest instruction set the CPU has (AVX2 + FMA on x86-64, through `pulp`'s runtime
//! dispatch, which faer already uses). Rust never contracts `a * b + c` into a fused
//! multiply-add on its own, so the same input gives the **same bits** whether the loop
//! runs in AVX2 lanes, SSE2 lanes or scalar code: results stay independent of the machine's
//! instruction set, the thread count and the batch a value falls in.
//!
//! [`exp`] is e^x to within 1 ulp of the C library's (glibc's, correctly rounded) `exp`
//! over the whole double range, subnormal results included; [`ln`] is ln x to within 1 ulp
//! of glibc's `ln` for every positive double, subnormals included (`tests/simd.rs`).
//!
//! # Algorithm of [`exp`]
//! With n = round(x / ln 2) (round-to-nearest by the 1.5·2⁵² shift) and
//! r = x − n ln 2 (ln 2 split into a head with 32 significant bits and a tail, so that n·ln2_hi is exact),
//! |r| ≤ ln2/2 + ε and
//!
//! $$ e^x = 2^n e^r, \qquad e^r \approx 1 + \Big(r + r^2 \sum_{k=2}^{13} r^{k-2} / k!\Big) $$
//!
//! (the truncation error r¹⁴/14! < 5·10⁻¹⁸ is far below half an ulp; the sum is by
//! Horner, and the leading 1 is added last so that the rounding of the small terms counts
//! relative to them). 2ⁿ is applied as 2^⌊n/2⌋ · 2^(n − ⌊n/2⌋), two normal powers of two,
//! so that results down to the smallest subnormal and up to the largest double are exact
//! scalings. x is clamped to [−746, 710] first, outside of which e^x rounds to 0 or +∞
//! anyway; NaN stays NaN.

/// Runs `f` with the widest SIMD instruction set the CPU supports enabled for the code
/// inlined into it (runtime detection, `pulp::Arch::dispatch`). Element-wise loops over
/// slices written with this module's functions vectorise inside; results are the same
/// bits as without (module docs). Mark the closure `#[inline(always)]`
/// (`vectorised(#[inline(always)] || { … })`): only code inlined into the dispatched
/// function is compiled for the wider instruction set.
#[inline]
pub fn vectorised<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// ln 2 split as a head with its low 20 mantissa bits zero (so n · head is exact for
/// |n| < 2¹¹) and the tail ln 2 − head.
const LN2_HI: f64 = 0.693_147_180_369_123_8;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// 1.5 · 2⁵²: adding it rounds a double of magnitude < 2⁵¹ to an integer held in the low
/// mantissa bits.
const ROUND_SHIFT: f64 = 6_755_399_441_055_744.0;

/// 1/k! for k = 0..=13 (Horner from the top).
const INV_FACTORIAL: [f64; 14] = [
    1.0,
    1.0,
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// e^x, branch-free (module docs: algorithm and accuracy). Inline it into a loop run
/// under [`vectorised`] for the speed; called alone it is a correct scalar `exp`.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    // Clamp (NaN passes through both comparisons unchanged).
    let x = if x < -746.0 { -746.0 } else { x };
    let x = if x > 710.0 { 710.0 } else { x };
    let shifted = x * std::f64::consts::LOG2_E + ROUND_SHIFT;
    let n = shifted - ROUND_SHIFT;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // e^r = 1 + (r + r² q(r)), q by Horner from 1/13! down to 1/2!: the leading 1 is
    // added last, so the rounding errors of the small terms count relative to them, not
    // to the result.
    let mut q = INV_FACTORIAL[13];
    for c in INV_FACTORIAL[2..13].iter().rev() {
        q = q * r + c;
    }
    let p = 1.0 + (r + (r * r) * q);
    // n as an integer: the low mantissa bits of `shifted`, offset by the shift's bits
    // (two's complement, so negative n come out right through the wrapping arithmetic).
    let n_int = shifted.to_bits().wrapping_sub(ROUND_SHIFT.to_bits()) as i64;
    // ⌊n/2⌋ by a logical shift of n + 2048 > 0 (64-bit arithmetic shifts have no AVX2
    // instruction); n ∈ [−1076, 1024] after the clamp.
    // (Wrapping: a NaN input makes n meaningless, and the product stays NaN.)
    let half = ((n_int.wrapping_add(2048) as u64) >> 1) as i64 - 1024;
    let rest = n_int.wrapping_sub(half);
    let pow2 = |k: i64| f64::from_bits((k.wrapping_add(1023) as u64) << 52);
    p * pow2(half) * pow2(rest)
}

/// fdlibm's minimax coefficients of (ln(1+f) − f + f²/2 − s·f²/2)/s³ in s² (Lg1..Lg7 of
/// `e_log.c`; error below 2⁻⁵⁸·⁴⁵ on the reduced interval).
const LG: [f64; 7] = [
    6.666_666_666_666_735e-1,
    3.999_999_999_940_942e-1,
    2.857_142_874_366_239e-1,
    2.222_219_843_214_978_4e-1,
    1.818_357_216_161_805e-1,
    1.531_383_769_920_937_3e-1,
    1.479_819_860_511_658_6e-1,
];
/// The high 32 bits of √½'s bit pattern: the reduction puts the mantissa in [√½, √2).
const SQRT_HALF_HI: u64 = 0x3fe6_a09e;

/// ln x, branch-free (fdlibm's `e_log.c` algorithm): x = 2^k z with z ∈ [√½, √2),
/// f = z − 1, s = f/(2 + f) and
///
/// $$ \ln x = k\ln2_{hi} + \big(f - \tfrac{f^2}{2} + s(\tfrac{f^2}{2} + R(s^2)) + k\ln2_{lo}\big) $$
///
/// with R fdlibm's degree-14 minimax polynomial. Subnormal x are scaled by 2⁵⁴ first;
/// ln 0 = −∞, ln x = NaN for x < 0 and for NaN, ln ∞ = ∞. Within 1 ulp of glibc's `ln`
/// (`tests/simd.rs`); inline it into a loop run under [`vectorised`] for the speed.
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    let subnormal = x < f64::MIN_POSITIVE;
    let xs = if subnormal {
        x * 18_014_398_509_481_984.0
    } else {
        x
    };
    // The exponent with the mantissa split at √½ (on the bit pattern: adding
    // 0x3ff00000 − 0x3fe6a09e to the high word carries into the exponent exactly when the
    // mantissa is ≥ √½); all in u64, shifts logical (xs > 0 here, or garbage that the
    // final selects replace).
    let t = xs
        .to_bits()
        .wrapping_add((0x3ff0_0000 - SQRT_HALF_HI) << 32);
    let k = (t >> 52) as i64 - 0x3ff - if subnormal { 54 } else { 0 };
    let z = f64::from_bits((t & 0x000f_ffff_ffff_ffff).wrapping_add(SQRT_HALF_HI << 32));
    let f = z - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z2 = s * s;
    let w = z2 * z2;
    let t1 = w * (LG[1] + w * (LG[3] + w * LG[5]));
    let t2 = z2 * (LG[0] + w * (LG[2] + w * (LG[4] + w * LG[6])));
    let dk = k as f64;
    let r = s * (hfsq + (t2 + t1)) + dk * LN2_LO - hfsq + f + dk * LN2_HI;
    if x > 0.0 && x < f64::INFINITY {
        r
    } else if x == 0.0 {
        f64::NEG_INFINITY
    } else if x == f64::INFINITY {
        f64::INFINITY
    } else {
        f64::NAN
    }
}

/// The logistic function σ(a) = 1/(1 + e^{−a}), branch-free (e^{−a} = +∞ for a < −710
/// gives exactly 0, e^{−a} → 0 gives 1), within a few ulp of the correctly rounded value;
/// inline it into a loop run under [`vectorised`] for the speed.
#[inline(always)]
pub fn sigmoid(a: f64) -> f64 {
    1.0 / (1.0 + exp(-a))
}

/// e^x for every entry of `xs`, in place, vectorised ([`exp`], [`vectorised`]).
pub fn exp_in_place(xs: &mut [f64]) {
    vectorised(
        #[inline(always)]
        || {
            for v in xs.iter_mut() {
                *v = exp(*v);
            }
        },
    );
}

/// ln x of every entry of `x` into `y` (equal lengths), vectorised ([`ln`],
/// [`vectorised`]).
pub fn ln_into(x: &[f64], y: &mut [f64]) {
    vectorised(
        #[inline(always)]
        || {
            for (y, x) in y.iter_mut().zip(x) {
                *y = ln(*x);
            }
        },
    );
}

/// [`sigmoid`] of every entry, in place, vectorised.
pub fn sigmoid_in_place(xs: &mut [f64]) {
    vectorised(
        #[inline(always)]
        || {
            for v in xs.iter_mut() {
                *v = sigmoid(*v);
            }
        },
    );
}

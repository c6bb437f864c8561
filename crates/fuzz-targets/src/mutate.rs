//! A deterministic, uninstrumented mutation fuzzer: the stable-toolchain stand-in for
//! libFuzzer that `tests/replay.rs` runs in CI.
//!
//! Mutant `i` of a target is a pure function of (target key, `i`) and the seed files: its
//! generator is `NoiseStreams::new(FUZZ_SEED, streams::FUZZ_MUTATIONS).rng(key, i)`, so a
//! reported mutant is reproduced from its iteration number alone, whatever else ran
//! before it. A mutant starts from one seed chosen uniformly and applies 1 to
//! [`MAX_STACKED`] operators ([`Mutation`]) in a row, as libFuzzer stacks its own: bit
//! flips, bytes set to 0 / 0xff / 0x7f / 0x80 or to a random value, inserted, removed
//! and duplicated byte runs, splices with another seed, 8-byte little-endian f64 bit
//! patterns (NaN with any payload, ±∞, ±0, subnormals, ±f64::MAX, random bits) written
//! over or inserted at any offset, and, for the text targets, number literals replaced by
//! edge-case literals and such literals inserted anywhere.
//!
//! What it is not: there is no coverage feedback (a mutant that reaches a new branch is
//! not kept), so it explores the neighbourhood of the seeds only; coverage-guided
//! fuzzing remains `cargo xtask fuzz` on nightly.

use meanfield::measures::{NoiseStreams, ParticleRng, streams};
use rand::RngExt;

/// The base seed of every mutant generator (fixed: CI replays the same mutants).
pub const FUZZ_SEED: u64 = 0x6d65_616e_6669_656c;

/// At most this many operators are applied to one mutant.
pub const MAX_STACKED: usize = 4;

/// The longest inserted, removed or duplicated byte run.
pub const MAX_RUN: usize = 16;

/// A mutant is cut to the longest seed plus this many bytes.
pub const MAX_GROWTH: usize = 256;

/// The byte values a byte is set to ("interesting" values of libFuzzer's `ChangeByte`).
pub const INTERESTING_BYTES: [u8; 4] = [0x00, 0xff, 0x7f, 0x80];

/// The f64 bit patterns a mutant writes: NaN (quiet, negative, signalling with payload
/// 1), ±∞, ±0, the smallest and largest subnormals, ±the smallest normal, ±f64::MAX,
/// machine epsilon, ±1 and two extreme magnitudes.
pub const INTERESTING_F64_BITS: [u64; 20] = [
    0x7ff8_0000_0000_0000, // NaN
    0xfff8_0000_0000_0000, // −NaN
    0x7ff0_0000_0000_0001, // signalling NaN, payload 1
    0x7ff0_0000_0000_0000, // +∞
    0xfff0_0000_0000_0000, // −∞
    0x0000_0000_0000_0000, // +0
    0x8000_0000_0000_0000, // −0
    0x0000_0000_0000_0001, // 5e-324, smallest subnormal
    0x000f_ffff_ffff_ffff, // largest subnormal
    0x8000_0000_0000_0001, // −5e-324
    0x0010_0000_0000_0000, // f64::MIN_POSITIVE
    0x8010_0000_0000_0000, // −f64::MIN_POSITIVE
    0x7fef_ffff_ffff_ffff, // f64::MAX
    0xffef_ffff_ffff_ffff, // f64::MIN
    0x3cb0_0000_0000_0000, // f64::EPSILON
    0x3ff0_0000_0000_0000, // 1
    0xbff0_0000_0000_0000, // −1
    0x7e37_e43c_8800_759c, // 1e300
    0x01a5_6e1f_c2f8_f359, // 1e-300
    0x4330_0000_0000_0000, // 2⁵²
];

/// Literals written into the text inputs (TOML configurations, checkpoint and report
/// JSON, CSV files): zero and signs, IEEE specials in their spellings, overflowing and
/// underflowing decimals, integers at the u64 / i64 / u32 boundaries, and structural
/// tokens.
pub const INTERESTING_TOKENS: [&str; 32] = [
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "0.0",
    "-0.0",
    "1e-320",
    "5e-324",
    "1e308",
    "1e309",
    "-1e309",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "1e18",
    "true",
    "null",
    "\"\"",
    "[]",
    "{}",
    ",",
    "\"",
    "\n",
    "=",
];

/// One mutation operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    /// One bit flipped.
    FlipBit,
    /// One byte set to one of [`INTERESTING_BYTES`].
    InterestingByte,
    /// One byte set to a random value.
    RandomByte,
    /// A run of 1 to [`MAX_RUN`] bytes inserted (random bytes or one value repeated).
    InsertRun,
    /// A run of 1 to [`MAX_RUN`] bytes removed.
    RemoveRun,
    /// A run of the input copied to another position.
    DuplicateRun,
    /// A prefix of the input joined to a suffix of another seed.
    Splice,
    /// 8 bytes overwritten with (or inserted as) a little-endian f64: one of
    /// [`INTERESTING_F64_BITS`], a random NaN or subnormal payload, or random bits.
    F64Pattern,
    /// One of [`INTERESTING_TOKENS`] inserted.
    Token,
    /// A decimal number literal of the text replaced by one of [`INTERESTING_TOKENS`].
    NumberSwap,
}

/// Every operator, drawn uniformly.
pub const MUTATIONS: [Mutation; 10] = [
    Mutation::FlipBit,
    Mutation::InterestingByte,
    Mutation::RandomByte,
    Mutation::InsertRun,
    Mutation::RemoveRun,
    Mutation::DuplicateRun,
    Mutation::Splice,
    Mutation::F64Pattern,
    Mutation::Token,
    Mutation::NumberSwap,
];

/// One generated input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutant {
    /// Index (into the seeds given to [`mutant`]) of the seed it started from.
    pub seed: usize,
    /// Index of the seed spliced in, if a [`Mutation::Splice`] was applied (the last one).
    pub spliced: Option<usize>,
    /// The operators applied, in order.
    pub applied: Vec<Mutation>,
    /// The input.
    pub bytes: Vec<u8>,
}

/// Mutant `iteration` of the target keyed `key`, from `seeds` (not empty), cut to
/// `max_len` bytes. Deterministic: the same arguments give the same mutant.
///
/// # Panics
/// If `seeds` is empty (a target without seeds is a test-setup error).
pub fn mutant(seeds: &[Vec<u8>], key: u64, iteration: u64, max_len: usize) -> Mutant {
    assert!(!seeds.is_empty(), "a mutant needs at least one seed");
    let mut rng = NoiseStreams::new(FUZZ_SEED, streams::FUZZ_MUTATIONS).rng(key, iteration);
    let seed = rng.random_range(0..seeds.len());
    let mut bytes = seeds[seed].clone();
    let mut spliced = None;
    let stacked = rng.random_range(1..=MAX_STACKED);
    let mut applied = Vec::with_capacity(stacked);
    for _ in 0..stacked {
        let op = MUTATIONS[rng.random_range(0..MUTATIONS.len())];
        if op == Mutation::Splice {
            spliced = Some(rng.random_range(0..seeds.len()));
        }
        apply(
            op,
            &mut bytes,
            spliced.map(|s| seeds[s].as_slice()),
            &mut rng,
        );
        applied.push(op);
    }
    bytes.truncate(max_len);
    Mutant {
        seed,
        spliced,
        applied,
        bytes,
    }
}

/// Applies `op` to `bytes` (`other` is the seed a splice joins).
fn apply(op: Mutation, bytes: &mut Vec<u8>, other: Option<&[u8]>, rng: &mut ParticleRng) {
    let len = bytes.len();
    match op {
        Mutation::FlipBit if len > 0 => {
            let at = rng.random_range(0..len);
            bytes[at] ^= 1 << rng.random_range(0..8);
        }
        Mutation::InterestingByte if len > 0 => {
            let at = rng.random_range(0..len);
            bytes[at] = INTERESTING_BYTES[rng.random_range(0..INTERESTING_BYTES.len())];
        }
        Mutation::RandomByte if len > 0 => {
            let at = rng.random_range(0..len);
            bytes[at] = rng.random();
        }
        Mutation::RemoveRun if len > 0 => {
            let start = rng.random_range(0..len);
            let n = rng.random_range(1..=MAX_RUN.min(len - start));
            bytes.drain(start..start + n);
        }
        Mutation::DuplicateRun if len > 0 => {
            let start = rng.random_range(0..len);
            let n = rng.random_range(1..=MAX_RUN.min(len - start));
            let run = bytes[start..start + n].to_vec();
            let at = rng.random_range(0..=len);
            bytes.splice(at..at, run);
        }
        Mutation::Splice => {
            let other = other.expect("a splice has a partner seed");
            let cut = rng.random_range(0..=len);
            let from = rng.random_range(0..=other.len());
            bytes.truncate(cut);
            bytes.extend_from_slice(&other[from..]);
        }
        Mutation::F64Pattern => {
            let bits = match rng.random_range(0..4) {
                0 | 1 => INTERESTING_F64_BITS[rng.random_range(0..INTERESTING_F64_BITS.len())],
                // A NaN with a random payload and sign, or a random subnormal.
                2 => {
                    let mantissa = rng.random::<u64>() & 0x000f_ffff_ffff_ffff;
                    let sign = rng.random::<u64>() & 0x8000_0000_0000_0000;
                    if rng.random() {
                        sign | 0x7ff0_0000_0000_0000 | mantissa.max(1)
                    } else {
                        sign | mantissa
                    }
                }
                _ => rng.random(),
            };
            let pattern = bits.to_le_bytes();
            if len >= 8 && rng.random_range(0..4) > 0 {
                let at = rng.random_range(0..=len - 8);
                bytes[at..at + 8].copy_from_slice(&pattern);
            } else {
                let at = rng.random_range(0..=len);
                bytes.splice(at..at, pattern);
            }
        }
        Mutation::NumberSwap => {
            let token = INTERESTING_TOKENS[rng.random_range(0..INTERESTING_TOKENS.len())];
            // No literal to replace: inserted anywhere, as `Token` does.
            let (start, end) = pick_number(bytes, rng).unwrap_or_else(|| {
                let at = rng.random_range(0..=len);
                (at, at)
            });
            bytes.splice(start..end, token.bytes());
        }
        Mutation::Token => {
            let token = INTERESTING_TOKENS[rng.random_range(0..INTERESTING_TOKENS.len())];
            let at = rng.random_range(0..=len);
            bytes.splice(at..at, token.bytes());
        }
        // InsertRun, and the byte operators on an empty input.
        _ => {
            let n = rng.random_range(1..=MAX_RUN);
            let run: Vec<u8> = if rng.random() {
                (0..n).map(|_| rng.random()).collect()
            } else {
                let b = if rng.random() {
                    INTERESTING_BYTES[rng.random_range(0..INTERESTING_BYTES.len())]
                } else {
                    rng.random()
                };
                vec![b; n]
            };
            let at = rng.random_range(0..=len);
            bytes.splice(at..at, run);
        }
    }
}

/// The byte range of a decimal number literal (an optional sign, digits, `.`, an
/// exponent) chosen uniformly among those of `bytes`, if it has any.
fn pick_number(bytes: &[u8], rng: &mut ParticleRng) -> Option<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let mut start = i;
            if start > 0 && matches!(bytes[start - 1], b'-' | b'+') {
                start -= 1;
            }
            let mut end = i;
            while end < bytes.len()
                && (bytes[end].is_ascii_digit()
                    || matches!(bytes[end], b'.' | b'e' | b'E')
                    || (matches!(bytes[end], b'-' | b'+') && matches!(bytes[end - 1], b'e' | b'E')))
            {
                end += 1;
            }
            spans.push((start, end));
            i = end;
        } else {
            i += 1;
        }
    }
    (!spans.is_empty()).then(|| spans[rng.random_range(0..spans.len())])
}

/// The bytes as lowercase hexadecimal, two digits each (how a finding is reported).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds() -> Vec<Vec<u8>> {
        vec![
            b"[alpha]\nn = 100\nx = -1.5e3\n".to_vec(),
            (0u8..40).collect(),
            Vec::new(),
        ]
    }

    #[test]
    fn a_mutant_is_a_function_of_key_and_iteration() {
        let s = seeds();
        for i in 0..200 {
            assert_eq!(mutant(&s, 3, i, 1 << 12), mutant(&s, 3, i, 1 << 12));
        }
        let differ = (0..200)
            .filter(|&i| mutant(&s, 3, i, 1 << 12) != mutant(&s, 4, i, 1 << 12))
            .count();
        assert!(
            differ > 150,
            "keys 3 and 4 share {} of 200 mutants",
            200 - differ
        );
    }

    #[test]
    fn every_operator_is_drawn_and_changes_inputs() {
        let s = seeds();
        let mut seen = [0usize; MUTATIONS.len()];
        let mut changed = 0;
        for i in 0..2000 {
            let m = mutant(&s, 0, i, 1 << 12);
            for op in &m.applied {
                seen[MUTATIONS.iter().position(|o| o == op).unwrap()] += 1;
            }
            assert!((1..=MAX_STACKED).contains(&m.applied.len()));
            assert_eq!(m.spliced.is_some(), m.applied.contains(&Mutation::Splice));
            changed += usize::from(m.bytes != s[m.seed]);
        }
        // 2000 mutants × 2.5 operators / 10 operators ≈ 500 each.
        assert!(seen.iter().all(|&n| n > 300), "{seen:?}");
        assert!(
            changed > 1800,
            "{changed} of 2000 mutants differ from their seed"
        );
    }

    #[test]
    fn number_swap_replaces_a_whole_literal() {
        let mut rng = NoiseStreams::new(1, streams::FUZZ_MUTATIONS).rng(0, 0);
        let text = b"a = -1.5e-3, b = 7";
        for _ in 0..50 {
            let (s, e) = pick_number(text, &mut rng).unwrap();
            let lit = std::str::from_utf8(&text[s..e]).unwrap();
            assert!(lit == "-1.5e-3" || lit == "7", "{lit}");
        }
        assert_eq!(pick_number(b"no digits", &mut rng), None);
    }

    #[test]
    fn f64_patterns_cover_the_special_classes() {
        let v = INTERESTING_F64_BITS.map(f64::from_bits);
        assert!(v.iter().any(|x| x.is_nan() && x.is_sign_negative()));
        assert!(v.contains(&f64::INFINITY));
        assert!(v.contains(&f64::NEG_INFINITY));
        assert!(v.iter().any(|x| x.is_subnormal()));
        assert!(v.contains(&f64::MAX) && v.contains(&f64::MIN));
        assert!(v.contains(&1e300) && v.contains(&1e-300));
        assert_eq!(hex(&[0, 0xab, 0x7f]), "00ab7f");
    }
}

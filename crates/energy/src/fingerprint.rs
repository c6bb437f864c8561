//! Fingerprints of energies: short strings that identify an energy and every parameter
//! or datum that changes its values.
//!
//! Dynamics put an energy's fingerprint ([`Functional::fingerprint`],
//! [`Objective::fingerprint`], [`LatentModel::fingerprint`]) into their checkpoint
//! fingerprints, so a checkpoint written under one energy is never resumed under another
//! (other κ, b, data set, shift, …). [`Fingerprint`] is the builder every energy of this
//! crate uses:
//!
//! ```
//! use meanfield_energy::fingerprint::Fingerprint;
//!
//! let fp = Fingerprint::new("quadratic-interaction")
//!     .param("kappa", 0.5)
//!     .values("b", &[1.0, -2.0])
//!     .finish();
//! assert_eq!(fp, "quadratic-interaction(kappa=5e-1,b=[1e0,-2e0])");
//! ```
//!
//! **Rendering.** A fingerprint reads `kind(name=value,…)`, the parameters in the order
//! they were added:
//!
//! | value | rendered as | example |
//! |---|---|---|
//! | `f64` | `{:e}` (the shortest string that parses back to the same f64; −0 ≠ 0) | `5e-1` |
//! | integers | decimal | `3` |
//! | `bool` | `true` / `false` | `true` |
//! | string | quoted and escaped (`{:?}`), so it cannot be confused with the syntax | `"ackley"` |
//! | ≤ [`INLINE_MAX`] f64 values | every value, `[v0,v1,…]` | `[1e0,-2e0]` |
//! | > [`INLINE_MAX`] f64 values | length and 64-bit FNV-1a [`digest`] of the bit patterns | `<n=120,fnv1a64=0123456789abcdef>` |
//!
//! Short vectors are therefore exact, and long data (a data set, a weight matrix) costs a
//! few dozen characters whatever its size. Every finite value and ±∞ is rendered
//! exactly; all NaNs render alike inline (the constructors of this crate reject NaN).
//!
//! **What to include.** Everything that enters the values or the gradients, and nothing
//! else: a parallelism setting whose results are bit-identical (see
//! [`crate::TwoLayerNet`]) is left out, so a run can be resumed on another thread
//! count. Give each type its own `kind` so that two energies with the same numbers never
//! share a fingerprint.
//!
//! [`Functional::fingerprint`]: crate::Functional::fingerprint
//! [`Objective::fingerprint`]: crate::Objective::fingerprint
//! [`LatentModel::fingerprint`]: crate::LatentModel::fingerprint

use std::fmt::Write as _;

/// Longest f64 slice [`Fingerprint::values`] renders value by value; longer slices are
/// rendered as their length and [`digest`].
pub const INLINE_MAX: usize = 16;

/// FNV-1a 64-bit offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a digest of `values`: the bytes of the length (as a little-endian `u64`),
/// then the little-endian bytes of every value's bit pattern ([`f64::to_bits`]), in
/// order. Changing one bit of one value, or the length, changes the digest (FNV-1a's
/// per-byte step is a bijection of the state, so one changed byte always shows; longer
/// differences collide with probability about 2⁻⁶⁴). Not cryptographic.
pub fn digest(values: &[f64]) -> u64 {
    let mut h = fnv1a(FNV_OFFSET, &(values.len() as u64).to_le_bytes());
    for v in values {
        h = fnv1a(h, &v.to_bits().to_le_bytes());
    }
    h
}

/// FNV-1a: folds `bytes` into the state `h`.
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// A scalar parameter [`Fingerprint::param`] can render (module docs give the forms).
pub trait FingerprintParam {
    /// Appends the rendered value to `out`.
    fn render(&self, out: &mut String);
}

impl FingerprintParam for f64 {
    /// `{:e}`: shortest round-trip form (`5e-1`, `-0e0`, `inf`).
    fn render(&self, out: &mut String) {
        let _ = write!(out, "{self:e}");
    }
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl FingerprintParam for $t {
            /// Decimal.
            fn render(&self, out: &mut String) {
                let _ = write!(out, "{self}");
            }
        }
    )*};
}
int_param!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl FingerprintParam for bool {
    /// `true` or `false`.
    fn render(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl FingerprintParam for str {
    /// Quoted and escaped (`{:?}`).
    fn render(&self, out: &mut String) {
        let _ = write!(out, "{self:?}");
    }
}

impl FingerprintParam for String {
    /// As [`str`].
    fn render(&self, out: &mut String) {
        self.as_str().render(out);
    }
}

impl<T: FingerprintParam + ?Sized> FingerprintParam for &T {
    /// As `T`.
    fn render(&self, out: &mut String) {
        (**self).render(out);
    }
}

/// Builder of a fingerprint `kind(name=value,…)` (module docs).
///
/// Parameter names are written as given; use plain identifiers (no `=`, `,`, `(`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a fingerprint does nothing until `finish` is called"]
pub struct Fingerprint {
    out: String,
    empty: bool,
}

impl Fingerprint {
    /// Starts the fingerprint of an energy of kind `kind` (a name unique to its type,
    /// e.g. `"quadratic-interaction"`).
    pub fn new(kind: &str) -> Self {
        let mut out = String::with_capacity(kind.len() + 64);
        out.push_str(kind);
        out.push('(');
        Self { out, empty: true }
    }

    /// Writes the separator and `name=`.
    fn key(&mut self, name: &str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        self.out.push_str(name);
        self.out.push('=');
        &mut self.out
    }

    /// Adds a scalar parameter: an `f64` (exact), an integer, a `bool` or a string.
    pub fn param<V: FingerprintParam>(mut self, name: &str, value: V) -> Self {
        value.render(self.key(name));
        self
    }

    /// Adds a vector of values: inline (`[v0,v1,…]`, each as in [`Fingerprint::param`])
    /// when it has at most [`INLINE_MAX`] entries, otherwise as
    /// `<n=LEN,fnv1a64=DIGEST>` with the [`digest`] in 16 hex digits.
    pub fn values(mut self, name: &str, values: &[f64]) -> Self {
        let out = self.key(name);
        if values.len() <= INLINE_MAX {
            out.push('[');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                v.render(out);
            }
            out.push(']');
        } else {
            let _ = write!(out, "<n={},fnv1a64={:016x}>", values.len(), digest(values));
        }
        self
    }

    /// The fingerprint string.
    pub fn finish(mut self) -> String {
        self.out.push(')');
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published FNV-1a 64 test vectors.
    #[test]
    fn fnv1a_matches_reference_vectors() {
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0x8594_4171_f739_67e8);
    }
}

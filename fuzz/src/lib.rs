//! Input decoding shared by the fuzz targets: the raw bytes are read front to back as
//! control bytes and little-endian f64s (8 bytes each, `f64::from_le_bytes`).

/// A cursor over the fuzzer's bytes.
pub struct Input<'a> {
    bytes: &'a [u8],
}

impl<'a> Input<'a> {
    /// Reads `bytes` from the start.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The next byte, if any.
    pub fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(b)
    }

    /// The next 8 bytes as a little-endian f64 (any bit pattern: NaN, ±∞, subnormal).
    pub fn f64(&mut self) -> Option<f64> {
        let (head, rest) = self.bytes.split_first_chunk::<8>()?;
        self.bytes = rest;
        Some(f64::from_le_bytes(*head))
    }

    /// The next f64 with NaN and ±∞ replaced by 0 (an arbitrary *finite* value).
    pub fn finite(&mut self) -> Option<f64> {
        self.f64().map(finite)
    }

    /// `n` finite f64s, or `None` if the input runs out.
    pub fn finite_vec(&mut self, n: usize) -> Option<Vec<f64>> {
        (0..n).map(|_| self.finite()).collect()
    }

    /// All remaining whole 8-byte chunks as f64s (a trailing partial chunk is dropped).
    pub fn rest_f64(self) -> Vec<f64> {
        floats(self.bytes)
    }
}

/// Every whole 8-byte chunk of `bytes` as a little-endian f64.
pub fn floats(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("chunk of 8")))
        .collect()
}

/// `v` if finite, else 0.
pub fn finite(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

/// Naive sum (what a user of the weights or the simplex point would compute).
pub fn sum(x: &[f64]) -> f64 {
    x.iter().sum()
}

//! Input decoding shared by the fuzz targets: the raw bytes are read front to back as
//! control bytes, little-endian f64s (8 bytes each, `f64::from_le_bytes`) and "tame"
//! numbers (2 bytes each, a bounded grid for targets that compare against a reference
//! and need well-scaled input), plus the HTML/SVG tag check of the report target.

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

    /// A number in `0..n` from the next byte (0 when the input has run out or `n` = 0).
    pub fn below(&mut self, n: usize) -> usize {
        match (self.byte(), n) {
            (_, 0) | (None, _) => 0,
            (Some(b), n) => b as usize % n,
        }
    }

    /// A tame number in [−scale, scale]: the next 2 bytes as an i16, times scale/2¹⁵
    /// (0 when the input has run out).
    pub fn tame(&mut self, scale: f64) -> f64 {
        let (Some(a), Some(b)) = (self.byte(), self.byte()) else {
            return 0.0;
        };
        f64::from(i16::from_le_bytes([a, b])) / 32768.0 * scale
    }

    /// `n` tame numbers in [−scale, scale] (zeros once the input has run out).
    pub fn tame_vec(&mut self, n: usize, scale: f64) -> Vec<f64> {
        (0..n).map(|_| self.tame(scale)).collect()
    }

    /// `n` f64s, any bit pattern (zeros once the input has run out).
    pub fn f64_vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.f64().unwrap_or(0.0)).collect()
    }

    /// The remaining bytes, unread.
    pub fn rest(self) -> &'a [u8] {
        self.bytes
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

/// The remaining-input text: the bytes as UTF-8 with invalid sequences replaced.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Panics unless every `<` of `markup` opens (or closes) one of the `allowed` element
/// names, a comment or a doctype: user text reaching the page unescaped would add
/// others (the renderers escape every string of a report).
pub fn assert_only_tags(markup: &str, allowed: &[&str]) {
    for (pos, _) in markup.match_indices('<') {
        let rest = &markup[pos + 1..];
        if rest.starts_with("!--") || rest.starts_with("!DOCTYPE") || rest.starts_with("!doctype") {
            continue;
        }
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        assert!(
            allowed.contains(&name.as_str()),
            "unexpected markup `<{}` at byte {pos}: {:?}",
            name,
            &markup[pos..markup.len().min(pos + 80)]
        );
    }
}

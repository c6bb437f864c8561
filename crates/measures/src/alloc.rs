//! Buffers sized from user input: checked arithmetic and a process-wide size limit.
//!
//! Every buffer whose length is a product of user-given sizes (N particles × d
//! coordinates, n paths × T steps, M runs × N × d, …) is sized through [`f64_len`] (or
//! allocated through [`zeroed_f64`]): the product is computed with checked arithmetic and
//! its bytes are compared with [`max_bytes`] before anything is allocated. Too large is a
//! typed error naming the buffer, the sizes and the limit — never an abort of the whole
//! process ("memory allocation of … bytes failed") and never a wrapped product.
//!
//! The limit applies to one buffer, and to the sum of the buffers one run declares in
//! advance ([`check_total`]: every buffer of an experiment's configuration). Its default is half the machine's physical memory
//! (`MemTotal` of `/proc/meminfo`; 8 GiB where that cannot be read), so that a run fails
//! with a message instead of being killed by the system; [`set_max_bytes`] changes it
//! (`cargo xtask reproduce --max-memory`, docs/harness.md).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{MeasuresError, Result};

/// 0 = not set: use [`default_max_bytes`].
static MAX_BYTES: AtomicU64 = AtomicU64::new(0);

/// Used when the physical memory cannot be read.
const FALLBACK_MAX_BYTES: u64 = 8 << 30;

/// Half the physical memory (module docs), read once.
pub fn default_max_bytes() -> u64 {
    static DEFAULT: OnceLock<u64> = OnceLock::new();
    *DEFAULT.get_or_init(|| physical_memory().map_or(FALLBACK_MAX_BYTES, |b| b / 2))
}

fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The current limit on one buffer, in bytes.
pub fn max_bytes() -> u64 {
    match MAX_BYTES.load(Ordering::Relaxed) {
        0 => default_max_bytes(),
        b => b,
    }
}

/// Sets the limit on one buffer (process-wide); `0` restores the default.
pub fn set_max_bytes(bytes: u64) {
    MAX_BYTES.store(bytes, Ordering::Relaxed);
}

/// Number of elements of a buffer of `size_of::<T>()`-byte elements with the given
/// dimensions (`what` names the buffer, e.g. `"MGDM paths (n_paths × T)"`).
///
/// # Errors
/// [`MeasuresError::TooLarge`] if the product overflows or its bytes exceed
/// [`max_bytes`].
pub fn checked_len<T>(what: &'static str, dims: &[usize]) -> Result<usize> {
    let too_large = || MeasuresError::TooLarge {
        what,
        dims: dims.to_vec(),
        bytes: dims.iter().map(|&d| d as f64).product::<f64>() * std::mem::size_of::<T>() as f64,
        limit: max_bytes(),
    };
    let len = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(too_large)?;
    let bytes = len
        .checked_mul(std::mem::size_of::<T>())
        .ok_or_else(too_large)?;
    if bytes as u64 > max_bytes() {
        return Err(too_large());
    }
    Ok(len)
}

/// [`checked_len`] for `f64` buffers.
///
/// # Errors
/// As [`checked_len`].
pub fn f64_len(what: &'static str, dims: &[usize]) -> Result<usize> {
    checked_len::<f64>(what, dims)
}

/// Bytes of the `f64` buffers `buffers` (name, dimensions) together, each checked by
/// [`f64_len`] and their sum against the same [`max_bytes`]: the memory a run needs at
/// once when it holds all of them, refused before anything is allocated.
///
/// # Errors
/// [`MeasuresError::TooLarge`] for the first buffer above the limit on its own;
/// [`MeasuresError::TotalTooLarge`] naming `what` when the sum is above it.
pub fn check_total(what: &str, buffers: &[(&'static str, Vec<usize>)]) -> Result<u64> {
    let mut sized = Vec::with_capacity(buffers.len());
    for (name, dims) in buffers {
        sized.push((*name, f64_len(name, dims)? as u64 * 8));
    }
    // Each term is ≤ max_bytes ≤ u64::MAX, so the sum can still overflow: saturate.
    let total = sized
        .iter()
        .fold(0u64, |acc, (_, b)| acc.saturating_add(*b));
    if total > max_bytes() {
        return Err(MeasuresError::TotalTooLarge {
            what: what.to_string(),
            buffers: sized.iter().map(|(n, b)| (*n, *b as f64)).collect(),
            bytes: sized.iter().map(|(_, b)| *b as f64).sum(),
            limit: max_bytes(),
        });
    }
    Ok(total)
}

/// A zero-filled `f64` buffer of the product of `dims` elements, checked by [`f64_len`]
/// and allocated fallibly (an allocation the system refuses is the same typed error).
///
/// # Errors
/// [`MeasuresError::TooLarge`].
pub fn zeroed_f64(what: &'static str, dims: &[usize]) -> Result<Vec<f64>> {
    let len = f64_len(what, dims)?;
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| MeasuresError::TooLarge {
            what,
            dims: dims.to_vec(),
            bytes: len as f64 * 8.0,
            limit: max_bytes(),
        })?;
    v.resize(len, 0.0);
    Ok(v)
}

/// `bytes` in binary units for messages ("1.5 GiB").
pub fn fmt_bytes(bytes: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Parses a size such as `512M`, `8G`, `1.5T`, `4096` (bytes) or `8GiB`; binary units.
///
/// # Errors
/// A message naming the text when it is not a positive size.
pub fn parse_bytes(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}` (use B, K, M, G or T)"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 512M or 8G"))?;
    let bytes = value * scale as f64;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("`{text}`: the size must be at least one byte"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sum_of_declared_buffers_is_checked_against_the_limit() {
        // Two buffers of 0.6 × the limit each: each fits, both together do not (nothing
        // is allocated, and the process-wide limit is left as it is).
        let each = (max_bytes() / 8) as usize / 10 * 6;
        let buffers = [
            ("ensemble (n × 1)", vec![each]),
            ("paths (m × 1)", vec![each]),
        ];
        assert_eq!(
            check_total("exp", &buffers[..1]).unwrap(),
            each as u64 * 8,
            "one buffer under the limit"
        );
        let err = check_total("mmfld-simplex", &buffers).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(&err, MeasuresError::TotalTooLarge { what, buffers, .. }
                if what == "mmfld-simplex" && buffers.len() == 2),
            "{err:?}"
        );
        assert!(
            msg.contains("mmfld-simplex")
                && msg.contains("2 declared buffers")
                && msg.contains(&fmt_bytes(max_bytes() as f64))
                && msg.contains("--max-memory"),
            "{msg}"
        );
        // One buffer above the limit on its own is still named as such.
        let big = [("paths", vec![1usize << 56, 256]), ("small", vec![3])];
        assert!(matches!(
            check_total("exp", &big),
            Err(MeasuresError::TooLarge { what: "paths", .. })
        ));
        assert_eq!(check_total("none", &[]).unwrap(), 0);
    }

    #[test]
    fn sizes_are_checked_before_allocation() {
        // Products that wrap in usize are errors, not small numbers.
        let err = f64_len("paths", &[1 << 56, 256]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("paths") && msg.contains("72057594037927936"),
            "{msg}"
        );
        // 10⁸ × 256 f64 = 204.8 GB: above any default limit on a machine with < 400 GB.
        let msg = zeroed_f64("MGDM paths", &[100_000_000, 256])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("190.7 GiB") && msg.contains("--max-memory"),
            "{msg}"
        );
        assert_eq!(zeroed_f64("small", &[3, 4]).unwrap(), vec![0.0; 12]);
        assert_eq!(f64_len("empty", &[0, 5]).unwrap(), 0);
    }

    #[test]
    fn byte_sizes_parse_and_print() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("512M"), Ok(512 << 20));
        assert_eq!(parse_bytes("8GiB"), Ok(8 << 30));
        assert_eq!(parse_bytes("1.5g"), Ok(3 << 29));
        for bad in ["", "G", "-1G", "0", "8X", "1e3"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
        assert_eq!(fmt_bytes(512.0), "512 B");
        assert_eq!(fmt_bytes(1.5 * (1u64 << 30) as f64), "1.5 GiB");
    }
}

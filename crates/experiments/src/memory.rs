//! Resident memory of the process: the peak of an experiment, for its report, and the
//! current size, for the soak runs' flat-memory check.
//!
//! Linux keeps the high-water mark of the resident set size (`VmHWM` in
//! `/proc/self/status`) and resets it to the current size when `5` is written to
//! `/proc/self/clear_refs` (proc(5)). The harness resets it before each experiment and
//! reads it after, so a report's `peak_memory_bytes` is the largest resident size the
//! process reached during that experiment (the harness's own few MiB included). On other
//! systems, or where `/proc` is not writable, nothing is measured and the report says so.

/// Resets the peak resident size to the current one; `false` if that is not possible here
/// (then [`peak_rss`] would report an earlier experiment's peak and must not be used).
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", b"5").is_ok()
}

/// The peak resident size in bytes since the last [`reset_peak`] (`VmHWM`).
pub fn peak_rss() -> Option<u64> {
    status_field("VmHWM:")
}

/// The current resident size in bytes (`VmRSS`).
pub fn current_rss() -> Option<u64> {
    status_field("VmRSS:")
}

fn status_field(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status_kb(&status, key)
}

/// `KEY   123456 kB` in /proc/self/status → bytes.
fn parse_status_kb(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    let mut fields = line[key.len()..].split_whitespace();
    let value: u64 = fields.next()?.parse().ok()?;
    match fields.next()? {
        "kB" => value.checked_mul(1024),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_high_water_mark() {
        let status = "Name:\txtask\nVmPeak:\t  900 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(parse_status_kb(status, "VmHWM:"), Some(2 * 1024 * 1024));
        assert_eq!(parse_status_kb(status, "VmRSS:"), Some(1024 * 1024));
        assert_eq!(parse_status_kb("VmRSS: 1 kB\n", "VmHWM:"), None);
        assert_eq!(parse_status_kb("VmHWM: x kB\n", "VmHWM:"), None);
        assert_eq!(parse_status_kb("VmHWM: 12 MB\n", "VmHWM:"), None);
    }

    /// On Linux the reset works and a large allocation raises the peak above it; the
    /// next reset brings it back down.
    #[test]
    #[cfg(target_os = "linux")]
    fn peak_follows_a_large_allocation_and_resets() {
        assert!(reset_peak(), "/proc/self/clear_refs not writable");
        let before = peak_rss().expect("VmHWM");
        let big = vec![1u8; 256 << 20];
        std::hint::black_box(&big);
        let during = peak_rss().expect("VmHWM");
        assert!(
            during >= before + (200 << 20),
            "peak {during} did not rise by 200 MiB over {before}"
        );
        drop(big);
        assert!(reset_peak());
        let after = peak_rss().expect("VmHWM");
        assert!(
            after + (100 << 20) < during,
            "reset did not lower the peak: {after} vs {during}"
        );
    }
}

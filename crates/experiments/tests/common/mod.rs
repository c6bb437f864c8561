//! Helpers shared by the experiment snapshot tests. Each test binary compiles its own
//! copy and uses a subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use meanfield_experiments::Report;

/// Rounds every number of a JSON value to 4 significant digits so the snapshot pins the
/// numerics without depending on the last bits.
pub fn rounded(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if x == 0.0 || !x.is_finite() {
                return v.clone();
            }
            let digits = 3 - x.abs().log10().floor() as i32;
            let scale = 10f64.powi(digits);
            serde_json::json!((x * scale).round() / scale)
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(rounded).collect()),
        serde_json::Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), rounded(v))).collect(),
        other => other.clone(),
    }
}

/// The rounded summary pinned by the snapshots: identification, configuration, checks
/// and tables (series and plots are left out: they are long and derived).
pub fn summary(report: &Report) -> serde_json::Value {
    rounded(&serde_json::json!({
        "experiment": report.experiment,
        "quick": report.quick,
        "seed": report.seed,
        "config": report.config,
        "checks": report.checks,
        "tables": report.tables,
    }))
}

/// Panics naming every failed check of `report`.
pub fn assert_all_checks_pass(report: &Report) {
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.passed).collect();
    assert!(
        failed.is_empty(),
        "{}: {} of {} checks failed: {failed:#?}",
        report.experiment,
        failed.len(),
        report.checks.len()
    );
}

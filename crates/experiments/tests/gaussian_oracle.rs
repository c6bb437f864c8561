//! The `gaussian-oracle --quick` report: every check passes, and its rounded summary is
//! pinned by an insta snapshot so that any numerical change is reviewed.

use meanfield_experiments::{Report, RunContext, registry};

/// Rounds every number of a JSON value to 4 significant digits so the snapshot pins the
/// numerics without depending on the last bits.
fn rounded(v: &serde_json::Value) -> serde_json::Value {
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

fn summary(report: &Report) -> serde_json::Value {
    rounded(&serde_json::json!({
        "experiment": report.experiment,
        "quick": report.quick,
        "seed": report.seed,
        "config": report.config,
        "checks": report.checks,
        "tables": report.tables,
    }))
}

#[test]
fn gaussian_oracle_quick_passes_and_matches_snapshot() {
    let exp = registry::find("gaussian-oracle").expect("registered");
    let report = exp.run(&RunContext::quiet(true, 20261123)).expect("runs");
    for c in &report.checks {
        assert!(c.passed, "check failed: {c:?}");
    }
    insta::assert_json_snapshot!("gaussian_oracle_quick", summary(&report));
}

#[test]
fn unknown_config_key_is_a_clear_error() {
    let exp = registry::find("gaussian-oracle").expect("registered");
    let mut ctx = RunContext::quiet(true, 1);
    ctx.overrides
        .insert("no_such_key".into(), serde_json::json!(3));
    let err = exp
        .run(&ctx)
        .expect_err("unknown key must fail")
        .to_string();
    assert!(
        err.contains("no_such_key") && err.contains("kappa"),
        "{err}"
    );
}

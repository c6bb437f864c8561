//! The `soak --quick` report: every invariant, drift and memory check passes, and bad
//! settings are errors naming the key. (The full 10⁶-step run is recorded in
//! docs/harness.md §4.)

mod common;

use common::assert_all_checks_pass;
use meanfield_experiments::{CheckKind, RunContext, registry};

#[test]
fn soak_quick_passes_every_check() {
    let exp = registry::find("soak").expect("registered");
    let report = exp.run(&RunContext::quiet(true, 20261123)).expect("runs");
    assert_all_checks_pass(&report);
    // Two invariants per run are exact, the drift and mean checks statistical; the
    // memory ranges and "it resampled" are thresholds.
    let exact = report
        .checks
        .iter()
        .filter(|c| c.kind == CheckKind::Exact)
        .count();
    let statistical = report
        .checks
        .iter()
        .filter(|c| c.kind == CheckKind::Statistical)
        .count();
    assert_eq!((exact, statistical), (4, 3), "{:#?}", report.checks);
    let runs = &report.tables["runs"];
    assert_eq!(runs.rows.len(), 2);
}

#[test]
fn soak_rejects_bad_settings_naming_the_key() {
    let exp = registry::find("soak").expect("registered");
    for (key, value) in [
        ("steps", serde_json::json!(100)),
        ("eta", serde_json::json!(0.0)),
        ("resample_below", serde_json::json!(1.5)),
        ("beta", serde_json::json!(-1.0)),
    ] {
        let mut ctx = RunContext::quiet(true, 1);
        ctx.overrides.insert(key.into(), value);
        let err = exp.run(&ctx).expect_err(key).to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
}

//! The `--quick` reports of `mmfld-simplex`, `mfld-bias` and `mfld-chaos`: every check
//! passes, and their rounded summaries are pinned by insta snapshots so that any
//! numerical change is reviewed.

mod common;

use common::{assert_all_checks_pass, summary};
use meanfield_experiments::{RunContext, registry};

const SEED: u64 = 20261123;

fn quick_report(name: &str) -> meanfield_experiments::Report {
    let exp = registry::find(name).expect("registered");
    exp.run(&RunContext::quiet(true, SEED)).expect("runs")
}

#[test]
fn mmfld_simplex_quick_passes_and_matches_snapshot() {
    let report = quick_report("mmfld-simplex");
    assert_all_checks_pass(&report);
    // The paper's scheme drifts into the boundary layer, the adjusted one does not.
    let table = &report.tables["β = 0: boundary mass and marginal x_1"];
    let mass = |row: usize| table.rows[row][2].as_f64().expect("number");
    assert!(
        mass(1) > 10.0 * mass(2),
        "paper {} vs adjusted {}",
        mass(1),
        mass(2)
    );
    insta::assert_json_snapshot!("mmfld_simplex_quick", summary(&report));
}

#[test]
fn mfld_bias_quick_passes_and_matches_snapshot() {
    let report = quick_report("mfld-bias");
    assert_all_checks_pass(&report);
    insta::assert_json_snapshot!("mfld_bias_quick", summary(&report));
}

#[test]
fn mfld_chaos_quick_passes_and_matches_snapshot() {
    let report = quick_report("mfld-chaos");
    assert_all_checks_pass(&report);
    insta::assert_json_snapshot!("mfld_chaos_quick", summary(&report));
}

#[test]
fn unknown_config_keys_are_clear_errors() {
    for (name, known) in [
        ("mmfld-simplex", "barrier_beta"),
        ("mfld-bias", "etas"),
        ("mfld-chaos", "seeds"),
    ] {
        let exp = registry::find(name).expect("registered");
        let mut ctx = RunContext::quiet(true, 1);
        ctx.overrides
            .insert("no_such_key".into(), serde_json::json!(3));
        let err = exp
            .run(&ctx)
            .expect_err("unknown key must fail")
            .to_string();
        assert!(
            err.contains("no_such_key") && err.contains(known),
            "{name}: {err}"
        );
    }
}

#[test]
fn invalid_values_are_clear_errors() {
    for (name, key, value) in [
        (
            "mmfld-simplex",
            "init_concentration",
            serde_json::json!(0.3),
        ),
        ("mmfld-simplex", "eps", serde_json::json!(0.5)),
        ("mfld-bias", "etas", serde_json::json!([0.1, 2.5, 0.05])),
        ("mfld-chaos", "seeds", serde_json::json!(1)),
    ] {
        let exp = registry::find(name).expect("registered");
        let mut ctx = RunContext::quiet(true, 1);
        ctx.overrides.insert(key.into(), value);
        let err = exp
            .run(&ctx)
            .expect_err("invalid value must fail")
            .to_string();
        assert!(err.contains("invalid configuration"), "{name}.{key}: {err}");
    }
}

//! The `gaussian-oracle --quick` report: every check passes, and its rounded summary is
//! pinned by an insta snapshot so that any numerical change is reviewed.

mod common;

use common::{assert_all_checks_pass, summary};
use meanfield_experiments::{RunContext, registry};

#[test]
fn gaussian_oracle_quick_passes_and_matches_snapshot() {
    let exp = registry::find("gaussian-oracle").expect("registered");
    let report = exp.run(&RunContext::quiet(true, 20261123)).expect("runs");
    assert_all_checks_pass(&report);
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

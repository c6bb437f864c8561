//! The Fisher–Rao experiments (`fisher-rao-oracle`, `fisher-rao-bandwidth`,
//! `fisher-rao-chaos`) in their `--quick` form: every check passes (oracle agreement
//! within Monte-Carlo error, chaos slopes in [−1.2, −0.8]), and their rounded summaries
//! are pinned by insta snapshots.

mod common;

use common::{assert_all_checks_pass, summary};
use meanfield_experiments::{RunContext, registry};

fn run(name: &str) -> meanfield_experiments::Report {
    let exp = registry::find(name).expect("registered");
    let report = exp.run(&RunContext::quiet(true, 20261123)).expect("runs");
    assert_all_checks_pass(&report);
    report
}

#[test]
fn fisher_rao_oracle_quick_passes_and_matches_snapshot() {
    insta::assert_json_snapshot!(
        "fisher_rao_oracle_quick",
        summary(&run("fisher-rao-oracle"))
    );
}

#[test]
fn fisher_rao_bandwidth_quick_passes_and_matches_snapshot() {
    insta::assert_json_snapshot!(
        "fisher_rao_bandwidth_quick",
        summary(&run("fisher-rao-bandwidth"))
    );
}

#[test]
fn fisher_rao_chaos_quick_passes_and_matches_snapshot() {
    insta::assert_json_snapshot!("fisher_rao_chaos_quick", summary(&run("fisher-rao-chaos")));
}

#[test]
fn bad_configurations_are_clear_errors() {
    for (name, key, value) in [
        ("fisher-rao-oracle", "eps", serde_json::json!(-1.0)),
        (
            "fisher-rao-bandwidth",
            "bandwidths",
            serde_json::json!([0.5, 0.2, 0.9]),
        ),
        ("fisher-rao-chaos", "seeds", serde_json::json!(1)),
        ("fisher-rao-chaos", "no_such_key", serde_json::json!(1)),
    ] {
        let exp = registry::find(name).expect("registered");
        let mut ctx = RunContext::quiet(true, 1);
        ctx.overrides.insert(key.into(), value);
        let err = exp.run(&ctx).expect_err("must fail").to_string();
        assert!(!err.is_empty(), "{name}: {err}");
    }
}

//! The `--quick` reports of `mpgd-toy`, `mpgd-blr` and `mpgd-digits` (PGD, MPD and, in
//! the first two, ParEM's PQN and PMGD): every check passes,
//! the rounded summaries are pinned by insta snapshots, the toy run does not depend on
//! the thread count, and bad configurations are typed errors.

mod common;

use common::{assert_all_checks_pass, summary};
use meanfield_experiments::{RunContext, registry};

const SEED: u64 = 20261123;

fn quick_report(name: &str) -> meanfield_experiments::Report {
    let exp = registry::find(name).expect("registered");
    exp.run(&RunContext::quiet(true, SEED)).expect("runs")
}

#[test]
fn mpgd_toy_quick_passes_and_matches_snapshot() {
    let report = quick_report("mpgd-toy");
    assert_all_checks_pass(&report);
    assert_eq!(
        report.series.len(),
        7,
        "θ of PGD, three MPD regimes, PQN, PMGD, θ̂"
    );
    insta::assert_json_snapshot!("mpgd_toy_quick", summary(&report));
}

#[test]
fn mpgd_blr_quick_passes_and_matches_snapshot() {
    let report = quick_report("mpgd-blr");
    assert_all_checks_pass(&report);
    assert_eq!(
        report.series.len(),
        12,
        "test error, LPPD and θ of PGD, MPD, PQN, PMGD"
    );
    insta::assert_json_snapshot!("mpgd_blr_quick", summary(&report));
}

#[test]
fn mpgd_digits_quick_passes_and_is_thread_count_invariant() {
    let first = quick_report("mpgd-digits");
    assert_all_checks_pass(&first);
    assert_eq!(
        first.images.len(),
        3,
        "two sample grids and the training digits"
    );
    for grid in &first.images {
        assert_eq!(grid.pixels.len() % 64, 0);
        assert!(grid.pixels.iter().all(|p| (0.0..=1.0).contains(p)));
    }
    insta::assert_json_snapshot!("mpgd_digits_quick", summary(&first));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .expect("thread pool");
    let exp = registry::find("mpgd-digits").expect("registered");
    let mut second = pool
        .install(|| exp.run(&RunContext::quiet(true, SEED)))
        .expect("runs");
    second.wall_seconds = first.wall_seconds;
    assert_eq!(
        serde_json::to_string(&first).unwrap(),
        serde_json::to_string(&second).unwrap(),
        "two runs with the same seed differ"
    );
}

#[test]
fn bad_configurations_are_clear_errors() {
    for (name, known) in [
        ("mpgd-toy", "gammas"),
        ("mpgd-blr", "prior_var"),
        ("mpgd-digits", "hidden"),
    ] {
        let exp = registry::find(name).expect("registered");
        let mut ctx = RunContext::quiet(true, 1);
        ctx.overrides
            .insert("no_such_key".into(), serde_json::json!(3));
        let err = exp.run(&ctx).expect_err("unknown key").to_string();
        assert!(err.contains("no_such_key") && err.contains(known), "{err}");
    }
    for (name, key, value) in [
        ("mpgd-toy", "seeds", serde_json::json!(1)),
        ("mpgd-toy", "h_x", serde_json::json!(-1.0)),
        ("mpgd-blr", "test_fraction", serde_json::json!(1.5)),
        ("mpgd-digits", "n_images", serde_json::json!(5000)),
        // PgdParams / MpdParams deserialise through their checked constructors.
        (
            "mpgd-blr",
            "pgd",
            serde_json::json!({"h_theta": -1.0, "h_x": 0.01}),
        ),
        (
            "mpgd-digits",
            "mpd",
            serde_json::json!({"h_theta": 0.1, "h_x": 0.1, "eta_theta": 1.0,
                "eta_x": 0.0, "gamma_theta": 1.0, "gamma_x": 1.0}),
        ),
    ] {
        let exp = registry::find(name).expect("registered");
        let mut ctx = RunContext::quiet(true, 1);
        ctx.overrides.insert(key.into(), value);
        let err = exp.run(&ctx).expect_err("invalid value").to_string();
        assert!(err.contains("invalid configuration"), "{name}.{key}: {err}");
    }
}

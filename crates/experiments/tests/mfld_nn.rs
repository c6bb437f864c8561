//! The `mfld-nn --quick` report: every check passes, and the run is deterministic (two
//! runs, on thread pools of different sizes, give the same report JSON; `wall_seconds` is
//! filled by the harness, not here).

use meanfield_experiments::{RunContext, registry};

const SEED: u64 = 20261123;

#[test]
fn mfld_nn_quick_passes_and_is_deterministic() {
    let exp = registry::find("mfld-nn").expect("registered");
    let first = exp.run(&RunContext::quiet(true, SEED)).expect("runs");
    let failed: Vec<String> = first
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| {
            format!(
                "{}: value {} vs reference {} (tolerance {})",
                c.name, c.value, c.reference, c.tolerance
            )
        })
        .collect();
    assert!(failed.is_empty(), "failed checks:\n{}", failed.join("\n"));
    assert!(first.checks.len() >= 15, "{} checks", first.checks.len());
    for table in ["training", "stabilisation", "data"] {
        assert!(first.tables.contains_key(table), "missing table {table}");
    }
    for plot in &first.plots {
        for s in &plot.series {
            assert!(
                first.series.contains_key(s),
                "plot {} names missing series {s}",
                plot.name
            );
        }
    }

    // The second run on a pool of another size: results must not depend on it.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .expect("thread pool");
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
fn mfld_nn_rejects_bad_configuration() {
    let exp = registry::find("mfld-nn").expect("registered");
    let mut ctx = RunContext::quiet(true, 1);
    ctx.overrides
        .insert("no_such_key".into(), serde_json::json!(3));
    let err = exp.run(&ctx).expect_err("unknown key").to_string();
    assert!(
        err.contains("no_such_key") && err.contains("box_bound"),
        "{err}"
    );

    for (key, value) in [
        ("eta", serde_json::json!(0.0)),
        ("lambda", serde_json::json!(-1.0)),
        ("stability_lag", serde_json::json!(5000)),
        ("n_particles", serde_json::json!(1)),
    ] {
        let mut ctx = RunContext::quiet(true, 1);
        ctx.overrides.insert(key.into(), value);
        let err = exp.run(&ctx).expect_err("invalid value").to_string();
        assert!(err.contains("invalid configuration"), "{key}: {err}");
    }
}

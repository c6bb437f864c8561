//! Degenerate settings are configuration errors naming the key and value, found by
//! `Experiment::check_config` before anything runs — never a silent success, a run of
//! zero steps or an unrelated message from deep inside (docs/harness.md §3).

use meanfield_experiments::{RunContext, registry};

/// The `check_config` error of `name` with `key = value` over its quick defaults.
fn config_error(name: &str, key: &str, value: serde_json::Value) -> String {
    let exp = registry::find(name).expect("registered");
    let mut ctx = RunContext::quiet(true, 1);
    ctx.overrides.insert(key.into(), value.clone());
    match exp.check_config(&ctx) {
        Ok(()) => panic!("{name}: {key} = {value} accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_weight_step_that_collapses_the_weights_is_refused_naming_h() {
    // Once: "too few points in sample: need at least 2, got 1", naming neither.
    let err = config_error("fisher-rao-chaos", "h", serde_json::json!(100.0));
    assert!(err.contains("h = 100") && err.contains("h·σ < 1"), "{err}");
    let err = config_error("fisher-rao-chaos", "steps", serde_json::json!(0));
    assert!(err.contains("steps = 0"), "{err}");
}

#[test]
fn an_euler_reference_of_zero_steps_is_refused() {
    // Once: silently 0 Euler steps.
    let err = config_error("fisher-rao-oracle", "euler_h", serde_json::json!(100.0));
    assert!(
        err.contains("euler_h = 100") && err.contains("0 steps"),
        "{err}"
    );
}

#[test]
fn size_exponents_are_capped() {
    let err = config_error("gaussian-oracle", "chaos_log2_max", serde_json::json!(40));
    assert!(err.contains("chaos_log2_max = 40"), "{err}");
    let err = config_error("mfld-chaos", "log2_max", serde_json::json!(40));
    assert!(err.contains("log2_max = 40"), "{err}");
}

#[test]
fn the_shipped_defaults_pass_the_same_checks() {
    for exp in registry::all() {
        for quick in [true, false] {
            let ctx = RunContext::quiet(quick, 1);
            exp.check_config(&ctx)
                .unwrap_or_else(|e| panic!("{} (quick = {quick}): {e}", exp.name()));
        }
    }
}

/// Integer keys that count steps, replicates or batches: they cost time, not memory (a
/// huge value is a long run, which `--max-memory` does not bound).
const TIME_KEYS: &[&str] = &[
    "steps",
    "chaos_steps",
    "ar_steps",
    "cir0_steps",
    "cir1_steps",
    "sample_steps",
    "burn_in",
    "observe_every",
    "record_every",
    "stability_lag",
    "stride",
    "seeds",
    "chaos_seeds",
    "ar01_seeds",
    "ar_seeds",
    "cir_seeds",
    "replicates",
    "runs",
    "constrained_runs",
    "splits",
    "batches",
];

/// Every other integer key of every experiment sizes a buffer: at 2⁴⁰ it must be refused
/// by `check_config`, naming the key, before anything is allocated — never an abort
/// ("memory allocation of … bytes failed") in the middle of a run.
#[test]
fn every_size_key_is_bounded_before_anything_runs() {
    let mut accepted = Vec::new();
    for exp in registry::all() {
        let config = exp.default_config(true).expect("defaults serialise");
        let obj = config.as_object().expect("a table");
        for (key, value) in obj {
            if !value.is_u64() || TIME_KEYS.contains(&key.as_str()) {
                continue;
            }
            let mut ctx = RunContext::quiet(true, 1);
            ctx.overrides
                .insert(key.clone(), serde_json::json!(1u64 << 40));
            match exp.check_config(&ctx) {
                Ok(()) => accepted.push(format!("{}: {key}", exp.name())),
                Err(e) if e.to_string().contains(key.as_str()) => {}
                Err(e) => accepted.push(format!(
                    "{}: {key} refused without naming the key: {e}",
                    exp.name()
                )),
            }
        }
    }
    assert!(
        accepted.is_empty(),
        "sizes of 2^40 accepted or refused unnamed: {accepted:#?}"
    );
}

#[test]
fn polar_cbo_kernel_and_clustering_settings_are_checked() {
    let err = config_error("polar-cbo", "kappa", serde_json::json!(0.0));
    assert!(err.contains("kappa"), "{err}");
    let err = config_error("polar-cbo", "cluster_radius", serde_json::json!(-1.0));
    assert!(err.contains("cluster_radius = -1"), "{err}");
    let err = config_error("polar-cbo", "steps", serde_json::json!(0));
    assert!(err.contains("steps ≥ 1"), "{err}");
    // The shifted-wells case: two wells at one point, a histogram of the wrong length.
    let wells = |shifts: serde_json::Value, histogram: serde_json::Value| {
        serde_json::json!({"shifts": shifts, "steps": 10, "kappa": 0.5, "alpha": 0.01,
            "sigma": 1.0, "init_box": 5.0,
            "reference": {"successes": 1, "runs": 2, "histogram": histogram}})
    };
    let err = config_error(
        "polar-cbo",
        "wells",
        wells(
            serde_json::json!([[0.0, 0.0], [0.0, 0.0]]),
            serde_json::json!([0, 1, 1]),
        ),
    );
    assert!(err.contains("same point"), "{err}");
    let err = config_error(
        "polar-cbo",
        "wells",
        wells(
            serde_json::json!([[0.0, 0.0], [1.0, 0.0]]),
            serde_json::json!([1, 1]),
        ),
    );
    assert!(err.contains("inconsistent with 2 minimisers"), "{err}");
}

#[test]
fn cbo_variants_settings_are_checked() {
    let err = config_error("cbo-variants", "runs", serde_json::json!(0));
    assert!(err.contains("runs ≥ 1"), "{err}");
    let err = config_error("cbo-variants", "success_tol", serde_json::json!(-1.0));
    assert!(err.contains("success_tol = -1"), "{err}");
    let cell = serde_json::json!([{"variant": "pso", "function": "ackley", "n": 50,
        "sigma": 1.0, "steps": 0, "reference": null}]);
    let err = config_error("cbo-variants", "cells", cell);
    assert!(err.contains("steps ≥ 1"), "{err}");
    let cell = serde_json::json!([{"variant": "cbo", "function": "ackley", "n": 50,
        "sigma": 1.0, "steps": 10, "reference": {"successes": 5, "runs": 4}}]);
    let err = config_error("cbo-variants", "cells", cell);
    assert!(err.contains("5 of 4"), "{err}");
    let case = serde_json::json!([{"problem": "sphere_drift", "d": 3, "n": 10, "lambda": 1.0,
        "sigma": 1.0, "dt": 0.01, "alpha": 10.0, "steps": 10, "wells": 0.0, "epsilon": 0.0,
        "tolerance": 0.1}]);
    let err = config_error("cbo-variants", "constrained", case);
    assert!(err.contains("epsilon"), "{err}");
    let case = serde_json::json!([{"problem": "ball_boundary", "d": 3, "n": 10, "lambda": 1.0,
        "sigma": 1.0, "dt": 0.01, "alpha": 10.0, "steps": 10, "wells": 0.0, "epsilon": 0.0,
        "tolerance": 0.1, "reference": {"successes": 3, "runs": 2}}]);
    let err = config_error("cbo-variants", "constrained", case);
    assert!(err.contains("3 of 2"), "{err}");
    let cell = serde_json::json!([{"variant": "cbo", "function": "ackley", "n": 50,
        "sigma": 1.0, "steps": 10, "alpha_max": 0.0, "reference": null}]);
    let err = config_error("cbo-variants", "cells", cell);
    assert!(err.contains("alpha schedule max"), "{err}");
}

//! The `cbo-benchmark --quick`, `cbo-gradient --quick` and `cbs-sampling --quick`
//! reports: every check passes (success rates within binomial error of CBXpy's, consensus
//! hopping Monte-Carlo consistent with the proximal path, CBS moments within Monte-Carlo
//! error of the Gaussian target), the CBO summaries are pinned by insta
//! snapshots, and the benchmark's outcome does not depend on the thread count.

mod common;

use common::{assert_all_checks_pass, summary};
use meanfield_experiments::{RunContext, registry};

#[test]
fn cbo_benchmark_quick_passes_and_matches_snapshot() {
    let exp = registry::find("cbo-benchmark").expect("registered");
    let report = exp.run(&RunContext::quiet(true, 20261123)).expect("runs");
    assert_all_checks_pass(&report);
    insta::assert_json_snapshot!("cbo_benchmark_quick", summary(&report));
}

#[test]
fn cbo_gradient_quick_passes_and_matches_snapshot() {
    let exp = registry::find("cbo-gradient").expect("registered");
    let report = exp.run(&RunContext::quiet(true, 20261123)).expect("runs");
    assert_all_checks_pass(&report);
    insta::assert_json_snapshot!("cbo_gradient_quick", summary(&report));
}

#[test]
fn cbo_benchmark_tables_are_identical_for_one_and_two_threads() {
    let exp = registry::find("cbo-benchmark").expect("registered");
    let run = |threads| {
        let mut ctx = RunContext::quiet(true, 7);
        // A small protocol: one size, four runs, 300 steps.
        for (k, v) in [
            ("runs", serde_json::json!(4)),
            ("steps", serde_json::json!(300)),
            ("d", serde_json::json!(10)),
        ] {
            ctx.overrides.insert(k.into(), v);
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| exp.run(&ctx).expect("runs"))
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(
        serde_json::to_value(&a.tables).unwrap(),
        serde_json::to_value(&b.tables).unwrap()
    );
}

#[test]
fn bad_cbo_config_is_a_clear_error() {
    let exp = registry::find("cbo-gradient").expect("registered");
    let mut ctx = RunContext::quiet(true, 1);
    ctx.overrides
        .insert("x0".into(), serde_json::json!([1.0, 2.0, 3.0]));
    assert!(exp.run(&ctx).is_err());
    let exp = registry::find("cbo-benchmark").expect("registered");
    let mut ctx = RunContext::quiet(true, 1);
    ctx.overrides.insert("sizes".into(), serde_json::json!([0]));
    assert!(exp.run(&ctx).is_err());
    // steps = 0 once counted every run as a success (empty consensus, distance 0).
    let mut ctx = RunContext::quiet(true, 1);
    ctx.overrides.insert("steps".into(), serde_json::json!(0));
    let err = exp.check_config(&ctx).unwrap_err().to_string();
    assert!(err.contains("steps = 0"), "{err}");
}

#[test]
fn cbs_sampling_quick_passes() {
    let exp = registry::find("cbs-sampling").expect("registered");
    let report = exp.run(&RunContext::quiet(true, 20261123)).expect("runs");
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&report.tables["moments"]).unwrap()
    );
    assert_all_checks_pass(&report);
    // Per d: 4 mean checks (2 sizes × 2 schemes), the covariance at the largest N, the
    // Euler factor at both sizes and the 1/N decay of the bias.
    assert_eq!(report.checks.len(), 16);
}

/// `polar-cbo --quick` (24 runs): the success rates agree with CBXpy's measured 76/100
/// (Himmelblau) and 66/100 (shifted-wells Rastrigin) by the two-proportion test, and the
/// flat-kernel control finds exactly one minimiser in every run.
#[test]
fn polar_cbo_quick_passes() {
    let exp = registry::find("polar-cbo").expect("registered");
    let report = exp.run(&RunContext::quiet(true, 20261203)).expect("runs");
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&report.tables["runs"]).unwrap()
    );
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&report.tables["wells"]).unwrap()
    );
    assert_all_checks_pass(&report);
    // Himmelblau vs CBXpy, the flat-kernel control, the shifted wells vs CBXpy.
    assert_eq!(report.checks.len(), 3);
}

/// The full `polar-cbo` protocol (100 runs; seconds in an optimised test build, so it is
/// run on demand: `cargo test -p meanfield-experiments --test cbo -- --ignored polar`).
#[test]
#[ignore = "full protocol, run on demand"]
fn polar_cbo_full_passes() {
    let exp = registry::find("polar-cbo").expect("registered");
    let report = exp.run(&RunContext::quiet(false, 20261203)).expect("runs");
    eprintln!("{}", serde_json::to_string(&report.tables["runs"]).unwrap());
    assert_all_checks_pass(&report);
}

/// `cbo-variants --quick` (20 runs per rate cell, 10 per constrained case): every check
/// passes (rates within the two-proportion test of CBXpy's recorded counts, final
/// consensus points near the known constrained minimisers), the summary is pinned, and the
/// run stays small (< 20 s in the test profile, asserted loosely for a loaded machine).
#[test]
fn cbo_variants_quick_passes_and_matches_snapshot() {
    let exp = registry::find("cbo-variants").expect("registered");
    let t = std::time::Instant::now();
    let report = exp.run(&RunContext::quiet(true, 20261203)).expect("runs");
    let wall = t.elapsed().as_secs_f64();
    eprintln!("cbo-variants --quick: {wall:.1} s");
    for name in ["rates", "constrained"] {
        eprintln!("{}", serde_json::to_string(&report.tables[name]).unwrap());
    }
    assert_all_checks_pass(&report);
    // Eight rate cells against CBXpy, seven constrained cases (the box with faces has two
    // checks: its face gap and the gap's shrinking ratio), five of them also against
    // CBXpy's MirrorCBO.
    assert_eq!(report.checks.len(), 21);
    insta::assert_json_snapshot!("cbo_variants_quick", summary(&report));
}

/// The rate cells of `cbo-variants` are the ones `benches/peers/variants_cbxpy_success.py
/// --cells` ran (benches/peers/variants_cells.json), and the recorded CBXpy counts in the
/// defaults are the sums over the runs recorded in
/// benches/peers/variants_cbxpy_cells_rates.jsonl (every cell measured, each line with the
/// cell's settings).
#[test]
fn cbo_variants_cells_match_the_peer_script() {
    use meanfield_experiments::ExperimentConfig;
    use meanfield_experiments::cbo::CboVariantsConfig;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../benches/peers/");
    let cells: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}variants_cells.json")).expect("cells file"),
    )
    .unwrap();
    let recorded: Vec<serde_json::Value> =
        std::fs::read_to_string(format!("{root}variants_cbxpy_cells_rates.jsonl"))
            .expect("recorded rates")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let cfg = CboVariantsConfig::defaults(false);
    let cells = cells["cells"].as_array().unwrap();
    assert_eq!(cells.len(), cfg.cells.len());
    for (k, (ours, peer)) in cfg.cells.iter().zip(cells).enumerate() {
        let ours_json = serde_json::to_value(ours).unwrap();
        for key in ["variant", "function", "n", "sigma", "steps", "alpha_max"] {
            assert_eq!(ours_json[key], peer[key], "cell {k}: {key}");
        }
        let lines: Vec<_> = recorded.iter().filter(|r| r["cell"] == k).collect();
        assert!(!lines.is_empty(), "cell {k} has no recorded CBXpy run");
        let (mut successes, mut runs) = (0, 0);
        for rec in lines {
            for key in ["variant", "function", "n", "sigma", "steps", "alpha_max"] {
                assert_eq!(rec[key], peer[key], "recorded cell {k}: {key}");
            }
            assert_eq!(rec["d"].as_u64(), Some(cfg.d as u64));
            successes += rec["successes"].as_u64().unwrap();
            runs += rec["runs"].as_u64().unwrap();
        }
        let r = ours.reference.expect("every cell has a reference");
        assert_eq!(
            (r.successes as u64, r.runs as u64),
            (successes, runs),
            "cell {k}"
        );
    }
}

/// On demand: runs experiment `MEANFIELD_EXPERIMENT` (full settings, seed
/// `MEANFIELD_SEED`, default 20261203) with the JSON object `MEANFIELD_OVERRIDES` over its
/// defaults and prints its tables as JSON lines — the tool behind the parameter searches
/// recorded in docs/cbo.md §9 and §16 (`cargo test -p meanfield-experiments --test cbo --
/// --ignored --nocapture experiment_with_overrides`).
#[test]
#[ignore = "parameter searches, run on demand"]
fn experiment_with_overrides() {
    let name = std::env::var("MEANFIELD_EXPERIMENT").expect("MEANFIELD_EXPERIMENT");
    let seed = std::env::var("MEANFIELD_SEED").map_or(20261203, |s| s.parse().expect("seed"));
    let overrides: serde_json::Value =
        serde_json::from_str(&std::env::var("MEANFIELD_OVERRIDES").unwrap_or_else(|_| "{}".into()))
            .expect("MEANFIELD_OVERRIDES is JSON");
    let mut ctx = RunContext::quiet(false, seed);
    ctx.overrides = overrides.as_object().expect("an object").clone();
    let exp = registry::find(&name).expect("registered");
    let t = std::time::Instant::now();
    let report = exp.run(&ctx).expect("runs");
    for (k, table) in &report.tables {
        println!(
            "{}",
            serde_json::json!({"table": k, "rows": table, "wall_s": t.elapsed().as_secs_f64()})
        );
    }
    for c in &report.checks {
        println!("{}", serde_json::to_string(c).unwrap());
    }
}

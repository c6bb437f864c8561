//! `cargo xtask calibrate NAME`: the false-alarm rate of an experiment's checks.
//!
//! Runs the experiment (quick settings unless `--full`) at `--seeds` independent base
//! seeds, `replicate_seed(--seed, 0, r)` for r = 0 … R−1, and counts, per check, the seeds
//! at which it failed. A randomised check at level α fails at about α·R seeds when the
//! implementation is right; many more failures mean its band does not follow the
//! Monte-Carlo error (docs/harness.md §4). Writes `DIR/calibrate-NAME/calibration.{md,json}`
//! (complete or absent) and prints the table.
//!
//! Exit status: 0 when it ran (whatever the failure counts); 1 if a run stopped with an
//! error; 2 for an unknown name, a bad configuration or bad options.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use meanfield_experiments::{CheckKind, RunContext};
use serde::Serialize;
use statrs::distribution::{Binomial, DiscreteCDF};

use crate::output::{OutDirLock, publish_dir, write_atomic};
use crate::reproduce::DEFAULT_SEED;
use crate::{select, workspace_root};

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// The experiment (see `cargo xtask list`).
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Number of independent base seeds (at least 2).
    #[arg(long, value_name = "R", default_value_t = 20, value_parser = clap::value_parser!(u64).range(2..=100_000))]
    pub seeds: u64,

    /// Calibrate the full study instead of the `--quick` settings.
    #[arg(long)]
    pub full: bool,

    /// Base seed from which the R seeds derive.
    #[arg(long, value_name = "S", default_value_t = DEFAULT_SEED)]
    pub seed: u64,

    /// Directory for `calibrate-NAME/`. (default: `<workspace root>/target/reports`)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// One check's tally over the seeds.
#[derive(Debug, Serialize)]
struct Tally {
    check: String,
    /// Exact, statistical or threshold (at the first seed).
    kind: CheckKind,
    /// The stated false-alarm probability of a statistical check.
    level: Option<f64>,
    failures: u64,
    runs: u64,
    /// P(X ≥ failures) for X ~ Binomial(runs, level): how surprising the count is if the
    /// stated level is right (statistical checks only).
    p_value: Option<f64>,
    /// `consistent`, `too many failures` (p < 0.01, or any failure of an exact check), or
    /// `measured` for a threshold check.
    verdict: String,
    /// Failures of this check, by the seed index r that failed.
    failed_at: Vec<u64>,
    /// Smallest and largest value seen, and the reference.
    min_value: f64,
    max_value: f64,
    reference: f64,
    tolerance: f64,
}

#[derive(Debug, Serialize)]
struct Calibration {
    experiment: String,
    quick: bool,
    base_seed: u64,
    seeds: Vec<u64>,
    /// Seeds (by index) at which at least one check failed.
    runs_with_a_failure: u64,
    checks: Vec<Tally>,
}

/// `cargo xtask calibrate` (module docs).
pub fn calibrate(args: CalibrateArgs) -> ExitCode {
    let exp = match select(std::slice::from_ref(&args.name)) {
        Ok(e) => e[0],
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    let quick = !args.full;
    if let Err(e) = exp.check_config(&RunContext::quiet(quick, args.seed)) {
        eprintln!("error: {}: {e}", exp.name());
        return ExitCode::from(2);
    }
    let seeds: Vec<u64> = (0..args.seeds)
        .map(|r| meanfield_measures::replicate_seed(args.seed, 0, r))
        .collect();
    let mut tallies: BTreeMap<usize, Tally> = BTreeMap::new();
    let mut runs_with_a_failure = 0;
    for (r, &seed) in seeds.iter().enumerate() {
        eprint!("\r{}: seed {}/{}", exp.name(), r + 1, seeds.len());
        let report = match exp.run(&RunContext::quiet(quick, seed)) {
            Ok(report) => report,
            Err(e) => {
                eprintln!("\nerror: {} at seed {seed} (index {r}): {e}", exp.name());
                return ExitCode::FAILURE;
            }
        };
        runs_with_a_failure += u64::from(report.checks.iter().any(|c| !c.passed));
        for (k, c) in report.checks.iter().enumerate() {
            let t = tallies.entry(k).or_insert_with(|| Tally {
                check: c.name.clone(),
                kind: c.kind,
                level: c.level,
                failures: 0,
                runs: 0,
                p_value: None,
                verdict: String::new(),
                failed_at: Vec::new(),
                min_value: f64::INFINITY,
                max_value: f64::NEG_INFINITY,
                reference: c.reference,
                tolerance: c.tolerance,
            });
            t.runs += 1;
            t.min_value = t.min_value.min(c.value);
            t.max_value = t.max_value.max(c.value);
            if !c.passed {
                t.failures += 1;
                t.failed_at.push(r as u64);
            }
        }
    }
    eprintln!();
    for t in tallies.values_mut() {
        t.p_value = t
            .level
            .and_then(|level| upper_tail(t.runs, level, t.failures));
        t.verdict = verdict(t.kind, t.failures, t.p_value).into();
    }
    let result = Calibration {
        experiment: exp.name().into(),
        quick,
        base_seed: args.seed,
        seeds,
        runs_with_a_failure,
        checks: tallies.into_values().collect(),
    };
    let md = render(&result);
    print!("{md}");

    let out = args
        .out
        .unwrap_or_else(|| workspace_root().join("target").join("reports"));
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("error: cannot create {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    let _lock = match OutDirLock::acquire(&out) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {}: {e}", out.display());
            return ExitCode::from(crate::reproduce::EXIT_BUSY);
        }
    };
    let name = format!("calibrate-{}", exp.name());
    let written = publish_dir(&out, &name, |dir| {
        let json = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())? + "\n";
        for (file, text) in [("calibration.json", json), ("calibration.md", md.clone())] {
            let path = dir.join(file);
            write_atomic(&path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(())
    });
    match written {
        Ok(()) => {
            println!(
                "written: {}",
                out.join(&name).join("calibration.md").display()
            );
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("error: cannot write the calibration: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// P(X ≥ k) for X ~ Binomial(n, p); `None` if p is not a probability.
fn upper_tail(n: u64, p: f64, k: u64) -> Option<f64> {
    if k == 0 {
        return Some(1.0);
    }
    let binomial = Binomial::new(p, n).ok()?;
    Some(binomial.sf(k - 1))
}

/// Whether a tally agrees with what its check claims (module docs).
fn verdict(kind: CheckKind, failures: u64, p_value: Option<f64>) -> &'static str {
    match kind {
        CheckKind::Exact if failures == 0 => "consistent",
        CheckKind::Exact => "too many failures",
        CheckKind::Statistical => match p_value {
            Some(p) if p < 0.01 => "too many failures",
            Some(_) => "consistent",
            None => "no level",
        },
        CheckKind::Threshold => "measured",
    }
}

fn render(c: &Calibration) -> String {
    let mut s = format!(
        "# Calibration of `{}` ({} settings)\n\n{} independent base seeds derived from {}; \
         {} of them had at least one failed check.\n\n\
         A statistical check at level α fails at about α·R seeds; `p` is P(X ≥ failures) for \
         X ~ Binomial(R, α), and p < 0.01 is flagged. Exact checks must never fail; threshold \
         checks have no stated level and their rate is only measured.\n\n\
         | check | kind | level | failures | rate | p | verdict | values seen | reference ± tolerance |\n\
         |---|---|---:|---:|---:|---:|---|---|---|\n",
        c.experiment,
        if c.quick { "quick" } else { "full" },
        c.seeds.len(),
        c.base_seed,
        c.runs_with_a_failure
    );
    let stat: Vec<&Tally> = c.checks.iter().filter(|t| t.level.is_some()).collect();
    if !stat.is_empty() {
        let expected: f64 = stat
            .iter()
            .map(|t| t.level.unwrap_or(0.0) * t.runs as f64)
            .sum();
        let observed: u64 = stat.iter().map(|t| t.failures).sum();
        s = s.replace(
            "\n\nA statistical",
            &format!(
                " Over all {} statistical checks, {expected:.3} failures were expected and \
                 {observed} occurred.\n\nA statistical",
                stat.len()
            ),
        );
    }
    for t in &c.checks {
        let kind = match t.kind {
            CheckKind::Exact => "exact",
            CheckKind::Statistical => "statistical",
            CheckKind::Threshold => "threshold",
        };
        s += &format!(
            "| {} | {kind} | {} | {}/{} | {:.3} | {} | {} | [{}, {}] | {} ± {} |\n",
            t.check.replace('|', "\\|"),
            t.level.map_or("—".into(), |l| format!("{l:.1e}")),
            t.failures,
            t.runs,
            t.failures as f64 / t.runs as f64,
            t.p_value.map_or("—".into(), |p| format!("{p:.3}")),
            t.verdict,
            crate::markdown::fmt_num(t.min_value),
            crate::markdown::fmt_num(t.max_value),
            crate::markdown::fmt_num(t.reference),
            crate::markdown::fmt_num(t.tolerance)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_upper_tail_matches_closed_forms() {
        // P(X ≥ 0) = 1; P(X ≥ 1) = 1 − (1 − p)^n; P(X ≥ n) = p^n.
        assert_eq!(upper_tail(20, 0.01, 0), Some(1.0));
        let p1 = upper_tail(20, 0.01, 1).unwrap();
        assert!((p1 - (1.0 - 0.99f64.powi(20))).abs() < 1e-12, "{p1}");
        let pn = upper_tail(5, 0.5, 5).unwrap();
        assert!((pn - 0.5f64.powi(5)).abs() < 1e-12, "{pn}");
        assert_eq!(upper_tail(10, 1.5, 1), None);
    }

    #[test]
    fn verdicts_follow_the_kind() {
        assert_eq!(verdict(CheckKind::Exact, 0, None), "consistent");
        assert_eq!(verdict(CheckKind::Exact, 1, None), "too many failures");
        // 2 failures in 20 at level 0.001: P = 1.9e-4 < 0.01.
        let p = upper_tail(20, 0.001, 2);
        assert_eq!(verdict(CheckKind::Statistical, 2, p), "too many failures");
        let p = upper_tail(20, 0.05, 2);
        assert_eq!(verdict(CheckKind::Statistical, 2, p), "consistent");
        assert_eq!(verdict(CheckKind::Threshold, 3, None), "measured");
    }
}

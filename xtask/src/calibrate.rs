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
use meanfield_experiments::RunContext;
use serde::Serialize;

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
    failures: u64,
    runs: u64,
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
                failures: 0,
                runs: 0,
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

fn render(c: &Calibration) -> String {
    let mut s = format!(
        "# Calibration of `{}` ({} settings)\n\n{} independent base seeds derived from {}; \
         {} of them had at least one failed check.\n\n\
         | check | failures | rate | values seen | reference ± tolerance |\n|---|---:|---:|---|---|\n",
        c.experiment,
        if c.quick { "quick" } else { "full" },
        c.seeds.len(),
        c.base_seed,
        c.runs_with_a_failure
    );
    for t in &c.checks {
        s += &format!(
            "| {} | {}/{} | {:.3} | [{}, {}] | {} ± {} |\n",
            t.check.replace('|', "\\|"),
            t.failures,
            t.runs,
            t.failures as f64 / t.runs as f64,
            crate::markdown::fmt_num(t.min_value),
            crate::markdown::fmt_num(t.max_value),
            crate::markdown::fmt_num(t.reference),
            crate::markdown::fmt_num(t.tolerance)
        );
    }
    s
}

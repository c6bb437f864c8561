//! `cargo xtask reproduce`: run experiments and publish their reports.
//!
//! The order of a run, and what it guarantees:
//! 1. Every selected experiment's whole configuration (defaults ← `--config` table) is
//!    resolved and validated before the first one runs: a bad value or an unknown key
//!    anywhere is exit 2 and nothing is written.
//! 2. The thread pool is built (`--threads` ≤ [`MAX_THREADS`]; a pool that cannot be
//!    built is exit 2), the output directory is created and locked
//!    ([`OutDirLock`]; a directory in use by another run is exit 3).
//! 3. `index.md` / `index.html` are rewritten before the first experiment and after
//!    every one, so they always say which reports are from this run, which experiment is
//!    running and which are still queued.
//! 4. Each report directory is published whole ([`publish_dir`]): complete or absent.
//! 5. SIGINT / SIGTERM: the handler waits until no output is being written (writes hold
//!    [`Shared`]'s mutex), marks the running experiment as interrupted in the index,
//!    releases the lock and exits with 128 + the signal number (130 for Ctrl-C).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use clap::Args;
use meanfield_experiments::{Experiment, Report, RunContext, registry};

use crate::index::{self, RunStatus};
use crate::markdown::{self, fmt_seconds};
use crate::output::{OutDirLock, publish_dir, write_atomic};
use crate::progress::Progress;
use crate::{config, html, select, svg, workspace_root};
use meanfield_experiments::memory;

/// Default base seed of `reproduce` (20261123). It is fixed so that reports written
/// without `--seed` are reproducible bit for bit; pass `--seed` to vary it.
pub const DEFAULT_SEED: u64 = 20261123;

/// Largest `--threads` accepted: far above any machine this runs on, low enough that a
/// typo (`--threads 10000`) is a usage error instead of a pool the system cannot build.
pub const MAX_THREADS: usize = 1024;

/// Exit status when the output directory is locked by another run.
pub const EXIT_BUSY: u8 = 3;

#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// Experiments to run, by name (see `cargo xtask list`). Without any name, every
    /// experiment runs, in catalogue order.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Use each experiment's reduced settings (chosen by the experiment: e.g. fewer
    /// particles or seeds) for a fast smoke run instead of the full study.
    #[arg(long)]
    pub quick: bool,

    /// Directory for the reports; each experiment writes DIR/NAME/, and DIR/index.md and
    /// DIR/index.html list every report found in DIR. One run at a time per directory.
    /// (default: `<workspace root>/target/reports`)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// TOML file of configuration overrides: one table per experiment, e.g.
    /// `[gaussian-oracle]` followed by `steps = 100`. Tables of experiments not being run
    /// are ignored; a table naming no experiment, or a key the experiment does not have,
    /// is an error.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,

    /// Base random seed. All randomness of an experiment derives from it, so the same
    /// seed and settings give the same report (whatever the thread count).
    #[arg(long, value_name = "S", default_value_t = DEFAULT_SEED)]
    pub seed: u64,

    /// Number of worker threads experiments may use (a rayon thread pool), 1 to 1024.
    /// Results do not depend on it. [default: the number of available CPUs]
    #[arg(long, value_name = "T", value_parser = parse_threads)]
    pub threads: Option<usize>,

    /// Largest single buffer an experiment may allocate, and largest total of the buffers
    /// its configuration declares, e.g. `512M`, `8G` (binary units). A configuration
    /// needing more is an error before anything runs (exit 2) instead of an abort of the
    /// whole process. [default: half the physical memory]
    #[arg(long, value_name = "SIZE", value_parser = meanfield_measures::alloc::parse_bytes)]
    pub max_memory: Option<u64>,

    /// Exit with status 1 if any check of any experiment failed (for CI). Without it,
    /// failed checks are reported but the exit status stays 0.
    #[arg(long)]
    pub check: bool,
}

fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("the thread count must be at least 1".into()),
        Ok(n) if n > MAX_THREADS => Err(format!(
            "{n} threads is more than the supported maximum of {MAX_THREADS}"
        )),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a thread count: {e}")),
    }
}

/// What the interrupt handler and the main loop share; every output write holds its
/// mutex, so a signal is handled between writes, never in the middle of one.
struct Shared {
    out: PathBuf,
    statuses: BTreeMap<String, RunStatus>,
    lock: Option<OutDirLock>,
}

fn lock_shared(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// On SIGINT or SIGTERM: wait for the current write, mark the running experiment
/// interrupted, rewrite the index, release the lock, exit 128 + signal.
fn install_interrupt_handler(shared: Arc<Mutex<Shared>>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let mut s = lock_shared(&shared);
            for status in s.statuses.values_mut() {
                if matches!(status, RunStatus::Running) {
                    *status = RunStatus::Interrupted;
                }
            }
            let written = index::write(&s.out, &s.statuses);
            s.lock = None;
            eprintln!();
            match written {
                Ok(p) => eprintln!(
                    "interrupted by signal {signal}: stopped between writes; {} marks the run as interrupted",
                    p.display()
                ),
                Err(e) => {
                    eprintln!("interrupted by signal {signal}; the index could not be updated: {e}")
                }
            }
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}

/// One line of the console summary.
struct SummaryRow {
    name: String,
    checks: String,
    wall: String,
    path: String,
}

/// `cargo xtask reproduce` (module docs).
pub fn reproduce(args: ReproduceArgs) -> ExitCode {
    let experiments = match select(&args.names) {
        Ok(e) => e,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };

    if let Some(bytes) = args.max_memory {
        meanfield_measures::alloc::set_max_bytes(bytes);
    }

    let mut overrides = config::Overrides::new();
    if let Some(path) = &args.config {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read config file {}: {e}", path.display());
                return ExitCode::from(2);
            }
        };
        let known: Vec<&str> = registry::all().iter().map(|e| e.name()).collect();
        match config::parse_overrides(&text, &known) {
            Ok(o) => overrides = o,
            Err(msg) => {
                eprintln!("error: config file {}: {msg}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    let context = |name: &str| RunContext {
        quick: args.quick,
        seed: args.seed,
        overrides: overrides.get(name).cloned().unwrap_or_default(),
        progress: &|_, _| {},
    };
    let invalid: Vec<String> = experiments
        .iter()
        .filter_map(|exp| {
            exp.check_config(&context(exp.name()))
                .err()
                .map(|e| format!("{}: {e}", exp.name()))
        })
        .collect();
    if !invalid.is_empty() {
        for msg in &invalid {
            eprintln!("error: {msg}");
        }
        eprintln!(
            "error: nothing was run (every configuration is checked before the first experiment)"
        );
        return ExitCode::from(2);
    }

    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
    {
        eprintln!("error: cannot start {threads} worker threads: {e}; pass a smaller --threads");
        return ExitCode::from(2);
    }

    let out = args
        .out
        .clone()
        .unwrap_or_else(|| workspace_root().join("target").join("reports"));
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!(
            "error: cannot create output directory {}: {e}",
            out.display()
        );
        return ExitCode::FAILURE;
    }
    let lock = match OutDirLock::acquire(&out) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {}: {e}", out.display());
            return ExitCode::from(EXIT_BUSY);
        }
    };

    let shared = Arc::new(Mutex::new(Shared {
        out: out.clone(),
        statuses: experiments
            .iter()
            .map(|e| (e.name().to_string(), RunStatus::Queued))
            .collect(),
        lock: Some(lock),
    }));
    if let Err(e) = install_interrupt_handler(Arc::clone(&shared)) {
        eprintln!("warning: Ctrl-C will not update the index: {e}");
    }

    eprintln!(
        "reproducing {} experiment{} ({} settings, seed {}, {threads} thread{}) into {}",
        experiments.len(),
        if experiments.len() == 1 { "" } else { "s" },
        if args.quick { "quick" } else { "full" },
        args.seed,
        if threads == 1 { "" } else { "s" },
        out.display()
    );

    let mut rows = Vec::new();
    let mut any_error = false;
    let mut any_failed_check = false;
    let mut index_path = None;
    let total = experiments.len();
    for (i, exp) in experiments.iter().enumerate() {
        let name = exp.name();
        {
            let mut s = lock_shared(&shared);
            s.statuses.insert(name.to_string(), RunStatus::Running);
            // Best effort here: the index written after the experiment reports errors.
            let _ = index::write(&s.out, &s.statuses);
        }
        let progress = Progress::start(name, i + 1, total);
        let callback = |fraction: f64, message: &str| progress.update(fraction, message);
        let ctx = RunContext {
            progress: &callback,
            ..context(name)
        };
        let peak_reset = memory::reset_peak();
        let start = Instant::now();
        let result = run_guarded(*exp, &ctx);
        let wall = start.elapsed().as_secs_f64();
        let peak = if peak_reset { memory::peak_rss() } else { None };

        let mut s = lock_shared(&shared);
        let status = match result {
            Ok(mut report) => {
                report.wall_seconds = wall;
                report.peak_memory_bytes = peak;
                if report.experiment != name {
                    eprintln!(
                        "warning: {name}: the report names itself `{}`; written under {name}/",
                        report.experiment
                    );
                }
                let passed = report.checks.iter().filter(|c| c.passed).count();
                let n = report.checks.len();
                any_failed_check |= passed < n;
                progress.finish(&format!(
                    "{} {passed}/{n} checks passed in {}",
                    if passed == n {
                        "done,"
                    } else {
                        "done, FAILED CHECKS:"
                    },
                    fmt_seconds(wall)
                ));
                for c in report.checks.iter().filter(|c| !c.passed) {
                    eprintln!(
                        "  ❌ {}: ours {} vs reference {} ± {}",
                        c.name,
                        markdown::fmt_num(c.value),
                        markdown::fmt_num(c.reference),
                        markdown::fmt_num(c.tolerance)
                    );
                }
                let written = write_outputs(&out, name, exp.description(), &report);
                let checks = format!("{passed}/{n}{}", if passed == n { "" } else { " ❌" });
                match written {
                    Ok((md, warnings)) => {
                        for w in warnings {
                            eprintln!("warning: {name}: {w}");
                        }
                        rows.push(SummaryRow {
                            name: name.into(),
                            checks,
                            wall: format!("{wall:.2}"),
                            path: md.display().to_string(),
                        });
                        RunStatus::Done
                    }
                    Err(msg) => {
                        any_error = true;
                        eprintln!("error: {name}: cannot write the report: {msg}");
                        rows.push(SummaryRow {
                            name: name.into(),
                            checks,
                            wall: format!("{wall:.2}"),
                            path: "(not written)".into(),
                        });
                        RunStatus::NotWritten(msg)
                    }
                }
            }
            Err(msg) => {
                any_error = true;
                progress.finish(&format!("ERROR after {}", fmt_seconds(wall)));
                eprintln!("error: experiment `{name}` failed: {msg}");
                rows.push(SummaryRow {
                    name: name.into(),
                    checks: "error".into(),
                    wall: format!("{wall:.2}"),
                    path: "(not written)".into(),
                });
                RunStatus::Failed(msg)
            }
        };
        s.statuses.insert(name.to_string(), status);
        match index::write(&s.out, &s.statuses) {
            Ok(p) => index_path = Some(p),
            Err(e) => {
                any_error = true;
                index_path = None;
                eprintln!(
                    "error: cannot write {}: {e}",
                    out.join("index.md").display()
                );
            }
        }
    }
    // Release the lock before reporting; the handler then has nothing left to do.
    lock_shared(&shared).lock = None;

    print_summary(&rows);
    if let Some(p) = index_path {
        println!("index: {}", p.display());
    }

    if any_error || (args.check && any_failed_check) {
        if args.check && any_failed_check {
            eprintln!("error: some checks failed (--check)");
        }
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs the experiment, turning a panic into an error so the other experiments still run.
fn run_guarded(exp: &dyn Experiment, ctx: &RunContext<'_>) -> Result<Report, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exp.run(ctx))) {
        Ok(Ok(report)) => Ok(report),
        Ok(Err(e)) => Err(e.to_string()),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!("panicked: {msg}"))
        }
    }
}

/// Publishes `out/name/{report.json, report.md, report.html, *.svg}` whole (complete or
/// absent, [`publish_dir`]); returns the Markdown path and rendering warnings.
pub fn write_outputs(
    out: &Path,
    name: &str,
    description: &str,
    report: &Report,
) -> Result<(PathBuf, Vec<String>), String> {
    let warnings = publish_dir(out, name, |dir| {
        let write = |file: &str, text: String| {
            let path = dir.join(file);
            write_atomic(&path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
        };
        let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
        write("report.json", json + "\n")?;
        let (_, warnings) = svg::render_all(report, dir);
        write("report.md", markdown::render_report(report, description))?;
        write("report.html", html::render_report(report, description))?;
        Ok(warnings)
    })?;
    Ok((out.join(name).join("report.md"), warnings))
}

fn print_summary(rows: &[SummaryRow]) {
    let header = ["experiment", "checks passed", "wall s", "report"];
    let cells: Vec<[&str; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.name.as_str(),
                r.checks.as_str(),
                r.wall.as_str(),
                r.path.as_str(),
            ]
        })
        .collect();
    let mut width = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: [&str; 4]| {
        let parts: Vec<String> = row
            .iter()
            .zip(width)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 3 {
                    c.to_string()
                } else {
                    format!("{c:w$}")
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    println!();
    println!("{}", line(header));
    println!(
        "{}",
        line(width.map(|w| "-".repeat(w)).each_ref().map(String::as_str))
    );
    for row in cells {
        println!("{}", line(row));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support;

    #[test]
    fn thread_counts_are_bounded() {
        assert_eq!(parse_threads("3"), Ok(3));
        assert_eq!(parse_threads("1024"), Ok(MAX_THREADS));
        assert!(parse_threads("0").is_err());
        let err = parse_threads("10000").unwrap_err();
        assert!(err.contains("10000") && err.contains("1024"), "{err}");
        assert!(parse_threads("-1").is_err());
    }

    #[test]
    fn writes_all_outputs() {
        let dir = test_support::unique_temp_dir("outputs");
        let report = test_support::sample_report();
        std::fs::create_dir_all(dir.join("sample")).unwrap();
        std::fs::write(dir.join("sample/stale.svg"), "<svg/>").unwrap();
        let (md, warnings) = write_outputs(&dir, "sample", "Sample.", &report).unwrap();
        assert!(md.is_file());
        assert!(!warnings.is_empty());
        for f in [
            "report.json",
            "report.html",
            "convergence.svg",
            "chaos.svg",
            "scatter.svg",
        ] {
            assert!(dir.join("sample").join(f).is_file(), "{f} missing");
        }
        assert!(!dir.join("sample/stale.svg").exists());
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("sample/report.json")).unwrap())
                .unwrap();
        for key in [
            "experiment",
            "quick",
            "seed",
            "config",
            "wall_seconds",
            "checks",
            "tables",
            "series",
        ] {
            assert!(json.get(key).is_some(), "key {key} missing");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

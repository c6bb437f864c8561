//! `cargo xtask`: the reproduction harness of meanfield.
//!
//! `cargo xtask reproduce [NAME...]` runs experiments from the catalogue
//! (`meanfield_experiments::registry`) and writes, per experiment, `report.json`,
//! `report.md`, `report.html` and one SVG per plot into `DIR/NAME/`, plus `DIR/index.md`
//! and `DIR/index.html` listing every report in `DIR`. `cargo xtask list` prints the catalogue. `cargo xtask config NAME
//! [--quick]` prints an experiment's full default configuration as a `--config` file.
//!
//! Exit codes: 0 success; 1 an experiment failed with an error (or, with `--check`, a
//! check failed) or outputs could not be written; 2 a usage error (unknown experiment
//! name, bad `--config` file, bad option).

mod config;
mod document;
mod html;
mod index;
mod markdown;
mod progress;
mod svg;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use meanfield_experiments::{Experiment, Report, RunContext, registry};

use crate::markdown::fmt_seconds;
use crate::progress::Progress;

/// Default base seed of `reproduce` (20261123). It is fixed so that reports written
/// without `--seed` are reproducible bit for bit; pass `--seed` to vary it.
const DEFAULT_SEED: u64 = 20261123;

/// Tasks of the meanfield workspace: reproduce the paper's experiments.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run experiments and write their reports (report.json, report.md, report.html, SVG
    /// plots) and an index.md and index.html linking all reports in the output directory.
    ///
    /// Exit status: 0 on success; 1 if an experiment stopped with an error, or (with
    /// --check) if any check failed; 2 for an unknown experiment name or a bad --config file.
    Reproduce(ReproduceArgs),
    /// Print the name and one-line description of every experiment.
    List,
    /// Print an experiment's full default configuration as TOML: one `[NAME]` table with
    /// every key the experiment accepts and its default value.
    ///
    /// The output is a valid --config file: save it, edit values, and pass it back with
    /// `cargo xtask reproduce NAME --config FILE`. Since it sets every key, its values are
    /// used with or without --quick.
    ///
    /// Exit status: 0 on success; 1 if the configuration cannot be written as TOML; 2 for
    /// an unknown experiment name.
    Config(ConfigArgs),
}

#[derive(Debug, Args)]
struct ConfigArgs {
    /// The experiment (see `cargo xtask list`).
    #[arg(value_name = "NAME")]
    name: String,

    /// Print the reduced `--quick` settings instead of the full study's.
    #[arg(long)]
    quick: bool,
}

#[derive(Debug, Args)]
struct ReproduceArgs {
    /// Experiments to run, by name (see `cargo xtask list`). Without any name, every
    /// experiment runs, in catalogue order.
    #[arg(value_name = "NAME")]
    names: Vec<String>,

    /// Use each experiment's reduced settings (chosen by the experiment: e.g. fewer
    /// particles or seeds) for a fast smoke run instead of the full study.
    #[arg(long)]
    quick: bool,

    /// Directory for the reports; each experiment writes DIR/NAME/, and DIR/index.md and
    /// DIR/index.html list every report found in DIR. (default: `<workspace root>/target/reports`)
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// TOML file of configuration overrides: one table per experiment, e.g.
    /// `[gaussian-oracle]` followed by `steps = 100`. Tables of experiments not being run
    /// are ignored; a table naming no experiment, or a key the experiment does not have,
    /// is an error.
    #[arg(long, value_name = "FILE.toml")]
    config: Option<PathBuf>,

    /// Base random seed. All randomness of an experiment derives from it, so the same
    /// seed and settings give the same report (whatever the thread count).
    #[arg(long, value_name = "S", default_value_t = DEFAULT_SEED)]
    seed: u64,

    /// Number of worker threads experiments may use (a rayon thread pool). Results do not
    /// depend on it. [default: the number of available CPUs]
    #[arg(long, value_name = "T", value_parser = parse_threads)]
    threads: Option<usize>,

    /// Exit with status 1 if any check of any experiment failed (for CI). Without it,
    /// failed checks are reported but the exit status stays 0.
    #[arg(long)]
    check: bool,
}

fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("the thread count must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a thread count: {e}")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::List => {
            list();
            ExitCode::SUCCESS
        }
        Command::Reproduce(args) => reproduce(args),
        Command::Config(args) => print_config(&args),
    }
}

/// `cargo xtask config NAME [--quick]`: the default configuration as a `--config` file.
fn print_config(args: &ConfigArgs) -> ExitCode {
    let exp = match select(std::slice::from_ref(&args.name)) {
        Ok(e) => e[0],
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };
    match default_config_toml(exp, args.quick) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("error: {}: {msg}", exp.name());
            ExitCode::FAILURE
        }
    }
}

/// The TOML text printed by `cargo xtask config`.
fn default_config_toml(exp: &dyn Experiment, quick: bool) -> Result<String, String> {
    let config = exp.default_config(quick).map_err(|e| e.to_string())?;
    config::config_toml(exp.name(), &config, quick)
}

fn list() {
    let experiments = registry::all();
    let width = experiments
        .iter()
        .map(|e| e.name().len())
        .max()
        .unwrap_or(0);
    for e in experiments {
        println!("{:width$}  {}", e.name(), e.description());
    }
}

/// The workspace root: the parent of this package's manifest directory (from the
/// environment `cargo run` sets, else the one compiled in), or the current directory.
fn workspace_root() -> PathBuf {
    let candidates = [
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
    ];
    for manifest in candidates.into_iter().flatten() {
        if let Some(root) = manifest.parent()
            && root.join("Cargo.toml").is_file()
        {
            return root.to_path_buf();
        }
    }
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// Resolves the requested names (all if none; duplicates dropped). Unknown names give the
/// error message listing the known ones.
fn select(names: &[String]) -> Result<Vec<&'static dyn Experiment>, String> {
    if names.is_empty() {
        return Ok(registry::all());
    }
    let mut chosen: Vec<&'static dyn Experiment> = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        match registry::find(name) {
            Ok(e) => {
                if !chosen.iter().any(|c| c.name() == e.name()) {
                    chosen.push(e);
                }
            }
            Err(_) => unknown.push(format!("`{name}`")),
        }
    }
    if unknown.is_empty() {
        Ok(chosen)
    } else {
        let known: Vec<&str> = registry::all().iter().map(|e| e.name()).collect();
        Err(format!(
            "unknown experiment{} {}; known experiments: {}",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.join(", "),
            known.join(", ")
        ))
    }
}

/// One line of the console summary.
struct SummaryRow {
    name: String,
    checks: String,
    wall: String,
    path: String,
}

fn reproduce(args: ReproduceArgs) -> ExitCode {
    let experiments = match select(&args.names) {
        Ok(e) => e,
        Err(msg) => {
            eprintln!("error: {msg}");
            return ExitCode::from(2);
        }
    };

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

    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
    {
        eprintln!("warning: could not configure {threads} worker threads: {e}");
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

    eprintln!(
        "reproducing {} experiment{} ({} settings, seed {}, {threads} thread{}) into {}",
        experiments.len(),
        if experiments.len() == 1 { "" } else { "s" },
        if args.quick { "quick" } else { "full" },
        args.seed,
        if threads == 1 { "" } else { "s" },
        out.display()
    );

    let mut ran: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut any_error = false;
    let mut any_failed_check = false;
    let total = experiments.len();
    for (i, exp) in experiments.iter().enumerate() {
        let name = exp.name();
        let progress = Progress::start(name, i + 1, total);
        let callback = |fraction: f64, message: &str| progress.update(fraction, message);
        let ctx = RunContext {
            quick: args.quick,
            seed: args.seed,
            overrides: overrides.get(name).cloned().unwrap_or_default(),
            progress: &callback,
        };
        let start = Instant::now();
        let result = run_guarded(*exp, &ctx);
        let wall = start.elapsed().as_secs_f64();

        match result {
            Ok(mut report) => {
                report.wall_seconds = wall;
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
                match write_outputs(&out, name, exp.description(), &report) {
                    Ok((md, warnings)) => {
                        for w in warnings {
                            eprintln!("warning: {name}: {w}");
                        }
                        ran.insert(name.to_string(), None);
                        rows.push(SummaryRow {
                            name: name.into(),
                            checks: format!("{passed}/{n}{}", if passed == n { "" } else { " ❌" }),
                            wall: format!("{wall:.2}"),
                            path: md.display().to_string(),
                        });
                    }
                    Err(msg) => {
                        any_error = true;
                        eprintln!("error: {name}: cannot write the report: {msg}");
                        ran.insert(name.to_string(), Some(format!("report not written: {msg}")));
                        rows.push(SummaryRow {
                            name: name.into(),
                            checks: format!("{passed}/{n}"),
                            wall: format!("{wall:.2}"),
                            path: "(not written)".into(),
                        });
                    }
                }
            }
            Err(msg) => {
                any_error = true;
                progress.finish(&format!("ERROR after {}", fmt_seconds(wall)));
                eprintln!("error: experiment `{name}` failed: {msg}");
                ran.insert(name.to_string(), Some(msg.clone()));
                rows.push(SummaryRow {
                    name: name.into(),
                    checks: "error".into(),
                    wall: format!("{wall:.2}"),
                    path: "(not written)".into(),
                });
            }
        }
    }

    let index_path = match index::write(&out, &ran) {
        Ok(p) => Some(p),
        Err(e) => {
            any_error = true;
            eprintln!(
                "error: cannot write {}: {e}",
                out.join("index.md").display()
            );
            None
        }
    };

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

/// Writes `out/name/{report.json, report.md, report.html, *.svg}`; returns the Markdown path and
/// rendering warnings. SVG files of plots the report no longer has are removed.
fn write_outputs(
    out: &Path,
    name: &str,
    description: &str,
    report: &Report,
) -> Result<(PathBuf, Vec<String>), String> {
    let dir = out.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;

    let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    let json_path = dir.join("report.json");
    std::fs::write(&json_path, json + "\n").map_err(|e| format!("{}: {e}", json_path.display()))?;

    let (svgs, warnings) = svg::render_all(report, &dir);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|x| x == "svg") && !svgs.contains(&p) {
                let _ = std::fs::remove_file(&p);
            }
        }
    }

    let md_path = dir.join("report.md");
    std::fs::write(&md_path, markdown::render_report(report, description))
        .map_err(|e| format!("{}: {e}", md_path.display()))?;
    let html_path = dir.join("report.html");
    html::write_atomic(&html_path, &html::render_report(report, description))
        .map_err(|e| format!("{}: {e}", html_path.display()))?;
    Ok((md_path, warnings))
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
mod test_support {
    //! Hand-built reports and temporary directories for the unit tests.

    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use meanfield_experiments::{Check, Plot, Report, Series, Table};
    use serde_json::json;

    /// A unique, empty directory under the system temp dir.
    pub fn unique_temp_dir(tag: &str) -> PathBuf {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "xtask-test-{tag}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A report with a passing and a failing check, a table, and three plots (one with a
    /// missing series, one on log axes with a non-positive value, one scatter).
    pub fn sample_report() -> Report {
        let mut r = Report::new(
            "sample",
            true,
            7,
            json!({"eta": 0.01, "anchor": [1.0, -0.5]}),
        );
        r.wall_seconds = 1.5;
        r.checks
            .push(Check::within("mean close to oracle", 0.50123, 0.5, 0.01));
        r.checks.push(Check::within("slope | fit", -0.8, -1.0, 0.1));
        let mut t = Table::new(["N", "error", "label"]);
        t.push_row(vec![json!(64), json!(1.23456e-5), json!("small")]);
        t.push_row(vec![json!(128), json!(0.5), json!("big")]);
        r.tables.insert("rates".into(), t);
        r.series.insert(
            "mean".into(),
            Series {
                x: vec![0.0, 1.0, 2.0, 3.0],
                y: vec![2.0, 1.2, 0.8, 0.6],
                y_err: None,
            },
        );
        r.series.insert(
            "mse".into(),
            Series {
                x: vec![64.0, 128.0, 256.0],
                y: vec![1e-2, 5e-3, -1.0],
                y_err: None,
            },
        );
        r.plots.push(Plot {
            name: "convergence".into(),
            title: "Convergence of the mean".into(),
            x_label: "time".into(),
            y_label: "mean".into(),
            series: vec!["mean".into(), "missing".into()],
            log_x: false,
            log_y: false,
            scatter: false,
        });
        r.plots.push(Plot {
            name: "chaos".into(),
            title: "Propagation of chaos".into(),
            x_label: "particles N".into(),
            y_label: "MSE".into(),
            series: vec!["mse".into()],
            log_x: true,
            log_y: true,
            scatter: false,
        });
        r.plots.push(Plot {
            name: "scatter".into(),
            title: "Scatter plot".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec!["mean".into()],
            log_x: false,
            log_y: false,
            scatter: true,
        });
        r.notes.push("A note with *Markdown*.".into());
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_reproduce_options() {
        let cli = Cli::try_parse_from([
            "xtask",
            "reproduce",
            "a",
            "b",
            "--quick",
            "--out",
            "/tmp/x",
            "--seed",
            "5",
            "--threads",
            "3",
            "--check",
        ])
        .unwrap();
        let Command::Reproduce(a) = cli.command else {
            panic!("not reproduce")
        };
        assert_eq!(a.names, ["a", "b"]);
        assert!(a.quick && a.check);
        assert_eq!(a.seed, 5);
        assert_eq!(a.threads, Some(3));
        assert_eq!(a.out, Some(PathBuf::from("/tmp/x")));
        let cli = Cli::try_parse_from(["xtask", "reproduce"]).unwrap();
        let Command::Reproduce(a) = cli.command else {
            panic!("not reproduce")
        };
        assert_eq!(a.seed, DEFAULT_SEED);
        assert!(Cli::try_parse_from(["xtask", "reproduce", "--threads", "0"]).is_err());
    }

    #[test]
    fn parses_config_command() {
        let cli = Cli::try_parse_from(["xtask", "config", "mf-mgdm-table", "--quick"]).unwrap();
        let Command::Config(a) = cli.command else {
            panic!("not config")
        };
        assert_eq!(a.name, "mf-mgdm-table");
        assert!(a.quick);
        assert!(Cli::try_parse_from(["xtask", "config"]).is_err());
    }

    /// For every experiment and both settings, the printed TOML is a `--config` file that
    /// resolves (through `RunContext::resolve`, with or without `--quick`) to exactly the
    /// default configuration, and it sets every key.
    #[test]
    fn printed_default_config_is_accepted_back_unchanged() {
        let known: Vec<&str> = registry::all().iter().map(|e| e.name()).collect();
        for exp in registry::all() {
            for quick in [false, true] {
                let what = format!("{} (quick = {quick})", exp.name());
                let defaults = exp.default_config(quick).expect(&what);
                let text = default_config_toml(exp, quick).expect(&what);
                let overrides = config::parse_overrides(&text, &known).expect(&what);
                assert_eq!(overrides.keys().collect::<Vec<_>>(), [exp.name()], "{what}");
                let table = &overrides[exp.name()];
                assert_eq!(
                    table.keys().collect::<Vec<_>>(),
                    defaults
                        .as_object()
                        .expect(&what)
                        .keys()
                        .collect::<Vec<_>>(),
                    "{what}: every key is printed"
                );
                for run_quick in [quick, !quick] {
                    let ctx = RunContext {
                        quick: run_quick,
                        seed: 1,
                        overrides: table.clone(),
                        progress: &|_, _| {},
                    };
                    assert_eq!(exp.resolve_config(&ctx).expect(&what), defaults, "{what}");
                }
            }
        }
    }

    #[test]
    fn unknown_names_are_listed() {
        let Err(err) = select(&["no-such-experiment".into()]) else {
            panic!("accepted an unknown name")
        };
        assert!(err.contains("`no-such-experiment`"), "{err}");
        for e in registry::all() {
            assert!(err.contains(e.name()), "{err}");
        }
        assert_eq!(select(&[]).unwrap().len(), registry::all().len());
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

//! `cargo xtask`: the reproduction harness of meanfield.
//!
//! `cargo xtask reproduce [NAME...]` runs experiments from the catalogue
//! (`meanfield_experiments::registry`) and writes, per experiment, `report.json`,
//! `report.md`, `report.html` and one SVG per plot into `DIR/NAME/`, plus `DIR/index.md`
//! and `DIR/index.html` listing every report in `DIR`. `cargo xtask list` prints the catalogue. `cargo xtask config NAME
//! [--quick]` prints an experiment's full default configuration as a `--config` file.
//! `cargo xtask fuzz [--seconds S] [TARGET...]` runs the cargo-fuzz targets of `fuzz/`.
//! `cargo xtask peers [--only SUITE,…]` runs the side-by-side speed comparisons.
//!
//! Exit codes: 0 success; 1 an experiment failed with an error (or, with `--check`, a
//! check failed) or outputs could not be written; 2 a usage error (unknown experiment
//! name, bad `--config` file or value, bad option, a thread pool that cannot be built);
//! 3 the output directory is in use by another run; 130 (143) interrupted by SIGINT
//! (SIGTERM), after the write in progress and with the index marking the interruption.

mod calibrate;
mod fuzz;
mod peers;
mod progress;
mod reproduce;

// The rendering, configuration and output modules live in the library target
// (`src/lib.rs`) so the fuzz targets (`fuzz/`) can reach them; `crate::config` etc. keep
// working in the binary's modules through these imports.
#[cfg(test)]
use xtask::test_support;
use xtask::{config, html, index, markdown, output, svg};

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use meanfield_experiments::{Experiment, registry};

use crate::reproduce::ReproduceArgs;

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
    /// Run one experiment at many independent seeds and count, per check, the seeds at
    /// which it failed: the false-alarm rate of its randomised checks.
    ///
    /// Exit status: 0 when it ran; 1 if a run stopped with an error; 2 for an unknown
    /// name or bad options; 3 if the output directory is in use.
    Calibrate(calibrate::CalibrateArgs),
    /// Run every cargo-fuzz target of `fuzz/` (or the named ones) for --seconds each,
    /// from its committed seed corpus (`fuzz/seeds/TARGET`), with `cargo +nightly fuzz`.
    ///
    /// Exit status: 0 when no target found anything; 1 on a finding (its input is in
    /// `fuzz/artifacts/TARGET/`) or a failed build; 2 for an unknown target, or when the
    /// nightly toolchain or cargo-fuzz is missing (the message says how to install it).
    Fuzz(fuzz::FuzzArgs),
    /// Run every side-by-side speed comparison with a peer (NumPy, CBXpy 1.0.4, JAX where
    /// it installs; `benches/peers/`), one suite after the other, and write
    /// `target/peers/table.md` and `table.json` (machine, load before and after, every
    /// table and the raw timings).
    ///
    /// Exit status: 0 when every suite ran; 1 if one failed (the others still run).
    Peers(peers::PeersArgs),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::List => {
            list();
            ExitCode::SUCCESS
        }
        Command::Reproduce(args) => reproduce::reproduce(args),
        Command::Config(args) => print_config(&args),
        Command::Calibrate(args) => calibrate::calibrate(args),
        Command::Fuzz(args) => fuzz::fuzz(args),
        Command::Peers(args) => peers::peers(args),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reproduce::DEFAULT_SEED;
    use clap::CommandFactory;
    use meanfield_experiments::RunContext;

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
}

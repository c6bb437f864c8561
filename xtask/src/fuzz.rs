//! `cargo xtask fuzz [--seconds S] [TARGET...]`: every cargo-fuzz target of `fuzz/` (or
//! the named ones) for S seconds each, from its committed seed corpus.
//!
//! The targets are built once (`cargo +nightly fuzz build`: optimised, with debug
//! assertions and overflow checks, cargo-fuzz's default), then each runs with libFuzzer on `fuzz/corpus/TARGET` (generated, git-ignored)
//! and `fuzz/seeds/TARGET` (committed, read-only). A target that panics, aborts, times out
//! on one input or exceeds the memory limit is a finding: its input is in
//! `fuzz/artifacts/TARGET/`, and the command fails. The summary lists the executions per
//! target.
//!
//! Exit status: 0 no finding; 1 a finding, or a build or run that failed; 2 bad usage (an
//! unknown target), no nightly toolchain or no cargo-fuzz (with the command that installs
//! it).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use clap::Args;

use crate::workspace_root;

/// The cargo-fuzz version `.ci/run` installs.
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// Targets to run (default: all; see `fuzz/README.md`).
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Seconds of fuzzing per target.
    #[arg(long, value_name = "S", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub seconds: u64,

    /// Sanitizer of the build: `none` (default: the workspace forbids unsafe code, so
    /// the targets' invariants are panics, and the build is about twice as fast) or
    /// `address`.
    #[arg(long, value_name = "SANITIZER", default_value = "none", value_parser = ["none", "address"])]
    pub sanitizer: String,
}

/// Why fuzzing cannot start on this machine (exit 2), or `None`.
pub fn missing_tools() -> Option<String> {
    let ok = |args: &[&str]| {
        Command::new("cargo")
            .args(args)
            .env_remove("RUSTUP_TOOLCHAIN")
            .env_remove("RUSTC")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ok(&["+nightly", "--version"]) {
        return Some(
            "no nightly toolchain (`cargo +nightly --version` failed); install it with \
             `rustup toolchain install nightly`"
                .into(),
        );
    }
    if !ok(&["+nightly", "fuzz", "--version"]) {
        return Some(format!(
            "cargo-fuzz is not installed; install it with \
             `cargo install cargo-fuzz --locked --version {CARGO_FUZZ_VERSION}`"
        ));
    }
    None
}

/// The fuzz targets declared in `fuzz/Cargo.toml` (`[[bin]]` names), in file order.
pub fn targets(fuzz_dir: &Path) -> Result<Vec<String>, String> {
    let manifest = fuzz_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: {e}", manifest.display()))?;
    let bins = table
        .get("bin")
        .and_then(|b| b.as_array())
        .ok_or_else(|| format!("{}: no [[bin]] targets", manifest.display()))?;
    bins.iter()
        .map(|b| {
            b.get("name")
                .and_then(|n| n.as_str())
                .map(str::to_string)
                .ok_or_else(|| format!("{}: a [[bin]] without a name", manifest.display()))
        })
        .collect()
}

/// A `cargo +nightly fuzz …` command in `fuzz_dir`, building into `fuzz/target`
/// whatever the caller's environment says (a `cargo test` or a custom target directory).
fn cargo_fuzz(fuzz_dir: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("+nightly")
        .arg("fuzz")
        .current_dir(fuzz_dir)
        .env("CARGO_TARGET_DIR", fuzz_dir.join("target"));
    for var in [
        "RUSTUP_TOOLCHAIN",
        "RUSTC",
        "RUSTDOC",
        "CARGO",
        "CARGO_MANIFEST_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_ENCODED_RUSTFLAGS",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// libFuzzer's `stat::number_of_executed_units` from its final statistics.
fn executions(stderr: &str) -> Option<u64> {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The result of one target's run.
struct Outcome {
    target: String,
    executions: Option<u64>,
    seconds: f64,
    finding: Option<String>,
}

/// `cargo xtask fuzz`.
pub fn fuzz(args: FuzzArgs) -> ExitCode {
    let fuzz_dir = workspace_root().join("fuzz");
    let all = match targets(&fuzz_dir) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let unknown: Vec<&String> = args.targets.iter().filter(|t| !all.contains(t)).collect();
    if !unknown.is_empty() {
        eprintln!(
            "error: unknown fuzz target{} {}; known targets: {}",
            if unknown.len() > 1 { "s" } else { "" },
            unknown
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", "),
            all.join(", ")
        );
        return ExitCode::from(2);
    }
    if let Some(why) = missing_tools() {
        eprintln!("error: cannot fuzz: {why}");
        return ExitCode::from(2);
    }
    let selected: Vec<String> = if args.targets.is_empty() {
        all
    } else {
        all.into_iter()
            .filter(|t| args.targets.contains(t))
            .collect()
    };

    let built = Instant::now();
    eprintln!(
        "building {} fuzz target(s) (cargo +nightly fuzz build, sanitizer {})…",
        selected.len(),
        args.sanitizer
    );
    let status = cargo_fuzz(&fuzz_dir)
        .args(["build", "--sanitizer", &args.sanitizer])
        .status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("error: cargo +nightly fuzz build failed");
        return ExitCode::FAILURE;
    }
    eprintln!("built in {:.0} s", built.elapsed().as_secs_f64());

    let mut outcomes = Vec::new();
    for target in &selected {
        eprintln!("fuzzing {target} for {} s…", args.seconds);
        outcomes.push(run_target(&fuzz_dir, target, &args));
    }

    println!("| target | executions | seconds | result |");
    println!("|---|---:|---:|---|");
    for o in &outcomes {
        println!(
            "| {} | {} | {:.0} | {} |",
            o.target,
            o.executions.map_or("?".into(), |e| e.to_string()),
            o.seconds,
            o.finding.as_deref().unwrap_or("no finding")
        );
    }
    let findings = outcomes.iter().filter(|o| o.finding.is_some()).count();
    if findings == 0 {
        println!("{} target(s), no finding", outcomes.len());
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "error: {findings} of {} target(s) failed; inputs in {}",
            outcomes.len(),
            fuzz_dir.join("artifacts").display()
        );
        ExitCode::FAILURE
    }
}

/// Runs one target for `args.seconds` on its working corpus and seeds.
fn run_target(fuzz_dir: &Path, target: &str, args: &FuzzArgs) -> Outcome {
    let corpus: PathBuf = fuzz_dir.join("corpus").join(target);
    let seeds: PathBuf = fuzz_dir.join("seeds").join(target);
    let started = Instant::now();
    let mut outcome = Outcome {
        target: target.to_string(),
        executions: None,
        seconds: 0.0,
        finding: None,
    };
    if let Err(e) = std::fs::create_dir_all(&corpus) {
        outcome.finding = Some(format!("cannot create {}: {e}", corpus.display()));
        return outcome;
    }
    let mut cmd = cargo_fuzz(fuzz_dir);
    cmd.args(["run", "--sanitizer", &args.sanitizer, target])
        .arg(&corpus);
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    cmd.args([
        "--",
        &format!("-max_total_time={}", args.seconds),
        "-timeout=20",
        "-rss_limit_mb=2048",
        "-print_final_stats=1",
    ]);
    let output = match cmd.stdin(Stdio::null()).output() {
        Ok(o) => o,
        Err(e) => {
            outcome.finding = Some(format!("cannot run cargo fuzz: {e}"));
            return outcome;
        }
    };
    outcome.seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    outcome.executions = executions(&stderr);
    if !output.status.success() {
        // libFuzzer's report (panic message, failing input) is at the end.
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
        for line in tail.iter().rev() {
            eprintln!("  {target}: {line}");
        }
        let artifact = stderr
            .lines()
            .find_map(|l| l.split("Test unit written to ").nth(1))
            .map(str::trim)
            .unwrap_or("no input saved");
        outcome.finding = Some(format!("FAILED ({}); input: {artifact}", output.status));
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_has_seeds_and_a_source() {
        let fuzz_dir = workspace_root().join("fuzz");
        let names = targets(&fuzz_dir).unwrap();
        assert!(names.len() >= 14, "{names:?}");
        for t in &names {
            let seeds = fuzz_dir.join("seeds").join(t);
            let n = std::fs::read_dir(&seeds)
                .unwrap_or_else(|e| panic!("{}: {e}", seeds.display()))
                .count();
            assert!(n >= 1, "{t}: no seeds");
            assert!(
                fuzz_dir
                    .join("fuzz_targets")
                    .join(format!("{t}.rs"))
                    .is_file()
            );
        }
    }

    #[test]
    fn final_stats_are_parsed() {
        let stderr =
            "#1024 DONE cov: 5\nstat::number_of_executed_units: 123456\nstat::peak_rss_mb: 40\n";
        assert_eq!(executions(stderr), Some(123456));
        assert_eq!(executions("crash"), None);
    }
}

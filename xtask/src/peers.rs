//! `cargo xtask peers [--only SUITE,…] [--runs K]`: every side-by-side speed comparison
//! with a named peer, in one run, into one table.
//!
//! Each suite is one script of `benches/peers/` that installs its peer into `target/`
//! (NumPy, CBXpy 1.0.4, JAX where it installs), builds our timing binary in release and
//! runs the two sides alternately (see `benches/peers/README.md`):
//!
//! | suite | script | peer | work |
//! |---|---|---|---|
//! | `langevin` | `run.sh` | NumPy | MFLD, projected, mirror and adjusted mirror steps |
//! | `pgd` | `pgd_run.sh` | NumPy (and JAX) | the PGD and MPD loops of `mpgd-blr` |
//! | `cbo` | `cbo_run.sh` | CBXpy 1.0.4 | the anisotropic CBO step |
//! | `variants` | `variants_run.sh` | CBXpy 1.0.4 | one step of each consensus variant (criterion) |
//!
//! The suites run one after the other (never concurrently: they would share the cores).
//! Outputs: `target/peers/table.md` (the machine, the load before and after, each suite's
//! table) and `target/peers/table.json` (the same, with every JSON document the suites
//! wrote). A suite that fails is reported with its exit status and the command fails;
//! the others still run.
//!
//! Exit status: 0 when every suite ran; 1 if one failed.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use clap::Args;
use serde_json::{Value, json};

use crate::{output, workspace_root};

/// One comparison: its name, script, arguments and where its table and JSON land.
struct Suite {
    name: &'static str,
    script: &'static str,
    /// Markdown table the script writes, relative to the workspace root.
    table: &'static str,
    /// JSON documents the script writes (a directory, and a file-name prefix filter).
    json_dir: &'static str,
    json_prefixes: &'static [&'static str],
    /// Whether the script takes `--runs K`.
    takes_runs: bool,
}

const SUITES: &[Suite] = &[
    Suite {
        name: "langevin",
        script: "benches/peers/run.sh",
        table: "target/peers/langevin-table.md",
        json_dir: "target/peers",
        json_prefixes: &["numpy-", "rust-"],
        takes_runs: true,
    },
    Suite {
        name: "pgd",
        script: "benches/peers/pgd_run.sh",
        table: "target/peers/pgd-table.md",
        json_dir: "target/peers",
        json_prefixes: &["pgd-"],
        takes_runs: false,
    },
    Suite {
        name: "cbo",
        script: "benches/peers/cbo_run.sh",
        table: "target/peers-cbo/table.md",
        json_dir: "target/peers-cbo",
        json_prefixes: &["cbxpy-", "rust-"],
        takes_runs: true,
    },
    Suite {
        name: "variants",
        script: "benches/peers/variants_run.sh",
        table: "target/peers-variants/table.md",
        json_dir: "target/peers-variants",
        json_prefixes: &["timings"],
        takes_runs: true,
    },
];

#[derive(Debug, Args)]
pub struct PeersArgs {
    /// Suites to run, comma-separated (default: all): langevin, pgd, cbo, variants.
    #[arg(long, value_name = "SUITE,…", value_delimiter = ',', value_parser = ["langevin", "pgd", "cbo", "variants"])]
    pub only: Vec<String>,

    /// Whole sweeps per suite whose fastest per-cell median is kept (langevin and cbo;
    /// the least disturbed measurement on a shared machine).
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub runs: u32,
}

/// `cargo xtask peers`: runs the chosen suites and writes the combined table.
pub fn peers(args: PeersArgs) -> ExitCode {
    let root = workspace_root();
    let chosen: Vec<&Suite> = SUITES
        .iter()
        .filter(|s| args.only.is_empty() || args.only.iter().any(|o| o == s.name))
        .collect();
    let load_before = load_average();
    let started = Instant::now();
    let mut sections = Vec::new();
    let mut failed = false;
    for suite in &chosen {
        eprintln!("== peers: {} ({})", suite.name, suite.script);
        let t0 = Instant::now();
        let mut cmd = Command::new("bash");
        cmd.arg(suite.script).current_dir(&root);
        if suite.takes_runs {
            cmd.args(["--runs", &args.runs.to_string()]);
        }
        let status = cmd.status();
        let seconds = t0.elapsed().as_secs_f64();
        let (ok, status_text) = match &status {
            Ok(s) if s.success() => (true, "ok".to_string()),
            Ok(s) => (false, format!("failed ({s})")),
            Err(e) => (false, format!("could not start bash: {e}")),
        };
        failed |= !ok;
        let read_table = || std::fs::read_to_string(root.join(suite.table)).unwrap_or_default();
        sections.push(json!({
            "suite": suite.name,
            "script": suite.script,
            "status": status_text,
            "seconds": seconds,
            "table_md": if ok { read_table() } else { String::new() },
            "json": if ok { json_documents(&root.join(suite.json_dir), suite.json_prefixes) } else { json!({}) },
        }));
    }
    let load_after = load_average();
    let summary = json!({
        "machine": machine(),
        "load_before": load_before,
        "load_after": load_after,
        "seconds": started.elapsed().as_secs_f64(),
        "suites": sections,
    });
    let out = root.join("target/peers");
    if let Err(e) = write_outputs(&out, &summary) {
        eprintln!("error: writing {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    eprintln!("peers: wrote {}", out.join("table.md").display());
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// table.md and table.json, each written atomically ([`output::write_atomic`]): a reader
/// never sees a torn table.
fn write_outputs(out: &Path, summary: &Value) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    let mut md = String::from("# Side-by-side speed against the peers (`cargo xtask peers`)\n\n");
    md.push_str(&format!(
        "Machine: {}. Load (1, 5, 15 min) before: {}; after: {}. Ratios are peer time / ours \
         (> 1: we are faster); see `docs/performance.md` for the targets and floors.\n\n",
        summary["machine"].as_str().unwrap_or("?"),
        summary["load_before"].as_str().unwrap_or("?"),
        summary["load_after"].as_str().unwrap_or("?"),
    ));
    for s in summary["suites"].as_array().into_iter().flatten() {
        md.push_str(&format!(
            "## {} (`{}`, {}, {:.0} s)\n\n{}\n",
            s["suite"].as_str().unwrap_or("?"),
            s["script"].as_str().unwrap_or("?"),
            s["status"].as_str().unwrap_or("?"),
            s["seconds"].as_f64().unwrap_or(f64::NAN),
            s["table_md"].as_str().unwrap_or(""),
        ));
    }
    let json_text = serde_json::to_string_pretty(summary).map_err(std::io::Error::other)?;
    output::write_atomic(&out.join("table.json"), json_text.as_bytes())?;
    output::write_atomic(&out.join("table.md"), md.as_bytes())
}

/// Every `*.json` file in `dir` whose name starts with one of `prefixes`, parsed, by name
/// (a file that does not parse is kept as its text).
fn json_documents(dir: &Path, prefixes: &[&str]) -> Value {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".json") && prefixes.iter().any(|pre| name.starts_with(pre))
        })
        .collect();
    files.sort();
    let mut map = serde_json::Map::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        map.insert(name.unwrap_or_default(), value);
    }
    Value::Object(map)
}

/// "N cores, CPU model" from /proc (Linux), or the core count alone.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores, {model}")
}

/// The first three fields of /proc/loadavg, or "unknown".
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::unique_temp_dir;

    #[test]
    fn the_combined_table_holds_every_suite_and_its_raw_timings() {
        let dir = unique_temp_dir("peers");
        std::fs::write(
            dir.join("pgd-ours.json"),
            r#"{"ours_1_thread": {"seconds_per_loop": 0.5}}"#,
        )
        .unwrap();
        std::fs::write(dir.join("pgd-broken.json"), "not json").unwrap();
        std::fs::write(dir.join("other.json"), "{}").unwrap();
        let docs = json_documents(&dir, &["pgd-"]);
        assert_eq!(
            docs["pgd-ours.json"]["ours_1_thread"]["seconds_per_loop"],
            0.5
        );
        assert_eq!(docs["pgd-broken.json"], "not json");
        assert!(docs.get("other.json").is_none());

        let summary = json!({
            "machine": "2 cores, test CPU", "load_before": "0.1 0.2 0.3", "load_after": "1 2 3",
            "seconds": 1.0,
            "suites": [
                {"suite": "pgd", "script": "benches/peers/pgd_run.sh", "status": "ok",
                 "seconds": 12.0, "table_md": "| a | b |\n", "json": docs},
                {"suite": "cbo", "script": "benches/peers/cbo_run.sh", "status": "failed (exit status: 1)",
                 "seconds": 3.0, "table_md": "", "json": {}},
            ],
        });
        let out = dir.join("out");
        write_outputs(&out, &summary).unwrap();
        let md = std::fs::read_to_string(out.join("table.md")).unwrap();
        assert!(
            md.contains("2 cores, test CPU") && md.contains("before: 0.1 0.2 0.3"),
            "{md}"
        );
        assert!(
            md.contains("## pgd (`benches/peers/pgd_run.sh`, ok, 12 s)\n\n| a | b |"),
            "{md}"
        );
        assert!(
            md.contains("## cbo (`benches/peers/cbo_run.sh`, failed (exit status: 1)"),
            "{md}"
        );
        let back: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("table.json")).unwrap())
                .unwrap();
        assert_eq!(back, summary);
        // No temporary file is left beside the outputs.
        let names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}

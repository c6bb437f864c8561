//! `cargo xtask reproduce` as a process: exit codes, the output-directory lock, checking
//! every configuration before running anything, and what an interrupted run leaves behind
//! (docs/harness.md §1, "Order of a run" and "Exit status").
//!
//! Each test runs the real binary (`CARGO_BIN_EXE_xtask`) into its own directory under
//! `CARGO_TARGET_TMPDIR`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn xtask(args: &[&str], out: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.arg("reproduce").args(args).arg("--out").arg(out);
    cmd.stdin(Stdio::null());
    cmd
}

fn run(mut cmd: Command) -> Output {
    cmd.output().expect("xtask starts")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Names in `dir` (files and directories), sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_bad_setting_in_any_selected_experiment_stops_the_run_before_anything_is_written() {
    let dir = scratch("bad-config");
    let out = dir.join("reports");
    let config = dir.join("overrides.toml");
    // The first experiment's table is valid; the second names a key it does not have.
    std::fs::write(
        &config,
        "[gaussian-oracle]\nsteps = 10\n\n[cbo-gradient]\nno_such_key = 1\n",
    )
    .unwrap();
    let output = run(xtask(
        &[
            "gaussian-oracle",
            "cbo-gradient",
            "--quick",
            "--config",
            config.to_str().unwrap(),
        ],
        &out,
    ));
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cbo-gradient") && err.contains("no_such_key"),
        "{err}"
    );
    assert!(err.contains("nothing was run"), "{err}");
    assert!(
        listing(&out).is_empty(),
        "files written: {:?}",
        listing(&out)
    );
}

#[test]
fn an_absurd_thread_count_is_a_usage_error() {
    let dir = scratch("threads");
    let out = dir.join("reports");
    let output = run(xtask(
        &["gaussian-oracle", "--quick", "--threads", "10000"],
        &out,
    ));
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("10000") && err.contains("1024"), "{err}");
    assert!(!out.exists());
}

#[test]
fn a_directory_locked_by_a_live_run_is_refused_with_exit_3() {
    let dir = scratch("busy");
    let out = dir.join("reports");
    std::fs::create_dir_all(&out).unwrap();
    // This test process is alive, so a lock naming it is not stale.
    let lock = out.join(".reproduce.lock");
    std::fs::write(&lock, format!("pid {}\nstarted 0\n", std::process::id())).unwrap();
    let output = run(xtask(&["cbo-gradient", "--quick"], &out));
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(err.contains("in use by another"), "{err}");
    assert_eq!(listing(&out), vec![".reproduce.lock".to_string()]);
    // The other run's lock is left alone.
    assert!(
        std::fs::read_to_string(&lock)
            .unwrap()
            .contains(&format!("pid {}", std::process::id()))
    );
}

#[test]
fn a_stale_lock_is_taken_over_and_released() {
    let dir = scratch("stale");
    let out = dir.join("reports");
    std::fs::create_dir_all(&out).unwrap();
    // A process that has exited: its pid is free (or reused by a process that is not
    // ours, which the lock cannot tell apart; pid reuse within the test is unlikely).
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    std::fs::write(
        out.join(".reproduce.lock"),
        format!("pid {pid}\nstarted 0\n"),
    )
    .unwrap();
    let output = run(xtask(&["cbo-gradient", "--quick"], &out));
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("stale lock"), "{err}");
    assert!(out.join("cbo-gradient/report.json").is_file());
    assert!(!out.join(".reproduce.lock").exists(), "lock not released");
}

fn wait_with_limit(child: &mut std::process::Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("xtask did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ctrl-C (SIGINT) while the second of two experiments runs: the first report stays, the
/// second is not published, the index says it was interrupted, and nothing else is left.
#[test]
fn an_interrupted_run_leaves_no_output_that_looks_complete() {
    let dir = scratch("interrupt");
    let out = dir.join("reports");
    // cbo-gradient finishes in seconds; fisher-rao-chaos at full size
    // runs for minutes, so the signal surely arrives while it runs.
    let mut child = xtask(
        &["cbo-gradient", "fisher-rao-chaos", "--threads", "1"],
        &out,
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let index = out.join("index.md");
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(&index).unwrap_or_default();
        if text.contains("| fisher-rao-chaos | ▶️ running") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "fisher-rao-chaos never started; index:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = wait_with_limit(&mut child, Duration::from_secs(60));
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted by signal 2"), "{err}");

    let text = std::fs::read_to_string(&index).unwrap();
    assert!(
        text.contains("| fisher-rao-chaos | ⚠️ interrupted"),
        "{text}"
    );
    assert!(
        text.contains("| [cbo-gradient](cbo-gradient/report.md) | ✅"),
        "{text}"
    );
    assert!(
        std::fs::read_to_string(out.join("index.html"))
            .unwrap()
            .contains("interrupted")
    );
    assert!(out.join("cbo-gradient/report.json").is_file());
    assert_eq!(
        listing(&out),
        ["cbo-gradient", "index.html", "index.md"],
        "leftover staging, lock or partial report"
    );
}

/// A size the machine cannot hold is refused while the configuration is checked (the
/// product n_paths × T would otherwise abort the process on allocation, or wrap).
#[test]
fn an_oversized_configuration_is_refused_before_anything_runs() {
    let dir = scratch("oversized");
    let out = dir.join("reports");
    let config = dir.join("overrides.toml");
    for (n_paths, max_memory) in [
        ("100000000", None),
        ("72057594037927936", None), // 2⁵⁶: n_paths × T wraps in 64 bits
        ("4096", Some("1M")),        // 4096 × T f64s > 1 MiB
    ] {
        std::fs::write(&config, format!("[mf-mgdm-batch]\nn_paths = {n_paths}\n")).unwrap();
        let mut args = vec![
            "mf-mgdm-batch",
            "--quick",
            "--config",
            config.to_str().unwrap(),
        ];
        if let Some(m) = max_memory {
            args.extend(["--max-memory", m]);
        }
        let output = run(xtask(&args, &out));
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{n_paths}: {err}");
        assert!(
            err.contains("MGDM paths (n_paths × T)")
                && err.contains(n_paths)
                && err.contains("--max-memory"),
            "{n_paths}: {err}"
        );
        assert!(!out.exists());
    }
    let output = run(xtask(&["cbo-gradient", "--max-memory", "lots"], &out));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

/// `--max-memory` bounds a run's declared buffers together, not only each one: the quick
/// `mmfld-simplex` declares 117.2 KiB + 117.2 KiB + 46.9 KiB (two ensembles of 5000 × 3
/// and a scatter of 2000 × 3 f64s), each under 200 KiB, 281.2 KiB in total. Before, this
/// ran (exit 0).
#[test]
fn the_total_of_an_experiments_buffers_is_checked_against_the_limit() {
    let dir = scratch("total-memory");
    let out = dir.join("reports");
    let output = run(xtask(
        &["mmfld-simplex", "--quick", "--max-memory", "200K"],
        &out,
    ));
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("mmfld-simplex: mmfld-simplex: its 3 declared buffers need 281.2 KiB")
            && err.contains("ensemble (barrier_n_particles × 3): 117.2 KiB")
            && err.contains("more than the limit of 200.0 KiB per run")
            && err.contains("--max-memory")
            && err.contains("nothing was run"),
        "{err}"
    );
    assert!(!out.exists());
}

/// `MEANFIELD_DATA_DIR=""` once meant the current directory, silently.
#[test]
fn an_empty_data_dir_variable_is_an_error_naming_it() {
    let dir = scratch("data-dir");
    let out = dir.join("reports");
    let mut cmd = xtask(&["mpgd-blr", "--quick"], &out);
    cmd.env("MEANFIELD_DATA_DIR", "");
    let output = run(cmd);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("MEANFIELD_DATA_DIR is set but empty"), "{err}");
    assert!(!out.join("mpgd-blr").exists());
    let index = std::fs::read_to_string(out.join("index.md")).unwrap();
    assert!(index.contains("| mpgd-blr | ❌ error:"), "{index}");
}

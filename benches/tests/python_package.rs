//! The Python package's pytest suite (`python/tests/`, docs/python.md) as part of
//! `cargo test --workspace`.
//!
//! Needs a virtual environment with maturin, NumPy and pytest at `<target>/venv` (or
//! `$MEANFIELD_PYTHON_VENV`); `.ci/run` creates it with pinned versions. The test builds
//! the extension into that environment with `maturin develop` (its own target directory,
//! `<target>/maturin`, so it never waits on the lock of the running `cargo test`) and runs
//! pytest, passing this package's Rust-only `cbo_reference` and `dynamics_reference` binaries
//! for the bitwise tests.
//! Without the environment it prints `skipped: …` and passes, except under `CI`, where a
//! missing environment is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &mut Command) {
    let what = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn pytest_suite_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ lies in the workspace");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target>/tmp");
    let venv = std::env::var_os("MEANFIELD_PYTHON_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("venv"));
    let bin = venv.join("bin");
    if !bin.join("python").is_file() || !bin.join("maturin").is_file() {
        let msg = format!(
            "no Python environment with maturin at {} (`.ci/run` creates it)",
            venv.display()
        );
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        println!("skipped: {msg}");
        return;
    }
    let path = std::env::join_paths(
        std::iter::once(bin.clone()).chain(
            std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
                .unwrap_or_default(),
        ),
    )
    .expect("PATH entries are valid");
    let python_dir = root.join("python");
    run(Command::new(bin.join("maturin"))
        .args(["develop", "--quiet"])
        .current_dir(&python_dir)
        .env("VIRTUAL_ENV", &venv)
        .env("PATH", &path)
        .env("CARGO_TARGET_DIR", target.join("maturin")));
    run(Command::new(bin.join("python"))
        .args(["-m", "pytest", "-q", "tests"])
        .current_dir(&python_dir)
        .env(
            "MEANFIELD_CBO_REFERENCE",
            env!("CARGO_BIN_EXE_cbo_reference"),
        )
        .env(
            "MEANFIELD_DYNAMICS_REFERENCE",
            env!("CARGO_BIN_EXE_dynamics_reference"),
        ));
}

//! Every cargo-fuzz target briefly, on its committed seed corpus: `cargo xtask fuzz
//! --seconds 3` (one build of all targets with `--sanitizer none`, then 3 s of libFuzzer
//! per target from `fuzz/seeds/TARGET`). A finding fails the test with the target's
//! panic message and the saved input (`fuzz/artifacts/TARGET/`).
//!
//! Needs a nightly toolchain and cargo-fuzz (`.ci/run` installs cargo-fuzz when
//! `cargo +nightly` works). Without them the test prints `skipped: …` with the reason
//! and passes; under `CI` with nightly present but cargo-fuzz missing it fails, since
//! `.ci/run` should have installed it. `MEANFIELD_FUZZ_SECONDS` changes the time per
//! target.

use std::process::Command;

#[test]
fn every_fuzz_target_runs_without_findings_on_its_seeds() {
    let seconds = std::env::var("MEANFIELD_FUZZ_SECONDS").unwrap_or_else(|_| "3".into());
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["fuzz", "--seconds", &seconds])
        .output()
        .expect("run xtask fuzz");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(2)
        && let Some(why) = stderr
            .lines()
            .find_map(|l| l.strip_prefix("error: cannot fuzz: "))
    {
        let nightly_present = why.starts_with("cargo-fuzz");
        assert!(
            !(nightly_present && std::env::var_os("CI").is_some()),
            "CI has a nightly toolchain but no cargo-fuzz ({why}); .ci/run installs it"
        );
        println!("skipped: {why}");
        return;
    }
    assert!(
        out.status.success(),
        "cargo xtask fuzz failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    println!("{stdout}");
    assert!(stdout.contains("no finding"), "{stdout}");
}

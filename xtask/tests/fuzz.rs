//! Every cargo-fuzz target briefly, on its committed seed corpus: `cargo xtask fuzz
//! --seconds 3` (one build of all targets with `--sanitizer none`, then 3 s of libFuzzer
//! per target from `fuzz/seeds/TARGET`). A finding fails the test with the target's
//! panic message and the saved input (`fuzz/artifacts/TARGET/`).
//!
//! Opt-in: it runs only with `MEANFIELD_FUZZ=1` (and needs a nightly toolchain and
//! cargo-fuzz; without them it prints `skipped: …` and passes). The instrumented build of
//! the whole workspace that the targets need took 29 minutes cold on the project's
//! loaded 2-core machine, more than the CI budget of 40 minutes for the whole run, so CI
//! does not set it (docs/README.md, "Not yet tested"); what CI runs instead is the
//! uninstrumented replay of the same target functions on their seeds and seeded mutants
//! (`crates/fuzz-targets/tests/replay.rs`). `MEANFIELD_FUZZ_SECONDS` changes the time per
//! target.

use std::process::Command;

#[test]
fn every_fuzz_target_runs_without_findings_on_its_seeds() {
    if std::env::var_os("MEANFIELD_FUZZ").is_none_or(|v| v != "1") {
        println!("skipped: set MEANFIELD_FUZZ=1 to build and run the fuzz targets");
        return;
    }
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

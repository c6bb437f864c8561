//! The fuzz targets on the stable toolchain, in `cargo test --workspace` (so in CI): for
//! every target of `meanfield_fuzz_targets::TARGETS`,
//! 1. every committed seed of `fuzz/seeds/TARGET/`, and every file of the local,
//!    git-ignored `fuzz/corpus/TARGET/` (what `cargo xtask fuzz` found) and
//!    `fuzz/artifacts/TARGET/` (its crashes) when present;
//! 2. a fixed number of deterministic mutants of the seeds (`meanfield_fuzz_targets::mutate`:
//!    bit flips, interesting bytes, inserted / removed / duplicated runs, splices, f64 bit
//!    patterns with NaN, ±∞ and subnormals, edge-case literals in the text inputs).
//!
//! Uninstrumented: no coverage guidance, only the neighbourhood of the seeds
//! (fuzz/README.md says what this does and does not replace). The mutant counts of
//! [`MUTANTS`] keep the whole test under a minute on the project's 2-core machine;
//! `MEANFIELD_FUZZ_SCALE=K` multiplies them (a longer local run).
//!
//! A finding (a panic of the target) fails the test with the target's name, the seed file
//! the input came from, the operators applied, the panic message and the input in hex;
//! the input is written to `TARGET_DIR/fuzz-findings/TARGET/` (`TARGET_DIR` =
//! `$CARGO_TARGET_DIR`, else the workspace's `target/`) so it can be replayed with
//! `cargo +nightly fuzz run -s none TARGET FILE` and added to `fuzz/seeds/TARGET/`.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Instant;

use meanfield_fuzz_targets::mutate::{MAX_GROWTH, Mutant, hex, mutant};
use meanfield_fuzz_targets::{TARGETS, Target};

/// Mutants per target, chosen from the measured cost of one execution (test profile,
/// loaded 2-core machine) for about 2–4 s of one core each: the whole test took 24–33 s
/// on 2 threads, 50 s with a concurrent build, before the heaviest counts were cut by a
/// third (then 18 s).
const MUTANTS: &[(&str, u64)] = &[
    ("cbo_consensus", 400_000),
    ("checkpoint", 400_000),
    ("config", 50_000),
    ("csv", 400_000),
    ("determinant_lemma", 120_000),
    ("diagnostics", 200_000),
    ("ensemble_new", 1_500_000),
    ("feature_map", 150_000),
    ("linear_solvers", 600_000),
    ("mirror_step", 1_000_000),
    ("neighbours", 12_000),
    ("report", 5_000),
    ("simplex_projection", 1_000_000),
    ("weights", 400_000),
];

/// At most this many findings of one target are reported in full (the rest are counted).
const REPORTED: usize = 5;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

thread_local! {
    /// Set while a target runs on this thread: its panic message goes here, not stderr.
    static CAPTURE: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// A panic hook that records the message (with its location) of a target's panic and
/// leaves every other panic, the test's own included, to the default hook.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let captured = CAPTURE.with(|c| match c.borrow_mut().as_mut() {
                Some(slot) => {
                    *slot = Some(info.to_string());
                    true
                }
                None => false,
            });
            if !captured {
                default(info);
            }
        }));
    });
}

/// Runs `target` on `data`: `Err(message)` if it panicked.
fn run(target: Target, data: &[u8]) -> Result<(), String> {
    CAPTURE.with(|c| *c.borrow_mut() = Some(None));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| target(data)));
    let message = CAPTURE.with(|c| c.borrow_mut().take()).flatten();
    outcome.map_err(|payload| {
        message.unwrap_or_else(|| {
            // A panic on another thread (rayon) reaches us as its payload only.
            payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic with a non-string payload".into())
        })
    })
}

/// The files of `dir`, sorted by name (none if it does not exist).
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
            let name = p
                .strip_prefix(root())
                .map(|r| r.display().to_string())
                .unwrap_or_else(|_| p.display().to_string());
            (name, bytes)
        })
        .collect();
    out.sort();
    out
}

fn findings_dir(target: &str) -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root().join(d) })
        .unwrap_or_else(|| root().join("target"));
    base.join("fuzz-findings").join(target)
}

/// One failing input.
struct Finding {
    origin: String,
    message: String,
    bytes: Vec<u8>,
}

fn scale() -> f64 {
    std::env::var("MEANFIELD_FUZZ_SCALE")
        .ok()
        .map(|s| {
            s.parse::<f64>()
                .ok()
                .filter(|k| k.is_finite() && *k >= 0.0)
                .unwrap_or_else(|| panic!("MEANFIELD_FUZZ_SCALE = {s:?} is not a number ≥ 0"))
        })
        .unwrap_or(1.0)
}

/// Seeds, local corpus and artifacts, then the mutants of `name`; fails on any finding.
fn replay(name: &str) {
    install_hook();
    let key = TARGETS
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fuzz target `{name}` in TARGETS"));
    let target = TARGETS[key].1;
    let mutants = MUTANTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, m)| (*m as f64 * scale()).round() as u64)
        .unwrap_or_else(|| panic!("no mutant count for `{name}` in MUTANTS"));

    let fuzz = root().join("fuzz");
    let seeds = files(&fuzz.join("seeds").join(name));
    assert!(!seeds.is_empty(), "fuzz/seeds/{name}/ holds no seed");
    let local: Vec<_> = ["corpus", "artifacts"]
        .iter()
        .flat_map(|d| files(&fuzz.join(d).join(name)))
        .collect();

    let started = Instant::now();
    let mut findings = Vec::new();
    for (origin, bytes) in seeds.iter().chain(&local) {
        if let Err(message) = run(target, bytes) {
            findings.push(Finding {
                origin: origin.clone(),
                message,
                bytes: bytes.clone(),
            });
        }
    }
    let replayed = started.elapsed();

    let seed_bytes: Vec<Vec<u8>> = seeds.iter().map(|(_, b)| b.clone()).collect();
    let max_len = seed_bytes.iter().map(Vec::len).max().unwrap_or(0) + MAX_GROWTH;
    for i in 0..mutants {
        let m: Mutant = mutant(&seed_bytes, key as u64, i, max_len);
        if let Err(message) = run(target, &m.bytes) {
            let splice = m
                .spliced
                .map(|s| format!(", spliced with {}", seeds[s].0))
                .unwrap_or_default();
            findings.push(Finding {
                origin: format!(
                    "mutant {i} of {}{splice} ({:?})",
                    seeds[m.seed].0, m.applied
                ),
                message,
                bytes: m.bytes,
            });
        }
    }
    if name == "report" {
        let _ = std::fs::remove_dir_all(meanfield_fuzz_targets::targets::report::out_dir());
    }
    println!(
        "{name}: {} seeds, {} local inputs ({:.2} s), {mutants} mutants ({:.2} s), {} finding(s)",
        seeds.len(),
        local.len(),
        replayed.as_secs_f64(),
        (started.elapsed() - replayed).as_secs_f64(),
        findings.len()
    );
    if findings.is_empty() {
        return;
    }

    let dir = findings_dir(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    let total = findings.len();
    // Two mutants can be the same input: report each input once.
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert(f.bytes.clone()));
    let mut report = format!(
        "fuzz target `{name}`: {total} finding(s), {} distinct input(s)\n",
        findings.len()
    );
    for (k, f) in findings.iter().enumerate() {
        let file = dir.join(format!("finding-{:016x}", fnv1a(&f.bytes)));
        std::fs::write(&file, &f.bytes).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
        if k < REPORTED {
            report.push_str(&format!(
                "- from {}\n  {}\n  input ({} bytes, hex): {}\n  saved as {}\n",
                f.origin,
                f.message.replace('\n', "\n  "),
                f.bytes.len(),
                hex(&f.bytes),
                file.display()
            ));
        }
    }
    if findings.len() > REPORTED {
        report.push_str(&format!(
            "… and {} more, all saved in {}\n",
            findings.len() - REPORTED,
            dir.display()
        ));
    }
    panic!("{report}");
}

/// FNV-1a of the input: a stable file name for a finding.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

macro_rules! replay_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                replay(stringify!($name));
            }
        )*

        /// Every target has a test here, a mutant count, seeds, and a libFuzzer driver
        /// `fuzz/fuzz_targets/NAME.rs` that only calls the library function (so the body
        /// CI replays is the body libFuzzer fuzzes), declared in `fuzz/Cargo.toml`.
        #[test]
        fn every_target_is_replayed_and_driven_by_libfuzzer() {
            let tested = [$(stringify!($name)),*];
            let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
            assert_eq!(names, tested, "TARGETS and the replay tests differ");
            let counted: Vec<&str> = MUTANTS.iter().map(|(n, _)| *n).collect();
            assert_eq!(names, counted, "TARGETS and MUTANTS differ");

            let drivers = root().join("fuzz/fuzz_targets");
            let mut files: Vec<String> = std::fs::read_dir(&drivers)
                .expect("fuzz/fuzz_targets")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            let expected: Vec<String> = names.iter().map(|n| format!("{n}.rs")).collect();
            assert_eq!(files, expected, "fuzz/fuzz_targets/ and TARGETS differ");
            let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml"))
                .expect("fuzz/Cargo.toml");
            for n in &names {
                let driver = std::fs::read_to_string(drivers.join(format!("{n}.rs")))
                    .expect("driver");
                assert_eq!(
                    driver,
                    format!(
                        "#![no_main]\n\nlibfuzzer_sys::fuzz_target!(|data: &[u8]| \
                         meanfield_fuzz_targets::{n}(data));\n"
                    ),
                    "fuzz/fuzz_targets/{n}.rs is not the one-line driver"
                );
                assert!(
                    manifest.contains(&format!(
                        "name = \"{n}\"\npath = \"fuzz_targets/{n}.rs\""
                    )),
                    "fuzz/Cargo.toml declares no [[bin]] {n}"
                );
            }
        }
    };
}

replay_tests!(
    cbo_consensus,
    checkpoint,
    config,
    csv,
    determinant_lemma,
    diagnostics,
    ensemble_new,
    feature_map,
    linear_solvers,
    mirror_step,
    neighbours,
    report,
    simplex_projection,
    weights,
);

/// A finding is caught, its message kept, and the hook restored for other panics.
#[test]
fn a_panicking_target_is_a_finding_with_its_message() {
    install_hook();
    fn bad(data: &[u8]) {
        assert!(data.len() < 3, "too long: {}", data.len());
    }
    assert_eq!(run(bad, b"ab"), Ok(()));
    let err = run(bad, b"abcd").unwrap_err();
    assert!(err.contains("too long: 4"), "{err}");
    assert!(err.contains("replay.rs"), "location missing: {err}");
}

//! Distributed runs under real MPI as part of `cargo test --workspace` (docs/distributed.md).
//!
//! When `mpirun` is on PATH, builds `meanfield-mpi-run` (`cargo build -p meanfield-mpi
//! --features mpi`, its own target directory `<target>/mpi`, so it never waits on the lock
//! of the running `cargo test`) and checks, for every covered family, that the final
//! global checkpoint of `mpirun -np 1, 2, 3, 4` is byte for byte the single-process one
//! (`--serial`, no MPI) — MFLD and its variants, CBO, CBS, constrained, mirror, memory,
//! PSO and polarised CBO, particle EM's PGD, MPD, PQN and PMGD, the
//! Fisher–Rao flow (density ratio, kernelised, Wasserstein–Fisher–Rao); that
//! a checkpoint written by 2 ranks equals the single-process checkpoint at that step and,
//! resumed on 3 ranks, continues the identical path (MFLD, CBO, MPD, PSO); and that
//! a failure on one rank (a NaN objective value inside a CBO step, a non-finite MFLD
//! state) ends every rank with the same error within a time limit. Without `mpirun` it
//! prints `skipped: …` and passes, except under `CI`, where that is a failure (`.ci/run`
//! installs OpenMPI).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Limit for one `mpirun` (a rank that hangs fails the test instead of blocking it).
const LIMIT: Duration = Duration::from_secs(120);
/// Particles: five blocks of 1024, the last partial, so four ranks get unequal shares.
const N: &str = "4500";
const STEPS: &str = "20";
/// Particles of polarised CBO (O(N²) per step; 2100 > 2·1024 still gives 3 ranks
/// unequal shares, the last one partial).
const POLAR_N: &str = "2100";

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|dir| dir.join(program).is_file()))
}

/// Runs `cmd` to completion within `LIMIT` (killed and failing the test otherwise).
fn run_limited(cmd: &mut Command) -> Output {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "{what} did not finish within {LIMIT:?} (a rank hangs):\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn succeed(cmd: &mut Command) -> Output {
    let what = format!("{cmd:?}");
    let out = run_limited(cmd);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs the nested cargo build to completion (no time limit).
fn build(cmd: &mut Command) {
    let what = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Mpi {
    bin: PathBuf,
    dir: PathBuf,
}

impl Mpi {
    fn serial(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--serial").args(args);
        c
    }

    fn mpirun(&self, ranks: usize, args: &[&str]) -> Command {
        let mut c = Command::new("mpirun");
        c.args(["--allow-run-as-root", "--oversubscribe", "-np"])
            .arg(ranks.to_string())
            .arg(&self.bin)
            .args(["--threads", "1"])
            .args(args)
            // Containers often forbid the cross-memory-attach single-copy mechanism.
            .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
        c
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn mpi_runs_are_bitwise_identical_resume_on_other_rank_counts_and_fail_together() {
    if !on_path("mpirun") {
        let msg = "mpirun not on PATH (Debian: apt-get install libopenmpi-dev openmpi-bin libclang-dev; `.ci/run` installs them)";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        println!("skipped: {msg}");
        return;
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target>/tmp")
        .join("mpi");
    // The build has no time limit (a cold build takes minutes); the runs do.
    build(
        Command::new(env!("CARGO"))
            .args([
                "build",
                "-p",
                "meanfield-mpi",
                "--features",
                "mpi",
                "--bin",
                "meanfield-mpi-run",
            ])
            .env("CARGO_TARGET_DIR", &target),
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mpi-runs");
    std::fs::create_dir_all(&dir).unwrap();
    let mpi = Mpi {
        bin: target.join("debug").join("meanfield-mpi-run"),
        dir,
    };

    // 1. Final checkpoints of 1–4 ranks ≡ the single-process checkpoint, byte for byte.
    // (family, latent model, d, steps, rank counts); the kernelised Fisher–Rao families
    // take fewer steps (kernel sums over ≈ 150 neighbours per particle in a debug build).
    for (family, model, d, steps, rank_counts) in [
        ("mfld", "toy", "3", STEPS, &[1, 2, 3, 4][..]),
        ("cbo", "toy", "4", STEPS, &[1, 2, 3, 4][..]),
        ("projected", "toy", "3", STEPS, &[3][..]),
        ("mirror", "toy", "2", STEPS, &[2][..]),
        ("adjusted", "toy", "2", STEPS, &[3][..]),
        ("cbo-ess", "toy", "3", STEPS, &[4][..]),
        ("pgd", "toy", "3", STEPS, &[1, 2, 3, 4][..]),
        ("mpd", "logistic", "4", STEPS, &[2, 3][..]),
        ("pqn", "logistic", "3", STEPS, &[4][..]),
        ("pmgd", "toy", "3", STEPS, &[2, 4][..]),
        ("cbs", "toy", "3", STEPS, &[3][..]),
        ("fisher-rao", "toy", "2", STEPS, &[2, 4][..]),
        ("fisher-rao-kernel", "toy", "2", "6", &[3][..]),
        ("wfr", "toy", "2", "6", &[2][..]),
        // The consensus variants (polarised CBO is O(N²): few steps).
        ("constrained-cbo", "toy", "3", "10", &[1, 2, 3, 4][..]),
        ("mirror-cbo", "toy", "3", "10", &[2, 4][..]),
        ("cbo-memory", "toy", "3", "10", &[3][..]),
        ("pso", "toy", "3", STEPS, &[1, 2, 3, 4][..]),
        ("polar-cbo", "toy", "2", "2", &[2, 3][..]),
    ] {
        let n = if family == "polar-cbo" { POLAR_N } else { N };
        let args = [
            "--family", family, "--model", model, "--n", n, "--d", d, "--steps", steps,
        ];
        let reference = mpi.file(&format!("{family}-serial.json"));
        succeed(mpi.serial(&args).arg("--out").arg(&reference));
        let reference = read(&reference);
        for &ranks in rank_counts {
            let out = mpi.file(&format!("{family}-{ranks}.json"));
            let _ = std::fs::remove_file(&out);
            succeed(mpi.mpirun(ranks, &args).arg("--out").arg(&out));
            assert!(
                read(&out) == reference,
                "{family} on {ranks} ranks: the final checkpoint differs from the single-process one"
            );
        }
    }

    // 2. Stop after 8 steps on 2 ranks, resume on 3: the identical path.
    for (family, model, d) in [
        ("mfld", "toy", "3"),
        ("cbo", "toy", "4"),
        ("mpd", "logistic", "4"),
        ("pso", "toy", "3"),
    ] {
        let args = [
            "--family", family, "--model", model, "--n", N, "--d", d, "--steps", STEPS,
        ];
        let part = mpi.file(&format!("{family}-2ranks-step8.json"));
        let serial_part = mpi.file(&format!("{family}-serial-step8.json"));
        succeed(
            mpi.mpirun(2, &args)
                .args(["--stop-at", "8", "--checkpoint"])
                .arg(&part),
        );
        succeed(
            mpi.serial(&args)
                .args(["--stop-at", "8", "--checkpoint"])
                .arg(&serial_part),
        );
        assert!(
            read(&part) == read(&serial_part),
            "{family}: the 2-rank checkpoint at step 8 differs from the single-process one"
        );
        assert!(
            !mpi.file(&format!("{family}-2ranks-step8.tmp")).exists(),
            "the temporary checkpoint file was renamed into place"
        );
        let resumed = mpi.file(&format!("{family}-resumed-3.json"));
        succeed(
            mpi.mpirun(3, &args)
                .arg("--resume")
                .arg(&part)
                .arg("--out")
                .arg(&resumed),
        );
        assert!(
            read(&resumed) == read(&mpi.file(&format!("{family}-serial.json"))),
            "{family}: resuming the 2-rank checkpoint on 3 ranks left the path"
        );
    }

    // 3. A failure on one rank ends every rank with the same error, in bounded time.
    // Global particle 2500 lies in block 2: rank 1 of 3.
    for (family, d) in [("cbo", "2"), ("mfld", "2")] {
        let args = [
            "--family", family, "--n", N, "--d", d, "--steps", STEPS, "--poison", "2500",
        ];
        let out = run_limited(&mut mpi.mpirun(3, &args));
        assert!(!out.status.success(), "{family}: a poisoned run must fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        // mpirun may print its own notes without a line break before a rank's line.
        let errors: Vec<&str> = (0..3)
            .map(|r| {
                let tag = format!("rank {r}: error: ");
                let at = stderr
                    .find(&tag)
                    .unwrap_or_else(|| panic!("{family}: rank {r} reports no error:\n{stderr}"));
                let rest = &stderr[at + tag.len()..];
                rest.lines().next().unwrap_or("")
            })
            .collect();
        assert!(
            errors.iter().all(|e| *e == errors[0]),
            "{family}: ranks disagree:\n{stderr}"
        );
        assert!(
            errors[0].starts_with("rank 1 failed at step 1:"),
            "{family}: the error names rank 1 and step 1: {}",
            errors[0]
        );
    }
}

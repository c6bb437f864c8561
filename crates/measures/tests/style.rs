//! Style checks that run as ordinary tests: every stream purpose lives in the registry
//! `meanfield_measures::streams`, and library code derives child seeds in one way only
//! (`meanfield_measures::replicate_seed`).

use std::path::{Path, PathBuf};

/// All `.rs` files under `dir` (recursively).
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The library and tool sources of the workspace (tests may use ad-hoc purposes).
fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for krate in std::fs::read_dir(root.join("crates"))
        .expect("crates/ exists")
        .flatten()
    {
        rust_files(&krate.path().join("src"), &mut files);
    }
    rust_files(&root.join("benches/src"), &mut files);
    rust_files(&root.join("xtask/src"), &mut files);
    assert!(files.len() > 50, "found only {} source files", files.len());
    files
}

#[test]
fn stream_purposes_live_in_the_registry() {
    let registry = Path::new("measures/src/rng.rs");
    let mut offenders = Vec::new();
    for file in sources() {
        if file.ends_with(registry) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("readable");
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let defines_purpose = code.contains("const ")
                && code.contains(": u64")
                && ["STREAM", "NOISE", "PURPOSE"]
                    .iter()
                    .any(|w| code.contains(w));
            if defines_purpose {
                offenders.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "stream purposes defined outside meanfield_measures::streams:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn child_seeds_are_derived_one_way() {
    let mut offenders = Vec::new();
    for file in sources() {
        let text = std::fs::read_to_string(&file).expect("readable");
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("seed.wrapping_add(") || code.contains("seed + r") {
                offenders.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "child seeds derived by addition (use meanfield_measures::replicate_seed):\n{}",
        offenders.join("\n")
    );
}

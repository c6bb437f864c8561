//! The HTML reports in a real browser (headless Chromium).
//!
//! Runs `xtask reproduce gaussian-oracle --quick` into a fresh directory under
//! `target/tmp/`, then opens `index.html` and `gaussian-oracle/report.html` over `file://`
//! in headless Chromium and checks that each page loads without errors and every image
//! decodes; saves a screenshot of each page as `target/tmp/browser/*.png`.
//!
//! How it checks, without a WebDriver: the pages carry a small inline script that, on
//! `load` (which fires only after every image has loaded or failed), writes onto
//! `<body>` the number of images (`data-images-total`), those that did not decode
//! (`data-images-bad`, `data-images-ok`) and the errors it caught (`data-errors`: failed
//! resources and script errors). `chromium --dump-dom` prints the DOM after `load`, so
//! the test reads these attributes from its output. Independently, Chromium runs with
//! `--enable-logging=stderr --v=0`, which copies every console message (an uncaught
//! exception, a failed resource, an error of the script itself) to stderr as a
//! `CONSOLE` line; the pages log nothing, so any such line fails the test. A page whose
//! script did not run at all has no `data-images-ok` and fails too.
//!
//! Chromium is found as `$CHROMIUM`, `/usr/bin/chromium` or `chromium` on `PATH`; if it
//! is not installed the test prints `skipped: chromium not installed` and passes
//! (`.ci/run` installs it, so CI runs it for real).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    candidates.push("/usr/bin/chromium".into());
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("chromium")));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// Runs a command to completion with a time limit; returns (stdout, stderr).
fn run(mut cmd: Command, limit: Duration) -> (String, String) {
    let what = format!("{cmd:?}");
    let out_dir = std::env::temp_dir();
    let tag = format!("xtask-browser-{}-{}", std::process::id(), now_nanos());
    let (out_path, err_path) = (
        out_dir.join(format!("{tag}.out")),
        out_dir.join(format!("{tag}.err")),
    );
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    assert!(
        status.success(),
        "{what} failed ({status}):\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Chromium with a fresh profile and everything that could touch the network off.
fn browser(chromium: &Path, profile: &Path) -> Command {
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

/// The value of `data-NAME="…"` on the `<body>` of a dumped DOM.
fn body_attr(dom: &str, name: &str) -> Option<String> {
    let start = dom.find("<body")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let key = format!("data-{name}=\"");
    let from = tag.find(&key)? + key.len();
    Some(tag[from..from + tag[from..].find('"')?].to_string())
}

/// Loads `page`, checks it, saves `shot`; returns the dumped DOM.
fn check_page(
    chromium: &Path,
    scratch: &Path,
    page: &Path,
    shot: &Path,
    min_images: usize,
) -> String {
    let url = file_url(page);
    let profile = scratch.join(format!("profile-{}", now_nanos()));
    let mut cmd = browser(chromium, &profile);
    cmd.args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(&url);
    let (dom, stderr) = run(cmd, Duration::from_secs(120));
    let console: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(
        console.is_empty(),
        "{url}: console messages:\n{}",
        console.join("\n")
    );
    assert_eq!(
        body_attr(&dom, "images-ok").as_deref(),
        Some("true"),
        "{url}: images not all loaded (bad: {:?}); DOM:\n{dom}",
        body_attr(&dom, "images-bad")
    );
    let total: usize = body_attr(&dom, "images-total").unwrap().parse().unwrap();
    assert!(
        total >= min_images,
        "{url}: {total} images, expected ≥ {min_images}"
    );
    assert_eq!(
        body_attr(&dom, "errors").as_deref(),
        Some(""),
        "{url}: errors"
    );

    let profile = scratch.join(format!("profile-{}", now_nanos()));
    let mut cmd = browser(chromium, &profile);
    cmd.arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,2000")
        .arg(&url);
    run(cmd, Duration::from_secs(120));
    let png = std::fs::read(shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{}: bad PNG",
        shot.display()
    );
    println!("screenshot: {}", shot.display());
    dom
}

#[test]
fn reports_load_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        println!("skipped: chromium not installed (apt-get install chromium to run this test)");
        return;
    };
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    let out = base.join("reports");
    let scratch = base.join("scratch");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(["reproduce", "gaussian-oracle", "--quick", "--out"])
        .arg(&out);
    run(cmd, Duration::from_secs(600));

    let index = check_page(
        &chromium,
        &scratch,
        &out.join("index.html"),
        &base.join("index.png"),
        0,
    );
    assert!(
        index.contains("<a href=\"gaussian-oracle/report.html\">gaussian-oracle</a>"),
        "{index}"
    );
    assert!(index.contains("this run"), "{index}");
    let report = check_page(
        &chromium,
        &scratch,
        &out.join("gaussian-oracle/report.html"),
        &base.join("gaussian-oracle.png"),
        2,
    );
    assert!(
        report.contains("<h2>Checks</h2>") && report.contains("✓ pass"),
        "{report}"
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

//! The library half of `cargo xtask`: `--config` parsing, the document model and its
//! Markdown, HTML and SVG renderers, the index and the complete-or-absent output
//! helpers. The binary (`src/main.rs`) adds the commands; the fuzz targets in `fuzz/`
//! (own workspace) call these modules directly on arbitrary input.

pub mod config;
pub mod document;
pub mod html;
pub mod index;
pub mod markdown;
pub mod output;
pub mod svg;

#[doc(hidden)]
pub mod test_support {
    //! Hand-built reports and temporary directories for the unit tests (of the library
    //! and of the binary, hence not `cfg(test)`).

    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use meanfield_experiments::{Check, Plot, Report, Series, Table};
    use serde_json::json;

    /// A unique, empty directory under the system temp dir.
    pub fn unique_temp_dir(tag: &str) -> PathBuf {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "xtask-test-{tag}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A report with a passing and a failing check, a table, and three plots (one with a
    /// missing series, one on log axes with a non-positive value, one scatter).
    pub fn sample_report() -> Report {
        let mut r = Report::new(
            "sample",
            true,
            7,
            json!({"eta": 0.01, "anchor": [1.0, -0.5]}),
        );
        r.wall_seconds = 1.5;
        r.checks
            .push(Check::within("mean close to oracle", 0.50123, 0.5, 0.01));
        r.checks.push(Check::within("slope | fit", -0.8, -1.0, 0.1));
        let mut t = Table::new(["N", "error", "label"]);
        t.push_row(vec![json!(64), json!(1.23456e-5), json!("small")]);
        t.push_row(vec![json!(128), json!(0.5), json!("big")]);
        r.tables.insert("rates".into(), t);
        r.series.insert(
            "mean".into(),
            Series {
                x: vec![0.0, 1.0, 2.0, 3.0],
                y: vec![2.0, 1.2, 0.8, 0.6],
                y_err: None,
            },
        );
        r.series.insert(
            "mse".into(),
            Series {
                x: vec![64.0, 128.0, 256.0],
                y: vec![1e-2, 5e-3, -1.0],
                y_err: None,
            },
        );
        r.plots.push(Plot {
            name: "convergence".into(),
            title: "Convergence of the mean".into(),
            x_label: "time".into(),
            y_label: "mean".into(),
            series: vec!["mean".into(), "missing".into()],
            log_x: false,
            log_y: false,
            scatter: false,
        });
        r.plots.push(Plot {
            name: "chaos".into(),
            title: "Propagation of chaos".into(),
            x_label: "particles N".into(),
            y_label: "MSE".into(),
            series: vec!["mse".into()],
            log_x: true,
            log_y: true,
            scatter: false,
        });
        r.plots.push(Plot {
            name: "scatter".into(),
            title: "Scatter plot".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec!["mean".into()],
            log_x: false,
            log_y: false,
            scatter: true,
        });
        r.notes.push("A note with *Markdown*.".into());
        r
    }
}

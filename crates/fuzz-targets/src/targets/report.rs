//! Report rendering from an arbitrary `report.json`: the text is parsed as JSON; the
//! index's lenient `ReportSummary::from_json` never panics (`Ok` ⇒ passed ≤ total); a
//! text that deserialises as a `Report` is rendered as Markdown (`report.md`), HTML
//! (`report.html`), one SVG per plot and per image grid, and the index (Markdown and
//! HTML) is built from it written to disk as `NAME/report.json` (`index::collect`). None
//! of them panics; the HTML body and every SVG contain only the elements the renderers
//! emit (every report string is escaped: a `<` from the report never opens a tag); a
//! Markdown table has the same number of cells in every row; plot errors and warnings
//! are strings, not panics.
//!
//! Layout: the whole input is the JSON text.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::{assert_only_tags, text};
use meanfield_experiments::Report;
use xtask::index::{self, ReportSummary, RunStatus};
use xtask::{html, markdown, svg};

/// Elements of the HTML body (`html.rs`).
const HTML_TAGS: &[&str] = &[
    "body",
    "html",
    "main",
    "nav",
    "div",
    "p",
    "a",
    "b",
    "em",
    "code",
    "pre",
    "ul",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "thead",
    "tbody",
    "tr",
    "td",
    "th",
    "img",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "span",
    "figure",
    "figcaption",
    "br",
    "strong",
    "section",
];

/// Elements of the SVG renderers (plotters' SVG backend and `render_image_grid`).
const SVG_TAGS: &[&str] = &[
    "svg", "rect", "text", "polyline", "circle", "line", "path", "g", "polygon", "tspan", "defs",
    "clipPath", "title", "desc", "?xml",
];

/// The `report` fuzz target: panics exactly when an invariant of the module
/// documentation fails for `data`.
pub fn report(data: &[u8]) {
    let json = text(data);
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&json) else {
        return;
    };
    if let Ok(s) = ReportSummary::from_json(&value) {
        assert!(s.passed <= s.total);
    }
    let Ok(report) = serde_json::from_value::<Report>(value) else {
        return;
    };
    let md = markdown::render_report(&report, "a <b>description</b> | with a pipe");
    if report.notes.is_empty() {
        check_markdown_tables(&md);
    }
    let page = html::render_report(&report, "a <b>description</b>");
    check_html(&page);
    for plot in &report.plots {
        let _ = svg::svg_file_name(plot);
        if let Ok(rendered) = svg::render_plot(plot, &report.series) {
            assert_only_tags(&rendered.svg, SVG_TAGS);
        }
    }
    for grid in &report.images {
        let _ = svg::image_file_name(grid);
        if let Ok(s) = svg::render_image_grid(grid) {
            assert_only_tags(&s, SVG_TAGS);
        }
    }

    // The index from the report on disk (one directory per process, rewritten each time).
    let dir = out_dir();
    let exp = dir.join("fuzzed-experiment");
    std::fs::create_dir_all(&exp).expect("temp dir");
    std::fs::write(exp.join("report.json"), json.as_bytes()).expect("write report.json");
    let mut ran = BTreeMap::new();
    ran.insert(
        report.experiment.clone(),
        RunStatus::Failed("a <i>failure</i>".into()),
    );
    let entries = index::collect(dir, &ran);
    assert!(entries.iter().any(|e| e.name == "fuzzed-experiment"));
    let blocks = index::blocks(&entries);
    check_markdown_tables(&markdown::render_blocks(&blocks));
    check_html(&html::render_page("Reproduction reports", None, &blocks));
}

/// The scratch directory the index check writes `fuzzed-experiment/report.json` into
/// (one per process, under the system temporary directory; the caller may remove it).
pub fn out_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        std::env::temp_dir().join(format!("meanfield-fuzz-report-{}", std::process::id()))
    })
}

/// The page has one head (fixed style and script) and a body of known elements only.
fn check_html(page: &str) {
    let body = page.find("<body").expect("a body");
    assert_eq!(
        page.matches("<script").count(),
        1,
        "one script, in the head"
    );
    assert_only_tags(&page[body..], HTML_TAGS);
}

/// Consecutive lines starting with `|` (a table) have the same number of unescaped `|`.
fn check_markdown_tables(md: &str) {
    let mut width: Option<usize> = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            width = None;
            continue;
        }
        let mut pipes = 0;
        let mut escaped = false;
        let mut in_code = false;
        for c in line.chars() {
            match c {
                '\\' if !escaped => {
                    escaped = true;
                    continue;
                }
                '`' if !escaped => in_code = !in_code,
                '|' if !escaped => pipes += 1,
                _ => {}
            }
            escaped = false;
        }
        let _ = in_code;
        match width {
            None => width = Some(pipes),
            Some(w) => assert_eq!(w, pipes, "table row with another cell count: {line:?}"),
        }
    }
}

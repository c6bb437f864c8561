//! The format-neutral document model of the rendered pages: a report (or the index) is
//! first turned into a list of [`Block`]s, which a backend then writes as Markdown
//! ([`crate::markdown::render_blocks`]) or HTML ([`crate::html::render_blocks`]). Text in
//! blocks is plain (unescaped); each backend escapes it for its format.

use meanfield_experiments::Report;

use crate::markdown::{fmt_num, fmt_seconds};
use crate::svg;

/// A piece of running text.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    /// Plain text. The Markdown backend writes it verbatim (descriptions may use
    /// Markdown); the HTML backend escapes it.
    Text(String),
    /// Inline code.
    Code(String),
    /// Emphasised text.
    Emph(String),
}

/// A link to another report page: each backend picks its own file (`report.md` or
/// `report.html`) in the directory.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportLink {
    /// The report's directory, relative to the page.
    pub dir: String,
    /// Whether `DIR/report.html` exists (for pages of earlier runs that predate it, the
    /// HTML backend links `report.md` instead).
    pub has_html: bool,
}

/// A table cell: text, optionally a link to a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The cell's plain text.
    pub text: String,
    /// A link target, if the cell links a report.
    pub link: Option<ReportLink>,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self { text, link: None }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::from(text.to_string())
    }
}

/// A table row with an optional pass/fail status.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The cells.
    pub cells: Vec<Cell>,
    /// `Some(true)` passed, `Some(false)` failed, `None` no verdict.
    pub status: Option<bool>,
}

/// A table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableBlock {
    /// Column headers (without the status column).
    pub header: Vec<String>,
    /// The rows.
    pub rows: Vec<Row>,
    /// Whether backends append a "Status" column showing each row's status (for the
    /// checks); otherwise the status only colours the row (HTML).
    pub status_column: bool,
}

/// One block of a page.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading; level 1 is the page title.
    Heading {
        /// 1 to 3.
        level: u8,
        /// Heading text.
        text: String,
    },
    /// A paragraph of inline text.
    Paragraph(Vec<Inline>),
    /// The run's settings as key-value pairs under a label, and the run's outcome.
    Settings {
        /// The label ("Settings").
        label: String,
        /// `(key, value)` pairs.
        items: Vec<(String, String)>,
        /// The outcome `(label, value)` ("checks passed", "3/4") and whether it is a
        /// pass (`None`: no verdict, e.g. no checks).
        outcome: Option<(String, String, Option<bool>)>,
    },
    /// Free-text notes (Markdown source) of the report.
    Notes(Vec<String>),
    /// A table.
    Table(TableBlock),
    /// An image file beside the page.
    Image {
        /// Alternative text (the plot's title).
        alt: String,
        /// Relative file name.
        src: String,
    },
    /// A code block.
    Code {
        /// Language tag (`json`).
        lang: String,
        /// The code.
        text: String,
    },
}

/// A table cell's text: strings as is, integers exactly, other numbers via [`fmt_num`],
/// `null` as an em dash.
pub fn cell_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                n.to_string()
            } else {
                n.as_f64().map(fmt_num).unwrap_or_else(|| n.to_string())
            }
        }
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn heading(level: u8, text: impl Into<String>) -> Block {
    Block::Heading {
        level,
        text: text.into(),
    }
}

/// The blocks of an experiment's report page. `description` is the experiment's
/// one-line description from the registry (may be empty).
pub fn report_blocks(report: &Report, description: &str) -> Vec<Block> {
    let mut blocks = vec![heading(1, report.experiment.clone())];
    if !description.is_empty() {
        blocks.push(Block::Paragraph(vec![Inline::Text(description.into())]));
    }
    let passed = report.checks.iter().filter(|c| c.passed).count();
    blocks.push(Block::Settings {
        label: "Settings".into(),
        items: vec![
            ("quick".into(), report.quick.to_string()),
            ("seed".into(), report.seed.to_string()),
            ("wall time".into(), fmt_seconds(report.wall_seconds)),
            (
                "peak memory".into(),
                report.peak_memory_bytes.map_or_else(
                    || "not measured".into(),
                    |b| meanfield_measures::alloc::fmt_bytes(b as f64),
                ),
            ),
        ],
        outcome: Some((
            "checks passed".into(),
            format!("{passed}/{}", report.checks.len()),
            (!report.checks.is_empty()).then_some(passed == report.checks.len()),
        )),
    });

    if !report.notes.is_empty() {
        blocks.push(heading(2, "Notes"));
        blocks.push(Block::Notes(report.notes.clone()));
    }

    blocks.push(heading(2, "Checks"));
    if report.checks.is_empty() {
        blocks.push(Block::Paragraph(vec![Inline::Emph("No checks.".into())]));
    } else {
        blocks.push(Block::Table(TableBlock {
            header: ["Check", "Ours", "Reference", "Tolerance", "Level"]
                .map(String::from)
                .to_vec(),
            rows: report
                .checks
                .iter()
                .map(|c| Row {
                    cells: vec![
                        c.name.as_str().into(),
                        fmt_num(c.value).into(),
                        fmt_num(c.reference).into(),
                        fmt_num(c.tolerance).into(),
                        check_level(c).into(),
                    ],
                    status: Some(c.passed),
                })
                .collect(),
            status_column: true,
        }));
    }

    if !report.tables.is_empty() {
        blocks.push(heading(2, "Tables"));
        for (name, table) in &report.tables {
            blocks.push(heading(3, name.clone()));
            blocks.push(Block::Table(TableBlock {
                header: table.columns.clone(),
                rows: table
                    .rows
                    .iter()
                    .map(|r| Row {
                        cells: r.iter().map(|v| cell_text(v).into()).collect(),
                        status: None,
                    })
                    .collect(),
                status_column: false,
            }));
        }
    }

    if !report.plots.is_empty() {
        blocks.push(heading(2, "Plots"));
        for plot in &report.plots {
            let title = if plot.title.is_empty() {
                &plot.name
            } else {
                &plot.title
            };
            blocks.push(Block::Image {
                alt: title.clone(),
                src: svg::svg_file_name(plot),
            });
        }
    }

    if !report.images.is_empty() {
        blocks.push(heading(2, "Images"));
        for grid in &report.images {
            blocks.push(Block::Image {
                alt: grid.title.clone(),
                src: svg::image_file_name(grid),
            });
        }
    }

    blocks.push(heading(2, "Configuration"));
    blocks.push(Block::Code {
        lang: "json".into(),
        text: serde_json::to_string_pretty(&report.config)
            .unwrap_or_else(|_| report.config.to_string()),
    });

    if !report.series.is_empty() {
        let mut inlines = vec![Inline::Text("Series data (".into())];
        for (i, k) in report.series.keys().enumerate() {
            if i > 0 {
                inlines.push(Inline::Text(", ".into()));
            }
            inlines.push(Inline::Code(k.clone()));
        }
        inlines.push(Inline::Text(") are in ".into()));
        inlines.push(Inline::Code("report.json".into()));
        inlines.push(Inline::Text(".".into()));
        blocks.push(Block::Paragraph(inlines));
    }
    blocks
}

/// The "Level" cell of a check: its false-alarm probability, or what kind of check it is
/// (docs/harness.md §4).
fn check_level(c: &meanfield_experiments::Check) -> String {
    match (c.kind, c.level) {
        (meanfield_experiments::CheckKind::Statistical, Some(level)) => format!("{level:.2e}"),
        (meanfield_experiments::CheckKind::Statistical, None) => "statistical".into(),
        (meanfield_experiments::CheckKind::Exact, _) => "exact".into(),
        (meanfield_experiments::CheckKind::Threshold, _) => "threshold".into(),
    }
}

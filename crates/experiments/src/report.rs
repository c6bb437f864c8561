//! The result of one experiment: checks against reference numbers, tables and plotted
//! series. Serialised as `report.json` with the schema
//! `{experiment, quick, seed, config, wall_seconds, checks, tables, series}`; the xtask
//! renders it to Markdown and SVG.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One verified claim: `value` compared with `reference` within `tolerance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// What is checked, in words.
    pub name: String,
    /// Our measured value.
    pub value: f64,
    /// The paper's or the exact oracle's value.
    pub reference: f64,
    /// Accepted |value − reference| (or half-width of an accepted band; see `name`).
    pub tolerance: f64,
    /// Whether the check holds.
    pub passed: bool,
}

impl Check {
    /// |value − reference| ≤ tolerance (false for NaN).
    pub fn within(name: impl Into<String>, value: f64, reference: f64, tolerance: f64) -> Self {
        let passed = (value - reference).abs() <= tolerance;
        Self {
            name: name.into(),
            value,
            reference,
            tolerance,
            passed,
        }
    }

    /// value ∈ [lo, hi]; stored as reference = midpoint, tolerance = half-width.
    pub fn in_band(name: impl Into<String>, value: f64, lo: f64, hi: f64) -> Self {
        let passed = value >= lo && value <= hi;
        Self {
            name: name.into(),
            value,
            reference: 0.5 * (lo + hi),
            tolerance: 0.5 * (hi - lo),
            passed,
        }
    }

    /// value ≤ bound; stored as reference = bound, tolerance = 0.
    pub fn at_most(name: impl Into<String>, value: f64, bound: f64) -> Self {
        Self {
            name: name.into(),
            value,
            reference: bound,
            tolerance: 0.0,
            passed: value <= bound,
        }
    }
}

/// A table: column names and rows of cells (numbers or text).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Table {
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Self {
        Self {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn push_row(&mut self, row: Vec<serde_json::Value>) {
        self.rows.push(row);
    }
}

/// A plotted series y(x).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Series {
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates.
    pub y: Vec<f64>,
}

/// How a series is drawn (a hint to the renderer; not part of the JSON schema's data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plot {
    /// File stem of the SVG (`<name>.svg`).
    pub name: String,
    /// Title over the plot.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Series names (keys of `Report::series`) drawn in this plot.
    pub series: Vec<String>,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// Draw points only (scatter) instead of lines.
    pub scatter: bool,
}

/// A grid of grey-scale images (e.g. generated digits), rendered as an SVG of squares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageGrid {
    /// File stem of the SVG (`<name>.svg`).
    pub name: String,
    /// Title over the grid.
    pub title: String,
    /// Pixels per image row.
    pub width: usize,
    /// Pixel rows per image.
    pub height: usize,
    /// Images per grid row.
    pub columns: usize,
    /// Intensities in [0, 1] (0 = white, 1 = black), image after image, each row-major.
    pub pixels: Vec<f64>,
}

/// Everything an experiment produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Experiment name (the `reproduce` argument).
    pub experiment: String,
    /// Whether the quick (reduced) settings were used.
    pub quick: bool,
    /// Base seed.
    pub seed: u64,
    /// The full configuration actually used (after overrides).
    pub config: serde_json::Value,
    /// Wall-clock duration of the run.
    pub wall_seconds: f64,
    /// Checks against references.
    pub checks: Vec<Check>,
    /// Named tables.
    pub tables: BTreeMap<String, Table>,
    /// Named series.
    pub series: BTreeMap<String, Series>,
    /// Plot layout hints for the renderer.
    #[serde(default)]
    pub plots: Vec<Plot>,
    /// Free-text notes (Markdown) shown at the top of the report: setting, data, caveats.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Image grids (rendered as SVG beside the plots).
    #[serde(default)]
    pub images: Vec<ImageGrid>,
}

impl Report {
    /// An empty report.
    pub fn new(
        experiment: impl Into<String>,
        quick: bool,
        seed: u64,
        config: serde_json::Value,
    ) -> Self {
        Self {
            experiment: experiment.into(),
            quick,
            seed,
            config,
            wall_seconds: 0.0,
            checks: Vec::new(),
            tables: BTreeMap::new(),
            series: BTreeMap::new(),
            plots: Vec::new(),
            notes: Vec::new(),
            images: Vec::new(),
        }
    }

    /// Whether every check passed.
    pub fn all_passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
}

//! Rendering a report's [`Plot`]s to SVG with plotters' SVG backend.
//!
//! Without plotters' `ttf` feature, text is laid out with a crude width estimate and
//! written as SVG `<text>` elements (the viewer picks the font), so titles, axis
//! labels, tick labels and the legend all appear in the file.
//!
//! Logarithmic axes use [`LogAxis`] rather than plotters' `.log_scale()`: plotters' log
//! coordinate only places ticks from the first power of ten inside the range upwards, so
//! a range such as [2e-3, 8e-3] (typical of an error curve) got no tick labels at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use meanfield_experiments::{ImageGrid, Plot, Report, Series};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{
    AsRangedCoord, DefaultFormatting, KeyPointHint, Ranged, ValueFormatter,
};
use plotters::prelude::*;

use crate::markdown::fmt_num;

/// Canvas size in pixels.
const SIZE: (u32, u32) = (820, 520);

/// Series colours (the "tab10" palette).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The file name of a plot's SVG: `<plot.name>.svg`, with characters other than
/// ASCII letters, digits, `-`, `_` and `.` replaced by `_` (so a name can never escape
/// the report directory).
pub fn svg_file_name(plot: &Plot) -> String {
    let stem: String = plot
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = stem.trim_start_matches('.');
    format!("{}.svg", if stem.is_empty() { "plot" } else { stem })
}

/// One rendered plot: the SVG text and warnings (missing series, dropped points).
pub struct Rendered {
    /// The SVG document.
    pub svg: String,
    /// Problems worth telling the user about; the plot was still drawn.
    pub warnings: Vec<String>,
}

/// Renders every plot and image grid of the report into `dir/<name>.svg`. Returns the
/// files written and the warnings; a plot that fails to render is skipped with a warning.
pub fn render_all(report: &Report, dir: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    for grid in &report.images {
        let path = dir.join(image_file_name(grid));
        match render_image_grid(grid).and_then(|svg| {
            std::fs::write(&path, svg).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }) {
            Ok(()) => files.push(path),
            Err(e) => warnings.push(format!("image grid `{}` not rendered: {e}", grid.name)),
        }
    }
    for plot in &report.plots {
        match render_plot(plot, &report.series) {
            Ok(r) => {
                warnings.extend(r.warnings);
                let path = dir.join(svg_file_name(plot));
                match std::fs::write(&path, r.svg) {
                    Ok(()) => files.push(path),
                    Err(e) => warnings.push(format!(
                        "plot `{}`: cannot write {}: {e}",
                        plot.name,
                        path.display()
                    )),
                }
            }
            Err(e) => warnings.push(format!("plot `{}` not rendered: {e}", plot.name)),
        }
    }
    (files, warnings)
}

/// The file name of an image grid's SVG (sanitised like [`svg_file_name`]).
pub fn image_file_name(grid: &ImageGrid) -> String {
    svg_file_name(&Plot {
        name: grid.name.clone(),
        title: String::new(),
        x_label: String::new(),
        y_label: String::new(),
        series: Vec::new(),
        log_x: false,
        log_y: false,
        scatter: false,
    })
}

/// Renders an image grid as grey squares (intensity 0 white, 1 black, clamped).
pub fn render_image_grid(grid: &ImageGrid) -> Result<String, String> {
    let per = grid.width * grid.height;
    if per == 0
        || grid.columns == 0
        || grid.pixels.is_empty()
        || !grid.pixels.len().is_multiple_of(per)
    {
        return Err(format!(
            "{} pixels do not form {}×{} images",
            grid.pixels.len(),
            grid.width,
            grid.height
        ));
    }
    let count = grid.pixels.len() / per;
    let rows = count.div_ceil(grid.columns);
    let (cell, gap, top) = (6usize, 6usize, 30usize);
    let img_w = grid.width * cell;
    let img_h = grid.height * cell;
    let w = grid.columns * (img_w + gap) + gap;
    let h = top + rows * (img_h + gap) + gap;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n\
         <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n\
         <text x=\"{gap}\" y=\"20\" font-family=\"sans-serif\" font-size=\"14\">{}</text>\n",
        grid.title
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    );
    for (k, img) in grid.pixels.chunks_exact(per).enumerate() {
        let (gx, gy) = (k % grid.columns, k / grid.columns);
        let (ox, oy) = (gap + gx * (img_w + gap), top + gap + gy * (img_h + gap));
        for (p, v) in img.iter().enumerate() {
            let level = if v.is_finite() {
                v.clamp(0.0, 1.0)
            } else {
                0.0
            };
            let grey = (255.0 * (1.0 - level)).round() as u8;
            let (px, py) = (ox + (p % grid.width) * cell, oy + (p / grid.width) * cell);
            svg.push_str(&format!(
                "<rect x=\"{px}\" y=\"{py}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgb({grey},{grey},{grey})\"/>\n"
            ));
        }
    }
    svg.push_str("</svg>\n");
    Ok(svg)
}

type Points = Vec<(f64, f64)>;

/// One series as drawn: its name, points, and whether it is an outline.
struct Line {
    name: String,
    points: Points,
    /// An outline of a scatter plot's domain (a series whose name ends in `edges`, such as
    /// the `simplex edges` of the ternary plots): drawn as a thin line beneath the
    /// markers, not as markers that would hide the particles on the faces.
    outline: bool,
    /// Error bars (x, y − 2 s.e., y + 2 s.e.) of the points whose series has standard
    /// errors ([`Series::y_err`]); on a log y axis a lower end ≤ 0 is drawn at y.
    bars: Vec<(f64, f64, f64)>,
}

/// The ±2 s.e. bars of a series (empty without standard errors), keeping only the points
/// that are drawn.
fn error_bars(s: &Series, plot: &Plot) -> Vec<(f64, f64, f64)> {
    let Some(se) = &s.y_err else {
        return Vec::new();
    };
    s.x.iter()
        .zip(&s.y)
        .zip(se)
        .filter(|&((&x, &y), &e)| {
            usable(x, plot.log_x) && usable(y, plot.log_y) && e.is_finite() && e >= 0.0
        })
        .map(|((&x, &y), &e)| {
            let lo = y - 2.0 * e;
            let lo = if plot.log_y && lo <= 0.0 { y } else { lo };
            (x, lo, y + 2.0 * e)
        })
        .collect()
}

/// Whether a series of a scatter plot is an outline (see [`Line::outline`]).
fn is_outline(plot: &Plot, series: &str) -> bool {
    plot.scatter && series.trim_end().ends_with("edges")
}

/// Renders one plot to an SVG string.
pub fn render_plot(plot: &Plot, series: &BTreeMap<String, Series>) -> Result<Rendered, String> {
    let mut warnings = Vec::new();
    let mut lines: Vec<Line> = Vec::new();
    for name in &plot.series {
        let Some(s) = series.get(name) else {
            warnings.push(format!(
                "plot `{}`: series `{name}` not found in the report; skipped",
                plot.name
            ));
            continue;
        };
        if s.x.len() != s.y.len() {
            warnings.push(format!(
                "plot `{}`: series `{name}` has {} x values but {} y values; extra values ignored",
                plot.name,
                s.x.len(),
                s.y.len()
            ));
        }
        let total = s.x.len().min(s.y.len());
        let points: Points =
            s.x.iter()
                .zip(&s.y)
                .map(|(&x, &y)| (x, y))
                .filter(|&(x, y)| usable(x, plot.log_x) && usable(y, plot.log_y))
                .collect();
        if points.len() < total {
            warnings.push(format!(
                "plot `{}`: series `{name}`: {} of {total} points skipped (non-finite{})",
                plot.name,
                total - points.len(),
                if plot.log_x || plot.log_y {
                    ", or non-positive on a log axis"
                } else {
                    ""
                }
            ));
        }
        lines.push(Line {
            name: name.clone(),
            outline: is_outline(plot, name),
            bars: error_bars(s, plot),
            points,
        });
    }
    // Outlines first, so that the markers are drawn over them.
    lines.sort_by_key(|l| !l.outline);

    let mut x_range = axis_range(
        lines.iter().flat_map(|l| l.points.iter().map(|q| q.0)),
        plot.log_x,
    );
    let mut y_range = axis_range(
        lines.iter().flat_map(|l| {
            l.points
                .iter()
                .map(|q| q.1)
                .chain(l.bars.iter().flat_map(|b| [b.1, b.2]))
        }),
        plot.log_y,
    );
    // A domain drawn by its outline (the ternary triangle) keeps its shape: equal x and
    // y scales.
    if lines.iter().any(|l| l.outline) && !plot.log_x && !plot.log_y {
        (x_range, y_range) = equal_scale(x_range, y_range, plot_area_px(plot)?);
    }

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        match (plot.log_x, plot.log_y) {
            (false, false) => draw(&root, plot, &lines, x_range, y_range)?,
            (true, false) => draw(&root, plot, &lines, LogAxis::new(x_range), y_range)?,
            (false, true) => draw(&root, plot, &lines, x_range, LogAxis::new(y_range))?,
            (true, true) => draw(
                &root,
                plot,
                &lines,
                LogAxis::new(x_range),
                LogAxis::new(y_range),
            )?,
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(Rendered { svg, warnings })
}

/// Widens one of the ranges about its centre so that a unit spans as many pixels on
/// both axes of a plotting area of `px` = (width, height) pixels.
fn equal_scale(
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    px: (u32, u32),
) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    let (w, h) = (f64::from(px.0.max(1)), f64::from(px.1.max(1)));
    let (xs, ys) = (x.end - x.start, y.end - y.start);
    let u = (xs / w).max(ys / h);
    if !(u.is_finite() && u > 0.0) {
        return (x, y);
    }
    let widen = |r: std::ops::Range<f64>, span: f64| {
        let c = 0.5 * (r.start + r.end);
        (c - 0.5 * span)..(c + 0.5 * span)
    };
    (widen(x, u * w), widen(y, u * h))
}

/// The pixel size of the plotting area [`draw`] lays out (it does not depend on the
/// ranges: the caption and label areas have fixed sizes).
fn plot_area_px(plot: &Plot) -> Result<(u32, u32), String> {
    let mut scratch = String::new();
    let root = SVGBackend::with_string(&mut scratch, SIZE).into_drawing_area();
    let chart = chart_builder(&root, plot)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)
        .map_err(|e| e.to_string())?;
    Ok(chart.plotting_area().dim_in_pixel())
}

/// The chart layout shared by [`draw`] and [`plot_area_px`].
fn chart_builder<'a, 'b, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    plot: &'b Plot,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(&plot.title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72);
    builder
}

/// Whether a coordinate can be drawn on an axis (finite, and positive on a log axis).
fn usable(v: f64, log: bool) -> bool {
    v.is_finite() && (!log || v > 0.0)
}

/// The axis range covering the values with a 5% margin (in log space for a log axis).
/// A constant series gets a symmetric pad; no values at all give [0, 1] (or [1, 10]).
fn axis_range(values: impl Iterator<Item = f64>, log: bool) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi {
        return if log { 1.0..10.0 } else { 0.0..1.0 };
    }
    if log {
        let (l, h) = (lo.log10(), hi.log10());
        let pad = if h > l { 0.05 * (h - l) } else { 0.5 };
        let (a, b) = (10f64.powf(l - pad), 10f64.powf(h + pad));
        if a > 0.0 && b.is_finite() && a < b {
            a..b
        } else {
            lo..hi.max(lo * 10.0)
        }
    } else {
        let span = hi - lo;
        let pad = if span > 0.0 {
            0.05 * span
        } else if lo != 0.0 {
            0.1 * lo.abs()
        } else {
            1.0
        };
        let (a, b) = (lo - pad, hi + pad);
        if a.is_finite() && b.is_finite() && a < b {
            a..b
        } else {
            lo..hi + 1.0
        }
    }
}

/// A base-10 logarithmic axis over `lo..hi` (0 < lo < hi) with readable ticks: powers of
/// ten (every k-th decade when there are many), or 1-2-5 / 1…9 multiples of them in
/// narrow ranges, or plain linear ticks when the range is narrower than that.
#[derive(Debug, Clone)]
struct LogAxis {
    lo: f64,
    hi: f64,
}

impl LogAxis {
    fn new(range: std::ops::Range<f64>) -> Self {
        let lo = if range.start > 0.0 && range.start.is_finite() {
            range.start
        } else {
            1.0
        };
        let hi = if range.end > lo && range.end.is_finite() {
            range.end
        } else {
            lo * 10.0
        };
        Self { lo, hi }
    }
}

impl Ranged for LogAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let (l, h) = (self.lo.log10(), self.hi.log10());
        let t = (value.log10() - l) / (h - l);
        if t.is_nan() {
            return limit.0;
        }
        let t = t.clamp(-10.0, 10.0);
        limit.0 + (f64::from(limit.1 - limit.0) * t + 1e-3).floor() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        log_ticks(self.lo, self.hi, hint.max_num_points())
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// At most `max` tick positions in [lo, hi] (0 < lo < hi) for a log axis.
fn log_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    if max == 0 || !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Vec::new();
    }
    let inside = |v: &f64| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9);
    let (d_lo, d_hi) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let mantissa_sets: [&[f64]; 3] = [
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        &[1.0, 2.0, 5.0],
        &[1.0],
    ];
    for (i, set) in mantissa_sets.iter().enumerate() {
        let ticks: Vec<f64> = (d_lo..=d_hi)
            .flat_map(|e| set.iter().map(move |m| m * 10f64.powi(e)))
            .filter(inside)
            .collect();
        if ticks.len() <= max {
            if ticks.len() >= 2 {
                return ticks;
            }
            if i == 0 {
                // Narrower than the 1…9 grid: plain ticks read better.
                return linear_ticks(lo, hi, max);
            }
            break;
        }
    }
    // Many decades: every k-th power of ten.
    for k in [1, 2, 5, 10, 20, 50, 100] {
        let ticks: Vec<f64> = (d_lo..=d_hi)
            .filter(|e| e.rem_euclid(k) == 0)
            .map(|e| 10f64.powi(e))
            .filter(inside)
            .collect();
        if ticks.len() <= max && !ticks.is_empty() {
            return ticks;
        }
    }
    linear_ticks(lo, hi, max)
}

/// At most `max` "nice" (1-2-5 steps) ticks in [lo, hi].
fn linear_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    if max == 0 || hi.is_nan() || lo.is_nan() || hi <= lo || !(hi - lo).is_finite() {
        return Vec::new();
    }
    let raw = (hi - lo) / max as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| (hi - lo) / s <= max as f64)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Draws caption, mesh, series and legend on linear or logarithmic coordinates.
fn draw<DB, X, Y>(
    root: &DrawingArea<DB, Shift>,
    plot: &Plot,
    lines: &[Line],
    x_spec: X,
    y_spec: Y,
) -> Result<(), String>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let mut chart = chart_builder(root, plot)
        .build_cartesian_2d(x_spec, y_spec)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(plot.x_label.as_str())
        .y_desc(plot.y_label.as_str())
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 18))
        .light_line_style(RGBColor(0, 0, 0).mix(0.05))
        .draw()
        .map_err(err)?;

    let mut colors = PALETTE.iter().cycle();
    for line in lines {
        let (name, points) = (&line.name, &line.points);
        if line.outline {
            let grey = RGBColor(60, 60, 60);
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    grey.stroke_width(1),
                ))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(1))
                });
            continue;
        }
        let color = *colors.next().unwrap_or(&PALETTE[0]);
        if !line.bars.is_empty() {
            chart
                .draw_series(line.bars.iter().map(|&(x, lo, hi)| {
                    PathElement::new(vec![(x, lo), (x, hi)], color.stroke_width(1))
                }))
                .map_err(err)?;
        }
        if plot.scatter {
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| Circle::new((x + 10, y), 3, color.filled()));
        } else {
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
    }
    if !lines.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.5))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{sample_report, unique_temp_dir};

    fn plot(name: &str, series: &[&str], log_x: bool, log_y: bool, scatter: bool) -> Plot {
        Plot {
            name: name.into(),
            title: format!("Title of {name}"),
            x_label: "time t".into(),
            y_label: "error".into(),
            series: series.iter().map(|s| s.to_string()).collect(),
            log_x,
            log_y,
            scatter,
        }
    }

    #[test]
    fn image_grids_render_as_grey_squares_and_bad_shapes_are_errors() {
        let grid = ImageGrid {
            name: "digits/../x".into(),
            title: "A < B".into(),
            width: 2,
            height: 2,
            columns: 2,
            pixels: vec![0.0, 1.0, 0.5, 2.0, 0.0, 0.0, 0.0, f64::NAN],
        };
        assert_eq!(image_file_name(&grid), "digits_.._x.svg");
        let svg = render_image_grid(&grid).unwrap();
        assert!(svg.contains("A &lt; B"));
        assert_eq!(svg.matches("<rect x=").count(), 8);
        assert!(svg.contains("rgb(0,0,0)") && svg.contains("rgb(255,255,255)"));
        assert!(svg.contains("rgb(128,128,128)"));
        let bad = ImageGrid {
            pixels: vec![0.5; 7],
            ..grid
        };
        assert!(render_image_grid(&bad).is_err());
    }

    #[test]
    fn file_names_are_sanitised() {
        assert_eq!(
            svg_file_name(&plot("conv-rate_1", &[], false, false, false)),
            "conv-rate_1.svg"
        );
        assert_eq!(
            svg_file_name(&plot("../x/y", &[], false, false, false)),
            "_x_y.svg"
        );
        assert_eq!(
            svg_file_name(&plot("", &[], false, false, false)),
            "plot.svg"
        );
    }

    #[test]
    fn renders_sample_report_into_dir() {
        let dir = unique_temp_dir("svg");
        let report = sample_report();
        let (files, warnings) = render_all(&report, &dir);
        assert_eq!(files.len(), report.plots.len());
        for (file, p) in files.iter().zip(&report.plots) {
            assert!(file.is_file());
            let text = std::fs::read_to_string(file).unwrap();
            assert!(text.contains("<svg"), "{text}");
            assert!(text.contains(&p.title), "title `{}` missing", p.title);
            assert!(text.contains(&p.x_label));
        }
        // The sample has a missing series and a negative value on a log axis.
        assert!(
            warnings.iter().any(|w| w.contains("`missing` not found")),
            "{warnings:?}"
        );
        assert!(
            warnings.iter().any(|w| w.contains("non-positive")),
            "{warnings:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn log_axes_and_legend() {
        let mut series = BTreeMap::new();
        series.insert(
            "mse".to_string(),
            Series {
                x: vec![64.0, 128.0, 256.0, 512.0],
                y: vec![1e-2, 5e-3, 2.4e-3, 1.3e-3],
                y_err: None,
            },
        );
        series.insert(
            "ref".to_string(),
            Series {
                x: vec![64.0, 512.0],
                y: vec![1e-2, 1.25e-3],
                y_err: None,
            },
        );
        for (lx, ly) in [(true, true), (true, false), (false, true)] {
            let r = render_plot(&plot("rate", &["mse", "ref"], lx, ly, false), &series).unwrap();
            assert!(r.svg.contains("<svg"));
            assert!(r.svg.contains("Title of rate"));
            assert!(
                r.svg.contains("\nmse\n") && r.svg.contains("\nref\n"),
                "legend missing"
            );
            // Tick labels exist on both axes even though no range spans a full decade.
            assert!(
                r.svg.matches("text-anchor=\"end\"").count() >= 2,
                "few y tick labels"
            );
            assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        }
    }

    /// A series with standard errors gets one vertical ±2 s.e. bar per usable point,
    /// within the y range; on a log axis a lower end ≤ 0 is clipped to the point; a NaN
    /// error draws no bar.
    #[test]
    fn error_bars_are_drawn_where_the_series_has_standard_errors() {
        let with = Series {
            x: vec![1.0, 2.0, 4.0],
            y: vec![1.0, 0.5, 0.25],
            y_err: Some(vec![0.1, 0.4, f64::NAN]),
        };
        let bars = error_bars(&with, &plot("p", &["s"], false, false, false));
        assert_eq!(bars.len(), 2);
        assert!((bars[0].1 - 0.8).abs() < 1e-12 && (bars[0].2 - 1.2).abs() < 1e-12);
        let log = error_bars(&with, &plot("p", &["s"], true, true, false));
        assert_eq!(log[1], (2.0, 0.5, 1.3));
        let without = Series {
            y_err: None,
            ..with.clone()
        };
        assert!(error_bars(&without, &plot("p", &["s"], false, false, false)).is_empty());
        let render = |s: &Series| {
            let mut series = BTreeMap::new();
            series.insert("s".to_string(), s.clone());
            render_plot(&plot("p", &["s"], false, false, false), &series)
                .unwrap()
                .svg
        };
        let (a, b) = (render(&with), render(&without));
        assert_eq!(
            a.matches("<polyline").count(),
            b.matches("<polyline").count() + 2,
            "one polyline per bar"
        );
    }

    #[test]
    fn degenerate_series_do_not_panic() {
        let mut series = BTreeMap::new();
        series.insert("empty".to_string(), Series::default());
        series.insert(
            "constant".to_string(),
            Series {
                x: vec![1.0, 2.0, 3.0],
                y: vec![5.0; 3],
                y_err: None,
            },
        );
        series.insert(
            "zero".to_string(),
            Series {
                x: vec![0.0],
                y: vec![0.0],
                y_err: None,
            },
        );
        series.insert(
            "nan".to_string(),
            Series {
                x: vec![f64::NAN, 1.0],
                y: vec![1.0, f64::INFINITY],
                y_err: None,
            },
        );
        for names in [
            &["empty"][..],
            &["constant"],
            &["zero"],
            &["nan"],
            &[],
            &["empty", "constant", "zero"],
        ] {
            for (lx, ly) in [(false, false), (true, true), (false, true)] {
                for scatter in [false, true] {
                    let r = render_plot(&plot("edge", names, lx, ly, scatter), &series).unwrap();
                    assert!(r.svg.contains("<svg") && r.svg.contains("Title of edge"));
                }
            }
        }
    }

    #[test]
    fn ternary_edges_are_a_line_beneath_the_markers_on_equal_scales() {
        let h = 3f64.sqrt() / 2.0;
        let mut series = BTreeMap::new();
        let (mut ex, mut ey) = (vec![], vec![]);
        for (a, b) in [
            ((0.0, 0.0), (1.0, 0.0)),
            ((1.0, 0.0), (0.5, h)),
            ((0.5, h), (0.0, 0.0)),
        ] {
            for k in 0..=100 {
                let s = f64::from(k) / 100.0;
                ex.push(a.0 + s * (b.0 - a.0));
                ey.push(a.1 + s * (b.1 - a.1));
            }
        }
        series.insert(
            "simplex edges".to_string(),
            Series {
                x: ex,
                y: ey,
                y_err: None,
            },
        );
        series.insert(
            "ternary: p".to_string(),
            Series {
                x: vec![0.5, 0.0, 1.0],
                y: vec![0.0, 0.0, 0.0],
                y_err: None,
            },
        );
        let p = plot(
            "ternary_p",
            &["ternary: p", "simplex edges"],
            false,
            false,
            true,
        );
        let r = render_plot(&p, &series).unwrap();
        // Three particle markers (+1 in the legend), not 303 edge markers.
        assert_eq!(r.svg.matches("<circle").count(), 4, "{}", r.svg);
        let line = r.svg.find("<polyline").expect("edges as a line");
        let marker = r.svg.find("<circle").unwrap();
        assert!(line < marker, "the edges are drawn beneath the particles");

        let (x, y) = equal_scale(0.0..1.0, 0.0..h, (700, 400));
        assert!(((x.end - x.start) / 700.0 - (y.end - y.start) / 400.0).abs() < 1e-12);
        assert!(x.start <= 0.0 && x.end >= 1.0 && y.start <= 0.0 && y.end >= h);
        let px = plot_area_px(&p).unwrap();
        assert!(px.0 > 500 && px.1 > 300, "{px:?}");
    }

    #[test]
    fn log_tick_choice() {
        // A narrow range: 1…9 multiples.
        let t = log_ticks(2e-3, 9e-3, 10);
        assert_eq!(t.len(), 8);
        assert!((t[0] - 2e-3).abs() < 1e-15);
        // Fewer allowed: 1-2-5.
        let t = log_ticks(1.5, 60.0, 6);
        assert_eq!(t, vec![2.0, 5.0, 10.0, 20.0, 50.0]);
        // Decades.
        let t = log_ticks(50.0, 2e4, 5);
        assert_eq!(t, vec![100.0, 1000.0, 10000.0]);
        // Many decades: every other one.
        let t = log_ticks(1e-10, 1e10, 12);
        assert_eq!(t.len(), 11);
        // Very narrow: linear ticks.
        let t = log_ticks(5.5, 5.9, 10);
        assert!(
            t.len() >= 2 && t.iter().all(|v| (5.5..=5.9).contains(v)),
            "{t:?}"
        );
        assert!(log_ticks(1.0, 10.0, 0).is_empty());
    }

    #[test]
    fn axis_ranges() {
        let r = axis_range([1.0, 3.0].into_iter(), false);
        assert!((r.start - 0.9).abs() < 1e-12 && (r.end - 3.1).abs() < 1e-12);
        let r = axis_range([2.0, 2.0].into_iter(), false);
        assert!(r.start < 2.0 && r.end > 2.0);
        let r = axis_range(std::iter::empty(), true);
        assert_eq!(r, 1.0..10.0);
        let r = axis_range([1e-3, 1e-3].into_iter(), true);
        assert!(r.start > 0.0 && r.start < 1e-3 && r.end > 1e-3);
    }
}

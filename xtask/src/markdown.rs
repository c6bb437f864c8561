//! Rendering a [`Report`] as `report.md`, and the number formatting shared by the
//! Markdown, the index, the console summary and the SVG tick labels.

use std::fmt::Write as _;

use meanfield_experiments::{Report, Table};

use crate::svg;

/// Formats a number with about four significant digits: fixed notation for magnitudes
/// in [1e-3, 1e5), scientific (`1.5e-7`) otherwise; trailing zeros are trimmed.
/// Non-finite values print as `NaN`, `inf`, `-inf`.
pub fn fmt_num(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (1e-3..1e5).contains(&a) {
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        trim_fraction(format!("{v:.decimals$}"))
    } else {
        let s = format!("{v:.3e}");
        match s.split_once('e') {
            Some((mantissa, exp)) => format!("{}e{exp}", trim_fraction(mantissa.to_string())),
            None => s,
        }
    }
}

/// Removes trailing zeros of a decimal fraction (and a then-trailing point).
fn trim_fraction(mut s: String) -> String {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" { "0".into() } else { s }
}

/// Formats a duration in seconds for humans (`0.123 s`, `12.3 s`, `2 min 5 s`).
pub fn fmt_seconds(s: f64) -> String {
    if s.is_finite() && s >= 120.0 {
        let m = (s / 60.0).floor();
        format!("{m:.0} min {:.0} s", s - 60.0 * m)
    } else {
        format!("{} s", fmt_num(s))
    }
}

/// Escapes text for a Markdown table cell (pipes, line breaks).
pub fn escape_cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace("\r\n", " ")
        .replace(['\n', '\r'], " ")
}

/// A table cell: text as is (escaped), integers exactly, other numbers via [`fmt_num`].
pub fn fmt_cell(v: &serde_json::Value) -> String {
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
        serde_json::Value::String(s) => escape_cell(s),
        other => escape_cell(&other.to_string()),
    }
}

/// Writes a Markdown table with the given header and rows (cells already formatted).
pub fn write_table(out: &mut String, header: &[String], rows: &[Vec<String>]) {
    let width = header
        .len()
        .max(rows.iter().map(Vec::len).max().unwrap_or(0))
        .max(1);
    let row_line = |cells: &[String]| {
        let mut line = String::from("|");
        for i in 0..width {
            line.push(' ');
            line.push_str(cells.get(i).map(String::as_str).unwrap_or(""));
            line.push_str(" |");
        }
        line
    };
    let _ = writeln!(out, "{}", row_line(header));
    let _ = writeln!(out, "|{}", " --- |".repeat(width));
    for r in rows {
        let _ = writeln!(out, "{}", row_line(r));
    }
}

fn render_table(out: &mut String, table: &Table) {
    let header: Vec<String> = table.columns.iter().map(|c| escape_cell(c)).collect();
    let rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| r.iter().map(fmt_cell).collect())
        .collect();
    write_table(out, &header, &rows);
}

/// Escapes text used as image alt text or link text.
fn escape_link_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace('\n', " ")
}

/// Renders the report as Markdown. `description` is the experiment's one-line
/// description from the registry (may be empty).
pub fn render_report(report: &Report, description: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", report.experiment);
    if !description.is_empty() {
        let _ = writeln!(out, "{description}\n");
    }
    let passed = report.checks.iter().filter(|c| c.passed).count();
    let _ = writeln!(
        out,
        "**Settings:** quick = {} · seed = {} · wall time = {} · checks passed: {}/{}\n",
        report.quick,
        report.seed,
        fmt_seconds(report.wall_seconds),
        passed,
        report.checks.len()
    );

    if !report.notes.is_empty() {
        let _ = writeln!(out, "## Notes\n");
        for note in &report.notes {
            let _ = writeln!(out, "{}\n", note.trim_end());
        }
    }

    let _ = writeln!(out, "## Checks\n");
    if report.checks.is_empty() {
        let _ = writeln!(out, "_No checks._\n");
    } else {
        let header: Vec<String> = ["Check", "Ours", "Reference", "Tolerance", "Status"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let rows: Vec<Vec<String>> = report
            .checks
            .iter()
            .map(|c| {
                vec![
                    escape_cell(&c.name),
                    fmt_num(c.value),
                    fmt_num(c.reference),
                    fmt_num(c.tolerance),
                    if c.passed { "✅".into() } else { "❌".into() },
                ]
            })
            .collect();
        write_table(&mut out, &header, &rows);
        out.push('\n');
    }

    if !report.tables.is_empty() {
        let _ = writeln!(out, "## Tables\n");
        for (name, table) in &report.tables {
            let _ = writeln!(out, "### {name}\n");
            render_table(&mut out, table);
            out.push('\n');
        }
    }

    if !report.plots.is_empty() {
        let _ = writeln!(out, "## Plots\n");
        for plot in &report.plots {
            let title = if plot.title.is_empty() {
                &plot.name
            } else {
                &plot.title
            };
            let _ = writeln!(
                out,
                "![{}]({})\n",
                escape_link_text(title),
                svg::svg_file_name(plot)
            );
        }
    }

    if !report.images.is_empty() {
        let _ = writeln!(out, "## Images\n");
        for grid in &report.images {
            let _ = writeln!(
                out,
                "![{}]({})\n",
                escape_link_text(&grid.title),
                svg::image_file_name(grid)
            );
        }
    }

    let _ = writeln!(out, "## Configuration\n");
    let config =
        serde_json::to_string_pretty(&report.config).unwrap_or_else(|_| report.config.to_string());
    let _ = writeln!(out, "```json\n{config}\n```\n");

    if !report.series.is_empty() {
        let names: Vec<String> = report.series.keys().map(|k| format!("`{k}`")).collect();
        let _ = writeln!(
            out,
            "Series data ({}) are in `report.json`.",
            names.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sample_report;

    #[test]
    fn fmt_num_cases() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(-0.0), "0");
        assert_eq!(fmt_num(1.0), "1");
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(-2.0), "-2");
        assert_eq!(fmt_num(1234.5678), "1235");
        assert_eq!(fmt_num(12.3456), "12.35");
        assert_eq!(fmt_num(0.0123456), "0.01235");
        assert_eq!(fmt_num(0.001), "0.001");
        assert_eq!(fmt_num(99999.0), "99999");
        assert_eq!(fmt_num(123456.0), "1.235e5");
        assert_eq!(fmt_num(1.5e-7), "1.5e-7");
        assert_eq!(fmt_num(-2.5e8), "-2.5e8");
        assert_eq!(fmt_num(1e-4), "1e-4");
        assert_eq!(fmt_num(0.30000000000000004), "0.3");
        assert_eq!(fmt_num(f64::NAN), "NaN");
        assert_eq!(fmt_num(f64::INFINITY), "inf");
        assert_eq!(fmt_num(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn fmt_seconds_cases() {
        assert_eq!(fmt_seconds(1.23456), "1.235 s");
        assert_eq!(fmt_seconds(125.0), "2 min 5 s");
    }

    #[test]
    fn cells() {
        assert_eq!(fmt_cell(&serde_json::json!(16384)), "16384");
        assert_eq!(fmt_cell(&serde_json::json!(0.000012345)), "1.234e-5");
        assert_eq!(fmt_cell(&serde_json::json!("a|b")), "a\\|b");
        assert_eq!(fmt_cell(&serde_json::json!(null)), "—");
    }

    #[test]
    fn renders_report() {
        let md = render_report(&sample_report(), "A test experiment.");
        assert!(md.starts_with("# sample\n"), "{md}");
        assert!(md.contains("A test experiment."));
        assert!(md.contains("quick = true · seed = 7"));
        assert!(md.contains("checks passed: 1/2"));
        assert!(md.contains("| Check | Ours | Reference | Tolerance | Status |"));
        assert!(
            md.contains("| mean close to oracle | 0.5012 | 0.5 | 0.01 | ✅ |"),
            "{md}"
        );
        assert!(
            md.contains("| slope \\| fit | -0.8 | -1 | 0.1 | ❌ |"),
            "{md}"
        );
        assert!(md.contains("## Notes\n\nA note with *Markdown*."));
        assert!(
            md.contains(
                "### rates\n\n| N | error | label |\n| --- | --- | --- |\n| 64 | 1.235e-5 | small |"
            ),
            "{md}"
        );
        assert!(md.contains("![Convergence of the mean](convergence.svg)"));
        assert!(
            md.contains(
                "```json\n{\n  \"anchor\": [\n    1.0,\n    -0.5\n  ],\n  \"eta\": 0.01\n}\n```"
            ),
            "{md}"
        );
    }
}

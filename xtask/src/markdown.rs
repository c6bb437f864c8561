//! The Markdown backend of the document model ([`crate::document`]): `report.md` and
//! `index.md`; and the number formatting shared by every page, the console summary and
//! the SVG tick labels.

use std::fmt::Write as _;

use meanfield_experiments::Report;

use crate::document::{self, Block, Cell, Inline};

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
#[cfg(test)]
pub fn fmt_cell(v: &serde_json::Value) -> String {
    escape_cell(&crate::document::cell_text(v))
}

/// Writes a Markdown table with the given header and rows (cells already formatted).
fn write_table(out: &mut String, header: &[String], rows: &[Vec<String>]) {
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

/// Escapes text used as image alt text or link text.
fn escape_link_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace('\n', " ")
}

fn render_cell(cell: &Cell) -> String {
    match &cell.link {
        Some(link) => escape_cell(&format!(
            "[{}]({}/report.md)",
            escape_link_text(&cell.text),
            link.dir
        )),
        None => escape_cell(&cell.text),
    }
}

fn render_inlines(out: &mut String, inlines: &[Inline]) {
    for i in inlines {
        match i {
            Inline::Text(t) => out.push_str(t),
            Inline::Code(t) => {
                let _ = write!(out, "`{t}`");
            }
            Inline::Emph(t) => {
                let _ = write!(out, "_{t}_");
            }
        }
    }
}

/// Renders blocks as Markdown: each block ends with a line break, blocks are separated
/// by a blank line.
pub fn render_blocks(blocks: &[Block]) -> String {
    let mut out = String::new();
    for (k, block) in blocks.iter().enumerate() {
        if k > 0 {
            out.push('\n');
        }
        match block {
            Block::Heading { level, text } => {
                let _ = writeln!(out, "{} {text}", "#".repeat(usize::from(*level).max(1)));
            }
            Block::Paragraph(inlines) => {
                render_inlines(&mut out, inlines);
                out.push('\n');
            }
            Block::Settings {
                label,
                items,
                outcome,
            } => {
                let mut parts: Vec<String> =
                    items.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                if let Some((k, v, _)) = outcome {
                    parts.push(format!("{k}: {v}"));
                }
                let _ = writeln!(out, "**{label}:** {}", parts.join(" · "));
            }
            Block::Notes(notes) => {
                let notes: Vec<&str> = notes.iter().map(|n| n.trim_end()).collect();
                let _ = writeln!(out, "{}", notes.join("\n\n"));
            }
            Block::Table(t) => {
                let mut header: Vec<String> = t.header.iter().map(|h| escape_cell(h)).collect();
                if t.status_column {
                    header.push("Status".into());
                }
                let rows: Vec<Vec<String>> = t
                    .rows
                    .iter()
                    .map(|r| {
                        let mut cells: Vec<String> = r.cells.iter().map(render_cell).collect();
                        if t.status_column {
                            cells.push(match r.status {
                                Some(true) => "✅".into(),
                                Some(false) => "❌".into(),
                                None => String::new(),
                            });
                        }
                        cells
                    })
                    .collect();
                write_table(&mut out, &header, &rows);
            }
            Block::Image { alt, src } => {
                let _ = writeln!(out, "![{}]({src})", escape_link_text(alt));
            }
            Block::Code { lang, text } => {
                let _ = writeln!(out, "```{lang}\n{text}\n```");
            }
        }
    }
    out
}

/// Renders the report as Markdown. `description` is the experiment's one-line
/// description from the registry (may be empty).
pub fn render_report(report: &Report, description: &str) -> String {
    render_blocks(&document::report_blocks(report, description))
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
        assert!(md.contains("| Check | Ours | Reference | Tolerance | Level | Status |"));
        assert!(
            md.contains("| mean close to oracle | 0.5012 | 0.5 | 0.01 | threshold | ✅ |"),
            "{md}"
        );
        assert!(
            md.contains("| slope \\| fit | -0.8 | -1 | 0.1 | threshold | ❌ |"),
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

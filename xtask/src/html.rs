//! The HTML backend of the document model ([`crate::document`]): `NAME/report.html` and
//! `index.html`. Each page is self-contained: an inline style sheet (with a print media
//! query), no fonts, no network; plots are the SVG files beside the page, linked with
//! relative `<img>` elements. A small inline script in the head marks, on `load`,
//! whether every image decoded (`<body data-images-ok="true">`) and lists the errors seen
//! (`data-errors`, failed resources and script errors); the browser test reads these
//! from the rendered DOM.

use std::fmt::Write as _;

use meanfield_experiments::Report;

use crate::document::{self, Block, Cell, Inline, Row};

/// Escapes text for HTML element content and (double- or single-quoted) attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a relative URL path (keeps ASCII letters, digits, `-_.~/`), then
/// escapes it for an attribute.
fn url(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    escape(&out)
}

/// Whether a cell reads as a number (right-aligned).
fn numeric(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty() && (t.parse::<f64>().is_ok() || matches!(t, "NaN" | "inf" | "-inf" | "—"))
}

/// Inline Markdown of the notes, minimally: `code` spans; everything else is text.
fn note_inline(text: &str) -> String {
    // With an odd number of backticks the last one is unmatched: print them all as text.
    let paired = text.matches('`').count().is_multiple_of(2);
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if paired && i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
        } else {
            if i > 0 && !paired {
                out.push('`');
            }
            out.push_str(&escape(part));
        }
    }
    out
}

/// A note (Markdown source): blank-line separated paragraphs, `- ` lines as lists.
fn render_note(out: &mut String, note: &str) {
    for para in note.trim_end().split("\n\n") {
        let lines: Vec<&str> = para.lines().collect();
        if !lines.is_empty() && lines.iter().all(|l| l.trim_start().starts_with("- ")) {
            out.push_str("<ul>\n");
            for l in lines {
                let _ = writeln!(
                    out,
                    "<li>{}</li>",
                    note_inline(l.trim_start().trim_start_matches("- "))
                );
            }
            out.push_str("</ul>\n");
        } else if !para.trim().is_empty() {
            let _ = writeln!(out, "<p>{}</p>", note_inline(para.trim()));
        }
    }
}

fn render_inlines(out: &mut String, inlines: &[Inline]) {
    for i in inlines {
        match i {
            Inline::Text(t) => out.push_str(&escape(t)),
            Inline::Code(t) => {
                let _ = write!(out, "<code>{}</code>", escape(t));
            }
            Inline::Emph(t) => {
                let _ = write!(out, "<em>{}</em>", escape(t));
            }
        }
    }
}

/// Replaces the emoji marks of the shared texts (the index's status column) by symbols
/// that common text fonts have: a machine without an emoji font shows ✓/✗, not boxes.
fn marks(s: &str) -> String {
    s.replace("✅", "✓")
        .replace("❌", "✗")
        .replace("⚠\u{fe0f}", "⚠")
        .replace("⚪", "○")
}

fn render_cell(cell: &Cell) -> String {
    match &cell.link {
        Some(link) => {
            let file = if link.has_html {
                "report.html"
            } else {
                "report.md"
            };
            format!(
                "<a href=\"{}\">{}</a>",
                url(&format!("{}/{file}", link.dir)),
                escape(&marks(&cell.text))
            )
        }
        None => escape(&marks(&cell.text)),
    }
}

fn status_class(status: Option<bool>) -> &'static str {
    match status {
        Some(true) => " class=\"pass\"",
        Some(false) => " class=\"fail\"",
        None => "",
    }
}

fn render_row(out: &mut String, row: &Row, status_column: bool, width: usize) {
    let _ = write!(out, "<tr{}>", status_class(row.status));
    for i in 0..width {
        let cell = row.cells.get(i);
        let text = cell.map(|c| c.text.as_str()).unwrap_or("");
        let class = if numeric(text) { " class=\"num\"" } else { "" };
        let _ = write!(
            out,
            "<td{class}>{}</td>",
            cell.map(render_cell).unwrap_or_default()
        );
    }
    if status_column {
        out.push_str(match row.status {
            Some(true) => "<td class=\"status\">✓ pass</td>",
            Some(false) => "<td class=\"status\">✗ FAIL</td>",
            None => "<td class=\"status\"></td>",
        });
    }
    out.push_str("</tr>\n");
}

/// Renders blocks as an HTML fragment (the body of a page).
pub fn render_blocks(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading { level, text } => {
                let l = (*level).clamp(1, 6);
                let _ = writeln!(out, "<h{l}>{}</h{l}>", escape(text));
            }
            Block::Paragraph(inlines) => {
                out.push_str("<p>");
                render_inlines(&mut out, inlines);
                out.push_str("</p>\n");
            }
            Block::Settings {
                label,
                items,
                outcome,
            } => {
                let _ = write!(
                    out,
                    "<dl class=\"settings\" aria-label=\"{}\">",
                    escape(label)
                );
                for (k, v) in items {
                    let _ = write!(
                        out,
                        "<div><dt>{}</dt><dd>{}</dd></div>",
                        escape(k),
                        escape(v)
                    );
                }
                if let Some((k, v, verdict)) = outcome {
                    let mark = match verdict {
                        Some(true) => "✓ ",
                        Some(false) => "✗ ",
                        None => "",
                    };
                    let class = match verdict {
                        Some(true) => "outcome pass",
                        Some(false) => "outcome fail",
                        None => "outcome",
                    };
                    let _ = write!(
                        out,
                        "<div class=\"{class}\"><dt>{}</dt><dd>{mark}{}</dd></div>",
                        escape(k),
                        escape(v)
                    );
                }
                out.push_str("</dl>\n");
            }
            Block::Notes(notes) => {
                out.push_str("<div class=\"notes\">\n");
                for n in notes {
                    render_note(&mut out, n);
                }
                out.push_str("</div>\n");
            }
            Block::Table(t) => {
                let width = t
                    .header
                    .len()
                    .max(t.rows.iter().map(|r| r.cells.len()).max().unwrap_or(0));
                out.push_str("<div class=\"table-wrap\"><table>\n<thead><tr>");
                for i in 0..width {
                    let h = t.header.get(i).map(String::as_str).unwrap_or("");
                    let _ = write!(out, "<th>{}</th>", escape(h));
                }
                if t.status_column {
                    out.push_str("<th>Status</th>");
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for r in &t.rows {
                    render_row(&mut out, r, t.status_column, width);
                }
                out.push_str("</tbody>\n</table></div>\n");
            }
            Block::Image { alt, src } => {
                let _ = writeln!(
                    out,
                    "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
                    url(src),
                    escape(alt),
                    escape(alt)
                );
            }
            Block::Code { lang, text } => {
                let _ = writeln!(
                    out,
                    "<pre><code class=\"language-{}\">{}</code></pre>",
                    escape(lang),
                    escape(text)
                );
            }
        }
    }
    out
}

const STYLE: &str = "\
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;
  color: #1b1f24; background: #fff; max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.7rem; margin: .5rem 0; } h2 { font-size: 1.3rem; margin-top: 2rem;
  border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; } h3 { font-size: 1.05rem; }
nav { font-size: .9rem; margin-bottom: .5rem; }
a { color: #0b57d0; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em;
  background: #f3f4f6; padding: 0 .2em; border-radius: 3px; }
pre { background: #f6f8fa; padding: .75rem; overflow-x: auto; border-radius: 4px; }
pre code { background: none; padding: 0; }
dl.settings { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; margin: .8rem 0; padding: .5rem .8rem;
  background: #f6f8fa; border-radius: 4px; }
dl.settings div { display: flex; gap: .35rem; } dt { color: #57606a; } dt::after { content: ':'; }
dd { margin: 0; font-weight: 600; }
.outcome.pass dd { color: #116329; } .outcome.fail dd { color: #b42318; }
.table-wrap { overflow-x: auto; margin: .5rem 0 1rem; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .55rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfc; }
tr.pass td.status { background: #dafbe1; color: #116329; font-weight: 600; white-space: nowrap; }
tr.fail td.status { background: #ffebe9; color: #b42318; font-weight: 700; white-space: nowrap; }
tr.fail td:first-child { box-shadow: inset 4px 0 #cf222e; }
tr.pass td:first-child { box-shadow: inset 4px 0 #2da44e; }
td:first-child a { white-space: nowrap; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { font-size: .85rem; color: #57606a; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  a { color: inherit; text-decoration: none; }
  .table-wrap, pre { overflow: visible; } pre { white-space: pre-wrap; }
  figure, tr, dl.settings { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  @page { margin: 1.5cm; }
}
";

const SCRIPT: &str = "\
(function () {
  var errors = [];
  window.addEventListener('error', function (e) {
    errors.push(e.message || ('cannot load ' + ((e.target && e.target.src) || 'a resource')));
  }, true);
  window.addEventListener('load', function () {
    var bad = [];
    for (var i = 0; i < document.images.length; i++) {
      var img = document.images[i];
      if (!(img.complete && img.naturalWidth > 0)) bad.push(img.getAttribute('src'));
    }
    var d = document.body.dataset;
    d.imagesTotal = String(document.images.length);
    d.imagesBad = bad.join(' ');
    d.imagesOk = bad.length === 0 ? 'true' : 'false';
    d.errors = errors.join(' | ');
  });
})();
";

/// A complete HTML page: `title` in the head, an optional navigation link
/// (`(href, text)`), then the blocks.
pub fn render_page(title: &str, nav: Option<(&str, &str)>, blocks: &[Block]) -> String {
    let mut out =
        String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape(title));
    let _ = writeln!(
        out,
        "<style>\n{STYLE}</style>\n<script>\n{SCRIPT}</script>\n</head>\n<body>"
    );
    if let Some((href, text)) = nav {
        let _ = writeln!(
            out,
            "<nav><a href=\"{}\">{}</a></nav>",
            url(href),
            escape(text)
        );
    }
    out.push_str("<main>\n");
    out.push_str(&render_blocks(blocks));
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// The `report.html` page of a report (same blocks as `report.md`).
pub fn render_report(report: &Report, description: &str) -> String {
    render_page(
        &format!("{} — meanfield reproduction report", report.experiment),
        Some(("../index.html", "← all reports")),
        &document::report_blocks(report, description),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sample_report;
    use meanfield_experiments::{Check, Table};
    use serde_json::json;

    const NASTY: &str = "<b>x & \"y\" 'z'</b>";
    const ESCAPED: &str = "&lt;b&gt;x &amp; &quot;y&quot; &#39;z&#39;&lt;/b&gt;";

    #[test]
    fn escapes_every_report_string() {
        let mut r = sample_report();
        r.experiment = format!("exp {NASTY}");
        r.notes = vec![format!("note {NASTY} with `code {NASTY}`")];
        r.checks[0].name = format!("check {NASTY}");
        let mut t = Table::new([format!("col {NASTY}")]);
        t.push_row(vec![json!(format!("cell {NASTY}"))]);
        r.tables.insert(format!("table {NASTY}"), t);
        r.plots[0].title = format!("plot {NASTY}");
        let page = render_report(&r, &format!("desc {NASTY}"));
        for what in [
            "exp", "note", "code", "check", "col", "cell", "table", "plot", "desc",
        ] {
            assert!(
                page.contains(&format!("{what} {ESCAPED}")),
                "`{what}` not escaped:\n{page}"
            );
        }
        assert!(!page.contains("<b>"), "{page}");
        // The title in <title>, <h1> and the plot's alt attribute are escaped too.
        assert!(page.contains(&format!("<title>exp {ESCAPED}")));
        assert!(page.contains(&format!("alt=\"plot {ESCAPED}\"")));
        assert!(page.contains(&format!("<code>code {ESCAPED}</code>")));
    }

    #[test]
    fn checks_are_marked_pass_and_fail() {
        let page = render_report(&sample_report(), "");
        assert!(
            page.contains("<tr class=\"pass\"><td>mean close to oracle</td>"),
            "{page}"
        );
        assert!(page.contains("<td class=\"status\">✓ pass</td>"));
        assert!(page.contains("<tr class=\"fail\"><td>slope | fit</td>"));
        assert!(page.contains("<td class=\"status\">✗ FAIL</td>"));
        assert!(page.contains("<div class=\"outcome fail\"><dt>checks passed</dt><dd>✗ 1/2</dd>"));
        assert!(page.contains("<img src=\"convergence.svg\""));
        assert!(page.contains("<a href=\"../index.html\">"));
        assert!(page.contains("@media print"));
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "no network"
        );
    }

    #[test]
    fn report_without_checks() {
        let mut r = sample_report();
        r.checks.clear();
        let page = render_report(&r, "");
        assert!(page.contains("<p><em>No checks.</em></p>"), "{page}");
        assert!(page.contains("<div class=\"outcome\"><dt>checks passed</dt><dd>0/0</dd>"));
        assert!(!page.contains("<th>Status</th>"));
    }

    #[test]
    fn huge_table() {
        let mut r = sample_report();
        let mut t = Table::new((0..30).map(|c| format!("c{c}")));
        for i in 0..5000 {
            t.push_row((0..30).map(|c| json!(i * 30 + c)).collect());
        }
        r.tables.insert("huge".into(), t);
        let page = render_report(&r, "");
        assert!(page.contains("<td class=\"num\">149999</td></tr>"));
        assert_eq!(
            page.matches("<tr>").count(),
            5000 + 2 + 3,
            "rows of huge and rates, and 3 headers"
        );
        assert!(page.contains("<div class=\"table-wrap\">"));
    }

    #[test]
    fn non_finite_values_are_readable() {
        let mut r = sample_report();
        r.checks = vec![
            Check::within("a NaN", f64::NAN, 1.0, 0.1),
            Check::within("infinite", f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY),
        ];
        let mut t = Table::new(["v"]);
        t.push_row(vec![json!(null)]);
        r.tables.insert("t".into(), t);
        let page = render_report(&r, "");
        assert!(
            page.contains("<td>a NaN</td><td class=\"num\">NaN</td><td class=\"num\">1</td>"),
            "{page}"
        );
        assert!(page.contains(
            "<td>infinite</td><td class=\"num\">inf</td><td class=\"num\">-inf</td><td class=\"num\">inf</td>"
        ));
        assert!(page.contains("<td class=\"num\">—</td>"));
    }

    #[test]
    fn notes_paragraphs_lists_and_stray_backticks() {
        let mut out = String::new();
        render_note(&mut out, "one `a<b`\n\n- x\n- y & z\n\nodd ` tick");
        assert_eq!(
            out,
            "<p>one <code>a&lt;b</code></p>\n<ul>\n<li>x</li>\n<li>y &amp; z</li>\n</ul>\n<p>odd ` tick</p>\n"
        );
    }

    #[test]
    fn urls_are_encoded() {
        assert_eq!(url("a b/report.html"), "a%20b/report.html");
        assert_eq!(url("x\"y"), "x%22y");
    }
}

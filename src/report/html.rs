//! The report as one HTML page: inline CSS and SVG, no script and no external URL, so it opens
//! offline, attaches to a ticket or an e-mail as one file, and prints.

use std::fmt::Write;

use similar::{ChangeTag, TextDiff};

use super::{plot, CaseView, Comparison, Report, Section};

const STYLE: &str = "
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1d2329;margin:0;background:#f4f6f8}
main{max-width:980px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 10px}
.meta{color:#5b6670;font-size:13px}
section{background:#fff;border:1px solid #dde3e8;border-radius:8px;padding:14px 18px;margin:14px 0}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{border-bottom:1px solid #e6eaee;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f6}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.better{color:#0a7a3e}.worse{color:#b42318}
.warn li{color:#8a4b00}
.plot svg{max-width:100%;height:auto}
.case{border-top:1px solid #e6eaee;padding:10px 0}.case:first-of-type{border-top:0}
.case .id{font-weight:600}.case pre{white-space:pre-wrap;word-break:break-word;background:#f7f9fa;padding:8px;border-radius:6px;margin:6px 0;font:14px/1.45 ui-monospace,monospace}
ins{background:#d4f5dd;text-decoration:none}del{background:#fbd9d6}
.empty{color:#5b6670;font-style:italic}
@media print{body{background:#fff}section{break-inside:avoid;border:0}}
";

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

fn number(v: f64) -> String {
    if !v.is_finite() {
        "—".into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

/// The whole page.
pub(super) fn render(report: &Report, compare: Option<&Comparison>) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width,initial-scale=1\"><title>{title}</title><style>{STYLE}</style></head>\
         <body><main><h1>{title}</h1><p class=\"meta\">Файл: {input} · {created} · sufler {version} · {kind}</p>",
        title = esc(&report.title),
        input = esc(&report.input),
        created = esc(&report.created),
        version = esc(&report.sufler_version),
        kind = esc(&report.kind),
    );
    metrics(&mut page, report, compare);
    if !report.warnings.is_empty() {
        let _ =
            write!(page, "<section class=\"warn\"><h2>Замечания к входным данным ({})</h2><ul>", report.warnings.len());
        for w in &report.warnings {
            let _ = write!(page, "<li>{}</li>", esc(&w.to_string()));
        }
        page.push_str("</ul></section>");
    }
    for section in &report.sections {
        render_section(&mut page, section);
    }
    page.push_str("</main></body></html>\n");
    page
}

fn metrics(page: &mut String, report: &Report, compare: Option<&Comparison>) {
    page.push_str("<section><h2>Итоги</h2><table>");
    match compare {
        Some(c) => {
            page.push_str("<tr><th>Метрика</th><th>Было</th><th>Стало</th><th>Изменение</th></tr>");
            for d in &c.deltas {
                let (class, change) = match (d.old, d.new, d.improved) {
                    (Some(o), Some(n), Some(true)) => ("better", format!("{:+.4} ↑", n - o)),
                    (Some(o), Some(n), Some(false)) => ("worse", format!("{:+.4} ↓", n - o)),
                    (Some(_), Some(_), None) => ("", "без изменений".into()),
                    (None, Some(_), _) => ("", "новая метрика".into()),
                    _ => ("", "нет в этом запуске".into()),
                };
                let _ = write!(
                    page,
                    "<tr><td>{} <code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                     <td class=\"num {class}\">{}</td></tr>",
                    esc(&d.label),
                    esc(&d.id),
                    d.old.map_or("—".into(), number),
                    d.new.map_or("—".into(), number),
                    esc(&change)
                );
            }
        }
        None => {
            page.push_str("<tr><th>Метрика</th><th>Значение</th></tr>");
            for m in &report.metrics {
                let _ = write!(
                    page,
                    "<tr><td>{} <code>{}</code></td><td class=\"num\">{}</td></tr>",
                    esc(&m.label),
                    esc(&m.id),
                    number(m.value)
                );
            }
        }
    }
    page.push_str("</table></section>");
}

fn plot_section(page: &mut String, title: &str, svg: Option<String>) {
    let _ = write!(page, "<section class=\"plot\"><h2>{}</h2>", esc(title));
    match svg {
        // plotters escapes the text it writes into the SVG.
        Some(svg) => page.push_str(&svg),
        None => page.push_str("<p class=\"empty\">нет данных</p>"),
    }
    page.push_str("</section>");
}

fn render_section(page: &mut String, section: &Section) {
    match section {
        Section::Table { title, columns, rows } => {
            let _ = write!(page, "<section><h2>{}</h2>", esc(title));
            if rows.is_empty() {
                page.push_str("<p class=\"empty\">нет данных</p></section>");
                return;
            }
            page.push_str("<table><tr>");
            for c in columns {
                let _ = write!(page, "<th>{}</th>", esc(c));
            }
            page.push_str("</tr>");
            for row in rows {
                page.push_str("<tr>");
                for cell in row {
                    let numeric = cell.parse::<f64>().is_ok() || cell.ends_with('%');
                    let _ = write!(page, "<td{}>{}</td>", if numeric { " class=\"num\"" } else { "" }, esc(cell));
                }
                page.push_str("</tr>");
            }
            page.push_str("</table></section>");
        }
        Section::Bars { title, x_label, y_label: _, bars } => plot_section(page, title, plot::bars(x_label, bars)),
        Section::GroupedBars { title, y_label, categories, series } => {
            plot_section(page, title, plot::grouped_bars(y_label, categories, series))
        }
        Section::Curve { title, x_label, y_label, series } => {
            plot_section(page, title, plot::curve(x_label, y_label, series))
        }
        Section::Histogram { title, x_label, values, bins } => {
            plot_section(page, title, plot::histogram(x_label, values, *bins))
        }
        Section::Cases { title, cases } => {
            let _ = write!(page, "<section><h2>{} ({})</h2>", esc(title), cases.len());
            if cases.is_empty() {
                page.push_str("<p class=\"empty\">нет данных</p>");
            }
            for case in cases {
                render_case(page, case);
            }
            page.push_str("</section>");
        }
    }
}

fn render_case(page: &mut String, case: &CaseView) {
    let _ = write!(
        page,
        "<div class=\"case\"><div><span class=\"id\">{}</span> — {}</div>",
        esc(&case.id),
        esc(&case.summary)
    );
    match &case.after {
        Some(after) => {
            page.push_str("<pre>");
            for change in TextDiff::from_words(case.before.as_str(), after.as_str()).iter_all_changes() {
                let text = esc(change.value());
                match change.tag() {
                    ChangeTag::Equal => page.push_str(&text),
                    ChangeTag::Delete => {
                        let _ = write!(page, "<del>{text}</del>");
                    }
                    ChangeTag::Insert => {
                        let _ = write!(page, "<ins>{text}</ins>");
                    }
                }
            }
            page.push_str("</pre>");
        }
        None => {
            let _ = write!(page, "<pre>{}</pre>", esc(&case.before));
        }
    }
    if !case.notes.is_empty() {
        page.push_str("<ul>");
        for n in &case.notes {
            let _ = write!(page, "<li>{}</li>", esc(n));
        }
        page.push_str("</ul>");
    }
    page.push_str("</div>");
}

#[cfg(test)]
mod tests {
    use super::super::*;

    #[test]
    fn user_text_is_escaped_and_nothing_is_fetched() {
        let mut r = Report::new("eval-test", "Отчёт <b>", "a&b.jsonl");
        r.push_metric("pass_rate", "доля", 0.5, true);
        r.warnings.push(InputWarning { line: 2, message: "<script>alert(1)</script>".into() });
        let huge = "ы".repeat(100_000);
        r.sections.push(Section::Cases {
            title: "Худшие".into(),
            cases: vec![
                CaseView {
                    id: "x\"1".into(),
                    summary: "<img src=x onerror=alert(1)>".into(),
                    before: "привет, ты где? 😀".into(),
                    after: Some("Здравствуйте, Вы где? 😀".into()),
                    notes: vec!["'quoted'".into()],
                },
                CaseView {
                    id: "big".into(),
                    summary: String::new(),
                    before: huge.clone(),
                    after: Some(huge),
                    notes: vec![],
                },
            ],
        });
        r.sections.push(Section::Table { title: "Пусто".into(), columns: vec!["a".into()], rows: vec![] });
        r.sections.push(Section::Histogram {
            title: "Задержка".into(),
            x_label: "мс".into(),
            values: vec![],
            bins: 10,
        });
        let page = r.to_html(None);
        assert!(!page.contains("<script") && !page.contains("<img") && !page.contains("<b>"));
        assert!(page.contains("строка 2: &lt;script&gt;") && page.contains("&#39;quoted&#39;"));
        assert!(page.contains("<del>привет,</del>") || page.contains("<del>привет"), "word diff");
        assert!(page.contains("<ins>"));
        assert_eq!(page.matches("нет данных").count(), 2);
        for external in ["http://", "https://", "src=\"", "<link", "@import"] {
            assert!(!page.contains(external), "{external}");
        }
    }

    #[test]
    fn comparison_marks_better_and_worse() {
        let mut old = Report::new("k", "t", "i");
        old.push_metric("a", "A", 1.0, true);
        old.push_metric("b", "B", 1.0, false);
        let mut new = old.clone();
        new.metrics[0].value = 2.0;
        new.metrics[1].value = 2.0;
        let page = new.to_html(Some(&compare(&old, &new)));
        assert!(page.contains("class=\"num better\">+1.0000 ↑") && page.contains("class=\"num worse\">+1.0000 ↓"));
    }
}

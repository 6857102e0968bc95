//! Evaluation and audit reports as data: headline metrics, sections (tables, plots, worst
//! cases) and line-numbered input warnings. Eval and audit fill a [`Report`]; this module
//! renders it for the terminal ([`Report::summary_table`]), as JSON (the form `--compare`
//! reads back) and as one self-contained HTML page with SVG plots ([`Report::to_html`]).

mod html;
mod plot;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One run's results.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// What produced it: `eval-suggest`, `eval-rewrite`, `eval-check`, `audit`, …
    pub kind: String,
    /// The page's title (Russian).
    pub title: String,
    /// The evaluated file.
    pub input: String,
    /// When the run ended (RFC 3339, UTC).
    pub created: String,
    /// The sufler version that produced it.
    pub sufler_version: String,
    /// Headline numbers; `--compare` and `--fail-under` act on these.
    pub metrics: Vec<Metric>,
    /// Tables, plots and cases, in page order.
    pub sections: Vec<Section>,
    /// Problems of the input (skipped lines and the like).
    pub warnings: Vec<InputWarning>,
}

/// A headline number.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Metric {
    /// Stable ASCII id (`r@1`, `pass_rate`); what `--fail-under` names.
    pub id: String,
    /// Russian label.
    pub label: String,
    /// The value.
    pub value: f64,
    /// Whether a larger value is better (for comparisons).
    pub higher_is_better: bool,
}

/// A problem of the input, at a line (0: the whole file).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct InputWarning {
    /// 1-based line; 0 for the whole file.
    pub line: usize,
    /// What is wrong (Russian).
    pub message: String,
}

impl std::fmt::Display for InputWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            0 => write!(f, "{}", self.message),
            line => write!(f, "строка {line}: {}", self.message),
        }
    }
}

/// A part of the page.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Section {
    /// A plain table.
    Table {
        /// Heading.
        title: String,
        /// Column headings.
        columns: Vec<String>,
        /// Cells, row by row.
        rows: Vec<Vec<String>>,
    },
    /// Horizontal bars, one per label (e.g. violations per rule).
    Bars {
        /// Heading.
        title: String,
        /// What the bars measure.
        x_label: String,
        /// What the labels are.
        y_label: String,
        /// The bars (drawn largest first).
        bars: Vec<Bar>,
    },
    /// Several series over the same categories (e.g. tone before / after the rewrite).
    GroupedBars {
        /// Heading.
        title: String,
        /// What the values measure.
        y_label: String,
        /// Category names.
        categories: Vec<String>,
        /// One value per category in each series.
        series: Vec<NamedValues>,
    },
    /// Lines through points (e.g. R@k against k).
    Curve {
        /// Heading.
        title: String,
        /// X axis.
        x_label: String,
        /// Y axis.
        y_label: String,
        /// The lines.
        series: Vec<NamedPoints>,
    },
    /// The distribution of values (e.g. latency in ms).
    Histogram {
        /// Heading.
        title: String,
        /// What the values are.
        x_label: String,
        /// The raw values.
        values: Vec<f64>,
        /// Number of bins.
        bins: usize,
    },
    /// Cases worth reading, with a word diff when there is an `after`.
    Cases {
        /// Heading.
        title: String,
        /// The cases.
        cases: Vec<CaseView>,
    },
}

/// One bar.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Bar {
    /// Label.
    pub label: String,
    /// Length.
    pub value: f64,
}

/// A series of values, one per category.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NamedValues {
    /// Legend entry.
    pub name: String,
    /// One value per category.
    pub values: Vec<f64>,
}

/// A series of points.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NamedPoints {
    /// Legend entry.
    pub name: String,
    /// (x, y) points, in x order.
    pub points: Vec<(f64, f64)>,
}

/// One case shown in full.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CaseView {
    /// The case id.
    pub id: String,
    /// One line on what went wrong.
    pub summary: String,
    /// The input text.
    pub before: String,
    /// The output text, diffed against `before`.
    pub after: Option<String>,
    /// Details.
    pub notes: Vec<String>,
}

impl Report {
    /// An empty report stamped with the current time and version.
    pub fn new(kind: &str, title: &str, input: &str) -> Report {
        Report {
            kind: kind.into(),
            title: title.into(),
            input: input.into(),
            created: now_rfc3339(),
            sufler_version: env!("CARGO_PKG_VERSION").into(),
            metrics: Vec::new(),
            sections: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Adds a headline metric.
    pub fn push_metric(&mut self, id: &str, label: &str, value: f64, higher_is_better: bool) {
        self.metrics.push(Metric { id: id.into(), label: label.into(), value, higher_is_better });
    }

    /// A headline metric's value.
    pub fn metric(&self, id: &str) -> Option<f64> {
        self.metrics.iter().find(|m| m.id == id).map(|m| m.value)
    }

    /// Writes the report as pretty JSON.
    pub fn write_json(&self, path: &Path) -> Result<()> {
        std::fs::write(path, serde_json::to_string_pretty(self)?).map_err(|e| Error::io(path, e))
    }

    /// Reads a report written by [`Report::write_json`].
    pub fn read_json(path: &Path) -> Result<Report> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::InvalidInput(format!("{}: это не отчёт sufler в формате JSON ({e})", path.display())))
    }

    /// The page: self-contained (inline CSS and SVG; no script, no external URL).
    pub fn to_html(&self, compare: Option<&Comparison>) -> String {
        html::render(self, compare)
    }

    /// The metrics as an aligned text table (with the earlier values when comparing).
    pub fn summary_table(&self, compare: Option<&Comparison>) -> String {
        let mut rows: Vec<[String; 4]> = Vec::new();
        match compare {
            Some(c) => {
                rows.push(["метрика".into(), "было".into(), "стало".into(), "изменение".into()]);
                for d in &c.deltas {
                    let change = match (d.old, d.new) {
                        (Some(old), Some(new)) => {
                            let mark = match d.improved {
                                Some(true) => " ↑ лучше",
                                Some(false) => " ↓ хуже",
                                None => "",
                            };
                            format!("{:+.4}{mark}", new - old)
                        }
                        (None, Some(_)) => "новая".into(),
                        (Some(_), None) => "нет в новом".into(),
                        (None, None) => String::new(),
                    };
                    rows.push([format!("{} ({})", d.label, d.id), fmt_opt(d.old), fmt_opt(d.new), change]);
                }
            }
            None => {
                rows.push(["метрика".into(), "значение".into(), String::new(), String::new()]);
                for m in &self.metrics {
                    rows.push([format!("{} ({})", m.label, m.id), fmt_value(m.value), String::new(), String::new()]);
                }
            }
        }
        let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
        let widths = [width(0), width(1), width(2), width(3)];
        let mut out = format!("{}\n", self.title);
        for row in &rows {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                if i == 0 {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                } else {
                    line.push_str("  ");
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), fmt_value)
}

/// The current time as RFC 3339 (UTC, whole seconds).
fn now_rfc3339() -> String {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second()).unwrap_or(now).to_string()
}

/// The change of every metric between two runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// One per metric id present in either run (the new run's order, then the old-only ones).
    pub deltas: Vec<MetricDelta>,
}

/// One metric in two runs.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricDelta {
    /// Metric id.
    pub id: String,
    /// Russian label.
    pub label: String,
    /// Value in the earlier run.
    pub old: Option<f64>,
    /// Value in this run.
    pub new: Option<f64>,
    /// Whether it got better (None: unchanged or not in both runs).
    pub improved: Option<bool>,
}

/// How `new` differs from `old`.
pub fn compare(old: &Report, new: &Report) -> Comparison {
    let mut deltas: Vec<MetricDelta> = new
        .metrics
        .iter()
        .map(|m| {
            let before = old.metric(&m.id);
            let improved = before.filter(|b| *b != m.value).map(|b| (m.value > b) == m.higher_is_better);
            MetricDelta { id: m.id.clone(), label: m.label.clone(), old: before, new: Some(m.value), improved }
        })
        .collect();
    for m in old.metrics.iter().filter(|m| new.metric(&m.id).is_none()) {
        deltas.push(MetricDelta {
            id: m.id.clone(),
            label: m.label.clone(),
            old: Some(m.value),
            new: None,
            improved: None,
        });
    }
    Comparison { deltas }
}

/// A CI gate: `metric=value`, failing when the metric is below the value.
#[derive(Clone, Debug, PartialEq)]
pub struct Gate {
    /// Metric id.
    pub metric: String,
    /// Least acceptable value.
    pub min: f64,
}

impl std::str::FromStr for Gate {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let bad = || format!("порог {s:?} задан неверно: укажите его в виде метрика=число, например r@1=0.9");
        let (metric, value) = s.split_once('=').ok_or_else(bad)?;
        let min: f64 = value.trim().parse().map_err(|_| bad())?;
        if metric.trim().is_empty() || !min.is_finite() {
            return Err(bad());
        }
        Ok(Gate { metric: metric.trim().into(), min })
    }
}

/// The gates `report` fails, as Russian messages; a gate on a metric the report lacks fails.
pub fn failed_gates(report: &Report, gates: &[Gate]) -> Vec<String> {
    gates
        .iter()
        .filter_map(|g| match report.metric(&g.metric) {
            Some(v) if v >= g.min => None,
            Some(v) => Some(format!("{} = {} ниже порога {}", g.metric, fmt_value(v), fmt_value(g.min))),
            None => {
                let known: Vec<&str> = report.metrics.iter().map(|m| m.id.as_str()).collect();
                Some(format!("метрики {:?} нет в отчёте; есть: {}", g.metric, known.join(", ")))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut r = Report::new("eval-test", "Проверка", "set.jsonl");
        r.push_metric("r@1", "доля верных на первом месте", 0.75, true);
        r.push_metric("p99_ms", "задержка p99, мс", 12.0, false);
        r
    }

    #[test]
    fn json_round_trips() {
        let mut r = sample();
        r.sections.push(Section::Curve {
            title: "R@k".into(),
            x_label: "k".into(),
            y_label: "R@k".into(),
            series: vec![NamedPoints { name: "sufler".into(), points: vec![(1.0, 0.7), (2.0, 0.8)] }],
        });
        r.warnings.push(InputWarning { line: 3, message: "не JSON".into() });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        r.write_json(&path).unwrap();
        assert_eq!(Report::read_json(&path).unwrap(), r);
        std::fs::write(&path, "{\"kind\": 1}").unwrap();
        assert!(Report::read_json(&path).unwrap_err().to_string().contains("не отчёт sufler"));
    }

    #[test]
    fn comparison_knows_which_way_is_better() {
        let old = sample();
        let mut new = sample();
        new.metrics[0].value = 0.8; // higher is better: improved
        new.metrics[1].value = 15.0; // lower is better: worse
        new.push_metric("mrr", "MRR", 0.9, true);
        let c = compare(&old, &new);
        let by = |id: &str| c.deltas.iter().find(|d| d.id == id).unwrap().clone();
        assert_eq!(by("r@1").improved, Some(true));
        assert_eq!(by("p99_ms").improved, Some(false));
        assert_eq!((by("mrr").old, by("mrr").improved), (None, None));
        let table = new.summary_table(Some(&c));
        assert!(table.contains("+0.0500 ↑ лучше") && table.contains("новая"), "{table}");
    }

    #[test]
    fn gates_parse_and_fail_below_their_value() {
        let r = sample();
        let gate: Gate = "r@1=0.7".parse().unwrap();
        assert!(failed_gates(&r, &[gate]).is_empty());
        let failed = failed_gates(&r, &["r@1=0.9".parse().unwrap(), "mrr=0.1".parse().unwrap()]);
        assert_eq!(failed.len(), 2);
        assert!(failed[0].contains("ниже порога") && failed[1].contains("нет в отчёте"), "{failed:?}");
        for bad in ["r@1", "=0.5", "r@1=много", "r@1=NaN"] {
            assert!(bad.parse::<Gate>().unwrap_err().contains("метрика=число"), "{bad}");
        }
    }

    #[test]
    fn the_date_is_rfc3339() {
        let d = now_rfc3339();
        assert_eq!(d.len(), 20, "{d}");
        assert!(d.starts_with("20") && d.ends_with('Z') && &d[10..11] == "T");
    }
}

//! The output forms every eval and audit command shares: a summary on stdout, input warnings on
//! stderr, `--json`, `--report` (HTML), `--compare` with an earlier JSON and `--fail-under` gates.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use sufler::report::{compare, failed_gates, Gate, Report};

/// Most input warnings printed; the rest are counted (all are in the JSON and HTML).
const SHOWN_WARNINGS: usize = 20;

/// Where a report goes and what it must reach.
#[derive(Args, Clone, Debug, Default)]
pub struct ReportArgs {
    /// Write the result as JSON (the file `--compare` reads).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report with plots.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Show the change against an earlier run's JSON.
    #[arg(long, value_name = "OLD.json")]
    pub compare: Option<PathBuf>,
    /// Exit with an error when a metric is below a value (repeatable), e.g. r@1=0.9.
    #[arg(long = "fail-under", value_name = "METRIC=VALUE")]
    pub fail_under: Vec<Gate>,
}

/// Prints, writes and gates `report`; an error (non-zero exit) lists the failed gates.
pub fn emit(report: &Report, args: &ReportArgs) -> Result<()> {
    let earlier = args
        .compare
        .as_deref()
        .map(|path| Report::read_json(path).with_context(|| "не удалось прочитать отчёт для сравнения"))
        .transpose()?;
    let comparison = earlier.as_ref().map(|old| compare(old, report));
    if let Some(old) = &earlier {
        if old.kind != report.kind {
            eprintln!("sufler: внимание: сравниваются отчёты разных видов ({} и {})", old.kind, report.kind);
        }
    }
    print!("{}", report.summary_table(comparison.as_ref()));
    for w in report.warnings.iter().take(SHOWN_WARNINGS) {
        eprintln!("sufler: {w}");
    }
    if report.warnings.len() > SHOWN_WARNINGS {
        eprintln!("sufler: и ещё замечаний: {} (все — в отчёте)", report.warnings.len() - SHOWN_WARNINGS);
    }
    if let Some(path) = &args.json {
        report.write_json(path).with_context(|| format!("не удалось записать {}", path.display()))?;
    }
    if let Some(path) = &args.report {
        std::fs::write(path, report.to_html(comparison.as_ref()))
            .with_context(|| format!("не удалось записать {}", path.display()))?;
    }
    let failed = failed_gates(report, &args.fail_under);
    if !failed.is_empty() {
        bail!("пороги не пройдены:\n  {}", failed.join("\n  "));
    }
    Ok(())
}

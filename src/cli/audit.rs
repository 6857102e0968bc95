//! `sufler audit`: a dialogue log → per-operator report (terminal table, JSON, HTML).

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::Args;
use sufler::audit::{AuditOptions, Engines};
use sufler::style::StyleEngine;
use sufler::tone::ToneModel;
use sufler::Embedder;

use super::report::{emit, ReportArgs};
use super::EncoderArgs;

/// Flags of `sufler audit`.
#[derive(Args)]
pub struct AuditArgs {
    /// The log: JSONL, one message a line {"dialogue","role","operator"?,"ts"?,"text","client_name"?}
    /// (format: eval/sets/README.md); `-` reads standard input.
    pub file: PathBuf,
    /// Profile whose rules and reply deadline apply: chat (default), messenger-b2b or email.
    #[arg(long)]
    pub profile: Option<String>,
    /// Close a dialogue after this many hours without messages (log time).
    #[arg(long, default_value_t = 24.0)]
    pub close_after_hours: f64,
    /// Word lists from this directory instead of the built-in ones (missing files fall back).
    #[arg(long, env = "SUFLER_STYLE_DIR")]
    pub style_dir: Option<PathBuf>,
    /// Do not load the encoder: no answer-all check (D2) and no tone; several times faster.
    #[arg(long)]
    pub no_encoder: bool,
    #[command(flatten)]
    pub out: ReportArgs,
    #[command(flatten)]
    pub encoder: EncoderArgs,
}

pub fn audit(args: &AuditArgs) -> Result<()> {
    if !(args.close_after_hours.is_finite() && args.close_after_hours > 0.0) {
        anyhow::bail!("--close-after-hours должно быть положительным числом часов");
    }
    let style = match &args.style_dir {
        Some(dir) => StyleEngine::with_style_dir(dir)?,
        None => StyleEngine::embedded()?,
    };
    let encoder = (!args.no_encoder)
        .then(|| args.encoder.load())
        .transpose()
        .context("loading the encoder (or pass --no-encoder)")?;
    let tone = match (&encoder, ToneModel::load_default()) {
        (Some(_), Ok(tone)) => Some(tone),
        (Some(_), Err(e)) => {
            eprintln!("sufler: тон не будет оценён: {e}");
            None
        }
        (None, _) => None,
    };
    let engines =
        Engines { style: &style, embedder: encoder.as_ref().map(|e| e as &dyn Embedder), tone: tone.as_ref() };
    let options = AuditOptions {
        profile: args.profile.clone(),
        idle_close_secs: (args.close_after_hours * 3600.0).round() as i64,
    };
    let (input, size): (Box<dyn BufRead>, Option<u64>) = open(&args.file)?;
    let bar = match size {
        Some(size) => indicatif::ProgressBar::new(size).with_style(
            indicatif::ProgressStyle::with_template("журнал {bar:40} {bytes}/{total_bytes} {msg} {eta}")
                .expect("valid template"),
        ),
        None => indicatif::ProgressBar::new_spinner()
            .with_style(indicatif::ProgressStyle::with_template("журнал {bytes} {msg}").expect("valid template")),
    };
    let result = sufler::audit::run(input, &engines, &options, &|bytes, messages| {
        bar.set_position(bytes);
        bar.set_message(format!("сообщений: {messages}"));
    });
    bar.finish_and_clear();
    let audit = result.with_context(|| format!("аудит {}", args.file.display()))?;
    let report = audit.to_report(&args.file.display().to_string());
    if let sufler::report::Section::Table { columns, rows, .. } = audit.operator_table() {
        print_table(&columns, &rows);
    }
    eprintln!(
        "sufler: сообщений: {}, диалогов: {}, время: {:.1} с ({:.0} сообщений в секунду)",
        audit.messages,
        audit.dialogues,
        audit.seconds,
        audit.throughput()
    );
    let mut report = report;
    report.warnings = audit.warnings.into_list();
    emit(&report, &args.out)
}

/// The log with its size (for the progress bar), or standard input.
fn open(path: &Path) -> Result<(Box<dyn BufRead>, Option<u64>)> {
    if path == Path::new("-") {
        return Ok((Box::new(std::io::stdin().lock()), None));
    }
    let file = std::fs::File::open(path).with_context(|| format!("не удалось открыть журнал {}", path.display()))?;
    let size = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    Ok((Box::new(std::io::BufReader::with_capacity(1 << 16, file)), size))
}

/// Columns padded to their widest cell.
fn print_table(columns: &[String], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| {
            std::iter::once(&columns[i]).chain(rows.iter().map(|r| &r[i])).map(|c| c.chars().count()).max().unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(columns).chain(rows.iter().map(Vec::as_slice)) {
        let line: Vec<String> =
            row.iter().zip(&widths).map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count()))).collect();
        println!("{}", line.join("  ").trim_end());
    }
    println!();
}

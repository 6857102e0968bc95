//! The style engine: checks an operator's draft against the house style of
//! `../shared/STYLE-RULES.md` and rewrites it toward polite formal Russian.
//!
//! Data flows one way: text → [`crate::text::segment`] (tokens, facts, sentences) →
//! [`crate::text::morph`] analyses →
//! rule functions (`rules/`, driven by the data in `prompts/style/rules/`) → issues →
//! [`rewrite`] (automatic fixes, fact guard, meaning guard).
//!
//! ```no_run
//! use sufler::style::{Context, StyleEngine};
//! let engine = StyleEngine::embedded()?;
//! let ctx = Context { client_name: Some("Анна".into()), first_message: Some(true), ..Context::default() };
//! let report = engine.check("привет, щас гляну твой заказ", &ctx, None)?;
//! assert!(report.issues.iter().any(|i| i.rule == "polite-you"));
//! let fixed = engine.rewrite("привет, щас гляну твой заказ", &ctx, None)?;
//! println!("{}", fixed.text);
//! # Ok::<(), sufler::Error>(())
//! ```

pub mod catalog;
pub mod context;
pub mod lexicon;
pub mod polite_you;
pub mod rewrite;
mod rules;
pub mod spell;

use serde::Serialize;

pub use catalog::{Catalog, FixKind, RuleDef, Severity};
pub use context::{ClockTime, Context, Profile, ResponseTime, DEFAULT_PROFILE};
pub use lexicon::Lexicon;
pub use rewrite::{Edit, Rewrite};

use crate::deadline::Deadline;
use crate::encoder::Embedder;
use crate::error::{Error, Result};
use crate::text::morph::Morph;
use crate::text::segment::{Doc, Segments};
use crate::tone::{ToneModel, ToneScore};
use catalog::Need;
use rules::{Finding, Input, RULES};
use spell::{SpellStatus, Speller};

/// Distinct texts whose segments [`StyleEngine::segment`] keeps per thread (a rewrite passes
/// through a few dozen).
const SEGMENT_MEMO_TEXTS: usize = 256;

/// Longest draft the engine accepts (bytes). Longer texts are refused, not truncated.
pub const MAX_DRAFT_BYTES: usize = 128 * 1024;

/// One departure from the house style.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Issue {
    /// Rule id («polite-you»).
    pub rule: String,
    /// Catalog code («A1»).
    pub code: String,
    /// Severity under the active profile.
    pub severity: Severity,
    /// What the engine may do about it.
    pub fix: FixKind,
    /// Start, in Unicode scalar values from the start of the text.
    pub start: usize,
    /// End (exclusive), in Unicode scalar values.
    pub end: usize,
    /// Russian explanation for the operator.
    pub message: String,
    /// Replacement candidates, best first.
    pub replacements: Vec<String>,
}

/// A rule that could not run, and why.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DisabledRule {
    /// Rule id.
    pub rule: String,
    /// Russian reason.
    pub reason: String,
}

/// The result of a check.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckReport {
    /// Issues in text order.
    pub issues: Vec<Issue>,
    /// Rules that could not run (no dictionary, no encoder).
    pub disabled: Vec<DisabledRule>,
    /// The profile used.
    pub profile: String,
    /// The draft's tone (with the encoder and the tone heads; absent otherwise). Its alarm
    /// (`tone.toxic`) is an A10 issue when the word lists found nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tone: Option<ToneScore>,
}

/// A rule's finding with the rule it came from (internal, byte offsets).
pub(crate) struct RuleFinding {
    pub rule: usize,
    pub finding: Finding,
}

/// The loaded style engine: rules, word lists, profiles and the spelling dictionary.
pub struct StyleEngine {
    /// Unique per engine in this process (memo keys).
    id: u64,
    catalog: Catalog,
    /// One lexicon per profile (built-in lists plus the profile's own words), by profile index.
    lexicons: Vec<Lexicon>,
    profiles: Vec<Profile>,
    speller: SpellStatus,
    morph: &'static Morph,
    /// The tone heads: with the encoder, the draft's tone and A10's learned half.
    tone: Option<ToneModel>,
}

impl std::fmt::Debug for StyleEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StyleEngine").field("rules", &self.catalog.iter().count()).finish_non_exhaustive()
    }
}

/// Rules whose edits only add courtesy. The capital «Вы» is not one of them: blocking it in
/// the drafts the head alarms on cost the rewrite sets a draft each (measured in stop 30), and a
/// refused rewrite already leaves threats as written.
pub(crate) const DECORATING: [&str; 5] = ["greeting", "introduce-self", "use-name", "softener", "thanks"];

/// Rules that mend a word's form, not what it says (see [`undecorated`]).
const POLISHING: [&str; 3] = ["polite-you", "capital-you", "spelling"];

/// A rude draft (A10, not only a mild word) is for its operator to rewrite, not to decorate: no
/// courtesy is proposed for it (no «вали, пожалуйста», «Дмитрий, слышь»), and its rude words
/// are not polished («Слышь» → «Слышьте»); a rule that replaces them whole (A7's approved
/// wording for «Это ваши проблемы») stays.
fn undecorated(text: &str, found: &mut Vec<RuleFinding>) {
    let whole = rules::rudeness::tone_finding(text).map(|f| (f.start, f.end));
    let rude: Vec<(usize, usize)> = found
        .iter()
        .filter(|f| RULES[f.rule].0 == "no-rudeness" && f.finding.severity != Some(Severity::Warning))
        .map(|f| (f.finding.start, f.finding.end))
        .collect();
    if rude.is_empty() {
        return;
    }
    found.retain(|f| {
        let (id, start, end) = (RULES[f.rule].0, f.finding.start, f.finding.end);
        let inside = || rude.iter().any(|&(a, b)| Some((a, b)) != whole && a <= start && end <= b);
        !(DECORATING.contains(&id) || POLISHING.contains(&id) && inside())
    });
}

impl StyleEngine {
    /// The engine with the rules, lists and profiles compiled into the binary, the system's
    /// hunspell-ru dictionary (if installed) and the morphology dictionary (loaded once per
    /// process).
    pub fn embedded() -> Result<StyleEngine> {
        Self::build(Lexicon::embedded()?, context::embedded_profiles()?)
    }

    /// The engine with word lists from `dir` (files missing there fall back to the defaults) and
    /// the company's profiles from `dir/profiles/*.toml` next to the built-in ones.
    pub fn with_style_dir(dir: &std::path::Path) -> Result<StyleEngine> {
        Self::build(Lexicon::from_dir(dir)?, context::profiles_from_dir(dir)?)
    }

    fn build(lexicon: Lexicon, profiles: Vec<Profile>) -> Result<StyleEngine> {
        let catalog = Catalog::embedded()?;
        for (id, _) in RULES {
            if catalog.get(id).is_none() {
                return Err(Error::InvalidInput(format!("rule {id} has code but no definition file")));
            }
        }
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Ok(StyleEngine {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            catalog,
            lexicons: profiles.iter().map(|p| lexicon.with_profile_words(&p.words)).collect(),
            profiles,
            speller: spell::load_default(),
            morph: Morph::global(),
            tone: None,
        })
    }

    /// The engine with tone heads: a check with the encoder reports the draft's tone, and a
    /// draft the toxicity head alarms on is an A10 issue even when no listed word is in it —
    /// threats and contempt are phrased in too many ways for lists (its rewrite is refused, or
    /// made without courtesy edits when the head is less sure: see `rewrite::run`).
    pub fn with_tone(self, tone: ToneModel) -> StyleEngine {
        StyleEngine { tone: Some(tone), ..self }
    }

    /// The tone heads, if any.
    pub fn tone(&self) -> Option<&ToneModel> {
        self.tone.as_ref()
    }

    /// The `query:` embedding the tone of `text` is scored from (with the encoder and the tone
    /// heads): `Ok(None)` without them; an encoder error other than an overload is returned as
    /// the reason the tone is missing.
    pub(crate) fn tone_embedding(
        &self,
        text: &str,
        embedder: Option<&dyn Embedder>,
    ) -> Result<std::result::Result<Option<Vec<f32>>, DisabledRule>> {
        let (Some(_), Some(embedder)) = (&self.tone, embedder) else { return Ok(Ok(None)) };
        if text.trim().is_empty() {
            return Ok(Ok(None));
        }
        match embedder.embed(&[text], crate::encoder::TextKind::Query) {
            Ok(vectors) => Ok(Ok(vectors.into_iter().next())),
            Err(e @ Error::Busy(_)) => Err(e),
            Err(e) => Ok(Err(DisabledRule {
                rule: "no-rudeness".into(),
                reason: format!("Оценка тона недоступна: кодировщик не ответил ({e}). Словари правила работают."),
            })),
        }
    }

    /// The word lists under `profile`.
    fn lexicon(&self, profile: &Profile) -> &Lexicon {
        let i = self.profiles.iter().position(|p| std::ptr::eq(p, profile)).unwrap_or(0);
        &self.lexicons[i]
    }

    /// The rule catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The profiles.
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// The speller, when the dictionary loaded.
    pub fn speller(&self) -> Option<&Speller> {
        match &self.speller {
            SpellStatus::Ready(s) => Some(s),
            SpellStatus::Disabled { .. } => None,
        }
    }

    /// The profile named in `ctx` (default `chat`); an unknown name is an input error.
    pub fn profile(&self, ctx: &Context) -> Result<&Profile> {
        let name = ctx.profile.as_deref().unwrap_or(DEFAULT_PROFILE);
        self.profiles.iter().find(|p| p.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.profiles.iter().map(|p| p.name.as_str()).collect();
            Error::InvalidInput(format!("профиль «{name}» не найден; доступны: {}", known.join(", ")))
        })
    }

    /// Refuses texts the engine will not process (too long).
    fn validate(text: &str) -> Result<()> {
        if text.len() > MAX_DRAFT_BYTES {
            return Err(Error::InvalidInput(format!(
                "текст слишком длинный: {} КБ, допустимо не более {} КБ",
                text.len() / 1024,
                MAX_DRAFT_BYTES / 1024
            )));
        }
        Ok(())
    }

    /// Why rule `def` cannot run with what we have, if it cannot.
    fn unavailable(&self, def: &RuleDef, embedder: Option<&dyn Embedder>) -> Option<String> {
        def.needs.iter().find_map(|need| match need {
            Need::Speller => match &self.speller {
                SpellStatus::Disabled { reason } => Some(reason.clone()),
                SpellStatus::Ready(_) => None,
            },
            Need::Encoder => embedder
                .is_none()
                .then(|| "Проверка ответов на вопросы клиента отключена: модель не загружена.".to_string()),
        })
    }

    /// Segments `text` with the context's protected words.
    ///
    /// A rewrite segments each of its intermediate texts several times (to run the next rule,
    /// to count what is left, to judge the result), so the segments of recent texts are kept per
    /// thread: by engine (its abbreviations), protected words and text.
    pub(crate) fn segment<'t>(&self, text: &'t str, ctx: &Context) -> Doc<'t> {
        type Key = (u64, Option<String>, String);
        thread_local! {
            static MEMO: std::cell::RefCell<foldhash::HashMap<Key, std::rc::Rc<Segments>>> =
                Default::default();
        }
        let key = (self.id, ctx.client_name().map(str::to_string), text.to_string());
        if let Some(hit) = MEMO.with(|m| m.borrow().get(&key).cloned()) {
            return Doc::with_segments(text, hit);
        }
        let names: Vec<&str> = ctx.client_name().map(|n| n.split_whitespace().collect()).unwrap_or_default();
        let abbreviations: Vec<(&str, bool)> =
            self.lexicons[0].abbreviations.iter().map(|(a, p)| (a.as_str(), *p)).collect();
        let doc = Doc::new(text, &names, &abbreviations);
        MEMO.with(|m| {
            let mut memo = m.borrow_mut();
            if memo.len() >= SEGMENT_MEMO_TEXTS {
                memo.clear(); // bounded: only the texts of the current request are asked about again
            }
            memo.insert(key, doc.segments());
        });
        doc
    }

    /// Runs rule number `rule` (an index into the rewrite order) over `doc`.
    pub(crate) fn run_rule(
        &self,
        rule: usize,
        doc: &Doc,
        ctx: &Context,
        profile: &Profile,
        embedder: Option<&dyn Embedder>,
    ) -> Vec<Finding> {
        let (id, check) = RULES[rule];
        let def = self.catalog.get(id).expect("checked at load");
        let input = Input {
            doc,
            ctx,
            profile,
            def,
            lex: self.lexicon(profile),
            morph: self.morph,
            speller: self.speller(),
            embedder,
        };
        let mut out = Vec::new();
        check(&input, &mut out);
        out
    }

    /// [`StyleEngine::run_rule`] for a rule that needs no encoder, through a per-thread memo:
    /// such rules see the same text many times (a check, then the rewrite of the same draft; the
    /// sweep that confirms a fixed point; the guard's analyses; the final check), and their
    /// findings depend only on the engine, the request and the text. (The spelling rule's
    /// suggestions cost tens of milliseconds a word: asked once per text.)
    pub(crate) fn run_rule_memo(
        &self,
        rule: usize,
        doc: &Doc,
        ctx: &Context,
        profile: &Profile,
        scope: MemoScope,
    ) -> Vec<Finding> {
        // By text, then by (scope, rule): a lookup borrows the text instead of copying it.
        type ByText = foldhash::HashMap<String, foldhash::HashMap<(MemoScope, usize), Vec<Finding>>>;
        thread_local! {
            static MEMO: std::cell::RefCell<ByText> = Default::default();
        }
        let hit = MEMO.with(|m| m.borrow().get(doc.text).and_then(|rules| rules.get(&(scope, rule)).cloned()));
        if let Some(hit) = hit {
            return hit;
        }
        let found = self.run_rule(rule, doc, ctx, profile, None);
        MEMO.with(|m| {
            let mut memo = m.borrow_mut();
            if memo.len() >= 256 && !memo.contains_key(doc.text) {
                memo.clear(); // bounded: only recent drafts are asked about again
            }
            let rules = memo.entry(doc.text.to_string()).or_default();
            if rules.len() >= 4096 {
                rules.clear(); // one text asked about under ever new contexts
            }
            rules.insert((scope, rule), found.clone());
        });
        found
    }

    /// The memo scope of a request: this engine and everything in the context.
    pub(crate) fn scope(&self, ctx: &Context) -> MemoScope {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        format!("{ctx:?}").hash(&mut hasher);
        MemoScope { engine: self.id, request: hasher.finish() }
    }

    /// Rules that run under `profile`, as (index into the rewrite order, definition).
    pub(crate) fn active_rules<'s>(&'s self, profile: &'s Profile) -> impl Iterator<Item = (usize, &'s RuleDef)> + 's {
        RULES
            .iter()
            .enumerate()
            .filter(move |(_, (id, _))| profile.enabled(id))
            .map(|(i, (id, _))| (i, self.catalog.get(id).expect("checked at load")))
    }

    /// The findings of every rule that runs without the encoder, as (rule index, byte span):
    /// what the never-worse guard compares a draft and its rewrite by.
    pub(crate) fn local_findings(
        &self,
        doc: &Doc,
        ctx: &Context,
        profile: &Profile,
    ) -> Vec<(usize, std::ops::Range<usize>)> {
        let scope = self.scope(ctx);
        let mut out = Vec::new();
        for (rule, def) in self.active_rules(profile) {
            if self.unavailable(def, None).is_some() {
                continue;
            }
            let findings = self.run_rule_memo(rule, doc, ctx, profile, scope);
            out.extend(findings.into_iter().map(|f| (rule, f.start..f.end)));
        }
        out
    }

    /// The findings (byte spans) of rule `id` alone, when it runs under `profile`.
    pub(crate) fn local_rule_findings(
        &self,
        id: &str,
        doc: &Doc,
        ctx: &Context,
        profile: &Profile,
    ) -> Vec<std::ops::Range<usize>> {
        let scope = self.scope(ctx);
        self.active_rules(profile)
            .filter(|(_, def)| def.id == id)
            .flat_map(|(rule, _)| self.run_rule_memo(rule, doc, ctx, profile, scope))
            .map(|f| f.start..f.end)
            .collect()
    }

    /// Every issue in `text`.
    pub fn check(&self, text: &str, ctx: &Context, embedder: Option<&dyn Embedder>) -> Result<CheckReport> {
        self.check_within(text, ctx, embedder, &Deadline::none())
    }

    /// [`StyleEngine::check`] that stops with [`Error::DeadlineExceeded`] once `deadline` has
    /// expired (looked at between rules).
    pub fn check_within(
        &self,
        text: &str,
        ctx: &Context,
        embedder: Option<&dyn Embedder>,
        deadline: &Deadline,
    ) -> Result<CheckReport> {
        Self::validate(text)?;
        self.check_any_length(text, ctx, embedder, deadline)
    }

    /// [`StyleEngine::check_within`] without the length limit (a rewrite may outgrow its draft).
    pub(crate) fn check_any_length(
        &self,
        text: &str,
        ctx: &Context,
        embedder: Option<&dyn Embedder>,
        deadline: &Deadline,
    ) -> Result<CheckReport> {
        let (tone, disabled) = match self.tone_embedding(text, embedder)? {
            Ok(tone) => (tone, Vec::new()),
            Err(why) => (None, vec![why]),
        };
        self.check_embedded(text, ctx, embedder, deadline, tone.as_deref(), disabled)
    }

    /// [`StyleEngine::check_any_length`] with the text's tone embedding already made.
    pub(crate) fn check_embedded(
        &self,
        text: &str,
        ctx: &Context,
        embedder: Option<&dyn Embedder>,
        deadline: &Deadline,
        tone_embedding: Option<&[f32]>,
        mut disabled: Vec<DisabledRule>,
    ) -> Result<CheckReport> {
        let profile = self.profile(ctx)?;
        let doc = self.segment(text, ctx);
        let scope = self.scope(ctx);
        let mut found = Vec::new();
        for (rule, def) in self.active_rules(profile) {
            deadline.check()?;
            if let Some(reason) = self.unavailable(def, embedder) {
                disabled.push(DisabledRule { rule: def.id.clone(), reason });
                continue;
            }
            let findings = if !def.needs.contains(&Need::Encoder) {
                self.run_rule_memo(rule, &doc, ctx, profile, scope)
            } else {
                let recording = embedder.map(Recording::new);
                let findings = self.run_rule(rule, &doc, ctx, profile, recording.as_ref().map(|r| r as &dyn Embedder));
                match recording.and_then(Recording::into_error) {
                    // An overloaded encoder is the caller's to retry, not a rule to drop.
                    Some(e @ Error::Busy(_)) => return Err(e),
                    Some(e) => {
                        disabled
                            .push(DisabledRule {
                                rule: def.id.clone(), reason: format!("кодировщик не ответил: {e}")
                            });
                        continue;
                    }
                    None => findings,
                }
            };
            found.extend(findings.into_iter().map(|finding| RuleFinding { rule, finding }));
        }
        let tone = self.tone_with_words(text, tone_embedding, &found);
        if let Some(finding) = self.tone_finding(text, profile, tone.as_ref(), &found) {
            found.push(finding);
        }
        undecorated(text, &mut found);
        match self.client_alarm(&doc, ctx, profile, embedder, &found) {
            Ok(finding) => found.extend(finding),
            Err(e @ Error::Busy(_)) => return Err(e),
            Err(e) => disabled.push(DisabledRule {
                rule: "rude-client".into(),
                reason: format!(
                    "Оценка тона клиента недоступна: кодировщик не ответил ({e}). Словари правила работают."
                ),
            }),
        }
        let issues = self.issues(text, profile, found);
        Ok(CheckReport { issues, disabled, profile: profile.name.clone(), tone })
    }

    /// The tone of `text` from its embedding, knowing whether A10's lists found rude words in it
    /// (a mild intensifier is not such a word).
    fn tone_with_words(&self, text: &str, embedding: Option<&[f32]>, found: &[RuleFinding]) -> Option<ToneScore> {
        let (model, embedding) = (self.tone.as_ref()?, embedding?);
        let rude_words =
            found.iter().any(|f| RULES[f.rule].0 == "no-rudeness" && f.finding.severity != Some(Severity::Warning));
        Some(model.score_with_words(text, embedding, rude_words))
    }

    /// A10's learned half: the toxicity head's alarm on a text in which A10's word lists found
    /// nothing, as an issue over the whole text.
    fn tone_finding(
        &self,
        text: &str,
        profile: &Profile,
        tone: Option<&ToneScore>,
        found: &[RuleFinding],
    ) -> Option<RuleFinding> {
        if !tone?.toxic || found.iter().any(|f| RULES[f.rule].0 == "no-rudeness") {
            return None;
        }
        self.tone_alarm(text, profile)
    }

    /// A9's learned half: the toxicity head's alarm on the client's latest message, when A9
    /// runs, its word lists found nothing there, and the encoder and the tone heads are here
    /// (the client's threats and contempt are phrased in as many ways as an operator's).
    fn client_alarm(
        &self,
        doc: &Doc,
        ctx: &Context,
        profile: &Profile,
        embedder: Option<&dyn Embedder>,
        found: &[RuleFinding],
    ) -> Result<Option<RuleFinding>> {
        let (Some(model), Some(embedder), Some(client)) = (&self.tone, embedder, ctx.latest_client_message()) else {
            return Ok(None);
        };
        let Some((rule, def)) = self.active_rules(profile).find(|(_, def)| def.id == "rude-client") else {
            return Ok(None);
        };
        if found.iter().any(|f| f.rule == rule) {
            return Ok(None);
        }
        let embedding = embedder.embed(&[client], crate::encoder::TextKind::Query)?;
        let toxic = embedding.first().is_some_and(|e| model.score_embedded(client, e).toxic);
        Ok(toxic.then(|| RuleFinding { rule, finding: rules::rudeness::client_finding(doc, def, profile) }))
    }

    /// A10's issue over the whole of `text` for the toxicity head's alarm (when A10 runs).
    pub(crate) fn tone_alarm(&self, text: &str, profile: &Profile) -> Option<RuleFinding> {
        let (rule, _) = self.active_rules(profile).find(|(_, def)| def.id == "no-rudeness")?;
        rules::rudeness::tone_finding(text).map(|finding| RuleFinding { rule, finding })
    }

    /// Turns findings into issues with character offsets and rendered messages, in text order.
    pub(crate) fn issues(&self, text: &str, profile: &Profile, mut found: Vec<RuleFinding>) -> Vec<Issue> {
        found.sort_by_key(|f| (f.finding.start, f.finding.end, f.rule));
        let chars = CharIndex::new(text);
        found
            .into_iter()
            .map(|RuleFinding { rule, finding }| {
                let def = self.catalog.get(RULES[rule].0).expect("checked at load");
                let found_text = text.get(finding.start..finding.end).unwrap_or("");
                let suggestion = finding.replacements.first().map(String::as_str);
                let message = match finding.message_key {
                    Some(key) => def.render_keyed(key, found_text, suggestion, &finding.args),
                    None => def.render(found_text, suggestion, &finding.args),
                };
                Issue {
                    rule: def.id.clone(),
                    code: def.code.clone(),
                    severity: finding.severity.unwrap_or_else(|| profile.severity(&def.id, def.severity)),
                    fix: def.fix,
                    start: chars.of(finding.start),
                    end: chars.of(finding.end),
                    message,
                    replacements: finding.replacements,
                }
            })
            .collect()
    }

    /// `text` with the automatic fixes of rule `rule` alone (the rule examples' `fixed` texts,
    /// and the formality evaluation of A1).
    pub fn fix_only(&self, text: &str, ctx: &Context, rule: &str) -> String {
        match self.profile(ctx) {
            Ok(profile) => rewrite::fix_only(self, text, ctx, profile, rule),
            Err(_) => text.to_string(),
        }
    }

    /// How many times `text` uses the client's given name (`ctx.client_name`), in any case:
    /// what B1 counts against its norm of 2–3 uses per dialogue.
    pub fn name_uses(&self, text: &str, ctx: &Context) -> usize {
        let Some(first) = ctx.client_name().and_then(|n| n.split_whitespace().next()) else { return 0 };
        rules::names::name_use_tokens(&self.segment(text, ctx), self.morph, first).len()
    }

    /// The questions of a client's message, as D2 (answer-all) finds them, trimmed.
    pub fn client_questions<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let def = self.catalog.get("answer-all").expect("checked at load");
        rules::content::client_questions(def, text).into_iter().map(str::trim).collect()
    }

    /// Rewrites `text` toward the house style; see [`rewrite`] for the guarantees.
    pub fn rewrite(&self, text: &str, ctx: &Context, embedder: Option<&dyn Embedder>) -> Result<Rewrite> {
        self.rewrite_within(text, ctx, embedder, &Deadline::none())
    }

    /// [`StyleEngine::rewrite`] that stops with [`Error::DeadlineExceeded`] once `deadline` has
    /// expired (looked at between rules, between rounds and inside the guards' loops).
    pub fn rewrite_within(
        &self,
        text: &str,
        ctx: &Context,
        embedder: Option<&dyn Embedder>,
        deadline: &Deadline,
    ) -> Result<Rewrite> {
        Self::validate(text)?;
        rewrite::run(self, text, ctx, embedder, deadline)
    }
}

/// An embedder that passes calls through and keeps the first error: rules degrade quietly when
/// the encoder fails (they return no finding), and the check still has to report it.
struct Recording<'a> {
    inner: &'a dyn Embedder,
    error: std::sync::Mutex<Option<Error>>,
}

impl<'a> Recording<'a> {
    fn new(inner: &'a dyn Embedder) -> Self {
        Recording { inner, error: std::sync::Mutex::new(None) }
    }

    fn into_error(self) -> Option<Error> {
        self.error.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

impl Embedder for Recording<'_> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn embed(&self, texts: &[&str], kind: crate::encoder::TextKind) -> Result<Vec<Vec<f32>>> {
        self.inner.embed(texts, kind).map_err(|e| self.keep(e))
    }
    fn embed_mixed(&self, items: &[(&str, crate::encoder::TextKind)]) -> Result<Vec<Vec<f32>>> {
        self.inner.embed_mixed(items).map_err(|e| self.keep(e))
    }
}

impl Recording<'_> {
    /// Keeps the first error for the check and gives the rule a copy.
    fn keep(&self, e: Error) -> Error {
        let copy = match &e {
            Error::Busy(m) => Error::Busy(m.clone()),
            other => Error::Encoder(other.to_string()),
        };
        let mut first = self.error.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(e);
        copy
    }
}

/// Whose findings a memo entry holds: one engine, one request context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct MemoScope {
    engine: u64,
    request: u64,
}

/// Byte offset → character offset, for reporting spans in Unicode scalar values.
pub(crate) struct CharIndex {
    starts: Vec<usize>,
}

impl CharIndex {
    /// Indexes `text`.
    pub(crate) fn new(text: &str) -> CharIndex {
        CharIndex { starts: text.char_indices().map(|(b, _)| b).collect() }
    }

    /// The character offset of byte offset `byte` (a char boundary, or the text length).
    pub(crate) fn of(&self, byte: usize) -> usize {
        self.starts.partition_point(|&b| b < byte)
    }
}

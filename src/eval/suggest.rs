//! The suggest dev set (`eval/sets/suggest-dev.jsonl`): client messages labelled with the
//! template ids of the default pack that answer them (none: the engine should abstain).
//!
//! [`run`] measures R@1, R@3, MRR and abstention for the plain e5 bi-encoder and for sufler's
//! ranking in the settings the product goes through: cold start (no examples, no clicks), with
//! half of the set imported as clicks (evaluated on the other half, both ways round), and warm
//! (examples and clicks).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::input::{read_jsonl, Loaded};
use crate::encoder::{Embedder, TextKind};
use crate::error::{Error, Result};
use crate::rank::{AbstainReason, CachedEmbedder, Library, Signals, SuggestRequest, Turn, Weights};
use crate::report::{CaseView, NamedPoints, Section};
use crate::templates::store::{Calibration, Feedback};
use crate::templates::Template;

/// One labelled client message.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique id.
    pub id: String,
    /// The client's message.
    pub text: String,
    /// Template ids that answer it, best first; empty: nothing in the library does.
    pub labels: Vec<String>,
    /// formal, colloquial, typos, no-punct, two-topics, rude, …
    #[serde(default)]
    pub register: String,
    /// Earlier turns.
    #[serde(default)]
    pub dialogue: Vec<Turn>,
    /// The client's name.
    #[serde(default)]
    pub client_name: Option<String>,
    /// Why no template fits an out-of-scope message (job, other-company, chit-chat, …).
    #[serde(default)]
    pub category: Option<String>,
}

impl Case {
    fn request(&self) -> SuggestRequest {
        SuggestRequest {
            text: self.text.clone(),
            dialogue: self.dialogue.clone(),
            client_name: self.client_name.clone(),
            ..SuggestRequest::default()
        }
    }
}

/// Reads a dev set, one case per line; a line that does not parse, repeats an id, has an
/// unusable text or a label that is not a template of `templates` is left out with a warning.
pub fn load(path: &Path, templates: &[Template]) -> Result<Loaded<Case>> {
    let known: std::collections::HashSet<&str> = templates.iter().map(|t| t.id.as_str()).collect();
    read_jsonl(
        path,
        |c: &Case| &c.id,
        |c| {
            crate::encoder::check_text(&c.text).map_err(|why| format!("текст не подходит: {why}"))?;
            match c.labels.iter().find(|l| !known.contains(l.as_str())) {
                Some(label) => Err(format!("шаблона {label:?} нет в библиотеке")),
                None => Ok(()),
            }
        },
    )
}

/// Ranking quality of one setting.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Share of labelled messages whose top template is a right one.
    pub r1: f64,
    /// … among the top three.
    pub r3: f64,
    /// Mean reciprocal rank of the first right template.
    pub mrr: f64,
    /// Labelled messages.
    pub labelled: usize,
    /// Messages the engine abstained on.
    pub abstained: usize,
    /// Of the abstentions, the share on messages with no right template (None: no abstention).
    pub abstain_precision: Option<f64>,
    /// Of the messages with no right template, the share abstained on.
    pub abstain_recall: Option<f64>,
    /// Of the messages with a right template, the share abstained on (None: none labelled).
    pub abstain_false_rate: Option<f64>,
    /// Abstention at every threshold: (share of labelled messages abstained on, share of
    /// messages with no right template abstained on), from abstaining on nothing to on all.
    pub abstain_curve: Vec<(f64, f64)>,
    /// The best abstention recall at most 2 % of labelled messages abstained on, and the
    /// threshold that gives it (None without both kinds of message).
    pub abstain_recall_at_2pct: Option<(f64, f32)>,
    /// Abstention (recall, false rate) with a threshold calibrated on the other half of the
    /// messages for at most 2 % false abstentions, both halves in turn (None: too few of a kind).
    pub abstain_calibrated: Option<(f64, f64)>,
    /// R@k for k = 1..=10.
    pub recall_at: Vec<f64>,
}

/// One case's outcome in one setting.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Case id.
    pub id: String,
    /// 1-based rank of the first right template (None: unlabelled).
    pub rank: Option<usize>,
    /// The top template.
    pub top: String,
    /// Whether the engine abstained.
    pub abstain: bool,
    /// How well the best template fits ([`Library::fit`]); None when the message's language
    /// or topic rules out every template, whatever the scores.
    pub fit: Option<f32>,
    /// Time to rank the templates for the message, ms.
    pub millis: f64,
}

/// Everything `sufler eval suggest` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Approved templates in the library.
    pub templates: usize,
    /// Cases in the set.
    pub cases: usize,
    /// Plain e5: `query:` message vs `passage:` title + text.
    pub baseline: Metrics,
    /// sufler without examples and clicks.
    pub cold: Metrics,
    /// Cold, and the library reduced to id, title and text (no tags): a bare JSONL import.
    pub cold_bare: Metrics,
    /// Cold plus half the set as clicks, measured on the other half (both ways).
    pub half_feedback: Metrics,
    /// Examples plus half the set as clicks, measured on the other half (both ways).
    pub warm: Metrics,
    /// R@1 per register in the cold setting.
    pub cold_by_register: Vec<(String, f64, usize)>,
    /// Per-case outcomes of the cold setting (for `-v`).
    pub cold_outcomes: Vec<Outcome>,
}

impl Report {
    /// The shared report form: the headline metrics of the cold start (what a new library gets)
    /// beside the baseline and the settings with clicks and examples, R@k curves, the ranking
    /// time per message and the cold-start misses.
    pub fn to_report(&self, input: &str, cases: &[Case]) -> crate::report::Report {
        let mut r = crate::report::Report::new("eval-suggest", "Подсказки шаблонов: качество ранжирования", input);
        let settings = [
            ("", "sufler, холодный старт", &self.cold),
            ("baseline_", "e5 без доработок", &self.baseline),
            ("clicks_", "sufler + клики половины набора", &self.half_feedback),
            ("warm_", "sufler + примеры и клики", &self.warm),
        ];
        for (prefix, name, m) in settings {
            r.push_metric(&format!("{prefix}r@1"), &format!("R@1, {name}"), m.r1, true);
            r.push_metric(&format!("{prefix}r@3"), &format!("R@3, {name}"), m.r3, true);
            r.push_metric(&format!("{prefix}mrr"), &format!("MRR, {name}"), m.mrr, true);
        }
        r.push_metric("cases", "сообщений в наборе", self.cases as f64, true);
        if let Some(p) = self.cold.abstain_precision {
            r.push_metric("abstain_precision", "точность отказа от подсказки", p, true);
        }
        if let Some(recall) = self.cold.abstain_recall {
            r.push_metric("abstain_recall", "доля сообщений без подходящего шаблона, где подсказки нет", recall, true);
        }
        if let Some(rate) = self.cold.abstain_false_rate {
            r.push_metric("abstain_false_rate", "доля сообщений с верным шаблоном, где подсказки нет", rate, false);
        }
        for (prefix, name, m) in [("", "холодный старт", &self.cold), ("warm_", "с примерами и кликами", &self.warm)]
        {
            if let Some((recall, threshold)) = m.abstain_recall_at_2pct {
                r.push_metric(
                    &format!("{prefix}abstain_recall@2%"),
                    &format!("лучшая доля отказов без подходящего шаблона при ≤ 2 % отказов с шаблоном ({name}, порог {threshold:.3})"),
                    recall,
                    true,
                );
            }
        }
        if let Some((recall, false_rate)) = self.cold.abstain_calibrated {
            r.push_metric(
                "calibrated_abstain_recall",
                "доля отказов без подходящего шаблона с порогом, подобранным на другой половине набора (≤ 2 %)",
                recall,
                true,
            );
            r.push_metric(
                "calibrated_abstain_false_rate",
                "доля отказов с верным шаблоном с порогом, подобранным на другой половине набора",
                false_rate,
                false,
            );
        }
        r.sections.push(Section::Curve {
            title: "Доля сообщений с верным шаблоном среди первых k (R@k)".into(),
            x_label: "k".into(),
            y_label: "R@k".into(),
            series: settings
                .iter()
                .map(|(_, name, m)| NamedPoints {
                    name: name.to_string(),
                    points: m.recall_at.iter().enumerate().map(|(k, v)| ((k + 1) as f64, *v)).collect(),
                })
                .collect(),
        });
        if !self.cold.abstain_curve.is_empty() {
            r.sections.push(Section::Curve {
                title: "Отказ от подсказки по порогу: сообщения без шаблона против сообщений с шаблоном".into(),
                x_label: "доля отказов на сообщениях с верным шаблоном".into(),
                y_label: "доля отказов на сообщениях без шаблона".into(),
                series: [("холодный старт", &self.cold), ("с примерами и кликами", &self.warm)]
                    .into_iter()
                    .map(|(name, m)| NamedPoints { name: name.into(), points: m.abstain_curve.clone() })
                    .collect(),
            });
        }
        r.sections.push(Section::Histogram {
            title: "Время ранжирования одного сообщения (холодный старт)".into(),
            x_label: "мс".into(),
            values: self.cold_outcomes.iter().map(|o| o.millis).collect(),
            bins: 20,
        });
        r.sections.push(Section::Cases {
            title: "Промахи холодного старта".into(),
            cases: self
                .cold_outcomes
                .iter()
                .zip(cases)
                .filter(|(o, _)| o.rank.is_some_and(|rank| rank > 1))
                .map(|(o, case)| CaseView {
                    id: o.id.clone(),
                    summary: match o.rank {
                        Some(usize::MAX) | None => "верного шаблона нет в выдаче".into(),
                        Some(rank) => format!("верный шаблон на {rank}-м месте"),
                    },
                    before: case.text.clone(),
                    after: None,
                    notes: vec![format!("первым предложен {}", o.top), format!("верные: {}", case.labels.join(", "))],
                })
                .collect(),
        });
        r
    }
}

/// Embeds every distinct text once per run: the settings share most queries and passages.
struct Memo<'a> {
    inner: &'a dyn Embedder,
    seen: Mutex<HashMap<(bool, String), Vec<f32>>>,
}

impl Embedder for Memo<'_> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn embed(&self, texts: &[&str], kind: TextKind) -> Result<Vec<Vec<f32>>> {
        let passage = kind == TextKind::Passage;
        let todo: Vec<&str> = {
            let seen = self.seen.lock().expect("memo lock");
            let mut todo: Vec<&str> =
                texts.iter().copied().filter(|t| !seen.contains_key(&(passage, t.to_string()))).collect();
            todo.sort_unstable();
            todo.dedup();
            todo
        };
        if !todo.is_empty() {
            let vectors = self.inner.embed(&todo, kind)?;
            let mut seen = self.seen.lock().expect("memo lock");
            for (t, v) in todo.into_iter().zip(vectors) {
                seen.insert((passage, t.to_string()), v);
            }
        }
        let seen = self.seen.lock().expect("memo lock");
        Ok(texts.iter().map(|t| seen[&(passage, t.to_string())].clone()).collect())
    }
}

/// Ranks every case with `library`; outcome per case.
fn outcomes(library: &Library, cases: &[&Case], embedder: &dyn Embedder) -> Result<Vec<Outcome>> {
    let ids: Vec<&str> = library.templates().iter().map(|t| t.id.as_str()).collect();
    cases
        .iter()
        .map(|case| {
            let started = std::time::Instant::now();
            let request = case.request();
            let explained = library.explain(&request, embedder)?;
            let order = library.rank(&explained);
            let abstention = library.abstention(&request, &explained);
            let rank = if case.labels.is_empty() {
                None
            } else {
                Some(
                    order
                        .iter()
                        .position(|(i, _)| case.labels.iter().any(|l| l == ids[*i]))
                        .map_or(usize::MAX, |p| p + 1),
                )
            };
            Ok(Outcome {
                id: case.id.clone(),
                rank,
                top: ids[order[0].0].to_string(),
                abstain: abstention.is_some(),
                fit: abstention.is_none_or(|a| a.reason == AbstainReason::NothingFits).then(|| library.fit(&explained)),
                millis: started.elapsed().as_secs_f64() * 1e3,
            })
        })
        .collect()
}

fn metrics(outcomes: &[Outcome]) -> Metrics {
    let labelled: Vec<usize> = outcomes.iter().filter_map(|o| o.rank).collect();
    let n = labelled.len().max(1) as f64;
    let abstained = outcomes.iter().filter(|o| o.abstain).count();
    let right_abstentions = outcomes.iter().filter(|o| o.abstain && o.rank.is_none()).count();
    let unlabelled = outcomes.iter().filter(|o| o.rank.is_none()).count();
    Metrics {
        r1: labelled.iter().filter(|&&r| r == 1).count() as f64 / n,
        r3: labelled.iter().filter(|&&r| r <= 3).count() as f64 / n,
        mrr: labelled.iter().map(|&r| if r == usize::MAX { 0.0 } else { 1.0 / r as f64 }).sum::<f64>() / n,
        labelled: labelled.len(),
        abstained,
        abstain_precision: (abstained > 0).then(|| right_abstentions as f64 / abstained as f64),
        abstain_recall: (unlabelled > 0).then(|| right_abstentions as f64 / unlabelled as f64),
        abstain_false_rate: (!labelled.is_empty()).then(|| (abstained - right_abstentions) as f64 / n),
        abstain_curve: abstain_curve(outcomes),
        abstain_recall_at_2pct: abstain_recall_at(outcomes, 0.02),
        abstain_calibrated: cross_calibrated(outcomes, Target { max_false_rate: 0.02, min_precision: None }),
        recall_at: (1..=10).map(|k| labelled.iter().filter(|&&r| r <= k).count() as f64 / n).collect(),
    }
}

/// Abstention by threshold: a message is abstained on when its fit is below the threshold (or
/// its language or topic rules every template out); one point per distinct fit, lowest
/// threshold first.
fn abstain_points(outcomes: &[Outcome]) -> Vec<(f32, f64, f64)> {
    let labelled = outcomes.iter().filter(|o| o.rank.is_some()).count();
    let unlabelled = outcomes.len() - labelled;
    if labelled == 0 || unlabelled == 0 {
        return Vec::new();
    }
    let mut thresholds: Vec<f32> = outcomes.iter().filter_map(|o| o.fit).collect();
    thresholds.push(f32::MIN);
    thresholds.push(f32::INFINITY);
    thresholds.sort_by(f32::total_cmp);
    thresholds.dedup();
    thresholds
        .into_iter()
        .map(|t| {
            let (right, wrong, _) = abstention_at(outcomes, t);
            (t, wrong, right)
        })
        .collect()
}

fn abstain_curve(outcomes: &[Outcome]) -> Vec<(f64, f64)> {
    abstain_points(outcomes).into_iter().map(|(_, wrong, right)| (wrong, right)).collect()
}

/// The best abstention recall with at most `false_rate` of labelled messages abstained on, and
/// its threshold.
fn abstain_recall_at(outcomes: &[Outcome], false_rate: f64) -> Option<(f64, f32)> {
    abstain_points(outcomes)
        .into_iter()
        .filter(|(_, wrong, _)| *wrong <= false_rate)
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .map(|(t, _, right)| (right, t))
}

/// What a library's abstention threshold must hold to on its labelled messages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// Most share of messages with a right template that may be abstained on (0 < x < 1).
    pub max_false_rate: f64,
    /// Least share of abstentions that must be on messages no template answers.
    pub min_precision: Option<f64>,
}

/// Fewest calibration messages of each kind (with a right template, with none) accepted: fewer
/// say too little about where the library's fits fall.
pub const CALIBRATION_MIN: usize = 20;

/// Chooses `library`'s own abstention threshold on `cases` (labelled for its templates; empty
/// labels: no template answers the message): the highest share of unanswerable messages
/// abstained on within `target`. Of the thresholds that give it, the one midway between the
/// highest fit abstained on and the next one up, so that new messages near either edge are
/// treated as the set's were.
pub fn calibrate(library: &Library, cases: &[Case], embedder: &dyn Embedder, target: Target) -> Result<Calibration> {
    if !(target.max_false_rate > 0.0 && target.max_false_rate < 1.0) {
        return Err(Error::InvalidInput(format!(
            "the false-abstention rate must be between 0 and 1 (exclusive), not {}",
            target.max_false_rate
        )));
    }
    if let Some(p) = target.min_precision.filter(|p| !(0.0..=1.0).contains(p)) {
        return Err(Error::InvalidInput(format!("the precision must be between 0 and 1, not {p}")));
    }
    let in_scope = cases.iter().filter(|c| !c.labels.is_empty()).count();
    let out_of_scope = cases.len() - in_scope;
    if in_scope < CALIBRATION_MIN || out_of_scope < CALIBRATION_MIN {
        return Err(Error::InvalidInput(format!(
            "calibration needs at least {CALIBRATION_MIN} messages with a right template and {CALIBRATION_MIN} \
             that no template answers (empty labels); the file has {in_scope} and {out_of_scope}"
        )));
    }
    let all: Vec<&Case> = cases.iter().collect();
    let outcomes = outcomes(library, &all, embedder)?;
    let abstain_below = threshold_for(&outcomes, target)?;
    let (recall, false_rate, precision) = abstention_at(&outcomes, abstain_below);
    Ok(Calibration {
        model: embedder.model_id().to_string(),
        abstain_below,
        max_false_rate: target.max_false_rate,
        min_precision: target.min_precision,
        recall,
        false_rate,
        precision,
        in_scope,
        out_of_scope,
    })
}

/// The threshold [`calibrate`] chooses for `outcomes`.
fn threshold_for(outcomes: &[Outcome], target: Target) -> Result<f32> {
    let feasible = |t: f32| {
        let (_, false_rate, precision) = abstention_at(outcomes, t);
        false_rate <= target.max_false_rate && target.min_precision.is_none_or(|p| precision.is_some_and(|q| q >= p))
    };
    let points = abstain_points(outcomes);
    let floor = points.first().map_or(0.0, |p| p.2);
    let Some(best) = points.iter().filter(|p| feasible(p.0)).map(|p| p.2).reduce(f64::max).filter(|&b| b > floor)
    else {
        return Err(Error::InvalidInput(format!(
            "no threshold abstains on a message that no template answers while keeping to the target \
             (at most {:.1} % of messages with a right template abstained on{}); the set's fits do not \
             separate the two kinds well enough for it",
            100.0 * target.max_false_rate,
            target.min_precision.map_or(String::new(), |p| format!(", precision at least {p:.2}"))
        )));
    };
    let upper = points.iter().find(|p| p.2 == best && feasible(p.0)).expect("the best point").0;
    let lower = outcomes.iter().filter_map(|o| o.fit).filter(|&f| f < upper).fold(f32::MIN, f32::max);
    Ok(if upper.is_finite() { (lower + upper) / 2.0 } else { lower + 0.01 })
}

/// Abstention on `outcomes` at threshold `t`: the share of messages no template answers
/// abstained on, the share of those with a right template abstained on, and the share of
/// abstentions that were right (None: none).
fn abstention_at(outcomes: &[Outcome], t: f32) -> (f64, f64, Option<f64>) {
    let below = |o: &&Outcome| o.fit.is_none_or(|f| f < t);
    let count = |answered: bool| outcomes.iter().filter(|o| o.rank.is_some() == answered).filter(below).count();
    let kinds = |answered: bool| outcomes.iter().filter(|o| o.rank.is_some() == answered).count().max(1) as f64;
    let (right, wrong) = (count(false), count(true));
    (
        right as f64 / kinds(false),
        wrong as f64 / kinds(true),
        (right + wrong > 0).then(|| right as f64 / (right + wrong) as f64),
    )
}

/// Abstention of a library calibrated on half of `outcomes` and measured on the other half,
/// both ways round (recall, false rate): how a threshold chosen on a library's own messages
/// holds on its next ones. None when a half has too few messages of a kind.
fn cross_calibrated(outcomes: &[Outcome], target: Target) -> Option<(f64, f64)> {
    let half = |parity: usize| -> Vec<Outcome> {
        outcomes.iter().enumerate().filter(|(i, _)| i % 2 == parity).map(|(_, o)| o.clone()).collect()
    };
    let (even, odd) = (half(0), half(1));
    let enough = |half: &[Outcome]| {
        let answered = half.iter().filter(|o| o.rank.is_some()).count();
        answered >= CALIBRATION_MIN && half.len() - answered >= CALIBRATION_MIN
    };
    if !enough(&even) || !enough(&odd) {
        return None;
    }
    let mut tested = Vec::new();
    for (train, test) in [(&even, &odd), (&odd, &even)] {
        let t = threshold_for(train, target).ok()?;
        tested.extend(test.iter().map(|o| Outcome { fit: o.fit.map(|f| f - t), ..o.clone() }));
    }
    let (recall, false_rate, _) = abstention_at(&tested, 0.0);
    Some((recall, false_rate))
}

/// The clicks an operator would have made on `cases`: each labelled message → its first label.
fn clicks(cases: &[&Case]) -> Vec<Feedback> {
    cases
        .iter()
        .filter_map(|c| {
            c.labels.first().map(|l| Feedback {
                text: c.text.clone(),
                chosen_id: l.clone(),
                edited: false,
                suggestion_id: None,
            })
        })
        .collect()
}

/// Runs every setting over `cases` with the library `templates`.
pub fn run(templates: &[Template], cases: &[Case], embedder: &dyn Embedder, weights: Weights) -> Result<Report> {
    let known: std::collections::HashSet<&str> = templates.iter().map(|t| t.id.as_str()).collect();
    if let Some((case, label)) =
        cases.iter().find_map(|c| c.labels.iter().find(|l| !known.contains(l.as_str())).map(|l| (c, l)))
    {
        return Err(Error::InvalidInput(format!("case {}: label {label:?} is not a template of the library", case.id)));
    }
    let memo = Memo { inner: embedder, seen: Mutex::new(HashMap::new()) };
    let all: Vec<&Case> = cases.iter().collect();
    let without_examples: Vec<Template> =
        templates.iter().cloned().map(|t| Template { examples: vec![], ..t }).collect();
    let bare: Vec<Template> =
        without_examples.iter().cloned().map(|t| Template { tags: vec![], category: String::new(), ..t }).collect();
    let build = |templates: &[Template], feedback: &[Feedback], signals: Signals| {
        Library::build(
            templates.to_vec(),
            feedback,
            &mut CachedEmbedder::new(&memo, None),
            signals,
            weights,
            &mut |_, _| (),
        )
    };
    let run_on = |library: &Library, cases: &[&Case]| outcomes(library, cases, &memo);

    let baseline = metrics(&run_on(&build(&without_examples, &[], Signals::BASELINE)?, &all)?);
    let cold_outcomes = run_on(&build(&without_examples, &[], Signals::COLD)?, &all)?;
    let cold_bare = metrics(&run_on(&build(&bare, &[], Signals::COLD)?, &all)?);

    // Two folds: clicks from one half, measured on the other, then the other way round.
    let (even, odd): (Vec<_>, Vec<_>) = all.iter().copied().enumerate().partition(|(i, _)| i % 2 == 0);
    let even: Vec<&Case> = even.into_iter().map(|(_, c)| c).collect();
    let odd: Vec<&Case> = odd.into_iter().map(|(_, c)| c).collect();
    let with_feedback = Signals { feedback: true, ..Signals::COLD };
    let mut half = Vec::new();
    let mut warm = Vec::new();
    for (train, test) in [(&even, &odd), (&odd, &even)] {
        let feedback = clicks(train);
        half.extend(run_on(&build(&without_examples, &feedback, with_feedback)?, test)?);
        warm.extend(run_on(&build(templates, &feedback, Signals::ALL)?, test)?);
    }

    let mut registers: Vec<String> = cases.iter().map(|c| c.register.clone()).collect();
    registers.sort();
    registers.dedup();
    let cold_by_register = registers
        .into_iter()
        .map(|r| {
            let subset: Vec<Outcome> =
                cold_outcomes.iter().zip(cases).filter(|(_, c)| c.register == r).map(|(o, _)| o.clone()).collect();
            let m = metrics(&subset);
            (r, m.r1, m.labelled)
        })
        .collect();
    Ok(Report {
        templates: templates.len(),
        cases: cases.len(),
        baseline,
        cold: metrics(&cold_outcomes),
        cold_bare,
        half_feedback: metrics(&half),
        warm: metrics(&warm),
        cold_by_register,
        cold_outcomes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outcomes with the given fits: answerable ones (ranked first) and unanswerable ones.
    fn outcomes(answerable: &[f32], unanswerable: &[f32]) -> Vec<Outcome> {
        let outcome = |i: usize, fit: f32, rank: Option<usize>| Outcome {
            id: i.to_string(),
            rank,
            top: String::new(),
            abstain: false,
            fit: Some(fit),
            millis: 0.0,
        };
        let mut all: Vec<Outcome> = answerable.iter().enumerate().map(|(i, &f)| outcome(i, f, Some(1))).collect();
        all.extend(unanswerable.iter().enumerate().map(|(i, &f)| outcome(1000 + i, f, None)));
        all
    }

    fn spread(from: f32, step: f32, n: usize) -> Vec<f32> {
        (0..n).map(|i| from + step * i as f32).collect()
    }

    const TWO_PCT: Target = Target { max_false_rate: 0.02, min_precision: None };

    #[test]
    fn the_threshold_lies_midway_in_the_gap_that_keeps_to_the_target() {
        // 60 answerable fits 0.85..; 40 unanswerable 0.60.. up to 0.795.
        let set = outcomes(&spread(0.85, 0.002, 60), &spread(0.60, 0.005, 40));
        let t = threshold_for(&set, TWO_PCT).unwrap();
        assert!((t - (0.795 + 0.85) / 2.0).abs() < 1e-4, "{t}");
        assert_eq!(abstention_at(&set, t), (1.0, 0.0, Some(1.0)));
    }

    #[test]
    fn one_answerable_message_among_the_unanswerable_ones_is_given_up_only_within_the_target() {
        // An answerable message at 0.70 sits among the unanswerable ones: with 60 answerable
        // messages, abstaining on it is 1.7 % (allowed at 2 %, not at 1 %).
        let mut answerable = spread(0.85, 0.002, 59);
        answerable.push(0.70);
        let set = outcomes(&answerable, &spread(0.60, 0.005, 40));
        let t = threshold_for(&set, TWO_PCT).unwrap();
        assert!(t > 0.795 && t < 0.85, "{t}");
        let strict = threshold_for(&set, Target { max_false_rate: 0.01, min_precision: None }).unwrap();
        assert!(strict > 0.695 && strict < 0.70, "{strict}");
        let (recall, false_rate, _) = abstention_at(&set, strict);
        assert_eq!((recall, false_rate), (20.0 / 40.0, 0.0));
        // Precision rules out thresholds that abstain mostly on answerable messages.
        let precise = Target { max_false_rate: 0.5, min_precision: Some(0.99) };
        assert!(abstention_at(&set, threshold_for(&set, precise).unwrap()).2.unwrap() >= 0.99);
    }

    #[test]
    fn a_target_no_threshold_meets_is_an_error() {
        // Every unanswerable message fits better than every answerable one.
        let set = outcomes(&spread(0.60, 0.001, 50), &spread(0.90, 0.001, 30));
        let err = threshold_for(&set, TWO_PCT).unwrap_err().to_string();
        assert!(err.contains("no threshold"), "{err}");
    }

    #[test]
    fn a_threshold_chosen_on_one_half_is_measured_on_the_other() {
        let set = outcomes(&spread(0.85, 0.001, 80), &spread(0.60, 0.004, 60));
        assert_eq!(cross_calibrated(&set, TWO_PCT), Some((1.0, 0.0)));
        // Too few of a kind in a half: no figure rather than a noisy one.
        assert_eq!(cross_calibrated(&outcomes(&spread(0.85, 0.001, 80), &spread(0.6, 0.01, 30)), TWO_PCT), None);
    }
}

//! What an audit counts, per operator; the overall figures are the operators' sums. Every
//! counter is fixed in size whatever the log's length: durations go into HDR histograms
//! (two significant digits), not lists.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::tone::ToneLabel;

/// Longest duration told apart (30 days); longer ones count as 30 days.
const MAX_SECS: u64 = 30 * 86_400;

/// A distribution of durations in seconds.
#[derive(Clone, Debug)]
pub struct Durations(Histogram<u64>);

impl Default for Durations {
    fn default() -> Self {
        Durations(Histogram::new_with_max(MAX_SECS, 2).expect("valid histogram bounds"))
    }
}

impl Durations {
    /// Adds one duration.
    pub fn record(&mut self, secs: u64) {
        self.0.saturating_record(secs.min(MAX_SECS));
    }

    /// How many were recorded.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The `q` quantile (0–1) in seconds, if any were recorded.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        (self.count() > 0).then(|| self.0.value_at_quantile(q))
    }

    /// How many took longer than `secs`.
    pub fn over(&self, secs: u64) -> u64 {
        if secs >= MAX_SECS {
            return 0;
        }
        self.count() - self.0.count_between(0, secs)
    }

    /// How many fall in `[from, to)` seconds.
    pub fn between(&self, from: u64, to: u64) -> u64 {
        let below = |s: u64| if s == 0 { 0 } else { self.0.count_between(0, s - 1) };
        below(to.min(MAX_SECS + 1)) - below(from.min(MAX_SECS + 1))
    }

    /// Adds another distribution.
    pub fn merge(&mut self, other: &Durations) {
        self.0.add(&other.0).expect("same bounds");
    }
}

/// Name use over whole dialogues where the client's name was known (B1: 2–3 times).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NameUsage {
    /// Dialogues by uses: 0, 1, 2, 3, 4, 5 or more.
    pub dialogues_by_uses: [u64; 6],
}

impl NameUsage {
    /// Dialogues counted.
    pub fn dialogues(&self) -> u64 {
        self.dialogues_by_uses.iter().sum()
    }

    /// Dialogues within the norm (2–3 uses).
    pub fn in_norm(&self) -> u64 {
        self.dialogues_by_uses[2] + self.dialogues_by_uses[3]
    }

    /// Adds one dialogue.
    pub fn record(&mut self, uses: u64) {
        self.dialogues_by_uses[uses.min(5) as usize] += 1;
    }

    fn merge(&mut self, other: &NameUsage) {
        for (a, b) in self.dialogues_by_uses.iter_mut().zip(other.dialogues_by_uses) {
            *a += b;
        }
    }
}

/// Everything counted for one operator (or, summed, for the whole log).
#[derive(Clone, Debug, Default)]
pub struct OperatorStats {
    /// Messages written.
    pub messages: u64,
    /// Messages that could not be checked (too long for the engine).
    pub unchecked: u64,
    /// Dialogues this operator led (wrote most of the operator's messages in).
    pub dialogues: u64,
    /// Issues found, by rule id.
    pub issues_by_rule: BTreeMap<String, u64>,
    /// Issues of severity error.
    pub errors: u64,
    /// Issues of severity warning.
    pub warnings: u64,
    /// Name use per led dialogue.
    pub names: NameUsage,
    /// First replies: from the client's first message to the operator's first answer.
    pub first_reply: Durations,
    /// Every reply: from the first client message waiting for an answer to the answer.
    pub reply: Durations,
    /// Questions the clients asked that this operator was to answer.
    pub questions: u64,
    /// Of them, questions left unanswered: the reply did not address them (D2) or no reply came.
    pub unanswered: u64,
    /// Messages by tone label, in the order of [`ToneLabel::ALL`].
    pub tone: [u64; 4],
    /// Sum of the politeness scores of the scored messages.
    pub politeness_sum: f64,
}

impl OperatorStats {
    /// Messages with a tone.
    pub fn tone_scored(&self) -> u64 {
        self.tone.iter().sum()
    }

    /// Counts a message's tone.
    pub fn record_tone(&mut self, label: ToneLabel, politeness: f32) {
        let i = ToneLabel::ALL.iter().position(|l| *l == label).expect("a label of ALL");
        self.tone[i] += 1;
        self.politeness_sum += f64::from(politeness);
    }

    /// Messages that were checked.
    pub fn checked(&self) -> u64 {
        self.messages - self.unchecked
    }

    /// Adds another operator's counts.
    pub fn merge(&mut self, other: &OperatorStats) {
        self.messages += other.messages;
        self.unchecked += other.unchecked;
        self.dialogues += other.dialogues;
        for (rule, n) in &other.issues_by_rule {
            *self.issues_by_rule.entry(rule.clone()).or_default() += n;
        }
        self.errors += other.errors;
        self.warnings += other.warnings;
        self.names.merge(&other.names);
        self.first_reply.merge(&other.first_reply);
        self.reply.merge(&other.reply);
        self.questions += other.questions;
        self.unanswered += other.unanswered;
        for (a, b) in self.tone.iter_mut().zip(other.tone) {
            *a += b;
        }
        self.politeness_sum += other.politeness_sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_count_quantiles_and_ranges() {
        let mut d = Durations::default();
        for s in [5, 30, 59, 60, 61, 600, 7200] {
            d.record(s);
        }
        assert_eq!(d.count(), 7);
        assert_eq!(d.over(60), 3);
        assert_eq!(d.between(0, 60), 3);
        assert_eq!(d.between(60, 300), 2);
        assert_eq!(d.quantile(0.5), Some(60));
        let mut total = Durations::default();
        total.merge(&d);
        total.record(MAX_SECS * 4);
        assert_eq!(total.count(), 8);
        assert_eq!(total.over(7200), 1);
        assert_eq!(Durations::default().quantile(0.5), None);
    }

    #[test]
    fn name_norm_is_two_or_three_uses() {
        let mut n = NameUsage::default();
        for uses in [0, 1, 2, 3, 4, 9] {
            n.record(uses);
        }
        assert_eq!((n.dialogues(), n.in_norm()), (6, 2));
        assert_eq!(n.dialogues_by_uses, [1, 1, 1, 1, 1, 1]);
    }
}

//! A10 and A9: rude language in the operator's draft, and a rude client. Both read the same
//! detector ([`crate::text::rude`]).

use super::{inflected_swap, polite_case, removal, whole, Finding, Input};
use crate::style::catalog::{RuleDef, Severity};
use crate::style::context::Profile;
use crate::text::rude::{MildFix, RudeKind};
use crate::text::segment::Doc;
use crate::text::words::match_case;

/// A10: no obscene words, insults, threats or contempt. Only a mild intensifier has a safe edit
/// (deleted, or put in neutral words); anything else is reported, and the rewrite refuses the
/// whole draft (see `rewrite::run`): decorating it with softeners would only make it worse.
pub(crate) fn no_rudeness(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    for span in inp.lex.rude.find(doc, inp.morph) {
        let finding = match (&span.fix, doc.tokens_spanning(span.start, span.end)) {
            (Some(MildFix::Delete), Some((first, last))) => {
                Finding::fix_with(span.start, span.end, "", removal(doc, first, last))
            }
            (Some(MildFix::Replace(word)), Some((first, last))) => {
                let form = if first != last {
                    Some(word.clone())
                } else if governs_object(inp, first) {
                    None // «задолбал всех» is no «надоел всех»: the government differs
                } else {
                    inflected_swap(inp.morph, doc, first, word)
                };
                match form {
                    Some(form) => {
                        Finding::fix(span.start, span.end, match_case(&doc.text[span.start..span.end], &form))
                    }
                    None => Finding::flag(span.start, span.end),
                }
            }
            _ => Finding::flag(span.start, span.end),
        };
        let finding = finding.message(message_key(span.kind));
        out.push(if span.kind == RudeKind::Mild { finding.severity(Severity::Warning) } else { finding });
    }
}

/// A10 for a text the tone model's toxicity head alarms on (see `StyleEngine::tone_finding`):
/// the whole text, trimmed, reported with no edit. `None` for a blank text.
pub(crate) fn tone_finding(text: &str) -> Option<Finding> {
    let start = text.len() - text.trim_start().len();
    let end = text.trim_end().len();
    (start < end).then(|| Finding::flag(start, end).message("message_tone"))
}

/// Whether a word next to verb `i` may be its object (a noun or pronoun that can be accusative):
/// a replacement verb may govern another case.
fn governs_object(inp: &Input, i: usize) -> bool {
    let doc = inp.doc;
    [doc.prev_non_space(i), doc.next_non_space(i)].into_iter().flatten().any(|j| {
        doc.tokens[j].kind == crate::text::segment::TokenKind::Word
            && inp
                .morph
                .analyses(doc.tok(j))
                .iter()
                .any(|a| a.has("accs") && (a.has("NOUN") || a.has("NPRO") || a.has("ADJF")))
    })
}

/// The `[data]` key of the message for `kind`.
fn message_key(kind: RudeKind) -> &'static str {
    match kind {
        RudeKind::Obscene => "message_obscene",
        RudeKind::Insult => "message_insult",
        RudeKind::Threat => "message_threat",
        RudeKind::Contempt => "message_contempt",
        RudeKind::Mild => "message_mild",
    }
}

/// A9: an insulting client gets the approved de-escalation reply, never a mirrored tone. A
/// client's «блин» is no insult: only the interjections that the rewrite would simply delete
/// are let pass.
pub(crate) fn rude_client(inp: &Input, out: &mut Vec<Finding>) {
    let Some(client) = inp.ctx.latest_client_message() else { return };
    // The client's message read with the draft after it: the draft's words may mark a literal
    // sense («у меня сука течёт» answered about «течка»), the spans are the client's.
    let dialogue = format!("{client}\n\n{}", inp.doc.text);
    let doc = Doc::new(&dialogue, &[], &[]);
    let rude = inp
        .lex
        .rude
        .find(&doc, inp.morph)
        .iter()
        .any(|s| s.end <= client.len() && (s.kind != RudeKind::Mild || s.fix != Some(MildFix::Delete)));
    if rude {
        out.push(client_finding(inp.doc, inp.def, inp.profile));
    }
}

/// A9's finding: the whole draft, with the approved de-escalation reply. Also raised by the
/// tone model's toxicity alarm on the client's message (see `StyleEngine::client_alarm`).
pub(crate) fn client_finding(doc: &Doc, def: &RuleDef, profile: &Profile) -> Finding {
    let (start, end) = whole(doc);
    let template = def.text("template").map(|t| polite_case(profile, t));
    Finding::suggest(start, end, template.into_iter().collect())
}

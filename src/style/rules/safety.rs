//! E. Safety and timing: personal data in clear, messages at night.

use std::sync::OnceLock;

use regex::Regex;

use super::{whole, Finding, Input};

/// Candidate personal-data numbers; each is validated by its checksum before it is reported.
fn pii_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?xi)
            (?P<passport>паспорт\D{0,25}?(?P<series>(?-u:\b)\d{2}\s?\d{2})\s?(?:№|номер|н\.)?\s?(?P<number>\d{6})(?-u:\b))
            |(?P<snils>(?-u:\b)\d{3}-\d{3}-\d{3}[\s-]\d{2}(?-u:\b))
            |(?P<card>(?-u:\b)\d(?:[\s-]?\d){11,18}(?-u:\b))
            ",
        )
        .expect("the personal-data pattern is valid")
    })
}

fn digits(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// Luhn checksum of a bank card number.
fn luhn(d: &[u32]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 1 {
                if x * 2 > 9 {
                    x * 2 - 9
                } else {
                    x * 2
                }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// СНИЛС checksum (numbers above 001-001-998).
fn snils(d: &[u32]) -> bool {
    if d.len() != 11 {
        return false;
    }
    let sum: u32 = d[..9].iter().enumerate().map(|(i, &x)| x * (9 - i as u32)).sum();
    let check = match sum {
        s if s < 100 => s,
        100 | 101 => 0,
        s => (s % 101) % 100,
    };
    check == d[9] * 10 + d[10]
}

/// Checksum of a 12-digit personal ИНН.
fn inn12(d: &[u32]) -> bool {
    const W1: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    const W2: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    let check = |w: &[u32]| w.iter().zip(d).map(|(a, b)| a * b).sum::<u32>() % 11 % 10;
    d.len() == 12 && check(&W1) == d[10] && check(&W2) == d[11]
}

/// `s` with every digit but the last four replaced by «*».
fn mask(s: &str) -> String {
    let total = s.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen <= total.saturating_sub(4) {
                    return '*';
                }
            }
            c
        })
        .collect()
}

/// E1: warn before sending card numbers, passports, СНИЛС or a personal ИНН in clear.
pub(crate) fn pii(inp: &Input, out: &mut Vec<Finding>) {
    let text = inp.doc.text;
    for caps in pii_regex().captures_iter(text) {
        let (m, kind) = if let (Some(series), Some(number)) = (caps.name("series"), caps.name("number")) {
            (series.start()..number.end(), "паспорт")
        } else if let Some(m) = caps.name("snils").filter(|m| snils(&digits(m.as_str()))) {
            (m.range(), "СНИЛС")
        } else if let Some(m) = caps.name("card") {
            let d = digits(m.as_str());
            match d.len() {
                12 if inn12(&d) => (m.range(), "ИНН"),
                13..=19 if luhn(&d) => (m.range(), "номер карты"),
                _ => continue,
            }
        } else {
            continue;
        };
        let found = &text[m.clone()];
        out.push(Finding::suggest(m.start, m.end, vec![mask(found)]).arg("kind", kind));
    }
}

/// E2: at night (23:00–08:00 for the client) schedule the message instead.
pub(crate) fn night(inp: &Input, out: &mut Vec<Finding>) {
    let Some(time) = inp.ctx.client_time else { return };
    if time.hour >= 23 || time.hour < 8 {
        let (start, end) = whole(inp.doc);
        out.push(Finding::flag(start, end).arg("time", time.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_accept_valid_and_reject_invalid_numbers() {
        assert!(luhn(&digits("4111 1111 1111 1111")));
        assert!(!luhn(&digits("4111 1111 1111 1112")));
        assert!(snils(&digits("112-233-445 95")));
        assert!(!snils(&digits("112-233-445 96")));
        assert!(inn12(&digits("500100732259")));
        assert!(!inn12(&digits("500100732258")));
    }

    #[test]
    fn masking_keeps_the_last_four_digits_and_the_layout() {
        assert_eq!(mask("4111 1111 1111 1111"), "**** **** **** 1111");
        assert_eq!(mask("112-233-445 95"), "***-***-*45 95");
    }
}

//! Word-level helpers shared by every layer: case folding, case patterns and edit distances.
//! One copy each: the style rules, the speller, the template filler, the ranker and the tone
//! markers all read them from here.

/// Lower-cases and folds «ё» into «е»: the key every list lookup uses.
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        // Russian letters directly: `char::to_lowercase` is a table search per character.
        match c {
            'А'..='Я' => out.push(char::from_u32(c as u32 + 0x20).unwrap_or(c)),
            'ё' | 'Ё' => out.push('е'),
            'а'..='я' | 'a'..='z' => out.push(c),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Lower-cases `word` («Ё» stays «ё»). Russian and ASCII letters are mapped directly:
/// `str::to_lowercase` searches a table for every non-ASCII character.
pub fn lower(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        match c {
            'А'..='Я' => out.push(char::from_u32(c as u32 + 0x20).unwrap_or(c)),
            'Ё' => out.push('ё'),
            'а'..='я' | 'ё' | 'a'..='z' => out.push(c),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Whether `c` is a letter. Russian and ASCII letters are tested first: `char::is_alphabetic`
/// takes a slow table path for every non-ASCII character.
pub fn is_letter(c: char) -> bool {
    matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' | 'a'..='z' | 'A'..='Z') || (!c.is_ascii() && c.is_alphabetic())
}

/// Whether `c` is a letter or a digit, with the same fast path as [`is_letter`].
pub fn is_alphanumeric(c: char) -> bool {
    is_letter(c) || c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

/// The first letter in upper case.
pub fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// The first letter in lower case.
pub fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
}

/// `replacement` written in the case pattern of `original`: ALL CAPS, Capitalised or as is. A
/// Latin abbreviation in capitals («ASAP», «FYI») is no pattern: its Russian replacement keeps
/// its own case.
pub fn match_case(original: &str, replacement: &str) -> String {
    let letters: Vec<char> = original.chars().filter(|c| c.is_alphabetic()).collect();
    let all_caps = letters.len() > 1 && letters.iter().all(|c| c.is_uppercase());
    if all_caps && letters.iter().all(char::is_ascii) {
        return replacement.to_string();
    }
    if all_caps {
        replacement.to_uppercase()
    } else if original.chars().next().is_some_and(char::is_uppercase) {
        capitalize(replacement)
    } else {
        replacement.to_string()
    }
}

/// Levenshtein distance over characters, case-folded.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = fold(a).chars().collect();
    let b: Vec<char> = fold(b).chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), as is.
pub fn osa_distance(a: &[char], b: &[char]) -> usize {
    let width = b.len() + 1;
    let mut rows = vec![0usize; (a.len() + 1) * width];
    for (j, cell) in rows.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        rows[i * width] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[(i - 1) * width + j] + 1)
                .min(rows[i * width + j - 1] + 1)
                .min(rows[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[(i - 2) * width + j - 2] + 1);
            }
            rows[i * width + j] = best;
        }
    }
    rows[a.len() * width + b.len()]
}

/// Two letters or more, all Russian.
pub fn is_cyrillic_word(word: &str) -> bool {
    word.chars().count() >= 2 && word.chars().all(|c| matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_paths_agree_with_the_standard_library() {
        let text = "ЁЛКА Ёжик ПРИВЕТ мир Straße ÀÉ ǅ İstanbul ΑΒΓ 12-й 👍 _";
        assert_eq!(lower(text), text.to_lowercase());
        for c in text.chars().chain('\u{0}'..'\u{3000}') {
            assert_eq!(is_letter(c), c.is_alphabetic(), "{c:?}");
            assert_eq!(is_alphanumeric(c), c.is_alphanumeric(), "{c:?}");
        }
    }

    #[test]
    fn case_patterns_carry_over() {
        assert_eq!(match_case("Щас", "сейчас"), "Сейчас");
        assert_eq!(match_case("ЩАС", "сейчас"), "СЕЙЧАС");
        assert_eq!(match_case("щас", "сейчас"), "сейчас");
        assert_eq!(lower_first("Сейчас"), "сейчас");
        assert_eq!(match_case("ASAP", "как можно скорее"), "как можно скорее");
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("Евгенй", "Евгений"), 1);
        assert_eq!(edit_distance("анна", "Анна"), 0);
        assert_eq!(edit_distance("Ана", "Анна"), 1);
        let osa = |a: &str, b: &str| osa_distance(&a.chars().collect::<Vec<_>>(), &b.chars().collect::<Vec<_>>());
        assert_eq!(osa("ab", "ba"), 1);
    }

    #[test]
    fn folding() {
        assert_eq!(fold("ЁЖИК Ёлка"), "ежик елка");
    }
}

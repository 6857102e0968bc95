//! The style word lists and the names dictionary in prompts/style/: each file states its format
//! in a header, has the documented number of fields per line, no duplicate keys, and at least
//! the size the style rules rely on.

use std::collections::HashSet;

fn entries(name: &str) -> Vec<Vec<String>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/style").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(text.lines().any(|l| l.starts_with("# Формат:")), "{name}: no «# Формат:» header");
    text.lines().filter(|l| !l.starts_with('#')).map(|l| l.split('\t').map(str::to_string).collect()).collect()
}

fn check(name: &str, fields: usize, min: usize) -> Vec<Vec<String>> {
    let rows = entries(name);
    let mut keys = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), fields, "{name}: entry {} has {} fields: {row:?}", i + 1, row.len());
        assert!(!row[0].trim().is_empty(), "{name}: entry {} has an empty key", i + 1);
        assert!(keys.insert(row[0].clone()), "{name}: duplicate key {:?}", row[0]);
    }
    assert!(rows.len() >= min, "{name}: {} entries, at least {min} expected", rows.len());
    rows
}

#[test]
fn names_dictionary_covers_both_genders_with_diminutives() {
    let rows = check("names.tsv", 3, 400);
    for gender in ["m", "f"] {
        assert!(rows.iter().filter(|r| r[1] == gender).count() >= 200, "too few names of gender {gender}");
    }
    for r in &rows {
        let forms: Vec<&str> = r[2].split(',').collect();
        assert!(!forms.is_empty() && forms.iter().all(|f| !f.is_empty() && *f != r[0]), "bad forms for {}", r[0]);
    }
    let zhenya: Vec<&str> =
        rows.iter().filter(|r| r[2].split(',').any(|f| f == "Женя")).map(|r| r[0].as_str()).collect();
    assert!(zhenya.contains(&"Евгений") && zhenya.contains(&"Евгения"), "Женя → {zhenya:?}");
}

#[test]
fn word_lists_have_their_documented_shape_and_size() {
    check("slang.tsv", 2, 150);
    check("cutesy.tsv", 2, 60);
    check("jargon.tsv", 2, 60);
    check("greetings.tsv", 2, 20);
    check("softeners.txt", 1, 20);
    check("formal-greetings.txt", 1, 5);
    check("acronyms.txt", 1, 50);
    let rules: HashSet<&str> = ["no-i-dont-know", "no-blame", "no-directive", "no-redirect"].into();
    for row in check("forbidden.tsv", 3, 40) {
        assert!(rules.contains(row[1].as_str()), "forbidden.tsv: unknown rule {:?}", row[1]);
        assert!(!row[2].is_empty(), "forbidden.tsv: {:?} has no replacement", row[0]);
    }
}

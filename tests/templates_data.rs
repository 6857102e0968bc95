//! The default template pack (prompts/templates/default.toml): well-formed, and every approved
//! template passes the style engine with no error or warning once its placeholders are filled.

use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;
use sufler::style::{Context, Severity, StyleEngine};

#[derive(Deserialize)]
struct Pack {
    template: Vec<Template>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Template {
    id: String,
    title: String,
    category: String,
    tags: Vec<String>,
    status: String,
    version: u32,
    text: String,
    #[serde(default)]
    examples: Vec<String>,
}

fn pack() -> Pack {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/templates/default.toml");
    toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Sample values a filled template would carry; case forms of the client's name included.
fn sample(placeholder: &str) -> &'static str {
    let values: HashMap<&str, &str> = [
        ("name", "Анна"),
        ("name:nom", "Анна"),
        ("name:gen", "Анны"),
        ("name:dat", "Анне"),
        ("name:acc", "Анну"),
        ("name:ins", "Анной"),
        ("name:loc", "Анне"),
        ("operator", "Ольга"),
        ("order", "4821-1934"),
        ("date", "12.03"),
        ("time", "18:00"),
        ("amount", "1 490 ₽"),
        ("days", "5"),
        ("link", "https://shop.example.ru/help"),
        ("phone", "8 800 555-35-35"),
        ("email", "help@shop.example.ru"),
    ]
    .into_iter()
    .collect();
    values.get(placeholder).copied().unwrap_or("12")
}

fn fill(text: &str) -> String {
    let re = regex::Regex::new(r"\{([a-z_]+(?::[a-z]+)?)\}").unwrap();
    re.replace_all(text, |c: &regex::Captures| sample(&c[1]).to_string()).into_owned()
}

#[test]
fn the_default_pack_is_well_formed() {
    let pack = pack();
    assert!(pack.template.len() >= 80, "{} templates", pack.template.len());
    let ids: BTreeSet<&str> = pack.template.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids.len(), pack.template.len(), "duplicate ids");
    let placeholder = regex::Regex::new(r"\{([^}]*)\}").unwrap();
    let valid = regex::Regex::new(r"^[a-z_]+(?::(?:nom|gen|dat|acc|ins|loc))?$").unwrap();
    for t in &pack.template {
        assert_eq!(t.status, "approved", "{}", t.id);
        assert!(!t.title.is_empty() && !t.text.is_empty() && !t.category.is_empty(), "{}", t.id);
        for c in placeholder.captures_iter(&t.text) {
            assert!(valid.is_match(&c[1]), "{}: bad placeholder {{{}}}", t.id, &c[1]);
        }
    }
}

#[test]
fn every_template_passes_the_style_engine() {
    let engine = StyleEngine::embedded().unwrap();
    let ctx = Context { client_name: Some("Анна".into()), ..Context::default() };
    let mut failures = Vec::new();
    for t in pack().template {
        let text = fill(&t.text);
        let report = engine.check(&text, &ctx, None).unwrap();
        for issue in report.issues.iter().filter(|i| i.severity >= Severity::Warning) {
            failures.push(format!("{}: {} — {} ({text})", t.id, issue.rule, issue.message));
        }
    }
    assert!(failures.is_empty(), "{} findings:\n{}", failures.len(), failures.join("\n"));
}

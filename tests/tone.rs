//! The tone heads as `sufler train-tone` builds them from the project's data with the real
//! encoder: the TyDiP ru politeness goal (never trained on), the model card, and what a team
//! lead relies on — a rude reply scores as rude and below a polite one.

mod common;
#[path = "http_server/mod.rs"]
mod http_server;

use common::*;
use sufler::tone::{ToneLabel, ToneModel};
use sufler::{Encoder, EncoderOptions};

#[test]
fn train_tone_meets_the_tydip_goal_and_scores_rude_below_polite() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tone.safetensors");
    let tydip = root().join("../shared/data/tydip-ru");
    assert!(tydip.join("ru_test.csv").is_file(), "TyDiP ru is missing at {}", tydip.display());
    let run = sufler(&["train-tone", "--out", out.to_str().unwrap(), "--tydip", tydip.to_str().unwrap()], b"");
    assert!(run.status.success(), "{}", stderr(&run));
    let text = String::from_utf8(run.stdout).unwrap();
    let figure = |label: &str| -> f64 {
        let at = text.find(label).unwrap_or_else(|| panic!("{label} missing in {text}")) + label.len();
        text[at..].trim_start().split(|c: char| c == ',' || c.is_whitespace()).next().unwrap().parse().unwrap()
    };
    let (spearman, lexicon) = (figure("Spearman"), figure("lexicon"));
    assert!(spearman >= 0.45, "TyDiP Spearman {spearman} < 0.45\n{text}");
    assert!(spearman > lexicon, "the score {spearman} does not beat the lexicon {lexicon}");
    let card = std::fs::read_to_string(dir.path().join("tone.md")).unwrap();
    assert!(
        card.contains("TyDiP") && card.contains("politeness-pairs.tsv") && card.contains(&format!("{spearman:.3}"))
    );

    // A second run on the same data does not retrain.
    let again = sufler(&["train-tone", "--out", out.to_str().unwrap()], b"");
    assert!(String::from_utf8_lossy(&again.stdout).contains("уже обучено"), "{}", stderr(&again));

    let model = ToneModel::load(&out).unwrap();
    let encoder = Encoder::from_dir(Some(&model_dir()), &EncoderOptions::default()).unwrap();
    let scores = model
        .score(
            &encoder,
            &[
                "Я вам уже сто раз объяснял, читайте договор внимательнее.",
                "Здравствуйте! Подскажите, пожалуйста, номер заказа, я всё проверю.",
            ],
        )
        .unwrap();
    assert_eq!(scores[1].label, ToneLabel::Formal, "{scores:?}");
    assert!(scores[0].probabilities[3] > 5.0 * scores[1].probabilities[3], "rude more likely: {scores:?}");
    assert!(scores[0].politeness + 30.0 < scores[1].politeness, "{scores:?}");
    // Not in the training data.
    let curt = model.score(&encoder, &["Мне некогда с вами возиться."]).unwrap();
    assert_eq!(curt[0].label, ToneLabel::Rude, "{curt:?}");
}

/// A contemptuous draft with no listed word: A10's lists are silent, its learned half (the
/// toxicity head) is not, and the rewrite is refused or sober; a chatty «ты» draft is not rude.
#[test]
fn the_check_reports_the_tone_and_a10_catches_what_its_lists_miss() {
    let contempt = "Вы правда думаете, что кому-то интересны ваши жалобы? Смешно.";
    let json = |args: &[&str], text: &str| -> serde_json::Value {
        let out = sufler(args, text.as_bytes());
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let a10 = |report: &serde_json::Value| -> Vec<String> {
        let issues = report["issues"].as_array().unwrap();
        issues
            .iter()
            .filter(|i| i["rule"] == "no-rudeness")
            .map(|i| i["message"].as_str().unwrap().to_string())
            .collect()
    };
    let lists_only = json(&["check", "--json", "--no-encoder"], contempt);
    assert!(a10(&lists_only).is_empty() && lists_only.get("tone").is_none(), "{lists_only}");
    let learned = json(&["check", "--json"], contempt);
    assert_eq!(learned["tone"]["label"], "rude", "{learned}");
    assert_eq!(learned["tone"]["toxic"], true, "{learned}");
    assert!(learned["tone"]["politeness"].as_f64().unwrap() < 20.0, "{learned}");
    assert!(a10(&learned).iter().any(|m| m.contains("Тон черновика грубый")), "{learned}");
    // Refused whole when the head is as sure as rude words would make it; otherwise a sober
    // rewrite: nothing decorates the contempt, and its A10 issue stays.
    let rewrite = json(&["rewrite", "--json"], contempt);
    let refused = rewrite["withheld"][0]["rule"] == "no-rudeness";
    if refused {
        assert_eq!(rewrite["text"], contempt, "{rewrite}");
    } else {
        assert!(a10(&rewrite).iter().any(|m| m.contains("Тон черновика грубый")), "{rewrite}");
        let text = rewrite["text"].as_str().unwrap();
        assert!(!text.contains("пожалуйста") && !text.contains("Здравствуйте"), "{rewrite}");
    }

    // An alarm beside a mild word the lists would delete: refused, not half-cleaned into
    // «Ну сколько можно мне Ваши снимки экрана».
    let mild = "Блин, ну сколько можно, нафиг мне ваши скриншоты, я и так всё вижу.";
    let rewrite = json(&["rewrite", "--json"], mild);
    assert_eq!(rewrite["text"], mild, "{rewrite}");

    // A9 reads the client's message with the same two halves: contempt with no listed word.
    let operator = "Заказ 4821 передан курьеру, он приедет завтра с 10:00 до 14:00.";
    let a9 =
        |report: &serde_json::Value| report["issues"].as_array().unwrap().iter().any(|i| i["rule"] == "rude-client");
    let with_client = ["check", "--json", "--client-message", contempt];
    assert!(a9(&json(&with_client, operator)), "A9 with the encoder");
    assert!(!a9(&json(&[&with_client[..], &["--no-encoder"]].concat(), operator)), "A9 lists only");

    let chatty = "Слушай, скинь номер заказа, щас гляну.";
    let report = json(&["check", "--json"], chatty);
    assert_eq!(report["tone"]["toxic"], false, "{report}");
    assert_ne!(report["tone"]["label"], "rude", "{report}");
    assert!(a10(&report).is_empty(), "{report}");
    let rewrite = json(&["rewrite", "--json"], chatty);
    assert_ne!(rewrite["text"], chatty, "{rewrite}");
}

/// The issue's goals on the rudeness set's held-out split (never trained or tuned on): the
/// politeness ranks clean drafts above rude ones with ROC-AUC ≥ 0.95, and A10 with its learned
/// half finds more than its lists alone.
#[test]
fn the_tone_separates_rude_from_clean_drafts_on_the_held_out_split() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("rude.json");
    let out = sufler(
        &[
            "eval",
            "rudeness",
            "eval/sets/rude/rude-holdout.jsonl",
            "--json",
            json.to_str().unwrap(),
            "--fail-under",
            "politeness_auc=0.95",
            "--fail-under",
            "toxicity_auc=0.95",
        ],
        b"",
    );
    assert!(out.status.success(), "{}\n{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let metric = |id: &str| {
        report["metrics"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap()["value"].as_f64().unwrap()
    };
    assert!(metric("recall") > metric("recall_words") + 0.05, "{report}");
    assert!(metric("false_positive_rate") <= 0.02, "{report}");
}

/// `POST /v1/check` answers with the tone too (the same library call as the CLI).
#[test]
fn the_http_check_includes_the_tone() {
    let dir = tempfile::tempdir().unwrap();
    let server = http_server::Server::start_with(
        &dir.path().join("library.db"),
        http_server::Auth::Dev,
        &["--init"],
        std::time::Duration::from_secs(180),
    );
    server.wait_loaded(std::time::Duration::from_secs(180));
    let check = |text: &str| {
        let r = server.json("POST", "/v1/check", "", Some(&serde_json::json!({ "text": text })));
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    };
    let rude = check("Вы правда думаете, что кому-то интересны ваши жалобы? Смешно.");
    assert_eq!(rude["tone"]["toxic"], true, "{rude}");
    assert!(rude["issues"].as_array().unwrap().iter().any(|i| i["rule"] == "no-rudeness"), "{rude}");
    let polite = check("Здравствуйте! Заказ 4821 приедет завтра с 10 до 14, курьер позвонит за час.");
    assert_eq!(polite["tone"]["toxic"], false, "{polite}");
    assert!(polite["tone"]["politeness"].as_f64().unwrap() > rude["tone"]["politeness"].as_f64().unwrap() + 30.0);
}

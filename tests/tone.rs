//! The tone heads as `sufler train-tone` builds them from the project's data with the real
//! encoder: the TyDiP ru politeness goal (never trained on), the model card, and what a team
//! lead relies on — a rude reply scores as rude and below a polite one.

mod common;

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

//! The published figure: encodechka intent classification with multilingual-e5-small
//! (encodechka reports 0.78; we require ≥ 0.77). Reads ../shared/data/encodechka-intents.

mod common;

use sufler::encoder::{Encoder, EncoderOptions};
use sufler::models::ModelFiles;

#[test]
fn encodechka_intent_accuracy_reaches_the_published_figure() {
    let data = common::root().join("../shared/data/encodechka-intents");
    assert!(data.join("intents_train.csv").is_file(), "encodechka data missing at {}", data.display());
    sufler::encoder::configure_threads(None);
    let encoder = Encoder::load(&ModelFiles::open(&common::model_dir()).unwrap(), &EncoderOptions::default()).unwrap();
    let report = sufler::eval::encodechka::run(&encoder, &data, &|_, _| {}).unwrap();
    eprintln!(
        "encodechka: accuracy {:.4} ({} train, {} test, {} labels, embedding {:.0}s)",
        report.accuracy, report.train, report.test, report.labels, report.embed_seconds
    );
    assert_eq!((report.train, report.test), (5000, 5000));
    assert!(report.accuracy >= 0.77, "accuracy {:.4} < 0.77", report.accuracy);
}

//! Suggestion cost over a library of 10 000 templates, against the encoder alone on the same
//! message: the ranking (dot products, BM25, fusion, duplicate check, filling) must add at most
//! 2 ms p50 to the encoder's latency. Also the import of 10 000 templates into SQLite, and
//! building a library with a click log of 2 000 clicks (the most the learned corrections train
//! on), which every process that ranks pays once.
//! Run: `cargo bench --bench suggest` (needs the model: `models/fetch`).
//!
//! The library's vectors come from a cheap deterministic stand-in: embedding 20 000 texts with
//! the real encoder would take minutes and the ranking cost does not depend on their values.
//! The query is embedded by the real encoder.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use sha2::{Digest, Sha256};
use sufler::encoder::{normalize, Embedder, Encoder, EncoderOptions, TextKind};
use sufler::rank::{CachedEmbedder, Library, Signals, SuggestRequest, Weights};
use sufler::templates::pack::default_pack;
use sufler::templates::store::Feedback;
use sufler::templates::{Store, Template};

const LIBRARY: usize = 10_000;

/// Unit vectors from a hash of the text: same text, same vector.
struct HashEmbedder;

impl Embedder for HashEmbedder {
    fn dim(&self) -> usize {
        384
    }
    fn model_id(&self) -> &str {
        "hash"
    }
    fn embed(&self, texts: &[&str], _: TextKind) -> sufler::Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|t| {
                let seed = Sha256::digest(t.as_bytes());
                normalize((0..384).map(|i| (seed[i % 32] as f32 - 127.5) * ((i / 32 + 1) as f32).sin()).collect())
            })
            .collect())
    }
}

/// 10 000 distinct templates: the default pack's texts under other ids, with a variant clause.
fn library_templates() -> Vec<Template> {
    let pack = default_pack();
    (0..LIBRARY)
        .map(|i| {
            let base = &pack[i % pack.len()];
            Template {
                id: format!("{}-{i}", base.id),
                title: format!("{} (вариант {})", base.title, i / pack.len()),
                text: format!("{} Обращение № {i}.", base.text),
                ..base.clone()
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let encoder = Encoder::from_dir(None, &EncoderOptions::default()).expect("model present: run models/fetch");
    let templates = library_templates();
    let mut cache = CachedEmbedder::new(&HashEmbedder, None);
    let library =
        Library::build(templates.clone(), &[], &mut cache, Signals::ALL, Weights::default(), &mut |_, _| ()).unwrap();
    let request = SuggestRequest {
        text: "здравствуйте, где мой заказ 4821-1934? уже неделю жду".into(),
        client_name: Some("Анна".into()),
        ..SuggestRequest::default()
    };

    let mut group = c.benchmark_group("suggest_10k");
    group.sample_size(30);
    group.bench_function("encoder_only", |b| {
        b.iter(|| encoder.embed(&[request.text.as_str()], TextKind::Query).unwrap())
    });
    group.bench_function("suggest_k3", |b| b.iter(|| library.suggest(&request, 3, &encoder).unwrap()));
    // The ranking alone: the query vector comes from the stand-in, in microseconds.
    group.bench_function("ranking_only_k3", |b| b.iter(|| library.suggest(&request, 3, &HashEmbedder).unwrap()));
    group.finish();

    // Clicks: the pack's example messages, numbered so each is a distinct text, chosen for one
    // of the 10 000 templates.
    let clicks: Vec<Feedback> = templates
        .iter()
        .flat_map(|t| t.examples.iter().map(move |e| (t, e)))
        .take(sufler::rank::learned::MAX_CLICKS)
        .enumerate()
        .map(|(i, (t, e))| Feedback {
            text: format!("{e} ({i})"),
            chosen_id: t.id.clone(),
            edited: false,
            suggestion_id: None,
        })
        .collect();
    let mut group = c.benchmark_group("clicks_2000");
    group.sample_size(10);
    let build = |clicks: &[Feedback]| {
        let mut cache = CachedEmbedder::new(&HashEmbedder, None);
        Library::build(templates.clone(), clicks, &mut cache, Signals::ALL, Weights::default(), &mut |_, _| ()).unwrap()
    };
    group.bench_function("build_without_clicks", |b| b.iter(|| build(&[])));
    group.bench_function("build_with_clicks", |b| b.iter(|| build(&clicks)));
    let clicked = build(&clicks);
    group.bench_function("ranking_only_k3", |b| b.iter(|| clicked.suggest(&request, 3, &HashEmbedder).unwrap()));
    group.finish();

    let mut group = c.benchmark_group("import_10k");
    group.sample_size(10);
    group.bench_function("sqlite_import", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let mut store = Store::open(&dir.path().join("library.db")).unwrap();
                store.import(&templates, None).unwrap();
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

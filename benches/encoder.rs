//! Encoder latency (one chat message) and batch throughput, for both weight paths.
//! Needs the model from `models/fetch`. Run: `cargo bench --bench encoder`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sufler::encoder::{Embedder, Encoder, EncoderOptions, TextKind, WeightKind};
use sufler::models::ModelFiles;

fn encoders() -> Vec<Encoder> {
    sufler::encoder::configure_threads(None);
    let files = ModelFiles::locate(None).expect("model present: run models/fetch");
    [WeightKind::F32, WeightKind::Q4_0]
        .into_iter()
        .map(|w| Encoder::load(&files, &EncoderOptions { weights: Some(w), ..Default::default() }).unwrap())
        .collect()
}

fn bench(c: &mut Criterion) {
    let corpus = sufler::bench::corpus_lines(sufler::bench::BUNDLED_CORPUS);
    let single = "Здравствуйте! Подскажите, пожалуйста, где мой заказ 48213?";
    for enc in encoders() {
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
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

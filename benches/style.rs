//! Style engine speed without the encoder: check and rewrite of a 300-character operator draft
//! on one thread, with the contextual models (slovnet morphology and syntax, `src/text/`;
//! installed by `./setup`), and the one-time start-up (rules, word lists, morphology and
//! hunspell dictionaries). Run: `cargo bench --bench style`. What the contextual analysis alone
//! costs per text is `cargo bench --bench text`.

use criterion::{criterion_group, criterion_main, Criterion};
use sufler::style::{Context, StyleEngine};

/// A realistic bad draft: ты, slang, a diminutive, CAPS, «!!!», emoji, facts, no greeting.
const DRAFT: &str = "привет, щас гляну твой заказ № 4821-1934. короче, посылочка пришла в пункт выдачи \
на ул. Ленина, 15, забери её до 28.03, СРОЧНО!!! если не успеешь, заказ вернётся на склад и деньги 1 490 ₽ \
придут на карту за 3–5 рабочих дней 👍 скинь скрин чека если что, а ещё напиши отзыв про доставку, нам важно)))";

fn bench(c: &mut Criterion) {
    assert!((290..=320).contains(&DRAFT.chars().count()), "{} chars", DRAFT.chars().count());
    let engine = StyleEngine::embedded().expect("style data loads");
    assert!(sufler::text::context::models().is_some(), "contextual models not installed: run ./setup");
    let ctx = Context {
        client_name: Some("Анна".into()),
        client_messages: vec!["Где мой заказ 4821-1934? Уже неделю жду".into()],
        operator_name: Some("Ольга".into()),
        first_message: Some(true),
        ..Context::default()
    };
    // Every iteration gets a draft it has not seen (another order number), so the per-request
    // memo never answers from a previous iteration; the word caches stay warm, as in a server.
    let counter = std::cell::Cell::new(0u64);
    let fresh = || {
        counter.set(counter.get() + 1);
        DRAFT.replace("4821-1934", &format!("{}-1934", 1000 + counter.get() % 9000))
    };
    let mut group = c.benchmark_group("style");
    let batched = criterion::BatchSize::SmallInput;
    group.bench_function("check_300_chars", |b| {
        b.iter_batched(fresh, |d| engine.check(&d, &ctx, None).unwrap(), batched)
    });
    group.bench_function("rewrite_300_chars", |b| {
        b.iter_batched(fresh, |d| engine.rewrite(&d, &ctx, None).unwrap(), batched)
    });
    // What the operator page does: check the draft, then rewrite it on «Сделать вежливо».
    group.bench_function("check_and_rewrite_300_chars", |b| {
        b.iter_batched(
            fresh,
            |d| {
                engine.check(&d, &ctx, None).unwrap();
                engine.rewrite(&d, &ctx, None).unwrap()
            },
            batched,
        )
    });
    group.sample_size(10);
    // The morphology dictionary is process-wide and loads once; this is the rest of start-up.
    group.bench_function("engine_load_after_first", |b| b.iter(|| StyleEngine::embedded().unwrap()));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

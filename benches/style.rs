//! Style engine speed with rules only (no encoder): check and rewrite of a 300-character
//! operator draft on one thread, and the one-time start-up (rules, word lists, morphology and
//! hunspell dictionaries). Run: `cargo bench --bench style`.

use criterion::{criterion_group, criterion_main, Criterion};
use sufler::style::{Context, StyleEngine};

/// A realistic bad draft: ты, slang, a diminutive, CAPS, «!!!», emoji, facts, no greeting.
const DRAFT: &str = "привет, щас гляну твой заказ № 4821-1934. короче, посылочка пришла в пункт выдачи \
на ул. Ленина, 15, забери её до 28.03, СРОЧНО!!! если не успеешь, заказ вернётся на склад и деньги 1 490 ₽ \
придут на карту за 3–5 рабочих дней 👍 скинь скрин чека если что, а ещё напиши отзыв про доставку, нам важно)))";

fn bench(c: &mut Criterion) {
    assert!((290..=320).contains(&DRAFT.chars().count()), "{} chars", DRAFT.chars().count());
    let engine = StyleEngine::embedded().expect("style data loads");
    let ctx = Context {
        client_name: Some("Анна".into()),
        client_messages: vec!["Где мой заказ 4821-1934? Уже неделю жду".into()],
        operator_name: Some("Ольга".into()),
        first_message: true,
        ..Context::default()
    };
    let mut group = c.benchmark_group("style");
    group.bench_function("check_300_chars", |b| b.iter(|| engine.check(DRAFT, &ctx, None).unwrap()));
    group.bench_function("rewrite_300_chars", |b| b.iter(|| engine.rewrite(DRAFT, &ctx, None).unwrap()));
    group.bench_function("check_and_rewrite_300_chars", |b| {
        b.iter(|| {
            engine.check(DRAFT, &ctx, None).unwrap();
            engine.rewrite(DRAFT, &ctx, None).unwrap()
        })
    });
    group.sample_size(10);
    // The morphology dictionary is process-wide and loads once; this is the rest of start-up.
    group.bench_function("engine_load_after_first", |b| b.iter(|| StyleEngine::embedded().unwrap()));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The natasha models (src/text/slovnet): one chat draft of about 300 characters (3 sentences,
//! ~50 tokens) through morphology, syntax and NER. Needs `models/fetch-natasha`.
//! Run: `cargo bench --bench text`.

use criterion::{criterion_group, criterion_main, Criterion};
use sufler::text::slovnet::Slovnet;

/// The draft, tokenised as razdel does, one sentence per entry.
const DRAFT: [&str; 3] = [
    "Здравствуйте , Анна Сергеевна ! Ваш заказ № 482913 уже передан в службу доставки СДЭК и будет у вас в пятницу вечером .",
    "Курьер позвонит за час до приезда , пожалуйста , держите телефон включённым .",
    "Если время неудобно , напишите нам в этот чат , и мы перенесём доставку на субботу или воскресенье 🙂",
];

fn analyse(c: &mut Criterion) {
    let Some(dir) = Slovnet::find() else {
        eprintln!("SKIPPED: models/cache/natasha is missing (run models/fetch-natasha)");
        return;
    };
    let before = rss_kib();
    let start = std::time::Instant::now();
    let slovnet = Slovnet::load(&dir).expect("the natasha models load");
    let load = start.elapsed();
    let sentences: Vec<Vec<&str>> = DRAFT.iter().map(|s| s.split(' ').collect()).collect();
    let chars: usize = DRAFT.iter().map(|s| s.chars().count()).sum();
    let tokens: usize = sentences.iter().map(Vec::len).sum();
    eprintln!("load {:.1} ms, RSS {} KiB → {} KiB after load", load.as_secs_f64() * 1e3, before, rss_kib());
    eprintln!("draft: {chars} characters, {tokens} tokens, {} sentences", sentences.len());
    c.bench_function("slovnet/analyse_draft", |b| {
        b.iter(|| sentences.iter().map(|s| slovnet.analyse(s).tokens.len()).sum::<usize>())
    });
    c.bench_function("slovnet/load", |b| b.iter(|| Slovnet::load(&dir).expect("loads")));
}

/// Resident set size of this process (Linux), 0 elsewhere.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = analyse
}
criterion_main!(benches);

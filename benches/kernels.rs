//! Encoder kernels in isolation: the int8 matmul per kernel on the shapes of multilingual-e5-small
//! (hidden 384, FFN 1536; 16 and 128 tokens), an f32 reference (ndarray), and the fused row ops.
//! Throughput is in operations (2 per multiply-add) per second. Run: `cargo bench --bench kernels`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::{linalg::general_mat_mul, Array2};
use sufler::encoder::gemm::{matmul_with, Kernel, QuantMatrix, QuantRows};
use sufler::encoder::ops;

const SHAPES: [(usize, usize, usize); 6] =
    [(16, 384, 384), (16, 1536, 384), (16, 384, 1536), (128, 384, 384), (128, 1536, 384), (128, 384, 1536)];

/// Deterministic values of BERT-like magnitude (a xorshift generator, sum of uniforms).
fn data(len: usize, sd: f32, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            let mut u = 0.0;
            for _ in 0..4 {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                u += (s >> 40) as f32 / (1u64 << 24) as f32;
            }
            (u - 2.0) * 1.732 * sd
        })
        .collect()
}

fn matmul(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul");
    for (m, n, k) in SHAPES {
        let shape = format!("{m}x{n}x{k}");
        let x = data(m * k, 1.0, 1);
        let w = data(n * k, 0.05, 2);
        let bias = data(n, 0.02, 3);
        let wq = QuantMatrix::quantize(&w, n, k, &bias);
        let mut xq = QuantRows::new();
        xq.quantize(&x, m, k);
        let mut out = vec![0f32; m * n];
        group.throughput(Throughput::Elements((2 * m * n * k) as u64));
        for kernel in Kernel::available() {
            if kernel == Kernel::Scalar && m > 16 {
                continue;
            }
            group.bench_function(BenchmarkId::new(format!("{kernel:?}"), &shape), |b| {
                b.iter(|| matmul_with(kernel, &xq, &wq, &mut out))
            });
        }
        // Quantising the activations is part of every product.
        group.bench_function(BenchmarkId::new("quantize_plus_best", &shape), |b| {
            b.iter(|| {
                xq.quantize(&x, m, k);
                sufler::encoder::gemm::matmul(&xq, &wq, &mut out)
            })
        });
        if m == 16 {
            let xa = Array2::from_shape_vec((m, k), x.clone()).unwrap();
            let wa = Array2::from_shape_vec((n, k), w.clone()).unwrap();
            let mut oa = Array2::<f32>::zeros((m, n));
            group.bench_function(BenchmarkId::new("f32_ndarray", &shape), |b| {
                b.iter(|| general_mat_mul(1.0, &xa, &wa.t(), 0.0, &mut oa))
            });
        }
    }
    group.finish();
}

fn row_ops(c: &mut Criterion) {
    let mut group = c.benchmark_group("ops");
    for (rows, width) in [(128, 384), (128, 1536)] {
        let x = data(rows * width, 2.0, 4);
        let res = data(rows * width, 1.0, 5);
        let gamma = data(width, 0.1, 6).iter().map(|g| g + 1.0).collect::<Vec<_>>();
        let beta = data(width, 0.1, 7);
        let mut y = x.clone();
        let shape = format!("{rows}x{width}");
        group.throughput(Throughput::Elements((rows * width) as u64));
        group.bench_function(BenchmarkId::new("layer_norm", &shape), |b| {
            b.iter(|| {
                y.copy_from_slice(&x);
                ops::layer_norm(&mut y, width, &gamma, &beta, 1e-12)
            })
        });
        group.bench_function(BenchmarkId::new("add_layer_norm", &shape), |b| {
            b.iter(|| {
                y.copy_from_slice(&x);
                ops::add_layer_norm(&mut y, &res, width, &gamma, &beta, 1e-12)
            })
        });
        group.bench_function(BenchmarkId::new("gelu", &shape), |b| {
            b.iter(|| {
                y.copy_from_slice(&x);
                ops::gelu(&mut y)
            })
        });
        group.bench_function(BenchmarkId::new("copy_only", &shape), |b| b.iter(|| y.copy_from_slice(&x)));
    }
    // Attention scores: 12 heads × 128 queries × 128 keys, the last 28 keys padding.
    let (rows, width) = (12 * 128, 128);
    let x = data(rows * width, 3.0, 8);
    let mask: Vec<f32> = (0..width).map(|c| if c < 100 { 0.0 } else { f32::MIN }).collect();
    let mut y = x.clone();
    group.throughput(Throughput::Elements((rows * width) as u64));
    group.bench_function(BenchmarkId::new("softmax_masked", "12x128x128"), |b| {
        b.iter(|| {
            y.copy_from_slice(&x);
            ops::softmax_rows(&mut y, width, Some(&mask))
        })
    });
    group.finish();
}

criterion_group!(benches, matmul, row_ops);
criterion_main!(benches);

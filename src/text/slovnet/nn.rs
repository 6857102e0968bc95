//! The few layers the slovnet models are made of, in f32 on row-major `[tokens × features]`
//! buffers: linear maps, a same-length 1-d convolution over the token axis, ReLU and inference
//! batch norm. Matrix products use weights packed at load ([`Packed`]) and a small tiled
//! kernel compiled for AVX2 when the CPU has it; element-wise steps are plain loops.

use super::pack::Pack;
use crate::error::Result;

/// Columns per block of a [`Packed`] matrix: two AVX registers.
const BLOCK: usize = 16;
/// Rows of the left operand per tile.
const ROWS: usize = 4;

/// A `k × n` weight matrix laid out for [`matmul`]: blocks of 16 columns (the last one
/// zero-padded), each block `k × 16` contiguous, so a tile streams its weights in order. Weights
/// are packed once at load; general GEMM libraries re-pack the weight matrix on every call,
/// which for a sentence of 10–50 tokens costs more than the arithmetic.
pub(crate) struct Packed {
    data: Vec<f32>,
    k: usize,
    n: usize,
}

impl Packed {
    /// Packs the row-major `k × n` matrix `w`.
    pub(crate) fn new(w: &[f32], k: usize, n: usize) -> Packed {
        debug_assert_eq!(w.len(), k * n);
        let blocks = n.div_ceil(BLOCK);
        let mut data = vec![0f32; blocks * k * BLOCK];
        for b in 0..blocks {
            for row in 0..k {
                for j in 0..BLOCK.min(n - b * BLOCK) {
                    data[(b * k + row) * BLOCK + j] = w[row * n + b * BLOCK + j];
                }
            }
        }
        Packed { data, k, n }
    }
}

/// `c[m×n] += a[m×k] · w`, `a` and `c` row-major.
pub(crate) fn matmul(a: &[f32], w: &Packed, c: &mut [f32], m: usize) {
    debug_assert!(a.len() >= m * w.k && c.len() >= m * w.n);
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present (checked just above).
        unsafe { matmul_avx2(a, w, c, m) };
        return;
    }
    matmul_portable(a, w, c, m);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn matmul_avx2(a: &[f32], w: &Packed, c: &mut [f32], m: usize) {
    matmul_portable(a, w, c, m);
}

/// The kernel; inlined into [`matmul_avx2`] so the fixed-width loops become AVX code.
#[inline(always)]
fn matmul_portable(a: &[f32], w: &Packed, c: &mut [f32], m: usize) {
    let (k, n) = (w.k, w.n);
    if k == 0 {
        return;
    }
    for (b, block) in w.data.chunks_exact(k * BLOCK).enumerate() {
        let (first, width) = (b * BLOCK, BLOCK.min(n - b * BLOCK));
        let mut t = 0;
        while t < m {
            let rows = ROWS.min(m - t);
            if rows == ROWS {
                let acc = tile::<ROWS>(&a[t * k..(t + ROWS) * k], k, block);
                store(&acc, c, t, n, first, width);
            } else {
                for r in t..t + rows {
                    let acc = tile::<1>(&a[r * k..(r + 1) * k], k, block);
                    store(&acc, c, r, n, first, width);
                }
            }
            t += rows;
        }
    }
}

/// `R` rows of `a` (each `k` long) times one `k × 16` block.
#[inline(always)]
fn tile<const R: usize>(a: &[f32], k: usize, block: &[f32]) -> [[f32; BLOCK]; R] {
    let mut acc = [[0f32; BLOCK]; R];
    for (i, w) in block.chunks_exact(BLOCK).enumerate() {
        let w: &[f32; BLOCK] = w.try_into().expect("chunks of BLOCK");
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = a[r * k + i];
            for j in 0..BLOCK {
                acc[j] += x * w[j];
            }
        }
    }
    acc
}

#[inline(always)]
fn store<const R: usize>(acc: &[[f32; BLOCK]; R], c: &mut [f32], row: usize, n: usize, first: usize, width: usize) {
    for (r, acc) in acc.iter().enumerate() {
        let out = &mut c[(row + r) * n + first..(row + r) * n + first + width];
        for (o, v) in out.iter_mut().zip(acc) {
            *o += v;
        }
    }
}

/// Index of the largest value, the first one on ties (as numpy's `argmax`); 0 when empty.
pub(crate) fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// In-place `max(x, 0)`.
pub(crate) fn relu(values: &mut [f32]) {
    for v in values {
        *v = v.max(0.0);
    }
}

/// `y = x · W + b` with `W` stored `[in × out]`.
pub(crate) struct Linear {
    weight: Packed,
    bias: Vec<f32>,
    /// Input width.
    pub(crate) input: usize,
    /// Output width.
    pub(crate) output: usize,
}

impl Linear {
    /// Reads `{at}/weight` (`[in, out]`) and `{at}/bias`.
    pub(crate) fn load(pack: &Pack, at: &str) -> Result<Linear> {
        let (weight, shape) = pack.weight(&format!("{at}/weight"), 2)?;
        let bias = pack.weight_of(&format!("{at}/bias"), &[shape[1]])?;
        Ok(Linear::new(weight, bias, shape[0], shape[1]))
    }

    /// A map from `weight` (`input × output`, row-major) and `bias`.
    pub(crate) fn new(weight: Vec<f32>, bias: Vec<f32>, input: usize, output: usize) -> Linear {
        debug_assert_eq!((weight.len(), bias.len()), (input * output, output));
        Linear { weight: Packed::new(&weight, input, output), bias, input, output }
    }

    /// Applies the map to `rows` rows of `x`, replacing `out`'s contents.
    pub(crate) fn forward(&self, x: &[f32], rows: usize, out: &mut Vec<f32>) {
        out.clear();
        for _ in 0..rows {
            out.extend_from_slice(&self.bias);
        }
        matmul(x, &self.weight, out, rows);
    }
}

/// One encoder block: a 1-d convolution over tokens that keeps the length (zero padding),
/// then ReLU, then batch norm with frozen statistics.
pub(crate) struct ConvBlock {
    /// One `[in × out]` matrix per kernel tap, tap `j` reading token `t + j − padding`.
    taps: Vec<Packed>,
    bias: Vec<f32>,
    padding: usize,
    input: usize,
    output: usize,
    mean: Vec<f32>,
    std: Vec<f32>,
    scale: Vec<f32>,
    shift: Vec<f32>,
}

impl ConvBlock {
    /// Reads `{at}/conv` (`weight` `[out, in, kernel]`, `bias`, `padding`) and `{at}/norm`.
    pub(crate) fn load(pack: &Pack, at: &str) -> Result<ConvBlock> {
        let (weight, shape) = pack.weight(&format!("{at}/conv/weight"), 3)?;
        let (output, input, kernel) = (shape[0], shape[1], shape[2]);
        let padding = pack.integer(&format!("{at}/conv/padding"))?;
        if kernel != 2 * padding + 1 {
            return Err(pack
                .archive
                .corrupt(format!("{at}: kernel {kernel} with padding {padding} changes the length")));
        }
        let vector = |name: &str| pack.weight_of(&format!("{at}/{name}"), &[output]);
        let mut block = ConvBlock {
            taps: Vec::new(),
            bias: vector("conv/bias")?,
            padding,
            input,
            output,
            mean: vector("norm/mean")?,
            std: vector("norm/std")?,
            scale: vector("norm/weight")?,
            shift: vector("norm/bias")?,
        };
        block.taps = (0..kernel)
            .map(|j| {
                let mut tap = vec![0f32; input * output];
                for f in 0..output {
                    for c in 0..input {
                        tap[c * output + f] = weight[(f * input + c) * kernel + j];
                    }
                }
                Packed::new(&tap, input, output)
            })
            .collect();
        Ok(block)
    }

    /// Input width.
    pub(crate) fn input(&self) -> usize {
        self.input
    }

    /// Output width.
    pub(crate) fn output(&self) -> usize {
        self.output
    }

    /// Applies the block to `tokens` rows of `x` (`tokens × input`), replacing `out`.
    pub(crate) fn forward(&self, x: &[f32], tokens: usize, out: &mut Vec<f32>) {
        let (c, f) = (self.input, self.output);
        out.clear();
        for _ in 0..tokens {
            out.extend_from_slice(&self.bias);
        }
        for (j, tap) in self.taps.iter().enumerate() {
            // Output row t reads input row t + d; rows outside the sentence are the zero padding.
            let d = j as isize - self.padding as isize;
            let lo = (-d).max(0) as usize;
            let hi = (tokens as isize - d.max(0)).max(0) as usize;
            if lo >= hi {
                continue;
            }
            let src = (lo as isize + d) as usize;
            matmul(&x[src * c..(src + hi - lo) * c], tap, &mut out[lo * f..hi * f], hi - lo);
        }
        for row in out.chunks_exact_mut(f) {
            let norm = self.mean.iter().zip(&self.std).zip(self.scale.iter().zip(&self.shift));
            for (v, ((mean, std), (scale, shift))) in row.iter_mut().zip(norm) {
                // The reference's order of operations: ((relu(x) − mean) / std) · weight + bias.
                *v = (v.max(0.0) - mean) / std * scale + shift;
            }
        }
    }
}

/// The CNN encoder shared by the three models: a stack of [`ConvBlock`]s.
pub(crate) struct Encoder {
    layers: Vec<ConvBlock>,
}

impl Encoder {
    /// Reads the blocks `{at}/layers/N`; each must take the previous one's width.
    pub(crate) fn load(pack: &Pack, at: &str) -> Result<Encoder> {
        let count = pack.node(&format!("{at}/layers"))?.as_array().map_or(0, Vec::len);
        let layers =
            (0..count).map(|i| ConvBlock::load(pack, &format!("{at}/layers/{i}"))).collect::<Result<Vec<_>>>()?;
        if layers.is_empty() || layers.windows(2).any(|w| w[0].output() != w[1].input()) {
            return Err(pack.archive.corrupt(format!("{at}: no layers or mismatched widths")));
        }
        Ok(Encoder { layers })
    }

    /// Input width.
    pub(crate) fn input(&self) -> usize {
        self.layers[0].input()
    }

    /// Output width.
    pub(crate) fn output(&self) -> usize {
        self.layers[self.layers.len() - 1].output()
    }

    /// Encodes `tokens` rows of `x`, returning `tokens × output()` values.
    pub(crate) fn forward(&self, x: &[f32], tokens: usize) -> Vec<f32> {
        let mut current = Vec::new();
        let mut next = Vec::new();
        self.layers[0].forward(x, tokens, &mut current);
        for layer in &self.layers[1..] {
            layer.forward(&current, tokens, &mut next);
            std::mem::swap(&mut current, &mut next);
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_accumulates() {
        // [1 2; 3 4] · [5; 6] = [17; 39], plus the 1s already in c.
        let mut c = vec![1.0, 1.0];
        matmul(&[1.0, 2.0, 3.0, 4.0], &Packed::new(&[5.0, 6.0], 2, 1), &mut c, 2);
        assert_eq!(c, [18.0, 40.0]);
    }

    #[test]
    fn matmul_matches_the_naive_product_on_odd_shapes() {
        for (m, k, n) in [(1, 1, 1), (5, 7, 17), (9, 3, 33), (4, 16, 16), (0, 3, 4)] {
            let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 - 3.0).collect();
            let w: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.5 - 1.0).collect();
            let mut c = vec![0.25f32; m * n];
            matmul(&a, &Packed::new(&w, k, n), &mut c, m);
            for i in 0..m {
                for j in 0..n {
                    let expected: f32 = 0.25 + (0..k).map(|l| a[i * k + l] * w[l * n + j]).sum::<f32>();
                    assert_eq!(c[i * n + j], expected, "{m}x{k}x{n} at {i},{j}");
                }
            }
        }
    }

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[-1.0]), 0);
        assert_eq!(argmax(&[]), 0);
    }

    #[test]
    fn linear_adds_the_bias() {
        let linear = Linear::new(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], vec![0.5, -0.5], 3, 2);
        let mut out = Vec::new();
        linear.forward(&[1.0, 2.0, 3.0], 1, &mut out);
        assert_eq!(out, [4.5, 4.5]);
    }

    fn block(taps: Vec<Vec<f32>>, bias: f32) -> ConvBlock {
        ConvBlock {
            taps: taps.iter().map(|t| Packed::new(t, 1, 1)).collect(),
            bias: vec![bias],
            padding: 1,
            input: 1,
            output: 1,
            mean: vec![1.0],
            std: vec![2.0],
            scale: vec![3.0],
            shift: vec![0.5],
        }
    }

    #[test]
    fn convolution_pads_with_zeros_then_relu_then_norm() {
        // Kernel [1, 10, 100] over x = [1, 2, 3]: t=0: 0·1 + 1·10 + 2·100 = 210,
        // t=1: 1 + 20 + 300 = 321, t=2: 2 + 30 + 0 = 32; bias −40 → 170, 281, −8 → relu 0.
        let conv = block(vec![vec![1.0], vec![10.0], vec![100.0]], -40.0);
        let mut out = Vec::new();
        conv.forward(&[1.0, 2.0, 3.0], 3, &mut out);
        let norm = |v: f32| (v - 1.0) / 2.0 * 3.0 + 0.5;
        assert_eq!(out, [norm(170.0), norm(281.0), norm(0.0)]);
        conv.forward(&[5.0], 1, &mut out);
        assert_eq!(out, [norm(10.0)]);
        conv.forward(&[], 0, &mut out);
        assert!(out.is_empty());
    }
}

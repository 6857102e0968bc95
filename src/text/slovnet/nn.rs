//! The few layers the slovnet models are made of, in f32 on row-major `[tokens × features]`
//! buffers: linear maps, a same-length 1-d convolution over the token axis, ReLU and inference
//! batch norm. Matrix products use weights packed at load ([`Packed`]) and a small tiled
//! kernel compiled for AVX2 when the CPU has it; element-wise steps are plain loops.

use super::pack::Pack;
use crate::encoder::gemm::{self, QuantMatrix, QuantRows};
use crate::encoder::SimdLevel;
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
    match SimdLevel::active() {
        // SAFETY: the active level is supported by this CPU and includes AVX-512 F.
        SimdLevel::Avx512 | SimdLevel::Avx512Vnni => return unsafe { matmul_avx512(a, w, c, m) },
        // SAFETY: the active level is supported by this CPU and includes AVX2.
        SimdLevel::Avx2 => return unsafe { matmul_avx2(a, w, c, m) },
        SimdLevel::Scalar => {}
    }
    matmul_portable(a, w, c, m);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn matmul_avx2(a: &[f32], w: &Packed, c: &mut [f32], m: usize) {
    matmul_portable(a, w, c, m);
}

/// Token rows per AVX-512 tile (× 2 blocks: 12 accumulators).
#[cfg(target_arch = "x86_64")]
const ROWS_512: usize = 6;

/// AVX-512: tiles of up to 6 rows × 2 blocks of 16 columns held in registers over the whole `k`.
///
/// # Safety
/// The CPU must support AVX-512 F; `a` and `c` must hold `m` rows (as [`matmul`] asserts).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn matmul_avx512(a: &[f32], w: &Packed, c: &mut [f32], m: usize) {
    let blocks = w.n.div_ceil(BLOCK);
    let mut b = 0;
    while b < blocks {
        let two = b + 1 < blocks;
        let mut t = 0;
        while t < m {
            let rows = ROWS_512.min(m - t);
            // SAFETY: rows t..t + rows exist, blocks b (and b + 1 when `two`) exist.
            unsafe {
                match (rows, two) {
                    (6, true) => tile_512::<6, 2>(a, w, c, t, b),
                    (5, true) => tile_512::<5, 2>(a, w, c, t, b),
                    (4, true) => tile_512::<4, 2>(a, w, c, t, b),
                    (3, true) => tile_512::<3, 2>(a, w, c, t, b),
                    (2, true) => tile_512::<2, 2>(a, w, c, t, b),
                    (1, true) => tile_512::<1, 2>(a, w, c, t, b),
                    (6, false) => tile_512::<6, 1>(a, w, c, t, b),
                    (5, false) => tile_512::<5, 1>(a, w, c, t, b),
                    (4, false) => tile_512::<4, 1>(a, w, c, t, b),
                    (3, false) => tile_512::<3, 1>(a, w, c, t, b),
                    (2, false) => tile_512::<2, 1>(a, w, c, t, b),
                    _ => tile_512::<1, 1>(a, w, c, t, b),
                }
            }
            t += rows;
        }
        b += if two { 2 } else { 1 };
    }
}

/// Rows `t..t + R` times blocks `b..b + NB`, added into `c`.
///
/// # Safety
/// AVX-512 F; the rows and blocks must exist.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn tile_512<const R: usize, const NB: usize>(a: &[f32], w: &Packed, c: &mut [f32], t: usize, b: usize) {
    use std::arch::x86_64::*;
    let (k, n) = (w.k, w.n);
    let mut acc = [[_mm512_setzero_ps(); NB]; R];
    let a = &a[t * k..(t + R) * k];
    let wb = &w.data[b * k * BLOCK..(b + NB) * k * BLOCK];
    // Row pointers, so that the loop carries no bounds checks (the slices above were checked).
    let rows: [*const f32; R] = std::array::from_fn(|r| a[r * k..].as_ptr());
    for i in 0..k {
        let mut wv = [_mm512_setzero_ps(); NB];
        for (q, wv) in wv.iter_mut().enumerate() {
            // SAFETY: block b + q holds k rows of 16 values.
            *wv = unsafe { _mm512_loadu_ps(wb.as_ptr().add((q * k + i) * BLOCK)) };
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: row r of `a` has k values and i < k.
            let x = _mm512_set1_ps(unsafe { *rows[r].add(i) });
            for q in 0..NB {
                acc[q] = _mm512_fmadd_ps(x, wv[q], acc[q]);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (q, acc) in acc.iter().enumerate() {
            let first = (b + q) * BLOCK;
            let width = BLOCK.min(n - first);
            let mask: __mmask16 = ((1u32 << width) - 1) as u16;
            let out = &mut c[(t + r) * n + first..(t + r) * n + first + width];
            // SAFETY: the mask covers `width` values, all inside `out`.
            unsafe {
                let old = _mm512_maskz_loadu_ps(mask, out.as_ptr());
                _mm512_mask_storeu_ps(out.as_mut_ptr(), mask, _mm512_add_ps(old, *acc));
            }
        }
    }
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
/// then ReLU, then batch norm with frozen statistics. The convolution runs as one product over
/// the sentence: each token's window of `kernel` neighbouring rows is laid out as one row of
/// `kernel · input` values (zeros outside the sentence), times the weight matrix packed at
/// load. The first block of each model runs in int8 inside the [`Stem`](super::body::Stem);
/// the later ones here in f32: int8 there too moved 1 % of heads and relations (tests/
/// slovnet_parity.rs), int8 with a second pass on the activations' rounding error still 0.8 %.
pub(crate) struct ConvBlock {
    /// `[output × kernel · input]`: column `j · input + c` is channel `c` at tap `j` (token
    /// `t + j − padding`).
    weight: Vec<f32>,
    /// `weight` transposed and packed for [`matmul`].
    packed: Packed,
    bias: Vec<f32>,
    padding: usize,
    kernel: usize,
    input: usize,
    output: usize,
    mean: Vec<f32>,
    std: Vec<f32>,
    scale: Vec<f32>,
    shift: Vec<f32>,
}

/// Buffers reused by the convolutions of one thread.
#[derive(Default)]
pub(crate) struct Scratch {
    /// The windows (`tokens × kernel · input`).
    pub(crate) cols: Vec<f32>,
    /// The stem's windows quantised.
    pub(crate) rows: QuantRows,
    /// Two layer outputs.
    pub(crate) a: Vec<f32>,
    pub(crate) b: Vec<f32>,
}

/// `w` (`rows × cols`) transposed.
pub(crate) fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0f32; w.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = w[r * cols + c];
        }
    }
    t
}

/// [`gemm::matmul`], for the stem.
pub(crate) fn gemm_matmul(rows: &QuantRows, w: &QuantMatrix, out: &mut [f32]) {
    gemm::matmul(rows, w, out);
}

/// Writes the windows of `tokens` rows of `x` (`width` wide) into `cols`: row `t` is rows
/// `t − padding ..= t + padding` of `x` side by side, zeros outside.
pub(crate) fn windows(x: &[f32], tokens: usize, width: usize, kernel: usize, padding: usize, cols: &mut Vec<f32>) {
    let row = kernel * width;
    cols.clear();
    cols.resize(tokens * row, 0.0);
    for (t, out) in cols.chunks_exact_mut(row).enumerate() {
        for (j, out) in out.chunks_exact_mut(width).enumerate() {
            let src = t + j;
            if src >= padding && src - padding < tokens {
                let src = src - padding;
                out.copy_from_slice(&x[src * width..(src + 1) * width]);
            }
        }
    }
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
        Ok(ConvBlock::new(
            &weight,
            [input, output, kernel, padding],
            vector("conv/bias")?,
            [vector("norm/mean")?, vector("norm/std")?, vector("norm/weight")?, vector("norm/bias")?],
        ))
    }

    /// A block from the PyTorch weight `[output, input, kernel]`, the bias and the norm's
    /// mean, std, weight and bias.
    pub(crate) fn new(
        torch: &[f32],
        [input, output, kernel, padding]: [usize; 4],
        bias: Vec<f32>,
        [mean, std, scale, shift]: [Vec<f32>; 4],
    ) -> ConvBlock {
        let k = kernel * input;
        let mut weight = vec![0f32; output * k];
        for f in 0..output {
            for c in 0..input {
                for j in 0..kernel {
                    weight[f * k + j * input + c] = torch[(f * input + c) * kernel + j];
                }
            }
        }
        let packed = Packed::new(&transpose(&weight, output, k), k, output);
        ConvBlock { weight, packed, bias, padding, kernel, input, output, mean, std, scale, shift }
    }

    /// Input width.
    pub(crate) fn input(&self) -> usize {
        self.input
    }

    /// Output width.
    pub(crate) fn output(&self) -> usize {
        self.output
    }

    /// Kernel size and padding.
    pub(crate) fn window(&self) -> (usize, usize) {
        (self.kernel, self.padding)
    }

    /// The `[output × kernel · input]` weight (see the field) and the bias.
    pub(crate) fn weight(&self) -> (&[f32], &[f32]) {
        (&self.weight, &self.bias)
    }

    /// Applies the block to `tokens` rows of `x` (`tokens × input`), replacing `out`.
    pub(crate) fn forward(&self, x: &[f32], tokens: usize, out: &mut Vec<f32>, cols: &mut Vec<f32>) {
        windows(x, tokens, self.input, self.kernel, self.padding, cols);
        out.clear();
        for _ in 0..tokens {
            out.extend_from_slice(&self.bias);
        }
        matmul(cols, &self.packed, out, tokens);
        self.norm(out);
    }

    /// ReLU then the batch norm, in place on rows of `output()` convolution outputs.
    pub(crate) fn norm(&self, out: &mut [f32]) {
        for row in out.chunks_exact_mut(self.output) {
            let norm = self.mean.iter().zip(&self.std).zip(self.scale.iter().zip(&self.shift));
            for (v, ((mean, std), (scale, shift))) in row.iter_mut().zip(norm) {
                // The reference's order of operations: ((relu(x) − mean) / std) · weight + bias.
                *v = (v.max(0.0) - mean) / std * scale + shift;
            }
        }
    }
}

/// The CNN encoder of a model: a stack of [`ConvBlock`]s.
pub(crate) struct Encoder {
    pub(crate) layers: Vec<ConvBlock>,
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

    /// Runs the layers after the first on `first` (the first layer's output, `tokens` rows),
    /// leaving the result in `first`.
    pub(crate) fn forward_rest(&self, first: &mut Vec<f32>, tokens: usize, scratch: &mut Scratch) {
        for layer in &self.layers[1..] {
            layer.forward(first, tokens, &mut scratch.b, &mut scratch.cols);
            std::mem::swap(first, &mut scratch.b);
        }
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

    fn block(taps: [f32; 3], bias: f32) -> ConvBlock {
        let norm = [vec![1.0], vec![2.0], vec![3.0], vec![0.5]];
        ConvBlock::new(&taps, [1, 1, 3, 1], vec![bias], norm)
    }

    #[test]
    fn convolution_pads_with_zeros_then_relu_then_norm() {
        // Kernel [1, 10, 100] over x = [1, 2, 3]: t=0: 0·1 + 1·10 + 2·100 = 210,
        // t=1: 1 + 20 + 300 = 321, t=2: 2 + 30 + 0 = 32; bias −40 → 170, 281, −8 → relu 0.
        let conv = block([1.0, 10.0, 100.0], -40.0);
        let (mut out, mut cols) = (Vec::new(), Vec::new());
        conv.forward(&[1.0, 2.0, 3.0], 3, &mut out, &mut cols);
        let norm = |v: f32| (v - 1.0) / 2.0 * 3.0 + 0.5;
        assert_eq!(out, [norm(170.0), norm(281.0), norm(0.0)]);
        conv.forward(&[5.0], 1, &mut out, &mut cols);
        assert_eq!(out, [norm(10.0)]);
        conv.forward(&[], 0, &mut out, &mut cols);
        assert!(out.is_empty());
    }
}

//! The few layers the slovnet models are made of, in f32 on row-major `[tokens × features]`
//! buffers: linear maps, a same-length 1-d convolution over the token axis, ReLU and inference
//! batch norm. Matrix products go through ndarray's GEMM (matrixmultiply, with AVX/FMA kernels
//! picked at run time), the element-wise steps are plain loops the compiler vectorises.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

use super::pack::Pack;
use crate::error::Result;

/// `c[m×n] += a[m×k] · b[k×n]`, all row-major and exactly of these lengths.
pub(crate) fn matmul_acc(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    if m == 0 || n == 0 {
        return;
    }
    // The callers size every buffer from the same m, k, n: a mismatch is a bug, not bad input.
    let a = ArrayView2::from_shape((m, k), a).expect("matmul: a is m×k");
    let b = ArrayView2::from_shape((k, n), b).expect("matmul: b is k×n");
    let mut c = ArrayViewMut2::from_shape((m, n), c).expect("matmul: c is m×n");
    general_mat_mul(1.0, &a, &b, 1.0, &mut c);
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
    weight: Vec<f32>,
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
        Linear { weight, bias, input, output }
    }

    /// Applies the map to `rows` rows of `x`, replacing `out`'s contents.
    pub(crate) fn forward(&self, x: &[f32], rows: usize, out: &mut Vec<f32>) {
        out.clear();
        for _ in 0..rows {
            out.extend_from_slice(&self.bias);
        }
        matmul_acc(x, &self.weight, out, rows, self.input, self.output);
    }
}

/// One encoder block: a 1-d convolution over tokens that keeps the length (zero padding),
/// then ReLU, then batch norm with frozen statistics.
pub(crate) struct ConvBlock {
    /// One `[in × out]` matrix per kernel tap, tap `j` reading token `t + j − padding`.
    taps: Vec<Vec<f32>>,
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
                tap
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
            matmul_acc(&x[src * c..(src + hi - lo) * c], tap, &mut out[lo * f..hi * f], hi - lo, c, f);
        }
        for row in out.chunks_exact_mut(f) {
            for i in 0..f {
                // The reference's order of operations: ((relu(x) − mean) / std) · weight + bias.
                row[i] = (row[i].max(0.0) - self.mean[i]) / self.std[i] * self.scale[i] + self.shift[i];
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
        matmul_acc(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0], &mut c, 2, 2, 1);
        assert_eq!(c, [18.0, 40.0]);
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
            taps,
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

//! Fused f32 row operations of the encoder, in place on row-major `rows × width` slices:
//! layer norm (optionally fused with the residual add), exact-erf GELU, softmax with an
//! additive mask, bias add, one attention head. No allocation.
//!
//! Each operation is written once, generic over a small SIMD abstraction ([`Simd`]: 16 lanes
//! of AVX-512, 8 of AVX2 + FMA, or 1 scalar lane), and compiled three times; the public
//! function runs the process's [`SimdLevel`] (the widest set the CPU has, unless
//! `SUFLER_SIMD` forces a lower one). `exp` and `erf` are polynomial
//! (Cephes `expf`; the rational erf of Eigen/XLA), so they vectorise. Results of the levels
//! agree to a few ulp (the SIMD ones fuse multiply-adds; the scalar one does not).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::simd::SimdLevel;

/// Defines `$name`, which runs `$imp` at the process's level ([`SimdLevel::active`]); `$at`,
/// the same at a given level (tests compare the levels through it); and the per-level entry
/// points `$v512` (AVX-512) and `$v256` (AVX2) they dispatch to.
macro_rules! multiversion {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) => $imp:ident, $v512:ident, $v256:ident, $at:ident) => {
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) {
            $at(SimdLevel::active(), $($arg),*)
        }

        $(#[$attr])*
        #[inline]
        fn $at(level: SimdLevel, $($arg: $ty),*) {
            assert!(level.is_supported(), "{level} is not supported by this CPU");
            #[cfg(target_arch = "x86_64")]
            match level {
                // SAFETY: the level is supported (asserted above) and includes AVX-512 F and FMA.
                SimdLevel::Avx512 | SimdLevel::Avx512Vnni => return unsafe { $v512($($arg),*) },
                // SAFETY: the level is supported (asserted above) and includes AVX2 and FMA.
                SimdLevel::Avx2 => return unsafe { $v256($($arg),*) },
                SimdLevel::Scalar => {}
            }
            $imp(Scalar, $($arg),*)
        }

        $(#[$attr])*
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,fma")]
        fn $v512($($arg: $ty),*) {
            // SAFETY: this function has AVX-512 F enabled, so it runs only where it exists.
            $imp(unsafe { Avx512::new() }, $($arg),*)
        }

        $(#[$attr])*
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        fn $v256($($arg: $ty),*) {
            // SAFETY: this function has AVX2 and FMA enabled, so it runs only where they exist.
            $imp(unsafe { Avx2::new() }, $($arg),*)
        }
    };
}

multiversion! {
    /// Layer norm of every row of `x` (`rows × width`): `(x − mean)/√(var + eps)·gamma + beta`
    /// (BERT uses `eps = 1e-12`).
    pub fn layer_norm(x: &mut [f32], width: usize, gamma: &[f32], beta: &[f32], eps: f32)
        => layer_norm_with, layer_norm_avx512, layer_norm_avx2, layer_norm_at
}

multiversion! {
    /// `x = layer_norm(x + residual)`, the residual add fused into the first pass.
    pub fn add_layer_norm(x: &mut [f32], residual: &[f32], width: usize, gamma: &[f32], beta: &[f32], eps: f32)
        => add_layer_norm_with, add_layer_norm_avx512, add_layer_norm_avx2, add_layer_norm_at
}

multiversion! {
    /// Exact (erf) GELU as BERT uses it, `x·½·(1 + erf(x/√2))`; absolute error about 1e-6.
    pub fn gelu(x: &mut [f32]) => gelu_with, gelu_avx512, gelu_avx2, gelu_at
}

multiversion! {
    /// Numerically stable softmax of every row of `x` (`rows × width`), after adding `mask`
    /// (one additive value per column, e.g. 0 for tokens and a large negative for padding)
    /// when given. Columns more than ~87 below the row maximum get exactly 0; a row whose
    /// values are all −∞ becomes zeros.
    pub fn softmax_rows(x: &mut [f32], width: usize, mask: Option<&[f32]>)
        => softmax_rows_with, softmax_rows_avx512, softmax_rows_avx2, softmax_rows_at
}

multiversion! {
    /// Adds `bias` (one value per column) to every row of `x` (`rows × width`).
    pub fn add_bias(x: &mut [f32], width: usize, bias: &[f32]) => add_bias_with, add_bias_avx512, add_bias_avx2, add_bias_at
}

multiversion! {
    /// One attention head of one sequence: `out = softmax(scale·q·kᵀ)·v`. Row `t` of q, k and
    /// v starts at `t·stride` of its slice (they are columns of a packed QKV matrix); `out` is
    /// `len × d` and `scores` `len × len` scratch.
    #[allow(clippy::too_many_arguments)]
    pub fn attend(q: &[f32], k: &[f32], v: &[f32], stride: usize, len: usize, scale: f32, scores: &mut [f32], out: &mut [f32])
        => attend_with, attend_avx512, attend_avx2, attend_at
}

multiversion! {
    /// `eˣ` element-wise (for tests of the vector `exp`).
    #[cfg(test)]
    fn exp_all(x: &mut [f32]) => exp_all_with, exp_all_avx512, exp_all_avx2, exp_all_at
}

/// A set of f32 vector operations. Implementors are zero-sized tokens that exist only where
/// the instructions do, so the methods are safe to call.
trait Simd: Copy {
    /// f32 values per vector (at most 16).
    const LANES: usize;
    /// The vector type.
    type V: Copy;
    fn splat(self, x: f32) -> Self::V;
    /// The first `LANES` values of `s`; panics if `s` is shorter.
    fn load(self, s: &[f32]) -> Self::V;
    /// Stores into the first `LANES` values of `s`; panics if `s` is shorter.
    fn store(self, s: &mut [f32], v: Self::V);
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    /// `1/a` to about 1 ulp (an estimate refined by a Newton step where that beats division).
    fn recip(self, a: Self::V) -> Self::V;
    /// `if a > b { a } else { b }` per lane (so a NaN `a` gives `b`).
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
    /// `if a < b { a } else { b }` per lane (so a NaN `a` gives `b`).
    fn min(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a·b + c`, fused where the instruction set has FMA.
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    fn reduce_add(self, v: Self::V) -> f32;
    fn reduce_max(self, v: Self::V) -> f32;
    /// `2ⁿ` from `v = n + MAGIC` with integral `n ∈ [−127, 127]` (`n = −127` gives 0).
    fn pow2_magic(self, v: Self::V) -> Self::V;

    /// `s` (shorter than `LANES`) followed by `fill`.
    #[inline(always)]
    fn load_partial(self, s: &[f32], fill: f32) -> Self::V {
        let mut buf = [fill; 16];
        buf[..s.len()].copy_from_slice(s);
        self.load(&buf)
    }

    /// Stores the first `s.len()` (< `LANES`) lanes.
    #[inline(always)]
    fn store_partial(self, s: &mut [f32], v: Self::V) {
        let mut buf = [0f32; 16];
        self.store(&mut buf, v);
        let n = s.len();
        s.copy_from_slice(&buf[..n]);
    }
}

/// 1.5·2²³: adding it rounds an f32 of magnitude below 2²² to an integer.
const MAGIC: f32 = 12_582_912.0;
/// `MAGIC`'s bits minus the exponent bias: `bits(n + MAGIC) − MAGIC_BIAS = n + 127`.
const MAGIC_BIAS: i32 = 0x4B40_0000 - 127;

/// One lane, plain Rust: the portable fallback.
#[derive(Clone, Copy)]
struct Scalar;

impl Simd for Scalar {
    const LANES: usize = 1;
    type V = f32;
    #[inline(always)]
    fn splat(self, x: f32) -> f32 {
        x
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> f32 {
        s[0]
    }
    #[inline(always)]
    fn store(self, s: &mut [f32], v: f32) {
        s[0] = v;
    }
    #[inline(always)]
    fn add(self, a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    fn sub(self, a: f32, b: f32) -> f32 {
        a - b
    }
    #[inline(always)]
    fn mul(self, a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    fn recip(self, a: f32) -> f32 {
        1.0 / a
    }
    #[inline(always)]
    fn max(self, a: f32, b: f32) -> f32 {
        if a > b {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn min(self, a: f32, b: f32) -> f32 {
        if a < b {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn mul_add(self, a: f32, b: f32, c: f32) -> f32 {
        // Not `f32::mul_add`: without hardware FMA that is a slow library call.
        a * b + c
    }
    #[inline(always)]
    fn reduce_add(self, v: f32) -> f32 {
        v
    }
    #[inline(always)]
    fn reduce_max(self, v: f32) -> f32 {
        v
    }
    #[inline(always)]
    fn pow2_magic(self, v: f32) -> f32 {
        f32::from_bits(((v.to_bits() as i32 - MAGIC_BIAS) << 23) as u32)
    }
}

/// AVX2 + FMA, 8 lanes.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Avx2(());

#[cfg(target_arch = "x86_64")]
impl Avx2 {
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    unsafe fn new() -> Avx2 {
        Avx2(())
    }
}

// SAFETY (every method): an `Avx2` value exists only on CPUs with AVX2 and FMA (`Avx2::new`);
// loads and stores check the slice length first.
#[cfg(target_arch = "x86_64")]
impl Simd for Avx2 {
    const LANES: usize = 8;
    type V = __m256;
    #[inline(always)]
    fn splat(self, x: f32) -> __m256 {
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> __m256 {
        assert!(s.len() >= 8);
        unsafe { _mm256_loadu_ps(s.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, s: &mut [f32], v: __m256) {
        assert!(s.len() >= 8);
        unsafe { _mm256_storeu_ps(s.as_mut_ptr(), v) }
    }
    #[inline(always)]
    fn add(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    fn recip(self, a: __m256) -> __m256 {
        unsafe {
            // 12-bit estimate, one Newton step: r·(2 − a·r).
            let r = _mm256_rcp_ps(a);
            _mm256_mul_ps(r, _mm256_fnmadd_ps(a, r, _mm256_set1_ps(2.0)))
        }
    }
    #[inline(always)]
    fn max(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_max_ps(a, b) }
    }
    #[inline(always)]
    fn min(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_min_ps(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn reduce_add(self, v: __m256) -> f32 {
        unsafe {
            let x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
            let x = _mm_add_ps(x, _mm_movehl_ps(x, x));
            _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)))
        }
    }
    #[inline(always)]
    fn reduce_max(self, v: __m256) -> f32 {
        unsafe {
            let x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
            let x = _mm_max_ps(x, _mm_movehl_ps(x, x));
            _mm_cvtss_f32(_mm_max_ss(x, _mm_movehdup_ps(x)))
        }
    }
    #[inline(always)]
    fn pow2_magic(self, v: __m256) -> __m256 {
        unsafe {
            let n = _mm256_sub_epi32(_mm256_castps_si256(v), _mm256_set1_epi32(MAGIC_BIAS));
            _mm256_castsi256_ps(_mm256_slli_epi32::<23>(n))
        }
    }
}

/// AVX-512 F + FMA, 16 lanes.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Avx512(());

#[cfg(target_arch = "x86_64")]
impl Avx512 {
    /// # Safety
    /// The CPU must support AVX-512 F and FMA.
    unsafe fn new() -> Avx512 {
        Avx512(())
    }
}

// SAFETY (every method): an `Avx512` value exists only on CPUs with AVX-512 F and FMA
// (`Avx512::new`); loads and stores check the slice length first.
#[cfg(target_arch = "x86_64")]
impl Simd for Avx512 {
    const LANES: usize = 16;
    type V = __m512;
    #[inline(always)]
    fn splat(self, x: f32) -> __m512 {
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> __m512 {
        assert!(s.len() >= 16);
        unsafe { _mm512_loadu_ps(s.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, s: &mut [f32], v: __m512) {
        assert!(s.len() >= 16);
        unsafe { _mm512_storeu_ps(s.as_mut_ptr(), v) }
    }
    #[inline(always)]
    fn add(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    fn recip(self, a: __m512) -> __m512 {
        unsafe {
            // 14-bit estimate, one Newton step: r·(2 − a·r).
            let r = _mm512_rcp14_ps(a);
            _mm512_mul_ps(r, _mm512_fnmadd_ps(a, r, _mm512_set1_ps(2.0)))
        }
    }
    #[inline(always)]
    fn max(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_max_ps(a, b) }
    }
    #[inline(always)]
    fn min(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_min_ps(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn reduce_add(self, v: __m512) -> f32 {
        unsafe { _mm512_reduce_add_ps(v) }
    }
    #[inline(always)]
    fn reduce_max(self, v: __m512) -> f32 {
        unsafe { _mm512_reduce_max_ps(v) }
    }
    #[inline(always)]
    fn pow2_magic(self, v: __m512) -> __m512 {
        unsafe {
            let n = _mm512_sub_epi32(_mm512_castps_si512(v), _mm512_set1_epi32(MAGIC_BIAS));
            _mm512_castsi512_ps(_mm512_slli_epi32::<23>(n))
        }
    }
}

fn check_rows(len: usize, width: usize) {
    assert!(width > 0 && len.is_multiple_of(width), "slice of {len} is not whole rows of {width}");
}

/// A vector function for [`fold_sum`] and [`map`]: a struct rather than a closure, because
/// closures cannot be forced inline and would be compiled without the SIMD target features.
trait VecFn<S: Simd>: Copy {
    fn apply(self, s: S, v: S::V) -> S::V;
}

/// `v`.
#[derive(Clone, Copy)]
struct Identity;

impl<S: Simd> VecFn<S> for Identity {
    #[inline(always)]
    fn apply(self, _: S, v: S::V) -> S::V {
        v
    }
}

/// `(v − mean)²`.
#[derive(Clone, Copy)]
struct SquaredDeviation<V>(V);

impl<S: Simd> VecFn<S> for SquaredDeviation<S::V> {
    #[inline(always)]
    fn apply(self, s: S, v: S::V) -> S::V {
        let d = s.sub(v, self.0);
        s.mul(d, d)
    }
}

/// `v·k`.
#[derive(Clone, Copy)]
struct Scale<V>(V);

impl<S: Simd> VecFn<S> for Scale<S::V> {
    #[inline(always)]
    fn apply(self, s: S, v: S::V) -> S::V {
        s.mul(v, self.0)
    }
}

/// `e^(v − max)`.
#[derive(Clone, Copy)]
struct ExpShifted<V>(V);

impl<S: Simd> VecFn<S> for ExpShifted<S::V> {
    #[inline(always)]
    fn apply(self, s: S, v: S::V) -> S::V {
        exp_v(s, s.sub(v, self.0))
    }
}

/// `eᵛ`.
#[cfg(test)]
#[derive(Clone, Copy)]
struct Exp;

#[cfg(test)]
impl<S: Simd> VecFn<S> for Exp {
    #[inline(always)]
    fn apply(self, s: S, v: S::V) -> S::V {
        exp_v(s, v)
    }
}

/// `v·½·(1 + erf(v/√2))`.
#[derive(Clone, Copy)]
struct Gelu;

impl<S: Simd> VecFn<S> for Gelu {
    #[inline(always)]
    fn apply(self, s: S, v: S::V) -> S::V {
        let h = s.mul(s.splat(0.5), v);
        s.mul_add(h, erf_v(s, s.mul(v, s.splat(std::f32::consts::FRAC_1_SQRT_2))), h)
    }
}

/// Σ of `f(v)` over the vectors of `row` (the tail padded with `pad`, which `f` must map to
/// 0), with two accumulators.
#[inline(always)]
fn fold_sum<S: Simd>(s: S, row: &[f32], pad: f32, f: impl VecFn<S>) -> f32 {
    let (mut a0, mut a1) = (s.splat(0.0), s.splat(0.0));
    let mut pairs = row.chunks_exact(2 * S::LANES);
    for c in &mut pairs {
        a0 = s.add(a0, f.apply(s, s.load(c)));
        a1 = s.add(a1, f.apply(s, s.load(&c[S::LANES..])));
    }
    let mut rest = pairs.remainder().chunks_exact(S::LANES);
    for c in &mut rest {
        a0 = s.add(a0, f.apply(s, s.load(c)));
    }
    let tail = rest.remainder();
    if !tail.is_empty() {
        a1 = s.add(a1, f.apply(s, s.load_partial(tail, pad)));
    }
    s.reduce_add(s.add(a0, a1))
}

/// Applies `f` to every vector of `x` in place.
#[inline(always)]
fn map<S: Simd>(s: S, x: &mut [f32], f: impl VecFn<S>) {
    let mut chunks = x.chunks_exact_mut(S::LANES);
    for c in &mut chunks {
        s.store(c, f.apply(s, s.load(c)));
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        s.store_partial(tail, f.apply(s, s.load_partial(tail, 0.0)));
    }
}

/// `x += y` element-wise.
#[inline(always)]
fn add_assign<S: Simd>(s: S, x: &mut [f32], y: &[f32]) {
    debug_assert_eq!(x.len(), y.len());
    let mut chunks = x.chunks_exact_mut(S::LANES);
    let mut ys = y.chunks_exact(S::LANES);
    for (c, d) in (&mut chunks).zip(&mut ys) {
        s.store(c, s.add(s.load(c), s.load(d)));
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        s.store_partial(tail, s.add(s.load_partial(tail, 0.0), s.load_partial(ys.remainder(), 0.0)));
    }
}

/// Rows handled together: each pass runs over all of them before the next starts, so the
/// reductions of different rows overlap instead of waiting for each other.
const ROW_BATCH: usize = 8;

/// Layer norm of a batch of at most [`ROW_BATCH`] rows (`residual` already added): sums,
/// two-pass variances, then `(x − mean)·inv·γ + β`.
#[inline(always)]
fn layer_norm_batch<S: Simd>(s: S, batch: &mut [f32], width: usize, gamma: &[f32], beta: &[f32], eps: f32) {
    let mut mean = [0f32; ROW_BATCH];
    let mut inv = [0f32; ROW_BATCH];
    for (row, m) in batch.chunks_exact(width).zip(&mut mean) {
        *m = fold_sum(s, row, 0.0, Identity) / width as f32;
    }
    for ((row, &m), i) in batch.chunks_exact(width).zip(&mean).zip(&mut inv) {
        // The tail is padded with the mean itself, which adds nothing.
        let var = fold_sum(s, row, m, SquaredDeviation(s.splat(m))) / width as f32;
        *i = 1.0 / (var + eps).sqrt();
    }
    for ((row, &m), &i) in batch.chunks_exact_mut(width).zip(&mean).zip(&inv) {
        let (mv, iv) = (s.splat(m), s.splat(i));
        let mut chunks = row.chunks_exact_mut(S::LANES);
        let mut gs = gamma.chunks_exact(S::LANES);
        let mut bs = beta.chunks_exact(S::LANES);
        for ((c, g), b) in (&mut chunks).zip(&mut gs).zip(&mut bs) {
            let y = s.mul_add(s.mul(s.sub(s.load(c), mv), iv), s.load(g), s.load(b));
            s.store(c, y);
        }
        let tail = chunks.into_remainder();
        if !tail.is_empty() {
            let (g, b) = (s.load_partial(gs.remainder(), 0.0), s.load_partial(bs.remainder(), 0.0));
            let y = s.mul_add(s.mul(s.sub(s.load_partial(tail, 0.0), mv), iv), g, b);
            s.store_partial(tail, y);
        }
    }
}

#[inline(always)]
fn layer_norm_with<S: Simd>(s: S, x: &mut [f32], width: usize, gamma: &[f32], beta: &[f32], eps: f32) {
    check_rows(x.len(), width);
    assert!(gamma.len() == width && beta.len() == width, "gamma/beta length");
    for batch in x.chunks_mut(ROW_BATCH * width) {
        layer_norm_batch(s, batch, width, gamma, beta, eps);
    }
}

#[inline(always)]
fn add_layer_norm_with<S: Simd>(
    s: S,
    x: &mut [f32],
    residual: &[f32],
    width: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) {
    check_rows(x.len(), width);
    assert_eq!(residual.len(), x.len(), "residual length");
    assert!(gamma.len() == width && beta.len() == width, "gamma/beta length");
    for (batch, res) in x.chunks_mut(ROW_BATCH * width).zip(residual.chunks(ROW_BATCH * width)) {
        add_assign(s, batch, res);
        layer_norm_batch(s, batch, width, gamma, beta, eps);
    }
}

/// erf with absolute error below 5e-7: the odd/even rational approximation used by Eigen and
/// XLA on [−4, 4] (|erf| rounds to 1 in f32 beyond).
#[inline(always)]
fn erf_v<S: Simd>(s: S, x: S::V) -> S::V {
    let x = s.min(s.max(x, s.splat(-4.0)), s.splat(4.0));
    let x2 = s.mul(x, x);
    let mut p = s.mul_add(x2, s.splat(-2.726_142_4e-10), s.splat(2.770_681_5e-8));
    for c in [-2.101_024e-6, -5.692_506_2e-5, -7.349_906_4e-4, -2.954_6e-3, -1.609_603_3e-2] {
        p = s.mul_add(x2, p, s.splat(c));
    }
    let mut q = s.mul_add(x2, s.splat(-1.456_607_15e-5), s.splat(-2.133_740_5e-4));
    for c in [-1.682_827e-3, -7.373_329_3e-3, -1.426_473_9e-2] {
        q = s.mul_add(x2, q, s.splat(c));
    }
    s.mul(s.mul(x, p), s.recip(q))
}

/// `eˣ` to about 2 ulp (Cephes `expf`: Cody–Waite reduction by ln 2, degree-5 polynomial,
/// exponent from bits); x is clamped to [−88, 88], and results below about e^−87.7 are 0.
#[inline(always)]
fn exp_v<S: Simd>(s: S, x: S::V) -> S::V {
    let x = s.min(s.max(x, s.splat(-88.0)), s.splat(88.0));
    let nm = s.mul_add(x, s.splat(std::f32::consts::LOG2_E), s.splat(MAGIC));
    let n = s.sub(nm, s.splat(MAGIC));
    let r = s.mul_add(n, s.splat(-0.693_359_4), x);
    let r = s.mul_add(n, s.splat(2.121_944_4e-4), r);
    let mut p = s.mul_add(s.splat(1.987_569_1e-4), r, s.splat(1.398_199_9e-3));
    for c in [8.333_452e-3, 4.166_579_6e-2, 0.166_666_66, 0.5] {
        p = s.mul_add(p, r, s.splat(c));
    }
    let e = s.mul_add(s.mul(p, r), r, s.add(r, s.splat(1.0)));
    s.mul(e, s.pow2_magic(nm))
}

#[inline(always)]
fn gelu_with<S: Simd>(s: S, x: &mut [f32]) {
    map(s, x, Gelu);
}

#[cfg(test)]
#[inline(always)]
fn exp_all_with<S: Simd>(s: S, x: &mut [f32]) {
    map(s, x, Exp);
}

/// The largest value of a row (−∞ for an empty or all-NaN row).
#[inline(always)]
fn row_max<S: Simd>(s: S, row: &[f32]) -> f32 {
    let (mut m0, mut m1) = (s.splat(f32::NEG_INFINITY), s.splat(f32::NEG_INFINITY));
    let mut pairs = row.chunks_exact(2 * S::LANES);
    for c in &mut pairs {
        m0 = s.max(s.load(c), m0);
        m1 = s.max(s.load(&c[S::LANES..]), m1);
    }
    let mut rest = pairs.remainder().chunks_exact(S::LANES);
    for c in &mut rest {
        m0 = s.max(s.load(c), m0);
    }
    if !rest.remainder().is_empty() {
        m1 = s.max(s.load_partial(rest.remainder(), f32::NEG_INFINITY), m1);
    }
    s.reduce_max(s.max(m0, m1))
}

#[inline(always)]
fn softmax_rows_with<S: Simd>(s: S, x: &mut [f32], width: usize, mask: Option<&[f32]>) {
    check_rows(x.len(), width);
    if let Some(mask) = mask {
        assert_eq!(mask.len(), width, "mask length");
    }
    for batch in x.chunks_mut(ROW_BATCH * width) {
        let mut max = [0f32; ROW_BATCH];
        for (row, m) in batch.chunks_exact_mut(width).zip(&mut max) {
            if let Some(mask) = mask {
                add_assign(s, row, mask);
            }
            *m = row_max(s, row);
        }
        let mut scale = [0f32; ROW_BATCH];
        for ((row, &m), k) in batch.chunks_exact_mut(width).zip(&max).zip(&mut scale) {
            if m == f32::NEG_INFINITY {
                // Every column masked out (or −∞): no distribution; zeros rather than NaN.
                row.fill(0.0);
                *k = 1.0;
                continue;
            }
            map(s, row, ExpShifted(s.splat(m)));
            *k = 1.0 / fold_sum(s, row, 0.0, Identity);
        }
        for (row, &k) in batch.chunks_exact_mut(width).zip(&scale) {
            map(s, row, Scale(s.splat(k)));
        }
    }
}

#[inline(always)]
fn add_bias_with<S: Simd>(s: S, x: &mut [f32], width: usize, bias: &[f32]) {
    check_rows(x.len(), width);
    assert_eq!(bias.len(), width, "bias length");
    for row in x.chunks_exact_mut(width) {
        add_assign(s, row, bias);
    }
}

#[inline(always)]
fn dot<S: Simd>(s: S, a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = s.splat(0.0);
    let (mut xs, mut ys) = (a.chunks_exact(S::LANES), b.chunks_exact(S::LANES));
    for (x, y) in (&mut xs).zip(&mut ys) {
        acc = s.mul_add(s.load(x), s.load(y), acc);
    }
    if !xs.remainder().is_empty() {
        acc = s.mul_add(s.load_partial(xs.remainder(), 0.0), s.load_partial(ys.remainder(), 0.0), acc);
    }
    s.reduce_add(acc)
}

/// `y += w·x`.
#[inline(always)]
fn add_scaled<S: Simd>(s: S, y: &mut [f32], w: f32, x: &[f32]) {
    debug_assert_eq!(x.len(), y.len());
    let w = s.splat(w);
    let mut ys = y.chunks_exact_mut(S::LANES);
    let mut xs = x.chunks_exact(S::LANES);
    for (c, d) in (&mut ys).zip(&mut xs) {
        s.store(c, s.mul_add(w, s.load(d), s.load(c)));
    }
    let tail = ys.into_remainder();
    if !tail.is_empty() {
        s.store_partial(tail, s.mul_add(w, s.load_partial(xs.remainder(), 0.0), s.load_partial(tail, 0.0)));
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn attend_with<S: Simd>(
    s: S,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    stride: usize,
    len: usize,
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) {
    if len == 0 {
        return;
    }
    let d = out.len() / len;
    assert!(
        out.len() == len * d && scores.len() == len * len,
        "attend: out {} / scores {} for {len} tokens",
        out.len(),
        scores.len()
    );
    for (i, scores) in scores.chunks_exact_mut(len).enumerate() {
        let qi = &q[i * stride..][..d];
        for (j, score) in scores.iter_mut().enumerate() {
            *score = dot(s, qi, &k[j * stride..][..d]) * scale;
        }
    }
    softmax_rows_with(s, scores, len, None);
    for (probabilities, out) in scores.chunks_exact(len).zip(out.chunks_exact_mut(d)) {
        out.fill(0.0);
        for (j, &p) in probabilities.iter().enumerate() {
            add_scaled(s, out, p, &v[j * stride..][..d]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rng(u64);

    impl Rng {
        fn uniform(&mut self) -> f32 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 40) as f32) / (1u64 << 24) as f32
        }

        /// Roughly normal: sum of 4 uniforms, centred, scaled to unit variance.
        fn normal(&mut self) -> f32 {
            let s: f32 = (0..4).map(|_| self.uniform()).sum();
            (s - 2.0) * 3f32.sqrt()
        }

        fn vec(&mut self, len: usize, sd: f32, mean: f32) -> Vec<f32> {
            (0..len).map(|_| mean + sd * self.normal()).collect()
        }
    }

    /// erf in f64 from the series `erf x = 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3···(2n+1))` (all terms
    /// positive, so no cancellation); 1 − 2e-17 beyond |x| = 6.
    fn erf_f64(x: f64) -> f64 {
        let a = x.abs();
        if a > 6.0 {
            return x.signum();
        }
        let mut term = a;
        let mut total = a;
        let mut n = 0.0;
        while term > total * 1e-18 {
            n += 1.0;
            term *= 2.0 * a * a / (2.0 * n + 1.0);
            total += term;
        }
        x.signum() * 2.0 / std::f64::consts::PI.sqrt() * (-a * a).exp() * total
    }

    #[test]
    fn erf_reference_is_right() {
        // Values from tables (A&S 7.1).
        for (x, want) in [
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (3.5, 0.999_999_256_901_627_7),
        ] {
            assert!((erf_f64(x) - want).abs() < 2e-15, "erf({x}) = {}", erf_f64(x));
            assert!((erf_f64(-x) + want).abs() < 2e-15);
        }
    }

    #[test]
    fn erf_and_gelu_accuracy() {
        let mut worst_erf = 0f64;
        let mut worst_gelu = 0f64;
        let xs: Vec<f32> = (0..=400_000).map(|i| -10.0 + i as f32 * 5e-5).collect();
        for x in &xs {
            worst_erf = worst_erf.max((f64::from(erf_v(Scalar, *x)) - erf_f64(f64::from(*x))).abs());
        }
        for level in SimdLevel::available() {
            let mut g = xs.clone();
            gelu_at(level, &mut g);
            for (&x, &y) in xs.iter().zip(&g) {
                let x64 = f64::from(x);
                let want = x64 * 0.5 * (1.0 + erf_f64(x64 / std::f64::consts::SQRT_2));
                worst_gelu = worst_gelu.max((f64::from(y) - want).abs());
            }
            let mut special = [0.0, -0.0, 1e-30, f32::MAX, 100.0, -f32::MAX, -100.0, -6.0];
            gelu_at(level, &mut special);
            assert_eq!(special[..5], [0.0, 0.0, 0.5e-30, f32::MAX, 100.0], "{level}");
            // Far below zero GELU is −0 or a tiny negative, never positive. Not always −0: with
            // AVX2's reciprocal (12-bit estimate, one Newton step) erf(−4) comes out one ulp
            // above −1, so GELU(x) there is about 3·10⁻⁸·x (−3·10⁻⁶ at −100, −10³¹ at
            // −f32::MAX); the scalar and AVX-512 levels give −0.
            for &x in &special[5..] {
                assert!((-f32::MAX * 1e-7..=0.0).contains(&x), "{level}: {special:?}");
            }
            assert!(special[6] > -1e-5 && special[7] > -1e-6, "{level}: {special:?}");
            if level != SimdLevel::Avx2 {
                assert!(special[5..].iter().all(|&x| x == 0.0), "{level}: {special:?}");
            }
        }
        eprintln!("max abs error: erf {worst_erf:.3e}, gelu {worst_gelu:.3e}");
        assert!(worst_erf < 5e-7, "erf error {worst_erf}");
        assert!(worst_gelu < 1.5e-6, "gelu error {worst_gelu}");
    }

    #[test]
    fn exp_accuracy() {
        let xs: Vec<f32> = (0..=1_750_000).map(|i| -87.0 + i as f32 * 1e-4).collect();
        let mut worst = 0f64;
        for level in SimdLevel::available() {
            let mut fast = xs.clone();
            exp_all_at(level, &mut fast);
            for (&x, &y) in xs.iter().zip(&fast) {
                let want = f64::from(x).exp();
                worst = worst.max((f64::from(y) - want).abs() / want);
            }
            let mut special = [0.0, -100.0, f32::NEG_INFINITY, f32::MIN, 1.0, 89.0];
            exp_all_at(level, &mut special);
            assert_eq!(special[..4], [1.0, 0.0, 0.0, 0.0], "{level}");
            assert!((special[4] - std::f32::consts::E).abs() < 3e-7 && special[5].is_finite(), "{level}");
        }
        // The plain entry point runs the process's level.
        let (mut plain, mut at) = (xs[..1000].to_vec(), xs[..1000].to_vec());
        exp_all(&mut plain);
        exp_all_at(SimdLevel::active(), &mut at);
        assert_eq!(plain, at);
        eprintln!("exp max relative error {worst:.3e}");
        assert!(worst < 3e-7, "exp relative error {worst}");
    }

    fn layer_norm_f64(x: &[f32], width: usize, gamma: &[f32], beta: &[f32], eps: f64) -> Vec<f64> {
        let mut out = Vec::with_capacity(x.len());
        for row in x.chunks(width) {
            let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / width as f64;
            let var = row.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / width as f64;
            for (c, &v) in row.iter().enumerate() {
                out.push((f64::from(v) - mean) / (var + eps).sqrt() * f64::from(gamma[c]) + f64::from(beta[c]));
            }
        }
        out
    }

    #[test]
    fn layer_norm_normalises() {
        let mut rng = Rng(1);
        for &width in &[384, 1536, 7, 33] {
            let rows = 5;
            let mut x = rng.vec(rows * width, 3.0, 10.0);
            layer_norm(&mut x, width, &vec![1.0; width], &vec![0.0; width], 1e-12);
            for row in x.chunks(width) {
                let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / width as f64;
                let var = row.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / width as f64;
                assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4, "width {width}: mean {mean}, var {var}");
            }
        }
    }

    #[test]
    fn layer_norm_matches_f64() {
        let mut rng = Rng(2);
        let (rows, width) = (9, 384);
        let x = rng.vec(rows * width, 2.0, -1.0);
        let res = rng.vec(rows * width, 1.0, 0.5);
        let gamma = rng.vec(width, 0.3, 1.0);
        let beta = rng.vec(width, 0.1, 0.0);
        let mut got = x.clone();
        layer_norm(&mut got, width, &gamma, &beta, 1e-12);
        let want = layer_norm_f64(&x, width, &gamma, &beta, 1e-12);
        let worst = got.iter().zip(&want).map(|(&a, &b)| (f64::from(a) - b).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-5, "layer_norm error {worst}");

        let summed: Vec<f32> = x.iter().zip(&res).map(|(a, b)| a + b).collect();
        let mut fused = x.clone();
        add_layer_norm(&mut fused, &res, width, &gamma, &beta, 1e-12);
        let mut plain = summed.clone();
        layer_norm(&mut plain, width, &gamma, &beta, 1e-12);
        assert_eq!(fused, plain);
    }

    #[test]
    fn softmax_properties() {
        let mut rng = Rng(3);
        let width = 128;
        let rows = 12 * 4;
        let x = rng.vec(rows * width, 4.0, 0.0);
        let mut mask = vec![0f32; width];
        mask[100..].fill(f32::MIN);
        mask[90] = f32::NEG_INFINITY;
        mask[91] = -10_000.0;
        let mut y = x.clone();
        softmax_rows(&mut y, width, Some(&mask));
        for (row, xrow) in y.chunks(width).zip(x.chunks(width)) {
            let total: f32 = row.iter().sum();
            assert!((total - 1.0).abs() < 1e-5, "sum {total}");
            assert!(row[100..].iter().all(|&v| v == 0.0) && row[90] == 0.0 && row[91] == 0.0);
            // Against f64 with the mask applied.
            let z: Vec<f64> = xrow.iter().zip(&mask).map(|(&v, &m)| f64::from(v) + f64::from(m)).collect();
            let max = z.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v));
            let total: f64 = z.iter().map(|&v| (v - max).exp()).sum();
            for (&got, &v) in row.iter().zip(&z) {
                let want = (v - max).exp() / total;
                assert!((f64::from(got) - want).abs() < 1e-7 + 1e-5 * want, "{got} vs {want}");
            }
        }
        // Large values do not overflow.
        let mut big = vec![1e4, 1e4 - 1.0, -1e4, 3e38, f32::MAX, 0.0, 88.0, 89.0];
        softmax_rows(&mut big, 8, None);
        assert!(big.iter().all(|v| v.is_finite()), "{big:?}");
        assert!((big.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(big[4], 1.0);
        let mut big = vec![1e4, 1e4 - 1.0, -1e4, 88.0];
        softmax_rows(&mut big, 4, None);
        let e = (-1f32).exp();
        assert!((big[0] - 1.0 / (1.0 + e)).abs() < 1e-6 && (big[1] - e / (1.0 + e)).abs() < 1e-6);
        // A fully masked row gives zeros, not NaN.
        let mut dead = vec![1.0, 2.0];
        softmax_rows(&mut dead, 2, Some(&[f32::NEG_INFINITY, f32::NEG_INFINITY]));
        assert_eq!(dead, [0.0, 0.0]);
    }

    #[test]
    fn add_bias_adds() {
        let mut x = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        add_bias(&mut x, 3, &[10.0, 20.0, 30.0]);
        assert_eq!(x, [11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
    }

    #[test]
    fn attention_head_matches_the_definition() {
        let mut rng = Rng(9);
        let (len, d, stride) = (5, 3, 11);
        let q = rng.vec(len * stride, 1.0, 0.0);
        let k = rng.vec(len * stride, 1.0, 0.0);
        let v = rng.vec(len * stride, 1.0, 0.0);
        let (mut scores, mut out) = (vec![0.0; len * len], vec![7.0; len * d]);
        attend(&q, &k, &v, stride, len, 0.5, &mut scores, &mut out);
        for i in 0..len {
            let logits: Vec<f64> = (0..len)
                .map(|j| 0.5 * (0..d).map(|c| (q[i * stride + c] * k[j * stride + c]) as f64).sum::<f64>())
                .collect();
            let total: f64 = logits.iter().map(|l| l.exp()).sum();
            for c in 0..d {
                let want: f64 = (0..len).map(|j| logits[j].exp() / total * v[j * stride + c] as f64).sum();
                assert!((out[i * d + c] as f64 - want).abs() < 1e-5, "token {i} column {c}");
            }
        }
    }

    /// Every level this CPU runs must agree with the scalar one, through the same dispatch the
    /// encoder uses: the bias add exactly (one rounding either way); the others to a few ulp,
    /// as the SIMD builds fuse multiply-adds and sum in another order. Widths that are not a
    /// multiple of the vector length exercise the partial loads and stores.
    #[test]
    fn levels_agree() {
        let mut rng = Rng(4);
        let levels = SimdLevel::available();
        for width in [384, 128, 37, 17, 16, 3] {
            let x = rng.vec(10 * width, 2.0, 0.3);
            let res = rng.vec(x.len(), 1.0, 0.0);
            let gamma = rng.vec(width, 0.2, 1.0);
            let beta = rng.vec(width, 0.2, 0.0);
            let bias = rng.vec(width, 0.2, 0.0);
            let mask: Vec<f32> = (0..width).map(|c| if c % 7 == 0 { -1e4 } else { 0.0 }).collect();
            let exp_in: Vec<f32> = x.iter().map(|v| (v * 20.0).clamp(-100.0, 80.0)).collect();
            let d = (width / 3).max(1);
            let run = |input: &[f32], f: &dyn Fn(&mut [f32])| {
                let mut y = input.to_vec();
                f(&mut y);
                y
            };
            let ops = |level: SimdLevel| {
                [
                    run(&x, &|y| layer_norm_at(level, y, width, &gamma, &beta, 1e-12)),
                    run(&x, &|y| add_layer_norm_at(level, y, &res, width, &gamma, &beta, 1e-12)),
                    run(&x, &|y| gelu_at(level, y)),
                    run(&x, &|y| softmax_rows_at(level, y, width, Some(&mask))),
                    run(&x, &|y| softmax_rows_at(level, y, width, None)),
                    run(&x, &|y| add_bias_at(level, y, width, &bias)),
                    run(&exp_in, &|y| exp_all_at(level, y)),
                    run(&x, &|y| {
                        let (q, k, v) = (&x[..], &res[..], &x[1..]);
                        attend_at(level, q, k, v, width, 10, 0.2, &mut [0.0; 100], &mut y[..10 * d])
                    }),
                ]
            };
            let names =
                ["layer_norm", "add_layer_norm", "gelu", "softmax", "softmax (no mask)", "add_bias", "exp", "attend"];
            let want = ops(SimdLevel::Scalar);
            for &level in &levels[1..] {
                for ((name, a), b) in names.iter().zip(&want).zip(ops(level)) {
                    // Attention sums dot products of up to 128 terms in another order, and its
                    // logits reach ~10, where exp turns that into relative error.
                    let tolerance = match *name {
                        "add_bias" => 0.0,
                        "attend" => 2e-4,
                        _ => 1e-6,
                    };
                    for (i, (p, q)) in a.iter().zip(&b).enumerate() {
                        let close = if tolerance == 0.0 {
                            p.to_bits() == q.to_bits()
                        } else {
                            (p - q).abs() <= tolerance * (1.0 + p.abs())
                        };
                        assert!(close, "{level} {name} width {width} at {i}: {p} vs {q}");
                    }
                }
            }
        }
    }
}

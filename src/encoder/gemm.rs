//! Int8 matrix multiplication for the encoder's linear layers: `y = x·Wᵀ + b` with activations
//! `x` (m × k) and a weight matrix `W` (n × k, the layout of a PyTorch `Linear` weight), both
//! quantised to 8 bits, accumulated exactly in i32 and dequantised to f32.
//!
//! Why hand-written: candle's quantised matmul quantises the activations and then runs a
//! matrix–vector product per token row, re-reading the whole weight matrix for every token; a
//! small BERT on CPU spends most of its time there. Here a tile of token rows is multiplied
//! against a block of weight rows, so every weight byte loaded from memory serves several
//! tokens, and blocks of output columns are spread over threads.
//!
//! Quantisation: weights symmetrically per output row, `w ≈ s_w·q_w` with `q_w ∈ [-127, 127]`;
//! activations per token row, `x ≈ s_x·(q_x − 128)` with `q_x` a u8 (zero point 128). The
//! VNNI instruction `vpdpbusd` multiplies u8 by i8, so the kernels compute
//! `Σ (q_x − 128)·q_w = Σ q_x·q_w − 128·Σ q_w`, the second term precomputed per weight row
//! (the accumulators start from it). The result is `s_x·s_w·dot + b`.
//!
//! Layout: weight rows are packed in blocks of 16 rows; inside a block, for every 4 consecutive
//! k (k padded with zeros to a multiple of 4) the 16 rows × 4 bytes are 64 contiguous bytes —
//! one zmm register, one `vpdpbusd` against 4 activation bytes broadcast to all lanes. The
//! activations are plain rows of `k` bytes padded with 128 (zero). All kernels produce the same
//! i32 dot products, hence bit-identical f32 outputs.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::simd::SimdLevel;

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Weight rows per packed block (16 i32 lanes of a zmm register).
const BLOCK: usize = 16;
/// Consecutive k values per lane (one `vpdpbusd` lane multiplies 4 byte pairs).
const KGROUP: usize = 4;
/// Bytes of one k group of a block: 16 rows × 4 k.
const KSTEP: usize = BLOCK * KGROUP;
/// Blocks per column group, the unit of parallel work (64 output columns).
const GROUP_BLOCKS: usize = 4;
/// Multiply-adds from which a product is split over threads.
const PAR_THRESHOLD: usize = 1 << 24;
/// AVX-512 tile: token rows × blocks of 16 output columns (20 zmm accumulators; 6 × 4 would
/// need more than the 32 registers with the weight and activation vectors).
#[cfg(target_arch = "x86_64")]
const MR_512: usize = 5;
#[cfg(target_arch = "x86_64")]
const NB_512: usize = 4;
/// AVX2 tile: token rows (× one block of 16 columns, two ymm per row).
#[cfg(target_arch = "x86_64")]
const MR_256: usize = 4;

/// `k` rounded up to the packing granularity.
fn padded_k(k: usize) -> usize {
    k.div_ceil(KGROUP) * KGROUP
}

/// A weight matrix quantised per output row to i8 and packed for the kernels, with its bias.
#[derive(Debug, Clone)]
pub struct QuantMatrix {
    n: usize,
    k: usize,
    kp: usize,
    /// Packed weights, over-allocated so that `data[offset..]` starts on a 64-byte boundary.
    data: Vec<i8>,
    offset: usize,
    /// Per output row, padded to a whole block: scale, `−128·Σ q_w`, bias.
    scale: Vec<f32>,
    corr: Vec<i32>,
    bias: Vec<f32>,
}

impl QuantMatrix {
    /// Quantises `weight` (n rows × k, row-major f32) per row to i8 with scale `max|row|/127`
    /// and packs it; `bias` has `n` values.
    pub fn quantize(weight: &[f32], n: usize, k: usize, bias: &[f32]) -> QuantMatrix {
        assert_eq!(weight.len(), n * k, "weight is not {n} × {k}");
        assert_eq!(bias.len(), n, "bias length");
        let kp = padded_k(k);
        let n_pad = n.div_ceil(BLOCK) * BLOCK;
        let len = n_pad * kp;
        let mut data = vec![0i8; len + 63];
        let offset = match data.as_ptr().align_offset(64) {
            o if o < 64 => o,
            _ => 0,
        };
        let packed = &mut data[offset..offset + len];
        let mut scale = vec![0f32; n_pad];
        let mut corr = vec![0i32; n_pad];
        let mut bias_p = vec![0f32; n_pad];
        for j in 0..n {
            let row = &weight[j * k..(j + 1) * k];
            let max = row.iter().fold(0f32, |a, &v| a.max(v.abs()));
            let s = if max > 0.0 && max.is_finite() { max / 127.0 } else { 1.0 };
            let block = &mut packed[(j / BLOCK) * BLOCK * kp..];
            let lane = (j % BLOCK) * KGROUP;
            let mut sum = 0i32;
            for (c, &v) in row.iter().enumerate() {
                let q = (v / s).round().clamp(-127.0, 127.0) as i8;
                sum += i32::from(q);
                block[(c / KGROUP) * KSTEP + lane + c % KGROUP] = q;
            }
            scale[j] = s;
            corr[j] = -128 * sum;
            bias_p[j] = bias[j];
        }
        QuantMatrix { n, k, kp, data, offset, scale, corr, bias: bias_p }
    }

    /// Output features (rows of W).
    pub fn n(&self) -> usize {
        self.n
    }

    /// Input features (columns of W).
    pub fn k(&self) -> usize {
        self.k
    }

    fn packed(&self) -> &[i8] {
        &self.data[self.offset..self.offset + self.scale.len() * self.kp]
    }
}

/// Activation rows quantised per row to u8 with zero point 128, reusable across calls.
#[derive(Debug, Clone, Default)]
pub struct QuantRows {
    m: usize,
    k: usize,
    kp: usize,
    /// `m` rows of `kp` bytes; the padding holds 128.
    data: Vec<u8>,
    scale: Vec<f32>,
}

impl QuantRows {
    /// Empty rows; buffers grow on the first [`QuantRows::quantize`].
    pub fn new() -> QuantRows {
        QuantRows::default()
    }

    /// Quantises `x` (m rows × k, row-major): `q = round(x/s) + 128` with `s = max|row|/127`
    /// (1 for an all-zero row), so `q ∈ [1, 255]`; rounding is to nearest, ties to even.
    /// Reuses the buffers, so no allocation once they are large enough.
    pub fn quantize(&mut self, x: &[f32], m: usize, k: usize) {
        self.quantize_with(SimdLevel::active(), x, m, k)
    }

    /// [`QuantRows::quantize`] compiled for `level` (every level gives the same bytes); panics
    /// if the CPU cannot run it or the shape disagrees with `x`.
    pub fn quantize_with(&mut self, level: SimdLevel, x: &[f32], m: usize, k: usize) {
        assert!(level.is_supported(), "{level} is not supported by this CPU");
        assert_eq!(x.len(), m * k, "activations are not {m} × {k}");
        let kp = padded_k(k);
        self.m = m;
        self.k = k;
        self.kp = kp;
        if self.data.len() < m * kp {
            self.data.resize(m * kp, 128);
        }
        if self.scale.len() < m {
            self.scale.resize(m, 1.0);
        }
        let (data, scale) = (&mut self.data[..m * kp], &mut self.scale[..m]);
        #[cfg(target_arch = "x86_64")]
        match level {
            // SAFETY: the level was checked to be supported above; it includes AVX-512 F/BW.
            SimdLevel::Avx512 | SimdLevel::Avx512Vnni => return unsafe { quantize_rows_avx512(x, k, kp, data, scale) },
            // SAFETY: as above; the level includes AVX2.
            SimdLevel::Avx2 => return unsafe { quantize_rows_avx2(x, k, kp, data, scale) },
            SimdLevel::Scalar => {}
        }
        quantize_rows(x, k, kp, data, scale);
    }

    /// Number of rows.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Values per row.
    pub fn k(&self) -> usize {
        self.k
    }
}

/// Quantises rows of `k` values into rows of `kp` bytes; written so that it vectorises.
#[inline(always)]
fn quantize_rows(x: &[f32], k: usize, kp: usize, data: &mut [u8], scale: &mut [f32]) {
    for ((row, q), s) in x.chunks_exact(k.max(1)).zip(data.chunks_exact_mut(kp.max(1))).zip(scale.iter_mut()) {
        let mut lanes = [0f32; 16];
        let chunks = row.chunks_exact(16);
        let mut max = chunks.remainder().iter().fold(0f32, |a, &v| if v.abs() > a { v.abs() } else { a });
        for c in chunks {
            for l in 0..16 {
                let a = c[l].abs();
                lanes[l] = if a > lanes[l] { a } else { lanes[l] };
            }
        }
        for l in lanes {
            max = if l > max { l } else { max };
        }
        let (sc, inv) = if max > 0.0 && max.is_finite() { (max / 127.0, 127.0 / max) } else { (1.0, 1.0) };
        *s = sc;
        for (d, &v) in q.iter_mut().zip(row) {
            // Clamped (NaN to −127) so that q ∈ [1, 255]; adding 2²³ + 128 rounds to the nearest
            // integer (ties to even) and leaves q in the low mantissa bits.
            let t = v * inv;
            let t = if t >= -127.0 { t } else { -127.0 };
            let t = if t <= 127.0 { t } else { 127.0 };
            *d = (t + 8_388_736.0).to_bits() as u8;
        }
        q[k..].fill(128);
    }
    if k == 0 {
        scale.fill(1.0);
        data.fill(128);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
fn quantize_rows_avx512(x: &[f32], k: usize, kp: usize, data: &mut [u8], scale: &mut [f32]) {
    quantize_rows(x, k, kp, data, scale)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn quantize_rows_avx2(x: &[f32], k: usize, kp: usize, data: &mut [u8], scale: &mut [f32]) {
    quantize_rows(x, k, kp, data, scale)
}

/// The matmul implementations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Portable Rust, the reference.
    Scalar,
    /// AVX2 (`vpmaddubsw` on |w| and sign-adjusted activations; exact, no saturation).
    Avx2,
    /// AVX-512 with VNNI (`vpdpbusd`).
    Avx512Vnni,
}

impl Kernel {
    /// The kernel run at `level`: AVX-512 without VNNI has no `vpdpbusd`, so it uses the AVX2
    /// kernel.
    pub fn for_level(level: SimdLevel) -> Kernel {
        match level {
            SimdLevel::Scalar => Kernel::Scalar,
            SimdLevel::Avx2 | SimdLevel::Avx512 => Kernel::Avx2,
            SimdLevel::Avx512Vnni => Kernel::Avx512Vnni,
        }
    }

    /// The lowest level that runs this kernel.
    pub fn level(self) -> SimdLevel {
        match self {
            Kernel::Scalar => SimdLevel::Scalar,
            Kernel::Avx2 => SimdLevel::Avx2,
            Kernel::Avx512Vnni => SimdLevel::Avx512Vnni,
        }
    }

    /// Whether this CPU can run the kernel.
    pub fn is_supported(self) -> bool {
        self.level().is_supported()
    }

    /// All kernels this CPU can run, the reference first.
    pub fn available() -> Vec<Kernel> {
        [Kernel::Scalar, Kernel::Avx2, Kernel::Avx512Vnni].into_iter().filter(|k| k.is_supported()).collect()
    }
}

/// `out` (m × n, row-major) = dequantised `x · Wᵀ + bias`, with the kernel of the process's
/// [`SimdLevel::active`] level.
pub fn matmul(x: &QuantRows, w: &QuantMatrix, out: &mut [f32]) {
    matmul_with(Kernel::for_level(SimdLevel::active()), x, w, out)
}

/// [`matmul`] with a chosen kernel; panics if the CPU cannot run it or the shapes disagree.
pub fn matmul_with(kernel: Kernel, x: &QuantRows, w: &QuantMatrix, out: &mut [f32]) {
    assert!(kernel.is_supported(), "{kernel:?} is not supported by this CPU");
    assert_eq!(x.k, w.k, "activations have k = {}, weights k = {}", x.k, w.k);
    let (m, n) = (x.m, w.n);
    assert_eq!(out.len(), m * n, "output is not {m} × {n}");
    if m == 0 || n == 0 {
        return;
    }
    let job = Job {
        x: &x.data[..m * x.kp],
        sx: &x.scale[..m],
        m,
        kp: x.kp,
        w: w.packed(),
        sw: &w.scale,
        corr: &w.corr,
        bias: &w.bias,
        n,
        n_blocks: w.scale.len() / BLOCK,
        out: OutPtr(out.as_mut_ptr()),
    };
    let groups = job.n_blocks.div_ceil(GROUP_BLOCKS);
    let run = |g: usize| match kernel {
        Kernel::Scalar => group_scalar(&job, g),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `kernel.is_supported()` was asserted above.
        Kernel::Avx2 => unsafe { group_avx2(&job, g) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `kernel.is_supported()` was asserted above.
        Kernel::Avx512Vnni => unsafe { group_avx512(&job, g) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!(),
    };
    let helpers = if m * n * w.k >= PAR_THRESHOLD { rayon::current_num_threads().min(groups) - 1 } else { 0 };
    if helpers == 0 {
        (0..groups).for_each(run);
        return;
    }
    // The calling thread works from the start and `helpers` pool tasks join in as they are
    // scheduled, all taking groups from one counter: a late-waking pool thread costs little.
    let next = AtomicUsize::new(0);
    let work = || loop {
        let g = next.fetch_add(1, Ordering::Relaxed);
        if g >= groups {
            break;
        }
        run(g);
    };
    rayon::in_place_scope(|scope| {
        for _ in 0..helpers {
            scope.spawn(|_| work());
        }
        work();
    });
}

/// The output pointer shared by the column groups.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: column groups write disjoint columns of the output (see `Job`), so sharing the
// pointer between threads never produces overlapping writes.
unsafe impl Send for OutPtr {}
// SAFETY: as above.
unsafe impl Sync for OutPtr {}

/// One product, with the slice lengths the kernels rely on established by `matmul_with`:
/// `x.len() = m·kp`, `sx.len() = m`, `w.len() = n_blocks·16·kp`, `sw`, `corr`, `bias` of
/// `n_blocks·16`, and `out` pointing to `m·n` f32 of which group `g` writes only columns
/// `[64g, min(64g + 64, n))`.
struct Job<'a> {
    x: &'a [u8],
    sx: &'a [f32],
    m: usize,
    kp: usize,
    w: &'a [i8],
    sw: &'a [f32],
    corr: &'a [i32],
    bias: &'a [f32],
    n: usize,
    n_blocks: usize,
    out: OutPtr,
}

impl Job<'_> {
    /// Blocks `[b0, b0 + nb)` of column group `g`.
    fn group_blocks(&self, g: usize) -> (usize, usize) {
        let b0 = g * GROUP_BLOCKS;
        (b0, GROUP_BLOCKS.min(self.n_blocks - b0))
    }
}

/// The reference kernel: one token row × one block at a time.
fn group_scalar(job: &Job, g: usize) {
    let (b0, nb) = job.group_blocks(g);
    let kp = job.kp;
    for i in 0..job.m {
        let xrow = &job.x[i * kp..(i + 1) * kp];
        for b in b0..b0 + nb {
            let wblk = &job.w[b * BLOCK * kp..(b + 1) * BLOCK * kp];
            let mut acc = [0i32; BLOCK];
            acc.copy_from_slice(&job.corr[b * BLOCK..(b + 1) * BLOCK]);
            for (xc, wc) in xrow.chunks_exact(KGROUP).zip(wblk.chunks_exact(KSTEP)) {
                for (l, a) in acc.iter_mut().enumerate() {
                    for e in 0..KGROUP {
                        *a += i32::from(xc[e]) * i32::from(wc[l * KGROUP + e]);
                    }
                }
            }
            for (l, &a) in acc.iter().enumerate() {
                let j = b * BLOCK + l;
                if j >= job.n {
                    break;
                }
                let y = (job.sx[i] * job.sw[j]) * (a as f32) + job.bias[j];
                // SAFETY: i < m and j < n, so the index is inside the m·n output; column j
                // belongs to group g only (see `Job`).
                unsafe { *job.out.0.add(i * job.n + j) = y };
            }
        }
    }
}

/// AVX-512 VNNI: for each sub-group of `NB_512` blocks, tiles of `MR_512` token rows.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VNNI; `job` must satisfy the invariants of [`Job`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn group_avx512(job: &Job, g: usize) {
    let (b0, nb) = job.group_blocks(g);
    let mut b = b0;
    while b < b0 + nb {
        let nbt = NB_512.min(b0 + nb - b);
        let mut i0 = 0;
        while i0 < job.m {
            let mr = MR_512.min(job.m - i0);
            // SAFETY: i0 + mr ≤ m and b + nbt ≤ n_blocks; the CPU check is the caller's.
            unsafe {
                match mr {
                    1 => tile_avx512_nb::<1>(job, i0, b, nbt),
                    2 => tile_avx512_nb::<2>(job, i0, b, nbt),
                    3 => tile_avx512_nb::<3>(job, i0, b, nbt),
                    4 => tile_avx512_nb::<4>(job, i0, b, nbt),
                    5 => tile_avx512_nb::<5>(job, i0, b, nbt),
                    6 => tile_avx512_nb::<6>(job, i0, b, nbt),
                    _ => unreachable!(),
                }
            }
            i0 += mr;
        }
        b += nbt;
    }
}

/// # Safety
/// As [`tile_avx512`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn tile_avx512_nb<const MR: usize>(job: &Job, i0: usize, b0: usize, nb: usize) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match nb {
            1 => tile_avx512::<MR, 1>(job, i0, b0),
            2 => tile_avx512::<MR, 2>(job, i0, b0),
            3 => tile_avx512::<MR, 3>(job, i0, b0),
            4 => tile_avx512::<MR, 4>(job, i0, b0),
            _ => unreachable!(),
        }
    }
}

/// Token rows `[i0, i0 + MR)` × blocks `[b0, b0 + NB)` (MR ≤ 6, NB ≤ 4): `MR·NB` zmm
/// accumulators, each weight vector loaded once per k group and used for `MR` rows. They are
/// named variables rather than an array so that LLVM keeps all of them in registers; those
/// beyond `MR`/`NB` are dead and removed (the conditions are constants).
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VNNI (the caller checked `Kernel::is_supported`);
/// `i0 + MR ≤ m`, `b0 + NB ≤ n_blocks` and `job` satisfies the invariants of [`Job`], which
/// keeps every read inside `x`, `w`, `sw`, `corr`, `bias` and every write inside the output
/// columns of this block range.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn tile_avx512<const MR: usize, const NB: usize>(job: &Job, i0: usize, b0: usize) {
    debug_assert!(MR <= 6 && NB <= 4 && i0 + MR <= job.m && b0 + NB <= job.n_blocks);
    let kp = job.kp;
    let bstride = BLOCK * kp;
    let j0 = b0 * BLOCK;
    // SAFETY (whole body): the offsets below stay inside the slices by the invariants above
    // (rows r < MR, blocks b < NB only); loads and stores tolerate any alignment.
    unsafe {
        let x = job.x.as_ptr().add(i0 * kp);
        let w = job.w.as_ptr().add(b0 * bstride);
        let corr = |b: usize| {
            if b < NB {
                _mm512_loadu_si512(job.corr.as_ptr().add(j0 + b * BLOCK).cast())
            } else {
                _mm512_setzero_si512()
            }
        };
        let (c0, c1, c2, c3) = (corr(0), corr(1), corr(2), corr(3));
        let (mut a00, mut a01, mut a02, mut a03) = (c0, c1, c2, c3);
        let (mut a10, mut a11, mut a12, mut a13) = (c0, c1, c2, c3);
        let (mut a20, mut a21, mut a22, mut a23) = (c0, c1, c2, c3);
        let (mut a30, mut a31, mut a32, mut a33) = (c0, c1, c2, c3);
        let (mut a40, mut a41, mut a42, mut a43) = (c0, c1, c2, c3);
        let (mut a50, mut a51, mut a52, mut a53) = (c0, c1, c2, c3);
        for t in 0..kp / KGROUP {
            let wl = |b: usize| {
                if b < NB {
                    _mm512_loadu_si512(w.add(b * bstride + t * KSTEP).cast())
                } else {
                    _mm512_setzero_si512()
                }
            };
            let xl = |r: usize| {
                if r < MR {
                    _mm512_set1_epi32(x.add(r * kp + t * KGROUP).cast::<i32>().read_unaligned())
                } else {
                    _mm512_setzero_si512()
                }
            };
            let (w0, w1, w2, w3) = (wl(0), wl(1), wl(2), wl(3));
            let (x0, x1, x2, x3, x4, x5) = (xl(0), xl(1), xl(2), xl(3), xl(4), xl(5));
            macro_rules! step {
                ($a:ident, $x:ident, $w:ident, $r:expr, $b:expr) => {
                    if $r < MR && $b < NB {
                        $a = _mm512_dpbusd_epi32($a, $x, $w);
                    }
                };
            }
            step!(a00, x0, w0, 0, 0);
            step!(a01, x0, w1, 0, 1);
            step!(a02, x0, w2, 0, 2);
            step!(a03, x0, w3, 0, 3);
            step!(a10, x1, w0, 1, 0);
            step!(a11, x1, w1, 1, 1);
            step!(a12, x1, w2, 1, 2);
            step!(a13, x1, w3, 1, 3);
            step!(a20, x2, w0, 2, 0);
            step!(a21, x2, w1, 2, 1);
            step!(a22, x2, w2, 2, 2);
            step!(a23, x2, w3, 2, 3);
            step!(a30, x3, w0, 3, 0);
            step!(a31, x3, w1, 3, 1);
            step!(a32, x3, w2, 3, 2);
            step!(a33, x3, w3, 3, 3);
            step!(a40, x4, w0, 4, 0);
            step!(a41, x4, w1, 4, 1);
            step!(a42, x4, w2, 4, 2);
            step!(a43, x4, w3, 4, 3);
            step!(a50, x5, w0, 5, 0);
            step!(a51, x5, w1, 5, 1);
            step!(a52, x5, w2, 5, 2);
            step!(a53, x5, w3, 5, 3);
        }
        macro_rules! store {
            ($a:ident, $r:expr, $b:expr) => {
                if $r < MR && $b < NB {
                    store_512(job, i0 + $r, j0 + $b * BLOCK, $a);
                }
            };
        }
        store!(a00, 0, 0);
        store!(a01, 0, 1);
        store!(a02, 0, 2);
        store!(a03, 0, 3);
        store!(a10, 1, 0);
        store!(a11, 1, 1);
        store!(a12, 1, 2);
        store!(a13, 1, 3);
        store!(a20, 2, 0);
        store!(a21, 2, 1);
        store!(a22, 2, 2);
        store!(a23, 2, 3);
        store!(a30, 3, 0);
        store!(a31, 3, 1);
        store!(a32, 3, 2);
        store!(a33, 3, 3);
        store!(a40, 4, 0);
        store!(a41, 4, 1);
        store!(a42, 4, 2);
        store!(a43, 4, 3);
        store!(a50, 5, 0);
        store!(a51, 5, 1);
        store!(a52, 5, 2);
        store!(a53, 5, 3);
    }
}

/// Dequantises 16 dot products of row `i`, columns `[j, j + 16)`, and stores those below `n`.
///
/// # Safety
/// AVX-512 F must be available; `i < m`, `j < n` with `j + 16 ≤ n_blocks·16`, and the columns
/// belong to the calling group (see [`Job`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn store_512(job: &Job, i: usize, j: usize, acc: __m512i) {
    // SAFETY: the reads of `sw`/`bias` end at `j + 16 ≤ n_blocks·16`; the write covers only
    // columns `< n` of row `i < m`.
    unsafe {
        let s = _mm512_mul_ps(_mm512_set1_ps(job.sx[i]), _mm512_loadu_ps(job.sw.as_ptr().add(j)));
        let y = _mm512_add_ps(_mm512_mul_ps(s, _mm512_cvtepi32_ps(acc)), _mm512_loadu_ps(job.bias.as_ptr().add(j)));
        let dst = job.out.0.add(i * job.n + j);
        let valid = job.n - j;
        if valid >= BLOCK {
            _mm512_storeu_ps(dst, y);
        } else {
            _mm512_mask_storeu_ps(dst, (1u16 << valid) - 1, y);
        }
    }
}

/// AVX2: for each block, tiles of `MR_256` token rows.
///
/// # Safety
/// The CPU must support AVX2; `job` must satisfy the invariants of [`Job`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn group_avx2(job: &Job, g: usize) {
    let (b0, nb) = job.group_blocks(g);
    for b in b0..b0 + nb {
        let mut i0 = 0;
        while i0 < job.m {
            let mr = MR_256.min(job.m - i0);
            // SAFETY: i0 + mr ≤ m and b < n_blocks; the CPU check is the caller's.
            unsafe {
                match mr {
                    1 => tile_avx2::<1>(job, i0, b),
                    2 => tile_avx2::<2>(job, i0, b),
                    3 => tile_avx2::<3>(job, i0, b),
                    4 => tile_avx2::<4>(job, i0, b),
                    _ => unreachable!(),
                }
            }
            i0 += mr;
        }
    }
}

/// Token rows `[i0, i0 + MR)` × block `b`. `vpmaddubsw` multiplies u8 by i8 with i16
/// saturation, so it gets `|w|` (≤ 127) and the activation with w's sign applied
/// (`q − 128 ∈ [−127, 127]`): a pair sums to at most 2·127·127 < 2¹⁵, never saturating. The
/// result is `Σ (q − 128)·w` directly, equal to the other kernels' corrected dot product.
///
/// # Safety
/// The CPU must support AVX2 (the caller checked `Kernel::is_supported`); `i0 + MR ≤ m`,
/// `b < n_blocks` and `job` satisfies the invariants of [`Job`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn tile_avx2<const MR: usize>(job: &Job, i0: usize, b: usize) {
    debug_assert!(i0 + MR <= job.m && b < job.n_blocks);
    let kp = job.kp;
    let j0 = b * BLOCK;
    // SAFETY (whole body): the offsets below stay inside the slices by the invariants above.
    unsafe {
        let x = job.x.as_ptr().add(i0 * kp);
        let w = job.w.as_ptr().add(b * BLOCK * kp);
        let ones = _mm256_set1_epi16(1);
        let flip = _mm256_set1_epi8(-128);
        let mut acc = [[_mm256_setzero_si256(); 2]; MR];
        for t in 0..kp / KGROUP {
            let mut xs = [_mm256_setzero_si256(); MR];
            for (r, v) in xs.iter_mut().enumerate() {
                let q = x.add(r * kp + t * KGROUP).cast::<i32>().read_unaligned();
                *v = _mm256_xor_si256(_mm256_set1_epi32(q), flip);
            }
            for h in 0..2 {
                let wv = _mm256_loadu_si256(w.add(t * KSTEP + h * 32).cast());
                let wa = _mm256_abs_epi8(wv);
                for (a, &xv) in acc.iter_mut().zip(&xs) {
                    let p = _mm256_maddubs_epi16(wa, _mm256_sign_epi8(xv, wv));
                    a[h] = _mm256_add_epi32(a[h], _mm256_madd_epi16(p, ones));
                }
            }
        }
        for (r, a) in acc.iter().enumerate() {
            let sx = _mm256_set1_ps(job.sx[i0 + r]);
            let orow = job.out.0.add((i0 + r) * job.n);
            for (h, &v) in a.iter().enumerate() {
                let j = j0 + h * 8;
                if j >= job.n {
                    break;
                }
                let s = _mm256_mul_ps(sx, _mm256_loadu_ps(job.sw.as_ptr().add(j)));
                let y =
                    _mm256_add_ps(_mm256_mul_ps(s, _mm256_cvtepi32_ps(v)), _mm256_loadu_ps(job.bias.as_ptr().add(j)));
                let valid = job.n - j;
                if valid >= 8 {
                    _mm256_storeu_ps(orow.add(j), y);
                } else {
                    let mut tmp = [0f32; 8];
                    _mm256_storeu_ps(tmp.as_mut_ptr(), y);
                    std::ptr::copy_nonoverlapping(tmp.as_ptr(), orow.add(j), valid);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64: a small deterministic generator.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// Uniform in [0, 1).
        fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Standard normal (Box–Muller).
        fn normal(&mut self) -> f32 {
            let u = self.uniform().max(1e-300);
            let v = self.uniform();
            ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
        }

        fn normals(&mut self, len: usize, sd: f32) -> Vec<f32> {
            (0..len).map(|_| self.normal() * sd).collect()
        }
    }

    /// The expected output computed straight from the quantised values (unpacked), in i64.
    fn reference_from_quantised(x: &QuantRows, w: &QuantMatrix) -> Vec<f32> {
        let (m, n, k, kp) = (x.m, w.n, w.k, w.kp);
        let packed = w.packed();
        let mut out = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut dot = 0i64;
                for c in 0..k {
                    let q = packed[(j / BLOCK) * BLOCK * kp + (c / KGROUP) * KSTEP + (j % BLOCK) * KGROUP + c % KGROUP];
                    dot += (i64::from(x.data[i * kp + c]) - 128) * i64::from(q);
                }
                out[i * n + j] = (x.scale[i] * w.scale[j]) * (dot as f32) + w.bias[j];
            }
        }
        out
    }

    /// Every level this CPU runs, end to end (its activation quantisation, then its kernel),
    /// gives the scalar level's output bit for bit.
    #[test]
    fn kernels_are_bit_identical_to_scalar() {
        let mut rng = Rng(7);
        let mut xq = QuantRows::new();
        let mut xl = QuantRows::new();
        let levels = SimdLevel::available();
        for &k in &[1, 63, 64, 65, 384, 1536] {
            for &n in &[1, 15, 16, 33, 384] {
                let w = rng.normals(n * k, 0.05);
                let bias = rng.normals(n, 0.1);
                let wq = QuantMatrix::quantize(&w, n, k, &bias);
                for &m in &[1, 3, 4, 5, 17, 64] {
                    let x = rng.normals(m * k, 1.0);
                    xq.quantize(&x, m, k);
                    let mut want = vec![f32::NAN; m * n];
                    matmul_with(Kernel::Scalar, &xq, &wq, &mut want);
                    if m * n * k < 1 << 18 {
                        let exact = reference_from_quantised(&xq, &wq);
                        assert!(exact.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "scalar {m}×{n}×{k}");
                    }
                    for &level in &levels[1..] {
                        let kernel = Kernel::for_level(level);
                        xl.quantize_with(level, &x, m, k);
                        let mut got = vec![f32::NAN; m * n];
                        matmul_with(kernel, &xl, &wq, &mut got);
                        for (idx, (a, b)) in want.iter().zip(&got).enumerate() {
                            assert_eq!(
                                a.to_bits(),
                                b.to_bits(),
                                "{level} ({kernel:?}) {m}×{n}×{k} at {idx}: {a} vs {b}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// The integer arithmetic itself, independent of the reference kernel: integer inputs in
    /// [−127, 127] whose rows reach ±127 quantise with scale 1 to themselves, so each output
    /// is the exact i32 dot product (below 2²⁴, so exact in f32) and must equal the one
    /// computed here in i64, at every level, for shapes that cut the 4-byte k groups, the
    /// 16-row blocks and the row tiles (AVX-512: 5 rows, AVX2: 4) anywhere.
    #[test]
    fn integer_products_are_exact_at_every_level() {
        let mut rng = Rng(13);
        let mut int_matrix = |rows: usize, k: usize| -> Vec<i32> {
            let mut v: Vec<i32> = (0..rows * k).map(|_| (rng.next_u64() % 255) as i32 - 127).collect();
            for r in 0..rows {
                v[r * k + (r * 7) % k] = if r % 2 == 0 { 127 } else { -127 };
            }
            v
        };
        let mut xq = QuantRows::new();
        for &k in &[1, 3, 4, 17, 64, 385, 1024] {
            for &n in &[1, 16, 17, 50] {
                let w = int_matrix(n, k);
                let wf: Vec<f32> = w.iter().map(|&v| v as f32).collect();
                let wq = QuantMatrix::quantize(&wf, n, k, &vec![0.0; n]);
                for &m in &[1, 4, 5, 6, 13] {
                    let x = int_matrix(m, k);
                    let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
                    let want: Vec<i64> = (0..m * n)
                        .map(|o| (0..k).map(|c| i64::from(x[(o / n) * k + c]) * i64::from(w[(o % n) * k + c])).sum())
                        .collect();
                    for level in SimdLevel::available() {
                        xq.quantize_with(level, &xf, m, k);
                        let mut got = vec![f32::NAN; m * n];
                        matmul_with(Kernel::for_level(level), &xq, &wq, &mut got);
                        let got: Vec<i64> = got.iter().map(|&v| v as i64).collect();
                        assert_eq!(got, want, "{level} {m}×{n}×{k}");
                    }
                }
            }
        }
    }

    /// Activation quantisation is compiled per level; the bytes and scales must not depend on
    /// it, including ties, NaN, infinities, huge values and rows of zeros.
    #[test]
    fn quantised_rows_are_identical_at_every_level() {
        let mut rng = Rng(17);
        for &k in &[1, 5, 16, 17, 384, 1537] {
            let m = 7;
            let mut x = rng.normals(m * k, 1.5);
            // Row 1: halves that round to even; row 2: NaN and infinities; row 3: zeros;
            // row 4: values near f32::MAX.
            for (c, v) in x[k..2 * k].iter_mut().enumerate() {
                *v = c as f32 - 0.5;
            }
            x[2 * k] = f32::NAN;
            if k > 2 {
                x[2 * k + 1] = f32::INFINITY;
                x[2 * k + 2] = f32::NEG_INFINITY;
            }
            x[3 * k..4 * k].fill(0.0);
            x[4 * k] = f32::MAX;
            let mut want = QuantRows::new();
            want.quantize_with(SimdLevel::Scalar, &x, m, k);
            for level in SimdLevel::available() {
                let mut got = QuantRows::new();
                got.quantize_with(level, &x, m, k);
                assert_eq!(got.data, want.data, "{level} k {k}: bytes");
                let bits = |q: &QuantRows| q.scale.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "{level} k {k}: scales");
            }
        }
    }

    #[test]
    fn extreme_values_stay_exact() {
        // Every activation at ±max and weights at ±127 give the largest dot products.
        let (m, n, k) = (5, 33, 1536);
        let x: Vec<f32> = (0..m * k).map(|i| if (i / 3) % 2 == 0 { 1.0 } else { -1.0 }).collect();
        let w: Vec<f32> = (0..n * k).map(|i| if i % 5 < 2 { -1.0 } else { 1.0 }).collect();
        let wq = QuantMatrix::quantize(&w, n, k, &vec![0.0; n]);
        let mut xq = QuantRows::new();
        xq.quantize(&x, m, k);
        let exact = reference_from_quantised(&xq, &wq);
        for kernel in Kernel::available() {
            let mut got = vec![0f32; m * n];
            matmul_with(kernel, &xq, &wq, &mut got);
            assert_eq!(got, exact, "{kernel:?}");
        }
    }

    fn f32_matmul(x: &[f32], w: &[f32], bias: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
        let mut out = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let dot: f64 = (0..k).map(|c| f64::from(x[i * k + c]) * f64::from(w[j * k + c])).sum();
                out[i * n + j] = dot as f32 + bias[j];
            }
        }
        out
    }

    fn cosine(a: &[f32], b: &[f32]) -> f64 {
        let dot: f64 = a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum();
        let na: f64 = a.iter().map(|&x| f64::from(x).powi(2)).sum();
        let nb: f64 = b.iter().map(|&x| f64::from(x).powi(2)).sum();
        dot / (na.sqrt() * nb.sqrt())
    }

    #[test]
    fn close_to_f32_matmul() {
        let mut rng = Rng(11);
        for &(m, n, k) in &[(7, 384, 384), (5, 1536, 384), (9, 384, 1536), (3, 50, 17)] {
            let x = rng.normals(m * k, 0.8);
            let w = rng.normals(n * k, 0.04);
            let bias = rng.normals(n, 0.02);
            let want = f32_matmul(&x, &w, &bias, m, n, k);
            let wq = QuantMatrix::quantize(&w, n, k, &bias);
            let mut xq = QuantRows::new();
            xq.quantize(&x, m, k);
            let mut got = vec![0f32; m * n];
            matmul(&xq, &wq, &mut got);
            for i in 0..m {
                let c = cosine(&want[i * n..(i + 1) * n], &got[i * n..(i + 1) * n]);
                assert!(c >= 0.999, "{m}×{n}×{k} row {i}: cosine {c}");
            }
            let err: f64 = want.iter().zip(&got).map(|(&a, &b)| f64::from(a - b).powi(2)).sum();
            let norm: f64 = want.iter().map(|&a| f64::from(a).powi(2)).sum();
            assert!((err / norm).sqrt() < 0.03, "{m}×{n}×{k}: relative error {}", (err / norm).sqrt());
        }
    }

    #[test]
    fn zero_rows_give_the_bias() {
        let (m, n, k) = (4, 20, 70);
        let mut rng = Rng(3);
        let mut w = rng.normals(n * k, 0.05);
        w[2 * k..3 * k].fill(0.0);
        let bias = rng.normals(n, 1.0);
        let mut x = rng.normals(m * k, 1.0);
        x[k..2 * k].fill(0.0);
        let wq = QuantMatrix::quantize(&w, n, k, &bias);
        let mut xq = QuantRows::new();
        xq.quantize(&x, m, k);
        for kernel in Kernel::available() {
            let mut out = vec![0f32; m * n];
            matmul_with(kernel, &xq, &wq, &mut out);
            assert_eq!(&out[n..2 * n], &bias[..], "{kernel:?}: zero activation row");
            for i in 0..m {
                assert_eq!(out[i * n + 2], bias[2], "{kernel:?}: zero weight row");
            }
        }
    }

    #[test]
    fn quant_rows_reuse_buffers() {
        let mut rng = Rng(5);
        let mut xq = QuantRows::new();
        xq.quantize(&rng.normals(64 * 384, 1.0), 64, 384);
        let ptr = xq.data.as_ptr();
        xq.quantize(&rng.normals(3 * 65, 1.0), 3, 65);
        assert_eq!(ptr, xq.data.as_ptr());
        assert_eq!((xq.m(), xq.k()), (3, 65));
        assert!(xq.data[..3 * 68].chunks(68).all(|r| r[65..] == [128, 128, 128]));
        // Quantised values reconstruct the input to within half a step.
        let x = rng.normals(2 * 10, 1.0);
        xq.quantize(&x, 2, 10);
        for i in 0..2 {
            for c in 0..10 {
                let back = (f32::from(xq.data[i * 12 + c]) - 128.0) * xq.scale[i];
                assert!((back - x[i * 10 + c]).abs() <= 0.5001 * xq.scale[i]);
            }
        }
    }

    #[test]
    fn empty_shapes() {
        let wq = QuantMatrix::quantize(&[], 3, 0, &[1.0, 2.0, 3.0]);
        let mut xq = QuantRows::new();
        xq.quantize(&[], 2, 0);
        for kernel in Kernel::available() {
            let mut out = vec![0f32; 6];
            matmul_with(kernel, &xq, &wq, &mut out);
            assert_eq!(out, [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
        }
        xq.quantize(&[], 0, 0);
        matmul(&xq, &wq, &mut []);
    }
}

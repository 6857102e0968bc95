//! A coarse int8 copy of a vector matrix for the first ranking stage.
//!
//! A library of 10 000 templates holds ~15 MB of f32 vectors per view; scanning them for every
//! message is bound by memory bandwidth (≈1.5 ms per view on the target machine). Rows in int8
//! with one scale per row are a quarter of that, and the error (≈0.003 in cosine) only matters
//! for picking candidates: their signals are then computed exactly in f32.
//! The products run on the encoder's int8 kernels (VNNI, AVX-512, AVX2, chosen at run time): a
//! plain loop compiled for the portable target multiplies 8 bytes at a time and took ≈0.5 ms
//! per view of 10 000 rows.

use crate::encoder::gemm::{self, QuantMatrix, QuantRows};

/// Rows quantised to int8, each with its own scale.
#[derive(Debug)]
pub struct Coarse {
    dim: usize,
    rows: QuantMatrix,
}

impl Default for Coarse {
    fn default() -> Self {
        Coarse::new(0, std::iter::empty())
    }
}

impl Coarse {
    /// Quantises `rows` (each of length `dim`).
    pub fn new<'a>(dim: usize, rows: impl IntoIterator<Item = &'a [f32]>) -> Coarse {
        let flat: Vec<f32> = rows
            .into_iter()
            .flat_map(|row| {
                debug_assert_eq!(row.len(), dim);
                row.iter().copied()
            })
            .collect();
        let n = flat.len().checked_div(dim).unwrap_or(0);
        Coarse { dim, rows: QuantMatrix::quantize(&flat, n, dim, &vec![0.0; n]) }
    }

    /// Approximate dot product of every row with `query`.
    pub fn dots(&self, query: &[f32]) -> Vec<f32> {
        let n = self.rows.n();
        if self.dim == 0 {
            return vec![0.0; n];
        }
        let mut q = QuantRows::new();
        q.quantize(query, 1, self.dim);
        let mut out = vec![0.0; n];
        gemm::matmul(&q, &self.rows, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approximates_dot_products_within_a_few_thousandths() {
        let dim = 384;
        let rows: Vec<Vec<f32>> = (0..50)
            .map(|r| crate::encoder::normalize((0..dim).map(|i| ((i * 7 + r * 13) as f32 * 0.37).sin()).collect()))
            .collect();
        let query = crate::encoder::normalize((0..dim).map(|i| (i as f32 * 0.11).cos()).collect());
        let coarse = Coarse::new(dim, rows.iter().map(Vec::as_slice));
        for (row, approx) in rows.iter().zip(coarse.dots(&query)) {
            let exact: f32 = row.iter().zip(&query).map(|(a, b)| a * b).sum();
            assert!((exact - approx).abs() < 0.005, "{exact} vs {approx}");
        }
        assert_eq!(Coarse::new(0, std::iter::empty()).dots(&[]), Vec::<f32>::new());
    }
}

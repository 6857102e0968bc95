//! A coarse int8 copy of a vector matrix for the first ranking stage.
//!
//! A library of 10 000 templates holds ~15 MB of f32 vectors per view; scanning them for every
//! message is bound by memory bandwidth (≈1.5 ms per view on the target machine). Rows in int8
//! with one scale per row are a quarter of that, and the error (≈0.003 in cosine) only matters
//! for picking candidates: their signals are then computed exactly in f32.
//! Hand-written because it is a dozen lines and the loop auto-vectorises.

/// Rows quantised to int8, each with its own scale.
#[derive(Debug, Default)]
pub struct Coarse {
    dim: usize,
    data: Vec<i8>,
    scales: Vec<f32>,
}

fn quantise(v: &[f32], out: &mut Vec<i8>) -> f32 {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    out.extend(v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8));
    scale
}

fn dot(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(&x, &y)| x as i32 * y as i32).sum()
}

impl Coarse {
    /// Quantises `rows` (each of length `dim`).
    pub fn new<'a>(dim: usize, rows: impl IntoIterator<Item = &'a [f32]>) -> Coarse {
        let mut coarse = Coarse { dim, ..Coarse::default() };
        for row in rows {
            debug_assert_eq!(row.len(), dim);
            let scale = quantise(row, &mut coarse.data);
            coarse.scales.push(scale);
        }
        coarse
    }

    /// Approximate dot product of every row with `query`.
    pub fn dots(&self, query: &[f32]) -> Vec<f32> {
        if self.dim == 0 {
            return vec![0.0; self.scales.len()];
        }
        let mut q = Vec::with_capacity(self.dim);
        let q_scale = quantise(query, &mut q);
        self.data.chunks_exact(self.dim).zip(&self.scales).map(|(row, s)| dot(row, &q) as f32 * s * q_scale).collect()
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

//! The dependency parser: a biaffine scorer picks each token's head among the other tokens and
//! a learnt root vector (head 0), then a second bilinear scorer picks the relation to the chosen
//! head. Like the reference, heads are independent argmaxes: the result need not be a tree
//! (a token may even be its own head).

use super::body::Body;
use super::nn::{argmax, matmul, relu, Linear, Packed};
use super::pack::Pack;
use super::tags::Rel;
use crate::error::Result;

/// Two ReLU projections of the token vectors (as a head and as a dependent), a root vector
/// standing in for head 0, and the kernel between them.
struct Bilinear {
    head: Linear,
    tail: Linear,
    root: Vec<f32>,
    kernel: Packed,
    /// Columns of `kernel`: `hidden × classes` (1 class for arcs).
    classes: usize,
}

impl Bilinear {
    fn load(pack: &Pack, at: &str, width: usize) -> Result<Bilinear> {
        let head = Linear::load(pack, &format!("{at}/head/proj"))?;
        let tail = Linear::load(pack, &format!("{at}/tail/proj"))?;
        let root = pack.weight_of(&format!("{at}/root"), &[width])?;
        let (kernel, shape) = pack.weight(&format!("{at}/kernel"), 2)?;
        let hidden = head.output;
        if head.input != width
            || tail.input != width
            || tail.output != hidden
            || shape[0] != hidden
            || shape[1] % hidden != 0
        {
            return Err(pack.archive.corrupt(format!("{at}: widths do not fit")));
        }
        Ok(Bilinear { head, tail, root, kernel: Packed::new(&kernel, shape[0], shape[1]), classes: shape[1] / hidden })
    }

    fn hidden(&self) -> usize {
        self.head.output
    }

    /// `relu(proj(rows))` for `count` rows.
    fn project(proj: &Linear, rows: &[f32], count: usize) -> Vec<f32> {
        let mut out = Vec::new();
        proj.forward(rows, count, &mut out);
        relu(&mut out);
        out
    }
}

/// slovnet_syntax_news_v1.
pub(crate) struct Syntax {
    body: Body,
    arc: Bilinear,
    rel: Bilinear,
}

impl Syntax {
    /// Reads the pack (see [`Body::load`] for the arguments).
    pub(crate) fn load(pack: &Pack, word_width: usize, shapes: usize) -> Result<Syntax> {
        let body = Body::load(pack, word_width, shapes)?;
        let width = body.output();
        let arc = Bilinear::load(pack, "/head", width)?;
        let rel = Bilinear::load(pack, "/rel", width)?;
        if arc.classes != 1 || rel.classes != Rel::COUNT || !Rel::vocabulary_matches(&pack.vocab("rel")?) {
            return Err(pack.archive.corrupt("the relation vocabulary or the arc kernel is not the expected one"));
        }
        Ok(Syntax { body, arc, rel })
    }

    /// The encoder.
    pub(crate) fn body(&self) -> &Body {
        &self.body
    }

    /// Head (0 = root, else the 1-based token) and relation per token, from the encoder's
    /// `t × body().output()` context vectors.
    pub(crate) fn predict(&self, x: &[f32], t: usize) -> Vec<(usize, Rel)> {
        let width = self.body.output();
        // The sentence with the arc scorer's root vector in front: row 0 is head candidate 0.
        let mut rooted = self.arc.root.clone();
        rooted.extend_from_slice(x);
        let heads = self.heads(&rooted, t);
        // The relation scorer reads each token's chosen head, with its own root vector.
        rooted[..width].copy_from_slice(&self.rel.root);
        let mut gathered = Vec::with_capacity(t * width);
        for &h in &heads {
            gathered.extend_from_slice(&rooted[h * width..(h + 1) * width]);
        }
        let rels = self.rels(&gathered, x, t);
        heads.into_iter().zip(rels).collect()
    }

    /// Argmax over the `t + 1` candidates of `score(i, j) = head_i · K · dep_j`, where the rows
    /// are the tokens as dependents' heads and the columns all candidates, root first.
    fn heads(&self, rooted: &[f32], t: usize) -> Vec<usize> {
        let arc = &self.arc;
        let hidden = arc.hidden();
        let as_head = Bilinear::project(&arc.head, rooted, t + 1);
        let as_tail = Bilinear::project(&arc.tail, rooted, t + 1);
        // (head · K) for the real tokens only: the root row's scores are never used.
        let mut hk = vec![0f32; t * hidden];
        matmul(&as_head[hidden..], &arc.kernel, &mut hk, t);
        let mut scores = vec![0f32; t + 1];
        hk.chunks_exact(hidden)
            .map(|row| {
                for (score, tail) in scores.iter_mut().zip(as_tail.chunks_exact(hidden)) {
                    *score = row.iter().zip(tail).map(|(a, b)| a * b).sum();
                }
                argmax(&scores)
            })
            .collect()
    }

    /// Argmax over the relations of `score(i, r) = head(g_i) · K_r · dep(x_i)`.
    fn rels(&self, gathered: &[f32], x: &[f32], t: usize) -> Vec<Rel> {
        let rel = &self.rel;
        let hidden = rel.hidden();
        let as_head = Bilinear::project(&rel.head, gathered, t);
        let as_tail = Bilinear::project(&rel.tail, x, t);
        let columns = hidden * rel.classes;
        let mut hk = vec![0f32; t * columns];
        matmul(&as_head, &rel.kernel, &mut hk, t);
        let mut scores = vec![0f32; rel.classes];
        hk.chunks_exact(columns)
            .zip(as_tail.chunks_exact(hidden))
            .map(|(row, tail)| {
                for (score, part) in scores.iter_mut().zip(row.chunks_exact(hidden)) {
                    *score = part.iter().zip(tail).map(|(a, b)| a * b).sum();
                }
                Rel::from_class(argmax(&scores))
            })
            .collect()
    }
}

//! The output rule: how a row's leaf sums (summed in the lane order, on the CPU or the GPU)
//! become its outputs. It runs on the CPU for both engines' sums, so both round alike.
//!
//! 1. Each sum is multiplied by `1 / n_trees` (that reciprocal rounded to `f32` once) when the
//!    forest averages its trees (ours; ONNX's `AVERAGE`), else kept (ONNX's `SUM`).
//! 2. The base value of its slot is added, where the forest has base values (boosted models).
//! 3. A single number makes two outputs where the forest is binary: `[1 - v, v]` (ours, and
//!    ONNX Runtime's rule for positive weights) or `[-v, v]` (its rule for scores).
//! 4. The post-transform runs over the row's outputs: none, logistic, softmax or ONNX's
//!    softmax-zero (an output of exactly 0 stays 0), with `libm`'s `expf` so that the page and
//!    the harness give the same bits.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pair {
    /// The sums are the outputs.
    None,
    OneMinus,
    Negate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Post {
    None,
    Logistic,
    Softmax,
    SoftmaxZero,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    /// Numbers a leaf holds, and a row sums.
    pub width: u32,
    pub average: bool,
    /// One per sum, or none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base: Vec<f32>,
    pub pair: Pair,
    pub post: Post,
}

impl Head {
    /// The head of the forests this program trains: leaves hold class probabilities (only
    /// class 1's for two classes) or the regression value, averaged over the trees.
    pub fn own(n_outputs: u32) -> Head {
        Head {
            width: if n_outputs <= 2 { 1 } else { n_outputs },
            average: true,
            base: Vec::new(),
            pair: if n_outputs == 2 {
                Pair::OneMinus
            } else {
                Pair::None
            },
            post: Post::None,
        }
    }

    /// Why this head cannot finish rows of `n_outputs` outputs, if it cannot.
    pub fn check(&self, n_outputs: u32) -> Result<(), String> {
        let w = self.width;
        if w == 0 {
            return Err("leaves hold no number".into());
        }
        let fits = match self.pair {
            Pair::None => w == n_outputs,
            Pair::OneMinus | Pair::Negate => w == 1 && n_outputs == 2,
        };
        if !fits {
            return Err(format!(
                "{w} numbers a leaf cannot make {n_outputs} outputs"
            ));
        }
        if !(self.base.is_empty() || self.base.len() == w as usize) {
            return Err(format!("{} base values for {w} sums", self.base.len()));
        }
        if self.base.iter().any(|b| !b.is_finite()) {
            return Err("a base value is not finite".into());
        }
        Ok(())
    }

    /// The outputs (`n_outputs` a row) of the sums `scores` ([`Self::width`] a row) of a forest
    /// of `n_trees` trees.
    pub fn finish(&self, n_outputs: u32, n_trees: usize, scores: &[f32], out: &mut [f32]) {
        let (w, no) = (self.width as usize, n_outputs as usize);
        let inv = 1.0 / n_trees as f32;
        let mut v = vec![0.0f32; w];
        for (s, o) in scores.chunks_exact(w).zip(out.chunks_exact_mut(no)) {
            for (k, (v, &s)) in v.iter_mut().zip(s).enumerate() {
                *v = if self.average { s * inv } else { s };
                if let Some(b) = self.base.get(k) {
                    *v += b;
                }
            }
            match self.pair {
                Pair::None => o.copy_from_slice(&v),
                Pair::OneMinus => o.copy_from_slice(&[1.0 - v[0], v[0]]),
                Pair::Negate => o.copy_from_slice(&[-v[0], v[0]]),
            }
            match self.post {
                Post::None => {}
                Post::Logistic => o.iter_mut().for_each(|x| *x = logistic(*x)),
                Post::Softmax => softmax(o, false),
                Post::SoftmaxZero => softmax(o, true),
            }
        }
    }
}

/// `1 / (1 + e^-x)`, computed on `-|x|` so that `e^` never overflows.
fn logistic(x: f32) -> f32 {
    let e = libm::expf(-x.abs());
    let p = 1.0 / (1.0 + e);
    if x < 0.0 { 1.0 - p } else { p }
}

/// Softmax, shifted by the largest value. With `zero`, ONNX's SOFTMAX_ZERO: a value of 0 takes
/// no share (it stays 0).
fn softmax(o: &mut [f32], zero: bool) {
    let max = o.iter().copied().fold(f32::MIN, f32::max);
    let mut sum = 0.0f32;
    for x in o.iter_mut() {
        *x = if zero && *x == 0.0 {
            0.0
        } else {
            libm::expf(*x - max)
        };
        sum += *x;
    }
    if sum > 0.0 {
        o.iter_mut().for_each(|x| *x /= sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_head_averages_and_pairs_binary_outputs() {
        let h = Head::own(2);
        let mut out = [0.0; 4];
        h.finish(2, 4, &[1.0, 3.0], &mut out);
        assert_eq!(out, [0.75, 0.25, 0.25, 0.75]);
        h.check(2).unwrap();
        assert!(h.check(3).is_err());
    }

    #[test]
    fn sums_get_base_values_then_the_post_transform() {
        let h = Head {
            width: 3,
            average: false,
            base: vec![1.0, 0.0, -1.0],
            pair: Pair::None,
            post: Post::Softmax,
        };
        let mut out = [0.0; 3];
        h.finish(3, 10, &[0.0, 1.0, 2.0], &mut out);
        // All three become 1: equal shares.
        assert!(out.iter().all(|&p| (p - 1.0 / 3.0).abs() < 1e-7), "{out:?}");
        let z = Head {
            post: Post::SoftmaxZero,
            base: Vec::new(),
            ..h
        };
        z.finish(3, 10, &[0.0, 1.0, 1.0], &mut out);
        assert_eq!(out, [0.0, 0.5, 0.5]);
    }

    #[test]
    fn negated_pairs_then_logistic_are_complements() {
        let h = Head {
            width: 1,
            average: false,
            base: vec![0.5],
            pair: Pair::Negate,
            post: Post::Logistic,
        };
        let mut out = [0.0; 2];
        h.finish(2, 3, &[1.5], &mut out);
        let p = 1.0 / (1.0 + (-2.0f64).exp());
        assert!(
            (f64::from(out[1]) - p).abs() < 1e-7 && (f64::from(out[0]) - (1.0 - p)).abs() < 1e-7
        );
        // Far from 0 the logistic saturates without overflow.
        h.finish(2, 3, &[-1e30], &mut out);
        assert_eq!(out, [1.0, 0.0]);
    }
}

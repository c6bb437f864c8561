//! A small generator: a one-hidden-layer decoder with one latent code per observation,
//! the MPD paper's image experiment scaled down. For observations y_j ∈ R^D, j = 1..M,
//! codes z_j ∈ R^{d_z} (the latent x = (z_1, …, z_M) ∈ R^{M·d_z}) and parameters
//! θ = (W₁ ∈ R^{H×d_z}, b₁ ∈ R^H, W₂ ∈ R^{D×H}, b₂ ∈ R^D) (stored in that order, row-major):
//!
//! $$ h_j = \tanh(W_1 z_j + b_1), \qquad a_j = W_2 h_j + b_2, \qquad z_j \sim N(0, I), $$
//!
//! and a pixel likelihood, dropping constants:
//! - Bernoulli with logits a: −log p(y | a) = Σ_k log(1 + e^{a_k}) − y_k a_k (y_k ∈ [0, 1];
//!   for y_k ∉ {0, 1} this is the cross-entropy, not a normalised likelihood);
//! - Gaussian with mean a and fixed σ: −log p(y | a) = |y − a|²/(2σ²).
//!
//! $$ E(\theta, x) = \sum_j \big[\tfrac12 |z_j|^2 - \log p(y_j \mid a_j)\big]. $$
//!
//! Gradients by hand-written backpropagation: with δa_j = ∂(−log p)/∂a_j (σ(a) − y, or
//! (a − y)/σ²), δpre_j = (W₂ᵀ δa_j) ⊙ (1 − h_j²):
//! ∇_{W₂} = Σ_j δa_j h_jᵀ, ∇_{b₂} = Σ_j δa_j, ∇_{W₁} = Σ_j δpre_j z_jᵀ, ∇_{b₁} = Σ_j δpre_j,
//! ∇_{z_j} = z_j + W₁ᵀ δpre_j. Checked against finite differences in `tests/latent.rs`.
//! Cost per evaluation: O(M (D H + H d_z)).

use crate::error::{EnergyError, Result, check_param};
use crate::fingerprint::Fingerprint;
use crate::latent::{LatentModel, check_finite_data, sigmoid, softplus};

/// Pixel likelihood of the decoder (module docs).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum PixelLikelihood {
    /// Bernoulli pixels with logits a (targets in [0, 1]).
    Bernoulli,
    /// Gaussian pixels with mean a and this standard deviation.
    Gaussian {
        /// σ > 0.
        sigma: f64,
    },
}

/// Layer sizes of the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DecoderShape {
    /// Latent code dimension d_z.
    pub latent: usize,
    /// Hidden units H.
    pub hidden: usize,
    /// Output dimension D (pixels).
    pub output: usize,
}

impl DecoderShape {
    /// Number of parameters p = H d_z + H + D H + D.
    pub fn theta_dim(&self) -> usize {
        self.hidden * self.latent + self.hidden + self.output * self.hidden + self.output
    }

    /// Offsets of (W₁, b₁, W₂, b₂) in θ.
    fn offsets(&self) -> (usize, usize, usize, usize) {
        let w1 = 0;
        let b1 = w1 + self.hidden * self.latent;
        let w2 = b1 + self.hidden;
        let b2 = w2 + self.output * self.hidden;
        (w1, b1, w2, b2)
    }
}

/// The decoder model on a fixed set of observations (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoder {
    shape: DecoderShape,
    likelihood: PixelLikelihood,
    data: Vec<f64>,
    m: usize,
}

impl Decoder {
    /// The model for observations `data` (row-major M × D, D = `shape.output`).
    pub fn new(shape: DecoderShape, likelihood: PixelLikelihood, data: Vec<f64>) -> Result<Self> {
        if shape.latent == 0 || shape.hidden == 0 || shape.output == 0 {
            return Err(EnergyError::DimensionMismatch {
                what: "decoder layer sizes (all ≥ 1)",
                expected: 1,
                got: 0,
            });
        }
        if data.is_empty() || !data.len().is_multiple_of(shape.output) {
            return Err(EnergyError::DimensionMismatch {
                what: "decoder data (M × D, M ≥ 1)",
                expected: shape.output,
                got: data.len(),
            });
        }
        check_finite_data("decoder data", &data)?;
        match likelihood {
            PixelLikelihood::Bernoulli => {
                if let Some(&value) = data.iter().find(|v| !(0.0..=1.0).contains(*v)) {
                    return Err(EnergyError::InvalidParameter {
                        name: "pixel",
                        value,
                        reason: "Bernoulli targets must lie in [0, 1]",
                    });
                }
            }
            PixelLikelihood::Gaussian { sigma } => {
                check_param("sigma", sigma, true)?;
            }
        }
        let m = data.len() / shape.output;
        Ok(Self {
            shape,
            likelihood,
            data,
            m,
        })
    }

    /// Layer sizes.
    pub fn shape(&self) -> DecoderShape {
        self.shape
    }

    /// Number of observations M.
    pub fn n_data(&self) -> usize {
        self.m
    }

    /// Pixel means of code `z`: σ(a) for Bernoulli, a for Gaussian, into `out` (length D).
    pub fn decode(&self, theta: &[f64], z: &[f64], out: &mut [f64]) {
        let mut h = vec![0.0; self.shape.hidden];
        self.forward(theta, z, &mut h, out);
        if self.likelihood == PixelLikelihood::Bernoulli {
            out.iter_mut().for_each(|a| *a = sigmoid(*a));
        }
    }

    /// h = tanh(W₁ z + b₁), a = W₂ h + b₂.
    fn forward(&self, theta: &[f64], z: &[f64], h: &mut [f64], a: &mut [f64]) {
        let DecoderShape { latent, hidden, .. } = self.shape;
        let (w1, b1, w2, b2) = self.shape.offsets();
        for (u, hu) in h.iter_mut().enumerate() {
            let row = &theta[w1 + u * latent..w1 + (u + 1) * latent];
            let pre = theta[b1 + u] + row.iter().zip(z).map(|(w, z)| w * z).sum::<f64>();
            *hu = pre.tanh();
        }
        for (k, ak) in a.iter_mut().enumerate() {
            let row = &theta[w2 + k * hidden..w2 + (k + 1) * hidden];
            *ak = theta[b2 + k] + row.iter().zip(h.iter()).map(|(w, h)| w * h).sum::<f64>();
        }
    }

    /// −log p(y | a) and, when `delta` is given, its gradient in a.
    fn nll(&self, y: &[f64], a: &[f64], delta: Option<&mut [f64]>) -> f64 {
        match self.likelihood {
            PixelLikelihood::Bernoulli => {
                if let Some(delta) = delta {
                    for ((d, a), y) in delta.iter_mut().zip(a).zip(y) {
                        *d = sigmoid(*a) - y;
                    }
                }
                a.iter().zip(y).map(|(a, y)| softplus(*a) - y * a).sum()
            }
            PixelLikelihood::Gaussian { sigma } => {
                let s2 = sigma * sigma;
                if let Some(delta) = delta {
                    for ((d, a), y) in delta.iter_mut().zip(a).zip(y) {
                        *d = (a - y) / s2;
                    }
                }
                a.iter().zip(y).map(|(a, y)| (y - a) * (y - a)).sum::<f64>() / (2.0 * s2)
            }
        }
    }

    /// Backpropagation through all M observations; either gradient may be skipped.
    fn backprop(
        &self,
        theta: &[f64],
        x: &[f64],
        mut grad_theta: Option<&mut [f64]>,
        mut grad_x: Option<&mut [f64]>,
    ) {
        let DecoderShape {
            latent,
            hidden,
            output,
        } = self.shape;
        let (w1, b1, w2, b2) = self.shape.offsets();
        let (mut h, mut a) = (vec![0.0; hidden], vec![0.0; output]);
        let (mut da, mut dpre) = (vec![0.0; output], vec![0.0; hidden]);
        if let Some(g) = grad_theta.as_deref_mut() {
            g.fill(0.0);
        }
        for (j, y) in self.data.chunks_exact(output).enumerate() {
            let z = &x[j * latent..(j + 1) * latent];
            self.forward(theta, z, &mut h, &mut a);
            self.nll(y, &a, Some(&mut da));
            // δh = W₂ᵀ δa, then δpre = δh ⊙ (1 − h²).
            dpre.fill(0.0);
            for (k, dak) in da.iter().enumerate() {
                let row = &theta[w2 + k * hidden..w2 + (k + 1) * hidden];
                for (dp, w) in dpre.iter_mut().zip(row) {
                    *dp += w * dak;
                }
            }
            for (dp, hu) in dpre.iter_mut().zip(&h) {
                *dp *= 1.0 - hu * hu;
            }
            if let Some(g) = grad_theta.as_deref_mut() {
                for (k, dak) in da.iter().enumerate() {
                    let row = &mut g[w2 + k * hidden..w2 + (k + 1) * hidden];
                    for (gw, hu) in row.iter_mut().zip(&h) {
                        *gw += dak * hu;
                    }
                    g[b2 + k] += dak;
                }
                for (u, dp) in dpre.iter().enumerate() {
                    let row = &mut g[w1 + u * latent..w1 + (u + 1) * latent];
                    for (gw, zi) in row.iter_mut().zip(z) {
                        *gw += dp * zi;
                    }
                    g[b1 + u] += dp;
                }
            }
            if let Some(gx) = grad_x.as_deref_mut() {
                let gz = &mut gx[j * latent..(j + 1) * latent];
                gz.copy_from_slice(z);
                for (u, dp) in dpre.iter().enumerate() {
                    let row = &theta[w1 + u * latent..w1 + (u + 1) * latent];
                    for (g, w) in gz.iter_mut().zip(row) {
                        *g += w * dp;
                    }
                }
            }
        }
    }
}

impl LatentModel for Decoder {
    fn theta_dim(&self) -> usize {
        self.shape.theta_dim()
    }

    fn latent_dim(&self) -> usize {
        self.m * self.shape.latent
    }

    /// `decoder(latent=…,hidden=…,output=…,likelihood="…"[,sigma=…],data=…)` (σ only for
    /// Gaussian pixels; M is the length of the data over D).
    fn fingerprint(&self) -> String {
        let fp = Fingerprint::new("decoder")
            .param("latent", self.shape.latent)
            .param("hidden", self.shape.hidden)
            .param("output", self.shape.output);
        let fp = match self.likelihood {
            PixelLikelihood::Bernoulli => fp.param("likelihood", "bernoulli"),
            PixelLikelihood::Gaussian { sigma } => {
                fp.param("likelihood", "gaussian").param("sigma", sigma)
            }
        };
        fp.values("data", &self.data).finish()
    }

    fn energy(&self, theta: &[f64], x: &[f64]) -> Result<f64> {
        let DecoderShape {
            latent,
            hidden,
            output,
        } = self.shape;
        let (mut h, mut a) = (vec![0.0; hidden], vec![0.0; output]);
        let mut total = 0.0;
        for (j, y) in self.data.chunks_exact(output).enumerate() {
            let z = &x[j * latent..(j + 1) * latent];
            self.forward(theta, z, &mut h, &mut a);
            total += 0.5 * z.iter().map(|v| v * v).sum::<f64>() + self.nll(y, &a, None);
        }
        Ok(total)
    }

    fn grad_theta(&self, theta: &[f64], x: &[f64], out: &mut [f64]) -> Result<()> {
        self.backprop(theta, x, Some(out), None);
        Ok(())
    }

    fn grad_x(&self, theta: &[f64], x: &[f64], out: &mut [f64]) -> Result<()> {
        self.backprop(theta, x, None, Some(out));
        Ok(())
    }

    fn grads(
        &self,
        theta: &[f64],
        x: &[f64],
        grad_theta: &mut [f64],
        grad_x: &mut [f64],
    ) -> Result<()> {
        self.backprop(theta, x, Some(grad_theta), Some(grad_x));
        Ok(())
    }
}

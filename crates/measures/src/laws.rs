//! Initial laws: i.i.d. starting ensembles drawn from the keyed streams, so that a start
//! is a pure function of (law, N, seed, purpose) and does not depend on the thread count.
//!
//! Particle i uses the stream (seed, purpose, step 0, i) of [`NoiseStreams`] and draws
//! only standard normals, in this order:
//!
//! | law | particle i | draws |
//! |---|---|---|
//! | [`InitialLaw::Gaussian`] | x = m + s ξ, ξ ~ N(0, I_d) | d normals |
//! | [`InitialLaw::UniformBox`] | x_k = l_k + (u_k − l_k) e^{−(ξ²_{2k} + ξ²_{2k+1})/2} | 2d normals |
//! | [`InitialLaw::Dirichlet`] | G_k = ½ Σ of 2α_k squared normals ~ Gamma(α_k, 1), x = G/ΣG | Σ 2α_k normals |
//!
//! The uniform draw is exact: ½(ξ₁² + ξ₂²) ~ Exp(1), so e^{−½(ξ₁²+ξ₂²)} ~ Uniform(0, 1).
//! The Dirichlet draw is exact for shapes that are positive multiples of ½ (Gamma(a, 1) =
//! ½ χ²_{2a}); other shapes are an error naming the value.
//!
//! Tests: `tests/laws.rs` (moments within Monte-Carlo error, support, determinism, errors).

use serde::{Deserialize, Serialize};

use crate::domain::{BoxBounds, Domain};
use crate::ensemble::Ensemble;
use crate::error::{MeasuresError, Result};
use crate::rng::NoiseStreams;

/// Largest Dirichlet shape accepted (2α squared normals are drawn per coordinate).
pub const MAX_DIRICHLET_SHAPE: f64 = 500.0;

/// A law to draw i.i.d. starting particles from (module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum InitialLaw {
    /// N(mean, std² I) on R^d, d = `mean.len()`.
    Gaussian {
        /// The mean m.
        mean: Vec<f64>,
        /// The standard deviation s > 0 of every coordinate.
        std: f64,
    },
    /// Uniform on the box Π [lower_k, upper_k], on R^d.
    UniformBox {
        /// Lower corner l.
        lower: Vec<f64>,
        /// Upper corner u (u_k > l_k).
        upper: Vec<f64>,
    },
    /// Dirichlet(α) on the probability simplex (full coordinates), each α_k a positive
    /// multiple of ½ (at most [`MAX_DIRICHLET_SHAPE`]).
    Dirichlet {
        /// The shapes α.
        alpha: Vec<f64>,
    },
}

impl InitialLaw {
    /// N(m·1, s² I) on R^d.
    pub fn isotropic_gaussian(d: usize, mean: f64, std: f64) -> Self {
        InitialLaw::Gaussian {
            mean: vec![mean; d],
            std,
        }
    }

    /// Uniform on [lo, hi]^d.
    pub fn uniform_cube(d: usize, lo: f64, hi: f64) -> Self {
        InitialLaw::UniformBox {
            lower: vec![lo; d],
            upper: vec![hi; d],
        }
    }

    /// The dimension d of the particles.
    pub fn dim(&self) -> usize {
        match self {
            InitialLaw::Gaussian { mean, .. } => mean.len(),
            InitialLaw::UniformBox { lower, .. } => lower.len(),
            InitialLaw::Dirichlet { alpha } => alpha.len(),
        }
    }

    /// The domain the draws live on by default: R^d, except the simplex for Dirichlet.
    pub fn natural_domain(&self) -> Domain {
        match self {
            InitialLaw::Dirichlet { .. } => Domain::Simplex,
            _ => Domain::Euclidean,
        }
    }

    /// Checks the law's parameters (typed error naming the first bad one).
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(MeasuresError::InvalidLaw { reason });
        if self.dim() == 0 {
            return Err(MeasuresError::Empty { what: "dimension" });
        }
        match self {
            InitialLaw::Gaussian { mean, std } => {
                if let Some(m) = mean.iter().find(|m| !m.is_finite()) {
                    return bad(format!("Gaussian initial law: mean {m} is not finite"));
                }
                if !(std.is_finite() && *std > 0.0) {
                    return bad(format!(
                        "Gaussian initial law: std = {std} must be finite and > 0"
                    ));
                }
            }
            InitialLaw::UniformBox { lower, upper } => {
                if lower.len() != upper.len() {
                    return Err(MeasuresError::DimensionMismatch {
                        what: "uniform initial law: upper corner",
                        expected: lower.len(),
                        got: upper.len(),
                    });
                }
                if let Some((l, u)) = lower
                    .iter()
                    .zip(upper)
                    .find(|(l, u)| !(l.is_finite() && u.is_finite() && l < u))
                {
                    return bad(format!(
                        "uniform initial law: need finite lower < upper, got [{l}, {u}]"
                    ));
                }
            }
            InitialLaw::Dirichlet { alpha } => {
                for &a in alpha {
                    half_integer_shape(a)?;
                }
            }
        }
        Ok(())
    }

    /// N i.i.d. draws on the law's [`InitialLaw::natural_domain`] from the streams of
    /// (seed, `purpose`) (purposes in [`crate::streams`]).
    pub fn sample(&self, n: usize, seed: u64, purpose: u64) -> Result<Ensemble> {
        self.sample_on(n, self.natural_domain(), seed, purpose)
    }

    /// N i.i.d. draws declared to live on `domain` (e.g. the box of a uniform law, for a
    /// projected scheme); every draw is checked to lie in it.
    pub fn sample_on(&self, n: usize, domain: Domain, seed: u64, purpose: u64) -> Result<Ensemble> {
        self.validate()?;
        let draw = self.drawer(seed, purpose)?;
        let mut z = Vec::new();
        let ens = Ensemble::from_fn(n, self.dim(), domain, |i, row| draw(i, row, &mut z))?;
        ens.validate()?;
        Ok(ens)
    }

    /// This rank's rows of the N = `partition.global_n()` draws of
    /// [`InitialLaw::sample_on`]: global particle i is drawn from the stream of index i,
    /// so the distributed ensemble holds exactly the single-process draws.
    pub fn sample_shard(
        &self,
        partition: crate::Partition,
        collective: std::sync::Arc<dyn crate::Collective>,
        domain: Domain,
        seed: u64,
        purpose: u64,
    ) -> Result<Ensemble> {
        self.validate()?;
        let draw = self.drawer(seed, purpose)?;
        let mut z = Vec::new();
        let ens = Ensemble::from_fn_shard(partition, collective, self.dim(), domain, |i, row| {
            draw(i, row, &mut z)
        })?;
        ens.validate()?;
        Ok(ens)
    }

    /// `draw(i, row, scratch)` fills `row` with particle i's draw from the streams of
    /// (seed, purpose).
    #[allow(clippy::type_complexity)]
    fn drawer(
        &self,
        seed: u64,
        purpose: u64,
    ) -> Result<Box<dyn Fn(usize, &mut [f64], &mut Vec<f64>) + '_>> {
        let init = NoiseStreams::new(seed, purpose);
        Ok(match self {
            InitialLaw::Gaussian { mean, std } => Box::new(move |i, row, _| {
                init.fill_standard_normal(0, i as u64, row);
                row.iter_mut()
                    .zip(mean)
                    .for_each(|(v, m)| *v = m + std * *v);
            }),
            InitialLaw::UniformBox { lower, upper } => Box::new(move |i, row, z| {
                z.resize(2 * row.len(), 0.0);
                init.fill_standard_normal(0, i as u64, z);
                for (k, (x, pair)) in row.iter_mut().zip(z.chunks_exact(2)).enumerate() {
                    let u = (-0.5 * (pair[0] * pair[0] + pair[1] * pair[1])).exp();
                    *x = lower[k] + (upper[k] - lower[k]) * u;
                }
            }),
            InitialLaw::Dirichlet { alpha } => {
                let counts = alpha
                    .iter()
                    .map(|&a| half_integer_shape(a))
                    .collect::<Result<Vec<_>>>()?;
                let total: usize = counts.iter().sum();
                Box::new(move |i, row, z| {
                    z.resize(total, 0.0);
                    init.fill_standard_normal(0, i as u64, z);
                    let mut rest = &z[..];
                    for (x, &k) in row.iter_mut().zip(&counts) {
                        let (mine, tail) = rest.split_at(k);
                        *x = 0.5 * mine.iter().map(|v| v * v).sum::<f64>();
                        rest = tail;
                    }
                    let s: f64 = row.iter().sum();
                    row.iter_mut().for_each(|v| *v /= s);
                })
            }
        })
    }

    /// The box of a uniform law (`None` for the others).
    pub fn bounds(&self) -> Option<Result<BoxBounds>> {
        match self {
            InitialLaw::UniformBox { lower, upper } => {
                Some(BoxBounds::new(lower.clone(), upper.clone()))
            }
            _ => None,
        }
    }
}

/// 2a for a Dirichlet shape a that is a positive multiple of ½ (at most
/// [`MAX_DIRICHLET_SHAPE`]).
pub fn half_integer_shape(a: f64) -> Result<usize> {
    let twice = 2.0 * a;
    if a > 0.0 && a <= MAX_DIRICHLET_SHAPE && twice == twice.round() {
        Ok(twice as usize)
    } else {
        Err(MeasuresError::InvalidLaw {
            reason: format!(
                "Dirichlet shape {a} must be a positive multiple of 1/2 (at most {MAX_DIRICHLET_SHAPE})"
            ),
        })
    }
}

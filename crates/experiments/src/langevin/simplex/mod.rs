//! `mmfld-simplex`: the paper's Fig. 1 setting (spec `mmfld.md`, experiment 1) — projected
//! MFLD, the paper's mirror MFLD and the Metropolis-adjusted mirror MFLD on the simplex
//! Δ³ = {x ∈ R³ : x ≥ 0, Σx = 1}, all three from the same initial ensemble and with the
//! same noise streams.
//!
//! Functional F(μ) = ‖E_μ x − q‖² + β Σ_i E_μ[−ln x_i] with q the centroid; the minimiser
//! of F + λ Ent is μ* = Dirichlet(a, a, a), a = 1 + β/λ (uniform for β = 0), whose
//! marginals are Beta(a, 2a): mean 1/3, variance 2/(9(3a + 1)).
//!
//! # Exact boundary mass
//!
//! B_ε = P(min_i x_i < ε) under Dirichlet(a, a, a), by inclusion–exclusion (ε < 1/3, so
//! all three coordinates cannot be small together):
//!
//! B_ε = 3 P(x_1 < ε) − 3 P(x_1 < ε, x_2 < ε),   P(x_1 < ε) = I_ε(a, 2a),
//!
//! P(x_1 < ε, x_2 < ε) = ∫_0^ε f_{a,2a}(x) I_{ε/(1−x)}(a, a) dx, because given x_1 = x,
//! x_2/(1 − x) ~ Beta(a, a). With x = ε s^{1/a} the singular factor x^{a−1} dx becomes
//! (ε^a/a) ds, and the bounded integrand is integrated by Simpson's rule on s ∈ [0, 1]
//! with 4000 intervals (relative error < 1e-8: the integrand is smooth in x = ε s^{1/a},
//! not in s, so Simpson converges like h^{3/2} here). For a = 1 this is 1 − (1 − 3ε)².
//!
//! # Statistics
//!
//! Snapshots every `observe_every_time`; time averages over t ≥ burn-in use batch means
//! ([`crate::study::batch_means`]). Each standard error is floored by a model-free bound
//! so that an unluckily small batch-means estimate cannot make a check too strict:
//! for moments, the single-snapshot i.i.d. error over √B (at least one independent
//! snapshot per batch); for the boundary mass, the binomial error of half the snapshots
//! (a particle crosses the ε-layer in ~ε/λ time units, far below the snapshot spacing).
//! The KS test uses the final snapshot only (particles at one time are nearly
//! independent; their dependence through μ_N is O(1/N)).
//!
//! # Layout
//!
//! `config` ([`MmfldSimplexConfig`]), `oracle` (the exact Dirichlet law:
//! [`dirichlet_boundary_mass`] and the Beta marginal), `run` (the five simulations and
//! their traces), `stats` (stationary time averages with floored standard errors),
//! `report` (checks, tables and notes) and `plots` (series and plots).

mod config;
mod oracle;
mod plots;
mod report;
mod run;
mod stats;

pub use config::MmfldSimplexConfig;
pub use oracle::dirichlet_boundary_mass;

use crate::{ConfiguredExperiment, ExperimentError, Report, RunContext};

/// The experiment.
pub struct MmfldSimplex;

impl ConfiguredExperiment for MmfldSimplex {
    type Config = MmfldSimplexConfig;
    const NAME: &'static str = "mmfld-simplex";
    const DESCRIPTION: &'static str = "Δ³ (paper Fig. 1): projected vs mirror (paper) vs Metropolis-adjusted mirror MFLD — boundary mass, objective, ternary scatter, Dirichlet oracle";

    fn execute(
        &self,
        cfg: MmfldSimplexConfig,
        ctx: &RunContext<'_>,
        report: &mut Report,
    ) -> Result<(), ExperimentError> {
        let traces = run::run_all(&cfg, ctx)?;
        report::fill(&cfg, ctx.seed, &traces, report)?;
        Ok(())
    }
}

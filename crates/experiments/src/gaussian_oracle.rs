//! Gaussian oracle experiment (under construction).
use crate::{Experiment, ExperimentError, Report, RunContext};

/// MFLD on the Gaussian oracle.
pub struct GaussianOracle;

impl Experiment for GaussianOracle {
    fn name(&self) -> &'static str {
        "gaussian-oracle"
    }
    fn description(&self) -> &'static str {
        "MFLD on the Gaussian oracle: convergence to N(κb/(1+κ), λI) and 1/N propagation of chaos"
    }
    fn run(&self, ctx: &RunContext<'_>) -> Result<Report, ExperimentError> {
        Ok(Report::new(self.name(), ctx.quick, ctx.seed, serde_json::json!({})))
    }
}

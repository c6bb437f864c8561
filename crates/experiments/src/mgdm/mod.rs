//! Microcanonical gradient descent: MGDM and its mean-field version MF-MGDM ("Mean-Field
//! Microcanonical Gradient Descent", arXiv 2403.08362) — spec `mf-mgdm.md`.
//!
//! Paths x ∈ R^T start from a latent law q₀ and descend towards the set where a feature
//! map Φ (ACF features) matches the target's mean α = E_p Φ; MF-MGDM couples the paths of
//! a group through their empirical feature mean. Runs track the reverse KL of the pushed
//! law against the target exactly (log-determinants by the determinant lemma).
//!
//! | experiment | module | what it shows |
//! |---|---|---|
//! | `mf-mgdm-table` | [`table`] | the ACF column of the paper's table: minimum reverse KL of MGDM and MF-MGDM on AR and CIR targets ([`case`] parses the targets) |
//! | `mf-mgdm-batch` | [`batch`] | minimum reverse KL against the coupling group size |
//! | `mf-mgdm-sp500` | [`sp500`] | MGDM vs MF-MGDM on S&P 500 log-returns: ACFs, histograms, entropy |
//!
//! [`common`] holds what the three share: path sampling, the target feature mean α, and
//! one run with its reverse-KL trace ([`run_mgdm`]).

pub mod batch;
pub mod case;
pub mod common;
pub mod sp500;
pub mod table;

pub use batch::{MfMgdmBatch, MfMgdmBatchConfig};
pub use case::CaseSpec;
pub use common::{MgdmRun, feature_mean, log_density_sum, mean_sd, run_mgdm, sample_paths};
pub use sp500::{MfMgdmSp500, MfMgdmSp500Config};
pub use table::{MfMgdmTable, MfMgdmTableConfig};

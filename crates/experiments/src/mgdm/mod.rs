//! Moment-guided diffusion maps: MGDM and its mean-field variant MF-MGDM — spec
//! `mf-mgdm.md`.
//!
//! Paths x ∈ R^T are pushed from a latent law q₀ towards a target p by matching the mean
//! α = E_p Φ of a feature map Φ (ACF features); MF-MGDM couples the paths of a group
//! through their empirical feature mean. Runs track the reverse KL(q_k ‖ p) exactly.
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

//! Kernelised Fisher–Rao weight flows — spec `fisher-rao.md`.
//!
//! Particles keep their positions and move their weights by the (exponentiated) Fisher–Rao
//! step; the density ratio m/π is replaced by one of four kernelisations of bandwidth ε.
//! For linear and mean-interaction functionals on π = N(0, I) every variant's mean-field
//! flow stays Gaussian, so exact oracles exist ([`common::GaussianModel`]).
//!
//! | experiment | module | what it shows |
//! |---|---|---|
//! | `fisher-rao-oracle` | [`oracle`] | every kernelisation against its exact Gaussian oracle (linear F, mean interaction) |
//! | `fisher-rao-bandwidth` | [`bandwidth`] | the error of the kernelised minimiser as ε → 0 |
//! | `fisher-rao-chaos` | [`chaos`] | propagation of chaos: error against N at a fixed time, fitted slope |
//!
//! [`common`] holds the oracle, the particle run with its observations and the shared
//! kernel choices.

pub mod bandwidth;
pub mod chaos;
pub mod common;
pub mod oracle;

pub use bandwidth::{FisherRaoBandwidth, FisherRaoBandwidthConfig};
pub use chaos::{FisherRaoChaos, FisherRaoChaosConfig};
pub use oracle::{FisherRaoOracle, FisherRaoOracleConfig};

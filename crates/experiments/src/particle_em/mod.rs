//! Particle expectation–maximisation: particle gradient descent (PGD) and momentum
//! particle descent (MPD) on latent-variable models — spec `mpgd.md`.
//!
//! Both schemes learn the model parameter θ by gradient steps while the particles X
//! sample the posterior of the latent variables; MPD adds momenta with masses and
//! dampings to both.
//!
//! | experiment | module | what it shows |
//! |---|---|---|
//! | `mpgd-toy` | [`toy`] | the toy hierarchical Gaussian model: θ trajectories of PGD and three MPD regimes, steps to the MLE |
//! | `mpgd-blr` | [`blr`] | Bayesian logistic regression on breast-cancer data: test error and LPPD over random splits |
//! | `mpgd-digits` | [`digits`] | a small decoder trained on 8×8 digits: objective against steps, generated digits |
//!
//! [`common`] builds either scheme behind one type and runs it while recording.

pub mod blr;
pub mod common;
pub mod digits;
pub mod toy;

pub use blr::{MpgdBlr, MpgdBlrConfig};
pub use common::Scheme;
pub use digits::{MpgdDigits, MpgdDigitsConfig};
pub use toy::{MpgdToy, MpgdToyConfig};

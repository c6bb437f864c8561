//! Wasserstein distances between empirical measures.
//!
//! In one dimension optimal transport is explicit: for p ≥ 1 the monotone (quantile)
//! coupling is optimal, so
//!
//! W_p(μ, ν)^p = ∫_0^1 |F_μ^{-1}(t) − F_ν^{-1}(t)|^p dt,
//!
//! and for empirical measures both quantile functions are step functions, so the
//! integral is an exact finite sum over the merged breakpoints ([`coupling`]). Against a
//! continuous law known through its quantile function the integral is discretised
//! ([`quantile`]). In d > 1 we use the sliced distance, the root-mean-square of 1-D
//! distances of random projections ([`sliced`]).
//!
//! | module | concept |
//! |---|---|
//! | [`coupling`] | exact 1-D W_p between two samples (unweighted or weighted) |
//! | [`quantile`] | 1-D W_2 between a sample and a law given by its quantile function |
//! | [`sliced`] | sliced W_2 between two ensembles in R^d |

pub mod coupling;
pub mod quantile;
pub mod sliced;

pub use coupling::{w1_1d, w2_1d, wp_1d, wp_1d_weighted};
pub use quantile::{w2_1d_to_quantile, w2_1d_to_quantile_refined};
pub use sliced::sliced_w2;

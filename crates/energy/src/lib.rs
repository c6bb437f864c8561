//! # meanfield-energy
//!
//! Energy functionals F(μ) on probability measures and their first variations, the
//! interface every mean-field dynamics of `meanfield` consumes.
//!
//! | module | concept |
//! |---|---|
//! | [`fd_check`] | finite-difference checks of first variations (for testing functionals) |
//! | [`frozen`] | first variation at arbitrary points under a frozen μ_N (for Metropolis steps) |
//! | [`functional`] | the [`Functional`] trait: F, δF/δμ, ∇_x δF/δμ at all particles |
//! | [`linear_potential`] | F(μ) = ∫ c·x dμ (Fisher–Rao oracle) |
//! | [`mean_interaction`] | F(μ) = (κ/2)|E x − b|² (Fisher–Rao oracle) |
//! | [`quadratic`] | Gaussian oracle F(μ) = ∫|x|²/2 + (κ/2)|E x − b|² |
//! | [`simplex_moment`] | F(μ) = ‖E x − q‖² + β Σ E[−ln x_i] on the simplex |
//! | [`two_layer`] | mean-field two-layer tanh network: F(μ) = (1/2M) Σ_j (E_μ[a tanh(w·z_j)] − y_j)² + (ρ/2) E‖θ‖² |

pub mod error;
pub mod fd_check;
pub mod frozen;
pub mod functional;
pub mod linear_potential;
pub mod mean_interaction;
pub mod quadratic;
pub mod simplex_moment;
pub mod two_layer;

pub use error::{EnergyError, Result};
pub use frozen::{FrozenFirstVariation, FrozenPotential};
pub use functional::Functional;
pub use linear_potential::LinearPotential;
pub use mean_interaction::MeanInteraction;
pub use quadratic::QuadraticInteraction;
pub use simplex_moment::SimplexMoment;
pub use two_layer::{FrozenTwoLayer, TwoLayerNet};

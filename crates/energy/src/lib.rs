//! # meanfield-energy
//!
//! Energy functionals F(μ) on probability measures and their first variations, the
//! interface every mean-field dynamics of `meanfield` consumes.
//!
//! | module | concept |
//! |---|---|
//! | [`functional`] | the [`Functional`] trait: F, δF/δμ, ∇_x δF/δμ at all particles |
//! | [`quadratic`] | Gaussian oracle F(μ) = ∫|x|²/2 + (κ/2)|E x − b|² |
//! | [`simplex_moment`] | F(μ) = ‖E x − q‖² + β Σ E[−ln x_i] on the simplex |

pub mod error;
pub mod functional;
pub mod quadratic;
pub mod simplex_moment;

pub use error::{EnergyError, Result};
pub use functional::Functional;
pub use quadratic::QuadraticInteraction;
pub use simplex_moment::SimplexMoment;

//! # meanfield-energy
//!
//! Energy functionals F(μ) on probability measures and their first variations, the
//! interface every mean-field dynamics of `meanfield` consumes.
//!
//! | module | concept |
//! |---|---|
//! | [`fd_check`] | finite-difference checks of first variations (for testing functionals) |
//! | [`feature_map`] | feature maps Φ: R^T → R^K of microcanonical models (ACF(1), multi-lag), Jacobians, structured Hessians: the [`FeatureMap`] trait |
//! | [`fingerprint`] | fingerprints of energies (kind, parameters, digests of data) for checkpoints: the [`Fingerprint`] builder |
//! | [`frozen`] | first variation at arbitrary points under a frozen μ_N (for Metropolis steps) |
//! | [`functional`] | the [`Functional`] trait: F, δF/δμ, ∇_x δF/δμ at all particles |
//! | [`latent`] | latent-variable models E(θ, x) = −log p_θ(x, y) for particle EM: toy Gaussian, Bayesian logistic regression, decoder |
//! | [`gaussian_target`] | the Gaussian target f(x) = ½(x − m)ᵀA(x − m) of N(m, A⁻¹) (CBS oracle) |
//! | [`multimodal`] | objectives with several global minimisers (Himmelblau, Rastrigin with shifted wells) for polarised CBO |
//! | [`objectives`] | objectives f: R^d → R for CBO and the test functions (Rastrigin, Ackley, …) |
//! | [`process`] | laws of paths x ∈ R^T (AR, CIR targets; latent laws): the [`PathLaw`] trait |
//! | [`linear_potential`] | F(μ) = ∫ c·x dμ (Fisher–Rao oracle) |
//! | [`mean_interaction`] | F(μ) = (κ/2)|E x − b|² (Fisher–Rao oracle) |
//! | [`quadratic`] | Gaussian oracle F(μ) = ∫|x|²/2 + (κ/2)|E x − b|² |
//! | [`simplex_moment`] | F(μ) = ‖E x − q‖² + β Σ E[−ln x_i] on the simplex |
//! | [`two_layer`] | mean-field two-layer tanh network: F(μ) = (1/2M) Σ_j (E_μ[a tanh(w·z_j)] − y_j)² + (ρ/2) E‖θ‖² |

pub mod error;
pub mod fd_check;
pub mod feature_map;
pub mod fingerprint;
pub mod frozen;
pub mod functional;
pub mod gaussian_target;
pub mod latent;
pub mod linear_potential;
pub mod mean_interaction;
pub mod multimodal;
pub mod objectives;
pub mod process;
pub mod quadratic;
pub mod simplex_moment;
pub mod two_layer;

pub use error::{EnergyError, Result};
pub use feature_map::{
    Acf1, FeatureMap, MultiLagAcf, ScaledFeatures, StepFactor, StepItem, StructuredHessian,
};
pub use fingerprint::Fingerprint;
pub use frozen::{FrozenFirstVariation, FrozenPotential};
pub use functional::Functional;
pub use gaussian_target::GaussianTarget;
pub use latent::{
    BayesianLogistic, Decoder, DecoderShape, HierarchicalGaussian, LatentModel, PixelLikelihood,
};
pub use linear_potential::LinearPotential;
pub use mean_interaction::MeanInteraction;
pub use multimodal::{Himmelblau, RastriginWells};
pub use objectives::{Objective, TestFunction, TestKind};
pub use process::{Draws, PathLaw};
pub use quadratic::QuadraticInteraction;
pub use simplex_moment::SimplexMoment;
pub use two_layer::{FrozenTwoLayer, TwoLayerNet};

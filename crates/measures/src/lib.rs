//! # meanfield-measures
//!
//! The objects every dynamics of `meanfield` acts on: the particle [`Ensemble`]
//! (empirical measure μ_N = Σ_i W^i δ_{X^i}), its [`Weights`], the [`Domain`] it lives
//! on, [`MirrorMap`]s and Euclidean projections for constrained domains, and the
//! deterministic per-particle random streams ([`NoiseStreams`]) that make every run
//! reproducible bit for bit whatever the thread count.
//!
//! | module | concept |
//! |---|---|
//! | [`alloc`] | buffers sized from user input: checked sizes, a per-buffer limit |
//! | [`ensemble`] | N × d particle positions, contiguous row-major |
//! | [`weights`] | normalised weights, compensated sums, ESS |
//! | [`domain`] | R^d, simplex, box / orthant |
//! | [`mirror`] | Identity, Entropic, LogBarrier mirror maps |
//! | [`projection`] | Euclidean projections onto simplex and boxes |
//! | [`rng`] | (seed, step, particle)-keyed random streams |
//! | [`parallel`] | particle loops that are thread-count invariant |
//! | [`compensated`] | Neumaier summation |
//! | [`simd`] | vectorised elementary functions (exp, sigmoid), machine-independent bits |
//! | [`reduce`] | deterministic block reductions (same bits for any thread or rank count) |
//! | [`distributed`] | ranks, partitions and shards of a distributed ensemble (no MPI dependency) |
//! | [`laws`] | initial laws (Gaussian, uniform box, Dirichlet) drawn from keyed streams |
//! | [`kernel`] | Gaussian and bump kernels K_ε, kernel sums and densities K_ε * m^N |
//! | [`neighbours`] | fixed-radius neighbour search (cell list) |
//! | [`normal`] | N(0, 1) draws: `rand_distr::StandardNormal`'s bits, its fast path inlined |

pub mod alloc;
pub mod compensated;
pub mod distributed;
pub mod domain;
pub mod ensemble;
pub mod error;
pub mod kernel;
pub mod laws;
pub mod mirror;
pub mod neighbours;
pub mod normal;
pub mod parallel;
pub mod projection;
pub mod reduce;
pub mod rng;
pub mod simd;
pub mod weights;

pub use distributed::{
    Collective, LocalCollective, Partition, RankFailure, Shard, ThreadCollective,
};
pub use domain::{BoxBounds, Domain};
pub use ensemble::Ensemble;
pub use error::{MeasuresError, Result};
pub use kernel::{
    Kernel, KernelMatrix, KernelShape, KernelSums, kernel_density, kernel_density_into,
};
pub use laws::InitialLaw;
pub use mirror::{Entropic, Identity, LogBarrier, MirrorMap};
pub use parallel::Parallelism;
pub use reduce::Reducer;
pub use rng::{NoiseStreams, ParticleRng, StepStreams, replicate_seed, streams};
pub use weights::Weights;

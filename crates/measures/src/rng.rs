//! Deterministic, thread-count-independent randomness.
//!
//! Every random draw of a run comes from a generator keyed by
//! (seed, stream purpose, step, particle index): `NoiseStreams::rng(step, i)`. No
//! generator is shared between particles or steps, so the order in which threads visit
//! particles cannot change any number, and a run resumed at step k from a checkpoint
//! draws exactly what the uninterrupted run would have drawn — no RNG state needs to be
//! saved. The key is hashed with SplitMix64 finalisers into the 128-bit state of a
//! PCG-64 (MCG variant) generator.

use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

/// The generator type handed to particles.
pub type ParticleRng = Pcg64Mcg;

/// SplitMix64 finaliser: a bijective avalanche mix of 64 bits.
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A family of independent random streams for one run, indexed by step and particle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoiseStreams {
    seed: u64,
    purpose: u64,
}

impl NoiseStreams {
    /// Streams for `seed`; `purpose` separates independent uses within one run
    /// (e.g. 0 = Langevin noise, 1 = Metropolis acceptance, 2 = resampling).
    pub fn new(seed: u64, purpose: u64) -> Self {
        Self { seed, purpose }
    }

    /// The run seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The streams of step `step`: the (seed, purpose, step) part of the key mixed once,
    /// so a particle loop pays only for the particle index.
    pub fn at_step(&self, step: u64) -> StepStreams {
        let a = mix64(self.seed ^ mix64(self.purpose.wrapping_add(0x9e37_79b9_7f4a_7c15)));
        StepStreams {
            key: mix64(a ^ mix64(step.wrapping_mul(0xd1b5_4a32_d192_ed03).wrapping_add(1))),
        }
    }

    /// Generator for particle `index` at step `step` (= `self.at_step(step).rng(index)`).
    pub fn rng(&self, step: u64, index: u64) -> ParticleRng {
        self.at_step(step).rng(index)
    }

    /// Fills `out` with i.i.d. N(0, 1) draws for particle `index` at step `step`.
    pub fn fill_standard_normal(&self, step: u64, index: u64, out: &mut [f64]) {
        crate::normal::fill_standard_normal(&mut self.rng(step, index), out);
    }
}

/// The streams of one step of a [`NoiseStreams`] family ([`NoiseStreams::at_step`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepStreams {
    key: u64,
}

impl StepStreams {
    /// Generator for particle `index` at this step.
    #[inline]
    pub fn rng(&self, index: u64) -> ParticleRng {
        let c = mix64(self.key ^ mix64(index.wrapping_mul(0x8cb9_2ba7_2f3d_8dd7).wrapping_add(2)));
        let d = mix64(c ^ 0x6a09_e667_f3bc_c909);
        // The MCG state must be odd.
        Pcg64Mcg::new((((c as u128) << 64) | d as u128) | 1)
    }

    /// The N(0, 1) draws of particle `index` at this step, as an endless iterator
    /// ([`Normals`](crate::normal::Normals)).
    #[inline]
    pub fn normals(&self, index: u64) -> crate::normal::Normals {
        crate::normal::Normals::new(self.rng(index))
    }

    /// Fills `out` with i.i.d. N(0, 1) draws for particle `index` at this step.
    pub fn fill_standard_normal(&self, index: u64, out: &mut [f64]) {
        crate::normal::fill_standard_normal(&mut self.rng(index), out);
    }
}

/// Seed of replicate `r` (0-based) in stratum `stratum` of a study with base seed
/// `base`: `base ^ (stratum << 40) ^ (r + 1)·0x9e3779b9`. This is the one way child
/// seeds are derived in the workspace: the replicas of `run_many` (stratum 0), the
/// replicates of each ensemble size of a propagation-of-chaos ladder (stratum log₂ N),
/// the runs of each scheme of a study (stratum = the scheme's index). Every child seed
/// is then hashed by [`NoiseStreams`], so nearby seeds give unrelated streams; the XOR
/// with multiples of 0x9e3779b9 (< 2⁴⁰ for r < 2⁸) and the stratum in bits 40–63 keep
/// the replicates of neighbouring bases, strata and indices distinct (unlike
/// `base + r`, where replicate r of base s is replicate r − 1 of base s + 1).
pub fn replicate_seed(base: u64, stratum: u32, r: u64) -> u64 {
    base ^ (u64::from(stratum) << 40) ^ r.wrapping_add(1).wrapping_mul(0x9e37_79b9)
}

/// The registry of every stream purpose used by the workspace: one constant per use of
/// randomness, and [`streams::ALL`] listing them with their names. Two purposes of one
/// run must differ, or their draws would coincide; the test
/// `stream_purposes_are_distinct` checks the whole table, and the style test
/// `stream_purposes_live_in_the_registry` (crates/measures/tests/style.rs) that no other
/// file defines one.
///
/// The numbers are historic (changing one changes every result that draws from it); the
/// CBO purposes moved from 20–23 to 50–53 when the registry found them shared with
/// particle EM's.
pub mod streams {
    /// Langevin noise ξ of every MFLD scheme and of the WFR transport step.
    pub const LANGEVIN_NOISE: u64 = 0;
    /// Metropolis accept/reject uniforms of the adjusted mirror scheme.
    pub const METROPOLIS: u64 = 1;
    /// Systematic-resampling uniforms of the Fisher–Rao flow.
    pub const RESAMPLING: u64 = 2;
    /// Initial positions of the Langevin and Fisher–Rao experiments.
    pub const INITIAL_POSITIONS: u64 = 7;
    /// Synthetic teacher data of the two-layer network experiment.
    pub const NN_DATA: u64 = 11;
    /// Initial neurons of the two-layer network experiment.
    pub const NN_INIT: u64 = 12;
    /// Exploration noise ξ of CBO.
    pub const CBO_NOISE: u64 = 50;
    /// Mini-batch permutations of CBO.
    pub const CBO_BATCH: u64 = 51;
    /// Uniform initial positions of the CBO experiments.
    pub const CBO_INIT: u64 = 52;
    /// Random restarts of the gradient-hopping baseline of the CBO gradient experiment.
    pub const CBO_HOP: u64 = 53;
    /// Memory-drift noise of CBO with memory (personal bests).
    pub const CBO_MEMORY_NOISE: u64 = 54;
    /// Particle noise of PGD and MPD.
    pub const PARTICLE_EM_NOISE: u64 = 20;
    /// Initial particle momenta of MPD.
    pub const MOMENTUM_INIT: u64 = 21;
    /// Initial particles of the particle-EM experiments.
    pub const PARTICLE_EM_INIT: u64 = 31;
    /// Synthetic data of the toy hierarchical model.
    pub const TOY_DATA: u64 = 32;
    /// Train/test split of the Bayesian logistic regression experiment.
    pub const BLR_SPLIT: u64 = 34;
    /// Subset of the digits data.
    pub const DIGITS_SUBSET: u64 = 35;
    /// Initial decoder parameters of the digits experiment.
    pub const DIGITS_THETA: u64 = 36;
    /// Latent codes sampled from the fitted digits model.
    pub const DIGITS_SAMPLE: u64 = 37;
    /// Random feature targets α of the MF-MGDM experiments.
    pub const MGDM_ALPHA: u64 = 40;
    /// Latent (initial) paths of the MF-MGDM experiments.
    pub const MGDM_LATENT: u64 = 41;
    /// Reference paths of the target law in the MF-MGDM experiments.
    pub const MGDM_REFERENCE: u64 = 42;
    /// Random projection directions of the sliced Wasserstein distance.
    pub const SLICED_DIRECTIONS: u64 = 0x0053_5732;
    /// Input mutations of the stable fuzz replay (`crates/fuzz-targets/tests/replay.rs`).
    pub const FUZZ_MUTATIONS: u64 = 60;

    /// Every purpose with its name, for the distinctness test and for documentation.
    pub const ALL: &[(&str, u64)] = &[
        ("LANGEVIN_NOISE", LANGEVIN_NOISE),
        ("METROPOLIS", METROPOLIS),
        ("RESAMPLING", RESAMPLING),
        ("INITIAL_POSITIONS", INITIAL_POSITIONS),
        ("NN_DATA", NN_DATA),
        ("NN_INIT", NN_INIT),
        ("CBO_NOISE", CBO_NOISE),
        ("CBO_BATCH", CBO_BATCH),
        ("CBO_INIT", CBO_INIT),
        ("CBO_HOP", CBO_HOP),
        ("CBO_MEMORY_NOISE", CBO_MEMORY_NOISE),
        ("PARTICLE_EM_NOISE", PARTICLE_EM_NOISE),
        ("MOMENTUM_INIT", MOMENTUM_INIT),
        ("PARTICLE_EM_INIT", PARTICLE_EM_INIT),
        ("TOY_DATA", TOY_DATA),
        ("BLR_SPLIT", BLR_SPLIT),
        ("DIGITS_SUBSET", DIGITS_SUBSET),
        ("DIGITS_THETA", DIGITS_THETA),
        ("DIGITS_SAMPLE", DIGITS_SAMPLE),
        ("MGDM_ALPHA", MGDM_ALPHA),
        ("MGDM_LATENT", MGDM_LATENT),
        ("MGDM_REFERENCE", MGDM_REFERENCE),
        ("SLICED_DIRECTIONS", SLICED_DIRECTIONS),
        ("FUZZ_MUTATIONS", FUZZ_MUTATIONS),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_purposes_are_distinct() {
        for (i, (a, x)) in streams::ALL.iter().enumerate() {
            for (b, y) in &streams::ALL[i + 1..] {
                assert_ne!(x, y, "stream purposes {a} and {b} share the value {x}");
            }
        }
    }

    #[test]
    fn replicate_seeds_of_neighbouring_bases_do_not_collide() {
        let mut seen = std::collections::HashSet::new();
        for base in 0..64u64 {
            for stratum in 0..16u32 {
                for r in 0..64u64 {
                    assert!(
                        seen.insert(replicate_seed(base, stratum, r)),
                        "collision at ({base}, {stratum}, {r})"
                    );
                }
            }
        }
    }
}

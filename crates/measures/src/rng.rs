//! Deterministic, thread-count-independent randomness.
//!
//! Every random draw of a run comes from a generator keyed by
//! (seed, stream purpose, step, particle index): `NoiseStreams::rng(step, i)`. No
//! generator is shared between particles or steps, so the order in which threads visit
//! particles cannot change any number, and a run resumed at step k from a checkpoint
//! draws exactly what the uninterrupted run would have drawn — no RNG state needs to be
//! saved. The key is hashed with SplitMix64 finalisers into the 128-bit state of a
//! PCG-64 (MCG variant) generator.

use rand_distr::{Distribution, StandardNormal};
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
        let mut rng = self.rng(step, index);
        for v in out {
            *v = StandardNormal.sample(&mut rng);
        }
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

    /// Fills `out` with i.i.d. N(0, 1) draws for particle `index` at this step.
    pub fn fill_standard_normal(&self, index: u64, out: &mut [f64]) {
        let mut rng = self.rng(index);
        for v in out {
            *v = StandardNormal.sample(&mut rng);
        }
    }
}

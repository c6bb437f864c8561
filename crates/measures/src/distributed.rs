//! Ensembles spread over several processes ("ranks"), with no dependency on MPI.
//!
//! - [`Collective`]: what a group of ranks can do together — an all-gather of `f64`
//!   partials in rank order, and the agreement on a failure. [`LocalCollective`] is the
//!   trivial group of one process; [`ThreadCollective`] runs ranks as threads of one
//!   process (tests, and several ranks on one machine without MPI); the crate
//!   `meanfield-mpi` implements it over MPI.
//! - [`Partition`]: global N particles split into contiguous, [`BLOCK`]-aligned ranges, one
//!   per rank, so every block of the deterministic reductions ([`crate::reduce`]) lives on
//!   exactly one rank.
//! - [`Shard`]: partition + collective, carried by an [`Ensemble`](crate::Ensemble) that
//!   holds one rank's rows. Its means, expectations and weights are global, and particle
//!   i of the shard is global particle `first + i`, which keys its noise streams: rank r
//!   draws exactly what the single-process run draws for those particles.
//!
//! **Failure protocol.** Every collective starts with a fixed-size header exchange in
//! which a rank says "ok" or "failed at step k: reason". A rank that fails locally calls
//! [`Collective::fail`] instead of the collective the others are in; all ranks then see
//! the same failures in the same exchange and return the same [`RankFailure`] (the
//! lowest failing rank). The failure is sticky: afterwards every collective returns it
//! at once, without communicating, on every rank. So no rank waits for a rank that
//! stopped, and every rank stops with the same error.

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Barrier, Mutex, MutexGuard};

use crate::error::{MeasuresError, Result};
use crate::reduce::BLOCK;

/// The failure every rank of a distributed run reports: which rank failed first (the
/// lowest one, when several failed at the same collective), at which step, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rank {rank} failed at step {step}: {reason}")]
pub struct RankFailure {
    /// The failing rank.
    pub rank: usize,
    /// The step (1-based number of the step that failed, as in divergence errors).
    pub step: u64,
    /// Its error, as text.
    pub reason: String,
}

/// Chooses the failure all ranks report from what each rank said: the lowest failing
/// rank's (shared by every implementation, so they agree).
pub fn first_failure(said: impl IntoIterator<Item = Option<(u64, String)>>) -> Option<RankFailure> {
    said.into_iter()
        .enumerate()
        .find_map(|(rank, s)| s.map(|(step, reason)| RankFailure { rank, step, reason }))
}

/// A group of ranks that compute one distributed run (module docs).
///
/// Every rank must call the same collectives in the same order; a rank that cannot
/// (it failed) calls [`Collective::fail`] in their place.
pub trait Collective: Send + Sync + fmt::Debug {
    /// This rank, 0 ≤ rank < size.
    fn rank(&self) -> usize;

    /// Number of ranks.
    fn size(&self) -> usize;

    /// Every rank contributes `local` (lengths may differ between ranks) and receives all
    /// contributions in rank order.
    ///
    /// # Errors
    /// The agreed [`RankFailure`] if any rank failed (now or before).
    fn all_gather(&self, local: &[f64]) -> std::result::Result<Vec<Vec<f64>>, RankFailure>;

    /// Reports that this rank failed at `step` with `reason`, in place of the collective
    /// the other ranks are in, and returns the failure every rank agrees on (possibly a
    /// lower rank's, if it failed at the same collective).
    fn fail(&self, step: u64, reason: &str) -> RankFailure;

    /// The agreed failure, once there was one (sticky).
    fn failure(&self) -> Option<RankFailure>;
}

/// The group of one process: `all_gather` returns the contribution itself.
#[derive(Debug, Default)]
pub struct LocalCollective {
    failed: Mutex<Option<RankFailure>>,
}

impl LocalCollective {
    /// A fresh single-process group.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Locks a mutex even if a thread panicked while holding it (the data are plain values).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Collective for LocalCollective {
    fn rank(&self) -> usize {
        0
    }

    fn size(&self) -> usize {
        1
    }

    fn all_gather(&self, local: &[f64]) -> std::result::Result<Vec<Vec<f64>>, RankFailure> {
        match lock(&self.failed).clone() {
            Some(f) => Err(f),
            None => Ok(vec![local.to_vec()]),
        }
    }

    fn fail(&self, step: u64, reason: &str) -> RankFailure {
        let mut failed = lock(&self.failed);
        failed
            .get_or_insert_with(|| RankFailure {
                rank: 0,
                step,
                reason: reason.to_string(),
            })
            .clone()
    }

    fn failure(&self) -> Option<RankFailure> {
        lock(&self.failed).clone()
    }
}

/// What a rank deposits in a [`ThreadCollective`] exchange.
#[derive(Debug, Clone)]
enum Said {
    Ok(Vec<f64>),
    Failed(u64, String),
}

#[derive(Debug)]
struct ThreadShared {
    barrier: Barrier,
    slots: Mutex<Vec<Option<Said>>>,
}

/// One rank of a group of ranks running as threads of one process ([`ThreadCollective::group`]).
/// Same protocol as the MPI implementation: an exchange of what every rank says, then
/// everyone reads everything; two barriers per collective.
#[derive(Debug)]
pub struct ThreadCollective {
    rank: usize,
    size: usize,
    shared: Arc<ThreadShared>,
    failed: Mutex<Option<RankFailure>>,
}

impl ThreadCollective {
    /// `size` ranks; give rank r's handle to the thread that runs rank r.
    ///
    /// # Errors
    /// [`MeasuresError::Empty`] for `size = 0`.
    pub fn group(size: usize) -> Result<Vec<ThreadCollective>> {
        if size == 0 {
            return Err(MeasuresError::Empty {
                what: "number of ranks",
            });
        }
        let shared = Arc::new(ThreadShared {
            barrier: Barrier::new(size),
            slots: Mutex::new(vec![None; size]),
        });
        Ok((0..size)
            .map(|rank| ThreadCollective {
                rank,
                size,
                shared: shared.clone(),
                failed: Mutex::new(None),
            })
            .collect())
    }

    /// Deposits `said`, waits for every rank, reads all, waits again (so the slots can
    /// be reused), and records a failure if anyone failed.
    fn exchange(&self, said: Said) -> std::result::Result<Vec<Vec<f64>>, RankFailure> {
        lock(&self.shared.slots)[self.rank] = Some(said);
        self.shared.barrier.wait();
        let all: Vec<Said> = lock(&self.shared.slots)
            .iter()
            .map(|s| {
                s.clone()
                    .unwrap_or(Said::Failed(0, "no contribution".into()))
            })
            .collect();
        self.shared.barrier.wait();
        let failure = first_failure(all.iter().map(|s| match s {
            Said::Failed(step, reason) => Some((*step, reason.clone())),
            Said::Ok(_) => None,
        }));
        if let Some(f) = failure {
            *lock(&self.failed) = Some(f.clone());
            return Err(f);
        }
        Ok(all
            .into_iter()
            .map(|s| match s {
                Said::Ok(v) => v,
                Said::Failed(..) => Vec::new(),
            })
            .collect())
    }
}

impl Collective for ThreadCollective {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_gather(&self, local: &[f64]) -> std::result::Result<Vec<Vec<f64>>, RankFailure> {
        if let Some(f) = self.failure() {
            return Err(f);
        }
        self.exchange(Said::Ok(local.to_vec()))
    }

    fn fail(&self, step: u64, reason: &str) -> RankFailure {
        if let Some(f) = self.failure() {
            return f;
        }
        match self.exchange(Said::Failed(step, reason.to_string())) {
            Err(f) => f,
            // Unreachable: this rank's own contribution is a failure.
            Ok(_) => RankFailure {
                rank: self.rank,
                step,
                reason: reason.to_string(),
            },
        }
    }

    fn failure(&self) -> Option<RankFailure> {
        lock(&self.failed).clone()
    }
}

/// Global N particles split over `size` ranks: rank r owns the contiguous range of
/// blocks ⌊r·B_N/size⌋ … ⌊(r+1)·B_N/size⌋ − 1 of the B_N = ⌈N/[`BLOCK`]⌉ blocks, so
/// every range starts at a multiple of [`BLOCK`] and only the last rank's may end with a
/// partial block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Partition {
    global_n: usize,
    size: usize,
    rank: usize,
}

impl Partition {
    /// The partition of `global_n` particles over `size` ranks, seen from `rank`.
    ///
    /// # Errors
    /// [`MeasuresError::InvalidPartition`]: no particles or ranks, `rank ≥ size`, or fewer
    /// blocks than ranks (a rank would own no particle: use fewer ranks or more particles).
    pub fn new(global_n: usize, size: usize, rank: usize) -> Result<Self> {
        let bad = |reason: String| Err(MeasuresError::InvalidPartition { reason });
        if global_n == 0 || size == 0 {
            return bad(format!("N = {global_n} particles over {size} ranks"));
        }
        if rank >= size {
            return bad(format!("rank {rank} of a group of {size}"));
        }
        let blocks = global_n.div_ceil(BLOCK);
        if blocks < size {
            return bad(format!(
                "N = {global_n} particles make {blocks} blocks of {BLOCK}, fewer than the \
                 {size} ranks (every rank needs at least one block)"
            ));
        }
        Ok(Self {
            global_n,
            size,
            rank,
        })
    }

    /// The partition of `global_n` particles over the ranks of `collective`, seen from its rank.
    pub fn of(global_n: usize, collective: &dyn Collective) -> Result<Self> {
        Self::new(global_n, collective.size(), collective.rank())
    }

    /// Global number of particles N.
    pub fn global_n(&self) -> usize {
        self.global_n
    }

    /// Number of ranks.
    pub fn size(&self) -> usize {
        self.size
    }

    /// This rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Global indices of the particles of rank `r`.
    pub fn range_of(&self, r: usize) -> Range<usize> {
        let blocks = self.global_n.div_ceil(BLOCK);
        let b0 = r * blocks / self.size;
        let b1 = (r + 1) * blocks / self.size;
        (b0 * BLOCK).min(self.global_n)..(b1 * BLOCK).min(self.global_n)
    }

    /// Global indices of this rank's particles.
    pub fn range(&self) -> Range<usize> {
        self.range_of(self.rank)
    }
}

/// Where an ensemble's rows sit in a distributed run: the [`Partition`] and the
/// [`Collective`] of the ranks. Two shards are equal when their partitions are.
#[derive(Clone)]
pub struct Shard {
    partition: Partition,
    collective: Arc<dyn Collective>,
}

impl Shard {
    /// The shard of `partition`'s rank in the group `collective` (whose rank and size
    /// must be the partition's).
    ///
    /// # Errors
    /// [`MeasuresError::InvalidPartition`] if rank or size disagree.
    pub fn new(partition: Partition, collective: Arc<dyn Collective>) -> Result<Self> {
        if collective.rank() != partition.rank() || collective.size() != partition.size() {
            return Err(MeasuresError::InvalidPartition {
                reason: format!(
                    "partition for rank {} of {}, collective is rank {} of {}",
                    partition.rank(),
                    partition.size(),
                    collective.rank(),
                    collective.size()
                ),
            });
        }
        Ok(Self {
            partition,
            collective,
        })
    }

    /// The partition.
    pub fn partition(&self) -> &Partition {
        &self.partition
    }

    /// The group of ranks.
    pub fn collective(&self) -> &Arc<dyn Collective> {
        &self.collective
    }

    /// Global index of this shard's first particle.
    pub fn first(&self) -> usize {
        self.partition.range().start
    }
}

impl PartialEq for Shard {
    fn eq(&self, other: &Self) -> bool {
        self.partition == other.partition
    }
}

impl fmt::Debug for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shard")
            .field("partition", &self.partition)
            .finish_non_exhaustive()
    }
}

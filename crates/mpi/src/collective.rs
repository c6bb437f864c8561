//! The [`Collective`] over `MPI_COMM_WORLD` (rsmpi).
//!
//! Every collective is two MPI calls: an `MPI_Allgather` of a three-integer header per
//! rank — (status, length, step), status 0 = ok, 1 = failed — and then either an
//! `MPI_Allgatherv` of the `f64` payloads (lengths from the headers) or, when any rank
//! failed, an `MPI_Allgatherv` of the failing ranks' messages (UTF-8 bytes). A rank that
//! failed sends its failure header in place of the collective the others are in, so all
//! ranks learn of it in the same call, record it (sticky) and return the same error; none
//! waits for a rank that stopped. An MPI error itself aborts the job (MPI's default
//! `MPI_ERRORS_ARE_FATAL`), which `mpirun`/`srun` turn into every rank ending.
//!
//! MPI is initialised with `MPI_THREAD_FUNNELED`: only the thread that initialised it may
//! call a collective (the runner does; rayon workers only compute block partials).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use meanfield_measures::distributed::first_failure;
use meanfield_measures::{Collective, RankFailure};
use mpi::Count;
use mpi::datatype::PartitionMut;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives};

/// The MPI environment of the process: MPI is finalised when it is dropped (keep it alive
/// for the whole program).
pub struct Universe {
    _universe: mpi::environment::Universe,
    collective: Arc<MpiCollective>,
}

impl Universe {
    /// This process's handle of the group of all ranks.
    pub fn collective(&self) -> Arc<dyn Collective> {
        self.collective.clone()
    }

    /// The same handle with its MPI-specific counters ([`MpiCollective::communication_time`]).
    pub fn mpi(&self) -> &Arc<MpiCollective> {
        &self.collective
    }
}

/// Initialises MPI (`MPI_Init_thread`, funneled) and returns the universe of
/// `MPI_COMM_WORLD`; `None` if MPI was already initialised or the threading level is not
/// available.
pub fn initialize() -> Option<Universe> {
    let (universe, threading) = mpi::initialize_with_threading(mpi::Threading::Funneled)?;
    if threading == mpi::Threading::Single {
        return None;
    }
    let world = universe.world();
    let collective = Arc::new(MpiCollective {
        rank: world.rank() as usize,
        size: world.size() as usize,
        failed: Mutex::new(None),
        time: Mutex::new(Duration::ZERO),
    });
    Some(Universe {
        _universe: universe,
        collective,
    })
}

/// One rank of `MPI_COMM_WORLD` as a [`Collective`] (module docs). It holds no MPI handle
/// (each call uses the world communicator), so it is `Send + Sync` without unsafe code.
#[derive(Debug)]
pub struct MpiCollective {
    rank: usize,
    size: usize,
    failed: Mutex<Option<RankFailure>>,
    time: Mutex<Duration>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Displacements of consecutive blocks of the given counts.
fn displacements(counts: &[Count]) -> Vec<Count> {
    counts
        .iter()
        .scan(0, |acc, &c| {
            let d = *acc;
            *acc += c;
            Some(d)
        })
        .collect()
}

impl MpiCollective {
    /// Wall time this rank spent inside collectives so far (waiting included): the
    /// communication share of a run.
    pub fn communication_time(&self) -> Duration {
        *lock(&self.time)
    }

    /// The header exchange and the payload (or failure) exchange.
    fn exchange(
        &self,
        payload: std::result::Result<&[f64], (u64, &str)>,
    ) -> std::result::Result<Vec<Vec<f64>>, RankFailure> {
        let started = Instant::now();
        let world = SimpleCommunicator::world();
        let header: [i64; 3] = match payload {
            Ok(v) => [0, v.len() as i64, 0],
            Err((step, reason)) => [1, reason.len() as i64, step as i64],
        };
        let mut headers = vec![0i64; 3 * self.size];
        world.all_gather_into(&header[..], &mut headers[..]);
        let any_failed = headers.chunks_exact(3).any(|h| h[0] != 0);
        let result = if any_failed {
            let counts: Vec<Count> = headers
                .chunks_exact(3)
                .map(|h| if h[0] != 0 { h[1] as Count } else { 0 })
                .collect();
            let mine: &[u8] = match payload {
                Err((_, reason)) => reason.as_bytes(),
                Ok(_) => &[],
            };
            let displs = displacements(&counts);
            let mut bytes = vec![0u8; counts.iter().map(|&c| c as usize).sum()];
            {
                let mut part = PartitionMut::new(&mut bytes[..], &counts[..], &displs[..]);
                world.all_gather_varcount_into(mine, &mut part);
            }
            let failure = first_failure(headers.chunks_exact(3).enumerate().map(|(r, h)| {
                (h[0] != 0).then(|| {
                    let (d, c) = (displs[r] as usize, counts[r] as usize);
                    (
                        h[2] as u64,
                        String::from_utf8_lossy(&bytes[d..d + c]).into_owned(),
                    )
                })
            }))
            .unwrap_or(RankFailure {
                rank: self.rank,
                step: 0,
                reason: "unknown failure".into(),
            });
            *lock(&self.failed) = Some(failure.clone());
            Err(failure)
        } else {
            let counts: Vec<Count> = headers.chunks_exact(3).map(|h| h[1] as Count).collect();
            let displs = displacements(&counts);
            let mut all = vec![0.0f64; counts.iter().map(|&c| c as usize).sum()];
            if let Ok(mine) = payload {
                let mut part = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
                world.all_gather_varcount_into(mine, &mut part);
            }
            Ok(counts
                .iter()
                .zip(&displs)
                .map(|(&c, &d)| all[d as usize..(d + c) as usize].to_vec())
                .collect())
        };
        *lock(&self.time) += started.elapsed();
        result
    }
}

impl Collective for MpiCollective {
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
        if local.len() > Count::MAX as usize / self.size.max(1) {
            // Too large for MPI's int counts: fail every rank rather than overflow.
            return Err(self.fail(
                0,
                &format!(
                    "all-gather of {} values exceeds MPI's count limit",
                    local.len()
                ),
            ));
        }
        self.exchange(Ok(local))
    }

    fn fail(&self, step: u64, reason: &str) -> RankFailure {
        if let Some(f) = self.failure() {
            return f;
        }
        match self.exchange(Err((step, reason))) {
            Err(f) => f,
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

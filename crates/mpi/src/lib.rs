//! # meanfield-mpi
//!
//! Runs meanfield's dynamics on ensembles spread over the ranks of an MPI job, with
//! results bitwise identical to the single-process run for any number of ranks
//! (docs/distributed.md). The library crates know nothing of MPI: they reduce through the
//! [`Collective`] trait of `meanfield_measures::distributed`; this crate is the only one
//! that links MPI (rsmpi), behind the cargo feature `mpi` (off by default, so the
//! workspace builds and tests without an MPI installation).
//!
//! | item | needs `mpi` | what |
//! |---|---|---|
//! | [`MpiCollective`] | yes | the [`Collective`] over `MPI_COMM_WORLD` (header exchange + all-gather) |
//! | [`write_checkpoint`], [`read_checkpoint`] | no | the gathered global checkpoint written by rank 0 (complete or absent), read and scattered on any rank count |
//!
//! ```text
//! let universe = meanfield_mpi::initialize()?;          // MPI_Init (funneled)
//! let group = universe.collective();                    // Arc<dyn Collective>
//! let start = law.sample_shard(Partition::of(n, group.as_ref())?, group.clone(), …)?;
//! let mut run = Checkpoint::start(&dynamics, start, seed)?;
//! dynamics.runner(steps).run(&mut dynamics, &mut run)?;  // the usual Runner
//! write_checkpoint(path, &run, group.as_ref())?;         // rank 0 writes the global one
//! ```

use std::path::Path;
use std::sync::Arc;

use meanfield_integrators::{Checkpoint, DistributedState, IntegratorError, Result};
use meanfield_measures::Collective;

#[cfg(feature = "mpi")]
mod collective;
#[cfg(feature = "mpi")]
pub use collective::{MpiCollective, Universe, initialize};

/// Gathers `checkpoint` (collective: every rank calls it) and writes the global
/// checkpoint JSON to `path` from rank 0, through a temporary file renamed into place, so
/// the file is either the complete checkpoint or absent (an interrupted write leaves only
/// `path.tmp`, which [`read_checkpoint`] ignores). The file equals the single-process
/// checkpoint at the same step byte for byte.
///
/// # Errors
/// [`IntegratorError::RankFailed`] if a rank failed; [`IntegratorError::Checkpoint`] for
/// an I/O error on rank 0 (reported to every rank).
pub fn write_checkpoint<S: DistributedState>(
    path: &Path,
    checkpoint: &Checkpoint<S>,
    group: &dyn Collective,
) -> Result<()> {
    let global = checkpoint.gathered()?;
    let written = if group.rank() == 0 {
        global.to_json().and_then(|json| {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, json)
                .and_then(|()| std::fs::rename(&tmp, path))
                .map_err(|e| {
                    IntegratorError::Checkpoint(format!("writing {}: {e}", path.display()))
                })
        })
    } else {
        Ok(())
    };
    // Every rank learns whether rank 0 succeeded.
    match written {
        Err(e) => Err(group.fail(checkpoint.step, &e.to_string()).into()),
        Ok(()) => {
            group.all_gather(&[])?;
            Ok(())
        }
    }
}

/// Reads a global checkpoint written by [`write_checkpoint`] (by a run on any number of
/// ranks, or by a single process: `Checkpoint::to_json`) and returns this rank's part.
/// Resuming it on this job's ranks continues the identical path.
///
/// # Errors
/// [`IntegratorError::Checkpoint`] if the file is missing or invalid (on any rank: every
/// rank gets the failure).
pub fn read_checkpoint<S: DistributedState>(
    path: &Path,
    group: Arc<dyn Collective>,
) -> Result<Checkpoint<S>> {
    let local = std::fs::read_to_string(path)
        .map_err(|e| IntegratorError::Checkpoint(format!("reading {}: {e}", path.display())))
        .and_then(|json| Checkpoint::<S>::from_json(&json))
        .and_then(|c| c.scattered(group.clone()));
    match local {
        Err(e) => Err(group.fail(0, &e.to_string()).into()),
        Ok(c) => {
            group.all_gather(&[])?;
            Ok(c)
        }
    }
}

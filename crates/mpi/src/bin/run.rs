//! `meanfield-mpi-run`: one family on a built-in energy, run under `mpirun` (or, with
//! `--serial`, as the single-process reference without MPI). Used by the MPI tests
//! (`benches/tests/mpi.rs`) and the scaling measurements of docs/distributed.md.
//!
//! ```text
//! mpirun -np 3 meanfield-mpi-run --family mfld --n 5000 --d 3 --steps 20 --out final.json
//! meanfield-mpi-run --serial --family mfld --n 5000 --d 3 --steps 20 --out ref.json
//! ```
//!
//! Options: `--family
//! mfld|projected|mirror|adjusted|cbo|cbo-ess|cbs|constrained-cbo|mirror-cbo|cbo-memory|pso|polar-cbo|pgd|mpd|pqn|pmgd|fisher-rao|fisher-rao-kernel|wfr`
//! (the consensus variants on Rastrigin: `constrained-cbo` on the sphere of radius 1.5,
//! hypersurface scheme; `mirror-cbo` with the elastic-net map δ = 1, λ = 0.1;
//! `cbo-memory` with λ_m = 0.4; `pso` with m = 0.1, γ = 0.9; `polar-cbo` with κ = 0.8,
//! kernel exponent α; `cbs`: consensus-based sampling, sampling mode, exponential scheme, Cholesky root;
//! `fisher-rao`: the density-ratio flow; `fisher-rao-kernel`: variant (4), KL between
//! smoothed measures, bump kernel of radius 0.3; `wfr`: variant (1), kernel on the
//! evolving measure, with transport), `--model
//! toy|logistic` (the latent model of particle EM: the toy hierarchical Gaussian with d
//! observations, or Bayesian logistic regression with d features on 40 synthetic data;
//! default toy), `--n`, `--d`,
//! `--steps`, `--seed`, `--out FILE` (the final global checkpoint, written by rank 0),
//! `--stop-at K --checkpoint FILE` (write the checkpoint after K steps and exit: an
//! interrupted run), `--resume FILE` (continue from a global checkpoint, written on any
//! rank count), `--poison I` (global particle I gets x₀ = 2·10⁶, where the energy is NaN:
//! a failure on the rank that owns it), `--threads T` (rayon pool), `--time` (print time
//! per step and the communication share). On an error every rank prints
//! `rank R: error: …` and exits with status 3.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use meanfield_energy::{
    BayesianLogistic, Functional, HierarchicalGaussian, LatentModel, MeanInteraction, Objective,
    QuadraticInteraction, SimplexMoment, TestFunction,
};
use meanfield_integrators::cbo::{
    AlphaSchedule, Cbo, CboMemory, CboMemoryParams, CboNoise, CboParams, Cbs, CbsMode, CbsParams,
    ConstrainedCbo, ConstrainedCboParams, ConstraintScheme, ElasticNet, Hypersurface, KernelScale,
    MirrorCbo, PolarCbo, PolarCboParams, Pso, PsoParams,
};
use meanfield_integrators::{
    AdjustedMirrorMfld, Checkpoint, DistributedState, Dynamics, FisherRao, FisherRaoParams,
    GaussianReference, Kernelisation, LangevinParams, Mfld, MirrorMfld, Mpd, MpdParams, Pgd,
    PgdParams, Pmgd, PmgdParams, Pqn, ProjectedMfld,
};
use meanfield_measures::{
    BoxBounds, Collective, Domain, Ensemble, InitialLaw, Kernel, LogBarrier, Parallelism,
    Partition, streams,
};
use meanfield_mpi::{read_checkpoint, write_checkpoint};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone)]
struct Options {
    family: String,
    model: String,
    n: usize,
    d: usize,
    steps: u64,
    seed: u64,
    out: Option<PathBuf>,
    stop_at: Option<u64>,
    checkpoint: Option<PathBuf>,
    resume: Option<PathBuf>,
    poison: Option<usize>,
    serial: bool,
    time: bool,
    threads: Option<usize>,
}

fn parse() -> Result<Options, BoxError> {
    let mut o = Options {
        family: "mfld".into(),
        model: "toy".into(),
        n: 5000,
        d: 3,
        steps: 20,
        seed: 7,
        out: None,
        stop_at: None,
        checkpoint: None,
        resume: None,
        poison: None,
        serial: false,
        time: false,
        threads: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--family" => o.family = value()?,
            "--model" => o.model = value()?,
            "--n" => o.n = value()?.parse()?,
            "--d" => o.d = value()?.parse()?,
            "--steps" => o.steps = value()?.parse()?,
            "--seed" => o.seed = value()?.parse()?,
            "--out" => o.out = Some(value()?.into()),
            "--stop-at" => o.stop_at = Some(value()?.parse()?),
            "--checkpoint" => o.checkpoint = Some(value()?.into()),
            "--resume" => o.resume = Some(value()?.into()),
            "--poison" => o.poison = Some(value()?.parse()?),
            "--threads" => o.threads = Some(value()?.parse()?),
            "--serial" => o.serial = true,
            "--time" => o.time = true,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(o)
}

/// Where the energies of `--poison` runs are NaN: x₀ > 10⁶, far beyond any particle of
/// these runs (the poisoned particle is put at 2·10⁶).
const POISON_THRESHOLD: f64 = 1e6;

/// F (or f), but ∇δF/δμ (or f) is NaN at points with x₀ > [`POISON_THRESHOLD`] (`--poison`).
struct Poisoned<F>(F);

impl<F: Functional> Functional for Poisoned<F> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn value(&self, ens: &Ensemble) -> meanfield_energy::Result<f64> {
        self.0.value(ens)
    }
    fn first_variation_grad(
        &self,
        ens: &Ensemble,
        out: &mut [f64],
    ) -> meanfield_energy::Result<()> {
        self.0.first_variation_grad(ens, out)?;
        for (o, x) in out.chunks_exact_mut(ens.dim()).zip(ens.rows()) {
            if x[0] > POISON_THRESHOLD {
                o[0] = f64::NAN;
            }
        }
        Ok(())
    }
    fn first_variation(&self, ens: &Ensemble, out: &mut [f64]) -> meanfield_energy::Result<()> {
        self.0.first_variation(ens, out)
    }
    fn fingerprint(&self) -> String {
        format!("poisoned({})", self.0.fingerprint())
    }
}

impl<O: Objective> Objective for Poisoned<O> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn value(&self, x: &[f64]) -> f64 {
        if x[0] > POISON_THRESHOLD {
            f64::NAN
        } else {
            self.0.value(x)
        }
    }
    fn fingerprint(&self) -> String {
        format!("poisoned({})", self.0.fingerprint())
    }
}

/// Where the run happens: one process, or this rank of an MPI job.
struct Place {
    group: Option<Arc<dyn Collective>>,
    #[allow(dead_code)]
    universe: Option<meanfield_mpi::Universe>,
}

impl Place {
    fn rank(&self) -> usize {
        self.group.as_ref().map_or(0, |g| g.rank())
    }
}

/// Draws the starting ensemble (this rank's rows), poisons a particle if asked.
fn start_ensemble(
    o: &Options,
    place: &Place,
    law: &InitialLaw,
    domain: Domain,
    purpose: u64,
) -> Result<Ensemble, BoxError> {
    let mut ens = match &place.group {
        None => law.sample_on(o.n, domain, o.seed, purpose)?,
        Some(g) => law.sample_shard(
            Partition::of(o.n, g.as_ref())?,
            g.clone(),
            domain,
            o.seed,
            purpose,
        )?,
    };
    if let Some(i) = o.poison {
        let first = ens.first_index() as usize;
        if (first..first + ens.n()).contains(&i) {
            ens.particle_mut(i - first)[0] = 2.0 * POISON_THRESHOLD;
        }
    }
    Ok(ens)
}

/// Starts (or resumes), runs and writes the checkpoints of one family.
fn drive<D>(o: &Options, place: &Place, mut dynamics: D, start: Ensemble) -> Result<(), BoxError>
where
    D: Dynamics,
    D::State: DistributedState,
{
    let mut run = match (&o.resume, &place.group) {
        (Some(path), Some(g)) => read_checkpoint(path, g.clone())?,
        (Some(path), None) => Checkpoint::from_json(&std::fs::read_to_string(path)?)?,
        (None, _) => Checkpoint::start(&dynamics, start, o.seed)?,
    };
    let steps = o.stop_at.unwrap_or(o.steps);
    let t0 = Instant::now();
    let from = run.step;
    dynamics.runner(steps).run(&mut dynamics, &mut run)?;
    let elapsed = t0.elapsed();
    if o.time {
        let comm = place
            .universe
            .as_ref()
            .map_or(0.0, |u| u.mpi().communication_time().as_secs_f64());
        let taken = (run.step - from).max(1) as f64;
        eprintln!(
            "timing rank {}: {} steps, {:.6} s/step, communication {:.6} s/step ({:.1} %)",
            place.rank(),
            run.step - from,
            elapsed.as_secs_f64() / taken,
            comm / taken,
            100.0 * comm / elapsed.as_secs_f64().max(1e-12)
        );
    }
    let path = if o.stop_at.is_some() {
        o.checkpoint.as_ref()
    } else {
        o.out.as_ref()
    };
    if let Some(path) = path {
        match &place.group {
            Some(g) => write_checkpoint(path, &run, g.as_ref())?,
            None => std::fs::write(path, run.to_json()?)?,
        }
    }
    Ok(())
}

/// The toy hierarchical Gaussian model with d observations y_j = 3 + sin(j) (the MLE
/// θ̂ = mean y).
fn toy_model(d: usize) -> Result<HierarchicalGaussian, BoxError> {
    Ok(HierarchicalGaussian::new(
        (0..d).map(|j| 3.0 + (j as f64).sin()).collect(),
    )?)
}

/// Bayesian logistic regression with d features on M = 40 synthetic data (features
/// sin(0.37·k), labels 1 for every third datum), prior variance 5 (ParEM's).
fn logistic_model(d: usize) -> Result<BayesianLogistic, BoxError> {
    let m = 40;
    let f = (0..m * d).map(|k| ((k as f64) * 0.37).sin()).collect();
    let y = (0..m).map(|j| f64::from(u8::from(j % 3 == 0))).collect();
    Ok(BayesianLogistic::new(f, y, d, 5.0)?)
}

/// PGD, MPD, PQN or PMGD (`o.family`) on `model`, from N(0, I) particles.
fn particle_em<M: LatentModel>(o: &Options, place: &Place, model: M) -> Result<(), BoxError> {
    let law = InitialLaw::isotropic_gaussian(o.d, 0.0, 1.0);
    let start = start_ensemble(
        o,
        place,
        &law,
        Domain::Euclidean,
        streams::INITIAL_POSITIONS,
    )?;
    let par = Parallelism::Rayon;
    match o.family.as_str() {
        "pgd" => drive(
            o,
            place,
            Pgd::new(model, PgdParams::new(0.01, 0.01)?)?.with_parallelism(par),
            start,
        ),
        "pqn" => drive(
            o,
            place,
            Pqn::new(model, PgdParams::new(0.5, 0.01)?)?.with_parallelism(par),
            start,
        ),
        "pmgd" => drive(
            o,
            place,
            Pmgd::new(model, PmgdParams::new(0.01)?)?.with_parallelism(par),
            start,
        ),
        _ => {
            let params = MpdParams::new(0.01, 0.01)?
                .with_theta_momentum(1.0, 0.5)?
                .with_particle_momentum(1.0, 2.0)?;
            drive(
                o,
                place,
                Mpd::new(model, params)?.with_parallelism(par),
                start,
            )
        }
    }
}

/// The Fisher–Rao flow of `o.family` towards π = N(0, I) for the mean interaction
/// (κ = 1.5, b alternating ±1), from a π-sample (uniform weights).
fn fisher_rao(o: &Options, place: &Place) -> Result<(), BoxError> {
    let law = InitialLaw::isotropic_gaussian(o.d, 0.0, 1.0);
    let start = start_ensemble(
        o,
        place,
        &law,
        Domain::Euclidean,
        streams::INITIAL_POSITIONS,
    )?;
    let mut params = FisherRaoParams::new(GaussianReference::standard(o.d)?, 0.7, 0.05)?;
    let kernel = Kernel::bump(0.3, o.d)?;
    match o.family.as_str() {
        "fisher-rao-kernel" => {
            params = params.with_kernelisation(Kernelisation::SmoothedKl, kernel);
        }
        "wfr" => {
            params = params
                .with_kernelisation(Kernelisation::EvolvingMeasure, kernel)
                .with_transport();
        }
        _ => {}
    }
    let b = (0..o.d)
        .map(|k| if k % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let flow = FisherRao::new(MeanInteraction::new(1.5, b)?, params)?;
    drive(o, place, flow.with_parallelism(Parallelism::Rayon), start)
}

/// The consensus variants of `o.family` on (poisoned) Rastrigin from uniform [−3, 3]^d
/// particles, CBO parameters λ = 1, σ = 0.8, dt = 0.02, α₀ = 10 ×1.05 per step.
fn consensus_variant(o: &Options, place: &Place) -> Result<(), BoxError> {
    let law = InitialLaw::uniform_cube(o.d, -3.0, 3.0);
    let start = start_ensemble(o, place, &law, Domain::Euclidean, streams::CBO_INIT)?;
    let cbo = CboParams::new(1.0, 0.8, 0.02)?
        .with_alpha(10.0)?
        .with_schedule(AlphaSchedule::cbxpy_default())?;
    let f = || -> Result<_, BoxError> { Ok(Poisoned(TestFunction::rastrigin(o.d)?)) };
    let par = Parallelism::Rayon;
    match o.family.as_str() {
        "constrained-cbo" => {
            let p = ConstrainedCboParams::new(
                cbo,
                Hypersurface::sphere(1.5)?,
                ConstraintScheme::Hypersurface,
            )?;
            drive(
                o,
                place,
                ConstrainedCbo::new(f()?, p)?.with_parallelism(par),
                start,
            )
        }
        "mirror-cbo" => {
            let m = MirrorCbo::new(f()?, ElasticNet::new(1.0, 0.1)?, cbo)?;
            drive(o, place, m.with_parallelism(par), start)
        }
        "cbo-memory" => {
            let p = CboMemoryParams::new(cbo, 0.4)?;
            drive(
                o,
                place,
                CboMemory::new(f()?, p)?.with_parallelism(par),
                start,
            )
        }
        "pso" => {
            let p = PsoParams::new(CboMemoryParams::new(cbo, 0.4)?, 0.1, 0.9)?;
            drive(o, place, Pso::new(f()?, p)?.with_parallelism(par), start)
        }
        _ => {
            let p = PolarCboParams::new(cbo, 0.8)?.with_kernel_scale(KernelScale::Alpha);
            drive(
                o,
                place,
                PolarCbo::new(f()?, p)?.with_parallelism(par),
                start,
            )
        }
    }
}

fn langevin() -> Result<LangevinParams, BoxError> {
    Ok(LangevinParams::new(0.3, 0.05)?)
}

fn main_inner(o: &Options, place: &Place) -> Result<(), BoxError> {
    let par = Parallelism::Rayon;
    let quadratic = || {
        QuadraticInteraction::new(
            1.0,
            (0..o.d)
                .map(|k| if k % 2 == 0 { 1.0 } else { -1.0 })
                .collect(),
        )
    };
    let boxed = || BoxBounds::uniform(o.d, 0.0, 2.0);
    let uniform_box = |b: &BoxBounds| InitialLaw::UniformBox {
        lower: b.lower().to_vec(),
        upper: b.upper().to_vec(),
    };
    match o.family.as_str() {
        "mfld" => {
            let law = InitialLaw::isotropic_gaussian(o.d, 0.5, 1.0);
            let start = start_ensemble(
                o,
                place,
                &law,
                Domain::Euclidean,
                streams::INITIAL_POSITIONS,
            )?;
            let f = Poisoned(quadratic()?);
            drive(
                o,
                place,
                Mfld::new(f, langevin()?)?.with_parallelism(par),
                start,
            )
        }
        "projected" => {
            let law = InitialLaw::Dirichlet {
                alpha: vec![2.0; o.d],
            };
            let domain = law.natural_domain();
            let start = start_ensemble(o, place, &law, domain, streams::INITIAL_POSITIONS)?;
            let q = vec![1.0 / o.d as f64; o.d];
            let f = SimplexMoment::new(q, 0.0)?;
            drive(
                o,
                place,
                ProjectedMfld::new(f, LangevinParams::new(0.1, 0.02)?)?.with_parallelism(par),
                start,
            )
        }
        "mirror" => {
            let b = boxed()?;
            let start = start_ensemble(
                o,
                place,
                &uniform_box(&b),
                Domain::Box(b.clone()),
                streams::INITIAL_POSITIONS,
            )?;
            let m = MirrorMfld::new(
                quadratic()?,
                LogBarrier::new(b)?,
                LangevinParams::new(0.2, 0.02)?,
            )?;
            drive(o, place, m.with_parallelism(par), start)
        }
        "adjusted" => {
            let b = boxed()?;
            let start = start_ensemble(
                o,
                place,
                &uniform_box(&b),
                Domain::Box(b.clone()),
                streams::INITIAL_POSITIONS,
            )?;
            let m = AdjustedMirrorMfld::new(
                quadratic()?,
                LogBarrier::new(b)?,
                LangevinParams::new(0.2, 0.05)?,
            )?;
            drive(o, place, m.with_parallelism(par), start)
        }
        "cbo" | "cbo-ess" => {
            let law = InitialLaw::uniform_cube(o.d, -3.0, 3.0);
            let start = start_ensemble(o, place, &law, Domain::Euclidean, streams::CBO_INIT)?;
            let params = if o.family == "cbo" {
                CboParams::new(1.0, 4.0, 0.01)?
                    .with_alpha(30.0)?
                    .with_schedule(AlphaSchedule::cbxpy_default())?
            } else {
                CboParams::new(1.0, 0.7, 0.05)?
                    .with_noise(CboNoise::Isotropic)
                    .with_schedule(AlphaSchedule::EffectiveSampleSize {
                        eta: 0.5,
                        min: 1e-5,
                        max: 1e5,
                    })?
            };
            let f = Poisoned(TestFunction::rastrigin(o.d)?);
            drive(o, place, Cbo::new(f, params)?.with_parallelism(par), start)
        }
        "cbs" => {
            let law = InitialLaw::uniform_cube(o.d, -3.0, 3.0);
            let start = start_ensemble(o, place, &law, Domain::Euclidean, streams::CBO_INIT)?;
            let params = CbsParams::new(CbsMode::Sampling, 0.5)?.with_alpha(1.0)?;
            let f = Poisoned(TestFunction::rastrigin(o.d)?);
            drive(o, place, Cbs::new(f, params)?.with_parallelism(par), start)
        }
        "constrained-cbo" | "mirror-cbo" | "cbo-memory" | "pso" | "polar-cbo" => {
            consensus_variant(o, place)
        }
        "pgd" | "mpd" | "pqn" | "pmgd" => match o.model.as_str() {
            "toy" => particle_em(o, place, toy_model(o.d)?),
            "logistic" => particle_em(o, place, logistic_model(o.d)?),
            other => Err(format!("unknown model {other} (toy or logistic)").into()),
        },
        "fisher-rao" | "fisher-rao-kernel" | "wfr" => fisher_rao(o, place),
        other => Err(format!("unknown family {other}").into()),
    }
}

fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if let Some(t) = o.threads {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global();
    }
    let place = if o.serial {
        Place {
            group: None,
            universe: None,
        }
    } else {
        let Some(universe) = meanfield_mpi::initialize() else {
            eprintln!("error: MPI could not be initialised (funneled threading)");
            std::process::exit(2);
        };
        Place {
            group: Some(universe.collective()),
            universe: Some(universe),
        }
    };
    if let Err(e) = main_inner(&o, &place) {
        // One write of the whole line, so the lines of several ranks do not interleave.
        let line = format!("rank {}: error: {e}\n", place.rank());
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
        drop(place);
        std::process::exit(3);
    }
    if place.rank() == 0 {
        println!("ok");
    }
}

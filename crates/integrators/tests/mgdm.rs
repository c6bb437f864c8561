//! MGDM / MF-MGDM: the determinant-lemma log|det| against a dense LU of the full NT × NT
//! step Jacobian (with and without the positivity projection), that Jacobian against
//! finite differences of the step map, groups of size 1 ≡ MGDM bit for bit, thread-count
//! invariance and typed errors.

use meanfield_energy::{Acf1, FeatureMap, MultiLagAcf};
use meanfield_integrators::{Coupling, Dynamics, IntegratorError, Mgdm, MgdmParams, StepKey};
use meanfield_linalg::{dense_log_det, row_major};
use meanfield_measures::{Domain, Ensemble, NoiseStreams, Parallelism};
use proptest::prelude::*;

fn params(gamma: f64, coupling: Coupling, project: bool) -> MgdmParams {
    MgdmParams::new(gamma)
        .unwrap()
        .with_coupling(coupling)
        .unwrap()
        .with_projection(project)
        .with_log_det(true)
}

/// N paths of length T: N(0, 1) draws, or |N(0, 1)| + 0.05 when `positive`.
fn paths(n: usize, t: usize, seed: u64, positive: bool) -> Vec<f64> {
    let s = NoiseStreams::new(seed, 3);
    let mut x = vec![0.0; n * t];
    for (i, row) in x.chunks_exact_mut(t).enumerate() {
        s.fill_standard_normal(0, i as u64, row);
        if positive {
            row.iter_mut().for_each(|v| *v = v.abs() + 0.05);
        }
    }
    x
}

/// α = mean features of independent paths (a realistic, non-zero target).
fn target<F: FeatureMap>(map: &F, seed: u64, positive: bool) -> Vec<f64> {
    let (t, k) = (map.len(), map.n_features());
    let x = paths(64, t, seed ^ 0xabc, positive);
    let mut a = vec![0.0; k];
    let mut phi = vec![0.0; k];
    for row in x.chunks_exact(t) {
        map.eval(row, &mut phi).unwrap();
        a.iter_mut().zip(&phi).for_each(|(a, p)| *a += p / 64.0);
    }
    // shift the target so residuals (and Hessian weights) are not small
    a.iter_mut().for_each(|v| *v *= 1.3);
    a
}

/// Lemma vs dense: |ℓ − ℓ_dense| ≤ 1e-9 max(1, |ℓ_dense|) and equal signs.
fn lemma_vs_dense<F: FeatureMap + Clone>(
    map: F,
    n: usize,
    group: Coupling,
    project: bool,
    gamma: f64,
    seed: u64,
) -> Result<(), TestCaseError>
where
    F::Hessian: std::fmt::Debug,
{
    let t = map.len();
    let alpha = target(&map, seed, project);
    let mut x = paths(n, t, seed, project);
    let mut m = Mgdm::new(map, alpha, params(gamma, group, project)).unwrap();
    let dense = m.dense_jacobian_reference(&x).unwrap();
    let Ok(want) = dense_log_det(row_major(&dense, n * t, n * t).unwrap()) else {
        return Ok(());
    };
    let report = m.step_paths(&mut x, 0).unwrap();
    prop_assert!(
        (report.log_det - want.log_abs).abs() <= 1e-9 * want.log_abs.abs().max(1.0),
        "lemma {} vs dense {}",
        report.log_det,
        want.log_abs
    );
    let positive = report.negative_dets.is_multiple_of(2);
    prop_assert_eq!(positive, want.sign > 0.0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn determinant_lemma_matches_dense_log_det(
        t in 3usize..8,
        log2n in 0u32..3,
        log2g in 0u32..3,
        independent in any::<bool>(),
        project in any::<bool>(),
        gamma in 0.5f64..20.0,
        seed in 0u64..1_000_000,
        lag in 1usize..3,
    ) {
        let n = 1usize << log2n;
        let coupling = if independent {
            Coupling::Independent
        } else {
            Coupling::Groups(1usize << log2g.min(log2n))
        };
        lemma_vs_dense(Acf1::new(t).unwrap(), n, coupling, project, gamma, seed)?;
        let lag = lag.min(t - 1);
        lemma_vs_dense(MultiLagAcf::new(t, lag, true).unwrap(), n, coupling, project, gamma * 0.1, seed)?;
    }
}

/// The assembled Jacobian is the derivative of the step: central differences of the
/// step map (away from the projection's switching points).
#[test]
fn dense_jacobian_is_the_derivative_of_the_step() {
    for (project, coupling) in [
        (false, Coupling::Groups(3)),
        (true, Coupling::Groups(3)),
        (false, Coupling::Independent),
        (true, Coupling::Independent),
    ] {
        let (n, t) = (3, 6);
        let map = MultiLagAcf::new(t, 2, true).unwrap();
        let mut alpha = target(&map, 5, project);
        if project {
            // a target with much smaller features pulls coordinates through 0
            alpha.iter_mut().for_each(|a| *a *= 0.3);
        }
        let x = paths(n, t, 5, project);
        let gamma = if project { 6.0 } else { 1.0 };
        let mut m = Mgdm::new(map, alpha, params(gamma, coupling, project)).unwrap();
        let jac = m.dense_jacobian_reference(&x).unwrap();
        let nt = n * t;
        // the lemma at this point (frozen coordinates included) vs the dense LU
        let want = dense_log_det(row_major(&jac, nt, nt).unwrap()).unwrap();
        let mut x0 = x.clone();
        let rep = m.step_paths(&mut x0, 0).unwrap();
        assert!(
            (rep.log_det - want.log_abs).abs() <= 1e-9 * want.log_abs.abs().max(1.0),
            "project={project}: lemma {} vs dense {}",
            rep.log_det,
            want.log_abs
        );
        assert_eq!(
            project,
            rep.frozen > 0,
            "frozen coordinates: {}",
            rep.frozen
        );
        let h = 1e-6;
        let mut frozen_seen = false;
        for c in 0..nt {
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[c] += h;
            xm[c] -= h;
            let rp = m.step_paths(&mut xp, 0).unwrap();
            let rm = m.step_paths(&mut xm, 0).unwrap();
            frozen_seen |= rp.frozen > 0;
            assert_eq!(
                rp.frozen, rm.frozen,
                "finite difference crosses the projection switch"
            );
            for r in 0..nt {
                let fd = (xp[r] - xm[r]) / (2.0 * h);
                let an = jac[r * nt + c];
                assert!(
                    (fd - an).abs() <= 1e-6 * (1.0 + an.abs()),
                    "project={project} ({r},{c}): analytic {an} vs FD {fd}"
                );
            }
        }
        if project {
            assert!(
                frozen_seen,
                "the projected case should freeze some coordinates"
            );
        }
    }
}

fn run(coupling: Coupling, project: bool, par: Parallelism, steps: u64) -> (Vec<f64>, Vec<f64>) {
    let (n, t) = (8, 32);
    let map = Acf1::new(t).unwrap();
    let alpha = target(&map, 11, project);
    let mut m = Mgdm::new(map, alpha, params(10.0, coupling, project))
        .unwrap()
        .with_parallelism(par);
    let mut ens = Ensemble::new(n, t, paths(n, t, 11, project), Domain::Euclidean).unwrap();
    let mut lds = Vec::new();
    for k in 0..steps {
        let info = m.step(StepKey::new(0, k), &mut ens).unwrap();
        assert_eq!(info.dt, 10.0);
        lds.push(info.log_det);
    }
    (ens.as_slice().to_vec(), lds)
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn groups_of_one_are_mgdm_bit_for_bit() {
    for project in [false, true] {
        let a = run(Coupling::Independent, project, Parallelism::Sequential, 20);
        let b = run(Coupling::Groups(1), project, Parallelism::Sequential, 20);
        assert_eq!(bits(&a.0), bits(&b.0));
        assert_eq!(bits(&a.1), bits(&b.1));
        // and the coupling matters: groups of 8 differ
        let c = run(Coupling::Groups(8), project, Parallelism::Sequential, 20);
        assert_ne!(bits(&a.0), bits(&c.0));
    }
}

/// ACF(1) that does not declare its Hessian constant: MGDM factors per path.
struct PerPath(Acf1);

impl FeatureMap for PerPath {
    type Hessian = <Acf1 as FeatureMap>::Hessian;
    fn len(&self) -> usize {
        self.0.len()
    }
    fn n_features(&self) -> usize {
        self.0.n_features()
    }
    fn name(&self) -> String {
        self.0.name()
    }
    fn eval(&self, x: &[f64], phi: &mut [f64]) -> meanfield_energy::Result<()> {
        self.0.eval(x, phi)
    }
    fn jacobian(&self, x: &[f64], jac: &mut [f64]) -> meanfield_energy::Result<()> {
        self.0.jacobian(x, jac)
    }
    fn new_hessian(&self) -> Self::Hessian {
        self.0.new_hessian()
    }
    fn weighted_hessian(
        &self,
        x: &[f64],
        c: &[f64],
        h: &mut Self::Hessian,
    ) -> meanfield_energy::Result<()> {
        self.0.weighted_hessian(x, c, h)
    }
}

/// One step block per group (ACF(1): `hessian_is_constant`) gives the same paths and
/// log|det| bits as factoring the block of every path, with and without the projection
/// (whose paths with frozen coordinates still factor their own block), sequential and
/// on the pool.
#[test]
fn group_blocks_equal_per_path_blocks_bit_for_bit() {
    // N = 18: batches of 8 paths that straddle groups (of 6 and of 9) and a tail of 2
    let (n, t) = (18, 40);
    let acf = Acf1::new(t).unwrap();
    assert!(acf.hessian_is_constant());
    for (project, coupling) in [
        (false, Coupling::Groups(6)),
        (false, Coupling::Groups(9)),
        (true, Coupling::Groups(6)),
        (true, Coupling::Groups(18)),
    ] {
        let mut alpha = target(&acf, 17, project);
        if project {
            // smaller target features pull some coordinates through 0 (frozen)
            alpha.iter_mut().for_each(|a| *a *= 0.5);
        }
        let gamma = if project { 3.0 } else { 10.0 };
        let start = paths(n, t, 17, project);
        let mut shared = Mgdm::new(acf, alpha.clone(), params(gamma, coupling, project))
            .unwrap()
            .with_parallelism(Parallelism::Rayon);
        let mut per_path =
            Mgdm::new(PerPath(acf), alpha, params(gamma, coupling, project)).unwrap();
        let (mut xa, mut xb) = (start.clone(), start);
        let mut frozen = 0;
        for k in 0..15 {
            let a = shared.step_paths(&mut xa, k).unwrap();
            let b = per_path.step_paths(&mut xb, k).unwrap();
            assert_eq!(a.log_det.to_bits(), b.log_det.to_bits(), "step {k}");
            assert_eq!((a.negative_dets, a.frozen), (b.negative_dets, b.frozen));
            assert_eq!(bits(&xa), bits(&xb), "step {k}");
            frozen += a.frozen;
        }
        assert_eq!(project, frozen > 0, "project = {project}: {frozen} frozen");
    }
}

/// FNV-1a over the bits of the log|det| sequence and the final paths.
fn fnv(words: impl IntoIterator<Item = u64>) -> u64 {
    words.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, w| {
        (h ^ w).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The speed work on the MF-MGDM step (one block per group, the capacitance sums in one
/// pass) kept every bit: 12 steps of MF-MGDM (groups of 8 of 16 paths, T = 64) and of
/// MGDM, with and without projection, hashed, against the hashes recorded before the
/// one-pass capacitance sums (commit 73777ca; its group blocks equal the per-path blocks
/// bit for bit, `group_blocks_equal_per_path_blocks_bit_for_bit`).
#[test]
fn step_bits_are_those_of_the_per_path_code() {
    let (n, t) = (16, 64);
    let map = Acf1::new(t).unwrap();
    let mut got = Vec::new();
    for (project, coupling) in [
        (false, Coupling::Groups(8)),
        (true, Coupling::Groups(8)),
        (false, Coupling::Independent),
        (true, Coupling::Independent),
    ] {
        let mut alpha = target(&map, 23, project);
        if project {
            alpha.iter_mut().for_each(|a| *a *= 0.5);
        }
        let mut m = Mgdm::new(map, alpha, params(4.0, coupling, project)).unwrap();
        let mut x = paths(n, t, 23, project);
        let lds: Vec<u64> = (0..12)
            .map(|k| m.step_paths(&mut x, k).unwrap().log_det.to_bits())
            .collect();
        got.push(fnv(lds.into_iter().chain(bits(&x))));
    }
    let want: [u64; 4] = [
        0xba4b_3b5a_a832_48f8,
        0xf4e2_8a76_278d_d25c,
        0xc4e4_f75f_d1eb_2041,
        0x2afe_14f9_d414_6859,
    ];
    assert_eq!(got, want, "{got:#x?}");
}

#[test]
fn thread_count_does_not_change_results() {
    for coupling in [Coupling::Independent, Coupling::Groups(4)] {
        let seq = run(coupling, true, Parallelism::Sequential, 10);
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let par = pool.install(|| run(coupling, true, Parallelism::Rayon, 10));
            assert_eq!(bits(&seq.0), bits(&par.0), "{threads} threads");
            assert_eq!(bits(&seq.1), bits(&par.1), "{threads} threads");
        }
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let map = Acf1::new(4).unwrap();
    let p = params(1.0, Coupling::Groups(2), false);
    assert!(matches!(
        MgdmParams::new(0.0),
        Err(IntegratorError::InvalidParameter { name: "gamma", .. })
    ));
    assert!(matches!(
        MgdmParams::new(f64::NAN),
        Err(IntegratorError::InvalidParameter { name: "gamma", .. })
    ));
    assert!(Mgdm::new(map, vec![0.0, 0.0], p).is_err());
    assert!(Mgdm::new(map, vec![1.0], p).is_err());
    assert!(Mgdm::new(map, vec![f64::NAN, 1.0], p).is_err());
    // Finite entries whose squared norm overflows: the loss would vanish, paths never move.
    assert!(matches!(
        Mgdm::new(map, vec![1e200, 1.0], p),
        Err(IntegratorError::InvalidParameter { name: "‖alpha‖²", value, .. }) if value.is_infinite()
    ));
    assert!(matches!(
        MgdmParams::new(1.0)
            .unwrap()
            .with_coupling(Coupling::Groups(0)),
        Err(IntegratorError::InvalidParameter { .. })
    ));
    let mut m = Mgdm::new(map, vec![1.0, 1.0], p).unwrap();
    // 3 paths do not split into groups of 2
    let ens3 = Ensemble::new(3, 4, vec![0.5; 12], Domain::Euclidean).unwrap();
    assert!(matches!(
        m.check_state(&ens3),
        Err(IntegratorError::IncompatibleState(_))
    ));
    let mut ens_t = Ensemble::new(2, 5, vec![0.5; 10], Domain::Euclidean).unwrap();
    assert!(matches!(
        m.step(StepKey::new(0, 0), &mut ens_t),
        Err(IntegratorError::IncompatibleState(_))
    ));
    assert!(m.step_paths(&mut [0.5; 7], 0).is_err());
    let mut nan = vec![0.5; 8];
    nan[3] = f64::NAN;
    assert!(m.step_paths(&mut nan, 0).is_err());
    let mut proj = Mgdm::new(map, vec![1.0, 1.0], params(1.0, Coupling::Groups(2), true)).unwrap();
    let mut neg = vec![0.5; 8];
    neg[1] = -0.1;
    let err = proj.step_paths(&mut neg, 0).unwrap_err().to_string();
    assert!(
        err.contains("non-negative") && err.contains("x[1]"),
        "{err}"
    );
    // a huge step overflows: divergence names the step
    let mut wild = Mgdm::new(
        map,
        vec![1e-3, 1e-3],
        params(1e300, Coupling::Independent, false),
    )
    .unwrap();
    let mut x = vec![1.0, 2.0, 3.0, 4.0];
    let e = wild.step_paths(&mut x, 6).unwrap_err();
    assert!(
        matches!(e, IntegratorError::Diverged { step: 7, .. }),
        "{e}"
    );
    assert_eq!(x, vec![1.0, 2.0, 3.0, 4.0], "state unchanged on error");
}

/// The path helpers of `mgdm::paths`: keyed streams (path j is stream (seed, purpose, 0, j)),
/// α and the log-density sums against direct loops, the trace of a run against its own
/// parts, thread-count invariance of all of them, and a diverging step size as `Diverged`.
/// (The claim that MF-MGDM lowers the KL is `python/tests/test_mgdm.py` and the
/// experiments' tests, at sizes where it holds.)
#[test]
fn path_helpers_match_direct_loops_and_any_thread_count() {
    use meanfield_energy::PathLaw;
    use meanfield_energy::process::{ArProcess, StandardGaussian};
    use meanfield_integrators::mgdm::{
        feature_mean, log_density_sum, path_feature_mean, run_with_trace, sample_paths,
    };
    use meanfield_measures::streams;
    let t = 12;
    let (target, latent) = (
        ArProcess::new(&[0.1], t).unwrap(),
        StandardGaussian::new(t).unwrap(),
    );
    let map = Acf1::new(t).unwrap();
    let x = sample_paths(&latent, 5, 9, streams::MGDM_LATENT).unwrap();
    let s = NoiseStreams::new(9, streams::MGDM_LATENT).at_step(0);
    for (j, row) in x.chunks_exact(t).enumerate() {
        let mut direct = vec![0.0; t];
        latent.sample(&mut s.rng(j as u64), &mut direct).unwrap();
        assert_eq!(bits(row), bits(&direct), "path {j}");
    }
    let direct: f64 = x
        .chunks_exact(t)
        .map(|r| target.log_density(r).unwrap())
        .sum();
    let sum = log_density_sum(&target, &x).unwrap();
    assert!(
        (sum - direct).abs() <= 1e-12 * direct.abs(),
        "{sum} vs {direct}"
    );
    assert!(log_density_sum(&target, &x[..t + 1]).is_err());
    // a path outside the support gives −∞, not the NaN of a compensated −∞ + −∞
    let exp = meanfield_energy::process::Exponential::new(t).unwrap();
    let neg: Vec<f64> = x.iter().map(|v| -v.abs() - 1.0).collect();
    assert_eq!(log_density_sum(&exp, &neg).unwrap(), f64::NEG_INFINITY);
    // α over 700 paths (two chunks) = the path mean of the same 700 α-stream paths
    let alpha = feature_mean(&map, &target, 700, 3).unwrap();
    let xa = sample_paths(&target, 700, 3, streams::MGDM_ALPHA).unwrap();
    let direct = path_feature_mean(&map, &xa).unwrap();
    assert_eq!(bits(&alpha), bits(&direct));
    assert!(matches!(
        feature_mean(&map, &target, 0, 3),
        Err(IntegratorError::InvalidParameter { .. })
    ));
    assert!(path_feature_mean(&map, &[]).is_err());
    let go = |threads: usize, gamma: f64| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let p = MgdmParams::new(gamma)
                .unwrap()
                .with_coupling(Coupling::Groups(5))
                .unwrap();
            let mut m = Mgdm::new(map, alpha.clone(), p)
                .unwrap()
                .with_parallelism(Parallelism::Rayon);
            run_with_trace(&mut m, &x, Some(&target), &latent, 20, |_| {})
        })
    };
    let (one, two) = (go(1, 5.0).unwrap(), go(2, 5.0).unwrap());
    assert_eq!(bits(&one.paths), bits(&two.paths));
    assert_eq!(bits(&one.trace.kl()), bits(&two.trace.kl()));
    let kl = one.trace.kl();
    assert_eq!(kl.len(), 21);
    let k0 = (log_density_sum(&latent, &x).unwrap() - log_density_sum(&target, &x).unwrap()) / 5.0;
    assert!(
        (kl[0] - k0).abs() <= 1e-12 * k0.abs().max(1.0),
        "{} vs {k0}",
        kl[0]
    );
    let last = log_density_sum(&target, &one.paths).unwrap();
    assert_eq!(
        one.trace.target_loglik()[20].to_bits(),
        (last / 5.0).to_bits()
    );
    let tr = &one.trace;
    for (k, v) in kl.iter().enumerate() {
        let want = tr.latent_loglik() - tr.cumulative_log_det()[k] - tr.target_loglik()[k];
        assert_eq!(v.to_bits(), want.to_bits(), "KL parts at step {k}");
    }
    let e = go(1, 1e300).unwrap_err();
    assert!(
        matches!(e, IntegratorError::Diverged { step: 1, .. }),
        "{e}"
    );
    assert!(
        run_with_trace(
            &mut Mgdm::new(
                map,
                alpha.clone(),
                params(1.0, Coupling::Independent, false)
            )
            .unwrap(),
            &x[..t + 1],
            None,
            &latent,
            1,
            |_| {}
        )
        .is_err()
    );
}

/// A `KlRecorder` fed by a resumed run (k steps, serialised, the rest) holds the trace of
/// `run_with_trace`'s uninterrupted run bit for bit.
#[test]
fn kl_recorder_resumes_bit_for_bit_through_json() {
    use meanfield_energy::process::{ArProcess, StandardGaussian};
    use meanfield_integrators::mgdm::{KlRecorder, run_with_trace, sample_paths};
    use meanfield_integrators::{Checkpoint, Control};
    let t = 16;
    let target = ArProcess::new(&[0.2], t).unwrap();
    let latent = StandardGaussian::new(t).unwrap();
    let map = Acf1::new(t).unwrap();
    let x0 = sample_paths(&latent, 6, 3, meanfield_measures::streams::MGDM_LATENT).unwrap();
    let alpha = target_alpha(&map);
    let mut mgdm = Mgdm::new(map, alpha, params(4.0, Coupling::Groups(3), false)).unwrap();
    let whole = run_with_trace(&mut mgdm, &x0, Some(&target), &latent, 12, |_| {}).unwrap();
    let mut rec = KlRecorder::start(&x0, Some(&target), &latent).unwrap();
    let start = Ensemble::new(6, t, x0.clone(), Domain::Euclidean).unwrap();
    let mut ckpt = Checkpoint::start(&mgdm, start, 0).unwrap();
    for (steps, reload) in [(5, true), (12, false)] {
        mgdm.runner(steps)
            .observe(1, |o| {
                if let Some(i) = o.info {
                    rec.record(i.log_det, i.frozen, o.state.as_slice(), Some(&target))?;
                }
                Ok(Control::Continue)
            })
            .run(&mut mgdm, &mut ckpt)
            .unwrap();
        if reload {
            rec = serde_json::from_str(&serde_json::to_string(&rec).unwrap()).unwrap();
        }
    }
    assert_eq!(bits(&rec.trace().kl()), bits(&whole.trace.kl()));
    assert_eq!(bits(&rec.trace().entropy()), bits(&whole.trace.entropy()));
    assert_eq!(bits(rec.paths_at_min()), bits(&whole.paths_at_min));
    assert_eq!(rec.frozen(), whole.frozen);
    assert_eq!(bits(ckpt.state.as_slice()), bits(&whole.paths));
    // a record whose steps and target sums disagree is refused
    let mut v: serde_json::Value = serde_json::to_value(&rec).unwrap();
    v["log_dets"].as_array_mut().unwrap().pop();
    assert!(serde_json::from_value::<KlRecorder>(v).is_err());
}

/// α of the ACF(1) map under the AR(0.2) target from 200 paths.
fn target_alpha(map: &Acf1) -> Vec<f64> {
    use meanfield_energy::process::ArProcess;
    let target = ArProcess::new(&[0.2], map.len()).unwrap();
    meanfield_integrators::mgdm::feature_mean(map, &target, 200, 1).unwrap()
}

//! α = E Φ(x) of the ACF(1) features Φ₁ = (1/T) Σ_{t=1}^{T−1} x_t x_{t−1},
//! Φ₂ = (1/T) Σ_{t=1}^{T−1} x_t², estimated over 10,000 sampled paths (T = 1024) of each
//! MF-MGDM target, against the stationary values
//! E Φ₁ = ((T−1)/T)(γ_1 + m²), E Φ₂ = ((T−1)/T)(γ_0 + m²).
//! Heavy (≈ 5·10⁷ draws): run with
//! `cargo test --release -p meanfield-energy --test process_alpha -- --ignored --nocapture`.

use meanfield_energy::process::{ArProcess, CirProcess, PathLaw};
use meanfield_measures::rng::NoiseStreams;

#[test]
#[ignore = "heavy: 10,000 paths of length 1024 per process"]
fn alpha_of_acf1_features() {
    let t = 1024;
    let n = 10_000;
    // (name, law, stationary mean m, γ_0, γ_1)
    type Case = (&'static str, Box<dyn PathLaw>, f64, f64, f64);
    let laws: Vec<Case> = {
        let mut v: Vec<Case> = Vec::new();
        for (name, a) in [
            ("AR(0.1)", &[0.1][..]),
            ("AR(0.2, -0.1)", &[0.2, -0.1]),
            ("AR(-0.1, 0.2, 0.1)", &[-0.1, 0.2, 0.1]),
        ] {
            let ar = ArProcess::new(a, t).unwrap();
            let r1 = ar.autocorrelation(1);
            v.push((name, Box::new(ar), 0.0, 1.0, r1));
        }
        for (name, cir) in [
            ("CIR0", CirProcess::cir0(t).unwrap()),
            ("CIR1", CirProcess::cir1(t).unwrap()),
        ] {
            let (m, g0) = (cir.stationary_mean(), cir.stationary_variance());
            let g1 = g0 * cir.lag1_autocorrelation();
            v.push((name, Box::new(cir), m, g0, g1));
        }
        v
    };
    let scale = (t - 1) as f64 / t as f64;
    for (i, (name, law, m, g0, g1)) in laws.iter().enumerate() {
        let streams = NoiseStreams::new(2024, 100 + i as u64).at_step(0);
        let mut x = vec![0.0; t];
        let (mut s1, mut s2, mut q1, mut q2) = (0.0, 0.0, 0.0, 0.0);
        for j in 0..n {
            law.sample(&mut streams.rng(j as u64), &mut x).unwrap();
            let p1 = (1..t).map(|k| x[k] * x[k - 1]).sum::<f64>() / t as f64;
            let p2 = (1..t).map(|k| x[k] * x[k]).sum::<f64>() / t as f64;
            s1 += p1;
            s2 += p2;
            q1 += p1 * p1;
            q2 += p2 * p2;
        }
        let nf = n as f64;
        let (a1, a2) = (s1 / nf, s2 / nf);
        let se1 = ((q1 / nf - a1 * a1) / (nf - 1.0)).sqrt();
        let se2 = ((q2 / nf - a2 * a2) / (nf - 1.0)).sqrt();
        let (e1, e2) = (scale * (g1 + m * m), scale * (g0 + m * m));
        println!(
            "{name}: alpha = ({a1:.5}, {a2:.5}) ± ({se1:.5}, {se2:.5}); stationary ({e1:.5}, {e2:.5}); |alpha|² = {:.5}",
            a1 * a1 + a2 * a2
        );
        assert!((a1 - e1).abs() < 5.0 * se1, "{name} Φ₁");
        assert!((a2 - e2).abs() < 5.0 * se2, "{name} Φ₂");
    }
}

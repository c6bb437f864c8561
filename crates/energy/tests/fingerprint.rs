//! Fingerprints: the builder (exact scalars, inline short vectors, FNV-1a digests of long
//! data), and for every built-in energy that the fingerprint is deterministic, that
//! changing any one parameter or one data value changes it, and that two types never
//! share one.

use meanfield_energy::fingerprint::{Fingerprint, INLINE_MAX, digest};
use meanfield_energy::{
    BayesianLogistic, Decoder, DecoderShape, Functional, HierarchicalGaussian, LatentModel,
    LinearPotential, MeanInteraction, Objective, PixelLikelihood, QuadraticInteraction,
    SimplexMoment, TestFunction, TestKind, TwoLayerNet,
};
use meanfield_measures::Parallelism;

/// A deterministic pseudo-random sequence in [−1, 1] (no RNG needed for fixtures).
fn wobble(k: usize, salt: f64) -> f64 {
    ((k as f64 + 1.0) * 12.9898 + salt * 78.233).sin()
}

fn wobbles(n: usize, salt: f64) -> Vec<f64> {
    (0..n).map(|k| wobble(k, salt)).collect()
}

/// `v` with entry `i` moved by one part in a thousand (never to the same value).
fn nudged(v: &[f64], i: usize) -> Vec<f64> {
    let mut v = v.to_vec();
    v[i] += 1e-3 * (1.0 + v[i].abs());
    v
}

/// `make()` is deterministic, and `base` and every variant are pairwise distinct.
fn assert_sensitive(make: impl Fn() -> String, variants: &[(String, String)]) {
    let base = make();
    assert_eq!(base, make(), "not deterministic");
    for (what, fp) in variants {
        assert_ne!(&base, fp, "changing {what} left the fingerprint unchanged");
    }
    for (i, (a, fa)) in variants.iter().enumerate() {
        for (b, fb) in &variants[i + 1..] {
            assert_ne!(fa, fb, "{a} and {b} share a fingerprint");
        }
    }
}

/// One variant per entry of `data`, each with only that entry nudged.
fn per_value(name: &str, data: &[f64], fp: impl Fn(Vec<f64>) -> String) -> Vec<(String, String)> {
    (0..data.len())
        .map(|i| (format!("{name}[{i}]"), fp(nudged(data, i))))
        .collect()
}

// ---------------------------------------------------------------------------------------
// The builder.

#[test]
fn builder_renders_scalars_exactly() {
    let xs = [
        0.5,
        0.1,
        1.0 / 3.0,
        -2.0,
        0.0,
        -0.0,
        f64::MIN_POSITIVE,
        5e-324,
        f64::MAX,
        f64::INFINITY,
        f64::NEG_INFINITY,
        std::f64::consts::PI,
    ];
    for x in xs {
        let fp = Fingerprint::new("k").param("x", x).finish();
        let rendered = fp.strip_prefix("k(x=").unwrap().strip_suffix(')').unwrap();
        let back: f64 = rendered.parse().unwrap();
        assert_eq!(back.to_bits(), x.to_bits(), "{x:e} rendered as {rendered}");
    }
    // Neighbouring f64s get different fingerprints.
    let one = Fingerprint::new("k").param("x", 1.0).finish();
    let next = Fingerprint::new("k")
        .param("x", f64::from_bits(1.0f64.to_bits() + 1))
        .finish();
    assert_ne!(one, next);
    assert_eq!(
        Fingerprint::new("quadratic-interaction")
            .param("kappa", 0.5)
            .values("b", &[1.0, -2.0])
            .finish(),
        "quadratic-interaction(kappa=5e-1,b=[1e0,-2e0])"
    );
    assert_eq!(Fingerprint::new("empty").finish(), "empty()");
}

#[test]
fn builder_renders_integers_bools_and_strings() {
    let fp = Fingerprint::new("k")
        .param("n", 3usize)
        .param("i", -7i64)
        .param("u", 42u32)
        .param("flag", true)
        .param("name", "ackley")
        .param("owned", String::from("x"))
        .finish();
    assert_eq!(fp, r#"k(n=3,i=-7,u=42,flag=true,name="ackley",owned="x")"#);
    // A string cannot forge the syntax: it is quoted and escaped.
    let forged = Fingerprint::new("k").param("a", "1\",b=(2").finish();
    assert_eq!(forged, r#"k(a="1\",b=(2")"#);
    assert_ne!(
        forged,
        Fingerprint::new("k")
            .param("a", "1")
            .param("b", "(2")
            .finish()
    );
    // An integer and the float of the same value differ, so do false and true.
    assert_ne!(
        Fingerprint::new("k").param("n", 3usize).finish(),
        Fingerprint::new("k").param("n", 3.0).finish()
    );
    assert_ne!(
        Fingerprint::new("k").param("b", false).finish(),
        Fingerprint::new("k").param("b", true).finish()
    );
}

#[test]
fn builder_inlines_short_vectors_and_digests_long_ones() {
    let short = wobbles(INLINE_MAX, 0.3);
    let fp = Fingerprint::new("k").values("v", &short).finish();
    let inner = fp
        .strip_prefix("k(v=[")
        .unwrap()
        .strip_suffix("])")
        .unwrap();
    let back: Vec<f64> = inner.split(',').map(|s| s.parse().unwrap()).collect();
    assert_eq!(back, short);
    assert_eq!(Fingerprint::new("k").values("v", &[]).finish(), "k(v=[])");

    let long = wobbles(INLINE_MAX + 1, 0.3);
    let fp = Fingerprint::new("k").values("v", &long).finish();
    assert_eq!(
        fp,
        format!("k(v=<n={},fnv1a64={:016x}>)", INLINE_MAX + 1, digest(&long))
    );
}

#[test]
fn digest_changes_with_one_bit_of_one_value() {
    let data = wobbles(40, 0.9);
    let d0 = digest(&data);
    let f0 = Fingerprint::new("k").values("v", &data).finish();
    for i in 0..data.len() {
        for bit in 0..64 {
            let mut flipped = data.clone();
            flipped[i] = f64::from_bits(flipped[i].to_bits() ^ (1 << bit));
            assert_ne!(digest(&flipped), d0, "bit {bit} of value {i}");
            assert_ne!(Fingerprint::new("k").values("v", &flipped).finish(), f0);
        }
    }
    // The sign of zero is a bit too.
    assert_ne!(digest(&[0.0; 20]), digest(&[-0.0; 20]));
    // Reordering values changes the digest.
    let mut swapped = data.clone();
    swapped.swap(3, 4);
    assert_ne!(digest(&swapped), d0);
}

#[test]
fn digest_length_enters() {
    // Zeros have all-zero bit patterns: only the length tells these apart.
    let digests: Vec<u64> = (0..40).map(|n| digest(&vec![0.0; n])).collect();
    for (i, a) in digests.iter().enumerate() {
        for b in &digests[i + 1..] {
            assert_ne!(a, b);
        }
    }
    let fp17 = Fingerprint::new("k").values("v", &[0.0; 17]).finish();
    let fp18 = Fingerprint::new("k").values("v", &[0.0; 18]).finish();
    assert!(
        fp17.contains("<n=17,") && fp18.contains("<n=18,"),
        "{fp17} {fp18}"
    );
    assert_ne!(fp17, fp18);
    // A prefix of the data is another digest.
    let data = wobbles(30, 0.2);
    assert_ne!(digest(&data), digest(&data[..29]));
}

#[test]
fn fingerprints_of_large_data_stay_short() {
    let (m, p) = (5000, 8);
    let net = TwoLayerNet::new(wobbles(m * p, 0.1), p, wobbles(m, 0.2), 1e-3).unwrap();
    let fp = net.fingerprint();
    assert!(fp.len() < 160, "{} characters: {fp}", fp.len());
}

// ---------------------------------------------------------------------------------------
// The built-in energies.

#[test]
fn quadratic_interaction_fingerprint() {
    let b = vec![0.5, -1.0, 2.0];
    let fp = |kappa: f64, b: Vec<f64>| QuadraticInteraction::new(kappa, b).unwrap().fingerprint();
    let mut variants = vec![
        ("kappa".to_string(), fp(0.75, b.clone())),
        ("kappa = 0".to_string(), fp(0.0, b.clone())),
        ("dim b".to_string(), fp(0.5, vec![0.5, -1.0])),
    ];
    variants.extend(per_value("b", &b, |b| fp(0.5, b)));
    assert_sensitive(|| fp(0.5, b.clone()), &variants);
    let long: Vec<f64> = wobbles(50, 0.4);
    assert_sensitive(
        || fp(2.0, long.clone()),
        &per_value("long b", &long, |b| fp(2.0, b)),
    );
}

#[test]
fn mean_interaction_fingerprint() {
    let b = vec![0.5, -1.0, 2.0];
    let fp = |kappa: f64, b: Vec<f64>| MeanInteraction::new(kappa, b).unwrap().fingerprint();
    let mut variants = vec![
        ("kappa".to_string(), fp(0.75, b.clone())),
        ("dim b".to_string(), fp(0.5, vec![0.5, -1.0, 2.0, 0.0])),
    ];
    variants.extend(per_value("b", &b, |b| fp(0.5, b)));
    assert_sensitive(|| fp(0.5, b.clone()), &variants);
}

#[test]
fn linear_potential_fingerprint() {
    let c = vec![1.0, -0.25, 3.0, 0.0];
    let fp = |c: Vec<f64>| LinearPotential::new(c).unwrap().fingerprint();
    let mut variants = per_value("c", &c, fp);
    variants.push(("dim c".into(), fp(c[..3].to_vec())));
    assert_sensitive(|| fp(c.clone()), &variants);
}

#[test]
fn simplex_moment_fingerprint() {
    let q = vec![0.2, 0.3, 0.5];
    let fp = |q: Vec<f64>, beta: f64| SimplexMoment::new(q, beta).unwrap().fingerprint();
    let mut variants = vec![
        ("beta".to_string(), fp(q.clone(), 0.2)),
        ("beta = 0".to_string(), fp(q.clone(), 0.0)),
        ("dim q".to_string(), fp(vec![0.5, 0.5], 0.1)),
    ];
    variants.extend(per_value("q", &q, |q| fp(q, 0.1)));
    assert_sensitive(|| fp(q.clone(), 0.1), &variants);
    assert_eq!(
        SimplexMoment::centroid(4, 0.1).unwrap().fingerprint(),
        fp(vec![0.25; 4], 0.1)
    );
}

#[test]
fn two_layer_net_fingerprint() {
    // Digested inputs (24 > INLINE_MAX values) and inline targets.
    let (m, p) = (12, 2);
    let (z, y) = (wobbles(m * p, 0.1), wobbles(m, 0.2));
    let fp = |z: Vec<f64>, p: usize, y: Vec<f64>, l2: f64| {
        TwoLayerNet::new(z, p, y, l2).unwrap().fingerprint()
    };
    let mut variants = vec![
        ("l2".to_string(), fp(z.clone(), p, y.clone(), 0.02)),
        ("l2 = 0".to_string(), fp(z.clone(), p, y.clone(), 0.0)),
        // The same flat inputs read as 8 × 3 (p enters; M = 8 changes the targets).
        (
            "input_dim".to_string(),
            fp(z.clone(), 3, y[..8].to_vec(), 0.01),
        ),
        (
            "M".to_string(),
            fp(z[..22].to_vec(), p, y[..11].to_vec(), 0.01),
        ),
    ];
    variants.extend(per_value("inputs", &z, |z| fp(z, p, y.clone(), 0.01)));
    variants.extend(per_value("targets", &y, |y| fp(z.clone(), p, y, 0.01)));
    assert_sensitive(|| fp(z.clone(), p, y.clone(), 0.01), &variants);

    // Digested targets too (M = 20), and a fully inline small data set.
    let (z, y) = (wobbles(40, 0.5), wobbles(20, 0.6));
    assert_sensitive(
        || fp(z.clone(), 2, y.clone(), 0.0),
        &per_value("long targets", &y, |y| fp(z.clone(), 2, y, 0.0)),
    );
    let (z, y) = (wobbles(6, 0.7), wobbles(3, 0.8));
    let mut variants = per_value("inputs", &z, |z| fp(z, 2, y.clone(), 0.0));
    variants.extend(per_value("targets", &y, |y| fp(z.clone(), 2, y, 0.0)));
    assert_sensitive(|| fp(z.clone(), 2, y.clone(), 0.0), &variants);

    // The parallelism does not change the values, so neither the fingerprint.
    let net = TwoLayerNet::new(z.clone(), 2, y.clone(), 0.0).unwrap();
    assert_eq!(
        net.clone()
            .with_parallelism(Parallelism::Rayon)
            .fingerprint(),
        net.fingerprint()
    );
}

#[test]
fn hierarchical_gaussian_fingerprint() {
    let fp = |y: Vec<f64>| HierarchicalGaussian::new(y).unwrap().fingerprint();
    for n in [5, 30] {
        let y = wobbles(n, 0.3);
        let mut variants = per_value("y", &y, fp);
        variants.push(("M".into(), fp(y[..n - 1].to_vec())));
        assert_sensitive(|| fp(y.clone()), &variants);
    }
}

#[test]
fn bayesian_logistic_fingerprint() {
    let (m, k) = (6, 4);
    let features = wobbles(m * k, 0.4);
    let labels: Vec<f64> = (0..m).map(|j| (j % 2) as f64).collect();
    let fp = |f: Vec<f64>, l: Vec<f64>, k: usize, s2: f64| {
        BayesianLogistic::new(f, l, k, s2).unwrap().fingerprint()
    };
    let mut variants = vec![
        (
            "prior_var".to_string(),
            fp(features.clone(), labels.clone(), k, 4.0),
        ),
        // The same flat features read as 8 × 3 (K enters; M = 8 changes the labels).
        (
            "k".to_string(),
            fp(
                features.clone(),
                vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0],
                3,
                5.0,
            ),
        ),
    ];
    variants.extend(per_value("features", &features, |f| {
        fp(f, labels.clone(), k, 5.0)
    }));
    for j in 0..m {
        let mut l = labels.clone();
        l[j] = 1.0 - l[j];
        variants.push((format!("label {j}"), fp(features.clone(), l, k, 5.0)));
    }
    assert_sensitive(|| fp(features.clone(), labels.clone(), k, 5.0), &variants);

    // Digested labels (M = 20 > INLINE_MAX).
    let (m, k) = (20, 2);
    let features = wobbles(m * k, 0.5);
    let labels: Vec<f64> = (0..m).map(|j| ((j / 3) % 2) as f64).collect();
    let variants: Vec<(String, String)> = (0..m)
        .map(|j| {
            let mut l = labels.clone();
            l[j] = 1.0 - l[j];
            (format!("label {j}"), fp(features.clone(), l, k, 5.0))
        })
        .collect();
    assert_sensitive(|| fp(features.clone(), labels.clone(), k, 5.0), &variants);
}

#[test]
fn decoder_fingerprint() {
    let shape = DecoderShape {
        latent: 2,
        hidden: 3,
        output: 4,
    };
    // Pixels in [0, 1] so that both likelihoods accept them; 24 values (digested).
    let data: Vec<f64> = wobbles(24, 0.6).iter().map(|v| 0.5 + 0.5 * v).collect();
    let gauss = |sigma| PixelLikelihood::Gaussian { sigma };
    let fp = |shape: DecoderShape, lik: PixelLikelihood, data: Vec<f64>| {
        Decoder::new(shape, lik, data).unwrap().fingerprint()
    };
    let with = |latent, hidden, output| DecoderShape {
        latent,
        hidden,
        output,
    };
    let bern = PixelLikelihood::Bernoulli;
    let mut variants = vec![
        ("latent".to_string(), fp(with(3, 3, 4), bern, data.clone())),
        ("hidden".to_string(), fp(with(2, 5, 4), bern, data.clone())),
        // The same pixels as 4 images of 6 (D enters; M follows from the data).
        ("output".to_string(), fp(with(2, 3, 6), bern, data.clone())),
        (
            "likelihood".to_string(),
            fp(shape, gauss(1.0), data.clone()),
        ),
        ("sigma".to_string(), fp(shape, gauss(0.5), data.clone())),
        ("M".to_string(), fp(shape, bern, data[..20].to_vec())),
    ];
    variants.extend(per_value("data", &data, |mut d| {
        // Keep the nudged pixel in [0, 1].
        d.iter_mut().for_each(|v| *v = v.min(1.0));
        fp(shape, bern, d)
    }));
    assert_sensitive(|| fp(shape, bern, data.clone()), &variants);

    // The Gaussian σ alone, and inline data (one image of 4 pixels).
    let few = data[..4].to_vec();
    assert_sensitive(
        || fp(shape, gauss(1.0), few.clone()),
        &[
            ("sigma".to_string(), fp(shape, gauss(2.0), few.clone())),
            ("bernoulli".to_string(), fp(shape, bern, few.clone())),
            ("pixel".to_string(), fp(shape, gauss(1.0), nudged(&few, 2))),
        ],
    );
}

#[test]
fn test_function_fingerprint() {
    let kinds = [
        TestKind::Rastrigin,
        TestKind::Ackley,
        TestKind::Rosenbrock,
        TestKind::Griewank,
        TestKind::Schwefel,
    ];
    let s = vec![0.5, -1.0, 2.0];
    let fp = |kind, d, shift: Option<Vec<f64>>| {
        let f = TestFunction::new(kind, d).unwrap();
        match shift {
            Some(s) => f.shifted(s).unwrap().fingerprint(),
            None => f.fingerprint(),
        }
    };
    for kind in kinds {
        let mut variants: Vec<(String, String)> = kinds
            .iter()
            .filter(|k| **k != kind)
            .map(|k| (format!("kind {k:?}"), fp(*k, 3, Some(s.clone()))))
            .collect();
        variants.push(("d".into(), fp(kind, 4, Some(vec![0.5, -1.0, 2.0, 0.0]))));
        variants.push(("unshifted".into(), fp(kind, 3, None)));
        variants.extend(per_value("shift", &s, |s| fp(kind, 3, Some(s))));
        assert_sensitive(|| fp(kind, 3, Some(s.clone())), &variants);
        // The zero shift is the unshifted function (the same values).
        assert_eq!(fp(kind, 3, Some(vec![0.0; 3])), fp(kind, 3, None));
        // Unshifted functions of other dimensions differ too.
        assert_ne!(fp(kind, 3, None), fp(kind, 2, None));
    }
    // Long shifts are digested.
    let long = wobbles(40, 0.8);
    assert_sensitive(
        || fp(TestKind::Ackley, 40, Some(long.clone())),
        &per_value("long shift", &long, |s| fp(TestKind::Ackley, 40, Some(s))),
    );
    // A reference forwards the fingerprint.
    let f = TestFunction::ackley(3).unwrap();
    assert_eq!(Objective::fingerprint(&&f), f.fingerprint());
}

#[test]
fn different_types_never_share_a_fingerprint() {
    // The same numbers everywhere they fit.
    let v = vec![0.25, 0.75];
    let fps = [
        QuadraticInteraction::new(1.0, v.clone())
            .unwrap()
            .fingerprint(),
        MeanInteraction::new(1.0, v.clone()).unwrap().fingerprint(),
        LinearPotential::new(v.clone()).unwrap().fingerprint(),
        SimplexMoment::new(v.clone(), 1.0).unwrap().fingerprint(),
        TwoLayerNet::new(v.clone(), 1, v.clone(), 1.0)
            .unwrap()
            .fingerprint(),
        HierarchicalGaussian::new(v.clone()).unwrap().fingerprint(),
        BayesianLogistic::new(v.clone(), vec![0.0, 1.0], 1, 1.0)
            .unwrap()
            .fingerprint(),
        Decoder::new(
            DecoderShape {
                latent: 1,
                hidden: 1,
                output: 1,
            },
            PixelLikelihood::Gaussian { sigma: 1.0 },
            v.clone(),
        )
        .unwrap()
        .fingerprint(),
        TestFunction::rastrigin(2)
            .unwrap()
            .shifted(v.clone())
            .unwrap()
            .fingerprint(),
    ];
    let kinds: Vec<&str> = fps.iter().map(|f| f.split('(').next().unwrap()).collect();
    for i in 0..fps.len() {
        for j in i + 1..fps.len() {
            assert_ne!(fps[i], fps[j]);
            assert_ne!(kinds[i], kinds[j], "{} and {}", fps[i], fps[j]);
        }
    }
    // None is the type-name default of the traits.
    for fp in &fps {
        assert!(!fp.contains("::"), "{fp}");
    }
}

#[test]
fn feature_map_fingerprints_cover_their_parameters() {
    use meanfield_energy::{Acf1, FeatureMap, MultiLagAcf, ScaledFeatures};
    let base = ScaledFeatures::new(Acf1::new(8).unwrap(), vec![1.0, 2.0]).unwrap();
    let other_scale = ScaledFeatures::new(Acf1::new(8).unwrap(), vec![1.0, 2.5]).unwrap();
    let other_len = ScaledFeatures::new(Acf1::new(9).unwrap(), vec![1.0, 2.0]).unwrap();
    assert_eq!(base.fingerprint(), base.clone().fingerprint());
    assert_ne!(base.fingerprint(), other_scale.fingerprint());
    assert_ne!(base.fingerprint(), other_len.fingerprint());
    let a = MultiLagAcf::new(16, 2, false).unwrap();
    let b = MultiLagAcf::new(16, 3, false).unwrap();
    let c = MultiLagAcf::new(16, 2, true).unwrap();
    assert_ne!(a.fingerprint(), b.fingerprint());
    assert_ne!(a.fingerprint(), c.fingerprint());
}

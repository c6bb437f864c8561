//! `normal::standard_normal` is `rand_distr::StandardNormal::sample` bit for bit: the same
//! value and the same generator state afterwards, on every path of the ziggurat (fast
//! path, wedge, tail), over 10⁷ draws from many keyed streams.

use meanfield_measures::normal::{Normals, fill_standard_normal, layer_table, standard_normal};
use meanfield_measures::rng::NoiseStreams;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

#[test]
fn the_layer_table_is_read_off_rand_distr() {
    let x = layer_table().expect("rand_distr's ziggurat behaves as documented");
    // rand_distr's published R = X_1 of the 256-layer normal ziggurat.
    assert_eq!(x[1], 3.654_152_885_361_009);
    assert_eq!(x[256], 0.0);
    assert!(x.windows(2).all(|w| w[0] > w[1]));
}

#[test]
fn draws_are_bitwise_standard_normal_sample_with_the_same_state_after() {
    let (mut tails, mut slow) = (0u64, 0u64);
    let x = layer_table().unwrap();
    for seed in 0..20u64 {
        let streams = NoiseStreams::new(seed, 3).at_step(seed * 7 + 1);
        for index in 0..50u64 {
            let mut ours = streams.rng(index);
            let mut theirs = ours.clone();
            for _ in 0..10_000 {
                let a = standard_normal(&mut ours);
                let b: f64 = StandardNormal.sample(&mut theirs);
                assert_eq!(a.to_bits(), b.to_bits(), "seed {seed}, particle {index}");
                if a.abs() > x[1] {
                    tails += 1;
                }
                if a.abs() >= x[255] && a.abs() <= x[1] {
                    slow += 1;
                }
            }
            // The generators have consumed the same words.
            assert_eq!(ours.next_u64(), theirs.next_u64());
        }
    }
    // The tail (|x| > R) was exercised: P(|Z| > 3.654) ≈ 2.6e-4, ~2580 of 10⁷ draws.
    assert!(tails > 1000, "tail draws: {tails}");
    assert!(slow > 0);
}

#[test]
fn fill_is_the_sequence_of_single_draws() {
    let streams = NoiseStreams::new(11, 0).at_step(5);
    let mut out = vec![0.0; 257];
    streams.fill_standard_normal(9, &mut out);
    let mut r = streams.rng(9);
    for v in &out {
        let b: f64 = StandardNormal.sample(&mut r);
        assert_eq!(v.to_bits(), b.to_bits());
    }
    let mut again = vec![0.0; 257];
    fill_standard_normal(&mut streams.rng(9), &mut again);
    assert_eq!(out, again);
}

#[test]
fn normals_iterator_is_the_sequence_of_single_draws_with_the_same_state_after() {
    // 10⁶ draws over 100 streams: ≈ 12 000 leave the fast path (wedge and tail).
    for index in 0..100u64 {
        let streams = NoiseStreams::new(5, 1).at_step(index + 3);
        let mut theirs = streams.rng(index);
        let mut ours = streams.normals(index);
        for _ in 0..10_000 {
            let a = ours.next().unwrap();
            let b: f64 = StandardNormal.sample(&mut theirs);
            assert_eq!(a.to_bits(), b.to_bits(), "particle {index}");
        }
        assert_eq!(ours.into_rng().next_u64(), theirs.next_u64());
    }
    let fresh = Normals::new(NoiseStreams::new(1, 2).rng(3, 4));
    assert_eq!(fresh.size_hint(), (usize::MAX, None));
}

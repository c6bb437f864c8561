//! The regression task of `mfld-nn`: the mean-field teacher and its noisy data sets.

use meanfield_measures::NoiseStreams;
use meanfield_measures::streams;

/// Input dimension p (two features and a bias).
pub(super) const INPUT_DIM: usize = 3;
/// Teacher units (a, w₁, w₂, w_bias); the teacher is the average over the three units.
const TEACHER: [[f64; 4]; 3] = [
    [2.5, 2.0, 0.0, 0.5],
    [-2.0, 0.0, 2.0, -0.5],
    [2.0, 1.5, -1.5, 0.0],
];

/// The teacher f*(z) (formula in the [`nn`](super) module docs).
pub fn teacher(z: &[f64]) -> f64 {
    TEACHER
        .iter()
        .map(|u| u[0] * (u[1] * z[0] + u[2] * z[1] + u[3] * z[2]).tanh())
        .sum::<f64>()
        / TEACHER.len() as f64
}

/// A data set: inputs row-major (K × 3, last column 1) and noisy teacher targets, drawn
/// from the streams of `seed` under key `step` (0 train, 1 test).
pub fn data_set(k: usize, noise_std: f64, seed: u64, step: u64) -> (Vec<f64>, Vec<f64>) {
    let streams = NoiseStreams::new(seed, streams::NN_DATA);
    let (mut z, mut y) = (Vec::with_capacity(k * INPUT_DIM), Vec::with_capacity(k));
    let mut xi = [0.0; 3];
    for j in 0..k {
        streams.fill_standard_normal(step, j as u64, &mut xi);
        // Φ(ξ) is uniform on (0, 1); 2Φ − 1 = erf(ξ/√2) is uniform on (−1, 1).
        let row = [
            statrs::function::erf::erf(xi[0] / std::f64::consts::SQRT_2),
            statrs::function::erf::erf(xi[1] / std::f64::consts::SQRT_2),
            1.0,
        ];
        y.push(teacher(&row) + noise_std * xi[2]);
        z.extend_from_slice(&row);
    }
    (z, y)
}

//! Smoothing kernels K_ε on R^d and kernel sums over a weighted ensemble.
//!
//! Two radial kernels of bandwidth ε, both probability densities (∫ K_ε = 1):
//!
//! - **Gaussian** K_ε(z) = (2π ε²)^{−d/2} exp(−|z|²/(2ε²)), per-coordinate variance ε².
//!   It is truncated at |z| = [`GAUSSIAN_CUTOFF`]·ε, where K_ε/K_ε(0) = e^{−36.1} ≈ 2·10⁻¹⁶
//!   is below the rounding of any sum that contains the self term K_ε(0); the truncation
//!   lets the Gaussian use the same cell-list search as a compact kernel.
//! - **Bump** (the standard C^∞ mollifier) K_ε(z) = C_d ε^{−d} exp(−1/(1 − |z/ε|²)) for
//!   |z| < ε and 0 outside, with C_d^{−1} = S_{d−1} ∫₀¹ r^{d−1} e^{−1/(1−r²)} dr,
//!   S_{d−1} = 2π^{d/2}/Γ(d/2) (the integral by composite Simpson; the integrand is flat
//!   at r = 1, so the rule converges faster than any power of the step).
//!
//! Kernel sums: for sources X^j, targets y_t and coefficient columns c^{(k)},
//! out[t, k] = Σ_j K_ε(y_t − X^j) c^{(k)}_j, the one primitive behind the kernel density
//! (K_ε * m^N)(y) = Σ_j W^j K_ε(y − X^j) and the kernel regressions of the Fisher–Rao
//! flow. Neighbours come from a [`CellList`] of radius = the kernel's support, so the
//! cost is O(N · neighbours) rather than O(N²) when ε is small against the spread of the
//! points. Each target's sum runs over its neighbours in a fixed order, so the result is
//! identical for [`Parallelism::Sequential`] and [`Parallelism::Rayon`].

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ensemble::Ensemble;
use crate::error::{MeasuresError, Result};
use crate::neighbours::CellList;
use crate::parallel::Parallelism;

/// Truncation radius of the Gaussian kernel in units of ε (module docs).
pub const GAUSSIAN_CUTOFF: f64 = 8.5;

/// Shape of a radial kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KernelShape {
    /// Gaussian, variance ε² per coordinate (truncated at 8.5 ε).
    Gaussian,
    /// C^∞ bump exp(−1/(1 − |z/ε|²)), supported on the ball of radius ε.
    Bump,
}

/// A normalised radial kernel K_ε on R^d.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kernel {
    shape: KernelShape,
    eps: f64,
    d: usize,
    /// Normalising factor: K_ε(z) = norm · profile(|z|²/ε²).
    norm: f64,
    /// Per-coordinate variance ∫ z_1² K_ε(z) dz.
    variance: f64,
}

impl Kernel {
    /// Kernel of `shape` with bandwidth `eps` > 0 in dimension `d` ≥ 1.
    ///
    /// # Errors
    /// `Empty` for d = 0; `InvalidDomain` for ε not finite and > 0, or an ε whose
    /// normalisation ε^(−d)·C_d, variance or support radius is not a positive finite
    /// number (e.g. ε = 1e-160 in d = 3, where K(0) would be +∞).
    pub fn new(shape: KernelShape, eps: f64, d: usize) -> Result<Self> {
        if d == 0 {
            return Err(MeasuresError::Empty { what: "dimension" });
        }
        if !(eps > 0.0 && eps.is_finite()) {
            return Err(MeasuresError::InvalidDomain {
                reason: format!("kernel bandwidth ε must be finite and > 0, got {eps}"),
            });
        }
        let df = d as f64;
        let (norm, variance) = match shape {
            KernelShape::Gaussian => (
                (2.0 * std::f64::consts::PI * eps * eps).powf(-0.5 * df),
                eps * eps,
            ),
            KernelShape::Bump => {
                let s = sphere_area(d);
                let m0 = s * simpson01(|r| r.powi(d as i32 - 1) * bump_profile(r * r));
                let m2 = s * simpson01(|r| r.powi(d as i32 + 1) * bump_profile(r * r));
                (1.0 / (m0 * eps.powi(d as i32)), eps * eps * m2 / (m0 * df))
            }
        };
        // ε so small that ε² underflows or the normalisation overflows (K(0) = +∞), or so
        // large that it underflows to 0 (K ≡ 0, not a density): found by the fuzz target
        // `neighbours`.
        let support = match shape {
            KernelShape::Gaussian => GAUSSIAN_CUTOFF * eps,
            KernelShape::Bump => eps,
        };
        let in_range = norm.is_finite()
            && norm > 0.0
            && eps * eps >= f64::MIN_POSITIVE
            && variance.is_finite()
            && support.is_finite();
        if !in_range {
            return Err(MeasuresError::InvalidDomain {
                reason: format!(
                    "kernel bandwidth ε = {eps} is out of range for d = {d}: the normalisation \
                     ε^(−d) = {norm:e} or the variance ε² is not a positive finite number"
                ),
            });
        }
        Ok(Self {
            shape,
            eps,
            d,
            norm,
            variance,
        })
    }

    /// Gaussian kernel of bandwidth `eps` in dimension `d`.
    pub fn gaussian(eps: f64, d: usize) -> Result<Self> {
        Self::new(KernelShape::Gaussian, eps, d)
    }

    /// Bump mollifier of radius `eps` in dimension `d`.
    pub fn bump(eps: f64, d: usize) -> Result<Self> {
        Self::new(KernelShape::Bump, eps, d)
    }

    /// The shape.
    pub fn shape(&self) -> KernelShape {
        self.shape
    }

    /// The bandwidth ε.
    pub fn bandwidth(&self) -> f64 {
        self.eps
    }

    /// The dimension d.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// Radius outside which K_ε is zero (ε for the bump, 8.5 ε for the truncated Gaussian).
    pub fn support_radius(&self) -> f64 {
        match self.shape {
            KernelShape::Gaussian => GAUSSIAN_CUTOFF * self.eps,
            KernelShape::Bump => self.eps,
        }
    }

    /// Per-coordinate variance τ² = ∫ z_1² K_ε(z) dz (ε² for the Gaussian; ≈ 0.0649 ε²
    /// for the 1-D bump). Smoothing a density by K_ε adds τ² to its variance.
    pub fn variance(&self) -> f64 {
        self.variance
    }

    /// K_ε(z) as a function of r² = |z|².
    #[inline]
    pub fn eval_sq(&self, r2: f64) -> f64 {
        let u = r2 / (self.eps * self.eps);
        match self.shape {
            KernelShape::Gaussian if u < GAUSSIAN_CUTOFF * GAUSSIAN_CUTOFF => {
                self.norm * (-0.5 * u).exp()
            }
            KernelShape::Bump => self.norm * bump_profile(u),
            _ => 0.0,
        }
    }

    /// K_ε(z).
    pub fn eval(&self, z: &[f64]) -> f64 {
        self.eval_sq(z.iter().map(|v| v * v).sum())
    }
}

/// exp(−1/(1 − u)) for u < 1, else 0.
#[inline]
fn bump_profile(u: f64) -> f64 {
    if u < 1.0 {
        (-1.0 / (1.0 - u)).exp()
    } else {
        0.0
    }
}

/// Area of the unit sphere S^{d−1}: 2π^{d/2}/Γ(d/2).
fn sphere_area(d: usize) -> f64 {
    // Γ(d/2) from Γ(1/2) = √π, Γ(1) = 1 and Γ(x + 1) = x Γ(x).
    let (mut x, mut gamma) = if d.is_multiple_of(2) {
        (1.0, 1.0)
    } else {
        (0.5, std::f64::consts::PI.sqrt())
    };
    while x < 0.5 * d as f64 - 0.25 {
        gamma *= x;
        x += 1.0;
    }
    2.0 * std::f64::consts::PI.powf(0.5 * d as f64) / gamma
}

/// Composite Simpson rule on [0, 1] with 20,000 intervals.
fn simpson01(f: impl Fn(f64) -> f64) -> f64 {
    const M: usize = 20_000;
    let h = 1.0 / M as f64;
    let mut s = f(0.0) + f(1.0);
    for k in 1..M {
        s += if k % 2 == 1 { 4.0 } else { 2.0 } * f(k as f64 * h);
    }
    s * h / 3.0
}

/// Kernel sums from a fixed set of sources (module docs), with the neighbour structure
/// built once and reused for any number of target sets and coefficient columns.
#[derive(Debug, Clone)]
pub struct KernelSums<'a> {
    kernel: Kernel,
    sources: &'a [f64],
    cells: CellList,
}

impl<'a> KernelSums<'a> {
    /// Prepares sums over the rows of `sources` (row-major, d = `kernel.dim()` columns).
    pub fn new(kernel: Kernel, sources: &'a [f64]) -> Result<Self> {
        let cells = CellList::new(sources, kernel.dim(), kernel.support_radius())?;
        Ok(Self {
            kernel,
            sources,
            cells,
        })
    }

    /// Number of sources.
    pub fn n_sources(&self) -> usize {
        self.sources.len() / self.kernel.dim()
    }

    /// The kernel.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// `out[t·k + c] = Σ_j K_ε(y_t − X^j) columns[c][j]` for every target row y_t of
    /// `targets` and each of the k = `columns.len()` coefficient columns (each of length
    /// N_sources). `out` has length (number of targets)·k.
    pub fn apply(
        &self,
        targets: &[f64],
        columns: &[&[f64]],
        out: &mut [f64],
        par: Parallelism,
    ) -> Result<()> {
        let d = self.kernel.dim();
        let k = columns.len();
        let n = self.n_sources();
        if k == 0 {
            return Err(MeasuresError::Empty {
                what: "number of kernel-sum columns",
            });
        }
        if !targets.len().is_multiple_of(d) {
            return Err(MeasuresError::DimensionMismatch {
                what: "kernel-sum targets (length not a multiple of d)",
                expected: targets.len() / d * d,
                got: targets.len(),
            });
        }
        if let Some(c) = columns.iter().find(|c| c.len() != n) {
            return Err(MeasuresError::DimensionMismatch {
                what: "kernel-sum coefficient column",
                expected: n,
                got: c.len(),
            });
        }
        let m = targets.len() / d;
        if out.len() != m * k {
            return Err(MeasuresError::DimensionMismatch {
                what: "kernel-sum output",
                expected: m * k,
                got: out.len(),
            });
        }
        let r2max = self.kernel.support_radius().powi(2);
        let one = |t: usize, o: &mut [f64]| {
            let y = &targets[t * d..(t + 1) * d];
            o.fill(0.0);
            self.cells.for_each_candidate(y, |j| {
                let x = &self.sources[j * d..(j + 1) * d];
                let r2: f64 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum();
                if r2 < r2max {
                    let kv = self.kernel.eval_sq(r2);
                    for (o, col) in o.iter_mut().zip(columns) {
                        *o += kv * col[j];
                    }
                }
            });
        };
        // Kernel sums are expensive per row: small tasks balance better.
        crate::parallel::for_each_chunk_mut(par, out, k, 64, one);
        Ok(())
    }
}

/// The kernel matrix K_tj = K_ε(y_t − X^j) stored sparsely (rows = targets, only the
/// entries within the kernel's support), for repeated kernel sums over positions that do
/// not move (the pure Fisher–Rao flow): building costs one kernel evaluation per
/// neighbour pair, each later [`KernelMatrix::apply`] only a multiply–add per entry.
/// Entries are stored in the neighbour order of [`KernelSums::apply`], so both give the
/// same bits.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelMatrix {
    n_sources: usize,
    row_start: Vec<usize>,
    cols: Vec<u32>,
    vals: Vec<f64>,
}

impl KernelMatrix {
    /// Builds the matrix of `sums` at the target rows of `targets`; `None` when it would
    /// hold more than `max_entries` non-zeros (the caller then uses `sums` directly).
    pub fn build(
        sums: &KernelSums<'_>,
        targets: &[f64],
        max_entries: usize,
        par: Parallelism,
    ) -> Result<Option<Self>> {
        let d = sums.kernel.dim();
        if !targets.len().is_multiple_of(d) {
            return Err(MeasuresError::DimensionMismatch {
                what: "kernel-matrix targets (length not a multiple of d)",
                expected: targets.len() / d * d,
                got: targets.len(),
            });
        }
        if sums.n_sources() > u32::MAX as usize {
            return Ok(None);
        }
        let m = targets.len() / d;
        let r2max = sums.kernel.support_radius().powi(2);
        let total = std::sync::atomic::AtomicUsize::new(0);
        let row = |t: usize| -> Option<Vec<(u32, f64)>> {
            let y = &targets[t * d..(t + 1) * d];
            let mut entries = Vec::new();
            sums.cells.for_each_candidate(y, |j| {
                let x = &sums.sources[j * d..(j + 1) * d];
                let r2: f64 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum();
                if r2 < r2max {
                    entries.push((j as u32, sums.kernel.eval_sq(r2)));
                }
            });
            let so_far = total.fetch_add(entries.len(), std::sync::atomic::Ordering::Relaxed);
            (so_far + entries.len() <= max_entries).then_some(entries)
        };
        let rows: Option<Vec<Vec<(u32, f64)>>> = match par {
            Parallelism::Sequential => (0..m).map(row).collect(),
            Parallelism::Rayon => (0..m).into_par_iter().with_min_len(64).map(row).collect(),
        };
        let Some(rows) = rows else { return Ok(None) };
        let nnz = rows.iter().map(Vec::len).sum();
        let mut out = Self {
            n_sources: sums.n_sources(),
            row_start: Vec::with_capacity(m + 1),
            cols: Vec::with_capacity(nnz),
            vals: Vec::with_capacity(nnz),
        };
        out.row_start.push(0);
        for r in rows {
            for (j, v) in r {
                out.cols.push(j);
                out.vals.push(v);
            }
            out.row_start.push(out.cols.len());
        }
        Ok(Some(out))
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.vals.len()
    }

    /// Number of target rows.
    pub fn n_targets(&self) -> usize {
        self.row_start.len() - 1
    }

    /// `out[t·k + c] = Σ_j K_tj columns[c][j]`, as [`KernelSums::apply`].
    pub fn apply(&self, columns: &[&[f64]], out: &mut [f64], par: Parallelism) -> Result<()> {
        let k = columns.len();
        if k == 0 {
            return Err(MeasuresError::Empty {
                what: "number of kernel-sum columns",
            });
        }
        if let Some(c) = columns.iter().find(|c| c.len() != self.n_sources) {
            return Err(MeasuresError::DimensionMismatch {
                what: "kernel-sum coefficient column",
                expected: self.n_sources,
                got: c.len(),
            });
        }
        if out.len() != self.n_targets() * k {
            return Err(MeasuresError::DimensionMismatch {
                what: "kernel-sum output",
                expected: self.n_targets() * k,
                got: out.len(),
            });
        }
        let one = |t: usize, o: &mut [f64]| {
            o.fill(0.0);
            let (a, b) = (self.row_start[t], self.row_start[t + 1]);
            for (&j, &kv) in self.cols[a..b].iter().zip(&self.vals[a..b]) {
                for (o, col) in o.iter_mut().zip(columns) {
                    *o += kv * col[j as usize];
                }
            }
        };
        // Kernel sums are expensive per row: small tasks balance better.
        crate::parallel::for_each_chunk_mut(par, out, k, 64, one);
        Ok(())
    }
}

/// Kernel density (K_ε * m^N)(X^i) = Σ_j W^j K_ε(X^i − X^j) of a (weighted) ensemble at
/// all of its particles, in one pass, written into `out` (length N).
pub fn kernel_density_into(
    kernel: &Kernel,
    ens: &Ensemble,
    out: &mut [f64],
    par: Parallelism,
) -> Result<()> {
    if kernel.dim() != ens.dim() {
        return Err(MeasuresError::DimensionMismatch {
            what: "kernel dimension",
            expected: ens.dim(),
            got: kernel.dim(),
        });
    }
    let w: Vec<f64> = match ens.weights() {
        Some(w) => w.as_slice().to_vec(),
        None => vec![1.0 / ens.n() as f64; ens.n()],
    };
    KernelSums::new(*kernel, ens.as_slice())?.apply(ens.as_slice(), &[&w], out, par)
}

/// Allocating form of [`kernel_density_into`].
pub fn kernel_density(kernel: &Kernel, ens: &Ensemble, par: Parallelism) -> Result<Vec<f64>> {
    let mut out = vec![0.0; ens.n()];
    kernel_density_into(kernel, ens, &mut out, par)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ∫ K_ε = 1 and the per-coordinate variance, by a Riemann sum on a fine grid.
    #[test]
    fn kernels_are_normalised_with_the_stated_variance() {
        for shape in [KernelShape::Gaussian, KernelShape::Bump] {
            for d in [1usize, 2] {
                let k = Kernel::new(shape, 0.4, d).unwrap();
                let r = k.support_radius();
                let m = if d == 1 { 20_000 } else { 800 };
                let h = 2.0 * r / m as f64;
                let (mut mass, mut var) = (0.0, 0.0);
                for a in 0..m {
                    let x = -r + (a as f64 + 0.5) * h;
                    if d == 1 {
                        let v = k.eval(&[x]) * h;
                        mass += v;
                        var += v * x * x;
                    } else {
                        for b in 0..m {
                            let y = -r + (b as f64 + 0.5) * h;
                            let v = k.eval(&[x, y]) * h * h;
                            mass += v;
                            var += v * x * x;
                        }
                    }
                }
                assert!((mass - 1.0).abs() < 1e-6, "{shape:?} d={d}: mass {mass}");
                assert!(
                    (var - k.variance()).abs() < 1e-6,
                    "{shape:?} d={d}: variance {var} vs {}",
                    k.variance()
                );
            }
        }
    }

    #[test]
    fn bad_bandwidth_is_an_error() {
        assert!(Kernel::gaussian(0.0, 1).is_err());
        assert!(Kernel::bump(f64::NAN, 1).is_err());
        assert!(Kernel::bump(1.0, 0).is_err());
    }

    /// Cell-list sums equal brute-force sums, sequentially and on the rayon pool.
    #[test]
    fn kernel_sums_match_brute_force() {
        let d = 2;
        let n = 300;
        let pts: Vec<f64> = (0..n * d)
            .map(|k| ((k * 7919 + 13) % 997) as f64 / 997.0 * 6.0 - 3.0)
            .collect();
        let w: Vec<f64> = (0..n).map(|j| 1.0 + (j % 5) as f64).collect();
        for shape in [KernelShape::Gaussian, KernelShape::Bump] {
            let k = Kernel::new(shape, 0.3, d).unwrap();
            let sums = KernelSums::new(k, &pts).unwrap();
            let mut seq = vec![0.0; n];
            let mut par = vec![0.0; n];
            sums.apply(&pts, &[&w], &mut seq, Parallelism::Sequential)
                .unwrap();
            sums.apply(&pts, &[&w], &mut par, Parallelism::Rayon)
                .unwrap();
            assert_eq!(seq, par);
            let mat = KernelMatrix::build(&sums, &pts, usize::MAX, Parallelism::Rayon)
                .unwrap()
                .unwrap();
            let mut cached = vec![0.0; n];
            mat.apply(&[&w], &mut cached, Parallelism::Sequential)
                .unwrap();
            assert_eq!(seq, cached);
            assert!(
                KernelMatrix::build(&sums, &pts, 10, Parallelism::Sequential)
                    .unwrap()
                    .is_none()
            );
            for i in 0..n {
                let y = &pts[i * d..(i + 1) * d];
                let brute: f64 = (0..n)
                    .map(|j| {
                        let x = &pts[j * d..(j + 1) * d];
                        let z = [x[0] - y[0], x[1] - y[1]];
                        k.eval(&z) * w[j]
                    })
                    .sum();
                assert!((seq[i] - brute).abs() <= 1e-12 * brute.abs().max(1.0));
            }
        }
    }
}

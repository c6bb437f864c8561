//! Fixed-radius neighbour search by a cell list.
//!
//! The source points are binned into cubic cells of side s ≥ r (r the search radius):
//! cell index c(x) = ⌊(x − x_min)/s⌋ per coordinate, linearised with the strides of the
//! bounding box. Every point within distance r of a query y lies in one of the 3^d cells
//! adjacent to c(y), so a query visits those cells only. The side is not r itself but
//! s = r·(1 + 8u(C + 2)), u = 2⁻⁵³ and C the largest number of cells of side r along a
//! coordinate: the computed t = fl(fl(x − x_min)/s) has error ≤ 2.0001u·|t| ≤ 2.0001u(C + 1)
//! for a point within r of the box, so two points closer than r have computed t's less
//! than r/s + 4.0002u(C + 1) ≤ 1 apart and cells at most one apart (with s = r, points
//! at distance r·(1 − 1e-9) near x_min + 1e9·r were binned two cells apart and missed:
//! fuzz target `neighbours`). For C below 10⁶ the cells grow by less than 1e-9 relative. With n sources and q queries the
//! cost is O((n + q) log n + q · 3^d · n_cell) instead of O(n q), where n_cell is the
//! number of sources per cell (≈ n · p(y) r^d for sources with density p).
//!
//! Within a cell, sources are visited in increasing index order, and cells in a fixed
//! order, so any sum accumulated over the neighbours of a query is a deterministic
//! function of the inputs (the same bits for any thread count).
//!
//! When r is infinite, or when the bounding box would need more than
//! [`MAX_CELLS`] cells, or d > [`MAX_CELL_DIM`] (3^d neighbour cells would cost more than
//! they save), the list degrades to one cell holding every source: the search is then
//! exhaustive and still exact.

use crate::error::{MeasuresError, Result};

/// Largest number of (virtual) cells of the linearised grid.
pub const MAX_CELLS: u128 = 1 << 40;

/// Largest dimension for which cells are used (3^6 = 729 neighbour cells).
pub const MAX_CELL_DIM: usize = 6;

/// Sources binned into cells of side s ≥ `radius` (module docs).
#[derive(Debug, Clone)]
pub struct CellList {
    d: usize,
    radius: f64,
    /// Cell side s ≥ r (module docs).
    side: f64,
    /// x_min of the bounding box (empty when exhaustive).
    origin: Vec<f64>,
    /// Number of cells per coordinate (empty when exhaustive).
    counts: Vec<u64>,
    /// Occupied cell keys, increasing.
    keys: Vec<u64>,
    /// `starts[k]..starts[k+1]` indexes `order` for cell `keys[k]`.
    starts: Vec<usize>,
    /// Source indices grouped by cell (increasing index within a cell).
    order: Vec<usize>,
}

impl CellList {
    /// Bins the `n = points.len() / d` rows of `points` for radius `radius` > 0
    /// (`f64::INFINITY` gives an exhaustive list). Rejects d = 0, a ragged buffer,
    /// non-finite coordinates and a non-positive or NaN radius.
    pub fn new(points: &[f64], d: usize, radius: f64) -> Result<Self> {
        if d == 0 {
            return Err(MeasuresError::Empty { what: "dimension" });
        }
        if !points.len().is_multiple_of(d) {
            return Err(MeasuresError::DimensionMismatch {
                what: "neighbour-search points (length not a multiple of d)",
                expected: points.len() / d * d,
                got: points.len(),
            });
        }
        if radius.is_nan() || radius <= 0.0 {
            return Err(MeasuresError::InvalidDomain {
                reason: format!("search radius must be > 0, got {radius}"),
            });
        }
        if let Some(k) = points.iter().position(|v| !v.is_finite()) {
            return Err(MeasuresError::NonFinite {
                what: "neighbour-search points",
                particle: k / d,
                coordinate: k % d,
                value: points[k],
            });
        }
        let n = points.len() / d;
        let exhaustive = |d| Self {
            d,
            radius,
            side: radius,
            origin: Vec::new(),
            counts: Vec::new(),
            keys: vec![0],
            starts: vec![0, n],
            order: (0..n).collect(),
        };
        if n == 0 || radius.is_infinite() || d > MAX_CELL_DIM {
            return Ok(exhaustive(d));
        }
        let mut lo = vec![f64::INFINITY; d];
        let mut hi = vec![f64::NEG_INFINITY; d];
        for row in points.chunks_exact(d) {
            for k in 0..d {
                lo[k] = lo[k].min(row[k]);
                hi[k] = hi[k].max(row[k]);
            }
        }
        // The side covering the rounding of the cell index (module docs), from the
        // largest count of cells of side r (too many cells: exhaustive below).
        let widest = (0..d)
            .map(|k| ((hi[k] - lo[k]) / radius).floor() + 1.0)
            .fold(0.0f64, f64::max);
        // NaN cannot occur (finite points, r > 0), +∞ can (hi − lo overflows).
        if widest.is_nan() || widest >= 1e12 {
            return Ok(exhaustive(d));
        }
        let side = radius * (1.0 + 8.0 * f64::EPSILON / 2.0 * (widest + 2.0));
        let mut counts = Vec::with_capacity(d);
        let mut total: u128 = 1;
        for k in 0..d {
            let c = ((hi[k] - lo[k]) / side).floor() + 1.0;
            if !(c.is_finite() && c < 1e12) {
                return Ok(exhaustive(d));
            }
            total = total.saturating_mul(c as u128);
            counts.push(c as u64);
        }
        if total > MAX_CELLS {
            return Ok(exhaustive(d));
        }
        let mut list = Self {
            d,
            radius,
            side,
            origin: lo,
            counts,
            keys: Vec::new(),
            starts: Vec::new(),
            order: Vec::new(),
        };
        let mut keyed: Vec<(u64, usize)> = points
            .chunks_exact(d)
            .enumerate()
            .map(|(i, row)| (list.key_of(&list.cell_of(row)), i))
            .collect();
        keyed.sort_unstable();
        list.order = keyed.iter().map(|&(_, i)| i).collect();
        for (pos, &(key, _)) in keyed.iter().enumerate() {
            if list.keys.last() != Some(&key) {
                list.keys.push(key);
                list.starts.push(pos);
            }
        }
        list.starts.push(n);
        Ok(list)
    }

    /// The search radius r.
    pub fn radius(&self) -> f64 {
        self.radius
    }

    /// Whether the list is exhaustive (one cell holding every source).
    pub fn is_exhaustive(&self) -> bool {
        self.counts.is_empty()
    }

    /// Number of occupied cells.
    pub fn occupied_cells(&self) -> usize {
        self.keys.len()
    }

    /// Integer cell coordinates of `y` (may lie outside the grid for a query point).
    fn cell_of(&self, y: &[f64]) -> Vec<i64> {
        y.iter()
            .zip(&self.origin)
            .map(|(v, o)| ((v - o) / self.side).floor() as i64)
            .collect()
    }

    /// Linear key of in-grid cell coordinates.
    fn key_of(&self, cell: &[i64]) -> u64 {
        cell.iter()
            .zip(&self.counts)
            .fold(0u64, |acc, (&c, &n)| acc * n + c as u64)
    }

    /// Calls `visit(j)` for every source j in the 3^d cells around `y` (a superset of
    /// the sources within distance r, in a fixed order; the caller filters by distance).
    /// `y` must have length d.
    pub fn for_each_candidate(&self, y: &[f64], mut visit: impl FnMut(usize)) {
        if self.is_exhaustive() {
            self.order.iter().for_each(|&j| visit(j));
            return;
        }
        let centre = self.cell_of(y);
        let d = self.d;
        let mut offset = vec![-1i64; d];
        let mut cell = vec![0i64; d];
        'outer: loop {
            let mut inside = true;
            for k in 0..d {
                // Saturating: a query far outside the grid has centre ±i64::MAX.
                cell[k] = centre[k].saturating_add(offset[k]);
                if cell[k] < 0 || cell[k] >= self.counts[k] as i64 {
                    inside = false;
                }
            }
            if inside {
                let key = self.key_of(&cell);
                if let Ok(pos) = self.keys.binary_search(&key) {
                    self.order[self.starts[pos]..self.starts[pos + 1]]
                        .iter()
                        .for_each(|&j| visit(j));
                }
            }
            // Next offset in {−1, 0, 1}^d (odometer order).
            for k in (0..d).rev() {
                if offset[k] < 1 {
                    offset[k] += 1;
                    continue 'outer;
                }
                offset[k] = -1;
            }
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force and cell-list neighbour sets agree.
    #[test]
    fn cell_list_finds_every_neighbour() {
        let d = 2;
        let pts: Vec<f64> = (0..400)
            .map(|k| ((k * 7919) % 1000) as f64 / 100.0 - 5.0)
            .collect();
        let r = 0.7;
        let list = CellList::new(&pts, d, r).unwrap();
        assert!(!list.is_exhaustive());
        for q in pts.chunks_exact(d).take(50) {
            let mut got = Vec::new();
            list.for_each_candidate(q, |j| {
                let p = &pts[j * d..(j + 1) * d];
                let r2: f64 = p.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum();
                if r2 < r * r {
                    got.push(j);
                }
            });
            got.sort_unstable();
            let want: Vec<usize> = (0..pts.len() / d)
                .filter(|&j| {
                    let p = &pts[j * d..(j + 1) * d];
                    p.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() < r * r
                })
                .collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn bad_radius_is_an_error() {
        assert!(CellList::new(&[0.0, 1.0], 1, 0.0).is_err());
        assert!(CellList::new(&[0.0, 1.0], 1, f64::NAN).is_err());
        assert!(CellList::new(&[0.0, f64::NAN], 1, 1.0).is_err());
        assert!(CellList::new(&[0.0, 1.0, 2.0], 2, 1.0).is_err());
    }
}

//! Domains X ⊆ R^d on which an ensemble lives.
//!
//! - `Euclidean`: X = R^d.
//! - `Simplex`: the probability simplex Δ = {x ∈ R^d : x_i ≥ 0, Σ_i x_i = 1}, stored as
//!   the full d-vector (not d − 1 free coordinates).
//! - `Box`: X = Π_i [l_i, u_i] with l_i < u_i; u_i = +∞ gives the orthant-type faces
//!   (the positive orthant is `Box` with l = 0, u = +∞, see [`Domain::orthant`]).

use serde::{Deserialize, Serialize};

use crate::error::{MeasuresError, Result};

/// Tolerance on |Σ x_i − 1| accepted for a point of the simplex.
pub const SIMPLEX_SUM_TOL: f64 = 1e-9;

/// Per-coordinate bounds of a box domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoxBounds {
    lower: Vec<f64>,
    upper: Vec<f64>,
}

impl BoxBounds {
    /// Box Π_i [lower_i, upper_i]; bounds may be infinite but must satisfy lower < upper
    /// and not be NaN.
    pub fn new(lower: Vec<f64>, upper: Vec<f64>) -> Result<Self> {
        if lower.len() != upper.len() {
            return Err(MeasuresError::DimensionMismatch {
                what: "box upper bounds",
                expected: lower.len(),
                got: upper.len(),
            });
        }
        if lower.is_empty() {
            return Err(MeasuresError::Empty { what: "dimension" });
        }
        for (i, (&l, &u)) in lower.iter().zip(&upper).enumerate() {
            if l.is_nan() || u.is_nan() || l >= u || l == f64::INFINITY || u == f64::NEG_INFINITY {
                return Err(MeasuresError::InvalidDomain {
                    reason: format!("coordinate {i}: need lower < upper, got [{l}, {u}]"),
                });
            }
        }
        Ok(Self { lower, upper })
    }

    /// The same interval [lower, upper] in every one of `d` coordinates.
    pub fn uniform(d: usize, lower: f64, upper: f64) -> Result<Self> {
        Self::new(vec![lower; d], vec![upper; d])
    }

    /// Lower bounds l.
    pub fn lower(&self) -> &[f64] {
        &self.lower
    }

    /// Upper bounds u.
    pub fn upper(&self) -> &[f64] {
        &self.upper
    }

    /// Dimension d.
    pub fn dim(&self) -> usize {
        self.lower.len()
    }
}

/// The set X ⊆ R^d that particles live in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum Domain {
    /// X = R^d.
    #[default]
    Euclidean,
    /// The probability simplex {x ≥ 0, Σx = 1} in full coordinates.
    Simplex,
    /// A box Π [l_i, u_i] (possibly unbounded above: the orthant).
    Box(BoxBounds),
}

impl Domain {
    /// The positive orthant [0, ∞)^d.
    pub fn orthant(d: usize) -> Result<Self> {
        Ok(Domain::Box(BoxBounds::uniform(d, 0.0, f64::INFINITY)?))
    }

    /// Short name used in messages and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Domain::Euclidean => "euclidean",
            Domain::Simplex => "simplex",
            Domain::Box(_) => "box",
        }
    }

    /// Checks that a domain can hold points of dimension `d`.
    pub fn check_dim(&self, d: usize) -> Result<()> {
        match self {
            Domain::Box(b) if b.dim() != d => Err(MeasuresError::DimensionMismatch {
                what: "box bounds",
                expected: d,
                got: b.dim(),
            }),
            Domain::Simplex if d < 2 => Err(MeasuresError::InvalidDomain {
                reason: format!("a simplex needs d ≥ 2 coordinates, got {d}"),
            }),
            _ => Ok(()),
        }
    }

    /// Whether `x` lies in the closed domain; on failure, a description of the violated
    /// constraint.
    pub fn violation(&self, x: &[f64]) -> Option<String> {
        match self {
            Domain::Euclidean => None,
            Domain::Simplex => {
                if let Some((i, v)) = x.iter().enumerate().find(|(_, v)| **v < 0.0) {
                    return Some(format!("coordinate {i} is negative ({v})"));
                }
                let s = crate::compensated::compensated_sum(x);
                ((s - 1.0).abs() > SIMPLEX_SUM_TOL)
                    .then(|| format!("coordinates sum to {s}, not 1"))
            }
            Domain::Box(b) => x
                .iter()
                .zip(b.lower.iter().zip(&b.upper))
                .enumerate()
                .find(|(_, (v, (l, u)))| **v < **l || **v > **u)
                .map(|(i, (v, (l, u)))| format!("coordinate {i} = {v} is outside [{l}, {u}]")),
        }
    }

    /// Whether `x` lies in the open interior (relative interior for the simplex): the
    /// set where a barrier mirror map is finite.
    pub fn contains_interior(&self, x: &[f64]) -> bool {
        match self {
            Domain::Euclidean => true,
            Domain::Simplex => {
                x.iter().all(|v| *v > 0.0)
                    && (crate::compensated::compensated_sum(x) - 1.0).abs() <= SIMPLEX_SUM_TOL
            }
            Domain::Box(b) => x
                .iter()
                .zip(b.lower.iter().zip(&b.upper))
                .all(|(v, (l, u))| *v > *l && *v < *u),
        }
    }
}

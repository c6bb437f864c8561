//! `Ensemble::new` / `Ensemble::from_fn` on arbitrary shapes, buffers and domains never
//! panic; an accepted ensemble re-validates, and its (weighted) mean can be taken.
//!
//! Layout: byte 0 = N, byte 1 = d, byte 2 = domain (and length skew), then (box) d lower
//! bounds and d upper bounds, then the buffer: all remaining f64s.

use crate::Input;
use meanfield::measures::{BoxBounds, Domain, Ensemble, Weights};

fn run(mut input: Input<'_>) -> Option<()> {
    let n = usize::from(input.byte()? % 17);
    let d = usize::from(input.byte()? % 9);
    let kind = input.byte()?;
    let domain = match kind % 4 {
        0 => Domain::Euclidean,
        1 => Domain::Simplex,
        2 => Domain::orthant(d).ok()?,
        _ => {
            // Any bounds (NaN, inverted, infinite): BoxBounds::new must reject, not panic.
            let lower: Vec<f64> = (0..d).map(|_| input.f64()).collect::<Option<_>>()?;
            let upper: Vec<f64> = (0..d).map(|_| input.f64()).collect::<Option<_>>()?;
            Domain::Box(BoxBounds::new(lower, upper).ok()?)
        }
    };
    let data = input.rest_f64();

    // from_fn with the same shape, and with shapes whose N·d overflows.
    let fill = |i: usize, row: &mut [f64]| {
        let width = row.len();
        for (j, v) in row.iter_mut().enumerate() {
            *v = data.get(i * width + j).copied().unwrap_or(0.0);
        }
    };
    let _ = Ensemble::from_fn(n, d, domain.clone(), fill);
    if kind & 0x80 != 0 {
        let _ = Ensemble::from_fn(usize::MAX / 2 + 1 + n, 2 + d, domain.clone(), |_, _| {
            unreachable!("N·d overflows: no row may be produced")
        });
    }

    match Ensemble::new(n, d, data.clone(), domain) {
        Ok(mut ens) => {
            assert!(n > 0 && d > 0 && data.len() == n * d);
            assert!(ens.validate().is_ok());
            assert_eq!(ens.rows().count(), n);
            let _ = ens.mean();
            if let Ok(w) =
                Weights::from_unnormalised(data.iter().take(n).map(|v| v.abs()).collect())
            {
                ens.set_weights(w).expect("N weights");
                let _ = ens.mean();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    Some(())
}

/// The `ensemble_new` fuzz target: panics exactly when an invariant of the module
/// documentation fails for `data`.
pub fn ensemble_new(data: &[u8]) {
    let _ = run(Input::new(data));
}

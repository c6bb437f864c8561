//! The CSV loaders of `meanfield_experiments::data` on arbitrary text (what a user's
//! replacement data file would feed them after the checksum): `parse_sp500`,
//! `parse_breast_cancer`, `parse_digits` never panic; `Err` ⇒ `ExperimentError::Data`.
//! `Ok` ⇒ the table's shape is consistent (features = rows × cols, one label per row,
//! every feature finite; breast cancer: 30 columns and the header's row count), and the
//! price series has one date per price, every price finite and > 0, and every log-return
//! finite.
//!
//! Layout: byte 0 selects the loader, the rest is the file's text.

use crate::text;
use meanfield_experiments::ExperimentError;
use meanfield_experiments::data::{LabelledTable, parse_breast_cancer, parse_digits, parse_sp500};

/// The `csv` fuzz target: panics exactly when an invariant of the module
/// documentation fails for `data`.
pub fn csv(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let csv = text(rest);
    match kind % 3 {
        0 => match parse_sp500(&csv) {
            Ok(series) => {
                assert_eq!(series.dates.len(), series.adj_close.len());
                assert!(
                    series.adj_close.iter().all(|p| p.is_finite() && *p > 0.0),
                    "prices {:?}",
                    series.adj_close
                );
                let r = series.log_returns();
                assert_eq!(r.len(), series.adj_close.len().saturating_sub(1));
                assert!(
                    r.iter().all(|v| v.is_finite()),
                    "non-finite log-return from prices {:?}",
                    series.adj_close
                );
            }
            Err(e) => data_error(e),
        },
        1 => match parse_breast_cancer(&csv) {
            Ok(t) => {
                table(&t, 30);
            }
            Err(e) => data_error(e),
        },
        _ => match parse_digits(&csv) {
            Ok(t) => table(&t, 64),
            Err(e) => data_error(e),
        },
    }
}

fn table(t: &LabelledTable, cols: usize) {
    assert_eq!(t.cols, cols);
    assert_eq!(t.labels.len(), t.rows);
    assert_eq!(t.features.len(), t.rows * t.cols);
    assert!(t.features.iter().all(|v| v.is_finite()));
    for i in 0..t.rows {
        assert_eq!(t.row(i).len(), cols);
    }
}

fn data_error(e: ExperimentError) {
    assert!(
        matches!(e, ExperimentError::Data(_)),
        "not a data error: {e:?}"
    );
}

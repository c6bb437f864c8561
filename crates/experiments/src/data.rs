//! The real data sets in the project's `data/` folder: checksum-verified loading and
//! parsing into plain row-major arrays.
//!
//! Every file is checked against the SHA-256 recorded in `data/README.md` before it is
//! parsed, so a missing, truncated or altered file is an [`ExperimentError::Data`] that
//! names the path and the expected checksum instead of a silently different result.
//! The folder is `data/` at the workspace root, or `$MEANFIELD_DATA_DIR` when set.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::ExperimentError;

/// One of the shipped data files, with its provenance checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFile {
    /// S&P 500 daily prices 1999-01-04 … 2018-12-31 (from the `arch` package).
    Sp500,
    /// Wisconsin diagnostic breast cancer data (from scikit-learn).
    BreastCancer,
    /// UCI optical handwritten digits, 8×8 (from scikit-learn).
    Digits,
}

impl DataFile {
    /// File name inside the data folder.
    pub fn file_name(self) -> &'static str {
        match self {
            DataFile::Sp500 => "sp500.csv.gz",
            DataFile::BreastCancer => "breast_cancer.csv",
            DataFile::Digits => "digits.csv.gz",
        }
    }

    /// Expected SHA-256 of the file as shipped (hex, lower case).
    pub fn sha256(self) -> &'static str {
        match self {
            DataFile::Sp500 => "1e028cbb9c400cc018c816ccc439b33c919387e726c3ed5ca2c05c82746059de",
            DataFile::BreastCancer => {
                "fed3eb72d0575ef6192293f5093c6e801b1476b577d0386bf4455504522172ed"
            }
            DataFile::Digits => "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",
        }
    }

    /// The data folder: `$MEANFIELD_DATA_DIR`, or `<workspace>/data` when it is unset.
    ///
    /// # Errors
    /// `MEANFIELD_DATA_DIR` set but empty (it would silently mean the current directory).
    pub fn dir() -> Result<PathBuf, ExperimentError> {
        match std::env::var_os("MEANFIELD_DATA_DIR") {
            Some(v) if v.is_empty() => Err(ExperimentError::Data(
                "MEANFIELD_DATA_DIR is set but empty; unset it to use the bundled data/ \
                 folder, or set it to the folder holding the data files"
                    .into(),
            )),
            Some(v) => Ok(PathBuf::from(v)),
            None => Ok(PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../data"
            ))),
        }
    }

    /// The file's text from [`DataFile::dir`]; see [`DataFile::read_text_in`].
    pub fn read_text(self) -> Result<String, ExperimentError> {
        self.read_text_in(&Self::dir()?)
    }

    /// The file's text from folder `dir`: checksum verified, gunzipped when the name
    /// ends in `.gz`.
    pub fn read_text_in(self, dir: &Path) -> Result<String, ExperimentError> {
        let path = dir.join(self.file_name());
        let bytes = std::fs::read(&path).map_err(|e| {
            ExperimentError::Data(format!(
                "cannot read {} ({e}); expected the file with sha256 {}",
                path.display(),
                self.sha256()
            ))
        })?;
        let digest = Sha256::digest(&bytes);
        let found: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        if found != self.sha256() {
            return Err(ExperimentError::Data(format!(
                "{} has sha256 {found}, expected {} (file altered or truncated)",
                path.display(),
                self.sha256()
            )));
        }
        let mut text = String::new();
        let read = if self.file_name().ends_with(".gz") {
            flate2::read::GzDecoder::new(bytes.as_slice()).read_to_string(&mut text)
        } else {
            bytes.as_slice().read_to_string(&mut text)
        };
        read.map_err(|e| ExperimentError::Data(format!("{}: {e}", path.display())))?;
        Ok(text)
    }
}

/// A labelled table of real features: `rows × cols` row-major, one label per row.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledTable {
    /// Number of rows (examples).
    pub rows: usize,
    /// Number of feature columns.
    pub cols: usize,
    /// Features, row-major.
    pub features: Vec<f64>,
    /// One class label per row.
    pub labels: Vec<u8>,
}

impl LabelledTable {
    /// Feature row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.features[i * self.cols..(i + 1) * self.cols]
    }
}

/// A daily price series.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceSeries {
    /// Dates as written in the file (m/d/Y).
    pub dates: Vec<String>,
    /// Adjusted closing prices.
    pub adj_close: Vec<f64>,
}

impl PriceSeries {
    /// Daily log-returns r_t = ln(P_t / P_{t−1}) (one fewer than the prices), finite for
    /// any finite positive prices: when the ratio overflows or underflows (prices 1e-300
    /// and 1e300) it is computed as ln P_t − ln P_{t−1} instead (before, ±∞).
    pub fn log_returns(&self) -> Vec<f64> {
        self.adj_close
            .windows(2)
            .map(|w| {
                let r = (w[1] / w[0]).ln();
                if r.is_finite() {
                    r
                } else {
                    w[1].ln() - w[0].ln()
                }
            })
            .collect()
    }
}

fn parse_field(file: DataFile, line: usize, field: &str) -> Result<f64, ExperimentError> {
    let v: f64 = field.trim().parse().map_err(|_| {
        ExperimentError::Data(format!(
            "{}: line {line}: `{field}` is not a number",
            file.file_name()
        ))
    })?;
    if !v.is_finite() {
        return Err(ExperimentError::Data(format!(
            "{}: line {line}: non-finite value `{field}`",
            file.file_name()
        )));
    }
    Ok(v)
}

fn parse_label(file: DataFile, line: usize, field: &str) -> Result<u8, ExperimentError> {
    field.trim().parse().map_err(|_| {
        ExperimentError::Data(format!(
            "{}: line {line}: label `{field}` is not a small integer",
            file.file_name()
        ))
    })
}

/// Parses rows of `cols` numbers followed by an integer label.
fn parse_labelled<'a>(
    file: DataFile,
    lines: impl Iterator<Item = (usize, &'a str)>,
    cols: usize,
) -> Result<LabelledTable, ExperimentError> {
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for (line, text) in lines {
        if text.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = text.split(',').collect();
        if fields.len() != cols + 1 {
            return Err(ExperimentError::Data(format!(
                "{}: line {line}: {} fields, expected {}",
                file.file_name(),
                fields.len(),
                cols + 1
            )));
        }
        for f in &fields[..cols] {
            features.push(parse_field(file, line, f)?);
        }
        labels.push(parse_label(file, line, fields[cols])?);
    }
    Ok(LabelledTable {
        rows: labels.len(),
        cols,
        features,
        labels,
    })
}

/// The S&P 500 adjusted close, 5031 trading days.
pub fn sp500() -> Result<PriceSeries, ExperimentError> {
    parse_sp500(&DataFile::Sp500.read_text()?)
}

/// Parses the text of `sp500.csv` (a header line, then `Date,Open,High,Low,Close,Adj
/// Close,Volume` rows; blank lines skipped): the dates and the adjusted closes.
///
/// # Errors
/// [`ExperimentError::Data`] naming the line: a row without 7 fields, an adjusted close
/// that is not a finite number > 0.
pub fn parse_sp500(text: &str) -> Result<PriceSeries, ExperimentError> {
    let file = DataFile::Sp500;
    let mut dates = Vec::new();
    let mut adj_close = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 7 {
            return Err(ExperimentError::Data(format!(
                "{}: line {}: {} fields, expected 7",
                file.file_name(),
                i + 1,
                fields.len()
            )));
        }
        let p = parse_field(file, i + 1, fields[5])?;
        if p <= 0.0 {
            return Err(ExperimentError::Data(format!(
                "{}: line {}: non-positive price {p}",
                file.file_name(),
                i + 1
            )));
        }
        dates.push(fields[0].to_string());
        adj_close.push(p);
    }
    Ok(PriceSeries { dates, adj_close })
}

/// The breast-cancer table: 569 rows × 30 features, label 0 = malignant, 1 = benign.
pub fn breast_cancer() -> Result<LabelledTable, ExperimentError> {
    parse_breast_cancer(&DataFile::BreastCancer.read_text()?)
}

/// Parses the text of `breast_cancer.csv`: a header `rows,cols,…` with cols = 30, then
/// rows of 30 numbers and an integer label.
///
/// # Errors
/// [`ExperimentError::Data`]: an empty text, a row that does not parse (named by line),
/// or a header that disagrees with the rows read.
pub fn parse_breast_cancer(text: &str) -> Result<LabelledTable, ExperimentError> {
    let file = DataFile::BreastCancer;
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    // Header line: `rows,cols,name0,name1`.
    let (_, header) = lines
        .next()
        .ok_or_else(|| ExperimentError::Data(format!("{} is empty", file.file_name())))?;
    let dims: Vec<usize> = header
        .split(',')
        .take(2)
        .map(|f| f.trim().parse().unwrap_or(0))
        .collect();
    let table = parse_labelled(file, lines, 30)?;
    if dims != [table.rows, 30] {
        return Err(ExperimentError::Data(format!(
            "{}: header says {header}, but {} rows of 30 features were read",
            file.file_name(),
            table.rows
        )));
    }
    Ok(table)
}

/// The digits table: 1797 rows × 64 pixels (0–16), label 0–9.
pub fn digits() -> Result<LabelledTable, ExperimentError> {
    parse_digits(&DataFile::Digits.read_text()?)
}

/// Parses the text of `digits.csv` (gunzipped): rows of 64 numbers and an integer label,
/// no header.
///
/// # Errors
/// [`ExperimentError::Data`] naming the line of a row that does not parse.
pub fn parse_digits(text: &str) -> Result<LabelledTable, ExperimentError> {
    parse_labelled(
        DataFile::Digits,
        text.lines().enumerate().map(|(i, l)| (i + 1, l)),
        64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_files_parse_with_their_documented_shapes() {
        let sp = sp500().unwrap();
        assert_eq!(sp.adj_close.len(), 5031);
        assert_eq!(sp.dates[0], "1/4/1999");
        assert_eq!(sp.log_returns().len(), 5030);
        let bc = breast_cancer().unwrap();
        assert_eq!((bc.rows, bc.cols), (569, 30));
        assert_eq!(bc.row(0)[0], 17.99);
        assert_eq!(bc.labels.iter().filter(|&&l| l == 1).count(), 357);
        let dg = digits().unwrap();
        assert_eq!((dg.rows, dg.cols), (1797, 64));
        assert!(dg.features.iter().all(|&p| (0.0..=16.0).contains(&p)));
        assert!(dg.labels.iter().all(|&l| l <= 9));
    }

    #[test]
    fn missing_or_altered_files_name_path_and_checksum() {
        let dir = std::env::temp_dir().join(format!("meanfield-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = DataFile::Digits.read_text_in(&dir).unwrap_err().to_string();
        assert!(err.contains("digits.csv.gz") && err.contains(DataFile::Digits.sha256()));
        std::fs::write(dir.join("breast_cancer.csv"), "569,30\n").unwrap();
        let err = DataFile::BreastCancer
            .read_text_in(&dir)
            .unwrap_err()
            .to_string();
        assert!(err.contains("altered") && err.contains(DataFile::BreastCancer.sha256()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Found by the `csv` fuzz target's invariant (every log-return finite): prices
    /// 1e-300 and 1e300 gave ln(1e600) = +∞.
    #[test]
    fn log_returns_of_extreme_prices_are_finite() {
        let text = "Date,Open,High,Low,Close,Adj Close,Volume\n\
                    1/1/2000,0,0,0,0,1e-300,0\n1/2/2000,0,0,0,0,1e300,0\n1/3/2000,0,0,0,0,2e-300,0\n";
        let series = parse_sp500(text).unwrap();
        let r = series.log_returns();
        assert_eq!(r.len(), 2);
        assert!(
            (r[0] - 600.0 * std::f64::consts::LN_10).abs() < 1e-9,
            "{r:?}"
        );
        assert!(
            (r[1] + 600.0 * std::f64::consts::LN_10 - 2f64.ln()).abs() < 1e-9,
            "{r:?}"
        );
        assert!(parse_sp500("h\n1/1/2000,0,0,0,0,-1,0\n").is_err());
    }

    #[test]
    fn bad_rows_are_named() {
        let lines = ["1,2,0", "1,x,1"];
        let err = parse_labelled(DataFile::Digits, lines.iter().copied().enumerate(), 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1") && err.contains("`x`"), "{err}");
        let err = parse_labelled(DataFile::Digits, ["1,2"].iter().copied().enumerate(), 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 fields, expected 3"), "{err}");
    }
}
